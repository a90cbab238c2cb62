#!/usr/bin/env bash
# Excel workbooks and printed exports, through the real binary: fixtures made
# by real spreadsheet software (openpyxl writes the edge cases, LibreOffice
# headless converts to .xlsx and .xls and computes formulas), the same records
# from a CSV, an .xlsx and an .xls (a differential test), the layout of a
# printed export (title rows, unit line, two-row header, 合计/小计), every
# bad-workbook message, and a workbook dropped into the daemon's spool.
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3 # Debian's, with python3-openpyxl
F=$T/fx
mkdir -p "$F/lo"
if ! "$PY" "$FW_ROOT/tests/workbooks/make_fixtures.py" "$F" 2>"$T/py.err"; then
    fail "openpyxl writes the fixtures: $(tail -1 "$T/py.err")"
    done_testing
    exit 1
fi
ok "openpyxl writes the fixtures"
# LibreOffice: the clean CSV as .xlsx and .xls, the printed export as .xls
# and as the CSV it prints, the formula total with its value computed.
lo() { # lo FORMAT FILE...
    local f=$1; shift
    HOME=$T/lohome timeout 120 soffice --headless --infilter="CSV:44,34,76,1" \
        --convert-to "$f" --outdir "$F/lo" "$@" >>"$T/lo.log" 2>&1
}
lo xlsx "$F/clean.csv" && lo xls "$F/clean.csv" "$F/export.xlsx" &&
    lo xlsx "$F/formula_total.xlsx" && lo csv "$F/export.xlsx"
check "LibreOffice converts the fixtures" test -s "$F/lo/clean.xls" -a -s "$F/lo/export.xls" \
    -a -s "$F/lo/formula_total.xlsx" -a -s "$F/lo/export.csv" -a -s "$F/lo/clean.xlsx"

records() { "$FW_BIN" records "$@"; }
not() { ! "$@"; }
bare() { sed 's/,"source".*//' "$1"; } # a record without its source

# ---- the same records, however they come --------------------------------
cd "$F" || exit 1
records clean.csv >"$T/csv.out" 2>/dev/null
check "the clean CSV gives 4 records" [ "$(lines "$T/csv.out")" -eq 4 ]
for f in export.xlsx shared.xlsx lo/clean.xlsx lo/clean.xls lo/export.xls lo/export.csv; do
    records "$f" >"$T/got.out" 2>"$T/got.err"
    check "$f: exactly the records of the clean CSV" cmp -s <(bare "$T/csv.out") <(bare "$T/got.out")
done
check "a record's source is file.xlsx:Sheet with the sheet's own row" \
    grep -q '"source":{"feed":"export.xlsx:预算执行情况","line":6}' <(records export.xlsx 2>/dev/null)
check "the .xls names its sheet too" \
    grep -q '"source":{"feed":"lo/clean.xls:clean","line":2}' <(records lo/clean.xls 2>/dev/null)
check "15 significant digits: 0.30000000000000004 万元 is 3000.00 元" \
    grep -q '"project_name":"疫苗冷链","budget":"3000.00"' "$T/csv.out"

# ---- the printed layout is named in the summary ---------------------------
records -q export.xlsx 2>"$T/err"
check "export.xlsx exits 0" [ $? -eq 0 ]
check "title rows are counted" grep -q '^export.xlsx: 2 rows before the header (title, unit line) skipped$' "$T/err"
check "total rows agree, and the summary says so" \
    grep -q '^export.xlsx: 3 total rows (合计/小计), not records: 3 agree with the rows above them, 0 disagree, 0 not checked' "$T/err"
check "two header rows" grep -q '= 4 records + 0 rejects + 2 header + 0 blank$' "$T/err"
records -q lo/export.csv 2>"$T/err"
check "the same layout as CSV (LibreOffice's print of it)" \
    grep -q '^lo/export.csv: 3 total rows (合计/小计), not records: 3 agree' "$T/err"

records -q bad_total.xlsx 2>"$T/err"
check "a total that disagrees: exit 1" [ $? -eq 1 ]
check "... named with both figures" grep -q \
    "^bad_total.xlsx:预算执行情况:12: the 合计 row's 指标金额 1,915,381.9163 万元 disagrees with the sum of the rows above it, 1,915,380.9163 万元$" "$T/err"
LANG=zh_CN.UTF-8 LC_ALL= LANGUAGE= "$FW_BIN" records -q bad_total.xlsx 2>"$T/err"
check "... and in Chinese" grep -q \
    '^bad_total.xlsx:预算执行情况:12: 合计行的指标金额 1,915,381.9163 万元与明细之和 1,915,380.9163 万元不符$' "$T/err"
records -q formula_total.xlsx 2>"$T/err"
check "a formula total without a saved value is counted, not checked" \
    grep -q '2 agree with the rows above them, 0 disagree, 1 not checked' "$T/err"
records -q lo/formula_total.xlsx 2>"$T/err"
check "the same total with the value LibreOffice computed is checked" \
    grep -q '3 agree with the rows above them, 0 disagree, 0 not checked' "$T/err"

# ---- dates ---------------------------------------------------------------
check "the 1904 date system; a percent cell's fraction" grep -q '"as_of":"2024-09-30","goal_rate":35.50,"due":"1904-01-02"' <(records date1904.xlsx 2>/dev/null)
records -q leap.xlsx 2>"$T/err"
check "serial 60 is Excel's 29 Feb 1900" grep -q \
    "^leap.xlsx:Sheet:2: 数据日期: 1900-02-29, a day that never was (Excel's 1900 leap-year bug)$" "$T/err"
check "an integer in a date column as text says what it likely is" grep -q \
    '^leap.xlsx:Sheet:3: 完成日期 "45565": a number, not a date: an Excel date serial pasted as text? (45565 would be 2024-09-30)$' "$T/err"
check "a custom [\$-804] date format and 2024.9.30 as text are dates" \
    not grep -q 'leap.xlsx:Sheet:3: 数据日期\|leap.xlsx:Sheet:3: 截止日期' "$T/err"

# ---- sheets --------------------------------------------------------------
check "--sheet 2" grep -q '"feed":"sheets.xlsx:一季度"' <(records --sheet 2 sheets.xlsx 2>/dev/null)
check "--sheet NAME" grep -q '"feed":"sheets.xlsx:二季度"' <(records --sheet 二季度 sheets.xlsx 2>/dev/null)
records -q --sheet all sheets.xlsx 2>"$T/err"
check "--sheet all reads every data sheet" grep -q '= 5 records' "$T/err"
check "... and says which it skipped" grep -q '^sheets.xlsx: 1 sheets without a header row skipped$' "$T/err"
check "unrecognised columns are named, with a did-you-mean" grep -q \
    '^sheets.xlsx: unrecognised columns: 累计支付额 (did you mean 累计支付?); 项目名 (did you mean 项目名称?)$' "$T/err"
records -q --sheet nope sheets.xlsx 2>"$T/err"
check "a sheet that does not exist" grep -q '^sheets.xlsx: no sheet "nope" in the workbook (its sheets: 说明, 一季度, 二季度)$' "$T/err"
printf 'sheet: 一季度\n' >"$T/sheet.yaml"
check "sheet: in the column map" grep -q '"feed":"sheets.xlsx:一季度"' <(records -m "$T/sheet.yaml" sheets.xlsx 2>/dev/null)
records -q sheets.xlsx 2>"$T/err"
check "the first sheet by default, and no header found there is said" grep -q \
    '^sheets.xlsx:说明:1: not a feed: no column of the header names a known field (header: 本表由一体化系统导出)$' "$T/err"

# ---- cells that do not fit their column ------------------------------------
records -q cells.xlsx 2>"$T/err"
check "a date cell in a money column, a plain number in a date column, an error value, a value past the header" grep -q \
    '^cells.xlsx:Sheet:2: 指标金额 "2024-09-30": a date cell, not a value of this column; 数据日期 "45565": a number, not a date (the cell has no date format); 累计支付 "#DIV/0!": an Excel error value; a column "多出来的": a value right of the header'"'"'s last column$' "$T/err"
check "a formula without a saved value in a record" grep -q \
    '^cells.xlsx:Sheet:3: 指标金额: a formula without a saved value (open and save the workbook in Excel or LibreOffice)$' "$T/err"
printf 'max_unzipped: lots\n' >"$T/bad.yaml"
records -q -m "$T/bad.yaml" cells.xlsx 2>"$T/err"
check "max_unzipped that is no number" grep -q 'bad.yaml:1:15: max_unzipped is a number of MiB, 1 to 1048576$' "$T/err"
printf 'sheet: [a, b]\n' >"$T/bad.yaml"
records -q -m "$T/bad.yaml" cells.xlsx 2>"$T/err"
check "sheet: that is no name" grep -q "bad.yaml:1:8: sheet is a sheet's name, its number or all$" "$T/err"

# ---- bad workbooks --------------------------------------------------------
records -q dollars.xlsx 2>"$T/err"
check "a money column in an unknown unit is an error of the feed" grep -q \
    '^dollars.xlsx:Sheet:1: column 2 "指标金额（美元）" is a money column (budget) in a unit fundwatch does not know (元, 千元, 万元 or 亿元)$' "$T/err"
records -q cut.xlsx 2>"$T/err"
check "a zip cut short" grep -q '^cut.xlsx: not a readable workbook: Not a zip archive (a damaged .xlsx?)$' "$T/err"
records -q export-named.csv 2>"$T/err"
check "an .xlsx named .csv is read by its content" grep -q '= 4 records + 0 rejects + 2 header' "$T/err"
printf 'max_unzipped: 1\n' >"$T/small.yaml"
records -q -m "$T/small.yaml" big.xlsx 2>"$T/err"
check "a part larger than max_unzipped (a zip bomb) stops the feed" grep -q \
    '^big.xlsx: xl/worksheets/sheet1.xml unpacks to more than 1048576 bytes (a zip bomb?); max_unzipped in the column map raises the limit$' "$T/err"
records -q notbook.xlsx 2>"$T/err"
check "a zip that is no workbook" grep -q '^notbook.xlsx: a zip file but not an Excel workbook: it has no xl/workbook.xml$' "$T/err"
records -q badxml.xlsx 2>"$T/err"
check "a damaged sheet" grep -q '^badxml.xlsx: a damaged workbook: xl/worksheets/sheet1.xml:[0-9]*: mismatched tag$' "$T/err"
records -q locked.xlsx 2>"$T/err"
check "an encrypted workbook" grep -q '^locked.xlsx: an encrypted workbook: save it without a password$' "$T/err"
records -q cut.xls 2>"$T/err"
check "an .xls libfreexl cannot read" grep -q '^cut.xls: not a readable .xls workbook (libfreexl error -*[0-9]*: a damaged file?)$' "$T/err"
printf 'PK\003\004 not really a zip' >"$T/fake.xlsx"
records -q "$T/fake.xlsx" 2>"$T/err"
check "zip magic but no zip" grep -q 'fake.xlsx: not a readable workbook: ' "$T/err"

# ---- the daemon's spool and POST /feeds take a workbook -------------------
cd "$FW_ROOT" || exit 1
PORT=$(free_port)
setup "" "listen: 127.0.0.1:$PORT
token: workbooks-test-token-0123456789"
start --now 2024-12-31 || { fail "start"; done_testing; exit 1; }
wait_for 5 curl -sf "http://127.0.0.1:$PORT/healthz" -o /dev/null
curl -s -H "Authorization: Bearer workbooks-test-token-0123456789" --data-binary @"$F/shared.xlsx" \
    "http://127.0.0.1:$PORT/feeds?name=shared.xlsx" >"$T/body"
check "POST /feeds with an .xlsx body: done, 4 records" grep -q '"status":"done".*"records":4,"rejects":0' "$T/body"
curl -s -H "Authorization: Bearer workbooks-test-token-0123456789" --data-binary @"$F/lo/export.xls" \
    "http://127.0.0.1:$PORT/feeds?name=export.xls" >"$T/body"
check "POST /feeds with an .xls body: done, 4 records" grep -q '"status":"done".*"records":4,"rejects":0' "$T/body"
drop "$F/export.xlsx"
drop "$F/lo/clean.xls"
check "the workbooks leave incoming/ for done/" wait_for 15 eval \
    'test -f "$T/spool/done/export.xlsx" -a -f "$T/spool/done/clean.xls"'
check "their feed rows: done, 4 records each" \
    [ "$(sql "SELECT status, records, rejects FROM feeds WHERE name IN ('export.xlsx', 'clean.xls')")" = "$(printf 'done|4|0\ndone|4|0')" ]
drop "$F/bad_total.xlsx"
check "a disagreeing total in the spool: an ops finding of the feed, at its row, in both languages" wait_for 10 grep -q \
    '"kind":"ops",.*"rule":"feed_total_mismatch",.*"message":"合计行的指标金额 1,915,381.9163 万元与明细之和 1,915,380.9163 万元不符 — the 合计 row'"'"'s 指标金额 1,915,381.9163 万元 disagrees with the sum of the rows above it, 1,915,380.9163 万元".*"source":{"feed":"bad_total.xlsx:预算执行情况","line":12}' "$T/outbox.jsonl"
drop "$FW_ROOT/examples/feeds/yuzhong_500103_2024h1.csv"
check "the daemon's log names a feed's unrecognised columns" wait_for 10 \
    grep -q 'warn spool feed=yuzhong_500103_2024h1.csv: unrecognised columns: 经办人' "$T/log"
stop TERM
done_testing
