/* Policy tests: parses *_test.yaml into cases (every problem at file:line:col),
 * runs each case as one feed through the engine, and matches the findings
 * against the expectations (each expectation a distinct finding, found by a
 * bipartite matching so the order of expectations never matters). */
#include "testrun.h"
#include "fundwatch/i18n.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "feedio.h"
#include "fundwatch/finding.h"
#include "fundwatch/value.h"

/* ---- what a test file holds ------------------------------------------- */

enum mkey {
    M_RULE, M_KIND, M_LEVEL, M_AMOUNT, M_RATIO, M_SCORE, M_GRADE, M_REGION,
    M_DEPT, M_PROJECT, M_TASK, M_AS_OF, M_POLICY, M_MESSAGE, M__N
};

static const char *const mkeys[M__N] = {
    "rule", "kind", "level", "amount", "ratio", "score", "grade", "region",
    "dept", "project", "task", "as_of", "policy", "message",
};

#define MKEYS_TEXT "rule, kind, level, amount, ratio, score, grade, " \
                   "region, dept, project, task, as_of, policy, message"

/* One expected finding: the fields given, already converted. Text is
 * borrowed from the YAML tree. */
struct expect {
    const struct fw_value *node;
    uint32_t has;              /* bit per enum mkey */
    const char *s[M__N];
    int64_t num[M__N];         /* kind, level, amount, score, as_of */
    char ratio[48];            /* normalised decimal text */
};

struct tcase {
    const struct fw_value *node;
    const char *name;
    int32_t now;
    const struct fw_value *records;  /* a list of maps, or NULL */
    char *feed;                      /* the resolved path, or NULL */
    struct expect *exp;
    size_t n_exp;
    const struct fw_value *absent;   /* a list of rule ids, or NULL */
    struct fw_diag problems;
};

struct tfile {
    const char *path;
    struct fw_value *root;
    int policy;                      /* index of the policy tested, or -1 */
    struct tcase *cases;
    size_t n;
    struct fw_diag problems;         /* about the file as a whole */
};

bool fw_testrun_is_test(const char *path)
{
    static const char sfx[] = "_test.yaml";
    size_t n = strlen(path), k = sizeof sfx - 1;
    return n >= k && memcmp(path + n - k, sfx, k) == 0;
}

static bool in(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, set[i]) == 0)
            return true;
    return false;
}

/* A case's or a file's keys must be known: a misspelt "expcet" would
 * otherwise make a test pass that checks nothing. */
static void only_keys(struct fw_diag *d, const struct fw_value *map,
                      const char *const *allowed, size_t n, const char *what,
                      const char *list)
{
    for (size_t i = 0; i < map->n; i++)
        if (!in(map->keys[i]->text, allowed, n))
            fw_value_diag(d, map->keys[i], "unknown key \"%s\" in %s (known: %s)",
                    map->keys[i]->text, what, list);
}

/* "0.30" → "0.3", "+1.0" → "1", "00.5" → "0.5"; false if not a decimal. */
static bool norm_decimal(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    if (*s == '+' || *s == '-') {
        if (*s == '-')
            out[o++] = '-';
        s++;
    }
    const char *dot = strchr(s, '.');
    size_t ilen = dot ? (size_t)(dot - s) : strlen(s);
    const char *frac = dot ? dot + 1 : "";
    size_t flen = strlen(frac);
    if (ilen == 0 && flen == 0)
        return false;
    for (size_t i = 0; i < ilen; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    for (size_t i = 0; i < flen; i++)
        if (frac[i] < '0' || frac[i] > '9')
            return false;
    while (ilen > 1 && s[0] == '0') {
        s++;
        ilen--;
    }
    while (flen > 0 && frac[flen - 1] == '0')
        flen--;
    if (ilen + flen + 4 > cap)
        return false;
    if (ilen == 0)
        out[o++] = '0';
    memcpy(out + o, s, ilen);
    o += ilen;
    if (flen > 0) {
        out[o++] = '.';
        memcpy(out + o, frac, flen);
        o += flen;
    }
    out[o] = '\0';
    if (strcmp(out, "-0") == 0)
        strcpy(out, "0");
    return true;
}

static void parse_expect(struct fw_diag *d, const struct fw_value *v,
                         const struct fw_engine *e, struct expect *x)
{
    x->node = v;
    if (v->type != FW_V_MAP) {
        fw_value_diag(d, v, "an expectation is a map of finding fields (%s), "
                "not %s", MKEYS_TEXT, fw_value_type_name(v->type));
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        const struct fw_value *k = v->keys[i], *val = v->items[i];
        int m = 0;
        while (m < M__N && strcmp(k->text, mkeys[m]) != 0)
            m++;
        if (m == M__N) {
            fw_value_diag(d, k, "unknown key \"%s\" in an expectation (matchable: "
                    MKEYS_TEXT ")", k->text);
            continue;
        }
        if (!fw_value_is_scalar(val) || val->type == FW_V_NULL) {
            fw_value_diag(d, val, "%s: a value, not %s", k->text,
                    fw_value_type_name(val->type));
            continue;
        }
        const char *t = val->text, *why = NULL;
        int64_t num = 0;
        int rc = 0;
        switch ((enum mkey)m) {
        case M_RULE:
            if (e != NULL && fw_engine_rule_policy(e, t) < 0) {
                fw_value_diag(d, val, "no policy declares rule \"%s\"", t);
                rc = -1;
            }
            break;
        case M_KIND:
            num = fw_fkind_parse(t);
            if (num < 0) {
                fw_value_diag(d, val, "kind \"%s\": not one of alert, clawback, "
                        "score, error", t);
                rc = -1;
            }
            break;
        case M_LEVEL:
            num = fw_level_parse(t);
            if (num <= 0) {
                fw_value_diag(d, val, "level \"%s\": not one of red, yellow, info",
                        t);
                rc = -1;
            }
            break;
        case M_AMOUNT:
            rc = fw_money_parse(t, val->len, FW_UNIT_YUAN, &num, &why);
            if (rc < 0)
                fw_value_diag(d, val, "amount \"%s\": %s (money is text in yuan: "
                        "\"-400000.00\")", t, why);
            break;
        case M_SCORE:
            rc = fw_decimal_parse(t, val->len, 2, false, &num, &why);
            if (rc < 0)
                fw_value_diag(d, val, "score \"%s\": %s", t, why);
            break;
        case M_AS_OF: {
            int32_t days = 0;
            rc = fw_date_parse(t, val->len, &days, &why);
            num = days;
            if (rc < 0)
                fw_value_diag(d, val, "as_of \"%s\": %s", t, why);
            break;
        }
        case M_RATIO:
            if (!norm_decimal(t, x->ratio, sizeof x->ratio)) {
                fw_value_diag(d, val, "ratio \"%s\": not a decimal number", t);
                rc = -1;
            }
            break;
        default:
            break;
        }
        if (rc < 0)
            continue;
        x->has |= 1u << m;
        x->s[m] = t;
        x->num[m] = num;
    }
    if (v->n == 0)
        fw_value_diag(d, v, "an empty expectation would match any finding; give "
                "at least the rule");
}

/* The feed of a case, relative to the test file's folder. */
static char *resolve(const char *test_path, const char *feed)
{
    const char *slash = strrchr(test_path, '/');
    size_t dl = (feed[0] == '/' || slash == NULL)
                    ? 0 : (size_t)(slash - test_path) + 1;
    size_t fl = strlen(feed);
    char *p = malloc(dl + fl + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, test_path, dl);
    memcpy(p + dl, feed, fl + 1);
    return p;
}

static void check_rules(struct fw_diag *d, const struct fw_value *list,
                        const struct fw_engine *e)
{
    if (list->type != FW_V_LIST) {
        fw_value_diag(d, list, "absent is a list of rule ids, not %s",
                fw_value_type_name(list->type));
        return;
    }
    for (size_t i = 0; i < list->n; i++) {
        const struct fw_value *r = list->items[i];
        if (!fw_value_is_scalar(r) || r->type == FW_V_NULL)
            fw_value_diag(d, r, "absent: a rule id, not %s",
                    fw_value_type_name(r->type));
        else if (e != NULL && fw_engine_rule_policy(e, r->text) < 0)
            fw_value_diag(d, r, "no policy declares rule \"%s\"", r->text);
    }
}

static void check_record(struct fw_diag *d, const struct fw_value *r)
{
    if (r->type != FW_V_MAP) {
        fw_value_diag(d, r, "a record is a map of fields (as in a feed), not %s",
                fw_value_type_name(r->type));
        return;
    }
    for (size_t i = 0; i < r->n; i++)
        if (!fw_value_is_scalar(r->items[i]))
            fw_value_diag(d, r->items[i], "record field \"%s\": a value, not %s",
                    r->keys[i]->text, fw_value_type_name(r->items[i]->type));
}

static int parse_case(struct tfile *tf, const struct fw_value *v,
                      const struct fw_engine *e, struct tcase *c)
{
    static const char *const keys[] = {"name", "now", "records", "feed",
                                       "expect", "absent"};
    struct fw_diag *d = &c->problems;
    c->node = v;
    c->name = "(unnamed)";
    if (v->type != FW_V_MAP) {
        fw_value_diag(d, v, "a case is a map (name, now, records or feed, expect), "
                "not %s", fw_value_type_name(v->type));
        return 0;
    }
    only_keys(d, v, keys, sizeof keys / sizeof keys[0], "a case",
              "name, now, records, feed, expect, absent");

    const struct fw_value *name = fw_value_get(v, "name");
    if (name == NULL || !fw_value_is_scalar(name) || name->len == 0)
        fw_value_diag(d, name ? name : v, "a case needs a name (text)");
    else
        c->name = name->text;

    const struct fw_value *now = fw_value_get(v, "now");
    if (now == NULL) {
        fw_value_diag(d, v, "a case needs now: the date its rules run against");
    } else {
        const char *why = "not a date";
        if (!fw_value_is_scalar(now) || now->type == FW_V_NULL)
            fw_value_diag(d, now, "now: a date (2024-07-01), not %s",
                    fw_value_type_name(now->type));
        else if (fw_date_parse(now->text, now->len, &c->now, &why) < 0)
            fw_value_diag(d, now, "now \"%s\": %s", now->text, why);
    }

    const struct fw_value *recs = fw_value_get(v, "records");
    const struct fw_value *feed = fw_value_get(v, "feed");
    if (recs != NULL && feed != NULL) {
        fw_value_diag(d, feed, "a case gives records or feed, not both");
    } else if (recs == NULL && feed == NULL) {
        fw_value_diag(d, v, "a case needs records (inline) or feed (a file)");
    } else if (recs != NULL) {
        if (recs->type != FW_V_LIST || recs->n == 0) {
            fw_value_diag(d, recs, "records is a list of records (maps), not %s",
                    recs->type == FW_V_LIST ? "an empty list"
                                            : fw_value_type_name(recs->type));
        } else {
            for (size_t i = 0; i < recs->n; i++)
                check_record(d, recs->items[i]);
            c->records = recs;
        }
    } else if (!fw_value_is_scalar(feed) || feed->len == 0) {
        fw_value_diag(d, feed, "feed is the path of a feed file, relative to the "
                "test file");
    } else {
        c->feed = resolve(tf->path, feed->text);
        if (c->feed == NULL)
            return FW_ENOMEM;
        struct stat st;
        if (stat(c->feed, &st) < 0)
            fw_value_diag(d, feed, "feed \"%s\" not found: %s: %s", feed->text,
                    c->feed, strerror(errno));
        else if (!S_ISREG(st.st_mode))
            fw_value_diag(d, feed, "feed \"%s\" is not a file: %s", feed->text,
                    c->feed);
    }

    const struct fw_value *exp = fw_value_get(v, "expect");
    if (exp == NULL) {
        fw_value_diag(d, v, "a case needs expect: a list of findings, or none");
    } else if (exp->type == FW_V_STR && strcmp(exp->text, "none") == 0) {
        c->n_exp = 0;
    } else if (exp->type == FW_V_LIST && exp->n > 0) {
        c->exp = calloc(exp->n, sizeof *c->exp);
        if (c->exp == NULL)
            return FW_ENOMEM;
        c->n_exp = exp->n;
        for (size_t i = 0; i < exp->n; i++)
            parse_expect(d, exp->items[i], e, &c->exp[i]);
    } else {
        fw_value_diag(d, exp, "expect is a list of findings, or none (not %s)",
                exp->type == FW_V_LIST ? "an empty list"
                : exp->type == FW_V_STR ? "other text"
                                        : fw_value_type_name(exp->type));
    }

    const struct fw_value *absent = fw_value_get(v, "absent");
    if (absent != NULL) {
        check_rules(d, absent, e);
        if (absent->type == FW_V_LIST)
            c->absent = absent;
    }
    return 0;
}

/* line * 2^20 + col of a "path:line:col: ..." item of path, or a large
 * number (kept after, in order) for any other. */
static long place_key(const char *item, const char *path)
{
    size_t n = strlen(path);
    if (strncmp(item, path, n) != 0 || item[n] != ':')
        return LONG_MAX;
    char *end;
    long line = strtol(item + n + 1, &end, 10), col = 0;
    if (*end == ':' && end[1] >= '0' && end[1] <= '9')
        col = strtol(end + 1, NULL, 10);
    return line * (1L << 20) + col;
}

/* Problems in the order they are written in the file (they are found key
 * by key, not line by line). Stable: an insertion sort of a few items. */
static void sort_problems(struct fw_diag *d, const char *path)
{
    for (size_t i = 1; i < d->n; i++) {
        char *x = d->items[i];
        long k = place_key(x, path);
        size_t j = i;
        while (j > 0 && place_key(d->items[j - 1], path) > k) {
            d->items[j] = d->items[j - 1];
            j--;
        }
        d->items[j] = x;
    }
}

static void tfile_fini(struct tfile *tf)
{
    for (size_t i = 0; i < tf->n; i++) {
        free(tf->cases[i].feed);
        free(tf->cases[i].exp);
        fw_diag_fini(&tf->cases[i].problems);
    }
    free(tf->cases);
    fw_value_free(tf->root);
    fw_diag_fini(&tf->problems);
}

/* The policy a test file tests: the .lua beside it of the same name. */
static int tested_policy(const char *test_path, const struct fw_engine *e)
{
    size_t n = strlen(test_path) - strlen("_test.yaml");
    size_t np = fw_engine_policy_count(e);
    for (size_t i = 0; i < np; i++) {
        const char *p = fw_engine_policy(e, i)->path;
        if (p && strlen(p) == n + 4 && memcmp(p, test_path, n) == 0 &&
            strcmp(p + n, ".lua") == 0)
            return (int)i;
    }
    return -1;
}

static int tfile_load(const struct fw_src_file *src, const struct fw_engine *e,
                      struct tfile *tf)
{
    *tf = (struct tfile){.path = src->path, .policy = -1};
    fw_diag_init(&tf->problems);
    if (e != NULL) {
        tf->policy = tested_policy(src->path, e);
        if (tf->policy < 0) {
            size_t n = strlen(src->path) - strlen("_test.yaml");
            fw_diag_add(&tf->problems, src->path, "no policy %.*s.lua beside "
                        "this test file", (int)n, src->path);
        }
    }
    struct fw_error err;
    fw_error_clear(&err);
    tf->root = fw_yaml_parse(src->path, src->data, src->len, &err);
    if (tf->root == NULL) {
        if (err.code == FW_ENOMEM)
            return FW_ENOMEM;
        fw_diag_add_error(&tf->problems, &err);
        return 0;
    }
    const struct fw_value *root = tf->root;
    if (root->type != FW_V_MAP) {
        fw_value_diag(&tf->problems, root, "a test file is a map with a list of "
                "cases under \"cases\", not %s",
                fw_value_type_name(root->type));
        return 0;
    }
    static const char *const keys[] = {"cases"};
    only_keys(&tf->problems, root, keys, 1, "a test file", "cases");
    const struct fw_value *cases = fw_value_get(root, "cases");
    if (cases == NULL || cases->type != FW_V_LIST || cases->n == 0) {
        fw_value_diag(&tf->problems, cases ? cases : root,
                "a test file needs cases: a list of at least one case");
        return 0;
    }
    tf->cases = calloc(cases->n, sizeof *tf->cases);
    if (tf->cases == NULL)
        return FW_ENOMEM;
    tf->n = cases->n;
    for (size_t i = 0; i < cases->n; i++) {
        fw_diag_init(&tf->cases[i].problems);
        if (parse_case(tf, cases->items[i], e, &tf->cases[i]) < 0)
            return FW_ENOMEM;
        sort_problems(&tf->cases[i].problems, tf->path);
    }
    return 0;
}

static void diag_move(struct fw_diag *to, const struct fw_diag *from)
{
    for (size_t i = 0; i < from->n; i++)
        fw_diag_add(to, NULL, "%s", from->items[i]);
}

int fw_testrun_check(const struct fw_src_file *files, size_t n,
                     const struct fw_engine *e, struct fw_diag *diag)
{
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (!fw_testrun_is_test(files[i].path))
            continue;
        seen++;
        struct tfile tf;
        int rc = tfile_load(&files[i], e, &tf);
        diag_move(diag, &tf.problems);
        for (size_t k = 0; k < tf.n; k++)
            diag_move(diag, &tf.cases[k].problems);
        tfile_fini(&tf);
        if (rc < 0)
            return rc;
    }
    return seen;
}

/* ---- running a case ---------------------------------------------------- */

/* A finding kept past its callback: every string copied. */
struct got {
    struct fw_finding f;
    int match;          /* index of the expectation it satisfies, or -1 */
};

struct run {
    struct fw_engine *e;
    struct tfile *tf;
    struct tcase *c;
    struct got *got;
    size_t n, cap;
    struct fw_diag notes;  /* rejects of a feed: said, not failed */
    int fatal;             /* an engine or memory failure */
};

static char *dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void got_free(struct got *g)
{
    free((char *)g->f.policy);
    free((char *)g->f.policy_version);
    free((char *)g->f.rule);
    free((char *)g->f.region);
    free((char *)g->f.dept);
    free((char *)g->f.project);
    free((char *)g->f.task);
    free((char *)g->f.ratio);
    free((char *)g->f.grade);
    free((char *)g->f.message);
    free((char *)g->f.feed);
}

static int on_finding(void *ud, const struct fw_finding *f)
{
    struct run *r = ud;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct got *g = realloc(r->got, cap * sizeof *g);
        if (g == NULL)
            return r->fatal = FW_ENOMEM;
        r->got = g;
        r->cap = cap;
    }
    struct got *g = &r->got[r->n++];
    g->f = *f;
    g->match = -1;
    g->f.policy = dup(f->policy);
    g->f.policy_version = dup(f->policy_version);
    g->f.rule = dup(f->rule);
    g->f.region = dup(f->region);
    g->f.dept = dup(f->dept);
    g->f.project = dup(f->project);
    g->f.task = dup(f->task);
    g->f.ratio = dup(f->ratio);
    g->f.grade = dup(f->grade);
    g->f.message = dup(f->message);
    g->f.feed = dup(f->feed);
    return 0;
}

/* Inline records are read as NDJSON, one line per record: the reader's
 * rules apply as to any feed, and line i is record i of the YAML, so the
 * record keeps the test file's line as its source. */
static int on_inline_record(void *ud, const struct fw_record *rec)
{
    struct run *r = ud;
    const struct fw_value *y = r->c->records->items[rec->line - 1];
    struct fw_record copy = *rec;
    copy.feed = r->tf->path;
    copy.line = (uint64_t)y->line;
    int rc = fw_engine_run(r->e, &copy, on_finding, r);
    if (rc < 0 && r->fatal == 0)
        r->fatal = rc;
    return rc;
}

static void on_inline_reject(void *ud, const char *feed, uint64_t line,
                             const char *reason)
{
    struct run *r = ud;
    (void)feed;
    fw_value_diag(&r->c->problems, r->c->records->items[line - 1],
            "record not read: %s", reason);
}

static int on_feed_record(void *ud, const struct fw_record *rec)
{
    struct run *r = ud;
    int rc = fw_engine_run(r->e, rec, on_finding, r);
    if (rc < 0 && r->fatal == 0)
        r->fatal = rc;
    return rc;
}

static void on_feed_reject(void *ud, const char *feed, uint64_t line,
                           const char *reason)
{
    struct run *r = ud;
    fw_diag_add(&r->notes, NULL, "%s:%llu: %s (rejected, not run)", feed,
                (unsigned long long)line, reason);
}

static int inline_ndjson(const struct fw_value *recs, struct fw_buf *b)
{
    for (size_t i = 0; i < recs->n; i++) {
        const struct fw_value *m = recs->items[i];
        fw_buf_putc(b, '{');
        bool first = true;
        for (size_t k = 0; k < m->n; k++) {
            const struct fw_value *v = m->items[k];
            if (v->type == FW_V_NULL)
                continue;
            if (!first)
                fw_buf_putc(b, ',');
            first = false;
            fw_buf_json_str(b, m->keys[k]->text, m->keys[k]->len);
            fw_buf_putc(b, ':');
            fw_buf_json_str(b, v->text, v->len);
        }
        if (fw_buf_puts(b, "}\n") < 0)
            return FW_ENOMEM;
    }
    return 0;
}

static bool opt_eq(const char *a, const char *b)
{
    return a != NULL && strcmp(a, b) == 0;
}

static bool matches(const struct expect *x, const struct fw_finding *f)
{
    for (int m = 0; m < M__N; m++) {
        if (!(x->has & (1u << m)))
            continue;
        const char *s = x->s[m];
        bool ok;
        switch ((enum mkey)m) {
        case M_RULE: ok = opt_eq(f->rule, s); break;
        case M_KIND: ok = (int64_t)f->kind == x->num[m]; break;
        case M_LEVEL: ok = (int64_t)f->level == x->num[m]; break;
        case M_AMOUNT: ok = f->has_amount && f->amount == x->num[m]; break;
        case M_SCORE: ok = f->has_score && f->score == x->num[m]; break;
        case M_AS_OF: ok = f->has_as_of && f->as_of == x->num[m]; break;
        case M_RATIO: {
            char r[48];
            ok = f->ratio && norm_decimal(f->ratio, r, sizeof r) &&
                 strcmp(r, x->ratio) == 0;
            break;
        }
        case M_GRADE: ok = opt_eq(f->grade, s); break;
        case M_REGION: ok = opt_eq(f->region, s); break;
        case M_DEPT: ok = opt_eq(f->dept, s); break;
        case M_PROJECT: ok = opt_eq(f->project, s); break;
        case M_TASK: ok = opt_eq(f->task, s); break;
        case M_POLICY: ok = opt_eq(f->policy, s); break;
        case M_MESSAGE: ok = f->message && strstr(f->message, s); break;
        default: ok = false; break;
        }
        if (!ok)
            return false;
    }
    return true;
}

/* Kuhn's augmenting paths: expectation i takes finding j, or moves the
 * expectation holding j elsewhere. */
static bool augment(const struct tcase *c, struct got *g, size_t n, size_t i,
                    bool *seen)
{
    for (size_t j = 0; j < n; j++) {
        if (seen[j] || !matches(&c->exp[i], &g[j].f))
            continue;
        seen[j] = true;
        if (g[j].match < 0 ||
            augment(c, g, n, (size_t)g[j].match, seen)) {
            g[j].match = (int)i;
            return true;
        }
    }
    return false;
}

static void put_expect(struct fw_buf *o, const struct expect *x)
{
    const struct fw_value *v = x->node;
    fw_buf_putc(o, '{');
    for (size_t i = 0; v->type == FW_V_MAP && i < v->n; i++)
        fw_buf_printf(o, "%s%s: %s", i ? ", " : "", v->keys[i]->text,
                      v->items[i]->text ? v->items[i]->text : "");
    fw_buf_putc(o, '}');
}

/* A finding in a line: the fields a person compares with the test. */
static void put_finding(struct fw_buf *o, const struct fw_finding *f)
{
    char t[32];
    fw_buf_printf(o, "%s %s", f->rule ? f->rule : "(no rule)",
                  fw_fkind_name(f->kind));
    if (f->level != FW_LV_NONE)
        fw_buf_printf(o, " %s", fw_level_name(f->level));
    if (f->has_amount) {
        fw_money_format(f->amount, t);
        fw_buf_printf(o, ", amount %s", t);
    }
    if (f->ratio)
        fw_buf_printf(o, ", ratio %s", f->ratio);
    if (f->has_score) {
        fw_decimal_format(f->score, 2, t);
        fw_buf_printf(o, ", score %s", t);
    }
    if (f->grade)
        fw_buf_printf(o, ", grade %s", f->grade);
    if (f->task)
        fw_buf_printf(o, ", task %s", f->task);
    if (f->message) {
        fw_buf_puts(o, ", message ");
        fw_buf_json_str(o, f->message, strlen(f->message));
    }
    if (f->feed && f->line > 0)
        fw_buf_printf(o, ", source %s:%llu", f->feed,
                      (unsigned long long)f->line);
    else if (f->feed)
        fw_buf_printf(o, ", source %s (end of feed)", f->feed);
    if (f->policy)
        fw_buf_printf(o, " [%s]", f->policy);
}

static void put_place(struct fw_buf *o, const struct fw_value *v)
{
    fw_buf_printf(o, "%s:%d", v->file, v->line);
}

static int run_case(struct fw_engine *e, struct tfile *tf, struct tcase *c,
                    const struct fw_colmap *map, unsigned num,
                    struct fw_buf *out, struct fw_testrun_stats *st,
                    struct fw_error *err)
{
    struct run r = {.e = e, .tf = tf, .c = c};
    fw_diag_init(&r.notes);
    int rc = 0;
    bool error = c->problems.n > 0;
    const char *label = c->feed ? c->feed : tf->path;

    if (!error) {
        rc = fw_engine_feed_begin(e, label, c->now);
        struct fw_error rerr;
        fw_error_clear(&rerr);
        int rd = 0;
        if (rc >= 0 && c->records) {
            struct fw_buf nd = FW_BUF_INIT;
            rc = inline_ndjson(c->records, &nd);
            struct fw_reader_cb cb = {on_inline_record, on_inline_reject};
            if (rc == 0)
                rd = fw_feed_read_mem(nd.p, nd.len, tf->path, FW_FMT_NDJSON,
                                      map, &cb, &r, NULL, &rerr);
            fw_buf_fini(&nd);
        } else if (rc >= 0) {
            struct fw_reader_cb cb = {on_feed_record, on_feed_reject};
            rd = fw_feed_read_path(c->feed, NULL, map, &cb, &r, NULL, &rerr);
        }
        if (r.fatal < 0) {
            rc = r.fatal;
            fw_error_set(err, rc, label, "the engine failed: %s",
                         fw_strerror(rc));
        } else if (rc < 0) {
            fw_error_set(err, rc, label, "the engine failed: %s",
                         fw_strerror(rc));
        } else if (rd < 0) {
            if (rd == FW_ENOMEM) {
                rc = fw_error_set(err, rd, label, "out of memory");
            } else {
                fw_diag_add_error(&c->problems, &rerr);
            }
        }
        if (rc >= 0) {
            rc = fw_engine_feed_end(e, on_finding, &r);
            for (size_t k = 0; k < fw_engine_policy_count(e); k++) {
                const char *near, *f = fw_engine_policy_missed_field(e, k,
                                                                     &near);
                if (f)
                    fw_diag_add(&r.notes, NULL, _("policy %s read rec.%s, "
                                "which no column of the records gives (did "
                                "you mean rec.%s?)"),
                                fw_engine_policy(e, k)->id, f, near);
            }
            if (r.fatal < 0)
                rc = r.fatal;
            if (rc < 0)
                fw_error_set(err, rc, label, "the engine failed: %s",
                             fw_strerror(rc));
        }
        error = c->problems.n > 0;
    }
    if (rc < 0)
        goto done;

    st->cases++;
    struct fw_buf why = FW_BUF_INIT;
    bool failed = error;
    if (error) {
        for (size_t i = 0; i < c->problems.n; i++)
            fw_buf_printf(&why, "  %s\n", c->problems.items[i]);
    } else {
        bool *seen = calloc(r.n ? r.n : 1, sizeof *seen);
        if (seen == NULL) {
            rc = fw_error_set(err, FW_ENOMEM, label, "out of memory");
            fw_buf_fini(&why);
            goto done;
        }
        for (size_t i = 0; i < c->n_exp; i++) {
            memset(seen, 0, (r.n ? r.n : 1) * sizeof *seen);
            if (!augment(c, r.got, r.n, i, seen)) {
                failed = true;
                fw_buf_printf(&why, "  - %s (", _("expected, not produced"));
                put_place(&why, c->exp[i].node);
                fw_buf_puts(&why, "): ");
                put_expect(&why, &c->exp[i]);
                fw_buf_putc(&why, '\n');
            }
        }
        free(seen);
        const char *pid = tf->policy >= 0
                              ? fw_engine_policy(e, (size_t)tf->policy)->id
                              : NULL;
        for (size_t j = 0; j < r.n; j++) {
            const struct fw_finding *f = &r.got[j].f;
            if (r.got[j].match >= 0)
                continue;
            if (f->kind == FW_FK_ERROR || (pid && opt_eq(f->policy, pid))) {
                failed = true;
                fw_buf_printf(&why, "  + %s: ", _("produced, not expected"));
                put_finding(&why, f);
                fw_buf_putc(&why, '\n');
            }
        }
        for (size_t i = 0; c->absent && i < c->absent->n; i++) {
            const struct fw_value *a = c->absent->items[i];
            for (size_t j = 0; j < r.n; j++) {
                if (!opt_eq(r.got[j].f.rule, a->text))
                    continue;
                failed = true;
                fw_buf_printf(&why, "  ! %s (", _("fired, listed in absent"));
                put_place(&why, a);
                fw_buf_puts(&why, "): ");
                put_finding(&why, &r.got[j].f);
                fw_buf_putc(&why, '\n');
            }
        }
        if (failed) {
            fw_buf_printf(&why, _("  findings produced (%zu):%s\n"), r.n,
                          r.n ? "" : _(" none"));
            for (size_t j = 0; j < r.n; j++) {
                fw_buf_puts(&why, "    ");
                put_finding(&why, &r.got[j].f);
                fw_buf_putc(&why, '\n');
            }
        }
    }
    if (failed) {
        st->failed++;
        st->errors += error;
    } else {
        st->passed++;
    }
    fw_buf_printf(out, "%s %u - %s:%d: %s%s\n", failed ? "not ok" : "ok",
                  num, tf->path, c->node->line, c->name,
                  error ? _(" (error)") : "");
    for (size_t i = 0; i < r.notes.n; i++)
        fw_buf_printf(out, _("  note: %s\n"), r.notes.items[i]);
    if (why.len)
        fw_buf_append(out, why.p, why.len);
    fw_buf_fini(&why);
done:
    for (size_t j = 0; j < r.n; j++)
        got_free(&r.got[j]);
    free(r.got);
    fw_diag_fini(&r.notes);
    return rc;
}

int fw_testrun_run(struct fw_engine *e, const struct fw_src_file *files,
                   size_t n, const char *pattern, const struct fw_colmap *map,
                   struct fw_buf *out, struct fw_testrun_stats *st,
                   struct fw_error *err)
{
    *st = (struct fw_testrun_stats){0};
    struct fw_colmap *own = NULL;
    if (map == NULL) {
        map = own = fw_colmap_new();
        if (own == NULL)
            return fw_error_set(err, FW_ENOMEM, NULL, "out of memory");
    }
    int rc = 0;
    unsigned num = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!fw_testrun_is_test(files[i].path))
            continue;
        if (pattern && *pattern && !strstr(files[i].path, pattern))
            continue;
        st->files++;
        struct tfile tf;
        rc = tfile_load(&files[i], e, &tf);
        if (rc < 0) {
            fw_error_set(err, rc, files[i].path, "out of memory");
        } else if (tf.problems.n > 0) {
            /* The file as a whole cannot run: one failed case says why. */
            st->cases++;
            st->failed++;
            st->errors++;
            fw_buf_printf(out, _("not ok %u - %s: cannot run (error)\n"), ++num,
                          tf.path);
            for (size_t k = 0; k < tf.problems.n; k++)
                fw_buf_printf(out, "  %s\n", tf.problems.items[k]);
            for (size_t k = 0; k < tf.n; k++)
                for (size_t j = 0; j < tf.cases[k].problems.n; j++)
                    fw_buf_printf(out, "  %s\n",
                                  tf.cases[k].problems.items[j]);
        } else {
            for (size_t k = 0; k < tf.n && rc == 0; k++)
                rc = run_case(e, &tf, &tf.cases[k], map, ++num, out, st, err);
        }
        tfile_fini(&tf);
    }
    fw_colmap_free(own);
    return rc;
}
