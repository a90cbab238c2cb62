/* fundwatch diff: what a policy change would do. Runs the current policies
 * and a candidate (another folder, or the current one with parameters set
 * by their YAML path) over the same feeds, record by record, and reports
 * the findings added, removed and changed, first as counts by rule and
 * region, then each one. Exit status as diff(1): 0 the same, 1 different,
 * 2 trouble. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "compare.h"
#include "report/report.h"
#include "feedio.h"
#include "fundwatch/buf.h"
#include "fundwatch/finding.h"
#include "fundwatch/i18n.h"
#include "fundwatch/record.h"
#include "fundwatch/value.h"

static const char usage_text[] = N_(
    "usage: fundwatch diff --policies CURRENT (--candidate DIR | --set PATH=VALUE...)\n"
    "                      [--now DATE] [--columns MAP] [--json] FEED|FOLDER...\n"
    "\n"
    "What a policy change would do: runs CURRENT and the candidate over the\n"
    "same feeds, record by record, and prints the findings added, removed and\n"
    "changed (level, amount, score, grade): first the counts by rule and by\n"
    "region, then each finding with both versions. A FOLDER stands for every\n"
    "feed in it (the daemon's spool/done/, for last month's feeds).\n"
    "\n"
    "  -p, --policies DIR   the current policies (default: policies)\n"
    "      --candidate DIR  the candidate policies folder\n"
    "  -s, --set PATH=V     the candidate is CURRENT with this parameter set:\n"
    "                       RULE.KEY...=VALUE as in the YAML beside the policy\n"
    "                       (cq_red_yellow.lag.red=25); repeatable\n"
    "  -n, --now DATE       the clock the rules run against (default: today)\n"
    "  -m, --columns MAP    column map (YAML) on top of the built-in aliases\n"
    "      --json           one JSON object instead of text\n"
    "      --xlsx FILE      the differences as an Excel workbook too\n"
    "      --lang zh|en     the language of messages (default: from LANG)\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 no finding differs, 1 some differ, 2 usage error, a file\n"
    "that cannot be read, or policies that do not build.\n");

/* ---- --set: a parameter set in the YAML text -------------------------------------- */

/* The byte offset of line:col (1-based) in data, or (size_t)-1. */
static size_t offset_of(const char *data, size_t len, int line, int col)
{
    size_t at = 0;
    for (int l = 1; l < line; l++) {
        const char *nl = memchr(data + at, '\n', len - at);
        if (nl == NULL)
            return (size_t)-1;
        at = (size_t)(nl - data) + 1;
    }
    /* col counts characters; YAML keys here are ASCII up to the value */
    at += (size_t)(col - 1);
    return at <= len ? at : (size_t)-1;
}

/* The scalar at v as written: its start and length in data. */
static bool scalar_span(const char *data, size_t len, const struct fw_value *v,
                        size_t *start, size_t *n)
{
    size_t at = offset_of(data, len, v->line, v->col);
    if (at == (size_t)-1 || at >= len)
        return false;
    char q = data[at];
    if (q == '"' || q == '\'') {
        size_t i = at + 1;
        while (i < len && data[i] != q && data[i] != '\n')
            i += data[i] == '\\' && q == '"' ? 2 : 1;
        if (i >= len || data[i] != q)
            return false;
        *start = at;
        *n = i + 1 - at;
        return true;
    }
    size_t k = strlen(v->text ? v->text : "");
    if (at + k > len || memcmp(data + at, v->text, k) != 0)
        return false;
    *start = at;
    *n = k;
    return true;
}

static const struct fw_value *map_get(const struct fw_value *m,
                                      const char *key, size_t klen)
{
    if (m == NULL || m->type != FW_V_MAP)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (m->keys[i]->text && m->keys[i]->len == klen &&
            memcmp(m->keys[i]->text, key, klen) == 0)
            return m->items[i];
    return NULL;
}

/* Applies one PATH=VALUE to the tree's parameter files (copies the bytes it
 * changes; t owns them). Prints what is wrong and returns false. */
static bool apply_set(struct fw_policy_tree *t, const char *spec)
{
    const char *eq = strchr(spec, '=');
    const char *dot = strchr(spec, '.');
    if (eq == NULL || dot == NULL || dot > eq || eq[1] == '\0') {
        fw_cli_usage_error("diff", _("--set \"%s\": write RULE.KEY=VALUE, "
                                     "e.g. cq_red_yellow.lag.red=25"),
                           spec);
        return false;
    }
    const char *value = eq + 1;
    struct fw_src_file *hit = NULL;
    const struct fw_value *node = NULL;
    struct fw_value *hit_root = NULL;
    size_t hits = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct fw_src_file *f = &t->files[i];
        size_t pl = strlen(f->path);
        if (pl < 5 || strcmp(f->path + pl - 5, ".yaml") != 0 ||
            (pl >= 10 && strcmp(f->path + pl - 10, "_test.yaml") == 0))
            continue;
        struct fw_error err = {0};
        struct fw_value *root = fw_yaml_parse(f->path, f->data, f->len, &err);
        if (root == NULL)
            continue;
        const struct fw_value *v = map_get(root, spec, (size_t)(dot - spec));
        if (v == NULL) {
            fw_value_free(root);
            continue;
        }
        const char *k = dot + 1;
        while (v && k < eq) {
            const char *end = memchr(k, '.', (size_t)(eq - k));
            if (end == NULL)
                end = eq;
            v = map_get(v, k, (size_t)(end - k));
            k = end + 1;
        }
        if (v == NULL) {
            fprintf(stderr, _("fundwatch diff: --set \"%s\": %s has rule "
                              "%.*s but no parameter %.*s\n"),
                    spec, f->path, (int)(dot - spec), spec,
                    (int)(eq - dot - 1), dot + 1);
            fw_value_free(root);
            return false;
        }
        hits++;
        if (hit_root)
            fw_value_free(hit_root);
        hit = f;
        node = v;
        hit_root = root;
    }
    if (hits != 1) {
        fprintf(stderr, hits == 0
                            ? _("fundwatch diff: --set \"%s\": no parameters "
                                "file has a rule %.*s\n")
                            : _("fundwatch diff: --set \"%s\": several "
                                "parameters files have a rule %.*s\n"),
                spec, (int)(dot - spec), spec);
        fw_value_free(hit_root);
        return false;
    }
    size_t start, n;
    if (node->type == FW_V_MAP || node->type == FW_V_LIST ||
        !scalar_span(hit->data, hit->len, node, &start, &n)) {
        fprintf(stderr, _("fundwatch diff: --set \"%s\": %s:%d: not a single "
                          "value that can be set\n"),
                spec, hit->path, node->line);
        fw_value_free(hit_root);
        return false;
    }
    fw_value_free(hit_root);
    /* the new value, double-quoted unless it is a plain number */
    struct fw_buf b = FW_BUF_INIT;
    fw_buf_append(&b, hit->data, start);
    bool plain = strspn(value, "0123456789.-") == strlen(value);
    if (plain)
        fw_buf_puts(&b, value);
    else
        fw_buf_json_str(&b, value, strlen(value));
    fw_buf_append(&b, hit->data + start + n, hit->len - start - n);
    free((char *)hit->data);
    hit->data = b.p;
    hit->len = b.len;
    return true;
}

/* ---- the findings of both --------------------------------------------------------- */

struct side {
    struct fw_cmp_list l;
    struct fw_engine *e;
    int fatal;
};

struct run {
    struct side s[2];
    uint64_t records, rejects;
};

static int keep(void *ud, const struct fw_finding *f)
{
    struct side *s = ud;
    if (fw_cmp_add(&s->l, f) < 0)
        return s->fatal = FW_ENOMEM;
    return 0;
}

static int on_record(void *ud, const struct fw_record *rec)
{
    struct run *r = ud;
    r->records++;
    for (int k = 0; k < 2; k++) {
        int rc = fw_engine_run(r->s[k].e, rec, keep, &r->s[k]);
        if (rc < 0)
            return r->s[k].fatal = rc;
    }
    return 0;
}

static void on_reject(void *ud, const char *feed, uint64_t line,
                      const char *reason)
{
    struct run *r = ud;
    r->rejects++;
    fprintf(stderr, "%s:%" PRIu64 ": %s\n", feed, line, reason);
}

/* The feeds: files as given, folders as the files in them (sorted). */
static int add_feeds(const char *arg, char ***v, size_t *n)
{
    struct stat st;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        struct dirent **list;
        int k = scandir(arg, &list, NULL, alphasort);
        if (k < 0)
            return -1;
        for (int i = 0; i < k; i++) {
            const char *nm = list[i]->d_name;
            size_t nl = strlen(nm);
            bool reason = nl > 7 && strcmp(nm + nl - 7, ".reason") == 0;
            if (nm[0] != '.' && !reason) {
                size_t al = strlen(arg);
                while (al > 1 && arg[al - 1] == '/')
                    al--;
                char *p = malloc(al + nl + 2);
                if (p) {
                    sprintf(p, "%.*s/%s", (int)al, arg, nm);
                    if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
                        *v = realloc(*v, (*n + 1) * sizeof **v);
                        (*v)[(*n)++] = p;
                    } else {
                        free(p);
                    }
                }
            }
            free(list[i]);
        }
        free(list);
        return 0;
    }
    *v = realloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = strdup(arg);
    return 0;
}

/* ---- the report ----------------------------------------------------------------- */

enum { ADDED = FW_CMP_ADDED, REMOVED = FW_CMP_REMOVED,
       CHANGED = FW_CMP_CHANGED };

struct count {
    const char *key;   /* rule or region */
    uint64_t n[3];
};

static void count_add(struct count **c, size_t *n, const char *key, int what)
{
    key = key ? key : "-";
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*c)[i].key, key) == 0) {
            (*c)[i].n[what]++;
            return;
        }
    void *p = realloc(*c, (*n + 1) * sizeof **c);
    if (p == NULL)
        return;
    *c = p;
    (*c)[*n] = (struct count){.key = key};
    (*c)[(*n)++].n[what]++;
}

static void what_changed(const struct fw_cmp_item *a,
                         const struct fw_cmp_item *b, struct fw_buf *o)
{
    char x[32], y[32];
    if (a->level != b->level)
        fw_buf_printf(o, " level %s → %s", fw_level_name(a->level)
                      ? fw_level_name(a->level) : "-",
                      fw_level_name(b->level) ? fw_level_name(b->level) : "-");
    if (a->has_amount != b->has_amount ||
        (a->has_amount && a->amount != b->amount)) {
        strcpy(x, "-");
        strcpy(y, "-");
        if (a->has_amount)
            fw_money_format(a->amount, x);
        if (b->has_amount)
            fw_money_format(b->amount, y);
        fw_buf_printf(o, " amount %s → %s", x, y);
    }
    if (a->has_score != b->has_score || (a->has_score && a->score != b->score))
        fw_buf_printf(o, " score changed");
    if ((a->grade == NULL) != (b->grade == NULL) ||
        (a->grade && strcmp(a->grade, b->grade) != 0))
        fw_buf_printf(o, " grade %s → %s", a->grade ? a->grade : "-",
                      b->grade ? b->grade : "-");
}

static void print_counts(const char *title, struct count *c, size_t n)
{
    printf("%s\n", title);
    for (size_t i = 0; i < n; i++)
        printf("  %-24s +%-6" PRIu64 " -%-6" PRIu64 " ~%" PRIu64 "\n",
               c[i].key, c[i].n[ADDED], c[i].n[REMOVED], c[i].n[CHANGED]);
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct count *)a)->key,
                  ((const struct count *)b)->key);
}

static void side_fini(struct side *s)
{
    fw_cmp_fini(&s->l);
    fw_engine_free(s->e);
}

/* What the walk over both sides collects. */
struct report {
    struct count *by_rule, *by_region;
    size_t n_rule, n_region;
    uint64_t tot[3];
    struct fw_buf lines;
    bool json;
    size_t shown;
    struct fw_report_change *x;    /* --xlsx: every difference */
    size_t nx, capx;
};

static void one(void *ud, enum fw_cmp_change what, const struct fw_cmp_item *x,
                const struct fw_cmp_item *y)
{
    struct report *rp = ud;
    const struct fw_cmp_item *it = y ? y : x;
    rp->tot[what]++;
    if (rp->capx > 0 || rp->x != NULL) {
        if (rp->nx == rp->capx) {
            size_t cap = rp->capx ? 2 * rp->capx : 64;
            void *p = realloc(rp->x, cap * sizeof *rp->x);
            if (p) {
                rp->x = p;
                rp->capx = cap;
            }
        }
        if (rp->nx < rp->capx)
            rp->x[rp->nx++] = (struct fw_report_change){
                .change = (int)what, .rule = it->rule, .region = it->region,
                .subject = it->subject, .message = it->message,
                .level_before = x ? x->level : FW_LV_NONE,
                .level_after = y ? y->level : FW_LV_NONE,
                .has_before = x && x->has_amount, .before = x ? x->amount : 0,
                .has_after = y && y->has_amount, .after = y ? y->amount : 0,
            };
    }
    count_add(&rp->by_rule, &rp->n_rule, it->rule, (int)what);
    count_add(&rp->by_region, &rp->n_region, it->region, (int)what);
    struct fw_buf *o = &rp->lines;
    if (rp->json) {
        static const char *const names[] = {"added", "removed", "changed"};
        fw_buf_printf(o, "%s{\"change\":\"%s\"", rp->shown++ ? "," : "",
                      names[what]);
        if (x)
            fw_buf_printf(o, ",\"current\":%s", x->json);
        if (y)
            fw_buf_printf(o, ",\"candidate\":%s", y->json);
        fw_buf_putc(o, '}');
        return;
    }
    static const char sign[] = "+-~";
    const char *lv = fw_level_name((enum fw_level)it->level);
    fw_buf_printf(o, "%c %s%s%s %s %s", sign[what],
                  fw_fkind_name((enum fw_fkind)it->kind), lv ? " " : "",
                  lv ? lv : "", it->rule ? it->rule : "-", it->subject);
    if (what == FW_CMP_CHANGED) {
        what_changed(x, y, o);
    } else if (it->has_amount) {
        char m[32];
        fw_money_format(it->amount, m);
        fw_buf_printf(o, " amount %s", m);
    }
    fw_buf_printf(o, "\n    %s\n", it->message ? it->message : "");
}

int fw_cmd_diff(int argc, char **argv)
{
    struct fw_cmd_opts o;
    int rc = fw_cmd_options("diff", _(usage_text),
                            FW_OPT_POLICIES | FW_OPT_COLUMNS | FW_OPT_NOW |
                                FW_OPT_CANDIDATE | FW_OPT_SET | FW_OPT_JSON |
                                FW_OPT_XLSX,
                            argc, argv, &o);
    if (rc >= 0)
        return rc;
    if ((o.candidate != NULL) == (o.n_set > 0))
        return fw_cli_usage_error("diff", "%s",
                                  _("give the candidate: --candidate DIR or "
                                    "--set PATH=VALUE (not both)"));
    if (o.argi >= argc)
        return fw_cli_usage_error("diff", "no feed given (see --help)");
    const char *cur = o.policies ? o.policies : "policies";

    struct fw_cmd_env env;
    if ((rc = fw_cmd_load("diff", &o, _("nothing compared"), &env)) != 0)
        return rc;
    struct fw_policy_tree cand = {0};
    bool unreadable = false;
    struct fw_engine *ce = NULL;
    int status = FW_EXIT_OK;
    if (o.candidate) {
        ce = fw_cmd_build(o.candidate, &o.engine, &cand, &unreadable, NULL);
        if (ce == NULL)
            fprintf(stderr, "fundwatch diff: %s: %s; nothing compared\n",
                    o.candidate, unreadable ? "the policies could not be read"
                                            : "the policies do not build");
    } else {
        struct fw_diag d;
        fw_diag_init(&d);
        if (fw_policy_tree_read(cur, &cand, &d) < 0) {
            fw_cmd_print_diag(&d);
        } else {
            bool ok = true;
            for (size_t i = 0; i < o.n_set && ok; i++)
                ok = apply_set(&cand, o.set[i]);
            if (ok) {
                fw_diag_fini(&d);
                fw_diag_init(&d);
                ce = fw_engine_build(cand.files, cand.n, &o.engine, &d);
                fw_cmd_print_diag(&d);
                if (ce == NULL)
                    fprintf(stderr, _("fundwatch diff: the candidate does not "
                                      "build with --set; nothing compared\n"));
            }
        }
        fw_diag_fini(&d);
    }
    if (ce == NULL) {
        fw_policy_tree_fini(&cand);
        fw_cmd_env_fini(&env);
        return FW_EXIT_USAGE;
    }

    char **feeds = NULL;
    size_t nf = 0;
    for (int i = o.argi; i < argc; i++)
        add_feeds(argv[i], &feeds, &nf);
    struct run r = {.s = {{.e = env.eng}, {.e = ce}}};
    env.eng = NULL; /* side 0 owns it now */
    struct fw_reader_cb cb = {on_record, on_reject, NULL};
    for (size_t i = 0; i < nf && status != FW_EXIT_USAGE; i++) {
        struct fw_error err = {0};
        for (int k = 0; k < 2; k++)
            fw_engine_feed_begin(r.s[k].e, feeds[i], o.now);
        rc = fw_feed_read_path(feeds[i], NULL, env.map, &cb, &r, NULL, &err);
        if (rc < 0 && r.s[0].fatal == 0 && r.s[1].fatal == 0) {
            char msg[FW_PLACE_MAX + FW_MSG_MAX + 4];
            fprintf(stderr, "%s\n", fw_error_text(&err, msg, sizeof msg));
            status = rc == FW_EIO ? FW_EXIT_USAGE : status;
            continue;
        }
        for (int k = 0; k < 2; k++)
            fw_engine_feed_end(r.s[k].e, keep, &r.s[k]);
        if (r.s[0].fatal || r.s[1].fatal) {
            fprintf(stderr, "fundwatch diff: %s: the engine failed: %s\n",
                    feeds[i], fw_strerror(r.s[0].fatal ? r.s[0].fatal
                                                       : r.s[1].fatal));
            status = FW_EXIT_USAGE;
        }
    }
    for (size_t i = 0; i < nf; i++)
        free(feeds[i]);
    free(feeds);

    /* the same id is the same subject and period: compare them */
    struct report rp = {.json = o.json, .lines = FW_BUF_INIT};
    if (o.xlsx) { /* collect the differences for the workbook */
        rp.x = calloc(1, sizeof *rp.x);
        rp.capx = rp.x ? 1 : 0;
    }
    if (rp.json)
        fw_buf_puts(&rp.lines, "[");
    const struct side *A = &r.s[0], *B = &r.s[1];
    fw_cmp_walk(&r.s[0].l, &r.s[1].l, one, &rp);
    struct count *by_rule = rp.by_rule, *by_region = rp.by_region;
    size_t n_rule = rp.n_rule, n_region = rp.n_region;
    uint64_t *tot = rp.tot;
    struct fw_buf lines = rp.lines;
    bool json = rp.json;
    if (n_rule > 1)
        qsort(by_rule, n_rule, sizeof *by_rule, by_key);
    if (n_region > 1)
        qsort(by_region, n_region, sizeof *by_region, by_key);
    if (json) {
        printf("{\"current\":{\"policies\":");
        struct fw_buf t = FW_BUF_INIT;
        fw_buf_json_str(&t, cur, strlen(cur));
        printf("%s,\"findings\":%zu},\"candidate\":{", t.p, A->l.n);
        fw_buf_reset(&t);
        if (o.candidate) {
            fw_buf_json_str(&t, o.candidate, strlen(o.candidate));
            printf("\"policies\":%s,", t.p);
        } else {
            printf("\"set\":[");
            for (size_t i = 0; i < o.n_set; i++) {
                fw_buf_reset(&t);
                fw_buf_json_str(&t, o.set[i], strlen(o.set[i]));
                printf("%s%s", i ? "," : "", t.p);
            }
            printf("],");
        }
        fw_buf_fini(&t);
        printf("\"findings\":%zu},\"records\":%" PRIu64 ",\"added\":%" PRIu64
               ",\"removed\":%" PRIu64 ",\"changed\":%" PRIu64
               ",\"by_rule\":{", B->l.n, r.records, tot[ADDED], tot[REMOVED],
               tot[CHANGED]);
        for (size_t i = 0; i < n_rule; i++)
            printf("%s\"%s\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]",
                   i ? "," : "", by_rule[i].key, by_rule[i].n[ADDED],
                   by_rule[i].n[REMOVED], by_rule[i].n[CHANGED]);
        printf("},\"by_region\":{");
        for (size_t i = 0; i < n_region; i++)
            printf("%s\"%s\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]",
                   i ? "," : "", by_region[i].key, by_region[i].n[ADDED],
                   by_region[i].n[REMOVED], by_region[i].n[CHANGED]);
        printf("},\"findings\":%s]}\n", lines.p ? lines.p : "[");
    } else {
        printf(_("%" PRIu64 " records: current %zu findings, candidate %zu: "
                 "%" PRIu64 " added, %" PRIu64 " removed, %" PRIu64
                 " changed\n"),
               r.records, A->l.n, B->l.n, tot[ADDED], tot[REMOVED], tot[CHANGED]);
        if (tot[ADDED] + tot[REMOVED] + tot[CHANGED] > 0) {
            print_counts(_("by rule (+ added, - removed, ~ changed):"),
                         by_rule, n_rule);
            print_counts(_("by region:"), by_region, n_region);
            printf("\n");
            fwrite(lines.p, 1, lines.len, stdout);
        }
    }
    if (o.xlsx) {
        struct fw_error err = {0};
        char cand_desc[512] = "";
        if (o.candidate)
            snprintf(cand_desc, sizeof cand_desc, "%s", o.candidate);
        for (size_t i = 0; !o.candidate && i < o.n_set; i++) {
            size_t k = strlen(cand_desc);
            snprintf(cand_desc + k, sizeof cand_desc - k, "%s--set %s",
                     i ? " " : "", o.set[i]);
        }
        if (fw_report_write_diff(o.xlsx, rp.x, rp.nx, cur, cand_desc,
                                 &err) < 0) {
            char msg[FW_PLACE_MAX + FW_MSG_MAX + 4];
            fprintf(stderr, "fundwatch diff: %s\n",
                    fw_error_text(&err, msg, sizeof msg));
            status = FW_EXIT_USAGE;
        }
    }
    free(rp.x);
    fw_buf_fini(&lines);
    free(by_rule);
    free(by_region);
    if (status == FW_EXIT_OK && tot[ADDED] + tot[REMOVED] + tot[CHANGED] > 0)
        status = FW_EXIT_PROBLEMS;
    side_fini(&r.s[0]);
    side_fini(&r.s[1]);
    fw_policy_tree_fini(&cand);
    fw_cmd_env_fini(&env);
    return status;
}
