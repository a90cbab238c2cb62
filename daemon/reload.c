/* Reloading the policies while the daemon runs. A change under policies/
 * (a debounced watch), SIGHUP or POST /reload builds a complete new
 * generation in fresh Lua states on a pool thread, checks it and runs every
 * policy test on it, and makes sure the files did not change while it was
 * built (an editor saving, a copy in progress). Only then is it handed to
 * the job worker, which puts it in place between two feeds; a refused one
 * leaves the running generation alone and is recorded (log, store, an ops
 * finding in the outbox, /healthz, metrics). */
#include <dirent.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fundwatch/i18n.h"
#include "policyfs.h"
#include "reload.h"
#include "testrun.h"

/* A tree that keeps changing while it is built is tried this many times. */
#define RELOAD_TRIES 5
/* Report lines of failing tests carried into the refusal. */
#define MAX_TEST_PROBLEMS 20

/* A generation built and tested by a reload, waiting to be put in place by
 * the worker; or a refused one, waiting to be recorded. */
struct fw_reload_result {
    struct fw_reload_result *next;  /* pending ones, oldest first */
    bool ok;
    struct fw_engine *eng;          /* ok: the new generation */
    struct fw_policy_tree tree;     /* its files, for the store's history */
    char (*sums)[65];               /* sha256 of each file, computed off
                                       the worker */
    char version[80];               /* ok: the engine's; else the tree's */
    enum fw_store_trigger trigger;
    struct fw_diag problems;        /* refused: why */
    struct fw_buf tests;            /* the policy tests' report */
    unsigned cases;                 /* policy test cases run */
    uint64_t nanos;                 /* build + check + tests */
};

/* Someone waiting for a reload's result. */
struct waiter {
    fw_reload_cb cb;
    void *arg;
};

struct fw_reload {
    struct fwd *d;
    /* (loop) one reload at a time; another asked meanwhile runs next */
    bool reload_again;
    enum fw_store_trigger next_trigger;
    struct fw_reload_result *res;           /* the one being built */
    uv_work_t work;
    struct waiter *waiters, *next_waiters;  /* the next ones asked during
                                               a reload: they get the next
                                               one's result */
    size_t n_waiters, n_next_waiters;
    uv_fs_event_t **pwatch;                 /* one per policies folder */
    size_t n_pwatch;
    uv_timer_t debounce;
    bool handles;
    /* (worker → loop) under mu */
    uv_mutex_t mu;
    struct fw_reload_result *pending;       /* to put in place or record */
    struct fw_engine **retired_eng;         /* replaced: to free off the
                                               worker */
    size_t n_retired_eng;
    uv_work_t free_work;
    bool freeing;                           /* (loop) */
    /* (worker) swapped in, not yet stored */
    struct fw_reload_result *to_record;
};

static void reload(struct fw_reload *rl, enum fw_store_trigger why);
static int watch_policies(struct fw_reload *rl);
static void unwatch_policies(struct fw_reload *rl);
static void free_retired(struct fw_reload *rl);

static void hex(const unsigned char *md, unsigned n, char *out)
{
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The version of a tree that did not build: sha256 over its paths inside
 * the tree and contents, each length-prefixed, so a refused edit is named
 * too, the same wherever the tree lies. */
static void tree_version(const struct fw_policy_tree *t, char out[80])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char md[32];
    unsigned n = 0;
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    for (size_t i = 0; i < t->n; i++) {
        const char *rel = t->files[i].rel ? t->files[i].rel
                                          : t->files[i].path;
        uint64_t lens[2] = {strlen(rel), t->files[i].len};
        EVP_DigestUpdate(c, lens, sizeof lens);
        EVP_DigestUpdate(c, rel, lens[0]);
        EVP_DigestUpdate(c, t->files[i].data, t->files[i].len);
    }
    EVP_DigestFinal_ex(c, md, &n);
    EVP_MD_CTX_free(c);
    memcpy(out, "sha256:", 7);
    hex(md, n, out + 7);
}

static bool same_tree(const struct fw_policy_tree *a,
                      const struct fw_policy_tree *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->files[i].path, b->files[i].path) != 0 ||
            a->files[i].len != b->files[i].len ||
            memcmp(a->files[i].data, b->files[i].data, a->files[i].len) != 0)
            return false;
    return true;
}

static void result_free(struct fw_reload_result *r)
{
    if (r == NULL)
        return;
    fw_engine_free(r->eng);
    fw_policy_tree_fini(&r->tree);
    fw_diag_fini(&r->problems);
    fw_buf_fini(&r->tests);
    free(r->sums);
    free(r);
}

static void result_sums(struct fw_reload_result *r)
{
    r->sums = calloc(r->tree.n ? r->tree.n : 1, sizeof *r->sums);
    for (size_t i = 0; r->sums && i < r->tree.n; i++)
        fw_sha256_hex(r->tree.files[i].data, r->tree.files[i].len,
                          r->sums[i]);
}

/* The failing cases of a test report as problems: "file:line: name". */
static void test_problems(const struct fw_buf *report, struct fw_diag *d)
{
    unsigned shown = 0, more = 0;
    for (const char *p = report->p; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len > 7 && strncmp(p, "not ok ", 7) == 0) {
            const char *dash = memchr(p, '-', len);
            if (dash && shown < MAX_TEST_PROBLEMS) {
                int k = (int)(len - (size_t)(dash + 2 - p));
                /* the first detail line says what differed */
                const char *det = nl ? nl + 1 : "";
                const char *dnl = strchr(det, '\n');
                int dk = *det == ' ' ? (int)(dnl ? dnl - det : (long)strlen(det))
                                     : 0;
                while (dk > 0 && *det == ' ') {
                    det++;
                    dk--;
                }
                fw_diag_add(d, NULL, "%.*s: policy test fails%s%.*s", k,
                            dash + 2, dk ? ": " : "", dk, det);
                shown++;
            } else {
                more++;
            }
        }
        p = nl ? nl + 1 : p + len;
    }
    if (more)
        fw_diag_add(d, NULL, _("and %u more failing policy tests"), more);
}

/* One attempt: read, build, check, test. True when it built and passed. */
static bool attempt(struct fwd *d, struct fw_reload_result *r)
{
    if (fw_policy_tree_read(d->cfg.policies, &r->tree, &r->problems) < 0)
        return false;
    struct fw_engine_opts eo = d->cfg.engine;
    eo.lint = true; /* what check refuses, a reload refuses */
    r->eng = fw_engine_build(r->tree.files, r->tree.n, &eo, &r->problems);
    if (r->eng == NULL)
        return false;
    if (d->cfg.reload_run_tests) {
        if (fw_testrun_check(r->tree.files, r->tree.n, r->eng,
                             &r->problems) < 0 || r->problems.n > 0)
            return false;
        struct fw_testrun_stats ts = {0};
        struct fw_error err = {0};
        if (fw_testrun_run(r->eng, r->tree.files, r->tree.n, NULL, d->map,
                           &r->tests, &ts, &err) < 0) {
            fw_diag_add_error(&r->problems, &err);
            return false;
        }
        r->cases = ts.cases;
        if (ts.failed > 0) {
            test_problems(&r->tests, &r->problems);
            fw_diag_add(&r->problems, NULL, "%u of %u policy tests fail "
                        "(fundwatch test --policies %s shows them in full)",
                        ts.failed, ts.cases, d->cfg.policies);
            return false;
        }
        fw_engine_stats_reset(r->eng); /* count real feeds only */
    }
    return true;
}

static void clear(struct fw_reload_result *r)
{
    fw_engine_free(r->eng);
    r->eng = NULL;
    fw_policy_tree_fini(&r->tree);
    fw_diag_fini(&r->problems);
    fw_diag_init(&r->problems);
    fw_buf_reset(&r->tests);
}

/* (pool thread) No store, no running engine: only the new generation. */
static void reload_work(uv_work_t *w)
{
    struct fw_reload *rl = w->data;
    struct fwd *d = rl->d;
    struct fw_reload_result *r = rl->res;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int try = 0; try < RELOAD_TRIES; try++) {
        if (try > 0) {
            clear(r);
            uv_sleep((unsigned)d->cfg.reload_debounce_ms);
        }
        r->ok = attempt(d, r);
        /* The files must be what they were when the build started: a
         * half-copied tree is never a generation (nor a refusal). */
        struct fw_policy_tree again;
        struct fw_diag ignore;
        fw_diag_init(&ignore);
        int rc = fw_policy_tree_read(d->cfg.policies, &again, &ignore);
        bool stable = rc == 0 && r->tree.n > 0 && same_tree(&r->tree, &again);
        fw_policy_tree_fini(&again);
        fw_diag_fini(&ignore);
        if (stable || try == RELOAD_TRIES - 1) {
            if (!stable && r->ok) {
                r->ok = false;
                fw_diag_add(&r->problems, d->cfg.policies,
                            "the files kept changing while they were loaded "
                            "(%d tries); try again when the copy is done",
                            RELOAD_TRIES);
            }
            break;
        }
    }
    if (r->ok) {
        snprintf(r->version, sizeof r->version, "%s",
                 fw_engine_version(r->eng));
    } else {
        fw_engine_free(r->eng);
        r->eng = NULL;
        tree_version(&r->tree, r->version);
    }
    result_sums(r); /* here, not on the worker */
    clock_gettime(CLOCK_MONOTONIC, &b);
    r->nanos = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u +
               (uint64_t)(b.tv_nsec - a.tv_nsec);
}

/* Every waiter hears the result (error NULL) or why there is none. */
static void answer(struct fw_reload *rl, struct waiter *w, size_t *n,
                   const char *error)
{
    size_t k = *n;
    *n = 0;
    for (size_t i = 0; i < k; i++)
        w[i].cb(rl->d, w[i].arg, error);
}

static void after_reload(uv_work_t *w, int status)
{
    (void)status;
    struct fw_reload *rl = w->data;
    struct fwd *d = rl->d;
    struct fw_reload_result *r = rl->res;
    rl->res = NULL;
    d->reloading = false;
    const char *why = fw_store_trigger_name(r->trigger);
    d->last_reload.done = true;
    d->last_reload.ok = r->ok;
    d->last_reload.at_ms = fw_wall_ms();
    d->last_reload.nanos = r->nanos;
    snprintf(d->last_reload.version, sizeof d->last_reload.version, "%s",
             r->version);
    d->last_reload.error[0] = '\0';
    if (r->ok) {
        d->reloads_ok++;
        fw_core_clear_reload_error(d);
        fw_log_info("reload", NULL, _("generation %.19s… built and tested (%zu "
                    "policies, %u test cases) in %.1f ms (%s); it runs from "
                    "the next feed"), r->version,
                    fw_engine_policy_count(r->eng), r->cases,
                    (double)r->nanos / 1e6, why);
    } else {
        d->reloads_failed++;
        if (r->problems.n > 0)
            snprintf(d->last_reload.error, sizeof d->last_reload.error, "%s%s",
                     r->problems.items[0],
                     r->problems.n > 1 ? " (and more)" : "");
        fw_log_error("reload", NULL, _("refused (%s): %zu problems; generation "
                     "%.19s… keeps running"), why, r->problems.n,
                     d->running_version);
        fw_log_diag(FW_LOG_ERROR, "reload", &r->problems);
        d->last_reload.failed_at_ms = d->last_reload.at_ms;
        snprintf(d->last_reload.failure, sizeof d->last_reload.failure, "%s",
                 d->last_reload.error);
        fw_core_error(d, "reload refused: %s", d->last_reload.error);
        uv_mutex_lock(&d->mu);
        d->last_error_reload = true;
        uv_mutex_unlock(&d->mu);
    }
    answer(rl, rl->waiters, &rl->n_waiters, NULL);
    /* the worker puts it in place (or records the refusal) between feeds */
    uv_mutex_lock(&rl->mu);
    struct fw_reload_result **tail = &rl->pending;
    while (*tail)
        tail = &(*tail)->next;
    *tail = r;
    uv_mutex_unlock(&rl->mu);
    if (atomic_load(&d->stopping)) {
        fw_core_part_idle(d);
        return;
    }
    watch_policies(rl); /* new folders are watched too */
    fw_core_want_between(d);
    if (rl->reload_again) {
        /* those who asked during this one get the next one's result */
        struct waiter *spare = rl->waiters;
        rl->waiters = rl->next_waiters;
        rl->n_waiters = rl->n_next_waiters;
        rl->next_waiters = spare;
        rl->n_next_waiters = 0;
        rl->reload_again = false;
        reload(rl, rl->next_trigger);
    }
}

/* A reload that could not even start: its waiters hear so. */
static void reload_not_started(struct fw_reload *rl, const char *why)
{
    fw_log_error("reload", NULL, "cannot start: %s", why);
    answer(rl, rl->waiters, &rl->n_waiters, why);
}

static void reload(struct fw_reload *rl, enum fw_store_trigger why)
{
    struct fwd *d = rl->d;
    if (atomic_load(&d->stopping))
        return;
    if (d->reloading) { /* after this one, once more with the latest files */
        rl->reload_again = true;
        rl->next_trigger = why;
        return;
    }
    struct fw_reload_result *r = calloc(1, sizeof *r);
    if (r == NULL) {
        reload_not_started(rl, "out of memory");
        return;
    }
    fw_diag_init(&r->problems);
    r->trigger = why;
    rl->res = r;
    d->reloading = true;
    rl->work.data = rl;
    int rc = uv_queue_work(&d->loop, &rl->work, reload_work, after_reload);
    if (rc < 0) {
        d->reloading = false;
        rl->res = NULL;
        result_free(r);
        reload_not_started(rl, uv_strerror(rc));
    }
}

void fw_reload_ask(struct fw_reload *rl, enum fw_store_trigger why,
                   fw_reload_cb cb, void *arg)
{
    struct fwd *d = rl->d;
    if (atomic_load(&d->stopping)) {
        cb(d, arg, "fundwatch is stopping");
        return;
    }
    /* asked while a reload runs: that one read the files before this
     * request, so this waits for the next one */
    struct waiter **list = d->reloading ? &rl->next_waiters : &rl->waiters;
    size_t *n = d->reloading ? &rl->n_next_waiters : &rl->n_waiters;
    void *p = realloc(*list, (*n + 1) * sizeof **list);
    if (p == NULL) {
        cb(d, arg, "out of memory");
        return;
    }
    *list = p;
    (*list)[(*n)++] = (struct waiter){cb, arg};
    reload(rl, why);
}

/* ---- the worker's side ------------------------------------------------------ */

static void record_generation(struct fwd *d, const struct fw_reload_result *r)
{
    const struct fw_policy_tree *t = &r->tree;
    struct fw_store_gen_file *files = calloc(t->n ? t->n : 1, sizeof *files);
    struct fw_buf why = FW_BUF_INIT;
    if (files == NULL || r->sums == NULL)
        goto out;
    for (size_t i = 0; i < t->n; i++)
        files[i] = (struct fw_store_gen_file){t->files[i].path, r->sums[i]};
    for (size_t i = 0; i < r->problems.n; i++)
        fw_buf_printf(&why, "%s%s", i ? "\n" : "", r->problems.items[i]);
    struct fw_store_generation g = {
        .version = r->version, .loaded_ms = fw_wall_ms(),
        .trigger = r->trigger, .ok = r->ok, .error = why.p,
        .files = files, .n_files = t->n,
    };
    struct fw_error err = {0};
    if (fw_store_generation_add(d->st, &g, NULL, &err) < 0)
        fw_log_error("store", NULL, "%s: recording generation %.19s…: %s",
                     err.place, r->version, err.msg);
out:
    fw_buf_fini(&why);
    free(files);
}

/* An ops finding for a refused reload, in the store and then the outbox:
 * the same refused files give the same id, so it is said once. */
static void ops_finding(struct fwd *d, const struct fw_reload_result *r)
{
    struct fw_buf msg = FW_BUF_INIT;
    fw_buf_printf(&msg, "策略重新加载被拒绝,继续运行原有版本 — policies "
                  "reload refused (%s), %zu problems: %s",
                  fw_store_trigger_name(r->trigger), r->problems.n,
                  r->problems.n ? r->problems.items[0] : "?");
    struct fw_finding f = {
        .kind = FW_FK_OPS, .level = FW_LV_RED, .policy = "fundwatch",
        .policy_version = r->version, .rule = "reload_refused",
        .message = msg.p,
    };
    fw_finding_make_id("fundwatch", "reload_refused", "", "", "", r->version,
                       f.id);
    struct fw_error err = {0};
    int rc = msg.p ? fw_store_batch_begin(d->st, fw_wall_ms(), &err)
                   : FW_ENOMEM;
    if (rc == 0 && (rc = fw_store_finding_add(d->st, &f, -1, NULL, &err)) == 0)
        rc = fw_store_batch_commit(d->st, &err);
    else if (rc != FW_ENOMEM)
        fw_store_feed_rollback(d->st);
    if (rc < 0)
        fw_log_error("store", NULL, "recording the refused reload: %s",
                     err.msg);
    else
        atomic_fetch_add(&d->findings[FW_FK_OPS], 1);
    fw_buf_fini(&msg);
}

/* (worker) Puts a pending generation in place; with record, also writes
 * the generations put in place or refused since the last time to the store
 * (history, ops findings, outbox), which waits until no feed is between
 * two records. True when something was done. */
static bool apply_pending(void *ud, bool record)
{
    struct fw_reload *rl = ud;
    struct fwd *d = rl->d;
    uv_mutex_lock(&rl->mu);
    struct fw_reload_result *r = rl->pending;
    rl->pending = NULL;
    uv_mutex_unlock(&rl->mu);
    bool did = r != NULL;
    while (r) { /* only the swap here: feeds may be waiting */
        struct fw_reload_result *next = r->next;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (r->ok && r->eng) {
            struct fw_engine *old = d->eng;
            d->eng = r->eng;
            r->eng = NULL;
            char was[80];
            snprintf(was, sizeof was, "%s", fw_engine_version(old));
            fw_core_retire(d, old);
            /* no feed runs on it now: its Lua states are closed on a pool
             * thread (free_retired), not here between two feeds */
            uv_mutex_lock(&rl->mu);
            void *p = realloc(rl->retired_eng, (rl->n_retired_eng + 1) *
                                                   sizeof *rl->retired_eng);
            if (p) {
                rl->retired_eng = p;
                rl->retired_eng[rl->n_retired_eng++] = old;
                old = NULL;
            }
            uv_mutex_unlock(&rl->mu);
            fw_engine_free(old); /* only when the list could not grow */
            clock_gettime(CLOCK_MONOTONIC, &b);
            double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 +
                        (double)(b.tv_nsec - a.tv_nsec) / 1e6;
            fw_log_info("reload", NULL, _("generation %.19s… in place of "
                        "%.19s… (the feeds waited %.2f ms)"),
                        fw_engine_version(d->eng), was, ms);
        }
        r->next = NULL;
        struct fw_reload_result **tail = &rl->to_record;
        while (*tail)
            tail = &(*tail)->next;
        *tail = r;
        r = next;
    }
    if (!record || rl->to_record == NULL)
        return did;
    /* the store's history and the ops findings, when no feed waits */
    for (r = rl->to_record; r;) {
        struct fw_reload_result *next = r->next;
        record_generation(d, r);
        if (!r->ok)
            ops_finding(d, r);
        result_free(r);
        r = next;
    }
    rl->to_record = NULL;
    fw_core_flush_outbox(d, NULL);
    return true;
}

static void free_work(uv_work_t *w)
{
    struct fw_reload *rl = w->data;
    for (;;) {
        uv_mutex_lock(&rl->mu);
        struct fw_engine *e =
            rl->n_retired_eng ? rl->retired_eng[--rl->n_retired_eng] : NULL;
        uv_mutex_unlock(&rl->mu);
        if (e == NULL)
            break;
        fw_engine_free(e);
    }
}

static void after_free(uv_work_t *w, int status)
{
    (void)status;
    struct fw_reload *rl = w->data;
    rl->freeing = false;
    if (atomic_load(&rl->d->stopping)) {
        fw_core_part_idle(rl->d);
        return;
    }
    free_retired(rl); /* swapped out while this one ran */
}

/* (loop) Frees replaced generations on a pool thread. */
static void free_retired(struct fw_reload *rl)
{
    uv_mutex_lock(&rl->mu);
    bool any = rl->n_retired_eng > 0;
    uv_mutex_unlock(&rl->mu);
    if (!any || rl->freeing)
        return;
    rl->freeing = true;
    rl->free_work.data = rl;
    if (uv_queue_work(&rl->d->loop, &rl->free_work, free_work, after_free) < 0)
        rl->freeing = false; /* freed at exit instead */
}

static void idle_hook(void *ud)
{
    free_retired(ud);
}

void fw_reload_free(struct fw_reload *rl)
{
    if (rl == NULL)
        return;
    while (rl->to_record) {
        struct fw_reload_result *next = rl->to_record->next;
        result_free(rl->to_record);
        rl->to_record = next;
    }
    for (size_t i = 0; i < rl->n_retired_eng; i++)
        fw_engine_free(rl->retired_eng[i]);
    free(rl->retired_eng);
    struct fw_reload_result *r = rl->pending;
    while (r) {
        struct fw_reload_result *next = r->next;
        result_free(r);
        r = next;
    }
    result_free(rl->res);
    free(rl->pwatch);
    free(rl->waiters);
    free(rl->next_waiters);
    uv_mutex_destroy(&rl->mu);
    free(rl);
}

/* ---- watching the policies folder -------------------------------------------- */

static bool ignored(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n == 0 || name[0] == '.' || name[0] == '#' || name[n - 1] == '~' ||
           (n > 4 && (strcmp(name + n - 4, ".swp") == 0 ||
                      strcmp(name + n - 4, ".swx") == 0 ||
                      strcmp(name + n - 4, ".tmp") == 0));
}

static void debounced(uv_timer_t *t)
{
    struct fw_reload *rl = t->data;
    fw_log_info("reload", NULL, _("%s changed: reloading"), rl->d->cfg.policies);
    reload(rl, FW_TRIG_WATCH);
}

static void on_policy_change(uv_fs_event_t *h, const char *name, int events,
                             int status)
{
    (void)events;
    struct fw_reload *rl = h->data;
    if (status < 0 || ignored(name))
        return;
    /* an editor saves in several steps: wait for a quiet moment */
    uv_timer_start(&rl->debounce, debounced, rl->d->cfg.reload_debounce_ms,
                   0);
}

static void free_handle(uv_handle_t *h)
{
    free(h);
}

static void unwatch_policies(struct fw_reload *rl)
{
    for (size_t i = 0; i < rl->n_pwatch; i++)
        uv_close((uv_handle_t *)rl->pwatch[i], free_handle);
    rl->n_pwatch = 0;
}

static void watch_dir(struct fw_reload *rl, const char *dir, int depth)
{
    if (depth > FW_POLICYFS_MAX_DEPTH)
        return;
    void *p = realloc(rl->pwatch, (rl->n_pwatch + 1) * sizeof *rl->pwatch);
    uv_fs_event_t *h = malloc(sizeof *h);
    if (p == NULL || h == NULL) {
        free(h);
        if (p)
            rl->pwatch = p;
        return;
    }
    rl->pwatch = p;
    uv_fs_event_init(&rl->d->loop, h);
    h->data = rl;
    if (uv_fs_event_start(h, on_policy_change, dir, 0) < 0) {
        uv_close((uv_handle_t *)h, free_handle);
        return;
    }
    rl->pwatch[rl->n_pwatch++] = h;
    DIR *dh = opendir(dir);
    if (dh == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char sub[PATH_MAX];
        struct stat sb;
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name) <
                sizeof sub &&
            stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
            watch_dir(rl, sub, depth + 1);
    }
    closedir(dh);
}

/* Watches the policies folder and every folder under it (inotify is not
 * recursive), replacing the watches there were. */
static int watch_policies(struct fw_reload *rl)
{
    struct fwd *d = rl->d;
    unwatch_policies(rl);
    if (atomic_load(&d->stopping))
        return 0;
    watch_dir(rl, d->cfg.policies, 0);
    if (rl->n_pwatch == 0)
        fw_log_warn("reload", NULL, _("cannot watch %s: reload with SIGHUP or "
                    "POST /reload"), d->cfg.policies);
    return 0;
}

/* ---- the part: start, hooks, first generation ------------------------------- */

static void hup_hook(void *ud)
{
    struct fw_reload *rl = ud;
    fw_log_info("reload", NULL, _("SIGHUP: reloading %s"), rl->d->cfg.policies);
    reload(rl, FW_TRIG_SIGHUP);
}

static void close_noop(uv_handle_t *h)
{
    (void)h;
}

static void stop_hook(void *ud)
{
    struct fw_reload *rl = ud;
    static const char msg[] = "fundwatch is stopping";
    unwatch_policies(rl);
    if (rl->handles && !uv_is_closing((uv_handle_t *)&rl->debounce))
        uv_close((uv_handle_t *)&rl->debounce, close_noop);
    answer(rl, rl->waiters, &rl->n_waiters, msg);
    answer(rl, rl->next_waiters, &rl->n_next_waiters, msg);
}

static bool busy_hook(void *ud)
{
    struct fw_reload *rl = ud;
    return rl->d->reloading || rl->freeing;
}

int fw_reload_open(struct fwd *d, struct fw_reload **out)
{
    *out = NULL;
    struct fw_reload *rl = calloc(1, sizeof *rl);
    if (rl == NULL)
        return FW_ENOMEM;
    rl->d = d;
    uv_mutex_init(&rl->mu);
    struct fw_diag diag;
    struct fw_policy_tree t;
    fw_diag_init(&diag);
    int rc = fw_policy_tree_read(d->cfg.policies, &t, &diag);
    struct fw_engine_opts eo = d->cfg.engine;
    eo.lint = true;
    if (rc == 0)
        d->eng = fw_engine_build(t.files, t.n, &eo, &diag);
    if (d->eng == NULL) {
        fw_log_error("main", NULL, _("the policies in %s do not build (%zu "
                     "problems):"), d->cfg.policies, diag.n);
        fw_log_diag(FW_LOG_ERROR, "main", &diag);
        fw_diag_fini(&diag);
        fw_policy_tree_fini(&t);
        fw_reload_free(rl);
        return FW_EINVAL;
    }
    fw_diag_fini(&diag);
    /* recorded by the worker's first job, like every later generation */
    struct fw_reload_result *r = calloc(1, sizeof *r);
    if (r) {
        r->ok = true;
        r->tree = t;
        r->trigger = FW_TRIG_START;
        snprintf(r->version, sizeof r->version, "%s",
                 fw_engine_version(d->eng));
        fw_diag_init(&r->problems);
        result_sums(r);
        rl->pending = r; /* with eng NULL: nothing to swap, only to record */
    } else {
        fw_policy_tree_fini(&t);
    }
    snprintf(d->running_version, sizeof d->running_version, "%s",
             fw_engine_version(d->eng));
    d->generation_seq = 1;
    d->last_reload.ok = true;
    d->last_reload.at_ms = fw_wall_ms();
    snprintf(d->last_reload.version, sizeof d->last_reload.version, "%s",
             d->running_version);

    uv_timer_init(&d->loop, &rl->debounce);
    rl->debounce.data = rl;
    rl->handles = true;
    watch_policies(rl);
    fw_core_attach(d, &(struct fw_core_part){
        .name = "reload", .ud = rl, .between = apply_pending,
        .idle = idle_hook, .hup = hup_hook, .stop = stop_hook,
        .busy = busy_hook,
    });
    *out = rl;
    return 0;
}
