//! Parsing and validation: the raw files become the indexed model, or a [`TableError`] naming the
//! file, the key and the rule it breaks.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::OnceLock;

use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use time::Date;

use super::model::{
    Bands, Business, ByCount, Common, CoverageRate, DeductibleCurve, DiscountKind, Discounts,
    Effective, Factors, Identity, NamedAmount, RateTable, RateTables, Tier,
};
use super::raw::{BandFile, CommonFile, CoverageFile, EffectiveFile, Exact, StateFile};
use crate::domain::{CoverageKind, PolicyType, State};
use crate::rating::request::Fact;
use crate::rating::request::iso_date::FORMAT;

// `COMMON_FILES` and `STATE_FILES`: every table under `rates/`, listed by the build script.
include!(concat!(env!("OUT_DIR"), "/rate_files.rs"));

/// A rate table file that does not parse or breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate table {file}: {}{detail}", key.as_ref().map(|k| format!("{k}: ")).unwrap_or_default())]
pub struct TableError {
    file: String,
    key: Option<String>,
    detail: String,
}

impl TableError {
    fn new(file: &str, key: impl Into<Option<String>>, detail: impl fmt::Display) -> TableError {
        TableError {
            file: file.to_owned(),
            key: key.into(),
            detail: detail.to_string(),
        }
    }

    /// The key at fault, as a dotted path such as `coverages.liability.rate_per_thousand`; `None`
    /// when the file is not TOML at all.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// What is wrong, without the file and key.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// Deserializes a table file, an error naming the key at fault and the line.
fn deserialize<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, TableError> {
    let line_of = |span: Option<std::ops::Range<usize>>| {
        span.map(|s| {
            let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        })
        .unwrap_or_default()
    };
    let deserializer = toml::Deserializer::parse(text).map_err(|e| {
        TableError::new(
            file,
            None,
            format_args!("not TOML: {}{}", e.message().trim_end(), line_of(e.span())),
        )
    })?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.message().trim_end();
        // A missing key is named by the message, under the path of its table (an unknown one is
        // on the path already).
        let named = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let key = match (path.as_str(), named) {
            (".", None) => None,
            (".", Some(name)) => Some(name.to_owned()),
            (path, Some(name)) => Some(format!("{path}.{name}")),
            (path, None) => Some(path.to_owned()),
        };
        TableError::new(
            file,
            key,
            format_args!("{message}{}", line_of(inner.span())),
        )
    })
}

/// A table key that names one of a closed set (a coverage, a discount, a product, a construction
/// type), read by its wire name; an unknown one is an error naming `path.key`.
fn named<T: DeserializeOwned>(file: &str, path: &str, key: &str) -> Result<T, TableError> {
    serde_json::from_value(serde_json::Value::String(key.to_owned()))
        .map_err(|e| TableError::new(file, format!("{path}.{key}"), e))
}

fn effective(file: &str, raw: &EffectiveFile) -> Result<Effective, TableError> {
    let date = |key: &str, text: &str| {
        Date::parse(text, FORMAT).map_err(|_| {
            TableError::new(
                file,
                key.to_owned(),
                format_args!("{text:?} is not a date in the form YYYY-MM-DD"),
            )
        })
    };
    Ok(Effective {
        new_business: date("effective.new_business", &raw.new_business)?,
        renewal: date("effective.renewal", &raw.renewal)?,
    })
}

fn bands(file: &str, name: &str, raw: Vec<BandFile>) -> Result<Bands, TableError> {
    if raw.is_empty() {
        return Err(TableError::new(file, name.to_owned(), "has no bands"));
    }
    if raw.windows(2).any(|w| w[0].from >= w[1].from) {
        return Err(TableError::new(
            file,
            name.to_owned(),
            "bands must rise strictly by `from`",
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
        return Err(TableError::new(file, name.to_owned(), "is empty"));
    }
    let steps: Vec<_> = raw.into_iter().map(|e| e.0).collect();
    for &factor in &steps {
        positive(file, name, factor)?;
    }
    if steps.windows(2).any(|w| w[0] > w[1]) {
        return Err(TableError::new(
            file,
            name.to_owned(),
            "must not fall as the count rises",
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
            name.to_owned(),
            format_args!("must be positive, found {value}"),
        ))
    }
}

fn fraction(file: &str, name: &str, value: Decimal) -> Result<Decimal, TableError> {
    if (Decimal::ZERO..Decimal::ONE).contains(&value) {
        Ok(value)
    } else {
        Err(TableError::new(
            file,
            name.to_owned(),
            format_args!("must be at least 0 and below 1, found {value}"),
        ))
    }
}

/// Parses and validates one version of the common table.
fn common_table(file: &str, text: &str) -> Result<Common, TableError> {
    let raw: CommonFile = deserialize(file, text)?;
    let f = raw.factors;
    let factors = Factors {
        driver_age: bands(file, "factors.driver_age", f.driver_age)?,
        years_licensed: bands(file, "factors.years_licensed", f.years_licensed)?,
        violations: by_count(file, "factors.violations", f.violations)?,
        at_fault_accidents: by_count(file, "factors.at_fault_accidents", f.at_fault_accidents)?,
        dui: by_count(file, "factors.dui", f.dui)?,
        claims: by_count(file, "factors.claims", f.claims)?,
        vehicle_age: bands(file, "factors.vehicle_age", f.vehicle_age)?,
        annual_mileage: bands(file, "factors.annual_mileage", f.annual_mileage)?,
        safety_feature_credit: positive(
            file,
            "factors.safety_feature_credit",
            f.safety_feature_credit.0,
        )?,
        safety_credit_floor: positive(
            file,
            "factors.safety_credit_floor",
            f.safety_credit_floor.0,
        )?,
        anti_theft: positive(file, "factors.anti_theft", f.anti_theft.0)?,
        credit_score: bands(file, "factors.credit_score", f.credit_score)?,
        dwelling_value: bands(file, "factors.dwelling_value", f.dwelling_value)?,
        home_age: bands(file, "factors.home_age", f.home_age)?,
        protection_class: bands(file, "factors.protection_class", f.protection_class)?,
        construction: f
            .construction
            .into_iter()
            .map(|(key, factor)| {
                let path = "factors.construction";
                let factor = positive(file, &format!("{path}.{key}"), factor.0)?;
                Ok((named(file, path, &key)?, factor))
            })
            .collect::<Result<_, TableError>>()?,
    };
    let d = raw.discounts;
    let mut rates = HashMap::new();
    for (kind_key, by_product) in d.rates {
        let kind: DiscountKind = named(file, "discounts.rates", &kind_key)?;
        for (product_key, rate) in by_product {
            let path = format!("discounts.rates.{kind_key}");
            let product: PolicyType = named(file, &path, &product_key)?;
            let rate = fraction(file, &format!("{path}.{product_key}"), rate.0)?;
            rates.insert((kind, product), rate);
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
        return Err(TableError::new(
            file,
            "tiers".to_owned(),
            "bounds must rise",
        ));
    }
    let (factor_min, factor_max) = (raw.combined_factor.min.0, raw.combined_factor.max.0);
    positive(file, "combined_factor.min", factor_min)?;
    if factor_min >= factor_max {
        return Err(TableError::new(
            file,
            "combined_factor.min".to_owned(),
            "must be below combined_factor.max",
        ));
    }
    Ok(Common {
        effective: effective(file, &raw.effective)?,
        version: raw.version,
        text: text.to_owned(),
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

/// Parses and validates one version of a state table, without its identities (which need the
/// common tables).
fn state_table(file: &str, text: &str) -> Result<RateTable, TableError> {
    let raw: StateFile = deserialize(file, text)?;
    let zip_prefixes: Vec<RangeInclusive<u16>> =
        raw.zip_prefixes.iter().map(|&[lo, hi]| lo..=hi).collect();
    if zip_prefixes.is_empty() || zip_prefixes.iter().any(|r| r.is_empty() || *r.end() > 999) {
        return Err(TableError::new(
            file,
            "zip_prefixes".to_owned(),
            "must be non-empty [low, high] pairs below 1000",
        ));
    }
    let (territory_default, territories) = territories(file, raw.territories, &zip_prefixes)?;
    let excluded_zip_prefixes = raw
        .excluded_zip_prefixes
        .iter()
        .map(|key| zip_prefix(file, "excluded_zip_prefixes", key, &zip_prefixes))
        .collect::<Result<Vec<u16>, _>>()?;
    let required_facts = required_facts(file, raw.policy_type, raw.required_facts)?;
    let coverages = coverages(file, raw.coverages)?;
    let fees = raw
        .fees
        .into_iter()
        .map(|(name, amount)| {
            Ok(NamedAmount {
                amount: positive(file, &format!("fees.{name}"), amount.0)?,
                name,
            })
        })
        .collect::<Result<_, TableError>>()?;
    let weight = raw.secondary_factor_weight.map_or(Decimal::ONE, |w| w.0);
    if !(Decimal::ZERO..=Decimal::ONE).contains(&weight) {
        return Err(TableError::new(
            file,
            "secondary_factor_weight".to_owned(),
            "must be within 0..=1",
        ));
    }
    let discounts = raw
        .discounts
        .into_iter()
        .map(|(key, rate)| {
            let rate = fraction(file, &format!("discounts.{key}"), rate.0)?;
            Ok((named(file, "discounts", &key)?, rate))
        })
        .collect::<Result<_, TableError>>()?;
    let surcharge = |key: &str, amount: Option<Exact>| {
        amount
            .map(|e| positive(file, &format!("surcharges.{key}"), e.0))
            .transpose()
    };
    Ok(RateTable {
        state: raw.state,
        policy_type: raw.policy_type,
        effective: effective(file, &raw.effective)?,
        label: raw.version,
        minimum_premium: positive(file, "minimum_premium", raw.minimum_premium.0)?,
        premium_tax_rate: fraction(file, "premium_tax_rate", raw.premium_tax_rate.0)?,
        credit_allowed: raw.credit_allowed,
        secondary_factor_weight: weight,
        minimum_limits: raw.minimum_limits,
        fees,
        sr22_filing: surcharge("sr22_filing", raw.surcharges.sr22_filing)?,
        coverage_lapse: surcharge("coverage_lapse", raw.surcharges.coverage_lapse)?,
        zip_prefixes,
        territory_default,
        territories,
        excluded_zip_prefixes,
        required_facts,
        coverages,
        discounts,
        // Filled in by `RateTables::parse` or `RateTables::candidate`, which have the common tables.
        identities: Vec::new(),
    })
}

/// `[territories]`: the default factor and the factor of each ZIP prefix, which must lie in the
/// state's ranges.
fn territories(
    file: &str,
    raw: BTreeMap<String, Exact>,
    ranges: &[RangeInclusive<u16>],
) -> Result<(Decimal, HashMap<u16, Decimal>), TableError> {
    let mut default = None;
    let mut territories = HashMap::new();
    for (key, factor) in raw {
        let factor = positive(file, &format!("territories.{key}"), factor.0)?;
        if key == "default" {
            default = Some(factor);
        } else {
            territories.insert(zip_prefix(file, "territories", &key, ranges)?, factor);
        }
    }
    let default = default
        .ok_or_else(|| TableError::new(file, "territories.default".to_owned(), "is missing"))?;
    Ok((default, territories))
}

/// `[coverages.<kind>]`: base rate and limits of each line offered, at least one.
fn coverages(
    file: &str,
    raw: BTreeMap<String, CoverageFile>,
) -> Result<[Option<CoverageRate>; CoverageKind::COUNT], TableError> {
    let mut coverages = [None; CoverageKind::COUNT];
    for (name, c) in raw {
        let kind: CoverageKind = named(file, "coverages", &name)?;
        let key = format!("coverages.{name}");
        let rate = positive(
            file,
            &format!("{key}.rate_per_thousand"),
            c.rate_per_thousand.0,
        )?;
        if c.min_limit == 0 || c.min_limit > c.max_limit {
            return Err(TableError::new(
                file,
                format!("{key}.min_limit"),
                "need 0 < min_limit <= max_limit",
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
        return Err(TableError::new(
            file,
            "coverages".to_owned(),
            "offers no coverage",
        ));
    }
    Ok(coverages)
}

/// `required_facts`: fact names, each known, listed once and one that a request for `product`
/// can hold.
fn required_facts(
    file: &str,
    product: PolicyType,
    names: Vec<String>,
) -> Result<Vec<Fact>, TableError> {
    let key = || "required_facts".to_owned();
    let mut facts = Vec::with_capacity(names.len());
    for name in names {
        let fact = Fact::try_from(name).map_err(|e| TableError::new(file, key(), e))?;
        if !fact.applies_to(product) {
            return Err(TableError::new(
                file,
                key(),
                format_args!("{fact} does not apply to {product} policies"),
            ));
        }
        if facts.contains(&fact) {
            return Err(TableError::new(
                file,
                key(),
                format_args!("{fact} is listed twice"),
            ));
        }
        facts.push(fact);
    }
    Ok(facts)
}

/// A three-digit ZIP prefix written as a string under `list`, which must lie in the state's ranges.
fn zip_prefix(
    file: &str,
    list: &str,
    key: &str,
    ranges: &[RangeInclusive<u16>],
) -> Result<u16, TableError> {
    key.parse()
        .ok()
        .filter(|p| key.len() == 3 && ranges.iter().any(|r| r.contains(p)))
        .ok_or_else(|| {
            TableError::new(
                file,
                format!("{list}.{key}"),
                format_args!("{key:?} is not a ZIP prefix of the state"),
            )
        })
}

/// Checks that `dates` (each version's dates, in new-business order) rise strictly for both kinds
/// of business, so that exactly one version is in force on any day after the first.
fn check_order(file: &str, dates: &[Effective]) -> Result<(), TableError> {
    for business in [Business::NewBusiness, Business::Renewal] {
        if dates
            .windows(2)
            .any(|w| w[0].date(business) >= w[1].date(business))
        {
            let key = match business {
                Business::NewBusiness => "effective.new_business",
                Business::Renewal => "effective.renewal",
            };
            return Err(TableError::new(
                file,
                key.to_owned(),
                "versions must take effect on different days, in the same order for new business and renewals",
            ));
        }
    }
    Ok(())
}

static BUILTIN: OnceLock<RateTables> = OnceLock::new();

impl RateTables {
    /// The tables compiled into this binary, parsed on first use and shared afterwards. Call it
    /// during init so the parse is paid by the cold start, not by the first request.
    pub fn builtin() -> Result<&'static RateTables, TableError> {
        if let Some(tables) = BUILTIN.get() {
            return Ok(tables);
        }
        let started = std::time::Instant::now();
        let parsed = Self::parse(COMMON_FILES, STATE_FILES)?;
        // The cold start's first step, timed for `loadtest coldstart`.
        tracing::info!(
            tables_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "init: rate tables parsed"
        );
        Ok(BUILTIN.get_or_init(|| parsed))
    }

    /// Parses common tables (`common/<version>.toml`) and state tables
    /// (`<state>/<product>/<version>.toml`), each given as `(path under rates/, text)`. A path must
    /// match the state, product and version its file declares.
    pub fn parse(
        commons: &[(&str, &str)],
        files: &[(&str, &str)],
    ) -> Result<RateTables, TableError> {
        let mut parsed_commons = Vec::with_capacity(commons.len());
        for &(file, text) in commons {
            let common = common_table(file, text)?;
            if file != format!("common/{}.toml", common.version) {
                return Err(TableError::new(
                    file,
                    "version".to_owned(),
                    format_args!("declares {}", common.version),
                ));
            }
            parsed_commons.push(common);
        }
        if parsed_commons.is_empty() {
            return Err(TableError::new("common/", None, "no common table"));
        }
        parsed_commons.sort_by_key(|c| c.effective.new_business);
        let dates: Vec<Effective> = parsed_commons.iter().map(|c| c.effective).collect();
        check_order("common/", &dates)?;
        let mut tables = RateTables {
            commons: parsed_commons,
            by_state: State::ALL.iter().map(|_| Default::default()).collect(),
        };
        for &(file, text) in files {
            let mut table = state_table(file, text)?;
            let expected = format!(
                "{}/{}/{}.toml",
                table.state.code().to_ascii_lowercase(),
                table.policy_type,
                table.label
            );
            if expected != file {
                return Err(TableError::new(
                    file,
                    None,
                    format_args!(
                        "declares {} {} {}",
                        table.state, table.policy_type, table.label
                    ),
                ));
            }
            table.identities = tables.identities(&table, text);
            tables.by_state[table.state.index()][table.policy_type.index()].push(table);
        }
        for versions in tables.by_state.iter_mut().flatten() {
            versions.sort_by_key(|t| t.effective.new_business);
            if let Some(first) = versions.first() {
                let file = format!(
                    "{}/{}/",
                    first.state.code().to_ascii_lowercase(),
                    first.policy_type
                );
                let dates: Vec<Effective> = versions.iter().map(|t| t.effective).collect();
                check_order(&file, &dates)?;
            }
        }
        Ok(tables)
    }

    /// A candidate state table, validated exactly as a compiled one; it is compiled in nowhere. Its
    /// state and product must be written here, and its version must be new to them.
    pub fn candidate(&self, text: &str) -> Result<RateTable, TableError> {
        const FILE: &str = "candidate";
        let mut table = state_table(FILE, text)?;
        if !self.writes(table.state, table.policy_type) {
            return Err(TableError::new(
                FILE,
                "policy_type".to_owned(),
                format_args!(
                    "{} policies are not written in {}",
                    table.policy_type, table.state
                ),
            ));
        }
        table.identities = self.identities(&table, text);
        Ok(table)
    }

    /// The identity of `table`, whose file is `text`, with each common table.
    fn identities(&self, table: &RateTable, text: &str) -> Vec<Identity> {
        self.commons
            .iter()
            .map(|common| Identity {
                version: format!(
                    "{}-{}-{}/common-{}",
                    table.state, table.policy_type, table.label, common.version
                ),
                sha256: content_sha256(text, &common.text),
            })
            .collect()
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
            for identity in &table.identities {
                assert_eq!(identity.sha256.len(), 64, "{}", identity.version);
                assert!(
                    seen.insert(identity.sha256.clone()),
                    "{} shares a hash",
                    identity.version
                );
                assert_eq!(
                    tables.by_version(&identity.version).unwrap().identity,
                    identity
                );
            }
        }
        // A byte added to a compiled table changes its hash, and nothing else about it.
        let (file, text) = STATE_FILES
            .iter()
            .find(|(file, _)| *file == "ca/auto/2026.11.0.toml")
            .unwrap();
        let edited = format!("{text}\n");
        let reparsed = RateTables::parse(COMMON_FILES, &[(file, &edited)]).unwrap();
        let (before, after) = (
            &tables.versions(State::CA, PolicyType::Auto)[0],
            &reparsed.versions(State::CA, PolicyType::Auto)[0],
        );
        assert_eq!(before.identities[0].version, after.identities[0].version);
        assert_ne!(before.identities[0].sha256, after.identities[0].sha256);
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
        assert_eq!(tables.iter().count(), STATE_FILES.len());
        assert_eq!(tables.commons().len(), COMMON_FILES.len());
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
                assert!(tables.writes(state, product), "{state} {product}");
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
        on_disk.sort();
        let mut compiled: Vec<_> = COMMON_FILES
            .iter()
            .chain(STATE_FILES)
            .chain(ADMINISTRATION_FILES)
            .map(|(f, _)| (*f).to_owned())
            .collect();
        compiled.sort();
        assert_eq!(on_disk, compiled);
        for &(file, text) in COMMON_FILES
            .iter()
            .chain(STATE_FILES)
            .chain(ADMINISTRATION_FILES)
        {
            let on_disk = std::fs::read_to_string(dir.join(file)).unwrap();
            assert_eq!(text, on_disk, "{file} is compiled in with other contents");
        }
    }

    #[test]
    fn state_rules_from_the_brief_are_in_the_tables() {
        let tables = RateTables::builtin().unwrap();
        let auto = |s| &tables.versions(s, PolicyType::Auto)[0];
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
        let file = format!("ca/{product}/2026.11.0.toml");
        let (_, text) = STATE_FILES.iter().find(|(f, _)| *f == file).unwrap();
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
        RateTables::parse(COMMON_FILES, &[(&file, &edited.join("\n"))])
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
            parsed.unwrap().versions(State::CA, PolicyType::Auto)[0].required_facts(),
            [Fact::Vehicle, Fact::ZipCode]
        );
        let none = with_required_facts("renters", "required_facts = []").unwrap();
        assert!(
            none.versions(State::CA, PolicyType::Renters)[0]
                .required_facts()
                .is_empty()
        );
        for (product, line, detail) in [
            (
                "auto",
                r#"required_facts = ["drivers", "driver_age"]"#,
                r#"rate table ca/auto/2026.11.0.toml: required_facts: "driver_age" is not a fact; the facts are drivers, vehicle, vehicle.value, property, property.dwelling_value, zip_code"#,
            ),
            (
                "home",
                r#"required_facts = ["zip_code", "drivers"]"#,
                "rate table ca/home/2026.11.0.toml: required_facts: drivers does not apply to home policies",
            ),
            (
                "renters",
                r#"required_facts = ["property.dwelling_value"]"#,
                "rate table ca/renters/2026.11.0.toml: required_facts: property.dwelling_value does not apply to renters policies",
            ),
            (
                "auto",
                r#"required_facts = ["zip_code", "zip_code"]"#,
                "rate table ca/auto/2026.11.0.toml: required_facts: zip_code is listed twice",
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
        let common = COMMON_FILES;
        let (_, ca) = STATE_FILES
            .iter()
            .find(|(file, _)| *file == "ca/auto/2026.11.0.toml")
            .unwrap();
        let err = RateTables::parse(common, &[("tx/auto/2026.11.0.toml", ca)]).unwrap_err();
        assert!(
            err.to_string().contains("declares CA auto 2026.11.0"),
            "{err}"
        );
        let err = RateTables::parse(common, &[("ca/auto/2027.01.0.toml", ca)]).unwrap_err();
        assert!(
            err.to_string().contains("declares CA auto 2026.11.0"),
            "{err}"
        );
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
        let err = RateTables::parse(common, &[("ca/auto/2026.11.0.toml", &floats.join("\n"))])
            .unwrap_err();
        assert!(
            err.to_string().contains("a decimal written as a string"),
            "{err}"
        );
        assert_eq!(err.key(), Some("minimum_premium"));
    }

    #[test]
    fn an_error_inside_a_named_table_names_the_whole_key() {
        let (file, text) = STATE_FILES
            .iter()
            .find(|(file, _)| *file == "ca/auto/2027.03.0.toml")
            .unwrap();
        let tables = RateTables::builtin().unwrap();
        for (edit, key) in [
            (
                text.replace("[coverages.collision]", "[coverages.flood]"),
                "coverages.flood",
            ),
            (
                text.replace(
                    "[coverages.liability]\n",
                    "[coverages.liability]\nsurprise = 1\n",
                ),
                "coverages.liability.surprise",
            ),
            (
                text.replace("claims_free = \"0.05\"", "claims_free = \"1.05\""),
                "discounts.claims_free",
            ),
            (
                text.replace("claims_free = ", "no_claims = "),
                "discounts.no_claims",
            ),
            (
                text.replace("\"951\" = \"1.20\"", "\"123\" = \"1.20\""),
                "territories.123",
            ),
            (
                text.replace("renewal = \"2027-04-01\"", "renewal = \"April\""),
                "effective.renewal",
            ),
        ] {
            assert_ne!(&edit, text, "{key}");
            let err = tables.candidate(&edit).unwrap_err();
            assert_eq!(err.key(), Some(key), "{err}");
            let err = RateTables::parse(COMMON_FILES, &[(file, &edit)]).unwrap_err();
            assert_eq!(err.key(), Some(key), "{err}");
        }
    }
}
