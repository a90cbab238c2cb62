#!/usr/bin/env bash
# Replay over the reference policies (policies/): the tree as it is beside
# the same tree at a base commit (FW_BENCH_BASE, default the merge base with
# main), in the same run, on the same 200,000 records (BENCH_RECORDS) of
# every reference region and kind. Checks that both give identical findings
# (policy_version and the folder of the evidence's YAML aside) and prints seconds, records/s and the ratio. The
# first use: the reference policies rewritten in the typed style (issue 16)
# against the notice.lua style before it.
set -eu
: "${FW_BIN:?}"
N=${BENCH_RECORDS:-200000}
root=$(cd "$(dirname "$0")/../.." && pwd)
base=${FW_BENCH_BASE:-$(git -C "$root" merge-base HEAD main 2>/dev/null || echo "")}
if [ -z "$base" ]; then echo "reference.sh: no base commit (set FW_BENCH_BASE)"; exit 0; fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/before"
git -C "$root" archive "$base" policies | tar -x -C "$dir/before"
python3 - "$N" "$dir/feed.csv" <<'PY'
import random, sys
n, out = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(16)
regions = ["110101", "500103", "500101", "410371", "230882", "450202", "230102"]
with open(out, "w") as f:
    f.write("kind,region,year,dept,project,is_new,budget,paid,as_of,goal_rate,"
            "score,review_score,output_pts,benefit_pts,satisfaction_pts,base,reason\n")
    for i in range(n):
        r = regions[i % len(regions)]
        budget = rnd.randrange(100000, 900000000)
        paid = rnd.randrange(0, budget + 1)
        as_of = "2024-%02d-%02d" % (rnd.choice([3, 6, 9, 12]), 30 if rnd.random() < .5 else 15)
        if i % 5 == 4:
            dept_level = i % 10 == 9
            f.write("evaluation,%s,2024,D%04d,%s,,%d.%02d,%d.%02d,%s,%d,%d.%02d,%d,%d,%d,%d,%d.00,\n" % (
                r, i % 97, "" if dept_level else "P%07d" % i, budget // 100, budget % 100,
                paid // 100, paid % 100, as_of, rnd.randrange(40, 101),
                rnd.randrange(55, 100), rnd.randrange(0, 100), rnd.randrange(50, 95),
                rnd.randrange(30, 50), rnd.randrange(15, 30), rnd.randrange(5, 10),
                rnd.randrange(1000000, 50000000)))
        else:
            f.write("execution,%s,%d,D%04d,P%07d,%s,%d.%02d,%d.%02d,%s,%s,,,,,,,\n" % (
                r, rnd.choice([2022, 2023, 2024]), i % 97, i,
                "是" if i % 7 == 0 else "否", budget // 100, budget % 100,
                paid // 100, paid % 100, as_of,
                rnd.randrange(0, 101) if i % 3 == 0 else ""))
PY
run() { # seconds of one replay; findings into $2
    local pol=$1 out=$2
    /usr/bin/time -f '%e' -o "$dir/t" "$FW_BIN" replay --policies "$pol" --now 2024-12-31 \
        "$dir/feed.csv" >"$out" 2>"$dir/err" || [ $? -eq 1 ]
    cat "$dir/t"
}
best_b=999999 best_a=999999
for _ in 1 2 3; do # alternated, best of three: the machine is shared
    b=$(run "$dir/before/policies" "$dir/before.jsonl")
    a=$(run "$root/policies" "$dir/after.jsonl")
    best_b=$(awk -v x="$b" -v y="$best_b" 'BEGIN{print (x<y)?x:y}')
    best_a=$(awk -v x="$a" -v y="$best_a" 'BEGIN{print (x<y)?x:y}')
done
# policy_version differs; the evidence names the YAML by the path it was read at
strip() { sed 's/"policy_version":"[^"]*",//; s#"at":"[^"]*/policies/#"at":"policies/#g' "$1"; }
if ! cmp -s <(strip "$dir/before.jsonl") <(strip "$dir/after.jsonl"); then
    echo "reference.sh: the findings differ between $base and now"
    diff <(strip "$dir/before.jsonl") <(strip "$dir/after.jsonl") | head -5
    exit 1
fi
nf=$(wc -l <"$dir/after.jsonl")
awk -v n="$N" -v b="$best_b" -v a="$best_a" -v f="$nf" -v base="${base:0:10}" 'BEGIN {
    printf "reference policies, %d records, %d findings (identical before and after):\n", n, f;
    printf "  before (%s)  %6.2f s %9.0f rec/s\n", base, b, n/b;
    printf "  after  (this tree)  %6.2f s %9.0f rec/s\n", a, n/a;
    printf "  after is %.2fx the time of before\n", a/b }'
