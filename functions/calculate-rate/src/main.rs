//! `POST /api/v1/rates/calculate`.

use lambda_http::Error;
use policy_core::api::calculate_rate::{ROUTES, Rates};
use policy_core::rating::RateTables;
use policy_core::settings::Settings;

fn main() -> Result<(), Error> {
    policy_core::api::runtime()?.block_on(start())
}

async fn start() -> Result<(), Error> {
    policy_core::telemetry::init();
    let settings = Settings::from_env()?;
    // Parsed during init, so the cold start pays for it and no request does.
    let tables = RateTables::builtin()?;
    policy_core::api::serve(&ROUTES, Rates { tables }, settings.auth).await
}
