/* fw_buf and fw_error. */
#include "task.h"

#include "fundwatch/buf.h"
#include "fundwatch/error.h"

#include <string.h>

TEST_IMPL(buf_printf_grows)
{
    struct fw_buf b = FW_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ_INT(fw_buf_printf(&b, "%d,", i), 0);
    ASSERT_EQ_INT(b.len, 3890);
    ASSERT(strncmp(b.p, "0,1,2,", 6) == 0);
    ASSERT_EQ_INT(b.p[b.len], '\0');
    fw_buf_fini(&b);
    return 0;
}

TEST_IMPL(buf_put_i64_as_printf)
{
    static const long long v[] = {0, 7, -7, 10, 2024, -2024, 999999999999LL,
                                  9223372036854775807LL,
                                  -9223372036854775807LL - 1};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        struct fw_buf b = FW_BUF_INIT, w = FW_BUF_INIT;
        ASSERT_EQ_INT(fw_buf_put_i64(&b, v[i]), 0);
        fw_buf_printf(&w, "%lld", v[i]);
        ASSERT_EQ_STR(b.p, w.p);
        fw_buf_fini(&b);
        fw_buf_fini(&w);
    }
    return 0;
}

TEST_IMPL(buf_json_escapes)
{
    struct fw_buf b = FW_BUF_INIT;
    const char s[] = "a\"b\\c\n\x01 进度\xff";
    ASSERT_EQ_INT(fw_buf_json_str(&b, s, sizeof s - 1), 0);
    ASSERT_EQ_STR(b.p, "\"a\\\"b\\\\c\\n\\u0001 进度\xEF\xBF\xBD\"");
    fw_buf_fini(&b);
    return 0;
}

/* Every single byte, and every byte inside text and next to CJK, against
 * the rules written out here without the table the code uses: printable
 * ASCII (and DEL) as is but '"' and '\\'; \n \r \t short; other control
 * bytes as \u00XX; a byte that starts no valid UTF-8 sequence as U+FFFD. */
static void want_byte(struct fw_buf *w, unsigned c)
{
    static const char hex[] = "0123456789abcdef";
    char e[8];
    if (c == '"' || c == '\\') {
        e[0] = '\\', e[1] = (char)c, e[2] = 0;
    } else if (c == '\n') {
        strcpy(e, "\\n");
    } else if (c == '\r') {
        strcpy(e, "\\r");
    } else if (c == '\t') {
        strcpy(e, "\\t");
    } else if (c < 0x20) {
        strcpy(e, "\\u00");
        e[4] = hex[c >> 4], e[5] = hex[c & 15], e[6] = 0;
    } else if (c < 0x80) {
        e[0] = (char)c, e[1] = 0;
    } else {
        strcpy(e, "\xEF\xBF\xBD");
    }
    fw_buf_puts(w, e);
}

TEST_IMPL(buf_json_every_byte)
{
    for (unsigned c = 0; c < 256; c++) {
        struct fw_buf b = FW_BUF_INIT, w = FW_BUF_INIT;
        char s[] = {'x', (char)c, 'y', '\xE8', '\xBF', '\x9B', (char)c};
        ASSERT_EQ_INT(fw_buf_json_str(&b, s, sizeof s), 0);
        fw_buf_puts(&w, "\"x");
        want_byte(&w, c);
        fw_buf_puts(&w, "y进");
        want_byte(&w, c);
        fw_buf_putc(&w, '"');
        ASSERT_EQ_STR(b.p, w.p);
        fw_buf_fini(&b);
        fw_buf_fini(&w);
    }
    /* valid sequences of every length stay as they are, at the end too */
    struct fw_buf b = FW_BUF_INIT;
    const char ok[] = "\xC2\xA9 \xE0\xA4\x85 \xED\x9F\xBF \xEF\xBF\xBD \xF0\x9F\x98\x80";
    ASSERT_EQ_INT(fw_buf_json_str(&b, ok, sizeof ok - 1), 0);
    ASSERT(b.len == sizeof ok - 1 + 2 && memcmp(b.p + 1, ok, sizeof ok - 1) == 0);
    fw_buf_reset(&b);
    /* a surrogate (ED A0 80) and a cut CJK sequence are replaced byte by byte */
    ASSERT_EQ_INT(fw_buf_json_str(&b, "\xED\xA0\x80\xE8\xBF", 5), 0);
    ASSERT_EQ_STR(b.p, "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    fw_buf_fini(&b);
    return 0;
}

TEST_IMPL(error_set_and_text)
{
    struct fw_error e;
    char buf[256];
    ASSERT_EQ_INT(fw_error_set(&e, FW_EINVAL, "feed.csv:17", "指标金额 \"%s\": more than two decimals", "12.345"), FW_EINVAL);
    ASSERT_EQ_STR(fw_error_text(&e, buf, sizeof buf), "feed.csv:17: 指标金额 \"12.345\": more than two decimals");
    ASSERT(e.c_line > 0);
    struct fw_diag d;
    fw_diag_init(&d);
    ASSERT_EQ_INT(fw_diag_add(&d, "a.lua:3", "unknown key '%s'", "regoins"), 0);
    ASSERT_EQ_INT(fw_diag_add_error(&d, &e), 0);
    ASSERT_EQ_INT(d.n, 2);
    ASSERT_EQ_STR(d.items[0], "a.lua:3: unknown key 'regoins'");
    fw_diag_fini(&d);
    return 0;
}

/* Strings of 16 bytes and more are checked whole and copied when nothing
 * needs escaping: every escape and every bad sequence, at every place in a
 * long string of Chinese and ASCII, gives what the pieces give one by one
 * (each piece shorter than 16 bytes takes the byte-by-byte way). */
TEST_IMPL(buf_json_long_strings_as_pieces)
{
    static const char *const text[] = {"进", "度", "a", " ", "。", "%",
                                       "\xF0\x9F\x98\x80", "~", "\x7F"};
    static const char *const odd[] = {"\"", "\\", "\n", "\t", "\x01", "\x1F",
                                      "\xFF", "\xED\xA0\x80", "\xC0\xAF",
                                      "\xE8\xBF", "\x80", "\xF4\x90\x80\x80"};
    size_t nt = sizeof text / sizeof *text, no = sizeof odd / sizeof *odd;
    for (size_t len = 16; len < 70; len += 7)
        for (size_t at = 0; at <= len; at += 3)
            for (size_t o = 0; o <= no; o++) {
                struct fw_buf s = FW_BUF_INIT, want = FW_BUF_INIT,
                              got = FW_BUF_INIT, one = FW_BUF_INIT;
                fw_buf_putc(&want, '"');
                for (size_t i = 0; i <= len; i++) {
                    const char *u = i == at ? (o < no ? odd[o] : "")
                                            : text[(i * 7 + len) % nt];
                    if (i == len && i != at)
                        break;
                    fw_buf_puts(&s, u);
                    fw_buf_reset(&one);
                    ASSERT_EQ_INT(fw_buf_json_str(&one, u, strlen(u)), 0);
                    fw_buf_append(&want, one.p + 1, one.len - 2);
                }
                fw_buf_putc(&want, '"');
                ASSERT(s.len >= 16);
                ASSERT_EQ_INT(fw_buf_json_str(&got, s.p, s.len), 0);
                ASSERT_EQ_STR(got.p, want.p);
                fw_buf_fini(&s);
                fw_buf_fini(&want);
                fw_buf_fini(&got);
                fw_buf_fini(&one);
            }
    return 0;
}
