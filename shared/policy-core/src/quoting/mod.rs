//! Use cases: make a quote (rate, decide, store, idempotently), read it, bind it into a policy,
//! read and list policies, and change a policy (endorse, cancel, reinstate, renew) on its ledger.

#[cfg(feature = "aws")]
mod lifecycle;
#[cfg(feature = "aws")]
mod service;

use sha2::Digest as _;

use time::{Date, Duration, OffsetDateTime};

use crate::domain::CoverageKind;
use crate::rating::tables::Business;
use crate::rating::{RateQuote, RateTables, RatingError, RatingRequest, rate};
use crate::records::{DecisionEntry, Quote, QuoteStatus, RatedOn, SYSTEM_ACTOR};
use crate::storage::StorageError;
use crate::underwriting::{Decision, Outcome, decide};

#[cfg(feature = "aws")]
pub use lifecycle::{Changed, Conditions, RenewalRun};
#[cfg(feature = "aws")]
pub use service::Quoting;

/// How long a quote can be bound, unless configured otherwise.
pub use crate::settings::DEFAULT_QUOTE_VALIDITY_DAYS;

/// Why a quote or bind request was not carried out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuoteError {
    /// The request cannot be rated.
    #[error(transparent)]
    Rating(#[from] RatingError),
    /// The idempotency key was first used with a different request.
    #[error("this Idempotency-Key was used for a different request (quote {quote_id})")]
    IdempotencyKeyReused {
        /// The quote the key made.
        quote_id: String,
    },
    /// No such quote.
    #[error("quote {0} does not exist")]
    QuoteNotFound(String),
    /// No such policy.
    #[error("policy {0} does not exist")]
    PolicyNotFound(String),
    /// The quote is already a policy.
    #[error("quote {quote_id} is already bound to policy {policy_number}")]
    AlreadyBound {
        /// The quote.
        quote_id: String,
        /// Its policy.
        policy_number: String,
    },
    /// The quote cannot be bound: referred, declined or expired.
    #[error("quote {quote_id} cannot be bound: it is {why}")]
    NotBindable {
        /// The quote.
        quote_id: String,
        /// `referred`, `declined` or `expired`.
        why: &'static str,
    },
    /// Only a referred quote, unbound and unexpired, can be decided by an underwriter.
    #[error("quote {quote_id} cannot be decided: it is {why}, not referred")]
    NotReferred {
        /// The quote.
        quote_id: String,
        /// `accepted`, `declined`, `bound` or `expired`.
        why: &'static str,
    },
    /// Every new number drawn was taken; a retry draws new ones.
    #[error("no free {prefix} number after {NUMBER_TRIES} tries")]
    NoFreeNumber {
        /// `Q` or `POL`.
        prefix: &'static str,
    },
    /// The system gave no randomness to draw a new number from.
    #[error("no randomness for a new number: {0}")]
    NoRandomness(String),
    /// The policy changed between the read and the write (another transaction got in first), or
    /// the change quote no longer fits it.
    #[error(
        "policy {policy_number} changed while this request was worked out; read it and try again"
    )]
    PolicyChanged {
        /// The policy.
        policy_number: String,
    },
    /// The ledger refuses the transaction.
    #[error(transparent)]
    Refused(#[from] crate::lifecycle::Refused),
    /// An endorsement's changes cannot be applied.
    #[error(transparent)]
    InvalidChange(#[from] crate::lifecycle::changes::InvalidChange),
    /// The policy keeps no rating request to re-rate (it was written before they were kept).
    #[error("policy {policy_number} keeps no rating request, so it cannot be re-rated")]
    NotRated {
        /// The policy.
        policy_number: String,
    },
    /// Underwriting declines the policy as changed.
    #[error("policy {policy_number} as changed is declined by underwriting")]
    Declined {
        /// The policy.
        policy_number: String,
        /// The decision, with its reasons.
        decision: Box<Decision>,
    },
    /// The policy cannot be offered a renewal.
    #[error("policy {policy_number} cannot be renewed: it is {why}")]
    NotRenewable {
        /// The policy.
        policy_number: String,
        /// `cancelled` or `expired`.
        why: &'static str,
    },
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What an underwriter may decide on a referred quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Bindable from now on.
    Accepted,
    /// Final: it will not be written.
    Declined,
}

impl Verdict {
    /// The outcome it puts in force.
    pub fn outcome(self) -> Outcome {
        match self {
            Verdict::Accepted => Outcome::Accepted,
            Verdict::Declined => Outcome::Declined,
        }
    }
}

/// A quote made, or found again through its idempotency key.
#[derive(Debug)]
pub struct Made {
    /// The quote.
    pub quote: Quote,
    /// True when an earlier request with the same key made it.
    pub replayed: bool,
}

/// An idempotency key with the fingerprint of the request it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// The key as stored: see [`Idempotency::new`].
    pub key: String,
    /// Who sent it.
    pub owner: String,
    /// A digest of the request body.
    pub fingerprint: String,
}

/// What an idempotency key is for: a key used to create a quote and the same key used to decide
/// one are different keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// `POST /api/v1/quotes`.
    Create,
    /// `POST /api/v1/quotes/{quote_id}/decision`.
    Decide,
    /// `POST /api/v1/policies/{policy_number}/endorsements`.
    Endorse,
    /// `POST /api/v1/policies/{policy_number}/cancellation`.
    Cancel,
    /// `POST /api/v1/policies/{policy_number}/reinstatement`.
    Reinstate,
}

impl Idempotency {
    /// The key `key` sent by `owner` for `purpose`, with the body's `fingerprint`. It is stored as
    /// the SHA-256 of the purpose and the length-prefixed owner and key, so no two callers' keys
    /// can ever meet (`a:b` + `c` and `a` + `b:c` are different), whatever characters they hold.
    pub fn new(purpose: KeyUse, owner: &str, key: &str, fingerprint: String) -> Idempotency {
        let purpose = match purpose {
            KeyUse::Create => "create",
            KeyUse::Decide => "decide",
            KeyUse::Endorse => "endorse",
            KeyUse::Cancel => "cancel",
            KeyUse::Reinstate => "reinstate",
        };
        let mut hasher = sha2::Sha256::new();
        for part in [purpose, owner, key] {
            hasher.update(part.len().to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let key = crate::digest::hex(&hasher.finalize());
        Idempotency {
            key,
            owner: owner.to_owned(),
            fingerprint,
        }
    }
}

/// A request priced the way both the quotes and the rates routes price it.
#[derive(Debug)]
pub struct Priced<'t> {
    /// The request as rated, with the coverages the state requires added.
    pub request: RatingRequest,
    /// The premium and its breakdown.
    pub rated: RateQuote<'t>,
    /// Coverages the state requires that the request left out, added at the minimum limit.
    pub added_coverages: Vec<CoverageKind>,
}

impl Priced<'_> {
    /// The same, with the premium explained in dollars and, where credit raised it, the adverse
    /// action reasons (see [`crate::rating::explain`]). Costs far more than the rating itself, so
    /// a single quote or rating is explained, a batch's items are not.
    #[must_use]
    pub fn explained(mut self) -> Self {
        let explanation = crate::rating::explain(&self.rated);
        self.rated.adverse_action_reasons = explanation.adverse_action_reasons();
        self.rated.explanation = Some(explanation);
        self
    }
}

/// Adds the coverages the state requires that `request` leaves out, at their minimum limits, and
/// rates it as of `today`: one body, one price, whichever route it came in by.
pub fn price(
    tables: &RateTables,
    mut request: RatingRequest,
    today: Date,
) -> Result<Priced<'_>, RatingError> {
    let added_coverages = add_required_coverages(tables, &mut request, today);
    let rated = {
        let _span = crate::telemetry::rating_span(&request).entered();
        rate(tables, &request, today)?
    };
    Ok(Priced {
        request,
        rated,
        added_coverages,
    })
}

/// A quote request rated and decided on, before anything is stored.
#[derive(Debug)]
pub struct Assessed<'t> {
    /// The request as rated, with the coverages the state requires added.
    pub request: RatingRequest,
    /// The premium and its breakdown.
    pub rated: RateQuote<'t>,
    /// Accept, refer or decline.
    pub decision: Decision,
    /// Coverages the state requires that the request left out, added at the minimum limit.
    pub added_coverages: Vec<CoverageKind>,
}

/// Everything a create does before it writes: prices the request as [`price`] does and decides,
/// as of `today`. Pure, so hostile requests can be tried against it without storage.
pub fn assess(
    tables: &RateTables,
    request: RatingRequest,
    today: Date,
) -> Result<Assessed<'_>, QuoteError> {
    let Priced {
        request,
        rated,
        added_coverages,
    } = price(tables, request, today)?.explained();
    let decision = decide(&request, &rated, rated.tables.table);
    Ok(Assessed {
        request,
        rated,
        decision,
        added_coverages,
    })
}

impl Assessed<'_> {
    /// What the quote was rated on: `request_json` (the body as sent, canonical) and the tables'
    /// version and hash.
    pub fn rated_on(&self, request_json: String) -> RatedOn {
        RatedOn {
            request: request_json,
            rate_table_version: self.rated.rate_table_version.to_owned(),
            rate_table_sha256: self.rated.rate_table_sha256.to_owned(),
        }
    }

    /// The quote to store: numbered `quote_id`, made by `owner` at `now`, bindable for `validity`,
    /// rated on `rated_on`, with the system's decision as the first of its trail.
    pub fn quote(
        &self,
        quote_id: String,
        owner: &str,
        now: OffsetDateTime,
        validity: Duration,
        rated_on: RatedOn,
    ) -> Result<Quote, QuoteError> {
        let breakdown =
            serde_json::to_string(&self.rated).map_err(|e| StorageError::Mapping(e.to_string()))?;
        Ok(Quote {
            quote_id,
            owner: owner.to_owned(),
            status: QuoteStatus::Quoted,
            decision: self.decision.clone(),
            state: self.request.state,
            policy_type: self.request.policy_type,
            term: self.request.term,
            effective_date: self.rated.effective_date.unwrap_or(now.date()),
            total_premium: self.rated.total_premium,
            breakdown,
            added_coverages: self.added_coverages.clone(),
            created_at: now,
            expires_at: now + validity,
            policy_number: None,
            rated_on: Some(rated_on),
            decisions: vec![DecisionEntry {
                outcome: self.decision.outcome,
                actor: SYSTEM_ACTOR.to_owned(),
                at: now,
                note: None,
            }],
            bound_by: None,
            policy_change: None,
        })
    }
}

/// Sets each coverage the state requires that `request` leaves out to its minimum limit, by the
/// table in force on its first day of cover (`today` when it names none); the coverages it added.
/// Where no table is, it adds nothing and rating says why.
fn add_required_coverages(
    tables: &RateTables,
    request: &mut RatingRequest,
    today: Date,
) -> Vec<CoverageKind> {
    let effective = request.effective_date.unwrap_or(today);
    tables
        .in_force(
            request.state,
            request.policy_type,
            Business::NewBusiness,
            effective,
        )
        .map(|set| set.table.add_required_coverages(request))
        .unwrap_or_default()
}

/// Crockford base32: no I, L, O or U, so numbers read aloud and typed back survive.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Random characters after `PREFIX-YYYY-`: 50 bits, collisions are retried by conditional writes.
pub const NUMBER_SUFFIX_LEN: usize = 10;
/// How many new numbers a create or bind draws before it gives up.
pub(crate) const NUMBER_TRIES: usize = 5;

/// A new quote or policy number, `PREFIX-YYYY-` and ten random Crockford base32 characters.
pub fn new_number(prefix: &str, now: OffsetDateTime) -> Result<String, QuoteError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| QuoteError::NoRandomness(e.to_string()))?;
    let mut bits = u64::from_le_bytes(bytes);
    let mut number = format!("{prefix}-{}-", now.year());
    for _ in 0..NUMBER_SUFFIX_LEN {
        number.push(char::from(
            CROCKFORD[usize::try_from(bits & 31).unwrap_or(0)],
        ));
        bits >>= 5;
    }
    Ok(number)
}

/// Whether `text` has the shape of a number made by [`new_number`] with `prefix` (or a seeded one:
/// any 6 to 12 Crockford characters), so malformed ids never reach the database.
pub fn is_number(prefix: &str, text: &str) -> bool {
    let Some(rest) = text.strip_prefix(prefix).and_then(|r| r.strip_prefix('-')) else {
        return false;
    };
    let Some((year, suffix)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && (6..=12).contains(&suffix.len())
        && suffix.bytes().all(|b| CROCKFORD.contains(&b))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::underwriting::ReasonCode;

    #[test]
    fn idempotency_keys_are_per_purpose_and_per_caller_and_cannot_be_forged_across_them() {
        let key = |purpose, owner, key| Idempotency::new(purpose, owner, key, String::new()).key;
        let mine = key(KeyUse::Create, "agent-7", "k1");
        assert_eq!(mine.len(), 64);
        assert_eq!(mine, key(KeyUse::Create, "agent-7", "k1"));
        assert_ne!(mine, key(KeyUse::Decide, "agent-7", "k1"));
        assert_ne!(mine, key(KeyUse::Create, "agent-8", "k1"));
        // Without the lengths these two would be the same text.
        assert_ne!(
            key(KeyUse::Create, "a:b", "c"),
            key(KeyUse::Create, "a", "b:c")
        );
        assert_ne!(
            key(KeyUse::Create, "ab", "c"),
            key(KeyUse::Create, "a", "bc")
        );
    }

    #[test]
    fn assessing_adds_the_required_coverages_rates_and_decides() {
        let tables = RateTables::builtin().unwrap();
        let request: RatingRequest = serde_json::from_str(
            r#"{"state":"NY","policy_type":"auto","coverage":{"liability":500000}}"#,
        )
        .unwrap();
        let assessed = assess(tables, request, datetime!(2026-11-28 10:00 UTC).date()).unwrap();
        assert!(!assessed.added_coverages.is_empty());
        for kind in &assessed.added_coverages {
            assert!(assessed.request.coverage.get(*kind).is_some(), "{kind:?}");
        }
        // The brief's body names no drivers, vehicle or ZIP code: an underwriter must see it.
        assert_eq!(assessed.decision.outcome, Outcome::Referred);
        let missing: Vec<_> = assessed
            .decision
            .reasons
            .iter()
            .map(|r| (r.code, r.field.as_str()))
            .collect();
        assert_eq!(
            missing,
            [
                (ReasonCode::IncompleteApplication, "drivers"),
                (ReasonCode::IncompleteApplication, "vehicle"),
                (ReasonCode::IncompleteApplication, "zip_code"),
            ]
        );

        let too_low: RatingRequest = serde_json::from_str(
            r#"{"state":"NY","policy_type":"auto","coverage":{"liability":1}}"#,
        )
        .unwrap();
        assert!(matches!(
            assess(tables, too_low, datetime!(2026-11-28 10:00 UTC).date()),
            Err(QuoteError::Rating(RatingError::LimitBelowMinimum { .. }))
        ));
    }

    #[test]
    fn a_florida_home_body_with_only_a_dwelling_limit_is_referred_naming_property_and_zip_code() {
        // Given a home body that names a dwelling limit and nothing about the home
        let tables = RateTables::builtin().unwrap();
        let request: RatingRequest = serde_json::from_str(
            r#"{"state":"FL","policy_type":"home","coverage":{"dwelling":400000}}"#,
        )
        .unwrap();

        // When it is assessed
        let assessed = assess(tables, request, datetime!(2026-11-28 10:00 UTC).date()).unwrap();

        // Then it is priced (with Florida's required liability added) and referred, one reason
        // per missing fact
        assert_eq!(assessed.added_coverages, [CoverageKind::Liability]);
        let decision = serde_json::to_value(&assessed.decision).unwrap();
        assert_eq!(decision["outcome"], "referred");
        assert_eq!(
            decision["reasons"],
            serde_json::json!([
                {"code": "incomplete_application", "declines": false, "field": "property"},
                {"code": "incomplete_application", "declines": false, "field": "zip_code"}
            ])
        );
        // And the rules that read what is missing say so
        let rules = decision["rules"].as_array().unwrap();
        for (rule, missing) in [
            ("dwelling_value_over_limit", "property"),
            ("unsupported_territory", "zip_code"),
        ] {
            assert!(
                rules.contains(&serde_json::json!(
                    {"rule": rule, "result": "not_evaluated", "missing": missing}
                )),
                "{rules:?}"
            );
        }
    }

    #[test]
    fn numbers_have_the_documented_shape_and_differ() {
        let now = datetime!(2026-11-28 10:00 UTC);
        let a = new_number("Q", now).unwrap();
        let b = new_number("Q", now).unwrap();
        assert!(a.starts_with("Q-2026-") && a.len() == 17, "{a}");
        assert!(is_number("Q", &a) && is_number("Q", &b));
        assert_ne!(a, b);
        assert!(is_number("POL", "POL-2025-000123"));
        for bad in [
            "Q-2026-",
            "Q-26-ABCDEFGHJK",
            "Q-2026-../../etc",
            "POL-2026-ABCDEFGHJK",
            "Q-2026-abcdefghjk",
            "Q-2026-ILOU000000",
        ] {
            assert!(!is_number("Q", bad), "{bad}");
        }
    }
}
