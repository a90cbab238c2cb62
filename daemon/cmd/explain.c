/* fundwatch explain: why a finding fired, or why nothing fired for a
 * record. For a stored finding (-c CONFIG ID): its evidence as the engine
 * recorded it. For a record (--policies DIR FEED:LINE): the policies that
 * govern its region, broadest first, the rules replaced there and by whom,
 * and for each hook that ran what it read, the figures it computed, the
 * thresholds with the YAML line that sets them, and what it emitted — or
 * that it emitted nothing. Text in the officer's language, or --json. */
#include <json-c/json.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "feedio.h"
#include "fundwatch/buf.h"
#include "fundwatch/finding.h"
#include "fundwatch/i18n.h"
#include "fundwatch/record.h"
#include "store/store.h"

static const char usage_text[] =
    "usage: fundwatch explain -c CONFIG ID\n"
    "       fundwatch explain [--policies DIR] [--now DATE] [--columns MAP] "
    "FEED:LINE\n"
    "\n"
    "Why a finding fired, or why nothing fired for a record.\n"
    "\n"
    "With -c and a finding's ID: the finding from the daemon's store, with\n"
    "the evidence the engine recorded when it fired: the record's fields the\n"
    "rule read, the figures it computed (序时进度, 支出进度, lag), the\n"
    "thresholds and the YAML line that sets each, the source sentence.\n"
    "\n"
    "With FEED:LINE: that record run through the policies as replay would:\n"
    "the policies that govern its region (broadest first), the rules replaced\n"
    "there and by which policy, and for each hook that ran what it read and\n"
    "emitted, or that it emitted nothing (with the figures and thresholds it\n"
    "was judged on).\n"
    "\n"
    "  -c, --config FILE    the daemon's config (its store, read-only)\n"
    "  -p, --policies DIR   the policies folder (default: policies)\n"
    "  -n, --now DATE       the clock the rules run against (default: today)\n"
    "  -m, --columns MAP    column map (YAML) on top of the built-in aliases\n"
    "      --json           JSON instead of text\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 explained; 1 no such finding or record (a reject, a\n"
    "header, a line past the end); 2 usage error or a file that cannot be\n"
    "read.\n";

/* ---- the evidence, in words ---------------------------------------------------- */

static const char *figure_name(const char *k)
{
    if (strcmp(k, "seq") == 0)
        return _("time-proportional schedule 序时进度");
    if (strcmp(k, "progress") == 0)
        return _("spending progress 支出进度");
    if (strcmp(k, "lag") == 0)
        return _("lag behind the schedule 落后");
    return k;
}

static void print_params(json_object *arr, const char *indent)
{
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        json_object *it = json_object_array_get_idx(arr, i), *v;
        const char *name = "", *at = "";
        if (json_object_object_get_ex(it, "name", &v))
            name = json_object_get_string(v);
        if (json_object_object_get_ex(it, "at", &v))
            at = json_object_get_string(v);
        json_object_object_get_ex(it, "value", &v);
        printf("%s%s = %s   (%s)\n", indent, name,
               v ? json_object_get_string(v) : "~", at);
    }
}

/* Prints the evidence object's fields, figures and parameters. */
static void print_evidence(const char *json, const char *indent)
{
    json_tokener *tok = json_tokener_new();
    json_object *ev = tok ? json_tokener_parse_ex(tok, json, (int)strlen(json))
                          : NULL;
    json_tokener_free(tok);
    if (ev == NULL)
        return;
    json_object *o;
    if (json_object_object_get_ex(ev, "fields", &o) &&
        json_object_object_length(o) > 0) {
        printf("%s%s\n", indent, _("the record's fields it read:"));
        json_object_object_foreach(o, k, v) {
            const struct fw_field_info *fi = NULL;
            for (int f = 0; f < FW__F_COUNT && fi == NULL; f++)
                if (strcmp(fw_fields[f].name, k) == 0)
                    fi = &fw_fields[f];
            printf("%s  %s%s%s%s = %s%s\n", indent, k, fi ? " (" : "",
                   fi ? fi->zh : "", fi ? ")" : "",
                   v ? json_object_get_string(v) : _("(empty)"),
                   fi && fi->type == FW_T_MONEY && v ? " 元" : "");
        }
    } else {
        printf("%s%s\n", indent, _("it read no field of the record"));
    }
    if (json_object_object_get_ex(ev, "figures", &o) &&
        json_object_object_length(o) > 0) {
        printf("%s%s\n", indent, _("the figures it computed:"));
        json_object_object_foreach(o, k, v)
            printf("%s  %s = %s\n", indent, figure_name(k),
                   json_object_get_string(v));
    }
    if (json_object_object_get_ex(ev, "params", &o)) {
        char deeper[64];
        snprintf(deeper, sizeof deeper, "%s  ", indent);
        if (json_object_is_type(o, json_type_array) &&
            json_object_array_length(o) > 0) {
            printf("%s%s\n", indent,
                   _("its thresholds, and where they are set:"));
            print_params(o, deeper);
        } else if (json_object_is_type(o, json_type_object)) {
            json_object_object_foreach(o, rule, arr) {
                if (json_object_array_length(arr) == 0)
                    continue;
                printf(_("%sthresholds of %s, and where they are set:\n"),
                       indent, rule);
                print_params(arr, deeper);
            }
        }
    }
    json_object_put(ev);
}

static void print_finding(const struct fw_finding *f, const char *indent)
{
    const char *lv = fw_level_name(f->level);
    printf("%s%s%s%s %s", indent, fw_fkind_name(f->kind), lv ? " " : "",
           lv ? lv : "", f->rule ? f->rule : "");
    if (f->title)
        printf(" — %s", f->title);
    printf("\n%s  %s\n", indent, f->message ? f->message : "");
    if (f->has_amount) {
        char m[32];
        fw_money_format(f->amount, m);
        printf(_("%s  amount: %s 元\n"), indent, m);
    }
}

/* ---- a stored finding ----------------------------------------------------------------- */

static int explain_stored(const struct fw_cmd_opts *o, const char *id)
{
    struct fw_config cfg;
    struct fw_store *st;
    int rc = fw_cmd_store_open("explain", o->config, &cfg, &st);
    if (rc != 0)
        return rc == FW_EXIT_PROBLEMS ? FW_EXIT_USAGE : rc;
    struct fw_error err = {0};
    char msg[FW_PLACE_MAX + FW_MSG_MAX + 4];
    struct fw_store_finding sf;
    rc = fw_store_finding_get(st, id, &sf, &err);
    int status = FW_EXIT_OK;
    if (rc == FW_ENOENT) {
        fprintf(stderr, _("fundwatch explain: no finding %s in %s\n"), id,
                cfg.database);
        status = FW_EXIT_PROBLEMS;
    } else if (rc < 0) {
        fprintf(stderr, "fundwatch explain: %s\n",
                fw_error_text(&err, msg, sizeof msg));
        status = FW_EXIT_USAGE;
    } else if (o->json) {
        struct fw_buf b = FW_BUF_INIT;
        fw_finding_json(&sf.f, &b);
        if (b.len && b.p[b.len - 1] == '}')
            b.len--;
        fw_buf_printf(&b, ",\"state\":\"%s\"}\n",
                      sf.state == FW_ST_OPEN ? "open" : "resolved");
        fwrite(b.p, 1, b.len, stdout);
        fw_buf_fini(&b);
    } else {
        const struct fw_finding *f = &sf.f;
        printf(_("finding %s (%s), policy %s %.19s…\n"), f->id,
               sf.state == FW_ST_OPEN ? _("open") : _("resolved"),
               f->policy ? f->policy : "", f->policy_version ? f->policy_version : "");
        printf(_("  region %s, unit %s %s, project %s %s, data date "),
               f->region ? f->region : "-", f->dept ? f->dept : "-",
               f->dept_name ? f->dept_name : "", f->project ? f->project
                                                             : f->task ? f->task : "-",
               f->project_name ? f->project_name : "");
        char day[16] = "-";
        if (f->has_as_of)
            fw_date_format(f->as_of, day);
        printf("%s\n", day);
        if (f->feed)
            printf(_("  from %s:%" PRIu64 "\n"), f->feed, f->line);
        print_finding(f, "  ");
        if (f->evidence)
            print_evidence(f->evidence, "  ");
        else
            printf("  %s\n", _("no evidence: fired before fundwatch "
                               "recorded it"));
        if (f->rule_source)
            printf(_("  source: %s\n"), f->rule_source);
    }
    fw_store_close(st);
    fw_config_fini(&cfg);
    return status;
}

/* ---- a record ---------------------------------------------------------------------- */

struct rec_run {
    struct fw_engine *e;
    uint64_t line;
    bool found, json;
    int rc;
    char reject[FW_MSG_MAX + 64];
    struct fw_buf out;          /* --json: the whole answer */
    struct fw_buf fnd;          /* the findings of the call in progress */
    size_t n_calls;
};

static int on_finding(void *ud, const struct fw_finding *f)
{
    struct rec_run *r = ud;
    if (r->json) {
        if (r->fnd.len)
            fw_buf_putc(&r->fnd, ',');
        fw_finding_json(f, &r->fnd);
        return 0;
    }
    const char *lv = fw_level_name(f->level);
    fw_buf_printf(&r->fnd, "      → %s%s%s %s%s%s\n        %s\n",
                  fw_fkind_name(f->kind), lv ? " " : "", lv ? lv : "",
                  f->rule ? f->rule : "", f->title ? " — " : "",
                  f->title ? f->title : "", f->message ? f->message : "");
    if (f->has_amount) {
        char m[32];
        fw_money_format(f->amount, m);
        fw_buf_printf(&r->fnd, _("        amount: %s 元\n"), m);
    }
    return 0;
}

static void on_call(void *ud, const struct fw_call_report *c)
{
    struct rec_run *r = ud;
    if (r->json) {
        fw_buf_puts(&r->out, r->n_calls++ ? ",{\"policy\":" : "{\"policy\":");
        fw_buf_json_str(&r->out, c->policy->id, strlen(c->policy->id));
        fw_buf_printf(&r->out, ",\"hook\":\"%s\",\"findings\":[%s]", c->hook,
                      r->fnd.p ? r->fnd.p : "");
        if (c->error) {
            fw_buf_puts(&r->out, ",\"error\":");
            fw_buf_json_str(&r->out, c->error, strlen(c->error));
        }
        fw_buf_printf(&r->out, ",\"evidence\":%s}",
                      c->evidence ? c->evidence : "null");
        fw_buf_reset(&r->fnd);
        return;
    }
    printf("  %s %s: ", c->policy->id, c->hook);
    if (c->error)
        printf(_("the policy failed: %s\n"), c->error);
    else if (c->findings == 0)
        printf("%s\n", _("nothing fired"));
    else
        printf(_("%u finding(s)\n"), c->findings);
    if (r->fnd.len)
        fwrite(r->fnd.p, 1, r->fnd.len, stdout);
    fw_buf_reset(&r->fnd);
    if (c->evidence)
        print_evidence(c->evidence, "    ");
}

/* The length of p's longest region that is a prefix of reg, or -1. */
static int depth(const struct fw_policy_info *p, const char *reg)
{
    int best = -1;
    for (size_t k = 0; k < p->n_regions; k++) {
        size_t n = strlen(p->regions[k]);
        if (strncmp(p->regions[k], reg, n) == 0 && (int)n > best)
            best = (int)n;
    }
    return best;
}

static const char *region_of_sort;
static const struct fw_engine *engine_of_sort;

static int broadest_first(const void *a, const void *b)
{
    const struct fw_policy_info *x = fw_engine_policy(engine_of_sort,
                                                      *(const size_t *)a);
    const struct fw_policy_info *y = fw_engine_policy(engine_of_sort,
                                                      *(const size_t *)b);
    int dx = depth(x, region_of_sort), dy = depth(y, region_of_sort);
    return dx != dy ? (dx < dy ? -1 : 1) : strcmp(x->id, y->id);
}

/* The routing of the region: governing policies, replaced rules. */
static void routing(struct rec_run *r, const char *reg)
{
    size_t np = fw_engine_policy_count(r->e);
    size_t *idx = calloc(np + 1, sizeof *idx), ng = 0;
    for (size_t i = 0; idx && i < np; i++)
        if (depth(fw_engine_policy(r->e, i), reg) >= 0)
            idx[ng++] = i;
    region_of_sort = reg;
    engine_of_sort = r->e;
    if (idx)
        qsort(idx, ng, sizeof *idx, broadest_first);
    if (r->json)
        fw_buf_puts(&r->out, ",\"policies\":[");
    else
        printf(_("policies that govern region %s, broadest first:\n"), reg);
    for (size_t g = 0; g < ng; g++) {
        const struct fw_policy_info *p = fw_engine_policy(r->e, idx[g]);
        if (r->json) {
            fw_buf_puts(&r->out, g ? ",{\"id\":" : "{\"id\":");
            fw_buf_json_str(&r->out, p->id, strlen(p->id));
            fw_buf_puts(&r->out, ",\"path\":");
            fw_buf_json_str(&r->out, p->path, strlen(p->path));
            fw_buf_puts(&r->out, ",\"replaced\":{");
        } else {
            printf("  %s (%s)\n", p->id, p->path);
        }
        size_t nrep = 0;
        for (size_t k = 0; k < p->n_rules; k++)
            for (size_t j = 0; j < ng; j++) {
                const struct fw_policy_info *q = fw_engine_policy(r->e,
                                                                  idx[j]);
                for (size_t m = 0; m < q->n_replaces; m++) {
                    if (strcmp(q->replaces[m], p->rules[k].id) != 0)
                        continue;
                    if (r->json)
                        fw_buf_printf(&r->out, "%s\"%s\":\"%s\"",
                                      nrep++ ? "," : "", p->rules[k].id,
                                      q->id);
                    else
                        printf(_("    %s does not run here: replaced by %s "
                                 "(%s)\n"),
                               p->rules[k].id, q->id, q->path);
                }
            }
        if (r->json)
            fw_buf_puts(&r->out, "}}");
    }
    if (r->json)
        fw_buf_puts(&r->out, "]");
    free(idx);
}

static int on_record(void *ud, const struct fw_record *rec)
{
    struct rec_run *r = ud;
    if (rec->line != r->line || r->found)
        return 0;
    r->found = true;
    char reg[16] = "";
    if (fw_record_has(rec, FW_F_REGION))
        snprintf(reg, sizeof reg, "%.*s",
                 (int)(rec->str[FW_F_REGION].n < 15 ? rec->str[FW_F_REGION].n
                                                    : 15),
                 rec->str[FW_F_REGION].p);
    if (r->json) {
        fw_buf_puts(&r->out, "{\"record\":");
        fw_record_json(rec, &r->out);
    } else {
        struct fw_buf b = FW_BUF_INIT;
        fw_record_json(rec, &b);
        printf(_("%s:%" PRIu64 ": record (%s) of region %s\n  %s\n"),
               rec->feed, rec->line, fw_rkind_name(rec->kind), reg,
               b.p ? b.p : "");
        fw_buf_fini(&b);
    }
    routing(r, reg);
    if (r->json)
        fw_buf_puts(&r->out, ",\"calls\":[");
    else
        printf("%s\n", _("what each hook did, in the order they ran:"));
    fw_engine_observe(r->e, on_call, r);
    r->rc = fw_engine_run(r->e, rec, on_finding, r);
    fw_engine_observe(r->e, NULL, NULL);
    if (r->json)
        fw_buf_puts(&r->out, "]}\n");
    return 0;
}

static void on_reject(void *ud, const char *feed, uint64_t line,
                      const char *reason)
{
    struct rec_run *r = ud;
    if (line == r->line)
        snprintf(r->reject, sizeof r->reject, "%s:%" PRIu64 ": %s", feed,
                 line, reason);
}

static int explain_record(const struct fw_cmd_opts *o, const char *arg)
{
    const char *colon = strrchr(arg, ':');
    char *end = NULL;
    unsigned long long line = colon ? strtoull(colon + 1, &end, 10) : 0;
    if (colon == NULL || end == colon + 1 || *end != '\0' || line == 0)
        return fw_cli_usage_error("explain", "%s",
                                  _("give FEED:LINE (a record) with "
                                    "--policies, or -c CONFIG and a "
                                    "finding's ID"));
    char *feed = strndup(arg, (size_t)(colon - arg));
    struct fw_cmd_env env;
    int rc = fw_cmd_load("explain", o, "nothing explained", &env);
    if (rc != 0) {
        free(feed);
        return rc;
    }
    struct rec_run r = {.e = env.eng, .line = line, .json = o->json,
                        .out = FW_BUF_INIT, .fnd = FW_BUF_INIT};
    struct fw_reader_cb cb = {on_record, on_reject, NULL};
    fw_engine_feed_begin(env.eng, feed, o->now);
    struct fw_error err = {0};
    rc = fw_feed_read_path(feed, NULL, env.map, &cb, &r, NULL, &err);
    int status = FW_EXIT_OK;
    if (rc < 0) {
        char msg[FW_PLACE_MAX + FW_MSG_MAX + 4];
        fprintf(stderr, "%s\n", fw_error_text(&err, msg, sizeof msg));
        status = rc == FW_EIO ? FW_EXIT_USAGE : FW_EXIT_PROBLEMS;
    } else if (!r.found) {
        if (r.reject[0])
            fprintf(stderr, _("%s\n  (a reject: no record, nothing ran)\n"),
                    r.reject);
        else
            fprintf(stderr, _("fundwatch explain: %s:%llu is not a record "
                              "(a header, a blank line, or past the end)\n"),
                    feed, line);
        status = FW_EXIT_PROBLEMS;
    } else if (r.rc < 0) {
        fprintf(stderr, "fundwatch explain: %s\n", fw_strerror(r.rc));
        status = FW_EXIT_USAGE;
    }
    if (r.json && r.out.len)
        fwrite(r.out.p, 1, r.out.len, stdout);
    fw_buf_fini(&r.out);
    fw_buf_fini(&r.fnd);
    free(feed);
    fw_cmd_env_fini(&env);
    return status;
}

int fw_cmd_explain(int argc, char **argv)
{
    struct fw_cmd_opts o;
    int rc = fw_cmd_options("explain", usage_text,
                            FW_OPT_CONFIG | FW_OPT_POLICIES | FW_OPT_NOW |
                                FW_OPT_COLUMNS | FW_OPT_JSON,
                            argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (o.argi + 1 != argc)
        return fw_cli_usage_error("explain", "%s",
                                  _("one finding ID or one FEED:LINE (see "
                                    "--help)"));
    if (o.config)
        return explain_stored(&o, argv[o.argi]);
    return explain_record(&o, argv[o.argi]);
}
