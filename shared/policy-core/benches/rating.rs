//! Rating engine and calculate-rate handler benchmarks: `make bench`.
#![allow(clippy::unwrap_used, reason = "fixed, known-good inputs")]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use lambda_http::http::Method;
use lambda_http::{Body, Request};
use policy_core::api::calculate_rate;
use policy_core::book::{Impact, Stored, replay};
use policy_core::cache::{Cache, CacheConfig, CacheName};
use policy_core::domain::{PolicyType, State};
use policy_core::money::Money;
use policy_core::rating::tables::{Business, TableSet};
use policy_core::rating::{RateTables, RatingRequest, explain, rate};
use policy_core::records::{Policy, PolicyStatus, RatedOn, term_end};
use policy_core::storage::{policy_from_item, policy_item};
use time::macros::{date, datetime};

const AUTO: &str = r#"{"state":"CA","policy_type":"auto","coverage":{"liability":500000,"collision":50000,"comprehensive":50000},
  "drivers":[{"age":34,"years_licensed":16,"violations":1},{"age":19,"years_licensed":2,"good_student":true}],
  "vehicle":{"year":2022,"annual_mileage":11000,"safety_features":["airbags","anti_lock_brakes"],"anti_theft":true},
  "zip_code":"90012","claims":0,"discounts":{"multi_policy":true,"paperless":true,"loyalty_years":6},"term":"semi_annual"}"#;
const HOME: &str = r#"{"state":"TX","policy_type":"home","coverage":{"dwelling":450000,"personal_property":200000,"liability":300000},
  "deductibles":{"all_perils":2500},"property":{"dwelling_value":450000,"construction":"masonry","year_built":1998,"protection_class":3},
  "zip_code":"77005","credit_score":742,"claims":1}"#;
const MINIMAL: &str = r#"{"state":"CA","policy_type":"auto","coverage":{"liability":500000}}"#;
/// As many players as one quote can have: 12 factors away from 1, 6 discounts, 2 surcharges and
/// the deductibles, over six coverage lines (2^21 sets of players to price).
const AUTO_WORST: &str = r#"{"state":"TX","policy_type":"auto","coverage":{"liability":300000,"collision":50000,"comprehensive":50000,
  "uninsured_motorist":100000,"medical_payments":10000,"pip":5000},"deductibles":{"collision":1000,"comprehensive":1000},
  "drivers":[{"age":19,"years_licensed":2,"violations":1,"at_fault_accidents":1,"dui":1,"good_student":true}],
  "vehicle":{"year":2026,"annual_mileage":25000,"safety_features":["airbags","anti_lock_brakes"],"anti_theft":true},
  "zip_code":"77005","credit_score":620,"claims":1,"prior_coverage_lapse":true,
  "discounts":{"multi_policy":true,"military":true,"paperless":true,"paid_in_full":true,"loyalty_years":10}}"#;

fn post(body: String) -> Request {
    let mut request = Request::new(Body::from(body));
    *request.method_mut() = Method::POST;
    request
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    request
}

fn engine(c: &mut Criterion) {
    let tables = RateTables::builtin().unwrap();
    let today = date!(2026 - 11 - 28);
    let auto: RatingRequest = serde_json::from_str(AUTO).unwrap();
    let home: RatingRequest = serde_json::from_str(HOME).unwrap();
    c.bench_function("rate/auto_one", |b| {
        b.iter(|| rate(tables, black_box(&auto), today));
    });
    c.bench_function("rate/home_one", |b| {
        b.iter(|| rate(tables, black_box(&home), today));
    });
    for n in [100, 1000] {
        let batch = vec![auto.clone(); n];
        c.bench_function(&format!("rate/auto_batch_{n}"), |b| {
            b.iter(|| {
                batch
                    .iter()
                    .filter(|r| rate(tables, black_box(r), today).is_ok())
                    .count()
            });
        });
    }
    for (name, body) in [
        ("minimal", MINIMAL),
        ("auto_one", AUTO),
        ("home_one", HOME),
        ("auto_worst", AUTO_WORST),
    ] {
        let request: RatingRequest = serde_json::from_str(body).unwrap();
        let quote = rate(tables, &request, today).unwrap();
        c.bench_function(&format!("explain/{name}"), |b| {
            b.iter(|| explain(black_box(&quote)));
        });
    }
    c.bench_function("parse/auto_request", |b| {
        b.iter(|| serde_json::from_str::<RatingRequest>(black_box(AUTO)));
    });
    let quote = rate(tables, &auto, today).unwrap();
    c.bench_function("serialize/auto_quote", |b| {
        b.iter(|| serde_json::to_vec(black_box(&quote)));
    });
}

fn handler(c: &mut Criterion) {
    let tables = RateTables::builtin().unwrap();
    let today = date!(2026 - 11 - 28);
    let batch_100 = format!("[{}]", vec![AUTO; 100].join(","));
    for (name, body) in [
        ("minimal", MINIMAL.to_owned()),
        ("auto", AUTO.to_owned()),
        ("batch_100", batch_100),
    ] {
        c.bench_function(&format!("handler/calculate_rate_{name}"), |b| {
            b.iter_batched(
                || post(body.clone()),
                |request| calculate_rate::respond_to(tables, &request, today),
                BatchSize::SmallInput,
            );
        });
    }
}

/// A bound policy as the list-policies function reads it: the detailed auto request's breakdown.
fn policy(tables: &'static RateTables) -> Policy {
    let request: RatingRequest = serde_json::from_str(AUTO).unwrap();
    let effective_date = date!(2026 - 11 - 28);
    let rated = rate(tables, &request, effective_date).unwrap();
    Policy {
        policy_number: "POL-2026-000042".to_owned(),
        owner: "agent-01".to_owned(),
        quote_id: "Q-2026-000042".to_owned(),
        state: request.state,
        policy_type: request.policy_type,
        status: PolicyStatus::Active,
        term: request.term,
        effective_date,
        expiration_date: term_end(effective_date, request.term.months()),
        total_premium: rated.total_premium,
        breakdown: serde_json::to_string(&rated).unwrap(),
        bound_at: datetime!(2026-11-27 10:00 UTC),
        bound_by: Some("agent-01".to_owned()),
        added_coverages: Vec::new(),
        rated_on: None,
        decision: None,
        decisions: Vec::new(),
        version: 1,
        term_number: 1,
        renewal_offer: None,
        cancellation_date: None,
    }
}

fn storage(c: &mut Criterion) {
    let tables = RateTables::builtin().unwrap();
    let policy = policy(tables);
    c.bench_function("dynamo/policy_to_item", |b| {
        b.iter(|| policy_item(black_box(&policy)));
    });
    let item = policy_item(&policy).unwrap();
    c.bench_function("dynamo/policy_from_item", |b| {
        b.iter_batched(
            || item.clone(),
            |item| policy_from_item(black_box(item)),
            BatchSize::SmallInput,
        );
    });
}

/// A cache read answered in process: the key is built (format version, cache name, number), looked
/// up in L1, the entry's version byte checked and the policy decoded; Redis is not configured, so
/// nothing leaves the process.
fn cache(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let cache = Cache::new(CacheConfig::default()).unwrap();
    let policy = policy(RateTables::builtin().unwrap());
    runtime.block_on(cache.put(CacheName::Policy, "POL-2026-000042", &policy));
    c.bench_function("cache/l1_hit_policy", |b| {
        b.iter(|| {
            runtime.block_on(cache.get::<Policy>(CacheName::Policy, black_box("POL-2026-000042")))
        });
    });
    c.bench_function("cache/l1_miss_policy", |b| {
        b.iter(|| {
            runtime.block_on(cache.get::<Policy>(CacheName::Policy, black_box("POL-2026-000043")))
        });
    });
}

/// A CA auto book of `n` policies as the rate impact reads them from the index: each policy's
/// stored request (drivers, vehicle, ZIP code and limits varying as a seeded book's do), the
/// tables it was rated with, and its first day of cover.
fn book(tables: &'static RateTables, n: u32, today: time::Date) -> Vec<(RatedOn, time::Date)> {
    let zips = [
        "90012", "90210", "92101", "94105", "94501", "95814", "93001", "95112",
    ];
    (0..n)
        .map(|i| {
            let zip = zips[usize::try_from(i).unwrap() % zips.len()];
            let request = format!(
                r#"{{"state":"CA","policy_type":"auto","term":"annual","coverage":{{"liability":{},"collision":{}}},"drivers":[{{"age":{},"years_licensed":{},"violations":{}}}],"vehicle":{{"year":{},"annual_mileage":{}}},"zip_code":"{zip}","claims":{}}}"#,
                75_000 + (i % 12) * 25_000,
                5_000 + (i % 9) * 5_000,
                20 + i % 55,
                2 + i % 4,
                i % 3,
                2012 + i % 14,
                4_000 + (i % 20) * 1_000,
                i % 2,
            );
            let effective = today - time::Duration::days(i64::from(i % 300));
            let parsed: RatingRequest = serde_json::from_str(&request).unwrap();
            let quote = rate(tables, &parsed, effective).unwrap();
            let rated_on = RatedOn {
                request,
                rate_table_version: quote.rate_table_version.to_owned(),
                rate_table_sha256: quote.rate_table_sha256.to_owned(),
            };
            (rated_on, effective)
        })
        .collect()
}

/// The book re-rated in process, 10,000 policies a run: `book/replay_10000` replays each policy
/// (its stored tables found by version and checked by hash, its stored request read back and
/// rated with them, the total compared), `book/impact_10000` is the rate impact's work (each
/// stored request read back and rated with the current table and with a candidate, liability +5%,
/// and the report summed up).
fn rerate(c: &mut Criterion) {
    const POLICIES: u32 = 10_000;
    let tables = RateTables::builtin().unwrap();
    let today = date!(2026 - 11 - 28);
    let text = include_str!("../rates/ca/auto/2026.11.0.toml");
    let candidate = tables
        .candidate(&text.replace(
            "rate_per_thousand = \"1.80\"",
            "rate_per_thousand = \"1.89\"",
        ))
        .unwrap();
    let current = tables
        .in_force(State::CA, PolicyType::Auto, Business::Renewal, today)
        .unwrap();
    let candidate = TableSet::new(tables, &candidate, current.common_index());
    let book = book(tables, POLICIES, today);
    let stored: Vec<(RatedOn, time::Date, Money)> = book
        .iter()
        .map(|(rated_on, effective)| {
            let request: RatingRequest = serde_json::from_str(&rated_on.request).unwrap();
            let total = rate(tables, &request, *effective).unwrap().total_premium;
            (rated_on.clone(), *effective, total)
        })
        .collect();
    let mut group = c.benchmark_group("book");
    group.throughput(Throughput::Elements(u64::from(POLICIES)));
    group.bench_function("replay_10000", |b| {
        b.iter(|| {
            stored
                .iter()
                .filter(|(rated_on, effective_date, total_premium)| {
                    let stored = Stored {
                        rated_on: Some(black_box(rated_on)),
                        effective_date: *effective_date,
                        total_premium: *total_premium,
                    };
                    replay(tables, stored).matches
                })
                .count()
        });
    });
    group.bench_function("impact_10000", |b| {
        b.iter(|| {
            let mut impact = Impact::new(current, candidate, today);
            for (rated_on, effective) in &book {
                impact.add(Some(black_box(rated_on)), *effective);
            }
            impact.report()
        });
    });
    group.finish();
}

criterion_group!(benches, engine, handler, storage, cache, rerate);
criterion_main!(benches);
