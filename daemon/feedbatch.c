/* A feed's engine run kept for the store (see feedbatch.h). Everything is
 * copied into one blob: while ops are added it may move, so the pointers
 * inside payloads are kept as offsets (+1; 0 is NULL) and turned into
 * pointers once, by fw_batch_seal. */
#include "feedbatch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fundwatch/error.h"

#define ALIGN 16

struct finding_p {
    size_t json_at, json_len;
    struct fw_finding f;
};

struct subject_p {
    int kind;
    bool has_as_of;
    int32_t as_of;
    size_t region, dept, project, task; /* offset + 1, or 0 */
};

struct reject_p {
    uint64_t line;
    size_t reason;
};

void fw_batch_init(struct fw_batch *b, bool json)
{
    memset(b, 0, sizeof *b);
    fw_buf_init(&b->blob);
    b->json = json;
}

void fw_batch_reset(struct fw_batch *b, size_t keep)
{
    bool json = b->json;
    if (b->blob.cap > keep) {
        fw_buf_fini(&b->blob);
        fw_buf_init(&b->blob);
    }
    fw_buf_reset(&b->blob);
    if (b->cap_ops * sizeof *b->ops > keep) {
        free(b->ops);
        b->ops = NULL;
        b->cap_ops = 0;
    }
    b->n_ops = 0;
    b->n_names = b->next_name = 0;
    b->sealed = false;
    b->last = false;
    b->json = json;
}

void fw_batch_fini(struct fw_batch *b)
{
    fw_buf_fini(&b->blob);
    free(b->ops);
    memset(b, 0, sizeof *b);
}

/* Room for a payload of n bytes at an aligned offset: its offset, or
 * (size_t)-1. The blob's length covers it (zeroed). */
static size_t reserve(struct fw_batch *b, size_t n)
{
    size_t at = (b->blob.len + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (fw_buf_reserve(&b->blob, at - b->blob.len + n) < 0)
        return (size_t)-1;
    memset(b->blob.p + b->blob.len, 0, at - b->blob.len + n);
    b->blob.len = at + n;
    return at;
}

/* A copy of the n bytes at p, NUL-terminated: its offset + 1, or 0 when
 * out of memory (*bad set). */
static size_t put_n(struct fw_batch *b, const char *p, size_t n, bool *bad)
{
    size_t at = b->blob.len;
    if (fw_buf_reserve(&b->blob, n + 1) < 0) {
        *bad = true;
        return 0;
    }
    memcpy(b->blob.p + at, p, n);
    b->blob.p[at + n] = '\0';
    b->blob.len = at + n + 1;
    return at + 1;
}

static size_t put_s(struct fw_batch *b, const char *s, bool *bad)
{
    return s ? put_n(b, s, strlen(s), bad) : 0;
}

/* The engine's names (policy, rule, title...) are few: each kept once. The
 * text is compared as well as the pointer, so a name in a reused buffer is
 * never taken for another. */
static size_t put_name(struct fw_batch *b, const char *s, bool *bad)
{
    if (s == NULL)
        return 0;
    for (size_t i = 0; i < b->n_names; i++)
        if (b->names[i].src == s &&
            strcmp(b->blob.p + b->names[i].at - 1, s) == 0)
            return b->names[i].at;
    size_t at = put_s(b, s, bad);
    if (at) {
        size_t i = b->n_names < FW_BATCH_NAMES ? b->n_names++
                                               : b->next_name++ %
                                                     FW_BATCH_NAMES;
        b->names[i].src = s;
        b->names[i].at = at;
    }
    return at;
}

/* An op that could not be added: the blob back to len0 and the names kept
 * past it forgotten; FW_ENOMEM. */
static int rollback(struct fw_batch *b, size_t len0)
{
    b->blob.len = len0;
    for (size_t i = 0; i < b->n_names; i++)
        if (b->names[i].at > len0)
            b->names[i].src = NULL;
    return FW_ENOMEM;
}

static int add_op(struct fw_batch *b, int type, int rkind, uint32_t n,
                  size_t at)
{
    if (b->n_ops == b->cap_ops) {
        size_t cap = b->cap_ops ? 2 * b->cap_ops : 1024;
        void *p = realloc(b->ops, cap * sizeof *b->ops);
        if (p == NULL)
            return FW_ENOMEM;
        b->ops = p;
        b->cap_ops = cap;
    }
    b->ops[b->n_ops++] = (struct fw_bop){
        .type = (uint8_t)type, .rkind = (int8_t)rkind, .n = n, .at = at};
    return 0;
}

#define OFF(x) ((const char *)(uintptr_t)(x))

int fw_batch_finding(struct fw_batch *b, const struct fw_finding *f,
                     int rkind)
{
    size_t len0 = b->blob.len, at = reserve(b, sizeof(struct finding_p));
    if (at == (size_t)-1)
        return FW_ENOMEM;
    bool bad = false;
    struct finding_p h = {.f = *f};
    h.f.policy = OFF(put_name(b, f->policy, &bad));
    h.f.policy_version = OFF(put_name(b, f->policy_version, &bad));
    h.f.rule = OFF(put_name(b, f->rule, &bad));
    h.f.title = OFF(put_name(b, f->title, &bad));
    h.f.rule_source = OFF(put_name(b, f->rule_source, &bad));
    h.f.feed = OFF(put_name(b, f->feed, &bad));
    h.f.region = OFF(put_s(b, f->region, &bad));
    h.f.dept = OFF(put_s(b, f->dept, &bad));
    h.f.project = OFF(put_s(b, f->project, &bad));
    h.f.task = OFF(put_s(b, f->task, &bad));
    h.f.ratio = OFF(put_s(b, f->ratio, &bad));
    h.f.grade = OFF(put_s(b, f->grade, &bad));
    h.f.message = OFF(put_s(b, f->message, &bad));
    h.f.dept_name = OFF(put_s(b, f->dept_name, &bad));
    h.f.project_name = OFF(put_s(b, f->project_name, &bad));
    h.f.evidence = OFF(put_s(b, f->evidence, &bad));
    if (!bad && b->json) {
        h.json_at = b->blob.len;
        bad = fw_finding_json(f, &b->blob) < 0;
        h.json_len = b->blob.len - h.json_at;
    }
    if (bad || add_op(b, FW_BOP_FINDING, rkind, 0, at) < 0) {
        return rollback(b, len0);
    }
    memcpy(b->blob.p + at, &h, sizeof h);
    return 0;
}

int fw_batch_task(struct fw_batch *b, const struct fw_record *r)
{
    size_t len0 = b->blob.len, at = reserve(b, sizeof *r);
    if (at == (size_t)-1)
        return FW_ENOMEM;
    size_t names = 0, vals = 0;
    if (r->n_extra) {
        names = reserve(b, 2 * r->n_extra * sizeof(struct fw_str));
        vals = names + r->n_extra * sizeof(struct fw_str);
        if (names == (size_t)-1)
            return rollback(b, len0);
    }
    bool bad = false;
    struct fw_record c = *r;
    for (int i = 0; i < FW__F_COUNT; i++)
        c.str[i].p = r->str[i].p ? OFF(put_n(b, r->str[i].p, r->str[i].n,
                                               &bad))
                                 : NULL;
    for (size_t i = 0; i < r->n_extra && !bad; i++) {
        struct fw_str nm = {OFF(put_n(b, r->extra_name[i].p,
                                      r->extra_name[i].n, &bad)),
                            r->extra_name[i].n};
        struct fw_str vl = {OFF(put_n(b, r->extra_val[i].p,
                                      r->extra_val[i].n, &bad)),
                            r->extra_val[i].n};
        memcpy(b->blob.p + names + i * sizeof nm, &nm, sizeof nm);
        memcpy(b->blob.p + vals + i * sizeof vl, &vl, sizeof vl);
    }
    c.extra_name = r->n_extra ? (const struct fw_str *)(uintptr_t)(names + 1)
                              : NULL;
    c.extra_val = r->n_extra ? (const struct fw_str *)(uintptr_t)(vals + 1)
                             : NULL;
    c.feed = OFF(put_name(b, r->feed, &bad));
    if (bad || add_op(b, FW_BOP_TASK, r->kind, 0, at) < 0) {
        return rollback(b, len0);
    }
    memcpy(b->blob.p + at, &c, sizeof c);
    return 0;
}

/* The record's text field, cut as feedjob.c's subject always cut it. */
static size_t put_field(struct fw_batch *b, const struct fw_record *r,
                        enum fw_field f, size_t max, bool *bad)
{
    if (!fw_record_has(r, f))
        return 0;
    size_t k = r->str[f].n < max - 1 ? r->str[f].n : max - 1;
    return put_n(b, r->str[f].p, k, bad);
}

int fw_batch_subject(struct fw_batch *b, const struct fw_record *r,
                     uint32_t n_findings)
{
    size_t len0 = b->blob.len, at = reserve(b, sizeof(struct subject_p));
    if (at == (size_t)-1)
        return FW_ENOMEM;
    bool bad = false;
    struct subject_p s = {
        .kind = (int)r->kind,
        .has_as_of = fw_record_has(r, FW_F_AS_OF),
        .as_of = (int32_t)r->num[FW_F_AS_OF],
    };
    s.region = put_field(b, r, FW_F_REGION, 16, &bad);
    s.dept = put_field(b, r, FW_F_DEPT, 128, &bad);
    s.project = put_field(b, r, FW_F_PROJECT, 128, &bad);
    s.task = put_field(b, r, FW_F_TASK, 128, &bad);
    if (bad || add_op(b, FW_BOP_SUBJECT, r->kind, n_findings, at) < 0) {
        return rollback(b, len0);
    }
    memcpy(b->blob.p + at, &s, sizeof s);
    return 0;
}

int fw_batch_reject(struct fw_batch *b, uint64_t line, const char *reason)
{
    size_t len0 = b->blob.len, at = reserve(b, sizeof(struct reject_p));
    if (at == (size_t)-1)
        return FW_ENOMEM;
    bool bad = false;
    struct reject_p rj = {.line = line};
    rj.reason = put_s(b, reason ? reason : "", &bad);
    if (bad || add_op(b, FW_BOP_REJECT, -1, 0, at) < 0) {
        return rollback(b, len0);
    }
    memcpy(b->blob.p + at, &rj, sizeof rj);
    return 0;
}

static const char *ptr(const struct fw_batch *b, const char *off)
{
    uintptr_t o = (uintptr_t)off;
    return o ? b->blob.p + o - 1 : NULL;
}

void fw_batch_seal(struct fw_batch *b)
{
    if (b->sealed)
        return;
    b->sealed = true;
    for (size_t i = 0; i < b->n_ops; i++) {
        const struct fw_bop *op = &b->ops[i];
        if (op->type == FW_BOP_FINDING) {
            struct fw_finding *f =
                &((struct finding_p *)(void *)(b->blob.p + op->at))->f;
            const char **s[] = {
                &f->policy, &f->policy_version, &f->rule, &f->title,
                &f->rule_source, &f->feed, &f->region, &f->dept,
                &f->project, &f->task, &f->ratio, &f->grade, &f->message,
                &f->dept_name, &f->project_name, &f->evidence};
            for (size_t k = 0; k < sizeof s / sizeof *s; k++)
                *s[k] = ptr(b, *s[k]);
        } else if (op->type == FW_BOP_TASK) {
            struct fw_record *r = (struct fw_record *)(void *)(b->blob.p +
                                                                op->at);
            for (int k = 0; k < FW__F_COUNT; k++)
                r->str[k].p = ptr(b, r->str[k].p);
            if (r->n_extra) {
                struct fw_str *nm = (struct fw_str *)(void *)ptr(
                    b, (const char *)r->extra_name);
                struct fw_str *vl = (struct fw_str *)(void *)ptr(
                    b, (const char *)r->extra_val);
                for (size_t k = 0; k < r->n_extra; k++) {
                    nm[k].p = ptr(b, nm[k].p);
                    vl[k].p = ptr(b, vl[k].p);
                }
                r->extra_name = nm;
                r->extra_val = vl;
            }
            r->feed = ptr(b, r->feed);
        }
    }
}

const struct fw_finding *fw_batch_get_finding(const struct fw_batch *b,
                                              const struct fw_bop *op,
                                              const char **json,
                                              size_t *json_len)
{
    const struct finding_p *h =
        (const struct finding_p *)(const void *)(b->blob.p + op->at);
    *json = b->json ? b->blob.p + h->json_at : NULL;
    *json_len = h->json_len;
    return &h->f;
}

const struct fw_record *fw_batch_get_task(const struct fw_batch *b,
                                          const struct fw_bop *op)
{
    return (const struct fw_record *)(const void *)(b->blob.p + op->at);
}

void fw_batch_get_subject(const struct fw_batch *b, const struct fw_bop *op,
                          struct fw_store_subject *s)
{
    struct subject_p p;
    memcpy(&p, b->blob.p + op->at, sizeof p);
    *s = (struct fw_store_subject){
        .kind = (enum fw_rkind)p.kind,
        .region = ptr(b, OFF(p.region)),
        .dept = ptr(b, OFF(p.dept)),
        .project = ptr(b, OFF(p.project)),
        .task = ptr(b, OFF(p.task)),
        .has_as_of = p.has_as_of,
        .as_of = p.as_of,
    };
}

const char *fw_batch_get_reject(const struct fw_batch *b,
                                const struct fw_bop *op, uint64_t *line)
{
    struct reject_p rj;
    memcpy(&rj, b->blob.p + op->at, sizeof rj);
    *line = rj.line;
    return ptr(b, OFF(rj.reason));
}

/* ---- the pipe ------------------------------------------------------------- */

#define PIPE_SLOTS 3
#define PIPE_KEEP (4u << 20) /* bytes a batch keeps between slices */

struct fw_batch_pipe {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* every change of state below: broadcast */
    void (*fn)(void *);
    void *arg;
    bool busy, quit, stop;
    bool json;         /* findings' JSON wanted (outbox lines) */
    bool behind;       /* the caller lags: the thread renders the JSON */
    bool ended;        /* get: the last batch of a run was handed out */
    bool postable;     /* a run goes on that a post may follow */
    void *posted;      /* what the task goes on with after this run */
    const void *taken; /* the last posted that it went on with */
    struct fw_batch slots[PIPE_SLOTS];
    struct fw_batch *free_[PIPE_SLOTS];
    size_t n_free;
    struct fw_batch *ready[PIPE_SLOTS];
    size_t r_head, n_ready;
};

static void *pipe_main(void *arg)
{
    struct fw_batch_pipe *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->fn == NULL && !p->quit)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->fn == NULL)
            break;
        void (*fn)(void *) = p->fn;
        void *a = p->arg;
        pthread_mutex_unlock(&p->mu);
        fn(a);
        pthread_mutex_lock(&p->mu);
        p->fn = NULL;
        p->busy = false;
        p->postable = false;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct fw_batch_pipe *fw_batch_pipe_new(void)
{
    struct fw_batch_pipe *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    for (int i = 0; i < PIPE_SLOTS; i++)
        fw_batch_init(&p->slots[i], false);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->th, NULL, pipe_main, p) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    return p;
}

void fw_batch_pipe_free(struct fw_batch_pipe *p)
{
    if (p == NULL)
        return;
    fw_batch_pipe_wait(p);
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
    for (int i = 0; i < PIPE_SLOTS; i++)
        fw_batch_fini(&p->slots[i]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void fw_batch_pipe_start(struct fw_batch_pipe *p, void (*fn)(void *),
                         void *arg, bool json)
{
    fw_batch_pipe_wait(p);
    pthread_mutex_lock(&p->mu);
    p->n_free = p->n_ready = p->r_head = 0;
    for (int i = 0; i < PIPE_SLOTS; i++) {
        fw_batch_reset(&p->slots[i], PIPE_KEEP);
        p->slots[i].json = json;
        p->free_[p->n_free++] = &p->slots[i];
    }
    p->stop = p->ended = false;
    p->json = json;
    p->behind = false;
    p->posted = NULL;
    p->taken = NULL;
    p->postable = true;
    p->fn = fn;
    p->arg = arg;
    p->busy = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* (locked) b back to the thread, emptied. */
static void recycle(struct fw_batch_pipe *p, struct fw_batch *b)
{
    bool json = b->json;
    fw_batch_reset(b, PIPE_KEEP);
    b->json = json;
    p->free_[p->n_free++] = b;
    pthread_cond_broadcast(&p->cv);
}

void fw_batch_pipe_wait(struct fw_batch_pipe *p)
{
    pthread_mutex_lock(&p->mu);
    if (p->busy)
        p->stop = true; /* a run still going is not wanted */
    for (;;) {
        while (p->n_ready) { /* dropped: the thread may wait for room */
            struct fw_batch *b = p->ready[p->r_head];
            p->r_head = (p->r_head + 1) % PIPE_SLOTS;
            p->n_ready--;
            recycle(p, b);
        }
        if (!p->busy)
            break;
        pthread_cond_wait(&p->cv, &p->mu);
    }
    p->ended = false;
    pthread_mutex_unlock(&p->mu);
}

struct fw_batch *fw_batch_pipe_first(struct fw_batch_pipe *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->n_free == 0) /* the run before holds them still */
        pthread_cond_wait(&p->cv, &p->mu);
    struct fw_batch *b = p->free_[--p->n_free];
    b->json = p->json && p->behind;
    pthread_mutex_unlock(&p->mu);
    return b;
}

static void push_ready(struct fw_batch_pipe *p, struct fw_batch *b)
{
    fw_batch_seal(b);
    p->ready[(p->r_head + p->n_ready++) % PIPE_SLOTS] = b;
}

int fw_batch_pipe_put(struct fw_batch_pipe *p, struct fw_batch **b)
{
    pthread_mutex_lock(&p->mu);
    push_ready(p, *b);
    pthread_cond_broadcast(&p->cv);
    /* A finding's JSON (its outbox line) is rendered on the side with time
     * to spare: here while the caller has batches waiting, else there (from
     * the finding's copy: the same bytes). */
    p->behind = p->n_ready > 1 || p->n_free == 0;
    /* the caller takes every batch, also after it asked to stop */
    while (p->n_free == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    *b = p->free_[--p->n_free];
    (*b)->json = p->json && p->behind;
    int stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    return stop;
}

void *fw_batch_pipe_close(struct fw_batch_pipe *p, struct fw_batch *b)
{
    pthread_mutex_lock(&p->mu);
    b->last = true;
    push_ready(p, b);
    void *next = p->stop ? NULL : p->posted;
    p->posted = NULL;
    p->postable = next != NULL;
    if (next)
        p->taken = next;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return next;
}

struct fw_batch *fw_batch_pipe_get(struct fw_batch_pipe *p)
{
    pthread_mutex_lock(&p->mu);
    struct fw_batch *b = NULL;
    for (;;) {
        if (p->ended) {
            p->ended = false;
            break;
        }
        if (p->n_ready) {
            b = p->ready[p->r_head];
            p->r_head = (p->r_head + 1) % PIPE_SLOTS;
            p->n_ready--;
            if (b->last && b->n_ops == 0) {
                recycle(p, b);
                b = NULL;
            } else if (b->last) {
                p->ended = true;
            }
            break;
        }
        if (!p->busy)
            break;
        pthread_cond_wait(&p->cv, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return b;
}

void fw_batch_pipe_release(struct fw_batch_pipe *p, struct fw_batch *b)
{
    bool json = b->json;
    fw_batch_reset(b, PIPE_KEEP); /* its memory, outside the lock */
    b->json = json;
    pthread_mutex_lock(&p->mu);
    recycle(p, b);
    pthread_mutex_unlock(&p->mu);
}

void fw_batch_pipe_stop(struct fw_batch_pipe *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int fw_batch_pipe_post(struct fw_batch_pipe *p, void *arg)
{
    pthread_mutex_lock(&p->mu);
    int rc = -1;
    if (p->busy && p->postable && !p->stop && p->posted == NULL) {
        p->posted = arg;
        rc = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

bool fw_batch_pipe_taken(struct fw_batch_pipe *p, const void *arg)
{
    pthread_mutex_lock(&p->mu);
    bool yes = arg != NULL && p->taken == arg;
    if (yes)
        p->taken = NULL; /* told once: arg's memory may come back later */
    pthread_mutex_unlock(&p->mu);
    return yes;
}
