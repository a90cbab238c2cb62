/* The fw.* helpers policies call: RULES.md's shared definitions (序时进度,
 * 支出进度, lag, rounding half away from zero), money and date maths, all
 * exact in integers. Pure functions of their arguments: no clock, no I/O. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <openssl/evp.h>
#include <string.h>

#include "lua_int.h"
#include "fundwatch/record.h"
#include "params.h"

typedef __int128 i128;

/* num / den rounded half away from zero; den > 0. */
static int64_t round_div(i128 num, i128 den)
{
    /* in 64 bits when it fits (it nearly always does): a 128-bit division
     * is a library call */
    if (num > -((i128)1 << 61) && num < ((i128)1 << 61) && den > 0 &&
        den < ((i128)1 << 61)) {
        int64_t n = (int64_t)num, dd = (int64_t)den;
        int64_t q = (2 * (n < 0 ? -n : n) + dd) / (2 * dd);
        return n < 0 ? -q : q;
    }
    i128 a = num < 0 ? -num : num;
    i128 q = (2 * a + den) / (2 * den);
    return (int64_t)(num < 0 ? -q : q);
}

static void push_hundredths(lua_State *L, int64_t h)
{
    lua_pushnumber(L, (lua_Number)h / 100);
}

static int32_t check_date(lua_State *L, int idx, const char *fn)
{
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    if (s == NULL)
        return luaL_error(L, "fw.%s: a date such as \"2024-06-30\" expected, "
                          "got %s", fn, luaL_typename(L, idx));
    int32_t days;
    const char *why = NULL;
    if (fw_date_parse(s, n, &days, &why) < 0)
        return luaL_error(L, "fw.%s: date \"%s\": %s", fn, s,
                          why ? why : "not a date");
    return days;
}


/* A percent or score as exact hundredths: an integer, a number with at
 * most two decimals, or decimal text ("30", "0.5", "12.34%"). */
static int64_t check_hundredths(lua_State *L, int idx, const char *fn,
                                const char *what)
{
    if (lua_isinteger(L, idx)) {
        lua_Integer v = lua_tointeger(L, idx);
        if (v > INT64_MAX / 100 || v < INT64_MIN / 100)
            return luaL_error(L, "%s: %s %I is too large", fn, what,
                              (LUAI_UACINT)v);
        return (int64_t)v * 100;
    }
    if (lua_type(L, idx) == LUA_TNUMBER) {
        lua_Number x = lua_tonumber(L, idx) * 100;
        if (!(x > -9e15 && x < 9e15))
            return luaL_error(L, "%s: %s is not a finite number", fn, what);
        lua_Number r = round(x);
        if (fabs(x - r) > 1e-6)
            return luaL_error(L, "%s: %s %s has more than two decimals",
                              fn, what, lua_tostring(L, idx));
        return (int64_t)r;
    }
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        int64_t v;
        const char *why = NULL;
        if (fw_decimal_parse(s, n, 2, true, &v, &why) < 0)
            return luaL_error(L, "%s: %s \"%s\": %s", fn, what, s,
                              why ? why : "not a number");
        return v;
    }
    return luaL_error(L, "%s: %s must be a number, got %s", fn, what,
                      luaL_typename(L, idx));
}

int64_t fw__lua_hundredths(void *L, int idx, const char *fn, const char *what)
{
    return check_hundredths(L, idx, fn, what);
}

static int64_t check_fen(lua_State *L, int idx, const char *fn)
{
    if (!lua_isinteger(L, idx)) {
        const char *tn = luaL_typename(L, idx);
        const char *v = luaL_tolstring(L, idx, NULL); /* a copy, pushed */
        return luaL_error(L, "fw.%s: money must be integer fen, got %s %s",
                          fn, tn, v);
    }
    return (int64_t)lua_tointeger(L, idx);
}

/* 序时进度 of a date in hundredths of a percent:
 * (m − 1 + d / D) / 12 × 100, rounded half away from zero. */
static int64_t seq_h(int32_t days)
{
    int y, m, d;
    fw_date_ymd(days, &y, &m, &d);
    int D = fw_month_days(y, m);
    return round_div((i128)10000 * ((m - 1) * D + d), (i128)12 * D);
}

int64_t fw__fig_value(int kind, int64_t a, int64_t b)
{
    switch (kind) {
    case FW__FIG_SEQ:
        return seq_h((int32_t)a);
    case FW__FIG_PROGRESS:
        return round_div((i128)10000 * a, b);
    default:
        return a;
    }
}

/* The engine of the hook call in progress, for the evidence (the host
 * keeps its policy in the state's extra space). */
static struct fw_engine *engine_of(lua_State *L)
{
    return (*(struct fw__policy **)lua_getextraspace(L))->e;
}

static int l_fw_seq(lua_State *L)
{
    int64_t h = seq_h(check_date(L, 1, "seq"));
    fw__trace_fig(engine_of(L), "seq", h);
    push_hundredths(L, h);
    return 1;
}

/* The money field f of the record-like value at idx (a record or a table),
 * or false when absent. */
static bool get_money(lua_State *L, int idx, enum fw_field fld,
                      int64_t *out, const char *fn)
{
    const struct fw_record *r = fw__host_record(L, idx);
    if (r) { /* the common case: no __index round trip, no string */
        fw__trace_field(engine_of(L), fld);
        *out = r->num[fld];
        return fw_record_has(r, fld);
    }
    lua_getfield(L, idx, fw_fields[fld].name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return false;
    }
    *out = check_fen(L, -1, fn);
    lua_pop(L, 1);
    return true;
}

static int l_fw_progress(lua_State *L)
{
    int64_t budget, paid;
    luaL_checkany(L, 1);
    if (!get_money(L, 1, FW_F_BUDGET, &budget, "progress") ||
        !get_money(L, 1, FW_F_PAID, &paid, "progress") || budget <= 0) {
        lua_pushnil(L);
        return 1;
    }
    int64_t h = round_div((i128)10000 * paid, budget);
    fw__trace_fig(engine_of(L), "progress", h);
    push_hundredths(L, h);
    return 1;
}

/* lag = seq − progress computed exactly as one fraction, then rounded:
 * 10000 × (((m−1)·D + d) · budget − 12·D · paid) / (12·D · budget). */
static int l_fw_lag(lua_State *L)
{
    int64_t budget, paid;
    int32_t days;
    luaL_checkany(L, 1);
    const struct fw_record *r = fw__host_record(L, 1);
    if (r) { /* the common case: one look at the record, no strings */
        struct fw_engine *e = engine_of(L);
        fw__trace_field(e, FW_F_BUDGET);
        fw__trace_field(e, FW_F_PAID);
        budget = r->num[FW_F_BUDGET];
        paid = r->num[FW_F_PAID];
        if (!fw_record_has(r, FW_F_BUDGET) || !fw_record_has(r, FW_F_PAID) ||
            budget <= 0) {
            lua_pushnil(L);
            return 1;
        }
        if (!lua_isnoneornil(L, 2)) {
            days = check_date(L, 2, "lag");
        } else if (!fw_record_has(r, FW_F_AS_OF)) {
            lua_pushnil(L);
            return 1;
        } else {
            days = (int32_t)r->num[FW_F_AS_OF];
        }
    } else {
        if (!get_money(L, 1, FW_F_BUDGET, &budget, "lag") ||
            !get_money(L, 1, FW_F_PAID, &paid, "lag") || budget <= 0) {
            lua_pushnil(L);
            return 1;
        }
        if (!lua_isnoneornil(L, 2)) {
            days = check_date(L, 2, "lag");
        } else {
            lua_getfield(L, 1, "as_of");
            if (lua_isnil(L, -1)) {
                lua_pushnil(L);
                return 1;
            }
            days = check_date(L, -1, "lag");
        }
    }
    int y, m, d;
    fw_date_ymd(days, &y, &m, &d);
    int D = fw_month_days(y, m);
    int64_t sn = (int64_t)((m - 1) * D + d), sd = (int64_t)12 * D;
    i128 num = (i128)10000 * ((i128)sn * budget - (i128)sd * paid);
    int64_t h = round_div(num, (i128)sd * budget);
    struct fw_engine *e = engine_of(L);
    fw__trace_fig_of(e, "seq", FW__FIG_SEQ, days, 0);
    fw__trace_fig_of(e, "progress", FW__FIG_PROGRESS, paid, budget);
    fw__trace_fig(e, "lag", h);
    push_hundredths(L, h);
    return 1;
}

static int l_fw_yuan(lua_State *L)
{
    char b[32];
    size_t n = fw_money_format(check_fen(L, 1, "yuan"), b);
    lua_pushlstring(L, b, n);
    return 1;
}

static int l_fw_fen(lua_State *L)
{
    if (lua_isinteger(L, 1)) {
        lua_Integer v = lua_tointeger(L, 1);
        if (v > INT64_MAX / 100 || v < INT64_MIN / 100)
            return luaL_error(L, "fw.fen: %I yuan is too large", (LUAI_UACINT)v);
        lua_pushinteger(L, v * 100);
        return 1;
    }
    if (lua_type(L, 1) != LUA_TSTRING)
        return luaL_error(L, "fw.fen: money text such as \"1,234.56\" "
                          "expected, got %s", luaL_typename(L, 1));
    size_t n;
    const char *s = lua_tolstring(L, 1, &n);
    int64_t fen;
    const char *why = NULL;
    if (fw_money_parse(s, n, FW_UNIT_YUAN, &fen, &why) < 0)
        return luaL_error(L, "fw.fen: \"%s\": %s", s, why ? why : "not money");
    lua_pushinteger(L, fen);
    return 1;
}

static int l_fw_pct(lua_State *L)
{
    int64_t fen = check_fen(L, 1, "pct");
    int64_t h = check_hundredths(L, 2, "fw.pct", "percent");
    i128 v = (i128)fen * h;
    int64_t r = round_div(v, 10000);
    lua_pushinteger(L, r);
    return 1;
}

static int l_fw_grade(lua_State *L)
{
    static const char *const names[] = {"优", "良", "中", "差"};
    int64_t s = check_hundredths(L, 1, "fw.grade", "score");
    int64_t band[3] = {9000, 8000, 6000};
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        for (int i = 0; i < 3; i++) {
            lua_geti(L, 2, i + 1);
            band[i] = check_hundredths(L, -1, "fw.grade", "band");
            lua_pop(L, 1);
        }
        if (!(band[0] >= band[1] && band[1] >= band[2]))
            return luaL_error(L, "fw.grade: bands must go down, "
                              "as in {90, 80, 60}");
    }
    int g = 3;
    for (int i = 0; i < 3; i++)
        if (s >= band[i]) {
            g = i;
            break;
        }
    lua_pushstring(L, names[g]);
    return 1;
}

static int l_fw_date(lua_State *L)
{
    lua_Integer y = luaL_checkinteger(L, 1), m = luaL_checkinteger(L, 2),
                d = luaL_checkinteger(L, 3);
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 ||
        !fw_date_valid((int)y, (int)m, (int)d))
        return luaL_error(L, "fw.date: %I-%I-%I is not a date",
                          (LUAI_UACINT)y, (LUAI_UACINT)m, (LUAI_UACINT)d);
    fw__host_push_date(L, fw_date_from_ymd((int)y, (int)m, (int)d));
    return 1;
}

static int l_fw_ymd(lua_State *L)
{
    int y, m, d;
    fw_date_ymd(check_date(L, 1, "ymd"), &y, &m, &d);
    lua_pushinteger(L, y);
    lua_pushinteger(L, m);
    lua_pushinteger(L, d);
    return 3;
}

static int l_fw_days(lua_State *L)
{
    int32_t a = check_date(L, 1, "days"), b = check_date(L, 2, "days");
    lua_pushinteger(L, (lua_Integer)b - a);
    return 1;
}

static int l_fw_add_days(lua_State *L)
{
    int32_t a = check_date(L, 1, "add_days");
    lua_Integer n = luaL_checkinteger(L, 2);
    lua_Integer r = a + n;
    /* 0001-01-01 .. 9999-12-31 */
    if (n > 3000000 || n < -3000000 || r < -719162 || r > 2932896)
        return luaL_error(L, "fw.add_days: the result is out of range");
    fw__host_push_date(L, (int32_t)r);
    return 1;
}

static int l_fw_month_end(lua_State *L)
{
    int y, m, d;
    fw_date_ymd(check_date(L, 1, "month_end"), &y, &m, &d);
    fw__host_push_date(L, fw_date_from_ymd(y, m, fw_month_days(y, m)));
    return 1;
}

static int l_fw_hash(lua_State *L)
{
    static const char hex[] = "0123456789abcdef";
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    fw__host_charge(L, n / 64 + 1); /* sha256 of n bytes: work in C */
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!EVP_Digest(s, n, md, &len, EVP_sha256(), NULL))
        return luaL_error(L, "fw.hash: sha256 failed");
    char out[2 * EVP_MAX_MD_SIZE];
    for (unsigned i = 0; i < len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    lua_pushlstring(L, out, 2 * len);
    return 1;
}

void fw__fwlib_open(void *vL)
{
    static const luaL_Reg fns[] = {
        {"seq", l_fw_seq},           {"progress", l_fw_progress},
        {"lag", l_fw_lag},           {"yuan", l_fw_yuan},
        {"fen", l_fw_fen},           {"pct", l_fw_pct},
        {"grade", l_fw_grade},       {"date", l_fw_date},
        {"ymd", l_fw_ymd},           {"days", l_fw_days},
        {"add_days", l_fw_add_days}, {"month_end", l_fw_month_end},
        {"hash", l_fw_hash},         {NULL, NULL},
    };
    lua_State *L = vL;
    luaL_newlib(L, fns);
    fw__params_open(L);
}
