/* .xls workbooks through libfreexl: cells into the reader's rows. A number
 * is a binary double in the file; it is turned into text once, at 17
 * digits, and from there rounded to Excel's 15 as an .xlsx number is. */
#include "feeds/xls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <freexl.h>

#include "fundwatch/buf.h"
#include "fundwatch/i18n.h"

/* An OLE2 file freexl cannot open may be an .xlsx with a password: Office
 * keeps those in a compound file with an EncryptedPackage stream. */
static bool encrypted_xlsx(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    static const char name[] = "E\0n\0c\0r\0y\0p\0t\0e\0d\0P\0a\0c\0k\0a\0g\0e";
    char buf[8192];
    bool found = false;
    size_t n;
    while (!found && (n = fread(buf, 1, sizeof buf, f)) > 0)
        found = memmem(buf, n, name, sizeof name - 1) != NULL;
    fclose(f);
    return found;
}

static int sheet(const void *h, unsigned idx, const char *label,
                 const struct fw_book_cb *cb, void *ud, struct fw_error *err)
{
    const char *name = NULL;
    freexl_get_worksheet_name(h, (unsigned short)idx, &name);
    char full[FW_PLACE_MAX];
    snprintf(full, sizeof full, "%s:%s", label, name ? name : "?");
    struct fw_reader *rd = cb->sheet_begin(ud, full);
    if (rd == NULL)
        return fw_error_set(err, FW_ENOMEM, label, "%s", _("out of memory"));
    unsigned rows = 0;
    unsigned short cols = 0;
    int rc = 0;
    if (freexl_select_active_worksheet(h, (unsigned short)idx) != FREEXL_OK ||
        freexl_worksheet_dimensions(h, &rows, &cols) != FREEXL_OK)
        rc = fw_error_set(err, FW_EINVAL, full, "%s",
                          _("a damaged workbook: the sheet cannot be read"));
    struct fw_cell *cells = calloc(cols ? cols : 1, sizeof *cells);
    struct fw_buf text = FW_BUF_INIT;
    size_t *off = calloc(cols ? cols : 1, sizeof *off);
    if (rc == 0 && (cells == NULL || off == NULL))
        rc = fw_error_set(err, FW_ENOMEM, label, "%s", _("out of memory"));
    for (unsigned r = 0; r < rows && rc == 0; r++) {
        fw_buf_reset(&text);
        size_t n = 0;
        for (unsigned short c = 0; c < cols; c++) {
            FreeXL_CellValue v;
            char num[64], tmp[48];
            const char *t = "";
            enum fw_cell_kind kind = FW_CELL_TEXT;
            if (freexl_get_cell_value(h, r, c, &v) != FREEXL_OK)
                v.type = FREEXL_CELL_NULL;
            switch (v.type) {
            case FREEXL_CELL_INT:
                snprintf(num, sizeof num, "%d", v.value.int_value);
                t = num;
                kind = FW_CELL_NUMBER;
                break;
            case FREEXL_CELL_DOUBLE:
                /* the one place a binary double is read: as its text */
                snprintf(tmp, sizeof tmp, "%.17g", v.value.double_value);
                if (fw_cell_number(tmp, strlen(tmp), num) == 0)
                    snprintf(num, sizeof num, "%s", tmp);
                t = num;
                kind = FW_CELL_NUMBER;
                break;
            case FREEXL_CELL_TEXT:
            case FREEXL_CELL_SST_TEXT:
                t = v.value.text_value ? v.value.text_value : "";
                break;
            case FREEXL_CELL_DATE:
            case FREEXL_CELL_DATETIME:
                snprintf(num, sizeof num, "%.10s", v.value.text_value);
                t = num;
                kind = FW_CELL_DATE;
                break;
            case FREEXL_CELL_TIME:
                t = v.value.text_value ? v.value.text_value : "";
                break;
            default:
                break;
            }
            off[c] = text.len;
            fw_buf_append(&text, t, strlen(t));
            cells[c] = (struct fw_cell){NULL, strlen(t), kind};
            if (*t)
                n = (size_t)c + 1;
        }
        for (size_t c = 0; c < n; c++)
            cells[c].p = text.p ? text.p + off[c] : "";
        rc = fw_reader_row(rd, cells, n, (uint64_t)r + 1, err);
    }
    free(cells);
    free(off);
    fw_buf_fini(&text);
    return cb->sheet_end(ud, rd, rc, err);
}

int fw_xls_read(const char *path, const char *label,
                const struct fw_colmap *map, const struct fw_book_cb *cb,
                void *ud, struct fw_error *err)
{
    const void *h = NULL;
    int x = freexl_open(path, &h);
    if (x != FREEXL_OK) {
        if (h)
            freexl_close(h);
        if (encrypted_xlsx(path))
            return fw_error_set(err, FW_EINVAL, label, "%s",
                                _("an encrypted workbook: save it without "
                                  "a password"));
        return fw_error_set(err, FW_EINVAL, label,
                            _("not a readable .xls workbook (libfreexl "
                              "error %d: a damaged file?)"), x);
    }
    unsigned info = 0;
    if (freexl_get_info(h, FREEXL_BIFF_PASSWORD, &info) == FREEXL_OK &&
        info == FREEXL_BIFF_OBFUSCATED) {
        freexl_close(h);
        return fw_error_set(err, FW_EINVAL, label, "%s",
                            _("an encrypted workbook: save it without a "
                              "password"));
    }
    unsigned count = 0;
    freexl_get_info(h, FREEXL_BIFF_SHEET_COUNT, &count);
    const char *want = fw_colmap_sheet(map);
    unsigned from = 0, to = count ? 1 : 0;
    int rc = 0;
    if (count == 0) {
        rc = fw_error_set(err, FW_EINVAL, label, "%s",
                          _("a workbook without sheets"));
    } else if (want != NULL && strcmp(want, "all") == 0) {
        to = count;
    } else if (want != NULL && *want) {
        bool found = false;
        for (unsigned i = 0; i < count && !found; i++) {
            const char *name = NULL;
            freexl_get_worksheet_name(h, (unsigned short)i, &name);
            if (name && strcmp(name, want) == 0) {
                from = i;
                found = true;
            }
        }
        char *end;
        unsigned long k = strtoul(want, &end, 10);
        if (!found && *end == '\0' && k >= 1 && k <= count) {
            from = (unsigned)k - 1;
            found = true;
        }
        to = from + 1;
        if (!found)
            rc = fw_error_set(err, FW_EINVAL, label,
                              _("no sheet \"%s\" in the workbook"), want);
    }
    for (unsigned i = from; i < to && rc == 0; i++)
        rc = sheet(h, i, label, cb, ud, err);
    freexl_close(h);
    return rc;
}

int fw_xls_read_mem(const char *data, size_t len, const char *label,
                    const struct fw_colmap *map, const struct fw_book_cb *cb,
                    void *ud, struct fw_error *err)
{
    int fd = memfd_create("fundwatch-xls", MFD_CLOEXEC);
    if (fd < 0)
        return fw_error_set(err, FW_EIO, label, _("cannot read: %s"),
                            strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t k = write(fd, data + done, len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = errno;
            close(fd);
            return fw_error_set(err, FW_EIO, label, _("cannot read: %s"),
                                strerror(e));
        }
        done += (size_t)k;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int rc = fw_xls_read(path, label, map, cb, ud, err);
    close(fd);
    return rc;
}
