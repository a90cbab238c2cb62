#!/usr/bin/env bash
# The daemon over the shipped examples (what `make run` does): the reference
# policies, the column map and every example feed dropped into the spool
# give exactly the findings of examples/expected.jsonl (replay's golden), each
# once in the outbox and in the store.
. "$(dirname "$0")/lib.bash"
setup "$FW_ROOT/policies" "columns: columns.yaml"
cp "$FW_ROOT/examples/columns.yaml" "$T/"
start --now 2024-12-31 || { fail "start"; done_testing; exit 1; }
n_feeds=$(ls "$FW_ROOT/examples/feeds" | wc -l)
for f in "$FW_ROOT"/examples/feeds/*; do drop "$f"; done
check "all $n_feeds example feeds are done" wait_for 20 eval '[ "$(ls "$T/spool/done" | wc -l)" -eq $n_feeds ]'
want=$(lines "$FW_ROOT/examples/expected.jsonl")
wait_for 5 eval '[ "$(grep -c "\"event\":\"opened\"" "$T/outbox.jsonl")" -ge $want ]'
grep -o '"id":"[0-9a-f]*"' "$FW_ROOT/examples/expected.jsonl" | sort >"$T/want.ids"
grep '"event":"opened"' "$T/outbox.jsonl" | grep -o '"id":"[0-9a-f]*"' | sort >"$T/got.ids"
check "the outbox holds the $want findings of examples/expected.jsonl, opened once each" cmp -s "$T/want.ids" "$T/got.ids"
resolved=$(sql "SELECT count(*) FROM findings WHERE state = 1")
check "each of the $resolved resolutions once, as a resolved event" eval '[ "$resolved" -gt 0 ] &&
    [ "$(grep "\"event\":\"resolved\"" "$T/outbox.jsonl" | grep -o "\"id\":\"[0-9a-f]*\"" | sort -u | wc -l)" -eq "$resolved" ] &&
    [ "$(grep -c "\"event\":\"resolved\"" "$T/outbox.jsonl")" -eq "$resolved" ]'
check "and nothing else: every line is an opened or a resolved event" \
    [ "$(lines "$T/outbox.jsonl")" -eq $((want + resolved)) ]
check "every rule of the reference policies fired" \
    [ "$(grep -o '"rule":"[a-z0-9_]*"' "$T/outbox.jsonl" | sort -u | wc -l)" -eq 14 ]
check "the store agrees" [ "$(sql 'SELECT count(*) FROM findings')" -eq "$want" ]
stop TERM
check "it stops with 0" [ $? -eq 0 ]
done_testing
