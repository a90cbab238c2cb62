/* Shared inside rules/: what the reader asks of a column mapping. */
#ifndef FUNDWATCH_RULES_COLMAP_H
#define FUNDWATCH_RULES_COLMAP_H

#include <stddef.h>

#include "fundwatch/reader.h"

/* The field a header names (after trimming; a "(万元)" suffix on a money
 * column sets the unit), or -1. */
int fw__colmap_lookup(const struct fw_colmap *m, const char *h, size_t n,
                      enum fw_unit *unit);
enum fw_encoding fw__colmap_encoding(const struct fw_colmap *m);

#endif
