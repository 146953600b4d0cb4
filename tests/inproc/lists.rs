//! A list request does bounded work: a selective filter reads at most a few Query calls' worth of
//! items per page, and comes back short with a cursor rather than read a whole partition. A short
//! page no longer means the end; only a missing cursor does.

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{gateway_request, settings, unique};
use policy_core::api::auth::AuthMode;
use policy_core::api::policies;
use policy_core::domain::{PolicyType, State, Term};
use policy_core::money::Money;
use policy_core::records::{Policy, PolicyStatus, term_end};
use policy_core::storage::{client_for, policy_item};
use time::macros::{date, datetime};

use crate::support::{dispatch, policies_over, quoting, table_names};

/// `count` active CA auto policies of `owner`, written straight to the table.
async fn write_policies(client: &Client, owner: &str, count: usize) -> BTreeSet<String> {
    let policies: Vec<Policy> = (0..count)
        .map(|i| {
            // After the seeded book (which ends 2026-10-31), so the seeded pages stay as seeded.
            let effective_date =
                date!(2027 - 06 - 01) + time::Duration::days(i64::try_from(i).unwrap());
            Policy {
                policy_number: format!("POL-2026-{:0>10}", format!("{i}L{}", owner.len())),
                owner: owner.to_owned(),
                quote_id: format!("Q-2026-{i:010}"),
                state: State::CA,
                policy_type: PolicyType::Auto,
                status: PolicyStatus::Active,
                term: Term::Annual,
                effective_date,
                expiration_date: term_end(effective_date, 12),
                total_premium: Money::from_dollars(900),
                breakdown: "{}".to_owned(),
                bound_at: datetime!(2025-12-01 0:00 UTC),
                bound_by: None,
                added_coverages: Vec::new(),
                rated_on: None,
                decision: None,
                decisions: Vec::new(),
                version: 1,
                term_number: 1,
                renewal_offer: None,
                cancellation_date: None,
            }
        })
        .collect();
    for policy in &policies {
        client
            .put_item()
            .table_name(table_names().policies)
            .set_item(Some(policy_item(policy).unwrap()))
            .send()
            .await
            .unwrap();
    }
    policies.into_iter().map(|p| p.policy_number).collect()
}

#[tokio::test]
async fn a_selective_filter_pages_in_bounded_steps_and_finds_everything() {
    // Given an owner with 300 active policies, two of them cancelled ones among the oldest
    let owner = unique("lister");
    let client = client_for(settings().dynamodb_endpoint.as_deref()).await;
    let numbers = write_policies(&client, &owner, 300).await;
    let oldest: Vec<&String> = numbers.iter().take(2).collect();
    for number in &oldest {
        client
            .update_item()
            .table_name(table_names().policies)
            .key("policy_number", AttributeValue::S((*number).clone()))
            .update_expression("SET #s = :c")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":c", AttributeValue::S("cancelled".into()))
            .send()
            .await
            .unwrap();
    }
    let state = Arc::new(policies_over(quoting().await));

    // When the owner pages through its cancelled policies one at a time
    let mut found = BTreeSet::new();
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let path = match &cursor {
            Some(c) => format!("/api/v1/policies?status=cancelled&limit=1&cursor={c}"),
            None => "/api/v1/policies?status=cancelled&limit=1".to_owned(),
        };
        let request = gateway_request(Some((&owner, "policies:read")), "GET", &path, "", None);
        let reply = dispatch(&policies::ROUTES, &state, AuthMode::Jwt, request).await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        let items = reply.body["items"].as_array().unwrap().clone();
        pages.push(items.len());
        found.extend(
            items
                .iter()
                .map(|p| p["policy_number"].as_str().unwrap().to_owned()),
        );
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }

    // Then both are found, and the pages before them came back empty but with a cursor: each
    // request stopped after its bounded reading instead of reading the whole partition
    let expected: BTreeSet<String> = oldest.into_iter().cloned().collect();
    assert_eq!(found, expected, "pages: {pages:?}");
    assert!(
        pages.iter().filter(|n| **n == 0).count() >= 2,
        "short pages with a cursor: {pages:?}"
    );
    assert!(pages.iter().all(|n| *n <= 1), "{pages:?}");
    assert!(pages.len() < 50, "paging ended: {pages:?}");
}
