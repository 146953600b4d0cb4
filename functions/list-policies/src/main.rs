//! `GET /api/v1/policies` and `GET /api/v1/policies/{policy_number}`.

use lambda_http::{Error, run, service_fn};
use policy_core::api::cursor::CursorKey;
use policy_core::api::policies::{self, Policies};
use policy_core::auth::AuthMode;
use policy_core::quoting::Quoting;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    policy_core::telemetry::init();
    let policies = Policies {
        quoting: Quoting::from_env().await?,
        cursors: CursorKey::from_env()?,
        auth: AuthMode::from_env(),
    };
    run(service_fn(|request| policies::handle(&policies, request))).await
}
