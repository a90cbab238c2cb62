-- 支出进度落后预警:阈值与金额写在 lag.yaml。
return policy {
  id = "lag",
  title = "支出进度落后预警",
  regions = { "" },
  rules = {
    { id = "lag_alert", title = "支出进度落后序时进度", source = "RULES.md exec_lag" },
  },
  params = {
    lag = {
      yellow = fw.points "落后序时进度达到此数 → 黄色预警",
      red = fw.points "落后序时进度达到此数 → 红色预警",
    },
    over = fw.money "指标金额达到此数才预警",
    from = fw.monthday "当年自此月日起预警",
  },

  on_execution = function(rec, ctx)
    local p = ctx.params
    local lag = fw.lag(rec)
    if lag == nil or rec.budget < p.over then return end
    if rec.as_of < fw.in_year(fw.ymd(rec.as_of), p.from) then return end
    local level
    if lag >= p.lag.red then
      level = "red"
    elseif lag >= p.lag.yellow then
      level = "yellow"
    else
      return
    end
    alert {
      rule = "lag_alert", level = level,
      message = string.format("%s 落后序时进度 %s 个百分点", fw.subject(rec),
                              fw.fix(lag)),
    }
  end,
}
