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

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_http::http::header::{CONTENT_TYPE, HeaderValue};
use lambda_http::http::{HeaderName, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use lambda_runtime::LambdaEvent;
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

/// The answer of a scheduled job that a later release fills: a 501 problem document as the
/// invocation's result, so a manual invoke shows plainly that nothing was done.
pub fn not_implemented_job(job: &'static str, event: &LambdaEvent<EventBridgeEvent>) -> Problem {
    tracing::warn!(request_id = %event.context.request_id, job, "scheduled job is not implemented");
    ApiError::NotImplemented { endpoint: job }.problem(&event.context.request_id, None)
}
