//! Parsing and validation: the raw files become the indexed model, or a [`TableError`] naming the
//! file and the rule it breaks.

use std::collections::HashMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::OnceLock;

use rust_decimal::Decimal;

use super::model::{
    Bands, ByCount, Common, CoverageRate, DeductibleCurve, Discounts, Factors, NamedAmount,
    RateTable, RateTables, Tier,
};
use super::raw::{BandFile, CommonFile, Exact, StateFile};
use crate::domain::{CoverageKind, PolicyType, State};
use crate::rating::request::Fact;

// `FILES`: every state table under `rates/`, listed by the build script.
include!(concat!(env!("OUT_DIR"), "/rate_files.rs"));

const COMMON: (&str, &str) = ("common.toml", include_str!("../../../rates/common.toml"));

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

/// Parses and validates `rates/common.toml`.
fn common_table(file: &str, text: &str) -> Result<Common, TableError> {
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
        safety_feature_credit: positive(file, "safety_feature_credit", f.safety_feature_credit.0)?,
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

/// Parses and validates `rates/<state>/<product>.toml`; its path must match the state and product
/// it declares.
fn state_table(file: &str, text: &str, common_version: &str) -> Result<RateTable, TableError> {
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
    let territory_default =
        territory_default.ok_or_else(|| TableError::new(file, "territories.default is missing"))?;
    let excluded_zip_prefixes = raw
        .excluded_zip_prefixes
        .iter()
        .map(|key| zip_prefix(file, key, &zip_prefixes))
        .collect::<Result<Vec<u16>, _>>()?;
    let required_facts = required_facts(file, raw.policy_type, raw.required_facts)?;
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
        // Filled in by `RateTables::parse`, which has the common table's text too.
        sha256: String::new(),
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
        required_facts,
        coverages,
    })
}

/// `required_facts`: fact names, each known, listed once and one that a request for `product`
/// can hold.
fn required_facts(
    file: &str,
    product: PolicyType,
    names: Vec<String>,
) -> Result<Vec<Fact>, TableError> {
    let mut facts = Vec::with_capacity(names.len());
    for name in names {
        let fact = Fact::try_from(name)
            .map_err(|e| TableError::new(file, format_args!("required_facts: {e}")))?;
        if !fact.applies_to(product) {
            return Err(TableError::new(
                file,
                format_args!("required_facts: {fact} does not apply to {product} policies"),
            ));
        }
        if facts.contains(&fact) {
            return Err(TableError::new(
                file,
                format_args!("required_facts: {fact} is listed twice"),
            ));
        }
        facts.push(fact);
    }
    Ok(facts)
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
        let common_text = common.1;
        let common = common_table(common.0, common.1)?;
        let mut by_state: Vec<[Option<RateTable>; 3]> =
            State::ALL.iter().map(|_| [None, None, None]).collect();
        for &(file, text) in files {
            let mut table = state_table(file, text, &common.version)?;
            table.sha256 = content_sha256(text, common_text);
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
}

/// The SHA-256 of the exact table content a premium comes from: the state table's file, then the
/// common table's file, each as compiled in, in lowercase hex. One changed byte in either changes it.
pub fn content_sha256(state_text: &str, common_text: &str) -> String {
    crate::digest::sha256_hex([state_text.as_bytes(), common_text.as_bytes()])
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn every_table_carries_the_hash_of_its_files_and_one_changed_byte_changes_it() {
        let tables = RateTables::builtin().unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for table in tables.iter() {
            assert_eq!(table.sha256.len(), 64, "{}", table.version);
            assert!(
                seen.insert(table.sha256.clone()),
                "{} shares a hash",
                table.version
            );
        }
        let (state, common) = ("version = \"1\"\n", "version = \"2\"\n");
        let hash = content_sha256(state, common);
        assert_eq!(hash, content_sha256(state, common));
        assert_ne!(hash, content_sha256("version = \"1\"\n ", common));
        assert_ne!(hash, content_sha256(state, "version = \"3\"\n"));
        // Published SHA-256 of the empty input: the digest is the standard one.
        assert_eq!(
            content_sha256("", ""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
    use crate::domain::PolicyType;

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

    /// The `*.toml` files under `dir`, by path relative to `rates/` (`prefix` is the path so far).
    fn toml_files_under(dir: &Path, prefix: &str, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap();
            if path.is_dir() {
                toml_files_under(&path, &format!("{prefix}{name}/"), found);
            } else if path.extension().is_some_and(|ext| ext == "toml") {
                found.push(format!("{prefix}{name}"));
            }
        }
    }

    #[test]
    fn every_file_under_rates_is_compiled_in() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rates"));
        let mut on_disk = Vec::new();
        toml_files_under(dir, "", &mut on_disk);
        on_disk.retain(|file| file != COMMON.0);
        on_disk.sort();
        let compiled: Vec<_> = FILES.iter().map(|(f, _)| (*f).to_owned()).collect();
        assert_eq!(on_disk, compiled);
        for &(file, text) in FILES {
            let on_disk = std::fs::read_to_string(dir.join(file)).unwrap();
            assert_eq!(text, on_disk, "{file} is compiled in with other contents");
        }
        let common = std::fs::read_to_string(dir.join(COMMON.0)).unwrap();
        assert_eq!(COMMON.1, common);
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

    /// The CA table for `product` with its `required_facts` line replaced by `line`.
    fn with_required_facts(product: &str, line: &str) -> Result<RateTables, TableError> {
        let file = format!("ca/{product}.toml");
        let (_, text) = FILES.iter().find(|(f, _)| *f == file).unwrap();
        let edited: Vec<&str> = text
            .lines()
            .map(|l| {
                if l.starts_with("required_facts") {
                    line
                } else {
                    l
                }
            })
            .collect();
        RateTables::parse(COMMON, &[(&file, &edited.join("\n"))])
    }

    #[test]
    fn each_product_requires_the_facts_it_rates_on() {
        let tables = RateTables::builtin().unwrap();
        for table in tables.iter() {
            let expected: &[Fact] = match table.policy_type {
                PolicyType::Auto => &[Fact::Drivers, Fact::Vehicle, Fact::ZipCode],
                PolicyType::Home => &[Fact::DwellingValue, Fact::ZipCode],
                PolicyType::Renters => &[Fact::Property, Fact::ZipCode],
            };
            assert_eq!(
                table.required_facts(),
                expected,
                "{} {}",
                table.state,
                table.policy_type
            );
        }
    }

    #[test]
    fn required_facts_must_be_known_once_each_and_fit_the_product() {
        let parsed = with_required_facts("auto", r#"required_facts = ["vehicle", "zip_code"]"#);
        assert_eq!(
            parsed
                .unwrap()
                .get(State::CA, PolicyType::Auto)
                .unwrap()
                .required_facts(),
            [Fact::Vehicle, Fact::ZipCode]
        );
        let none = with_required_facts("renters", "required_facts = []").unwrap();
        assert!(
            none.get(State::CA, PolicyType::Renters)
                .unwrap()
                .required_facts()
                .is_empty()
        );
        for (product, line, detail) in [
            (
                "auto",
                r#"required_facts = ["drivers", "driver_age"]"#,
                r#"rate table rates/ca/auto.toml: required_facts: "driver_age" is not a fact; the facts are drivers, vehicle, vehicle.value, property, property.dwelling_value, zip_code"#,
            ),
            (
                "home",
                r#"required_facts = ["zip_code", "drivers"]"#,
                "rate table rates/ca/home.toml: required_facts: drivers does not apply to home policies",
            ),
            (
                "renters",
                r#"required_facts = ["property.dwelling_value"]"#,
                "rate table rates/ca/renters.toml: required_facts: property.dwelling_value does not apply to renters policies",
            ),
            (
                "auto",
                r#"required_facts = ["zip_code", "zip_code"]"#,
                "rate table rates/ca/auto.toml: required_facts: zip_code is listed twice",
            ),
        ] {
            let err = with_required_facts(product, line).unwrap_err();
            assert_eq!(err.to_string(), detail);
        }
        // Every product says what it requires, even if that is nothing.
        let err = with_required_facts("auto", "").unwrap_err();
        assert!(
            err.to_string().contains("missing field `required_facts`"),
            "{err}"
        );
    }

    #[test]
    fn a_mislabelled_or_float_valued_table_is_refused() {
        let common = COMMON;
        let (_, ca) = FILES
            .iter()
            .find(|(file, _)| *file == "ca/auto.toml")
            .unwrap();
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
}
