//! Quotes and policies as stored and as returned by the API.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime};

use crate::domain::{CoverageKind, PolicyType, State, Term};
use crate::money::Money;
pub use crate::rating::request::date_format;
use crate::underwriting::{Decision, Outcome};

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

/// What a quote or policy was rated on, and with: enough to show years later why it was written at
/// that price, and to rate it again exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatedOn {
    /// The rating request as the client sent it, as canonical JSON (keys sorted, no whitespace).
    /// Coverages the state requires that it left out were added at their minimums: see the record's
    /// `added_coverages`.
    pub request: String,
    /// The state and common tables' versions, e.g. `CA-auto-2026.11.0/common-2026.11.0`.
    pub rate_table_version: String,
    /// SHA-256 of those two tables' files as compiled in.
    pub rate_table_sha256: String,
}

/// Who decides on a quote besides the system: an underwriter, by the token's subject.
pub const SYSTEM_ACTOR: &str = "system";

/// One decision in a quote's life: the system's when it is rated, then an underwriter's on a
/// referral. The quote's `decision` holds the outcome in force; this is the trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionEntry {
    /// What was decided.
    pub outcome: Outcome,
    /// [`SYSTEM_ACTOR`], or the underwriter's subject.
    pub actor: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The underwriter's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
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
    /// What it was rated on (absent on quotes made before this was kept).
    #[serde(default)]
    pub rated_on: Option<RatedOn>,
    /// Every decision on it, oldest first.
    #[serde(default)]
    pub decisions: Vec<DecisionEntry>,
    /// Who bound it.
    #[serde(default)]
    pub bound_by: Option<String>,
    /// For a quote that changes a policy (a renewal offer, a referred endorsement): which, and how.
    /// Binding it applies the change to that policy instead of writing a new one.
    #[serde(default)]
    pub policy_change: Option<Box<PolicyChange>>,
}

/// What binding a quote does to an existing policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Starts the policy's next term.
    Renewal,
    /// Changes what the current term covers.
    Endorsement,
}

/// How a renewal's premium was held to the state's cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capping {
    /// The expiring term's premium.
    pub expiring_premium: Money,
    /// The renewal as rated, before capping.
    pub rated_premium: Money,
    /// The state's cap, as a fraction either way.
    pub cap: Decimal,
    /// The lowest premium the cap allows.
    pub floor: Money,
    /// The highest premium the cap allows.
    pub ceiling: Money,
    /// The premium offered: the rated one held between floor and ceiling.
    pub renewal_premium: Money,
    /// Whether the cap changed it.
    pub capped: bool,
}

impl Capping {
    /// The renewal premium for `rated`, held within `cap` of `expiring` (each bound rounded half-up
    /// to the cent).
    pub fn new(expiring: Money, rated: Money, cap: Decimal) -> Capping {
        let floor = Money::round(expiring.amount() * (Decimal::ONE - cap));
        let ceiling = Money::round(expiring.amount() * (Decimal::ONE + cap));
        let renewal_premium = rated.max(floor).min(ceiling);
        Capping {
            expiring_premium: expiring,
            rated_premium: rated,
            cap,
            floor,
            ceiling,
            renewal_premium,
            capped: renewal_premium != rated,
        }
    }
}

/// A quote's link to the policy it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyChange {
    /// The policy.
    pub policy_number: String,
    /// Renewal or endorsement.
    pub kind: ChangeKind,
    /// The policy's version the quote was made against: an endorsement binds only onto it.
    pub policy_version: u64,
    /// The term it changes (an endorsement) or starts (a renewal).
    pub term: u32,
    /// An endorsement's change of the full-term premium.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_premium_change: Option<Money>,
    /// A renewal's capping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capping: Option<Capping>,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[serde(with = "date_format")]
    pub effective_date: Date,
    /// The day cover ends.
    #[serde(with = "date_format")]
    pub expiration_date: Date,
    /// Premium for the term.
    pub total_premium: Money,
    /// The rating breakdown as JSON, as quoted.
    pub breakdown: String,
    /// When it was bound.
    #[serde(with = "time::serde::rfc3339")]
    pub bound_at: OffsetDateTime,
    /// Who bound it: the token's subject (absent on seeded and older policies).
    #[serde(default)]
    pub bound_by: Option<String>,
    /// Coverages the state requires that the request left out, added at the minimum limit.
    #[serde(default)]
    pub added_coverages: Vec<CoverageKind>,
    /// What it was rated on.
    #[serde(default)]
    pub rated_on: Option<RatedOn>,
    /// The underwriting decision it was bound under.
    #[serde(default)]
    pub decision: Option<Decision>,
    /// Every decision on its quote, oldest first.
    #[serde(default)]
    pub decisions: Vec<DecisionEntry>,
    /// Bumped by every transaction; a transaction is written only onto the version it read.
    #[serde(default)]
    pub version: u64,
    /// The current term: 1, then one more each renewal.
    #[serde(default = "first_term")]
    pub term_number: u32,
    /// The renewal offer made for the current term, if any.
    #[serde(default)]
    pub renewal_offer: Option<String>,
    /// When a cancellation takes effect: a policy cancelled for a later day is in force until then.
    #[serde(
        default,
        with = "crate::rating::request::iso_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub cancellation_date: Option<Date>,
}

fn first_term() -> u32 {
    1
}

impl Policy {
    /// The status as of `today`: an active policy whose term has ended reads as expired, and one
    /// cancelled from a later day reads as active until then.
    pub fn status_at(&self, today: Date) -> PolicyStatus {
        match self.status {
            PolicyStatus::Cancelled if self.cancellation_date.is_some_and(|d| today < d) => {
                PolicyStatus::Active
            }
            PolicyStatus::Active if today >= self.expiration_date => PolicyStatus::Expired,
            status => status,
        }
    }
}

/// What the rate impact reads of a policy in force: enough to rate it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InForce {
    /// `POL-YYYY-XXXXXXXXXX`.
    pub policy_number: String,
    /// First day of cover.
    #[serde(with = "date_format")]
    pub effective_date: Date,
    /// What it was rated on.
    #[serde(default)]
    pub rated_on: Option<RatedOn>,
}

/// The fields a policy list shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// Which policies a list selects; `None` fields select everything. Pure, so the edge can build one
/// from a query string and any store can answer it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyFilter {
    /// Only this caller's policies (`None`: every owner's).
    pub owner: Option<String>,
    /// Only policies in this state.
    pub state: Option<State>,
    /// Only this product.
    pub policy_type: Option<PolicyType>,
    /// Only policies with this status.
    pub status: Option<PolicyStatus>,
    /// Only policies effective on or after this day.
    pub effective_from: Option<Date>,
    /// Only policies effective on or before this day.
    pub effective_to: Option<Date>,
}

impl PolicySummary {
    /// The same, with its status as of `today` (see [`Policy::status_at`]).
    #[must_use]
    pub fn as_of(mut self, today: Date) -> PolicySummary {
        if self.status == PolicyStatus::Active && today >= self.expiration_date {
            self.status = PolicyStatus::Expired;
        }
        self
    }
}

impl PolicyFilter {
    /// The scope a cached page of this filter is kept in: the list-cache generation that moves
    /// on when a policy the page could show changes. It is the filter's most selective field
    /// (owner, state, product, status), or `all`. Every policy the filter matches has that field's
    /// value, and a change to a policy moves on every scope of [`Policy::list_scopes`], so no
    /// change leaves a page that could show it in force; a change elsewhere (another state)
    /// leaves the page be.
    pub fn cache_scope(&self) -> String {
        if let Some(owner) = &self.owner {
            owner_scope(owner)
        } else if let Some(state) = self.state {
            format!("state={}", state.code())
        } else if let Some(policy_type) = self.policy_type {
            format!("type={}", policy_type.as_str())
        } else if let Some(status) = self.status {
            format!("status={}", status.as_str())
        } else {
            "all".to_owned()
        }
    }

    /// The filter as one canonical string, which list cursors and cached list pages are bound to.
    ///
    /// Equal filters give equal strings and different filters different ones, so a cursor or a
    /// cached page made for one filter is never taken for another's. Every field is written in a
    /// fixed order, an absent one as `-`; the owner, the only free text, is preceded by its length
    /// in bytes, so no owner can spell out the fields that follow it. Cursors in clients' hands
    /// carry this string: changing the format turns them all away (422 `cursor`).
    pub fn identity(&self) -> String {
        let owner = self
            .owner
            .as_ref()
            .map(|owner| format!("{}:{owner}", owner.len()));
        let fields = [
            ("owner", owner),
            ("state", self.state.map(|s| s.code().to_owned())),
            (
                "policy_type",
                self.policy_type.map(|p| p.as_str().to_owned()),
            ),
            ("status", self.status.map(|s| s.as_str().to_owned())),
            ("from", self.effective_from.map(|d| d.to_string())),
            ("to", self.effective_to.map(|d| d.to_string())),
        ];
        fields
            .iter()
            .map(|(name, value)| format!("{name}={}", value.as_deref().unwrap_or("-")))
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// An owner's list-cache scope: a digest, so that the free text of an owner stays out of cache
/// keys.
fn owner_scope(owner: &str) -> String {
    let digest = crate::digest::sha256_hex([owner.as_bytes()]);
    format!("owner={}", &digest[..32])
}

impl Policy {
    /// Every list-cache scope of a list page that can show this policy (see
    /// [`PolicyFilter::cache_scope`]): `all`, its owner, state and product, and every status (a
    /// list reads status as of the day, and a change can move a policy between statuses). A
    /// write to a policy moves on these scopes, before and after the change.
    pub fn list_scopes(&self) -> Vec<String> {
        list_scopes(&self.owner, self.state, self.policy_type)
    }
}

/// The list-cache scopes of a policy of `owner`, in `state`, of `policy_type`.
fn list_scopes(owner: &str, state: State, policy_type: PolicyType) -> Vec<String> {
    let mut scopes = vec![
        "all".to_owned(),
        owner_scope(owner),
        format!("state={}", state.code()),
        format!("type={}", policy_type.as_str()),
    ];
    scopes.extend(
        [
            PolicyStatus::Active,
            PolicyStatus::Cancelled,
            PolicyStatus::Expired,
        ]
        .map(|status| format!("status={}", status.as_str())),
    );
    scopes
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::{date, datetime};

    use super::*;

    fn any_status() -> impl Strategy<Value = PolicyStatus> {
        prop_oneof![
            Just(PolicyStatus::Active),
            Just(PolicyStatus::Cancelled),
            Just(PolicyStatus::Expired)
        ]
    }

    proptest! {
        /// Any filter a policy can match (each field the policy's own value, or absent) keeps its
        /// pages in one of the scopes a change to that policy moves on: no page that could show
        /// the policy outlives the change.
        #[test]
        fn every_page_that_can_show_a_policy_is_in_one_of_its_scopes(
            owner in "[a-z0-9:|=-]{1,24}",
            state in proptest::sample::select(State::ALL),
            policy_type in proptest::sample::select(PolicyType::ALL.to_vec()),
            status in any_status(),
            named in proptest::array::uniform4(any::<bool>()),
            from in proptest::option::of(0i64..400),
        ) {
            let filter = PolicyFilter {
                owner: named[0].then(|| owner.clone()),
                state: named[1].then_some(state),
                policy_type: named[2].then_some(policy_type),
                status: named[3].then_some(status),
                effective_from: from.map(|days| date!(2026 - 01 - 01) + time::Duration::days(days)),
                effective_to: None,
            };
            prop_assert!(list_scopes(&owner, state, policy_type).contains(&filter.cache_scope()));
        }

        /// A filter on another state, with no owner, keeps its pages out of the policy's scopes: a
        /// bind in one state leaves the cached pages of the others be.
        #[test]
        fn a_page_of_another_state_is_in_none_of_a_policys_scopes(
            owner in "[a-z0-9-]{1,24}",
            state in proptest::sample::select(State::ALL),
            other in proptest::sample::select(State::ALL),
            policy_type in proptest::sample::select(PolicyType::ALL.to_vec()),
        ) {
            prop_assume!(state != other);
            let filter = PolicyFilter { state: Some(other), ..PolicyFilter::default() };
            prop_assert!(!list_scopes(&owner, state, policy_type).contains(&filter.cache_scope()));
        }
    }

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
                outcome: Outcome::Accepted,
                reasons: vec![],
                rules: vec![],
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
            rated_on: None,
            decisions: vec![],
            bound_by: None,
            policy_change: None,
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

    #[test]
    fn a_filter_identity_names_every_field_in_a_fixed_form() {
        let filter = PolicyFilter {
            owner: Some("agent-7".into()),
            state: Some(State::CA),
            policy_type: Some(PolicyType::Auto),
            status: Some(PolicyStatus::Active),
            effective_from: Some(date!(2026 - 01 - 01)),
            effective_to: Some(date!(2026 - 01 - 31)),
        };
        // Cursors in clients' hands carry this text: it changes only on purpose.
        assert_eq!(
            filter.identity(),
            "owner=7:agent-7;state=CA;policy_type=auto;status=active;from=2026-01-01;to=2026-01-31"
        );
        assert_eq!(
            PolicyFilter::default().identity(),
            "owner=-;state=-;policy_type=-;status=-;from=-;to=-"
        );
        assert_eq!(filter.clone().identity(), filter.identity());
    }

    #[test]
    fn different_filters_never_share_an_identity() {
        let base = PolicyFilter {
            owner: Some("agent-7".into()),
            ..PolicyFilter::default()
        };
        let filters = [
            PolicyFilter::default(),
            base.clone(),
            PolicyFilter {
                owner: Some("agent-8".into()),
                ..PolicyFilter::default()
            },
            PolicyFilter {
                owner: Some(String::new()),
                ..PolicyFilter::default()
            },
            // An owner that spells out the fields after it.
            PolicyFilter {
                owner: Some("agent-7;state=CA".into()),
                ..PolicyFilter::default()
            },
            PolicyFilter {
                state: Some(State::CA),
                ..base.clone()
            },
            PolicyFilter {
                policy_type: Some(PolicyType::Home),
                ..base.clone()
            },
            PolicyFilter {
                status: Some(PolicyStatus::Cancelled),
                ..base.clone()
            },
            PolicyFilter {
                effective_from: Some(date!(2026 - 01 - 01)),
                ..base.clone()
            },
            PolicyFilter {
                effective_to: Some(date!(2026 - 01 - 01)),
                ..base.clone()
            },
            PolicyFilter {
                effective_from: Some(date!(2026 - 01 - 02)),
                ..base.clone()
            },
        ];
        for (i, a) in filters.iter().enumerate() {
            for b in &filters[i + 1..] {
                assert_ne!(a.identity(), b.identity(), "{a:?} / {b:?}");
            }
        }
    }
}
