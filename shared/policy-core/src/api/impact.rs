//! `POST /api/v1/rates/impact`: what a candidate state rate table would do to every policy in force
//! for its state and product, against the table in force today for renewals (see [`crate::book`]).
//!
//! The body is `{"candidate": "<the table file as TOML>"}`. The candidate is validated exactly as a
//! compiled table is; any fault is a 422 naming the key, as `candidate.<key>`. The book is read a
//! page of [`IN_FORCE_PAGE`] policies at a time from the `by_state_product` index, so memory stays
//! bounded; the invocation's deadline bounds the time.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use serde::Deserialize;
use time::OffsetDateTime;

use super::{Answer, ApiError, Call, Table, body, respond};
use crate::caller::Scope;
use crate::quoting::Quoting;
use crate::rating::tables::{Business, TableError, TableSet};
use crate::route;
pub use crate::storage::IN_FORCE_PAGE;

/// Largest body accepted: a rate table is a few kilobytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The rate-impact function's routes.
pub static ROUTES: Table<Quoting> = Table {
    function: "rate-impact",
    routes: &[route!(
        POST "/api/v1/rates/impact",
        Some(Scope::RatesAdmin),
        impact
    )],
};

/// The body: the candidate table's file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImpactRequest {
    /// The candidate state table, as TOML in the format of `rates/<state>/<product>/<version>.toml`.
    candidate: String,
}

/// A candidate that does not parse or breaks a rule: a 422 naming its key.
fn refused(err: &TableError) -> ApiError {
    let field = err
        .key()
        .map_or_else(|| "candidate".to_owned(), |key| format!("candidate.{key}"));
    ApiError::InvalidField {
        detail: err.key().map_or_else(
            || err.detail().to_owned(),
            |key| format!("{key}: {}", err.detail()),
        ),
        field,
    }
}

async fn impact(quoting: Arc<Quoting>, call: Call) -> Answer {
    let today = OffsetDateTime::now_utc().date();
    let json = body::json_bytes(&call.request, MAX_BODY_BYTES)?;
    let ImpactRequest { candidate } = body::parse(json)?;
    let tables = quoting.tables();
    let candidate = tables.candidate(&candidate).map_err(|e| refused(&e))?;
    let (state, product) = (candidate.state, candidate.policy_type);
    let current = tables
        .in_force(state, product, Business::Renewal, today)
        .ok_or_else(|| ApiError::Unprocessable {
            kind: "no-current-table",
            title: "No table in force",
            field: "candidate",
            detail: format!("no {state} {product} table is in force for renewals on {today}"),
        })?;
    let candidate = TableSet::new(tables, &candidate, current.common_index());
    let report = quoting.impact(current, candidate, today).await?;
    Ok(respond(StatusCode::OK, &call.request_id, &report))
}
