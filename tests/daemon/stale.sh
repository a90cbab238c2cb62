#!/usr/bin/env bash
# "Later" means the same everywhere: a task snapshot older (数据日期, as_of)
# than the one already stored for the same task fires, resolves and reopens
# nothing, whether it arrives in a feed or the scheduled checks at start
# re-judge the tasks; the feed's log line says how many were passed over.
# Through a real daemon with the reference policies (hlj_deadline).
. "$(dirname "$0")/lib.bash"
H=类型,财政区划代码,预算年度,单位代码,单位名称,数据日期,任务编号,任务名称,截止日期,完成日期
task() { # task FILE AS_OF DONE_ON: the snapshot of task HLJ2021-03
    { echo "$H"; echo "任务,230882,2021,230882000,富锦市财政局,$2,HLJ2021-03,开展绩效运行监控,2021-08-31,$3"; } >"$T/$1"
}
events() { [ -f "$T/outbox.jsonl" ] && grep -o '"event":"[a-z]*"' "$T/outbox.jsonl" | cut -d'"' -f4 | tr '\n' ' '; }
stored_as_of() { sql "SELECT date(as_of * 86400, 'unixepoch') FROM tasks WHERE task = 'HLJ2021-03'"; }
feeds_done() { sql "SELECT count(*) FROM feeds WHERE status = 'done'"; }

setup "$FW_ROOT/policies"
start --now 2021-12-01 || { fail "start"; done_testing; exit 1; }
# ---- a newer snapshot, then an older one -----------------------------------------
task newer.csv 2021-11-01 2021-08-20      # done on time: nothing fires
drop "$T/newer.csv"
wait_for 10 eval '[ "$(feeds_done)" = 1 ]'
task older.csv 2021-07-01 ""              # then not done: would be overdue today
drop "$T/older.csv"
wait_for 10 eval '[ "$(feeds_done)" = 2 ]'
check "the older snapshot fires nothing" [ "$(sql "SELECT count(*) FROM findings")" = 0 ]
check "nothing reaches the outbox" [ "$(lines "$T/outbox.jsonl")" = 0 ]
check "the newer snapshot stays the stored one" [ "$(stored_as_of)" = 2021-11-01 ]
check "the log says why" wait_for 5 grep -q "warn spool feed=older.csv: 1 task records older (as_of) than the snapshot of their task already stored: they fired, resolved and reopened nothing" "$T/log"
check "SIGTERM: exit 0" stop
start --now 2021-12-01
wait_for 10 grep -q "scheduled checks: 1 task records, 0 findings" "$T/log"
check "restart: the scheduled checks judge the stored snapshot: nothing" eval \
    '[ "$(sql "SELECT count(*) FROM findings")" = 0 ] && [ "$(lines "$T/outbox.jsonl")" = 0 ]'
check "SIGTERM: exit 0" stop

# ---- fired, resolved by a newer one; an older one again must not reopen it ----
rm -rf "$T/spool" "$T"/fundwatch.db* "$T/outbox.jsonl"
setup "$FW_ROOT/policies"
start --now 2021-12-01
task first.csv 2021-07-01 ""
drop "$T/first.csv"
check "an overdue snapshot fires hlj_deadline" wait_for 10 eval '[ "$(events)" = "opened " ]'
drop "$T/newer.csv"
check "the newer snapshot (done on time) resolves it" wait_for 10 eval '[ "$(events)" = "opened resolved " ]'
task late.csv 2021-09-30 ""               # older than 2021-11-01, new bytes
drop "$T/late.csv"
wait_for 10 eval '[ "$(feeds_done)" = 3 ]'
sleep 0.3
check "an older snapshot delivered late reopens nothing" [ "$(events)" = "opened resolved " ]
check "the finding stays resolved" [ "$(sql "SELECT state FROM findings_v WHERE rule = 'hlj_deadline'")" = resolved ]
check "SIGTERM: exit 0" stop
start --now 2021-12-01
wait_for 10 eval '[ "$(grep -c "scheduled checks: 1 task records" "$T/log")" = 2 ]'
sleep 0.3
check "restart: nothing resolved or reopened by the stale snapshot" eval \
    '[ "$(events)" = "opened resolved " ] && [ "$(sql "SELECT state FROM findings_v WHERE rule = '"'hlj_deadline'"'")" = resolved ]'
# the same 数据日期 is not older: a corrected snapshot of that day counts
task same.csv 2021-11-01 ""
drop "$T/same.csv"
check "a snapshot of the same date is judged: reopened" wait_for 10 eval '[ "$(events)" = "opened resolved reopened " ]'
check "and stored" [ "$(sql "SELECT record LIKE '%done_on%' FROM tasks")" = 0 ]
check "SIGTERM: exit 0" stop
done_testing
