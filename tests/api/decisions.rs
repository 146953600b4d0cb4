//! Referrals that resolve, and decisions that last: an underwriter's decision over real HTTP, the
//! queue, and what a bound quote and its policy keep.

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{Reply, assert_problem, get, post_json, send_with, unique, with_dynamo};
use serde_json::{Value, json};

/// A complete auto application with one DUI: referred, never declined.
fn referred_body() -> Value {
    json!({"policy_type": "auto", "state": "TX", "zip_code": "75001",
           "coverage": {"liability": 300_000},
           "vehicle": {"year": 2022, "annual_mileage": 9000},
           "drivers": [{"age": 40, "years_licensed": 20, "dui": 1}]})
}

fn referred_quote() -> String {
    let reply = post_json("/api/v1/quotes", &referred_body());
    assert_eq!(reply.status, 201, "{:#}", reply.json);
    assert_eq!(
        reply.json["decision"]["outcome"], "referred",
        "{:#}",
        reply.json
    );
    reply.json["quote_id"].as_str().unwrap().to_owned()
}

fn decide(quote_id: &str, outcome: &str, key: Option<&str>) -> Reply {
    let body = json!({"outcome": outcome, "note": format!("{outcome} after review")});
    let mut headers = Vec::new();
    if let Some(key) = key {
        headers.push(("idempotency-key", key));
    }
    send_with(
        "POST",
        &format!("/api/v1/quotes/{quote_id}/decision"),
        Some("application/json"),
        &headers,
        Some(serde_json::to_vec(&body).unwrap()),
    )
}

/// The quote's item as stored.
fn stored_quote(quote_id: &str) -> std::collections::HashMap<String, AttributeValue> {
    with_dynamo(async |client, tables| {
        client
            .get_item()
            .table_name(&tables.quotes)
            .key("quote_id", AttributeValue::S(quote_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap()
    })
}

#[test]
fn a_referred_quote_is_accepted_by_an_underwriter_and_then_binds() {
    // Given a referred quote, which cannot be bound yet
    let quote_id = referred_quote();
    let bind = format!("/api/v1/quotes/{quote_id}/bind");
    assert_problem(&post_json(&bind, &json!({})), 422, "quote_id");

    // When an underwriter accepts it
    let decided = decide(&quote_id, "accepted", None);

    // Then it is accepted, with the system's decision and the underwriter's in its trail
    assert_eq!(decided.status, 200, "{:#}", decided.json);
    assert_eq!(decided.json["decision"]["outcome"], "accepted");
    let trail = decided.json["decisions"].as_array().unwrap();
    assert_eq!(trail.len(), 2, "{trail:#?}");
    assert_eq!(
        (trail[0]["actor"].as_str(), trail[0]["outcome"].as_str()),
        (Some("system"), Some("referred"))
    );
    assert_eq!(
        (trail[1]["actor"].as_str(), trail[1]["outcome"].as_str()),
        (Some("anonymous"), Some("accepted"))
    );
    assert_eq!(trail[1]["note"], "accepted after review");
    // The reasons it was referred for are kept
    assert_eq!(decided.json["decision"]["reasons"][0]["code"], "dui");

    // And it binds
    let bound = post_json(&bind, &json!({}));
    assert_eq!(bound.status, 201, "{:#}", bound.json);
}

#[test]
fn a_second_decision_is_a_409_and_a_declined_quote_cannot_bind() {
    let quote_id = referred_quote();
    assert_eq!(decide(&quote_id, "declined", None).status, 200);
    let again = decide(&quote_id, "accepted", None);
    assert!(
        assert_problem(&again, 409, "quote_id")["detail"]
            .as_str()
            .unwrap()
            .contains("declined"),
        "{:#}",
        again.json
    );
    let bind = post_json(&format!("/api/v1/quotes/{quote_id}/bind"), &json!({}));
    assert_problem(&bind, 422, "quote_id");
    assert_eq!(
        get(&format!("/api/v1/quotes/{quote_id}")).json["decision"]["outcome"],
        "declined"
    );
}

#[test]
fn two_underwriters_deciding_at_once_make_one_winner() {
    for _ in 0..3 {
        let quote_id = referred_quote();
        let answers: Vec<Reply> = std::thread::scope(|s| {
            let handles: Vec<_> = ["accepted", "declined", "accepted", "declined"]
                .into_iter()
                .map(|outcome| {
                    let quote_id = quote_id.clone();
                    s.spawn(move || decide(&quote_id, outcome, None))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 409).count(),
            3,
            "{statuses:?}"
        );
        let winner = answers.iter().find(|r| r.status == 200).unwrap();
        // The stored trail holds the winner's decision only
        let now = get(&format!("/api/v1/quotes/{quote_id}")).json;
        assert_eq!(
            now["decision"]["outcome"],
            winner.json["decision"]["outcome"]
        );
        assert_eq!(now["decisions"].as_array().unwrap().len(), 2, "{now:#}");
    }
}

#[test]
fn a_decision_retried_with_its_key_is_answered_again_and_another_body_is_a_409() {
    let quote_id = referred_quote();
    let key = unique("decide");
    let first = decide(&quote_id, "accepted", Some(&key));
    assert_eq!(first.status, 200, "{:#}", first.json);
    assert!(!first.replayed);
    let again = decide(&quote_id, "accepted", Some(&key));
    assert_eq!(again.status, 200, "{:#}", again.json);
    assert!(again.replayed);
    assert_eq!(again.json["decisions"], first.json["decisions"]);
    let other = decide(&quote_id, "declined", Some(&key));
    assert_problem(&other, 409, "Idempotency-Key");
}

#[test]
fn only_a_referred_quote_can_be_decided_and_bad_bodies_name_their_field() {
    // An accepted quote is not waiting for anyone
    let accepted = post_json(
        "/api/v1/quotes",
        &json!({"policy_type": "auto", "state": "CA",
        "zip_code": "90210", "coverage": {"liability": 300_000},
        "vehicle": {"year": 2022}, "drivers": [{"age": 40, "years_licensed": 20}]}),
    );
    assert_eq!(accepted.status, 201, "{:#}", accepted.json);
    assert_eq!(
        accepted.json["decision"]["outcome"], "accepted",
        "{:#}",
        accepted.json
    );
    let id = accepted.json["quote_id"].as_str().unwrap();
    assert_problem(&decide(id, "declined", None), 409, "quote_id");
    // Unknown quotes are 404
    let unknown = decide("Q-2026-0000000000", "accepted", None);
    assert_eq!(unknown.status, 404, "{:#}", unknown.json);
    assert_eq!(
        unknown.json["type"],
        "urn:policy-decision:problem:not-found"
    );
    // Bodies are checked before anything is read or written
    let quote_id = referred_quote();
    let path = format!("/api/v1/quotes/{quote_id}/decision");
    for (body, field) in [
        (json!({"outcome": "referred", "note": "x"}), "outcome"),
        (json!({"outcome": "accepted"}), "note"),
        (json!({"outcome": "accepted", "note": "  "}), "note"),
        (
            json!({"outcome": "accepted", "note": "x".repeat(2001)}),
            "note",
        ),
        (
            json!({"outcome": "accepted", "note": "x", "by": "me"}),
            "by",
        ),
    ] {
        let reply = post_json(&path, &body);
        assert_problem(&reply, 422, field);
    }
    assert_eq!(
        get(&format!("/api/v1/quotes/{quote_id}")).json["decision"]["outcome"],
        "referred",
        "nothing half-written"
    );
}

#[test]
fn the_queue_lists_referred_quotes_newest_first_and_a_decided_one_leaves_it() {
    // Given two referred quotes
    let older = referred_quote();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let newer = referred_quote();

    // Then the queue lists both, newest first, paging with a signed cursor
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..200 {
        let path = match &cursor {
            Some(c) => format!("/api/v1/quotes?status=referred&limit=7&cursor={c}"),
            None => "/api/v1/quotes?status=referred&limit=7".to_owned(),
        };
        let page = get(&path);
        assert_eq!(page.status, 200, "{:#}", page.json);
        for item in page.json["items"].as_array().unwrap() {
            assert_eq!(item["decision"]["outcome"], "referred");
            seen.push(item["quote_id"].as_str().unwrap().to_owned());
        }
        match page.json["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let at = |id: &str| seen.iter().position(|s| s == id).unwrap();
    assert!(at(&newer) < at(&older), "newest first");
    let unique_ids: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique_ids.len(), seen.len(), "no quote listed twice");

    // When one is decided, it leaves the queue
    assert_eq!(decide(&newer, "accepted", None).status, 200);
    let first = get("/api/v1/quotes?status=referred&limit=100");
    let ids: Vec<&str> = first.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["quote_id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&newer.as_str()), "{ids:?}");

    // And the queue takes no other status, nor a forged cursor
    assert_problem(&get("/api/v1/quotes?status=quoted"), 422, "status");
    assert_problem(&get("/api/v1/quotes"), 422, "status");
    assert_problem(
        &get("/api/v1/quotes?status=referred&cursor=e30.AAAA"),
        422,
        "cursor",
    );
}

#[test]
fn a_bound_quote_loses_its_ttl_and_its_policy_keeps_the_decision_trail_and_rated_inputs() {
    // Given a referred quote accepted by an underwriter and bound
    let quote_id = referred_quote();
    assert!(
        stored_quote(&quote_id).contains_key("ttl"),
        "a fresh quote expires"
    );
    assert_eq!(decide(&quote_id, "accepted", None).status, 200);
    let bound = post_json(&format!("/api/v1/quotes/{quote_id}/bind"), &json!({}));
    assert_eq!(bound.status, 201, "{:#}", bound.json);

    // Then the stored quote has no TTL any more and names who bound it
    let item = stored_quote(&quote_id);
    assert!(!item.contains_key("ttl"), "{item:?}");
    assert_eq!(item["bound_by"], AttributeValue::S("anonymous".into()));
    assert!(
        !item.contains_key("queue"),
        "out of the underwriters' queue"
    );

    // And the policy carries the decision, its trail, who bound it and what it was rated on
    let number = bound.json["policy_number"].as_str().unwrap();
    let policy = get(&format!("/api/v1/policies/{number}")).json;
    assert_eq!(policy["bound_by"], "anonymous");
    assert_eq!(policy["decision"]["outcome"], "accepted");
    assert_eq!(policy["decision"]["reasons"][0]["code"], "dui");
    let trail: Vec<&str> = policy["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(trail, ["referred", "accepted"]);
    let rated_on = &policy["rated_on"];
    assert_eq!(rated_on["request"], referred_body(), "the request as sent");
    assert!(
        rated_on["rate_table_version"]
            .as_str()
            .unwrap()
            .starts_with("TX-auto-")
    );
    assert_eq!(rated_on["rate_table_sha256"].as_str().unwrap().len(), 64);
    // The quote reads back the same record
    let quote = get(&format!("/api/v1/quotes/{quote_id}")).json;
    assert_eq!(quote["rated_on"], *rated_on);
    assert_eq!(quote["bound_by"], "anonymous");
}

#[test]
fn seeded_policies_keep_what_they_were_rated_on() {
    let page = get("/api/v1/policies?limit=3").json;
    for item in page["items"].as_array().unwrap() {
        let number = item["policy_number"].as_str().unwrap();
        if !number.ends_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let policy = get(&format!("/api/v1/policies/{number}")).json;
        if policy.get("bound_by").is_some() {
            continue; // bound by a test, not seeded
        }
        let rated_on = &policy["rated_on"];
        assert!(rated_on["request"]["coverage"].is_object(), "{policy:#}");
        assert_eq!(rated_on["rate_table_sha256"].as_str().unwrap().len(), 64);
        assert_eq!(policy["decisions"][0]["actor"], "system");
    }
}
