/* Inside rules/money.c, seen by its unit test: the long way of reading a
 * scaled number, which the fast path must agree with. Not an interface. */
#ifndef FUNDWATCH_RULES_MONEY_INT_H
#define FUNDWATCH_RULES_MONEY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* [sign] digits [. digits] as value x 10^scale, thousands separators
 * allowed when commas; 0, or FW_EINVAL and a reason in *why. */
int fw__scaled_parse_slow(const char *s, size_t n, int scale, bool commas,
                          int64_t *out, const char **why);

#endif
