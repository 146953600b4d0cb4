//! The two-level cache against real Redis servers: hits, misses, expiry, invalidation on bind,
//! warm-cache, corrupt entries, and Redis stopped, blackholed and restarted mid-run.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use e2e::{Redis, TlsRedis, complete_auto, gateway_request, get, post_json};
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use policy_core::api::auth::AuthMode;
use policy_core::api::policies::{self, Policies};
use policy_core::api::warm::{self, hot_filters};
use policy_core::cache::{Cache, CacheConfig, CacheName, Level, Lookup};
use policy_core::caller::{ANONYMOUS, Caller};
use policy_core::rating::RateTables;
use policy_core::records::QuoteStatus;
use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::support::{dispatch, policies_over, quoting_at, table_names};

fn config(url: &str) -> CacheConfig {
    // Tests share two cores with the whole stack: allow Redis more than the production 25 ms.
    CacheConfig {
        redis_url: Some(url.to_owned()),
        timeout: Duration::from_millis(200),
        breaker: Duration::from_millis(300),
        ..CacheConfig::default()
    }
}

async fn redis_keys(url: &str, pattern: &str) -> Vec<String> {
    let mut c = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut keys: Vec<String> = c.keys(pattern).await.unwrap();
    keys.sort();
    keys
}

/// The list generation Redis holds now.
async fn generation(url: &str) -> u64 {
    let raw = redis_raw(url, "pd:v2:generation:list:all").await.unwrap();
    String::from_utf8(raw).unwrap().parse().unwrap()
}

async fn redis_raw(url: &str, key: &str) -> Option<Vec<u8>> {
    let mut c = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    c.get(key).await.unwrap()
}

/// The list-policies service over the stack's tables, with `cache` in front.
async fn policies_with(cache: Cache) -> Arc<Policies> {
    Arc::new(policies_over(quoting_at(None, table_names(), cache).await))
}

async fn list(policies: &Arc<Policies>, query: &str) -> (u16, Value) {
    let request = gateway_request(None, "GET", &format!("/api/v1/policies?{query}"), "", None);
    let reply = dispatch(&policies::ROUTES, policies, AuthMode::Off, request).await;
    (reply.status, resume_point(reply.body))
}

/// A page with its cursor replaced by what the cursor says (the filter and the resume key), its
/// expiry left out: two answers of one page a second apart carry different cursors, as each
/// expires an hour after it was sealed, and are the same page.
fn resume_point(mut page: Value) -> Value {
    if let Some(cursor) = page["next_cursor"].as_str() {
        let payload = cursor.split('.').next().unwrap();
        let mut opened: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        opened
            .as_object_mut()
            .unwrap()
            .remove("e")
            .expect("cursors expire");
        page["next_cursor"] = opened;
    }
    page
}

/// Runs the warm-cache job with the sample scheduled event.
async fn run_warm_cache(policies: &Policies) -> warm::WarmReport {
    let quoting = &policies.quoting;
    let text =
        std::fs::read_to_string(e2e::events_dir().join("warm-cache/scheduled.json")).unwrap();
    let event = serde_json::from_str(&text).unwrap();
    warm::handle(quoting, None, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_miss_then_hits_from_memory_and_from_redis_and_entries_expire() {
    let redis = Redis::start();
    // Given a value put by one execution environment
    let writer = Cache::new(config(&redis.url())).unwrap();
    assert_eq!(
        writer
            .get_raw(CacheName::Policy, "p1")
            .await
            .map(|(_, l)| l),
        None,
        "a miss first"
    );
    writer.put(CacheName::Policy, "p1", &"value").await;

    // Then it hits in memory there, and from Redis in another environment (which then holds it)
    assert_eq!(
        writer
            .get_raw(CacheName::Policy, "p1")
            .await
            .map(|(_, l)| l),
        Some(Level::L1)
    );
    let reader = Cache::new(CacheConfig {
        l1_ttl: Duration::from_millis(300),
        ..config(&redis.url())
    })
    .unwrap();
    assert_eq!(
        reader
            .get_raw(CacheName::Policy, "p1")
            .await
            .map(|(_, l)| l),
        Some(Level::L2)
    );
    assert_eq!(
        reader
            .get_raw(CacheName::Policy, "p1")
            .await
            .map(|(_, l)| l),
        Some(Level::L1)
    );

    // And the in-process copy expires on its TTL, while Redis holds the entry for the name's TTL
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        reader
            .get_raw(CacheName::Policy, "p1")
            .await
            .map(|(_, l)| l),
        Some(Level::L2)
    );
    let mut c = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let ttl: i64 = c.ttl("pd:v2:policy:p1").await.unwrap();
    assert!(ttl > 0 && ttl <= 3600, "TTL {ttl}");
    let ttl: i64 = {
        writer.put(CacheName::List, "page", &1).await;
        let g = generation(&redis.url()).await;
        c.ttl(format!("pd:v2:list:g{g}:page")).await.unwrap()
    };
    assert!(ttl > 0 && ttl <= 60, "list TTL {ttl}");
}

#[tokio::test]
async fn a_corrupt_or_old_format_entry_is_a_miss_and_is_overwritten() {
    let redis = Redis::start();
    let policies = policies_with(Cache::new(config(&redis.url())).unwrap()).await;
    let (_, page) = list(&policies, "state=PA&limit=1").await;
    let number = page["items"][0]["policy_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = format!("pd:v2:policy:{number}");
    let mut c = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for garbage in [
        &b"\x01{truncated"[..],
        b"\x00{\"an\":\"older format\"}",
        b"",
    ] {
        c.set::<_, _, ()>(&key, garbage).await.unwrap();
        let fresh = policies_with(Cache::new(config(&redis.url())).unwrap()).await;
        let path = format!("/api/v1/policies/{number}");
        let request = gateway_request(None, "GET", &path, "", None);
        let reply = dispatch(&policies::ROUTES, &fresh, AuthMode::Off, request).await;
        assert_eq!(reply.status, 200);
        let body = reply.body;
        assert_eq!(body["policy_number"], number.as_str());
        let stored = redis_raw(&redis.url(), &key).await.unwrap();
        assert_eq!(stored[0], 2, "overwritten with the current format");
        // The policy itself is cached, owner included, not the view it was answered with.
        let cached: Value = serde_json::from_slice(&stored[1..]).unwrap();
        for field in ["policy_number", "owner", "total_premium", "effective_date"] {
            assert_eq!(cached[field], body[field], "{field}");
        }
    }
}

#[tokio::test]
async fn warm_cache_fills_the_keys_it_reports() {
    let redis = Redis::start();
    let policies = policies_with(Cache::new(config(&redis.url())).unwrap()).await;
    let report = run_warm_cache(&policies).await;
    let lists = redis_keys(&redis.url(), "pd:v2:list:*").await;
    let singles = redis_keys(&redis.url(), "pd:v2:policy:*").await;
    assert_eq!(report.failed, 0);
    assert_eq!(
        lists.len(),
        hot_filters(RateTables::builtin().unwrap()).len(),
        "one first page per hot filter"
    );
    assert_eq!(singles.len(), 20, "every policy on the newest page");
    assert_eq!(report.warmed, lists.len() + singles.len());

    // And a cold environment then answers those reads from Redis
    let cold = Cache::new(config(&redis.url())).unwrap();
    for key in lists {
        // `pd:v2:list:g<generation of the page's scope>:<scope>:<digest>`
        let (_, name) = key
            .strip_prefix("pd:v2:list:g")
            .and_then(|rest| rest.split_once(':'))
            .unwrap();
        assert_eq!(
            cold.get_raw(CacheName::List, name)
                .await
                .map(|(_, level)| level),
            Some(Level::L2)
        );
    }
}

#[tokio::test]
async fn a_page_read_before_a_bind_and_stored_after_it_is_never_served() {
    let redis = Redis::start();
    let lister = Cache::new(config(&redis.url())).unwrap();
    let binder = Cache::new(config(&redis.url())).unwrap();
    let miss = |lookup: Lookup<Value>| match lookup {
        Lookup::Miss(slot) => slot,
        Lookup::Hit(value) => panic!("a miss first, not {value}"),
    };
    // Given a page that missed, was read from DynamoDB, and was cached
    let slot = miss(lister.lookup(CacheName::List, "page").await);
    assert!(lister.put_in(slot, &json!({"items": ["old"]})).await);
    let slot = miss(lister.lookup(CacheName::List, "other-page").await);
    // When a bind lands while another page is being read, and that page is stored after it
    binder.invalidate_lists(&["all"]).await;
    assert!(
        lister
            .put_in(slot, &json!({"items": ["read before the bind"]}))
            .await
    );
    // Then no environment without the pages in memory is served either page
    let fresh = Cache::new(config(&redis.url())).unwrap();
    assert_eq!(fresh.get::<Value>(CacheName::List, "page").await, None);
    assert_eq!(
        fresh.get::<Value>(CacheName::List, "other-page").await,
        None
    );
    // But a page read after the bind is stored in the new generation and served from Redis
    let slot = miss(fresh.lookup(CacheName::List, "page").await);
    assert!(fresh.put_in(slot, &json!({"items": ["new"]})).await);
    let another = Cache::new(config(&redis.url())).unwrap();
    assert_eq!(
        another
            .get_raw(CacheName::List, "page")
            .await
            .map(|(_, level)| level),
        Some(Level::L2)
    );
    assert_eq!(
        another.get::<Value>(CacheName::List, "page").await,
        Some(json!({"items": ["new"]}))
    );
    assert_eq!(
        redis_keys(&redis.url(), "pd:v2:list:*").await,
        {
            let g = generation(&redis.url()).await;
            let mut keys = vec![
                format!("pd:v2:list:g{}:other-page", g - 1),
                format!("pd:v2:list:g{}:page", g - 1),
                format!("pd:v2:list:g{g}:page"),
            ];
            keys.sort();
            keys
        },
        "the old pages stayed in the retired generation, to expire"
    );
}

#[tokio::test]
async fn a_change_retires_only_the_list_scopes_it_names() {
    let redis = Redis::start();
    let lister = Cache::new(config(&redis.url())).unwrap();
    let pages = [
        "all:p",
        "state=CA:p",
        "state=NY:p",
        "type=home:p",
        "owner=ab:p",
    ];
    for key in pages {
        lister.put(CacheName::List, key, &json!(key)).await;
    }
    // When a change to a CA auto policy moves on its scopes, in another environment
    let binder = Cache::new(config(&redis.url())).unwrap();
    binder
        .invalidate_lists(&["all", "state=CA", "type=auto"])
        .await;
    // Then the pages in those scopes are gone for every environment reading Redis, and the
    // others are still served from it
    let fresh = Cache::new(config(&redis.url())).unwrap();
    for key in pages {
        let expected = ["state=NY:p", "type=home:p", "owner=ab:p"]
            .contains(&key)
            .then(|| json!(key));
        assert_eq!(
            fresh.get::<Value>(CacheName::List, key).await,
            expected,
            "{key}"
        );
    }
}

#[tokio::test]
async fn warm_cache_succeeds_when_redis_is_down_and_says_what_failed() {
    let closed = format!("redis://127.0.0.1:{}", e2e::free_port());
    let policies = policies_with(Cache::new(config(&closed)).unwrap()).await;
    let report = run_warm_cache(&policies).await;
    assert_eq!(report.warmed, 0);
    assert_eq!(
        report.failed,
        hot_filters(RateTables::builtin().unwrap()).len() + 20
    );
}

#[tokio::test]
async fn requests_answer_correctly_while_redis_stops_and_restarts() {
    // Given a warm cache
    let mut redis = Redis::start();
    let port: u16 = redis.url().rsplit(':').next().unwrap().parse().unwrap();
    let cache = CacheConfig {
        l1_ttl: Duration::from_millis(1),
        ..config(&redis.url())
    };
    let policies = policies_with(Cache::new(cache).unwrap()).await;
    let (_, expected) = list(&policies, "state=IL&limit=5").await;

    // When Redis stops mid-run, every request still answers the same (from DynamoDB)
    redis.stop();
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(
            list(&policies, "state=IL&limit=5").await,
            (200, expected.clone())
        );
    }
    println!("5 list reads with Redis stopped: {:?}", started.elapsed());

    // And after it restarts (empty) and the breaker closes, the cache fills and hits again
    let redis = Redis::on(port);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut refilled = false;
    for _ in 0..20 {
        assert_eq!(
            list(&policies, "state=IL&limit=5").await,
            (200, expected.clone())
        );
        if !redis_keys(&redis.url(), "pd:v2:list:*").await.is_empty() {
            refilled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(refilled, "the cache is used again after Redis restarts");
}

#[tokio::test]
async fn a_blackholed_redis_costs_a_timeout_not_a_failure() {
    // Given a "Redis" that accepts connections and never answers
    let blackhole = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", blackhole.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in blackhole.incoming() {
            held.push(stream);
        }
    });
    let policies = policies_with(
        Cache::new(CacheConfig {
            l1_ttl: Duration::from_millis(1),
            ..config(&url)
        })
        .unwrap(),
    )
    .await;

    // Then reads answer correctly
    let started = Instant::now();
    let (status, first) = list(&policies, "state=MI&limit=3").await;
    assert_eq!(status, 200);
    println!(
        "first list read with Redis blackholed: {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(
            list(&policies, "state=MI&limit=3").await,
            (200, first.clone())
        );
    }
    println!("5 more with the breaker open: {:?}", started.elapsed());
}

#[test]
fn binding_invalidates_the_quote_and_list_pages_in_redis() {
    // Given an accepted quote read once (so Redis holds it) and a list page cached
    let redis_url = std::env::var("REDIS_URL").expect("make test sets REDIS_URL");
    let created = post_json(
        "/api/v1/quotes",
        &complete_auto(
            json!({"policy_type": "auto", "state": "CA", "coverage": {"liability": 300_000}}),
        ),
    );
    let quote_id = created.json["quote_id"].as_str().unwrap().to_owned();
    assert_eq!(
        get(&format!("/api/v1/quotes/{quote_id}")).json["status"],
        "quoted"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = format!("pd:v2:quote:{quote_id}");
    assert!(
        runtime.block_on(redis_raw(&redis_url, &key)).is_some(),
        "the read filled Redis"
    );
    assert_eq!(get("/api/v1/policies?state=CA&limit=3").status, 200);
    assert!(
        !runtime
            .block_on(redis_keys(&redis_url, "pd:v2:list:*"))
            .is_empty()
    );

    // When it is bound
    assert_eq!(
        post_json(&format!("/api/v1/quotes/{quote_id}/bind"), &json!({})).status,
        201
    );

    // Then Redis holds it bound (the bind wrote its new state over the entry) and so does the next
    // read
    let cached = runtime.block_on(redis_raw(&redis_url, &key)).unwrap();
    let cached: Value = serde_json::from_slice(&cached[1..]).unwrap();
    assert_eq!(cached["status"], "bound");
    assert_eq!(
        get(&format!("/api/v1/quotes/{quote_id}")).json["status"],
        "bound"
    );
}

#[tokio::test]
async fn a_tls_url_against_a_plain_server_is_a_miss_not_a_panic() {
    // rediss:// (ElastiCache Serverless needs TLS) must find a TLS provider at run time; a
    // handshake with a server that does not speak TLS fails as a miss.
    let redis = Redis::start();
    let url = redis.url().replacen("redis://", "rediss://", 1);
    let cache = Cache::new(config(&url)).unwrap();
    cache.put(CacheName::Policy, "tls", &1).await;
    let fresh = Cache::new(config(&url)).unwrap();
    assert_eq!(fresh.get::<i32>(CacheName::Policy, "tls").await, None);
}

#[tokio::test]
async fn a_lost_or_garbled_generation_counter_starts_past_every_old_generation() {
    let redis = Redis::start();
    let url = redis.url();
    let lister = Cache::new(config(&url)).unwrap();
    let mut c = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    // Given a page stored under the counter as first seeded, from the clock
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    lister
        .put(CacheName::List, "page", &json!({"items": ["old"]}))
        .await;
    let first = generation(&url).await;
    assert!(
        u128::from(first) >= before,
        "{first} is seeded from the clock"
    );

    // When the counter is evicted, then read again by another environment
    c.del::<_, ()>("pd:v2:generation:list:all").await.unwrap();
    let fresh = Cache::new(config(&url)).unwrap();

    // Then the old page is not served: the counter starts past it
    assert_eq!(fresh.get::<Value>(CacheName::List, "page").await, None);
    assert!(generation(&url).await > first);

    // And a counter that is not a number is read as missing, not as a Redis failure
    c.set::<_, _, ()>("pd:v2:generation:list:all", "not-a-number")
        .await
        .unwrap();
    let another = Cache::new(config(&url)).unwrap();
    assert_eq!(another.get::<Value>(CacheName::List, "page").await, None);
    another
        .put(CacheName::List, "page", &json!({"items": ["new"]}))
        .await;
    assert!(generation(&url).await > first);
    // The page went to Redis: the breaker did not trip on the garbled counter
    let third = Cache::new(config(&url)).unwrap();
    assert_eq!(
        third.get::<Value>(CacheName::List, "page").await,
        Some(json!({"items": ["new"]})),
    );
    let after_bump = {
        lister.invalidate_lists(&["all"]).await;
        generation(&url).await
    };
    assert!(after_bump > first);
}

#[tokio::test]
async fn a_quote_read_before_a_bind_and_cached_after_it_is_never_served() {
    // Given an accepted quote, and a reader that has just read it from DynamoDB as `quoted`
    let redis = Redis::start();
    let quoting = quoting_at(
        None,
        table_names(),
        Cache::new(config(&redis.url())).unwrap(),
    )
    .await;
    let body = complete_auto(json!({"policy_type": "auto", "state": "CA",
                                          "coverage": {"liability": 300_000}}));
    let request = serde_json::from_value(body.clone()).unwrap();
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let made = quoting
        .create(request, body.to_string(), ANONYMOUS, None, now)
        .await
        .unwrap();
    let id = made.quote.quote_id.clone();
    let read_by_the_reader = quoting.get(&id).await.unwrap();
    assert_eq!(read_by_the_reader.status, QuoteStatus::Quoted);

    // When the quote is bound, and only then does the reader fill the cache with what it read
    quoting
        .bind(&id, &Caller::anonymous_admin(), now)
        .await
        .unwrap();
    quoting
        .cache()
        .fill(
            CacheName::Quote,
            &id,
            &read_by_the_reader,
            Duration::from_secs(300),
        )
        .await;

    // Then every environment reads it bound
    for _ in 0..2 {
        let other = quoting_at(
            None,
            table_names(),
            Cache::new(config(&redis.url())).unwrap(),
        )
        .await;
        let quote = other.get(&id).await.unwrap();
        assert_eq!(quote.status, QuoteStatus::Bound, "{quote:?}");
    }
    assert_eq!(quoting.get(&id).await.unwrap().status, QuoteStatus::Bound);
}

#[tokio::test]
async fn a_quote_waiting_to_be_bound_is_cached_no_longer_than_until_it_expires() {
    let redis = Redis::start();
    let quoting = quoting_at(
        None,
        table_names(),
        Cache::new(config(&redis.url())).unwrap(),
    )
    .await;
    let body = complete_auto(json!({"policy_type": "auto", "state": "TX",
                                          "coverage": {"liability": 300_000}}));
    let request = serde_json::from_value(body.clone()).unwrap();
    // Made 30 days less 90 seconds ago: it expires in 90 seconds.
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
        - time::Duration::days(30)
        + time::Duration::seconds(90);
    let made = quoting
        .create(request, body.to_string(), ANONYMOUS, None, now)
        .await
        .unwrap();
    let id = made.quote.quote_id;
    quoting.get(&id).await.unwrap();
    let mut c = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let ttl: i64 = c.ttl(format!("pd:v2:quote:{id}")).await.unwrap();
    assert!(
        (1..=90).contains(&ttl),
        "TTL {ttl} s for a quote that expires in 90 s"
    );
}

#[tokio::test]
async fn a_bind_while_redis_is_down_is_written_to_it_as_soon_as_it_answers() {
    // Given a cached quote, and Redis going away
    let mut redis = Redis::start();
    let port: u16 = redis.url().rsplit(':').next().unwrap().parse().unwrap();
    let binder = Cache::new(config(&redis.url())).unwrap();
    binder
        .write_through(CacheName::Quote, "Q-1", &json!({"status": "quoted"}))
        .await;
    binder.invalidate_lists(&["all"]).await;
    let before_bind = generation(&redis.url()).await;
    redis.stop();

    // When a bind changes the quote and the lists while Redis is down
    binder
        .write_through(CacheName::Quote, "Q-1", &json!({"status": "bound"}))
        .await;
    binder.invalidate_lists(&["all"]).await;

    // Then, once Redis is back (with its data) and the breaker has closed, the binder's next use
    // of Redis writes what it owed first: other environments read the bound quote, and lists
    // have moved on
    let redis = Redis::on_with_data(
        port,
        &[
            ("pd:v2:quote:Q-1", "\u{2}{\"status\":\"quoted\"}"),
            ("pd:v2:generation:list:all", &before_bind.to_string()),
        ],
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        binder.get::<Value>(CacheName::Policy, "anything").await,
        None
    );
    let other = Cache::new(config(&redis.url())).unwrap();
    assert_eq!(
        other.get::<Value>(CacheName::Quote, "Q-1").await,
        Some(json!({"status": "bound"}))
    );
    assert!(generation(&redis.url()).await > before_bind);
}

fn tls_config(url: &str, ca: Vec<u8>) -> CacheConfig {
    CacheConfig {
        redis_ca: Some(ca),
        ..config(url)
    }
}

#[tokio::test]
async fn the_cache_speaks_tls_to_a_server_its_ca_signed_and_refuses_any_other() {
    // Given a Redis that speaks TLS only, as ElastiCache Serverless does
    let redis = TlsRedis::start();

    // When an environment that trusts the server's CA writes and another reads
    let writer = Cache::new(tls_config(&redis.url(), redis.ca())).unwrap();
    let slot = writer.slot(CacheName::Policy, "tls").await;
    assert!(
        writer.put_in(slot, &json!({"over": "tls"})).await,
        "Redis took it"
    );
    let reader = Cache::new(tls_config(&redis.url(), redis.ca())).unwrap();

    // Then the value comes back from Redis, over TLS
    assert_eq!(
        reader
            .get_raw(CacheName::Policy, "tls")
            .await
            .map(|(_, level)| level),
        Some(Level::L2)
    );

    // And a client that trusts another CA refuses the server: nothing is read or written, and the
    // request still gets its answer (a miss)
    let wary = Cache::new(tls_config(&redis.url(), redis.other_ca())).unwrap();
    assert_eq!(wary.get::<Value>(CacheName::Policy, "tls").await, None);
    let slot = wary.slot(CacheName::Policy, "wary").await;
    assert!(
        !wary.put_in(slot, &json!(1)).await,
        "nothing written to an untrusted server"
    );
}

/// The access string `template.yaml` gives the functions' cache user.
fn template_access_string() -> String {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    template["Resources"]["CacheDefaultUser"]["Properties"]["AccessString"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_cache_does_all_it_does_as_the_templates_user_which_cannot_flush_or_reach_other_keys() {
    // Given a Redis whose default user (the one the functions connect as) has the template's
    // access string, and an administrator to look with
    let redis = Redis::start();
    let url = redis.url();
    let mut admin = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("ACL")
        .arg(
            &[
                "SETUSER",
                "admin",
                "on",
                ">admin-password",
                "~*",
                "&*",
                "+@all",
            ][..],
        )
        .query_async(&mut admin)
        .await
        .unwrap();
    let mut rules = vec![
        "SETUSER".to_owned(),
        "default".to_owned(),
        "reset".to_owned(),
    ];
    rules.extend(
        template_access_string()
            .split_whitespace()
            .map(str::to_owned),
    );
    let _: () = redis::cmd("ACL")
        .arg(&rules)
        .query_async(&mut admin)
        .await
        .unwrap();
    let admin_url = url.replacen("redis://", "redis://admin:admin-password@", 1);

    // When the cache puts, reads from Redis, fills lists under the generation script, and
    // invalidates, as the functions do
    let writer = Cache::new(config(&url)).unwrap();
    writer.put(CacheName::Policy, "acl", &"value").await;
    writer.put(CacheName::List, "acl-page", &1).await;
    let reader = Cache::new(config(&url)).unwrap();
    let hit = |level: Option<(Arc<[u8]>, Level)>| level.map(|(_, l)| l);

    // Then every step works as that user: a fresh environment reads both from Redis
    assert_eq!(
        hit(reader.get_raw(CacheName::Policy, "acl").await),
        Some(Level::L2)
    );
    assert_eq!(
        hit(reader.get_raw(CacheName::List, "acl-page").await),
        Some(Level::L2)
    );
    let before = generation(&admin_url).await;
    writer.invalidate(CacheName::Policy, "acl").await;
    writer.invalidate_lists(&["all"]).await;
    assert_eq!(
        generation(&admin_url).await,
        before + 1,
        "lists invalidated"
    );
    assert_eq!(
        redis_raw(&admin_url, "pd:v2:policy:acl").await,
        None,
        "deleted"
    );

    // And the user cannot flush, list every key, reconfigure, or touch a key outside `pd:`
    let mut user = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for command in [
        redis::cmd("FLUSHALL"),
        redis::cmd("FLUSHDB"),
        redis::cmd("KEYS").arg("*").clone(),
        redis::cmd("CONFIG")
            .arg(&["SET", "maxmemory", "1"][..])
            .clone(),
        redis::cmd("SET").arg(&["other:key", "1"][..]).clone(),
    ] {
        let refused: redis::RedisResult<redis::Value> = command.query_async(&mut user).await;
        let err = refused.expect_err("refused");
        assert!(
            err.to_string().to_ascii_uppercase().contains("NOPERM"),
            "{err}"
        );
    }
    let survived: Option<Vec<u8>> = redis_raw(&admin_url, "pd:v2:generation:list:all").await;
    assert!(survived.is_some(), "nothing was flushed");
}
