//! Records as DynamoDB items and back: quotes, policies, list summaries and idempotency records,
//! with the index keys a policy item carries.
//!
//! Money is a DynamoDB number written from the decimal's own text and read back with
//! [`Money::parse`], so no amount ever passes through a float.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Item, StorageError};
use crate::domain::{CoverageKind, PolicyType, State, Term};
use crate::money::Money;
use crate::records::{
    DecisionEntry, Policy, PolicyChange, PolicyStatus, PolicySummary, Quote, QuoteStatus, RatedOn,
    date_format,
};
use crate::underwriting::{Decision, Outcome};

/// How long an expired quote stays readable as expired before DynamoDB's TTL removes it.
const EXPIRED_QUOTE_RETENTION_SECS: i64 = 30 * 24 * 3600;
/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_SECS: i64 = 24 * 3600;
/// The `by_effective` index's first partition value (see [`super::shards`]).
pub const ALL_POLICIES: &str = super::shards::FIRST_SHARD;

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

/// `value` as an item, by its serde fields.
pub(super) fn to_item<T: Serialize>(value: &T) -> Result<Item, StorageError> {
    serde_dynamo::to_item(value).map_err(|e| StorageError::Mapping(e.to_string()))
}

/// The value in `item`, by its serde fields.
pub(super) fn from_item<T: for<'de> Deserialize<'de>>(item: Item) -> Result<T, StorageError> {
    serde_dynamo::from_item(item).map_err(|e| StorageError::Mapping(e.to_string()))
}

/// A key to resume a Query after, as a cursor carries it: its string attributes (every key
/// attribute of our tables and indexes is a string).
pub(super) fn resume_key(key: Item) -> std::collections::HashMap<String, String> {
    key.into_iter()
        .filter_map(|(name, value)| match value {
            AttributeValue::S(text) => Some((name, text)),
            _ => None,
        })
        .collect()
}

/// The reverse of [`resume_key`]: a Query's `ExclusiveStartKey`.
pub(super) fn start_key(key: std::collections::HashMap<String, String>) -> Item {
    key.into_iter()
        .map(|(name, text)| (name, AttributeValue::S(text)))
        .collect()
}

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
    /// Removed when the quote is bound: a bound quote is kept for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rated_on: Option<RatedOn>,
    #[serde(default)]
    decisions: Vec<DecisionEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bound_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy_change: Option<Box<PolicyChange>>,
    // The underwriters' queue (the sparse `by_referral` index): present only while referred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    queue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    queue_key: Option<String>,
}

/// The partition value of the `by_referral` index: quotes waiting for an underwriter.
pub const REFERRED_QUEUE: &str = "referred";

/// The sort key of the `by_referral` index: oldest first by creation, ties broken by id.
pub fn queue_key(created_at: OffsetDateTime, quote_id: &str) -> String {
    format!("{}#{quote_id}", created_at.unix_timestamp())
}

/// The DynamoDB item for a quote, with the TTL that removes it a while after it expires.
pub(super) fn quote_item(quote: &Quote) -> Result<Item, StorageError> {
    let referred =
        quote.status == QuoteStatus::Quoted && quote.decision.outcome == Outcome::Referred;
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
        ttl: Some(quote.expires_at.unix_timestamp() + EXPIRED_QUOTE_RETENTION_SECS),
        policy_number: quote.policy_number.clone(),
        rated_on: quote.rated_on.clone(),
        decisions: quote.decisions.clone(),
        bound_by: quote.bound_by.clone(),
        policy_change: quote.policy_change.clone(),
        queue: referred.then(|| REFERRED_QUEUE.to_owned()),
        queue_key: referred.then(|| queue_key(quote.created_at, &quote.quote_id)),
    })?;
    item.insert("total_premium".into(), money_attr(quote.total_premium));
    Ok(item)
}

/// The quote in a DynamoDB item: the reverse of [`quote_item`].
pub(super) fn quote_from_item(mut item: Item) -> Result<Quote, StorageError> {
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
        rated_on: raw.rated_on,
        decisions: raw.decisions,
        bound_by: raw.bound_by,
        policy_change: raw.policy_change,
    })
}

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bound_by: Option<String>,
    #[serde(default)]
    added_coverages: Vec<CoverageKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rated_on: Option<RatedOn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decision: Option<Decision>,
    #[serde(default)]
    decisions: Vec<DecisionEntry>,
    #[serde(default)]
    version: u64,
    #[serde(default = "first_term")]
    term_number: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    renewal_offer: Option<String>,
    #[serde(
        default,
        with = "crate::rating::request::iso_date",
        skip_serializing_if = "Option::is_none"
    )]
    cancellation_date: Option<time::Date>,
    // Index keys.
    state_product: String,
    all_policies: String,
    effective_key: String,
    #[serde(default)]
    expiration_month: String,
    #[serde(default)]
    expiration_key: String,
}

fn first_term() -> u32 {
    1
}

/// The partition key of the `by_expiration` index: the month a term ends, `YYYY-MM`.
pub fn expiration_month(expiration_date: time::Date) -> String {
    format!(
        "{:04}-{:02}",
        expiration_date.year(),
        u8::from(expiration_date.month())
    )
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
        bound_by: policy.bound_by.clone(),
        added_coverages: policy.added_coverages.clone(),
        rated_on: policy.rated_on.clone(),
        decision: policy.decision.clone(),
        decisions: policy.decisions.clone(),
        version: policy.version,
        term_number: policy.term_number,
        renewal_offer: policy.renewal_offer.clone(),
        cancellation_date: policy.cancellation_date,
        state_product: state_product(policy.state, policy.policy_type),
        all_policies: super::shards::effective_partition(&policy.policy_number),
        effective_key: effective_key(policy.effective_date, &policy.policy_number),
        expiration_month: expiration_month(policy.expiration_date),
        expiration_key: effective_key(policy.expiration_date, &policy.policy_number),
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
        bound_by: raw.bound_by,
        added_coverages: raw.added_coverages,
        rated_on: raw.rated_on,
        decision: raw.decision,
        decisions: raw.decisions,
        version: raw.version,
        term_number: raw.term_number,
        renewal_offer: raw.renewal_offer,
        cancellation_date: raw.cancellation_date,
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

/// The list fields of a policy item (as a list index projects it).
pub(super) fn summary_from_item(mut item: Item) -> Result<PolicySummary, StorageError> {
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
    /// The key as stored (scoped by caller and purpose, hashed).
    pub idempotency_key: String,
    /// Who sent it.
    #[serde(default)]
    pub owner: String,
    /// Fingerprint of the request body it came with.
    pub fingerprint: String,
    /// The quote it created, or the policy transaction it made (`POL-...#<seq>`).
    pub quote_id: String,
    /// When DynamoDB may forget it.
    pub ttl: i64,
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;
    use crate::rating::request::Fact;
    use crate::underwriting::{Outcome, Reason, ReasonCode, RuleResult, Verdict};

    fn money(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    fn quote() -> Quote {
        Quote {
            quote_id: "Q-2026-ABCDEFGHJK".into(),
            owner: "agent-7".into(),
            status: QuoteStatus::Bound,
            decision: Decision {
                outcome: Outcome::Referred,
                reasons: vec![Reason {
                    code: ReasonCode::VehicleValueOverLimit,
                    declines: false,
                    field: "vehicles[0].value".into(),
                }],
                rules: vec![
                    RuleResult {
                        rule: ReasonCode::VehicleValueOverLimit,
                        result: Verdict::Fired,
                        missing: None,
                    },
                    RuleResult {
                        rule: ReasonCode::UnsupportedTerritory,
                        result: Verdict::NotEvaluated,
                        missing: Some(Fact::ZipCode),
                    },
                ],
            },
            state: State::NY,
            policy_type: PolicyType::Auto,
            term: Term::SemiAnnual,
            effective_date: date!(2026 - 12 - 01),
            total_premium: money("1234.50"),
            breakdown: r#"{"total_premium":"1234.50"}"#.into(),
            added_coverages: vec![CoverageKind::Pip, CoverageKind::UninsuredMotorist],
            created_at: datetime!(2026-11-01 09:30:15.123_456_789 UTC),
            expires_at: datetime!(2026-12-01 09:30:15 UTC),
            policy_number: Some("POL-2026-ABCDEFGHJK".into()),
            rated_on: Some(rated_on()),
            decisions: vec![
                DecisionEntry {
                    outcome: Outcome::Referred,
                    actor: "system".into(),
                    at: datetime!(2026-11-01 09:30:15 UTC),
                    note: None,
                },
                DecisionEntry {
                    outcome: Outcome::Accepted,
                    actor: "underwriter-3".into(),
                    at: datetime!(2026-11-02 10:00:00 UTC),
                    note: Some("vehicle appraised at $140,000".into()),
                },
            ],
            bound_by: Some("agent-7".into()),
            policy_change: None,
        }
    }

    fn rated_on() -> RatedOn {
        RatedOn {
            request: r#"{"policy_type":"auto","state":"NY"}"#.into(),
            rate_table_version: "NY-auto-2026.11.0/common-2026.11.0".into(),
            rate_table_sha256: "ab".repeat(32),
        }
    }

    fn policy() -> Policy {
        Policy {
            policy_number: "POL-2026-ABCDEFGHJK".into(),
            owner: "agent-7".into(),
            quote_id: "Q-2026-ABCDEFGHJK".into(),
            state: State::CA,
            policy_type: PolicyType::Home,
            status: PolicyStatus::Cancelled,
            term: Term::Quarterly,
            effective_date: date!(2026 - 03 - 15),
            expiration_date: date!(2026 - 06 - 15),
            total_premium: money("1234.50"),
            breakdown: r#"{"lines":[]}"#.into(),
            bound_at: datetime!(2026-03-01 12:00:00.5 UTC),
            bound_by: Some("agent-7".into()),
            added_coverages: vec![CoverageKind::LossOfUse],
            rated_on: Some(rated_on()),
            decision: Some(quote().decision),
            decisions: quote().decisions,
            version: 3,
            term_number: 2,
            renewal_offer: Some("Q-2026-ABCDEFGHJK".into()),
            cancellation_date: Some(date!(2026 - 05 - 01)),
        }
    }

    #[test]
    fn a_quote_survives_its_item_field_for_field() {
        // Given a quote with every field set
        let quote = quote();

        // When it is written and read back
        let item = quote_item(&quote).unwrap();

        // Then the premium is a number in the decimal's own text, and nothing is lost
        assert_eq!(item["total_premium"], AttributeValue::N("1234.50".into()));
        assert_eq!(
            item["ttl"],
            AttributeValue::N((quote.expires_at.unix_timestamp() + 30 * 24 * 3600).to_string())
        );
        assert_eq!(quote_from_item(item).unwrap(), quote);
    }

    #[test]
    fn a_quote_stored_before_decisions_recorded_their_rules_still_reads() {
        // Given a stored quote whose decision has no `rules`
        let quote = quote();
        let mut item = quote_item(&quote).unwrap();
        let Some(AttributeValue::M(decision)) = item.get_mut("decision") else {
            panic!("the decision is a map: {item:?}");
        };
        assert!(decision.remove("rules").is_some());

        // When it is read, then it reads with no rules and nothing else lost
        let read = quote_from_item(item).unwrap();
        assert!(read.decision.rules.is_empty());
        assert_eq!(read.decision.reasons, quote.decision.reasons);
    }

    #[test]
    fn an_unbound_quote_survives_without_a_policy_number() {
        let quote = Quote {
            status: QuoteStatus::Quoted,
            policy_number: None,
            added_coverages: vec![],
            ..quote()
        };
        let item = quote_item(&quote).unwrap();
        assert!(!item.contains_key("policy_number"));
        assert_eq!(quote_from_item(item).unwrap(), quote);
    }

    #[test]
    fn a_policy_survives_its_item_with_its_index_keys() {
        let policy = policy();
        let item = policy_item(&policy).unwrap();
        assert_eq!(item["total_premium"], AttributeValue::N("1234.50".into()));
        assert_eq!(item["state_product"], AttributeValue::S("CA#home".into()));
        assert_eq!(
            item["all_policies"],
            AttributeValue::S(super::super::shards::effective_partition(
                &policy.policy_number
            ))
        );
        assert_eq!(
            item["effective_key"],
            AttributeValue::S("2026-03-15#POL-2026-ABCDEFGHJK".into())
        );
        assert_eq!(policy_from_item(item).unwrap(), policy);
    }

    #[test]
    fn a_summary_reads_the_listed_fields_of_a_policy_item() {
        let policy = policy();
        let summary = summary_from_item(policy_item(&policy).unwrap()).unwrap();
        assert_eq!(
            summary,
            PolicySummary {
                policy_number: policy.policy_number,
                state: policy.state,
                policy_type: policy.policy_type,
                status: policy.status,
                effective_date: policy.effective_date,
                expiration_date: policy.expiration_date,
                total_premium: policy.total_premium,
            }
        );
    }

    #[test]
    fn a_resume_key_survives_a_cursor_and_keeps_only_strings() {
        let key: Item = [
            ("policy_number", "POL-2026-000001"),
            ("effective_key", "2026-01-01#POL-2026-000001"),
            ("state", "CA"),
        ]
        .into_iter()
        .map(|(name, text)| (name.to_owned(), AttributeValue::S(text.to_owned())))
        .collect();
        assert_eq!(start_key(resume_key(key.clone())), key);
        let with_number: Item = [("n".to_owned(), AttributeValue::N("1".into()))].into();
        assert!(resume_key(with_number).is_empty());
    }

    #[test]
    fn an_idempotency_record_survives_its_item() {
        let record = IdempotencyRecord {
            idempotency_key: "agent-7#key-1".into(),
            owner: "agent-7".into(),
            fingerprint: "5f1c".into(),
            quote_id: "Q-2026-ABCDEFGHJK".into(),
            ttl: 1_790_000_000,
        };
        assert_eq!(
            from_item::<IdempotencyRecord>(to_item(&record).unwrap()).unwrap(),
            record
        );
    }

    #[test]
    fn money_is_exact_in_both_directions_never_a_float() {
        // More digits than a binary float holds: a float on the way would change the cents.
        let big = money("12345678901234567.89");
        let item = policy_item(&Policy {
            total_premium: big,
            ..policy()
        })
        .unwrap();
        assert_eq!(
            item["total_premium"],
            AttributeValue::N("12345678901234567.89".into())
        );
        assert_eq!(policy_from_item(item).unwrap().total_premium, big);

        // DynamoDB hands numbers back with trailing zeros trimmed.
        let mut item = policy_item(&policy()).unwrap();
        item.insert("total_premium".into(), AttributeValue::N("1234.5".into()));
        let read = policy_from_item(item).unwrap().total_premium;
        assert_eq!(read.to_string(), "1234.50");
    }

    #[test]
    fn an_amount_that_is_not_one_is_a_mapping_error_naming_it() {
        for bad in [
            Some(AttributeValue::S("1234.50".into())),
            Some(AttributeValue::N("1e3".into())),
            Some(AttributeValue::N("12.345".into())),
            None,
        ] {
            let mut item = policy_item(&policy()).unwrap();
            match bad {
                Some(value) => item.insert("total_premium".into(), value),
                None => item.remove("total_premium"),
            };
            let err = policy_from_item(item).unwrap_err();
            assert!(
                matches!(&err, StorageError::Mapping(detail) if detail.contains("total_premium")),
                "{err:?}"
            );
        }
    }

    #[test]
    fn keys_name_the_partition_and_sort_by_day_then_number() {
        assert_eq!(state_product(State::TX, PolicyType::Renters), "TX#renters");
        assert_eq!(
            effective_key(date!(2026 - 01 - 05), "POL-2026-ABCDEFGHJK"),
            "2026-01-05#POL-2026-ABCDEFGHJK"
        );
        let mut keys = vec![
            effective_key(date!(2026 - 01 - 06), "POL-2026-0000000000"),
            effective_key(date!(2026 - 01 - 05), "POL-2026-ZZZZZZZZZZ"),
            effective_key(date!(2025 - 12 - 31), "POL-2025-ZZZZZZZZZZ"),
            effective_key(date!(2026 - 01 - 05), "POL-2026-0000000000"),
        ];
        keys.sort();
        assert_eq!(
            keys,
            [
                "2025-12-31#POL-2025-ZZZZZZZZZZ",
                "2026-01-05#POL-2026-0000000000",
                "2026-01-05#POL-2026-ZZZZZZZZZZ",
                "2026-01-06#POL-2026-0000000000",
            ]
        );
    }
}
