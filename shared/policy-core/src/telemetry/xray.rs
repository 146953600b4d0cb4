//! X-Ray traces: where a request spent its time, down to each call.
//!
//! The code marks what a request does with `tracing` spans of the target [`TARGET`]: the
//! invocation ([`invocation`]), each DynamoDB call ([`dynamodb`]), each Redis command
//! ([`redis`]) and the rating step. When the environment names an X-Ray daemon
//! (`AWS_XRAY_DAEMON_ADDRESS`, which Lambda sets for every function with active tracing), [`layer`]
//! turns those spans into OpenTelemetry spans, the OpenTelemetry project's AWS exporter translates
//! them into X-Ray segment documents, and each is sent over UDP to the daemon as its span ends, so
//! nothing is left to flush when the invocation answers.
//!
//! In Lambda the invocation is a subsegment of the function's segment, which Lambda itself records:
//! its parent comes from the invocation's trace header, and the header's sampling decision is kept
//! (an unsampled invocation sends nothing). Without a header (a local run) the invocation is a
//! segment of its own. Spans carry names, operations, table and cache names, the route and the
//! request id: never a key, an item or anything from a request body.
//!
//! The log subscriber never sees these spans ([`TARGET`] is off in [`super::log_filter`]), and
//! without a daemon no layer takes them: their callsites are disabled, so each costs a check of
//! the callsite's cached interest. HTTP requests get their invocation span from the telemetry
//! layer; the scheduled jobs from [`super::traced`]. A span with neither (a call during a
//! function's init) has no parent to hang under and is not sent.

use std::net::{SocketAddr, ToSocketAddrs};

use opentelemetry::trace::{TraceContextExt, TracerProvider};
use opentelemetry_aws::trace::XrayIdGenerator;
use opentelemetry_aws::xray_exporter::daemon_client::XrayDaemonClient;
use opentelemetry_aws::xray_exporter::{SegmentTranslator, XrayExporter};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

pub use super::SPAN_TARGET as TARGET;

/// The variable naming the daemon: `host:port`, or the daemon's own `udp:host:port tcp:host:port`.
pub const DAEMON_ADDRESS: &str = "AWS_XRAY_DAEMON_ADDRESS";

/// The annotation that ties an invocation's trace to its log line and its response
/// (`X-Request-Id`); indexed, so the X-Ray console can search by it.
pub const REQUEST_ID: &str = "request_id";

/// Where the daemon listens, from [`DAEMON_ADDRESS`]'s value: its UDP address.
pub fn daemon_address(value: &str) -> Option<SocketAddr> {
    let udp = value
        .split_whitespace()
        .find_map(|part| part.strip_prefix("udp:"))
        .unwrap_or_else(|| value.trim());
    udp.to_socket_addrs().ok()?.next()
}

/// The exporting layer, when the environment names a daemon; `None` leaves tracing off.
pub fn layer<S>() -> Option<impl Layer<S>>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let address = daemon_address(&std::env::var(DAEMON_ADDRESS).ok()?)?;
    let client = XrayDaemonClient::new(address).ok()?;
    // Every attribute is metadata (the spans carry none that is personal), the request id also an
    // annotation.
    let translator = SegmentTranslator::new()
        .with_indexed_attr(REQUEST_ID.to_owned())
        .metadata_all_attrs();
    let exporter = XrayExporter::new(client).with_translator(translator);
    let service =
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "policy-decision".to_owned());
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .with_id_generator(XrayIdGenerator::default())
        .with_resource(Resource::builder_empty().with_service_name(service).build())
        .build();
    let tracer = provider.tracer("policy-decision");
    Some(
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_tracked_inactivity(false)
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_filter(Targets::new().with_target(TARGET, LevelFilter::TRACE)),
    )
}

/// The span of one invocation: a subsegment of the segment Lambda records when `trace_header`
/// (the invocation's `Lambda-Runtime-Trace-Id`) names one, else a segment of its own.
pub fn invocation(function: &str, request_id: &str, trace_header: Option<&str>) -> tracing::Span {
    let parent =
        trace_header.and_then(opentelemetry_aws::trace::xray_propagator::span_context_from_str);
    let span = if parent.is_some() {
        tracing::info_span!(
            target: TARGET,
            "invocation",
            "otel.name" = function,
            "otel.kind" = "internal",
            "request_id" = request_id,
            "http.route" = tracing::field::Empty,
            "http.response.status_code" = tracing::field::Empty,
        )
    } else {
        tracing::info_span!(
            target: TARGET,
            "invocation",
            "otel.name" = function,
            "otel.kind" = "server",
            "request_id" = request_id,
            "http.route" = tracing::field::Empty,
            "http.response.status_code" = tracing::field::Empty,
        )
    };
    if let Some(parent) = parent {
        let context = opentelemetry::Context::new().with_remote_span_context(parent);
        // Fails only when no exporting layer is installed, where there is nothing to link.
        let _ = span.set_parent(context);
    }
    span
}

/// Records the route and status an invocation answered with on its span.
pub fn answered(span: &tracing::Span, route: &str, status: u16) {
    span.record("http.route", route);
    span.record("http.response.status_code", status);
}

/// The span of one DynamoDB call: `operation` (e.g. `PutItem`) on `table` (the table's name, or the
/// names a transaction writes, comma separated).
pub fn dynamodb(operation: &'static str, table: &str) -> tracing::Span {
    tracing::info_span!(
        target: TARGET,
        "DynamoDB",
        "otel.kind" = "client",
        "rpc.system" = "aws-api",
        "rpc.service" = "DynamoDB",
        "rpc.method" = operation,
        "aws.table.name" = table,
    )
}

/// The span of one Redis command: `command` (e.g. `GET`) for the cache `cache` (e.g. `quote`).
pub fn redis(command: &'static str, cache: &'static str) -> tracing::Span {
    tracing::info_span!(
        target: TARGET,
        "Redis",
        "otel.kind" = "client",
        "db.system.name" = "redis",
        "db.operation.name" = command,
        "cache.name" = cache,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_address_is_read_in_both_of_its_forms() {
        let lambda = daemon_address("169.254.79.129:2000").unwrap();
        assert_eq!(lambda.to_string(), "169.254.79.129:2000");
        let both = daemon_address("tcp:127.0.0.1:2000 udp:127.0.0.2:2001").unwrap();
        assert_eq!(both.to_string(), "127.0.0.2:2001");
        assert!(daemon_address("").is_none());
        assert!(daemon_address("no-port").is_none());
    }
}
