//! What a load run's figures mean on Lambda: CPU per request of each function process, the
//! concurrency each function needs for a request rate (Little's law), and the Lambda cost per
//! million requests of the mix, from the durations the functions measured and the memory sizes in
//! `template.yaml`.

use serde_json::Value;

/// Lambda's price per request, arm64 and x86 alike: USD 0.20 per million.
pub const PRICE_PER_REQUEST: f64 = 0.20 / 1_000_000.0;
/// Lambda's price per GB-second on arm64, first tier (the first 7.5 billion GB-seconds a month).
pub const PRICE_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// Where and when the prices above were read.
pub const PRICES: &str = "AWS Lambda pricing, us-east-1, arm64, first tier, as published on 2026-12-01: USD 0.20 per million requests, USD 0.0000133334 per GB-second";

/// A function's share of a run: what the load run's report says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionLoad {
    /// The function's name.
    pub function: String,
    /// Requests it answered during the run (its EMF lines).
    pub requests: u64,
    /// Mean handler latency in whole milliseconds, as the function measured it.
    pub mean_ms: f64,
    /// CPU seconds its processes used during the run.
    pub cpu_seconds: Option<f64>,
    /// Its memory size in `template.yaml`.
    pub memory_mb: u32,
}

impl FunctionLoad {
    /// CPU per request in microseconds.
    pub fn cpu_us_per_request(&self) -> Option<f64> {
        let cpu = self.cpu_seconds?;
        (self.requests > 0).then(|| cpu * 1e6 / self.requests as f64)
    }

    /// The billed duration of a mean request in milliseconds: the measured latency is truncated to
    /// the millisecond, and Lambda bills each invocation rounded up to the next millisecond, so one
    /// more.
    pub fn billed_ms(&self) -> f64 {
        self.mean_ms + 1.0
    }

    /// The Lambda cost of one of its requests, in USD.
    pub fn cost_per_request(&self) -> f64 {
        PRICE_PER_REQUEST
            + f64::from(self.memory_mb) / 1024.0 * self.billed_ms() / 1000.0 * PRICE_PER_GB_SECOND
    }
}

/// The functions of a load run's report, with their memory sizes from `template`.
pub fn function_loads(report: &Value, template: &str) -> Vec<FunctionLoad> {
    report["handler_latency"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(function, latency)| FunctionLoad {
            function: function.clone(),
            requests: latency["count"].as_u64().unwrap_or(0),
            mean_ms: latency["mean_ms"].as_f64().unwrap_or(0.0),
            cpu_seconds: report["cpu"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["process"] == function.as_str())
                .and_then(|p| p["cpu_seconds"].as_f64()),
            memory_mb: memory_mb(template, function),
        })
        .collect()
}

/// The Lambda cost of a million requests of the mix the loads came from, in USD.
pub fn cost_per_million(loads: &[FunctionLoad]) -> Option<f64> {
    let total: u64 = loads.iter().map(|l| l.requests).sum();
    (total > 0).then(|| {
        loads
            .iter()
            .map(|l| l.requests as f64 / total as f64 * l.cost_per_request())
            .sum::<f64>()
            * 1_000_000.0
    })
}

/// How many environments `load`'s function needs busy at once to serve its share of `rate`
/// requests per second of the mix (Little's law: arrivals times time in the system), with one
/// request per environment at a time.
pub fn concurrency(load: &FunctionLoad, share: f64, rate: f64) -> f64 {
    rate * share * load.billed_ms() / 1000.0
}

/// The memory size of `function` in `template` (SAM): its resource's `MemorySize`, or else the
/// `Globals` one, or else Lambda's default of 128 MB.
pub fn memory_mb(template: &str, function: &str) -> u32 {
    let logical: String = function
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .chain(std::iter::once("Function".to_owned()))
        .collect();
    let indent = |line: &str| line.len() - line.trim_start().len();
    // The `MemorySize:` `depth` spaces in, among the lines indented under `header`.
    let block = |header: &str, depth: usize| -> Option<u32> {
        let mut lines = template.lines().skip_while(|l| l.trim_end() != header);
        let under = indent(lines.next()?);
        lines
            .take_while(|l| l.trim().is_empty() || indent(l) > under)
            .filter(|l| indent(l) == depth)
            .find_map(|l| l.trim().strip_prefix("MemorySize:")?.trim().parse().ok())
    };
    block(&format!("  {logical}:"), 6)
        .or_else(|| block("Globals:", 4))
        .unwrap_or(128)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const TEMPLATE: &str = "Globals:\n  Function:\n    Runtime: provided.al2023\n    MemorySize: 256\n    Timeout: 10\n\nResources:\n  CalculateRateFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      MemorySize: 128\n      Events: {}\n  CreateQuoteFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      Timeout: 10\n  RateImpactFunction:\n    Properties:\n      MemorySize: 1024\n";

    #[test]
    fn a_function_has_its_own_memory_size_or_the_global_one() {
        assert_eq!(memory_mb(TEMPLATE, "calculate-rate"), 128);
        assert_eq!(memory_mb(TEMPLATE, "create-quote"), 256);
        assert_eq!(memory_mb(TEMPLATE, "rate-impact"), 1024);
        assert_eq!(memory_mb("Resources: {}", "create-quote"), 128);
    }

    #[test]
    fn the_template_in_the_repository_sizes_every_function() {
        let template = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml"),
        )
        .unwrap();
        assert_eq!(memory_mb(&template, "calculate-rate"), 128);
        assert_eq!(memory_mb(&template, "create-quote"), 256);
        assert_eq!(memory_mb(&template, "rate-impact"), 1024);
    }

    #[test]
    fn a_million_requests_cost_their_requests_and_their_billed_gb_seconds() {
        let report = json!({
            "handler_latency": {
                "calculate-rate": {"count": 300, "mean_ms": 0.0},
                "create-quote": {"count": 100, "mean_ms": 9.0}
            },
            "cpu": [{"process": "calculate-rate", "cpu_seconds": 0.03},
                    {"process": "java", "cpu_seconds": 9.0}]
        });
        let loads = function_loads(&report, TEMPLATE);
        assert_eq!(loads[0].cpu_us_per_request(), Some(100.0));
        assert_eq!(loads[1].cpu_us_per_request(), None);
        // calculate-rate: 1 ms billed at 128 MB; create-quote: 10 ms at 256 MB.
        let calculate = 0.20 / 1e6 + 0.125 * 0.001 * 0.000_013_333_4;
        let create = 0.20 / 1e6 + 0.25 * 0.010 * 0.000_013_333_4;
        let expected = (0.75 * calculate + 0.25 * create) * 1e6;
        let cost = cost_per_million(&loads).unwrap();
        assert!((cost - expected).abs() < 1e-9, "{cost} vs {expected}");
        assert!(cost > 0.20 && cost < 0.25, "{cost}");
        assert_eq!(cost_per_million(&[]), None);
        // 1,000 req/s, a quarter to create-quote at 10 ms: 2.5 environments busy at once.
        assert!((concurrency(&loads[1], 0.25, 1000.0) - 2.5).abs() < 1e-9);
    }
}
