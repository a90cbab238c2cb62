/* Two sets of findings compared by id — the id names a finding's subject
 * and period, not the policy version, so the same id on both sides is the
 * same finding: added, removed, or changed when its level, amount, score or
 * grade differ. Used by `fundwatch diff` and the daemon's shadow. */
#ifndef FUNDWATCH_DAEMON_COMPARE_H
#define FUNDWATCH_DAEMON_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fundwatch/finding.h"

/* A finding kept for comparison: its own copies of what is compared and
 * shown, and its whole JSON. */
struct fw_cmp_item {
    char id[FW_ID_HEX + 1];
    int kind, level;
    bool has_amount, has_score;
    int64_t amount, score;
    char *rule, *region, *grade, *message;
    char *subject;   /* "region dept project|task as_of", for people */
    char *json;      /* the finding as the output contract prints it */
};

struct fw_cmp_list {
    struct fw_cmp_item *v;
    size_t n, cap;
};

enum fw_cmp_change { FW_CMP_ADDED, FW_CMP_REMOVED, FW_CMP_CHANGED };

/* Adds a copy of f. Returns 0 or FW_ENOMEM. */
int fw_cmp_add(struct fw_cmp_list *l, const struct fw_finding *f);
void fw_cmp_clear(struct fw_cmp_list *l);
void fw_cmp_fini(struct fw_cmp_list *l);

/* Sorts both lists and calls cb for each difference, in id order: x is the
 * current (a) side's item, y the candidate (b) side's; one of them is NULL
 * unless changed. Returns the number of differences. */
size_t fw_cmp_walk(struct fw_cmp_list *a, struct fw_cmp_list *b,
                   void (*cb)(void *ud, enum fw_cmp_change c,
                              const struct fw_cmp_item *x,
                              const struct fw_cmp_item *y),
                   void *ud);

#endif
