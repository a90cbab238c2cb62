/* Feeds and column maps from files: reads the bytes, hands them to the
 * reader and the YAML parser in rules/, and turns their problems into
 * file:line messages. */
#include "feedio.h"

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
        fw_value_diag(d, unitv, "unknown unit \"%s\" (元, 万元 or 亿元)",
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
                    "unknown key \"%s\" (a column map has encoding and "
                    "columns)", k->text);
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
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        close(fd);
        return fw_error_set(err, FW_EIO, label, "a folder, not a feed");
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
