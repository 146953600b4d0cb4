//! The DynamoDB client: how it is built, how each call is timed, and how its failures are reported.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};

use super::StorageError;

/// Builds the DynamoDB client once per cold start: short timeouts so a slow call fails inside the
/// function's own timeout, the SDK's standard retries with backoff, and `DYNAMODB_ENDPOINT` to
/// point at DynamoDB Local.
pub async fn client_from_env() -> Client {
    client_for(std::env::var("DYNAMODB_ENDPOINT").ok().as_deref()).await
}

/// As [`client_from_env`], with the endpoint given (`None`: the region's AWS endpoint).
pub async fn client_for(endpoint: Option<&str>) -> Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3));
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    Client::new(&loader.load().await)
}

/// Awaits one DynamoDB call, recording its latency for the request's metrics.
pub(super) async fn timed<T>(operation: &'static str, call: impl Future<Output = T>) -> T {
    let started = std::time::Instant::now();
    let output = call.await;
    crate::telemetry::record_dynamodb(operation, started.elapsed());
    output
}

/// Maps the SDK's error for `operation` to a [`StorageError`].
pub(super) fn dynamo<E: std::error::Error + 'static, R: std::fmt::Debug>(
    operation: &'static str,
) -> impl Fn(SdkError<E, R>) -> StorageError {
    move |err| StorageError::Dynamo {
        operation,
        message: DisplayErrorContext(&err).to_string(),
    }
}
