//! The transactions table (each policy's ledger) and the writes that change a policy: each one a
//! single DynamoDB transaction that puts the policy's new state on condition that its version is
//! the one read, appends the ledger entry on condition that its number is free, and, where there is
//! one, records the idempotency key and marks the quote it came from bound.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::client::{sdk_error, timed};
use super::items::{expiration_month, from_item, policy_item, quote_item, to_item};
use super::{DynamoStore, IdempotencyRecord, Item, StorageError};
use crate::lifecycle::Transaction;
use crate::records::{Policy, PolicyStatus, Quote};

/// A ledger entry as stored: the transaction under its policy's number.
#[derive(Serialize, Deserialize)]
struct TransactionItem {
    policy_number: String,
    #[serde(flatten)]
    transaction: Transaction,
}

/// A change to write to a policy.
#[derive(Debug)]
pub struct Append<'a> {
    /// The policy as it is after the change, its version already one more than `read_version`.
    pub policy: &'a Policy,
    /// The version the change was worked out from.
    pub read_version: u64,
    /// The entries to append: the new transaction, after a new-business entry for a policy bound
    /// before ledgers were kept.
    pub transactions: &'a [Transaction],
    /// The idempotency key's record, when the request has one.
    pub idempotency: Option<&'a IdempotencyRecord>,
    /// The quote the change is bound from (a renewal offer, a referred endorsement), marked bound
    /// in the same transaction if it is still bindable at `at`.
    pub bind_quote: Option<&'a Quote>,
    /// When.
    pub at: OffsetDateTime,
}

/// How a change to a policy went.
#[derive(Debug, PartialEq)]
pub enum Appended {
    /// Written.
    Done,
    /// The policy changed since it was read (or, for a renewal, its offer is no longer this one).
    Conflict,
    /// The idempotency key was used before; its record.
    KeyUsed(IdempotencyRecord),
    /// The quote to bind is no longer bindable.
    QuoteRefused,
}

/// How a renewal offer's write went.
#[derive(Debug, PartialEq, Eq)]
pub enum Offered {
    /// The offer is stored and the policy names it.
    Done,
    /// The policy already has an offer, or changed since it was read.
    Taken,
}

/// A policy due for renewal, as the `by_expiration` index shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Due {
    /// The policy.
    pub policy_number: String,
    /// Where.
    pub state: crate::domain::State,
    /// The day the term ends.
    #[serde(with = "crate::records::date_format")]
    pub expiration_date: Date,
}

/// The condition that a policy item is at `version` (an item written before versions were kept
/// is at version 0).
fn at_version(version: u64) -> &'static str {
    if version == 0 {
        "attribute_exists(policy_number) AND (attribute_not_exists(version) OR version = :version)"
    } else {
        "attribute_exists(policy_number) AND version = :version"
    }
}

fn mapping<E: std::fmt::Display>(err: E) -> StorageError {
    StorageError::Mapping(err.to_string())
}

impl DynamoStore {
    /// The write of a ledger entry, on condition that its number is free.
    pub(super) fn ledger_put(
        &self,
        policy_number: &str,
        transaction: &Transaction,
    ) -> Result<Put, StorageError> {
        Put::builder()
            .table_name(&self.tables.transactions)
            .set_item(Some(to_item(&TransactionItem {
                policy_number: policy_number.to_owned(),
                transaction: transaction.clone(),
            })?))
            .condition_expression("attribute_not_exists(seq)")
            .build()
            .map_err(mapping)
    }

    /// A policy, strongly consistent: what a change is worked out from.
    pub async fn get_policy_for_update(
        &self,
        policy_number: &str,
    ) -> Result<Option<Policy>, StorageError> {
        self.read_policy(policy_number, true).await
    }

    /// The idempotency record stored under `key`, if one is there and has not expired by `now`.
    pub async fn find_idempotency(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<IdempotencyRecord>, StorageError> {
        Ok(self
            .idempotency_record(key)
            .await?
            .filter(|record| record.ttl >= now.unix_timestamp()))
    }

    /// A policy's ledger, oldest first (strongly consistent).
    pub async fn ledger(&self, policy_number: &str) -> Result<Vec<Transaction>, StorageError> {
        let mut transactions = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = timed(
                "Query",
                &self.tables.transactions,
                self.client
                    .query()
                    .table_name(&self.tables.transactions)
                    .key_condition_expression("policy_number = :policy")
                    .expression_attribute_values(
                        ":policy",
                        AttributeValue::S(policy_number.to_owned()),
                    )
                    .consistent_read(true)
                    .set_exclusive_start_key(start.take())
                    .send(),
            )
            .await
            .map_err(sdk_error("Query"))?;
            for item in output.items.unwrap_or_default() {
                let stored: TransactionItem = from_item(item)?;
                transactions.push(stored.transaction);
            }
            match output.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(transactions),
            }
        }
    }

    /// Writes a change to a policy in one transaction; see [`Append`].
    pub async fn append(&self, append: &Append<'_>) -> Result<Appended, StorageError> {
        let mut items = Vec::with_capacity(4 + append.transactions.len());
        if let Some(record) = append.idempotency {
            items.push(
                TransactWriteItem::builder()
                    .put(self.put_key(record, append.at)?)
                    .build(),
            );
        }
        let key_at = append.idempotency.map(|_| 0);
        let quote_at = append.bind_quote.map(|_| items.len());
        if let Some(quote) = append.bind_quote {
            items.push(
                TransactWriteItem::builder()
                    .update(self.bind_quote_update(
                        &quote.quote_id,
                        &append.policy.policy_number,
                        append.transactions.last().map_or("", |t| t.actor.as_str()),
                        append.at,
                    )?)
                    .build(),
            );
        }
        let mut policy = Put::builder()
            .table_name(&self.tables.policies)
            .set_item(Some(policy_item(append.policy)?))
            .condition_expression(at_version(append.read_version).to_owned())
            .expression_attribute_values(
                ":version",
                AttributeValue::N(append.read_version.to_string()),
            );
        // A renewal binds only the offer the policy names.
        if let Some(quote) = append.bind_quote.filter(|q| {
            q.policy_change
                .as_ref()
                .is_some_and(|c| c.kind == crate::records::ChangeKind::Renewal)
        }) {
            policy = policy
                .condition_expression(format!(
                    "{} AND renewal_offer = :offer",
                    at_version(append.read_version)
                ))
                .expression_attribute_values(":offer", AttributeValue::S(quote.quote_id.clone()));
        }
        items.push(
            TransactWriteItem::builder()
                .put(policy.build().map_err(mapping)?)
                .build(),
        );
        for transaction in append.transactions {
            let put = self.ledger_put(&append.policy.policy_number, transaction)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        for _ in 0..3 {
            match self.transact(&items).await? {
                None => return Ok(Appended::Done),
                Some(at) if Some(at) == key_at => {
                    let key = append
                        .idempotency
                        .map_or("", |r| r.idempotency_key.as_str());
                    if let Some(existing) = self.idempotency_record(key).await? {
                        return Ok(Appended::KeyUsed(existing));
                    }
                }
                Some(at) if Some(at) == quote_at => return Ok(Appended::QuoteRefused),
                // The policy's version moved, or a ledger entry of that number is already there:
                // either way another change got in first.
                Some(_) => return Ok(Appended::Conflict),
            }
        }
        Err(StorageError::Unavailable {
            operation: "TransactWriteItems",
            message: "idempotency record vanished".into(),
        })
    }

    /// Stores a renewal offer and names it on the policy, on condition that the policy is still at
    /// `read_version` and has no offer yet: of two renewal runs, one makes the offer.
    pub async fn offer_renewal(
        &self,
        offer: &Quote,
        policy_number: &str,
        read_version: u64,
    ) -> Result<Offered, StorageError> {
        let put = Put::builder()
            .table_name(&self.tables.quotes)
            .set_item(Some(quote_item(offer)?))
            .condition_expression("attribute_not_exists(quote_id)")
            .build()
            .map_err(mapping)?;
        let update = Update::builder()
            .table_name(&self.tables.policies)
            .key("policy_number", AttributeValue::S(policy_number.to_owned()))
            .update_expression("SET renewal_offer = :offer")
            .condition_expression(format!(
                "{} AND attribute_not_exists(renewal_offer)",
                at_version(read_version)
            ))
            .expression_attribute_values(":offer", AttributeValue::S(offer.quote_id.clone()))
            .expression_attribute_values(":version", AttributeValue::N(read_version.to_string()))
            .build()
            .map_err(mapping)?;
        let items = [
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(update).build(),
        ];
        match self.transact(&items).await? {
            None => Ok(Offered::Done),
            Some(_) => Ok(Offered::Taken),
        }
    }

    /// The active policies without a renewal offer whose term ends from `from` to `to` (both
    /// included), from the `by_expiration` index: one Query per month in between, every page.
    pub async fn due_for_renewal(&self, from: Date, to: Date) -> Result<Vec<Due>, StorageError> {
        let mut due = Vec::new();
        let mut month = Date::from_calendar_date(from.year(), from.month(), 1).map_err(mapping)?;
        while month <= to {
            let mut start: Option<Item> = None;
            loop {
                let output = timed(
                    "Query",
                    &self.tables.policies,
                    self.client
                        .query()
                        .table_name(&self.tables.policies)
                        .index_name("by_expiration")
                        .key_condition_expression(
                            "expiration_month = :month AND expiration_key BETWEEN :from AND :to",
                        )
                        .filter_expression(
                            "#status = :active AND attribute_not_exists(renewal_offer)",
                        )
                        .projection_expression("policy_number, #state, expiration_date")
                        .expression_attribute_names("#status", "status")
                        .expression_attribute_names("#state", "state")
                        .expression_attribute_values(
                            ":month",
                            AttributeValue::S(expiration_month(month)),
                        )
                        .expression_attribute_values(":from", AttributeValue::S(format!("{from}#")))
                        .expression_attribute_values(":to", AttributeValue::S(format!("{to}#~")))
                        .expression_attribute_values(
                            ":active",
                            AttributeValue::S(PolicyStatus::Active.as_str().to_owned()),
                        )
                        .set_exclusive_start_key(start.take())
                        .send(),
                )
                .await
                .map_err(sdk_error("Query"))?;
                for item in output.items.unwrap_or_default() {
                    due.push(from_item(item)?);
                }
                match output.last_evaluated_key {
                    Some(key) => start = Some(key),
                    None => break,
                }
            }
            month = crate::records::term_end(month, 1);
        }
        Ok(due)
    }
}
