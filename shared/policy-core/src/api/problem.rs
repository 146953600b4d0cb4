//! The one mapping from errors to HTTP answers: RFC 9457 problem details.
//!
//! 4xx bodies say what the client did wrong and name the field; 5xx bodies say nothing internal
//! and carry the request id so the log lines can be found.

use std::borrow::Cow;
use std::error::Error as StdError;

use lambda_http::http::StatusCode;
use lambda_http::http::header::{ALLOW, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use lambda_http::{Body, Response};
use serde::Serialize;

use super::auth::AuthError;
use crate::lifecycle::Refused;
use crate::quoting::QuoteError;
use crate::rating::RatingError;
use crate::storage::StorageError;

/// Prefix of every problem `type`.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:policy-decision:problem:";

/// Everything a handler can answer other than success.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The route does not accept the method.
    #[error("{method} is not allowed here; use {allow}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The methods the path accepts, comma-separated, as in the `Allow` header.
        allow: String,
    },
    /// The body is not declared as JSON.
    #[error("send the body as application/json (found {found})")]
    UnsupportedMediaType {
        /// The content type sent.
        found: String,
    },
    /// The body is larger than the endpoint accepts.
    #[error("the body is {size} bytes; at most {limit} are accepted")]
    PayloadTooLarge {
        /// Bytes sent.
        size: usize,
        /// Bytes accepted.
        limit: usize,
    },
    /// The body is not well-formed JSON in UTF-8.
    #[error("{detail}")]
    MalformedBody {
        /// What is wrong, with line and column where known.
        detail: String,
    },
    /// A field is missing, unknown, of the wrong type or out of range.
    #[error("{detail}")]
    InvalidField {
        /// The field path, e.g. `drivers[0].age`; `body` for the body as a whole.
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The request carries no verified token, or one without the route's scope.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The engine cannot rate the request.
    #[error(transparent)]
    Rating(#[from] RatingError),
    /// No such resource.
    #[error("{detail}")]
    NotFound {
        /// What was not found.
        detail: String,
    },
    /// The request conflicts with the resource's state or an earlier request.
    #[error("{detail}")]
    Conflict {
        /// Problem type slug.
        kind: &'static str,
        /// Problem title.
        title: &'static str,
        /// The field (or header) at fault.
        field: &'static str,
        /// What conflicts.
        detail: String,
    },
    /// Well-formed, but the resource cannot do what was asked.
    #[error("{detail}")]
    Unprocessable {
        /// Problem type slug.
        kind: &'static str,
        /// Problem title.
        title: &'static str,
        /// The field at fault.
        field: &'static str,
        /// Why not.
        detail: String,
    },
    /// Underwriting declines what was asked: one field error per reason.
    #[error("{detail}")]
    Declined {
        /// What was declined.
        detail: String,
        /// Each reason, by the field it concerns.
        reasons: Vec<FieldError>,
    },
    /// A dependency is down or slow; the client may retry.
    #[error("the service is temporarily unavailable; retry after {retry_after_secs} s")]
    Unavailable {
        /// Seconds to wait.
        retry_after_secs: u32,
        /// The cause, logged only.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// Something failed on our side; the detail is logged, never sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

/// One field-level error inside a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field path.
    pub field: String,
    /// What is wrong with it.
    pub detail: String,
}

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the kind of problem.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// The request path, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The request id, as in the `x-request-id` header and the logs.
    pub request_id: String,
    /// The fields at fault.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ApiError {
    /// Wraps an internal failure.
    pub fn internal(err: impl Into<Box<dyn StdError + Send + Sync>>) -> ApiError {
        ApiError::Internal(err.into())
    }

    /// Whether an operator must act: a failure on our side, not the caller's and not a passing
    /// fault that a retry would get past. Counted in the request's `OperatorErrors` metric.
    pub fn is_operator_error(&self) -> bool {
        matches!(self, ApiError::Internal(_))
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::MalformedBody { .. } => StatusCode::BAD_REQUEST,
            ApiError::InvalidField { .. }
            | ApiError::Rating(_)
            | ApiError::Unprocessable { .. }
            | ApiError::Declined { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Auth(AuthError::Unauthorized) => StatusCode::UNAUTHORIZED,
            ApiError::Auth(AuthError::Forbidden(_)) => StatusCode::FORBIDDEN,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::UnsupportedMediaType { .. } => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::PayloadTooLarge { .. } => ("payload-too-large", "Payload too large"),
            ApiError::MalformedBody { .. } => ("malformed-body", "Malformed request body"),
            ApiError::InvalidField { .. } => ("invalid-field", "Invalid field"),
            ApiError::Rating(err) => match err {
                RatingError::UnsupportedState { .. } => ("unsupported-state", "Unsupported state"),
                RatingError::UnsupportedProduct { .. } => {
                    ("unsupported-product", "Unsupported product")
                }
                RatingError::UnsupportedCoverage { .. } => {
                    ("unsupported-coverage", "Unsupported coverage")
                }
                RatingError::LimitBelowMinimum { .. } => {
                    ("limit-below-minimum", "Limit below the minimum")
                }
                RatingError::LimitAboveMaximum { .. } => {
                    ("limit-above-maximum", "Limit above the maximum")
                }
                RatingError::MissingRequiredCoverage { .. } => {
                    ("missing-required-coverage", "Missing required coverage")
                }
                RatingError::NotInForce { .. } => ("rates-not-in-force", "No rates in force"),
                _ => ("invalid-field", "Invalid field"),
            },
            ApiError::NotFound { .. } => ("not-found", "Not found"),
            ApiError::Auth(AuthError::Unauthorized) => ("unauthorized", "Unauthorized"),
            ApiError::Auth(AuthError::Forbidden(_)) => ("forbidden", "Forbidden"),
            ApiError::Conflict { kind, title, .. }
            | ApiError::Unprocessable { kind, title, .. } => (kind, title),
            ApiError::Declined { .. } => ("declined", "Declined by underwriting"),
            ApiError::Unavailable { .. } => ("service-unavailable", "Service unavailable"),
            ApiError::Internal(_) => ("internal", "Internal error"),
        }
    }

    fn field(&self) -> Option<Cow<'_, str>> {
        match self {
            ApiError::InvalidField { field, .. } => Some(Cow::Borrowed(field)),
            ApiError::Rating(err) => Some(Cow::Borrowed(err.field())),
            ApiError::UnsupportedMediaType { .. } => Some(Cow::Borrowed("content-type")),
            ApiError::Auth(_) => Some(Cow::Borrowed("Authorization")),
            ApiError::PayloadTooLarge { .. } | ApiError::MalformedBody { .. } => {
                Some(Cow::Borrowed("body"))
            }
            ApiError::Conflict { field, .. } | ApiError::Unprocessable { field, .. } => {
                Some(Cow::Borrowed(field))
            }
            _ => None,
        }
    }

    /// The problem document for this error. Internal errors are logged here and described to the
    /// client only by their request id.
    pub fn problem(&self, request_id: &str, instance: Option<&str>) -> Problem {
        let (slug, title) = self.kind();
        let detail = match self {
            ApiError::Internal(source) => {
                tracing::error!(request_id, error = %source, "internal error");
                format!("the request failed on our side; quote request id {request_id} to support")
            }
            ApiError::Unavailable { source, .. } => {
                tracing::warn!(request_id, error = %source, "dependency unavailable");
                self.to_string()
            }
            other => other.to_string(),
        };
        let errors = match self {
            ApiError::Declined { reasons, .. } => reasons.clone(),
            _ => self
                .field()
                .map(|field| {
                    vec![FieldError {
                        field: field.into_owned(),
                        detail: detail.clone(),
                    }]
                })
                .unwrap_or_default(),
        };
        Problem {
            type_uri: format!("{PROBLEM_TYPE_PREFIX}{slug}"),
            title,
            status: self.status().as_u16(),
            detail,
            instance: instance.map(str::to_owned),
            request_id: request_id.to_owned(),
            errors,
        }
    }

    /// The `application/problem+json` response for this error.
    pub fn into_response(self, request_id: &str, instance: Option<&str>) -> Response<Body> {
        let problem = self.problem(request_id, instance);
        let body = serde_json::to_vec(&problem).unwrap_or_else(|_| b"{}".to_vec());
        let mut response =
            super::with_headers(self.status(), "application/problem+json", request_id, body);
        match self {
            ApiError::MethodNotAllowed { allow, .. } => {
                if let Ok(allow) = HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(ALLOW, allow);
                }
            }
            // RFC 6750: say which scheme, and which scope was missing.
            ApiError::Auth(AuthError::Unauthorized) => {
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::Auth(AuthError::Forbidden(scope)) => {
                let challenge = format!(
                    r#"Bearer error="insufficient_scope", scope="{}""#,
                    scope.as_str()
                );
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response.headers_mut().insert(WWW_AUTHENTICATE, value);
                }
            }
            ApiError::Unavailable {
                retry_after_secs, ..
            } => {
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

impl From<QuoteError> for ApiError {
    fn from(err: QuoteError) -> ApiError {
        let detail = err.to_string();
        match err {
            QuoteError::Rating(err) => ApiError::Rating(err),
            QuoteError::IdempotencyKeyReused { .. } => ApiError::Conflict {
                kind: "idempotency-key-reused",
                title: "Idempotency key reused",
                field: "Idempotency-Key",
                detail,
            },
            QuoteError::AlreadyBound { .. } => ApiError::Conflict {
                kind: "already-bound",
                title: "Quote already bound",
                field: "quote_id",
                detail,
            },
            QuoteError::NotReferred { .. } => ApiError::Conflict {
                kind: "quote-not-referred",
                title: "Quote is not waiting for a decision",
                field: "quote_id",
                detail,
            },
            QuoteError::NotBindable { .. } => ApiError::Unprocessable {
                kind: "quote-not-bindable",
                title: "Quote cannot be bound",
                field: "quote_id",
                detail,
            },
            QuoteError::QuoteNotFound(_) | QuoteError::PolicyNotFound(_) => {
                ApiError::NotFound { detail }
            }
            // A retry may find DynamoDB back, or draw numbers that are free.
            QuoteError::Storage(err @ StorageError::Unavailable { .. }) => ApiError::Unavailable {
                retry_after_secs: 1,
                source: Box::new(err),
            },
            err @ QuoteError::NoFreeNumber { .. } => ApiError::Unavailable {
                retry_after_secs: 1,
                source: Box::new(err),
            },
            QuoteError::PolicyChanged { .. } => ApiError::Conflict {
                kind: "policy-changed",
                title: "Policy changed",
                field: "policy_number",
                detail,
            },
            QuoteError::Refused(refused) => refused_problem(&refused, detail),
            QuoteError::InvalidChange(change) => ApiError::InvalidField {
                field: change.field,
                detail: change.detail,
            },
            QuoteError::NotRated { .. } => ApiError::Conflict {
                kind: "policy-not-rated",
                title: "Policy keeps no rating request",
                field: "policy_number",
                detail,
            },
            QuoteError::NotRenewable { .. } => ApiError::Conflict {
                kind: "not-renewable",
                title: "Policy cannot be renewed",
                field: "policy_number",
                detail,
            },
            QuoteError::Declined { decision, .. } => ApiError::Declined {
                reasons: decision
                    .reasons
                    .iter()
                    .filter(|r| r.declines)
                    .map(|r| FieldError {
                        field: format!("changes.{}", r.field),
                        detail: serde_json::to_value(r.code)
                            .ok()
                            .and_then(|code| code.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                    })
                    .collect(),
                detail,
            },
            QuoteError::Storage(err) => ApiError::internal(err),
            err @ QuoteError::NoRandomness(_) => ApiError::internal(err),
        }
    }
}

/// A transaction the ledger refuses: 409 naming the rule, or 422 for a date outside the term.
fn refused_problem(refused: &Refused, detail: String) -> ApiError {
    let (kind, title, field) = match refused {
        Refused::OutsideTerm { .. } => {
            return ApiError::Unprocessable {
                kind: "outside-term",
                title: "Date outside the current term",
                field: "effective_date",
                detail,
            };
        }
        Refused::Backdated { .. } => {
            return ApiError::Unprocessable {
                kind: "backdated",
                title: "Change dated too far back",
                field: "effective_date",
                detail,
            };
        }
        Refused::OutOfSequence { .. } => (
            "out-of-sequence",
            "Out-of-sequence change",
            "effective_date",
        ),
        Refused::Cancelled { .. } => ("policy-cancelled", "Policy is cancelled", "policy_number"),
        Refused::NotReinstatable => (
            "not-reinstatable",
            "Policy cannot be reinstated",
            "policy_number",
        ),
        Refused::WindowClosed { .. } => (
            "reinstatement-window-closed",
            "Reinstatement window closed",
            "policy_number",
        ),
    };
    ApiError::Conflict {
        kind,
        title,
        field,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::State;

    #[test]
    fn a_rating_error_becomes_a_422_naming_the_field() {
        let problem = ApiError::from(RatingError::UnsupportedState { state: State::WY })
            .problem("req-1", Some("/api/v1/rates/calculate"));
        assert_eq!(problem.status, 422);
        assert_eq!(
            problem.type_uri,
            "urn:policy-decision:problem:unsupported-state"
        );
        assert_eq!(problem.errors[0].field, "state");
        assert_eq!(problem.request_id, "req-1");
        let not_in_force = ApiError::from(RatingError::NotInForce {
            state: State::CA,
            policy_type: crate::domain::PolicyType::Auto,
            business: crate::rating::tables::Business::NewBusiness,
            date: time::macros::date!(2023 - 06 - 01),
            first: Some(time::macros::date!(2024 - 01 - 01)),
        })
        .problem("req-1", None);
        assert_eq!(
            (not_in_force.status, not_in_force.type_uri.as_str()),
            (422, "urn:policy-decision:problem:rates-not-in-force")
        );
        assert_eq!(not_in_force.errors[0].field, "effective_date");
        assert!(
            not_in_force.detail.contains("2023-06-01"),
            "{}",
            not_in_force.detail
        );
    }

    #[test]
    fn internal_errors_say_nothing_internal() {
        let err = ApiError::internal("connection refused to 10.0.0.7:6379");
        let problem = err.problem("req-2", None);
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("10.0.0.7"), "{}", problem.detail);
        assert!(problem.detail.contains("req-2"));
        assert!(problem.errors.is_empty());
    }

    #[test]
    fn method_not_allowed_says_what_is() {
        let response = ApiError::MethodNotAllowed {
            method: "GET".into(),
            allow: "POST".into(),
        }
        .into_response("r", None);
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[ALLOW], "POST");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(response.headers()["x-request-id"], "r");
    }

    #[test]
    fn storage_failures_are_503_when_a_retry_may_help_and_500_when_an_operator_must_act() {
        let status = |err: QuoteError| {
            let response = ApiError::from(err).into_response("r", None);
            let retry_after = response.headers().get(RETRY_AFTER).cloned();
            (response.status(), retry_after)
        };
        let retry = Some(HeaderValue::from_static("1"));
        let throttled = StorageError::Unavailable {
            operation: "PutItem",
            message: "ThrottlingException".into(),
        };
        assert_eq!(
            status(throttled.into()),
            (StatusCode::SERVICE_UNAVAILABLE, retry.clone())
        );
        assert_eq!(
            status(QuoteError::NoFreeNumber { prefix: "Q" }),
            (StatusCode::SERVICE_UNAVAILABLE, retry)
        );
        let denied = StorageError::Rejected {
            operation: "PutItem",
            code: "AccessDeniedException".into(),
            message: "not authorized".into(),
        };
        assert_eq!(
            status(denied.into()),
            (StatusCode::INTERNAL_SERVER_ERROR, None)
        );
        assert_eq!(
            status(QuoteError::NoRandomness("getrandom failed".into())),
            (StatusCode::INTERNAL_SERVER_ERROR, None)
        );
    }
}
