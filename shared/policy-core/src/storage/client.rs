//! The DynamoDB client: how it is built, how each call is timed, and what its failures mean.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::StorageError;

/// Builds the DynamoDB client once per cold start, with the shared SDK configuration
/// ([`crate::sdk::config`]); `endpoint` points at DynamoDB Local (`None`: the region's endpoint).
pub async fn client_for(endpoint: Option<&str>) -> Client {
    Client::new(&crate::sdk::config(endpoint).await)
}

/// Awaits one DynamoDB call, `operation` on `table` (for a transaction, the tables it writes, comma
/// separated), recording its latency for the request's metrics and its span for the trace.
pub(super) async fn timed<T>(
    operation: &'static str,
    table: &str,
    call: impl Future<Output = T>,
) -> T {
    use tracing::Instrument;
    let started = std::time::Instant::now();
    let output = call
        .instrument(crate::telemetry::xray::dynamodb(operation, table))
        .await;
    crate::telemetry::record_dynamodb(operation, started.elapsed());
    output
}

/// How a DynamoDB call failed, as far as telling a passing failure from a refusal goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failed<'a> {
    /// The request could not be built or signed: configuration or credentials.
    Building,
    /// No answer in time.
    Timeout,
    /// The request could not be sent, or the connection broke.
    Dispatch,
    /// The answer could not be read.
    Response,
    /// DynamoDB answered with an error: its code, when it gave one, and the HTTP status.
    Service {
        /// E.g. `ThrottlingException`.
        code: Option<&'a str>,
        /// E.g. 400.
        status: u16,
    },
}

/// Whether DynamoDB's error `code` (of an operation, e.g. `ThrottlingException`, or a
/// transaction's cancellation reason, e.g. `ThrottlingError`) is throttling or a passing fault
/// that the same request may get past later.
pub(super) fn is_transient_code(code: &str) -> bool {
    matches!(
        code.strip_suffix("Exception").unwrap_or(code),
        "Throttling"
            | "ThrottlingError"
            | "ProvisionedThroughputExceeded"
            | "RequestLimitExceeded"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "TransactionConflict"
            | "TransactionInProgress"
            | "ReplicatedWriteConflict"
    )
}

/// The storage error for a failed call: [`StorageError::Unavailable`] for throttling, passing
/// service faults (any 5xx), timeouts and the network; [`StorageError::Rejected`] for everything
/// else, which a retry does not change.
pub(super) fn classify(
    operation: &'static str,
    failed: Failed<'_>,
    message: String,
) -> StorageError {
    let refused = match failed {
        Failed::Building => Some("ConstructionFailure".to_owned()),
        Failed::Timeout | Failed::Dispatch | Failed::Response => None,
        Failed::Service { status, .. } if status >= 500 => None,
        Failed::Service {
            code: Some(code), ..
        } if is_transient_code(code) => None,
        Failed::Service {
            code: Some(code), ..
        } => Some(code.to_owned()),
        Failed::Service { code: None, status } => Some(format!("HTTP {status}")),
    };
    match refused {
        None => StorageError::Unavailable { operation, message },
        Some(code) => StorageError::Rejected {
            operation,
            code,
            message,
        },
    }
}

/// Turns the SDK's error for `operation` into a [`StorageError`], as [`classify`] says.
pub(super) fn sdk_error<E>(
    operation: &'static str,
) -> impl Fn(SdkError<E, HttpResponse>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    move |err| {
        let failed = match &err {
            SdkError::ConstructionFailure(_) => Failed::Building,
            SdkError::TimeoutError(_) => Failed::Timeout,
            SdkError::DispatchFailure(_) => Failed::Dispatch,
            SdkError::ServiceError(service) => Failed::Service {
                code: service.err().code(),
                status: service.raw().status().as_u16(),
            },
            // A response that could not be read, and kinds the SDK may add: a retry may help.
            _ => Failed::Response,
        };
        classify(operation, failed, DisplayErrorContext(&err).to_string())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_dynamodb::operation::get_item::GetItemError;

    use super::*;

    fn service(code: Option<&str>, status: u16) -> SdkError<GetItemError, HttpResponse> {
        let mut meta = ErrorMetadata::builder().message("refused");
        if let Some(code) = code {
            meta = meta.code(code);
        }
        let raw = HttpResponse::new(status.try_into().unwrap(), "{}".into());
        SdkError::service_error(GetItemError::generic(meta.build()), raw)
    }

    fn rejected_code(err: &StorageError) -> Option<&str> {
        match err {
            StorageError::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }

    #[test]
    fn throttling_and_passing_service_faults_are_unavailable() {
        for (code, status) in [
            ("ThrottlingException", 400),
            ("ProvisionedThroughputExceededException", 400),
            ("RequestLimitExceeded", 400),
            ("InternalServerError", 500),
            ("ServiceUnavailable", 503),
            ("TransactionConflictException", 400),
            ("TransactionInProgressException", 400),
            // A 5xx is the service's own fault, whatever its code says.
            ("SomethingNewException", 500),
        ] {
            let err = sdk_error("GetItem")(service(Some(code), status));
            assert!(
                matches!(
                    err,
                    StorageError::Unavailable {
                        operation: "GetItem",
                        ..
                    }
                ),
                "{code}: {err:?}"
            );
            assert!(!err.is_operator_error());
        }
        let err = sdk_error("GetItem")(service(None, 502));
        assert!(matches!(err, StorageError::Unavailable { .. }), "{err:?}");
    }

    #[test]
    fn timeouts_lost_connections_and_unreadable_answers_are_unavailable() {
        let errors: [SdkError<GetItemError, HttpResponse>; 3] = [
            SdkError::timeout_error("no answer in 2 s"),
            SdkError::dispatch_failure(ConnectorError::io("connection refused".into())),
            SdkError::response_error(
                "truncated body",
                HttpResponse::new(200.try_into().unwrap(), "{".into()),
            ),
        ];
        for err in errors {
            let err = sdk_error("Query")(err);
            assert!(
                matches!(
                    err,
                    StorageError::Unavailable {
                        operation: "Query",
                        ..
                    }
                ),
                "{err:?}"
            );
        }
    }

    #[test]
    fn what_the_service_refuses_for_good_is_rejected_with_its_code() {
        for code in [
            "AccessDeniedException",
            "ValidationException",
            "ResourceNotFoundException",
            "UnrecognizedClientException",
            "ConditionalCheckFailedException",
        ] {
            let err = sdk_error("PutItem")(service(Some(code), 400));
            assert_eq!(rejected_code(&err), Some(code), "{err:?}");
            assert!(err.is_operator_error());
        }
        let err = sdk_error("PutItem")(service(None, 403));
        assert_eq!(rejected_code(&err), Some("HTTP 403"));
    }

    #[test]
    fn a_request_that_cannot_be_built_is_rejected() {
        let err = sdk_error("GetItem")(
            SdkError::<GetItemError, HttpResponse>::construction_failure("no credentials"),
        );
        assert_eq!(rejected_code(&err), Some("ConstructionFailure"));
        assert!(err.to_string().contains("no credentials"), "{err}");
    }

    #[test]
    fn cancellation_reasons_are_classified_like_error_codes() {
        for code in [
            "TransactionConflict",
            "ThrottlingError",
            "ProvisionedThroughputExceeded",
        ] {
            assert!(is_transient_code(code), "{code}");
        }
        for code in [
            "ValidationError",
            "ItemCollectionSizeLimitExceeded",
            "ConditionalCheckFailed",
            "",
        ] {
            assert!(!is_transient_code(code), "{code}");
        }
    }
}
