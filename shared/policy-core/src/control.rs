//! The cache's control plane: what ElastiCache says about the serverless cache (its status and
//! usage limits), read with `DescribeServerlessCaches` by warm-cache before it warms. Only
//! warm-cache asks: a public route never calls a control plane (the deep health check stays on the
//! data plane, a Redis `PING`).

#[cfg(feature = "elasticache")]
use aws_sdk_elasticache::Client;
#[cfg(feature = "elasticache")]
use aws_sdk_elasticache::error::DisplayErrorContext;
#[cfg(feature = "elasticache")]
use aws_sdk_elasticache::operation::describe_serverless_caches::DescribeServerlessCachesError;
#[cfg(feature = "elasticache")]
use aws_sdk_elasticache::types::{DataStorage, EcpuPerSecond};
use serde::Serialize;

/// The status in which a serverless cache serves reads and writes.
pub const AVAILABLE: &str = "available";

/// What ElastiCache reported about the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheState {
    /// The cache's name.
    pub name: String,
    /// `available`, `creating`, `modifying`, `deleting` or `create-failed`.
    pub status: String,
    /// `redis` or `valkey`, and its version.
    pub engine: Option<String>,
    /// The data storage limit, e.g. `10 GB`.
    pub max_data_storage: Option<String>,
    /// The compute limit, in ECPUs per second.
    pub max_ecpu_per_second: Option<i32>,
}

impl CacheState {
    /// Whether the cache serves reads and writes.
    pub fn is_available(&self) -> bool {
        self.status == AVAILABLE
    }
}

/// Why the cache's state could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// The call failed (no route to the API, no permission, throttled...).
    #[error("DescribeServerlessCaches failed: {0}")]
    Call(String),
    /// ElastiCache knows no cache by that name.
    #[error("ElastiCache has no serverless cache named {0}")]
    NotFound(String),
}

/// A client of ElastiCache's API for one serverless cache.
#[cfg(feature = "elasticache")]
#[derive(Debug, Clone)]
pub struct CacheControl {
    client: Client,
    name: String,
}

#[cfg(feature = "elasticache")]
impl CacheControl {
    /// The control plane of the cache `name`; `endpoint` points at a stand-in for the API (`None`:
    /// the region's).
    pub async fn new(name: String, endpoint: Option<&str>) -> CacheControl {
        CacheControl {
            client: Client::new(&crate::sdk::config(endpoint).await),
            name,
        }
    }

    /// The cache's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads the cache's status and limits.
    pub async fn describe(&self) -> Result<CacheState, ControlError> {
        let output =
            self.client
                .describe_serverless_caches()
                .serverless_cache_name(&self.name)
                .send()
                .await
                .map_err(|err| {
                    if err.as_service_error().is_some_and(
                        DescribeServerlessCachesError::is_serverless_cache_not_found_fault,
                    ) {
                        ControlError::NotFound(self.name.clone())
                    } else {
                        ControlError::Call(DisplayErrorContext(&err).to_string())
                    }
                })?;
        let cache = output
            .serverless_caches()
            .iter()
            .find(|cache| cache.serverless_cache_name() == Some(self.name.as_str()))
            .ok_or_else(|| ControlError::NotFound(self.name.clone()))?;
        let limits = cache.cache_usage_limits();
        let storage = limits.and_then(|l| l.data_storage());
        Ok(CacheState {
            name: self.name.clone(),
            status: cache.status().unwrap_or("unknown").to_owned(),
            engine: cache
                .engine()
                .map(|engine| match cache.full_engine_version() {
                    Some(version) => format!("{engine} {version}"),
                    None => engine.to_owned(),
                }),
            max_data_storage: storage.and_then(DataStorage::maximum).map(|maximum| {
                let unit = storage.and_then(|s| s.unit()).map_or("GB", |u| u.as_str());
                format!("{maximum} {unit}")
            }),
            max_ecpu_per_second: limits
                .and_then(|l| l.ecpu_per_second())
                .and_then(EcpuPerSecond::maximum),
        })
    }
}
