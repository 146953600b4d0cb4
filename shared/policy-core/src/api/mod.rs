//! Lambda glue: reading API Gateway HTTP requests and answering them.
//!
//! Each function's routes are a static [`Table`]; [`serve`] runs one behind the telemetry layer.
//! Every response goes through [`respond`] or [`problem::ApiError::into_response`], so every
//! answer carries `x-request-id`, and every error is an RFC 9457 `application/problem+json` body.

pub mod auth;
#[cfg(feature = "aws")]
pub mod bind;
pub mod body;
pub mod calculate_rate;
pub mod cursor;
#[cfg(feature = "aws")]
pub mod health;
pub mod impact;
pub mod policies;
pub mod problem;
pub mod query;
pub mod quotes;
#[cfg(feature = "aws")]
pub mod renewals;
pub mod router;
pub mod transactions;
pub mod views;
#[cfg(feature = "aws")]
pub mod warm;

use lambda_http::http::header::{CONTENT_TYPE, HeaderValue};
use lambda_http::http::{HeaderName, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

pub use crate::telemetry::layer::request_id;
pub use problem::{ApiError, PROBLEM_TYPE_PREFIX, Problem};
pub use router::{Answer, Call, Params, Route, Router, Table, max_concurrency, runtime, serve};

/// The response header that echoes the request id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// A route of any function, without its handler: what the consistency checks read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// The function that serves it.
    pub function: &'static str,
    /// Its method.
    pub method: router::Method,
    /// Its path pattern.
    pub pattern: &'static str,
    /// The scope it needs; `None` for a public route.
    pub scope: Option<crate::caller::Scope>,
    /// Its label in logs and metrics.
    pub label: &'static str,
}

impl<S> Table<S> {
    /// The table's routes, without their handlers.
    pub fn describe(&self) -> Vec<RouteInfo> {
        self.routes
            .iter()
            .map(|route| RouteInfo {
                function: self.function,
                method: route.method.clone(),
                pattern: route.pattern,
                scope: route.scope,
                label: route.label,
            })
            .collect()
    }
}

/// Every HTTP function's routes, function by function.
#[cfg(feature = "aws")]
pub fn all_routes() -> Vec<RouteInfo> {
    [
        calculate_rate::ROUTES.describe(),
        quotes::ROUTES.describe(),
        bind::ROUTES.describe(),
        policies::ROUTES.describe(),
        health::ROUTES.describe(),
        impact::ROUTES.describe(),
        transactions::ROUTES.describe(),
    ]
    .concat()
}

/// A JSON response with the request id header.
pub fn respond<T: Serialize>(status: StatusCode, request_id: &str, body: &T) -> Response<Body> {
    match serde_json::to_vec(body) {
        Ok(bytes) => with_headers(status, "application/json", request_id, bytes),
        Err(err) => ApiError::internal(err).into_response(request_id, None),
    }
}

/// A response whose JSON body is already encoded (e.g. from the cache).
pub fn respond_json(status: StatusCode, request_id: &str, json: &[u8]) -> Response<Body> {
    with_headers(status, "application/json", request_id, json.to_vec())
}

pub(crate) fn with_headers(
    status: StatusCode,
    content_type: &'static str,
    request_id: &str,
    body: Vec<u8>,
) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID_HEADER, id);
    }
    response
}
