return policy {
  id = "good", title = "a sane policy", regions = { "" },
  rules = { { id = "g", title = "g", source = "issue 21" } },
  on_execution = function(rec, ctx)
    alert { rule = "g", level = "info", message = "seen " .. rec.project }
  end,
}
