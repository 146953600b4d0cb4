//! The renew-policies job: daily (and by hand), offer a renewal to every active policy whose term
//! ends within its state's notice days, once.

use std::time::Instant;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use time::OffsetDateTime;

use crate::quoting::{Quoting, RenewalRun};

/// What a run did.
#[derive(Debug, Serialize)]
pub struct RenewalReport {
    /// Always `renew-policies`.
    pub job: &'static str,
    /// The run's counts.
    #[serde(flatten)]
    pub run: RenewalRun,
    /// How long it took.
    pub duration_ms: u64,
}

/// The Lambda handler. A policy that cannot be offered is reported and logged, not retried by
/// failing the run: tomorrow's run finds it again.
pub async fn handle(
    quoting: &Quoting,
    event: LambdaEvent<EventBridgeEvent>,
) -> Result<RenewalReport, lambda_runtime::Error> {
    let started = Instant::now();
    let now = OffsetDateTime::now_utc();
    let context = &event.context;
    let run = Box::pin(crate::telemetry::traced(
        "renew-policies",
        &context.request_id,
        context.xray_trace_id.as_deref(),
        quoting.renewal_run(now.replace_nanosecond(0).unwrap_or(now)),
    ))
    .await?;
    let report = RenewalReport {
        job: "renew-policies",
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        run,
    };
    for (policy_number, why) in &report.run.failed {
        tracing::warn!(request_id = %event.context.request_id, policy_number, why, "renew-policies: no offer");
    }
    tracing::info!(
        request_id = %event.context.request_id,
        due = report.run.due,
        offered = report.run.offered,
        already_offered = report.run.already_offered,
        failed = report.run.failed.len(),
        duration_ms = report.duration_ms,
        "renew-policies"
    );
    Ok(report)
}
