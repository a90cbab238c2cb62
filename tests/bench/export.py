#!/usr/bin/env python3
"""The bench's main workload: a budget-execution export as the 预算管理一体化
system writes it (12 columns, Chinese headers, 元 with thousands separators,
a UTF-8 BOM), over every region the reference policies govern, for the
shipped reference policies (policies/).

About 5 % of the records give a finding: the spending lag behind 序时进度 is
10-30 points for 5 % of the records and under 10 for the rest; the goal
completion rate, where given, follows the spending progress within a few
points, so the goal rules of 410371 stay quiet unless the record lags.

usage: export.py RECORDS OUT.csv [SEED]"""
import random
import sys

n, out = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 19)
regions = ["500103", "500101", "110101", "410371", "230882", "450202", "230102"]
names = {"500103": "重庆市渝中区教育委员会", "500101": "重庆市万州区农业农村委员会",
         "110101": "北京市东城区卫生健康委员会", "410371": "洛阳高新技术产业开发区管理委员会科技局",
         "230882": "富锦市农业农村局", "450202": "柳州市城中区住房和城乡建设局",
         "230102": "哈尔滨市道里区财政局"}
projects = ["学校校舍维修改造", "高标准农田建设,二期", "背街小巷改造工程",
            "社区养老服务站建设", "智慧园区信息化建设", "义务教育学生营养改善"]
kinds = ["建设", "社保", "运转", "补助"]
# (as_of, 序时进度 %)
dates = [("2024-03-31", 25.0), ("2024-06-30", 50.0), ("2024-09-30", 75.0),
         ("2024-11-30", 91.67)]
rows = ["\ufeff财政区划代码,预算年度,单位代码,单位名称,项目代码,项目名称,项目类别,"
        "是否新增,指标金额,累计支付,数据日期,绩效目标完成率\n"]
for i in range(n):
    r = regions[i % len(regions)]
    b = rnd.randrange(10000000, 200000000)          # 10万 to 200万 元, in fen
    as_of, seq = dates[i % 4]
    lag = rnd.uniform(10.5, 30) if rnd.random() < 0.05 else rnd.uniform(-20, 9.5)
    prog = max(0.0, min(100.0, seq - lag))
    p = int(b * prog / 100)
    goal = "" if i % 3 else "%d%%" % max(0, min(100, round(prog + rnd.uniform(-3, 3))))
    rows.append('%s,2024,%s%03d,%s,%s24%06d,"%s",%s,%s,"%s",%d.%02d,%s,%s\n' % (
        r, r, i % 97, names[r], r, i, projects[i % 6], kinds[i % 4],
        "是" if i % 10 == 0 else "否", "{:,}.{:02d}".format(b // 100, b % 100),
        p // 100, p % 100, as_of, goal))
with open(out, "w", encoding="utf-8", newline="") as f:
    f.write("".join(rows))
