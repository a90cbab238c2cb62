return policy {
  id = "bad",
  title = "a missing comma",
  regions = { "" }
  rules = {},
}
