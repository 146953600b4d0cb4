#!/usr/bin/env bash
# Runs every cargo fuzz target in fuzz/ for SECONDS seconds, one after another, and prints what each
# did: executions, coverage, corpus size, and the input and panic of any crash. Exits non-zero when
# a target crashed. Usage: scripts/fuzz.sh SECONDS
#
# Each run starts from the committed seeds in fuzz/corpus/<target> (replayed first, so every past
# crash is tried again) and from what earlier runs found in fuzz/scratch/<target>; new inputs go to
# fuzz/scratch only, so the committed seeds never change. Crashing inputs are written to
# fuzz/artifacts/<target>, logs to fuzz/logs/<target>.log.
#
# No sanitizer by default (FUZZ_SANITIZER=none): policy-decision forbids unsafe code, and without
# a sanitizer cargo fuzz passes only stable rustc flags, so the stable toolchain builds the targets
# as they are. FUZZ_SANITIZER=address adds AddressSanitizer for the unsafe code in dependencies:
# it works on the stable toolchain through RUSTC_BOOTSTRAP=1 (cargo fuzz then passes
# -Zsanitizer=address), builds into its own target directory, and runs about 7 times slower.
set -euo pipefail

seconds=${1:?usage: scripts/fuzz.sh SECONDS}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

sanitizer=${FUZZ_SANITIZER:-none}
fuzz=(cargo fuzz)
build_flags=(--sanitizer "$sanitizer")
if [[ $sanitizer != none ]]; then
    export RUSTC_BOOTSTRAP=1
    build_flags+=(--target-dir "fuzz/target/$sanitizer")
fi
# libFuzzer: bodies and query strings up to 16 KiB (the envelope line repeats a body past 10 MB),
# a slow input or a 2 GB allocation is a failure, and the run ends with its counts.
libfuzzer_flags=(
    "-max_total_time=$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048
    "-dict=$root/fuzz/fuzz.dict" -print_final_stats=1
)

started=$(date +%s)
"${fuzz[@]}" build "${build_flags[@]}"
echo "fuzz: built the targets in $(($(date +%s) - started)) s"

mapfile -t targets < <("${fuzz[@]}" list)
mkdir -p fuzz/logs
failed=()
summary=()
for target in "${targets[@]}"; do
    mkdir -p "fuzz/scratch/$target"
    log="fuzz/logs/$target.log"
    echo "fuzz: $target for $seconds s"
    status=0
    "${fuzz[@]}" run "${build_flags[@]}" "$target" \
        "$root/fuzz/scratch/$target" "$root/fuzz/corpus/$target" \
        -- "${libfuzzer_flags[@]}" >"$log" 2>&1 || status=$?
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
    # A target that crashes at once has no counts; the summary says so instead of the script dying.
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2 || true)
    corpus=$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2 || true)
    if [[ $status -eq 0 ]]; then
        result=ok
    else
        result="FAILED ($status)"
        failed+=("$target")
    fi
    summary+=("$(printf '%-16s %-12s %14s %10s %9s %8s' "$target" "$result" \
        "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" "${coverage:-?}" "${corpus:-?}")")
    if [[ $status -ne 0 ]]; then
        echo "fuzz: $target failed; the end of $log:"
        grep -E "panicked|Test unit written|ERROR|SUMMARY" "$log" | tail -n 8 || tail -n 20 "$log"
    fi
done

echo
echo "fuzz: $seconds s per target, sanitizer $sanitizer, $(($(date +%s) - started)) s in all"
printf '%-16s %-12s %14s %10s %9s %8s\n' target result executions "exec/s" coverage corpus
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz: crashes in ${failed[*]}; inputs in fuzz/artifacts/, replay one with" \
        "cargo fuzz run ${build_flags[*]} <target> <input>"
    exit 1
fi
