//! `GET /api/v1/policies` and `GET /api/v1/policies/{policy_number}` (the list-policies function).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::Date;

use super::cursor::CursorKey;
use super::views::PolicyView;
use super::{Answer, ApiError, Call, Table, respond_json};
use crate::cache::CacheName;
use crate::caller::{Caller, Scope};
use crate::domain::{PolicyType, State};
use crate::quoting::{QuoteError, Quoting, is_number};
use crate::rating::request::iso_date::FORMAT;
use crate::records::{PolicyStatus, PolicySummary};
use crate::route;
use crate::storage::{ALL_POLICIES, ListQuery, state_product};

/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest page.
pub const MAX_LIMIT: usize = 100;
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
    /// Reads go through the quoting service's store.
    pub quoting: Quoting,
    /// Signs and checks cursors.
    pub cursors: CursorKey,
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

/// The list-policies function's routes.
pub static ROUTES: Table<Policies> = Table {
    function: "list-policies",
    routes: &[
        route!(GET "/api/v1/policies", Some(Scope::PoliciesRead), list_route),
        route!(
            GET "/api/v1/policies/{policy_number}",
            Some(Scope::PoliciesRead),
            get_route
        ),
    ],
};

async fn list_route(policies: Arc<Policies>, call: Call) -> Answer {
    list(&policies, &call.caller, &call.request, &call.request_id).await
}

async fn get_route(policies: Arc<Policies>, call: Call) -> Answer {
    let number = call.params.get("policy_number");
    get(&policies, &call.caller, number, &call.request_id).await
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
        query,
        identity,
        cursor,
    } = read_list(request, caller.list_owner(), &policies.cursors)?;
    let key = list_cache_key(&identity, query.limit, cursor.as_deref());
    let cache = policies.quoting.cache();
    let slot = match cache.get_body(CacheName::List, &key).await {
        Ok(body) => return Ok(respond_json(StatusCode::OK, request_id, body.json())),
        Err(slot) => slot,
    };
    let body = list_body(policies, query, &identity).await?;
    cache.put_body(slot, &body).await;
    Ok(respond_json(StatusCode::OK, request_id, &body))
}

/// The cache key of a list page: the query, the page size and the cursor, digested.
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
    /// The DynamoDB query, resuming after the cursor's key when there is a cursor.
    pub query: ListQuery,
    /// What cursors and cache keys of this query are bound to.
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
    let (mut query, identity) = list_query(&params, owner)?;
    let cursor = params.remove("cursor");
    if let Some(cursor) = &cursor {
        query.start_after = Some(cursors.open(&identity, cursor)?);
    }
    Ok(ListRequest {
        query,
        identity,
        cursor,
    })
}

/// The response body for one page, read from DynamoDB.
async fn list_body(
    policies: &Policies,
    query: ListQuery,
    identity: &str,
) -> Result<Vec<u8>, ApiError> {
    let page = policies
        .quoting
        .store()
        .list_policies(&query)
        .await
        .map_err(QuoteError::from)?;
    let next_cursor = page
        .last_key
        .map(|key| policies.cursors.seal(identity, key));
    let page = Page {
        items: page.items,
        limit: query.limit,
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
        let Ok((query, identity)) = list_query(params, None) else {
            tally(false);
            continue;
        };
        let slot = cache
            .slot(
                CacheName::List,
                &list_cache_key(&identity, query.limit, None),
            )
            .await;
        match list_body(policies, query, &identity).await {
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

/// The DynamoDB query for the filters, limited to `owner`'s policies when there is one, and a
/// string naming it that cursors and cache keys are bound to.
fn list_query(
    params: &HashMap<String, String>,
    owner: Option<&str>,
) -> Result<(ListQuery, String), ApiError> {
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
    let (index, partition) = match (owner, state, policy_type, status) {
        (Some(owner), ..) => ("by_owner", ("owner", owner.to_owned())),
        (None, Some(state), Some(product), _) => (
            "by_state_product",
            ("state_product", state_product(state, product)),
        ),
        (None, Some(state), None, _) => ("by_state", ("state", state.code().to_owned())),
        (None, None, Some(product), _) => (
            "by_policy_type",
            ("policy_type", product.as_str().to_owned()),
        ),
        (None, None, None, Some(status)) => ("by_status", ("status", status.as_str().to_owned())),
        (None, None, None, None) => ("by_effective", ("all_policies", ALL_POLICIES.to_owned())),
    };
    // What the index's partition does not already select is filtered.
    let filters: Vec<(&'static str, String)> = [
        ("state", state.map(|s| s.code().to_owned())),
        ("policy_type", policy_type.map(|p| p.as_str().to_owned())),
        ("status", status.map(|s| s.as_str().to_owned())),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value?)))
    .filter(|(name, _)| match index {
        "by_state_product" => *name == "status",
        "by_state" | "by_policy_type" | "by_status" => *name != partition.0,
        _ => true,
    })
    .collect();
    // effective_key is "YYYY-MM-DD#POL-..."; '~' sorts after every character of a policy number.
    let from_key = from.map(|d| format!("{d}#"));
    let to_key = to.map(|d| format!("{d}#~"));
    let identity = format!(
        "{index}|{}|{from_key:?}|{to_key:?}|{filters:?}",
        partition.1
    );
    let query = ListQuery {
        index,
        partition,
        from_key,
        to_key,
        filters,
        limit,
        start_after: None,
    };
    Ok((query, identity))
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
    fn each_filter_combination_picks_its_index() {
        let cases = [
            (
                vec![
                    ("state", "CA"),
                    ("policy_type", "auto"),
                    ("status", "active"),
                ],
                "by_state_product",
                "CA#auto",
                vec!["status"],
            ),
            (vec![("state", "CA")], "by_state", "CA", vec![]),
            (
                vec![("policy_type", "home"), ("status", "cancelled")],
                "by_policy_type",
                "home",
                vec!["status"],
            ),
            (vec![("status", "active")], "by_status", "active", vec![]),
            (vec![], "by_effective", "policy", vec![]),
        ];
        for (pairs, index, partition, filtered) in cases {
            let (query, _) = list_query(&params(&pairs), None).unwrap();
            assert_eq!(
                (query.index, query.partition.1.as_str()),
                (index, partition)
            );
            let names: Vec<&str> = query.filters.iter().map(|(name, _)| *name).collect();
            assert_eq!(names, filtered, "{pairs:?}");
            assert_eq!(query.limit, DEFAULT_LIMIT);
        }
    }

    #[test]
    fn an_owner_lists_from_its_own_partition_with_every_filter() {
        let pairs = [
            ("state", "CA"),
            ("policy_type", "auto"),
            ("status", "active"),
        ];
        let (query, identity) = list_query(&params(&pairs), Some("agent-7")).unwrap();
        assert_eq!(query.index, "by_owner");
        assert_eq!(query.partition, ("owner", "agent-7".to_owned()));
        assert_eq!(
            query.filters,
            vec![
                ("state", "CA".to_owned()),
                ("policy_type", "auto".to_owned()),
                ("status", "active".to_owned())
            ]
        );
        // Cursors and cache entries of one caller are not another's.
        let (_, other) = list_query(&params(&pairs), Some("agent-8")).unwrap();
        let (_, admin) = list_query(&params(&pairs), None).unwrap();
        assert_ne!(identity, other);
        assert_ne!(identity, admin);
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
                field_of(list_query(&params(&pairs), None).unwrap_err()),
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
        let (_, identity) = list_query(&params(&[("state", "CA")]), Some("agent-7")).unwrap();
        let resume = HashMap::from([("policy_number".to_owned(), "POL-2026-000001".to_owned())]);
        let genuine = cursors.seal(&identity, resume.clone());

        let read = read_list(
            &list_request(&[("state", "CA"), ("cursor", &genuine)]),
            Some("agent-7"),
            &cursors,
        )
        .unwrap();
        assert_eq!(read.query.start_after, Some(resume));
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

    #[test]
    fn date_bounds_cover_whole_days() {
        let (query, identity) = list_query(
            &params(&[
                ("effective_from", "2026-01-01"),
                ("effective_to", "2026-01-31"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(query.from_key.as_deref(), Some("2026-01-01#"));
        assert_eq!(query.to_key.as_deref(), Some("2026-01-31#~"));
        let (_, other) = list_query(&params(&[("effective_from", "2026-01-02")]), None).unwrap();
        assert_ne!(identity, other);
    }
}
