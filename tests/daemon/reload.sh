#!/usr/bin/env bash
# Hot reload through the real daemon: an edit saved in steps (an editor) or
# copied slowly never yields a half-loaded generation; a broken edit keeps
# the running one; RELOADS reloads (default 1000) while feeds keep arriving
# lose no record, leave every generation in the store's history, and keep
# the daemon's memory flat.
. "$(dirname "$0")/lib.bash"
RELOADS=${RELOADS:-1000}
# under AddressSanitizer, freed memory waits in a quarantine: off, so that
# RSS shows what the daemon keeps
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
TOKEN=test-token-0123456789abcdef
PORT=$(free_port)
setup "" "listen: 127.0.0.1:$PORT
token: $TOKEN
limits:
  db_cache: 2M
reload:
  debounce: 300ms"
U=http://127.0.0.1:$PORT
auth=(-H "Authorization: Bearer $TOKEN")
start --now 2024-10-08 || { fail "start"; done_testing; exit 1; }
wait_for 5 curl -sf "$U/healthz" -o /dev/null
gens() { sql "SELECT count(*) FROM generations WHERE ok = $1"; }
reloads_logged() { grep -c "$1" "$T/log"; }

# ---- an editor saves in steps -------------------------------------------------
pol=$T/policies/cn/demo.lua
cp "$pol" "$T/demo.lua.orig"
refused0=$(gens 0)
head -c 300 "$T/demo.lua.orig" >"$pol"      # truncated: broken Lua
sleep 0.1
sed 's/示例:支出进度/示例(改):支出进度/' "$T/demo.lua.orig" >"$pol"  # done within the debounce
check "a save in two steps within the debounce: one reload, of the whole file" \
    wait_for 10 eval '[ "$(gens 1)" -ge 2 ]'
sleep 0.5
check "and no refused generation" [ "$(gens 0)" = "$refused0" ]
check "the running generation has the edit" eval 'curl -s -H "Authorization: Bearer $TOKEN" "$U/policies" | grep -q "示例(改)"'

# ---- a slow copy: the files change while the generation is built ---------------
for i in 1 2 3 4 5 6; do printf -- '-- line %d\n' "$i" >>"$T/policies/cn/demo.yaml.part"; sleep 0.1; done
rm -f "$T/policies/cn/demo.yaml.part"
check "*.part files under policies/ are not loaded" eval 'curl -s "$U/healthz" | grep -q "\"last_reload\":{\"ok\":true"'

# ---- a broken edit keeps the running generation ----------------------------------
before=$(sql "SELECT version FROM generations WHERE ok = 1 ORDER BY id DESC LIMIT 1")
printf 'return policy {\n  id = "demo",\n  title = "x",\n  regions = { "" },\n  rules = {},\n  on_execution = function(rec, ctx) alert { rule = "nope" } end,\n}\n' >"$T/policies/cn/zz_broken.lua"
check "a broken policy file is refused" wait_for 10 eval '[ "$(gens 0)" -gt "$refused0" ]'
check "with file:line in the log" grep -q "error reload .*policies/cn/zz_broken.lua:1: " "$T/log"
check "the generation running is still the last good one" \
    eval 'curl -s "$U/healthz" | grep -q "\"generation\":\"$before\""'
rm "$T/policies/cn/zz_broken.lua"
check "removing it reloads the good files again" wait_for 10 \
    eval 'curl -s "$U/healthz" | grep -q "\"last_reload\":{\"ok\":true"'

# ---- a policy test that fails refuses the generation --------------------------------
sed -i 's/^yellow: 10/yellow: 30/' "$T/policies/cn/demo.yaml"
check "parameters that break a policy test are refused" wait_for 10 \
    eval 'curl -s "$U/healthz" | grep -q "policy test fails"'
sed -i 's/^yellow: 30/yellow: 10/' "$T/policies/cn/demo.yaml"
wait_for 10 eval 'curl -s "$U/healthz" | grep -q "\"last_reload\":{\"ok\":true"'

# ---- many reloads under a steady feed --------------------------------------------
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$PID/status"; }
mkdir -p "$T/stage"
(   i=0
    while [ ! -f "$T/stop-feeding" ]; do
        i=$((i + 1))
        awk -v i="$i" 'BEGIN { print "财政区划代码,预算年度,单位代码,项目代码,指标金额,累计支付,数据日期"
            for (r = 1; r <= 200; r++) printf "110101,2024,S,S%05dP%03d,1000.00,%s,2024-06-30\n", i, r, (r % 5 ? "480.00" : "100.00") }' >"$T/stage/s$i.csv"
        mv "$T/stage/s$i.csv" "$T/spool/incoming/"
        sleep 0.02
    done
    echo "$i" >"$T/fed"
) &
feeder=$!
ok0=$(gens 1)
for k in $(seq 1 "$RELOADS"); do
    curl -s -o /dev/null -X POST "${auth[@]}" "$U/reload"
    [ "$k" = $((RELOADS / 2)) ] && rss_half=$(rss)
    [ $((k % 100)) = 0 ] && echo "# RSS at reload $k: $(rss) KiB"
done
rss_end=$(rss)
touch "$T/stop-feeding"; wait "$feeder"
fed=$(cat "$T/fed")
check "$RELOADS reloads answered and recorded" wait_for 20 eval '[ "$(gens 1)" -ge $((ok0 + RELOADS)) ]'
check "all $fed feeds sent meanwhile are processed" wait_for 60 incoming_empty
check "each once, none lost: $fed feed rows, $((fed * 200)) records" \
    [ "$(sql "SELECT count(*), sum(records) FROM feeds WHERE name LIKE 's%.csv' AND status = 'done'")" = "$fed|$((fed * 200))" ]
check "their findings are all in the outbox ($((fed * 40)) alerts)" \
    [ "$(grep -c '"project":"S' "$T/outbox.jsonl")" -eq $((fed * 40)) ]
# With a 2 MiB store cache, what is left is the daemon's own memory: one
# leaked generation (its Lua states) per reload would be 100 KiB or more.
echo "# RSS after $((RELOADS / 2)) reloads: ${rss_half} KiB; after $RELOADS: ${rss_end} KiB"
check "memory stays flat: RSS grew less than 2 MiB over the last $((RELOADS / 2)) reloads" \
    [ $((rss_end - rss_half)) -lt 2048 ]
check "the generation history has every reload with its files" \
    [ "$(sql "SELECT count(DISTINCT generation) FROM generation_files")" -ge $((RELOADS + 2)) ]
stop TERM; rc=$?
check "it stops cleanly" [ $rc -eq 0 ]
done_testing
