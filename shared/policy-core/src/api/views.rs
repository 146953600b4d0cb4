//! What the quote and policy endpoints return.

use serde::Serialize;
use serde_json::value::RawValue;
use time::{Date, OffsetDateTime};

use super::ApiError;
use crate::domain::{CoverageKind, PolicyType, State, Term};
use crate::money::Money;
use crate::records::{
    DecisionEntry, Policy, PolicyChange, PolicyStatus, Quote, QuoteStatus, RatedOn, date_format,
};
use crate::underwriting::Decision;

/// A quote as the API shows it.
#[derive(Debug, Serialize)]
pub struct QuoteView<'a> {
    quote_id: &'a str,
    owner: &'a str,
    status: QuoteStatus,
    decision: &'a Decision,
    state: State,
    policy_type: PolicyType,
    term: Term,
    #[serde(with = "date_format")]
    effective_date: Date,
    total_premium: Money,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    added_coverages: &'a [CoverageKind],
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy_number: Option<&'a str>,
    /// The rating breakdown, as rated.
    premium: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rated_on: Option<RatedOnView<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    decisions: &'a [DecisionEntry],
    #[serde(skip_serializing_if = "Option::is_none")]
    bound_by: Option<&'a str>,
    /// The policy this quote changes when bound (a renewal offer, a referred endorsement).
    #[serde(skip_serializing_if = "Option::is_none")]
    policy_change: Option<&'a PolicyChange>,
}

/// What a quote or policy was rated on, with the request as the JSON it was sent as.
#[derive(Debug, Serialize)]
pub struct RatedOnView<'a> {
    request: Box<RawValue>,
    rate_table_version: &'a str,
    rate_table_sha256: &'a str,
}

impl<'a> RatedOnView<'a> {
    fn new(rated_on: Option<&'a RatedOn>) -> Result<Option<RatedOnView<'a>>, ApiError> {
        rated_on
            .map(|rated_on| {
                Ok(RatedOnView {
                    request: RawValue::from_string(rated_on.request.clone())
                        .map_err(ApiError::internal)?,
                    rate_table_version: &rated_on.rate_table_version,
                    rate_table_sha256: &rated_on.rate_table_sha256,
                })
            })
            .transpose()
    }
}

impl<'a> QuoteView<'a> {
    /// The view of `quote` as of `now` (an unbound quote past its expiry shows as expired).
    pub fn new(quote: &'a Quote, now: OffsetDateTime) -> Result<QuoteView<'a>, ApiError> {
        Ok(QuoteView {
            quote_id: &quote.quote_id,
            owner: &quote.owner,
            status: quote.status_at(now),
            decision: &quote.decision,
            state: quote.state,
            policy_type: quote.policy_type,
            term: quote.term,
            effective_date: quote.effective_date,
            total_premium: quote.total_premium,
            added_coverages: &quote.added_coverages,
            created_at: quote.created_at,
            expires_at: quote.expires_at,
            policy_number: quote.policy_number.as_deref(),
            premium: RawValue::from_string(quote.breakdown.clone()).map_err(ApiError::internal)?,
            rated_on: RatedOnView::new(quote.rated_on.as_ref())?,
            decisions: &quote.decisions,
            bound_by: quote.bound_by.as_deref(),
            policy_change: quote.policy_change.as_deref(),
        })
    }
}

/// A policy as the API shows it.
#[derive(Debug, Serialize)]
pub struct PolicyView<'a> {
    policy_number: &'a str,
    owner: &'a str,
    quote_id: &'a str,
    state: State,
    policy_type: PolicyType,
    status: PolicyStatus,
    term: Term,
    #[serde(with = "date_format")]
    effective_date: Date,
    #[serde(with = "date_format")]
    expiration_date: Date,
    total_premium: Money,
    #[serde(with = "time::serde::rfc3339")]
    bound_at: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    bound_by: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    added_coverages: &'a [CoverageKind],
    /// The rating breakdown, as quoted.
    premium: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rated_on: Option<RatedOnView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<&'a Decision>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    decisions: &'a [DecisionEntry],
    /// The current term: 1, then one more each renewal.
    term_number: u32,
    /// Bumped by every transaction.
    version: u64,
    /// The renewal offer of the current term, a quote to bind.
    #[serde(skip_serializing_if = "Option::is_none")]
    renewal_offer: Option<&'a str>,
    /// The day a cancellation takes effect (the policy is in force until then).
    #[serde(
        with = "crate::rating::request::iso_date",
        skip_serializing_if = "Option::is_none"
    )]
    cancellation_date: Option<Date>,
}

impl<'a> PolicyView<'a> {
    /// The view of `policy`, its status as of today.
    pub fn new(policy: &'a Policy) -> Result<PolicyView<'a>, ApiError> {
        Ok(PolicyView {
            policy_number: &policy.policy_number,
            owner: &policy.owner,
            quote_id: &policy.quote_id,
            state: policy.state,
            policy_type: policy.policy_type,
            status: policy.status_at(OffsetDateTime::now_utc().date()),
            term: policy.term,
            effective_date: policy.effective_date,
            expiration_date: policy.expiration_date,
            total_premium: policy.total_premium,
            bound_at: policy.bound_at,
            bound_by: policy.bound_by.as_deref(),
            added_coverages: &policy.added_coverages,
            premium: RawValue::from_string(policy.breakdown.clone()).map_err(ApiError::internal)?,
            rated_on: RatedOnView::new(policy.rated_on.as_ref())?,
            decision: policy.decision.as_ref(),
            decisions: &policy.decisions,
            term_number: policy.term_number,
            version: policy.version,
            renewal_offer: policy.renewal_offer.as_deref(),
            cancellation_date: policy.cancellation_date,
        })
    }
}

/// A ledger entry as the API shows it: the transaction, with what it rated on as JSON.
pub fn transaction_view(
    transaction: &crate::lifecycle::Transaction,
) -> Result<serde_json::Value, ApiError> {
    let mut value = serde_json::to_value(transaction).map_err(ApiError::internal)?;
    if let Some(request) = value
        .get_mut("rated_on")
        .and_then(|rated_on| rated_on.get_mut("request"))
        && let Some(text) = request.as_str()
    {
        *request = serde_json::from_str(text).map_err(ApiError::internal)?;
    }
    Ok(value)
}
