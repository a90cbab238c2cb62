return policy { id = "ok", title = "t", regions = { "" }, rules = {} }
