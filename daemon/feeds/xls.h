/* Excel 97–2003 workbooks (.xls, BIFF8) through libfreexl. libfreexl reads
 * a file by its path, so this lives in daemon/ (its I/O), not in rules/;
 * bytes in memory are given a path through a memfd. */
#ifndef FUNDWATCH_DAEMON_FEEDS_XLS_H
#define FUNDWATCH_DAEMON_FEEDS_XLS_H

#include <stddef.h>

#include "fundwatch/error.h"
#include "fundwatch/reader.h"

/* Reads the workbook at path sheet by sheet (the map's sheet setting) into
 * the readers cb hands out, labels "<label>:<sheet>". Returns 0, a
 * callback's value or a negative FW_E code with err. */
int fw_xls_read(const char *path, const char *label,
                const struct fw_colmap *map, const struct fw_book_cb *cb,
                void *ud, struct fw_error *err);
/* The same over bytes in memory. */
int fw_xls_read_mem(const char *data, size_t len, const char *label,
                    const struct fw_colmap *map, const struct fw_book_cb *cb,
                    void *ud, struct fw_error *err);

#endif
