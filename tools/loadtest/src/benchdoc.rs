//! `BENCHMARKS.md`, generated from what `make benchmarks` measured: criterion medians, the dhat
//! allocation counts, both load profiles and the cold starts, each figure with the command that
//! produced it and the brief's target beside it.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

/// Criterion benches reported, with what each measures and its target.
const BENCHES: [(&str, &str, &str); 15] = [
    (
        "rate/auto_one",
        "the engine on a detailed auto request",
        "< 20 µs (brief: 50 ms)",
    ),
    (
        "rate/home_one",
        "the engine on a detailed home request",
        "< 20 µs (brief: 50 ms)",
    ),
    ("rate/auto_batch_100", "100 auto requests", "< 2 ms"),
    ("rate/auto_batch_1000", "1,000 auto requests", "< 20 ms"),
    (
        "parse/auto_request",
        "JSON body to a validated request",
        "-",
    ),
    ("serialize/auto_quote", "the breakdown to JSON", "-"),
    (
        "handler/calculate_rate_minimal",
        "calculate-rate handler in process, brief's body",
        "< 50 µs",
    ),
    (
        "handler/calculate_rate_auto",
        "calculate-rate handler in process, detailed auto body",
        "< 50 µs",
    ),
    (
        "handler/calculate_rate_batch_100",
        "calculate-rate handler, batch of 100",
        "-",
    ),
    (
        "dynamo/policy_to_item",
        "a policy to its DynamoDB item (serde_dynamo)",
        "-",
    ),
    (
        "dynamo/policy_from_item",
        "a DynamoDB item back to a policy",
        "-",
    ),
    (
        "cache/l1_hit_policy",
        "cache key built and answered from L1",
        "-",
    ),
    (
        "cache/l1_miss_policy",
        "cache key built, L1 miss, no Redis",
        "-",
    ),
    (
        "book/replay_10000",
        "10,000 stored policies replayed with their own tables (one core)",
        "< 20 ms (over 500,000 policies/s)",
    ),
    (
        "book/impact_10000",
        "the rate impact's work on 10,000 policies: each rated with two tables",
        "-",
    ),
];

/// Criterion's median for `bench` in nanoseconds. A bench named `group/name` outside a benchmark
/// group is stored under `group_name`.
fn criterion_median(target: &Path, bench: &str) -> Option<f64> {
    [bench.to_owned(), bench.replace('/', "_")]
        .iter()
        .find_map(|dir| {
            let path = target
                .join("criterion")
                .join(dir)
                .join("new/estimates.json");
            let text = std::fs::read_to_string(path).ok()?;
            serde_json::from_str::<Value>(&text).ok()?["median"]["point_estimate"].as_f64()
        })
}

/// A duration in nanoseconds in the unit that suits it.
pub fn human_ns(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else {
        format!("{:.2} ms", ns / 1_000_000.0)
    }
}

/// `(name, bytes, allocations)` rows of the allocation bench's table in its output.
pub fn allocation_rows(output: &str) -> Vec<(String, u64, u64)> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in output.lines() {
        if line.starts_with("request") && line.contains("bytes/request") {
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let parsed = match words.as_slice() {
            [name @ .., bytes, blocks] if !name.is_empty() => bytes
                .parse()
                .ok()
                .zip(blocks.parse().ok())
                .map(|(b, a)| (name.join(" "), b, a)),
            _ => None,
        };
        match parsed {
            Some(row) => rows.push(row),
            None => in_table = false,
        }
    }
    rows
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "?".to_owned(), |s| s.trim().to_owned())
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("?", |(_, m)| m.trim());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .map(|v| v.trim().trim_end_matches("kB").trim().to_owned())
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or_else(
            || "?".to_owned(),
            |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0),
        );
    format!(
        "| CPUs (`nproc`) | {} |\n| model | {model} |\n| RAM | {memory} |\n| rustc | {} |\n| date | {} |\n",
        command_output("nproc", &[]),
        command_output("rustc", &["--version"]),
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
    )
}

fn load_section(out: &mut String, report: &Value, command: &str) {
    let plan = &report["plan"];
    let _ = writeln!(
        out,
        "Profile `{}`: {} users for {} s. Command: `{command}`\n",
        plan["profile"].as_str().unwrap_or("?"),
        plan["users"],
        plan["duration_s"]
    );
    let _ = writeln!(
        out,
        "| route | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let f = |v: &Value| {
        v.as_f64()
            .map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"))
    };
    let mut rows: Vec<(&str, &Value)> = report["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (r["route"].as_str().unwrap_or("?"), r))
        .collect();
    rows.push(("all", &report["overall"]));
    for (name, r) in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {} | {} | {} | {} | {} |",
            if name == "all" {
                "**all**".to_owned()
            } else {
                format!("`{name}`")
            },
            r["count"],
            r["throughput"].as_f64().unwrap_or(0.0),
            f(&r["p50_ms"]),
            f(&r["p95_ms"]),
            f(&r["p99_ms"]),
            f(&r["max_ms"]),
            r["errors"]
        );
    }
    let _ = writeln!(
        out,
        "\n| figure | measured | brief's target | |\n| --- | ---: | --- | --- |"
    );
    for floor in report["floors"].as_array().into_iter().flatten() {
        let verdict = match floor["met"].as_bool() {
            Some(true) => "meets",
            Some(false) => "**misses**",
            None => "n/a",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {verdict} |",
            floor["name"].as_str().unwrap_or("?"),
            floor["value"].as_str().unwrap_or("?"),
            floor["target"].as_str().unwrap_or("?")
        );
    }
    if let Some(caches) = report["cache"]["caches"].as_array() {
        let _ = writeln!(
            out,
            "\nCache reads (EMF lines in the watch log during the run):\n"
        );
        for c in caches {
            let _ = writeln!(
                out,
                "- `{}`: {} of {} reads hit ({})",
                c["cache"].as_str().unwrap_or("?"),
                c["hits"],
                c["lookups"],
                c["hit_rate"]
                    .as_f64()
                    .map_or_else(|| "n/a".to_owned(), |r| format!("{:.1}%", r * 100.0))
            );
        }
    }
    functions_section(out, report);
    if let Some(routes) = report["dynamodb_calls_by_route"].as_object() {
        let _ = writeln!(
            out,
            "\nDynamoDB calls per request by route (EMF `DynamoDbCalls`; a cache hit makes none):\n\n| route | requests | DynamoDB calls | per request |\n| --- | ---: | ---: | ---: |"
        );
        for (route, c) in routes {
            let _ = writeln!(
                out,
                "| `{route}` | {} | {} | {} |",
                c["requests"],
                c["calls"],
                c["per_request"]
                    .as_f64()
                    .map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"))
            );
        }
    }
    out.push('\n');
}

/// Handler and DynamoDB latency, memory and CPU of a load run.
fn functions_section(out: &mut String, report: &Value) {
    let _ = writeln!(
        out,
        "\nHandler latency as the functions measure it (EMF `Latency`, whole ms) and DynamoDB calls (EMF `DynamoDbLatency`):\n"
    );
    let _ = writeln!(
        out,
        "| function | requests | handler p50 | handler p99 | DynamoDB calls | DynamoDB p50 | DynamoDB p99 | peak RSS | CPU µs/request | target |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    );
    let loads = crate::costs::function_loads(report, &template());
    let rss = |function: &str| {
        report["peak_rss"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["function"] == function)
            .filter_map(|p| p["peak_rss_kb"].as_u64())
            .max()
            .map_or_else(
                || "-".to_owned(),
                |kb| format!("{:.1} MB", kb as f64 / 1024.0),
            )
    };
    for (function, h) in report["handler_latency"].as_object().into_iter().flatten() {
        let d = &report["dynamodb_latency"][function];
        let ms = |v: &Value| {
            v.as_u64()
                .map_or_else(|| "-".to_owned(), |x| format!("{x} ms"))
        };
        let cpu = loads
            .iter()
            .find(|l| &l.function == function)
            .and_then(crate::costs::FunctionLoad::cpu_us_per_request);
        let _ = writeln!(
            out,
            "| {function} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            h["count"].as_u64().unwrap_or(0),
            ms(&h["p50_ms"]),
            ms(&h["p99_ms"]),
            d["count"].as_u64().unwrap_or(0),
            ms(&d["p50_ms"]),
            ms(&d["p99_ms"]),
            rss(function),
            cpu.map_or_else(|| "-".to_owned(), |us| format!("{us:.0}")),
            cpu_target(function, cpu),
        );
    }
    let _ = writeln!(
        out,
        "\nCPU used during the run by process (`/proc/<pid>/stat`, cores = CPU seconds / wall seconds):\n"
    );
    let _ = writeln!(out, "| process | CPU s | cores |\n| --- | ---: | ---: |");
    for p in report["cpu"].as_array().into_iter().flatten().take(6) {
        let _ = writeln!(
            out,
            "| {} | {:.2} | {:.2} |",
            p["process"].as_str().unwrap_or("?"),
            p["cpu_seconds"].as_f64().unwrap_or(0.0),
            p["cores"].as_f64().unwrap_or(0.0)
        );
    }
}

/// `template.yaml`, for the functions' memory sizes.
fn template() -> String {
    std::fs::read_to_string("template.yaml").unwrap_or_default()
}

/// The CPU per request target of `function`'s processes and whether `us` meets it.
fn cpu_target(function: &str, us: Option<f64>) -> String {
    let limit = match function {
        "calculate-rate" | "list-policies" => 100.0,
        "create-quote" => 300.0,
        _ => return "-".to_owned(),
    };
    let verdict = match us {
        Some(us) if us < limit => "meets",
        Some(_) => "**misses**",
        None => "not measured",
    };
    format!("< {limit:.0} µs: {verdict}")
}

/// The whole document. `dir` holds the run's outputs (`bench.txt`, `brief/`, `production/`,
/// `coldstart.json`); `notes` is the hand-written "where the time goes" analysis it includes.
pub fn render(target: &Path, dir: &Path, setup: &str, notes: &str) -> String {
    let mut out = String::from(
        "# Benchmarks\n\nGenerated by `make benchmarks`; do not edit by hand. Every figure is a median or a ratio, with the\ncommand that produced it and the product brief's target beside it.\n\n## Machine\n\n| | |\n| --- | --- |\n",
    );
    out.push_str(&machine());
    let _ = writeln!(out, "| stack | {setup} |\n");
    let _ = writeln!(
        out,
        "## Micro benchmarks\n\nCommand: `cargo bench --locked -p policy-core --bench rating --bench allocations` (`make bench`), medians from\n`target/criterion/<bench>/new/estimates.json` (`median.point_estimate`).\n\n| bench | what | median | target |\n| --- | --- | ---: | --- |"
    );
    for (bench, what, target_text) in BENCHES.iter().filter(|(b, _, _)| !b.is_empty()) {
        let median = criterion_median(target, bench).map_or_else(|| "not run".to_owned(), human_ns);
        let _ = writeln!(out, "| `{bench}` | {what} | {median} | {target_text} |");
    }
    let bench_output = std::fs::read_to_string(dir.join("bench.txt")).unwrap_or_default();
    let _ = writeln!(
        out,
        "\nHeap per request (`benches/allocations.rs`, dhat, mean of 1,000 requests in process):\n\n| request | bytes | allocations | target |\n| --- | ---: | ---: | --- |"
    );
    for (name, bytes, allocations) in allocation_rows(&bench_output) {
        let verdict = if bytes < 64 * 1024 {
            "meets"
        } else {
            "**misses**"
        };
        let _ = writeln!(
            out,
            "| {name} | {bytes} | {allocations} | < 64 KB (brief: < 1 MB): {verdict} |"
        );
    }
    out.push_str("\n## Load\n\n");
    for profile in ["brief", "production", "lifecycle"] {
        match read_json(&dir.join(profile).join("report.json")) {
            Some(report) => {
                let plan = &report["plan"];
                let command = format!(
                    "loadtest run --profile {profile} --users {} --duration {} --base-url $API_URL --log $STACK_LOG",
                    plan["users"], plan["duration_s"]
                );
                load_section(&mut out, &report, &command);
            }
            None => {
                let _ = writeln!(out, "Profile `{profile}`: not run.\n");
            }
        }
    }
    ceiling_section(&mut out, dir);
    cost_section(&mut out, dir);
    out.push_str("## Cold start\n\n");
    match read_json(&dir.join("coldstart.json")) {
        Some(report) => {
            let _ = writeln!(
                out,
                "Command: `loadtest coldstart --runs {}` against the stack's DynamoDB Local and Redis. Each release binary is\nspawned against a Lambda Runtime API served by the tool and handed its sample event twice; medians of the runs.\n`init` is spawn to the first `next` request, `first response` spawn to the first answer, `first invocation` and\n`warm invocation` the handler's time for the first and the second event (their difference is the first call's\nconnection setup to DynamoDB and Redis). Init's steps, as the function logs them: `tables` the rate tables' parse\n(`tables_us`), `sdk` the DynamoDB client's configuration (`dynamodb_client_us`), `redis` the first Redis connection\n(`cache_connect_us`; TLS when the stack's `REDIS_URL` is `rediss://`). `binary` is the size of\n`target/release/<function>` on this machine (x86_64, stripped), not the arm64 zip.\n\n| function | event | init ms | first response ms | first invocation ms | warm invocation ms | tables ms | sdk ms | redis connect ms | status | binary | peak RSS |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
                report["runs"]
            );
            let results: Vec<&Value> = report["results"].as_array().into_iter().flatten().collect();
            for r in &results {
                let _ = writeln!(out, "| {} |", crate::coldstart::row_cells(r).join(" | "));
            }
            let _ = writeln!(
                out,
                "\nTarget: init < 30 ms for every function, the first Redis connection included. This build: {}.",
                init_verdict(&report)
            );
            if let Some(deployed) = read_json(&dir.join("nojitter").join("coldstart.json")) {
                let _ = writeln!(
                    out,
                    "As `make build` builds for deploying (`AWS_LC_SYS_NO_JITTER_ENTROPY=1`, compared below): {}.",
                    init_verdict(&deployed)
                );
            }
            out.push('\n');
        }
        None => out.push_str("Not run.\n\n"),
    }
    jitter_section(&mut out, dir);
    environment_section(&mut out, dir);
    zip_section(&mut out, Path::new("target/lambda"));
    out.push_str("## Where the time goes\n\n");
    out.push_str(notes.trim());
    out.push('\n');
    out
}

/// The overall throughput, p95, p99 and errors of the report in `dir/<name>/report.json`.
fn overall(dir: &Path, name: &str) -> Option<Value> {
    Some(read_json(&dir.join(name).join("report.json"))?["overall"].clone())
}

/// Each profile over HTTP against the same mix answered in process (`ceiling-<profile>/`), and
/// open-loop at 80% of that ceiling (`<profile>-at-80/`).
fn ceiling_section(out: &mut String, dir: &Path) {
    out.push_str("## The testbed's ceiling\n\n");
    out.push_str(
        "Command: `loadtest run --in-process $STACK/env --profile <profile> --users 32 --duration 15`. The same users send the\nsame mix to the functions' own route tables in one process, over the same DynamoDB Local and Redis, with the same\nitems: the same handlers make the same storage calls, with no Lambda runtime, event passing or `cargo lambda watch`\nproxy in between. That is what this machine's DynamoDB Local and Redis can serve for the mix; each profile over\nHTTP is reported as a ratio of it (target >= 0.8), so a slow emulator neither hides a slow function nor excuses one.\n\n| profile | over HTTP req/s | in process req/s | ratio | target | in process p95 ms | in process p99 ms |\n| --- | ---: | ---: | ---: | --- | ---: | ---: |\n",
    );
    for profile in ["brief", "production", "lifecycle"] {
        let (Some(http), Some(ceiling)) = (
            overall(dir, profile),
            overall(dir, &format!("ceiling-{profile}")),
        ) else {
            let _ = writeln!(out, "| {profile} | not run | | | | | |");
            continue;
        };
        let (a, b) = (
            http["throughput"].as_f64().unwrap_or(0.0),
            ceiling["throughput"].as_f64().unwrap_or(0.0),
        );
        let ratio = (b > 0.0).then(|| a / b);
        let verdict = match ratio {
            Some(r) if r >= 0.8 => "meets",
            Some(_) => "**misses**",
            None => "n/a",
        };
        let _ = writeln!(
            out,
            "| {profile} | {a:.0} | {b:.0} | {} | >= 0.8: {verdict} | {} | {} |",
            ratio.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}")),
            ceiling["p95_ms"],
            ceiling["p99_ms"],
        );
    }
    out.push_str(
        "\nPaced at 80% of the ceiling: `loadtest run --profile <profile> --users 32 --rate <0.8 x in-process req/s> --duration 30` over\nHTTP: the rate the stack is asked to hold, what it served, and the brief's latency floors at it (p95 < 100 ms, p99 < 200 ms,\n0 errors).\n\n| profile | asked req/s | served req/s | p95 ms | p99 ms | errors | floors |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |\n",
    );
    for profile in ["brief", "production", "lifecycle"] {
        let name = format!("{profile}-at-80");
        let (Some(run), Some(report)) = (
            overall(dir, &name),
            read_json(&dir.join(&name).join("report.json")),
        ) else {
            let _ = writeln!(out, "| {profile} | not run | | | | | |");
            continue;
        };
        let p95 = run["p95_ms"].as_f64().unwrap_or(f64::MAX);
        let p99 = run["p99_ms"].as_f64().unwrap_or(f64::MAX);
        let errors = run["errors"].as_u64().unwrap_or(u64::MAX);
        let met = p95 < 100.0 && p99 < 200.0 && errors == 0;
        let _ = writeln!(
            out,
            "| {profile} | {} | {:.0} | {p95:.1} | {p99:.1} | {errors} | {} |",
            report["plan"]["rate"],
            run["throughput"].as_f64().unwrap_or(0.0),
            if met { "meet" } else { "**miss**" }
        );
    }
    out.push('\n');
}

/// What each profile's mix costs on Lambda, and the concurrency it needs, from its load run.
fn cost_section(out: &mut String, dir: &Path) {
    use crate::costs::{PRICES, concurrency, cost_per_million, function_loads};
    out.push_str("## What it costs on Lambda\n\n");
    let _ = writeln!(
        out,
        "From each profile's load run above: each function's share of the requests, its mean handler latency (EMF `Latency`,\nwhole ms, so billed as one more: Lambda bills each invocation rounded up to the millisecond) and its `MemorySize` in\n`template.yaml`. Cost per million requests of the mix = sum over functions of share x (price per request + memory GB x\nbilled seconds x price per GB-second) x 10^6. Prices: {PRICES}. API Gateway (HTTP API, USD 1.00 per million) and\nDynamoDB and ElastiCache are billed on top. `environments at 1,000 req/s` is Little's law: 1,000 x share x billed\nseconds, one request per environment at a time (Lambda's default); with Managed Instances' N requests per\nenvironment (below), divide by N.\n"
    );
    for profile in ["brief", "production", "lifecycle"] {
        let Some(report) = read_json(&dir.join(profile).join("report.json")) else {
            continue;
        };
        let loads = function_loads(&report, &template());
        let total: u64 = loads.iter().map(|l| l.requests).sum();
        if total == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "Profile `{profile}`:\n\n| function | share | mean ms | billed ms | memory MB | USD per million of its requests | environments at 1,000 req/s |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for load in &loads {
            let share = load.requests as f64 / total as f64;
            let _ = writeln!(
                out,
                "| {} | {:.1}% | {:.2} | {:.2} | {} | {:.3} | {:.1} |",
                load.function,
                share * 100.0,
                load.mean_ms,
                load.billed_ms(),
                load.memory_mb,
                load.cost_per_request() * 1e6,
                concurrency(load, share, 1000.0),
            );
        }
        if let Some(cost) = cost_per_million(&loads) {
            let _ = writeln!(
                out,
                "\nLambda cost per million requests of the `{profile}` mix: **USD {cost:.3}**.\n"
            );
        }
    }
}

/// Whether every row of a cold-start report initialised in under 30 ms, and which did not.
fn init_verdict(report: &Value) -> String {
    let results: Vec<&Value> = report["results"].as_array().into_iter().flatten().collect();
    let slow: Vec<String> = results
        .iter()
        .filter(|r| r["init_ms"].as_f64().is_none_or(|ms| ms >= 30.0))
        .map(|r| {
            format!(
                "{} ({}, {:.1} ms)",
                r["function"].as_str().unwrap_or("?"),
                r["event"].as_str().unwrap_or("?"),
                r["init_ms"].as_f64().unwrap_or(f64::NAN)
            )
        })
        .collect();
    if slow.is_empty() {
        format!("meets, every one of {} rows", results.len())
    } else {
        format!(
            "**misses** for {} of {} rows: {}",
            slow.len(),
            results.len(),
            slow.join(", ")
        )
    }
}

/// Each function's first sample event, cold, built as usual (`coldstart.json`) and with
/// `AWS_LC_SYS_NO_JITTER_ENTROPY=1` (`nojitter/coldstart.json`).
fn jitter_section(out: &mut String, dir: &Path) {
    let (Some(usual), Some(nojitter)) = (
        read_json(&dir.join("coldstart.json")),
        read_json(&dir.join("nojitter").join("coldstart.json")),
    ) else {
        return;
    };
    out.push_str(
        "Built with `AWS_LC_SYS_NO_JITTER_ENTROPY=1` (aws-lc without its CPU jitter entropy source; the kernel's `getrandom`\nstill seeds it): `AWS_LC_SYS_NO_JITTER_ENTROPY=1 CARGO_TARGET_DIR=target/nojitter cargo build --release`, then\n`loadtest coldstart --bin-dir target/nojitter/release`. Medians per function over its sample events' runs:\n\n| function | init ms | init ms, no jitter | redis connect ms | redis connect ms, no jitter |\n| --- | ---: | ---: | ---: | ---: |\n",
    );
    let per_function = |report: &Value, function: &str, key: &str| -> Option<f64> {
        let mut values: Vec<f64> = report["results"]
            .as_array()?
            .iter()
            .filter(|r| r["function"] == function)
            .filter_map(|r| r[key].as_f64())
            .collect();
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied()
    };
    let mut functions: Vec<&str> = usual["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["function"].as_str())
        .collect();
    functions.dedup();
    let cell = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"));
    for function in functions {
        let _ = writeln!(
            out,
            "| {function} | {} | {} | {} | {} |",
            cell(per_function(&usual, function, "init_ms")),
            cell(per_function(&nojitter, function, "init_ms")),
            cell(per_function(&usual, function, "cache_connect_ms")),
            cell(per_function(&nojitter, function, "cache_connect_ms")),
        );
    }
    out.push('\n');
}

/// The arm64 zips `make build` left in `lambda_dir`, against the 5 MB target.
fn zip_section(out: &mut String, lambda_dir: &Path) {
    out.push_str("## Zip sizes\n\n");
    let mut zips: Vec<(String, u64)> = std::fs::read_dir(lambda_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let size = std::fs::metadata(entry.path().join("bootstrap.zip"))
                .ok()?
                .len();
            Some((entry.file_name().to_string_lossy().into_owned(), size))
        })
        .collect();
    if zips.is_empty() {
        out.push_str("Not built (`make build`).\n\n");
        return;
    }
    zips.sort();
    out.push_str(
        "Command: `make build` (cargo lambda, release, arm64), the size of `target/lambda/<function>/bootstrap.zip`. What makes\nthem large: docs/performance.md#what-makes-a-zip-large.\n\n| function | zip bytes | MB | target |\n| --- | ---: | ---: | --- |\n",
    );
    for (function, bytes) in zips {
        let verdict = if bytes < 5_000_000 {
            "meets"
        } else {
            "**misses**"
        };
        let _ = writeln!(
            out,
            "| {function} | {bytes} | {:.2} | < 5 MB: {verdict} |",
            bytes as f64 / 1e6
        );
    }
    out.push('\n');
}

/// Many requests per environment (`environment-<function>.json`, from `loadtest environment`).
fn environment_section(out: &mut String, dir: &Path) {
    out.push_str("## Many requests per environment\n\n");
    let reports: Vec<Value> = ["calculate-rate", "create-quote"]
        .iter()
        .filter_map(|f| read_json(&dir.join(format!("environment-{f}.json"))))
        .collect();
    if reports.is_empty() {
        out.push_str("Not run.\n\n");
        return;
    }
    out.push_str(
        "Command: `loadtest environment --concurrency 1,8,32` (`make environment`). One release binary per row, started with\n`AWS_LAMBDA_MAX_CONCURRENCY=N` (as Lambda Managed Instances run it: `run_concurrent`, a multi-threaded runtime\nabove 1) against a Runtime API served by the tool, which keeps N invocations of the sample event in flight for the\nrun. Latency is from an invocation handed out to its response; CPU is the process's user and system time per\nrequest; `mixed` counts requests whose metric line is not exactly their own (id, status, DynamoDB calls): 0 means\nno request's figures leaked into another's. The tool and the function share this machine's cores; create-quote\nwrites to DynamoDB Local. Target: 20,000 req/s per 2-core environment for calculate-rate.\n\n| function | event | N | held at once | req/s | p50 ms | p95 ms | p99 ms | CPU us/req | statuses | DynamoDB calls per request | mixed |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |\n",
    );
    for report in &reports {
        for run in report["runs"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                report["function"].as_str().unwrap_or("?"),
                report["event"].as_str().unwrap_or("?"),
                run["concurrency"],
                run["max_in_flight"],
                run["per_second"],
                run["p50_ms"],
                run["p95_ms"],
                run["p99_ms"],
                run["cpu_us_per_request"],
                run["statuses"],
                run["dynamodb_calls"],
                run["mixed"],
            );
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_rows_are_read_from_the_bench_table_and_nothing_else() {
        let output = "Running benches/allocations.rs\nrequest           bytes/request allocs/request\nbrief                      4622             25\ndetailed auto              7219             76\ncreate-quote              20480            140\ndhat: Total: 1 bytes\n";
        assert_eq!(
            allocation_rows(output),
            vec![
                ("brief".to_owned(), 4622, 25),
                ("detailed auto".to_owned(), 7219, 76),
                ("create-quote".to_owned(), 20480, 140)
            ]
        );
        assert!(allocation_rows("nothing here 1 2").is_empty());
    }

    #[test]
    fn durations_are_shown_in_the_unit_that_suits_them() {
        assert_eq!(human_ns(812.4), "812 ns");
        assert_eq!(human_ns(1_240.0), "1.24 µs");
        assert_eq!(human_ns(1_220_000.0), "1.22 ms");
    }
}
