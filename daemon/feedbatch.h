/* A feed's run through the engine, kept in memory for the store to take
 * afterwards, on another thread: what the engine fired (deep copies, each
 * with its JSON already rendered), each record's subject, task records and
 * rejects, in the order they came. Only feedjob.c uses it: the daemon reads
 * and runs feed N+1 while feed N commits. No store, no libuv. */
#ifndef FUNDWATCH_DAEMON_FEEDBATCH_H
#define FUNDWATCH_DAEMON_FEEDBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fundwatch/buf.h"
#include "fundwatch/finding.h"
#include "fundwatch/record.h"
#include "store/store.h"

enum fw_bop_type {
    FW_BOP_FINDING, /* a finding fired (rkind: of its record, or -1) */
    FW_BOP_TASK,    /* a task record to keep */
    FW_BOP_SUBJECT, /* a record's hooks ran: n = the findings it fired */
    FW_BOP_REJECT,  /* a line rejected */
};

struct fw_bop {
    uint8_t type;
    int8_t rkind;
    uint32_t n;
    size_t at; /* its payload in the blob */
};

#define FW_BATCH_NAMES 64

struct fw_batch {
    struct fw_buf blob;          /* payloads; pointers in them are kept as
                                    offsets until fw_batch_seal */
    struct fw_bop *ops;
    size_t n_ops, cap_ops;
    struct {                     /* interned: policy, rule, title... */
        const char *src;
        size_t at;
    } names[FW_BATCH_NAMES];
    size_t n_names, next_name;
    bool json;                   /* render each finding's JSON */
    bool sealed;
};

void fw_batch_init(struct fw_batch *b, bool json);
/* Empties it; keeps up to keep bytes of its memory. */
void fw_batch_reset(struct fw_batch *b, size_t keep);
void fw_batch_fini(struct fw_batch *b);

/* Each returns 0 or FW_ENOMEM (the batch as it was). */
int fw_batch_finding(struct fw_batch *b, const struct fw_finding *f,
                     int rkind);
int fw_batch_task(struct fw_batch *b, const struct fw_record *r);
int fw_batch_subject(struct fw_batch *b, const struct fw_record *r,
                     uint32_t n_findings);
int fw_batch_reject(struct fw_batch *b, uint64_t line, const char *reason);

/* Turns the kept offsets into pointers: after the last op is added, before
 * the first is read. */
void fw_batch_seal(struct fw_batch *b);

/* The op's payload (after fw_batch_seal), valid while the batch lives. */
const struct fw_finding *fw_batch_get_finding(const struct fw_batch *b,
                                              const struct fw_bop *op,
                                              const char **json,
                                              size_t *json_len);
const struct fw_record *fw_batch_get_task(const struct fw_batch *b,
                                          const struct fw_bop *op);
void fw_batch_get_subject(const struct fw_batch *b, const struct fw_bop *op,
                          struct fw_store_subject *s);
const char *fw_batch_get_reject(const struct fw_batch *b,
                                const struct fw_bop *op, uint64_t *line);

/* ---- the pipe: one thread beside the caller's, and the batches between
 * them --------------------------------------------------------------------- */

struct fw_batch_pipe;

/* A new pipe with its thread, or NULL. */
struct fw_batch_pipe *fw_batch_pipe_new(void);
/* Waits for the thread's task, stops the thread, frees. Accepts NULL. */
void fw_batch_pipe_free(struct fw_batch_pipe *p);

/* (caller) Runs fn(arg) on the pipe's thread, once the previous task has
 * ended. Batches are handed over fresh. */
void fw_batch_pipe_start(struct fw_batch_pipe *p, void (*fn)(void *),
                         void *arg, bool json);
/* (caller) Waits until the task has ended. */
void fw_batch_pipe_wait(struct fw_batch_pipe *p);

/* (the pipe's thread) Hands *b over, full, and puts an empty one in its
 * place, waiting while every batch is taken. Returns nonzero when the
 * caller asked to stop (the batch is then kept, emptied). */
int fw_batch_pipe_put(struct fw_batch_pipe *p, struct fw_batch **b);
/* (the pipe's thread) The last batch: the run is over. The caller then
 * reads what the run left beside the batches. */
void fw_batch_pipe_close(struct fw_batch_pipe *p, struct fw_batch *b);
/* (the pipe's thread) An empty batch to start with. */
struct fw_batch *fw_batch_pipe_first(struct fw_batch_pipe *p);

/* (caller) The next batch, in order, or NULL once the run is over and
 * every batch was taken. */
struct fw_batch *fw_batch_pipe_get(struct fw_batch_pipe *p);
/* (caller) A batch stored: back to the thread. */
void fw_batch_pipe_release(struct fw_batch_pipe *p, struct fw_batch *b);
/* (caller) Asks the thread to stop early (the store failed). */
void fw_batch_pipe_stop(struct fw_batch_pipe *p);

#endif
