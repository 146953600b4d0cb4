//! The underwriting decision on a rated request: accept, refer to an underwriter, or decline,
//! each with machine-readable reasons. Pure: no I/O.

use serde::{Deserialize, Serialize};

use crate::rating::request::RatingRequest;
use crate::rating::tables::RateTable;
use crate::rating::{RateQuote, Tier};

/// A vehicle worth more than this is referred.
pub const MAX_VEHICLE_VALUE: u32 = 150_000;
/// A dwelling worth more than this is referred.
pub const MAX_DWELLING_VALUE: u32 = 3_000_000;
/// Youngest age at which a driver may be listed.
pub const MIN_DRIVER_AGE: u8 = 16;
/// More at-fault accidents than this, for any driver, declines.
pub const MAX_AT_FAULT_ACCIDENTS: u8 = 3;

/// What underwriting decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Can be bound as quoted.
    Accepted,
    /// Needs an underwriter before it can be bound.
    Referred,
    /// Will not be written.
    Declined,
}

/// Why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ReasonCode {
    DriverUnderMinimumAge,
    LicenseSuspended,
    TooManyAtFaultAccidents,
    MultipleDuis,
    Dui,
    VehicleValueOverLimit,
    DwellingValueOverLimit,
    HighRiskTier,
    UnsupportedTerritory,
}

/// One reason, with the field it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Machine-readable code.
    pub code: ReasonCode,
    /// Whether this reason declines (rather than refers).
    pub declines: bool,
    /// The request field it concerns.
    pub field: String,
}

/// The decision and all the reasons for it (empty when accepted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Accepted, referred or declined.
    pub outcome: Outcome,
    /// Every rule that fired.
    pub reasons: Vec<Reason>,
}

/// Decides on `request`, already rated as `quote` from `table`.
pub fn decide(request: &RatingRequest, quote: &RateQuote<'_>, table: &RateTable) -> Decision {
    let mut reasons = Vec::new();
    let mut fire = |code, declines, field: String| {
        reasons.push(Reason {
            code,
            declines,
            field,
        });
    };
    for (i, driver) in request.drivers.iter().enumerate() {
        if driver.age.get() < MIN_DRIVER_AGE {
            fire(
                ReasonCode::DriverUnderMinimumAge,
                true,
                format!("drivers[{i}].age"),
            );
        }
        if driver.license_suspended {
            fire(
                ReasonCode::LicenseSuspended,
                true,
                format!("drivers[{i}].license_suspended"),
            );
        }
        if driver.at_fault_accidents.get() > MAX_AT_FAULT_ACCIDENTS {
            fire(
                ReasonCode::TooManyAtFaultAccidents,
                true,
                format!("drivers[{i}].at_fault_accidents"),
            );
        }
    }
    let duis: u32 = request.drivers.iter().map(|d| u32::from(d.dui.get())).sum();
    match duis {
        0 => {}
        1 => fire(ReasonCode::Dui, false, "drivers".to_owned()),
        _ => fire(ReasonCode::MultipleDuis, true, "drivers".to_owned()),
    }
    if let Some(zip) = request.zip_code {
        if table.excludes_zip_prefix(zip.prefix()) {
            fire(
                ReasonCode::UnsupportedTerritory,
                true,
                "zip_code".to_owned(),
            );
        }
    }
    if request
        .vehicle
        .as_ref()
        .and_then(|v| v.value)
        .is_some_and(|v| v.get() > MAX_VEHICLE_VALUE)
    {
        fire(
            ReasonCode::VehicleValueOverLimit,
            false,
            "vehicle.value".to_owned(),
        );
    }
    let dwelling = request.property.as_ref().and_then(|p| p.dwelling_value);
    if dwelling.is_some_and(|v| v.get() > MAX_DWELLING_VALUE) {
        fire(
            ReasonCode::DwellingValueOverLimit,
            false,
            "property.dwelling_value".to_owned(),
        );
    }
    if quote.tier == Tier::HighRisk {
        fire(ReasonCode::HighRiskTier, false, "tier".to_owned());
    }
    let outcome = if reasons.iter().any(|r| r.declines) {
        Outcome::Declined
    } else if reasons.is_empty() {
        Outcome::Accepted
    } else {
        Outcome::Referred
    };
    Decision { outcome, reasons }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::domain::{PolicyType, State};
    use crate::rating::request::{Age, Count, Driver, Limit, Years, ZipCode};
    use crate::rating::{RateTables, rate};

    fn decide_on(request: &RatingRequest) -> Decision {
        let tables = RateTables::builtin().unwrap();
        let quote = rate(tables, request, date!(2026 - 11 - 28)).unwrap();
        decide(
            request,
            &quote,
            tables.get(request.state, request.policy_type).unwrap(),
        )
    }

    fn auto_with(driver: Driver) -> RatingRequest {
        let mut request = RatingRequest::minimal(State::TX, PolicyType::Auto);
        request.coverage.liability = Some(Limit::try_from(100_000).unwrap());
        request.drivers.push(driver);
        request
    }

    fn driver(age: i64) -> Driver {
        Driver {
            age: Age::try_from(age).unwrap(),
            years_licensed: Years::try_from((age - 16).max(0)).unwrap(),
            violations: Count::zero(),
            at_fault_accidents: Count::zero(),
            dui: Count::zero(),
            good_student: false,
            license_suspended: false,
        }
    }

    fn codes(decision: &Decision) -> Vec<ReasonCode> {
        decision.reasons.iter().map(|r| r.code).collect()
    }

    #[test]
    fn a_clean_adult_is_accepted() {
        let decision = decide_on(&auto_with(driver(40)));
        assert_eq!(
            decision,
            Decision {
                outcome: Outcome::Accepted,
                reasons: vec![]
            }
        );
    }

    #[test]
    fn one_dui_refers_and_two_decline() {
        let mut one = driver(40);
        one.dui = Count::try_from(1).unwrap();
        let decision = decide_on(&auto_with(one.clone()));
        assert_eq!(decision.outcome, Outcome::Referred);
        assert!(codes(&decision).contains(&ReasonCode::Dui));
        one.dui = Count::try_from(2).unwrap();
        assert_eq!(decide_on(&auto_with(one)).outcome, Outcome::Declined);
    }

    #[test]
    fn under_16_suspended_or_four_accidents_decline_naming_the_driver() {
        let decision = decide_on(&auto_with(driver(15)));
        assert_eq!(decision.outcome, Outcome::Declined);
        // A 15-year-old also rates high-risk, which alone would only refer.
        assert_eq!(
            codes(&decision),
            vec![ReasonCode::DriverUnderMinimumAge, ReasonCode::HighRiskTier]
        );
        assert_eq!(decision.reasons[0].field, "drivers[0].age");
        let mut suspended = driver(40);
        suspended.license_suspended = true;
        assert_eq!(
            codes(&decide_on(&auto_with(suspended))),
            vec![ReasonCode::LicenseSuspended]
        );
        let mut crashes = driver(40);
        crashes.at_fault_accidents = Count::try_from(4).unwrap();
        let decision = decide_on(&auto_with(crashes));
        assert_eq!(decision.outcome, Outcome::Declined);
        assert!(codes(&decision).contains(&ReasonCode::TooManyAtFaultAccidents));
    }

    #[test]
    fn an_excluded_territory_declines() {
        let mut request = RatingRequest::minimal(State::FL, PolicyType::Home);
        request.coverage.dwelling = Some(Limit::try_from(300_000).unwrap());
        request.coverage.liability = Some(Limit::try_from(300_000).unwrap());
        request.zip_code = Some(ZipCode::try_from("33040".to_owned()).unwrap());
        let decision = decide_on(&request);
        assert_eq!(decision.outcome, Outcome::Declined);
        assert_eq!(codes(&decision), vec![ReasonCode::UnsupportedTerritory]);
    }
}
