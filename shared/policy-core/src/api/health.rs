//! `GET /api/v1/health` (the health function).
//!
//! Shallow by default (`?deep=false`): build, rate tables, uptime and cold start, no network, so it
//! can take a load test. `?deep=true` also checks DynamoDB and the cache, concurrently, each bounded
//! by [`CHECK_TIMEOUT`]: a cache outage is `degraded` (200), DynamoDB unreachable is `down` (503,
//! problem+json). The body names no host, table or AWS error: only status and latency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::http::StatusCode;
use redis::AsyncConnectionConfig;
use serde::Serialize;

use super::query::single_params;
use super::{Answer, ApiError, Call, PROBLEM_TYPE_PREFIX, Table, respond, with_headers};
use crate::rating::RateTables;
use crate::route;
use crate::settings::Settings;

/// How long each dependency check may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(500);

/// Overall health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Everything answered.
    Ok,
    /// The cache is unreachable; requests still succeed, slower.
    Degraded,
    /// DynamoDB is unreachable; quotes and policies fail.
    Down,
}

/// One dependency's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `ok`, `down` (for the cache: `degraded` overall), or `not_configured`.
    pub status: &'static str,
    /// How long the check took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
}

/// Per-dependency checks of a deep health call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Checks {
    /// The policies table answered a read.
    pub dynamodb: Check,
    /// The cache answered PING.
    pub cache: Check,
}

/// The health document.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// Overall status.
    pub status: Status,
    /// Crate version.
    pub version: &'a str,
    /// Git revision the binary was built from.
    pub revision: &'a str,
    /// Rate tables compiled in.
    pub rate_table_version: &'a str,
    /// Seconds since this execution environment started.
    pub uptime_seconds: u64,
    /// Whether this invocation is the environment's first.
    pub cold_start: bool,
    /// Dependency checks (deep calls only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<Checks>,
}

/// The 503 answer: a problem document carrying the checks.
#[derive(Debug, Serialize)]
struct DownProblem<'a> {
    #[serde(rename = "type")]
    type_uri: String,
    title: &'static str,
    status: u16,
    detail: &'static str,
    request_id: &'a str,
    health: Report<'a>,
}

/// What the health function holds for the life of the execution environment.
#[derive(Debug)]
pub struct Health {
    dynamodb: Client,
    policies_table: String,
    cache: Option<redis::Client>,
    revision: &'static str,
    rate_table_version: String,
    started: Instant,
    /// The open cache connection, reused by every deep check while it works.
    connection: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    /// The last deep checks and when they ran: kept for [`Health::checks_kept_for`].
    last: std::sync::Mutex<Option<(Instant, Checks)>>,
    keep_checks: Duration,
}

/// How long the result of a deep check answers deep calls: the route is public, and a caller
/// polling it must not turn into DynamoDB reads and Redis connections one for one.
pub const DEEP_CHECK_TTL: Duration = Duration::from_secs(5);

impl Health {
    /// Health over `dynamodb` (reading `policies_table`) and the cache at `cache_url` (`redis://` or,
    /// with TLS as ElastiCache Serverless needs, `rediss://`), if one is configured.
    pub fn new(
        tables: &RateTables,
        dynamodb: Client,
        policies_table: String,
        cache_url: Option<&str>,
        cache_ca: Option<&[u8]>,
        revision: &'static str,
    ) -> Result<Health, redis::RedisError> {
        Ok(Health {
            dynamodb,
            policies_table,
            cache: cache_url
                .map(|url| crate::cache::redis_client(url, cache_ca))
                .transpose()?,
            revision,
            rate_table_version: tables
                .commons()
                .last()
                .map(|common| format!("common-{}", common.version))
                .unwrap_or_default(),
            started: Instant::now(),
            connection: tokio::sync::Mutex::new(None),
            last: std::sync::Mutex::new(None),
            keep_checks: DEEP_CHECK_TTL,
        })
    }

    /// The same, keeping each deep check's result for `ttl` instead of [`DEEP_CHECK_TTL`].
    #[must_use]
    pub fn checks_kept_for(self, ttl: Duration) -> Health {
        Health {
            keep_checks: ttl,
            ..self
        }
    }

    /// From the settings read at cold start: the policies table, the DynamoDB endpoint and the
    /// cache, if one is configured.
    pub async fn from_settings(
        settings: &Settings,
        revision: &'static str,
    ) -> Result<Health, Box<dyn std::error::Error + Send + Sync>> {
        let tables = RateTables::builtin()?;
        let client = crate::storage::client_for(settings.dynamodb_endpoint.as_deref()).await;
        Ok(Health::new(
            tables,
            client,
            settings.policies_table()?.to_owned(),
            settings.cache.redis_url.as_deref(),
            settings.cache.redis_ca.as_deref(),
            revision,
        )?)
    }

    /// Both checks, run concurrently, or their result from the last run if it is recent enough.
    pub async fn checks(&self) -> Checks {
        let kept = *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, checks)) = kept
            && at.elapsed() < self.keep_checks
        {
            return checks;
        }
        let (dynamodb, cache) = tokio::join!(self.check_dynamodb(), self.check_cache());
        let checks = Checks { dynamodb, cache };
        *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((Instant::now(), checks));
        checks
    }

    async fn check_dynamodb(&self) -> Check {
        let started = Instant::now();
        let read = self
            .dynamodb
            .get_item()
            .table_name(&self.policies_table)
            .key(
                "policy_number",
                AttributeValue::S("HEALTH-CHECK".to_owned()),
            )
            .send();
        let ok = matches!(tokio::time::timeout(CHECK_TIMEOUT, read).await, Ok(Ok(_)));
        timed(ok, started)
    }

    async fn check_cache(&self) -> Check {
        let Some(client) = &self.cache else {
            return Check {
                status: "not_configured",
                latency_ms: None,
            };
        };
        let started = Instant::now();
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CHECK_TIMEOUT))
            .set_response_timeout(Some(CHECK_TIMEOUT));
        let mut open = self.connection.lock().await;
        let ping = async {
            let connection = match open.as_mut() {
                Some(connection) => connection,
                None => open.insert(
                    client
                        .get_multiplexed_async_connection_with_config(&config)
                        .await?,
                ),
            };
            redis::cmd("PING").query_async::<String>(connection).await
        };
        let ok = matches!(tokio::time::timeout(CHECK_TIMEOUT, ping).await, Ok(Ok(reply)) if reply == "PONG");
        if !ok {
            // Next time, a new connection.
            *open = None;
        }
        timed(ok, started)
    }

    /// The report for one invocation; `deep` runs the dependency checks.
    pub async fn report(&self, deep: bool, cold_start: bool) -> Report<'_> {
        let checks = if deep {
            Some(self.checks().await)
        } else {
            None
        };
        let status = match checks {
            Some(c) if c.dynamodb.status != "ok" => Status::Down,
            Some(c) if c.cache.status == "down" => Status::Degraded,
            _ => Status::Ok,
        };
        Report {
            status,
            version: env!("CARGO_PKG_VERSION"),
            revision: self.revision,
            rate_table_version: &self.rate_table_version,
            uptime_seconds: self.started.elapsed().as_secs(),
            cold_start,
            checks,
        }
    }
}

fn timed(ok: bool, started: Instant) -> Check {
    let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Check {
        status: if ok { "ok" } else { "down" },
        latency_ms: Some(latency),
    }
}

/// The health function's routes: public, so a load balancer or a probe needs no token.
pub static ROUTES: Table<Health> = Table {
    function: "health",
    routes: &[route!(GET "/api/v1/health", None, answer)],
};

async fn answer(health: Arc<Health>, call: Call) -> Answer {
    let request_id = call.request_id.as_str();
    let params = single_params(&call.request, &["deep"])?;
    let deep = match params.get("deep").map(String::as_str) {
        Some("true") => true,
        None | Some("false") => false,
        Some(_) => {
            return Err(ApiError::InvalidField {
                field: "deep".to_owned(),
                detail: "must be true or false".to_owned(),
            });
        }
    };
    let report = health.report(deep, call.cold_start).await;
    if report.status != Status::Down {
        return Ok(respond(StatusCode::OK, request_id, &report));
    }
    let problem = DownProblem {
        type_uri: format!("{PROBLEM_TYPE_PREFIX}dependency-down"),
        title: "Dependency down",
        status: StatusCode::SERVICE_UNAVAILABLE.as_u16(),
        detail: "DynamoDB is unreachable; quotes and policies cannot be served",
        request_id,
        health: report,
    };
    let body = serde_json::to_vec(&problem).map_err(ApiError::internal)?;
    Ok(with_headers(
        StatusCode::SERVICE_UNAVAILABLE,
        "application/problem+json",
        request_id,
        body,
    ))
}
