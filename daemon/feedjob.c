/* One feed, or one round of scheduled checks, through the engine into the
 * store (see feedjob.h). The feed's bytes are read once: hashed for the
 * duplicate check and then handed to the reader, so what is recorded under a
 * sha256 is exactly what was processed. */
#include "feedjob.h"
#include "fundwatch/i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"
#include "feedio.h"
#include "outbox.h"
#include "taskdates.h"

#define INPUT_MAP_MIN (256u << 10) /* bytes: a feed this large is mapped */
#define INPUT_MAP_ROUND ((size_t)1 << 20)

/* What one job carries through the callbacks. */
struct job {
    const struct fw_job_env *env;
    struct fw_job_result *res;
    int rkind;                       /* of the record being run, or -1 */
    char (*ids)[FW_ID_HEX + 1];      /* ids fired for the current record */
    size_t n_ids, cap_ids;
    int rc;                          /* first store error, negative */
    struct fw_error err;
    int64_t now_ms;                  /* resolved_at of a batch's records
                                        (0: the wall clock, each) */
};


static void set_reason(struct fw_job_result *res, const struct fw_error *e)
{
    if (e->place[0])
        snprintf(res->reason, sizeof res->reason, "%s: %s", e->place, e->msg);
    else
        snprintf(res->reason, sizeof res->reason, "%s", e->msg);
}

/* A store failure: locked or full is worth retrying later, as is any other
 * store error (the feed itself was fine). */
static int store_failed(struct job *j, int rc)
{
    if (j->rc == 0) {
        j->rc = rc;
        set_reason(j->res, &j->err);
    }
    return 1; /* stop the reader / engine */
}

/* A copy of s in res->names, or NULL when it is full. */
static const char *keep_name(struct fw_job_result *res, const char *s)
{
    size_t n = strlen(s) + 1;
    if (n > sizeof res->names - res->names_len)
        return NULL;
    char *p = res->names + res->names_len;
    memcpy(p, s, n);
    res->names_len += n;
    return p;
}

static void tally(struct fw_job_result *res, const struct fw_finding *f)
{
    for (size_t i = 0; i < res->n_tally; i++) {
        struct fw_job_tally *t = &res->tally[i];
        if (res->tally_src[i][1] == f->rule &&
            res->tally_src[i][0] == f->policy &&
            t->kind == (int)f->kind && t->level == (int)f->level) {
            t->n++;
            return;
        }
    }
    size_t used = res->names_len;
    const char *policy = f->policy ? keep_name(res, f->policy) : NULL;
    const char *rule = f->rule ? keep_name(res, f->rule) : NULL;
    if (res->n_tally == FW_JOB_TALLY_MAX || (f->policy && !policy) ||
        (f->rule && !rule)) {
        res->names_len = used;
        res->untallied++;
        return;
    }
    res->tally_src[res->n_tally][0] = f->policy;
    res->tally_src[res->n_tally][1] = f->rule;
    res->tally[res->n_tally++] = (struct fw_job_tally){
        policy, rule, (int)f->kind, (int)f->level, 1};
}

/* A finding into the store; json, when not NULL, is its JSON object as
 * fw_finding_json rendered it (on the engine's thread). */
static int add_finding(struct job *j, const struct fw_finding *f,
                       const char *json, size_t json_len)
{
    uint64_t seq = 0;
    int rc = fw_store_finding_add(j->env->st, f, j->rkind, &seq, &j->err);
    if (rc < 0)
        return store_failed(j, rc);
    j->res->findings[f->kind]++;
    tally(j->res, f);
    if (j->env->observe)
        j->env->observe(j->env->hook_ud, f);
    if (seq) {
        j->res->events++;
        if (j->res->first_seq == 0)
            j->res->first_seq = seq;
        j->res->last_seq = seq;
        struct fw_buf *b = j->env->lines;
        int ev = fw_store_last_event(j->env->st);
        if (b && (json ? fw_outbox_line_json(ev, json, json_len, b)
                       : fw_outbox_line(ev, f, NULL, b)) < 0) {
            j->err.code = FW_ENOMEM;
            snprintf(j->err.msg, sizeof j->err.msg, "out of memory");
            return store_failed(j, FW_ENOMEM);
        }
    }
    if (j->n_ids == j->cap_ids) {
        size_t cap = j->cap_ids ? 2 * j->cap_ids : 16;
        void *p = realloc(j->ids, cap * sizeof *j->ids);
        if (p == NULL) {
            j->err.code = FW_ENOMEM;
            snprintf(j->err.msg, sizeof j->err.msg, "out of memory");
            return store_failed(j, FW_ENOMEM);
        }
        j->ids = p;
        j->cap_ids = cap;
    }
    memcpy(j->ids[j->n_ids++], f->id, FW_ID_HEX + 1);
    return 0;
}

static int on_finding(void *ud, const struct fw_finding *f)
{
    return add_finding(ud, f, NULL, 0);
}

/* The record's text field as a C string in buf, or NULL when absent. */
static const char *text_of(const struct fw_record *r, enum fw_field f,
                           char *buf, size_t n)
{
    if (!fw_record_has(r, f))
        return NULL;
    size_t k = r->str[f].n < n - 1 ? r->str[f].n : n - 1;
    memcpy(buf, r->str[f].p, k);
    buf[k] = '\0';
    return buf;
}

/* The store's last outbox seq (between transactions: the committed one). */
static uint64_t store_seq(struct fw_store *st)
{
    struct fw_store_counts c;
    return fw_store_counts(st, &c, NULL) < 0 ? 0 : c.outbox_seq;
}

/* After the commit: every event the job made, seq0 + 1 up to the store's
 * last, whether or not its line was rendered: a resolution's is not (the
 * outbox then reads them all back from the store, in order). */
static void all_events(struct job *j, uint64_t seq0)
{
    uint64_t seq1 = store_seq(j->env->st);
    if (seq1 > seq0) {
        j->res->first_seq = seq0 + 1;
        j->res->last_seq = seq1;
    }
}

/* What the subject's record fired (ids from..n) resolves what it no longer
 * fires. */
static int subject_resolve(struct job *j, const struct fw_store_subject *s,
                           size_t from, size_t n)
{
    int64_t resolved = 0;
    int rc = fw_store_subject_done(j->env->st, s,
                                   (const char(*)[FW_ID_HEX + 1])(n ? j->ids + from
                                                                    : NULL),
                                   n, j->now_ms ? j->now_ms : fw_wall_ms(),
                                   &resolved, &j->err);
    if (rc < 0)
        return store_failed(j, rc);
    j->res->resolved += (uint64_t)resolved;
    return 0;
}

/* After a record's hooks ran: what it fired resolves what it no longer
 * fires for the same subject. */
static int subject_done(struct job *j, const struct fw_record *r)
{
    char region[16], dept[128], project[128], task[128];
    struct fw_store_subject s = {
        .kind = r->kind,
        .region = text_of(r, FW_F_REGION, region, sizeof region),
        .dept = text_of(r, FW_F_DEPT, dept, sizeof dept),
        .project = text_of(r, FW_F_PROJECT, project, sizeof project),
        .task = text_of(r, FW_F_TASK, task, sizeof task),
        .has_as_of = fw_record_has(r, FW_F_AS_OF),
        .as_of = (int32_t)r->num[FW_F_AS_OF],
    };
    return subject_resolve(j, &s, 0, j->n_ids);
}

static int run_record(struct job *j, const struct fw_record *r, bool recheck)
{
    j->n_ids = 0;
    j->rkind = (int)r->kind;
    /* (a feed's records run on the engine's side, run_on_record, where an
     * older snapshot of a task is set aside; the scheduled checks judge the
     * kept snapshots only) */
    int rc = recheck ? fw_engine_recheck(j->env->eng, r, j->env->today,
                                     on_finding, j)
                 : fw_engine_run(j->env->eng, r, on_finding, j);
    if (rc < 0 && j->rc == 0) { /* the engine itself: out of memory */
        j->rc = rc;
        snprintf(j->res->reason, sizeof j->res->reason,
                 "the policy engine failed (%d): out of memory?", rc);
    }
    if (rc != 0)
        return 1;
    if (!recheck && r->kind == FW_RK_TASK && fw_record_has(r, FW_F_TASK) &&
        fw_record_has(r, FW_F_REGION)) {
        if ((rc = fw_store_task_put(j->env->st, r, &j->err)) < 0)
            return store_failed(j, rc);
    }
    return subject_done(j, r);
}

/* Records a feed that is not processed (failed or duplicate) in its own
 * transaction; a store failure turns the outcome into a retry. */
static void record_only(struct job *j, const struct fw_store_feed *feed,
                        enum fw_store_status status)
{
    struct fw_store_feed_end end = {
        .lines = j->res->lines, .records = j->res->records,
        .rejects = j->res->rejects, .finished_ms = fw_wall_ms(),
        .reason = status == FW_FEED_FAILED ? j->res->reason : NULL,
    };
    struct fw_error e = {0};
    if (feed->sha256 == NULL || !feed->sha256[0])
        return; /* never read (too large, unreadable): no sha256, no row;
                   the reason file and the log say why */
    if (fw_store_feed_record(j->env->st, feed, status, &end, &e) < 0) {
        j->res->outcome = FW_JOB_RETRY;
        set_reason(j->res, &e);
    }
}

/* A spool feed whose sha256 is done: 0 when it was never moved (the store's
 * last row of that sha256 is its done row, from the spool, under this name,
 * and done/ holds no file of that name and size: a crash came between the
 * commit and the move), 1 when it is a re-delivery, or a negative code. */
static int unmoved(const struct fw_job_env *env, const char *sha256,
                   const char *name, size_t len, struct fw_error *err)
{
    int rc = fw_store_feed_unmoved(env->st, sha256, name, err);
    if (rc <= 0)
        return rc < 0 ? rc : 1;
    char done[PATH_MAX];
    struct stat sb;
    if (env->spool && (size_t)snprintf(done, sizeof done, "%s/done/%s",
                                       env->spool, name) < sizeof done &&
        stat(done, &sb) == 0 && (uint64_t)sb.st_size == len)
        return 1; /* the same name and size moved already: sent again */
    return 0;
}

int fw_job_check(const struct fw_job_env *env, size_t len,
                 const char *sha256, const char *label,
                 enum fw_store_source src, struct fw_job_result *res)
{
    memset(res, 0, sizeof *res);
    res->bytes = len;
    memcpy(res->sha256, sha256, sizeof res->sha256);
    res->sha256[sizeof res->sha256 - 1] = '\0';
    struct job j = {.env = env, .res = res, .rkind = -1};
    struct fw_store_feed feed = {
        .name = label, .sha256 = res->sha256, .source = src,
        .bytes = (int64_t)len, .started_ms = fw_wall_ms(),
        .generation = fw_engine_version(env->eng),
    };
    int64_t dup = 0;
    int rc = fw_store_feed_seen(env->st, res->sha256, &dup, &j.err);
    if (rc < 0) {
        res->outcome = FW_JOB_RETRY;
        set_reason(res, &j.err);
        return 0;
    }
    if (rc == 1 && src == FW_SRC_SPOOL &&
        (rc = unmoved(env, res->sha256, label, len, &j.err)) != 1) {
        if (rc < 0) {
            res->outcome = FW_JOB_RETRY;
            set_reason(res, &j.err);
            return 0;
        }
        res->outcome = FW_JOB_UNMOVED;
        res->dup_of = dup;
        return 0;
    }
    if (rc == 1) {
        res->outcome = FW_JOB_DUPLICATE;
        res->dup_of = dup;
        record_only(&j, &feed, FW_FEED_DUPLICATE);
        return 0;
    }
    return 1;
}

/* ---- the engine's side: no store ------------------------------------------ */

#define SLICE_OPS 2048        /* a batch is handed over past this many ops */
#define SLICE_BYTES (512u << 10) /* or this many bytes */

struct fw_job_run {
    const struct fw_job_env *env;
    const char *data, *label;
    size_t len;
    struct fw_batch *b;          /* being filled */
    struct job *sink;            /* no pipe: the store's side, here */
    int rkind;                   /* of the record being run, or -1 */
    uint32_t fired;              /* findings of the record being run */
    struct fw_taskdates *tasks;  /* the kept task snapshots' dates; the
                                    run's own, or handed on to the run
                                    posted after it (handed) */
    bool handed;
    const char *sha256;          /* the feed's (the store's side) */
    uint64_t stale;              /* task records older than their task's
                                    kept snapshot: not judged */
    /* what the run left, read once it is over */
    int rc;                      /* the reader's (or feed_end's) return */
    int jrc;                     /* the engine's failure, out of memory */
    struct fw_error rerr;        /* why the reader failed */
    struct fw_reader_stats rs;
    char reason[FW_MSG_MAX + FW_PLACE_MAX + 8];
    char notes[512];
};

static void apply_batch(struct job *j, const struct fw_batch *b);

static void run_failed(struct fw_job_run *j, int rc, bool engine)
{
    if (j->jrc)
        return;
    j->jrc = rc;
    if (engine)
        snprintf(j->reason, sizeof j->reason,
                 "the policy engine failed (%d): out of memory?", rc);
    else
        snprintf(j->reason, sizeof j->reason, "out of memory");
}

/* A full batch to the store's side; nonzero when it asks to stop. */
static int hand_over(struct fw_job_run *j, bool any)
{
    if (!any && j->b->n_ops < SLICE_OPS && j->b->blob.len < SLICE_BYTES)
        return 0;
    if (j->env->pipe)
        return fw_batch_pipe_put(j->env->pipe, &j->b);
    fw_batch_seal(j->b);
    apply_batch(j->sink, j->b);
    fw_batch_reset(j->b, 4u << 20);
    return j->sink->rc != 0;
}

static int run_finding(void *ud, const struct fw_finding *f)
{
    struct fw_job_run *j = ud;
    if (fw_batch_finding(j->b, f, j->rkind) < 0) {
        run_failed(j, FW_ENOMEM, false);
        return 1;
    }
    j->fired++;
    return 0;
}

static int run_on_record(void *ud, const struct fw_record *r)
{
    struct fw_job_run *j = ud;
    j->fired = 0;
    j->rkind = (int)r->kind;
    /* "Later" is by as_of everywhere: an older snapshot of a task than the
     * one kept fires, resolves and reopens nothing */
    int rc = j->tasks ? fw_taskdates_stale(j->tasks, r) : 0;
    if (rc < 0) {
        run_failed(j, FW_ENOMEM, false);
        return 1;
    }
    if (rc == 1) {
        j->stale++;
        return 0;
    }
    rc = fw_engine_run(j->env->eng, r, run_finding, j);
    if (rc < 0)
        run_failed(j, rc, true);
    if (rc != 0)
        return 1;
    if ((r->kind == FW_RK_TASK && fw_record_has(r, FW_F_TASK) &&
         fw_record_has(r, FW_F_REGION) && fw_batch_task(j->b, r) < 0) ||
        fw_batch_subject(j->b, r, j->fired) < 0) {
        run_failed(j, FW_ENOMEM, false);
        return 1;
    }
    return hand_over(j, false);
}

static void run_on_reject(void *ud, const char *feed, uint64_t line,
                          const char *reason)
{
    (void)feed;
    struct fw_job_run *j = ud;
    if (j->jrc != 0)
        return;
    if (fw_batch_reject(j->b, line, reason) < 0)
        run_failed(j, FW_ENOMEM, false);
    else
        hand_over(j, false); /* a feed of rejects only stays in bounds too;
                                a stop is seen at the next record */
}

/* A total row whose sums disagree with the rows above it: an ops finding
 * of the feed, at that row (the same feed and row give the same id). */
static void run_on_problem(void *ud, const char *feed, uint64_t line,
                           const char *msg, const char *data)
{
    (void)msg;
    struct fw_job_run *j = ud;
    if (j->jrc)
        return;
    char period[FW_PLACE_MAX + 24];
    snprintf(period, sizeof period, "%s:%llu", feed,
             (unsigned long long)line);
    struct fw_finding f = {
        .kind = FW_FK_OPS, .level = FW_LV_YELLOW, .policy = "fundwatch",
        .policy_version = "", .rule = "feed_total_mismatch",
        .message = data, .feed = feed, .line = line,
    };
    fw_finding_make_id("fundwatch", "feed_total_mismatch", "", "", "",
                       period, f.id);
    if (fw_batch_finding(j->b, &f, -1) < 0)
        run_failed(j, FW_ENOMEM, false);
}

/* The reader and the engine over the feed; what they make goes to the
 * store's side a slice at a time. */
static void run_engine(struct fw_job_run *j)
{
    const struct fw_job_env *env = j->env;
    struct fw_reader_cb cb = {.on_record = run_on_record,
                              .on_reject = run_on_reject,
                              .on_problem = run_on_problem};
    int rc = fw_engine_feed_begin(env->eng, j->label, env->today);
    if (rc < 0)
        run_failed(j, rc, true);
    else
        rc = fw_feed_read_mem(j->data, j->len, j->label, FW_FMT_AUTO,
                              env->map, &cb, j, &j->rs, &j->rerr);
    if (rc == 0 && j->jrc == 0) {
        j->rkind = -1;
        rc = fw_engine_feed_end(env->eng, run_finding, j);
        size_t used = 0;
        for (size_t k = 0; k < fw_engine_policy_count(env->eng); k++) {
            const char *near, *f = fw_engine_policy_missed_field(env->eng, k,
                                                                 &near);
            if (f == NULL || used + 2 >= sizeof j->notes)
                continue;
            int w = snprintf(j->notes + used, sizeof j->notes - used,
                             _("%spolicy %s read rec.%s, which no column of "
                               "the records gives (did you mean rec.%s?)"),
                             used ? "; " : "", fw_engine_policy(env->eng, k)->id,
                             f, near);
            used = w < 0 ? used : used + (size_t)w;
            if (used >= sizeof j->notes)
                used = sizeof j->notes - 1;
        }
        if (j->stale && used + 2 < sizeof j->notes)
            snprintf(j->notes + used, sizeof j->notes - used,
                     _("%s%llu task records older (as_of) than the snapshot "
                       "of their task already stored: they fired, resolved "
                       "and reopened nothing"), used ? "; " : "",
                     (unsigned long long)j->stale);
    }
    j->rc = rc;
}

/* (the pipe's thread) A feed's run, and each run posted after it. */
static void run_task(void *arg)
{
    struct fw_job_run *j = arg;
    struct fw_batch_pipe *p = j->env->pipe;
    while (j) {
        j->b = fw_batch_pipe_first(p);
        run_engine(j);
        /* j is the caller's from here on */
        j = fw_batch_pipe_close(p, j->b);
    }
}

/* ---- the store's side ------------------------------------------------------ */

static void apply_batch(struct job *j, const struct fw_batch *b)
{
    const struct fw_job_env *env = j->env;
    j->now_ms = fw_wall_ms(); /* one clock read a batch, not a record */
    for (size_t i = 0; i < b->n_ops && j->rc == 0; i++) {
        const struct fw_bop *op = &b->ops[i];
        switch (op->type) {
        case FW_BOP_FINDING: {
            const char *json;
            size_t n;
            const struct fw_finding *f = fw_batch_get_finding(b, op, &json,
                                                              &n);
            j->rkind = op->rkind;
            add_finding(j, f, json, n);
            break;
        }
        case FW_BOP_TASK: {
            int e = fw_store_task_put(env->st, fw_batch_get_task(b, op),
                                      &j->err);
            if (e < 0)
                store_failed(j, e);
            break;
        }
        case FW_BOP_SUBJECT: {
            struct fw_store_subject s;
            fw_batch_get_subject(b, op, &s);
            if (subject_resolve(j, &s, j->n_ids - op->n, op->n) == 0)
                j->n_ids = 0;
            break;
        }
        case FW_BOP_REJECT: {
            uint64_t line;
            const char *why = fw_batch_get_reject(b, op, &line);
            int e = fw_store_reject_add(env->st, line, why, &j->err);
            if (e < 0)
                store_failed(j, e);
            break;
        }
        }
    }
}

/* A run's task dates, unless handed on; then the run itself. */
static void run_free(struct fw_job_run *r)
{
    if (r == NULL)
        return;
    if (!r->handed)
        fw_taskdates_free(r->tasks);
    free(r);
}

/* fw_job_process; adopt (not NULL): the feed's run, posted, is going on on
 * the pipe's thread already. */
static int process(const struct fw_job_env *env, struct fw_job_run *adopt,
                   const char *data, size_t len, const char *label,
                   enum fw_store_source src, struct fw_job_result *res)
{
    uint64_t t0 = fw_mono_ns();
    struct job j = {.env = env, .res = res, .rkind = -1};
    struct fw_store_feed feed = {
        .name = label, .sha256 = res->sha256, .source = src,
        .bytes = (int64_t)len, .started_ms = fw_wall_ms(),
        .generation = fw_engine_version(env->eng),
    };
    int rc;
    uint64_t seq0 = store_seq(env->st);
    if ((rc = fw_store_feed_begin(env->st, &feed, &j.err)) < 0) {
        if (adopt) {
            fw_batch_pipe_wait(env->pipe);
            run_free(adopt);
        }
        res->outcome = FW_JOB_RETRY;
        set_reason(res, &j.err);
        rc = 0;
        goto out;
    }
    if (env->observe)
        env->observe(env->hook_ud, NULL);
    struct fw_job_run *r = adopt;
    if (r == NULL && (r = calloc(1, sizeof *r)) == NULL) {
        fw_store_feed_rollback(env->st);
        rc = FW_ENOMEM;
        goto out;
    }
    if (adopt == NULL) {
        *r = (struct fw_job_run){.env = env, .data = data, .len = len,
                                 .label = label, .rkind = -1};
        if ((r->tasks = fw_taskdates_load(env->st, &j.err)) == NULL) {
            free(r);
            fw_store_feed_rollback(env->st);
            res->outcome = FW_JOB_RETRY;
            set_reason(res, &j.err);
            rc = j.err.code == FW_ENOMEM ? FW_ENOMEM : 0;
            goto out;
        }
    }
    r->sink = &j;
    r->sha256 = res->sha256;
    if (env->pipe) {
        if (adopt == NULL)
            fw_batch_pipe_start(env->pipe, run_task, r, env->lines != NULL);
        if (env->ahead) /* first: the sooner posted, the surer taken */
            env->ahead(env->ahead_ud, r);
        if (env->started)
            env->started(env->started_ud);
        struct fw_batch *b;
        while ((b = fw_batch_pipe_get(env->pipe)) != NULL) {
            if (j.rc == 0) {
                apply_batch(&j, b);
                if (j.rc != 0)
                    fw_batch_pipe_stop(env->pipe);
            }
            fw_batch_pipe_release(env->pipe, b);
        }
    } else {
        struct fw_batch b;
        fw_batch_init(&b, env->lines != NULL);
        r->b = &b;
        if (env->started)
            env->started(env->started_ud);
        run_engine(r);
        if (j.rc == 0) {
            fw_batch_seal(&b);
            apply_batch(&j, &b);
        }
        fw_batch_fini(&b);
    }
    if (!r->handed)
        fw_taskdates_free(r->tasks);
    r->tasks = NULL;
    rc = r->rc;
    res->lines = r->rs.lines;
    res->records = r->rs.records;
    res->rejects = r->rs.rejects;
    memcpy(res->unknown, r->rs.unknown, sizeof res->unknown);
    if (rc == 0 && j.rc == 0 && r->jrc == 0)
        memcpy(res->notes, r->notes, sizeof res->notes);
    if (j.rc != 0 || r->jrc != 0 || rc > 0) {
        /* the store (or the engine) failed: nothing of the feed stays */
        fw_store_feed_rollback(env->st);
        res->outcome = FW_JOB_RETRY;
        if (j.rc == 0 && r->jrc != 0)
            snprintf(res->reason, sizeof res->reason, "%s", r->reason);
        else if (j.rc == 0)
            snprintf(res->reason, sizeof res->reason, "stopped (%d)", rc);
        rc = (j.rc == FW_ENOMEM || r->jrc == FW_ENOMEM) ? FW_ENOMEM : 0;
        free(r);
        goto out;
    }
    if (rc < 0) {
        /* the feed as a whole cannot be read: not CSV, NUL bytes, a
         * missing required column... */
        fw_store_feed_rollback(env->st);
        if (rc == FW_ENOMEM) {
            free(r);
            goto out;
        }
        set_reason(res, &r->rerr);
        free(r);
        res->outcome = FW_JOB_FAILED;
        memset(res->findings, 0, sizeof res->findings);
        res->n_tally = res->names_len = 0;
        res->untallied = 0;
        res->events = res->resolved = 0;
        res->first_seq = res->last_seq = 0;
        record_only(&j, &feed, FW_FEED_FAILED);
        rc = 0;
        goto out;
    }
    free(r);
    struct fw_store_feed_end end = {
        .lines = res->lines, .records = res->records,
        .rejects = res->rejects, .finished_ms = fw_wall_ms(),
    };
    if ((rc = fw_store_feed_commit(env->st, &end, &j.err)) < 0) {
        res->outcome = FW_JOB_RETRY;
        set_reason(res, &j.err);
        rc = 0;
        goto out;
    }
    res->outcome = FW_JOB_DONE;
    all_events(&j, seq0);
    if (env->fed)
        env->fed(env->hook_ud, data, len, label, env->today);
out:
    free(j.ids);
    res->nanos += fw_mono_ns() - t0;
    return rc == FW_ENOMEM ? FW_ENOMEM : 0;
}

int fw_job_process(const struct fw_job_env *env, const char *data,
                   size_t len, const char *label, enum fw_store_source src,
                   struct fw_job_result *res)
{
    return process(env, NULL, data, len, label, src, res);
}

int fw_job_ahead_post(struct fw_job_run *run, struct fw_job_ahead *a)
{
    const struct fw_job_env *env = run->env;
    if (env->pipe == NULL || a->run || a->in.outcome != FW_JOB_DONE ||
        run->handed || strcmp(a->in.sha256, run->sha256) == 0)
        return 0;
    struct fw_error err = {0};
    if (fw_store_feed_seen(env->st, a->in.sha256, NULL, &err) != 0)
        return 0; /* done before (or the store cannot say): its check */
    struct fw_job_run *r = calloc(1, sizeof *r);
    if (r == NULL)
        return 0;
    a->env = *env;
    a->env.started = NULL;
    a->env.ahead = NULL;
    *r = (struct fw_job_run){.env = &a->env, .data = a->in.data,
                             .len = a->in.len, .label = a->label,
                             .rkind = -1, .tasks = run->tasks};
    if (fw_batch_pipe_post(env->pipe, r) < 0) {
        free(r);
        return 0;
    }
    run->handed = true; /* r's from here on, whatever becomes of it */
    a->run = r;
    return 1;
}

void fw_job_ahead_cancel(struct fw_job_ahead *a)
{
    if (a->run == NULL)
        return;
    if (fw_batch_pipe_taken(a->env.pipe, a->run))
        fw_batch_pipe_wait(a->env.pipe); /* stopped, its batches dropped */
    run_free(a->run);
    a->run = NULL;
}

int fw_job_ahead_feed(const struct fw_job_env *env, struct fw_job_ahead *a,
                      enum fw_store_source src, struct fw_job_result *res)
{
    if (a->run == NULL)
        return fw_job_feed_input(env, &a->in, a->label, src, res);
    uint64_t t0 = fw_mono_ns();
    struct fw_job_run *r = a->run;
    a->run = NULL;
    if (!fw_batch_pipe_taken(a->env.pipe, r) || env->pipe != a->env.pipe ||
        env->eng != a->env.eng || env->map != a->env.map ||
        env->today != a->env.today ||
        (env->lines != NULL) != (a->env.lines != NULL)) {
        /* not running, or on what this feed would not run on: afresh */
        if (r->env->pipe)
            fw_batch_pipe_wait(r->env->pipe);
        run_free(r);
        return fw_job_feed_input(env, &a->in, a->label, src, res);
    }
    int rc = fw_job_check(env, a->in.len, a->in.sha256, a->label, src, res);
    if (rc > 0) {
        rc = process(env, r, a->in.data, a->in.len, a->label, src, res);
    } else {
        fw_batch_pipe_wait(env->pipe);
        run_free(r);
    }
    res->dev = a->in.dev;
    res->ino = a->in.ino;
    res->nanos = fw_mono_ns() - t0;
    return rc;
}

int fw_job_feed_mem(const struct fw_job_env *env, const char *data,
                    size_t len, const char *label, enum fw_store_source src,
                    struct fw_job_result *res)
{
    uint64_t t0 = fw_mono_ns();
    char sha[65];
    fw_sha256_hex(data, len, sha);
    int rc = fw_job_check(env, len, sha, label, src, res);
    if (rc <= 0) {
        res->nanos = fw_mono_ns() - t0;
        return rc;
    }
    rc = fw_job_process(env, data, len, label, src, res);
    res->nanos = fw_mono_ns() - t0;
    return rc;
}

/* Room for a feed's len bytes. A large feed gets a mapping of its own: it
 * goes back to the system when freed, whichever thread read it (a heap
 * block stays in the arena of the thread that asked for it, and feeds are
 * read on any of the loop's pool threads: their arenas each kept one). The
 * last one freed is kept for the next feed (its pages faulted in once). */
static pthread_mutex_t spare_mu = PTHREAD_MUTEX_INITIALIZER;
static void *spare;
static size_t spare_len;

static char *input_alloc(struct fw_job_input *in, size_t len)
{
    in->mapped = 0;
    if (len < INPUT_MAP_MIN)
        return malloc(len ? len : 1);
    void *p = NULL;
    pthread_mutex_lock(&spare_mu);
    if (spare && spare_len >= len && spare_len / 2 <= len) {
        p = spare;
        in->mapped = spare_len;
        spare = NULL;
    }
    pthread_mutex_unlock(&spare_mu);
    if (p)
        return p;
    /* whole MiBs: the next feed of about the size fits in it */
    size_t map = (len + INPUT_MAP_ROUND - 1) / INPUT_MAP_ROUND * INPUT_MAP_ROUND;
    p = mmap(NULL, map, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    in->mapped = map;
    return p;
}

static void input_free(void *p, size_t mapped)
{
    pthread_mutex_lock(&spare_mu);
    if (spare == NULL) {
        spare = p;
        spare_len = mapped;
        p = NULL;
    }
    pthread_mutex_unlock(&spare_mu);
    if (p)
        munmap(p, mapped);
}

int fw_job_read(const char *path, const char *label, uint64_t max_feed,
                struct fw_job_input *in)
{
    memset(in, 0, sizeof *in);
    in->outcome = FW_JOB_FAILED;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int e = errno;
        snprintf(in->reason, sizeof in->reason, "%s: cannot open: %s",
                 label, strerror(e));
        /* gone (deleted meanwhile): nothing to move or record */
        in->outcome = e == ENOENT ? FW_JOB_RETRY : FW_JOB_FAILED;
        return 0;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        snprintf(in->reason, sizeof in->reason, "%s: not a regular file",
                 label);
        return 0;
    }
    if ((uint64_t)sb.st_size > max_feed) {
        close(fd);
        snprintf(in->reason, sizeof in->reason,
                 "%s: %lld bytes, larger than limits.max_feed (%llu bytes)",
                 label, (long long)sb.st_size,
                 (unsigned long long)max_feed);
        in->len = (size_t)sb.st_size;
        return 0;
    }
    in->dev = (uint64_t)sb.st_dev;
    in->ino = (uint64_t)sb.st_ino;
    size_t len = (size_t)sb.st_size, got = 0;
    char *data = input_alloc(in, len);
    if (data == NULL) {
        close(fd);
        return FW_ENOMEM;
    }
    while (got < len) {
        ssize_t k = read(fd, data + got, len - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = k < 0 ? errno : 0;
            close(fd);
            in->data = data;
            fw_job_input_fini(in);
            snprintf(in->reason, sizeof in->reason, "%s: cannot read: %s",
                     label, e ? strerror(e) : "the file shrank while read");
            return 0;
        }
        got += (size_t)k;
    }
    close(fd);
    in->data = data;
    in->len = len;
    fw_sha256_hex(data, len, in->sha256);
    in->outcome = FW_JOB_DONE;
    return 0;
}

void fw_job_input_fini(struct fw_job_input *in)
{
    if (in->mapped)
        input_free(in->data, in->mapped);
    else
        free(in->data);
    in->data = NULL;
    in->mapped = 0;
}

int fw_job_feed_input(const struct fw_job_env *env, struct fw_job_input *in,
                      const char *label, enum fw_store_source src,
                      struct fw_job_result *res)
{
    uint64_t t0 = fw_mono_ns();
    if (in->outcome != FW_JOB_DONE) {
        memset(res, 0, sizeof *res);
        res->outcome = in->outcome;
        res->bytes = in->len;
        memcpy(res->reason, in->reason, sizeof res->reason);
        return 0;
    }
    int rc = fw_job_check(env, in->len, in->sha256, label, src, res);
    if (rc > 0)
        rc = fw_job_process(env, in->data, in->len, label, src, res);
    res->dev = in->dev;
    res->ino = in->ino;
    res->nanos = fw_mono_ns() - t0;
    return rc;
}

int fw_job_feed_file(const struct fw_job_env *env, const char *path,
                     const char *label, enum fw_store_source src,
                     struct fw_job_result *res)
{
    struct fw_job_input in;
    int rc = fw_job_read(path, label, env->max_feed, &in);
    if (rc < 0) {
        memset(res, 0, sizeof *res);
        return rc;
    }
    rc = fw_job_feed_input(env, &in, label, src, res);
    fw_job_input_fini(&in);
    return rc;
}

static int on_task(void *ud, const struct fw_record *r)
{
    struct job *j = ud;
    j->res->records++;
    return run_record(j, r, true);
}

int fw_job_recheck(const struct fw_job_env *env, struct fw_job_result *res)
{
    uint64_t t0 = fw_mono_ns();
    memset(res, 0, sizeof *res);
    struct job j = {.env = env, .res = res};
    uint64_t seq0 = store_seq(env->st);
    int rc = fw_store_batch_begin(env->st, fw_wall_ms(), &j.err);
    if (rc == 0) {
        rc = fw_store_tasks_each(env->st, on_task, &j, &j.err);
        if (rc < 0 && j.rc == 0) {
            j.rc = rc;
            set_reason(res, &j.err);
        }
        if (j.rc == 0 && rc == 0 &&
            (rc = fw_store_batch_commit(env->st, &j.err)) == 0)
            all_events(&j, seq0);
        else if (j.rc != 0 || rc != 0)
            fw_store_feed_rollback(env->st);
    }
    if (rc < 0 && j.rc == 0)
        set_reason(res, &j.err);
    res->outcome = (rc != 0 || j.rc != 0) ? FW_JOB_RETRY : FW_JOB_DONE;
    free(j.ids);
    res->nanos = fw_mono_ns() - t0;
    return j.rc == FW_ENOMEM ? FW_ENOMEM : 0;
}
