//! The quotes table and the writes around it: a new quote with its idempotency record, reading a
//! quote back, and binding a quote into a policy in one transaction.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use time::OffsetDateTime;

use super::client::{is_transient_code, sdk_error, timed};
use super::items::{
    REFERRED_QUEUE, from_item, policy_item, quote_from_item, quote_item, resume_key, start_key,
    to_item,
};
use super::{DynamoStore, IdempotencyRecord, Item, StorageError};
use crate::lifecycle::Transaction;
use crate::records::{DecisionEntry, Policy, Quote};

/// The result of inserting a quote.
#[derive(Debug)]
pub enum Inserted {
    /// Written.
    Created,
    /// The quote id is taken; try another.
    IdTaken,
    /// The idempotency key was used before; here is what for.
    KeyUsed(IdempotencyRecord),
}

/// The result of binding a quote.
#[derive(Debug)]
pub enum Bound {
    /// The policy was written and the quote marked bound.
    Created,
    /// The quote did not meet the conditions; it is returned as it is now (or `None` if absent).
    Refused(Option<Box<Quote>>),
    /// The policy number is taken; try another.
    NumberTaken,
}

/// The result of recording an underwriter's decision.
#[derive(Debug)]
pub enum Decided {
    /// Recorded: the quote is no longer referred.
    Done,
    /// The quote was not referred, unbound and unexpired; it is returned as it is now (or `None`
    /// if absent).
    Refused(Option<Box<Quote>>),
    /// The idempotency key was used before; here is what for.
    KeyUsed(IdempotencyRecord),
}

/// What the reasons of a cancelled transaction say to do.
#[derive(Debug, PartialEq, Eq)]
enum Cancelled {
    /// The condition on this item failed.
    ConditionFailed(usize),
    /// DynamoDB refused an item for a reason no retry changes.
    Refused {
        /// The reason's code, e.g. `ValidationError`.
        code: String,
        /// The reason's message, if it has one.
        message: Option<String>,
    },
    /// Other transactions or throttling were in the way: try again.
    Retry,
}

/// Reads the per-item reasons of a cancelled transaction; a failed condition comes first, as it
/// is an answer rather than a failure.
fn read_cancellation(reasons: &[CancellationReason]) -> Cancelled {
    fn code(reason: &CancellationReason) -> &str {
        reason.code().unwrap_or("None")
    }
    if let Some(item) = reasons
        .iter()
        .position(|reason| code(reason) == "ConditionalCheckFailed")
    {
        return Cancelled::ConditionFailed(item);
    }
    reasons
        .iter()
        .find(|reason| code(reason) != "None" && !is_transient_code(code(reason)))
        .map_or(Cancelled::Retry, |reason| Cancelled::Refused {
            code: code(reason).to_owned(),
            message: reason.message().map(str::to_owned),
        })
}

impl DynamoStore {
    /// Writes a new quote, with its idempotency record in the same transaction when there is one.
    pub async fn insert_quote(
        &self,
        quote: &Quote,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<Inserted, StorageError> {
        let item = quote_item(quote)?;
        let Some(record) = idempotency else {
            let result = timed(
                "PutItem",
                &self.tables.quotes,
                self.client
                    .put_item()
                    .table_name(&self.tables.quotes)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(quote_id)")
                    .send(),
            )
            .await;
            return match result {
                Ok(_) => Ok(Inserted::Created),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(PutItemError::is_conditional_check_failed_exception) =>
                {
                    Ok(Inserted::IdTaken)
                }
                Err(err) => Err(sdk_error("PutItem")(err)),
            };
        };
        let put_quote = Put::builder()
            .table_name(&self.tables.quotes)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(quote_id)")
            .build()
            .map_err(|e| StorageError::Mapping(e.to_string()))?;
        let put_key = self.put_key(record, quote.created_at)?;
        let items = [
            TransactWriteItem::builder().put(put_key).build(),
            TransactWriteItem::builder().put(put_quote).build(),
        ];
        for _ in 0..3 {
            match self.transact(&items).await? {
                None => return Ok(Inserted::Created),
                Some(0) => {
                    // The key is taken: by a committed transaction, whose record we can read (a
                    // record that expired in between is simply retried).
                    if let Some(existing) = self.idempotency_record(&record.idempotency_key).await?
                    {
                        return Ok(Inserted::KeyUsed(existing));
                    }
                }
                Some(_) => return Ok(Inserted::IdTaken),
            }
        }
        Err(StorageError::Unavailable {
            operation: "TransactWriteItems",
            message: "idempotency record vanished".into(),
        })
    }

    /// The write of an idempotency record: on condition that the key is free, or held by a record
    /// whose TTL has passed (DynamoDB deletes expired items only eventually, and an expired key
    /// must neither block nor replay).
    pub(super) fn put_key(
        &self,
        record: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Result<Put, StorageError> {
        Put::builder()
            .table_name(&self.tables.idempotency)
            .set_item(Some(to_item(record)?))
            .condition_expression("attribute_not_exists(idempotency_key) OR #ttl < :now")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(
                ":now",
                AttributeValue::N(now.unix_timestamp().to_string()),
            )
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StorageError::Mapping(e.to_string()))
    }

    /// Runs a transaction: `None` when it committed, `Some(i)` when the condition on item `i`
    /// failed. Concurrent transactions on the same items conflict rather than wait, so conflicts
    /// are retried with backoff until one of them has committed and the others see its result.
    /// A cancellation for a reason no retry changes (an invalid item, say) is refused at once.
    pub(super) async fn transact(
        &self,
        items: &[TransactWriteItem],
    ) -> Result<Option<usize>, StorageError> {
        let tables = tables_written(items);
        for attempt in 0..8u32 {
            let result = timed(
                "TransactWriteItems",
                &tables,
                self.client
                    .transact_write_items()
                    .set_transact_items(Some(items.to_vec()))
                    .send(),
            )
            .await;
            let Err(err) = result else { return Ok(None) };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) =
                err.as_service_error()
            else {
                return Err(sdk_error("TransactWriteItems")(err));
            };
            match read_cancellation(cancel.cancellation_reasons()) {
                Cancelled::ConditionFailed(item) => return Ok(Some(item)),
                Cancelled::Refused { code, message } => {
                    return Err(StorageError::Rejected {
                        operation: "TransactWriteItems",
                        code,
                        message: message
                            .or_else(|| cancel.message().map(str::to_owned))
                            .unwrap_or_default(),
                    });
                }
                Cancelled::Retry => {}
            }
            tokio::time::sleep(Duration::from_millis(10 << attempt.min(5))).await;
        }
        Err(StorageError::Unavailable {
            operation: "TransactWriteItems",
            message: "conflicts did not settle".into(),
        })
    }

    pub(super) async fn idempotency_record(
        &self,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StorageError> {
        let output = timed(
            "GetItem",
            &self.tables.idempotency,
            self.client
                .get_item()
                .table_name(&self.tables.idempotency)
                .key("idempotency_key", AttributeValue::S(key.to_owned()))
                .consistent_read(true)
                .send(),
        )
        .await
        .map_err(sdk_error("GetItem"))?;
        output.item.map(from_item).transpose()
    }

    /// Reads a quote (strongly consistent).
    pub async fn get_quote(&self, quote_id: &str) -> Result<Option<Quote>, StorageError> {
        let output = timed(
            "GetItem",
            &self.tables.quotes,
            self.client
                .get_item()
                .table_name(&self.tables.quotes)
                .key("quote_id", AttributeValue::S(quote_id.to_owned()))
                .consistent_read(true)
                .send(),
        )
        .await
        .map_err(sdk_error("GetItem"))?;
        output.item.map(quote_from_item).transpose()
    }

    /// The update that marks quote `quote_id` bound to `policy_number` by `by`, on condition that
    /// it is quoted, accepted and unexpired at `now`. A bound quote is part of its policy's record:
    /// it loses its TTL.
    pub(super) fn bind_quote_update(
        &self,
        quote_id: &str,
        policy_number: &str,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Update, StorageError> {
        Update::builder()
            .table_name(&self.tables.quotes)
            .key("quote_id", AttributeValue::S(quote_id.to_owned()))
            .update_expression("SET #status = :bound, policy_number = :policy, bound_by = :by REMOVE #ttl")
            .condition_expression(
                "attribute_exists(quote_id) AND #status = :quoted AND #decision.#outcome = :accepted AND expires_at > :now",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#decision", "decision")
            .expression_attribute_names("#outcome", "outcome")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":by", AttributeValue::S(by.to_owned()))
            .expression_attribute_values(":bound", AttributeValue::S("bound".into()))
            .expression_attribute_values(":quoted", AttributeValue::S("quoted".into()))
            .expression_attribute_values(":accepted", AttributeValue::S("accepted".into()))
            .expression_attribute_values(":policy", AttributeValue::S(policy_number.to_owned()))
            .expression_attribute_values(":now", AttributeValue::N(now.unix_timestamp().to_string()))
            .build()
            .map_err(|e| StorageError::Mapping(e.to_string()))
    }

    /// In one transaction: marks the quote bound if it is quoted, accepted and unexpired at `now`,
    /// and writes the policy, and `first`, its ledger's new-business entry, if its number is free.
    pub async fn bind(
        &self,
        policy: &Policy,
        first: &Transaction,
        now: OffsetDateTime,
    ) -> Result<Bound, StorageError> {
        let update = self.bind_quote_update(
            &policy.quote_id,
            &policy.policy_number,
            policy.bound_by.as_deref().unwrap_or_default(),
            now,
        )?;
        let put = Put::builder()
            .table_name(&self.tables.policies)
            .set_item(Some(policy_item(policy)?))
            .condition_expression("attribute_not_exists(policy_number)")
            .build()
            .map_err(|e| StorageError::Mapping(e.to_string()))?;
        let ledger = self.ledger_put(&policy.policy_number, first)?;
        let items = [
            TransactWriteItem::builder().update(update).build(),
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().put(ledger).build(),
        ];
        match self.transact(&items).await? {
            None => Ok(Bound::Created),
            Some(0) => Ok(Bound::Refused(
                self.get_quote(&policy.quote_id).await?.map(Box::new),
            )),
            Some(_) => Ok(Bound::NumberTaken),
        }
    }

    /// Records an underwriter's decision on a referred quote: the outcome in force becomes
    /// `entry.outcome`, the entry joins the quote's decision trail and the quote leaves the
    /// underwriters' queue; all only if it is still referred, unbound and unexpired at `now`. With
    /// an idempotency record, both in one transaction.
    pub async fn decide(
        &self,
        quote_id: &str,
        entry: &DecisionEntry,
        now: OffsetDateTime,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<Decided, StorageError> {
        let entry_attr = serde_dynamo::to_attribute_value(entry)
            .map_err(|e| StorageError::Mapping(e.to_string()))?;
        let outcome = serde_dynamo::to_attribute_value(entry.outcome)
            .map_err(|e| StorageError::Mapping(e.to_string()))?;
        let update = Update::builder()
            .table_name(&self.tables.quotes)
            .key("quote_id", AttributeValue::S(quote_id.to_owned()))
            .update_expression(
                "SET #decision.#outcome = :outcome, decisions = list_append(if_not_exists(decisions, :none), :entry) REMOVE queue, queue_key",
            )
            .condition_expression(
                "attribute_exists(quote_id) AND #status = :quoted AND #decision.#outcome = :referred AND expires_at > :now",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#decision", "decision")
            .expression_attribute_names("#outcome", "outcome")
            .expression_attribute_values(":outcome", outcome)
            .expression_attribute_values(":entry", AttributeValue::L(vec![entry_attr]))
            .expression_attribute_values(":none", AttributeValue::L(vec![]))
            .expression_attribute_values(":quoted", AttributeValue::S("quoted".into()))
            .expression_attribute_values(":referred", AttributeValue::S("referred".into()))
            .expression_attribute_values(":now", AttributeValue::N(now.unix_timestamp().to_string()))
            .build()
            .map_err(|e| StorageError::Mapping(e.to_string()))?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        if let Some(record) = idempotency {
            let put_key = self.put_key(record, now)?;
            items.insert(0, TransactWriteItem::builder().put(put_key).build());
        }
        let quote_at = items.len() - 1;
        for _ in 0..3 {
            match self.transact(&items).await? {
                None => return Ok(Decided::Done),
                Some(at) if at == quote_at => {
                    let current = self.get_quote(quote_id).await?;
                    return Ok(Decided::Refused(current.map(Box::new)));
                }
                Some(_) => {
                    let key = idempotency.map_or("", |r| r.idempotency_key.as_str());
                    if let Some(existing) = self.idempotency_record(key).await? {
                        return Ok(Decided::KeyUsed(existing));
                    }
                }
            }
        }
        Err(StorageError::Unavailable {
            operation: "TransactWriteItems",
            message: "idempotency record vanished".into(),
        })
    }

    /// A page of the underwriters' queue: referred quotes that can still be decided (unexpired at
    /// `now`), newest first, resuming after `start_after`. Reads the sparse `by_referral` index a
    /// few pages at most, since expired quotes are filtered out after the read.
    pub async fn referred_quotes(
        &self,
        limit: usize,
        start_after: Option<HashMap<String, String>>,
        now: OffsetDateTime,
    ) -> Result<QuotePage, StorageError> {
        let limit = limit.max(1);
        let mut start: Option<Item> = start_after.map(start_key);
        let mut items = Vec::with_capacity(limit);
        for _ in 0..MAX_QUEUE_QUERIES {
            let output = timed(
                "Query",
                &self.tables.quotes,
                self.client
                    .query()
                    .table_name(&self.tables.quotes)
                    .index_name("by_referral")
                    .key_condition_expression("#queue = :referred")
                    .filter_expression("expires_at > :now")
                    .expression_attribute_names("#queue", "queue")
                    .expression_attribute_values(
                        ":referred",
                        AttributeValue::S(REFERRED_QUEUE.into()),
                    )
                    .expression_attribute_values(
                        ":now",
                        AttributeValue::N(now.unix_timestamp().to_string()),
                    )
                    .scan_index_forward(false)
                    .limit(i32::try_from(limit - items.len()).unwrap_or(i32::MAX))
                    .set_exclusive_start_key(start.take())
                    .send(),
            )
            .await
            .map_err(sdk_error("Query"))?;
            for item in output.items.unwrap_or_default() {
                items.push(quote_from_item(item)?);
            }
            start = output.last_evaluated_key;
            if items.len() >= limit || start.is_none() {
                break;
            }
        }
        // Resume after what DynamoDB last read, which may lie past the last quote returned when
        // expired ones were filtered out.
        let last_key = start.map(resume_key);
        Ok(QuotePage { items, last_key })
    }
}

/// How many Query calls one page of the underwriters' queue may take: expired quotes are filtered
/// after the read, so a page can come back short, with a cursor, rather than read on and on.
const MAX_QUEUE_QUERIES: usize = 4;

/// A page of quotes.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotePage {
    /// The quotes, newest first.
    pub items: Vec<Quote>,
    /// The key to continue after the last item, if more may follow.
    pub last_key: Option<HashMap<String, String>>,
}

/// The tables a transaction writes, in the order it names them first, comma separated.
fn tables_written(items: &[TransactWriteItem]) -> String {
    use aws_sdk_dynamodb::types::{ConditionCheck, Delete};
    let mut tables: Vec<&str> = Vec::new();
    for item in items {
        let table = item
            .put()
            .map(Put::table_name)
            .or_else(|| item.update().map(Update::table_name))
            .or_else(|| item.delete().map(Delete::table_name))
            .or_else(|| item.condition_check().map(ConditionCheck::table_name));
        if let Some(table) = table
            && !tables.contains(&table)
        {
            tables.push(table);
        }
    }
    tables.join(", ")
}
