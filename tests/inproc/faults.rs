//! DynamoDB failing: unreachable, stopped mid-run, slow, throttling, or losing answers. The
//! functions answer 503 problem+json with `Retry-After` within their timeout, never a 500; the
//! SDK's retries are bounded; and once DynamoDB recovers, every quote answered 201 is readable, every
//! write a client was not told of is found by repeating the request, and no quote is bound twice.

mod proxy;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{free_port, gateway_request, settings, unique};
use lambda_http::RequestExt;
use policy_core::api::auth::AuthMode;
use policy_core::api::quotes::Quotes;
use policy_core::api::{bind, quotes};
use policy_core::quoting::Quoting;
use policy_core::settings::TableNames;
use policy_core::storage::client_for;
use proxy::{Fault, Proxy};
use serde_json::Value;

use crate::support::{QUOTE, dispatch, l1_only, quotes_over, quoting_at, table_names};

async fn quotes_without_dynamodb() -> Arc<Quotes> {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let names = TableNames {
        policies: "p".into(),
        quotes: "q".into(),
        idempotency: "i".into(),
        transactions: "t".into(),
    };
    Arc::new(quotes_over(
        quoting_at(Some(&closed), names, l1_only()).await,
    ))
}

async fn call(
    quotes: &Arc<Quotes>,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, Option<String>, Value) {
    let request = gateway_request(None, method, path, body, None);
    let reply = dispatch(&quotes::ROUTES, quotes, AuthMode::Off, request).await;
    let retry_after = reply.header("retry-after").map(str::to_owned);
    (reply.status, retry_after, reply.body)
}

#[tokio::test]
async fn unreachable_dynamodb_is_a_503_with_retry_after_not_a_500() {
    let quotes = quotes_without_dynamodb().await;
    for (method, path, body) in [
        ("POST", "/api/v1/quotes", QUOTE),
        ("GET", "/api/v1/quotes/Q-2026-0000000000", ""),
    ] {
        let (status, retry_after, problem) = call(&quotes, method, path, body).await;
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
    let quotes = quotes_without_dynamodb().await;
    let (status, _, problem) = call(
        &quotes,
        "POST",
        "/api/v1/quotes",
        r#"{"policy_type":"auto","state":"ZZ"}"#,
    )
    .await;
    assert_eq!(status, 422, "{problem:#}");
    assert_eq!(problem["errors"][0]["field"], "state");
}

/// `Globals.Function.Timeout` in `template.yaml`: Lambda stops a function that runs longer.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);
const SCOPES: &str = "quotes:read quotes:write";

struct Reply {
    status: u16,
    retry_after: Option<String>,
    replayed: bool,
    body: Value,
}

impl Reply {
    fn quote_id(&self) -> String {
        self.body["quote_id"].as_str().unwrap().to_owned()
    }

    fn assert_unavailable(&self) {
        assert_eq!(self.status, 503, "{:#}", self.body);
        assert_eq!(self.retry_after.as_deref(), Some("1"));
        assert_eq!(
            self.body["type"],
            "urn:policy-decision:problem:service-unavailable"
        );
    }
}

/// The quote and bind handlers, in process, over the local stack's DynamoDB reached through a
/// fault-injecting proxy; every request comes from one caller of its own, whose records the test
/// reads back from DynamoDB directly.
struct Faulty {
    proxy: Proxy,
    quoting: Arc<Quoting>,
    quotes: Arc<Quotes>,
    direct: aws_sdk_dynamodb::Client,
    tables: TableNames,
    owner: String,
}

impl Faulty {
    async fn new() -> Faulty {
        let upstream = settings()
            .dynamodb_endpoint
            .expect("run with `make test`: the stack's environment names DynamoDB Local");
        let tables = table_names();
        let proxy = Proxy::start(&upstream).await;
        let quoting = quoting_at(Some(proxy.url()), tables.clone(), l1_only()).await;
        let quotes = Arc::new(quotes_over(quoting.clone()));
        let quoting = Arc::new(quoting);
        Faulty {
            proxy,
            quoting,
            quotes,
            direct: client_for(Some(&upstream)).await,
            tables,
            owner: unique("faults"),
        }
    }

    async fn send(&self, method: &str, path: &str, body: &str, key: Option<&str>) -> Reply {
        let request = gateway_request(Some((&self.owner, SCOPES)), method, path, body, key);
        let reply = if path.ends_with("/bind") {
            dispatch(&bind::ROUTES, &self.quoting, AuthMode::Jwt, request).await
        } else {
            dispatch(&quotes::ROUTES, &self.quotes, AuthMode::Jwt, request).await
        };
        Reply {
            status: reply.status,
            retry_after: reply.header("retry-after").map(str::to_owned),
            replayed: reply.header("idempotent-replayed").is_some(),
            body: reply.body,
        }
    }

    async fn create(&self, key: Option<&str>) -> Reply {
        self.send("POST", "/api/v1/quotes", QUOTE, key).await
    }

    async fn bind(&self, quote_id: &str) -> Reply {
        self.send("POST", &format!("/api/v1/quotes/{quote_id}/bind"), "", None)
            .await
    }

    async fn get_quote(&self, quote_id: &str) -> Reply {
        self.send("GET", &format!("/api/v1/quotes/{quote_id}"), "", None)
            .await
    }

    /// Every item of `table` that belongs to this suite's caller, read past the proxy.
    async fn stored(&self, table: &str) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .direct
                .scan()
                .table_name(table)
                .filter_expression("#owner = :owner")
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":owner", AttributeValue::S(self.owner.clone()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            items.extend(page.items().iter().cloned());
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return items,
            }
        }
    }

    /// The ids of the stored quotes of this suite's caller.
    async fn stored_quotes(&self) -> HashSet<String> {
        self.stored(&self.tables.quotes)
            .await
            .iter()
            .map(|item| text(item, "quote_id"))
            .collect()
    }

    /// The stored policies of this suite's caller, as (policy number, quote id).
    async fn stored_policies(&self) -> Vec<(String, String)> {
        self.stored(&self.tables.policies)
            .await
            .iter()
            .map(|item| (text(item, "policy_number"), text(item, "quote_id")))
            .collect()
    }
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item[name].as_s().unwrap().clone()
}

#[tokio::test]
async fn throttling_is_a_503_after_three_attempts_and_writes_nothing() {
    let suite = Faulty::new().await;
    suite.proxy.set(Fault::Throttle);
    let key = unique("throttled");
    suite.create(Some(&key)).await.assert_unavailable();
    suite
        .get_quote("Q-2026-0000000000")
        .await
        .assert_unavailable();
    let operations: Vec<String> = suite
        .proxy
        .take_seen()
        .into_iter()
        .map(|seen| seen.operation)
        .collect();
    assert_eq!(
        operations,
        [
            "TransactWriteItems",
            "TransactWriteItems",
            "TransactWriteItems",
            "GetItem",
            "GetItem",
            "GetItem"
        ],
        "each call is tried three times, then given up"
    );

    suite.proxy.set(Fault::None);
    assert!(
        suite.stored_quotes().await.is_empty(),
        "nothing was written"
    );
    let created = suite.create(Some(&key)).await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    assert!(!created.replayed);
    assert_eq!(
        suite.stored_quotes().await,
        HashSet::from([created.quote_id()])
    );
}

#[tokio::test]
async fn a_slow_dynamodb_is_a_503_in_time_and_a_retry_finds_the_late_write() {
    let suite = Faulty::new().await;
    suite.proxy.set(Fault::Slow(Duration::from_millis(2_500)));
    let key = unique("slow");
    let started = Instant::now();
    let reply = suite.create(Some(&key)).await;
    let waited = started.elapsed();
    reply.assert_unavailable();
    assert!(
        waited < FUNCTION_TIMEOUT,
        "answered after {waited:?}, past the function's timeout"
    );

    // The write reached DynamoDB after the client was told 503; repeating the request with the
    // same key, as the problem invites, returns that quote instead of making another.
    suite.proxy.set(Fault::None);
    suite.proxy.settle().await;
    let landed = suite.stored_quotes().await;
    assert_eq!(landed.len(), 1, "the late write landed: {landed:?}");
    let retried = suite.create(Some(&key)).await;
    assert_eq!(retried.status, 201, "{:#}", retried.body);
    assert!(retried.replayed);
    assert_eq!(landed, HashSet::from([retried.quote_id()]));
    assert_eq!(suite.get_quote(&retried.quote_id()).await.status, 200);
}

#[tokio::test]
async fn a_lost_answer_is_neither_a_second_quote_nor_a_second_policy() {
    let suite = Faulty::new().await;
    // The SDK repeats a write whose answer was lost. A plain write finds its own quote under the
    // number; a transaction carries a client request token that makes the repeat a no-op.
    suite.proxy.set_next(Fault::LoseAnswer, "PutItem");
    let created = suite.create(None).await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    let quote_id = created.quote_id();
    assert_eq!(
        suite.stored_quotes().await,
        HashSet::from([quote_id.clone()])
    );

    suite
        .proxy
        .set_next(Fault::LoseAnswer, "TransactWriteItems");
    let bound = suite.bind(&quote_id).await;
    assert_eq!(bound.status, 201, "{:#}", bound.body);
    let policy_number = bound.body["policy_number"].as_str().unwrap().to_owned();
    assert_eq!(suite.stored_policies().await, [(policy_number, quote_id)]);
    let faults: Vec<Fault> = suite.proxy.take_seen().iter().map(|s| s.fault).collect();
    assert_eq!(
        faults.iter().filter(|f| **f == Fault::LoseAnswer).count(),
        2,
        "both answers were lost: {faults:?}"
    );
}

/// What one client learned during the run.
#[derive(Default)]
struct Ledger {
    /// Idempotency key to quote id, for creates answered 201.
    quotes: HashMap<String, String>,
    /// Keys of creates answered 503: the quote may or may not exist.
    unsure_creates: Vec<String>,
    /// Quote id to policy number, for binds answered 201.
    policies: HashMap<String, String>,
    /// Quotes whose bind was answered 503.
    unsure_binds: Vec<String>,
}

async fn client_run(suite: &Faulty, stop: &AtomicBool) -> Ledger {
    let mut ledger = Ledger::default();
    while !stop.load(Ordering::SeqCst) {
        let key = unique("run");
        let created = suite.create(Some(&key)).await;
        match created.status {
            201 => {
                ledger.quotes.insert(key, created.quote_id());
            }
            503 => {
                created.assert_unavailable();
                ledger.unsure_creates.push(key);
                continue;
            }
            other => panic!("create answered {other}: {:#}", created.body),
        }
        let quote_id = created.quote_id();
        let bound = suite.bind(&quote_id).await;
        match bound.status {
            201 => {
                let number = bound.body["policy_number"].as_str().unwrap().to_owned();
                ledger.policies.insert(quote_id, number);
            }
            503 => {
                bound.assert_unavailable();
                ledger.unsure_binds.push(quote_id);
            }
            other => panic!("bind answered {other}: {:#}", bound.body),
        }
    }
    ledger
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_failing_mid_run_loses_no_quote_and_binds_none_twice() {
    let suite = Arc::new(Faulty::new().await);
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (suite, stop) = (Arc::clone(&suite), Arc::clone(&stop));
            tokio::spawn(async move { Box::pin(client_run(&suite, &stop)).await })
        })
        .collect();
    let schedule = [
        (Fault::None, 300),
        (Fault::Down, 600),
        (Fault::None, 300),
        (Fault::LoseAnswer, 400),
        (Fault::None, 300),
        (Fault::Slow(Duration::from_millis(2_500)), 500),
        (Fault::None, 300),
        (Fault::Throttle, 600),
        (Fault::None, 300),
    ];
    for (fault, millis) in schedule {
        let before = suite.proxy.count(fault);
        suite.proxy.set(fault);
        tokio::time::sleep(Duration::from_millis(millis)).await;
        // Each fault meets some requests, however long the clients were held up by the last.
        while fault != Fault::None && suite.proxy.count(fault) < before + 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    stop.store(true, Ordering::SeqCst);
    let mut ledger = Ledger::default();
    for client in clients {
        let run = client.await.unwrap();
        ledger.quotes.extend(run.quotes);
        ledger.unsure_creates.extend(run.unsure_creates);
        ledger.policies.extend(run.policies);
        ledger.unsure_binds.extend(run.unsure_binds);
    }
    suite.proxy.settle().await;

    // Every quote answered 201 is readable.
    for quote_id in ledger.quotes.values() {
        let read = suite.get_quote(quote_id).await;
        assert_eq!(read.status, 200, "{quote_id}: {:#}", read.body);
    }
    // A create answered 503, repeated with its key, finds the quote if it was written.
    for key in std::mem::take(&mut ledger.unsure_creates) {
        let created = suite.create(Some(&key)).await;
        assert_eq!(created.status, 201, "{:#}", created.body);
        ledger.quotes.insert(key, created.quote_id());
    }
    // A bind answered 503, repeated, binds the quote or names the policy it already has.
    let unbound: Vec<String> = ledger
        .quotes
        .values()
        .filter(|id| !ledger.policies.contains_key(*id))
        .cloned()
        .collect();
    for quote_id in unbound {
        let bound = suite.bind(&quote_id).await;
        let number = match bound.status {
            201 => bound.body["policy_number"].clone(),
            409 => {
                assert!(ledger.unsure_binds.contains(&quote_id), "{:#}", bound.body);
                suite.get_quote(&quote_id).await.body["policy_number"].clone()
            }
            other => panic!("bind answered {other}: {:#}", bound.body),
        };
        ledger
            .policies
            .insert(quote_id, number.as_str().unwrap().to_owned());
    }

    let known: HashSet<String> = ledger.quotes.values().cloned().collect();
    assert_eq!(
        suite.stored_quotes().await,
        known,
        "every stored quote is one a client was told of"
    );
    let mut stored: HashMap<String, String> = HashMap::new();
    for (number, quote_id) in suite.stored_policies().await {
        assert!(
            stored.insert(quote_id.clone(), number).is_none(),
            "{quote_id} was bound twice"
        );
    }
    assert_eq!(
        stored, ledger.policies,
        "every policy is one a client was told of"
    );
}

#[tokio::test]
async fn a_request_answers_503_before_its_invocations_deadline() {
    // Given DynamoDB slower than the whole invocation has left: an attempt takes 4 s, and the
    // invocation must end 3 s from now
    let suite = Faulty::new().await;
    suite.proxy.set(Fault::Slow(Duration::from_secs(4)));
    let invocation = Duration::from_secs(3);
    let mut context = lambda_http::Context::default();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    context.deadline = u64::try_from(now_ms + invocation.as_millis()).unwrap();
    let request = gateway_request(
        Some((&suite.owner, SCOPES)),
        "POST",
        "/api/v1/quotes",
        QUOTE,
        Some(&unique("deadline")),
    )
    .with_lambda_context(context);

    // When a quote is asked for
    let started = Instant::now();
    let reply = dispatch(&quotes::ROUTES, &suite.quotes, AuthMode::Jwt, request).await;
    let waited = started.elapsed();

    // Then the answer is a 503 problem with Retry-After, given before the invocation ends (the
    // SDK alone would have tried for its whole 5 s operation timeout)
    assert_eq!(reply.status, 503, "{:#}", reply.body);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert!(waited < invocation, "answered after {waited:?}");
    suite.proxy.set(Fault::None);
    suite.proxy.settle().await;
}
