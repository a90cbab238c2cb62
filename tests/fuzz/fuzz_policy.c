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

static int collect(void *ud, const struct fw_finding *f)
{
    struct fw_buf *b = ud;
    b->len = 0;
    fw_finding_json(f, b);
    if (b->p == NULL || f->policy == NULL)
        abort();
    return 0;
}

static void set_str(struct fw_record *r, enum fw_field f, const char *s)
{
    r->str[f].p = s;
    r->str[f].n = strlen(s);
    r->present |= 1u << f;
}

static void set_num(struct fw_record *r, enum fw_field f, int64_t v)
{
    r->num[f] = v;
    r->present |= 1u << f;
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
        {"p/cn/fuzz.lua", src, lua_len},
        {"p/cn/fuzz.yaml", src + yaml_at, size - yaml_at},
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
    struct fw_buf b = FW_BUF_INIT;
    struct fw_record r;
    memset(&r, 0, sizeof r);
    set_str(&r, FW_F_REGION, "500103");
    set_num(&r, FW_F_YEAR, 2024);
    set_str(&r, FW_F_DEPT, "D01");
    set_str(&r, FW_F_PROJECT, "P01");
    set_num(&r, FW_F_BUDGET, 500000000);
    set_num(&r, FW_F_PAID, 150000000);
    set_num(&r, FW_F_AS_OF, fw_date_from_ymd(2024, 6, 30));
    r.feed = "fuzz.csv";
    r.line = 2;
    int32_t now = fw_date_from_ymd(2024, 7, 1);
    if (fw_engine_feed_begin(e, "fuzz.csv", now) == 0) {
        for (int k = 0; k < 3; k++) {
            r.kind = (enum fw_rkind)k;
            r.line = 2 + (uint64_t)k;
            fw_engine_run(e, &r, collect, &b);
        }
        fw_engine_run(e, &r, collect, &b); /* the same record again */
        fw_engine_feed_end(e, collect, &b);
    }
    fw_buf_fini(&b);
    fw_engine_free(e);
    return 0;
}
