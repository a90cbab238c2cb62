# examples/fundwatch.yaml → the installed /etc/fundwatch/fundwatch.yaml: the
# state in /var/lib/fundwatch (systemd's StateDirectory), the policies, the
# column map and the token file beside the config. The Makefile checks that
# all six lines were found.
s|^spool: spool$|spool: /var/lib/fundwatch/spool|
s|^policies: policies$|policies: @SYSCONFDIR@/fundwatch/policies|
s|^database: fundwatch.db$|database: /var/lib/fundwatch/fundwatch.db|
s|^outbox: outbox.jsonl$|outbox: /var/lib/fundwatch/outbox.jsonl|
s|^columns: columns.yaml$|columns: @SYSCONFDIR@/fundwatch/columns.yaml|
s|^token: .*$|token_file: @SYSCONFDIR@/fundwatch/token|
# No read token is shipped: the write token (the token file) reads too; a
# site that wants a read-only one writes it into a file and names it here.
s|^read_token: .*$|# read_token_file: @SYSCONFDIR@/fundwatch/read-token|
