//! The warm-cache job: on a schedule (and by hand), fill Redis with the hottest reads so that
//! cold execution environments start from L2 hits: the first page of the common list filters and
//! every policy on the newest page.

use std::collections::HashMap;
use std::time::Instant;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::LambdaEvent;
use serde::Serialize;

use super::policies::warm;
use crate::control::{CacheState, ControlError};
use crate::domain::PolicyType;
use crate::quoting::Quoting;
use crate::rating::RateTables;
use crate::telemetry::emf;

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
    /// What ElastiCache reported about the serverless cache before the run; none when no
    /// serverless cache is named (a plain Redis) or its state could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheState>,
    /// Why the run did not warm, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// warm-cache's metric line, one per run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WarmMetrics {
    /// Always `warm-cache`.
    pub function: String,
    /// Entries written.
    #[serde(rename = "Warmed")]
    pub warmed: u64,
    /// Entries that failed.
    #[serde(rename = "WarmFailed")]
    pub failed: u64,
    /// 1 when the run was skipped because the cache was not available.
    #[serde(rename = "WarmSkipped")]
    pub skipped: u64,
    /// 1 when the cache's state could not be read.
    #[serde(rename = "ControlPlaneErrors")]
    pub control_plane_errors: u64,
}

impl emf::Metrics for WarmMetrics {
    const DIMENSIONS: &'static [&'static [&'static str]] = &[&["function"]];
    const METRICS: &'static [(&'static str, emf::Unit)] = &[
        ("Warmed", emf::Unit::Count),
        ("WarmFailed", emf::Unit::Count),
        ("WarmSkipped", emf::Unit::Count),
        ("ControlPlaneErrors", emf::Unit::Count),
    ];
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

/// The Lambda handler. `status` is what ElastiCache said about the serverless cache just before
/// (`None`: no serverless cache is named, as with the local stack's Redis). A cache that is not
/// available is not warmed; a state that could not be read is warmed anyway (the data plane may
/// well answer when the control plane does not). It succeeds even when Redis is down: the report
/// says how much failed.
pub async fn handle(
    quoting: &Quoting,
    status: Option<Result<CacheState, ControlError>>,
    event: LambdaEvent<EventBridgeEvent>,
) -> Result<WarmReport, lambda_runtime::Error> {
    let started = Instant::now();
    let request_id = event.context.request_id.clone();
    let mut control_plane_errors = 0;
    let cache = match status {
        None => {
            tracing::info!(%request_id, "warm-cache: no serverless cache named (SERVERLESS_CACHE_NAME); warming without a status check");
            None
        }
        Some(Ok(state)) if state.is_available() => {
            tracing::info!(
                %request_id,
                cache = %state.name,
                status = %state.status,
                engine = state.engine.as_deref().unwrap_or("unknown"),
                max_data_storage = state.max_data_storage.as_deref().unwrap_or("unknown"),
                max_ecpu_per_second = state.max_ecpu_per_second.unwrap_or_default(),
                "warm-cache: serverless cache available"
            );
            Some(state)
        }
        Some(Ok(state)) => {
            let reason = format!("the serverless cache {} is {}", state.name, state.status);
            return Ok(skip(&request_id, reason, Some(state), started));
        }
        Some(Err(err @ ControlError::NotFound(_))) => {
            return Ok(skip(&request_id, err.to_string(), None, started));
        }
        Some(Err(err)) => {
            control_plane_errors = 1;
            tracing::warn!(%request_id, error = %err, "warm-cache: could not read the serverless cache's state; warming anyway");
            None
        }
    };
    let (warmed, failed) = Box::pin(crate::telemetry::traced(
        "warm-cache",
        &request_id,
        event.context.xray_trace_id.as_deref(),
        warm(quoting, &hot_filters(quoting.tables())),
    ))
    .await;
    let report = WarmReport {
        job: "warm-cache",
        warmed,
        failed,
        duration_ms: crate::telemetry::millis(started.elapsed()),
        cache,
        skipped: None,
    };
    if failed > 0 {
        tracing::warn!(%request_id, warmed, failed, "warm-cache: some entries failed (is Redis down?)");
    } else {
        tracing::info!(%request_id, warmed, duration_ms = report.duration_ms, "warm-cache");
    }
    print_metrics(&report, control_plane_errors);
    Ok(report)
}

/// A run that does not warm, because the cache is not there to take it.
fn skip(
    request_id: &str,
    reason: String,
    cache: Option<CacheState>,
    started: Instant,
) -> WarmReport {
    tracing::warn!(%request_id, reason = %reason, "warm-cache: skipped");
    let report = WarmReport {
        job: "warm-cache",
        warmed: 0,
        failed: 0,
        duration_ms: crate::telemetry::millis(started.elapsed()),
        cache,
        skipped: Some(reason),
    };
    print_metrics(&report, 0);
    report
}

fn print_metrics(report: &WarmReport, control_plane_errors: u64) {
    let metrics = WarmMetrics {
        function: report.job.to_owned(),
        warmed: u64::try_from(report.warmed).unwrap_or(u64::MAX),
        failed: u64::try_from(report.failed).unwrap_or(u64::MAX),
        skipped: u64::from(report.skipped.is_some()),
        control_plane_errors,
    };
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    println!("{}", emf::line(metrics, timestamp));
}
