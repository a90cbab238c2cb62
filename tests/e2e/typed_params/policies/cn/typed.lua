-- Every kind of typed parameter and the spellings each accepts: the alert's
-- message prints what ctx.params holds, so typed_test.yaml pins it.
local function list(t)
  local out = {}
  for i = 1, #t do out[i] = t[i] end
  return table.concat(out, ",")
end

return policy {
  id = "typed",
  title = "typed parameters",
  regions = { "" },
  rules = { { id = "typed_show", title = "shows the parameters", source = "test" } },
  params = {
    money = {
      plain = fw.money "2000000: 元 by default",
      commas = fw.money "with commas and 元",
      wan = fw.money "200万",
      wan_yuan = fw.money "200万元",
      yi = fw.money "0.02亿",
      yuan_sign = fw.money "¥",
      in_wan = fw.money("万元", "a bare number in 万元"),
    },
    percent = {
      plain = fw.percent "30",
      sign = fw.percent "30%",
      fullwidth = fw.percent "30％",
      half = fw.percent "12.5",
    },
    points = { whole = fw.points "20", decimal = fw.points "19.99" },
    score = fw.score "89.5",
    monthday = {
      padded = fw.monthday "09-30",
      short = fw.monthday "9-30",
      chinese = fw.monthday "9月30日",
    },
    date = fw.isodate "2022/2/28",
    count = fw.integer "3",
    name = fw.text "示例",
    codes = fw.codes "[A01, A02, 3]",
    table = fw.map_of({ due = fw.isodate "截止日期", share = fw.percent "比例" },
                      "code → due date and share"),
  },

  on_execution = function(rec, ctx)
    local p = ctx.params
    local m, pc, pt, md = p.money, p.percent, p.points, p.monthday
    alert {
      rule = "typed_show", level = "info",
      message = string.format(
        "money %d %d %d %d %d %d %d (%s); percent %s %s %s %s ratio %s %s; "
        .. "points %s %s; score %s; lag ≥ %s: %s; monthday %s %s %s → %s; "
        .. "date %s; count %d (%s); name %s; codes %s; table %s %s %s",
        m.plain, m.commas, m.wan, m.wan_yuan, m.yi, m.yuan_sign, m.in_wan,
        math.type(m.plain),
        pc.plain, pc.sign, pc.fullwidth, pc.half, fw.ratio(pc.sign),
        fw.ratio(pc.half), pt.whole, pt.decimal, p.score, fw.num(pt.decimal),
        tostring(fw.lag(rec) >= pt.decimal), md.padded, md.short, md.chinese,
        fw.in_year(2024, md.short), p.date, p.count, math.type(p.count),
        p.name, list(p.codes), p.table.A01.due, p.table.A01.share,
        tostring(p.table.B02)),
    }
  end,
}
