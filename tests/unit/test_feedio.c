/* daemon/feedio.c's mapped reading of feeds (the commands': replay,
 * records, diff, explain): the same records as reading in chunks, and a
 * file cut short while it is read ends the read with an error, not the
 * process with SIGBUS. */
#include "task.h"

#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "feedio.h"
#include "fundwatch/error.h"

struct seen {
    const char *path;
    uint64_t records, rejects;
    uint64_t sum;   /* of every record's budget, fen */
    bool cut;       /* truncate the file at the first record */
};

static int on_record(void *ud, const struct fw_record *r)
{
    struct seen *s = ud;
    s->records++;
    s->sum += (uint64_t)r->num[FW_F_BUDGET];
    if (s->cut && s->records == 1)
        ASSERT_EQ_INT(truncate(s->path, 0), 0);
    return 0;
}

static void on_reject(void *ud, const char *feed, uint64_t line,
                      const char *reason)
{
    (void)feed, (void)line, (void)reason;
    ((struct seen *)ud)->rejects++;
}

static struct fw_colmap *builtin_map(void)
{
    struct fw_diag d;
    fw_diag_init(&d);
    struct fw_colmap *m = fw_columns_load(NULL, &d);
    ASSERT(m != NULL);
    fw_diag_fini(&d);
    return m;
}

/* A 12 MB feed: 100,000 rows. */
static void write_feed(const char *path)
{
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    fputs("region,year,project,budget,paid,as_of,project_name\n", f);
    for (int i = 0; i < 100000; i++)
        fprintf(f, "500103,2024,P%06d,%d.%02d,0,2024-06-30,\"%s\"\n", i,
                1000 + i, i % 100,
                "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十"
                "一二三四五六七八九十");
    ASSERT_EQ_INT(fclose(f), 0);
}

TEST_IMPL(feedio_mapped_same_as_chunks)
{
    char path[] = "/tmp/fw-feedio-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    close(fd);
    write_feed(path);
    struct fw_reader_cb cb = {.on_record = on_record, .on_reject = on_reject};
    struct seen a = {path, 0, 0, 0, false}, b = a;
    struct fw_error err = {0};
    struct fw_colmap *map = builtin_map();
    fw_feed_map_files(false);
    ASSERT_EQ_INT(fw_feed_read_path(path, NULL, map, &cb, &a, NULL, &err), 0);
    fw_feed_map_files(true);
    ASSERT_EQ_INT(fw_feed_read_path(path, NULL, map, &cb, &b, NULL, &err), 0);
    fw_colmap_free(map);
    fw_feed_map_files(false);
    ASSERT_EQ_INT(a.records, 100000);
    ASSERT_EQ_INT(a.rejects, 0);
    ASSERT_EQ_INT(b.records, a.records);
    ASSERT_EQ_INT(b.rejects, a.rejects);
    ASSERT_EQ_INT(b.sum, a.sum);
    unlink(path);
    return 0;
}

TEST_IMPL(feedio_mapped_file_cut_short)
{
    char path[] = "/tmp/fw-feedio-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    close(fd);
    write_feed(path);
    struct fw_reader_cb cb = {.on_record = on_record, .on_reject = on_reject};
    struct seen s = {path, 0, 0, 0, true};
    struct fw_error err = {0};
    struct fw_colmap *map = builtin_map();
    fw_feed_map_files(true);
    int rc = fw_feed_read_path(path, "cut.csv", map, &cb, &s, NULL, &err);
    fw_feed_map_files(false);
    fw_colmap_free(map);
    ASSERT_EQ_INT(rc, FW_EIO);
    ASSERT_CONTAINS(err.place, "cut.csv");
    ASSERT_CONTAINS(err.msg, "became shorter while it was read");
    ASSERT(s.records < 100000);
    unlink(path);
    return 0;
}
