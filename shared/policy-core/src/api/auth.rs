//! Who is calling, and may they do what they ask?
//!
//! In AWS, API Gateway's JWT authorizer checks the token's signature, issuer, audience and the
//! route's scope before a function runs. The functions check again (defence in depth) from the
//! claims the authorizer passes on: a route reached without a verified token, or without its
//! scope, answers 401 or 403 even if the gateway was misconfigured.
//!
//! A caller is the token's `sub` (an agent, a customer, or a client application). It sees only
//! the quotes and policies it made, unless it holds the [`ADMIN_SCOPE`].
//!
//! `AUTH_MODE=off` (the local stack's default, announced loudly at start) treats every caller as
//! one administrator named [`ANONYMOUS`]; anything else, including an unset variable, means `jwt`.

use std::collections::HashMap;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::caller::{ADMIN_SCOPE, Caller, Scope};

/// Why a request may not use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The request carries no verified token (or one without a subject).
    #[error("this route needs a bearer token with a subject")]
    Unauthorized,
    /// The token lacks the route's scope.
    #[error("the token lacks the scope {}", .0.as_str())]
    Forbidden(Scope),
}

pub use crate::caller::AuthMode;

/// The caller of `request` if it may use a route that needs `needed`, as `mode` says.
///
/// # Errors
/// [`AuthError::Unauthorized`] when the request carries no verified subject,
/// [`AuthError::Forbidden`] when the token lacks the scope.
pub fn authorize(mode: AuthMode, request: &Request, needed: Scope) -> Result<Caller, AuthError> {
    match mode {
        AuthMode::Off => Ok(Caller::anonymous_admin()),
        AuthMode::Jwt => {
            let (claims, scopes) = jwt_claims(request).ok_or(AuthError::Unauthorized)?;
            let subject = claims
                .get("sub")
                .filter(|sub| !sub.is_empty())
                .ok_or(AuthError::Unauthorized)?;
            let granted = granted_scopes(claims, scopes);
            let admin = granted.contains(&ADMIN_SCOPE);
            if !admin && !granted.contains(&needed.as_str()) {
                return Err(AuthError::Forbidden(needed));
            }
            Ok(Caller::new(subject.clone(), admin))
        }
    }
}

/// The verified claims and the scopes API Gateway's JWT authorizer put in the request context.
fn jwt_claims(request: &Request) -> Option<(&HashMap<String, String>, &[String])> {
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return None;
    };
    let jwt = context.authorizer.as_ref()?.jwt.as_ref()?;
    Some((&jwt.claims, jwt.scopes.as_deref().unwrap_or_default()))
}

/// The scopes a token grants: the authorizer's `scopes` list, and the space-separated `scope`
/// claim (OAuth 2.0, as Cognito and most issuers write it).
fn granted_scopes<'a>(claims: &'a HashMap<String, String>, scopes: &'a [String]) -> Vec<&'a str> {
    scopes
        .iter()
        .map(String::as_str)
        .chain(claims.get("scope").into_iter().flat_map(|s| s.split(' ')))
        .filter(|scope| !scope.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::ANONYMOUS;

    fn request(authorizer: &str) -> Request {
        let event = format!(
            r#"{{"version":"2.0","routeKey":"GET /api/v1/policies","rawPath":"/api/v1/policies",
            "rawQueryString":"","headers":{{}},"isBase64Encoded":false,
            "requestContext":{{"accountId":"1","apiId":"a","requestId":"r","routeKey":"GET /api/v1/policies",
            "stage":"$default","time":"28/Nov/2026:10:00:00 +0000","timeEpoch":0,
            "http":{{"method":"GET","path":"/api/v1/policies","protocol":"HTTP/1.1","sourceIp":"1.2.3.4","userAgent":"t"}}
            {authorizer}}}}}"#
        );
        lambda_http::request::from_str(&event).unwrap()
    }

    fn jwt(claims: &str, scopes: &str) -> String {
        format!(r#","authorizer":{{"jwt":{{"claims":{{{claims}}},"scopes":{scopes}}}}}"#)
    }

    #[test]
    fn a_request_without_verified_claims_is_unauthorized() {
        let err = authorize(AuthMode::Jwt, &request(""), Scope::PoliciesRead).unwrap_err();
        assert_eq!(err, AuthError::Unauthorized);
        let no_subject = request(&jwt(r#""scope":"policies:read""#, "null"));
        let err = authorize(AuthMode::Jwt, &no_subject, Scope::PoliciesRead).unwrap_err();
        assert_eq!(err, AuthError::Unauthorized);
    }

    #[test]
    fn the_scope_may_come_from_the_scope_claim_or_the_scopes_list() {
        let from_claim = request(&jwt(
            r#""sub":"agent-7","scope":"quotes:write policies:read""#,
            "null",
        ));
        let caller = authorize(AuthMode::Jwt, &from_claim, Scope::PoliciesRead).unwrap();
        assert_eq!(caller.id(), "agent-7");
        assert!(!caller.is_admin());
        assert_eq!(caller.list_owner(), Some("agent-7"));
        let from_list = request(&jwt(r#""sub":"agent-7""#, r#"["policies:read"]"#));
        assert!(authorize(AuthMode::Jwt, &from_list, Scope::PoliciesRead).is_ok());
    }

    #[test]
    fn a_missing_scope_is_forbidden_and_named() {
        let reader = request(&jwt(r#""sub":"agent-7","scope":"policies:read""#, "null"));
        let err = authorize(AuthMode::Jwt, &reader, Scope::QuotesWrite).unwrap_err();
        assert_eq!(err, AuthError::Forbidden(Scope::QuotesWrite));
        // A scope is a whole word, not a prefix.
        let near = request(&jwt(r#""sub":"a","scope":"quotes:writer""#, "null"));
        assert!(authorize(AuthMode::Jwt, &near, Scope::QuotesWrite).is_err());
    }

    #[test]
    fn the_admin_scope_grants_every_route_and_every_owner() {
        let admin = request(&jwt(r#""sub":"ops","scope":"policies:admin""#, "null"));
        let caller = authorize(AuthMode::Jwt, &admin, Scope::QuotesWrite).unwrap();
        assert!(caller.is_admin());
        assert!(caller.may_access("agent-7"));
        assert_eq!(caller.list_owner(), None);
    }

    #[test]
    fn off_makes_everyone_the_anonymous_administrator() {
        let caller = authorize(AuthMode::Off, &request(""), Scope::QuotesWrite).unwrap();
        assert_eq!(caller, Caller::anonymous_admin());
        assert_eq!(caller.id(), ANONYMOUS);
    }
}
