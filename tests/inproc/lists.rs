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
    let tag = owner
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 1000;
    let policies: Vec<Policy> = (0..count)
        .map(|i| {
            // After the seeded book (which ends 2026-10-31), so the seeded pages stay as seeded.
            let effective_date =
                date!(2027 - 06 - 01) + time::Duration::days(i64::try_from(i).unwrap());
            Policy {
                // A valid number (the API refuses others as unknown) ending in a letter, which
                // tells other tests it is no seeded policy; the tag keeps owners apart.
                policy_number: format!("POL-2026-{:0>10}", format!("{i}W{tag:03}Z")),
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

#[tokio::test]
async fn the_unfiltered_list_reads_its_shards_and_pages_in_the_unsharded_order() {
    // Given the seeded book, written across the newest-first index's shards (a date range no
    // other test writes into: the seeds' 2025)
    let client = client_for(settings().dynamodb_endpoint.as_deref()).await;
    let mut expected: Vec<(String, String)> = Vec::new();
    let mut shards = BTreeSet::new();
    let mut start = None;
    loop {
        let output = client
            .scan()
            .table_name(table_names().policies)
            .filter_expression("effective_date BETWEEN :from AND :to")
            .expression_attribute_values(":from", AttributeValue::S("2025-01-01".into()))
            .expression_attribute_values(":to", AttributeValue::S("2025-03-31".into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in output.items() {
            let text = |name: &str| item[name].as_s().unwrap().clone();
            expected.push((text("effective_key"), text("policy_number")));
            shards.insert(text("all_policies"));
        }
        start = output.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    expected.sort_by(|a, b| b.0.cmp(&a.0));
    let expected: Vec<String> = expected.into_iter().map(|(_, number)| number).collect();
    assert!(
        expected.len() > 50,
        "seeded policies in the range: {}",
        expected.len()
    );
    assert_eq!(
        shards,
        BTreeSet::from(["policy", "policy#1", "policy#2", "policy#3"].map(str::to_owned)),
        "every shard holds some of them"
    );
    let state = Arc::new(policies_over(quoting().await));

    // When an administrator pages through them seven at a time
    let mut paged: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1_000 {
        let query = "effective_from=2025-01-01&effective_to=2025-03-31&limit=7";
        let path = match &cursor {
            Some(c) => format!("/api/v1/policies?{query}&cursor={c}"),
            None => format!("/api/v1/policies?{query}"),
        };
        let request = gateway_request(Some(("actuary", "policies:admin")), "GET", &path, "", None);
        let reply = dispatch(&policies::ROUTES, &state, AuthMode::Jwt, request).await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        let items = reply.body["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        paged.extend(
            items
                .iter()
                .map(|p| p["policy_number"].as_str().unwrap().to_owned()),
        );
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }

    // Then they come back exactly as one unsharded index orders them, each once
    assert_eq!(paged, expected);
}
