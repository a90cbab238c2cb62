#!/usr/bin/env bash
# Typed outbox events and an officer's acknowledgement, through the real
# daemon: POST /findings/{id}/ack (the write token; {"by", "note"}), its
# bad requests, the acknowledged event in the outbox once, the finding's
# JSON, no new alert while acknowledged, then resolved and reopened events
# (the reopening clears the acknowledgement); `fundwatch ack` the same.
. "$(dirname "$0")/lib.bash"
TOKEN=test-token-0123456789abcdef
READ=read-token-0123456789abcdef
PORT=$(free_port)
setup "" "listen: 127.0.0.1:$PORT
token: $TOKEN
read_token: $READ"
U=http://127.0.0.1:$PORT
demo=$FW_ROOT/examples/policies/feeds/demo.csv
start --now 2024-10-08 || { fail "start"; done_testing; exit 1; }
wait_for 5 curl -sf "$U/healthz" -o /dev/null
auth=(-H "Authorization: Bearer $TOKEN")
events_of() { grep "\"project\":\"$1\"" "$T/outbox.jsonl" | grep -o '"event":"[a-z]*"' | cut -d'"' -f4 | tr '\n' ' '; }

sed -n '1p;4p' "$demo" >"$T/red.csv"   # 110101240003: 25 points behind → red
drop "$T/red.csv"
check "a red alert opens: one opened event" wait_for 10 eval '[ "$(events_of 110101240003)" = "opened " ]'
id=$(grep '"project":"110101240003"' "$T/outbox.jsonl" | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4)
A="$U/findings/$id/ack"
n0=$(lines "$T/outbox.jsonl")
body='{"by":"王科长","note":"已电话核实,单位承诺月底前支付"}'

# ---- bad requests ----------------------------------------------------------
check "without a token: 401" [ "$(get -X POST -d "$body" "$A")" = 401 ]
check "with the read token: 401" [ "$(get -X POST -H "Authorization: Bearer $READ" -d "$body" "$A")" = 401 ]
check "GET: 405, Allow: POST" eval '[ "$(get -D "$T/hdrs" "${auth[@]}" "$A")" = 405 ] && grep -qi "^Allow: POST" "$T/hdrs"'
check "no body: 400" eval '[ "$(get -X POST "${auth[@]}" "$A")" = 400 ] && body_has "no body"'
check "not JSON: 400" eval '[ "$(get -X POST "${auth[@]}" -d "by=me" "$A")" = 400 ] && body_has "not one JSON object"'
check "no note: 400 naming it" eval '[ "$(get -X POST "${auth[@]}" -d "{\"by\":\"me\"}" "$A")" = 400 ] && body_has "needs \\\\\"note\\\\\""'
check "an empty by: 400" eval '[ "$(get -X POST "${auth[@]}" -d "{\"by\":\" \",\"note\":\"x\"}" "$A")" = 400 ] && body_has "is empty"'
check "an unknown key: 400" eval '[ "$(get -X POST "${auth[@]}" -d "{\"by\":\"a\",\"note\":\"b\",\"level\":\"red\"}" "$A")" = 400 ] && body_has "unknown key"'
check "an unknown finding: 404" eval '[ "$(get -X POST "${auth[@]}" -d "$body" "$U/findings/00000000000000000000000000000000/ack")" = 404 ] && body_has "no finding"'
check "none of them reached the outbox" [ "$(lines "$T/outbox.jsonl")" = "$n0" ]

# ---- the acknowledgement ---------------------------------------------------
check "POST /findings/{id}/ack: 200 with who, when, the note" eval '[ "$(get -X POST "${auth[@]}" -d "$body" "$A")" = 200 ] &&
    body_has "\"acknowledged\":{\"by\":\"王科长\",\"at\":\"20[0-9-]*T[0-9:]*Z\",\"note\":\"已电话核实"'
check "an acknowledged event in the outbox, once, with the note" eval '[ "$(events_of 110101240003)" = "opened acknowledged " ] &&
    grep "\"event\":\"acknowledged\"" "$T/outbox.jsonl" | grep -q "\"acknowledged\":{\"by\":\"王科长\",\"at\":\"[^\"]*\",\"note\":\"已电话核实"'
check "GET /findings/{id} shows it" eval '[ "$(get -H "Authorization: Bearer $READ" "$U/findings/$id")" = 200 ] && body_has "\"acknowledged\":{\"by\":\"王科长\""'
check "a second acknowledgement: 409" eval '[ "$(get -X POST "${auth[@]}" -d "$body" "$A")" = 409 ] && body_has "acknowledged already"'
printf '\n' >>"$T/red.csv"; drop "$T/red.csv" red2.csv   # new bytes, the same firing
check "firing again while acknowledged: no new line" eval 'wait_for 10 test -f "$T/spool/done/red2.csv" && sleep 0.3 && [ "$(events_of 110101240003)" = "opened acknowledged " ]'

# ---- resolved, reopened: the acknowledgement goes --------------------------
sed -n '1p;4p' "$demo" | sed 's/,500000.00,2024-06-30/,1000000.00,2024-06-30/' >"$T/fixed.csv"
drop "$T/fixed.csv"
check "a resolution: a resolved event" wait_for 10 eval '[ "$(events_of 110101240003)" = "opened acknowledged resolved " ]'
check "a resolved finding cannot be acknowledged: 409" eval '[ "$(get -X POST "${auth[@]}" -d "$body" "$A")" = 409 ] && body_has "is resolved"'
sed -n '1p;4p' "$demo" >"$T/red.csv"; printf '\n\n' >>"$T/red.csv"; drop "$T/red.csv" red3.csv
check "firing again: a reopened event" wait_for 10 eval '[ "$(events_of 110101240003)" = "opened acknowledged resolved reopened " ]'
check "the reopened finding is not acknowledged" eval '[ "$(get -H "Authorization: Bearer $READ" "$U/findings/$id")" = 200 ] && body_has "\"acknowledged\":null"'
check "the store's outbox events agree" [ "$(sql "SELECT group_concat(event, ' ') FROM (SELECT o.event FROM outbox o JOIN findings f ON f.fid = o.fid WHERE lower(hex(f.id)) = '$id' ORDER BY o.seq)")" = "0 3 2 1" ]

# ---- fundwatch ack ------------------------------------------------------------
"$FW_BIN" ack -c "$T/fundwatch.yaml" "$id" --by 李四 --note "复核:已支付" >"$T/out" 2>"$T/err"; rc=$?
check "fundwatch ack: exit 0, says so" eval '[ $rc -eq 0 ] && grep -q "finding $id acknowledged by 李四" "$T/out"'
check "its acknowledged event in the outbox, once" eval '[ "$(events_of 110101240003)" = "opened acknowledged resolved reopened acknowledged " ] &&
    tail -1 "$T/outbox.jsonl" | grep -q "\"by\":\"李四\",\"at\":\"[^\"]*\",\"note\":\"复核:已支付\""'
"$FW_BIN" ack -c "$T/fundwatch.yaml" "$id" --by 李四 --note again 2>"$T/err"; rc=$?
check "again: exit 1, acknowledged already" eval '[ $rc -eq 1 ] && grep -q "refused (409): finding $id is acknowledged already" "$T/err"'
"$FW_BIN" ack -c "$T/fundwatch.yaml" 00000000000000000000000000000000 --by a --note b 2>"$T/err"; rc=$?
check "an unknown id: exit 1, no finding" eval '[ $rc -eq 1 ] && grep -q "refused (404): no finding" "$T/err"'
"$FW_BIN" ack -c "$T/fundwatch.yaml" XYZ --by a --note b 2>"$T/err"; rc=$?
check "not an id: exit 2" eval '[ $rc -eq 2 ] && grep -q "32 lowercase hex digits" "$T/err"'
"$FW_BIN" ack -c "$T/fundwatch.yaml" "$id" --by a 2>"$T/err"; rc=$?
check "no --note: exit 2" eval '[ $rc -eq 2 ] && grep -q -- "--by NAME and --note TEXT are both needed" "$T/err"'

# ---- a restart writes nothing twice ----------------------------------------
before=$(lines "$T/outbox.jsonl")
stop TERM
start --now 2024-10-08
sleep 0.5
check "a restart writes nothing again ($before lines)" [ "$(lines "$T/outbox.jsonl")" -eq "$before" ]
stop TERM
check "it stops with 0" [ $? -eq 0 ]
"$FW_BIN" ack -c "$T/fundwatch.yaml" "$id" --by a --note b 2>"$T/err"; rc=$?
check "no daemon running: exit 2, cannot reach it" eval '[ $rc -eq 2 ] && grep -q "cannot reach the daemon at 127.0.0.1:$PORT: Connection refused (is it running?)" "$T/err"'
done_testing
