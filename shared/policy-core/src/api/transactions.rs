//! The policy-transactions function: `POST /api/v1/policies/{policy_number}/endorsements`,
//! `/cancellation`, `/reinstatement` and `/renewal`.

use lambda_http::Request;
use serde::Deserialize;
use serde_json::{Map, Value};
use time::Date;

use super::quotes::{canonical_json, idempotency_key};
use super::{ApiError, body};
use crate::digest::sha256_hex;
use crate::lifecycle::CancelReason;
use crate::lifecycle::changes::check_names;
use crate::rating::request::iso_date::FORMAT;

#[cfg(feature = "aws")]
pub use handlers::ROUTES;

/// Largest endorsement body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest cancellation body accepted.
pub const MAX_CANCELLATION_BYTES: usize = 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndorsementBody {
    effective_date: String,
    changes: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CancellationBody {
    effective_date: String,
    reason: CancelReason,
}

/// An endorsement request read from HTTP.
#[derive(Debug)]
pub struct EndorsementRequest<'r> {
    /// When it takes effect.
    pub effective_date: Date,
    /// The rating request's fields it changes, as a JSON merge patch.
    pub changes: Map<String, Value>,
    /// The `Idempotency-Key` header, checked.
    pub key: Option<&'r str>,
    /// The body as sent, for the idempotency fingerprint.
    pub json: &'r [u8],
}

/// A cancellation request read from HTTP.
#[derive(Debug)]
pub struct CancellationRequest<'r> {
    /// When cover ends.
    pub effective_date: Date,
    /// Why.
    pub reason: CancelReason,
    /// The `Idempotency-Key` header, checked.
    pub key: Option<&'r str>,
    /// The body as sent, for the idempotency fingerprint.
    pub json: &'r [u8],
}

fn date(text: &str) -> Result<Date, ApiError> {
    Date::parse(text, FORMAT).map_err(|_| ApiError::InvalidField {
        field: "effective_date".to_owned(),
        detail: format!("\"{text}\" is not a date in the form YYYY-MM-DD"),
    })
}

/// Reads an endorsement: header, content type, size, JSON, fields, and the names under `changes`.
/// Touches no storage.
pub fn read_endorsement(request: &Request) -> Result<EndorsementRequest<'_>, ApiError> {
    let key = idempotency_key(request)?;
    let json = body::json_bytes(request, MAX_BODY_BYTES)?;
    let EndorsementBody {
        effective_date,
        changes,
    } = body::parse(json)?;
    let effective_date = date(&effective_date)?;
    check_names(&changes).map_err(|err| ApiError::InvalidField {
        field: err.field,
        detail: err.detail,
    })?;
    Ok(EndorsementRequest {
        effective_date,
        changes,
        key,
        json,
    })
}

/// Reads a cancellation: header, content type, size, JSON, fields. Touches no storage.
pub fn read_cancellation(request: &Request) -> Result<CancellationRequest<'_>, ApiError> {
    let key = idempotency_key(request)?;
    let json = body::json_bytes(request, MAX_CANCELLATION_BYTES)?;
    let CancellationBody {
        effective_date,
        reason,
    } = body::parse(json)?;
    Ok(CancellationRequest {
        effective_date: date(&effective_date)?,
        reason,
        key,
        json,
    })
}

/// Reads a request that carries no fields (a reinstatement, a renewal): no body or `{}`, and the
/// `Idempotency-Key` header if any.
pub fn read_bodyless(request: &Request) -> Result<Option<&str>, ApiError> {
    let key = idempotency_key(request)?;
    body::none(request)?;
    Ok(key)
}

/// The `If-Match` header: the policy version the client read, as the `ETag` a policy is served
/// with (`"3"`; a bare `3` is taken too). A change is refused (409 `policy-changed`) if the policy
/// is no longer at that version.
pub fn if_match(request: &Request) -> Result<Option<u64>, ApiError> {
    let Some(value) = request.headers().get("if-match") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|text| text.trim().trim_matches('"'))
        .and_then(|text| text.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| ApiError::InvalidField {
            field: "If-Match".to_owned(),
            detail: "send the policy's ETag, its version in quotes (e.g. \"3\")".to_owned(),
        })
}

/// The fingerprint of a transaction request: the policy it is for and the body's meaning, so one
/// key sent for two policies is two different requests.
pub fn fingerprint(policy_number: &str, json: &[u8]) -> String {
    let body = if json.iter().all(u8::is_ascii_whitespace) {
        String::new()
    } else {
        canonical_json(json)
    };
    sha256_hex([policy_number.as_bytes(), &b"\n"[..], body.as_bytes()])
}

/// The routes and their handlers, over the quoting service.
#[cfg(feature = "aws")]
mod handlers {
    use std::sync::Arc;

    use lambda_http::http::StatusCode;
    use lambda_http::http::header::{ETAG, HeaderValue, LOCATION};
    use serde_json::json;
    use time::OffsetDateTime;

    use super::super::views::{PolicyView, QuoteView, transaction_view};
    use super::super::{Answer, ApiError, Call, Table, respond};
    use super::{
        CancellationRequest, EndorsementRequest, fingerprint, if_match, read_bodyless,
        read_cancellation, read_endorsement,
    };
    use crate::caller::Scope;
    use crate::quoting::{Changed, Conditions, Idempotency, KeyUse, Quoting, is_number};
    use crate::route;

    /// The policy-transactions function's routes.
    pub static ROUTES: Table<Quoting> = Table {
        function: "policy-transactions",
        routes: &[
            route!(
                POST "/api/v1/policies/{policy_number}/endorsements",
                Some(Scope::PoliciesWrite),
                endorse
            ),
            route!(
                POST "/api/v1/policies/{policy_number}/cancellation",
                Some(Scope::PoliciesWrite),
                cancel
            ),
            route!(
                POST "/api/v1/policies/{policy_number}/reinstatement",
                Some(Scope::PoliciesWrite),
                reinstate
            ),
            route!(
                POST "/api/v1/policies/{policy_number}/renewal",
                Some(Scope::PoliciesWrite),
                renew
            ),
        ],
    };

    /// Now, in whole seconds: the timestamps a client sees are the ones stored.
    fn now() -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(0).unwrap_or(now)
    }

    fn policy_number(call: &Call) -> Result<&str, ApiError> {
        let number = call.params.get("policy_number");
        if is_number("POL", number) {
            Ok(number)
        } else {
            Err(ApiError::NotFound {
                detail: "no policy has that number".to_owned(),
            })
        }
    }

    /// 201 with the transaction and the policy after it (200 and `idempotent-replayed` on a
    /// repeat); 202 with the quote when an underwriter must decide first (201 for a new renewal
    /// offer, 200 for the one the policy has).
    fn answer(call: &Call, changed: &Changed, now: OffsetDateTime) -> Answer {
        let etag = match changed {
            Changed::Applied { policy, .. } => Some(format!("\"{}\"", policy.version)),
            Changed::Referred { .. } => None,
        };
        let (status, body, replayed, location) = match changed {
            Changed::Applied {
                policy,
                transaction,
                replayed,
            } => (
                if *replayed {
                    StatusCode::OK
                } else {
                    StatusCode::CREATED
                },
                json!({
                    "transaction": transaction_view(transaction)?,
                    "policy": serde_json::to_value(PolicyView::new(policy)?).map_err(ApiError::internal)?,
                }),
                *replayed,
                format!("/api/v1/policies/{}/transactions", policy.policy_number),
            ),
            Changed::Referred { quote, replayed } => {
                let renewal = quote
                    .policy_change
                    .as_ref()
                    .is_some_and(|c| c.kind == crate::records::ChangeKind::Renewal);
                let status = match (renewal, replayed) {
                    (true, false) => StatusCode::CREATED,
                    (true, true) => StatusCode::OK,
                    (false, _) => StatusCode::ACCEPTED,
                };
                (
                    status,
                    json!({
                        "quote": serde_json::to_value(QuoteView::new(quote, now)?).map_err(ApiError::internal)?,
                    }),
                    *replayed && !renewal,
                    format!("/api/v1/quotes/{}", quote.quote_id),
                )
            }
        };
        let mut response = respond(status, &call.request_id, &body);
        if replayed {
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        if let Ok(location) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(LOCATION, location);
        }
        if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
            response.headers_mut().insert(ETAG, etag);
        }
        Ok(response)
    }

    /// The request's conditions: its idempotency key (for `purpose`, fingerprinted with the
    /// policy and the body) and its `If-Match`.
    fn conditions(
        call: &Call,
        purpose: KeyUse,
        key: Option<&str>,
        number: &str,
        json: &[u8],
    ) -> Result<Conditions, ApiError> {
        Ok(Conditions {
            idempotency: key.map(|key| {
                Idempotency::new(purpose, call.caller.id(), key, fingerprint(number, json))
            }),
            expected: if_match(&call.request)?,
        })
    }

    async fn endorse(quoting: Arc<Quoting>, call: Call) -> Answer {
        let now = now();
        let number = policy_number(&call)?;
        let EndorsementRequest {
            effective_date,
            changes,
            key,
            json,
        } = read_endorsement(&call.request)?;
        let conditions = conditions(&call, KeyUse::Endorse, key, number, json)?;
        let changed = Box::pin(quoting.endorse(
            number,
            &call.caller,
            effective_date,
            &changes,
            conditions,
            now,
        ))
        .await?;
        answer(&call, &changed, now)
    }

    async fn cancel(quoting: Arc<Quoting>, call: Call) -> Answer {
        let now = now();
        let number = policy_number(&call)?;
        let CancellationRequest {
            effective_date,
            reason,
            key,
            json,
        } = read_cancellation(&call.request)?;
        let conditions = conditions(&call, KeyUse::Cancel, key, number, json)?;
        let changed = Box::pin(quoting.cancel(
            number,
            &call.caller,
            effective_date,
            reason,
            conditions,
            now,
        ))
        .await?;
        answer(&call, &changed, now)
    }

    async fn reinstate(quoting: Arc<Quoting>, call: Call) -> Answer {
        let now = now();
        let number = policy_number(&call)?;
        let key = read_bodyless(&call.request)?;
        let conditions = conditions(&call, KeyUse::Reinstate, key, number, b"")?;
        let changed = Box::pin(quoting.reinstate(number, &call.caller, conditions, now)).await?;
        answer(&call, &changed, now)
    }

    /// A renewal offer is one per term whoever asks: a repeat finds the one made, so no key is
    /// needed (one sent is checked and otherwise unused).
    async fn renew(quoting: Arc<Quoting>, call: Call) -> Answer {
        let now = now();
        let number = policy_number(&call)?;
        read_bodyless(&call.request)?;
        let changed = Box::pin(quoting.offer_renewal(number, &call.caller, now)).await?;
        answer(&call, &changed, now)
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::Body;
    use lambda_http::http::Request as HttpRequest;

    use super::*;

    fn request(json: &str) -> Request {
        HttpRequest::builder()
            .method("POST")
            .uri("/api/v1/policies/POL-2026-ABCDEFGHJK/endorsements")
            .header("content-type", "application/json")
            .body(Body::from(json.to_owned()))
            .unwrap()
    }

    fn field(err: &ApiError) -> String {
        err.problem("r", None).errors[0].field.clone()
    }

    #[test]
    fn an_endorsement_names_what_is_wrong_before_anything_is_read() {
        let ok = request(
            r#"{"effective_date":"2026-12-01","changes":{"coverage":{"collision":100000}}}"#,
        );
        let read = read_endorsement(&ok).unwrap();
        assert_eq!(read.effective_date.to_string(), "2026-12-01");
        for (json, named) in [
            (
                r#"{"effective_date":"2026-13-01","changes":{"zip_code":"94105"}}"#,
                "effective_date",
            ),
            (
                r#"{"effective_date":"2026-12-01","changes":{"state":"TX"}}"#,
                "changes.state",
            ),
            (r#"{"effective_date":"2026-12-01","changes":{}}"#, "changes"),
            (r#"{"effective_date":"2026-12-01"}"#, "changes"),
            (
                r#"{"effective_date":"2026-12-01","changes":{"zip_code":"94105"},"note":1}"#,
                "note",
            ),
        ] {
            assert_eq!(
                field(&read_endorsement(&request(json)).unwrap_err()),
                named,
                "{json}"
            );
        }
    }

    #[test]
    fn a_cancellation_names_its_reason_and_date() {
        let sent = request(r#"{"effective_date":"2026-12-01","reason":"non_payment"}"#);
        let read = read_cancellation(&sent).unwrap();
        assert_eq!(read.reason, CancelReason::NonPayment);
        for (json, named) in [
            (
                r#"{"effective_date":"2026-12-01","reason":"bored"}"#,
                "reason",
            ),
            (r#"{"reason":"non_payment"}"#, "effective_date"),
            (
                r#"{"effective_date":"soon","reason":"non_payment"}"#,
                "effective_date",
            ),
        ] {
            assert_eq!(
                field(&read_cancellation(&request(json)).unwrap_err()),
                named,
                "{json}"
            );
        }
    }

    #[test]
    fn one_key_for_two_policies_is_two_requests() {
        let body = br#"{"reason":"rewrite","effective_date":"2026-12-01"}"#;
        let spelled = br#"{ "effective_date": "2026-12-01", "reason": "rewrite" }"#;
        assert_eq!(
            fingerprint("POL-2026-A", body),
            fingerprint("POL-2026-A", spelled)
        );
        assert_ne!(
            fingerprint("POL-2026-A", body),
            fingerprint("POL-2026-B", body)
        );
        assert_ne!(
            fingerprint("POL-2026-A", b""),
            fingerprint("POL-2026-A", b"{}")
        );
    }
}
