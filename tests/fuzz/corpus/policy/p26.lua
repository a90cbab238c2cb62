-- Shared by the reference policies: reading thresholds from the policy's
-- YAML as exact hundredths, and the wording of a 整改通知 (who, figures in
-- 元 and percent). Pure functions; no finding is emitted here.
local M = {}

-- x (a number with at most two decimals, or decimal text) as an integer
-- count of hundredths, so that comparisons with thresholds are exact:
-- 58.33 − 38.33 ≥ 20 is decided on 5833 − 3833 ≥ 2000, never on floats.
function M.h(x, what, level)
  level = (level or 1) + 1
  local orig = x
  if type(x) == "string" then x = tonumber((x:gsub("%%$", ""))) end
  if math.type(x) == "integer" then return x * 100 end
  if type(x) ~= "number" or x ~= x or x == math.huge or x == -math.huge then
    error(string.format("%s: a number such as 20 or 19.99 expected, got %s",
                        what or "value", tostring(orig)), level)
  end
  local r = x * 100
  local i = r >= 0 and math.floor(r + 0.5) or -math.floor(-r + 0.5)
  if math.abs(r - i) > 1e-6 then
    error(string.format("%s: %s has more than two decimals", what or "value",
                        tostring(orig)), level)
  end
  return math.tointeger(i)
end

-- The parameter at path ("red", "linkage.cap") of ctx.params; a missing
-- one is an error naming the key, reported at the policy's line that asked
-- for it, so that a YAML typo fails the policy's tests (and a reload)
-- instead of silently disabling a rule.
local function lookup(ctx, path) -- called by param and hparam only
  local v = ctx.params
  for k in path:gmatch("[^.]+") do
    if type(v) ~= "table" then v = nil break end
    v = v[k]
  end
  if v == nil then
    error(string.format("parameter %q is missing from %s's YAML", path,
                        ctx.policy), 3)
  end
  return v
end

function M.param(ctx, path)
  return lookup(ctx, path)
end

-- A numeric parameter as hundredths.
function M.hparam(ctx, path)
  local h = M.h(lookup(ctx, path),
                string.format("parameter %q of %s's YAML", path, ctx.policy), 2)
  return h -- not a tail call: the error levels above count this frame
end

-- Hundredths as "20.00" (percentage points, scores, percents).
function M.fix(h)
  local s = h < 0 and "-" or ""
  h = math.abs(h)
  return string.format("%s%d.%02d", s, h // 100, h % 100)
end

-- A threshold in hundredths the way an officer writes it: "20", "12.5".
function M.num(h)
  local s = M.fix(h):gsub("0+$", ""):gsub("%.$", "")
  return s
end

-- A percent in hundredths (30 % = 3000) as the ratio text of a clawback:
-- "0.30", "1.00", "0.125".
function M.ratio(h)
  local s = string.format("%d.%04d", h // 10000, h % 10000)
  return (s:gsub("(%.%d%d%d-)0+$", "%1"))
end

-- yuan text of integer fen with its unit: "1500000.00 元".
function M.yuan(fen)
  return fw.yuan(fen) .. " 元"
end

-- Who a notice is about: 项目"学校校舍维修改造"(500103240001), or the
-- budget unit for department-level records, or the task.
function M.subject(rec)
  if rec.project then
    if rec.project_name then
      return string.format("项目“%s”(%s)", rec.project_name, rec.project)
    end
    return string.format("项目 %s", rec.project)
  end
  if rec.task then
    if rec.task_name then
      return string.format("任务“%s”(%s)", rec.task_name, rec.task)
    end
    return string.format("任务 %s", rec.task)
  end
  local unit = rec.dept_name or rec.dept
  if unit and rec.dept_name and rec.dept then
    return string.format("单位“%s”(%s)整体", rec.dept_name, rec.dept)
  end
  if unit then return string.format("单位 %s 整体", unit) end
  return "该笔指标"
end

-- The score a grade is given on: the 复核评分 when there is one, else the
-- 自评分 (RULES.md: grade). Returns the score and its name, or nil.
function M.graded_score(rec)
  if rec.review_score ~= nil then return rec.review_score, "复核评分" end
  if rec.score ~= nil then return rec.score, "自评分" end
  return nil
end

-- The grade bands of a policy's YAML (grade_bands: {优: 90, 良: 80, 中: 60})
-- as the list fw.grade takes.
function M.bands(ctx)
  return { M.hparam(ctx, "grade_bands.优") / 100,
           M.hparam(ctx, "grade_bands.良") / 100,
           M.hparam(ctx, "grade_bands.中") / 100 }
end

return M
