//! Rate tables: data files in `rates/`, compiled into the binary and parsed once per cold start.
//!
//! `rates/common/<version>.toml` holds the factor curves, the discount matrix and the tier
//! thresholds shared by every state; `rates/<state>/<product>/<version>.toml` holds what a state
//! files: base rates and limits per coverage, minimum premium, premium tax, fees, surcharges,
//! territories, its own discounts and whether credit may be used. Parsing validates every table, so
//! a malformed table fails the test suite, never a request.
//!
//! Every version says when it takes effect, for new business and for renewals; a premium is rated
//! with the state and common versions in force on its first day of cover ([`RateTables::in_force`]),
//! and keeps their identity: the version string and the SHA-256 of both files ([`Identity`]).
//!
//! The build script lists every file under `rates/`, so a table added there is compiled in without
//! naming it anywhere else. `raw` holds the files as deserialized, `model` the validated tables
//! indexed for lookup, and `loader` turns the one into the other.

mod loader;
mod model;
mod raw;

pub(crate) use loader::ADMINISTRATION_FILES;
pub use loader::{TableError, content_sha256};
pub use model::{
    Bands, Business, ByCount, Common, CoverageRate, DeductibleCurve, DiscountKind, Discounts,
    Effective, Factors, Identity, NamedAmount, RateTable, RateTables, TableSet, Tier,
};
