#!/usr/bin/env bash
# A candidate policies folder in shadow beside the live generation: built
# and tested like a reload, run on every feed after the live one, its
# differences in the store's shadow_findings (never the outbox), GET
# /shadow the running diff; POST /shadow?dir= starts another (a broken one
# is refused, the live path untouched), DELETE /shadow stops it.
. "$(dirname "$0")/lib.bash"
command -v curl >/dev/null || { echo "not ok - curl is missing"; exit 1; }
TOKEN=shadow-token-0123456789abcdef
PORT=$(free_port)
cand=$T/cand
cp -r "$FW_ROOT/policies" "$cand"
# the candidate: Chongqing's red line at 15 points instead of 20
sed -i '0,/red: 20/s//red: 15/' "$cand/50/red_yellow.yaml"
setup "$FW_ROOT/policies" "listen: 127.0.0.1:$PORT
token: $TOKEN
columns: $FW_ROOT/examples/columns.yaml
shadow: $cand
reload:
  run_tests: false"
U=http://127.0.0.1:$PORT
auth=(-H "Authorization: Bearer $TOKEN")
start --now 2024-12-31 || { fail "start"; done_testing; exit 1; }
check "the shadow starts with the daemon" grep -q "in shadow: generation" "$T/log"
drop "$FW_ROOT/examples/feeds/yuzhong_500103_2024q4.csv"
check "the feed is done" wait_for 10 grep -q "shadow feed=yuzhong_500103_2024q4.csv" "$T/log"
check "GET /shadow without a token: 401 (it tells findings)" [ "$(get "$U/shadow")" = 401 ]
check "GET /shadow: 200, running" eval '[ "$(get "${auth[@]}" "$U/shadow")" = 200 ] && grep -q "\"running\":true" "$T/body"'
check "one light turns red and a clawback appears" eval 'grep -q "\"added\":1,\"removed\":0,\"changed\":1" "$T/body"'
check "by rule" eval 'grep -q "\"cq_red_yellow\":{\"added\":0,\"removed\":0,\"changed\":1}" "$T/body" && grep -q "\"cq_slow_to_fast\":{\"added\":1" "$T/body"'
check "the differences are in shadow_findings" [ "$(sql "SELECT count(*) FROM shadow_findings")" = 2 ]
check "a changed one keeps both versions" [ "$(sql "SELECT count(*) FROM shadow_findings WHERE change = 'changed' AND live LIKE '%\"level\":\"yellow\"%' AND finding LIKE '%\"level\":\"red\"%'")" = 1 ]
check "never the outbox: live findings only" [ "$(lines "$T/outbox.jsonl")" = "$(sql "SELECT count(*) FROM findings")" ]
check "the outbox has no clawback of the shadow" eval '! grep -q "\"rule\":\"cq_slow_to_fast\".*500103240007" "$T/outbox.jsonl"'

mkdir -p "$T/broken/cn"; echo 'return policy { id = "x", ' >"$T/broken/cn/x.lua"
check "POST /shadow without the token: 401" [ "$(get -X POST "$U/shadow?dir=$T/broken")" = 401 ]
check "POST /shadow?dir=broken: 422 with why" eval '[ "$(get -X POST "${auth[@]}" "$U/shadow?dir=$T/broken")" = 422 ] && grep -q "x.lua" "$T/body"'
check "the last good shadow still runs" eval '[ "$(get "${auth[@]}" "$U/shadow")" = 200 ] && grep -q "\"running\":true" "$T/body" && grep -q "\"error\":\".*x.lua" "$T/body"'
check "POST /shadow?dir=relative: 400" [ "$(get -X POST "${auth[@]}" "$U/shadow?dir=policies")" = 400 ]
check "DELETE /shadow: 200" [ "$(get -X DELETE "${auth[@]}" "$U/shadow")" = 200 ]
check "GET /shadow: not running" eval '[ "$(get "${auth[@]}" "$U/shadow")" = 200 ] && grep -q "\"running\":false" "$T/body"'
check "POST /shadow?dir=cand again: 200" [ "$(get -X POST "${auth[@]}" "$U/shadow?dir=$cand")" = 200 ]
drop "$FW_ROOT/examples/feeds/yuzhong_500103_2024q4.csv" again.csv
check "a duplicate feed does not run the shadow" eval 'sleep 1.5; [ "$(grep -c "shadow feed=" "$T/log")" = 1 ]'
check "it stops with 0" stop
done_testing
