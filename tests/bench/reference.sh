#!/usr/bin/env bash
# The main workload: the shipped reference policies (policies/: 8 policies,
# 14 rules) over a 12-column export as the 预算管理一体化 system writes it
# (tests/bench/export.py: BENCH_RECORDS records, default 500,000, every
# reference region, ~5.8 % of records give a finding). In the same run, on
# the same file, alternating, best of three each:
#   - fundwatch replay with the reference policies;
#   - fundwatch replay with the replay bench's three small policies
#     (tests/bench/small-policies/): the ratio of the two is what the
#     reference set costs beyond a minimal one;
#   - fundwatch records --quiet: the reader alone.
# Goals (issue 19): the reference replay at >= 500,000 rec/s and at >= 0.5x
# the small-policy replay. The spread of the three runs is printed.
# Exits 1 when a replay fails or reports a policy error.
set -eu
. "$(dirname "$0")/lib.sh"
N=${BENCH_RECORDS:-500000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 "$BENCH_ROOT/tests/bench/export.py" "$N" "$dir/export.csv"

# seconds of one run (wall, to the microsecond); findings into $dir/found.NAME
run() { # NAME COMMAND...
    local name=$1 rc=0 t0 t1; shift
    t0=$EPOCHREALTIME
    "$@" >/dev/null 2>"$dir/err" || rc=$?
    t1=$EPOCHREALTIME
    if [ $rc -gt 1 ] || grep -q '[1-9][0-9]* policy error' "$dir/err"; then
        echo "reference.sh: $name failed ($rc)" >&2; tail -3 "$dir/err" >&2; exit 1
    fi
    sed -n 's/^replay: \([0-9]*\) finding.*/\1/p' "$dir/err" >"$dir/found.$name"
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}'
}
R=(--now 2024-12-31 "$dir/export.csv")
declare -A all
for _ in 1 2 3; do
    all[ref]+="$(run ref "$FW_BIN" replay --policies "$BENCH_ROOT/policies" "${R[@]}") "
    all[small]+="$(run small "$FW_BIN" replay --policies "$BENCH_ROOT/tests/bench/small-policies" "${R[@]}") "
    all[reader]+="$(run reader "$FW_BIN" records --quiet "$dir/export.csv") "
done
best() { tr ' ' '\n' <<<"${all[$1]}" | grep . | sort -g | head -1; }
spread() { tr ' ' '\n' <<<"${all[$1]}" | grep . | sort -g |
           awk '{v[NR]=$1} END{printf "%.3f-%.3f s", v[1], v[NR]}'; }
ref=$(best ref) small=$(best small) reader=$(best reader)
rate() { awk -v n="$N" -v s="$1" 'BEGIN{printf "%.0f", n / (s > 0 ? s : 0.01)}'; }

echo "reference policies: $N records (12-column export), $(cat "$dir/found.ref") findings; best of 3 (spread):"
printf '  %-44s %6.3f s %9s rec/s  (%s)\n' \
    "replay, reference policies" "$ref" "$(rate "$ref")" "$(spread ref)" \
    "replay, 3 small policies ($(cat "$dir/found.small") findings)" "$small" "$(rate "$small")" "$(spread small)" \
    "records --quiet (the reader alone)" "$reader" "$(rate "$reader")" "$(spread reader)"
ratio=$(awk -v a="$small" -v b="$ref" 'BEGIN{printf "%.2f", a / (b > 0 ? b : 0.01)}')
figure "replay, reference policies, 12-column export, ~5.8 % findings (rec/s)" \
    "$(rate "$ref")" "-" ">= 500000" \
    "$(awk -v r="$(rate "$ref")" 'BEGIN{print (r >= 500000) ? "yes" : "no"}')"
figure "reference replay / small-policy replay, same file" "$ratio" \
    "small $(rate "$small") rec/s" ">= 0.5" \
    "$(awk -v r="$ratio" 'BEGIN{print (r >= 0.5) ? "yes" : "no"}')"
