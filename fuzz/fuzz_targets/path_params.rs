//! Any request path (traversal strings, encoded slashes, unicode, stage prefixes) as the router
//! matches it against the quote, bind and policy routes' patterns: a path parameter reaches storage
//! only when it has the exact shape of an id this API issues, `Q-YYYY-` or `POL-YYYY-` and 6 to 12
//! Crockford base32 characters, so nothing like `../` or `%2F` ever becomes a key. Everything else
//! is a 404 problem.
#![no_main]

use lambda_http::http::Uri;
use libfuzzer_sys::fuzz_target;
use policy_core::api::ApiError;
use policy_core::api::router::match_path;
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

/// The routes with an id in their path (as in their functions' route tables, which this crate
/// builds without), the parameter and the prefix of the ids it takes.
const ROUTES: [(&str, &str, &str); 3] = [
    ("/api/v1/quotes/{quote_id}", "quote_id", "Q"),
    ("/api/v1/quotes/{quote_id}/bind", "quote_id", "Q"),
    ("/api/v1/policies/{policy_number}", "policy_number", "POL"),
];

/// The id the route with `pattern` would look up for `path`, if any: its handlers read the
/// parameter and go on only when `is_number` holds.
fn routed(path: &str, pattern: &'static str, param: &str, prefix: &str) -> Option<String> {
    let params = match_path(pattern, path)?;
    let id = params.get(param);
    if is_number(prefix, id) {
        assert!(issued(prefix, id), "{id:?} from {path:?} reaches storage");
        Some(id.to_owned())
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
        let routed_ids = ROUTES
            .iter()
            .filter_map(|&(pattern, param, prefix)| routed(path, pattern, param, prefix))
            .count();
        if routed_ids == 0 {
            check_error(ApiError::NotFound {
                detail: "no quote has that id".to_owned(),
            });
        }
    }
    for prefix in ["Q", "POL"] {
        assert_eq!(is_number(prefix, text), issued(prefix, text), "{text:?}");
    }
});
