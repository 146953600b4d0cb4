use std::thread;

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{
    Reply, assert_problem, complete_auto, get, idempotency_record_exists, policies_from_quote,
    post_json, post_raw, send_with, stored_create_key, unique, with_dynamo,
};
use policy_core::caller::ANONYMOUS;
use policy_core::domain::{PolicyType, State, Term};
use policy_core::money::Money;
use policy_core::records::{Quote, QuoteStatus};
use policy_core::storage::DynamoStore;
use policy_core::underwriting::{Decision, Outcome};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

fn brief_quote(state: &str) -> Value {
    json!({"policy_type": "auto", "state": state, "coverage_requested": {"liability": 500000, "collision": 50000}})
}

fn create_with_key(body: &Value, key: &str) -> Reply {
    send_with(
        "POST",
        "/api/v1/quotes",
        Some("application/json"),
        &[("idempotency-key", key)],
        Some(serde_json::to_vec(body).unwrap()),
    )
}

fn created(reply: &Reply) -> String {
    assert_eq!(reply.status, 201, "{:#}", reply.json);
    let id = reply.json["quote_id"].as_str().unwrap().to_owned();
    assert_eq!(
        reply.location.as_deref(),
        Some(format!("/api/v1/quotes/{id}").as_str())
    );
    id
}

/// A complete TX auto application whose one driver is `driver`.
fn with_driver(driver: &Value) -> Value {
    let mut body = complete_auto(
        json!({"policy_type": "auto", "state": "TX", "coverage": {"liability": 300000}}),
    );
    body["drivers"] = json!([driver]);
    body
}

/// The `(code, field)` of each reason of a quote's decision.
fn reasons(quote: &Value) -> Vec<(String, String)> {
    quote["decision"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["code"].as_str().unwrap().to_owned(),
                r["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The result of rule `rule` in a quote's decision.
fn rule<'q>(quote: &'q Value, rule: &str) -> &'q Value {
    quote["decision"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} in {:#}", quote["decision"]))
}

#[test]
fn the_briefs_quote_body_works_as_written_in_ca_ny_and_tx() {
    for state in ["CA", "NY", "TX"] {
        // When the brief's load-test body is posted
        let reply = post_json("/api/v1/quotes", &brief_quote(state));

        // Then a quote is stored and readable at its Location, valid for 30 days, and referred:
        // the body names no drivers, vehicle or ZIP code, and the rules that read them say so
        let id = created(&reply);
        assert!(id.starts_with("Q-2") && id.len() == 17, "{id}");
        let quote = &reply.json;
        assert_eq!(quote["decision"]["outcome"], "referred", "{state}");
        let incomplete = |field: &str| ("incomplete_application".to_owned(), field.to_owned());
        assert_eq!(
            reasons(quote),
            [
                incomplete("drivers"),
                incomplete("vehicle"),
                incomplete("zip_code")
            ],
            "{state}"
        );
        assert_eq!(
            rule(quote, "driver_under_minimum_age"),
            &json!({"rule": "driver_under_minimum_age", "result": "not_evaluated", "missing": "drivers"})
        );
        assert_eq!(quote["status"], "quoted");
        let created_at = OffsetDateTime::parse(
            quote["created_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let expires_at = OffsetDateTime::parse(
            quote["expires_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert_eq!(expires_at - created_at, Duration::days(30));
        assert_eq!(quote["premium"]["total_premium"], quote["total_premium"]);
        let read = get(reply.location.as_deref().unwrap());
        assert_eq!(read.status, 200);
        assert_eq!(
            read.json, reply.json,
            "{state}: the stored quote reads back as created"
        );
    }
}

#[test]
fn a_complete_application_is_accepted_with_every_rule_passed_and_reads_back_so() {
    // Given the brief's CA body with a driver, a vehicle and a ZIP code
    let reply = post_json("/api/v1/quotes", &complete_auto(brief_quote("CA")));

    // Then it is accepted, every auto rule was evaluated and passed, and it reads back the same
    created(&reply);
    let decision = &reply.json["decision"];
    assert_eq!(decision["outcome"], "accepted", "{decision:#}");
    assert_eq!(decision["reasons"], json!([]));
    let rules = decision["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 9, "{decision:#}");
    assert!(
        rules
            .iter()
            .all(|r| r["result"] == "passed" && r.get("missing").is_none()),
        "{decision:#}"
    );
    let read = get(reply.location.as_deref().unwrap());
    assert_eq!(read.json, reply.json);
}

#[test]
fn a_home_body_that_only_names_a_dwelling_limit_is_referred_naming_property_and_zip_code() {
    let body = json!({"state": "FL", "policy_type": "home", "coverage": {"dwelling": 400000}});
    let reply = post_json("/api/v1/quotes", &body);
    created(&reply);
    assert_eq!(reply.json["decision"]["outcome"], "referred");
    assert_eq!(
        reply.json["decision"]["reasons"],
        json!([
            {"code": "incomplete_application", "declines": false, "field": "property"},
            {"code": "incomplete_application", "declines": false, "field": "zip_code"}
        ])
    );
    assert_eq!(reply.json["added_coverages"], json!(["liability"]));
}

#[test]
fn coverages_a_state_requires_are_added_at_its_minimum() {
    let reply = post_json("/api/v1/quotes", &brief_quote("NY"));
    created(&reply);
    assert_eq!(
        reply.json["added_coverages"],
        json!(["uninsured_motorist", "pip"])
    );
    let lines: Vec<_> = reply.json["premium"]["coverages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["coverage"].clone())
        .collect();
    assert!(lines.contains(&json!("pip")), "{lines:?}");
}

#[test]
fn a_quote_binds_into_a_policy_that_lists_and_reads_back() {
    // Given an accepted CA quote: a complete application
    let quote_id = created(&post_json(
        "/api/v1/quotes",
        &complete_auto(brief_quote("CA")),
    ));

    // When it is bound
    let bound = post_json(&format!("/api/v1/quotes/{quote_id}/bind"), &json!({}));

    // Then an active policy exists for the term, the quote says so, and the policy lists and reads back
    assert_eq!(bound.status, 201, "{:#}", bound.json);
    let number = bound.json["policy_number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("POL-2"), "{number}");
    assert_eq!(
        bound.location.as_deref(),
        Some(format!("/api/v1/policies/{number}").as_str())
    );
    assert_eq!(bound.json["status"], "active");
    assert_eq!(bound.json["quote_id"], quote_id.as_str());
    let effective = bound.json["effective_date"].as_str().unwrap().to_owned();
    let quote = get(&format!("/api/v1/quotes/{quote_id}"));
    assert_eq!(
        (
            quote.json["status"].clone(),
            quote.json["policy_number"].clone()
        ),
        (json!("bound"), json!(number))
    );
    let policy = get(&format!("/api/v1/policies/{number}"));
    assert_eq!(policy.status, 200, "{:#}", policy.json);
    assert_eq!(policy.json["total_premium"], quote.json["total_premium"]);
    let mut cursor = None::<String>;
    let found = loop {
        let mut path = format!(
            "/api/v1/policies?state=CA&policy_type=auto&effective_from={effective}&limit=100"
        );
        if let Some(cursor) = &cursor {
            path.push_str("&cursor=");
            path.push_str(cursor);
        }
        let page = get(&path);
        assert_eq!(page.status, 200, "{:#}", page.json);
        if page.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["policy_number"] == number.as_str())
        {
            break true;
        }
        match page.json["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break false,
        }
    };
    assert!(found, "the bound policy is listed");
    assert_eq!(policies_from_quote(&quote_id), 1);
}

#[test]
fn binding_twice_is_a_409_and_leaves_one_policy() {
    let quote_id = created(&post_json(
        "/api/v1/quotes",
        &complete_auto(brief_quote("TX")),
    ));
    assert_eq!(
        post_json(&format!("/api/v1/quotes/{quote_id}/bind"), &json!({})).status,
        201
    );
    let again = post_raw(&format!("/api/v1/quotes/{quote_id}/bind"), "");
    let problem = assert_problem(&again, 409, "quote_id");
    assert_eq!(problem["type"], "urn:policy-decision:problem:already-bound");
    assert_eq!(policies_from_quote(&quote_id), 1);
}

#[test]
fn parallel_binds_of_one_quote_make_exactly_one_policy() {
    let quote_id = created(&post_json(
        "/api/v1/quotes",
        &complete_auto(brief_quote("CA")),
    ));
    let path = format!("/api/v1/quotes/{quote_id}/bind");
    let statuses: Vec<u16> = thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|_| s.spawn(|| post_json(&path, &json!({})).status))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 201 || s == 409),
        "{statuses:?}"
    );
    assert_eq!(policies_from_quote(&quote_id), 1);
}

#[test]
fn referred_and_declined_quotes_cannot_be_bound_and_nothing_changes() {
    let one_dui = with_driver(&json!({"age": 40, "years_licensed": 20, "dui": 1}));
    let two_duis = with_driver(&json!({"age": 40, "years_licensed": 20, "dui": 2}));
    let brief = brief_quote("CA");
    for (body, outcome, code) in [
        (one_dui, "referred", "dui"),
        (two_duis, "declined", "multiple_duis"),
        (brief, "referred", "incomplete_application"),
    ] {
        let reply = post_json("/api/v1/quotes", &body);
        let quote_id = created(&reply);
        assert_eq!(reply.json["decision"]["outcome"], outcome);
        assert!(
            reply.json["decision"]["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["code"] == code),
            "{:#}",
            reply.json
        );
        let refused = post_json(&format!("/api/v1/quotes/{quote_id}/bind"), &json!({}));
        let problem = assert_problem(&refused, 422, "quote_id");
        assert_eq!(
            problem["type"],
            "urn:policy-decision:problem:quote-not-bindable"
        );
        assert!(problem["detail"].as_str().unwrap().contains(outcome));
        let after = get(&format!("/api/v1/quotes/{quote_id}"));
        assert_eq!(after.json, reply.json, "the quote is unchanged");
        assert_eq!(policies_from_quote(&quote_id), 0);
    }
}

#[test]
fn an_expired_quote_reads_as_expired_and_cannot_be_bound() {
    // Given an accepted quote that expired yesterday, written straight to the table
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let digits = unique("X").replace(|c: char| !c.is_ascii_digit(), "");
    let quote_id = format!("Q-{}-{}", now.year(), &digits[digits.len() - 10..]);
    let quote = Quote {
        quote_id: quote_id.clone(),
        owner: ANONYMOUS.to_owned(),
        status: QuoteStatus::Quoted,
        decision: Decision {
            outcome: Outcome::Accepted,
            reasons: vec![],
            rules: vec![],
        },
        state: State::CA,
        policy_type: PolicyType::Auto,
        term: Term::Annual,
        effective_date: (now - Duration::days(31)).date(),
        total_premium: Money::from_dollars(946),
        breakdown: "{}".to_owned(),
        added_coverages: vec![],
        created_at: now - Duration::days(31),
        expires_at: now - Duration::days(1),
        policy_number: None,
        rated_on: None,
        decisions: vec![],
        bound_by: None,
        policy_change: None,
    };
    with_dynamo(async |client, tables| {
        DynamoStore::new(client.clone(), tables.clone())
            .insert_quote(&quote, None)
            .await
            .unwrap();
    });

    // Then it reads as expired, binding it is refused, and no policy appears
    assert_eq!(
        get(&format!("/api/v1/quotes/{quote_id}")).json["status"],
        "expired"
    );
    let refused = post_json(&format!("/api/v1/quotes/{quote_id}/bind"), &json!({}));
    assert!(
        assert_problem(&refused, 422, "quote_id")["detail"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    assert_eq!(policies_from_quote(&quote_id), 0);
}

#[test]
fn unknown_and_malformed_quote_ids_are_404() {
    for path in [
        "/api/v1/quotes/Q-2026-0000000000",
        "/api/v1/quotes/Q-2026-..%2F..%2Fetc",
        "/api/v1/quotes/nonsense",
    ] {
        let reply = get(path);
        assert_eq!(reply.status, 404, "{path}: {:#}", reply.json);
        assert_eq!(reply.content_type, "application/problem+json");
    }
    assert_eq!(
        post_json("/api/v1/quotes/Q-2026-0000000000/bind", &json!({})).status,
        404
    );
}

#[test]
fn a_retry_with_the_same_key_and_body_returns_the_same_quote() {
    let key = unique("retry");
    let first = create_with_key(&brief_quote("CA"), &key);
    let again = create_with_key(&brief_quote("CA"), &key);
    assert_eq!(created(&first), created(&again));
    assert!(!first.replayed && again.replayed);
    assert_eq!(first.json, again.json);
}

#[test]
fn the_same_key_with_a_different_body_is_a_409() {
    let key = unique("conflict");
    created(&create_with_key(&brief_quote("CA"), &key));
    let other = create_with_key(&brief_quote("TX"), &key);
    let problem = assert_problem(&other, 409, "Idempotency-Key");
    assert_eq!(
        problem["type"],
        "urn:policy-decision:problem:idempotency-key-reused"
    );
}

#[test]
fn twenty_concurrent_creates_with_one_key_make_one_quote() {
    let key = unique("concurrent");
    let body = brief_quote("NY");
    let replies: Vec<Reply> = thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|_| s.spawn(|| create_with_key(&body, &key)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: Vec<String> = replies.iter().map(created).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(
        replies.iter().filter(|r| !r.replayed).count(),
        1,
        "exactly one request created the quote"
    );
}

#[test]
fn rejected_creates_answer_4xx_naming_the_field_and_write_nothing() {
    let cases = [
        (br#"{"policy_type":"auto","state":"CA","#.to_vec(), 400, "body"),
        (br#"{"policy_type":"auto","state":"CA","coverage":{"liability":500000},"colour":"red"}"#.to_vec(), 422, "colour"),
        (br#"{"policy_type":"auto","state":"ZZ","coverage":{"liability":500000}}"#.to_vec(), 422, "state"),
        (br#"{"policy_type":"auto","state":"WY","coverage":{"liability":500000}}"#.to_vec(), 422, "state"),
        (br#"{"policy_type":"auto","state":"CA","coverage":{"liability":500000},"effective_date":"2026-02-30"}"#.to_vec(), 422, "effective_date"),
        (br#"{"policy_type":"auto","state":"CA","coverage":{"liability":1000}}"#.to_vec(), 422, "coverage.liability"),
    ];
    for (body, status, field) in cases {
        let key = unique("rejected");
        let reply = send_with(
            "POST",
            "/api/v1/quotes",
            Some("application/json"),
            &[("idempotency-key", &key)],
            Some(body),
        );
        assert_problem(&reply, status, field);
        assert!(
            !idempotency_record_exists(&key),
            "nothing is written for {field}"
        );
    }
    let long_key = "k".repeat(300);
    let reply = create_with_key(&brief_quote("CA"), &long_key);
    assert_problem(&reply, 422, "Idempotency-Key");
}

#[test]
fn an_expired_idempotency_key_neither_blocks_nor_replays() {
    // Given a key whose record has passed its TTL but not yet been deleted by DynamoDB
    let key = unique("expired-key");
    let body = complete_auto(brief_quote("CA"));
    let first = create_with_key(&body, &key);
    assert_eq!(first.status, 201, "{:#}", first.json);
    with_dynamo(async |client, tables| {
        client
            .update_item()
            .table_name(&tables.idempotency)
            .key(
                "idempotency_key",
                AttributeValue::S(stored_create_key(&key)),
            )
            .update_expression("SET #ttl = :past")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":past", AttributeValue::N("1000".into()))
            .send()
            .await
            .unwrap();
    });

    // When the key is used again, even with another body
    let other = complete_auto(json!({"policy_type": "auto", "state": "CA",
                                      "coverage": {"liability": 300_000}}));
    let again = create_with_key(&other, &key);

    // Then it makes a new quote, as a new key would, and the key now points at it
    assert_eq!(again.status, 201, "{:#}", again.json);
    assert!(!again.replayed);
    assert_ne!(again.json["quote_id"], first.json["quote_id"]);
    let replay = create_with_key(&other, &key);
    assert!(replay.replayed);
    assert_eq!(replay.json["quote_id"], again.json["quote_id"]);
}
