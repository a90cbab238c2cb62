#!/usr/bin/env bash
# fundwatch backup: online copies of a running daemon's store while feeds
# keep arriving, each one consistent (sqlite3's integrity and foreign-key
# checks, every outbox event's finding there, the feed counters agreeing
# with the rows); a restore by the documented steps; and every refusal
# with its message.
. "$(dirname "$0")/lib.bash"
setup
start --now 2024-10-08 || { fail "start"; done_testing; exit 1; }

# feed k: 200 projects of its own (so every feed is new and fires)
feed() {
    local k=$1 i
    echo "财政区划代码,预算年度,单位代码,项目代码,项目名称,指标金额,累计支付,数据日期"
    for ((i = 0; i < 200; i++)); do
        printf '500103,2024,500103001,P%04d%04d,项目,1000000.00,%d.00,2024-06-30\n' \
            "$k" "$i" $((i * 4000))
    done
}
for k in $(seq 1 40); do feed "$k" >"$T/f$k.csv"; done
(for k in $(seq 1 40); do drop "$T/f$k.csv"; sleep 0.05; done) &
feeder=$!

# copies while the feeds go in
copies=0 bad=""
for b in 1 2 3 4 5 6; do
    if "$FW_BIN" backup -c "$T/fundwatch.yaml" "$T/b$b.db" >>"$T/backup.out" 2>&1; then
        copies=$((copies + 1))
    else
        bad="$bad b$b"
    fi
    sleep 0.2
done
wait "$feeder"
check "6 copies while 40 feeds arrive, each exit 0 ($copies)" eval '[ "$copies" = 6 ] || { cat "$T/backup.out"; false; }'
check "each says what it copied" grep -q "b1.db: a copy of .*fundwatch.db as of one commit, checked: [0-9]* findings, [0-9]* feeds" "$T/backup.out"
consistent() { # a copy is one commit's state
    local db=$1
    [ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] &&
    [ -z "$(sqlite3 "$db" 'PRAGMA foreign_key_check')" ] &&
    [ "$(sqlite3 "$db" 'SELECT count(*) FROM outbox WHERE fid NOT IN (SELECT fid FROM findings)')" = 0 ] &&
    [ "$(sqlite3 "$db" 'SELECT count(*) FROM findings WHERE last_feed NOT IN (SELECT id FROM feeds)')" = 0 ] &&
    [ "$(sqlite3 "$db" 'SELECT count(*) = coalesce(max(seq), 0) FROM outbox')" = 1 ] &&
    [ "$(sqlite3 "$db" 'PRAGMA journal_mode')" = delete ]
}
all_ok=1
for b in 1 2 3 4 5 6; do consistent "$T/b$b.db" || { all_ok=0; echo "# b$b.db is not consistent"; }; done
check "every copy passes sqlite3's integrity and foreign-key checks, one file each" [ "$all_ok" = 1 ]
f1=$(sqlite3 "$T/b1.db" "SELECT count(*) FROM feeds"); f6=$(sqlite3 "$T/b6.db" "SELECT count(*) FROM feeds")
check "the copies were taken while the feeds went in (feeds $f1 then $f6)" [ "$f1" -lt "$f6" ]
check "no temporary file is left" eval '[ -z "$(ls "$T" | grep "\.tmp")" ]'
check "copies are readable by their owner only" [ "$(stat -c %a "$T/b6.db")" = 600 ]
wait_for 20 incoming_empty
all=$(sql "SELECT count(*) FROM findings")

# ---- refusals ----------------------------------------------------------------
out() { "$FW_BIN" backup "$@" >"$T/out" 2>&1; echo $? >"$T/rc"; }
said() { [ "$(cat "$T/rc")" = "$1" ] && grep -q -- "$2" "$T/out" || { cat "$T/out"; false; }; }
out -c "$T/fundwatch.yaml" "$T/b1.db"
check "over an existing file: exit 2, refused" said 2 "b1.db: exists; a backup never overwrites a file: give a new name"
out -c "$T/fundwatch.yaml"
check "no file given: exit 2" said 2 "fundwatch backup: give the file to write"
out -c "$T/fundwatch.yaml" "$T/x.db" "$T/y.db"
check "two files: exit 2" said 2 "one file to write, not more"
out --colour "$T/x.db"
check "an unknown option: exit 2" said 2 "unrecognized option '--colour'"
touch "$T/z.db.tmp"
out -c "$T/fundwatch.yaml" "$T/z.db"
check "a leftover OUT.tmp: exit 2, named" said 2 "z.db.tmp: exists (a backup running, or one interrupted): remove it first"
out -c "$T/nope.yaml" "$T/x.db"
check "a config that is not there: exit 2" said 2 "nope.yaml: cannot open"
out -c "$T/fundwatch.yaml" "$T/no/such/x.db"
check "a folder that is not there: exit 2" said 2 "x.db.tmp: cannot create: No such file or directory"
mkdir -p "$T/other"
sed 's|^database: .*|database: '"$T"'/other/none.db|' "$T/fundwatch.yaml" >"$T/other.yaml"
out -c "$T/other.yaml" "$T/x.db"
check "a database that is not there: exit 2, nothing left" eval 'said 2 "none.db: opening the database" && [ ! -e "$T/x.db" ] && [ ! -e "$T/x.db.tmp" ]'
# a damaged store: a copy with a page of zeros in the middle of findings
cp "$T/b6.db" "$T/other/bad.db"
pages=$(sqlite3 "$T/other/bad.db" "PRAGMA page_count")
dd if=/dev/zero of="$T/other/bad.db" bs=4096 seek=$((pages / 2)) count=1 conv=notrunc status=none
sed 's|^database: .*|database: '"$T"'/other/bad.db|' "$T/fundwatch.yaml" >"$T/bad.yaml"
out -c "$T/bad.yaml" "$T/x.db"
check "a damaged store: exit 1, the copy removed" eval 'said 1 "fails its check, so the store itself needs a look" && [ ! -e "$T/x.db" ] && [ ! -e "$T/x.db.tmp" ]'

# ---- restore (docs/operations.md, "Backup and restore") -------------------------
"$FW_BIN" backup -c "$T/fundwatch.yaml" "$T/last.db" >/dev/null 2>&1
check "stopped by SIGTERM: exit 0" stop
rm -f "$T/fundwatch.db-wal" "$T/fundwatch.db-shm"
mv "$T/outbox.jsonl" "$T/outbox.jsonl.before-restore"
cp "$T/b3.db" "$T/fundwatch.db"
b3=$(sql "SELECT count(*) FROM findings")
start --now 2024-10-08 || fail "start on the restored copy"
feed 99 >"$T/f99.csv"; drop "$T/f99.csv"
wait_for 10 incoming_empty
check "the restored store runs: its $b3 findings and a new feed's" [ "$(sql "SELECT count(*) FROM findings")" -gt "$b3" ]
check "the new feed's findings reach the new outbox" wait_for 5 eval '[ "$(lines "$T/outbox.jsonl")" -gt 0 ]'
check "stopped: exit 0" stop
check "integrity ok after the restore" [ "$(sql 'PRAGMA integrity_check')" = ok ]
check "the latest copy holds every finding ($all)" [ "$(sqlite3 "$T/last.db" 'SELECT count(*) FROM findings')" = "$all" ]
done_testing
