//! Load and cold-start measurements of policy-decision.
//!
//! ```text
//! loadtest [run] --base-url URL [--profile brief|production|lifecycle] [--users 32] [--duration 30]
//!          [--rate REQ_PER_S] [--out target/load] [--log WATCH_LOG] [--seed N]
//! loadtest run --in-process ENV_FILE [--profile ...] [--users 32] [--duration 30] [--out DIR]
//! loadtest coldstart [--env .stack/dev/env] [--runs 5] [--bin-dir target/release] [--out target/load]
//! loadtest environment [--env .stack/dev/env] [--function calculate-rate] [--event brief]
//!          [--concurrency 1,8,32] [--duration 10] [--build release] [--out target/load]
//! ```
//!
//! `run` sends the profile's mix from `--users` concurrent users for `--duration` seconds (capped at
//! `--rate` requests per second over all users, if given), then prints per route the count,
//! throughput, p50/p95/p99/max and errors; the cache hit rate from the functions' EMF lines in the
//! `cargo lambda watch` log written during the run; the peak RSS of each function process; the CPU
//! each process used; and each figure against the brief's floors. It writes `report.json` and
//! `report.html` into `--out`. With `--in-process ENV_FILE` instead of `--base-url`, the same
//! users send the same mix to the functions' route tables in this process, over the stack's
//! DynamoDB Local and Redis named in `ENV_FILE`: the testbed's ceiling (see [`inprocess`]).
//!
//! `coldstart` starts each release function binary against a Lambda Runtime API served in process
//! with each of its sample events in `events/`, and reports the medians of spawn to init done and
//! to first response, the first and a warm invocation, the binary size and the peak RSS. It writes
//! `coldstart.json` into `--out`.
//!
//! `environment` starts one release function binary per concurrency with
//! `AWS_LAMBDA_MAX_CONCURRENCY` set to it, against a Runtime API served in process that keeps that
//! many invocations of the sample event in flight, and reports the environment's throughput, the
//! latency from hand-out to response, the CPU per request and whether every request's metric line
//! was its own. It writes `environment-<function>.json` into `--out`.
#![allow(
    clippy::float_arithmetic,
    clippy::cast_precision_loss,
    reason = "latency, rate and size figures, not money; f64 is their unit"
)]

mod benchdoc;
mod coldstart;
mod costs;
mod emf;
mod environment;
mod inprocess;
mod mix;
mod procs;
mod report;
mod run;
mod stats;

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::mix::Profile;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Command-line options as `--name value` pairs.
struct Args(Vec<String>);

impl Args {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .position(|a| a == name)
            .and_then(|i| self.0.get(i + 1))
            .map(String::as_str)
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, Error> {
        match self.get(name) {
            Some(text) => text
                .parse()
                .map_err(|_| format!("{name} takes a number, not {text:?}").into()),
            None => Ok(default),
        }
    }
}

const USAGE: &str = "usage: loadtest [run] (--base-url URL | --in-process ENV_FILE) [--profile brief|production|lifecycle] [--users N] [--duration SECS] \
[--rate REQ_PER_S] [--out DIR] [--log WATCH_LOG] [--seed N]\n       loadtest coldstart [--env ENV_FILE] [--runs N] [--bin-dir DIR] [--out DIR]
       loadtest environment [--env ENV_FILE] [--function NAME] [--event NAME] [--concurrency 1,8,32] [--duration SECS] [--build release|profiling] [--out DIR]
       loadtest benchmarks [--dir target/load] [--setup TEXT] [--notes FILE] [--out BENCHMARKS.md]";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let command = match args.first().map(String::as_str) {
        Some("run" | "coldstart" | "environment" | "benchmarks") => args.remove(0),
        Some("-h" | "--help") | None => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
        _ => "run".to_owned(),
    };
    let args = Args(args);
    let outcome = match command.as_str() {
        "coldstart" => cold_start(&args),
        "environment" => environment(&args),
        "benchmarks" => benchmarks(&args),
        _ => load(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loadtest: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    // One thread: the generator should take as little of the machine from the stack as it can.
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn write_out(dir: &Path, name: &str, text: &str) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The watch log from `offset` on: what the functions printed during the run.
fn log_since(path: &Path, offset: u64) -> Result<String, Error> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Where the run sends: `--base-url` (or `API_URL`), or `in-process:<env file>`.
fn base_url(args: &Args) -> Result<String, Error> {
    Ok(match args.get("--in-process") {
        Some(env_file) => format!("in-process:{env_file}"),
        None => args
            .get("--base-url")
            .map(str::to_owned)
            .or_else(|| std::env::var("API_URL").ok())
            .ok_or("--base-url is required (or API_URL)")?
            .trim_end_matches('/')
            .to_owned(),
    })
}

fn load(args: &Args) -> Result<ExitCode, Error> {
    let in_process = args.get("--in-process");
    let base_url = base_url(args)?;
    let profile_name = args.get("--profile").unwrap_or("brief");
    let profile = Profile::parse(profile_name).ok_or_else(|| {
        format!("--profile is brief, production or lifecycle, not {profile_name:?}")
    })?;
    let users: usize = args.number("--users", 32)?;
    let duration: u64 = args.number("--duration", 30)?;
    if users == 0 || duration == 0 || users > 10_000 || duration > 3600 {
        return Err("--users must be 1-10000 and --duration 1-3600 seconds".into());
    }
    let rate: Option<u32> = args
        .get("--rate")
        .map(str::parse)
        .transpose()
        .map_err(|_| "--rate takes a number")?;
    let out = PathBuf::from(args.get("--out").unwrap_or("target/load"));
    let log = args
        .get("--log")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("STACK_LOG").map(PathBuf::from));
    let root = procs::canonical_root(Path::new(args.get("--root").unwrap_or(".")));
    let seed: u64 = args.number("--seed", 20_261_128)?;

    let log_offset = log
        .as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.len());
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let cpu_before = procs::cpu_snapshot(&root);
    let plan = run::Plan {
        base_url: base_url.clone(),
        profile,
        users,
        duration: Duration::from_secs(duration),
        rate,
        seed,
    };
    eprintln!(
        "loadtest: {} users, profile {}, {duration} s against {base_url}",
        users,
        profile.as_str()
    );
    let (recorder, elapsed) = match in_process {
        None => runtime()?.block_on(run::run(plan, run::Transport::http(users))),
        Some(env_file) => run_in_process(plan, env_file)?,
    };
    let cpu_after = procs::cpu_snapshot(&root);
    // The functions print their metrics after answering; give the last lines time to reach the log.
    std::thread::sleep(Duration::from_millis(500));

    let metrics = if let (Some(path), Some(offset)) = (&log, log_offset) {
        let mut metrics = emf::Metrics::default();
        metrics.add_log(&log_since(path, offset)?);
        Some(metrics)
    } else {
        eprintln!("loadtest: no watch log (--log or STACK_LOG), so no cache hit rate");
        None
    };
    let rss: Vec<_> = procs::function_processes(&root)
        .into_iter()
        .map(|p| {
            let kb = procs::peak_rss_of(p.pid);
            (p, kb)
        })
        .collect();
    let ticks = procs::ticks_per_second() as f64;
    let cpu: Vec<(String, f64)> = procs::cpu_used(&cpu_before, &cpu_after)
        .into_iter()
        .map(|(label, t)| (label, t as f64 / ticks))
        .collect();
    let ctx = report::Context {
        plan: json!({"profile": profile.as_str(), "users": users, "duration_s": duration, "rate": rate,
                     "base_url": base_url, "seed": seed}),
        metrics: metrics.as_ref(),
        rss: &rss,
        cpu: &cpu,
        started_unix,
    };
    let report = report::to_json(&recorder, elapsed, &ctx);
    print!("{}", report::to_text(&report));
    let json_path = write_out(&out, "report.json", &serde_json::to_string_pretty(&report)?)?;
    let html_path = write_out(&out, "report.html", &report::to_html(&report))?;
    println!(
        "\nwrote {} and {}",
        json_path.display(),
        html_path.display()
    );
    let answered = report["overall"]["count"].as_u64().unwrap_or(0);
    let errors = report["overall"]["errors"].as_u64().unwrap_or(0);
    Ok(if answered > 0 && errors < answered {
        ExitCode::SUCCESS
    } else {
        eprintln!("loadtest: no request succeeded; is the stack up at {base_url}?");
        ExitCode::FAILURE
    })
}

/// Runs `plan` against the functions' route tables in this process, over the stack named in
/// `env_file`: the testbed's ceiling.
fn run_in_process(plan: run::Plan, env_file: &str) -> Result<(stats::Recorder, Duration), Error> {
    let env = coldstart::parse_env(
        &std::fs::read_to_string(env_file)
            .map_err(|e| format!("{env_file}: {e} (start a stack first: make dev)"))?,
    );
    // The AWS SDK reads its region and credentials from this process's environment, as each
    // function's reads its own: the file's must be exported here.
    if let Some((name, _)) = env
        .iter()
        .find(|(k, v)| k.starts_with("AWS_") && std::env::var(k).ok().as_deref() != Some(v))
    {
        return Err(format!(
            "{name} is not as {env_file} says: export its variables first (set -a; . {env_file}; set +a)"
        )
        .into());
    }
    // The handlers run on worker threads, one per core, as the functions' processes would share
    // the cores; the users stay on this one.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let functions = inprocess::Functions::from_env(&env).await?;
        let transport = run::Transport::InProcess(std::sync::Arc::new(functions));
        Ok(run::run(plan, transport).await)
    })
}

fn environment(args: &Args) -> Result<ExitCode, Error> {
    let env_file = args.get("--env").unwrap_or(".stack/dev/env");
    let env = coldstart::parse_env(
        &std::fs::read_to_string(env_file)
            .map_err(|e| format!("{env_file}: {e} (start a stack first: make dev)"))?,
    );
    let root = procs::canonical_root(Path::new(args.get("--root").unwrap_or(".")));
    let function = args
        .get("--function")
        .unwrap_or("calculate-rate")
        .to_owned();
    let event_name = args.get("--event").unwrap_or("brief").to_owned();
    let duration = Duration::from_secs(args.number("--duration", 10)?);
    let out = PathBuf::from(args.get("--out").unwrap_or("target/load"));
    let levels: Vec<usize> = args
        .get("--concurrency")
        .unwrap_or("1,8,32")
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .map_err(|_| format!("--concurrency takes numbers, not {n:?}"))
        })
        .collect::<Result<_, _>>()?;
    // `--build profiling`: the `make profile` build, with symbols for perf.
    let build = args.get("--build").unwrap_or("release");
    let binary = root.join("target").join(build).join(&function);
    if !binary.is_file() {
        return Err(
            format!("no {build} build of {function}: cargo build --profile {build} first").into(),
        );
    }
    let mut event = environment::event(&root, &function, &event_name)?;
    if function == "create-quote" {
        // Every create its own: a key per invocation (the harness makes each unique).
        event["headers"]["idempotency-key"] = json!("per invocation");
    }
    let runtime = runtime()?;
    let local = tokio::task::LocalSet::new();
    let mut runs = Vec::new();
    for concurrency in levels {
        let options = environment::Options {
            binary: binary.clone(),
            function: function.clone(),
            event: event.clone(),
            env: env.clone(),
            concurrency,
            duration,
        };
        let outcome = local.block_on(&runtime, environment::measure(&options))?;
        println!(
            "{function} ({event_name}) N={concurrency:>3}: {:>8.0} req/s  p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  CPU {:>6} us/req  in flight {:>3}  statuses {:?}  mixed {}",
            outcome.per_second,
            outcome.latency_ms[0],
            outcome.latency_ms[1],
            outcome.latency_ms[2],
            outcome
                .cpu_us_per_request
                .map_or_else(|| "?".to_owned(), |us| format!("{us:.0}")),
            outcome.max_in_flight,
            outcome.statuses,
            outcome.mixed.len(),
        );
        runs.push((concurrency, outcome));
    }
    let report = environment::to_json(&function, &event_name, &runs);
    let path = write_out(
        &out,
        &format!("environment-{function}.json"),
        &serde_json::to_string_pretty(&report)?,
    )?;
    println!("wrote {}", path.display());
    let mixed = runs.iter().any(|(_, o)| !o.mixed.is_empty());
    Ok(if mixed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn cold_start(args: &Args) -> Result<ExitCode, Error> {
    let env_file = args.get("--env").unwrap_or(".stack/dev/env");
    let env = coldstart::parse_env(
        &std::fs::read_to_string(env_file)
            .map_err(|e| format!("{env_file}: {e} (start a stack first: make dev)"))?,
    );
    let runs: usize = args.number("--runs", 5)?;
    let out = PathBuf::from(args.get("--out").unwrap_or("target/load"));
    let root = procs::canonical_root(Path::new(args.get("--root").unwrap_or(".")));
    // `--bin-dir`: another build of the functions, such as one with a different build setting.
    let bin_dir = args
        .get("--bin-dir")
        .map_or_else(|| root.join("target/release"), PathBuf::from);
    let functions = procs::function_names(&root);
    let missing: Vec<&String> = functions
        .iter()
        .filter(|f| !bin_dir.join(f).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "no build of {missing:?} in {}: cargo build --release first",
            bin_dir.display()
        )
        .into());
    }
    let runtime = runtime()?;
    let local = tokio::task::LocalSet::new();
    let report = local.block_on(
        &runtime,
        coldstart::measure(&bin_dir, &root, &functions, &env, runs.max(1)),
    );
    print!("{}", coldstart::to_text(&report));
    let path = write_out(
        &out,
        "coldstart.json",
        &serde_json::to_string_pretty(&report)?,
    )?;
    println!("\nwrote {}", path.display());
    let failed = report["results"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["runs"] == 0);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn benchmarks(args: &Args) -> Result<ExitCode, Error> {
    let dir = PathBuf::from(args.get("--dir").unwrap_or("target/load"));
    let notes_path = args
        .get("--notes")
        .unwrap_or("scripts/where-the-time-goes.md");
    let notes = std::fs::read_to_string(notes_path).map_err(|e| format!("{notes_path}: {e}"))?;
    let setup = args.get("--setup").unwrap_or("?");
    let text = benchdoc::render(Path::new("target"), &dir, setup, &notes);
    let out = args.get("--out").unwrap_or("BENCHMARKS.md");
    std::fs::write(out, text)?;
    println!("wrote {out}");
    Ok(ExitCode::SUCCESS)
}
