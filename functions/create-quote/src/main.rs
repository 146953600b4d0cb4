//! `POST /api/v1/quotes` and `GET /api/v1/quotes/{quote_id}`.

use lambda_http::{Error, run, service_fn};
use policy_core::api::quotes;
use policy_core::auth::AuthMode;
use policy_core::quoting::Quoting;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    policy_core::telemetry::init();
    let quoting = Quoting::from_env().await?;
    let auth = AuthMode::from_env();
    run(service_fn(|request| {
        quotes::handle(&quoting, auth, request)
    }))
    .await
}
