//! Heap allocated per calculate-rate request, handler invoked in process, and per create-quote
//! request without the network (parse, rate, decide, build the quote record and its DynamoDB-bound
//! breakdown, serialise the response view): `make bench`.
//! The brief's bound is 1 MB per request; the aim is under 64 KB.
#![allow(clippy::unwrap_used, reason = "fixed, known-good inputs")]

use lambda_http::http::Method;
use lambda_http::{Body, Request};
use policy_core::api::quotes::canonical_json;
use policy_core::api::views::QuoteView;
use policy_core::api::{body, calculate_rate};
use policy_core::quoting::{assess, new_number};
use policy_core::rating::{RateTables, RatingRequest};
use time::macros::{date, datetime};

/// Requests measured per body.
const RUNS: u64 = 1000;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const BODIES: [(&str, &str); 2] = [
    (
        "brief",
        r#"{"state":"CA","policy_type":"auto","coverage":{"liability":500000}}"#,
    ),
    (
        "detailed auto",
        r#"{"state":"CA","policy_type":"auto","coverage":{"liability":500000,"collision":50000,"comprehensive":50000},
  "drivers":[{"age":34,"years_licensed":16,"violations":1},{"age":19,"years_licensed":2,"good_student":true}],
  "vehicle":{"year":2022,"annual_mileage":11000,"safety_features":["airbags","anti_lock_brakes"],"anti_theft":true},
  "zip_code":"90012","claims":0,"discounts":{"multi_policy":true,"paperless":true,"loyalty_years":6},"term":"semi_annual"}"#,
    ),
];

fn request(body: &str) -> Request {
    let mut request = Request::new(Body::from(body.to_owned()));
    *request.method_mut() = Method::POST;
    request
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    request
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let tables = RateTables::builtin().unwrap();
    let today = date!(2026 - 11 - 28);
    println!(
        "{:<16} {:>14} {:>14}",
        "request", "bytes/request", "allocs/request"
    );
    for (name, body) in BODIES {
        // The request itself is built outside the measured span: API Gateway hands it to us.
        let requests: Vec<Request> = (0..RUNS).map(|_| request(body)).collect();
        let before = dhat::HeapStats::get();
        for request in &requests {
            std::hint::black_box(calculate_rate::respond_to(tables, request, today));
        }
        let after = dhat::HeapStats::get();
        let bytes = (after.total_bytes - before.total_bytes) / RUNS;
        let blocks = (after.total_blocks - before.total_blocks) / RUNS;
        println!("{name:<16} {bytes:>14} {blocks:>14}");
    }
    // create-quote for the brief's quote body, everything the function does but the DynamoDB write.
    let now = datetime!(2026-11-28 10:00 UTC);
    let body = br#"{"policy_type":"auto","state":"CA","coverage_requested":{"liability":500000,"collision":50000}}"#;
    let before = dhat::HeapStats::get();
    for _ in 0..RUNS {
        std::hint::black_box(create_quote(tables, body, now));
    }
    let after = dhat::HeapStats::get();
    let bytes = (after.total_bytes - before.total_bytes) / RUNS;
    let blocks = (after.total_blocks - before.total_blocks) / RUNS;
    println!("{:<16} {bytes:>14} {blocks:>14}", "create-quote");
}

/// The create-quote path in process: the response body it would send.
fn create_quote(tables: &'static RateTables, json: &[u8], now: time::OffsetDateTime) -> Vec<u8> {
    let request: RatingRequest = body::parse(json).unwrap();
    let assessed = assess(tables, request, now.date()).unwrap();
    let rated_on = assessed.rated_on(canonical_json(json));
    let quote = assessed
        .quote(
            new_number("Q", now).unwrap(),
            "agent-01",
            now,
            time::Duration::days(30),
            rated_on,
        )
        .unwrap();
    serde_json::to_vec(&QuoteView::new(&quote, now).unwrap()).unwrap()
}
