use std::collections::HashSet;

use e2e::{assert_problem, complete_auto, get, post_json};
use serde_json::{Value, json};

/// Whether a listed policy matches a filter.
type Matcher = fn(&Value) -> bool;

const LIST_FIELDS: [&str; 7] = [
    "policy_number",
    "state",
    "policy_type",
    "status",
    "effective_date",
    "expiration_date",
    "total_premium",
];

fn items(reply: &e2e::Reply) -> Vec<Value> {
    assert_eq!(reply.status, 200, "{:#}", reply.json);
    reply.json["items"].as_array().unwrap().clone()
}

/// Newest effective date first, ties by policy number descending.
fn assert_newest_first(items: &[Value]) {
    let keys: Vec<(String, String)> = items
        .iter()
        .map(|p| {
            (
                p["effective_date"].as_str().unwrap().to_owned(),
                p["policy_number"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] > w[1]),
        "not newest first: {keys:?}"
    );
}

#[test]
fn the_briefs_list_call_returns_a_full_page_of_list_fields() {
    let reply = get("/api/v1/policies?limit=10");
    let items = items(&reply);
    assert_eq!(items.len(), 10);
    for item in &items {
        let mut fields: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        let mut expected = LIST_FIELDS.to_vec();
        expected.sort_unstable();
        assert_eq!(fields, expected, "only the list fields");
    }
    assert_newest_first(&items);
    assert!(reply.json["next_cursor"].is_string());
}

#[test]
fn each_filter_returns_only_matching_policies_newest_first() {
    let cases: [(&str, Matcher); 7] = [
        ("state=TX", |p| p["state"] == "TX"),
        ("policy_type=home", |p| p["policy_type"] == "home"),
        ("status=cancelled", |p| p["status"] == "cancelled"),
        ("state=NY&policy_type=auto", |p| {
            p["state"] == "NY" && p["policy_type"] == "auto"
        }),
        ("state=FL&status=active", |p| {
            p["state"] == "FL" && p["status"] == "active"
        }),
        ("effective_from=2025-01-01&effective_to=2025-03-31", |p| {
            ("2025-01-01".."2025-04-01").contains(&p["effective_date"].as_str().unwrap())
        }),
        (
            "policy_type=auto&status=expired&effective_to=2025-06-30",
            |p| {
                p["policy_type"] == "auto"
                    && p["status"] == "expired"
                    && p["effective_date"].as_str().unwrap() <= "2025-06-30"
            },
        ),
    ];
    for (filter, matches) in cases {
        let page = items(&get(&format!("/api/v1/policies?{filter}&limit=50")));
        assert_eq!(
            page.len(),
            50,
            "{filter}: the seed has more than a page of these, so the page is full"
        );
        assert!(page.iter().all(matches), "{filter}: {page:#?}");
        assert_newest_first(&page);
    }
}

#[test]
fn paging_through_every_seeded_policy_has_no_duplicate_and_no_gap() {
    // Seeded policies start on or before 2026-10-31; policies bound by other tests start today.
    let seeded: usize = std::env::var("SEED_COUNT")
        .expect("make test sets SEED_COUNT")
        .parse()
        .unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/api/v1/policies?effective_to=2026-10-31&limit=100".to_owned();
        if let Some(cursor) = &cursor {
            path.push_str("&cursor=");
            path.push_str(cursor);
        }
        let reply = get(&path);
        let page = items(&reply);
        let next = reply.json["next_cursor"].as_str().map(str::to_owned);
        if next.is_some() {
            assert_eq!(page.len(), 100, "a page is full unless the data ran out");
        }
        seen.extend(page);
        cursor = next;
        if cursor.is_none() {
            break;
        }
    }
    let numbers: HashSet<&str> = seen
        .iter()
        .map(|p| p["policy_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers.len(), seen.len(), "no duplicates");
    // Other tests may write policies dated in the seeded range (an expired one, say); the seeded
    // ones are numbered POL-YYYY-NNNNNN.
    let seeded_seen = numbers
        .iter()
        .filter(|n| n.len() == "POL-2026-000001".len())
        .count();
    assert_eq!(seeded_seen, seeded, "no gaps");
    assert_newest_first(&seen);
}

/// Binds a new quote in `state` (a complete application, so it is accepted), effective today; its
/// policy number.
fn bind_new_policy(state: &str) -> String {
    let body = complete_auto(
        json!({"policy_type": "auto", "state": state, "coverage_requested": {"liability": 500000}}),
    );
    let quote = post_json("/api/v1/quotes", &body);
    assert_eq!(quote.status, 201, "{:#}", quote.json);
    let quote_id = quote.json["quote_id"].as_str().unwrap();
    let bound = post_json(&format!("/api/v1/quotes/{quote_id}/bind"), &json!({}));
    assert_eq!(bound.status, 201, "{:#}", bound.json);
    bound.json["policy_number"].as_str().unwrap().to_owned()
}

/// Every policy on every page of `query`, `limit` at a time, in page order.
fn page_through(query: &str, limit: usize) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/policies?{query}&limit={limit}");
        if let Some(cursor) = &cursor {
            path.push_str("&cursor=");
            path.push_str(cursor);
        }
        let reply = get(&path);
        seen.extend(items(&reply));
        match reply.json["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
}

fn numbers(policies: &[Value]) -> Vec<String> {
    policies
        .iter()
        .map(|p| p["policy_number"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn paging_while_policies_are_bound_skips_and_repeats_nothing() {
    // Policies bound today sort among each other by number, so new ones land on every page,
    // before and after the cursor, while pages are also served from the cache.
    let today = time::OffsetDateTime::now_utc().date();
    let query = format!("state=PA&effective_from={today}");
    for _ in 0..8 {
        bind_new_policy("PA");
    }
    let before = numbers(&page_through(&query, 100));
    let (passes, bound_meanwhile) = std::thread::scope(|s| {
        let writer = s.spawn(|| (0..12).map(|_| bind_new_policy("PA")).collect::<Vec<_>>());
        let mut passes = Vec::new();
        while !writer.is_finished() {
            passes.push(page_through(&query, 3));
        }
        // One more pass once the writes are done, so there is always at least one.
        passes.push(page_through(&query, 3));
        (passes, writer.join().unwrap())
    });
    // Every pass, not only the last, lists each policy at most once, skips none that existed
    // before it began, and lists newest first.
    for (i, pass) in passes.iter().enumerate() {
        assert_newest_first(pass);
        let listed = numbers(pass);
        let unique: HashSet<&String> = listed.iter().collect();
        assert_eq!(
            unique.len(),
            listed.len(),
            "pass {i}: no policy listed twice: {listed:?}"
        );
        for number in &before {
            assert!(
                unique.contains(number),
                "pass {i}: {number} was skipped: {listed:?}"
            );
        }
    }
    let paged: Vec<String> = passes.iter().flat_map(|pass| numbers(pass)).collect();
    // Another environment's in-process cache may hold a page for its time to live.
    std::thread::sleep(e2e::settings().cache.l1_ttl + std::time::Duration::from_secs(1));
    let after: HashSet<String> = numbers(&page_through(&query, 100)).into_iter().collect();
    for number in before.iter().chain(&bound_meanwhile) {
        assert!(
            after.contains(number),
            "{number} lists once the writes are done"
        );
    }
    assert!(
        paged.iter().all(|n| after.contains(n)),
        "everything listed exists"
    );
}

#[test]
fn bad_list_parameters_are_422_naming_the_parameter() {
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("limit=-1", "limit"),
        ("state=ZZ", "state"),
        ("policy_type=boat", "policy_type"),
        ("status=open", "status"),
        ("effective_from=2026-13-01", "effective_from"),
        ("effective_to=yesterday", "effective_to"),
        ("cursor=not-a-cursor", "cursor"),
        ("colour=red", "colour"),
        ("state=CA&state=TX", "state"),
    ] {
        assert_problem(&get(&format!("/api/v1/policies?{query}")), 422, field);
    }
}

#[test]
fn a_cursor_only_works_for_the_filter_it_came_from() {
    let first = get("/api/v1/policies?state=CA&limit=5");
    let cursor = first.json["next_cursor"].as_str().unwrap();
    assert_eq!(
        get(&format!(
            "/api/v1/policies?state=CA&limit=5&cursor={cursor}"
        ))
        .status,
        200
    );
    assert_problem(
        &get(&format!(
            "/api/v1/policies?state=TX&limit=5&cursor={cursor}"
        )),
        422,
        "cursor",
    );
    let (payload, signature) = cursor.split_once('.').unwrap();
    let tampered = format!("{}x.{signature}", &payload[..payload.len() - 1]);
    assert_problem(
        &get(&format!("/api/v1/policies?state=CA&cursor={tampered}")),
        422,
        "cursor",
    );
}

#[test]
fn a_policy_reads_in_full_and_an_unknown_one_is_404() {
    let listed = items(&get("/api/v1/policies?state=MI&limit=1"));
    let number = listed[0]["policy_number"].as_str().unwrap();
    let policy = get(&format!("/api/v1/policies/{number}"));
    assert_eq!(policy.status, 200, "{:#}", policy.json);
    assert_eq!(policy.json["state"], "MI");
    assert_eq!(policy.json["total_premium"], listed[0]["total_premium"]);
    assert_eq!(
        policy.json["premium"]["total_premium"],
        listed[0]["total_premium"]
    );
    for path in [
        "/api/v1/policies/POL-2026-0000000000",
        "/api/v1/policies/POL-..%2Fetc",
        "/api/v1/policies/x",
    ] {
        let reply = get(path);
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.content_type, "application/problem+json");
    }
}
