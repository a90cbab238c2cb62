#!/usr/bin/env bash
# Golden end-to-end cases: every folder tests/e2e/NAME/ holds `cmd` (a shell
# line run in that folder with $FW the binary and $ROOT the repository), and
# the expected results: expected.out (stdout), expected.err (stderr) and
# expected.rc (exit status, default 0); a file left out is not compared.
# FW_UPDATE=1 rewrites the expected files from what the binary does now.
set -u
cd "$(dirname "$0")"
: "${FW_BIN:?}"
export FW=$FW_BIN ROOT=$(cd ../.. && pwd)
n=0 fails=0
for dir in */; do
    dir=${dir%/}
    [ -f "$dir/cmd" ] || continue
    n=$((n + 1))
    out=$(mktemp -d)
    (cd "$dir" && bash ./cmd >"$out/out" 2>"$out/err"); echo $? >"$out/rc"
    if [ -n "${FW_UPDATE:-}" ]; then
        for k in out err rc; do cp "$out/$k" "$dir/expected.$k"; done
    fi
    [ -f "$dir/expected.rc" ] && cp "$dir/expected.rc" "$out/want.rc" || echo 0 >"$out/want.rc"
    ok=1 why=""
    for k in out err rc; do
        want="$dir/expected.$k"
        [ "$k" = rc ] && want="$out/want.rc"
        [ -f "$want" ] || continue
        if ! diff -u "$want" "$out/$k" >"$out/diff.$k"; then
            ok=0 why="$why $k"
            sed 's/^/#   /' "$out/diff.$k" | head -40
        fi
    done
    if [ $ok = 1 ]; then echo "ok $n - e2e/$dir"; else echo "not ok $n - e2e/$dir (differs:$why)"; fails=$((fails+1)); fi
    rm -rf "$out"
done
echo "# e2e: $((n - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
