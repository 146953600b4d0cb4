//! `GET /api/v1/policies` and `GET /api/v1/policies/{policy_number}` (the list-policies function).

use std::collections::HashMap;

use lambda_http::Request;
use time::Date;

use super::ApiError;
use super::cursor::CursorKey;
use super::query::{page_limit, parse_with, single_params};
use crate::domain::{PolicyType, State};
use crate::rating::request::iso_date::FORMAT;
use crate::records::{PolicyFilter, PolicyStatus};

#[cfg(feature = "aws")]
pub use handlers::{Policies, ROUTES, warm};

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
    let mut params = single_params(request, &PARAMETERS)?;
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

fn invalid(field: &str, detail: String) -> ApiError {
    ApiError::InvalidField {
        field: field.to_owned(),
        detail,
    }
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
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(invalid(
            "effective_from",
            format!("{from} is after effective_to {to}"),
        ));
    }
    let limit = page_limit(params, DEFAULT_LIMIT, MAX_LIMIT)?;
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

/// The routes, their handlers and the cache warmer, over the quoting service.
#[cfg(feature = "aws")]
mod handlers {
    use std::collections::HashMap;
    use std::sync::Arc;

    use lambda_http::RequestExt;
    use lambda_http::http::StatusCode;
    use lambda_http::http::header::{ETAG, HeaderValue};
    use serde::Serialize;
    use sha2::{Digest, Sha256};
    use time::OffsetDateTime;

    use super::super::cursor::CursorKey;
    use super::super::query::single_params;
    use super::super::views::{PolicyView, transaction_view};
    use super::super::{Answer, ApiError, Call, Table, body, respond};
    use super::{FORMAT, ListRequest, read_filter, read_list};
    use crate::book::{self, Stored};
    use crate::cache::{CacheName, Lookup};
    use crate::caller::Scope;
    use crate::digest::hex;
    use crate::lifecycle::{premium, standing};
    use crate::quoting::{Quoting, is_number};
    use crate::records::{Policy, PolicySummary};
    use crate::route;
    use crate::storage::PolicyPage;
    use time::Date;

    /// What the list-policies function needs.
    #[derive(Debug, Clone)]
    pub struct Policies {
        /// Reads go through the quoting service.
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
            route!(
                POST "/api/v1/policies/{policy_number}/replay",
                Some(Scope::PoliciesRead),
                replay_route
            ),
            route!(
                GET "/api/v1/policies/{policy_number}/transactions",
                Some(Scope::PoliciesRead),
                transactions_route
            ),
        ],
    };

    /// A policy's ledger, oldest first, with where it stands today. Read from the table: a
    /// ledger answers for what is stored.
    async fn transactions_route(policies: Arc<Policies>, call: Call) -> Answer {
        let policy_number = call.params.get("policy_number");
        if !is_number("POL", policy_number) {
            return Err(no_policy());
        }
        single_params(&call.request, &[])?;
        let (policy, ledger) = policies
            .quoting
            .policy_ledger(policy_number, &call.caller)
            .await?;
        let items = ledger
            .iter()
            .map(transaction_view)
            .collect::<Result<Vec<_>, _>>()?;
        let today = OffsetDateTime::now_utc().date();
        let body = serde_json::json!({
            "policy_number": policy.policy_number,
            "items": items,
            "premium": premium(&ledger, today),
        });
        Ok(respond(StatusCode::OK, &call.request_id, &body))
    }

    /// The policy as it stood on `as_of`, from its ledger.
    async fn as_of_route(policies: &Policies, call: &Call, as_of: &str) -> Answer {
        let date = Date::parse(as_of, FORMAT).map_err(|_| ApiError::InvalidField {
            field: "as_of".to_owned(),
            detail: format!("\"{as_of}\" is not a date in the form YYYY-MM-DD"),
        })?;
        let (policy, ledger) = policies
            .quoting
            .policy_ledger(call.params.get("policy_number"), &call.caller)
            .await?;
        let mut body = serde_json::to_value(standing(&ledger, date)).map_err(ApiError::internal)?;
        if let Some(fields) = body.as_object_mut() {
            fields.insert("policy_number".into(), policy.policy_number.into());
            fields.insert("state".into(), policy.state.code().into());
            fields.insert("policy_type".into(), policy.policy_type.as_str().into());
            if let Some(request) = fields
                .get_mut("rated_on")
                .and_then(|r| r.get_mut("request"))
                && let Some(text) = request.as_str()
            {
                *request = serde_json::from_str(text).map_err(ApiError::internal)?;
            }
        }
        Ok(respond(StatusCode::OK, &call.request_id, &body))
    }

    /// Rates a policy again with the tables it names, and says whether the total is the stored
    /// one. Read from the table, not the cache: a replay answers for what is stored.
    async fn replay_route(policies: Arc<Policies>, call: Call) -> Answer {
        let policy_number = call.params.get("policy_number");
        if !is_number("POL", policy_number) {
            return Err(no_policy());
        }
        body::none(&call.request)?;
        let policy = policies.quoting.policy(policy_number).await?;
        if !call.caller.may_access(&policy.owner) {
            return Err(no_policy());
        }
        let replayed = book::replay(policies.quoting.tables(), Stored::from(&policy));
        Ok(respond(StatusCode::OK, &call.request_id, &replayed))
    }

    fn no_policy() -> ApiError {
        ApiError::NotFound {
            detail: "no policy has that number".to_owned(),
        }
    }

    async fn get_route(policies: Arc<Policies>, call: Call) -> Answer {
        let not_found = no_policy;
        let policy_number = call.params.get("policy_number");
        if !is_number("POL", policy_number) {
            return Err(not_found());
        }
        if let Some(as_of) = single_params(&call.request, &["as_of"])?.get("as_of") {
            return as_of_route(&policies, &call, as_of).await;
        }
        let policy = read_policy(&policies.quoting, policy_number).await?;
        // Someone else's policy reads as missing: its existence is not the caller's business.
        if !call.caller.may_access(&policy.owner) {
            return Err(not_found());
        }
        let mut response = respond(StatusCode::OK, &call.request_id, &PolicyView::new(&policy)?);
        // The version a change can be conditioned on (`If-Match`).
        if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", policy.version)) {
            response.headers_mut().insert(ETAG, etag);
        }
        Ok(response)
    }

    /// A policy, through the cache; kept typed, owner included, so a hit is checked like a read.
    async fn read_policy(quoting: &Quoting, policy_number: &str) -> Result<Policy, ApiError> {
        let cache = quoting.cache();
        if let Some(policy) = cache.get::<Policy>(CacheName::Policy, policy_number).await {
            return Ok(policy);
        }
        let policy = quoting.policy(policy_number).await?;
        // A fill never overwrites: a transaction that wrote a newer state meanwhile keeps it.
        cache
            .fill(
                CacheName::Policy,
                policy_number,
                &policy,
                CacheName::Policy.ttl(),
            )
            .await;
        Ok(policy)
    }

    async fn list_route(policies: Arc<Policies>, call: Call) -> Answer {
        let ListRequest {
            filter,
            limit,
            start_after,
            identity,
            ..
        } = {
            if let Some(cursor) = call.request.query_string_parameters().first("cursor") {
                policies.cursors.refresh_for(cursor).await;
            }
            read_list(&call.request, call.caller.list_owner(), &policies.cursors)?
        };
        let today = OffsetDateTime::now_utc().date();
        let key = list_cache_key(&filter, &identity, limit, start_after.as_ref(), today);
        let cache = policies.quoting.cache();
        let page = match cache.lookup::<PolicyPage>(CacheName::List, &key).await {
            Lookup::Hit(page) => page,
            Lookup::Miss(slot) => {
                let page = policies
                    .quoting
                    .list_policies(&filter, limit, start_after, today)
                    .await?;
                cache.put_in(slot, &page).await;
                page
            }
        };
        let page = Page {
            next_cursor: page
                .last_key
                .map(|key| policies.cursors.seal(&identity, key)),
            items: page.items.into_iter().map(|p| p.as_of(today)).collect(),
            limit,
        };
        Ok(respond(StatusCode::OK, &call.request_id, &page))
    }

    /// The cache key of a list page: the filter's cache scope, then the filter, the page size,
    /// where the page starts (the resume key a cursor opens to, not the cursor, whose expiry
    /// differs from one client to the next) and the day (a status filter is read as of it),
    /// digested.
    fn list_cache_key(
        filter: &super::PolicyFilter,
        identity: &str,
        limit: usize,
        start_after: Option<&HashMap<String, String>>,
        today: Date,
    ) -> String {
        let start = start_after
            .map(|key| {
                let ordered: std::collections::BTreeMap<_, _> = key.iter().collect();
                serde_json::to_string(&ordered).unwrap_or_default()
            })
            .unwrap_or_default();
        let digest = Sha256::digest(format!("{identity}|{limit}|{start}|{today}"));
        format!("{}:{}", filter.cache_scope(), hex(&digest[..16]))
    }

    /// Writes the first page of each of `filters` and each policy on the newest page into the cache,
    /// fresh from DynamoDB. Pages are kept without cursors, so this needs no cursor secret. Returns
    /// (entries warmed, entries that failed or that Redis did not take).
    #[allow(
        clippy::implicit_hasher,
        reason = "the filters come from hot_filters, with the default hasher"
    )]
    pub async fn warm(quoting: &Quoting, filters: &[HashMap<String, String>]) -> (usize, usize) {
        let cache = quoting.cache();
        let today = OffsetDateTime::now_utc().date();
        let (mut warmed, mut failed) = (0, 0);
        let mut tally = |stored: bool| if stored { warmed += 1 } else { failed += 1 };
        let mut newest = Vec::new();
        for params in filters {
            let Ok((filter, limit)) = read_filter(params, None) else {
                tally(false);
                continue;
            };
            let key = list_cache_key(&filter, &filter.identity(), limit, None, today);
            let slot = cache.slot(CacheName::List, &key).await;
            match quoting.list_policies(&filter, limit, None, today).await {
                Ok(page) => {
                    if params.is_empty() {
                        newest = page.items.iter().map(|p| p.policy_number.clone()).collect();
                    }
                    tally(cache.put_in(slot, &page).await);
                }
                Err(_) => tally(false),
            }
        }
        for number in newest {
            match quoting.policy(&number).await {
                // Filled only where nothing is: a transaction's newer state is never replaced by
                // what this run read a moment before it.
                Ok(policy) => tally(cache.fill_new(CacheName::Policy, &number, &policy).await),
                Err(_) => tally(false),
            }
        }
        (warmed, failed)
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::http::StatusCode;

    use super::super::query::with_query;

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
            &with_query(&[("state", "CA"), ("cursor", &genuine)]),
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
            let err = read_list(&with_query(&pairs), owner, &cursors).unwrap_err();
            assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(field_of(err), field, "{pairs:?}");
        }
    }
}
