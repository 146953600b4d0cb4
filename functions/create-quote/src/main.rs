//! `POST /api/v1/quotes`, `GET /api/v1/quotes/{quote_id}`, and the underwriters' queue and decisions.

use lambda_http::Error;
use policy_core::api::cursor::cursor_key;
use policy_core::api::quotes::{Quotes, ROUTES};
use policy_core::quoting::Quoting;
use policy_core::settings::Settings;

fn main() -> Result<(), Error> {
    policy_core::api::runtime()?.block_on(start())
}

async fn start() -> Result<(), Error> {
    policy_core::telemetry::init();
    let settings = Settings::from_env()?;
    let quotes = Quotes {
        quoting: Quoting::from_settings(&settings).await?,
        cursors: cursor_key(&settings).await?,
    };
    policy_core::api::serve(&ROUTES, quotes, settings.auth).await
}
