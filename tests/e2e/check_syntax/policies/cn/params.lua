return policy {
  id = "params",
  title = "its YAML does not parse",
  regions = { "" },
  rules = { { id = "p_rule", title = "t", source = "s" } },
}
