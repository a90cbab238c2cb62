/* UTF-8 validation with SIMD where the processor has it (reader_csv.c):
 * the reader's check of every row, and the JSON writer's (buf.c) of every
 * string it copies as it is. */
#ifndef FUNDWATCH_UTF8_H
#define FUNDWATCH_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the longest valid UTF-8 prefix of s[0..n) (reader_csv.c). */
size_t fw__utf8_valid(const unsigned char *s, size_t n);
/* Whether s[0..n) is all UTF-8: the same judgement, with SIMD where the
 * processor has it (reader_csv.c). */
bool fw__utf8_ok(const unsigned char *s, size_t n);
#if defined(__x86_64__) && defined(__SSE2__)
/* Its two ways, seen by the unit test: call only where the processor has
 * SSSE3, or AVX2. */
bool fw__utf8_ok_ssse3(const unsigned char *s, size_t n);
bool fw__utf8_ok_avx2(const unsigned char *s, size_t n);
#endif

#endif
