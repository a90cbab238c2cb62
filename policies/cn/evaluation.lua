-- 全国默认规则(评价记录):绩效评价等级 grade 与单位自评总分
-- self_eval_total(财预〔2020〕10号). Bands and the execution-rate weight
-- come from evaluation.yaml. Scores are exact to 0.01: every sum is done in
-- integer hundredths.
local notice = require "notice"

local GRADE_ADVICE = {
  ["优"] = "",
  ["良"] = "",
  ["中"] = "请针对评价发现的问题完善管理、改进措施。",
  ["差"] = "依照财预〔2020〕10号等规定,对绩效评价结果为差的项目,建议在下一年度"
        .. "预算安排中予以压减、整合或取消。",
}

return policy {
  id = "cn-evaluation",
  title = "全国:绩效评价等级与单位自评得分",
  regions = { "" },
  rules = {
    { id = "grade", title = "绩效评价结果分级(优/良/中/差)",
      source = "财政部《项目支出绩效评价管理办法》(财预〔2020〕10号)第二十六条:"
            .. "“总分一般设置为100分,等级一般划分为四档:90(含)-100分为优、"
            .. "80(含)-90分为良、60(含)-80分为中、60分以下为差。”;"
            .. "seed 001(富锦市财政2021年绩效评价管理情况,附件):“对于绩效评价"
            .. "结果为差、资金安排交叉重复或碎片化、政策目标已完成或到期的项目,"
            .. "一律予以压减、整合或取消”" },
    { id = "self_eval_total", title = "单位自评总分(预算执行率 10 + 产出 50 + 效益 30 + 满意度 10)",
      source = "财政部《项目支出绩效评价管理办法》(财预〔2020〕10号)第十二条:"
            .. "“原则上预算执行率和一级指标权重统一设置为:预算执行率10%、"
            .. "产出指标50%、效益指标30%、服务对象满意度指标10%。”" },
  },
  params = {
    grade_bands = notice.grade_bands(), -- 优 良 中 的最低分 (notice.lua)
    self_eval_total = {
      execution_weight = fw.score "预算执行率指标的满分",
    },
  },

  on_evaluation = function(rec, ctx)
    local bands = notice.bands(ctx)

    -- grade: the 复核评分 when there is one, else the 自评分.
    local s, which = fw.graded_score(rec)
    if s ~= nil then
      local g = fw.grade(s, bands)
      score {
        rule = "grade", score = fw.fix(s), grade = g,
        message = string.format("%s,%s %s 分,绩效评价等级为%s。%s",
                                fw.subject(rec), which, fw.fix(s), g,
                                GRADE_ADVICE[g]),
      }
    end

    -- self_eval_total: all three parts, and a budget to rate execution on.
    local o, b, sat = rec.output_pts, rec.benefit_pts, rec.satisfaction_pts
    if o == nil or b == nil or sat == nil then return end
    if rec.budget == nil or rec.budget <= 0 or rec.paid == nil then return end
    local weight = ctx.params.self_eval_total.execution_weight
    local w = fw.hundredths(weight)
    local paid = math.min(math.max(rec.paid, 0), rec.budget)
    -- w × paid / budget in hundredths, rounded half away from zero (≥ 0)
    local exec = (2 * w * paid + rec.budget) // (2 * rec.budget)
    local total = exec + fw.hundredths(o) + fw.hundredths(b)
                  + fw.hundredths(sat)
    local g = fw.grade(fw.fix(total / 100), bands)
    score {
      rule = "self_eval_total", score = fw.fix(total / 100), grade = g,
      message = string.format(
        "%s,单位自评得分 %s 分 = 预算执行率 %s(支出进度 %s%%,满分 %s)+ 产出 %s"
        .. " + 效益 %s + 满意度 %s,等级为%s。",
        fw.subject(rec), fw.fix(total / 100), fw.fix(exec / 100),
        fw.fix(fw.progress(rec)), fw.num(weight), fw.fix(o), fw.fix(b),
        fw.fix(sat), g),
    }
  end,
}
