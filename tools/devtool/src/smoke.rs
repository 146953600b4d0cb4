//! A bounded, read-mostly black-box check of a running deployment: one line per check, and a
//! failure if any check fails. It writes three quotes (one of them referred, then accepted by the
//! underwriter's decision check; one replayed) and nothing else.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One check: a detail line on success, the reason on failure.
type Check = fn(&Client) -> Result<String, String>;

struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

struct Answer {
    status: u16,
    content_type: String,
    location: Option<String>,
    json: Value,
}

impl Client {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Answer, String> {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let bytes = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                serde_json::to_vec(body).map_err(|e| e.to_string())?
            }
            None => Vec::new(),
        };
        let request = request.body(bytes).map_err(|e| e.to_string())?;
        let mut response = self
            .agent
            .run(request)
            .map_err(|e| format!("no answer: {e}"))?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let location = header("location");
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        Ok(Answer {
            status: response.status().as_u16(),
            content_type,
            location,
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
        })
    }
}

fn expect(answer: &Answer, status: u16) -> Result<(), String> {
    if answer.status == status {
        Ok(())
    } else {
        Err(format!(
            "expected {status}, got {}: {}",
            answer.status, answer.json
        ))
    }
}

fn health(c: &Client) -> Result<String, String> {
    let answer = c.call("GET", "/api/v1/health?deep=true", None)?;
    expect(&answer, 200)?;
    match answer.json["status"].as_str() {
        Some(status @ ("ok" | "degraded")) => Ok(format!(
            "{status}, tables {}",
            answer.json["rate_table_version"]
        )),
        other => Err(format!("status {other:?}")),
    }
}

fn rate(c: &Client) -> Result<String, String> {
    let body = json!({"state": "CA", "policy_type": "auto", "coverage": {"liability": 500_000}});
    let answer = c.call("POST", "/api/v1/rates/calculate", Some(&body))?;
    expect(&answer, 200)?;
    answer.json["total_premium"]
        .as_str()
        .map(|p| format!("total {p}"))
        .ok_or_else(|| "no total_premium".to_owned())
}

fn quote(c: &Client) -> Result<String, String> {
    // The brief's body as a complete application, so a healthy deployment accepts it.
    let body = json!({"policy_type": "auto", "state": "CA", "coverage_requested": {"liability": 500_000, "collision": 50_000},
                      "drivers": [{"age": 40, "years_licensed": 22}], "vehicle": {"year": 2022, "value": 30_000},
                      "zip_code": "95814"});
    let created = c.call("POST", "/api/v1/quotes", Some(&body))?;
    expect(&created, 201)?;
    // Every rule underwriting knows is listed with its result.
    let rules = created.json["decision"]["rules"]
        .as_array()
        .map_or(0, Vec::len);
    if rules == 0 {
        return Err(format!(
            "a decision without its rules: {}",
            created.json["decision"]
        ));
    }
    let location = created.location.ok_or("no Location header")?;
    let read = c.call("GET", &location, None)?;
    expect(&read, 200)?;
    if read.json["quote_id"] != created.json["quote_id"] {
        return Err("the quote read back is not the one created".to_owned());
    }
    Ok(format!(
        "{} {}, {rules} rules",
        created.json["quote_id"], created.json["decision"]["outcome"]
    ))
}

fn amount(value: &Value) -> Result<policy_core::money::Money, String> {
    value
        .as_str()
        .and_then(policy_core::money::Money::parse)
        .ok_or_else(|| format!("{value} is not an amount"))
}

fn policy_life(c: &Client) -> Result<String, String> {
    // A policy bound, endorsed, and cancelled within the free look (flat: everything back).
    let body = json!({"policy_type": "auto", "state": "CA", "coverage": {"liability": 500_000, "collision": 50_000},
                      "drivers": [{"age": 40, "years_licensed": 22}], "vehicle": {"year": 2022, "value": 30_000},
                      "zip_code": "95814"});
    let created = c.call("POST", "/api/v1/quotes", Some(&body))?;
    expect(&created, 201)?;
    let id = created.json["quote_id"].as_str().ok_or("no quote_id")?;
    let bound = c.call("POST", &format!("/api/v1/quotes/{id}/bind"), None)?;
    expect(&bound, 201)?;
    let number = bound.json["policy_number"]
        .as_str()
        .ok_or("no policy_number")?;
    let start = bound.json["effective_date"]
        .as_str()
        .ok_or("no effective_date")?;
    let endorsed = c.call(
        "POST",
        &format!("/api/v1/policies/{number}/endorsements"),
        Some(&json!({"effective_date": start, "changes": {"coverage": {"collision": 100_000}}})),
    )?;
    expect(&endorsed, 201)?;
    let cancelled = c.call(
        "POST",
        &format!("/api/v1/policies/{number}/cancellation"),
        Some(&json!({"effective_date": start, "reason": "insured_request"})),
    )?;
    expect(&cancelled, 201)?;
    let ledger = c.call(
        "GET",
        &format!("/api/v1/policies/{number}/transactions"),
        None,
    )?;
    expect(&ledger, 200)?;
    let items = ledger.json["items"].as_array().map_or(0, Vec::len);
    let written = amount(&ledger.json["premium"]["written"])?;
    if items != 3 || written != policy_core::money::Money::ZERO {
        return Err(format!(
            "expected 3 entries and nothing written after a flat cancellation: {}",
            ledger.json
        ));
    }
    Ok(format!(
        "{number}: endorsed {}, refunded {}",
        endorsed.json["transaction"]["written"],
        cancelled.json["transaction"]["cancellation"]["refund"]
    ))
}

fn referral(c: &Client) -> Result<String, String> {
    // A complete application with one DUI is referred; an underwriter accepts it from the queue.
    let body = json!({"policy_type": "auto", "state": "TX", "coverage": {"liability": 300_000},
                      "drivers": [{"age": 40, "years_licensed": 20, "dui": 1}],
                      "vehicle": {"year": 2022}, "zip_code": "78701"});
    let created = c.call("POST", "/api/v1/quotes", Some(&body))?;
    expect(&created, 201)?;
    if created.json["decision"]["outcome"] != "referred" {
        return Err(format!("not referred: {}", created.json["decision"]));
    }
    let queue = c.call("GET", "/api/v1/quotes?status=referred&limit=5", None)?;
    expect(&queue, 200)?;
    if !queue.json["items"].is_array() {
        return Err(format!("a queue without items: {}", queue.json));
    }
    let id = created.json["quote_id"].as_str().ok_or("no quote id")?;
    let decision = json!({"outcome": "accepted", "note": "smoke check"});
    let decided = c.call(
        "POST",
        &format!("/api/v1/quotes/{id}/decision"),
        Some(&decision),
    )?;
    expect(&decided, 200)?;
    let trail = decided.json["decisions"].as_array().map_or(0, Vec::len);
    if decided.json["decision"]["outcome"] != "accepted" || trail != 2 {
        return Err(format!("not decided as asked: {}", decided.json));
    }
    Ok(format!("\"{id}\" referred, accepted, {trail} decisions"))
}

fn rate_versions(c: &Client) -> Result<String, String> {
    let listing = c.call(
        "GET",
        "/api/v1/rates/tables?state=CA&policy_type=auto",
        None,
    )?;
    expect(&listing, 200)?;
    let market = &listing.json["tables"][0];
    let in_force = market["in_force_today"]["new_business"]
        .as_str()
        .ok_or_else(|| format!("no CA auto table in force: {}", listing.json))?
        .to_owned();
    let versions = market["versions"].as_array().map_or(0, Vec::len);
    let body = json!({"policy_type": "auto", "state": "CA", "coverage": {"liability": 300_000},
                      "drivers": [{"age": 35, "years_licensed": 15}], "vehicle": {"year": 2021},
                      "zip_code": "94105"});
    let created = c.call("POST", "/api/v1/quotes", Some(&body))?;
    expect(&created, 201)?;
    let id = created.json["quote_id"].as_str().ok_or("no quote id")?;
    let replay = c.call("POST", &format!("/api/v1/quotes/{id}/replay"), None)?;
    expect(&replay, 200)?;
    if replay.json["matches"] != true {
        return Err(format!("the replay does not match: {}", replay.json));
    }
    Ok(format!(
        "{versions} CA auto versions, {in_force} in force; \"{id}\" replays to {}",
        replay.json["replayed_total"]
    ))
}

fn list(c: &Client) -> Result<String, String> {
    let answer = c.call("GET", "/api/v1/policies?state=CA&limit=5", None)?;
    expect(&answer, 200)?;
    let items = answer.json["items"].as_array().ok_or("no items")?;
    if items.iter().all(|p| p["state"] == "CA") {
        Ok(format!("{} policies", items.len()))
    } else {
        Err("a policy outside the filter".to_owned())
    }
}

fn bad_input(c: &Client) -> Result<String, String> {
    let body = json!({"state": "CA", "policy_type": "auto", "coverage": {"liability": -1}});
    let answer = c.call("POST", "/api/v1/rates/calculate", Some(&body))?;
    expect(&answer, 422)?;
    if answer.content_type != "application/problem+json" {
        return Err(format!("content type {}", answer.content_type));
    }
    answer.json["errors"][0]["field"]
        .as_str()
        .map(|f| format!("names {f}"))
        .ok_or_else(|| "no field named".to_owned())
}

/// Runs every check against `base`; true when all pass.
pub fn run(base: &str, token: Option<&str>) -> bool {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let client = Client {
        base: base.to_owned(),
        token: token.map(str::to_owned),
        agent,
    };
    let checks: [(&str, Check); 8] = [
        ("health", health),
        ("rate a request", rate),
        ("create and read a quote", quote),
        ("refer and decide a quote", referral),
        ("bind, endorse, cancel", policy_life),
        ("rate versions and replay", rate_versions),
        ("list policies by state", list),
        ("bad input is a problem", bad_input),
    ];
    let mut failed = 0;
    for (name, check) in checks {
        let started = Instant::now();
        let outcome = check(&client);
        let ms = started.elapsed().as_millis();
        match outcome {
            Ok(detail) => println!("ok    {name:<26} {ms:>5} ms  {detail}"),
            Err(why) => {
                failed += 1;
                println!("FAIL  {name:<26} {ms:>5} ms  {why}");
            }
        }
    }
    if failed == 0 {
        println!("smoke: all {} checks passed against {base}", checks.len());
    } else {
        println!(
            "smoke: {failed} of {} checks FAILED against {base}",
            checks.len()
        );
    }
    failed == 0
}
