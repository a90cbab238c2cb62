/* The layout of a printed export, for CSV and workbook sheets alike: rows
 * before the header (a title, 编制单位, a 单位：万元 line) skipped and
 * counted, the header found by the columns it names (one row or two), total
 * rows (合计, 小计) kept out of the records and their sums checked. Also
 * the cell values of a sheet (numbers at 15 digits, date serials). Pure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colmap.h"
#include "fundwatch/i18n.h"
#include "reader_int.h"

/* Rows that are not blank searched for the header before giving up. */
#define MAX_TITLE 30

static void trim_slow(const char **s, size_t *n)
{
    for (;;) {
        while (*n > 0 && (**s == ' ' || **s == '\t' || **s == '\r')) {
            (*s)++;
            (*n)--;
        }
        while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' ||
                          (*s)[*n - 1] == '\r'))
            (*n)--;
        if (*n >= 3 && memcmp(*s, "\xE3\x80\x80", 3) == 0) {
            *s += 3;
            *n -= 3;
        } else if (*n >= 3 && memcmp(*s + *n - 3, "\xE3\x80\x80", 3) == 0) {
            *n -= 3;
        } else {
            return;
        }
    }
}

static inline void trim_cell(const char **s, size_t *n)
{
    /* Nothing to trim, the usual case: no space, tab or CR at either end,
     * no U+3000 (E3 80 80) starting or ending it. */
    if (*n == 0)
        return;
    unsigned char a = (unsigned char)(*s)[0], z = (unsigned char)(*s)[*n - 1];
    if (a != ' ' && a != '\t' && a != '\r' && a != 0xE3 && z != ' ' &&
        z != '\t' && z != '\r' && z != 0x80)
        return;
    trim_slow(s, n);
}

static bool blank(const struct fw_cell *c)
{
    const char *s = c->p;
    size_t n = c->n;
    trim_cell(&s, &n);
    return n == 0 && c->kind != FW_CELL_NOVALUE;
}

/* The text without any space (ASCII or U+3000), at most cap - 1 bytes. */
static size_t squeeze(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        if (s[i] == ' ' || s[i] == '\t')
            continue;
        if (i + 3 <= n && memcmp(s + i, "\xE3\x80\x80", 3) == 0) {
            i += 2;
            continue;
        }
        out[k++] = s[i];
    }
    out[k] = '\0';
    return k;
}

/* "单位：万元", "金额单位:亿元", "编制单位:某局  单位：元": the unit of the
 * last 单位 in the cell, if a known unit follows it. */
static bool unit_in(const char *s, size_t n, enum fw_unit *u)
{
    char sq[256];
    size_t k = squeeze(s, n, sq, sizeof sq);
    const char *at = NULL;
    for (const char *p = sq; (p = memmem(p, k - (size_t)(p - sq), "单位",
                                          strlen("单位"))) != NULL;
         p += strlen("单位"))
        at = p;
    if (at == NULL)
        return false;
    at += strlen("单位");
    size_t rest = k - (size_t)(at - sq);
    if (rest >= 1 && *at == ':') {
        at++;
        rest--;
    } else if (rest >= 3 && memcmp(at, "：", 3) == 0) {
        at += 3;
        rest -= 3;
    } else {
        return false;
    }
    return fw_unit_parse(at, rest, u) == 0;
}

static bool digits_only(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

/* A total row: its first text cell (codes skipped) says 合计, 总计, 累计
 * (1) or 小计 (2), spaces or not, maybe followed by ":" or a parenthesis. */
static int total_kind(const struct fw_cell *cells, size_t n, char *label,
                      size_t cap)
{
    for (size_t c = 0; c < n; c++) {
        const char *s = cells[c].p;
        size_t len = cells[c].n;
        trim_cell(&s, &len);
        if (len == 0 || cells[c].kind == FW_CELL_NUMBER ||
            digits_only(s, len))
            continue;
        /* Every name starts with E5, E6 or E7 (合, 总, 累, 小), and a
         * trimmed text starts with what it squeezes to: most cells need
         * no squeezing. Only the first 10 bytes squeezed are compared. */
        unsigned char c0 = (unsigned char)s[0];
        if (c0 < 0xE5 || c0 > 0xE7)
            return 0;
        if (len >= 3 && ((unsigned char)s[1] & 0xC0) == 0x80 &&
            ((unsigned char)s[2] & 0xC0) == 0x80 && memcmp(s, "合", 3) &&
            memcmp(s, "总", 3) && memcmp(s, "累", 3) && memcmp(s, "小", 3))
            return 0; /* one character that squeezes to itself */
        char sq[16];
        size_t k = squeeze(s, len < 200 ? len : 200, sq, sizeof sq);
        static const struct {
            const char *t;
            int kind;
        } names[] = {{"合计", 1}, {"总计", 1}, {"累计", 1}, {"小计", 2}};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            size_t tl = strlen(names[i].t);
            if (k < tl || memcmp(sq, names[i].t, tl) != 0)
                continue;
            const char *rest = sq + tl;
            if (*rest == '\0' || *rest == ':' || *rest == '(' ||
                !strncmp(rest, "：", 3) || !strncmp(rest, "（", 3)) {
                snprintf(label, cap, "%s", names[i].t);
                return names[i].kind;
            }
        }
        return 0;
    }
    return 0;
}

/* fen as an amount in unit: "1,914,106.1162" (万元), "1,234.50" (元). */
static void amount(int64_t fen, enum fw_unit unit, char *out, size_t cap)
{
    int scale = 2 + (int)unit;
    uint64_t mag = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
    uint64_t p = 1;
    for (int i = 0; i < scale; i++)
        p *= 10u;
    uint64_t whole = mag / p, frac = mag % p;
    char digits[32], grouped[48], fr[24];
    int nd = snprintf(digits, sizeof digits, "%llu",
                      (unsigned long long)whole);
    size_t g = 0;
    for (int i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0)
            grouped[g++] = ',';
        grouped[g++] = digits[i];
    }
    grouped[g] = '\0';
    for (int i = scale; i-- > 0;) {
        fr[i] = (char)('0' + frac % 10u);
        frac /= 10u;
    }
    fr[scale] = '\0';
    int keep = scale;
    while (keep > (unit == FW_UNIT_YUAN ? 2 : 0) && fr[keep - 1] == '0')
        keep--;
    fr[keep] = '\0';
    size_t k = 0;
    if (fen < 0 && k + 1 < cap)
        out[k++] = '-';
    for (size_t i = 0; grouped[i] && k + 1 < cap; i++)
        out[k++] = grouped[i];
    if (keep && k + 1 < cap)
        out[k++] = '.';
    for (int i = 0; i < keep && k + 1 < cap; i++)
        out[k++] = fr[i];
    out[k] = '\0';
}

static void problem(struct fw_reader *r, uint64_t line, const char *msg,
                    const char *data)
{
    r->st.problems++;
    if (r->cb.on_problem)
        r->cb.on_problem(r->ud, r->feed, line, msg, data);
    else if (r->cb.on_reject)
        r->cb.on_reject(r->ud, r->feed, line, msg);
}

/* A 合计 or 小计 row: not a record; its money checked against the rows. */
static void total_row(struct fw_reader *r, const struct fw_cell *cells,
                      size_t n, uint64_t line, int kind, const char *label)
{
    r->st.totals++;
    const int64_t *sum = kind == 2 ? r->sum_sub : r->sum_all;
    uint64_t rej = kind == 2 ? r->rej_sub : r->rej_all;
    bool unchecked = false, bad = false, any = false;
    for (size_t c = 0; c < n && c < r->ncols; c++) {
        const struct col *col = &r->cols[c];
        if (col->field < 0 || fw_fields[col->field].type != FW_T_MONEY ||
            blank(&cells[c]))
            continue;
        if (cells[c].kind == FW_CELL_NOVALUE || r->sum_over) {
            unchecked = true;
            continue;
        }
        int64_t v;
        const char *why;
        if (cells[c].kind != FW_CELL_NUMBER && cells[c].kind != FW_CELL_TEXT)
            continue;
        if (fw_money_parse(cells[c].p, cells[c].n, col->unit, &v, &why) < 0) {
            unchecked = true;
            continue;
        }
        any = true;
        if (v == sum[col->field])
            continue;
        bad = true;
        char a[64], b[64], msg[FW_MSG_MAX];
        amount(v, col->unit, a, sizeof a);
        amount(sum[col->field], col->unit, b, sizeof b);
        const char *u = fw_unit_name(col->unit);
        int k = snprintf(msg, sizeof msg,
                         _("the %s row's %s %s %s disagrees with the sum of "
                           "the rows above it, %s %s"),
                         label, col->name, a, u, b, u);
        if (rej > 0 && k > 0 && (size_t)k < sizeof msg)
            snprintf(msg + k, sizeof msg - (size_t)k,
                     _(" (%llu of those rows were rejected)"),
                     (unsigned long long)rej);
        /* as data (a finding's message): both languages, Chinese first */
        char data[FW_MSG_MAX * 2];
        snprintf(data, sizeof data,
                 "%s行的%s %s %s与明细之和 %s %s不符 — the %s row's %s %s %s "
                 "disagrees with the sum of the rows above it, %s %s",
                 label, col->name, a, u, b, u, label, col->name, a, u, b, u);
        problem(r, line, msg, data);
    }
    if (unchecked)
        r->st.totals_unchecked++;
    else if (any && !bad)
        r->st.totals_ok++;
    if (kind == 2) {
        memset(r->sum_sub, 0, sizeof r->sum_sub);
        r->rej_sub = 0;
    }
}

/* ---- the header -------------------------------------------------------- */

static void note_unknown(struct fw_reader *r, const char *name, size_t n)
{
    char sug[256], item[512];
    size_t k = fw__colmap_suggest(r->map, name, n, sug, sizeof sug);
    if (k > 0)
        snprintf(item, sizeof item, _("%.*s (did you mean %s?)"), (int)n,
                 name, sug);
    else
        snprintf(item, sizeof item, "%.*s", (int)n, name);
    size_t have = strlen(r->st.unknown), len = strlen(item);
    if (have + len + 3 >= sizeof r->st.unknown) {
        if (have + 4 < sizeof r->st.unknown && !strstr(r->st.unknown, "…"))
            strcat(r->st.unknown, "; …");
        return;
    }
    if (have > 0)
        strcat(r->st.unknown, "; ");
    strcat(r->st.unknown, item);
}

/* Takes the header's column names (n of them, the row at line). */
static int take_header(struct fw_reader *r, char **names, size_t n,
                       uint64_t line, struct fw_error *err)
{
    if (n > MAX_COLS)
        return fw__reader_whole_error(r, err, FW_EINVAL, line,
                                      _("the header has more than %d columns"),
                                      MAX_COLS);
    r->cols = calloc(n ? n : 1, sizeof *r->cols);
    if (r->cols == NULL)
        return fw_error_set(err, FW_ENOMEM, NULL, "%s", _("out of memory"));
    r->ncols = n;
    int seen[FW__F_COUNT];
    for (int f = 0; f < FW__F_COUNT; f++)
        seen[f] = -1;
    for (size_t c = 0; c < n; c++) {
        struct col *col = &r->cols[c];
        const char *t = names[c] ? names[c] : "";
        size_t len = strlen(t);
        trim_cell(&t, &len);
        col->name = malloc(len + 1);
        if (col->name == NULL)
            return fw_error_set(err, FW_ENOMEM, NULL, "%s",
                                _("out of memory"));
        memcpy(col->name, t, len);
        col->name[len] = '\0';
        col->name_len = len;
        col->unit = FW_UNIT_YUAN;
        col->field = len ? fw__colmap_find(r->map, t, len, &col->unit,
                                           &col->own_unit)
                         : -1;
        if (col->field < 0 && len > 0) {
            int mf;
            if (fw__colmap_money_like(r->map, t, len, &mf))
                return fw__reader_whole_error(
                    r, err, FW_EINVAL, line,
                    _("column %zu \"%s\" is a money column (%s) in a unit "
                      "fundwatch does not know (元, 千元, 万元 or 亿元)"),
                    c + 1, col->name, fw_fields[mf].name);
            note_unknown(r, col->name, len);
            continue;
        }
        if (col->field < 0)
            continue;
        if (fw_fields[col->field].type == FW_T_MONEY && !col->own_unit &&
            r->has_unit_line)
            col->unit = r->unit_line;
        if (seen[col->field] >= 0)
            return fw__reader_whole_error(
                r, err, FW_EINVAL, line,
                _("columns %d (%s) and %zu (%s) both map to %s"),
                seen[col->field] + 1, r->cols[seen[col->field]].name, c + 1,
                col->name, fw_fields[col->field].name);
        seen[col->field] = (int)c;
    }
    if (seen[FW_F_REGION] < 0)
        return fw__reader_whole_error(r, err, FW_EINVAL, line,
                                      _("the header has no %s column "
                                        "(region)"),
                                      fw_fields[FW_F_REGION].zh);
    r->have_header = true;
    return 0;
}

/* How many cells name a known field, and the column of the region. */
static int known_fields(const struct fw_reader *r,
                        const struct fw_cell *cells, size_t n, int *region)
{
    int known = 0;
    *region = -1;
    for (size_t c = 0; c < n; c++) {
        const char *s = cells[c].p;
        size_t len = cells[c].n;
        trim_cell(&s, &len);
        enum fw_unit u;
        int f = len ? fw__colmap_find(r->map, s, len, &u, NULL) : -1;
        if (f >= 0) {
            known++;
            if (f == FW_F_REGION && *region < 0)
                *region = (int)c;
        }
    }
    return known;
}

static char *copy_cell(const struct fw_cell *c)
{
    char *s = malloc(c->n + 1);
    if (s != NULL) {
        memcpy(s, c->p, c->n);
        s[c->n] = '\0';
    }
    return s;
}

void fw__table_free(struct fw_reader *r)
{
    for (size_t i = 0; i < r->nh; i++)
        free(r->hnames[i]);
    free(r->hnames);
    r->hnames = NULL;
    r->nh = 0;
}

/* The header row waiting is the header, alone. */
static int take_pending(struct fw_reader *r, struct fw_error *err)
{
    r->pending = false;
    int rc = take_header(r, r->hnames, r->nh, r->hline, err);
    fw__table_free(r);
    return rc;
}

/* Is the row below a header its second row (the sub-columns under a group
 * cell)? Its region cell is empty (merged down), it names a field, and
 * every text in it is a field's name or stands under a group cell. */
static bool second_row(struct fw_reader *r, const struct fw_cell *cells,
                       size_t n)
{
    int region = -1;
    if (known_fields(r, cells, n, &region) == 0 || region >= 0)
        return false;
    for (size_t c = 0; c < n; c++) {
        if (blank(&cells[c]))
            continue;
        const char *s = cells[c].p;
        size_t len = cells[c].n;
        trim_cell(&s, &len);
        enum fw_unit u;
        if (fw__colmap_find(r->map, s, len, &u, NULL) >= 0)
            continue;
        if (c < r->nh) {
            const char *h = r->hnames[c];
            size_t hl = strlen(h);
            trim_cell(&h, &hl);
            if (hl > 0 && fw__colmap_find(r->map, h, hl, &u, NULL) >= 0)
                return false; /* a value under a field's name: data */
        }
    }
    for (size_t c = 0; c < r->nh && c < n; c++) {
        /* the region column of the header must have nothing below */
        const char *h = r->hnames[c];
        size_t hl = strlen(h);
        enum fw_unit u;
        trim_cell(&h, &hl);
        if (hl > 0 && fw__colmap_find(r->map, h, hl, &u, NULL) ==
                          FW_F_REGION && !blank(&cells[c]))
            return false;
    }
    return true;
}

static int two_rows(struct fw_reader *r, const struct fw_cell *cells,
                    size_t n, struct fw_error *err)
{
    size_t w = n > r->nh ? n : r->nh;
    char **names = calloc(w ? w : 1, sizeof *names);
    if (names == NULL)
        return fw_error_set(err, FW_ENOMEM, NULL, "%s", _("out of memory"));
    int rc = 0;
    for (size_t c = 0; c < w && rc == 0; c++) {
        if (c < n && !blank(&cells[c]))
            names[c] = copy_cell(&cells[c]);
        else
            names[c] = strdup(c < r->nh ? r->hnames[c] : "");
        if (names[c] == NULL)
            rc = fw_error_set(err, FW_ENOMEM, NULL, "%s", _("out of memory"));
    }
    r->pending = false;
    r->st.header++; /* the second row */
    if (rc == 0)
        rc = take_header(r, names, w, r->hline, err);
    for (size_t c = 0; c < w; c++)
        free(names[c]);
    free(names);
    fw__table_free(r);
    return rc;
}

/* A row before the header: the header itself, or a title row. */
static int before_header(struct fw_reader *r, const struct fw_cell *cells,
                         size_t n, uint64_t line, struct fw_error *err)
{
    int region;
    int known = known_fields(r, cells, n, &region);
    if (r->first_line == 0) {
        r->first_line = line;
        size_t k = 0;
        for (size_t c = 0; c < n && k < 100; c++) {
            int w = snprintf(r->first_row + k, sizeof r->first_row - k,
                             "%s%.*s", c ? "," : "", (int)cells[c].n,
                             cells[c].p);
            if (w < 0 || (size_t)w >= sizeof r->first_row - k)
                break;
            k += (size_t)w;
        }
    }
    if (region >= 0 || known >= 2) {
        r->hnames = calloc(n ? n : 1, sizeof *r->hnames);
        if (r->hnames == NULL)
            return fw_error_set(err, FW_ENOMEM, NULL, "%s",
                                _("out of memory"));
        r->nh = n;
        for (size_t c = 0; c < n; c++)
            if ((r->hnames[c] = copy_cell(&cells[c])) == NULL)
                return fw_error_set(err, FW_ENOMEM, NULL, "%s",
                                    _("out of memory"));
        r->hline = line;
        if (region < 0) /* fields, but no region: the header, wrong */
            return take_pending(r, err);
        r->st.header++;
        r->pending = true;
        return 0;
    }
    if (known == 1 && r->fields_line == 0)
        r->fields_line = line;
    r->st.title++;
    for (size_t c = 0; c < n; c++) {
        enum fw_unit u;
        if (cells[c].kind == FW_CELL_TEXT && unit_in(cells[c].p, cells[c].n,
                                                     &u)) {
            r->unit_line = u;
            r->has_unit_line = true;
        }
    }
    if (r->st.title >= MAX_TITLE)
        return fw__table_finish(r, err);
    return 0;
}

int fw__table_row(struct fw_reader *r, const struct fw_cell *cells, size_t n,
                  uint64_t line, const char *bad, struct fw_error *err)
{
    bool empty = true;
    for (size_t c = 0; c < n && empty; c++)
        empty = blank(&cells[c]);
    if (empty && bad == NULL) {
        r->st.blank++;
        if (r->pending)
            return take_pending(r, err);
        return 0;
    }
    if (!r->have_header && !r->pending) {
        if (bad != NULL) { /* a broken row before the header: a title */
            r->st.title++;
            return 0;
        }
        return before_header(r, cells, n, line, err);
    }
    int rc;
    if (r->pending) {
        if (bad == NULL && second_row(r, cells, n))
            return two_rows(r, cells, n, err);
        if ((rc = take_pending(r, err)) < 0)
            return rc;
    }
    char label[16];
    int tk = bad == NULL ? total_kind(cells, n, label, sizeof label) : 0;
    if (tk > 0) {
        total_row(r, cells, n, line, tk, label);
        return 0;
    }
    fw__reader_rec_start(r, line);
    if (bad != NULL) {
        fw_buf_puts(&r->why, _(bad));
    } else if (r->strict_width && n != r->ncols) {
        fw_buf_printf(&r->why, _("%zu fields, but the header has %zu"), n,
                      r->ncols);
    } else {
        static const struct fw_cell none = {"", 0, FW_CELL_TEXT};
        r->fields_read = true;
        const struct col *cols = r->cols;
        size_t ncols = r->ncols;
        for (size_t c = 0; c < ncols; c++) {
            const struct fw_cell *cell = c < n ? &cells[c] : &none;
            const struct col *col = &cols[c];
            if (col->field >= 0 && cell->kind == FW_CELL_TEXT) {
                fw__reader_set_field(r, col->field, col->unit, col->name,
                                     col->name_len, cell->p, cell->n);
            } else if (col->field >= 0) {
                fw__reader_set_cell(r, col->field, col->unit, col->name,
                                    col->name_len, cell);
            } else if (col->name_len > 0) {
                if (fw__reader_add_extra(r, col->name, col->name_len, cell->p,
                                         cell->n) < 0)
                    return fw_error_set(err, FW_ENOMEM, NULL, "%s",
                                        _("out of memory"));
            }
        }
        for (size_t c = ncols; c < n; c++)
            if (!blank(&cells[c]))
                fw__reader_add_why(r, _("a column"), strlen(_("a column")),
                                   cells[c].p, cells[c].n,
                                   N_("a value right of the header's last "
                                      "column"));
    }
    return fw__reader_rec_finish(r);
}

int fw__table_finish(struct fw_reader *r, struct fw_error *err)
{
    if (r->pending)
        return take_pending(r, err);
    if (r->have_header)
        return 0;
    if (r->fields_line > 0)
        return fw__reader_whole_error(r, err, FW_EINVAL, r->fields_line,
                                      _("the header has no %s column "
                                        "(region)"),
                                      fw_fields[FW_F_REGION].zh);
    if (r->first_line > 0)
        return fw__reader_whole_error(
            r, err, FW_EINVAL, r->first_line,
            _("not a feed: no column of the header names a known field "
              "(header: %s)"),
            r->first_row);
    return fw__reader_whole_error(r, err, FW_EINVAL, 0, "%s",
                                  _("no header row: only blank lines"));
}

int fw_reader_row(struct fw_reader *r, const struct fw_cell *cells, size_t n,
                  uint64_t row, struct fw_error *err)
{
    if (r->failed)
        return fw_error_set(err, FW_ESTATE, NULL, "%s",
                            _("the reader already failed"));
    r->fmt = FW_FMT_SHEET;
    r->strict_width = false;
    r->st.lines++;
    r->phys = row;
    r->st.physical = row;
    int rc = fw__table_row(r, cells, n, row, NULL, err);
    if (rc < 0)
        r->failed = true;
    return rc;
}

/* ---- cell values ------------------------------------------------------- */

size_t fw_cell_number(const char *s, size_t n, char *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    char dig[400];
    size_t nd = 0;
    long point = 0; /* digits before the decimal point */
    bool seen_point = false, any = false;
    for (; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            any = true;
            if (nd == 0 && c == '0') { /* a leading zero */
                if (seen_point)
                    point--;
                continue;
            }
            if (nd < sizeof dig)
                dig[nd++] = c;
            else if (!seen_point)
                point++;
            if (!seen_point)
                point++;
        } else if (c == '.' && !seen_point) {
            seen_point = true;
        } else {
            break;
        }
    }
    if (!any)
        return 0;
    if (i < n) {
        if (s[i] != 'E' && s[i] != 'e')
            return 0;
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            eneg = s[i++] == '-';
        long e = 0;
        size_t start = i;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
        if (i == start || i != n)
            return 0;
        point += eneg ? -e : e;
    }
    if (nd == 0) {
        memcpy(out, "0", 2);
        return 1;
    }
    /* 15 significant digits, half away from zero */
    if (nd > 15) {
        bool up = dig[15] >= '5';
        nd = 15;
        for (size_t k = nd; up && k-- > 0;) {
            if (dig[k] == '9') {
                dig[k] = '0';
            } else {
                dig[k]++;
                up = false;
            }
        }
        if (up) { /* 999… became 1000… */
            memmove(dig + 1, dig, nd - 1);
            dig[0] = '1';
            point++;
        }
    }
    while (nd > 0 && dig[nd - 1] == '0' && (long)nd > point)
        nd--;
    if (point > 30 || point < -30)
        return 0;
    size_t k = 0;
    if (neg)
        out[k++] = '-';
    if (point <= 0) {
        out[k++] = '0';
        out[k++] = '.';
        for (long z = 0; z < -point; z++)
            out[k++] = '0';
        memcpy(out + k, dig, nd);
        k += nd;
    } else {
        for (long d = 0; d < point; d++)
            out[k++] = (size_t)d < nd ? dig[d] : '0';
        if ((long)nd > point) {
            out[k++] = '.';
            memcpy(out + k, dig + point, nd - (size_t)point);
            k += nd - (size_t)point;
        }
    }
    out[k] = '\0';
    return k;
}

int fw_cell_date(const char *s, size_t n, bool date1904, char *out,
                 const char **why)
{
    char num[48];
    size_t k = fw_cell_number(s, n, num);
    if (k == 0 || num[0] == '-') {
        *why = N_("not a date serial");
        return FW_EINVAL;
    }
    long serial = 0;
    for (size_t i = 0; i < k && num[i] != '.'; i++) {
        serial = serial * 10 + (num[i] - '0');
        if (serial > 2958465) {
            *why = N_("a date serial after 9999-12-31");
            return FW_EINVAL;
        }
    }
    int32_t day;
    if (date1904) {
        day = fw_date_from_ymd(1904, 1, 1) + (int32_t)serial;
    } else if (serial == 0) {
        *why = N_("date serial 0 (Excel's 1900-01-00) is no date");
        return FW_EINVAL;
    } else if (serial == 60) {
        *why = N_("1900-02-29, a day that never was (Excel's 1900 leap-year "
                  "bug)");
        return FW_EINVAL;
    } else if (serial < 60) {
        day = fw_date_from_ymd(1899, 12, 31) + (int32_t)serial;
    } else {
        day = fw_date_from_ymd(1899, 12, 30) + (int32_t)serial;
    }
    fw_date_format(day, out);
    return 0;
}
