/* The bounded library: the string and table functions whose work happens in
 * C loops the count hook never sees, replaced by versions whose work is
 * charged to the call's budget (and so to its time ceiling). Lua patterns
 * run on a step-counted matcher of our own; table.* take no __index,
 * __newindex or __len where those would drive a C loop. A Lua host file:
 * it includes lua.h, computes, and never does I/O. */
#include <ctype.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <string.h>

#include "lua_int.h"

/* ---- the matcher ------------------------------------------------------- */

/* Lua 5.4's pattern language (manual §6.4.1), matched by backtracking like
 * Lua's own matcher, with every step counted: a pattern that would
 * backtrack for hours breaks the instruction budget instead. */

#define MAX_CAPTURES 32  /* LUA_MAXCAPTURES */
#define MAX_DEPTH 200    /* nested matcher calls: "pattern too complex" */
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define STEP_CHUNK 4096  /* steps charged to the budget at a time */

struct ms {
    const char *src, *src_end, *p_end;
    lua_State *L;
    int level, depth;
    unsigned steps; /* not yet charged */
    struct {
        const char *init;
        ptrdiff_t len;
    } cap[MAX_CAPTURES];
};

static void step(struct ms *ms, unsigned n)
{
    ms->steps += n;
    if (ms->steps >= STEP_CHUNK) {
        unsigned s = ms->steps;
        ms->steps = 0;
        fw__host_charge(ms->L, s);
    }
}

/* What is left after a match: a short match (fewer steps than an
 * instruction's worth of work) is not worth the call. */
static void charge_rest(struct ms *ms)
{
    unsigned s = ms->steps;
    ms->steps = 0;
    if (s >= 64)
        fw__host_charge(ms->L, s);
}

static void ms_init(struct ms *ms, lua_State *L, const char *s, size_t ls,
                    const char *p, size_t lp)
{
    ms->L = L;
    ms->src = s;
    ms->src_end = s + ls;
    ms->p_end = p + lp;
    ms->steps = 0;
}

static void ms_reset(struct ms *ms)
{
    ms->level = 0;
    ms->depth = MAX_DEPTH;
}

/* The end of the single-character class starting at p. */
static const char *class_end(struct ms *ms, const char *p)
{
    if (*p == '%') {
        if (p + 1 >= ms->p_end)
            luaL_error(ms->L, "malformed pattern (ends with '%%')");
        return p + 2;
    }
    if (*p == '[') {
        p++;
        if (*p == '^')
            p++;
        do { /* the first ']' of a set is an ordinary character */
            if (p >= ms->p_end)
                luaL_error(ms->L, "malformed pattern (missing ']')");
            if (*p++ == '%' && p < ms->p_end)
                p++;
        } while (*p != ']');
        return p + 1;
    }
    return p + 1;
}

static inline bool class_match(int c, int cl)
{
    bool r;
    switch (tolower(cl)) {
    case 'a': r = isalpha(c); break;
    case 'c': r = iscntrl(c); break;
    case 'd': r = isdigit(c); break;
    case 'g': r = isgraph(c); break;
    case 'l': r = islower(c); break;
    case 'p': r = ispunct(c); break;
    case 's': r = isspace(c); break;
    case 'u': r = isupper(c); break;
    case 'w': r = isalnum(c); break;
    case 'x': r = isxdigit(c); break;
    case 'z': r = c == 0; break; /* deprecated in Lua, still matched */
    default: return cl == c;
    }
    return isupper(cl) ? !r : r;
}

/* p at '[', ec at the set's closing ']'. */
static bool set_match(int c, const char *p, const char *ec)
{
    bool yes = true;
    p++;
    if (*p == '^') {
        yes = false;
        p++;
    }
    while (p < ec) {
        if (*p == '%') { /* as Lua: it may escape the closing ']' itself */
            if (class_match(c, (unsigned char)p[1]))
                return yes;
            p += 2;
        } else if (p[1] == '-' && p + 2 < ec) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
                return yes;
            p += 3;
        } else {
            if ((unsigned char)*p == c)
                return yes;
            p++;
        }
    }
    return !yes;
}

static inline __attribute__((always_inline)) bool
single_match(struct ms *ms, const char *s, const char *p, const char *ep)
{
    if (s >= ms->src_end)
        return false;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return true;
    case '%': return class_match(c, (unsigned char)p[1]);
    case '[': return set_match(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *do_match(struct ms *ms, const char *s, const char *p);

static const char *max_expand(struct ms *ms, const char *s, const char *p,
                              const char *ep)
{
    ptrdiff_t i = 0;
    while (single_match(ms, s + i, p, ep)) {
        i++;
        step(ms, 1);
    }
    for (; i >= 0; i--) {
        const char *r = do_match(ms, s + i, ep + 1);
        if (r)
            return r;
    }
    return NULL;
}

static const char *min_expand(struct ms *ms, const char *s, const char *p,
                              const char *ep)
{
    for (;;) {
        const char *r = do_match(ms, s, ep + 1);
        if (r)
            return r;
        if (!single_match(ms, s, p, ep))
            return NULL;
        s++;
    }
}

static const char *start_capture(struct ms *ms, const char *s, const char *p,
                                 ptrdiff_t what)
{
    if (ms->level >= MAX_CAPTURES)
        luaL_error(ms->L, "too many captures");
    ms->cap[ms->level].init = s;
    ms->cap[ms->level].len = what;
    ms->level++;
    const char *r = do_match(ms, s, p);
    if (r == NULL)
        ms->level--;
    return r;
}

static const char *end_capture(struct ms *ms, const char *s, const char *p)
{
    int l = ms->level - 1;
    while (l >= 0 && ms->cap[l].len != CAP_UNFINISHED)
        l--;
    if (l < 0)
        luaL_error(ms->L, "invalid pattern capture");
    ms->cap[l].len = s - ms->cap[l].init;
    const char *r = do_match(ms, s, p);
    if (r == NULL)
        ms->cap[l].len = CAP_UNFINISHED;
    return r;
}

static const char *match_balance(struct ms *ms, const char *s, const char *p)
{
    if (p + 1 >= ms->p_end)
        luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= ms->src_end || *s != *p)
        return NULL;
    char open = p[0], close = p[1];
    int depth = 1;
    while (++s < ms->src_end) {
        step(ms, 1);
        if (*s == close) {
            if (--depth == 0)
                return s + 1;
        } else if (*s == open) {
            depth++;
        }
    }
    return NULL;
}

static int check_capture(struct ms *ms, int l)
{
    l -= '1';
    if (l < 0 || l >= ms->level || ms->cap[l].len == CAP_UNFINISHED)
        return luaL_error(ms->L, "invalid capture index %%%d", l + 1);
    return l;
}

static const char *match_capture(struct ms *ms, const char *s, int l)
{
    l = check_capture(ms, l);
    size_t len = (size_t)ms->cap[l].len;
    step(ms, (unsigned)(len / 64));
    if ((size_t)(ms->src_end - s) >= len &&
        memcmp(ms->cap[l].init, s, len) == 0)
        return s + len;
    return NULL;
}

static const char *do_match(struct ms *ms, const char *s, const char *p)
{
    if (ms->depth-- == 0)
        luaL_error(ms->L, "pattern too complex");
    step(ms, 1);
    while (p != ms->p_end) {
        switch (*p) {
        case '(':
            if (p + 1 < ms->p_end && p[1] == ')')
                s = start_capture(ms, s, p + 2, CAP_POSITION);
            else
                s = start_capture(ms, s, p + 1, CAP_UNFINISHED);
            goto out;
        case ')':
            s = end_capture(ms, s, p + 1);
            goto out;
        case '$':
            if (p + 1 != ms->p_end)
                goto single;
            s = s == ms->src_end ? s : NULL;
            goto out;
        case '%':
            if (p + 1 >= ms->p_end)
                goto single; /* class_end reports it */
            if (p[1] == 'b') {
                s = match_balance(ms, s, p + 2);
                if (s == NULL)
                    goto out;
                p += 4;
                continue;
            }
            if (p[1] == 'f') {
                p += 2;
                if (p >= ms->p_end || *p != '[')
                    luaL_error(ms->L, "missing '[' after '%%f' in pattern");
                const char *ep = class_end(ms, p);
                int prev = s == ms->src ? 0 : (unsigned char)s[-1];
                int cur = s < ms->src_end ? (unsigned char)*s : 0;
                if (!set_match(prev, p, ep - 1) && set_match(cur, p, ep - 1)) {
                    p = ep;
                    continue;
                }
                s = NULL;
                goto out;
            }
            if (isdigit((unsigned char)p[1])) {
                s = match_capture(ms, s, (unsigned char)p[1]);
                if (s == NULL)
                    goto out;
                p += 2;
                continue;
            }
            goto single;
        default:
        single: {
            const char *ep = class_end(ms, p);
            if (!single_match(ms, s, p, ep)) {
                if (*ep == '*' || *ep == '?' || *ep == '-') {
                    p = ep + 1;
                    continue;
                }
                s = NULL;
                goto out;
            }
            switch (*ep) {
            case '?': {
                const char *r = do_match(ms, s + 1, ep + 1);
                if (r) {
                    s = r;
                    goto out;
                }
                p = ep + 1;
                continue;
            }
            case '+':
                s = max_expand(ms, s + 1, p, ep);
                goto out;
            case '*':
                s = max_expand(ms, s, p, ep);
                goto out;
            case '-':
                s = min_expand(ms, s, p, ep);
                goto out;
            default:
                s++;
                p = ep;
                continue;
            }
        }
        }
    }
out:
    ms->depth++;
    return s;
}

/* ---- captures ------------------------------------------------------------ */

/* Capture i of the match [s, e): its text, or a position (pushed). */
static ptrdiff_t get_capture(struct ms *ms, int i, const char *s,
                             const char *e, const char **cap)
{
    if (i >= ms->level) {
        if (i != 0)
            luaL_error(ms->L, "invalid capture index %%%d", i + 1);
        *cap = s;
        return e - s;
    }
    ptrdiff_t len = ms->cap[i].len;
    *cap = ms->cap[i].init;
    if (len == CAP_UNFINISHED)
        luaL_error(ms->L, "unfinished capture");
    else if (len == CAP_POSITION)
        lua_pushinteger(ms->L, (ms->cap[i].init - ms->src) + 1);
    return len;
}

static void push_capture(struct ms *ms, int i, const char *s, const char *e)
{
    const char *cap;
    ptrdiff_t len = get_capture(ms, i, s, e, &cap);
    if (len != CAP_POSITION)
        lua_pushlstring(ms->L, cap, (size_t)len);
}

static int push_captures(struct ms *ms, const char *s, const char *e)
{
    int n = (ms->level == 0 && s) ? 1 : ms->level;
    luaL_checkstack(ms->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        push_capture(ms, i, s, e);
    return n;
}

/* ---- string.find, match, gmatch, gsub ------------------------------------ */

static size_t start_at(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 1;
    return len + (size_t)pos + 1;
}

static bool has_specials(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strchr("^$*+?.([%-", p[i]) && p[i] != '\0')
            return true;
    return false;
}

static int find_aux(lua_State *L, bool find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_at(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        /* memmem is linear (two-way); charge the bytes it may scan */
        fw__host_charge(L, (ls - init) / 64 + 1);
        const char *f = lp == 0 ? s + init : memmem(s + init, ls - init, p, lp);
        if (f) {
            lua_pushinteger(L, (f - s) + 1);
            lua_pushinteger(L, (lua_Integer)((f - s) + lp));
            return 2;
        }
        luaL_pushfail(L);
        return 1;
    }
    struct ms ms;
    bool anchor = *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    ms_init(&ms, L, s, ls, p, lp);
    const char *s1 = s + init;
    do {
        ms_reset(&ms);
        const char *e = do_match(&ms, s1, p);
        if (e) {
            charge_rest(&ms);
            if (find) {
                lua_pushinteger(L, (s1 - s) + 1);
                lua_pushinteger(L, e - s);
                return push_captures(&ms, NULL, NULL) + 2;
            }
            return push_captures(&ms, s1, e);
        }
    } while (s1++ < ms.src_end && !anchor);
    charge_rest(&ms);
    luaL_pushfail(L);
    return 1;
}

static int l_find(lua_State *L)
{
    return find_aux(L, true);
}

static int l_match(lua_State *L)
{
    return find_aux(L, false);
}

struct gm {
    const char *src, *p, *last;
    struct ms ms;
};

static int gmatch_next(lua_State *L)
{
    struct gm *g = lua_touserdata(L, lua_upvalueindex(3));
    g->ms.L = L;
    for (const char *src = g->src; src <= g->ms.src_end; src++) {
        ms_reset(&g->ms);
        const char *e = do_match(&g->ms, src, g->p);
        if (e && e != g->last) {
            g->src = g->last = e;
            charge_rest(&g->ms);
            return push_captures(&g->ms, src, e);
        }
    }
    charge_rest(&g->ms);
    return 0;
}

static int l_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_at(luaL_optinteger(L, 3, 1), ls) - 1;
    lua_settop(L, 2); /* the strings stay alive as upvalues */
    struct gm *g = lua_newuserdatauv(L, sizeof *g, 0);
    if (init > ls)
        init = ls + 1;
    ms_init(&g->ms, L, s, ls, p, lp);
    g->src = s + init;
    g->p = p;
    g->last = NULL;
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

static void add_s(struct ms *ms, luaL_Buffer *b, const char *s, const char *e)
{
    size_t l;
    lua_State *L = ms->L;
    const char *news = lua_tolstring(L, 3, &l);
    const char *p;
    while ((p = memchr(news, '%', l)) != NULL) {
        luaL_addlstring(b, news, (size_t)(p - news));
        p++;
        if (*p == '%') {
            luaL_addchar(b, '%');
        } else if (*p == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit((unsigned char)*p)) {
            const char *cap;
            ptrdiff_t len = get_capture(ms, *p - '1', s, e, &cap);
            if (len == CAP_POSITION)
                luaL_addvalue(b);
            else
                luaL_addlstring(b, cap, (size_t)len);
        } else {
            luaL_error(L, "invalid use of '%%' in replacement string");
        }
        l -= (size_t)(p + 1 - news);
        news = p + 1;
        step(ms, 1);
    }
    luaL_addlstring(b, news, l);
}

/* Adds the replacement of the match [s, e); false when the original text
 * was kept. */
static bool add_value(struct ms *ms, luaL_Buffer *b, const char *s,
                      const char *e, int tr)
{
    lua_State *L = ms->L;
    switch (tr) {
    case LUA_TFUNCTION: {
        lua_pushvalue(L, 3);
        int n = push_captures(ms, s, e);
        lua_call(L, n, 1);
        break;
    }
    case LUA_TTABLE:
        push_capture(ms, 0, s, e);
        lua_gettable(L, 3);
        break;
    default:
        add_s(ms, b, s, e);
        return true;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return false;
    }
    if (!lua_isstring(L, -1))
        luaL_error(L, "invalid replacement value (a %s)",
                   luaL_typename(L, -1));
    luaL_addvalue(b);
    return true;
}

static int l_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *src = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    const char *last = NULL;
    int tr = lua_type(L, 3);
    lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING ||
                     tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                     "string/function/table");
    bool anchor = *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    struct ms ms;
    ms_init(&ms, L, src, ls, p, lp);
    lua_Integer n = 0;
    bool changed = false;
    while (n < max_n) {
        ms_reset(&ms);
        const char *e = do_match(&ms, src, p);
        if (e && e != last) {
            n++;
            changed = add_value(&ms, &b, src, e, tr) || changed;
            src = last = e;
        } else if (src < ms.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchor)
            break;
    }
    charge_rest(&ms);
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

/* The library function this one bounds (its upvalue), called directly on
 * the same arguments: Lua's own library functions use no upvalues, and a
 * direct call costs nothing next to lua_call. */
static int call_orig(lua_State *L)
{
    return lua_tocfunction(L, lua_upvalueindex(1))(L);
}

/* string.rep: refused before any work when the result would pass the
 * string limit; the copies (even of "") are charged. */
static int l_rep(lua_State *L)
{
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n > 0) {
        size_t max = fw__host_max_string(L);
        if ((l + lsep > 0 && (uint64_t)n > max / (l + lsep) + 1) ||
            (uint64_t)n * l + (uint64_t)(n - 1) * lsep > max)
            fw__host_breach(L, FW__B_STRING, "字符串超出长度上限 %zu 字节 — a "
                            "string longer than the limit of %zu bytes "
                            "(string.rep)", max, max);
        fw__host_charge(L, (uint64_t)n / 64 + 1);
    }
    return call_orig(L);
}

/* Functions whose C work grows with the strings they are given while what
 * they allocate does not (what does allocate in proportion — format, upper,
 * lower, reverse, pack, sub, .. — is charged by the allocator): a unit per
 * 64 bytes of string arguments, charged before the original runs. */
static int l_charged(lua_State *L)
{
    uint64_t bytes = 0;
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++)
        if (lua_type(L, i) == LUA_TSTRING)
            bytes += lua_rawlen(L, i);
    fw__host_charge(L, bytes / 64 + 1);
    return call_orig(L);
}

/* ---- table.* --------------------------------------------------------------- */

/* The table at arg, with no __index, __newindex or __len to run from a C
 * loop (a read-only ctx.params stands for the table behind it when only
 * read). Returns its raw length. */
static lua_Integer plain(lua_State *L, int arg, const char *fn, bool write)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    if (fw__host_params_unwrap(L, arg) && write)
        luaL_error(L, "%s: ctx.params is read-only (change the policy's YAML "
                   "instead)", fn);
    if (lua_getmetatable(L, arg)) {
        static const char *const mm[] = {"__index", "__newindex", "__len"};
        for (int i = 0; i < 3; i++) {
            if (lua_getfield(L, -1, mm[i]) != LUA_TNIL)
                luaL_error(L, "%s: 不接受带 %s 元方法的表 — a table with a %s "
                           "metamethod is not accepted here (the loop would "
                           "run in C, out of the instruction budget's sight)",
                           fn, mm[i], mm[i]);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    return (lua_Integer)lua_rawlen(L, arg);
}

/* Work of a range [i, j]: its count, saturated. */
static uint64_t span(lua_Integer i, lua_Integer j)
{
    if (j < i)
        return 0;
    return (uint64_t)j - (uint64_t)i + 1; /* at most 2^64 - 1 */
}


static int l_tinsert(lua_State *L)
{
    lua_Integer n = plain(L, 1, "table.insert", true);
    if (lua_gettop(L) == 3) {
        lua_Integer pos = luaL_checkinteger(L, 2);
        fw__host_charge(L, span(pos, n) + 1);
    }
    return call_orig(L);
}

static int l_tremove(lua_State *L)
{
    lua_Integer n = plain(L, 1, "table.remove", true);
    lua_Integer pos = luaL_optinteger(L, 2, n);
    fw__host_charge(L, span(pos, n) + 1);
    return call_orig(L);
}

static int l_tmove(lua_State *L)
{
    bool to_a1 = lua_isnoneornil(L, 5); /* a1 is also the destination */
    plain(L, 1, "table.move", to_a1);
    lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
    luaL_checkinteger(L, 4);
    if (!to_a1)
        plain(L, 5, "table.move", true);
    fw__host_charge(L, span(f, e) + 1);
    return call_orig(L);
}

/* table.concat (t, sep, i, j) and table.unpack (t, i, j): the range
 * [i, j], from argument at, charged. */
static int charged_range(lua_State *L, const char *fn, int at)
{
    lua_Integer n = plain(L, 1, fn, false);
    lua_Integer i = luaL_optinteger(L, at, 1);
    lua_Integer j = luaL_optinteger(L, at + 1, n);
    fw__host_charge(L, span(i, j) + 1);
    return call_orig(L);
}

static int l_tconcat(lua_State *L)
{
    luaL_optlstring(L, 2, "", NULL);
    return charged_range(L, "table.concat", 3);
}

static int l_tunpack(lua_State *L)
{
    return charged_range(L, "table.unpack", 2);
}

/* table.sort: n log n comparisons charged before it starts (each one may
 * also run a Lua comparator, which the hook counts). */
static int l_tsort(lua_State *L)
{
    lua_Integer n = plain(L, 1, "table.sort", true);
    uint64_t work = (uint64_t)n + 1;
    for (lua_Integer k = n; k > 1; k >>= 1)
        work += (uint64_t)n;
    fw__host_charge(L, work);
    return call_orig(L);
}

/* Replaces lib[name] by f, the original as f's upvalue. */
static void bound(lua_State *L, const char *name, lua_CFunction f)
{
    lua_getfield(L, -1, name);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, -2, name);
}

void fw__lib_bound(void *vL)
{
    lua_State *L = vL;
    static const luaL_Reg matcher[] = {
        {"find", l_find},   {"match", l_match}, {"gmatch", l_gmatch},
        {"gsub", l_gsub},   {NULL, NULL}};
    lua_getglobal(L, LUA_STRLIBNAME);
    luaL_setfuncs(L, matcher, 0);
    bound(L, "rep", l_rep);
    static const char *const by_length[] = {"byte", "unpack", NULL};
    for (const char *const *f = by_length; *f; f++)
        bound(L, *f, l_charged);
    lua_pop(L, 1);
    lua_getglobal(L, LUA_UTF8LIBNAME);
    static const char *const utf8_fns[] = {"len", "codepoint", "offset",
                                           NULL};
    for (const char *const *f = utf8_fns; *f; f++)
        bound(L, *f, l_charged);
    lua_pop(L, 1);
    lua_pushglobaltable(L);
    bound(L, "tonumber", l_charged);
    lua_pop(L, 1);
    lua_getglobal(L, LUA_TABLIBNAME);
    bound(L, "insert", l_tinsert);
    bound(L, "remove", l_tremove);
    bound(L, "move", l_tmove);
    bound(L, "concat", l_tconcat);
    bound(L, "unpack", l_tunpack);
    bound(L, "sort", l_tsort);
    lua_pop(L, 1);
}
