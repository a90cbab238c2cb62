/* What a policy emits: alert { }, clawback { } and score { } read and check
 * their table (every field bounded), and hand the finding to the engine
 * (fw__engine_emit). A Lua host file (lua_int.h): computes, no I/O. */
#include <lauxlib.h>
#include <lua.h>
#include <stdbool.h>
#include <string.h>

#include "lua_int.h"
#include "fundwatch/finding.h"
#include "fundwatch/record.h"

#define REG_OWN "fw.own" /* = lua_host.c's: this policy's rule id → index */

/* The fields an emit's table may hold. */
enum emit_key {
    E_RULE, E_MESSAGE, E_REGION, E_DEPT, E_PROJECT, E_TASK, E_AS_OF,
    E_PERIOD, E_LEVEL, E_AMOUNT, E_RATIO, E_SCORE, E_GRADE, E__N
};
static const char *const emit_keys[E__N] = {
    "rule", "message", "region", "dept", "project", "task", "as_of",
    "period", "level", "amount", "ratio", "score", "grade"};
#define E_COMMON                                                              \
    (1u << E_RULE | 1u << E_MESSAGE | 1u << E_REGION | 1u << E_DEPT |         \
     1u << E_PROJECT | 1u << E_TASK | 1u << E_AS_OF | 1u << E_PERIOD)
static const unsigned emit_allowed[3] = {
    E_COMMON | 1u << E_LEVEL, E_COMMON | 1u << E_AMOUNT | 1u << E_RATIO,
    E_COMMON | 1u << E_SCORE | 1u << E_GRADE | 1u << E_AMOUNT};

static int emit_key_of(const char *k, size_t n)
{
    for (int i = 0; i < E__N; i++)
        if (strncmp(emit_keys[i], k, n) == 0 && emit_keys[i][n] == '\0')
            return i;
    return -1;
}

/* The emit's table read once: at[f] is the stack index of field f's value,
 * 0 when absent. */
struct emit_view {
    int at[E__N];
};

/* The text of field f, or NULL when absent; at most max bytes (what the
 * engine copies out of the state for a finding is bounded). A number is
 * turned into text in its stack slot, which holds it until the emit ends. */
static const char *opt_text(lua_State *L, const struct emit_view *v,
                            enum emit_key f, const char *emit, size_t max)
{
    const char *k = emit_keys[f];
    int at = v->at[f];
    int ty = at ? lua_type(L, at) : LUA_TNIL;
    if (ty == LUA_TNIL)
        return NULL;
    if (ty != LUA_TSTRING && ty != LUA_TNUMBER)
        luaL_error(L, "%s: %s must be text, got %s", emit, k,
                   lua_typename(L, ty));
    size_t n;
    const char *s = lua_tolstring(L, at, &n);
    if (n > max)
        luaL_error(L, "%s: %s 长 %I 字节,超过上限 %I 字节 — %s is %I bytes, "
                   "longer than the limit of %I bytes", emit, k,
                   (LUAI_UACINT)n, (LUAI_UACINT)max, k, (LUAI_UACINT)n,
                   (LUAI_UACINT)max);
    return s;
}

int fw__host_emit(lua_State *L)
{
    static const char *const names[] = {"alert", "clawback", "score"};
    static const char *const keys_text[3] = {
        "rule, level, message, region, dept, project, task, as_of, period",
        "rule, amount, ratio, message, region, dept, project, task, as_of, "
        "period",
        "rule, score, grade, amount, message, region, dept, project, task, "
        "as_of, period"};
    struct fw__policy *p = pol_of(L);
    int kind = (int)lua_tointeger(L, lua_upvalueindex(1));
    const char *emit = names[kind];
    if (lua_type(L, 1) != LUA_TTABLE)
        return luaL_error(L, "%s { ... } takes a table, got %s", emit,
                          luaL_typename(L, 1));
    lua_settop(L, 1);
    /* One walk over the table: every key must be a field of this emit, and
     * each value is kept on the stack, below the walk's key. A table with
     * a metatable is read field by field instead (its __index may give
     * fields the walk does not see). */
    bool plain = !lua_getmetatable(L, 1);
    if (!plain)
        lua_pop(L, 1);
    struct emit_view v = {{0}};
    luaL_checkstack(L, E__N + 8, "emit");
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            return luaL_error(L, "%s: field names are text (fields: %s)", emit,
                              keys_text[kind]);
        size_t kn;
        const char *k = lua_tolstring(L, -2, &kn);
        int f = emit_key_of(k, kn);
        if (f < 0 || !(emit_allowed[kind] & 1u << f))
            return luaL_error(L, "%s: unknown field \"%s\" (fields: %s)", emit,
                              k, keys_text[kind]);
        if (plain) {
            lua_rotate(L, -2, 1); /* the value under the key */
            v.at[f] = lua_gettop(L) - 1;
        } else {
            lua_pop(L, 1);
        }
    }
    for (int f = 0; !plain && f < E__N; f++)
        if (emit_allowed[kind] & 1u << f) {
            if (lua_getfield(L, 1, emit_keys[f]) == LUA_TNIL)
                lua_pop(L, 1);
            else
                v.at[f] = lua_gettop(L);
        }
    struct fw__emit em = {.kind = (enum fw_fkind)kind, .rule = -1};
    const char *rule = opt_text(L, &v, E_RULE, emit, FW_DECL_MAX_ID);
    if (rule == NULL)
        return luaL_error(L, "%s: rule is missing (one of this policy's rule "
                          "ids)", emit);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_OWN);
    if (lua_getfield(L, -1, rule) != LUA_TNUMBER)
        return luaL_error(L, "%s: rule \"%s\" is not declared by policy %s",
                          emit, rule, p->id ? p->id : "?");
    em.rule = (int)lua_tointeger(L, -1);
    lua_pop(L, 2);

    em.message = opt_text(L, &v, E_MESSAGE, emit, FW_EMIT_MAX_MESSAGE);
    em.region = opt_text(L, &v, E_REGION, emit, FW_EMIT_MAX_FIELD);
    em.dept = opt_text(L, &v, E_DEPT, emit, FW_EMIT_MAX_FIELD);
    em.project = opt_text(L, &v, E_PROJECT, emit, FW_EMIT_MAX_FIELD);
    em.task = opt_text(L, &v, E_TASK, emit, FW_EMIT_MAX_FIELD);
    em.period = opt_text(L, &v, E_PERIOD, emit, FW_EMIT_MAX_FIELD);
    const char *as_of = opt_text(L, &v, E_AS_OF, emit, FW_EMIT_MAX_FIELD);
    if (as_of) {
        const char *why = NULL;
        if (fw_date_parse(as_of, strlen(as_of), &em.as_of, &why) < 0)
            return luaL_error(L, "%s: as_of \"%s\": %s", emit, as_of,
                              why ? why : "not a date");
        em.has_as_of = true;
    }
    if (kind == FW_FK_ALERT) {
        const char *lv = opt_text(L, &v, E_LEVEL, emit, FW_EMIT_MAX_FIELD);
        int l = lv ? fw_level_parse(lv) : -1;
        if (l < 0)
            return luaL_error(L, "alert: level must be \"red\", \"yellow\" or "
                              "\"info\", got %s%s%s", lv ? "\"" : "",
                              lv ? lv : "nothing", lv ? "\"" : "");
        em.level = (enum fw_level)l;
    }
    int at = v.at[E_AMOUNT];
    int ty = at ? lua_type(L, at) : LUA_TNIL;
    if (ty != LUA_TNIL) {
        if (!lua_isinteger(L, at))
            return luaL_error(L, "%s: amount must be integer fen, got %s %s "
                              "(use fw.pct, fw.fen or // to stay in fen)",
                              emit, lua_typename(L, ty),
                              luaL_tolstring(L, at, NULL));
        em.has_amount = true;
        em.amount = (int64_t)lua_tointeger(L, at);
    } else if (kind == FW_FK_CLAWBACK) {
        return luaL_error(L, "clawback: amount is missing (integer fen)");
    }
    if (kind == FW_FK_CLAWBACK) {
        at = v.at[E_RATIO];
        ty = at ? lua_type(L, at) : LUA_TNIL;
        if (ty != LUA_TNIL) {
            size_t n;
            const char *s = lua_tolstring(L, at, &n);
            int64_t dec;
            if (ty != LUA_TSTRING || n > 32 ||
                fw_decimal_parse(s, n, 6, false, &dec, NULL) < 0)
                return luaL_error(L, "clawback: ratio must be decimal text "
                                  "such as \"0.30\" (kept exact), got %s",
                                  luaL_tolstring(L, at, NULL));
            em.ratio = s;
        }
    }
    if (kind == FW_FK_SCORE) {
        at = v.at[E_SCORE];
        if (at == 0 || lua_isnil(L, at))
            return luaL_error(L, "score: score is missing (a number with at "
                              "most two decimals)");
        em.score = fw__lua_hundredths(L, at, "score", "score");
        em.has_score = true;
        em.grade = opt_text(L, &v, E_GRADE, emit, FW_EMIT_MAX_FIELD);
        if (em.grade && strcmp(em.grade, "优") && strcmp(em.grade, "良") &&
            strcmp(em.grade, "中") && strcmp(em.grade, "差"))
            return luaL_error(L, "score: grade must be 优, 良, 中 or 差, got "
                              "\"%s\"", em.grade);
    }
    const struct fw_engine_opts *o = &p->e->opts;
    if (p->call_findings >= o->findings_per_call)
        fw__host_breach(L, FW__B_FINDINGS, "一次调用产生的结果超过 %u 条上限 — "
                        "more than %u findings from one call "
                        "(limits.findings_per_call)", o->findings_per_call,
                        o->findings_per_call);
    if (p->e->in_feed && p->feed_findings >= o->findings_per_feed)
        fw__host_breach(L, FW__B_FINDINGS, "本批数据的结果超过 %llu 条上限 — "
                        "more than %llu findings from this feed "
                        "(limits.findings_per_feed)",
                        (unsigned long long)o->findings_per_feed,
                        (unsigned long long)o->findings_per_feed);
    p->call_findings++;
    p->feed_findings++;
    int rc = fw__engine_emit(p, &em);
    if (rc != 0) {
        p->e->cb_rc = rc;
        return luaL_error(L, "stopped by the caller");
    }
    return 0;
}

