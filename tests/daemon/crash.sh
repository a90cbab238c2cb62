#!/usr/bin/env bash
# Crash safety: the daemon is killed with SIGKILL at random moments while
# feeds are processed, CRASH_RUNS times (default 20), and restarted each
# time. At the end every feed is processed exactly once, the store holds
# each finding once, the outbox has each finding exactly once (the same ids
# as `fundwatch replay` of the same feeds), and PRAGMA integrity_check is ok.
. "$(dirname "$0")/lib.bash"
RUNS=${CRASH_RUNS:-20}
PER=3            # feeds dropped per run
ROWS=4000        # records per feed: ~25 ms of work, so kills land inside
setup

# Feeds with distinct subjects (no finding resolves another's), a quarter
# of their records late enough to fire, and one bad line each.
mkdir -p "$T/feeds"
total=$((RUNS * PER))
for i in $(seq 1 $total); do
    awk -v f="$i" -v n="$ROWS" 'BEGIN {
        print "财政区划代码,预算年度,单位代码,项目代码,指标金额,累计支付,数据日期"
        for (r = 1; r <= n; r++) {
            region = (r % 3 == 0) ? "500103" : "110101"
            paid = (r % 4 == 0) ? 200000 : 480000
            printf "%s,2024,D%03d,F%03dP%05d,1000000.00,%d.00,2024-06-30\n", region, r % 50, f, r, paid
        }
        print "110101,2024,D001,BAD,12x,0,2024-06-30"
    }' >"$T/feeds/feed$i.csv"
done
"$FW_BIN" replay --policies "$T/policies" --now 2024-10-08 "$T/feeds"/*.csv \
    2>/dev/null | grep -o '"id":"[0-9a-f]*"' | sort -u >"$T/want.ids"

next=1 kills=0
for run in $(seq 1 "$RUNS"); do
    start --now 2024-10-08 || { fail "start $run"; break; }
    for _ in $(seq 1 $PER); do
        [ $next -le $total ] && drop "$T/feeds/feed$next.csv" && next=$((next + 1))
    done
    sleep "0.$(printf '%03d' $((RANDOM % 150)))"   # 0-150 ms: mid-feed mostly
    kill -9 "$PID" && kills=$((kills + 1))
    wait "$PID" 2>/dev/null
    PID=""
done
# the last start finishes what is left
start --now 2024-10-08
wait_for 60 incoming_empty
stop TERM; rc=$?
echo "# the last run exited $rc"
check "$kills SIGKILLs during $total feeds; the last run stops with 0" [ $rc -eq 0 ]
check "every feed left incoming/" incoming_empty
check "each feed is in done/ once ($total)" \
    [ "$(ls "$T/spool/done" | grep -c '^feed[0-9]*\.csv$')" -eq $total ]
check "nothing in done/ twice" [ "$(ls "$T/spool/done" | grep -vc '^feed[0-9]*\.csv$')" -eq 0 ]
check "nothing failed" [ -z "$(ls -A "$T/spool/failed")" ]
done_n=$(sql "SELECT count(*), count(DISTINCT sha256) FROM feeds WHERE status = 'done'")
check "the store has each feed done once ($done_n)" [ "$done_n" = "$total|$total" ]
check "each feed's rejects once" [ "$(sql 'SELECT count(*) FROM rejects')" -eq $total ]
sql "SELECT lower(hex(id)) FROM findings" | sed 's/.*/"id":"&"/' | sort >"$T/store.ids"
check "the store holds each finding once ($(wc -l <"$T/want.ids") as replay finds)" \
    cmp -s "$T/store.ids" "$T/want.ids"
grep -o '"id":"[0-9a-f]*"' "$T/outbox.jsonl" | sort >"$T/outbox.ids"
check "the outbox has each finding exactly once" cmp -s "$T/outbox.ids" "$T/want.ids"
check "every outbox line is whole JSON" \
    [ "$(grep -c '^{.*}$' "$T/outbox.jsonl")" -eq "$(lines "$T/outbox.jsonl")" ]
check "PRAGMA integrity_check is ok" [ "$(sql 'PRAGMA integrity_check')" = ok ]

# ---- the exact window: lines written to the outbox, not yet marked ----------
# One feed fires a project's alert, resolves it (a later row pays up) and
# reopens it (a third row falls behind again): two events of one finding.
rm -rf "$T/spool" "$T"/fundwatch.db* "$T/outbox.jsonl"
setup
{ echo "财政区划代码,预算年度,单位代码,项目代码,指标金额,累计支付,数据日期"
  echo "110101,2024,W,WIN1,1000000.00,200000.00,2024-06-30"
  echo "110101,2024,W,WIN1,1000000.00,900000.00,2024-06-30"
  echo "110101,2024,W,WIN1,1000000.00,100000.00,2024-06-30"
  echo "110101,2024,W,WIN2,1000000.00,100000.00,2024-06-30"; } >"$T/window.csv"
FW_FAULT=outbox-written start --now 2024-10-08
drop "$T/window.csv"
wait "$PID"; PID=""
check "the fault hook killed it between the write and the mark" \
    [ "$(sql "SELECT coalesce((SELECT value FROM meta WHERE key = 'outbox_marked'), 0)")" -lt "$(lines "$T/outbox.jsonl")" ]
before=$(lines "$T/outbox.jsonl")
start --now 2024-10-08
stop TERM
check "after the restart nothing is written twice ($before lines)" [ "$(lines "$T/outbox.jsonl")" -eq "$before" ]
check "the reopened finding's three events are all there, once each, in order" \
    [ "$(grep '"project":"WIN1"' "$T/outbox.jsonl" | grep -o '"event":"[a-z]*"' | tr '\n' ' ')" = '"event":"opened" "event":"resolved" "event":"reopened" ' ]
check "and the mark covers them" \
    [ "$(sql "SELECT coalesce((SELECT value FROM meta WHERE key = 'outbox_marked'), 0)")" -eq "$(sql 'SELECT max(seq) FROM outbox')" ]

# ---- committed, not yet moved to done/: the restart only finishes the move ---
rm -rf "$T/spool" "$T"/fundwatch.db* "$T/outbox.jsonl"
setup
FW_FAULT=spool-move start --now 2024-10-08
drop "$T/window.csv"
wait "$PID"; PID=""
check "the fault hook killed it between the commit and the move" \
    eval 'test -f "$T/spool/incoming/window.csv" && [ "$(sql "SELECT count(*) FROM feeds WHERE status = '"'done'"'")" = 1 ]'
before=$(lines "$T/outbox.jsonl")
start --now 2024-10-08
check "the restart moves it to done/" wait_for 10 test -f "$T/spool/done/window.csv"
check "and says so, not as a duplicate" \
    eval 'grep -q "feed=window.csv: committed as feed #1 before a restart, not yet moved: moved to done/ now (not a duplicate)" "$T/log" && ! grep -q "duplicate of feed" "$T/log"'
check "no duplicate delivery recorded, the feed row once" \
    [ "$(sql "SELECT group_concat(status) FROM feeds")" = done ]
check "the outbox is not written twice ($before lines)" [ "$(lines "$T/outbox.jsonl")" -eq "$before" ]
drop "$T/window.csv"
check "sent again under the same name: a duplicate, as before" \
    wait_for 10 eval 'grep -q "feed=window.csv: duplicate of feed #1" "$T/log"'
check "recorded as one" [ "$(sql "SELECT count(*) FROM feeds WHERE status = 'duplicate'")" = 1 ]
stop TERM
check "the stop's totals: 1 done, 1 duplicate" grep -q "stopped: 1 feeds done, 0 failed, 1 duplicates" "$T/log"
done_testing
