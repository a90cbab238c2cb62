return policy {
  id = "bench-dist", title = "district: key new projects", regions = { "500103" },
  rules = { { id = "b_key", title = "重点项目", source = "RULES.md fj_key_new_project" } },
  on_execution = function(rec, ctx)
    if rec.is_new and rec.budget and rec.budget >= 300000000 then
      alert { rule = "b_key", level = "info",
              message = "新增 " .. fw.yuan(rec.budget) .. " 元: 重点项目" }
    end
  end,
}
