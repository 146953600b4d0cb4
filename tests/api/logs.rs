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
        if !lines.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    // Then one line, in CloudWatch's Embedded Metric Format, is the request's log line: its
    // function, route, status, latency, cold start and DynamoDB calls as metrics and dimensions,
    // and its request and X-Ray trace ids
    let emf: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
    let request = emf
        .iter()
        .find(|l| l.get("Latency").is_some())
        .expect("the request's EMF line");
    assert_eq!(
        request["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "policy-decision"
    );
    assert_eq!(
        (
            request["function"].as_str(),
            request["route"].as_str(),
            request["status"].as_str()
        ),
        (
            Some("create-quote"),
            Some("POST /api/v1/quotes"),
            Some("201")
        )
    );
    assert_eq!(request["request_id"], request_id.as_str());
    assert!(
        request["Latency"].is_u64()
            && request["ColdStart"].is_u64()
            && request["DynamoDbCalls"].as_u64() >= Some(1),
        "{request}"
    );
    assert!(
        request["xray_trace_id"]
            .as_str()
            .is_some_and(|t| t.starts_with("Root=")),
        "{request}"
    );
    // And no other line is written for it unless it is slow
    assert!(
        lines
            .iter()
            .all(|l| l.get("_aws").is_some() || l["level"] == "WARN"),
        "{lines:#?}"
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

/// The request's EMF line, once the function has written it.
fn metrics_line(request_id: &str) -> Value {
    for _ in 0..50 {
        if let Some(line) = lines_with(request_id)
            .into_iter()
            .find(|l| l.get("Latency").is_some())
        {
            return line;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no metrics line for {request_id}");
}

#[test]
fn a_quote_made_then_bound_costs_one_dynamodb_call_each() {
    // Given an application that is accepted, quoted without an Idempotency-Key
    let body = e2e::complete_auto(json!({"policy_type": "auto", "state": "TX",
                                         "coverage": {"liability": 300_000}}));
    let made = send_with(
        "POST",
        "/api/v1/quotes",
        Some("application/json"),
        &[],
        Some(serde_json::to_vec(&body).unwrap()),
    );
    assert_eq!(made.status, 201, "{:#}", made.json);
    assert_eq!(
        made.json["decision"]["outcome"], "accepted",
        "{:#}",
        made.json
    );
    let quote_id = made.json["quote_id"].as_str().unwrap();

    // When it is bound
    let bound = send_with(
        "POST",
        &format!("/api/v1/quotes/{quote_id}/bind"),
        Some("application/json"),
        &[],
        Some(b"{}".to_vec()),
    );
    assert_eq!(bound.status, 201, "{:#}", bound.json);

    // Then the quote was one conditional PutItem, and the bind one transaction: the quote the
    // create wrote through to Redis spared the bind its read
    for (reply, route) in [
        (&made, "POST /api/v1/quotes"),
        (&bound, "POST /api/v1/quotes/{quote_id}/bind"),
    ] {
        let line = metrics_line(reply.request_id.as_deref().unwrap());
        assert_eq!(line["route"], route, "{line}");
        assert_eq!(line["DynamoDbCalls"], 1, "{line}");
    }
}
