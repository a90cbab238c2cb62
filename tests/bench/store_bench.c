/* Store benchmark: N findings, one per record, committed in transactions of
 * T, through the daemon's path (fw_store_feed_begin, fw_store_finding_add,
 * fw_store_subject_done per record, fw_store_feed_commit), beside plain
 * SQLite inserts of the same rows into a table keyed by the id (as TEXT, or
 * as a 16-byte BLOB with a UNIQUE index), same pragmas, same run. Mode mix
 * is the daemon's other hot path: N records of which one in 20 yields a
 * finding, fw_store_subject_done for every record (most subjects have
 * nothing open); its rate is records/s.
 *   bench-store MODE N T DB   MODE: store | mix | text | blob
 * Prints "MODE rows seconds rows/s cpu-seconds" and, on stderr, the rate at
 * every quarter and (store, mix) the time fw_store_close and a reopen of the
 * database take. BENCH_CACHE_KIB and BENCH_MERGE_ROWS set those store
 * options. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fundwatch/finding.h"
#include "store/store.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_used; /* CPU seconds of the timed loop */

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench-store: %s: %s\n", what, msg);
    exit(2);
}

struct rec {
    char id[FW_ID_HEX + 1];
    char region[8], dept[24], project[24];
};

/* Records like a treasury export: regions and units cycling, one project
 * each; every record yields one alert. */
static struct rec *make(long n)
{
    static const char *const regions[] = {"500103", "500104", "230882",
                                          "410371", "450202", "110101"};
    struct rec *r = malloc((size_t)n * sizeof *r);
    if (r == NULL)
        die("records", "out of memory");
    for (long i = 0; i < n; i++) {
        snprintf(r[i].region, sizeof r[i].region, "%s", regions[i % 6]);
        snprintf(r[i].dept, sizeof r[i].dept, "%ld", 500000 + i % 97);
        snprintf(r[i].project, sizeof r[i].project, "P%08ld", i);
        fw_finding_make_id("cq-monitor", "cq_red_yellow", r[i].region,
                           r[i].dept, r[i].project, "2024|2024-06", r[i].id);
    }
    return r;
}

static struct fw_finding finding_of(const struct rec *r, long i)
{
    struct fw_finding f = {
        .kind = FW_FK_ALERT,
        .level = FW_LV_RED,
        .policy = "cq-monitor",
        .policy_version = "sha256:4f5c0e1d2a3b4c5d6e7f8091a2b3c4d5"
                          "e6f708192a3b4c5d6e7f8091a2b3c4d5e6",
        .rule = "cq_red_yellow",
        .region = r->region,
        .dept = r->dept,
        .project = r->project,
        .has_as_of = true,
        .as_of = 19904,
        .has_amount = true,
        .amount = 12345678 + i,
        .message = "支出进度落后序时进度 20.00 个百分点",
        .feed = "spool/incoming/feed-0001.csv",
        .line = (uint64_t)(i % 10000) + 2,
    };
    memcpy(f.id, r->id, sizeof f.id);
    return f;
}

static void progress(long done, long n, double t0)
{
    if (n >= 4 && done % (n / 4) == 0)
        fprintf(stderr, "    %ld rows: %.0f rows/s\n", done,
                (double)done / (now() - t0));
}

static double run_store(const struct rec *r, long n, long per, const char *db,
                        long every)
{
    struct fw_store *st;
    struct fw_error e;
    struct fw_store_opts o = {0};
    const char *v;
    if ((v = getenv("BENCH_CACHE_KIB")) != NULL)
        o.cache_kib = atoll(v);
    if ((v = getenv("BENCH_MERGE_ROWS")) != NULL)
        o.merge_rows = (size_t)atoll(v);
    if (fw_store_open(db, &o, &st, &e) < 0)
        die("open", e.msg);
    double t0 = now(), c0 = cpu();
    for (long i = 0, feed = 0; i < n; feed++) {
        char sha[65];
        snprintf(sha, sizeof sha, "%064lx", feed + 1);
        struct fw_store_feed fd = {.name = "feed.csv",
                                   .sha256 = sha,
                                   .bytes = 1,
                                   .started_ms = 1700000000000};
        if (fw_store_feed_begin(st, &fd, &e) < 0)
            die("begin", e.msg);
        for (long k = 0; k < per && i < n; k++, i++) {
            struct fw_finding f = finding_of(&r[i], i);
            bool fires = i % every == 0;
            if (fires &&
                fw_store_finding_add(st, &f, FW_RK_EXECUTION, NULL, &e) < 0)
                die("add", e.msg);
            struct fw_store_subject s = {.kind = FW_RK_EXECUTION,
                                         .region = f.region,
                                         .dept = f.dept,
                                         .project = f.project,
                                         .has_as_of = true,
                                         .as_of = f.as_of};
            if (fw_store_subject_done(st, &s,
                                      (const char(*)[FW_ID_HEX + 1]) & f.id,
                                      fires, fd.started_ms, NULL, &e) < 0)
                die("subject", e.msg);
        }
        struct fw_store_feed_end end = {.records = (uint64_t)per};
        if (fw_store_feed_commit(st, &end, &e) < 0)
            die("commit", e.msg);
        progress(i, n, t0);
    }
    double t = now() - t0;
    cpu_used = cpu() - c0;
    if (fw_store_check(st, &e) < 0)
        die("check", e.msg);
    double w0 = now();
    fw_store_close(st);
    fprintf(stderr, "    close: %.3f s\n", now() - w0);
    w0 = now();
    if (fw_store_open(db, &o, &st, &e) < 0)
        die("reopen", e.msg);
    fprintf(stderr, "    reopen: %.3f s\n", now() - w0);
    fw_store_close(st);
    return t;
}

static void exec(sqlite3 *db, const char *q)
{
    char *msg = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK)
        die(q, msg);
}

/* The same rows into one table keyed by the id: TEXT (32 hex digits) as
 * its PRIMARY KEY, or a 16-byte BLOB with a UNIQUE index. */
static double run_plain(const struct rec *r, long n, long per, const char *path,
                        bool blob)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("open", sqlite3_errmsg(db));
    exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
             "PRAGMA cache_size = -262144; PRAGMA wal_autocheckpoint = 4000;"
             "PRAGMA temp_store = MEMORY");
    exec(db, blob ? "CREATE TABLE findings(id BLOB NOT NULL UNIQUE,"
                    " kind TEXT, level TEXT, policy TEXT, policy_version TEXT,"
                    " rule TEXT, region TEXT, dept TEXT, project TEXT,"
                    " as_of INTEGER, amount INTEGER, message TEXT, feed TEXT,"
                    " line INTEGER, state TEXT, first_seen INTEGER,"
                    " last_seen INTEGER)"
                  : "CREATE TABLE findings(id TEXT PRIMARY KEY,"
                    " kind TEXT, level TEXT, policy TEXT, policy_version TEXT,"
                    " rule TEXT, region TEXT, dept TEXT, project TEXT,"
                    " as_of INTEGER, amount INTEGER, message TEXT, feed TEXT,"
                    " line INTEGER, state TEXT, first_seen INTEGER,"
                    " last_seen INTEGER)");
    sqlite3_stmt *sel, *ins;
    if (sqlite3_prepare_v2(db, "SELECT rowid FROM findings WHERE id = ?1", -1,
                           &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO findings VALUES (?1, 'alert', 'red',"
                           " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
                           " 'open', ?13, ?13)",
                           -1, &ins, NULL) != SQLITE_OK)
        die("prepare", sqlite3_errmsg(db));
    double t0 = now(), c0 = cpu();
    for (long i = 0; i < n;) {
        exec(db, "BEGIN IMMEDIATE");
        for (long k = 0; k < per && i < n; k++, i++) {
            struct fw_finding f = finding_of(&r[i], i);
            unsigned char bin[16];
            for (int j = 0; j < 16; j++) {
                unsigned v;
                sscanf(f.id + 2 * j, "%2x", &v);
                bin[j] = (unsigned char)v;
            }
            if (blob)
                sqlite3_bind_blob(sel, 1, bin, 16, SQLITE_STATIC);
            else
                sqlite3_bind_text(sel, 1, f.id, FW_ID_HEX, SQLITE_STATIC);
            if (sqlite3_step(sel) != SQLITE_DONE)
                die("select", "an id twice");
            sqlite3_reset(sel);
            if (blob)
                sqlite3_bind_blob(ins, 1, bin, 16, SQLITE_STATIC);
            else
                sqlite3_bind_text(ins, 1, f.id, FW_ID_HEX, SQLITE_STATIC);
            sqlite3_bind_text(ins, 2, f.policy, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 3, f.policy_version, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 4, f.rule, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 5, f.region, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 6, f.dept, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 7, f.project, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 8, f.as_of);
            sqlite3_bind_int64(ins, 9, f.amount);
            sqlite3_bind_text(ins, 10, f.message, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 11, f.feed, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 12, (int64_t)f.line);
            sqlite3_bind_int64(ins, 13, 1700000000000);
            if (sqlite3_step(ins) != SQLITE_DONE)
                die("insert", sqlite3_errmsg(db));
            sqlite3_reset(ins);
        }
        exec(db, "COMMIT");
        progress(i, n, t0);
    }
    double t = now() - t0;
    cpu_used = cpu() - c0;
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    return t;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench-store store|mix|text|blob N PER_TX DB\n");
        return 2;
    }
    long n = atol(argv[2]), per = atol(argv[3]);
    if (n <= 0 || per <= 0)
        die("usage", "N and PER_TX are positive");
    struct rec *r = make(n);
    double t;
    if (strcmp(argv[1], "store") == 0)
        t = run_store(r, n, per, argv[4], 1);
    else if (strcmp(argv[1], "mix") == 0)
        t = run_store(r, n, per, argv[4], 20);
    else if (strcmp(argv[1], "text") == 0 || strcmp(argv[1], "blob") == 0)
        t = run_plain(r, n, per, argv[4], argv[1][0] == 'b');
    else
        die("usage", "MODE is store, mix, text or blob");
    /* CPU seconds too: on a shared machine they vary less than the wall. */
    printf("%s %ld %.3f %.0f %.3f\n", argv[1], n, t, (double)n / t, cpu_used);
    free(r);
    return 0;
}
