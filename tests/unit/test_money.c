/* rules/money.c: money, dates and decimals at their boundaries. */
#include "task.h"

#include "fundwatch/error.h"
#include "fundwatch/record.h"
#include "money_int.h"

static int64_t money_ok(const char *s, enum fw_unit u)
{
    int64_t v = 12345;
    const char *why = NULL;
    int rc = fw_money_parse(s, strlen(s), u, &v, &why);
    if (rc != 0)
        FW__FAIL("money \"%s\" rejected: %s", s, why ? why : "(null)");
    return v;
}

static const char *money_bad(const char *s, enum fw_unit u)
{
    int64_t v = 0;
    const char *why = NULL;
    int rc = fw_money_parse(s, strlen(s), u, &v, &why);
    if (rc != FW_EINVAL)
        FW__FAIL("money \"%s\" accepted as %" PRId64, s, v);
    return why;
}

TEST_IMPL(money_forms)
{
    ASSERT_EQ_INT(money_ok("1234", FW_UNIT_YUAN), 123400);
    ASSERT_EQ_INT(money_ok("1234.5", FW_UNIT_YUAN), 123450);
    ASSERT_EQ_INT(money_ok("1,234.56", FW_UNIT_YUAN), 123456);
    ASSERT_EQ_INT(money_ok("-12.30", FW_UNIT_YUAN), -1230);
    ASSERT_EQ_INT(money_ok("¥1,234.56", FW_UNIT_YUAN), 123456);
    ASSERT_EQ_INT(money_ok("￥1,234.56", FW_UNIT_YUAN), 123456);
    ASSERT_EQ_INT(money_ok("-¥5", FW_UNIT_YUAN), -500);
    ASSERT_EQ_INT(money_ok("  0.01 ", FW_UNIT_YUAN), 1);
    ASSERT_EQ_INT(money_ok("0", FW_UNIT_YUAN), 0);
    ASSERT_EQ_INT(money_ok(".5", FW_UNIT_YUAN), 50);
    ASSERT_EQ_INT(money_ok("12.340", FW_UNIT_YUAN), 1234); /* trailing zero */
    ASSERT_EQ_INT(money_ok("1,000,000", FW_UNIT_YUAN), 100000000);
    return 0;
}

TEST_IMPL(money_units)
{
    ASSERT_EQ_INT(money_ok("12.345678", FW_UNIT_WAN), 12345678);
    ASSERT_EQ_INT(money_ok("1", FW_UNIT_WAN), 1000000);
    ASSERT_EQ_INT(money_ok("0.000001", FW_UNIT_WAN), 1);
    ASSERT_EQ_INT(money_ok("1.5", FW_UNIT_YI), 15000000000LL);
    ASSERT_EQ_INT(money_ok("0.0000000001", FW_UNIT_YI), 1);
    ASSERT_EQ_STR(money_bad("12.3456789", FW_UNIT_WAN),
                  "more than six decimals in 万元");
    ASSERT_EQ_STR(money_bad("0.00000000001", FW_UNIT_YI),
                  "more than ten decimals in 亿元");
    /* 9.2e18 fen / 1e6 fen per 万元 */
    ASSERT_EQ_STR(money_bad("9223372036855", FW_UNIT_WAN), "too large");
    ASSERT_EQ_INT(money_ok("9223372036854", FW_UNIT_WAN),
                  9223372036854000000LL);
    return 0;
}

TEST_IMPL(money_rejects)
{
    ASSERT_EQ_STR(money_bad("12.345", FW_UNIT_YUAN), "more than two decimals");
    ASSERT_EQ_STR(money_bad("", FW_UNIT_YUAN), "not a number");
    ASSERT_EQ_STR(money_bad("  ", FW_UNIT_YUAN), "not a number");
    ASSERT_EQ_STR(money_bad("abc", FW_UNIT_YUAN), "not a number");
    ASSERT_EQ_STR(money_bad("12a", FW_UNIT_YUAN), "not a number");
    ASSERT_EQ_STR(money_bad("1.2.3", FW_UNIT_YUAN), "not a number");
    ASSERT_EQ_STR(money_bad("１２", FW_UNIT_YUAN), "not a number");
    ASSERT_EQ_STR(money_bad("--1", FW_UNIT_YUAN), "not a number");
    ASSERT_EQ_STR(money_bad(",123", FW_UNIT_YUAN), "not a number");
    ASSERT_EQ_STR(money_bad("1,,234", FW_UNIT_YUAN), "not a number");
    ASSERT_EQ_STR(money_bad("123,", FW_UNIT_YUAN), "not a number");
    ASSERT_EQ_STR(money_bad("¥", FW_UNIT_YUAN), "not a number");
    ASSERT_EQ_STR(money_bad(".", FW_UNIT_YUAN), "not a number");
    ASSERT_EQ_STR(money_bad("1e5", FW_UNIT_YUAN), "not a number");
    ASSERT_EQ_STR(money_bad("12.34.", FW_UNIT_YUAN), "not a number");
    /* thousands separators in groups of three only: never a silent ×100 */
    ASSERT_EQ_STR(money_bad("1234,56", FW_UNIT_YUAN),
                  "a comma that is not a thousands separator (a decimal "
                  "comma? write 1234.56)");
    ASSERT_EQ_STR(money_bad("12,34", FW_UNIT_YUAN),
                  "a comma that is not a thousands separator (a decimal "
                  "comma? write 1234.56)");
    ASSERT_EQ_STR(money_bad("1,234,56", FW_UNIT_YUAN),
                  "a comma that is not a thousands separator (a decimal "
                  "comma? write 1234.56)");
    ASSERT_EQ_INT(money_ok("1,234,567.89", FW_UNIT_YUAN), 123456789);
    /* a long negative text is judged by what it is, not by its length */
    ASSERT_EQ_STR(money_bad("-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                            "xxxxxxxxxxxxxxxxxxxxxx", FW_UNIT_YUAN),
                  "not a number");
    ASSERT_EQ_INT(money_ok("-0000000000000000000000000000000000000000000000"
                           "000000000000000000001.5", FW_UNIT_YUAN), -150);
    /* 千元 */
    ASSERT_EQ_INT(money_ok("1.5", FW_UNIT_QIAN), 150000);
    ASSERT_EQ_STR(money_bad("1.000001", FW_UNIT_QIAN),
                  "more than five decimals in 千元");
    return 0;
}

TEST_IMPL(money_overflow_edges)
{
    /* INT64_MAX fen = 92233720368547758.07 yuan */
    ASSERT_EQ_INT(money_ok("92233720368547758.07", FW_UNIT_YUAN), INT64_MAX);
    ASSERT_EQ_STR(money_bad("92233720368547758.08", FW_UNIT_YUAN), "too large");
    /* the documented range is symmetric: INT64_MIN fen is refused */
    ASSERT_EQ_INT(money_ok("-92233720368547758.07", FW_UNIT_YUAN),
                  -INT64_MAX);
    ASSERT_EQ_STR(money_bad("-92233720368547758.08", FW_UNIT_YUAN),
                  "too large");
    ASSERT_EQ_STR(money_bad("-92233720368547758.09", FW_UNIT_YUAN),
                  "too large");
    ASSERT_EQ_STR(money_bad("99999999999999999999999999", FW_UNIT_YUAN),
                  "too large");
    return 0;
}

TEST_IMPL(money_format_exact)
{
    char b[32];
    fw_money_format(0, b);
    ASSERT_EQ_STR(b, "0.00");
    fw_money_format(5, b);
    ASSERT_EQ_STR(b, "0.05");
    fw_money_format(-5, b);
    ASSERT_EQ_STR(b, "-0.05");
    fw_money_format(-123450, b);
    ASSERT_EQ_STR(b, "-1234.50");
    ASSERT_EQ_INT(fw_money_format(INT64_MAX, b), 20);
    ASSERT_EQ_STR(b, "92233720368547758.07");
    fw_money_format(INT64_MIN, b);
    ASSERT_EQ_STR(b, "-92233720368547758.08");
    fw_decimal_format(7, 0, b);
    ASSERT_EQ_STR(b, "7");
    fw_decimal_format(1234, 3, b);
    ASSERT_EQ_STR(b, "1.234");
    return 0;
}

static int32_t date_ok(const char *s)
{
    int32_t d = -1;
    const char *why = NULL;
    if (fw_date_parse(s, strlen(s), &d, &why) != 0)
        FW__FAIL("date \"%s\" rejected: %s", s, why ? why : "(null)");
    return d;
}

static const char *date_bad(const char *s)
{
    int32_t d = 0;
    const char *why = NULL;
    if (fw_date_parse(s, strlen(s), &d, &why) != FW_EINVAL)
        FW__FAIL("date \"%s\" accepted as %d", s, (int)d);
    return why;
}

TEST_IMPL(date_forms)
{
    int32_t want = fw_date_from_ymd(2025, 8, 31);
    ASSERT_EQ_INT(date_ok("2025-08-31"), want);
    ASSERT_EQ_INT(date_ok("2025/8/31"), want);
    ASSERT_EQ_INT(date_ok("2025/8/3"), want - 28); /* 8 bytes, not compact */
    ASSERT_EQ_INT(date_ok("2025-8-3"), want - 28);
    ASSERT_EQ_INT(date_ok("20250831"), want);
    ASSERT_EQ_INT(date_ok("2025年8月31日"), want);
    ASSERT_EQ_INT(date_ok("2025年08月31日"), want);
    ASSERT_EQ_INT(date_ok("2025.8.31"), want);
    ASSERT_EQ_INT(date_ok("2025.08.31"), want);
    ASSERT_EQ_INT(date_ok(" 2025-8-31 "), want);
    ASSERT_EQ_INT(date_ok("1970-01-01"), 0);
    ASSERT_EQ_INT(date_ok("2024-02-29"), fw_date_from_ymd(2024, 3, 1) - 1);
    ASSERT_EQ_INT(date_ok("2000-02-29"), fw_date_from_ymd(2000, 2, 29));
    char b[16];
    fw_date_format(want, b);
    ASSERT_EQ_STR(b, "2025-08-31");
    fw_date_format(-1, b);
    ASSERT_EQ_STR(b, "1969-12-31");
    return 0;
}

TEST_IMPL(date_rejects)
{
    ASSERT_EQ_STR(date_bad("2025-02-29"), "no such date");
    ASSERT_EQ_STR(date_bad("1900-02-29"), "no such date");
    ASSERT_EQ_STR(date_bad("2025-13-01"), "no such date");
    ASSERT_EQ_STR(date_bad("2025-04-31"), "no such date");
    ASSERT_EQ_STR(date_bad("20250230"), "no such date");
    ASSERT_EQ_STR(date_bad("2025-00-10"), "no such date");
    ASSERT_EQ_STR(date_bad("2025-8/31"), "not a date");
    ASSERT_EQ_STR(date_bad("2025年8月31"), "not a date");
    ASSERT_EQ_STR(date_bad("25-08-31"), "not a date");
    ASSERT_EQ_STR(date_bad("2025-08-311"), "not a date");
    ASSERT_EQ_STR(date_bad("2025.08-31"), "not a date");
    ASSERT_EQ_STR(date_bad(""), "not a date");
    ASSERT_EQ_STR(date_bad("2025083"), "not a date");
    ASSERT_EQ_STR(date_bad("2025-08-31x"), "not a date");
    return 0;
}

TEST_IMPL(date_roundtrip_every_day)
{
    for (int32_t d = fw_date_from_ymd(1899, 1, 1);
         d < fw_date_from_ymd(2101, 1, 1); d++) {
        int y, m, dd;
        fw_date_ymd(d, &y, &m, &dd);
        ASSERT(fw_date_valid(y, m, dd));
        ASSERT_EQ_INT(fw_date_from_ymd(y, m, dd), d);
    }
    ASSERT_EQ_INT(fw_month_days(2024, 2), 29);
    ASSERT_EQ_INT(fw_month_days(2100, 2), 28);
    ASSERT_EQ_INT(fw_month_days(2025, 12), 31);
    ASSERT_EQ_INT(fw_month_days(2025, 13), 0);
    return 0;
}

TEST_IMPL(decimal_percent_score)
{
    int64_t v = 0;
    const char *why = NULL;
    ASSERT_EQ_INT(fw_decimal_parse("85.5%", 5, 2, true, &v, &why), 0);
    ASSERT_EQ_INT(v, 8550);
    ASSERT_EQ_INT(fw_decimal_parse("100", 3, 2, true, &v, &why), 0);
    ASSERT_EQ_INT(v, 10000);
    ASSERT_EQ_INT(fw_decimal_parse("90％", 5, 2, true, &v, &why), 0);
    ASSERT_EQ_INT(v, 9000);
    ASSERT_EQ_INT(fw_decimal_parse("85.5%", 5, 2, false, &v, &why), FW_EINVAL);
    ASSERT_EQ_STR(why, "not a number");
    ASSERT_EQ_INT(fw_decimal_parse("85.555", 6, 2, false, &v, &why),
                  FW_EINVAL);
    ASSERT_EQ_STR(why, "more than two decimals");
    ASSERT_EQ_INT(fw_decimal_parse("1,000", 5, 2, false, &v, &why), FW_EINVAL);
    ASSERT_EQ_INT(fw_decimal_parse("-3.5", 4, 1, false, &v, &why), 0);
    ASSERT_EQ_INT(v, -35);
    return 0;
}

TEST_IMPL(fields_table)
{
    ASSERT_EQ_STR(fw_fields[FW_F_BUDGET].name, "budget");
    ASSERT_EQ_STR(fw_fields[FW_F_BUDGET].zh, "指标金额");
    ASSERT_EQ_INT(fw_fields[FW_F_BUDGET].type, FW_T_MONEY);
    ASSERT_EQ_STR(fw_fields[FW_F_DONE_ON].zh, "完成日期");
    for (int i = 0; i < FW__F_COUNT; i++) {
        ASSERT(fw_fields[i].name != NULL);
        ASSERT_EQ_INT(fw_field_by_name(fw_fields[i].name,
                                       strlen(fw_fields[i].name)), i);
    }
    ASSERT_EQ_INT(fw_field_by_name("budge", 5), -1);
    ASSERT_EQ_INT(fw_field_by_name("budget", 6), FW_F_BUDGET);
    ASSERT_EQ_STR(fw_rkind_name(FW_RK_TASK), "task");
    ASSERT_EQ_STR(fw_rkind_name(FW_RK_EVALUATION), "evaluation");
    return 0;
}

/* The one-pass reading of the usual number agrees with the long way on
 * every text: random texts of digits, separators, points and signs, at
 * every scale, with and without thousands separators. */
TEST_IMPL(money_fast_path_as_long_way)
{
    static const char alpha[] = "0123456789012345678900,,,..-+x";
    static const enum fw_unit units[] = {FW_UNIT_YUAN, FW_UNIT_QIAN,
                                         FW_UNIT_WAN, FW_UNIT_YI};
    uint64_t st = 0x2545F4914F6CDD1Dull;
    int accepted = 0;
    for (int t = 0; t < 400000; t++) {
        char s[32];
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        uint64_t x = st;
        size_t n = (size_t)(x % 24);
        for (size_t i = 0; i < n; i++) {
            st ^= st << 13, st ^= st >> 7, st ^= st << 17;
            s[i] = alpha[st % (sizeof alpha - 1)];
        }
        int64_t want = 0, got = 0;
        const char *why = NULL;
        /* decimals: no separators, any scale */
        int scale = (int)((x >> 32) % 19);
        int grc = fw_decimal_parse(s, n, scale, false, &got, &why);
        int wrc = fw__scaled_parse_slow(s, n, scale, false, &want, &why);
        if (grc != wrc || (grc == 0 && got != want))
            FW__FAIL("decimal \"%.*s\" at scale %d: %d %lld, the long way "
                     "%d %lld", (int)n, s, scale, grc, (long long)got, wrc,
                     (long long)want);
        /* money: separators, the scale of its unit (its own minus sign) */
        enum fw_unit u = units[(x >> 48) % 4];
        if (n == 0 || s[0] == '-')
            continue;
        grc = fw_money_parse(s, n, u, &got, &why);
        wrc = fw__scaled_parse_slow(s, n, 2 + (int)u, true, &want, &why);
        if (grc != wrc || (grc == 0 && got != want))
            FW__FAIL("money \"%.*s\" in unit %d: %d %lld, the long way %d "
                     "%lld", (int)n, s, (int)u, grc, (long long)got, wrc,
                     (long long)want);
        accepted += grc == 0;
    }
    ASSERT(accepted > 1000);
    return 0;
}

/* A date written 2024-06-30 (or with / or .) is read at once; the long
 * way reads 2024年06月30日 digit by digit: the two agree on every month
 * and day from 00 to 99, valid or not, in leap and common years. */
TEST_IMPL(date_fast_path_as_long_way)
{
    static const int years[] = {0, 1900, 2000, 2023, 2024, 2100, 9999};
    static const char seps[] = "-/.";
    for (size_t yi = 0; yi < sizeof years / sizeof *years; yi++)
        for (int m = 0; m < 100; m++)
            for (int d = 0; d < 100; d++)
                for (int k = 0; k < 3; k++) {
                    char a[48], b[64];
                    snprintf(a, sizeof a, "%04d%c%02d%c%02d", years[yi],
                             seps[k], m, seps[k], d);
                    snprintf(b, sizeof b, "%04d年%02d月%02d日", years[yi], m,
                             d);
                    int32_t da = -1, db = -1;
                    const char *wa = NULL, *wb = NULL;
                    int ra = fw_date_parse(a, strlen(a), &da, &wa);
                    int rb = fw_date_parse(b, strlen(b), &db, &wb);
                    if (ra != rb || (ra == 0 && da != db) ||
                        (ra != 0 && strcmp(wa, wb) != 0))
                        FW__FAIL("%s: %d %d %s; %s: %d %d %s", a, ra,
                                 (int)da, ra ? wa : "", b, rb, (int)db,
                                 rb ? wb : "");
                }
    return 0;
}
