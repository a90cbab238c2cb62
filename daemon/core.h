/* The service core: the daemon's state, its libuv loop and its one job
 * worker (loop.c), and the figures it keeps for health and metrics
 * (figures.c). Everything else of the running daemon is a part attached to
 * the core: reload.c (rebuilding the policies) and the HTTP API in http/.
 * Parts call the core through this header; the core calls a part only
 * through the hooks the part attached, never by name.
 *
 * Threads. The libuv loop thread owns every handle and the fields marked
 * (loop). One job at a time runs on the job worker: feeds, scheduled checks,
 * queued jobs (POST /feeds), and the parts' `between` hooks; it alone uses
 * the store's writing connection and the running engine (worker). Parts may
 * run work of their own on the loop's pool (a reload builds there) as long
 * as it touches neither. Fields used by several threads are atomics or
 * guarded by mu. */
#ifndef FUNDWATCH_DAEMON_CORE_H
#define FUNDWATCH_DAEMON_CORE_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "feedjob.h"
#include "fundwatch/buf.h"
#include "fundwatch/engine.h"
#include "log.h"
#include "outbox.h"
#include "store/store.h"
#include "sys.h"

struct fwd;

/* A part of the daemon beside the core. Every hook may be NULL; ud is
 * handed back to each. */
struct fw_core_part {
    const char *name;
    void *ud;
    /* (worker) at the start and the end of every job (record = true) and
     * between two feeds (record = false: feeds wait, do only what must be
     * done before the next one). True when something was done. */
    bool (*between)(void *ud, bool record);
    /* (loop) the worker has just become idle. */
    void (*idle)(void *ud);
    /* (loop) SIGHUP. */
    void (*hup)(void *ud);
    /* (loop) the daemon stops: close the part's handles, answer whoever
     * waits. May be called more than once. */
    void (*stop)(void *ud);
    /* (loop) true while the part has work on a pool thread that the core
     * must let finish before it closes the loop; the part calls
     * fw_core_part_idle() when that work ends. */
    bool (*busy)(void *ud);
    /* (worker) NULL as a feed starts, then each finding the live
     * generation stored; then fed once the feed is committed, with its
     * bytes. */
    void (*finding)(void *ud, const struct fw_finding *f);
    void (*fed)(void *ud, const char *data, size_t len, const char *label,
                int32_t today);
};
#define FW_CORE_MAX_PARTS 8

/* A job queued from outside the spool (POST /feeds). The core runs `run` on
 * the worker, then calls `done` on the loop; a job still queued when the
 * daemon stops gets `done` with ran = false. `done` owns the job. */
struct fw_core_job {
    struct fw_core_job *next;
    void (*run)(struct fwd *d, struct fw_core_job *j);
    void (*done)(struct fwd *d, struct fw_core_job *j, bool ran);
};

/* Per-policy figures, copied from the engine when the worker is idle. */
struct fw_policy_snap {
    char *id, *path, *version;
    struct fw_policy_stats st;
};

/* Findings fired, by policy, rule, kind and level (the metrics). */
struct fw_tally {
    char *policy, *rule;
    int kind, level;
    uint64_t n;
};

/* The last reload, as health and metrics show it (loop). */
struct fw_last_reload {
    bool ok, done;
    int64_t at_ms;
    uint64_t nanos;
    char version[80];
    char error[1024];               /* the current failure; a good reload
                                       clears it */
    int64_t failed_at_ms;           /* the last failure, kept after a good */
    char failure[1024];             /* reload (0 and "": none yet) */
};

enum fw_job_kind { FW_JOB_NONE = 0, FW_JOB_DRAIN, FW_JOB_SCHED, FW_JOB_QUEUED };

struct fwd {
    uv_loop_t loop;
    struct fw_config cfg;
    struct fw_store *st;            /* (worker) the writing connection */
    struct fw_store *ro;            /* (loop) read-only, for the API */
    struct fw_outbox *ob;           /* (worker) */
    struct fw_colmap *map;          /* read-only once started */
    struct fw_engine *eng;          /* (worker) the running generation; a
                                       reload swaps it in `between` */
    bool fixed_now;
    int32_t now;                    /* --now: drills and tests */

    struct fw_core_part parts[FW_CORE_MAX_PARTS];
    size_t n_parts;

    /* (loop) handles */
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_fs_event_t watch;
    uv_timer_t scan_timer, sched_timer, retry_timer, wd_timer;
    uv_work_t work;
    bool handles, closed;

    /* (loop) scheduling */
    enum fw_job_kind job;
    bool want_scan, want_sched, want_between;
    uint64_t retry_ms;
    struct fw_core_job *queue, *running;    /* queued jobs, the batch run */
    bool last_was_queued;
    atomic_bool stopping;

    /* (loop) what the API shows; reload.c keeps these up to date */
    struct fw_last_reload last_reload;
    uint64_t reloads_ok, reloads_failed;
    bool reloading;
    char running_version[80];               /* the generation in place */
    uint64_t generation_seq;                /* 1 at start, +1 per swap */

    /* under mu */
    uv_mutex_t mu;
    char last_error[1024];
    int64_t last_error_ms;
    bool last_error_reload;         /* last_error is a refused reload's */

    /* (worker) the job's own state */
    bool drain_retry, drain_more;
    struct fw_buf lines;            /* a feed's outbox lines: the one
                                       waiting in tail's until they are
                                       written, then the next feed's */
    bool in_tx;                     /* a feed's transaction is open */
    bool outbox_due;                /* events committed that the outbox
                                       reads back once none is */
    struct fw_core_tail {           /* a feed committed whose outbox lines,
                                       move to done/ and log wait until the
                                       next feed's engine runs */
        bool pending;
        char name[256];
        char path[PATH_MAX];
        struct fw_buf *lines;
        struct fw_job_result r;
    } tail;
    struct fw_batch_pipe *pipe;     /* the reader and the engine run on its
                                       thread while the worker stores
                                       (NULL: all on the worker) */
    struct fw_core_next {           /* the next feed of the spool, read
                                       while the one before runs, maybe
                                       posted to run right after it; two:
                                       one runs while the next is read */
        char path[PATH_MAX];
        int rc;
        bool ready;
        struct fw_job_ahead a;      /* its input, name and run */
    } next[2];
    const char *ahead;              /* the feed after the one running, to
                                       read ahead (or NULL) */
    bool ahead_post;                /* ... and to post: it runs in this
                                       drain whatever the time */
    atomic_uint between_seq;        /* fw_core_want_between calls */
    unsigned between_seen;          /* ... as between() last ran: a feed
                                       is posted only when no part asked
                                       for between() since (a feed posted
                                       runs on the generation in place) */

    /* (loop) the running generation's figures, refreshed whenever the
     * worker is idle (fw_core_snapshot) */
    struct fw_policy_snap *snap;
    size_t n_snap;
    struct fw_buf policies_json;
    struct fw_store_counts counts;          /* the store's, at the snapshot */
    bool have_counts;

    /* (worker → loop) under mu: the tally; per-policy figures of the
     * generations no longer running */
    struct fw_tally *tally;
    size_t n_tally, cap_tally;
    struct fw_policy_snap *retired;         /* (loop) folded in */
    size_t n_retired;
    struct fw_policy_snap *retiring;        /* (worker) swapped out, to be
                                               folded in at the snapshot */
    size_t n_retiring;

    /* counters: written by the worker, read by the loop */
    atomic_uint_fast64_t feeds_done, feeds_failed, feeds_dup, feeds_retry;
    atomic_uint_fast64_t records, rejects, events, resolved;
    atomic_uint_fast64_t findings[FW__FK_COUNT];
    atomic_uint_fast64_t sched_runs;
    atomic_uint_fast64_t queue_len;         /* feeds waiting in incoming/ */
    atomic_int_fast64_t oldest_ms;          /* mtime of the oldest, or 0 */
    atomic_uint_fast64_t feed_nanos;        /* time spent on feeds */
    int64_t started_ms;
};

/* ---- life (loop.c): fw_core_open, attach parts, fw_core_run, close ------ */

/* Takes the config (moved into d), opens the spool, the store, the outbox
 * and the column map. Returns 0, FW_EINVAL (the column map has problems)
 * or FW_EIO (a file or folder cannot be opened), with the reason logged. */
int fw_core_open(struct fwd *d);
/* Adds a part; at most FW_CORE_MAX_PARTS. */
void fw_core_attach(struct fwd *d, const struct fw_core_part *p);
/* Starts the handles and runs the loop until a signal stops the daemon and
 * every part is done. d->eng must be in place. Returns 0, or FW_EIO when
 * the handles could not start. */
int fw_core_run(struct fwd *d);
/* (loop) Ends the loop early, before fw_core_run returns: a part could not
 * start. Closes every handle started so far. */
void fw_core_abort(struct fwd *d);
/* After fw_core_run: the parts' last `between` (what was built or refused
 * too late for a job is recorded), then the store, outbox and engine
 * closed. d itself is the caller's. */
void fw_core_close(struct fwd *d, bool ran);

/* ---- for parts (loop thread unless marked) ------------------------------- */

/* Starts the next job when the worker is free. */
void fw_core_kick(struct fwd *d);
/* Asks for a job so that the parts' `between` hooks run soon. */
void fw_core_want_between(struct fwd *d);
/* Queues a job; the core owns it until `done`. */
void fw_core_queue(struct fwd *d, struct fw_core_job *j);
/* A part's pool work ended: when the daemon stops and nothing else runs,
 * the loop closes now. */
void fw_core_part_idle(struct fwd *d);
/* Today as the rules see it: --now, or the local date. */
int32_t fw_core_today(const struct fwd *d);
/* The last error, for /healthz (any thread). */
void fw_core_error(struct fwd *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* (loop) A good reload: clears last_error when a refused reload set it. */
void fw_core_clear_reload_error(struct fwd *d);
/* (worker) Appends what the store committed and the outbox lacks. */
void fw_core_flush_outbox(struct fwd *d, const char *feed);
/* (worker) One feed from memory through the engine, the store and the
 * outbox, counted as the spool's feeds are. Returns fw_job_feed_mem's. */
int fw_core_feed_mem(struct fwd *d, const char *data, size_t len,
                     const char *name, struct fw_job_result *r);

/* ---- figures (figures.c) -------------------------------------------------- */

/* (worker) Adds a job's findings to the tally, under mu. */
void fw_core_tally(struct fwd *d, const struct fw_job_result *r);
/* (worker) Keeps the figures of a generation about to be swapped out. */
void fw_core_retire(struct fwd *d, const struct fw_engine *old);
/* (loop, worker idle) Copies the running generation's figures for the API,
 * folding in those of generations swapped out since the last time. */
void fw_core_snapshot(struct fwd *d);
/* a += b */
void fw_policy_stats_add(struct fw_policy_stats *a,
                         const struct fw_policy_stats *b);
/* Frees the figures. */
void fw_core_figures_fini(struct fwd *d);

#endif
