//! One execution environment taking many requests at once, as Lambda Managed Instances run it:
//! the function binary is started with `AWS_LAMBDA_MAX_CONCURRENCY=N` against a Lambda Runtime API
//! served here, which hands out a fresh invocation to every `next` for the run's duration, so N are
//! always in flight. Reported: the environment's throughput, the latency from an invocation handed
//! out to its response, the CPU the process used per request, and whether each request's metric
//! line is its own (its request id, its status, its DynamoDB calls), which is how two requests
//! served at once would show if they shared a record.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::io::BufRead as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use policy_core::telemetry::emf::{self, RequestMetrics};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::procs;
use crate::stats;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The function's release or debug binary.
    pub binary: std::path::PathBuf,
    /// Its name (`AWS_LAMBDA_FUNCTION_NAME`).
    pub function: String,
    /// The API Gateway event every invocation is made from (each gets its own request id, and its
    /// own `Idempotency-Key` where the event has one).
    pub event: Value,
    /// The environment the function reads (tables, Redis, ...).
    pub env: Vec<(String, String)>,
    /// Invocations in flight at once.
    pub concurrency: usize,
    /// How long invocations are handed out.
    pub duration: Duration,
}

/// The Runtime API's record of the run.
struct Api {
    template: Value,
    /// Tells this run's idempotency keys from every earlier run's against the same tables.
    nonce: u128,
    /// Invocations handed out and not yet answered, now and at most.
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    duration: Duration,
    /// The first `next`: the run is timed from there (the environment's init is the cold start's
    /// business).
    started: OnceLock<Instant>,
    next_id: AtomicU64,
    handed: Mutex<HashMap<String, Instant>>,
    answered: Mutex<Vec<(String, String, Duration)>>,
    last_answer: Mutex<Option<Instant>>,
}

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
}

impl Api {
    /// The next invocation: the template with its own request id (and idempotency key).
    fn invocation(&self) -> (String, Bytes) {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id = format!("env-{n:08}");
        let mut event = self.template.clone();
        event["requestContext"]["requestId"] = json!(id);
        if event["headers"].get("idempotency-key").is_some() {
            event["headers"]["idempotency-key"] = json!(format!("environment-{}-{id}", self.nonce));
        }
        let body = serde_json::to_vec(&event).unwrap_or_default();
        (id, Bytes::from(body))
    }
}

async fn serve(
    api: Arc<Api>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let body = request
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/invocation/") else {
        return Ok(reply(StatusCode::NOT_FOUND, Bytes::new()));
    };
    if method == Method::GET && rest == "next" {
        let started = *api.started.get_or_init(Instant::now);
        if started.elapsed() >= api.duration {
            // The run is over: Lambda would hold `next` until there is work.
            std::future::pending::<()>().await;
        }
        let (id, event) = api.invocation();
        let now = api.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        api.max_in_flight.fetch_max(now, Ordering::Relaxed);
        if let Ok(mut handed) = api.handed.lock() {
            handed.insert(id.clone(), Instant::now());
        }
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
            + 30_000;
        let mut response = reply(StatusCode::OK, event);
        let headers = response.headers_mut();
        for (name, value) in [
            ("lambda-runtime-aws-request-id", id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:environment".to_owned(),
            ),
            ("content-type", "application/json".to_owned()),
        ] {
            if let Ok(value) = value.parse() {
                headers.insert(name, value);
            }
        }
        return Ok(response);
    }
    if method == Method::POST && (rest.ends_with("/response") || rest.ends_with("/error")) {
        let id = rest.split('/').next().unwrap_or_default().to_owned();
        let status = if rest.ends_with("/error") {
            "error".to_owned()
        } else {
            serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["statusCode"].as_u64())
                .map_or_else(|| "ok".to_owned(), |s| s.to_string())
        };
        let handed = api.handed.lock().ok().and_then(|mut h| h.remove(&id));
        if handed.is_some() {
            api.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
        if let (Some(handed), Ok(mut answered)) = (handed, api.answered.lock()) {
            answered.push((id, status, handed.elapsed()));
        }
        if let Ok(mut last) = api.last_answer.lock() {
            *last = Some(Instant::now());
        }
        return Ok(reply(StatusCode::ACCEPTED, Bytes::new()));
    }
    Ok(reply(StatusCode::NOT_FOUND, Bytes::new()))
}

/// What one run found.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Invocations answered.
    pub answered: u64,
    /// Answered per second of the run.
    pub per_second: f64,
    /// Latency from hand-out to response, ms: p50, p95, p99.
    pub latency_ms: [f64; 3],
    /// CPU the process used per request, µs.
    pub cpu_us_per_request: Option<f64>,
    /// Answers by status.
    pub statuses: BTreeMap<String, u64>,
    /// Metric lines that are not exactly their request's (a wrong or missing id, another status,
    /// a count of DynamoDB calls unlike every other request's): each one described.
    pub mixed: Vec<String>,
    /// The DynamoDB calls each request's line counts (all equal when nothing mixes).
    pub dynamodb_calls: BTreeMap<u64, u64>,
    /// The most invocations the function held at once: N when it takes N at a time.
    pub max_in_flight: u64,
}

/// Runs the function at `options.concurrency` for `options.duration`, then checks every answered
/// request against its metric line.
pub async fn measure(options: &Options) -> Result<Outcome, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let api = Arc::new(Api {
        template: options.event.clone(),
        nonce: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
        in_flight: AtomicU64::new(0),
        max_in_flight: AtomicU64::new(0),
        duration: options.duration,
        started: OnceLock::new(),
        next_id: AtomicU64::new(0),
        handed: Mutex::new(HashMap::new()),
        answered: Mutex::new(Vec::new()),
        last_answer: Mutex::new(None),
    });
    let server = spawn_api(listener, Arc::clone(&api));
    let mut child = function_command(options, &address.to_string())
        .spawn()
        .map_err(|e| format!("{}: {e}", options.binary.display()))?;
    // Drained as it comes, or the process would block on a full pipe.
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let lines = std::thread::spawn(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| emf::parse::<RequestMetrics>(&line))
            .collect::<Vec<_>>()
    });
    let waited = tokio::time::timeout(Duration::from_secs(60), async {
        while api.started.get().is_none() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    if waited.is_err() {
        let _ = child.kill();
        let _ = child.wait();
        server.abort();
        return Err("the function never asked for an invocation".into());
    }
    let cpu_before = cpu_ticks_of(child.id());
    tokio::time::sleep(options.duration).await;
    // Those in flight at the end finish.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu_after = cpu_ticks_of(child.id());
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    let started = api.started.get().copied().unwrap_or_else(Instant::now);
    let elapsed = api
        .last_answer
        .lock()
        .ok()
        .and_then(|last| *last)
        .map_or(options.duration, |last| last.duration_since(started));
    let metrics = lines.join().map_err(|_| "the log reader failed")?;
    let answered = api
        .answered
        .lock()
        .map(|a| a.clone())
        .map_err(|e| e.to_string())?;
    let mut found = outcome(&answered, &metrics, elapsed, cpu_before.zip(cpu_after));
    found.max_in_flight = api.max_in_flight.load(Ordering::Relaxed);
    Ok(found)
}

/// Serves the Runtime API on `listener` until aborted: a task per connection.
fn spawn_api(listener: TcpListener, api: Arc<Api>) -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_local(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let api = Arc::clone(&api);
            tokio::task::spawn_local(async move {
                let service = service_fn(move |request| serve(Arc::clone(&api), request));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

/// The function's process as Lambda starts it, N requests at a time, against `runtime_api`.
fn function_command(options: &Options, runtime_api: &str) -> Command {
    let mut command = Command::new(&options.binary);
    command
        .env_clear()
        .envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", &options.function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_MAX_CONCURRENCY",
            options.concurrency.to_string(),
        )
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

/// User plus system CPU ticks `pid` has used.
fn cpu_ticks_of(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    procs::cpu_ticks(&stat).map(|(_, ticks)| ticks)
}

/// The run's figures, and each answered request checked against its metric line.
fn outcome(
    answered: &[(String, String, Duration)],
    metrics: &[RequestMetrics],
    elapsed: Duration,
    cpu_ticks: Option<(u64, u64)>,
) -> Outcome {
    let mut histogram = stats::histogram();
    let mut statuses = BTreeMap::new();
    for (_, status, latency) in answered {
        let _ = histogram.record(
            u64::try_from(latency.as_micros())
                .unwrap_or(u64::MAX)
                .max(1),
        );
        *statuses.entry(status.clone()).or_insert(0) += 1;
    }
    let count = answered.len() as u64;
    let by_id: HashMap<&str, Vec<&RequestMetrics>> =
        metrics.iter().fold(HashMap::new(), |mut by_id, line| {
            by_id
                .entry(line.request_id.as_str())
                .or_default()
                .push(line);
            by_id
        });
    let mut dynamodb_calls: BTreeMap<u64, u64> = BTreeMap::new();
    for line in metrics {
        *dynamodb_calls.entry(line.dynamodb_calls).or_insert(0) += 1;
    }
    let usual = dynamodb_calls
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(calls, _)| *calls);
    let mut mixed = Vec::new();
    for (id, status, _) in answered {
        match by_id.get(id.as_str()).map(Vec::as_slice) {
            Some([line]) => {
                if &line.status != status {
                    mixed.push(format!(
                        "{id}: answered {status}, its line says {}",
                        line.status
                    ));
                }
                if Some(line.dynamodb_calls) != usual {
                    mixed.push(format!(
                        "{id}: {} DynamoDB calls where every other request made {usual:?}",
                        line.dynamodb_calls
                    ));
                }
            }
            Some(lines) => mixed.push(format!("{id}: {} metric lines", lines.len())),
            None => mixed.push(format!("{id}: no metric line")),
        }
    }
    let cpu_us_per_request = cpu_ticks.filter(|_| count > 0).map(|(before, after)| {
        let ticks = after.saturating_sub(before) as f64;
        ticks * 1_000_000.0 / procs::ticks_per_second() as f64 / count as f64
    });
    let quantile = |q: f64| (histogram.value_at_quantile(q) as f64 / 10.0).round() / 100.0;
    Outcome {
        answered: count,
        per_second: stats::per_second(count, elapsed),
        latency_ms: [quantile(0.5), quantile(0.95), quantile(0.99)],
        cpu_us_per_request,
        statuses,
        mixed,
        dynamodb_calls,
        max_in_flight: 0,
    }
}

/// The event a function is run with: its sample in `events/<function>/<name>.json`.
pub fn event(root: &Path, function: &str, name: &str) -> Result<Value, String> {
    let path = root
        .join("events")
        .join(function)
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The report of runs at several concurrencies, as JSON.
pub fn to_json(function: &str, event: &str, runs: &[(usize, Outcome)]) -> Value {
    json!({
        "function": function,
        "event": event,
        "runs": runs.iter().map(|(n, o)| json!({
            "concurrency": n,
            "answered": o.answered,
            "per_second": (o.per_second * 10.0).round() / 10.0,
            "p50_ms": o.latency_ms[0], "p95_ms": o.latency_ms[1], "p99_ms": o.latency_ms[2],
            "cpu_us_per_request": o.cpu_us_per_request.map(f64::round),
            "statuses": o.statuses,
            "dynamodb_calls": o.dynamodb_calls,
            "max_in_flight": o.max_in_flight,
            "mixed": o.mixed.len(),
            "mixed_examples": o.mixed.iter().take(5).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, status: &str, calls: u64) -> RequestMetrics {
        RequestMetrics {
            function: "create-quote".into(),
            route: "POST /api/v1/quotes".into(),
            status: status.into(),
            request_id: id.into(),
            xray_trace_id: None,
            latency_ms: 1,
            cold_start: 0,
            dynamodb_calls: calls,
            dynamodb_ms: vec![1; usize::try_from(calls).unwrap()],
            cache_errors: 0,
            operator_errors: 0,
        }
    }

    #[test]
    fn a_line_that_is_not_its_requests_is_reported() {
        let answered: Vec<(String, String, Duration)> = (0..4)
            .map(|i| {
                (
                    format!("env-{i}"),
                    "201".to_owned(),
                    Duration::from_millis(2),
                )
            })
            .collect();
        let clean = [
            line("env-0", "201", 1),
            line("env-1", "201", 1),
            line("env-2", "201", 1),
            line("env-3", "201", 1),
        ];
        let found = outcome(&answered, &clean, Duration::from_secs(1), None);
        assert!(found.mixed.is_empty(), "{:?}", found.mixed);
        assert_eq!(found.answered, 4);

        // Two requests' calls recorded on one line, another's status on the wrong line, one line lost
        let mixed = [
            line("env-0", "201", 2),
            line("env-1", "201", 0),
            line("env-2", "400", 1),
            line("env-2", "201", 1),
        ];
        let found = outcome(&answered, &mixed, Duration::from_secs(1), None);
        assert_eq!(found.mixed.len(), 4, "{:?}", found.mixed);
        assert!(
            found
                .mixed
                .iter()
                .any(|m| m.starts_with("env-3: no metric line"))
        );
        assert!(
            found
                .mixed
                .iter()
                .any(|m| m.starts_with("env-2: 2 metric lines"))
        );
    }

    /// Thirty-two create-quote requests at once in one environment, against the stack's DynamoDB
    /// Local: every request's metric line is its own.
    #[test]
    fn thirty_two_requests_at_once_keep_their_own_metrics() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let binary = root.join("target/debug/create-quote");
        assert!(
            binary.exists(),
            "{} is built by make test (cargo build --workspace)",
            binary.display()
        );
        let env: Vec<(String, String)> = [
            "DYNAMODB_ENDPOINT",
            "REDIS_URL",
            "AWS_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "POLICIES_TABLE",
            "QUOTES_TABLE",
            "IDEMPOTENCY_TABLE",
            "TRANSACTIONS_TABLE",
            "CURSOR_SECRET",
            "AUTH_MODE",
        ]
        .iter()
        .map(|name| {
            let value = std::env::var(name)
                .unwrap_or_else(|_| panic!("{name}: run with the stack's environment (make test)"));
            ((*name).to_owned(), value)
        })
        .collect();
        let mut event = event(&root, "create-quote", "create").unwrap();
        event["headers"]["idempotency-key"] = json!("unique per invocation");
        let options = Options {
            binary,
            function: "create-quote".into(),
            event,
            env,
            concurrency: 32,
            duration: Duration::from_secs(3),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        let found = local.block_on(&runtime, measure(&options)).unwrap();
        assert!(found.answered >= 32, "{found:?}");
        // The function held all 32 at once: it did not take them one after another
        assert_eq!(found.max_in_flight, 32, "{found:?}");
        assert_eq!(
            found.statuses.keys().collect::<Vec<_>>(),
            ["201"],
            "{found:?}"
        );
        assert!(found.mixed.is_empty(), "{:?}", found.mixed);
        // Each request made its one transaction (the key's record and the quote), and no other
        assert_eq!(
            found.dynamodb_calls.keys().collect::<Vec<_>>(),
            [&1],
            "{found:?}"
        );
    }
}
