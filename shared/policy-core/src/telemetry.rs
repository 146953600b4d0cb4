//! Logs and metrics shared by every function.
//!
//! Logs go through the Lambda runtime's tracing set-up, which honours `AWS_LAMBDA_LOG_FORMAT=JSON`
//! and `AWS_LAMBDA_LOG_LEVEL` and puts the request id and X-Ray trace id on every line; each
//! request adds one line with its function, route, status, latency and cold-start flag. Metrics are
//! CloudWatch Embedded Metric Format lines on stdout. Nothing from a request body is logged, so no
//! personal data (names, licence numbers, ZIP codes, e-mail addresses) can reach the logs.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Requests and DynamoDB calls slower than this are logged as warnings (the brief's p95 target).
pub const SLOW: Duration = Duration::from_millis(100);

static COLD: AtomicBool = AtomicBool::new(true);
static DYNAMODB_MS: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// Initialises tracing through the Lambda runtime.
pub fn init() {
    lambda_http::tracing::init_default_subscriber();
}

/// True for the first request of this execution environment, false afterwards.
pub fn take_cold_start() -> bool {
    COLD.swap(false, Ordering::Relaxed)
}

fn millis(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// Records one DynamoDB call's latency for the current request's metrics, warning when slow.
pub fn record_dynamodb(operation: &'static str, elapsed: Duration) {
    if elapsed > SLOW {
        tracing::warn!(
            operation,
            elapsed_ms = millis(elapsed),
            "slow DynamoDB call"
        );
    }
    if let Ok(mut calls) = DYNAMODB_MS.lock() {
        calls.push(millis(elapsed));
    }
}

/// Logs the end of a request and prints its EMF metrics line: latency by function, route and
/// status; DynamoDB call latencies; the cold-start flag.
pub fn request_done(function: &str, route: &str, request_id: &str, status: u16, started: Instant) {
    let elapsed = started.elapsed();
    let latency_ms = millis(elapsed);
    let cold_start = take_cold_start();
    let dynamodb = DYNAMODB_MS
        .lock()
        .map(|mut calls| std::mem::take(&mut *calls))
        .unwrap_or_default();
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
    } else {
        tracing::info!(
            function, route, request_id, status, latency_ms, cold_start, "request"
        );
    }
    println!(
        "{}",
        request_metrics(
            function, route, request_id, status, latency_ms, cold_start, &dynamodb
        )
    );
}

/// The EMF line for one request.
pub fn request_metrics(
    function: &str,
    route: &str,
    request_id: &str,
    status: u16,
    latency_ms: u64,
    cold_start: bool,
    dynamodb_ms: &[u64],
) -> String {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut line = String::with_capacity(512);
    let _ = write!(
        line,
        concat!(
            r#"{{"_aws":{{"Timestamp":{},"CloudWatchMetrics":[{{"Namespace":"policy-decision","#,
            r#""Dimensions":[["function","route","status"],["function"]],"Metrics":["#,
            r#"{{"Name":"Latency","Unit":"Milliseconds"}},{{"Name":"ColdStart","Unit":"Count"}},"#,
            r#"{{"Name":"DynamoDbLatency","Unit":"Milliseconds"}},{{"Name":"DynamoDbCalls","Unit":"Count"}}]}}]}},"#,
            r#""function":{},"route":{},"status":"{}","request_id":{},"Latency":{},"ColdStart":{},"#,
            r#""DynamoDbCalls":{},"DynamoDbLatency":{:?}}}"#
        ),
        timestamp,
        serde_json::Value::from(function),
        serde_json::Value::from(route),
        status,
        serde_json::Value::from(request_id),
        latency_ms,
        u8::from(cold_start),
        dynamodb_ms.len(),
        dynamodb_ms,
    );
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_metrics_line_is_valid_emf() {
        let line = request_metrics(
            "list-policies",
            "GET /api/v1/policies",
            "req-1",
            200,
            12,
            true,
            &[3, 4],
        );
        let emf: serde_json::Value = serde_json::from_str(&line).unwrap();
        let directive = &emf["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "policy-decision");
        for dimension in directive["Dimensions"][0].as_array().unwrap() {
            assert!(
                emf.get(dimension.as_str().unwrap()).is_some(),
                "dimension {dimension} has a value"
            );
        }
        for metric in directive["Metrics"].as_array().unwrap() {
            assert!(
                emf.get(metric["Name"].as_str().unwrap()).is_some(),
                "metric {metric} has a value"
            );
        }
        assert_eq!(emf["DynamoDbLatency"], serde_json::json!([3, 4]));
        assert_eq!(
            (emf["Latency"].as_u64(), emf["ColdStart"].as_u64()),
            (Some(12), Some(1))
        );
    }

    #[test]
    fn after_the_first_request_none_is_a_cold_start() {
        let _ = take_cold_start();
        assert!(!take_cold_start());
    }
}
