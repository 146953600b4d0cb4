//! The core of policy-decision: domain types, money, the rating engine and the Lambda glue that
//! every function in `functions/` wires together.
//!
//! Dependency direction: [`domain`], [`money`] and [`rating`] are pure (no I/O, no AWS, no HTTP);
//! [`api`] turns HTTP requests into calls on them and errors into RFC 9457 problem responses.
#![deny(missing_docs)]

pub mod api;
pub mod domain;
pub mod money;
pub mod rating;
pub mod telemetry;
pub mod underwriting;
