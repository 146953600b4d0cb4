//! Policy transactions over the store: endorse, cancel, reinstate, offer a renewal and bind a
//! change; read a ledger. Each is worked out by [`crate::lifecycle`] from the policy and its ledger
//! as stored, and written as one DynamoDB transaction on condition that the policy is still the
//! version read, so of two concurrent changes one is written and the other is refused, not lost.

use serde_json::{Map, Value};
use time::{Date, OffsetDateTime, Time};

use super::service::{Quoting, record_for, same_request};
use super::{Idempotency, NUMBER_TRIES, QuoteError, new_number};
use crate::cache::CacheName;
use crate::caller::Caller;
use crate::lifecycle::{
    self, CancelReason, Capping, Kind, Rules, StateRules, Transaction, changes,
};
use crate::rating::tables::{Business, TableSet};
use crate::rating::{RateQuote, RatingRequest, in_force, rate_with};
use crate::records::{
    ChangeKind, DecisionEntry, Policy, PolicyChange, PolicyStatus, Quote, QuoteStatus, RatedOn,
    SYSTEM_ACTOR,
};
use crate::storage::{Append, Appended, IdempotencyRecord, Inserted, Offered, StorageError};
use crate::underwriting::{Decision, Outcome, decide};

/// What a policy transaction came to.
#[derive(Debug)]
pub enum Changed {
    /// Written to the ledger.
    Applied {
        /// The policy after it.
        policy: Box<Policy>,
        /// The ledger entry.
        transaction: Box<Transaction>,
        /// True when an earlier request with the same key wrote it.
        replayed: bool,
    },
    /// Referred to an underwriter: a quote that, once accepted, binds the change.
    Referred {
        /// The quote.
        quote: Box<Quote>,
        /// True when an earlier request with the same key made it.
        replayed: bool,
    },
}

/// A policy read for a change: the policy, its ledger, and the new-business entry worked out for a
/// policy bound before ledgers were kept (in `ledger`, but not stored yet).
struct Opened {
    policy: Policy,
    ledger: Vec<Transaction>,
    unstored: Option<Transaction>,
}

/// What a transaction request asks besides its fields: its `Idempotency-Key`, and the policy
/// version it was worked out from (`If-Match`), if the client names one.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    /// The idempotency key, with the request's fingerprint.
    pub idempotency: Option<Idempotency>,
    /// The policy's version the client read; the change is refused if it is no longer current.
    pub expected: Option<u64>,
}

/// What one renewal run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RenewalRun {
    /// Policies found due (active, no offer, term ending within their state's notice).
    pub due: usize,
    /// Offers made.
    pub offered: usize,
    /// Policies that had an offer by the time this run came to them.
    pub already_offered: usize,
    /// Policies that could not be offered a renewal, by number, with why.
    pub failed: Vec<(String, String)>,
}

fn rules_of(state: crate::domain::State) -> Result<&'static Rules, QuoteError> {
    let all = StateRules::builtin().map_err(|e| StorageError::Mapping(e.to_string()))?;
    all.of(state).ok_or_else(|| {
        QuoteError::Storage(StorageError::Mapping(format!(
            "no administration rules for {state}"
        )))
    })
}

/// Who makes a transaction: `caller`, at `now`, rated on `rated_on`, from quote `quote_id`.
fn made(
    caller: &Caller,
    now: OffsetDateTime,
    rated_on: Option<RatedOn>,
    quote_id: Option<String>,
) -> lifecycle::Made {
    lifecycle::Made {
        actor: caller.id().to_owned(),
        at: now,
        rated_on,
        quote_id,
    }
}

/// The new-business entry of a policy bound before ledgers were kept, from the policy itself.
fn synthesized_new_business(policy: &Policy) -> Transaction {
    lifecycle::new_business(
        policy.effective_date,
        policy.expiration_date,
        policy.total_premium,
        lifecycle::Made {
            actor: policy
                .bound_by
                .clone()
                .unwrap_or_else(|| SYSTEM_ACTOR.to_owned()),
            at: policy.bound_at,
            rated_on: policy.rated_on.clone(),
            quote_id: Some(policy.quote_id.clone()),
        },
    )
}

/// A request rated on `set` for a term starting `start`, with the coverages the state requires
/// added.
fn rate_on(
    set: TableSet<'_>,
    mut request: RatingRequest,
    start: Date,
) -> Result<(RatingRequest, RateQuote<'_>), QuoteError> {
    set.table.add_required_coverages(&mut request);
    request.effective_date = Some(start);
    let rated = {
        let _span = crate::telemetry::rating_span(&request).entered();
        rate_with(set, &request, start)?
    };
    Ok((request, rated))
}

fn rated_on(rated: &RateQuote<'_>, request_json: String) -> RatedOn {
    RatedOn {
        request: request_json,
        rate_table_version: rated.rate_table_version.to_owned(),
        rate_table_sha256: rated.rate_table_sha256.to_owned(),
    }
}

fn breakdown(rated: &RateQuote<'_>) -> Result<String, QuoteError> {
    serde_json::to_string(rated)
        .map_err(|e| QuoteError::Storage(StorageError::Mapping(e.to_string())))
}

/// The canonical JSON of `request` with its first day set to `date`.
fn with_effective_date(request: &str, date: Date) -> Result<String, QuoteError> {
    let mut value: Value = serde_json::from_str(request)
        .map_err(|e| QuoteError::Storage(StorageError::Mapping(e.to_string())))?;
    if let Value::Object(fields) = &mut value {
        fields.insert("effective_date".to_owned(), Value::String(date.to_string()));
    }
    Ok(value.to_string())
}

impl Quoting {
    /// A policy (strongly consistent) and its ledger, the caller's own or an administrator's; a
    /// policy bound before ledgers were kept reads with its new business worked out from it.
    pub async fn policy_ledger(
        &self,
        policy_number: &str,
        caller: &Caller,
    ) -> Result<(Policy, Vec<Transaction>), QuoteError> {
        let opened = self.read_ledger(policy_number, caller).await?;
        Ok((opened.policy, opened.ledger))
    }

    async fn read_ledger(
        &self,
        policy_number: &str,
        caller: &Caller,
    ) -> Result<Opened, QuoteError> {
        let missing = || QuoteError::PolicyNotFound(policy_number.to_owned());
        let policy = self
            .store
            .get_policy_for_update(policy_number)
            .await?
            .filter(|p| caller.may_access(&p.owner))
            .ok_or_else(missing)?;
        let mut ledger = self.store.ledger(policy_number).await?;
        let mut unstored = None;
        if !ledger.iter().any(|t| t.kind == Kind::NewBusiness) {
            let first = synthesized_new_business(&policy);
            ledger.insert(0, first.clone());
            unstored = Some(first);
        }
        Ok(Opened {
            policy,
            ledger,
            unstored,
        })
    }

    /// [`Quoting::policy_ledger`] for a change: refused if the caller expects another version
    /// (`If-Match`), or if the policy is cancelled, whatever its ledger says (a policy cancelled
    /// before ledgers were kept has no cancellation in it).
    async fn open_policy(
        &self,
        policy_number: &str,
        caller: &Caller,
        expected: Option<u64>,
    ) -> Result<Opened, QuoteError> {
        let opened = self.read_ledger(policy_number, caller).await?;
        if expected.is_some_and(|v| v != opened.policy.version) {
            return Err(QuoteError::PolicyChanged {
                policy_number: policy_number.to_owned(),
            });
        }
        let last = opened.ledger.iter().map(|t| t.seq).max().unwrap_or(1);
        if opened.policy.status == PolicyStatus::Cancelled
            && !opened.ledger.iter().any(|t| t.kind == Kind::Cancellation)
        {
            return Err(lifecycle::Refused::Cancelled { seq: last }.into());
        }
        Ok(opened)
    }

    /// Writes `transaction` and the policy it leaves behind, conditioned on the version read.
    #[allow(clippy::too_many_arguments, reason = "one change's parts, each named")]
    async fn write_change(
        &self,
        read: &Policy,
        unstored: Option<&Transaction>,
        transaction: Transaction,
        after: Policy,
        record: Option<IdempotencyRecord>,
        bind_quote: Option<&Quote>,
        now: OffsetDateTime,
    ) -> Result<Changed, QuoteError> {
        // A policy bound before ledgers were kept gets its new business entry with its first change.
        let mut entries: Vec<Transaction> = unstored.into_iter().cloned().collect();
        entries.push(transaction.clone());
        let record = record.map(|r| IdempotencyRecord {
            quote_id: format!("{}#{}", read.policy_number, transaction.seq),
            ..r
        });
        let append = Append {
            policy: &after,
            read_version: read.version,
            transactions: &entries,
            idempotency: record.as_ref(),
            bind_quote,
            at: now,
        };
        match self.store.append(&append).await? {
            Appended::Done => {
                self.cache
                    .write_through(CacheName::Policy, &after.policy_number, &after)
                    .await;
                // Pages that showed the policy as it was, or can show it as it is now.
                let mut scopes = read.list_scopes();
                scopes.extend(after.list_scopes());
                self.cache.invalidate_lists(&scopes).await;
                Ok(Changed::Applied {
                    policy: Box::new(after),
                    transaction: Box::new(transaction),
                    replayed: false,
                })
            }
            Appended::Conflict => Err(QuoteError::PolicyChanged {
                policy_number: read.policy_number.clone(),
            }),
            Appended::QuoteRefused => Err(QuoteError::NotBindable {
                quote_id: bind_quote.map(|q| q.quote_id.clone()).unwrap_or_default(),
                why: "changing",
            }),
            Appended::KeyUsed(existing) => {
                self.replayed(record.as_ref(), &existing, &read.policy_number)
                    .await
            }
        }
    }

    /// The answer already given to a request with this idempotency key, if there is one: looked
    /// up before anything else, so a retry of a change that was made is answered as it was, not
    /// refused by the state the change left (a repeated cancellation is not "already cancelled").
    async fn answered_before(
        &self,
        idempotency: Option<&Idempotency>,
        policy_number: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Changed>, QuoteError> {
        let Some(key) = idempotency else {
            return Ok(None);
        };
        let Some(existing) = self.store.find_idempotency(&key.key, now).await? else {
            return Ok(None);
        };
        let ours = record_for(Some(key.clone()), "", now);
        Ok(Some(
            self.replayed(ours.as_ref(), &existing, policy_number)
                .await?,
        ))
    }

    /// What every change checks before it reads the policy: the answer given before to its
    /// idempotency key, if any, then how far back its date goes.
    async fn begin(
        &self,
        idempotency: Option<&Idempotency>,
        policy_number: &str,
        date: Option<Date>,
        now: OffsetDateTime,
    ) -> Result<Option<Changed>, QuoteError> {
        if let Some(before) = self
            .answered_before(idempotency, policy_number, now)
            .await?
        {
            return Ok(Some(before));
        }
        if let Some(date) = date {
            lifecycle::check_backdating(date, now.date())?;
        }
        Ok(None)
    }

    /// The answer to a request whose idempotency key was used before: the same request's result
    /// again, or a conflict if the key came with a different one.
    async fn replayed(
        &self,
        ours: Option<&IdempotencyRecord>,
        existing: &IdempotencyRecord,
        policy_number: &str,
    ) -> Result<Changed, QuoteError> {
        if !same_request(ours, existing) {
            return Err(QuoteError::IdempotencyKeyReused {
                quote_id: existing.quote_id.clone(),
            });
        }
        if let Some((number, seq)) = existing.quote_id.split_once('#')
            && number == policy_number
        {
            let seq: u32 = seq.parse().map_err(|_| {
                StorageError::Mapping(format!("idempotency record names {}", existing.quote_id))
            })?;
            let policy = self.store.get_policy_for_update(policy_number).await?;
            let transaction = self
                .store
                .ledger(policy_number)
                .await?
                .into_iter()
                .find(|t| t.seq == seq);
            return match (policy, transaction) {
                (Some(policy), Some(transaction)) => Ok(Changed::Applied {
                    policy: Box::new(policy),
                    transaction: Box::new(transaction),
                    replayed: true,
                }),
                _ => Err(StorageError::Mapping(format!(
                    "idempotency record points at missing transaction {}",
                    existing.quote_id
                ))
                .into()),
            };
        }
        let quote = self.read_quote(&existing.quote_id).await?;
        Ok(Changed::Referred {
            quote: Box::new(quote),
            replayed: true,
        })
    }

    /// The tables a term is rated on: those in force on its first day, for new business in the
    /// first term and for renewals after.
    fn term_tables(
        &self,
        request: &RatingRequest,
        term: u32,
        start: Date,
    ) -> Result<TableSet<'static>, QuoteError> {
        let business = if term == 1 {
            Business::NewBusiness
        } else {
            Business::Renewal
        };
        Ok(in_force(self.tables, request, business, start)?)
    }

    /// Endorses a policy: `changes` merged into what it is rated on, effective `date`, re-rated on
    /// its term's tables and decided on again. Accepted, the pro-rata difference is written to the
    /// ledger; referred, a quote waits for an underwriter and binding it writes the change;
    /// declined, nothing is written.
    pub async fn endorse(
        &self,
        policy_number: &str,
        caller: &Caller,
        date: Date,
        patch: &Map<String, Value>,
        request: Conditions,
        now: OffsetDateTime,
    ) -> Result<Changed, QuoteError> {
        let Conditions {
            idempotency,
            expected,
        } = request;
        if let Some(before) = self
            .begin(idempotency.as_ref(), policy_number, Some(date), now)
            .await?
        {
            return Ok(before);
        }
        let Opened {
            policy,
            ledger,
            unstored,
        } = self.open_policy(policy_number, caller, expected).await?;
        let last = ledger
            .iter()
            .max_by_key(|t| t.seq)
            .cloned()
            .ok_or_else(|| QuoteError::PolicyNotFound(policy_number.to_owned()))?;
        let current = last
            .rated_on
            .clone()
            .or_else(|| policy.rated_on.clone())
            .ok_or_else(|| QuoteError::NotRated {
                policy_number: policy_number.to_owned(),
            })?;
        let (changed, changed_json) = changes::apply(&current.request, patch)?;
        let before: RatingRequest = serde_json::from_str(&current.request)
            .map_err(|e| StorageError::Mapping(format!("stored request: {e}")))?;
        // Refused before anything is rated: a date the ledger cannot take.
        lifecycle::endorse(
            &ledger,
            date,
            crate::money::Money::ZERO,
            made(caller, now, None, None),
        )?;
        let set = self.term_tables(&changed, last.term, last.term_start)?;
        let (_, old) = rate_on(set, before, last.term_start)?;
        let (changed, new) = rate_on(set, changed, last.term_start)?;
        let change = new.total_premium - old.total_premium;
        let decision = decide(&changed, &new, set.table);
        let record = record_for(idempotency, "", now);
        let new_rated_on = rated_on(&new, changed_json);
        match decision.outcome {
            Outcome::Declined => Err(QuoteError::Declined {
                policy_number: policy_number.to_owned(),
                decision: Box::new(decision),
            }),
            Outcome::Referred => {
                let change = PolicyChange {
                    policy_number: policy_number.to_owned(),
                    kind: ChangeKind::Endorsement,
                    policy_version: policy.version,
                    term: last.term,
                    term_premium_change: Some(change),
                    capping: None,
                };
                self.store_change_quote(
                    &policy,
                    date,
                    &new,
                    decision,
                    new_rated_on,
                    change,
                    record,
                    now,
                    None,
                )
                .await
            }
            Outcome::Accepted => {
                let transaction = lifecycle::endorse(
                    &ledger,
                    date,
                    change,
                    made(caller, now, Some(new_rated_on.clone()), None),
                )?;
                let after = Policy {
                    total_premium: transaction.term_premium,
                    breakdown: breakdown(&new)?,
                    rated_on: Some(new_rated_on),
                    version: policy.version + 1,
                    renewal_offer: None,
                    cancellation_date: None,
                    ..policy.clone()
                };
                self.write_change(
                    &policy,
                    unstored.as_ref(),
                    transaction,
                    after,
                    record,
                    None,
                    now,
                )
                .await
            }
        }
    }

    /// Stores a quote that changes a policy (a referred endorsement, a renewal offer), numbered
    /// afresh, with its idempotency record when there is one.
    #[allow(clippy::too_many_arguments, reason = "one quote's parts, each named")]
    async fn store_change_quote(
        &self,
        policy: &Policy,
        effective_date: Date,
        rated: &RateQuote<'_>,
        decision: Decision,
        rated_on: RatedOn,
        change: PolicyChange,
        record: Option<IdempotencyRecord>,
        now: OffsetDateTime,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<Changed, QuoteError> {
        let breakdown = breakdown(rated)?;
        let total_premium = change
            .capping
            .as_ref()
            .map_or(rated.total_premium, |c| c.renewal_premium);
        for _ in 0..NUMBER_TRIES {
            let quote = Quote {
                quote_id: new_number("Q", now)?,
                owner: policy.owner.clone(),
                status: QuoteStatus::Quoted,
                decision: decision.clone(),
                state: policy.state,
                policy_type: policy.policy_type,
                term: policy.term,
                effective_date,
                total_premium,
                breakdown: breakdown.clone(),
                added_coverages: Vec::new(),
                created_at: now,
                expires_at: expires_at.unwrap_or(now + self.validity),
                policy_number: None,
                rated_on: Some(rated_on.clone()),
                decisions: vec![DecisionEntry {
                    outcome: decision.outcome,
                    actor: SYSTEM_ACTOR.to_owned(),
                    at: now,
                    note: None,
                }],
                bound_by: None,
                policy_change: Some(Box::new(change.clone())),
            };
            if change.kind == ChangeKind::Renewal {
                match self
                    .store
                    .offer_renewal(&quote, &policy.policy_number, policy.version)
                    .await?
                {
                    Offered::Done => {
                        let offered = Policy {
                            renewal_offer: Some(quote.quote_id.clone()),
                            ..policy.clone()
                        };
                        self.cache
                            .write_through(CacheName::Policy, &policy.policy_number, &offered)
                            .await;
                        return Ok(Changed::Referred {
                            quote: Box::new(quote),
                            replayed: false,
                        });
                    }
                    Offered::Taken => {
                        // Another run made the offer, or the policy changed: read it again.
                        let now_stored = self
                            .store
                            .get_policy_for_update(&policy.policy_number)
                            .await?;
                        if let Some(offer) =
                            now_stored.as_ref().and_then(|p| p.renewal_offer.clone())
                        {
                            return Ok(Changed::Referred {
                                quote: Box::new(self.read_quote(&offer).await?),
                                replayed: true,
                            });
                        }
                        if now_stored.is_none_or(|p| p.version != policy.version) {
                            return Err(QuoteError::PolicyChanged {
                                policy_number: policy.policy_number.clone(),
                            });
                        }
                    }
                }
                continue;
            }
            let record = record.clone().map(|r| IdempotencyRecord {
                quote_id: quote.quote_id.clone(),
                ..r
            });
            match self.store.insert_quote(&quote, record.as_ref()).await? {
                Inserted::Created => {
                    return Ok(Changed::Referred {
                        quote: Box::new(quote),
                        replayed: false,
                    });
                }
                Inserted::IdTaken => {}
                Inserted::KeyUsed(existing) => {
                    return self
                        .replayed(record.as_ref(), &existing, &policy.policy_number)
                        .await;
                }
            }
        }
        Err(QuoteError::NoFreeNumber { prefix: "Q" })
    }

    /// Cancels a policy effective `date` for `reason`, refunded as its state's rules say.
    pub async fn cancel(
        &self,
        policy_number: &str,
        caller: &Caller,
        date: Date,
        reason: CancelReason,
        request: Conditions,
        now: OffsetDateTime,
    ) -> Result<Changed, QuoteError> {
        let Conditions {
            idempotency,
            expected,
        } = request;
        if let Some(before) = self
            .begin(idempotency.as_ref(), policy_number, Some(date), now)
            .await?
        {
            return Ok(before);
        }
        let Opened {
            policy,
            ledger,
            unstored,
        } = self.open_policy(policy_number, caller, expected).await?;
        let rules = rules_of(policy.state)?;
        let transaction =
            lifecycle::cancel(&ledger, date, reason, rules, made(caller, now, None, None))?;
        let after = Policy {
            status: PolicyStatus::Cancelled,
            cancellation_date: Some(transaction.effective_date),
            version: policy.version + 1,
            renewal_offer: None,
            ..policy.clone()
        };
        let record = record_for(idempotency, "", now);
        self.write_change(
            &policy,
            unstored.as_ref(),
            transaction,
            after,
            record,
            None,
            now,
        )
        .await
    }

    /// Reinstates a policy cancelled for non-payment, within its state's window, with no lapse.
    pub async fn reinstate(
        &self,
        policy_number: &str,
        caller: &Caller,
        request: Conditions,
        now: OffsetDateTime,
    ) -> Result<Changed, QuoteError> {
        let Conditions {
            idempotency,
            expected,
        } = request;
        if let Some(before) = self
            .begin(idempotency.as_ref(), policy_number, None, now)
            .await?
        {
            return Ok(before);
        }
        let Opened {
            policy,
            ledger,
            unstored,
        } = self.read_ledger(policy_number, caller).await?;
        if expected.is_some_and(|v| v != policy.version) {
            return Err(QuoteError::PolicyChanged {
                policy_number: policy_number.to_owned(),
            });
        }
        let rules = rules_of(policy.state)?;
        let transaction =
            lifecycle::reinstate(&ledger, rules, now.date(), made(caller, now, None, None))?;
        let after = Policy {
            status: PolicyStatus::Active,
            cancellation_date: None,
            version: policy.version + 1,
            ..policy.clone()
        };
        let record = record_for(idempotency, "", now);
        self.write_change(
            &policy,
            unstored.as_ref(),
            transaction,
            after,
            record,
            None,
            now,
        )
        .await
    }

    /// The renewal offer of a policy's current term: the one it has, or a new one, re-rated with
    /// the renewal tables in force when the next term starts and held to its state's cap. An offer
    /// is a quote linked to the policy; binding it starts the next term. `caller` is `None` for the
    /// scheduled run.
    pub async fn offer_renewal(
        &self,
        policy_number: &str,
        caller: &Caller,
        now: OffsetDateTime,
    ) -> Result<Changed, QuoteError> {
        let (policy, ledger) = self.policy_ledger(policy_number, caller).await?;
        if let Some(offer) = &policy.renewal_offer {
            return Ok(Changed::Referred {
                quote: Box::new(self.read_quote(offer).await?),
                replayed: true,
            });
        }
        let why = match policy.status_at(now.date()) {
            // A cancellation pending for a later day ends the policy: it is not renewed.
            _ if policy.status == PolicyStatus::Cancelled => Some("cancelled"),
            // The current term has not started: a renewal bound early is the next term already.
            PolicyStatus::Active
                if policy.effective_date > now.date() && policy.term_number > 1 =>
            {
                Some("renewed for its next term already")
            }
            PolicyStatus::Active => None,
            PolicyStatus::Cancelled => Some("cancelled"),
            PolicyStatus::Expired => Some("expired"),
        };
        if let Some(why) = why {
            return Err(QuoteError::NotRenewable {
                policy_number: policy_number.to_owned(),
                why,
            });
        }
        let last = ledger
            .iter()
            .max_by_key(|t| t.seq)
            .cloned()
            .ok_or_else(|| QuoteError::PolicyNotFound(policy_number.to_owned()))?;
        let current = last
            .rated_on
            .clone()
            .or_else(|| policy.rated_on.clone())
            .ok_or_else(|| QuoteError::NotRated {
                policy_number: policy_number.to_owned(),
            })?;
        let start = last.term_end;
        let request: RatingRequest = serde_json::from_str(&current.request)
            .map_err(|e| StorageError::Mapping(format!("stored request: {e}")))?;
        let set = in_force(self.tables, &request, Business::Renewal, start)?;
        let (request, rated) = rate_on(set, request, start)?;
        let decision = decide(&request, &rated, set.table);
        let rules = rules_of(policy.state)?;
        let capping = Capping::new(last.term_premium, rated.total_premium, rules.renewal_cap);
        let change = PolicyChange {
            policy_number: policy_number.to_owned(),
            kind: ChangeKind::Renewal,
            policy_version: policy.version,
            term: last.term + 1,
            term_premium_change: None,
            capping: Some(capping),
        };
        let json = with_effective_date(&current.request, start)?;
        // Bindable until the current term ends.
        let until = start.with_time(Time::MIDNIGHT).assume_utc();
        self.store_change_quote(
            &policy,
            start,
            &rated,
            decision,
            rated_on(&rated, json),
            change,
            None,
            now,
            Some(until),
        )
        .await
    }

    /// Makes the renewal offer of every active policy whose term ends within its state's notice
    /// days of `now`, once: a policy that has an offer is skipped, and two runs at once make one.
    pub async fn renewal_run(&self, now: OffsetDateTime) -> Result<RenewalRun, QuoteError> {
        let rules = StateRules::builtin().map_err(|e| StorageError::Mapping(e.to_string()))?;
        let today = now.date();
        let horizon = today + time::Duration::days(i64::from(rules.longest_notice_days()));
        let mut run = RenewalRun::default();
        let system = Caller::new(SYSTEM_ACTOR, true);
        // A term that ends today has expired; the run offers terms that end from tomorrow on.
        let tomorrow = today + time::Duration::days(1);
        for due in self.store.due_for_renewal(tomorrow, horizon).await? {
            let notice = rules.of(due.state).map_or(0, |r| r.renewal_notice_days);
            if due.expiration_date > today + time::Duration::days(i64::from(notice)) {
                continue;
            }
            run.due += 1;
            match Box::pin(self.offer_renewal(&due.policy_number, &system, now)).await {
                Ok(Changed::Referred {
                    replayed: false, ..
                }) => run.offered += 1,
                Ok(_) => run.already_offered += 1,
                Err(err) => run
                    .failed
                    .push((due.policy_number.clone(), err.to_string())),
            }
        }
        Ok(run)
    }

    /// Binds a quote that changes a policy: a renewal offer starts the next term; an accepted
    /// endorsement (one an underwriter accepted) is written, if the policy has not changed since.
    pub(super) async fn bind_change(
        &self,
        quote: &Quote,
        change: &PolicyChange,
        caller: &Caller,
        now: OffsetDateTime,
    ) -> Result<Policy, QuoteError> {
        let owner = Caller::new(quote.owner.clone(), false);
        let Opened {
            policy,
            ledger,
            unstored,
        } = self.read_ledger(&change.policy_number, &owner).await?;
        let made = made(
            caller,
            now,
            quote.rated_on.clone(),
            Some(quote.quote_id.clone()),
        );
        let (transaction, after) = match change.kind {
            ChangeKind::Renewal => {
                if policy.renewal_offer.as_deref() != Some(quote.quote_id.as_str()) {
                    return Err(QuoteError::PolicyChanged {
                        policy_number: policy.policy_number.clone(),
                    });
                }
                let capping = change.capping.clone().ok_or_else(|| {
                    StorageError::Mapping("a renewal offer without its capping".into())
                })?;
                let transaction = lifecycle::renew(&ledger, policy.term.months(), capping, made)?;
                let after = Policy {
                    status: PolicyStatus::Active,
                    effective_date: transaction.term_start,
                    expiration_date: transaction.term_end,
                    total_premium: transaction.term_premium,
                    breakdown: quote.breakdown.clone(),
                    rated_on: quote.rated_on.clone(),
                    decision: Some(quote.decision.clone()),
                    term_number: transaction.term,
                    version: policy.version + 1,
                    renewal_offer: None,
                    cancellation_date: None,
                    ..policy.clone()
                };
                (transaction, after)
            }
            ChangeKind::Endorsement => {
                if policy.version != change.policy_version {
                    return Err(QuoteError::PolicyChanged {
                        policy_number: policy.policy_number.clone(),
                    });
                }
                let amount = change
                    .term_premium_change
                    .unwrap_or(crate::money::Money::ZERO);
                let transaction = lifecycle::endorse(&ledger, quote.effective_date, amount, made)?;
                let after = Policy {
                    total_premium: transaction.term_premium,
                    breakdown: quote.breakdown.clone(),
                    rated_on: quote.rated_on.clone(),
                    version: policy.version + 1,
                    renewal_offer: None,
                    cancellation_date: None,
                    ..policy.clone()
                };
                (transaction, after)
            }
        };
        match self
            .write_change(
                &policy,
                unstored.as_ref(),
                transaction,
                after,
                None,
                Some(quote),
                now,
            )
            .await?
        {
            Changed::Applied { policy, .. } => {
                let bound = Quote {
                    status: QuoteStatus::Bound,
                    policy_number: Some(policy.policy_number.clone()),
                    bound_by: Some(caller.id().to_owned()),
                    ..quote.clone()
                };
                self.cache
                    .write_through(CacheName::Quote, &quote.quote_id, &bound)
                    .await;
                Ok(*policy)
            }
            Changed::Referred { .. } => {
                Err(StorageError::Mapping("a bind made a quote".into()).into())
            }
        }
    }
}
