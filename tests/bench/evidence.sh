#!/usr/bin/env bash
# What recording evidence costs: replay with findings that carry their
# evidence (the default) beside replay --no-evidence, in the same run, best
# of three each, on
#   - the shipped reference policies (policies/, 8 policies) over a
#     13-column export like examples/feeds/ (~5 % of records give a finding),
#   - the replay bench's three small policies over its 9-column feed.
# The goal (issue 17): evidence costs at most 10 % of replay throughput.
# FW_BIN is the binary; BENCH_RECORDS overrides the record count (300,000).
set -eu
. "$(dirname "$0")/lib.sh"
N=${BENCH_RECORDS:-300000}
[ -x /usr/bin/time ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

python3 - "$N" "$dir" <<'PY'
import random, sys
n, d = int(sys.argv[1]), sys.argv[2]
random.seed(11)
regions = ["500103", "500104", "110101", "230882", "410371", "450202"]
dates = [("2024-03-31", 25), ("2024-06-30", 50), ("2024-09-15", 70.69), ("2024-11-30", 91.67)]
head = "财政区划代码,预算年度,单位代码,单位名称,项目代码,项目名称,项目类别,资金性质,是否新增,指标金额,累计支付,数据日期,绩效目标完成率\n"
out = [head]
for i in range(n):
    b = random.randrange(100000, 290000000)
    date, seq = dates[i % 4]
    lag = random.uniform(10, 30) if random.random() < 0.05 else random.uniform(-20, 9.9)
    p = min(b, max(0, int(b * (seq - lag) / 100)))
    goal = min(100, max(0, seq + random.uniform(-5, 5)))
    out.append("%s,2024,%d,单位%d,P%08d,项目%d,建设,一般公共预算,%s,%d.%02d,%d.%02d,%s,%.2f%%\n" % (
        regions[i % 6], 500000 + i % 97, i % 97, i, i % 1000, "是" if i % 50 == 0 else "否",
        b // 100, b % 100, p // 100, p % 100, date, goal))
open(d + "/ref.csv", "w", encoding="utf-8", newline="").write("".join(out))
PY
# the small policies and their feed: the replay bench's own
sed -n '/^# ---- the three policies/,/^# ---- the baseline/p' "$root/tests/bench/replay.sh" |
    sed '$d' | N="$N" dir="$dir" BENCH_ROOT="$BENCH_ROOT" bash

measure() {
    /usr/bin/time -f '%e' -o "$dir/t" "$@" >"$dir/out" 2>"$dir/err" || [ $? -eq 1 ]
    echo "$(cat "$dir/t") $(wc -c <"$dir/out")"
}
best() {
    local b="" r
    for _ in 1 2 3; do
        r=$(measure "$@")
        if [ -z "$b" ] || awk -v a="${r% *}" -v c="${b% *}" 'BEGIN{exit !(a<c)}'; then b=$r; fi
    done
    echo "$b"
}
found() { sed -n 's/^replay: \([0-9]*\) finding.*/\1/p' "$dir/err"; }

R=(replay --policies "$root/policies" --columns "$root/examples/columns.yaml" --now 2024-12-31 "$dir/ref.csv")
ref_on=$(best "$FW_BIN" "${R[@]}"); ref_n=$(found)
ref_off=$(best "$FW_BIN" "${R[@]}" --no-evidence)
S=(replay --policies "$dir/policies" --now 2024-12-31 "$dir/feed.csv")
small_on=$(best "$FW_BIN" "${S[@]}"); small_n=$(found)
small_off=$(best "$FW_BIN" "${S[@]}" --no-evidence)

report() { # name records findings on off
    awk -v name="$1" -v n="$2" -v f="$3" -v on="$4" -v off="$5" 'BEGIN {
        split(on, A, " "); split(off, B, " ");
        printf "%s: %d records, %d findings (%.1f %%)\n", name, n, f, 100*f/n;
        printf "  replay --no-evidence  %6.2f s %9.0f rec/s  output %6.1f MB\n", B[1], n/B[1], B[2]/1e6;
        printf "  replay (evidence)     %6.2f s %9.0f rec/s  output %6.1f MB\n", A[1], n/A[1], A[2]/1e6;
        printf "  evidence costs %+.1f %% of throughput (goal: at most 10 %%)\n", 100*(A[1]-B[1])/B[1];
    }'
}
# Instructions, not seconds, when asked (BENCH_CALLGRIND=1): callgrind's
# count is the same whatever else the machine does.
if [ -n "${BENCH_CALLGRIND:-}" ] && command -v valgrind >/dev/null; then
    ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
           sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'; }
    a=$(ir "$FW_BIN" "${R[@]}"); b=$(ir "$FW_BIN" "${R[@]}" --no-evidence)
    c=$(ir "$FW_BIN" "${S[@]}"); e=$(ir "$FW_BIN" "${S[@]}" --no-evidence)
    awk -v a="$a" -v b="$b" -v c="$c" -v e="$e" -v n="$N" 'BEGIN {
        printf "instructions (callgrind), %d records:\n", n;
        printf "  reference policies: %.0f with evidence, %.0f without: %+.1f %%\n", a, b, 100*(a-b)/b;
        printf "  3 small policies:   %.0f with evidence, %.0f without: %+.1f %%\n", c, e, 100*(c-e)/e;
    }'
fi
echo "evidence: the same run, best of three each"
report "reference policies (policies/, 8 policies)" "$N" "$ref_n" "$ref_on" "$ref_off"
report "the replay bench's 3 small policies" "$N" "$small_n" "$small_on" "$small_off"
cost() { awk -v a="$1" -v b="$2" 'BEGIN{split(a, A, " "); split(b, B, " "); printf "%+.1f %%", 100*(A[1]-B[1])/B[1]}'; }
met() { awk -v a="$1" -v b="$2" 'BEGIN{split(a, A, " "); split(b, B, " "); print ((A[1]-B[1])/B[1] <= 0.10) ? "yes" : "no"}'; }
figure "evidence's cost, reference policies (throughput)" "$(cost "$ref_on" "$ref_off")" \
    "--no-evidence $(awk -v n="$N" -v s="${ref_off% *}" 'BEGIN{printf "%.0f", n/s}') rec/s" "<= 10 %" "$(met "$ref_on" "$ref_off")"
figure "evidence's cost, 3 small policies (throughput)" "$(cost "$small_on" "$small_off")" \
    "--no-evidence $(awk -v n="$N" -v s="${small_off% *}" 'BEGIN{printf "%.0f", n/s}') rec/s" "<= 10 %" "$(met "$small_on" "$small_off")"
