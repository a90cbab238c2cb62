/* The task snapshots' dates for the engine's thread (see taskdates.h): a
 * sorted array of "region\x1fdept\x1ftask" keys, searched with bsearch and
 * kept sorted as a feed adds tasks (a bureau keeps hundreds or thousands of
 * tasks, not millions). */
#include "taskdates.h"

#include <stdlib.h>
#include <string.h>

struct entry {
    char *key;
    bool has;        /* an as_of is kept */
    int32_t as_of;
};

struct fw_taskdates {
    struct entry *e;
    size_t n, cap;
    int rc;          /* of the loading callback */
};

static char *key_of(const char *reg, size_t rn, const char *dept, size_t dn,
                    const char *task, size_t tn)
{
    char *k = malloc(rn + dn + tn + 3);
    if (k == NULL)
        return NULL;
    memcpy(k, reg, rn);
    k[rn] = '\x1f';
    memcpy(k + rn + 1, dept, dn);
    k[rn + 1 + dn] = '\x1f';
    memcpy(k + rn + dn + 2, task, tn);
    k[rn + dn + tn + 2] = '\0';
    return k;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->key,
                  ((const struct entry *)b)->key);
}

static int add(struct fw_taskdates *t, char *key, bool has, int32_t as_of)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct entry *e = realloc(t->e, cap * sizeof *e);
        if (e == NULL)
            return -1;
        t->e = e;
        t->cap = cap;
    }
    t->e[t->n++] = (struct entry){.key = key, .has = has, .as_of = as_of};
    return 0;
}

static int on_task(void *ud, const char *region, const char *dept,
                   const char *task, bool has_as_of, int32_t as_of)
{
    struct fw_taskdates *t = ud;
    char *k = key_of(region, strlen(region), dept, strlen(dept), task,
                     strlen(task));
    if (k == NULL || add(t, k, has_as_of, as_of) < 0) {
        free(k);
        t->rc = -1;
        return 1;
    }
    return 0;
}

struct fw_taskdates *fw_taskdates_load(struct fw_store *st,
                                       struct fw_error *err)
{
    struct fw_taskdates *t = calloc(1, sizeof *t);
    if (t == NULL) {
        fw_error_set(err, FW_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    if (fw_store_task_dates(st, on_task, t, err) < 0 || t->rc < 0) {
        if (t->rc < 0)
            fw_error_set(err, FW_ENOMEM, NULL, "out of memory");
        fw_taskdates_free(t);
        return NULL;
    }
    if (t->n > 1)
        qsort(t->e, t->n, sizeof *t->e, by_key);
    return t;
}

void fw_taskdates_free(struct fw_taskdates *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->e[i].key);
    free(t->e);
    free(t);
}

int fw_taskdates_stale(struct fw_taskdates *t, const struct fw_record *r)
{
    if (r->kind != FW_RK_TASK || !fw_record_has(r, FW_F_REGION) ||
        !fw_record_has(r, FW_F_TASK))
        return 0;
    struct fw_str dept = fw_record_has(r, FW_F_DEPT) ? r->str[FW_F_DEPT]
                                                     : (struct fw_str){"", 0};
    char *k = key_of(r->str[FW_F_REGION].p, r->str[FW_F_REGION].n, dept.p,
                     dept.n, r->str[FW_F_TASK].p, r->str[FW_F_TASK].n);
    if (k == NULL)
        return -1;
    bool has = fw_record_has(r, FW_F_AS_OF);
    int32_t as_of = has ? (int32_t)r->num[FW_F_AS_OF] : 0;
    struct entry want = {.key = k};
    struct entry *e = t->n ? bsearch(&want, t->e, t->n, sizeof *t->e, by_key)
                           : NULL;
    if (e) {
        free(k);
        if (has && e->has && e->as_of > as_of)
            return 1; /* an older snapshot delivered late */
        e->has = has; /* the store keeps this one from now on */
        e->as_of = as_of;
        return 0;
    }
    /* a task the store does not keep yet: in its place in the order */
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(t->e[mid].key, k) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (add(t, k, has, as_of) < 0) {
        free(k);
        return -1;
    }
    struct entry last = t->e[t->n - 1];
    memmove(t->e + lo + 1, t->e + lo, (t->n - 1 - lo) * sizeof *t->e);
    t->e[lo] = last;
    return 0;
}
