/* Lua's and libyaml's messages for an officer's common mistakes, in plain
 * words at the line to edit, with that line shown and a caret under the
 * place: a missing comma, brace, then or end (naming the line where the
 * block opened), a tab in YAML indentation, uneven indentation. Pure: it
 * rewrites text it is handed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fundwatch/i18n.h"
#include "fundwatch/error.h"
#include "plain.h"

/* The start and length of line `line` (1-based) of src, or false. */
static bool line_of(const char *src, size_t len, int line, const char **s,
                    size_t *n)
{
    const char *p = src, *end = src + len;
    for (int l = 1; l < line; l++) {
        p = memchr(p, '\n', (size_t)(end - p));
        if (p == NULL)
            return false;
        p++;
    }
    const char *e = memchr(p, '\n', (size_t)(end - p));
    *s = p;
    *n = (size_t)((e ? e : end) - p);
    if (*n > 0 && p[*n - 1] == '\r')
        (*n)--;
    return true;
}

/* Columns a terminal gives the bytes s..n: CJK (3-byte UTF-8) counts two,
 * a tab one (it is shown as one space). */
static int width(const char *s, size_t n)
{
    int w = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80)
            w++;
        else if (c >= 0xE0 && c < 0xF0)
            w += 2;
        else if (c >= 0xC0)
            w += 1;
    }
    return w;
}

size_t fw__caret(const char *src, size_t len, int line, int col, char *out,
                 size_t n)
{
    const char *s;
    size_t ln;
    if (n == 0)
        return 0;
    out[0] = '\0';
    if (src == NULL || line < 1 || !line_of(src, len, line, &s, &ln))
        return 0;
    if (ln > 200)
        ln = 200;
    char shown[256];
    for (size_t i = 0; i < ln; i++)
        shown[i] = s[i] == '\t' ? ' ' : s[i];
    size_t at = col > 0 ? (size_t)col - 1 : 0;
    if (at > ln)
        at = ln;
    int pad = width(s, at);
    int w = snprintf(out, n, "\n%5d | %.*s\n      | %*s^", line, (int)ln,
                     shown, pad, "");
    return w < 0 ? 0 : (size_t)w < n ? (size_t)w : n - 1;
}

/* The text between the first pair of quotes after "near " in msg, or
 * "<eof>". */
static bool near_of(const char *msg, char *out, size_t n)
{
    const char *p = strstr(msg, " near ");
    if (p == NULL)
        return false;
    p += 6;
    if (strncmp(p, "<eof>", 5) == 0) {
        snprintf(out, n, "<eof>");
        return true;
    }
    if (*p != '\'')
        return false;
    const char *e = strrchr(p + 1, '\'');
    if (e == NULL || e <= p + 1)
        return false;
    snprintf(out, n, "%.*s", (int)(e - p - 1), p + 1);
    return true;
}

/* The column of the first occurrence of word in line (1-based), or 1. */
static int col_of(const char *src, size_t len, int line, const char *word)
{
    const char *s;
    size_t n;
    if (!line_of(src, len, line, &s, &n))
        return 1;
    size_t wl = strlen(word);
    for (size_t i = 0; wl && i + wl <= n; i++)
        if (memcmp(s + i, word, wl) == 0)
            return (int)i + 1;
    return 1;
}

/* The last line before `line` that has more than blanks and a comment, and
 * the column just after its last character; 0 when none. */
static int prev_line_end(const char *src, size_t len, int line, int *col)
{
    for (int l = line - 1; l >= 1; l--) {
        const char *s;
        size_t n;
        if (!line_of(src, len, l, &s, &n))
            return 0;
        const char *dash = NULL;
        for (size_t i = 0; i + 1 < n; i++)
            if (s[i] == '-' && s[i + 1] == '-') {
                dash = s + i; /* a comment (strings with -- are rare here) */
                break;
            }
        size_t m = dash ? (size_t)(dash - s) : n;
        while (m > 0 && (s[m - 1] == ' ' || s[m - 1] == '\t'))
            m--;
        if (m > 0) {
            *col = (int)m + 1;
            return l;
        }
    }
    return 0;
}

static bool starts_line(const char *src, size_t len, int line, int col)
{
    const char *s;
    size_t n;
    if (!line_of(src, len, line, &s, &n))
        return false;
    for (int i = 0; i < col - 1 && (size_t)i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

bool fw__plain_lua(const char *path, const char *msg, const char *src,
                   size_t len, char *out, size_t n)
{
    size_t pl = strlen(path);
    if (strncmp(msg, path, pl) != 0 || msg[pl] != ':')
        return false;
    char *end;
    long line = strtol(msg + pl + 1, &end, 10);
    if (line < 1 || strncmp(end, ": ", 2) != 0)
        return false;
    const char *what = end + 2;
    char near[128];
    if (!near_of(what, near, sizeof near))
        return false;
    bool eof = strcmp(near, "<eof>") == 0;
    int col = eof ? 1 : col_of(src, len, (int)line, near);
    int opened = 0;
    const char *to = strstr(what, "(to close '");
    char opener[32] = "";
    if (to) {
        const char *q = to + 11, *e = strchr(q, '\'');
        if (e && e - q < (long)sizeof opener) {
            snprintf(opener, sizeof opener, "%.*s", (int)(e - q), q);
            const char *at = strstr(e, " at line ");
            if (at)
                opened = atoi(at + 9);
        }
    }
    if (opened == 0)
        opened = (int)line; /* Lua names the opening line only when other */
    char words[FW_MSG_MAX];
    int eline = (int)line, ecol = col;
    char shown[160];
    snprintf(shown, sizeof shown, "%s", eof ? _("the end of the file")
                                            : near);
    if (strncmp(what, "'}' expected", 12) == 0) {
        int pc, pline = 0;
        if (!eof && starts_line(src, len, (int)line, col))
            pline = prev_line_end(src, len, (int)line, &pc);
        if (eof) {
            snprintf(words, sizeof words, _("a closing } is missing: the { of "
                     "line %d is still open at the end of the file (a table "
                     "inside it, such as params = { ... }, may be the one not "
                     "closed)"), opened);
        } else if (pline) {
            eline = pline;
            ecol = pc;
            snprintf(words, sizeof words, _("a comma is missing at the end of "
                     "this line (or a } to close the { of line %d)"), opened);
        } else {
            snprintf(words, sizeof words, _("a comma or a closing } is "
                     "missing before \"%s\" (the { of line %d is not "
                     "closed)"), shown, opened);
        }
    } else if (strncmp(what, "')' expected", 12) == 0) {
        snprintf(words, sizeof words, _("a closing ) is missing before \"%s\" "
                 "(the ( of line %d is not closed), or a comma between two "
                 "arguments"), shown, opened ? opened : (int)line);
    } else if (strncmp(what, "']' expected", 12) == 0) {
        snprintf(words, sizeof words, _("a closing ] is missing before "
                 "\"%s\""), shown);
    } else if (strncmp(what, "'end' expected", 14) == 0) {
        if (opened)
            snprintf(words, sizeof words, _("an end is missing: the %s of line "
                     "%d is not closed before %s%s%s"), opener, opened,
                     eof ? "" : "\"", shown, eof ? "" : "\"");
        else
            snprintf(words, sizeof words, _("an end is missing before \"%s\" "
                     "(every if, for, while, function and do needs its "
                     "end)"), shown);
    } else if (strncmp(what, "'then' expected", 15) == 0) {
        snprintf(words, sizeof words, _("then is missing: write \"if "
                 "condition then\" (found \"%s\" where then should be)"),
                 shown);
    } else if (strncmp(what, "'do' expected", 13) == 0) {
        snprintf(words, sizeof words, _("do is missing: write \"for ... do\" "
                 "or \"while ... do\" (found \"%s\")"), shown);
    } else if (strncmp(what, "'=' expected", 12) == 0) {
        snprintf(words, sizeof words, _("\"%s\" cannot follow here: a "
                 "misspelt keyword, or a missing = or comma?"), shown);
    } else if (strncmp(what, "unexpected symbol", 17) == 0 &&
               strcmp(near, ",") == 0 && col > 3 &&
               col_of(src, len, (int)line, "end,") == col - 3) {
        ecol = col - 3;
        snprintf(words, sizeof words, "%s", _("an end is missing: this end "
                 "closes an inner if, for or while, not the function; add the "
                 "end of the block that is not closed"));
    } else if (strncmp(what, "unexpected symbol", 17) == 0) {
        snprintf(words, sizeof words, _("\"%s\" cannot stand here: a missing "
                 "comma, quote or operator before it?"), shown);
    } else if (strncmp(what, "unfinished string", 17) == 0) {
        snprintf(words, sizeof words, "%s", _("a text is not closed: its "
                 "closing quote is missing on this line"));
        ecol = 1;
    } else {
        return false;
    }
    char caret[400];
    fw__caret(src, len, eline, ecol, caret, sizeof caret);
    snprintf(out, n, "%s:%d:%d: %s%s", path, eline, ecol, words, caret);
    return true;
}

/* The first tab among the leading blanks of line, its column, or 0. */
static int indent_tab(const char *src, size_t len, int line)
{
    const char *s;
    size_t n;
    if (!line_of(src, len, line, &s, &n))
        return 0;
    for (size_t i = 0; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
        if (s[i] == '\t')
            return (int)i + 1;
    return 0;
}

bool fw__plain_yaml(const char *src, size_t len, const char *problem,
                    const char *context, int *linep, int *colp, int ctx_line,
                    char *out, size_t n)
{
    int line = *linep, col = *colp;
    char words[FW_MSG_MAX];
    problem = problem ? problem : "";
    context = context ? context : "";
    int tab = 0, tline = line;
    for (int l = line; l >= line - 1 && l >= 1 && !tab; l--)
        if ((tab = indent_tab(src, len, l)) != 0)
            tline = l;
    if (tab) {
        line = tline;
        col = tab;
        snprintf(words, sizeof words, "%s", _("a tab is used to indent this "
                 "line: YAML indents with spaces only (replace the tab with "
                 "spaces)"));
    } else if (strstr(problem, "mapping values are not allowed")) {
        snprintf(words, sizeof words, "%s", _("a colon (:) where none can be: "
                 "this line is indented more than the key above it, or a text "
                 "with \": \" in it needs quotes"));
    } else if (strstr(problem, "did not find expected key") ||
               strstr(problem, "did not find expected '-'")) {
        snprintf(words, sizeof words, _("this line is not indented like the "
                 "other lines of its block (uneven indentation; the block "
                 "starts at line %d)"), ctx_line);
    } else if (strstr(problem, "could not find expected ':'")) {
        snprintf(words, sizeof words, "%s", _("a key without a colon: write "
                 "\"key: value\""));
    } else if (strstr(problem, "did not find expected ',' or ']'")) {
        snprintf(words, sizeof words, _("a comma or a closing ] is missing in "
                 "the list [ ... ] opened at line %d"), ctx_line);
    } else if (strstr(problem, "did not find expected ',' or '}'")) {
        snprintf(words, sizeof words, _("a comma or a closing } is missing in "
                 "the map { ... } opened at line %d"), ctx_line);
    } else if (strstr(problem, "did not find expected node content") &&
               strstr(context, "flow")) {
        snprintf(words, sizeof words, "%s", _("a value is missing here, or "
                 "the closing ] or } of a [ or { above it"));
    } else if (strstr(problem, "found unexpected end of stream") &&
               strstr(context, "quoted")) {
        snprintf(words, sizeof words, _("a text in quotes is not closed: the "
                 "quote of line %d has no closing quote"), ctx_line);
    } else if (strstr(problem, "cannot start any token")) {
        snprintf(words, sizeof words, "%s", _("this character cannot start a "
                 "value: put the value in quotes"));
    } else {
        return false;
    }
    char caret[400];
    fw__caret(src, len, line, col, caret, sizeof caret);
    snprintf(out, n, "%s%s", words, caret);
    *linep = line;
    *colp = col;
    return true;
}
