//! The core of policy-decision: domain types, money, the rating engine and the Lambda glue that
//! every function in `functions/` wires together.
//!
//! Dependency direction: [`domain`], [`money`], [`rating`], [`underwriting`], [`records`],
//! [`book`] and [`lifecycle`] are pure
//! (no I/O, no AWS, no HTTP); [`quoting`] holds the use cases over [`storage`], the DynamoDB adapter;
//! [`auth`] says who is calling and what they may do; [`api`] turns HTTP requests into calls on them and errors into RFC 9457 problem responses.
#![deny(missing_docs)]

pub mod api;
pub mod book;
#[cfg(feature = "aws")]
pub mod cache;
pub mod caller;
#[cfg(feature = "aws")]
pub mod control;
pub mod digest;
pub mod domain;
pub mod lifecycle;
pub mod money;
pub mod quoting;
pub mod rating;
pub mod records;
#[cfg(feature = "aws")]
pub mod sdk;
#[cfg(feature = "aws")]
pub mod secrets;
pub mod settings;
pub mod storage;
pub mod telemetry;
pub mod underwriting;
