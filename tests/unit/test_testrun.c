/* daemon/testrun: policy test files through a real engine built from files
 * in memory. The matching (distinct findings, any order), expect: none,
 * absent, money and ratio comparison, structure checks with and without an
 * engine, and the pattern. */
#include "task.h"

#include "fundwatch/buf.h"
#include "testrun.h"

static const char pol[] =
    "return policy {\n"
    "  id = \"t\", title = \"t\", regions = { \"\" },\n"
    "  rules = { { id = \"t_a\", title = \"a\", source = \"s\" },\n"
    "            { id = \"t_c\", title = \"c\", source = \"s\" } },\n"
    "  on_execution = function(rec, ctx)\n"
    "    if rec.budget >= 100 then\n"
    "      alert { rule = \"t_a\", level = rec.budget >= 1000 and \"red\" or\n"
    "              \"yellow\", message = \"budget \" .. fw.yuan(rec.budget) }\n"
    "    end\n"
    "    if rec.paid and rec.paid > 0 then\n"
    "      clawback { rule = \"t_c\", amount = rec.paid, ratio = \"0.50\",\n"
    "                 message = \"claw\" }\n"
    "    end\n"
    "  end,\n"
    "}\n";

static const char tests[] =
    "cases:\n"
    "  - name: any order\n"                                     /* 2 */
    "    now: 2024-07-01\n"
    "    records:\n"
    "      - {region: \"110101\", budget: \"5.00\"}\n"
    "      - {region: \"110101\", budget: \"20.00\"}\n"
    "    expect:\n"
    "      - {rule: t_a}\n"
    "      - {rule: t_a, level: yellow, message: \"5.00\"}\n"
    "  - name: money and ratio\n"                                /* 10 */
    "    now: 2024-07-01\n"
    "    records: [{region: \"110101\", 指标金额: \"0.5\", 累计支付: \"1,234.5\"}]\n"
    "    expect: [{rule: t_c, kind: clawback, amount: \"1234.50\", ratio: \"0.5\"}]\n"
    "  - name: none\n"                                           /* 14 */
    "    now: 2024-07-01\n"
    "    records: [{region: \"110101\", budget: \"0.99\"}]\n"
    "    expect: none\n"
    "  - name: fails\n"                                          /* 18 */
    "    now: 2024-07-01\n"
    "    records: [{region: \"110101\", budget: \"10.00\", paid: \"1\"}]\n"
    "    expect: [{rule: t_a, level: yellow}]\n"
    "    absent: [t_c]\n";

static struct fw_engine *build(struct fw_src_file *f, size_t n)
{
    struct fw_diag d;
    fw_diag_init(&d);
    struct fw_engine_opts o = {0};
    struct fw_engine *e = fw_engine_build(f, n, &o, &d);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "  %s\n", d.items[i]);
    fw_diag_fini(&d);
    ASSERT(e != NULL);
    return e;
}

TEST_IMPL(testrun_cases)
{
    struct fw_src_file f[] = {
        {"p/cn/t.lua", pol, sizeof pol - 1, NULL},
        {"p/cn/t_test.yaml", tests, sizeof tests - 1, NULL},
    };
    struct fw_engine *e = build(f, 2);
    struct fw_buf out = FW_BUF_INIT;
    struct fw_testrun_stats st;
    struct fw_error err;
    fw_error_clear(&err);
    ASSERT_EQ_INT(fw_testrun_run(e, f, 2, NULL, NULL, &out, &st, &err), 0);
    ASSERT_EQ_INT(st.files, 1);
    ASSERT_EQ_INT(st.cases, 4);
    ASSERT_EQ_INT(st.passed, 3);
    ASSERT_EQ_INT(st.failed, 1);
    ASSERT_EQ_INT(st.errors, 0);
    ASSERT_CONTAINS(out.p, "ok 1 - p/cn/t_test.yaml:2: any order\n");
    ASSERT_CONTAINS(out.p, "ok 2 - p/cn/t_test.yaml:10: money and ratio\n");
    ASSERT_CONTAINS(out.p, "ok 3 - p/cn/t_test.yaml:14: none\n");
    ASSERT_CONTAINS(out.p, "not ok 4 - p/cn/t_test.yaml:18: fails\n");
    ASSERT_CONTAINS(out.p, "  - expected, not produced (p/cn/t_test.yaml:21): "
                           "{rule: t_a, level: yellow}\n");
    ASSERT_CONTAINS(out.p, "  + produced, not expected: t_a alert red, "
                           "message \"budget 10.00\", source "
                           "p/cn/t_test.yaml:20 [t]\n");
    ASSERT_CONTAINS(out.p, "  ! fired, listed in absent (p/cn/t_test.yaml:22): "
                           "t_c clawback, amount 1.00, ratio 0.50");
    ASSERT_CONTAINS(out.p, "  findings produced (2):\n");

    /* The pattern selects files by a substring of their path. */
    fw_buf_reset(&out);
    ASSERT_EQ_INT(fw_testrun_run(e, f, 2, "nomatch", NULL, &out, &st, &err), 0);
    ASSERT_EQ_INT(st.files, 0);
    ASSERT_EQ_INT(st.cases, 0);
    ASSERT_EQ_INT(out.len, 0);
    fw_buf_fini(&out);
    fw_engine_free(e);
    return 0;
}

TEST_IMPL(testrun_check_structure)
{
    static const char bad[] =
        "cases:\n"
        "  - name: x\n"
        "    now: 2024-02-30\n"
        "    records: [{region: \"110101\"}]\n"
        "    expect: [{rule: nope, level: red}]\n";
    struct fw_src_file f[] = {
        {"p/cn/t.lua", pol, sizeof pol - 1, NULL},
        {"p/cn/t_test.yaml", bad, sizeof bad - 1, NULL},
        {"p/cn/u_test.yaml", "cases: [", 8, NULL},
    };
    struct fw_diag d;
    fw_diag_init(&d);
    /* Without an engine: structure only, rule names unchecked. */
    ASSERT_EQ_INT(fw_testrun_check(f, 3, NULL, &d), 2);
    ASSERT_EQ_INT(d.n, 2);
    ASSERT_EQ_STR(d.items[0], "p/cn/t_test.yaml:3:10: now \"2024-02-30\": "
                              "no such date");
    ASSERT_CONTAINS(d.items[1], "p/cn/u_test.yaml:2:1: a value is missing "
                                "here, or the closing ] or } of a [ or {");
    fw_diag_fini(&d);

    fw_diag_init(&d);
    struct fw_engine *e = build(f, 1);
    ASSERT_EQ_INT(fw_testrun_check(f, 3, e, &d), 2);
    ASSERT_EQ_INT(d.n, 4);
    ASSERT_EQ_STR(d.items[1], "p/cn/t_test.yaml:5:21: no policy declares "
                              "rule \"nope\"");
    ASSERT_EQ_STR(d.items[2], "p/cn/u_test.yaml: no policy p/cn/u.lua beside "
                              "this test file");
    fw_diag_fini(&d);
    fw_engine_free(e);
    return 0;
}
