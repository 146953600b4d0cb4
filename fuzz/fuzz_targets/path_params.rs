//! Any request path (traversal strings, encoded slashes, unicode, stage prefixes) as the quote,
//! bind and policy routes read it: an id reaches storage only when it has the exact shape of one
//! this API issues, `Q-YYYY-` or `POL-YYYY-` and 6 to 12 Crockford base32 characters, so nothing
//! like `../` or `%2F` ever becomes a key. Everything else is a 404 problem.
#![no_main]

use lambda_http::http::Uri;
use libfuzzer_sys::fuzz_target;
use policy_core::api::{ApiError, path_tail};
use policy_core::quoting::is_number;
use policy_decision_fuzz::check_error;

/// The shape of an issued number, checked without `is_number`.
fn issued(prefix: &str, id: &str) -> bool {
    let Some(rest) = id.strip_prefix(prefix).and_then(|r| r.strip_prefix('-')) else {
        return false;
    };
    let (year, suffix) = rest.as_bytes().split_at(rest.len().min(5));
    year.len() == 5
        && year[..4].iter().all(u8::is_ascii_digit)
        && year[4] == b'-'
        && (6..=12).contains(&suffix.len())
        && suffix
            .iter()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(b)))
}

/// The id the route at `base` would look up in `path` (with `suffix` after it), if any.
fn routed<'p>(path: &'p str, base: &str, suffix: &str, prefix: &str) -> Option<&'p str> {
    let id = path_tail(path, base)?.strip_suffix(suffix)?;
    if is_number(prefix, id) {
        assert!(issued(prefix, id), "{id:?} from {path:?} reaches storage");
        Some(id)
    } else {
        None
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // As written, and as the runtime hands it over: the path of a parsed request URI.
    let parsed = Uri::try_from(text).ok();
    let paths = [Some(text), parsed.as_ref().map(Uri::path)];
    for path in paths.into_iter().flatten() {
        let ids = [
            routed(path, "/api/v1/quotes", "", "Q"),
            routed(path, "/api/v1/quotes", "/bind", "Q"),
            routed(path, "/api/v1/policies", "", "POL"),
        ];
        if ids.iter().all(Option::is_none) {
            check_error(ApiError::NotFound {
                detail: "no quote has that id".to_owned(),
            });
        }
    }
    for prefix in ["Q", "POL"] {
        assert_eq!(is_number(prefix, text), issued(prefix, text), "{text:?}");
    }
});
