/* The column mapping: header text → canonical field and the unit a money
 * column is written in, plus the feed's declared encoding. Starts from the
 * canonical names and the Chinese aliases of DESIGN.md; a site adds more. */
#include <stdlib.h>
#include <string.h>

#include "colmap.h"

struct alias {
    char *header;
    size_t len;
    enum fw_field field;
    enum fw_unit unit;
};

struct fw_colmap {
    struct alias *a;
    size_t n, cap;
    enum fw_encoding enc;
};

static int add(struct fw_colmap *m, const char *h, size_t len, enum fw_field f,
               enum fw_unit unit)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->a[i].len == len && memcmp(m->a[i].header, h, len) == 0) {
            m->a[i].field = f; /* a later alias wins */
            m->a[i].unit = unit;
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
    m->a[m->n++] = (struct alias){c, len, f, unit};
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

int fw_unit_parse(const char *s, size_t n, enum fw_unit *u)
{
    static const struct {
        const char *t;
        enum fw_unit u;
    } units[] = {
        {"元", FW_UNIT_YUAN}, {"yuan", FW_UNIT_YUAN},
        {"万元", FW_UNIT_WAN}, {"wan", FW_UNIT_WAN},
        {"亿元", FW_UNIT_YI}, {"yi", FW_UNIT_YI},
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
    return u == FW_UNIT_WAN ? "万元" : u == FW_UNIT_YI ? "亿元" : "元";
}

/* A header "指标金额(万元)" or "指标金额（万元）" names its unit; *base gets the
 * length without it. */
static bool unit_suffix(const char *h, size_t n, size_t *base,
                        enum fw_unit *u)
{
    static const char *const open[] = {"(", "（"};
    static const char *const close[] = {")", "）"};
    for (int c = 0; c < 2; c++) {
        size_t cl = strlen(close[c]);
        if (n < cl || memcmp(h + n - cl, close[c], cl) != 0)
            continue;
        for (int o = 0; o < 2; o++) {
            size_t ol = strlen(open[o]);
            for (size_t i = 0; i + ol + cl <= n; i++) {
                if (memcmp(h + i, open[o], ol) != 0)
                    continue;
                const char *in = h + i + ol;
                size_t in_n = n - i - ol - cl;
                if (fw_unit_parse(in, in_n, u) == 0) {
                    *base = i;
                    return true;
                }
            }
        }
    }
    return false;
}

int fw__colmap_lookup(const struct fw_colmap *m, const char *h, size_t n,
                      enum fw_unit *unit)
{
    trim(&h, &n);
    for (size_t i = m->n; i-- > 0;) {
        if (m->a[i].len == n && memcmp(m->a[i].header, h, n) == 0) {
            *unit = m->a[i].unit;
            return (int)m->a[i].field;
        }
    }
    size_t base;
    enum fw_unit u;
    if (unit_suffix(h, n, &base, &u)) {
        enum fw_unit ignored;
        const char *b = h;
        size_t bn = base;
        trim(&b, &bn);
        int f = bn > 0 ? fw__colmap_lookup(m, b, bn, &ignored) : -1;
        if (f >= 0 && fw_fields[f].type == FW_T_MONEY) {
            *unit = u;
            return f;
        }
    }
    return -1;
}
