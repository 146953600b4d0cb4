//! Logs and metrics shared by every function.
//!
//! Logs go through the Lambda runtime's tracing set-up, which honours `AWS_LAMBDA_LOG_FORMAT=JSON`
//! and `AWS_LAMBDA_LOG_LEVEL` and puts the request id and X-Ray trace id on every line. The
//! [`layer::Telemetry`] layer around every function's router times each request, writes its one log
//! line and prints its EMF metric lines ([`emf`]). What a request does along the way (DynamoDB
//! calls, cache hits and misses, Redis failures) is recorded into that request's own
//! [`Invocation`] record, a task-local value, so two requests served at once by one process never
//! mix their figures. Nothing from a request body is logged, so no personal data can reach the
//! logs.

pub mod emf;
pub mod layer;
#[cfg(feature = "xray")]
pub mod xray;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use layer::{Invocation, Telemetry};

/// Requests and DynamoDB calls slower than this are logged as warnings (the brief's p95 target).
pub const SLOW: Duration = Duration::from_millis(100);

/// The `tracing` target of the spans meant for X-Ray ([`xray`]), and of nothing else: never logged.
pub const SPAN_TARGET: &str = "xray";

/// The span of a request's rating step in its trace ([`xray`]): the state and the product, nothing
/// about the risk. Only a request's own rating opens one, never a re-rate of the book, which rates
/// thousands of policies in one invocation.
pub fn rating_span(request: &crate::rating::RatingRequest) -> tracing::Span {
    tracing::info_span!(
        target: SPAN_TARGET,
        "rating",
        state = %request.state,
        policy_type = %request.policy_type,
    )
}

/// Runs a scheduled job's invocation (`function`'s, with the Lambda request id and trace header
/// the runtime handed over) as the invocation span of its trace, as the telemetry layer does for
/// each HTTP request; its DynamoDB, Redis and rating spans hang under it.
pub async fn traced<F: Future>(
    function: &str,
    request_id: &str,
    trace_header: Option<&str>,
    job: F,
) -> F::Output {
    #[cfg(feature = "xray")]
    {
        use tracing::Instrument;
        job.instrument(xray::invocation(function, request_id, trace_header))
            .await
    }
    #[cfg(not(feature = "xray"))]
    {
        let _ = (function, request_id, trace_header);
        job.await
    }
}

/// Targets whose TRACE and DEBUG lines can hold what a request carries: the Lambda runtime logs raw
/// invocation events (headers with bearer tokens, bodies with personal data) at TRACE. They are
/// held at INFO whatever level the environment asks for.
pub const PINNED_TARGETS: [&str; 3] =
    ["lambda_runtime", "lambda_runtime_api_client", "lambda_http"];

/// The log filter for `level` (the environment's, e.g. `trace`): that level for our code, and at
/// most INFO for [`PINNED_TARGETS`].
pub fn log_filter(level: &str) -> tracing_subscriber::EnvFilter {
    let level = level
        .parse::<tracing_subscriber::filter::LevelFilter>()
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    let filter = tracing_subscriber::EnvFilter::default().add_directive(level.into());
    let filter = match format!("{SPAN_TARGET}=off").parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    PINNED_TARGETS.iter().fold(filter, |filter, target| {
        match format!("{target}=info").parse() {
            Ok(directive) => filter.add_directive(directive),
            Err(_) => filter,
        }
    })
}

/// Initialises logging as the Lambda runtime does (JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`, the
/// level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`, INFO by default), with the runtime crates held
/// at INFO so a TRACE level set while debugging never prints a token or a body.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let logs = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time();
    let logs = if json {
        logs.json().boxed()
    } else {
        logs.boxed()
    };
    let subscriber = tracing_subscriber::registry().with(logs.with_filter(log_filter(&level)));
    // A second initialisation (tests) keeps the first subscriber. Without a daemon no tracing
    // layer is installed at all, so the spans meant for X-Ray are disabled at their callsites.
    #[cfg(feature = "xray")]
    if let Some(traces) = xray::layer() {
        let _ = subscriber.with(traces).try_init();
        return;
    }
    let _ = subscriber.try_init();
}

pub(crate) fn millis(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// Where a cache lookup was answered, or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheLookup {
    /// The cache's name, e.g. `list`.
    pub cache: &'static str,
    /// `l1` or `l2`.
    pub level: &'static str,
}

/// What one request did, filled in while it runs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Each DynamoDB call's latency in milliseconds, in order.
    pub dynamodb_ms: Vec<u64>,
    /// Hits and misses by cache and level.
    pub cache: Vec<(CacheLookup, u64, u64)>,
    /// Redis failures.
    pub cache_errors: u64,
    /// Failures that are an operator's to fix.
    pub operator_errors: u64,
}

/// The record of the request being served: shared between the layer that made it and the task-local
/// slot the request's code writes through.
pub(crate) type Record = Arc<Mutex<Recorded>>;

tokio::task_local! {
    static CURRENT: Record;
}

/// Runs `future` with `record` as the record that [`record_dynamodb`] and friends write to.
pub(crate) async fn recording<F: Future>(record: Record, future: F) -> F::Output {
    CURRENT.scope(record, future).await
}

/// Changes the current request's record; outside a request (a scheduled job, a test calling
/// storage directly) there is none, and nothing is recorded.
fn with_current(change: impl FnOnce(&mut Recorded)) {
    let _ = CURRENT.try_with(|record| {
        let mut recorded = record.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut recorded);
    });
}

/// Records one DynamoDB call's latency for the current request's metrics, warning when slow.
pub fn record_dynamodb(operation: &'static str, elapsed: Duration) {
    if elapsed > SLOW {
        tracing::warn!(
            operation,
            elapsed_ms = millis(elapsed),
            "slow DynamoDB call"
        );
    }
    with_current(|recorded| recorded.dynamodb_ms.push(millis(elapsed)));
}

/// Records a cache lookup's hit or miss at one level for the current request.
pub fn record_cache(lookup: CacheLookup, hit: bool) {
    with_current(|recorded| {
        let at = recorded
            .cache
            .iter()
            .position(|(l, ..)| *l == lookup)
            .unwrap_or_else(|| {
                recorded.cache.push((lookup, 0, 0));
                recorded.cache.len() - 1
            });
        let counts = &mut recorded.cache[at];
        if hit {
            counts.1 += 1;
        } else {
            counts.2 += 1;
        }
    });
}

/// Records a Redis failure for the current request.
pub fn record_cache_error() {
    with_current(|recorded| recorded.cache_errors += 1);
}

/// Records a failure an operator must fix (not the caller, not a passing fault).
pub fn record_operator_error() {
    with_current(|recorded| recorded.operator_errors += 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn figures_go_to_the_request_that_made_them() {
        let first = Record::default();
        let second = Record::default();
        let lookup = CacheLookup {
            cache: "list",
            level: "l1",
        };
        recording(first.clone(), async {
            record_dynamodb("GetItem", Duration::from_millis(3));
            recording(second.clone(), async {
                record_dynamodb("Query", Duration::from_millis(7));
                record_cache(lookup, true);
            })
            .await;
            record_cache(lookup, false);
            record_cache_error();
        })
        .await;
        let first = first.lock().unwrap().clone();
        let second = second.lock().unwrap().clone();
        assert_eq!(first.dynamodb_ms, vec![3]);
        assert_eq!(first.cache, vec![(lookup, 0, 1)]);
        assert_eq!(first.cache_errors, 1);
        assert_eq!(second.dynamodb_ms, vec![7]);
        assert_eq!(second.cache, vec![(lookup, 1, 0)]);
        assert_eq!(second.cache_errors, 0);
    }

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn at_trace_the_runtime_crates_still_log_nothing_below_info() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(log_filter("trace"))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "lambda_runtime", "raw event: authorization Bearer eyJ.secret");
            tracing::debug!(target: "lambda_http::request", "body: {{\"zip_code\":\"90210\"}}");
            tracing::info!(target: "lambda_runtime", "runtime ready");
            tracing::trace!(target: "policy_core::cache", "our own trace line");
        });
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(
            !log.contains("eyJ.secret") && !log.contains("90210"),
            "{log}"
        );
        assert!(log.contains("runtime ready"), "{log}");
        assert!(
            log.contains("our own trace line"),
            "the level asked for holds for our code: {log}"
        );
    }

    #[test]
    fn outside_a_request_nothing_is_recorded_and_nothing_fails() {
        record_dynamodb("GetItem", Duration::from_millis(1));
        record_operator_error();
    }
}
