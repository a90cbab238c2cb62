#!/usr/bin/env bash
# metrics_listen: a second listener of a real daemon that serves /metrics,
# /healthz and /readyz only, so that Prometheus on another host can scrape
# without reaching the findings; the main listener keeps /metrics; the
# metrics listener alone (listen: off) works too; a port taken stops the
# start with the address named.
. "$(dirname "$0")/lib.bash"
for c in curl promtool; do
    command -v $c >/dev/null || { echo "not ok - $c is missing (make test installs it)"; exit 1; }
done
READ=read-token-0123456789abcdef
PORT=$(free_port) MPORT=$(( PORT + 1 ))
setup "" "listen: 127.0.0.1:$PORT
metrics_listen: 127.0.0.1:$MPORT
read_token: $READ
public_read: true"
U=http://127.0.0.1:$PORT M=http://127.0.0.1:$MPORT
demo=$FW_ROOT/examples/policies/feeds/demo.csv
start --now 2024-10-08 || { fail "start"; done_testing; exit 1; }
check "the log names both listeners" eval 'grep -q "info http listening on 127.0.0.1:$PORT" "$T/log" &&
    grep -q "info http metrics on 127.0.0.1:$MPORT (/metrics, /healthz and /readyz only: no findings there)" "$T/log"'
drop "$demo"
wait_for 10 incoming_empty
wait_for 5 eval '[ "$(lines "$T/outbox.jsonl")" = 6 ]'

check "metrics_listen: GET /metrics 200" eval '[ "$(get "$M/metrics")" = 200 ] && cp "$T/body" "$T/metrics" && body_has "^fundwatch_feeds_total{outcome=\"done\"} 1"'
check "promtool accepts it" promtool check metrics <"$T/metrics"
check "metrics_listen: GET /healthz 200" eval '[ "$(get "$M/healthz")" = 200 ] && body_has "\"status\":\"ok\""'
check "metrics_listen: GET /readyz 200" [ "$(get "$M/readyz")" = 200 ]
# public_read: true on the main listener, and still nothing of the findings here
for p in /findings /findings/00000000000000000000000000000000 /findings/00000000000000000000000000000000/explain /policies /summary /report.xlsx /shadow / /dash/app.js; do
    check "metrics_listen: GET $p is 404, even with the read token" eval '[ "$(get -H "Authorization: Bearer $READ" "$M$p")" = 404 ] && body_has "serves /metrics, /healthz and /readyz only"'
done
check "metrics_listen: POST /feeds is 404" [ "$(get -X POST --data-binary @"$demo" "$M/feeds?name=x.csv")" = 404 ]
check "metrics_listen: POST /reload is 404" [ "$(get -X POST "$M/reload")" = 404 ]
check "the main listener keeps /metrics" eval '[ "$(get "$U/metrics")" = 200 ] && body_has "^fundwatch_feeds_total{outcome=\"done\"} 1"'
check "and serves the findings" eval '[ "$(get "$U/findings")" = 200 ] && body_has "\"count\":6"'
check "SIGTERM: exit 0" stop

# listen: off, metrics_listen alone
setup "" "listen: off
metrics_listen: 127.0.0.1:$MPORT"
start --now 2024-10-08 || fail "start with listen: off"
check "listen off: /metrics on metrics_listen" eval '[ "$(get "$M/metrics")" = 200 ] && body_has "^fundwatch_build_info"'
check "listen off: nothing on the main port" eval '! curl -s -o /dev/null "$U/healthz"'
check "SIGTERM: exit 0" stop

# the port taken: the start fails with the address named, exit 2
python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(30)' "$MPORT" &
HOLD=$!
wait_for 5 eval 'ss -ltn 2>/dev/null | grep -q ":$MPORT " || python3 -c "import socket,sys; socket.create_connection((\"127.0.0.1\", int(sys.argv[1])), 1)" "$MPORT"'
setup "" "listen: 127.0.0.1:$PORT
metrics_listen: 127.0.0.1:$MPORT"
"$FW_BIN" run -c "$T/fundwatch.yaml" >"$T/taken.log" 2>&1; rc=$?
check "metrics_listen's port taken: exit 2" [ "$rc" = 2 ]
check "the log names the address" grep -q "error http 127.0.0.1:$MPORT: .*address already in use" "$T/taken.log"
check "and the main listener was closed again" eval '! curl -s -o /dev/null "$U/healthz"'
kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null

# a bad value, and the same address twice (fundwatch check -c)
setup "" "listen: 127.0.0.1:$PORT
metrics_listen: 127.0.0.1:$PORT"
out=$("$FW_BIN" check -c "$T/fundwatch.yaml" 2>&1); rc=$?
check "metrics_listen = listen: check says so, exit 1" eval '[ $rc = 1 ] && grep -qF "fundwatch.yaml:8:17: metrics_listen \"127.0.0.1:$PORT\": the same address as listen; leave metrics_listen out to serve /metrics on listen alone" <<<"$out"'
done_testing
