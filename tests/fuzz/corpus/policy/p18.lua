-- 黑龙江省(区划 23):预算绩效管理重点任务逾期 hlj_deadline. Judged
-- against ctx.now, not the record's 数据日期: the daemon's scheduler (and
-- offline `replay --now`) re-runs on_task over the task records it knows
-- with a later clock, so an unfinished task turns overdue without a new
-- feed. The due day itself is on time. The deadline is the record's
-- 截止日期, else the task code's entry in deadline.yaml; with neither
-- there is nothing to judge (no finding).
local notice = require "notice"

-- The due date of a task and the plan's text when it came from the table.
local function due_of(rec, ctx)
  local table_ = notice.param(ctx, "deadlines")
  local entry = rec.task and table_[rec.task]
  if rec.due then return rec.due, nil end
  if entry == nil then return nil end
  local due = entry.due
  if type(due) ~= "string" or not due:match("^%d%d%d%d%-%d%d%-%d%d$") then
    error(string.format("deadline.yaml: deadlines.%s.due must be a date such "
                        .. "as \"2021-05-31\", got %s", rec.task, tostring(due)))
  end
  return due, entry.task
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
                                  notice.subject(rec), due, rec.done_on,
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
          notice.subject(rec), due, ctx.now, fw.days(due, ctx.now), basis),
      }
    end
  end,
}

--yaml--
# 黑龙江省:预算绩效管理重点任务完成时限 — parameters of deadline.lua.
#
# deadlines: 《黑龙江省2021年预算绩效管理提质增效行动方案》的完成时限,按任务
# 编号。任务记录本身有“截止日期”时以记录为准;没有时按本表。
# The 2021 action plan's deadlines by task code (seed 001, 附件: each
# "X月底前…"). A task record's own 截止日期 wins; this table is used when
# the record has none. Add a year's plan by adding its codes.
deadlines:
  HLJ2021-01:
    due: "2021-05-31"
    task: "5月底前督促指导同级部门单位对2021年绩效目标进行补充完善。"
  HLJ2021-02:
    due: "2021-06-30"
    task: "6月底前建立新增重大政策(项目)事前绩效评估机制,结合实际确定重大政策(项目)范围和标准,并报省财政厅备案。"
  HLJ2021-03:
    due: "2021-08-31"
    task: "8月底前各地各部门要按照全面实施预算绩效管理要求,明确预算绩效管理专职人员,加快制定完善覆盖所有管理对象,贯穿预算绩效管理全过程,适用于本地本部门的制度办法,建立健全事前绩效评估、绩效运行监控、绩效评价等预算绩效管理制度体系。"
  HLJ2021-04:
    due: "2021-09-30"
    task: "9月底前组织本级部门预算单位对绩效目标实现程度和预算执行进度开展集中监控,建立绩效监控结果与预算调剂挂钩机制。"
  HLJ2021-05:
    due: "2021-10-31"
    task: "10月底前将本级一般公共预算、政府性基金预算、国有资本经营预算资金全部纳入绩效目标管理,组织相关专家和第三方机构对重要绩效目标进行集中审核。"
  HLJ2021-06:
    due: "2021-11-30"
    task: "11月底前市县财政部门要参照省级做法,组织同级部门单位完成对2020年上级转移支付补助和本级预算安排项目支出预算全面开展绩效自评价,对部门单位自评结果进行抽查,扩大部门评价和财政评价范围。"
  HLJ2021-07:
    due: "2022-02-28"
    task: "2022年2月底前对部门、下级长期沉淀闲置或难以形成实际支出的财政存量资金,按规定收回统筹使用。"
  HLJ2021-08:
    due: "2021-08-31"
    task: "8月底前组织同级部门单位申报2022年预算开展事前绩效评估,加强评估结果应用。"
  HLJ2021-09:
    due: "2021-09-30"
    task: "9月底前市县财政部门要建立本地共性指标框架,组织指导本级部门单位建立本地分行业分领域指标和标准体系。"
