-- Reads a field by a computed name (the static checks cannot see it):
-- "budjet" is no column of the feed and close to budget, said once a feed.
local FIELD = "bud" .. "jet"
return policy {
  id = "miss", title = "a misspelt field read at run time", regions = { "" },
  rules = { { id = "miss_big", title = "big budget", source = "test" } },
  on_execution = function(rec, ctx)
    local b = rec[FIELD] or 0
    if rec["经办人"] == nil and b > 0 then
      alert { rule = "miss_big", level = "info", message = "never" }
    end
  end,
}
