//! What a load run found: the table on the terminal, `report.json` and `report.html` (with an
//! inline SVG latency chart), each figure next to the brief's floor.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::emf::{self, Metrics};
use crate::procs::FunctionProcess;
use crate::stats::{Figures, Recorder, figures};

/// The brief's p95 ceiling, milliseconds.
pub const P95_FLOOR_MS: f64 = 100.0;
/// The brief's p99 ceiling, milliseconds.
pub const P99_FLOOR_MS: f64 = 200.0;
/// The brief's throughput floor, requests per second.
pub const THROUGHPUT_FLOOR: f64 = 1000.0;
/// The brief's cache hit rate floor.
pub const HIT_RATE_FLOOR: f64 = 0.80;
/// The brief's ceiling on one DynamoDB call, milliseconds.
pub const DYNAMODB_FLOOR_MS: f64 = 50.0;

/// One of the brief's floors and how the run did against it.
#[derive(Debug, Clone, PartialEq)]
pub struct Floor {
    /// What is measured.
    pub name: &'static str,
    /// The brief's target, as text.
    pub target: &'static str,
    /// The measured figure, as text.
    pub value: String,
    /// Whether the figure meets the target; `None` when there was nothing to measure.
    pub met: Option<bool>,
}

/// The `q` quantile (0..=1) of `values` by nearest rank; `None` when empty.
pub fn quantile(values: &[u64], q: f64) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a rank between 1 and n"
    )]
    let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as usize).clamp(1, n);
    Some(sorted[rank - 1])
}

/// The overall figures against the brief's floors.
pub fn floors(
    overall: &Figures,
    hit_rate: Option<f64>,
    dynamodb_p99_ms: Option<u64>,
) -> Vec<Floor> {
    let some = overall.count > 0;
    vec![
        Floor {
            name: "p95 latency",
            target: "< 100 ms",
            value: format!("{:.1} ms", overall.p95_ms),
            met: some.then_some(overall.p95_ms < P95_FLOOR_MS),
        },
        Floor {
            name: "p99 latency",
            target: "< 200 ms",
            value: format!("{:.1} ms", overall.p99_ms),
            met: some.then_some(overall.p99_ms < P99_FLOOR_MS),
        },
        Floor {
            name: "throughput",
            target: ">= 1,000 req/s",
            value: format!("{:.0} req/s", overall.throughput),
            met: some.then_some(overall.throughput >= THROUGHPUT_FLOOR),
        },
        Floor {
            name: "errors",
            target: "0",
            value: overall.errors.to_string(),
            met: some.then_some(overall.errors == 0),
        },
        Floor {
            name: "cache hit rate",
            target: "> 80%",
            value: hit_rate.map_or_else(
                || "no cache reads".to_owned(),
                |r| format!("{:.1}%", r * 100.0),
            ),
            met: hit_rate.map(|r| r > HIT_RATE_FLOOR),
        },
        Floor {
            name: "DynamoDB call p99",
            target: "< 50 ms",
            value: dynamodb_p99_ms.map_or_else(|| "no calls".to_owned(), |ms| format!("{ms} ms")),
            met: dynamodb_p99_ms.map(|ms| (ms as f64) < DYNAMODB_FLOOR_MS),
        },
    ]
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "meets",
        Some(false) => "MISSES",
        None => "n/a",
    }
}

/// Everything a run measured besides the requests themselves.
#[derive(Debug)]
pub struct Context<'a> {
    /// The plan's description: profile, users, duration, rate, base URL.
    pub plan: Value,
    /// EMF metrics from the watch log, if it was read.
    pub metrics: Option<&'a Metrics>,
    /// Function processes and their peak RSS in kB.
    pub rss: &'a [(FunctionProcess, Option<u64>)],
    /// CPU seconds by process label over the run.
    pub cpu: &'a [(String, f64)],
    /// Unix time the run started, seconds.
    pub started_unix: u64,
}

fn figures_json(f: &Figures) -> Value {
    json!({
        "count": f.count, "throughput": round(f.throughput, 1), "p50_ms": round(f.p50_ms, 2),
        "p95_ms": round(f.p95_ms, 2), "p99_ms": round(f.p99_ms, 2), "max_ms": round(f.max_ms, 2),
        "errors": f.errors,
    })
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// Requests and DynamoDB calls per route, and the calls per request.
fn calls_by_route(metrics: &Metrics) -> Value {
    metrics
        .route_calls
        .iter()
        .map(|(route, c)| {
            let per_request =
                (c.requests > 0).then(|| round(c.calls as f64 / c.requests as f64, 2));
            (
                route.clone(),
                json!({"requests": c.requests, "calls": c.calls, "per_request": per_request}),
            )
        })
        .collect()
}

/// The whole report as JSON.
pub fn to_json(recorder: &Recorder, elapsed: Duration, ctx: &Context<'_>) -> Value {
    let overall_stats = recorder.overall();
    let overall = figures(&overall_stats, elapsed);
    let routes: Vec<Value> = recorder
        .routes
        .iter()
        .map(|(route, stats)| {
            let mut v = figures_json(&figures(stats, elapsed));
            v["route"] = json!(route);
            v["outcomes"] = json!(stats.outcomes);
            v
        })
        .collect();
    let timeline: Vec<Value> = recorder
        .timeline
        .iter()
        .enumerate()
        .map(|(second, s)| {
            let h = &s.latency;
            let ms = |q: f64| {
                if h.is_empty() {
                    0.0
                } else {
                    h.value_at_quantile(q) as f64 / 1000.0
                }
            };
            json!({"second": second, "count": h.len(), "errors": s.errors,
                   "p50_ms": round(ms(0.5), 2), "p99_ms": round(ms(0.99), 2)})
        })
        .collect();
    let route_calls = ctx.metrics.map_or(Value::Null, calls_by_route);
    let (cache, hit_rate, dynamodb_p99, handler, dynamodb) = match ctx.metrics {
        Some(m) => {
            let caches: Vec<Value> = m
                .caches()
                .iter()
                .map(|c| {
                    let (hits, lookups) = m.hit_counts(c);
                    let levels: Vec<Value> = m
                        .cache
                        .iter()
                        .filter(|((name, _), _)| name == c)
                        .map(|((_, level), n)| json!({"level": level, "hits": n.hits, "misses": n.misses}))
                        .collect();
                    json!({"cache": c, "hits": hits, "lookups": lookups,
                           "hit_rate": emf::rate(hits, lookups).map(|r| round(r, 4)), "levels": levels})
                })
                .collect();
            let (hits, lookups) = m.total_hit_counts();
            let all_calls: Vec<u64> = m.dynamodb_ms.values().flatten().copied().collect();
            let spread = |values: &[u64]| {
                let mean = (!values.is_empty())
                    .then(|| values.iter().sum::<u64>() as f64 / values.len() as f64);
                json!({"count": values.len(), "mean_ms": mean.map(|m| round(m, 3)),
                       "p50_ms": quantile(values, 0.5), "p95_ms": quantile(values, 0.95),
                       "p99_ms": quantile(values, 0.99), "max_ms": values.iter().max()})
            };
            let handler: Value = m
                .handler_ms
                .iter()
                .map(|(f, v)| (f.clone(), spread(v)))
                .collect();
            let dynamodb: Value = m
                .dynamodb_ms
                .iter()
                .map(|(f, v)| (f.clone(), spread(v)))
                .collect();
            (
                json!({"caches": caches, "hits": hits, "lookups": lookups}),
                emf::rate(hits, lookups),
                quantile(&all_calls, 0.99),
                handler,
                dynamodb,
            )
        }
        None => (Value::Null, None, None, Value::Null, Value::Null),
    };
    let checks: Vec<Value> = floors(&overall, hit_rate, dynamodb_p99)
        .into_iter()
        .map(|f| json!({"name": f.name, "target": f.target, "value": f.value, "met": f.met}))
        .collect();
    let rss: Vec<Value> = ctx
        .rss
        .iter()
        .map(|(p, kb)| json!({"function": p.function, "pid": p.pid, "build": p.profile, "peak_rss_kb": kb}))
        .collect();
    let seconds = elapsed.as_secs_f64();
    let cpu: Vec<Value> = ctx
        .cpu
        .iter()
        .map(|(label, s)| json!({"process": label, "cpu_seconds": round(*s, 2), "cores": round(s / seconds, 2)}))
        .collect();
    json!({
        "plan": ctx.plan, "started_unix": ctx.started_unix, "elapsed_s": round(seconds, 3),
        "overall": figures_json(&overall), "outcomes": overall_stats.outcomes, "routes": routes,
        "hit_rate": hit_rate.map(|r| round(r, 4)), "cache": cache, "handler_latency": handler,
        "dynamodb_latency": dynamodb, "dynamodb_calls_by_route": route_calls, "floors": checks, "peak_rss": rss, "cpu": cpu, "timeline": timeline,
    })
}

/// The terminal table.
pub fn to_text(report: &Value) -> String {
    let mut out = String::new();
    let plan = &report["plan"];
    let _ = writeln!(
        out,
        "load: profile {} with {} users for {} s against {} ({} s measured)",
        plan["profile"].as_str().unwrap_or("?"),
        plan["users"],
        plan["duration_s"],
        plan["base_url"].as_str().unwrap_or("?"),
        report["elapsed_s"]
    );
    let _ = writeln!(
        out,
        "\n{:<40} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}  outcomes",
        "route", "count", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"
    );
    let row = |out: &mut String, name: &str, r: &Value, outcomes: &Value| {
        let outcomes = outcomes
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{name:<40} {:>8} {:>9.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>7}  {outcomes}",
            r["count"],
            r["throughput"].as_f64().unwrap_or(0.0),
            r["p50_ms"].as_f64().unwrap_or(0.0),
            r["p95_ms"].as_f64().unwrap_or(0.0),
            r["p99_ms"].as_f64().unwrap_or(0.0),
            r["max_ms"].as_f64().unwrap_or(0.0),
            r["errors"]
        );
    };
    for r in report["routes"].as_array().into_iter().flatten() {
        row(
            &mut out,
            r["route"].as_str().unwrap_or("?"),
            r,
            &r["outcomes"],
        );
    }
    row(&mut out, "all", &report["overall"], &report["outcomes"]);
    sections_text(&mut out, report);
    let _ = writeln!(out, "\nagainst the brief");
    for f in report["floors"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  {:<20} {:>16}  target {:<16} {}",
            f["name"].as_str().unwrap_or("?"),
            f["value"].as_str().unwrap_or("?"),
            f["target"].as_str().unwrap_or("?"),
            verdict(f["met"].as_bool())
        );
    }
    out
}

/// The cache, handler, DynamoDB, memory and CPU sections of the terminal table.
fn sections_text(out: &mut String, report: &Value) {
    if let Some(caches) = report["cache"]["caches"].as_array() {
        let _ = writeln!(
            out,
            "\ncache (from the EMF lines in the watch log, this run only)"
        );
        for c in caches {
            let levels = c["levels"]
                .as_array()
                .map(|ls| {
                    ls.iter()
                        .map(|l| {
                            format!(
                                "{} {}/{}",
                                l["level"].as_str().unwrap_or("?"),
                                l["hits"],
                                l["misses"]
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<8} {} of {} reads hit ({}); hits/misses by level: {levels}",
                c["cache"].as_str().unwrap_or("?"),
                c["hits"],
                c["lookups"],
                c["hit_rate"]
                    .as_f64()
                    .map_or_else(|| "n/a".to_owned(), |r| format!("{:.1}%", r * 100.0))
            );
        }
    }
    for (title, key) in [
        ("handler latency (EMF, ms)", "handler_latency"),
        ("DynamoDB calls (EMF, ms)", "dynamodb_latency"),
    ] {
        if let Some(by_function) = report[key].as_object().filter(|o| !o.is_empty()) {
            let _ = writeln!(out, "\n{title}");
            for (function, s) in by_function {
                let _ = writeln!(
                    out,
                    "  {function:<16} n={:<7} p50 {} p95 {} p99 {} max {}",
                    s["count"], s["p50_ms"], s["p95_ms"], s["p99_ms"], s["max_ms"]
                );
            }
        }
    }
    if let Some(rss) = report["peak_rss"].as_array().filter(|r| !r.is_empty()) {
        let _ = writeln!(out, "\npeak RSS (VmHWM) of the function processes");
        for p in rss {
            let _ = writeln!(
                out,
                "  {:<16} pid {:<8} {:<8} {}",
                p["function"].as_str().unwrap_or("?"),
                p["pid"],
                p["build"].as_str().unwrap_or("?"),
                p["peak_rss_kb"].as_u64().map_or_else(
                    || "?".to_owned(),
                    |kb| format!("{:.1} MB", kb as f64 / 1024.0)
                )
            );
        }
    }
    if let Some(cpu) = report["cpu"].as_array().filter(|c| !c.is_empty()) {
        let _ = writeln!(
            out,
            "\nCPU used during the run, by process (cores = CPU seconds / wall seconds)"
        );
        for p in cpu.iter().take(10) {
            let _ = writeln!(
                out,
                "  {:<24} {:>8.2} s  {:>5.2} cores",
                p["process"].as_str().unwrap_or("?"),
                p["cpu_seconds"].as_f64().unwrap_or(0.0),
                p["cores"].as_f64().unwrap_or(0.0)
            );
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Per-route p50/p95/p99 bars with the brief's p95 and p99 ceilings drawn across.
fn bars_svg(report: &Value) -> String {
    let routes: Vec<&Value> = report["routes"]
        .as_array()
        .map(|r| r.iter().collect())
        .unwrap_or_default();
    let highest = routes
        .iter()
        .flat_map(|r| ["p50_ms", "p95_ms", "p99_ms"].map(|k| r[k].as_f64().unwrap_or(0.0)))
        .fold(P99_FLOOR_MS * 1.1, f64::max);
    let (left, top, row_h, width) = (300.0, 20.0, 54.0, 560.0);
    let height = top + row_h * routes.len() as f64 + 30.0;
    let x = |ms: f64| left + ms / highest * width;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" font-family="sans-serif" font-size="12">"#,
        left + width + 80.0
    );
    for (i, r) in routes.iter().enumerate() {
        let y = top + row_h * i as f64;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            left - 8.0,
            y + 26.0,
            escape(r["route"].as_str().unwrap_or("?"))
        );
        for (j, (key, colour)) in [
            ("p50_ms", "#4c78a8"),
            ("p95_ms", "#f58518"),
            ("p99_ms", "#e45756"),
        ]
        .iter()
        .enumerate()
        {
            let ms = r[*key].as_f64().unwrap_or(0.0);
            let by = y + 6.0 + 14.0 * j as f64;
            let _ = write!(
                svg,
                r#"<rect x="{left}" y="{by}" width="{:.1}" height="12" fill="{colour}"/><text x="{:.1}" y="{:.1}">{} {ms:.1} ms</text>"#,
                x(ms) - left,
                x(ms) + 4.0,
                by + 10.0,
                &key[..3]
            );
        }
    }
    for (ms, label) in [
        (P95_FLOOR_MS, "p95 target 100 ms"),
        (P99_FLOOR_MS, "p99 target 200 ms"),
    ] {
        let _ = write!(
            svg,
            r##"<line x1="{0:.1}" x2="{0:.1}" y1="{top}" y2="{1}" stroke="#333" stroke-dasharray="4 3"/><text x="{0:.1}" y="{2}" text-anchor="middle">{label}</text>"##,
            x(ms),
            height - 24.0,
            height - 10.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Requests per second and p50/p99 latency for each second of the run.
fn timeline_svg(report: &Value) -> String {
    let seconds: Vec<&Value> = report["timeline"]
        .as_array()
        .map(|t| t.iter().collect())
        .unwrap_or_default();
    if seconds.is_empty() {
        return String::new();
    }
    let highest = seconds
        .iter()
        .map(|s| s["p99_ms"].as_f64().unwrap_or(0.0))
        .fold(1.0, f64::max);
    let (left, top, width, height) = (50.0, 20.0, 800.0, 220.0);
    let step = width / seconds.len().max(2).saturating_sub(1) as f64;
    let line = |key: &str| {
        seconds
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    "{:.1},{:.1}",
                    left + step * i as f64,
                    top + height - s[key].as_f64().unwrap_or(0.0) / highest * height
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12"><line x1="{left}" x2="{left}" y1="{top}" y2="{bottom}" stroke="#333"/><line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#333"/><text x="4" y="{top}">{highest:.0} ms</text><text x="4" y="{bottom}">0</text><text x="{right}" y="{label_y}" text-anchor="end">seconds into the run ({n})</text><polyline fill="none" stroke="#4c78a8" stroke-width="1.5" points="{p50}"/><polyline fill="none" stroke="#e45756" stroke-width="1.5" points="{p99}"/><text x="{right}" y="{top}" fill="#e45756" text-anchor="end">p99</text><text x="{right}" y="{p50_label}" fill="#4c78a8" text-anchor="end">p50</text></svg>"##,
        w = left + width + 20.0,
        h = top + height + 40.0,
        bottom = top + height,
        right = left + width,
        label_y = top + height + 20.0,
        p50_label = top + 16.0,
        n = seconds.len(),
        p50 = line("p50_ms"),
        p99 = line("p99_ms"),
    )
}

/// The HTML report: the table, the charts and the floors.
pub fn to_html(report: &Value) -> String {
    let mut rows = String::new();
    let mut add_row = |name: &str, r: &Value, outcomes: &Value| {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            r["count"],
            r["throughput"].as_f64().unwrap_or(0.0),
            r["p50_ms"].as_f64().unwrap_or(0.0),
            r["p95_ms"].as_f64().unwrap_or(0.0),
            r["p99_ms"].as_f64().unwrap_or(0.0),
            r["max_ms"].as_f64().unwrap_or(0.0),
            r["errors"],
            escape(&outcomes.to_string())
        );
    };
    for r in report["routes"].as_array().into_iter().flatten() {
        add_row(r["route"].as_str().unwrap_or("?"), r, &r["outcomes"]);
    }
    add_row("all", &report["overall"], &report["outcomes"]);
    let mut checks = String::new();
    for f in report["floors"].as_array().into_iter().flatten() {
        let _ = write!(
            checks,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(f["name"].as_str().unwrap_or("?")),
            escape(f["value"].as_str().unwrap_or("?")),
            escape(f["target"].as_str().unwrap_or("?")),
            verdict(f["met"].as_bool())
        );
    }
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>policy-decision load report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child{{text-align:left}}pre{{background:#f6f6f6;padding:1em}}</style></head><body>
<h1>Load report: {profile}</h1>
<h2>Routes</h2><table><tr><th>route</th><th>count</th><th>req/s</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th><th>errors</th><th>outcomes</th></tr>{rows}</table>
<h2>Against the brief</h2><table><tr><th>figure</th><th>measured</th><th>target</th><th></th></tr>{checks}</table>
<h2>Latency by route</h2>{bars}
<h2>Latency over time</h2>{timeline}
<h2>Everything</h2><pre>{text}</pre></body></html>
"#,
        profile = escape(report["plan"]["profile"].as_str().unwrap_or("?")),
        bars = bars_svg(report),
        timeline = timeline_svg(report),
        text = escape(&to_text(report)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overall(p95: f64, p99: f64, throughput: f64, errors: u64) -> Figures {
        Figures {
            count: 10,
            throughput,
            p50_ms: 1.0,
            p95_ms: p95,
            p99_ms: p99,
            max_ms: p99,
            errors,
        }
    }

    #[test]
    fn nearest_rank_quantiles() {
        let values: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(quantile(&values, 0.5), Some(50));
        assert_eq!(quantile(&values, 0.99), Some(99));
        assert_eq!(quantile(&values, 1.0), Some(100));
        assert_eq!(quantile(&values, 0.0), Some(1));
        assert_eq!(quantile(&[7], 0.95), Some(7));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn a_run_inside_every_floor_meets_them_all() {
        let checks = floors(&overall(40.0, 90.0, 1500.0, 0), Some(0.95), Some(12));
        assert!(checks.iter().all(|f| f.met == Some(true)), "{checks:?}");
    }

    #[test]
    fn each_floor_is_missed_on_its_own_figure() {
        let checks = floors(&overall(100.0, 250.0, 999.0, 3), Some(0.80), Some(50));
        assert!(checks.iter().all(|f| f.met == Some(false)), "{checks:?}");
    }

    #[test]
    fn without_cache_reads_or_dynamodb_calls_those_floors_are_not_judged() {
        let checks = floors(&overall(1.0, 2.0, 2000.0, 0), None, None);
        let unjudged: Vec<&str> = checks
            .iter()
            .filter(|f| f.met.is_none())
            .map(|f| f.name)
            .collect();
        assert_eq!(unjudged, ["cache hit rate", "DynamoDB call p99"]);
    }

    #[test]
    fn the_html_report_escapes_route_names_and_draws_both_charts() {
        let mut recorder = Recorder::default();
        recorder.record(
            "GET /a?x=1&y=<2>",
            &crate::stats::Outcome::Status(200),
            Duration::from_millis(3),
            Duration::from_millis(10),
        );
        let ctx = Context {
            plan: json!({"profile": "brief"}),
            metrics: None,
            rss: &[],
            cpu: &[],
            started_unix: 0,
        };
        let report = to_json(&recorder, Duration::from_secs(1), &ctx);
        let html = to_html(&report);
        assert!(html.contains("GET /a?x=1&amp;y=&lt;2&gt;"));
        assert!(!html.contains("y=<2>"));
        assert_eq!(html.matches("<svg").count(), 2);
        assert_eq!(report["overall"]["count"], 1);
    }
}
