//! A policy's ledger: every transaction it has had, and the premium each one writes, earned day by
//! day over the days it covers.
//!
//! All of it is whole cents. A term's premium is spread over its days by cumulative rounding: the
//! premium earned after `k` of `n` days is `premium x k / n` rounded half-up to the cent, so the
//! days add up to the premium exactly. A change written part-way through a term is spread the same
//! way over the days it has left. Earned and unearned premium at any date are sums of days, and
//! the written premium is the sum of the transactions, so `written = earned + unearned` is a fact
//! the property tests check at every date, not a definition.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::rules::Rules;
use crate::money::Money;
pub use crate::records::Capping;
use crate::records::{RatedOn, date_format, term_end};

/// What a transaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The first term, bound from a quote.
    NewBusiness,
    /// A change of what is covered, part-way through a term.
    Endorsement,
    /// Cover ended before the term did.
    Cancellation,
    /// A cancellation for non-payment undone, with no lapse.
    Reinstatement,
    /// The next term, bound from a renewal offer.
    Renewal,
}

impl Kind {
    /// The name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::NewBusiness => "new_business",
            Kind::Endorsement => "endorsement",
            Kind::Cancellation => "cancellation",
            Kind::Reinstatement => "reinstatement",
            Kind::Renewal => "renewal",
        }
    }
}

/// Why a policy is cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// The insured asked: short rate, or flat within the free look.
    InsuredRequest,
    /// The premium was not paid: pro rata, and it can be reinstated.
    NonPayment,
    /// The company will no longer carry the risk: pro rata.
    Underwriting,
    /// Replaced by a new policy: pro rata.
    Rewrite,
}

/// How the unearned premium is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundMethod {
    /// Every day not covered is refunded.
    ProRata,
    /// As pro rata less the short-rate penalty the state's table allows.
    ShortRate,
    /// Everything written for the term is refunded, as if it never was.
    Flat,
}

/// What a cancellation earned and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellation {
    /// Why.
    pub reason: CancelReason,
    /// How the refund was worked out.
    pub method: RefundMethod,
    /// Premium written for the term before the cancellation.
    pub written: Money,
    /// Premium earned by the days covered, pro rata, before the cancellation took effect.
    pub earned: Money,
    /// Premium for the days no longer covered, pro rata.
    pub unearned: Money,
    /// What the company keeps beyond pro rata (short rate only).
    pub penalty: Money,
    /// What is returned: `unearned - penalty`, or everything written when flat.
    pub refund: Money,
}

/// One entry of a policy's ledger: append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// 1 for new business, then one more each.
    pub seq: u32,
    /// What it did.
    pub kind: Kind,
    /// The term it belongs to: 1, then one more each renewal.
    pub term: u32,
    /// That term's first day.
    #[serde(with = "date_format")]
    pub term_start: Date,
    /// The day that term ends (not covered).
    #[serde(with = "date_format")]
    pub term_end: Date,
    /// The day it takes effect.
    #[serde(with = "date_format")]
    pub effective_date: Date,
    /// The premium it writes: a charge, or a credit or refund (negative).
    pub written: Money,
    /// The premium for the whole term at the rates in force after it.
    pub term_premium: Money,
    /// Premium written for the term after it: the sum of its term's transactions.
    pub term_written: Money,
    /// A cancellation's figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<Cancellation>,
    /// A renewal's capping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capping: Option<Capping>,
    /// What the policy is rated on after it: the full request, the tables' version and hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rated_on: Option<RatedOn>,
    /// The quote it came from: new business, a renewal offer, a referred endorsement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_id: Option<String>,
    /// Who made it: the token's subject, or `system`.
    pub actor: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Why a transaction cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The date falls outside the current term.
    #[error("{date} is outside the current term, {start} to {end}")]
    OutsideTerm {
        /// The date asked for.
        date: Date,
        /// The term's first day.
        start: Date,
        /// The day it ends.
        end: Date,
    },
    /// The date is before the latest transaction's: changes are applied in order.
    #[error(
        "{date} is before the latest transaction ({seq}, effective {latest}): out-of-sequence changes are refused; reverse or re-enter them in order"
    )]
    OutOfSequence {
        /// The date asked for.
        date: Date,
        /// The latest transaction.
        seq: u32,
        /// Its effective date.
        latest: Date,
    },
    /// The policy is cancelled.
    #[error("the policy is cancelled (transaction {seq})")]
    Cancelled {
        /// The cancellation.
        seq: u32,
    },
    /// Only a non-payment cancellation, the latest transaction, can be reinstated.
    #[error(
        "only a policy whose latest transaction is a non-payment cancellation can be reinstated"
    )]
    NotReinstatable,
    /// The date is further back than a change may be dated.
    #[error(
        "{date} is more than {MAX_BACKDATE_DAYS} days back: the earliest a change may take effect today is {earliest}"
    )]
    Backdated {
        /// The date asked for.
        date: Date,
        /// The earliest allowed.
        earliest: Date,
    },
    /// The reinstatement window has closed.
    #[error(
        "the reinstatement window closed on {closed}: {days} days after the cancellation took effect on {cancelled}"
    )]
    WindowClosed {
        /// When the cancellation took effect.
        cancelled: Date,
        /// The state's window.
        days: u16,
        /// The last day it could be reinstated.
        closed: Date,
    },
}

/// How far back an endorsement or cancellation may be dated, in days before the day it is made.
pub const MAX_BACKDATE_DAYS: i64 = 30;

/// Refuses a change dated more than [`MAX_BACKDATE_DAYS`] before `today`.
pub fn check_backdating(date: Date, today: Date) -> Result<(), Refused> {
    let earliest = today - time::Duration::days(MAX_BACKDATE_DAYS);
    if date < earliest {
        return Err(Refused::Backdated { date, earliest });
    }
    Ok(())
}

/// The days of one term and what each earns, in cents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    start: Date,
    end: Date,
    days: Vec<i128>,
    written: i128,
    /// The days as they were before the latest cancellation, for a reinstatement.
    before_cancellation: Option<Vec<i128>>,
}

/// `numerator / denominator` rounded half-up (away from zero at the midpoint); `denominator > 0`.
fn div_half_up(numerator: i128, denominator: i128) -> i128 {
    let magnitude = (2 * numerator.abs() + denominator) / (2 * denominator);
    if numerator < 0 { -magnitude } else { magnitude }
}

fn days_between(from: Date, to: Date) -> i128 {
    i128::from((to - from).whole_days())
}

impl Schedule {
    /// The schedule of term `term` after every transaction of `ledger` in it, in order; `None` if
    /// the ledger has no such term.
    pub fn of_term(ledger: &[Transaction], term: u32) -> Option<Schedule> {
        let mut in_term = ledger.iter().filter(|t| t.term == term);
        let first = in_term.next()?;
        let length = usize::try_from(days_between(first.term_start, first.term_end).max(1)).ok()?;
        let mut schedule = Schedule {
            start: first.term_start,
            end: first.term_end,
            days: vec![0; length],
            written: 0,
            before_cancellation: None,
        };
        for transaction in std::iter::once(first).chain(in_term) {
            schedule.apply(transaction);
        }
        Some(schedule)
    }

    fn index(&self, date: Date) -> usize {
        usize::try_from(days_between(self.start, date).max(0))
            .unwrap_or(0)
            .min(self.days.len())
    }

    /// Adds `cents` spread over the days from `from` to the end of the term.
    fn spread(&mut self, cents: i128, from: Date) {
        let first = self.index(from);
        let Some(days) = self.days.get_mut(first..) else {
            return;
        };
        let Ok(n) = i128::try_from(days.len()) else {
            return;
        };
        if n == 0 {
            return;
        }
        let mut before = 0;
        for (k, day) in (1..).zip(days.iter_mut()) {
            let to_date = div_half_up(cents * k, n);
            *day += to_date - before;
            before = to_date;
        }
    }

    fn apply(&mut self, transaction: &Transaction) {
        let cents = transaction.written.cents();
        match transaction.kind {
            Kind::NewBusiness | Kind::Renewal | Kind::Endorsement => {
                self.spread(cents, transaction.effective_date);
            }
            Kind::Cancellation => {
                self.before_cancellation = Some(self.days.clone());
                let from = match &transaction.cancellation {
                    Some(c) if c.method == RefundMethod::Flat => 0,
                    _ => self.index(transaction.effective_date),
                };
                for day in &mut self.days[from..] {
                    *day = 0;
                }
                let penalty = transaction
                    .cancellation
                    .as_ref()
                    .map_or(0, |c| c.penalty.cents());
                if let Some(day) = self.days.get_mut(from) {
                    *day += penalty;
                } else if let Some(last) = self.days.last_mut() {
                    *last += penalty;
                }
            }
            Kind::Reinstatement => {
                if let Some(days) = self.before_cancellation.take() {
                    self.days = days;
                }
            }
        }
        self.written += cents;
    }

    /// Premium written for the term.
    pub fn written(&self) -> Money {
        Money::from_cents(self.written)
    }

    /// Premium earned by the days before `date`.
    pub fn earned(&self, date: Date) -> Money {
        Money::from_cents(self.days[..self.index(date)].iter().sum())
    }

    /// Premium for the days from `date` on.
    pub fn unearned(&self, date: Date) -> Money {
        Money::from_cents(self.days[self.index(date)..].iter().sum())
    }

    /// The term's first day.
    pub fn start(&self) -> Date {
        self.start
    }

    /// The day the term ends.
    pub fn end(&self) -> Date {
        self.end
    }
}

/// The latest transaction, which says where the policy stands.
fn latest(ledger: &[Transaction]) -> &Transaction {
    ledger
        .iter()
        .max_by_key(|t| t.seq)
        .unwrap_or_else(|| unreachable!("a ledger starts with new business"))
}

/// Checks a change effective on `date` against the policy's latest transaction: in force, within
/// the current term, and not before the latest transaction's effective date.
fn check_date(ledger: &[Transaction], date: Date) -> Result<&Transaction, Refused> {
    let last = latest(ledger);
    if last.kind == Kind::Cancellation {
        return Err(Refused::Cancelled { seq: last.seq });
    }
    if date < last.term_start || date >= last.term_end {
        return Err(Refused::OutsideTerm {
            date,
            start: last.term_start,
            end: last.term_end,
        });
    }
    if date < last.effective_date {
        return Err(Refused::OutOfSequence {
            date,
            seq: last.seq,
            latest: last.effective_date,
        });
    }
    Ok(last)
}

/// Who makes a transaction, when, and on what it rates the policy.
#[derive(Debug, Clone)]
pub struct Made {
    /// The token's subject, or `system`.
    pub actor: String,
    /// When.
    pub at: OffsetDateTime,
    /// The rated state after it.
    pub rated_on: Option<RatedOn>,
    /// The quote it came from.
    pub quote_id: Option<String>,
}

/// The first transaction of a policy bound for `premium` from `start` to `end`.
pub fn new_business(start: Date, end: Date, premium: Money, made: Made) -> Transaction {
    Transaction {
        seq: 1,
        kind: Kind::NewBusiness,
        term: 1,
        term_start: start,
        term_end: end,
        effective_date: start,
        written: premium,
        term_premium: premium,
        term_written: premium,
        cancellation: None,
        capping: None,
        rated_on: made.rated_on,
        quote_id: made.quote_id,
        actor: made.actor,
        at: made.at,
    }
}

/// An endorsement effective on `date` that moves the full-term premium by `change` (the new
/// request's premium less the current one's, both rated on the term's tables): writes `change`
/// pro rata for the days left in the term, half-up to the cent.
pub fn endorse(
    ledger: &[Transaction],
    date: Date,
    change: Money,
    made: Made,
) -> Result<Transaction, Refused> {
    let last = check_date(ledger, date)?;
    let term_days = days_between(last.term_start, last.term_end).max(1);
    let left = days_between(date, last.term_end);
    let written = Money::from_cents(div_half_up(change.cents() * left, term_days));
    Ok(Transaction {
        seq: last.seq + 1,
        kind: Kind::Endorsement,
        term: last.term,
        term_start: last.term_start,
        term_end: last.term_end,
        effective_date: date,
        written,
        term_premium: last.term_premium + change,
        term_written: last.term_written + written,
        cancellation: None,
        capping: None,
        rated_on: made.rated_on,
        quote_id: made.quote_id,
        actor: made.actor,
        at: made.at,
    })
}

/// A cancellation effective on `date` for `reason`, refunded as the state's `rules` say: flat when
/// the insured asks within the free look of inception, short rate when the insured asks later, pro
/// rata when the company cancels.
pub fn cancel(
    ledger: &[Transaction],
    date: Date,
    reason: CancelReason,
    rules: &Rules,
    made: Made,
) -> Result<Transaction, Refused> {
    let last = check_date(ledger, date)?;
    let schedule = Schedule::of_term(ledger, last.term)
        .unwrap_or_else(|| unreachable!("the latest transaction's term is in the ledger"));
    let inception = ledger
        .iter()
        .map(|t| t.term_start)
        .min()
        .unwrap_or(last.term_start);
    let written = schedule.written();
    let earned = schedule.earned(date);
    let unearned = schedule.unearned(date);
    // Judged by the day the insured asks, not by the date asked for: a cancellation backdated
    // into the free look months later is not flat.
    let free_look = i64::from(rules.free_look_days);
    let in_free_look = last.term == 1
        && (made.at.date() - inception).whole_days() < free_look
        && (date - inception).whole_days() < free_look;
    let method = match reason {
        CancelReason::InsuredRequest if in_free_look => RefundMethod::Flat,
        CancelReason::InsuredRequest => RefundMethod::ShortRate,
        CancelReason::NonPayment | CancelReason::Underwriting | CancelReason::Rewrite => {
            RefundMethod::ProRata
        }
    };
    let (penalty, refund) = match method {
        RefundMethod::Flat => (Money::ZERO, written),
        RefundMethod::ProRata => (Money::ZERO, unearned.max(Money::ZERO)),
        RefundMethod::ShortRate => {
            let share = rules.short_rate_earned(
                (date - last.term_start).whole_days(),
                (last.term_end - last.term_start).whole_days(),
            );
            // The company keeps the short-rate share, never less than pro rata, never more than
            // was written.
            let kept = Money::round(written.amount() * share)
                .max(earned)
                .min(written);
            (kept - earned, written - kept)
        }
    };
    Ok(Transaction {
        seq: last.seq + 1,
        kind: Kind::Cancellation,
        term: last.term,
        term_start: last.term_start,
        term_end: last.term_end,
        effective_date: date,
        written: Money::ZERO - refund,
        term_premium: last.term_premium,
        term_written: written - refund,
        cancellation: Some(Cancellation {
            reason,
            method,
            written,
            earned,
            unearned,
            penalty,
            refund,
        }),
        capping: None,
        rated_on: last.rated_on.clone(),
        quote_id: None,
        actor: made.actor,
        at: made.at,
    })
}

/// Undoes the latest transaction, a non-payment cancellation, on `today` if the state's window is
/// still open: effective the day the cancellation took effect, so cover has no lapse.
pub fn reinstate(
    ledger: &[Transaction],
    rules: &Rules,
    today: Date,
    made: Made,
) -> Result<Transaction, Refused> {
    let last = latest(ledger);
    let Some(cancellation) = last
        .cancellation
        .as_ref()
        .filter(|c| last.kind == Kind::Cancellation && c.reason == CancelReason::NonPayment)
    else {
        return Err(Refused::NotReinstatable);
    };
    let closed = last.effective_date + time::Duration::days(i64::from(rules.reinstatement_days));
    if today > closed {
        return Err(Refused::WindowClosed {
            cancelled: last.effective_date,
            days: rules.reinstatement_days,
            closed,
        });
    }
    Ok(Transaction {
        seq: last.seq + 1,
        kind: Kind::Reinstatement,
        term: last.term,
        term_start: last.term_start,
        term_end: last.term_end,
        effective_date: last.effective_date,
        written: cancellation.refund,
        term_premium: last.term_premium,
        term_written: last.term_written + cancellation.refund,
        cancellation: None,
        capping: None,
        rated_on: last.rated_on.clone(),
        quote_id: None,
        actor: made.actor,
        at: made.at,
    })
}

/// The next term, `months` long, from the latest term's end, at the capped premium.
pub fn renew(
    ledger: &[Transaction],
    months: u32,
    capping: Capping,
    made: Made,
) -> Result<Transaction, Refused> {
    let last = latest(ledger);
    if last.kind == Kind::Cancellation {
        return Err(Refused::Cancelled { seq: last.seq });
    }
    let start = last.term_end;
    let premium = capping.renewal_premium;
    Ok(Transaction {
        seq: last.seq + 1,
        kind: Kind::Renewal,
        term: last.term + 1,
        term_start: start,
        term_end: term_end(start, months),
        effective_date: start,
        written: premium,
        term_premium: premium,
        term_written: premium,
        cancellation: None,
        capping: Some(capping),
        rated_on: made.rated_on,
        quote_id: made.quote_id,
        actor: made.actor,
        at: made.at,
    })
}

/// The current term's premium on a date, by the whole ledger (transactions effective later
/// included): what an accountant books.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Premium {
    /// The date.
    #[serde(with = "date_format")]
    pub as_of: Date,
    /// The latest term.
    pub term: u32,
    /// Written for it.
    pub written: Money,
    /// Earned by the days before the date.
    pub earned: Money,
    /// For the days from the date on.
    pub unearned: Money,
}

/// The latest term's written, earned and unearned premium on `date`.
pub fn premium(ledger: &[Transaction], date: Date) -> Premium {
    let last = latest(ledger);
    let schedule = Schedule::of_term(ledger, last.term)
        .unwrap_or_else(|| unreachable!("the latest transaction's term is in the ledger"));
    Premium {
        as_of: date,
        term: last.term,
        written: schedule.written(),
        earned: schedule.earned(date),
        unearned: schedule.unearned(date),
    }
}

/// A policy as it stood on a date, from its ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Standing {
    /// The date asked about.
    #[serde(with = "date_format")]
    pub as_of: Date,
    /// `active`, `cancelled`, `expired`, or `not_yet_in_force` before inception.
    pub status: &'static str,
    /// The latest transaction in effect on that date.
    pub transaction: u32,
    /// Its term.
    pub term: u32,
    /// The term's first day.
    #[serde(with = "date_format")]
    pub term_start: Date,
    /// The day it ends.
    #[serde(with = "date_format")]
    pub term_end: Date,
    /// The full-term premium then in force.
    pub term_premium: Money,
    /// Premium written for the term by the transactions in effect on that date.
    pub written: Money,
    /// Of it, earned by the days before that date.
    pub earned: Money,
    /// Of it, for the days from that date on.
    pub unearned: Money,
    /// What it was rated on then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rated_on: Option<RatedOn>,
}

/// The policy as it stood on `date`: the transactions that had taken effect by then (a later
/// transaction effective earlier counts, as the ledger is in effective order within a term).
pub fn standing(ledger: &[Transaction], date: Date) -> Standing {
    let first = ledger
        .iter()
        .min_by_key(|t| t.seq)
        .unwrap_or_else(|| unreachable!("a ledger starts with new business"));
    let in_effect: Vec<Transaction> = ledger
        .iter()
        .filter(|t| t.seq == first.seq || t.effective_date <= date)
        .cloned()
        .collect();
    let last = latest(&in_effect);
    let schedule = Schedule::of_term(&in_effect, last.term)
        .unwrap_or_else(|| unreachable!("the latest transaction's term is in the ledger"));
    let status = if date < first.term_start {
        "not_yet_in_force"
    } else if last.kind == Kind::Cancellation {
        "cancelled"
    } else if date >= last.term_end {
        "expired"
    } else {
        "active"
    };
    Standing {
        as_of: date,
        status,
        transaction: last.seq,
        term: last.term,
        term_start: last.term_start,
        term_end: last.term_end,
        term_premium: last.term_premium,
        written: schedule.written(),
        earned: schedule.earned(date),
        unearned: schedule.unearned(date),
        rated_on: last.rated_on.clone(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::{date, datetime};

    use super::*;
    use crate::domain::State;
    use crate::lifecycle::rules::StateRules;

    fn made() -> Made {
        Made {
            actor: "agent-7".into(),
            at: datetime!(2026-11-30 12:00 UTC),
            rated_on: None,
            quote_id: None,
        }
    }

    fn rules() -> &'static Rules {
        StateRules::builtin().unwrap().of(State::CA).unwrap()
    }

    fn money(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    fn bound(premium: &str) -> Vec<Transaction> {
        let start = date!(2026 - 01 - 01);
        vec![new_business(
            start,
            term_end(start, 12),
            money(premium),
            made(),
        )]
    }

    #[test]
    fn an_endorsement_writes_the_change_for_the_days_left_half_up() {
        // 1,000.00 a year; +365.00 a year from day 73 of 365: 292 days left.
        let ledger = bound("1000.00");
        let endorsed = endorse(&ledger, date!(2026 - 03 - 15), money("365.00"), made()).unwrap();
        assert_eq!(endorsed.written, money("292.00"));
        assert_eq!(endorsed.term_premium, money("1365.00"));
        // +100.00 a year for 292 of 365 days: 80.00 exactly; +1.00: 0.8 -> 0.80; +0.01: 0.008 -> 0.01.
        for (change, written) in [("100.00", "80.00"), ("1.00", "0.80"), ("0.01", "0.01")] {
            let t = endorse(&ledger, date!(2026 - 03 - 15), money(change), made()).unwrap();
            assert_eq!(t.written, money(written), "{change}");
        }
        let credit = endorse(&ledger, date!(2026 - 03 - 15), money("-0.01"), made()).unwrap();
        assert_eq!(credit.written, money("-0.01"));
    }

    #[test]
    fn a_company_cancellation_refunds_pro_rata_and_the_insured_pays_short_rate_after_the_free_look()
    {
        let ledger = bound("1000.00");
        // Day 73 of 365 (20%).
        let date = date!(2026 - 03 - 15);
        let company = cancel(&ledger, date, CancelReason::Underwriting, rules(), made()).unwrap();
        let c = company.cancellation.as_ref().unwrap();
        assert_eq!(
            (c.method, c.earned, c.refund),
            (RefundMethod::ProRata, money("200.00"), money("800.00"))
        );
        let insured = cancel(&ledger, date, CancelReason::InsuredRequest, rules(), made()).unwrap();
        let c = insured.cancellation.as_ref().unwrap();
        // 20% elapsed: the company keeps 30%.
        assert_eq!(
            (c.method, c.penalty, c.refund),
            (RefundMethod::ShortRate, money("100.00"), money("700.00"))
        );
        assert_eq!(insured.term_written, money("300.00"));
        // Asked within CA's 10-day free look: everything back.
        let asked_early = Made {
            at: datetime!(2026-01-04 09:00 UTC),
            ..made()
        };
        let early = cancel(
            &ledger,
            date!(2026 - 01 - 05),
            CancelReason::InsuredRequest,
            rules(),
            asked_early.clone(),
        )
        .unwrap();
        let c = early.cancellation.as_ref().unwrap();
        assert_eq!((c.method, c.refund), (RefundMethod::Flat, money("1000.00")));
        // Backdated into the free look months later: short rate, not flat.
        let late = cancel(
            &ledger,
            date!(2026 - 01 - 05),
            CancelReason::InsuredRequest,
            rules(),
            made(),
        )
        .unwrap();
        assert_eq!(
            late.cancellation.as_ref().unwrap().method,
            RefundMethod::ShortRate
        );
        assert_eq!(
            check_backdating(date!(2026 - 10 - 30), date!(2026 - 11 - 30)),
            Err(Refused::Backdated {
                date: date!(2026 - 10 - 30),
                earliest: date!(2026 - 10 - 31),
            })
        );
        assert_eq!(
            check_backdating(date!(2026 - 10 - 31), date!(2026 - 11 - 30)),
            Ok(())
        );
        let mut flat = ledger.clone();
        flat.push(early);
        let schedule = Schedule::of_term(&flat, 1).unwrap();
        assert_eq!(schedule.earned(date!(2027 - 01 - 01)), Money::ZERO);
    }

    #[test]
    fn changes_are_refused_out_of_sequence_outside_the_term_and_after_a_cancellation() {
        let mut ledger = bound("1000.00");
        ledger.push(endorse(&ledger, date!(2026 - 06 - 01), money("10.00"), made()).unwrap());
        assert!(matches!(
            endorse(&ledger, date!(2026 - 05 - 01), money("10.00"), made()),
            Err(Refused::OutOfSequence { seq: 2, .. })
        ));
        assert!(matches!(
            endorse(&ledger, date!(2027 - 01 - 01), money("10.00"), made()),
            Err(Refused::OutsideTerm { .. })
        ));
        ledger.push(
            cancel(
                &ledger,
                date!(2026 - 07 - 01),
                CancelReason::NonPayment,
                rules(),
                made(),
            )
            .unwrap(),
        );
        assert!(matches!(
            endorse(&ledger, date!(2026 - 08 - 01), money("10.00"), made()),
            Err(Refused::Cancelled { seq: 3 })
        ));
        assert_eq!(
            reinstate(&ledger, rules(), date!(2026 - 08 - 01), made()),
            Err(Refused::WindowClosed {
                cancelled: date!(2026 - 07 - 01),
                days: 30,
                closed: date!(2026 - 07 - 31),
            })
        );
        let back = reinstate(&ledger, rules(), date!(2026 - 07 - 31), made()).unwrap();
        assert_eq!(back.effective_date, date!(2026 - 07 - 01));
        ledger.push(back);
        assert_eq!(
            reinstate(&ledger, rules(), date!(2026 - 07 - 31), made()),
            Err(Refused::NotReinstatable)
        );
    }

    #[test]
    fn a_renewal_is_held_to_the_cap_and_says_so() {
        let up = Capping::new(money("1000.00"), money("1300.00"), rules().renewal_cap);
        assert_eq!((up.renewal_premium, up.capped), (money("1150.00"), true));
        let down = Capping::new(money("1000.00"), money("700.00"), rules().renewal_cap);
        assert_eq!(
            (down.renewal_premium, down.floor),
            (money("850.00"), money("850.00"))
        );
        let within = Capping::new(money("1000.00"), money("1049.99"), rules().renewal_cap);
        assert_eq!(
            (within.renewal_premium, within.capped),
            (money("1049.99"), false)
        );
        let ledger = bound("1000.00");
        let renewed = renew(&ledger, 12, up, made()).unwrap();
        assert_eq!(
            (renewed.term, renewed.term_start),
            (2, date!(2027 - 01 - 01))
        );
        assert_eq!(renewed.term_end, date!(2028 - 01 - 01));
    }

    #[test]
    fn standing_reads_the_ledger_as_of_a_date() {
        let mut ledger = bound("1000.00");
        ledger.push(endorse(&ledger, date!(2026 - 07 - 02), money("365.00"), made()).unwrap());
        let before = standing(&ledger, date!(2026 - 07 - 01));
        assert_eq!(
            (before.status, before.transaction, before.term_premium),
            ("active", 1, money("1000.00"))
        );
        let after = standing(&ledger, date!(2026 - 07 - 02));
        assert_eq!(
            (after.transaction, after.term_premium),
            (2, money("1365.00"))
        );
        assert_eq!(after.written, after.earned + after.unearned);
        assert_eq!(
            standing(&ledger, date!(2025 - 12 - 31)).status,
            "not_yet_in_force"
        );
        assert_eq!(standing(&ledger, date!(2027 - 01 - 01)).status, "expired");
    }

    /// One step of a random policy's life.
    #[derive(Debug, Clone)]
    enum Step {
        Endorse { after_days: u8, change_cents: i32 },
        Cancel { after_days: u8, reason: u8 },
        Reinstate { after_days: u8 },
        Renew { rated_cents: u32 },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => (0u8..60, -50_000i32..80_000).prop_map(|(after_days, change_cents)| Step::Endorse { after_days, change_cents }),
            2 => (0u8..60, 0u8..4).prop_map(|(after_days, reason)| Step::Cancel { after_days, reason }),
            2 => (0u8..40).prop_map(|after_days| Step::Reinstate { after_days }),
            1 => (10_000u32..500_000).prop_map(|rated_cents| Step::Renew { rated_cents }),
        ]
    }

    const REASONS: [CancelReason; 4] = [
        CancelReason::InsuredRequest,
        CancelReason::NonPayment,
        CancelReason::Underwriting,
        CancelReason::Rewrite,
    ];

    /// Every term's schedule balances at every one of its dates, and refunds stay within what was
    /// written.
    fn check_balances(ledger: &[Transaction]) {
        let terms = ledger.iter().map(|t| t.term).max().unwrap();
        for term in 1..=terms {
            let schedule = Schedule::of_term(ledger, term).unwrap();
            let written: Money = ledger
                .iter()
                .filter(|t| t.term == term)
                .map(|t| t.written)
                .sum();
            assert_eq!(schedule.written(), written);
            let last = ledger
                .iter()
                .filter(|t| t.term == term)
                .max_by_key(|t| t.seq)
                .unwrap();
            assert_eq!(last.term_written, written);
            let mut date = schedule.start() - time::Duration::days(1);
            while date <= schedule.end() + time::Duration::days(1) {
                assert_eq!(
                    schedule.earned(date) + schedule.unearned(date),
                    written,
                    "{date}"
                );
                date += time::Duration::days(1);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn any_sequence_of_transactions_balances_to_the_cent(
            premium_cents in 10_000u32..1_000_000,
            months in prop::sample::select(vec![1u32, 3, 6, 12]),
            start_offset in 0u16..800,
            steps in prop::collection::vec(step(), 1..20),
        ) {
            let start = date!(2025 - 01 - 01) + time::Duration::days(i64::from(start_offset));
            let premium = Money::from_cents(i128::from(premium_cents));
            let mut ledger = vec![new_business(start, term_end(start, months), premium, made())];
            for step in steps {
                let last = latest(&ledger).clone();
                let made = made();
                let next = match step {
                    Step::Endorse { after_days, change_cents } => {
                        // A premium stays a premium: rating never goes below a state's minimum,
                        // so a change here takes away at most half of it.
                        let change = Money::from_cents(i128::from(change_cents).max(-last.term_premium.cents() / 2));
                        endorse(&ledger, last.effective_date + time::Duration::days(after_days.into()), change, made)
                    }
                    Step::Cancel { after_days, reason } => {
                        let before = Schedule::of_term(&ledger, last.term).unwrap();
                        let result = cancel(&ledger, last.effective_date + time::Duration::days(after_days.into()), REASONS[usize::from(reason)], rules(), made);
                        if let Ok(t) = &result {
                            let c = t.cancellation.as_ref().unwrap();
                            prop_assert!(c.refund <= before.written(), "{c:?}");
                            prop_assert!(c.refund >= Money::ZERO, "{c:?}");
                            prop_assert!(c.refund <= c.unearned || c.method == RefundMethod::Flat, "{c:?}");
                            prop_assert_eq!(c.earned + c.unearned, c.written);
                        }
                        result
                    }
                    Step::Reinstate { after_days } => {
                        let result = reinstate(&ledger, rules(), last.effective_date + time::Duration::days(after_days.into()), made);
                        if let Ok(t) = &result {
                            // No lapse: the same premium as before the cancellation, and the
                            // same written.
                            let before = &ledger[ledger.len() - 2];
                            prop_assert_eq!(t.term_premium, before.term_premium);
                            prop_assert_eq!(t.term_written, before.term_written);
                            let without = ledger[..ledger.len() - 1].to_vec();
                            let mut with = ledger.clone();
                            with.push(t.clone());
                            prop_assert_eq!(
                                Schedule::of_term(&with, t.term).unwrap().days,
                                Schedule::of_term(&without, t.term).unwrap().days
                            );
                        }
                        result
                    }
                    Step::Renew { rated_cents } => {
                        let capping = Capping::new(last.term_premium, Money::from_cents(i128::from(rated_cents)), rules().renewal_cap);
                        prop_assert!(capping.renewal_premium >= capping.floor && capping.renewal_premium <= capping.ceiling);
                        renew(&ledger, months, capping, made)
                    }
                };
                if let Ok(transaction) = next {
                    ledger.push(transaction);
                    check_balances(&ledger);
                }
            }
        }
    }
}
