//! `POST /api/v1/rates/impact`: what a candidate state rate table would do to every policy in force
//! for its state and product, against the table in force today for renewals (see [`crate::book`]).
//!
//! The body is `{"candidate": "<the table file as TOML>"}`. The candidate is validated exactly as a
//! compiled table is; any fault is a 422 naming the key, as `candidate.<key>`. The book is read a
//! page of [`IN_FORCE_PAGE`] policies at a time from the `by_state_product` index, so memory stays
//! bounded; the invocation's deadline bounds the time.

use lambda_http::Request;
use serde::Deserialize;

#[cfg(feature = "aws")]
pub use self::handlers::ROUTES;
use super::{ApiError, body};
use crate::rating::tables::{RateTable, RateTables, TableError};
#[cfg(feature = "aws")]
pub use crate::storage::IN_FORCE_PAGE;

/// Largest body accepted: a rate table is a few kilobytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

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

/// The candidate table in the body of `request`, validated against `tables`: its state and product
/// must be written there. A body or candidate at fault is a 4xx naming the field.
pub fn read_candidate(request: &Request, tables: &RateTables) -> Result<RateTable, ApiError> {
    let json = body::json_bytes(request, MAX_BODY_BYTES)?;
    let ImpactRequest { candidate } = body::parse(json)?;
    tables.candidate(&candidate).map_err(|e| refused(&e))
}

/// The route and its handler, over the quoting service.
#[cfg(feature = "aws")]
mod handlers {
    use std::sync::Arc;

    use lambda_http::http::StatusCode;
    use time::OffsetDateTime;

    use super::super::{Answer, ApiError, Call, Table, respond};
    use super::read_candidate;
    use crate::caller::Scope;
    use crate::quoting::Quoting;
    use crate::rating::tables::{Business, TableSet};
    use crate::route;

    /// The rate-impact function's routes.
    pub static ROUTES: Table<Quoting> = Table {
        function: "rate-impact",
        routes: &[route!(
            POST "/api/v1/rates/impact",
            Some(Scope::RatesAdmin),
            impact
        )],
    };

    async fn impact(quoting: Arc<Quoting>, call: Call) -> Answer {
        let today = OffsetDateTime::now_utc().date();
        let tables = quoting.tables();
        let candidate = read_candidate(&call.request, tables)?;
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
}
