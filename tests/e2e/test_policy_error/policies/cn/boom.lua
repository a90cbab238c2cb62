-- Fails on purpose: raises for big budgets, loops forever for region 500103,
-- emits a malformed finding for region 110102.
return policy {
  id = "boom",
  title = "a policy that errs",
  regions = { "" },
  rules = { { id = "boom_ok", title = "fires when all is well", source = "test" } },
  on_execution = function(rec, ctx)
    if rec.region == "500103" then
      while true do end
    end
    if rec.region == "110102" then
      alert { rule = "boom_ok", level = ("pur" .. "ple"), message = "bad level" }
      return
    end
    if rec.budget > 100000000 then
      error("budget too large for this policy")
    end
    alert { rule = "boom_ok", level = "info", message = "ok" }
  end,
}
