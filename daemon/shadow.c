/* The shadow (shadow.h): a candidate generation that runs on every feed
 * after the live one and whose differences go to shadow_findings. The
 * worker owns the engine and the lists; the loop reads the figures, under
 * mu. Building and testing happen on the worker as a queued job: the feeds
 * wait for that once, as they wait for a reload's swap. */
#include "shadow.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "feedio.h"
#include "policyfs.h"
#include "testrun.h"

#define MAX_RULES 64  /* rules counted separately; the rest under "…" */

struct rule_count {
    char rule[64];
    uint64_t n[3];
};

struct fw_shadow {
    struct fwd *d;
    /* (worker) */
    struct fw_engine *eng;
    struct fw_policy_tree tree;
    struct fw_cmp_list live, cand;
    /* under mu: what GET /shadow shows */
    uv_mutex_t mu;
    bool on;
    char dir[PATH_MAX];
    char version[80];
    int64_t since_ms;
    uint64_t feeds, records, n_live, n_cand, tot[3], nanos;
    struct rule_count rules[MAX_RULES];
    size_t n_rules;
    char error[1024];         /* the last refusal or failure */
};

/* ---- building (worker) ----------------------------------------------------------- */

/* Builds and tests dir into s (replacing what ran). Returns NULL, or why
 * not in a static buffer. */
static const char *build(struct fw_shadow *s, const char *dir)
{
    static char why[1024];
    struct fwd *d = s->d;
    struct fw_policy_tree t;
    struct fw_diag diag;
    fw_diag_init(&diag);
    struct fw_engine *e = NULL;
    why[0] = '\0';
    if (fw_policy_tree_read(dir, &t, &diag) == 0)
        e = fw_engine_build(t.files, t.n, &d->cfg.engine, &diag);
    if (e && d->cfg.reload_run_tests) {
        struct fw_testrun_stats ts = {0};
        struct fw_buf out = FW_BUF_INIT;
        struct fw_error err = {0};
        if (fw_testrun_check(t.files, t.n, e, &diag) < 0 || diag.n > 0 ||
            fw_testrun_run(e, t.files, t.n, NULL, d->map, &out, &ts, &err) <
                0 ||
            ts.failed > 0) {
            if (ts.failed)
                fw_diag_add(&diag, dir, "%u of %u policy tests fail "
                            "(fundwatch test --policies %s shows them)",
                            ts.failed, ts.cases, dir);
            else if (err.msg[0])
                fw_diag_add_error(&diag, &err);
            fw_engine_free(e);
            e = NULL;
        }
        fw_buf_fini(&out);
        if (e)
            fw_engine_stats_reset(e);
    }
    if (e == NULL) {
        snprintf(why, sizeof why, "%s%s",
                 diag.n ? diag.items[0] : "the policies do not build",
                 diag.n > 1 ? " (and more)" : "");
        fw_log_error("shadow", NULL, "%s refused: %zu problems", dir,
                     diag.n);
        fw_log_diag(FW_LOG_ERROR, "shadow", &diag);
        fw_diag_fini(&diag);
        fw_policy_tree_fini(&t);
        return why;
    }
    fw_diag_fini(&diag);
    fw_engine_free(s->eng);
    fw_policy_tree_fini(&s->tree);
    s->eng = e;
    s->tree = t;
    fw_cmp_clear(&s->live);
    fw_cmp_clear(&s->cand);
    uv_mutex_lock(&s->mu);
    s->on = true;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->version, sizeof s->version, "%s", fw_engine_version(e));
    s->since_ms = fw_wall_ms();
    s->feeds = s->records = s->n_live = s->n_cand = s->nanos = 0;
    memset(s->tot, 0, sizeof s->tot);
    s->n_rules = 0;
    s->error[0] = '\0';
    uv_mutex_unlock(&s->mu);
    fw_log_info("shadow", NULL, "%s in shadow: generation %.19s… (%zu "
                "policies) runs after the live one on every feed",
                dir, fw_engine_version(e), fw_engine_policy_count(e));
    return NULL;
}

static void stop(struct fw_shadow *s)
{
    fw_engine_free(s->eng);
    s->eng = NULL;
    fw_policy_tree_fini(&s->tree);
    fw_cmp_clear(&s->live);
    fw_cmp_clear(&s->cand);
    uv_mutex_lock(&s->mu);
    bool was = s->on;
    s->on = false;
    uv_mutex_unlock(&s->mu);
    if (was)
        fw_log_info("shadow", NULL, "shadow stopped");
}

/* ---- every feed (worker) ------------------------------------------------------------ */

static void finding_hook(void *ud, const struct fw_finding *f)
{
    struct fw_shadow *s = ud;
    if (s->eng == NULL)
        return;
    if (f == NULL)
        fw_cmp_clear(&s->live);
    else
        fw_cmp_add(&s->live, f);
}

struct run {
    struct fw_shadow *s;
    uint64_t records;
};

static int cand_finding(void *ud, const struct fw_finding *f)
{
    struct run *r = ud;
    return fw_cmp_add(&r->s->cand, f);
}

static int cand_record(void *ud, const struct fw_record *rec)
{
    struct run *r = ud;
    r->records++;
    return fw_engine_run(r->s->eng, rec, cand_finding, r);
}

static void cand_reject(void *ud, const char *feed, uint64_t line,
                        const char *reason)
{
    (void)ud, (void)feed, (void)line, (void)reason; /* the live run said */
}

struct walk {
    struct fw_shadow *s;
    const char *feed;
    struct fw_store_shadow *rows;
    size_t n, cap;
};

static void one(void *ud, enum fw_cmp_change c, const struct fw_cmp_item *x,
                const struct fw_cmp_item *y)
{
    static const char *const names[] = {"added", "removed", "changed"};
    struct walk *w = ud;
    const struct fw_cmp_item *it = y ? y : x;
    struct fw_shadow *s = w->s;
    uv_mutex_lock(&s->mu);
    s->tot[c]++;
    size_t k = 0;
    const char *rule = it->rule ? it->rule : "-";
    while (k < s->n_rules && strcmp(s->rules[k].rule, rule) != 0)
        k++;
    if (k == s->n_rules && s->n_rules < MAX_RULES) {
        snprintf(s->rules[k].rule, sizeof s->rules[k].rule, "%s", rule);
        memset(s->rules[k].n, 0, sizeof s->rules[k].n);
        s->n_rules++;
    }
    if (k < s->n_rules)
        s->rules[k].n[c]++;
    uv_mutex_unlock(&s->mu);
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        void *p = realloc(w->rows, cap * sizeof *w->rows);
        if (p == NULL)
            return;
        w->rows = p;
        w->cap = cap;
    }
    w->rows[w->n++] = (struct fw_store_shadow){
        .run = s->since_ms, .candidate = s->dir, .feed = w->feed,
        .change = names[c], .rule = it->rule, .region = it->region,
        .finding = it->json, .live = c == FW_CMP_CHANGED ? x->json : NULL,
        .at_ms = fw_wall_ms(),
    };
}

static void fed_hook(void *ud, const char *data, size_t len,
                     const char *label, int32_t today)
{
    struct fw_shadow *s = ud;
    if (s->eng == NULL)
        return;
    uint64_t t0 = fw_mono_ns();
    struct fwd *d = s->d;
    struct run r = {.s = s};
    struct fw_reader_cb cb = {cand_record, cand_reject};
    struct fw_error err = {0};
    fw_cmp_clear(&s->cand);
    int rc = fw_engine_feed_begin(s->eng, label, today);
    if (rc == 0)
        rc = fw_feed_read_mem(data, len, label, FW_FMT_AUTO, d->map, &cb, &r,
                              NULL, &err);
    if (rc == 0)
        rc = fw_engine_feed_end(s->eng, cand_finding, &r);
    if (rc != 0) {
        uv_mutex_lock(&s->mu);
        snprintf(s->error, sizeof s->error, "%.200s: the shadow failed (%.700s)",
                 label, err.msg[0] ? err.msg : fw_strerror(rc));
        uv_mutex_unlock(&s->mu);
        fw_log_error("shadow", label, "the shadow failed on this feed: %s",
                     err.msg[0] ? err.msg : fw_strerror(rc));
        return;
    }
    struct walk w = {.s = s, .feed = label};
    size_t n = fw_cmp_walk(&s->live, &s->cand, one, &w);
    if (fw_store_shadow_add(d->st, w.rows, w.n, &err) < 0)
        fw_log_error("shadow", label, "recording its differences: %s",
                     err.msg);
    free(w.rows);
    uint64_t ns = fw_mono_ns() - t0;
    uv_mutex_lock(&s->mu);
    s->feeds++;
    s->records += r.records;
    s->n_live += s->live.n;
    s->n_cand += s->cand.n;
    s->nanos += ns;
    uv_mutex_unlock(&s->mu);
    fw_log_info("shadow", label, "%zu findings live, %zu in shadow, %zu "
                "differences (%.1f ms)", s->live.n, s->cand.n, n,
                (double)ns / 1e6);
    fw_cmp_clear(&s->live);
    fw_cmp_clear(&s->cand);
}

/* ---- starting and stopping (a queued job) ----------------------------------------------- */

struct start_job {
    struct fw_core_job job;   /* first: the core hands it back */
    struct fw_shadow *s;
    char *dir;                /* NULL: stop */
    fw_shadow_cb cb;
    void *arg;
    const char *error;
};

static void start_run(struct fwd *d, struct fw_core_job *j)
{
    (void)d;
    struct start_job *sj = (struct start_job *)j;
    if (sj->dir == NULL) {
        stop(sj->s);
        return;
    }
    sj->error = build(sj->s, sj->dir);
    if (sj->error) {
        uv_mutex_lock(&sj->s->mu);
        snprintf(sj->s->error, sizeof sj->s->error, "%s", sj->error);
        uv_mutex_unlock(&sj->s->mu);
    }
}

static void start_done(struct fwd *d, struct fw_core_job *j, bool ran)
{
    struct start_job *sj = (struct start_job *)j;
    if (sj->cb)
        sj->cb(d, sj->arg, !ran ? 503 : sj->error ? 422 : 0,
               !ran ? "fundwatch is stopping" : sj->error);
    free(sj->dir);
    free(sj);
}

void fw_shadow_start(struct fw_shadow *s, const char *dir, fw_shadow_cb cb,
                     void *arg)
{
    struct start_job *sj = calloc(1, sizeof *sj);
    if (sj == NULL || (dir && (sj->dir = strdup(dir)) == NULL)) {
        free(sj);
        if (cb)
            cb(s->d, arg, 503, "out of memory");
        return;
    }
    sj->job.run = start_run;
    sj->job.done = start_done;
    sj->s = s;
    sj->cb = cb;
    sj->arg = arg;
    fw_core_queue(s->d, &sj->job);
}

/* ---- what GET /shadow shows (loop) ----------------------------------------------------- */

static void kv(struct fw_buf *b, const char *k, const char *v)
{
    fw_buf_printf(b, ",\"%s\":", k);
    if (v && *v)
        fw_buf_json_str(b, v, strlen(v));
    else
        fw_buf_puts(b, "null");
}

void fw_shadow_json(struct fw_shadow *s, struct fw_buf *b)
{
    uv_mutex_lock(&s->mu);
    fw_buf_printf(b, "{\"running\":%s", s->on ? "true" : "false");
    kv(b, "candidate", s->on ? s->dir : NULL);
    kv(b, "version", s->on ? s->version : NULL);
    kv(b, "live", s->d->running_version);
    fw_buf_printf(b, ",\"since_ms\":%lld,\"feeds\":%llu,\"records\":%llu,"
                  "\"findings\":{\"live\":%llu,\"shadow\":%llu},"
                  "\"added\":%llu,\"removed\":%llu,\"changed\":%llu,"
                  "\"shadow_ms\":%.1f,\"by_rule\":{",
                  (long long)s->since_ms, (unsigned long long)s->feeds,
                  (unsigned long long)s->records,
                  (unsigned long long)s->n_live,
                  (unsigned long long)s->n_cand,
                  (unsigned long long)s->tot[0], (unsigned long long)s->tot[1],
                  (unsigned long long)s->tot[2], (double)s->nanos / 1e6);
    for (size_t i = 0; i < s->n_rules; i++)
        fw_buf_printf(b, "%s\"%s\":{\"added\":%llu,\"removed\":%llu,"
                      "\"changed\":%llu}", i ? "," : "", s->rules[i].rule,
                      (unsigned long long)s->rules[i].n[0],
                      (unsigned long long)s->rules[i].n[1],
                      (unsigned long long)s->rules[i].n[2]);
    fw_buf_puts(b, "}");
    kv(b, "error", s->error);
    fw_buf_puts(b, ",\"details\":\"sqlite3: SELECT * FROM shadow_findings "
                "WHERE run = since_ms\"}\n");
    uv_mutex_unlock(&s->mu);
}

/* ---- the part ------------------------------------------------------------------------ */

int fw_shadow_open(struct fwd *d, const char *dir, struct fw_shadow **out)
{
    struct fw_shadow *s = calloc(1, sizeof *s);
    *out = s;
    if (s == NULL)
        return FW_ENOMEM;
    s->d = d;
    uv_mutex_init(&s->mu);
    fw_core_attach(d, &(struct fw_core_part){
        .name = "shadow", .ud = s, .finding = finding_hook,
        .fed = fed_hook,
    });
    if (dir && *dir) {
        const char *why = build(s, dir);
        if (why) {
            uv_mutex_lock(&s->mu);
            snprintf(s->error, sizeof s->error, "%s", why);
            uv_mutex_unlock(&s->mu);
        }
    }
    return 0;
}

void fw_shadow_free(struct fw_shadow *s)
{
    if (s == NULL)
        return;
    stop(s);
    fw_cmp_fini(&s->live);
    fw_cmp_fini(&s->cand);
    uv_mutex_destroy(&s->mu);
    free(s);
}
