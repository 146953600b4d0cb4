//! DynamoDB unreachable: the functions answer 503 problem+json with `Retry-After`, never a 500,
//! and rating (which needs no storage) goes on working.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::sync::Arc;

use e2e::free_port;
use lambda_http::http::Method;
use lambda_http::{Body, Request};
use policy_core::api::quotes;
use policy_core::auth::AuthMode;
use policy_core::cache::{Cache, CacheConfig};
use policy_core::quoting::Quoting;
use policy_core::rating::RateTables;
use policy_core::storage::{DynamoStore, TableNames, client_for};
use serde_json::Value;

async fn quoting_without_dynamodb() -> Quoting {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let names = TableNames {
        policies: "p".into(),
        quotes: "q".into(),
        idempotency: "i".into(),
    };
    let store = DynamoStore::new(client_for(Some(&closed)).await, names);
    let cache = Arc::new(Cache::new(CacheConfig::default()).unwrap());
    Quoting::new(
        RateTables::builtin().unwrap(),
        store,
        time::Duration::days(30),
        cache,
    )
}

async fn call(
    quoting: &Quoting,
    method: Method,
    path: &str,
    body: &str,
) -> (u16, Option<String>, Value) {
    let mut request = Request::new(Body::from(body));
    *request.method_mut() = method;
    *request.uri_mut() = path.parse().unwrap();
    request
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    let response = Box::pin(quotes::handle(quoting, AuthMode::Off, request))
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        response.status().as_u16(),
        retry_after,
        serde_json::from_slice(response.body()).unwrap(),
    )
}

#[tokio::test]
async fn unreachable_dynamodb_is_a_503_with_retry_after_not_a_500() {
    let quoting = quoting_without_dynamodb().await;
    let body = r#"{"policy_type":"auto","state":"CA","coverage_requested":{"liability":500000}}"#;
    for (method, path, body) in [
        (Method::POST, "/api/v1/quotes", body),
        (Method::GET, "/api/v1/quotes/Q-2026-0000000000", ""),
    ] {
        let (status, retry_after, problem) = call(&quoting, method, path, body).await;
        assert_eq!(status, 503, "{path}: {problem:#}");
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert_eq!(
            problem["type"],
            "urn:policy-decision:problem:service-unavailable"
        );
        assert!(
            !problem.to_string().contains("127.0.0.1"),
            "no internal address in {problem}"
        );
    }
}

#[tokio::test]
async fn bad_input_is_still_a_422_when_dynamodb_is_down() {
    let quoting = quoting_without_dynamodb().await;
    let (status, _, problem) = call(
        &quoting,
        Method::POST,
        "/api/v1/quotes",
        r#"{"policy_type":"auto","state":"ZZ"}"#,
    )
    .await;
    assert_eq!(status, 422, "{problem:#}");
    assert_eq!(problem["errors"][0]["field"], "state");
}
