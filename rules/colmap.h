/* Shared inside rules/: what the reader asks of a column mapping. */
#ifndef FUNDWATCH_RULES_COLMAP_H
#define FUNDWATCH_RULES_COLMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "fundwatch/reader.h"

/* The field a header names (after trimming; a "(万元)" suffix on a money
 * column sets the unit), or -1. */
int fw__colmap_lookup(const struct fw_colmap *m, const char *h, size_t n,
                      enum fw_unit *unit);
/* The same, and whether the header or its alias names its own unit (a unit
 * line above the header applies only to money columns that do not). */
int fw__colmap_find(const struct fw_colmap *m, const char *h, size_t n,
                    enum fw_unit *unit, bool *own_unit);
/* 1 when the header names a money field with a unit fundwatch does not know
 * ("指标金额（美元）"), its field in *field; else 0. */
int fw__colmap_money_like(const struct fw_colmap *m, const char *h, size_t n,
                          int *field);
/* An alias close to an unknown header ("指标金额 with unit 千元") into out;
 * its length, 0 when none is close. */
size_t fw__colmap_suggest(const struct fw_colmap *m, const char *h, size_t n,
                          char *out, size_t cap);
enum fw_encoding fw__colmap_encoding(const struct fw_colmap *m);

#endif
