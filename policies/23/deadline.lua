-- 黑龙江省(区划 23):预算绩效管理重点任务逾期 hlj_deadline. Judged
-- against ctx.now, not the record's 数据日期: the daemon's scheduler (and
-- offline `replay --now`) re-runs on_task over the task records it knows
-- with a later clock, so an unfinished task turns overdue without a new
-- feed. The due day itself is on time. The deadline is the record's
-- 截止日期, else the task code's entry in deadline.yaml; with neither
-- there is nothing to judge (no finding).

-- The due date of a task and the plan's text when it came from the table.
local function due_of(rec, ctx)
  if rec.due then return rec.due, nil end
  local entry = rec.task and ctx.params.deadlines[rec.task]
  if entry == nil then return nil end
  return entry.due, entry.task
end

return policy {
  id = "hlj-deadline",
  title = "黑龙江省:预算绩效管理重点任务完成时限",
  regions = { "23" },
  rules = {
    { id = "hlj_deadline", title = "重点任务逾期未完成 / 逾期完成",
      source = "seed 001(富锦市财政2021年绩效评价管理情况)附件,落实《黑龙江省2021年"
            .. "预算绩效管理提质增效行动方案》的各项“X月底前”时限,如“10月底前将本级"
            .. "一般公共预算、政府性基金预算、国有资本经营预算资金全部纳入绩效目标"
            .. "管理”“2022年2月底前对部门、下级长期沉淀闲置或难以形成实际支出的财政"
            .. "存量资金,按规定收回统筹使用。”;时限表见 policies/23/deadline.yaml" },
  },
  params = {
    deadlines = fw.map_of({
      due = fw.isodate "截止日期",
      task = fw.text "行动方案原文",
    }, "任务编号 → 截止日期与任务原文"),
  },

  on_task = function(rec, ctx)
    local due, plan = due_of(rec, ctx)
    if due == nil then return end
    local basis = ""
    if plan then basis = string.format("(行动方案要求:%s)", plan) end
    if rec.done_on then
      if rec.done_on > due then
        alert {
          rule = "hlj_deadline", level = "info",
          message = string.format("%s,截止日期 %s,已于 %s 完成,逾期 %d 天完成。%s",
                                  fw.subject(rec), due, rec.done_on,
                                  fw.days(due, rec.done_on), basis),
        }
      end
      return
    end
    if ctx.now > due then
      alert {
        rule = "hlj_deadline", level = "red",
        message = string.format(
          "%s,截止日期 %s,截至 %s 仍未完成,已逾期 %d 天。请责任单位说明原因,"
          .. "明确完成时间并尽快完成。%s",
          fw.subject(rec), due, ctx.now, fw.days(due, ctx.now), basis),
      }
    end
  end,
}
