/* The static checks of a policy's tokens (rules/lint.c), the typed
 * parameters (rules/params.c) and the plain words for Lua's and libyaml's
 * messages (rules/plain.c), through the engine as the commands build it. */
#include "task.h"

#include "fundwatch/engine.h"
#include "fundwatch/value.h"
#include "params.h"
#include "plain.h"

/* Builds one policy p/cn/t.lua (src) with its YAML (yaml, or NULL) with the
 * static checks on; returns every problem, one a line ("" when it built). */
static const char *build(const char *src, const char *yaml)
{
    static char buf[8192];
    struct fw_src_file f[2] = {
        {.path = "p/cn/t.lua", .data = src, .len = strlen(src)},
        {.path = "p/cn/t.yaml", .data = yaml, .len = yaml ? strlen(yaml) : 0},
    };
    struct fw_engine_opts o = {.lint = true};
    struct fw_diag d;
    fw_diag_init(&d);
    struct fw_engine *e = fw_engine_build(f, yaml ? 2 : 1, &o, &d);
    buf[0] = '\0';
    for (size_t i = 0; i < d.n; i++) {
        strncat(buf, d.items[i], sizeof buf - strlen(buf) - 2);
        strcat(buf, "\n");
    }
    fw_diag_fini(&d);
    fw_engine_free(e);
    return buf;
}

#define HEAD                                                                  \
    "return policy { id = 't', title = 't', regions = { '' },\n"             \
    "  rules = { { id = 'r_one', title = 'r', source = 's' } },\n"

TEST_IMPL(lint_unknown_globals)
{
    const char *p = build(HEAD
        "  on_execution = function(rec, ctx)\n"
        "    local lag = fw.lagg(rec)\n"
        "    alart { rule = 'r_one', level = 'red', message = 'x' }\n"
        "    clawbak { rule = 'r_one', amount = 1, message = 'x' }\n"
        "    local s = string.formt('%d', 1)\n"
        "    zzqq()\n"
        "  end,\n"
        "}\n", NULL);
    ASSERT_CONTAINS(p, "p/cn/t.lua:4:20: fw.lagg does not exist (did you "
                       "mean fw.lag?)");
    ASSERT_CONTAINS(p, "p/cn/t.lua:5:5: \"alart\" is not defined (did you "
                       "mean \"alert\"?)");
    ASSERT_CONTAINS(p, "p/cn/t.lua:6:5: \"clawbak\" is not defined (did you "
                       "mean \"clawback\"?)");
    ASSERT_CONTAINS(p, "p/cn/t.lua:7:22: string.formt does not exist (did "
                       "you mean string.format?)");
    ASSERT_CONTAINS(p, "p/cn/t.lua:8:5: \"zzqq\" is not defined: no local");
    return 0;
}

TEST_IMPL(lint_valid_code_is_not_refused)
{
    /* locals, parameters, loop variables, globals the file assigns, table
     * keys, methods, labels, attributes, long strings and comments */
    const char *p = build(
        "local M <const> = { a = 1 }\n"
        "helper_total = 0\n"
        "function shared_fn(x) return x end\n"
        "local function f(a, b, ...) return a, b end\n"
        "local O = {}\nfunction O:get() return self end\n"
        "local e = _ENV\n"
        "--[[ alart fw.lagg ]] local s = [==[ alart ]==]\n"
        HEAD
        "  on_execution = function(rec, ctx)\n"
        "    for i, v in ipairs({ 1, 2 }) do helper_total = helper_total + v end\n"
        "    for k = 1, 2 do goto done end\n"
        "    ::done::\n"
        "    local t = { budjet = 1, ['x'] = 2 }\n"
        "    local str = ('a'):upper() .. s .. shared_fn('b')\n"
        "    local n = f(1, 2) + M.a + t.budjet + #str\n"
        "    alert { rule = 'r_one', level = n > 0 and 'red' or 'info',\n"
        "            message = string.format('%d', n) }\n"
        "  end,\n"
        "}\n", NULL);
    ASSERT_EQ_STR(p, "");
    return 0;
}

TEST_IMPL(lint_emit_literals)
{
    const char *p = build(HEAD
        "  on_execution = function(rec, ctx)\n"
        "    alert { rule = 'r_onee', level = 'red', message = 'x' }\n"
        "    alert({ rule = 'r_one', level = 'orange', message = 'x' })\n"
        "    score { rule = 'nothing_like_it', grade = 'A', score = 1 }\n"
        "    alert { rule = 'r_one', level = 'info', message = 'x',\n"
        "            nested = { level = 'not checked' } }\n"
        "  end,\n"
        "}\n", NULL);
    ASSERT_CONTAINS(p, "p/cn/t.lua:4:20: alert: rule \"r_onee\" is not "
                       "declared by this policy (did you mean \"r_one\"?)");
    ASSERT_CONTAINS(p, "p/cn/t.lua:5:37: alert: level \"orange\" is not one "
                       "of \"red\", \"yellow\", \"info\"");
    ASSERT_CONTAINS(p, "p/cn/t.lua:6:20: score: rule \"nothing_like_it\" is "
                       "not declared by this policy (its rules are listed");
    ASSERT_CONTAINS(p, "p/cn/t.lua:6:47: score: grade \"A\" is not one of");
    ASSERT(strstr(p, "not checked") == NULL);
    return 0;
}

TEST_IMPL(lint_record_fields)
{
    const char *src =
        "return policy { id = 't', title = 't', regions = { '' },\n"
        "  rules = { { id = 'r', title = 'r', source = 's' } },\n"
        "  on_execution = function(r, ctx)\n"
        "    local a = r.budjet or r.budget or r.source or r['指标金额']\n"
        "    local b = r['经办人'] or r['budgte'] or r.zzzz or rec_x\n"
        "  end,\n"
        "}\n";
    struct fw_diag w;
    fw_diag_init(&w);
    const char *cols[] = {"zzzz"};
    ASSERT_EQ_INT(fw_lint_fields("t.lua", src, strlen(src), NULL, 0, &w), 3);
    ASSERT_EQ_INT(w.n, 3);
    ASSERT_EQ_STR(w.items[0], "t.lua:4:17: warning: the record has no field "
                              "\"budjet\" (did you mean rec.budget?)");
    ASSERT_EQ_STR(w.items[1], "t.lua:5:35: warning: the record has no field "
                              "\"budgte\" (did you mean rec.budget?)");
    ASSERT_CONTAINS(w.items[2], "t.lua:5:50: warning: the record has no "
                                "field \"zzzz\": it is no canonical field");
    fw_diag_fini(&w);
    fw_diag_init(&w);
    ASSERT_EQ_INT(fw_lint_fields("t.lua", src, strlen(src), cols, 1, &w), 2);
    fw_diag_fini(&w);
    return 0;
}

#define TYPED                                                                 \
    HEAD                                                                      \
    "  params = { lag = { red = fw.points 'r', yellow = fw.points 'y' },\n"  \
    "             over = fw.money 'o', from = fw.monthday 'f' },\n"          \
    "}\n"

TEST_IMPL(params_checked_at_the_yaml_line)
{
    ASSERT_EQ_STR(build(TYPED, "lag: {red: 20, yellow: 10}\nover: 3亿\n"
                               "from: 9-30\n"), "");
    const char *p = build(TYPED, "lag:\n  redd: 20\n  yellow: 十五\n"
                                 "red: 20\nover: [1]\nfrom: 13-01\nextra: 1\n");
    ASSERT_EQ_STR(p,
        "p/cn/t.yaml:1:1: parameter lag.red is missing\n"
        "p/cn/t.yaml:2:3: unknown parameter \"redd\" under lag (did you mean "
        "\"red\"?)\n"
        "p/cn/t.yaml:3:11: parameter lag.yellow: \"十五\" is not percentage "
        "points: a number such as 20 or 19.5\n"
        "p/cn/t.yaml:4:1: parameter \"red\" is at the wrong level: the policy "
        "declares lag.red\n"
        "p/cn/t.yaml:5:7: parameter over: a list is not money: such as "
        "3000000, \"3,000,000.00元\", 300万 or 3亿\n"
        "p/cn/t.yaml:6:7: parameter from: \"13-01\" is not a month and day "
        "such as 09-30\n"
        "p/cn/t.yaml:7:1: unknown parameter \"extra\"\n");
    p = build(TYPED, NULL);
    ASSERT_CONTAINS(p, "p/cn/t.lua:1: parameter from is declared but "
                       "p/cn/t.yaml does not exist");
    p = build(HEAD "  params = { x = 3 },\n}\n", "x: 1\n");
    ASSERT_CONTAINS(p, "p/cn/t.lua:1: params.x: declare it with its kind");
    p = build(HEAD "  params = fw.points 'x',\n}\n", "x: 1\n");
    ASSERT_CONTAINS(p, "p/cn/t.lua:1: params must be a table of parameters");
    return 0;
}

TEST_IMPL(plain_lua_and_yaml_messages)
{
    char out[1024];
    const char *src = "local t = {\n  a = 1\n  b = 2\n}\n";
    ASSERT(fw__plain_lua("x.lua", "x.lua:3: '}' expected (to close '{' at "
                         "line 1) near 'b'", src, strlen(src), out,
                         sizeof out));
    ASSERT_EQ_STR(out, "x.lua:2:8: a comma is missing at the end of this line "
                       "(or a } to close the { of line 1)\n"
                       "    2 |   a = 1\n"
                       "      |        ^");
    ASSERT(!fw__plain_lua("x.lua", "x.lua:3: attempt to call a nil value",
                          src, strlen(src), out, sizeof out));
    ASSERT(!fw__plain_lua("y.lua", "x.lua:3: '}' expected near 'b'", src,
                          strlen(src), out, sizeof out));
    const char *y = "a:\n\tb: 1\n";
    int line = 2, col = 1;
    ASSERT(fw__plain_yaml(y, strlen(y), "found character that cannot start "
                          "any token", "while scanning for the next token",
                          &line, &col, 2, out, sizeof out));
    ASSERT_CONTAINS(out, "a tab is used to indent this line");
    ASSERT_EQ_INT(line, 2);
    ASSERT_EQ_INT(col, 1);
    /* a caret under wide characters lines up: 2 columns a character */
    fw__caret("名称: x\n", 9, 1, 7, out, sizeof out);
    ASSERT_EQ_STR(out, "\n    1 | 名称: x\n      |     ^");
    return 0;
}

TEST_IMPL(suggest_names)
{
    const char *c[] = {"alert", "clawback", "score", "fw"};
    ASSERT_EQ_STR(fw__suggest("alart", c, 4), "alert");
    ASSERT_EQ_STR(fw__suggest("clawbak", c, 4), "clawback");
    ASSERT_EQ_STR(fw__suggest("socre", c, 4), "score");
    ASSERT(fw__suggest("budget", c, 4) == NULL);
    ASSERT(fw__suggest("alert", c, 4) == NULL);
    return 0;
}
