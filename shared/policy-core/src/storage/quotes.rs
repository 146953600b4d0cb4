//! The quotes table and the writes around it: a new quote with its idempotency record, reading a
//! quote back, and binding a quote into a policy in one transaction.

use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use time::OffsetDateTime;

use super::client::{is_transient_code, sdk_error, timed};
use super::items::{from_item, policy_item, quote_from_item, quote_item, to_item};
use super::{DynamoStore, IdempotencyRecord, StorageError};
use crate::records::{Policy, Quote};

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
        let put_key = Put::builder()
            .table_name(&self.tables.idempotency)
            .set_item(Some(to_item(record)?))
            .condition_expression("attribute_not_exists(idempotency_key)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StorageError::Mapping(e.to_string()))?;
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

    /// Runs a transaction: `None` when it committed, `Some(i)` when the condition on item `i`
    /// failed. Concurrent transactions on the same items conflict rather than wait, so conflicts
    /// are retried with backoff until one of them has committed and the others see its result.
    /// A cancellation for a reason no retry changes (an invalid item, say) is refused at once.
    async fn transact(&self, items: &[TransactWriteItem]) -> Result<Option<usize>, StorageError> {
        for attempt in 0..8u32 {
            let result = timed(
                "TransactWriteItems",
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

    async fn idempotency_record(
        &self,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StorageError> {
        let output = timed(
            "GetItem",
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

    /// In one transaction: marks the quote bound if it is quoted, accepted and unexpired at `now`,
    /// and writes the policy if its number is free.
    pub async fn bind(&self, policy: &Policy, now: OffsetDateTime) -> Result<Bound, StorageError> {
        let update = Update::builder()
            .table_name(&self.tables.quotes)
            .key("quote_id", AttributeValue::S(policy.quote_id.clone()))
            .update_expression("SET #status = :bound, policy_number = :policy")
            .condition_expression(
                "attribute_exists(quote_id) AND #status = :quoted AND #decision.#outcome = :accepted AND expires_at > :now",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#decision", "decision")
            .expression_attribute_names("#outcome", "outcome")
            .expression_attribute_values(":bound", AttributeValue::S("bound".into()))
            .expression_attribute_values(":quoted", AttributeValue::S("quoted".into()))
            .expression_attribute_values(":accepted", AttributeValue::S("accepted".into()))
            .expression_attribute_values(":policy", AttributeValue::S(policy.policy_number.clone()))
            .expression_attribute_values(":now", AttributeValue::N(now.unix_timestamp().to_string()))
            .build()
            .map_err(|e| StorageError::Mapping(e.to_string()))?;
        let put = Put::builder()
            .table_name(&self.tables.policies)
            .set_item(Some(policy_item(policy)?))
            .condition_expression("attribute_not_exists(policy_number)")
            .build()
            .map_err(|e| StorageError::Mapping(e.to_string()))?;
        let items = [
            TransactWriteItem::builder().update(update).build(),
            TransactWriteItem::builder().put(put).build(),
        ];
        match self.transact(&items).await? {
            None => Ok(Bound::Created),
            Some(0) => Ok(Bound::Refused(
                self.get_quote(&policy.quote_id).await?.map(Box::new),
            )),
            Some(_) => Ok(Bound::NumberTaken),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(codes: &[&str]) -> Vec<CancellationReason> {
        codes
            .iter()
            .map(|code| {
                CancellationReason::builder()
                    .code(*code)
                    .message(format!("{code} here"))
                    .build()
            })
            .collect()
    }

    #[test]
    fn a_failed_condition_names_its_item_whatever_else_happened() {
        assert_eq!(
            read_cancellation(&reasons(&["None", "ConditionalCheckFailed"])),
            Cancelled::ConditionFailed(1)
        );
        assert_eq!(
            read_cancellation(&reasons(&["ConditionalCheckFailed", "ValidationError"])),
            Cancelled::ConditionFailed(0)
        );
    }

    #[test]
    fn conflicts_and_throttling_are_retried() {
        for codes in [
            &["TransactionConflict", "None"][..],
            &["None", "ThrottlingError"],
            &["ProvisionedThroughputExceeded", "TransactionConflict"],
            &[],
        ] {
            assert_eq!(
                read_cancellation(&reasons(codes)),
                Cancelled::Retry,
                "{codes:?}"
            );
        }
        // A reason without a code is an item that was fine.
        let no_code = [CancellationReason::builder().build()];
        assert_eq!(read_cancellation(&no_code), Cancelled::Retry);
    }

    #[test]
    fn a_reason_no_retry_changes_is_refused_with_its_code() {
        for code in ["ValidationError", "ItemCollectionSizeLimitExceeded"] {
            assert_eq!(
                read_cancellation(&reasons(&["TransactionConflict", code])),
                Cancelled::Refused {
                    code: code.to_owned(),
                    message: Some(format!("{code} here")),
                }
            );
        }
    }
}
