/* The engine: builds a generation of policies from files in memory, routes
 * each record to the policies whose region prefixes match (broadest first,
 * honouring replaces), turns emits and failures into findings with their
 * deterministic ids, and keeps per-policy counters. No I/O, no Lua here:
 * the host (lua_host.c) runs the policy code. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_int.h"
#include "fundwatch/buf.h"

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* A module: a .lua file in a folder named lib. */
static bool is_module(const char *path)
{
    if (!ends_with(path, ".lua"))
        return false;
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return false;
    const char *dir = slash;
    while (dir > path && dir[-1] != '/')
        dir--;
    return slash - dir == 3 && memcmp(dir, "lib", 3) == 0;
}

static void hex_digest(EVP_MD_CTX *c, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(c, md, &n);
    memcpy(out, "sha256:", 7);
    for (unsigned i = 0; i < n; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[7 + 2 * i + 1] = hex[md[i] & 15];
    }
    out[7 + 2 * n] = '\0';
}

static void digest_part(EVP_MD_CTX *c, const char *p, size_t n)
{
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)((uint64_t)n >> (8 * i));
    EVP_DigestUpdate(c, len, sizeof len);
    if (n)
        EVP_DigestUpdate(c, p, n);
}

/* The path a version is computed over: inside the tree, not where it is. */
static const char *rel(const struct fw_src_file *f)
{
    return f->rel ? f->rel : f->path;
}

static bool sha256_of(const struct fw_src_file *a, const struct fw_src_file *b,
                      bool paths, size_t n, char *out)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c == NULL || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(c);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (paths)
            digest_part(c, rel(&a[i]), strlen(rel(&a[i])));
        digest_part(c, a[i].data, a[i].len);
    }
    if (b)
        digest_part(c, b->data, b->len);
    hex_digest(c, out);
    EVP_MD_CTX_free(c);
    return true;
}

/* A policy's version: its .lua, its .yaml, and every module of lib/ (which
 * of them it requires is only known once it runs), so that an edit of a
 * shared module changes the policy_version of the findings it shapes. With
 * no modules this is the sha256 of the .lua and .yaml alone. */
static bool policy_version(const struct fw_src_file *lua,
                           const struct fw_src_file *yaml,
                           const struct fw_src_file *mods, size_t n_mods,
                           char *out)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c == NULL || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(c);
        return false;
    }
    digest_part(c, lua->data, lua->len);
    if (yaml)
        digest_part(c, yaml->data, yaml->len);
    for (size_t i = 0; i < n_mods; i++) {
        digest_part(c, rel(&mods[i]), strlen(rel(&mods[i])));
        digest_part(c, mods[i].data, mods[i].len);
    }
    hex_digest(c, out);
    EVP_MD_CTX_free(c);
    return true;
}

static const struct fw_src_file *find_file(const struct fw_src_file *files,
                                           size_t n, const char *path,
                                           size_t plen, const char *suffix)
{
    size_t sl = strlen(suffix);
    for (size_t i = 0; i < n; i++)
        if (strlen(files[i].path) == plen + sl &&
            memcmp(files[i].path, path, plen) == 0 &&
            strcmp(files[i].path + plen, suffix) == 0)
            return &files[i];
    return NULL;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void policy_fini(struct fw__policy *p)
{
    fw__host_free(p);
    for (size_t k = 0; p->rule_params && k < p->n_rules; k++)
        free(p->rule_params[k]);
    free(p->rule_params);
    free(p->id);
    free(p->title);
    free(p->path);
    free_strv(p->regions, p->n_regions);
    free_strv(p->replaces, p->n_replaces);
    free(p->replaces_rule);
    for (size_t i = 0; p->rules && i < p->n_rules; i++) {
        free((char *)p->rules[i].id);
        free((char *)p->rules[i].title);
        free((char *)p->rules[i].source);
    }
    free(p->rules);
}

void fw_engine_free(struct fw_engine *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->n_pol; i++)
        policy_fini(&e->pol[i]);
    free(e->pol);
    free(e->order);
    free(e->rule_id);
    free(e->rule_pol);
    fw_buf_fini(&e->subj_buf);
    fw_buf_fini(&e->ev_buf);
    free(e->replaced_own);
    free(e->memo_flags);
    free(e->feed_copy);
    free(e);
}

int fw__engine_rule(const struct fw_engine *e, const char *id)
{
    for (size_t i = 0; i < e->n_rules; i++)
        if (strcmp(e->rule_id[i], id) == 0)
            return (int)i;
    return -1;
}

int fw_engine_rule_policy(const struct fw_engine *e, const char *rule)
{
    int r = rule ? fw__engine_rule(e, rule) : -1;
    return r < 0 ? -1 : e->rule_pol[r];
}

/* Does some region of q strictly contain (is a shorter prefix of) every
 * region of p? */
static bool broader(const struct fw__policy *q, const struct fw__policy *p)
{
    for (size_t i = 0; i < p->n_regions; i++) {
        bool found = false;
        for (size_t j = 0; j < q->n_regions && !found; j++) {
            size_t n = strlen(q->regions[j]);
            found = n < strlen(p->regions[i]) &&
                    strncmp(p->regions[i], q->regions[j], n) == 0;
        }
        if (!found)
            return false;
    }
    return true;
}

static struct fw_engine *sort_ctx;

static int order_cmp(const void *a, const void *b)
{
    const struct fw__policy *p = &sort_ctx->pol[*(const size_t *)a];
    const struct fw__policy *q = &sort_ctx->pol[*(const size_t *)b];
    if (p->min_prefix != q->min_prefix)
        return p->min_prefix < q->min_prefix ? -1 : 1;
    return strcmp(p->path, q->path);
}

/* Cross-policy checks once every policy is loaded: ids, rules, replaces. */
static void link_policies(struct fw_engine *e, struct fw_diag *diag)
{
    for (size_t i = 0; i < e->n_pol; i++) {
        struct fw__policy *p = &e->pol[i];
        if (p->id == NULL)
            continue; /* did not load: already reported */
        for (size_t j = 0; j < i; j++)
            if (e->pol[j].id && *p->id && strcmp(e->pol[j].id, p->id) == 0)
                fw_diag_add(diag, NULL, "%s:%d: policy id \"%s\" is already "
                            "declared by %s:%d", p->path, p->decl_line, p->id,
                            e->pol[j].path, e->pol[j].decl_line);
        p->rule_base = (int)e->n_rules;
        for (size_t r = 0; r < p->n_rules; r++) {
            const char *id = p->rules[r].id;
            if (id == NULL)
                continue;
            int other = *id ? fw__engine_rule(e, id) : -1;
            if (other >= 0 && e->rule_pol[other] != (int)i) {
                const struct fw__policy *q = &e->pol[e->rule_pol[other]];
                fw_diag_add(diag, NULL, "%s:%d: rule \"%s\" is already "
                            "declared by policy %s (%s:%d); rule ids are "
                            "unique across all policies", p->path,
                            p->decl_line, id, q->id, q->path, q->decl_line);
            }
            e->rule_id[e->n_rules] = id;
            e->rule_pol[e->n_rules++] = (int)i;
        }
    }
    for (size_t i = 0; i < e->n_pol; i++) {
        struct fw__policy *p = &e->pol[i];
        if (p->id == NULL)
            continue;
        p->replaces_rule = calloc(p->n_replaces + 1, sizeof(int));
        if (p->replaces_rule == NULL) {
            fw_diag_add(diag, p->path, "out of memory");
            return;
        }
        for (size_t k = 0; k < p->n_replaces; k++) {
            const char *x = p->replaces[k];
            int r = fw__engine_rule(e, x);
            p->replaces_rule[k] = r;
            if (r < 0) {
                fw_diag_add(diag, NULL, "%s:%d: replaces \"%s\": no policy "
                            "declares that rule", p->path, p->decl_line, x);
                continue;
            }
            const struct fw__policy *q = &e->pol[e->rule_pol[r]];
            if (q == p)
                fw_diag_add(diag, NULL, "%s:%d: replaces \"%s\": a policy "
                            "cannot replace its own rule", p->path,
                            p->decl_line, x);
            else if (!broader(q, p))
                fw_diag_add(diag, NULL, "%s:%d: replaces \"%s\": that rule's "
                            "policy %s does not govern a broader region than "
                            "every region of this policy", p->path,
                            p->decl_line, x, q->id);
        }
    }
}

static void fill_info(struct fw__policy *p)
{
    p->info = (struct fw_policy_info){
        .id = p->id,
        .title = p->title,
        .path = p->path,
        .version = p->version,
        .regions = (const char *const *)p->regions,
        .n_regions = p->n_regions,
        .replaces = (const char *const *)p->replaces,
        .n_replaces = p->n_replaces,
        .rules = p->rules,
        .n_rules = p->n_rules,
    };
}

struct fw_engine *fw_engine_build(const struct fw_src_file *files, size_t n,
                                  const struct fw_engine_opts *opts,
                                  struct fw_diag *diag)
{
    size_t problems = diag->n;
    struct fw_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        goto nomem;
    if (opts)
        e->opts = *opts;
    if (e->opts.budget == 0)
        e->opts.budget = FW_ENGINE_DEFAULT_BUDGET;
    if (e->opts.mem_cap == 0)
        e->opts.mem_cap = FW_ENGINE_DEFAULT_MEM_CAP;
    if (e->opts.error_streak == 0)
        e->opts.error_streak = FW_ENGINE_DEFAULT_ERROR_STREAK;
    if (e->opts.call_time_ms == 0)
        e->opts.call_time_ms = FW_ENGINE_DEFAULT_CALL_TIME_MS;
    if (e->opts.max_string == 0)
        e->opts.max_string = FW_ENGINE_DEFAULT_MAX_STRING;
    if (e->opts.findings_per_call == 0)
        e->opts.findings_per_call = FW_ENGINE_DEFAULT_FINDINGS_PER_CALL;
    if (e->opts.findings_per_feed == 0)
        e->opts.findings_per_feed = FW_ENGINE_DEFAULT_FINDINGS_PER_FEED;
    if (!sha256_of(files, NULL, true, n, e->version))
        goto nomem;

    size_t n_lua = 0, n_mods = 0;
    struct fw_src_file *mods = calloc(n + 1, sizeof *mods);
    if (mods == NULL)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        const char *path = files[i].path;
        if (is_module(path))
            mods[n_mods++] = files[i];
        else if (ends_with(path, ".lua"))
            n_lua++;
        else if (ends_with(path, ".yaml") && !ends_with(path, "_test.yaml") &&
                 !find_file(files, n, path, strlen(path) - 5, ".lua"))
            fw_diag_add(diag, NULL, "%s: no policy %.*s.lua beside this "
                        "parameters file (the parameters of x.lua are in "
                        "x.yaml)", path, (int)(strlen(path) - 5), path);
    }
    e->pol = calloc(n_lua + 1, sizeof *e->pol);
    e->order = calloc(n_lua + 1, sizeof *e->order);
    if (e->pol == NULL || e->order == NULL) {
        free(mods);
        goto nomem;
    }
    size_t total_rules = 0;
    for (size_t i = 0; i < n; i++) {
        const char *path = files[i].path;
        if (!ends_with(path, ".lua") || is_module(path))
            continue;
        struct fw__policy *p = &e->pol[e->n_pol];
        p->e = e;
        p->index = (int)e->n_pol;
        e->order[e->n_pol] = e->n_pol;
        e->n_pol++;
        p->path = strdup(path);
        if (p->path == NULL) {
            free(mods);
            goto nomem;
        }
        const struct fw_src_file *y = find_file(files, n, path,
                                                strlen(path) - 4, ".yaml");
        if (!policy_version(&files[i], y, mods, n_mods, p->version)) {
            free(mods);
            goto nomem;
        }
        struct fw_value *params = NULL;
        if (y) {
            struct fw_error err = {0};
            params = fw_yaml_parse(y->path, y->data, y->len, &err);
            /* A bad YAML is reported; the .lua is still loaded so that
             * its own problems are reported in the same run. */
            if (params == NULL) {
                p->yaml_bad = true;
                fw_diag_add_error(diag, &err);
            } else if (params->type != FW_V_MAP && params->type != FW_V_NULL) {
                char where[FW_PLACE_MAX];
                fw_diag_add(diag, fw_value_place(params, where, sizeof where),
                            "the parameters of a policy are a map (key: "
                            "value), not %s", fw_value_type_name(params->type));
                fw_value_free(params);
                params = NULL;
                p->yaml_bad = true;
            }
        }
        fw__host_load(p, files[i].data, files[i].len, params, mods, n_mods,
                      diag);
        if (fw__evidence_params(p, params) < 0) {
            fw_value_free(params);
            free(mods);
            goto nomem;
        }
        fw_value_free(params);
        total_rules += p->n_rules;
        fill_info(p);
    }
    free(mods);
    e->rule_id = calloc(total_rules + 1, sizeof *e->rule_id);
    e->rule_pol = calloc(total_rules + 1, sizeof *e->rule_pol);
    e->replaced_own = calloc(total_rules + e->n_pol + 1, 1);
    e->replaced = e->replaced_own;
    e->memo_flags = calloc(FW__MEMO_SLOTS, total_rules + e->n_pol + 1);
    if (e->rule_id == NULL || e->rule_pol == NULL || e->replaced_own == NULL ||
        e->memo_flags == NULL)
        goto nomem;
    for (size_t i = 0; i < FW__MEMO_SLOTS; i++)
        e->memo[i].flags = e->memo_flags + i * (total_rules + e->n_pol + 1);
    link_policies(e, diag);
    if (diag->n != problems) {
        fw_engine_free(e);
        return NULL;
    }
    for (size_t i = 0; i < e->n_pol; i++)
        if (fw__host_link(&e->pol[i]) < 0)
            goto nomem;
    sort_ctx = e;
    qsort(e->order, e->n_pol, sizeof *e->order, order_cmp);
    sort_ctx = NULL;
    return e;
nomem:
    fw_diag_add(diag, NULL, "out of memory building the policies");
    fw_engine_free(e);
    return NULL;
}

const char *fw_engine_version(const struct fw_engine *e)
{
    return e->version;
}

size_t fw_engine_policy_count(const struct fw_engine *e)
{
    return e->n_pol;
}

const struct fw_policy_info *fw_engine_policy(const struct fw_engine *e,
                                              size_t i)
{
    return i < e->n_pol ? &e->pol[i].info : NULL;
}

const struct fw_policy_stats *fw_engine_policy_stats(const struct fw_engine *e,
                                                     size_t i)
{
    return i < e->n_pol ? &e->pol[i].st : NULL;
}

void fw_engine_stats_reset(struct fw_engine *e)
{
    for (size_t i = 0; i < e->n_pol; i++)
        memset(&e->pol[i].st, 0, sizeof e->pol[i].st);
}

/* ---- running ----------------------------------------------------------- */

static bool governs(const struct fw__policy *p, const char *region, size_t n)
{
    for (size_t i = 0; i < p->n_regions; i++) {
        size_t k = strlen(p->regions[i]);
        if (k <= n && memcmp(p->regions[i], region, k) == 0)
            return true;
    }
    return false;
}

/* Works out, in out[0..n_rules), the rules replaced for this region, and
 * in out[n_rules + i] whether the policy e->order[i] governs it. */
static void region_flags(const struct fw_engine *e, const char *region,
                         size_t n, unsigned char *out)
{
    memset(out, 0, e->n_rules);
    for (size_t i = 0; i < e->n_pol; i++) {
        const struct fw__policy *p = &e->pol[e->order[i]];
        bool gov = governs(p, region, n);
        out[e->n_rules + i] = gov;
        if (!gov)
            continue;
        for (size_t k = 0; k < p->n_replaces; k++)
            if (p->replaces_rule[k] >= 0)
                out[p->replaces_rule[k]] = 1;
    }
}

/* Marks, in e->replaced, the rules replaced for this region; returns the
 * governing flags that follow them (see region_flags). A region met before
 * is looked up: a feed has few, and each record's policies were otherwise
 * found by comparing its region with every policy's. */
static const unsigned char *mark_replaced(struct fw_engine *e,
                                          const char *region, size_t n)
{
    if (n == 0 || n >= FW__MEMO_KEY) {
        region_flags(e, region, n, e->replaced_own);
        e->replaced = e->replaced_own;
        return e->replaced_own + e->n_rules;
    }
    /* The region as two words, its first and last eight bytes (which
     * cover all of it up to 16 bytes), hashed with two multiplications. */
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, region, 8);
        memcpy(&b, region + n - 8, 8);
    } else {
        memcpy(&a, region, n);
    }
    uint64_t h = ((a ^ n) * 0x9E3779B97F4A7C15u ^ b) * 0xC2B2AE3D27D4EB4Fu;
    /* two slots a region may sit in; a new one takes the one not used
     * last */
    size_t set = (size_t)(h >> 40) % (FW__MEMO_SLOTS / 2) * 2;
    struct fw__region_memo *m = NULL;
    for (size_t k = set; k < set + 2 && !m; k++)
        if (e->memo[k].len == n && e->memo[k].a == a && e->memo[k].b == b &&
            (n <= 16 || memcmp(e->memo[k].key, region, n) == 0))
            m = &e->memo[k];
    if (m == NULL) {
        m = &e->memo[set + !e->memo_last[set / 2]];
        region_flags(e, region, n, m->flags);
        memcpy(m->key, region, n);
        m->len = (unsigned char)n;
        m->a = a;
        m->b = b;
    }
    e->memo_last[set / 2] = (unsigned char)(m - &e->memo[set]);
    e->replaced = m->flags;
    return m->flags + e->n_rules;
}

#define FW_TIME_SAMPLE 16u /* a power of two */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int fw_engine_feed_begin(struct fw_engine *e, const char *feed, int32_t now)
{
    char *copy = strdup(feed ? feed : "");
    if (copy == NULL)
        return FW_ENOMEM;
    free(e->feed_copy);
    e->feed_copy = copy;
    e->feed = copy;
    e->now = now;
    e->in_feed = true;
    e->cb_rc = 0;
    for (size_t i = 0; i < e->n_pol; i++) {
        struct fw__policy *p = &e->pol[i];
        p->streak = 0;
        p->suspended = false;
        p->feed_findings = 0;
        int rc = fw__host_begin(p, copy, now);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The period of a finding's id: the task, or the budget year and as_of
 * month, so that a later snapshot of the same month keeps the same id. */
static void period_of(const struct fw_record *r, const struct fw__emit *em,
                      struct fw_buf *b)
{
    if (em && em->period) {
        fw_buf_printf(b, "%s", em->period);
        return;
    }
    const char *task = em ? em->task : NULL;
    if (task) {
        fw_buf_printf(b, "task:%s", task);
        return;
    }
    if (r && fw_record_has(r, FW_F_TASK)) {
        fw_buf_printf(b, "task:%.*s", (int)r->str[FW_F_TASK].n,
                      r->str[FW_F_TASK].p);
        return;
    }
    if (r && fw_record_has(r, FW_F_YEAR))
        fw_buf_put_i64(b, r->num[FW_F_YEAR]);
    fw_buf_putc(b, '|');
    bool has = em && em->has_as_of;
    int32_t as_of = has ? em->as_of : 0;
    if (!has && r && fw_record_has(r, FW_F_AS_OF)) {
        has = true;
        as_of = (int32_t)r->num[FW_F_AS_OF];
    }
    if (has) {
        int y, m, d;
        fw_date_ymd(as_of, &y, &m, &d);
        char ymd[11];
        if (y >= 0 && y <= 9999 && fw_date_format(as_of, ymd) == 10)
            fw_buf_append(b, ymd, 7); /* YYYY-MM */
        else
            fw_buf_printf(b, "%04d-%02d", y, m);
    }
}

/* Copies of the record's identifying strings, NUL-terminated, in one
 * buffer: offsets because the buffer may move while it grows. */
struct subject {
    struct fw_buf b;
    size_t off[5]; /* region, dept, project, task, period */
    bool has[5];
};

static void subject_put(struct subject *s, int i, const char *p, size_t n)
{
    s->off[i] = s->b.len;
    s->has[i] = true;
    fw_buf_append(&s->b, p, n);
    fw_buf_putc(&s->b, '\0');
}

static void subject_field(struct subject *s, int i, const char *over,
                          const struct fw_record *r, enum fw_field f)
{
    if (over)
        subject_put(s, i, over, strlen(over));
    else if (r && fw_record_has(r, f))
        subject_put(s, i, r->str[f].p, r->str[f].n);
}

static const char *subject_get(const struct subject *s, int i)
{
    return s->has[i] ? s->b.p + s->off[i] : NULL;
}

/* Fills s in buf (emptied first; the caller owns it and may keep it for
 * the next finding: an emit allocates nothing once the buffers have grown). */
static void subject_fill(struct subject *s, struct fw_buf *buf,
                         const struct fw_record *r, const struct fw__emit *em)
{
    memset(s, 0, sizeof *s);
    fw_buf_reset(buf);
    s->b = *buf;
    subject_field(s, 0, em ? em->region : NULL, r, FW_F_REGION);
    subject_field(s, 1, em ? em->dept : NULL, r, FW_F_DEPT);
    subject_field(s, 2, em ? em->project : NULL, r, FW_F_PROJECT);
    subject_field(s, 3, em ? em->task : NULL, r, FW_F_TASK);
    s->off[4] = s->b.len;
    s->has[4] = true;
    period_of(r, em, &s->b);
    fw_buf_putc(&s->b, '\0');
    *buf = s->b;
}

/* A text field of the record as a NUL-terminated string (the record's text
 * is not terminated): copied into buf, cut at its size. */
static const char *name_of(const struct fw_record *r, enum fw_field f,
                           char *buf)
{
    size_t n = r->str[f].n < 255 ? r->str[f].n : 255;
    memcpy(buf, r->str[f].p, n);
    buf[n] = '\0';
    return buf;
}

static bool replaced_for(struct fw_engine *e, const char *region, int rule)
{
    const char *reg = region ? region : "";
    size_t n = strlen(reg);
    for (size_t i = 0; i < e->n_pol; i++) {
        const struct fw__policy *p = &e->pol[i];
        if (!governs(p, reg, n))
            continue;
        for (size_t k = 0; k < p->n_replaces; k++)
            if (p->replaces_rule[k] == rule)
                return true;
    }
    return false;
}

int fw__engine_emit(struct fw__policy *p, const struct fw__emit *em)
{
    struct fw_engine *e = p->e;
    const struct fw_record *r = e->rec;
    if (r ? e->replaced[em->rule] != 0 : replaced_for(e, em->region, em->rule))
        return 0;
    struct subject s;
    subject_fill(&s, &e->subj_buf, r, em);
    struct fw_finding f = {
        .kind = em->kind,
        .level = em->level,
        .policy = p->id,
        .policy_version = p->version,
        .rule = e->rule_id[em->rule],
        .region = subject_get(&s, 0),
        .dept = subject_get(&s, 1),
        .project = subject_get(&s, 2),
        .task = subject_get(&s, 3),
        .has_amount = em->has_amount,
        .amount = em->amount,
        .ratio = em->ratio,
        .has_score = em->has_score,
        .score = em->score,
        .grade = em->grade,
        .message = em->message,
        .feed = r ? r->feed : e->feed,
        .line = r ? r->line : 0,
    };
    if (em->has_as_of) {
        f.has_as_of = true;
        f.as_of = em->as_of;
    } else if (r && fw_record_has(r, FW_F_AS_OF)) {
        f.has_as_of = true;
        f.as_of = (int32_t)r->num[FW_F_AS_OF];
    }
    const struct fw_rule_info *ri = &p->rules[em->rule - p->rule_base];
    f.title = ri->title && *ri->title ? ri->title : NULL;
    f.rule_source = ri->source && *ri->source ? ri->source : NULL;
    if (r && fw_record_has(r, FW_F_DEPT_NAME))
        f.dept_name = name_of(r, FW_F_DEPT_NAME, e->names[0]);
    if (r && fw_record_has(r, FW_F_PROJECT_NAME))
        f.project_name = name_of(r, FW_F_PROJECT_NAME, e->names[1]);
    struct fw_buf *ev = &e->ev_buf; /* the engine's, kept between emits */
    fw_buf_reset(ev);
    if (!e->opts.no_evidence) {
        fw__evidence_json(e, p, em->rule, ev);
        f.evidence = ev->p;
    }
    int rc = FW_ENOMEM;
    if (s.b.p && (e->opts.no_evidence || ev->p)) {
        fw_finding_make_id(f.policy, f.rule, f.region, f.dept, f.project,
                           subject_get(&s, 4), f.id);
        p->st.findings++;
        e->call_findings++;
        rc = e->cb(e->ud, &f);
    }
    /* a large one is not kept: one odd finding should not pin its memory */
    if (ev->cap > (64u << 10))
        fw_buf_fini(ev);
    if (e->subj_buf.cap > (64u << 10))
        fw_buf_fini(&e->subj_buf);
    return rc;
}

/* A policy failed on a record (or at the feed's end): an error finding. */
static int error_finding(struct fw__policy *p, enum fw__hook h,
                         const char *msg)
{
    struct fw_engine *e = p->e;
    const struct fw_record *r = e->rec;
    struct subject s;
    struct fw_buf sb = FW_BUF_INIT;
    subject_fill(&s, &sb, r, NULL);
    struct fw_buf text = FW_BUF_INIT;
    fw_buf_printf(&text, "%s: %s", fw__hook_names[h], msg);
    if (p->suspended && p->breach == FW__B_FINDINGS)
        fw_buf_printf(&text, "; 政策 %s 在本批数据的其余部分暂停运行 — policy "
                      "%s is suspended for the rest of this feed", p->id,
                      p->id);
    else if (p->suspended)
        fw_buf_printf(&text, "; policy %s failed on %u records in a row and "
                      "is suspended for the rest of this feed", p->id,
                      p->streak);
    char rule[32];
    snprintf(rule, sizeof rule, "!%s", fw__hook_names[h]);
    struct fw_finding f = {
        .kind = FW_FK_ERROR,
        .policy = p->id,
        .policy_version = p->version,
        .region = subject_get(&s, 0),
        .dept = subject_get(&s, 1),
        .project = subject_get(&s, 2),
        .task = subject_get(&s, 3),
        .message = text.p,
        .feed = r ? r->feed : e->feed,
        .line = r ? r->line : 0,
    };
    if (r && fw_record_has(r, FW_F_AS_OF)) {
        f.has_as_of = true;
        f.as_of = (int32_t)r->num[FW_F_AS_OF];
    }
    int rc = FW_ENOMEM;
    if (s.b.p && text.p) {
        fw_finding_make_id(f.policy, rule, f.region, f.dept, f.project,
                           subject_get(&s, 4), f.id);
        p->st.errors++;
        rc = e->cb(e->ud, &f);
    }
    fw_buf_fini(&s.b);
    fw_buf_fini(&text);
    return rc;
}

void fw_engine_observe(struct fw_engine *e, fw_call_observer cb, void *ud)
{
    e->observer = cb;
    e->observer_ud = ud;
}

/* explain: the call's report, with the parameters of every rule. */
static void observe(struct fw__policy *p, enum fw__hook h, const char *error)
{
    struct fw_engine *e = p->e;
    struct fw_buf ev = FW_BUF_INIT;
    fw__evidence_json(e, p, -1, &ev);
    struct fw_call_report r = {
        .policy = &p->info, .hook = fw__hook_names[h],
        .findings = e->call_findings, .error = error, .evidence = ev.p,
    };
    e->observer(e->observer_ud, &r);
    fw_buf_fini(&ev);
}

static int call(struct fw__policy *p, enum fw__hook h)
{
    char msg[FW_MSG_MAX];
    if (p->suspended) {
        p->st.suspended++;
        return 0;
    }
    /* Timing every call would cost a clock read or two per record (several
     * per cent of a replay); one call in FW_TIME_SAMPLE is timed and counts
     * for all of them, which is plenty for a per-policy average. */
    bool timed = (p->st.calls & (FW_TIME_SAMPLE - 1)) == 0;
    uint64_t t0 = timed ? now_ns() : 0;
    p->e->trace.fields = 0;
    p->e->trace.n_extra = p->e->trace.n_fig = 0;
    p->e->call_findings = 0;
    int rc = fw__host_call(p, h, msg, sizeof msg);
    if (timed)
        p->st.nanos += (now_ns() - t0) * FW_TIME_SAMPLE;
    p->st.calls++;
    if (p->e->observer)
        observe(p, h, rc == FW_EPOLICY || rc == FW_ELIMIT ? msg : NULL);
    if (rc == 0) {
        p->streak = 0;
        return 0;
    }
    if (rc != FW_EPOLICY && rc != FW_ELIMIT)
        return rc; /* the callback said stop */
    p->streak++;
    if ((p->streak >= p->e->opts.error_streak ||
         p->breach == FW__B_FINDINGS) && p->e->in_feed)
        p->suspended = true;
    return error_finding(p, h, msg);
}

int fw_engine_run(struct fw_engine *e, const struct fw_record *rec,
                  fw_finding_cb cb, void *ud)
{
    if (!e->in_feed)
        return FW_ESTATE;
    const char *region = fw_record_has(rec, FW_F_REGION)
                             ? rec->str[FW_F_REGION].p : "";
    size_t rn = fw_record_has(rec, FW_F_REGION) ? rec->str[FW_F_REGION].n : 0;
    enum fw__hook h = (enum fw__hook)rec->kind;
    e->rec = rec;
    e->rec_serial++;
    e->cb = cb;
    e->ud = ud;
    const unsigned char *gov = mark_replaced(e, region, rn);
    int rc = 0;
    for (size_t i = 0; i < e->n_pol && rc == 0; i++) {
        struct fw__policy *p = &e->pol[e->order[i]];
        if (gov[i] && p->has_hook[h])
            rc = call(p, h);
    }
    e->rec = NULL;
    return rc;
}

int fw_engine_feed_end(struct fw_engine *e, fw_finding_cb cb, void *ud)
{
    if (!e->in_feed)
        return FW_ESTATE;
    e->rec = NULL;
    e->cb = cb;
    e->ud = ud;
    int rc = 0;
    for (size_t i = 0; i < e->n_pol && rc == 0; i++) {
        struct fw__policy *p = &e->pol[e->order[i]];
        if (p->has_hook[FW__H_FEED_END])
            rc = call(p, FW__H_FEED_END);
    }
    e->in_feed = false;
    return rc;
}

int fw_engine_recheck(struct fw_engine *e, const struct fw_record *task,
                      int32_t now, fw_finding_cb cb, void *ud)
{
    if (e->in_feed)
        return FW_ESTATE;
    if (task->kind != FW_RK_TASK)
        return FW_EINVAL;
    const char *region = fw_record_has(task, FW_F_REGION)
                             ? task->str[FW_F_REGION].p : "";
    size_t rn = fw_record_has(task, FW_F_REGION) ? task->str[FW_F_REGION].n
                                                 : 0;
    e->rec = task;
    e->rec_serial++;
    e->cb = cb;
    e->ud = ud;
    e->cb_rc = 0;
    const unsigned char *gov = mark_replaced(e, region, rn);
    int rc = 0;
    for (size_t i = 0; i < e->n_pol && rc == 0; i++) {
        struct fw__policy *p = &e->pol[e->order[i]];
        if (!p->has_hook[FW__H_TASK] || !gov[i])
            continue;
        p->suspended = false;
        rc = fw__host_begin(p, task->feed, now);
        if (rc == 0)
            rc = call(p, FW__H_TASK);
    }
    e->rec = NULL;
    return rc;
}
