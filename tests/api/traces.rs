//! The traces the functions send: the stack points them at a UDP port (`AWS_XRAY_DAEMON_ADDRESS`,
//! as Lambda points them at its X-Ray daemon), and this test listens there in the daemon's place.

use redis::Commands as _;
use std::collections::HashMap;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use e2e::{complete_auto, get, send_with, unique};
use serde_json::{Value, json};

/// What the daemon received: every segment document, as sent.
struct Daemon {
    socket: UdpSocket,
    received: Vec<Value>,
}

/// The header every datagram to the daemon starts with.
const HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";

impl Daemon {
    /// Listens where the functions send their traces.
    fn listen() -> Daemon {
        let address = std::env::var("AWS_XRAY_DAEMON_ADDRESS").expect(
            "make test starts the stack with XRAY_DAEMON_PORT, which sets AWS_XRAY_DAEMON_ADDRESS",
        );
        let socket = UdpSocket::bind(&address).expect("the daemon's port is free");
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Daemon {
            socket,
            received: Vec::new(),
        }
    }

    /// Reads datagrams until the invocation answered as `request_id` has sent its whole trace (its
    /// own document and at least `children` more), or ten seconds have passed; returns the trace
    /// by span name.
    fn trace_of(&mut self, request_id: &str, children: usize) -> Trace {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buffer = vec![0u8; 65_536];
        loop {
            if let Some(trace) = Trace::find(&self.received, request_id)
                && trace.children.len() >= children
            {
                return trace;
            }
            assert!(
                Instant::now() < deadline,
                "no complete trace for request {request_id} among {} documents: {:#?}\nall: {:#?}",
                self.received.len(),
                Trace::find(&self.received, request_id),
                self.received
            );
            let Ok(length) = self.socket.recv(&mut buffer) else {
                continue;
            };
            let text = std::str::from_utf8(&buffer[..length]).expect("documents are UTF-8");
            let document = text
                .strip_prefix(HEADER)
                .unwrap_or_else(|| panic!("a datagram without the daemon's header: {text}"));
            self.received
                .push(serde_json::from_str(document).expect("a JSON segment document"));
        }
    }
}

/// One invocation's documents: its own, and those whose parent it is, with the raw text of all.
#[derive(Debug)]
struct Trace {
    root: Value,
    children: Vec<Value>,
    text: String,
}

impl Trace {
    fn find(documents: &[Value], request_id: &str) -> Option<Trace> {
        let root = documents
            .iter()
            .find(|d| d["annotations"]["request_id"] == json!(request_id))?
            .clone();
        let children: Vec<Value> = documents
            .iter()
            .filter(|d| d["parent_id"] == root["id"] && d["trace_id"] == root["trace_id"])
            .cloned()
            .collect();
        let text = children
            .iter()
            .chain(std::iter::once(&root))
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        Some(Trace {
            root,
            children,
            text,
        })
    }

    fn named(&self, name: &str) -> Vec<&Value> {
        self.children
            .iter()
            .filter(|d| d["name"] == json!(name))
            .collect()
    }

    /// Every child ends within the invocation.
    fn assert_nested_in_time(&self) {
        let (start, end) = (
            self.root["start_time"].as_f64().unwrap(),
            self.root["end_time"].as_f64().unwrap(),
        );
        for child in &self.children {
            let (s, e) = (
                child["start_time"].as_f64().unwrap(),
                child["end_time"].as_f64().unwrap(),
            );
            assert!(
                start <= s && s <= e && e <= end,
                "{child:#} outside {start}..{end}"
            );
        }
    }
}

#[test]
fn a_create_quote_request_traces_its_rating_and_each_dynamodb_call_and_a_read_its_redis_calls() {
    let mut daemon = Daemon::listen();
    // Each function sends over a connected UDP socket; a datagram sent while nobody listened (before
    // this test) is refused, and the refusal fails the socket's next send. One request to the
    // function clears it (two, should the emulator run two instances), as the X-Ray daemon in
    // Lambda, always listening, never needs.
    for _ in 0..2 {
        let _ = get("/api/v1/quotes/Q-2026-0000000000");
    }
    let quotes_table = std::env::var("QUOTES_TABLE").unwrap();

    // Given a quote request with personal data in it
    let body = complete_auto(json!({"policy_type": "auto", "state": "CA",
                                    "coverage": {"liability": 300_000}}));
    let key = unique("traces");
    let reply = send_with(
        "POST",
        "/api/v1/quotes",
        Some("application/json"),
        &[("idempotency-key", &key)],
        Some(serde_json::to_vec(&body).unwrap()),
    );
    assert_eq!(reply.status, 201, "{:#}", reply.json);
    let quote_id = reply.json["quote_id"].as_str().unwrap().to_owned();

    // Then its trace is the invocation, with the rating step and each DynamoDB call under it
    let created = daemon.trace_of(reply.request_id.as_deref().unwrap(), 2);
    let root = &created.root;
    assert_eq!(root["name"], "create-quote", "{root:#}");
    assert!(
        root["trace_id"].as_str().unwrap().starts_with("1-"),
        "{root:#}"
    );
    assert_eq!(
        root["metadata"]["http.route"], "POST /api/v1/quotes",
        "{root:#}"
    );
    let rating = created.named("rating");
    assert_eq!(rating.len(), 1, "{:#?}", created.children);
    let dynamodb = created.named("DynamoDB");
    let operations: HashMap<&str, &Value> = dynamodb
        .iter()
        .map(|d| (d["aws"]["operation"].as_str().unwrap(), &d["aws"]))
        .collect();
    // The key's record and the quote are written in one transaction, and nothing else is called.
    assert_eq!(operations.len(), 1, "{dynamodb:#?}");
    let transaction = operations
        .get("TransactWriteItems")
        .unwrap_or_else(|| panic!("{dynamodb:#?}"));
    assert!(
        transaction["table_name"]
            .as_str()
            .unwrap()
            .contains(&quotes_table),
        "{transaction:#}"
    );
    for call in &dynamodb {
        assert_eq!(call["namespace"], "aws", "{call:#}");
        assert_eq!(call["type"], "subsegment", "{call:#}");
    }
    created.assert_nested_in_time();

    // And the new quote is written through to Redis, since a read or a bind follows
    let fills: Vec<&Value> = created.named("Redis");
    assert!(
        fills
            .iter()
            .any(|c| c["metadata"]["db.operation.name"] == "SET"
                && c["metadata"]["cache.name"] == "quote"),
        "{:#?}",
        created.children
    );

    // And nothing personal is in it: no ZIP code, no driver, no vehicle, no idempotency key
    for secret in ["95814", "years_licensed", "30000", key.as_str()] {
        assert!(
            !created.text.contains(secret),
            "{secret} in {}",
            created.text
        );
    }

    // When the quote is read back through the cache, once Redis has lost it
    redis::Client::open(std::env::var("REDIS_URL").unwrap())
        .unwrap()
        .get_connection()
        .unwrap()
        .del::<_, ()>(format!("pd:v2:quote:{quote_id}"))
        .unwrap();
    let read = get(&format!("/api/v1/quotes/{quote_id}"));
    assert_eq!(read.status, 200, "{:#}", read.json);

    // Then the Redis lookup and the DynamoDB read appear in its trace, named by cache and table
    let traced = daemon.trace_of(read.request_id.as_deref().unwrap(), 2);
    assert_eq!(traced.root["name"], "create-quote", "{:#}", traced.root);
    let redis = traced.named("Redis");
    assert!(!redis.is_empty(), "{:#?}", traced.children);
    for command in &redis {
        let metadata = &command["metadata"];
        assert_eq!(metadata["cache.name"], "quote", "{command:#}");
        assert!(
            ["GET", "SET"].contains(&metadata["db.operation.name"].as_str().unwrap()),
            "{command:#}"
        );
    }
    let reads = traced.named("DynamoDB");
    assert_eq!(reads.len(), 1, "{:#?}", traced.children);
    assert_eq!(reads[0]["aws"]["operation"], "GetItem");
    assert_eq!(reads[0]["aws"]["table_name"], json!(quotes_table));
    assert!(!traced.text.contains(&quote_id), "{}", traced.text);
    traced.assert_nested_in_time();
}
