#!/usr/bin/env bash
# `make run`: the daemon in the foreground on a working folder made from
# examples/ the first time (config, column map, the reference policies, the
# example feeds in the spool) and kept afterwards, edits included; `make
# run-reset` removes it. Prints where to look before it starts and the
# first findings once they are in. FW_BIN, RUN_DIR, RUN_NOW come from make.
set -eu
: "${FW_BIN:?}" "${RUN_DIR:?}"
cd "$(dirname "$0")/.."
if [ -e "$RUN_DIR/fundwatch.yaml" ]; then
    echo "fundwatch: $RUN_DIR kept as you left it (policies, config, store);" \
         "make run-reset starts afresh"
else
    mkdir -p "$RUN_DIR/spool/incoming"
    cp examples/fundwatch.yaml examples/columns.yaml "$RUN_DIR/"
    cp -r policies "$RUN_DIR/policies"
    for f in examples/feeds/*; do
        b=$(basename "$f")
        cp "$f" "$RUN_DIR/spool/incoming/.$b" && mv "$RUN_DIR/spool/incoming/.$b" "$RUN_DIR/spool/incoming/$b"
    done
    echo "fundwatch: set up $RUN_DIR from examples/ with the example feeds in its spool"
fi
token=$(sed -n 's/^token: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$RUN_DIR/fundwatch.yaml")
rtoken=$(sed -n 's/^read_token: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$RUN_DIR/fundwatch.yaml")
listen=$(sed -n 's/^listen: *\([^ #]*\).*/\1/p' "$RUN_DIR/fundwatch.yaml")
listen=${listen:-127.0.0.1:9464}
cat <<MSG
  findings:  $RUN_DIR/outbox.jsonl (the store: $RUN_DIR/fundwatch.db)
  feeds:     rename files into $RUN_DIR/spool/incoming/
  policies:  edit $RUN_DIR/policies/ (reloaded after their tests pass)
  token:     ${token:-none (POST is refused)}; read token: ${rtoken:-none}
  dashboard: http://$listen/ (the read token)
  curl -s $listen/healthz
  curl -s -H 'Authorization: Bearer ${rtoken:-${token:-TOKEN}}' '$listen/findings?level=red&limit=5'
  curl -s -X POST -H 'Authorization: Bearer ${token:-TOKEN}' --data-binary @examples/feeds/yuzhong_500103_2024h1.csv '$listen/feeds?name=again.csv'
  Ctrl-C stops it (the current feed is finished first)
MSG
# the first findings, once the example feeds are through
out=$RUN_DIR/outbox.jsonl
before=$( [ -f "$out" ] && wc -l <"$out" || echo 0)
(for _ in $(seq 50); do
     sleep 0.2
     now=$( [ -f "$out" ] && wc -l <"$out" || echo 0)
     if [ "$now" -gt "$before" ]; then
         sleep 0.5
         # the outbox holds events: a finding opened, and later resolved
         new=$(tail -n +"$((before + 1))" "$out")
         opened=$(grep -c '^{"event":"opened"' <<<"$new")
         resolved=$(grep -c '^{"event":"resolved"' <<<"$new")
         echo "fundwatch: $opened new findings (and $resolved resolved) in $out; the first:"
         grep '^{"event":"opened"' <<<"$new" | head -3 |
             sed 's/.*"rule":"\([^"]*\)".*"region":"\([^"]*\)".*"message":"\([^"]*\)".*/  \1 \2: \3/'
         exit 0
     fi
 done) &
exec "$FW_BIN" run -c "$RUN_DIR/fundwatch.yaml" ${RUN_NOW:+--now "$RUN_NOW"}
