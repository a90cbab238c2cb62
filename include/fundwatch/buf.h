/* A growable byte buffer, always NUL-terminated, and JSON string escaping.
 * Owns its bytes; fw_buf_fini frees them. */
#ifndef FUNDWATCH_BUF_H
#define FUNDWATCH_BUF_H

#include <stddef.h>
#include <string.h>

#include "fundwatch/error.h"

struct fw_buf {
    char *p;      /* NULL until the first append; then NUL-terminated */
    size_t len;
    size_t cap;
};

#define FW_BUF_INIT {.p = NULL, .len = 0, .cap = 0}

void fw_buf_init(struct fw_buf *b);
void fw_buf_fini(struct fw_buf *b);
void fw_buf_reset(struct fw_buf *b); /* len = 0, keeps the memory */
int fw__buf_grow(struct fw_buf *b, size_t extra);
/* Room for extra more bytes and the NUL: 0, or FW_ENOMEM (error.h).
 * Inline: it is asked for on every append, and nearly always holds. */
static inline int fw_buf_reserve(struct fw_buf *b, size_t extra)
{
    if (extra < b->cap - b->len) /* cap > len whenever p is set */
        return 0;
    return fw__buf_grow(b, extra);
}
/* Appends n bytes, a string, a byte: 0, or FW_ENOMEM. Inline too: a
 * finding's JSON is some forty of them. */
static inline int fw_buf_append(struct fw_buf *b, const void *p, size_t n)
{
    if (fw_buf_reserve(b, n) < 0)
        return FW_ENOMEM;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}
static inline int fw_buf_puts(struct fw_buf *b, const char *s)
{
    return fw_buf_append(b, s, strlen(s));
}
static inline int fw_buf_putc(struct fw_buf *b, char c)
{
    if (fw_buf_reserve(b, 1) < 0)
        return FW_ENOMEM;
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
    return 0;
}
int fw_buf_put_i64(struct fw_buf *b, long long v); /* in decimal, as %lld */
int fw_buf_printf(struct fw_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. Invalid UTF-8 bytes
 * are replaced by U+FFFD so the output is always valid JSON. */
int fw_buf_json_str(struct fw_buf *b, const char *s, size_t n);

#endif
