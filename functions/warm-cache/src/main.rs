//! Scheduled cache warming: reports 501 Not Implemented until the cache release.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    policy_core::telemetry::init();
    run(service_fn(
        |event: LambdaEvent<EventBridgeEvent>| async move {
            Ok::<_, Error>(policy_core::api::not_implemented_job("warm-cache", &event))
        },
    ))
    .await
}
