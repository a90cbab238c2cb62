/* Reading feeds and column maps from files, for every command and the daemon:
 * the I/O half of the reader in rules/. */
#ifndef FUNDWATCH_DAEMON_FEEDIO_H
#define FUNDWATCH_DAEMON_FEEDIO_H

#include <stdio.h>

#include "fundwatch/error.h"
#include "fundwatch/reader.h"

/* Loads a column-map YAML file (examples/columns.yaml shows the form) on top
 * of the built-in aliases. NULL path = the built-in aliases only. On error
 * returns NULL and adds every problem to diag as "file:line:col: message". */
struct fw_colmap *fw_columns_load(const char *path, struct fw_diag *diag);

/* Reads the feed at path through a reader (format chosen from the content)
 * in 64 KiB chunks, calling cb for each record and reject. label is the name
 * records carry as their source (NULL = path). st, if not NULL, gets the
 * counts. Returns 0, a callback's non-zero value, or a negative FW_E code
 * with err saying what and where (unreadable file, not a feed at all...). */
int fw_feed_read_path(const char *path, const char *label,
                      const struct fw_colmap *map,
                      const struct fw_reader_cb *cb, void *ud,
                      struct fw_reader_stats *st, struct fw_error *err);

/* The same over bytes already in memory (POST /feeds, policy tests). */
int fw_feed_read_mem(const char *data, size_t len, const char *label,
                     enum fw_format fmt, const struct fw_colmap *map,
                     const struct fw_reader_cb *cb, void *ud,
                     struct fw_reader_stats *st, struct fw_error *err);

/* What a feed's summary says beyond its counts, one line each on out:
 * rows before the header, total rows and whether they agree, unrecognised
 * columns (with a "did you mean"). Nothing when there is nothing to say. */
void fw_feed_notes(FILE *out, const char *feed,
                   const struct fw_reader_stats *st);

#endif
