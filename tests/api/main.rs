//! End-to-end tests: real HTTP through `cargo lambda watch`, on the deployed API's paths.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]
#![allow(
    clippy::unreadable_literal,
    reason = "limits are written as clients send them"
)]

mod calculate_rate;
mod decisions;
mod lifecycle;
mod logs;
mod openapi;
mod policies;
mod quotes;
mod rates;
mod traces;
