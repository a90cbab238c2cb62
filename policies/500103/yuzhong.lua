-- 重庆市渝中区(区划 500103):部门整体绩效与公用经费和一般性项目支出挂钩
-- yz_linkage,自评项目再评价抽样 yz_reeval_sample(本批数据结束时汇总),
-- 整体资金规模超过 5 亿元的部门纳入重点评价 yz_dept_key. Numbers come
-- from yuzhong.yaml. A record lacking what a rule needs gives no finding.
local notice = require "notice"

local seed000 = "seed 000(重庆市渝中区财政局关于区十九届人大三次会议DH230号建议的复函):"

-- A department-level record: one without a project code.
local function dept_level(rec) return rec.project == nil end

local function dept_key(rec, ctx)
  if not dept_level(rec) or rec.budget == nil then return end
  local over = ctx.params.yz_dept_key.over -- fen
  if rec.budget <= over then return end
  alert {
    rule = "yz_dept_key", level = "info",
    message = string.format(
      "%s,资金规模 %s,超过 %s,应纳入本年度部门整体重点评价。",
      fw.subject(rec), notice.yuan(rec.budget), notice.yuan(over)),
  }
end

local function linkage(rec, ctx)
  if not dept_level(rec) or rec.base == nil or rec.base <= 0 then return end
  local s, which = fw.graded_score(rec)
  if s == nil then return end
  local g = fw.grade(s, notice.bands(ctx))
  local p = ctx.params.yz_linkage
  local pct, sign, verb
  if g == "优" then
    pct, sign, verb = p.bonus_pct, 1, "增加"
  elseif g == "差" then
    pct, sign, verb = p.penalty_pct, -1, "扣减"
  else
    return -- 良 / 中: no adjustment
  end
  local cap = p.cap -- fen
  local raw = fw.pct(rec.base, pct)
  local amount = math.min(raw, cap)
  local capped = ""
  if raw > cap then
    capped = string.format(",超过上限 %s,按上限计", notice.yuan(cap))
  end
  score {
    rule = "yz_linkage", score = fw.fix(s), grade = g,
    amount = sign * amount,
    message = string.format(
      "%s,部门整体绩效评价%s %s 分,等级为%s。按挂钩基数(公用经费 + 一般性"
      .. "项目支出)%s的 %s%% 计 %s%s,%s下一年度公用经费和一般性项目支出 %s。",
      fw.subject(rec), which, fw.fix(s), g, notice.yuan(rec.base),
      fw.num(pct), notice.yuan(raw), capped, verb, notice.yuan(amount)),
  }
end

-- Project evaluations of this feed, by region (6 digits) and budget year.
local function collect(rec, ctx)
  if dept_level(rec) then return end
  local region = rec.region:sub(1, 6)
  local key = region .. "|" .. tostring(rec.year or "")
  local st = ctx.state
  st.groups = st.groups or {}
  local g = st.groups[key]
  if g == nil then
    g = { region = region, year = rec.year, seen = {}, list = {} }
    st.groups[key] = g
  end
  if rec.as_of and (g.as_of == nil or rec.as_of > g.as_of) then
    g.as_of = rec.as_of
  end
  if g.seen[rec.project] then return end -- a project evaluated twice counts once
  g.seen[rec.project] = rec.project_name or ""
  -- "<sha256 hex> <code>": sorted as plain strings by table.sort's own C
  -- comparison, so a feed of many thousands of projects stays far inside
  -- the instruction budget of on_feed_end.
  g.list[#g.list + 1] = fw.hash(rec.project) .. " " .. rec.project
end

local function sample(ctx)
  local groups = ctx.state.groups
  if groups == nil then return end
  local keys = {}
  for k in pairs(groups) do keys[#keys + 1] = k end
  table.sort(keys)
  local pct = ctx.params.yz_reeval_sample.pct
  local ph = fw.hundredths(pct)
  for _, k in ipairs(keys) do
    local g = groups[k]
    local n_all = #g.list
    local n = (ph * n_all + 9999) // 10000 -- ceil(pct % × N)
    table.sort(g.list)
    local picked = {}
    for i = 1, math.min(n, n_all) do
      local code = g.list[i]:sub(66) -- after the 64 hex digits and a blank
      local name = g.seen[code]
      picked[i] = name ~= "" and string.format("%s %s", code, name) or code
    end
    alert {
      rule = "yz_reeval_sample", level = "info", region = g.region,
      as_of = g.as_of,
      period = g.year and tostring(g.year) or nil,
      message = string.format(
        "%s本批共 %d 个项目完成绩效自评,按不低于 %s%% 的比例抽取 %d 个项目开展"
        .. "再评价(按项目编码的 sha256 值由小到大选取):%s。",
        g.year and string.format("%d 年度", g.year) or "", n_all,
        fw.num(pct), n, table.concat(picked, ";")),
    }
  end
end

return policy {
  id = "yz-evaluation",
  title = "渝中区:评价结果挂钩、自评项目再评价抽样与部门整体重点评价",
  regions = { "500103" },
  rules = {
    { id = "yz_linkage", title = "部门整体绩效与公用经费和一般性项目支出挂钩",
      source = seed000 .. "“明确将部门整体绩效与部门公用经费和一般性项目支出"
            .. "挂钩,最高可达100万元”(上限);5% 为默认值 D,见 "
            .. "policies/500103/yuzhong.yaml" },
    { id = "yz_reeval_sample", title = "按不低于5%比重抽取自评项目开展再评价",
      source = seed000 .. "“在部门自评全覆盖基础上,每年按不低于5%比重抽取"
            .. "自评项目开展再评价”" },
    { id = "yz_dept_key", title = "整体资金规模超过5亿元的部门纳入每年度重点评价",
      source = seed000 .. "“整体资金规模超过5亿元的部门全部纳入每年度重点评价,"
            .. "其余部门以五年为周期至少开展一次部门整体重点评价。”" },
  },
  params = {
    grade_bands = notice.grade_bands(), -- 优 良 中 的最低分 (notice.lua)
    yz_linkage = {
      bonus_pct = fw.percent "优:按挂钩基数的此比例增加",
      penalty_pct = fw.percent "差:按挂钩基数的此比例扣减",
      cap = fw.money "增减金额的上限",
    },
    yz_reeval_sample = {
      pct = fw.percent "抽取自评项目开展再评价的最低比例",
    },
    yz_dept_key = {
      over = fw.money "部门整体资金规模超过此数 → 重点评价",
    },
  },

  on_execution = function(rec, ctx)
    dept_key(rec, ctx)
  end,

  on_evaluation = function(rec, ctx)
    dept_key(rec, ctx)
    linkage(rec, ctx)
    collect(rec, ctx)
  end,

  on_feed_end = function(ctx)
    sample(ctx)
  end,
}
