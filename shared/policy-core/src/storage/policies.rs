//! The policies table: reading one policy, and listing policies through one of its indexes.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::client::{dynamo, timed};
use super::items::{policy_from_item, summary_from_item};
use super::{DynamoStore, Item, StorageError};
use crate::records::{Policy, PolicySummary};

/// A page of policies.
#[derive(Debug)]
pub struct PolicyPage {
    /// The policies, newest effective date first.
    pub items: Vec<PolicySummary>,
    /// The key to continue after the last item, if more may follow.
    pub last_key: Option<HashMap<String, String>>,
}

/// Which index a list query uses and what it filters on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Index name.
    pub index: &'static str,
    /// Its partition key attribute and value.
    pub partition: (&'static str, String),
    /// Inclusive bounds on `effective_key`.
    pub from_key: Option<String>,
    /// Inclusive upper bound on `effective_key`.
    pub to_key: Option<String>,
    /// Attributes that must equal a value, where the index's key does not already say so.
    pub filters: Vec<(&'static str, String)>,
    /// Page size.
    pub limit: usize,
    /// Where to resume: the key attributes of the last item returned.
    pub start_after: Option<HashMap<String, String>>,
}

impl DynamoStore {
    /// Reads a policy.
    pub async fn get_policy(&self, policy_number: &str) -> Result<Option<Policy>, StorageError> {
        let output = timed(
            "GetItem",
            self.client
                .get_item()
                .table_name(&self.tables.policies)
                .key("policy_number", AttributeValue::S(policy_number.to_owned()))
                .send(),
        )
        .await
        .map_err(dynamo("GetItem"))?;
        output.item.map(policy_from_item).transpose()
    }

    /// One page of a list query: Query on the chosen index, newest first, following DynamoDB's
    /// pages until the page is full or the data runs out.
    pub async fn list_policies(&self, query: &ListQuery) -> Result<PolicyPage, StorageError> {
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
        let filter = (!terms.is_empty()).then(|| terms.join(" AND "));
        let mut start: Option<Item> = query.start_after.as_ref().map(|key| {
            key.iter()
                .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
                .collect()
        });
        let mut items = Vec::with_capacity(query.limit);
        let mut last_key = None;
        loop {
            let wanted = query.limit - items.len();
            // With a filter, DynamoDB's limit counts items read before filtering: read more.
            let read = if filter.is_some() {
                (wanted * 4).clamp(25, 200)
            } else {
                wanted
            };
            let output = timed(
                "Query",
                self.client
                    .query()
                    .table_name(&self.tables.policies)
                    .index_name(query.index)
                    .key_condition_expression(&condition)
                    .set_filter_expression(filter.clone())
                    .set_expression_attribute_names(Some(names.clone()))
                    .set_expression_attribute_values(Some(values.clone()))
                    .scan_index_forward(false)
                    .limit(i32::try_from(read).unwrap_or(i32::MAX))
                    .set_exclusive_start_key(start.take())
                    .send(),
            )
            .await
            .map_err(dynamo("Query"))?;
            let page: Vec<Item> = output.items.unwrap_or_default();
            let more_in_dynamo = output.last_evaluated_key.is_some();
            let count = page.len();
            for (i, item) in page.into_iter().enumerate() {
                let key = list_key(&item, pk_name);
                items.push(summary_from_item(item)?);
                if items.len() == query.limit {
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
    }
}

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
