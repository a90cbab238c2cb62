/* The column mapping: header text → canonical field and the unit a money
 * column is written in, plus the feed's declared encoding and the sheet of
 * a workbook to read. Starts from the canonical names and the Chinese
 * aliases of DESIGN.md; a site adds more. Also says which alias an unknown
 * header is close to ("did you mean"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colmap.h"

struct alias {
    char *header;
    size_t len;
    enum fw_field field;
    enum fw_unit unit;
    bool own_unit; /* the alias names its unit: a unit line does not apply */
};

struct fw_colmap {
    struct alias *a;
    size_t n, cap;
    enum fw_encoding enc;
    char *sheet;
    uint64_t max_unzipped;
};

static int add(struct fw_colmap *m, const char *h, size_t len, enum fw_field f,
               enum fw_unit unit)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->a[i].len == len && memcmp(m->a[i].header, h, len) == 0) {
            m->a[i].field = f; /* a later alias wins */
            m->a[i].unit = unit;
            m->a[i].own_unit = unit != FW_UNIT_YUAN;
            return 0;
        }
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct alias *a = realloc(m->a, cap * sizeof *a);
        if (a == NULL)
            return FW_ENOMEM;
        m->a = a;
        m->cap = cap;
    }
    char *c = malloc(len + 1);
    if (c == NULL)
        return FW_ENOMEM;
    memcpy(c, h, len);
    c[len] = '\0';
    m->a[m->n++] = (struct alias){c, len, f, unit, unit != FW_UNIT_YUAN};
    return 0;
}

struct fw_colmap *fw_colmap_new(void)
{
    struct fw_colmap *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    for (int f = 0; f < FW__F_COUNT; f++) {
        const char *n = fw_fields[f].name, *zh = fw_fields[f].zh;
        if (add(m, n, strlen(n), (enum fw_field)f, FW_UNIT_YUAN) < 0 ||
            add(m, zh, strlen(zh), (enum fw_field)f, FW_UNIT_YUAN) < 0) {
            fw_colmap_free(m);
            return NULL;
        }
    }
    return m;
}

void fw_colmap_free(struct fw_colmap *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++)
        free(m->a[i].header);
    free(m->a);
    free(m->sheet);
    free(m);
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

int fw_colmap_alias(struct fw_colmap *m, const char *header, enum fw_field f,
                    enum fw_unit unit, struct fw_error *err)
{
    const char *h = header;
    size_t n = strlen(header);
    trim(&h, &n);
    if (n == 0)
        return fw_error_set(err, FW_EINVAL, NULL, "an empty column name");
    if ((unsigned)f >= FW__F_COUNT)
        return fw_error_set(err, FW_EINVAL, NULL, "no such field");
    if (unit != FW_UNIT_YUAN && fw_fields[f].type != FW_T_MONEY)
        return fw_error_set(err, FW_EINVAL, NULL,
                            "a unit is only for money columns, not %s",
                            fw_fields[f].name);
    if (add(m, h, n, f, unit) < 0)
        return fw_error_set(err, FW_ENOMEM, NULL, "out of memory");
    return 0;
}

void fw_colmap_set_encoding(struct fw_colmap *m, enum fw_encoding enc)
{
    m->enc = enc;
}

enum fw_encoding fw__colmap_encoding(const struct fw_colmap *m)
{
    return m->enc;
}

int fw_colmap_set_sheet(struct fw_colmap *m, const char *sheet)
{
    char *c = NULL;
    if (sheet != NULL && (c = strdup(sheet)) == NULL)
        return FW_ENOMEM;
    free(m->sheet);
    m->sheet = c;
    return 0;
}

const char *fw_colmap_sheet(const struct fw_colmap *m)
{
    return m->sheet;
}

void fw_colmap_set_max_unzipped(struct fw_colmap *m, uint64_t bytes)
{
    m->max_unzipped = bytes;
}

uint64_t fw_colmap_max_unzipped(const struct fw_colmap *m)
{
    return m->max_unzipped ? m->max_unzipped : FW_BOOK_MAX_UNZIPPED;
}

int fw_unit_parse(const char *s, size_t n, enum fw_unit *u)
{
    static const struct {
        const char *t;
        enum fw_unit u;
    } units[] = {
        {"元", FW_UNIT_YUAN},   {"yuan", FW_UNIT_YUAN},
        {"千元", FW_UNIT_QIAN}, {"qian", FW_UNIT_QIAN},
        {"万元", FW_UNIT_WAN},  {"wan", FW_UNIT_WAN},
        {"亿元", FW_UNIT_YI},   {"yi", FW_UNIT_YI},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strlen(units[i].t) == n && memcmp(units[i].t, s, n) == 0) {
            *u = units[i].u;
            return 0;
        }
    }
    return FW_EINVAL;
}

const char *fw_unit_name(enum fw_unit u)
{
    return u == FW_UNIT_WAN    ? "万元"
           : u == FW_UNIT_YI   ? "亿元"
           : u == FW_UNIT_QIAN ? "千元"
                               : "元";
}

static bool ends_with(const char *h, size_t n, const char *t, size_t *at)
{
    size_t k = strlen(t);
    if (n < k || memcmp(h + n - k, t, k) != 0)
        return false;
    *at = n - k;
    return true;
}

static bool starts_with(const char *h, size_t n, const char *t, size_t *len)
{
    size_t k = strlen(t);
    if (n < k || memcmp(h, t, k) != 0)
        return false;
    *len = k;
    return true;
}

/* Spaces, ASCII and the ideographic U+3000, at either end. */
static void trim_all(const char **s, size_t *n)
{
    for (;;) {
        trim(s, n);
        size_t k;
        if (*n >= 3 && memcmp(*s, "\xE3\x80\x80", 3) == 0) {
            *s += 3;
            *n -= 3;
        } else if (ends_with(*s, *n, "\xE3\x80\x80", &k)) {
            *n = k;
        } else {
            return;
        }
    }
}

/* Splits a header into its name and the unit it spells: "指标金额(万元)",
 * "指标金额（单位：万元）", "指标金额/万元", "指标金额 万元", "指标金额万元".
 * *ut and *un get the unit text, whether or not it is a known unit; *base
 * the length of the name. True when a unit part was found. */
static bool split_unit(const char *h, size_t n, size_t *base,
                       const char **ut, size_t *un)
{
    static const char *const close[] = {")", "）"};
    static const char *const open[] = {"(", "（"};
    size_t at;
    for (int c = 0; c < 2; c++) {
        if (!ends_with(h, n, close[c], &at))
            continue;
        /* the last opening parenthesis */
        for (size_t i = at; i-- > 0;) {
            for (int o = 0; o < 2; o++) {
                size_t ol = strlen(open[o]);
                if (i + ol > at || memcmp(h + i, open[o], ol) != 0)
                    continue;
                const char *in = h + i + ol;
                size_t in_n = at - i - ol, k;
                trim_all(&in, &in_n);
                if (starts_with(in, in_n, "金额单位", &k) ||
                    starts_with(in, in_n, "单位", &k)) {
                    in += k;
                    in_n -= k;
                    if (starts_with(in, in_n, "：", &k) ||
                        starts_with(in, in_n, ":", &k)) {
                        in += k;
                        in_n -= k;
                    }
                    trim_all(&in, &in_n);
                }
                *base = i;
                *ut = in;
                *un = in_n;
                return true;
            }
        }
        return false;
    }
    static const char *const seps[] = {"/", "／", " ", "\xE3\x80\x80"};
    for (size_t i = n; i-- > 0;) {
        for (int k = 0; k < 4; k++) {
            size_t sl = strlen(seps[k]);
            if (i + sl > n || memcmp(h + i, seps[k], sl) != 0)
                continue;
            const char *in = h + i + sl;
            size_t in_n = n - i - sl;
            trim_all(&in, &in_n);
            if (in_n == 0)
                continue;
            *base = i;
            *ut = in;
            *un = in_n;
            return true;
        }
    }
    /* "指标金额万元": a known unit written right after the name */
    static const char *const units[] = {"千元", "万元", "亿元"};
    for (int k = 0; k < 3; k++) {
        if (ends_with(h, n, units[k], &at) && at > 0) {
            *base = at;
            *ut = h + at;
            *un = n - at;
            return true;
        }
    }
    return false;
}

static int exact(const struct fw_colmap *m, const char *h, size_t n,
                 enum fw_unit *unit, bool *own)
{
    for (size_t i = m->n; i-- > 0;) {
        if (m->a[i].len == n && memcmp(m->a[i].header, h, n) == 0) {
            *unit = m->a[i].unit;
            *own = m->a[i].own_unit;
            return (int)m->a[i].field;
        }
    }
    return -1;
}

int fw__colmap_find(const struct fw_colmap *m, const char *h, size_t n,
                    enum fw_unit *unit, bool *own_unit)
{
    bool own_dummy;
    if (own_unit == NULL)
        own_unit = &own_dummy;
    trim_all(&h, &n);
    int f = exact(m, h, n, unit, own_unit);
    if (f >= 0)
        return f;
    size_t base;
    const char *ut;
    size_t un;
    enum fw_unit u;
    if (split_unit(h, n, &base, &ut, &un) && fw_unit_parse(ut, un, &u) == 0) {
        enum fw_unit ignored;
        bool o;
        const char *b = h;
        size_t bn = base;
        trim_all(&b, &bn);
        f = bn > 0 ? exact(m, b, bn, &ignored, &o) : -1;
        if (f >= 0 && fw_fields[f].type == FW_T_MONEY) {
            *unit = u;
            *own_unit = true;
            return f;
        }
    }
    return -1;
}

int fw__colmap_lookup(const struct fw_colmap *m, const char *h, size_t n,
                      enum fw_unit *unit)
{
    return fw__colmap_find(m, h, n, unit, NULL);
}

int fw__colmap_money_like(const struct fw_colmap *m, const char *h, size_t n,
                          int *field)
{
    trim_all(&h, &n);
    size_t base, un, at;
    const char *ut;
    enum fw_unit u, ignored;
    bool o;
    if (!split_unit(h, n, &base, &ut, &un) || fw_unit_parse(ut, un, &u) == 0)
        return 0;
    /* a unit: it names 元 (美元, 百万元) or was written as 单位：... */
    if (!ends_with(ut, un, "元", &at) && memmem(h + base, n - base, "单位",
                                                strlen("单位")) == NULL)
        return 0;
    const char *b = h;
    size_t bn = base;
    trim_all(&b, &bn);
    int f = bn > 0 ? exact(m, b, bn, &ignored, &o) : -1;
    if (f < 0 || fw_fields[f].type != FW_T_MONEY)
        return 0;
    *field = f;
    return 1;
}

/* The code points of UTF-8 text, at most cap. */
static size_t code_points(const char *s, size_t n, uint32_t *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < cap;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        uint32_t cp = len == 1 ? c : c & (0x3Fu >> (len - 1));
        for (size_t j = 1; j < len && i + j < n; j++)
            cp = (cp << 6) | ((unsigned char)s[i + j] & 0x3Fu);
        out[k++] = cp;
        i += len;
    }
    return k;
}

/* Levenshtein distance over code points (both at most 32). */
static size_t distance(const uint32_t *a, size_t an, const uint32_t *b,
                       size_t bn)
{
    size_t row[33];
    for (size_t j = 0; j <= bn; j++)
        row[j] = j;
    for (size_t i = 1; i <= an; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= bn; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[bn];
}

size_t fw__colmap_suggest(const struct fw_colmap *m, const char *h, size_t n,
                          char *out, size_t cap)
{
    trim_all(&h, &n);
    out[0] = '\0';
    size_t base, un;
    const char *ut;
    const char *name = h;
    size_t name_n = n;
    char unit_text[64] = "";
    if (split_unit(h, n, &base, &ut, &un) && un < sizeof unit_text) {
        name_n = base;
        trim_all(&name, &name_n);
        memcpy(unit_text, ut, un);
        unit_text[un] = '\0';
    }
    uint32_t a[32], b[32];
    size_t an = code_points(name, name_n, a, 32);
    size_t best = (size_t)-1, which = 0;
    for (size_t i = 0; i < m->n; i++) {
        size_t bn = code_points(m->a[i].header, m->a[i].len, b, 32);
        size_t d = distance(a, an, b, bn);
        if (d < best) {
            best = d;
            which = i;
        }
    }
    size_t limit = an <= 2 ? 0 : an <= 5 ? 1 : 2;
    if (m->n == 0 || best > limit)
        return 0;
    const struct alias *al = &m->a[which];
    enum fw_unit u;
    int k;
    if (unit_text[0] && fw_fields[al->field].type == FW_T_MONEY &&
        fw_unit_parse(unit_text, strlen(unit_text), &u) == 0)
        k = snprintf(out, cap, "%s with unit %s", al->header, unit_text);
    else
        k = snprintf(out, cap, "%s", al->header);
    return k < 0 ? 0 : (size_t)k < cap ? (size_t)k : cap - 1;
}
