//! The one way in, for every route of every function's table: an unknown path is 404, an unknown
//! method 405 with `Allow` from the table, a missing token 401, a missing scope 403 naming it, in
//! that order, before any body is read; and with its scope a route is reached.

use std::collections::BTreeSet;

use e2e::gateway_request;
use policy_core::api::auth::AuthMode;
use policy_core::api::{RouteInfo, all_routes};

use crate::support::{Functions, Reply};

/// A path that `pattern` matches, with a well-formed value for each parameter.
fn sample_path(pattern: &str) -> String {
    pattern
        .replace("{quote_id}", "Q-2026-0000000000")
        .replace("{policy_number}", "POL-2026-000001")
}

/// The methods the tables allow on `route`'s path.
fn allowed(route: &RouteInfo, routes: &[RouteInfo]) -> BTreeSet<String> {
    routes
        .iter()
        .filter(|other| other.pattern == route.pattern)
        .map(|other| other.method.to_string())
        .collect()
}

async fn send(
    functions: &Functions,
    caller: Option<(&str, &str)>,
    method: &str,
    path: &str,
    body: &str,
) -> Reply {
    functions
        .send(gateway_request(caller, method, path, body, None))
        .await
}

#[tokio::test]
async fn every_route_checks_path_then_method_then_token_then_scope() {
    let functions = Functions::new(AuthMode::Jwt).await;
    let routes = all_routes();
    assert!(routes.len() >= 7, "{routes:?}");
    for route in &routes {
        let path = sample_path(route.pattern);
        let label = route.label;
        // A method the path does not have: 405 with the table's methods, before any token check.
        let allow = allowed(route, &routes);
        let unknown = ["DELETE", "PATCH", "PUT"]
            .into_iter()
            .find(|m| !allow.contains(*m))
            .unwrap();
        let reply = send(&functions, None, unknown, &path, "{").await;
        assert_eq!(reply.status, 405, "{label}: {:#}", reply.body);
        let header: BTreeSet<String> = reply
            .header("allow")
            .unwrap()
            .split(", ")
            .map(str::to_owned)
            .collect();
        assert_eq!(header, allow, "{label}");
        assert_eq!(
            reply.body["type"],
            "urn:policy-decision:problem:method-not-allowed"
        );

        let method = route.method.as_str();
        let Some(scope) = route.scope else {
            // A public route asks for no token.
            let reply = send(&functions, None, method, &path, "").await;
            assert_eq!(reply.status, 200, "{label}: {:#}", reply.body);
            continue;
        };
        let needed = scope.as_str();
        // No token, and a malformed body: 401, so the body was not read first.
        let reply = send(&functions, None, method, &path, "{").await;
        assert_eq!(reply.status, 401, "{label}: {:#}", reply.body);
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{label}");
        assert_eq!(reply.body["errors"][0]["field"], "Authorization", "{label}");
        // A token for nobody is no token.
        let reply = send(&functions, Some(("", needed)), method, &path, "{").await;
        assert_eq!(reply.status, 401, "{label}: {:#}", reply.body);
        // Every scope but the one it needs: 403 naming it, still before the body.
        let others = [
            "rates:calculate",
            "quotes:read",
            "quotes:write",
            "policies:read",
            "underwriting:decide",
        ]
        .into_iter()
        .filter(|s| *s != needed)
        .collect::<Vec<_>>()
        .join(" ");
        let reply = send(&functions, Some(("agent-01", &others)), method, &path, "{").await;
        assert_eq!(reply.status, 403, "{label}: {:#}", reply.body);
        assert_eq!(reply.body["type"], "urn:policy-decision:problem:forbidden");
        assert!(
            reply.body["detail"].as_str().unwrap().contains(needed),
            "{label}"
        );
        assert_eq!(
            reply.header("www-authenticate").unwrap(),
            format!(r#"Bearer error="insufficient_scope", scope="{needed}""#)
        );
        // With the scope the route is reached: whatever it answers, it is not 401, 403 or 405.
        let reply = send(&functions, Some(("agent-01", needed)), method, &path, "{").await;
        assert!(
            ![401, 403, 405].contains(&reply.status),
            "{label}: {:#}",
            reply.body
        );
    }
}

#[tokio::test]
async fn a_path_no_table_has_is_a_404_problem_without_a_token() {
    let functions = Functions::new(AuthMode::Jwt).await;
    for path in [
        "/api/v1/nothing",
        "/api/v1/quotes/Q-2026-0000000000/unbind",
        "/",
    ] {
        let reply = send(&functions, None, "GET", path, "").await;
        assert_eq!(reply.status, 404, "{path}: {:#}", reply.body);
        assert_eq!(reply.body["type"], "urn:policy-decision:problem:not-found");
    }
}
