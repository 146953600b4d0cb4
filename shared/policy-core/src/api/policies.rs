//! `GET /api/v1/policies` and `GET /api/v1/policies/{policy_number}` (the list-policies function).

use std::collections::HashMap;
use std::fmt::Write as _;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::Date;

use super::cursor::CursorKey;
use super::views::PolicyView;
use super::{ApiError, finish, path_tail, request_id, respond_json};
use crate::auth::{AuthMode, Caller, Scope};
use crate::cache::CacheName;
use crate::domain::{PolicyType, State};
use crate::quoting::{Quoting, is_number};
use crate::rating::request::iso_date::FORMAT;
use crate::records::{PolicyFilter, PolicyStatus, PolicySummary};

/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest page.
pub const MAX_LIMIT: usize = 100;
const BASE: &str = "/api/v1/policies";
const PARAMETERS: [&str; 7] = [
    "state",
    "policy_type",
    "status",
    "effective_from",
    "effective_to",
    "limit",
    "cursor",
];

/// What the list-policies function needs.
#[derive(Debug, Clone)]
pub struct Policies {
    /// Reads go through the quoting service.
    pub quoting: Quoting,
    /// Signs and checks cursors.
    pub cursors: CursorKey,
    /// Whether callers are checked.
    pub auth: AuthMode,
}

/// A page of policies.
#[derive(Debug, Serialize)]
struct Page {
    items: Vec<PolicySummary>,
    limit: usize,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// The Lambda handler.
pub async fn handle(
    policies: &Policies,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let started = std::time::Instant::now();
    let request_id = request_id(&request);
    let path = request.uri().path();
    let result = match (request.method(), path_tail(path, BASE)) {
        (&Method::GET, Some(tail)) => {
            match policies.auth.authorize(&request, Scope::PoliciesRead) {
                Ok(caller) if tail.is_empty() => {
                    list(policies, &caller, &request, &request_id).await
                }
                Ok(caller) => get(policies, &caller, tail, &request_id).await,
                Err(err) => Err(err),
            }
        }
        _ => Err(ApiError::MethodNotAllowed {
            method: request.method().to_string(),
            allow: "GET",
        }),
    };
    let route = if path_tail(path, BASE) == Some("") {
        "GET /api/v1/policies"
    } else {
        "GET /api/v1/policies/{policy_number}"
    };
    let cache = Some(policies.quoting.cache());
    Ok(finish(
        "list-policies",
        route,
        &request_id,
        path,
        started,
        result,
        cache,
    ))
}

async fn get(
    policies: &Policies,
    caller: &Caller,
    policy_number: &str,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    let not_found = || ApiError::NotFound {
        detail: "no policy has that number".to_owned(),
    };
    if !is_number("POL", policy_number) {
        return Err(not_found());
    }
    let cache = policies.quoting.cache();
    let body = match cache.get_body(CacheName::Policy, policy_number).await {
        Ok(body) => body.json().to_vec(),
        Err(slot) => {
            let body = policy_body(policies, policy_number).await?;
            cache.put_body(slot, &body).await;
            body
        }
    };
    // Someone else's policy reads as missing: its existence is not the caller's business.
    if !caller.is_admin() && !owned_by(&body, caller.id()) {
        return Err(not_found());
    }
    Ok(respond_json(StatusCode::OK, request_id, &body))
}

/// Whether the policy view in `body` names `owner` as its owner.
fn owned_by(body: &[u8], owner: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Owned<'a> {
        #[serde(borrow)]
        owner: std::borrow::Cow<'a, str>,
    }
    serde_json::from_slice::<Owned<'_>>(body).is_ok_and(|view| view.owner == owner)
}

/// The response body for one policy, read from DynamoDB.
pub async fn policy_body(policies: &Policies, policy_number: &str) -> Result<Vec<u8>, ApiError> {
    let policy = policies.quoting.policy(policy_number).await?;
    serde_json::to_vec(&PolicyView::new(&policy)?).map_err(ApiError::internal)
}

async fn list(
    policies: &Policies,
    caller: &Caller,
    request: &Request,
    request_id: &str,
) -> Result<Response<Body>, ApiError> {
    let ListRequest {
        filter,
        limit,
        start_after,
        identity,
        cursor,
    } = read_list(request, caller.list_owner(), &policies.cursors)?;
    let key = list_cache_key(&identity, limit, cursor.as_deref());
    let cache = policies.quoting.cache();
    let slot = match cache.get_body(CacheName::List, &key).await {
        Ok(body) => return Ok(respond_json(StatusCode::OK, request_id, body.json())),
        Err(slot) => slot,
    };
    let body = list_body(policies, &filter, limit, start_after, &identity).await?;
    cache.put_body(slot, &body).await;
    Ok(respond_json(StatusCode::OK, request_id, &body))
}

/// The cache key of a list page: the filter, the page size and the cursor, digested.
fn list_cache_key(identity: &str, limit: usize, cursor: Option<&str>) -> String {
    let digest = Sha256::digest(format!("{identity}|{limit}|{}", cursor.unwrap_or("")));
    digest
        .iter()
        .take(16)
        .fold(String::with_capacity(32), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// A list request read from its query string.
#[derive(Debug)]
pub struct ListRequest {
    /// Which policies are listed.
    pub filter: PolicyFilter,
    /// Page size.
    pub limit: usize,
    /// Where to resume: the key the cursor was sealed with, when there is a cursor.
    pub start_after: Option<HashMap<String, String>>,
    /// What cursors and cache keys of this list are bound to: the filter's identity.
    pub identity: String,
    /// The cursor as sent.
    pub cursor: Option<String>,
}

/// Reads the query string of a list request by a caller limited to `owner`'s policies (`None`:
/// all), and opens its cursor. Touches no storage: unknown, repeated or malformed parameters and
/// forged, edited or foreign cursors are 422 problems naming the parameter.
pub fn read_list(
    request: &Request,
    owner: Option<&str>,
    cursors: &CursorKey,
) -> Result<ListRequest, ApiError> {
    let mut params = single_params(request)?;
    let (filter, limit) = read_filter(&params, owner)?;
    let identity = filter.identity();
    let cursor = params.remove("cursor");
    let start_after = cursor
        .as_deref()
        .map(|cursor| cursors.open(&identity, cursor))
        .transpose()?;
    Ok(ListRequest {
        filter,
        limit,
        start_after,
        identity,
        cursor,
    })
}

/// The response body for one page, read from DynamoDB.
async fn list_body(
    policies: &Policies,
    filter: &PolicyFilter,
    limit: usize,
    start_after: Option<HashMap<String, String>>,
    identity: &str,
) -> Result<Vec<u8>, ApiError> {
    let page = policies
        .quoting
        .list_policies(filter, limit, start_after)
        .await?;
    let next_cursor = page
        .last_key
        .map(|key| policies.cursors.seal(identity, key));
    let page = Page {
        items: page.items,
        limit,
        next_cursor,
    };
    serde_json::to_vec(&page).map_err(ApiError::internal)
}

/// Writes the first page of each of `filters` and each policy on the newest page into the cache,
/// fresh from DynamoDB. Returns (entries warmed, entries that failed or that Redis did not take).
#[allow(
    clippy::implicit_hasher,
    reason = "the filters come from hot_filters, with the default hasher"
)]
pub async fn warm(policies: &Policies, filters: &[HashMap<String, String>]) -> (usize, usize) {
    let cache = policies.quoting.cache();
    let (mut warmed, mut failed) = (0, 0);
    let mut tally = |stored: bool| if stored { warmed += 1 } else { failed += 1 };
    let mut newest = Vec::new();
    for params in filters {
        let Ok((filter, limit)) = read_filter(params, None) else {
            tally(false);
            continue;
        };
        let identity = filter.identity();
        let slot = cache
            .slot(CacheName::List, &list_cache_key(&identity, limit, None))
            .await;
        match list_body(policies, &filter, limit, None, &identity).await {
            Ok(body) => {
                if params.is_empty() {
                    newest = serde_json::from_slice::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|page| page["items"].as_array().cloned())
                        .unwrap_or_default();
                }
                tally(cache.put_body(slot, &body).await);
            }
            Err(_) => tally(false),
        }
    }
    for item in newest {
        let Some(number) = item["policy_number"].as_str() else {
            continue;
        };
        match policy_body(policies, number).await {
            Ok(body) => {
                let slot = cache.slot(CacheName::Policy, number).await;
                tally(cache.put_body(slot, &body).await);
            }
            Err(_) => tally(false),
        }
    }
    (warmed, failed)
}

/// The query parameters, each at most once and each one we know.
fn single_params(request: &Request) -> Result<HashMap<String, String>, ApiError> {
    let mut params = HashMap::new();
    for (name, value) in request.query_string_parameters().iter() {
        if !PARAMETERS.contains(&name) {
            // `?=x` has a parameter without a name; the query string is what is at fault.
            let field = if name.is_empty() { "query" } else { name };
            return Err(invalid(
                field,
                format!("unknown query parameter; use {}", PARAMETERS.join(", ")),
            ));
        }
        if params.insert(name.to_owned(), value.to_owned()).is_some() {
            return Err(invalid(name, "given more than once".to_owned()));
        }
    }
    Ok(params)
}

fn invalid(field: &str, detail: String) -> ApiError {
    ApiError::InvalidField {
        field: field.to_owned(),
        detail,
    }
}

fn parse_with<T: serde::de::DeserializeOwned>(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<T>, ApiError> {
    params
        .get(name)
        .map(|value| {
            serde_json::from_value(serde_json::Value::String(value.clone()))
                .map_err(|e| invalid(name, e.to_string()))
        })
        .transpose()
}

fn date(params: &HashMap<String, String>, name: &str) -> Result<Option<Date>, ApiError> {
    params
        .get(name)
        .map(|value| {
            Date::parse(value, FORMAT).map_err(|_| {
                invalid(
                    name,
                    format!("\"{value}\" is not a date in the form YYYY-MM-DD"),
                )
            })
        })
        .transpose()
}

/// The filter and page size in the query parameters, limited to `owner`'s policies when there is
/// one. Which index answers the filter is the store's business.
fn read_filter(
    params: &HashMap<String, String>,
    owner: Option<&str>,
) -> Result<(PolicyFilter, usize), ApiError> {
    let state: Option<State> = parse_with(params, "state")?;
    let policy_type: Option<PolicyType> = parse_with(params, "policy_type")?;
    let status: Option<PolicyStatus> = parse_with(params, "status")?;
    let from = date(params, "effective_from")?;
    let to = date(params, "effective_to")?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(invalid(
                "effective_from",
                format!("{from} is after effective_to {to}"),
            ));
        }
    }
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                invalid(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_LIMIT}"),
                )
            })?,
    };
    let filter = PolicyFilter {
        owner: owner.map(str::to_owned),
        state,
        policy_type,
        status,
        effective_from: from,
        effective_to: to,
    };
    Ok((filter, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn field_of(err: ApiError) -> String {
        match err {
            ApiError::InvalidField { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_parameter_lands_in_its_field_of_the_filter() {
        let pairs = [
            ("state", "CA"),
            ("policy_type", "auto"),
            ("status", "active"),
            ("effective_from", "2026-01-01"),
            ("effective_to", "2026-01-31"),
            ("limit", "7"),
        ];
        let (filter, limit) = read_filter(&params(&pairs), Some("agent-7")).unwrap();
        assert_eq!(
            filter,
            PolicyFilter {
                owner: Some("agent-7".to_owned()),
                state: Some(State::CA),
                policy_type: Some(PolicyType::Auto),
                status: Some(PolicyStatus::Active),
                effective_from: Some(time::macros::date!(2026 - 01 - 01)),
                effective_to: Some(time::macros::date!(2026 - 01 - 31)),
            }
        );
        assert_eq!(limit, 7);

        let (filter, limit) = read_filter(&params(&[]), None).unwrap();
        assert_eq!((filter, limit), (PolicyFilter::default(), DEFAULT_LIMIT));
    }

    #[test]
    fn ownership_is_read_from_the_view() {
        assert!(owned_by(
            br#"{"policy_number":"POL-2026-X","owner":"agent-7"}"#,
            "agent-7"
        ));
        assert!(!owned_by(br#"{"owner":"agent-7"}"#, "agent-8"));
        assert!(!owned_by(br#"{"policy_number":"POL-2026-X"}"#, "agent-7"));
        assert!(!owned_by(b"not json", "agent-7"));
    }

    #[test]
    fn bad_filters_name_their_parameter() {
        for (pairs, field) in [
            (vec![("limit", "0")], "limit"),
            (vec![("limit", "1000")], "limit"),
            (vec![("limit", "ten")], "limit"),
            (vec![("state", "ZZ")], "state"),
            (vec![("policy_type", "boat")], "policy_type"),
            (vec![("status", "open")], "status"),
            (vec![("effective_from", "2026-02-30")], "effective_from"),
            (
                vec![
                    ("effective_from", "2026-03-01"),
                    ("effective_to", "2026-02-01"),
                ],
                "effective_from",
            ),
        ] {
            assert_eq!(
                field_of(read_filter(&params(&pairs), None).unwrap_err()),
                field
            );
        }
    }

    fn list_request(pairs: &[(&str, &str)]) -> Request {
        let mut query: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in pairs {
            query
                .entry((*name).to_owned())
                .or_default()
                .push((*value).to_owned());
        }
        Request::new(Body::Empty).with_query_string_parameters(query)
    }

    #[test]
    fn a_list_request_resumes_only_from_a_cursor_issued_for_its_own_query() {
        let cursors = CursorKey::new(&[3; 32]).unwrap();
        let identity = read_filter(&params(&[("state", "CA")]), Some("agent-7"))
            .unwrap()
            .0
            .identity();
        let resume = HashMap::from([("policy_number".to_owned(), "POL-2026-000001".to_owned())]);
        let genuine = cursors.seal(&identity, resume.clone());

        let read = read_list(
            &list_request(&[("state", "CA"), ("cursor", &genuine)]),
            Some("agent-7"),
            &cursors,
        )
        .unwrap();
        assert_eq!(read.start_after, Some(resume));
        assert_eq!(read.identity, identity);
        assert_eq!(read.cursor.as_deref(), Some(genuine.as_str()));

        for (pairs, owner, field) in [
            (
                vec![("state", "TX"), ("cursor", genuine.as_str())],
                Some("agent-7"),
                "cursor",
            ),
            (
                vec![("state", "CA"), ("cursor", genuine.as_str())],
                Some("agent-8"),
                "cursor",
            ),
            (
                vec![("state", "CA"), ("cursor", "e30.AAAA")],
                Some("agent-7"),
                "cursor",
            ),
            (vec![("limit", "10"), ("limit", "20")], None, "limit"),
            (vec![("path", "../../etc/passwd")], None, "path"),
            // Found by the list_policies fuzz target: `?=099` was blamed on field "".
            (vec![("", "099")], None, "query"),
        ] {
            let err = read_list(&list_request(&pairs), owner, &cursors).unwrap_err();
            assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(field_of(err), field, "{pairs:?}");
        }
    }
}
