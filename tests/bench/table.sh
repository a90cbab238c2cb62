#!/usr/bin/env bash
# The one table at the end of `make bench`: every figure the benches wrote
# (tests/bench/lib.sh, `figure`), beside its baseline and its goal, all
# measured in this run. Usage: table.sh FIGURES.tsv
set -eu
f=${1:?usage: table.sh FIGURES.tsv}
[ -s "$f" ] || { echo "no figures in $f"; exit 0; }
echo
echo "== every figure of this run ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
awk -F'\t' '
    { n++; for (i = 1; i <= 5; i++) { c[n, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
    END {
        h[1] = "figure"; h[2] = "now"; h[3] = "baseline (same run)"; h[4] = "goal"; h[5] = "met";
        for (i = 1; i <= 5; i++) if (length(h[i]) > w[i]) w[i] = length(h[i]);
        fmt = "| %-" w[1] "s | %" w[2] "s | %" w[3] "s | %-" w[4] "s | %-" w[5] "s |\n";
        printf fmt, h[1], h[2], h[3], h[4], h[5];
        for (i = 1; i <= 5; i++) { d = ""; for (j = 0; j < w[i]; j++) d = d "-"; s[i] = d }
        printf fmt, s[1], s[2], s[3], s[4], s[5];
        for (r = 1; r <= n; r++) {
            printf fmt, c[r, 1], c[r, 2], c[r, 3], c[r, 4], c[r, 5];
            if (c[r, 5] == "yes") met++; else if (c[r, 5] == "no") miss++;
        }
        printf "%d goals met, %d missed\n", met, miss;
    }' "$f"
