/* The sandbox's limits: the allocator (memory cap, longest string), the
 * count hook (instruction budget, CPU-time ceiling), breaches and their
 * kill mode, and the catching functions (pcall, xpcall, coroutines) that
 * a breach cannot be caught by or outlived in. A Lua host file: includes
 * lua.h, computes, never does I/O (it reads the thread's CPU clock). */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua_int.h"

/* ---- limits ----------------------------------------------------------- */

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

unsigned fw__limits_step(const struct fw__policy *p)
{
    uint64_t b = p->e->opts.budget;
    return b < FW__BUDGET_STEP ? (unsigned)b : FW__BUDGET_STEP;
}

void fw__limits_hook(lua_State *L, lua_Debug *ar);

/* Kill mode: a hook on every call and every instruction of thread L, so
 * that no Lua code runs there once a limit broke — a __close handler or a
 * frame returned to after an error meets the breach again at once. Threads
 * with no Lua frames left need nothing. */
static void kill_thread(struct fw__policy *p, lua_State *L)
{
    if (p->e->opts.no_budget)
        return;
    lua_sethook(L, fw__limits_hook, LUA_MASKCOUNT | LUA_MASKCALL, 1);
    if (L == p->L)
        p->killed = true;
}

/* "src:line: " of the innermost Lua frame of L with a line, or "". */
static void where(lua_State *L, char *out, size_t n)
{
    lua_Debug ar;
    out[0] = '\0';
    for (int lv = 0; lua_getstack(L, lv, &ar); lv++)
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            snprintf(out, n, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
}

/* Sets the breach of the call (the first one wins) without raising: for
 * the allocator, which only refuses and lets Lua raise. */
static void mark_breach(struct fw__policy *p, lua_State *L,
                        enum fw__breach b, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static void mark_breach(struct fw__policy *p, lua_State *L,
                        enum fw__breach b, const char *fmt, va_list ap)
{
    if (p->breach)
        return;
    p->breach = b;
    char at[FW_PLACE_MAX + 16];
    at[0] = '\0';
    if (b != FW__B_MEMORY) { /* mem_msg has its place already */
        where(L, at, sizeof at);
        if (at[0] == '\0')
            snprintf(at, sizeof at, "%s: ", p->path);
    }
    size_t n = strlen(at);
    if (n >= sizeof p->breach_msg)
        n = sizeof p->breach_msg - 1;
    memcpy(p->breach_msg, at, n);
    vsnprintf(p->breach_msg + n, sizeof p->breach_msg - n, fmt, ap);
    kill_thread(p, L);
    if (L != p->L)
        kill_thread(p, p->L);
}

/* Raises the call's breach again in L (any value: the host reports
 * p->breach_msg); a memory breach may fail to push it, which raises too. */
static int rebreach(lua_State *L)
{
    struct fw__policy *p = pol_of(L);
    kill_thread(p, L);
    if (p->breach)
        lua_pushstring(L, p->breach_msg);
    else
        lua_pushliteral(L, "stopped by the caller");
    return lua_error(L);
}

void fw__host_breach(void *vL, enum fw__breach b, const char *fmt, ...)
{
    lua_State *L = vL;
    struct fw__policy *p = pol_of(L);
    va_list ap;
    va_start(ap, fmt);
    mark_breach(p, L, b, fmt, ap);
    va_end(ap);
    rebreach(L);
    abort(); /* not reached: lua_error does not return */
}

/* Is the call's CPU time past the ceiling? The thread's CPU clock is not
 * read when a call starts (a system call per record would cost several
 * per cent); the first check of a call counts the time before it as the
 * wall time since the call began (a thread cannot have run longer), but at
 * most half the ceiling, so that a thread that merely waited for a CPU is
 * not stopped for it. */
static bool time_over(struct fw__policy *p)
{
    uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t ceiling = p->e->opts.call_time_ms * 1000000u;
    p->unclocked = 0;
    if (!p->cpu_set) {
        uint64_t before = clock_ns(CLOCK_MONOTONIC_COARSE) - p->wall0;
        if (before > ceiling / 2)
            before = ceiling / 2;
        p->cpu_base = cpu > before ? cpu - before : 0;
        p->cpu_set = true;
    }
    return cpu - p->cpu_base > ceiling;
}

#define TIME_WORDS "超出每次调用 %llu 毫秒的 CPU 时间上限(死循环或开销过大的操作?)" \
    " — the time limit of %llu ms of CPU time per call is used up (an "      \
    "endless loop, or costly work on long strings?)"

static void check_time(lua_State *L, struct fw__policy *p)
{
    unsigned long long ms = p->e->opts.call_time_ms;
    if (time_over(p))
        fw__host_breach(L, FW__B_TIME, TIME_WORDS, ms, ms);
}

#define BUDGET_WORDS "超出每次调用 %llu 条指令的预算(死循环?) — the " \
    "instruction budget of %llu instructions per call is used up (an "      \
    "endless loop?)"

static void budget_breach(lua_State *L, struct fw__policy *p)
{
    unsigned long long b = p->e->opts.budget;
    fw__host_breach(L, FW__B_BUDGET, BUDGET_WORDS, b, b);
}

void fw__host_charge(void *vL, uint64_t n)
{
    lua_State *L = vL;
    struct fw__policy *p = pol_of(L);
    if (!p->limits_on || p->e->opts.no_budget)
        return;
    if (p->breach)
        rebreach(L);
    if (n >= (uint64_t)p->left)
        budget_breach(L, p);
    p->left -= (int64_t)n;
    /* the thread's CPU clock costs a system call: read it once per budget
     * step's worth of charged work, as the hook does */
    p->unclocked += n;
    if (p->unclocked >= FW__BUDGET_STEP)
        check_time(L, p);
}

static void breach_on(struct fw__policy *p, lua_State *L, enum fw__breach b,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void breach_on(struct fw__policy *p, lua_State *L, enum fw__breach b,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mark_breach(p, L, b, fmt, ap);
    va_end(ap);
}

static void breach_fmt(struct fw__policy *p, enum fw__breach b,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void breach_fmt(struct fw__policy *p, enum fw__breach b,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mark_breach(p, p->cur ? p->cur : p->L, b, fmt, ap);
    va_end(ap);
}

/* Lua raised its out-of-memory error: under the limits that is the cap
 * (or the string limit, already recorded). */
void fw__limits_mem_breach(struct fw__policy *p, lua_State *L)
{
    if (!p->limits_on || p->breach)
        return;
    if (p->mem_msg[0] == '\0')
        snprintf(p->mem_msg, sizeof p->mem_msg, "%s: 内存不足 — not enough "
                 "memory", p->path);
    breach_on(p, L, FW__B_MEMORY, "%s", p->mem_msg);
}

/* Growth from which an allocation is charged to the budget (a unit per 64
 * bytes) and checked against the time ceiling. */
#define BIG_ALLOC (64u << 10)

/* What Lua 5.4 allocates for a string beyond its bytes: the TString
 * header (24 bytes on 64-bit systems) and the terminating NUL. */
#define STR_HEAD 25

size_t fw__host_max_string(void *L)
{
    return pol_of(L)->e->opts.max_string;
}

/* Every byte a state holds is counted; growing past the cap fails as Lua's
 * out-of-memory error, and so does a string longer than the string limit
 * (Lua names what it allocates when ptr is NULL). Once a limit broke, the
 * state gets no more memory for the rest of the call. */
void *fw__limits_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct fw__policy *p = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        p->mem -= old;
        return NULL;
    }
    if (nsize > old && p->limits_on) {
        if (p->breach)
            return NULL;
        size_t max = p->e->opts.max_string;
        if (ptr == NULL && osize == LUA_TSTRING && nsize > max + STR_HEAD) {
            va_list none;
            memset(&none, 0, sizeof none);
            breach_fmt(p, FW__B_STRING, "字符串超出长度上限 %zu 字节 — a "
                       "string longer than the limit of %zu bytes", max, max);
            return NULL;
        }
        if (p->mem - old + nsize > p->mem_cap) {
            /* Lua collects everything and asks once more: only a second
             * refusal of the same request is a breach (seen here, or as
             * LUA_ERRMEM where a call returns). */
            if (p->mem_refused && p->refused_ptr == ptr &&
                p->refused_size == nsize) {
                p->mem_refused = false;
                breach_fmt(p, FW__B_MEMORY, "%s", p->mem_msg);
                return NULL;
            }
            p->mem_refused = true;
            p->refused_ptr = ptr;
            p->refused_size = nsize;
            lua_State *cur = p->cur ? p->cur : p->L;
            char at[FW_PLACE_MAX + 16];
            where(cur, at, sizeof at);
            if (at[0] == '\0')
                snprintf(at, sizeof at, "%s: ", p->path);
            snprintf(p->mem_msg, sizeof p->mem_msg, "%s超出本政策的内存上限 %zu "
                     "字节 — went over the memory cap of %zu bytes of this "
                     "policy", at, p->mem_cap, p->mem_cap);
            return NULL;
        }
        p->mem_refused = false;
        /* A large allocation is work a single instruction may do (upper,
         * concatenation, format...): charged, and the clock looked at, here
         * rather than at the next tick. */
        if (nsize - old >= BIG_ALLOC && !p->e->opts.no_budget) {
            unsigned long long ms = p->e->opts.call_time_ms;
            uint64_t units = (nsize - old) / 64;
            p->left -= (int64_t)units;
            if (p->left <= 0) {
                unsigned long long b = p->e->opts.budget;
                breach_fmt(p, FW__B_BUDGET, BUDGET_WORDS, b, b);
                return NULL;
            }
            if (time_over(p)) {
                breach_fmt(p, FW__B_TIME, TIME_WORDS, ms, ms);
                return NULL;
            }
        }
    }
    void *n = realloc(ptr, nsize);
    if (n == NULL)
        return NULL;
    p->mem = p->mem - old + nsize;
    return n;
}

/* Charges the shared budget of the call; every coroutine of the state
 * charges the same counter, so spreading a loop over threads gains nothing.
 * The CPU time is read on the same ticks. In kill mode (after a breach) it
 * raises on every call and instruction; a thread left in kill mode from an
 * earlier call goes back to the normal tick. */
void fw__limits_hook(lua_State *L, lua_Debug *ar)
{
    struct fw__policy *p = pol_of(L);
    if (!p->limits_on)
        return;
    if (p->breach || p->e->cb_rc)
        rebreach(L);
    if (lua_gethookmask(L) & LUA_MASKCALL) {
        lua_sethook(L, fw__limits_hook, LUA_MASKCOUNT, (int)fw__limits_step(p));
        return;
    }
    p->left -= fw__limits_step(p);
    if (p->left <= 0)
        budget_breach(L, p);
    check_time(L, p);
}

/* ---- catching, and coroutines ------------------------------------------ */

/* pcall, xpcall and the coroutine functions, in C, so that a broken limit
 * (or a caller's stop) can be neither caught nor outlived: after it, each
 * raises again instead of returning into the policy, xpcall's handler is
 * not called, and a coroutine that died of an error is never closed (its
 * __close handlers would run outside the hook's reach). */
bool fw__limits_stopped(const struct fw__policy *p)
{
    return p->limits_on && (p->breach || p->e->cb_rc);
}

static int finish_pcall(lua_State *L, int status, lua_KContext extra)
{
    if (status == LUA_ERRMEM)
        fw__limits_mem_breach(pol_of(L), L);
    if (fw__limits_stopped(pol_of(L)))
        return rebreach(L);
    if (status != LUA_OK && status != LUA_YIELD) {
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -2);
        return 2;
    }
    return lua_gettop(L) - (int)extra;
}

static int l_pcall(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    int st = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0,
                        finish_pcall);
    return finish_pcall(L, st, 0);
}

/* xpcall's handler, guarded: after a breach the error goes up untouched. */
static int guard_handler(lua_State *L)
{
    if (fw__limits_stopped(pol_of(L)))
        return 1;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int l_xpcall(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, guard_handler, 1);
    lua_replace(L, 2);
    lua_pushboolean(L, 1);
    lua_pushvalue(L, 1);
    lua_rotate(L, 3, 2); /* f, handler, true, f, args... */
    int st = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_pcall);
    return finish_pcall(L, st, 2);
}

static lua_State *check_co(lua_State *L)
{
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
    return co;
}

/* Resumes co with the top narg values of L; the results (or the error) are
 * left on co. p->cur follows the running thread for the allocator. */
static int resume_co(lua_State *L, lua_State *co, int narg, int *nres)
{
    struct fw__policy *p = pol_of(L);
    if (!lua_checkstack(co, narg))
        return luaL_error(L, "too many arguments to resume");
    lua_xmove(L, co, narg);
    void *prev = p->cur;
    p->cur = co;
    int st = lua_resume(co, L, narg, nres);
    p->cur = prev;
    if (st == LUA_ERRMEM)
        fw__limits_mem_breach(p, L);
    if (fw__limits_stopped(p))
        rebreach(L);
    return st;
}

static int l_resume(lua_State *L)
{
    lua_State *co = check_co(L);
    int nres;
    int st = resume_co(L, co, lua_gettop(L) - 1, &nres);
    if (st == LUA_OK || st == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            lua_pushboolean(L, 0);
            lua_pushliteral(L, "too many results to resume");
            return 2;
        }
        lua_pushboolean(L, 1);
        lua_xmove(co, L, nres);
        return nres + 1;
    }
    lua_pushboolean(L, 0);
    lua_xmove(co, L, 1);
    return 2;
}

static int wrap_call(lua_State *L)
{
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    int nres;
    int st = resume_co(L, co, lua_gettop(L), &nres);
    if (st == LUA_OK || st == LUA_YIELD) {
        if (!lua_checkstack(L, nres)) {
            lua_pop(co, nres);
            return luaL_error(L, "too many results to resume");
        }
        lua_xmove(co, L, nres);
        return nres;
    }
    lua_xmove(co, L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
    }
    return lua_error(L);
}

static int l_wrap(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushcclosure(L, wrap_call, 1);
    return 1;
}

/* coroutine.close: a coroutine that died of an error gives its error back
 * without running its __close handlers (the thread may have died inside
 * the count hook, where hooks are off). */
static int l_coclose(lua_State *L)
{
    struct fw__policy *p = pol_of(L);
    lua_State *co = check_co(L);
    if (fw__limits_stopped(p))
        return rebreach(L);
    int st = lua_status(co);
    if (st != LUA_OK && st != LUA_YIELD) {
        lua_pushboolean(L, 0);
        if (lua_gettop(co) > 0) {
            lua_pushvalue(co, -1);
            lua_xmove(co, L, 1);
        } else {
            lua_pushnil(L);
        }
        return 2;
    }
    /* p->cur stays L: the original may raise ("cannot close a running
     * coroutine"), and a p->cur left pointing at co could outlive it. A
     * breach in a __close handler here is met at the next tick instead. */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    if (fw__limits_stopped(p))
        return rebreach(L);
    return lua_gettop(L);
}

void fw__limits_open(lua_State *L)
{
    lua_register(L, "pcall", l_pcall);
    lua_register(L, "xpcall", l_xpcall);
    lua_getglobal(L, LUA_COLIBNAME);
    lua_pushcfunction(L, l_resume);
    lua_setfield(L, -2, "resume");
    lua_pushcfunction(L, l_wrap);
    lua_setfield(L, -2, "wrap");
    lua_getfield(L, -1, "close");
    lua_pushcclosure(L, l_coclose, 1);
    lua_setfield(L, -2, "close");
    lua_pop(L, 1);
}

/* The limits of one call (or of the policy chunk's run at load). Reading
 * the coarse clock costs a few ns; the thread's CPU clock is read only by
 * the count hook, on its ticks. */
void fw__limits_start(struct fw__policy *p)
{
    lua_State *L = p->L;
    if (p->killed) {
        lua_sethook(L, fw__limits_hook, LUA_MASKCOUNT, (int)fw__limits_step(p));
        p->killed = false;
    }
    p->left = (int64_t)p->e->opts.budget;
    p->breach = FW__B_NONE;
    p->breach_msg[0] = '\0';
    p->cur = L;
    p->cpu_set = false;
    p->wall0 = clock_ns(CLOCK_MONOTONIC_COARSE);
    p->call_findings = 0;
    p->mem_refused = false;
    p->mem_msg[0] = '\0';
    p->limits_on = true;
}

void fw__limits_stop(struct fw__policy *p)
{
    p->limits_on = false;
    p->cur = p->L;
}

