/* The config file: YAML through fw_yaml_parse, checked key by key against one
 * table, every problem collected as "file:line:col: message" before failing
 * (as OpenBSD httpd's parse.y does). Reads the config and token_file; never
 * creates anything, never checks folders at load (fw_config_check_paths). */
#include "config.h"

#include "fundwatch/i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fundwatch/value.h"

/* A config is a page of text; anything bigger is a mistake. */
#define MAX_CONFIG_BYTES (1u << 20)
#define MAX_TOKEN_BYTES 4096
#define MIN_TOKEN_LEN 16
#define MIN_BUDGET 1000u
#define MIN_MEMORY (1ull << 20)

/* ---- paths -------------------------------------------------------------- */

/* base + "/" + rel (rel as is when absolute), with "." and ".." folded
 * lexically so logs show /srv/fw/policies, not /srv/fw/etc/../policies.
 * Returns a malloc'd string or NULL. */
static char *path_join(const char *base, const char *rel)
{
    size_t bl = rel[0] == '/' ? 0 : strlen(base);
    size_t n = bl + 1 + strlen(rel) + 2;
    char *in = malloc(n), *out = malloc(n);
    if (in == NULL || out == NULL) {
        free(in);
        free(out);
        return NULL;
    }
    snprintf(in, n, "%.*s/%s", (int)bl, base, rel);
    size_t o = 0;
    for (char *s = in; *s;) {
        while (*s == '/')
            s++;
        char *e = s;
        while (*e && *e != '/')
            e++;
        size_t k = (size_t)(e - s);
        if (k == 0 || (k == 1 && s[0] == '.')) {
            /* skip */
        } else if (k == 2 && s[0] == '.' && s[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else {
            out[o++] = '/';
            memcpy(out + o, s, k);
            o += k;
        }
        s = e;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    free(in);
    return out;
}

/* The absolute folder of the config file: its folder as written, resolved
 * with realpath (the file itself is not resolved: a symlinked config keeps
 * paths relative to where the link is). */
static char *config_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (slash == NULL)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (dir == NULL)
        return NULL;
    char *abs = realpath(dir, NULL);
    free(dir);
    return abs;
}

/* ---- the keys ----------------------------------------------------------- */

enum kind {
    K_PATH,       /* text → absolute path */
    K_OPT_PATH,   /* the same, null = none */
    K_LISTEN,
    K_TOKEN,
    K_TOKEN_FILE,
    K_LEVEL,
    K_CLOCK,
    K_DURATION,   /* → ms, > 0 */
    K_AGE,        /* → ms; 0 = forever */
    K_SIZE,       /* → bytes, >= min */
    K_COUNT,      /* whole number >= min */
    K_BOOL,
    K_SECTION,
};

struct key {
    const char *name;
    enum kind kind;
    size_t off, size;     /* the member of struct fw_config */
    uint64_t min, max;    /* K_SIZE, K_COUNT (max 0 = the member's limit) */
    const struct key *sub;
};

#define M(member) offsetof(struct fw_config, member), \
    sizeof(((struct fw_config *)0)->member)

static const struct key limits_keys[] = {
    {"budget", K_COUNT, M(engine.budget), MIN_BUDGET, 0, NULL},
    {"memory", K_SIZE, M(engine.mem_cap), MIN_MEMORY, 0, NULL},
    {"error_streak", K_COUNT, M(engine.error_streak), 1, 0, NULL},
    {"call_time", K_DURATION, M(engine.call_time_ms), 1, 0, NULL},
    {"string", K_SIZE, M(engine.max_string), 1 << 10, 0, NULL},
    {"findings_per_call", K_COUNT, M(engine.findings_per_call), 1, 0, NULL},
    {"findings_per_feed", K_COUNT, M(engine.findings_per_feed), 1, 0, NULL},
    {"max_body", K_SIZE, M(max_body), 1, 0, NULL},
    {"max_feed", K_SIZE, M(max_feed), 1, 0, NULL},
    {"db_cache", K_SIZE, M(db_cache), 1 << 20, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL},
};

static const struct key reload_keys[] = {
    {"debounce", K_DURATION, M(reload_debounce_ms), 1, 0, NULL},
    {"run_tests", K_BOOL, M(reload_run_tests), 0, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL},
};

static const struct key retention_keys[] = {
    {"done", K_AGE, M(retain_done_ms), 0, 0, NULL},
    {"resolved", K_AGE, M(retain_resolved_ms), 0, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL},
};

static const struct key top_keys[] = {
    {"spool", K_PATH, M(spool), 0, 0, NULL},
    {"policies", K_PATH, M(policies), 0, 0, NULL},
    {"database", K_PATH, M(database), 0, 0, NULL},
    {"outbox", K_PATH, M(outbox), 0, 0, NULL},
    {"columns", K_OPT_PATH, M(columns), 0, 0, NULL},
    {"shadow", K_OPT_PATH, M(shadow), 0, 0, NULL},
    /* min: which listener (0 listen, 1 metrics_listen) */
    {"listen", K_LISTEN, 0, 0, 0, 0, NULL},
    {"metrics_listen", K_LISTEN, 0, 0, 1, 0, NULL},
    /* min: which token (0 the write token, 1 the read token) */
    {"token", K_TOKEN, M(token), 0, 0, NULL},
    {"token_file", K_TOKEN_FILE, M(token_file), 0, 0, NULL},
    {"read_token", K_TOKEN, M(read_token), 1, 0, NULL},
    {"read_token_file", K_TOKEN_FILE, M(read_token_file), 1, 0, NULL},
    {"public_read", K_BOOL, M(public_read), 0, 0, NULL},
    {"log_level", K_LEVEL, M(log_level), 0, 0, NULL},
    {"schedule", K_CLOCK, M(schedule_min), 0, 0, NULL},
    {"scan_interval", K_DURATION, M(scan_interval_ms), 1, 0, NULL},
    {"limits", K_SECTION, 0, 0, 0, 0, limits_keys},
    {"reload", K_SECTION, 0, 0, 0, 0, reload_keys},
    {"retention", K_SECTION, 0, 0, 0, 0, retention_keys},
    {NULL, 0, 0, 0, 0, 0, NULL},
};

static const struct {
    const char *name;
    const struct key *keys;
} sections[] = {
    {NULL, top_keys},
    {"limits", limits_keys},
    {"reload", reload_keys},
    {"retention", retention_keys},
};

/* ---- loading ------------------------------------------------------------ */

struct load {
    struct fw_config *c;
    struct fw_diag *d;
    const char *dir;         /* the config's absolute folder */
    /* [0] token, token_file; [1] read_token, read_token_file */
    const struct fw_value *token_v[2], *token_file_v[2];
    const struct fw_value *listen_v[2]; /* listen, metrics_listen */
    bool oom;
};

static void config_problem(struct load *ld, const struct fw_value *v,
                    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "file:line:col: message" at v. */
static void config_problem(struct load *ld, const struct fw_value *v,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (fw_value_vdiag(ld->d, v, _(fmt), ap) < 0) /* `make pot`: config_problem:3 */
        ld->oom = true;
    va_end(ap);
}

/* Edit distance (with adjacent swaps) of two short keys, for "did you
 * mean"; capped at 9. */
static unsigned distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 31 || lb > 31)
        return 9;
    unsigned d[32][32];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            unsigned cost = a[i - 1] != b[j - 1];
            unsigned x = d[i - 1][j] + 1, y = d[i][j - 1] + 1,
                     z = d[i - 1][j - 1] + cost;
            unsigned m = x < y ? x : y;
            m = m < z ? m : z;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && d[i - 2][j - 2] + 1 < m)
                m = d[i - 2][j - 2] + 1;
            d[i][j] = m;
        }
    return d[la][lb] > 9 ? 9 : d[la][lb];
}

/* The closest key of keys to name when close enough to be a typo. */
static const char *closest(const struct key *keys, const char *name)
{
    const char *best = NULL;
    unsigned bd = 9;
    size_t n = strlen(name);
    unsigned limit = n <= 4 ? 1 : n <= 8 ? 2 : 3;
    for (const struct key *k = keys; k->name; k++) {
        unsigned dd = distance(name, k->name);
        if (dd < bd) {
            bd = dd;
            best = k->name;
        }
    }
    return bd <= limit ? best : NULL;
}

static void unknown_key(struct load *ld, const struct fw_value *k,
                        const char *section, const struct key *keys)
{
    const char *name = k->text;
    /* Known in another section: it is in the wrong place, not misspelt. */
    for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
        if (sections[s].keys == keys)
            continue;
        for (const struct key *o = sections[s].keys; o->name; o++) {
            if (strcmp(o->name, name) != 0 || o->kind == K_SECTION)
                continue;
            if (sections[s].name)
                config_problem(ld, k, "unknown key \"%s\"%s%s (it belongs under "
                        "%s:)", name, section ? " in " : "",
                        section ? section : "", sections[s].name);
            else
                config_problem(ld, k, "unknown key \"%s\" in %s (it belongs at the "
                        "top level, not under %s:)", name, section, section);
            return;
        }
    }
    const char *near = closest(keys, name);
    if (near)
        config_problem(ld, k, "unknown key \"%s\"%s%s (did you mean \"%s\"?)", name,
                section ? " in " : "", section ? section : "", near);
    else if (section) {
        char list[256] = "";
        size_t o = 0;
        for (const struct key *x = keys; x->name && o < sizeof list; x++)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s",
                                  o ? ", " : "", x->name);
        config_problem(ld, k, "unknown key \"%s\" in %s (%s has %s)", name, section,
                section, list);
    } else
        config_problem(ld, k, "unknown key \"%s\" (docs/operations.md lists the "
                "keys)", name);
}

static void store_uint(struct fw_config *c, const struct key *k, uint64_t v)
{
    char *p = (char *)c + k->off;
    if (k->size == sizeof(uint64_t)) {
        uint64_t x = v;
        memcpy(p, &x, sizeof x);
    } else if (k->size == sizeof(unsigned)) {
        unsigned x = (unsigned)v;
        memcpy(p, &x, sizeof x);
    }
}

static uint64_t member_max(const struct key *k)
{
    return k->size == sizeof(uint64_t) ? UINT64_MAX : UINT_MAX;
}

static const char *scalar_text(const struct fw_value *v)
{
    return v->text ? v->text : "";
}

/* Replaces the char * member of k with s (owned). */
static void set_str(struct fw_config *c, const struct key *k, char *s)
{
    char **slot = (char **)(void *)((char *)c + k->off);
    free(*slot);
    *slot = s;
}

/* The token's text: printable ASCII without spaces, so that it travels in
 * an Authorization header as it is. */
static const char *token_problem(const char *t, size_t n)
{
    if (n == 0)
        return "is empty";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
            return "must be printable ASCII without spaces";
    if (n < MIN_TOKEN_LEN)
        return "is too short (at least 16 characters; e.g. the output of "
               "`openssl rand -hex 24`)";
    return NULL;
}

/* Reads token_file (or read_token_file) into *slot: a regular file, not
 * readable by everyone, whose first line is the token. */
static void load_token_file(struct load *ld, const struct fw_value *v,
                            const char *key, const char *path,
                            char **slot)
{
    const char *shown = scalar_text(v);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ELOOP)
        fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        config_problem(ld, v, "%s \"%s\": cannot open: %s", key, shown,
                strerror(errno));
        return;
    }
    struct stat st;
    char buf[MAX_TOKEN_BYTES + 1];
    ssize_t n = -1;
    if (fstat(fd, &st) < 0) {
        config_problem(ld, v, "%s \"%s\": %s", key, shown, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        config_problem(ld, v, "%s \"%s\": not a regular file", key, shown);
    } else if (st.st_mode & S_IROTH) {
        config_problem(ld, v, "%s \"%s\": readable by everyone (mode %04o); "
                "chmod o-rwx it", key, shown, (unsigned)(st.st_mode & 07777));
    } else {
        do
            n = read(fd, buf, MAX_TOKEN_BYTES);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            config_problem(ld, v, "%s \"%s\": cannot read: %s", key, shown,
                    strerror(errno));
    }
    close(fd);
    if (n < 0)
        return;
    size_t len = (size_t)n;
    buf[len] = '\0';
    /* the first line, without its line end */
    len = strcspn(buf, "\r\n");
    buf[len] = '\0';
    const char *why = token_problem(buf, len);
    if (why) {
        config_problem(ld, v, "%s \"%s\": the token %s", key, shown, why);
        return;
    }
    free(*slot);
    if ((*slot = strdup(buf)) == NULL)
        ld->oom = true;
}

static const char *full_name(const char *section, const char *key, char *buf,
                             size_t n)
{
    if (section)
        snprintf(buf, n, "%s.%s", section, key);
    else
        snprintf(buf, n, "%s", key);
    return buf;
}

/* One key's value. */
static void load_value(struct load *ld, const struct key *k,
                       const char *section, const struct fw_value *v)
{
    struct fw_config *c = ld->c;
    char nb[64];
    const char *name = full_name(section, k->name, nb, sizeof nb);
    const char *why = NULL;

    if (k->kind == K_SECTION) {
        if (v->type == FW_V_NULL)
            return;
        if (v->type != FW_V_MAP) {
            config_problem(ld, v, "%s is a map of keys (indented below it), not %s",
                    name, fw_value_type_name(v->type));
            return;
        }
        for (size_t i = 0; i < v->n; i++) {
            const struct key *sk = k->sub;
            while (sk->name && strcmp(sk->name, v->keys[i]->text) != 0)
                sk++;
            if (sk->name == NULL)
                unknown_key(ld, v->keys[i], k->name, k->sub);
            else
                load_value(ld, sk, k->name, v->items[i]);
        }
        return;
    }
    if (!fw_value_is_scalar(v)) {
        config_problem(ld, v, "%s takes one value, not %s", name,
                fw_value_type_name(v->type));
        return;
    }
    if (v->type == FW_V_NULL && k->kind != K_OPT_PATH) {
        config_problem(ld, v, "%s has no value (remove the key to get the default)",
                name);
        return;
    }
    const char *t = scalar_text(v);

    switch (k->kind) {
    case K_OPT_PATH:
        if (v->type == FW_V_NULL) {
            set_str(c, k, NULL);
            return;
        }
        /* fall through */
    case K_PATH:
        if (v->type == FW_V_BOOL) {
            config_problem(ld, v, "%s is a path, not %s", name, t);
            return;
        }
        if (*t == '\0') {
            config_problem(ld, v, "%s is an empty path", name);
            return;
        }
        {
            char *p = path_join(ld->dir, t);
            if (p == NULL)
                ld->oom = true;
            else
                set_str(c, k, p);
        }
        return;
    case K_TOKEN_FILE: {
        if (*t == '\0' || v->type == FW_V_BOOL) {
            config_problem(ld, v, "%s is a path to a file holding the token", name);
            return;
        }
        char *p = path_join(ld->dir, t);
        if (p == NULL) {
            ld->oom = true;
            return;
        }
        set_str(c, k, p);
        ld->token_file_v[k->min] = v;
        return;
    }
    case K_TOKEN:
        if ((why = token_problem(t, v->len)) != NULL) {
            config_problem(ld, v, "%s %s", name, why);
            return;
        }
        {
            char *s = strdup(t);
            if (s == NULL)
                ld->oom = true;
            else
                set_str(c, k, s);
        }
        ld->token_v[k->min] = v;
        return;
    case K_LISTEN: {
        bool m = k->min == 1; /* metrics_listen */
        char **hostp = m ? &c->metrics_host : &c->listen_host;
        uint16_t *portp = m ? &c->metrics_port : &c->listen_port;
        ld->listen_v[m] = NULL;
        if ((v->type == FW_V_BOOL && !v->b) ||
            (v->type == FW_V_STR && !strcmp(t, "off"))) {
            if (!m)
                c->listen_enabled = false;
            free(*hostp);
            *hostp = NULL;
            *portp = 0;
            return;
        }
        char *host = NULL;
        uint16_t port = 0;
        int rc = fw_config_parse_listen(t, &host, &port, &why);
        if (rc == FW_ENOMEM) {
            ld->oom = true;
        } else if (rc < 0 && m) {
            config_problem(ld, v, "metrics_listen \"%s\": %s", t, _(why));
        } else if (rc < 0) {
            config_problem(ld, v, "listen \"%s\": %s", t, _(why));
        } else {
            free(*hostp);
            *hostp = host;
            *portp = port;
            if (!m)
                c->listen_enabled = true;
            ld->listen_v[m] = v;
        }
        return;
    }
    case K_LEVEL:
        if (fw_log_level_parse(t, &c->log_level) < 0)
            config_problem(ld, v, "log_level \"%s\": not a level (debug, info, warn "
                    "or error)", t);
        return;
    case K_CLOCK: {
        unsigned m;
        if (fw_config_parse_clock(t, &m, &why) < 0)
            config_problem(ld, v, "schedule \"%s\": %s", t, why);
        else
            c->schedule_min = m;
        return;
    }
    case K_DURATION: {
        uint64_t ms;
        if (fw_config_parse_duration(t, &ms, &why) < 0)
            config_problem(ld, v, "%s \"%s\": %s", name, t, why);
        else if (ms < k->min)
            config_problem(ld, v, "%s \"%s\": must be more than 0", name, t);
        else
            store_uint(c, k, ms);
        return;
    }
    case K_AGE: {
        /* days (30d), or any duration (12h); 0 alone: forever */
        uint64_t ms = 0, n;
        const char *end = fw__config_digits(t, &n, &why);
        bool ok = end && ((!strcmp(end, "d") && n > 0 &&
                           n <= UINT64_MAX / 86400000 &&
                           (ms = n * 86400000) > 0) ||
                          (!strcmp(t, "0")) ||
                          (fw_config_parse_duration(t, &ms, &why) == 0 &&
                           ms > 0));
        if (!ok)
            config_problem(ld, v, "%s \"%s\": not an age (a whole number of "
                    "days, 30d, or hours, 12h; 0 keeps forever)", name, t);
        else
            store_uint(c, k, ms);
        return;
    }
    case K_SIZE:
    case K_COUNT: {
        uint64_t x;
        if (v->type == FW_V_INT && v->i < 0) {
            config_problem(ld, v, "%s %s: must be at least %" PRIu64, name, t,
                    k->min);
            return;
        }
        if (k->kind == K_COUNT) {
            const char *end = fw__config_digits(t, &x, &why);
            if (end == NULL || *end != '\0') {
                config_problem(ld, v, "%s \"%s\": %s", name, t,
                        end == NULL && !strcmp(why, "too large")
                            ? "too large" : "not a whole number");
                return;
            }
        } else if (fw_config_parse_size(t, &x, &why) < 0) {
            config_problem(ld, v, "%s \"%s\": %s", name, t, why);
            return;
        }
        uint64_t max = k->max ? k->max : member_max(k);
        if (x < k->min) {
            if (k->kind == K_SIZE && k->min >= 1024)
                config_problem(ld, v, "%s \"%s\": must be at least %" PRIu64 "M",
                        name, t, k->min >> 20);
            else if (k->min <= 1)
                config_problem(ld, v, "%s %s: must be more than 0", name, t);
            else
                config_problem(ld, v, "%s %s: must be at least %" PRIu64, name, t,
                        k->min);
        } else if (x > max) {
            config_problem(ld, v, "%s %s: too large (at most %" PRIu64 ")", name, t,
                    max);
        } else {
            store_uint(c, k, x);
        }
        return;
    }
    case K_BOOL:
        if (v->type != FW_V_BOOL)
            config_problem(ld, v, "%s \"%s\": not true or false", name, t);
        else
            *(bool *)(void *)((char *)c + k->off) = v->b;
        return;
    case K_SECTION:
        return;
    }
}

int fw_config_defaults(struct fw_config *c, const char *base_dir)
{
    char *cwd = NULL;
    if (base_dir == NULL) {
        cwd = getcwd(NULL, 0);
        base_dir = cwd ? cwd : "/";
    }
    *c = (struct fw_config){
        .file = strdup(""),
        .spool = path_join(base_dir, "spool"),
        .policies = path_join(base_dir, "policies"),
        .database = path_join(base_dir, "fundwatch.db"),
        .outbox = path_join(base_dir, "outbox.jsonl"),
        .columns = NULL,
        .listen_enabled = true,
        .listen_host = strdup(FW_CONFIG_DEFAULT_LISTEN_HOST),
        .listen_port = FW_CONFIG_DEFAULT_LISTEN_PORT,
        .log_level = FW_LOG_INFO,
        .schedule_min = FW_CONFIG_DEFAULT_SCHEDULE,
        .scan_interval_ms = FW_CONFIG_DEFAULT_SCAN_MS,
        .engine = {
            .budget = FW_ENGINE_DEFAULT_BUDGET,
            .mem_cap = FW_ENGINE_DEFAULT_MEM_CAP,
            .error_streak = FW_ENGINE_DEFAULT_ERROR_STREAK,
            .call_time_ms = FW_ENGINE_DEFAULT_CALL_TIME_MS,
            .max_string = FW_ENGINE_DEFAULT_MAX_STRING,
            .findings_per_call = FW_ENGINE_DEFAULT_FINDINGS_PER_CALL,
            .findings_per_feed = FW_ENGINE_DEFAULT_FINDINGS_PER_FEED,
        },
        .max_body = FW_CONFIG_DEFAULT_MAX_BODY,
        .max_feed = FW_CONFIG_DEFAULT_MAX_FEED,
        .db_cache = FW_CONFIG_DEFAULT_DB_CACHE,
        .reload_debounce_ms = FW_CONFIG_DEFAULT_DEBOUNCE_MS,
        .reload_run_tests = true,
    };
    free(cwd);
    if (!c->file || !c->spool || !c->policies || !c->database || !c->outbox ||
        !c->listen_host)
        return FW_ENOMEM;
    return 0;
}

void fw_config_fini(struct fw_config *c)
{
    if (c == NULL)
        return;
    free(c->file);
    free(c->spool);
    free(c->policies);
    free(c->database);
    free(c->outbox);
    free(c->columns);
    free(c->shadow);
    free(c->listen_host);
    free(c->metrics_host);
    if (c->token)
        explicit_bzero(c->token, strlen(c->token));
    free(c->token);
    free(c->token_file);
    if (c->read_token)
        explicit_bzero(c->read_token, strlen(c->read_token));
    free(c->read_token);
    free(c->read_token_file);
    memset(c, 0, sizeof *c);
}

/* The whole file, at most MAX_CONFIG_BYTES; problems as "path: ...". */
static int read_file(const char *path, char **out, size_t *len,
                     struct fw_diag *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fw_diag_add(d, path, _("cannot open: %s"), strerror(errno));
        return FW_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int e = errno;
        close(fd);
        if (S_ISDIR(st.st_mode))
            fw_diag_add(d, path, _("a folder, not a config file"));
        else
            fw_diag_add(d, path, _("cannot read: %s"),
                        e ? strerror(e) : "not a regular file");
        return FW_EIO;
    }
    if (st.st_size > (off_t)MAX_CONFIG_BYTES) {
        close(fd);
        fw_diag_add(d, path, _("larger than 1 MiB: not a config file"));
        return FW_EINVAL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        fw_diag_add(d, path, _("out of memory"));
        return FW_ENOMEM;
    }
    size_t n = 0;
    while (n < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int e = errno;
            close(fd);
            free(buf);
            fw_diag_add(d, path, _("cannot read: %s"), strerror(e));
            return FW_EIO;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int fw_config_load(const char *path, struct fw_config *c,
                   struct fw_diag *diag)
{
    char *dir = config_dir(path);
    if (fw_config_defaults(c, dir) < 0) {
        free(dir);
        fw_diag_add(diag, path, _("out of memory"));
        return FW_ENOMEM;
    }
    if (dir == NULL) {
        fw_diag_add(diag, path, _("cannot open: %s"), strerror(errno));
        return errno == ENOMEM ? FW_ENOMEM : FW_EIO;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    free(c->file);
    c->file = path_join(dir, base);

    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len, diag);
    if (rc < 0) {
        free(dir);
        return rc;
    }
    struct fw_error err = {0};
    struct fw_value *root = NULL;
    root = fw_yaml_parse(path, buf, len, &err);
    if (root == NULL) {
        fw_diag_add_error(diag, &err);
        rc = err.code == FW_ENOMEM ? FW_ENOMEM : FW_EINVAL;
        goto out;
    }
    struct load ld = {.c = c, .d = diag, .dir = dir};
    size_t before = diag->n;
    if (root->type == FW_V_NULL) {
        fw_diag_add(diag, path, _("the config is empty: write at least the "
                    "keys that differ from the defaults (docs/operations.md)"));
    } else if (root->type != FW_V_MAP) {
        config_problem(&ld, root, "a config is a map of keys (spool: ..., "
                "policies: ...), not %s", fw_value_type_name(root->type));
    } else {
        for (size_t i = 0; i < root->n; i++) {
            const struct key *k = top_keys;
            while (k->name && strcmp(k->name, root->keys[i]->text) != 0)
                k++;
            if (k->name == NULL)
                unknown_key(&ld, root->keys[i], NULL, top_keys);
            else
                load_value(&ld, k, NULL, root->items[i]);
        }
        static const char *const names[2][2] = {
            {"token", "token_file"}, {"read_token", "read_token_file"}};
        char **slots[2] = {&c->token, &c->read_token};
        const char *files[2] = {c->token_file, c->read_token_file};
        for (int w = 0; w < 2; w++) {
            if (ld.token_v[w] && ld.token_file_v[w])
                config_problem(&ld, ld.token_file_v[w], "%s and %s are both set "
                        "(%s at line %d): keep one", names[w][1], names[w][0],
                        names[w][0], ld.token_v[w]->line);
            else if (ld.token_file_v[w])
                load_token_file(&ld, ld.token_file_v[w], names[w][1],
                                files[w], slots[w]);
        }
        /* a read token that is the write token would let readers write */
        if (c->token && c->read_token && !strcmp(c->token, c->read_token)) {
            const struct fw_value *at = ld.token_v[1] ? ld.token_v[1]
                                                      : ld.token_file_v[1];
            config_problem(&ld, at, "the read token is the same as the write token "
                    "(token): a reader could then write; give each its own");
        }
        /* one port cannot serve two listeners */
        if (ld.listen_v[1] && c->listen_enabled && c->metrics_host &&
            c->metrics_port == c->listen_port &&
            !strcmp(c->metrics_host, c->listen_host))
            config_problem(&ld, ld.listen_v[1], "metrics_listen \"%s\": the "
                    "same address as listen; leave metrics_listen out to "
                    "serve /metrics on listen alone",
                    scalar_text(ld.listen_v[1]));
    }
    if (ld.oom) {
        fw_diag_add(diag, path, _("out of memory"));
        rc = FW_ENOMEM;
    } else if (diag->n > before) {
        rc = FW_EINVAL;
    }
out:
    fw_value_free(root);
    free(buf);
    free(dir);
    return rc;
}

/* ---- paths on disk ------------------------------------------------------ */

/* The folder part of an absolute path ("/" for "/x"). */
static char *parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL || slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static int need_writable_dir(const char *dir, const char *what,
                             struct fw_diag *d)
{
    struct stat st;
    if (stat(dir, &st) < 0) {
        fw_diag_add(d, dir, _("%s: %s"), what, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fw_diag_add(d, dir, _("%s: not a folder"), what);
        return 1;
    }
    if (access(dir, W_OK | X_OK) < 0) {
        fw_diag_add(d, dir, _("%s: not writable: %s"), what, strerror(errno));
        return 1;
    }
    return 0;
}

/* The folder a file is written in must exist and be writable. */
static int need_file_dir(const char *file, const char *what,
                         struct fw_diag *d)
{
    if (file == NULL)
        return 0;
    char *dir = parent(file);
    if (dir == NULL)
        return fw_diag_add(d, file, _("out of memory")), 1;
    int n = need_writable_dir(dir, what, d);
    free(dir);
    return n;
}

int fw_config_check_paths(const struct fw_config *c, struct fw_diag *diag)
{
    int n = 0;
    struct stat st;
    if (c->policies) {
        if (stat(c->policies, &st) < 0) {
            fw_diag_add(diag, c->policies, _("the policies folder: %s"),
                        strerror(errno));
            n++;
        } else if (!S_ISDIR(st.st_mode)) {
            fw_diag_add(diag, c->policies, _("the policies folder: not a "
                        "folder"));
            n++;
        }
    }
    if (c->spool) {
        if (stat(c->spool, &st) == 0)
            n += need_writable_dir(c->spool, "the spool folder", diag);
        else
            n += need_file_dir(c->spool, "the folder of the spool", diag);
    }
    n += need_file_dir(c->database, "the folder of the database", diag);
    n += need_file_dir(c->outbox, "the folder of the outbox", diag);
    if (c->columns && access(c->columns, R_OK) < 0) {
        fw_diag_add(diag, c->columns, _("the column map: %s"), strerror(errno));
        n++;
    }
    return n;
}
