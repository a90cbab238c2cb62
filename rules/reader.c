/* The feed reader: bytes pushed in → normalised records or rejects, for CSV
 * (RFC 4180, UTF-8 or GB18030 converted with iconv) and NDJSON (json-c).
 * Streaming with one buffer that holds at most one unfinished row plus one
 * chunk. No I/O: the caller reads files and hands the bytes in. */
#include <errno.h>
#include <stdarg.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "colmap.h"
#include "fundwatch/buf.h"
#include "fundwatch/i18n.h"
#include "fundwatch/reader.h"
#include "reader_int.h"

#define DETECT_BYTES (64u << 10)

/* ---- small helpers ----------------------------------------------------- */

const unsigned char fw__reader_space[256] = {[' '] = 1, ['\t'] = 1};

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* A problem with the whole file: the reader takes nothing more. */
int fw__reader_whole_error(struct fw_reader *r, struct fw_error *err, int code,
                       uint64_t line, const char *fmt, ...)
{
    char place[FW_PLACE_MAX], msg[FW_MSG_MAX];
    if (line > 0)
        snprintf(place, sizeof place, "%s:%llu", r->feed,
                 (unsigned long long)line);
    else
        snprintf(place, sizeof place, "%s", r->feed);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->failed = true;
    return fw_error_set(err, code, place, "%s", msg);
}

/* Appends `<column> "<text>": <reason>` to the reasons of this row, the
 * reason already translated. */
static void add_why_raw(struct fw_reader *r, const char *col, size_t col_len,
                        const char *text, size_t len, const char *reason)
{
    struct fw_buf *b = &r->why;
    if (b->len > 0)
        fw_buf_puts(b, "; ");
    fw_buf_append(b, col, col_len);
    if (text != NULL) {
        fw_buf_puts(b, " ");
        /* Quote the text the way a person would write it, cut at 60 bytes
         * on a character boundary. */
        size_t n = len;
        if (n > 60) {
            n = 60;
            while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
                n--;
        }
        fw_buf_json_str(b, text, n);
        if (n < len)
            fw_buf_puts(b, "…");
    }
    fw_buf_puts(b, ": ");
    fw_buf_puts(b, reason);
}

/* The same with a reason marked N_() and translated here. */
void fw__reader_add_why(struct fw_reader *r, const char *col, size_t col_len,
                        const char *text, size_t len, const char *reason)
{
    add_why_raw(r, col, col_len, text, len, _(reason));
}

/* ---- fields → record --------------------------------------------------- */

static const struct {
    const char *text;
    enum fw_rkind kind;
} kind_names[] = {
    {"execution", FW_RK_EXECUTION}, {"执行", FW_RK_EXECUTION},
    {"预算执行", FW_RK_EXECUTION},  {"evaluation", FW_RK_EVALUATION},
    {"评价", FW_RK_EVALUATION},     {"绩效评价", FW_RK_EVALUATION},
    {"自评", FW_RK_EVALUATION},     {"task", FW_RK_TASK},
    {"任务", FW_RK_TASK},
};

static const struct {
    const char *text;
    bool v;
} bool_names[] = {
    {"是", true},    {"否", false},  {"true", true},  {"false", false},
    {"TRUE", true},  {"FALSE", false}, {"True", true}, {"False", false},
    {"1", true},     {"0", false},   {"Y", true},     {"N", false},
    {"yes", true},   {"no", false},
};

static bool text_is(const char *s, size_t n, const char *t)
{
    return strlen(t) == n && s[0] == t[0] && memcmp(s, t, n) == 0;
}

void fw__reader_set_typed(struct fw_reader *r, int f, enum fw_unit unit,
                          const char *col, size_t col_len, const char *s,
                          size_t n)
{
    struct fw_record *rec = &r->rec;
    const char *why = NULL;
    int64_t v = 0;
    switch (fw_fields[f].type) {
    case FW_T_TEXT:
        break;
    case FW_T_KIND: {
        size_t i;
        for (i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
            if (text_is(s, n, kind_names[i].text))
                break;
        if (i == sizeof kind_names / sizeof kind_names[0])
            why = N_("not a record kind (execution, evaluation or task)");
        else
            v = kind_names[i].kind;
        break;
    }
    case FW_T_REGION: {
        bool ok = n == 6 || n == 9;
        for (size_t i = 0; ok && i < n; i++)
            ok = s[i] >= '0' && s[i] <= '9';
        if (!ok)
            why = N_("not a region code (6 or 9 digits)");
        r->region_given = true;
        break;
    }
    case FW_T_YEAR: {
        bool ok = n == 4;
        for (size_t i = 0; ok && i < n; i++) {
            ok = s[i] >= '0' && s[i] <= '9';
            v = v * 10 + (s[i] - '0');
        }
        if (!ok || v < 1900 || v > 2999)
            why = N_("not a budget year (four digits)");
        break;
    }
    case FW_T_BOOL: {
        size_t i;
        for (i = 0; i < sizeof bool_names / sizeof bool_names[0]; i++)
            if (text_is(s, n, bool_names[i].text))
                break;
        if (i == sizeof bool_names / sizeof bool_names[0])
            why = N_("not yes or no (是/否, true/false, 1/0)");
        else
            v = bool_names[i].v;
        break;
    }
    case FW_T_MONEY:
        if (fw_money_parse(s, n, unit, &v, &why) < 0 && why == NULL)
            why = N_("not an amount");
        break;
    case FW_T_DATE: {
        int32_t d = 0;
        if (fw_date_parse(s, n, &d, &why) < 0 && why == NULL)
            why = N_("not a date");
        v = d;
        bool digits_only = n <= 6;
        for (size_t i = 0; digits_only && i < n; i++)
            digits_only = s[i] >= '0' && s[i] <= '9';
        char iso[12];
        const char *ignored;
        if (why != NULL && digits_only &&
            fw_cell_date(s, n, false, iso, &ignored) == 0) {
            fw_buf_reset(&r->msg);
            fw_buf_printf(&r->msg, _("a number, not a date: an Excel date "
                                     "serial pasted as text? (%.*s would be "
                                     "%s)"), (int)n, s, iso);
            add_why_raw(r, col, col_len, s, n, r->msg.p);
            return;
        }
        break;
    }
    case FW_T_HUNDREDTHS:
        if (fw_decimal_parse(s, n, 2, true, &v, &why) < 0) {
            if (why == NULL)
                why = N_("not a number");
        } else if (v < 0 || v > 10000) {
            why = N_("not between 0 and 100");
        }
        break;
    }
    if (why != NULL) {
        fw__reader_add_why(r, col, col_len, s, n, why);
        return;
    }
    if (f == FW_F_KIND)
        rec->kind = (enum fw_rkind)v;
    rec->num[f] = v;
    rec->str[f] = (struct fw_str){s, n};
    rec->present |= 1u << f;
}

int fw__reader_add_extra(struct fw_reader *r, const char *name, size_t name_len,
                     const char *s, size_t n)
{
    if (r->rec.n_extra == r->xcap) {
        size_t cap = r->xcap ? r->xcap * 2 : 8;
        struct fw_str *a = realloc(r->xname, cap * sizeof *a);
        if (a == NULL)
            return FW_ENOMEM;
        r->xname = a;
        struct fw_str *b = realloc(r->xval, cap * sizeof *b);
        if (b == NULL)
            return FW_ENOMEM;
        r->xval = b;
        r->xcap = cap;
    }
    r->xname[r->rec.n_extra] = (struct fw_str){name, name_len};
    r->xval[r->rec.n_extra] = (struct fw_str){s, n};
    r->rec.n_extra++;
    return 0;
}

/* A cell of a sheet: its kind decides before its text does. */
void fw__reader_set_cell(struct fw_reader *r, int f, enum fw_unit unit,
                         const char *col, size_t col_len,
                         const struct fw_cell *c)
{
    enum fw_ftype t = fw_fields[f].type;
    const char *why = NULL;
    switch (c->kind) {
    case FW_CELL_NOVALUE:
        why = N_("a formula without a saved value (open and save the "
                 "workbook in Excel or LibreOffice)");
        break;
    case FW_CELL_ERROR:
        why = N_("an Excel error value");
        break;
    case FW_CELL_BADDATE:
        fw_buf_reset(&r->msg);
        fw_buf_append(&r->msg, c->p, c->n);
        add_why_raw(r, col, col_len, NULL, 0, r->msg.p);
        if (f == FW_F_REGION)
            r->region_given = true;
        return;
    case FW_CELL_DATE:
        if (t != FW_T_DATE && t != FW_T_TEXT)
            why = N_("a date cell, not a value of this column");
        break;
    case FW_CELL_NUMBER:
        if (t == FW_T_DATE)
            why = N_("a number, not a date (the cell has no date format)");
        break;
    default:
        break;
    }
    if (why != NULL) {
        if (f == FW_F_REGION)
            r->region_given = true;
        fw__reader_add_why(r, col, col_len,
                           c->kind == FW_CELL_NOVALUE ? NULL : c->p, c->n,
                           why);
        return;
    }
    fw__reader_set_field(r, f, unit, col, col_len, c->p, c->n);
}

void fw__reader_rec_start(struct fw_reader *r, uint64_t line)
{
    struct fw_record *rec = &r->rec;
    r->region_given = false;
    r->fields_read = false;
    rec->kind = FW_RK_EXECUTION;
    rec->present = 0;
    rec->n_extra = 0;
    rec->feed = r->feed;
    rec->line = line;
    fw_buf_reset(&r->why);
}

/* The row is complete: hand out the record or the reject. */
int fw__reader_rec_finish(struct fw_reader *r)
{
    struct fw_record *rec = &r->rec;
    if (r->fields_read && !r->region_given &&
        !fw_record_has(rec, FW_F_REGION)) {
        const char *zh = fw_fields[FW_F_REGION].zh;
        for (size_t i = 0; i < r->ncols; i++)
            if (r->cols[i].field == FW_F_REGION)
                zh = r->cols[i].name;
        fw__reader_add_why(r, zh, strlen(zh), NULL, 0,
                N_("missing (every record needs its region)"));
    }
    if (r->why.len > 0) {
        r->st.rejects++;
        r->rej_all++;
        r->rej_sub++;
        if (r->cb.on_reject)
            r->cb.on_reject(r->ud, r->feed, rec->line, r->why.p);
        return 0;
    }
    rec->extra_name = r->xname;
    rec->extra_val = r->xval;
    r->st.records++;
    /* the sums a total row below is checked against */
    for (int f = FW_F_BUDGET; f <= FW_F_BASE; f++) {
        if (!fw_record_has(rec, (enum fw_field)f))
            continue;
        if (__builtin_add_overflow(r->sum_all[f], rec->num[f],
                                   &r->sum_all[f]) ||
            __builtin_add_overflow(r->sum_sub[f], rec->num[f],
                                   &r->sum_sub[f]))
            r->sum_over = true;
    }
    return r->cb.on_record ? r->cb.on_record(r->ud, rec) : 0;
}

/* ---- CSV --------------------------------------------------------------- */

/* Undoes doubled quotes of a quoted field in place. */
static size_t unescape(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        s[o++] = s[i];
        if (s[i] == '"' && i + 1 < n && s[i + 1] == '"')
            i++;
    }
    return o;
}

/* A CSV row: its fields as text cells (r->cells, filled by fw__csv_scan),
 * read by the layout (table.c). */
static int csv_row(struct fw_reader *r, char *row, size_t len, size_t nf,
                   const char *bad, struct fw_error *err)
{
    /* What the GB18030 table made is UTF-8 already; what iconv made is
     * checked like any input. */
    bool valid = (r->enc == FW_ENC_GB18030 && r->by_iconv == 0) ||
                 fw__utf8_ok((const unsigned char *)row, len);
    if (!valid)
        bad = N_("bytes that are not UTF-8 (a GBK feed? declare encoding: "
                 "gb18030 in the column map)");
    else if (r->replaced > 0 && memmem(row, len, "\xEF\xBF\xBD", 3))
        bad = N_("bytes that are neither UTF-8 nor GB18030");
    for (size_t k = 0; k < r->nesc; k++) {
        struct fw_cell *c = &r->cells[r->esc[k]];
        /* the cell points into r->in, which is ours to change */
        c->n = unescape(row + (c->p - row), c->n);
    }
    return fw__table_row(r, r->cells, nf, r->phys, bad, err);
}

/* ---- NDJSON ------------------------------------------------------------ */

/* What json-c lets pass that JSON (RFC 8259) does not, even in its strict
 * mode: single quotes, NaN and Infinity, raw control characters inside a
 * string; and \u0000, which would cut a string short. NULL when clean. */
static const char *not_strict(const char *s, size_t n)
{
    bool in = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (in) {
            if (c == '"') {
                in = false;
            } else if (c < 0x20) {
                return N_("a control character inside a string (write "
                          "\\n or \\t)");
            } else if (c == '\\') {
                if (i + 5 < n && memcmp(s + i + 1, "u0000", 5) == 0)
                    return N_("\\u0000 (a NUL) inside a string");
                i++;
            }
        } else if (c == '"') {
            in = true;
        } else if (c == '\'') {
            return N_("single quotes: JSON quotes with \"");
        } else if (c == 'N' || c == 'I' ||
                   (c == '-' && i + 1 < n && s[i + 1] == 'I')) {
            return N_("NaN or Infinity: not JSON numbers");
        }
    }
    return NULL;
}

static int ndjson_line(struct fw_reader *r, char *line, size_t len,
                       struct fw_error *err)
{
    size_t n = len;
    while (n > 0 && (line[n - 1] == '\r' || is_space(line[n - 1])))
        n--;
    size_t i = 0;
    while (i < n && is_space(line[i]))
        i++;
    if (i == n) {
        r->st.blank++;
        return 0;
    }
    fw__reader_rec_start(r, r->phys);
    if (!fw__utf8_ok((const unsigned char *)line, n)) {
        fw_buf_puts(&r->why, _("bytes that are not UTF-8"));
        return fw__reader_rec_finish(r);
    }
    const char *lax = not_strict(line + i, n - i);
    if (lax != NULL) {
        fw_buf_printf(&r->why, _("not JSON: %s"), _(lax));
        return fw__reader_rec_finish(r);
    }
    json_tokener_reset(r->tok);
    json_object *o = json_tokener_parse_ex(r->tok, line + i, (int)(n - i));
    enum json_tokener_error je = json_tokener_get_error(r->tok);
    if (o == NULL || je != json_tokener_success) {
        if (je == json_tokener_continue && line[i] != '{')
            fw_buf_puts(&r->why, _("not a JSON object"));
        else
            fw_buf_printf(&r->why, _("not JSON: %s"),
                          je == json_tokener_continue
                              ? _("the object is not closed")
                              : json_tokener_error_desc(je));
        json_object_put(o);
        return fw__reader_rec_finish(r);
    }
    if ((size_t)json_tokener_get_parse_end(r->tok) != n - i) {
        fw_buf_puts(&r->why, _("text after the JSON object"));
        json_object_put(o);
        return fw__reader_rec_finish(r);
    }
    if (!json_object_is_type(o, json_type_object)) {
        fw_buf_puts(&r->why, _("not a JSON object"));
        json_object_put(o);
        return fw__reader_rec_finish(r);
    }
    fw_buf_reset(&r->tmp);
    r->fields_read = true;
    json_object_object_foreach(o, key, val)
    {
        size_t kn = strlen(key);
        enum fw_unit unit = FW_UNIT_YUAN;
        int f = fw__colmap_lookup(r->map, key, kn, &unit);
        const char *s;
        switch (json_object_get_type(val)) {
        case json_type_null:
            continue;
        case json_type_string:
        case json_type_int:
        case json_type_double:
            /* A number keeps its text as written: no double in between. */
            s = json_object_get_string(val);
            break;
        case json_type_boolean:
            s = json_object_get_boolean(val) ? "true" : "false";
            break;
        default:
            fw__reader_add_why(r, key, kn, NULL, 0, "an object or a list, not a value");
            continue;
        }
        size_t sn = strlen(s);
        if (f >= 0) {
            if (fw_record_has(&r->rec, f)) {
                fw__reader_add_why(r, key, kn, NULL, 0,
                        "the same field given twice (under two names)");
                continue;
            }
            fw__reader_set_field(r, f, unit, key, kn, s, sn);
        } else if (fw__reader_add_extra(r, key, kn, s, sn) < 0) {
            json_object_put(o);
            return fw_error_set(err, FW_ENOMEM, NULL, "%s", _("out of memory"));
        }
    }
    int rc = fw__reader_rec_finish(r);
    json_object_put(o);
    return rc;
}

/* ---- pushing ----------------------------------------------------------- */

struct fw_reader *fw_reader_new(const struct fw_colmap *map, const char *feed,
                                enum fw_format fmt,
                                const struct fw_reader_cb *cb, void *ud)
{
    struct fw_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->map = map;
    r->feed = strdup(feed ? feed : "-");
    r->fmt = fmt;
    r->cb = *cb;
    r->ud = ud;
    r->enc = fw__colmap_encoding(map);
    r->strict_width = true; /* CSV; a sheet's rows end at their last cell */
    r->cd = (iconv_t)-1;
    r->phys = 1;
    fw_buf_init(&r->in);
    fw_buf_init(&r->why);
    fw_buf_init(&r->tmp);
    fw_buf_init(&r->msg);
    fw_buf_init(&r->raw);
    r->tok = json_tokener_new();
    if (r->tok != NULL) /* no trailing commas, comments, leading zeros */
        json_tokener_set_flags(r->tok, JSON_TOKENER_STRICT |
                                           JSON_TOKENER_ALLOW_TRAILING_CHARS);
    if (r->feed == NULL || r->tok == NULL ||
        fw_buf_reserve(&r->why, 256) < 0) {
        fw_reader_free(r);
        return NULL;
    }
    return r;
}

void fw_reader_free(struct fw_reader *r)
{
    if (r == NULL)
        return;
    if (r->cd != (iconv_t)-1)
        iconv_close(r->cd);
    for (size_t i = 0; i < r->ncols; i++)
        free(r->cols[i].name);
    free(r->cols);
    free(r->esc);
    free(r->xname);
    free(r->xval);
    fw_buf_fini(&r->in);
    fw_buf_fini(&r->why);
    fw_buf_fini(&r->tmp);
    fw_buf_fini(&r->msg);
    fw__table_free(r);
    free(r->cells);
    fw_buf_fini(&r->raw);
    if (r->tok)
        json_tokener_free(r->tok);
    free(r->feed);
    free(r);
}

const struct fw_reader_stats *fw_reader_stats(const struct fw_reader *r)
{
    return &r->st;
}

/* GB18030 → UTF-8 into r->in, through the last newline of what arrived
 * (a newline is never inside a GB18030 sequence, so no character is cut);
 * the rest waits in r->raw. A byte that is not GB18030 becomes U+FFFD and
 * the row holding it is rejected. */
static int convert(struct fw_reader *r, const char *buf, size_t len,
                   bool final, struct fw_error *err)
{
    if (fw_buf_append(&r->raw, buf, len) < 0)
        return fw_error_set(err, FW_ENOMEM, NULL, "%s", _("out of memory"));
    size_t upto = r->raw.len;
    if (!final) {
        const char *nl = memrchr(r->raw.p, '\n', r->raw.len);
        upto = nl ? (size_t)(nl - r->raw.p) + 1 : 0;
    }
    if (fw_buf_reserve(&r->in, upto * 3 + 16) < 0)
        return fw_error_set(err, FW_ENOMEM, NULL, "%s", _("out of memory"));
    r->in.len += fw__gb_decode(r->cd, r->raw.p, upto, r->in.p + r->in.len,
                               &r->replaced, &r->by_iconv);
    r->in.p[r->in.len] = '\0';
    size_t rest = r->raw.len - upto;
    memmove(r->raw.p, r->raw.p + upto, rest);
    r->raw.len = rest;
    return 0;
}

/* Decides the encoding from the first bytes: GB18030 when they are not
 * UTF-8 (a sequence cut by the end of the sample is no evidence, unless the
 * sample is the whole feed). */
static int start(struct fw_reader *r, const char *buf, size_t len,
                 bool final, struct fw_error *err)
{
    r->started = true;
    if (r->enc == FW_ENC_AUTO) {
        size_t ok = fw__utf8_valid((const unsigned char *)buf, len);
        bool utf8 = final ? ok == len : ok + 4 > len;
        r->enc = utf8 ? FW_ENC_UTF8 : FW_ENC_GB18030;
    }
    if (r->enc == FW_ENC_GB18030) {
        r->cd = iconv_open("UTF-8", "GB18030");
        if (r->cd == (iconv_t)-1)
            return fw__reader_whole_error(r, err, FW_EIO, 0,
                               "cannot convert from GB18030: %s",
                               strerror(errno));
    }
    return 0;
}

/* Handles every complete row in r->in; with final, the rest too. */
static int drain(struct fw_reader *r, bool final, struct fw_error *err)
{
    if (!r->bom_done) {
        if (r->in.len < 3 && !final)
            return 0;
        r->bom_done = true;
        if (r->in.len >= 3 && memcmp(r->in.p, "\xEF\xBB\xBF", 3) == 0)
            r->pos = 3;
    }
    if (r->fmt == FW_FMT_AUTO) {
        size_t i = r->pos;
        while (i < r->in.len && (is_space(r->in.p[i]) ||
                                 r->in.p[i] == '\r' || r->in.p[i] == '\n'))
            i++;
        if (i == r->in.len && !final)
            return 0;
        r->fmt = i < r->in.len && r->in.p[i] == '{' ? FW_FMT_NDJSON
                                                     : FW_FMT_CSV;
    }
    while (r->pos < r->in.len) {
        char *p = r->in.p + r->pos;
        size_t n = r->in.len - r->pos;
        size_t len, nf = 0;
        uint64_t nl = 0;
        const char *bad = NULL;
        int rc;
        if (r->fmt == FW_FMT_NDJSON) {
            char *e = memchr(p, '\n', n);
            if (e == NULL && !final)
                break;
            len = e ? (size_t)(e - p) + 1 : n;
            nl = e ? 1 : 0;
            if (len - nl > FW_READER_MAX_LINE)
                return fw__reader_whole_error(r, err, FW_ELIMIT, r->phys,
                                              "%s",
                                              _("a line longer than 1 MiB"));
            r->st.lines++;
            rc = ndjson_line(r, p, len - nl, err);
        } else {
            len = fw__csv_scan(r, p, n, final, &nf, &nl, &bad);
            if (len == 0)
                break;
            if (len > FW_READER_MAX_LINE)
                return fw__reader_whole_error(
                    r, err, FW_ELIMIT, r->phys, "%s",
                    memchr(p, '"', len) ? _("a row longer than 1 MiB (a "
                                            "quote not closed?)")
                                        : _("a line longer than 1 MiB"));
            r->st.lines++;
            rc = csv_row(r, p, len, nf, bad, err);
        }
        if (rc != 0) {
            if (rc < 0 && !r->failed)
                r->failed = true;
            r->pos += len;
            r->phys += nl;
            return rc;
        }
        r->pos += len;
        r->phys += nl;
        r->st.physical = r->phys - 1;
    }
    /* What is left is one unfinished row: keep it, bounded. */
    size_t rest = r->in.len - r->pos;
    if (rest > FW_READER_MAX_LINE)
        return fw__reader_whole_error(
            r, err, FW_ELIMIT, r->phys, "%s",
            r->fmt == FW_FMT_CSV && memchr(r->in.p + r->pos, '"', rest)
                ? _("a row longer than 1 MiB (a quote not closed?)")
                : _("a line longer than 1 MiB"));
    if (r->pos > 0) {
        memmove(r->in.p, r->in.p + r->pos, rest);
        r->in.len = rest;
        r->in.p[rest] = '\0';
        r->pos = 0;
    }
    return 0;
}

/* Takes bytes whose encoding is known: converted or appended, then read. */
static int feed(struct fw_reader *r, const char *buf, size_t len, bool final,
                struct fw_error *err)
{
    int rc;
    if (!r->started && (rc = start(r, buf, len, final, err)) < 0)
        return rc;
    if (r->enc == FW_ENC_GB18030) {
        if ((rc = convert(r, buf, len, final, err)) < 0)
            return rc;
    } else if (fw_buf_append(&r->in, buf, len) < 0) {
        return fw_error_set(err, FW_ENOMEM, NULL, "%s", _("out of memory"));
    }
    return final ? 0 : drain(r, false, err);
}

/* The sniffed bytes are enough (or all there is): decide and read them. */
static int sniffed(struct fw_reader *r, bool final, struct fw_error *err)
{
    struct fw_buf held = r->raw;
    fw_buf_init(&r->raw);
    int rc = feed(r, held.p, held.len, final, err);
    fw_buf_fini(&held);
    return rc;
}

int fw_reader_push(struct fw_reader *r, const char *buf, size_t len,
                   struct fw_error *err)
{
    if (r->failed)
        return fw_error_set(err, FW_ESTATE, NULL,
                            "%s", _("the reader already failed"));
    if (len == 0)
        return 0;
    const char *nul = memchr(buf, '\0', len);
    if (nul != NULL) {
        uint64_t line = r->phys;
        for (const char *k = r->in.p ? r->in.p + r->pos : NULL;
             k && k < r->in.p + r->in.len; k++)
            line += *k == '\n';
        for (size_t k = 0; !r->started && k < r->raw.len; k++)
            line += r->raw.p[k] == '\n';
        for (const char *k = buf; k < nul; k++)
            line += *k == '\n';
        return fw__reader_whole_error(r, err, FW_EINVAL, line,
                           "%s", _("a NUL byte: a binary file, not a feed"));
    }
    r->st.bytes += len;
    r->last = buf[len - 1];
    if (!r->started && r->enc == FW_ENC_AUTO) {
        /* Sniff: hold the first bytes until there are enough to judge. */
        if (fw_buf_append(&r->raw, buf, len) < 0)
            return fw_error_set(err, FW_ENOMEM, NULL, "%s", _("out of memory"));
        if (r->raw.len < DETECT_BYTES)
            return 0;
        return sniffed(r, false, err);
    }
    return feed(r, buf, len, false, err);
}

int fw_reader_finish(struct fw_reader *r, struct fw_error *err)
{
    if (r->failed)
        return fw_error_set(err, FW_ESTATE, NULL, "%s",
                            _("the reader already failed"));
    int rc;
    if (r->fmt == FW_FMT_SHEET) {
        if ((rc = fw__table_finish(r, err)) < 0)
            r->failed = true;
        return rc;
    }
    if (!r->started && r->raw.len > 0 && (rc = sniffed(r, true, err)) != 0)
        return rc;
    if (r->enc == FW_ENC_GB18030 && r->raw.len > 0 &&
        (rc = convert(r, "", 0, true, err)) < 0)
        return rc;
    if ((rc = drain(r, true, err)) != 0)
        return rc;
    if (r->st.bytes == 0)
        return fw__reader_whole_error(r, err, FW_EINVAL, 0, "%s",
                                      _("an empty file, not a feed"));
    r->st.physical = r->phys - 1 + (r->last != '\n');
    if (r->fmt == FW_FMT_CSV && (rc = fw__table_finish(r, err)) < 0)
        return rc;
    if (r->fmt == FW_FMT_NDJSON && r->st.records + r->st.rejects == 0)
        return fw__reader_whole_error(r, err, FW_EINVAL, 0, "%s",
                                      _("no records: only blank lines"));
    return 0;
}

/* ---- output ------------------------------------------------------------ */

/* The canonical fields, from the opening brace; hundredths as JSON numbers
 * or, to be read back exactly, as text. */
static void fields_json(const struct fw_record *rec, struct fw_buf *out,
                        bool quote_hundredths)
{
    char num[32];
    fw_buf_puts(out, "{\"kind\":\"");
    fw_buf_puts(out, fw_rkind_name(rec->kind));
    fw_buf_putc(out, '"');
    for (int f = 0; f < FW__F_COUNT; f++) {
        if (f == FW_F_KIND || !fw_record_has(rec, (enum fw_field)f))
            continue;
        fw_buf_puts(out, ",\"");
        fw_buf_puts(out, fw_fields[f].name);
        fw_buf_puts(out, "\":");
        int64_t v = rec->num[f];
        switch (fw_fields[f].type) {
        case FW_T_TEXT:
        case FW_T_KIND:
        case FW_T_REGION:
            fw_buf_json_str(out, rec->str[f].p, rec->str[f].n);
            break;
        case FW_T_YEAR:
            fw_buf_printf(out, "%lld", (long long)v);
            break;
        case FW_T_BOOL:
            fw_buf_puts(out, v ? "true" : "false");
            break;
        case FW_T_MONEY:
            fw_buf_putc(out, '"');
            fw_buf_append(out, num, fw_money_format(v, num));
            fw_buf_putc(out, '"');
            break;
        case FW_T_DATE:
            fw_buf_putc(out, '"');
            fw_buf_append(out, num, fw_date_format((int32_t)v, num));
            fw_buf_putc(out, '"');
            break;
        case FW_T_HUNDREDTHS:
            if (quote_hundredths)
                fw_buf_putc(out, '"');
            fw_buf_append(out, num, fw_decimal_format(v, 2, num));
            if (quote_hundredths)
                fw_buf_putc(out, '"');
            break;
        }
    }
}

int fw_record_json(const struct fw_record *rec, struct fw_buf *out)
{
    fields_json(rec, out, false);
    if (rec->n_extra > 0) {
        fw_buf_puts(out, ",\"extra\":{");
        for (size_t i = 0; i < rec->n_extra; i++) {
            if (i)
                fw_buf_putc(out, ',');
            fw_buf_json_str(out, rec->extra_name[i].p, rec->extra_name[i].n);
            fw_buf_putc(out, ':');
            fw_buf_json_str(out, rec->extra_val[i].p, rec->extra_val[i].n);
        }
        fw_buf_putc(out, '}');
    }
    fw_buf_puts(out, ",\"source\":{\"feed\":");
    fw_buf_json_str(out, rec->feed, strlen(rec->feed));
    return fw_buf_printf(out, ",\"line\":%llu}}",
                         (unsigned long long)rec->line);
}

int fw_record_json_flat(const struct fw_record *rec, struct fw_buf *out)
{
    fields_json(rec, out, true);
    for (size_t i = 0; i < rec->n_extra; i++) {
        fw_buf_putc(out, ',');
        fw_buf_json_str(out, rec->extra_name[i].p, rec->extra_name[i].n);
        fw_buf_putc(out, ':');
        fw_buf_json_str(out, rec->extra_val[i].p, rec->extra_val[i].n);
    }
    return fw_buf_putc(out, '}');
}
