/* Static checks of a policy from its tokens, without running it: names
 * that are no global of the sandbox (alart, fw.lagg), emits with a literal
 * rule id the policy does not declare or a literal level or grade outside
 * the set, and record fields read by a literal name that no column gives.
 * Conservative: a name declared local anywhere in the file counts as known
 * everywhere, so a valid policy is never refused. Part of the Lua host. */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fundwatch/engine.h"
#include "fundwatch/i18n.h"
#include "fundwatch/record.h"
#include "params.h"

enum ttype { T_NAME, T_STRING, T_NUMBER, T_OP, T_EOF };

struct tok {
    enum ttype t;
    const char *p;   /* the text as written (strings: between the quotes) */
    size_t n;
    int line, col;
    bool plain;      /* a string without escapes: p..n is its value */
};

struct toks {
    struct tok *v;
    size_t n, cap;
};

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

static bool push(struct toks *ts, struct tok t)
{
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? 2 * ts->cap : 256;
        struct tok *nv = realloc(ts->v, cap * sizeof *nv);
        if (nv == NULL)
            return false;
        ts->v = nv;
        ts->cap = cap;
    }
    ts->v[ts->n++] = t;
    return true;
}

/* "[", "[=", "[==[": the level of a long bracket at s, or -1. */
static int long_open(const char *s, const char *end)
{
    if (s >= end || *s != '[')
        return -1;
    int lv = 0;
    s++;
    while (s < end && *s == '=')
        lv++, s++;
    return s < end && *s == '[' ? lv : -1;
}

/* The "]=*]" closing a long bracket of level lv that opened before s, or
 * end; counts the lines it passes. */
static const char *long_close(const char *s, const char *end, int lv,
                              int *line, const char **bol)
{
    while (s < end && !(s[0] == ']' && end - s > lv + 1 && s[lv + 1] == ']' &&
                        strspn(s + 1, "=") >= (size_t)lv)) {
        if (*s == '\n') {
            (*line)++;
            *bol = s + 1;
        }
        s++;
    }
    return s;
}

/* Tokenises src; a source Lua itself refuses is left to Lua's message, so
 * anything odd here just ends the list. */
static bool tokenise(const char *src, size_t len, struct toks *ts)
{
    const char *s = src, *end = src + len, *bol = src;
    int line = 1;
    while (s < end) {
        char c = *s;
        if (c == '\n') {
            line++;
            bol = ++s;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            s++;
            continue;
        }
        struct tok t = {.p = s, .line = line, .col = (int)(s - bol) + 1};
        int lv;
        if (c == '-' && s + 1 < end && s[1] == '-') {
            s += 2;
            if ((lv = long_open(s, end)) >= 0) {
                s = long_close(s + lv + 2, end, lv, &line, &bol) + lv + 2;
            } else {
                while (s < end && *s != '\n')
                    s++;
            }
            continue;
        }
        if ((lv = long_open(s, end)) >= 0) {
            t.t = T_STRING;
            t.p = s + lv + 2;
            t.plain = true;
            s = long_close(t.p, end, lv, &line, &bol);
            t.n = (size_t)(s - t.p);
            s += lv + 2;
        } else if (c == '"' || c == '\'') {
            t.t = T_STRING;
            t.p = ++s;
            t.plain = true;
            while (s < end && *s != c && *s != '\n') {
                if (*s == '\\') {
                    t.plain = false;
                    s++;
                }
                s++;
            }
            t.n = (size_t)(s - t.p);
            s++;
        } else if (is_alpha(c) || (unsigned char)c >= 0x80) {
            t.t = T_NAME;
            while (s < end && (is_alnum(*s) || (unsigned char)*s >= 0x80))
                s++;
            t.n = (size_t)(s - t.p);
        } else if ((c >= '0' && c <= '9') ||
                   (c == '.' && s + 1 < end && s[1] >= '0' && s[1] <= '9')) {
            t.t = T_NUMBER;
            while (s < end && (is_alnum(*s) || *s == '.' ||
                               ((*s == '+' || *s == '-') &&
                                (s[-1] == 'e' || s[-1] == 'E' ||
                                 s[-1] == 'p' || s[-1] == 'P'))))
                s++;
            t.n = (size_t)(s - t.p);
        } else {
            static const char *const ops[] = {"...", "..", "==", "~=", "<=",
                                              ">=", "<<", ">>", "//", "::",
                                              NULL};
            t.t = T_OP;
            t.n = 1;
            for (const char *const *o = ops; *o; o++)
                if ((size_t)(end - s) >= strlen(*o) &&
                    memcmp(s, *o, strlen(*o)) == 0) {
                    t.n = strlen(*o);
                    break;
                }
            s += t.n;
        }
        if (!push(ts, t))
            return false;
    }
    struct tok eof = {.t = T_EOF, .p = end, .line = line};
    return push(ts, eof);
}

static bool is(const struct tok *t, enum ttype ty, const char *text)
{
    return t->t == ty && t->n == strlen(text) && memcmp(t->p, text, t->n) == 0;
}

static bool op(const struct tok *t, const char *text)
{
    return is(t, T_OP, text);
}

static bool keyword(const struct tok *t)
{
    static const char *const kw[] = {
        "and", "break", "do", "else", "elseif", "end", "false", "for",
        "function", "goto", "if", "in", "local", "nil", "not", "or",
        "repeat", "return", "then", "true", "until", "while", NULL};
    if (t->t != T_NAME)
        return false;
    for (const char *const *k = kw; *k; k++)
        if (is(t, T_NAME, *k))
            return true;
    return false;
}

/* ---- names a file declares ----------------------------------------------- */

struct names {
    char **v;
    size_t n, cap;
};

static void name_add(struct names *ns, const char *p, size_t n)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strlen(ns->v[i]) == n && memcmp(ns->v[i], p, n) == 0)
            return;
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? 2 * ns->cap : 32;
        char **nv = realloc(ns->v, cap * sizeof *nv);
        if (nv == NULL)
            return;
        ns->v = nv;
        ns->cap = cap;
    }
    char *d = strndup(p, n);
    if (d)
        ns->v[ns->n++] = d;
}

static bool name_has(const struct names *ns, const struct tok *t)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strlen(ns->v[i]) == t->n && memcmp(ns->v[i], t->p, t->n) == 0)
            return true;
    return false;
}

static void names_free(struct names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
}

/* For each token, whether the innermost open bracket is a '{' (so that
 * "name =" is a table key, not an assignment). */
static bool *in_braces(const struct toks *ts)
{
    bool *b = calloc(ts->n + 1, 1);
    char *stack = calloc(ts->n + 1, 1);
    size_t d = 0;
    if (b == NULL || stack == NULL) {
        free(b);
        free(stack);
        return NULL;
    }
    for (size_t i = 0; i < ts->n; i++) {
        const struct tok *t = &ts->v[i];
        b[i] = d > 0 && stack[d - 1] == '{';
        if (t->t != T_OP || t->n != 1)
            continue;
        if (*t->p == '{' || *t->p == '(' || *t->p == '[')
            stack[d++] = *t->p;
        else if ((*t->p == '}' || *t->p == ')' || *t->p == ']') && d > 0)
            d--;
    }
    free(stack);
    return b;
}

/* Locals, parameters, loop variables, and globals the file assigns. */
static void declared(const struct toks *ts, const bool *brace,
                     struct names *ns)
{
    for (size_t i = 0; i + 1 < ts->n; i++) {
        const struct tok *t = &ts->v[i];
        if (is(t, T_NAME, "local") || is(t, T_NAME, "for")) {
            size_t j = i + 1;
            if (is(&ts->v[j], T_NAME, "function"))
                j++;
            for (; ts->v[j].t == T_NAME && !keyword(&ts->v[j]); j++) {
                name_add(ns, ts->v[j].p, ts->v[j].n);
                if (op(&ts->v[j + 1], "<"))
                    j += 3; /* <const> / <close> */
                if (!op(&ts->v[j + 1], ","))
                    break;
                j++;
            }
        } else if (is(t, T_NAME, "function")) {
            size_t j = i + 1;
            if (ts->v[j].t == T_NAME && !op(&ts->v[j + 1], ".") &&
                !op(&ts->v[j + 1], ":") && !(i > 0 && is(&ts->v[i - 1],
                                                        T_NAME, "local")))
                name_add(ns, ts->v[j].p, ts->v[j].n); /* a global function */
            while (j < ts->n && !op(&ts->v[j], "("))
                j++;
            for (j++; j < ts->n && !op(&ts->v[j], ")"); j++)
                if (ts->v[j].t == T_NAME)
                    name_add(ns, ts->v[j].p, ts->v[j].n);
        } else if (t->t == T_NAME && !keyword(t) && !brace[i] &&
                   op(&ts->v[i + 1], "=") &&
                   !(i > 0 && (op(&ts->v[i - 1], ".") ||
                               op(&ts->v[i - 1], ":")))) {
            name_add(ns, t->p, t->n); /* name = ...: a global assigned */
        }
    }
}

/* ---- the checks of a loaded policy ----------------------------------------- */

struct lint {
    struct fw__policy *p;
    struct fw_diag *diag;
    int problems;
};

static void at(struct lint *l, const struct tok *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void at(struct lint *l, const struct tok *t, const char *fmt, ...)
{
    char msg[FW_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fw_diag_add(l->diag, NULL, "%s:%d:%d: %s", l->p->path, t->line, t->col,
                msg);
    l->problems++;
}

/* The string keys of the table at idx (anchored in it). */
static size_t keys_of(lua_State *L, int idx, const char ***out)
{
    size_t n = 0, cap = 64;
    const char **k = malloc(cap * sizeof *k);
    lua_pushnil(L);
    while (k && lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            continue;
        if (n == cap) {
            const char **nk = realloc(k, 2 * cap * sizeof *nk);
            if (nk == NULL) {
                lua_pop(L, 1);
                break;
            }
            k = nk;
            cap *= 2;
        }
        k[n++] = lua_tostring(L, -1);
    }
    *out = k;
    return k ? n : 0;
}

/* A literal string value of key in the table constructor opened at
 * tokens[open] ('{'): the token of its value, or NULL. Keys of nested
 * tables are not looked at. */
static const struct tok *field_lit(const struct toks *ts, size_t open,
                                   const char *key)
{
    int d = 0;
    for (size_t j = open; j + 2 < ts->n; j++) {
        const struct tok *t = &ts->v[j];
        if (op(t, "{") || op(t, "(") || op(t, "["))
            d++;
        else if (op(t, "}") || op(t, ")") || op(t, "]")) {
            if (--d == 0)
                return NULL;
        } else if (d == 1 && is(t, T_NAME, key) && op(&ts->v[j + 1], "=") &&
                   ts->v[j + 2].t == T_STRING && ts->v[j + 2].plain) {
            return &ts->v[j + 2];
        }
    }
    return NULL;
}

static bool lit_is(const struct tok *t, const char *s)
{
    return t->n == strlen(s) && memcmp(t->p, s, t->n) == 0;
}

static void check_emit(struct lint *l, const struct toks *ts, size_t i)
{
    const struct tok *name = &ts->v[i];
    size_t open = i + 1;
    if (op(&ts->v[open], "("))
        open++;
    if (!op(&ts->v[open], "{"))
        return;
    const struct tok *r = field_lit(ts, open, "rule");
    if (r) {
        bool ok = false;
        const char **ids = calloc(l->p->n_rules + 1, sizeof *ids);
        for (size_t k = 0; k < l->p->n_rules; k++) {
            ok |= lit_is(r, l->p->rules[k].id);
            if (ids)
                ids[k] = l->p->rules[k].id;
        }
        if (!ok) {
            char *word = strndup(r->p, r->n);
            const char *near = word && ids ? fw__suggest(word, ids,
                                                         l->p->n_rules) : NULL;
            if (near)
                at(l, r, _("%.*s: rule \"%.*s\" is not declared by this "
                           "policy (did you mean \"%s\"?)"), (int)name->n,
                   name->p, (int)r->n, r->p, near);
            else
                at(l, r, _("%.*s: rule \"%.*s\" is not declared by this "
                           "policy (its rules are listed in rules = { ... })"),
                   (int)name->n, name->p, (int)r->n, r->p);
            free(word);
        }
        free(ids);
    }
    const struct tok *lv = field_lit(ts, open, "level");
    if (lv && !lit_is(lv, "red") && !lit_is(lv, "yellow") &&
        !lit_is(lv, "info"))
        at(l, lv, _("%.*s: level \"%.*s\" is not one of \"red\", \"yellow\", "
                    "\"info\""), (int)name->n, name->p, (int)lv->n, lv->p);
    const struct tok *g = field_lit(ts, open, "grade");
    if (g && !lit_is(g, "优") && !lit_is(g, "良") && !lit_is(g, "中") &&
        !lit_is(g, "差"))
        at(l, g, _("%.*s: grade \"%.*s\" is not one of 优, 良, 中, 差"),
           (int)name->n, name->p, (int)g->n, g->p);
}

static int lint_call(lua_State *L)
{
    struct lint *l = lua_touserdata(L, 1);
    const char *src = lua_touserdata(L, 2);
    size_t len = (size_t)lua_tointeger(L, 3);
    struct toks ts = {0};
    struct names ns = {0};
    bool *brace = NULL;
    const char **gk = NULL;
    if (!tokenise(src, len, &ts) || (brace = in_braces(&ts)) == NULL)
        goto done;
    declared(&ts, brace, &ns);
    name_add(&ns, "_ENV", 4); /* always in scope */
    name_add(&ns, "self", 4); /* the implicit parameter of a:method() */
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    int g = lua_gettop(L);
    size_t ngk = keys_of(L, g, &gk);
    for (size_t i = 0; i + 1 < ts.n; i++) {
        const struct tok *t = &ts.v[i];
        if (t->t != T_NAME || keyword(t) || name_has(&ns, t))
            continue;
        if (i > 0 && (op(&ts.v[i - 1], ".") || op(&ts.v[i - 1], ":") ||
                      op(&ts.v[i - 1], "::") ||
                      is(&ts.v[i - 1], T_NAME, "goto")))
            continue;
        if (brace[i] && op(&ts.v[i + 1], "="))
            continue; /* a key of a table constructor */
        if (i > 0 && op(&ts.v[i - 1], "<") && op(&ts.v[i + 1], ">"))
            continue; /* local x <const> */
        lua_pushlstring(L, t->p, t->n);
        int ty = lua_rawget(L, g);
        if (ty == LUA_TNIL) {
            char *word = strndup(t->p, t->n);
            const char *near = word ? fw__suggest(word, gk, ngk) : NULL;
            if (near == NULL && word)
                near = fw__suggest(word, (const char *const *)ns.v, ns.n);
            if (near)
                at(l, t, _("\"%.*s\" is not defined (did you mean \"%s\"?)"),
                   (int)t->n, t->p, near);
            else
                at(l, t, _("\"%.*s\" is not defined: no local of this file "
                           "and nothing the sandbox offers has that name"),
                   (int)t->n, t->p);
            free(word);
        } else if (ty == LUA_TTABLE && op(&ts.v[i + 1], ".") &&
                   ts.v[i + 2].t == T_NAME && !op(&ts.v[i + 3], "=")) {
            const struct tok *f = &ts.v[i + 2];
            lua_pushlstring(L, f->p, f->n);
            if (lua_rawget(L, -2) == LUA_TNIL) {
                const char **fk;
                size_t nfk = keys_of(L, lua_gettop(L) - 1, &fk);
                char *word = strndup(f->p, f->n);
                const char *near = word && fk ? fw__suggest(word, fk, nfk)
                                              : NULL;
                if (near)
                    at(l, f, _("%.*s.%.*s does not exist (did you mean "
                               "%.*s.%s?)"), (int)t->n, t->p, (int)f->n, f->p,
                       (int)t->n, t->p, near);
                else
                    at(l, f, _("%.*s.%.*s does not exist"), (int)t->n, t->p,
                       (int)f->n, f->p);
                free(word);
                free(fk);
            }
            lua_pop(L, 1);
        } else if (ty == LUA_TFUNCTION &&
                   (is(t, T_NAME, "alert") || is(t, T_NAME, "clawback") ||
                    is(t, T_NAME, "score"))) {
            check_emit(l, &ts, i);
        }
        lua_pop(L, 1);
    }
done:
    free(gk);
    free(brace);
    free(ts.v);
    names_free(&ns);
    return 0;
}

int fw__lint_policy(struct fw__policy *p, const char *src, size_t len,
                    struct fw_diag *diag)
{
    lua_State *L = p->L;
    struct lint l = {.p = p, .diag = diag};
    int top = lua_gettop(L);
    lua_pushcfunction(L, lint_call);
    lua_pushlightuserdata(L, &l);
    lua_pushlightuserdata(L, (void *)src);
    lua_pushinteger(L, (lua_Integer)len);
    if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
        fw_diag_add(diag, NULL, "%s: %s", p->path, lua_tostring(L, -1));
        l.problems++;
    }
    lua_settop(L, top);
    return l.problems ? FW_EINVAL : 0;
}

/* ---- record fields (a warning: a column map may give any name) ------------ */

int fw_lint_fields(const char *path, const char *src, size_t len,
                   const char *const *columns, size_t n_columns,
                   struct fw_diag *warn)
{
    struct toks ts = {0};
    struct names recs = {0};
    int found = 0;
    if (!tokenise(src, len, &ts)) {
        free(ts.v);
        return FW_ENOMEM;
    }
    /* the record's name in each hook: on_execution = function(r, ctx) */
    name_add(&recs, "rec", 3);
    for (size_t i = 0; i + 4 < ts.n; i++)
        if ((is(&ts.v[i], T_NAME, "on_execution") ||
             is(&ts.v[i], T_NAME, "on_evaluation") ||
             is(&ts.v[i], T_NAME, "on_task")) && op(&ts.v[i + 1], "=") &&
            is(&ts.v[i + 2], T_NAME, "function") && op(&ts.v[i + 3], "(") &&
            ts.v[i + 4].t == T_NAME)
            name_add(&recs, ts.v[i + 4].p, ts.v[i + 4].n);
    const char *known[FW__F_COUNT + 1];
    for (int f = 0; f < FW__F_COUNT; f++)
        known[f] = fw_fields[f].name;
    known[FW__F_COUNT] = "source";
    for (size_t i = 0; i + 2 < ts.n; i++) {
        const struct tok *t = &ts.v[i];
        if (t->t != T_NAME || !name_has(&recs, t) ||
            (i > 0 && (op(&ts.v[i - 1], ".") || op(&ts.v[i - 1], ":"))))
            continue;
        const struct tok *f = NULL;
        if (op(&ts.v[i + 1], ".") && ts.v[i + 2].t == T_NAME)
            f = &ts.v[i + 2];
        else if (op(&ts.v[i + 1], "[") && ts.v[i + 2].t == T_STRING &&
                 ts.v[i + 2].plain)
            f = &ts.v[i + 2];
        if (f == NULL)
            continue;
        char *word = strndup(f->p, f->n);
        if (word == NULL)
            continue;
        bool ok = fw_field_by_name(word, f->n) >= 0 ||
                  strcmp(word, "source") == 0;
        for (int k = 0; !ok && k < FW__F_COUNT; k++)
            ok = fw_fields[k].zh && strcmp(fw_fields[k].zh, word) == 0;
        for (size_t k = 0; !ok && k < n_columns; k++)
            ok = strcmp(columns[k], word) == 0;
        if (!ok) {
            const char *near = fw__suggest(word, known, FW__F_COUNT + 1);
            if (near == NULL && f->t == T_STRING) {
                /* rec["经办人"]: a column the feed may well have */
                free(word);
                continue;
            }
            if (near == NULL && n_columns)
                near = fw__suggest(word, columns, n_columns);
            char msg[FW_MSG_MAX];
            if (near)
                snprintf(msg, sizeof msg, _("warning: the record has no field "
                         "\"%s\" (did you mean rec.%s?)"), word, near);
            else
                snprintf(msg, sizeof msg, _("warning: the record has no field "
                         "\"%s\": it is no canonical field and no column of "
                         "the column map (it will be nil)"), word);
            fw_diag_add(warn, NULL, "%s:%d:%d: %s", path, f->line, f->col,
                        msg);
            found++;
        }
        free(word);
    }
    free(ts.v);
    names_free(&recs);
    return found;
}
