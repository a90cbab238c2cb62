#!/usr/bin/env bash
# The dashboard in a real browser: Debian's headless Chromium, driven over
# the DevTools protocol (tests/daemon/cdp.py), against a daemon holding the
# example feeds. The login page without a token; a wrong token refused; the
# right one logs in (an HttpOnly cookie); the overview's counts equal the
# store's (sqlite3); the list shows red first; a region's filter and its
# report download; a red finding's evidence with its thresholds' YAML lines;
# the rules of a region; logout; a refused reload shown in the overview's
# red band. Any console error, exception or failed
# request fails the test. Screenshots of each page go to $FW_SHOTS (make
# test: build/dashboard/), else to the test's temporary folder. Then
# public_read: true opens the pages and the reads without a token.
. "$(dirname "$0")/lib.bash"
CHROMIUM=${FW_CHROMIUM:-/usr/lib/chromium/chromium}
[ -x "$CHROMIUM" ] || { echo "not ok - $CHROMIUM is missing (make test installs the chromium package)"; exit 1; }
for c in curl python3; do
    command -v $c >/dev/null || { echo "not ok - $c is missing (make test installs it)"; exit 1; }
done
READ=read-token-0123456789abcdef
TOKEN=write-token-0123456789abcdef
PORT=$(free_port)
U=http://127.0.0.1:$PORT
SHOTS=${FW_SHOTS:-$T/shots}
mkdir -p "$SHOTS"
setup "$FW_ROOT/policies" "listen: 127.0.0.1:$PORT
token: $TOKEN
read_token: $READ
columns: $FW_ROOT/examples/columns.yaml"
for f in "$FW_ROOT"/examples/feeds/*; do drop "$f"; done
start --now 2024-12-31 || { fail "start"; done_testing; exit 1; }
want=$(lines "$FW_ROOT/examples/expected.jsonl")
check "the daemon takes the example feeds ($want findings)" \
    wait_for 30 eval 'incoming_empty && [ "$(lines "$T/outbox.jsonl")" -ge "$want" ]'

python3 "$FW_ROOT/tests/daemon/cdp.py" "$CHROMIUM" "$U" "$READ" "$SHOTS" >"$T/cdp.out" 2>&1
val() { grep "^$1=" "$T/cdp.out" | head -1 | cut -d= -f2-; }
check "the browser walked every page" eval '! grep -q "^fatal=" "$T/cdp.out"'
grep "^fatal=" "$T/cdp.out" | sed 's/^/#   /'

# ---- the login --------------------------------------------------------------------
check "without a token / is the Chinese login page" eval '[[ "$(val login_title)" == 登录* ]]'
check "and shows none of the data" [ "$(val login_has_data)" = False ]
check "a wrong token: the form again, saying so" [ "$(val wrong_login_message)" = "口令不正确,请重新输入。" ]
check "the session cookie is HttpOnly (not visible to scripts)" [ "$(val cookie_visible_to_js)" = False ]
check "failed logins are logged with the address" grep -q "warn http failed login from 127.0.0.1" "$T/log"

# ---- the overview equals the store --------------------------------------------------
open_n() { sql "SELECT count(*) FROM findings_v WHERE state = 'open' $1"; }
check "红灯 = the store's open red alerts" [ "$(val card_red)" = "$(open_n "AND kind = 'alert' AND level = 'red'")" ]
check "黄灯 = the store's open yellow alerts" [ "$(val card_yellow)" = "$(open_n "AND kind = 'alert' AND level = 'yellow'")" ]
check "提示 = the store's open info alerts" [ "$(val card_info)" = "$(open_n "AND kind = 'alert' AND level = 'info'")" ]
check "收回建议 = the store's open clawbacks" [ "$(val card_clawback)" = "$(open_n "AND kind = 'clawback'")" ]
check "绩效评分 = the store's open scores" [ "$(val card_score)" = "$(open_n "AND kind = 'score'")" ]
check "运行问题 = the store's open error and ops findings" [ "$(val card_problem)" = "$(open_n "AND kind IN ('error', 'ops')")" ]
check "未解除合计 = every open finding" [ "$(val card_total)" = "$(open_n "")" ]
check "a row per region with open alerts or clawbacks" [ "$(val regions)" = "$(sql "SELECT count(DISTINCT region) FROM findings_v WHERE state = 'open' AND kind IN ('alert', 'clawback')")" ]
check "no alarm while reloads and feeds are fine" [ "$(val alarm_hidden)" = True ]
# the money of the overview, from the store's fen
claw=$(sql "SELECT printf('%d.%02d', sum(amount_fen) / 100, sum(amount_fen) % 100) FROM findings_v WHERE state = 'open' AND kind = 'clawback'")
check "the clawback total in 元 is the store's sum ($claw)" eval 'curl -s -H "Authorization: Bearer $READ" "$U/summary" | grep -q "\"clawback\":\"$claw\""'

# ---- the list ------------------------------------------------------------------------
levels=$(val list_levels)
rank() { tr ',' '\n' | sed 's/^red$/0/; s/^yellow$/1/; s/^info$/2/; s/^clawback$/3/; s/^score$/4/; s/^error$/5/; s/^ops$/6/'; }
check "the list shows red first, then yellow, info and the other kinds" eval '[ -n "$levels" ] && [ "$(rank <<<"$levels")" = "$(rank <<<"$levels" | sort -n)" ] && [[ $levels == red,* ]]'
check "filtered by region 500103: as many rows as the store's open findings there" [ "$(val region_rows)" = "$(open_n "AND region LIKE '500103%'")" ]
check "the download button carries the filter" [ "$(val download_href)" = "/report.xlsx?region=500103&state=open" ]
check "and gives the workbook (200, xlsx, a zip)" eval '[[ "$(val report)" == "200 application/vnd.openxmlformats-officedocument.spreadsheetml.sheet "*" PK" ]]'

# ---- a finding, the rules, logout -----------------------------------------------------
check "a red finding's page opens from the list" eval '[[ "$(val finding_hash)" == "#/finding/"* ]] && [ "$(val finding_badge)" = 红灯 ]'
check "its evidence: the figures and the thresholds with their YAML line" eval 'val evidence_text | grep -q "序时进度" && val evidence_text | grep -q "red_yellow.yaml:[0-9]"'
check "the place for acknowledging is there, marked as not yet available" [ "$(val ack_placeholder)" = True ]
check "the rules of 500103: the governing policies, a replaced rule marked" eval '[ "$(val rules_panels)" -ge 3 ] && [ "$(val rules_replaced)" -ge 1 ]'
check "logout: the login page again, and reads closed" eval '[ "$(val after_logout_login)" = True ] && [ "$(val after_logout_findings)" = 401 ]'
check "no console error, exception or failed request" eval '! grep -q "^error=" "$T/cdp.out"'
grep "^error=" "$T/cdp.out" | sed 's/^/#   /'
for p in login overview list finding rules; do
    check "screenshot $p.png" eval '[ "$(head -c 4 "$SHOTS/$p.png" | tail -c 3)" = PNG ]'
done
echo "# time from login to the rendered overview: $(val login_to_overview_ms) ms; a fresh load of the overview: $(val overview_render_ms) ms"
echo "# bytes the app loaded: $(val transfer)"

# ---- a refused reload, loudly ------------------------------------------------------------
printf 'return policy {\n  id = "oops",\n' >"$T/policies/cn/oops.lua"
check "a broken policy edit is refused" wait_for 10 eval 'curl -s "$U/healthz" | grep -q "\"last_reload\":{\"ok\":false"'
python3 "$FW_ROOT/tests/daemon/cdp.py" "$CHROMIUM" "$U" "$READ" "$SHOTS" alarm >"$T/cdp.out" 2>&1
check "the overview shows it in the red band, with the file" eval '[ "$(val alarm_hidden)" = False ] && val alarm_text | grep -q "规则更新被拒绝" && val alarm_text | grep -q "oops.lua"'
check "no console error in that walk either" eval '! grep -q "^\(error\|fatal\)=" "$T/cdp.out"'
grep "^\(error\|fatal\)=" "$T/cdp.out" | sed 's/^/#   /'
rm "$T/policies/cn/oops.lua"
stop

# ---- public_read: true --------------------------------------------------------------------
echo "public_read: true" >>"$T/fundwatch.yaml"
start --now 2024-12-31 || { fail "restart"; done_testing; exit 1; }
check "public_read: / is the app without a token" eval 'curl -s "$U/" | grep -q "/dash/app.js"'
check "and /findings reads without a token" [ "$(curl -s -o /dev/null -w '%{http_code}' "$U/findings")" = 200 ]
check "POST still needs the write token" [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/reload")" = 401 ]
stop
done_testing
