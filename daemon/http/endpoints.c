/* What the running daemon answers on its HTTP API (api.c parses, http.c
 * speaks HTTP): health, Prometheus metrics, stored findings through a
 * read-only store connection, the running generation, POST /feeds as a job
 * queued on the core's worker and POST /reload through the reload part.
 * A part of the core (core.h); everything here runs on the loop thread
 * except a POST /feeds job's run (the worker). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fundwatch/record.h"

#include "ack.h"
#include "api.h"
#include "core.h"
#include "dash.h"
#include "http.h"
#include "outbox.h"
#include "prom.h"
#include "reload.h"
#include "report/report.h"
#include "shadow.h"
#include "sys.h"

struct fw_http_api {
    struct fwd *d;
    struct fw_reload *rl;
    struct fw_shadow *sh;
    struct fw_http_server *http;
    struct fw_api api;
    struct fw_http_server *mhttp; /* metrics_listen's, or NULL */
    struct fw_api mapi;
    bool closed;
    uint64_t ingest_bytes;  /* bodies of queued POST /feeds */
    /* GET /summary's last answer, kept while the store's counts and the
     * hour stay the same */
    struct fw_buf summary;
    uint64_t summary_key;
    int64_t summary_ms;
};

/* A POST /feeds waiting for, or done by, the worker. */
struct ingest {
    struct fw_core_job job;  /* first: the core hands it back */
    struct fw_http_api *a;
    struct fw_http_conn *conn;
    char name[256];
    const char *body;        /* the request's: valid until it is answered */
    size_t len;
    int status;              /* the HTTP answer, once processed */
    struct fw_buf answer;    /* its JSON */
};

/* ---- health ------------------------------------------------------------------- */

static void kv_str(struct fw_buf *b, const char *k, const char *v)
{
    fw_buf_printf(b, ",\"%s\":", k);
    if (v && *v)
        fw_buf_json_str(b, v, strlen(v));
    else
        fw_buf_puts(b, "null");
}

static int op_health(void *ud, bool ready, struct fw_buf *out, bool *ok)
{
    struct fw_http_api *a = ud;
    struct fwd *d = a->d;
    bool stopping = atomic_load(&d->stopping);
    *ok = !ready || !stopping;
    char when[32];
    fw_buf_printf(out, "{\"status\":\"%s\"",
                  stopping ? "stopping" : ready ? "ready" : "ok");
    kv_str(out, "generation", d->running_version);
    fw_buf_printf(out, ",\"policies\":%zu", d->n_snap);
    fw_buf_puts(out, ",\"last_reload\":{");
    fw_buf_printf(out, "\"ok\":%s", d->last_reload.ok ? "true" : "false");
    fw_iso_ms(d->last_reload.at_ms, when);
    kv_str(out, "at", when);
    kv_str(out, "version", d->last_reload.version);
    kv_str(out, "error", d->last_reload.error);
    fw_buf_printf(out, ",\"ms\":%.1f", (double)d->last_reload.nanos / 1e6);
    if (d->last_reload.failed_at_ms) {
        fw_iso_ms(d->last_reload.failed_at_ms, when);
        fw_buf_puts(out, ",\"last_failure\":{\"at\":");
        fw_buf_json_str(out, when, strlen(when));
        kv_str(out, "error", d->last_reload.failure);
        fw_buf_puts(out, "}}");
    } else {
        fw_buf_puts(out, ",\"last_failure\":null}");
    }
    fw_buf_printf(out, ",\"reloading\":%s", d->reloading ? "true" : "false");
    fw_buf_printf(out, ",\"feeds_processed\":%llu,\"feeds_failed\":%llu,"
                  "\"feeds_duplicate\":%llu,\"queue\":%llu",
                  (unsigned long long)atomic_load(&d->feeds_done),
                  (unsigned long long)atomic_load(&d->feeds_failed),
                  (unsigned long long)atomic_load(&d->feeds_dup),
                  (unsigned long long)atomic_load(&d->queue_len));
    uv_mutex_lock(&d->mu);
    kv_str(out, "last_error", d->last_error);
    if (d->last_error_ms) {
        fw_iso_ms(d->last_error_ms, when);
        kv_str(out, "last_error_at", when);
    }
    uv_mutex_unlock(&d->mu);
    fw_iso_ms(d->started_ms, when);
    kv_str(out, "started", when);
    fw_buf_puts(out, "}\n");
    return 0;
}

/* ---- metrics -------------------------------------------------------------------- */

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static void counter(struct fw_buf *b, const char *name, const char *help,
                    uint64_t v)
{
    fw_prom_family(b, name, "counter", help);
    fw_prom_int(b, name, NULL, (int64_t)v);
}

static void gauge(struct fw_buf *b, const char *name, const char *help,
                  int64_t v)
{
    fw_prom_family(b, name, "gauge", help);
    fw_prom_int(b, name, NULL, v);
}

static void policy_family(struct fw_buf *b, struct fwd *d, const char *name,
                          const char *help, size_t off, bool seconds)
{
    fw_prom_family(b, name, "counter", help);
    /* the running generation plus what earlier generations counted */
    for (size_t i = 0; i < d->n_snap; i++) {
        struct fw_policy_stats st = d->snap[i].st;
        for (size_t k = 0; k < d->n_retired; k++)
            if (strcmp(d->retired[k].id, d->snap[i].id) == 0)
                fw_policy_stats_add(&st, &d->retired[k].st);
        uint64_t v = *(const uint64_t *)((const char *)&st + off);
        if (seconds)
            fw_prom_seconds(b, name, L("policy", d->snap[i].id), v / 1000);
        else
            fw_prom_int(b, name, L("policy", d->snap[i].id), (int64_t)v);
    }
}

static int op_metrics(void *ud, struct fw_buf *b)
{
    struct fw_http_api *a = ud;
    struct fwd *d = a->d;
    fw_prom_family(b, "fundwatch_build_info", "gauge",
                   "The running fundwatch and its policy generation.");
    fw_prom_int(b, "fundwatch_build_info",
                L("version", FW_VERSION, "generation", d->running_version), 1);
    gauge(b, "fundwatch_start_time_seconds", "When the daemon started.",
          d->started_ms / 1000);

    fw_prom_family(b, "fundwatch_feeds_total", "counter",
                   "Feeds taken from the spool or POST /feeds, by outcome.");
    fw_prom_int(b, "fundwatch_feeds_total", L("outcome", "done"),
                (int64_t)atomic_load(&d->feeds_done));
    fw_prom_int(b, "fundwatch_feeds_total", L("outcome", "failed"),
                (int64_t)atomic_load(&d->feeds_failed));
    fw_prom_int(b, "fundwatch_feeds_total", L("outcome", "duplicate"),
                (int64_t)atomic_load(&d->feeds_dup));
    fw_prom_int(b, "fundwatch_feeds_total", L("outcome", "retry"),
                (int64_t)atomic_load(&d->feeds_retry));
    counter(b, "fundwatch_records_total", "Records read from feeds.",
            atomic_load(&d->records));
    counter(b, "fundwatch_rejects_total",
            "Lines of feeds that could not be read.",
            atomic_load(&d->rejects));
    fw_prom_family(b, "fundwatch_feed_seconds_total", "counter",
                   "Time spent processing feeds.");
    fw_prom_seconds(b, "fundwatch_feed_seconds_total", NULL,
                    atomic_load(&d->feed_nanos) / 1000);
    counter(b, "fundwatch_findings_new_total",
            "Findings written to the outbox: new, or reopened.",
            atomic_load(&d->events));
    counter(b, "fundwatch_findings_resolved_total",
            "Open findings a later snapshot no longer fired.",
            atomic_load(&d->resolved));
    counter(b, "fundwatch_scheduled_checks_total",
            "Rounds of scheduled (deadline) checks.",
            atomic_load(&d->sched_runs));

    fw_prom_family(b, "fundwatch_findings_total", "counter",
                   "Findings fired, by kind, level, policy and rule.");
    uv_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->n_tally; i++) {
        const struct fw_tally *t = &d->tally[i];
        fw_prom_int(b, "fundwatch_findings_total",
                    L("kind", fw_fkind_name(t->kind), "level",
                      fw_level_name(t->level), "policy", t->policy, "rule",
                      t->rule),
                    (int64_t)t->n);
    }
    policy_family(b, d, "fundwatch_policy_calls_total",
                  "Hook calls, by policy.",
                  offsetof(struct fw_policy_stats, calls), false);
    policy_family(b, d, "fundwatch_policy_errors_total",
                  "Error findings (raised, bad emit, limits), by policy.",
                  offsetof(struct fw_policy_stats, errors), false);
    policy_family(b, d, "fundwatch_policy_budget_breaches_total",
                  "Hook calls stopped by the instruction budget, by policy.",
                  offsetof(struct fw_policy_stats, budget_breaches), false);
    policy_family(b, d, "fundwatch_policy_memory_breaches_total",
                  "Hook calls stopped by the memory cap, by policy.",
                  offsetof(struct fw_policy_stats, mem_breaches), false);
    policy_family(b, d, "fundwatch_policy_suspended_records_total",
                  "Records skipped while a failing policy was suspended.",
                  offsetof(struct fw_policy_stats, suspended), false);
    policy_family(b, d, "fundwatch_policy_eval_seconds_total",
                  "Time spent in a policy's hooks (sampled), by policy.",
                  offsetof(struct fw_policy_stats, nanos), true);
    uv_mutex_unlock(&d->mu);

    fw_prom_family(b, "fundwatch_reloads_total", "counter",
                   "Policy reloads, by result.");
    fw_prom_int(b, "fundwatch_reloads_total", L("result", "success"),
                (int64_t)d->reloads_ok);
    fw_prom_int(b, "fundwatch_reloads_total", L("result", "failure"),
                (int64_t)d->reloads_failed);
    gauge(b, "fundwatch_last_reload_successful",
          "1 when the last reload was put in place, 0 when it was refused.",
          d->last_reload.ok ? 1 : 0);
    gauge(b, "fundwatch_last_reload_timestamp_seconds",
          "When the last reload ended.", d->last_reload.at_ms / 1000);
    fw_prom_family(b, "fundwatch_last_reload_duration_seconds", "gauge",
                   "Build, check and tests of the last reload.");
    fw_prom_seconds(b, "fundwatch_last_reload_duration_seconds", NULL,
                    d->last_reload.nanos / 1000);

    gauge(b, "fundwatch_spool_queue_length",
          "Feeds waiting in spool/incoming/.",
          (int64_t)atomic_load(&d->queue_len));
    int64_t oldest = atomic_load(&d->oldest_ms);
    int64_t lag = oldest ? fw_wall_ms() - oldest : 0;
    fw_prom_family(b, "fundwatch_feed_lag_seconds", "gauge",
                   "Age of the oldest feed waiting in spool/incoming/.");
    fw_prom_seconds(b, "fundwatch_feed_lag_seconds", NULL,
                    lag > 0 ? (uint64_t)lag * 1000 : 0);

    const struct fw_store_counts c = d->counts; /* as of the last job */
    if (d->have_counts) {
        fw_prom_family(b, "fundwatch_stored_findings", "gauge",
                       "Findings in the store, by kind and state.");
        for (int k = 0; k < FW__FK_COUNT; k++)
            for (int s = 0; s < 2; s++)
                fw_prom_int(b, "fundwatch_stored_findings",
                            L("kind", fw_fkind_name(k), "state",
                              s ? "resolved" : "open"),
                            c.findings[k][s]);
        gauge(b, "fundwatch_stored_tasks",
              "Task records kept for the scheduled checks.", c.tasks);
        gauge(b, "fundwatch_outbox_pending",
              "Committed findings not yet appended to the outbox.",
              c.outbox_seq > c.outbox_marked
                  ? (int64_t)(c.outbox_seq - c.outbox_marked)
                  : 0);
    }
    return 0;
}

/* ---- findings --------------------------------------------------------------- */

static void finding_json(struct fw_buf *b, const struct fw_store_finding *sf)
{
    size_t at = b->len;
    fw_finding_json(&sf->f, b);
    if (b->len > at && b->p[b->len - 1] == '}') {
        b->len--; /* the contract's object, plus its state in the store */
        char t[32];
        fw_buf_printf(b, ",\"state\":\"%s\"",
                      sf->state == FW_ST_OPEN ? "open" : "resolved");
        fw_iso_ms(sf->first_seen, t);
        fw_buf_printf(b, ",\"first_seen\":\"%s\"", t);
        fw_iso_ms(sf->last_seen, t);
        fw_buf_printf(b, ",\"last_seen\":\"%s\"", t);
        if (sf->resolved_at) {
            fw_iso_ms(sf->resolved_at, t);
            fw_buf_printf(b, ",\"resolved_at\":\"%s\"", t);
        }
        fw_buf_putc(b, ',');
        if (sf->ack_at)
            fw_outbox_ack_json(b, sf->ack_by, sf->ack_at, sf->ack_note);
        else
            fw_buf_puts(b, "\"acknowledged\":null");
        fw_buf_putc(b, '}');
    }
}

struct page {
    struct fw_buf *out;
    size_t n;
};

static int page_cb(void *ud, const struct fw_store_finding *sf)
{
    struct page *p = ud;
    if (p->n++)
        fw_buf_putc(p->out, ',');
    finding_json(p->out, sf);
    return 0;
}

/* "2024-06-30" or "2024-06-30T08:00:00Z" → unix ms (UTC). */
static int64_t since_ms(const char *s)
{
    struct tm tm = {0};
    if (sscanf(s, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
        return 0;
    if (strlen(s) > 10)
        sscanf(s + 11, "%2d:%2d:%2d", &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000;
}

/* The store's query for the API's filters; from/to (checked dates) as
 * the store's as_of range. */
static struct fw_store_query query_of(const struct fw_api_findings_q *q)
{
    struct fw_store_query sq = {
        .region_prefix = q->region[0] ? q->region : NULL,
        .kind = q->kind[0] ? fw_fkind_parse(q->kind) : -1,
        .level = q->level[0] ? fw_level_parse(q->level) : -1,
        .rule = q->rule[0] ? q->rule : NULL,
        .state = !q->state[0]                    ? -1
                 : strcmp(q->state, "open") == 0 ? FW_ST_OPEN
                                                 : FW_ST_RESOLVED,
        .since_ms = q->since[0] ? since_ms(q->since) : 0,
        .limit = (unsigned)q->limit,
        .cursor = q->after,
        .dept = q->dept[0] ? q->dept : NULL,
    };
    const char *why = NULL;
    if (q->from[0])
        sq.has_from = fw_date_parse(q->from, strlen(q->from), &sq.as_of_from,
                                    &why) == 0;
    if (q->to[0])
        sq.has_to = fw_date_parse(q->to, strlen(q->to), &sq.as_of_to,
                                  &why) == 0;
    return sq;
}

static int op_findings(void *ud, const struct fw_api_findings_q *q,
                       struct fw_buf *out)
{
    struct fw_http_api *a = ud;
    struct fwd *d = a->d;
    struct fw_store_query sq = query_of(q);
    struct page p = {.out = out};
    int64_t next = 0;
    struct fw_error err = {0};
    fw_buf_puts(out, "{\"findings\":[");
    if (fw_store_query(d->ro, &sq, page_cb, &p, &next, &err) < 0) {
        fw_buf_reset(out);
        fw_buf_printf(out, "the store cannot be read: %s", err.msg);
        return err.code == FW_EBUSY ? 503 : 500;
    }
    fw_buf_printf(out, "],\"count\":%zu,\"next\":", p.n);
    if (next)
        fw_buf_printf(out, "\"/findings?after=%lld\"", (long long)next);
    else
        fw_buf_puts(out, "null");
    fw_buf_printf(out, ",\"after\":%lld}\n", (long long)next);
    return 0;
}

static int op_finding(void *ud, const char *id, struct fw_buf *out)
{
    struct fw_http_api *a = ud;
    struct fwd *d = a->d;
    struct fw_store_finding sf;
    struct fw_error err = {0};
    int rc = fw_store_finding_get(d->ro, id, &sf, &err);
    if (rc == FW_ENOENT) {
        fw_buf_printf(out, "no finding %s", id);
        return 404;
    }
    if (rc < 0) {
        fw_buf_printf(out, "the store cannot be read: %s", err.msg);
        return 500;
    }
    finding_json(out, &sf);
    fw_buf_putc(out, '\n');
    return 0;
}

static int op_policies(void *ud, struct fw_buf *out)
{
    struct fw_http_api *a = ud;
    struct fwd *d = a->d;
    fw_buf_append(out, d->policies_json.p, d->policies_json.len);
    return 0;
}

/* ---- GET /report.xlsx ------------------------------------------------------------- */

struct report_q {
    struct fw_report *r;
    int32_t from, to;
    bool has_from, has_to;
    int rc;
};

static int report_cb(void *ud, const struct fw_store_finding *sf)
{
    struct report_q *rq = ud;
    const struct fw_finding *f = &sf->f;
    if ((rq->has_from || rq->has_to) &&
        (!f->has_as_of || (rq->has_from && f->as_of < rq->from) ||
         (rq->has_to && f->as_of > rq->to)))
        return 0;
    if (fw_report_add(rq->r, f, sf->state == FW_ST_OPEN ? FW_REPORT_OPEN
                                                        : FW_REPORT_RESOLVED,
                      sf->first_seen) < 0)
        return rq->rc = FW_ENOMEM;
    return 0;
}

/* The workbook is written to a private temporary file (libxlsxwriter
 * writes files) and read back; the store is read on the loop, as GET
 * /findings is, a page of 10,000 at a time. */
static int op_report(void *ud, const struct fw_api_findings_q *q,
                     struct fw_buf *out)
{
    struct fw_http_api *a = ud;
    struct fwd *d = a->d;
    const char *why = NULL;
    struct report_q rq = {.r = fw_report_new()};
    if (rq.r == NULL)
        return 503;
    if (q->from[0])
        rq.has_from = fw_date_parse(q->from, strlen(q->from), &rq.from,
                                    &why) == 0;
    if (q->to[0])
        rq.has_to = fw_date_parse(q->to, strlen(q->to), &rq.to, &why) == 0;
    struct fw_store_query sq = query_of(q);
    sq.limit = 10000;
    struct fw_error err = {0};
    int status = 0;
    do {
        int64_t next = 0;
        if (fw_store_query(d->ro, &sq, report_cb, &rq, &next, &err) < 0 ||
            rq.rc < 0) {
            fw_buf_printf(out, "the store cannot be read: %s",
                          rq.rc < 0 ? fw_strerror(rq.rc) : err.msg);
            status = err.code == FW_EBUSY ? 503 : 500;
            break;
        }
        sq.cursor = next;
    } while (sq.cursor != 0);
    char path[] = "/tmp/fundwatch-report-XXXXXX";
    int fd = status ? -1 : mkstemp(path);
    if (status == 0 && fd < 0) {
        fw_buf_printf(out, "cannot make a temporary file: %s",
                      strerror(errno));
        status = 500;
    }
    if (fd >= 0) {
        char filter[200];
        snprintf(filter, sizeof filter, "%s%s%s%s%s%s%s%s%s%s",
                 q->region[0] ? "区划 " : "", q->region,
                 q->dept[0] ? " 单位 " : "", q->dept,
                 q->state[0] ? " 状态 " : "", q->state,
                 q->from[0] ? " 自 " : "", q->from, q->to[0] ? " 至 " : "",
                 q->to);
        char source[160];
        snprintf(source, sizeof source, "fundwatch API, generation %.19s…",
                 d->running_version);
        struct fw_report_meta m = {.source = source, .filter = filter,
                                   .made_ms = fw_wall_ms()};
        if (fw_report_write(rq.r, path, &m, &err) < 0) {
            fw_buf_printf(out, "%s", err.msg);
            status = 500;
        } else {
            char chunk[65536];
            ssize_t k;
            while ((k = read(fd, chunk, sizeof chunk)) > 0)
                fw_buf_append(out, chunk, (size_t)k);
            if (k < 0) {
                fw_buf_reset(out);
                fw_buf_printf(out, "cannot read the workbook back: %s",
                              strerror(errno));
                status = 500;
            }
        }
        close(fd);
        unlink(path);
    }
    fw_log_info("http", NULL, "GET /report.xlsx: %zu findings, %zu bytes",
                fw_report_count(rq.r), status ? 0 : out->len);
    fw_report_free(rq.r);
    return status;
}

/* ---- GET /summary ------------------------------------------------------------------ */

static void money(struct fw_buf *b, const char *k, int64_t fen, bool comma)
{
    char t[32];
    fw_money_format(fen, t);
    fw_buf_printf(b, "%s\"%s\":\"%s\"", comma ? "," : "", k, t);
}

static void group_json(struct fw_buf *b, const struct fw_store_group *g,
                       bool unit)
{
    fw_buf_puts(b, "{\"region\":");
    fw_buf_json_str(b, g->region, strlen(g->region));
    if (unit) {
        kv_str(b, "dept", g->dept);
        kv_str(b, "dept_name", g->dept_name);
    }
    fw_buf_printf(b, ",\"open\":%lld,\"red\":%lld,\"yellow\":%lld",
                  (long long)g->open, (long long)g->red,
                  (long long)g->yellow);
    money(b, "clawback", g->clawback_fen, true);
    fw_buf_putc(b, '}');
}

/* The overview: open findings by kind and level, by region and unit, the
 * amounts in 元, this week's changes, today's feeds. One scan of the
 * store, cached while its counts (new, reopened and resolved findings,
 * feeds) stay the same, at most a minute. */
static int op_summary(void *ud, struct fw_buf *out)
{
    struct fw_http_api *a = ud;
    struct fwd *d = a->d;
    int64_t now = fw_wall_ms();
    uint64_t key = 1 + d->counts.outbox_seq;
    for (int k = 0; k < FW__FK_COUNT; k++)
        key = key * 1000003u + (uint64_t)d->counts.findings[k][1];
    for (int k = 0; k < 3; k++)
        key = key * 1000003u + (uint64_t)d->counts.feeds[k];
    if (a->summary.len && d->have_counts && key == a->summary_key &&
        now - a->summary_ms < 60000) {
        fw_buf_append(out, a->summary.p, a->summary.len);
        return 0;
    }
    /* today: local midnight; the week: seven days back */
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    int64_t day_ms = (int64_t)mktime(&tm) * 1000;
    int64_t week_ms = now - 7 * 86400 * 1000LL;
    struct fw_store_summary *s = malloc(sizeof *s);
    if (s == NULL)
        return 503;
    struct fw_error err = {0};
    if (fw_store_summary(d->ro, week_ms, day_ms, s, &err) < 0) {
        free(s);
        fw_buf_printf(out, "the store cannot be read: %s", err.msg);
        return err.code == FW_EBUSY ? 503 : 500;
    }
    char when[32];
    int64_t total = 0;
    for (int k = 0; k < FW__FK_COUNT; k++)
        for (int l = 0; l < FW__LV_COUNT; l++)
            total += s->open[k][l];
    const int64_t *al = s->open[FW_FK_ALERT];
    fw_buf_printf(out, "{\"open\":{\"total\":%lld,\"alert\":{\"red\":%lld,"
                  "\"yellow\":%lld,\"info\":%lld}",
                  (long long)total, (long long)al[FW_LV_RED],
                  (long long)al[FW_LV_YELLOW], (long long)al[FW_LV_INFO]);
    for (int k = FW_FK_CLAWBACK; k < FW__FK_COUNT; k++) {
        int64_t n = 0;
        for (int l = 0; l < FW__LV_COUNT; l++)
            n += s->open[k][l];
        fw_buf_printf(out, ",\"%s\":%lld", fw_fkind_name(k), (long long)n);
    }
    fw_buf_puts(out, "},\"amounts\":{");
    money(out, "clawback", s->amount_fen[FW_FK_CLAWBACK], false);
    money(out, "linkage", s->amount_fen[FW_FK_SCORE], true);
    fw_iso_ms(week_ms, when);
    fw_buf_printf(out, "},\"week\":{\"since\":\"%s\",\"opened\":%lld,"
                  "\"resolved\":%lld},\"regions\":[", when,
                  (long long)s->opened_since, (long long)s->resolved_since);
    for (size_t i = 0; i < s->n_regions; i++) {
        if (i)
            fw_buf_putc(out, ',');
        group_json(out, &s->regions[i], false);
    }
    fw_buf_puts(out, "],\"units\":[");
    for (size_t i = 0; i < s->n_units; i++) {
        if (i)
            fw_buf_putc(out, ',');
        group_json(out, &s->units[i], true);
    }
    fw_iso_ms(day_ms, when);
    fw_buf_printf(out, "],\"feeds_today\":{\"since\":\"%s\",\"done\":%lld,"
                  "\"failed\":%lld,\"duplicate\":%lld,\"records\":%lld,"
                  "\"rejects\":%lld},\"last_failed_feed\":", when,
                  (long long)s->feeds[FW_FEED_DONE],
                  (long long)s->feeds[FW_FEED_FAILED],
                  (long long)s->feeds[FW_FEED_DUPLICATE],
                  (long long)s->records, (long long)s->rejects);
    if (s->last_failed[0]) {
        fw_buf_puts(out, "{\"name\":");
        fw_buf_json_str(out, s->last_failed, strlen(s->last_failed));
        kv_str(out, "reason", s->last_failed_reason);
        fw_iso_ms(s->last_failed_ms, when);
        kv_str(out, "at", when);
        fw_buf_putc(out, '}');
    } else {
        fw_buf_puts(out, "null");
    }
    fw_iso_ms(now, when);
    fw_buf_printf(out, ",\"at\":\"%s\"}\n", when);
    free(s);
    fw_buf_reset(&a->summary);
    if (fw_buf_append(&a->summary, out->p, out->len) == 0) {
        a->summary_key = key;
        a->summary_ms = now;
    }
    return 0;
}

/* ---- POST /feeds and POST /reload --------------------------------------------- */

/* (worker) POST /feeds: the same path as the spool, from memory. */
static void ingest_run(struct fwd *d, struct fw_core_job *j)
{
    struct ingest *in = (struct ingest *)j;
    struct fw_buf *a = &in->answer;
    struct fw_job_result r;
    if (fw_core_feed_mem(d, in->body, in->len, in->name, &r) < 0) {
        in->status = 503;
        fw_buf_puts(a, "{\"error\":\"out of memory\"}\n");
        return;
    }
    static const char *const outcome[] = {"done", "duplicate", "failed",
                                          "retry"};
    in->status = r.outcome == FW_JOB_DONE || r.outcome == FW_JOB_DUPLICATE
                     ? 200
                 : r.outcome == FW_JOB_FAILED ? 422
                                              : 503;
    fw_buf_puts(a, "{\"feed\":");
    fw_buf_json_str(a, in->name, strlen(in->name));
    fw_buf_printf(a, ",\"status\":\"%s\",\"sha256\":\"%s\",\"bytes\":%llu,"
                  "\"records\":%llu,\"rejects\":%llu,\"findings\":{",
                  outcome[r.outcome], r.sha256,
                  (unsigned long long)r.bytes, (unsigned long long)r.records,
                  (unsigned long long)r.rejects);
    for (int k = 0; k < FW__FK_COUNT; k++)
        fw_buf_printf(a, "%s\"%s\":%llu", k ? "," : "", fw_fkind_name(k),
                      (unsigned long long)r.findings[k]);
    fw_buf_printf(a, "},\"new\":%llu,\"resolved\":%llu",
                  (unsigned long long)r.events,
                  (unsigned long long)r.resolved);
    if (r.outcome == FW_JOB_DUPLICATE)
        fw_buf_printf(a, ",\"duplicate_of\":%lld", (long long)r.dup_of);
    if (r.reason[0]) {
        fw_buf_puts(a, ",\"reason\":");
        fw_buf_json_str(a, r.reason, strlen(r.reason));
    }
    fw_buf_printf(a, ",\"ms\":%.1f}\n", (double)r.nanos / 1e6);
    fw_log_info("http", in->name, "POST /feeds: %s, %llu records, %llu "
                "rejects, %llu new findings", outcome[r.outcome],
                (unsigned long long)r.records, (unsigned long long)r.rejects,
                (unsigned long long)r.events);
}

/* (loop) Its answer; ran is false when the daemon stopped first. */
static void ingest_done(struct fwd *d, struct fw_core_job *j, bool ran)
{
    (void)d;
    struct ingest *in = (struct ingest *)j;
    struct fw_http_api *a = in->a;
    a->ingest_bytes -= in->len < a->ingest_bytes ? in->len : a->ingest_bytes;
    if (ran)
        fw_http_respond(in->conn, in->status, "application/json", NULL,
                        in->answer.p ? in->answer.p : "{}\n",
                        in->answer.len);
    else
        fw_http_respond_error(in->conn, 503, "fundwatch is stopping");
    fw_buf_fini(&in->answer);
    free(in);
}

static void op_ingest(void *ud, struct fw_http_conn *c, const char *name,
                      const char *body, size_t len)
{
    struct fw_http_api *a = ud;
    struct fwd *d = a->d;
    if (atomic_load(&d->stopping)) {
        fw_http_respond_error(c, 503, "fundwatch is stopping");
        return;
    }
    if (len > d->cfg.max_feed) {
        fw_http_respond_error(c, 413, "the feed is larger than "
                              "limits.max_feed");
        return;
    }
    /* the bodies waiting are held by their connections: bound them */
    if (a->ingest_bytes > 0 && a->ingest_bytes + len > 4 * d->cfg.max_body) {
        static const char busy[] =
            "{\"error\":\"too many feeds waiting; try again\"}\n";
        fw_http_respond(c, 503, "application/json", "Retry-After: 5\r\n",
                        busy, sizeof busy - 1);
        return;
    }
    struct ingest *in = calloc(1, sizeof *in);
    if (in == NULL) {
        fw_http_respond_error(c, 503, "out of memory");
        return;
    }
    in->job.run = ingest_run;
    in->job.done = ingest_done;
    in->a = a;
    in->body = body;
    in->len = len;
    a->ingest_bytes += len;
    in->conn = c;
    if (name && *name)
        snprintf(in->name, sizeof in->name, "%s", name);
    else
        snprintf(in->name, sizeof in->name, "http-%lld",
                 (long long)fw_wall_ms());
    fw_core_queue(d, &in->job);
}

/* (loop) after a reload: the POST /reload waiting gets its result. */
static void reload_answer(struct fwd *d, void *arg, const char *error)
{
    struct fw_http_conn *c = arg;
    if (error) {
        fw_http_respond_error(c, 503, error);
        return;
    }
    struct fw_buf b = FW_BUF_INIT;
    fw_buf_printf(&b, "{\"ok\":%s", d->last_reload.ok ? "true" : "false");
    kv_str(&b, "version", d->last_reload.version);
    kv_str(&b, "running", d->last_reload.ok ? d->last_reload.version
                                            : d->running_version);
    kv_str(&b, "error", d->last_reload.error);
    fw_buf_printf(&b, ",\"ms\":%.1f}\n", (double)d->last_reload.nanos / 1e6);
    fw_http_respond(c, d->last_reload.ok ? 200 : 422, "application/json",
                    NULL, b.p, b.len);
    fw_buf_fini(&b);
}

static void op_reload(void *ud, struct fw_http_conn *c)
{
    struct fw_http_api *a = ud;
    if (!atomic_load(&a->d->stopping))
        fw_log_info("reload", NULL, "POST /reload: reloading %s",
                    a->d->cfg.policies);
    fw_reload_ask(a->rl, FW_TRIG_API, reload_answer, c);
}

/* ---- the shadow ---------------------------------------------------------------- */

static int op_shadow(void *ud, struct fw_buf *out)
{
    struct fw_http_api *a = ud;
    if (a->sh == NULL)
        return 404;
    fw_shadow_json(a->sh, out);
    return 0;
}

static void shadow_answer(struct fwd *d, void *arg, int status,
                          const char *error)
{
    (void)d;
    struct fw_http_conn *c = arg;
    if (status) {
        fw_http_respond_error(c, status, error ? error : "refused");
        return;
    }
    static const char ok[] = "{\"ok\":true,\"see\":\"/shadow\"}\n";
    fw_http_respond(c, 200, "application/json", NULL, ok, sizeof ok - 1);
}

static void op_shadow_set(void *ud, struct fw_http_conn *c, const char *dir)
{
    struct fw_http_api *a = ud;
    if (a->sh == NULL) {
        fw_http_respond_error(c, 404, "no shadow here");
        return;
    }
    if (atomic_load(&a->d->stopping)) {
        fw_http_respond_error(c, 503, "fundwatch is stopping");
        return;
    }
    fw_log_info("shadow", NULL, "%s /shadow%s%s", dir ? "POST" : "DELETE",
                dir ? ": " : "", dir ? dir : "");
    fw_shadow_start(a->sh, dir, shadow_answer, c);
}

static void op_ack(void *ud, struct fw_http_conn *c, const char *id,
                   const char *by, const char *note)
{
    fw_http_ack(((struct fw_http_api *)ud)->d, c, id, by, note);
}

static const struct fw_api_ops ops = {
    .health = op_health,
    .metrics = op_metrics,
    .findings = op_findings,
    .finding = op_finding,
    .policies = op_policies,
    .ingest = op_ingest,
    .reload = op_reload,
    .report = op_report,
    .summary = op_summary,
    .shadow = op_shadow,
    .shadow_set = op_shadow_set,
    .ack = op_ack,
};

static void http_stopped(void *arg)
{
    struct fw_http_api *a = arg;
    a->http = NULL;
}

static void mhttp_stopped(void *arg)
{
    struct fw_http_api *a = arg;
    a->mhttp = NULL;
}

static void stop_hook(void *ud)
{
    struct fw_http_api *a = ud;
    if (a->closed)
        return;
    a->closed = true;
    if (a->http)
        fw_http_stop(a->http, http_stopped, a);
    if (a->mhttp)
        fw_http_stop(a->mhttp, mhttp_stopped, a);
}

/* "host:port" ("[v6]:port") of a listener of the config into buf. */
static const char *address(const char *host, unsigned port, char *buf,
                           size_t n)
{
    snprintf(buf, n, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
    return buf;
}

static int serve(struct fwd *d, const char *listen, struct fw_api *api,
                 struct fw_http_server **out)
{
    struct fw_http_opts o = FW_HTTP_OPTS_DEFAULT;
    o.max_body = d->cfg.max_body;
    struct fw_error err = {0};
    if (fw_http_start(&d->loop, listen, &o, fw_api_handle, api, out,
                      &err) < 0) {
        fw_log_error("http", NULL, "%s: %s", err.place[0] ? err.place : listen,
                     err.msg);
        return err.code ? err.code : FW_EIO;
    }
    return 0;
}

int fw_http_api_start(struct fwd *d, struct fw_reload *rl,
                      struct fw_shadow *sh, struct fw_http_api **out)
{
    *out = NULL;
    struct fw_http_api *a = calloc(1, sizeof *a);
    if (a == NULL)
        return FW_ENOMEM;
    a->d = d;
    a->rl = rl;
    a->sh = sh;
    const struct fw_config *cf = &d->cfg;
    a->api = (struct fw_api){
        .ops = &ops,
        .ud = a,
        .auth = {.token = cf->token, .read_token = cf->read_token,
                 .public_read = cf->public_read},
        .dash = fw_dash_new(),
    };
    a->mapi = (struct fw_api){.ops = &ops, .ud = a, .monitor_only = true};
    if (a->api.dash == NULL) {
        free(a);
        return FW_ENOMEM;
    }
    char listen[300], mlisten[300];
    int rc = 0;
    if (cf->listen_enabled)
        rc = serve(d, address(cf->listen_host, cf->listen_port, listen,
                              sizeof listen), &a->api, &a->http);
    if (rc == 0 && cf->metrics_host)
        rc = serve(d, address(cf->metrics_host, cf->metrics_port, mlisten,
                              sizeof mlisten), &a->mapi, &a->mhttp);
    if (rc < 0 && a->http == NULL) {
        fw_dash_free(a->api.dash);
        free(a);
        return rc;
    }
    /* from here the part stops what was started, also after a failure */
    fw_core_attach(d, &(struct fw_core_part){
        .name = "http", .ud = a, .stop = stop_hook,
    });
    *out = a;
    if (rc < 0)
        return rc;
    if (a->http)
        fw_log_info("http", NULL, "listening on %s (POST %s; reads %s; the "
                    "dashboard at http://%s/)", listen,
                    cf->token ? "with the token" : "refused: no token set",
                    cf->public_read ? "public (public_read: true)"
                    : cf->read_token || cf->token ? "with a token"
                    : "refused: no read_token or token set", listen);
    if (a->mhttp)
        fw_log_info("http", NULL, "metrics on %s (/metrics, /healthz and "
                    "/readyz only: no findings there)", mlisten);
    return 0;
}

void fw_http_api_free(struct fw_http_api *a)
{
    if (a == NULL)
        return;
    fw_dash_free(a->api.dash);
    fw_buf_fini(&a->summary);
    free(a);
}
