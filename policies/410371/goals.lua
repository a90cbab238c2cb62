-- 洛阳高新区(区划 410371):绩效运行目标偏离预期目标须报告
-- ly_goal_deviation(执行记录),未实现绩效目标须说明理由 ly_unmet_reason
-- (评价记录). Thresholds come from goals.yaml; a record without
-- 绩效目标完成率 (or, for the deviation, without 数据日期) gives no finding.
local seed003 = "seed 003(洛阳高新区管委会关于推进我区预算绩效管理的实施意见,"
             .. "洛开〔2017〕79号):"

return policy {
  id = "ly-goals",
  title = "洛阳高新区:绩效目标偏离报告与未实现目标说明理由",
  regions = { "410371" },
  rules = {
    { id = "ly_goal_deviation", title = "绩效运行目标与预期绩效目标发生偏离,及时报告",
      source = seed003 .. "“发现绩效运行目标与预期绩效目标发生偏离时,要及时向"
            .. "主管部门报告,并及时采取措施予以纠正。”(职责);20 个百分点为"
            .. "默认值 D,见 policies/410371/goals.yaml" },
    { id = "ly_unmet_reason", title = "未实现绩效目标须说明理由",
      source = seed003 .. "“要将实际取得的绩效与绩效目标进行对比,如未实现绩效"
            .. "目标,须说明理由。”" },
  },
  params = {
    ly_goal_deviation = {
      at_least = fw.points "绩效目标完成率低于序时进度达到此数 → 报告偏离",
    },
    ly_unmet_reason = {
      target = fw.percent "绩效目标完成率低于此数为未实现目标",
    },
  },

  on_execution = function(rec, ctx)
    if rec.goal_rate == nil or rec.as_of == nil then return end
    local seq = fw.seq(rec.as_of)
    local gap = fw.diff(seq, rec.goal_rate)
    local at_least = ctx.params.ly_goal_deviation.at_least
    if gap < at_least then return end
    alert {
      rule = "ly_goal_deviation", level = "yellow",
      message = string.format(
        "%s,截至 %s 绩效目标完成率 %s%%,序时进度 %s%%,偏离 %s 个百分点(达到 %s "
        .. "个百分点)。绩效运行目标与预期绩效目标发生偏离,请项目单位及时向主管"
        .. "部门报告,并采取措施予以纠正。",
        fw.subject(rec), rec.as_of, fw.fix(rec.goal_rate), fw.fix(seq),
        fw.fix(gap), fw.num(at_least)),
    }
  end,

  on_evaluation = function(rec, ctx)
    if rec.goal_rate == nil then return end
    if rec.goal_rate >= ctx.params.ly_unmet_reason.target then return end
    if rec.reason ~= nil and rec.reason:match("%S") then return end
    alert {
      rule = "ly_unmet_reason", level = "yellow",
      message = string.format(
        "%s,绩效目标完成率 %s%%,未实现绩效目标,但未说明理由。如未实现绩效目标,"
        .. "须说明理由:请项目单位补充偏差原因后重新报送自评结果。",
        fw.subject(rec), fw.fix(rec.goal_rate)),
    }
  end,
}
