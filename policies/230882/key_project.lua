-- 富锦市(区划 230882):新增 300 万元以上项目作为重点项目,须第三方开展
-- 重点绩效目标审核 fj_key_new_project. The amount comes from
-- key_project.yaml. Only project-level execution records marked new; a
-- record whose 是否新增 or 指标金额 is missing gives no finding.
local notice = require "notice"

return policy {
  id = "fj-key-project",
  title = "富锦市:新增重点项目绩效目标审核",
  regions = { "230882" },
  rules = {
    { id = "fj_key_new_project", title = "新增300万元以上项目作为重点项目",
      source = "seed 001(富锦市财政2021年绩效评价管理情况):“同时,我市将2022年新增"
            .. "300万元以上的项目作为重点项目,目前我市2022年预算中新增的300万元以上"
            .. "重点项目为1个,我市已邀请第三方对其进行了重点绩效目标审核”" },
  },
  params = {
    fj_key_new_project = {
      at_least = fw.money "新增项目指标金额达到此数即为重点项目",
    },
  },

  on_execution = function(rec, ctx)
    if rec.project == nil or rec.is_new ~= true or rec.budget == nil then
      return
    end
    local at_least = ctx.params.fj_key_new_project.at_least -- fen
    if rec.budget < at_least then return end
    alert {
      rule = "fj_key_new_project", level = "info",
      message = string.format(
        "%s为新增项目,指标金额 %s,达到 %s的重点项目标准,应作为重点项目,"
        .. "邀请第三方机构开展重点绩效目标审核。",
        fw.subject(rec), notice.yuan(rec.budget), notice.yuan(at_least)),
    }
  end,
}
