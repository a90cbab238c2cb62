#!/usr/bin/env bash
# Feeds whose engine runs while the feed before commits (daemon/feedjob.c,
# fw_job_ahead_post): a spool of several feeds found at start is drained in
# one go, the next feed's engine running on the pipe's thread while the one
# before is stored. The store's rows and the outbox must be exactly those of
# the same feeds dropped one at a time: a later feed resolving an earlier
# one's findings, a duplicate in the middle (never run ahead), a feed that
# fails after its first records (the run ahead of the next is dropped and
# redone), and the task snapshot a feed keeps judging the next feed's older
# one ("later by as_of", the task dates handed from one run to the next).
. "$(dirname "$0")/lib.bash"
N=${AHEAD_ROWS:-40000} # a feed runs ~40 ms: time enough to post the next
H=财政区划代码,预算年度,单位代码,项目代码,项目名称,指标金额,累计支付,数据日期
# rows PREFIX AS_OF BEHIND: N execution records of projects PREFIX000000...;
# every BEHIND-th has paid nothing (an alert), the others 90 %
rows() {
    awk -v n="$N" -v p="$1" -v d="$3" -v b="$4" -v h="$H" 'BEGIN {
        print h
        for (i = 0; i < n; i++)
            printf "110101,2024,110101001,%s%06d,项目%d,1000000.00,%s,%s\n",
                   p, i, i, (b > 0 && i % b == 0) ? "0.00" : "900000.00", d
    }' >"$2"
}
mkdir -p "$T/feeds"
rows P "$T/feeds/1-a.csv" 2024-06-30 20      # 5 % alerts
rows P "$T/feeds/2-b.csv" 2024-09-30 0       # the same projects caught up: resolves them
cp "$T/feeds/1-a.csv" "$T/feeds/3-dup.csv"   # a's bytes again: a duplicate
rows Q "$T/feeds/4-bad.csv" 2024-06-30 10     # and a line past 1 MiB after its
{ head -c 1100000 /dev/zero | tr '\0' x; echo; } >>"$T/feeds/4-bad.csv" # records: fails late
rows R "$T/feeds/5-c.csv" 2024-06-30 25
rows R "$T/feeds/6-c2.csv" 2024-09-30 50     # resolves c's (new ids: another month)
for f in "$T"/feeds/*.csv; do touch "$f"; sleep 0.01; done # in name order
names() { ls "$T/feeds"; }
not() { ! "$@"; }

outbox() { sed -E 's/[0-9]{13}/T/g' "$T/outbox.jsonl"; }
dump() {
    sql ".dump" | grep -v '^INSERT INTO "\?meta\|^INSERT INTO "\?generations' |
        sed -E 's/[0-9]{13}/T/g; s/T,T,[0-9]+,/T,T,D,/'
}
fresh() { rm -rf "$T/spool" "$T"/fundwatch.db* "$T/outbox.jsonl"; setup "" "log_level: debug"; }

# ---- one at a time: what the store and the outbox must hold ---------------------
fresh
start --now 2024-10-08 || { fail "start"; done_testing; exit 1; }
k=0
for f in $(names); do
    k=$((k + 1))
    drop "$T/feeds/$f"
    wait_for 60 eval '[ "$(ls "$T/spool/done" "$T/spool/failed" 2>/dev/null | grep -c "\.csv$")" -ge '$k' ]' ||
        fail "one at a time: $f not done"
done
check "one at a time: SIGTERM, exit 0" stop
outbox >"$T/want.outbox"
dump >"$T/want.dump"
check "one at a time: a's alerts resolved by b, c's by c2's later snapshot" \
    [ "$(grep -c "\"event\":\"resolved\"" "$T/want.outbox")" -eq $((N / 20 + N / 25)) ]
check "one at a time: the bad feed failed, the duplicate recorded" \
    [ "$(sql "SELECT group_concat(status, ' ') FROM (SELECT status FROM feeds ORDER BY id)")" = \
      "done done duplicate failed done done" ]

# ---- all found at start: drained in one go, engines run ahead ------------------
fresh
for f in $(names); do cp -p "$T/feeds/$f" "$T/spool/incoming/$f"; done
start --now 2024-10-08 || { fail "start"; done_testing; exit 1; }
wait_for 60 eval '[ "$(ls "$T/spool/done" "$T/spool/failed" 2>/dev/null | grep -c "\.csv$")" -ge 6 ]' ||
    fail "in one go: not all feeds done"
check "in one go: SIGTERM, exit 0" stop
check "no outbox error (a feed's lines held back while the next one's transaction is open)" \
    not grep -q "error outbox" "$T/log"
check "some feed's engine ran while the one before committed" \
    grep -q "debug spool feed=2-b.csv: its engine runs next" "$T/log"
check "the duplicate was never run ahead" \
    not grep -q "feed=3-dup.csv: its engine runs next" "$T/log"
check "after the bad feed failed, the next feed's run ahead was dropped" \
    grep -q "debug spool feed=5-c.csv: its engine's run ahead dropped" "$T/log"
outbox >"$T/got.outbox"
dump >"$T/got.dump"
check "the outbox: the same bytes as one at a time" cmp -s "$T/want.outbox" "$T/got.outbox"
check "the store: the same rows as one at a time" cmp -s "$T/want.dump" "$T/got.dump"

# ---- task snapshots: a feed's kept snapshot judges the next feed's ------------
TH=类型,财政区划代码,预算年度,单位代码,单位名称,数据日期,任务编号,任务名称,截止日期,完成日期
tasks() { # tasks FILE AS_OF DONE_ON: N snapshots of tasks HLJ-000000...
    awk -v n="$N" -v h="$TH" -v d="$2" -v done="$3" 'BEGIN {
        print h
        for (i = 0; i < n; i++)
            printf "任务,230882,2021,230882000,富锦市财政局,%s,HLJ-%06d,开展绩效运行监控,2021-08-31,%s\n", d, i, done
    }' >"$1"
}
mkdir -p "$T/tfeeds"
tasks "$T/tfeeds/1-newer.csv" 2021-11-01 2021-08-20   # done on time
tasks "$T/tfeeds/2-older.csv" 2021-07-01 ""           # older, not done
touch -d '-1 second' "$T/tfeeds/1-newer.csv"
rm -rf "$T/spool" "$T"/fundwatch.db* "$T/outbox.jsonl"
setup "$FW_ROOT/policies" "log_level: debug"
cp -p "$T"/tfeeds/*.csv "$T/spool/incoming/"
start --now 2021-12-01 || { fail "start"; done_testing; exit 1; }
wait_for 60 eval '[ "$(sql "SELECT count(*) FROM feeds WHERE status = '"'done'"'")" = 2 ]' ||
    fail "tasks: not both feeds done"
check "tasks: SIGTERM, exit 0" stop
check "tasks: the older feed's engine ran ahead" \
    grep -q "debug spool feed=2-older.csv: its engine runs next" "$T/log"
check "tasks: the older snapshots fire nothing" [ "$(sql "SELECT count(*) FROM findings")" = 0 ]
check "tasks: the newer snapshots stay the stored ones" \
    [ "$(sql "SELECT count(*) FROM tasks WHERE date(as_of * 86400, 'unixepoch') = '2021-11-01'")" = "$N" ]
check "tasks: the log says why" \
    grep -q "warn spool feed=2-older.csv: $N task records older (as_of)" "$T/log"
done_testing
