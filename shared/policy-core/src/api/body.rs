//! Reading a JSON request body: content type, size, UTF-8, syntax, then typed fields with paths.

use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::{Body, Request};
use serde::Deserialize;
use serde_json::error::Category;

use super::ApiError;

/// The body bytes of a request whose content type is JSON and whose size is within `limit`.
pub fn json_bytes(request: &Request, limit: usize) -> Result<&[u8], ApiError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if !content_type.as_deref().is_some_and(is_json) {
        return Err(ApiError::UnsupportedMediaType {
            found: content_type.unwrap_or_else(|| "none".to_owned()),
        });
    }
    let bytes: &[u8] = match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => {
            return Err(ApiError::MalformedBody {
                detail: "unsupported body encoding".to_owned(),
            });
        }
    };
    if bytes.len() > limit {
        return Err(ApiError::PayloadTooLarge {
            size: bytes.len(),
            limit,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedBody {
            detail: "the body is empty; send a JSON document".to_owned(),
        });
    }
    if let Err(err) = std::str::from_utf8(bytes) {
        return Err(ApiError::MalformedBody {
            detail: format!(
                "the body is not valid UTF-8 (at byte {})",
                err.valid_up_to()
            ),
        });
    }
    Ok(bytes)
}

/// For a route that reads no body: none, or a JSON object without fields (`{}`); anything else is
/// refused as the fields it brings would be ignored.
pub fn none(request: &Request) -> Result<(), ApiError> {
    let empty = match request.body() {
        Body::Empty => true,
        Body::Text(text) => text.trim().is_empty(),
        Body::Binary(bytes) => bytes.iter().all(u8::is_ascii_whitespace),
        _ => false,
    };
    if empty {
        return Ok(());
    }
    let json = json_bytes(request, 1024)?;
    parse::<Nothing>(json).map(|_| ())
}

/// A JSON object without fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Nothing {}

/// `application/json`, optionally with a UTF-8 charset; media types are case-insensitive.
fn is_json(content_type: &str) -> bool {
    let mut parts = content_type.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default();
    essence.eq_ignore_ascii_case("application/json")
        && parts.all(|param| match param.split_once('=') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
                value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            }
            _ => true,
        })
}

/// Deserializes `T` from JSON text, naming the field at fault.
pub fn parse<'de, T: Deserialize<'de>>(json: &'de [u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(json);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(from_path_error)?;
    // Anything but whitespace after the document is malformed JSON.
    de.end().map_err(|err| ApiError::MalformedBody {
        detail: message_of(&err),
    })?;
    Ok(value)
}

fn from_path_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let message = message_of(&inner);
    match inner.classify() {
        Category::Data => ApiError::InvalidField {
            field: field_of(&path, &message),
            detail: message,
        },
        Category::Syntax | Category::Eof | Category::Io => ApiError::MalformedBody {
            detail: format!(
                "{message} at line {} column {}",
                inner.line(),
                inner.column()
            ),
        },
    }
}

/// `serde_json`'s message without its " at line L column C" suffix.
fn message_of(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// The field a data error is about. serde reports a missing or unknown field at its parent's path,
/// with the name in backticks in the message; put the name on the path. A key that is empty names
/// nothing, so its parent is the field at fault.
fn field_of(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|lead| message.strip_prefix(lead))
        .and_then(|rest| rest.split('`').next())
        .filter(|name| !name.is_empty());
    // The path of an empty key ends in its empty segment: `coverage.`.
    let parent = path.trim_end_matches('.');
    match (parent, named) {
        ("", Some(name)) => name.to_owned(),
        (parent, Some(name)) if !parent.ends_with(name) => format!("{parent}.{name}"),
        ("", None) => "body".to_owned(),
        (parent, _) => parent.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rating::RatingRequest;

    fn field_and_status(json: &str) -> (String, u16) {
        match parse::<RatingRequest>(json.as_bytes()) {
            Ok(_) => ("ok".to_owned(), 200),
            Err(err @ ApiError::InvalidField { .. }) => {
                let ApiError::InvalidField { field, .. } = &err else {
                    unreachable!()
                };
                (field.clone(), err.status().as_u16())
            }
            Err(err) => ("body".to_owned(), err.status().as_u16()),
        }
    }

    #[test]
    fn missing_unknown_and_duplicate_fields_are_named() {
        assert_eq!(
            field_and_status(r#"{"policy_type":"auto","coverage":{}}"#),
            ("state".into(), 422)
        );
        assert_eq!(
            field_and_status(r#"{"state":"CA","policy_type":"auto","coverage":{},"colour":"red"}"#),
            ("colour".into(), 422)
        );
        assert_eq!(
            field_and_status(
                r#"{"state":"CA","policy_type":"auto","coverage":{"liability":1,"liability":2}}"#
            ),
            ("coverage.liability".into(), 422)
        );
        assert_eq!(
            field_and_status(
                r#"{"state":"CA","policy_type":"auto","coverage":{},"drivers":[{"age":30}]}"#
            ),
            ("drivers[0].years_licensed".into(), 422)
        );
    }

    #[test]
    fn an_empty_key_is_blamed_on_the_object_that_holds_it() {
        // Found by the calculate_rate and create_quote fuzz targets: the problem named field "".
        assert_eq!(
            field_and_status(r#"{"":"CA","policy_type":"auto"}"#),
            ("body".into(), 422)
        );
        assert_eq!(
            field_and_status(r#"{"state":"CA","policy_type":"auto","coverage":{"":1}}"#),
            ("coverage".into(), 422)
        );
    }

    #[test]
    fn syntax_errors_are_400_and_wrong_shapes_422() {
        assert_eq!(field_and_status(r#"{"state":"CA","#).1, 400);
        assert_eq!(
            field_and_status(r#"{"state":"CA","policy_type":"auto","coverage":{}} {}"#).1,
            400
        );
        assert_eq!(
            field_and_status(r#"{"state":"CA",,}"#),
            ("body".into(), 400)
        );
        assert_eq!(field_and_status(r"42"), ("body".into(), 422));
        let deep = "[".repeat(10_000);
        assert!((400..500).contains(&field_and_status(&deep).1));
    }

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=UTF-8"));
        assert!(!is_json("application/json; charset=latin1"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/jsonx"));
    }
}
