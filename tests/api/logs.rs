use std::time::Duration;

use e2e::{send_with, unique};
use serde_json::{Value, json};

/// Lines of the functions' output (the stack's `cargo lambda watch` log) that mention `needle`.
fn lines_with(needle: &str) -> Vec<Value> {
    let log = std::env::var("STACK_LOG").expect("make test sets STACK_LOG");
    let text = std::fs::read_to_string(log).unwrap();
    text.lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn a_request_logs_its_context_and_metrics_and_no_personal_data() {
    // Given a quote request carrying a ZIP code and driver details
    let body = json!({"policy_type": "auto", "state": "CA", "coverage": {"liability": 300_000},
                      "zip_code": "90210", "drivers": [{"age": 47, "years_licensed": 29}]});
    let reply = send_with(
        "POST",
        "/api/v1/quotes",
        Some("application/json"),
        &[("idempotency-key", &unique("logs"))],
        Some(serde_json::to_vec(&body).unwrap()),
    );
    assert_eq!(reply.status, 201, "{:#}", reply.json);
    let request_id = reply.request_id.unwrap();

    // When its log lines have been written
    let mut lines = Vec::new();
    for _ in 0..50 {
        lines = lines_with(&request_id);
        if lines.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    // Then one JSON log line carries the request and trace ids, function, route, status and cold start
    let log = lines
        .iter()
        .find(|l| l["fields"]["message"] == "request")
        .expect("a request log line");
    assert_eq!(log["level"], "INFO");
    let fields = &log["fields"];
    assert_eq!(
        (fields["function"].as_str(), fields["route"].as_str()),
        (Some("create-quote"), Some("POST /api/v1/quotes"))
    );
    assert_eq!(fields["status"], 201);
    assert!(
        fields["cold_start"].is_boolean() && fields["latency_ms"].is_u64(),
        "{log}"
    );
    assert!(
        log["span"]["requestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{log}"
    );
    assert!(
        log["span"]["xrayTraceId"]
            .as_str()
            .is_some_and(|t| t.starts_with("Root=")),
        "{log}"
    );

    // And one EMF line carries its latency, DynamoDB calls and dimensions
    let emf = lines
        .iter()
        .find(|l| l.get("_aws").is_some())
        .expect("an EMF line");
    assert_eq!(
        emf["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "policy-decision"
    );
    assert_eq!(
        (emf["function"].as_str(), emf["status"].as_str()),
        (Some("create-quote"), Some("201"))
    );
    assert!(
        emf["Latency"].is_u64() && emf["DynamoDbCalls"].as_u64() >= Some(1),
        "{emf}"
    );

    // And no line anywhere holds the request's personal data. The ZIP code is looked for as a
    // value of its own: the digits alone also turn up inside random hexadecimal trace ids.
    let log = std::fs::read_to_string(std::env::var("STACK_LOG").unwrap()).unwrap();
    assert!(!log.contains("zip_code") && !log.contains("years_licensed"));
    assert!(
        !["\"90210\"", ":90210", "=90210", " 90210"]
            .iter()
            .any(|zip| log.contains(zip))
    );
}
