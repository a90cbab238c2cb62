-- A policy written by an attacker: each project of the feed names one way
-- around the sandbox (issue 21). Each must end in an error finding, within
-- the limits, while the good policy beside it finds what it always finds.
local attacks = {
  loop = function() while true do end end,
  xpcall = function()
    xpcall(function() while true do end end, function() while true do end end)
  end,
  close = function()
    local x <close> = setmetatable({}, { __close = function() while true do end end })
    while true do end
  end,
  tostring = function()
    error(setmetatable({}, { __tostring = function() while true do end end }))
  end,
  pattern = function()
    string.rep("a", 3000):find(string.rep("a*", 20) .. "b")
  end,
  compare = function()
    local a = string.rep("x", 2000000)
    local b, c = a:sub(1, -2) .. "x", a .. "y"
    while true do local _ = a == b and a < c end
  end,
  move = function() table.move({}, 1, math.maxinteger, 2) end,
  len = function()
    table.insert(setmetatable({}, { __len = function() return 1 << 62 end }), 1, "x")
  end,
  string = function() local s = string.rep("x", 1 << 20) s = s .. s .. "y" end,
  memory = function()
    local t = {}
    while true do t[#t + 1] = string.rep("m", 60000) .. #t end
  end,
  message = function()
    alert { rule = "h", level = "info", message = string.rep("\1", 5000) }
  end,
  flood = function()
    for i = 1, 1000000 do alert { rule = "h", level = "info", period = tostring(i) } end
  end,
}

return policy {
  id = "hostile", title = "an attacker's policy", regions = { "" },
  rules = { { id = "h", title = "h", source = "issue 21" } },
  on_execution = function(rec, ctx)
    local attack = attacks[rec.project]
    if attack then attack() end
  end,
}
