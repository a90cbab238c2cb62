/* The Lua host: one sandboxed lua_State per policy. Owns the allow-listed
 * environment, ctx, the policy { } declaration (bounded), and the one
 * protected-call path; the record a policy reads is lua_rec.c's, the emits
 * lua_emit.c's, the limits lua_limits.c's, the bounded library lua_lib.c's
 * (lua_int.h lists them all: the only files that include lua.h). It
 * computes and never does I/O. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua_int.h"
#include "fundwatch/record.h"
#include "params.h"
#include "plain.h"

const char *const fw__hook_names[FW__H_COUNT] = {
    "on_execution", "on_evaluation", "on_task", "on_feed_end"};

#define REG_DECL "fw.decl"       /* the table policy { } was called with */
#define REG_PROBLEMS "fw.problems" /* declaration problems, a list */
#define REG_MODULES "fw.modules" /* name → {path, source} */
#define REG_LOADED "fw.loaded"   /* name → what require gave */
#define REG_OWN "fw.own"         /* this policy's rule id → global index */
#define REG_RULES "fw.rules"     /* every rule id → global index */


/* ---- the environment -------------------------------------------------- */

static int l_setmetatable(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int t = lua_type(L, 2);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (t == LUA_TTABLE && lua_getfield(L, 2, "__gc") != LUA_TNIL)
        return luaL_error(L, "setmetatable: __gc is not allowed in a policy "
                          "(finalizers would run outside the hook calls)");
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* load(text [, name [, mode [, env]]]): text chunks only. */
static int l_load(lua_State *L)
{
    size_t n;
    const char *s = lua_tolstring(L, 1, &n);
    if (s == NULL || lua_type(L, 1) != LUA_TSTRING)
        return luaL_error(L, "load: only text chunks (a string) are allowed "
                          "in a policy");
    const char *name = luaL_optstring(L, 2, "=(load)");
    const char *mode = luaL_optstring(L, 3, "t");
    if (strcmp(mode, "t") != 0)
        return luaL_error(L, "load: mode \"%s\": only text chunks (\"t\") "
                          "are allowed in a policy", mode);
    int env = !lua_isnone(L, 4) ? 4 : 0;
    fw__host_charge(L, n / 16 + 1); /* compiling is work in C */
    if (luaL_loadbufferx(L, s, n, name, "t") != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env) {
        lua_pushvalue(L, env);
        if (!lua_setupvalue(L, -2, 1))
            lua_pop(L, 1);
    }
    return 1;
}

/* require(name): a module of the policies tree's lib/ folder, run once per
 * state in the same sandbox. */
static int l_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_LOADED);
    if (lua_getfield(L, -1, name) != LUA_TNIL) {
        if (lua_type(L, -1) == LUA_TLIGHTUSERDATA)
            return luaL_error(L, "require \"%s\": a loop of modules requiring "
                              "each other", name);
        return 1;
    }
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_MODULES);
    if (lua_getfield(L, -1, name) != LUA_TTABLE)
        return luaL_error(L, "require \"%s\": no module lib/%s.lua in the "
                          "policies folder (nothing outside it can be "
                          "required)", name, name);
    lua_geti(L, -1, 1);
    lua_geti(L, -2, 2);
    size_t n;
    const char *src = lua_tolstring(L, -1, &n);
    lua_pushfstring(L, "@%s", lua_tostring(L, -2));
    if (luaL_loadbufferx(L, src, n, lua_tostring(L, -1), "t") != LUA_OK)
        return lua_error(L);
    lua_pushlightuserdata(L, (void *)l_require); /* loading */
    lua_setfield(L, -7, name);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -8, name);
    return 1;
}

static void drop(lua_State *L, const char *lib, const char *const *names)
{
    lua_getglobal(L, lib);
    for (; *names; names++) {
        lua_pushnil(L);
        lua_setfield(L, -2, *names);
    }
    lua_pop(L, 1);
}

/* ---- ctx -------------------------------------------------------------- */

static int l_ro_newindex(lua_State *L)
{
    return luaL_error(L, "ctx.params is read-only: cannot set '%s' (change "
                      "the policy's YAML instead)", luaL_tolstring(L, 2, NULL));
}

bool fw__host_params_unwrap(void *vL, int idx)
{
    lua_State *L = vL;
    idx = lua_absindex(L, idx);
    if (!lua_getmetatable(L, idx))
        return false;
    lua_getfield(L, -1, "__newindex");
    bool ro = lua_tocfunction(L, -1) == l_ro_newindex;
    lua_pop(L, 1);
    if (!ro) {
        lua_pop(L, 1);
        return false;
    }
    lua_getfield(L, -1, "__index");
    lua_replace(L, idx);
    lua_pop(L, 1);
    return true;
}

static int l_ro_len(lua_State *L)
{
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "__index");
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
    return 1;
}

static int l_ro_pairs(lua_State *L)
{
    lua_getglobal(L, "next");
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "__index");
    lua_remove(L, -2);
    lua_pushnil(L);
    return 3;
}

/* A YAML value as Lua: maps and lists become read-only tables. */
static void push_value(lua_State *L, const struct fw_value *v)
{
    switch (v->type) {
    case FW_V_NULL:
        lua_pushnil(L);
        return;
    case FW_V_BOOL:
        lua_pushboolean(L, v->b);
        return;
    case FW_V_INT:
        lua_pushinteger(L, v->i);
        return;
    case FW_V_NUM:
        if (lua_stringtonumber(L, v->text) == 0)
            lua_pushstring(L, v->text);
        return;
    case FW_V_STR:
        lua_pushlstring(L, v->text, v->len);
        return;
    case FW_V_LIST:
    case FW_V_MAP:
        break;
    }
    lua_createtable(L, v->type == FW_V_LIST ? (int)v->n : 0,
                    v->type == FW_V_MAP ? (int)v->n : 0);
    for (size_t i = 0; i < v->n; i++) {
        if (v->type == FW_V_MAP)
            lua_pushlstring(L, v->keys[i]->text, v->keys[i]->len);
        else
            lua_pushinteger(L, (lua_Integer)i + 1);
        push_value(L, v->items[i]);
        lua_rawset(L, -3);
    }
    fw__host_readonly(L);
}

void fw__host_readonly(void *vL)
{
    lua_State *L = vL;
    lua_createtable(L, 0, 0); /* the proxy */
    lua_createtable(L, 0, 5); /* its metatable */
    lua_rotate(L, -3, -1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, l_ro_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, l_ro_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

static int l_ctx_active(lua_State *L)
{
    struct fw__policy *p = pol_of(L);
    struct fw_engine *e = p->e;
    size_t n;
    const char *k = luaL_checklstring(L, 1, &n);
    /* The rule a policy asks about is a constant of its code, the same
     * string object call after call: its address is kept with the rule's
     * index and checked against the rule's id before it is trusted. */
    unsigned slot = (unsigned)((uintptr_t)k >> 4) & (FW__ACTIVE_SLOTS - 1);
    int hit = p->active_rule[slot] - 1;
    if (p->active_key[slot] == k && hit >= 0 && (size_t)hit < e->n_rules &&
        strlen(e->rule_id[hit]) == n && memcmp(e->rule_id[hit], k, n) == 0) {
        lua_pushboolean(L, !(e->rec && e->replaced && e->replaced[hit]));
        return 1;
    }
    /* the rule table: the upvalue once fw__host_link has set it */
    if (lua_type(L, lua_upvalueindex(1)) == LUA_TTABLE)
        lua_pushvalue(L, lua_upvalueindex(1));
    else
        lua_getfield(L, LUA_REGISTRYINDEX, REG_RULES);
    lua_pushvalue(L, 1);
    if (lua_type(L, -2) != LUA_TTABLE || lua_rawget(L, -2) != LUA_TNUMBER)
        return luaL_error(L, "ctx.active: no policy declares rule \"%s\"",
                          lua_tostring(L, 1));
    lua_Integer i = lua_tointeger(L, -1);
    if (i >= 0 && (size_t)i < e->n_rules) {
        p->active_key[slot] = k;
        p->active_rule[slot] = (int)i + 1;
    }
    bool replaced = e->rec && e->replaced && e->replaced[i];
    lua_pushboolean(L, !replaced);
    return 1;
}

/* ---- the declaration --------------------------------------------------- */

static bool key_in(const char *k, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(k, *list) == 0)
            return true;
    return false;
}


#define MAX_PROBLEMS 50 /* of one declaration: the rest are counted as one */

static void problem(lua_State *L, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(lua_State *L, int line, const char *fmt, ...)
{
    struct fw__policy *p = pol_of(L);
    char msg[FW_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_PROBLEMS);
    size_t n = lua_rawlen(L, -1);
    if (n < MAX_PROBLEMS)
        lua_pushfstring(L, "%s:%d: %s", p->path, line, msg);
    else if (n == MAX_PROBLEMS)
        lua_pushfstring(L, "%s:%d: 问题过多,其余不再列出 — too many problems "
                        "in this declaration; the rest are not shown", p->path,
                        line);
    else
        lua_pushnil(L);
    lua_rawseti(L, -2, (lua_Integer)n + 1);
    lua_pop(L, 1);
}

/* What the declaration keeps outside the Lua state counts against the
 * policy's memory cap like the state itself. */
static void *decl_alloc(lua_State *L, size_t n)
{
    struct fw__policy *p = pol_of(L);
    if (p->mem + n > p->mem_cap)
        luaL_error(L, "the declaration holds more than the memory cap of %I "
                   "bytes of this policy", (LUAI_UACINT)p->mem_cap);
    void *d = calloc(1, n ? n : 1);
    if (d == NULL)
        luaL_error(L, "not enough memory");
    p->mem += n;
    return d;
}

static char *dupstr(lua_State *L, const char *s)
{
    s = s ? s : "";
    size_t n = strlen(s) + 1;
    char *d = decl_alloc(L, n);
    memcpy(d, s, n);
    return d;
}

static bool id_ok(const char *s, bool dash)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || (dash && (*s == '-' || *s == '.'))))
            return false;
    return true;
}

/* The items of the list at t[k] as text of at most max bytes each; NULL
 * when absent. At most FW_DECL_MAX_ITEMS items. */
static char **text_list(lua_State *L, int t, const char *k, int line,
                        size_t max, size_t *n, bool *bad)
{
    *n = 0;
    int ty = lua_getfield(L, t, k);
    if (ty == LUA_TNIL) {
        lua_pop(L, 1);
        return NULL;
    }
    if (ty != LUA_TTABLE) {
        problem(L, line, "%s must be a list of text, such as { \"50\" }", k);
        *bad = true;
        lua_pop(L, 1);
        return NULL;
    }
    size_t len = lua_rawlen(L, -1);
    if (len > FW_DECL_MAX_ITEMS) {
        problem(L, line, "%s 有 %zu 项,超过上限 %u 项 — %s has %zu items, more "
                "than the limit of %u", k, len, FW_DECL_MAX_ITEMS, k, len,
                FW_DECL_MAX_ITEMS);
        *bad = true;
        lua_pop(L, 1);
        return NULL;
    }
    char **v = decl_alloc(L, (len + 1) * sizeof *v);
    for (size_t i = 0; i < len; i++) {
        if (lua_rawgeti(L, -1, (lua_Integer)i + 1) != LUA_TSTRING) {
            problem(L, line, "%s[%zu] must be text (in quotes), got %s", k,
                    i + 1, luaL_typename(L, -1));
            *bad = true;
            v[i] = dupstr(L, "");
        } else if (lua_rawlen(L, -1) > max) {
            problem(L, line, "%s[%zu] 长 %zu 字节,超过上限 %zu 字节 — %s[%zu] "
                    "is %zu bytes, longer than the limit of %zu", k, i + 1,
                    (size_t)lua_rawlen(L, -1), max, k, i + 1,
                    (size_t)lua_rawlen(L, -1), max);
            *bad = true;
            v[i] = dupstr(L, "");
        } else {
            v[i] = dupstr(L, lua_tostring(L, -1));
        }
        lua_pop(L, 1);
        *n = i + 1;
    }
    lua_pop(L, 1);
    return v;
}

/* The text at t[k] (anchored there), of at most max bytes; NULL when
 * absent or wrong, with the problem recorded. */
static const char *field_text(lua_State *L, int t, const char *k, int line,
                              const char *what, bool required, size_t max)
{
    int ty = lua_getfield(L, t, k);
    const char *s = NULL;
    size_t n = ty == LUA_TSTRING ? lua_rawlen(L, -1) : 0;
    if (ty == LUA_TSTRING && n > max)
        problem(L, line, "%s%s 长 %zu 字节,超过上限 %zu 字节 — %s%s is %zu "
                "bytes, longer than the limit of %zu", what, k, n, max, what,
                k, n, max);
    else if (ty == LUA_TSTRING && n > 0)
        s = lua_tostring(L, -1);
    else if (ty != LUA_TNIL || required)
        problem(L, line, "%s%s must be non-empty text%s", what, k,
                ty == LUA_TNIL ? " and is missing" : "");
    lua_pop(L, 1);
    return s;
}

static int l_policy(lua_State *L)
{
    static const char *const keys[] = {
        "id", "title", "regions", "replaces", "rules", "params",
        "on_execution", "on_evaluation", "on_task", "on_feed_end", NULL};
    static const char *const rule_keys[] = {"id", "title", "source", NULL};
    struct fw__policy *p = pol_of(L);
    lua_Debug ar;
    int line = 0;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar))
        line = ar.currentline;
    if (lua_getfield(L, LUA_REGISTRYINDEX, REG_DECL) != LUA_TNIL)
        return luaL_error(L, "policy { } is called a second time (one policy "
                          "per file)");
    lua_pop(L, 1);
    if (lua_type(L, 1) != LUA_TTABLE)
        return luaL_error(L, "policy { ... } takes a table, got %s",
                          luaL_typename(L, 1));
    lua_settop(L, 1);
    p->decl_line = line;
    lua_pushvalue(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_DECL);

    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                       : NULL;
        if (k == NULL || !key_in(k, keys))
            problem(L, line, "unknown key %s%s%s in policy { } (keys: id, "
                    "title, regions, replaces, rules, params, on_execution, "
                    "on_evaluation, on_task, on_feed_end)", k ? "\"" : "",
                    k ? k : luaL_typename(L, -1), k ? "\"" : "");
    }
    const char *id = field_text(L, 1, "id", line, "", true, FW_DECL_MAX_ID);
    if (id && !id_ok(id, true))
        problem(L, line, "id \"%s\": use lower-case letters, digits, '-', '_' "
                "or '.'", id);
    p->id = dupstr(L, id ? id : "");
    const char *title = field_text(L, 1, "title", line, "", false,
                                   FW_DECL_MAX_TITLE);
    p->title = dupstr(L, title);

    bool bad = false;
    p->regions = text_list(L, 1, "regions", line, 9, &p->n_regions,
                           &bad);
    if (p->regions == NULL && !bad)
        problem(L, line, "regions is missing: the 财政区划代码 prefixes this "
                "policy governs, e.g. { \"50\" }, or { \"\" } for all");
    else if (p->regions && p->n_regions == 0)
        problem(L, line, "regions is empty: give at least one prefix, or "
                "{ \"\" } for all");
    p->min_prefix = 99;
    for (size_t i = 0; i < p->n_regions; i++) {
        const char *r = p->regions[i];
        size_t n = strlen(r);
        if (n > 9 || strspn(r, "0123456789") != n)
            problem(L, line, "region prefix \"%s\" is not digits (at most 9; "
                    "\"\" for all regions)", r);
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->regions[j], r) == 0)
                problem(L, line, "region prefix \"%s\" is given twice", r);
        if (n < p->min_prefix)
            p->min_prefix = n;
    }
    p->replaces = text_list(L, 1, "replaces", line, FW_DECL_MAX_ID,
                            &p->n_replaces, &bad);

    int ty = lua_getfield(L, 1, "rules");
    if (ty != LUA_TTABLE || lua_rawlen(L, -1) == 0) {
        problem(L, line, "rules %s: a list of { id = ..., title = ..., "
                "source = ... }", ty == LUA_TNIL ? "is missing" : "is empty "
                "or not a list");
    } else {
        size_t n = lua_rawlen(L, -1);
        if (n > FW_DECL_MAX_ITEMS) {
            problem(L, line, "rules 有 %zu 条,超过上限 %u 条 — rules has %zu "
                    "items, more than the limit of %u", n, FW_DECL_MAX_ITEMS,
                    n, FW_DECL_MAX_ITEMS);
            n = 0;
        }
        p->rules = decl_alloc(L, n * sizeof *p->rules);
        int rt = lua_gettop(L);
        for (size_t i = 0; i < n; i++) {
            char what[32];
            snprintf(what, sizeof what, "rules[%zu].", i + 1);
            struct fw_rule_info *ri = &p->rules[i];
            p->n_rules = i + 1;
            ri->id = ri->title = ri->source = NULL;
            if (lua_rawgeti(L, rt, (lua_Integer)i + 1) != LUA_TTABLE) {
                problem(L, line, "rules[%zu] must be a table { id = ..., "
                        "title = ..., source = ... }", i + 1);
                lua_pop(L, 1);
                ri->id = dupstr(L, "");
                ri->title = dupstr(L, "");
                ri->source = dupstr(L, "");
                continue;
            }
            int it = lua_gettop(L);
            lua_pushnil(L);
            while (lua_next(L, it)) {
                lua_pop(L, 1);
                const char *k = lua_type(L, -1) == LUA_TSTRING
                                    ? lua_tostring(L, -1) : "?";
                if (!key_in(k, rule_keys))
                    problem(L, line, "%sunknown key \"%s\" (keys: id, title, "
                            "source)", what, k);
            }
            const char *rid = field_text(L, it, "id", line, what, true,
                                         FW_DECL_MAX_ID);
            if (rid && !id_ok(rid, false))
                problem(L, line, "%sid \"%s\": use lower-case letters, "
                        "digits and '_'", what, rid);
            for (size_t j = 0; rid && j < i; j++)
                if (strcmp(p->rules[j].id, rid) == 0)
                    problem(L, line, "%sid \"%s\" is declared twice in this "
                            "policy", what, rid);
            ri->id = dupstr(L, rid);
            ri->title = dupstr(L, field_text(L, it, "title", line, what,
                                             false, FW_DECL_MAX_TITLE));
            ri->source = dupstr(L, field_text(L, it, "source", line, what,
                                              true, FW_DECL_MAX_SOURCE));
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);

    for (int h = 0; h < FW__H_COUNT; h++) {
        ty = lua_getfield(L, 1, fw__hook_names[h]);
        if (ty == LUA_TFUNCTION) {
            lua_Debug far;
            lua_pushvalue(L, -1);
            lua_getinfo(L, ">S", &far);
            p->hook_line[h] = far.linedefined;
            p->has_hook[h] = true;
            p->hook_ref[h] = luaL_ref(L, LUA_REGISTRYINDEX);
            continue;
        }
        if (ty != LUA_TNIL)
            problem(L, line, "%s must be a function (rec, ctx), got %s",
                    fw__hook_names[h], lua_typename(L, ty));
        lua_pop(L, 1);
    }
    return 1;
}

/* ---- setup and calls --------------------------------------------------- */

/* Message handler of every call: keeps the error's file:line, adding the
 * innermost Lua place when the error has none (error("x", 0), error{}).
 * The place may be any frame's: error("x", 2) in a lib/ module blames the
 * policy line that called it. */
static int msgh(lua_State *L)
{
    if (fw__limits_stopped(pol_of(L)))
        return 1; /* no policy code (__tostring) after a breach */
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)",
                                  luaL_typename(L, 1));
    }
    lua_Debug ar;
    int inner = 0; /* the innermost level with a Lua line */
    for (int lv = 1; lua_getstack(L, lv, &ar); lv++) {
        lua_getinfo(L, "Sl", &ar);
        if (ar.currentline <= 0)
            continue;
        size_t n = strlen(ar.short_src);
        if (strncmp(msg, ar.short_src, n) == 0 && msg[n] == ':') {
            inner = 0;
            break;
        }
        if (inner == 0)
            inner = lv;
    }
    if (inner && lua_getstack(L, inner, &ar) && lua_getinfo(L, "Sl", &ar)) {
        lua_pushfstring(L, "%s:%d: %s", ar.short_src, ar.currentline, msg);
        return 1;
    }
    lua_pushstring(L, msg);
    return 1;
}

struct setup_args {
    struct fw__policy *p;
    const char *src;
    size_t len;
    const struct fw_value *params;
    const struct fw_src_file *mods;
    size_t n_mods;
};

static int setup(lua_State *L)
{
    struct setup_args *a = lua_touserdata(L, 1);
    struct fw__policy *p = a->p;
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},       {LUA_COLIBNAME, luaopen_coroutine},
        {LUA_TABLIBNAME, luaopen_table}, {LUA_STRLIBNAME, luaopen_string},
        {LUA_MATHLIBNAME, luaopen_math}, {LUA_UTF8LIBNAME, luaopen_utf8},
        {NULL, NULL}};
    for (const luaL_Reg *l = libs; l->func; l++) {
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    static const char *const base_out[] = {"dofile", "loadfile",
                                           "collectgarbage", "print", NULL};
    lua_pushglobaltable(L);
    for (const char *const *k = base_out; *k; k++) {
        lua_pushnil(L);
        lua_setfield(L, -2, *k);
    }
    lua_pop(L, 1);
    static const char *const str_out[] = {"dump", NULL};
    drop(L, LUA_STRLIBNAME, str_out);
    /* math.random is seeded from the clock: outcomes must be reproducible. */
    static const char *const math_out[] = {"random", "randomseed", NULL};
    drop(L, LUA_MATHLIBNAME, math_out);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushliteral(L, "string");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);

    lua_register(L, "setmetatable", l_setmetatable);
    lua_register(L, "load", l_load);
    lua_register(L, "require", l_require);
    lua_register(L, "policy", l_policy);
    for (int k = 0; k < 3; k++) {
        static const char *const emits[] = {"alert", "clawback", "score"};
        lua_pushinteger(L, k);
        lua_pushcclosure(L, fw__host_emit, 1);
        lua_setglobal(L, emits[k]);
    }
    fw__fwlib_open(L);
    lua_setglobal(L, "fw");

    fw__limits_open(L);
    fw__lib_bound(L);

    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_PROBLEMS);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_LOADED);
    lua_newtable(L);
    for (size_t i = 0; i < a->n_mods; i++) {
        const char *path = a->mods[i].path;
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        lua_createtable(L, 2, 0);
        lua_pushstring(L, path);
        lua_rawseti(L, -2, 1);
        lua_pushlstring(L, a->mods[i].data, a->mods[i].len);
        lua_rawseti(L, -2, 2);
        size_t bn = strlen(base);
        if (bn > 4 && strcmp(base + bn - 4, ".lua") == 0)
            bn -= 4;
        lua_pushlstring(L, base, bn);
        lua_insert(L, -2);
        lua_rawset(L, -3);
    }
    lua_setfield(L, LUA_REGISTRYINDEX, REG_MODULES);
    fw__host_rec_mt(L, p);

    lua_createtable(L, 0, 8);
    static const struct fw_value empty = {.type = FW_V_MAP};
    push_value(L, a->params ? a->params : &empty);
    lua_setfield(L, -2, "params");
    lua_pushcfunction(L, l_ctx_active);
    lua_setfield(L, -2, "active");
    lua_newtable(L);
    lua_setfield(L, -2, "state");
    p->ctx_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    /* The policy chunk runs under the limits, like every hook. */
    char *chunk = malloc(strlen(p->path) + 2);
    if (chunk == NULL)
        return luaL_error(L, "not enough memory");
    chunk[0] = '@';
    strcpy(chunk + 1, p->path);
    int rc = luaL_loadbufferx(L, a->src, a->len, chunk, "t");
    free(chunk);
    if (rc != LUA_OK)
        return lua_error(L);
    fw__limits_start(p);
    lua_call(L, 0, 1);
    fw__limits_stop(p);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_DECL);
    if (lua_isnil(L, -1))
        return luaL_error(L, "%s: a policy file must return policy { ... }",
                          p->path);
    if (!lua_rawequal(L, -1, -2))
        return luaL_error(L, "%s: the file must return the policy { ... } "
                          "it declares (return policy { ... })", p->path);
    return 0;
}

int fw__host_load(struct fw__policy *p, const char *src, size_t len,
                  const struct fw_value *params,
                  const struct fw_src_file *modules, size_t n_modules,
                  struct fw_diag *diag)
{
    for (int h = 0; h < FW__H_COUNT; h++)
        p->hook_ref[h] = LUA_NOREF;
    p->ctx_ref = p->rec_mt_ref = LUA_NOREF;
    p->mem_cap = p->e->opts.mem_cap;
    lua_State *L = lua_newstate(fw__limits_alloc, p);
    if (L == NULL) {
        fw_diag_add(diag, p->path, "not enough memory for a Lua state");
        return FW_ENOMEM;
    }
    p->L = L;
    *(struct fw__policy **)lua_getextraspace(L) = p;
    if (!p->e->opts.no_budget)
        lua_sethook(L, fw__limits_hook, LUA_MASKCOUNT, (int)fw__limits_step(p));
    struct setup_args a = {p, src, len, params, modules, n_modules};
    lua_pushcfunction(L, setup);
    lua_pushlightuserdata(L, &a);
    int rc = lua_pcall(L, 1, 0, 0);
    if (rc == LUA_ERRMEM && p->limits_on)
        fw__limits_mem_breach(p, L);
    fw__limits_stop(p);
    int bad = 0;
    char plain[FW_MSG_MAX];
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        if (p->breach)
            fw_diag_add(diag, NULL, "%s", p->breach_msg);
        else if (rc == LUA_ERRMEM)
            fw_diag_add(diag, NULL, "%s: loading the policy used more than its "
                        "memory cap (%zu bytes)", p->path, p->mem_cap);
        else if (msg && fw__plain_lua(p->path, msg, src, len, plain,
                                      sizeof plain))
            fw_diag_add(diag, NULL, "%s", plain);
        else
            fw_diag_add(diag, NULL, "%s", msg ? msg : "(error object)");
        bad = 1;
        lua_pop(L, 1);
    }
    lua_getfield(L, LUA_REGISTRYINDEX, REG_PROBLEMS);
    size_t n = lua_istable(L, -1) ? lua_rawlen(L, -1) : 0;
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i);
        fw_diag_add(diag, NULL, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        bad = 1;
    }
    lua_pop(L, 1);
    if (rc == LUA_OK && fw__params_bind(p, params, diag) != 0)
        bad = 1;
    if (rc == LUA_OK && p->e->opts.lint &&
        fw__lint_policy(p, src, len, diag) != 0)
        bad = 1;
    p->breach = FW__B_NONE;
    if (!bad)
        lua_gc(L, LUA_GCGEN, 0, 0);
    return bad ? FW_EINVAL : 0;
}

int fw__host_link(struct fw__policy *p)
{
    lua_State *L = p->L;
    struct fw_engine *e = p->e;
    if (!lua_checkstack(L, 4))
        return FW_ENOMEM;
    lua_createtable(L, 0, (int)e->n_rules);
    for (size_t i = 0; i < e->n_rules; i++) {
        lua_pushinteger(L, (lua_Integer)i);
        lua_setfield(L, -2, e->rule_id[i]);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_RULES);
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ctx_ref);
    lua_insert(L, -2);
    lua_pushcclosure(L, l_ctx_active, 1);
    lua_setfield(L, -2, "active");
    lua_pop(L, 1);
    lua_createtable(L, 0, (int)p->n_rules);
    for (size_t i = 0; i < p->n_rules; i++) {
        lua_pushinteger(L, p->rule_base + (lua_Integer)i);
        lua_setfield(L, -2, p->rules[i].id);
    }
    lua_setfield(L, LUA_REGISTRYINDEX, REG_OWN);
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ctx_ref);
    lua_pushstring(L, p->id);
    lua_setfield(L, -2, "policy");
    lua_pop(L, 1);
    return 0;
}

int fw__host_begin(struct fw__policy *p, const char *feed, int32_t now)
{
    lua_State *L = p->L;
    char b[16];
    fw__params_feed_begin(p);
    if (!lua_checkstack(L, 4))
        return FW_ENOMEM;
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ctx_ref);
    lua_pushlstring(L, b, fw_date_format(now, b));
    lua_setfield(L, -2, "now");
    lua_pushstring(L, feed ? feed : "");
    lua_setfield(L, -2, "feed");
    lua_newtable(L);
    lua_setfield(L, -2, "state");
    lua_pop(L, 1);
    return 0;
}

int fw__host_call(struct fw__policy *p, enum fw__hook h, char *msg,
                  size_t msglen)
{
    lua_State *L = p->L;
    struct fw_engine *e = p->e;
    int base = lua_gettop(L);
    lua_pushcfunction(L, msgh);
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->hook_ref[h]);
    int nargs = 1;
    if (h != FW__H_FEED_END) {
        lua_pushlightuserdata(L, (void *)(uintptr_t)e->rec_serial);
        nargs = 2;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ctx_ref);
    fw__limits_start(p);
    int rc = lua_pcall(L, nargs, 0, base + 1);
    if (rc == LUA_ERRMEM)
        fw__limits_mem_breach(p, L);
    fw__limits_stop(p);
    if (rc == LUA_OK && !p->breach) {
        lua_settop(L, base);
        return 0;
    }
    if (e->cb_rc) {
        lua_settop(L, base);
        return e->cb_rc;
    }
    int ret = FW_ELIMIT;
    switch (p->breach) {
    case FW__B_BUDGET:
        p->st.budget_breaches++;
        break;
    case FW__B_TIME:
        p->st.time_breaches++;
        break;
    case FW__B_MEMORY:
        p->st.mem_breaches++;
        break;
    case FW__B_STRING:
        p->st.string_breaches++;
        break;
    case FW__B_FINDINGS:
        p->st.findings_breaches++;
        break;
    case FW__B_NONE:
        ret = FW_EPOLICY;
        break;
    }
    if (p->breach) {
        snprintf(msg, msglen, "%s", p->breach_msg);
    } else if (rc == LUA_ERRMEM) {
        p->st.mem_breaches++;
        snprintf(msg, msglen, "%s:%d: %s: 内存不足 — not enough memory",
                 p->path, p->hook_line[h], fw__hook_names[h]);
        ret = FW_ELIMIT;
    } else {
        const char *m = lua_tostring(L, -1);
        snprintf(msg, msglen, "%s", m ? m : "(error object)");
    }
    lua_settop(L, base);
    return ret;
}

void fw__host_free(struct fw__policy *p)
{
    if (p->L) {
        /* Closing runs no policy code: __gc is refused by setmetatable. */
        p->limits_on = false;
        lua_close(p->L);
        p->L = NULL;
    }
}
