//! DynamoDB storage for quotes, policies, each policy's ledger and idempotency records.
//!
//! Items are mapped with `serde_dynamo`; money is written as a DynamoDB number from the decimal's
//! own text and read back exactly, never through a float. Every write that must not happen twice
//! is conditional, and the multi-item writes are transactions.
//!
//! Inside: `client` builds the SDK client, times each call and tells a passing failure from a
//! refusal ([`StorageError`]); `items` maps records to items and back; `quotes`, `policies` and
//! `ledger` (the transactions table, and the writes that change a policy) are the calls on each table, including which index answers a
//! [`PolicyFilter`](crate::records::PolicyFilter).

//! Only [`StorageError`] is built without the `aws` feature: the pure core names it.

#[cfg(feature = "aws")]
mod client;
#[cfg(feature = "aws")]
mod items;
#[cfg(feature = "aws")]
mod ledger;
#[cfg(feature = "aws")]
mod policies;
#[cfg(feature = "aws")]
mod quotes;
#[cfg(feature = "aws")]
pub mod shards;

#[cfg(feature = "aws")]
pub use client::client_for;
#[cfg(feature = "aws")]
pub use items::{
    ALL_POLICIES, IDEMPOTENCY_TTL_SECS, IdempotencyRecord, effective_key, expiration_month,
    policy_from_item, policy_item, state_product,
};
#[cfg(feature = "aws")]
pub use ledger::{Append, Appended, Due, Offered};
#[cfg(feature = "aws")]
pub use policies::{IN_FORCE_PAGE, MAX_LIST_QUERIES, PolicyPage};
#[cfg(feature = "aws")]
pub use quotes::{Bound, Decided, Inserted, QuotePage};

/// A DynamoDB item.
#[cfg(feature = "aws")]
pub type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

pub use crate::settings::TableNames;

/// Why storage failed. None of these is the client's fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// DynamoDB could not answer now (throttling, a passing fault, a timeout, the network); the
    /// same call may succeed later.
    #[error("DynamoDB {operation} is unavailable: {message}")]
    Unavailable {
        /// The operation.
        operation: &'static str,
        /// The SDK's description.
        message: String,
    },
    /// DynamoDB refused the call for a reason a retry does not change (permissions, a missing
    /// table, an invalid request, credentials): an operator must act.
    #[error("DynamoDB {operation} was refused ({code}): {message}")]
    Rejected {
        /// The operation.
        operation: &'static str,
        /// The service's error code, e.g. `AccessDeniedException`.
        code: String,
        /// The SDK's description.
        message: String,
    },
    /// An item could not be mapped.
    #[error("item mapping failed: {0}")]
    Mapping(String),
}

impl StorageError {
    /// Whether someone on our side must act (configuration, permissions, tables, items that do
    /// not map), rather than wait for a passing failure to clear.
    pub fn is_operator_error(&self) -> bool {
        match self {
            StorageError::Rejected { .. } | StorageError::Mapping(_) => true,
            StorageError::Unavailable { .. } => false,
        }
    }
}

/// The DynamoDB adapter.
#[cfg(feature = "aws")]
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    tables: TableNames,
}

#[cfg(feature = "aws")]
impl DynamoStore {
    /// An adapter over `client` and `tables`.
    pub fn new(client: aws_sdk_dynamodb::Client, tables: TableNames) -> DynamoStore {
        DynamoStore { client, tables }
    }
}
