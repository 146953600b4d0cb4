//! Any query string of `GET /api/v1/policies`, for an administrator or one owner, with the cursor
//! it carries, or a cursor this API sealed for this query, or one sealed for another query or owner
//! and replayed here, or one signed with another secret. Reading it never panics; every refusal is
//! a 422 naming the parameter; a cursor not sealed for this very query is always refused, and one
//! that was is always opened to the key it was sealed with.
//!
//! The input is text in three parts, one a line: the owner (empty: an administrator), the cursor
//! to add (empty: none; `genuine KEY`, `secret KEY`, `replay OWNER|QUERY|KEY`), then the query
//! string. `QUERY` and `KEY` are `name=value` pairs joined by `&`, taken as written.
#![no_main]

use std::collections::HashMap;

use lambda_http::{Body, Request, RequestExt};
use libfuzzer_sys::fuzz_target;
use policy_core::api::cursor::CursorKey;
use policy_core::api::policies::read_list;
use policy_decision_fuzz::check_error;

fn pairs(text: &str) -> Vec<(&str, &str)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .collect()
}

fn request(query: &[(&str, &str)], cursor: Option<&str>) -> Request {
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in query.iter().chain(cursor.map(|c| ("cursor", c)).iter()) {
        params
            .entry((*name).to_owned())
            .or_default()
            .push((*value).to_owned());
    }
    Request::new(Body::Empty).with_query_string_parameters(params)
}

fn resume(text: &str) -> HashMap<String, String> {
    pairs(text)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.splitn(3, '\n');
    let owner = lines.next().filter(|o| !o.is_empty());
    let mode = lines.next().unwrap_or_default();
    let query = pairs(lines.next().unwrap_or_default());
    let (Ok(cursors), Ok(other_secret)) = (CursorKey::new(&[7; 32]), CursorKey::new(&[8; 32]))
    else {
        panic!("the secrets are long enough");
    };
    // The same request without an added cursor names the query a genuine cursor is sealed for.
    let plain = read_list(&request(&query, None), owner, &cursors);
    let identity = plain.as_ref().ok().map(|read| read.identity.as_str());
    // The cursor added, and the key it must open to if it may be opened at all.
    let (cursor, expected) = match (mode.split_once(' '), identity) {
        (Some(("genuine", key)), Some(identity)) => {
            (Some(cursors.seal(identity, resume(key))), Some(resume(key)))
        }
        (Some(("secret", key)), Some(identity)) => {
            (Some(other_secret.seal(identity, resume(key))), None)
        }
        (Some(("replay", rest)), _) => {
            let mut parts = rest.splitn(3, '|');
            let from = parts.next().filter(|o| !o.is_empty());
            let from_query = pairs(parts.next().unwrap_or_default());
            let key = resume(parts.next().unwrap_or_default());
            match read_list(&request(&from_query, None), from, &cursors) {
                Ok(other) => {
                    let same_query = identity == Some(other.identity.as_str());
                    let cursor = cursors.seal(&other.identity, key.clone());
                    (Some(cursor), same_query.then_some(key))
                }
                Err(_) => (None, None),
            }
        }
        _ => (None, None),
    };
    let already_has_cursor = query.iter().any(|(name, _)| *name == "cursor");
    match read_list(&request(&query, cursor.as_deref()), owner, &cursors) {
        Ok(read) => {
            assert!((1..=100).contains(&read.limit), "{read:?}");
            assert_eq!(read.cursor.is_some(), read.start_after.is_some());
            if cursor.is_some() {
                assert!(
                    expected.is_some(),
                    "a cursor not sealed for this query was opened"
                );
                assert_eq!(read.start_after, expected);
            }
        }
        Err(err) => {
            // A genuine cursor is refused only when the query string carries another one.
            assert!(
                expected.is_none() || already_has_cursor,
                "a genuine cursor was refused: {err:?}"
            );
            let problem = check_error(err);
            assert_eq!(problem["status"], 422, "{problem}");
        }
    }
});
