/* Findings compared by id (compare.h). */
#include "compare.h"

#include <stdlib.h>
#include <string.h>

#include "fundwatch/buf.h"
#include "fundwatch/error.h"
#include "fundwatch/record.h"

static char *dupz(const char *s)
{
    return s ? strdup(s) : NULL;
}

int fw_cmp_add(struct fw_cmp_list *l, const struct fw_finding *f)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        void *p = realloc(l->v, cap * sizeof *l->v);
        if (p == NULL)
            return FW_ENOMEM;
        l->v = p;
        l->cap = cap;
    }
    struct fw_buf json = FW_BUF_INIT, subj = FW_BUF_INIT;
    char day[16] = "-";
    if (f->has_as_of)
        fw_date_format(f->as_of, day);
    fw_buf_printf(&subj, "%s %s %s %s", f->region ? f->region : "-",
                  f->dept ? f->dept : "-",
                  f->project ? f->project : f->task ? f->task : "-", day);
    if (fw_finding_json(f, &json) < 0 || subj.p == NULL) {
        fw_buf_fini(&json);
        fw_buf_fini(&subj);
        return FW_ENOMEM;
    }
    struct fw_cmp_item *it = &l->v[l->n++];
    *it = (struct fw_cmp_item){
        .kind = f->kind, .level = f->level,
        .has_amount = f->has_amount, .amount = f->amount,
        .has_score = f->has_score, .score = f->score,
        .rule = dupz(f->rule), .region = dupz(f->region),
        .grade = dupz(f->grade), .message = dupz(f->message),
        .subject = subj.p, .json = json.p,
    };
    memcpy(it->id, f->id, sizeof it->id);
    return 0;
}

void fw_cmp_clear(struct fw_cmp_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct fw_cmp_item *it = &l->v[i];
        free(it->rule);
        free(it->region);
        free(it->grade);
        free(it->message);
        free(it->subject);
        free(it->json);
    }
    l->n = 0;
}

void fw_cmp_fini(struct fw_cmp_list *l)
{
    fw_cmp_clear(l);
    free(l->v);
    *l = (struct fw_cmp_list){0};
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct fw_cmp_item *)a)->id,
                  ((const struct fw_cmp_item *)b)->id);
}

static bool differs(const struct fw_cmp_item *a, const struct fw_cmp_item *b)
{
    return a->kind != b->kind || a->level != b->level ||
           a->has_amount != b->has_amount ||
           (a->has_amount && a->amount != b->amount) ||
           a->has_score != b->has_score ||
           (a->has_score && a->score != b->score) ||
           (a->grade == NULL) != (b->grade == NULL) ||
           (a->grade && strcmp(a->grade, b->grade) != 0);
}

size_t fw_cmp_walk(struct fw_cmp_list *a, struct fw_cmp_list *b,
                   void (*cb)(void *ud, enum fw_cmp_change c,
                              const struct fw_cmp_item *x,
                              const struct fw_cmp_item *y),
                   void *ud)
{
    if (a->n > 1) /* v is NULL when empty: qsort must not see it */
        qsort(a->v, a->n, sizeof *a->v, by_id);
    if (b->n > 1)
        qsort(b->v, b->n, sizeof *b->v, by_id);
    size_t i = 0, j = 0, n = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i].id, b->v[j].id);
        if (c < 0) {
            cb(ud, FW_CMP_REMOVED, &a->v[i++], NULL);
        } else if (c > 0) {
            cb(ud, FW_CMP_ADDED, NULL, &b->v[j++]);
        } else {
            const struct fw_cmp_item *x = &a->v[i++], *y = &b->v[j++];
            if (!differs(x, y))
                continue;
            cb(ud, FW_CMP_CHANGED, x, y);
        }
        n++;
    }
    return n;
}
