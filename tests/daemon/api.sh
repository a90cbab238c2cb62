#!/usr/bin/env bash
# The HTTP API of a real daemon on a free loopback port: /healthz, /readyz,
# /metrics (checked by promtool, Prometheus's own parser), who may read
# (the read token, the write token; 401 otherwise), /findings with its
# filters and pagination, /findings/{id}, /policies, POST /feeds (token,
# counts, duplicates, a bad body), POST /reload (ok and refused), bad
# requests, an oversized body, and a slow client that cannot block the loop.
. "$(dirname "$0")/lib.bash"
for c in curl promtool; do
    command -v $c >/dev/null || { echo "not ok - $c is missing (make test installs it)"; exit 1; }
done
TOKEN=test-token-0123456789abcdef
READ=read-token-0123456789abcdef
PORT=$(free_port)
setup "" "listen: 127.0.0.1:$PORT
token: $TOKEN
read_token: $READ
limits:
  max_body: 64K"
U=http://127.0.0.1:$PORT
demo=$FW_ROOT/examples/policies/feeds/demo.csv
start --now 2024-10-08 || { fail "start"; done_testing; exit 1; }
wait_for 5 curl -sf "$U/healthz" -o /dev/null

auth=(-H "Authorization: Bearer $TOKEN")
# a reader's GET: the read token
rget() { get -H "Authorization: Bearer $READ" "$@"; }

check "GET /healthz: 200" [ "$(get "$U/healthz")" = 200 ]
check "names the generation and the last reload" eval 'body_has "\"generation\":\"sha256:" && body_has "\"last_reload\":{\"ok\":true"'
check "GET /readyz: 200 ready" eval '[ "$(get "$U/readyz")" = 200 ] && body_has "\"status\":\"ready\""'
# ---- who may read ------------------------------------------------------------
check "GET /metrics needs no token" [ "$(get "$U/metrics")" = 200 ]
for p in /findings /findings/00000000000000000000000000000000 /findings/00000000000000000000000000000000/explain /policies /summary /report.xlsx; do
    check "GET $p without a token: 401, WWW-Authenticate" eval '[ "$(get -D "$T/hdrs" "$U$p")" = 401 ] && grep -qi "^WWW-Authenticate: Bearer" "$T/hdrs" && body_has "reading needs a token"'
done
check "with a wrong token: 401" eval '[ "$(get -H "Authorization: Bearer nope-nope-nope-nope" "$U/findings")" = 401 ] && body_has "wrong token"'
check "with the read token: 200" [ "$(rget "$U/findings")" = 200 ]
check "with the write token: 200" [ "$(get "${auth[@]}" "$U/findings")" = 200 ]
check "the read token cannot POST: 401" [ "$(get -X POST -H "Authorization: Bearer $READ" "$U/reload")" = 401 ]
check "GET /summary: the overview's counts" eval '[ "$(rget "$U/summary")" = 200 ] && body_has "\"open\":{\"total\":0," && body_has "\"feeds_today\":{"'
check "GET /policies lists the generation's policies and rules" \
    eval '[ "$(rget "$U/policies")" = 200 ] && body_has "\"id\":\"demo-cq\"" && body_has "\"replaces\":\[\"demo_lag\"\]"'

# ---- POST /feeds --------------------------------------------------------------
check "POST /feeds without the token: 401" [ "$(get -X POST --data-binary @"$demo" "$U/feeds?name=demo.csv")" = 401 ]
check "with a wrong token: 401" [ "$(get -X POST -H "Authorization: Bearer nope" --data-binary @"$demo" "$U/feeds?name=demo.csv")" = 401 ]
check "with the token: 200 and its counts" eval '[ "$(get -X POST "${auth[@]}" --data-binary @"$demo" "$U/feeds?name=demo.csv")" = 200 ] &&
    body_has "\"status\":\"done\"" && body_has "\"records\":6,\"rejects\":1" && body_has "\"new\":6"'
check "the findings reach the outbox" wait_for 5 eval '[ "$(lines "$T/outbox.jsonl")" = 6 ]'
check "the same body again: a duplicate" eval '[ "$(get -X POST "${auth[@]}" --data-binary @"$demo" "$U/feeds?name=again.csv")" = 200 ] && body_has "\"status\":\"duplicate\""'
printf 'a\0b\n' >"$T/nul.csv"
check "a body that is not a feed: 422 with the reason" eval '[ "$(get -X POST "${auth[@]}" --data-binary @"$T/nul.csv" "$U/feeds?name=nul.csv")" = 422 ] && body_has "\"reason\":\"nul.csv:1"'
head -c 70000 /dev/zero | tr '\0' 'x' >"$T/big"
check "a body over limits.max_body: 413" [ "$(get -X POST "${auth[@]}" --data-binary @"$T/big" "$U/feeds?name=big.csv")" = 413 ]
check "a name with a slash: 400" [ "$(get -X POST "${auth[@]}" --data-binary @"$demo" "$U/feeds?name=../x.csv")" = 400 ]

# ---- findings ------------------------------------------------------------------
check "GET /findings: the six" eval '[ "$(rget "$U/findings")" = 200 ] && body_has "\"count\":6"'
check "filtered by region prefix and level" eval '[ "$(rget "$U/findings?region=50&level=red")" = 200 ] && body_has "\"count\":2" && body_has "\"rule\":\"demo_cq_lag\""'
check "filtered by kind and state" eval '[ "$(rget "$U/findings?kind=clawback&state=open")" = 200 ] && body_has "\"count\":1"'
check "paginated: limit 4 gives a next cursor" eval '[ "$(rget "$U/findings?limit=4")" = 200 ] && body_has "\"count\":4" && body_has "\"next\":\"/findings?after="'
after=$(grep -o '"after":[0-9]*' "$T/body" | cut -d: -f2)
check "the next page has the other two" eval '[ "$(rget "$U/findings?limit=4&after=$after")" = 200 ] && body_has "\"count\":2" && body_has "\"next\":null"'
dept=$(grep -o '"dept":"[^"]*"' "$T/outbox.jsonl" | head -1 | cut -d'"' -f4)
n_dept=$(grep -c "\"dept\":\"$dept\"" "$T/outbox.jsonl")
check "filtered by unit (dept=$dept): its $n_dept" eval '[ "$(rget "$U/findings?dept=$dept")" = 200 ] && body_has "\"count\":$n_dept,"'
asof=$(grep -o '"as_of":"[^"]*"' "$T/outbox.jsonl" | sort | tail -1 | cut -d'"' -f4)
n_asof=$(grep -c "\"as_of\":\"$asof\"" "$T/outbox.jsonl")
check "filtered by data date (from=to=$asof): its $n_asof" eval '[ "$(rget "$U/findings?from=$asof&to=$asof")" = 200 ] && body_has "\"count\":$n_asof,"'
check "a bad date: 400" eval '[ "$(rget "$U/findings?from=2024-6-1")" = 400 ] && body_has "expected a date"'
id=$(grep -o '"id":"[0-9a-f]*"' "$T/outbox.jsonl" | head -1 | cut -d'"' -f4)
check "GET /findings/{id}: the finding with its state" eval '[ "$(rget "$U/findings/$id")" = 200 ] && body_has "\"id\":\"$id\"" && body_has "\"state\":\"open\""'
check "an unknown id: 404 JSON" eval '[ "$(rget "$U/findings/00000000000000000000000000000000")" = 404 ] && body_has "\"error\""'
check "a bad filter: 400 naming it" eval '[ "$(rget "$U/findings?level=purple")" = 400 ] && body_has "level"'
check "an unknown parameter: 400" [ "$(rget "$U/findings?colour=red")" = 400 ]
check "an unknown path: 404" [ "$(get "$U/nothing")" = 404 ]
check "POST where GET is meant: 405" [ "$(get -X POST "${auth[@]}" "$U/healthz")" = 405 ]

# ---- metrics -------------------------------------------------------------------
check "GET /metrics: 200" [ "$(get "$U/metrics")" = 200 ]
cp "$T/body" "$T/metrics"
check "promtool accepts it" promtool check metrics <"$T/metrics"
check "feeds by outcome" grep -q '^fundwatch_feeds_total{outcome="done"} 1$' "$T/metrics"
check "findings by kind, level, policy and rule" \
    grep -q '^fundwatch_findings_total{kind="alert",level="red",policy="demo",rule="demo_lag"} 1$' "$T/metrics"
check "per-policy evaluation time" grep -q '^fundwatch_policy_eval_seconds_total{policy="demo"} ' "$T/metrics"
check "reload figures" grep -q '^fundwatch_last_reload_successful 1$' "$T/metrics"
check "stored findings, as committed by the feeds" \
    grep -q '^fundwatch_stored_findings{kind="alert",state="open"} [1-9]' "$T/metrics"
check "spool queue and feed lag" eval 'grep -q "^fundwatch_spool_queue_length 0$" "$T/metrics" && grep -q "^fundwatch_feed_lag_seconds " "$T/metrics"'

# ---- POST /reload ---------------------------------------------------------------
check "POST /reload: 200 ok" eval '[ "$(get -X POST "${auth[@]}" "$U/reload")" = 200 ] && body_has "\"ok\":true"'
printf 'return policy {\n  id = "oops",\n' >"$T/policies/cn/oops.lua"
check "a broken edit: 422 with file:line" eval '[ "$(get -X POST "${auth[@]}" "$U/reload")" = 422 ] && body_has "policies/cn/oops.lua:"'
check "/healthz says the last reload failed and why" eval 'get "$U/healthz" >/dev/null && body_has "\"last_reload\":{\"ok\":false" && body_has "oops.lua"'
get "$U/metrics" >/dev/null
check "metrics: last_reload_successful 0, one failure" eval 'body_has "^fundwatch_last_reload_successful 0$" && body_has "^fundwatch_reloads_total{result=\"failure\"} 1$"'
check "an ops finding in the outbox" wait_for 5 grep -q '"kind":"ops","level":"red","policy":"fundwatch".*"rule":"reload_refused"' "$T/outbox.jsonl"
check "and in the store, for /findings?kind=ops" eval '[ "$(rget "$U/findings?kind=ops")" = 200 ] && body_has "\"count\":1"'
rm "$T/policies/cn/oops.lua"
check "a good reload after it: 200" eval '[ "$(get -X POST "${auth[@]}" "$U/reload")" = 200 ]'
check "/healthz: the current error is cleared" eval 'get "$U/healthz" >/dev/null && body_has "\"last_reload\":{\"ok\":true,\"at\":\"[^\"]*\",\"version\":\"[^\"]*\",\"error\":null" && body_has "\"last_error\":null"'
check "/healthz: the last failure stays with its time" eval 'body_has "\"last_failure\":{\"at\":\"20[0-9-]*T[0-9:]*Z\",\"error\":\"[^\"]*oops.lua"'

# ---- a slow client does not block the loop ------------------------------------
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n' >&3   # never finishes its headers
check "while a client stalls, others are answered" [ "$(get --max-time 2 "$U/healthz")" = 200 ]
exec 3>&-
stop TERM; rc=$?
check "SIGTERM with the API up: exit 0" [ $rc -eq 0 ]
done_testing
