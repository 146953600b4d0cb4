//! The sharded newest-first index (`by_effective`): which shard a policy is written to, and the
//! k-way merge that reads all shards back as one index.
//!
//! One partition key value takes about 1,000 writes a second in DynamoDB, and an index whose
//! partition key is one value for the whole book puts every policy write there. So a policy is
//! written to one of [`EFFECTIVE_SHARDS`] partitions, chosen from its number (every rewrite of a
//! policy stays in its shard), and a page is read from all of them at once: each shard's Query
//! returns its newest items below the page's start, and the merge keeps the newest of them all.
//!
//! A shard's read says how far down it got (its frontier): every item it holds at or above the
//! frontier has been read. Items below the highest frontier of all shards are not yet known to be
//! in order, so the page ends there at the latest; the next page starts below its last item. The
//! cursor is that one boundary, which is each shard's position too: no shard has anything between
//! the boundary and what the page returned. The property test below checks the merged pages
//! against the unsharded order.

use sha2::{Digest, Sha256};

/// Partitions of the `by_effective` index.
pub const EFFECTIVE_SHARDS: u8 = 4;

/// The partition value of shard 0: what every policy was written with before the index was
/// sharded, so those items are read as shard 0 with nothing to migrate.
pub const FIRST_SHARD: &str = "policy";

/// The `by_effective` partition value of shard `shard`.
pub fn shard_partition(shard: u8) -> String {
    if shard == 0 {
        FIRST_SHARD.to_owned()
    } else {
        format!("{FIRST_SHARD}#{shard}")
    }
}

/// The `by_effective` partition value a policy is written to: a hash of its number.
pub fn effective_partition(policy_number: &str) -> String {
    let digest = Sha256::digest(policy_number.as_bytes());
    shard_partition(digest[0] % EFFECTIVE_SHARDS)
}

/// Every partition value of `by_effective`.
pub fn effective_partitions() -> impl Iterator<Item = String> {
    (0..EFFECTIVE_SHARDS).map(shard_partition)
}

/// What one shard's read returned: its items, newest first (by sort key), and how far down it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRead<T> {
    /// `(sort key, item)`, in descending sort key order.
    pub items: Vec<(String, T)>,
    /// `None` when the shard has nothing more below its items; else the lowest sort key it
    /// evaluated: every item of the shard at or above it is in `items` (or was filtered out).
    pub frontier: Option<String>,
}

/// The first `limit` items of the shards' union in descending sort key order, as far as the reads
/// make that order certain, and the boundary the next page starts below (`None`: no more).
pub fn merge<T>(shards: Vec<ShardRead<T>>, limit: usize) -> (Vec<(String, T)>, Option<String>) {
    // Below the highest frontier some shard has not been read: nothing there can be placed yet.
    let certain_down_to = shards.iter().filter_map(|s| s.frontier.clone()).max();
    let mut items: Vec<(String, T)> = shards
        .into_iter()
        .flat_map(|s| s.items)
        .filter(|(key, _)| certain_down_to.as_ref().is_none_or(|floor| key >= floor))
        .collect();
    items.sort_by(|a, b| b.0.cmp(&a.0));
    if items.len() > limit {
        items.truncate(limit);
        let last = items.last().map(|(key, _)| key.clone());
        return (items, last);
    }
    // Every item at or above the floor is on this page: the next one starts below the floor.
    (items, certain_down_to)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    /// One shard's read as the store makes it: the newest items below `before`, at most `wanted`
    /// matching ones, within `budget` items evaluated (a filter can leave most of them out).
    fn read(
        shard: &[(String, bool)],
        before: Option<&str>,
        wanted: usize,
        budget: usize,
    ) -> ShardRead<()> {
        let below: Vec<&(String, bool)> = shard
            .iter()
            .rev()
            .filter(|(key, _)| before.is_none_or(|b| key.as_str() < b))
            .collect();
        let mut items = Vec::new();
        for (evaluated, (key, matches)) in below.iter().enumerate() {
            if *matches {
                items.push((key.clone(), ()));
            }
            let more = evaluated + 1 < below.len();
            if items.len() == wanted || evaluated + 1 == budget {
                return ShardRead {
                    items,
                    frontier: more.then(|| key.clone()),
                };
            }
        }
        ShardRead {
            items,
            frontier: None,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Paging through the shards with any page size and any read budget returns exactly what
        /// one unsharded index would, in its order, each item once.
        #[test]
        fn paging_through_the_shards_returns_exactly_the_unsharded_order(
            book in proptest::collection::btree_map(0u32..5_000, (0u8..4, proptest::bool::weighted(0.7)), 0..300),
            limit in 1usize..30,
            budget in 1usize..40,
        ) {
            let key = |n: u32| format!("2026-{:02}-{:02}#POL-{n:05}", n % 12 + 1, n % 28 + 1);
            let mut shards: Vec<Vec<(String, bool)>> = vec![Vec::new(); 4];
            for (n, (shard, matches)) in &book {
                shards[usize::from(*shard)].push((key(*n), *matches));
            }
            for shard in &mut shards {
                shard.sort();
            }
            let expected: Vec<String> = {
                let all: BTreeSet<String> = book
                    .iter()
                    .filter(|(_, (_, matches))| *matches)
                    .map(|(n, _)| key(*n))
                    .collect();
                all.into_iter().rev().collect()
            };
            let mut paged = Vec::new();
            let mut before: Option<String> = None;
            for _ in 0..10_000 {
                let reads = shards
                    .iter()
                    .map(|s| read(s, before.as_deref(), limit, budget))
                    .collect();
                let (page, next) = merge(reads, limit);
                prop_assert!(page.len() <= limit);
                paged.extend(page.into_iter().map(|(key, ())| key));
                match next {
                    Some(next) => before = Some(next),
                    None => break,
                }
            }
            prop_assert_eq!(paged, expected);
        }
    }

    #[test]
    fn a_policy_stays_in_its_shard_and_the_shards_share_the_book() {
        assert_eq!(
            effective_partition("POL-2026-7ZQ4M1XK2C"),
            effective_partition("POL-2026-7ZQ4M1XK2C")
        );
        let mut counts = [0u32; EFFECTIVE_SHARDS as usize];
        for n in 0..4_000 {
            let partition = effective_partition(&format!("POL-2026-{n:010}"));
            let shard = effective_partitions().position(|p| p == partition).unwrap();
            counts[shard] += 1;
        }
        for count in counts {
            assert!((800..1_200).contains(&count), "{counts:?}");
        }
        assert_eq!(
            shard_partition(0),
            "policy",
            "shard 0 is the unsharded partition"
        );
    }
}
