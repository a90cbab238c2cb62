return policy {
  id = "bench-nat", title = "national: spending lag", regions = { "" },
  rules = { { id = "b_lag", title = "支出进度落后", source = "RULES.md exec_lag" } },
  on_execution = function(rec, ctx)
    local lag = fw.lag(rec)
    if lag == nil or lag < 10 then return end
    alert { rule = "b_lag", level = lag >= 20 and "red" or "yellow",
            message = string.format("落后序时进度 %.2f 个百分点", lag) }
  end,
}
