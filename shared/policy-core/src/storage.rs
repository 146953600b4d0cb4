//! DynamoDB storage for quotes, policies and idempotency records.
//!
//! Items are mapped with `serde_dynamo`; money is written as a DynamoDB number from the decimal's
//! own text and read back exactly, never through a float. Every write that must not happen twice
//! is conditional, and the multi-item writes are transactions.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::{CoverageKind, PolicyType, State, Term};
use crate::money::Money;
use crate::records::{Policy, PolicyStatus, PolicySummary, Quote, QuoteStatus, date_format};
use crate::underwriting::Decision;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

pub use crate::settings::TableNames;

/// Why storage failed. None of these is the client's fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A required environment variable is missing.
    #[error("environment variable {0} is not set")]
    Config(&'static str),
    /// DynamoDB refused or failed a call.
    #[error("DynamoDB {operation} failed: {message}")]
    Dynamo {
        /// The operation.
        operation: &'static str,
        /// The SDK's description.
        message: String,
    },
    /// An item could not be mapped.
    #[error("item mapping failed: {0}")]
    Mapping(String),
}

fn dynamo<E: std::error::Error + 'static, R: std::fmt::Debug>(
    operation: &'static str,
) -> impl Fn(SdkError<E, R>) -> StorageError {
    move |err| StorageError::Dynamo {
        operation,
        message: aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string(),
    }
}

/// Builds the DynamoDB client once per cold start: short timeouts so a slow call fails inside the
/// function's own timeout, the SDK's standard retries with backoff, and `endpoint` to point at
/// DynamoDB Local (`None`: the region's AWS endpoint).
pub async fn client_for(endpoint: Option<&str>) -> Client {
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
    Client::new(&loader.load().await)
}

/// Awaits one DynamoDB call, recording its latency for the request's metrics.
async fn timed<T>(operation: &'static str, call: impl Future<Output = T>) -> T {
    let started = std::time::Instant::now();
    let output = call.await;
    crate::telemetry::record_dynamodb(operation, started.elapsed());
    output
}

fn money_attr(money: Money) -> AttributeValue {
    AttributeValue::N(money.to_string())
}

fn take_money(item: &mut Item, name: &str) -> Result<Money, StorageError> {
    match item.remove(name) {
        Some(AttributeValue::N(text)) => Money::parse(&text)
            .ok_or_else(|| StorageError::Mapping(format!("{name} is not an amount: {text}"))),
        _ => Err(StorageError::Mapping(format!(
            "{name} is missing or not a number"
        ))),
    }
}

fn to_item<T: Serialize>(value: &T) -> Result<Item, StorageError> {
    serde_dynamo::to_item(value).map_err(|e| StorageError::Mapping(e.to_string()))
}

fn from_item<T: for<'de> Deserialize<'de>>(item: Item) -> Result<T, StorageError> {
    serde_dynamo::from_item(item).map_err(|e| StorageError::Mapping(e.to_string()))
}

/// How long an expired quote stays readable as expired before DynamoDB's TTL removes it.
const EXPIRED_QUOTE_RETENTION_SECS: i64 = 30 * 24 * 3600;
/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_SECS: i64 = 24 * 3600;

#[derive(Serialize, Deserialize)]
struct QuoteItem {
    quote_id: String,
    owner: String,
    status: QuoteStatus,
    decision: Decision,
    state: State,
    policy_type: PolicyType,
    term: Term,
    #[serde(with = "date_format")]
    effective_date: time::Date,
    breakdown: String,
    #[serde(default)]
    added_coverages: Vec<CoverageKind>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::timestamp")]
    expires_at: OffsetDateTime,
    ttl: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy_number: Option<String>,
}

fn quote_item(quote: &Quote) -> Result<Item, StorageError> {
    let mut item = to_item(&QuoteItem {
        quote_id: quote.quote_id.clone(),
        owner: quote.owner.clone(),
        status: quote.status,
        decision: quote.decision.clone(),
        state: quote.state,
        policy_type: quote.policy_type,
        term: quote.term,
        effective_date: quote.effective_date,
        breakdown: quote.breakdown.clone(),
        added_coverages: quote.added_coverages.clone(),
        created_at: quote.created_at,
        expires_at: quote.expires_at,
        ttl: quote.expires_at.unix_timestamp() + EXPIRED_QUOTE_RETENTION_SECS,
        policy_number: quote.policy_number.clone(),
    })?;
    item.insert("total_premium".into(), money_attr(quote.total_premium));
    Ok(item)
}

fn quote_from_item(mut item: Item) -> Result<Quote, StorageError> {
    let total_premium = take_money(&mut item, "total_premium")?;
    let raw: QuoteItem = from_item(item)?;
    Ok(Quote {
        quote_id: raw.quote_id,
        owner: raw.owner,
        status: raw.status,
        decision: raw.decision,
        state: raw.state,
        policy_type: raw.policy_type,
        term: raw.term,
        effective_date: raw.effective_date,
        total_premium,
        breakdown: raw.breakdown,
        added_coverages: raw.added_coverages,
        created_at: raw.created_at,
        expires_at: raw.expires_at,
        policy_number: raw.policy_number,
    })
}

/// The partition value shared by every policy in the `by_effective` index.
pub const ALL_POLICIES: &str = "policy";

#[derive(Serialize, Deserialize)]
struct PolicyItem {
    policy_number: String,
    owner: String,
    quote_id: String,
    state: State,
    policy_type: PolicyType,
    status: PolicyStatus,
    term: Term,
    #[serde(with = "date_format")]
    effective_date: time::Date,
    #[serde(with = "date_format")]
    expiration_date: time::Date,
    breakdown: String,
    #[serde(with = "time::serde::rfc3339")]
    bound_at: OffsetDateTime,
    // Index keys.
    state_product: String,
    all_policies: String,
    effective_key: String,
}

/// The sort key of every list index: newest effective date first, ties broken by number.
pub fn effective_key(effective_date: time::Date, policy_number: &str) -> String {
    format!("{effective_date}#{policy_number}")
}

/// The partition key of the `by_state_product` index.
pub fn state_product(state: State, policy_type: PolicyType) -> String {
    format!("{state}#{policy_type}")
}

/// The DynamoDB item for a policy, with its index keys.
pub fn policy_item(policy: &Policy) -> Result<Item, StorageError> {
    let mut item = to_item(&PolicyItem {
        policy_number: policy.policy_number.clone(),
        owner: policy.owner.clone(),
        quote_id: policy.quote_id.clone(),
        state: policy.state,
        policy_type: policy.policy_type,
        status: policy.status,
        term: policy.term,
        effective_date: policy.effective_date,
        expiration_date: policy.expiration_date,
        breakdown: policy.breakdown.clone(),
        bound_at: policy.bound_at,
        state_product: state_product(policy.state, policy.policy_type),
        all_policies: ALL_POLICIES.to_owned(),
        effective_key: effective_key(policy.effective_date, &policy.policy_number),
    })?;
    item.insert("total_premium".into(), money_attr(policy.total_premium));
    Ok(item)
}

/// The policy in a DynamoDB item: the reverse of [`policy_item`].
pub fn policy_from_item(mut item: Item) -> Result<Policy, StorageError> {
    let total_premium = take_money(&mut item, "total_premium")?;
    let raw: PolicyItem = from_item(item)?;
    Ok(Policy {
        policy_number: raw.policy_number,
        owner: raw.owner,
        quote_id: raw.quote_id,
        state: raw.state,
        policy_type: raw.policy_type,
        status: raw.status,
        term: raw.term,
        effective_date: raw.effective_date,
        expiration_date: raw.expiration_date,
        total_premium,
        breakdown: raw.breakdown,
        bound_at: raw.bound_at,
    })
}

#[derive(Deserialize)]
struct SummaryItem {
    policy_number: String,
    state: State,
    policy_type: PolicyType,
    status: PolicyStatus,
    #[serde(with = "date_format")]
    effective_date: time::Date,
    #[serde(with = "date_format")]
    expiration_date: time::Date,
}

fn summary_from_item(mut item: Item) -> Result<PolicySummary, StorageError> {
    let total_premium = take_money(&mut item, "total_premium")?;
    let raw: SummaryItem = from_item(item)?;
    Ok(PolicySummary {
        policy_number: raw.policy_number,
        state: raw.state,
        policy_type: raw.policy_type,
        status: raw.status,
        effective_date: raw.effective_date,
        expiration_date: raw.expiration_date,
        total_premium,
    })
}

/// What an idempotency key was first used for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// The key as stored (scoped by caller).
    pub idempotency_key: String,
    /// Fingerprint of the request body it came with.
    pub fingerprint: String,
    /// The quote it created.
    pub quote_id: String,
    /// When DynamoDB may forget it.
    pub ttl: i64,
}

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

/// A page of policies.
#[derive(Debug)]
pub struct PolicyPage {
    /// The policies, newest effective date first.
    pub items: Vec<PolicySummary>,
    /// The key to continue after the last item, if more may follow.
    pub last_key: Option<HashMap<String, String>>,
}

/// Which index a list query uses and what it filters on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Index name.
    pub index: &'static str,
    /// Its partition key attribute and value.
    pub partition: (&'static str, String),
    /// Inclusive bounds on `effective_key`.
    pub from_key: Option<String>,
    /// Inclusive upper bound on `effective_key`.
    pub to_key: Option<String>,
    /// Attributes that must equal a value, where the index's key does not already say so.
    pub filters: Vec<(&'static str, String)>,
    /// Page size.
    pub limit: usize,
    /// Where to resume: the key attributes of the last item returned.
    pub start_after: Option<HashMap<String, String>>,
}

/// The DynamoDB adapter.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: TableNames,
}

impl DynamoStore {
    /// An adapter over `client` and `tables`.
    pub fn new(client: Client, tables: TableNames) -> DynamoStore {
        DynamoStore { client, tables }
    }

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
                Err(err) => Err(dynamo("PutItem")(err)),
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
        Err(StorageError::Dynamo {
            operation: "TransactWriteItems",
            message: "idempotency record vanished".into(),
        })
    }

    /// Runs a transaction: `None` when it committed, `Some(i)` when the condition on item `i`
    /// failed. Concurrent transactions on the same items conflict rather than wait, so conflicts
    /// are retried with backoff until one of them has committed and the others see its result.
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
                return Err(dynamo("TransactWriteItems")(err));
            };
            let failed = cancel
                .cancellation_reasons()
                .iter()
                .position(|reason| reason.code() == Some("ConditionalCheckFailed"));
            if failed.is_some() {
                return Ok(failed);
            }
            tokio::time::sleep(Duration::from_millis(10 << attempt.min(5))).await;
        }
        Err(StorageError::Dynamo {
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
        .map_err(dynamo("GetItem"))?;
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
        .map_err(dynamo("GetItem"))?;
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

    /// Reads a policy.
    pub async fn get_policy(&self, policy_number: &str) -> Result<Option<Policy>, StorageError> {
        let output = timed(
            "GetItem",
            self.client
                .get_item()
                .table_name(&self.tables.policies)
                .key("policy_number", AttributeValue::S(policy_number.to_owned()))
                .send(),
        )
        .await
        .map_err(dynamo("GetItem"))?;
        output.item.map(policy_from_item).transpose()
    }

    /// One page of a list query: Query on the chosen index, newest first, following DynamoDB's
    /// pages until the page is full or the data runs out.
    pub async fn list_policies(&self, query: &ListQuery) -> Result<PolicyPage, StorageError> {
        let (pk_name, pk_value) = (&query.partition.0, &query.partition.1);
        let mut condition = "#pk = :pk".to_owned();
        let mut names = HashMap::from([("#pk".to_owned(), (*pk_name).to_owned())]);
        let mut values = HashMap::from([(":pk".to_owned(), AttributeValue::S(pk_value.clone()))]);
        match (&query.from_key, &query.to_key) {
            (Some(from), Some(to)) => {
                condition.push_str(" AND effective_key BETWEEN :from AND :to");
                values.insert(":from".into(), AttributeValue::S(from.clone()));
                values.insert(":to".into(), AttributeValue::S(to.clone()));
            }
            (Some(from), None) => {
                condition.push_str(" AND effective_key >= :from");
                values.insert(":from".into(), AttributeValue::S(from.clone()));
            }
            (None, Some(to)) => {
                condition.push_str(" AND effective_key <= :to");
                values.insert(":to".into(), AttributeValue::S(to.clone()));
            }
            (None, None) => {}
        }
        let mut terms = Vec::with_capacity(query.filters.len());
        for (i, (name, value)) in query.filters.iter().enumerate() {
            names.insert(format!("#f{i}"), (*name).to_owned());
            values.insert(format!(":f{i}"), AttributeValue::S(value.clone()));
            terms.push(format!("#f{i} = :f{i}"));
        }
        let filter = (!terms.is_empty()).then(|| terms.join(" AND "));
        let mut start: Option<Item> = query.start_after.as_ref().map(|key| {
            key.iter()
                .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
                .collect()
        });
        let mut items = Vec::with_capacity(query.limit);
        let mut last_key = None;
        loop {
            let wanted = query.limit - items.len();
            // With a filter, DynamoDB's limit counts items read before filtering: read more.
            let read = if filter.is_some() {
                (wanted * 4).clamp(25, 200)
            } else {
                wanted
            };
            let output = timed(
                "Query",
                self.client
                    .query()
                    .table_name(&self.tables.policies)
                    .index_name(query.index)
                    .key_condition_expression(&condition)
                    .set_filter_expression(filter.clone())
                    .set_expression_attribute_names(Some(names.clone()))
                    .set_expression_attribute_values(Some(values.clone()))
                    .scan_index_forward(false)
                    .limit(i32::try_from(read).unwrap_or(i32::MAX))
                    .set_exclusive_start_key(start.take())
                    .send(),
            )
            .await
            .map_err(dynamo("Query"))?;
            let page: Vec<Item> = output.items.unwrap_or_default();
            let more_in_dynamo = output.last_evaluated_key.is_some();
            let count = page.len();
            for (i, item) in page.into_iter().enumerate() {
                let key = list_key(&item, pk_name);
                items.push(summary_from_item(item)?);
                if items.len() == query.limit {
                    // Full: resume after this item if anything may follow it.
                    if i + 1 < count || more_in_dynamo {
                        last_key = key;
                    }
                    return Ok(PolicyPage { items, last_key });
                }
            }
            match output.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(PolicyPage { items, last_key }),
            }
        }
    }
}

/// The attributes DynamoDB needs to resume a query on an index after `item`.
fn list_key(item: &Item, partition: &str) -> Option<HashMap<String, String>> {
    let mut key = HashMap::new();
    for name in ["policy_number", "effective_key", partition] {
        if let Some(AttributeValue::S(value)) = item.get(name) {
            key.insert(name.to_owned(), value.clone());
        }
    }
    (key.len() == 3 || (partition == "policy_number" && key.len() == 2)).then_some(key)
}
