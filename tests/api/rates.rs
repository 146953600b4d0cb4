//! Rate versions over HTTP: the tables listing names the exact files compiled in, and the replay
//! and impact routes answer through `cargo lambda watch` as the deployed API does.

use std::fmt::Write as _;
use std::path::PathBuf;

use e2e::{get, post_json, post_raw};
use serde_json::json;
use sha2::{Digest, Sha256};

fn rates_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/policy-core/rates"
    ))
}

/// SHA-256 of the state table's file then the common table's, computed here from the files on
/// disk: what `rate_table_sha256` must be.
fn sha256_of(state_file: &str, common_file: &str) -> String {
    let mut hasher = Sha256::new();
    for file in [state_file, common_file] {
        hasher.update(std::fs::read(rates_dir().join(file)).unwrap());
    }
    hasher.finalize().iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

#[test]
fn the_tables_listing_names_every_version_by_its_dates_and_the_hash_of_its_files() {
    let reply = get("/api/v1/rates/tables?state=CA&policy_type=auto");
    assert_eq!(reply.status, 200, "{:#}", reply.json);
    let listing = &reply.json;
    let today = listing["as_of"].as_str().unwrap();
    let market = &listing["tables"][0];
    assert_eq!(listing["tables"].as_array().unwrap().len(), 1);
    assert_eq!(
        (market["state"].as_str(), market["policy_type"].as_str()),
        (Some("CA"), Some("auto"))
    );
    let versions = market["versions"].as_array().unwrap();
    let labels: Vec<&str> = versions
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["2026.11.0", "2027.03.0"]);
    for version in versions {
        let label = version["version"].as_str().unwrap();
        let identity = &version["identities"][0];
        assert_eq!(identity["common"], "2026.11.0");
        assert_eq!(
            identity["rate_table_version"],
            format!("CA-auto-{label}/common-2026.11.0")
        );
        assert_eq!(
            identity["rate_table_sha256"],
            sha256_of(&format!("ca/auto/{label}.toml"), "common/2026.11.0.toml")
        );
    }
    // In force today: the latest version whose new-business date has come.
    let in_force = versions
        .iter()
        .rfind(|v| v["effective"]["new_business"].as_str().unwrap() <= today)
        .unwrap();
    assert_eq!(in_force["in_force_today"]["new_business"], true);
    assert_eq!(
        market["in_force_today"]["new_business"],
        in_force["identities"][0]["rate_table_version"]
    );
    assert_eq!(
        versions
            .iter()
            .filter(|v| v["in_force_today"]["new_business"] == true)
            .count(),
        1
    );
    // Every market is listed without a filter; a bad filter is a 422 naming it.
    let all = get("/api/v1/rates/tables");
    assert_eq!(all.json["tables"].as_array().unwrap().len(), 21);
    let bad = get("/api/v1/rates/tables?state=ZZ");
    assert_eq!(bad.status, 422, "{:#}", bad.json);
    assert_eq!(bad.json["errors"][0]["field"], "state");
}

#[test]
fn a_rating_names_the_version_in_force_on_its_first_day_of_cover() {
    let listing = get("/api/v1/rates/tables?state=TX&policy_type=auto").json;
    let second = &listing["tables"][0]["versions"][1];
    let from = second["effective"]["new_business"].as_str().unwrap();
    let from = time::Date::parse(
        from,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    let body = |date: time::Date| {
        json!({"state": "TX", "policy_type": "auto", "coverage": {"liability": 300000},
               "effective_date": date.to_string()})
    };
    let before = post_json(
        "/api/v1/rates/calculate",
        &body(from - time::Duration::days(1)),
    );
    let on = post_json("/api/v1/rates/calculate", &body(from));
    assert_eq!(
        (before.status, on.status),
        (200, 200),
        "{:#} {:#}",
        before.json,
        on.json
    );
    assert_eq!(
        before.json["rate_table_version"],
        "TX-auto-2026.11.0/common-2026.11.0"
    );
    assert_eq!(
        on.json["rate_table_version"],
        "TX-auto-2027.01.0/common-2026.11.0"
    );
    assert_eq!(
        on.json["rate_table_sha256"],
        sha256_of("tx/auto/2027.01.0.toml", "common/2026.11.0.toml")
    );
}

#[test]
fn a_quote_replays_to_its_stored_total_over_http() {
    let body = json!({"state": "FL", "policy_type": "home", "coverage": {"dwelling": 350000},
                      "property": {"dwelling_value": 350000, "year_built": 2001}, "zip_code": "33602"});
    let made = post_json("/api/v1/quotes", &body);
    assert_eq!(made.status, 201, "{:#}", made.json);
    let id = made.json["quote_id"].as_str().unwrap();
    let replay = post_raw(&format!("/api/v1/quotes/{id}/replay"), "");
    assert_eq!(replay.status, 200, "{:#}", replay.json);
    assert_eq!(replay.json["matches"], true);
    assert_eq!(replay.json["stored_total"], made.json["total_premium"]);
    assert_eq!(replay.json["replayed_total"], made.json["total_premium"]);
    assert_eq!(replay.json["difference"], "0.00");
    let unknown = post_raw("/api/v1/quotes/Q-2026-0000000000/replay", "");
    assert_eq!(unknown.status, 404, "{:#}", unknown.json);
    let unknown = post_raw("/api/v1/policies/POL-2026-0000000000/replay", "");
    assert_eq!(unknown.status, 404, "{:#}", unknown.json);
}

#[test]
fn the_rate_impact_answers_over_http_and_refuses_a_broken_candidate() {
    let text = std::fs::read_to_string(rates_dir().join("ny/auto/2026.11.0.toml")).unwrap();
    let reply = post_json("/api/v1/rates/impact", &json!({ "candidate": text }));
    assert_eq!(reply.status, 200, "{:#}", reply.json);
    assert_eq!(reply.json["total"]["change"], "0.00", "{:#}", reply.json);
    assert!(
        reply.json["policies"].as_u64().unwrap() > 0,
        "{:#}",
        reply.json
    );
    let broken = text.replace(
        "[coverages.liability]",
        "[coverages.liability]\nsurprise = 1",
    );
    let refused = post_json("/api/v1/rates/impact", &json!({ "candidate": broken }));
    assert_eq!(refused.status, 422, "{:#}", refused.json);
    assert_eq!(
        refused.json["errors"][0]["field"],
        "candidate.coverages.liability.surprise"
    );
}
