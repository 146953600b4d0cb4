use e2e::{assert_problem, get, post_json, post_raw, send};
use serde_json::json;

const PATH: &str = "/api/v1/rates/calculate";

/// The brief's body (CA auto, liability 500,000, no date: rated as of today) worked by hand for
/// each CA auto version, picked by the one in force for new business today: the version, the
/// liability line (500 x the rate per thousand), the premium tax (2.35%, half-up) and the total
/// (with the $25 policy fee).
fn brief_today() -> (&'static str, &'static str, &'static str, &'static str) {
    let listing = get("/api/v1/rates/tables?state=CA&policy_type=auto");
    let in_force = listing.json["tables"][0]["in_force_today"]["new_business"].clone();
    match in_force.as_str() {
        // 500 x 1.80 = 900.00; 900.00 x 0.0235 = 21.15; 900.00 + 21.15 + 25.00 = 946.15.
        Some("CA-auto-2026.11.0/common-2026.11.0") => (
            "CA-auto-2026.11.0/common-2026.11.0",
            "900.00",
            "21.15",
            "946.15",
        ),
        // From 2027-03-01: 500 x 1.89 = 945.00; 945.00 x 0.0235 = 22.2075 -> 22.21; + 25.00.
        Some("CA-auto-2027.03.0/common-2026.11.0") => (
            "CA-auto-2027.03.0/common-2026.11.0",
            "945.00",
            "22.21",
            "992.21",
        ),
        other => panic!("no worked example for {other:?}"),
    }
}

#[test]
fn the_briefs_payload_is_rated() {
    // Given the brief's load-test body as written
    let body = json!({"state": "CA", "policy_type": "auto", "coverage": {"liability": 500000}});

    // When it is posted
    let reply = post_json(PATH, &body);

    // Then a premium with its breakdown comes back, money as decimal strings
    assert_eq!(reply.status, 200, "{:#}", reply.json);
    assert_eq!(reply.content_type, "application/json");
    assert!(reply.request_id.as_deref().is_some_and(|id| !id.is_empty()));
    let quote = &reply.json;
    let (version, line, tax, total) = brief_today();
    assert_eq!(quote["coverages"][0]["premium"], line);
    assert_eq!(quote["premium_tax"]["amount"], tax);
    assert_eq!(quote["total_premium"], total);
    assert_eq!(quote["rate_table_version"], version);
    assert_eq!(quote["tier"], "standard");
    assert_eq!(quote["added_coverages"], json!([]));
}

#[test]
fn one_body_has_one_price_on_the_rates_and_the_quotes_routes() {
    for body in [
        // New York requires uninsured motorist and PIP, Michigan PIP, Florida home liability.
        json!({"state": "NY", "policy_type": "auto", "coverage": {"liability": 500000}}),
        json!({"state": "MI", "policy_type": "auto", "coverage": {"liability": 250000}}),
        json!({"state": "FL", "policy_type": "home", "coverage": {"dwelling": 400000}}),
        json!({"state": "CA", "policy_type": "auto", "coverage": {"liability": 500000}}),
    ] {
        // When the same body is rated and quoted
        let rated = post_json(PATH, &body);
        let quoted = post_json("/api/v1/quotes", &body);

        // Then both add the same required coverages and come to the same total
        assert_eq!(rated.status, 200, "{body}: {:#}", rated.json);
        assert_eq!(quoted.status, 201, "{body}: {:#}", quoted.json);
        assert_eq!(
            rated.json["total_premium"], quoted.json["total_premium"],
            "{body}"
        );
        // A quote leaves `added_coverages` out when there are none; a rating always lists them.
        let added = quoted
            .json
            .get("added_coverages")
            .cloned()
            .unwrap_or(json!([]));
        assert_eq!(rated.json["added_coverages"], added, "{body}");
    }
    let ny = post_json(
        PATH,
        &json!({"state": "NY", "policy_type": "auto", "coverage": {"liability": 500000}}),
    );
    assert_eq!(
        ny.json["added_coverages"],
        json!(["uninsured_motorist", "pip"])
    );
}

#[test]
fn a_batch_answers_each_item_on_its_own() {
    let batch = json!([
        {"state": "CA", "policy_type": "auto", "coverage": {"liability": 500000}},
        {"state": "WY", "policy_type": "auto", "coverage": {"liability": 500000}},
        {"state": "NY", "policy_type": "renters", "coverage": {"personal_property": 30000, "liability": 100000}},
        {"state": "CA", "policy_type": "auto", "coverage": {"liability": 500000}, "vin": "1HGCM82633A004352"}
    ]);
    let reply = post_json(PATH, &batch);
    assert_eq!(reply.status, 200, "{:#}", reply.json);
    let statuses: Vec<_> = reply.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, [200, 422, 200, 422]);
    assert_eq!(
        reply.json["results"][1]["problem"]["errors"][0]["field"],
        "state"
    );
    assert_eq!(
        reply.json["results"][3]["problem"]["errors"][0]["field"],
        "vin"
    );
    assert_eq!(
        reply.json["results"][0]["rate"]["total_premium"],
        brief_today().3
    );
    assert_eq!(
        reply.json["results"][0]["rate"]["added_coverages"],
        json!([])
    );
    assert_eq!(
        (
            reply.json["succeeded"].clone(),
            reply.json["failed"].clone()
        ),
        (json!(2), json!(2))
    );
}

#[test]
fn a_batch_of_more_than_100_or_none_is_refused() {
    let item = json!({"state": "CA", "policy_type": "auto", "coverage": {"liability": 500000}});
    assert_problem(&post_json(PATH, &json!(vec![item; 101])), 422, "body");
    assert_problem(&post_json(PATH, &json!([])), 422, "body");
}

#[test]
fn malformed_truncated_and_empty_bodies_are_400() {
    // Invalid UTF-8 is covered in process (policy-core's calculate_rate tests): the local
    // emulator answers 500 itself before the function sees such a body.
    for body in [
        &b"{\"state\":\"CA\","[..],
        b"{\"state\" \"CA\"}",
        b"",
        b"NaN",
        br#"{"state":"CA","policy_type":"auto","coverage":{"liability":500000}}}"#,
    ] {
        let reply = post_raw(PATH, body);
        assert_problem(&reply, 400, "body");
    }
}

#[test]
fn unknown_missing_and_out_of_range_fields_are_422_naming_the_field() {
    let cases = [
        (
            json!({"state": "CA", "policy_type": "auto", "coverage": {"liability": 500000}, "color": "red"}),
            "color",
        ),
        (
            json!({"state": "CA", "coverage": {"liability": 500000}}),
            "policy_type",
        ),
        (
            json!({"state": "CA", "policy_type": "boat", "coverage": {}}),
            "policy_type",
        ),
        (
            json!({"state": "ca", "policy_type": "auto", "coverage": {"liability": 500000}}),
            "state",
        ),
        (
            json!({"state": "CA", "policy_type": "auto", "coverage": {"liability": -5}}),
            "coverage.liability",
        ),
        (
            json!({"state": "CA", "policy_type": "auto", "coverage": {"liability": 1e30}}),
            "coverage.liability",
        ),
        (
            json!({"state": "CA", "policy_type": "auto", "coverage": {"liability": 500000},
                "drivers": [{"age": 7, "years_licensed": 0}]}),
            "drivers[0].age",
        ),
        (
            json!({"state": "CA", "policy_type": "auto", "coverage": {"liability": 500000},
                "effective_date": "28/11/2026"}),
            "effective_date",
        ),
        (
            json!({"state": "CA", "policy_type": "auto", "coverage": {"liability": 500000}, "zip_code": "1234"}),
            "zip_code",
        ),
    ];
    for (body, field) in cases {
        assert_problem(&post_json(PATH, &body), 422, field);
    }
}

#[test]
fn state_rules_are_422_with_their_own_problem_types() {
    let below = assert_problem(
        &post_json(
            PATH,
            &json!({"state": "CA", "policy_type": "auto", "coverage": {"liability": 25000}}),
        ),
        422,
        "coverage.liability",
    );
    assert_eq!(
        below["type"],
        "urn:policy-decision:problem:limit-below-minimum"
    );
    let unsupported = assert_problem(
        &post_json(
            PATH,
            &json!({"state": "OH", "policy_type": "auto", "coverage": {"liability": 250000}}),
        ),
        422,
        "state",
    );
    assert_eq!(
        unsupported["type"],
        "urn:policy-decision:problem:unsupported-state"
    );
}

#[test]
fn the_wrong_content_type_is_415() {
    let body = br#"{"state":"CA","policy_type":"auto","coverage":{"liability":500000}}"#.to_vec();
    assert_problem(
        &send("POST", PATH, Some("text/plain"), Some(body.clone())),
        415,
        "content-type",
    );
    assert_problem(&send("POST", PATH, None, Some(body)), 415, "content-type");
}

#[test]
fn an_oversize_body_is_413() {
    let padding = " ".repeat(600 * 1024);
    let body = format!(
        r#"{{"state":"CA","policy_type":"auto","coverage":{{"liability":500000}}}}{padding}"#
    );
    assert_problem(&post_raw(PATH, body), 413, "body");
}
