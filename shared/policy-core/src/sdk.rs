//! The AWS SDK configuration every client shares: short timeouts, so a slow call fails inside the
//! function's own timeout, and the SDK's standard retries with backoff.

use std::time::Duration;

/// The SDK configuration, built once per client at cold start: 1 s to connect, 2 s an attempt, 5 s
/// a call, at most three attempts; `endpoint` points the client at a local stand-in (`None`: the
/// region's AWS endpoint).
pub async fn config(endpoint: Option<&str>) -> aws_config::SdkConfig {
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
    loader.load().await
}
