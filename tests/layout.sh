#!/usr/bin/env bash
# The house rules of README.md's "Layout", checked on the sources: the
# engine in rules/ stays pure; each room under daemon/ is entered through
# its one header; the core (daemon/*) names no part above it; files stay a
# readable size and open with a comment saying what they own.
set -u
cd "${FW_ROOT:-$(dirname "$0")/..}"
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $*"; }
# expect "what" FILE...: passes when no line was printed into $out
out=$(mktemp); trap 'rm -f "$out"' EXIT
expect_none() {
    local what=$1
    if [ -s "$out" ]; then fail "$what"; sed 's/^/#   /' "$out" | head -20
    else ok "$what"; fi
}

# 1. rules/ does no I/O: system headers from this list only (parsers and
# codecs that work on bytes handed in, Lua, libcrypto's digests, the
# compiler's SIMD intrinsics and atomics, which only compute), and no
# file, socket, loop or store calls.
allowed='errno.h|iconv.h|json-c/json.h|lauxlib.h|lua.h|lualib.h|math.h|openssl/evp.h|openssl/sha.h|stdarg.h|stdbool.h|stddef.h|stdint.h|stdio.h|stdlib.h|string.h|time.h|yaml.h|zip.h|expat.h|limits.h|inttypes.h|ctype.h|emmintrin.h|tmmintrin.h|immintrin.h|stdatomic.h'
grep -Hn '#include <' rules/*.[ch] include/fundwatch/*.h |
    grep -Ev "#include <($allowed)>" >"$out"
expect_none "rules/ and include/ use no system header beyond the engine's list"
grep -HnE '\b(fopen|opendir|readdir|socket|uv_[a-z_]+|sqlite3_[a-z_]+|sd_notify)\s*\(' rules/*.c >"$out"
expect_none "rules/ opens no file, socket, loop or store"
grep -Hn '#include "' rules/*.[ch] include/fundwatch/*.h |
    grep -Ev '#include "(fundwatch/[a-z0-9_]+\.h|[a-z0-9_]+\.h)"' >"$out"
grep -HnE '#include "(core|config|log|store/|http/|cmd/)' rules/*.[ch] >>"$out"
expect_none "rules/ includes nothing of daemon/"

# 2. A room is entered through its one header: store/store.h, http/http.h,
# cmd/cmd.h, report/report.h (main.c is cmd/'s own).
for room in store http cmd report; do
    head=$room.h
    grep -Hn "#include \"$room/" daemon/*.[ch] daemon/*/*.[ch] tests/unit/*.c tests/bench/*.c 2>/dev/null |
        grep -v "^daemon/$room/" | grep -v "#include \"$room/$head\"" |
        grep -Ev '^tests/unit/test_(api|http)\.c:.*"http/(api|prom|dash)\.h"' >"$out"
    expect_none "daemon/$room/ is entered through $room/$head only"
done
grep -Hn '#include "cmd/' daemon/*.[ch] daemon/store/* daemon/http/* >"$out"
expect_none "no part of the daemon depends on a command"

# 3. The core (daemon/*.c, *.h) calls the parts only through their hooks:
# its loop and figures name neither the reload part nor the HTTP API, and
# no core file includes the http/ room.
grep -Hn '#include "http/' daemon/*.[ch] >"$out"
expect_none "the core includes nothing of http/"
grep -HnE '#include "reload\.h"|fw_reload_|fw_http_' daemon/core.h daemon/loop.c daemon/figures.c >"$out"
expect_none "the loop and figures do not name reload or http"
grep -Hn 'fw__d_' daemon -r >"$out"
expect_none "no fw__d_* back-calls are left"

# 4. Files: a first comment saying what they own; under 1,500 lines (aim
# for 1,000; README.md lists the ones above it).
for f in rules/*.[ch] daemon/*.[ch] daemon/*/*.[ch] include/fundwatch/*.h; do
    head -1 "$f" | grep -q '^/\*' || echo "$f: does not open with a comment"
done >"$out"
expect_none "every C file opens with a comment"
wc -l rules/*.[ch] daemon/*.[ch] daemon/*/*.[ch] | awk '$2 != "total" && $1 > 1500 {print $2": "$1" lines"}' >"$out"
expect_none "no C file is over 1,500 lines"

echo "# layout: $((n - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
