# Shared by the benches (sourced): the binaries, and the figures table.
#
# Each bench runs on its own (`bash tests/bench/X.sh` from anywhere: FW_BIN
# and FW_BENCH_STORE default to the tree's build/, built when missing) and
# under `make bench`, which collects every figure into one table.
#
# figure NAME NOW BASELINE GOAL MET
#   one row of the table: what was measured (with its unit), the baseline
#   measured beside it in the same run ("-" when there is none), the goal
#   ("-" when there is none) and whether the goal is met (yes, no or -).
#   Written to FW_BENCH_FIGURES (tab-separated) when it is set; always
#   echoed as "figure: NAME = NOW (baseline BASELINE; goal GOAL: MET)".
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -z "${FW_BIN:-}" ]; then
    FW_BIN=$BENCH_ROOT/build/fundwatch
    [ -x "$FW_BIN" ] || make -C "$BENCH_ROOT" build/fundwatch >/dev/null
fi
bench_store_bin() {
    if [ -z "${FW_BENCH_STORE:-}" ]; then
        FW_BENCH_STORE=$BENCH_ROOT/build/bench-store
        [ -x "$FW_BENCH_STORE" ] || make -C "$BENCH_ROOT" build/bench-store >/dev/null
    fi
}
figure() {
    echo "figure: $1 = $2 (baseline $3; goal $4: $5)"
    [ -z "${FW_BENCH_FIGURES:-}" ] || printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$FW_BENCH_FIGURES"
}
