//! The tower layer around every function's router: one place that names the request, times it,
//! logs it and prints its metrics.

use std::convert::Infallible;
use std::future::Future;
use std::io::Write as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use lambda_http::request::RequestContext;
use lambda_http::tower::{Layer, Service};
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::Instrument;

use super::emf::{self, CacheMetrics, RequestMetrics};
use super::{Record, SLOW, millis, recording};

/// A boxed, sendable future: what the layer and the router hand to the runtime.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What the way in knows about a request before any route sees it; the layer puts it in the
/// request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The id that ties the response to its log lines.
    pub request_id: String,
    /// When the function received the request.
    pub started: Instant,
    /// Whether this is the first request of the execution environment.
    pub cold_start: bool,
}

/// The route label a response was made under; the router puts it in the response's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteLabel(pub &'static str);

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

/// Times, logs and counts every request of one function. Build one per execution environment:
/// its first request is the cold one.
#[derive(Debug, Clone)]
pub struct Telemetry {
    function: &'static str,
    cold: Arc<AtomicBool>,
}

impl Telemetry {
    /// The layer for `function` (its name, as in metrics and logs).
    pub fn new(function: &'static str) -> Telemetry {
        Telemetry {
            function,
            cold: Arc::new(AtomicBool::new(true)),
        }
    }
}

impl<S> Layer<S> for Telemetry {
    type Service = Timed<S>;

    fn layer(&self, inner: S) -> Timed<S> {
        Timed {
            inner,
            telemetry: self.clone(),
        }
    }
}

/// A service wrapped by [`Telemetry`].
#[derive(Debug, Clone)]
pub struct Timed<S> {
    inner: S,
    telemetry: Telemetry,
}

impl<S> Service<Request> for Timed<S>
where
    S: Service<Request, Response = Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let invocation = Invocation {
            request_id: request_id(&request),
            started: Instant::now(),
            cold_start: self.telemetry.cold.swap(false, Ordering::Relaxed),
        };
        let function = self.telemetry.function;
        let span = trace_span(function, &invocation.request_id, &request);
        let trace_id = request
            .lambda_context_ref()
            .and_then(|context| context.xray_trace_id.clone());
        request.extensions_mut().insert(invocation.clone());
        let record = Record::default();
        let answer = recording(record.clone(), self.inner.call(request)).instrument(span.clone());
        Box::pin(async move {
            let response = match answer.await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let route = report(function, &invocation, trace_id, &response, &record);
            #[cfg(feature = "xray")]
            super::xray::answered(&span, route, response.status().as_u16());
            #[cfg(not(feature = "xray"))]
            let _ = (span, route);
            Ok(response)
        })
    }
}

/// The invocation's span for X-Ray ([`super::xray`]), under the trace Lambda handed over with it.
fn trace_span(function: &str, request_id: &str, request: &Request) -> tracing::Span {
    #[cfg(feature = "xray")]
    {
        let header = request
            .lambda_context_ref()
            .and_then(|context| context.xray_trace_id.as_deref());
        super::xray::invocation(function, request_id, header)
    }
    #[cfg(not(feature = "xray"))]
    {
        let _ = (function, request_id, request);
        tracing::Span::none()
    }
}

/// Prints the request's metric lines, all in one write: the request's line (its function, route,
/// status, latency, cold start, DynamoDB calls, request and trace ids) is its log line too. A slow
/// request also logs a warning. Returns the route label.
fn report(
    function: &str,
    invocation: &Invocation,
    xray_trace_id: Option<String>,
    response: &Response<Body>,
    record: &Record,
) -> &'static str {
    let elapsed = invocation.started.elapsed();
    let recorded = std::mem::take(&mut *record.lock().unwrap_or_else(PoisonError::into_inner));
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or("unrouted", |label| label.0);
    let status = response.status().as_u16();
    let latency_ms = millis(elapsed);
    let request_id = invocation.request_id.as_str();
    let cold_start = invocation.cold_start;
    if elapsed > SLOW {
        tracing::warn!(
            function,
            route,
            request_id,
            status,
            latency_ms,
            cold_start,
            "slow request"
        );
    }
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut lines = String::new();
    for (lookup, hits, misses) in recorded.cache {
        let metrics = CacheMetrics {
            function: function.to_owned(),
            cache: lookup.cache.to_owned(),
            level: lookup.level.to_owned(),
            hits,
            misses,
        };
        lines.push_str(&emf::line(metrics, timestamp));
        lines.push('\n');
    }
    let metrics = RequestMetrics {
        function: function.to_owned(),
        route: route.to_owned(),
        status: status.to_string(),
        request_id: request_id.to_owned(),
        xray_trace_id,
        latency_ms,
        cold_start: u8::from(cold_start),
        dynamodb_calls: u64::try_from(recorded.dynamodb_ms.len()).unwrap_or(u64::MAX),
        dynamodb_ms: recorded.dynamodb_ms,
        cache_errors: recorded.cache_errors,
        operator_errors: recorded.operator_errors,
    };
    lines.push_str(&emf::line(metrics, timestamp));
    lines.push('\n');
    // One write for all of them: concurrent requests' lines never interleave, and each request
    // costs the environment one system call for its output.
    let _ = std::io::stdout().lock().write_all(lines.as_bytes());
    route
}
