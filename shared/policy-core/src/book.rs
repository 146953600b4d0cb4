//! The book rated again: a stored quote or policy replayed with the tables it was rated with, and a
//! candidate rate table tried on every policy in force. Pure: storage hands in what it read.
//!
//! **Replay** reads what the record kept ([`RatedOn`]: the request as sent, the tables' version
//! and SHA-256), finds the compiled tables by that version, refuses them if their hash is not the
//! stored one, and rates the request again on the record's first day of cover. It never falls back
//! to other tables: a version or hash no compiled table has is reported, not guessed.
//!
//! **Impact** rates each policy's stored request twice, with the tables in force today for
//! renewals (the current table) and with the candidate beside the same common table, on the
//! policy's own first day of cover. It compares the written premium: coverage lines, flat
//! surcharges and any minimum-premium adjustment, before premium tax and flat fees, which are not
//! rates. A policy's change is rounded half-up to 2 decimal places before it is bucketed or taken
//! as an extreme, so a policy shown at +10.00% counts in the bucket from +10.0%.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use time::Date;

use crate::domain::{PolicyType, State};
use crate::money::Money;
use crate::rating::tables::{RateTables, TableSet, Tier};
use crate::rating::{RatingRequest, rate_with, written};
use crate::records::{Policy, Quote, RatedOn};

/// What a stored quote or policy says about how it was rated.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    /// What it was rated on; absent on records made before it was kept.
    pub rated_on: Option<&'a RatedOn>,
    /// Its first day of cover.
    pub effective_date: Date,
    /// The total it was written at.
    pub total_premium: Money,
}

impl<'a> From<&'a Quote> for Stored<'a> {
    /// A renewal offer is rated, then held to its state's cap: the rated premium is what replays.
    fn from(quote: &'a Quote) -> Stored<'a> {
        let capped = quote
            .policy_change
            .as_ref()
            .and_then(|change| change.capping.as_ref());
        Stored {
            rated_on: quote.rated_on.as_ref(),
            effective_date: quote.effective_date,
            total_premium: capped.map_or(quote.total_premium, |c| c.rated_premium),
        }
    }
}

impl<'a> From<&'a Policy> for Stored<'a> {
    /// A policy's premium for the term may differ from its rating's total (a capped renewal, an
    /// endorsement on one): the total of the breakdown it keeps, as rated, is what replays.
    fn from(policy: &'a Policy) -> Stored<'a> {
        let rated = serde_json::from_str::<serde_json::Value>(&policy.breakdown)
            .ok()
            .and_then(|b| b["total_premium"].as_str().and_then(Money::parse));
        Stored {
            rated_on: policy.rated_on.as_ref(),
            effective_date: policy.effective_date,
            total_premium: rated.unwrap_or(policy.total_premium),
        }
    }
}

/// The answer to a replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replay {
    /// Whether the stored tables, found by version and hash, give the stored total to the cent.
    pub matches: bool,
    /// The total as stored.
    pub stored_total: Money,
    /// The total rated again; absent when it could not be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replayed_total: Option<Money>,
    /// Replayed minus stored; absent when nothing was replayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<Money>,
    /// The tables' version as stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_table_version: Option<String>,
    /// The tables' hash as stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_table_sha256: Option<String>,
    /// Why it does not match, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Rates `stored` again with the tables it names, and says whether the total is the stored one.
pub fn replay(tables: &RateTables, stored: Stored<'_>) -> Replay {
    let mut answer = Replay {
        matches: false,
        stored_total: stored.total_premium,
        replayed_total: None,
        difference: None,
        rate_table_version: stored.rated_on.map(|r| r.rate_table_version.clone()),
        rate_table_sha256: stored.rated_on.map(|r| r.rate_table_sha256.clone()),
        reason: None,
    };
    let Some(rated_on) = stored.rated_on else {
        answer.reason = Some("the record was written before what it was rated on was kept".into());
        return answer;
    };
    let Some(set) = tables.by_version(&rated_on.rate_table_version) else {
        answer.reason = Some(format!(
            "no compiled rate table has version {}",
            rated_on.rate_table_version
        ));
        return answer;
    };
    if set.identity.sha256 != rated_on.rate_table_sha256 {
        answer.reason = Some(format!(
            "the compiled tables of version {} have SHA-256 {}, not the stored {}",
            rated_on.rate_table_version, set.identity.sha256, rated_on.rate_table_sha256
        ));
        return answer;
    }
    match rerate(set, &rated_on.request, stored.effective_date) {
        Ok(total) => {
            let difference = total - stored.total_premium;
            answer.matches = difference == Money::ZERO;
            answer.replayed_total = Some(total);
            answer.difference = Some(difference);
            if !answer.matches {
                answer.reason = Some(format!(
                    "the tables of version {} rate the stored request at {total}, not {}",
                    rated_on.rate_table_version, stored.total_premium
                ));
            }
        }
        Err(reason) => answer.reason = Some(reason),
    }
    answer
}

/// The stored request read back, with the coverages `set` requires added as they were when it was
/// rated, and rated with `set` on `effective` (its own date where it names one).
fn rerate(set: TableSet<'_>, request: &str, effective: Date) -> Result<Money, String> {
    let request = stored_request(set, request)?;
    let effective = request.effective_date.unwrap_or(effective);
    rate_with(set, &request, effective)
        .map(|quote| quote.total_premium)
        .map_err(|e| format!("the stored request no longer rates: {e}"))
}

/// Reads a stored request and adds the coverages `set`'s table requires that it leaves out.
fn stored_request(set: TableSet<'_>, request: &str) -> Result<RatingRequest, String> {
    let mut request: RatingRequest = serde_json::from_str(request)
        .map_err(|e| format!("the stored request does not read back: {e}"))?;
    set.table.add_required_coverages(&mut request);
    Ok(request)
}

/// Width of a histogram bucket, in percent.
pub const BUCKET_WIDTH: Decimal = Decimal::from_parts(25, 0, 0, false, 1);
/// The histogram's closed range runs from minus this to plus this, in percent.
pub const BUCKET_SPAN: Decimal = Decimal::from_parts(25, 0, 0, false, 0);
/// Buckets between the open ends: 2 x 25% / 2.5%.
const CLOSED_BUCKETS: usize = 20;
/// Distinct reasons kept for policies that could not be rated.
const MAX_REASONS: usize = 10;

/// Where a policy is rated: a ZIP prefix either table lists, the default territory, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Territory {
    Prefix(u16),
    Default,
    None,
}

impl fmt::Display for Territory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Territory::Prefix(prefix) => write!(f, "{prefix:03}"),
            Territory::Default => f.write_str("default"),
            Territory::None => f.write_str("none"),
        }
    }
}

/// Premiums before and after, summed over a group of policies.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    policies: u64,
    current: Money,
    candidate: Money,
}

impl Sums {
    fn add(&mut self, current: Money, candidate: Money) {
        self.policies += 1;
        self.current = self.current + current;
        self.candidate = self.candidate + candidate;
    }
}

/// The candidate tried on a book, one policy at a time; [`Impact::report`] sums it up.
#[derive(Debug)]
pub struct Impact<'t> {
    current: TableSet<'t>,
    candidate: TableSet<'t>,
    as_of: Date,
    total: Sums,
    by_tier: BTreeMap<Tier, Sums>,
    by_territory: BTreeMap<Territory, Sums>,
    histogram: [u64; CLOSED_BUCKETS + 2],
    above_minimum: Option<(Decimal, Decimal)>,
    at_minimum: u64,
    not_rated: u64,
    reasons: BTreeMap<String, u64>,
}

impl<'t> Impact<'t> {
    /// An empty tally of `candidate` against `current`, the tables in force on `as_of`.
    pub fn new(current: TableSet<'t>, candidate: TableSet<'t>, as_of: Date) -> Impact<'t> {
        Impact {
            current,
            candidate,
            as_of,
            total: Sums::default(),
            by_tier: BTreeMap::new(),
            by_territory: BTreeMap::new(),
            histogram: [0; CLOSED_BUCKETS + 2],
            above_minimum: None,
            at_minimum: 0,
            not_rated: 0,
            reasons: BTreeMap::new(),
        }
    }

    /// Rates one stored policy, first in force on `effective_date`, both ways and counts it.
    pub fn add(&mut self, rated_on: Option<&RatedOn>, effective_date: Date) {
        let outcome = match rated_on {
            None => Err("the policy was written before what it was rated on was kept".to_owned()),
            Some(rated_on) => stored_request(self.current, &rated_on.request),
        }
        .and_then(|request| self.add_request(&request, effective_date));
        if let Err(reason) = outcome {
            self.not_rated += 1;
            if let Some(count) = self.reasons.get_mut(&reason) {
                *count += 1;
            } else if self.reasons.len() < MAX_REASONS {
                self.reasons.insert(reason, 1);
            }
        }
    }

    /// Rates one request both ways and counts it; why not, if it cannot be rated.
    fn add_request(&mut self, request: &RatingRequest, effective: Date) -> Result<(), String> {
        let effective = request.effective_date.unwrap_or(effective);
        let current = written(self.current, request, effective)
            .map_err(|e| format!("the current table refuses it: {e}"))?;
        let candidate = written(self.candidate, request, effective)
            .map_err(|e| format!("the candidate refuses it: {e}"))?;
        let (before, after) = (current.premium, candidate.premium);
        self.total.add(before, after);
        self.by_tier
            .entry(current.tier)
            .or_default()
            .add(before, after);
        let territory = match request.zip_code {
            None => Territory::None,
            Some(zip) => {
                let prefix = zip.prefix();
                let rated = |set: TableSet<'_>| set.table.territory_listed(prefix);
                if rated(self.current) || rated(self.candidate) {
                    Territory::Prefix(prefix)
                } else {
                    Territory::Default
                }
            }
        };
        self.by_territory
            .entry(territory)
            .or_default()
            .add(before, after);
        let change = display(percent(before, after));
        self.histogram[bucket(change)] += 1;
        let floored = current.adjustment != Money::ZERO || candidate.adjustment != Money::ZERO;
        if floored {
            self.at_minimum += 1;
        } else {
            self.above_minimum = Some(match self.above_minimum {
                None => (change, change),
                Some((low, high)) => (low.min(change), high.max(change)),
            });
        }
        Ok(())
    }

    /// The report.
    pub fn report(&self) -> ImpactReport {
        let group = |sums: &Sums| Group {
            policies: sums.policies,
            current_premium: sums.current,
            candidate_premium: sums.candidate,
            change: sums.candidate - sums.current,
            change_percent: (sums.policies > 0)
                .then(|| display(percent(sums.current, sums.candidate))),
        };
        let histogram = self
            .histogram
            .iter()
            .enumerate()
            .map(|(i, &policies)| {
                let from = (i > 0).then(|| bucket_edge(i - 1));
                let to = (i <= CLOSED_BUCKETS).then(|| bucket_edge(i));
                Bucket { from, to, policies }
            })
            .collect();
        ImpactReport {
            state: self.current.table.state,
            policy_type: self.current.table.policy_type,
            as_of: self.as_of,
            current: Tables::of(self.current),
            candidate: Tables::of(self.candidate),
            policies: self.total.policies,
            total: group(&self.total),
            by_tier: self
                .by_tier
                .iter()
                .map(|(&tier, sums)| TierGroup {
                    tier,
                    sums: group(sums),
                })
                .collect(),
            by_territory: self
                .by_territory
                .iter()
                .map(|(territory, sums)| TerritoryGroup {
                    territory: territory.to_string(),
                    sums: group(sums),
                })
                .collect(),
            histogram,
            above_minimum: Extremes {
                policies: self.total.policies - self.at_minimum,
                lowest_change_percent: self.above_minimum.map(|(low, _)| display(low)),
                highest_change_percent: self.above_minimum.map(|(_, high)| display(high)),
            },
            at_minimum_premium: self.at_minimum,
            not_rated: NotRated {
                policies: self.not_rated,
                reasons: self
                    .reasons
                    .iter()
                    .map(|(reason, &policies)| Reason {
                        reason: reason.clone(),
                        policies,
                    })
                    .collect(),
            },
        }
    }
}

/// `after` against `before`, in percent, exact.
fn percent(before: Money, after: Money) -> Decimal {
    if before == Money::ZERO {
        return Decimal::ZERO;
    }
    (after.amount() - before.amount()) * Decimal::ONE_HUNDRED / before.amount()
}

/// A percentage as shown: half-up to 2 decimal places.
fn display(percent: Decimal) -> Decimal {
    let mut shown = percent.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    shown.rescale(2);
    shown
}

/// The histogram bucket of a change: 0 below -25%, then 2.5% wide buckets, the last from +25% up.
fn bucket(change: Decimal) -> usize {
    if change < -BUCKET_SPAN {
        return 0;
    }
    let steps = ((change + BUCKET_SPAN) / BUCKET_WIDTH).floor();
    let steps = usize::try_from(steps.mantissa()).unwrap_or(usize::MAX);
    (steps + 1).min(CLOSED_BUCKETS + 1)
}

/// The lower edge of closed bucket `i` (0-based), which is the upper edge of the one before.
fn bucket_edge(i: usize) -> Decimal {
    let mut edge = -BUCKET_SPAN + BUCKET_WIDTH * Decimal::from(i);
    edge.rescale(1);
    edge
}

/// The tables on one side of the comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tables {
    /// `<STATE>-<product>-<version>/common-<version>`.
    pub rate_table_version: String,
    /// SHA-256 of the state table's file then the common table's.
    pub rate_table_sha256: String,
}

impl Tables {
    fn of(set: TableSet<'_>) -> Tables {
        Tables {
            rate_table_version: set.identity.version.clone(),
            rate_table_sha256: set.identity.sha256.clone(),
        }
    }
}

/// Premiums of a group of policies before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// How many.
    pub policies: u64,
    /// Written premium with the current table.
    pub current_premium: Money,
    /// Written premium with the candidate.
    pub candidate_premium: Money,
    /// Candidate minus current.
    pub change: Money,
    /// The change in percent of current, half-up to 2 places; absent for an empty group.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub change_percent: Option<Decimal>,
}

/// The policies of one tier (the current table's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierGroup {
    /// The tier.
    pub tier: Tier,
    /// Their premiums.
    #[serde(flatten)]
    pub sums: Group,
}

/// The policies of one territory: a ZIP prefix either table lists, `default` for one neither
/// does, `none` where the policy gives no ZIP code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TerritoryGroup {
    /// The territory.
    pub territory: String,
    /// Their premiums.
    #[serde(flatten)]
    pub sums: Group,
}

/// Policies whose change falls in `[from, to)` percent; an open end has no bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Lowest change in the bucket, in percent; absent on the lowest bucket.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub from: Option<Decimal>,
    /// The change the bucket stays below, in percent; absent on the highest bucket.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub to: Option<Decimal>,
    /// How many policies.
    pub policies: u64,
}

/// The smallest and largest change among policies above the minimum premium either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extremes {
    /// How many policies are above the minimum premium with both tables.
    pub policies: u64,
    /// The smallest change, in percent.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub lowest_change_percent: Option<Decimal>,
    /// The largest change, in percent.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub highest_change_percent: Option<Decimal>,
}

/// One reason policies could not be rated, and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// Why.
    pub reason: String,
    /// How many.
    pub policies: u64,
}

/// Policies in force that could not be rated one way or the other, left out of every sum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotRated {
    /// How many.
    pub policies: u64,
    /// Why, by reason (the first ten distinct reasons).
    pub reasons: Vec<Reason>,
}

/// What a candidate table does to the book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImpactReport {
    /// The state.
    pub state: State,
    /// The product.
    pub policy_type: PolicyType,
    /// The day the book and the current table were taken.
    #[serde(with = "crate::rating::request::date_format")]
    pub as_of: Date,
    /// The tables in force for renewals on `as_of`.
    pub current: Tables,
    /// The candidate, beside the same common table.
    pub candidate: Tables,
    /// Policies rated both ways.
    pub policies: u64,
    /// Their written premium before and after.
    pub total: Group,
    /// By the tier the current table puts them in.
    pub by_tier: Vec<TierGroup>,
    /// By territory.
    pub by_territory: Vec<TerritoryGroup>,
    /// Policies by percent change: below -25%, 2.5% buckets up to +25%, then +25% and up.
    pub histogram: Vec<Bucket>,
    /// The spread of changes above the minimum premium.
    pub above_minimum: Extremes,
    /// Policies at the minimum premium with either table.
    pub at_minimum_premium: u64,
    /// Policies that could not be rated.
    pub not_rated: NotRated,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal_macros::dec;
    use time::macros::date;

    use super::*;
    use crate::rating::rate;
    use crate::rating::tables::Business;

    fn tables() -> &'static RateTables {
        RateTables::builtin().unwrap()
    }

    const CA_AUTO: &str = r#"{"state":"CA","policy_type":"auto","coverage":{"liability":300000,"collision":20000},"drivers":[{"age":30,"years_licensed":8}],"vehicle":{"year":2020},"zip_code":"90012"}"#;

    /// `request` rated today as a quote is, and what a record of it keeps.
    fn stored(request: &str, today: Date) -> (RatedOn, Money, Date) {
        let parsed: RatingRequest = serde_json::from_str(request).unwrap();
        let quote = rate(tables(), &parsed, today).unwrap();
        (
            RatedOn {
                request: request.to_owned(),
                rate_table_version: quote.rate_table_version.to_owned(),
                rate_table_sha256: quote.rate_table_sha256.to_owned(),
            },
            quote.total_premium,
            quote.effective_date.unwrap(),
        )
    }

    #[test]
    fn a_replay_matches_with_the_named_tables_and_says_why_not_otherwise() {
        let (rated_on, total, effective) = stored(CA_AUTO, date!(2026 - 11 - 30));
        let at = |rated_on: Option<&RatedOn>, total| {
            replay(
                tables(),
                Stored {
                    rated_on,
                    effective_date: effective,
                    total_premium: total,
                },
            )
        };
        let same = at(Some(&rated_on), total);
        assert!(same.matches, "{same:?}");
        assert_eq!(same.difference, Some(Money::ZERO));
        // Years later the same: a replay is dated by the record, not by today.
        let off = at(Some(&rated_on), total + Money::from_cents(1));
        assert!(!off.matches);
        assert_eq!(off.difference, Some(Money::from_cents(-1)));
        let mut tampered = rated_on.clone();
        tampered.rate_table_sha256 = "f".repeat(64);
        let refused = at(Some(&tampered), total);
        assert!(
            !refused.matches && refused.replayed_total.is_none(),
            "{refused:?}"
        );
        assert!(refused.reason.unwrap().contains("not the stored ffff"));
        let mut unknown = rated_on.clone();
        unknown.rate_table_version = "CA-auto-2001.01.0/common-2001.01.0".to_owned();
        let missing = at(Some(&unknown), total);
        assert!(!missing.matches && missing.replayed_total.is_none());
        assert!(missing.reason.unwrap().contains("no compiled rate table"));
        let unkept = at(None, total);
        assert!(!unkept.matches && unkept.reason.is_some());
    }

    /// A CA auto request drawn from `seed`: ages, records, limits and ZIP codes vary.
    fn varied(seed: u32) -> String {
        let zips = [
            "90012", "90210", "92101", "94105", "94501", "95814", "93001",
        ];
        let zip = zips[usize::try_from(seed).unwrap() % zips.len()];
        format!(
            r#"{{"state":"CA","policy_type":"auto","coverage":{{"liability":{}}},"drivers":[{{"age":{},"years_licensed":{},"violations":{},"at_fault_accidents":{}}}],"vehicle":{{"year":{}}},"zip_code":"{zip}"}}"#,
            75_000 + (seed % 40) * 25_000,
            18 + seed % 60,
            seed % 4,
            seed % 5,
            seed % 3,
            2010 + seed % 16,
        )
    }

    proptest! {
        /// The groups of a report split its total exactly: by tier and by territory the premiums
        /// add up to the cent, and the buckets count every policy rated.
        #[test]
        fn groups_and_buckets_add_up_to_the_total(seeds in prop::collection::vec(any::<u32>(), 1..60), factor in 80u32..=130) {
            let today = date!(2026 - 11 - 30);
            let current = tables().in_force(State::CA, PolicyType::Auto, Business::Renewal, today).unwrap();
            let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/rates/ca/auto/2026.11.0.toml")).unwrap();
            let candidate_text = text.replace(
                "rate_per_thousand = \"1.80\"",
                &format!("rate_per_thousand = \"{}\"", dec!(1.80) * Decimal::from(factor) / dec!(100)),
            );
            let candidate = tables().candidate(&candidate_text).unwrap();
            let mut impact = Impact::new(current, TableSet::new(tables(), &candidate, current.common_index()), today);
            for seed in &seeds {
                let (rated_on, _, effective) = stored(&varied(*seed), today);
                impact.add(Some(&rated_on), effective);
            }
            impact.add(None, today);
            let report = impact.report();
            prop_assert_eq!(report.policies, u64::try_from(seeds.len()).unwrap());
            prop_assert_eq!(report.not_rated.policies, 1);
            let sum = |groups: &mut dyn Iterator<Item = &Group>| {
                groups.fold((0, Money::ZERO, Money::ZERO), |(n, a, b), g| (n + g.policies, a + g.current_premium, b + g.candidate_premium))
            };
            let whole = (report.total.policies, report.total.current_premium, report.total.candidate_premium);
            prop_assert_eq!(sum(&mut report.by_tier.iter().map(|g| &g.sums)), whole);
            prop_assert_eq!(sum(&mut report.by_territory.iter().map(|g| &g.sums)), whole);
            prop_assert_eq!(report.total.change, report.total.candidate_premium - report.total.current_premium);
            prop_assert_eq!(report.histogram.iter().map(|b| b.policies).sum::<u64>(), report.policies);
            prop_assert_eq!(report.histogram.len(), 22);
            prop_assert_eq!(report.above_minimum.policies + report.at_minimum_premium, report.policies);
        }
    }

    #[test]
    fn buckets_are_closed_below_and_open_above_with_open_ends() {
        assert_eq!(bucket(dec!(-30)), 0);
        assert_eq!(bucket(dec!(-25.01)), 0);
        assert_eq!(bucket(dec!(-25)), 1);
        assert_eq!(bucket(dec!(-22.51)), 1);
        assert_eq!(bucket(dec!(-22.5)), 2);
        assert_eq!(bucket(dec!(-0.01)), 10);
        assert_eq!(bucket(Decimal::ZERO), 11);
        assert_eq!(bucket(dec!(10)), 15);
        assert_eq!(bucket(dec!(24.99)), 20);
        assert_eq!(bucket(dec!(25)), 21);
        assert_eq!(bucket(dec!(400)), 21);
        assert_eq!(bucket_edge(0), dec!(-25.0));
        assert_eq!(bucket_edge(14), dec!(10.0));
        assert_eq!(bucket_edge(20), dec!(25.0));
    }
}
