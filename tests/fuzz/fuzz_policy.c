/* libFuzzer target: a policy file as it comes from an officer's editor. The
 * input is one policy's Lua source (and, after a "\n--yaml--\n" line, its
 * parameters YAML): the declaration checks, the sandbox and the emit
 * validation run on it, over one record of each kind and the feed's end,
 * with small limits so that every input ends quickly. Whatever happens,
 * each finding must print as JSON and nothing may crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fundwatch/buf.h"
#include "fundwatch/engine.h"
#include "fundwatch/reader.h"

static int collect(void *ud, const struct fw_finding *f)
{
    struct fw_buf *b = ud;
    b->len = 0;
    fw_finding_json(f, b);
    if (b->p == NULL || f->policy == NULL)
        abort();
    return 0;
}

/* One record of each kind, read by the real reader; each runs through the
 * generation as it is read. */
static const char feed[] =
    "类型,财政区划代码,预算年度,单位代码,项目代码,指标金额,累计支付,数据日期,"
    "自评分,复核评分,任务编号,截止日期\n"
    "执行,500103,2024,D01,P01,5000000.00,1500000.00,2024-06-30,,,,\n"
    "评价,500103,2024,D01,P01,5000000.00,4000000.00,2024-06-30,95,76,,\n"
    "任务,230882,2021,D02,,,,2021-11-01,,,HLJ2021-03,2021-10-31\n"
    "执行,500103,2024,D01,P01,5000000.00,1500000.00,2024-06-30,,,,\n";

struct run {
    struct fw_engine *e;
    struct fw_buf b;
};

static int on_record(void *ud, const struct fw_record *rec)
{
    struct run *r = ud;
    fw_engine_run(r->e, rec, collect, &r->b);
    return 0;
}

static void on_reject(void *ud, const char *f, uint64_t line, const char *why)
{
    abort(); /* the feed above is good */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *src = (const char *)data;
    size_t lua_len = size, yaml_at = size;
    static const char sep[] = "\n--yaml--\n";
    const char *s = memmem(src, size, sep, sizeof sep - 1);
    if (s) {
        lua_len = (size_t)(s - src);
        yaml_at = lua_len + sizeof sep - 1;
    }
    struct fw_src_file files[2] = {
        {.path = "p/cn/fuzz.lua", .data = src, .len = lua_len},
        {.path = "p/cn/fuzz.yaml", .data = src + yaml_at,
         .len = size - yaml_at},
    };
    struct fw_engine_opts o = {.budget = 200000, .mem_cap = 8u << 20,
                               .error_streak = 2};
    struct fw_diag d;
    fw_diag_init(&d);
    struct fw_engine *e = fw_engine_build(files, s ? 2 : 1, &o, &d);
    if (e == NULL && d.n == 0)
        abort();
    fw_diag_fini(&d);
    if (e == NULL)
        return 0;
    struct run r = {e, FW_BUF_INIT};
    static struct fw_colmap *map;
    if (map == NULL && (map = fw_colmap_new()) == NULL)
        abort();
    int32_t now = fw_date_from_ymd(2024, 7, 1);
    if (fw_engine_feed_begin(e, "fuzz.csv", now) == 0) {
        struct fw_reader_cb cb = {on_record, on_reject};
        struct fw_reader *rd = fw_reader_new(map, "fuzz.csv", FW_FMT_CSV, &cb,
                                             &r);
        struct fw_error err = {0};
        if (rd == NULL || fw_reader_push(rd, feed, sizeof feed - 1, &err) ||
            fw_reader_finish(rd, &err))
            abort();
        fw_reader_free(rd);
        fw_engine_feed_end(e, collect, &r.b);
    }
    fw_buf_fini(&r.b);
    fw_engine_free(e);
    return 0;
}
