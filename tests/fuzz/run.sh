#!/usr/bin/env bash
# Runs one libFuzzer target: tests/fuzz/run.sh BUILD NAME SECONDS.
# The corpus grows in BUILD/corpus/NAME, seeded from tests/fuzz/corpus/NAME
# (the committed, minimised corpus); a crash, leak or timeout leaves its
# input as BUILD/crash-NAME-* and fails. Prints one TAP line with the
# executions and the coverage libFuzzer reports.
set -u
build=$1 name=$2 secs=$3
bin=$build/fuzz-$name
seeds=${FUZZ_SEEDS:-$(dirname "$0")/corpus/$name}
corpus=$build/corpus/$name
mkdir -p "$corpus"
log=$build/fuzz-$name.log
# -timeout: one input may take at most 10 s (the sandbox's own ceiling is
# 1 s per hook call); -rss_limit_mb: above every cap the targets set.
nice "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/crash-$name-" \
    "$corpus" "$seeds" >"$log" 2>&1
rc=$?
done=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
cov=$(echo "$done" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
ft=$(echo "$done" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
if [ $rc -eq 0 ]; then
    echo "ok - fuzz $name: ${secs}s, ${execs:-?} executions, cov ${cov:-?} edges, ft ${ft:-?}"
else
    echo "not ok - fuzz $name exited $rc (see $log)"
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5
    exit 1
fi
