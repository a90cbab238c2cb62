/* The figures the core keeps for health and metrics (core.h): the tally of
 * findings by policy, rule, kind and level, per-policy figures of the
 * running generation and of those it replaced, the store's counts. The
 * worker adds under mu; the loop copies when the worker is idle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static bool same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

void fw_core_tally(struct fwd *d, const struct fw_job_result *r)
{
    uv_mutex_lock(&d->mu);
    for (size_t i = 0; i < r->n_tally; i++) {
        const struct fw_job_tally *t = &r->tally[i];
        size_t k = 0;
        while (k < d->n_tally &&
               !(d->tally[k].kind == t->kind && d->tally[k].level == t->level &&
                 same(d->tally[k].rule, t->rule) &&
                 same(d->tally[k].policy, t->policy)))
            k++;
        if (k == d->n_tally) {
            if (d->n_tally == d->cap_tally) {
                size_t cap = d->cap_tally ? 2 * d->cap_tally : 32;
                void *p = realloc(d->tally, cap * sizeof *d->tally);
                if (p == NULL)
                    break;
                d->tally = p;
                d->cap_tally = cap;
            }
            d->tally[k] = (struct fw_tally){dup_or_null(t->policy),
                                            dup_or_null(t->rule), t->kind,
                                            t->level, 0};
            d->n_tally++;
        }
        d->tally[k].n += t->n;
    }
    uv_mutex_unlock(&d->mu);
}

void fw_policy_stats_add(struct fw_policy_stats *a,
                         const struct fw_policy_stats *b)
{
    a->calls += b->calls;
    a->findings += b->findings;
    a->errors += b->errors;
    a->budget_breaches += b->budget_breaches;
    a->mem_breaches += b->mem_breaches;
    a->suspended += b->suspended;
    a->nanos += b->nanos;
}

/* Adds figures to the entry of policy id in *list (created when new). */
static void add_to(struct fw_policy_snap **list, size_t *n, const char *id,
                   const struct fw_policy_stats *st)
{
    size_t k = 0;
    while (k < *n && strcmp((*list)[k].id, id) != 0)
        k++;
    if (k == *n) {
        void *np = realloc(*list, (k + 1) * sizeof **list);
        if (np == NULL)
            return;
        *list = np;
        (*list)[k] = (struct fw_policy_snap){.id = strdup(id)};
        if ((*list)[k].id == NULL)
            return;
        (*n)++;
    }
    fw_policy_stats_add(&(*list)[k].st, st);
}

/* (worker) The figures of a generation being swapped out wait in retiring
 * until the loop's next snapshot, which folds them in at the moment it stops
 * showing that generation: a scrape never counts them twice. */
void fw_core_retire(struct fwd *d, const struct fw_engine *old)
{
    uv_mutex_lock(&d->mu);
    for (size_t i = 0; i < fw_engine_policy_count(old); i++)
        add_to(&d->retiring, &d->n_retiring, fw_engine_policy(old, i)->id,
               fw_engine_policy_stats(old, i));
    uv_mutex_unlock(&d->mu);
}

static void fold_retired(struct fwd *d)
{
    uv_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->n_retiring; i++) {
        add_to(&d->retired, &d->n_retired, d->retiring[i].id,
               &d->retiring[i].st);
        free(d->retiring[i].id);
    }
    free(d->retiring);
    d->retiring = NULL;
    d->n_retiring = 0;
    uv_mutex_unlock(&d->mu);
}

static void json_list(struct fw_buf *b, const char *const *v, size_t n)
{
    fw_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            fw_buf_putc(b, ',');
        fw_buf_json_str(b, v[i], strlen(v[i]));
    }
    fw_buf_putc(b, ']');
}

static void json_kv(struct fw_buf *b, const char *k, const char *v, bool comma)
{
    fw_buf_printf(b, "%s\"%s\":", comma ? "," : "", k);
    if (v)
        fw_buf_json_str(b, v, strlen(v));
    else
        fw_buf_puts(b, "null");
}

void fw_core_snapshot(struct fwd *d)
{
    const struct fw_engine *e = d->eng;
    fold_retired(d);
    d->have_counts = fw_store_counts(d->st, &d->counts, NULL) == 0;
    size_t n = fw_engine_policy_count(e);
    for (size_t i = 0; i < d->n_snap; i++) {
        free(d->snap[i].id);
        free(d->snap[i].path);
        free(d->snap[i].version);
    }
    free(d->snap);
    d->n_snap = 0;
    d->snap = calloc(n ? n : 1, sizeof *d->snap);
    if (d->snap == NULL)
        return;
    struct fw_buf *b = &d->policies_json;
    fw_buf_reset(b);
    fw_buf_puts(b, "{");
    json_kv(b, "generation", fw_engine_version(e), false);
    fw_buf_puts(b, ",\"policies\":[");
    for (size_t i = 0; i < n; i++) {
        const struct fw_policy_info *p = fw_engine_policy(e, i);
        struct fw_policy_snap *s = &d->snap[d->n_snap];
        s->id = strdup(p->id);
        s->path = strdup(p->path);
        s->version = strdup(p->version);
        s->st = *fw_engine_policy_stats(e, i);
        if (s->id == NULL || s->path == NULL || s->version == NULL) {
            free(s->id);
            free(s->path);
            free(s->version);
            continue;
        }
        d->n_snap++;
        fw_buf_puts(b, i ? ",{" : "{");
        json_kv(b, "id", p->id, false);
        json_kv(b, "title", p->title, true);
        json_kv(b, "path", p->path, true);
        json_kv(b, "version", p->version, true);
        fw_buf_puts(b, ",\"regions\":");
        json_list(b, p->regions, p->n_regions);
        fw_buf_puts(b, ",\"replaces\":");
        json_list(b, p->replaces, p->n_replaces);
        fw_buf_puts(b, ",\"rules\":[");
        for (size_t k = 0; k < p->n_rules; k++) {
            fw_buf_puts(b, k ? ",{" : "{");
            json_kv(b, "id", p->rules[k].id, false);
            json_kv(b, "title", p->rules[k].title, true);
            json_kv(b, "source", p->rules[k].source, true);
            fw_buf_putc(b, '}');
        }
        fw_buf_puts(b, "]}");
    }
    fw_buf_puts(b, "]}\n");
    snprintf(d->running_version, sizeof d->running_version, "%s",
             fw_engine_version(e));
}

void fw_core_figures_fini(struct fwd *d)
{
    for (size_t i = 0; i < d->n_tally; i++) {
        free(d->tally[i].policy);
        free(d->tally[i].rule);
    }
    free(d->tally);
    d->tally = NULL;
    d->n_tally = d->cap_tally = 0;
    for (size_t i = 0; i < d->n_retired; i++)
        free(d->retired[i].id);
    free(d->retired);
    d->retired = NULL;
    d->n_retired = 0;
    for (size_t i = 0; i < d->n_retiring; i++)
        free(d->retiring[i].id);
    free(d->retiring);
    d->retiring = NULL;
    d->n_retiring = 0;
    for (size_t i = 0; i < d->n_snap; i++) {
        free(d->snap[i].id);
        free(d->snap[i].path);
        free(d->snap[i].version);
    }
    free(d->snap);
    d->snap = NULL;
    d->n_snap = 0;
    fw_buf_fini(&d->policies_json);
}
