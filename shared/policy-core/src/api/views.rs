//! What the quote and policy endpoints return.

use serde::Serialize;
use serde_json::value::RawValue;
use time::{Date, OffsetDateTime};

use super::ApiError;
use crate::domain::{CoverageKind, PolicyType, State, Term};
use crate::money::Money;
use crate::records::{Policy, PolicyStatus, Quote, QuoteStatus, date_format};
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
    /// The rating breakdown, as quoted.
    premium: Box<RawValue>,
}

impl<'a> PolicyView<'a> {
    /// The view of `policy`.
    pub fn new(policy: &'a Policy) -> Result<PolicyView<'a>, ApiError> {
        Ok(PolicyView {
            policy_number: &policy.policy_number,
            owner: &policy.owner,
            quote_id: &policy.quote_id,
            state: policy.state,
            policy_type: policy.policy_type,
            status: policy.status,
            term: policy.term,
            effective_date: policy.effective_date,
            expiration_date: policy.expiration_date,
            total_premium: policy.total_premium,
            bound_at: policy.bound_at,
            premium: RawValue::from_string(policy.breakdown.clone()).map_err(ApiError::internal)?,
        })
    }
}
