/* fundwatch run: the daemon. The libuv loop owns signals, the spool watch,
 * timers and systemd notification; all work on feeds, scheduled checks and
 * reloads happens on one worker thread, one job at a time, so the engine and
 * the store are never used by two threads at once and the loop stays free.
 * Startup errors are fatal; everything after start is logged and survived. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "cmdutil.h"
#include "daemon.h"
#include "feedio.h"
#include "feedjob.h"
#include "log.h"
#include "spool.h"

/* A drain job gives the worker back after this many feeds or this long, so
 * that a new generation, POST /feeds and the API's figures wait at most
 * that between two feeds. */
#define DRAIN_MAX_FEEDS 64
#define DRAIN_MAX_NS (250u * 1000 * 1000)

/* ---- small helpers ------------------------------------------------------- */

static int32_t today(const struct fwd *d)
{
    return d->fixed_now ? d->now : fw_today();
}

static void log_error(struct fwd *d, const char *subsys, const char *feed,
                      const struct fw_error *e);

void fw__d_job_env(struct fwd *d, struct fw_job_env *env)
{
    /* a huge feed's lines are not kept for the next one */
    if (d->lines.cap > (16u << 20))
        fw_buf_fini(&d->lines);
    fw_buf_reset(&d->lines);
    *env = (struct fw_job_env){
        .st = d->st, .eng = d->eng, .map = d->map,
        .max_feed = d->cfg.max_feed, .today = today(d), .lines = &d->lines,
    };
}

void fw__d_append_outbox(struct fwd *d, const char *feed,
                         const struct fw_job_result *r)
{
    struct fw_error err = {0};
    uint64_t n = 0;
    if (fw_outbox_append(d->ob, d->st, &d->lines, r->first_seq, r->last_seq,
                         &n, &err) < 0)
        log_error(d, "outbox", feed, &err);
    else if (n > 0)
        fw_log_debug("outbox", feed, "%llu findings appended",
                     (unsigned long long)n);
}


/* The last error, for /healthz (any thread). */
void fw__d_error(struct fwd *d, const char *fmt, ...)
{
    va_list ap;
    uv_mutex_lock(&d->mu);
    va_start(ap, fmt);
    vsnprintf(d->last_error, sizeof d->last_error, fmt, ap);
    va_end(ap);
    d->last_error_ms = fw_wall_ms();
    uv_mutex_unlock(&d->mu);
}

static void log_error(struct fwd *d, const char *subsys, const char *feed,
                      const struct fw_error *e)
{
    if (e->place[0])
        fw_log_error(subsys, feed, "%s: %s", e->place, e->msg);
    else
        fw_log_error(subsys, feed, "%s", e->msg);
    if (d)
        fw__d_error(d, "%s%s%s", e->place, e->place[0] ? ": " : "", e->msg);
}

/* (worker) */
void fw__d_flush_outbox(struct fwd *d, const char *feed)
{
    struct fw_error err = {0};
    uint64_t n = 0;
    if (fw_outbox_flush(d->ob, d->st, &n, &err) < 0)
        log_error(d, "outbox", feed, &err);
    else if (n > 0)
        fw_log_debug("outbox", feed, "%llu findings appended",
                     (unsigned long long)n);
}

static uint64_t fired(const struct fw_job_result *r)
{
    uint64_t n = 0;
    for (int k = 0; k < FW__FK_COUNT; k++)
        n += r->findings[k];
    return n;
}

static void count(struct fwd *d, const struct fw_job_result *r)
{
    fw__d_tally(d, r);
    atomic_fetch_add(&d->records, r->records);
    atomic_fetch_add(&d->rejects, r->rejects);
    atomic_fetch_add(&d->events, r->events);
    atomic_fetch_add(&d->resolved, r->resolved);
    for (int k = 0; k < FW__FK_COUNT; k++)
        atomic_fetch_add(&d->findings[k], r->findings[k]);
}

/* ---- the jobs (worker thread) -------------------------------------------- */

static void do_feed(struct fwd *d, const char *name)
{
    char path[PATH_MAX], dest[PATH_MAX];
    if (!fw_spool_path(d->cfg.spool, name, path, sizeof path)) {
        fw_log_error("spool", name, "path too long");
        return;
    }
    struct fw_job_env env;
    fw__d_job_env(d, &env);
    struct fw_job_result r;
    int rc = fw_job_feed_file(&env, path, name, FW_SRC_SPOOL, &r);
    atomic_fetch_add(&d->feed_nanos, r.nanos);
    if (rc < 0) {
        fw_log_error("spool", name, "out of memory; left in incoming/");
        fw__d_error(d, "%s: out of memory", name);
        d->drain_retry = true;
        return;
    }
    if (r.outcome == FW_JOB_RETRY) {
        if (access(path, F_OK) < 0) {
            fw_log_warn("spool", name, "gone before it was read");
            return;
        }
        fw_log_error("spool", name, "%s; left in incoming/, will retry",
                     r.reason);
        fw__d_error(d, "%s: %s", name, r.reason);
        atomic_fetch_add(&d->feeds_retry, 1);
        d->drain_retry = true;
        return;
    }
    if (r.outcome == FW_JOB_DONE)
        fw__d_append_outbox(d, name, &r);
    struct fw_error err = {0};
    bool ok = r.outcome != FW_JOB_FAILED;
    struct stat sb;
    if (r.ino && stat(path, &sb) == 0 &&
        ((uint64_t)sb.st_ino != r.ino || (uint64_t)sb.st_dev != r.dev)) {
        /* a new file of the same name was renamed in while this one was
         * read: the one read is gone already; the new one waits its turn */
        fw_log_warn("spool", name, "replaced in incoming/ while it was read: "
                    "the new file is processed next");
        d->drain_more = true;
    } else if (fw_spool_finish(d->cfg.spool, name, ok, r.reason, dest, sizeof dest,
                        &err) < 0)
        log_error(d, "spool", name, &err);
    switch (r.outcome) {
    case FW_JOB_DONE:
        atomic_fetch_add(&d->feeds_done, 1);
        count(d, &r);
        fw_log_info("spool", name,
                    "%llu records, %llu rejects, %llu findings (%llu new, "
                    "%llu resolved), %llu policy errors in %.1f ms",
                    (unsigned long long)r.records,
                    (unsigned long long)r.rejects,
                    (unsigned long long)fired(&r),
                    (unsigned long long)r.events,
                    (unsigned long long)r.resolved,
                    (unsigned long long)r.findings[FW_FK_ERROR],
                    (double)r.nanos / 1e6);
        break;
    case FW_JOB_DUPLICATE:
        atomic_fetch_add(&d->feeds_dup, 1);
        fw_log_warn("spool", name,
                    "duplicate of feed #%lld (same sha256 %.12s…): not "
                    "processed again", (long long)r.dup_of, r.sha256);
        break;
    case FW_JOB_FAILED:
        atomic_fetch_add(&d->feeds_failed, 1);
        fw_log_error("spool", name, "failed: %s; moved to failed/",
                     r.reason);
        fw__d_error(d, "%s: %s", name, r.reason);
        break;
    case FW_JOB_RETRY:
        break;
    }
}

static void drain(struct fwd *d)
{
    struct fw_spool_list l = {0};
    struct fw_error err = {0};
    d->drain_retry = d->drain_more = false;
    if (fw_spool_scan(d->cfg.spool, &l, &err) < 0) {
        log_error(d, "spool", NULL, &err);
        d->drain_retry = true;
        return;
    }
    uint64_t t0 = fw_mono_ns();
    size_t i = 0;
    for (; i < l.n && !atomic_load(&d->stopping); i++) {
        if (i == DRAIN_MAX_FEEDS || fw_mono_ns() - t0 > DRAIN_MAX_NS) {
            d->drain_more = true; /* give the worker back; go on after */
            break;
        }
        atomic_store(&d->queue_len, l.n - i);
        atomic_store(&d->oldest_ms, l.items[i].mtime_ns / 1000000);
        fw__d_apply_pending(d, false); /* a new generation: between feeds */
        do_feed(d, l.items[i].name);
        if (d->drain_retry)
            break; /* the store is failing: back off */
    }
    atomic_store(&d->queue_len, l.n - i);
    atomic_store(&d->oldest_ms, i < l.n ? l.items[i].mtime_ns / 1000000 : 0);
    fw_spool_list_fini(&l);
}

static void sched(struct fwd *d)
{
    struct fw_job_env env;
    fw__d_job_env(d, &env);
    struct fw_job_result r;
    if (fw_job_recheck(&env, &r) < 0 || r.outcome != FW_JOB_DONE) {
        fw_log_error("sched", NULL, "scheduled checks failed: %s",
                     r.reason[0] ? r.reason : "out of memory");
        fw__d_error(d, "scheduled checks: %s", r.reason);
        return;
    }
    atomic_fetch_add(&d->sched_runs, 1);
    uint64_t tasks = r.records;
    r.records = 0; /* task records re-run, not records read */
    count(d, &r);
    r.records = tasks;
    fw__d_append_outbox(d, NULL, &r);
    fw_log_info("sched", NULL,
                "scheduled checks: %llu task records, %llu findings (%llu new, "
                "%llu resolved) in %.1f ms",
                (unsigned long long)r.records, (unsigned long long)fired(&r),
                (unsigned long long)r.events, (unsigned long long)r.resolved,
                (double)r.nanos / 1e6);
}

/* (worker) POST /feeds: the same path as the spool, from memory. */
void fw__d_ingest_run(struct fwd *d, struct fw_ingest *in)
{
    struct fw_job_env env;
    fw__d_job_env(d, &env);
    struct fw_job_result r;
    struct fw_buf *a = &in->answer;
    int rc = fw_job_feed_mem(&env, in->body, in->len, in->name,
                             FW_SRC_HTTP, &r);
    atomic_fetch_add(&d->feed_nanos, r.nanos);
    if (rc < 0) {
        in->status = 503;
        fw_buf_puts(a, "{\"error\":\"out of memory\"}\n");
        return;
    }
    if (r.outcome == FW_JOB_DONE) {
        fw__d_append_outbox(d, in->name, &r);
        atomic_fetch_add(&d->feeds_done, 1);
        count(d, &r);
    } else if (r.outcome == FW_JOB_DUPLICATE) {
        atomic_fetch_add(&d->feeds_dup, 1);
    } else if (r.outcome == FW_JOB_FAILED) {
        atomic_fetch_add(&d->feeds_failed, 1);
    } else {
        atomic_fetch_add(&d->feeds_retry, 1);
    }
    static const char *const outcome[] = {"done", "duplicate", "failed",
                                          "retry"};
    in->status = r.outcome == FW_JOB_DONE || r.outcome == FW_JOB_DUPLICATE
                     ? 200
                 : r.outcome == FW_JOB_FAILED ? 422
                                              : 503;
    fw_buf_puts(a, "{\"feed\":");
    fw_buf_json_str(a, in->name, strlen(in->name));
    fw_buf_printf(a, ",\"status\":\"%s\",\"sha256\":\"%s\",\"bytes\":%llu,"
                  "\"records\":%llu,\"rejects\":%llu,\"findings\":{",
                  outcome[r.outcome], r.sha256,
                  (unsigned long long)r.bytes, (unsigned long long)r.records,
                  (unsigned long long)r.rejects);
    for (int k = 0; k < FW__FK_COUNT; k++)
        fw_buf_printf(a, "%s\"%s\":%llu", k ? "," : "", fw_fkind_name(k),
                      (unsigned long long)r.findings[k]);
    fw_buf_printf(a, "},\"new\":%llu,\"resolved\":%llu",
                  (unsigned long long)r.events,
                  (unsigned long long)r.resolved);
    if (r.outcome == FW_JOB_DUPLICATE)
        fw_buf_printf(a, ",\"duplicate_of\":%lld", (long long)r.dup_of);
    if (r.reason[0]) {
        fw_buf_puts(a, ",\"reason\":");
        fw_buf_json_str(a, r.reason, strlen(r.reason));
    }
    fw_buf_printf(a, ",\"ms\":%.1f}\n", (double)r.nanos / 1e6);
    fw_log_info("http", in->name, "POST /feeds: %s, %llu records, %llu "
                "rejects, %llu new findings", outcome[r.outcome],
                (unsigned long long)r.records, (unsigned long long)r.rejects,
                (unsigned long long)r.events);
}

static void work_cb(uv_work_t *w)
{
    struct fwd *d = w->data;
    fw__d_apply_pending(d, true);
    switch (d->job) {
    case FW_JOB_DRAIN:
        fw__d_flush_outbox(d, NULL); /* what a failed flush left behind */
        drain(d);
        break;
    case FW_JOB_SCHED:
        sched(d);
        break;
    case FW_JOB_INGEST:
        for (struct fw_ingest *in = d->ingest_job; in; in = in->next)
            fw__d_ingest_run(d, in);
        break;
    case FW_JOB_NONE:
        break;
    }
    fw__d_apply_pending(d, true); /* record what was swapped in meanwhile */
}

/* ---- the loop ------------------------------------------------------------- */

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

static void http_stopped(void *arg)
{
    struct fwd *d = arg;
    d->http = NULL;
}

void fw__d_shutdown(struct fwd *d)
{
    uv_handle_t *hs[] = {
        (uv_handle_t *)&d->sig_term, (uv_handle_t *)&d->sig_int,
        (uv_handle_t *)&d->sig_hup, (uv_handle_t *)&d->watch,
        (uv_handle_t *)&d->scan_timer, (uv_handle_t *)&d->sched_timer,
        (uv_handle_t *)&d->retry_timer, (uv_handle_t *)&d->wd_timer,
        (uv_handle_t *)&d->debounce,
    };
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], close_cb);
    fw__d_unwatch_policies(d);
    if (d->http && !d->http_closed) {
        d->http_closed = true;
        fw__d_api_refuse_waiting(d);
        fw_http_stop(d->http, http_stopped, d);
    }
}

static void retry_cb(uv_timer_t *t)
{
    struct fwd *d = t->data;
    d->want_scan = true;
    fw__d_kick(d);
}

static void after_work(uv_work_t *w, int status)
{
    (void)status;
    struct fwd *d = w->data;
    enum fw_job_kind done = d->job;
    d->job = FW_JOB_NONE;
    fw__d_snapshot(d); /* the worker is idle: its figures can be read */
    fw__d_free_retired(d);
    if (done == FW_JOB_INGEST) {
        struct fw_ingest *in = d->ingest_job;
        d->ingest_job = NULL;
        while (in) {
            struct fw_ingest *next = in->next;
            fw__d_ingest_answer(d, in);
            in = next;
        }
    }
    if (done == FW_JOB_DRAIN) {
        if (d->drain_retry && !atomic_load(&d->stopping)) {
            /* the store or the disk failed: try again later, backing off
             * from 1 s up to the scan interval */
            d->retry_ms = d->retry_ms ? 2 * d->retry_ms : 1000;
            if (d->retry_ms > d->cfg.scan_interval_ms)
                d->retry_ms = d->cfg.scan_interval_ms;
            uv_timer_start(&d->retry_timer, retry_cb, d->retry_ms, 0);
        } else {
            d->retry_ms = 0;
            if (d->drain_more)
                d->want_scan = true;
        }
    }
    if (atomic_load(&d->stopping)) {
        if (!d->reloading)
            fw__d_shutdown(d);
        return;
    }
    fw__d_kick(d);
}

/* Starts the next job when the worker is free: POST /feeds first (a client
 * waits), then a new generation or the scheduled checks, then the spool. */
void fw__d_kick(struct fwd *d)
{
    if (d->job != FW_JOB_NONE || atomic_load(&d->stopping))
        return;
    /* POST /feeds first, a client waits; but never twice in a row while
     * the spool or the scheduled checks wait too */
    bool others = d->want_sched || d->want_scan || d->want_apply;
    if (d->ingest_q && !(d->last_was_ingest && others)) {
        d->ingest_job = d->ingest_q;
        d->ingest_q = NULL;
        d->job = FW_JOB_INGEST;
    } else if (d->want_sched) {
        d->want_sched = false;
        d->job = FW_JOB_SCHED;
    } else if (d->want_scan || d->want_apply) {
        d->want_scan = d->want_apply = false;
        d->job = FW_JOB_DRAIN;
    } else {
        return;
    }
    d->last_was_ingest = d->job == FW_JOB_INGEST;
    d->work.data = d;
    int rc = uv_queue_work(&d->loop, &d->work, work_cb, after_work);
    if (rc < 0) {
        fw_log_error("main", NULL, "cannot start work: %s", uv_strerror(rc));
        d->job = FW_JOB_NONE;
    }
}

static void on_watch(uv_fs_event_t *h, const char *name, int events,
                     int status)
{
    (void)events;
    struct fwd *d = h->data;
    if (status < 0) {
        fw_log_warn("spool", NULL, "watch: %s (the periodic scan goes on)",
                    uv_strerror(status));
        return;
    }
    if (name && fw_spool_ignored(name))
        return;
    d->want_scan = true;
    fw__d_kick(d);
}

static void scan_cb(uv_timer_t *t)
{
    struct fwd *d = t->data;
    d->want_scan = true;
    fw__d_kick(d);
}

/* Milliseconds from now to the next local HH:MM of the schedule. */
static uint64_t until_schedule(unsigned min)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    tm.tm_hour = (int)(min / 60);
    tm.tm_min = (int)(min % 60);
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    time_t at = mktime(&tm);
    if (at <= now) {
        tm.tm_mday++;
        tm.tm_isdst = -1;
        at = mktime(&tm);
    }
    return (uint64_t)(at - now) * 1000;
}

static void sched_cb(uv_timer_t *t)
{
    struct fwd *d = t->data;
    d->want_sched = true;
    fw__d_kick(d);
    uv_timer_start(&d->sched_timer, sched_cb,
                   until_schedule(d->cfg.schedule_min), 0);
}

static void wd_cb(uv_timer_t *t)
{
    (void)t;
    sd_notify(0, "WATCHDOG=1");
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct fwd *d = s->data;
    if (signum == SIGHUP) {
        fw_log_info("reload", NULL, "SIGHUP: reloading %s", d->cfg.policies);
        fw__d_reload(d, FW_TRIG_SIGHUP);
        return;
    }
    if (atomic_load(&d->stopping)) {
        fw_log_info("main", NULL, "%s again: still finishing the current "
                    "feed", strsignal(signum));
        return;
    }
    atomic_store(&d->stopping, true);
    sd_notify(0, "STOPPING=1");
    if (d->job != FW_JOB_NONE || d->reloading) {
        fw_log_info("main", NULL, "%s: finishing the current feed, then "
                    "stopping", strsignal(signum));
        return;
    }
    fw_log_info("main", NULL, "%s: stopping", strsignal(signum));
    fw__d_shutdown(d);
}

/* ---- start and stop --------------------------------------------------------- */

static const char usage_text[] =
    "usage: fundwatch run [-c fundwatch.yaml] [--now DATE]\n"
    "\n"
    "The daemon, in the foreground (systemd runs it; Type=notify). Watches\n"
    "the spool's incoming/ folder, runs the policies over each feed that\n"
    "arrives, commits its findings, rejects and feed row to the SQLite store\n"
    "in one transaction, appends the new findings to the JSONL outbox, and\n"
    "moves the feed to done/ or failed/. Runs the scheduled checks (task\n"
    "deadlines) at start and daily; reloads the policies when they change;\n"
    "serves the HTTP API (health, metrics, findings, POST /feeds, POST\n"
    "/reload). One line per event on stderr.\n"
    "\n"
    "  -c, --config FILE  the config file (default: ./fundwatch.yaml, else\n"
    "                     " FW_SYSTEM_CONFIG ")\n"
    "  -n, --now DATE     a fixed clock instead of today (drills and tests)\n"
    "  -h, --help         this text\n"
    "\n"
    "Signals: SIGTERM or SIGINT finish the current feed, commit and exit 0;\n"
    "SIGHUP reloads the policies (a broken edit keeps the running ones).\n"
    "Exit status: 0 stopped by a signal; 1 the config or the policies have\n"
    "problems (each printed as file:line: message); 2 usage, or the store,\n"
    "spool, outbox or listen address cannot be opened.\n";

static int start_handles(struct fwd *d)
{
    int rc;
    d->handles = true;
    uv_signal_t *sigs[] = {&d->sig_term, &d->sig_int, &d->sig_hup};
    int nums[] = {SIGTERM, SIGINT, SIGHUP};
    uv_timer_t *timers[] = {&d->scan_timer, &d->sched_timer, &d->retry_timer,
                            &d->wd_timer, &d->debounce};
    /* every handle is initialised before any starts: shutdown closes all */
    for (int i = 0; i < 3; i++) {
        uv_signal_init(&d->loop, sigs[i]);
        sigs[i]->data = d;
    }
    for (int i = 0; i < 5; i++) {
        uv_timer_init(&d->loop, timers[i]);
        timers[i]->data = d;
    }
    uv_fs_event_init(&d->loop, &d->watch);
    d->watch.data = d;
    for (int i = 0; i < 3; i++)
        if ((rc = uv_signal_start(sigs[i], on_signal, nums[i])) < 0)
            return rc;
    uv_timer_start(&d->scan_timer, scan_cb, d->cfg.scan_interval_ms,
                   d->cfg.scan_interval_ms);
    uv_timer_start(&d->sched_timer, sched_cb,
                   until_schedule(d->cfg.schedule_min), 0);
    uint64_t wd_usec = 0;
    if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec >= 2000)
        uv_timer_start(&d->wd_timer, wd_cb, wd_usec / 2000, wd_usec / 2000);

    char incoming[PATH_MAX];
    snprintf(incoming, sizeof incoming, "%s/incoming", d->cfg.spool);
    if ((rc = uv_fs_event_start(&d->watch, on_watch, incoming, 0)) < 0)
        fw_log_warn("spool", NULL, "cannot watch %s: %s; scanning every %llu "
                    "ms instead", incoming, uv_strerror(rc),
                    (unsigned long long)d->cfg.scan_interval_ms);
    fw__d_watch_policies(d);
    return 0;
}

/* Reads the policies folder, builds the first generation and records it. */
static int first_generation(struct fwd *d)
{
    struct fw_diag diag;
    struct fw_policy_tree t;
    fw_diag_init(&diag);
    int rc = fw_policy_tree_read(d->cfg.policies, &t, &diag);
    if (rc == 0)
        d->eng = fw_engine_build(t.files, t.n, &d->cfg.engine, &diag);
    if (d->eng == NULL) {
        fw_log_error("main", NULL, "the policies in %s do not build (%zu "
                     "problems):", d->cfg.policies, diag.n);
        fw_log_diag(FW_LOG_ERROR, "main", &diag);
        fw_diag_fini(&diag);
        fw_policy_tree_fini(&t);
        return FW_EXIT_PROBLEMS;
    }
    /* recorded by the worker's first job, like every later generation */
    struct fw_reload_result *r = calloc(1, sizeof *r);
    if (r) {
        r->ok = true;
        r->tree = t;
        r->trigger = FW_TRIG_START;
        snprintf(r->version, sizeof r->version, "%s",
                 fw_engine_version(d->eng));
        fw_diag_init(&r->problems);
        fw__d_result_sums(r);
        d->pending = r; /* with eng NULL: nothing to swap, only to record */
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
    fw_diag_fini(&diag);
    return 0;
}

static int open_all(struct fwd *d)
{
    struct fw_error err = {0};
    struct fw_diag diag;
    if (fw_spool_init(d->cfg.spool, &err) < 0)
        goto io;
    struct fw_store_opts so = {.cache_kib = (int64_t)(d->cfg.db_cache >> 10)};
    if (fw_store_open(d->cfg.database, &so, &d->st, &err) < 0)
        goto io;
    /* the API's reading connection needs little cache */
    struct fw_store_opts ro = {.read_only = true,
                               .cache_kib = (int64_t)(d->cfg.db_cache >> 12)};
    if (fw_store_open(d->cfg.database, &ro, &d->ro, &err) < 0)
        goto io;
    if (fw_outbox_open(d->cfg.outbox, d->st, &d->ob, &err) < 0)
        goto io;
    fw__d_flush_outbox(d, NULL); /* level with the store after a crash */
    fw_diag_init(&diag);
    d->map = fw_columns_load(d->cfg.columns, &diag); /* NULL: built-in */
    if (d->map == NULL) {
        fw_log_diag(FW_LOG_ERROR, "main", &diag);
        fw_diag_fini(&diag);
        return FW_EXIT_PROBLEMS;
    }
    fw_diag_fini(&diag);
    return first_generation(d);
io:
    log_error(NULL, "main", NULL, &err);
    return FW_EXIT_USAGE;
}

int fw_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"now", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *conf = NULL;
    bool system_conf = false;
    struct fwd *d = calloc(1, sizeof *d);
    if (d == NULL)
        return FW_EXIT_USAGE;
    int c, status = FW_EXIT_OK;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            conf = optarg;
            break;
        case 'n':
            if (!fw_cmd_parse_now("run", optarg, &d->now)) {
                free(d);
                return FW_EXIT_USAGE;
            }
            d->fixed_now = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            free(d);
            return FW_EXIT_OK;
        default:
            free(d);
            return fw_cli_usage_error("run", "unknown option '%s' (see "
                                      "fundwatch run --help)",
                                      argv[optind - 1]);
        }
    }
    if (optind < argc) {
        free(d);
        return fw_cli_usage_error("run", "unexpected argument '%s'",
                                  argv[optind]);
    }

    if (conf == NULL)
        conf = fw_cmd_default_config(&system_conf);
    fw_log_init(-1, -1);
    if (system_conf)
        fw_log_info("main", NULL, "no -c given and no ./fundwatch.yaml: "
                    "using %s", conf);
    struct fw_diag diag;
    fw_diag_init(&diag);
    int rc = fw_config_load(conf, &d->cfg, &diag);
    if (rc < 0) {
        for (size_t i = 0; i < diag.n; i++)
            fprintf(stderr, "%s\n", diag.items[i]);
        fw_diag_fini(&diag);
        fw_config_fini(&d->cfg);
        free(d);
        return rc == FW_EINVAL ? FW_EXIT_PROBLEMS : FW_EXIT_USAGE;
    }
    fw_diag_fini(&diag);
    fw_log_set_level(d->cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    uv_mutex_init(&d->mu);
    d->started_ms = fw_wall_ms();

    uv_loop_init(&d->loop);
    status = open_all(d);
    if (status == 0 && (rc = start_handles(d)) < 0) {
        fw_log_error("main", NULL, "cannot start: %s", uv_strerror(rc));
        status = FW_EXIT_USAGE;
    }
    if (status == 0 && d->cfg.listen_enabled && fw__d_http_start(d) < 0)
        status = FW_EXIT_USAGE;
    if (status == 0) {
        fw__d_snapshot(d);
        fw_log_info("main", NULL, "started: config %s, generation %.19s… "
                    "(%zu policies), spool %s, database %s, outbox %s",
                    d->cfg.file, fw_engine_version(d->eng),
                    fw_engine_policy_count(d->eng), d->cfg.spool,
                    d->cfg.database, d->cfg.outbox);
        sd_notifyf(0, "READY=1\nSTATUS=watching %s/incoming", d->cfg.spool);
        d->want_sched = true;
        d->want_scan = true;
        fw__d_kick(d);
    } else if (d->handles) {
        fw__d_shutdown(d);
    }
    uv_run(&d->loop, UV_RUN_DEFAULT);
    if (status == 0)
        fw_log_info("main", NULL, "stopped: %llu feeds done, %llu failed, "
                    "%llu duplicates; %llu records, %llu rejects, %llu new "
                    "findings",
                    (unsigned long long)atomic_load(&d->feeds_done),
                    (unsigned long long)atomic_load(&d->feeds_failed),
                    (unsigned long long)atomic_load(&d->feeds_dup),
                    (unsigned long long)atomic_load(&d->records),
                    (unsigned long long)atomic_load(&d->rejects),
                    (unsigned long long)atomic_load(&d->events));
    /* a generation refused (or built) too late for a job: recorded now,
     * with its ops finding, before the store closes */
    if (status == 0)
        fw__d_apply_pending(d, true);
    uv_loop_close(&d->loop);
    fw__d_reload_fini(d);
    fw__d_api_fini(d);
    fw_buf_fini(&d->lines);
    fw_engine_free(d->eng);
    fw_colmap_free(d->map);
    fw_outbox_close(d->ob);
    fw_store_close(d->ro);
    fw_store_close(d->st);
    fw_config_fini(&d->cfg);
    uv_mutex_destroy(&d->mu);
    free(d);
    return status;
}
