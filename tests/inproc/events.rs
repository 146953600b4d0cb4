//! Every sample event under `events/` is fed to the handler of its function, in process, with
//! authorization on: the API events carry the claims API Gateway's JWT authorizer passes on.

use std::collections::BTreeMap;
use std::fs;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use policy_core::api::auth::AuthMode;
use policy_core::api::{renewals, warm};
use serde_json::Value;

use crate::support::{Functions, quoting};

/// What each event must produce: the HTTP status, and for batches the per-item statuses.
fn expectations() -> BTreeMap<&'static str, (u16, Option<Vec<u16>>)> {
    BTreeMap::from([
        ("calculate-rate/brief.json", (200, None)),
        ("calculate-rate/detailed-auto.json", (200, None)),
        ("calculate-rate/home.json", (200, None)),
        (
            "calculate-rate/batch.json",
            (200, Some(vec![200, 422, 200])),
        ),
        ("calculate-rate/invalid.json", (422, None)),
        ("calculate-rate/tables.json", (200, None)),
        ("list-policies/replay-unknown.json", (404, None)),
        ("create-quote/replay-unknown.json", (404, None)),
        ("rate-impact/impact.json", (200, None)),
        ("rate-impact/invalid.json", (422, None)),
        ("list-policies/list.json", (200, None)),
        ("list-policies/get-unknown.json", (404, None)),
        ("create-quote/create.json", (201, None)),
        ("create-quote/decide-unknown.json", (404, None)),
        ("create-quote/get-unknown.json", (404, None)),
        ("create-quote/not-utf8.json", (400, None)),
        ("create-quote/queue.json", (200, None)),
        ("bind-quote/bind.json", (404, None)),
        ("bind-quote/not-utf8.json", (400, None)),
        ("warm-cache/scheduled.json", (200, None)),
        ("renew-policies/scheduled.json", (200, None)),
        ("policy-transactions/endorse-unknown.json", (404, None)),
        ("policy-transactions/cancel-invalid.json", (422, None)),
        ("policy-transactions/reinstate-unknown.json", (404, None)),
        ("policy-transactions/renew-unknown.json", (404, None)),
        ("list-policies/transactions-unknown.json", (404, None)),
        ("health/shallow.json", (200, None)),
        ("health/deep.json", (200, None)),
    ])
}

fn event_files() -> Vec<String> {
    let dir = e2e::events_dir();
    let mut files = Vec::new();
    for function in fs::read_dir(&dir).unwrap() {
        let function = function.unwrap();
        for event in fs::read_dir(function.path()).unwrap() {
            let name = event.unwrap().file_name().into_string().unwrap();
            files.push(format!(
                "{}/{name}",
                function.file_name().into_string().unwrap()
            ));
        }
    }
    files.sort();
    files
}

async fn invoke(functions: &Functions, file: &str, text: &str) -> (u16, Value, Option<String>) {
    let function = file.split('/').next().unwrap();
    if function == "warm-cache" {
        let event: EventBridgeEvent = serde_json::from_str(text).unwrap();
        let mut context = Context::default();
        "invoke-1".clone_into(&mut context.request_id);
        let report = warm::handle(&quoting().await, None, LambdaEvent::new(event, context))
            .await
            .unwrap();
        assert!(report.warmed >= 33 && report.failed == 0, "{report:?}");
        return (
            200,
            serde_json::to_value(report).unwrap(),
            Some("invoke-1".to_owned()),
        );
    }
    if function == "renew-policies" {
        let event: EventBridgeEvent = serde_json::from_str(text).unwrap();
        let mut context = Context::default();
        "invoke-2".clone_into(&mut context.request_id);
        let report = renewals::handle(&quoting().await, LambdaEvent::new(event, context))
            .await
            .unwrap();
        assert!(report.run.failed.is_empty(), "{report:?}");
        return (
            200,
            serde_json::to_value(report).unwrap(),
            Some("invoke-2".to_owned()),
        );
    }
    let request = lambda_http::request::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(
        Functions::serving(&request),
        function,
        "{file}: routed to its own function"
    );
    let reply = functions.send(request).await;
    let request_id = reply.header("x-request-id").map(str::to_owned);
    (reply.status, reply.body, request_id)
}

#[tokio::test]
async fn every_event_is_used_and_gets_its_expected_answer() {
    let functions = Functions::new(AuthMode::Jwt).await;
    let expectations = expectations();
    let files = event_files();
    let expected: Vec<_> = expectations.keys().map(|k| (*k).to_owned()).collect();
    assert_eq!(
        files, expected,
        "every file under events/ needs an expectation here"
    );

    for (file, (status, items)) in expectations {
        let text = fs::read_to_string(e2e::events_dir().join(file)).unwrap();
        let event: Value = serde_json::from_str(&text).unwrap();
        let (got, body, request_id) = Box::pin(invoke(&functions, file, &text)).await;
        assert_eq!(got, status, "{file}: {body:#}");
        if let Some(id) = event["requestContext"]["requestId"].as_str() {
            assert_eq!(
                request_id.as_deref(),
                Some(id),
                "{file}: the API Gateway request id is echoed"
            );
        }
        if status >= 400 {
            assert_eq!(body["status"], status, "{file}: a problem document");
        }
        // A body that is not UTF-8 reaches a function base64-encoded; it is the client's error.
        if file.ends_with("not-utf8.json") {
            assert_eq!(body["errors"][0]["field"], "body", "{file}: {body:#}");
        }
        // The brief's quote body names no drivers, vehicle or ZIP code: it is quoted, and referred.
        if file == "create-quote/create.json" {
            assert_eq!(body["decision"]["outcome"], "referred", "{body:#}");
            assert!(
                body["decision"]["rules"]
                    .as_array()
                    .is_some_and(|rules| !rules.is_empty()),
                "{body:#}"
            );
        }
        if file.starts_with("health/") {
            assert_eq!(body["status"], "ok", "{file}: {body:#}");
            assert_eq!(
                body["checks"].is_object(),
                file.ends_with("deep.json"),
                "{file}: {body:#}"
            );
        }
        if let Some(items) = items {
            let statuses: Vec<_> = body["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["status"].as_u64().unwrap())
                .collect();
            assert_eq!(
                statuses,
                items.iter().map(|&s| u64::from(s)).collect::<Vec<_>>(),
                "{file}"
            );
        }
    }
}
