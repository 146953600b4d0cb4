//! What the fuzz targets share: an HTTP request built from fuzz bytes, and the checks every answer
//! to hostile input must pass. A check that fails panics, which libFuzzer reports as a crash.

use std::str::FromStr;

use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::http::{HeaderValue, Method};
use lambda_http::{Body, Request, Response};
use policy_core::api::{ApiError, PROBLEM_TYPE_PREFIX};
use rust_decimal::Decimal;
use serde_json::Value;

/// The largest body a target builds by repetition: past every endpoint's limit, 10 MB and more.
pub const MAX_BODY: usize = 12 * 1024 * 1024;

/// The request id every target's requests carry (there is no API Gateway context).
pub const REQUEST_ID: &str = "unknown";

/// Fields that hold money: decimal strings with at most two places, never negative.
const MONEY: [&str; 8] = [
    "premium",
    "total_premium",
    "amount",
    "minimum",
    "adjustment",
    "first",
    "each",
    "base_premium",
];

/// How a body is sent, read from an optional first line of the fuzz input:
/// `@METHOD|CONTENT-TYPE|REPEAT|HEADER-VALUE` then a newline, then the body. Any part may be left
/// out; without the line the request is a `POST` of `application/json` with the input as its body.
/// A content type of `-` sends none; `REPEAT` repeats the body (up to [`MAX_BODY`] bytes), so a
/// few bytes of input make a 10 MB body; `HEADER-VALUE` is a target's extra header, if it has one.
#[derive(Debug)]
pub struct Envelope<'a> {
    /// The method.
    pub method: Method,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a [u8]>,
    /// How many times the body is sent one after another.
    pub repeat: usize,
    /// The target's extra header value, if any.
    pub header: Option<&'a [u8]>,
    /// The body (before repetition).
    pub body: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Reads the envelope line, if there is one, and the body.
    pub fn read(data: &'a [u8]) -> Envelope<'a> {
        let default = Envelope {
            method: Method::POST,
            content_type: Some(b"application/json"),
            repeat: 1,
            header: None,
            body: data,
        };
        let Some(rest) = data.strip_prefix(b"@") else {
            return default;
        };
        let (line, body) = match rest.iter().position(|&b| b == b'\n') {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, &[][..]),
        };
        let mut parts = line.split(|&b| b == b'|');
        let method = parts
            .next()
            .filter(|m| !m.is_empty())
            .and_then(|m| Method::from_bytes(m).ok())
            .unwrap_or(Method::POST);
        let content_type = match parts.next() {
            None => default.content_type,
            Some(b"-") => None,
            Some(value) => Some(value),
        };
        let repeat = parts
            .next()
            .and_then(|n| std::str::from_utf8(n).ok())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, MAX_BODY);
        let header = parts.next();
        Envelope {
            method,
            content_type,
            repeat,
            header,
            body,
        }
    }

    /// The body as sent: repeated, and text when it is UTF-8 (API Gateway sends other bodies
    /// base64-encoded, which the runtime decodes to binary).
    pub fn body(&self) -> Body {
        let times = self.repeat.min(MAX_BODY / self.body.len().max(1)).max(1);
        let bytes = self.body.repeat(times);
        if bytes.is_empty() {
            return Body::Empty;
        }
        match String::from_utf8(bytes) {
            Ok(text) => Body::Text(text),
            Err(err) => Body::Binary(err.into_bytes()),
        }
    }

    /// The request to `path`, with the target's extra header under `header_name`.
    pub fn request(&self, path: &str, header_name: &'static str) -> Request {
        let mut request = Request::new(self.body());
        *request.method_mut() = self.method.clone();
        if let Ok(uri) = path.parse() {
            *request.uri_mut() = uri;
        }
        // A value HTTP cannot carry never reaches a function: leave such a header out.
        let headers = request.headers_mut();
        if let Some(value) = self
            .content_type
            .and_then(|v| HeaderValue::from_bytes(v).ok())
        {
            headers.insert(CONTENT_TYPE, value);
        }
        if let Some(value) = self.header.and_then(|v| HeaderValue::from_bytes(v).ok()) {
            headers.insert(header_name, value);
        }
        request
    }
}

/// Checks an answer to hostile input and returns its JSON body: a 2xx with a JSON body whose money
/// is decimal strings, or a 4xx `application/problem+json` that names the field at fault.
///
/// # Panics
/// On anything else: a 5xx, another media type, a body that is not JSON.
pub fn check_answer(response: &Response<Body>) -> Value {
    let status = response.status();
    assert!(
        status.is_success() || status.is_client_error(),
        "status {status}: {}",
        String::from_utf8_lossy(response.body())
    );
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let body: Value = serde_json::from_slice(response.body()).unwrap_or_else(|err| {
        panic!(
            "status {status}: the body is not JSON ({err}): {}",
            String::from_utf8_lossy(response.body())
        )
    });
    if status.is_success() {
        assert_eq!(content_type, Some("application/json"), "status {status}");
        check_numbers(&body, None);
    } else {
        assert_eq!(
            content_type,
            Some("application/problem+json"),
            "status {status}"
        );
        check_problem(&body, status.as_u16());
    }
    body
}

/// Checks the problem `err` answers with: a 4xx that names its field.
///
/// # Panics
/// When `err` is a 5xx or its problem is not one.
pub fn check_error(err: ApiError) -> Value {
    let response = err.into_response(REQUEST_ID, Some("/fuzz"));
    assert!(
        response.status().is_client_error(),
        "status {}: {}",
        response.status(),
        String::from_utf8_lossy(response.body())
    );
    check_answer(&response)
}

/// An RFC 9457 problem with our type, the response's status, and the field at fault (every
/// problem but 404 and 405, which are about the path and the method).
///
/// # Panics
/// When `problem` is not one.
pub fn check_problem(problem: &Value, status: u16) {
    let type_uri = problem["type"].as_str().unwrap_or_default();
    assert!(type_uri.starts_with(PROBLEM_TYPE_PREFIX), "{problem}");
    assert_eq!(
        problem["status"].as_u64(),
        Some(u64::from(status)),
        "{problem}"
    );
    assert!(
        problem["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{problem}"
    );
    assert!(
        problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{problem}"
    );
    if status != 404 && status != 405 {
        let fields = problem["errors"].as_array().map_or(0, |errors| {
            errors
                .iter()
                .filter(|e| e["field"].as_str().is_some_and(|f| !f.is_empty()))
                .count()
        });
        assert!(fields > 0, "no field named: {problem}");
    }
}

/// No JSON number with a fraction or an exponent (money and factors are decimal strings), and
/// every money field a decimal string of at most two places, not negative, except an explanation
/// line's amount, a signed share of the premium (a discount's is negative).
fn check_numbers(value: &Value, key: Option<&str>) {
    if let Some(explanation) = value.get("explanation") {
        check_explanation(explanation);
    }
    match value {
        Value::Object(line) if line.contains_key("kind") && line.contains_key("amount") => {
            let text = line["amount"].as_str().unwrap_or_default();
            let amount = Decimal::from_str(text)
                .unwrap_or_else(|_| panic!("an explanation amount is not a decimal: {text:?}"));
            assert!(
                amount.scale() <= 2,
                "an explanation amount has more than cents: {text}"
            );
        }
        Value::Number(n) => assert!(!n.is_f64(), "{key:?} is a float: {n}"),
        Value::String(text) if key.is_some_and(|k| MONEY.contains(&k)) => {
            let amount = Decimal::from_str(text)
                .unwrap_or_else(|_| panic!("{key:?} is not a decimal string: {text:?}"));
            assert!(!amount.is_sign_negative(), "{key:?} is negative: {text}");
            if key != Some("base_premium") {
                assert!(amount.scale() <= 2, "{key:?} has more than cents: {text}");
            }
        }
        Value::Array(items) => items.iter().for_each(|item| check_numbers(item, key)),
        Value::Object(fields) => fields
            .iter()
            .for_each(|(name, item)| check_numbers(item, Some(name))),
        _ => {}
    }
}

/// An explanation's amounts add up, to the cent, to its premium less its base premium.
fn check_explanation(explanation: &Value) {
    let money = |v: &Value| Decimal::from_str(v.as_str().unwrap_or_default()).unwrap_or_default();
    let sum: Decimal = explanation["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|line| money(&line["amount"]))
        .sum();
    assert_eq!(
        money(&explanation["base_premium"]) + sum,
        money(&explanation["premium"]),
        "{explanation}"
    );
}
