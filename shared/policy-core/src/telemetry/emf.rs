//! CloudWatch Embedded Metric Format: the metric lines the functions print on stdout, where Lambda
//! sends them to CloudWatch Logs and the metrics are extracted. Each kind of line is a
//! `Serialize + Deserialize` type, so the writer here and any reader (the load test reads them back
//! out of the local stack's log) agree on every name.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The namespace every metric is published under.
pub const NAMESPACE: &str = "policy-decision";

/// The units this project uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// A duration in milliseconds.
    Milliseconds,
    /// A number of things.
    Count,
}

/// A kind of metric line: its dimension sets and its metrics, by the names its fields serialize to.
pub trait Metrics: Serialize + DeserializeOwned {
    /// The dimension sets, each a list of field names whose values are strings.
    const DIMENSIONS: &'static [&'static [&'static str]];
    /// The metrics: field names and units.
    const METRICS: &'static [(&'static str, Unit)];
}

/// One metric's definition in the directive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricDefinition {
    /// The field that holds the value.
    #[serde(rename = "Name")]
    pub name: String,
    /// Its unit.
    #[serde(rename = "Unit")]
    pub unit: Unit,
}

/// The directive that tells CloudWatch which fields are dimensions and which are metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directive {
    /// The metric namespace.
    #[serde(rename = "Namespace")]
    pub namespace: String,
    /// Dimension sets.
    #[serde(rename = "Dimensions")]
    pub dimensions: Vec<Vec<String>>,
    /// Metric definitions.
    #[serde(rename = "Metrics")]
    pub metrics: Vec<MetricDefinition>,
}

/// The `_aws` member of a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Milliseconds since the Unix epoch.
    #[serde(rename = "Timestamp")]
    pub timestamp: u64,
    /// The directives (one here).
    #[serde(rename = "CloudWatchMetrics")]
    pub cloudwatch_metrics: Vec<Directive>,
}

/// A whole EMF line: the metadata and the fields of one [`Metrics`] value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line<T> {
    /// The metadata.
    #[serde(rename = "_aws")]
    pub aws: Metadata,
    /// Dimensions, metrics and any other properties.
    #[serde(flatten)]
    pub fields: T,
}

/// The end of one API request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestMetrics {
    /// The function's name, e.g. `create-quote`.
    pub function: String,
    /// The route's label from its route table, e.g. `POST /api/v1/quotes`.
    pub route: String,
    /// The HTTP status, as text (dimension values are strings).
    pub status: String,
    /// The request id (a property, not a dimension).
    pub request_id: String,
    /// The X-Ray trace id Lambda handed over with the invocation (a property): with the request
    /// id, what ties this line to the request's trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xray_trace_id: Option<String>,
    /// Time in the function, from the request's arrival to its answer.
    #[serde(rename = "Latency")]
    pub latency_ms: u64,
    /// 1 for the first request of an execution environment.
    #[serde(rename = "ColdStart")]
    pub cold_start: u8,
    /// DynamoDB calls the request made.
    #[serde(rename = "DynamoDbCalls")]
    pub dynamodb_calls: u64,
    /// Each DynamoDB call's latency.
    #[serde(rename = "DynamoDbLatency")]
    pub dynamodb_ms: Vec<u64>,
    /// Redis failures (each trips the cache's breaker).
    #[serde(rename = "CacheErrors")]
    pub cache_errors: u64,
    /// Failures that are an operator's to fix (access denied, a missing table): alarm on these.
    #[serde(rename = "OperatorErrors")]
    pub operator_errors: u64,
}

impl Metrics for RequestMetrics {
    const DIMENSIONS: &'static [&'static [&'static str]] =
        &[&["function", "route", "status"], &["function"]];
    const METRICS: &'static [(&'static str, Unit)] = &[
        ("Latency", Unit::Milliseconds),
        ("ColdStart", Unit::Count),
        ("DynamoDbLatency", Unit::Milliseconds),
        ("DynamoDbCalls", Unit::Count),
        ("CacheErrors", Unit::Count),
        ("OperatorErrors", Unit::Count),
    ];
}

/// One request's hits and misses on one cache at one level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheMetrics {
    /// The function's name.
    pub function: String,
    /// The cache: `quote`, `policy` or `list`.
    pub cache: String,
    /// `l1` (in-process) or `l2` (Redis).
    pub level: String,
    /// Lookups answered at this level.
    #[serde(rename = "CacheHit")]
    pub hits: u64,
    /// Lookups not answered at this level.
    #[serde(rename = "CacheMiss")]
    pub misses: u64,
}

impl Metrics for CacheMetrics {
    const DIMENSIONS: &'static [&'static [&'static str]] = &[&["function", "cache", "level"]];
    const METRICS: &'static [(&'static str, Unit)] =
        &[("CacheHit", Unit::Count), ("CacheMiss", Unit::Count)];
}

/// The EMF line for `fields` at `timestamp` (milliseconds since the Unix epoch).
pub fn line<T: Metrics>(fields: T, timestamp: u64) -> String {
    let directive = Directive {
        namespace: NAMESPACE.to_owned(),
        dimensions: T::DIMENSIONS
            .iter()
            .map(|set| set.iter().map(|&name| name.to_owned()).collect())
            .collect(),
        metrics: T::METRICS
            .iter()
            .map(|&(name, unit)| MetricDefinition {
                name: name.to_owned(),
                unit,
            })
            .collect(),
    };
    let line = Line {
        aws: Metadata {
            timestamp,
            cloudwatch_metrics: vec![directive],
        },
        fields,
    };
    // Plain data with string keys: serializing cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

/// The line of kind `T` in `text`, wherever in the text it starts (a log may prefix lines, and a
/// line can follow other output that had no newline); `None` if there is none of that kind.
pub fn parse<T: Metrics>(text: &str) -> Option<T> {
    let start = text.find(r#"{"_aws""#)?;
    // Only the first JSON value counts: anything after it on the line is other output.
    let value = serde_json::Deserializer::from_str(&text[start..])
        .into_iter::<serde_json::Value>()
        .next()?
        .ok()?;
    serde_json::from_value::<Line<T>>(value)
        .ok()
        .map(|line| line.fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RequestMetrics {
        RequestMetrics {
            function: "list-policies".into(),
            route: "GET /api/v1/policies".into(),
            status: "200".into(),
            request_id: "req-1".into(),
            xray_trace_id: None,
            latency_ms: 12,
            cold_start: 1,
            dynamodb_calls: 2,
            dynamodb_ms: vec![3, 4],
            cache_errors: 0,
            operator_errors: 0,
        }
    }

    /// Every dimension and metric the directive names is a field of the line.
    fn assert_complete(line: &str) {
        let emf: serde_json::Value = serde_json::from_str(line).unwrap();
        let directive = &emf["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        for set in directive["Dimensions"].as_array().unwrap() {
            for dimension in set.as_array().unwrap() {
                let value = &emf[dimension.as_str().unwrap()];
                assert!(
                    value.is_string(),
                    "dimension {dimension} is a string: {line}"
                );
            }
        }
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(
                emf[name].is_number() || emf[name].is_array(),
                "metric {name} has a value: {line}"
            );
        }
    }

    #[test]
    fn a_request_line_is_complete_emf_and_reads_back() {
        let text = line(request(), 1_700_000_000_000);
        assert_complete(&text);
        let logged = format!("[watch] INFO {text} trailing output");
        assert_eq!(parse::<RequestMetrics>(&logged), Some(request()));
        assert_eq!(parse::<CacheMetrics>(&logged), None, "kinds do not mix");
    }

    #[test]
    fn a_cache_line_is_complete_emf_and_reads_back() {
        let metrics = CacheMetrics {
            function: "create-quote".into(),
            cache: "quote".into(),
            level: "l2".into(),
            hits: 3,
            misses: 1,
        };
        let text = line(metrics.clone(), 1);
        assert_complete(&text);
        assert_eq!(parse::<CacheMetrics>(&text), Some(metrics));
        assert_eq!(parse::<RequestMetrics>(&text), None);
    }
}
