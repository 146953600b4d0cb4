//! Any bytes as the body of `POST /api/v1/quotes` (with an optional envelope line choosing the
//! method, content type, repetition and `Idempotency-Key`), through everything a create does
//! before it writes: reading the request, adding required coverages, rating, the underwriting
//! decision and the quote as the client would see it. Every refusal is a 4xx problem; nothing
//! panics and nothing is a 5xx.
#![no_main]

use lambda_http::http::StatusCode;
use libfuzzer_sys::fuzz_target;
use policy_core::api::quotes::{self, IDEMPOTENCY_HEADER};
use policy_core::api::views::QuoteView;
use policy_core::api::{ApiError, respond};
use policy_core::quoting::assess;
use policy_core::rating::RateTables;
use policy_decision_fuzz::{Envelope, REQUEST_ID, check_answer, check_error};
use time::{Duration, OffsetDateTime};

fuzz_target!(|data: &[u8]| {
    let Ok(tables) = RateTables::builtin() else {
        panic!("the built-in rate tables do not load");
    };
    // 2026-11-28 10:00:00 UTC.
    let Ok(now) = OffsetDateTime::from_unix_timestamp(1_795_860_000) else {
        panic!("not a time");
    };
    let request = Envelope::read(data).request("/api/v1/quotes", IDEMPOTENCY_HEADER);
    let read = match quotes::read_create(&request) {
        Ok(read) => read,
        Err(err) => {
            check_error(err);
            return;
        }
    };
    let request_json = quotes::canonical_json(read.json);
    let assessed = match assess(tables, read.input, now.date()) {
        Ok(assessed) => assessed,
        Err(err) => {
            check_error(ApiError::from(err));
            return;
        }
    };
    let quote = match assessed.quote(
        "Q-2026-0000000000".to_owned(),
        "fuzz",
        now,
        Duration::days(30),
        assessed.rated_on(request_json),
    ) {
        Ok(quote) => quote,
        Err(err) => panic!("no quote from an assessed request: {err}"),
    };
    match QuoteView::new(&quote, now) {
        Ok(view) => {
            check_answer(&respond(StatusCode::CREATED, REQUEST_ID, &view));
        }
        Err(err) => panic!("no view of a quote: {err}"),
    }
});
