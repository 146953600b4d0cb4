//! Latency and outcome bookkeeping: one histogram per route and per second of the run, and the
//! figures a report shows.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Longest latency a histogram holds exactly, in microseconds (a minute); longer ones saturate.
const MAX_MICROS: u64 = 60_000_000;

/// A histogram of latencies in microseconds, three significant figures.
pub fn histogram() -> Histogram<u64> {
    // Bounds are fixed and valid, so creation cannot fail; fall back to an auto-resizing one anyway.
    Histogram::new_with_bounds(1, MAX_MICROS, 3).unwrap_or_else(|_| {
        let mut h = Histogram::new(3).unwrap_or_else(|_| unreachable_histogram());
        h.auto(true);
        h
    })
}

#[allow(
    clippy::unwrap_used,
    reason = "one significant figure is always a valid precision"
)]
fn unreachable_histogram() -> Histogram<u64> {
    Histogram::new(1).unwrap()
}

/// How one request ended.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// An HTTP status.
    Status(u16),
    /// No HTTP answer: connection refused, reset or timed out.
    Transport(String),
}

impl Outcome {
    /// A 2xx status.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Status(200..=299))
    }

    /// The key in status tables: `201`, `timeout`.
    pub fn label(&self) -> String {
        match self {
            Outcome::Status(code) => code.to_string(),
            Outcome::Transport(kind) => kind.clone(),
        }
    }
}

/// Everything recorded about one route.
#[derive(Debug, Clone)]
pub struct RouteStats {
    /// Latencies of every request, answered or not, in microseconds.
    pub latency: Histogram<u64>,
    /// Requests by outcome.
    pub outcomes: BTreeMap<String, u64>,
    /// Requests that were not 2xx or got no answer.
    pub errors: u64,
}

impl Default for RouteStats {
    fn default() -> RouteStats {
        RouteStats {
            latency: histogram(),
            outcomes: BTreeMap::new(),
            errors: 0,
        }
    }
}

/// One second of the run.
#[derive(Debug, Clone)]
pub struct Second {
    /// Latencies of the requests that finished in this second.
    pub latency: Histogram<u64>,
    /// Requests that were not 2xx or got no answer.
    pub errors: u64,
}

/// What a run recorded.
#[derive(Debug, Default)]
pub struct Recorder {
    /// By route name.
    pub routes: BTreeMap<&'static str, RouteStats>,
    /// By second since the start.
    pub timeline: Vec<Second>,
}

impl Recorder {
    /// Records a request to `route` that finished `at` after the start and took `latency`.
    pub fn record(
        &mut self,
        route: &'static str,
        outcome: &Outcome,
        latency: Duration,
        at: Duration,
    ) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let stats = self.routes.entry(route).or_default();
        stats.latency.saturating_record(micros);
        *stats.outcomes.entry(outcome.label()).or_default() += 1;
        let failed = !outcome.is_success();
        if failed {
            stats.errors += 1;
        }
        let second = usize::try_from(at.as_secs()).unwrap_or(usize::MAX);
        if second < 24 * 3600 {
            while self.timeline.len() <= second {
                self.timeline.push(Second {
                    latency: histogram(),
                    errors: 0,
                });
            }
            let slot = &mut self.timeline[second];
            slot.latency.saturating_record(micros);
            if failed {
                slot.errors += 1;
            }
        }
    }

    /// Every route's latencies in one histogram.
    pub fn overall(&self) -> RouteStats {
        let mut all = RouteStats::default();
        for stats in self.routes.values() {
            // Same bounds everywhere, so adding cannot fail.
            let _ = all.latency.add(&stats.latency);
            for (label, n) in &stats.outcomes {
                *all.outcomes.entry(label.clone()).or_default() += n;
            }
            all.errors += stats.errors;
        }
        all
    }
}

/// The figures a report shows for a set of requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Requests.
    pub count: u64,
    /// Requests per second over the run.
    pub throughput: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 95th percentile, milliseconds.
    pub p95_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// Slowest, milliseconds.
    pub max_ms: f64,
    /// Requests that were not 2xx or got no answer.
    pub errors: u64,
}

/// The report figures of `stats` over a run of `elapsed`.
pub fn figures(stats: &RouteStats, elapsed: Duration) -> Figures {
    let h = &stats.latency;
    let count = h.len();
    let ms = |micros: u64| micros as f64 / 1000.0;
    let (p50, p95, p99, max) = if count == 0 {
        (0, 0, 0, 0)
    } else {
        (
            h.value_at_quantile(0.50),
            h.value_at_quantile(0.95),
            h.value_at_quantile(0.99),
            h.max(),
        )
    };
    Figures {
        count,
        throughput: per_second(count, elapsed),
        p50_ms: ms(p50),
        p95_ms: ms(p95),
        p99_ms: ms(p99),
        max_ms: ms(max),
        errors: stats.errors,
    }
}

/// `count` events over `elapsed`, per second; zero for an empty span.
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some(f64::midpoint(sorted[n / 2 - 1], sorted[n / 2])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_of_one_to_a_hundred_milliseconds_are_those_milliseconds() {
        // Given 100 requests taking 1 ms, 2 ms, ... 100 ms, all answered 200
        let mut recorder = Recorder::default();
        for i in 1..=100 {
            recorder.record("r", &Outcome::Status(200), ms(i), ms(i * 10));
        }
        // When the figures are taken over a 2-second run
        let f = figures(&recorder.routes["r"], Duration::from_secs(2));
        // Then the percentiles are those latencies (within the histogram's 0.1%) and the rate halves the count
        assert_eq!(f.count, 100);
        assert!((f.throughput - 50.0).abs() < 1e-9);
        for (got, want) in [
            (f.p50_ms, 50.0),
            (f.p95_ms, 95.0),
            (f.p99_ms, 99.0),
            (f.max_ms, 100.0),
        ] {
            assert!((got - want).abs() <= want * 0.001, "{got} vs {want}");
        }
        assert_eq!(f.errors, 0);
    }

    #[test]
    fn non_2xx_and_transport_failures_are_errors_counted_by_outcome() {
        let mut recorder = Recorder::default();
        recorder.record("a", &Outcome::Status(201), ms(1), ms(0));
        recorder.record("a", &Outcome::Status(422), ms(1), ms(0));
        recorder.record("b", &Outcome::Transport("timeout".into()), ms(30), ms(1500));
        recorder.record("b", &Outcome::Status(503), ms(2), ms(1500));
        let all = recorder.overall();
        assert_eq!(all.errors, 3);
        assert_eq!(all.latency.len(), 4);
        assert_eq!(all.outcomes["timeout"], 1);
        assert_eq!(all.outcomes["201"], 1);
        assert_eq!(recorder.routes["a"].errors, 1);
        // Two seconds of timeline: one request in the first, two failures in the second
        assert_eq!(recorder.timeline.len(), 2);
        assert_eq!(recorder.timeline[1].errors, 2);
    }

    #[test]
    fn an_empty_route_has_zero_figures() {
        let f = figures(&RouteStats::default(), Duration::ZERO);
        assert_eq!((f.count, f.errors), (0, 0));
        assert!(f.throughput.abs() < f64::EPSILON && f.p99_ms.abs() < f64::EPSILON);
    }

    #[test]
    fn the_median_is_the_middle_value_or_the_mean_of_the_middle_two() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
