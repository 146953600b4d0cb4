//! `GET /api/v1/health`.

use lambda_http::Error;
use policy_core::api::health::{Health, ROUTES};
use policy_core::settings::Settings;

fn main() -> Result<(), Error> {
    policy_core::api::runtime()?.block_on(start())
}

async fn start() -> Result<(), Error> {
    policy_core::telemetry::init();
    let settings = Settings::from_env()?;
    let health = Health::from_settings(&settings, env!("GIT_REVISION")).await?;
    policy_core::api::serve(&ROUTES, health, settings.auth).await
}
