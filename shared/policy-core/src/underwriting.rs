//! The underwriting decision on a rated request: accept, refer to an underwriter, or decline,
//! each with machine-readable reasons, and the result of every rule it knows. Pure: no I/O.
//!
//! An application that leaves out a fact its product's tables require is referred, one reason per
//! missing fact. Each rule reads one fact (or none, like the tier); a rule whose fact is absent is
//! recorded as not evaluated, naming the fact, so a decision shows what it did not look at.

use serde::{Deserialize, Serialize};

use crate::domain::PolicyType;
use crate::rating::request::{Fact, RatingRequest};
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

/// Why; each code is also the name of the rule that gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ReasonCode {
    IncompleteApplication,
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

impl ReasonCode {
    /// The fact the rule reads; `None` for rules that can always be evaluated.
    pub fn needs(self) -> Option<Fact> {
        match self {
            ReasonCode::IncompleteApplication | ReasonCode::HighRiskTier => None,
            ReasonCode::DriverUnderMinimumAge
            | ReasonCode::LicenseSuspended
            | ReasonCode::TooManyAtFaultAccidents
            | ReasonCode::MultipleDuis
            | ReasonCode::Dui => Some(Fact::Drivers),
            ReasonCode::VehicleValueOverLimit => Some(Fact::VehicleValue),
            ReasonCode::DwellingValueOverLimit => Some(Fact::DwellingValue),
            ReasonCode::UnsupportedTerritory => Some(Fact::ZipCode),
        }
    }

    /// Whether the rule applies to `product`: when the fact it reads is one the product has.
    pub fn applies_to(self, product: PolicyType) -> bool {
        self.needs().is_none_or(|fact| fact.applies_to(product))
    }
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

/// What one rule came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It found something: its reasons are among the decision's.
    Fired,
    /// It looked and found nothing.
    Passed,
    /// The fact it reads is absent from the request.
    NotEvaluated,
}

/// A rule and its verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    /// The rule, named by the code it gives when it fires.
    pub rule: ReasonCode,
    /// Fired, passed or not evaluated.
    pub result: Verdict,
    /// The absent fact, when not evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Fact>,
}

/// The decision, all the reasons for it (empty when accepted) and every rule's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Accepted, referred or declined.
    pub outcome: Outcome,
    /// Every reason a rule gave.
    pub reasons: Vec<Reason>,
    /// Every rule that applies to the product, in evaluation order (empty on decisions stored
    /// before rules were recorded).
    #[serde(default)]
    pub rules: Vec<RuleResult>,
}

/// The rules, in the order they are evaluated and listed.
pub const RULES: [ReasonCode; 10] = [
    ReasonCode::IncompleteApplication,
    ReasonCode::DriverUnderMinimumAge,
    ReasonCode::LicenseSuspended,
    ReasonCode::TooManyAtFaultAccidents,
    ReasonCode::MultipleDuis,
    ReasonCode::Dui,
    ReasonCode::UnsupportedTerritory,
    ReasonCode::VehicleValueOverLimit,
    ReasonCode::DwellingValueOverLimit,
    ReasonCode::HighRiskTier,
];

/// Decides on `request`, already rated as `quote` from `table`.
pub fn decide(request: &RatingRequest, quote: &RateQuote<'_>, table: &RateTable) -> Decision {
    let mut reasons = Vec::new();
    let mut rules = Vec::new();
    for rule in RULES {
        if !rule.applies_to(request.policy_type) {
            continue;
        }
        if let Some(missing) = rule.needs().and_then(|fact| fact.absent_from(request)) {
            rules.push(RuleResult {
                rule,
                result: Verdict::NotEvaluated,
                missing: Some(missing),
            });
            continue;
        }
        let before = reasons.len();
        evaluate(rule, request, quote, table, &mut reasons);
        rules.push(RuleResult {
            rule,
            result: if reasons.len() > before {
                Verdict::Fired
            } else {
                Verdict::Passed
            },
            missing: None,
        });
    }
    let outcome = if reasons.iter().any(|r| r.declines) {
        Outcome::Declined
    } else if reasons.is_empty() {
        Outcome::Accepted
    } else {
        Outcome::Referred
    };
    Decision {
        outcome,
        reasons,
        rules,
    }
}

/// Runs `rule`, whose fact is present, adding the reasons it gives to `reasons`.
fn evaluate(
    rule: ReasonCode,
    request: &RatingRequest,
    quote: &RateQuote<'_>,
    table: &RateTable,
    reasons: &mut Vec<Reason>,
) {
    let mut fire = |declines: bool, field: String| {
        reasons.push(Reason {
            code: rule,
            declines,
            field,
        });
    };
    let drivers = request.drivers.iter().enumerate();
    let duis = || -> u32 { request.drivers.iter().map(|d| u32::from(d.dui.get())).sum() };
    match rule {
        ReasonCode::IncompleteApplication => {
            let mut missing: Vec<Fact> = Vec::new();
            for fact in table.required_facts() {
                // A fact inside one that is absent is reported as the outer one, once.
                if let Some(absent) = fact.absent_from(request)
                    && !missing.contains(&absent)
                {
                    missing.push(absent);
                }
            }
            for fact in missing {
                fire(false, fact.name().to_owned());
            }
        }
        ReasonCode::DriverUnderMinimumAge => {
            for (i, driver) in drivers {
                if driver.age.get() < MIN_DRIVER_AGE {
                    fire(true, format!("drivers[{i}].age"));
                }
            }
        }
        ReasonCode::LicenseSuspended => {
            for (i, driver) in drivers {
                if driver.license_suspended {
                    fire(true, format!("drivers[{i}].license_suspended"));
                }
            }
        }
        ReasonCode::TooManyAtFaultAccidents => {
            for (i, driver) in drivers {
                if driver.at_fault_accidents.get() > MAX_AT_FAULT_ACCIDENTS {
                    fire(true, format!("drivers[{i}].at_fault_accidents"));
                }
            }
        }
        ReasonCode::MultipleDuis => {
            if duis() > 1 {
                fire(true, "drivers".to_owned());
            }
        }
        ReasonCode::Dui => {
            if duis() == 1 {
                fire(false, "drivers".to_owned());
            }
        }
        ReasonCode::UnsupportedTerritory => {
            if request
                .zip_code
                .is_some_and(|zip| table.excludes_zip_prefix(zip.prefix()))
            {
                fire(true, "zip_code".to_owned());
            }
        }
        ReasonCode::VehicleValueOverLimit => {
            let value = request.vehicle.as_ref().and_then(|v| v.value);
            if value.is_some_and(|v| v.get() > MAX_VEHICLE_VALUE) {
                fire(false, "vehicle.value".to_owned());
            }
        }
        ReasonCode::DwellingValueOverLimit => {
            let value = request.property.as_ref().and_then(|p| p.dwelling_value);
            if value.is_some_and(|v| v.get() > MAX_DWELLING_VALUE) {
                fire(false, "property.dwelling_value".to_owned());
            }
        }
        ReasonCode::HighRiskTier => {
            if quote.tier == Tier::HighRisk {
                fire(false, "tier".to_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::Date;
    use time::macros::date;

    use super::*;
    use crate::domain::State;
    use crate::rating::request::{
        Age, Count, Driver, Limit, Property, ProtectionClass, Value, Vehicle, Year, Years, ZipCode,
    };
    use crate::rating::{RateTables, rate};

    const TODAY: Date = date!(2026 - 11 - 28);

    fn tables() -> &'static RateTables {
        RateTables::builtin().unwrap()
    }

    /// The decision on `request`, with the coverages the state requires added at their minimums.
    fn decide_on(request: &RatingRequest) -> Decision {
        let table = tables()
            .versions(request.state, request.policy_type)
            .first()
            .unwrap();
        let mut request = request.clone();
        for kind in table.required_coverages() {
            if request.coverage.get(kind).is_none() {
                let minimum = table.coverage(kind).unwrap().min_limit;
                request
                    .coverage
                    .set(kind, Some(Limit::try_from(i64::from(minimum)).unwrap()));
            }
        }
        let quote = rate(tables(), &request, TODAY).unwrap();
        decide(&request, &quote, table)
    }

    fn from_json(json: &str) -> RatingRequest {
        serde_json::from_str(json).unwrap()
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

    /// A ZIP code in `state` that the product writes, in an average or better territory.
    fn zip_in(state: State, product: PolicyType) -> ZipCode {
        let table = tables().versions(state, product).first().unwrap();
        let prefix = (0..1000)
            .find(|&p| {
                table.serves_zip_prefix(p)
                    && !table.excludes_zip_prefix(p)
                    && table.territory(p) <= rust_decimal::Decimal::ONE
            })
            .unwrap();
        ZipCode::try_from(format!("{prefix:03}01")).unwrap()
    }

    /// A complete application with nothing against it: every fact every rule reads is given.
    fn complete(state: State, product: PolicyType) -> RatingRequest {
        let mut request = RatingRequest::minimal(state, product);
        request.zip_code = Some(zip_in(state, product));
        if product.is_auto() {
            request.drivers.push(driver(40));
            request.vehicle = Some(Vehicle {
                year: Year::try_from(2020).unwrap(),
                annual_mileage: None,
                safety_features: Vec::new(),
                anti_theft: false,
                value: Some(Value::try_from(30_000).unwrap()),
            });
        } else {
            request.property = Some(Property {
                dwelling_value: (product == PolicyType::Home)
                    .then(|| Value::try_from(400_000).unwrap()),
                construction: None,
                year_built: Some(Year::try_from(2005).unwrap()),
                protection_class: Some(ProtectionClass::try_from(3).unwrap()),
            });
        }
        request
    }

    fn auto_with(driver: Driver) -> RatingRequest {
        let mut request = complete(State::TX, PolicyType::Auto);
        request.drivers = vec![driver];
        request
    }

    fn codes(decision: &Decision) -> Vec<ReasonCode> {
        decision.reasons.iter().map(|r| r.code).collect()
    }

    fn result_of(decision: &Decision, rule: ReasonCode) -> RuleResult {
        *decision
            .rules
            .iter()
            .find(|r| r.rule == rule)
            .unwrap_or_else(|| panic!("{rule:?} is not in {:?}", decision.rules))
    }

    #[test]
    fn a_complete_clean_application_passes_every_rule_of_its_product() {
        for table in tables().iter() {
            // Given a complete application with nothing against it
            let (state, product) = (table.state, table.policy_type);

            // When it is decided
            let decision = decide_on(&complete(state, product));

            // Then it is accepted, and every rule that applies to the product was evaluated and passed
            assert_eq!(
                decision.outcome,
                Outcome::Accepted,
                "{state} {product}: {decision:?}"
            );
            assert!(decision.reasons.is_empty(), "{state} {product}");
            let expected: Vec<RuleResult> = RULES
                .into_iter()
                .filter(|rule| rule.applies_to(product))
                .map(|rule| RuleResult {
                    rule,
                    result: Verdict::Passed,
                    missing: None,
                })
                .collect();
            assert_eq!(decision.rules, expected, "{state} {product}");
        }
        let auto = decide_on(&complete(State::CA, PolicyType::Auto));
        assert_eq!(auto.rules.len(), 9, "all but the dwelling's value");
        let renters = decide_on(&complete(State::CA, PolicyType::Renters));
        assert_eq!(
            renters.rules.iter().map(|r| r.rule).collect::<Vec<_>>(),
            [
                ReasonCode::IncompleteApplication,
                ReasonCode::UnsupportedTerritory,
                ReasonCode::HighRiskTier
            ]
        );
    }

    #[test]
    fn auto_without_drivers_is_referred_naming_drivers_and_evaluates_no_driver_rule() {
        // Given an auto application with a vehicle and a ZIP code but no drivers
        let mut request = complete(State::TX, PolicyType::Auto);
        request.drivers.clear();

        // When it is decided
        let decision = decide_on(&request);

        // Then it is referred for the missing drivers alone
        assert_eq!(decision.outcome, Outcome::Referred);
        assert_eq!(
            decision.reasons,
            [Reason {
                code: ReasonCode::IncompleteApplication,
                declines: false,
                field: "drivers".to_owned(),
            }]
        );
        // And every rule about drivers says it was not evaluated, for want of drivers
        for rule in [
            ReasonCode::DriverUnderMinimumAge,
            ReasonCode::LicenseSuspended,
            ReasonCode::TooManyAtFaultAccidents,
            ReasonCode::MultipleDuis,
            ReasonCode::Dui,
        ] {
            assert_eq!(
                result_of(&decision, rule),
                RuleResult {
                    rule,
                    result: Verdict::NotEvaluated,
                    missing: Some(Fact::Drivers),
                }
            );
        }
        assert_eq!(
            result_of(&decision, ReasonCode::IncompleteApplication).result,
            Verdict::Fired
        );
        assert_eq!(
            serde_json::to_value(result_of(&decision, ReasonCode::DriverUnderMinimumAge)).unwrap(),
            serde_json::json!({"rule":"driver_under_minimum_age","result":"not_evaluated","missing":"drivers"})
        );
    }

    #[test]
    fn a_property_left_out_is_named_once_for_the_value_asked_for_inside_it() {
        let mut request = complete(State::FL, PolicyType::Home);
        request.property = None;
        let decision = decide_on(&request);
        assert_eq!(decision.outcome, Outcome::Referred);
        let fields: Vec<_> = decision.reasons.iter().map(|r| r.field.as_str()).collect();
        assert_eq!(fields, ["property"]);
        assert_eq!(
            result_of(&decision, ReasonCode::DwellingValueOverLimit),
            RuleResult {
                rule: ReasonCode::DwellingValueOverLimit,
                result: Verdict::NotEvaluated,
                missing: Some(Fact::Property),
            }
        );
    }

    #[test]
    fn a_property_without_its_value_names_the_value() {
        let mut request = complete(State::FL, PolicyType::Home);
        if let Some(property) = &mut request.property {
            property.dwelling_value = None;
        }
        let decision = decide_on(&request);
        assert_eq!(decision.outcome, Outcome::Referred);
        assert_eq!(decision.reasons.len(), 1);
        assert_eq!(decision.reasons[0].field, "property.dwelling_value");
    }

    #[test]
    fn a_vehicle_value_left_out_leaves_its_rule_unevaluated_but_does_not_refer() {
        // Auto's tables do not require the vehicle's value: the engine does not rate on it.
        let mut request = complete(State::TX, PolicyType::Auto);
        if let Some(vehicle) = &mut request.vehicle {
            vehicle.value = None;
        }
        let decision = decide_on(&request);
        assert_eq!(decision.outcome, Outcome::Accepted);
        assert_eq!(
            result_of(&decision, ReasonCode::VehicleValueOverLimit),
            RuleResult {
                rule: ReasonCode::VehicleValueOverLimit,
                result: Verdict::NotEvaluated,
                missing: Some(Fact::VehicleValue),
            }
        );
        request.vehicle = None;
        let decision = decide_on(&request);
        assert_eq!(
            result_of(&decision, ReasonCode::VehicleValueOverLimit).missing,
            Some(Fact::Vehicle)
        );
        assert_eq!(codes(&decision), [ReasonCode::IncompleteApplication]);
    }

    #[test]
    fn decline_rules_decline_when_their_facts_are_present_even_if_others_are_missing() {
        let request = from_json(
            r#"{"state":"TX","policy_type":"auto","coverage":{"liability":300000},
                "drivers":[{"age":40,"years_licensed":20,"dui":2}]}"#,
        );
        let decision = decide_on(&request);
        assert_eq!(decision.outcome, Outcome::Declined);
        // Two DUIs also rate high-risk, which alone would only refer.
        assert_eq!(
            codes(&decision),
            [
                ReasonCode::IncompleteApplication,
                ReasonCode::IncompleteApplication,
                ReasonCode::MultipleDuis,
                ReasonCode::HighRiskTier
            ]
        );
        let fields: Vec<_> = decision.reasons.iter().map(|r| r.field.as_str()).collect();
        assert_eq!(fields, ["vehicle", "zip_code", "drivers", "tier"]);
    }

    #[test]
    fn a_clean_adult_is_accepted() {
        let decision = decide_on(&auto_with(driver(40)));
        assert_eq!(decision.outcome, Outcome::Accepted);
        assert!(decision.reasons.is_empty());
    }

    #[test]
    fn one_dui_refers_and_two_decline() {
        let mut one = driver(40);
        one.dui = Count::try_from(1).unwrap();
        let decision = decide_on(&auto_with(one.clone()));
        assert_eq!(decision.outcome, Outcome::Referred);
        assert!(codes(&decision).contains(&ReasonCode::Dui));
        assert_eq!(result_of(&decision, ReasonCode::Dui).result, Verdict::Fired);
        assert_eq!(
            result_of(&decision, ReasonCode::MultipleDuis).result,
            Verdict::Passed
        );
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
        let mut request = complete(State::FL, PolicyType::Home);
        request.zip_code = Some(ZipCode::try_from("33040".to_owned()).unwrap());
        let decision = decide_on(&request);
        assert_eq!(decision.outcome, Outcome::Declined);
        assert_eq!(codes(&decision), vec![ReasonCode::UnsupportedTerritory]);
        assert_eq!(
            result_of(&decision, ReasonCode::UnsupportedTerritory).result,
            Verdict::Fired
        );
    }

    #[test]
    fn a_decision_stored_before_rules_were_recorded_still_reads() {
        let stored = r#"{"outcome":"referred","reasons":[{"code":"dui","declines":false,"field":"drivers"}]}"#;
        let decision: Decision = serde_json::from_str(stored).unwrap();
        assert_eq!(decision.outcome, Outcome::Referred);
        assert!(decision.rules.is_empty());
        let passed = RuleResult {
            rule: ReasonCode::Dui,
            result: Verdict::Passed,
            missing: None,
        };
        assert_eq!(
            serde_json::to_value(passed).unwrap(),
            serde_json::json!({"rule":"dui","result":"passed"})
        );
    }
}
