//! Logging set-up shared by every function.

/// Initialises tracing through the Lambda runtime, which honours `AWS_LAMBDA_LOG_FORMAT=JSON` and
/// `AWS_LAMBDA_LOG_LEVEL` (falling back to `RUST_LOG`, then `INFO`).
pub fn init() {
    lambda_http::tracing::init_default_subscriber();
}
