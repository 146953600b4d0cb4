//! The validated tables, indexed for lookup by the engine and underwriting.

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::domain::{CoverageKind, PolicyType, State};
use crate::rating::request::{Construction, Fact};

/// A step function over a whole-number input: the factor of the last band whose `from` is not
/// above the value. Inputs below the first band take the first band's factor.
#[derive(Debug, Clone, PartialEq)]
pub struct Bands(pub(super) Vec<(u32, Decimal)>);

impl Bands {
    /// The factor for `value`.
    pub fn lookup(&self, value: u32) -> Decimal {
        let at = self.0.partition_point(|&(from, _)| from <= value);
        self.0[at.saturating_sub(1)].1
    }
}

/// Factors by a count of incidents: index = count; counts past the end take the last entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ByCount(pub(super) Vec<Decimal>);

impl ByCount {
    /// The factor for `count` incidents.
    pub fn lookup(&self, count: u8) -> Decimal {
        let last = self.0.len() - 1;
        self.0[usize::from(count).min(last)]
    }
}

/// A discount that can be earned.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum DiscountKind {
    MultiPolicy,
    SafeDriver,
    GoodStudent,
    Military,
    Paperless,
    PaidInFull,
    Loyalty,
}

/// Rating tiers, best first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Tier {
    PreferredPlus,
    Preferred,
    Standard,
    NonStandard,
    HighRisk,
}

/// Factor curves shared by every state.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct Factors {
    pub driver_age: Bands,
    pub years_licensed: Bands,
    pub violations: ByCount,
    pub at_fault_accidents: ByCount,
    pub dui: ByCount,
    pub claims: ByCount,
    pub vehicle_age: Bands,
    pub annual_mileage: Bands,
    pub safety_feature_credit: Decimal,
    pub safety_credit_floor: Decimal,
    pub anti_theft: Decimal,
    pub credit_score: Bands,
    pub dwelling_value: Bands,
    pub home_age: Bands,
    pub protection_class: Bands,
    pub(super) construction: BTreeMap<Construction, Decimal>,
}

impl Factors {
    /// The factor for a construction type.
    pub fn construction(&self, construction: Construction) -> Decimal {
        self.construction
            .get(&construction)
            .copied()
            .unwrap_or(Decimal::ONE)
    }
}

/// A deductible curve with the deductible assumed when none is given.
#[derive(Debug, Clone, PartialEq)]
pub struct DeductibleCurve {
    /// Deductible used when the request names none.
    pub default: u32,
    /// Factor by deductible.
    pub bands: Bands,
}

/// The discount matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Discounts {
    /// Largest total discount, as a fraction.
    pub cap: Decimal,
    /// Loyalty earns from this many years on.
    pub loyalty_from_year: u8,
    /// Largest loyalty discount.
    pub loyalty_max: Decimal,
    pub(super) rates: HashMap<(DiscountKind, PolicyType), Decimal>,
}

impl Discounts {
    /// The rate of `kind` for `product`; `None` where the product does not offer it. For loyalty
    /// this is the rate per year.
    pub fn rate(&self, kind: DiscountKind, product: PolicyType) -> Option<Decimal> {
        self.rates.get(&(kind, product)).copied()
    }
}

/// Everything in `rates/common.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Common {
    /// Version of the common table.
    pub version: String,
    /// Smallest combined factor.
    pub factor_min: Decimal,
    /// Largest combined factor.
    pub factor_max: Decimal,
    pub(super) tier_bounds: [(Decimal, Tier); 4],
    /// The discount matrix.
    pub discounts: Discounts,
    /// Factor curves.
    pub factors: Factors,
    /// Collision and comprehensive deductibles.
    pub vehicle_deductible: DeductibleCurve,
    /// All-perils deductible for home and renters.
    pub property_deductible: DeductibleCurve,
}

impl Common {
    /// The tier a combined factor falls in.
    pub fn tier(&self, combined: Decimal) -> Tier {
        self.tier_bounds
            .iter()
            .find(|(below, _)| combined < *below)
            .map_or(Tier::HighRisk, |&(_, tier)| tier)
    }
}

/// Base rate and limits of one coverage line in one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoverageRate {
    /// Premium per 1,000 of limit, before factors.
    pub rate_per_thousand: Decimal,
    /// Smallest limit sold (the statutory minimum where there is one).
    pub min_limit: u32,
    /// Largest limit sold.
    pub max_limit: u32,
    /// The state requires this coverage.
    pub required: bool,
}

/// A flat charge named in a state's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedAmount {
    /// Name as it appears in the breakdown.
    pub name: String,
    /// Amount per term.
    pub amount: Decimal,
}

/// What one state files for one product.
#[derive(Debug, Clone, PartialEq)]
pub struct RateTable {
    /// The state.
    pub state: State,
    /// The product.
    pub policy_type: PolicyType,
    /// `"<STATE>-<product>-<version>/common-<version>"`: the exact tables a premium came from.
    pub version: String,
    /// SHA-256 of the state and common tables' files as compiled in (see [`super::content_sha256`]).
    pub sha256: String,
    /// Smallest annual premium, before tax and fees.
    pub minimum_premium: Decimal,
    /// Premium tax as a fraction of premium.
    pub premium_tax_rate: Decimal,
    /// Whether a credit-based insurance score may be used.
    pub credit_allowed: bool,
    /// Weight of secondary factors (1 = full weight; California's Proposition 103 lowers it).
    pub secondary_factor_weight: Decimal,
    /// Statutory minimum limits as the state writes them, e.g. `15/30/5`.
    pub minimum_limits: Option<String>,
    /// Flat fees per term, by name (not taxed).
    pub fees: Vec<NamedAmount>,
    /// Flat SR-22 filing surcharge when a driver has a DUI.
    pub sr22_filing: Option<Decimal>,
    /// Flat surcharge after a lapse in coverage.
    pub coverage_lapse: Option<Decimal>,
    pub(super) zip_prefixes: Vec<RangeInclusive<u16>>,
    pub(super) territory_default: Decimal,
    pub(super) territories: HashMap<u16, Decimal>,
    pub(super) excluded_zip_prefixes: Vec<u16>,
    pub(super) required_facts: Vec<Fact>,
    pub(super) coverages: [Option<CoverageRate>; CoverageKind::COUNT],
}

impl RateTable {
    /// Rate and limits of a coverage line, if the product offers it here.
    pub fn coverage(&self, kind: CoverageKind) -> Option<&CoverageRate> {
        self.coverages[kind.index()].as_ref()
    }

    /// Coverage lines the state requires.
    pub fn required_coverages(&self) -> impl Iterator<Item = CoverageKind> + '_ {
        CoverageKind::ALL
            .iter()
            .copied()
            .filter(|&kind| self.coverage(kind).is_some_and(|c| c.required))
    }

    /// The facts a complete application for this product gives; underwriting refers a request
    /// that leaves any of them out.
    pub fn required_facts(&self) -> &[Fact] {
        &self.required_facts
    }

    /// Whether a ZIP prefix lies in this state.
    pub fn serves_zip_prefix(&self, prefix: u16) -> bool {
        self.zip_prefixes
            .iter()
            .any(|range| range.contains(&prefix))
    }

    /// Whether new business is not written in a ZIP prefix (underwriting declines it).
    pub fn excludes_zip_prefix(&self, prefix: u16) -> bool {
        self.excluded_zip_prefixes.contains(&prefix)
    }

    /// Territory factor for a ZIP prefix in this state.
    pub fn territory(&self, prefix: u16) -> Decimal {
        self.territories
            .get(&prefix)
            .copied()
            .unwrap_or(self.territory_default)
    }
}

/// Every rate table, indexed by state and product for O(1) lookup.
#[derive(Debug)]
pub struct RateTables {
    /// The shared curves and matrix.
    pub common: Common,
    pub(super) by_state: Vec<[Option<RateTable>; PolicyType::ALL.len()]>,
}

impl RateTables {
    /// The table for a state and product.
    pub fn get(&self, state: State, policy_type: PolicyType) -> Option<&RateTable> {
        self.by_state[state.index()][policy_type.index()].as_ref()
    }

    /// Whether any product is written in `state`.
    pub fn writes_in(&self, state: State) -> bool {
        self.by_state[state.index()].iter().any(Option::is_some)
    }

    /// The states with at least one table, in [`State::ALL`] order.
    pub fn states(&self) -> Vec<State> {
        State::ALL
            .iter()
            .copied()
            .filter(|&state| self.writes_in(state))
            .collect()
    }

    /// Every table, by state then product.
    pub fn iter(&self) -> impl Iterator<Item = &RateTable> {
        self.by_state.iter().flatten().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_take_the_last_band_not_above_the_value() {
        let b = Bands(vec![
            (14, Decimal::TWO),
            (21, Decimal::ONE),
            (65, Decimal::TEN),
        ]);
        assert_eq!(b.lookup(3), Decimal::TWO);
        assert_eq!(b.lookup(20), Decimal::TWO);
        assert_eq!(b.lookup(21), Decimal::ONE);
        assert_eq!(b.lookup(64), Decimal::ONE);
        assert_eq!(b.lookup(120), Decimal::TEN);
    }
}
