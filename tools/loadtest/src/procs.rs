//! The processes on this machine, from `/proc`: which are our function binaries, their peak
//! resident memory, and how much CPU every process used over a span.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A running function binary of this workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionProcess {
    /// Process id.
    pub pid: u32,
    /// Function (= binary) name.
    pub function: String,
    /// `debug` or `release`.
    pub profile: String,
}

/// The function names: the folders under `functions/`.
pub fn function_names(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("functions"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Which function binary of `target` (the workspace's target directory) `exe` is, if any.
pub fn function_of(exe: &Path, target: &Path, functions: &[String]) -> Option<(String, String)> {
    // A binary rebuilt while running shows as "<path> (deleted)".
    let text = exe.to_str()?.trim_end_matches(" (deleted)");
    let rest = Path::new(text).strip_prefix(target).ok()?;
    let mut parts = rest.iter().filter_map(|p| p.to_str());
    let profile = parts.next()?;
    let name = parts.next()?;
    (parts.next().is_none()
        && matches!(profile, "debug" | "release")
        && functions.iter().any(|f| f == name))
    .then(|| (name.to_owned(), profile.to_owned()))
}

/// The function processes running from `root`'s `target/{debug,release}`. Their executable path
/// is compared, not their name, so another checkout's stack on this machine is not counted.
pub fn function_processes(root: &Path) -> Vec<FunctionProcess> {
    let functions = function_names(root);
    let target = std::fs::canonicalize(root.join("target")).unwrap_or_else(|_| root.join("target"));
    let mut found: Vec<FunctionProcess> = pids()
        .into_iter()
        .filter_map(|pid| {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
            let (function, profile) = function_of(&exe, &target, &functions)?;
            Some(FunctionProcess {
                pid,
                function,
                profile,
            })
        })
        .collect();
    found.sort_by(|a, b| (&a.function, a.pid).cmp(&(&b.function, b.pid)));
    found
}

/// `VmHWM` (peak resident set) in kB from the text of `/proc/<pid>/status`.
pub fn peak_rss_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Peak resident set of `pid` in kB.
pub fn peak_rss_of(pid: u32) -> Option<u64> {
    peak_rss_kb(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// Name and user plus system CPU time in clock ticks from the text of `/proc/<pid>/stat`.
pub fn cpu_ticks(stat: &str) -> Option<(String, u64)> {
    // The name is in parentheses and may itself hold spaces or parentheses: split at the last ')'.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    // Fields after the name start at field 3 (state); utime and stime are fields 14 and 15.
    let rest: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// CPU ticks used so far by every process, by pid, with a label: the function name for our
/// function binaries, else the process name.
pub fn cpu_snapshot(root: &Path) -> BTreeMap<u32, (String, u64)> {
    let functions: BTreeMap<u32, String> = function_processes(root)
        .into_iter()
        .map(|p| (p.pid, p.function))
        .collect();
    pids()
        .into_iter()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (name, ticks) = cpu_ticks(&stat)?;
            let label = functions.get(&pid).cloned().unwrap_or(name);
            Some((pid, (label, ticks)))
        })
        .collect()
}

/// CPU ticks used between two snapshots, summed by label, largest first. A process that started
/// in between counts from zero.
pub fn cpu_used(
    before: &BTreeMap<u32, (String, u64)>,
    after: &BTreeMap<u32, (String, u64)>,
) -> Vec<(String, u64)> {
    let mut by_label: BTreeMap<String, u64> = BTreeMap::new();
    for (pid, (label, ticks)) in after {
        let start = before
            .get(pid)
            .filter(|(l, _)| l == label)
            .map_or(0, |(_, t)| *t);
        *by_label.entry(label.clone()).or_default() += ticks.saturating_sub(start);
    }
    let mut used: Vec<(String, u64)> = by_label.into_iter().filter(|(_, t)| *t > 0).collect();
    used.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    used
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux we run on).
pub fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// The workspace root: the folder holding `functions/`.
pub fn canonical_root(root: &Path) -> PathBuf {
    std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_in_kilobytes() {
        let status =
            "Name:\tlist-policies\nVmPeak:\t  123456 kB\nVmHWM:\t   13400 kB\nVmRSS:\t 12000 kB\n";
        assert_eq!(peak_rss_kb(status), Some(13_400));
        assert_eq!(peak_rss_kb("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn cpu_ticks_are_user_plus_system_even_with_spaces_and_parentheses_in_the_name() {
        let stat =
            "4242 (tokio (rt) w) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 75 0 0 20 0 3 0 1234 0 0";
        assert_eq!(cpu_ticks(stat), Some(("tokio (rt) w".to_owned(), 325)));
        assert_eq!(cpu_ticks("1 (init) S 0"), None);
    }

    #[test]
    fn only_function_binaries_under_this_target_directory_are_functions() {
        let functions = vec!["health".to_owned(), "list-policies".to_owned()];
        let target = Path::new("/src/a/target");
        assert_eq!(
            function_of(
                Path::new("/src/a/target/release/health"),
                target,
                &functions
            ),
            Some(("health".to_owned(), "release".to_owned()))
        );
        assert_eq!(
            function_of(
                Path::new("/src/a/target/debug/list-policies (deleted)"),
                target,
                &functions
            ),
            Some(("list-policies".to_owned(), "debug".to_owned()))
        );
        for other in [
            "/src/b/target/release/health",
            "/src/a/target/release/devtool",
            "/src/a/target/release/deps/health",
            "/src/a/target/bench/health",
        ] {
            assert_eq!(
                function_of(Path::new(other), target, &functions),
                None,
                "{other}"
            );
        }
    }

    #[test]
    fn cpu_used_sums_by_label_and_counts_new_processes_from_zero() {
        let before = BTreeMap::from([(1, ("java".to_owned(), 100)), (2, ("health".to_owned(), 5))]);
        let after = BTreeMap::from([
            (1, ("java".to_owned(), 180)),
            (2, ("health".to_owned(), 5)),
            (3, ("health".to_owned(), 30)),
            (4, ("redis-server".to_owned(), 10)),
        ]);
        assert_eq!(
            cpu_used(&before, &after),
            vec![
                ("java".to_owned(), 80),
                ("health".to_owned(), 30),
                ("redis-server".to_owned(), 10)
            ]
        );
    }
}
