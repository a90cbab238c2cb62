#!/usr/bin/env bash
# Workbook benchmark: a 1,000,000-row .xlsx (12 columns, every text a shared
# string as Excel writes them, dates as styled serials), read by `fundwatch
# records --quiet` beside python3-openpyxl in read-only mode and xlsx2csv
# (Debian's) over the same file in the same run. Prints records/s, peak RSS
# and the ratios, and its figure for `make bench`'s table (tests/bench/
# lib.sh). FW_BIN is the binary (default: build/fundwatch); BENCH_XLSX_ROWS
# overrides the rows.
set -eu
. "$(dirname "$0")/lib.sh"
N=${BENCH_XLSX_ROWS:-1000000}
need=""
/usr/bin/python3 -c 'import openpyxl' 2>/dev/null || need="$need python3-openpyxl"
command -v xlsx2csv >/dev/null || need="$need xlsx2csv"
[ -x /usr/bin/time ] || need="$need time"
if [ -n "$need" ]; then
    echo "installing:$need"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# The workbook, written part by part (openpyxl would write inline strings).
/usr/bin/python3 - "$N" "$dir/book.xlsx" <<'PY'
import random, sys, zipfile
n, path = int(sys.argv[1]), sys.argv[2]
random.seed(1)
names = ["重庆市渝中区教育委员会", "富锦市农业农村局", "柳州市城中区住房和城乡建设局",
         "洛阳高新技术产业开发区管理委员会科技局", "重庆市渝中区卫生健康委员会"]
projects = ["学校校舍维修改造", "高标准农田建设, 二期", "背街小巷改造示范工程",
            "社区养老服务站建设", "智慧园区信息化建设"]
regions = ["500103", "500104", "230882", "410371", "450202", "110101"]
head = ["财政区划代码", "预算年度", "单位代码", "单位名称", "项目代码", "项目名称",
        "项目类别", "是否新增", "指标金额", "累计支付", "数据日期", "绩效目标完成率"]
sst, index = [], {}
def s(t):
    if t not in index:
        index[t] = len(sst)
        sst.append(t)
    return index[t]
z = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>')
z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
z.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="执行情况" sheetId="1" r:id="rId1"/></sheets></workbook>')
z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>')
z.writestr("xl/styles.xml", '<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy/m/d"/></numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>')
cols = "ABCDEFGHIJKL"
with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
    f.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
    f.write(('<row r="1">' + "".join('<c r="%s1" t="s"><v>%d</v></c>' % (cols[i], s(h)) for i, h in enumerate(head)) + "</row>").encode())
    buf = []
    for i in range(n - 1):
        r = i + 2
        b = random.randrange(100000, 900000000)
        p = random.randrange(0, b)
        buf.append('<row r="%d"><c r="A%d" t="s"><v>%d</v></c><c r="B%d"><v>2024</v></c><c r="C%d" t="s"><v>%d</v></c><c r="D%d" t="s"><v>%d</v></c><c r="E%d" t="s"><v>%d</v></c><c r="F%d" t="s"><v>%d</v></c><c r="G%d" t="s"><v>%d</v></c><c r="H%d" t="s"><v>%d</v></c><c r="I%d"><v>%d.%02d</v></c><c r="J%d"><v>%d.%02d</v></c><c r="K%d" s="1"><v>45473</v></c><c r="L%d"><v>%d</v></c></row>' % (
            r, r, s(regions[i % 6]), r, r, s(str(500000 + i % 97)), r, s(names[i % 5]),
            r, s("P%08d" % i), r, s(projects[i % 5]), r, s("建设"), r, s("是" if i % 3 else "否"),
            r, b // 100, b % 100, r, p // 100, p % 100, r, r, i % 101))
        if len(buf) == 10000:
            f.write("".join(buf).encode())
            buf = []
    f.write("".join(buf).encode())
    f.write(b"</sheetData></worksheet>")
with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
    f.write(('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" uniqueCount="%d">' % len(sst)).encode())
    for t in sst:
        f.write(("<si><t>%s</t></si>" % t).encode())
    f.write(b"</sst>")
z.close()
PY

cat >"$dir/read_openpyxl.py" <<'PY'
import sys
import openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
n = 0
for row in wb.worksheets[0].iter_rows(values_only=True):
    n += 1
print(n)
PY

# One run: elapsed seconds, peak RSS (KiB) and CPU seconds (user + system:
# the machine is shared, so elapsed time also holds others' load), output
# discarded.
measure() {
    /usr/bin/time -f '%e %M %U %S' -o "$dir/t" "$@" >/dev/null 2>"$dir/err" || {
        echo "failed: $*"; cat "$dir/err"; exit 1; }
    cat "$dir/t"
}
fw=$(measure "$FW_BIN" records --quiet "$dir/book.xlsx") || { echo "$fw"; exit 1; }
fw2=$(measure "$FW_BIN" records --quiet "$dir/book.xlsx") || { echo "$fw2"; exit 1; }
awk -v a="$fw" -v b="$fw2" 'BEGIN{split(a, A, " "); split(b, B, " "); exit !(B[1] < A[1])}' && fw=$fw2
opx=$(measure /usr/bin/python3 "$dir/read_openpyxl.py" "$dir/book.xlsx") || { echo "$opx"; exit 1; }
x2c=$(measure xlsx2csv "$dir/book.xlsx") || { echo "$x2c"; exit 1; }
mb=$(awk -v b="$(stat -c %s "$dir/book.xlsx")" 'BEGIN{printf "%.1f", b/1e6}')
awk -v n=$((N - 1)) -v mb="$mb" -v f="$fw" -v o="$opx" -v x="$x2c" 'BEGIN {
    split(f, F, " "); split(o, O, " "); split(x, X, " ");
    fc = F[3] + F[4]; oc = O[3] + O[4]; xc = X[3] + X[4];
    printf "xlsx: %d records, %s MB workbook (shared strings, dates)\n", n, mb;
    printf "  %-38s %8s %10s %8s %9s\n", "", "elapsed", "rec/s", "CPU s", "peak RSS";
    printf "  %-38s %7.2fs %10.0f %7.2fs %6.1f MB\n", "python3-openpyxl read-only (baseline)", O[1], n/O[1], oc, O[2]/1024;
    printf "  %-38s %7.2fs %10.0f %7.2fs %6.1f MB\n", "xlsx2csv (baseline)", X[1], n/X[1], xc, X[2]/1024;
    printf "  %-38s %7.2fs %10.0f %7.2fs %6.1f MB\n", "fundwatch records --quiet", F[1], n/F[1], fc, F[2]/1024;
    printf "  fundwatch vs openpyxl: %.1fx elapsed, %.1fx CPU; vs xlsx2csv: %.1fx elapsed, %.1fx CPU\n", O[1]/F[1], oc/fc, X[1]/F[1], xc/fc;
}'
set -- $(awk -v n=$((N - 1)) -v f="$fw" -v o="$opx" 'BEGIN {
    split(f, F, " "); split(o, O, " "); printf "%.0f %.0f %.1f\n", n/F[1], n/O[1], O[1]/F[1] }')
figure "xlsx, records --quiet (rec/s)" "$1" "openpyxl read-only $2 (${3}x)" "-" "-"
