return policy {
  id = "decl",
  title = "an unknown key and a replaces that names nothing",
  regions = { "50" },
  colour = "red",
  replaces = { "no_such_rule" },
  rules = { { id = "d_rule", title = "t", source = "s" } },
}
