//! `POST /api/v1/rates/calculate`: the premium for one rating request, or for a batch (a JSON
//! array of up to [`MAX_BATCH`] requests) with one result or problem per item. Nothing is stored.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::value::RawValue;
use time::{Date, OffsetDateTime};

use super::{Answer, ApiError, Call, Problem, Table, body, request_id, respond};
use crate::caller::Scope;
use crate::rating::{self, RateQuote, RateTables, RatingRequest};
use crate::route;

/// Most requests in one batch.
pub const MAX_BATCH: usize = 100;
/// Largest body accepted: room for a full batch of detailed requests.
pub const MAX_BODY_BYTES: usize = 512 * 1024;

/// What the calculate-rate function holds: the rate tables, parsed once per cold start.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    /// The compiled-in tables.
    pub tables: &'static RateTables,
}

/// The calculate-rate function's routes.
pub static ROUTES: Table<Rates> = Table {
    function: "calculate-rate",
    routes: &[route!(
        POST "/api/v1/rates/calculate",
        Some(Scope::RatesCalculate),
        calculate
    )],
};

#[allow(
    clippy::unused_async,
    reason = "route handlers are async; rating itself never waits"
)]
async fn calculate(rates: Arc<Rates>, call: Call) -> Answer {
    let today = OffsetDateTime::now_utc().date();
    answer(rates.tables, &call.request, today, &call.request_id)
}

/// Answers `request` as of `today` with no router around it: for benchmarks and fuzzing.
pub fn respond_to(tables: &RateTables, request: &Request, today: Date) -> Response<Body> {
    let request_id = request_id(request);
    answer(tables, request, today, &request_id)
        .unwrap_or_else(|err| err.into_response(&request_id, Some(request.uri().path())))
}

/// The rating (or the batch's ratings) for the body of `request`, as of `today`.
fn answer(tables: &RateTables, request: &Request, today: Date, request_id: &str) -> Answer {
    Ok(match rate_body(tables, request, today, request_id)? {
        Rated::One(quote) => respond(StatusCode::OK, request_id, &*quote),
        Rated::Batch(batch) => respond(StatusCode::OK, request_id, &batch),
    })
}

enum Rated<'t> {
    One(Box<RateQuote<'t>>),
    Batch(BatchResponse<'t>),
}

/// The answer to a batch: one entry per item, in order.
#[derive(Debug, Serialize)]
struct BatchResponse<'t> {
    results: Vec<BatchItem<'t>>,
    succeeded: usize,
    failed: usize,
}

#[derive(Debug, Serialize)]
struct BatchItem<'t> {
    index: usize,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate: Option<RateQuote<'t>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<Problem>,
}

fn rate_body<'t>(
    tables: &'t RateTables,
    request: &Request,
    today: Date,
    request_id: &str,
) -> Result<Rated<'t>, ApiError> {
    let json = body::json_bytes(request, MAX_BODY_BYTES)?;
    if json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'[') {
        let input: RatingRequest = body::parse(json)?;
        return Ok(Rated::One(Box::new(rating::rate(tables, &input, today)?)));
    }
    let items: Vec<&RawValue> = body::parse(json)?;
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::InvalidField {
            field: "body".to_owned(),
            detail: format!(
                "a batch holds 1 to {MAX_BATCH} rating requests; found {}",
                items.len()
            ),
        });
    }
    let mut results = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let rated = body::parse::<RatingRequest>(item.get().as_bytes())
            .and_then(|input| Ok(rating::rate(tables, &input, today)?));
        results.push(match rated {
            Ok(quote) => BatchItem {
                index,
                status: 200,
                rate: Some(quote),
                problem: None,
            },
            Err(err) => BatchItem {
                index,
                status: err.status().as_u16(),
                rate: None,
                problem: Some(err.problem(request_id, None)),
            },
        });
    }
    let succeeded = results.iter().filter(|r| r.rate.is_some()).count();
    Ok(Rated::Batch(BatchResponse {
        failed: results.len() - succeeded,
        succeeded,
        results,
    }))
}

#[cfg(test)]
mod tests {
    use lambda_http::http::Method;
    use lambda_http::http::header::CONTENT_TYPE;
    use time::macros::date;

    use super::*;

    fn request(method: Method, body: Body) -> Request {
        let mut request = Request::new(body);
        *request.method_mut() = method;
        request
            .headers_mut()
            .insert(CONTENT_TYPE, "application/json".parse().unwrap());
        request
    }

    fn answer(request: &Request) -> (StatusCode, serde_json::Value) {
        let tables = RateTables::builtin().unwrap();
        let response = respond_to(tables, request, date!(2026 - 11 - 28));
        (
            response.status(),
            serde_json::from_slice(response.body()).unwrap(),
        )
    }

    #[test]
    fn a_body_that_is_not_utf8_is_a_400_problem() {
        let body = Body::Binary(b"{\"state\":\"C\xff\"}".to_vec());
        let (status, problem) = answer(&request(Method::POST, body));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(problem["errors"][0]["field"], "body");
        assert!(
            problem["detail"].as_str().unwrap().contains("UTF-8"),
            "{problem}"
        );
    }

    #[test]
    fn a_base64_encoded_json_body_is_read_like_text() {
        let body = Body::Binary(
            br#"{"state":"CA","policy_type":"auto","coverage":{"liability":500000}}"#.to_vec(),
        );
        let (status, quote) = answer(&request(Method::POST, body));
        assert_eq!(status, StatusCode::OK);
        assert_eq!(quote["total_premium"], "946.15");
    }
}
