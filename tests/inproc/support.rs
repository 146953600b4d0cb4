//! What the in-process tests share: replies, the sample quote, the services the functions build,
//! and dispatch through the functions' real route tables.

use std::sync::Arc;

use e2e::settings;
use lambda_http::http::HeaderMap;
use lambda_http::tower::Service;
use lambda_http::{Request, Response};
use policy_core::api::auth::AuthMode;
use policy_core::api::calculate_rate::{self, Rates};
use policy_core::api::cursor::CursorKey;
use policy_core::api::health::{self, Health};
use policy_core::api::policies::{self, Policies};
use policy_core::api::quotes::Quotes;
use policy_core::api::router::Matched;
use policy_core::api::{Router, Table, bind, impact, quotes, transactions};
use policy_core::cache::{Cache, CacheConfig};
use policy_core::quoting::Quoting;
use policy_core::rating::RateTables;
use policy_core::settings::{CursorSecret, TableNames};
use policy_core::storage::{DynamoStore, client_for};
use serde_json::Value;

/// The brief's quote body made a complete application (a driver, a vehicle and a ZIP code), so it
/// is accepted and can be bound.
pub const QUOTE: &str = r#"{"policy_type":"auto","state":"CA","coverage_requested":{"liability":500000},"drivers":[{"age":40,"years_licensed":22}],"vehicle":{"year":2022,"value":30000},"zip_code":"95814"}"#;
/// Every scope a route asks for, short of the administrator's.
pub const ALL_SCOPES: &str =
    "rates:calculate quotes:read quotes:write policies:read policies:write";

/// A response as the tests look at it.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub body: Value,
}

impl Reply {
    /// A header's value, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

impl From<Response<lambda_http::Body>> for Reply {
    fn from(response: Response<lambda_http::Body>) -> Reply {
        Reply {
            status: response.status().as_u16(),
            body: serde_json::from_slice(response.body()).unwrap_or(Value::Null),
            headers: response.headers().clone(),
        }
    }
}

/// Sends `request` through `table`'s router, with the telemetry layer, as the function's `main`
/// serves it.
pub async fn dispatch<S: Send + Sync + 'static>(
    table: &'static Table<S>,
    state: &Arc<S>,
    auth: AuthMode,
    request: Request,
) -> Reply {
    let mut service = Router::new(table, Arc::clone(state), auth).service();
    match Box::pin(service.call(request)).await {
        Ok(response) => response.into(),
        Err(never) => match never {},
    }
}

/// The local stack's table names.
pub fn table_names() -> TableNames {
    settings()
        .tables()
        .expect("run with `make test`: the stack's environment names the tables")
}

/// The quoting service over the DynamoDB at `endpoint` (`None`: the local stack's) and `tables`,
/// with `cache` in front.
pub async fn quoting_at(endpoint: Option<&str>, tables: TableNames, cache: Cache) -> Quoting {
    let settings = settings();
    let endpoint = endpoint.or(settings.dynamodb_endpoint.as_deref());
    let store = DynamoStore::new(client_for(endpoint).await, tables);
    Quoting::new(
        RateTables::builtin().unwrap(),
        store,
        time::Duration::days(30),
        Arc::new(cache),
    )
}

/// The quoting service exactly as the functions build it from the local stack's settings.
pub async fn quoting() -> Quoting {
    Quoting::from_settings(&settings())
        .await
        .expect("run with `make test`: the stack's environment names the tables")
}

/// An in-process cache only.
pub fn l1_only() -> Cache {
    Cache::new(CacheConfig::default()).unwrap()
}

/// The local stack's cursor key, from its `CURSOR_SECRET`.
pub fn local_cursor_key() -> CursorKey {
    match settings().cursor_secret().unwrap() {
        CursorSecret::Local(secret) => CursorKey::new(secret).unwrap(),
        CursorSecret::Managed(id) => {
            panic!("the local stack signs cursors with CURSOR_SECRET, not {id}")
        }
    }
}

/// The list-policies state over `quoting`, with the local stack's cursor secret.
pub fn policies_over(quoting: Quoting) -> Policies {
    Policies {
        quoting,
        cursors: local_cursor_key(),
    }
}

/// The create-quote state over `quoting`, with the local stack's cursor secret.
pub fn quotes_over(quoting: Quoting) -> Quotes {
    Quotes {
        quoting,
        cursors: local_cursor_key(),
    }
}

/// Every HTTP function, in process, over the local stack: requests go to the function whose
/// table has the path, as API Gateway routes them.
pub struct Functions {
    /// calculate-rate's state.
    pub rates: Arc<Rates>,
    /// create-quote's state.
    pub quotes: Arc<Quotes>,
    /// bind-quote's, rate-impact's and policy-transactions' state.
    pub quoting: Arc<Quoting>,
    /// list-policies' state.
    pub policies: Arc<Policies>,
    /// health's state.
    pub health: Arc<Health>,
    /// How callers are checked.
    pub auth: AuthMode,
}

fn serves<S>(table: &Table<S>, request: &Request) -> bool {
    !matches!(
        table.find(request.method(), request.uri().path()),
        Matched::NotFound
    )
}

impl Functions {
    /// The functions as their `main`s build them from the local stack's settings, checking callers
    /// as `auth` says.
    pub async fn new(auth: AuthMode) -> Functions {
        let quoting = quoting().await;
        Functions {
            rates: Arc::new(Rates {
                tables: RateTables::builtin().unwrap(),
            }),
            policies: Arc::new(policies_over(quoting.clone())),
            quotes: Arc::new(quotes_over(quoting.clone())),
            quoting: Arc::new(quoting),
            health: Arc::new(Health::from_settings(&settings(), "test").await.unwrap()),
            auth,
        }
    }

    /// The function that serves `request`'s path.
    pub fn serving(request: &Request) -> &'static str {
        if serves(&calculate_rate::ROUTES, request) {
            calculate_rate::ROUTES.function
        } else if serves(&bind::ROUTES, request) {
            bind::ROUTES.function
        } else if serves(&quotes::ROUTES, request) {
            quotes::ROUTES.function
        } else if serves(&policies::ROUTES, request) {
            policies::ROUTES.function
        } else if serves(&impact::ROUTES, request) {
            impact::ROUTES.function
        } else if serves(&transactions::ROUTES, request) {
            transactions::ROUTES.function
        } else {
            health::ROUTES.function
        }
    }

    /// Sends `request` to the function that serves its path.
    pub async fn send(&self, request: Request) -> Reply {
        let auth = self.auth;
        if serves(&calculate_rate::ROUTES, &request) {
            dispatch(&calculate_rate::ROUTES, &self.rates, auth, request).await
        } else if serves(&bind::ROUTES, &request) {
            dispatch(&bind::ROUTES, &self.quoting, auth, request).await
        } else if serves(&quotes::ROUTES, &request) {
            dispatch(&quotes::ROUTES, &self.quotes, auth, request).await
        } else if serves(&policies::ROUTES, &request) {
            dispatch(&policies::ROUTES, &self.policies, auth, request).await
        } else if serves(&impact::ROUTES, &request) {
            // rate-impact's state is the quoting service, as bind-quote's is.
            dispatch(&impact::ROUTES, &self.quoting, auth, request).await
        } else if serves(&transactions::ROUTES, &request) {
            // policy-transactions' state is the quoting service too.
            dispatch(&transactions::ROUTES, &self.quoting, auth, request).await
        } else {
            dispatch(&health::ROUTES, &self.health, auth, request).await
        }
    }
}
