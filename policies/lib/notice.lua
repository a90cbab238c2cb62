-- Shared by the reference policies: the wording of a 整改通知 that the fw.*
-- helpers do not give. Pure functions; no finding is emitted here. (The
-- exact-hundredths and subject helpers that were here are fw.hundredths,
-- fw.diff, fw.fix, fw.num, fw.ratio, fw.subject and fw.graded_score now:
-- docs/policies.md §6.)
local M = {}

-- yuan text of integer fen with its unit: "1500000.00 元".
function M.yuan(fen)
  return fw.yuan(fen) .. " 元"
end

-- The declaration of a grade_bands parameter (params = { grade_bands =
-- notice.grade_bands() }): the lowest score of 优, 良 and 中, inclusive.
function M.grade_bands()
  return {
    ["优"] = fw.score "优的最低分(含)",
    ["良"] = fw.score "良的最低分(含)",
    ["中"] = fw.score "中的最低分(含);以下为差",
  }
end

-- The grade bands of a policy's typed grade_bands parameter
-- ({优 = 90, 良 = 80, 中 = 60}) as the list fw.grade takes.
function M.bands(ctx)
  local b = ctx.params.grade_bands
  return { b["优"], b["良"], b["中"] }
end

return M
