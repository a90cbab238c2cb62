/* libFuzzer target, differential: our step-counted pattern matcher
 * (rules/lua_lib.c) against Lua's own on the same subject and pattern.
 * string.find, match, gsub and gmatch must agree on every result, and on
 * whether they fail. The input is the pattern, a NUL byte, the subject;
 * both are kept short, with few quantifiers, so that Lua's matcher (which
 * nothing bounds) cannot run away. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_int.h"

static const char probe[] =
    "local s, p = ...\n"
    "local out = {}\n"
    "local function add(ok, ...)\n"
    "  out[#out + 1] = ok and 'ok' or 'err'\n"
    "  if ok then for i = 1, select('#', ...) do\n"
    "    out[#out + 1] = tostring((select(i, ...))) end end\n"
    "end\n"
    "add(pcall(string.find, s, p))\n"
    "add(pcall(string.find, s, p, 2))\n"
    "add(pcall(string.match, s, p))\n"
    "add(pcall(string.gsub, s, p, '<%0>'))\n"
    "add(pcall(string.gsub, s, p, function(a) return a and 'x' end, 3))\n"
    "add(pcall(function() local t = {}\n"
    "  for a, b in string.gmatch(s, p) do t[#t + 1] = tostring(a) ..\n"
    "    '|' .. tostring(b) if #t > 64 then break end end\n"
    "  return table.concat(t, ',') end))\n"
    "return table.concat(out, '\\1')\n";

/* The probe's output in L, or NULL when the probe itself failed. */
static const char *run(lua_State *L, const char *p, size_t lp, const char *s,
                       size_t ls)
{
    lua_settop(L, 0);
    if (luaL_loadbuffer(L, probe, sizeof probe - 1, "=probe") != LUA_OK)
        abort();
    lua_pushlstring(L, s, ls);
    lua_pushlstring(L, p, lp);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK)
        return NULL;
    return lua_tostring(L, -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lua_State *stock, *ours;
    static struct fw__policy pol; /* limits off: nothing is charged */
    if (stock == NULL) {
        stock = luaL_newstate();
        ours = luaL_newstate();
        if (stock == NULL || ours == NULL)
            abort();
        luaL_openlibs(stock);
        luaL_openlibs(ours);
        *(struct fw__policy **)lua_getextraspace(ours) = &pol;
        fw__lib_bound(ours);
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t lp = nul ? (size_t)(nul - data) : size;
    const char *p = (const char *)data, *s = nul ? (const char *)nul + 1 : "";
    size_t ls = nul ? size - lp - 1 : 0;
    /* Lua's own matcher, which nothing bounds, is exponential in the
     * quantifiers: keep inputs where it ends quickly */
    int quant = 0;
    for (size_t i = 0; i < lp; i++)
        quant += p[i] == '*' || p[i] == '+' || p[i] == '-' || p[i] == '?';
    if (lp > 24 || ls > 48 || quant > 4)
        return 0;
    const char *a = run(stock, p, lp, s, ls);
    const char *b = run(ours, p, lp, s, ls);
    if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0)) {
        fprintf(stderr, "pattern \"%.*s\" on \"%.*s\":\n  lua:  %s\n  ours: %s\n",
                (int)lp, p, (int)ls, s, a ? a : "(failed)",
                b ? b : "(failed)");
        abort();
    }
    lua_gc(stock, LUA_GCSTEP, 0);
    lua_gc(ours, LUA_GCSTEP, 0);
    return 0;
}
