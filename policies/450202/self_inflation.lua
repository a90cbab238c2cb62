-- 柳州市城中区(区划 450202):单位自评分明显高于第三方复核评分(自评虚高)
-- lz_self_inflation. Thresholds come from self_inflation.yaml; an
-- evaluation without both scores gives no finding.
return policy {
  id = "lz-self-inflation",
  title = "柳州市城中区:绩效自评虚高预警",
  regions = { "450202" },
  rules = {
    { id = "lz_self_inflation", title = "自评分高于复核评分(自评虚高)",
      source = "seed 004(2022年城中区预算绩效管理工作开展情况)所见的规律:“自评分"
            .. "100分的部门有16个、95分以上(含95分)的部门53个”,而“复核评分85分以上"
            .. "(含85分)的部门有8个、80分以上(含80分)的部门27个、75分以上(含75分)"
            .. "的部门44个”;10 / 20 分为默认值 D,见 "
            .. "policies/450202/self_inflation.yaml" },
  },
  params = {
    lz_self_inflation = {
      yellow = fw.points "自评分高出复核评分达到此数 → 黄色预警",
      red = fw.points "自评分高出复核评分达到此数 → 红色预警",
    },
  },

  on_evaluation = function(rec, ctx)
    if rec.score == nil or rec.review_score == nil then return end
    local t = ctx.params.lz_self_inflation
    local gap = fw.diff(rec.score, rec.review_score)
    local level, name, line
    if gap >= t.red then level, name, line = "red", "红色预警", t.red
    elseif gap >= t.yellow then level, name, line = "yellow", "黄色预警", t.yellow
    else return end
    alert {
      rule = "lz_self_inflation", level = level,
      message = string.format(
        "自评虚高%s:%s,自评分 %s 分,复核评分 %s 分,自评高出复核 %s 分(达到 %s "
        .. "分)。请单位对照评价指标如实开展绩效自评,说明自评依据,并针对复核发现"
        .. "的问题整改。",
        name, fw.subject(rec), fw.fix(rec.score), fw.fix(rec.review_score),
        fw.fix(gap), fw.num(line)),
    }
  end,
}
