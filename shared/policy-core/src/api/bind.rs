//! `POST /api/v1/quotes/{quote_id}/bind` (the bind-quote function).

use lambda_http::http::header::{HeaderValue, LOCATION};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use time::OffsetDateTime;

use super::views::PolicyView;
use super::{ApiError, body, finish, path_tail, request_id, respond};
use crate::auth::{AuthMode, Scope};
use crate::quoting::{Quoting, is_number};

/// The Lambda handler.
pub async fn handle(
    quoting: &Quoting,
    auth: AuthMode,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let started = std::time::Instant::now();
    let request_id = request_id(&request);
    let path = request.uri().path();
    let result = bind(quoting, auth, &request, &request_id).await;
    let route = "POST /api/v1/quotes/{quote_id}/bind";
    Ok(finish(
        "bind-quote",
        route,
        &request_id,
        path,
        started,
        result,
        Some(quoting.cache()),
    ))
}

async fn bind(
    quoting: &Quoting,
    auth: AuthMode,
    request: &Request,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    if request.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed {
            method: request.method().to_string(),
            allow: "POST",
        });
    }
    let caller = auth.authorize(request, Scope::QuotesWrite)?;
    let quote_id = path_tail(request.uri().path(), "/api/v1/quotes")
        .and_then(|rest| rest.strip_suffix("/bind"))
        .filter(|id| is_number("Q", id))
        .ok_or_else(|| ApiError::NotFound {
            detail: "no quote has that id".to_owned(),
        })?;
    if !request.body().as_ref().iter().all(u8::is_ascii_whitespace) {
        let json = body::json_bytes(request, 1024)?;
        no_fields(&body::parse(json)?)?;
    }
    let policy = quoting
        .bind(quote_id, &caller, OffsetDateTime::now_utc())
        .await?;
    let mut response = respond(StatusCode::CREATED, request_id, &PolicyView::new(&policy)?);
    if let Ok(location) =
        HeaderValue::from_str(&format!("/api/v1/policies/{}", policy.policy_number))
    {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// A bind request carries no fields today: an empty body or `{}` is accepted, any field is named.
/// Read as a map, not as a struct without fields, which serde would also read from `[]`.
fn no_fields(body: &serde_json::Map<String, serde_json::Value>) -> Result<(), ApiError> {
    match body.keys().next() {
        None => Ok(()),
        Some(name) => Err(ApiError::InvalidField {
            field: name.clone(),
            detail: format!("unknown field `{name}`; a bind takes no fields"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str) -> Result<(), (u16, String)> {
        body::parse(json.as_bytes())
            .and_then(|body| no_fields(&body))
            .map_err(|err| {
                let problem = err.problem("r", None);
                (problem.status, problem.errors[0].field.clone())
            })
    }

    #[test]
    fn a_bind_body_is_an_object_without_fields() {
        assert_eq!(check("{}"), Ok(()));
        assert_eq!(check(r#"{"term":"annual"}"#), Err((422, "term".into())));
        for not_an_object in ["[]", "null", "1", r#""{}""#] {
            assert_eq!(
                check(not_an_object),
                Err((422, "body".into())),
                "{not_an_object}"
            );
        }
    }
}
