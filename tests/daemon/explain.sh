#!/usr/bin/env bash
# fundwatch explain -c CONFIG ID and GET /findings/{id}/explain on a running
# daemon: a stored finding with the evidence the engine recorded when it
# fired, read back after a restart too; an unknown id names itself.
. "$(dirname "$0")/lib.bash"
command -v curl >/dev/null || { echo "not ok - curl is missing"; exit 1; }
PORT=$(free_port)
READ=read-token-0123456789abcdef
setup "$FW_ROOT/policies" "listen: 127.0.0.1:$PORT
read_token: $READ
columns: $FW_ROOT/examples/columns.yaml"
drop "$FW_ROOT/examples/feeds/yuzhong_500103_2024q4.csv"
start --now 2024-12-31 || { fail "start"; done_testing; exit 1; }
check "the feed is done" wait_for 10 eval '[ "$(lines "$T/outbox.jsonl")" -gt 0 ]'
id=$(grep '"rule":"cq_red_yellow"' "$T/outbox.jsonl" | grep -o '"id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
check "the outbox line carries its evidence" grep -q '"evidence":{"fields":{' "$T/outbox.jsonl"
"$FW_BIN" explain -c "$T/fundwatch.yaml" "$id" >"$T/out" 2>&1
check "explain -c ID: exit 0" [ $? -eq 0 ]
check "it says the figures" grep -q "lag behind the schedule 落后 = [0-9]" "$T/out"
check "and the threshold with its YAML line" grep -q "cq_red_yellow.lag.yellow = 10   (.*policies/50/red_yellow.yaml:11)" "$T/out"
check "and the source sentence" grep -q "source: seed 002" "$T/out"
code=$(curl -s -o "$T/api.json" -w '%{http_code}' -H "Authorization: Bearer $READ" "http://127.0.0.1:$PORT/findings/$id/explain")
check "GET /findings/{id}/explain: 200 with the evidence" eval '[ "$code" = 200 ] && grep -q "\"figures\":{\"seq\":" "$T/api.json" && grep -q "\"state\":\"open\"" "$T/api.json"'
"$FW_BIN" explain -c "$T/fundwatch.yaml" --json "$id" >"$T/cli.json"
check "explain --json gives the same evidence as the API" eval 'python3 -c "import json,sys; a=json.load(open(\"$T/api.json\")); b=json.load(open(\"$T/cli.json\")); sys.exit(a[\"evidence\"] != b[\"evidence\"])"'
stop
start --now 2024-12-31 || fail "restart"
"$FW_BIN" explain -c "$T/fundwatch.yaml" "$id" >"$T/out2" 2>&1
check "after a restart: the same explanation" diff -q "$T/out" "$T/out2"
"$FW_BIN" explain -c "$T/fundwatch.yaml" 0123456789abcdef0123456789abcdef >"$T/out" 2>&1; rc=$?
check "an unknown id: exit 1 naming it" eval '[ $rc -eq 1 ] && grep -q "no finding 0123456789abcdef0123456789abcdef in" "$T/out"'
LC_ALL=zh_CN.UTF-8 "$FW_BIN" explain -c "$T/fundwatch.yaml" "$id" >"$T/zh" 2>&1
check "in Chinese under a zh locale" grep -q "阈值及其设置位置" "$T/zh"
stop
done_testing
