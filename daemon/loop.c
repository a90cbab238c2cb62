/* The core's loop and its job worker (core.h). The libuv loop owns signals,
 * the spool watch, timers and systemd notification; all work on feeds,
 * scheduled checks and queued jobs happens on one worker thread, one job at
 * a time, so the engine and the store are never used by two threads at once
 * and the loop stays free. The attached parts are called through their
 * hooks only. Everything after start is logged and survived. */
#include "core.h"

#include <errno.h>
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

#include "fundwatch/i18n.h"

#include "feedio.h"
#include "spool.h"

/* A drain job gives the worker back after this many feeds or this long, so
 * that a new generation, a queued job and the API's figures wait at most
 * that between two feeds. */
#define DRAIN_MAX_FEEDS 64
#define DRAIN_MAX_NS (250u * 1000 * 1000)

/* ---- small helpers ------------------------------------------------------- */

int32_t fw_core_today(const struct fwd *d)
{
    return d->fixed_now ? d->now : fw_today();
}

static void log_error(struct fwd *d, const char *subsys, const char *feed,
                      const struct fw_error *e);

/* (worker) The parts' finding and fed hooks, behind the job's. */
static void observe_parts(void *ud, const struct fw_finding *f)
{
    struct fwd *d = ud;
    for (size_t i = 0; i < d->n_parts; i++)
        if (d->parts[i].finding)
            d->parts[i].finding(d->parts[i].ud, f);
}

static void fed_parts(void *ud, const char *data, size_t len,
                      const char *label, int32_t today)
{
    struct fwd *d = ud;
    for (size_t i = 0; i < d->n_parts; i++)
        if (d->parts[i].fed)
            d->parts[i].fed(d->parts[i].ud, data, len, label, today);
}

/* The outbox lines of the job about to run. One buffer: a committed feed
 * waiting in d->tail holds it, and its lines are written (finish_tail, as
 * the next feed's engine starts: fw_job_env.started) before the next
 * feed's first finding is added to it. Two buffers, one a feed's lines
 * while the other waited, held 17 MB for feeds of 10,000 findings. */
static struct fw_buf *cur_lines(struct fwd *d)
{
    return &d->lines;
}

/* Empties the lines for the next job; a huge feed's are not kept. */
static void lines_reset(struct fw_buf *lines)
{
    if (lines->cap > (16u << 20))
        fw_buf_fini(lines);
    fw_buf_reset(lines);
}

static void job_env(struct fwd *d, struct fw_job_env *env)
{
    struct fw_buf *lines = cur_lines(d);
    if (!d->tail.pending) /* else finish_tail empties them */
        lines_reset(lines);
    *env = (struct fw_job_env){
        .st = d->st, .eng = d->eng, .map = d->map,
        .max_feed = d->cfg.max_feed, .today = fw_core_today(d),
        .spool = d->cfg.spool,
        .lines = lines,
        .pipe = d->pipe,
    };
    for (size_t i = 0; i < d->n_parts; i++)
        if (d->parts[i].finding || d->parts[i].fed) {
            env->observe = observe_parts;
            env->fed = fed_parts;
            env->hook_ud = d;
        }
}

static void append_outbox(struct fwd *d, const char *feed,
                          const struct fw_job_result *r,
                          const struct fw_buf *lines)
{
    if (d->in_tx && fw_outbox_append_reads(d->ob, r->events, r->first_seq,
                                           r->last_seq)) {
        d->outbox_due = true; /* read back once the feed's tx is over */
        return;
    }
    struct fw_error err = {0};
    uint64_t n = 0;
    if (fw_outbox_append(d->ob, d->st, lines, r->events, r->first_seq,
                         r->last_seq, &n, &err) < 0)
        log_error(d, "outbox", feed, &err);
    else if (n > 0)
        fw_log_debug("outbox", feed, "%llu findings appended",
                     (unsigned long long)n);
}


void fw_core_error(struct fwd *d, const char *fmt, ...)
{
    va_list ap;
    uv_mutex_lock(&d->mu);
    va_start(ap, fmt);
    vsnprintf(d->last_error, sizeof d->last_error, fmt, ap);
    va_end(ap);
    d->last_error_ms = fw_wall_ms();
    d->last_error_reload = false;
    uv_mutex_unlock(&d->mu);
}

void fw_core_clear_reload_error(struct fwd *d)
{
    uv_mutex_lock(&d->mu);
    if (d->last_error_reload) {
        d->last_error[0] = '\0';
        d->last_error_ms = 0;
        d->last_error_reload = false;
    }
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
        fw_core_error(d, "%s%s%s", e->place, e->place[0] ? ": " : "", e->msg);
}

void fw_core_flush_outbox(struct fwd *d, const char *feed)
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
    fw_core_tally(d, r);
    atomic_fetch_add(&d->records, r->records);
    atomic_fetch_add(&d->rejects, r->rejects);
    atomic_fetch_add(&d->events, r->events);
    atomic_fetch_add(&d->resolved, r->resolved);
    for (int k = 0; k < FW__FK_COUNT; k++)
        atomic_fetch_add(&d->findings[k], r->findings[k]);
}

/* (worker) Every part's `between` hook. */
static bool between(struct fwd *d, bool record)
{
    d->between_seen = atomic_load(&d->between_seq);
    bool did = false;
    for (size_t i = 0; i < d->n_parts; i++)
        if (d->parts[i].between && d->parts[i].between(d->parts[i].ud, record))
            did = true;
    return did;
}

/* ---- the jobs (worker thread) -------------------------------------------- */

/* (worker) The feed read ahead under name, or NULL. */
static struct fw_core_next *next_of(struct fwd *d, const char *name)
{
    for (int i = 0; i < 2; i++)
        if (d->next[i].ready && strcmp(d->next[i].a.label, name) == 0)
            return &d->next[i];
    return NULL;
}

/* (worker) Forgets a feed read ahead: its run if one was posted, its
 * bytes. */
static void drop_slot(struct fw_core_next *n)
{
    if (!n->ready)
        return;
    fw_job_ahead_cancel(&n->a);
    if (n->rc == 0)
        fw_job_input_fini(&n->a.in);
    n->ready = false;
}

/* (worker) Forgets every feed read ahead; the pipe's thread is idle. */
static void drop_next(struct fwd *d)
{
    for (int i = 0; i < 2; i++)
        drop_slot(&d->next[i]);
    if (d->pipe)
        fw_batch_pipe_wait(d->pipe);
}

/* (worker) Keeps what was read ahead, but no run posted goes on. */
static void cancel_next(struct fwd *d)
{
    for (int i = 0; i < 2; i++)
        if (d->next[i].ready && d->next[i].a.run) {
            fw_job_ahead_cancel(&d->next[i].a);
            fw_log_debug("spool", d->next[i].a.label, "its engine's run "
                         "ahead dropped: it runs again, after");
        }
}

/* (worker, env->ahead: while the pipe's thread runs a feed's engine) Reads
 * the feed after it, and posts it to run right after it when the drain
 * goes on to it and no part asked for between() meanwhile. */
static void read_ahead(void *ud, struct fw_job_run *run)
{
    struct fwd *d = ud;
    const char *name = d->ahead;
    d->ahead = NULL;
    if (name == NULL)
        return;
    struct fw_core_next *n = next_of(d, name);
    if (n == NULL) {
        n = d->next[0].ready ? &d->next[1] : &d->next[0];
        if (n->ready || strlen(name) >= sizeof n->a.label ||
            !fw_spool_path(d->cfg.spool, name, n->path, sizeof n->path))
            return;
        snprintf(n->a.label, sizeof n->a.label, "%s", name);
        n->rc = fw_job_read(n->path, name, d->cfg.max_feed, &n->a.in);
        n->ready = true;
    }
    if (n->rc == 0 && d->ahead_post && !atomic_load(&d->stopping) &&
        atomic_load(&d->between_seq) == d->between_seen &&
        fw_job_ahead_post(run, &n->a) == 1)
        fw_log_debug("spool", name, "its engine runs next, while the feed "
                     "before commits");
}

static void after_feed(struct fwd *d, const char *name, const char *path,
                       const struct fw_job_result *rp,
                       const struct fw_buf *lines);

/* A copy of a job's result whose tally points into its own names. */
static void keep_result(struct fw_job_result *dst,
                        const struct fw_job_result *src)
{
    memcpy(dst, src, sizeof *dst);
    for (size_t i = 0; i < dst->n_tally; i++) {
        struct fw_job_tally *t = &dst->tally[i];
        if (t->policy)
            t->policy = dst->names + (src->tally[i].policy - src->names);
        if (t->rule)
            t->rule = dst->names + (src->tally[i].rule - src->names);
    }
}

/* (worker) The feed waiting in d->tail, finished; none: nothing. Called as
 * the next feed's engine starts, and wherever feeds stop. */
static void finish_tail(void *ud)
{
    struct fwd *d = ud;
    if (!d->tail.pending)
        return;
    d->tail.pending = false;
    after_feed(d, d->tail.name, d->tail.path, &d->tail.r, d->tail.lines);
    lines_reset(d->tail.lines);
}

/* (worker, env->started) finish_tail inside the next feed's transaction:
 * the outbox is appended to only when its lines are all there. */
static void finish_tail_in_tx(void *ud)
{
    struct fwd *d = ud;
    d->in_tx = true;
    finish_tail(d);
    d->in_tx = false;
}

/* One feed of the spool; next (or NULL) is the one after it, read ahead
 * while this one runs (and maybe posted to run right after it). */
static void do_feed(struct fwd *d, const char *name, const char *next)
{
    char path[PATH_MAX];
    if (!fw_spool_path(d->cfg.spool, name, path, sizeof path)) {
        fw_log_error("spool", name, "path too long");
        drop_next(d);
        return;
    }
    struct fw_job_env env;
    job_env(d, &env);
    struct fw_job_result r;
    struct fw_job_input own;
    struct fw_core_next *n = next_of(d, name);
    for (int i = 0; i < 2; i++) /* read for another name: not wanted */
        if (&d->next[i] != n)
            drop_slot(&d->next[i]);
    int rc = n ? n->rc : fw_job_read(path, name, d->cfg.max_feed, &own);
    env.started = finish_tail_in_tx;
    env.started_ud = d;
    if (next && d->pipe) {
        env.ahead = read_ahead;
        env.ahead_ud = d;
    }
    d->ahead = next;
    if (rc == 0) {
        rc = n ? fw_job_ahead_feed(&env, &n->a, FW_SRC_SPOOL, &r)
               : fw_job_feed_input(&env, &own, name, FW_SRC_SPOOL, &r);
        fw_job_input_fini(n ? &n->a.in : &own);
    } else
        memset(&r, 0, sizeof r);
    if (n)
        n->ready = false;
    d->ahead = NULL;
    if (rc < 0 || r.outcome != FW_JOB_DONE)
        cancel_next(d); /* it ran on task dates this feed does not leave */
    finish_tail(d); /* when this feed's engine did not run */
    if (d->outbox_due) { /* the feed before's, held back: now */
        d->outbox_due = false;
        fw_core_flush_outbox(d, name);
    }
    atomic_fetch_add(&d->feed_nanos, r.nanos);
    if (rc < 0) {
        fw_log_error("spool", name, "out of memory; left in incoming/");
        fw_core_error(d, "%s: out of memory", name);
        d->drain_retry = true;
        return;
    }
    if (r.outcome == FW_JOB_RETRY) {
        if (access(path, F_OK) < 0) {
            fw_log_warn("spool", name, _("gone before it was read"));
            return;
        }
        fw_log_error("spool", name, _("%s; left in incoming/, will retry"),
                     r.reason);
        fw_core_error(d, "%s: %s", name, r.reason);
        atomic_fetch_add(&d->feeds_retry, 1);
        d->drain_retry = true;
        return;
    }
    if (r.outcome == FW_JOB_DONE && d->pipe) {
        /* its outbox lines, move and log wait until the next feed's engine
         * runs: the store has it all, a crash meanwhile repairs both */
        keep_result(&d->tail.r, &r);
        snprintf(d->tail.name, sizeof d->tail.name, "%s", name);
        snprintf(d->tail.path, sizeof d->tail.path, "%s", path);
        d->tail.lines = cur_lines(d);
        d->tail.pending = true;
        return;
    }
    after_feed(d, name, path, &r, cur_lines(d));
}

/* (worker) What is left of a committed feed: its outbox lines, the move to
 * done/ (or failed/), the counts and the log. */
static void after_feed(struct fwd *d, const char *name, const char *path,
                       const struct fw_job_result *rp,
                       const struct fw_buf *lines)
{
    char dest[PATH_MAX];
    if (rp->outcome == FW_JOB_DONE || rp->outcome == FW_JOB_UNMOVED)
        append_outbox(d, name, rp, lines);
    struct fw_error err = {0};
    bool ok = rp->outcome != FW_JOB_FAILED;
    struct stat sb;
    if (rp->ino && stat(path, &sb) == 0 &&
        ((uint64_t)sb.st_ino != rp->ino || (uint64_t)sb.st_dev != rp->dev)) {
        /* a new file of the same name was renamed in while this one was
         * read: the one read is gone already; the new one waits its turn */
        fw_log_warn("spool", name, _("replaced in incoming/ while it was read: "
                    "the new file is processed next"));
        d->drain_more = true;
    } else if (fw_spool_finish(d->cfg.spool, name, ok, rp->reason, dest, sizeof dest,
                        &err) < 0)
        log_error(d, "spool", name, &err);
    switch (rp->outcome) {
    case FW_JOB_DONE:
        atomic_fetch_add(&d->feeds_done, 1);
        count(d, rp);
        fw_log_info("spool", name,
                    _("%llu records, %llu rejects, %llu findings (%llu new, "
                    "%llu resolved), %llu policy errors in %.1f ms"),
                    (unsigned long long)rp->records,
                    (unsigned long long)rp->rejects,
                    (unsigned long long)fired(rp),
                    (unsigned long long)rp->events,
                    (unsigned long long)rp->resolved,
                    (unsigned long long)rp->findings[FW_FK_ERROR],
                    (double)rp->nanos / 1e6);
        if (rp->notes[0])
            fw_log_warn("spool", name, "%s", rp->notes);
        if (rp->unknown[0])
            fw_log_warn("spool", name, "unrecognised columns: %s", rp->unknown);
        break;
    case FW_JOB_DUPLICATE:
        atomic_fetch_add(&d->feeds_dup, 1);
        fw_log_warn("spool", name,
                    _("duplicate of feed #%lld (same sha256 %.12s…): not "
                    "processed again"), (long long)rp->dup_of, rp->sha256);
        break;
    case FW_JOB_FAILED:
        atomic_fetch_add(&d->feeds_failed, 1);
        fw_log_error("spool", name, _("failed: %s; moved to failed/"),
                     rp->reason);
        fw_core_error(d, "%s: %s", name, rp->reason);
        break;
    case FW_JOB_UNMOVED:
        atomic_fetch_add(&d->feeds_done, 1);
        fw_log_info("spool", name,
                    _("committed as feed #%lld before a restart, not yet "
                    "moved: moved to done/ now (not a duplicate)"),
                    (long long)rp->dup_of);
        break;
    case FW_JOB_RETRY:
        break;
    }
}

/* (worker) Keeps only what was read ahead for name (not posted), and
 * leaves the pipe's thread idle: `between` may swap the engine. */
static void drop_next_unless(struct fwd *d, const char *name)
{
    for (int i = 0; i < 2; i++) {
        if (d->next[i].ready && strcmp(d->next[i].a.label, name) != 0)
            drop_slot(&d->next[i]);
        else if (d->next[i].ready)
            fw_job_ahead_cancel(&d->next[i].a);
    }
    if (d->pipe)
        fw_batch_pipe_wait(d->pipe);
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
        struct fw_core_next *n = next_of(d, l.items[i].name);
        bool posted = n && n->a.run; /* its engine runs already */
        if (!posted &&
            (i == DRAIN_MAX_FEEDS || fw_mono_ns() - t0 > DRAIN_MAX_NS)) {
            d->drain_more = true; /* give the worker back; go on after */
            break;
        }
        atomic_store(&d->queue_len, l.n - i);
        atomic_store(&d->oldest_ms, l.items[i].mtime_ns / 1000000);
        if (!posted) {
            drop_next_unless(d, l.items[i].name);
            between(d, false); /* a new generation: between feeds */
        }
        /* the next may run right after this one if it is in this drain */
        d->ahead_post = i + 1 < l.n && i + 1 < DRAIN_MAX_FEEDS &&
                        fw_mono_ns() - t0 <= DRAIN_MAX_NS;
        do_feed(d, l.items[i].name,
                i + 1 < l.n ? l.items[i + 1].name : NULL);
        if (d->drain_retry)
            break; /* the store is failing: back off */
    }
    finish_tail(d);
    cancel_next(d); /* no run goes on past the drain */
    /* the feed read ahead is kept only for a drain that goes on at once */
    if (!d->drain_more || atomic_load(&d->stopping))
        drop_next(d);
    atomic_store(&d->queue_len, l.n - i);
    atomic_store(&d->oldest_ms, i < l.n ? l.items[i].mtime_ns / 1000000 : 0);
    fw_spool_list_fini(&l);
}

static void sched(struct fwd *d)
{
    struct fw_job_env env;
    job_env(d, &env);
    struct fw_job_result r;
    if (fw_job_recheck(&env, &r) < 0 || r.outcome != FW_JOB_DONE) {
        fw_log_error("sched", NULL, "scheduled checks failed: %s",
                     r.reason[0] ? r.reason : "out of memory");
        fw_core_error(d, "scheduled checks: %s", r.reason);
        return;
    }
    atomic_fetch_add(&d->sched_runs, 1);
    uint64_t tasks = r.records;
    r.records = 0; /* task records re-run, not records read */
    count(d, &r);
    r.records = tasks;
    append_outbox(d, NULL, &r, cur_lines(d));
    fw_log_info("sched", NULL,
                _("scheduled checks: %llu task records, %llu findings (%llu new, "
                "%llu resolved) in %.1f ms"),
                (unsigned long long)r.records, (unsigned long long)fired(&r),
                (unsigned long long)r.events, (unsigned long long)r.resolved,
                (double)r.nanos / 1e6);
}

int fw_core_feed_mem(struct fwd *d, const char *data, size_t len,
                     const char *name, struct fw_job_result *r)
{
    struct fw_job_env env;
    job_env(d, &env);
    int rc = fw_job_feed_mem(&env, data, len, name, FW_SRC_HTTP, r);
    atomic_fetch_add(&d->feed_nanos, r->nanos);
    if (rc < 0)
        return rc;
    if (r->outcome == FW_JOB_DONE) {
        append_outbox(d, name, r, cur_lines(d));
        atomic_fetch_add(&d->feeds_done, 1);
        count(d, r);
    } else if (r->outcome == FW_JOB_DUPLICATE) {
        atomic_fetch_add(&d->feeds_dup, 1);
    } else if (r->outcome == FW_JOB_FAILED) {
        atomic_fetch_add(&d->feeds_failed, 1);
    } else {
        atomic_fetch_add(&d->feeds_retry, 1);
    }
    return 0;
}

static void work_cb(uv_work_t *w)
{
    struct fwd *d = w->data;
    between(d, true);
    switch (d->job) {
    case FW_JOB_DRAIN:
        fw_core_flush_outbox(d, NULL); /* what a failed flush left behind */
        drain(d);
        break;
    case FW_JOB_SCHED:
        sched(d);
        break;
    case FW_JOB_QUEUED:
        for (struct fw_core_job *j = d->running; j; j = j->next)
            j->run(d, j);
        break;
    case FW_JOB_NONE:
        break;
    }
    between(d, true); /* record what was swapped in meanwhile */
}

/* ---- the loop ------------------------------------------------------------- */

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

/* Jobs queued and never run hear so (and are freed by their owner). */
static void refuse_queued(struct fwd *d)
{
    while (d->queue) {
        struct fw_core_job *j = d->queue;
        d->queue = j->next;
        j->done(d, j, false);
    }
}

/* Closes every handle of the core and stops every part: uv_run returns once
 * they are all closed. */
static void close_all(struct fwd *d)
{
    if (d->handles) {
        uv_handle_t *hs[] = {
            (uv_handle_t *)&d->sig_term, (uv_handle_t *)&d->sig_int,
            (uv_handle_t *)&d->sig_hup, (uv_handle_t *)&d->watch,
            (uv_handle_t *)&d->scan_timer, (uv_handle_t *)&d->sched_timer,
            (uv_handle_t *)&d->retry_timer, (uv_handle_t *)&d->wd_timer,
        };
        for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
            if (!uv_is_closing(hs[i]))
                uv_close(hs[i], close_cb);
    }
    refuse_queued(d);
    for (size_t i = 0; i < d->n_parts; i++)
        if (d->parts[i].stop)
            d->parts[i].stop(d->parts[i].ud);
}

static bool parts_busy(struct fwd *d)
{
    for (size_t i = 0; i < d->n_parts; i++)
        if (d->parts[i].busy && d->parts[i].busy(d->parts[i].ud))
            return true;
    return false;
}

void fw_core_part_idle(struct fwd *d)
{
    if (atomic_load(&d->stopping) && d->job == FW_JOB_NONE && !parts_busy(d))
        close_all(d);
}

void fw_core_abort(struct fwd *d)
{
    atomic_store(&d->stopping, true);
    close_all(d);
}

static void retry_cb(uv_timer_t *t)
{
    struct fwd *d = t->data;
    d->want_scan = true;
    fw_core_kick(d);
}

static void after_work(uv_work_t *w, int status)
{
    (void)status;
    struct fwd *d = w->data;
    enum fw_job_kind done = d->job;
    d->job = FW_JOB_NONE;
    fw_core_snapshot(d); /* the worker is idle: its figures can be read */
    for (size_t i = 0; i < d->n_parts; i++)
        if (d->parts[i].idle)
            d->parts[i].idle(d->parts[i].ud);
    if (done == FW_JOB_QUEUED) {
        struct fw_core_job *j = d->running;
        d->running = NULL;
        while (j) {
            struct fw_core_job *next = j->next;
            j->done(d, j, true);
            j = next;
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
        fw_core_part_idle(d);
        return;
    }
    fw_core_kick(d);
}

/* Starts the next job when the worker is free: queued jobs first (a client
 * waits), then a part's `between` or the scheduled checks, then the spool. */
void fw_core_kick(struct fwd *d)
{
    if (d->job != FW_JOB_NONE || atomic_load(&d->stopping))
        return;
    /* queued jobs first, a client waits; but never twice in a row while
     * the spool or the scheduled checks wait too */
    bool others = d->want_sched || d->want_scan || d->want_between;
    if (d->queue && !(d->last_was_queued && others)) {
        d->running = d->queue;
        d->queue = NULL;
        d->job = FW_JOB_QUEUED;
    } else if (d->want_sched) {
        d->want_sched = false;
        d->job = FW_JOB_SCHED;
    } else if (d->want_scan || d->want_between) {
        d->want_scan = d->want_between = false;
        d->job = FW_JOB_DRAIN;
    } else {
        return;
    }
    d->last_was_queued = d->job == FW_JOB_QUEUED;
    d->work.data = d;
    int rc = uv_queue_work(&d->loop, &d->work, work_cb, after_work);
    if (rc < 0) {
        fw_log_error("main", NULL, "cannot start work: %s", uv_strerror(rc));
        d->job = FW_JOB_NONE;
    }
}

void fw_core_want_between(struct fwd *d)
{
    atomic_fetch_add(&d->between_seq, 1); /* no feed is posted past it */
    d->want_between = true;
    fw_core_kick(d);
}

void fw_core_queue(struct fwd *d, struct fw_core_job *j)
{
    j->next = NULL;
    struct fw_core_job **tail = &d->queue;
    while (*tail)
        tail = &(*tail)->next;
    *tail = j;
    fw_core_kick(d);
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
    fw_core_kick(d);
}

static void scan_cb(uv_timer_t *t)
{
    struct fwd *d = t->data;
    d->want_scan = true;
    fw_core_kick(d);
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
    fw_core_kick(d);
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
        for (size_t i = 0; i < d->n_parts; i++)
            if (d->parts[i].hup)
                d->parts[i].hup(d->parts[i].ud);
        return;
    }
    if (atomic_load(&d->stopping)) {
        fw_log_info("main", NULL, "%s again: still finishing the current "
                    "feed", strsignal(signum));
        return;
    }
    atomic_store(&d->stopping, true);
    sd_notify(0, "STOPPING=1");
    if (d->job != FW_JOB_NONE || parts_busy(d)) {
        fw_log_info("main", NULL, "%s: finishing the current feed, then "
                    "stopping", strsignal(signum));
        return;
    }
    fw_log_info("main", NULL, "%s: stopping", strsignal(signum));
    close_all(d);
}

/* ---- start and stop --------------------------------------------------------- */

static int start_handles(struct fwd *d)
{
    int rc;
    d->handles = true;
    uv_signal_t *sigs[] = {&d->sig_term, &d->sig_int, &d->sig_hup};
    int nums[] = {SIGTERM, SIGINT, SIGHUP};
    uv_timer_t *timers[] = {&d->scan_timer, &d->sched_timer, &d->retry_timer,
                            &d->wd_timer};
    /* every handle is initialised before any starts: close_all closes all */
    for (int i = 0; i < 3; i++) {
        uv_signal_init(&d->loop, sigs[i]);
        sigs[i]->data = d;
    }
    for (int i = 0; i < 4; i++) {
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
    return 0;
}

int fw_core_open(struct fwd *d)
{
    struct fw_error err = {0};
    struct fw_diag diag;
    uv_mutex_init(&d->mu);
    d->started_ms = fw_wall_ms();
    uv_loop_init(&d->loop);
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
    fw_core_flush_outbox(d, NULL); /* level with the store after a crash */
    d->pipe = fw_batch_pipe_new();
    if (d->pipe == NULL)
        fw_log_warn("main", NULL, "no second thread: feeds are read, run "
                    "and stored on one");
    fw_diag_init(&diag);
    d->map = fw_columns_load(d->cfg.columns, &diag); /* NULL: built-in */
    if (d->map == NULL) {
        fw_log_diag(FW_LOG_ERROR, "main", &diag);
        fw_diag_fini(&diag);
        return FW_EINVAL;
    }
    fw_diag_fini(&diag);
    return 0;
io:
    log_error(NULL, "main", NULL, &err);
    return FW_EIO;
}

void fw_core_attach(struct fwd *d, const struct fw_core_part *p)
{
    if (d->n_parts < FW_CORE_MAX_PARTS)
        d->parts[d->n_parts++] = *p;
}

int fw_core_run(struct fwd *d)
{
    int rc = start_handles(d);
    if (rc < 0) {
        fw_log_error("main", NULL, "cannot start: %s", uv_strerror(rc));
        fw_core_abort(d);
        uv_run(&d->loop, UV_RUN_DEFAULT);
        return FW_EIO;
    }
    fw_core_snapshot(d);
    fw_log_info("main", NULL, "started: config %s, generation %.19s… "
                "(%zu policies), spool %s, database %s, outbox %s",
                d->cfg.file, fw_engine_version(d->eng),
                fw_engine_policy_count(d->eng), d->cfg.spool,
                d->cfg.database, d->cfg.outbox);
    sd_notifyf(0, "READY=1\nSTATUS=watching %s/incoming", d->cfg.spool);
    d->want_sched = true;
    d->want_scan = true;
    fw_core_kick(d);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    fw_log_info("main", NULL, "stopped: %llu feeds done, %llu failed, "
                "%llu duplicates; %llu records, %llu rejects, %llu new "
                "findings",
                (unsigned long long)atomic_load(&d->feeds_done),
                (unsigned long long)atomic_load(&d->feeds_failed),
                (unsigned long long)atomic_load(&d->feeds_dup),
                (unsigned long long)atomic_load(&d->records),
                (unsigned long long)atomic_load(&d->rejects),
                (unsigned long long)atomic_load(&d->events));
    return 0;
}

void fw_core_close(struct fwd *d, bool ran)
{
    /* a generation refused (or built) too late for a job: recorded now,
     * with its ops finding, before the store closes */
    if (ran)
        between(d, true);
    finish_tail(d);
    drop_next(d);
    fw_batch_pipe_free(d->pipe);
    d->pipe = NULL;
    uv_loop_close(&d->loop);
    fw_core_figures_fini(d);
    fw_buf_fini(&d->lines);
    fw_engine_free(d->eng);
    d->eng = NULL;
    fw_colmap_free(d->map);
    fw_outbox_close(d->ob);
    fw_store_close(d->ro);
    fw_store_close(d->st);
    fw_config_fini(&d->cfg);
    uv_mutex_destroy(&d->mu);
}
