-- 重庆市(区划 50):预算执行“红黄灯”分级预警 cq_red_yellow(取代全国
-- exec_lag)与红灯项目“调慢补快”收回 cq_slow_to_fast. Both are computed
-- here because the clawback depends on the lamp being red. Thresholds and
-- dates come from red_yellow.yaml; a record without a budget (or 0),
-- 累计支付 or 数据日期 gives no finding (RULES.md: no progress rule fires
-- when budget is 0).
local notice = require "notice"

local seed002 = "seed 002(重庆市财政局《坚持“四强化、四推动” 持续深化预算绩效管理"
             .. "改革》):“建立预算执行“重点+日常”分类监控模式,对资金使用进度慢、"
             .. "绩效目标实现差的,实行“红黄灯”分级预警,构建项目实施“调慢补快”"
             .. "机制,及时按一定比例收回资金,调整用于发展亟需领域。”"

local NAMES = { "黄灯", "红灯" }

-- 0 (no lamp), 1 (yellow) or 2 (red) for a value v against the
-- thresholds t.yellow and t.red (percentage points), inclusive.
local function lamp(v, t)
  if v >= t.red then return 2 elseif v >= t.yellow then return 1 end
  return 0
end

return policy {
  id = "cq-red-yellow",
  title = "重庆市:预算执行“红黄灯”分级预警与“调慢补快”",
  regions = { "50" },
  replaces = { "exec_lag" },
  rules = {
    { id = "cq_red_yellow", title = "资金使用进度慢、绩效目标实现差的红黄灯预警",
      source = seed002 .. "(机制);10 / 20 个百分点为默认值 D,"
            .. "见 policies/50/red_yellow.yaml" },
    { id = "cq_slow_to_fast", title = "红灯项目调慢补快,按比例收回指标余额",
      source = seed002 .. "(机制);30% 与 09-30 为默认值 D,"
            .. "见 policies/50/red_yellow.yaml" },
  },
  params = {
    cq_red_yellow = {
      lag = {
        yellow = fw.points "支出进度落后序时进度达到此数 → 黄灯",
        red = fw.points "支出进度落后序时进度达到此数 → 红灯",
      },
      goal_gap = {
        yellow = fw.points "绩效目标完成率低于序时进度达到此数 → 黄灯",
        red = fw.points "绩效目标完成率低于序时进度达到此数 → 红灯",
      },
    },
    cq_slow_to_fast = {
      from = fw.monthday "红灯项目自当年此月日起调慢补快",
      pct = fw.percent "收回指标余额的比例",
    },
  },

  on_execution = function(rec, ctx)
    local p = ctx.params.cq_red_yellow
    local lag = fw.lag(rec)
    if lag == nil then return end -- no budget (or 0), paid or as_of
    local seq = fw.seq(rec.as_of)
    local lag_lamp = lamp(lag, p.lag)
    local goal_lamp, gap = 0, nil
    if rec.goal_rate ~= nil then
      gap = fw.diff(seq, rec.goal_rate) -- goal_rate ≤ seq − t ⇔ gap ≥ t
      goal_lamp = lamp(gap, p.goal_gap)
    end
    local level = math.max(lag_lamp, goal_lamp)
    if level == 0 then return end

    local facts = string.format("支出进度 %s%%,序时进度 %s%%,",
                                fw.fix(fw.progress(rec)), fw.fix(seq))
    if lag >= 0 then
      facts = facts .. string.format("落后 %s 个百分点", fw.fix(lag))
    else
      facts = facts .. string.format("快于序时进度 %s 个百分点", fw.fix(-lag))
    end
    if gap ~= nil then
      facts = facts .. string.format(";绩效目标完成率 %s%%",
                                     fw.fix(rec.goal_rate))
    end
    local why = {}
    if lag_lamp > 0 then
      local key = lag_lamp == 2 and "red" or "yellow"
      why[#why + 1] = string.format("支出进度落后达到%s线 %s 个百分点",
        NAMES[lag_lamp], fw.num(p.lag[key]))
    end
    if goal_lamp > 0 then
      local key = goal_lamp == 2 and "red" or "yellow"
      why[#why + 1] = string.format(
        "绩效目标完成率低于序时进度 %s 个百分点,达到%s线 %s 个百分点",
        fw.fix(gap), NAMES[goal_lamp], fw.num(p.goal_gap[key]))
    end
    if ctx.active("cq_red_yellow") then
      alert {
        rule = "cq_red_yellow", level = level == 2 and "red" or "yellow",
        message = string.format(
          "%s:%s,截至 %s %s。%s。请项目单位分析原因、限期整改,主管部门督促"
          .. "加快资金支出和绩效目标实现。",
          NAMES[level], fw.subject(rec), rec.as_of, facts,
          table.concat(why, ";")),
      }
    end

    -- cq_slow_to_fast: a red lamp from MM-DD of the as_of's year on.
    if level < 2 or not ctx.active("cq_slow_to_fast") then return end
    local s = ctx.params.cq_slow_to_fast
    if rec.as_of < fw.in_year(fw.ymd(rec.as_of), s.from) then return end
    local balance = rec.budget - rec.paid
    if balance <= 0 then return end -- red on its goal alone, fully paid
    local amount = fw.pct(balance, s.pct)
    clawback {
      rule = "cq_slow_to_fast", amount = amount, ratio = fw.ratio(s.pct),
      message = string.format(
        "调慢补快:%s为红灯项目,截至 %s 指标余额 %s,建议按 %s%% 的比例收回 %s,"
        .. "调整用于发展亟需领域。",
        fw.subject(rec), rec.as_of, notice.yuan(balance), fw.num(s.pct),
        notice.yuan(amount)),
    }
  end,
}
