//! `POST /api/v1/rates/calculate`: the premium for one rating request, or for a batch (a JSON
//! array of up to [`MAX_BATCH`] requests) with one result or problem per item. Nothing is stored.
//!
//! `GET /api/v1/rates/tables`: every version of the compiled rate tables, with its dates and hash,
//! and which is in force today, for new business and for renewals.
//!
//! A request is priced as a quote is ([`quoting::price`]): coverages the state requires that it
//! leaves out are added at their minimum limits and listed in `added_coverages`, so one body has
//! one price on both routes.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::value::RawValue;
use time::{Date, OffsetDateTime};

use super::query::{parse_with, single_params};
use super::{Answer, ApiError, Call, Problem, Table, body, request_id, respond};
use crate::caller::Scope;
use crate::domain::{CoverageKind, PolicyType, State};
use crate::quoting::{self, Priced};
use crate::rating::tables::{Business, Effective, TableSet};
use crate::rating::{RateQuote, RateTables, RatingRequest};
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
    routes: &[
        route!(
            POST "/api/v1/rates/calculate",
            Some(Scope::RatesCalculate),
            calculate
        ),
        route!(
            GET "/api/v1/rates/tables",
            Some(Scope::RatesCalculate),
            list_tables
        ),
    ],
};

#[allow(
    clippy::unused_async,
    reason = "route handlers are async; listing the tables never waits"
)]
async fn list_tables(rates: Arc<Rates>, call: Call) -> Answer {
    let today = OffsetDateTime::now_utc().date();
    let params = single_params(&call.request, &["state", "policy_type"])?;
    let state: Option<State> = parse_with(&params, "state")?;
    let policy_type: Option<PolicyType> = parse_with(&params, "policy_type")?;
    let listing = Listing::of(rates.tables, today, state, policy_type);
    Ok(respond(StatusCode::OK, &call.request_id, &listing))
}

/// Whether a version is the one in force today, for each kind of business.
#[derive(Debug, Serialize)]
struct InForceToday {
    new_business: bool,
    renewal: bool,
}

/// A version of the common table.
#[derive(Debug, Serialize)]
struct CommonVersion<'t> {
    version: &'t str,
    effective: Effective,
    in_force_today: InForceToday,
}

/// A state table version's identity beside one common table version.
#[derive(Debug, Serialize)]
struct Paired<'t> {
    common: &'t str,
    rate_table_version: &'t str,
    rate_table_sha256: &'t str,
}

/// A version of a state table.
#[derive(Debug, Serialize)]
struct StateVersion<'t> {
    version: &'t str,
    effective: Effective,
    in_force_today: InForceToday,
    /// With each common table version.
    identities: Vec<Paired<'t>>,
}

/// The tables in force today for a market, by kind of business.
#[derive(Debug, Serialize)]
struct Current<'t> {
    #[serde(skip_serializing_if = "Option::is_none")]
    new_business: Option<&'t str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    renewal: Option<&'t str>,
}

/// The versions of one state's table for one product.
#[derive(Debug, Serialize)]
struct Market<'t> {
    state: State,
    policy_type: PolicyType,
    in_force_today: Current<'t>,
    versions: Vec<StateVersion<'t>>,
}

/// `GET /api/v1/rates/tables`.
#[derive(Debug, Serialize)]
struct Listing<'t> {
    #[serde(with = "crate::rating::request::date_format")]
    as_of: Date,
    common: Vec<CommonVersion<'t>>,
    tables: Vec<Market<'t>>,
}

impl<'t> Listing<'t> {
    /// The tables as of `today`, for one state and product where given.
    fn of(
        tables: &'t RateTables,
        today: Date,
        state: Option<State>,
        policy_type: Option<PolicyType>,
    ) -> Listing<'t> {
        let now = |business| {
            tables
                .commons()
                .iter()
                .rposition(|c| c.effective.date(business) <= today)
        };
        let (common_nb, common_renewal) = (now(Business::NewBusiness), now(Business::Renewal));
        let common = tables
            .commons()
            .iter()
            .enumerate()
            .map(|(i, c)| CommonVersion {
                version: &c.version,
                effective: c.effective,
                in_force_today: InForceToday {
                    new_business: common_nb == Some(i),
                    renewal: common_renewal == Some(i),
                },
            })
            .collect();
        let mut markets = Vec::new();
        for &s in State::ALL
            .iter()
            .filter(|&&s| state.is_none_or(|want| want == s))
        {
            for product in PolicyType::ALL
                .into_iter()
                .filter(|&p| policy_type.is_none_or(|want| want == p))
            {
                let versions = tables.versions(s, product);
                if versions.is_empty() {
                    continue;
                }
                let in_force = |business| tables.in_force(s, product, business, today);
                let (nb, renewal) = (in_force(Business::NewBusiness), in_force(Business::Renewal));
                let is = |set: Option<TableSet<'_>>, table| {
                    set.is_some_and(|set| std::ptr::eq(set.table, table))
                };
                markets.push(Market {
                    state: s,
                    policy_type: product,
                    in_force_today: Current {
                        new_business: nb.map(|set| set.identity.version.as_str()),
                        renewal: renewal.map(|set| set.identity.version.as_str()),
                    },
                    versions: versions
                        .iter()
                        .map(|table| StateVersion {
                            version: &table.label,
                            effective: table.effective,
                            in_force_today: InForceToday {
                                new_business: is(nb, table),
                                renewal: is(renewal, table),
                            },
                            identities: tables
                                .commons()
                                .iter()
                                .enumerate()
                                .map(|(i, common)| {
                                    let identity = TableSet::new(tables, table, i).identity;
                                    Paired {
                                        common: &common.version,
                                        rate_table_version: &identity.version,
                                        rate_table_sha256: &identity.sha256,
                                    }
                                })
                                .collect(),
                        })
                        .collect(),
                });
            }
        }
        Listing {
            as_of: today,
            common,
            tables: markets,
        }
    }
}

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
        Rated::One(rate) => respond(StatusCode::OK, request_id, &*rate),
        Rated::Batch(batch) => respond(StatusCode::OK, request_id, &batch),
    })
}

enum Rated<'t> {
    One(Box<Rate<'t>>),
    Batch(BatchResponse<'t>),
}

/// One rating: the premium with its breakdown, and the required coverages that were added.
#[derive(Debug, Serialize)]
struct Rate<'t> {
    #[serde(flatten)]
    rated: RateQuote<'t>,
    added_coverages: Vec<CoverageKind>,
}

impl<'t> From<Priced<'t>> for Rate<'t> {
    fn from(priced: Priced<'t>) -> Rate<'t> {
        Rate {
            rated: priced.rated,
            added_coverages: priced.added_coverages,
        }
    }
}

/// Prices one rating request read from `json`, explained in dollars if `explain`.
fn price<'t>(
    tables: &'t RateTables,
    json: &[u8],
    today: Date,
    explain: bool,
) -> Result<Rate<'t>, ApiError> {
    let input: RatingRequest = body::parse(json)?;
    let priced = quoting::price(tables, input, today)?;
    Ok(if explain { priced.explained() } else { priced }.into())
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
    rate: Option<Rate<'t>>,
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
        return Ok(Rated::One(Box::new(price(tables, json, today, true)?)));
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
        // A batch's items are not explained: an explanation costs up to a few milliseconds, and a
        // batch of them would be a cheap way to make a function work hard.
        results.push(match price(tables, item.get().as_bytes(), today, false) {
            Ok(rate) => BatchItem {
                index,
                status: 200,
                rate: Some(rate),
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
        assert_eq!(quote["added_coverages"], serde_json::json!([]));
    }

    #[test]
    fn coverages_the_state_requires_are_added_and_listed_as_a_quote_adds_them() {
        // Given a New York auto body with liability only (NY requires uninsured motorist and PIP)
        let json = r#"{"state":"NY","policy_type":"auto","coverage":{"liability":500000}}"#;

        // When it is rated, alone and in a batch
        let (status, rate) = answer(&request(Method::POST, Body::from(json)));
        let (_, batch) = answer(&request(Method::POST, Body::from(format!("[{json}]"))));

        // Then both add the same coverages at the state minimum and price it as a quote does
        assert_eq!(status, StatusCode::OK, "{rate}");
        let added = serde_json::json!(["uninsured_motorist", "pip"]);
        assert_eq!(rate["added_coverages"], added);
        assert_eq!(batch["results"][0]["rate"]["added_coverages"], added);
        let lines: Vec<_> = rate["coverages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["coverage"].clone(), l["limit"].clone()))
            .collect();
        assert_eq!(
            lines,
            [
                ("liability".into(), 500_000.into()),
                ("uninsured_motorist".into(), 50_000.into()),
                ("pip".into(), 50_000.into())
            ]
        );
        let tables = RateTables::builtin().unwrap();
        let assessed = quoting::assess(
            tables,
            serde_json::from_str(json).unwrap(),
            date!(2026 - 11 - 28),
        )
        .unwrap();
        assert_eq!(
            rate["total_premium"],
            assessed.rated.total_premium.to_string()
        );
        assert_eq!(
            batch["results"][0]["rate"]["total_premium"],
            rate["total_premium"]
        );
    }
}
