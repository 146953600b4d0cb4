//! The validated tables, indexed for lookup by the engine and underwriting.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::RangeInclusive;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::domain::{CoverageKind, PolicyType, State};
use crate::rating::request::{Construction, Fact, Limit, RatingRequest};

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
    ClaimsFree,
}

impl DiscountKind {
    /// The name on the wire and in the tables.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscountKind::MultiPolicy => "multi_policy",
            DiscountKind::SafeDriver => "safe_driver",
            DiscountKind::GoodStudent => "good_student",
            DiscountKind::Military => "military",
            DiscountKind::Paperless => "paperless",
            DiscountKind::PaidInFull => "paid_in_full",
            DiscountKind::Loyalty => "loyalty",
            DiscountKind::ClaimsFree => "claims_free",
        }
    }
}

impl fmt::Display for DiscountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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

/// Whether a policy is written for the first time or renewed: each takes the rates in force on its
/// first day of cover, by the version's date for that kind of business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Business {
    /// A policy written for the first time.
    NewBusiness,
    /// The next term of a policy already written.
    Renewal,
}

/// When a version of a table takes effect, for each kind of business. It stays in force until the
/// next version's date for the same kind of business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Effective {
    /// First day of cover of new business it rates.
    #[serde(with = "crate::rating::request::date_format")]
    pub new_business: Date,
    /// First day of cover of renewals it rates.
    #[serde(with = "crate::rating::request::date_format")]
    pub renewal: Date,
}

impl Effective {
    /// The date this version takes effect for `business`.
    pub fn date(&self, business: Business) -> Date {
        match business {
            Business::NewBusiness => self.new_business,
            Business::Renewal => self.renewal,
        }
    }
}

/// Everything in one version of `rates/common/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Common {
    /// Version of the common table, e.g. `2026.11.0`.
    pub version: String,
    /// When it takes effect.
    pub effective: Effective,
    /// The file as compiled in, which every identity's hash covers.
    pub(super) text: String,
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

/// The identity of the tables a premium comes from: one state table version rated with one common
/// table version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `"<STATE>-<product>-<version>/common-<version>"`.
    pub version: String,
    /// SHA-256 of the state and common tables' files (see [`super::content_sha256`]).
    pub sha256: String,
}

/// One version of what one state files for one product.
#[derive(Debug, Clone, PartialEq)]
pub struct RateTable {
    /// The state.
    pub state: State,
    /// The product.
    pub policy_type: PolicyType,
    /// This version of the state table, e.g. `2027.03.0`.
    pub label: String,
    /// When it takes effect.
    pub effective: Effective,
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
    /// Discount rates that replace or add to the common matrix's for this state and product.
    pub(super) discounts: Vec<(DiscountKind, Decimal)>,
    /// The identity of this table with each common table, by the common table's index.
    pub(super) identities: Vec<Identity>,
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

    /// The ranges of three-digit ZIP prefixes in this state.
    pub fn zip_prefixes(&self) -> &[RangeInclusive<u16>] {
        &self.zip_prefixes
    }

    /// The ZIP prefixes with a territory factor of their own, in ascending order.
    pub fn territory_prefixes(&self) -> Vec<u16> {
        let mut prefixes: Vec<u16> = self.territories.keys().copied().collect();
        prefixes.sort_unstable();
        prefixes
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

    /// Whether this table lists a territory factor of its own for a ZIP prefix.
    pub fn territory_listed(&self, prefix: u16) -> bool {
        self.territories.contains_key(&prefix)
    }

    /// The rate of a discount this table sets itself (for loyalty, the rate per year), which
    /// replaces the common matrix's; `None` where it leaves the discount to the matrix.
    pub fn discount(&self, kind: DiscountKind) -> Option<Decimal> {
        self.discounts
            .iter()
            .find(|&&(k, _)| k == kind)
            .map(|&(_, rate)| rate)
    }

    /// Sets each coverage this table requires that `request` leaves out to its minimum limit; the
    /// coverages it added.
    pub fn add_required_coverages(&self, request: &mut RatingRequest) -> Vec<CoverageKind> {
        let mut added = Vec::new();
        for kind in self.required_coverages() {
            if request.coverage.get(kind).is_none() {
                let minimum = self.coverage(kind).map_or(1, |c| c.min_limit);
                request
                    .coverage
                    .set(kind, Limit::try_from(i64::from(minimum)).ok());
                added.push(kind);
            }
        }
        added
    }

    /// The discounts this table sets itself, with their rates.
    pub fn discounts(&self) -> &[(DiscountKind, Decimal)] {
        &self.discounts
    }
}

/// The tables one premium is rated with: a state table, the common table beside it, and the
/// identity of the pair. Stored with every quote and policy, so it can be rated again exactly.
#[derive(Clone, Copy)]
pub struct TableSet<'t> {
    /// The state table.
    pub table: &'t RateTable,
    /// The common table.
    pub common: &'t Common,
    /// Which common table, by its index in [`RateTables::commons`].
    pub(super) common_index: usize,
    /// Their version and hash.
    pub identity: &'t Identity,
}

impl<'t> TableSet<'t> {
    /// `table` rated with common table `common_index` of `tables`; `table` may be a candidate that
    /// is not compiled in (see [`RateTables::candidate`]).
    pub fn new(tables: &'t RateTables, table: &'t RateTable, common_index: usize) -> TableSet<'t> {
        TableSet {
            table,
            common: &tables.commons[common_index],
            common_index,
            identity: &table.identities[common_index],
        }
    }

    /// Which common table, by its index in [`RateTables::commons`].
    pub fn common_index(&self) -> usize {
        self.common_index
    }
}

/// Two sets are the same tables when their identities are: the hash covers both files.
impl PartialEq for TableSet<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.identity == other.identity
    }
}

/// Shown by identity: the tables themselves are long.
impl fmt::Debug for TableSet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableSet")
            .field("version", &self.identity.version)
            .field("sha256", &self.identity.sha256)
            .finish()
    }
}

/// Every version of every rate table, indexed by state and product, each list in effective-date
/// order.
#[derive(Debug)]
pub struct RateTables {
    pub(super) commons: Vec<Common>,
    pub(super) by_state: Vec<[Vec<RateTable>; PolicyType::ALL.len()]>,
}

impl RateTables {
    /// The versions of the common table, oldest first.
    pub fn commons(&self) -> &[Common] {
        &self.commons
    }

    /// The versions of the table for a state and product, oldest first; empty where the product is
    /// not written there.
    pub fn versions(&self, state: State, policy_type: PolicyType) -> &[RateTable] {
        &self.by_state[state.index()][policy_type.index()]
    }

    /// Whether `policy_type` is written in `state` at all.
    pub fn writes(&self, state: State, policy_type: PolicyType) -> bool {
        !self.versions(state, policy_type).is_empty()
    }

    /// Whether any product is written in `state`.
    pub fn writes_in(&self, state: State) -> bool {
        self.by_state[state.index()].iter().any(|v| !v.is_empty())
    }

    /// The tables in force for `business` whose first day of cover is `on`: the last state table
    /// version and the last common table version that took effect on or before it. `None` before
    /// either has a version in force.
    pub fn in_force(
        &self,
        state: State,
        policy_type: PolicyType,
        business: Business,
        on: Date,
    ) -> Option<TableSet<'_>> {
        let versions = self.versions(state, policy_type);
        let table = versions
            .partition_point(|t| t.effective.date(business) <= on)
            .checked_sub(1)?;
        let common = self
            .commons
            .partition_point(|c| c.effective.date(business) <= on)
            .checked_sub(1)?;
        Some(TableSet::new(self, &versions[table], common))
    }

    /// The first day anything is in force for `business` in `state` and `policy_type`.
    pub fn first_in_force(
        &self,
        state: State,
        policy_type: PolicyType,
        business: Business,
    ) -> Option<Date> {
        let table = self.versions(state, policy_type).first()?;
        let common = self.commons.first()?;
        Some(
            table
                .effective
                .date(business)
                .max(common.effective.date(business)),
        )
    }

    /// The tables a stored version string names, e.g. `CA-auto-2027.03.0/common-2026.11.0`.
    pub fn by_version(&self, version: &str) -> Option<TableSet<'_>> {
        self.iter().find_map(|table| {
            let common = table.identities.iter().position(|i| i.version == version)?;
            Some(TableSet::new(self, table, common))
        })
    }

    /// The states with at least one table, in [`State::ALL`] order.
    pub fn states(&self) -> Vec<State> {
        State::ALL
            .iter()
            .copied()
            .filter(|&state| self.writes_in(state))
            .collect()
    }

    /// Every version of every state table, by state, product and date.
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
