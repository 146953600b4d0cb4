//! The policies table: reading one policy, and listing policies through the index that suits the
//! filter.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::client::{sdk_error, timed};
use super::items::{
    ALL_POLICIES, from_item, policy_from_item, resume_key, start_key, state_product,
    summary_from_item,
};
use super::shards::{self, ShardRead};
use super::{DynamoStore, Item, StorageError};
use crate::domain::{PolicyType, State};
use crate::records::{InForce, Policy, PolicyFilter, PolicyStatus, PolicySummary};

/// A page of policies: what the cache keeps of a list page (its cursor is sealed per response).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicyPage {
    /// The policies, newest effective date first.
    pub items: Vec<PolicySummary>,
    /// The key to continue after the last item, if more may follow.
    pub last_key: Option<HashMap<String, String>>,
}

/// Which index a list query reads and what it asks of it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ListQuery {
    /// Index name.
    index: &'static str,
    /// Its partition key attribute and value.
    partition: (&'static str, String),
    /// Inclusive lower bound on `effective_key`.
    from_key: Option<String>,
    /// Inclusive upper bound on `effective_key`.
    to_key: Option<String>,
    /// Attributes that must equal a value, where the index's key does not already say so.
    filters: Vec<(&'static str, String)>,
    /// The status filter as of a day, where it depends on the day: `active` excludes terms that
    /// have ended, `expired` includes them (an active policy past its expiration date reads as
    /// expired).
    as_of: Option<(PolicyStatus, String)>,
}

/// The query that lists the policies `filter` selects: the owner's partition when there is an
/// owner, else the narrowest index the filter names, with the effective dates as key bounds and
/// whatever the partition does not already select as filters.
fn list_query(filter: &PolicyFilter, today: time::Date) -> ListQuery {
    let PolicyFilter {
        owner,
        state,
        policy_type,
        status,
        effective_from,
        effective_to,
    } = filter;
    let (index, partition) = match (owner, state, policy_type, status) {
        (Some(owner), ..) => ("by_owner", ("owner", owner.clone())),
        (None, Some(state), Some(product), _) => (
            "by_state_product",
            ("state_product", state_product(*state, *product)),
        ),
        (None, Some(state), None, _) => ("by_state", ("state", state.code().to_owned())),
        (None, None, Some(product), _) => (
            "by_policy_type",
            ("policy_type", product.as_str().to_owned()),
        ),
        // Expired policies are partly stored as active: no one partition holds them.
        (None, None, None, Some(status)) if *status != PolicyStatus::Expired => {
            ("by_status", ("status", status.as_str().to_owned()))
        }
        (None, None, None, _) => ("by_effective", ("all_policies", ALL_POLICIES.to_owned())),
    };
    // What the index's partition does not already select is filtered.
    let as_of = status
        .filter(|s| matches!(s, PolicyStatus::Active | PolicyStatus::Expired))
        .map(|s| (s, today.to_string()));
    let filters: Vec<(&'static str, String)> = [
        ("state", state.map(|s| s.code().to_owned())),
        ("policy_type", policy_type.map(|p| p.as_str().to_owned())),
        (
            "status",
            status
                .filter(|s| *s != PolicyStatus::Expired)
                .map(|s| s.as_str().to_owned()),
        ),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value?)))
    .filter(|(name, _)| match index {
        "by_state_product" => *name == "status",
        "by_state" | "by_policy_type" | "by_status" => *name != partition.0,
        _ => true,
    })
    .collect();
    // effective_key is "YYYY-MM-DD#POL-..."; '~' sorts after every character of a policy number.
    ListQuery {
        index,
        partition,
        from_key: effective_from.map(|d| format!("{d}#")),
        to_key: effective_to.map(|d| format!("{d}#~")),
        filters,
        as_of,
    }
}

/// A list query in DynamoDB's terms.
#[derive(Debug, PartialEq)]
struct Expressions {
    /// The key condition: the partition, and the bounds on `effective_key`.
    condition: String,
    /// The filter expression, if anything is filtered.
    filter: Option<String>,
    /// The expression attribute names.
    names: HashMap<String, String>,
    /// The expression attribute values.
    values: HashMap<String, AttributeValue>,
}

fn expressions(query: &ListQuery) -> Expressions {
    let (pk_name, pk_value) = (&query.partition.0, &query.partition.1);
    let mut condition = "#pk = :pk".to_owned();
    let mut names = HashMap::from([("#pk".to_owned(), (*pk_name).to_owned())]);
    let mut values = HashMap::from([(":pk".to_owned(), AttributeValue::S(pk_value.clone()))]);
    match (&query.from_key, &query.to_key) {
        (Some(from), Some(to)) => {
            condition.push_str(" AND effective_key BETWEEN :from AND :to");
            values.insert(":from".into(), AttributeValue::S(from.clone()));
            values.insert(":to".into(), AttributeValue::S(to.clone()));
        }
        (Some(from), None) => {
            condition.push_str(" AND effective_key >= :from");
            values.insert(":from".into(), AttributeValue::S(from.clone()));
        }
        (None, Some(to)) => {
            condition.push_str(" AND effective_key <= :to");
            values.insert(":to".into(), AttributeValue::S(to.clone()));
        }
        (None, None) => {}
    }
    let mut terms = Vec::with_capacity(query.filters.len());
    for (i, (name, value)) in query.filters.iter().enumerate() {
        names.insert(format!("#f{i}"), (*name).to_owned());
        values.insert(format!(":f{i}"), AttributeValue::S(value.clone()));
        terms.push(format!("#f{i} = :f{i}"));
    }
    match &query.as_of {
        Some((PolicyStatus::Active, today)) => {
            names.insert("#exp".into(), "expiration_date".into());
            values.insert(":today".into(), AttributeValue::S(today.clone()));
            terms.push("#exp > :today".to_owned());
        }
        Some((_, today)) => {
            names.insert("#exp".into(), "expiration_date".into());
            names.insert("#st".into(), "status".into());
            values.insert(":today".into(), AttributeValue::S(today.clone()));
            values.insert(":expired".into(), AttributeValue::S("expired".into()));
            values.insert(":active".into(), AttributeValue::S("active".into()));
            terms.push("(#st = :expired OR (#st = :active AND #exp <= :today))".to_owned());
        }
        None => {}
    }
    let filter = (!terms.is_empty()).then(|| terms.join(" AND "));
    Expressions {
        condition,
        filter,
        names,
        values,
    }
}

impl DynamoStore {
    /// Reads a policy (eventually consistent: reads that go on to the cache).
    pub async fn get_policy(&self, policy_number: &str) -> Result<Option<Policy>, StorageError> {
        self.read_policy(policy_number, false).await
    }

    /// Reads a policy, strongly consistent when `consistent` (what a change is worked out from).
    pub(super) async fn read_policy(
        &self,
        policy_number: &str,
        consistent: bool,
    ) -> Result<Option<Policy>, StorageError> {
        let output = timed(
            "GetItem",
            &self.tables.policies,
            self.client
                .get_item()
                .table_name(&self.tables.policies)
                .key("policy_number", AttributeValue::S(policy_number.to_owned()))
                .consistent_read(consistent)
                .send(),
        )
        .await
        .map_err(sdk_error("GetItem"))?;
        output.item.map(policy_from_item).transpose()
    }

    /// One page of at most `limit` (at least one) of the policies `filter` selects, newest
    /// effective date first, resuming after `start_after` (a page's `last_key`): a Query on the
    /// index that suits the filter, following DynamoDB's pages until the page is full or the data
    /// runs out.
    pub async fn list_policies(
        &self,
        filter: &PolicyFilter,
        limit: usize,
        start_after: Option<HashMap<String, String>>,
        today: time::Date,
    ) -> Result<PolicyPage, StorageError> {
        let limit = limit.max(1);
        let query = list_query(filter, today);
        if query.index == "by_effective" {
            return self.list_sharded(&query, limit, start_after).await;
        }
        let mut expressions = expressions(&query);
        let pk_name = query.partition.0;
        let projection = list_projection(pk_name, &mut expressions.names);
        let mut start: Option<Item> = start_after.map(start_key);
        let mut items = Vec::with_capacity(limit.min(200));
        let mut last_key = None;
        for _ in 0..MAX_LIST_QUERIES {
            let wanted = limit - items.len();
            // With a filter, DynamoDB's limit counts items read before filtering: read more.
            let read = if expressions.filter.is_some() {
                (wanted * 4).clamp(25, 200)
            } else {
                wanted
            };
            let output = self
                .list_call(query.index, &expressions, &projection, read, start.take())
                .await?;
            let page: Vec<Item> = output.items.unwrap_or_default();
            let more_in_dynamo = output.last_evaluated_key.is_some();
            let count = page.len();
            for (i, item) in page.into_iter().enumerate() {
                let key = list_key(&item, pk_name);
                items.push(summary_from_item(item)?);
                if items.len() == limit {
                    // Full: resume after this item if anything may follow it.
                    if i + 1 < count || more_in_dynamo {
                        last_key = key;
                    }
                    return Ok(PolicyPage { items, last_key });
                }
            }
            match output.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(PolicyPage { items, last_key }),
            }
        }
        // The work allowed for one page is done and DynamoDB has more: a short page, with a
        // cursor that resumes where the reading stopped.
        let last_key = start.map(resume_key);
        Ok(PolicyPage { items, last_key })
    }
}

impl DynamoStore {
    /// One newest-first Query call of a list on `index`: at most `read` items evaluated, from
    /// `start` (a previous call's last evaluated key).
    async fn list_call(
        &self,
        index: &str,
        expressions: &Expressions,
        projection: &str,
        read: usize,
        start: Option<Item>,
    ) -> Result<aws_sdk_dynamodb::operation::query::QueryOutput, StorageError> {
        timed(
            "Query",
            &self.tables.policies,
            self.client
                .query()
                .table_name(&self.tables.policies)
                .index_name(index)
                .key_condition_expression(&expressions.condition)
                .set_filter_expression(expressions.filter.clone())
                .projection_expression(projection)
                .set_expression_attribute_names(Some(expressions.names.clone()))
                .set_expression_attribute_values(Some(expressions.values.clone()))
                .scan_index_forward(false)
                .limit(i32::try_from(read).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send(),
        )
        .await
        .map_err(sdk_error("Query"))
    }

    /// A page of the sharded `by_effective` index: the shards read at once, each for up to `limit`
    /// items below the page's start, and merged ([`shards::merge`]). The page's `last_key` holds
    /// one `effective_key`, the boundary the next page reads below.
    async fn list_sharded(
        &self,
        query: &ListQuery,
        limit: usize,
        start_after: Option<HashMap<String, String>>,
    ) -> Result<PolicyPage, StorageError> {
        let before = start_after.and_then(|mut key| key.remove("effective_key"));
        let reads = shards::effective_partitions().map(|partition| {
            let shard = ListQuery {
                partition: (query.partition.0, partition),
                to_key: match (&query.to_key, &before) {
                    (Some(to), Some(before)) => Some(to.min(before).clone()),
                    (to, before) => to.clone().or_else(|| before.clone()),
                },
                ..query.clone()
            };
            let before = before.clone();
            async move { self.read_shard(&shard, before.as_deref(), limit).await }
        });
        let reads = futures_util::future::try_join_all(reads).await?;
        let (items, boundary) = shards::merge(reads, limit);
        Ok(PolicyPage {
            items: items.into_iter().map(|(_, summary)| summary).collect(),
            last_key: boundary.map(|key| HashMap::from([("effective_key".to_owned(), key)])),
        })
    }

    /// Up to `limit` of one shard's policies that match, newest first, strictly below `before`,
    /// within its share of [`MAX_LIST_QUERIES`] calls (one each with 4 shards, so a page makes at
    /// most 4 calls of at most 200 items); and how far down it read.
    async fn read_shard(
        &self,
        query: &ListQuery,
        before: Option<&str>,
        limit: usize,
    ) -> Result<ShardRead<PolicySummary>, StorageError> {
        let mut expressions = expressions(query);
        let projection = list_projection(query.partition.0, &mut expressions.names);
        let mut start: Option<Item> = None;
        let mut items = Vec::new();
        // The shards share one page's budget of calls: at least one each.
        let budget = (MAX_LIST_QUERIES / usize::from(shards::EFFECTIVE_SHARDS)).max(1);
        for _ in 0..budget {
            let wanted = limit - items.len();
            // The boundary item itself comes back (the bound is inclusive): one more to read.
            let read = if expressions.filter.is_some() {
                (wanted * 4).clamp(25, 200)
            } else {
                wanted + usize::from(before.is_some() && start.is_none())
            };
            let output = self
                .list_call(query.index, &expressions, &projection, read, start.take())
                .await?;
            let page: Vec<Item> = output.items.unwrap_or_default();
            let count = page.len();
            let more_in_dynamo = output.last_evaluated_key.is_some();
            for (i, item) in page.into_iter().enumerate() {
                let key = match item.get("effective_key") {
                    Some(AttributeValue::S(key)) => key.clone(),
                    _ => {
                        return Err(StorageError::Mapping(
                            "a list item without effective_key".into(),
                        ));
                    }
                };
                if before.is_some_and(|before| key.as_str() >= before) {
                    continue;
                }
                items.push((key.clone(), summary_from_item(item)?));
                if items.len() == limit {
                    let more = i + 1 < count || more_in_dynamo;
                    return Ok(ShardRead {
                        items,
                        frontier: more.then_some(key),
                    });
                }
            }
            match output.last_evaluated_key {
                Some(key) => start = Some(key),
                None => {
                    return Ok(ShardRead {
                        items,
                        frontier: None,
                    });
                }
            }
        }
        // The calls allowed are spent and the shard has more: it got down to where DynamoDB
        // stopped evaluating.
        let frontier = start.and_then(|mut key| match key.remove("effective_key") {
            Some(AttributeValue::S(key)) => Some(key),
            _ => None,
        });
        Ok(ShardRead { items, frontier })
    }
}

/// Policies read per Query call by [`DynamoStore::in_force_page`]: about 0.5 MB of projected items,
/// so the memory a page takes is bounded whatever the book's size.
pub const IN_FORCE_PAGE: i32 = 1000;

impl DynamoStore {
    /// One Query's worth (at most [`IN_FORCE_PAGE`] read) of the `state` `product` policies in
    /// force on `today`: active, and not yet expired. Reads the `by_state_product` index from the
    /// newest effective date back to a year before `today` (no term is longer), resuming after
    /// `start` (a page's key); the next page's key comes back while more may follow.
    pub async fn in_force_page(
        &self,
        state: State,
        product: PolicyType,
        today: time::Date,
        start: Option<Item>,
    ) -> Result<(Vec<InForce>, Option<Item>), StorageError> {
        let earliest = today - time::Duration::days(366);
        let output = timed(
            "Query",
            &self.tables.policies,
            self.client
                .query()
                .table_name(&self.tables.policies)
                .index_name("by_state_product")
                .key_condition_expression("state_product = :pk AND effective_key >= :from")
                .filter_expression("#status = :active AND expiration_date > :today")
                .projection_expression("policy_number, effective_date, rated_on")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(state_product(state, product)),
                )
                .expression_attribute_values(":from", AttributeValue::S(format!("{earliest}#")))
                .expression_attribute_values(
                    ":active",
                    AttributeValue::S(PolicyStatus::Active.as_str().to_owned()),
                )
                .expression_attribute_values(":today", AttributeValue::S(today.to_string()))
                .scan_index_forward(false)
                .limit(IN_FORCE_PAGE)
                .set_exclusive_start_key(start)
                .send(),
        )
        .await
        .map_err(sdk_error("Query"))?;
        let policies = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect::<Result<_, _>>()?;
        Ok((policies, output.last_evaluated_key))
    }
}

/// The projection expression of a list query on an index whose partition key is `pk_name`: only
/// what a list shows and what resumes it (an index may project more: `by_state_product` carries
/// what each policy was rated on, for the rate impact). Its placeholders go into `names`.
fn list_projection(pk_name: &str, names: &mut HashMap<String, String>) -> String {
    let shown = [
        "policy_number",
        "state",
        "policy_type",
        "status",
        "effective_date",
        "expiration_date",
        "total_premium",
        "effective_key",
        pk_name,
    ];
    let mut projection = Vec::with_capacity(shown.len());
    // The partition key may be one of the shown attributes: a path is named once.
    for (i, attribute) in shown.iter().enumerate() {
        if shown[..i].contains(attribute) {
            continue;
        }
        names.insert(format!("#a{i}"), (*attribute).to_owned());
        projection.push(format!("#a{i}"));
    }
    projection.join(", ")
}

/// The most Query calls one list page may make. A selective filter reads up to 200 items a call,
/// so one page evaluates at most 1,000 items; past that it comes back short, with a cursor.
pub const MAX_LIST_QUERIES: usize = 5;

/// The attributes DynamoDB needs to resume a query on an index after `item`.
fn list_key(item: &Item, partition: &str) -> Option<HashMap<String, String>> {
    let mut key = HashMap::new();
    for name in ["policy_number", "effective_key", partition] {
        if let Some(AttributeValue::S(value)) = item.get(name) {
            key.insert(name.to_owned(), value.clone());
        }
    }
    (key.len() == 3 || (partition == "policy_number" && key.len() == 2)).then_some(key)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::domain::{PolicyType, State};
    use crate::records::PolicyStatus;

    const TODAY: time::Date = date!(2026 - 11 - 30);

    #[test]
    fn a_list_reads_what_it_shows_and_resumes_by_naming_each_attribute_once() {
        for pk_name in ["state", "state_product", "owner", "status"] {
            let mut names = HashMap::new();
            let projection = list_projection(pk_name, &mut names);
            let attributes: Vec<&String> = projection.split(", ").map(|p| &names[p]).collect();
            let unique: std::collections::BTreeSet<&&String> = attributes.iter().collect();
            assert_eq!(unique.len(), attributes.len(), "{pk_name}: {attributes:?}");
            assert!(attributes.iter().any(|n| *n == pk_name), "{pk_name}");
            assert!(!attributes.iter().any(|n| *n == "rated_on"), "{pk_name}");
            assert_eq!(
                attributes.len(),
                if pk_name == "state" || pk_name == "status" {
                    8
                } else {
                    9
                }
            );
        }
    }

    #[test]
    fn each_filter_combination_picks_its_index() {
        let cases = [
            (
                PolicyFilter {
                    state: Some(State::CA),
                    policy_type: Some(PolicyType::Auto),
                    status: Some(PolicyStatus::Active),
                    ..PolicyFilter::default()
                },
                "by_state_product",
                "CA#auto",
                vec!["status"],
            ),
            (
                PolicyFilter {
                    state: Some(State::CA),
                    ..PolicyFilter::default()
                },
                "by_state",
                "CA",
                vec![],
            ),
            (
                PolicyFilter {
                    policy_type: Some(PolicyType::Home),
                    status: Some(PolicyStatus::Cancelled),
                    ..PolicyFilter::default()
                },
                "by_policy_type",
                "home",
                vec!["status"],
            ),
            (
                PolicyFilter {
                    status: Some(PolicyStatus::Active),
                    ..PolicyFilter::default()
                },
                "by_status",
                "active",
                vec![],
            ),
            (PolicyFilter::default(), "by_effective", "policy", vec![]),
        ];
        for (filter, index, partition, filtered) in cases {
            let query = list_query(&filter, TODAY);
            assert_eq!(
                (query.index, query.partition.1.as_str()),
                (index, partition)
            );
            let names: Vec<&str> = query.filters.iter().map(|(name, _)| *name).collect();
            assert_eq!(names, filtered, "{filter:?}");
        }
    }

    #[test]
    fn active_and_expired_are_read_as_of_today() {
        let active = expressions(&list_query(
            &PolicyFilter {
                status: Some(PolicyStatus::Active),
                ..PolicyFilter::default()
            },
            TODAY,
        ));
        assert_eq!(active.values[":pk"], AttributeValue::S("active".into()));
        assert_eq!(active.filter.as_deref(), Some("#exp > :today"));
        assert_eq!(
            active.values[":today"],
            AttributeValue::S("2026-11-30".into())
        );
        // Expired: those stored so, and active ones whose term has ended; no one partition.
        let query = list_query(
            &PolicyFilter {
                status: Some(PolicyStatus::Expired),
                ..PolicyFilter::default()
            },
            TODAY,
        );
        assert_eq!(query.index, "by_effective");
        let expired = expressions(&query);
        assert_eq!(
            expired.filter.as_deref(),
            Some("(#st = :expired OR (#st = :active AND #exp <= :today))")
        );
        let cancelled = expressions(&list_query(
            &PolicyFilter {
                status: Some(PolicyStatus::Cancelled),
                ..PolicyFilter::default()
            },
            TODAY,
        ));
        assert_eq!(cancelled.filter, None);
    }

    #[test]
    fn an_owner_lists_from_its_own_partition_with_every_filter() {
        let query = list_query(
            &PolicyFilter {
                owner: Some("agent-7".into()),
                state: Some(State::CA),
                policy_type: Some(PolicyType::Auto),
                status: Some(PolicyStatus::Active),
                ..PolicyFilter::default()
            },
            TODAY,
        );
        assert_eq!(query.index, "by_owner");
        assert_eq!(query.partition, ("owner", "agent-7".to_owned()));
        assert_eq!(
            query.filters,
            vec![
                ("state", "CA".to_owned()),
                ("policy_type", "auto".to_owned()),
                ("status", "active".to_owned())
            ]
        );
    }

    #[test]
    fn date_bounds_cover_whole_days() {
        let query = list_query(
            &PolicyFilter {
                effective_from: Some(date!(2026 - 01 - 01)),
                effective_to: Some(date!(2026 - 01 - 31)),
                ..PolicyFilter::default()
            },
            TODAY,
        );
        let (from, to) = (query.from_key.unwrap(), query.to_key.unwrap());
        assert_eq!(
            (from.as_str(), to.as_str()),
            ("2026-01-01#", "2026-01-31#~")
        );
        let within = |key: &str| from.as_str() <= key && key <= to.as_str();
        assert!(within("2026-01-01#POL-2026-0000000000"));
        assert!(within("2026-01-31#POL-2026-ZZZZZZZZZZ"));
        assert!(!within("2025-12-31#POL-2025-ZZZZZZZZZZ"));
        assert!(!within("2026-02-01#POL-2026-0000000000"));
    }

    #[test]
    fn the_query_says_its_bounds_and_filters_in_dynamodb_terms() {
        let both = expressions(&list_query(
            &PolicyFilter {
                policy_type: Some(PolicyType::Home),
                status: Some(PolicyStatus::Cancelled),
                effective_from: Some(date!(2026 - 01 - 01)),
                effective_to: Some(date!(2026 - 01 - 31)),
                ..PolicyFilter::default()
            },
            TODAY,
        ));
        assert_eq!(
            both.condition,
            "#pk = :pk AND effective_key BETWEEN :from AND :to"
        );
        assert_eq!(both.filter.as_deref(), Some("#f0 = :f0"));
        assert_eq!(both.names["#pk"], "policy_type");
        assert_eq!(both.names["#f0"], "status");
        assert_eq!(both.values[":pk"], AttributeValue::S("home".into()));
        assert_eq!(both.values[":f0"], AttributeValue::S("cancelled".into()));
        assert_eq!(both.values[":to"], AttributeValue::S("2026-01-31#~".into()));

        let from = expressions(&list_query(
            &PolicyFilter {
                effective_from: Some(date!(2026 - 01 - 01)),
                ..PolicyFilter::default()
            },
            TODAY,
        ));
        assert_eq!(from.condition, "#pk = :pk AND effective_key >= :from");
        assert_eq!(from.filter, None);
        let to = expressions(&list_query(
            &PolicyFilter {
                effective_to: Some(date!(2026 - 01 - 31)),
                ..PolicyFilter::default()
            },
            TODAY,
        ));
        assert_eq!(to.condition, "#pk = :pk AND effective_key <= :to");
        assert!(!to.values.contains_key(":from"));
    }

    #[test]
    fn a_page_resumes_from_the_index_keys_of_its_last_item() {
        let item: Item = [
            ("policy_number", "POL-2026-ABCDEFGHJK"),
            ("effective_key", "2026-01-05#POL-2026-ABCDEFGHJK"),
            ("state", "CA"),
            ("owner", "agent-7"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), AttributeValue::S(v.to_owned())))
        .collect();
        let key = list_key(&item, "state").unwrap();
        assert_eq!(key.len(), 3);
        assert_eq!(key["state"], "CA");
        assert!(list_key(&item, "status").is_none());
    }
}
