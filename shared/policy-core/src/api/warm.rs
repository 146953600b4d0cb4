//! The warm-cache job: on a schedule (and by hand), fill Redis with the hottest reads so that
//! cold execution environments start from L2 hits: the first page of the common list filters and
//! every policy on the newest page.

use std::collections::HashMap;
use std::time::Instant;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::LambdaEvent;
use serde::Serialize;

use super::policies::warm;
use crate::domain::PolicyType;
use crate::quoting::Quoting;
use crate::rating::RateTables;

/// What a run did.
#[derive(Debug, Serialize)]
pub struct WarmReport {
    /// Always `warm-cache`.
    pub job: &'static str,
    /// Entries written to the cache.
    pub warmed: usize,
    /// Entries that could not be read or that Redis did not take.
    pub failed: usize,
    /// How long the run took.
    pub duration_ms: u64,
}

/// The list filters whose first pages are warmed: no filter (the default page and the brief's
/// `limit=10`), each state, each product, and each state with each product.
pub fn hot_filters(tables: &RateTables) -> Vec<HashMap<String, String>> {
    let one = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let mut filters: Vec<HashMap<String, String>> = vec![one(&[]), one(&[("limit", "10")])];
    for product in PolicyType::ALL {
        filters.push(one(&[("policy_type", product.as_str())]));
    }
    for state in tables.states() {
        filters.push(one(&[("state", state.code())]));
        for product in PolicyType::ALL {
            filters.push(one(&[
                ("state", state.code()),
                ("policy_type", product.as_str()),
            ]));
        }
    }
    filters
}

/// The Lambda handler. It succeeds even when Redis is down: the report says how much failed.
pub async fn handle(
    quoting: &Quoting,
    event: LambdaEvent<EventBridgeEvent>,
) -> Result<WarmReport, lambda_runtime::Error> {
    let started = Instant::now();
    let (warmed, failed) = warm(quoting, &hot_filters(quoting.tables())).await;
    let report = WarmReport {
        job: "warm-cache",
        warmed,
        failed,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    if failed > 0 {
        tracing::warn!(request_id = %event.context.request_id, warmed, failed, "warm-cache: some entries failed (is Redis down?)");
    } else {
        tracing::info!(request_id = %event.context.request_id, warmed, duration_ms = report.duration_ms, "warm-cache");
    }
    Ok(report)
}
