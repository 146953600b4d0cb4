//! `POST /api/v1/quotes/{quote_id}/bind`: answers 501 Not Implemented until the quotes and policies release.

use lambda_http::{Error, Request, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    policy_core::telemetry::init();
    run(service_fn(|request: Request| async move {
        Ok::<_, Error>(policy_core::api::not_implemented("bind-quote", &request))
    }))
    .await
}
