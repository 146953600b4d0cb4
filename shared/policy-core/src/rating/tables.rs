//! Rate tables: data files in `rates/`, compiled into the binary and parsed once per cold start.
//!
//! `rates/common.toml` holds the factor curves, the discount matrix and the tier thresholds shared by
//! every state; `rates/<state>/<product>.toml` holds what a state files: base rates and limits per
//! coverage, minimum premium, premium tax, fees, surcharges, territories and whether credit may be
//! used. Parsing validates every table, so a malformed table fails the test suite, never a request.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::OnceLock;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::domain::{CoverageKind, PolicyType, State};
use crate::rating::request::Construction;

/// Every table file compiled into the binary, by its path under `rates/`.
const FILES: &[(&str, &str)] = &[
    ("ca/auto.toml", include_str!("../../rates/ca/auto.toml")),
    ("ca/home.toml", include_str!("../../rates/ca/home.toml")),
    (
        "ca/renters.toml",
        include_str!("../../rates/ca/renters.toml"),
    ),
    ("fl/auto.toml", include_str!("../../rates/fl/auto.toml")),
    ("fl/home.toml", include_str!("../../rates/fl/home.toml")),
    (
        "fl/renters.toml",
        include_str!("../../rates/fl/renters.toml"),
    ),
    ("il/auto.toml", include_str!("../../rates/il/auto.toml")),
    ("il/home.toml", include_str!("../../rates/il/home.toml")),
    (
        "il/renters.toml",
        include_str!("../../rates/il/renters.toml"),
    ),
    ("mi/auto.toml", include_str!("../../rates/mi/auto.toml")),
    ("mi/home.toml", include_str!("../../rates/mi/home.toml")),
    (
        "mi/renters.toml",
        include_str!("../../rates/mi/renters.toml"),
    ),
    ("ny/auto.toml", include_str!("../../rates/ny/auto.toml")),
    ("ny/home.toml", include_str!("../../rates/ny/home.toml")),
    (
        "ny/renters.toml",
        include_str!("../../rates/ny/renters.toml"),
    ),
    ("pa/auto.toml", include_str!("../../rates/pa/auto.toml")),
    ("pa/home.toml", include_str!("../../rates/pa/home.toml")),
    (
        "pa/renters.toml",
        include_str!("../../rates/pa/renters.toml"),
    ),
    ("tx/auto.toml", include_str!("../../rates/tx/auto.toml")),
    ("tx/home.toml", include_str!("../../rates/tx/home.toml")),
    (
        "tx/renters.toml",
        include_str!("../../rates/tx/renters.toml"),
    ),
];

const COMMON: (&str, &str) = ("common.toml", include_str!("../../rates/common.toml"));

/// A rate table file that does not parse or breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate table rates/{file}: {detail}")]
pub struct TableError {
    file: String,
    detail: String,
}

impl TableError {
    fn new(file: &str, detail: impl fmt::Display) -> TableError {
        TableError {
            file: file.to_owned(),
            detail: detail.to_string(),
        }
    }
}

/// A decimal written as a TOML string (`"1.25"`); TOML floats are refused, being binary fractions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Exact(Decimal);

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

/// A step function over a whole-number input: the factor of the last band whose `from` is not
/// above the value. Inputs below the first band take the first band's factor.
#[derive(Debug, Clone, PartialEq)]
pub struct Bands(Vec<(u32, Decimal)>);

impl Bands {
    /// The factor for `value`.
    pub fn lookup(&self, value: u32) -> Decimal {
        let at = self.0.partition_point(|&(from, _)| from <= value);
        self.0[at.saturating_sub(1)].1
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BandFile {
    from: u32,
    factor: Exact,
}

fn bands(file: &str, name: &str, raw: Vec<BandFile>) -> Result<Bands, TableError> {
    if raw.is_empty() {
        return Err(TableError::new(file, format_args!("{name} has no bands")));
    }
    if raw.windows(2).any(|w| w[0].from >= w[1].from) {
        return Err(TableError::new(
            file,
            format_args!("{name} bands must rise strictly by `from`"),
        ));
    }
    let bands: Vec<_> = raw.into_iter().map(|b| (b.from, b.factor.0)).collect();
    for &(_, factor) in &bands {
        positive(file, name, factor)?;
    }
    Ok(Bands(bands))
}

/// Factors by a count of incidents: index = count; counts past the end take the last entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ByCount(Vec<Decimal>);

impl ByCount {
    /// The factor for `count` incidents.
    pub fn lookup(&self, count: u8) -> Decimal {
        let last = self.0.len() - 1;
        self.0[usize::from(count).min(last)]
    }
}

fn by_count(file: &str, name: &str, raw: Vec<Exact>) -> Result<ByCount, TableError> {
    if raw.is_empty() {
        return Err(TableError::new(file, format_args!("{name} is empty")));
    }
    let steps: Vec<_> = raw.into_iter().map(|e| e.0).collect();
    for &factor in &steps {
        positive(file, name, factor)?;
    }
    if steps.windows(2).any(|w| w[0] > w[1]) {
        return Err(TableError::new(
            file,
            format_args!("{name} must not fall as the count rises"),
        ));
    }
    Ok(ByCount(steps))
}

fn positive(file: &str, name: &str, value: Decimal) -> Result<Decimal, TableError> {
    if value > Decimal::ZERO {
        Ok(value)
    } else {
        Err(TableError::new(
            file,
            format_args!("{name} must be positive, found {value}"),
        ))
    }
}

fn fraction(file: &str, name: &str, value: Decimal) -> Result<Decimal, TableError> {
    if (Decimal::ZERO..Decimal::ONE).contains(&value) {
        Ok(value)
    } else {
        Err(TableError::new(
            file,
            format_args!("{name} must be at least 0 and below 1, found {value}"),
        ))
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonFile {
    version: String,
    combined_factor: ClampFile,
    tiers: TiersFile,
    discounts: DiscountsFile,
    factors: FactorsFile,
    deductibles: DeductiblesFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClampFile {
    min: Exact,
    max: Exact,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(clippy::struct_field_names, reason = "the names are the TOML keys")]
struct TiersFile {
    preferred_plus_below: Exact,
    preferred_below: Exact,
    standard_below: Exact,
    non_standard_below: Exact,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscountsFile {
    cap: Exact,
    loyalty_from_year: u8,
    loyalty_max: Exact,
    rates: BTreeMap<DiscountKind, BTreeMap<PolicyType, Exact>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FactorsFile {
    driver_age: Vec<BandFile>,
    years_licensed: Vec<BandFile>,
    violations: Vec<Exact>,
    at_fault_accidents: Vec<Exact>,
    dui: Vec<Exact>,
    claims: Vec<Exact>,
    vehicle_age: Vec<BandFile>,
    annual_mileage: Vec<BandFile>,
    safety_feature_credit: Exact,
    safety_credit_floor: Exact,
    anti_theft: Exact,
    credit_score: Vec<BandFile>,
    dwelling_value: Vec<BandFile>,
    home_age: Vec<BandFile>,
    protection_class: Vec<BandFile>,
    construction: BTreeMap<Construction, Exact>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeductiblesFile {
    vehicle_default: u32,
    vehicle: Vec<BandFile>,
    property_default: u32,
    property: Vec<BandFile>,
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
    construction: BTreeMap<Construction, Decimal>,
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
    rates: HashMap<(DiscountKind, PolicyType), Decimal>,
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
    tier_bounds: [(Decimal, Tier); 4],
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

    fn parse(file: &str, text: &str) -> Result<Common, TableError> {
        let raw: CommonFile = toml::from_str(text).map_err(|e| TableError::new(file, e))?;
        let f = raw.factors;
        let factors = Factors {
            driver_age: bands(file, "driver_age", f.driver_age)?,
            years_licensed: bands(file, "years_licensed", f.years_licensed)?,
            violations: by_count(file, "violations", f.violations)?,
            at_fault_accidents: by_count(file, "at_fault_accidents", f.at_fault_accidents)?,
            dui: by_count(file, "dui", f.dui)?,
            claims: by_count(file, "claims", f.claims)?,
            vehicle_age: bands(file, "vehicle_age", f.vehicle_age)?,
            annual_mileage: bands(file, "annual_mileage", f.annual_mileage)?,
            safety_feature_credit: positive(
                file,
                "safety_feature_credit",
                f.safety_feature_credit.0,
            )?,
            safety_credit_floor: positive(file, "safety_credit_floor", f.safety_credit_floor.0)?,
            anti_theft: positive(file, "anti_theft", f.anti_theft.0)?,
            credit_score: bands(file, "credit_score", f.credit_score)?,
            dwelling_value: bands(file, "dwelling_value", f.dwelling_value)?,
            home_age: bands(file, "home_age", f.home_age)?,
            protection_class: bands(file, "protection_class", f.protection_class)?,
            construction: f.construction.into_iter().map(|(k, v)| (k, v.0)).collect(),
        };
        for (construction, &factor) in &factors.construction {
            positive(file, &format!("construction.{construction:?}"), factor)?;
        }
        let d = raw.discounts;
        let mut rates = HashMap::new();
        for (kind, by_product) in d.rates {
            for (product, rate) in by_product {
                rates.insert((kind, product), fraction(file, "discount rate", rate.0)?);
            }
        }
        let t = raw.tiers;
        let tier_bounds = [
            (t.preferred_plus_below.0, Tier::PreferredPlus),
            (t.preferred_below.0, Tier::Preferred),
            (t.standard_below.0, Tier::Standard),
            (t.non_standard_below.0, Tier::NonStandard),
        ];
        if tier_bounds.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(TableError::new(file, "tier bounds must rise"));
        }
        let (factor_min, factor_max) = (raw.combined_factor.min.0, raw.combined_factor.max.0);
        positive(file, "combined_factor.min", factor_min)?;
        if factor_min >= factor_max {
            return Err(TableError::new(
                file,
                "combined_factor.min must be below max",
            ));
        }
        Ok(Common {
            version: raw.version,
            factor_min,
            factor_max,
            tier_bounds,
            discounts: Discounts {
                cap: fraction(file, "discounts.cap", d.cap.0)?,
                loyalty_from_year: d.loyalty_from_year,
                loyalty_max: fraction(file, "discounts.loyalty_max", d.loyalty_max.0)?,
                rates,
            },
            factors,
            vehicle_deductible: DeductibleCurve {
                default: raw.deductibles.vehicle_default,
                bands: bands(file, "deductibles.vehicle", raw.deductibles.vehicle)?,
            },
            property_deductible: DeductibleCurve {
                default: raw.deductibles.property_default,
                bands: bands(file, "deductibles.property", raw.deductibles.property)?,
            },
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    version: String,
    state: State,
    policy_type: PolicyType,
    minimum_premium: Exact,
    premium_tax_rate: Exact,
    credit_allowed: bool,
    secondary_factor_weight: Option<Exact>,
    minimum_limits: Option<String>,
    zip_prefixes: Vec<[u16; 2]>,
    #[serde(default)]
    fees: BTreeMap<String, Exact>,
    #[serde(default)]
    surcharges: SurchargesFile,
    territories: BTreeMap<String, Exact>,
    #[serde(default)]
    excluded_zip_prefixes: Vec<String>,
    coverages: BTreeMap<CoverageKind, CoverageFile>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SurchargesFile {
    sr22_filing: Option<Exact>,
    coverage_lapse: Option<Exact>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CoverageFile {
    rate_per_thousand: Exact,
    min_limit: u32,
    max_limit: u32,
    #[serde(default)]
    required: bool,
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
    zip_prefixes: Vec<RangeInclusive<u16>>,
    territory_default: Decimal,
    territories: HashMap<u16, Decimal>,
    excluded_zip_prefixes: Vec<u16>,
    coverages: [Option<CoverageRate>; CoverageKind::COUNT],
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

    fn parse(file: &str, text: &str, common_version: &str) -> Result<RateTable, TableError> {
        let raw: StateFile = toml::from_str(text).map_err(|e| TableError::new(file, e))?;
        let expected = format!(
            "{}/{}.toml",
            raw.state.code().to_ascii_lowercase(),
            raw.policy_type
        );
        if expected != file {
            return Err(TableError::new(
                file,
                format_args!("declares {} {}", raw.state, raw.policy_type),
            ));
        }
        let zip_prefixes: Vec<RangeInclusive<u16>> =
            raw.zip_prefixes.iter().map(|&[lo, hi]| lo..=hi).collect();
        if zip_prefixes.is_empty() || zip_prefixes.iter().any(|r| r.is_empty() || *r.end() > 999) {
            return Err(TableError::new(
                file,
                "zip_prefixes must be non-empty [low, high] pairs below 1000",
            ));
        }
        let mut territory_default = None;
        let mut territories = HashMap::new();
        for (key, factor) in raw.territories {
            let factor = positive(file, "territory", factor.0)?;
            if key == "default" {
                territory_default = Some(factor);
                continue;
            }
            territories.insert(zip_prefix(file, &key, &zip_prefixes)?, factor);
        }
        let territory_default = territory_default
            .ok_or_else(|| TableError::new(file, "territories.default is missing"))?;
        let excluded_zip_prefixes = raw
            .excluded_zip_prefixes
            .iter()
            .map(|key| zip_prefix(file, key, &zip_prefixes))
            .collect::<Result<Vec<u16>, _>>()?;
        let mut coverages = [None; CoverageKind::COUNT];
        for (kind, c) in raw.coverages {
            let rate = positive(file, "rate_per_thousand", c.rate_per_thousand.0)?;
            if c.min_limit == 0 || c.min_limit > c.max_limit {
                return Err(TableError::new(
                    file,
                    format_args!("{kind}: need 0 < min_limit <= max_limit"),
                ));
            }
            coverages[kind.index()] = Some(CoverageRate {
                rate_per_thousand: rate,
                min_limit: c.min_limit,
                max_limit: c.max_limit,
                required: c.required,
            });
        }
        if coverages.iter().all(Option::is_none) {
            return Err(TableError::new(file, "offers no coverage"));
        }
        let fees = raw
            .fees
            .into_iter()
            .map(|(name, amount)| {
                Ok(NamedAmount {
                    amount: positive(file, &name, amount.0)?,
                    name,
                })
            })
            .collect::<Result<_, TableError>>()?;
        let weight = raw.secondary_factor_weight.map_or(Decimal::ONE, |w| w.0);
        if !(Decimal::ZERO..=Decimal::ONE).contains(&weight) {
            return Err(TableError::new(
                file,
                "secondary_factor_weight must be within 0..=1",
            ));
        }
        Ok(RateTable {
            state: raw.state,
            policy_type: raw.policy_type,
            version: format!(
                "{}-{}-{}/common-{common_version}",
                raw.state, raw.policy_type, raw.version
            ),
            minimum_premium: positive(file, "minimum_premium", raw.minimum_premium.0)?,
            premium_tax_rate: fraction(file, "premium_tax_rate", raw.premium_tax_rate.0)?,
            credit_allowed: raw.credit_allowed,
            secondary_factor_weight: weight,
            minimum_limits: raw.minimum_limits,
            fees,
            sr22_filing: raw.surcharges.sr22_filing.map(|e| e.0),
            coverage_lapse: raw.surcharges.coverage_lapse.map(|e| e.0),
            zip_prefixes,
            territory_default,
            territories,
            excluded_zip_prefixes,
            coverages,
        })
    }
}

/// A three-digit ZIP prefix written as a string key, which must lie in the state's ranges.
fn zip_prefix(file: &str, key: &str, ranges: &[RangeInclusive<u16>]) -> Result<u16, TableError> {
    key.parse()
        .ok()
        .filter(|p| key.len() == 3 && ranges.iter().any(|r| r.contains(p)))
        .ok_or_else(|| {
            TableError::new(
                file,
                format_args!("{key:?} is not a ZIP prefix of the state"),
            )
        })
}

/// Every rate table, indexed by state and product for O(1) lookup.
#[derive(Debug)]
pub struct RateTables {
    /// The shared curves and matrix.
    pub common: Common,
    by_state: Vec<[Option<RateTable>; PolicyType::ALL.len()]>,
}

static BUILTIN: OnceLock<RateTables> = OnceLock::new();

impl RateTables {
    /// The tables compiled into this binary, parsed on first use and shared afterwards. Call it
    /// during init so the parse is paid by the cold start, not by the first request.
    pub fn builtin() -> Result<&'static RateTables, TableError> {
        if let Some(tables) = BUILTIN.get() {
            return Ok(tables);
        }
        let parsed = Self::parse(COMMON, FILES)?;
        Ok(BUILTIN.get_or_init(|| parsed))
    }

    /// Parses a common table and state tables given as `(path under rates/, text)`.
    pub fn parse(common: (&str, &str), files: &[(&str, &str)]) -> Result<RateTables, TableError> {
        let common = Common::parse(common.0, common.1)?;
        let mut by_state: Vec<[Option<RateTable>; 3]> =
            State::ALL.iter().map(|_| [None, None, None]).collect();
        for &(file, text) in files {
            let table = RateTable::parse(file, text, &common.version)?;
            let slot = &mut by_state[table.state.index()][table.policy_type.index()];
            if slot.is_some() {
                return Err(TableError::new(
                    file,
                    "a second table for the same state and product",
                ));
            }
            *slot = Some(table);
        }
        Ok(RateTables { common, by_state })
    }

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
    fn every_builtin_table_parses_and_validates() {
        let tables = RateTables::builtin().unwrap();
        assert_eq!(tables.iter().count(), FILES.len());
        for state in [
            State::CA,
            State::TX,
            State::NY,
            State::FL,
            State::PA,
            State::IL,
            State::MI,
        ] {
            for product in PolicyType::ALL {
                assert!(tables.get(state, product).is_some(), "{state} {product}");
            }
        }
    }

    #[test]
    fn every_file_under_rates_is_compiled_in() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rates");
        let mut on_disk = Vec::new();
        for state in std::fs::read_dir(dir).unwrap() {
            let state = state.unwrap();
            if state.file_type().unwrap().is_dir() {
                for file in std::fs::read_dir(state.path()).unwrap() {
                    let name = file.unwrap().file_name().into_string().unwrap();
                    on_disk.push(format!(
                        "{}/{name}",
                        state.file_name().into_string().unwrap()
                    ));
                }
            }
        }
        on_disk.sort();
        let compiled: Vec<_> = FILES.iter().map(|(f, _)| (*f).to_owned()).collect();
        assert_eq!(on_disk, compiled);
    }

    #[test]
    fn state_rules_from_the_brief_are_in_the_tables() {
        let tables = RateTables::builtin().unwrap();
        let auto = |s| tables.get(s, PolicyType::Auto).unwrap();
        for state in [State::CA, State::MI] {
            assert!(!auto(state).credit_allowed, "{state} forbids credit");
        }
        assert!(auto(State::TX).credit_allowed);
        assert!(
            auto(State::NY)
                .coverage(CoverageKind::Pip)
                .unwrap()
                .required
        );
        assert!(
            auto(State::MI)
                .coverage(CoverageKind::Pip)
                .unwrap()
                .required
        );
        // California raised its minimums from 15/30/5 on 2025-01-01 (SB 1107).
        assert_eq!(auto(State::CA).minimum_limits.as_deref(), Some("30/60/15"));
        assert_eq!(auto(State::TX).minimum_limits.as_deref(), Some("30/60/25"));
        assert_eq!(auto(State::NY).minimum_limits.as_deref(), Some("25/50/10"));
        // A combined single limit must cover the split limits' per-accident total.
        assert_eq!(
            auto(State::CA)
                .coverage(CoverageKind::Liability)
                .unwrap()
                .min_limit,
            75_000
        );
        assert_eq!(
            auto(State::PA)
                .coverage(CoverageKind::Liability)
                .unwrap()
                .min_limit,
            35_000
        );
        assert_eq!(
            auto(State::TX)
                .coverage(CoverageKind::Liability)
                .unwrap()
                .min_limit,
            85_000
        );
        assert_eq!(
            auto(State::NY)
                .coverage(CoverageKind::Liability)
                .unwrap()
                .min_limit,
            60_000
        );
    }

    #[test]
    fn a_mislabelled_or_float_valued_table_is_refused() {
        let common = COMMON;
        let ca = FILES[0].1;
        let err = RateTables::parse(common, &[("tx/auto.toml", ca)]).unwrap_err();
        assert!(err.to_string().contains("declares CA auto"), "{err}");
        let floats: Vec<&str> = ca
            .lines()
            .map(|line| {
                if line.starts_with("minimum_premium") {
                    "minimum_premium = 500.0"
                } else {
                    line
                }
            })
            .collect();
        let err = RateTables::parse(common, &[("ca/auto.toml", &floats.join("\n"))]).unwrap_err();
        assert!(
            err.to_string().contains("a decimal written as a string"),
            "{err}"
        );
    }

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
