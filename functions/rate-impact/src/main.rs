//! `POST /api/v1/rates/impact`: a candidate rate table tried on the book in force.

use lambda_http::Error;
use policy_core::api::impact::ROUTES;
use policy_core::quoting::Quoting;
use policy_core::settings::Settings;

fn main() -> Result<(), Error> {
    policy_core::api::runtime()?.block_on(start())
}

async fn start() -> Result<(), Error> {
    policy_core::telemetry::init();
    let settings = Settings::from_env()?;
    let quoting = Quoting::from_settings(&settings).await?;
    policy_core::api::serve(&ROUTES, quoting, settings.auth).await
}
