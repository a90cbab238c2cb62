#!/usr/bin/env bash
# The daemon's spool through the real process: a feed processed once and
# moved to done/, its findings in the store and the outbox (the same ids as
# replay), rejects kept, duplicates recorded and skipped, bad feeds moved to
# failed/ with a reason, .part and dot files left alone, a restart that
# redoes nothing, resolution of an alert by a later snapshot, a burst of
# small feeds without loss, and SIGTERM during a burst.
. "$(dirname "$0")/lib.bash"
BURST=${BURST:-10000}
setup
demo=$FW_ROOT/examples/policies/feeds/demo.csv
start --now 2024-10-08 || { fail "start"; done_testing; exit 1; }
check "the log says it started, one line" grep -q "info main started: config $T/fundwatch.yaml" "$T/log"

# ---- one feed --------------------------------------------------------------
drop "$demo"
check "the feed leaves incoming/ for done/" wait_for 10 test -f "$T/spool/done/demo.csv"
"$FW_BIN" replay --policies "$T/policies" --now 2024-10-08 "$demo" 2>/dev/null |
    grep -o '"id":"[0-9a-f]*"' | sort >"$T/want.ids"
wait_for 5 eval '[ "$(lines "$T/outbox.jsonl")" -eq "$(lines "$T/want.ids")" ]'
grep -o '"id":"[0-9a-f]*"' "$T/outbox.jsonl" | sort >"$T/got.ids"
check "the outbox holds replay's findings ($(lines "$T/want.ids"))" cmp -s "$T/want.ids" "$T/got.ids"
check "outbox lines follow the contract (source names the feed)" \
    grep -q '"source":{"feed":"demo.csv","line":4}' "$T/outbox.jsonl"
check "the feed row: done, 6 records, 1 reject" \
    [ "$(sql "SELECT status, records, rejects FROM feeds")" = "done|6|1" ]
check "the reject is stored with its line" \
    [ "$(sql "SELECT line FROM rejects")" = 7 ]
check "findings are open" [ "$(sql "SELECT count(*) FROM findings_v WHERE state = 'open'")" -eq "$(lines "$T/want.ids")" ]
check "the log line of the feed" grep -q 'info spool feed=demo.csv: 6 records, 1 rejects' "$T/log"

# ---- the same bytes again, under another name ------------------------------
drop "$demo" again.csv
check "a duplicate goes to done/ too" wait_for 10 test -f "$T/spool/done/again.csv"
check "and is recorded as a duplicate" [ "$(sql "SELECT count(*) FROM feeds WHERE status = 'duplicate'")" = 1 ]
check "the duplicate adds nothing to the outbox" [ "$(lines "$T/outbox.jsonl")" -eq "$(lines "$T/want.ids")" ]
check "the log says duplicate" grep -q 'warn spool feed=again.csv: duplicate of feed #1' "$T/log"

# ---- the same name again, other bytes: nothing is overwritten ---------------
sed 's/500000.00,2024-06-30/500001.00,2024-06-30/' "$demo" >"$T/demo2.csv"
drop "$T/demo2.csv" demo.csv
check "a second demo.csv becomes done/demo.csv.1" wait_for 10 test -f "$T/spool/done/demo.csv.1"

# ---- bad feeds -------------------------------------------------------------
printf 'a\0b\n' >"$T/nul.csv"
drop "$T/nul.csv"
check "a feed with NUL bytes goes to failed/" wait_for 10 test -f "$T/spool/failed/nul.csv"
check "with a reason file naming file and line" grep -q '^nul.csv:1' "$T/spool/failed/nul.csv.reason"
check "recorded as failed" [ "$(sql "SELECT count(*) FROM feeds WHERE status = 'failed'")" = 1 ]
head -c 3000 /dev/urandom >"$T/noise.csv"
drop "$T/noise.csv"
check "random bytes do not stop the daemon" wait_for 10 eval 'test -f "$T/spool/failed/noise.csv" || test -f "$T/spool/done/noise.csv"'
printf 'x\n' >"$T/spool/incoming/slow.csv.part"
printf 'x\n' >"$T/spool/incoming/.hidden.csv"
mkdir "$T/spool/incoming/adir"
drop "$demo" after.csv  # a duplicate again: shows the loop went past them
wait_for 10 test -f "$T/spool/done/after.csv"
check ".part, dot files and folders stay in incoming/" \
    eval 'test -f "$T/spool/incoming/slow.csv.part" && test -f "$T/spool/incoming/.hidden.csv" && test -d "$T/spool/incoming/adir"'
rm -rf "$T/spool/incoming/slow.csv.part" "$T/spool/incoming/.hidden.csv" "$T/spool/incoming/adir"
check "the daemon is still running" kill -0 "$PID"

# ---- restart: nothing is redone --------------------------------------------
before=$(lines "$T/outbox.jsonl")
stop TERM; rc=$?
check "SIGTERM: exit 0" [ $rc -eq 0 ]
check "the log says stopped" grep -q 'info main stopped: ' "$T/log"
start --now 2024-10-08
sleep 0.5
check "a restart writes nothing again" [ "$(lines "$T/outbox.jsonl")" -eq "$before" ]

# ---- resolution: a later snapshot of the same project that no longer lags --
sed -n '1p;4p' "$demo" >"$T/red.csv"   # 110101240003: 25 points behind → red
sed -n '1p;4p' "$demo" | sed 's/,500000.00,2024-06-30/,1000000.00,2024-06-30/' >"$T/fixed.csv"
drop "$T/fixed.csv"
state_of() { sql "SELECT state FROM findings_v WHERE rule = '$1' AND project = '$2'"; }
check "the alert of the project is resolved by the later snapshot" wait_for 10 eval \
    '[ "$(state_of demo_lag 110101240003)" = resolved ]'
events_of() { grep "\"project\":\"$1\"" "$T/outbox.jsonl" | grep -o '"event":"[a-z]*"' | cut -d'"' -f4 | tr '\n' ' '; }
check "the resolution reaches the outbox once, as a resolved event" wait_for 10 eval \
    '[ "$(events_of 110101240003)" = "opened resolved " ]'
drop "$T/red.csv" red-again.csv   # new bytes (one line): fires again → reopened
check "firing again reopens it: a reopened event, not a first one" wait_for 10 eval \
    '[ "$(events_of 110101240003)" = "opened resolved reopened " ]'

# ---- a burst of small feeds ------------------------------------------------
mkdir -p "$T/burst"
tiny() { # tiny DIR PREFIX COUNT: one-record feeds, written by one process
    awk -v d="$1" -v p="$2" -v n="$3" 'BEGIN { for (i = 1; i <= n; i++) {
        f = sprintf("%s/%s%d.csv", d, p, i)
        print "财政区划代码,预算年度,单位代码,项目代码,指标金额,累计支付,数据日期" >f
        printf "110101,2024,%s,%s%05d,1000.00,100.00,2024-06-30\n", p, p, i >f
        close(f) } }'
}
tiny "$T/burst" b "$BURST"
out0=$(lines "$T/outbox.jsonl")
find "$T/burst" -name '*.csv' -exec mv -t "$T/spool/incoming/" {} +
check "a burst of $BURST feeds: all processed" wait_for 120 incoming_empty
# each feed: a new red alert, and the feed summary, whose id (policy, rule,
# region) it shares with every other feed's: open already, not written again
wait_for 10 eval '[ "$(lines "$T/outbox.jsonl")" -ge $((out0 + BURST)) ]'
check "each gave its one new finding to the outbox" \
    [ "$(lines "$T/outbox.jsonl")" -eq $((out0 + BURST)) ]
check "$BURST feed rows" [ "$(sql "SELECT count(*) FROM feeds WHERE name LIKE 'b%.csv' AND status = 'done'")" -eq "$BURST" ]

# ---- SIGTERM in the middle of a burst: the current feed finishes ----------
mkdir -p "$T/burst2"
tiny "$T/burst2" c 3000
find "$T/burst2" -name '*.csv' -exec mv -t "$T/spool/incoming/" {} +
sleep 0.2
stop TERM; rc=$?
check "SIGTERM during a burst: exit 0" [ $rc -eq 0 ]
left=$(ls "$T/spool/incoming" | wc -l)
stored=$(sql "SELECT count(*) FROM feeds WHERE name LIKE 'c%.csv'")
check "what left incoming/ is stored, the rest waits ($stored + $left = 3000)" [ $((stored + left)) -eq 3000 ]
check "PRAGMA integrity_check is ok" [ "$(sql 'PRAGMA integrity_check')" = ok ]
done_testing
