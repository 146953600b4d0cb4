//! Quotes and policies as stored and as returned by the API.

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime};

use crate::domain::{CoverageKind, PolicyType, State, Term};
use crate::money::Money;
use crate::underwriting::Decision;

/// Where a quote is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteStatus {
    /// Rated and decided; can be bound if accepted and unexpired.
    Quoted,
    /// Turned into a policy.
    Bound,
    /// Past its expiry without being bound (computed on read, never stored).
    Expired,
}

/// A stored quote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// `Q-YYYY-XXXXXXXXXX`.
    pub quote_id: String,
    /// The caller that made it (the token's subject); only it and administrators see it.
    pub owner: String,
    /// Quoted or bound, as stored.
    pub status: QuoteStatus,
    /// The underwriting decision.
    pub decision: Decision,
    /// Where the risk is.
    pub state: State,
    /// The product.
    pub policy_type: PolicyType,
    /// The term rated.
    pub term: Term,
    /// First day of cover.
    #[serde(with = "date_format")]
    pub effective_date: Date,
    /// What the policyholder pays for the term.
    pub total_premium: Money,
    /// The rating breakdown as JSON, exactly as rated.
    pub breakdown: String,
    /// Coverages the state requires that the request left out, added at the minimum limit.
    pub added_coverages: Vec<CoverageKind>,
    /// When the quote was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops being bindable.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The policy it became, once bound.
    pub policy_number: Option<String>,
}

impl Quote {
    /// The status as of `now`: an unbound quote past its expiry reads as expired.
    pub fn status_at(&self, now: OffsetDateTime) -> QuoteStatus {
        match self.status {
            QuoteStatus::Quoted if now >= self.expires_at => QuoteStatus::Expired,
            status => status,
        }
    }

    /// Whether `self`, as stored, is `written`: the same caller, instant and rating. Quote
    /// numbers are random, so a number found taken by these is this write's own, done before.
    pub fn is_same_write(&self, written: &Quote) -> bool {
        self.quote_id == written.quote_id
            && self.owner == written.owner
            && self.created_at == written.created_at
            && self.total_premium == written.total_premium
            && self.breakdown == written.breakdown
    }
}

/// Where a policy is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyStatus {
    /// In force (or about to be).
    Active,
    /// Cancelled before its expiration date.
    Cancelled,
    /// Ran to its expiration date.
    Expired,
}

impl PolicyStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyStatus::Active => "active",
            PolicyStatus::Cancelled => "cancelled",
            PolicyStatus::Expired => "expired",
        }
    }
}

/// A stored policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `POL-YYYY-XXXXXXXXXX`.
    pub policy_number: String,
    /// The caller that made the quote; only it and administrators see the policy.
    pub owner: String,
    /// The quote it was bound from.
    pub quote_id: String,
    /// Where the risk is.
    pub state: State,
    /// The product.
    pub policy_type: PolicyType,
    /// Active, cancelled or expired.
    pub status: PolicyStatus,
    /// The term.
    pub term: Term,
    /// First day of cover.
    pub effective_date: Date,
    /// The day cover ends.
    pub expiration_date: Date,
    /// Premium for the term.
    pub total_premium: Money,
    /// The rating breakdown as JSON, as quoted.
    pub breakdown: String,
    /// When it was bound.
    pub bound_at: OffsetDateTime,
}

/// The fields a policy list shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicySummary {
    /// `POL-YYYY-XXXXXXXXXX`.
    pub policy_number: String,
    /// Where the risk is.
    pub state: State,
    /// The product.
    pub policy_type: PolicyType,
    /// Active, cancelled or expired.
    pub status: PolicyStatus,
    /// First day of cover.
    #[serde(with = "date_format")]
    pub effective_date: Date,
    /// The day cover ends.
    #[serde(with = "date_format")]
    pub expiration_date: Date,
    /// Premium for the term.
    pub total_premium: Money,
}

/// The day a term that starts on `start` ends: the same day of the month `months` later, or the
/// last day of that month when it is shorter.
pub fn term_end(start: Date, months: u32) -> Date {
    let zero_based = i64::from(start.month() as u8) - 1 + i64::from(months);
    let year = start.year() + i32::try_from(zero_based / 12).unwrap_or(0);
    let month =
        Month::try_from(u8::try_from(zero_based % 12 + 1).unwrap_or(1)).unwrap_or(Month::January);
    let day = start.day().min(time::util::days_in_month(month, year));
    Date::from_calendar_date(year, month, day).unwrap_or(start)
}

/// Serde for a required `YYYY-MM-DD` date.
pub mod date_format {
    use serde::{Deserialize, Deserializer, Serializer, de};
    use time::Date;

    use crate::rating::request::iso_date::FORMAT;

    /// Writes `YYYY-MM-DD`.
    pub fn serialize<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        let text = date.format(FORMAT).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    /// Reads `YYYY-MM-DD`.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::parse(&text, FORMAT).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn terms_end_on_the_same_day_or_the_last_of_a_short_month() {
        assert_eq!(term_end(date!(2026 - 03 - 15), 12), date!(2027 - 03 - 15));
        assert_eq!(term_end(date!(2026 - 08 - 31), 6), date!(2027 - 02 - 28));
        assert_eq!(term_end(date!(2027 - 11 - 30), 3), date!(2028 - 02 - 29));
        assert_eq!(term_end(date!(2026 - 12 - 01), 1), date!(2027 - 01 - 01));
    }

    #[test]
    fn an_unbound_quote_past_its_expiry_reads_as_expired() {
        let quote = Quote {
            quote_id: "Q-2026-ABCDEFGHJK".into(),
            owner: "agent-7".into(),
            status: QuoteStatus::Quoted,
            decision: Decision {
                outcome: crate::underwriting::Outcome::Accepted,
                reasons: vec![],
            },
            state: State::CA,
            policy_type: PolicyType::Auto,
            term: Term::Annual,
            effective_date: date!(2026 - 12 - 01),
            total_premium: Money::from_dollars(100),
            breakdown: "{}".into(),
            added_coverages: vec![],
            created_at: datetime!(2026-11-01 0:00 UTC),
            expires_at: datetime!(2026-12-01 0:00 UTC),
            policy_number: None,
        };
        assert_eq!(
            quote.status_at(datetime!(2026-11-30 23:59 UTC)),
            QuoteStatus::Quoted
        );
        assert_eq!(
            quote.status_at(datetime!(2026-12-01 0:00 UTC)),
            QuoteStatus::Expired
        );
        let bound = Quote {
            status: QuoteStatus::Bound,
            ..quote
        };
        assert_eq!(
            bound.status_at(datetime!(2027-01-01 0:00 UTC)),
            QuoteStatus::Bound
        );
    }
}
