//! The life of a policy over real HTTP: endorse, cancel, reinstate, renew, on a ledger whose money
//! balances, with idempotent retries, version conditions and the daily renewal run.

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{Reply, assert_problem, get, post_json, send, send_with, with_dynamo};
use policy_core::domain::{PolicyType, State, Term};
use policy_core::money::Money;
use policy_core::records::{Policy, PolicyStatus, term_end};
use policy_core::storage::policy_item;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::{date, datetime};

fn money(value: &Value) -> Money {
    Money::parse(
        value
            .as_str()
            .unwrap_or_else(|| panic!("{value} is not an amount")),
    )
    .unwrap()
}

fn today() -> time::Date {
    OffsetDateTime::now_utc().date()
}

/// A CA auto policy bound today from a complete, accepted application: its number.
fn bound_policy() -> String {
    let quote = post_json(
        "/api/v1/quotes",
        &json!({"state": "CA", "policy_type": "auto", "zip_code": "94105",
                "coverage": {"liability": 500_000, "collision": 50_000},
                "drivers": [{"age": 40, "years_licensed": 20}],
                "vehicle": {"year": 2022, "value": 30_000}}),
    );
    assert_eq!(quote.status, 201, "{:#}", quote.json);
    assert_eq!(
        quote.json["decision"]["outcome"], "accepted",
        "{:#}",
        quote.json
    );
    let quote_id = quote.json["quote_id"].as_str().unwrap();
    let bound = post_json(&format!("/api/v1/quotes/{quote_id}/bind"), &json!({}));
    assert_eq!(bound.status, 201, "{:#}", bound.json);
    bound.json["policy_number"].as_str().unwrap().to_owned()
}

fn post_with(path: &str, body: &Value, headers: &[(&str, &str)]) -> Reply {
    send_with(
        "POST",
        path,
        Some("application/json"),
        headers,
        Some(serde_json::to_vec(body).unwrap()),
    )
}

fn endorse(policy: &str, date: time::Date, changes: &Value, headers: &[(&str, &str)]) -> Reply {
    post_with(
        &format!("/api/v1/policies/{policy}/endorsements"),
        &json!({"effective_date": date.to_string(), "changes": changes}),
        headers,
    )
}

fn cancel(policy: &str, date: time::Date, reason: &str) -> Reply {
    post_json(
        &format!("/api/v1/policies/{policy}/cancellation"),
        &json!({"effective_date": date.to_string(), "reason": reason}),
    )
}

fn ledger(policy: &str) -> Value {
    let reply = get(&format!("/api/v1/policies/{policy}/transactions"));
    assert_eq!(reply.status, 200, "{:#}", reply.json);
    reply.json
}

/// The ledger's premium balances: written is the sum of the transactions, and earned plus
/// unearned is written.
fn assert_balances(ledger: &Value) {
    let term = ledger["premium"]["term"].as_u64().unwrap();
    let written: Money = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["term"].as_u64() == Some(term))
        .map(|t| money(&t["written"]))
        .sum();
    let premium = &ledger["premium"];
    assert_eq!(money(&premium["written"]), written, "{ledger:#}");
    assert_eq!(
        money(&premium["earned"]) + money(&premium["unearned"]),
        written,
        "{ledger:#}"
    );
}

#[test]
fn an_endorsement_writes_the_pro_rata_difference_and_a_retry_writes_nothing_more() {
    // Given a policy bound today, for a year
    let policy = bound_policy();
    let start = today();
    let end = term_end(start, 12);
    let before = get(&format!("/api/v1/policies/{policy}"));
    assert_eq!(before.json["version"], 1);
    let old_premium = money(&before.json["total_premium"]);

    // When collision is raised from 50,000 to 100,000 a month in, with a key
    let date = start + time::Duration::days(30);
    let key = e2e::unique("endorse");
    let changes = json!({"coverage": {"collision": 100_000}});
    let first = endorse(&policy, date, &changes, &[("idempotency-key", &key)]);
    assert_eq!(first.status, 201, "{:#}", first.json);

    // Then the premium for the term rises, and the change is written for the days left, half-up
    let transaction = &first.json["transaction"];
    let new_premium = money(&first.json["policy"]["total_premium"]);
    assert!(new_premium > old_premium, "{:#}", first.json);
    assert_eq!(money(&transaction["term_premium"]), new_premium);
    let term_days = (end - start).whole_days();
    let left = (end - date).whole_days();
    let change = (new_premium - old_premium).amount();
    let expected = Money::round(
        change * rust_decimal::Decimal::from(left) / rust_decimal::Decimal::from(term_days),
    );
    assert_eq!(money(&transaction["written"]), expected, "{transaction:#}");
    assert_eq!(transaction["kind"], "endorsement");
    assert_eq!(
        transaction["rated_on"]["request"]["coverage"]["collision"],
        100_000
    );
    assert_eq!(first.json["policy"]["version"], 2);
    assert_eq!(first.etag.as_deref(), Some("\"2\""));

    // And a retry with the key answers the same transaction, a different body with it is refused
    let again = endorse(&policy, date, &changes, &[("idempotency-key", &key)]);
    assert_eq!(again.status, 200, "{:#}", again.json);
    assert!(again.replayed);
    assert_eq!(again.json["transaction"]["seq"], transaction["seq"]);
    let other = endorse(
        &policy,
        date,
        &json!({"zip_code": "90001"}),
        &[("idempotency-key", &key)],
    );
    assert_problem(&other, 409, "Idempotency-Key");

    // And the ledger holds new business and one endorsement, balancing to the cent
    let ledger = ledger(&policy);
    let kinds: Vec<&str> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["new_business", "endorsement"]);
    assert_balances(&ledger);

    // And the endorsed policy replays to its rating
    let replay = post_json(&format!("/api/v1/policies/{policy}/replay"), &json!({}));
    assert_eq!(replay.json["matches"], true, "{:#}", replay.json);

    // And the policy as it stood before the change still reads as it was
    let was = get(&format!(
        "/api/v1/policies/{policy}?as_of={}",
        date - time::Duration::days(1)
    ));
    assert_eq!(was.status, 200, "{:#}", was.json);
    assert_eq!(money(&was.json["term_premium"]), old_premium);
    assert_eq!(was.json["transaction"], 1);
    let now = get(&format!("/api/v1/policies/{policy}?as_of={date}"));
    assert_eq!(money(&now.json["term_premium"]), new_premium);
    assert_problem(
        &get(&format!("/api/v1/policies/{policy}?as_of=soon")),
        422,
        "as_of",
    );
    assert_problem(
        &get(&format!("/api/v1/policies/{policy}?asof=2026-01-01")),
        422,
        "asof",
    );
}

#[test]
fn changes_out_of_sequence_outside_the_term_or_that_underwriting_declines_are_refused() {
    let policy = bound_policy();
    let start = today();
    let later = endorse(
        &policy,
        start + time::Duration::days(60),
        &json!({"zip_code": "90001"}),
        &[],
    );
    assert_eq!(later.status, 201, "{:#}", later.json);

    // Before the latest transaction: refused, naming the date
    let early = endorse(
        &policy,
        start + time::Duration::days(10),
        &json!({"zip_code": "94105"}),
        &[],
    );
    let problem = assert_problem(&early, 409, "effective_date");
    assert_eq!(
        problem["type"],
        "urn:policy-decision:problem:out-of-sequence"
    );
    // After the term: 422
    let outside = endorse(
        &policy,
        start + time::Duration::days(400),
        &json!({"zip_code": "94105"}),
        &[],
    );
    assert_problem(&outside, 422, "effective_date");
    // What a policy is cannot be endorsed; bad values are named under changes
    assert_problem(
        &endorse(
            &policy,
            start + time::Duration::days(61),
            &json!({"state": "TX"}),
            &[],
        ),
        422,
        "changes.state",
    );
    assert_problem(
        &endorse(
            &policy,
            start + time::Duration::days(61),
            &json!({"drivers": [{"age": "old"}]}),
            &[],
        ),
        422,
        "changes.drivers[0].age",
    );
    // A driver under 16 is declined: nothing is written, the reasons name the field
    let declined = endorse(
        &policy,
        start + time::Duration::days(61),
        &json!({"drivers": [{"age": 15, "years_licensed": 0}]}),
        &[],
    );
    let problem = assert_problem(&declined, 422, "changes.drivers[0].age");
    assert_eq!(problem["type"], "urn:policy-decision:problem:declined");
    assert_eq!(ledger(&policy)["items"].as_array().unwrap().len(), 2);
    // Someone's unknown policy is 404
    assert_eq!(
        endorse(
            "POL-2026-0000000000",
            start,
            &json!({"zip_code": "94105"}),
            &[]
        )
        .status,
        404
    );
}

#[test]
fn a_referred_endorsement_waits_for_an_underwriter_and_binding_it_writes_the_change() {
    let policy = bound_policy();
    let date = today() + time::Duration::days(5);
    // A DUI refers
    let referred = endorse(
        &policy,
        date,
        &json!({"drivers": [{"age": 40, "years_licensed": 20, "dui": 1}]}),
        &[],
    );
    assert_eq!(referred.status, 202, "{:#}", referred.json);
    let quote = &referred.json["quote"];
    assert_eq!(quote["decision"]["outcome"], "referred");
    assert_eq!(quote["policy_change"]["kind"], "endorsement");
    let quote_id = quote["quote_id"].as_str().unwrap();
    assert_eq!(
        ledger(&policy)["items"].as_array().unwrap().len(),
        1,
        "nothing written yet"
    );

    let decided = post_json(
        &format!("/api/v1/quotes/{quote_id}/decision"),
        &json!({"outcome": "accepted", "note": "DUI was 4 years ago"}),
    );
    assert_eq!(decided.status, 200, "{:#}", decided.json);
    let bound = post_json(&format!("/api/v1/quotes/{quote_id}/bind"), &json!({}));
    assert_eq!(bound.status, 201, "{:#}", bound.json);
    assert_eq!(bound.json["policy_number"], policy.as_str());

    let ledger = ledger(&policy);
    let last = ledger["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["quote_id"].as_str()),
        (Some("endorsement"), Some(quote_id))
    );
    assert_balances(&ledger);
    // Bound once
    assert_problem(
        &post_json(&format!("/api/v1/quotes/{quote_id}/bind"), &json!({})),
        409,
        "quote_id",
    );
}

#[test]
fn cancellations_refund_by_their_reason_and_a_non_payment_one_is_reinstated_with_no_lapse() {
    let start = today();
    // Within CA's 10-day free look, the insured gets everything back
    let flat = bound_policy();
    let key = e2e::unique("cancel");
    let body = json!({"effective_date": start.to_string(), "reason": "insured_request"});
    let path = format!("/api/v1/policies/{flat}/cancellation");
    let reply = post_with(&path, &body, &[("idempotency-key", &key)]);
    assert_eq!(reply.status, 201, "{:#}", reply.json);
    let figures = &reply.json["transaction"]["cancellation"];
    assert_eq!(figures["method"], "flat");
    assert_eq!(money(&figures["refund"]), money(&figures["written"]));
    assert_eq!(reply.json["policy"]["status"], "cancelled");
    // A retry with the key answers the cancellation made, not "already cancelled"
    let again = post_with(&path, &body, &[("idempotency-key", &key)]);
    assert_eq!(again.status, 200, "{:#}", again.json);
    assert!(again.replayed);
    assert_eq!(
        again.json["transaction"]["seq"],
        reply.json["transaction"]["seq"]
    );
    assert_problem(
        &cancel(&flat, start + time::Duration::days(4), "rewrite"),
        409,
        "policy_number",
    );

    // After it, short rate: the refund is less than pro rata
    let short = bound_policy();
    // More than 30 days back: refused
    let backdated = cancel(&short, start - time::Duration::days(31), "insured_request");
    let problem = assert_problem(&backdated, 422, "effective_date");
    assert_eq!(problem["type"], "urn:policy-decision:problem:backdated");
    let reply = cancel(&short, start + time::Duration::days(90), "insured_request");
    let figures = &reply.json["transaction"]["cancellation"];
    assert_eq!(figures["method"], "short_rate", "{:#}", reply.json);
    // Cancelled from a later day, it is in force until then
    assert_eq!(reply.json["policy"]["status"], "active", "{:#}", reply.json);
    assert_eq!(
        reply.json["policy"]["cancellation_date"],
        (start + time::Duration::days(90)).to_string()
    );
    assert!(money(&figures["penalty"]) > Money::ZERO);
    assert_eq!(
        money(&figures["refund"]) + money(&figures["penalty"]),
        money(&figures["unearned"])
    );
    assert_balances(&ledger(&short));
    // Only a non-payment cancellation is reinstated
    let refused = post_json(
        &format!("/api/v1/policies/{short}/reinstatement"),
        &json!({}),
    );
    let problem = assert_problem(&refused, 409, "policy_number");
    assert_eq!(
        problem["type"],
        "urn:policy-decision:problem:not-reinstatable"
    );

    // Non-payment: pro rata, then reinstated on the day it took effect, nothing lost
    let unpaid = bound_policy();
    let before = get(&format!("/api/v1/policies/{unpaid}")).json;
    let date = start + time::Duration::days(45);
    let reply = cancel(&unpaid, date, "non_payment");
    let figures = reply.json["transaction"]["cancellation"].clone();
    assert_eq!(figures["method"], "pro_rata");
    assert_eq!(money(&figures["refund"]), money(&figures["unearned"]));
    let back = send(
        "POST",
        &format!("/api/v1/policies/{unpaid}/reinstatement"),
        None,
        None,
    );
    assert_eq!(back.status, 201, "{:#}", back.json);
    assert_eq!(back.json["transaction"]["effective_date"], date.to_string());
    assert_eq!(back.json["policy"]["status"], "active");
    assert_eq!(
        back.json["policy"]["total_premium"],
        before["total_premium"]
    );
    let ledger = ledger(&unpaid);
    assert_eq!(
        money(&ledger["premium"]["written"]),
        money(&before["total_premium"])
    );
    assert_balances(&ledger);
}

#[test]
fn two_endorsements_from_the_same_version_make_one_winner_and_lose_nothing() {
    for _ in 0..3 {
        let policy = bound_policy();
        let date = today() + time::Duration::days(20);
        // Both clients read version 1 and change the policy on it
        let replies: Vec<Reply> = std::thread::scope(|s| {
            let handles: Vec<_> = [
                json!({"coverage": {"collision": 80_000}}),
                json!({"zip_code": "90001"}),
            ]
            .into_iter()
            .map(|changes| {
                let policy = policy.clone();
                s.spawn(move || endorse(&policy, date, &changes, &[("if-match", "\"1\"")]))
            })
            .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [201, 409],
            "{:#?}",
            replies.iter().map(|r| &r.json).collect::<Vec<_>>()
        );
        let loser = replies.iter().find(|r| r.status == 409).unwrap();
        assert_eq!(
            loser.json["type"],
            "urn:policy-decision:problem:policy-changed"
        );
        // The winner's change is the one kept, once
        let winner = replies.iter().find(|r| r.status == 201).unwrap();
        let now = get(&format!("/api/v1/policies/{policy}"));
        assert_eq!(now.json["version"], 2);
        assert_eq!(
            now.json["total_premium"],
            winner.json["policy"]["total_premium"]
        );
        let ledger = ledger(&policy);
        assert_eq!(ledger["items"].as_array().unwrap().len(), 2);
        assert_balances(&ledger);
    }
}

#[test]
fn a_renewal_offer_is_capped_made_once_and_binding_it_starts_the_next_term() {
    let policy = bound_policy();
    let expiring = get(&format!("/api/v1/policies/{policy}")).json;
    let offer = post_json(&format!("/api/v1/policies/{policy}/renewal"), &json!({}));
    assert_eq!(offer.status, 201, "{:#}", offer.json);
    let quote = &offer.json["quote"];
    let capping = &quote["policy_change"]["capping"];
    assert_eq!(capping["expiring_premium"], expiring["total_premium"]);
    let (floor, ceiling) = (money(&capping["floor"]), money(&capping["ceiling"]));
    let premium = money(&quote["total_premium"]);
    assert!(floor <= premium && premium <= ceiling, "{capping:#}");
    assert_eq!(quote["effective_date"], expiring["expiration_date"]);
    // CA auto renewals from 2027-04-01 rate on 2027.03.0
    assert!(
        quote["rated_on"]["rate_table_version"]
            .as_str()
            .unwrap()
            .starts_with("CA-auto-"),
        "{quote:#}"
    );
    let quote_id = quote["quote_id"].as_str().unwrap();

    // Asking again finds the same offer
    let again = post_json(&format!("/api/v1/policies/{policy}/renewal"), &json!({}));
    assert_eq!(
        (again.status, again.json["quote"]["quote_id"].as_str()),
        (200, Some(quote_id))
    );
    // As stored (a read through another environment's cache may lag by its L1 TTL)
    let stored = with_dynamo(async |client, tables| {
        client
            .get_item()
            .table_name(&tables.policies)
            .key("policy_number", AttributeValue::S(policy.clone()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap()
    });
    assert_eq!(
        stored.get("renewal_offer"),
        Some(&AttributeValue::S(quote_id.to_owned()))
    );

    // Binding it starts term 2 of the same policy
    let bound = post_json(&format!("/api/v1/quotes/{quote_id}/bind"), &json!({}));
    assert_eq!(bound.status, 201, "{:#}", bound.json);
    assert_eq!(bound.json["policy_number"], policy.as_str());
    assert_eq!(bound.json["term_number"], 2);
    assert_eq!(bound.json["effective_date"], expiring["expiration_date"]);
    assert_eq!(bound.json["total_premium"], quote["total_premium"]);
    let ledger = ledger(&policy);
    let last = ledger["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["term"].as_u64()),
        (Some("renewal"), Some(2))
    );
    assert_balances(&ledger);

    // And the offer and the renewed policy replay to what they were rated at, cap or no cap
    for path in [
        format!("/api/v1/quotes/{quote_id}/replay"),
        format!("/api/v1/policies/{policy}/replay"),
    ] {
        let replay = post_json(&path, &json!({}));
        assert_eq!(replay.json["matches"], true, "{path}: {:#}", replay.json);
    }
}

/// Invokes the renew-policies function as EventBridge would: its report.
fn renewal_run() -> Value {
    let event = std::fs::read(e2e::events_dir().join("renew-policies/scheduled.json")).unwrap();
    let reply = send(
        "POST",
        "/2015-03-31/functions/renew-policies/invocations",
        Some("application/json"),
        Some(event),
    );
    assert_eq!(reply.status, 200, "{:#}", reply.json);
    reply.json
}

#[test]
fn the_daily_renewal_run_offers_each_due_policy_exactly_once_when_run_twice() {
    // Given the seed data (policies of every state whose terms end within the coming weeks)
    let first = renewal_run();
    assert!(first["failed"].as_array().unwrap().is_empty(), "{first:#}");
    assert_eq!(
        first["due"].as_u64(),
        Some(first["offered"].as_u64().unwrap() + first["already_offered"].as_u64().unwrap()),
        "{first:#}"
    );
    let second = renewal_run();
    assert_eq!(second["offered"], 0, "{second:#}");
    assert!(
        second["failed"].as_array().unwrap().is_empty(),
        "{second:#}"
    );

    // Then no term of any policy has two renewal offers
    let offers: Vec<(String, String)> = with_dynamo(async |client, tables| {
        let mut offers = Vec::new();
        let mut start = None;
        loop {
            let page = client
                .scan()
                .table_name(&tables.quotes)
                .filter_expression("policy_change.kind = :renewal")
                .expression_attribute_values(":renewal", AttributeValue::S("renewal".into()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .unwrap();
            for item in page.items.unwrap_or_default() {
                let Some(AttributeValue::M(change)) = item.get("policy_change") else {
                    panic!("{item:?}")
                };
                let (Some(AttributeValue::S(number)), Some(AttributeValue::N(term))) =
                    (change.get("policy_number"), change.get("term"))
                else {
                    panic!("{change:?}")
                };
                offers.push((number.clone(), term.clone()));
            }
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return offers,
            }
        }
    });
    assert!(
        !offers.is_empty(),
        "the seed data has policies due for renewal"
    );
    let mut terms = offers.clone();
    terms.sort();
    terms.dedup();
    assert_eq!(terms.len(), offers.len(), "a term with two renewal offers");
}

#[test]
fn an_active_policy_past_its_term_reads_and_lists_as_expired() {
    // Given an active policy whose term ended yesterday, as stored before the run that would
    // have renewed it
    // A number no other test uses, as the service draws them, dated 2020.
    let number = policy_core::quoting::new_number("POL", datetime!(2020-01-01 0:00 UTC)).unwrap();
    let effective = date!(2020 - 01 - 07);
    let policy = Policy {
        policy_number: number.clone(),
        owner: "anonymous".into(),
        quote_id: "Q-2020-0000000000".into(),
        state: State::TX,
        policy_type: PolicyType::Renters,
        status: PolicyStatus::Active,
        term: Term::Annual,
        effective_date: effective,
        expiration_date: term_end(effective, 12),
        total_premium: Money::from_dollars(400),
        breakdown: "{}".into(),
        bound_at: datetime!(2020-01-01 0:00 UTC),
        bound_by: None,
        added_coverages: Vec::new(),
        rated_on: None,
        decision: None,
        decisions: Vec::new(),
        version: 1,
        term_number: 1,
        renewal_offer: None,
        cancellation_date: None,
    };
    with_dynamo(async |client, tables| {
        client
            .put_item()
            .table_name(&tables.policies)
            .set_item(Some(policy_item(&policy).unwrap()))
            .send()
            .await
            .unwrap();
    });
    assert_eq!(
        get(&format!("/api/v1/policies/{number}")).json["status"],
        "expired"
    );
    let listed = |status: &str| -> Vec<String> {
        let reply = get(&format!(
            "/api/v1/policies?status={status}&state=TX&effective_from=2020-01-07&effective_to=2020-01-07&limit=100"
        ));
        assert_eq!(reply.status, 200, "{:#}", reply.json);
        reply.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                assert_eq!(p["status"], status, "{p:#}");
                p["policy_number"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    assert!(listed("expired").contains(&number));
    assert!(!listed("active").contains(&number));
    // And it cannot be renewed any more
    let late = post_json(&format!("/api/v1/policies/{number}/renewal"), &json!({}));
    assert_problem(&late, 409, "policy_number");
}

#[test]
fn a_seeded_policy_bound_before_ledgers_were_kept_gets_its_new_business_entry_with_its_first_change()
 {
    // Given seeded policies in force (written with no ledger)
    let page = get(
        "/api/v1/policies?status=active&state=TX&policy_type=auto&effective_from=2026-06-01&effective_to=2026-10-31&limit=50",
    );
    assert_eq!(page.status, 200, "{:#}", page.json);
    let seeded: Vec<String> = page.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["policy_number"].as_str().unwrap().to_owned())
        .filter(|n| n.len() == "POL-2026-000001".len())
        .collect();
    assert!(!seeded.is_empty(), "{:#}", page.json);

    // When one is endorsed (the first whose change underwriting accepts)
    let date = today() + time::Duration::days(1);
    let endorsed = seeded.iter().find_map(|number| {
        let stored = with_dynamo(async |client, tables| {
            client
                .query()
                .table_name(&tables.transactions)
                .key_condition_expression("policy_number = :p")
                .expression_attribute_values(":p", AttributeValue::S(number.clone()))
                .send()
                .await
                .unwrap()
                .count
        });
        if stored != 0 {
            return None;
        }
        let reply = endorse(number, date, &json!({"prior_coverage_lapse": false}), &[]);
        (reply.status == 201).then(|| (number.clone(), reply))
    });
    let (number, reply) = endorsed.expect("a seeded TX auto policy whose endorsement is accepted");
    assert_eq!(reply.json["transaction"]["seq"], 2, "{:#}", reply.json);

    // Then its ledger holds new business, worked out from the policy, and the endorsement, both
    // stored, and it balances
    let stored = with_dynamo(async |client, tables| {
        client
            .query()
            .table_name(&tables.transactions)
            .key_condition_expression("policy_number = :p")
            .expression_attribute_values(":p", AttributeValue::S(number.clone()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .count
    });
    assert_eq!(stored, 2);
    let ledger = ledger(&number);
    let first = &ledger["items"][0];
    assert_eq!(
        (first["kind"].as_str(), first["actor"].as_str()),
        (Some("new_business"), Some("system"))
    );
    assert_balances(&ledger);
}
