-- A small national policy to show the shape of one (docs/policies.md):
-- a spending-lag alert per record and a per-feed summary. The reference
-- policies live in policies/; this one backs the examples and the e2e tests.
return policy {
  id = "demo",
  title = "示例:支出进度落后序时进度预警",
  regions = { "" },
  rules = {
    { id = "demo_lag", title = "支出进度落后序时进度",
      source = "RULES.md exec_lag (demo thresholds in demo.yaml)" },
    { id = "demo_summary", title = "每批数据的落后项目汇总",
      source = "example only: an aggregate reported by on_feed_end" },
  },
  params = {                                  -- demo.yaml 里的参数 its YAML
    yellow = fw.points "落后序时进度达到此数 → 黄灯",
    red = fw.points "落后序时进度达到此数 → 红灯",
  },

  on_execution = function(rec, ctx)
    ctx.state.seen = (ctx.state.seen or 0) + 1
    ctx.state.region = ctx.state.region or rec.region
    if not ctx.active("demo_lag") then return end -- replaced in this region
    local lag = fw.lag(rec)
    if lag == nil then return end
    local p = ctx.params
    local level
    if lag >= p.red then level = "red"
    elseif lag >= p.yellow then level = "yellow"
    else return end
    ctx.state.late = (ctx.state.late or 0) + 1
    alert {
      rule = "demo_lag", level = level,
      message = string.format("支出进度 %s%% 落后序时进度 %s%% 共 %s 个百分点",
                              fw.fix(fw.progress(rec)), fw.fix(fw.seq(rec.as_of)),
                              fw.fix(lag)),
    }
  end,

  on_feed_end = function(ctx)
    if not ctx.state.late then return end
    alert {
      rule = "demo_summary", level = "info", region = ctx.state.region,
      message = string.format("本批 %d 条执行记录中 %d 条落后序时进度",
                              ctx.state.seen, ctx.state.late),
    }
  end,
}
