//! The create-quote function: `POST /api/v1/quotes`, `GET /api/v1/quotes/{quote_id}`, and the
//! underwriters' routes, `GET /api/v1/quotes?status=referred` (the queue) and
//! `POST /api/v1/quotes/{quote_id}/decision`.

use std::collections::HashMap;

use lambda_http::Request;

use super::cursor::CursorKey;
use super::query::{page_limit, single_params};
use super::{ApiError, body};
use crate::digest::sha256_hex;
use crate::quoting::Verdict;
use crate::rating::RatingRequest;

#[cfg(feature = "aws")]
pub use handlers::{Quotes, ROUTES};

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

/// Largest decision body accepted.
pub const MAX_DECISION_BYTES: usize = 8 * 1024;
/// Longest underwriter's note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;
/// Page size of the underwriters' queue when `limit` is not given, and the largest.
pub const QUEUE_LIMITS: (usize, usize) = (20, 100);
/// What queue cursors are bound to: there is one queue.
pub const QUEUE_IDENTITY: &str = "quotes|status=referred";

/// An underwriter's decision on a referred quote, as sent.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    outcome: Verdict,
    note: String,
}

/// A decision request read from HTTP.
#[derive(Debug)]
pub struct DecisionRequest<'r> {
    /// Accepted or declined.
    pub verdict: Verdict,
    /// Why, in the underwriter's words: 1 to [`MAX_NOTE_CHARS`] characters, not blank.
    pub note: String,
    /// The `Idempotency-Key` header, checked.
    pub key: Option<&'r str>,
    /// The body as sent, for the idempotency fingerprint.
    pub json: &'r [u8],
}

/// Reads a decision request: header, content type, size, JSON, fields, the note's length. Touches
/// no storage.
pub fn read_decision(request: &Request) -> Result<DecisionRequest<'_>, ApiError> {
    let key = idempotency_key(request)?;
    let json = body::json_bytes(request, MAX_DECISION_BYTES)?;
    let DecisionBody { outcome, note } = body::parse(json)?;
    let chars = note.chars().count();
    if note.trim().is_empty() || chars > MAX_NOTE_CHARS {
        return Err(ApiError::InvalidField {
            field: "note".to_owned(),
            detail: format!("say why in 1 to {MAX_NOTE_CHARS} characters (found {chars})"),
        });
    }
    Ok(DecisionRequest {
        verdict: outcome,
        note,
        key,
        json,
    })
}

/// A queue request read from its query string: the page size and the cursor, if any.
#[derive(Debug)]
pub struct QueueRequest {
    /// Page size.
    pub limit: usize,
    /// Where to resume, from the cursor.
    pub start_after: Option<HashMap<String, String>>,
}

/// Reads `GET /api/v1/quotes?status=referred[&limit=][&cursor=]`: `status` is required and only
/// `referred` is listed; the cursor must be one this queue issued.
pub fn read_queue(request: &Request, cursors: &CursorKey) -> Result<QueueRequest, ApiError> {
    let params = single_params(request, &["status", "limit", "cursor"])?;
    if params.get("status").map(String::as_str) != Some("referred") {
        return Err(ApiError::InvalidField {
            field: "status".to_owned(),
            detail: "list quotes with status=referred: the underwriters' queue".to_owned(),
        });
    }
    let (default, max) = QUEUE_LIMITS;
    let limit = page_limit(&params, default, max)?;
    let start_after = params
        .get("cursor")
        .map(|cursor| cursors.open(QUEUE_IDENTITY, cursor))
        .transpose()?;
    Ok(QueueRequest { limit, start_after })
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
pub(super) fn idempotency_key(request: &Request) -> Result<Option<&str>, ApiError> {
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

/// The body's meaning, not its spelling: its JSON with keys sorted and no whitespace.
pub fn canonical_json(json: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(json)
        .and_then(|value| serde_json::to_string(&value))
        .unwrap_or_else(|_| String::from_utf8_lossy(json).into_owned())
}

/// A digest of the request's meaning, not its spelling: key order and whitespace do not count.
pub fn fingerprint(json: &[u8]) -> String {
    sha256_hex([canonical_json(json).as_bytes()])
}

/// The routes and their handlers, over the quoting service.
#[cfg(feature = "aws")]
mod handlers {
    use std::sync::Arc;

    use lambda_http::RequestExt;
    use lambda_http::http::StatusCode;
    use lambda_http::http::header::{HeaderValue, LOCATION};
    use lambda_http::{Body, Response};
    use serde::Serialize;
    use time::OffsetDateTime;

    use super::super::cursor::CursorKey;
    use super::super::views::QuoteView;
    use super::super::{Answer, ApiError, Call, Table, body, respond};
    use super::{
        CreateRequest, DecisionRequest, QUEUE_IDENTITY, QueueRequest, canonical_json, fingerprint,
        read_create, read_decision, read_queue,
    };
    use crate::book::{self, Stored};
    use crate::caller::Scope;
    use crate::quoting::{Idempotency, KeyUse, Made, Quoting, is_number};
    use crate::route;

    const BASE: &str = "/api/v1/quotes";

    /// What the create-quote function holds: the quoting service, and the key the underwriters'
    /// queue cursors are signed with.
    #[derive(Debug, Clone)]
    pub struct Quotes {
        /// The quoting service.
        pub quoting: Quoting,
        /// Signs and checks queue cursors.
        pub cursors: CursorKey,
    }

    /// The create-quote function's routes.
    pub static ROUTES: Table<Quotes> = Table {
        function: "create-quote",
        routes: &[
            route!(POST "/api/v1/quotes", Some(Scope::QuotesWrite), create),
            route!(GET "/api/v1/quotes", Some(Scope::UnderwritingDecide), queue),
            route!(GET "/api/v1/quotes/{quote_id}", Some(Scope::QuotesRead), get),
            route!(
                POST "/api/v1/quotes/{quote_id}/decision",
                Some(Scope::UnderwritingDecide),
                decide
            ),
            route!(
                POST "/api/v1/quotes/{quote_id}/replay",
                Some(Scope::QuotesRead),
                replay
            ),
        ],
    };

    /// Now, in whole seconds: the timestamps a client sees are the ones stored.
    fn now() -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(0).unwrap_or(now)
    }

    fn not_found() -> ApiError {
        ApiError::NotFound {
            detail: "no quote has that id".to_owned(),
        }
    }

    /// The answer with a quote made or decided: the view, and `idempotent-replayed` on a repeat.
    fn answer(status: StatusCode, call: &Call, made: &Made, now: OffsetDateTime) -> Answer {
        let mut response = respond(status, &call.request_id, &QuoteView::new(&made.quote, now)?);
        if made.replayed {
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        Ok(response)
    }

    async fn create(quotes: Arc<Quotes>, call: Call) -> Answer {
        let now = now();
        let CreateRequest { input, key, json } = read_create(&call.request)?;
        // Keys are per caller: two callers choosing the same key never see each other's quote.
        let idempotency = key
            .map(|key| Idempotency::new(KeyUse::Create, call.caller.id(), key, fingerprint(json)));
        let made = quotes
            .quoting
            .create(
                input,
                canonical_json(json),
                call.caller.id(),
                idempotency,
                now,
            )
            .await?;
        let mut response = answer(StatusCode::CREATED, &call, &made, now)?;
        let location = format!("{BASE}/{}", made.quote.quote_id);
        if let Ok(location) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(LOCATION, location);
        }
        Ok(response)
    }

    async fn get(quotes: Arc<Quotes>, call: Call) -> Answer {
        let quote_id = call.params.get("quote_id");
        if !is_number("Q", quote_id) {
            return Err(not_found());
        }
        let quote = quotes.quoting.get(quote_id).await?;
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

    /// Rates a quote again with the tables it names, and says whether the total is the stored one.
    async fn replay(quotes: Arc<Quotes>, call: Call) -> Answer {
        let quote_id = call.params.get("quote_id");
        if !is_number("Q", quote_id) {
            return Err(not_found());
        }
        body::none(&call.request)?;
        let quote = quotes.quoting.get(quote_id).await?;
        if !call.caller.may_access(&quote.owner) {
            return Err(not_found());
        }
        let replayed = book::replay(quotes.quoting.tables(), Stored::from(&quote));
        Ok(respond(StatusCode::OK, &call.request_id, &replayed))
    }

    /// An underwriter decides a referred quote. Underwriters work every owner's referrals: the
    /// scope, not ownership, admits them.
    async fn decide(quotes: Arc<Quotes>, call: Call) -> Answer {
        let now = now();
        let quote_id = call.params.get("quote_id");
        if !is_number("Q", quote_id) {
            return Err(not_found());
        }
        let DecisionRequest {
            verdict,
            note,
            key,
            json,
        } = read_decision(&call.request)?;
        let idempotency = key
            .map(|key| Idempotency::new(KeyUse::Decide, call.caller.id(), key, fingerprint(json)));
        let made = quotes
            .quoting
            .decide(quote_id, &call.caller, verdict, note, idempotency, now)
            .await?;
        answer(StatusCode::OK, &call, &made, now)
    }

    /// A quote in the queue: what an underwriter needs to pick it up.
    #[derive(Debug, Serialize)]
    struct QueuePage<'q> {
        items: Vec<QuoteView<'q>>,
        limit: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_cursor: Option<String>,
    }

    /// The underwriters' queue: referred quotes that can still be decided, newest first.
    async fn queue(quotes: Arc<Quotes>, call: Call) -> Answer {
        let now = now();
        if let Some(cursor) = call.request.query_string_parameters().first("cursor") {
            quotes.cursors.refresh_for(cursor).await;
        }
        let QueueRequest { limit, start_after } = read_queue(&call.request, &quotes.cursors)?;
        let page = quotes
            .quoting
            .referred_quotes(limit, start_after, now)
            .await?;
        let items = page
            .items
            .iter()
            .map(|quote| QuoteView::new(quote, now))
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = page
            .last_key
            .map(|key| quotes.cursors.seal(QUEUE_IDENTITY, key));
        let body: Response<Body> = respond(
            StatusCode::OK,
            &call.request_id,
            &QueuePage {
                items,
                limit,
                next_cursor,
            },
        );
        Ok(body)
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
