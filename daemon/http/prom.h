/* Writing the Prometheus text exposition format (version 0.0.4): HELP and
 * TYPE lines once per metric family, samples with escaped label values.
 * The daemon keeps its own counters and renders them at scrape time. */
#ifndef FUNDWATCH_DAEMON_PROM_H
#define FUNDWATCH_DAEMON_PROM_H

#include <stdint.h>

struct fw_buf;

#define FW_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* "# HELP name help\n# TYPE name type\n"; type is counter, gauge, ... */
int fw_prom_family(struct fw_buf *b, const char *name, const char *type,
                   const char *help);
/* name{k1="v1",k2="v2"} value\n — labels is NULL or a NULL-terminated list
 * of key, value pairs; a NULL value skips that label. */
int fw_prom_int(struct fw_buf *b, const char *name, const char *const *labels,
                int64_t value);
/* value given as text already in Prometheus float syntax ("0.25", "NaN"). */
int fw_prom_text(struct fw_buf *b, const char *name, const char *const *labels,
                 const char *value);
/* A duration in microseconds as seconds with six decimals, exactly. */
int fw_prom_seconds(struct fw_buf *b, const char *name,
                    const char *const *labels, uint64_t usec);

#endif
