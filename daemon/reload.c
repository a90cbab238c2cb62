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

#include "sys.h"
#include "daemon.h"
#include "log.h"
#include "testrun.h"

/* A tree that keeps changing while it is built is tried this many times. */
#define RELOAD_TRIES 5
/* Report lines of failing tests carried into the refusal. */
#define MAX_TEST_PROBLEMS 20

static void hex(const unsigned char *md, unsigned n, char *out)
{
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The version of a tree that did not build: sha256 over its paths and
 * contents, each length-prefixed, so a refused edit is named too. */
static void tree_version(const struct fw_policy_tree *t, char out[80])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char md[32];
    unsigned n = 0;
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    for (size_t i = 0; i < t->n; i++) {
        uint64_t lens[2] = {strlen(t->files[i].path), t->files[i].len};
        EVP_DigestUpdate(c, lens, sizeof lens);
        EVP_DigestUpdate(c, t->files[i].path, lens[0]);
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

void fw__d_result_free(struct fw_reload_result *r)
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

void fw__d_result_sums(struct fw_reload_result *r)
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
        fw_diag_add(d, NULL, "and %u more failing policy tests", more);
}

/* One attempt: read, build, check, test. True when it built and passed. */
static bool attempt(struct fwd *d, struct fw_reload_result *r)
{
    if (fw_policy_tree_read(d->cfg.policies, &r->tree, &r->problems) < 0)
        return false;
    r->eng = fw_engine_build(r->tree.files, r->tree.n, &d->cfg.engine,
                             &r->problems);
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
    struct fwd *d = w->data;
    struct fw_reload_result *r = d->reload_res;
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
    fw__d_result_sums(r); /* here, not on the worker */
    clock_gettime(CLOCK_MONOTONIC, &b);
    r->nanos = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u +
               (uint64_t)(b.tv_nsec - a.tv_nsec);
}

static void after_reload(uv_work_t *w, int status)
{
    (void)status;
    struct fwd *d = w->data;
    struct fw_reload_result *r = d->reload_res;
    d->reload_res = NULL;
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
        fw_log_info("reload", NULL, "generation %.19s… built and tested (%zu "
                    "policies, %u test cases) in %.1f ms (%s); it runs from "
                    "the next feed", r->version,
                    fw_engine_policy_count(r->eng), r->cases,
                    (double)r->nanos / 1e6, why);
    } else {
        d->reloads_failed++;
        if (r->problems.n > 0)
            snprintf(d->last_reload.error, sizeof d->last_reload.error, "%s%s",
                     r->problems.items[0],
                     r->problems.n > 1 ? " (and more)" : "");
        fw_log_error("reload", NULL, "refused (%s): %zu problems; generation "
                     "%.19s… keeps running", why, r->problems.n,
                     d->running_version);
        fw_log_diag(FW_LOG_ERROR, "reload", &r->problems);
        fw__d_error(d, "reload refused: %s", d->last_reload.error);
    }
    fw__d_reload_answer(d);
    /* the worker puts it in place (or records the refusal) between feeds */
    uv_mutex_lock(&d->mu);
    struct fw_reload_result **tail = &d->pending;
    while (*tail)
        tail = &(*tail)->next;
    *tail = r;
    uv_mutex_unlock(&d->mu);
    d->want_apply = true;
    fw__d_watch_policies(d); /* new folders are watched too */
    if (atomic_load(&d->stopping)) {
        if (d->job == FW_JOB_NONE)
            fw__d_shutdown(d);
        return;
    }
    fw__d_kick(d);
    if (d->reload_again) {
        /* those who asked during this one get the next one's result */
        struct fw_http_conn **spare = d->reload_waiters;
        d->reload_waiters = d->next_waiters;
        d->n_waiters = d->n_next_waiters;
        d->next_waiters = spare;
        d->n_next_waiters = 0;
        d->reload_again = false;
        fw__d_reload(d, d->next_trigger);
    }
}

/* A reload that could not even start: its waiters hear so. */
static void reload_not_started(struct fwd *d, const char *why)
{
    fw_log_error("reload", NULL, "cannot start: %s", why);
    for (size_t i = 0; i < d->n_waiters; i++)
        fw_http_respond_error(d->reload_waiters[i], 503, why);
    d->n_waiters = 0;
}

void fw__d_reload(struct fwd *d, enum fw_store_trigger why)
{
    if (atomic_load(&d->stopping))
        return;
    if (d->reloading) { /* after this one, once more with the latest files */
        d->reload_again = true;
        d->next_trigger = why;
        return;
    }
    struct fw_reload_result *r = calloc(1, sizeof *r);
    if (r == NULL) {
        reload_not_started(d, "out of memory");
        return;
    }
    fw_diag_init(&r->problems);
    r->trigger = why;
    d->reload_res = r;
    d->reloading = true;
    d->reload_work.data = d;
    int rc = uv_queue_work(&d->loop, &d->reload_work, reload_work,
                           after_reload);
    if (rc < 0) {
        d->reloading = false;
        d->reload_res = NULL;
        fw__d_result_free(r);
        reload_not_started(d, uv_strerror(rc));
    }
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

bool fw__d_apply_pending(struct fwd *d, bool record)
{
    uv_mutex_lock(&d->mu);
    struct fw_reload_result *r = d->pending;
    d->pending = NULL;
    uv_mutex_unlock(&d->mu);
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
            fw__d_retire(d, old);
            /* no feed runs on it now: its Lua states are closed on a pool
             * thread (fw__d_free_retired), not here between two feeds */
            uv_mutex_lock(&d->mu);
            void *p = realloc(d->retired_eng,
                              (d->n_retired_eng + 1) * sizeof *d->retired_eng);
            if (p) {
                d->retired_eng = p;
                d->retired_eng[d->n_retired_eng++] = old;
                old = NULL;
            }
            uv_mutex_unlock(&d->mu);
            fw_engine_free(old); /* only when the list could not grow */
            clock_gettime(CLOCK_MONOTONIC, &b);
            double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 +
                        (double)(b.tv_nsec - a.tv_nsec) / 1e6;
            fw_log_info("reload", NULL, "generation %.19s… in place of "
                        "%.19s… (the feeds waited %.2f ms)",
                        fw_engine_version(d->eng), was, ms);
        }
        r->next = NULL;
        struct fw_reload_result **tail = &d->to_record;
        while (*tail)
            tail = &(*tail)->next;
        *tail = r;
        r = next;
    }
    if (!record || d->to_record == NULL)
        return did;
    /* the store's history and the ops findings, when no feed waits */
    for (r = d->to_record; r;) {
        struct fw_reload_result *next = r->next;
        record_generation(d, r);
        if (!r->ok)
            ops_finding(d, r);
        fw__d_result_free(r);
        r = next;
    }
    d->to_record = NULL;
    fw__d_flush_outbox(d, NULL);
    return true;
}

static void free_work(uv_work_t *w)
{
    struct fwd *d = w->data;
    for (;;) {
        uv_mutex_lock(&d->mu);
        struct fw_engine *e =
            d->n_retired_eng ? d->retired_eng[--d->n_retired_eng] : NULL;
        uv_mutex_unlock(&d->mu);
        if (e == NULL)
            break;
        fw_engine_free(e);
    }
}

static void after_free(uv_work_t *w, int status)
{
    (void)status;
    struct fwd *d = w->data;
    d->freeing = false;
    if (atomic_load(&d->stopping)) {
        if (d->job == FW_JOB_NONE && !d->reloading)
            fw__d_shutdown(d);
        return;
    }
    fw__d_free_retired(d); /* swapped out while this one ran */
}

void fw__d_free_retired(struct fwd *d)
{
    uv_mutex_lock(&d->mu);
    bool any = d->n_retired_eng > 0;
    uv_mutex_unlock(&d->mu);
    if (!any || d->freeing)
        return;
    d->freeing = true;
    d->free_work.data = d;
    if (uv_queue_work(&d->loop, &d->free_work, free_work, after_free) < 0)
        d->freeing = false; /* freed at exit instead */
}

void fw__d_reload_fini(struct fwd *d)
{
    while (d->to_record) {
        struct fw_reload_result *next = d->to_record->next;
        fw__d_result_free(d->to_record);
        d->to_record = next;
    }
    for (size_t i = 0; i < d->n_retired_eng; i++)
        fw_engine_free(d->retired_eng[i]);
    free(d->retired_eng);
    d->retired_eng = NULL;
    d->n_retired_eng = 0;
    struct fw_reload_result *r = d->pending;
    while (r) {
        struct fw_reload_result *next = r->next;
        fw__d_result_free(r);
        r = next;
    }
    d->pending = NULL;
    fw__d_result_free(d->reload_res);
    d->reload_res = NULL;
    for (size_t i = 0; i < d->n_snap; i++) {
        free(d->snap[i].id);
        free(d->snap[i].path);
        free(d->snap[i].version);
    }
    free(d->snap);
    d->snap = NULL;
    d->n_snap = 0;
    fw_buf_fini(&d->policies_json);
    free(d->pwatch);
    d->pwatch = NULL;
    free(d->reload_waiters);
    d->reload_waiters = NULL;
}

/* ---- what the API shows ------------------------------------------------------ */

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

void fw__d_snapshot(struct fwd *d)
{
    const struct fw_engine *e = d->eng;
    fw__d_fold_retired(d);
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
    struct fwd *d = t->data;
    fw_log_info("reload", NULL, "%s changed: reloading", d->cfg.policies);
    fw__d_reload(d, FW_TRIG_WATCH);
}

static void on_policy_change(uv_fs_event_t *h, const char *name, int events,
                             int status)
{
    (void)events;
    struct fwd *d = h->data;
    if (status < 0 || ignored(name))
        return;
    /* an editor saves in several steps: wait for a quiet moment */
    uv_timer_start(&d->debounce, debounced, d->cfg.reload_debounce_ms, 0);
}

static void free_handle(uv_handle_t *h)
{
    free(h);
}

void fw__d_unwatch_policies(struct fwd *d)
{
    for (size_t i = 0; i < d->n_pwatch; i++)
        uv_close((uv_handle_t *)d->pwatch[i], free_handle);
    d->n_pwatch = 0;
}

static void watch_dir(struct fwd *d, const char *dir, int depth)
{
    if (depth > FW_POLICYFS_MAX_DEPTH)
        return;
    void *p = realloc(d->pwatch, (d->n_pwatch + 1) * sizeof *d->pwatch);
    uv_fs_event_t *h = malloc(sizeof *h);
    if (p == NULL || h == NULL) {
        free(h);
        if (p)
            d->pwatch = p;
        return;
    }
    d->pwatch = p;
    uv_fs_event_init(&d->loop, h);
    h->data = d;
    if (uv_fs_event_start(h, on_policy_change, dir, 0) < 0) {
        uv_close((uv_handle_t *)h, free_handle);
        return;
    }
    d->pwatch[d->n_pwatch++] = h;
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
            watch_dir(d, sub, depth + 1);
    }
    closedir(dh);
}

/* Watches the policies folder and every folder under it (inotify is not
 * recursive), replacing the watches there were. */
int fw__d_watch_policies(struct fwd *d)
{
    fw__d_unwatch_policies(d);
    if (atomic_load(&d->stopping))
        return 0;
    watch_dir(d, d->cfg.policies, 0);
    if (d->n_pwatch == 0)
        fw_log_warn("reload", NULL, "cannot watch %s: reload with SIGHUP or "
                    "POST /reload", d->cfg.policies);
    return 0;
}
