//! Authorization with `AUTH_MODE=jwt`: the functions' routers, in process, over the local stack's
//! DynamoDB, given requests shaped as API Gateway passes them after its JWT authorizer.

use e2e::{gateway_request, unique};
use lambda_http::Request;
use policy_core::api::auth::AuthMode;
use serde_json::Value;

use crate::support::{ALL_SCOPES, Functions, QUOTE};

/// Who sends a request: a subject with its scopes.
#[derive(Clone, Copy)]
enum As<'a> {
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
        As::Caller(sub, scope) => Some((sub, scope)),
    };
    gateway_request(caller, method, path_and_query, body, key)
}

struct Reply {
    status: u16,
    body: Value,
}

struct Suite {
    functions: Functions,
}

impl Suite {
    async fn new() -> Suite {
        Suite {
            functions: Functions::new(AuthMode::Jwt).await,
        }
    }

    async fn send(
        &self,
        who: As<'_>,
        method: &str,
        path: &str,
        body: &str,
        key: Option<&str>,
    ) -> Reply {
        let reply = self
            .functions
            .send(request(who, method, path, body, key))
            .await;
        Reply {
            status: reply.status,
            body: reply.body,
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
async fn only_a_policys_owner_changes_it_or_reads_its_ledger() {
    // Given alice's policy
    let suite = Suite::new().await;
    let (alice, mallory) = (unique("alice"), unique("mallory"));
    let quote_id = suite.create(&alice).await;
    let owner = As::Caller(&alice, ALL_SCOPES);
    let bound = suite
        .send(
            owner,
            "POST",
            &format!("/api/v1/quotes/{quote_id}/bind"),
            "",
            None,
        )
        .await;
    assert_eq!(bound.status, 201, "{:#}", bound.body);
    let number = bound.body["policy_number"].as_str().unwrap().to_owned();
    let date = bound.body["effective_date"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/policies/{number}");
    let endorsement =
        format!(r#"{{"effective_date":"{date}","changes":{{"coverage":{{"collision":60000}}}}}}"#);
    let cancellation = format!(r#"{{"effective_date":"{date}","reason":"non_payment"}}"#);
    let attempts = [
        ("POST", format!("{base}/endorsements"), endorsement.clone()),
        ("POST", format!("{base}/cancellation"), cancellation),
        ("POST", format!("{base}/reinstatement"), String::new()),
        ("POST", format!("{base}/renewal"), String::new()),
        ("GET", format!("{base}/transactions"), String::new()),
        ("GET", format!("{base}?as_of={date}"), String::new()),
    ];

    // When another caller tries each transaction and read, then every one is a 404
    let other = As::Caller(&mallory, ALL_SCOPES);
    for (method, path, body) in &attempts {
        let reply = suite.send(other, method, path, body, None).await;
        assert_eq!(reply.status, 404, "{method} {path}: {:#}", reply.body);
    }
    // And a caller that may only read policies is refused the changes
    let reader = As::Caller(&alice, "policies:read");
    let reply = suite
        .send(
            reader,
            "POST",
            &format!("{base}/endorsements"),
            &endorsement,
            None,
        )
        .await;
    assert_eq!(reply.status, 403, "{:#}", reply.body);

    // And nothing was written: the ledger holds new business only, and the owner endorses
    let ledger = suite
        .send(owner, "GET", &format!("{base}/transactions"), "", None)
        .await;
    assert_eq!(
        ledger.body["items"].as_array().map(Vec::len),
        Some(1),
        "{:#}",
        ledger.body
    );
    let reply = suite
        .send(
            owner,
            "POST",
            &format!("{base}/endorsements"),
            &endorsement,
            None,
        )
        .await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.body["transaction"]["actor"], alice.as_str());
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
    let other_body = QUOTE.replace("500000", "300000");
    let alice = As::Caller("agent-01", ALL_SCOPES);
    let bob = As::Caller("agent-02", ALL_SCOPES);
    let first = suite
        .send(alice, "POST", "/api/v1/quotes", QUOTE, Some(&key))
        .await;
    // The same key from another caller with another body is that caller's own first use.
    let other = suite
        .send(bob, "POST", "/api/v1/quotes", &other_body, Some(&key))
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
