//! `POST /api/v1/quotes/{quote_id}/bind` (the bind-quote function).

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::http::header::{HeaderValue, LOCATION};
use time::OffsetDateTime;

use super::views::PolicyView;
use super::{Answer, ApiError, Call, Table, body, respond};
use crate::caller::Scope;
use crate::quoting::{Quoting, is_number};
use crate::route;

/// The bind-quote function's routes.
pub static ROUTES: Table<Quoting> = Table {
    function: "bind-quote",
    routes: &[route!(
        POST "/api/v1/quotes/{quote_id}/bind",
        Some(Scope::QuotesWrite),
        bind
    )],
};

async fn bind(quoting: Arc<Quoting>, call: Call) -> Answer {
    let quote_id = call.params.get("quote_id");
    if !is_number("Q", quote_id) {
        return Err(ApiError::NotFound {
            detail: "no quote has that id".to_owned(),
        });
    }
    if !call.request.body().iter().all(u8::is_ascii_whitespace) {
        let json = body::json_bytes(&call.request, 1024)?;
        no_fields(&body::parse(json)?)?;
    }
    let policy = quoting
        .bind(quote_id, &call.caller, OffsetDateTime::now_utc())
        .await?;
    let mut response = respond(
        StatusCode::CREATED,
        &call.request_id,
        &PolicyView::new(&policy)?,
    );
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
