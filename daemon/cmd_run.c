/* fundwatch run: the daemon. The libuv loop owns signals, the spool watch,
 * timers and systemd notification; all work on feeds, scheduled checks and
 * reloads happens on one worker thread, one job at a time, so the engine and
 * the store are never used by two threads at once and the loop stays free.
 * Startup errors are fatal; everything after start is logged and survived. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "cmdutil.h"
#include "fundwatch/buf.h"
#include "config.h"
#include "feedio.h"
#include "feedjob.h"
#include "log.h"
#include "outbox.h"
#include "policyfs.h"
#include "spool.h"
#include "store.h"

enum job_kind { JOB_NONE = 0, JOB_DRAIN, JOB_SCHED, JOB_RELOAD };

struct fwd {
    uv_loop_t loop;
    struct fw_config cfg;
    struct fw_store *st;
    struct fw_outbox *ob;
    struct fw_colmap *map;
    struct fw_engine *eng;        /* the running generation */
    bool fixed_now;
    int32_t now;                  /* --now, for drills and tests */

    uv_signal_t sig_term, sig_int, sig_hup;
    uv_fs_event_t watch;
    uv_timer_t scan_timer, sched_timer, retry_timer, wd_timer;
    uv_work_t work;

    enum job_kind job;            /* in the worker, or JOB_NONE */
    bool want_scan, want_sched, want_reload;
    enum fw_store_trigger reload_trigger;
    atomic_bool stopping;         /* read by the worker between feeds */
    bool handles;                 /* the loop's handles were initialised */
    uint64_t retry_ms;            /* backoff after a store failure */
    bool drain_retry;             /* the last drain left feeds to retry */

    /* a reload's result, handed from the worker to the loop */
    struct fw_engine *new_eng;
    struct fw_diag reload_diag;
    uint64_t reload_ns;

    /* counters since start */
    uint64_t feeds_done, feeds_failed, feeds_dup, records, rejects, events;
};

/* ---- small helpers ------------------------------------------------------- */

static int32_t today(const struct fwd *d)
{
    return d->fixed_now ? d->now : fw_cmd_today();
}

static struct fw_job_env job_env(const struct fwd *d)
{
    return (struct fw_job_env){
        .st = d->st, .eng = d->eng, .map = d->map,
        .max_feed = d->cfg.max_feed, .today = today(d),
    };
}

static void log_error(const char *subsys, const char *feed,
                      const struct fw_error *e)
{
    if (e->place[0])
        fw_log_error(subsys, feed, "%s: %s", e->place, e->msg);
    else
        fw_log_error(subsys, feed, "%s", e->msg);
}

static void flush_outbox(struct fwd *d, const char *feed)
{
    struct fw_error err = {0};
    uint64_t n = 0;
    if (fw_outbox_flush(d->ob, d->st, &n, &err) < 0)
        log_error("outbox", feed, &err);
    else if (n > 0)
        fw_log_debug("outbox", feed, "%llu findings appended",
                     (unsigned long long)n);
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Records a generation (built or refused) in the store, with its files. */
static void record_generation(struct fwd *d, const struct fw_policy_tree *t,
                              const char *version, bool ok,
                              const struct fw_diag *why,
                              enum fw_store_trigger trig)
{
    struct fw_store_gen_file *files = calloc(t->n ? t->n : 1, sizeof *files);
    char (*hex)[65] = calloc(t->n ? t->n : 1, sizeof *hex);
    struct fw_buf err_text = FW_BUF_INIT;
    if (files == NULL || hex == NULL)
        goto out;
    for (size_t i = 0; i < t->n; i++) {
        sha256_hex(t->files[i].data, t->files[i].len, hex[i]);
        files[i] = (struct fw_store_gen_file){t->files[i].path, hex[i]};
    }
    for (size_t i = 0; why && i < why->n; i++)
        fw_buf_printf(&err_text, "%s%s", i ? "\n" : "", why->items[i]);
    struct fw_store_generation g = {
        .version = version, .loaded_ms = (int64_t)time(NULL) * 1000,
        .trigger = trig, .ok = ok, .error = err_text.p,
        .files = files, .n_files = t->n,
    };
    struct fw_error err = {0};
    if (fw_store_generation_add(d->st, &g, NULL, &err) < 0)
        log_error("store", NULL, &err);
out:
    fw_buf_fini(&err_text);
    free(files);
    free(hex);
}

/* Reads the policies folder and builds a generation; NULL with every problem
 * in diag when it does not build. */
static struct fw_engine *build(struct fwd *d, enum fw_store_trigger trig,
                               struct fw_diag *diag)
{
    struct fw_policy_tree t;
    struct fw_engine *e = NULL;
    if (fw_policy_tree_read(d->cfg.policies, &t, diag) == 0)
        e = fw_engine_build(t.files, t.n, &d->cfg.engine, diag);
    record_generation(d, &t, e ? fw_engine_version(e) : "", e != NULL,
                      e ? NULL : diag, trig);
    fw_policy_tree_fini(&t);
    return e;
}

/* ---- the jobs (worker thread) -------------------------------------------- */

static void do_feed(struct fwd *d, const char *name)
{
    char path[PATH_MAX], dest[PATH_MAX];
    if (!fw_spool_path(d->cfg.spool, name, path, sizeof path)) {
        fw_log_error("spool", name, "path too long");
        return;
    }
    struct fw_job_env env = job_env(d);
    struct fw_job_result r;
    int rc = fw_job_feed_file(&env, path, name, FW_SRC_SPOOL, &r);
    if (rc < 0) {
        fw_log_error("spool", name, "out of memory; left in incoming/");
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
        d->drain_retry = true;
        return;
    }
    if (r.outcome == FW_JOB_DONE)
        flush_outbox(d, name);
    struct fw_error err = {0};
    bool ok = r.outcome != FW_JOB_FAILED;
    if (fw_spool_finish(d->cfg.spool, name, ok, r.reason, dest, sizeof dest,
                        &err) < 0) {
        log_error("spool", name, &err);
        dest[0] = '\0';
    }
    double ms = (double)r.nanos / 1e6;
    switch (r.outcome) {
    case FW_JOB_DONE:
        d->feeds_done++;
        d->records += r.records;
        d->rejects += r.rejects;
        d->events += r.events;
        fw_log_info("spool", name,
                    "%llu records, %llu rejects, %llu findings (%llu new, "
                    "%llu resolved), %llu policy errors in %.1f ms",
                    (unsigned long long)r.records,
                    (unsigned long long)r.rejects,
                    (unsigned long long)(r.findings[FW_FK_ALERT] +
                                         r.findings[FW_FK_CLAWBACK] +
                                         r.findings[FW_FK_SCORE] +
                                         r.findings[FW_FK_ERROR]),
                    (unsigned long long)r.events,
                    (unsigned long long)r.resolved,
                    (unsigned long long)r.findings[FW_FK_ERROR], ms);
        break;
    case FW_JOB_DUPLICATE:
        d->feeds_dup++;
        fw_log_warn("spool", name,
                    "duplicate of feed #%lld (same sha256 %.12s…): not "
                    "processed again", (long long)r.dup_of, r.sha256);
        break;
    case FW_JOB_FAILED:
        d->feeds_failed++;
        fw_log_error("spool", name, "failed: %s; moved to failed/",
                     r.reason);
        break;
    case FW_JOB_RETRY:
        break;
    }
}

static void drain(struct fwd *d)
{
    struct fw_spool_list l = {0};
    struct fw_error err = {0};
    d->drain_retry = false;
    flush_outbox(d, NULL); /* what an earlier failed flush left behind */
    if (fw_spool_scan(d->cfg.spool, &l, &err) < 0) {
        log_error("spool", NULL, &err);
        d->drain_retry = true;
        return;
    }
    if (l.n > 1)
        fw_log_debug("spool", NULL, "%zu feeds waiting", l.n);
    for (size_t i = 0; i < l.n && !atomic_load(&d->stopping); i++) {
        do_feed(d, l.items[i].name);
        if (d->drain_retry)
            break; /* the store is failing: back off */
    }
    fw_spool_list_fini(&l);
}

static void sched(struct fwd *d)
{
    struct fw_job_env env = job_env(d);
    struct fw_job_result r;
    if (fw_job_recheck(&env, &r) < 0 || r.outcome != FW_JOB_DONE) {
        fw_log_error("sched", NULL, "scheduled checks failed: %s",
                     r.reason[0] ? r.reason : "out of memory");
        return;
    }
    flush_outbox(d, NULL);
    fw_log_info("sched", NULL,
                "scheduled checks: %llu task records, %llu findings (%llu new, "
                "%llu resolved) in %.1f ms",
                (unsigned long long)r.records,
                (unsigned long long)(r.findings[FW_FK_ALERT] +
                                     r.findings[FW_FK_ERROR]),
                (unsigned long long)r.events, (unsigned long long)r.resolved,
                (double)r.nanos / 1e6);
}

static void work_cb(uv_work_t *w)
{
    struct fwd *d = w->data;
    switch (d->job) {
    case JOB_DRAIN:
        drain(d);
        break;
    case JOB_SCHED:
        sched(d);
        break;
    case JOB_RELOAD: {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        d->new_eng = build(d, d->reload_trigger, &d->reload_diag);
        clock_gettime(CLOCK_MONOTONIC, &b);
        d->reload_ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u +
                       (uint64_t)(b.tv_nsec - a.tv_nsec);
        break;
    }
    case JOB_NONE:
        break;
    }
}

/* ---- the loop ------------------------------------------------------------- */

static void kick(struct fwd *d);

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

static void shutdown_loop(struct fwd *d)
{
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

static void retry_cb(uv_timer_t *t)
{
    struct fwd *d = t->data;
    d->want_scan = true;
    kick(d);
}

static void after_work(uv_work_t *w, int status)
{
    (void)status;
    struct fwd *d = w->data;
    enum job_kind done = d->job;
    d->job = JOB_NONE;
    if (done == JOB_RELOAD) {
        if (d->new_eng) {
            fw_engine_free(d->eng);
            d->eng = d->new_eng;
            d->new_eng = NULL;
            fw_log_info("reload", NULL, "generation %.19s… running (%zu "
                        "policies), built in %.1f ms", fw_engine_version(d->eng),
                        fw_engine_policy_count(d->eng),
                        (double)d->reload_ns / 1e6);
        } else {
            fw_log_error("reload", NULL, "refused: %zu problems; the running "
                         "generation %.19s… stays", d->reload_diag.n,
                         fw_engine_version(d->eng));
            fw_log_diag(FW_LOG_ERROR, "reload", &d->reload_diag);
        }
        fw_diag_fini(&d->reload_diag);
    }
    if (done == JOB_DRAIN) {
        if (d->drain_retry && !atomic_load(&d->stopping)) {
            /* the store or the disk failed: try again later, backing off
             * from 1 s up to the scan interval */
            d->retry_ms = d->retry_ms ? 2 * d->retry_ms : 1000;
            if (d->retry_ms > d->cfg.scan_interval_ms)
                d->retry_ms = d->cfg.scan_interval_ms;
            uv_timer_start(&d->retry_timer, retry_cb, d->retry_ms, 0);
        } else if (!d->drain_retry) {
            d->retry_ms = 0;
        }
    }
    if (atomic_load(&d->stopping)) {
        shutdown_loop(d);
        return;
    }
    kick(d);
}

/* Starts the next job when the worker is free: a reload first (between two
 * feeds), then scheduled checks, then the spool. */
static void kick(struct fwd *d)
{
    if (d->job != JOB_NONE || atomic_load(&d->stopping))
        return;
    if (d->want_reload) {
        d->want_reload = false;
        d->job = JOB_RELOAD;
        fw_diag_init(&d->reload_diag);
    } else if (d->want_sched) {
        d->want_sched = false;
        d->job = JOB_SCHED;
    } else if (d->want_scan) {
        d->want_scan = false;
        d->job = JOB_DRAIN;
    } else {
        return;
    }
    d->work.data = d;
    int rc = uv_queue_work(&d->loop, &d->work, work_cb, after_work);
    if (rc < 0) {
        fw_log_error("main", NULL, "cannot start work: %s", uv_strerror(rc));
        d->job = JOB_NONE;
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
    kick(d);
}

static void scan_cb(uv_timer_t *t)
{
    struct fwd *d = t->data;
    d->want_scan = true;
    kick(d);
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
    kick(d);
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
        d->want_reload = true;
        d->reload_trigger = FW_TRIG_SIGHUP;
        kick(d);
        return;
    }
    if (atomic_load(&d->stopping)) {
        fw_log_info("main", NULL, "%s again: still finishing the current "
                    "feed", strsignal(signum));
        return;
    }
    atomic_store(&d->stopping, true);
    sd_notify(0, "STOPPING=1");
    if (d->job != JOB_NONE) {
        fw_log_info("main", NULL, "%s: finishing the current feed, then "
                    "stopping", strsignal(signum));
        return;
    }
    fw_log_info("main", NULL, "%s: stopping", strsignal(signum));
    shutdown_loop(d);
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
    "deadlines) at start and daily. One line per event on stderr.\n"
    "\n"
    "  -c, --config FILE  the config file (default: fundwatch.yaml)\n"
    "  -n, --now DATE     a fixed clock instead of today (drills and tests)\n"
    "  -h, --help         this text\n"
    "\n"
    "Signals: SIGTERM or SIGINT finish the current feed, commit and exit 0;\n"
    "SIGHUP reloads the policies (a broken edit keeps the running ones).\n"
    "Exit status: 0 stopped by a signal; 1 the config or the policies have\n"
    "problems (each printed as file:line: message); 2 usage, or the store,\n"
    "spool or outbox cannot be opened.\n";

static int start_handles(struct fwd *d)
{
    int rc;
    d->handles = true;
    uv_signal_t *sigs[] = {&d->sig_term, &d->sig_int, &d->sig_hup};
    int nums[] = {SIGTERM, SIGINT, SIGHUP};
    uv_timer_t *timers[] = {&d->scan_timer, &d->sched_timer, &d->retry_timer,
                            &d->wd_timer};
    /* every handle is initialised before any starts: shutdown closes all */
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

static int open_all(struct fwd *d)
{
    struct fw_error err = {0};
    struct fw_diag diag;
    if (fw_spool_init(d->cfg.spool, &err) < 0)
        goto io;
    struct fw_store_opts so = {0};
    if (fw_store_open(d->cfg.database, &so, &d->st, &err) < 0)
        goto io;
    if (fw_outbox_open(d->cfg.outbox, d->st, &d->ob, &err) < 0)
        goto io;
    flush_outbox(d, NULL); /* level with the store after a crash */
    fw_diag_init(&diag);
    d->map = fw_columns_load(d->cfg.columns, &diag);
    if (d->map == NULL) {
        fw_log_diag(FW_LOG_ERROR, "main", &diag);
        fw_diag_fini(&diag);
        return FW_EXIT_PROBLEMS;
    }
    d->eng = build(d, FW_TRIG_START, &diag);
    if (d->eng == NULL) {
        fw_log_error("main", NULL, "the policies in %s do not build (%zu "
                     "problems):", d->cfg.policies, diag.n);
        fw_log_diag(FW_LOG_ERROR, "main", &diag);
        fw_diag_fini(&diag);
        return FW_EXIT_PROBLEMS;
    }
    fw_diag_fini(&diag);
    return 0;
io:
    log_error("main", NULL, &err);
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
    const char *conf = "fundwatch.yaml";
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

    fw_log_init(-1, -1);
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

    uv_loop_init(&d->loop);
    status = open_all(d);
    if (status == 0 && (rc = start_handles(d)) < 0) {
        fw_log_error("main", NULL, "cannot start: %s", uv_strerror(rc));
        status = FW_EXIT_USAGE;
    }
    if (status == 0) {
        fw_log_info("main", NULL, "started: config %s, generation %.19s… "
                    "(%zu policies), spool %s, database %s, outbox %s",
                    d->cfg.file, fw_engine_version(d->eng),
                    fw_engine_policy_count(d->eng), d->cfg.spool,
                    d->cfg.database, d->cfg.outbox);
        sd_notifyf(0, "READY=1\nSTATUS=watching %s/incoming", d->cfg.spool);
        d->want_sched = true;
        d->want_scan = true;
        kick(d);
    } else if (d->handles) {
        shutdown_loop(d);
    }
    uv_run(&d->loop, UV_RUN_DEFAULT);
    if (status == 0)
        fw_log_info("main", NULL, "stopped: %llu feeds done, %llu failed, "
                    "%llu duplicates; %llu records, %llu rejects, %llu new "
                    "findings", (unsigned long long)d->feeds_done,
                    (unsigned long long)d->feeds_failed,
                    (unsigned long long)d->feeds_dup,
                    (unsigned long long)d->records,
                    (unsigned long long)d->rejects,
                    (unsigned long long)d->events);
    uv_loop_close(&d->loop);
    fw_engine_free(d->eng);
    fw_colmap_free(d->map);
    fw_outbox_close(d->ob);
    fw_store_close(d->st);
    fw_config_fini(&d->cfg);
    free(d);
    return status;
}
