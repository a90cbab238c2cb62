/* The running daemon's state, shared by its parts: cmd_run.c (start, the
 * loop, the job worker), reload.c (watching and rebuilding the policies) and
 * daemon_api.c (the HTTP API and metrics). Not a public interface.
 *
 * Threads. The libuv loop thread owns every handle, the HTTP API and the
 * fields marked (loop). One job at a time runs on the job worker: feeds,
 * scheduled checks, POST /feeds, and putting a new generation in place; it
 * alone uses the store's writing connection and the running engine
 * (worker). A reload builds and tests a new generation on a second pool
 * thread that touches neither. Fields used by several threads are atomics
 * or guarded by mu. */
#ifndef FUNDWATCH_DAEMON_DAEMON_H
#define FUNDWATCH_DAEMON_DAEMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "http/api.h"
#include "config.h"
#include "fundwatch/buf.h"
#include "fundwatch/engine.h"
#include "http/http.h"
#include "outbox.h"
#include "policyfs.h"
#include "store/store.h"

enum fw_job_kind { FW_JOB_NONE = 0, FW_JOB_DRAIN, FW_JOB_SCHED, FW_JOB_INGEST };

/* A POST /feeds waiting for, or done by, the worker. */
struct fw_ingest {
    struct fw_ingest *next;
    struct fw_http_conn *conn;
    char name[256];
    const char *body;      /* the request's: valid until it is answered */
    size_t len;
    int status;            /* the HTTP answer, once processed */
    struct fw_buf answer;  /* its JSON */
};

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

/* Per-policy figures copied from the engine when the worker is idle. */
struct fw_policy_snap {
    char *id, *path, *version;
    struct fw_policy_stats st;
};

struct fwd {
    uv_loop_t loop;
    struct fw_config cfg;
    struct fw_store *st;            /* (worker) the writing connection */
    struct fw_store *ro;            /* (loop) read-only, for the API */
    struct fw_outbox *ob;           /* (worker) */
    struct fw_colmap *map;          /* read-only once started */
    struct fw_engine *eng;          /* (worker) the running generation */
    bool fixed_now;
    int32_t now;                    /* --now: drills and tests */

    /* (loop) handles */
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_fs_event_t watch;
    uv_timer_t scan_timer, sched_timer, retry_timer, wd_timer, debounce;
    uv_work_t work, reload_work;
    struct fw_http_server *http;
    struct fw_api api;
    bool handles, http_closed;

    /* (loop) scheduling */
    enum fw_job_kind job;
    bool want_scan, want_sched, want_apply;
    uint64_t retry_ms;
    struct fw_ingest *ingest_q, *ingest_job;
    atomic_bool stopping;

    /* (loop) reloads: one at a time; another asked meanwhile runs next */
    bool reloading, reload_again;
    enum fw_store_trigger reload_trigger, next_trigger;
    struct fw_reload_result *reload_res;    /* the one being built */
    struct fw_http_conn **reload_waiters;   /* POST /reload answers */
    size_t n_waiters;
    struct fw_http_conn **next_waiters;     /* asked during a reload: they
                                               get the next one's result */
    size_t n_next_waiters;
    uint64_t ingest_bytes;                  /* bodies queued for POST /feeds */
    bool last_was_ingest;
    uv_fs_event_t **pwatch;                 /* one per policies folder */
    size_t n_pwatch;
    struct {
        bool ok, done;
        int64_t at_ms;
        uint64_t nanos;
        char version[80];
        char error[1024];
    } last_reload;
    uint64_t reloads_ok, reloads_failed;
    char running_version[80];               /* the generation in place */
    uint64_t generation_seq;                /* 1 at start, +1 per swap */

    /* (worker → loop) under mu */
    uv_mutex_t mu;
    struct fw_reload_result *pending;       /* to put in place or record */
    struct fw_engine **retired_eng;         /* replaced: to free off the
                                               worker */
    size_t n_retired_eng;
    uv_work_t free_work;
    bool freeing;
    char last_error[1024];
    int64_t last_error_ms;

    /* (worker) the job's own state */
    bool drain_retry, drain_more;
    struct fw_reload_result *to_record;     /* swapped in, not yet stored */
    struct fw_buf lines;            /* a feed's outbox lines */

    /* (loop) what the API shows of the running generation, refreshed
     * whenever the worker is idle */
    struct fw_policy_snap *snap;
    size_t n_snap;
    struct fw_buf policies_json;
    struct fw_store_counts counts;          /* the store's, at the snapshot */
    bool have_counts;

    /* (worker → loop) under mu: findings fired by policy, rule, kind and
     * level; per-policy figures of the generations no longer running */
    struct fw_tally { char *policy, *rule; int kind, level; uint64_t n; }
        *tally;
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

/* cmd_run.c */
void fw__d_kick(struct fwd *d);
/* (loop) closes every handle: uv_run returns once they are closed */
void fw__d_shutdown(struct fwd *d);
void fw__d_error(struct fwd *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fw__d_flush_outbox(struct fwd *d, const char *feed);
/* (worker) a job environment whose findings' lines go to d->lines */
struct fw_job_env;
void fw__d_job_env(struct fwd *d, struct fw_job_env *env);
/* (worker) after a commit: the job's lines to the outbox */
struct fw_job_result;
void fw__d_append_outbox(struct fwd *d, const char *feed,
                         const struct fw_job_result *r);

/* reload.c */
int fw__d_watch_policies(struct fwd *d);
void fw__d_unwatch_policies(struct fwd *d);
void fw__d_reload(struct fwd *d, enum fw_store_trigger why);
/* (worker) puts a pending generation in place; with record, also writes
 * the generations put in place or refused since the last time to the store
 * (history, ops findings, outbox), which waits until no feed is between
 * two records. True when something was done. */
bool fw__d_apply_pending(struct fwd *d, bool record);
/* (loop, worker idle) copies the running generation's figures for the API. */
void fw__d_snapshot(struct fwd *d);
void fw__d_reload_fini(struct fwd *d);
void fw__d_result_free(struct fw_reload_result *r);
/* (loop) frees replaced generations on a pool thread */
void fw__d_free_retired(struct fwd *d);
/* (pool) the sha256 of each file of r's tree into r->sums */
void fw__d_result_sums(struct fw_reload_result *r);

/* daemon_api.c */
int fw__d_http_start(struct fwd *d);
/* (worker) an ingest job; (loop) its answer */
void fw__d_ingest_run(struct fwd *d, struct fw_ingest *in);
void fw__d_ingest_answer(struct fwd *d, struct fw_ingest *in);
void fw__d_reload_answer(struct fwd *d);
/* (loop) at shutdown: 503 to every POST still waiting */
void fw__d_api_refuse_waiting(struct fwd *d);
/* (loop, worker idle) folds swapped-out generations' figures in */
void fw__d_fold_retired(struct fwd *d);
/* (worker) adds a job's tally under mu */
struct fw_job_result;
void fw__d_tally(struct fwd *d, const struct fw_job_result *r);
/* (worker) keeps the figures of a generation about to be freed */
void fw__d_retire(struct fwd *d, const struct fw_engine *old);
void fw__d_api_fini(struct fwd *d);

#endif
