//! Scheduled cache warming (EventBridge, every 5 minutes); also invocable by hand.

use lambda_runtime::{Error, run, service_fn};
use policy_core::api::warm;
use policy_core::control::CacheControl;
use policy_core::quoting::Quoting;
use policy_core::settings::Settings;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    policy_core::telemetry::init();
    let settings = Settings::from_env()?;
    let quoting = Quoting::from_settings(&settings).await?;
    // The serverless cache's control plane, when one is named: each run reads its state first.
    let control = match settings.serverless_cache.clone() {
        Some(name) => Some(CacheControl::new(name, settings.elasticache_endpoint.as_deref()).await),
        None => None,
    };
    Box::pin(run(service_fn(|event| async {
        let status = match &control {
            Some(control) => Some(control.describe().await),
            None => None,
        };
        warm::handle(&quoting, status, event).await
    })))
    .await
}
