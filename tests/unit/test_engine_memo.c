/* What the engine keeps between records so that a record costs less: the
 * dates a policy reads as strings (rec.as_of, fw.in_year), the rule names
 * ctx.active is asked about, and each region's governing policies and
 * replaced rules. Each is held to what the engine gives without it: many
 * more dates and regions than the caches have slots, in orders that make
 * them collide and evict. */
#include "task.h"

#include <stdbool.h>
#include <string.h>

#include "fundwatch/buf.h"
#include "fundwatch/engine.h"
#include "findings.h"

static struct fw_engine *build(const char *const *paths,
                               const char *const *srcs, size_t n)
{
    struct fw_src_file f[4];
    for (size_t i = 0; i < n; i++)
        f[i] = (struct fw_src_file){paths[i], srcs[i], strlen(srcs[i]), NULL};
    struct fw_diag d;
    fw_diag_init(&d);
    struct fw_engine *e = fw_engine_build(f, n, NULL, &d);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "  build: %s\n", d.items[i]);
    fw_diag_fini(&d);
    return e;
}

static struct fw_record rec_at(const char *region, int32_t day)
{
    struct fw_record r;
    memset(&r, 0, sizeof r);
    r.kind = FW_RK_EXECUTION;
    r.str[FW_F_REGION].p = region;
    r.str[FW_F_REGION].n = strlen(region);
    r.num[FW_F_AS_OF] = day;
    r.num[FW_F_YEAR] = 2024;
    r.present = 1u << FW_F_REGION | 1u << FW_F_AS_OF | 1u << FW_F_YEAR;
    r.feed = "t.csv";
    r.line = 2;
    return r;
}

/* rec.as_of and fw.in_year over 400 days, forwards, backwards and jumping:
 * every string is the day's own (the cache has 64 slots). */
TEST_IMPL(engine_dates_kept_are_right)
{
    static const char *const paths[] = {"p/cn/t.lua"};
    static const char *const srcs[] = {
        "return policy { id = 't', title = 't', regions = { '' },\n"
        "  rules = { { id = 'r', title = 'r', source = 's' } },\n"
        "  on_execution = function(rec, ctx)\n"
        "    local d = rec.as_of\n"
        "    local y = fw.in_year(rec.year + 1, d:sub(6))\n"
        "    alert { rule = 'r', level = 'info', message = d .. ' ' .. y ..\n"
        "            ' ' .. rec.as_of }\n"
        "  end }\n"};
    struct fw_engine *e = build(paths, srcs, 1);
    ASSERT(e != NULL);
    ASSERT_EQ_INT(fw_engine_feed_begin(e, "t.csv", 0), 0);
    int32_t base = fw_date_from_ymd(2024, 1, 1);
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < 400; i++) {
            int k = pass == 0 ? i : pass == 1 ? 399 - i : (i * 97) % 400;
            int32_t day = base + k;
            if (k == 59) /* 2024-02-29: no such day in 2025 */
                continue;
            struct fw_record r = rec_at("110101", day);
            struct got g = {FW_BUF_INIT, 0, 0};
            ASSERT_EQ_INT(fw_engine_run(e, &r, collect, &g), 0);
            ASSERT_EQ_INT(g.n, 1);
            char d[16], y[16], want[64];
            fw_date_format(day, d);
            int yy, mm, dd;
            ASSERT(sscanf(d, "%d-%d-%d", &yy, &mm, &dd) == 3);
            fw_date_format(fw_date_from_ymd(2025, mm, dd), y);
            snprintf(want, sizeof want, "\"message\":\"%s %s %s\"", d, y, d);
            ASSERT_CONTAINS(g.json.p, want);
            fw_buf_fini(&g.json);
        }
    ASSERT_EQ_INT(fw_engine_feed_end(e, collect, &(struct got){0}), 0);
    fw_engine_free(e);
    return 0;
}

/* 200 regions (more than the 64 kept) of different lengths, some longer
 * than a kept key (24 bytes), under three policies: a national one with rule
 * n, one for "5101" that replaces n with its own rule s, and one for "5102"
 * with rule t that replaces nothing. ctx.active and the alerts answer for
 * each record's own region, whatever region came before it; then a task
 * rechecked (fw_engine_recheck, which shares the memo) in each kind of
 * region answers for its own. */
static const char *want_for(const char *reg)
{
    if (strncmp(reg, "5101", 4) == 0)
        return "\"message\":\"s\"";
    if (strncmp(reg, "5102", 4) == 0)
        return "\"message\":\"t n on\"";
    return "\"message\":\"n on\"";
}

TEST_IMPL(engine_regions_kept_are_right)
{
    static const char *const paths[] = {"p/cn/n.lua", "p/5101/s.lua",
                                        "p/5102/t.lua", "p/110100004/q.lua"};
    static const char *const srcs[] = {
        "return policy { id = 'n', title = 'n', regions = { '' },\n"
        "  rules = { { id = 'n', title = 'n', source = 's' } },\n"
        "  on_execution = function(rec, ctx)\n"
        "    local a = ctx.active('n') and 'on' or 'off'\n"
        "    alert { rule = 'n', level = 'info', message = 'n ' .. a }\n"
        "  end,\n"
        "  on_task = function(rec, ctx)\n"
        "    local a = ctx.active('n') and 'on' or 'off'\n"
        "    alert { rule = 'n', level = 'info', message = 'n ' .. a }\n"
        "  end }\n",
        "return policy { id = 's', title = 's', regions = { '5101' },\n"
        "  replaces = { 'n' },\n"
        "  rules = { { id = 's', title = 's', source = 's' } },\n"
        "  on_execution = function(rec, ctx)\n"
        "    alert { rule = 's', level = 'info', message = 's' }\n"
        "  end,\n"
        "  on_task = function(rec, ctx)\n"
        "    alert { rule = 's', level = 'info', message = 's' }\n"
        "  end }\n",
        "return policy { id = 't', title = 't', regions = { '5102' },\n"
        "  rules = { { id = 't', title = 't', source = 's' } },\n"
        "  on_execution = function(rec, ctx)\n"
        "    local a = ctx.active('n') and 'on' or 'off'\n"
        "    alert { rule = 't', level = 'info', message = 't n ' .. a }\n"
        "  end,\n"
        "  on_task = function(rec, ctx)\n"
        "    local a = ctx.active('n') and 'on' or 'off'\n"
        "    alert { rule = 't', level = 'info', message = 't n ' .. a }\n"
        "  end }\n",
        "return policy { id = 'q', title = 'q', regions = { '110100004' },\n"
        "  replaces = { 'n' },\n"
        "  rules = { { id = 'q', title = 'q', source = 's' } },\n"
        "  on_execution = function(rec, ctx)\n"
        "    alert { rule = 'q', level = 'info', message = 'q' }\n"
        "  end }\n"};
    struct fw_engine *e = build(paths, srcs, 4);
    ASSERT(e != NULL);
    ASSERT_EQ_INT(fw_engine_feed_begin(e, "t.csv", 0), 0);
    static const char *const heads[] = {"5101", "5102", "5103", "1101"};
    char regions[200][40];
    for (int i = 0; i < 200; i++)
        snprintf(regions[i], sizeof regions[i], "%s%0*d", heads[i % 4],
                 2 + (i * 7) % 30, i); /* 6 to 35 bytes */
    for (int n = 0; n < 2000; n++) {
        const char *reg = regions[(n * 13 + n / 200) % 200];
        struct fw_record r = rec_at(reg, fw_date_from_ymd(2024, 6, 30));
        struct got g = {FW_BUF_INIT, 0, 0};
        ASSERT_EQ_INT(fw_engine_run(e, &r, collect, &g), 0);
        /* n's alert is dropped where s replaces it; t adds its own */
        ASSERT_EQ_INT(g.n, strncmp(reg, "5102", 4) == 0 ? 2 : 1);
        ASSERT_CONTAINS(g.json.p, want_for(reg));
        fw_buf_fini(&g.json);
    }
    /* Two regions of one length and the same first 8 bytes, one under a
     * policy of its own (q replaces n there), met in turn. */
    for (int n = 0; n < 100; n++) {
        const char *reg = n % 2 ? "1101000042" : "1101000052";
        struct fw_record r = rec_at(reg, fw_date_from_ymd(2024, 6, 30));
        struct got g = {FW_BUF_INIT, 0, 0};
        ASSERT_EQ_INT(fw_engine_run(e, &r, collect, &g), 0);
        ASSERT_EQ_INT(g.n, 1);
        ASSERT_CONTAINS(g.json.p, n % 2 ? "\"message\":\"q\""
                                        : "\"message\":\"n on\"");
        fw_buf_fini(&g.json);
    }
    ASSERT_EQ_INT(fw_engine_feed_end(e, collect, &(struct got){0}), 0);
    for (int i = 0; i < 8; i++) {
        struct fw_record t = rec_at(regions[i * 23 % 200], 0);
        t.kind = FW_RK_TASK;
        t.present &= ~(1u << FW_F_AS_OF);
        struct got g = {FW_BUF_INIT, 0, 0};
        ASSERT_EQ_INT(fw_engine_recheck(e, &t, fw_date_from_ymd(2024, 6, 30),
                                        collect, &g), 0);
        if (g.errors)
            FW__FAIL("%s", g.json.p);
        ASSERT_CONTAINS(g.json.p, want_for(regions[i * 23 % 200]));
        fw_buf_fini(&g.json);
    }
    fw_engine_free(e);
    return 0;
}

/* ctx.active asked about a rule whose id is longer than Lua keeps interned
 * (40 bytes): the name a call passes is a new string each time, freed after
 * the call, and its address is soon another string's. A name that is not a
 * rule must still be refused, whatever name sat at that address before,
 * and the rule's own name still answered. */
#define LONG_ID "a_rule_with_a_long_identifier_of_45_bytes__x"
TEST_IMPL(engine_active_names_checked)
{
    static const char *const paths[] = {"p/cn/t.lua"};
    static const char *const srcs[] = {
        "return policy { id = 't', title = 't', regions = { '' },\n"
        "  rules = { { id = '" LONG_ID "', title = 'r', source = 's' } },\n"
        "  on_execution = function(rec, ctx)\n"
        "    local wrong = 0\n"
        "    for i = 1, 100 do\n"
        "      local id = ('" LONG_ID "'):sub(1, -2) .. 'x'\n"
        "      if not ctx.active(id) then wrong = wrong + 1 end\n"
        "      local junk = {}\n"
        "      for k = 1, i % 7 do junk[k] = ('z'):rep(44) .. k end\n"
        "      local bad = ('" LONG_ID "'):sub(1, -2) .. 'y'\n"
        "      if pcall(ctx.active, bad) then wrong = wrong + 1 end\n"
        "    end\n"
        "    alert { rule = '" LONG_ID "', level = 'info',\n"
        "            message = 'wrong ' .. wrong }\n"
        "  end }\n"};
    struct fw_engine *e = build(paths, srcs, 1);
    ASSERT(e != NULL);
    ASSERT_EQ_INT(fw_engine_feed_begin(e, "t.csv", 0), 0);
    for (int n = 0; n < 20; n++) {
        struct fw_record r = rec_at("110101", fw_date_from_ymd(2024, 6, 30));
        struct got g = {FW_BUF_INIT, 0, 0};
        ASSERT_EQ_INT(fw_engine_run(e, &r, collect, &g), 0);
        if (g.errors)
            FW__FAIL("%s", g.json.p);
        ASSERT_CONTAINS(g.json.p, "\"message\":\"wrong 0\"");
        fw_buf_fini(&g.json);
    }
    ASSERT_EQ_INT(fw_engine_feed_end(e, collect, &(struct got){0}), 0);
    fw_engine_free(e);
    return 0;
}

/* A finding's id is SHA-256 over each part as its length (8 bytes, little
 * endian) and its bytes, the first 32 hex digits: the values below were
 * computed outside fundwatch (Python's hashlib) from that definition. Parts
 * of more than the 1 KiB the id is built in on the stack take the heap. */
TEST_IMPL(engine_id_is_the_documented_hash)
{
    char id[FW_ID_HEX + 1];
    fw_finding_make_id("p", "r", "500103", "D", "P", "2024|2024-06", id);
    ASSERT_EQ_STR(id, "0aaa32824a25b700f0cfc5bb4747214e");
    char d[701], pr[601];
    memset(d, 'D', 700);
    d[700] = '\0';
    memset(pr, 'P', 600);
    pr[600] = '\0';
    fw_finding_make_id("p", "r", "500103", d, pr, "2024|2024-06", id);
    ASSERT_EQ_STR(id, "9a5c9719762de3ba6bc80ef336f343ee");
    /* NULL is "" */
    char a[FW_ID_HEX + 1], b[FW_ID_HEX + 1];
    fw_finding_make_id("p", "r", NULL, NULL, "P", NULL, a);
    fw_finding_make_id("p", "r", "", "", "P", "", b);
    ASSERT_EQ_STR(a, b);
    return 0;
}

/* An emit reads its table in one walk, keeping the values on the stack: a
 * number given as text is turned into text there, a table with a
 * metatable is still read field by field (its __index counts), and a field
 * the emit does not take is still named. */
TEST_IMPL(engine_emit_tables_read_once)
{
    static const char *const paths[] = {"p/cn/t.lua"};
    static const char *const srcs[] = {
        "return policy { id = 't', title = 't', regions = { '' },\n"
        "  rules = { { id = 'r', title = 'r', source = 's' },\n"
        "            { id = 'c', title = 'c', source = 's' } },\n"
        "  on_execution = function(rec, ctx)\n"
        "    alert { rule = 'r', level = 'info', message = 12345 }\n"
        "    alert(setmetatable({ level = 'red' }, { __index =\n"
        "      { rule = 'r', level = 'info', message = 'via __index',\n"
        "        project = 'PX' } }))\n"
        "    clawback { rule = 'c', amount = 1234, ratio = '0.30',\n"
        "               message = 'back', dept = 'D9' }\n"
        "    if rec.project == 'BAD' then\n"
        "      alert { rule = 'r', level = 'info', message = 'x', colour = 1 }\n"
        "    end\n"
        "  end }\n"};
    struct fw_engine *e = build(paths, srcs, 1);
    ASSERT(e != NULL);
    ASSERT_EQ_INT(fw_engine_feed_begin(e, "t.csv", 0), 0);
    struct fw_record r = rec_at("110101", fw_date_from_ymd(2024, 6, 30));
    struct got g = {FW_BUF_INIT, 0, 0};
    ASSERT_EQ_INT(fw_engine_run(e, &r, collect, &g), 0);
    ASSERT_EQ_INT(g.n, 3);
    ASSERT_EQ_INT(g.errors, 0);
    ASSERT_CONTAINS(g.json.p, "\"level\":\"info\",\"policy\":\"t\"");
    ASSERT_CONTAINS(g.json.p, "\"message\":\"12345\"");
    ASSERT_CONTAINS(g.json.p, "\"level\":\"red\"");
    ASSERT_CONTAINS(g.json.p, "\"project\":\"PX\"");
    ASSERT_CONTAINS(g.json.p, "\"message\":\"via __index\"");
    ASSERT_CONTAINS(g.json.p, "\"amount\":\"12.34\",\"ratio\":\"0.30\"");
    ASSERT_CONTAINS(g.json.p, "\"dept\":\"D9\"");
    fw_buf_fini(&g.json);
    r.str[FW_F_PROJECT].p = "BAD";
    r.str[FW_F_PROJECT].n = 3;
    r.present |= 1u << FW_F_PROJECT;
    struct got h = {FW_BUF_INIT, 0, 0};
    ASSERT_EQ_INT(fw_engine_run(e, &r, collect, &h), 0);
    ASSERT_EQ_INT(h.errors, 1);
    ASSERT_CONTAINS(h.json.p, "alert: unknown field \\\"colour\\\" (fields: "
                              "rule, level, message, region, dept, project, "
                              "task, as_of, period)");
    fw_buf_fini(&h.json);
    ASSERT_EQ_INT(fw_engine_feed_end(e, collect, &(struct got){0}), 0);
    fw_engine_free(e);
    return 0;
}
