/* What the policy officer's side of the host shares: typed parameters
 * (params.c), the static checks of a policy's tokens (lint.c) and the
 * "did you mean" of both (suggest.c). Not public; pure like all of rules/. */
#ifndef FUNDWATCH_PARAMS_H
#define FUNDWATCH_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "engine_int.h"

/* Adds the parameter kinds (fw.points, fw.money, ...) and the officer's
 * helpers (fw.fix, fw.diff, fw.subject, ...) to the fw table on the top of
 * the stack (lua_State *L). */
void fw__params_open(void *L);

/* After p's chunk ran: checks the YAML values yaml (NULL: no YAML file)
 * against the params = { ... } of p's declaration, each problem added to
 * diag at the YAML file:line:col, and sets ctx.params to the typed values.
 * A policy that declares no params keeps its YAML as it is. 0 or
 * FW_EINVAL. */
int fw__params_bind(struct fw__policy *p, const struct fw_value *yaml,
                    struct fw_diag *diag);

/* A hook read rec[k] (k, n bytes) and no column of the record gave it:
 * remembers the first such k of the feed that is close to a canonical
 * field. Cheap: at most a few tries a feed. */
void fw__params_field_miss(struct fw__policy *p, const char *k, size_t n);
/* A new feed: nothing missed yet. */
void fw__params_feed_begin(struct fw__policy *p);

/* Static checks of p's source, from its tokens, after p loaded: names
 * that are no global of its sandbox, literal rule ids, levels and grades of
 * emits. Errors go to diag; 0 or FW_EINVAL. */
int fw__lint_policy(struct fw__policy *p, const char *src, size_t len,
                    struct fw_diag *diag);

/* Replaces the table on the top of the stack (lua_State *L) with a
 * read-only view of it, as ctx.params is (lua_host.c). */
void fw__host_readonly(void *L);

/* The candidate closest to word (at most about a third of its letters
 * apart), or NULL: the "did you mean" of a misspelt name. */
const char *fw__suggest(const char *word, const char *const *cands,
                        size_t n);

#endif
