#!/usr/bin/env bash
# Replay benchmark: 1,000,000 execution records through three policies
# (national, province "50" replacing the national rule, district "500103"),
# measured in the same run beside
#   - the reader alone (`fundwatch records --quiet`: full validation, no output),
#   - a plain-Python baseline: csv.reader plus the same three rules in exact
#     integer arithmetic, printing the same findings as JSON lines,
#   - replay without the instruction budget (--budget 0: no count hook).
# Checks that replay and the baseline find the same number of findings.
# Prints seconds, records/s, peak RSS and the ratios. FW_BIN is the binary;
# BENCH_RECORDS overrides the record count.
#
# With FW_BASE_REV set, also the code of that commit (built once into
# build/bench-base/REV/) beside this one, CPU time, in the same run, on the
# same feed and on the reference policies over the example feeds repeated to
# BENCH_REF_RECORDS records: both must find the same (issue 21 measured its
# guards this way).
set -eu
. "$(dirname "$0")/lib.sh"
N=${BENCH_RECORDS:-1000000}
need=""
command -v python3 >/dev/null || need="$need python3"
[ -x /usr/bin/time ] || need="$need time"
if [ -n "$need" ]; then
    echo "installing:$need"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# ---- the three policies (tests/bench/small-policies/) ------------------------
cp -r "$BENCH_ROOT/tests/bench/small-policies" "$dir/policies"

# ---- the feed ----------------------------------------------------------------
python3 - "$N" "$dir" <<'PY'
# About 5 % of records produce a finding (the issue's mix): paid is set so that
# the lag behind 序时进度 is under 10 points for 95 % of records and 10–30
# points for 5 %; about 1 % are new 500103 projects of 3,000,000.00 or more.
import random, sys
n, d = int(sys.argv[1]), sys.argv[2]
random.seed(7)
regions = ["500103", "500104", "110101", "230882", "500103", "440305"]
dates = [("2024-03-31", 25), ("2024-06-30", 50), ("2024-09-15", 70.69), ("2024-11-30", 91.67)]
out = ["财政区划代码,预算年度,单位代码,项目代码,项目名称,是否新增,指标金额,累计支付,数据日期\n"]
for i in range(n):
    b = random.randrange(100000, 900000000)
    date, seq = dates[i % 4]
    lag = random.uniform(10, 30) if random.random() < 0.05 else random.uniform(-20, 9.9)
    p = min(b, max(0, int(b * (seq - lag) / 100)))
    out.append("%s,2024,%d,P%08d,项目%d,%s,%d.%02d,%d.%02d,%s\n" % (
        regions[i % 6], 500000 + i % 97, i, i % 1000, "是" if i % 10 == 0 else "否",
        b // 100, b % 100, p // 100, p % 100, date))
open(d + "/feed.csv", "w", encoding="utf-8", newline="").write("".join(out))
PY

# ---- the baseline: the same rules in plain Python ------------------------------
cat >"$dir/base.py" <<'PY'
import csv, json, sys

def fen(s):
    a, _, b = s.partition(".")
    return int(a) * 100 + int((b + "00")[:2])

MDAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

def lag(budget, paid, as_of):
    """seq − progress in hundredths of a point, exact, half away from zero."""
    if budget == 0:
        return None
    y, m, d = int(as_of[:4]), int(as_of[5:7]), int(as_of[8:10])
    dm = MDAYS[m - 1]
    if m == 2 and not (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)):
        dm = 28
    # seq% = ((m-1)*D + d) / (12 D) * 100; progress% = paid / budget * 100
    num = ((m - 1) * dm + d) * 10000 * budget - paid * 10000 * 12 * dm
    den = 12 * dm * budget
    q = (2 * abs(num) + den) // (2 * den)
    return q if num >= 0 else -q

out = sys.stdout
found = 0
with open(sys.argv[1], encoding="utf-8", newline="") as f:
    r = csv.reader(f)
    h = next(r)
    ix = {k: i for i, k in enumerate(h)}
    ir, ib, ip, ia, inew = (ix["财政区划代码"], ix["指标金额"], ix["累计支付"],
                            ix["数据日期"], ix["是否新增"])
    for line, row in enumerate(r, start=2):
        region, budget, paid = row[ir], fen(row[ib]), fen(row[ip])
        l = lag(budget, paid, row[ia])
        src = {"feed": sys.argv[1], "line": line}
        if region.startswith("50"):
            if l is not None and l >= 1500:
                found += 1
                out.write(json.dumps({"kind": "alert", "rule": "b_prov",
                    "level": "red" if l >= 2500 else "yellow", "region": region,
                    "message": "落后序时进度 %d.%02d 个百分点" % divmod(l, 100),
                    "source": src}, ensure_ascii=False) + "\n")
        elif l is not None and l >= 1000:
            found += 1
            out.write(json.dumps({"kind": "alert", "rule": "b_lag",
                "level": "red" if l >= 2000 else "yellow", "region": region,
                "message": "落后序时进度 %d.%02d 个百分点" % divmod(l, 100),
                "source": src}, ensure_ascii=False) + "\n")
        if region.startswith("500103") and row[inew] == "是" and budget >= 300000000:
            found += 1
            out.write(json.dumps({"kind": "alert", "rule": "b_key", "level": "info",
                "region": region, "message": "新增 %d.%02d 元: 重点项目" % divmod(budget, 100),
                "source": src}, ensure_ascii=False) + "\n")
print("findings", found, file=sys.stderr)
PY

# One run: "seconds peak-RSS-KiB" of a command; stdout discarded, stderr kept.
measure() {
    /usr/bin/time -f '%e %M' -o "$dir/t" "$@" >/dev/null 2>"$dir/err" || {
        rc=$?
        # replay exits 1 when policies err; anything else is a failure
        if [ $rc -ne 1 ] || { [ "$1" != "$FW_BIN" ] && [ "$1" != "${base_bin:-}" ]; }; then
            echo "failed ($rc): $*"; tail -5 "$dir/err"; exit 1; fi; }
    cat "$dir/t"
}
best() { # the best of three: the machine is shared
    local b="" r
    for _ in 1 2 3; do
        r=$(measure "$@")
        if [ -z "$b" ] || awk -v a="${r% *}" -v c="${b% *}" 'BEGIN{exit !(a<c)}'; then b=$r; fi
    done
    echo "$b"
}

f=$dir/feed.csv
P=(--policies "$dir/policies" --now 2024-12-31)
reader=$(best "$FW_BIN" records --quiet "$f")
replay=$(best "$FW_BIN" replay "${P[@]}" "$f")
fw_found=$(sed -n 's/^replay: \([0-9]*\) finding.*/\1/p' "$dir/err")
fw_errors=$(sed -n 's/.*; \([0-9]*\) policy error.*/\1/p' "$dir/err")
nobudget=$(best "$FW_BIN" replay "${P[@]}" --budget 0 "$f")
base=$(best python3 "$dir/base.py" "$f")
py_found=$(sed -n 's/^findings //p' "$dir/err")
mb=$(awk -v b="$(stat -c %s "$f")" 'BEGIN{printf "%.1f", b/1e6}')

awk -v n="$N" -v mb="$mb" -v fw="$fw_found" -v py="$py_found" -v rd="$reader" \
    -v rp="$replay" -v nb="$nobudget" -v b="$base" 'BEGIN {
    split(rd, R, " "); split(rp, P, " "); split(nb, U, " "); split(b, B, " ");
    printf "replay: %d records (CSV, %s MB), 3 policies (national, province, district), %d findings\n", n, mb, fw;
    printf "  python3 csv + the same rules (baseline) %6.2f s %9.0f rec/s  rss %6.1f MB\n", B[1], n/B[1], B[2]/1024;
    printf "  fundwatch records --quiet (the reader)  %6.2f s %9.0f rec/s  rss %6.1f MB\n", R[1], n/R[1], R[2]/1024;
    printf "  fundwatch replay                        %6.2f s %9.0f rec/s  rss %6.1f MB\n", P[1], n/P[1], P[2]/1024;
    printf "  fundwatch replay --budget 0 (no hook)   %6.2f s %9.0f rec/s  rss %6.1f MB\n", U[1], n/U[1], U[2]/1024;
    printf "  replay is %.2fx the baseline; the reader is %.0f%% of replay time; the budget hook costs %+.1f%%\n",
           B[1]/(P[1] > 0 ? P[1] : 0.01), 100*R[1]/(P[1] > 0 ? P[1] : 0.01), 100*(P[1]-U[1])/(U[1] > 0 ? U[1] : 0.01);
}'
if [ "$fw_found" != "$py_found" ] || [ "${fw_errors:-0}" != 0 ]; then
    echo "replay: MISMATCH: fundwatch found $fw_found findings ($fw_errors policy errors), the baseline $py_found"
    exit 1
fi
read -r rp_s _ <<<"$replay"; read -r rd_s _ <<<"$reader"; read -r py_s _ <<<"$base"
figure "replay, 3 small policies, $N records, ~5 % findings (rec/s)" \
    "$(awk -v n="$N" -v s="$rp_s" 'BEGIN{printf "%.0f", n/s}')" \
    "python3 csv $(awk -v n="$N" -v s="$py_s" 'BEGIN{printf "%.0f", n/s}')" \
    ">= 6x baseline ($(awk -v a="$py_s" -v b="$rp_s" 'BEGIN{printf "%.2fx", a/b}'))" \
    "$(awk -v a="$py_s" -v b="$rp_s" 'BEGIN{print (a/b >= 6) ? "yes" : "no"}')"
figure "the reader's share of that replay" \
    "$(awk -v a="$rd_s" -v b="$rp_s" 'BEGIN{printf "%.0f %%", 100*a/b}')" - - -

# ---- the sandbox's guards beside the old code path ---------------------------
root=$(cd "$(dirname "$0")/../.." && pwd)
rev=${FW_BASE_REV:-}
base_bin=""
if [ -n "$rev" ]; then
    bdir=$root/build/bench-base/$rev
    if [ ! -x "$bdir/build/fundwatch" ]; then
        echo "building the old code path ($rev) for comparison..."
        rm -rf "$bdir" && mkdir -p "$bdir"
        git -C "$root" archive "$rev" | tar -x -C "$bdir" &&
            nice make -C "$bdir" -j2 build/fundwatch FW_NO_APT=1 >"$dir/base.log" 2>&1 ||
            { echo "  (could not build $rev: $(tail -1 "$dir/base.log"))"; rm -rf "$bdir"; }
    fi
    [ -x "$bdir/build/fundwatch" ] && base_bin=$bdir/build/fundwatch
fi
if [ -z "$base_bin" ]; then
    exit 0
fi

# The reference policies over the example feeds, each repeated (header kept).
R=${BENCH_REF_RECORDS:-200000}
ex=$root/examples/feeds
rows=$(cat "$ex"/*.csv "$ex"/*.ndjson | wc -l)
k=$(( R / rows + 1 ))
ref_feeds=()
for src in "$ex"/*.csv "$ex"/*.ndjson; do
    out=$dir/ref-$(basename "$src")
    case $src in
    *.csv) { head -1 "$src"; for _ in $(seq "$k"); do tail -n +2 "$src"; done; } >"$out" ;;
    *) for _ in $(seq "$k"); do cat "$src"; done >"$out" ;;
    esac
    ref_feeds+=("$out")
done
ref_n=$(( $(cat "${ref_feeds[@]}" | wc -l) - $(ls "$ex"/*.csv | wc -l) ))
RP=(--policies "$root/policies" --now 2024-12-31)

# "CPU-seconds findings" of one replay (user + system: the machine is
# shared, and the guards' cost is CPU); nothing when it failed.
cpu() {
    /usr/bin/time -f '%U %S' -o "$dir/t" "$@" >/dev/null 2>"$dir/err"
    [ $? -le 1 ] || { tail -3 "$dir/err" >&2; return; }
    echo "$(awk '{print $1 + $2}' "$dir/t") $(sed -n 's/^replay: \([0-9]*\) finding.*/\1/p' "$dir/err")"
}
# best of three, the two binaries alternating so that both see the same load
pair() { # label, then the replay arguments
    local label=$1; shift
    local bn="" bo="" r
    for _ in 1 2 3; do
        for b in new old; do
            [ $b = new ] && r=$(cpu "$FW_BIN" replay "$@") || r=$(cpu "$base_bin" replay "$@")
            [ -n "$r" ] || { echo "sandbox: replay failed ($b, $label)"; exit 1; }
            if [ $b = new ]; then
                [ -z "$bn" ] || awk -v a="${r% *}" -v c="${bn% *}" 'BEGIN{exit !(a<c)}' && bn=$r
            else
                [ -z "$bo" ] || awk -v a="${r% *}" -v c="${bo% *}" 'BEGIN{exit !(a<c)}' && bo=$r
            fi
        done
    done
    awk -v l="$label" -v a="$bn" -v b="$bo" 'BEGIN {
        split(a, A, " "); split(b, B, " ");
        printf "  %-40s guards %6.2f s, old path %6.2f s CPU: %+.1f%% (%s / %s findings)\n",
               l, A[1], B[1], 100*(A[1]-B[1])/(B[1] > 0 ? B[1] : 0.01), A[2], B[2] }'
    if [ "${bn#* }" != "${bo#* }" ]; then
        echo "sandbox: MISMATCH on $label: ${bn#* } findings with the guards, ${bo#* } on the old path"
        exit 1
    fi
}
echo "sandbox guards beside the old code path ($rev), same run:"
pair "bench policies, $N records" "${P[@]}" "$f"
pair "reference policies, $ref_n records" "${RP[@]}" "${ref_feeds[@]}"
