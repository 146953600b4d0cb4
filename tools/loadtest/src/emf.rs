//! The CloudWatch Embedded Metric Format lines the functions print, read back out of the
//! `cargo lambda watch` log: cache hits and misses, handler latency and DynamoDB call latency.

use std::collections::BTreeMap;

use serde_json::Value;

/// Hits and misses of one cache at one level.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// `CacheHit`.
    pub hits: u64,
    /// `CacheMiss`.
    pub misses: u64,
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
}

/// The EMF object in a log line, wherever in the line it starts (the watch log prefixes lines,
/// and a line can follow other output that had no newline).
pub fn emf_in(line: &str) -> Option<Value> {
    let start = line.find(r#"{"_aws""#)?;
    // Only the first JSON value counts: anything after it on the line is other output.
    serde_json::Deserializer::from_str(&line[start..])
        .into_iter::<Value>()
        .next()?
        .ok()
}

impl Metrics {
    /// Adds every EMF line in `log`.
    pub fn add_log(&mut self, log: &str) {
        for line in log.lines() {
            if let Some(emf) = emf_in(line) {
                self.add(&emf);
            }
        }
    }

    /// Adds one EMF object.
    pub fn add(&mut self, emf: &Value) {
        let function = emf["function"].as_str().unwrap_or("unknown").to_owned();
        if let (Some(cache), Some(level)) = (emf["cache"].as_str(), emf["level"].as_str()) {
            let counts = self
                .cache
                .entry((cache.to_owned(), level.to_owned()))
                .or_default();
            counts.hits += emf["CacheHit"].as_u64().unwrap_or(0);
            counts.misses += emf["CacheMiss"].as_u64().unwrap_or(0);
        }
        if let Some(latency) = emf["Latency"].as_u64() {
            self.handler_ms
                .entry(function.clone())
                .or_default()
                .push(latency);
        }
        if let Some(calls) = emf["DynamoDbLatency"].as_array() {
            let list = self.dynamodb_ms.entry(function).or_default();
            list.extend(calls.iter().filter_map(Value::as_u64));
        }
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

    const CACHE_LINE: &str = r#"{"_aws":{"Timestamp":1795866936612,"CloudWatchMetrics":[{"Namespace":"policy-decision","Dimensions":[["function","cache","level"]],"Metrics":[{"Name":"CacheHit","Unit":"Count"},{"Name":"CacheMiss","Unit":"Count"}]}]},"function":"list-policies","cache":"list","level":"l1","CacheHit":3,"CacheMiss":1}"#;
    const REQUEST_LINE: &str = r#"{"_aws":{"Timestamp":1795867022383,"CloudWatchMetrics":[]},"function":"list-policies","route":"GET /api/v1/policies","status":"200","request_id":"x","Latency":45,"ColdStart":1,"DynamoDbCalls":2,"DynamoDbLatency":[44,7]}"#;

    #[test]
    fn an_emf_object_is_found_behind_a_prefix_and_before_trailing_output() {
        let line = format!("   Compiling aws-smithy-schema {CACHE_LINE}   Compiling next");
        let emf = emf_in(&line).unwrap();
        assert_eq!(emf["CacheHit"], 3);
        assert!(emf_in(r#"INFO {"level":"info","msg":"request"}"#).is_none());
        assert!(emf_in(r#"{"_aws":{"Timestamp": trunc"#).is_none());
    }

    #[test]
    fn cache_lines_add_up_by_cache_and_level_and_requests_by_function() {
        // Given two cache lines, an L2 line for the misses, a request line and other log output
        let log = format!(
            "{CACHE_LINE}\nINFO starting\n{CACHE_LINE}\n{}\n{REQUEST_LINE}\n",
            CACHE_LINE.replace(
                r#""level":"l1","CacheHit":3,"CacheMiss":1"#,
                r#""level":"l2","CacheHit":1,"CacheMiss":1"#
            )
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
        metrics.add(&serde_json::json!({"_aws": {}, "function": "create-quote", "cache": "quote", "level": "l2", "CacheHit": 2, "CacheMiss": 3}));
        assert_eq!(metrics.hit_counts("quote"), (2, 5));
        assert_eq!(metrics.hit_counts("absent"), (0, 0));
    }

    #[test]
    fn the_rate_is_hits_over_lookups_and_undefined_without_lookups() {
        assert_eq!(rate(8, 10), Some(0.8));
        assert_eq!(rate(0, 0), None);
    }
}
