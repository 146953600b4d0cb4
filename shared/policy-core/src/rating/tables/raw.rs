//! The table files as deserialized from TOML, before any validation.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::domain::{PolicyType, State};

/// A decimal written as a TOML string (`"1.25"`); TOML floats are refused, being binary fractions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Exact(pub(super) Decimal);

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExactVisitor;
        impl Visitor<'_> for ExactVisitor {
            type Value = Exact;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal written as a string, e.g. \"1.25\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Exact, E> {
                text.parse::<Decimal>().map(Exact).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(ExactVisitor)
    }
}

/// One band of a step function: `factor` from `from` on.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BandFile {
    pub(super) from: u32,
    pub(super) factor: Exact,
}

/// `effective`: the first day a version rates new business, and the first day it rates renewals,
/// as `YYYY-MM-DD` strings.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EffectiveFile {
    pub(super) new_business: String,
    pub(super) renewal: String,
}

/// `rates/common/<version>.toml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CommonFile {
    pub(super) version: String,
    pub(super) effective: EffectiveFile,
    pub(super) combined_factor: ClampFile,
    pub(super) tiers: TiersFile,
    pub(super) discounts: DiscountsFile,
    pub(super) factors: FactorsFile,
    pub(super) deductibles: DeductiblesFile,
}

/// `[combined_factor]`: the range the combined factor is clamped to.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClampFile {
    pub(super) min: Exact,
    pub(super) max: Exact,
}

/// `[tiers]`: the combined factor each tier stays below.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(clippy::struct_field_names, reason = "the names are the TOML keys")]
pub(super) struct TiersFile {
    pub(super) preferred_plus_below: Exact,
    pub(super) preferred_below: Exact,
    pub(super) standard_below: Exact,
    pub(super) non_standard_below: Exact,
}

/// `[discounts]`: the cap, loyalty and the rate of each discount by product.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DiscountsFile {
    pub(super) cap: Exact,
    pub(super) loyalty_from_year: u8,
    pub(super) loyalty_max: Exact,
    /// By discount, then product; the names are checked by the loader, so an error names them.
    pub(super) rates: BTreeMap<String, BTreeMap<String, Exact>>,
}

/// `[factors]`: the factor curves.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FactorsFile {
    pub(super) driver_age: Vec<BandFile>,
    pub(super) years_licensed: Vec<BandFile>,
    pub(super) violations: Vec<Exact>,
    pub(super) at_fault_accidents: Vec<Exact>,
    pub(super) dui: Vec<Exact>,
    pub(super) claims: Vec<Exact>,
    pub(super) vehicle_age: Vec<BandFile>,
    pub(super) annual_mileage: Vec<BandFile>,
    pub(super) safety_feature_credit: Exact,
    pub(super) safety_credit_floor: Exact,
    pub(super) anti_theft: Exact,
    pub(super) credit_score: Vec<BandFile>,
    pub(super) dwelling_value: Vec<BandFile>,
    pub(super) home_age: Vec<BandFile>,
    pub(super) protection_class: Vec<BandFile>,
    /// By construction type, named as the API names it.
    pub(super) construction: BTreeMap<String, Exact>,
}

/// `[deductibles]`: vehicle and property deductible curves with their defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeductiblesFile {
    pub(super) vehicle_default: u32,
    pub(super) vehicle: Vec<BandFile>,
    pub(super) property_default: u32,
    pub(super) property: Vec<BandFile>,
}

/// `rates/<state>/<product>/<version>.toml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StateFile {
    pub(super) version: String,
    pub(super) effective: EffectiveFile,
    pub(super) state: State,
    pub(super) policy_type: PolicyType,
    pub(super) minimum_premium: Exact,
    pub(super) premium_tax_rate: Exact,
    pub(super) credit_allowed: bool,
    pub(super) secondary_factor_weight: Option<Exact>,
    pub(super) minimum_limits: Option<String>,
    pub(super) zip_prefixes: Vec<[u16; 2]>,
    #[serde(default)]
    pub(super) fees: BTreeMap<String, Exact>,
    #[serde(default)]
    pub(super) surcharges: SurchargesFile,
    /// Discount rates this state offers on this product, beyond or instead of the common matrix's.
    #[serde(default)]
    pub(super) discounts: BTreeMap<String, Exact>,
    pub(super) territories: BTreeMap<String, Exact>,
    #[serde(default)]
    pub(super) excluded_zip_prefixes: Vec<String>,
    /// Fact names a complete application gives; checked against [`crate::rating::request::Fact`].
    pub(super) required_facts: Vec<String>,
    /// By coverage, named as the API names it.
    pub(super) coverages: BTreeMap<String, CoverageFile>,
}

/// `[surcharges]` of a state table: optional flat surcharges.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SurchargesFile {
    pub(super) sr22_filing: Option<Exact>,
    pub(super) coverage_lapse: Option<Exact>,
}

/// `[coverages.<kind>]` of a state table: base rate and limits of one coverage line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CoverageFile {
    pub(super) rate_per_thousand: Exact,
    pub(super) min_limit: u32,
    pub(super) max_limit: u32,
    #[serde(default)]
    pub(super) required: bool,
}
