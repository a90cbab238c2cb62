-- 全国默认规则(执行记录):支出进度落后序时进度预警 exec_lag,结转资金
-- 连续两年未用完收回 carryover_2y. Thresholds and dates come from
-- execution.yaml; RULES.md's rounding is fw.lag's and fw.pct's. A record
-- lacking a field a rule needs gives no finding of that rule.
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

  on_execution = function(rec, ctx)
    -- exec_lag: replaced by cq_red_yellow in Chongqing ("50").
    if ctx.active("exec_lag") then
      local lag = fw.lag(rec) -- nil: no budget (or 0), no paid or no as_of
      if lag ~= nil then
        local lh = notice.h(lag)
        local red = notice.hparam(ctx, "exec_lag.red")
        local yellow = notice.hparam(ctx, "exec_lag.yellow")
        local level, name, line
        if lh >= red then level, name, line = "red", "红色预警", red
        elseif lh >= yellow then level, name, line = "yellow", "黄色预警", yellow
        end
        if level then
          alert {
            rule = "exec_lag", level = level,
            message = string.format(
              "%s:%s,截至 %s 支出进度 %s%%,序时进度 %s%%,落后 %s 个百分点"
              .. "(达到 %s 个百分点的%s线)。请主管部门督促项目单位查明原因,"
              .. "加快支出进度。",
              name, notice.subject(rec), rec.as_of,
              notice.fix(notice.h(fw.progress(rec))),
              notice.fix(notice.h(fw.seq(rec.as_of))), notice.fix(lh),
              notice.num(line), name),
          }
        end
      end
    end

    -- carryover_2y: budget year Y, judged from (Y + years_after)-MM-DD on.
    if ctx.active("carryover_2y") and rec.year and rec.as_of
        and rec.budget and rec.paid then
      local balance = rec.budget - rec.paid
      local m, d = tostring(notice.param(ctx, "carryover_2y.from"))
                     :match("^(%d%d?)-(%d%d?)$")
      if not m then
        error("parameter \"carryover_2y.from\" must be a month and day such "
              .. "as \"12-31\"")
      end
      local after = notice.param(ctx, "carryover_2y.years_after")
      local from = fw.date(rec.year + after, tonumber(m), tonumber(d))
      if balance > 0 and rec.as_of >= from then
        local pct = notice.hparam(ctx, "carryover_2y.pct")
        local amount = fw.pct(balance, notice.fix(pct))
        clawback {
          rule = "carryover_2y", amount = amount, ratio = notice.ratio(pct),
          message = string.format(
            "%s,%d 年度预算截至 %s 指标余额 %s,已连续两年未用完,依照《预算法》"
            .. "第四十二条应作为结余资金管理,建议收回 %s(余额的 %s%%)统筹用于"
            .. "亟需支持的领域。",
            notice.subject(rec), rec.year, rec.as_of, notice.yuan(balance),
            notice.yuan(amount), notice.num(pct)),
        }
      end
    end
  end,
}

--yaml--
# 全国默认:预算执行进度预警与结转资金收回 — parameters of execution.lua.
# National defaults: the spending-lag alert and the two-year carry-over
# clawback. An officer changes a number here; the Lua stays as it is.

# exec_lag: 支出进度落后序时进度的百分点数(含本数)。
# Lag thresholds in percentage points, inclusive: lag ≥ yellow → 黄色预警,
# lag ≥ red → 红色预警. The lag is rounded half away from zero to 0.01
# before it is compared (RULES.md).
exec_lag:
  yellow: 10
  red: 20

# carryover_2y: 结转资金连续两年未用完 → 收回。
# A record of budget year Y is judged from (Y + years_after)-MM-DD on
# (2023 → 2024-12-31 with the values below); from then on pct % of its
# balance (指标余额 = 指标金额 − 累计支付) is recommended for clawback.
carryover_2y:
  years_after: 1
  from: "12-31"
  pct: 100
