//! Lambda glue: reading API Gateway HTTP requests and answering them.
//!
//! Every response goes through [`respond`] or [`problem::ApiError::into_response`], so every
//! answer carries `x-request-id`, and every error is an RFC 9457 `application/problem+json` body.

pub mod bind;
pub mod body;
pub mod calculate_rate;
pub mod cursor;
pub mod health;
pub mod policies;
pub mod problem;
pub mod quotes;
pub mod views;
pub mod warm;

use lambda_http::http::header::{CONTENT_TYPE, HeaderValue};
use lambda_http::http::{HeaderName, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

pub use problem::{ApiError, PROBLEM_TYPE_PREFIX, Problem};

/// The response header that echoes the request id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id that ties a response to its log lines: API Gateway's request id, else the Lambda one.
pub fn request_id(request: &Request) -> String {
    let gateway = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    };
    gateway
        .or_else(|| {
            request
                .lambda_context_ref()
                .map(|ctx| ctx.request_id.clone())
        })
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
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

/// What every handler does once it has an answer: turns an error into its problem response, logs
/// the request, prints its metrics, and the cache's counts where there is a cache.
pub(crate) fn finish(
    function: &'static str,
    route: &'static str,
    request_id: &str,
    path: &str,
    started: std::time::Instant,
    result: Result<Response<Body>, ApiError>,
    cache: Option<&crate::cache::Cache>,
) -> Response<Body> {
    let response = result.unwrap_or_else(|err| err.into_response(request_id, Some(path)));
    crate::telemetry::request_done(
        function,
        route,
        request_id,
        response.status().as_u16(),
        started,
    );
    if let Some(cache) = cache {
        emit_cache_metrics(cache, function);
    }
    response
}

/// Prints the cache's hit and miss counts as CloudWatch Embedded Metric Format lines on stdout,
/// where Lambda sends them to CloudWatch Logs and the metrics are extracted.
pub fn emit_cache_metrics(cache: &crate::cache::Cache, function: &str) {
    for line in cache.take_metrics(function) {
        println!("{line}");
    }
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

/// What follows `base` in `path`, without the separating slash: `""` for the collection itself.
/// Matches wherever `base` occurs, so a stage prefix (`/dev/api/v1/...`) does not matter.
pub fn path_tail<'p>(path: &'p str, base: &str) -> Option<&'p str> {
    let rest = &path[path.find(base)? + base.len()..];
    if rest.is_empty() || rest == "/" {
        Some("")
    } else {
        rest.strip_prefix('/')
    }
}
