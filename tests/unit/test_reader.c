/* rules/reader.c: CSV and NDJSON into records and rejects, pushed in chunks
 * of every size, with the whole-file errors. */
#include "task.h"

#include "fundwatch/buf.h"
#include "fundwatch/error.h"
#include "fundwatch/reader.h"

struct out {
    struct fw_buf text; /* records as JSON lines, rejects as "R line: why" */
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

/* Reads s in chunks of `chunk` bytes (0 = all at once); returns the output
 * (caller frees) and the status in *rc, the error text in errbuf. */
static char *run(const struct fw_colmap *map, const char *s, size_t len,
                 size_t chunk, int *rc, char *errbuf,
                 struct fw_reader_stats *st)
{
    struct out o = {FW_BUF_INIT};
    struct fw_reader_cb cb = {on_rec, on_rej, NULL};
    struct fw_reader *r = fw_reader_new(map, "t.csv", FW_FMT_AUTO, &cb, &o);
    ASSERT(r != NULL);
    struct fw_error err = {0};
    *rc = 0;
    if (chunk == 0)
        chunk = len ? len : 1;
    for (size_t i = 0; i < len && *rc == 0; i += chunk)
        *rc = fw_reader_push(r, s + i, len - i < chunk ? len - i : chunk, &err);
    if (*rc == 0)
        *rc = fw_reader_finish(r, &err);
    errbuf[0] = '\0';
    if (*rc != 0)
        fw_error_text(&err, errbuf, 1024);
    if (st)
        *st = *fw_reader_stats(r);
    fw_reader_free(r);
    fw_buf_putc(&o.text, '\0');
    return o.text.p;
}

static char *run_s(const char *s, int *rc, char *errbuf)
{
    struct fw_colmap *m = fw_colmap_new();
    char *out = run(m, s, strlen(s), 0, rc, errbuf, NULL);
    fw_colmap_free(m);
    return out;
}

static const char feed1[] =
    "\xEF\xBB\xBF财政区划代码,单位代码,项目代码,指标金额,累计支付,数据日期,"
    "是否新增,自评分,备注\r\n"
    "500103,D01,P01,\"5,000,000.00\",1500000,2024-06-30,是,93.5,\"a \"\"q\"\"\"\r\n"
    "500103,D01,P02,12.345,1,2024/6/30,否,,x\r\n"
    "\r\n"
    "450202,D02,,1,2,20240630,1,100%,\"two\nlines\"\r\n"
    ",,,,,,,,\r\n"
    "230882,D03,P9,-0.5,0,2021年10月31日,false,0,\"\"\r\n";

TEST_IMPL(reader_csv_basic)
{
    int rc;
    char e[1024];
    struct fw_reader_stats st;
    struct fw_colmap *m = fw_colmap_new();
    char *out = run(m, feed1, sizeof feed1 - 1, 0, &rc, e, &st);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_CONTAINS(out,
                    "{\"kind\":\"execution\",\"region\":\"500103\",\"dept\":"
                    "\"D01\",\"project\":\"P01\",\"is_new\":true,\"budget\":"
                    "\"5000000.00\",\"paid\":\"1500000.00\",\"as_of\":"
                    "\"2024-06-30\",\"score\":93.50,\"extra\":{\"备注\":"
                    "\"a \\\"q\\\"\"},\"source\":{\"feed\":\"t.csv\","
                    "\"line\":2}}");
    ASSERT_CONTAINS(out, "R t.csv:3: 指标金额 \"12.345\": more than two "
                         "decimals\n");
    ASSERT_CONTAINS(out, "\"score\":100.00,\"extra\":{\"备注\":\"two\\nlines\"}"
                         ",\"source\":{\"feed\":\"t.csv\",\"line\":5}}");
    /* the record after the quoted newline is on physical line 8 */
    ASSERT_CONTAINS(out, "\"budget\":\"-0.50\",\"paid\":\"0.00\",\"as_of\":"
                         "\"2021-10-31\"");
    ASSERT_CONTAINS(out, "\"line\":8}}");
    ASSERT_EQ_INT(st.records, 3);
    ASSERT_EQ_INT(st.rejects, 1);
    ASSERT_EQ_INT(st.header, 1);
    ASSERT_EQ_INT(st.blank, 2);
    ASSERT_EQ_INT(st.lines, st.records + st.rejects + st.header + st.blank);
    ASSERT_EQ_INT(st.physical, 8);
    free(out);
    fw_colmap_free(m);
    return 0;
}

/* Whatever the chunk size, the output is the same. */
TEST_IMPL(reader_chunk_invariance)
{
    struct fw_colmap *m = fw_colmap_new();
    int rc0, rc;
    char e[1024];
    char *whole = run(m, feed1, sizeof feed1 - 1, 0, &rc0, e, NULL);
    for (size_t chunk = 1; chunk < 64; chunk++) {
        char *part = run(m, feed1, sizeof feed1 - 1, chunk, &rc, e, NULL);
        ASSERT_EQ_INT(rc, rc0);
        ASSERT_EQ_STR(part, whole);
        free(part);
    }
    free(whole);
    fw_colmap_free(m);
    return 0;
}

TEST_IMPL(reader_gb18030)
{
    /* "财政区划代码,指标金额(万元),单位名称\n500103,1.5,渝中区财政局\n" in GBK */
    static const char gbk[] =
        "\xb2\xc6\xd5\xfe\xc7\xf8\xbb\xae\xb4\xfa\xc2\xeb,"
        "\xd6\xb8\xb1\xea\xbd\xf0\xb6\xee(\xcd\xf2\xd4\xaa),"
        "\xb5\xa5\xce\xbb\xc3\xfb\xb3\xc6\n"
        "500103,1.5,\xd3\xe5\xd6\xd0\xc7\xf8\xb2\xc6\xd5\xfe\xbe\xd6\n"
        "500103,1.1234567,x\n";
    struct fw_colmap *m = fw_colmap_new();
    for (size_t chunk = 0; chunk < 8; chunk++) {
        int rc;
        char e[1024];
        char *out = run(m, gbk, sizeof gbk - 1, chunk, &rc, e, NULL);
        ASSERT_EQ_INT(rc, 0);
        ASSERT_CONTAINS(out, "\"dept_name\":\"渝中区财政局\",\"budget\":"
                             "\"15000.00\"");
        ASSERT_CONTAINS(out, "R t.csv:3: 指标金额(万元) \"1.1234567\": more "
                             "than six decimals in 万元");
        free(out);
    }
    fw_colmap_free(m);
    return 0;
}

TEST_IMPL(reader_ndjson)
{
    static const char nd[] =
        "{\"region\":\"500103\",\"budget\":5000000.10,\"paid\":\"1,000\","
        "\"as_of\":\"2024-06-30\",\"kind\":\"evaluation\",\"score\":89.99,"
        "\"is_new\":true,\"备注\":7}\n"
        "\n"
        "{\"财政区划代码\":\"450202\",\"指标金额\":0.001}\n"
        "{\"region\":\"450202\",\"budget\":{\"a\":1}}\n"
        "[1,2]\n"
        "{\"region\":\"450202\"\n"
        "{\"region\":\"450202\"} x\n"
        "{\"region\":\"1234\"}\n"
        "{\"budget\":1}\n"
        "{\"region\":\"450202\",\"budget\":99999999999999999999}\n";
    int rc;
    char e[1024];
    char *out = run_s(nd, &rc, e);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_CONTAINS(out, "{\"kind\":\"evaluation\",\"region\":\"500103\","
                         "\"is_new\":true,\"budget\":\"5000000.10\","
                         "\"paid\":\"1000.00\",\"as_of\":\"2024-06-30\","
                         "\"score\":89.99,\"extra\":{\"备注\":\"7\"}");
    ASSERT_CONTAINS(out, "R t.csv:3: 指标金额 \"0.001\": more than two "
                         "decimals\n");
    ASSERT_CONTAINS(out, "R t.csv:4: budget: an object or a list, not a "
                         "value\n");
    ASSERT_CONTAINS(out, "R t.csv:5: not a JSON object\n");
    ASSERT_CONTAINS(out, "R t.csv:6: not JSON: ");
    ASSERT_CONTAINS(out, "R t.csv:7: text after the JSON object\n");
    ASSERT_CONTAINS(out, "R t.csv:8: region \"1234\": not a region code");
    ASSERT_CONTAINS(out, "R t.csv:9: 财政区划代码: missing");
    /* json-c saturates integers past 64 bits; still too large. */
    ASSERT_CONTAINS(out, "R t.csv:10: budget \"");
    ASSERT_CONTAINS(out, "\": too large\n");
    free(out);
    return 0;
}

TEST_IMPL(reader_row_rejects)
{
    int rc;
    char e[1024];
    char *out = run_s(
        "region,budget,as_of,year,is_new,goal_rate,kind\n"
        "500103,abc,2024-02-30,24,maybe,101,audit\n"
        "500103,1\n"
        "500103,1,2024-01-01,2024,是,50,\"task\"x\n"
        "5001031,1,2024-01-01,2024,是,50,task\n"
        "500103,1,2024-01-01,2024,是,50,\"open\n",
        &rc, e);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_CONTAINS(out, "R t.csv:2: budget \"abc\": not a number; as_of "
                         "\"2024-02-30\": no such date; year \"24\": not a "
                         "budget year (four digits); is_new \"maybe\": not "
                         "yes or no (是/否, true/false, 1/0); goal_rate "
                         "\"101\": not between 0 and 100; kind \"audit\": "
                         "not a record kind (execution, evaluation or task)\n");
    ASSERT_CONTAINS(out, "R t.csv:3: 2 fields, but the header has 7\n");
    ASSERT_CONTAINS(out, "R t.csv:4: text after a closing quote\n");
    ASSERT_CONTAINS(out, "R t.csv:5: region \"5001031\": not a region code");
    ASSERT_CONTAINS(out, "R t.csv:6: a quoted field is not closed\n");
    free(out);
    return 0;
}

TEST_IMPL(reader_not_utf8_declared)
{
    struct fw_colmap *m = fw_colmap_new();
    fw_colmap_set_encoding(m, FW_ENC_UTF8);
    int rc;
    char e[1024];
    static const char s[] = "region,dept_name\n500103,\xd3\xe5\n";
    char *out = run(m, s, sizeof s - 1, 0, &rc, e, NULL);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_CONTAINS(out, "R t.csv:2: bytes that are not UTF-8 (a GBK feed? "
                         "declare encoding: gb18030 in the column map)\n");
    free(out);
    fw_colmap_free(m);
    return 0;
}

static void whole(const char *s, size_t len, const char *want)
{
    struct fw_colmap *m = fw_colmap_new();
    int rc;
    char e[1024];
    char *out = run(m, s, len, 0, &rc, e, NULL);
    if (rc >= 0)
        FW__FAIL("accepted: %s", out);
    ASSERT_EQ_STR(e, want);
    free(out);
    fw_colmap_free(m);
}

TEST_IMPL(reader_whole_file_errors)
{
    whole("", 0, "t.csv: an empty file, not a feed");
    whole("\n\n \n", 4, "t.csv: no header row: only blank lines");
    whole("hello world\nthis is text\n", 25,
          "t.csv:1: not a feed: no column of the header names a known field "
          "(header: hello world)");
    whole("单位代码,指标金额\nD1,1\n", 26,
          "t.csv:1: the header has no 财政区划代码 column (region)");
    whole("region,财政区划代码\n", 26,
          "t.csv:1: columns 1 (region) and 2 (财政区划代码) both map to "
          "region");
    whole("region\n500103\nab\0cd\n", 20,
          "t.csv:3: a NUL byte: a binary file, not a feed");
    size_t big = (2u << 20) + 10;
    char *s = malloc(big);
    memcpy(s, "region\n", 7);
    memset(s + 7, 'x', big - 7);
    whole(s, big, "t.csv:2: a line longer than 1 MiB");
    s[7] = '"';
    whole(s, big, "t.csv:2: a row longer than 1 MiB (a quote not closed?)");
    free(s);
    return 0;
}

TEST_IMPL(reader_stop_from_callback)
{
    struct fw_colmap *m = fw_colmap_new();
    struct fw_reader_cb cb = {NULL, NULL, NULL};
    struct fw_reader *r = fw_reader_new(m, "t", FW_FMT_CSV, &cb, NULL);
    struct fw_error err = {0};
    ASSERT_EQ_INT(fw_reader_push(r, "region\n500103\n", 14, &err), 0);
    ASSERT_EQ_INT(fw_reader_finish(r, &err), 0);
    ASSERT_EQ_INT(fw_reader_stats(r)->records, 1);
    fw_reader_free(r);
    fw_colmap_free(m);
    return 0;
}
