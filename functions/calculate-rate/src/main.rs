//! `POST /api/v1/rates/calculate`.

use lambda_http::{Error, run, service_fn};
use policy_core::api::calculate_rate;
use policy_core::auth::AuthMode;
use policy_core::rating::RateTables;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    policy_core::telemetry::init();
    // Parsed during init, so the cold start pays for it and no request does.
    let tables = RateTables::builtin()?;
    let auth = AuthMode::from_env();
    run(service_fn(move |request| {
        calculate_rate::handle(tables, auth, request)
    }))
    .await
}
