//! Authorization with `AUTH_MODE=jwt`: the handlers, in process, over the local stack's DynamoDB,
//! given requests shaped as API Gateway passes them after its JWT authorizer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use e2e::{gateway_request, unique};
use lambda_http::Request;
use policy_core::api::cursor::CursorKey;
use policy_core::api::policies::{self, Policies};
use policy_core::api::{bind, calculate_rate, quotes};
use policy_core::auth::AuthMode;
use policy_core::quoting::Quoting;
use policy_core::rating::RateTables;
use serde_json::Value;

const QUOTE: &str =
    r#"{"policy_type":"auto","state":"CA","coverage_requested":{"liability":500000}}"#;
const ALL_SCOPES: &str = "rates:calculate quotes:read quotes:write policies:read";

/// Who sends a request: nobody (no authorizer context), or a subject with scopes.
#[derive(Clone, Copy)]
enum As<'a> {
    Nobody,
    Caller(&'a str, &'a str),
}

fn request(
    who: As<'_>,
    method: &str,
    path_and_query: &str,
    body: &str,
    key: Option<&str>,
) -> Request {
    let caller = match who {
        As::Nobody => None,
        As::Caller(sub, scope) => Some((sub, scope)),
    };
    gateway_request(caller, method, path_and_query, body, key)
}

struct Reply {
    status: u16,
    authenticate: Option<String>,
    body: Value,
}

struct Suite {
    quoting: Quoting,
    policies: Policies,
}

impl Suite {
    async fn new() -> Suite {
        let quoting = Quoting::from_env()
            .await
            .expect("run with `make test`: the stack's environment names the tables");
        let policies = Policies {
            quoting: quoting.clone(),
            cursors: CursorKey::from_env().unwrap(),
            auth: AuthMode::Jwt,
        };
        Suite { quoting, policies }
    }

    async fn send(
        &self,
        who: As<'_>,
        method: &str,
        path: &str,
        body: &str,
        key: Option<&str>,
    ) -> Reply {
        let request = request(who, method, path, body, key);
        let response = if path.starts_with("/api/v1/rates") {
            calculate_rate::handle(RateTables::builtin().unwrap(), AuthMode::Jwt, request).await
        } else if path.ends_with("/bind") {
            Box::pin(bind::handle(&self.quoting, AuthMode::Jwt, request)).await
        } else if path.starts_with("/api/v1/quotes") {
            Box::pin(quotes::handle(&self.quoting, AuthMode::Jwt, request)).await
        } else {
            Box::pin(policies::handle(&self.policies, request)).await
        }
        .unwrap();
        Reply {
            status: response.status().as_u16(),
            authenticate: response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned()),
            body: serde_json::from_slice(response.body()).unwrap(),
        }
    }

    async fn create(&self, sub: &str) -> String {
        let reply = self
            .send(
                As::Caller(sub, ALL_SCOPES),
                "POST",
                "/api/v1/quotes",
                QUOTE,
                None,
            )
            .await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
        assert_eq!(reply.body["owner"], sub);
        reply.body["quote_id"].as_str().unwrap().to_owned()
    }

    /// Every policy number on every page of `sub`'s list for `query`.
    async fn list_all(&self, sub: &str, scope: &str, query: &str) -> Vec<String> {
        let mut numbers = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/policies?{query}&cursor={c}"),
                None => format!("/api/v1/policies?{query}"),
            };
            let reply = self
                .send(As::Caller(sub, scope), "GET", &path, "", None)
                .await;
            assert_eq!(reply.status, 200, "{:#}", reply.body);
            for item in reply.body["items"].as_array().unwrap() {
                numbers.push(item["policy_number"].as_str().unwrap().to_owned());
            }
            match reply.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return numbers,
            }
        }
    }
}

const ROUTES: [(&str, &str, &str, &str); 6] = [
    ("POST", "/api/v1/rates/calculate", QUOTE, "rates:calculate"),
    ("POST", "/api/v1/quotes", QUOTE, "quotes:write"),
    ("GET", "/api/v1/quotes/Q-2026-0000000000", "", "quotes:read"),
    (
        "POST",
        "/api/v1/quotes/Q-2026-0000000000/bind",
        "",
        "quotes:write",
    ),
    ("GET", "/api/v1/policies?limit=5", "", "policies:read"),
    (
        "GET",
        "/api/v1/policies/POL-2026-000001",
        "",
        "policies:read",
    ),
];

#[tokio::test]
async fn every_route_answers_401_without_verified_claims() {
    let suite = Suite::new().await;
    for (method, path, body, _) in ROUTES {
        let reply = suite.send(As::Nobody, method, path, body, None).await;
        assert_eq!(reply.status, 401, "{method} {path}: {:#}", reply.body);
        assert_eq!(reply.authenticate.as_deref(), Some("Bearer"));
        assert_eq!(
            reply.body["type"],
            "urn:policy-decision:problem:unauthorized"
        );
        assert_eq!(reply.body["errors"][0]["field"], "Authorization");
        // A subject is required too: a token for nobody is no token.
        let reply = suite
            .send(As::Caller("", ALL_SCOPES), method, path, body, None)
            .await;
        assert_eq!(reply.status, 401, "{method} {path}: {:#}", reply.body);
    }
}

#[tokio::test]
async fn every_route_answers_403_naming_the_scope_it_needs() {
    let suite = Suite::new().await;
    for (method, path, body, needed) in ROUTES {
        // Every scope but the one the route needs.
        let others: Vec<&str> = ALL_SCOPES.split(' ').filter(|s| *s != needed).collect();
        let reply = suite
            .send(
                As::Caller("agent-01", &others.join(" ")),
                method,
                path,
                body,
                None,
            )
            .await;
        assert_eq!(reply.status, 403, "{method} {path}: {:#}", reply.body);
        assert_eq!(reply.body["type"], "urn:policy-decision:problem:forbidden");
        assert!(reply.body["detail"].as_str().unwrap().contains(needed));
        assert_eq!(
            reply.authenticate.unwrap(),
            format!(r#"Bearer error="insufficient_scope", scope="{needed}""#)
        );
        // With it, the route is reached: whatever it answers, it is not 401 or 403.
        let reply = suite
            .send(As::Caller("agent-01", needed), method, path, body, None)
            .await;
        assert!(
            ![401, 403].contains(&reply.status),
            "{method} {path}: {:#}",
            reply.body
        );
    }
}

#[tokio::test]
async fn a_caller_reads_and_binds_only_its_own_quotes_and_policies() {
    let suite = Suite::new().await;
    let (alice, mallory) = (unique("alice"), unique("mallory"));
    let quote_id = suite.create(&alice).await;
    let quote_path = format!("/api/v1/quotes/{quote_id}");
    let bind_path = format!("{quote_path}/bind");

    // Another caller finds no such quote, and cannot bind it.
    let other = As::Caller(&mallory, ALL_SCOPES);
    let reply = suite.send(other, "GET", &quote_path, "", None).await;
    assert_eq!(reply.status, 404, "{:#}", reply.body);
    let reply = suite.send(other, "POST", &bind_path, "", None).await;
    assert_eq!(reply.status, 404, "{:#}", reply.body);
    let id = quote_id.clone();
    let written = tokio::task::spawn_blocking(move || e2e::policies_from_quote(&id));
    assert_eq!(written.await.unwrap(), 0, "nothing was written");

    // Its owner binds it; the policy is the owner's.
    let owner = As::Caller(&alice, ALL_SCOPES);
    let reply = suite.send(owner, "GET", &quote_path, "", None).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let reply = suite.send(owner, "POST", &bind_path, "", None).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.body["owner"], alice.as_str());
    let number = reply.body["policy_number"].as_str().unwrap().to_owned();
    let policy_path = format!("/api/v1/policies/{number}");

    // Read twice each: the second read comes from the cache, which must not leak either.
    for _ in 0..2 {
        let reply = suite.send(owner, "GET", &policy_path, "", None).await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        let reply = suite.send(other, "GET", &policy_path, "", None).await;
        assert_eq!(reply.status, 404, "{:#}", reply.body);
        let admin = As::Caller("ops", "policies:admin");
        let reply = suite.send(admin, "GET", &policy_path, "", None).await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        assert_eq!(reply.body["owner"], alice.as_str());
    }

    // Lists: the owner sees its policy, with and without filters; the other caller sees nothing.
    assert_eq!(
        suite.list_all(&alice, "policies:read", "limit=10").await,
        vec![number.clone()]
    );
    assert_eq!(
        suite
            .list_all(
                &alice,
                "policies:read",
                "state=CA&policy_type=auto&status=active"
            )
            .await,
        vec![number.clone()]
    );
    assert!(
        suite
            .list_all(&alice, "policies:read", "state=TX")
            .await
            .is_empty()
    );
    assert!(
        suite
            .list_all(&mallory, "policies:read", "limit=10")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_seeded_agent_pages_through_its_own_policies_only() {
    let suite = Suite::new().await;
    let mine = suite
        .list_all("agent-03", "policies:read", "limit=25")
        .await;
    assert!(
        mine.len() > 25,
        "the seed gives agent-03 several pages: {}",
        mine.len()
    );
    let admin = As::Caller("ops", "policies:admin");
    for number in mine.iter().take(5) {
        let reply = suite
            .send(
                admin,
                "GET",
                &format!("/api/v1/policies/{number}"),
                "",
                None,
            )
            .await;
        assert_eq!(reply.body["owner"], "agent-03", "{:#}", reply.body);
    }
    let mut unique_numbers = mine.clone();
    unique_numbers.sort();
    unique_numbers.dedup();
    assert_eq!(unique_numbers.len(), mine.len(), "no policy on two pages");
}

#[tokio::test]
async fn a_cursor_is_good_only_for_the_caller_it_was_given_to() {
    let suite = Suite::new().await;
    let reply = suite
        .send(
            As::Caller("agent-04", "policies:read"),
            "GET",
            "/api/v1/policies?limit=2",
            "",
            None,
        )
        .await;
    let cursor = reply.body["next_cursor"].as_str().unwrap().to_owned();
    let replayed = format!("/api/v1/policies?limit=2&cursor={cursor}");
    let reply = suite
        .send(
            As::Caller("agent-05", "policies:read"),
            "GET",
            &replayed,
            "",
            None,
        )
        .await;
    assert_eq!(reply.status, 422, "{:#}", reply.body);
    assert_eq!(reply.body["errors"][0]["field"], "cursor");
    let reply = suite
        .send(
            As::Caller("agent-04", "policies:read"),
            "GET",
            &replayed,
            "",
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
}

#[tokio::test]
async fn idempotency_keys_belong_to_their_caller() {
    let suite = Suite::new().await;
    let key = unique("shared-key");
    let tx = QUOTE.replace("CA", "TX");
    let alice = As::Caller("agent-01", ALL_SCOPES);
    let bob = As::Caller("agent-02", ALL_SCOPES);
    let first = suite
        .send(alice, "POST", "/api/v1/quotes", QUOTE, Some(&key))
        .await;
    // The same key from another caller with another body is that caller's own first use.
    let other = suite
        .send(bob, "POST", "/api/v1/quotes", &tx, Some(&key))
        .await;
    assert_eq!((first.status, other.status), (201, 201), "{:#}", other.body);
    assert_ne!(first.body["quote_id"], other.body["quote_id"]);
    assert_eq!(other.body["owner"], "agent-02");
    // And each caller's retry replays its own quote.
    let again = suite
        .send(alice, "POST", "/api/v1/quotes", QUOTE, Some(&key))
        .await;
    assert_eq!(again.body["quote_id"], first.body["quote_id"]);
}
