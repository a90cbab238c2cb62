# Shared by the daemon tests: a working folder with a config, policies and
# a spool; starting and stopping the real daemon; TAP output. Sourced, not
# run. FW_BIN is the binary; FW_ROOT the repository.
set -u
: "${FW_BIN:?}" "${FW_ROOT:?}"
command -v sqlite3 >/dev/null || {
    echo "not ok - the sqlite3 command is missing (make test installs it)"
    exit 1
}

T=$(mktemp -d /tmp/fw-daemon.XXXXXX)
PID=""
n=0 fails=0
cleanup() {
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
    mountpoint -q "$T/small" 2>/dev/null && umount "$T/small"
    rm -rf "$T"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() {
    n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $*"
    [ -f "$T/log" ] && tail -15 "$T/log" | sed 's/^/#   /'
}
check() { # check "description" command...
    local what=$1; shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}
done_testing() {
    echo "# $(basename "$0" .sh): $((n - fails)) passed, $fails failed"
    [ "$fails" -eq 0 ]
}

# A working folder: $T/fundwatch.yaml, $T/policies (a copy of $1, default
# the sample policies), $T/spool. Extra config lines may follow in $2.
setup() {
    local pol=${1:-$FW_ROOT/examples/policies}
    mkdir -p "$T/spool/incoming"
    rm -rf "$T/policies"
    cp -r "$pol" "$T/policies"
    local extra=${2:-} line
    {
        # the base keys, unless the extra lines set them
        for line in "spool: spool" "policies: policies" "database: fundwatch.db" \
                    "outbox: outbox.jsonl" "listen: off" \
                    "log_level: ${LOG_LEVEL:-info}" "scan_interval: ${SCAN:-1s}"; do
            grep -q "^${line%%:*}:" <<<"$extra" || echo "$line"
        done
        [ -n "$extra" ] && echo "$extra"
    } >"$T/fundwatch.yaml"
}

started_since() { [ "$(grep -c "info main started" "$T/log")" -gt "$1" ]; }

# Starts the daemon in the background (extra arguments are passed on); its
# log is appended to $T/log.
start() {
    local before
    before=$(grep -c "info main started" "$T/log" 2>/dev/null)
    "$FW_BIN" run -c "$T/fundwatch.yaml" "$@" >>"$T/log" 2>&1 &
    PID=$!
    wait_for 10 started_since "${before:-0}" || {
        echo "# the daemon did not start"; tail -5 "$T/log" | sed 's/^/#   /'
        return 1
    }
}

# Stops it with a signal (default TERM) and returns its exit status.
stop() {
    local sig=${1:-TERM} rc
    kill -"$sig" "$PID" 2>/dev/null
    wait "$PID"; rc=$?
    PID=""
    return $rc
}

# wait_for SECONDS command...: polls every 50 ms.
wait_for() {
    local limit=$(( $1 * 20 )) i=0; shift
    until "$@" 2>/dev/null; do
        i=$((i + 1)); [ $i -ge $limit ] && return 1
        sleep 0.05
    done
}

# Puts a feed into the spool the way a producer must: write elsewhere, then
# rename in. drop SOURCE [NAME]
drop() {
    local name=${2:-$(basename "$1")}
    cp "$1" "$T/spool/incoming/.$name.tmp"
    mv "$T/spool/incoming/.$name.tmp" "$T/spool/incoming/$name"
}

incoming_empty() { [ -z "$(ls -A "$T/spool/incoming" | grep -v '^\.' )" ]; }
sql() { sqlite3 -batch -noheader "$T/fundwatch.db" "$@"; }
lines() { [ -f "$1" ] && wc -l <"$1" | tr -d ' ' || echo 0; }

# The API's helpers: get CURL-ARGS… prints the status and leaves the body in
# $T/body; body_has REGEX looks in it.
get() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
body_has() { grep -q -- "$1" "$T/body"; }

# A TCP port for a test's daemon: at random below the kernel's ephemeral
# range (32768 and up, where outgoing connections take theirs: a port there
# may be taken by a client of another test running beside), and one nobody
# listens on now. Two test runs side by side (make test and make asan, or a
# fresh-check) otherwise met "address already in use" now and then.
free_port() {
    local p _
    for _ in $(seq 100); do
        p=$(( 20000 + RANDOM % 12000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
           ! (exec 3<>"/dev/tcp/127.0.0.1/$((p + 1))") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    echo "$p"
}
