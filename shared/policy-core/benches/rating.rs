//! Rating engine and calculate-rate handler benchmarks: `make bench`.
#![allow(clippy::unwrap_used, reason = "fixed, known-good inputs")]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lambda_http::http::Method;
use lambda_http::{Body, Request};
use policy_core::api::calculate_rate;
use policy_core::rating::{RateTables, RatingRequest, rate};
use time::macros::date;

const AUTO: &str = r#"{"state":"CA","policy_type":"auto","coverage":{"liability":500000,"collision":50000,"comprehensive":50000},
  "drivers":[{"age":34,"years_licensed":16,"violations":1},{"age":19,"years_licensed":2,"good_student":true}],
  "vehicle":{"year":2022,"annual_mileage":11000,"safety_features":["airbags","anti_lock_brakes"],"anti_theft":true},
  "zip_code":"90012","claims":0,"discounts":{"multi_policy":true,"paperless":true,"loyalty_years":6},"term":"semi_annual"}"#;
const HOME: &str = r#"{"state":"TX","policy_type":"home","coverage":{"dwelling":450000,"personal_property":200000,"liability":300000},
  "deductibles":{"all_perils":2500},"property":{"dwelling_value":450000,"construction":"masonry","year_built":1998,"protection_class":3},
  "zip_code":"77005","credit_score":742,"claims":1}"#;
const MINIMAL: &str = r#"{"state":"CA","policy_type":"auto","coverage":{"liability":500000}}"#;

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

criterion_group!(benches, engine, handler);
criterion_main!(benches);
