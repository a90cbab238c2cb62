return policy {
  id = "bench-prov", title = "province: stricter lag", regions = { "50" },
  replaces = { "b_lag" },
  rules = { { id = "b_prov", title = "红黄灯", source = "RULES.md cq_red_yellow" } },
  on_execution = function(rec, ctx)
    local lag = fw.lag(rec)
    if lag == nil or lag < 15 then return end
    alert { rule = "b_prov", level = lag >= 25 and "red" or "yellow",
            message = string.format("落后序时进度 %.2f 个百分点", lag) }
  end,
}
