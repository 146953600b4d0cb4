//! Scheduled renewal offers (EventBridge, daily); also invocable by hand.

use lambda_runtime::{Error, run, service_fn};
use policy_core::api::renewals;
use policy_core::quoting::Quoting;
use policy_core::settings::Settings;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    policy_core::telemetry::init();
    let settings = Settings::from_env()?;
    let quoting = Quoting::from_settings(&settings).await?;
    Box::pin(run(service_fn(|event| renewals::handle(&quoting, event)))).await
}
