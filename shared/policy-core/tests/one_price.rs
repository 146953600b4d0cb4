//! One body, one price: for any body, of any state and product, `POST /api/v1/rates/calculate`
//! answers what a quote of the same body is priced at, with the same coverages added, or refuses it
//! with the same problem. Both routes' pure steps are called directly, with no storage.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request};
use policy_core::api::{ApiError, calculate_rate};
use policy_core::domain::{CoverageKind, PolicyType, State};
use policy_core::quoting::assess;
use policy_core::rating::{RateTables, RatingRequest};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use serde_json::{Map, Value, json};
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2026 - 11 - 28);

/// A ZIP code in each written state.
const ZIP_CODES: [(State, &str); 7] = [
    (State::CA, "90012"),
    (State::TX, "78701"),
    (State::NY, "10001"),
    (State::FL, "32801"),
    (State::PA, "19103"),
    (State::IL, "60601"),
    (State::MI, "48201"),
];
/// ZIP codes that are trouble somewhere: the prefix FL home excludes, and one in no written state.
const OTHER_ZIP_CODES: [&str; 2] = ["33040", "82001"];

fn tables() -> &'static RateTables {
    RateTables::builtin().expect("builtin tables parse")
}

/// Mostly the states and products with tables; now and then any state and product at all.
fn arb_market() -> impl Strategy<Value = (State, PolicyType)> {
    let written: Vec<(State, PolicyType)> =
        tables().iter().map(|t| (t.state, t.policy_type)).collect();
    prop_oneof![
        9 => select(written),
        1 => (select(State::ALL.to_vec()), select(PolicyType::ALL.to_vec())),
    ]
}

/// A line: whether it is bought (in percent, see [`arb_body`]), where its limit lies within what the
/// state sells (in thousandths), and now and then a limit of any size instead.
fn arb_line() -> impl Strategy<Value = (u8, u32, Option<u32>)> {
    (
        0u8..100,
        0u32..=1000,
        prop::option::weighted(0.1, 1u32..=3_000_000),
    )
}

fn arb_driver() -> impl Strategy<Value = Value> {
    (
        16u32..=80,
        0u32..=40,
        0u32..=3,
        0u32..=4,
        0u32..=2,
        any::<bool>(),
    )
        .prop_map(|(age, years, violations, accidents, dui, suspended)| {
            json!({
                "age": age,
                "years_licensed": years.min(age - 14),
                "violations": violations,
                "at_fault_accidents": accidents,
                "dui": dui,
                "license_suspended": suspended,
            })
        })
}

fn arb_body() -> impl Strategy<Value = Value> {
    (
        arb_market(),
        prop::collection::vec(arb_line(), CoverageKind::COUNT),
        prop::collection::vec(arb_driver(), 0..=2),
        prop::option::of((2000u32..=2027, 1u32..=250_000)),
        prop::option::of((50_000u32..=4_000_000, 1900u32..=2026, 1u32..=10)),
        (0u8..100, select(OTHER_ZIP_CODES.to_vec())),
        (
            prop::option::of(300u32..=850),
            prop::option::of(0u32..=4),
            select(vec!["annual", "semi_annual", "quarterly", "monthly"]),
            any::<bool>(),
            prop::bool::weighted(0.05),
        ),
    )
        .prop_map(
            |(
                (state, product),
                lines,
                drivers,
                vehicle,
                property,
                (zip_roll, other_zip),
                (credit, claims, term, lapse, misfit),
            )| {
                let table = tables().versions(state, product).first();
                let mut coverage = Map::new();
                for (&kind, (bought, share, wild)) in CoverageKind::ALL.iter().zip(lines) {
                    // Half the lines on sale are bought, and now and then one that is not on sale.
                    let on_sale = table.and_then(|t| t.coverage(kind));
                    if bought >= if on_sale.is_some() { 50 } else { 2 } {
                        continue;
                    }
                    let limit = match (on_sale, wild) {
                        (Some(rate), None) => {
                            let span = u64::from(rate.max_limit - rate.min_limit);
                            rate.min_limit + u32::try_from(span * u64::from(share) / 1000).unwrap()
                        }
                        (_, wild) => wild.unwrap_or(100_000),
                    };
                    coverage.insert(kind.to_string(), json!(limit));
                }
                let mut body = json!({
                    "state": state.code(),
                    "policy_type": product.to_string(),
                    "coverage": coverage,
                    "term": term,
                    "prior_coverage_lapse": lapse,
                });
                // Drivers and a vehicle go with auto, a property with home and renters; a misfit
                // is a request both routes must refuse alike.
                let auto = product.is_auto() != misfit;
                if !drivers.is_empty() && auto {
                    body["drivers"] = json!(drivers);
                }
                if let Some((year, value)) = vehicle.filter(|_| auto) {
                    body["vehicle"] = json!({"year": year, "value": value});
                }
                if let Some((value, built, class)) = property.filter(|_| !auto) {
                    body["property"] = json!({
                        "dwelling_value": value,
                        "year_built": built,
                        "protection_class": class,
                    });
                }
                // Mostly a ZIP code in the state, sometimes none, sometimes trouble.
                let in_state = ZIP_CODES
                    .iter()
                    .find(|(s, _)| *s == state)
                    .map(|(_, zip)| *zip);
                let zip = match zip_roll {
                    0..70 => in_state,
                    70..90 => None,
                    _ => Some(other_zip),
                };
                if let Some(zip) = zip {
                    body["zip_code"] = json!(zip);
                }
                if let Some(score) = credit {
                    body["credit_score"] = json!(score);
                }
                if let Some(claims) = claims {
                    body["claims"] = json!(claims);
                }
                body
            },
        )
}

fn post(body: &Value) -> Request {
    let mut request = Request::new(Body::from(body.to_string()));
    *request.method_mut() = Method::POST;
    request
        .headers_mut()
        .insert(CONTENT_TYPE, "application/json".parse().unwrap());
    request
}

/// The calculate-rate answer to `body`: its status and JSON.
fn calculate(body: &Value) -> (StatusCode, Value) {
    let response = calculate_rate::respond_to(tables(), &post(body), TODAY);
    let json = serde_json::from_slice(response.body()).unwrap();
    (response.status(), json)
}

/// The parts of a problem that say what went wrong (not where or when it was asked).
fn gist(problem: &Value) -> Value {
    json!({
        "type": problem["type"],
        "status": problem["status"],
        "detail": problem["detail"],
        "errors": problem["errors"],
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        // Integration tests have no lib.rs beside them; keep regressions next to this file.
        failure_persistence: Some(Box::new(prop::test_runner::FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_rating_costs_what_a_quote_of_the_same_body_costs(body in arb_body()) {
        // Given any body, rated alone and as a batch of one
        let (status, rated) = calculate(&body);
        let (batch_status, batch) = calculate(&json!([body]));
        prop_assert_eq!(batch_status, StatusCode::OK);
        let item = &batch["results"][0];

        // When the same body is assessed as a quote
        let request: RatingRequest = serde_json::from_value(body.clone()).unwrap();
        match assess(tables(), request, TODAY) {
            // Then the rating has the quote's total, breakdown and added coverages
            Ok(assessed) => {
                prop_assert_eq!(status, StatusCode::OK, "{}", rated);
                let total = assessed.rated.total_premium.to_string();
                prop_assert_eq!(rated["total_premium"].as_str(), Some(total.as_str()));
                prop_assert_eq!(&rated["added_coverages"], &json!(assessed.added_coverages));
                let mut breakdown = rated.clone();
                breakdown.as_object_mut().unwrap().remove("added_coverages");
                prop_assert_eq!(&breakdown, &serde_json::to_value(&assessed.rated).unwrap());
                prop_assert_eq!(&item["status"], &json!(200));
                // A batch's items are the same rating, without the explanation in dollars.
                let mut unexplained = rated.clone();
                let fields = unexplained.as_object_mut().unwrap();
                prop_assert!(fields.remove("explanation").is_some(), "{}", rated);
                fields.remove("adverse_action_reasons");
                prop_assert_eq!(&item["rate"], &unexplained);
            }
            // Or both refuse it with the same problem
            Err(err) => {
                let err = ApiError::from(err);
                prop_assert_eq!(status, err.status(), "{}", rated);
                let problem = serde_json::to_value(err.problem("-", None)).unwrap();
                prop_assert_eq!(gist(&rated), gist(&problem));
                prop_assert_eq!(&item["status"], &json!(err.status().as_u16()));
                prop_assert_eq!(gist(&item["problem"]), gist(&problem));
            }
        }
    }
}

#[test]
fn the_bodies_reach_both_prices_and_refusals_in_every_written_state_and_product() {
    // A property test whose bodies all failed alike would pass while testing nothing.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = arb_body();
    let (mut priced, mut refused, mut added) = (0, 0, 0);
    let mut markets = std::collections::BTreeSet::new();
    for _ in 0..2000 {
        let body = strategy.new_tree(&mut runner).unwrap().current();
        let request: RatingRequest = serde_json::from_value(body).unwrap();
        let market = (request.state, request.policy_type);
        match assess(tables(), request, TODAY) {
            Ok(assessed) => {
                priced += 1;
                markets.insert(market);
                added += usize::from(!assessed.added_coverages.is_empty());
            }
            Err(_) => refused += 1,
        }
    }
    assert!(
        priced > 500 && refused > 200 && added > 200,
        "{priced} {refused} {added}"
    );
    let written: std::collections::BTreeSet<_> =
        tables().iter().map(|t| (t.state, t.policy_type)).collect();
    assert_eq!(markets.len(), written.len(), "{markets:?}");
}
