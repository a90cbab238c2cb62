/* The 数据日期 of every task snapshot the store keeps, in memory, for the
 * engine's thread: a feed's records run away from the store's connection,
 * so "later is by as_of" (a task record older than its task's kept snapshot
 * fires, resolves and reopens nothing) is judged here, against what the
 * store kept when the feed began and what the feed itself keeps as it goes,
 * exactly as fw_store_task_put would. */
#ifndef FUNDWATCH_TASKDATES_H
#define FUNDWATCH_TASKDATES_H

#include <stdbool.h>
#include <stdint.h>

#include "fundwatch/record.h"
#include "store/store.h"

struct fw_taskdates;

/* Every kept snapshot's date (the store's worker thread, before the feed's
 * engine starts); NULL and err set when the store fails or memory is short. */
struct fw_taskdates *fw_taskdates_load(struct fw_store *st,
                                       struct fw_error *err);
void fw_taskdates_free(struct fw_taskdates *t);

/* For a task record with region and task (others: false, nothing kept):
 * true when a snapshot of its task with a later as_of is kept; otherwise
 * keeps r's as_of (or none) as the task's, as the store will. -1 when
 * memory is short. */
int fw_taskdates_stale(struct fw_taskdates *t, const struct fw_record *r);

#endif
