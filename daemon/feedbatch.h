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
    bool json;                   /* render each finding's JSON (the pipe
                                    sets it as it hands a batch out) */
    bool sealed;
    bool last;                   /* the last of a feed's run (the pipe) */
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
/* Stops the thread's task (fw_batch_pipe_wait), the thread, frees. Accepts
 * NULL. */
void fw_batch_pipe_free(struct fw_batch_pipe *p);

/* (caller) Runs fn(arg) on the pipe's thread, once the previous task has
 * ended. Batches are handed over fresh. One task may run several feeds one
 * after the other (fw_batch_pipe_post). */
void fw_batch_pipe_start(struct fw_batch_pipe *p, void (*fn)(void *),
                         void *arg, bool json);
/* (caller) Ends the task: asks it to stop, drops every batch it made that
 * was not taken, and waits until it has ended. */
void fw_batch_pipe_wait(struct fw_batch_pipe *p);

/* (the pipe's thread) Hands *b over, full, and puts an empty one in its
 * place, waiting while every batch is taken. Returns nonzero when the
 * caller asked to stop (the batch is then kept, emptied). */
int fw_batch_pipe_put(struct fw_batch_pipe *p, struct fw_batch **b);
/* (the pipe's thread) The last batch of a feed's run (it may be empty).
 * Returns what the caller posted to run next (fw_batch_pipe_post), or NULL
 * when nothing was or it asked to stop: the task then ends. The caller
 * reads what the run left beside the batches once it has taken them. */
void *fw_batch_pipe_close(struct fw_batch_pipe *p, struct fw_batch *b);
/* (the pipe's thread) An empty batch to start a feed's run with (it waits
 * for one while the caller holds them all). */
struct fw_batch *fw_batch_pipe_first(struct fw_batch_pipe *p);

/* (caller) The next batch, in order, or NULL at the end of a feed's run
 * (its last batch was taken: the next call goes on with the next run's), or
 * once the task has ended. */
struct fw_batch *fw_batch_pipe_get(struct fw_batch_pipe *p);
/* (caller) A batch stored: back to the thread. */
void fw_batch_pipe_release(struct fw_batch_pipe *p, struct fw_batch *b);
/* (caller) Asks the thread to stop early (the store failed): the run ends
 * at its next batch, and nothing posted runs after it. */
void fw_batch_pipe_stop(struct fw_batch_pipe *p);
/* (caller) While a feed's run goes on: arg (not NULL) is what the thread's
 * task goes on with once that run ends (fw_batch_pipe_close returns it).
 * One at a time. Returns 0, or -1 when the task ends without it (it has
 * ended, was asked to stop, or something is posted already). */
int fw_batch_pipe_post(struct fw_batch_pipe *p, void *arg);
/* (caller) Whether the task went on with arg, posted (it runs or ran);
 * known for sure once the run before it has ended (fw_batch_pipe_get
 * returned NULL). Asked once per post: the answer is forgotten. */
bool fw_batch_pipe_taken(struct fw_batch_pipe *p, const void *arg);

#endif
