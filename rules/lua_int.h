/* What the Lua host files (lua_host.c, lua_rec.c, lua_emit.c, lua_limits.c,
 * lua_lib.c, lua_fw.c, params.c) share: they alone include lua.h. */
#ifndef FUNDWATCH_LUA_INT_H
#define FUNDWATCH_LUA_INT_H

#include <lua.h>

#include "engine_int.h"

/* The policy a state (or any of its threads) belongs to. */
static inline struct fw__policy *pol_of(lua_State *L)
{
    return *(struct fw__policy **)lua_getextraspace(L);
}

/* ---- the record (lua_rec.c) ---------------------------------------------- */

/* The records' metatable in p's state (every light userdata's: a policy
 * reaches no other), kept at p->rec_mt_ref; the field table at REG_FIELDS. */
void fw__host_rec_mt(lua_State *L, struct fw__policy *p);
/* Pushes day `days` as "YYYY-MM-DD", the same string object while the day
 * stays in the policy's small cache (no string made per call). */
void fw__host_push_date(lua_State *L, int32_t days);

/* ---- emits (lua_emit.c) -------------------------------------------------- */

/* alert, clawback and score: the C closure each is, with its kind (enum
 * fw_fkind) as upvalue 1. */
int fw__host_emit(lua_State *L);

/* ---- limits (lua_limits.c) ---------------------------------------------- */

/* The allocator of every policy state (ud: the policy). */
void *fw__limits_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
/* The count hook, and the instructions between two of its ticks. */
void fw__limits_hook(lua_State *L, lua_Debug *ar);
unsigned fw__limits_step(const struct fw__policy *p);
/* Around one call of policy code (a hook, or the chunk at load). */
void fw__limits_start(struct fw__policy *p);
void fw__limits_stop(struct fw__policy *p);
/* A breach was met, or the caller said stop: no policy code may run. */
bool fw__limits_stopped(const struct fw__policy *p);
/* Lua raised its out-of-memory error in L: under the limits, a breach. */
void fw__limits_mem_breach(struct fw__policy *p, lua_State *L);
/* Installs pcall, xpcall, coroutine.resume, wrap and close that a breach
 * can neither be caught by nor outlive. */
void fw__limits_open(lua_State *L);

#endif
