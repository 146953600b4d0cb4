//! In-process tests: each function's real route table and telemetry layer, called directly with
//! requests shaped as API Gateway passes them, over the local stack's DynamoDB Local and Redis (and
//! servers of their own where a test stops or breaks one).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod auth;
mod cache;
mod control;
mod events;
mod faults;
mod health;
mod lifecycle;
mod lists;
mod rates;
mod routes;
mod secrets;
mod support;
