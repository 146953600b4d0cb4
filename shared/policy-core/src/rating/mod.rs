//! The rating engine: pure, synchronous, no I/O.
//!
//! premium = base rate(state, product, coverage, limit) x rating factors x (1 - capped discounts),
//! pro-rated to the term, rounded half-up to cents once per coverage line; plus flat surcharges,
//! floored at the state's minimum premium; plus premium tax and flat fees. The total is the sum of
//! the rounded lines. [`RateQuote`] carries every step so a premium can be explained line by line.
//!
//! Rounding points, and only these: the combined factor to 4 decimal places (half-up) after
//! clamping; each coverage line, the pro-rated minimum premium and the premium tax to cents
//! (half-up); instalments split in whole cents with the remainder on the first.
//!
//! [`explain`] splits `premium - base_premium` between the factors, discounts, surcharges and
//! deductibles by Shapley value, in cents that add up exactly; it costs far more than rating, so
//! [`rate`] leaves it out and [`rate_explained`] adds it.

mod engine;
mod error;
mod explain;
mod quote;
pub mod request;
pub mod tables;

pub use engine::{Written, in_force, rate, rate_with, written};
pub use error::RatingError;
pub use explain::{
    Contribution, Explanation, MAX_ADVERSE_ACTION_REASONS, Method, Player, PlayerKind, explain,
    rate_explained,
};
pub use quote::{
    AppliedDiscount, AppliedFactor, Assumption, Basis, Charge, CoverageLine, DiscountSummary,
    FactorName, Installments, MinimumPremium, PremiumTax, RateQuote, Step,
};
pub use request::RatingRequest;
pub use tables::{DiscountKind, RateTables, TableError, Tier};
