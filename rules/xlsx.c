/* Excel workbooks (.xlsx, Office Open XML): the zip opened by libzip from a
 * source the caller made (a file or bytes), each part streamed through
 * expat. Only the shared strings and the date styles are held; a sheet's
 * rows go to a reader one by one. No I/O of its own, no binary float. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>
#include <zip.h>

#include "colmap.h"
#include "fundwatch/buf.h"
#include "fundwatch/i18n.h"
#include "fundwatch/reader.h"

#define CHUNK (64u << 10)
#define MAX_SHEET_COLS 16384 /* Excel's own: XFD */

struct sheet {
    char *name, *rid, *path;
};

struct book {
    zip_t *z;
    const char *name;
    uint64_t max;
    bool date1904;
    struct fw_error *err;
    int rc;

    /* shared strings: string i is ss.p[off[i] .. off[i + 1]) */
    struct fw_buf ss;
    size_t *off;
    size_t nss, cap_ss;

    /* cell styles: whether style i shows a date, or a percent */
    bool *xf_date, *xf_pct;
    size_t nxf, cap_xf, cap_pct;
    struct {
        unsigned id;
        bool date, pct;
    } *fmt;
    size_t nfmt, cap_fmt;

    struct sheet *sheets;
    size_t nsheets, cap_sheets;

    /* parsing state */
    XML_Parser xp;
    int depth_t;       /* collecting character data */
    bool in_si, in_rph, in_cellxfs, in_is, in_sheetdata;
    struct fw_buf text;

    /* a sheet's row */
    struct fw_reader *rd;
    uint64_t row;
    long col;
    char ctype[12];
    long cstyle;
    bool has_f, has_v;
    struct fw_buf rowtext;
    struct cellref {
        size_t off, n; /* in rowtext, or in ss when shared */
        bool shared;
        enum fw_cell_kind kind;
    } *cells;
    size_t ncells, cap_cells;
    struct fw_cell *out;
    size_t cap_out;
};

static const char *local(const char *name)
{
    const char *c = strrchr(name, ':');
    return c ? c + 1 : name;
}

static const char *attr(const char **a, const char *name)
{
    for (; a[0] != NULL; a += 2)
        if (strcmp(local(a[0]), name) == 0)
            return a[1];
    return NULL;
}

/* The r:id of a sheet: an attribute "r:id" (any prefix) named id. */
static const char *attr_rid(const char **a)
{
    for (; a[0] != NULL; a += 2)
        if (strchr(a[0], ':') && strcmp(local(a[0]), "id") == 0)
            return a[1];
    return NULL;
}

static int fail(struct book *b, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct book *b, int code, const char *fmt, ...)
{
    if (b->rc != 0)
        return b->rc;
    char msg[FW_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    b->rc = fw_error_set(b->err, code, b->name, "%s", msg);
    if (b->xp)
        XML_StopParser(b->xp, XML_FALSE);
    return b->rc;
}

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(p, c * size);
    if (q != NULL)
        *cap = c;
    return q;
}

#define GROW(b, arr, cap, need)                                              \
    do {                                                                     \
        void *q_ = grow((arr), &(cap), (need), sizeof *(arr));               \
        if (q_ == NULL) {                                                    \
            fail((b), FW_ENOMEM, "%s", _("out of memory"));                  \
            return;                                                          \
        }                                                                    \
        (arr) = q_;                                                          \
    } while (0)

static void XMLCALL chars(void *ud, const XML_Char *s, int len)
{
    struct book *b = ud;
    if (b->depth_t > 0 && !b->in_rph &&
        fw_buf_append(&b->text, s, (size_t)len) < 0)
        fail(b, FW_ENOMEM, "%s", _("out of memory"));
}

/* Streams one part of the zip through the parser set up by the caller. */
static int parse_part(struct book *b, const char *path, bool required)
{
    zip_int64_t idx = zip_name_locate(b->z, path, 0);
    if (idx < 0) {
        if (!required)
            return 0;
        return fail(b, FW_EINVAL, _("a zip file but not an Excel workbook: "
                                    "it has no %s"), path);
    }
    zip_file_t *f = zip_fopen_index(b->z, (zip_uint64_t)idx, 0);
    if (f == NULL) {
        zip_error_t *ze = zip_get_error(b->z);
        if (zip_error_code_zip(ze) == ZIP_ER_NOPASSWD ||
            zip_error_code_zip(ze) == ZIP_ER_WRONGPASSWD)
            return fail(b, FW_EINVAL, "%s",
                        _("an encrypted workbook: save it without a "
                          "password"));
        return fail(b, FW_EINVAL, _("a damaged workbook: %s: %s"), path,
                    zip_error_strerror(ze));
    }
    char *buf = malloc(CHUNK);
    if (buf == NULL) {
        zip_fclose(f);
        return fail(b, FW_ENOMEM, "%s", _("out of memory"));
    }
    uint64_t total = 0;
    for (;;) {
        zip_int64_t k = zip_fread(f, buf, CHUNK);
        if (k < 0) {
            fail(b, FW_EINVAL, _("a damaged workbook: %s: %s"), path,
                 zip_error_strerror(zip_file_get_error(f)));
            break;
        }
        total += (uint64_t)k;
        if (total > b->max) {
            fail(b, FW_ELIMIT,
                 _("%s unpacks to more than %llu bytes (a zip bomb?); "
                   "max_unzipped in the column map raises the limit"),
                 path, (unsigned long long)b->max);
            break;
        }
        if (XML_Parse(b->xp, buf, (int)k, k == 0) == XML_STATUS_ERROR) {
            if (b->rc == 0)
                fail(b, FW_EINVAL, _("a damaged workbook: %s:%lu: %s"), path,
                     (unsigned long)XML_GetCurrentLineNumber(b->xp),
                     XML_ErrorString(XML_GetErrorCode(b->xp)));
            break;
        }
        if (k == 0)
            break;
    }
    free(buf);
    zip_fclose(f);
    return b->rc;
}

static int new_parser(struct book *b, XML_StartElementHandler st,
                      XML_EndElementHandler en)
{
    if (b->xp)
        XML_ParserFree(b->xp);
    b->xp = XML_ParserCreate("UTF-8");
    if (b->xp == NULL)
        return fail(b, FW_ENOMEM, "%s", _("out of memory"));
    XML_SetUserData(b->xp, b);
    XML_SetElementHandler(b->xp, st, en);
    XML_SetCharacterDataHandler(b->xp, chars);
    b->depth_t = 0;
    fw_buf_reset(&b->text);
    return 0;
}

/* ---- workbook.xml and its relationships -------------------------------- */

static void XMLCALL wb_start(void *ud, const XML_Char *name,
                             const XML_Char **a)
{
    struct book *b = ud;
    const char *n = local(name);
    if (strcmp(n, "workbookPr") == 0) {
        const char *d = attr(a, "date1904");
        b->date1904 = d && (strcmp(d, "1") == 0 || strcmp(d, "true") == 0);
    } else if (strcmp(n, "sheet") == 0) {
        const char *sn = attr(a, "name"), *rid = attr_rid(a);
        if (sn == NULL || rid == NULL)
            return;
        GROW(b, b->sheets, b->cap_sheets, b->nsheets + 1);
        struct sheet *s = &b->sheets[b->nsheets];
        *s = (struct sheet){strdup(sn), strdup(rid), NULL};
        if (s->name == NULL || s->rid == NULL) {
            free(s->name);
            free(s->rid);
            fail(b, FW_ENOMEM, "%s", _("out of memory"));
            return;
        }
        b->nsheets++;
    }
}

static void XMLCALL no_end(void *ud, const XML_Char *name)
{
    (void)ud;
    (void)name;
}

static void XMLCALL rels_start(void *ud, const XML_Char *name,
                               const XML_Char **a)
{
    struct book *b = ud;
    if (strcmp(local(name), "Relationship") != 0)
        return;
    const char *id = attr(a, "Id"), *target = attr(a, "Target");
    if (id == NULL || target == NULL)
        return;
    for (size_t i = 0; i < b->nsheets; i++) {
        if (strcmp(b->sheets[i].rid, id) != 0 || b->sheets[i].path)
            continue;
        size_t n = strlen(target) + 4;
        char *p = malloc(n);
        if (p == NULL) {
            fail(b, FW_ENOMEM, "%s", _("out of memory"));
            return;
        }
        if (target[0] == '/')
            snprintf(p, n, "%s", target + 1);
        else
            snprintf(p, n, "xl/%s", target);
        b->sheets[i].path = p;
    }
}

/* ---- sharedStrings.xml ------------------------------------------------- */

static void XMLCALL ss_start(void *ud, const XML_Char *name,
                             const XML_Char **a)
{
    struct book *b = ud;
    const char *n = local(name);
    (void)a;
    if (strcmp(n, "si") == 0) {
        b->in_si = true;
        fw_buf_reset(&b->text);
    } else if (strcmp(n, "rPh") == 0) {
        b->in_rph = true; /* phonetic guide: not the text */
    } else if (strcmp(n, "t") == 0 && b->in_si) {
        b->depth_t++;
    }
}

static void XMLCALL ss_end(void *ud, const XML_Char *name)
{
    struct book *b = ud;
    const char *n = local(name);
    if (strcmp(n, "t") == 0 && b->depth_t > 0) {
        b->depth_t--;
    } else if (strcmp(n, "rPh") == 0) {
        b->in_rph = false;
    } else if (strcmp(n, "si") == 0 && b->in_si) {
        b->in_si = false;
        GROW(b, b->off, b->cap_ss, b->nss + 2);
        if (b->nss == 0)
            b->off[0] = 0;
        if (fw_buf_append(&b->ss, b->text.p ? b->text.p : "",
                          b->text.len) < 0) {
            fail(b, FW_ENOMEM, "%s", _("out of memory"));
            return;
        }
        b->off[++b->nss] = b->ss.len;
    }
}

/* ---- styles.xml: which cell styles show dates -------------------------- */

static bool builtin_date(unsigned id)
{
    return (id >= 14 && id <= 22) || (id >= 27 && id <= 36) ||
           (id >= 45 && id <= 47) || (id >= 50 && id <= 58);
}

/* A number format shows a percent when its first section has a % outside
 * quotes and escapes: the cell holds 0.35 for 35%. */
static bool format_is_pct(const char *f)
{
    for (const char *p = f; *p && *p != ';'; p++) {
        if (*p == '"') {
            p = strchr(p + 1, '"');
            if (p == NULL)
                return false;
        } else if (*p == '\\' && p[1]) {
            p++;
        } else if (*p == '%') {
            return true;
        }
    }
    return false;
}

/* A number format shows a date or time when its first section has y, m,
 * d, h or s outside quotes, escapes and [colour] or [$-804] brackets. */
static bool format_is_date(const char *f)
{
    for (const char *p = f; *p && *p != ';'; p++) {
        switch (*p) {
        case '"':
            p = strchr(p + 1, '"');
            if (p == NULL)
                return false;
            break;
        case '\\':
        case '_':
        case '*':
            if (p[1])
                p++;
            break;
        case '[':
            p = strchr(p, ']');
            if (p == NULL)
                return false;
            break;
        case 'y': case 'Y': case 'm': case 'M': case 'd': case 'D':
        case 'h': case 'H': case 's': case 'S':
            return true;
        default:
            break;
        }
    }
    return false;
}

static void XMLCALL st_start(void *ud, const XML_Char *name,
                             const XML_Char **a)
{
    struct book *b = ud;
    const char *n = local(name);
    if (strcmp(n, "numFmt") == 0) {
        const char *id = attr(a, "numFmtId"), *code = attr(a, "formatCode");
        if (id == NULL || code == NULL)
            return;
        GROW(b, b->fmt, b->cap_fmt, b->nfmt + 1);
        b->fmt[b->nfmt].id = (unsigned)strtoul(id, NULL, 10);
        b->fmt[b->nfmt].date = format_is_date(code);
        b->fmt[b->nfmt].pct = format_is_pct(code);
        b->nfmt++;
    } else if (strcmp(n, "cellXfs") == 0) {
        b->in_cellxfs = true;
    } else if (strcmp(n, "xf") == 0 && b->in_cellxfs) {
        const char *id = attr(a, "numFmtId");
        unsigned v = id ? (unsigned)strtoul(id, NULL, 10) : 0;
        bool date = builtin_date(v), pct = v == 9 || v == 10;
        for (size_t i = 0; i < b->nfmt; i++) {
            if (b->fmt[i].id == v) {
                date = b->fmt[i].date;
                pct = b->fmt[i].pct;
            }
        }
        GROW(b, b->xf_date, b->cap_xf, b->nxf + 1);
        GROW(b, b->xf_pct, b->cap_pct, b->nxf + 1);
        b->xf_pct[b->nxf] = pct && !date;
        b->xf_date[b->nxf++] = date;
    }
}

static void XMLCALL st_end(void *ud, const XML_Char *name)
{
    struct book *b = ud;
    if (strcmp(local(name), "cellXfs") == 0)
        b->in_cellxfs = false;
}

/* ---- a worksheet ------------------------------------------------------- */

/* "BC12" → column 54 (0-based) - 1 = 54; -1 when not a reference. */
static long ref_col(const char *r)
{
    long c = 0;
    size_t i = 0;
    for (; r[i] >= 'A' && r[i] <= 'Z'; i++) {
        c = c * 26 + (r[i] - 'A' + 1);
        if (c > MAX_SHEET_COLS)
            return -1;
    }
    return i > 0 ? c - 1 : -1;
}

static void XMLCALL sh_start(void *ud, const XML_Char *name,
                             const XML_Char **a)
{
    struct book *b = ud;
    if (b->rc != 0)
        return;
    if (name[0] == 'v' && name[1] == '\0' && b->in_sheetdata) {
        b->has_v = true; /* the most frequent element, first */
        b->depth_t++;
        return;
    }
    const char *n = local(name);
    if (strcmp(n, "sheetData") == 0) {
        b->in_sheetdata = true;
    } else if (!b->in_sheetdata) {
        return;
    } else if (strcmp(n, "row") == 0) {
        const char *r = attr(a, "r");
        b->row = r ? strtoull(r, NULL, 10) : b->row + 1;
        b->ncells = 0;
        b->col = -1;
        fw_buf_reset(&b->rowtext);
    } else if (strcmp(n, "c") == 0) {
        const char *r = attr(a, "r"), *t = attr(a, "t"), *s = attr(a, "s");
        long c = r ? ref_col(r) : b->col + 1;
        b->col = c < 0 ? b->col + 1 : c;
        size_t tl = t ? strnlen(t, sizeof b->ctype - 1) : 1;
        memcpy(b->ctype, t ? t : "n", tl);
        b->ctype[tl] = '\0';
        b->cstyle = s ? strtol(s, NULL, 10) : 0;
        b->has_f = b->has_v = false;
        fw_buf_reset(&b->text);
    } else if (strcmp(n, "v") == 0) {
        b->has_v = true;
        b->depth_t++;
    } else if (strcmp(n, "f") == 0) {
        b->has_f = true;
    } else if (strcmp(n, "is") == 0) {
        b->in_is = true;
        b->has_v = true;
    } else if (strcmp(n, "rPh") == 0) {
        b->in_rph = true;
    } else if (strcmp(n, "t") == 0 && b->in_is) {
        b->depth_t++;
    }
}

/* The cell just closed, into the row. */
static void end_cell(struct book *b)
{
    if (b->col >= MAX_SHEET_COLS)
        return;
    const char *t = b->ctype;
    const char *v = b->text.p ? b->text.p : "";
    size_t vn = b->text.len;
    struct cellref c = {0, 0, false, FW_CELL_TEXT};
    char num[64];
    const char *put = v;
    size_t putn = vn;
    if (!b->has_v || (b->has_f && vn == 0 && strcmp(t, "str") != 0)) {
        if (!b->has_f)
            return; /* an empty cell with a style */
        c.kind = FW_CELL_NOVALUE;
        put = "";
        putn = 0;
    } else if (strcmp(t, "s") == 0) {
        unsigned long i = strtoul(v, NULL, 10);
        if (i >= b->nss) {
            fail(b, FW_EINVAL, _("a damaged workbook: row %llu refers to "
                                 "shared string %lu of %zu"),
                 (unsigned long long)b->row, i, b->nss);
            return;
        }
        c.shared = true;
        c.off = b->off[i];
        c.n = b->off[i + 1] - b->off[i];
    } else if (strcmp(t, "b") == 0) {
        c.kind = FW_CELL_BOOL;
        put = vn == 1 && v[0] == '1' ? "true" : "false";
        putn = strlen(put);
    } else if (strcmp(t, "e") == 0) {
        c.kind = FW_CELL_ERROR;
    } else if (strcmp(t, "d") == 0) {
        c.kind = FW_CELL_DATE; /* ISO 8601: the date part */
        putn = vn > 10 ? 10 : vn;
    } else if (strcmp(t, "str") == 0 || strcmp(t, "inlineStr") == 0) {
        /* text as it is */
    } else if ((size_t)b->cstyle < b->nxf && b->cstyle >= 0 &&
               b->xf_date[b->cstyle]) {
        const char *why;
        if (fw_cell_date(v, vn, b->date1904, num, &why) == 0) {
            c.kind = FW_CELL_DATE;
            put = num;
            putn = 10;
        } else {
            c.kind = FW_CELL_BADDATE;
            put = _(why);
            putn = strlen(put);
        }
    } else {
        /* a percent cell holds the fraction: 0.35 shows as 35% */
        char shifted[80];
        bool pct = (size_t)b->cstyle < b->nxf && b->cstyle >= 0 &&
                   b->xf_pct[b->cstyle] && vn + 3 < sizeof shifted &&
                   memchr(v, 'E', vn) == NULL && memchr(v, 'e', vn) == NULL;
        if (pct) {
            memcpy(shifted, v, vn);
            memcpy(shifted + vn, "E2", 3);
        }
        size_t k = pct ? fw_cell_number(shifted, vn + 2, num)
                       : fw_cell_number(v, vn, num);
        if (k > 0 && pct && k + 1 < sizeof num) {
            num[k++] = '%';
            num[k] = '\0';
        }
        if (k > 0) {
            c.kind = FW_CELL_NUMBER;
            put = num;
            putn = k;
        }
    }
    if (!c.shared) {
        c.off = b->rowtext.len;
        c.n = putn;
        if (fw_buf_append(&b->rowtext, put, putn) < 0) {
            fail(b, FW_ENOMEM, "%s", _("out of memory"));
            return;
        }
    }
    GROW(b, b->cells, b->cap_cells, (size_t)b->col + 1);
    while (b->ncells < (size_t)b->col)
        b->cells[b->ncells++] = (struct cellref){0, 0, true, FW_CELL_TEXT};
    if (b->ncells == (size_t)b->col)
        b->ncells++;
    b->cells[b->col] = c;
}

static void end_row(struct book *b)
{
    GROW(b, b->out, b->cap_out, b->ncells + 1);
    for (size_t i = 0; i < b->ncells; i++) {
        const struct cellref *c = &b->cells[i];
        const char *base = c->shared ? b->ss.p : b->rowtext.p;
        b->out[i] = (struct fw_cell){base ? base + c->off : "", c->n,
                                     c->kind};
    }
    int rc = fw_reader_row(b->rd, b->out, b->ncells, b->row, b->err);
    if (rc != 0) {
        b->rc = rc;
        XML_StopParser(b->xp, XML_FALSE);
    }
}

static void XMLCALL sh_end(void *ud, const XML_Char *name)
{
    struct book *b = ud;
    if (b->rc != 0)
        return;
    if (name[1] == '\0' && b->in_sheetdata) { /* v and c, the most frequent */
        if (name[0] == 'v') {
            if (b->depth_t > 0)
                b->depth_t--;
            return;
        }
        if (name[0] == 'c') {
            end_cell(b);
            return;
        }
    }
    const char *n = local(name);
    if (strcmp(n, "sheetData") == 0) {
        b->in_sheetdata = false;
    } else if (!b->in_sheetdata) {
        return;
    } else if (strcmp(n, "v") == 0 || (strcmp(n, "t") == 0 && b->in_is)) {
        if (b->depth_t > 0)
            b->depth_t--;
    } else if (strcmp(n, "rPh") == 0) {
        b->in_rph = false;
    } else if (strcmp(n, "is") == 0) {
        b->in_is = false;
    } else if (strcmp(n, "c") == 0) {
        end_cell(b);
    } else if (strcmp(n, "row") == 0) {
        end_row(b);
    }
}

/* ---- the workbook ------------------------------------------------------ */

static void book_fini(struct book *b)
{
    if (b->xp)
        XML_ParserFree(b->xp);
    if (b->z)
        zip_discard(b->z);
    fw_buf_fini(&b->ss);
    fw_buf_fini(&b->text);
    fw_buf_fini(&b->rowtext);
    free(b->off);
    free(b->xf_date);
    free(b->xf_pct);
    free(b->fmt);
    for (size_t i = 0; i < b->nsheets; i++) {
        free(b->sheets[i].name);
        free(b->sheets[i].rid);
        free(b->sheets[i].path);
    }
    free(b->sheets);
    free(b->cells);
    free(b->out);
}

/* Which sheets the map asks for: [*from, *to). */
static int choose(struct book *b, const char *want, size_t *from, size_t *to)
{
    *from = 0;
    *to = b->nsheets ? 1 : 0;
    if (b->nsheets == 0)
        return fail(b, FW_EINVAL, "%s", _("a workbook without sheets"));
    if (want == NULL || *want == '\0')
        return 0;
    if (strcmp(want, "all") == 0) {
        *to = b->nsheets;
        return 0;
    }
    for (size_t i = 0; i < b->nsheets; i++) {
        if (strcmp(b->sheets[i].name, want) == 0) {
            *from = i;
            *to = i + 1;
            return 0;
        }
    }
    char *end;
    unsigned long k = strtoul(want, &end, 10);
    if (*end == '\0' && k >= 1 && k <= b->nsheets) {
        *from = k - 1;
        *to = k;
        return 0;
    }
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < b->nsheets && used + 8 < sizeof list; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s",
                         i ? ", " : "", b->sheets[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return fail(b, FW_EINVAL,
                _("no sheet \"%s\" in the workbook (its sheets: %s)"), want,
                list);
}

int fw_xlsx_read(struct zip_source *src, const char *name,
                 const struct fw_colmap *map, const struct fw_book_cb *cb,
                 void *ud, struct fw_error *err)
{
    struct book b = {.name = name, .err = err,
                     .max = fw_colmap_max_unzipped(map)};
    fw_buf_init(&b.ss);
    fw_buf_init(&b.text);
    fw_buf_init(&b.rowtext);
    zip_error_t ze;
    zip_error_init(&ze);
    b.z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (b.z == NULL) {
        zip_source_free(src);
        int rc = fw_error_set(err, FW_EINVAL, name,
                              _("not a readable workbook: %s (a damaged "
                                ".xlsx?)"),
                              zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    zip_error_fini(&ze);
    int rc = 0;
    if (new_parser(&b, wb_start, no_end) < 0 ||
        parse_part(&b, "xl/workbook.xml", true) < 0 ||
        new_parser(&b, rels_start, no_end) < 0 ||
        parse_part(&b, "xl/_rels/workbook.xml.rels", true) < 0 ||
        new_parser(&b, ss_start, ss_end) < 0 ||
        parse_part(&b, "xl/sharedStrings.xml", false) < 0 ||
        new_parser(&b, st_start, st_end) < 0 ||
        parse_part(&b, "xl/styles.xml", false) < 0) {
        rc = b.rc;
        goto out;
    }
    size_t from, to;
    if ((rc = choose(&b, fw_colmap_sheet(map), &from, &to)) < 0)
        goto out;
    for (size_t i = from; i < to && rc == 0; i++) {
        struct sheet *s = &b.sheets[i];
        if (s->path == NULL || strstr(s->path, "worksheets/") == NULL) {
            if (to - from > 1)
                continue; /* a chart sheet among all */
            rc = fail(&b, FW_EINVAL, _("sheet \"%s\" is not a worksheet"),
                      s->name);
            break;
        }
        char label[FW_PLACE_MAX];
        snprintf(label, sizeof label, "%s:%s", name, s->name);
        b.rd = cb->sheet_begin(ud, label);
        if (b.rd == NULL) {
            rc = fail(&b, FW_ENOMEM, "%s", _("out of memory"));
            break;
        }
        b.row = 0;
        b.in_sheetdata = b.in_is = b.in_rph = false;
        if (new_parser(&b, sh_start, sh_end) == 0)
            parse_part(&b, s->path, true);
        rc = b.rc;
        if (rc < 0 && err->place[0] == '\0')
            snprintf(err->place, sizeof err->place, "%s", label);
        rc = cb->sheet_end(ud, b.rd, rc, err);
        b.rd = NULL;
        b.rc = 0;
    }
out:
    book_fini(&b);
    return rc;
}
