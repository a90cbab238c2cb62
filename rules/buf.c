/* Growable NUL-terminated byte buffers and JSON string escaping. */
#include "fundwatch/buf.h"
#include "fundwatch/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "utf8.h"

void fw_buf_init(struct fw_buf *b)
{
    b->p = NULL;
    b->len = b->cap = 0;
}

void fw_buf_fini(struct fw_buf *b)
{
    free(b->p);
    fw_buf_init(b);
}

void fw_buf_reset(struct fw_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

int fw__buf_grow(struct fw_buf *b, size_t extra)
{
    if (extra >= SIZE_MAX - b->len - 1)
        return FW_ENOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return FW_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}




int fw_buf_put_i64(struct fw_buf *b, long long v)
{
    char t[24];
    size_t i = sizeof t;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;
    do {
        t[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        t[--i] = '-';
    return fw_buf_append(b, t + i, sizeof t - i);
}

/* One vsnprintf into the room already there (64 bytes made sure of), a
 * second only when the text is longer: most texts are short. */
int fw_buf_printf(struct fw_buf *b, const char *fmt, ...)
{
    if (fw_buf_reserve(b, 64) < 0)
        return FW_ENOMEM;
    size_t room = b->cap - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return FW_ENOMEM;
    if ((size_t)n >= room) {
        if (fw_buf_reserve(b, (size_t)n) < 0)
            return FW_ENOMEM;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
    return 0;
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* The bytes a JSON string holds as they are: printable ASCII but '"' and
 * '\\' (DEL included, as before). */
static const unsigned char plain[256] = {
    ['\x20'] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,      /* 20-2F */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                /* 30-3F */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                /* 40-4F */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,                /* 50-5F */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                /* 60-6F */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                /* 70-7F */
};

/* Whether s[0..n) has no byte JSON escapes: no control character, no '"'
 * and no '\\' (bytes from 0x80 on are left to the UTF-8 check). */
static bool no_escapes(const unsigned char *s, size_t n)
{
    size_t i = 0;
#if defined(__x86_64__) && defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bsl = _mm_set1_epi8('\\'),
                  ctl = _mm_set1_epi8(0x1F);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i bad = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bsl)),
            _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
        if (_mm_movemask_epi8(bad))
            return false;
    }
#endif
    for (; i < n; i++)
        if (s[i] < 0x80 && !plain[s[i]])
            return false;
    return true;
}

int fw_buf_json_str(struct fw_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    if (fw_buf_reserve(b, n + 2) < 0)
        return FW_ENOMEM;
    b->p[b->len++] = '"';
    /* The usual string (a message, a name): nothing to escape and valid
     * UTF-8, checked 16 or 32 bytes at a time and copied whole. */
    if (n >= 16 && no_escapes(u, n) && fw__utf8_ok(u, n)) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len++] = '"';
        b->p[b->len] = '\0';
        return 0;
    }
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        /* copy a run of bytes that need no escaping in one go: printable
         * ASCII and valid UTF-8 sequences (Chinese text is most of it) */
        for (;;) {
            while (run < n && plain[u[run]])
                run++;
            if (run + 2 < n && u[run] >= 0xE1 && u[run] <= 0xEC &&
                       (u[run + 1] & 0xC0) == 0x80 &&
                       (u[run + 2] & 0xC0) == 0x80) {
                run += 3; /* U+1000..U+CFFF, most of CJK: always valid */
            } else if (run < n && u[run] >= 0x80) {
                size_t k = utf8_seq(u + run, n - run);
                if (k == 0)
                    break;
                run += k;
            } else {
                break;
            }
        }
        if (run > i) {
            if (fw_buf_append(b, s + i, run - i) < 0)
                return FW_ENOMEM;
            i = run;
            continue;
        }
        unsigned c = u[i];
        char esc[8];
        size_t elen = 0;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            elen = 2;
        } else if (c == '\n') {
            memcpy(esc, "\\n", 2);
            elen = 2;
        } else if (c == '\r') {
            memcpy(esc, "\\r", 2);
            elen = 2;
        } else if (c == '\t') {
            memcpy(esc, "\\t", 2);
            elen = 2;
        } else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        } else {
            size_t len = utf8_seq(u + i, n - i);
            if (len == 0) {
                if (fw_buf_append(b, "\xEF\xBF\xBD", 3) < 0)
                    return FW_ENOMEM;
                i++;
            } else {
                if (fw_buf_append(b, s + i, len) < 0)
                    return FW_ENOMEM;
                i += len;
            }
            continue;
        }
        if (fw_buf_append(b, esc, elen) < 0)
            return FW_ENOMEM;
        i++;
    }
    return fw_buf_putc(b, '"');
}
