//! Helpers for the end-to-end tests: a blocking HTTP client for the local stack and the sample
//! events under `events/`.
#![allow(
    clippy::missing_panics_doc,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a failed expectation is a failed test"
)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use policy_core::caller::ANONYMOUS;
use policy_core::quoting::{Idempotency, KeyUse};
use policy_core::settings::{Settings, TableNames};
use policy_core::storage::client_for;
use serde_json::{Value, json};

/// A response as the tests look at it.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `content-type` header.
    pub content_type: String,
    /// `x-request-id` header, if any.
    pub request_id: Option<String>,
    /// `location` header, if any.
    pub location: Option<String>,
    /// Whether `idempotent-replayed` was set.
    pub replayed: bool,
    /// `etag` header, if any.
    pub etag: Option<String>,
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub json: Value,
}

/// Base URL of the API served by `cargo lambda watch`: `API_URL`, set by `make test`.
pub fn api_url() -> String {
    std::env::var("API_URL").unwrap_or_else(|_| {
        panic!("API_URL is not set: run the end-to-end tests with `make test`, which starts the local stack")
    })
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// Sends `method path` with an optional body and content type to the local stack.
pub fn send(method: &str, path: &str, content_type: Option<&str>, body: Option<Vec<u8>>) -> Reply {
    send_with(method, path, content_type, &[], body)
}

/// As [`send`], with extra headers.
pub fn send_with(
    method: &str,
    path: &str,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Reply {
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", api_url()));
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = agent()
        .run(request.body(body.unwrap_or_default()).unwrap())
        .expect("the stack answers");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let request_id = header("x-request-id");
    let location = header("location");
    let replayed = header("idempotent-replayed").is_some();
    let etag = header("etag");
    let text = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .expect("a readable body");
    Reply {
        status: response.status().as_u16(),
        content_type,
        request_id,
        location,
        replayed,
        etag,
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// A ZIP code in each written state, in an ordinary territory.
const ZIP_CODES: [(&str, &str); 7] = [
    ("CA", "95814"),
    ("TX", "78701"),
    ("NY", "14201"),
    ("FL", "32601"),
    ("PA", "18101"),
    ("IL", "62701"),
    ("MI", "49503"),
];

/// An auto quote body made a complete application: a driver with a clean record, a vehicle and a
/// ZIP code in the body's state, every fact auto's tables require, so underwriting can accept it.
pub fn complete_auto(mut body: Value) -> Value {
    let state = body["state"].as_str().expect("the body names its state");
    let (_, zip) = ZIP_CODES
        .iter()
        .find(|(s, _)| *s == state)
        .unwrap_or_else(|| panic!("no ZIP code for {state}"));
    body["zip_code"] = json!(zip);
    body["drivers"] = json!([{"age": 40, "years_licensed": 22}]);
    body["vehicle"] = json!({"year": 2022, "value": 30_000});
    body
}

/// POSTs a JSON value.
pub fn post_json(path: &str, body: &Value) -> Reply {
    send(
        "POST",
        path,
        Some("application/json"),
        Some(serde_json::to_vec(body).unwrap()),
    )
}

/// GETs a path.
pub fn get(path: &str) -> Reply {
    send("GET", path, None, None)
}

/// POSTs raw bytes declared as JSON.
pub fn post_raw(path: &str, body: impl Into<Vec<u8>>) -> Reply {
    send("POST", path, Some("application/json"), Some(body.into()))
}

/// Asserts `reply` is an RFC 9457 problem with `status` that names `field`, and returns it.
pub fn assert_problem(reply: &Reply, status: u16, field: &str) -> Value {
    assert_eq!(reply.status, status, "{:#}", reply.json);
    assert_eq!(reply.content_type, "application/problem+json");
    let problem = &reply.json;
    assert_eq!(problem["status"], status);
    assert!(
        problem["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:policy-decision:problem:")),
        "{problem:#}"
    );
    assert!(
        problem["title"].is_string() && problem["detail"].is_string(),
        "{problem:#}"
    );
    assert_eq!(
        problem["request_id"].as_str(),
        reply.request_id.as_deref(),
        "body and header ids agree"
    );
    let fields: Vec<_> = problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["field"].clone())
        .collect();
    assert!(
        fields.iter().any(|f| f == field),
        "expected field {field} in {problem:#}"
    );
    problem.clone()
}

/// The repository's `events/` directory.
pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// The settings of the local stack, as the functions read them (`make test` sets the environment).
pub fn settings() -> Settings {
    Settings::from_env().expect("the local stack's environment is valid")
}

/// Runs `f` with a DynamoDB client and the table names of the local stack, to check what the API
/// wrote (or did not) by reading the tables themselves.
pub fn with_dynamo<T>(f: impl AsyncFnOnce(&Client, &TableNames) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let settings = settings();
        let client = client_for(settings.dynamodb_endpoint.as_deref()).await;
        let tables = settings
            .tables()
            .expect("run with `make test`: the stack's environment names the tables");
        f(&client, &tables).await
    })
}

/// How many policies were bound from `quote_id` (a test-only scan).
pub fn policies_from_quote(quote_id: &str) -> usize {
    with_dynamo(async |client, tables| {
        let mut count = 0;
        let mut start = None;
        loop {
            let page = client
                .scan()
                .table_name(&tables.policies)
                .filter_expression("quote_id = :q")
                .expression_attribute_values(":q", AttributeValue::S(quote_id.to_owned()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            count += page.items().len();
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return count,
            }
        }
    })
}

/// The stored form of a create's `Idempotency-Key` sent by the local stack's caller.
pub fn stored_create_key(key: &str) -> String {
    Idempotency::new(KeyUse::Create, ANONYMOUS, key, String::new()).key
}

/// Whether an idempotency record exists for `key` (as the API scopes it).
pub fn idempotency_record_exists(key: &str) -> bool {
    with_dynamo(async |client, tables| {
        client
            .get_item()
            .table_name(&tables.idempotency)
            .key("idempotency_key", AttributeValue::S(stored_create_key(key)))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .is_some()
    })
}

/// A key no other test run uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos}-{:?}", std::thread::current().id()).replace(['(', ')'], "")
}

/// A port nothing listens on (yet).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A redis-server of a test's own.
#[derive(Debug)]
pub struct Redis(Child, u16);

impl Redis {
    /// Starts a server on a free port.
    pub fn start() -> Redis {
        Redis::on(free_port())
    }

    /// Starts a server on `port` holding `data` (key, value): as a Redis that was cut off, not
    /// restarted, comes back.
    pub fn on_with_data(port: u16, data: &[(&str, &str)]) -> Redis {
        let redis = Redis::on(port);
        let mut connection = redis::Client::open(redis.url())
            .unwrap()
            .get_connection()
            .unwrap();
        for (key, value) in data {
            redis::cmd("SET")
                .arg(*key)
                .arg(*value)
                .exec(&mut connection)
                .unwrap();
        }
        redis
    }

    /// Starts a server on `port` (e.g. again after [`Redis::stop`]).
    pub fn on(port: u16) -> Redis {
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed by make test");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Redis(child, port);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server did not start");
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.1)
    }

    /// Stops it (the port is free again).
    pub fn stop(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

/// An HTTP API (payload 2.0) event as API Gateway passes it to a function, made into a request:
/// `caller` is the JWT authorizer's `sub` and `scope` claims (`None`: no authorizer context).
pub fn gateway_request(
    caller: Option<(&str, &str)>,
    method: &str,
    path_and_query: &str,
    body: &str,
    idempotency_key: Option<&str>,
) -> lambda_http::Request {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut headers = json!({"content-type": "application/json"});
    if let Some(key) = idempotency_key {
        headers["idempotency-key"] = json!(key);
    }
    let mut context = json!({
        "accountId": "123456789012", "apiId": "abc123", "requestId": unique("request"),
        "routeKey": "$default", "stage": "$default", "time": "28/Nov/2026:10:00:00 +0000",
        "timeEpoch": 0,
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": "203.0.113.10", "userAgent": "test"}
    });
    if let Some((sub, scope)) = caller {
        context["authorizer"] =
            json!({"jwt": {"claims": {"sub": sub, "scope": scope}, "scopes": null}});
    }
    // As API Gateway does: the raw query string, and the parameters by name, repeated values
    // joined with commas.
    let mut parameters = serde_json::Map::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let joined = match parameters.get(name).and_then(Value::as_str) {
            Some(before) => format!("{before},{value}"),
            None => value.to_owned(),
        };
        parameters.insert(name.to_owned(), json!(joined));
    }
    let mut event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": headers, "requestContext": context, "body": body, "isBase64Encoded": false
    });
    if !parameters.is_empty() {
        event["queryStringParameters"] = Value::Object(parameters);
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// A redis-server of a test's own that speaks TLS only, with a certificate for 127.0.0.1 and
/// localhost signed by a CA made for it, in a directory of its own.
#[derive(Debug)]
pub struct TlsRedis {
    server: Child,
    port: u16,
    dir: PathBuf,
}

/// Makes a CA in `dir` named `name`: `<name>.crt` and `<name>.key`.
fn make_ca(dir: &std::path::Path, name: &str) {
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .arg("-keyout")
        .arg(dir.join(format!("{name}.key")))
        .arg("-out")
        .arg(dir.join(format!("{name}.crt")))
        .args(["-subj", &format!("/CN={name}")])
        .stderr(Stdio::null())
        .status()
        .expect("openssl is installed");
    assert!(status.success());
}

impl TlsRedis {
    /// Starts one on a free port.
    pub fn start() -> TlsRedis {
        let dir = std::env::temp_dir().join(unique("tls-redis"));
        std::fs::create_dir_all(&dir).unwrap();
        make_ca(&dir, "ca");
        make_ca(&dir, "other-ca");
        let run = |args: &[&str]| {
            let status = Command::new("openssl")
                .current_dir(&dir)
                .args(args)
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "openssl {args:?}");
        };
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(
            dir.join("san.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "1",
            "-extfile",
            "san.cnf",
        ]);
        let port = free_port();
        let mut server = Command::new("redis-server")
            .current_dir(&dir)
            .args([
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args([
                "--tls-cert-file",
                "server.crt",
                "--tls-key-file",
                "server.key",
            ])
            .args(["--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "no"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed by make test, built with TLS");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return TlsRedis { server, port, dir };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = server.kill();
        let _ = server.wait();
        panic!("redis-server with TLS did not start");
    }

    /// Its URL, as ElastiCache Serverless gives one: `rediss://`.
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }

    /// The CA that signed its certificate, as PEM.
    pub fn ca(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("ca.crt")).unwrap()
    }

    /// A CA that did not sign it, as PEM: a client that trusts only this must refuse the server.
    pub fn other_ca(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("other-ca.crt")).unwrap()
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
