/* fw_buf and fw_error. */
#include "task.h"

#include "fundwatch/buf.h"
#include "fundwatch/error.h"

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

TEST_IMPL(buf_json_escapes)
{
    struct fw_buf b = FW_BUF_INIT;
    const char s[] = "a\"b\\c\n\x01 进度\xff";
    ASSERT_EQ_INT(fw_buf_json_str(&b, s, sizeof s - 1), 0);
    ASSERT_EQ_STR(b.p, "\"a\\\"b\\\\c\\n\\u0001 进度\xEF\xBF\xBD\"");
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
