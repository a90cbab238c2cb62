/* libFuzzer target: the CSV or NDJSON reader (FUZZ_FORMAT picks which) over
 * arbitrary bytes, pushed in two chunks split where the first byte says, so
 * that the streaming path (a line cut across pushes) is exercised too. Every
 * record must satisfy what the reader promises: a JSON form, and lines =
 * records + rejects + header + blank + title rows + total rows. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fundwatch/buf.h"
#include "fundwatch/reader.h"

#ifndef FUZZ_FORMAT
#define FUZZ_FORMAT FW_FMT_CSV
#endif

static int on_record(void *ud, const struct fw_record *rec)
{
    struct fw_buf *b = ud;
    b->len = 0;
    if (fw_record_json(rec, b) < 0 || fw_record_json_flat(rec, b) < 0)
        abort();
    return 0;
}

static void on_reject(void *ud, const char *feed, uint64_t line,
                      const char *reason)
{
    if (reason == NULL || feed == NULL || line == 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fw_colmap *map;
    if (map == NULL && (map = fw_colmap_new()) == NULL)
        abort();
    struct fw_buf b = FW_BUF_INIT;
    struct fw_reader_cb cb = {on_record, on_reject};
    struct fw_reader *r = fw_reader_new(map, "fuzz", FUZZ_FORMAT, &cb, &b);
    if (r == NULL)
        abort();
    size_t cut = size ? data[0] % (size + 1) : 0;
    struct fw_error err = {0};
    int rc = fw_reader_push(r, (const char *)data, cut, &err);
    if (rc == 0)
        rc = fw_reader_push(r, (const char *)data + cut, size - cut, &err);
    if (rc == 0)
        rc = fw_reader_finish(r, &err);
    const struct fw_reader_stats *st = fw_reader_stats(r);
    /* every row is one of these: title rows and 合计 rows are not records */
    if (rc == 0 && st->lines != st->records + st->rejects + st->header +
                                    st->blank + st->title + st->totals)
        abort();
    fw_reader_free(r);
    fw_buf_fini(&b);
    return 0;
}
