return policy {
  id = "params",
  title = "the same id as cn/params.lua",
  regions = { "50" },
  rules = { { id = "p2_rule", title = "t", source = "s" } },
}
