#!/usr/bin/python3
"""Writes the workbook fixtures of tests/daemon/workbooks.sh into the folder
given, with openpyxl (Debian's python3-openpyxl): an export as the 一体化
system prints it, and the edge cases of the .xlsx format. The same records
as a plain CSV are written beside it (clean.csv) for the differential test."""
import datetime, io, os, re, sys, zipfile

import openpyxl
from openpyxl.utils.datetime import CALENDAR_MAC_1904

out = sys.argv[1]

# region, year, dept, project, budget 万元, paid 万元, base 元, as_of
ROWS = [
    ("500103", 2024, "区教委", "校舍维修", "1200.5", "600.25", "1000", (2024, 9, 30)),
    ("500103", 2024, "区教委", "课后服务", "80.0001", "0", "2500.5", (2024, 9, 30)),
    ("500103", 2024, "区卫健委", "疫苗冷链", "0.3", "0.1", "0", (2024, 6, 30)),
    ("500103", 2024, "区卫健委", "基层医疗", "1914100.1162", "1000.5", "12", (2024, 6, 30)),
]
HEAD = ["财政区划代码", "预算年度", "单位名称", "项目名称"]

def dec(s):
    """The number Excel would hold (a double): the cell as written by a
    person typing it."""
    return float(s)

def write_clean_csv():
    with open(os.path.join(out, "clean.csv"), "w", encoding="utf-8") as f:
        f.write(",".join(HEAD + ["指标金额(万元)", "累计支付(万元)", "挂钩基数", "数据日期"]) + "\n")
        for r in ROWS:
            y, m, d = r[7]
            f.write(",".join([r[0], str(r[1]), r[2], r[3], r[4], r[5], r[6], "%04d-%02d-%02d" % (y, m, d)]) + "\n")

def sums(rows, k):
    from decimal import Decimal
    return str(sum(Decimal(r[k]) for r in rows))

def printed(ws, total_ok=True, formula_total=False):
    """The layout: title, 编制单位 with the unit at its right end, a blank
    row, a two-row header with a merged group cell, 小计 per department and a
    合计 at the end; dates in a Chinese custom format."""
    ws.append(["重庆市渝中区2024年项目支出预算执行情况表"])
    ws.merge_cells("A1:H1")
    ws.append(["编制单位:渝中区财政局", None, None, None, None, None, None, "单位：万元"])
    ws.append([])
    ws.append(HEAD + ["本年预算执行", None, "挂钩基数（单位：元）", "数据日期"])
    ws.append([None] * 4 + ["指标金额", "累计支付/万元", None, None])
    for c in "ABCDGH":
        ws.merge_cells("%s4:%s5" % (c, c))
    ws.merge_cells("E4:F4")
    depts = []
    for r in ROWS:
        if r[2] not in depts:
            depts.append(r[2])
    first = ws.max_row + 1
    for dname in depts:
        block = [r for r in ROWS if r[2] == dname]
        start = ws.max_row + 1
        for r in block:
            ws.append([r[0], r[1], r[2], r[3], dec(r[4]), dec(r[5]), dec(r[6]),
                       datetime.date(*r[7])])
            ws.cell(ws.max_row, 8).number_format = 'yyyy"年"m"月"d"日"'
        ws.append([None, None, "小 计", None, dec(sums(block, 4)), dec(sums(block, 5)), None, None])
    budget_total = sums(ROWS, 4)
    if not total_ok:
        from decimal import Decimal
        budget_total = str(Decimal(budget_total) + 1)
    paid = "=SUM(F%d:F%d)/2" % (first, ws.max_row) if formula_total else dec(sums(ROWS, 5))
    ws.append(["500103", None, "合　计", None, dec(budget_total), paid, None, None])

def book(name, **kw):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "预算执行情况"
    printed(ws, **kw)
    wb.save(os.path.join(out, name))

def shared_strings(src, dst):
    """openpyxl writes every text as an inline string (<is><t>); Excel
    writes them to xl/sharedStrings.xml. Rewrites src the way Excel does,
    with one rich-text entry (runs, and a phonetic run that is not text)."""
    zin = zipfile.ZipFile(os.path.join(out, src))
    zout = zipfile.ZipFile(os.path.join(out, dst), "w", zipfile.ZIP_DEFLATED)
    table = []
    def repl(m):
        text = m.group(2)
        if text not in table:
            table.append(text)
        return '<c%s t="s"><v>%d</v></c>' % (m.group(1), table.index(text))
    for item in zin.infolist():
        data = zin.read(item.filename).decode()
        if item.filename.startswith("xl/worksheets/"):
            data = re.sub(r'<c([^>]*?) t="inlineStr"><is><t>(.*?)</t></is></c>', repl, data)
        elif item.filename == "[Content_Types].xml":
            data = data.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        elif item.filename == "xl/_rels/workbook.xml.rels":
            data = data.replace("</Relationships>", '<Relationship Id="rIdSS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
        zout.writestr(item, data.encode())
    sis = []
    for t in table:
        if t == "&#26657;&#33293;&#32500;&#20462;":  # 校舍维修 as two runs
            sis.append('<si><r><t>&#26657;&#33293;</t></r><r><rPr><b/></rPr><t>&#32500;&#20462;</t></r><rPh sb="0" eb="2"><t>xiaoshe</t></rPh></si>')
        else:
            sis.append("<si><t>%s</t></si>" % t)
    zout.writestr("xl/sharedStrings.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">%s</sst>' % (len(table), len(table), "".join(sis)))
    zout.close()

write_clean_csv()
book("export.xlsx")
book("bad_total.xlsx", total_ok=False)
book("formula_total.xlsx", formula_total=True)
shared_strings("export.xlsx", "shared.xlsx")

# The 1904 date system, and the 1900 system's day that never was.
wb = openpyxl.Workbook()
wb.epoch = CALENDAR_MAC_1904
ws = wb.active
ws.append(["财政区划代码", "数据日期", "截止日期", "绩效目标完成率"])
ws.append(["500103", datetime.date(2024, 9, 30), datetime.date(1904, 1, 2), 0.355])
for c in ("B2", "C2"):
    ws[c].number_format = "yyyy-mm-dd"
ws["D2"].number_format = "0.0%"  # a percent cell holds the fraction
wb.save(os.path.join(out, "date1904.xlsx"))

wb = openpyxl.Workbook()
ws = wb.active
ws.append(["财政区划代码", "数据日期", "截止日期", "完成日期"])
ws.append(["500103", 60, 59, 61])
for c in ("B2", "C2", "D2"):
    ws[c].number_format = "m/d/yyyy"
ws.append(["500103", 45565, "2024.9.30", "45565"])
ws["B3"].number_format = "[$-804]yyyy\\-mm\\-dd;@"
wb.save(os.path.join(out, "leap.xlsx"))

# Several sheets; a column in an unknown money unit; a near miss.
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "说明"
ws.append(["本表由一体化系统导出"])
for name, rows in (("一季度", 2), ("二季度", 3)):
    s = wb.create_sheet(name)
    s.append(["财政区划代码", "指标金额", "挂钩基数（千元）", "累计支付额", "项目名"])
    for i in range(rows):
        s.append(["500103", 100 + i, 1.5, 7, "x"])
wb.save(os.path.join(out, "sheets.xlsx"))

wb = openpyxl.Workbook()
ws = wb.active
ws.append(["财政区划代码", "指标金额（美元）"])
ws.append(["500103", 1])
wb.save(os.path.join(out, "dollars.xlsx"))

# Big enough to trip a 1 MiB bound on a part.
wb = openpyxl.Workbook()
ws = wb.active
ws.append(["财政区划代码", "指标金额"])
for i in range(30000):
    ws.append(["500103", i])
wb.save(os.path.join(out, "big.xlsx"))

# A zip cut short, and a workbook named .csv.
data = open(os.path.join(out, "export.xlsx"), "rb").read()
open(os.path.join(out, "cut.xlsx"), "wb").write(data[: len(data) // 2])
open(os.path.join(out, "export-named.csv"), "wb").write(data)

# A zip that is no workbook; a workbook whose sheet XML is broken.
with zipfile.ZipFile(os.path.join(out, "notbook.xlsx"), "w") as z:
    z.writestr("readme.txt", "hello")
zin = zipfile.ZipFile(os.path.join(out, "date1904.xlsx"))
with zipfile.ZipFile(os.path.join(out, "badxml.xlsx"), "w") as z:
    for item in zin.infolist():
        data = zin.read(item.filename)
        if item.filename == "xl/worksheets/sheet1.xml":
            data = data.replace(b"</row>", b"</rov>", 1)
        z.writestr(item, data)

# OLE2 compound files: what Office makes of an .xlsx saved with a password
# (an EncryptedPackage stream), and an .xls cut to its header.
ole = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504)
name = "EncryptedPackage".encode("utf-16-le")
open(os.path.join(out, "locked.xlsx"), "wb").write(ole + bytes(512) + name + bytes(64))
open(os.path.join(out, "cut.xls"), "wb").write(ole)

# Cells whose kind does not fit their column.
wb = openpyxl.Workbook()
ws = wb.active
ws.append(["财政区划代码", "指标金额", "数据日期", "累计支付"])
ws.append(["500103", datetime.date(2024, 9, 30), 45565, "#DIV/0!", "多出来的"])
ws["B2"].number_format = "yyyy-mm-dd"
ws["D2"].data_type = "e"
ws.append(["500103", "=1+1", None, None])
wb.save(os.path.join(out, "cells.xlsx"))
