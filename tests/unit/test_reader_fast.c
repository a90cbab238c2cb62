/* rules/reader_csv.c and rules/reader_gb.c: the fast UTF-8 checks and the
 * table-driven GB18030 decoder against the plain ways they replace (a
 * byte-at-a-time validator, iconv over the whole buffer), on random bytes;
 * and the reader's output whatever the chunks, with quoted fields, long
 * ASCII runs and multibyte characters cut by every refill. */
#include "task.h"

#include <iconv.h>

#include "fundwatch/buf.h"
#include "fundwatch/error.h"
#include "fundwatch/reader.h"
#include "reader_int.h"

/* A small deterministic generator (xorshift), so a failure repeats. */
static uint64_t rnd_state = 0x9E3779B97F4A7C15ull;
static unsigned rnd(unsigned n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (unsigned)(rnd_state % n);
}

/* The validator as it was: one character at a time, code points computed. */
static size_t ref_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3, min = 0x10000;
        } else {
            return i;
        }
        if (i + k >= n)
            return i;
        unsigned cp = c & (0x3Fu >> k);
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + j] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += k + 1;
    }
    return n;
}

/* Mostly valid UTF-8, with the edges of every rule and random bytes. */
static size_t gen_utf8(unsigned char *b, size_t cap)
{
    static const unsigned char edges[][4] = {
        {0xE0, 0x9F, 0xBF, 0}, {0xE0, 0xA0, 0x80, 0}, {0xED, 0x9F, 0xBF, 0},
        {0xED, 0xA0, 0x80, 0}, {0xF0, 0x8F, 0xBF, 0xBF},
        {0xF0, 0x90, 0x80, 0x80}, {0xF4, 0x8F, 0xBF, 0xBF},
        {0xF4, 0x90, 0x80, 0x80}, {0xC1, 0xBF, 0, 0}, {0xC2, 0x80, 0, 0},
        {0xF5, 0x80, 0x80, 0x80}, {0xE4, 0xB8, 0x41, 0},
    };
    size_t n = 0;
    while (n + 40 < cap && rnd(12) != 0) {
        switch (rnd(6)) {
        case 0: /* a run of ASCII, sometimes past 16 bytes */
            for (unsigned k = rnd(40); k > 0; k--)
                b[n++] = (unsigned char)(0x20 + rnd(0x5F));
            break;
        case 1: /* a three-byte character, 一 to 龥 */
            for (unsigned k = 1 + rnd(8); k > 0; k--) {
                unsigned cp = 0x4E00 + rnd(0x51A5);
                b[n++] = (unsigned char)(0xE0 | cp >> 12);
                b[n++] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
                b[n++] = (unsigned char)(0x80 | (cp & 0x3F));
            }
            break;
        case 2:
            b[n++] = 0xC3;
            b[n++] = 0xA9;
            break;
        case 3:
            memcpy(b + n, "\xF0\x9F\x98\x80", 4);
            n += 4;
            break;
        case 4: {
            const unsigned char *e = edges[rnd(sizeof edges / sizeof *edges)];
            for (int k = 0; k < 4 && e[k]; k++)
                b[n++] = e[k];
            break;
        }
        default:
            if (rnd(4) == 0)
                b[n++] = (unsigned char)(0x80 + rnd(0x80));
            break;
        }
    }
    return n;
}

/* fw__utf8_ok and each of its ways this processor has, against want;
 * the name of the way that disagrees, or NULL. */
static const char *utf8_ways(const unsigned char *s, size_t n, bool want)
{
    if (fw__utf8_ok(s, n) != want)
        return "fw__utf8_ok";
#if defined(__x86_64__) && defined(__SSE2__)
    if (__builtin_cpu_supports("ssse3") && fw__utf8_ok_ssse3(s, n) != want)
        return "SSSE3";
    if (__builtin_cpu_supports("avx2") && fw__utf8_ok_avx2(s, n) != want)
        return "AVX2";
#endif
    return NULL;
}

TEST_IMPL(reader_utf8_valid_as_before)
{
    unsigned char b[1024];
    for (int t = 0; t < 20000; t++) {
        size_t n = gen_utf8(b, sizeof b);
        /* every length: a sequence cut by the end is judged too */
        for (size_t k = n; k + 6 > n && k > 0; k--) {
            size_t want = ref_utf8_valid(b, k), got = fw__utf8_valid(b, k);
            if (want != got)
                FW__FAIL("utf8_valid of %zu bytes: %zu, the old way %zu "
                         "(case %d)", k, got, want, t);
            const char *way = utf8_ways(b, k, want == k);
            if (way != NULL)
                FW__FAIL("%s of %zu bytes: not %d, the old way %zu of %zu "
                         "valid (case %d)", way, k, want == k, want, k, t);
        }
    }
    /* every one- and two-byte string */
    for (unsigned x = 0; x < 0x10000; x++) {
        unsigned char s[2] = {(unsigned char)(x >> 8), (unsigned char)x};
        ASSERT_EQ_INT(fw__utf8_valid(s, 2), ref_utf8_valid(s, 2));
        ASSERT_EQ_INT(fw__utf8_valid(s, 1), ref_utf8_valid(s, 1));
        ASSERT(utf8_ways(s, 2, ref_utf8_valid(s, 2) == 2) == NULL);
    }
    /* Every lead byte with telling second, third and fourth bytes, at every
     * place across the 16- and 32-byte blocks the SIMD checks read, with
     * Chinese before it, ASCII after it, or the end right after it. */
    static const unsigned char tell[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90,
                                         0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF,
                                         0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xFF};
    size_t nt = sizeof tell;
    for (unsigned lead = 0x80; lead <= 0xFF; lead++)
        for (size_t a = 0; a < nt; a++)
            for (size_t c = 0; c < nt; c++)
                for (size_t d = 0; d < nt; d += 3)
                    for (size_t off = 0; off < 40;
                         off += off < 12 || (off > 26 && off < 36) ? 1 : 3) {
                        unsigned char s[72];
                        for (size_t k = 0; k + 3 <= off; k += 3)
                            memcpy(s + k, "\xE4\xB8\xAD", 3); /* 中 */
                        memset(s + off - off % 3, 'x', off % 3);
                        s[off] = (unsigned char)lead;
                        s[off + 1] = tell[a];
                        s[off + 2] = tell[c];
                        s[off + 3] = tell[d];
                        memset(s + off + 4, 'y', sizeof s - off - 4);
                        for (size_t k = off + 1; k <= off + 4; k++) {
                            bool want = ref_utf8_valid(s, k) == k;
                            const char *way = utf8_ways(s, k, want);
                            if (way != NULL)
                                FW__FAIL("%s %02X %02X %02X %02X at %zu, %zu "
                                         "bytes: not %d", way, lead, tell[a],
                                         tell[c], tell[d], off, k, want);
                        }
                        bool want = ref_utf8_valid(s, sizeof s) == sizeof s;
                        ASSERT(utf8_ways(s, sizeof s, want) == NULL);
                    }
    return 0;
}

/* GB18030 as the reader converted it before the table: iconv over the
 * whole buffer, U+FFFD for a byte it refuses. */
static size_t ref_gb(iconv_t cd, const char *in, size_t len, char *out,
                     uint64_t *replaced)
{
    char *ip = (char *)in, *op = out;
    size_t il = len, ol = 3 * len + 16;
    iconv(cd, NULL, NULL, NULL, NULL);
    while (il > 0) {
        if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
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

/* ASCII, two-byte codes (trail bytes of the whole range, 0x7F too),
 * four-byte codes, and bytes that are no GB18030 (0x80, 0xFF, a lead
 * alone, a four-byte code cut short). */
static size_t gen_gb(unsigned char *b, size_t cap)
{
    size_t n = 0;
    while (n + 40 < cap && rnd(16) != 0) {
        switch (rnd(5)) {
        case 0:
            for (unsigned k = rnd(36); k > 0; k--)
                b[n++] = (unsigned char)(0x20 + rnd(0x5F));
            break;
        case 1: /* GB2312 hanzi */
            for (unsigned k = 1 + rnd(10); k > 0; k--) {
                b[n++] = (unsigned char)(0xB0 + rnd(0x48));
                b[n++] = (unsigned char)(0xA1 + rnd(0x5E));
            }
            break;
        case 2: /* any two-byte shape */
            b[n++] = (unsigned char)(0x81 + rnd(0x7E));
            b[n++] = (unsigned char)(0x40 + rnd(0xBF));
            break;
        case 3: /* four bytes: BMP, beyond, or not assigned */
            b[n++] = (unsigned char)(rnd(2) ? 0x81 + rnd(4) : 0x90 + rnd(0x6F));
            b[n++] = (unsigned char)(0x30 + rnd(10));
            if (rnd(8) == 0)
                break;
            b[n++] = (unsigned char)(0x81 + rnd(0x7E));
            b[n++] = (unsigned char)(0x30 + rnd(10));
            break;
        default: {
            static const unsigned char bad[] = {0x80, 0xFF, 0x81, 0xFE, 0x0A};
            b[n++] = bad[rnd(sizeof bad)];
            break;
        }
        }
    }
    return n;
}

TEST_IMPL(reader_gb18030_decoder_as_iconv)
{
    iconv_t cd = iconv_open("UTF-8", "GB18030");
    ASSERT(cd != (iconv_t)-1);
    static unsigned char in[2048];
    static char want[3 * sizeof in + 16], got[3 * sizeof in + 16];
    uint64_t by_lib = 0;
    for (int t = 0; t < 20000; t++) {
        size_t n = gen_gb(in, sizeof in);
        /* every cut near the end: a character cut by the end of the data */
        for (size_t k = n; k + 4 > n && k > 0; k--) {
            uint64_t rw = 0, rg = 0;
            size_t wn = ref_gb(cd, (const char *)in, k, want, &rw);
            size_t gn = fw__gb_decode(cd, (const char *)in, k, got, &rg,
                                      &by_lib);
            if (wn != gn || memcmp(want, got, wn) != 0 || rw != rg)
                FW__FAIL("GB18030 of %zu bytes: %zu bytes out (%llu "
                         "replaced), iconv %zu (%llu) (case %d)", k, gn,
                         (unsigned long long)rg, wn,
                         (unsigned long long)rw, t);
        }
    }
    ASSERT(by_lib > 0); /* the four-byte codes went to iconv */
    /* every two-byte code, and each followed by a four-byte one */
    for (unsigned lead = 0x80; lead <= 0xFF; lead++) {
        for (unsigned tr = 0x30; tr <= 0xFF; tr++) {
            char s[6] = {(char)lead, (char)tr, (char)0x95, 0x32, (char)0x82,
                         0x36};
            for (size_t k = 2; k <= 6; k += 4) {
                uint64_t rw = 0, rg = 0;
                size_t wn = ref_gb(cd, s, k, want, &rw);
                size_t gn = fw__gb_decode(cd, s, k, got, &rg, &by_lib);
                ASSERT_EQ_INT(gn, wn);
                if (memcmp(got, want, wn) != 0)
                    FW__FAIL("GB18030 %02X %02X (%zu bytes): not iconv's "
                             "output", lead, tr, k);
                ASSERT_EQ_INT(rg, rw);
            }
        }
    }
    iconv_close(cd);
    return 0;
}

struct out {
    struct fw_buf text;
};

static int on_rec(void *ud, const struct fw_record *rec)
{
    struct out *o = ud;
    fw_record_json(rec, &o->text);
    fw_buf_putc(&o->text, '\n');
    return 0;
}

static void on_rej(void *ud, const char *feed, uint64_t line, const char *why)
{
    struct out *o = ud;
    fw_buf_printf(&o->text, "R %s:%llu: %s\n", feed, (unsigned long long)line,
                  why);
}

/* The feed pushed in chunks of `chunk` bytes (0: whole), in a declared
 * encoding (AUTO holds the first 64 KiB before reading them): the output and
 * the counts, or the error. Caller frees. */
static char *read_in(const char *s, size_t len, size_t chunk,
                     enum fw_encoding enc)
{
    struct fw_colmap *m = fw_colmap_new();
    fw_colmap_set_encoding(m, enc); /* else the first 64 KiB wait whole */
    struct out o = {FW_BUF_INIT};
    struct fw_reader_cb cb = {on_rec, on_rej, NULL};
    struct fw_reader *r = fw_reader_new(m, "t.csv", FW_FMT_AUTO, &cb, &o);
    struct fw_error err = {0};
    int rc = 0;
    if (chunk == 0)
        chunk = len;
    for (size_t i = 0; i < len && rc == 0; i += chunk)
        rc = fw_reader_push(r, s + i, len - i < chunk ? len - i : chunk, &err);
    if (rc == 0)
        rc = fw_reader_finish(r, &err);
    if (rc != 0) {
        char e[1024];
        fw_error_text(&err, e, sizeof e);
        fw_buf_printf(&o.text, "error %d: %s\n", rc, e);
    }
    const struct fw_reader_stats *st = fw_reader_stats(r);
    fw_buf_printf(&o.text, "%llu records, %llu rejects, %llu lines\n",
                  (unsigned long long)st->records,
                  (unsigned long long)st->rejects,
                  (unsigned long long)st->physical);
    fw_reader_free(r);
    fw_colmap_free(m);
    fw_buf_putc(&o.text, '\0');
    return o.text.p;
}

/* Quoted fields (doubled quotes, commas, newlines, a CR before the row's
 * LF), ASCII runs longer than the 16 bytes scanned at once, Chinese text:
 * every chunk size gives what the whole feed gives. */
static const char feed_u8[] =
    "财政区划代码,单位名称,项目名称,指标金额,累计支付,数据日期,备注\r\n"
    "500103,重庆市渝中区教育委员会,\"学校校舍维修改造, 二期\","
    "\"1,443,725.09\",169401.09,2024-06-30,"
    "\"a very long remark with \"\"quotes\"\" and, commas, past 16\"\r\n"
    "500104,abcdefghijklmnopqrstuvwxyz0123456789,\"two\r\nlines 两行\","
    "12.345,1,2024/6/30,x\n"
    "500105,\"\",\"\"\"\",1,2,20240630,\"三\n行\n文字\"\n"
    "500106,富锦市农业农村局,P\"q\"r,\"1,000\"junk,0,2024-01-01,\n"
    "230882,柳州市城中区住房和城乡建设局,智慧园区信息化建设,1,2,"
    "2021年10月31日,\"open";

TEST_IMPL(reader_refills_utf8)
{
    size_t len = sizeof feed_u8 - 1;
    char *whole = read_in(feed_u8, len, 0, FW_ENC_AUTO);
    ASSERT_CONTAINS(whole, "\"project_name\":\"学校校舍维修改造, 二期\"");
    ASSERT_CONTAINS(whole, "R t.csv:3: 指标金额 \"12.345\": more than two "
                           "decimals\n");
    ASSERT_CONTAINS(whole, "\"project_name\":\"\\\"\",");
    ASSERT_CONTAINS(whole, "\"extra\":{\"备注\":\"三\\n行\\n文字\"}");
    ASSERT_CONTAINS(whole, "R t.csv:8: text after a closing quote\n");
    ASSERT_CONTAINS(whole, "R t.csv:9: a quoted field is not closed\n");
    ASSERT_CONTAINS(whole, "2 records, 3 rejects, 9 lines\n");
    for (size_t chunk = 1; chunk <= 97; chunk++) {
        char *part = read_in(feed_u8, len, chunk, FW_ENC_UTF8);
        ASSERT_EQ_STR(part, whole);
        free(part);
    }
    free(whole);
    return 0;
}

/* The same feed in GB18030, with a four-byte code (U+20000, 𠀀: iconv's
 * part) and bytes that are no GB18030 (the row is rejected): every
 * character is cut by some refill. */
TEST_IMPL(reader_refills_gb18030)
{
    iconv_t cd = iconv_open("GB18030", "UTF-8");
    ASSERT(cd != (iconv_t)-1);
    static char gb[4096];
    char *ip = (char *)feed_u8, *op = gb;
    size_t il = sizeof feed_u8 - 1, ol = sizeof gb;
    ASSERT(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1);
    iconv_close(cd);
    static const char more[] =
        "\n500107,\x95\x32\x82\x36\xd3\xe5,x,1,2,2024-06-30,y\n"
        "500108,\xd3\xe5\x80\xff,x,1,2,2024-06-30,y\n"
        "500109,\xd3\xe5\x81,x,1,2,2024-06-30,\xd3\xe5\xd6\xd0\n";
    /* before the unclosed quote's row: it would swallow them */
    char *cut = memrchr(gb, '\n', (size_t)(op - gb));
    ASSERT(cut != NULL);
    size_t len = (size_t)(cut - gb);
    memcpy(gb + len, more, sizeof more - 1);
    len += sizeof more - 1;
    char *whole = read_in(gb, len, 0, FW_ENC_AUTO);
    ASSERT_CONTAINS(whole, "\"project_name\":\"学校校舍维修改造, 二期\"");
    ASSERT_CONTAINS(whole, "\"extra\":{\"备注\":\"三\\n行\\n文字\"}");
    ASSERT_CONTAINS(whole, "\"dept_name\":\"𠀀渝\"");
    ASSERT_CONTAINS(whole, "R t.csv:10: bytes that are neither UTF-8 nor "
                           "GB18030\n");
    ASSERT_CONTAINS(whole, "R t.csv:11: bytes that are neither UTF-8 nor "
                           "GB18030\n");
    ASSERT_CONTAINS(whole, "3 records, 4 rejects, 11 lines\n");
    for (size_t chunk = 1; chunk <= 97; chunk++) {
        char *part = read_in(gb, len, chunk, FW_ENC_GB18030);
        ASSERT_EQ_STR(part, whole);
        free(part);
    }
    free(whole);
    return 0;
}
