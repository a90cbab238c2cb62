/* fundwatch replay: runs a policies folder over feeds exactly as the daemon
 * would, without a store: findings as JSONL on stdout in input order,
 * rejects and a summary on stderr. For policy officers trying an edit
 * against real exports, and for the benchmarks. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "fundwatch/i18n.h"
#include "feedio.h"
#include "fundwatch/buf.h"
#include "fundwatch/finding.h"

static const char usage_text[] = N_(
    "usage: fundwatch replay [options] FEED...\n"
    "\n"
    "Runs the policies over each FEED (CSV or NDJSON) as the daemon does, with\n"
    "no store: the findings as JSON lines on stdout, in input order; rejected\n"
    "lines on stderr as \"feed.csv:17: reason\"; then a summary on stderr\n"
    "(records, rejects, findings by kind, policy errors). Each FEED is one\n"
    "feed: its on_feed_end hooks run after its last record.\n"
    "\n"
    "  -p, --policies DIR   the policies folder (default: policies)\n"
    "  -m, --columns MAP    column map (YAML) on top of the built-in aliases\n"
    "  -S, --sheet S        a workbook's sheet: its name, its number or all\n"
    "  -n, --now DATE       the clock the rules run against, e.g. 2024-07-01\n"
    "                       (default: today, local date)\n"
    "  -b, --budget N       Lua instructions per hook call (default 1000000);\n"
    "                       0 = no limit at all (for benchmarks only)\n"
    "      --mem-cap BYTES  memory per policy (default 64M; K, M, G allowed)\n"
    "      --no-evidence    findings without their evidence (benchmarks only)\n"
    "      --lang zh|en     the language of messages (default: from LANG)\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 ok; 1 rejected lines, a file that is not a feed, or\n"
    "policy errors (error findings); 2 usage error, a file that cannot be\n"
    "read, or policies that do not build (every problem is printed).\n");

struct replay {
    struct fw_engine *e;
    struct fw_buf out;
    uint64_t by_kind[FW__FK_COUNT];
    uint64_t rejects;
    const char *feed;   /* the feed being replayed */
    int fatal;          /* a negative code from the engine */
    uint64_t fatal_line;
};

static void flush(struct replay *r)
{
    if (r->out.len) {
        fwrite(r->out.p, 1, r->out.len, stdout);
        fw_buf_reset(&r->out);
    }
}

static int on_finding(void *ud, const struct fw_finding *f)
{
    struct replay *r = ud;
    if ((unsigned)f->kind < FW__FK_COUNT)
        r->by_kind[f->kind]++;
    if (fw_finding_json(f, &r->out) < 0 || fw_buf_putc(&r->out, '\n') < 0)
        return r->fatal = FW_ENOMEM;
    if (f->kind == FW_FK_ERROR) {
        /* Said on stderr too: a person replaying wants to see it now. */
        flush(r);
        fflush(stdout);
        if (f->feed != NULL && f->line > 0)
            fprintf(stderr, "%s:%" PRIu64 ": ", f->feed, f->line);
        else
            fprintf(stderr, "%s: at the end of the feed: ", r->feed);
        fprintf(stderr, "policy %s: %s\n", f->policy ? f->policy : "?",
                f->message ? f->message : "");
    }
    if (r->out.len >= (64u << 10))
        flush(r);
    return 0;
}

static int on_record(void *ud, const struct fw_record *rec)
{
    struct replay *r = ud;
    int rc = fw_engine_run(r->e, rec, on_finding, r);
    if (rc < 0 && r->fatal == 0) {
        r->fatal = rc;
        r->fatal_line = rec->line;
    }
    return rc;
}

static void on_reject(void *ud, const char *feed, uint64_t line,
                      const char *reason)
{
    struct replay *r = ud;
    r->rejects++;
    flush(r);
    fflush(stdout);
    fprintf(stderr, "%s:%" PRIu64 ": %s\n", feed, line, reason);
}

static void summary(const struct replay *r, int feeds, int unread,
                    uint64_t records)
{
    fprintf(stderr, "replay: %d feed%s (%d not read), %" PRIu64 " record%s, "
            "%" PRIu64 " reject%s\n", feeds, feeds == 1 ? "" : "s", unread,
            records, records == 1 ? "" : "s", r->rejects,
            r->rejects == 1 ? "" : "s");
    uint64_t total = 0;
    for (int k = 0; k < FW__FK_COUNT; k++)
        if (k != FW_FK_ERROR)
            total += r->by_kind[k];
    fprintf(stderr, "replay: %" PRIu64 " finding%s: %" PRIu64 " alert, "
            "%" PRIu64 " clawback, %" PRIu64 " score", total,
            total == 1 ? "" : "s", r->by_kind[FW_FK_ALERT],
            r->by_kind[FW_FK_CLAWBACK], r->by_kind[FW_FK_SCORE]);
    if (r->by_kind[FW_FK_OPS])
        fprintf(stderr, ", %" PRIu64 " ops", r->by_kind[FW_FK_OPS]);
    fprintf(stderr, "; %" PRIu64 " policy error%s\n", r->by_kind[FW_FK_ERROR],
            r->by_kind[FW_FK_ERROR] == 1 ? "" : "s");
    size_t np = fw_engine_policy_count(r->e);
    for (size_t i = 0; i < np; i++) {
        const struct fw_policy_stats *s = fw_engine_policy_stats(r->e, i);
        if (s == NULL || (s->errors == 0 && s->suspended == 0))
            continue;
        const struct fw_policy_info *p = fw_engine_policy(r->e, i);
        fprintf(stderr, "replay: policy %s (%s): %" PRIu64 " error%s",
                p->id, p->path, s->errors, s->errors == 1 ? "" : "s");
        if (s->budget_breaches)
            fprintf(stderr, ", %" PRIu64 " over the instruction budget",
                    s->budget_breaches);
        if (s->mem_breaches)
            fprintf(stderr, ", %" PRIu64 " over the memory cap",
                    s->mem_breaches);
        if (s->suspended)
            fprintf(stderr, ", %" PRIu64 " record%s skipped while suspended",
                    s->suspended, s->suspended == 1 ? "" : "s");
        fputc('\n', stderr);
    }
}

int fw_cmd_replay(int argc, char **argv)
{
    struct fw_cmd_opts o;
    int rc = fw_cmd_options("replay", _(usage_text),
                            FW_OPT_POLICIES | FW_OPT_COLUMNS | FW_OPT_NOW |
                                FW_OPT_BUDGET | FW_OPT_MEMCAP | FW_OPT_SHEET,
                            argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (o.argi >= argc)
        return fw_cli_usage_error("replay", "no feed given (see --help)");
    int32_t now = o.now;
    struct fw_cmd_env env;
    if ((rc = fw_cmd_load("replay", &o, _("nothing replayed"), &env)) != 0)
        return rc;
    struct fw_colmap *map = env.map;
    struct replay r = {.out = FW_BUF_INIT, .e = env.eng};

    struct fw_reader_cb cb = {on_record, on_reject, NULL};
    int status = FW_EXIT_OK, feeds = 0, unread = 0;
    uint64_t records = 0;
    for (int i = o.argi; i < argc && r.fatal == 0; i++) {
        struct fw_reader_stats st = {0};
        struct fw_error err;
        fw_error_clear(&err);
        feeds++;
        r.feed = argv[i];
        rc = fw_engine_feed_begin(r.e, argv[i], now);
        if (rc < 0) {
            r.fatal = rc;
            break;
        }
        rc = fw_feed_read_path(argv[i], NULL, map, &cb, &r, &st, &err);
        records += st.records;
        if (rc >= 0)
            fw_feed_notes(stderr, argv[i], &st);
        if (r.fatal)
            break;
        if (rc < 0) {
            /* The feed is not read to its end: its on_feed_end hooks do not
             * run over a part of it (an aggregate would be wrong). */
            flush(&r);
            fflush(stdout);
            char msg[FW_PLACE_MAX + FW_MSG_MAX + 4];
            fprintf(stderr, "%s\n", fw_error_text(&err, msg, sizeof msg));
            unread++;
            if (rc == FW_EIO || rc == FW_ENOMEM)
                status = FW_EXIT_USAGE;
            else if (status == FW_EXIT_OK)
                status = FW_EXIT_PROBLEMS;
            continue;
        }
        rc = fw_engine_feed_end(r.e, on_finding, &r);
        if (rc < 0 && r.fatal == 0)
            r.fatal = rc;
        for (size_t k = 0; k < fw_engine_policy_count(r.e); k++) {
            const char *near, *f = fw_engine_policy_missed_field(r.e, k,
                                                                 &near);
            if (f)
                fprintf(stderr, _("replay: %s: policy %s read rec.%s, which "
                                  "no column of this feed gives (did you "
                                  "mean rec.%s?)\n"), argv[i],
                        fw_engine_policy(r.e, k)->id, f, near);
        }
    }
    flush(&r);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "fundwatch replay: cannot write the findings to "
                "stdout: %s\n", strerror(errno));
        status = FW_EXIT_USAGE;
    }
    if (r.fatal < 0) {
        fprintf(stderr, "fundwatch replay: %s", r.feed);
        if (r.fatal_line > 0)
            fprintf(stderr, ":%" PRIu64, r.fatal_line);
        fprintf(stderr, ": the engine failed: %s; replay stopped\n",
                fw_strerror(r.fatal));
        status = FW_EXIT_USAGE;
    }
    summary(&r, feeds, unread, records);
    if (status == FW_EXIT_OK &&
        (r.rejects > 0 || r.by_kind[FW_FK_ERROR] > 0))
        status = FW_EXIT_PROBLEMS;
    fw_buf_fini(&r.out);
    fw_cmd_env_fini(&env);
    return status;
}
