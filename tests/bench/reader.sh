#!/usr/bin/env bash
# Reader benchmark: a 1,000,000-line feed (12 columns, quoted fields, Chinese
# text) in UTF-8 and in GBK, read by `fundwatch records --quiet` (full
# validation: exact money, dates, regions; no output) and by `fundwatch
# records` writing NDJSON, beside Python 3's csv.DictReader over the same
# file in the same run. Each figure is the best of BENCH_RUNS runs (default
# 3: the machine is shared), printed with the spread of the runs: records/s,
# MB/s, peak RSS, the ratios, and the figures of issue 19 (tests/bench/
# lib.sh). FW_BIN is the binary (default: build/fundwatch); BENCH_LINES
# overrides the line count.
set -eu
. "$(dirname "$0")/lib.sh"
N=${BENCH_LINES:-1000000}
RUNS=${BENCH_RUNS:-3}
need=""
command -v python3 >/dev/null || need="$need python3"
[ -x /usr/bin/time ] || need="$need time"
if [ -n "$need" ]; then
    echo "installing:$need"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

python3 - "$N" "$dir" <<'PY'
import random, sys
n, d = int(sys.argv[1]), sys.argv[2]
random.seed(1)
names = ["重庆市渝中区教育委员会", "富锦市农业农村局", "柳州市城中区住房和城乡建设局",
         "洛阳高新技术产业开发区管理委员会科技局", "重庆市渝中区卫生健康委员会"]
projects = ["学校校舍维修改造", "高标准农田建设, 二期", "背街小巷改造\"示范\"工程",
            "社区养老服务站建设", "智慧园区信息化建设"]
regions = ["500103", "500104", "230882", "410371", "450202", "110101"]
head = "财政区划代码,预算年度,单位代码,单位名称,项目代码,项目名称,项目类别,是否新增,指标金额,累计支付,数据日期,绩效目标完成率\n"
rows = [head]
for i in range(n - 1):
    b = random.randrange(100000, 900000000)
    p = random.randrange(0, b)
    pn = projects[i % 5]
    rows.append('%s,2024,%d,%s,P%08d,"%s",建设,%s,"%s",%d.%02d,2024-06-30,%d%%\n' % (
        regions[i % 6], 500000 + i % 97, names[i % 5], i, pn.replace('"', '""'),
        "是" if i % 3 else "否", "{:,}.{:02d}".format(b // 100, b % 100),
        p // 100, p % 100, i % 101))
s = "".join(rows)
open(d + "/feed.csv", "w", encoding="utf-8", newline="").write(s)
open(d + "/feed-gbk.csv", "w", encoding="gbk", newline="").write(s)
PY

# One run: elapsed seconds (to the millisecond: /usr/bin/time has only
# hundredths) and peak RSS (KiB), output discarded.
measure() {
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$dir/t" "$@" >/dev/null 2>"$dir/err" || {
        echo "failed: $*" >&2; cat "$dir/err" >&2; exit 1; }
    t1=$(date +%s%N)
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b - a) / 1e9}') $(cat "$dir/t")"
}
# The best of RUNS runs: "seconds rss seconds-of-the-slowest".
best() {
    local b="" w="" r
    for _ in $(seq "$RUNS"); do
        r=$(measure "$@")
        if [ -z "$b" ] || awk -v a="${r% *}" -v c="${b% *}" 'BEGIN{exit !(a<c)}'; then b=$r; fi
        if [ -z "$w" ] || awk -v a="${r% *}" -v c="$w" 'BEGIN{exit !(a>c)}'; then w=${r% *}; fi
    done
    echo "$b $w"
}
cat >"$dir/base.py" <<'PY'
import csv, sys
n = 0
with open(sys.argv[1], encoding=sys.argv[2], newline="") as f:
    for row in csv.DictReader(f):
        n += 1
print(n)
PY

echo "reader: best of $RUNS runs each ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
for enc in utf-8 gbk; do
    f=$dir/feed.csv; [ $enc = gbk ] && f=$dir/feed-gbk.csv
    mb=$(awk -v b="$(stat -c %s "$f")" 'BEGIN{printf "%.1f", b/1e6}')
    base=$(best python3 "$dir/base.py" "$f" "$enc")
    quiet=$(best "$FW_BIN" records --quiet "$f")
    full=$(best "$FW_BIN" records "$f")
    awk -v n=$((N - 1)) -v mb="$mb" -v enc=$enc -v b="$base" -v q="$quiet" -v f="$full" 'BEGIN {
        split(b, B, " "); split(q, Q, " "); split(f, F, " ");
        printf "reader %s: %d records, %s MB\n", enc, n, mb;
        fmt = "  %-34s %6.3f s  %9.0f rec/s  %6.1f MB/s  rss %6.1f MB  runs %.3f-%.3f s%s\n";
        printf fmt, "python3 csv.DictReader (baseline)", B[1], n/B[1], mb/B[1], B[2]/1024, B[1], B[3], "";
        printf fmt, "fundwatch records --quiet", Q[1], n/Q[1], mb/Q[1], Q[2]/1024, Q[1], Q[3], sprintf("  %.1fx baseline", B[1]/Q[1]);
        printf fmt, "fundwatch records (NDJSON out)", F[1], n/F[1], mb/F[1], F[2]/1024, F[1], F[3], sprintf("  %.1fx baseline", B[1]/F[1]);
    }'
    # records/s of the fastest run of each, and their ratio
    set -- $(awk -v n=$((N - 1)) -v b="$base" -v q="$quiet" 'BEGIN {
        split(b, B, " "); split(q, Q, " ");
        printf "%.0f %.0f %.1f\n", n/Q[1], n/B[1], B[1]/Q[1] }')
    rs=$1 bs=$2 ratio=$3
    if [ $enc = utf-8 ]; then
        ok=$(awk -v r="$rs" -v x="$ratio" 'BEGIN{print (r >= 2500000 && x >= 10) ? "yes" : "no"}')
        figure "reader, UTF-8, records --quiet (rec/s)" "$rs" "csv.DictReader $bs" ">= 2.5M rec/s, >= 10x" "$ok"
        ok=$(awk -v x="$ratio" 'BEGIN{print (x >= 10) ? "yes" : "no"}')
        figure "reader, UTF-8, records --quiet / csv.DictReader" "${ratio}x" "1x" ">= 10x" "$ok"
    else
        ok=$(awk -v r="$rs" 'BEGIN{print (r >= 1800000) ? "yes" : "no"}')
        figure "reader, GBK, records --quiet (rec/s)" "$rs" "csv.DictReader $bs (${ratio}x)" ">= 1.8M rec/s" "$ok"
    fi
done
