#!/usr/bin/env bash
# Retention through a real daemon, read back with the sqlite3 CLI:
# retention.done and retention.resolved prune spool/done/ and the resolved
# findings (with their outbox events and keys) at start and at each daily
# scheduled check; nothing younger than its age, nothing open, nothing in
# failed/ or incoming/, and nothing the outbox file does not hold yet is
# touched; the store stays consistent (fundwatch backup checks it); a pruned
# finding that fires again is a new one (opened); without the keys nothing
# is pruned.
. "$(dirname "$0")/lib.bash"
demo=$FW_ROOT/examples/policies/feeds/demo.csv
setup "" "retention:
  done: 1h
  resolved: 1h"
start --now 2024-10-08 || { fail "start"; done_testing; exit 1; }
drop "$demo"
wait_for 10 eval '[ "$(lines "$T/outbox.jsonl")" = 6 ]'
# the Beijing projects catch up: their two alerts are resolved
sed -n '1,4p' "$demo" | sed 's/,"1,000,000.00",[0-9.]*,/,"1,000,000.00",1000000.00,/; s/,"2,000,000.00",[0-9.]*,/,"2,000,000.00",2000000.00,/' >"$T/fixed.csv"
drop "$T/fixed.csv"
printf 'a\0b\n' >"$T/nul.csv"
drop "$T/nul.csv"
# a new project afterwards: the newest finding and event stay in any case
sed -n '1p;5p' "$demo" | sed 's/500103240001/500103249999/' >"$T/new.csv"
drop "$T/new.csv"
wait_for 10 eval '[ "$(sql "SELECT count(*) FROM feeds")" = 4 ]' && wait_for 10 incoming_empty
resolved=$(sql "SELECT count(*) FROM findings WHERE state = 1")
open=$(sql "SELECT count(*) FROM findings WHERE state = 0")
check "two findings resolved, the others open" [ "$resolved/$open" = 2/5 ]
out_lines=$(lines "$T/outbox.jsonl")
check "SIGTERM: exit 0" stop

# ---- younger than the ages: nothing goes -------------------------------------
start --now 2024-10-08
wait_for 10 grep -q "info sched scheduled checks" "$T/log"
sleep 0.3
check "an hour's age: the resolved findings stay" [ "$(sql "SELECT count(*) FROM findings WHERE state = 1")" = 2 ]
check "and done/ keeps its files" [ "$(ls "$T/spool/done" | wc -l)" = 3 ]
check "SIGTERM: exit 0" stop

# ---- older than the ages: pruned at start ------------------------------------
sed -i 's/^  done: 1h/  done: 2s/; s/^  resolved: 1h/  resolved: 2s/' "$T/fundwatch.yaml"
sleep 2.2
touch "$T/spool/done/keep-me-fresh.csv"   # changed just now: stays
start --now 2024-10-08
check "the log says what was pruned" wait_for 10 grep -q "info retention pruned 2 resolved findings with their events and 3 files of spool/done/ in" "$T/log"
check "no resolved finding is left in the store" [ "$(sql "SELECT count(*) FROM findings WHERE state = 1")" = 0 ]
check "the open ones stay" [ "$(sql "SELECT count(*) FROM findings WHERE state = 0")" = "$open" ]
check "their outbox events went with them" [ "$(sql "SELECT count(*) FROM outbox WHERE fid NOT IN (SELECT fid FROM findings)")" = 0 ]
check "the open findings' events stay" [ "$(sql "SELECT count(DISTINCT fid) FROM outbox")" = "$open" ]
check "no key of a pruned finding is left" [ "$(sql "SELECT count(*) FROM finding_keys WHERE fid NOT IN (SELECT fid FROM findings)")" = 0 ]
check "the counters agree" [ "$(sql "SELECT n FROM counters WHERE name = 'findings.alert.resolved'")" = 0 ]
check "done/: the old files went, the fresh one stays" [ "$(ls "$T/spool/done")" = keep-me-fresh.csv ]
check "failed/ is left alone" test -f "$T/spool/failed/nul.csv"
check "the feed rows stay (a re-delivery is still a duplicate)" [ "$(sql "SELECT count(*) FROM feeds")" = 4 ]
check "the outbox file is not rewritten" [ "$(lines "$T/outbox.jsonl")" = "$out_lines" ]
check "fundwatch backup checks the pruned store: counters, orphans, integrity" \
    "$FW_BIN" backup -c "$T/fundwatch.yaml" "$T/copy.db"
# a pruned finding that fires again is a new one
sed -n '1p;4p' "$demo" >"$T/red.csv"
drop "$T/red.csv"
check "a pruned finding firing again: opened anew" wait_for 10 eval \
    '[ "$(grep "\"project\":\"110101240003\"" "$T/outbox.jsonl" | grep -o "\"event\":\"[a-z]*\"" | cut -d\" -f4 | tr "\n" " ")" = "opened resolved opened " ]'
check "one row for it, open" [ "$(sql "SELECT count(*) || state FROM findings_v WHERE project = '110101240003' AND rule = 'demo_lag'")" = 1open ]
check "SIGTERM: exit 0" stop
check "the store is consistent after the restart too" "$FW_BIN" backup -c "$T/fundwatch.yaml" "$T/copy2.db"

# ---- without retention: nothing is pruned ------------------------------------
{ cat "$T/fixed.csv"; echo; } >"$T/fixed-again.csv"   # other bytes: not a duplicate
drop "$T/fixed-again.csv"
sed -i '/^retention:/,$d' "$T/fundwatch.yaml"
start --now 2024-10-08
wait_for 10 incoming_empty
check "the resolution is stored" wait_for 10 eval '[ "$(sql "SELECT count(*) FROM findings WHERE state = 1")" = 1 ]'
check "SIGTERM: exit 0" stop
sleep 2.2
start --now 2024-10-08
wait_for 10 eval '[ "$(grep -c "info sched scheduled checks" "$T/log")" = 6 ]'
sleep 0.5
check "no retention keys: the resolved finding stays" [ "$(sql "SELECT count(*) FROM findings WHERE state = 1")" = 1 ]
check "and done/ keeps its files" [ "$(ls "$T/spool/done" | wc -l)" -ge 2 ]
check "no retention line in the log" [ "$(grep -c "info retention" "$T/log")" = 1 ]
check "SIGTERM: exit 0" stop
done_testing
