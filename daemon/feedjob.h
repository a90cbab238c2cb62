/* One feed through the reader, the running generation and the store, in one
 * transaction: its findings (with their open/resolved state), rejects, task
 * records and its feed row are committed together or not at all. Also the
 * scheduled checks over the stored task records. No libuv: the daemon's
 * worker thread calls these, one at a time, and so does POST /feeds. */
#ifndef FUNDWATCH_DAEMON_FEEDJOB_H
#define FUNDWATCH_DAEMON_FEEDJOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feedbatch.h"
#include "fundwatch/buf.h"
#include "fundwatch/engine.h"
#include "fundwatch/reader.h"
#include "store/store.h"

enum fw_job_outcome {
    FW_JOB_DONE = 0,  /* committed: move the feed to done/ */
    FW_JOB_DUPLICATE, /* its sha256 was done before: recorded, move to done/ */
    FW_JOB_FAILED,    /* not a feed we can read: recorded, move to failed/ */
    FW_JOB_RETRY,     /* the store could not take it (locked, disk full):
                         nothing of it committed; leave it and try later */
    FW_JOB_UNMOVED,   /* committed before (a crash came between the commit
                         and the move): only the move to done/ is left; not
                         a delivery, nothing recorded (spool feeds only) */
};

/* Findings fired by one job, by policy, rule, kind and level (the strings
 * are kept in the result's own names). */
struct fw_job_tally {
    const char *policy, *rule;
    int kind, level;
    uint64_t n;
};
#define FW_JOB_TALLY_MAX 128

struct fw_job_result {
    enum fw_job_outcome outcome;
    char sha256[65];
    uint64_t bytes, lines, records, rejects;
    uint64_t findings[FW__FK_COUNT]; /* fired, by kind */
    uint64_t events;                 /* new or reopened: outbox lines */
    uint64_t resolved;
    int64_t dup_of;                  /* FW_JOB_DUPLICATE: the done feed row */
    uint64_t nanos;                  /* wall time of the job */
    uint64_t dev, ino;               /* the file read (fw_job_feed_file) */
    char reason[FW_MSG_MAX + FW_PLACE_MAX + 8]; /* FAILED, RETRY: why */
    /* The outbox lines of the events, rendered as they were stored (in
     * seq order, first_seq..last_seq), when env->lines asked for them. */
    uint64_t first_seq, last_seq;
    struct fw_job_tally tally[FW_JOB_TALLY_MAX];
    const char *tally_src[FW_JOB_TALLY_MAX][2]; /* policy, rule as fired */
    size_t n_tally;
    char names[8192];                /* the tally's strings */
    size_t names_len;
    uint64_t untallied;              /* past FW_JOB_TALLY_MAX kinds */
    /* DONE: what the log should say besides the counts (a record field a
     * policy read that no column gave), or "". */
    char notes[512];
    /* Columns of the feed no field was found for ("" when none). */
    char unknown[sizeof ((struct fw_reader_stats *)0)->unknown];
};

/* A feed's run through the reader and the engine (feedjob.c's own). */
struct fw_job_run;

struct fw_job_env {
    struct fw_store *st;
    struct fw_engine *eng;
    const struct fw_colmap *map;
    uint64_t max_feed;   /* bytes; a larger feed fails */
    const char *spool;   /* the spool's root (spool feeds: FW_JOB_UNMOVED) */
    int32_t today;       /* ctx.now, days since 1970-01-01 */
    struct fw_buf *lines; /* if not NULL: gets the events' outbox lines */
    /* If set: observe(ud, NULL) as a feed starts, observe(ud, f) for each
     * finding stored; fed(ud, ...) once a feed is committed, with its
     * bytes (the shadow runs on them). */
    void (*observe)(void *ud, const struct fw_finding *f);
    void (*fed)(void *ud, const char *data, size_t len, const char *label,
                int32_t today);
    void *hook_ud;
    /* If set: the reader and the engine run on the pipe's thread while
     * this one stores what they made. */
    struct fw_batch_pipe *pipe;
    /* If set: called on this thread once the feed's transaction is open
     * and its engine runs (the previous feed's outbox lines are written
     * meanwhile). */
    void (*started)(void *ud);
    void *started_ud;
    /* If set (with pipe): called on this thread before started, while the
     * feed's engine runs: the caller may read the next feed and have its
     * engine run right after this one's (fw_job_ahead_post). */
    void (*ahead)(void *ud, struct fw_job_run *run);
    void *ahead_ud;
};

/* Processes the feed file at path, named label in findings and the store.
 * Returns 0 with the outcome in res, or a negative code only for what is
 * not the feed's fault and not the store's either (out of memory). */
int fw_job_feed_file(const struct fw_job_env *env, const char *path,
                     const char *label, enum fw_store_source src,
                     struct fw_job_result *res);
/* The same over bytes in memory (POST /feeds). */
int fw_job_feed_mem(const struct fw_job_env *env, const char *data,
                    size_t len, const char *label, enum fw_store_source src,
                    struct fw_job_result *res);

/* ---- the same in three steps, so that the engine runs over feed N+1 while
 * feed N commits (the daemon's spool) ------------------------------------- */

/* A spool feed's bytes, read and hashed before anything is stored. */
struct fw_job_input {
    char *data;                      /* owned */
    size_t len, mapped;              /* mapped: data is a mapping of so
                                        many bytes (else malloc'd) */
    uint64_t dev, ino;
    char sha256[65];
    enum fw_job_outcome outcome;     /* FW_JOB_DONE when read; FAILED or
                                        RETRY (gone) with reason when not */
    char reason[FW_MSG_MAX + FW_PLACE_MAX + 8];
};

/* Reads and hashes the file at path. No store, no engine: any thread.
 * Returns 0 (the outcome in in) or FW_ENOMEM. */
int fw_job_read(const char *path, const char *label, uint64_t max_feed,
                struct fw_job_input *in);
void fw_job_input_fini(struct fw_job_input *in); /* frees data */

/* fw_job_feed_file over a feed read already (the outcome of the read:
 * FAILED or RETRY, is the job's). The input stays the caller's. */
int fw_job_feed_input(const struct fw_job_env *env, struct fw_job_input *in,
                      const char *label, enum fw_store_source src,
                      struct fw_job_result *res);

/* 1. (the store's thread) Starts res (memset, sha256 and bytes set) and
 * looks the sha256 up: 1 when the feed is to be processed, 0 when res
 * holds its outcome already (DUPLICATE, recorded; UNMOVED; RETRY). */
int fw_job_check(const struct fw_job_env *env, size_t len,
                 const char *sha256, const char *label,
                 enum fw_store_source src, struct fw_job_result *res);
/* 2. (the store's thread) After a check that returned 1: the reader and
 * the engine over the feed (on env->pipe's thread when there is one, in
 * slices of a few thousand records) while the slices go into the store,
 * in one transaction (env->ahead may post the next feed's run meanwhile).
 * Returns as fw_job_feed_mem. */
int fw_job_process(const struct fw_job_env *env, const char *data,
                   size_t len, const char *label, enum fw_store_source src,
                   struct fw_job_result *res);

/* ---- the next feed's engine run while this one commits -------------------
 * The pipe's thread goes on from feed N's engine to feed N+1's without
 * waiting for N's commit. Posted only when N+1 is not a done feed's
 * duplicate, nor N's, and given N's task dates (as N leaves them, which is
 * what the store keeps once N commits); a run posted is dropped (cancel)
 * unless N is committed and N+1's check says to process it. */
struct fw_job_ahead {
    struct fw_job_env env;  /* the run's: a copy (pipe, engine, map, today) */
    struct fw_job_input in; /* the feed, read and hashed (the caller's) */
    char label[256];
    struct fw_job_run *run; /* posted */
};

/* (from env->ahead, with the run it was given) Posts a's feed to run on
 * the pipe's thread right after run's. 1 when posted, 0 when not (it is
 * processed later as any other, fw_job_ahead_feed). */
int fw_job_ahead_post(struct fw_job_run *run, struct fw_job_ahead *a);
/* fw_job_feed_input over a's feed, with its run when it was posted and the
 * check says to process it (else the run is dropped). The input stays the
 * caller's. */
int fw_job_ahead_feed(const struct fw_job_env *env, struct fw_job_ahead *a,
                      enum fw_store_source src, struct fw_job_result *res);
/* Drops a's run if one was posted (stopped, its batches dropped); a->in is
 * kept. */
void fw_job_ahead_cancel(struct fw_job_ahead *a);

/* The scheduled checks: every stored task record through the on_task hooks
 * against env->today, in one transaction. res->records counts the tasks. */
int fw_job_recheck(const struct fw_job_env *env, struct fw_job_result *res);

#endif
