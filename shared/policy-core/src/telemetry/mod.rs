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

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub use layer::{Invocation, Telemetry};

/// Requests and DynamoDB calls slower than this are logged as warnings (the brief's p95 target).
pub const SLOW: Duration = Duration::from_millis(100);

/// Initialises tracing through the Lambda runtime.
pub fn init() {
    lambda_http::tracing::init_default_subscriber();
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

    #[test]
    fn outside_a_request_nothing_is_recorded_and_nothing_fails() {
        record_dynamodb("GetItem", Duration::from_millis(1));
        record_operator_error();
    }
}
