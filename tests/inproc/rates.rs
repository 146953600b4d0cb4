//! Rate versions on the local stack: every seeded policy and a thousand fresh quotes replay to the
//! cent with the tables they name, and a candidate table tried on the book reports what it does.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use e2e::{gateway_request, unique};
use policy_core::api::auth::AuthMode;
use policy_core::records::term_end;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::support::{Functions, Reply};

/// An actuary: may try candidate tables and read every record.
const ACTUARY: (&str, &str) = ("actuary-01", "rates:admin rates:calculate policies:admin");

fn rates_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/policy-core/rates"
    ))
}

async fn send(
    functions: &Functions,
    caller: (&str, &str),
    method: &str,
    path: &str,
    body: &str,
) -> Reply {
    functions
        .send(gateway_request(Some(caller), method, path, body, None))
        .await
}

/// Every policy the admin list shows, by number, with its summary.
async fn every_policy(functions: &Functions) -> BTreeMap<String, Value> {
    let mut found = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/policies?limit=100&cursor={c}"),
            None => "/api/v1/policies?limit=100".to_owned(),
        };
        let reply = send(functions, ACTUARY, "GET", &path, "").await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        for item in reply.body["items"].as_array().unwrap() {
            found.insert(
                item["policy_number"].as_str().unwrap().to_owned(),
                item.clone(),
            );
        }
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return found,
        }
    }
}

/// Seeded policies are numbered `POL-YYYY-NNNNNN`.
fn is_seeded(number: &str) -> bool {
    let suffix = number.rsplit('-').next().unwrap_or_default();
    suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_digit())
}

#[tokio::test]
async fn every_seeded_policy_replays_to_the_cent() {
    let functions = Functions::new(AuthMode::Jwt).await;
    let seeded: Vec<String> = every_policy(&functions)
        .await
        .into_keys()
        .filter(|n| is_seeded(n))
        .collect();
    assert!(seeded.len() >= 1000, "{} seeded policies", seeded.len());
    let mut differences = Vec::new();
    for number in &seeded {
        let path = format!("/api/v1/policies/{number}/replay");
        let reply = send(&functions, ACTUARY, "POST", &path, "").await;
        assert_eq!(reply.status, 200, "{number}: {:#}", reply.body);
        if reply.body["matches"] != true || reply.body["difference"] != "0.00" {
            differences.push((number.clone(), reply.body));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} differ, e.g. {:#?}",
        differences.len(),
        seeded.len(),
        differences.first()
    );
}

/// Quote body `i` of a varied thousand: every market, dates up to a year ahead (so some rate with
/// the second versions), drivers, vehicles, properties, claims, ZIP codes and discounts.
fn fresh_quote(i: usize, today: time::Date) -> Value {
    const MARKETS: [(&str, &str, &str); 12] = [
        ("CA", "auto", "90012"),
        ("CA", "auto", "95112"),
        ("TX", "auto", "77002"),
        ("TX", "auto", "78701"),
        ("FL", "home", "33901"),
        ("FL", "home", "33602"),
        ("NY", "auto", "10001"),
        ("PA", "home", "19104"),
        ("IL", "renters", "60601"),
        ("MI", "auto", "48201"),
        ("CA", "home", "94110"),
        ("FL", "renters", "32801"),
    ];
    let (state, product, zip) = MARKETS[i % MARKETS.len()];
    let days = i64::try_from((i * 37) % 366).unwrap();
    let effective = today + time::Duration::days(days);
    let term = ["annual", "semi_annual", "quarterly", "monthly"][i % 4];
    let mut body = json!({
        "state": state, "policy_type": product, "zip_code": zip,
        "effective_date": effective.to_string(),
        "claims": i % 3,
        "discounts": {"paperless": i.is_multiple_of(2), "loyalty_years": i % 9},
        "term": term,
    });
    if product == "auto" {
        body["coverage"] = json!({"liability": 150_000 + (i % 7) * 50_000, "collision": 25_000});
        body["drivers"] = json!([{
            "age": 19 + i % 60, "years_licensed": 1 + i % 5,
            "violations": i % 4, "at_fault_accidents": i % 3, "good_student": i.is_multiple_of(5)
        }]);
        body["vehicle"] = json!({"year": 2012 + i % 14, "value": 15_000 + (i % 10) * 4_000});
    } else {
        let dwelling = 150_000 + (i % 9) * 60_000;
        body["coverage"] = if product == "home" {
            json!({"dwelling": dwelling, "liability": 300_000})
        } else {
            json!({"personal_property": 20_000 + (i % 5) * 5_000, "liability": 100_000})
        };
        body["property"] = if product == "home" {
            json!({"dwelling_value": dwelling, "year_built": 1960 + i % 60, "protection_class": 1 + i % 9})
        } else {
            json!({"year_built": 1960 + i % 60})
        };
        body["credit_score"] = json!(560 + (i % 30) * 10);
    }
    body
}

#[tokio::test]
async fn a_thousand_fresh_quotes_replay_to_the_cent_whichever_version_rated_them() {
    let functions = Functions::new(AuthMode::Jwt).await;
    let today = OffsetDateTime::now_utc().date();
    let agent = unique("agent");
    let caller = (agent.as_str(), "quotes:write quotes:read");
    let mut versions: BTreeMap<String, usize> = BTreeMap::new();
    let mut replayed = 0;
    for i in 0..1000 {
        let body = fresh_quote(i, today).to_string();
        let made = send(&functions, caller, "POST", "/api/v1/quotes", &body).await;
        assert_eq!(made.status, 201, "{body}: {:#}", made.body);

        let id = made.body["quote_id"].as_str().unwrap();
        let version = made.body["rated_on"]["rate_table_version"]
            .as_str()
            .unwrap()
            .to_owned();
        *versions.entry(version).or_default() += 1;
        let path = format!("/api/v1/quotes/{id}/replay");
        let reply = send(&functions, caller, "POST", &path, "").await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        assert_eq!(reply.body["matches"], true, "{body}: {:#}", reply.body);
        assert_eq!(reply.body["difference"], "0.00");
        assert_eq!(reply.body["stored_total"], made.body["total_premium"]);
        replayed += 1;
    }
    assert_eq!(replayed, 1000);
    // The dates reach the second versions of CA auto, TX auto and FL home.
    for second in [
        "CA-auto-2027.03.0/common-2026.11.0",
        "TX-auto-2027.01.0/common-2026.11.0",
        "FL-home-2027.06.0/common-2026.11.0",
    ] {
        assert!(versions.contains_key(second), "{versions:?}");
    }
}

#[tokio::test]
async fn a_replay_of_someone_elses_quote_is_not_found_and_a_replay_takes_no_fields() {
    let functions = Functions::new(AuthMode::Jwt).await;
    let today = OffsetDateTime::now_utc().date();
    let (alice, mallory) = (unique("alice"), unique("mallory"));
    let scopes = "quotes:write quotes:read";
    let body = fresh_quote(0, today).to_string();
    let made = send(
        &functions,
        (&alice, scopes),
        "POST",
        "/api/v1/quotes",
        &body,
    )
    .await;
    let path = format!(
        "/api/v1/quotes/{}/replay",
        made.body["quote_id"].as_str().unwrap()
    );
    let theirs = send(&functions, (&mallory, scopes), "POST", &path, "").await;
    assert_eq!(theirs.status, 404, "{:#}", theirs.body);
    let with_field = send(
        &functions,
        (&alice, scopes),
        "POST",
        &path,
        r#"{"as_of":"2027-01-01"}"#,
    )
    .await;
    assert_eq!(with_field.status, 422, "{:#}", with_field.body);
    assert!(
        with_field.body["detail"]
            .as_str()
            .unwrap()
            .contains("as_of"),
        "{:#}",
        with_field.body
    );
    let empty_object = send(&functions, (&alice, scopes), "POST", &path, "{}").await;
    assert_eq!(empty_object.status, 200, "{:#}", empty_object.body);
}

/// The text of the state table in force today for renewals in `state` `product`, and its version.
async fn current_table(functions: &Functions, state: &str, product: &str) -> (String, String) {
    let path = format!("/api/v1/rates/tables?state={state}&policy_type={product}");
    let listing = send(functions, ACTUARY, "GET", &path, "").await;
    assert_eq!(listing.status, 200, "{:#}", listing.body);
    let version = listing.body["tables"][0]["in_force_today"]["renewal"]
        .as_str()
        .unwrap()
        .to_owned();
    // "CA-auto-2026.11.0/common-2026.11.0": the state table's label is the third part.
    let label = version
        .split('/')
        .next()
        .unwrap()
        .splitn(3, '-')
        .nth(2)
        .unwrap();
    let file = rates_dir().join(format!(
        "{}/{product}/{label}.toml",
        state.to_ascii_lowercase()
    ));
    (std::fs::read_to_string(file).unwrap(), version)
}

async fn impact(functions: &Functions, candidate: &str) -> Reply {
    let body = json!({ "candidate": candidate }).to_string();
    send(functions, ACTUARY, "POST", "/api/v1/rates/impact", &body).await
}

/// The policies of `state` `product` in force today, counted from the list API.
async fn in_force(functions: &Functions, state: &str, product: &str) -> u64 {
    let today = OffsetDateTime::now_utc().date();
    let count = every_policy(functions)
        .await
        .values()
        .filter(|p| p["state"] == state && p["policy_type"] == product && p["status"] == "active")
        .filter(|p| p["expiration_date"].as_str().unwrap() > today.to_string().as_str())
        .count();
    u64::try_from(count).unwrap()
}

const WRITTEN_BEFORE: &str = "the policy was written before what it was rated on was kept";

/// The policies the report could not rate are only ones that never kept their inputs.
fn only_unkept_left_out(report: &Value) {
    for reason in report["not_rated"]["reasons"].as_array().unwrap() {
        assert_eq!(reason["reason"], WRITTEN_BEFORE, "{report:#}");
    }
}

#[tokio::test]
async fn the_current_table_as_a_candidate_changes_no_policy() {
    let functions = Functions::new(AuthMode::Jwt).await;
    for (state, product) in [("CA", "auto"), ("FL", "home"), ("NY", "renters")] {
        let (text, version) = current_table(&functions, state, product).await;
        let reply = impact(&functions, &text).await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        let report = &reply.body;
        assert_eq!(report["current"]["rate_table_version"], version);
        assert_eq!(
            report["candidate"]["rate_table_sha256"],
            report["current"]["rate_table_sha256"]
        );
        let rated = report["policies"].as_u64().unwrap();
        let left_out = report["not_rated"]["policies"].as_u64().unwrap();
        assert!(rated > 0, "{report:#}");
        only_unkept_left_out(report);
        if state != "CA" {
            // No other test writes this market: every policy in force is in the report, rated.
            assert_eq!(left_out, 0, "{report:#}");
            assert_eq!(
                rated,
                in_force(&functions, state, product).await,
                "{report:#}"
            );
        }
        assert_eq!(report["total"]["change"], "0.00", "{report:#}");
        assert_eq!(report["total"]["change_percent"], "0.00");
        // Every rated policy is in the bucket from 0.0% to 2.5%, and no other.
        for bucket in report["histogram"].as_array().unwrap() {
            let expected = if bucket["from"] == "0.0" { rated } else { 0 };
            assert_eq!(bucket["policies"].as_u64().unwrap(), expected, "{bucket}");
        }
        let extremes = &report["above_minimum"];
        if extremes["policies"].as_u64().unwrap() > 0 {
            assert_eq!(extremes["lowest_change_percent"], "0.00");
            assert_eq!(extremes["highest_change_percent"], "0.00");
        }
    }
}

/// `text` with every base rate and every flat surcharge multiplied by `factor`.
fn scaled(text: &str, factor: Decimal) -> String {
    let mut in_surcharges = false;
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with('[') {
            in_surcharges = line == "[surcharges]";
        }
        let scale =
            line.starts_with("rate_per_thousand = ") || (in_surcharges && line.contains(" = \""));
        if scale {
            let (key, value) = line.split_once(" = ").unwrap();
            let value: Decimal = value.trim_matches('"').parse().unwrap();
            let _ = writeln!(out, "{key} = \"{}\"", (value * factor).normalize());
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[tokio::test]
async fn base_rates_up_ten_percent_raise_every_policy_above_the_minimum_by_ten_percent() {
    let functions = Functions::new(AuthMode::Jwt).await;
    let factor = Decimal::new(110, 2);
    let mut above_minimum = 0;
    for (state, product) in [
        ("CA", "auto"),
        ("TX", "auto"),
        ("FL", "home"),
        ("IL", "home"),
    ] {
        let (text, _) = current_table(&functions, state, product).await;
        let candidate = scaled(&text, factor);
        assert_ne!(candidate, text);
        let reply = impact(&functions, &candidate).await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        let report = &reply.body;
        only_unkept_left_out(report);
        let extremes = &report["above_minimum"];
        let above = extremes["policies"].as_u64().unwrap();
        if above > 0 {
            assert_eq!(
                extremes["lowest_change_percent"], "10.00",
                "{state} {product}: {report:#}"
            );
            assert_eq!(
                extremes["highest_change_percent"], "10.00",
                "{state} {product}: {report:#}"
            );
        }
        above_minimum += above;
        // Nothing falls: every rated policy is in the 10.0% bucket or, at the minimum premium,
        // lower but not below 0%.
        let buckets = report["histogram"].as_array().unwrap();
        let below_zero: u64 = buckets
            .iter()
            .filter(|b| {
                b["to"]
                    .as_str()
                    .is_some_and(|to| to.starts_with('-') || to == "0.0")
            })
            .map(|b| b["policies"].as_u64().unwrap())
            .sum();
        assert_eq!(below_zero, 0, "{report:#}");
        let ten = buckets.iter().find(|b| b["from"] == "10.0").unwrap();
        assert!(ten["policies"].as_u64().unwrap() >= above, "{report:#}");
    }
    assert!(
        above_minimum > 0,
        "some policy is above its minimum premium"
    );
}

#[tokio::test]
async fn a_malformed_candidate_is_a_422_naming_the_key_never_a_5xx() {
    let functions = Functions::new(AuthMode::Jwt).await;
    let (text, _) = current_table(&functions, "CA", "auto").await;
    let negative = text.replacen(
        "rate_per_thousand = \"1.80\"",
        "rate_per_thousand = \"-1.80\"",
        1,
    );
    assert_ne!(negative, text);
    let floats = text.replacen("minimum_premium = \"500.00\"", "minimum_premium = 500.0", 1);
    let unknown = text.replacen("[fees]", "surprise = \"1\"\n[fees]", 1);
    let unknown_inner = text.replacen("[fees]\n", "[fees]\nsurprise = 1\n", 1);
    let bad_date = text.replacen(
        "new_business = \"2024-01-01\"",
        "new_business = \"2024-13-01\"",
        1,
    );
    let no_state = text.replacen("state = \"CA\"", "state = \"ZZ\"", 1);
    for (candidate, field) in [
        (
            negative.as_str(),
            "candidate.coverages.liability.rate_per_thousand",
        ),
        (floats.as_str(), "candidate.minimum_premium"),
        (unknown.as_str(), "candidate.surprise"),
        (unknown_inner.as_str(), "candidate.fees.surprise"),
        (bad_date.as_str(), "candidate.effective.new_business"),
        (no_state.as_str(), "candidate.state"),
        ("this is [not toml", "candidate"),
        ("", "candidate.version"),
    ] {
        let reply = impact(&functions, candidate).await;
        assert_eq!(reply.status, 422, "{field}: {:#}", reply.body);
        assert_eq!(reply.body["errors"][0]["field"], field, "{:#}", reply.body);
    }
    // The body itself: a field the route does not know.
    let body = json!({"candidate": text, "dry_run": true}).to_string();
    let reply = send(&functions, ACTUARY, "POST", "/api/v1/rates/impact", &body).await;
    assert_eq!(reply.status, 422, "{:#}", reply.body);
    // Not an actuary: the scope is refused before the body is read.
    let body = json!({"candidate": text}).to_string();
    let reply = send(
        &functions,
        ("agent-01", "policies:read rates:calculate"),
        "POST",
        "/api/v1/rates/impact",
        &body,
    )
    .await;
    assert_eq!(reply.status, 403, "{:#}", reply.body);
}

#[tokio::test]
async fn a_policy_whose_stored_hash_no_table_has_is_reported_not_guessed() {
    let functions = Functions::new(AuthMode::Jwt).await;
    let owner = unique("owner");
    let client =
        policy_core::storage::client_for(e2e::settings().dynamodb_endpoint.as_deref()).await;
    let today = OffsetDateTime::now_utc().date();
    let mut written = Vec::new();
    for (i, (version, sha)) in [
        ("CA-auto-2026.11.0/common-2026.11.0", "0".repeat(64)),
        ("CA-auto-2019.01.0/common-2019.01.0", "1".repeat(64)),
    ]
    .into_iter()
    .enumerate()
    {
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        let number = format!(
            "POL-2026-{:010}",
            (nanos + i128::try_from(i).unwrap()) % 10_000_000_000
        );
        let policy = policy_core::records::Policy {
            policy_number: number.clone(),
            owner: owner.clone(),
            quote_id: "Q-2026-0000000000".to_owned(),
            state: policy_core::domain::State::CA,
            policy_type: policy_core::domain::PolicyType::Auto,
            status: policy_core::records::PolicyStatus::Active,
            term: policy_core::domain::Term::Annual,
            effective_date: today,
            expiration_date: term_end(today, 12),
            total_premium: policy_core::money::Money::from_dollars(900),
            breakdown: "{}".to_owned(),
            bound_at: OffsetDateTime::now_utc(),
            bound_by: None,
            added_coverages: Vec::new(),
            rated_on: Some(policy_core::records::RatedOn {
                request: r#"{"state":"CA","policy_type":"auto","coverage":{"liability":100000}}"#
                    .to_owned(),
                rate_table_version: version.to_owned(),
                rate_table_sha256: sha,
            }),
            decision: None,
            decisions: Vec::new(),
            version: 1,
            term_number: 1,
            renewal_offer: None,
            cancellation_date: None,
        };
        client
            .put_item()
            .table_name(crate::support::table_names().policies)
            .set_item(Some(policy_core::storage::policy_item(&policy).unwrap()))
            .send()
            .await
            .unwrap();
        written.push(number);
    }
    let mut reasons = Vec::new();
    for number in &written {
        let path = format!("/api/v1/policies/{number}/replay");
        let reply = send(&functions, (&owner, "policies:read"), "POST", &path, "").await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        assert_eq!(reply.body["matches"], false, "{:#}", reply.body);
        assert!(
            reply.body.get("replayed_total").is_none(),
            "{:#}",
            reply.body
        );
        reasons.push(reply.body["reason"].as_str().unwrap().to_owned());
    }
    assert!(reasons[0].contains("not the stored 0000"), "{}", reasons[0]);
    assert!(
        reasons[1].contains("no compiled rate table has version CA-auto-2019.01.0"),
        "{}",
        reasons[1]
    );
}
