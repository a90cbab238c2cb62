return policy { id = "keys", title = "t", regions = { "" }, rules = { { id = "k_rule", title = "t", source = "s" } } }
