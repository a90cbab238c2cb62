/* daemon/taskdates.c: "later is by as_of" judged on the engine's side as
 * fw_store_task_put keeps snapshots in the store: what the store keeps when
 * a feed begins, then what the feed itself keeps. */
#include "task.h"

#include <stdlib.h>
#include <unistd.h>

#include "store/store.h"
#include "taskdates.h"

static struct fw_record task(const char *region, const char *dept,
                             const char *id, int y, int m, int d)
{
    struct fw_record r = {.kind = FW_RK_TASK};
    r.present = 1u << FW_F_REGION | 1u << FW_F_TASK;
    r.str[FW_F_REGION] = (struct fw_str){region, strlen(region)};
    r.str[FW_F_TASK] = (struct fw_str){id, strlen(id)};
    if (dept) {
        r.present |= 1u << FW_F_DEPT;
        r.str[FW_F_DEPT] = (struct fw_str){dept, strlen(dept)};
    }
    if (y) {
        r.present |= 1u << FW_F_AS_OF;
        r.num[FW_F_AS_OF] = fw_date_from_ymd(y, m, d);
    }
    return r;
}

TEST_IMPL(taskdates_as_the_store_judges)
{
    char dir[] = "/tmp/fw-taskdates-XXXXXX", db[64];
    ASSERT(mkdtemp(dir) != NULL);
    snprintf(db, sizeof db, "%s/fw.db", dir);
    struct fw_store *st = NULL;
    struct fw_error e;
    fw_error_clear(&e);
    ASSERT_EQ_INT(fw_store_open(db, NULL, &st, &e), 0);
    /* kept: T1 of 2024-06-30 (dept D), T2 without a date */
    struct fw_record t1 = task("230882", "D", "T1", 2024, 6, 30);
    struct fw_record t2 = task("230882", NULL, "T2", 0, 0, 0);
    char sha[65];
    snprintf(sha, sizeof sha, "%064x", 1);
    struct fw_store_feed feed = {.name = "f.csv", .sha256 = sha,
                                 .source = FW_SRC_SPOOL, .bytes = 100,
                                 .started_ms = 1700000000000};
    ASSERT_EQ_INT(fw_store_feed_begin(st, &feed, &e), 0);
    ASSERT_EQ_INT(fw_store_task_put(st, &t1, &e), 0);
    ASSERT_EQ_INT(fw_store_task_put(st, &t2, &e), 0);
    struct fw_store_feed_end end = {.lines = 2, .records = 2};
    ASSERT_EQ_INT(fw_store_feed_commit(st, &end, &e), 0);

    struct fw_taskdates *t = fw_taskdates_load(st, &e);
    ASSERT(t != NULL);
    struct fw_record older = task("230882", "D", "T1", 2024, 5, 31);
    struct fw_record same = task("230882", "D", "T1", 2024, 6, 30);
    struct fw_record other_dept = task("230882", "E", "T1", 2024, 5, 31);
    struct fw_record undated = task("230882", "D", "T1", 0, 0, 0);
    struct fw_record t2_dated = task("230882", NULL, "T2", 2021, 1, 1);
    struct fw_record exec = t1;
    exec.kind = FW_RK_EXECUTION;
    /* each as the store keeps it: putting the older snapshot leaves the
     * later one kept (a fresh load still finds older stale), putting one of
     * the same date replaces it (same is not stale) */
    ASSERT_EQ_INT(fw_taskdates_stale(t, &older), 1);
    ASSERT_EQ_INT(fw_taskdates_stale(t, &same), 0);
    snprintf(sha, sizeof sha, "%064x", 2);
    ASSERT_EQ_INT(fw_store_feed_begin(st, &feed, &e), 0);
    ASSERT_EQ_INT(fw_store_task_put(st, &older, &e), 0);
    ASSERT_EQ_INT(fw_store_feed_commit(st, &end, &e), 0);
    struct fw_taskdates *kept = fw_taskdates_load(st, &e);
    ASSERT(kept != NULL);
    ASSERT_EQ_INT(fw_taskdates_stale(kept, &older), 1);
    ASSERT_EQ_INT(fw_taskdates_stale(kept, &same), 0);
    fw_taskdates_free(kept);
    ASSERT_EQ_INT(fw_taskdates_stale(t, &other_dept), 0); /* another task */
    ASSERT_EQ_INT(fw_taskdates_stale(t, &exec), 0);       /* not a task */
    ASSERT_EQ_INT(fw_taskdates_stale(t, &t2_dated), 0);   /* kept undated */
    /* what the feed keeps counts from then on: T2 now has 2021-01-01 */
    struct fw_record t2_older = task("230882", NULL, "T2", 2020, 12, 31);
    ASSERT_EQ_INT(fw_taskdates_stale(t, &t2_older), 1);
    /* a task new to the store, then its older snapshot in the same feed */
    struct fw_record n1 = task("110101", NULL, "N", 2024, 9, 30);
    struct fw_record n0 = task("110101", NULL, "N", 2024, 3, 31);
    ASSERT_EQ_INT(fw_taskdates_stale(t, &n1), 0);
    ASSERT_EQ_INT(fw_taskdates_stale(t, &n0), 1);
    /* an undated snapshot replaces the date: an older one is judged again */
    ASSERT_EQ_INT(fw_taskdates_stale(t, &undated), 0);
    ASSERT_EQ_INT(fw_taskdates_stale(t, &older), 0);
    /* many new tasks keep the order (bsearch finds each) */
    char ids[300][8];
    for (int i = 0; i < 300; i++) {
        snprintf(ids[i], sizeof ids[i], "X%03d", (i * 7919) % 300);
        struct fw_record r = task("500103", NULL, ids[i], 2024, 6, 30);
        ASSERT_EQ_INT(fw_taskdates_stale(t, &r), 0);
    }
    for (int i = 0; i < 300; i++) {
        struct fw_record r = task("500103", NULL, ids[i], 2024, 6, 29);
        ASSERT_EQ_INT(fw_taskdates_stale(t, &r), 1);
    }
    fw_taskdates_free(t);
    fw_store_close(st);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ASSERT_EQ_INT(system(cmd), 0);
    return 0;
}
