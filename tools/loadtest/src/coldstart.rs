//! Cold starts: each function binary is started as Lambda starts it, against a Lambda Runtime API
//! served here, and timed from spawn to its first `next` (init done) and to its first response.
//! The same event is then handed over a second time, so the first invocation's extra cost (the
//! first DynamoDB and Redis calls: connections, TLS where used) shows against a warm one.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::procs;
use crate::stats::median;

/// How many times the event is handed to one process: the first (cold) and a warm one.
const INVOCATIONS: usize = 2;
/// Longest wait for a function to ask for or answer an event.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// When each step of one cold start happened, measured from spawn.
#[derive(Debug, Default, Clone)]
struct Timings {
    nexts: Vec<Duration>,
    responses: Vec<Duration>,
    status: Option<String>,
    error: Option<String>,
    /// The init steps the function logged, in ms: the rate tables' parse (`tables_us`), the
    /// DynamoDB client's configuration (`dynamodb_client_us`) and the first Redis connection
    /// (`cache_connect_us`).
    steps: Vec<(&'static str, f64)>,
}

/// The init steps a function logs, as `(log field, report key)`.
const INIT_STEPS: [(&str, &str); 3] = [
    ("tables_us", "tables_ms"),
    ("dynamodb_client_us", "dynamodb_client_ms"),
    ("cache_connect_us", "cache_connect_ms"),
];

/// The Runtime API's state for one process.
struct Api {
    event: Bytes,
    spawned: Mutex<Option<Instant>>,
    timings: Mutex<Timings>,
    changed: Notify,
}

impl Api {
    fn since_spawn(&self) -> Duration {
        self.spawned
            .lock()
            .ok()
            .and_then(|s| *s)
            .map_or(Duration::ZERO, |s| s.elapsed())
    }

    fn with_timings(&self, f: impl FnOnce(&mut Timings)) {
        if let Ok(mut t) = self.timings.lock() {
            f(&mut t);
        }
        self.changed.notify_waiters();
    }

    fn snapshot(&self) -> Timings {
        self.timings.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
}

/// The status a function answered with: an API Gateway response's `statusCode`, else `ok`.
fn status_of(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["statusCode"].as_u64())
        .map_or_else(|| "ok".to_owned(), |s| s.to_string())
}

async fn serve(
    api: Arc<Api>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let at = api.since_spawn();
    let body = request
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return Ok(reply(StatusCode::NOT_FOUND, Bytes::new()));
    };
    if method == Method::GET && rest == "invocation/next" {
        let handed = api.snapshot().nexts.len();
        api.with_timings(|t| t.nexts.push(at));
        if handed >= INVOCATIONS {
            // Lambda holds `next` until there is work; here there is none, until the process is stopped.
            std::future::pending::<()>().await;
        }
        let id = format!("coldstart-{handed}");
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
            + 30_000;
        let mut response = reply(StatusCode::OK, api.event.clone());
        let headers = response.headers_mut();
        for (name, value) in [
            ("lambda-runtime-aws-request-id", id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:coldstart".to_owned(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned(),
            ),
            ("content-type", "application/json".to_owned()),
        ] {
            if let Ok(value) = value.parse() {
                headers.insert(name, value);
            }
        }
        return Ok(response);
    }
    if method == Method::POST && rest.starts_with("invocation/") && rest.ends_with("/response") {
        let status = status_of(&body);
        api.with_timings(|t| {
            t.responses.push(at);
            t.status.get_or_insert(status);
        });
        return Ok(reply(StatusCode::ACCEPTED, Bytes::new()));
    }
    if method == Method::POST && (rest.ends_with("/error") || rest == "init/error") {
        let text = String::from_utf8_lossy(&body)
            .chars()
            .take(300)
            .collect::<String>();
        api.with_timings(|t| {
            t.responses.push(at);
            t.error.get_or_insert(format!("{rest}: {text}"));
        });
        return Ok(reply(StatusCode::ACCEPTED, Bytes::new()));
    }
    Ok(reply(StatusCode::NOT_FOUND, Bytes::new()))
}

/// One cold start of `binary` with `event`: the timings and the peak RSS (kB) after the warm call.
async fn one(
    binary: &Path,
    function: &str,
    event: Bytes,
    env: &[(String, String)],
) -> Result<(Timings, Option<u64>), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let address: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    let api = Arc::new(Api {
        event,
        spawned: Mutex::new(None),
        timings: Mutex::new(Timings::default()),
        changed: Notify::new(),
    });
    let server_api = Arc::clone(&api);
    let server = tokio::task::spawn_local(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let api = Arc::clone(&server_api);
            tokio::task::spawn_local(async move {
                let service = service_fn(move |request| serve(Arc::clone(&api), request));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let mut command = Command::new(binary);
    command
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        // JSON logs, as in AWS: the init log line carries the Redis connect time.
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Ok(mut spawned) = api.spawned.lock() {
        *spawned = Some(Instant::now());
    }
    let mut child: Child = command
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let waited = tokio::time::timeout(STEP_TIMEOUT, async {
        loop {
            let notified = api.changed.notified();
            let t = api.snapshot();
            if t.responses.len() >= INVOCATIONS || t.error.is_some() {
                return;
            }
            notified.await;
        }
    })
    .await;
    let rss = procs::peak_rss_of(child.id());
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    let mut logged = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use std::io::Read as _;
        let _ = stdout.read_to_string(&mut logged);
    }
    let mut timings = api.snapshot();
    timings.steps = INIT_STEPS
        .iter()
        .filter_map(|&(field, key)| Some((key, logged_ms(&logged, field)?)))
        .collect();
    if waited.is_err() {
        return Err(format!(
            "timed out after {} next and {} responses",
            timings.nexts.len(),
            timings.responses.len()
        ));
    }
    Ok((timings, rss))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The microseconds a function logged in `field` at init (e.g. `cache_connect_us`), in ms.
fn logged_ms(log: &str, field: &str) -> Option<f64> {
    let needle = format!("\"{field}\":");
    log.lines().find_map(|line| {
        let at = line.find(&needle)? + needle.len();
        let digits: String = line[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<u32>().ok().map(|us| f64::from(us) / 1000.0)
    })
}

/// Reads `KEY=VALUE` lines (the stack's env file); blank lines and `#` comments are skipped.
pub fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// Times `runs` cold starts of each function in `functions` with each of its sample events.
pub async fn measure(
    bin_dir: &Path,
    root: &Path,
    functions: &[String],
    env: &[(String, String)],
    runs: usize,
) -> Value {
    let mut rows = Vec::new();
    for function in functions {
        let binary = bin_dir.join(function);
        let size = std::fs::metadata(&binary).map(|m| m.len()).ok();
        let mut events: Vec<PathBuf> = std::fs::read_dir(root.join("events").join(function))
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        events.retain(|p| p.extension().is_some_and(|e| e == "json"));
        events.sort();
        for event_path in events {
            let event_name = event_path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("?")
                .to_owned();
            let Ok(event) = std::fs::read(&event_path) else {
                continue;
            };
            let mut samples: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            let (mut status, mut failure, mut rss) = (None, None, Vec::new());
            for _ in 0..runs {
                match one(&binary, function, Bytes::from(event.clone()), env).await {
                    Ok((t, peak)) => {
                        if let (Some(n1), Some(r1), Some(n2), Some(r2)) = (
                            t.nexts.first(),
                            t.responses.first(),
                            t.nexts.get(1),
                            t.responses.get(1),
                        ) {
                            samples.entry("init_ms").or_default().push(ms(*n1));
                            samples
                                .entry("first_response_ms")
                                .or_default()
                                .push(ms(*r1));
                            samples
                                .entry("first_invocation_ms")
                                .or_default()
                                .push(ms(r1.saturating_sub(*n1)));
                            samples
                                .entry("warm_invocation_ms")
                                .or_default()
                                .push(ms(r2.saturating_sub(*n2)));
                        }
                        for (key, value) in t.steps {
                            samples.entry(key).or_default().push(value);
                        }
                        status = status.or(t.status);
                        failure = failure.or(t.error);
                        rss.extend(peak);
                    }
                    Err(e) => failure = failure.or(Some(e)),
                }
            }
            let med = |k: &str| {
                samples
                    .get(k)
                    .and_then(|v| median(v))
                    .map(|m| (m * 100.0).round() / 100.0)
            };
            let mut rss_sorted = rss.clone();
            rss_sorted.sort_unstable();
            rows.push(json!({
                "function": function, "event": event_name, "runs": samples.get("init_ms").map_or(0, Vec::len),
                "init_ms": med("init_ms"), "first_response_ms": med("first_response_ms"),
                "first_invocation_ms": med("first_invocation_ms"), "warm_invocation_ms": med("warm_invocation_ms"),
                "tables_ms": med("tables_ms"), "dynamodb_client_ms": med("dynamodb_client_ms"),
                "cache_connect_ms": med("cache_connect_ms"),
                "status": status, "error": failure, "binary_bytes": size,
                "peak_rss_kb": rss_sorted.get(rss_sorted.len() / 2),
            }));
        }
    }
    json!({"runs": runs, "results": rows})
}

/// The terminal table of a cold-start report.
pub fn to_text(report: &Value) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "cold start: medians of {} runs per event, release binaries, times from spawn\n\n{:<16} {:<14} {:>9} {:>10} {:>11} {:>10} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8}  notes\n",
        report["runs"],
        "function",
        "event",
        "init ms",
        "1st resp",
        "1st invoke",
        "warm inv",
        "tables",
        "sdk ms",
        "redis ms",
        "status",
        "binary",
        "RSS"
    );
    for r in report["results"].as_array().into_iter().flatten() {
        let [
            function,
            event,
            init,
            first,
            first_invoke,
            warm,
            tables,
            sdk,
            connect,
            status,
            binary,
            rss,
        ] = row_cells(r);
        let _ = writeln!(
            out,
            "{function:<16} {event:<14} {init:>9} {first:>10} {first_invoke:>11} {warm:>10} {tables:>8} {sdk:>8} {connect:>8} {status:>8} {binary:>9} {rss:>8}  {}",
            r["error"].as_str().unwrap_or("")
        );
    }
    out
}

/// One result of a cold-start report as display cells: function, event, init, first response,
/// first and warm invocation, the init steps (the rate tables' parse, the DynamoDB client's
/// configuration, the first Redis connection; ms), status, binary size and peak RSS (MB). The terminal table and BENCHMARKS.md both show these.
pub fn row_cells(r: &Value) -> [String; 12] {
    let num = |v: &Value| {
        v.as_f64()
            .map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"))
    };
    [
        r["function"].as_str().unwrap_or("?").to_owned(),
        r["event"].as_str().unwrap_or("?").to_owned(),
        num(&r["init_ms"]),
        num(&r["first_response_ms"]),
        num(&r["first_invocation_ms"]),
        num(&r["warm_invocation_ms"]),
        num(&r["tables_ms"]),
        num(&r["dynamodb_client_ms"]),
        num(&r["cache_connect_ms"]),
        r["status"].as_str().unwrap_or("-").to_owned(),
        r["binary_bytes"]
            .as_u64()
            .map_or_else(|| "-".to_owned(), |b| format!("{:.1} MB", b as f64 / 1e6)),
        r["peak_rss_kb"].as_u64().map_or_else(
            || "-".to_owned(),
            |kb| format!("{:.1} MB", kb as f64 / 1024.0),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_are_key_value_lines() {
        let env = parse_env("# stack\nAPI_URL=http://127.0.0.1:9000\n\nCURSOR_SECRET=a=b\n");
        assert_eq!(
            env,
            vec![
                ("API_URL".to_owned(), "http://127.0.0.1:9000".to_owned()),
                ("CURSOR_SECRET".to_owned(), "a=b".to_owned())
            ]
        );
    }

    #[test]
    fn the_redis_connect_time_is_read_from_the_init_log_line() {
        let log = concat!(
            r#"{"timestamp":"...","level":"INFO","fields":{"message":"cache: connected to Redis","cache_connect_us":1734,"tls":true}}"#,
            "\n",
            r#"{"level":"INFO","fields":{"message":"request"}}"#
        );
        assert_eq!(logged_ms(log, "cache_connect_us"), Some(1.734));
        assert_eq!(logged_ms(log, "tables_us"), None);
        assert_eq!(logged_ms("no redis here", "cache_connect_us"), None);
    }

    #[test]
    fn the_status_is_the_api_gateway_status_code_or_ok() {
        assert_eq!(status_of(br#"{"statusCode":201,"body":"{}"}"#), "201");
        assert_eq!(status_of(br#"{"job":"warm-cache"}"#), "ok");
        assert_eq!(status_of(b"not json"), "ok");
    }
}
