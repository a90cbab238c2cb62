/* Feeds and column maps from files: reads the bytes, hands them to the
 * reader and the YAML parser in rules/, and turns their problems into
 * file:line messages. A feed's kind is told by its content, never by its
 * name: a zip is an .xlsx workbook (rules/xlsx.c), an OLE2 file an .xls
 * one (feeds/xls.c), anything else CSV or NDJSON. */
#include "feedio.h"

#include <zip.h>

#include "feeds/xls.h"
#include "fundwatch/i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fundwatch/value.h"

#define CHUNK (64u << 10)
#define MAX_MAP_BYTES (1u << 20)

static int read_small(const char *path, char **out, size_t *len,
                      struct fw_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fw_error_set(err, FW_EIO, path, "cannot open: %s",
                            strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        st.st_size > (off_t)MAX_MAP_BYTES) {
        int e = errno;
        close(fd);
        if (e && !S_ISREG(st.st_mode))
            return fw_error_set(err, FW_EIO, path, "cannot read: %s",
                                strerror(e));
        return fw_error_set(err, FW_EINVAL, path,
                            S_ISREG(st.st_mode) ? "larger than 1 MiB"
                                                : "not a regular file");
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return fw_error_set(err, FW_ENOMEM, path, "out of memory");
    }
    size_t n = 0;
    while (n < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* One alias of a field: "指标金额" or {name: "预算数(万元)", unit: 万元}. */
static void load_alias(struct fw_colmap *m, int field, const struct fw_value *a,
                       struct fw_diag *d)
{
    const struct fw_value *name = a, *unitv = NULL;
    if (a->type == FW_V_MAP) {
        name = fw_value_get(a, "name");
        unitv = fw_value_get(a, "unit");
        for (size_t i = 0; i < a->n; i++) {
            const char *k = a->keys[i]->text;
            if (strcmp(k, "name") != 0 && strcmp(k, "unit") != 0)
                fw_value_diag(d, a->keys[i],
                        "unknown key \"%s\" in a column (name, unit)", k);
        }
        if (name == NULL) {
            fw_value_diag(d, a, "a column needs a name");
            return;
        }
    }
    if (!fw_value_is_scalar(name) || name->type == FW_V_NULL) {
        fw_value_diag(d, name, "a column name must be text, not %s",
                fw_value_type_name(name->type));
        return;
    }
    enum fw_unit unit = FW_UNIT_YUAN;
    if (unitv != NULL &&
        (!fw_value_is_scalar(unitv) ||
         fw_unit_parse(unitv->text, unitv->len, &unit) < 0)) {
        fw_value_diag(d, unitv, "unknown unit \"%s\" (元, 千元, 万元 or 亿元)",
                unitv->text ? unitv->text : "");
        return;
    }
    struct fw_error err = {0};
    if (fw_colmap_alias(m, name->text, (enum fw_field)field, unit, &err) < 0)
        fw_value_diag(d, name, "%s", err.msg);
}

struct fw_colmap *fw_columns_load(const char *path, struct fw_diag *diag)
{
    struct fw_colmap *m = fw_colmap_new();
    if (m == NULL) {
        fw_diag_add(diag, NULL, "out of memory");
        return NULL;
    }
    if (path == NULL)
        return m;
    struct fw_error err = {0};
    char *buf = NULL;
    size_t len = 0;
    if (read_small(path, &buf, &len, &err) < 0) {
        fw_diag_add_error(diag, &err);
        fw_colmap_free(m);
        return NULL;
    }
    struct fw_value *root = fw_yaml_parse(path, buf, len, &err);
    free(buf);
    if (root == NULL) {
        fw_diag_add_error(diag, &err);
        fw_colmap_free(m);
        return NULL;
    }
    size_t before = diag->n;
    if (root->type != FW_V_MAP) {
        fw_value_diag(diag, root,
                "a column map is a map with encoding and columns, not %s",
                fw_value_type_name(root->type));
        goto out;
    }
    for (size_t i = 0; i < root->n; i++) {
        const struct fw_value *k = root->keys[i], *v = root->items[i];
        if (strcmp(k->text, "encoding") == 0) {
            const char *t = v->text ? v->text : "";
            if (!strcmp(t, "auto"))
                fw_colmap_set_encoding(m, FW_ENC_AUTO);
            else if (!strcasecmp(t, "utf-8") || !strcasecmp(t, "utf8"))
                fw_colmap_set_encoding(m, FW_ENC_UTF8);
            else if (!strcasecmp(t, "gb18030") || !strcasecmp(t, "gbk") ||
                     !strcasecmp(t, "gb2312"))
                fw_colmap_set_encoding(m, FW_ENC_GB18030);
            else
                fw_value_diag(diag, v,
                        "unknown encoding \"%s\" (auto, utf-8, gb18030 or "
                        "gbk)", t);
        } else if (strcmp(k->text, "sheet") == 0) {
            if (!fw_value_is_scalar(v) || v->type == FW_V_NULL)
                fw_value_diag(diag, v, "%s",
                              _("sheet is a sheet's name, its number or "
                                "all"));
            else if (fw_colmap_set_sheet(m, v->text) < 0)
                fw_value_diag(diag, v, "%s", _("out of memory"));
        } else if (strcmp(k->text, "max_unzipped") == 0) {
            char *end = NULL;
            unsigned long long mb =
                v->text ? strtoull(v->text, &end, 10) : 0;
            if (v->text == NULL || end == v->text || *end != '\0' ||
                mb == 0 || mb > (1ull << 20))
                fw_value_diag(diag, v, "%s",
                              _("max_unzipped is a number of MiB, 1 to "
                                "1048576"));
            else
                fw_colmap_set_max_unzipped(m, mb << 20);
        } else if (strcmp(k->text, "columns") == 0) {
            if (v->type != FW_V_MAP) {
                fw_value_diag(diag, v,
                        "columns is a map of field: [header names], not "
                        "%s", fw_value_type_name(v->type));
                continue;
            }
            for (size_t j = 0; j < v->n; j++) {
                const struct fw_value *fk = v->keys[j], *fv = v->items[j];
                int f = fw_field_by_name(fk->text, fk->len);
                if (f < 0) {
                    fw_value_diag(diag, fk,
                            "unknown field \"%s\" (the fields are those of "
                            "docs/feeds.md)", fk->text);
                    continue;
                }
                if (fv->type == FW_V_LIST) {
                    for (size_t a = 0; a < fv->n; a++)
                        load_alias(m, f, fv->items[a], diag);
                } else if (fv->type != FW_V_NULL) {
                    load_alias(m, f, fv, diag);
                }
            }
        } else {
            fw_value_diag(diag, k,
                    "unknown key \"%s\" (a column map has encoding, sheet, "
                    "max_unzipped and columns)", k->text);
        }
    }
out:
    fw_value_free(root);
    if (diag->n > before) {
        fw_colmap_free(m);
        return NULL;
    }
    return m;
}

/* ---- workbooks ---------------------------------------------------------- */

struct book {
    const struct fw_colmap *map;
    const struct fw_reader_cb *cb;
    void *ud;
    struct fw_reader_stats st;
};

static struct fw_reader *sheet_begin(void *ud, const char *label)
{
    struct book *b = ud;
    return fw_reader_new(b->map, label, FW_FMT_SHEET, b->cb, b->ud);
}

/* Adds a sheet's counts to the workbook's; the unrecognised columns of each
 * sheet are named once. */
static void add_stats(struct fw_reader_stats *t, const struct fw_reader_stats *s)
{
    t->lines += s->lines;
    t->physical += s->physical;
    t->records += s->records;
    t->rejects += s->rejects;
    t->header += s->header;
    t->blank += s->blank;
    t->title += s->title;
    t->totals += s->totals;
    t->totals_ok += s->totals_ok;
    t->totals_unchecked += s->totals_unchecked;
    t->problems += s->problems;
    if (s->unknown[0] && strstr(t->unknown, s->unknown) == NULL) {
        size_t have = strlen(t->unknown);
        snprintf(t->unknown + have, sizeof t->unknown - have, "%s%s",
                 have ? "; " : "", s->unknown);
    }
}

static int sheet_end(void *ud, struct fw_reader *rd, int rc,
                     struct fw_error *err)
{
    struct book *b = ud;
    if (rc == 0)
        rc = fw_reader_finish(rd, err);
    const struct fw_reader_stats *s = fw_reader_stats(rd);
    const char *want = fw_colmap_sheet(b->map);
    if (rc == FW_EINVAL && want != NULL && strcmp(want, "all") == 0 &&
        s->header == 0 && s->records + s->rejects == 0) {
        /* read whole, a workbook's cover or notes sheet is no feed */
        b->st.sheets_skipped++;
        fw_reader_free(rd);
        return 0;
    }
    add_stats(&b->st, s);
    fw_reader_free(rd);
    return rc;
}

/* What the first bytes say the feed is. */
enum kind { K_TEXT, K_XLSX, K_OLE2 };

static enum kind sniff(const unsigned char *p, size_t n)
{
    if (n >= 4 && memcmp(p, "PK\x03\x04", 4) == 0)
        return K_XLSX;
    if (n >= 8 && memcmp(p, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) == 0)
        return K_OLE2;
    return K_TEXT;
}

static int read_book(zip_source_t *src, zip_error_t *ze, const char *label,
                     uint64_t bytes, const struct fw_colmap *map,
                     const struct fw_reader_cb *cb, void *ud,
                     struct fw_reader_stats *st, struct fw_error *err)
{
    if (src == NULL) {
        int rc = fw_error_set(err, FW_EIO, label, _("cannot read: %s"),
                              zip_error_strerror(ze));
        zip_error_fini(ze);
        return rc;
    }
    zip_error_fini(ze);
    struct book b = {.map = map, .cb = cb, .ud = ud};
    int rc = fw_xlsx_read(src, label, map,
                          &(struct fw_book_cb){sheet_begin, sheet_end}, &b,
                          err);
    b.st.bytes = bytes;
    if (st != NULL)
        *st = b.st;
    return rc;
}

static int read_xls(const char *path, const char *label,
                    const struct fw_colmap *map,
                    const struct fw_reader_cb *cb, void *ud,
                    struct fw_reader_stats *st, struct fw_error *err)
{
    struct book b = {.map = map, .cb = cb, .ud = ud};
    int rc = fw_xls_read(path, label, map,
                         &(struct fw_book_cb){sheet_begin, sheet_end}, &b,
                         err);
    struct stat sb;
    b.st.bytes = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    if (st != NULL)
        *st = b.st;
    return rc;
}

/* ---- feeds -------------------------------------------------------------- */

static int finish(struct fw_reader *rd, int rc, struct fw_reader_stats *st,
                  struct fw_error *err)
{
    if (rc == 0)
        rc = fw_reader_finish(rd, err);
    if (st != NULL)
        *st = *fw_reader_stats(rd);
    fw_reader_free(rd);
    return rc;
}

int fw_feed_read_path(const char *path, const char *label,
                      const struct fw_colmap *map,
                      const struct fw_reader_cb *cb, void *ud,
                      struct fw_reader_stats *st, struct fw_error *err)
{
    if (label == NULL)
        label = path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fw_error_set(err, FW_EIO, label, "cannot open: %s",
                            strerror(errno));
    struct stat sb = {0};
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        close(fd);
        return fw_error_set(err, FW_EIO, label, "a folder, not a feed");
    }
    unsigned char magic[8];
    ssize_t got = pread(fd, magic, sizeof magic, 0);
    enum kind kind = sniff(magic, got > 0 ? (size_t)got : 0);
    if (kind == K_XLSX) {
        close(fd);
        zip_error_t ze;
        zip_error_init(&ze);
        zip_source_t *src = zip_source_file_create(path, 0, -1, &ze);
        return read_book(src, &ze, label, (uint64_t)sb.st_size, map, cb, ud,
                         st, err);
    }
    if (kind == K_OLE2) {
        close(fd);
        return read_xls(path, label, map, cb, ud, st, err);
    }
    struct fw_reader *rd = fw_reader_new(map, label, FW_FMT_AUTO, cb, ud);
    char *buf = malloc(CHUNK);
    if (rd == NULL || buf == NULL) {
        close(fd);
        free(buf);
        fw_reader_free(rd);
        return fw_error_set(err, FW_ENOMEM, label, "out of memory");
    }
    int rc = 0;
    for (;;) {
        ssize_t k = read(fd, buf, CHUNK);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = fw_error_set(err, FW_EIO, label, "cannot read: %s",
                              strerror(errno));
            break;
        }
        if (k == 0)
            break;
        if ((rc = fw_reader_push(rd, buf, (size_t)k, err)) != 0)
            break;
    }
    close(fd);
    free(buf);
    if (rc != 0) {
        if (st != NULL)
            *st = *fw_reader_stats(rd);
        fw_reader_free(rd);
        return rc;
    }
    return finish(rd, rc, st, err);
}

int fw_feed_read_mem(const char *data, size_t len, const char *label,
                     enum fw_format fmt, const struct fw_colmap *map,
                     const struct fw_reader_cb *cb, void *ud,
                     struct fw_reader_stats *st, struct fw_error *err)
{
    enum kind k = fmt == FW_FMT_AUTO
                      ? sniff((const unsigned char *)data, len)
                      : K_TEXT;
    if (k == K_XLSX) {
        zip_error_t ze;
        zip_error_init(&ze);
        zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
        return read_book(src, &ze, label, len, map, cb, ud, st, err);
    }
    if (k == K_OLE2) {
        struct book b = {.map = map, .cb = cb, .ud = ud};
        int rc = fw_xls_read_mem(data, len, label, map,
                                 &(struct fw_book_cb){sheet_begin, sheet_end},
                                 &b, err);
        b.st.bytes = len;
        if (st != NULL)
            *st = b.st;
        return rc;
    }
    struct fw_reader *rd = fw_reader_new(map, label, fmt, cb, ud);
    if (rd == NULL)
        return fw_error_set(err, FW_ENOMEM, label, "out of memory");
    /* in pieces: the reader keeps a partial line, not the whole input */
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0; off += CHUNK)
        rc = fw_reader_push(rd, data + off, len - off < CHUNK ? len - off : CHUNK,
                            err);
    if (rc != 0) {
        if (st != NULL)
            *st = *fw_reader_stats(rd);
        fw_reader_free(rd);
        return rc;
    }
    return finish(rd, rc, st, err);
}

void fw_feed_notes(FILE *out, const char *feed,
                   const struct fw_reader_stats *st)
{
    if (st->title > 0)
        fprintf(out, _("%s: %llu rows before the header (title, unit line) "
                       "skipped\n"),
                feed, (unsigned long long)st->title);
    if (st->totals > 0)
        fprintf(out, _("%s: %llu total rows (合计/小计), not records: %llu "
                       "agree with the rows above them, %llu disagree, %llu "
                       "not checked (a formula without a saved value)\n"),
                feed, (unsigned long long)st->totals,
                (unsigned long long)st->totals_ok,
                (unsigned long long)st->problems,
                (unsigned long long)st->totals_unchecked);
    if (st->unknown[0])
        fprintf(out, _("%s: unrecognised columns: %s\n"), feed, st->unknown);
    if (st->sheets_skipped > 0)
        fprintf(out, _("%s: %llu sheets without a header row skipped\n"),
                feed, (unsigned long long)st->sheets_skipped);
}
