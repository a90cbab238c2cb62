/* The record as a policy sees it (lua_int.h): a light userdata carrying the
 * record's serial, read field by field through __index (each read is noted
 * for the finding's evidence), read-only, iterable with pairs. */
#include <lauxlib.h>
#include <stdint.h>
#include <string.h>

#include "lua_int.h"
#include "fundwatch/record.h"
#include "params.h"

#define REG_FIELDS "fw.fields"   /* record key → field index */

/* ---- the record ------------------------------------------------------- */

static const struct fw_record *check_rec(lua_State *L, int idx)
{
    struct fw__policy *p = pol_of(L);
    uint64_t serial = (uint64_t)(uintptr_t)lua_touserdata(L, idx);
    if (lua_type(L, idx) != LUA_TLIGHTUSERDATA || p->e->rec == NULL ||
        serial != p->e->rec_serial)
        luaL_error(L, "this record is no longer readable: a record is only "
                   "valid during the hook call that received it (copy the "
                   "fields you need into ctx.state)");
    return p->e->rec;
}

/* The record behind the value at idx when it is a record handed to this
 * call (fw.* reads its fields without going through __index), NULL when the
 * value is anything else; a stale record raises the usual error. */
const struct fw_record *fw__host_record(void *vL, int idx)
{
    lua_State *L = vL;
    /* a policy reaches no light userdata but records (fw__host_rec_mt) */
    if (lua_type(L, idx) != LUA_TLIGHTUSERDATA)
        return NULL;
    return check_rec(L, idx);
}

static void push_field(lua_State *L, const struct fw_record *r, int f)
{
    if (f == FW_F_KIND) {
        lua_pushstring(L, fw_rkind_name(r->kind));
        return;
    }
    if (!fw_record_has(r, (enum fw_field)f)) {
        lua_pushnil(L);
        return;
    }
    switch (fw_fields[f].type) {
    case FW_T_YEAR:
        lua_pushinteger(L, r->num[f]);
        break;
    case FW_T_BOOL:
        lua_pushboolean(L, r->num[f] != 0);
        break;
    case FW_T_MONEY:
        lua_pushinteger(L, r->num[f]);
        break;
    case FW_T_DATE:
        fw__host_push_date(L, (int32_t)r->num[f]);
        break;
    case FW_T_HUNDREDTHS:
        lua_pushnumber(L, (lua_Number)r->num[f] / 100);
        break;
    default:
        lua_pushlstring(L, r->str[f].p, r->str[f].n);
        break;
    }
}

void fw__host_push_date(lua_State *L, int32_t days)
{
    struct fw__policy *p = pol_of(L);
    /* two slots a day may sit in (a multiplicative hash, so that dates a
     * fixed number of days apart do not share them); a new day takes the
     * one not used last */
    unsigned s = ((uint32_t)days * 2654435761u) >> 27 << 1; /* 0..62 */
    for (unsigned k = s; k < s + 2; k++)
        if (p->date_ref[k] > 0 && p->date_day[k] == days) {
            p->date_last[s >> 1] = (unsigned char)(k - s);
            lua_rawgeti(L, LUA_REGISTRYINDEX, p->date_ref[k]);
            return;
        }
    s += 1u - p->date_last[s >> 1];
    p->date_last[s >> 1] = (unsigned char)(s & 1);
    char b[16];
    lua_pushlstring(L, b, fw_date_format(days, b));
    lua_pushvalue(L, -1);
    if (p->date_ref[s] > 0) {
        lua_rawseti(L, LUA_REGISTRYINDEX, p->date_ref[s]);
    } else {
        p->date_ref[s] = luaL_ref(L, LUA_REGISTRYINDEX); /* a string: > 0 */
    }
    p->date_day[s] = days;
}

static void push_source(lua_State *L, const struct fw_record *r)
{
    lua_createtable(L, 0, 2);
    lua_pushstring(L, r->feed ? r->feed : "");
    lua_setfield(L, -2, "feed");
    lua_pushinteger(L, (lua_Integer)r->line);
    lua_setfield(L, -2, "line");
}

static int l_rec_index(lua_State *L)
{
    const struct fw_record *r = check_rec(L, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) == LUA_TNUMBER) {
        int f = (int)lua_tointeger(L, -1);
        if (f < 0) {
            push_source(L, r);
        } else {
            fw__trace_field(pol_of(L)->e, f); /* the finding's evidence */
            push_field(L, r, f);
        }
        return 1;
    }
    size_t n;
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &n)
                                                  : NULL;
    for (size_t i = 0; k && i < r->n_extra; i++)
        if (r->extra_name[i].n == n && memcmp(r->extra_name[i].p, k, n) == 0) {
            fw__trace_extra(pol_of(L)->e, r->extra_name[i].p, n);
            lua_pushlstring(L, r->extra_val[i].p, r->extra_val[i].n);
            return 1;
        }
    if (k)
        fw__params_field_miss(pol_of(L), k, n);
    lua_pushnil(L);
    return 1;
}

static int l_rec_newindex(lua_State *L)
{
    return luaL_error(L, "records are read-only: cannot set field '%s' "
                      "(keep your own values in a local or in ctx.state)",
                      luaL_tolstring(L, 2, NULL));
}

/* pairs(rec): every present field, then the extra columns. */
static int l_rec_pairs(lua_State *L)
{
    const struct fw_record *r = check_rec(L, 1);
    lua_getglobal(L, "next");
    lua_createtable(L, 0, FW__F_COUNT);
    for (int f = 0; f < FW__F_COUNT; f++) {
        push_field(L, r, f);
        lua_setfield(L, -2, fw_fields[f].name);
    }
    for (size_t i = 0; i < r->n_extra; i++) {
        lua_pushlstring(L, r->extra_name[i].p, r->extra_name[i].n);
        lua_pushlstring(L, r->extra_val[i].p, r->extra_val[i].n);
        lua_rawset(L, -3);
    }
    lua_pushnil(L);
    return 3;
}

static int l_rec_tostring(lua_State *L)
{
    const struct fw_record *r = check_rec(L, 1);
    lua_pushfstring(L, "record %s:%I", r->feed ? r->feed : "",
                    (LUAI_UACINT)r->line);
    return 1;
}

void fw__host_rec_mt(lua_State *L, struct fw__policy *p)
{
    lua_createtable(L, 0, FW__F_COUNT + 1);
    for (int f = 0; f < FW__F_COUNT; f++) {
        lua_pushinteger(L, f);
        lua_setfield(L, -2, fw_fields[f].name);
    }
    lua_pushinteger(L, -1);
    lua_setfield(L, -2, "source");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_FIELDS);

    lua_createtable(L, 0, 5);
    lua_insert(L, -2);
    lua_pushcclosure(L, l_rec_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_rec_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, l_rec_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pushcfunction(L, l_rec_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "record");
    lua_setfield(L, -2, "__metatable");
    /* A record is a light userdata whose value is the record's serial: no
     * allocation per hook call, and one kept past its call stays stale
     * (serials only grow). The state has no other light userdata a policy
     * can reach, so their shared metatable is the record's. */
    lua_pushlightuserdata(L, NULL);
    lua_pushvalue(L, -2);
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
    p->rec_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}
