/* The byte-level scanning of the reader: UTF-8 checks (the longest valid
 * prefix; a whole row, with SIMD where the processor has it) and one CSV
 * row cut into fields. The hot loops of the feed reader, kept apart from
 * what the rows mean (reader.c, table.c). Pure: no allocation but the
 * row's cells, no I/O. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "reader_int.h"

/* Where the run of bytes that are not A or B ends: the index of the first
 * A or B at or after i, or n. */
static inline size_t find2(const char *p, size_t i, size_t n, char a, char b)
{
#ifdef __SSE2__
    const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)));
        if (m != 0)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < n && p[i] != a && p[i] != b)
        i++;
    return i;
}

size_t fw__utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        /* Runs of ASCII, many bytes at a time. */
#ifdef __SSE2__
        while (i + 16 <= n) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            unsigned m = (unsigned)_mm_movemask_epi8(v);
            if (m != 0) {
                i += (size_t)__builtin_ctz(m);
                goto multi;
            }
            i += 16;
        }
#else
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
#endif
        while (i < n && s[i] < 0x80)
            i++;
        if (i >= n)
            return n;
#ifdef __SSE2__
    multi:
#endif
        /* A run of multibyte characters: overlong forms, surrogates and
         * code points past U+10FFFF are not UTF-8; a sequence cut by the
         * end is not either. */
        while (i < n) {
            /* Three-byte characters (all of CJK) in a row: a lead E0-EF
             * and two continuation bytes, looked at together; E0 and ED
             * then need their second byte's range. */
            while (i + 2 < n) {
                uint32_t w = (uint32_t)s[i] | (uint32_t)s[i + 1] << 8 |
                             (uint32_t)s[i + 2] << 16;
                if ((w & 0xC0C0F0u) != 0x8080E0u)
                    break;
                unsigned lo = w & 0x0Fu;
                if ((lo == 0 || lo == 0xD) &&
                    (lo == 0) == ((w & 0x2000u) == 0))
                    return i; /* overlong, or a surrogate */
                i += 3;
            }
            if (i >= n)
                break;
            unsigned c = s[i];
            if (c < 0x80)
                break;
            if (c >= 0xE0 && c <= 0xEF) {
                if (i + 2 >= n)
                    return i;
                unsigned c1 = s[i + 1];
                if ((s[i + 2] & 0xC0) != 0x80)
                    return i;
                if (c == 0xE0 ? c1 < 0xA0 || c1 > 0xBF
                    : c == 0xED ? c1 < 0x80 || c1 > 0x9F
                                : (c1 & 0xC0) != 0x80)
                    return i;
                i += 3;
            } else if (c >= 0xC2 && c <= 0xDF) {
                if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80)
                    return i;
                i += 2;
            } else if (c >= 0xF0 && c <= 0xF4) {
                if (i + 3 >= n)
                    return i;
                unsigned c1 = s[i + 1];
                if ((s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
                    return i;
                if (c == 0xF0 ? c1 < 0x90 || c1 > 0xBF
                    : c == 0xF4 ? c1 < 0x80 || c1 > 0x8F
                                : (c1 & 0xC0) != 0x80)
                    return i;
                i += 4;
            } else {
                return i;
            }
        }
        if (i >= n)
            return n;
    }
}

#if defined(__x86_64__) && defined(__SSE2__)
#include <immintrin.h>
#include <tmmintrin.h>

/* UTF-8 checked 16 bytes at a time with SSSE3 table lookups (the
 * algorithm of Keiser and Lemire, "Validating UTF-8 in less than one
 * instruction per byte", 2021): each byte and the one before it index
 * three small tables whose bits name the errors a pair of bytes can make;
 * two and three bytes back say where a continuation must be. It refuses
 * exactly what fw__utf8_valid refuses (the unit test holds it to that). */
#define TOO_SHORT 0x01
#define TOO_LONG 0x02
#define OVERLONG_3 0x04
#define TOO_LARGE 0x08
#define SURROGATE 0x10
#define OVERLONG_2 0x20
#define TOO_LARGE_1000 0x40
#define OVERLONG_4 0x40
#define TWO_CONTS 0x80
#define CARRY (TOO_SHORT | TOO_LONG | TWO_CONTS)

__attribute__((target("ssse3"))) bool fw__utf8_ok_ssse3(
    const unsigned char *s, size_t n)
{
    const __m128i byte_1_high = _mm_setr_epi8(
        TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
        TOO_LONG, (char)TWO_CONTS, (char)TWO_CONTS, (char)TWO_CONTS,
        (char)TWO_CONTS, TOO_SHORT | OVERLONG_2, TOO_SHORT,
        TOO_SHORT | OVERLONG_3 | SURROGATE,
        TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4);
    const __m128i byte_1_low = _mm_setr_epi8(
        (char)(CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4),
        (char)(CARRY | OVERLONG_2), (char)CARRY, (char)CARRY,
        (char)(CARRY | TOO_LARGE), (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000));
    const __m128i byte_2_high = _mm_setr_epi8(
        TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
        TOO_SHORT, TOO_SHORT,
        (char)(TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 |
               TOO_LARGE_1000 | OVERLONG_4),
        (char)(TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE),
        (char)(TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE),
        (char)(TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE),
        TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT);
    /* a block ending in a lead byte needs the next block */
    const __m128i max_end = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1,
                                          -1, -1, -1, -1, (char)(0xF0 - 1),
                                          (char)(0xE0 - 1), (char)(0xC0 - 1));
    const __m128i nib = _mm_set1_epi8(0x0F);
    const __m128i zero = _mm_setzero_si128();
    __m128i prev = zero, err = zero, incomplete = zero;
    unsigned char tail[16];
    for (size_t i = 0; i < n; i += 16) {
        __m128i v;
        if (i + 16 <= n) {
            v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        } else { /* the end, padded with NULs: ASCII */
            memset(tail, 0, sizeof tail);
            memcpy(tail, s + i, n - i);
            v = _mm_loadu_si128((const __m128i *)(const void *)tail);
        }
        if (_mm_movemask_epi8(v) == 0) {
            err = _mm_or_si128(err, incomplete);
            incomplete = zero;
            prev = v;
            continue;
        }
        __m128i prev1 = _mm_alignr_epi8(v, prev, 15);
        __m128i sc = _mm_and_si128(
            _mm_and_si128(
                _mm_shuffle_epi8(byte_1_high,
                                 _mm_and_si128(_mm_srli_epi16(prev1, 4), nib)),
                _mm_shuffle_epi8(byte_1_low, _mm_and_si128(prev1, nib))),
            _mm_shuffle_epi8(byte_2_high,
                             _mm_and_si128(_mm_srli_epi16(v, 4), nib)));
        __m128i third = _mm_subs_epu8(_mm_alignr_epi8(v, prev, 14),
                                      _mm_set1_epi8((char)(0xE0 - 0x80)));
        __m128i fourth = _mm_subs_epu8(_mm_alignr_epi8(v, prev, 13),
                                       _mm_set1_epi8((char)(0xF0 - 0x80)));
        __m128i must = _mm_and_si128(_mm_or_si128(third, fourth),
                                     _mm_set1_epi8((char)0x80));
        err = _mm_or_si128(err, _mm_xor_si128(must, sc));
        incomplete = _mm_subs_epu8(v, max_end);
        prev = v;
    }
    err = _mm_or_si128(err, incomplete);
    return _mm_movemask_epi8(_mm_cmpeq_epi8(err, zero)) == 0xFFFF;
}

/* The same 32 bytes at a time with AVX2: the tables repeated in both
 * halves (a lookup stays in its half), the bytes before a block taken
 * across the halves. */
__attribute__((target("avx2"))) bool fw__utf8_ok_avx2(const unsigned char *s,
                                                      size_t n)
{
#define T16(...) __VA_ARGS__, __VA_ARGS__
    const __m256i byte_1_high = _mm256_setr_epi8(T16(
        TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
        TOO_LONG, (char)TWO_CONTS, (char)TWO_CONTS, (char)TWO_CONTS,
        (char)TWO_CONTS, TOO_SHORT | OVERLONG_2, TOO_SHORT,
        TOO_SHORT | OVERLONG_3 | SURROGATE,
        TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4));
    const __m256i byte_1_low = _mm256_setr_epi8(T16(
        (char)(CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4),
        (char)(CARRY | OVERLONG_2), (char)CARRY, (char)CARRY,
        (char)(CARRY | TOO_LARGE), (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000)));
    const __m256i byte_2_high = _mm256_setr_epi8(T16(
        TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
        TOO_SHORT, TOO_SHORT,
        (char)(TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 |
               TOO_LARGE_1000 | OVERLONG_4),
        (char)(TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE),
        (char)(TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE),
        (char)(TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE),
        TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT));
#undef T16
    const __m256i max_end = _mm256_setr_epi8(
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, (char)(0xF0 - 1),
        (char)(0xE0 - 1), (char)(0xC0 - 1));
    const __m256i nib = _mm256_set1_epi8(0x0F);
    const __m256i zero = _mm256_setzero_si256();
    __m256i prev = zero, err = zero, incomplete = zero;
    unsigned char tail[32];
    for (size_t i = 0; i < n; i += 32) {
        __m256i v;
        if (i + 32 <= n) {
            v = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
        } else { /* the end, padded with NULs: ASCII */
            memset(tail, 0, sizeof tail);
            memcpy(tail, s + i, n - i);
            v = _mm256_loadu_si256((const __m256i *)(const void *)tail);
        }
        if (_mm256_movemask_epi8(v) == 0) {
            err = _mm256_or_si256(err, incomplete);
            incomplete = zero;
            prev = v;
            continue;
        }
        /* the last half of prev, then the first half of v */
        __m256i across = _mm256_permute2x128_si256(prev, v, 0x21);
        __m256i prev1 = _mm256_alignr_epi8(v, across, 15);
        __m256i sc = _mm256_and_si256(
            _mm256_and_si256(
                _mm256_shuffle_epi8(
                    byte_1_high,
                    _mm256_and_si256(_mm256_srli_epi16(prev1, 4), nib)),
                _mm256_shuffle_epi8(byte_1_low, _mm256_and_si256(prev1, nib))),
            _mm256_shuffle_epi8(
                byte_2_high, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib)));
        __m256i third = _mm256_subs_epu8(_mm256_alignr_epi8(v, across, 14),
                                         _mm256_set1_epi8((char)(0xE0 - 0x80)));
        __m256i fourth = _mm256_subs_epu8(_mm256_alignr_epi8(v, across, 13),
                                          _mm256_set1_epi8((char)(0xF0 - 0x80)));
        __m256i must = _mm256_and_si256(_mm256_or_si256(third, fourth),
                                        _mm256_set1_epi8((char)0x80));
        err = _mm256_or_si256(err, _mm256_xor_si256(must, sc));
        incomplete = _mm256_subs_epu8(v, max_end);
        prev = v;
    }
    err = _mm256_or_si256(err, incomplete);
    return _mm256_testz_si256(err, err);
}
#endif

bool fw__utf8_ok(const unsigned char *s, size_t n)
{
#if defined(__x86_64__) && defined(__SSE2__)
    static atomic_int known = -1; /* 2 AVX2, 1 SSSE3, 0 neither */
    int level = atomic_load_explicit(&known, memory_order_relaxed);
    if (level < 0) {
        level = __builtin_cpu_supports("avx2")    ? 2
                : __builtin_cpu_supports("ssse3") ? 1
                                                  : 0;
        atomic_store_explicit(&known, level, memory_order_relaxed);
    }
    if (level == 2)
        return fw__utf8_ok_avx2(s, n);
    if (level == 1)
        return fw__utf8_ok_ssse3(s, n);
#endif
    return fw__utf8_valid(s, n) == n;
}

size_t fw__csv_scan(struct fw_reader *r, const char *p, size_t n, bool final,
                    size_t *nf, uint64_t *nl, const char **bad)
{
    size_t i = 0, f = 0;
    uint64_t lines = 0;
    *bad = NULL;
    r->nesc = 0;
    for (;;) {
        if (f == r->cells_cap) {
            size_t cap = r->cells_cap ? r->cells_cap * 2 : 32;
            struct fw_cell *c = realloc(r->cells, cap * sizeof *c);
            if (c == NULL) {
                *bad = "out of memory";
                *nf = f;
                *nl = 0;
                return n ? n : 1;
            }
            r->cells = c;
            r->cells_cap = cap;
        }
        struct fw_cell *sp = &r->cells[f++];
        if (i < n && p[i] == '"') {
            /* A quoted field: runs to a quote not doubled. */
            size_t start = ++i;
            bool esc = false;
            for (;;) {
                size_t q = find2(p, i, n, '"', '\n');
                if (q == n) {
                    if (!final)
                        return 0;
                    *bad = "a quoted field is not closed";
                    *sp = (struct fw_cell){p + start, n - start,
                                           FW_CELL_TEXT};
                    *nl = lines;
                    *nf = f;
                    return n;
                }
                i = q + 1;
                if (p[q] == '\n') { /* inside the field */
                    lines++;
                    continue;
                }
                if (i < n && p[i] == '"') {
                    esc = true;
                    i++;
                    continue;
                }
                if (i == n && !final)
                    return 0;
                break;
            }
            *sp = (struct fw_cell){p + start, i - 1 - start, FW_CELL_TEXT};
            if (esc) {
                if (r->nesc == r->esc_cap) {
                    size_t cap = r->esc_cap ? r->esc_cap * 2 : 8;
                    size_t *e = realloc(r->esc, cap * sizeof *e);
                    if (e == NULL) {
                        *bad = "out of memory";
                        *nf = f;
                        *nl = 0;
                        return n ? n : 1;
                    }
                    r->esc = e;
                    r->esc_cap = cap;
                }
                r->esc[r->nesc++] = f - 1;
            }
            if (i + 1 == n && p[i] == '\r' && !final)
                return 0; /* a CR that may be the row's CRLF: wait */
            if (i < n && p[i] == '\r' && (i + 1 == n || p[i + 1] == '\n'))
                i++;
            if (i < n && p[i] != ',' && p[i] != '\n') {
                /* Junk after the closing quote: skip to the field's end,
                 * and say so. */
                *bad = "text after a closing quote";
                i = find2(p, i, n, ',', '\n');
                if (i == n && !final)
                    return 0;
            }
        } else {
            size_t start = i;
            i = find2(p, i, n, ',', '\n');
            if (i == n && !final)
                return 0;
            size_t end = i;
            if (i < n && p[i] == '\n' && end > start && p[end - 1] == '\r')
                end--;
            *sp = (struct fw_cell){p + start, end - start, FW_CELL_TEXT};
        }
        if (i >= n) {
            *nf = f;
            *nl = lines;
            return n;
        }
        if (p[i] == '\n') {
            *nf = f;
            *nl = lines + 1;
            return i + 1;
        }
        i++; /* the comma */
    }
}
