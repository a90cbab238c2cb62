/* One feed, or one round of scheduled checks, through the engine into the
 * store (see feedjob.h). The feed's bytes are read once: hashed for the
 * duplicate check and then handed to the reader, so what is recorded under a
 * sha256 is exactly what was processed. */
#include "feedjob.h"
#include "fundwatch/i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"
#include "feedio.h"
#include "outbox.h"

/* What one job carries through the callbacks. */
struct job {
    const struct fw_job_env *env;
    struct fw_job_result *res;
    int rkind;                       /* of the record being run, or -1 */
    char (*ids)[FW_ID_HEX + 1];      /* ids fired for the current record */
    size_t n_ids, cap_ids;
    int rc;                          /* first store error, negative */
    struct fw_error err;
    uint64_t stale;                  /* task records older than the task's
                                        stored snapshot: not judged */
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

static void tally(struct fw_job_result *res, const struct fw_finding *f)
{
    for (size_t i = 0; i < res->n_tally; i++) {
        struct fw_job_tally *t = &res->tally[i];
        if (t->rule == f->rule && t->policy == f->policy &&
            t->kind == (int)f->kind && t->level == (int)f->level) {
            t->n++;
            return;
        }
    }
    if (res->n_tally == FW_JOB_TALLY_MAX) {
        res->untallied++;
        return;
    }
    res->tally[res->n_tally++] = (struct fw_job_tally){
        f->policy, f->rule, (int)f->kind, (int)f->level, 1};
}

static int on_finding(void *ud, const struct fw_finding *f)
{
    struct job *j = ud;
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
        if (b && fw_outbox_line(fw_store_last_event(j->env->st), f, NULL,
                                b) < 0) {
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
    int64_t resolved = 0;
    int rc = fw_store_subject_done(j->env->st, &s,
                                   (const char(*)[FW_ID_HEX + 1])j->ids,
                                   j->n_ids, fw_wall_ms(), &resolved, &j->err);
    if (rc < 0)
        return store_failed(j, rc);
    j->res->resolved += (uint64_t)resolved;
    return 0;
}

static int run_record(struct job *j, const struct fw_record *r, bool recheck)
{
    j->n_ids = 0;
    j->rkind = (int)r->kind;
    /* "Later" is by as_of everywhere: an older snapshot of a task than the
     * one kept fires, resolves and reopens nothing (the scheduled checks
     * judge the kept one only) */
    int rc = recheck ? 0 : fw_store_task_stale(j->env->st, r, &j->err);
    if (rc < 0)
        return store_failed(j, rc);
    if (rc == 1) {
        j->stale++;
        return 0;
    }
    rc = recheck ? fw_engine_recheck(j->env->eng, r, j->env->today,
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

static int on_record(void *ud, const struct fw_record *r)
{
    return run_record(ud, r, false);
}

static void on_reject(void *ud, const char *feed, uint64_t line,
                      const char *reason)
{
    (void)feed;
    struct job *j = ud;
    if (j->rc)
        return;
    int rc = fw_store_reject_add(j->env->st, line, reason, &j->err);
    if (rc < 0)
        store_failed(j, rc);
}

/* A total row whose sums disagree with the rows above it: an ops finding
 * of the feed, at that row (the same feed and row give the same id). */
static void on_problem(void *ud, const char *feed, uint64_t line,
                       const char *msg, const char *data)
{
    (void)msg;
    struct job *j = ud;
    if (j->rc)
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
    int saved = j->rkind;
    j->rkind = -1;
    on_finding(j, &f);
    j->rkind = saved;
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

int fw_job_feed_mem(const struct fw_job_env *env, const char *data,
                    size_t len, const char *label, enum fw_store_source src,
                    struct fw_job_result *res)
{
    uint64_t t0 = fw_mono_ns();
    memset(res, 0, sizeof *res);
    res->bytes = len;
    fw_sha256_hex(data, len, res->sha256);
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
        goto out;
    }
    if (rc == 1 && src == FW_SRC_SPOOL &&
        (rc = unmoved(env, res->sha256, label, len, &j.err)) != 1) {
        if (rc < 0) {
            res->outcome = FW_JOB_RETRY;
            set_reason(res, &j.err);
            goto out;
        }
        res->outcome = FW_JOB_UNMOVED;
        res->dup_of = dup;
        goto out;
    }
    if (rc == 1) {
        res->outcome = FW_JOB_DUPLICATE;
        res->dup_of = dup;
        record_only(&j, &feed, FW_FEED_DUPLICATE);
        goto out;
    }

    uint64_t seq0 = store_seq(env->st);
    if ((rc = fw_store_feed_begin(env->st, &feed, &j.err)) < 0) {
        res->outcome = FW_JOB_RETRY;
        set_reason(res, &j.err);
        goto out;
    }
    struct fw_reader_cb cb = {.on_record = on_record, .on_reject = on_reject,
                              .on_problem = on_problem};
    struct fw_reader_stats rs = {0};
    struct fw_error rerr = {0};
    if (env->observe)
        env->observe(env->hook_ud, NULL);
    rc = fw_engine_feed_begin(env->eng, label, env->today);
    if (rc < 0) {
        j.rc = rc;
        snprintf(res->reason, sizeof res->reason,
                 "the policy engine failed (%d): out of memory?", rc);
    } else
        rc = fw_feed_read_mem(data, len, label, FW_FMT_AUTO, env->map, &cb,
                              &j, &rs, &rerr);
    res->lines = rs.lines;
    res->records = rs.records;
    res->rejects = rs.rejects;
    memcpy(res->unknown, rs.unknown, sizeof res->unknown);
    if (rc == 0 && j.rc == 0) {
        j.rkind = -1;
        j.n_ids = 0;
        rc = fw_engine_feed_end(env->eng, on_finding, &j);
        size_t used = 0;
        for (size_t k = 0; k < fw_engine_policy_count(env->eng); k++) {
            const char *near, *f = fw_engine_policy_missed_field(env->eng, k,
                                                                 &near);
            if (f == NULL || used + 2 >= sizeof res->notes)
                continue;
            int w = snprintf(res->notes + used, sizeof res->notes - used,
                             _("%spolicy %s read rec.%s, which no column of "
                               "the records gives (did you mean rec.%s?)"),
                             used ? "; " : "", fw_engine_policy(env->eng, k)->id,
                             f, near);
            used = w < 0 ? used : used + (size_t)w;
            if (used >= sizeof res->notes)
                used = sizeof res->notes - 1;
        }
        if (j.stale && used + 2 < sizeof res->notes)
            snprintf(res->notes + used, sizeof res->notes - used,
                     _("%s%llu task records older (as_of) than the snapshot "
                       "of their task already stored: they fired, resolved "
                       "and reopened nothing"), used ? "; " : "",
                     (unsigned long long)j.stale);
    }
    if (j.rc != 0 || (rc > 0)) {
        /* the store (or the engine) failed: nothing of the feed stays */
        fw_store_feed_rollback(env->st);
        res->outcome = FW_JOB_RETRY;
        if (j.rc == 0)
            snprintf(res->reason, sizeof res->reason, "stopped (%d)", rc);
        rc = j.rc == FW_ENOMEM ? FW_ENOMEM : 0;
        goto out;
    }
    if (rc < 0) {
        /* the feed as a whole cannot be read: not CSV, NUL bytes, a
         * missing required column... */
        fw_store_feed_rollback(env->st);
        if (rc == FW_ENOMEM)
            goto out;
        set_reason(res, &rerr);
        res->outcome = FW_JOB_FAILED;
        memset(res->findings, 0, sizeof res->findings);
        res->n_tally = 0;
        res->events = res->resolved = 0;
        record_only(&j, &feed, FW_FEED_FAILED);
        rc = 0;
        goto out;
    }
    struct fw_store_feed_end end = {
        .lines = rs.lines, .records = rs.records, .rejects = rs.rejects,
        .finished_ms = fw_wall_ms(),
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
    res->nanos = fw_mono_ns() - t0;
    /* everything else is said by res->outcome and res->reason */
    return rc == FW_ENOMEM ? FW_ENOMEM : 0;
}

int fw_job_feed_file(const struct fw_job_env *env, const char *path,
                     const char *label, enum fw_store_source src,
                     struct fw_job_result *res)
{
    memset(res, 0, sizeof *res);
    struct fw_store_feed feed = {
        .name = label, .sha256 = res->sha256, .source = src,
        .started_ms = fw_wall_ms(), .generation = fw_engine_version(env->eng),
    };
    struct job j = {.env = env, .res = res};
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int e = errno;
        snprintf(res->reason, sizeof res->reason, "%s: cannot open: %s",
                 label, strerror(e));
        /* gone (deleted meanwhile): nothing to move or record */
        res->outcome = e == ENOENT ? FW_JOB_RETRY : FW_JOB_FAILED;
        if (res->outcome == FW_JOB_FAILED)
            record_only(&j, &feed, FW_FEED_FAILED);
        return 0;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        snprintf(res->reason, sizeof res->reason, "%s: not a regular file",
                 label);
        res->outcome = FW_JOB_FAILED;
        record_only(&j, &feed, FW_FEED_FAILED);
        return 0;
    }
    if ((uint64_t)sb.st_size > env->max_feed) {
        close(fd);
        snprintf(res->reason, sizeof res->reason,
                 "%s: %lld bytes, larger than limits.max_feed (%llu bytes)",
                 label, (long long)sb.st_size,
                 (unsigned long long)env->max_feed);
        res->bytes = (uint64_t)sb.st_size;
        res->outcome = FW_JOB_FAILED;
        record_only(&j, &feed, FW_FEED_FAILED);
        return 0;
    }
    res->dev = (uint64_t)sb.st_dev;
    res->ino = (uint64_t)sb.st_ino;
    size_t len = (size_t)sb.st_size, got = 0;
    char *data = malloc(len ? len : 1);
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
            free(data);
            snprintf(res->reason, sizeof res->reason, "%s: cannot read: %s",
                     label, e ? strerror(e) : "the file shrank while read");
            res->outcome = FW_JOB_FAILED;
            record_only(&j, &feed, FW_FEED_FAILED);
            return 0;
        }
        got += (size_t)k;
    }
    close(fd);
    uint64_t dev = res->dev, ino = res->ino;
    int rc = fw_job_feed_mem(env, data, len, label, src, res);
    res->dev = dev; /* fw_job_feed_mem starts from a clean result */
    res->ino = ino;
    free(data);
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
