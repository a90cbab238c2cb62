#!/usr/bin/env bash
# fundwatch report and GET /report.xlsx: the reference policies' findings of
# the examples, from replay's JSON lines, from the store of a running
# daemon and from its API, each read back by python3-openpyxl (sheets,
# Chinese headers, money cells that are numbers equal to the findings'
# amounts, red first, frozen header, filter) and converted to PDF by
# LibreOffice headless. Bad input names its error.
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3 # Debian's, where python3-openpyxl is
for c in curl; do
    command -v $c >/dev/null || { echo "not ok - $c is missing (make test installs it)"; exit 1; }
done
$PY -c 'import openpyxl' 2>/dev/null ||
    { echo "not ok - python3-openpyxl is missing (make test installs it)"; exit 1; }

cd "$FW_ROOT"
"$FW_BIN" replay --policies policies --now 2024-12-31 --columns examples/columns.yaml \
    examples/feeds/* >"$T/findings.jsonl" 2>/dev/null

# readback XLSX JSONL: checks the workbook against the findings it was
# made from; prints what differs, nothing when all is well.
readback() {
    $PY - "$1" "$2" <<'PY'
import json, sys
from decimal import Decimal
import openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
want = ['汇总', '预警', '收回建议', '评分', '运行问题']
if wb.sheetnames != want:
    print('sheets', wb.sheetnames)
fs = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
by_id = {f['id']: f for f in fs}
heads = {'预警': ('级别', '金额（元）', 8), '收回建议': ('区划代码', '建议收回金额（元）', 6),
         '评分': ('区划代码', '挂钩金额（元）', 8)}
kinds = {'预警': 'alert', '收回建议': 'clawback', '评分': 'score'}
for name, (first, money_head, money_col) in heads.items():
    ws = wb[name]
    if ws.freeze_panes != 'A3': print(name, 'freeze', ws.freeze_panes)
    if not ws.auto_filter.ref: print(name, 'no autofilter')
    if '生成于' not in str(ws['A1'].value): print(name, 'title', ws['A1'].value)
    hdr = [c.value for c in ws[2]]
    if hdr[0] != first or hdr[money_col] != money_head: print(name, 'headers', hdr)
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    n = sum(1 for f in fs if f['kind'] == kinds[name])
    if len(rows) != n: print(name, 'rows', len(rows), 'want', n)
    for r in rows:
        f = by_id.get(r[-1])
        if f is None: print(name, 'unknown id', r[-1]); continue
        v = r[money_col]
        if 'amount' in f:
            if not isinstance(v, (int, float)):
                print(name, 'money is not a number', repr(v)); continue
            if Decimal(repr(v)).quantize(Decimal('0.01')) != Decimal(f['amount']):
                print(name, 'amount', v, 'want', f['amount'])
        elif v is not None:
            print(name, 'amount where there is none', v)
    if name == '预警':
        order = {'红灯': 0, '黄灯': 1, '提示': 2}
        lv = [order[r[0]] for r in rows]
        if lv != sorted(lv): print('预警 not red first')
        if rows and rows[0][7] is not None and not hasattr(rows[0][7], 'year'):
            print('数据日期 is not a date', repr(rows[0][7]))
s = wb['汇总']
tot = [r for r in s.iter_rows(min_row=3, values_only=True) if r[0] == '合计']
if len(tot) != 1: print('汇总: no 合计 row')
else:
    t = tot[0]
    red = sum(1 for f in fs if f['kind'] == 'alert' and f.get('level') == 'red')
    claw = sum(Decimal(f['amount']) for f in fs if f['kind'] == 'clawback' and 'amount' in f)
    if t[2] != red: print('汇总 red', t[2], 'want', red)
    if Decimal(repr(t[6])).quantize(Decimal('0.01')) != claw: print('汇总 clawback', t[6], 'want', claw)
PY
}

"$FW_BIN" report --findings "$T/findings.jsonl" -o "$T/replay.xlsx" 2>"$T/err"
check "report from replay's lines: exit 0" [ $? -eq 0 ]
check "it says how many it wrote" grep -q "report: $(wc -l <"$T/findings.jsonl") findings written to" "$T/err"
check "the workbook reads back right (openpyxl)" eval '[ -z "$(readback "$T/replay.xlsx" "$T/findings.jsonl" | tee "$T/diff")" ] || { sed "s/^/#   /" "$T/diff"; false; }'

grep '"region":"50' "$T/findings.jsonl" >"$T/cq.jsonl"
"$FW_BIN" report --findings "$T/findings.jsonl" --region 50 -o "$T/cq.xlsx" 2>/dev/null
check "--region 50 keeps Chongqing only" eval '[ -z "$(readback "$T/cq.xlsx" "$T/cq.jsonl")" ]'

if command -v soffice >/dev/null; then
    (cd "$T" && HOME="$T" timeout 120 soffice --headless --convert-to pdf replay.xlsx >/dev/null 2>&1)
    check "LibreOffice converts it to PDF" [ -s "$T/replay.pdf" ]
else
    fail "LibreOffice (soffice) is missing (make test installs libreoffice-calc-nogui)"
fi

# ---- bad input ----------------------------------------------------------------
{ head -1 "$T/findings.jsonl"; echo '{"id":"x","kind":"alert"}'; echo '{"id": 1,}'; } >"$T/bad.jsonl"
"$FW_BIN" report --findings "$T/bad.jsonl" -o "$T/bad.xlsx" 2>"$T/err"; rc=$?
check "a bad line: exit 1, the rest written" eval '[ $rc -eq 1 ] && [ -s "$T/bad.xlsx" ]'
check "it names the line: not a finding" grep -q "bad.jsonl:2: not a finding: \"id\" or \"kind\" missing or wrong" "$T/err"
check "and a line that is not strict JSON" grep -q "bad.jsonl:3: not a finding: not one strict JSON object" "$T/err"
LC_ALL=zh_CN.UTF-8 "$FW_BIN" report --findings "$T/bad.jsonl" -o "$T/bad.xlsx" 2>"$T/err"
check "in Chinese under a zh locale" grep -q "bad.jsonl:2: 不是发现结果" "$T/err"
"$FW_BIN" report --findings "$T/findings.jsonl" 2>"$T/err"; rc=$?
check "no -o: usage error 2 naming it" eval '[ $rc -eq 2 ] && grep -q "no workbook to write: -o FILE.xlsx" "$T/err"'
"$FW_BIN" report -o "$T/x.xlsx" 2>"$T/err"; rc=$?
check "neither -c nor --findings: 2" eval '[ $rc -eq 2 ] && grep -q "give either -c CONFIG" "$T/err"'
"$FW_BIN" report --findings "$T/findings.jsonl" -o "$T/nodir/x.xlsx" 2>"$T/err"; rc=$?
check "an unwritable output: 2 with the path" eval '[ $rc -eq 2 ] && grep -q "nodir/x.xlsx" "$T/err"'
"$FW_BIN" report --findings "$T/nope.jsonl" -o "$T/x.xlsx" 2>"$T/err"; rc=$?
check "a missing --findings file: 2" eval '[ $rc -eq 2 ] && grep -q "nope.jsonl: No such file" "$T/err"'
"$FW_BIN" report --findings "$T/findings.jsonl" --state maybe -o "$T/x.xlsx" 2>"$T/err"; rc=$?
check "a bad --state: 2" eval '[ $rc -eq 2 ] && grep -q "open, resolved or all" "$T/err"'

# ---- from the store of a running daemon, and from its API ----------------------------
PORT=$(free_port)
READ=read-token-0123456789abcdef
setup "$FW_ROOT/policies" "listen: 127.0.0.1:$PORT
read_token: $READ
columns: $FW_ROOT/examples/columns.yaml"
for f in examples/feeds/*; do drop "$f"; done
start --now 2024-12-31 || { fail "start"; done_testing; exit 1; }
check "the daemon takes the examples" wait_for 20 eval '[ "$(grep -c "\"event\":\"opened\"" "$T/outbox.jsonl")" = "$(lines "$T/findings.jsonl")" ]'
grep '"event":"opened"' "$T/outbox.jsonl" >"$T/opened.jsonl" # not the resolutions
"$FW_BIN" report -c "$T/fundwatch.yaml" -o "$T/store.xlsx" 2>"$T/err"
check "report -c while the daemon runs: exit 0" [ $? -eq 0 ]
check "the store's workbook reads back right" eval '[ -z "$(readback "$T/store.xlsx" "$T/opened.jsonl")" ]'
n_open=$($PY -c "import openpyxl; ws=openpyxl.load_workbook('$T/store.xlsx')['预警']; print(sum(1 for r in ws.iter_rows(min_row=3, values_only=True) if r[10]=='未解除'))")
check "states are shown (未解除)" [ "$n_open" -gt 0 ]
code=$(curl -s -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$PORT/report.xlsx?region=50")
check "GET /report.xlsx without a token: 401" [ "$code" = 401 ]
code=$(curl -s -o "$T/api.xlsx" -w '%{http_code} %{content_type}' -H "Authorization: Bearer $READ" "http://127.0.0.1:$PORT/report.xlsx?region=50")
check "GET /report.xlsx?region=50: 200, an xlsx" [ "$code" = "200 application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" ]
grep '"region":"50' "$T/opened.jsonl" >"$T/cq-store.jsonl"
check "it holds Chongqing's findings" eval '[ -z "$(readback "$T/api.xlsx" "$T/cq-store.jsonl")" ]'
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $READ" "http://127.0.0.1:$PORT/report.xlsx?from=yesterday")
check "GET /report.xlsx?from=yesterday: 400" eval '[ "$code" = 400 ] && grep -q "expected a date" "$T/body"'
stop
done_testing
