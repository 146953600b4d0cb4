//! The testbed's ceiling: a profile's requests answered by the functions' own route tables in this
//! process, over the same DynamoDB Local and Redis, from the same users. The same handlers make
//! the same DynamoDB and Redis calls on the same items as behind `cargo lambda watch`, with no
//! Lambda runtime, event passing or HTTP proxy in between: what the stack's storage can serve for
//! the mix. A run over HTTP is reported as a ratio of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{Method, StatusCode};
use policy_core::api::bind;
use policy_core::api::calculate_rate::{self, Rates};
use policy_core::api::cursor::cursor_key;
use policy_core::api::policies::{self, Policies};
use policy_core::api::quotes::{self, Quotes};
use policy_core::api::transactions;
use policy_core::api::{Router, Table};
use policy_core::quoting::Quoting;
use policy_core::rating::RateTables;
use policy_core::settings::Settings;
use serde_json::{Value, json};

use crate::Error;

/// The HTTP functions a profile calls, each with its own state (its own cache and L1), as each
/// runs in its own environment.
pub struct Functions {
    rates: Router<Rates>,
    policies: Router<Policies>,
    quotes: Router<Quotes>,
    bind: Router<Quoting>,
    transactions: Router<Quoting>,
    requests: AtomicU64,
}

/// Whether `table` has a route for `method` and `path`.
fn routes<S>(table: &Table<S>, method: &Method, path: &str) -> bool {
    matches!(
        table.find(method, path),
        policy_core::api::router::Matched::Route(..)
    )
}

impl Functions {
    /// The functions as their `main`s build them, from the stack's environment file's variables.
    pub async fn from_env(env: &[(String, String)]) -> Result<Functions, Error> {
        let settings = Settings::from_lookup(|name| {
            env.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })?;
        let auth = settings.auth;
        let quoting = || Quoting::from_settings(&settings);
        Ok(Functions {
            rates: Router::new(
                &calculate_rate::ROUTES,
                Arc::new(Rates {
                    tables: RateTables::builtin()?,
                }),
                auth,
            ),
            policies: Router::new(
                &policies::ROUTES,
                Arc::new(Policies {
                    quoting: quoting().await?,
                    cursors: cursor_key(&settings).await?,
                }),
                auth,
            ),
            quotes: Router::new(
                &quotes::ROUTES,
                Arc::new(Quotes {
                    quoting: quoting().await?,
                    cursors: cursor_key(&settings).await?,
                }),
                auth,
            ),
            bind: Router::new(&bind::ROUTES, Arc::new(quoting().await?), auth),
            transactions: Router::new(&transactions::ROUTES, Arc::new(quoting().await?), auth),
            requests: AtomicU64::new(0),
        })
    }

    /// Answers one request as API Gateway would pass it to the function whose table has its route,
    /// on the runtime's worker threads: the status and the body.
    pub async fn answer(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<String>,
    ) -> Result<(StatusCode, Bytes), String> {
        let (path, _) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let request = gateway_event(&method, path_and_query, body.as_deref(), n)?;
        let answer = if routes(&calculate_rate::ROUTES, &method, path) {
            tokio::spawn(self.rates.clone().answer(request))
        } else if routes(&policies::ROUTES, &method, path) {
            tokio::spawn(self.policies.clone().answer(request))
        } else if routes(&quotes::ROUTES, &method, path) {
            tokio::spawn(self.quotes.clone().answer(request))
        } else if routes(&bind::ROUTES, &method, path) {
            tokio::spawn(self.bind.clone().answer(request))
        } else if routes(&transactions::ROUTES, &method, path) {
            tokio::spawn(self.transactions.clone().answer(request))
        } else {
            return Err(format!("no function answers {method} {path}"));
        };
        let response = answer.await.map_err(|_| "handler panicked".to_owned())?;
        let status = response.status();
        Ok((status, Bytes::copy_from_slice(response.body().as_ref())))
    }
}

/// An HTTP API (payload 2.0) event for the request, made into the request a function's handler is
/// given: as `cargo lambda watch` or API Gateway passes it.
fn gateway_event(
    method: &Method,
    path_and_query: &str,
    body: Option<&str>,
    n: u64,
) -> Result<lambda_http::Request, String> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut parameters = serde_json::Map::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        parameters.insert(name.to_owned(), json!(value));
    }
    let mut event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "requestId": format!("ceiling-{n}"),
            "routeKey": "$default", "stage": "$default", "time": "01/Dec/2026:00:00:00 +0000",
            "timeEpoch": 0,
            "http": {"method": method.as_str(), "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "loadtest"}
        },
        "body": body.unwrap_or_default(), "isBase64Encoded": false
    });
    if !parameters.is_empty() {
        event["queryStringParameters"] = Value::Object(parameters);
    }
    lambda_http::request::from_str(&event.to_string()).map_err(|e| format!("event: {e}"))
}
