/* The SQLite store: schema and its version, one transaction per feed,
 * duplicates, finding dedupe, reopening and resolution, the outbox across a
 * restart and a crash, tasks, generations, queries, write failures. Each
 * test works in a fresh temporary folder and ends with fw_store_check. */
#include "task.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fundwatch/buf.h"
#include "fundwatch/reader.h"
#include "store/store.h"

static char dir[64];
static char db[128];

static void fresh(void)
{
    snprintf(dir, sizeof dir, "/tmp/fw-store-XXXXXX");
    ASSERT(mkdtemp(dir) != NULL);
    snprintf(db, sizeof db, "%s/fw.db", dir);
}

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ASSERT_EQ_INT(system(cmd), 0);
}

static struct fw_store *open_db(const struct fw_store_opts *o)
{
    struct fw_store *st = NULL;
    struct fw_error e;
    fw_error_clear(&e);
    int rc = fw_store_open(db, o, &st, &e);
    if (rc != 0)
        FW__FAIL("open: %d %s: %s", rc, e.place, e.msg);
    return st;
}

static void check_ok(struct fw_store *st)
{
    struct fw_error e;
    fw_error_clear(&e);
    int rc = fw_store_check(st, &e);
    if (rc != 0)
        FW__FAIL("check: %s", e.msg);
}

/* Runs one SQL statement on its own connection. */
static void raw(const char *q)
{
    sqlite3 *h;
    ASSERT_EQ_INT(sqlite3_open(db, &h), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(h, q, NULL, NULL, &msg) != SQLITE_OK)
        FW__FAIL("%s: %s", q, msg);
    sqlite3_close(h);
}

static int64_t raw_int(const char *q)
{
    sqlite3 *h;
    sqlite3_stmt *s;
    ASSERT_EQ_INT(sqlite3_open(db, &h), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_prepare_v2(h, q, -1, &s, NULL), SQLITE_OK);
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

static const char *sha(int n)
{
    static char b[4][65];
    static int k;
    char *s = b[k++ & 3];
    snprintf(s, 65, "%064x", n);
    return s;
}

static struct fw_store_feed feed_of(int n)
{
    static char names[4][32];
    static int k;
    char *nm = names[k++ & 3];
    snprintf(nm, 32, "feed-%d.csv", n);
    return (struct fw_store_feed){
        .name = nm,
        .sha256 = sha(n),
        .source = FW_SRC_SPOOL,
        .bytes = 100 * n,
        .started_ms = 1700000000000 + n * 1000,
        .generation = "sha256:gen",
    };
}

/* A finding with a real deterministic id. */
static struct fw_finding fnd(const char *rule, enum fw_fkind kind,
                             const char *region, const char *project,
                             const char *period)
{
    struct fw_finding f = {
        .kind = kind,
        .level = kind == FW_FK_ALERT ? FW_LV_RED : FW_LV_NONE,
        .policy = "cq-monitor",
        .policy_version = "sha256:abc",
        .rule = rule,
        .region = region,
        .dept = "D1",
        .project = project,
        .has_as_of = true,
        .as_of = 19904,
        .has_amount = true,
        .amount = -12345678901,
        .ratio = "0.30",
        .message = "支出进度落后序时进度 20.00 个百分点",
        .feed = "feed.csv",
        .line = 17,
    };
    if (kind == FW_FK_SCORE) {
        f.has_score = true;
        f.score = 8950;
        f.grade = "良";
    }
    fw_finding_make_id(f.policy, rule, region, f.dept, project, period, f.id);
    return f;
}

static uint64_t add(struct fw_store *st, const struct fw_finding *f, int rk)
{
    uint64_t seq = 99;
    struct fw_error e;
    int rc = fw_store_finding_add(st, f, rk, &seq, &e);
    if (rc != 0)
        FW__FAIL("add: %d %s", rc, e.msg);
    return seq;
}

static void begin(struct fw_store *st, int n)
{
    struct fw_store_feed fd = feed_of(n);
    struct fw_error e;
    int rc = fw_store_feed_begin(st, &fd, &e);
    if (rc != 0)
        FW__FAIL("begin: %d %s", rc, e.msg);
}

static void commit(struct fw_store *st)
{
    struct fw_store_feed_end end = {
        .lines = 3, .records = 2, .rejects = 0, .finished_ms = 1700000009000};
    struct fw_error e;
    int rc = fw_store_feed_commit(st, &end, &e);
    if (rc != 0)
        FW__FAIL("commit: %d %s", rc, e.msg);
}

static int64_t done(struct fw_store *st, const char *region,
                    const char *project, const char (*ids)[FW_ID_HEX + 1],
                    size_t n, int64_t now)
{
    struct fw_store_subject s = {.kind = FW_RK_EXECUTION,
                                 .region = region,
                                 .dept = "D1",
                                 .project = project,
                                 .has_as_of = true,
                                 .as_of = 19904};
    int64_t r = -1;
    struct fw_error e;
    int rc = fw_store_subject_done(st, &s, ids, n, now, &r, &e);
    if (rc != 0)
        FW__FAIL("subject_done: %d %s", rc, e.msg);
    return r;
}

static struct fw_store_finding get(struct fw_store *st, const char *id)
{
    struct fw_store_finding sf;
    struct fw_error e;
    int rc = fw_store_finding_get(st, id, &sf, &e);
    if (rc != 0)
        FW__FAIL("get %s: %d %s", id, rc, e.msg);
    return sf;
}

/* ---- collecting callbacks ------------------------------------------------ */

struct seen {
    int n;
    uint64_t seq[64];
    int64_t rowid[64];
    char id[64][FW_ID_HEX + 1];
    char region[64][16];
    int event[64];
};

static int collect(void *ud, const struct fw_store_finding *sf)
{
    struct seen *s = ud;
    ASSERT(s->n < 64);
    s->seq[s->n] = sf->seq;
    s->event[s->n] = sf->event;
    s->rowid[s->n] = sf->rowid;
    memcpy(s->id[s->n], sf->f.id, sizeof sf->f.id);
    snprintf(s->region[s->n], 16, "%s", sf->f.region ? sf->f.region : "");
    s->n++;
    return 0;
}

/* ---- tests --------------------------------------------------------------- */

TEST_IMPL(store_open_creates_schema)
{
    fresh();
    struct fw_store *st = open_db(NULL);
    ASSERT_EQ_STR(fw_store_path(st), db);
    struct fw_store_counts c;
    ASSERT_EQ_INT(fw_store_counts(st, &c, NULL), 0);
    ASSERT_EQ_INT(c.findings[FW_FK_ALERT][0], 0);
    ASSERT_EQ_INT(c.outbox_seq, 0);
    check_ok(st);
    fw_store_close(st);
    ASSERT_EQ_INT(raw_int("PRAGMA user_version"), FW_STORE_SCHEMA_VERSION);
    char jm[16] = "";
    sqlite3 *h;
    sqlite3_stmt *s;
    ASSERT_EQ_INT(sqlite3_open(db, &h), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &s, NULL),
                  0);
    ASSERT_EQ_INT(sqlite3_step(s), SQLITE_ROW);
    snprintf(jm, sizeof jm, "%s", sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(h);
    ASSERT_EQ_STR(jm, "wal");
    st = open_db(NULL); /* reopening an existing one */
    check_ok(st);
    fw_store_close(st);
    fw_store_close(NULL);
    cleanup();
    return 0;
}

TEST_IMPL(store_newer_schema_refused)
{
    fresh();
    fw_store_close(open_db(NULL));
    raw("PRAGMA user_version = 7");
    struct fw_store *st = (void *)1;
    struct fw_error e;
    ASSERT_EQ_INT(fw_store_open(db, NULL, &st, &e), FW_EINVAL);
    ASSERT(st == NULL);
    ASSERT_EQ_STR(e.place, db);
    ASSERT_CONTAINS(e.msg, "schema version 7 is newer than this fundwatch "
                           "knows (5)");
    /* Not a database at all. */
    FILE *f = fopen(db, "w");
    ASSERT(f != NULL);
    fputs("this is not a database, it is text long enough to be a header "
          "of a file that sqlite would read",
          f);
    fclose(f);
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", db);
    unlink(wal);
    ASSERT_EQ_INT(fw_store_open(db, NULL, &st, &e), FW_EIO);
    ASSERT_CONTAINS(e.msg, "not a database");
    /* A folder that does not exist. */
    snprintf(db, sizeof db, "%s/no/such/fw.db", dir);
    ASSERT_EQ_INT(fw_store_open(db, NULL, &st, &e), FW_EIO);
    ASSERT_CONTAINS(e.msg, "opening the database");
    cleanup();
    return 0;
}

TEST_IMPL(store_feed_commit_and_read_back)
{
    fresh();
    struct fw_store *st = open_db(NULL);
    struct fw_error e;
    begin(st, 1);
    struct fw_finding a =
        fnd("exec_lag", FW_FK_ALERT, "500103", "P1", "2024|2024-06");
    struct fw_finding s =
        fnd("grade", FW_FK_SCORE, "500103", "P1", "2024|2024-06");
    s.ratio = NULL;
    s.has_amount = false;
    ASSERT_EQ_INT(add(st, &a, FW_RK_EXECUTION), 1);
    ASSERT_EQ_INT(add(st, &s, FW_RK_EVALUATION), 2);
    ASSERT_EQ_INT(fw_store_reject_add(st, 5, "budget \"x\": not a number", &e),
                  0);
    /* Not visible to another connection before the commit. */
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM findings"), 0);
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM feeds"), 0);
    commit(st);
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM findings"), 2);
    ASSERT_EQ_INT(raw_int("SELECT alerts + scores * 10 + events * 100 "
                          "FROM feeds"),
                  211);
    ASSERT_EQ_INT(raw_int("SELECT duration_ms FROM feeds"), 8000);
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM rejects WHERE line = 5"), 1);

    int64_t fid = 0;
    ASSERT_EQ_INT(fw_store_feed_seen(st, sha(1), &fid, &e), 1);
    ASSERT_EQ_INT(fid, 1);
    ASSERT_EQ_INT(fw_store_feed_seen(st, sha(2), &fid, &e), 0);

    struct fw_store_finding g = get(st, a.id);
    ASSERT_EQ_STR(g.f.id, a.id);
    ASSERT_EQ_INT(g.f.kind, FW_FK_ALERT);
    ASSERT_EQ_INT(g.f.level, FW_LV_RED);
    ASSERT_EQ_STR(g.f.policy, "cq-monitor");
    ASSERT_EQ_STR(g.f.policy_version, "sha256:abc");
    ASSERT_EQ_STR(g.f.rule, "exec_lag");
    ASSERT_EQ_STR(g.f.region, "500103");
    ASSERT_EQ_STR(g.f.dept, "D1");
    ASSERT_EQ_STR(g.f.project, "P1");
    ASSERT(g.f.task == NULL);
    ASSERT(g.f.has_as_of);
    ASSERT_EQ_INT(g.f.as_of, 19904);
    ASSERT(g.f.has_amount);
    ASSERT_EQ_INT(g.f.amount, -12345678901);
    ASSERT_EQ_STR(g.f.ratio, "0.30");
    ASSERT(!g.f.has_score);
    ASSERT_EQ_STR(g.f.message, a.message);
    ASSERT_EQ_STR(g.f.feed, "feed.csv");
    ASSERT_EQ_INT(g.f.line, 17);
    ASSERT_EQ_INT(g.rkind, FW_RK_EXECUTION);
    ASSERT_EQ_INT(g.state, FW_ST_OPEN);
    ASSERT_EQ_INT(g.first_seen, 1700000001000);
    ASSERT_EQ_INT(g.last_seen, 1700000001000);
    ASSERT_EQ_INT(g.resolved_at, 0);
    ASSERT_EQ_INT(g.first_feed, 1);
    ASSERT_EQ_INT(g.last_feed, 1);
    ASSERT_EQ_INT(g.seq, 1);

    g = get(st, s.id);
    ASSERT_EQ_INT(g.f.kind, FW_FK_SCORE);
    ASSERT_EQ_INT(g.f.level, FW_LV_NONE);
    ASSERT(g.f.has_score);
    ASSERT_EQ_INT(g.f.score, 8950);
    ASSERT_EQ_STR(g.f.grade, "良");
    ASSERT(!g.f.has_amount);
    ASSERT(g.f.ratio == NULL);

    char missing[FW_ID_HEX + 1];
    fw_finding_make_id("x", "y", "z", "", "", "", missing);
    struct fw_store_finding sf;
    ASSERT_EQ_INT(fw_store_finding_get(st, missing, &sf, &e), FW_ENOENT);
    ASSERT_EQ_INT(fw_store_finding_get(st, "nothex", &sf, &e), FW_EINVAL);

    struct fw_store_counts c;
    fw_store_counts(st, &c, &e);
    ASSERT_EQ_INT(c.findings[FW_FK_ALERT][FW_ST_OPEN], 1);
    ASSERT_EQ_INT(c.findings[FW_FK_SCORE][FW_ST_OPEN], 1);
    ASSERT_EQ_INT(c.feeds[FW_FEED_DONE], 1);
    ASSERT_EQ_INT(c.rejects, 1);
    ASSERT_EQ_INT(c.outbox_seq, 2);
    ASSERT_EQ_INT(c.outbox_marked, 0);

    /* Outside a feed: wrong state, said plainly. */
    ASSERT_EQ_INT(fw_store_finding_add(st, &a, 0, NULL, &e), FW_ESTATE);
    ASSERT_CONTAINS(e.msg, "no feed or batch transaction open");
    ASSERT_EQ_INT(fw_store_reject_add(st, 1, "x", &e), FW_ESTATE);
    check_ok(st);
    fw_store_close(st);
    cleanup();
    return 0;
}

TEST_IMPL(store_rollback_leaves_nothing)
{
    fresh();
    struct fw_store *st = open_db(NULL);
    struct fw_error e;
    begin(st, 1);
    struct fw_finding a = fnd("exec_lag", FW_FK_ALERT, "500103", "P1", "p");
    ASSERT_EQ_INT(add(st, &a, FW_RK_EXECUTION), 1);
    ASSERT_EQ_INT(fw_store_reject_add(st, 3, "bad", &e), 0);
    /* A second begin inside is refused and changes nothing. */
    struct fw_store_feed fd = feed_of(2);
    ASSERT_EQ_INT(fw_store_feed_begin(st, &fd, &e), FW_ESTATE);
    fw_store_feed_rollback(st);
    fw_store_feed_rollback(st); /* twice: no-op */

    struct fw_store_finding sf;
    ASSERT_EQ_INT(fw_store_finding_get(st, a.id, &sf, &e), FW_ENOENT);
    ASSERT_EQ_INT(fw_store_feed_seen(st, sha(1), NULL, &e), 0);
    ASSERT_EQ_INT(raw_int("SELECT (SELECT count(*) FROM findings) + "
                          "(SELECT count(*) FROM feeds) + "
                          "(SELECT count(*) FROM rejects) + "
                          "(SELECT count(*) FROM outbox)"),
                  0);
    struct fw_store_counts c;
    fw_store_counts(st, &c, &e);
    ASSERT_EQ_INT(c.outbox_seq, 0);
    ASSERT_EQ_INT(c.findings[FW_FK_ALERT][FW_ST_OPEN], 0);
    struct seen s = {0};
    ASSERT_EQ_INT(fw_store_outbox_pending(st, 0, collect, &s, &e), 0);
    ASSERT_EQ_INT(s.n, 0);

    /* The same feed again: the sequence starts over at 1. */
    begin(st, 1);
    ASSERT_EQ_INT(add(st, &a, FW_RK_EXECUTION), 1);
    commit(st);
    ASSERT_EQ_INT(get(st, a.id).seq, 1);
    check_ok(st);
    fw_store_close(st);
    cleanup();
    return 0;
}

TEST_IMPL(store_duplicate_and_failed_feeds)
{
    fresh();
    struct fw_store *st = open_db(NULL);
    struct fw_error e;
    begin(st, 1);
    commit(st);
    struct fw_store_feed fd = feed_of(1);
    fd.name = "again.csv";
    ASSERT_EQ_INT(fw_store_feed_begin(st, &fd, &e), FW_EEXIST);
    ASSERT_CONTAINS(e.msg, "again.csv");
    ASSERT_CONTAINS(e.msg, "already processed");
    /* ... and no transaction is left open. */
    ASSERT_EQ_INT(fw_store_feed_commit(st, NULL, &e), FW_ESTATE);
    struct fw_store_feed_end end = {.finished_ms = fd.started_ms + 5};
    ASSERT_EQ_INT(fw_store_feed_record(st, &fd, FW_FEED_DUPLICATE, &end, &e),
                  0);
    ASSERT_EQ_INT(fw_store_feed_record(st, &fd, FW_FEED_DUPLICATE, &end, &e),
                  0);
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM feeds WHERE status = "
                          "'duplicate' AND dup_of = 1"),
                  2);
    /* A duplicate of nothing is refused. */
    struct fw_store_feed other = feed_of(9);
    ASSERT_EQ_INT(fw_store_feed_record(st, &other, FW_FEED_DUPLICATE, &end, &e),
                  FW_ENOENT);
    /* A failed feed may come again (and fail again, or succeed). */
    struct fw_store_feed bad = feed_of(3);
    end.reason = "no header row: only blank lines";
    ASSERT_EQ_INT(fw_store_feed_record(st, &bad, FW_FEED_FAILED, &end, &e), 0);
    ASSERT_EQ_INT(fw_store_feed_record(st, &bad, FW_FEED_FAILED, &end, &e), 0);
    ASSERT_EQ_INT(fw_store_feed_seen(st, bad.sha256, NULL, &e), 0);
    begin(st, 3);
    commit(st);
    ASSERT_EQ_INT(fw_store_feed_seen(st, bad.sha256, NULL, &e), 1);
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM feeds WHERE reason = "
                          "'no header row: only blank lines'"),
                  2);
    ASSERT_EQ_INT(fw_store_feed_record(st, &bad, FW_FEED_DONE, &end, &e),
                  FW_EINVAL);
    struct fw_store_feed nosha = feed_of(4);
    nosha.sha256 = "abc";
    ASSERT_EQ_INT(fw_store_feed_begin(st, &nosha, &e), FW_EINVAL);
    struct fw_store_counts c;
    fw_store_counts(st, &c, &e);
    ASSERT_EQ_INT(c.feeds[FW_FEED_DONE], 2);
    ASSERT_EQ_INT(c.feeds[FW_FEED_FAILED], 2);
    ASSERT_EQ_INT(c.feeds[FW_FEED_DUPLICATE], 2);
    check_ok(st);
    fw_store_close(st);
    cleanup();
    return 0;
}

/* Run with the key index on disk too: merge_rows 1 merges after each
 * commit, so lookups go through finding_keys rather than the tail. */
static void dedupe_and_reopen(size_t merge_rows)
{
    fresh();
    struct fw_store_opts o = {.merge_rows = merge_rows};
    struct fw_store *st = open_db(&o);
    struct fw_error e;
    struct fw_finding a = fnd("exec_lag", FW_FK_ALERT, "500103", "P1", "p");
    begin(st, 1);
    ASSERT_EQ_INT(add(st, &a, FW_RK_EXECUTION), 1);
    ASSERT_EQ_INT(add(st, &a, FW_RK_EXECUTION), 0); /* twice in one feed */
    commit(st);

    /* Open: only last_seen (and last_feed) move; no event. */
    begin(st, 2);
    struct fw_finding a2 = a;
    a2.message = "changed";
    a2.level = FW_LV_YELLOW;
    ASSERT_EQ_INT(add(st, &a2, FW_RK_EXECUTION), 0);
    commit(st);
    struct fw_store_finding g = get(st, a.id);
    ASSERT_EQ_INT(g.first_seen, 1700000001000);
    ASSERT_EQ_INT(g.last_seen, 1700000002000);
    ASSERT_EQ_INT(g.first_feed, 1);
    ASSERT_EQ_INT(g.last_feed, 2);
    ASSERT_EQ_STR(g.f.message, a.message);
    ASSERT_EQ_INT(g.f.level, FW_LV_RED);
    ASSERT_EQ_INT(g.seq, 1);

    /* Resolved by a later record of the subject that fires nothing. */
    begin(st, 3);
    ASSERT_EQ_INT(done(st, "500103", "P1", NULL, 0, 1700000003500), 1);
    commit(st);
    g = get(st, a.id);
    ASSERT_EQ_INT(g.state, FW_ST_RESOLVED);
    ASSERT_EQ_INT(g.resolved_at, 1700000003500);

    /* Resolving is an event of its own: seq 2, typed resolved. */
    ASSERT_EQ_INT(g.seq, 2);
    ASSERT_EQ_INT(raw_int("SELECT event FROM outbox WHERE seq = 2"),
                  FW_EV_RESOLVED);

    /* Fires again: reopened, with this firing's fields, a new event. */
    begin(st, 4);
    ASSERT_EQ_INT(add(st, &a2, FW_RK_EXECUTION), 3);
    ASSERT_EQ_INT(fw_store_last_event(st), FW_EV_REOPENED);
    commit(st);
    g = get(st, a.id);
    ASSERT_EQ_INT(g.state, FW_ST_OPEN);
    ASSERT_EQ_INT(g.resolved_at, 0);
    ASSERT_EQ_INT(g.first_seen, 1700000001000);
    ASSERT_EQ_INT(g.last_seen, 1700000004000);
    ASSERT_EQ_STR(g.f.message, "changed");
    ASSERT_EQ_INT(g.seq, 3);
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM findings"), 1);
    ASSERT_EQ_INT(raw_int("SELECT event FROM outbox WHERE seq = 1"),
                  FW_EV_OPENED);
    ASSERT_EQ_INT(raw_int("SELECT event FROM outbox WHERE seq = 3"),
                  FW_EV_REOPENED);
    struct seen s = {0};
    ASSERT_EQ_INT(fw_store_outbox_pending(st, 0, collect, &s, &e), 0);
    ASSERT_EQ_INT(s.n, 3);
    ASSERT_EQ_INT(s.seq[0], 1);
    ASSERT_EQ_INT(s.seq[1], 2);
    ASSERT_EQ_INT(s.seq[2], 3);
    ASSERT_EQ_STR(s.id[2], a.id);
    ASSERT_EQ_INT(s.event[0], FW_EV_OPENED);
    ASSERT_EQ_INT(s.event[1], FW_EV_RESOLVED);
    ASSERT_EQ_INT(s.event[2], FW_EV_REOPENED);
    ASSERT_EQ_STR(fw_store_event_name(s.event[1]), "resolved");

    /* And resolved again after a restart: the keys come back. */
    fw_store_close(st);
    st = open_db(&o);
    begin(st, 5);
    ASSERT_EQ_INT(done(st, "500103", "P1", NULL, 0, 1700000005500), 1);
    commit(st);
    ASSERT_EQ_INT(get(st, a.id).state, FW_ST_RESOLVED);
    struct fw_store_counts c;
    fw_store_counts(st, &c, &e);
    ASSERT_EQ_INT(c.findings[FW_FK_ALERT][FW_ST_OPEN], 0);
    ASSERT_EQ_INT(c.findings[FW_FK_ALERT][FW_ST_RESOLVED], 1);
    check_ok(st);
    fw_store_close(st);
    cleanup();
}

TEST_IMPL(store_dedupe_open_and_reopen)
{
    dedupe_and_reopen(0);
    dedupe_and_reopen(1);
    return 0;
}

/* Retention: resolved findings resolved before the cutoff, whose events the
 * outbox file holds, go with their events and keys; the newest finding and
 * event stay; a pruned finding firing again is a new one; the counters and
 * the key index stay right, in the tail (merge_rows 0) and merged (1). */
static void prune_resolved(size_t merge_rows)
{
    fresh();
    struct fw_store_opts o = {.merge_rows = merge_rows};
    struct fw_store *st = open_db(&o);
    struct fw_error e;
    int64_t n = -1;
    struct fw_finding a = fnd("exec_lag", FW_FK_ALERT, "500103", "P1", "p");
    struct fw_finding b = fnd("exec_lag", FW_FK_ALERT, "500103", "P2", "p");
    struct fw_finding c = fnd("exec_lag", FW_FK_ALERT, "500103", "P3", "p");
    struct fw_finding d = fnd("exec_lag", FW_FK_ALERT, "500103", "P4", "p");
    struct fw_finding x = fnd("exec_lag", FW_FK_ALERT, "500103", "P5", "p");
    begin(st, 1);
    add(st, &a, FW_RK_EXECUTION);
    add(st, &b, FW_RK_EXECUTION);
    add(st, &c, FW_RK_EXECUTION);
    commit(st);
    begin(st, 2);
    ASSERT_EQ_INT(done(st, "500103", "P1", NULL, 0, 1700000002500), 1);
    ASSERT_EQ_INT(done(st, "500103", "P2", NULL, 0, 1700000002500), 1);
    commit(st);
    begin(st, 3);
    ASSERT_EQ_INT(add(st, &d, FW_RK_EXECUTION), 6);
    commit(st);

    /* nothing the outbox file does not hold yet */
    ASSERT_EQ_INT(fw_store_prune_resolved(st, 1800000000000, &n, &e), 0);
    ASSERT_EQ_INT(n, 0);
    ASSERT_EQ_INT(fw_store_outbox_mark_at(st, 6, 600, &e), 0);
    /* nothing resolved after the cutoff */
    ASSERT_EQ_INT(fw_store_prune_resolved(st, 1700000002000, &n, &e), 0);
    ASSERT_EQ_INT(n, 0);
    ASSERT_EQ_INT(fw_store_prune_resolved(st, 1700000003000, &n, &e), 0);
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM findings"), 2);
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM outbox"), 2);
    ASSERT_EQ_INT(raw_int("SELECT min(seq) FROM outbox"), 3);
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM finding_keys WHERE fid NOT IN"
                          " (SELECT fid FROM findings)"), 0);
    check_ok(st);
    struct fw_store_counts cn;
    fw_store_counts(st, &cn, &e);
    ASSERT_EQ_INT(cn.findings[FW_FK_ALERT][FW_ST_RESOLVED], 0);
    ASSERT_EQ_INT(cn.findings[FW_FK_ALERT][FW_ST_OPEN], 2);
    ASSERT_EQ_INT(cn.outbox_seq, 6);

    /* fires again: a new finding, opened; its old subject has nothing */
    begin(st, 4);
    ASSERT_EQ_INT(add(st, &a, FW_RK_EXECUTION), 7);
    ASSERT_EQ_INT(fw_store_last_event(st), FW_EV_OPENED);
    ASSERT_EQ_INT(done(st, "500103", "P2", NULL, 0, 1700000004500), 0);
    commit(st);
    ASSERT_EQ_INT(get(st, a.id).state, FW_ST_OPEN);
    ASSERT_EQ_INT(get(st, a.id).first_seen, 1700000004000);
    check_ok(st);

    /* resolved again, the event not yet written: it stays until it is */
    begin(st, 5);
    ASSERT_EQ_INT(done(st, "500103", "P1", NULL, 0, 1700000005500), 1);
    ASSERT_EQ_INT(add(st, &x, FW_RK_EXECUTION), 9);
    commit(st);
    ASSERT_EQ_INT(fw_store_prune_resolved(st, 1800000000000, &n, &e), 0);
    ASSERT_EQ_INT(n, 0);
    ASSERT_EQ_INT(fw_store_outbox_mark_at(st, 9, 900, &e), 0);
    ASSERT_EQ_INT(fw_store_prune_resolved(st, 1800000000000, &n, &e), 0);
    ASSERT_EQ_INT(n, 1);
    check_ok(st);

    /* a restart rebuilds the tail from what is left */
    fw_store_close(st);
    st = open_db(&o);
    check_ok(st);
    begin(st, 6);
    ASSERT_EQ_INT(done(st, "500103", "P3", NULL, 0, 1700000006500), 1);
    ASSERT_EQ_INT(add(st, &a, FW_RK_EXECUTION), 11);
    commit(st);
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM findings WHERE id = "
                          "(SELECT id FROM findings WHERE project = 'P1')"), 1);
    check_ok(st);
    fw_store_close(st);
    cleanup();
}

TEST_IMPL(store_prune_resolved)
{
    prune_resolved(0);
    prune_resolved(1);
    return 0;
}

/* An acknowledgement: kept on the finding, an acknowledged event, once per
 * opening; a reopening clears it; resolved or unknown findings refuse. */
TEST_IMPL(store_ack)
{
    fresh();
    struct fw_store *st = open_db(NULL);
    struct fw_finding a = fnd("r", FW_FK_ALERT, "500103", "P1", "p");
    struct fw_error e;
    uint64_t seq = 0;
    ASSERT_EQ_INT(fw_store_finding_ack(st, a.id, "王科长", "已电话核实", 5, &seq,
                                       &e), FW_ENOENT);
    ASSERT_CONTAINS(e.msg, "no finding");
    begin(st, 1);
    ASSERT_EQ_INT(add(st, &a, FW_RK_EXECUTION), 1);
    ASSERT_EQ_INT(fw_store_finding_ack(st, a.id, "x", "y", 5, &seq, &e),
                  FW_ESTATE); /* not inside a feed's transaction */
    commit(st);
    ASSERT_EQ_INT(fw_store_finding_ack(st, a.id, "王科长", "已电话核实",
                                       1700000005000, &seq, &e), 0);
    ASSERT_EQ_INT(seq, 2);
    struct fw_store_finding g = get(st, a.id);
    ASSERT_EQ_STR(g.ack_by, "王科长");
    ASSERT_EQ_STR(g.ack_note, "已电话核实");
    ASSERT_EQ_INT(g.ack_at, 1700000005000);
    ASSERT_EQ_INT(g.seq, 2);
    ASSERT_EQ_INT(raw_int("SELECT event FROM outbox WHERE seq = 2"),
                  FW_EV_ACKNOWLEDGED);
    ASSERT_EQ_INT(fw_store_finding_ack(st, a.id, "李", "again", 6, &seq, &e),
                  FW_EEXIST);
    ASSERT_CONTAINS(e.msg, "acknowledged already");
    /* firing again while open: nothing new */
    begin(st, 2);
    ASSERT_EQ_INT(add(st, &a, FW_RK_EXECUTION), 0);
    commit(st);
    begin(st, 3);
    ASSERT_EQ_INT(done(st, "500103", "P1", NULL, 0, 1700000006000), 1);
    commit(st);
    ASSERT_EQ_INT(fw_store_finding_ack(st, a.id, "李", "late", 7, &seq, &e),
                  FW_ESTATE);
    ASSERT_CONTAINS(e.msg, "is resolved");
    begin(st, 4);
    ASSERT_EQ_INT(add(st, &a, FW_RK_EXECUTION), 4); /* reopened */
    commit(st);
    g = get(st, a.id);
    ASSERT_EQ_INT(g.ack_at, 0);
    ASSERT(g.ack_by == NULL);
    ASSERT_EQ_INT(fw_store_finding_ack(st, a.id, "李", "again", 8, &seq, &e),
                  0);
    ASSERT_EQ_INT(seq, 5);
    struct seen s = {0};
    ASSERT_EQ_INT(fw_store_outbox_pending(st, 0, collect, &s, &e), 0);
    ASSERT_EQ_INT(s.n, 5);
    int want[] = {FW_EV_OPENED, FW_EV_ACKNOWLEDGED, FW_EV_RESOLVED,
                  FW_EV_REOPENED, FW_EV_ACKNOWLEDGED};
    for (int i = 0; i < 5; i++)
        ASSERT_EQ_INT(s.event[i], want[i]);
    check_ok(st);
    fw_store_close(st);
    cleanup();
    return 0;
}

/* Schema 3 -> 4: the outbox's reopened flag becomes its event (0 opened, 1
 * reopened, as they were); findings get the acknowledgement's columns. */
TEST_IMPL(store_migrates_3_to_4)
{
    fresh();
    struct fw_store *st = open_db(NULL);
    struct fw_finding a = fnd("r", FW_FK_ALERT, "500103", "P1", "p");
    begin(st, 1);
    add(st, &a, FW_RK_EXECUTION);
    commit(st);
    fw_store_close(st);
    /* back to what schema 3 was */
    raw("ALTER TABLE outbox RENAME COLUMN event TO reopened;"
        "ALTER TABLE findings DROP COLUMN ack_by;"
        "ALTER TABLE findings DROP COLUMN ack_at;"
        "ALTER TABLE findings DROP COLUMN ack_note;"
        "ALTER TABLE findings DROP COLUMN evidence_params;"
        "INSERT INTO outbox(seq, fid, reopened) VALUES (2, 1, 1);"
        "PRAGMA user_version = 3");
    st = open_db(NULL);
    ASSERT_EQ_INT(raw_int("PRAGMA user_version"), FW_STORE_SCHEMA_VERSION);
    struct seen s = {0};
    struct fw_error e;
    ASSERT_EQ_INT(fw_store_outbox_pending(st, 0, collect, &s, &e), 0);
    ASSERT_EQ_INT(s.n, 2);
    ASSERT_EQ_INT(s.event[0], FW_EV_OPENED);
    ASSERT_EQ_INT(s.event[1], FW_EV_REOPENED);
    uint64_t seq = 0;
    ASSERT_EQ_INT(fw_store_finding_ack(st, a.id, "x", "", 9, &seq, &e), 0);
    ASSERT_EQ_INT(seq, 3);
    check_ok(st);
    fw_store_close(st);
    cleanup();
    return 0;
}

/* Schema 5: a finding's evidence is stored without its rule's parameters,
 * which go to names once; every read gives the engine's text back, byte
 * for byte, whatever it holds. Rows of schema 4 keep their whole evidence
 * and read the same. */
TEST_IMPL(store_evidence_params)
{
    static const char *const ev[] = {
        "{\"fields\":{\"region\":\"500103\"},\"figures\":{\"lag\":\"20.00\"},"
        "\"params\":[{\"name\":\"red\",\"value\":\"20\",\"at\":\"p.yaml:4\"}]}",
        /* an extra column named params, then the rule's */
        "{\"fields\":{\"params\":\"x\"},\"figures\":{},\"params\":[]}",
        "{\"fields\":{},\"figures\":{},\"params\":}",
        "{\"fields\":{}}",
        "not json,\"params\":[]",
        "",
    };
    size_t n = sizeof ev / sizeof ev[0];
    fresh();
    struct fw_store *st = open_db(NULL);
    struct fw_finding f[8];
    char proj[8][8];
    begin(st, 1);
    for (size_t i = 0; i <= n; i++) {
        snprintf(proj[i], sizeof proj[i], "P%zu", i);
        f[i] = fnd("r", FW_FK_ALERT, "500103", proj[i], "p");
        f[i].evidence = i < n ? ev[i] : NULL;
        add(st, &f[i], FW_RK_EXECUTION);
    }
    commit(st);
    for (size_t i = 0; i <= n; i++) {
        struct fw_store_finding g = get(st, f[i].id);
        if (i < n)
            ASSERT_EQ_STR(g.f.evidence, ev[i]);
        else
            ASSERT(g.f.evidence == NULL);
    }
    /* the first three are stored cut, their parameters once each */
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM findings WHERE"
                          " evidence_params IS NOT NULL"), 3);
    ASSERT_EQ_INT(raw_int("SELECT length(evidence) FROM findings WHERE"
                          " fid = 1"), (int64_t)(strstr(ev[0], ",\"params\":") - ev[0]));
    /* the outbox's read from the store renders them the same */
    struct seen s = {0};
    struct fw_error e;
    ASSERT_EQ_INT(fw_store_outbox_pending(st, 0, collect, &s, &e), 0);
    ASSERT_EQ_INT(s.n, (int)n + 1);
    check_ok(st);
    fw_store_close(st);

    /* back to schema 4: whole evidence in the row */
    raw("UPDATE findings SET evidence = evidence || ',\"params\":' ||"
        " (SELECT text FROM names WHERE id = evidence_params) || '}'"
        " WHERE evidence_params IS NOT NULL;"
        "ALTER TABLE findings DROP COLUMN evidence_params;"
        "PRAGMA user_version = 4");
    st = open_db(NULL);
    ASSERT_EQ_INT(raw_int("PRAGMA user_version"), FW_STORE_SCHEMA_VERSION);
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ_STR(get(st, f[i].id).f.evidence, ev[i]);
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM findings WHERE"
                          " evidence_params IS NOT NULL"), 0);
    check_ok(st);
    fw_store_close(st);
    cleanup();
    return 0;
}

TEST_IMPL(store_resolution)
{
    fresh();
    struct fw_store_opts o = {.merge_rows = 3};
    struct fw_store *st = open_db(&o);
    struct fw_finding a = fnd("exec_lag", FW_FK_ALERT, "500103", "P1", "p");
    struct fw_finding b =
        fnd("idle_funds", FW_FK_CLAWBACK, "500103", "P1", "p");
    struct fw_finding sc = fnd("grade", FW_FK_SCORE, "500103", "P1", "p");
    struct fw_finding er =
        fnd("!on_execution", FW_FK_ERROR, "500103", "P1", "p");
    struct fw_finding other = fnd("exec_lag", FW_FK_ALERT, "500103", "P2", "p");
    struct fw_finding later = fnd("exec_lag", FW_FK_ALERT, "500103", "P1", "q");
    later.as_of = 19935; /* a later snapshot's */
    struct fw_finding task = fnd("task_due", FW_FK_ALERT, "500103", "P1", "t");
    task.task = "T1";
    begin(st, 1);
    add(st, &a, FW_RK_EXECUTION);
    add(st, &b, FW_RK_EXECUTION);
    add(st, &sc, FW_RK_EXECUTION);
    add(st, &er, FW_RK_EXECUTION);
    add(st, &other, FW_RK_EXECUTION);
    add(st, &later, FW_RK_EXECUTION);
    add(st, &task, FW_RK_TASK);
    commit(st);

    /* The next record of (500103, D1, P1) fires only a: b is resolved; the
     * score and the error stay; P2's alert, the task record's alert and the
     * alert of a later snapshot are not this subject's to resolve. */
    begin(st, 2);
    add(st, &a, FW_RK_EXECUTION);
    char ids[1][FW_ID_HEX + 1];
    memcpy(ids[0], a.id, sizeof ids[0]);
    ASSERT_EQ_INT(done(st, "500103", "P1", (const char(*)[FW_ID_HEX + 1]) ids,
                       1, 1700000002500),
                  1);
    /* Again: nothing left to resolve. */
    ASSERT_EQ_INT(done(st, "500103", "P1", (const char(*)[FW_ID_HEX + 1]) ids,
                       1, 1700000002600),
                  0);
    commit(st);
    ASSERT_EQ_INT(get(st, a.id).state, FW_ST_OPEN);
    ASSERT_EQ_INT(get(st, b.id).state, FW_ST_RESOLVED);
    ASSERT_EQ_INT(get(st, b.id).resolved_at, 1700000002500);
    ASSERT_EQ_INT(get(st, sc.id).state, FW_ST_OPEN);
    ASSERT_EQ_INT(get(st, er.id).state, FW_ST_OPEN);
    ASSERT_EQ_INT(get(st, other.id).state, FW_ST_OPEN);
    ASSERT_EQ_INT(get(st, later.id).state, FW_ST_OPEN);
    ASSERT_EQ_INT(get(st, task.id).state, FW_ST_OPEN);
    ASSERT_EQ_INT(raw_int("SELECT resolved FROM feeds WHERE id = 2"), 1);

    /* The task record's subject (kind task, with its task) resolves it. */
    begin(st, 3);
    struct fw_store_subject ts = {.kind = FW_RK_TASK,
                                  .region = "500103",
                                  .dept = "D1",
                                  .project = "P1",
                                  .task = "T1"};
    int64_t r;
    struct fw_error e;
    ASSERT_EQ_INT(fw_store_subject_done(st, &ts, NULL, 0, 1, &r, &e), 0);
    ASSERT_EQ_INT(r, 1);
    /* A subject without as_of resolves whatever its as_of. */
    struct fw_store_subject all = {.kind = FW_RK_EXECUTION,
                                   .region = "500103",
                                   .dept = "D1",
                                   .project = "P1"};
    ASSERT_EQ_INT(fw_store_subject_done(st, &all, NULL, 0, 1, &r, &e), 0);
    ASSERT_EQ_INT(r, 2); /* a and later */
    commit(st);
    ASSERT_EQ_INT(get(st, task.id).state, FW_ST_RESOLVED);
    ASSERT_EQ_INT(get(st, later.id).state, FW_ST_RESOLVED);
    ASSERT_EQ_INT(get(st, other.id).state, FW_ST_OPEN);
    struct fw_store_counts c;
    fw_store_counts(st, &c, &e);
    ASSERT_EQ_INT(c.findings[FW_FK_ALERT][FW_ST_OPEN], 1);
    ASSERT_EQ_INT(c.findings[FW_FK_ALERT][FW_ST_RESOLVED], 3);
    ASSERT_EQ_INT(c.findings[FW_FK_CLAWBACK][FW_ST_RESOLVED], 1);
    check_ok(st);
    fw_store_close(st);
    /* Pruned keys of resolved findings are gone from the key index. */
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM finding_keys k JOIN findings_v f"
                          " USING (fid) WHERE f.state = 'resolved'"),
                  4); /* b, task, a, later: only their id keys */
    cleanup();
    return 0;
}

TEST_IMPL(store_outbox_across_restart)
{
    fresh();
    struct fw_store *st = open_db(NULL);
    struct fw_error e;
    begin(st, 1);
    struct fw_finding f1 = fnd("r", FW_FK_ALERT, "500103", "P1", "p");
    struct fw_finding f2 = fnd("r", FW_FK_ALERT, "500103", "P2", "p");
    struct fw_finding f3 = fnd("r", FW_FK_ALERT, "500103", "P3", "p");
    add(st, &f1, 0);
    add(st, &f2, 0);
    add(st, &f3, 0);
    commit(st);
    ASSERT_EQ_INT(fw_store_outbox_mark(st, 1, &e), 0);
    ASSERT_EQ_INT(fw_store_outbox_mark(st, 0, &e), 0); /* lower: no-op */
    ASSERT_EQ_INT(fw_store_outbox_mark(st, 4, &e), FW_EINVAL);
    ASSERT_CONTAINS(e.msg, "the last event is 3");
    fw_store_close(st);

    st = open_db(NULL);
    uint64_t m = 99;
    ASSERT_EQ_INT(fw_store_outbox_marked(st, &m, &e), 0);
    ASSERT_EQ_INT(m, 1);
    struct seen s = {0};
    ASSERT_EQ_INT(fw_store_outbox_pending(st, m, collect, &s, &e), 0);
    ASSERT_EQ_INT(s.n, 2);
    ASSERT_EQ_INT(s.seq[0], 2);
    ASSERT_EQ_STR(s.id[0], f2.id);
    ASSERT_EQ_INT(s.seq[1], 3);
    ASSERT_EQ_STR(s.id[1], f3.id);
    ASSERT_EQ_INT(fw_store_outbox_mark(st, 3, &e), 0);
    /* A mark inside a transaction that rolls back is undone. */
    begin(st, 2);
    struct fw_finding f4 = fnd("r", FW_FK_ALERT, "500103", "P4", "p");
    ASSERT_EQ_INT(add(st, &f4, 0), 4);
    ASSERT_EQ_INT(fw_store_outbox_pending(st, 0, collect, &s, &e), FW_ESTATE);
    ASSERT_CONTAINS(e.msg, "between transactions");
    ASSERT_EQ_INT(fw_store_outbox_mark(st, 4, &e), 0);
    fw_store_feed_rollback(st);
    ASSERT_EQ_INT(fw_store_outbox_marked(st, &m, &e), 0);
    ASSERT_EQ_INT(m, 3);
    s.n = 0;
    ASSERT_EQ_INT(fw_store_outbox_pending(st, 3, collect, &s, &e), 0);
    ASSERT_EQ_INT(s.n, 0);
    check_ok(st);
    fw_store_close(st);
    cleanup();
    return 0;
}

/* Many subjects in the tail: its subject filter grows (rebuilt from the
 * tail several times), keeps what a rolled-back feed added, is emptied by a
 * merge; a close leaves the tail unmerged and the next open reads it back.
 * Every finding is resolved by its subject's record all the same. */
TEST_IMPL(store_many_subjects)
{
    fresh();
    enum { N = 6000 };
    static char proj[N][16];
    static struct fw_finding a[N];
    for (int i = 0; i < N; i++) {
        snprintf(proj[i], sizeof proj[i], "M%05d", i);
        a[i] = fnd("r", FW_FK_ALERT, "500103", proj[i], "p");
    }
    struct fw_store_opts o = {.merge_rows = 3 * N};
    struct fw_store *st = open_db(&o);
    begin(st, 1);
    for (int i = 0; i < N; i += 2)
        add(st, &a[i], FW_RK_EXECUTION);
    commit(st);
    begin(st, 2); /* rolled back: its keys leave the tail */
    for (int i = 1; i < N; i += 2)
        add(st, &a[i], FW_RK_EXECUTION);
    fw_store_feed_rollback(st);
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM findings"), N / 2);
    begin(st, 3);
    for (int i = 1; i < N; i += 2) /* nothing of theirs is stored */
        ASSERT_EQ_INT(done(st, "500103", proj[i], NULL, 0, 2), 0);
    for (int i = 0; i < N / 2; i += 2)
        ASSERT_EQ_INT(done(st, "500103", proj[i], NULL, 0, 2), 1);
    commit(st);
    fw_store_close(st); /* the rest of the tail stays in findings */
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM finding_keys"), 0);

    st = open_db(&o);
    begin(st, 4);
    for (int i = N / 2; i < N; i += 2)
        ASSERT_EQ_INT(done(st, "500103", proj[i], NULL, 0, 3), 1);
    commit(st);
    struct fw_store_counts c;
    struct fw_error e;
    fw_store_counts(st, &c, &e);
    ASSERT_EQ_INT(c.findings[FW_FK_ALERT][FW_ST_RESOLVED], N / 2);
    ASSERT_EQ_INT(c.findings[FW_FK_ALERT][FW_ST_OPEN], 0);
    fw_store_close(st);

    /* Now through a merge (merge_rows 1: after each commit). */
    struct fw_store_opts m = {.merge_rows = 1};
    st = open_db(&m);
    begin(st, 5);
    for (int i = 1; i < N; i += 2)
        /* after N / 2 opened and N / 2 resolved events */
        ASSERT_EQ_INT(add(st, &a[i], FW_RK_EXECUTION), (uint64_t)(N + i / 2 + 1));
    commit(st); /* merged: the tail and its filter are empty */
    ASSERT(raw_int("SELECT count(*) FROM finding_keys") >= N);
    begin(st, 6);
    for (int i = 1; i < N; i += 2)
        ASSERT_EQ_INT(done(st, "500103", proj[i], NULL, 0, 4), 1);
    for (int i = 0; i < N; i += 2)
        ASSERT_EQ_INT(done(st, "500103", proj[i], NULL, 0, 4), 0);
    commit(st);
    check_ok(st);
    fw_store_close(st);
    cleanup();
    return 0;
}

/* A process killed right after a commit (no close: no merge, no
 * checkpoint) loses nothing: the next open finds the findings, dedupes them
 * and resolves them. */
TEST_IMPL(store_crash_after_commit)
{
    fresh();
    struct fw_finding a[40];
    char proj[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(proj[i], 16, "P%d", i);
        a[i] = fnd("r", FW_FK_ALERT, "500103", proj[i], "p");
    }
    struct fw_store_opts o = {.merge_rows = 25};
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        struct fw_store *st = open_db(&o);
        for (int f = 0; f < 4; f++) {
            begin(st, f + 1);
            for (int i = f * 10; i < f * 10 + 10; i++)
                add(st, &a[i], FW_RK_EXECUTION);
            commit(st);
        }
        begin(st, 5); /* in flight when killed */
        struct fw_finding x = fnd("r", FW_FK_ALERT, "500103", "PX", "p");
        add(st, &x, FW_RK_EXECUTION);
        kill(getpid(), SIGKILL);
    }
    int status;
    ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    struct fw_store *st = open_db(&o);
    check_ok(st);
    struct fw_store_counts c;
    struct fw_error e;
    fw_store_counts(st, &c, &e);
    ASSERT_EQ_INT(c.findings[FW_FK_ALERT][FW_ST_OPEN], 40);
    ASSERT_EQ_INT(c.outbox_seq, 40);
    ASSERT_EQ_INT(fw_store_feed_seen(st, sha(4), NULL, &e), 1);
    ASSERT_EQ_INT(fw_store_feed_seen(st, sha(5), NULL, &e), 0);
    begin(st, 5);
    for (int i = 0; i < 40; i++)
        ASSERT_EQ_INT(add(st, &a[i], FW_RK_EXECUTION), 0);
    for (int i = 0; i < 40; i += 2)
        ASSERT_EQ_INT(done(st, "500103", proj[i], NULL, 0, 1), 1);
    commit(st);
    fw_store_counts(st, &c, &e);
    ASSERT_EQ_INT(c.findings[FW_FK_ALERT][FW_ST_OPEN], 20);
    ASSERT_EQ_INT(c.outbox_seq, 60); /* and 20 resolved events */
    check_ok(st);
    fw_store_close(st);
    cleanup();
    return 0;
}

/* ---- tasks --------------------------------------------------------------- */

struct task_ctx {
    struct fw_store *st;
    int n;
    char json[8][512];
};

static int put_task(void *ud, const struct fw_record *rec)
{
    struct task_ctx *t = ud;
    struct fw_error e;
    int rc = fw_store_task_put(t->st, rec, &e);
    if (rc != 0)
        FW__FAIL("task_put: %d %s", rc, e.msg);
    return 0;
}

static void no_reject(void *ud, const char *feed, uint64_t line,
                      const char *reason)
{
    FW__FAIL("%s:%llu: %s", feed, (unsigned long long)line, reason);
}

static void feed_records(struct task_ctx *t, const char *name,
                         const char *ndjson)
{
    struct fw_colmap *m = fw_colmap_new();
    struct fw_reader_cb cb = {put_task, no_reject, NULL};
    struct fw_reader *r = fw_reader_new(m, name, FW_FMT_NDJSON, &cb, t);
    struct fw_error e;
    ASSERT_EQ_INT(fw_reader_push(r, ndjson, strlen(ndjson), &e), 0);
    ASSERT_EQ_INT(fw_reader_finish(r, &e), 0);
    fw_reader_free(r);
    fw_colmap_free(m);
}

static int got_task(void *ud, const struct fw_record *rec)
{
    struct task_ctx *t = ud;
    struct fw_buf b = FW_BUF_INIT;
    fw_record_json(rec, &b);
    ASSERT(t->n < 8);
    snprintf(t->json[t->n++], 512, "%s", b.p);
    fw_buf_fini(&b);
    return 0;
}

static int stop_task(void *ud, const struct fw_record *rec)
{
    return 42;
}

TEST_IMPL(store_tasks_upsert_and_iterate)
{
    fresh();
    struct fw_store *st = open_db(NULL);
    struct task_ctx t = {.st = st};
    struct fw_error e;
    begin(st, 1);
    feed_records(
        &t, "tasks-1.ndjson",
        "{\"kind\":\"task\",\"region\":\"500103\",\"dept\":\"D1\","
        "\"task\":\"T1\",\"task_name\":\"整改\",\"due\":\"2024-06-30\","
        "\"as_of\":\"2024-05-31\",\"budget\":\"1234.56\","
        "\"goal_rate\":\"85.5%\",\"备注\":\"x\\\"y\"}\n"
        "{\"kind\":\"task\",\"region\":\"500104\",\"task\":\"T9\","
        "\"due\":\"2024-07-01\"}\n");
    commit(st);
    begin(st, 2);
    /* A later snapshot of T1 replaces it; an older one of T9 does not
     * exist (no as_of stored): replaces too. */
    feed_records(&t, "tasks-2.ndjson",
                 "\n{\"kind\":\"task\",\"region\":\"500103\",\"dept\":\"D1\","
                 "\"task\":\"T1\",\"due\":\"2024-06-30\",\"done_on\":"
                 "\"2024-06-20\",\"as_of\":\"2024-06-30\"}\n");
    commit(st);
    begin(st, 3);
    /* An older snapshot of T1 changes nothing. */
    feed_records(&t, "tasks-3.ndjson",
                 "{\"kind\":\"task\",\"region\":\"500103\",\"dept\":\"D1\","
                 "\"task\":\"T1\",\"due\":\"2024-06-30\","
                 "\"as_of\":\"2024-04-30\"}\n");
    commit(st);

    ASSERT_EQ_INT(fw_store_tasks_each(st, got_task, &t, &e), 0);
    ASSERT_EQ_INT(t.n, 2);
    ASSERT_EQ_STR(t.json[0],
                  "{\"kind\":\"task\",\"region\":\"500103\",\"dept\":\"D1\","
                  "\"as_of\":\"2024-06-30\",\"task\":\"T1\",\"due\":"
                  "\"2024-06-30\",\"done_on\":\"2024-06-20\",\"source\":"
                  "{\"feed\":\"tasks-2.ndjson\",\"line\":2}}");
    ASSERT_EQ_STR(t.json[1],
                  "{\"kind\":\"task\",\"region\":\"500104\",\"task\":\"T9\","
                  "\"due\":\"2024-07-01\",\"source\":{\"feed\":"
                  "\"tasks-1.ndjson\",\"line\":2}}");
    ASSERT_EQ_INT(fw_store_tasks_each(st, stop_task, &t, &e), 42);
    struct fw_store_counts c;
    fw_store_counts(st, &c, &e);
    ASSERT_EQ_INT(c.tasks, 2);

    /* Every field and extra column survives the round trip. */
    fw_store_close(st);
    st = open_db(NULL);
    t.st = st;
    begin(st, 4);
    feed_records(&t, "tasks-4.ndjson",
                 "{\"kind\":\"task\",\"region\":\"500103001\",\"year\":2024,"
                 "\"dept\":\"D1\",\"dept_name\":\"教委\",\"project\":\"P1\","
                 "\"is_new\":\"是\",\"budget\":\"-0.05\",\"paid\":\"12\","
                 "\"goal_rate\":\"85.5%\",\"score\":\"90.25\","
                 "\"task\":\"T2\",\"备注\":\"a\\nb\"}\n");
    commit(st);
    t.n = 0;
    ASSERT_EQ_INT(fw_store_tasks_each(st, got_task, &t, &e), 0);
    ASSERT_EQ_INT(t.n, 3); /* by region, dept, task */
    ASSERT_EQ_STR(t.json[1],
                  "{\"kind\":\"task\",\"region\":\"500103001\",\"year\":2024,"
                  "\"dept\":\"D1\",\"dept_name\":\"教委\",\"project\":\"P1\","
                  "\"is_new\":true,\"budget\":\"-0.05\",\"paid\":\"12.00\","
                  "\"goal_rate\":85.50,\"score\":90.25,\"task\":\"T2\","
                  "\"extra\":{\"备注\":\"a\\nb\"},\"source\":{\"feed\":"
                  "\"tasks-4.ndjson\",\"line\":1}}");

    /* Not a task record, or outside a feed. */
    begin(st, 5);
    t.n = 0;
    struct fw_record exec = {.kind = FW_RK_EXECUTION};
    ASSERT_EQ_INT(fw_store_task_put(st, &exec, &e), FW_EINVAL);
    ASSERT_EQ_INT(fw_store_task_put(st, &exec, &e), FW_ESTATE);
    ASSERT_CONTAINS(e.msg, "failed and was rolled back");
    check_ok(st);
    fw_store_close(st);
    cleanup();
    return 0;
}

/* ---- generations --------------------------------------------------------- */

struct gens {
    int n;
    char line[4][256];
};

static int got_gen(void *ud, const struct fw_store_generation *g)
{
    struct gens *x = ud;
    ASSERT(x->n < 4);
    int k = snprintf(x->line[x->n], 256, "%s %lld %s %d %s", g->version,
                     (long long)g->loaded_ms, fw_store_trigger_name(g->trigger),
                     g->ok, g->error ? g->error : "-");
    for (size_t i = 0; i < g->n_files; i++)
        k += snprintf(x->line[x->n] + k, 256 - (size_t)k, " %s=%s",
                      g->files[i].path, g->files[i].sha256);
    x->n++;
    return 0;
}

TEST_IMPL(store_generations)
{
    fresh();
    struct fw_store *st = open_db(NULL);
    struct fw_error e;
    struct fw_store_gen_file files[] = {{"policies/cn/exec.lua", "aa"},
                                        {"policies/50/cq.lua", "bb"}};
    struct fw_store_generation g1 = {.version = "sha256:one",
                                     .loaded_ms = 10,
                                     .trigger = FW_TRIG_START,
                                     .ok = true,
                                     .files = files,
                                     .n_files = 2};
    struct fw_store_generation g2 = {.version = "sha256:two",
                                     .loaded_ms = 20,
                                     .trigger = FW_TRIG_SIGHUP,
                                     .ok = false,
                                     .error = "policies/50/cq.lua:3: oops"};
    int64_t id = 0;
    ASSERT_EQ_INT(fw_store_generation_add(st, &g1, &id, &e), 0);
    ASSERT_EQ_INT(id, 1);
    ASSERT_EQ_INT(fw_store_generation_add(st, &g2, &id, &e), 0);
    ASSERT_EQ_INT(id, 2);
    struct gens x = {0};
    ASSERT_EQ_INT(fw_store_generations_each(st, 0, got_gen, &x, &e), 0);
    ASSERT_EQ_INT(x.n, 2);
    ASSERT_EQ_STR(x.line[0],
                  "sha256:two 20 sighup 0 policies/50/cq.lua:3: oops");
    ASSERT_EQ_STR(x.line[1], "sha256:one 10 start 1 - policies/50/cq.lua=bb "
                             "policies/cn/exec.lua=aa");
    x.n = 0;
    ASSERT_EQ_INT(fw_store_generations_each(st, 1, got_gen, &x, &e), 0);
    ASSERT_EQ_INT(x.n, 1);
    /* The same path twice in one generation is refused, whole. */
    struct fw_store_gen_file twice[] = {{"a.lua", "1"}, {"a.lua", "2"}};
    struct fw_store_generation g3 = {.version = "sha256:3",
                                     .trigger = FW_TRIG_API,
                                     .files = twice,
                                     .n_files = 2};
    ASSERT_EQ_INT(fw_store_generation_add(st, &g3, NULL, &e), FW_EINVAL);
    ASSERT_CONTAINS(e.msg, "UNIQUE");
    ASSERT_EQ_STR(e.place, db);
    struct fw_store_counts c;
    fw_store_counts(st, &c, &e);
    ASSERT_EQ_INT(c.generations, 2);
    check_ok(st);
    fw_store_close(st);
    cleanup();
    return 0;
}

/* ---- queries ------------------------------------------------------------- */

TEST_IMPL(store_query_filters_and_pages)
{
    fresh();
    struct fw_store *st = open_db(NULL);
    struct fw_error e;
    static const char *regions[] = {"500103", "500104", "230882"};
    char proj[30][16];
    struct fw_finding f[30];
    begin(st, 1);
    for (int i = 0; i < 30; i++) {
        snprintf(proj[i], 16, "P%02d", i);
        f[i] = fnd(i % 2 ? "exec_lag" : "idle",
                   i % 5 == 4 ? FW_FK_SCORE : FW_FK_ALERT, regions[i % 3],
                   proj[i], "p");
        if (f[i].kind == FW_FK_ALERT && i % 4 == 1)
            f[i].level = FW_LV_YELLOW;
        add(st, &f[i], FW_RK_EXECUTION);
    }
    commit(st);
    begin(st, 2); /* resolve P01 */
    done(st, "500104", "P01", NULL, 0, 5);
    add(st, &f[2], FW_RK_EXECUTION); /* last_seen moves */
    commit(st);

    struct seen s = {0};
    int64_t next = -1;
    struct fw_store_query q = {
        .kind = -1, .level = -1, .state = -1, .limit = 10};
    /* Pages of 10: 30 rows, three pages, no repeats, in order. */
    int total = 0;
    int64_t prev = 0;
    for (int page = 0; page < 4; page++) {
        s.n = 0;
        ASSERT_EQ_INT(fw_store_query(st, &q, collect, &s, &next, &e), 0);
        for (int i = 0; i < s.n; i++) {
            ASSERT(s.rowid[i] > prev);
            prev = s.rowid[i];
        }
        total += s.n;
        if (next == 0)
            break;
        q.cursor = next;
    }
    ASSERT_EQ_INT(total, 30);
    ASSERT_EQ_INT(s.n, 10);

    q = (struct fw_store_query){
        .region_prefix = "5001", .kind = -1, .level = -1, .state = -1};
    s.n = 0;
    ASSERT_EQ_INT(fw_store_query(st, &q, collect, &s, &next, &e), 0);
    ASSERT_EQ_INT(s.n, 20);
    ASSERT_EQ_INT(next, 0);
    q.region_prefix = "500104";
    q.kind = FW_FK_ALERT;
    s.n = 0;
    ASSERT_EQ_INT(fw_store_query(st, &q, collect, &s, NULL, &e), 0);
    ASSERT_EQ_INT(s.n, 8); /* 10 of 500104, minus the scores P04, P19 */
    q.state = FW_ST_RESOLVED;
    s.n = 0;
    ASSERT_EQ_INT(fw_store_query(st, &q, collect, &s, NULL, &e), 0);
    ASSERT_EQ_INT(s.n, 1);
    ASSERT_EQ_STR(s.id[0], f[1].id);
    q = (struct fw_store_query){
        .kind = -1, .level = FW_LV_YELLOW, .state = -1, .rule = "exec_lag"};
    s.n = 0;
    ASSERT_EQ_INT(fw_store_query(st, &q, collect, &s, NULL, &e), 0);
    ASSERT_EQ_INT(s.n, 6); /* i = 1, 5, 13, 17, 21, 25 (9 is a score) */
    q = (struct fw_store_query){
        .kind = -1, .level = -1, .state = -1, .since_ms = 1700000002000};
    s.n = 0;
    ASSERT_EQ_INT(fw_store_query(st, &q, collect, &s, NULL, &e), 0);
    ASSERT_EQ_INT(s.n, 1);
    ASSERT_EQ_STR(s.id[0], f[2].id);
    q = (struct fw_store_query){
        .kind = FW_FK_CLAWBACK, .level = -1, .state = -1};
    s.n = 0;
    ASSERT_EQ_INT(fw_store_query(st, &q, collect, &s, &next, &e), 0);
    ASSERT_EQ_INT(s.n, 0);
    ASSERT_EQ_INT(next, 0);
    check_ok(st);
    fw_store_close(st);
    cleanup();
    return 0;
}

/* ---- failures ------------------------------------------------------------ */

TEST_IMPL(store_disk_full_rolls_back)
{
    fresh();
    struct fw_store *st = open_db(NULL);
    struct fw_error e;
    struct fw_finding keep = fnd("r", FW_FK_ALERT, "500103", "KEEP", "p");
    begin(st, 1);
    add(st, &keep, FW_RK_EXECUTION);
    commit(st);
    fw_store_close(st);
    /* The database may not grow past 4 pages more: SQLITE_FULL, as from a
     * full disk (a tiny tmpfs needs privileges a unit test lacks). */
    int64_t pages = raw_int("PRAGMA page_count");
    ASSERT(pages > 0);
    struct fw_store_opts o = {.max_pages = pages + 4};
    st = open_db(&o);
    begin(st, 2);
    char big[2048];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    int rc = 0;
    char proj[16];
    struct fw_finding first = fnd("r", FW_FK_ALERT, "500103", "P0", "p");
    for (int i = 0; i < 2000 && rc == 0; i++) {
        snprintf(proj, sizeof proj, "P%d", i);
        struct fw_finding f = fnd("r", FW_FK_ALERT, "500103", proj, "p");
        f.message = big;
        rc = fw_store_finding_add(st, &f, FW_RK_EXECUTION, NULL, &e);
    }
    ASSERT_EQ_INT(rc, FW_EIO);
    ASSERT_EQ_STR(e.place, db);
    ASSERT_CONTAINS(e.msg, "full");
    /* The transaction is gone, all of it. */
    ASSERT_EQ_INT(fw_store_feed_commit(st, NULL, &e), FW_ESTATE);
    struct fw_store_finding sf;
    ASSERT_EQ_INT(fw_store_finding_get(st, first.id, &sf, &e), FW_ENOENT);
    ASSERT_EQ_INT(fw_store_finding_get(st, keep.id, &sf, &e), 0);
    ASSERT_EQ_INT(fw_store_feed_seen(st, sha(2), NULL, &e), 0);
    check_ok(st);
    fw_store_close(st);
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM findings"), 1);
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM outbox"), 1);

    /* With room again the same feed commits. */
    st = open_db(NULL);
    begin(st, 2);
    add(st, &first, FW_RK_EXECUTION);
    commit(st);
    check_ok(st);
    fw_store_close(st);
    cleanup();
    return 0;
}

TEST_IMPL(store_read_only_and_busy)
{
    fresh();
    fw_store_close(open_db(NULL));
    struct fw_error e;
    struct fw_store_opts ro = {.read_only = true};
    struct fw_store *st = open_db(&ro);
    struct fw_store_feed fd = feed_of(1);
    int rc = fw_store_feed_begin(st, &fd, &e);
    if (rc == 0) {
        struct fw_finding a = fnd("r", FW_FK_ALERT, "500103", "P", "p");
        rc = fw_store_finding_add(st, &a, 0, NULL, &e);
        if (rc == 0)
            rc = fw_store_feed_commit(st, NULL, &e);
    }
    ASSERT_EQ_INT(rc, FW_EIO);
    ASSERT_CONTAINS(e.msg, "readonly");
    fw_store_close(st);

    /* Another writer holds the lock: FW_EBUSY after the timeout. */
    sqlite3 *h;
    ASSERT_EQ_INT(sqlite3_open(db, &h), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL), 0);
    struct fw_store_opts quick = {.busy_timeout_ms = 50};
    st = open_db(&quick);
    ASSERT_EQ_INT(fw_store_feed_begin(st, &fd, &e), FW_EBUSY);
    ASSERT_CONTAINS(e.msg, "locked");
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(h);
    begin(st, 1);
    commit(st);
    check_ok(st);
    fw_store_close(st);
    cleanup();
    return 0;
}

TEST_IMPL(store_batch_without_feed)
{
    fresh();
    struct fw_store *st = open_db(NULL);
    struct fw_error e;
    ASSERT_EQ_INT(fw_store_batch_begin(st, 1700000100000, &e), 0);
    struct fw_finding a = fnd("task_due", FW_FK_ALERT, "500103", "P1", "t");
    ASSERT_EQ_INT(add(st, &a, -1), 1);
    ASSERT_EQ_INT(fw_store_reject_add(st, 1, "x", &e), FW_ESTATE);
    /* that failure rolled the batch back */
    ASSERT_EQ_INT(fw_store_batch_commit(st, &e), FW_ESTATE);
    ASSERT_EQ_INT(fw_store_batch_begin(st, 1700000100000, &e), 0);
    ASSERT_EQ_INT(add(st, &a, -1), 1);
    ASSERT_EQ_INT(fw_store_batch_commit(st, &e), 0);
    struct fw_store_finding g = get(st, a.id);
    ASSERT_EQ_INT(g.first_feed, 0);
    ASSERT_EQ_INT(g.rkind, -1);
    ASSERT_EQ_INT(g.first_seen, 1700000100000);
    ASSERT_EQ_INT(raw_int("SELECT count(*) FROM feeds"), 0);
    check_ok(st);
    fw_store_close(st);
    cleanup();
    return 0;
}

/* The dashboard's overview and the list's unit and date filters, against
 * the same counts taken with plain SQL. */
TEST_IMPL(store_summary_and_unit_date_filters)
{
    fresh();
    struct fw_store *st = open_db(NULL);
    struct fw_error e;
    static const char *regions[] = {"500103", "500104", "230882"};
    char proj[12][16];
    struct fw_finding f[12];
    begin(st, 1);
    for (int i = 0; i < 12; i++) {
        snprintf(proj[i], 16, "P%02d", i);
        f[i] = fnd(i % 2 ? "exec_lag" : "idle",
                   i % 4 == 3 ? FW_FK_CLAWBACK : FW_FK_ALERT, regions[i % 3],
                   proj[i], "p");
        if (f[i].kind == FW_FK_ALERT && i % 3 == 1)
            f[i].level = FW_LV_YELLOW;
        f[i].amount = 100 * (i + 1); /* fen */
        f[i].as_of = 19900 + i;
        f[i].dept = i < 6 ? "D1" : "D2";
        f[i].dept_name = i < 6 ? "单位一" : "单位二";
        add(st, &f[i], FW_RK_EXECUTION);
    }
    commit(st);
    begin(st, 2); /* resolve P01 (500104, D1) */
    struct fw_store_subject subj = {.kind = FW_RK_EXECUTION, .region = "500104",
                                    .dept = "D1", .project = "P01",
                                    .has_as_of = true, .as_of = 19990};
    ASSERT_EQ_INT(fw_store_subject_done(st, &subj, NULL, 0, 1700000005000,
                                        NULL, &e), 0);
    commit(st);

    struct fw_store_summary *s = calloc(1, sizeof *s);
    ASSERT(s != NULL);
    ASSERT_EQ_INT(fw_store_summary(st, 1700000000000, 1700000001500, s, &e),
                  0);
    ASSERT_EQ_INT(s->open[FW_FK_ALERT][FW_LV_RED],
                  raw_int("SELECT count(*) FROM findings WHERE state = 0 AND "
                          "kind = 0 AND level = 3"));
    ASSERT_EQ_INT(s->open[FW_FK_ALERT][FW_LV_YELLOW],
                  raw_int("SELECT count(*) FROM findings WHERE state = 0 AND "
                          "kind = 0 AND level = 2"));
    ASSERT_EQ_INT(s->open[FW_FK_CLAWBACK][FW_LV_NONE], 3);
    ASSERT_EQ_INT(s->amount_fen[FW_FK_CLAWBACK], 400 + 800 + 1200);
    ASSERT_EQ_INT(s->opened_since, 12);
    ASSERT_EQ_INT(s->resolved_since, 1);
    ASSERT_EQ_INT((int64_t)s->n_regions, 3);
    int64_t sum = 0;
    for (size_t i = 0; i < s->n_regions; i++)
        sum += s->regions[i].open;
    ASSERT_EQ_INT(sum, 11);
    ASSERT(s->regions[0].red >= s->regions[1].red);
    ASSERT_EQ_INT((int64_t)s->n_units, 6); /* (region, dept) pairs */
    ASSERT(strcmp(s->units[0].dept_name, "单位一") == 0 ||
           strcmp(s->units[0].dept_name, "单位二") == 0);
    /* feed 1 started before day_ms, feed 2 after it */
    ASSERT_EQ_INT(s->feeds[FW_FEED_DONE], 1);
    ASSERT_EQ_INT(s->records, 2);
    ASSERT_EQ_STR(s->last_failed, "");
    free(s);

    /* the list's filters: a unit, a range of data dates */
    struct seen seen = {0};
    int64_t next = -1;
    struct fw_store_query q = {.kind = -1, .level = -1, .state = -1,
                               .dept = "D2"};
    ASSERT_EQ_INT(fw_store_query(st, &q, collect, &seen, &next, &e), 0);
    ASSERT_EQ_INT(seen.n, 6);
    seen.n = 0;
    q = (struct fw_store_query){.kind = -1, .level = -1, .state = -1,
                                .has_from = true, .as_of_from = 19902,
                                .has_to = true, .as_of_to = 19904};
    ASSERT_EQ_INT(fw_store_query(st, &q, collect, &seen, &next, &e), 0);
    ASSERT_EQ_INT(seen.n, 3);
    fw_store_close(st);
    cleanup();
    return 0;
}
