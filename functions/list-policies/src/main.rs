//! `GET /api/v1/policies` and `GET /api/v1/policies/{policy_number}`.

use lambda_http::Error;
use policy_core::api::cursor::cursor_key;
use policy_core::api::policies::{Policies, ROUTES};
use policy_core::quoting::Quoting;
use policy_core::settings::Settings;

fn main() -> Result<(), Error> {
    policy_core::api::runtime()?.block_on(start())
}

async fn start() -> Result<(), Error> {
    policy_core::telemetry::init();
    let settings = Settings::from_env()?;
    let policies = Policies {
        quoting: Quoting::from_settings(&settings).await?,
        cursors: cursor_key(&settings).await?,
    };
    policy_core::api::serve(&ROUTES, policies, settings.auth).await
}
