-- 全国默认规则(执行记录):支出进度落后序时进度预警 exec_lag,结转资金
-- 连续两年未用完收回 carryover_2y. Thresholds and dates come from
-- execution.yaml, declared in params below; RULES.md's rounding is
-- fw.lag's and fw.pct's. A record lacking a field a rule needs gives no
-- finding of that rule.
local notice = require "notice"

return policy {
  id = "cn-execution",
  title = "全国:预算执行进度预警与结转资金收回",
  regions = { "" },
  rules = {
    { id = "exec_lag", title = "支出进度落后序时进度预警(黄/红)",
      source = "默认值 D(fundwatch RULES.md):落后序时进度 10 个百分点黄色、"
            .. "20 个百分点红色预警;20 个百分点红线为国库支付系统的通行做法。"
            .. "阈值见 policies/cn/execution.yaml exec_lag" },
    { id = "carryover_2y", title = "结转资金连续两年未用完,收回余额",
      source = "《中华人民共和国预算法》第四十二条:“连续两年未用完的结转资金,"
            .. "应当作为结余资金管理。”;seed 000(渝中区财政局关于DH230号建议的"
            .. "复函):“对长期沉淀的资金一律收回并按照有关规定统筹用于亟需"
            .. "支持的领域。”" },
  },
  params = {
    exec_lag = {
      yellow = fw.points "支出进度落后序时进度达到此数 → 黄色预警",
      red = fw.points "支出进度落后序时进度达到此数 → 红色预警",
    },
    carryover_2y = {
      years_after = fw.integer "预算年度之后第几年起判断",
      from = fw.monthday "该年自此月日起判断",
      pct = fw.percent "收回指标余额的比例",
    },
  },

  on_execution = function(rec, ctx)
    local p = ctx.params
    -- exec_lag: replaced by cq_red_yellow in Chongqing ("50").
    if ctx.active("exec_lag") then
      local lag = fw.lag(rec) -- nil: no budget (or 0), no paid or no as_of
      if lag ~= nil then
        local t = p.exec_lag
        local level, name, line
        if lag >= t.red then
          level, name, line = "red", "红色预警", t.red
        elseif lag >= t.yellow then
          level, name, line = "yellow", "黄色预警", t.yellow
        end
        if level then
          alert {
            rule = "exec_lag", level = level,
            message = string.format(
              "%s:%s,截至 %s 支出进度 %s%%,序时进度 %s%%,落后 %s 个百分点"
              .. "(达到 %s 个百分点的%s线)。请主管部门督促项目单位查明原因,"
              .. "加快支出进度。",
              name, fw.subject(rec), rec.as_of, fw.fix(fw.progress(rec)),
              fw.fix(fw.seq(rec.as_of)), fw.fix(lag), fw.num(line), name),
          }
        end
      end
    end

    -- carryover_2y: budget year Y, judged from (Y + years_after)-MM-DD on.
    -- The date first: most records are not yet due, and each field read
    -- is a call into the engine (a record is read field by field).
    local year, as_of = rec.year, rec.as_of
    if year and as_of and ctx.active("carryover_2y") then
      local c = p.carryover_2y
      if as_of < fw.in_year(year + c.years_after, c.from) then return end
      local budget, paid = rec.budget, rec.paid
      if budget == nil or paid == nil or budget <= paid then return end
      local balance = budget - paid
      local amount = fw.pct(balance, c.pct)
      clawback {
        rule = "carryover_2y", amount = amount, ratio = fw.ratio(c.pct),
        message = string.format(
          "%s,%d 年度预算截至 %s 指标余额 %s,已连续两年未用完,依照《预算法》"
          .. "第四十二条应作为结余资金管理,建议收回 %s(余额的 %s%%)统筹用于"
          .. "亟需支持的领域。",
          fw.subject(rec), year, as_of, notice.yuan(balance),
          notice.yuan(amount), fw.num(c.pct)),
      }
    end
  end,
}
