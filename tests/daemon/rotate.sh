#!/usr/bin/env bash
# The outbox rotated while a real daemon runs: moved away, then SIGUSR1; the
# moved file ends with every event committed before the signal, the new one
# (created by the daemon, 0640) gets the later ones, and every event is in
# exactly one file, once, in order: also when the daemon is killed between
# writing lines to the new file and marking them (the repair counts in the
# new file from its own start, not from where the old one ended), and with
# the package's logrotate snippet run by logrotate itself. SIGUSR1 with
# nothing moved writes on to the same file; SIGHUP still only reloads. A file
# moved away while the daemon is stopped, even right after a kill between a
# write and its mark, is found again: nothing lost, nothing twice.
. "$(dirname "$0")/lib.bash"
demo=$FW_ROOT/examples/policies/feeds/demo.csv
# every outbox line of every file, oldest file first
all_lines() { for f in "$@"; do case $f in *.gz) zcat "$f" ;; *) cat "$f" ;; esac; done; }
seq_max() { sql "SELECT coalesce(max(seq), 0) FROM outbox"; }
marked() { sql "SELECT coalesce((SELECT value FROM meta WHERE key = 'outbox_marked'), 0)"; }
bytes() { sql "SELECT coalesce((SELECT value FROM meta WHERE key = 'outbox_bytes'), 0)"; }
# the ids and events of the files, in order, against the store's events
same_as_store() {
    all_lines "$@" | sed 's/^{"event":"\([a-z]*\)","id":"\([0-9a-f]*\)".*/\2 \1/' >"$T/got"
    sql "SELECT lower(hex(f.id)) || ' ' || CASE o.event WHEN 0 THEN 'opened' WHEN 1 THEN 'reopened'
           WHEN 2 THEN 'resolved' ELSE 'acknowledged' END FROM outbox o JOIN findings f ON f.fid = o.fid
         ORDER BY o.seq" >"$T/want"
    cmp -s "$T/got" "$T/want"
}
fixed() { # the Beijing projects catch up: their alerts are resolved
    sed -n '1,4p' "$demo" | sed 's/,"1,000,000.00",[0-9.]*,/,"1,000,000.00",1000000.00,/; s/,"2,000,000.00",[0-9.]*,/,"2,000,000.00",2000000.00,/'
}

setup
start --now 2024-10-08 || { fail "start"; done_testing; exit 1; }
drop "$demo"
wait_for 10 eval '[ "$(lines "$T/outbox.jsonl")" = 6 ]'

# ---- moved away, SIGUSR1 -----------------------------------------------------
mv "$T/outbox.jsonl" "$T/outbox.jsonl.1"
kill -USR1 "$PID"
check "SIGUSR1: the log says the outbox was reopened" wait_for 10 grep -q "info outbox SIGUSR1: $T/outbox.jsonl reopened: a new file from here on" "$T/log"
check "the daemon made the new file, mode 0640" eval '[ "$(stat -c %a "$T/outbox.jsonl")" = 640 ] && [ "$(lines "$T/outbox.jsonl")" = 0 ]'
check "the mark records the new file's length (0)" [ "$(bytes)" = 0 ]
fixed >"$T/fixed.csv"; drop "$T/fixed.csv"
check "later events go to the new file" wait_for 10 eval '[ "$(lines "$T/outbox.jsonl")" = 2 ]'
check "the moved file keeps the six before" [ "$(lines "$T/outbox.jsonl.1")" = 6 ]
check "the mark records the new file's length" [ "$(bytes)" = "$(stat -c %s "$T/outbox.jsonl")" ]
check "each event once, in order, across the two files" same_as_store "$T/outbox.jsonl.1" "$T/outbox.jsonl"
kill -USR1 "$PID"
check "SIGUSR1 with nothing moved: the same file goes on" wait_for 10 grep -q "info outbox SIGUSR1: $T/outbox.jsonl was not moved away: writing on to the same file" "$T/log"
check "and nothing else happened: no reload" [ "$(grep -c "info reload" "$T/log")" = 0 ]
check "SIGHUP still reloads, and reopens nothing" eval 'kill -HUP "$PID" && wait_for 10 grep -q "info reload" "$T/log" && [ "$(grep -c "info outbox SIGUSR1" "$T/log")" = 2 ]'
check "SIGTERM: exit 0" stop

# ---- a crash between writing to the new file and marking ---------------------
# The new file is shorter than the old one was: a repair that measured from
# the old file's end would take the unmarked lines as missing and write them
# twice.
# The same run rotates and then dies (the fault hook fires only once lines
# are written).
FW_FAULT=outbox-written start --now 2024-10-08
mv "$T/outbox.jsonl" "$T/outbox.jsonl.2"
kill -USR1 "$PID"
wait_for 10 eval '[ "$(grep -c "reopened: a new file" "$T/log")" = 2 ]'
check "after the second rotation the mark is at 0 again" [ "$(bytes)" = 0 ]
sed -n '1p;4p' "$demo" >"$T/red.csv"; drop "$T/red.csv"   # reopens 110101240003
wait "$PID"; PID=""
check "the fault hook killed it between the write and the mark" \
    eval '[ "$(lines "$T/outbox.jsonl")" -ge 1 ] && [ "$(marked)" -lt "$(seq_max)" ]'
start --now 2024-10-08
check "the restart writes nothing twice" [ "$(lines "$T/outbox.jsonl")" = 1 ]
check "and marks what the new file holds" eval '[ "$(marked)" = "$(seq_max)" ] && [ "$(bytes)" = "$(stat -c %s "$T/outbox.jsonl")" ]'
check "each event once, in order, across the three files" same_as_store "$T/outbox.jsonl.1" "$T/outbox.jsonl.2" "$T/outbox.jsonl"
check "SIGTERM: exit 0" stop

# ---- killed between the write and the mark, then moved away while stopped -----
# The lines written and not marked are in the moved file: the start finds it
# beside the path by the identity recorded with the mark and counts them
# there, instead of writing them again to the new file.
FW_FAULT=outbox-written start --now 2024-10-08
{ fixed; echo; } >"$T/fixed3.csv"; drop "$T/fixed3.csv"     # resolves 110101240003 again
wait "$PID"; PID=""
check "killed between the write and the mark" eval '[ "$(marked)" -lt "$(seq_max)" ]'
mv "$T/outbox.jsonl" "$T/outbox.jsonl.3"
start --now 2024-10-08
check "the start writes nothing again to the new file" eval '[ "$(lines "$T/outbox.jsonl")" = 0 ] && [ "$(marked)" = "$(seq_max)" ]'
check "each event once, in order, across the four files" same_as_store "$T/outbox.jsonl.1" "$T/outbox.jsonl.2" "$T/outbox.jsonl.3" "$T/outbox.jsonl"
check "SIGTERM: exit 0" stop
# moved away while stopped, no crash: nothing lost, nothing twice
mv "$T/outbox.jsonl" "$T/outbox.jsonl.4"
start --now 2024-10-08
sed -n '1p;4p' "$demo" | sed 's/2024-06-30/2024-07-01/' >"$T/red2.csv"; drop "$T/red2.csv"
check "moved while stopped: the later events go to the new file" wait_for 10 eval '[ "$(lines "$T/outbox.jsonl")" -ge 1 ] && [ "$(marked)" = "$(seq_max)" ]'
check "each event once, in order, across the five files" same_as_store "$T/outbox.jsonl.1" "$T/outbox.jsonl.2" "$T/outbox.jsonl.3" "$T/outbox.jsonl.4" "$T/outbox.jsonl"
check "SIGTERM: exit 0" stop

# ---- the package's logrotate snippet, run by logrotate --------------------------
if ! command -v logrotate >/dev/null && [ ! -x /usr/sbin/logrotate ]; then
    fail "logrotate is missing (make test installs it)"; done_testing; exit 1
fi
LR=$(command -v logrotate || echo /usr/sbin/logrotate)
rm -rf "$T/spool" "$T"/fundwatch.db* "$T"/outbox.jsonl*
setup
start --now 2024-10-08
drop "$demo"
wait_for 10 eval '[ "$(lines "$T/outbox.jsonl")" = 6 ]'
# the shipped file with this test's path, user and process
sed -e "s|/var/lib/fundwatch/outbox.jsonl|$T/outbox.jsonl|" \
    -e "s|su fundwatch fundwatch|su $(id -un) $(id -gn)|" \
    -e "s|pid=\$(systemctl .*|pid=$PID|" "$FW_ROOT/debian/fundwatch.logrotate" >"$T/logrotate.conf"
check "the snippet's postrotate signals the service's main process, SIGUSR1" \
    grep -q 'kill -USR1 "$pid"' "$FW_ROOT/debian/fundwatch.logrotate"
"$LR" -f -s "$T/logrotate.state" "$T/logrotate.conf" 2>"$T/lr.err"
check "logrotate -f rotates it: outbox.jsonl.1" eval '[ "$(lines "$T/outbox.jsonl.1")" = 6 ] && [ ! -s "$T/lr.err" ]'
check "and the daemon reopened" wait_for 10 grep -q "reopened: a new file" "$T/log"
fixed >"$T/fixed.csv"; drop "$T/fixed.csv"
wait_for 10 eval '[ "$(lines "$T/outbox.jsonl")" = 2 ]'
"$LR" -f -s "$T/logrotate.state" "$T/logrotate.conf" 2>>"$T/lr.err"
check "a second rotation: .1 compressed to .2.gz (delaycompress), the new .1" \
    eval 'test -f "$T/outbox.jsonl.2.gz" && [ "$(lines "$T/outbox.jsonl.1")" = 2 ] && [ ! -s "$T/lr.err" ]'
wait_for 10 eval '[ "$(grep -c "reopened: a new file" "$T/log")" = 2 ]'
drop "$T/red.csv"
wait_for 10 eval '[ "$(lines "$T/outbox.jsonl")" = 1 ]'
check "each event once, in order, across the rotated files" same_as_store "$T/outbox.jsonl.2.gz" "$T/outbox.jsonl.1" "$T/outbox.jsonl"
check "SIGTERM: exit 0" stop
[ -s "$T/lr.err" ] && sed 's/^/# logrotate: /' "$T/lr.err"
done_testing
