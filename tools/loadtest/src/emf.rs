//! The CloudWatch Embedded Metric Format lines the functions print, read back out of the
//! `cargo lambda watch` log with the functions' own line types (`policy_core::telemetry::emf`):
//! cache hits and misses, handler latency and DynamoDB call latency.

use std::collections::BTreeMap;

use policy_core::telemetry::emf::{self, CacheMetrics, RequestMetrics};

/// Hits and misses of one cache at one level.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// `CacheHit`.
    pub hits: u64,
    /// `CacheMiss`.
    pub misses: u64,
}

/// The requests of one route and the DynamoDB calls they made.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RouteCalls {
    /// Requests answered.
    pub requests: u64,
    /// `DynamoDbCalls`, summed.
    pub calls: u64,
}

/// What the EMF lines of a run add up to.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Metrics {
    /// By `(cache, level)`, e.g. `("list", "l1")`.
    pub cache: BTreeMap<(String, String), Counts>,
    /// Handler latency (ms, as the functions measure it) by function.
    pub handler_ms: BTreeMap<String, Vec<u64>>,
    /// Every DynamoDB call's latency (ms) by function.
    pub dynamodb_ms: BTreeMap<String, Vec<u64>>,
    /// Requests and the DynamoDB calls they made, by route label (e.g. `POST /api/v1/quotes`).
    pub route_calls: BTreeMap<String, RouteCalls>,
}

impl Metrics {
    /// Adds every EMF line in `log`, read with the functions' own line types.
    pub fn add_log(&mut self, log: &str) {
        for line in log.lines() {
            if let Some(request) = emf::parse::<RequestMetrics>(line) {
                self.add_request(request);
            } else if let Some(cache) = emf::parse::<CacheMetrics>(line) {
                self.add_cache(&cache);
            }
        }
    }

    /// Adds one request's line.
    pub fn add_request(&mut self, request: RequestMetrics) {
        let route = self.route_calls.entry(request.route.clone()).or_default();
        route.requests += 1;
        route.calls += request.dynamodb_calls;
        self.handler_ms
            .entry(request.function.clone())
            .or_default()
            .push(request.latency_ms);
        self.dynamodb_ms
            .entry(request.function)
            .or_default()
            .extend(request.dynamodb_ms);
    }

    /// Adds one cache line.
    pub fn add_cache(&mut self, cache: &CacheMetrics) {
        let counts = self
            .cache
            .entry((cache.cache.clone(), cache.level.clone()))
            .or_default();
        counts.hits += cache.hits;
        counts.misses += cache.misses;
    }

    /// Hits and lookups of one cache: a read asks L1 first and Redis only on an L1 miss, so the
    /// lookups are L1's where the cache has an L1 (quotes have none), and a hit at either level
    /// answers the read.
    pub fn hit_counts(&self, cache: &str) -> (u64, u64) {
        let get = |level: &str| {
            self.cache
                .get(&(cache.to_owned(), level.to_owned()))
                .copied()
                .unwrap_or_default()
        };
        let (l1, l2) = (get("l1"), get("l2"));
        let lookups = if l1.hits + l1.misses > 0 {
            l1.hits + l1.misses
        } else {
            l2.hits + l2.misses
        };
        (l1.hits + l2.hits, lookups)
    }

    /// The names of the caches that saw traffic.
    pub fn caches(&self) -> Vec<String> {
        let mut names: Vec<String> = self.cache.keys().map(|(c, _)| c.clone()).collect();
        names.dedup();
        names
    }

    /// Hits and lookups over every cache.
    pub fn total_hit_counts(&self) -> (u64, u64) {
        self.caches()
            .iter()
            .map(|c| self.hit_counts(c))
            .fold((0, 0), |(h, l), (ch, cl)| (h + ch, l + cl))
    }
}

/// `hits / lookups`; `None` when there were no lookups.
pub fn rate(hits: u64, lookups: u64) -> Option<f64> {
    (lookups > 0).then(|| hits as f64 / lookups as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_line(level: &str, hits: u64, misses: u64) -> String {
        emf::line(
            CacheMetrics {
                function: "list-policies".into(),
                cache: "list".into(),
                level: level.into(),
                hits,
                misses,
            },
            1_795_866_936_612,
        )
    }

    fn request_line() -> String {
        emf::line(
            RequestMetrics {
                function: "list-policies".into(),
                route: "GET /api/v1/policies".into(),
                status: "200".into(),
                request_id: "x".into(),
                xray_trace_id: None,
                latency_ms: 45,
                cold_start: 1,
                dynamodb_calls: 2,
                dynamodb_ms: vec![44, 7],
                cache_errors: 0,
                operator_errors: 0,
            },
            1_795_867_022_383,
        )
    }

    #[test]
    fn a_line_is_found_behind_a_prefix_and_before_trailing_output() {
        let line = format!(
            "   Compiling aws-smithy-schema {}   Compiling next",
            cache_line("l1", 3, 1)
        );
        let mut metrics = Metrics::default();
        metrics.add_log(&line);
        metrics.add_log(r#"INFO {"level":"info","msg":"request"}"#);
        metrics.add_log(r#"{"_aws":{"Timestamp": trunc"#);
        assert_eq!(metrics.hit_counts("list"), (3, 4));
        assert!(metrics.handler_ms.is_empty());
    }

    #[test]
    fn cache_lines_add_up_by_cache_and_level_and_requests_by_function() {
        // Given two cache lines, an L2 line for the misses, a request line and other log output
        let l1 = cache_line("l1", 3, 1);
        let log = format!(
            "{l1}\nINFO starting\n{l1}\n{}\n{}\n",
            cache_line("l2", 1, 1),
            request_line()
        );
        // When the log is read
        let mut metrics = Metrics::default();
        metrics.add_log(&log);
        // Then L1 counted 6 hits of 8 lookups, L2 answered one of its two, so 7 of 8 reads hit
        let l1 = metrics.cache[&("list".to_owned(), "l1".to_owned())];
        assert_eq!((l1.hits, l1.misses), (6, 2));
        assert_eq!(metrics.hit_counts("list"), (7, 8));
        assert_eq!(metrics.total_hit_counts(), (7, 8));
        assert_eq!(metrics.handler_ms["list-policies"], vec![45]);
        assert_eq!(metrics.dynamodb_ms["list-policies"], vec![44, 7]);
    }

    #[test]
    fn a_cache_without_l1_counts_its_redis_lookups() {
        let mut metrics = Metrics::default();
        metrics.add_cache(&CacheMetrics {
            function: "create-quote".into(),
            cache: "quote".into(),
            level: "l2".into(),
            hits: 2,
            misses: 3,
        });
        assert_eq!(metrics.hit_counts("quote"), (2, 5));
        assert_eq!(metrics.hit_counts("absent"), (0, 0));
    }

    #[test]
    fn the_rate_is_hits_over_lookups_and_undefined_without_lookups() {
        assert_eq!(rate(8, 10), Some(0.8));
        assert_eq!(rate(0, 0), None);
    }
}
