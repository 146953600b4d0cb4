//! The two-level read cache: a bounded in-process L1 (moka) in front of Redis / Valkey (L2, as
//! ElastiCache serves it), cache-aside.
//!
//! It makes reads faster and can never fail one: every Redis error or timeout (tens of
//! milliseconds) counts as a miss, a breaker skips Redis for a few seconds after a failure, Redis
//! absent at cold start is fine, and an entry that does not decode (corrupt, or written by an older
//! format) is a miss that the caller overwrites. Keys carry a format version, so a deploy with a new
//! format never reads old entries.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use crate::telemetry::{self, CacheLookup};

/// Version of the key and value format; bump it when a cached type changes shape.
pub const FORMAT_VERSION: u8 = 2;
const KEY_PREFIX: &str = "pd:v2:";

/// What is cached, each with its own TTL in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheName {
    /// `GET /api/v1/quotes/{id}`: a stored quote.
    Quote,
    /// `GET /api/v1/policies/{number}`: a full policy.
    Policy,
    /// `GET /api/v1/policies?...`: one page of a list.
    List,
}

impl CacheName {
    /// Name in keys and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheName::Quote => "quote",
            CacheName::Policy => "policy",
            CacheName::List => "list",
        }
    }

    /// How long Redis keeps an entry: what bounds staleness in other execution environments.
    pub fn ttl(self) -> Duration {
        match self {
            // A quote: binds and decisions write their new state over it; a fill is also cut short
            // at the quote's expiry (see `Quoting::get`). A policy: every transaction writes its
            // new state over it; a read fills it only where nothing is (`Cache::fill`), so a read
            // that raced a transaction cannot put the older state back. Five minutes bounds what
            // a lost write-through would leave.
            CacheName::Quote | CacheName::Policy => Duration::from_secs(300),
            // A new policy can join any page: keep pages short-lived.
            CacheName::List => Duration::from_secs(60),
        }
    }

    /// Whether entries are also kept in-process. Quotes are not: binding changes a quote in another
    /// function, which can clear Redis but not this environment's memory, and a client that binds
    /// then reads its quote must see it bound.
    pub fn uses_l1(self) -> bool {
        self != CacheName::Quote
    }

    /// Whether one write can change many entries, so that Redis drops them at once by moving to a
    /// new generation of keys: lists, which a new policy can join on any page. A generational key
    /// is `<scope>:<rest>`: each scope has its own generation, and a write moves on the scopes it
    /// can change (see [`crate::records::PolicyFilter::cache_scope`]). A key without a colon is
    /// in the scope `all`.
    fn generational(self) -> bool {
        self == CacheName::List
    }
}

/// The cache's settings: read once at cold start with every other setting.
pub use crate::settings::CacheSettings as CacheConfig;

/// Where a value goes in both levels. For lists it names the Redis generation current when it was
/// made: a page read from DynamoDB before a bind and stored after it lands in the generation the bind
/// retired, where no reader looks.
#[derive(Debug, Clone)]
pub struct Slot {
    name: CacheName,
    l1_key: String,
    /// `None` when Redis is not configured or did not answer.
    l2_key: Option<String>,
}

/// What a lookup found: the value, or the slot a fresh value goes to.
#[derive(Debug)]
pub enum Lookup<T> {
    /// The cached value.
    Hit(T),
    /// Not cached (or not decodable): where to put a fresh value.
    Miss(Slot),
}

/// Where a read was answered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// In-process.
    L1,
    /// Redis.
    L2,
}

impl Level {
    /// Name in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::L1 => "l1",
            Level::L2 => "l2",
        }
    }
}

struct L2 {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    /// Milliseconds since the cache was made until which Redis is skipped.
    open_until_ms: AtomicU64,
    /// Writes that carry a change and did not reach Redis, applied when it answers again.
    owed: std::sync::Mutex<Owed>,
    /// Whether anything is owed, read without the lock on every command.
    owes: AtomicBool,
}

/// Writes owed to Redis: what a bind or a decision changed while Redis was failing or the breaker
/// was open. Without them another environment could serve the old state for the entries' TTL.
#[derive(Default)]
struct Owed {
    /// The generation counters that must move on.
    bumps: BTreeSet<String>,
    /// Values to put over what Redis holds, by key, with their TTL in seconds.
    puts: HashMap<String, (Arc<[u8]>, u64)>,
}

/// The most values owed at once; past that the oldest states are left to expire on their TTL.
const MAX_OWED_PUTS: usize = 1024;

/// The two-level cache. Cheap to share by reference; build one per execution environment.
pub struct Cache {
    l1: moka::future::Cache<String, Arc<[u8]>>,
    l2: Option<L2>,
    config: CacheConfig,
    born: Instant,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("l1_entries", &self.l1.entry_count())
            .field("l2", &self.l2.is_some())
            .finish_non_exhaustive()
    }
}

fn full_key(name: CacheName, key: &str) -> String {
    format!("{KEY_PREFIX}{}:{key}", name.as_str())
}

/// Reads a generation counter; one that is missing (evicted, flushed) or not a whole number is set
/// to the seed first, atomically, so a garbled counter costs no breaker trip.
static READ_GENERATION: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"local v = redis.call('GET', KEYS[1])
          if not v or not string.find(v, '^%d+$') then
            redis.call('SET', KEYS[1], ARGV[1])
            v = ARGV[1]
          end
          return v",
    )
});

/// Moves each generation counter in `KEYS` on by one, seeding it first as [`READ_GENERATION`]
/// does: all in one round trip and at once.
static BUMP_GENERATIONS: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"for _, key in ipairs(KEYS) do
            local v = redis.call('GET', key)
            if not v or not string.find(v, '^%d+$') then
              redis.call('SET', key, ARGV[1])
            end
            redis.call('INCR', key)
          end
          return #KEYS",
    )
});

/// What a missing generation counter starts from: microseconds since the Unix epoch. A counter lost
/// and seeded again starts past every generation it reached before (no environment binds more than
/// once a microsecond), so pages stored under an old generation are never read again.
fn clock_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// A client for the Redis at `url`; with `ca` (PEM), TLS (`rediss://`) trusts those CAs only,
/// instead of the system's.
pub fn redis_client(url: &str, ca: Option<&[u8]>) -> Result<redis::Client, redis::RedisError> {
    match ca {
        None => redis::Client::open(url),
        Some(ca) => redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(ca.to_vec()),
            },
        ),
    }
}

/// The scope of a generational cache's `key`: what comes before its last colon, or `all`.
fn scope_of(key: &str) -> &str {
    key.rsplit_once(':').map_or("all", |(scope, _)| scope)
}

/// The Redis counter of one scope of a generational cache; its entries live under
/// `<prefix><name>:g<n>:<key>`, `<key>` starting with the scope.
fn generation_key(name: CacheName, scope: &str) -> String {
    format!("{KEY_PREFIX}generation:{}:{scope}", name.as_str())
}

impl Cache {
    /// A cache with `config`. Redis is connected lazily, so a cold start never waits for it.
    pub fn new(config: CacheConfig) -> Result<Cache, redis::RedisError> {
        let l2 = match &config.redis_url {
            Some(url) => Some(L2 {
                client: redis_client(url, config.redis_ca.as_deref())?,
                connection: OnceCell::new(),
                open_until_ms: AtomicU64::new(0),
                owed: std::sync::Mutex::new(Owed::default()),
                owes: AtomicBool::new(false),
            }),
            None => None,
        };
        let l1 = moka::future::Cache::builder()
            .max_capacity(config.l1_max_bytes)
            .weigher(|key: &String, value: &Arc<[u8]>| {
                u32::try_from(key.len() + value.len()).unwrap_or(u32::MAX)
            })
            .time_to_live(config.l1_ttl)
            .support_invalidation_closures()
            .build();
        Ok(Cache {
            l1,
            l2,
            config,
            born: Instant::now(),
        })
    }

    /// Connects to Redis now, within the connect timeout, so the first request does not pay for
    /// it, and logs how long it took (`cache_connect_us`, which the cold-start benchmark reads).
    /// Failure is logged and left to the breaker.
    pub async fn connect(&self) {
        if self.l2.is_none() {
            return;
        }
        let started = Instant::now();
        if self.connection().await.is_some() {
            let tls = self
                .config
                .redis_url
                .as_deref()
                .is_some_and(|url| url.starts_with("rediss://"));
            tracing::info!(
                cache_connect_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                tls,
                "cache: connected to Redis"
            );
        } else {
            tracing::warn!(
                "cache: Redis not reachable at start; serving from DynamoDB until it is"
            );
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    async fn connection(&self) -> Option<ConnectionManager> {
        let l2 = self.l2.as_ref()?;
        if self.now_ms() < l2.open_until_ms.load(Ordering::Relaxed) {
            return None;
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.config.timeout))
            .set_response_timeout(Some(self.config.timeout))
            .set_number_of_retries(0);
        let connect = l2.connection.get_or_try_init(|| async {
            tokio::time::timeout(
                self.config.connect_timeout,
                ConnectionManager::new_with_config(l2.client.clone(), config),
            )
            .await
            .map_err(|_| redis::RedisError::from((redis::ErrorKind::Io, "connect timed out")))?
        });
        match connect.await {
            Ok(connection) => Some(connection.clone()),
            Err(err) => {
                self.trip(&err.to_string());
                None
            }
        }
    }

    fn trip(&self, why: &str) {
        telemetry::record_cache_error();
        if let Some(l2) = &self.l2 {
            let until =
                self.now_ms() + u64::try_from(self.config.breaker.as_millis()).unwrap_or(u64::MAX);
            l2.open_until_ms.store(until, Ordering::Relaxed);
        }
        tracing::warn!(error = why, "cache: Redis failed; skipping it for a while");
    }

    /// Runs a Redis command (`name`, for the trace: e.g. `GET`, for the cache `cache`) within the
    /// timeout; any failure trips the breaker and yields `None`.
    async fn redis<T, F>(
        &self,
        (name, cache): (&'static str, CacheName),
        command: impl FnOnce(ConnectionManager) -> F,
    ) -> Option<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        use tracing::Instrument;
        let connection = self.connection().await?;
        self.pay_owed(&connection).await;
        let span = telemetry::xray::redis(name, cache.as_str());
        match tokio::time::timeout(self.config.timeout, command(connection).instrument(span)).await
        {
            Ok(Ok(value)) => Some(value),
            Ok(Err(err)) => {
                self.trip(&err.to_string());
                None
            }
            Err(_) => {
                self.trip("command timed out");
                None
            }
        }
    }

    /// Applies the writes owed, first of all, once Redis answers again; what still fails stays owed.
    async fn pay_owed(&self, connection: &ConnectionManager) {
        let Some(l2) = &self.l2 else { return };
        if !l2.owes.swap(false, Ordering::AcqRel) {
            return;
        }
        let owed = std::mem::take(&mut *l2.owed.lock().unwrap_or_else(PoisonError::into_inner));
        let mut unpaid = Owed::default();
        let seed = clock_seed();
        if !owed.bumps.is_empty() {
            let mut c = connection.clone();
            let bumped = tokio::time::timeout(
                self.config.timeout,
                BUMP_GENERATIONS
                    .key(owed.bumps.iter().collect::<Vec<_>>())
                    .arg(seed)
                    .invoke_async::<u64>(&mut c),
            )
            .await;
            if !matches!(bumped, Ok(Ok(_))) {
                unpaid.bumps = owed.bumps;
            }
        }
        for (key, (value, ttl)) in owed.puts {
            let mut c = connection.clone();
            let put = tokio::time::timeout(
                self.config.timeout,
                c.set_ex::<_, _, ()>(&key, value.as_ref(), ttl),
            )
            .await;
            if !matches!(put, Ok(Ok(()))) {
                unpaid.puts.insert(key, (value, ttl));
            }
        }
        if !unpaid.bumps.is_empty() || !unpaid.puts.is_empty() {
            self.owe(unpaid);
        } else {
            tracing::info!("cache: writes owed to Redis applied");
        }
    }

    /// Keeps `owed` for when Redis answers again.
    fn owe(&self, owed: Owed) {
        let Some(l2) = &self.l2 else { return };
        let mut all = l2.owed.lock().unwrap_or_else(PoisonError::into_inner);
        all.bumps.extend(owed.bumps);
        for (key, value) in owed.puts {
            if all.puts.len() < MAX_OWED_PUTS || all.puts.contains_key(&key) {
                all.puts.insert(key, value);
            }
        }
        l2.owes.store(true, Ordering::Release);
    }

    /// Puts `value` under `key` over whatever the cache holds, as a write that changed the source
    /// does (a bind, a decision). If Redis does not take it now, it is owed, and put as soon as
    /// Redis answers again, so the old state is not served for its TTL.
    pub async fn write_through<T: Serialize>(&self, name: CacheName, key: &str, value: &T) {
        let mut bytes = vec![FORMAT_VERSION];
        if serde_json::to_writer(&mut bytes, value).is_err() {
            return;
        }
        let slot = self.slot(name, key).await;
        let l2_key = slot.l2_key.clone().unwrap_or_else(|| full_key(name, key));
        let value: Arc<[u8]> = bytes.into();
        if !self.put_raw(slot, value.to_vec()).await && self.l2.is_some() {
            let mut owed = Owed::default();
            owed.puts.insert(l2_key, (value, name.ttl().as_secs()));
            self.owe(owed);
        }
    }

    /// Counts a lookup in the current request's metrics.
    fn count(name: CacheName, level: Level, hit: bool) {
        let lookup = CacheLookup {
            cache: name.as_str(),
            level: level.as_str(),
        };
        telemetry::record_cache(lookup, hit);
    }

    /// Where `key` goes now. For lists this reads the generation from Redis (one round trip).
    pub async fn slot(&self, name: CacheName, key: &str) -> Slot {
        let l1_key = full_key(name, key);
        let l2_key = if self.l2.is_none() {
            None
        } else if name.generational() {
            let counter = generation_key(name, scope_of(key));
            let seed = clock_seed();
            self.redis(("EVALSHA", name), |mut c| async move {
                READ_GENERATION
                    .key(counter)
                    .arg(seed)
                    .invoke_async::<u64>(&mut c)
                    .await
            })
            .await
            .map(|generation| full_key(name, &format!("g{generation}:{key}")))
        } else {
            Some(l1_key.clone())
        };
        Slot {
            name,
            l1_key,
            l2_key,
        }
    }

    /// The raw entry for `key`, from L1 or else L2 (which then fills L1); on a miss, the slot a
    /// fresh value goes to.
    async fn lookup_raw(&self, name: CacheName, key: &str) -> Result<(Arc<[u8]>, Level), Slot> {
        if name.uses_l1() {
            if let Some(value) = self.l1.get(&full_key(name, key)).await {
                Self::count(name, Level::L1, true);
                return Ok((value, Level::L1));
            }
            Self::count(name, Level::L1, false);
        }
        let slot = self.slot(name, key).await;
        if self.l2.is_none() {
            return Err(slot);
        }
        let found: Option<Vec<u8>> = match slot.l2_key.clone() {
            Some(l2_key) => self
                .redis(("GET", name), |mut c| async move { c.get(l2_key).await })
                .await
                .flatten(),
            None => None,
        };
        Self::count(name, Level::L2, found.is_some());
        let Some(found) = found else {
            return Err(slot);
        };
        let value: Arc<[u8]> = found.into();
        if name.uses_l1() {
            self.l1.insert(slot.l1_key, value.clone()).await;
        }
        Ok((value, Level::L2))
    }

    /// The raw entry for `key`, from L1 or else L2.
    pub async fn get_raw(&self, name: CacheName, key: &str) -> Option<(Arc<[u8]>, Level)> {
        self.lookup_raw(name, key).await.ok()
    }

    /// The decoded entry for `key`, or on a miss the slot a fresh value goes to: taken before the
    /// caller reads its source, so a write that retires the slot's generation in between keeps the
    /// older value from being served. An entry that does not decode (corrupt, or of another
    /// format) is a miss, dropped from both levels, so the fresh value replaces it everywhere.
    pub async fn lookup<T: DeserializeOwned>(&self, name: CacheName, key: &str) -> Lookup<T> {
        let raw = match self.lookup_raw(name, key).await {
            Ok((raw, _)) => raw,
            Err(slot) => return Lookup::Miss(slot),
        };
        if let Some((&FORMAT_VERSION, json)) = raw.split_first() {
            match serde_json::from_slice(json) {
                Ok(value) => return Lookup::Hit(value),
                Err(err) => {
                    tracing::warn!(cache = name.as_str(), error = %err, "cache: undecodable entry");
                }
            }
        } else {
            tracing::warn!(cache = name.as_str(), "cache: entry of another format");
        }
        // Dropped from both levels, so a fill that writes only where nothing is can replace it.
        self.invalidate(name, key).await;
        Lookup::Miss(self.slot(name, key).await)
    }

    /// The decoded entry for `key`, if there is one that decodes.
    pub async fn get<T: DeserializeOwned>(&self, name: CacheName, key: &str) -> Option<T> {
        match self.lookup(name, key).await {
            Lookup::Hit(value) => Some(value),
            Lookup::Miss(_) => None,
        }
    }

    /// Stores `value` in `slot`, both levels (Redis with the name's TTL); true if Redis took it.
    pub async fn put_in<T: Serialize>(&self, slot: Slot, value: &T) -> bool {
        let mut bytes = vec![FORMAT_VERSION];
        if serde_json::to_writer(&mut bytes, value).is_err() {
            return false;
        }
        self.put_raw(slot, bytes).await
    }

    /// Stores `value` under `key` in the current generation, both levels.
    pub async fn put<T: Serialize>(&self, name: CacheName, key: &str, value: &T) {
        let slot = self.slot(name, key).await;
        self.put_in(slot, value).await;
    }

    /// Stores encoded bytes in both levels; true if Redis took them.
    pub async fn put_raw(&self, slot: Slot, bytes: Vec<u8>) -> bool {
        let value: Arc<[u8]> = bytes.into();
        if slot.name.uses_l1() {
            self.l1.insert(slot.l1_key, value.clone()).await;
        }
        let Some(l2_key) = slot.l2_key else {
            return false;
        };
        let ttl = slot.name.ttl().as_secs();
        self.redis(("SET", slot.name), |mut c| async move {
            c.set_ex::<_, _, ()>(l2_key, value.as_ref(), ttl).await
        })
        .await
        .is_some()
    }

    /// Fills `key` with `value` read from the source, unless an entry is there already, in Redis for
    /// at most `ttl` (and the name's TTL): `SET NX`. A writer that changed the source puts its new
    /// value with [`Cache::put`], which overwrites; a reader that read the source just before that
    /// write and fills after it finds the key taken, so the value it read is never served.
    pub async fn fill<T: Serialize>(&self, name: CacheName, key: &str, value: &T, ttl: Duration) {
        let mut bytes = vec![FORMAT_VERSION];
        if serde_json::to_writer(&mut bytes, value).is_err() {
            return;
        }
        let slot = self.slot(name, key).await;
        let value: Arc<[u8]> = bytes.into();
        if name.uses_l1() {
            self.l1.insert(slot.l1_key, value.clone()).await;
        }
        let Some(l2_key) = slot.l2_key else {
            return;
        };
        self.set_new(name, l2_key, value, ttl.min(name.ttl())).await;
    }

    /// `SET key value NX EX ttl` (at least a second): true when Redis answered, whether it kept
    /// this value or one already there.
    async fn set_new(
        &self,
        name: CacheName,
        l2_key: String,
        value: Arc<[u8]>,
        ttl: Duration,
    ) -> bool {
        let seconds = ttl.as_secs().max(1);
        self.redis(("SET", name), |mut c| async move {
            redis::cmd("SET")
                .arg(l2_key)
                .arg(value.as_ref())
                .arg("NX")
                .arg("EX")
                .arg(seconds)
                .query_async::<Option<String>>(&mut c)
                .await
        })
        .await
        .is_some()
    }

    /// Fills `key` with `value` in Redis for the name's TTL only if nothing is there (`SET NX`);
    /// true when Redis has an entry for `key` afterwards (this one or a newer one). L1 is left
    /// alone: a warmer fills the shared level for the environments that start next.
    pub async fn fill_new<T: Serialize>(&self, name: CacheName, key: &str, value: &T) -> bool {
        let mut bytes = vec![FORMAT_VERSION];
        if serde_json::to_writer(&mut bytes, value).is_err() {
            return false;
        }
        let slot = self.slot(name, key).await;
        let Some(l2_key) = slot.l2_key else {
            return false;
        };
        self.set_new(name, l2_key, bytes.into(), name.ttl()).await
    }

    /// Removes `key` from both levels.
    pub async fn invalidate(&self, name: CacheName, key: &str) {
        let key = full_key(name, key);
        self.l1.invalidate(&key).await;
        self.redis(
            ("DEL", name),
            |mut c| async move { c.del::<_, ()>(key).await },
        )
        .await;
    }

    /// Drops the list pages of `scopes`: in Redis by moving each scope to a new generation, whose
    /// keys no page was stored under (the old generation's pages expire on their TTL), all in one
    /// round trip; and every list page in this environment's L1 at once.
    pub async fn invalidate_lists<S: AsRef<str>>(&self, scopes: &[S]) {
        let name = CacheName::List;
        let prefix = full_key(name, "");
        if let Err(err) = self
            .l1
            .invalidate_entries_if(move |key, _| key.starts_with(&prefix))
        {
            tracing::warn!(error = %err, "cache: L1 invalidation not supported");
        }
        if scopes.is_empty() {
            return;
        }
        let counters: BTreeSet<String> = scopes
            .iter()
            .map(|scope| generation_key(name, scope.as_ref()))
            .collect();
        let seed = clock_seed();
        let keys: Vec<&String> = counters.iter().collect();
        let bumped = self
            .redis(("EVALSHA", name), |mut c| async move {
                BUMP_GENERATIONS
                    .key(keys)
                    .arg(seed)
                    .invoke_async::<u64>(&mut c)
                    .await
            })
            .await;
        if bumped.is_none() && self.l2.is_some() {
            self.owe(Owed {
                bumps: counters,
                ..Owed::default()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_key_is_in_the_scope_before_its_last_colon() {
        assert_eq!(scope_of("state=CA:0f3a"), "state=CA");
        assert_eq!(scope_of("owner=ab:cd:0f3a"), "owner=ab:cd");
        assert_eq!(scope_of("0f3a"), "all");
        assert_eq!(
            generation_key(CacheName::List, "state=CA"),
            "pd:v2:generation:list:state=CA"
        );
    }

    #[test]
    fn keys_carry_the_format_version_and_the_cache_name() {
        assert_eq!(
            full_key(CacheName::Policy, "POL-2026-000001"),
            "pd:v2:policy:POL-2026-000001"
        );
    }

    #[tokio::test]
    async fn l1_alone_hits_misses_and_counts_them_for_the_request() {
        let cache = Cache::new(CacheConfig::default()).unwrap();
        let record = telemetry::Record::default();
        telemetry::recording(record.clone(), async {
            assert_eq!(cache.get::<String>(CacheName::Policy, "a").await, None);
            cache.put(CacheName::Policy, "a", &"hello").await;
            assert_eq!(
                cache.get::<String>(CacheName::Policy, "a").await.as_deref(),
                Some("hello")
            );
        })
        .await;
        let policy_l1 = CacheLookup {
            cache: "policy",
            level: "l1",
        };
        assert_eq!(record.lock().unwrap().cache, vec![(policy_l1, 1, 1)]);
    }

    #[tokio::test]
    async fn an_undecodable_entry_is_a_miss_and_is_dropped() {
        let cache = Cache::new(CacheConfig::default()).unwrap();
        let slot = cache.slot(CacheName::Policy, "p").await;
        cache.put_raw(slot, b"\x02{not json".to_vec()).await;
        assert_eq!(cache.get::<String>(CacheName::Policy, "p").await, None);
        let slot = cache.slot(CacheName::Policy, "old").await;
        cache.put_raw(slot, b"\x00\"v0\"".to_vec()).await;
        assert_eq!(cache.get::<String>(CacheName::Policy, "old").await, None);
        assert!(
            cache.get_raw(CacheName::Policy, "p").await.is_none(),
            "dropped from L1"
        );
    }

    #[tokio::test]
    async fn invalidating_lists_clears_lists_only() {
        let cache = Cache::new(CacheConfig::default()).unwrap();
        cache.put(CacheName::List, "a", &1).await;
        cache.put(CacheName::Policy, "a", &2).await;
        cache.invalidate_lists(&["all"]).await;
        cache.l1.run_pending_tasks().await;
        assert_eq!(cache.get::<i32>(CacheName::List, "a").await, None);
        assert_eq!(cache.get::<i32>(CacheName::Policy, "a").await, Some(2));
    }
}
