-- A regional policy over the national demo: for Chongqing ("50") it
-- replaces demo_lag with its own alert and recommends a clawback of part of
-- the balance of a red project from 30 September on.
return policy {
  id = "demo-cq",
  title = "示例:重庆红黄灯与调慢补快",
  regions = { "50" },
  replaces = { "demo_lag" },
  rules = {
    { id = "demo_cq_lag", title = "红黄灯分级预警",
      source = "RULES.md cq_red_yellow (demo)" },
    { id = "demo_cq_claw", title = "调慢补快",
      source = "RULES.md cq_slow_to_fast (demo)" },
  },
  params = {
    claw_pct = fw.percent "红灯项目收回指标余额的比例",
  },

  on_execution = function(rec, ctx)
    local lag = fw.lag(rec)
    if lag == nil or lag < 10 then return end
    local red = lag >= 20
    alert {
      rule = "demo_cq_lag", level = red and "red" or "yellow",
      message = string.format("%s:落后序时进度 %.2f 个百分点",
                              red and "红灯" or "黄灯", lag),
    }
    local y = fw.ymd(rec.as_of)
    if red and rec.as_of >= fw.date(y, 9, 30) then
      local pct = ctx.params.claw_pct
      clawback {
        rule = "demo_cq_claw",
        amount = fw.pct(rec.budget - rec.paid, pct),
        ratio = fw.ratio(pct),
        message = string.format("按 %s%% 收回指标余额 %s 元", pct,
                                fw.yuan(rec.budget - rec.paid)),
      }
    end
  end,
}
