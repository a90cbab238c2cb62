/* Typed parameters: a policy declares each value of its YAML (kind, unit,
 * meaning) in policy { params = { ... } }; every YAML value is checked
 * against it at the YAML's file:line:col and reaches ctx.params typed:
 * money as integer fen, points, percents and scores as exact hundredths,
 * month-days and dates as text the fw date helpers take. Part of the Lua
 * host (includes lua.h); computes only. */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_int.h"
#include "fundwatch/i18n.h"
#include "fundwatch/record.h"
#include "params.h"

#define REG_PDESC "fw.pdesc" /* the metatable of a parameter declaration */
#define REG_DECL_ "fw.decl"  /* = lua_host.c's REG_DECL */

enum pkind {
    PK_POINTS, PK_PERCENT, PK_SCORE, PK_MONEY, PK_MONTHDAY, PK_DATE,
    PK_INTEGER, PK_TEXT, PK_CODES, PK_MAP, PK__COUNT
};

static const char *const kind_fn[PK__COUNT] = {
    "points", "percent", "score", "money", "monthday", "isodate", "integer",
    "text", "codes", "map_of"};

/* What a value of each kind looks like, for messages. */
static const char *const kind_what[PK__COUNT] = {
    N_("percentage points: a number such as 20 or 19.5"),
    N_("a percent: a number such as 30, or \"30%\""),
    N_("a score: a number such as 90 or 89.5"),
    N_("money: such as 3000000, \"3,000,000.00元\", 300万 or 3亿"),
    N_("a month and day such as 09-30"),
    N_("a date such as 2022-02-28"),
    N_("a whole number such as 1"),
    N_("text"),
    N_("a list of codes such as [\"A01\", \"A02\"]"),
    N_("a table of entries (key: value)"),
};

/* ---- declarations --------------------------------------------------------- */

/* fw.<kind>("meaning") or fw.money("万元", "meaning"), fw.map_of(shape,
 * "meaning"): a declaration table {kind, unit, meaning, line, shape}. */
static int l_kind(lua_State *L)
{
    int k = (int)lua_tointeger(L, lua_upvalueindex(1));
    int unit = FW_UNIT_YUAN, mi = 1;
    if (k == PK_MONEY && lua_gettop(L) >= 2) {
        const char *u = luaL_checkstring(L, 1);
        if (strcmp(u, "元") == 0)
            unit = FW_UNIT_YUAN;
        else if (strcmp(u, "万元") == 0 || strcmp(u, "万") == 0)
            unit = FW_UNIT_WAN;
        else if (strcmp(u, "亿元") == 0 || strcmp(u, "亿") == 0)
            unit = FW_UNIT_YI;
        else
            return luaL_error(L, _("fw.money: the unit is \"元\", \"万元\" or "
                                   "\"亿元\", got \"%s\""), u);
        mi = 2;
    }
    if (k == PK_MAP) {
        luaL_checktype(L, 1, LUA_TTABLE);
        mi = 2;
    }
    if (lua_type(L, mi) != LUA_TSTRING || lua_rawlen(L, mi) == 0)
        return luaL_error(L, _("fw.%s: give the parameter's meaning in a few "
                               "words, such as fw.%s \"黄色预警线\""),
                          kind_fn[k], kind_fn[k]);
    lua_Debug ar;
    int line = 0;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar))
        line = ar.currentline;
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, k);
    lua_setfield(L, -2, "kind");
    lua_pushinteger(L, unit);
    lua_setfield(L, -2, "unit");
    lua_pushvalue(L, mi);
    lua_setfield(L, -2, "meaning");
    lua_pushinteger(L, line);
    lua_setfield(L, -2, "line");
    if (k == PK_MAP) {
        lua_pushvalue(L, 1);
        lua_setfield(L, -2, "shape");
    }
    luaL_setmetatable(L, REG_PDESC);
    return 1;
}

static bool is_desc(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx))
        return false;
    luaL_getmetatable(L, REG_PDESC);
    bool r = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return r;
}

static int desc_int(lua_State *L, int idx, const char *k)
{
    lua_getfield(L, idx, k);
    int v = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return v;
}

/* ---- binding ------------------------------------------------------------ */

struct bind {
    struct fw__policy *p;
    const struct fw_value *yaml;
    char yaml_path[FW_PLACE_MAX];
    struct fw_diag *diag;
    int problems;
    /* every declared path ("exec_lag.red"), for "belongs under" */
    char **paths;
    size_t n_paths, cap_paths;
};

static void problem_at(struct bind *b, const struct fw_value *v,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem_at(struct bind *b, const struct fw_value *v,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (v != NULL) {
        fw_value_vdiag(b->diag, v, fmt, ap);
    } else {
        char msg[FW_MSG_MAX];
        vsnprintf(msg, sizeof msg, fmt, ap);
        fw_diag_add(b->diag, NULL, "%s:%d: %s", b->p->path, b->p->decl_line,
                    msg);
    }
    va_end(ap);
    b->problems++;
}

/* The string keys of the table at idx, sorted (messages in a stable
 * order); a Lua array on the stack's top is used as scratch. */
static size_t sorted_keys(lua_State *L, int idx, const char ***out)
{
    size_t n = 0, cap = 8;
    const char **k = malloc(cap * sizeof *k);
    if (k == NULL)
        luaL_error(L, "not enough memory");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            continue;
        if (n == cap) {
            const char **nk = realloc(k, 2 * cap * sizeof *k);
            if (nk == NULL) {
                free(k);
                luaL_error(L, "not enough memory");
            }
            k = nk;
            cap *= 2;
        }
        k[n++] = lua_tostring(L, -1); /* anchored in the declaration */
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(k[j - 1], k[j]) > 0; j--) {
            const char *t = k[j];
            k[j] = k[j - 1];
            k[j - 1] = t;
        }
    *out = k;
    return n;
}

static void add_path(struct bind *b, const char *path)
{
    if (b->n_paths == b->cap_paths) {
        size_t cap = b->cap_paths ? 2 * b->cap_paths : 16;
        char **np = realloc(b->paths, cap * sizeof *np);
        if (np == NULL)
            return;
        b->paths = np;
        b->cap_paths = cap;
    }
    char *d = strdup(path);
    if (d)
        b->paths[b->n_paths++] = d;
}

static void join(char *out, size_t n, const char *prefix, const char *k)
{
    if (prefix && *prefix)
        snprintf(out, n, "%s.%s", prefix, k);
    else
        snprintf(out, n, "%s", k);
}

/* Every declared path of the group at idx under prefix. */
static void collect(lua_State *L, struct bind *b, int idx, const char *prefix)
{
    const char **k;
    size_t n = sorted_keys(L, idx, &k);
    for (size_t i = 0; i < n; i++) {
        char path[256];
        join(path, sizeof path, prefix, k[i]);
        add_path(b, path);
        lua_getfield(L, idx, k[i]);
        if (lua_type(L, -1) == LUA_TTABLE && !is_desc(L, -1))
            collect(L, b, lua_gettop(L), path);
        lua_pop(L, 1);
    }
    free(k);
}

static void push_hundredths(lua_State *L, int64_t h)
{
    if (h % 100 == 0)
        lua_pushinteger(L, h / 100);
    else
        lua_pushnumber(L, (lua_Number)h / 100);
}

static bool ends(const char *s, size_t n, const char *suf, size_t *cut)
{
    size_t m = strlen(suf);
    if (n >= m && memcmp(s + n - m, suf, m) == 0) {
        *cut = n - m;
        return true;
    }
    return false;
}

/* Money text in the declared unit, or with its own: "200万", "3亿元",
 * "2,000,000.00元". */
static int money_of(const char *s, size_t n, int unit, int64_t *fen,
                    const char **why)
{
    while (n > 0 && s[n - 1] == ' ')
        n--;
    size_t cut;
    if (ends(s, n, "万元", &cut) || ends(s, n, "万", &cut))
        unit = FW_UNIT_WAN, n = cut;
    else if (ends(s, n, "亿元", &cut) || ends(s, n, "亿", &cut))
        unit = FW_UNIT_YI, n = cut;
    else if (ends(s, n, "元", &cut))
        unit = FW_UNIT_YUAN, n = cut;
    return fw_money_parse(s, n, (enum fw_unit)unit, fen, why);
}

static bool digits_n(const char *s, size_t n)
{
    return n > 0 && strspn(s, "0123456789") >= n;
}

/* "09-30", "9-30", "9月30日" → month and day. */
static bool monthday_of(const char *s, int *m, int *d)
{
    const char *dash = strchr(s, '-');
    const char *yue = strstr(s, "月");
    size_t ml, dl;
    const char *ds;
    if (dash) {
        ml = (size_t)(dash - s);
        ds = dash + 1;
        dl = strlen(ds);
    } else if (yue) {
        ml = (size_t)(yue - s);
        ds = yue + strlen("月");
        dl = strlen(ds);
        size_t cut;
        if (ends(ds, dl, "日", &cut))
            dl = cut;
    } else {
        return false;
    }
    if (ml < 1 || ml > 2 || dl < 1 || dl > 2 || !digits_n(s, ml) ||
        !digits_n(ds, dl))
        return false;
    *m = atoi(s);
    *d = atoi(ds);
    return fw_date_valid(2000, *m, *d); /* a leap year: 02-29 is a day */
}

static const char *vtext(const struct fw_value *v)
{
    return v->text ? v->text : "";
}

/* Pushes the typed value of scalar-or-not v for declaration at didx, or
 * reports it and pushes nil. */
static void convert(lua_State *L, struct bind *b, int didx,
                    const struct fw_value *v, const char *path);

static void convert_group(lua_State *L, struct bind *b, int gidx,
                          const struct fw_value *map, const char *prefix,
                          const struct fw_value *parent_key);

static void bad_kind(struct bind *b, const struct fw_value *v,
                     const char *path, int k, const char *why)
{
    if (why)
        problem_at(b, v, _("parameter %s: \"%s\" is not %s (%s)"), path,
                   vtext(v), _(kind_what[k]), _(why));
    else if (fw_value_is_scalar(v))
        problem_at(b, v, _("parameter %s: \"%s\" is not %s"), path, vtext(v),
                   _(kind_what[k]));
    else
        problem_at(b, v, _("parameter %s: %s is not %s"), path,
                   _(fw_value_type_name(v->type)), _(kind_what[k]));
}

static void convert(lua_State *L, struct bind *b, int didx,
                    const struct fw_value *v, const char *path)
{
    int k = desc_int(L, didx, "kind");
    bool scalar = fw_value_is_scalar(v) && v->type != FW_V_NULL;
    const char *s = vtext(v);
    size_t n = strlen(s);
    const char *why = NULL;
    int64_t x;
    switch (k) {
    case PK_POINTS:
    case PK_PERCENT:
    case PK_SCORE:
        if (!scalar || v->type == FW_V_BOOL) {
            bad_kind(b, v, path, k, NULL);
            break;
        }
        if (k != PK_PERCENT && n > 0 &&
            (s[n - 1] == '%' || ends(s, n, "％", &(size_t){0}))) {
            bad_kind(b, v, path, k, N_("percentage points are written "
                                       "without %"));
            break;
        }
        if (fw_decimal_parse(s, n, 2, k == PK_PERCENT, &x, &why) < 0) {
            bad_kind(b, v, path, k, why && strcmp(why, "more than two "
                     "decimals") == 0 ? N_("more than two decimals") : NULL);
            break;
        }
        push_hundredths(L, x);
        return;
    case PK_MONEY:
        if (!scalar || v->type == FW_V_BOOL) {
            bad_kind(b, v, path, k, NULL);
            break;
        }
        if (money_of(s, n, desc_int(L, didx, "unit"), &x, &why) < 0) {
            bad_kind(b, v, path, k, NULL);
            break;
        }
        lua_pushinteger(L, x);
        return;
    case PK_MONTHDAY: {
        int m, d;
        if (!scalar || !monthday_of(s, &m, &d)) {
            bad_kind(b, v, path, k, NULL);
            break;
        }
        lua_pushfstring(L, "%s%d-%s%d", m < 10 ? "0" : "", m,
                        d < 10 ? "0" : "", d);
        return;
    }
    case PK_DATE: {
        int32_t days;
        char out[16];
        if (!scalar || fw_date_parse(s, n, &days, &why) < 0) {
            bad_kind(b, v, path, k, NULL);
            break;
        }
        lua_pushlstring(L, out, fw_date_format(days, out));
        return;
    }
    case PK_INTEGER:
        if (v->type == FW_V_INT) {
            lua_pushinteger(L, v->i);
            return;
        }
        if (scalar && digits_n(s, n) && n < 18) {
            lua_pushinteger(L, atoll(s));
            return;
        }
        bad_kind(b, v, path, k, NULL);
        break;
    case PK_TEXT:
        if (!scalar) {
            bad_kind(b, v, path, k, NULL);
            break;
        }
        lua_pushlstring(L, s, v->len);
        return;
    case PK_CODES:
        if (v->type != FW_V_LIST) {
            bad_kind(b, v, path, k, NULL);
            break;
        }
        lua_createtable(L, (int)v->n, 0);
        for (size_t i = 0; i < v->n; i++) {
            const struct fw_value *it = v->items[i];
            if (!fw_value_is_scalar(it) || it->type == FW_V_NULL) {
                bad_kind(b, it, path, k, NULL);
                continue;
            }
            lua_pushstring(L, vtext(it));
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        fw__host_readonly(L);
        return;
    case PK_MAP: {
        if (v->type != FW_V_MAP) {
            bad_kind(b, v, path, k, NULL);
            break;
        }
        lua_getfield(L, didx, "shape");
        int sidx = lua_gettop(L);
        bool group = !is_desc(L, sidx);
        lua_createtable(L, 0, (int)v->n);
        for (size_t i = 0; i < v->n; i++) {
            char sub[256];
            join(sub, sizeof sub, path, vtext(v->keys[i]));
            if (group)
                convert_group(L, b, sidx, v->items[i], sub, v->keys[i]);
            else
                convert(L, b, sidx, v->items[i], sub);
            lua_setfield(L, -2, vtext(v->keys[i]));
        }
        fw__host_readonly(L);
        lua_remove(L, sidx);
        return;
    }
    }
    lua_pushnil(L);
}

/* The declared path ending in ".key" (or equal to key) that is not where
 * the key was written, for "belongs under". */
static const char *elsewhere(struct bind *b, const char *key,
                             const char *here)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < b->n_paths; i++) {
        const char *pth = b->paths[i];
        size_t pl = strlen(pth);
        bool tail = pl > kl && pth[pl - kl - 1] == '.' &&
                    strcmp(pth + pl - kl, key) == 0;
        if ((tail || strcmp(pth, key) == 0) && strcmp(pth, here) != 0)
            return pth;
    }
    return NULL;
}

/* The key node of name in map (where "name:" is written). */
static const struct fw_value *key_of(const struct fw_value *map,
                                     const char *name)
{
    for (size_t i = 0; map && map->type == FW_V_MAP && i < map->n; i++)
        if (strcmp(vtext(map->keys[i]), name) == 0)
            return map->keys[i];
    return NULL;
}

static void convert_group(lua_State *L, struct bind *b, int gidx,
                          const struct fw_value *map, const char *prefix,
                          const struct fw_value *parent_key)
{
    const char **k;
    size_t n = sorted_keys(L, gidx, &k);
    lua_createtable(L, 0, (int)n);
    int out = lua_gettop(L);
    if (map != NULL && map->type != FW_V_MAP && map->type != FW_V_NULL) {
        problem_at(b, map, _("parameter %s: a map of %s expected, got %s"),
                   prefix, k && n ? k[0] : "", _(fw_value_type_name(map->type)));
        free(k);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char path[256];
        join(path, sizeof path, prefix, k[i]);
        lua_getfield(L, gidx, k[i]);
        int didx = lua_gettop(L);
        bool leaf = is_desc(L, didx);
        const struct fw_value *v = map ? fw_value_get(map, k[i]) : NULL;
        if (v == NULL) {
            const struct fw_value *at = parent_key ? parent_key : map;
            if (b->yaml == NULL)
                problem_at(b, NULL, _("parameter %s is declared but %s does "
                                      "not exist"), path, b->yaml_path);
            else
                problem_at(b, at ? at : b->yaml, _("parameter %s is missing"),
                           path);
            lua_pop(L, 1); /* a missing group is said once */
            continue;
        }
        if (leaf)
            convert(L, b, didx, v, path);
        else if (lua_type(L, didx) == LUA_TTABLE)
            convert_group(L, b, didx, v, path, key_of(map, k[i]));
        else {
            problem_at(b, NULL, _("params.%s: declare it with its kind, such "
                                  "as fw.points \"红色预警线\" or fw.money "
                                  "\"金额下限\" (got %s)"), path,
                       luaL_typename(L, didx));
            lua_pushnil(L);
        }
        lua_setfield(L, out, k[i]);
        lua_pop(L, 1);
    }
    /* keys written but not declared */
    for (size_t i = 0; map && map->type == FW_V_MAP && i < map->n; i++) {
        const char *key = vtext(map->keys[i]);
        bool known = false;
        for (size_t j = 0; j < n && !known; j++)
            known = strcmp(k[j], key) == 0;
        if (known)
            continue;
        char here[256];
        join(here, sizeof here, prefix, key);
        const char *near = fw__suggest(key, k, n);
        const char *other = elsewhere(b, key, here);
        if (other)
            problem_at(b, map->keys[i], _("parameter \"%s\" is at the wrong "
                       "level: the policy declares %s"), key, other);
        else if (near && *prefix)
            problem_at(b, map->keys[i], _("unknown parameter \"%s\" under %s "
                       "(did you mean \"%s\"?)"), key, prefix, near);
        else if (near)
            problem_at(b, map->keys[i], _("unknown parameter \"%s\" (did you "
                       "mean \"%s\"?)"), key, near);
        else if (*prefix)
            problem_at(b, map->keys[i], _("unknown parameter \"%s\" under %s"),
                       key, prefix);
        else
            problem_at(b, map->keys[i], _("unknown parameter \"%s\""), key);
    }
    free(k);
    fw__host_readonly(L);
}

static int bind_call(lua_State *L)
{
    struct bind *b = lua_touserdata(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_DECL_);
    if (lua_getfield(L, -1, "params") == LUA_TNIL)
        return 0; /* an untyped policy: ctx.params is its YAML */
    int didx = lua_gettop(L);
    if (lua_type(L, didx) != LUA_TTABLE || is_desc(L, didx)) {
        problem_at(b, NULL, "%s", _("params must be a table of parameters, "
                                    "such as params = { red = fw.points "
                                    "\"红色预警线\" }"));
        return 0;
    }
    collect(L, b, didx, "");
    const struct fw_value *root = b->yaml;
    if (root && root->type == FW_V_NULL)
        root = NULL;
    convert_group(L, b, didx, root, "", NULL);
    lua_rawgeti(L, LUA_REGISTRYINDEX, b->p->ctx_ref);
    lua_insert(L, -2);
    lua_setfield(L, -2, "params");
    return 0;
}

/* "file:line:col: ..." items in the order of their line and column. */
static int by_place(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    const char *cx = strchr(x, ':'), *cy = strchr(y, ':');
    long lx = cx ? strtol(cx + 1, (char **)&cx, 10) : 0;
    long ly = cy ? strtol(cy + 1, (char **)&cy, 10) : 0;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    long kx = cx && *cx == ':' ? strtol(cx + 1, NULL, 10) : 0;
    long ky = cy && *cy == ':' ? strtol(cy + 1, NULL, 10) : 0;
    return kx < ky ? -1 : kx > ky;
}

int fw__params_bind(struct fw__policy *p, const struct fw_value *yaml,
                    struct fw_diag *diag)
{
    lua_State *L = p->L;
    if (p->yaml_bad)
        return FW_EINVAL; /* said already; its values are unknown */
    struct fw_diag mine;
    fw_diag_init(&mine);
    struct bind b = {.p = p, .yaml = yaml, .diag = &mine};
    size_t n = strlen(p->path);
    if (n > 4 && strcmp(p->path + n - 4, ".lua") == 0)
        n -= 4;
    snprintf(b.yaml_path, sizeof b.yaml_path, "%.*s.yaml", (int)n, p->path);
    int top = lua_gettop(L);
    lua_pushcfunction(L, bind_call);
    lua_pushlightuserdata(L, &b);
    int rc = lua_pcall(L, 1, 0, 0);
    if (rc != LUA_OK) {
        fw_diag_add(&mine, NULL, "%s: %s", p->path, lua_tostring(L, -1));
        b.problems++;
    }
    lua_settop(L, top);
    for (size_t i = 0; i < b.n_paths; i++)
        free(b.paths[i]);
    free(b.paths);
    /* the .lua's own problems (no YAML file) first, then the YAML's by line */
    if (mine.n > 1)
        qsort(mine.items, mine.n, sizeof *mine.items, by_place);
    for (size_t i = 0; i < mine.n; i++)
        fw_diag_add(diag, NULL, "%s", mine.items[i]);
    fw_diag_fini(&mine);
    return b.problems ? FW_EINVAL : 0;
}

/* ---- record fields no column gave ------------------------------------------ */

void fw__params_feed_begin(struct fw__policy *p)
{
    p->missed[0] = '\0';
    p->missed_near = NULL;
    p->miss_tries = 0;
}

void fw__params_field_miss(struct fw__policy *p, const char *k, size_t n)
{
    if (p->missed[0] || p->miss_tries >= 16 || n == 0 ||
        n >= sizeof p->missed)
        return;
    p->miss_tries++;
    const char *names[FW__F_COUNT];
    for (int f = 0; f < FW__F_COUNT; f++)
        names[f] = fw_fields[f].name;
    char w[sizeof p->missed];
    memcpy(w, k, n);
    w[n] = '\0';
    const char *near = fw__suggest(w, names, FW__F_COUNT);
    if (near) {
        memcpy(p->missed, w, n + 1);
        p->missed_near = near;
    }
}

const char *fw_engine_policy_missed_field(const struct fw_engine *e, size_t i,
                                          const char **near)
{
    if (i >= e->n_pol || e->pol[i].missed[0] == '\0')
        return NULL;
    if (near)
        *near = e->pol[i].missed_near;
    return e->pol[i].missed;
}

/* ---- helpers promoted from the reference policies' notice.lua -------------- */

static void push_h(lua_State *L, int64_t h)
{
    lua_pushnumber(L, (lua_Number)h / 100);
}

/* fw.hundredths(x): x (≤ 2 decimals, or decimal text) as integer
 * hundredths, for exact arithmetic. */
static int l_hundredths(lua_State *L)
{
    lua_pushinteger(L, fw__lua_hundredths(L, 1, "fw.hundredths", "value"));
    return 1;
}

/* fw.diff(a, b): a − b computed in exact hundredths. */
static int l_diff(lua_State *L)
{
    int64_t a = fw__lua_hundredths(L, 1, "fw.diff", "a");
    int64_t c = fw__lua_hundredths(L, 2, "fw.diff", "b");
    push_h(L, a - c);
    return 1;
}

/* fw.fix(x): "20.00", two decimals. */
static int l_fix(lua_State *L)
{
    char out[32];
    int64_t h = fw__lua_hundredths(L, 1, "fw.fix", "value");
    lua_pushlstring(L, out, fw_decimal_format(h, 2, out));
    return 1;
}

/* fw.num(x): the way an officer writes it: "20", "12.5". */
static int l_num(lua_State *L)
{
    char out[32];
    int64_t h = fw__lua_hundredths(L, 1, "fw.num", "value");
    size_t n = fw_decimal_format(h, 2, out);
    while (n > 0 && out[n - 1] == '0')
        n--;
    if (n > 0 && out[n - 1] == '.')
        n--;
    lua_pushlstring(L, out, n);
    return 1;
}

/* fw.ratio(percent): the ratio text of a clawback, 30 → "0.30",
 * 12.5 → "0.125", 100 → "1.00". */
static int l_ratio(lua_State *L)
{
    char out[40];
    int64_t h = fw__lua_hundredths(L, 1, "fw.ratio", "percent");
    size_t n = fw_decimal_format(h, 4, out);
    while (n > 0 && out[n - 1] == '0' && out[n - 3] != '.')
        n--;
    lua_pushlstring(L, out, n);
    return 1;
}

/* fw.in_year(year, "09-30"): that day of that year, "2024-09-30" (a
 * month-day parameter turned into a date to compare with as_of). */
static int l_in_year(lua_State *L)
{
    lua_Integer y = luaL_checkinteger(L, 1);
    size_t n;
    const char *md = luaL_checklstring(L, 2, &n);
    int m, d;
    const char *c = md;
    /* "09-30", what a month-day parameter gives, is read in place; other
     * spellings go through monthday_of */
    if (n == 5 && c[2] == '-' && c[0] >= '0' && c[0] <= '1' && c[1] >= '0' &&
        c[1] <= '9' && c[3] >= '0' && c[3] <= '3' && c[4] >= '0' && c[4] <= '9') {
        m = (c[0] - '0') * 10 + (c[1] - '0');
        d = (c[3] - '0') * 10 + (c[4] - '0');
    } else if (!monthday_of(md, &m, &d)) {
        m = 0, d = 0;
    }
    if (y < 1 || y > 9999 || !fw_date_valid((int)y, m, d))
        return luaL_error(L, _("fw.in_year: %d-%s is not a date"), (int)y,
                          md);
    fw__host_push_date(L, fw_date_from_ymd((int)y, m, d));
    return 1;
}

/* rec.k as text, or NULL; the value stays on the stack (a record's field
 * is a fresh string, alive only while something holds it). */
static const char *rec_text(lua_State *L, int idx, const char *k)
{
    lua_getfield(L, idx, k);
    return lua_tostring(L, -1);
}

/* fw.subject(rec): who a notice is about: 项目“名称”(代码), 任务…, 单位…整体.
 * Reads only the fields it prints, in this order: a finding's evidence
 * lists the fields its hook read. */
static int l_subject(lua_State *L)
{
    const char *proj = rec_text(L, 1, "project"), *name;
    if (proj) {
        if ((name = rec_text(L, 1, "project_name")) != NULL)
            lua_pushfstring(L, "项目“%s”(%s)", name, proj);
        else
            lua_pushfstring(L, "项目 %s", proj);
        return 1;
    }
    const char *task = rec_text(L, 1, "task");
    if (task) {
        if ((name = rec_text(L, 1, "task_name")) != NULL)
            lua_pushfstring(L, "任务“%s”(%s)", name, task);
        else
            lua_pushfstring(L, "任务 %s", task);
        return 1;
    }
    const char *dname = rec_text(L, 1, "dept_name");
    const char *dept = rec_text(L, 1, "dept");
    if (dname && dept)
        lua_pushfstring(L, "单位“%s”(%s)整体", dname, dept);
    else if (dname || dept)
        lua_pushfstring(L, "单位 %s 整体", dname ? dname : dept);
    else
        lua_pushliteral(L, "该笔指标");
    return 1;
}

/* fw.graded_score(rec): the 复核评分 when there is one, else the 自评分,
 * and its name; nil when neither. */
static int l_graded_score(lua_State *L)
{
    static const char *const k[] = {"review_score", "score"};
    static const char *const name[] = {"复核评分", "自评分"};
    for (int i = 0; i < 2; i++) {
        if (lua_getfield(L, 1, k[i]) != LUA_TNIL) {
            lua_pushstring(L, name[i]);
            return 2;
        }
        lua_pop(L, 1);
    }
    lua_pushnil(L);
    return 1;
}

void fw__params_open(void *vL)
{
    lua_State *L = vL;
    if (luaL_newmetatable(L, REG_PDESC)) {
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    for (int k = 0; k < PK__COUNT; k++) {
        lua_pushinteger(L, k);
        lua_pushcclosure(L, l_kind, 1);
        lua_setfield(L, -2, kind_fn[k]);
    }
    static const luaL_Reg fns[] = {
        {"hundredths", l_hundredths}, {"diff", l_diff},
        {"fix", l_fix},               {"num", l_num},
        {"ratio", l_ratio},           {"subject", l_subject},
        {"graded_score", l_graded_score}, {"in_year", l_in_year},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
