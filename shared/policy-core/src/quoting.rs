//! Use cases: make a quote (rate, decide, store, idempotently), read it, bind it into a policy,
//! read and list policies.

use std::collections::HashMap;
use std::sync::Arc;

use time::{Date, Duration, OffsetDateTime};

use crate::cache::{Cache, CacheName};
use crate::caller::Caller;
use crate::domain::CoverageKind;
use crate::rating::request::Limit;
use crate::rating::{RateQuote, RateTables, RatingError, RatingRequest, rate};
use crate::records::{Policy, PolicyFilter, PolicyStatus, Quote, QuoteStatus, term_end};
use crate::settings::Settings;
use crate::storage::{
    Bound, DynamoStore, IDEMPOTENCY_TTL_SECS, IdempotencyRecord, Inserted, PolicyPage, StorageError,
};
use crate::underwriting::{Decision, Outcome, decide};

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
    /// Every new number drawn was taken; a retry draws new ones.
    #[error("no free {prefix} number after {NUMBER_TRIES} tries")]
    NoFreeNumber {
        /// `Q` or `POL`.
        prefix: &'static str,
    },
    /// The system gave no randomness to draw a new number from.
    #[error("no randomness for a new number: {0}")]
    NoRandomness(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
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
    /// The key, scoped to the caller.
    pub key: String,
    /// A digest of the request body.
    pub fingerprint: String,
}

/// The quoting and binding service over the rate tables and the store.
#[derive(Debug, Clone)]
pub struct Quoting {
    tables: &'static RateTables,
    store: DynamoStore,
    validity: Duration,
    cache: Arc<Cache>,
}

impl Quoting {
    /// A service over `tables`, `store` and `cache`, quotes valid for `validity`.
    pub fn new(
        tables: &'static RateTables,
        store: DynamoStore,
        validity: Duration,
        cache: Arc<Cache>,
    ) -> Quoting {
        Quoting {
            tables,
            store,
            validity,
            cache,
        }
    }

    /// The rate tables.
    pub fn tables(&self) -> &'static RateTables {
        self.tables
    }

    /// The read cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The service as the functions run it, from the settings read at cold start: built-in rate
    /// tables, the DynamoDB client and tables, the cache (connected now, so the first request does
    /// not pay for it) and the quote validity. Call once per cold start.
    pub async fn from_settings(
        settings: &Settings,
    ) -> Result<Quoting, Box<dyn std::error::Error + Send + Sync>> {
        let tables = RateTables::builtin()?;
        let store = DynamoStore::new(
            crate::storage::client_for(settings.dynamodb_endpoint.as_deref()).await,
            settings.tables()?,
        );
        let cache = Cache::new(settings.cache.clone())?;
        cache.connect().await;
        Ok(Quoting::new(
            tables,
            store,
            settings.quote_validity,
            Arc::new(cache),
        ))
    }

    /// Rates `request`, decides on it and stores the quote. Coverages the state requires but the
    /// request leaves out are added at the state minimum and listed on the quote.
    pub async fn create(
        &self,
        request: RatingRequest,
        owner: &str,
        idempotency: Option<Idempotency>,
        now: OffsetDateTime,
    ) -> Result<Made, QuoteError> {
        let assessed = assess(self.tables, request, now.date())?;
        let record = idempotency.map(|i| IdempotencyRecord {
            idempotency_key: i.key,
            fingerprint: i.fingerprint,
            quote_id: String::new(),
            ttl: now.unix_timestamp() + IDEMPOTENCY_TTL_SECS,
        });
        for _ in 0..NUMBER_TRIES {
            let quote = assessed.quote(new_number("Q", now)?, owner, now, self.validity)?;
            let record = record.clone().map(|r| IdempotencyRecord {
                quote_id: quote.quote_id.clone(),
                ..r
            });
            match self.store.insert_quote(&quote, record.as_ref()).await? {
                Inserted::Created => {
                    return Ok(Made {
                        quote,
                        replayed: false,
                    });
                }
                // The number is taken, most likely by this very write: the SDK repeats a
                // write whose answer was lost, and the repeat finds the first one done.
                Inserted::IdTaken => {
                    let stored = self.store.get_quote(&quote.quote_id).await?;
                    if stored.is_some_and(|stored| stored.is_same_write(&quote)) {
                        return Ok(Made {
                            quote,
                            replayed: false,
                        });
                    }
                }
                Inserted::KeyUsed(existing) => {
                    let ours = record.as_ref().map(|r| r.fingerprint.as_str());
                    if ours != Some(existing.fingerprint.as_str()) {
                        return Err(QuoteError::IdempotencyKeyReused {
                            quote_id: existing.quote_id,
                        });
                    }
                    let quote =
                        self.store
                            .get_quote(&existing.quote_id)
                            .await?
                            .ok_or_else(|| {
                                StorageError::Mapping(format!(
                                    "idempotency record points at missing quote {}",
                                    existing.quote_id
                                ))
                            })?;
                    return Ok(Made {
                        quote,
                        replayed: true,
                    });
                }
            }
        }
        Err(QuoteError::NoFreeNumber { prefix: "Q" })
    }

    /// Reads a quote, through the cache.
    pub async fn get(&self, quote_id: &str) -> Result<Quote, QuoteError> {
        if let Some(quote) = self.cache.get(CacheName::Quote, quote_id).await {
            return Ok(quote);
        }
        let quote = self.read_quote(quote_id).await?;
        self.cache.put(CacheName::Quote, quote_id, &quote).await;
        Ok(quote)
    }

    async fn read_quote(&self, quote_id: &str) -> Result<Quote, QuoteError> {
        self.store
            .get_quote(quote_id)
            .await?
            .ok_or_else(|| QuoteError::QuoteNotFound(quote_id.to_owned()))
    }

    /// Turns an accepted, unexpired, unbound quote into an active policy, in one transaction.
    /// The policy belongs to the quote's owner; a caller that may not see the quote finds none.
    pub async fn bind(
        &self,
        quote_id: &str,
        caller: &Caller,
        now: OffsetDateTime,
    ) -> Result<Policy, QuoteError> {
        // Decide on the stored quote, never a cached copy.
        let quote = self.read_quote(quote_id).await?;
        if !caller.may_access(&quote.owner) {
            return Err(QuoteError::QuoteNotFound(quote_id.to_owned()));
        }
        bindable(&quote, now)?;
        for _ in 0..NUMBER_TRIES {
            let effective_date = quote.effective_date.max(now.date());
            let policy = Policy {
                policy_number: new_number("POL", now)?,
                owner: quote.owner.clone(),
                quote_id: quote.quote_id.clone(),
                state: quote.state,
                policy_type: quote.policy_type,
                status: PolicyStatus::Active,
                term: quote.term,
                effective_date,
                expiration_date: term_end(effective_date, quote.term.months()),
                total_premium: quote.total_premium,
                breakdown: quote.breakdown.clone(),
                bound_at: now,
            };
            match self.store.bind(&policy, now).await? {
                Bound::Created => {
                    // The quote changed, and the policy may join any list page.
                    self.cache.invalidate(CacheName::Quote, quote_id).await;
                    self.cache.invalidate_lists().await;
                    return Ok(policy);
                }
                Bound::NumberTaken => {}
                Bound::Refused(Some(current)) => {
                    bindable(&current, now)?;
                    // The conditions failed but the quote looks bindable: it changed under us.
                    return Err(QuoteError::NotBindable {
                        quote_id: quote_id.to_owned(),
                        why: "changing",
                    });
                }
                Bound::Refused(None) => return Err(QuoteError::QuoteNotFound(quote_id.to_owned())),
            }
        }
        Err(QuoteError::NoFreeNumber { prefix: "POL" })
    }

    /// Reads a policy.
    pub async fn policy(&self, policy_number: &str) -> Result<Policy, QuoteError> {
        self.store
            .get_policy(policy_number)
            .await?
            .ok_or_else(|| QuoteError::PolicyNotFound(policy_number.to_owned()))
    }

    /// One page of at most `limit` of the policies `filter` selects, newest effective date
    /// first, resuming after `start_after` (an earlier page's `last_key`).
    pub async fn list_policies(
        &self,
        filter: &PolicyFilter,
        limit: usize,
        start_after: Option<HashMap<String, String>>,
    ) -> Result<PolicyPage, QuoteError> {
        self.store
            .list_policies(filter, limit, start_after)
            .await
            .map_err(QuoteError::Storage)
    }
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

/// Everything a create does before it writes: adds the coverages the state requires, rates and
/// decides, as of `today`. Pure, so hostile requests can be tried against it without storage.
pub fn assess(
    tables: &RateTables,
    mut request: RatingRequest,
    today: Date,
) -> Result<Assessed<'_>, QuoteError> {
    let added_coverages = add_required_coverages(tables, &mut request);
    let rated = rate(tables, &request, today)?;
    let table =
        tables
            .get(request.state, request.policy_type)
            .ok_or(RatingError::UnsupportedState {
                state: request.state,
            })?;
    let decision = decide(&request, &rated, table);
    Ok(Assessed {
        request,
        rated,
        decision,
        added_coverages,
    })
}

impl Assessed<'_> {
    /// The quote to store: numbered `quote_id`, made by `owner` at `now`, bindable for `validity`.
    pub fn quote(
        &self,
        quote_id: String,
        owner: &str,
        now: OffsetDateTime,
        validity: Duration,
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
        })
    }
}

fn add_required_coverages(tables: &RateTables, request: &mut RatingRequest) -> Vec<CoverageKind> {
    let Some(table) = tables.get(request.state, request.policy_type) else {
        return Vec::new();
    };
    let mut added = Vec::new();
    for kind in table.required_coverages() {
        if request.coverage.get(kind).is_none() {
            let minimum = table.coverage(kind).map_or(1, |c| c.min_limit);
            request
                .coverage
                .set(kind, Limit::try_from(i64::from(minimum)).ok());
            added.push(kind);
        }
    }
    added
}

fn bindable(quote: &Quote, now: OffsetDateTime) -> Result<(), QuoteError> {
    let quote_id = quote.quote_id.clone();
    if let Some(policy_number) = &quote.policy_number {
        return Err(QuoteError::AlreadyBound {
            quote_id,
            policy_number: policy_number.clone(),
        });
    }
    match quote.decision.outcome {
        Outcome::Referred => {
            return Err(QuoteError::NotBindable {
                quote_id,
                why: "referred",
            });
        }
        Outcome::Declined => {
            return Err(QuoteError::NotBindable {
                quote_id,
                why: "declined",
            });
        }
        Outcome::Accepted => {}
    }
    if quote.status_at(now) == QuoteStatus::Expired {
        return Err(QuoteError::NotBindable {
            quote_id,
            why: "expired",
        });
    }
    Ok(())
}

/// Crockford base32: no I, L, O or U, so numbers read aloud and typed back survive.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Random characters after `PREFIX-YYYY-`: 50 bits, collisions are retried by conditional writes.
pub const NUMBER_SUFFIX_LEN: usize = 10;
/// How many new numbers a create or bind draws before it gives up.
const NUMBER_TRIES: usize = 5;

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
        assert_eq!(assessed.decision.outcome, Outcome::Accepted);

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
