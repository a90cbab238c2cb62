/* rules/table.c and rules/colmap.c: the layout of a printed export (title
 * rows, unit line, two-row header, total rows), the units a header spells,
 * a workbook cell's number and date; and the reader defects of issue 15,
 * each with the input that showed it. */
#include "task.h"

#include "fundwatch/buf.h"
#include "fundwatch/error.h"
#include "fundwatch/reader.h"

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

static void on_prob(void *ud, const char *feed, uint64_t line,
                    const char *msg, const char *data)
{
    (void)data;
    struct out *o = ud;
    fw_buf_printf(&o->text, "P %s:%llu: %s\n", feed, (unsigned long long)line,
                  msg);
}

/* Reads s in chunks (0 = whole); output text, rc, error text and stats. */
static char *read_feed(const struct fw_colmap *m, const char *s, size_t len,
                       size_t chunk, int *rc, char *e,
                       struct fw_reader_stats *st)
{
    struct out o = {FW_BUF_INIT};
    struct fw_reader_cb cb = {on_rec, on_rej, on_prob};
    struct fw_reader *r = fw_reader_new(m, "t.csv", FW_FMT_AUTO, &cb, &o);
    struct fw_error err = {0};
    *rc = 0;
    if (chunk == 0)
        chunk = len ? len : 1;
    for (size_t i = 0; i < len && *rc == 0; i += chunk)
        *rc = fw_reader_push(r, s + i, len - i < chunk ? len - i : chunk, &err);
    if (*rc == 0)
        *rc = fw_reader_finish(r, &err);
    e[0] = '\0';
    if (*rc != 0)
        fw_error_text(&err, e, 1024);
    if (st)
        *st = *fw_reader_stats(r);
    fw_reader_free(r);
    fw_buf_putc(&o.text, '\0');
    return o.text.p;
}

static char *read_s(const char *s, int *rc, char *e, struct fw_reader_stats *st)
{
    struct fw_colmap *m = fw_colmap_new();
    char *out = read_feed(m, s, strlen(s), 0, rc, e, st);
    fw_colmap_free(m);
    return out;
}

/* ---- the layout of a printed export ------------------------------------ */

static const char printed[] =
    "重庆市渝中区2024年项目支出预算执行情况表,,,,\n"
    "编制单位:渝中区财政局,,,,单位：万元\n"
    ",,,,\n"
    "财政区划代码,单位名称,本年预算执行,,数据日期\n"
    ",,指标金额,累计支付/元,\n"
    "500103,区教委,1200.5,600.25,2024.9.30\n"
    "500103,区卫健委,0.3,0.1,2024.09.30\n"
    "500103,小 计,1200.8,600.35,\n"
    "500103,区财政局,1,1,2024/9/30\n"
    "500103,合　计,1201.8,601.35,\n"
    "500103,总计,1201.9,,\n";

TEST_IMPL(layout_printed_csv)
{
    int rc;
    char e[1024];
    struct fw_reader_stats st;
    char *out = read_s(printed, &rc, e, &st);
    ASSERT_EQ_INT(rc, 0);
    /* 万元 from the unit line; 累计支付/元 keeps its own unit */
    ASSERT_CONTAINS(out, "\"dept_name\":\"区教委\",\"budget\":\"12005000.00\","
                         "\"paid\":\"600.25\",\"as_of\":\"2024-09-30\"");
    ASSERT_CONTAINS(out, "\"dept_name\":\"区卫健委\",\"budget\":\"3000.00\","
                         "\"paid\":\"0.10\",\"as_of\":\"2024-09-30\"");
    /* 总计 disagrees (累计支付 is blank there: not checked) */
    ASSERT_CONTAINS(out, "P t.csv:11: the 总计 row's 指标金额 1,201.9 万元 "
                         "disagrees with the sum of the rows above it, "
                         "1,201.8 万元\n");
    ASSERT(strstr(out, "小") == NULL || strstr(out, "\"dept_name\":\"小") ==
                                            NULL);
    ASSERT_EQ_INT(st.records, 3);
    ASSERT_EQ_INT(st.rejects, 0);
    ASSERT_EQ_INT(st.title, 2);
    ASSERT_EQ_INT(st.blank, 1);
    ASSERT_EQ_INT(st.header, 2);
    ASSERT_EQ_INT(st.totals, 3);
    ASSERT_EQ_INT(st.totals_ok, 2);
    ASSERT_EQ_INT(st.problems, 1);
    ASSERT_EQ_INT(st.lines, st.records + st.rejects + st.header + st.blank +
                                st.title + st.totals);
    free(out);
    return 0;
}

TEST_IMPL(layout_unknown_columns)
{
    int rc;
    char e[1024];
    struct fw_reader_stats st;
    char *out = read_s("财政区划代码,指标金额（千元）,累计支付额,备注\n"
                       "500103,1.5,2,x\n",
                       &rc, e, &st);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_CONTAINS(out, "\"budget\":\"1500.00\"");
    ASSERT_EQ_STR(st.unknown, "累计支付额 (did you mean 累计支付?); 备注");
    free(out);
    out = read_s("财政区划代码,指标金额（单位：美元）\n500103,1\n", &rc, e,
                 NULL);
    ASSERT_EQ_INT(rc, FW_EINVAL);
    ASSERT_EQ_STR(e, "t.csv:1: column 2 \"指标金额（单位：美元）\" is a money "
                     "column (budget) in a unit fundwatch does not know (元, "
                     "千元, 万元 or 亿元)");
    free(out);
    return 0;
}

TEST_IMPL(layout_header_units)
{
    static const struct {
        const char *h;
        const char *want;
    } cases[] = {
        {"指标金额（单位：万元）", "\"budget\":\"15000.00\""},
        {"指标金额(单位:万元)", "\"budget\":\"15000.00\""},
        {"指标金额/万元", "\"budget\":\"15000.00\""},
        {"指标金额 万元", "\"budget\":\"15000.00\""},
        {"指标金额万元", "\"budget\":\"15000.00\""},
        {"预算指标(万元)", "\"budget\":\"15000.00\""},
        {"指标金额（亿元）", "\"budget\":\"150000000.00\""},
        {"指标金额(千元)", "\"budget\":\"1500.00\""},
    };
    struct fw_colmap *m = fw_colmap_new();
    struct fw_error err = {0};
    ASSERT_EQ_INT(fw_colmap_alias(m, "预算指标", FW_F_BUDGET, FW_UNIT_YUAN,
                                  &err), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char feed[256], e[1024];
        int rc;
        snprintf(feed, sizeof feed, "财政区划代码,%s\n500103,1.5\n",
                 cases[i].h);
        char *out = read_feed(m, feed, strlen(feed), 0, &rc, e, NULL);
        ASSERT_EQ_INT(rc, 0);
        ASSERT_CONTAINS(out, cases[i].want);
        free(out);
    }
    fw_colmap_free(m);
    return 0;
}

TEST_IMPL(layout_no_header_found)
{
    int rc;
    char e[1024];
    char *out = read_s("预算执行情况表\n单位：万元\n", &rc, e, NULL);
    ASSERT_EQ_INT(rc, FW_EINVAL);
    ASSERT_EQ_STR(e, "t.csv:1: not a feed: no column of the header names a "
                     "known field (header: 预算执行情况表)");
    free(out);
    return 0;
}

/* ---- the reader's own defects (issue 15) -------------------------------- */

/* A small GBK feed whose only non-ASCII bytes are its last 3: read as UTF-8
 * before (a sequence cut by the end of the sample was no evidence, even
 * when the sample was the whole feed). */
TEST_IMPL(reader_gbk_only_at_the_end)
{
    int rc;
    char e[1024];
    char *out = read_s("region,dept_name\n500103,x\xd6\xd0\n", &rc, e, NULL);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_CONTAINS(out, "\"dept_name\":\"x中\"");
    free(out);
    return 0;
}

/* A CRLF row ending in a quoted field whose CR is the last byte of a read:
 * one blank row too many before. */
TEST_IMPL(reader_crlf_quote_at_chunk_end)
{
    static const char s[] = "region,dept_name\r\n500103,\"a\"\r\n500103,b\r\n";
    const char *cr = strstr(s, "\"a\"\r") + 3;
    struct fw_colmap *m = fw_colmap_new();
    int rc;
    char e[1024];
    struct fw_reader_stats st;
    char *out = read_feed(m, s, sizeof s - 1, (size_t)(cr - s) + 1, &rc, e,
                          &st);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_EQ_INT(st.records, 2);
    ASSERT_EQ_INT(st.blank, 0);
    free(out);
    fw_colmap_free(m);
    return 0;
}

/* A row with several problems lists the missing region beside them. */
TEST_IMPL(reader_missing_region_among_others)
{
    int rc;
    char e[1024];
    char *out = read_s("region,budget\n,abc\n", &rc, e, NULL);
    ASSERT_CONTAINS(out, "R t.csv:2: budget \"abc\": not a number; region: "
                         "missing (every record needs its region)\n");
    free(out);
    return 0;
}

/* json-c's lenient extensions are not JSON: each such line is a reject. */
TEST_IMPL(reader_ndjson_strict)
{
    int rc;
    char e[1024];
    char *out = read_s("{\"region\":\"500103\"}\n"
                       "{\"region\":\"500103\",}\n"
                       "{/* c */\"region\":\"500103\"}\n"
                       "{'region':'500103'}\n"
                       "{\"region\":\"500103\",\"budget\":01}\n"
                       "{\"region\":\"500103\",\"x\":\"a\tb\"}\n"
                       "{\"region\":\"500103\",\"x\":\"a\\u0000b\"}\n"
                       "{\"region\":\"500103\",\"budget\":NaN}\n"
                       "true\n",
                       &rc, e, NULL);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_CONTAINS(out, "R t.csv:2: not JSON: ");
    ASSERT_CONTAINS(out, "R t.csv:3: not JSON: ");
    ASSERT_CONTAINS(out, "R t.csv:4: not JSON: single quotes: JSON quotes "
                         "with \"\n");
    ASSERT_CONTAINS(out, "R t.csv:5: not JSON: ");
    ASSERT_CONTAINS(out, "R t.csv:6: not JSON: a control character inside a "
                         "string (write \\n or \\t)\n");
    ASSERT_CONTAINS(out, "R t.csv:7: not JSON: \\u0000 (a NUL) inside a "
                         "string\n");
    ASSERT_CONTAINS(out, "R t.csv:8: not JSON: NaN or Infinity: not JSON "
                         "numbers\n");
    ASSERT_CONTAINS(out, "R t.csv:9: not a JSON object\n");
    free(out);
    return 0;
}

/* A 1 MiB line without a quote is not called "a quote not closed?". */
TEST_IMPL(reader_long_line_message)
{
    size_t n = (1u << 20) + 64;
    char *s = malloc(n + 32);
    ASSERT(s != NULL);
    strcpy(s, "region,dept_name\n500103,");
    size_t k = strlen(s);
    memset(s + k, 'x', n - k);
    s[n] = '\n';
    s[n + 1] = '\0';
    int rc;
    char e[1024];
    char *out = read_s(s, &rc, e, NULL);
    ASSERT_EQ_INT(rc, FW_ELIMIT);
    ASSERT_EQ_STR(e, "t.csv:2: a line longer than 1 MiB");
    free(out);
    free(s);
    return 0;
}

/* An integer in a date column of a CSV says what it likely is. */
TEST_IMPL(reader_date_serial_as_text)
{
    int rc;
    char e[1024];
    char *out = read_s("region,as_of\n500103,45565\n", &rc, e, NULL);
    ASSERT_CONTAINS(out, "R t.csv:2: as_of \"45565\": a number, not a date: "
                         "an Excel date serial pasted as text? (45565 would "
                         "be 2024-09-30)\n");
    free(out);
    return 0;
}

/* ---- cell values ------------------------------------------------------- */

TEST_IMPL(cell_number_15_digits)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"0.30000000000000004", "0.3"},
        {"1914106.1162", "1914106.1162"},
        {"1914106.1161999999", "1914106.1162"},
        {"100", "100"},
        {"1.5E-3", "0.0015"},
        {"1E+20", "100000000000000000000"},
        {"12345678901234567", "12345678901234600"},
        {"-0.1", "-0.1"},
        {"9.99999999999999999", "10"},
        {"0", "0"},
        {"2.5e2", "250"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t k = fw_cell_number(cases[i].in, strlen(cases[i].in), out);
        ASSERT(k > 0);
        ASSERT_EQ_STR(out, cases[i].out);
    }
    ASSERT_EQ_INT(fw_cell_number("abc", 3, out), 0);
    ASSERT_EQ_INT(fw_cell_number("1e", 2, out), 0);
    return 0;
}

TEST_IMPL(cell_date_systems)
{
    char out[12];
    const char *why = NULL;
    ASSERT_EQ_INT(fw_cell_date("45565", 5, false, out, &why), 0);
    ASSERT_EQ_STR(out, "2024-09-30");
    ASSERT_EQ_INT(fw_cell_date("45565.75", 8, false, out, &why), 0);
    ASSERT_EQ_STR(out, "2024-09-30");
    ASSERT_EQ_INT(fw_cell_date("1", 1, false, out, &why), 0);
    ASSERT_EQ_STR(out, "1900-01-01");
    ASSERT_EQ_INT(fw_cell_date("59", 2, false, out, &why), 0);
    ASSERT_EQ_STR(out, "1900-02-28");
    ASSERT_EQ_INT(fw_cell_date("61", 2, false, out, &why), 0);
    ASSERT_EQ_STR(out, "1900-03-01");
    ASSERT_EQ_INT(fw_cell_date("60", 2, false, out, &why), FW_EINVAL);
    ASSERT_EQ_STR(why, "1900-02-29, a day that never was (Excel's 1900 "
                       "leap-year bug)");
    ASSERT_EQ_INT(fw_cell_date("0", 1, true, out, &why), 0);
    ASSERT_EQ_STR(out, "1904-01-01");
    ASSERT_EQ_INT(fw_cell_date("44103", 5, true, out, &why), 0);
    ASSERT_EQ_STR(out, "2024-09-30");
    ASSERT_EQ_INT(fw_cell_date("-1", 2, false, out, &why), FW_EINVAL);
    return 0;
}
