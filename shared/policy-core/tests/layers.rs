//! The crate's layers point one way: the pure core (domain, money, rating, underwriting, records,
//! caller) knows nothing of I/O or HTTP, adapters know nothing of HTTP, and no two top-level modules
//! import each other, directly or round a longer cycle. Read from the source, so a new `use` that
//! breaks the rule fails here.
#![allow(clippy::unwrap_used, clippy::panic, reason = "test code")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Modules with no I/O: they may use only each other.
const PURE: &[&str] = &[
    "domain",
    "money",
    "rating",
    "underwriting",
    "records",
    "caller",
    "digest",
    "book",
    "lifecycle",
];
/// What each module beyond the pure core may use, besides the pure core.
const ALLOWED: &[(&str, &[&str])] = &[
    ("settings", &[]),
    ("sdk", &[]),
    ("telemetry", &[]),
    ("storage", &["settings", "telemetry", "sdk"]),
    ("cache", &["settings", "telemetry"]),
    ("secrets", &["settings", "telemetry", "sdk"]),
    ("control", &["settings", "telemetry", "sdk"]),
    (
        "quoting",
        &["settings", "telemetry", "storage", "cache", "sdk"],
    ),
    (
        "api",
        &[
            "settings",
            "telemetry",
            "storage",
            "cache",
            "quoting",
            "secrets",
            "control",
            "sdk",
            "route",
        ],
    ),
];

/// The top-level modules each top-level module names through `crate::`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap();
            let first = relative.components().next().unwrap().as_os_str();
            let module = first.to_str().unwrap().trim_end_matches(".rs").to_owned();
            if module == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let used = graph.entry(module.clone()).or_default();
            for (at, _) in text.match_indices("crate::") {
                let rest = &text[at + "crate::".len()..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group[..group.find('}').unwrap()]
                        .split(',')
                        .map(|name| name.trim().split("::").next().unwrap())
                        .collect(),
                    None => vec![
                        rest.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                            .next()
                            .unwrap(),
                    ],
                };
                used.extend(
                    names
                        .into_iter()
                        .filter(|name| !name.is_empty() && *name != module)
                        .map(str::to_owned),
                );
            }
        }
    }
    graph
}

#[test]
fn the_pure_core_and_the_adapters_use_only_what_is_below_them() {
    let graph = imports();
    assert!(
        graph.contains_key("api") && graph.contains_key("rating"),
        "{graph:?}"
    );
    for (module, used) in &graph {
        let allowed: BTreeSet<&str> = if PURE.contains(&module.as_str()) {
            PURE.iter().copied().collect()
        } else {
            let (_, extra) = ALLOWED
                .iter()
                .find(|(name, _)| name == module)
                .unwrap_or_else(|| panic!("module {module} has no place in the layers"));
            PURE.iter().chain(extra.iter()).copied().collect()
        };
        for name in used {
            assert!(allowed.contains(name.as_str()), "{module} uses {name}");
        }
    }
}

#[test]
fn no_two_modules_import_each_other_round_any_cycle() {
    let graph = imports();
    // Kahn's algorithm: a graph is acyclic exactly when every node can be removed in turn.
    let mut remaining = graph.clone();
    loop {
        let leaf = remaining
            .iter()
            .find(|(_, used)| used.iter().all(|u| !remaining.contains_key(u)))
            .map(|(module, _)| module.clone());
        match leaf {
            Some(module) => {
                remaining.remove(&module);
            }
            None => break,
        }
    }
    assert!(remaining.is_empty(), "a cycle among {:?}", remaining.keys());
}
