//! The health endpoint: shallow and deep over HTTP, and the degraded and down states against
//! dependencies that really stop answering.

use std::sync::Arc;
use std::time::Duration;

use e2e::{Redis, assert_problem, free_port, gateway_request, get, settings};
use policy_core::api::auth::AuthMode;
use policy_core::api::health::{self, Health, Status};
use policy_core::rating::RateTables;
use policy_core::storage::client_for;
use serde_json::Value;

use crate::support::dispatch;

async fn health_with(dynamodb: Option<&str>, cache: Option<&str>) -> Arc<Health> {
    let settings = settings();
    let endpoint = dynamodb.or(settings.dynamodb_endpoint.as_deref());
    let client = client_for(endpoint).await;
    let table = settings.policies_table().unwrap().to_owned();
    // Each check runs afresh unless a test asks for them to be kept.
    Arc::new(
        Health::new(
            RateTables::builtin().unwrap(),
            client,
            table,
            cache,
            None,
            "test",
        )
        .unwrap()
        .checks_kept_for(Duration::ZERO),
    )
}

async fn call(health: &Arc<Health>, query: &str) -> (u16, String, Value) {
    let request = gateway_request(None, "GET", &format!("/api/v1/health{query}"), "", None);
    let reply = dispatch(&health::ROUTES, health, AuthMode::Jwt, request).await;
    let content_type = reply.header("content-type").unwrap().to_owned();
    (reply.status, content_type, reply.body)
}

#[test]
fn shallow_health_answers_without_checks_and_deep_checks_both() {
    let shallow = get("/api/v1/health");
    assert_eq!(shallow.status, 200, "{:#}", shallow.json);
    assert_eq!(shallow.json["status"], "ok");
    assert!(
        shallow.json.get("checks").is_none(),
        "shallow touches no dependency"
    );
    assert_eq!(shallow.json["rate_table_version"], "common-2026.11.0");
    assert!(
        shallow.json["revision"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    assert_eq!(
        get("/api/v1/health").json["cold_start"],
        false,
        "only the first call is a cold start"
    );

    let deep = get("/api/v1/health?deep=true");
    assert_eq!(deep.status, 200, "{:#}", deep.json);
    assert_eq!(deep.json["status"], "ok");
    assert_eq!(deep.json["checks"]["dynamodb"]["status"], "ok");
    assert_eq!(deep.json["checks"]["cache"]["status"], "ok");
    assert!(deep.json["checks"]["dynamodb"]["latency_ms"].is_u64());
    assert_problem(&get("/api/v1/health?deep=maybe"), 422, "deep");
    assert_problem(&get("/api/v1/health?verbose=1"), 422, "verbose");
}

#[tokio::test]
async fn a_stopped_cache_is_degraded_with_200() {
    // Given a cache that answers
    let mut redis = Redis::start();
    let health = health_with(None, Some(&redis.url())).await;
    assert_eq!(health.report(true, false).await.status, Status::Ok);

    // When it stops
    redis.stop();

    // Then health is degraded but still 200, naming the cache and nothing internal
    let (status, _, body) = call(&health, "?deep=true").await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["cache"]["status"], "down");
    assert_eq!(body["checks"]["dynamodb"]["status"], "ok");
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "no hostnames in the body: {body}"
    );
}

#[tokio::test]
async fn unreachable_dynamodb_is_down_with_a_503_problem() {
    // Given DynamoDB at an address where nothing listens
    let closed = format!("http://127.0.0.1:{}", free_port());
    let redis = Redis::start();
    let health = health_with(Some(&closed), Some(&redis.url())).await;

    let (status, content_type, body) = call(&health, "?deep=true").await;

    assert_eq!(status, 503, "{body:#}");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["type"], "urn:policy-decision:problem:dependency-down");
    assert_eq!(body["health"]["status"], "down");
    assert_eq!(body["health"]["checks"]["dynamodb"]["status"], "down");
    assert_eq!(body["health"]["checks"]["cache"]["status"], "ok");
    assert!(
        !body.to_string().contains("127.0.0.1") && !body.to_string().contains("arn:"),
        "{body}"
    );

    // And the shallow check still answers 200: it touches no dependency
    let (status, _, body) = call(&health, "").await;
    assert_eq!((status, body["status"].clone()), (200, Value::from("ok")));
}

#[tokio::test]
async fn deep_checks_are_kept_briefly_and_reuse_one_connection() {
    // Given deep health that keeps its checks for 300 ms, over a cache that answers
    let mut redis = Redis::start();
    let url = redis.url();
    let health = Arc::new(
        Arc::try_unwrap(health_with(None, Some(&url)).await)
            .unwrap()
            .checks_kept_for(Duration::from_millis(300)),
    );
    let (_, _, first) = call(&health, "?deep=true").await;
    assert_eq!(first["checks"]["cache"]["status"], "ok", "{first:#}");
    // Three more deep calls reuse the one connection the first opened
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(120)).await;
        call(&health, "?deep=true").await;
    }
    let mut admin = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(
        clients.lines().count(),
        2,
        "health's one connection and ours: {clients}"
    );

    // When the cache stops, a deep call within the 300 ms still answers what was found
    let (_, _, kept) = call(&health, "?deep=true").await;
    redis.stop();
    let (_, _, again) = call(&health, "?deep=true").await;
    assert_eq!(
        again["checks"], kept["checks"],
        "answered from the kept checks"
    );

    // And once they are older than that, it checks again and finds the cache down
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, _, after) = call(&health, "?deep=true").await;
    assert_eq!(status, 200);
    assert_eq!(after["checks"]["cache"]["status"], "down", "{after:#}");
}
