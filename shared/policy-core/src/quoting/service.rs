//! The quoting and binding service over the rate tables, DynamoDB and the cache.

use std::collections::HashMap;
use std::sync::Arc;

use time::{Date, Duration, OffsetDateTime};

use super::{Idempotency, Made, NUMBER_TRIES, QuoteError, Verdict, assess, new_number};
use crate::book::{Impact, ImpactReport};
use crate::cache::{Cache, CacheName};
use crate::caller::Caller;
use crate::rating::tables::TableSet;
use crate::rating::{RateTables, RatingRequest};
use crate::records::{
    DecisionEntry, Policy, PolicyFilter, PolicyStatus, Quote, QuoteStatus, term_end,
};
use crate::settings::Settings;
use crate::storage::{
    Bound, Decided, DynamoStore, IDEMPOTENCY_TTL_SECS, IdempotencyRecord, Inserted, PolicyPage,
    QuotePage, StorageError,
};
use crate::underwriting::Outcome;

/// The quoting and binding service over the rate tables and the store.
#[derive(Debug, Clone)]
pub struct Quoting {
    pub(super) tables: &'static RateTables,
    pub(super) store: DynamoStore,
    pub(super) validity: Duration,
    pub(super) cache: Arc<Cache>,
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
        let started = std::time::Instant::now();
        let client = crate::storage::client_for(settings.dynamodb_endpoint.as_deref()).await;
        // The SDK's configuration (region, credentials, timeouts), timed for `loadtest coldstart`.
        tracing::info!(
            dynamodb_client_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "init: DynamoDB client ready"
        );
        let store = DynamoStore::new(client, settings.tables()?);
        let cache = Cache::new(settings.cache.clone())?;
        cache.connect().await;
        Ok(Quoting::new(
            tables,
            store,
            settings.quote_validity,
            Arc::new(cache),
        ))
    }

    /// Rates `request` (sent as `request_json`), decides on it and stores the quote with what it was
    /// rated on. Coverages the state requires but the request leaves out are added at the state
    /// minimum and listed on the quote.
    pub async fn create(
        &self,
        request: RatingRequest,
        request_json: String,
        owner: &str,
        idempotency: Option<Idempotency>,
        now: OffsetDateTime,
    ) -> Result<Made, QuoteError> {
        let assessed = assess(self.tables, request, now.date())?;
        let rated_on = assessed.rated_on(request_json);
        let record = record_for(idempotency, "", now);
        for _ in 0..NUMBER_TRIES {
            let quote = assessed.quote(
                new_number("Q", now)?,
                owner,
                now,
                self.validity,
                rated_on.clone(),
            )?;
            let record = record.clone().map(|r| IdempotencyRecord {
                quote_id: quote.quote_id.clone(),
                ..r
            });
            match self.store.insert_quote(&quote, record.as_ref()).await? {
                Inserted::Created => {
                    // A read of the new quote, or its bind, usually follows: it finds it cached.
                    // A fill, for as long as the quote can stay as it is: a bind or a decision
                    // that lands first puts its state over it.
                    self.cache
                        .fill(
                            CacheName::Quote,
                            &quote.quote_id,
                            &quote,
                            cached_for(&quote),
                        )
                        .await;
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
                    if !same_request(record.as_ref(), &existing) {
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
        // A bind or a decision puts its new state over this fill, which never overwrites.
        self.cache
            .fill(CacheName::Quote, quote_id, &quote, cached_for(&quote))
            .await;
        Ok(quote)
    }

    pub(super) async fn read_quote(&self, quote_id: &str) -> Result<Quote, QuoteError> {
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
        // A quote's terms never change once it is made; what can change (its status, decision and
        // expiry) the bind's transaction checks again on the stored quote. So a cached copy that
        // looks bindable saves the read: if it is out of date, the transaction is refused and the
        // stored quote says why. Any other copy is checked against the stored quote.
        let quote = match self.cache.get::<Quote>(CacheName::Quote, quote_id).await {
            Some(cached) if bindable(&cached, now).is_ok() => cached,
            _ => self.read_quote(quote_id).await?,
        };
        if !caller.may_access(&quote.owner) {
            return Err(QuoteError::QuoteNotFound(quote_id.to_owned()));
        }
        bindable(&quote, now)?;
        if let Some(change) = &quote.policy_change {
            return Box::pin(self.bind_change(&quote, change, caller, now)).await;
        }
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
                bound_by: Some(caller.id().to_owned()),
                added_coverages: quote.added_coverages.clone(),
                rated_on: quote.rated_on.clone(),
                decision: Some(quote.decision.clone()),
                decisions: quote.decisions.clone(),
                version: 1,
                term_number: 1,
                renewal_offer: None,
                cancellation_date: None,
            };
            let first = crate::lifecycle::new_business(
                policy.effective_date,
                policy.expiration_date,
                policy.total_premium,
                crate::lifecycle::Made {
                    actor: caller.id().to_owned(),
                    at: now,
                    rated_on: policy.rated_on.clone(),
                    quote_id: Some(policy.quote_id.clone()),
                },
            );
            match self.store.bind(&policy, &first, now).await? {
                Bound::Created => {
                    // The quote changed: its bound state is put over any cached copy (a reader's
                    // fill of the quoted state cannot overwrite it). The policy may join any list
                    // page.
                    let bound = Quote {
                        status: QuoteStatus::Bound,
                        policy_number: Some(policy.policy_number.clone()),
                        bound_by: policy.bound_by.clone(),
                        ..quote.clone()
                    };
                    self.cache
                        .write_through(CacheName::Quote, quote_id, &bound)
                        .await;
                    self.cache.invalidate_lists(&policy.list_scopes()).await;
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
    /// first, resuming after `start_after` (an earlier page's `last_key`); a status filter is read
    /// as of `today` (an active policy whose term has ended is expired).
    pub async fn list_policies(
        &self,
        filter: &PolicyFilter,
        limit: usize,
        start_after: Option<HashMap<String, String>>,
        today: Date,
    ) -> Result<PolicyPage, QuoteError> {
        self.store
            .list_policies(filter, limit, start_after, today)
            .await
            .map_err(QuoteError::Storage)
    }

    /// What `candidate` does to the book: every `current` policy in force on `today` (the
    /// current table's state and product) rated with both, read a page at a time.
    pub async fn impact<'t>(
        &self,
        current: TableSet<'t>,
        candidate: TableSet<'t>,
        today: Date,
    ) -> Result<ImpactReport, QuoteError> {
        let (state, product) = (current.table.state, current.table.policy_type);
        let mut impact = Impact::new(current, candidate, today);
        let mut start = None;
        loop {
            let (page, next) = self
                .store
                .in_force_page(state, product, today, start)
                .await?;
            for policy in &page {
                impact.add(policy.rated_on.as_ref(), policy.effective_date);
            }
            match next {
                Some(key) => start = Some(key),
                None => return Ok(impact.report()),
            }
        }
    }

    /// Records an underwriter's decision on a referred quote: `outcome` (accepted makes it
    /// bindable; declined is final), by `caller`, with `note`. Safe to retry with an idempotency
    /// key: a repeat answers with the quote as decided, a different decision under the same key is
    /// refused. Of two underwriters deciding at once, one wins and the other finds the quote
    /// decided.
    pub async fn decide(
        &self,
        quote_id: &str,
        caller: &Caller,
        verdict: Verdict,
        note: String,
        idempotency: Option<Idempotency>,
        now: OffsetDateTime,
    ) -> Result<Made, QuoteError> {
        let entry = DecisionEntry {
            outcome: verdict.outcome(),
            actor: caller.id().to_owned(),
            at: now,
            note: Some(note),
        };
        let record = record_for(idempotency, quote_id, now);
        let decided = self
            .store
            .decide(quote_id, &entry, now, record.as_ref())
            .await?;
        match decided {
            Decided::Done => {
                let quote = self.read_quote(quote_id).await?;
                self.cache
                    .write_through(CacheName::Quote, quote_id, &quote)
                    .await;
                Ok(Made {
                    quote,
                    replayed: false,
                })
            }
            Decided::KeyUsed(existing) => {
                if !same_request(record.as_ref(), &existing) || existing.quote_id != quote_id {
                    return Err(QuoteError::IdempotencyKeyReused {
                        quote_id: existing.quote_id,
                    });
                }
                Ok(Made {
                    quote: self.read_quote(quote_id).await?,
                    replayed: true,
                })
            }
            Decided::Refused(None) => Err(QuoteError::QuoteNotFound(quote_id.to_owned())),
            Decided::Refused(Some(current)) => Err(QuoteError::NotReferred {
                quote_id: quote_id.to_owned(),
                why: match (current.status_at(now), current.decision.outcome) {
                    (QuoteStatus::Bound, _) => "bound",
                    (QuoteStatus::Expired, _) => "expired",
                    (_, Outcome::Accepted) => "accepted",
                    (_, Outcome::Declined) => "declined",
                    // Still referred, yet the write was refused: it changed under us.
                    (_, Outcome::Referred) => "changing",
                },
            }),
        }
    }

    /// A page of the underwriters' queue: referred quotes that can still be decided, newest first.
    pub async fn referred_quotes(
        &self,
        limit: usize,
        start_after: Option<HashMap<String, String>>,
        now: OffsetDateTime,
    ) -> Result<QuotePage, QuoteError> {
        Ok(self.store.referred_quotes(limit, start_after, now).await?)
    }
}

/// How long `quote` may be cached from now: a quote waiting to be bound no longer than it can stay
/// as it is, until it expires; any other for the cache's TTL.
fn cached_for(quote: &Quote) -> std::time::Duration {
    let now = OffsetDateTime::now_utc();
    match quote.status_at(now) {
        QuoteStatus::Quoted => (quote.expires_at - now).unsigned_abs(),
        QuoteStatus::Bound | QuoteStatus::Expired => CacheName::Quote.ttl(),
    }
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

/// The record an idempotency key is stored as, for a request made at `now` that made `made` (a
/// quote id or a policy transaction; filled in later when not known yet), kept for
/// [`IDEMPOTENCY_TTL_SECS`].
pub(super) fn record_for(
    idempotency: Option<Idempotency>,
    made: &str,
    now: OffsetDateTime,
) -> Option<IdempotencyRecord> {
    idempotency.map(|i| IdempotencyRecord {
        idempotency_key: i.key,
        owner: i.owner,
        fingerprint: i.fingerprint,
        quote_id: made.to_owned(),
        ttl: now.unix_timestamp() + IDEMPOTENCY_TTL_SECS,
    })
}

/// Whether the key record found is this request's own, sent before: the same caller and the same
/// body. Keys are hashed with their caller, so another caller's record is never found; the owner is
/// checked all the same.
pub(super) fn same_request(ours: Option<&IdempotencyRecord>, found: &IdempotencyRecord) -> bool {
    ours.is_some_and(|ours| ours.owner == found.owner && ours.fingerprint == found.fingerprint)
}
