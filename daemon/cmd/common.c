/* What the subcommands share (cmd.h): the common options parsed once,
 * loading a column map and a generation, option values. Everything here
 * prints to stderr; nothing exits. */
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "feedio.h"
#include "fundwatch/i18n.h"
#include "i18n.h"
#include "store/store.h"
#include "fundwatch/record.h"
#include "sys.h"

int fw_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fundwatch %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    return FW_EXIT_USAGE;
}

const char *fw_cmd_default_config(bool *system)
{
    *system = access("fundwatch.yaml", F_OK) != 0 &&
              access(FW_SYSTEM_CONFIG, F_OK) == 0;
    return *system ? FW_SYSTEM_CONFIG : "fundwatch.yaml";
}

enum {
    OPT_MEMCAP = 256, OPT_FINDINGS, OPT_FROM, OPT_TO, OPT_STATE,
    OPT_CANDIDATE, OPT_JSON, OPT_MARKDOWN, OPT_NO_EVIDENCE, OPT_XLSX, OPT_STRICT,
    OPT_LANG, OPT_BY, OPT_NOTE,
};

static const struct {
    unsigned bit;
    struct option lo;
    const char *short_;  /* its getopt letters, or "" */
} table[] = {
    {FW_OPT_POLICIES, {"policies", required_argument, NULL, 'p'}, "p:"},
    {FW_OPT_COLUMNS, {"columns", required_argument, NULL, 'm'}, "m:"},
    {FW_OPT_NOW, {"now", required_argument, NULL, 'n'}, "n:"},
    {FW_OPT_BUDGET, {"budget", required_argument, NULL, 'b'}, "b:"},
    {FW_OPT_MEMCAP, {"mem-cap", required_argument, NULL, OPT_MEMCAP}, ""},
    {FW_OPT_BUDGET, {"no-evidence", no_argument, NULL, OPT_NO_EVIDENCE}, ""},
    {FW_OPT_CONFIG, {"config", required_argument, NULL, 'c'}, "c:"},
    {FW_OPT_QUIET, {"quiet", no_argument, NULL, 'q'}, "q"},
    {FW_OPT_OUTPUT, {"output", required_argument, NULL, 'o'}, "o:"},
    {FW_OPT_FINDINGS, {"findings", required_argument, NULL, OPT_FINDINGS}, ""},
    {FW_OPT_RANGE, {"from", required_argument, NULL, OPT_FROM}, ""},
    {FW_OPT_RANGE, {"to", required_argument, NULL, OPT_TO}, ""},
    {FW_OPT_REGION, {"region", required_argument, NULL, 'r'}, "r:"},
    {FW_OPT_STATE, {"state", required_argument, NULL, OPT_STATE}, ""},
    {FW_OPT_CANDIDATE, {"candidate", required_argument, NULL, OPT_CANDIDATE},
     ""},
    {FW_OPT_SET, {"set", required_argument, NULL, 's'}, "s:"},
    {FW_OPT_JSON, {"json", no_argument, NULL, OPT_JSON}, ""},
    {FW_OPT_MARKDOWN, {"markdown", no_argument, NULL, OPT_MARKDOWN}, ""},
    {FW_OPT_XLSX, {"xlsx", required_argument, NULL, OPT_XLSX}, ""},
    {FW_OPT_STRICT, {"strict", no_argument, NULL, OPT_STRICT}, ""},
    {FW_OPT_ACK, {"by", required_argument, NULL, OPT_BY}, ""},
    {FW_OPT_ACK, {"note", required_argument, NULL, OPT_NOTE}, ""},
};
#define N_TABLE (sizeof table / sizeof table[0])

int fw_cmd_options(const char *cmd, const char *usage, unsigned which,
                   int argc, char **argv, struct fw_cmd_opts *o)
{
    struct option lo[N_TABLE + 3];
    char so[2 * N_TABLE + 2] = "";
    size_t n = 0;
    for (size_t i = 0; i < N_TABLE; i++)
        if (which & table[i].bit) {
            lo[n++] = table[i].lo;
            strcat(so, table[i].short_);
        }
    lo[n++] = (struct option){"help", no_argument, NULL, 'h'};
    lo[n++] = (struct option){"lang", required_argument, NULL, OPT_LANG};
    lo[n] = (struct option){0, 0, 0, 0};
    strcat(so, "h");

    *o = (struct fw_cmd_opts){.now = fw_today(), .state = -1};
    uint64_t v;
    int c;
    optind = 1;
    opterr = 1; /* getopt says what was wrong, as "cmd: ..." */
    while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
        switch (c) {
        case 'p':
            o->policies = optarg;
            break;
        case 'm':
            o->columns = optarg;
            break;
        case 'c':
            o->config = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'n':
            if (!fw_cmd_parse_now(cmd, optarg, &o->now))
                return FW_EXIT_USAGE;
            o->now_given = true;
            break;
        case 'b':
            if (!fw_cmd_parse_count(cmd, "--budget", optarg, false, &v))
                return FW_EXIT_USAGE;
            o->engine.budget = v;
            o->engine.no_budget = v == 0;
            break;
        case OPT_MEMCAP:
            if (!fw_cmd_parse_count(cmd, "--mem-cap", optarg, true, &v))
                return FW_EXIT_USAGE;
            if (v < (1u << 20))
                return fw_cli_usage_error(cmd, "--mem-cap \"%s\": at least "
                                          "1M", optarg);
            o->engine.mem_cap = (size_t)v;
            break;
        case OPT_STRICT:
            o->strict = true;
            break;
        case OPT_BY:
            o->by = optarg;
            break;
        case OPT_NOTE:
            o->note = optarg;
            break;
        case OPT_LANG:
            if (!fw_i18n_lang_ok(optarg))
                return fw_cli_usage_error(cmd, _("--lang \"%s\": zh or en"),
                                          optarg);
            break;
        case 'o':
            o->output = optarg;
            break;
        case OPT_FINDINGS:
            o->findings = optarg;
            break;
        case OPT_FROM:
        case OPT_TO: {
            const char *why = "not a date";
            int32_t *day = c == OPT_FROM ? &o->from : &o->to;
            if (fw_date_parse(optarg, strlen(optarg), day, &why) < 0)
                return fw_cli_usage_error(cmd, "--%s \"%s\": %s (write "
                                          "2024-06-30)",
                                          c == OPT_FROM ? "from" : "to",
                                          optarg, why);
            *(c == OPT_FROM ? &o->has_from : &o->has_to) = true;
            break;
        }
        case 'r': {
            size_t k = strspn(optarg, "0123456789");
            if (k == 0 || optarg[k] != '\0' || k > 9)
                return fw_cli_usage_error(cmd, "--region \"%s\": a region "
                                          "code or its prefix, digits only "
                                          "(50, 5001, 500103)", optarg);
            o->region = optarg;
            break;
        }
        case OPT_CANDIDATE:
            o->candidate = optarg;
            break;
        case 's':
            if (o->n_set == FW_CMD_MAX_SET)
                return fw_cli_usage_error(cmd, "more than %d --set",
                                          FW_CMD_MAX_SET);
            o->set[o->n_set++] = optarg;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_NO_EVIDENCE:
            o->engine.no_evidence = true;
            break;
        case OPT_XLSX:
            o->xlsx = optarg;
            break;
        case OPT_MARKDOWN:
            o->markdown = true;
            break;
        case OPT_STATE:
            if (strcmp(optarg, "open") == 0)
                o->state = 0;
            else if (strcmp(optarg, "resolved") == 0)
                o->state = 1;
            else if (strcmp(optarg, "all") == 0)
                o->state = -1;
            else
                return fw_cli_usage_error(cmd, "--state \"%s\": open, "
                                          "resolved or all", optarg);
            break;
        case 'h':
            fputs(usage, stdout);
            return FW_EXIT_OK;
        default:
            fputs(usage, stderr);
            return FW_EXIT_USAGE;
        }
    }
    o->argi = optind;
    return -1;
}

int fw_cmd_load(const char *cmd, const struct fw_cmd_opts *o,
                const char *consequence, struct fw_cmd_env *env)
{
    *env = (struct fw_cmd_env){0};
    struct fw_diag diag;
    fw_diag_init(&diag);
    env->map = fw_columns_load(o->columns, &diag);
    fw_cmd_print_diag(&diag);
    fw_diag_fini(&diag);
    if (env->map == NULL)
        return FW_EXIT_USAGE;
    const char *dir = o->policies ? o->policies : "policies";
    bool unreadable;
    env->eng = fw_cmd_build(dir, &o->engine, &env->tree, &unreadable, NULL);
    if (env->eng == NULL) {
        fprintf(stderr, "fundwatch %s: %s: %s; %s\n", cmd, dir,
                unreadable ? _("the policies could not be read")
                           : _("the policies do not build"),
                consequence);
        fw_cmd_env_fini(env);
        return FW_EXIT_USAGE;
    }
    return 0;
}

int fw_cmd_store_open(const char *cmd, const char *path,
                      struct fw_config *cfg, struct fw_store **st)
{
    struct fw_diag d;
    fw_diag_init(&d);
    *cfg = (struct fw_config){0};
    *st = NULL;
    int rc = fw_config_load(path, cfg, &d);
    fw_cmd_print_diag(&d);
    fw_diag_fini(&d);
    if (rc < 0) {
        fw_config_fini(cfg);
        return rc == FW_EINVAL ? FW_EXIT_PROBLEMS : FW_EXIT_USAGE;
    }
    struct fw_error err = {0};
    struct fw_store_opts so = {.read_only = true};
    if (fw_store_open(cfg->database, &so, st, &err) < 0) {
        char msg[FW_PLACE_MAX + FW_MSG_MAX + 4];
        fprintf(stderr, "fundwatch %s: %s\n", cmd,
                fw_error_text(&err, msg, sizeof msg));
        fw_config_fini(cfg);
        return FW_EXIT_USAGE;
    }
    return 0;
}

void fw_cmd_env_fini(struct fw_cmd_env *env)
{
    fw_engine_free(env->eng);
    env->eng = NULL;
    fw_policy_tree_fini(&env->tree);
    fw_colmap_free(env->map);
    env->map = NULL;
}

void fw_cmd_print_diag(const struct fw_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(stderr, "%s\n", d->items[i]);
}

struct fw_engine *fw_cmd_build(const char *dir,
                               const struct fw_engine_opts *opts,
                               struct fw_policy_tree *t, bool *unreadable,
                               size_t *problems)
{
    struct fw_diag d;
    fw_diag_init(&d);
    *unreadable = false;
    struct fw_engine *e = NULL;
    int rc = fw_policy_tree_read(dir, t, &d);
    if (rc < 0) {
        *unreadable = true;
        if (rc == FW_ENOMEM)
            fw_diag_add(&d, dir, "out of memory reading the policies");
    } else {
        struct fw_engine_opts eo = *opts;
        eo.lint = true;
        e = fw_engine_build(t->files, t->n, &eo, &d);
        if (e == NULL && d.n == 0)
            fw_diag_add(&d, dir, "the policies could not be built (out of "
                        "memory?)");
    }
    fw_cmd_print_diag(&d);
    if (problems)
        *problems = d.n;
    fw_diag_fini(&d);
    return e;
}

bool fw_cmd_parse_now(const char *cmd, const char *text, int32_t *days)
{
    const char *why = "not a date";
    if (fw_date_parse(text, strlen(text), days, &why) == 0)
        return true;
    fw_cli_usage_error(cmd, "--now \"%s\": %s (write 2024-06-30)", text, why);
    return false;
}

bool fw_cmd_parse_count(const char *cmd, const char *opt, const char *text,
                        bool suffixes, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = text;
    if (*p < '0' || *p > '9')
        goto bad;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            goto big;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (suffixes && *p) {
        unsigned shift = *p == 'K' || *p == 'k' ? 10
                         : *p == 'M' || *p == 'm' ? 20
                         : *p == 'G' || *p == 'g' ? 30 : 0;
        if (shift == 0 || p[1] != '\0')
            goto bad;
        if (v > (UINT64_MAX >> shift))
            goto big;
        v <<= shift;
        p++;
    }
    if (*p)
        goto bad;
    *out = v;
    return true;
bad:
    fw_cli_usage_error(cmd, "%s \"%s\": not a whole number%s", opt, text,
                       suffixes ? " (K, M, G suffixes allowed)" : "");
    return false;
big:
    fw_cli_usage_error(cmd, "%s \"%s\": too large", opt, text);
    return false;
}
