//! `GET /api/v1/health`.

use lambda_http::{Error, run, service_fn};
use policy_core::api::health::{self, Health};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    policy_core::telemetry::init();
    let health = Health::from_env(env!("GIT_REVISION")).await?;
    run(service_fn(|request| health::handle(&health, request))).await
}
