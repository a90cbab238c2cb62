/* YAML text → a tree of fw_value that remembers file:line, on libyaml's event
 * parser. Owns the tree it builds; refuses what our files never need and
 * would only hide mistakes (aliases, tags, several documents, duplicate keys).
 * Parsing only: the caller reads the file. */
#include "fundwatch/value.h"
#include "fundwatch/i18n.h"
#include "plain.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Deeper nesting than this is an error: our files are a few levels deep, and
 * the limit keeps fw_value_free's recursion bounded. */
#define MAX_DEPTH 128

struct build {
    const char *path;
    const char *file;  /* the copy every node points at (owned by the root) */
    struct fw_value *stack[MAX_DEPTH];
    struct fw_value *pending_key[MAX_DEPTH]; /* maps: a key awaiting its value */
    int depth;
    struct fw_value *root;
    struct fw_error *err;
};

static struct fw_value *node_new(struct build *b, enum fw_vtype t,
                                 const yaml_mark_t *m)
{
    struct fw_value *v;
    if (!b->root && b->depth == 0) {
        /* The root carries the file name after itself, so one free of the
         * root releases both. */
        size_t n = strlen(b->path) + 1;
        v = calloc(1, sizeof *v + n);
        if (!v)
            return NULL;
        memcpy(v + 1, b->path, n);
        b->file = (const char *)(v + 1);
    } else {
        v = calloc(1, sizeof *v);
        if (!v)
            return NULL;
    }
    v->type = t;
    v->line = (int)m->line + 1;
    v->col = (int)m->column + 1;
    v->file = b->file;
    return v;
}

/* Room for one more item: capacities are 4, 8, 16... so a full array is one
 * whose length is zero or a power of two from 4 on. */
static int grow(struct fw_value *p)
{
    size_t n = p->n;
    if (n != 0 && (n < 4 || (n & (n - 1))))
        return 0;
    size_t cap = n ? n * 2 : 4;
    struct fw_value **it = realloc(p->items, cap * sizeof *it);
    if (!it)
        return FW_ENOMEM;
    p->items = it;
    if (p->type == FW_V_MAP) {
        struct fw_value **k = realloc(p->keys, cap * sizeof *k);
        if (!k)
            return FW_ENOMEM;
        p->keys = k;
    }
    return 0;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* The YAML 1.2 core schema for plain scalars, minus what we never want
 * (octal/hex ints, .inf/.nan): null, true/false, decimal ints and decimals.
 * Everything else, and every quoted scalar, is a string. */
static void resolve(struct fw_value *v, bool plain)
{
    const char *s = v->text;
    size_t n = v->len;
    v->type = FW_V_STR;
    if (!plain)
        return;
    if (n == 0 || !strcmp(s, "~") || !strcmp(s, "null") ||
        !strcmp(s, "Null") || !strcmp(s, "NULL")) {
        v->type = FW_V_NULL;
        return;
    }
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
        v->type = FW_V_BOOL;
        v->b = true;
        return;
    }
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
        v->type = FW_V_BOOL;
        v->b = false;
        return;
    }
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    const char *dot = memchr(s + i, '.', n - i);
    if (!dot) {
        if (!all_digits(s + i, n - i))
            return;
        errno = 0;
        char *end;
        long long x = strtoll(s, &end, 10);
        if (errno == 0 && end == s + n) {
            v->type = FW_V_INT;
            v->i = x;
        } else {
            v->type = FW_V_NUM;  /* too large for int64: keep the digits */
        }
        return;
    }
    size_t a = (size_t)(dot - (s + i)), b = n - i - a - 1;
    if ((a || b) && (a == 0 || all_digits(s + i, a)) &&
        (b == 0 || all_digits(dot + 1, b)))
        v->type = FW_V_NUM;
}

static int fail(struct build *b, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct build *b, const yaml_mark_t *m, const char *fmt, ...)
{
    char place[FW_PLACE_MAX], msg[FW_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(place, sizeof place, "%s:%zu:%zu", b->path, m->line + 1,
             m->column + 1);
    return fw_error_set(b->err, FW_EINVAL, place, "%s", msg);
}

/* Attaches a finished node to the open collection (or makes it the root). */
static int attach(struct build *b, struct fw_value *v, const yaml_mark_t *m)
{
    if (b->depth == 0) {
        b->root = v;
        return 0;
    }
    struct fw_value *p = b->stack[b->depth - 1];
    if (p->type == FW_V_MAP && !b->pending_key[b->depth - 1]) {
        if (!fw_value_is_scalar(v)) {
            fw_value_free(v);
            return fail(b, m, "a map key must be a plain value");
        }
        for (size_t i = 0; i < p->n; i++) {
            if (!strcmp(p->keys[i]->text, v->text)) {
                int first = p->keys[i]->line;
                int rc = fail(b, m, _("duplicate key \"%.200s\" (first at "
                                      "line %d)"), v->text, first);
                fw_value_free(v);
                return rc;
            }
        }
        b->pending_key[b->depth - 1] = v;
        return 0;
    }
    if (grow(p)) {
        fw_value_free(v);
        return fw_error_set(b->err, FW_ENOMEM, b->path, "out of memory");
    }
    if (p->type == FW_V_MAP) {
        p->keys[p->n] = b->pending_key[b->depth - 1];
        b->pending_key[b->depth - 1] = NULL;
    }
    p->items[p->n++] = v;
    return 0;
}

static int on_event(struct build *b, yaml_event_t *ev, int *docs)
{
    const yaml_mark_t *m = &ev->start_mark;
    struct fw_value *v;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*docs > 1)
            return fail(b, m, "more than one YAML document in the file");
        return 0;
    case YAML_ALIAS_EVENT:
        return fail(b, m, "anchors and aliases (*%s) are not supported: "
                    "write the value out", (const char *)ev->data.alias.anchor);
    case YAML_SCALAR_EVENT:
        if (ev->data.scalar.anchor)
            return fail(b, m, "anchors (&%s) are not supported",
                        (const char *)ev->data.scalar.anchor);
        if (ev->data.scalar.tag)
            return fail(b, m, "tags (%s) are not supported",
                        (const char *)ev->data.scalar.tag);
        if (!(v = node_new(b, FW_V_STR, m)))
            return fw_error_set(b->err, FW_ENOMEM, b->path, "out of memory");
        v->len = ev->data.scalar.length;
        v->text = malloc(v->len + 1);
        if (!v->text) {
            fw_value_free(v);
            return fw_error_set(b->err, FW_ENOMEM, b->path, "out of memory");
        }
        memcpy(v->text, ev->data.scalar.value, v->len);
        v->text[v->len] = '\0';
        if (strlen(v->text) != v->len) {
            fw_value_free(v);
            return fail(b, m, "a NUL byte in a value");
        }
        resolve(v, ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                       ev->data.scalar.plain_implicit);
        return attach(b, v, m);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
        const yaml_char_t *anchor = seq ? ev->data.sequence_start.anchor
                                        : ev->data.mapping_start.anchor;
        const yaml_char_t *tag = seq ? ev->data.sequence_start.tag
                                     : ev->data.mapping_start.tag;
        if (anchor)
            return fail(b, m, "anchors (&%s) are not supported",
                        (const char *)anchor);
        if (tag)
            return fail(b, m, "tags (%s) are not supported",
                        (const char *)tag);
        if (b->depth > 0 && b->stack[b->depth - 1]->type == FW_V_MAP &&
            !b->pending_key[b->depth - 1])
            return fail(b, m, "a map key must be a plain value");
        if (b->depth == MAX_DEPTH)
            return fail(b, m, "nested too deeply");
        if (!(v = node_new(b, seq ? FW_V_LIST : FW_V_MAP, m)))
            return fw_error_set(b->err, FW_ENOMEM, b->path, "out of memory");
        if (b->depth == 0)
            b->root = v;
        b->pending_key[b->depth] = NULL;
        b->stack[b->depth++] = v;
        return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        v = b->stack[--b->depth];
        if (b->depth == 0)
            return 0;  /* already the root */
        /* Detach from the stack, then attach as a value of the parent. The
         * root case above never reaches here, so attach() cannot re-root. */
        return attach(b, v, m);
    default:
        return 0;
    }
}

static void free_stack(struct build *b)
{
    /* Collections still open on failure: the innermost are not attached to
     * their parents yet; the outermost is the root. */
    for (int d = b->depth - 1; d >= 0; d--) {
        fw_value_free(b->pending_key[d]);
        if (d > 0)
            fw_value_free(b->stack[d]);
    }
    b->depth = 0;
}

struct fw_value *fw_yaml_parse(const char *path, const char *buf, size_t len,
                               struct fw_error *err)
{
    struct build b = {.path = path ? path : "<yaml>", .err = err};
    yaml_parser_t p;
    yaml_event_t ev;
    int docs = 0, rc = 0;
    bool done = false;

    if (!yaml_parser_initialize(&p)) {
        fw_error_set(err, FW_ENOMEM, b.path, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    while (!done && rc == 0) {
        if (!yaml_parser_parse(&p, &ev)) {
            char place[FW_PLACE_MAX], plain[FW_MSG_MAX];
            int line = (int)p.problem_mark.line + 1;
            int col = (int)p.problem_mark.column + 1;
            if (fw__plain_yaml(buf, len, p.problem, p.context, &line, &col,
                               (int)p.context_mark.line + 1, plain,
                               sizeof plain)) {
                snprintf(place, sizeof place, "%s:%d:%d", b.path, line, col);
                rc = fw_error_set(err, FW_EINVAL, place, "%s", plain);
                break;
            }
            snprintf(place, sizeof place, "%s:%d:%d", b.path, line, col);
            rc = fw_error_set(err, FW_EINVAL, place, "YAML syntax: %s%s%s",
                              p.problem ? p.problem : "error",
                              p.context ? " " : "",
                              p.context ? p.context : "");
            break;
        }
        rc = on_event(&b, &ev, &docs);
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (rc == 0 && !b.root) {
        yaml_mark_t m = {.line = 0, .column = 0};
        b.root = node_new(&b, FW_V_NULL, &m);
        if (!b.root)
            rc = fw_error_set(err, FW_ENOMEM, b.path, "out of memory");
    }
    if (rc) {
        free_stack(&b);
        fw_value_free(b.root);
        return NULL;
    }
    return b.root;
}

void fw_value_free(struct fw_value *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        fw_value_free(v->items[i]);
        if (v->keys)
            fw_value_free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->text);
    free(v);
}

const struct fw_value *fw_value_get(const struct fw_value *map,
                                    const char *key)
{
    if (!map || map->type != FW_V_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (!strcmp(map->keys[i]->text, key))
            return map->items[i];
    return NULL;
}

const char *fw_value_place(const struct fw_value *v, char *buf, size_t n)
{
    snprintf(buf, n, "%s:%d", v && v->file ? v->file : "?", v ? v->line : 0);
    return buf;
}

int fw_value_vdiag(struct fw_diag *d, const struct fw_value *v,
                   const char *fmt, va_list ap)
{
    char place[FW_PLACE_MAX], msg[FW_MSG_MAX];
    snprintf(place, sizeof place, "%s:%d:%d", v->file, v->line, v->col);
    vsnprintf(msg, sizeof msg, fmt, ap);
    return fw_diag_add(d, place, "%s", msg);
}

int fw_value_diag(struct fw_diag *d, const struct fw_value *v,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fw_value_vdiag(d, v, fmt, ap);
    va_end(ap);
    return rc;
}

const char *fw_value_type_name(enum fw_vtype t)
{
    switch (t) {
    case FW_V_NULL: return "an empty value";
    case FW_V_BOOL: return "true or false";
    case FW_V_INT: return "an integer";
    case FW_V_NUM: return "a number";
    case FW_V_STR: return "a string";
    case FW_V_LIST: return "a list";
    case FW_V_MAP: return "a map";
    }
    return "a value";
}

bool fw_value_is_scalar(const struct fw_value *v)
{
    return v && v->type != FW_V_LIST && v->type != FW_V_MAP;
}
