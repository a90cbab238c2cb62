/* GB18030 → UTF-8 for the reader. ASCII and the two-byte codes (GBK, nearly
 * all of a Chinese export) go through a table built once, at first use,
 * from iconv's own conversion of every two-byte code; anything else (the
 * four-byte codes, bytes that are no GB18030) goes to iconv itself, one
 * character at a time. So the output is iconv's, byte for byte, at a
 * fraction of its cost. Pure: no I/O. */
#include <errno.h>
#include <iconv.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "reader_int.h"

#define LEAD0 0x81u
#define TRAIL0 0x40u
#define NTRAIL (0xFEu - TRAIL0 + 1u)

/* A two-byte code as UTF-8: up to three bytes and their count; n == 0
 * when iconv does not take the pair as one character (it decides). */
struct gb_utf8 {
    unsigned char b[3];
    unsigned char n;
};

static struct gb_utf8 table[(0xFEu - LEAD0 + 1u) * NTRAIL];
/* The table's state: 0 not built, 1 being built, 2 ready, 3 not to be
 * had. A reader on another thread while it is built uses iconv alone. */
static atomic_int table_state;

static bool table_build(void)
{
    iconv_t cd = iconv_open("UTF-8", "GB18030");
    if (cd == (iconv_t)-1)
        return false;
    /* ASCII is itself, or the fast path is wrong: then there is none. */
    bool ok = true;
    for (unsigned c = 1; c < 0x80 && ok; c++) {
        char in = (char)c, out[8];
        char *ip = &in, *op = out;
        size_t il = 1, ol = sizeof out;
        ok = iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && il == 0 &&
             op - out == 1 && out[0] == in;
    }
    for (unsigned lead = LEAD0; lead <= 0xFE && ok; lead++) {
        for (unsigned t = TRAIL0; t <= 0xFE; t++) {
            char in[2] = {(char)lead, (char)t}, out[8];
            char *ip = in, *op = out;
            size_t il = 2, ol = sizeof out;
            iconv(cd, NULL, NULL, NULL, NULL);
            size_t rc = iconv(cd, &ip, &il, &op, &ol);
            size_t k = (size_t)(op - out);
            /* one character of two or three bytes, valid UTF-8 */
            if (rc == (size_t)-1 || il != 0 || k < 2 || k > 3 ||
                (unsigned char)out[0] < 0xC2 ||
                (k == 2) != ((unsigned char)out[0] < 0xE0) ||
                fw__utf8_valid((const unsigned char *)out, k) != k)
                continue;
            struct gb_utf8 *e = &table[(lead - LEAD0) * NTRAIL + t - TRAIL0];
            memcpy(e->b, out, k);
            e->n = (unsigned char)k;
        }
    }
    iconv_close(cd);
    return ok;
}

/* Whether the table can be used, built at the first call. */
static bool table_ready(void)
{
    int st = atomic_load_explicit(&table_state, memory_order_acquire);
    if (st == 0) {
        if (!atomic_compare_exchange_strong(&table_state, &st, 1))
            return st == 2; /* another thread builds it, or built it */
        st = table_build() ? 2 : 3;
        atomic_store_explicit(&table_state, st, memory_order_release);
    }
    return st == 2;
}

/* The whole of in through iconv, as the reader always did: a byte that is
 * not GB18030 becomes U+FFFD. The way when the table could not be built. */
static size_t by_iconv(iconv_t cd, const char *in, size_t len, char *out,
                       uint64_t *replaced)
{
    char *ip = (char *)in, *op = out;
    size_t il = len, ol = 3 * len + 16;
    while (il > 0) {
        size_t rc = iconv(cd, &ip, &il, &op, &ol);
        if (rc == (size_t)-1) {
            memcpy(op, "\xEF\xBF\xBD", 3);
            op += 3;
            ol -= 3;
            ip++;
            il--;
            (*replaced)++;
        }
    }
    return (size_t)(op - out);
}

size_t fw__gb_decode(iconv_t cd, const char *in, size_t len, char *out,
                     uint64_t *replaced, uint64_t *by_lib)
{
    if (!table_ready()) {
        *by_lib += len;
        return by_iconv(cd, in, len, out, replaced);
    }
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0, o = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
#ifdef __SSE2__
            /* 16 bytes copied whole; only the ASCII ones count. */
            while (i + 16 <= len) {
                __m128i v =
                    _mm_loadu_si128((const __m128i *)(const void *)(s + i));
                _mm_storeu_si128((__m128i *)(void *)(out + o), v);
                unsigned m = (unsigned)_mm_movemask_epi8(v);
                if (m != 0) {
                    size_t k = (size_t)__builtin_ctz(m);
                    i += k;
                    o += k;
                    goto multi;
                }
                i += 16;
                o += 16;
            }
#endif
            while (i < len && s[i] < 0x80)
                out[o++] = (char)s[i++];
            continue;
        }
#ifdef __SSE2__
    multi:
#endif
        /* Two-byte codes in a row, through the table. */
        while (i + 1 < len && s[i] >= LEAD0 && s[i] <= 0xFE &&
               s[i + 1] >= TRAIL0 && s[i + 1] <= 0xFE) {
            const struct gb_utf8 *e =
                &table[(s[i] - LEAD0) * NTRAIL + s[i + 1] - TRAIL0];
            if (e->n == 0)
                break;
            memcpy(out + o, e->b, 3); /* out has room to spare */
            o += e->n;
            i += 2;
        }
        if (i >= len || s[i] < 0x80)
            continue;
        /* Anything else: iconv decides, on at most one character's bytes
         * (a GB18030 character is at most four). */
        char *ip = (char *)in + i, *op = out + o;
        size_t il = len - i < 4 ? len - i : 4, ol = 16;
        iconv(cd, NULL, NULL, NULL, NULL);
        iconv(cd, &ip, &il, &op, &ol);
        size_t used = (size_t)(ip - (in + i));
        o = (size_t)(op - out);
        if (used == 0) { /* not GB18030: U+FFFD, and on at the next byte */
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            used = 1;
            (*replaced)++;
        } else {
            *by_lib += used;
        }
        i += used;
    }
    return o;
}
