//! What a client asks to have rated, parsed at the edge into types that cannot hold nonsense.
//!
//! Each bounded number is a newtype that rejects out-of-range values while deserializing, so the
//! error carries the path of the field (`drivers[0].age`) and the engine only sees valid input.
//! Rules that depend on the state or product (minimum limits, offered coverages) are the engine's.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use time::Date;

use crate::domain::{CoverageKind, PolicyType, State, Term};

macro_rules! bounded {
    ($(#[$doc:meta])* $name:ident($repr:ty): $min:literal..=$max:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name($repr);

        impl $name {
            /// Smallest accepted value.
            pub const MIN: $repr = $min;
            /// Largest accepted value.
            pub const MAX: $repr = $max;

            /// The value.
            pub fn get(self) -> $repr {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = OutOfRange;
            fn try_from(value: i64) -> Result<Self, OutOfRange> {
                match <$repr>::try_from(value) {
                    Ok(v) if (Self::MIN..=Self::MAX).contains(&v) => Ok(Self(v)),
                    _ => Err(OutOfRange { what: $what, min: i64::from(Self::MIN), max: i64::from(Self::MAX) }),
                }
            }
        }

        impl From<$name> for i64 {
            fn from(value: $name) -> i64 {
                i64::from(value.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

/// An optional field that, when present, holds a value: `null` is not a way to leave a field out,
/// so it is rejected with the field's path like any other wrong type.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// A number outside the range a field accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be between {min} and {max}")]
pub struct OutOfRange {
    what: &'static str,
    min: i64,
    max: i64,
}

bounded!(
    /// A coverage limit in whole dollars.
    Limit(u32): 1..=50_000_000, "a limit in whole dollars"
);
bounded!(
    /// A deductible in whole dollars.
    Deductible(u32): 0..=100_000, "a deductible in whole dollars"
);
bounded!(
    /// A driver's age in years.
    Age(u8): 14..=120, "an age"
);
bounded!(
    /// Whole years, e.g. years licensed or years with us.
    Years(u8): 0..=100, "a number of years"
);
bounded!(
    /// How many incidents (violations, accidents, DUIs, claims) in the look-back period.
    Count(u8): 0..=50, "a count"
);
bounded!(
    /// A credit-based insurance score.
    CreditScore(u16): 300..=850, "a credit score"
);
bounded!(
    /// A calendar year, e.g. a vehicle's model year or the year a house was built.
    Year(u16): 1800..=2100, "a year"
);
bounded!(
    /// Miles driven per year.
    Mileage(u32): 0..=250_000, "annual mileage"
);
bounded!(
    /// A value in whole dollars, e.g. what a vehicle or a house is worth.
    Value(u32): 1..=100_000_000, "a value in whole dollars"
);
bounded!(
    /// ISO fire protection class: 1 (best) to 10 (unprotected).
    ProtectionClass(u8): 1..=10, "a protection class"
);

/// A five-digit US ZIP code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct ZipCode(u32);

impl ZipCode {
    /// The three-digit prefix (sectional center) that territories are rated by.
    pub fn prefix(self) -> u16 {
        // Five digits, so the prefix is below 1000 and fits.
        u16::try_from(self.0 / 100).unwrap_or(u16::MAX)
    }
}

impl TryFrom<String> for ZipCode {
    type Error = &'static str;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        if text.len() == 5 && text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse()
                .map(ZipCode)
                .map_err(|_| "a ZIP code must be five digits")
        } else {
            Err("a ZIP code must be five digits, e.g. \"90210\"")
        }
    }
}

/// Requested limits by coverage line; absent lines are not bought.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Coverages {
    #[serde(default, deserialize_with = "present")]
    pub liability: Option<Limit>,
    #[serde(default, deserialize_with = "present")]
    pub collision: Option<Limit>,
    #[serde(default, deserialize_with = "present")]
    pub comprehensive: Option<Limit>,
    #[serde(default, deserialize_with = "present")]
    pub uninsured_motorist: Option<Limit>,
    #[serde(default, deserialize_with = "present")]
    pub medical_payments: Option<Limit>,
    #[serde(default, deserialize_with = "present")]
    pub pip: Option<Limit>,
    #[serde(default, deserialize_with = "present")]
    pub dwelling: Option<Limit>,
    #[serde(default, deserialize_with = "present")]
    pub other_structures: Option<Limit>,
    #[serde(default, deserialize_with = "present")]
    pub personal_property: Option<Limit>,
    #[serde(default, deserialize_with = "present")]
    pub loss_of_use: Option<Limit>,
}

impl Coverages {
    /// The limit requested for `kind`, if any.
    pub fn get(&self, kind: CoverageKind) -> Option<Limit> {
        match kind {
            CoverageKind::Liability => self.liability,
            CoverageKind::Collision => self.collision,
            CoverageKind::Comprehensive => self.comprehensive,
            CoverageKind::UninsuredMotorist => self.uninsured_motorist,
            CoverageKind::MedicalPayments => self.medical_payments,
            CoverageKind::Pip => self.pip,
            CoverageKind::Dwelling => self.dwelling,
            CoverageKind::OtherStructures => self.other_structures,
            CoverageKind::PersonalProperty => self.personal_property,
            CoverageKind::LossOfUse => self.loss_of_use,
        }
    }

    /// Sets the limit for `kind`.
    pub fn set(&mut self, kind: CoverageKind, limit: Option<Limit>) {
        let slot = match kind {
            CoverageKind::Liability => &mut self.liability,
            CoverageKind::Collision => &mut self.collision,
            CoverageKind::Comprehensive => &mut self.comprehensive,
            CoverageKind::UninsuredMotorist => &mut self.uninsured_motorist,
            CoverageKind::MedicalPayments => &mut self.medical_payments,
            CoverageKind::Pip => &mut self.pip,
            CoverageKind::Dwelling => &mut self.dwelling,
            CoverageKind::OtherStructures => &mut self.other_structures,
            CoverageKind::PersonalProperty => &mut self.personal_property,
            CoverageKind::LossOfUse => &mut self.loss_of_use,
        };
        *slot = limit;
    }

    /// Requested lines with their limits, in breakdown order.
    pub fn iter(&self) -> impl Iterator<Item = (CoverageKind, Limit)> + '_ {
        CoverageKind::ALL
            .iter()
            .filter_map(|&kind| self.get(kind).map(|limit| (kind, limit)))
    }
}

/// Deductibles in whole dollars; absent ones take the table's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deductibles {
    /// Auto collision deductible.
    #[serde(default, deserialize_with = "present")]
    pub collision: Option<Deductible>,
    /// Auto comprehensive deductible.
    #[serde(default, deserialize_with = "present")]
    pub comprehensive: Option<Deductible>,
    /// Home and renters all-perils deductible.
    #[serde(default, deserialize_with = "present")]
    pub all_perils: Option<Deductible>,
}

/// A listed driver.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Driver {
    /// Age in years.
    pub age: Age,
    /// Years since first licensed.
    pub years_licensed: Years,
    /// Moving violations in the last three years.
    #[serde(default = "Count::zero")]
    pub violations: Count,
    /// At-fault accidents in the last three years.
    #[serde(default = "Count::zero")]
    pub at_fault_accidents: Count,
    /// DUI / DWI convictions in the last five years.
    #[serde(default = "Count::zero")]
    pub dui: Count,
    /// A full-time student with a B average or better.
    #[serde(default)]
    pub good_student: bool,
    /// The licence is currently suspended or revoked.
    #[serde(default)]
    pub license_suspended: bool,
}

impl Count {
    /// No incidents.
    pub fn zero() -> Count {
        Count(0)
    }
}

/// A vehicle safety feature that earns a credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum SafetyFeature {
    AntiLockBrakes,
    Airbags,
    AutomaticEmergencyBraking,
    LaneDepartureWarning,
    BlindSpotMonitoring,
}

/// The insured vehicle.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vehicle {
    /// Model year.
    pub year: Year,
    /// Expected miles per year.
    #[serde(default, deserialize_with = "present")]
    pub annual_mileage: Option<Mileage>,
    /// Safety features fitted.
    #[serde(default)]
    pub safety_features: Vec<SafetyFeature>,
    /// A recognised anti-theft device is fitted.
    #[serde(default)]
    pub anti_theft: bool,
    /// Market value in whole dollars.
    #[serde(default, deserialize_with = "present")]
    pub value: Option<Value>,
}

/// How a dwelling is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Construction {
    Frame,
    MasonryVeneer,
    Masonry,
    FireResistive,
}

/// The insured dwelling (home) or residence (renters).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Property {
    /// Replacement cost of the dwelling in whole dollars.
    #[serde(default, deserialize_with = "present")]
    pub dwelling_value: Option<Value>,
    /// Construction type.
    #[serde(default, deserialize_with = "present")]
    pub construction: Option<Construction>,
    /// Year the dwelling was built.
    #[serde(default, deserialize_with = "present")]
    pub year_built: Option<Year>,
    /// ISO fire protection class.
    #[serde(default, deserialize_with = "present")]
    pub protection_class: Option<ProtectionClass>,
}

/// Discounts the applicant claims; eligibility is the engine's decision.
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent yes/no claims on the wire"
)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscountClaims {
    /// Another policy with us (e.g. auto and home).
    #[serde(default)]
    pub multi_policy: bool,
    /// Documents by e-mail only.
    #[serde(default)]
    pub paperless: bool,
    /// The whole term paid up front.
    #[serde(default)]
    pub paid_in_full: bool,
    /// Active duty or veteran.
    #[serde(default)]
    pub military: bool,
    /// Consecutive years insured with us.
    #[serde(default = "Years::zero")]
    pub loyalty_years: Years,
}

impl Years {
    /// Zero years.
    pub fn zero() -> Years {
        Years(0)
    }
}

impl Default for Years {
    fn default() -> Years {
        Years::zero()
    }
}

/// A request to rate one policy. Only `state`, `policy_type` and `coverage` are required.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// Where the risk is.
    pub state: State,
    /// The product.
    pub policy_type: PolicyType,
    /// Requested limits per coverage line (`coverage_requested` is accepted too, as the quotes API
    /// names it).
    #[serde(alias = "coverage_requested")]
    pub coverage: Coverages,
    /// Deductibles.
    #[serde(default)]
    pub deductibles: Deductibles,
    /// Listed drivers (auto only).
    #[serde(default)]
    pub drivers: Vec<Driver>,
    /// The insured vehicle (auto only).
    #[serde(default, deserialize_with = "present")]
    pub vehicle: Option<Vehicle>,
    /// The insured dwelling (home and renters only).
    #[serde(default, deserialize_with = "present")]
    pub property: Option<Property>,
    /// Claims in the last five years; not rated on when absent.
    #[serde(default, deserialize_with = "present")]
    pub claims: Option<Count>,
    /// Credit-based insurance score; ignored where state law forbids its use.
    #[serde(default, deserialize_with = "present")]
    pub credit_score: Option<CreditScore>,
    /// ZIP code of the garaging address or the dwelling.
    #[serde(default, deserialize_with = "present")]
    pub zip_code: Option<ZipCode>,
    /// Discounts claimed.
    #[serde(default)]
    pub discounts: DiscountClaims,
    /// Insurance lapsed for more than 30 days before this policy.
    #[serde(default)]
    pub prior_coverage_lapse: bool,
    /// Policy term; premiums are pro-rated from annual.
    #[serde(default)]
    pub term: Term,
    /// First day of cover, `YYYY-MM-DD`; defaults to the rating date.
    #[serde(default, with = "iso_date")]
    pub effective_date: Option<Date>,
}

impl RatingRequest {
    /// The smallest valid request: a state, a product and nothing bought yet.
    pub fn minimal(state: State, policy_type: PolicyType) -> RatingRequest {
        RatingRequest {
            state,
            policy_type,
            coverage: Coverages::default(),
            deductibles: Deductibles::default(),
            drivers: Vec::new(),
            vehicle: None,
            property: None,
            claims: None,
            credit_score: None,
            zip_code: None,
            discounts: DiscountClaims::default(),
            prior_coverage_lapse: false,
            term: Term::Annual,
            effective_date: None,
        }
    }
}

/// A fact about the risk that an application may leave out, named by the request field that holds
/// it. A product's rate tables say which facts a complete application gives, and each underwriting
/// rule names the fact it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Fact {
    /// At least one listed driver.
    Drivers,
    /// The insured vehicle.
    Vehicle,
    /// The vehicle's market value.
    VehicleValue,
    /// The insured dwelling or residence.
    Property,
    /// The dwelling's replacement cost.
    DwellingValue,
    /// The ZIP code of the garaging address or the dwelling.
    ZipCode,
}

impl Fact {
    /// Every fact, in the order rules and reasons list them.
    pub const ALL: [Fact; 6] = [
        Fact::Drivers,
        Fact::Vehicle,
        Fact::VehicleValue,
        Fact::Property,
        Fact::DwellingValue,
        Fact::ZipCode,
    ];

    /// The request field that holds it, as rate tables and decisions name it.
    pub fn name(self) -> &'static str {
        match self {
            Fact::Drivers => "drivers",
            Fact::Vehicle => "vehicle",
            Fact::VehicleValue => "vehicle.value",
            Fact::Property => "property",
            Fact::DwellingValue => "property.dwelling_value",
            Fact::ZipCode => "zip_code",
        }
    }

    /// The fact called `name`, if there is one.
    pub fn parse(name: &str) -> Option<Fact> {
        Fact::ALL.into_iter().find(|fact| fact.name() == name)
    }

    /// Whether a request for `product` can hold it: drivers and vehicles are auto's; a property is
    /// home's or renters'; a dwelling's value only home's, since a renter does not insure the
    /// building.
    pub fn applies_to(self, product: PolicyType) -> bool {
        match self {
            Fact::Drivers | Fact::Vehicle | Fact::VehicleValue => product.is_auto(),
            Fact::Property => !product.is_auto(),
            Fact::DwellingValue => product == PolicyType::Home,
            Fact::ZipCode => true,
        }
    }

    /// The outermost part of it that `request` leaves out (`vehicle` when a vehicle's value is
    /// asked for and there is no vehicle), or `None` when the request gives it.
    pub fn absent_from(self, request: &RatingRequest) -> Option<Fact> {
        let given = match self {
            Fact::Drivers => !request.drivers.is_empty(),
            Fact::Vehicle => request.vehicle.is_some(),
            Fact::VehicleValue => {
                let Some(vehicle) = &request.vehicle else {
                    return Some(Fact::Vehicle);
                };
                vehicle.value.is_some()
            }
            Fact::Property => request.property.is_some(),
            Fact::DwellingValue => {
                let Some(property) = &request.property else {
                    return Some(Fact::Property);
                };
                property.dwelling_value.is_some()
            }
            Fact::ZipCode => request.zip_code.is_some(),
        };
        (!given).then_some(self)
    }
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Fact> for &'static str {
    fn from(fact: Fact) -> &'static str {
        fact.name()
    }
}

/// A name that is not a [`Fact`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFact(pub String);

impl fmt::Display for UnknownFact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a fact; the facts are ", self.0)?;
        for (i, fact) in Fact::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(fact.name())?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownFact {}

impl TryFrom<String> for Fact {
    type Error = UnknownFact;
    fn try_from(name: String) -> Result<Fact, UnknownFact> {
        Fact::parse(&name).ok_or(UnknownFact(name))
    }
}

/// `YYYY-MM-DD` dates, as the API writes them.
pub mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer, de};
    use time::Date;
    use time::format_description::BorrowedFormatItem;
    use time::macros::format_description;

    /// The one date format of the API.
    pub const FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

    /// Reads a `YYYY-MM-DD` date into an optional field (absent is `None` by `serde(default)`;
    /// `null` is rejected).
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Date>, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Date::parse(&text, FORMAT).map(Some).map_err(|_| {
            de::Error::custom(format_args!(
                "\"{text}\" is not a date in the form YYYY-MM-DD"
            ))
        })
    }

    /// Writes an optional date as `YYYY-MM-DD`.
    pub fn serialize<S: Serializer>(date: &Option<Date>, serializer: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(date) => {
                let text = date.format(FORMAT).map_err(serde::ser::Error::custom)?;
                serializer.serialize_str(&text)
            }
            None => serializer.serialize_none(),
        }
    }
}

/// Serde for a required `YYYY-MM-DD` date.
pub mod date_format {
    use serde::{Deserialize, Deserializer, Serializer, de};
    use time::Date;

    use super::iso_date::FORMAT;

    /// Writes `YYYY-MM-DD`.
    pub fn serialize<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        let text = date.format(FORMAT).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    /// Reads `YYYY-MM-DD`.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::parse(&text, FORMAT).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<RatingRequest, String> {
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de).map_err(|e| format!("{} :: {}", e.path(), e.inner()))
    }

    #[test]
    fn the_briefs_minimal_body_parses() {
        let req = parse(r#"{"state":"CA","policy_type":"auto","coverage":{"liability":500000}}"#)
            .unwrap();
        assert_eq!(req.state, State::CA);
        assert_eq!(req.coverage.liability.map(Limit::get), Some(500_000));
        assert_eq!(req.term, Term::Annual);
    }

    #[test]
    fn an_out_of_range_age_names_its_path() {
        let err = parse(
            r#"{"state":"CA","policy_type":"auto","coverage":{},"drivers":[{"age":35,"years_licensed":10},{"age":7,"years_licensed":0}]}"#,
        )
        .unwrap_err();
        assert!(err.starts_with("drivers[1].age :: "), "{err}");
        assert!(err.contains("between 14 and 120"), "{err}");
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_name() {
        let err =
            parse(r#"{"state":"CA","policy_type":"auto","coverage":{"liabilty":1}}"#).unwrap_err();
        assert!(err.contains("unknown field `liabilty`"), "{err}");
        assert!(err.starts_with("coverage"), "{err}");
    }

    #[test]
    fn negative_zero_and_fractional_limits_are_rejected() {
        for bad in [
            "-1",
            "0",
            "1.5",
            "\"100\"",
            "1e400",
            "99999999999999999999999",
        ] {
            let json = format!(
                r#"{{"state":"CA","policy_type":"auto","coverage":{{"liability":{bad}}}}}"#
            );
            let err = parse(&json).unwrap_err();
            assert!(err.starts_with("coverage.liability"), "{bad}: {err}");
        }
    }

    #[test]
    fn null_is_not_a_way_to_leave_a_field_out() {
        for (fields, path) in [
            (r#""coverage":{},"effective_date":null"#, "effective_date"),
            (r#""coverage":{},"vehicle":null"#, "vehicle"),
            (r#""coverage":{},"zip_code":null"#, "zip_code"),
            (r#""coverage":{},"credit_score":null"#, "credit_score"),
            (r#""coverage":{"liability":null}"#, "coverage.liability"),
            (
                r#""coverage":{},"deductibles":{"collision":null}"#,
                "deductibles.collision",
            ),
            (
                r#""coverage":{},"vehicle":{"year":2020,"value":null}"#,
                "vehicle.value",
            ),
            (
                r#""coverage":{},"property":{"construction":null}"#,
                "property.construction",
            ),
        ] {
            let json = format!(r#"{{"state":"CA","policy_type":"auto",{fields}}}"#);
            let err = parse(&json).unwrap_err();
            assert!(err.starts_with(&format!("{path} :: ")), "{json}: {err}");
        }
        let absent = parse(r#"{"state":"CA","policy_type":"auto","coverage":{}}"#).unwrap();
        assert_eq!((absent.vehicle, absent.effective_date), (None, None));
    }

    #[test]
    fn zip_codes_must_be_five_digits() {
        assert_eq!(
            ZipCode::try_from("90210".to_owned()).map(ZipCode::prefix),
            Ok(902)
        );
        assert_eq!(
            ZipCode::try_from("00501".to_owned()).map(ZipCode::prefix),
            Ok(5)
        );
        for bad in ["9021", "902100", "9021a", "９０２１０", ""] {
            assert!(ZipCode::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_must_be_iso() {
        let ok = parse(
            r#"{"state":"CA","policy_type":"auto","coverage":{},"effective_date":"2027-02-28"}"#,
        );
        assert!(ok.is_ok());
        let err = parse(
            r#"{"state":"CA","policy_type":"auto","coverage":{},"effective_date":"2027-02-30"}"#,
        )
        .unwrap_err();
        assert!(err.starts_with("effective_date :: "), "{err}");
    }
}
