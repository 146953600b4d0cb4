//! An HTTP proxy in front of DynamoDB Local that injects the faults a test switches on: requests
//! pass, arrive late, are throttled, lose their answer, or find the service stopped.

use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

type BoxError = Box<dyn Error + Send + Sync>;

/// What happens to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// It passes.
    None,
    /// It is answered 400 `ProvisionedThroughputExceededException` and never reaches DynamoDB.
    Throttle,
    /// It reaches DynamoDB this much later, whether or not the caller still waits.
    Slow(Duration),
    /// It reaches DynamoDB, but the connection closes before the answer: a write happened that
    /// the caller cannot know of.
    LoseAnswer,
    /// The connection closes at once: DynamoDB is stopped.
    Down,
}

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The DynamoDB operation, from `X-Amz-Target` (`PutItem`, `TransactWriteItems`, ...).
    pub operation: String,
    /// What was done to it.
    pub fault: Fault,
}

struct Switch {
    fault: Fault,
    /// Only the next request of this operation gets `fault`, then requests pass again (`None`:
    /// every request, until switched).
    next_of: Option<String>,
}

struct State {
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    switch: Mutex<Switch>,
    seen: Mutex<Vec<Seen>>,
    /// Requests forwarded whose answer from DynamoDB has not come back yet.
    in_flight: AtomicUsize,
}

/// The proxy; it stops when dropped.
pub struct Proxy {
    url: String,
    state: Arc<State>,
    server: JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy to the DynamoDB endpoint `upstream` on a free local port.
    pub async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            switch: Mutex::new(Switch {
                fault: Fault::None,
                next_of: None,
            }),
            seen: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
        });
        let shared = Arc::clone(&state);
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(Arc::clone(&state), request));
                    // A connection closed on purpose ends with an error: that is the fault.
                    let _closed = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Proxy { url, state, server }
    }

    /// The endpoint URL to give the DynamoDB client.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Applies `fault` to every request from now on.
    pub fn set(&self, fault: Fault) {
        *self.state.switch.lock().unwrap() = Switch {
            fault,
            next_of: None,
        };
    }

    /// Applies `fault` to the next request of `operation` only.
    pub fn set_next(&self, fault: Fault, operation: &str) {
        *self.state.switch.lock().unwrap() = Switch {
            fault,
            next_of: Some(operation.to_owned()),
        };
    }

    /// How many requests seen so far were given `fault`.
    pub fn count(&self, fault: Fault) -> usize {
        let seen = self.state.seen.lock().unwrap();
        seen.iter().filter(|s| s.fault == fault).count()
    }

    /// Every request seen so far, and forgets them.
    pub fn take_seen(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.state.seen.lock().unwrap())
    }

    /// Waits until every forwarded request has been answered by DynamoDB, so that late writes
    /// have landed before a test looks at the tables.
    pub async fn settle(&self) {
        while self.state.in_flight.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl State {
    fn fault_for(&self, operation: &str) -> Fault {
        let mut switch = self.switch.lock().unwrap();
        match switch.next_of.as_deref() {
            None => switch.fault,
            Some(next_of) if next_of == operation => {
                let fault = switch.fault;
                *switch = Switch {
                    fault: Fault::None,
                    next_of: None,
                };
                fault
            }
            Some(_) => Fault::None,
        }
    }
}

/// Answers one request as the current fault says. An error closes the connection without an
/// answer, which is how the service being stopped, or an answer being lost, looks to the caller.
async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let operation = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|target| target.rsplit('.').next())
        .unwrap_or_default()
        .to_owned();
    let fault = state.fault_for(&operation);
    state.seen.lock().unwrap().push(Seen { operation, fault });
    match fault {
        Fault::Throttle => return Ok(throttled()),
        Fault::Down => return Err("DynamoDB is stopped".into()),
        Fault::None | Fault::Slow(_) | Fault::LoseAnswer => {}
    }
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let delay = match fault {
        Fault::Slow(delay) => delay,
        _ => Duration::ZERO,
    };
    // Forwarded on a task of its own, so a request goes through even when its caller has given
    // up: a slow write still lands, as it would on a real service.
    state.in_flight.fetch_add(1, Ordering::SeqCst);
    let forwarding = Arc::clone(&state);
    let answer = tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let answer = forward(&forwarding, parts, body).await;
        forwarding.in_flight.fetch_sub(1, Ordering::SeqCst);
        answer
    });
    let answer = answer.await??;
    if fault == Fault::LoseAnswer {
        return Err("the answer was lost".into());
    }
    Ok(answer)
}

async fn forward(
    state: &State,
    mut parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("{}{path}", state.upstream).parse()?;
    let response = state
        .client
        .request(Request::from_parts(parts, Full::new(body)))
        .await?;
    let (mut parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    // The body is whole now; the server side frames it afresh.
    parts.headers.remove(TRANSFER_ENCODING);
    parts.headers.remove(CONTENT_LENGTH);
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// DynamoDB's answer when a table's throughput is exceeded.
fn throttled() -> Response<Full<Bytes>> {
    let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#;
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, "application/x-amz-json-1.0".parse().unwrap());
    response
}
