//! `POST /api/v1/quotes` and `GET /api/v1/quotes/{quote_id}` (the create-quote function).

use std::fmt::Write as _;

use lambda_http::Request;
use sha2::{Digest, Sha256};

use super::{ApiError, body};
use crate::rating::RatingRequest;

#[cfg(feature = "aws")]
pub use handlers::ROUTES;

/// Largest quote request accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The header that makes a create safe to retry.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// A create request read from HTTP: the rating request, its `Idempotency-Key` and the body.
#[derive(Debug)]
pub struct CreateRequest<'r> {
    /// The body, parsed.
    pub input: RatingRequest,
    /// The `Idempotency-Key` header, checked.
    pub key: Option<&'r str>,
    /// The body as sent, for the idempotency fingerprint.
    pub json: &'r [u8],
}

/// Reads a create request: header, content type, size, UTF-8, JSON, fields. Touches no storage,
/// so everything a client can send wrong is answered before anything is written.
pub fn read_create(request: &Request) -> Result<CreateRequest<'_>, ApiError> {
    let key = idempotency_key(request)?;
    let json = body::json_bytes(request, MAX_BODY_BYTES)?;
    let input = body::parse(json)?;
    Ok(CreateRequest { input, key, json })
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
fn idempotency_key(request: &Request) -> Result<Option<&str>, ApiError> {
    let Some(value) = request.headers().get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|key| (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()))
        .map(Some)
        .ok_or_else(|| ApiError::InvalidField {
            field: "Idempotency-Key".to_owned(),
            detail: "must be 1 to 255 visible ASCII characters".to_owned(),
        })
}

/// A digest of the request's meaning, not its spelling: key order and whitespace do not count.
pub fn fingerprint(json: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(json)
        .and_then(|value| serde_json::to_vec(&value))
        .unwrap_or_else(|_| json.to_vec());
    let digest = Sha256::digest(&canonical);
    digest.iter().fold(String::with_capacity(64), |mut hex, b| {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// The routes and their handlers, over the quoting service.
#[cfg(feature = "aws")]
mod handlers {
    use std::sync::Arc;

    use lambda_http::http::StatusCode;
    use lambda_http::http::header::{HeaderValue, LOCATION};
    use time::OffsetDateTime;

    use super::super::views::QuoteView;
    use super::super::{Answer, ApiError, Call, Table, respond};
    use super::{CreateRequest, fingerprint, read_create};

    const BASE: &str = "/api/v1/quotes";
    use crate::caller::Scope;
    use crate::quoting::{Idempotency, Quoting, is_number};
    use crate::route;

    /// The create-quote function's routes.
    pub static ROUTES: Table<Quoting> = Table {
        function: "create-quote",
        routes: &[
            route!(POST "/api/v1/quotes", Some(Scope::QuotesWrite), create),
            route!(GET "/api/v1/quotes/{quote_id}", Some(Scope::QuotesRead), get),
        ],
    };

    /// Now, in whole seconds: the timestamps a client sees are the ones stored.
    fn now() -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(0).unwrap_or(now)
    }

    async fn create(quoting: Arc<Quoting>, call: Call) -> Answer {
        let now = now();
        let CreateRequest { input, key, json } = read_create(&call.request)?;
        // Keys are per caller: two callers choosing the same key never see each other's quote.
        let idempotency = key.map(|key| Idempotency {
            key: format!("{}:{key}", call.caller.id()),
            fingerprint: fingerprint(json),
        });
        let made = quoting
            .create(input, call.caller.id(), idempotency, now)
            .await?;
        let mut response = respond(
            StatusCode::CREATED,
            &call.request_id,
            &QuoteView::new(&made.quote, now)?,
        );
        let location = format!("{BASE}/{}", made.quote.quote_id);
        let headers = response.headers_mut();
        if let Ok(location) = HeaderValue::from_str(&location) {
            headers.insert(LOCATION, location);
        }
        if made.replayed {
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        Ok(response)
    }

    async fn get(quoting: Arc<Quoting>, call: Call) -> Answer {
        let not_found = || ApiError::NotFound {
            detail: "no quote has that id".to_owned(),
        };
        let quote_id = call.params.get("quote_id");
        if !is_number("Q", quote_id) {
            return Err(not_found());
        }
        let quote = quoting.get(quote_id).await?;
        // Someone else's quote reads as missing: its existence is not the caller's business.
        if !call.caller.may_access(&quote.owner) {
            return Err(not_found());
        }
        Ok(respond(
            StatusCode::OK,
            &call.request_id,
            &QuoteView::new(&quote, now())?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::Body;
    use lambda_http::http::Method;
    use lambda_http::http::header::CONTENT_TYPE;

    use super::*;

    fn post(content_type: &str, key: Option<&str>, body: &str) -> Request {
        let mut request = Request::new(Body::Text(body.to_owned()));
        *request.method_mut() = Method::POST;
        let headers = request.headers_mut();
        headers.insert(CONTENT_TYPE, content_type.parse().unwrap());
        if let Some(key) = key {
            headers.insert(IDEMPOTENCY_HEADER, key.parse().unwrap());
        }
        request
    }

    #[test]
    fn a_create_request_is_read_and_checked_before_any_storage() {
        let body = r#"{"state":"CA","policy_type":"auto","coverage":{"liability":500000}}"#;
        let request = post("application/json", Some("retry-1"), body);
        let read = read_create(&request).unwrap();
        assert_eq!(read.key, Some("retry-1"));
        assert_eq!(read.json, body.as_bytes());

        for (request, status) in [
            (post("text/plain", None, body), 415),
            (post("application/json", Some("has space"), body), 422),
            (post("application/json", None, r#"{"state":"CA","#), 400),
            (
                post("application/json", None, r#"{"state":"CA","state":"TX"}"#),
                422,
            ),
        ] {
            assert_eq!(read_create(&request).unwrap_err().status().as_u16(), status);
        }
    }

    #[test]
    fn fingerprints_ignore_key_order_and_whitespace_but_not_values() {
        let a = fingerprint(br#"{"state":"CA","policy_type":"auto"}"#);
        let b = fingerprint(b"{ \"policy_type\" : \"auto\",\n \"state\":\"CA\" }");
        let c = fingerprint(br#"{"state":"TX","policy_type":"auto"}"#);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 64);
    }
}
