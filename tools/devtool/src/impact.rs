//! `devtool impact`: a candidate rate table tried on a deployment's book, printed as a terminal
//! chart. It posts the candidate file to `POST /api/v1/rates/impact` and draws the report the
//! route answers: the totals, the spread of per-policy changes as a histogram, and the change by
//! tier and by territory.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

/// Posts the candidate table `candidate` (the file's text) to `base`'s rate impact route, with
/// `token` as the bearer token if given; the report, or why there is none.
pub fn fetch(base: &str, token: Option<&str>, candidate: &str) -> Result<Value, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.post(format!("{base}/api/v1/rates/impact"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let mut response = request
        .send_json(json!({ "candidate": candidate }))
        .map_err(|e| format!("POST /api/v1/rates/impact: {e}"))?;
    let status = response.status().as_u16();
    let body: Value = response
        .body_mut()
        .read_json()
        .map_err(|e| format!("POST /api/v1/rates/impact answered {status} without JSON: {e}"))?;
    if status == 200 {
        Ok(body)
    } else {
        let fields: Vec<String> = body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| format!("{}: {}", text(&e["field"]), text(&e["detail"])))
            .collect();
        Err(format!(
            "POST /api/v1/rates/impact answered {status}: {}{}",
            text(&body["detail"]),
            if fields.is_empty() {
                String::new()
            } else {
                format!(" ({})", fields.join("; "))
            }
        ))
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// A signed percentage as the report gives it, e.g. `+3.41%`.
fn percent(value: &Value) -> String {
    match value.as_str() {
        Some(p) if p.starts_with('-') => format!("{p}%"),
        Some(p) => format!("+{p}%"),
        None => "-".to_owned(),
    }
}

/// A signed amount, e.g. `+594.00`.
fn signed(value: &Value) -> String {
    match value.as_str() {
        Some(a) if a.starts_with('-') => a.to_owned(),
        Some(a) => format!("+{a}"),
        None => "-".to_owned(),
    }
}

/// The label of a histogram bucket: `below -25.0%`, `-2.5 to 0.0%`, `+25.0% and up`.
fn bucket_label(bucket: &Value) -> String {
    let edge = |v: &Value| {
        v.as_str().map(|s| {
            if s.starts_with('-') || s == "0.0" {
                s.to_owned()
            } else {
                format!("+{s}")
            }
        })
    };
    match (edge(&bucket["from"]), edge(&bucket["to"])) {
        (None, Some(to)) => format!("below {to}%"),
        (Some(from), None) => format!("{from}% and up"),
        (Some(from), Some(to)) => format!("{from} to {to}%"),
        (None, None) => "all".to_owned(),
    }
}

/// The rows of a group table (by tier or by territory), named by `key`.
fn group_table(out: &mut String, title: &str, key: &str, groups: &Value) {
    let _ = writeln!(out, "\n{title}");
    let _ = writeln!(
        out,
        "  {:<15} {:>8} {:>14} {:>14} {:>12} {:>9}",
        key, "policies", "current", "candidate", "change", "%"
    );
    for group in groups.as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  {:<15} {:>8} {:>14} {:>14} {:>12} {:>9}",
            text(&group[key]),
            text(&group["policies"]),
            text(&group["current_premium"]),
            text(&group["candidate_premium"]),
            signed(&group["change"]),
            percent(&group["change_percent"]),
        );
    }
}

/// The report drawn for a terminal `width` columns wide (at least 60).
pub fn render(report: &Value, width: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Rate impact: {} {}, the book in force on {}",
        text(&report["state"]),
        text(&report["policy_type"]),
        text(&report["as_of"])
    );
    for side in ["current", "candidate"] {
        let tables = &report[side];
        let sha = text(&tables["rate_table_sha256"]);
        let _ = writeln!(
            out,
            "  {side:<10} {}  sha256 {}",
            text(&tables["rate_table_version"]),
            sha.get(..12).unwrap_or(&sha)
        );
    }
    let total = &report["total"];
    let _ = writeln!(
        out,
        "\n  {} policies rated ({} not rated); written premium {} -> {}, {} ({})",
        text(&report["policies"]),
        text(&report["not_rated"]["policies"]),
        text(&total["current_premium"]),
        text(&total["candidate_premium"]),
        signed(&total["change"]),
        percent(&total["change_percent"]),
    );
    let above = &report["above_minimum"];
    let _ = writeln!(
        out,
        "  above the minimum premium: {}, changing from {} to {}; at the minimum: {}",
        text(&above["policies"]),
        percent(&above["lowest_change_percent"]),
        percent(&above["highest_change_percent"]),
        text(&report["at_minimum_premium"]),
    );
    for reason in report["not_rated"]["reasons"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let _ = writeln!(
            out,
            "  not rated ({}): {}",
            text(&reason["policies"]),
            text(&reason["reason"])
        );
    }

    let buckets: Vec<&Value> = report["histogram"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let most = buckets
        .iter()
        .filter_map(|b| b["policies"].as_u64())
        .max()
        .unwrap_or(0);
    let labels: Vec<String> = buckets.iter().map(|b| bucket_label(b)).collect();
    let label_width = labels.iter().map(String::len).max().unwrap_or(0);
    let bar_width = width.max(60).saturating_sub(label_width + 12);
    let _ = writeln!(out, "\nPolicies by change in written premium");
    for (bucket, label) in buckets.iter().zip(&labels) {
        let policies = bucket["policies"].as_u64().unwrap_or(0);
        // Any policy at all shows at least one block.
        let blocks = if most == 0 {
            0
        } else {
            usize::try_from(policies * u64::try_from(bar_width).unwrap_or(0))
                .unwrap_or(0)
                .div_ceil(usize::try_from(most).unwrap_or(1))
        };
        let _ = writeln!(
            out,
            "  {label:>label_width$} |{:<bar_width$} {policies}",
            "#".repeat(blocks)
        );
    }
    group_table(
        &mut out,
        "By tier (the current table's)",
        "tier",
        &report["by_tier"],
    );
    group_table(
        &mut out,
        "By territory",
        "territory",
        &report["by_territory"],
    );
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use policy_core::book::Impact;
    use policy_core::domain::{PolicyType, State};
    use policy_core::rating::tables::{Business, TableSet};
    use policy_core::rating::{RateTables, RatingRequest, rate};
    use policy_core::records::RatedOn;
    use time::macros::date;

    use super::*;

    /// A report made by the library over a small CA auto book, against a candidate with liability
    /// up 10% and the Los Angeles territory up.
    fn report() -> Value {
        let tables = RateTables::builtin().unwrap();
        let today = date!(2026 - 11 - 30);
        let text = include_str!("../../../shared/policy-core/rates/ca/auto/2026.11.0.toml")
            .replace(
                "rate_per_thousand = \"1.80\"",
                "rate_per_thousand = \"1.98\"",
            )
            .replace("\"900\" = \"1.45\"", "\"900\" = \"1.60\"");
        let candidate = tables.candidate(&text).unwrap();
        let current = tables
            .in_force(State::CA, PolicyType::Auto, Business::Renewal, today)
            .unwrap();
        let mut impact = Impact::new(
            current,
            TableSet::new(tables, &candidate, current.common_index()),
            today,
        );
        for (i, zip) in ["90012", "90012", "94105", "95814", "96001"]
            .iter()
            .enumerate()
        {
            let request = format!(
                r#"{{"state":"CA","policy_type":"auto","coverage":{{"liability":{}}},"drivers":[{{"age":{},"years_licensed":5}}],"vehicle":{{"year":2020}},"zip_code":"{zip}"}}"#,
                100_000 * (i + 1),
                25 + i * 10
            );
            let parsed: RatingRequest = serde_json::from_str(&request).unwrap();
            let quote = rate(tables, &parsed, today).unwrap();
            let rated_on = RatedOn {
                request,
                rate_table_version: quote.rate_table_version.to_owned(),
                rate_table_sha256: quote.rate_table_sha256.to_owned(),
            };
            impact.add(Some(&rated_on), today);
        }
        serde_json::to_value(impact.report()).unwrap()
    }

    #[test]
    fn the_chart_shows_the_totals_every_bucket_and_the_groups() {
        let report = report();
        let chart = render(&report, 80);
        assert!(chart.starts_with("Rate impact: CA auto, the book in force on 2026-11-30"));
        assert!(
            chart.contains("CA-auto-2026.11.0/common-2026.11.0"),
            "{chart}"
        );
        assert!(
            chart.contains(&format!(
                "5 policies rated (0 not rated); written premium {} -> {}",
                text(&report["total"]["current_premium"]),
                text(&report["total"]["candidate_premium"])
            )),
            "{chart}"
        );
        // One line per bucket, each ending with its count; the open ends are labelled as such.
        let bars: Vec<&str> = chart.lines().filter(|l| l.contains(" |")).collect();
        assert_eq!(bars.len(), 22, "{chart}");
        assert!(
            bars[0].trim_start().starts_with("below -25.0% |"),
            "{chart}"
        );
        assert!(
            bars[21].trim_start().starts_with("+25.0% and up |"),
            "{chart}"
        );
        let counted: u64 = bars
            .iter()
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(counted, 5);
        // The fullest bucket fills the bar; an empty one shows nothing.
        let longest = bars.iter().map(|l| l.matches('#').count()).max().unwrap();
        let label_width = bars[0].find(" |").unwrap() - 2;
        assert_eq!(longest, 80 - (label_width + 12));
        assert!(bars[0].matches('#').count() == 0, "{chart}");
        assert!(
            chart.contains("\nBy tier (the current table's)\n"),
            "{chart}"
        );
        assert!(
            chart.contains("\n  900 "),
            "Los Angeles is its own territory: {chart}"
        );
    }

    #[test]
    fn bucket_labels_read_as_ranges_with_open_ends() {
        assert_eq!(
            bucket_label(&json!({"from": null, "to": "-25.0"})),
            "below -25.0%"
        );
        assert_eq!(
            bucket_label(&json!({"from": "-2.5", "to": "0.0"})),
            "-2.5 to 0.0%"
        );
        assert_eq!(
            bucket_label(&json!({"from": "0.0", "to": "2.5"})),
            "0.0 to +2.5%"
        );
        assert_eq!(
            bucket_label(&json!({"from": "25.0", "to": null})),
            "+25.0% and up"
        );
    }
}
