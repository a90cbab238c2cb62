/* fundwatch report: the findings as an Excel workbook for the 科长, from
 * the daemon's store (-c CONFIG, filtered) or from replay's JSON lines
 * (--findings FILE). The workbook itself is report/'s. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "config.h"
#include "fundwatch/i18n.h"
#include "fundwatch/record.h"
#include "report/report.h"
#include "store/store.h"
#include "sys.h"

static const char usage_text[] = N_(
    "usage: fundwatch report (-c CONFIG | --findings FILE) [filters] "
    "-o FILE.xlsx\n"
    "\n"
    "Writes the findings as an Excel workbook: 汇总 (counts by region and\n"
    "unit, clawback and linkage totals in yuan), 预警 (red first), 收回建议,\n"
    "评分 and 运行问题; Chinese headers, money as numbers with two decimals,\n"
    "dates as dates, a frozen header row and filters.\n"
    "\n"
    "  -c, --config FILE    the daemon's config: findings from its store\n"
    "                       (read-only; the daemon may be running)\n"
    "      --findings FILE  findings from replay's JSON lines (- for stdin)\n"
    "  -r, --region CODE    only regions starting with CODE (50, 500103)\n"
    "      --state STATE    open, resolved or all (default: all)\n"
    "      --from DATE      only findings whose data date (as_of) is on or\n"
    "      --to DATE        after --from and on or before --to\n"
    "  -o, --output FILE    the workbook to write (.xlsx)\n"
    "      --lang zh|en     the language of messages (default: from LANG)\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 written; 1 a line of --findings is not a finding (each\n"
    "printed as file:line: reason; the rest is written); 2 usage error, or a\n"
    "file that cannot be read or written.\n");

static bool wanted(void *ud, const struct fw_finding *f, int state)
{
    const struct fw_cmd_opts *o = ud;
    if (o->region && (f->region == NULL ||
                      strncmp(f->region, o->region, strlen(o->region)) != 0))
        return false;
    if (o->state >= 0 && state >= 0 && state != o->state)
        return false;
    if ((o->has_from || o->has_to) && !f->has_as_of)
        return false;
    if (o->has_from && f->as_of < o->from)
        return false;
    if (o->has_to && f->as_of > o->to)
        return false;
    return true;
}

struct collect {
    const struct fw_cmd_opts *o;
    struct fw_report *r;
    int rc;
};

static int from_store_cb(void *ud, const struct fw_store_finding *sf)
{
    struct collect *c = ud;
    int state = sf->state == FW_ST_OPEN ? FW_REPORT_OPEN : FW_REPORT_RESOLVED;
    if (!wanted((void *)c->o, &sf->f, state))
        return 0;
    if (fw_report_add(c->r, &sf->f, state, sf->first_seen) < 0)
        return c->rc = FW_ENOMEM;
    return 0;
}

static int from_store(const struct fw_cmd_opts *o, struct fw_report *r,
                      char *source, size_t n)
{
    struct fw_config cfg;
    struct fw_store *st;
    int rc = fw_cmd_store_open("report", o->config, &cfg, &st);
    if (rc != 0)
        return rc;
    struct fw_error err = {0};
    snprintf(source, n, "store %s", cfg.database);
    struct collect c = {.o = o, .r = r};
    struct fw_store_query q = {
        .region_prefix = o->region, .kind = -1, .level = -1,
        .state = o->state < 0 ? -1 : o->state == 0 ? FW_ST_OPEN
                                                   : FW_ST_RESOLVED,
        .limit = 10000,
    };
    int status = FW_EXIT_OK;
    do {
        int64_t next = 0;
        if (fw_store_query(st, &q, from_store_cb, &c, &next, &err) < 0 ||
            c.rc < 0) {
            fprintf(stderr, "fundwatch report: %s: %s\n", cfg.database,
                    c.rc < 0 ? fw_strerror(c.rc) : err.msg);
            status = FW_EXIT_USAGE;
            break;
        }
        q.cursor = next;
    } while (q.cursor != 0);
    fw_store_close(st);
    fw_config_fini(&cfg);
    return status;
}

static int from_jsonl(const struct fw_cmd_opts *o, struct fw_report *r,
                      char *source, size_t n)
{
    bool in = strcmp(o->findings, "-") == 0;
    FILE *fp = in ? stdin : fopen(o->findings, "r");
    if (fp == NULL) {
        fprintf(stderr, "fundwatch report: %s: %s\n", o->findings,
                strerror(errno));
        return FW_EXIT_USAGE;
    }
    snprintf(source, n, "%s", in ? "stdin" : o->findings);
    const char *name = in ? "stdin" : o->findings;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t ln = 0;
    int status = FW_EXIT_OK;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        ln++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        struct fw_error err = {0};
        int rc = fw_report_add_json(r, line, (size_t)len, &err);
        if (rc == FW_ENOMEM) {
            fprintf(stderr, "fundwatch report: out of memory\n");
            status = FW_EXIT_USAGE;
            break;
        }
        if (rc < 0) {
            fprintf(stderr, "%s:%llu: %s\n", name, (unsigned long long)ln,
                    err.msg);
            status = FW_EXIT_PROBLEMS;
        }
    }
    free(line);
    fw_report_keep(r, wanted, (void *)o);
    if (ferror(fp)) {
        fprintf(stderr, "fundwatch report: %s: %s\n", name, strerror(errno));
        status = FW_EXIT_USAGE;
    }
    if (!in)
        fclose(fp);
    return status;
}

int fw_cmd_report(int argc, char **argv)
{
    struct fw_cmd_opts o;
    int rc = fw_cmd_options("report", _(usage_text),
                            FW_OPT_CONFIG | FW_OPT_FINDINGS | FW_OPT_OUTPUT |
                                FW_OPT_RANGE | FW_OPT_REGION | FW_OPT_STATE,
                            argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (o.argi < argc)
        return fw_cli_usage_error("report", "unexpected argument \"%s\"",
                                  argv[o.argi]);
    if ((o.config == NULL) == (o.findings == NULL))
        return fw_cli_usage_error("report", "%s",
                                  _("give either -c CONFIG (the store) or "
                                    "--findings FILE (replay's output)"));
    if (o.output == NULL)
        return fw_cli_usage_error("report", "%s",
                                  _("no workbook to write: -o FILE.xlsx"));
    struct fw_report *r = fw_report_new();
    if (r == NULL)
        return FW_EXIT_USAGE;
    char source[1200];
    int status = o.config ? from_store(&o, r, source, sizeof source)
                          : from_jsonl(&o, r, source, sizeof source);
    if (status == FW_EXIT_USAGE) {
        fw_report_free(r);
        return status;
    }
    char filter[256] = "";
    size_t k = 0;
    if (o.region)
        k += (size_t)snprintf(filter + k, sizeof filter - k, "区划 %s；",
                              o.region);
    if (o.state >= 0 && k < sizeof filter)
        k += (size_t)snprintf(filter + k, sizeof filter - k, "状态 %s；",
                              o.state == 0 ? "未解除" : "已解除");
    char d1[16] = "…", d2[16] = "…";
    if (o.has_from)
        fw_date_format(o.from, d1);
    if (o.has_to)
        fw_date_format(o.to, d2);
    if ((o.has_from || o.has_to) && k < sizeof filter)
        snprintf(filter + k, sizeof filter - k, "数据日期 %s 至 %s；", d1, d2);
    struct fw_report_meta m = {.source = source, .filter = filter,
                               .made_ms = fw_wall_ms()};
    struct fw_error err = {0};
    if (fw_report_write(r, o.output, &m, &err) < 0) {
        char msg[FW_PLACE_MAX + FW_MSG_MAX + 4];
        fprintf(stderr, "fundwatch report: %s\n",
                fw_error_text(&err, msg, sizeof msg));
        fw_report_free(r);
        return FW_EXIT_USAGE;
    }
    fprintf(stderr, _("report: %zu findings written to %s\n"),
            fw_report_count(r), o.output);
    fw_report_free(r);
    return status;
}
