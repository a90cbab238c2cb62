/* The SQLite store (store.h): schema and migrations, one transaction per
 * feed, finding dedupe and resolution, the outbox sequence, the finding key
 * index. The only file that includes sqlite3.h; it must not log, exit or
 * know the spool: every failure goes back as a negative FW_E code.
 *
 * The finding key index. A finding id is a random-looking hash, and a
 * B-tree keyed by random keys updated on every insert dirties nearly every
 * leaf on every commit once it outgrows a few thousand pages: measured here
 * (tests/bench/store.sh) it falls to ~50,000 rows/s by a million rows,
 * whatever the cache size. So the findings table is a rowid table written in
 * insertion order (append only), with no index on the id, and the two
 * lookups it needs (by id, for dedupe; by subject, for resolution) go
 * through finding_keys(k, fid), a WITHOUT ROWID table of 64-bit keys (the
 * id's first 8 bytes; a hash of the subject) that is written in batches,
 * like one level of an LSM tree: keys of findings stored since the last
 * merge live in memory (the tail, a hash table), and when the tail reaches
 * opts.merge_rows they are inserted in key order in one transaction, so each
 * leaf is dirtied once per batch instead of once per finding. The tail is
 * rebuilt at open from the findings above meta.keys_merged, so a crash loses
 * nothing. Every key hit is checked against the row itself (the full id, or
 * the subject's columns), so a 64-bit collision or a stale key costs a row
 * read, never a wrong answer. */
#include "store.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "fundwatch/buf.h"
#include "fundwatch/reader.h"

#define DEFAULT_BUSY_MS 5000
#define DEFAULT_CACHE_KIB 65536
#define DEFAULT_MERGE_ROWS 1048576
#define ID_BYTES (FW_ID_HEX / 2)

/* ---- schema --------------------------------------------------------------
 * migrations[i] takes user_version i to i + 1, in one transaction. Never
 * edit a released step: add one. CHECKs are OR chains, not IN lists: SQLite
 * codes an IN list of more than two constants as an ephemeral table built
 * again on every INSERT (measured: a third of the insert time). */

static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "CREATE TABLE counters(name TEXT PRIMARY KEY, n INTEGER NOT NULL)"
    "  WITHOUT ROWID;"
    "CREATE TABLE generations("
    "  id INTEGER PRIMARY KEY,"
    "  version TEXT NOT NULL,"
    "  loaded_at INTEGER NOT NULL,"
    "  trigger TEXT NOT NULL"
    "    CHECK (trigger = 'start' OR trigger = 'sighup' OR trigger = 'watch' OR trigger = 'api'),"
    "  ok INTEGER NOT NULL CHECK (ok = 0 OR ok = 1),"
    "  error TEXT);"
    "CREATE TABLE generation_files("
    "  generation INTEGER NOT NULL REFERENCES generations(id),"
    "  path TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  PRIMARY KEY (generation, path)) WITHOUT ROWID;"
    "CREATE TABLE feeds("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  source TEXT NOT NULL CHECK (source = 'spool' OR source = 'http'),"
    "  status TEXT NOT NULL CHECK (status = 'done' OR status = 'failed' OR status = 'duplicate'),"
    "  dup_of INTEGER REFERENCES feeds(id),"
    "  lines INTEGER, records INTEGER, rejects INTEGER,"
    "  alerts INTEGER, clawbacks INTEGER, scores INTEGER, errors INTEGER,"
    "  ops INTEGER,"
    "  events INTEGER,"   /* new or reopened findings: outbox lines */
    "  resolved INTEGER,"
    "  bytes INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  finished_at INTEGER,"
    "  duration_ms INTEGER,"
    "  reason TEXT,"
    "  generation TEXT);"
    "CREATE UNIQUE INDEX feeds_done ON feeds(sha256) WHERE status = 'done';"
    "CREATE INDEX feeds_sha256 ON feeds(sha256);"
    "CREATE TABLE findings("
    "  fid INTEGER PRIMARY KEY,"
    "  id BLOB NOT NULL CHECK (length(id) = 16),"
    "  kind TEXT NOT NULL"
    "    CHECK (kind = 'alert' OR kind = 'clawback' OR kind = 'score' OR kind = 'error' OR kind = 'ops'),"
    "  level TEXT CHECK (level = 'info' OR level = 'yellow' OR level = 'red'),"
    "  policy TEXT, policy_version TEXT, rule TEXT,"
    "  region TEXT, dept TEXT, project TEXT, task TEXT,"
    "  as_of INTEGER,"       /* days since 1970-01-01 */
    "  amount INTEGER,"      /* fen */
    "  ratio TEXT,"          /* exact decimal text */
    "  score INTEGER,"       /* hundredths */
    "  grade TEXT, message TEXT, feed TEXT, line INTEGER,"
    "  rkind TEXT CHECK (rkind = 'execution' OR rkind = 'evaluation' OR rkind = 'task'),"
    "  state TEXT NOT NULL CHECK (state = 'open' OR state = 'resolved'),"
    "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  resolved_at INTEGER,"
    /* No REFERENCES on the two hot tables: a parent lookup per row cost
     * a tenth of the insert time; the same transaction writes parent and
     * child, and fw_store_check looks for orphans. */
    "  first_feed INTEGER," /* feeds(id) */
    "  last_feed INTEGER,"  /* feeds(id) */
    "  seq INTEGER NOT NULL);"  /* the latest event's outbox seq */
    "CREATE TABLE finding_keys(k INTEGER NOT NULL, fid INTEGER NOT NULL,"
    "  PRIMARY KEY (k, fid)) WITHOUT ROWID;"
    "CREATE TABLE outbox("
    "  seq INTEGER PRIMARY KEY,"
    "  fid INTEGER NOT NULL," /* findings(fid) */
    "  reopened INTEGER NOT NULL);"
    "CREATE TABLE rejects("
    "  id INTEGER PRIMARY KEY,"
    "  feed INTEGER NOT NULL REFERENCES feeds(id),"
    "  line INTEGER NOT NULL,"
    "  reason TEXT NOT NULL);"
    "CREATE TABLE tasks("
    "  region TEXT NOT NULL, dept TEXT NOT NULL, task TEXT NOT NULL,"
    "  as_of INTEGER,"
    "  record TEXT NOT NULL,"  /* NDJSON the reader reads back */
    "  feed INTEGER REFERENCES feeds(id),"
    "  source TEXT NOT NULL, line INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (region, dept, task));",
};

#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])
_Static_assert(N_MIGRATIONS == FW_STORE_SCHEMA_VERSION,
               "one migration per schema version");

/* ---- statements, prepared once at open ----------------------------------- */

#define FCOLS                                                                \
    "f.fid, f.id, f.kind, f.level, f.policy, f.policy_version, f.rule, "     \
    "f.region, f.dept, f.project, f.task, f.as_of, f.amount, f.ratio, "      \
    "f.score, f.grade, f.message, f.feed, f.line, f.rkind, f.state, "        \
    "f.first_seen, f.last_seen, f.resolved_at, f.first_feed, f.last_feed, "  \
    "f.seq"

#define SUBJ_MATCH                                                           \
    "f.state = 'open' AND (f.kind = 'alert' OR f.kind = 'clawback') AND f.rkind IS ?2 " \
    "AND f.region IS ?3 AND f.dept IS ?4 AND f.project IS ?5 "               \
    "AND f.task IS ?6 AND (?7 IS NULL OR f.as_of IS NULL OR f.as_of <= ?7)"

enum {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_FEED_SEEN,
    S_FEED_INS,
    S_FEED_DONE,
    S_FEED_REC,
    S_KEY_FIND,
    S_FID_ID,
    S_F_INS,
    S_F_SEEN,
    S_F_REOPEN,
    S_OUTBOX_INS,
    S_SUBJ_DISK,
    S_SUBJ_FID,
    S_RESOLVE,
    S_KEY_INS,
    S_KEY_DEL,
    S_MAX_FID,
    S_REJ_INS,
    S_TASK_GET,
    S_TASK_PUT,
    S_TASKS_ALL,
    S_META_GET,
    S_META_SET,
    S_MARK,
    S_COUNTER_ADD,
    S_COUNTERS_ALL,
    S_MAX_SEQ,
    S_F_GET,
    S_QUERY,
    S_PENDING,
    S_GEN_INS,
    S_GENF_INS,
    S_GENS,
    S_GENF_OF,
    S_TAIL_LOAD,
    S_KEYS_ALL,
    S_KEYS_COUNT,
    S__COUNT
};

static const char *const sql[S__COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_FEED_SEEN] = "SELECT id FROM feeds WHERE sha256 = ?1 AND status = 'done'",
    [S_FEED_INS] =
        "INSERT INTO feeds(name, sha256, source, status, bytes, started_at,"
        " generation) VALUES (?1, ?2, ?3, 'done', ?4, ?5, ?6)",
    [S_FEED_DONE] =
        "UPDATE feeds SET lines = ?2, records = ?3, rejects = ?4, alerts = ?5,"
        " clawbacks = ?6, scores = ?7, errors = ?8, ops = ?9, events = ?10,"
        " resolved = ?11, finished_at = ?12, duration_ms = ?12 - started_at"
        " WHERE id = ?1",
    [S_FEED_REC] =
        "INSERT INTO feeds(name, sha256, source, status, dup_of, lines,"
        " records, rejects, bytes, started_at, finished_at, duration_ms,"
        " reason, generation) VALUES (?1, ?2, ?3, ?4, (SELECT id FROM feeds"
        " WHERE sha256 = ?2 AND status = 'done'), ?5, ?6, ?7, ?8, ?9, ?10,"
        " ?10 - ?9, ?11, ?12)",
    [S_KEY_FIND] =
        "SELECT f.fid, f.state FROM finding_keys k JOIN findings f"
        " ON f.fid = k.fid WHERE k.k = ?1 AND f.id = ?2",
    [S_FID_ID] = "SELECT state FROM findings WHERE fid = ?1 AND id = ?2",
    [S_F_INS] =
        "INSERT INTO findings(id, kind, level, policy, policy_version, rule,"
        " region, dept, project, task, as_of, amount, ratio, score, grade,"
        " message, feed, line, rkind, state, first_seen, last_seen,"
        " first_feed, last_feed, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
        " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, 'open', ?20,"
        " ?20, ?21, ?21, ?22)",
    [S_F_SEEN] =
        "UPDATE findings SET last_seen = ?2, last_feed = ?3 WHERE fid = ?1",
    [S_F_REOPEN] =
        "UPDATE findings SET kind = ?2, level = ?3, policy = ?4,"
        " policy_version = ?5, rule = ?6, region = ?7, dept = ?8,"
        " project = ?9, task = ?10, as_of = ?11, amount = ?12, ratio = ?13,"
        " score = ?14, grade = ?15, message = ?16, feed = ?17, line = ?18,"
        " rkind = ?19, state = 'open', last_seen = ?20, resolved_at = NULL,"
        " last_feed = ?21, seq = ?22 WHERE fid = ?23 AND id = ?1",
    [S_OUTBOX_INS] = "INSERT INTO outbox(seq, fid, reopened) VALUES (?1, ?2, ?3)",
    [S_SUBJ_DISK] =
        "SELECT f.fid, f.id, f.kind FROM finding_keys k JOIN findings f"
        " ON f.fid = k.fid WHERE k.k = ?1 AND " SUBJ_MATCH,
    [S_SUBJ_FID] =
        "SELECT f.fid, f.id, f.kind FROM findings f WHERE f.fid = ?1 AND "
        SUBJ_MATCH,
    [S_RESOLVE] =
        "UPDATE findings SET state = 'resolved', resolved_at = ?2"
        " WHERE fid = ?1 AND state = 'open'",
    [S_KEY_INS] = "INSERT OR IGNORE INTO finding_keys(k, fid) VALUES (?1, ?2)",
    [S_KEY_DEL] =
        "DELETE FROM finding_keys WHERE k = ?1 AND fid = ?2 AND"
        " (SELECT state FROM findings WHERE fid = ?2) = 'resolved'",
    [S_MAX_FID] = "SELECT coalesce(max(fid), 0) FROM findings",
    [S_REJ_INS] = "INSERT INTO rejects(feed, line, reason) VALUES (?1, ?2, ?3)",
    [S_TASK_GET] =
        "SELECT as_of FROM tasks WHERE region = ?1 AND dept = ?2 AND task = ?3",
    [S_TASK_PUT] =
        "INSERT INTO tasks(region, dept, task, as_of, record, feed, source,"
        " line, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        " ON CONFLICT (region, dept, task) DO UPDATE SET as_of = excluded.as_of,"
        " record = excluded.record, feed = excluded.feed,"
        " source = excluded.source, line = excluded.line,"
        " updated_at = excluded.updated_at",
    [S_TASKS_ALL] =
        "SELECT region, dept, task, record, source, line FROM tasks"
        " ORDER BY region, dept, task",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [S_META_SET] =
        "INSERT INTO meta(key, value) VALUES (?1, ?2)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [S_MARK] =
        "INSERT INTO meta(key, value) VALUES ('outbox_marked', ?1)"
        " ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
    [S_COUNTER_ADD] =
        "INSERT INTO counters(name, n) VALUES (?1, ?2)"
        " ON CONFLICT (name) DO UPDATE SET n = n + excluded.n",
    [S_COUNTERS_ALL] = "SELECT name, n FROM counters",
    [S_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM outbox",
    [S_F_GET] = "SELECT " FCOLS " FROM findings f WHERE f.fid = ?1",
    [S_QUERY] =
        "SELECT " FCOLS " FROM findings f WHERE f.fid > ?1"
        " AND (?2 IS NULL OR substr(f.region, 1, length(?2)) = ?2)"
        " AND (?3 IS NULL OR f.kind = ?3) AND (?4 IS NULL OR f.level = ?4)"
        " AND (?5 IS NULL OR f.rule = ?5) AND (?6 IS NULL OR f.state = ?6)"
        " AND (?7 IS NULL OR f.last_seen >= ?7)"
        " ORDER BY f.fid LIMIT ?8",
    [S_PENDING] =
        "SELECT " FCOLS ", o.seq FROM outbox o JOIN findings f"
        " ON f.fid = o.fid WHERE o.seq > ?1 ORDER BY o.seq",
    [S_GEN_INS] =
        "INSERT INTO generations(version, loaded_at, trigger, ok, error)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_GENF_INS] =
        "INSERT INTO generation_files(generation, path, sha256)"
        " VALUES (?1, ?2, ?3)",
    [S_GENS] =
        "SELECT id, version, loaded_at, trigger, ok, error FROM generations"
        " ORDER BY id DESC LIMIT ?1",
    [S_GENF_OF] =
        "SELECT path, sha256 FROM generation_files WHERE generation = ?1"
        " ORDER BY path",
    [S_TAIL_LOAD] =
        "SELECT fid, id, kind, state, rkind, region, dept, project, task"
        " FROM findings WHERE fid > ?1 ORDER BY fid",
    [S_KEYS_ALL] = "SELECT k FROM finding_keys",
    [S_KEYS_COUNT] = "SELECT count(*) FROM finding_keys",
};

/* ---- counters, kept with each transaction -------------------------------- */

enum {
    C_FINDINGS = 0,                    /* + kind * 2 + state */
    C_FEEDS = C_FINDINGS + FW__FK_COUNT * 2, /* + status */
    C_REJECTS = C_FEEDS + 3,
    C_TASKS,
    C_GENERATIONS,
    C__COUNT
};

static const char *const counter_names[C__COUNT] = {
    "findings.alert.open", "findings.alert.resolved",
    "findings.clawback.open", "findings.clawback.resolved",
    "findings.score.open", "findings.score.resolved",
    "findings.error.open", "findings.error.resolved",
    "findings.ops.open", "findings.ops.resolved",
    "feeds.done", "feeds.failed", "feeds.duplicate",
    "rejects", "tasks", "generations",
};

static const char *const state_names[2] = {"open", "resolved"};
static const char *const status_names[3] = {"done", "failed", "duplicate"};
static const char *const source_names[2] = {"spool", "http"};
static const char *const trigger_names[FW__TRIG_COUNT] = {
    "start", "sighup", "watch", "api"};

/* ---- the key tail: keys of findings not yet merged into finding_keys ---- */

struct tkey {
    int64_t k;
    int64_t fid;
    int64_t aux;   /* a subject key's: the finding's id key */
};

struct keyvec {
    struct tkey *v;
    size_t n, cap;
};

struct tail {
    struct keyvec keys;
    uint32_t *slot;  /* index + 1 into keys.v; 0 = empty */
    size_t nslot;    /* a power of two, at least twice keys.n */
};

/* ---- the bloom filter of finding_keys ----------------------------------------
 * Most findings are new, and most records' subjects have nothing open: a
 * probe of finding_keys would find nothing. The filter (about 16 bits a key,
 * 4 probes: under 1% false positives) says so from memory. Built at open by
 * one scan of finding_keys, kept by each merge, rebuilt twice as large when
 * full. Without it (bits NULL) every probe goes to disk. */

struct bloom {
    uint64_t *bits;
    unsigned shift;  /* 64 - log2(number of bits) */
    size_t n, cap;   /* keys added; keys before it is rebuilt larger */
};

static bool bloom_maybe(const struct bloom *b, int64_t k)
{
    if (b->bits == NULL)
        return true;
    uint64_t h1 = (uint64_t)k * 0x9e3779b97f4a7c15ull;
    uint64_t h2 = ((uint64_t)k * 0xc2b2ae3d27d4eb4full) | 1;
    for (int i = 0; i < 4; i++) {
        uint64_t bit = (h1 + (uint64_t)i * h2) >> b->shift;
        if (!(b->bits[bit >> 6] >> (bit & 63) & 1))
            return false;
    }
    return true;
}

static void bloom_add(struct bloom *b, int64_t k)
{
    if (b->bits == NULL)
        return;
    uint64_t h1 = (uint64_t)k * 0x9e3779b97f4a7c15ull;
    uint64_t h2 = ((uint64_t)k * 0xc2b2ae3d27d4eb4full) | 1;
    for (int i = 0; i < 4; i++) {
        uint64_t bit = (h1 + (uint64_t)i * h2) >> b->shift;
        b->bits[bit >> 6] |= 1ull << (bit & 63);
    }
    b->n++;
}

enum txn { TX_NONE = 0, TX_FEED, TX_BATCH, TX_OWN };

struct fw_store {
    sqlite3 *db;
    char *path;
    struct fw_store_opts opts;
    sqlite3_stmt *st[S__COUNT];

    enum txn tx;
    bool feed_failed;          /* the last transaction failed: say so */
    int64_t now_ms;
    int64_t feed_id;           /* the open feed's row, 0 in a batch */
    int64_t feed_started;
    uint64_t fired[FW__FK_COUNT], events, resolved;

    uint64_t seq, seq_mark;    /* last outbox seq; its value at begin */
    uint64_t marked, marked_mark;
    bool ready;                /* opened: statements prepared, tail loaded */
    int64_t merged;            /* findings up to this fid have their keys
                                  in finding_keys */
    int64_t counters[C__COUNT], delta[C__COUNT];

    struct tail tail;
    size_t tail_mark;
    struct bloom bloom;        /* of the keys in finding_keys */
    struct keyvec dead;        /* subject keys of resolved findings, to
                                  delete at the next merge */
    size_t dead_mark;

    struct fw_colmap *colmap;  /* for reading task records back */
    struct fw_buf arena;       /* strings of fw_store_finding_get */
    struct fw_buf tmp;
};

/* ---- errors -------------------------------------------------------------- */

static int code_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return FW_EBUSY;
    case SQLITE_NOMEM:
        return FW_ENOMEM;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        return FW_EINVAL;
    case SQLITE_TOOBIG:
        return FW_ELIMIT;
    default: /* FULL, IOERR, READONLY, CANTOPEN, CORRUPT, NOTADB, PERM... */
        return FW_EIO;
    }
}

/* The SQLite message of the handle, with the path as the place. Read it
 * before a rollback, which replaces it. */
#define DBERR(st, err, rc, what) \
    db_error((st), (err), (rc), (what), __FILE__, __LINE__)
static int db_error(struct fw_store *st, struct fw_error *err, int rc,
                    const char *what, const char *file, int line)
{
    const char *m = st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
    return fw__error_set(err, code_of(rc), file, line, st->path,
                         "%s: %s", what, m);
}

/* ---- small helpers -------------------------------------------------------- */

/* Binding errors are not checked one by one: with valid indexes they can
 * only be out of memory, which the step that follows reports too. */
static void bind_text(sqlite3_stmt *s, int i, const char *t)
{
    if (t)
        sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static void bind_textn(sqlite3_stmt *s, int i, const char *t, size_t n)
{
    sqlite3_bind_text(s, i, t ? t : "", (int)n, SQLITE_STATIC);
}

static void bind_i64_or_null(sqlite3_stmt *s, int i, bool has, int64_t v)
{
    if (has)
        sqlite3_bind_int64(s, i, v);
    else
        sqlite3_bind_null(s, i);
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

/* Steps a statement that returns no row, then resets it. */
static int exec_stmt(struct fw_store *st, int which, struct fw_error *err,
                     const char *what)
{
    sqlite3_stmt *s = st->st[which];
    int rc = sqlite3_step(s);
    int ret = 0;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        ret = DBERR(st, err, rc, what);
    sqlite3_reset(s);
    return ret;
}

/* Steps a statement returning one integer (or none: *out = dflt). */
static int query_i64(struct fw_store *st, int which, int64_t dflt,
                     int64_t *out, struct fw_error *err, const char *what)
{
    sqlite3_stmt *s = st->st[which];
    int rc = sqlite3_step(s);
    int ret = 0;
    *out = dflt;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(s, 0) != SQLITE_NULL)
            *out = sqlite3_column_int64(s, 0);
    } else if (rc != SQLITE_DONE) {
        ret = DBERR(st, err, rc, what);
    }
    sqlite3_reset(s);
    return ret;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* "0123…" (32 lowercase hex digits) → 16 bytes; false if not an id. */
static bool id_parse(const char *hex, unsigned char out[ID_BYTES])
{
    if (hex == NULL)
        return false;
    for (int i = 0; i < ID_BYTES; i++) {
        int a = hexval(hex[2 * i]), b = a < 0 ? -1 : hexval(hex[2 * i + 1]);
        if (a < 0 || b < 0)
            return false;
        out[i] = (unsigned char)(a << 4 | b);
    }
    return hex[FW_ID_HEX] == '\0';
}

static void id_format(const unsigned char *id, char out[FW_ID_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < ID_BYTES; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[FW_ID_HEX] = '\0';
}

/* The id's key: its first 8 bytes. */
static int64_t id_key(const unsigned char *id)
{
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = k << 8 | id[i];
    return (int64_t)k;
}

/* FNV-1a over the subject, each part length-prefixed, an absent part
 * distinct from an empty one (SQL's IS). Only a probe: the row decides. */
static void fnv(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        *h ^= b[i];
        *h *= 0x100000001b3ull;
    }
}

static void fnv_part(uint64_t *h, const char *s, size_t n)
{
    uint64_t len = s ? (uint64_t)n : UINT64_MAX;
    fnv(h, &len, sizeof len);
    if (s)
        fnv(h, s, n);
}

static int64_t subject_key(int rkind, const char *region, const char *dept,
                           const char *project, const char *task)
{
    uint64_t h = 0xcbf29ce484222325ull;
    fnv(&h, "subject", 7);
    int32_t rk = rkind;
    fnv(&h, &rk, sizeof rk);
    fnv_part(&h, region, region ? strlen(region) : 0);
    fnv_part(&h, dept, dept ? strlen(dept) : 0);
    fnv_part(&h, project, project ? strlen(project) : 0);
    fnv_part(&h, task, task ? strlen(task) : 0);
    return (int64_t)h;
}

static bool resolvable(int kind)
{
    return kind == FW_FK_ALERT || kind == FW_FK_CLAWBACK;
}

static int name_index(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static int rkind_parse(const char *s)
{
    for (int i = 0; s && i < FW__RK_COUNT; i++)
        if (strcmp(s, fw_rkind_name((enum fw_rkind)i)) == 0)
            return i;
    return -1;
}

static const char *rkind_text(int rkind)
{
    return rkind >= 0 && rkind < FW__RK_COUNT
               ? fw_rkind_name((enum fw_rkind)rkind)
               : NULL;
}

/* ---- the tail -------------------------------------------------------------- */

static size_t slot_of(int64_t k, size_t nslot)
{
    return (size_t)(((uint64_t)k * 0x9e3779b97f4a7c15ull) >> 17) & (nslot - 1);
}

/* Sizes the slots for `want` keys (never smaller than they are) and
 * indexes the keys again. */
static int tail_rehash(struct tail *t, size_t want)
{
    size_t n = t->nslot ? t->nslot : 1024;
    while (n < want * 2)
        n <<= 1;
    if (n != t->nslot) {
        uint32_t *s = calloc(n, sizeof *s);
        if (s == NULL)
            return FW_ENOMEM;
        free(t->slot);
        t->slot = s;
        t->nslot = n;
    } else {
        memset(t->slot, 0, n * sizeof *t->slot);
    }
    for (size_t i = 0; i < t->keys.n; i++) {
        size_t j = slot_of(t->keys.v[i].k, t->nslot);
        while (t->slot[j])
            j = (j + 1) & (t->nslot - 1);
        t->slot[j] = (uint32_t)(i + 1);
    }
    return 0;
}

static int vec_push(struct keyvec *v, int64_t k, int64_t fid, int64_t aux)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 1024;
        struct tkey *p = realloc(v->v, cap * sizeof *p);
        if (p == NULL)
            return FW_ENOMEM;
        v->v = p;
        v->cap = cap;
    }
    v->v[v->n++] = (struct tkey){k, fid, aux};
    return 0;
}

static int tail_push(struct tail *t, int64_t k, int64_t fid, int64_t aux)
{
    if (t->keys.n >= UINT32_MAX - 1)
        return FW_ELIMIT;
    if ((t->keys.n + 1) * 2 > t->nslot && tail_rehash(t, t->keys.n + 1) < 0)
        return FW_ENOMEM;
    if (vec_push(&t->keys, k, fid, aux) < 0)
        return FW_ENOMEM;
    size_t j = slot_of(k, t->nslot);
    while (t->slot[j])
        j = (j + 1) & (t->nslot - 1);
    t->slot[j] = (uint32_t)t->keys.n;
    return 0;
}

/* Calls each fid of the tail under key k: visit(ud, fid) non-zero stops. */
#define TAIL_EACH(t, key, ent)                                               \
    for (size_t fw__j = (t)->nslot ? slot_of((key), (t)->nslot) : 0,         \
                fw__go = (t)->nslot != 0;                                    \
         fw__go && (t)->slot[fw__j];                                         \
         fw__j = (fw__j + 1) & ((t)->nslot - 1))                              \
        if (((ent) = &(t)->keys.v[(t)->slot[fw__j] - 1])->k == (key))

static void tail_truncate(struct tail *t, size_t n)
{
    if (t->keys.n == n)
        return;
    t->keys.n = n;
    if (t->nslot)
        tail_rehash(t, n); /* never grows: cannot fail */
}

static void tail_fini(struct tail *t)
{
    free(t->keys.v);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

/* ---- transactions ------------------------------------------------------------ */

static int tx_begin(struct fw_store *st, enum txn kind, struct fw_error *err)
{
    int rc = exec_stmt(st, S_BEGIN, err, "beginning a transaction");
    if (rc < 0)
        return rc;
    st->tx = kind;
    st->feed_failed = false;
    st->seq_mark = st->seq;
    st->marked_mark = st->marked;
    st->tail_mark = st->tail.keys.n;
    st->dead_mark = st->dead.n;
    memset(st->delta, 0, sizeof st->delta);
    memset(st->fired, 0, sizeof st->fired);
    st->events = st->resolved = 0;
    st->feed_id = 0;
    return 0;
}

/* Undoes everything of the open transaction, in SQLite and in memory. */
static void tx_abort(struct fw_store *st)
{
    if (st->tx == TX_NONE)
        return;
    if (!sqlite3_get_autocommit(st->db)) {
        sqlite3_step(st->st[S_ROLLBACK]);
        sqlite3_reset(st->st[S_ROLLBACK]);
    }
    st->seq = st->seq_mark;
    st->marked = st->marked_mark;
    tail_truncate(&st->tail, st->tail_mark);
    st->dead.n = st->dead_mark;
    memset(st->delta, 0, sizeof st->delta);
    st->tx = TX_NONE;
    st->feed_id = 0;
}

/* A failure inside a feed or batch: everything of it is rolled back. */
static int tx_fail(struct fw_store *st, int rc)
{
    if (st->tx == TX_FEED || st->tx == TX_BATCH)
        st->feed_failed = true;
    tx_abort(st);
    return rc;
}

static int tx_commit(struct fw_store *st, struct fw_error *err)
{
    sqlite3_stmt *s = st->st[S_COUNTER_ADD];
    for (int i = 0; i < C__COUNT; i++) {
        if (st->delta[i] == 0)
            continue;
        bind_text(s, 1, counter_names[i]);
        sqlite3_bind_int64(s, 2, st->delta[i]);
        int rc = exec_stmt(st, S_COUNTER_ADD, err, "updating the counters");
        if (rc < 0)
            return tx_fail(st, rc);
    }
    int rc = exec_stmt(st, S_COMMIT, err, "committing");
    if (rc < 0)
        return tx_fail(st, rc);
    for (int i = 0; i < C__COUNT; i++)
        st->counters[i] += st->delta[i];
    memset(st->delta, 0, sizeof st->delta);
    st->tx = TX_NONE;
    st->feed_id = 0;
    return 0;
}

/* FW_ESTATE unless the right transaction is open; a misplaced call inside
 * a batch fails it like any other failure inside. */
static int need_tx(struct fw_store *st, bool feed_only, struct fw_error *err)
{
    if (st->tx == TX_FEED || (!feed_only && st->tx == TX_BATCH))
        return 0;
    if (st->tx == TX_BATCH)
        return tx_fail(st, fw_error_set(err, FW_ESTATE, st->path,
                                        "only a feed's transaction keeps "
                                        "rejects and task records"));
    return fw_error_set(err, FW_ESTATE, st->path, "%s",
                        st->feed_failed
                            ? "no transaction open: the feed's transaction "
                              "failed and was rolled back"
                        : feed_only ? "no feed transaction open"
                                    : "no feed or batch transaction open");
}

/* (Re)builds the filter for at least `want` keys from finding_keys. On
 * failure the filter is off (every probe goes to disk), never wrong. */
static void bloom_build(struct fw_store *st, size_t want)
{
    free(st->bloom.bits);
    memset(&st->bloom, 0, sizeof st->bloom);
    unsigned lg = 20;                 /* 1 Mi bits = 128 KiB at least */
    while (lg < 40 && ((size_t)1 << lg) < want * 16)
        lg++;
    uint64_t *bits = calloc(((size_t)1 << lg) / 64, sizeof *bits);
    if (bits == NULL)
        return;
    struct bloom b = {.bits = bits, .shift = 64 - lg,
                      .cap = ((size_t)1 << lg) / 16};
    sqlite3_stmt *s = st->st[S_KEYS_ALL];
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        bloom_add(&b, sqlite3_column_int64(s, 0));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        free(bits);
        return;
    }
    st->bloom = b;
}

/* ---- merging the tail into finding_keys ------------------------------------ */

static size_t merge_limit(const struct fw_store *st)
{
    return st->opts.merge_rows ? st->opts.merge_rows : DEFAULT_MERGE_ROWS;
}

static int cmp_tkey(const void *a, const void *b)
{
    const struct tkey *x = a, *y = b;
    if (x->k != y->k)
        return x->k < y->k ? -1 : 1;
    return x->fid < y->fid ? -1 : x->fid > y->fid;
}

/* Writes the tail's keys in key order and deletes the keys of findings
 * resolved since, in one transaction; then the tail is empty. */
static int merge(struct fw_store *st, struct fw_error *err)
{
    if (st->tail.keys.n == 0 && st->dead.n == 0)
        return 0;
    int rc = tx_begin(st, TX_OWN, err);
    if (rc < 0)
        return rc;
    qsort(st->tail.keys.v, st->tail.keys.n, sizeof *st->tail.keys.v, cmp_tkey);
    tail_rehash(&st->tail, st->tail.keys.n); /* same size: cannot fail */
    sqlite3_stmt *s = st->st[S_KEY_INS];
    for (size_t i = 0; i < st->tail.keys.n; i++) {
        sqlite3_bind_int64(s, 1, st->tail.keys.v[i].k);
        sqlite3_bind_int64(s, 2, st->tail.keys.v[i].fid);
        if ((rc = exec_stmt(st, S_KEY_INS, err, "merging finding keys")) < 0)
            return tx_fail(st, rc);
    }
    qsort(st->dead.v, st->dead.n, sizeof *st->dead.v, cmp_tkey);
    s = st->st[S_KEY_DEL];
    for (size_t i = 0; i < st->dead.n; i++) {
        sqlite3_bind_int64(s, 1, st->dead.v[i].k);
        sqlite3_bind_int64(s, 2, st->dead.v[i].fid);
        if ((rc = exec_stmt(st, S_KEY_DEL, err, "pruning finding keys")) < 0)
            return tx_fail(st, rc);
    }
    int64_t max_fid;
    if ((rc = query_i64(st, S_MAX_FID, 0, &max_fid, err, "merging")) < 0)
        return tx_fail(st, rc);
    s = st->st[S_META_SET];
    bind_text(s, 1, "keys_merged");
    sqlite3_bind_int64(s, 2, max_fid);
    if ((rc = exec_stmt(st, S_META_SET, err, "merging finding keys")) < 0)
        return tx_fail(st, rc);
    if ((rc = tx_commit(st, err)) < 0)
        return rc;
    st->merged = max_fid;
    for (size_t i = 0; i < st->tail.keys.n; i++)
        bloom_add(&st->bloom, st->tail.keys.v[i].k);
    if (st->bloom.bits == NULL || st->bloom.n > st->bloom.cap)
        bloom_build(st, st->bloom.n * 2);
    tail_truncate(&st->tail, 0);
    st->dead.n = 0;
    return 0;
}

/* After a commit: a merge failure is not the commit's; the tail stays and
 * the next commit tries again. */
static void maybe_merge(struct fw_store *st)
{
    if (st->tail.keys.n + st->dead.n >= merge_limit(st))
        merge(st, NULL);
}

/* ---- open / close ----------------------------------------------------------- */

static int pragma(struct fw_store *st, const char *q, struct fw_error *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(st->db, q, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        fw_error_set(err, code_of(rc), st->path, "%s: %s", q,
                     msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return code_of(rc);
    }
    return 0;
}

static int user_version(struct fw_store *st, int *v, struct fw_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        *v = sqlite3_column_int(s, 0);
        rc = SQLITE_OK;
    }
    int ret = rc == SQLITE_OK ? 0 : DBERR(st, err, rc, "reading the schema version");
    sqlite3_finalize(s);
    return ret;
}

static int migrate(struct fw_store *st, int from, struct fw_error *err)
{
    for (int v = from; v < FW_STORE_SCHEMA_VERSION; v++) {
        char set[64];
        snprintf(set, sizeof set, "PRAGMA user_version = %d", v + 1);
        int rc = pragma(st, "BEGIN IMMEDIATE", err);
        if (rc < 0)
            return rc;
        if ((rc = pragma(st, migrations[v], err)) < 0 ||
            (rc = pragma(st, set, err)) < 0 ||
            (rc = pragma(st, "COMMIT", err)) < 0) {
            if (!sqlite3_get_autocommit(st->db))
                sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return fw_error_set(err, rc, st->path,
                                "migrating the schema from version %d to "
                                "%d: %s", v, v + 1, err ? err->msg : "");
        }
    }
    return 0;
}

/* Loads the counters, the outbox state and the tail. */
static int load(struct fw_store *st, struct fw_error *err)
{
    sqlite3_stmt *s = st->st[S_COUNTERS_ALL];
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int i = name_index(col_text(s, 0), counter_names, C__COUNT);
        if (i >= 0)
            st->counters[i] = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return DBERR(st, err, rc, "reading the counters");
    int64_t v;
    if ((rc = query_i64(st, S_MAX_SEQ, 0, &v, err, "reading the outbox")) < 0)
        return rc;
    st->seq = (uint64_t)v;
    bind_text(st->st[S_META_GET], 1, "outbox_marked");
    if ((rc = query_i64(st, S_META_GET, 0, &v, err, "reading the outbox")) < 0)
        return rc;
    st->marked = (uint64_t)v;
    bind_text(st->st[S_META_GET], 1, "keys_merged");
    if ((rc = query_i64(st, S_META_GET, 0, &v, err, "reading meta")) < 0)
        return rc;
    st->merged = v;

    s = st->st[S_TAIL_LOAD];
    sqlite3_bind_int64(s, 1, st->merged);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t fid = sqlite3_column_int64(s, 0);
        const unsigned char *id = sqlite3_column_blob(s, 1);
        if (id == NULL || sqlite3_column_bytes(s, 1) != ID_BYTES)
            continue; /* the CHECK makes this impossible */
        int kind = fw_fkind_parse(col_text(s, 2));
        bool open = name_index(col_text(s, 3), state_names, 2) == FW_ST_OPEN;
        int p = tail_push(&st->tail, id_key(id), fid, 0);
        if (p == 0 && resolvable(kind) && open)
            p = tail_push(&st->tail,
                          subject_key(rkind_parse(col_text(s, 4)),
                                      col_text(s, 5), col_text(s, 6),
                                      col_text(s, 7), col_text(s, 8)),
                          fid, id_key(id));
        if (p < 0) {
            sqlite3_reset(s);
            return fw_error_set(err, p, st->path, "loading finding keys: %s",
                                fw_strerror(p));
        }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return DBERR(st, err, rc, "loading finding keys");
    int64_t nkeys;
    if ((rc = query_i64(st, S_KEYS_COUNT, 0, &nkeys, err,
                        "counting finding keys")) < 0)
        return rc;
    /* Room for the next merges without a rebuild or a rehash. */
    if (!st->opts.read_only && tail_rehash(&st->tail, merge_limit(st)) < 0)
        return fw_error_set(err, FW_ENOMEM, st->path, "out of memory");
    bloom_build(st, (size_t)nkeys * 2 + merge_limit(st) * 2);
    return 0;
}

int fw_store_open(const char *path, const struct fw_store_opts *opts,
                  struct fw_store **out, struct fw_error *err)
{
    *out = NULL;
    struct fw_store *st = calloc(1, sizeof *st);
    if (st == NULL || (st->path = strdup(path)) == NULL) {
        free(st);
        return fw_error_set(err, FW_ENOMEM, path, "out of memory");
    }
    if (opts)
        st->opts = *opts;
    fw_buf_init(&st->arena);
    fw_buf_init(&st->tmp);
    int flags = st->opts.read_only ? SQLITE_OPEN_READONLY
                                   : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    int ret = 0;
    if (rc != SQLITE_OK) {
        ret = DBERR(st, err, rc, "opening the database");
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, st->opts.busy_timeout_ms > 0
                                     ? st->opts.busy_timeout_ms
                                     : DEFAULT_BUSY_MS);
    char q[128];
    snprintf(q, sizeof q, "PRAGMA cache_size = -%" PRId64,
             st->opts.cache_kib > 0 ? st->opts.cache_kib
                                    : (int64_t)DEFAULT_CACHE_KIB);
    if ((ret = pragma(st, q, err)) < 0 ||
        (ret = pragma(st, "PRAGMA foreign_keys = ON", err)) < 0 ||
        (ret = pragma(st, st->opts.sync_full ? "PRAGMA synchronous = FULL"
                                             : "PRAGMA synchronous = NORMAL",
                      err)) < 0 ||
        (ret = pragma(st, "PRAGMA temp_store = MEMORY", err)) < 0)
        goto fail;
    if (st->opts.max_pages > 0) {
        snprintf(q, sizeof q, "PRAGMA max_page_count = %" PRId64,
                 st->opts.max_pages);
        if ((ret = pragma(st, q, err)) < 0)
            goto fail;
    }
    if (!st->opts.read_only &&
        ((ret = pragma(st, "PRAGMA journal_mode = WAL", err)) < 0 ||
         (ret = pragma(st, "PRAGMA wal_autocheckpoint = 16000", err)) < 0))
        goto fail;

    int v = 0;
    if ((ret = user_version(st, &v, err)) < 0)
        goto fail;
    if (v > FW_STORE_SCHEMA_VERSION) {
        ret = fw_error_set(err, FW_EINVAL, path,
                           "the database's schema version %d is newer than "
                           "this fundwatch knows (%d): run a newer fundwatch "
                           "or give another database",
                           v, FW_STORE_SCHEMA_VERSION);
        goto fail;
    }
    if (v < FW_STORE_SCHEMA_VERSION) {
        if (st->opts.read_only) {
            ret = fw_error_set(err, FW_EINVAL, path,
                               "schema version %d needs migrating to %d, "
                               "and the database is opened read-only",
                               v, FW_STORE_SCHEMA_VERSION);
            goto fail;
        }
        if ((ret = migrate(st, v, err)) < 0)
            goto fail;
    }
    for (int i = 0; i < S__COUNT; i++) {
        rc = sqlite3_prepare_v3(st->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                &st->st[i], NULL);
        if (rc != SQLITE_OK) {
            ret = DBERR(st, err, rc, "preparing a statement");
            goto fail;
        }
    }
    if ((ret = load(st, err)) < 0)
        goto fail;
    st->ready = true;
    *out = st;
    return 0;
fail:
    fw_store_close(st);
    return ret;
}

void fw_store_close(struct fw_store *st)
{
    if (st == NULL)
        return;
    if (st->db) {
        tx_abort(st);
        if (st->ready && !st->opts.read_only)
            merge(st, NULL); /* so the next start reads a short tail */
        for (int i = 0; i < S__COUNT; i++)
            sqlite3_finalize(st->st[i]);
        sqlite3_close(st->db);
    }
    tail_fini(&st->tail);
    free(st->bloom.bits);
    free(st->dead.v);
    fw_colmap_free(st->colmap);
    fw_buf_fini(&st->arena);
    fw_buf_fini(&st->tmp);
    free(st->path);
    free(st);
}

const char *fw_store_path(const struct fw_store *st)
{
    return st->path;
}

void fw_store_set_now(struct fw_store *st, int64_t now_ms)
{
    st->now_ms = now_ms;
}

/* ---- feeds ------------------------------------------------------------------ */

static bool sha_ok(const char *s)
{
    if (s == NULL || strlen(s) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (hexval(s[i]) < 0)
            return false;
    return true;
}

static int feed_args(struct fw_store *st, const struct fw_store_feed *feed,
                     struct fw_error *err)
{
    if (feed == NULL || feed->name == NULL || !sha_ok(feed->sha256) ||
        (unsigned)feed->source > FW_SRC_HTTP)
        return fw_error_set(err, FW_EINVAL, st->path,
                            "a feed needs a name, a sha256 of 64 lowercase "
                            "hex digits and a source");
    return 0;
}

int fw_store_feed_seen(struct fw_store *st, const char *sha256,
                       int64_t *feed_id, struct fw_error *err)
{
    bind_text(st->st[S_FEED_SEEN], 1, sha256);
    int64_t id;
    int rc = query_i64(st, S_FEED_SEEN, 0, &id, err, "looking a feed up");
    if (rc < 0)
        return rc;
    if (feed_id)
        *feed_id = id;
    return id != 0;
}

int fw_store_feed_begin(struct fw_store *st, const struct fw_store_feed *feed,
                        struct fw_error *err)
{
    if (st->tx != TX_NONE)
        return fw_error_set(err, FW_ESTATE, st->path,
                            "a transaction is already open");
    int rc = feed_args(st, feed, err);
    if (rc < 0)
        return rc;
    if ((rc = tx_begin(st, TX_FEED, err)) < 0)
        return rc;
    int64_t done = 0;
    if ((rc = fw_store_feed_seen(st, feed->sha256, &done, err)) < 0)
        return tx_fail(st, rc);
    if (rc == 1) {
        tx_abort(st);
        return fw_error_set(err, FW_EEXIST, st->path,
                            "feed %s (sha256 %.12s…) was already processed "
                            "(feed row %" PRId64 ")",
                            feed->name, feed->sha256, done);
    }
    sqlite3_stmt *s = st->st[S_FEED_INS];
    bind_text(s, 1, feed->name);
    bind_text(s, 2, feed->sha256);
    bind_text(s, 3, source_names[feed->source]);
    sqlite3_bind_int64(s, 4, feed->bytes);
    sqlite3_bind_int64(s, 5, feed->started_ms);
    bind_text(s, 6, feed->generation);
    if ((rc = exec_stmt(st, S_FEED_INS, err, "recording the feed")) < 0)
        return tx_fail(st, rc);
    st->feed_id = sqlite3_last_insert_rowid(st->db);
    st->feed_started = feed->started_ms;
    st->now_ms = feed->started_ms;
    return 0;
}

int fw_store_feed_commit(struct fw_store *st,
                         const struct fw_store_feed_end *end,
                         struct fw_error *err)
{
    int rc = need_tx(st, true, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->st[S_FEED_DONE];
    sqlite3_bind_int64(s, 1, st->feed_id);
    sqlite3_bind_int64(s, 2, end ? (int64_t)end->lines : 0);
    sqlite3_bind_int64(s, 3, end ? (int64_t)end->records : 0);
    sqlite3_bind_int64(s, 4, end ? (int64_t)end->rejects : 0);
    for (int k = 0; k < FW__FK_COUNT; k++)
        sqlite3_bind_int64(s, 5 + k, (int64_t)st->fired[k]);
    sqlite3_bind_int64(s, 10, (int64_t)st->events);
    sqlite3_bind_int64(s, 11, (int64_t)st->resolved);
    sqlite3_bind_int64(s, 12, end ? end->finished_ms : st->now_ms);
    if ((rc = exec_stmt(st, S_FEED_DONE, err, "recording the feed")) < 0)
        return tx_fail(st, rc);
    st->delta[C_FEEDS + FW_FEED_DONE]++;
    if ((rc = tx_commit(st, err)) < 0)
        return rc;
    maybe_merge(st);
    return 0;
}

void fw_store_feed_rollback(struct fw_store *st)
{
    if (st->tx == TX_FEED || st->tx == TX_BATCH)
        tx_abort(st);
}

int fw_store_feed_record(struct fw_store *st, const struct fw_store_feed *feed,
                         enum fw_store_status status,
                         const struct fw_store_feed_end *end,
                         struct fw_error *err)
{
    if (st->tx != TX_NONE)
        return fw_error_set(err, FW_ESTATE, st->path,
                            "a transaction is open");
    int rc = feed_args(st, feed, err);
    if (rc < 0)
        return rc;
    if (status != FW_FEED_FAILED && status != FW_FEED_DUPLICATE)
        return fw_error_set(err, FW_EINVAL, st->path,
                            "only a failed or duplicate feed is recorded "
                            "alone");
    if ((rc = tx_begin(st, TX_OWN, err)) < 0)
        return rc;
    if (status == FW_FEED_DUPLICATE) {
        if ((rc = fw_store_feed_seen(st, feed->sha256, NULL, err)) < 0)
            return tx_fail(st, rc);
        if (rc == 0) {
            tx_abort(st);
            return fw_error_set(err, FW_ENOENT, st->path,
                                "feed %s is recorded as a duplicate, but no "
                                "done feed has its sha256",
                                feed->name);
        }
    }
    sqlite3_stmt *s = st->st[S_FEED_REC];
    bind_text(s, 1, feed->name);
    bind_text(s, 2, feed->sha256);
    bind_text(s, 3, source_names[feed->source]);
    bind_text(s, 4, status_names[status]);
    bind_i64_or_null(s, 5, end, end ? (int64_t)end->lines : 0);
    bind_i64_or_null(s, 6, end, end ? (int64_t)end->records : 0);
    bind_i64_or_null(s, 7, end, end ? (int64_t)end->rejects : 0);
    sqlite3_bind_int64(s, 8, feed->bytes);
    sqlite3_bind_int64(s, 9, feed->started_ms);
    sqlite3_bind_int64(s, 10, end ? end->finished_ms : feed->started_ms);
    bind_text(s, 11, end && status == FW_FEED_FAILED ? end->reason : NULL);
    bind_text(s, 12, feed->generation);
    if ((rc = exec_stmt(st, S_FEED_REC, err, "recording the feed")) < 0)
        return tx_fail(st, rc);
    st->delta[C_FEEDS + status]++;
    return tx_commit(st, err);
}

int fw_store_batch_begin(struct fw_store *st, int64_t now_ms,
                         struct fw_error *err)
{
    if (st->tx != TX_NONE)
        return fw_error_set(err, FW_ESTATE, st->path,
                            "a transaction is already open");
    int rc = tx_begin(st, TX_BATCH, err);
    if (rc == 0)
        st->now_ms = now_ms;
    return rc;
}

int fw_store_batch_commit(struct fw_store *st, struct fw_error *err)
{
    if (st->tx != TX_BATCH)
        return fw_error_set(err, FW_ESTATE, st->path, "no batch open");
    int rc = tx_commit(st, err);
    if (rc == 0)
        maybe_merge(st);
    return rc;
}

/* ---- findings -------------------------------------------------------------- */

/* Finds the row of an id: the tail first, then finding_keys. *fid = 0 when
 * none; *state = its state. */
static int lookup_id(struct fw_store *st, const unsigned char *id,
                     int64_t *fid, int *state, struct fw_error *err)
{
    int64_t k = id_key(id);
    const struct tkey *ent;
    *fid = 0;
    TAIL_EACH(&st->tail, k, ent)
    {
        int64_t cand = ent->fid;
        sqlite3_stmt *s = st->st[S_FID_ID];
        sqlite3_bind_int64(s, 1, cand);
        sqlite3_bind_blob(s, 2, id, ID_BYTES, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            *fid = cand;
            *state = name_index(col_text(s, 0), state_names, 2);
        }
        sqlite3_reset(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return DBERR(st, err, rc, "looking a finding up");
        if (*fid)
            return 0;
    }
    if (!bloom_maybe(&st->bloom, k))
        return 0;
    sqlite3_stmt *s = st->st[S_KEY_FIND];
    sqlite3_bind_int64(s, 1, k);
    sqlite3_bind_blob(s, 2, id, ID_BYTES, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *fid = sqlite3_column_int64(s, 0);
        *state = name_index(col_text(s, 1), state_names, 2);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return DBERR(st, err, rc, "looking a finding up");
    return 0;
}

/* Binds ?1..?19 of S_F_INS and S_F_REOPEN. */
static void bind_finding(sqlite3_stmt *s, const unsigned char *id,
                         const struct fw_finding *f, int rkind)
{
    sqlite3_bind_blob(s, 1, id, ID_BYTES, SQLITE_STATIC);
    bind_text(s, 2, fw_fkind_name(f->kind));
    bind_text(s, 3, fw_level_name(f->level));
    bind_text(s, 4, f->policy);
    bind_text(s, 5, f->policy_version);
    bind_text(s, 6, f->rule);
    bind_text(s, 7, f->region);
    bind_text(s, 8, f->dept);
    bind_text(s, 9, f->project);
    bind_text(s, 10, f->task);
    bind_i64_or_null(s, 11, f->has_as_of, f->as_of);
    bind_i64_or_null(s, 12, f->has_amount, f->amount);
    bind_text(s, 13, f->ratio);
    bind_i64_or_null(s, 14, f->has_score, f->score);
    bind_text(s, 15, f->grade);
    bind_text(s, 16, f->message);
    bind_text(s, 17, f->feed);
    sqlite3_bind_int64(s, 18, (int64_t)f->line);
    bind_text(s, 19, rkind_text(rkind));
}

static int new_event(struct fw_store *st, int64_t fid, bool reopened,
                     struct fw_error *err)
{
    sqlite3_stmt *s = st->st[S_OUTBOX_INS];
    sqlite3_bind_int64(s, 1, (int64_t)st->seq);
    sqlite3_bind_int64(s, 2, fid);
    sqlite3_bind_int(s, 3, reopened);
    int rc = exec_stmt(st, S_OUTBOX_INS, err, "adding an outbox event");
    if (rc == 0)
        st->events++;
    return rc;
}

int fw_store_finding_add(struct fw_store *st, const struct fw_finding *f,
                         int rkind, uint64_t *seq, struct fw_error *err)
{
    if (seq)
        *seq = 0;
    int rc = need_tx(st, false, err);
    if (rc < 0)
        return rc;
    unsigned char id[ID_BYTES];
    if (!id_parse(f->id, id) || (unsigned)f->kind >= FW__FK_COUNT ||
        (unsigned)f->level >= FW__LV_COUNT || rkind < -1 ||
        rkind >= FW__RK_COUNT)
        return tx_fail(st, fw_error_set(err, FW_EINVAL, st->path,
                                        "a finding with a bad id, kind, "
                                        "level or record kind"));
    int64_t fid = 0;
    int state = -1;
    if ((rc = lookup_id(st, id, &fid, &state, err)) < 0)
        return tx_fail(st, rc);
    st->fired[f->kind]++;
    sqlite3_stmt *s;
    if (fid && state == FW_ST_OPEN) {
        s = st->st[S_F_SEEN];
        sqlite3_bind_int64(s, 1, fid);
        sqlite3_bind_int64(s, 2, st->now_ms);
        bind_i64_or_null(s, 3, st->feed_id != 0, st->feed_id);
        if ((rc = exec_stmt(st, S_F_SEEN, err, "updating a finding")) < 0)
            return tx_fail(st, rc);
        return 0;
    }
    st->seq++;
    int64_t subj = subject_key(rkind, f->region, f->dept, f->project, f->task);
    if (fid == 0) {
        s = st->st[S_F_INS];
        bind_finding(s, id, f, rkind);
        sqlite3_bind_int64(s, 20, st->now_ms);
        bind_i64_or_null(s, 21, st->feed_id != 0, st->feed_id);
        sqlite3_bind_int64(s, 22, (int64_t)st->seq);
        if ((rc = exec_stmt(st, S_F_INS, err, "adding a finding")) < 0)
            return tx_fail(st, rc);
        fid = sqlite3_last_insert_rowid(st->db);
        if ((rc = tail_push(&st->tail, id_key(id), fid, 0)) < 0 ||
            (resolvable(f->kind) &&
             (rc = tail_push(&st->tail, subj, fid, id_key(id))) < 0))
            return tx_fail(st, fw_error_set(err, rc, st->path,
                                            "adding a finding: %s",
                                            fw_strerror(rc)));
        st->delta[C_FINDINGS + f->kind * 2 + FW_ST_OPEN]++;
        if ((rc = new_event(st, fid, false, err)) < 0)
            return tx_fail(st, rc);
    } else {
        /* Resolved: reopens. Its old kind is the one counted resolved. */
        s = st->st[S_F_GET];
        sqlite3_bind_int64(s, 1, fid);
        int old = -1;
        if ((rc = sqlite3_step(s)) == SQLITE_ROW)
            old = fw_fkind_parse(col_text(s, 2));
        sqlite3_reset(s);
        if (rc != SQLITE_ROW)
            return tx_fail(st, DBERR(st, err, rc, "reopening a finding"));
        s = st->st[S_F_REOPEN];
        bind_finding(s, id, f, rkind);
        sqlite3_bind_int64(s, 20, st->now_ms);
        bind_i64_or_null(s, 21, st->feed_id != 0, st->feed_id);
        sqlite3_bind_int64(s, 22, (int64_t)st->seq);
        sqlite3_bind_int64(s, 23, fid);
        if ((rc = exec_stmt(st, S_F_REOPEN, err, "reopening a finding")) < 0)
            return tx_fail(st, rc);
        /* Its subject key may have been pruned: written straight to
         * finding_keys (reopening is rare), so a restart finds it. */
        if (resolvable(f->kind)) {
            s = st->st[S_KEY_INS];
            sqlite3_bind_int64(s, 1, subj);
            sqlite3_bind_int64(s, 2, fid);
            if ((rc = exec_stmt(st, S_KEY_INS, err, "reopening a finding")) < 0)
                return tx_fail(st, rc);
            bloom_add(&st->bloom, subj);
        }
        if (old >= 0)
            st->delta[C_FINDINGS + old * 2 + FW_ST_RESOLVED]--;
        st->delta[C_FINDINGS + f->kind * 2 + FW_ST_OPEN]++;
        if ((rc = new_event(st, fid, true, err)) < 0)
            return tx_fail(st, rc);
    }
    if (seq)
        *seq = st->seq;
    return 0;
}

struct cand {
    int64_t fid;
    unsigned char id[ID_BYTES];
    int kind;
};

static void bind_subject(sqlite3_stmt *s, const struct fw_store_subject *subj)
{
    bind_text(s, 2, rkind_text((int)subj->kind));
    bind_text(s, 3, subj->region);
    bind_text(s, 4, subj->dept);
    bind_text(s, 5, subj->project);
    bind_text(s, 6, subj->task);
    bind_i64_or_null(s, 7, subj->has_as_of, subj->as_of);
}

/* Appends the rows a statement returns (fid, id, kind) to c[]. */
static int collect(struct fw_store *st, int which, struct cand **c, size_t *n,
                   size_t *cap, struct fw_error *err)
{
    sqlite3_stmt *s = st->st[which];
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t fid = sqlite3_column_int64(s, 0);
        bool dup = false;
        for (size_t i = 0; i < *n && !dup; i++)
            dup = (*c)[i].fid == fid;
        if (dup || sqlite3_column_bytes(s, 1) != ID_BYTES)
            continue;
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 8;
            struct cand *p = realloc(*c, nc * sizeof *p);
            if (p == NULL) {
                sqlite3_reset(s);
                return fw_error_set(err, FW_ENOMEM, st->path, "out of memory");
            }
            *c = p;
            *cap = nc;
        }
        struct cand *x = &(*c)[(*n)++];
        x->fid = fid;
        memcpy(x->id, sqlite3_column_blob(s, 1), ID_BYTES);
        x->kind = fw_fkind_parse(col_text(s, 2));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return DBERR(st, err, rc, "looking a subject up");
    return 0;
}

int fw_store_subject_done(struct fw_store *st,
                          const struct fw_store_subject *subj,
                          const char (*ids)[FW_ID_HEX + 1], size_t n_ids,
                          int64_t now_ms, int64_t *resolved,
                          struct fw_error *err)
{
    if (resolved)
        *resolved = 0;
    int rc = need_tx(st, false, err);
    if (rc < 0)
        return rc;
    if ((unsigned)subj->kind >= FW__RK_COUNT)
        return tx_fail(st, fw_error_set(err, FW_EINVAL, st->path,
                                        "a subject with a bad record kind"));
    int64_t k = subject_key((int)subj->kind, subj->region, subj->dept,
                            subj->project, subj->task);
    struct cand *c = NULL;
    size_t n = 0, cap = 0;
    unsigned char small[8][ID_BYTES], (*fired)[ID_BYTES] = small;
    if (n_ids > 8 && (fired = malloc(n_ids * ID_BYTES)) == NULL)
        return tx_fail(st, fw_error_set(err, FW_ENOMEM, st->path,
                                        "out of memory"));
    size_t nf = 0;
    for (size_t j = 0; j < n_ids; j++)
        if (id_parse(ids[j], fired[nf]))
            nf++;
    const struct tkey *ent;
    TAIL_EACH(&st->tail, k, ent)
    {
        /* A finding of the tail that fired now needs no row read: its id
         * key says so (a 64-bit collision would only miss a resolution). */
        bool now_fired = false;
        for (size_t j = 0; j < nf && !now_fired; j++)
            now_fired = id_key(fired[j]) == ent->aux;
        if (now_fired)
            continue;
        sqlite3_stmt *s = st->st[S_SUBJ_FID];
        sqlite3_bind_int64(s, 1, ent->fid);
        bind_subject(s, subj);
        if ((rc = collect(st, S_SUBJ_FID, &c, &n, &cap, err)) < 0)
            goto done;
    }
    sqlite3_stmt *s = st->st[S_SUBJ_DISK];
    if (bloom_maybe(&st->bloom, k)) {
        sqlite3_bind_int64(s, 1, k);
        bind_subject(s, subj);
        if ((rc = collect(st, S_SUBJ_DISK, &c, &n, &cap, err)) < 0)
            goto done;
    }
    for (size_t i = 0; i < n; i++) {
        bool was_fired = false;
        for (size_t j = 0; j < nf && !was_fired; j++)
            was_fired = !memcmp(fired[j], c[i].id, ID_BYTES);
        if (was_fired)
            continue;
        s = st->st[S_RESOLVE];
        sqlite3_bind_int64(s, 1, c[i].fid);
        sqlite3_bind_int64(s, 2, now_ms);
        if ((rc = exec_stmt(st, S_RESOLVE, err, "resolving a finding")) < 0)
            goto done;
        if (sqlite3_changes(st->db) == 1 && c[i].kind >= 0) {
            st->delta[C_FINDINGS + c[i].kind * 2 + FW_ST_OPEN]--;
            st->delta[C_FINDINGS + c[i].kind * 2 + FW_ST_RESOLVED]++;
            st->resolved++;
            if (resolved)
                (*resolved)++;
            if ((rc = vec_push(&st->dead, k, c[i].fid, 0)) < 0) {
                rc = fw_error_set(err, rc, st->path, "out of memory");
                goto done;
            }
        }
    }
done:
    free(c);
    if (fired != small)
        free(fired);
    return rc < 0 ? tx_fail(st, rc) : 0;
}

int fw_store_reject_add(struct fw_store *st, uint64_t line,
                        const char *reason, struct fw_error *err)
{
    int rc = need_tx(st, true, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->st[S_REJ_INS];
    sqlite3_bind_int64(s, 1, st->feed_id);
    sqlite3_bind_int64(s, 2, (int64_t)line);
    bind_text(s, 3, reason ? reason : "");
    if ((rc = exec_stmt(st, S_REJ_INS, err, "adding a reject")) < 0)
        return tx_fail(st, rc);
    st->delta[C_REJECTS]++;
    return 0;
}

/* ---- task records ----------------------------------------------------------- */

/* The record as one NDJSON object the reader reads back into the same
 * record: canonical fields, extra columns as top-level keys, no source (kept
 * in columns). Unlike fw_record_json, which nests extra and source. */
static int task_json(const struct fw_record *rec, struct fw_buf *out)
{
    char num[32];
    fw_buf_reset(out);
    fw_buf_puts(out, "{\"kind\":\"");
    fw_buf_puts(out, fw_rkind_name(rec->kind));
    fw_buf_putc(out, '"');
    for (int f = 0; f < FW__F_COUNT; f++) {
        if (f == FW_F_KIND || !fw_record_has(rec, (enum fw_field)f))
            continue;
        fw_buf_puts(out, ",\"");
        fw_buf_puts(out, fw_fields[f].name);
        fw_buf_puts(out, "\":");
        int64_t v = rec->num[f];
        switch (fw_fields[f].type) {
        case FW_T_TEXT:
        case FW_T_KIND:
        case FW_T_REGION:
            fw_buf_json_str(out, rec->str[f].p, rec->str[f].n);
            break;
        case FW_T_YEAR:
            fw_buf_printf(out, "%lld", (long long)v);
            break;
        case FW_T_BOOL:
            fw_buf_puts(out, v ? "true" : "false");
            break;
        case FW_T_MONEY:
            fw_buf_putc(out, '"');
            fw_buf_append(out, num, fw_money_format(v, num));
            fw_buf_putc(out, '"');
            break;
        case FW_T_DATE:
            fw_buf_putc(out, '"');
            fw_buf_append(out, num, fw_date_format((int32_t)v, num));
            fw_buf_putc(out, '"');
            break;
        case FW_T_HUNDREDTHS:
            fw_buf_putc(out, '"');
            fw_buf_append(out, num, fw_decimal_format(v, 2, num));
            fw_buf_putc(out, '"');
            break;
        }
    }
    for (size_t i = 0; i < rec->n_extra; i++) {
        fw_buf_putc(out, ',');
        fw_buf_json_str(out, rec->extra_name[i].p, rec->extra_name[i].n);
        fw_buf_putc(out, ':');
        fw_buf_json_str(out, rec->extra_val[i].p, rec->extra_val[i].n);
    }
    return fw_buf_puts(out, "}\n");
}

int fw_store_task_put(struct fw_store *st, const struct fw_record *rec,
                      struct fw_error *err)
{
    int rc = need_tx(st, true, err);
    if (rc < 0)
        return rc;
    if (rec->kind != FW_RK_TASK || !fw_record_has(rec, FW_F_REGION) ||
        !fw_record_has(rec, FW_F_TASK))
        return tx_fail(st, fw_error_set(err, FW_EINVAL, st->path,
                                        "only a task record with a region "
                                        "and a task is kept"));
    const struct fw_str *reg = &rec->str[FW_F_REGION],
                        *task = &rec->str[FW_F_TASK];
    struct fw_str dept = fw_record_has(rec, FW_F_DEPT)
                             ? rec->str[FW_F_DEPT]
                             : (struct fw_str){"", 0};
    bool has_as_of = fw_record_has(rec, FW_F_AS_OF);
    sqlite3_stmt *s = st->st[S_TASK_GET];
    bind_textn(s, 1, reg->p, reg->n);
    bind_textn(s, 2, dept.p, dept.n);
    bind_textn(s, 3, task->p, task->n);
    bool exists = false, later = false;
    if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        exists = true;
        later = has_as_of && sqlite3_column_type(s, 0) != SQLITE_NULL &&
                sqlite3_column_int64(s, 0) > rec->num[FW_F_AS_OF];
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return tx_fail(st, DBERR(st, err, rc, "looking a task up"));
    if (later)
        return 0; /* the stored snapshot is newer */
    if (task_json(rec, &st->tmp) < 0)
        return tx_fail(st, fw_error_set(err, FW_ENOMEM, st->path,
                                        "out of memory"));
    s = st->st[S_TASK_PUT];
    bind_textn(s, 1, reg->p, reg->n);
    bind_textn(s, 2, dept.p, dept.n);
    bind_textn(s, 3, task->p, task->n);
    bind_i64_or_null(s, 4, has_as_of, rec->num[FW_F_AS_OF]);
    bind_textn(s, 5, st->tmp.p, st->tmp.len);
    sqlite3_bind_int64(s, 6, st->feed_id);
    bind_text(s, 7, rec->feed ? rec->feed : "");
    sqlite3_bind_int64(s, 8, (int64_t)rec->line);
    sqlite3_bind_int64(s, 9, st->now_ms);
    if ((rc = exec_stmt(st, S_TASK_PUT, err, "keeping a task record")) < 0)
        return tx_fail(st, rc);
    if (!exists)
        st->delta[C_TASKS]++;
    return 0;
}

struct task_read {
    fw_store_task_cb cb;
    void *ud;
    uint64_t line;
    int ret;
    char why[256];
};

static int task_rec(void *ud, const struct fw_record *rec)
{
    struct task_read *t = ud;
    struct fw_record r = *rec;
    r.line = t->line;
    t->ret = t->cb(t->ud, &r);
    return t->ret;
}

static void task_reject(void *ud, const char *feed, uint64_t line,
                        const char *reason)
{
    struct task_read *t = ud;
    snprintf(t->why, sizeof t->why, "%s", reason);
}

int fw_store_tasks_each(struct fw_store *st, fw_store_task_cb cb, void *ud,
                        struct fw_error *err)
{
    if (st->colmap == NULL && (st->colmap = fw_colmap_new()) == NULL)
        return fw_error_set(err, FW_ENOMEM, st->path, "out of memory");
    sqlite3_stmt *s = st->st[S_TASKS_ALL];
    if (sqlite3_stmt_busy(s))
        return fw_error_set(err, FW_ESTATE, st->path,
                            "fw_store_tasks_each called from its callback");
    static const struct fw_reader_cb rcb = {task_rec, task_reject};
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct task_read t = {.cb = cb, .ud = ud,
                              .line = (uint64_t)sqlite3_column_int64(s, 5)};
        const char *json = col_text(s, 3);
        struct fw_reader *r =
            fw_reader_new(st->colmap, col_text(s, 4), FW_FMT_NDJSON, &rcb, &t);
        if (r == NULL) {
            ret = fw_error_set(err, FW_ENOMEM, st->path, "out of memory");
            break;
        }
        struct fw_error rerr;
        fw_error_clear(&rerr);
        int p = fw_reader_push(r, json, strlen(json), &rerr);
        if (p == 0)
            p = fw_reader_finish(r, &rerr);
        fw_reader_free(r);
        if (t.ret != 0) {
            ret = t.ret;
            break;
        }
        if (p < 0 || t.why[0]) {
            ret = fw_error_set(err, FW_EIO, st->path,
                               "task %s/%s/%s: the stored record does not "
                               "read back: %s",
                               col_text(s, 0), col_text(s, 1), col_text(s, 2),
                               t.why[0] ? t.why : rerr.msg);
            break;
        }
    }
    if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = DBERR(st, err, rc, "reading task records");
    sqlite3_reset(s);
    return ret;
}

/* ---- reading findings ---------------------------------------------------------- */

/* Fills sf from the FCOLS columns starting at 0; strings point into s. */
static void decode(sqlite3_stmt *s, struct fw_store_finding *sf)
{
    memset(sf, 0, sizeof *sf);
    struct fw_finding *f = &sf->f;
    sf->rowid = sqlite3_column_int64(s, 0);
    const unsigned char *id = sqlite3_column_blob(s, 1);
    if (id && sqlite3_column_bytes(s, 1) == ID_BYTES)
        id_format(id, f->id);
    int k = fw_fkind_parse(col_text(s, 2));
    f->kind = k < 0 ? FW_FK_ERROR : (enum fw_fkind)k;
    int l = fw_level_parse(col_text(s, 3));
    f->level = l < 0 ? FW_LV_NONE : (enum fw_level)l;
    f->policy = col_text(s, 4);
    f->policy_version = col_text(s, 5);
    f->rule = col_text(s, 6);
    f->region = col_text(s, 7);
    f->dept = col_text(s, 8);
    f->project = col_text(s, 9);
    f->task = col_text(s, 10);
    if ((f->has_as_of = sqlite3_column_type(s, 11) != SQLITE_NULL))
        f->as_of = (int32_t)sqlite3_column_int64(s, 11);
    if ((f->has_amount = sqlite3_column_type(s, 12) != SQLITE_NULL))
        f->amount = sqlite3_column_int64(s, 12);
    f->ratio = col_text(s, 13);
    if ((f->has_score = sqlite3_column_type(s, 14) != SQLITE_NULL))
        f->score = sqlite3_column_int64(s, 14);
    f->grade = col_text(s, 15);
    f->message = col_text(s, 16);
    f->feed = col_text(s, 17);
    f->line = (uint64_t)sqlite3_column_int64(s, 18);
    sf->rkind = rkind_parse(col_text(s, 19));
    sf->state = name_index(col_text(s, 20), state_names, 2) == FW_ST_RESOLVED
                    ? FW_ST_RESOLVED
                    : FW_ST_OPEN;
    sf->first_seen = sqlite3_column_int64(s, 21);
    sf->last_seen = sqlite3_column_int64(s, 22);
    sf->resolved_at = sqlite3_column_int64(s, 23);
    sf->first_feed = sqlite3_column_int64(s, 24);
    sf->last_feed = sqlite3_column_int64(s, 25);
    sf->seq = (uint64_t)sqlite3_column_int64(s, 26);
}

/* Copies the strings of sf into st->arena so they outlive the statement. */
static int keep_strings(struct fw_store *st, struct fw_store_finding *sf)
{
    const char **p[] = {&sf->f.policy, &sf->f.policy_version, &sf->f.rule,
                        &sf->f.region, &sf->f.dept, &sf->f.project,
                        &sf->f.task, &sf->f.ratio, &sf->f.grade,
                        &sf->f.message, &sf->f.feed};
    enum { N = sizeof p / sizeof p[0] };
    size_t off[N];
    fw_buf_reset(&st->arena);
    for (size_t i = 0; i < N; i++) {
        off[i] = SIZE_MAX;
        if (*p[i] == NULL)
            continue;
        off[i] = st->arena.len;
        if (fw_buf_append(&st->arena, *p[i], strlen(*p[i]) + 1) < 0)
            return FW_ENOMEM;
    }
    for (size_t i = 0; i < N; i++)
        *p[i] = off[i] == SIZE_MAX ? NULL : st->arena.p + off[i];
    return 0;
}

int fw_store_finding_get(struct fw_store *st, const char *id,
                         struct fw_store_finding *out, struct fw_error *err)
{
    unsigned char bin[ID_BYTES];
    if (!id_parse(id, bin))
        return fw_error_set(err, FW_EINVAL, st->path,
                            "a finding id is 32 lowercase hex digits");
    int64_t fid;
    int state;
    int rc = lookup_id(st, bin, &fid, &state, err);
    if (rc < 0)
        return rc;
    if (fid == 0)
        return fw_error_set(err, FW_ENOENT, st->path, "no finding %s", id);
    sqlite3_stmt *s = st->st[S_F_GET];
    sqlite3_bind_int64(s, 1, fid);
    rc = sqlite3_step(s);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        decode(s, out);
        if (keep_strings(st, out) < 0)
            ret = fw_error_set(err, FW_ENOMEM, st->path, "out of memory");
    } else {
        ret = rc == SQLITE_DONE
                  ? fw_error_set(err, FW_ENOENT, st->path, "no finding %s", id)
                  : DBERR(st, err, rc, "reading a finding");
    }
    sqlite3_reset(s);
    return ret;
}

int fw_store_query(struct fw_store *st, const struct fw_store_query *q,
                   fw_store_finding_cb cb, void *ud, int64_t *next_cursor,
                   struct fw_error *err)
{
    if (next_cursor)
        *next_cursor = 0;
    unsigned limit = q->limit == 0 ? 100 : q->limit > 10000 ? 10000 : q->limit;
    sqlite3_stmt *s = st->st[S_QUERY];
    if (sqlite3_stmt_busy(s))
        return fw_error_set(err, FW_ESTATE, st->path,
                            "fw_store_query called from its callback");
    sqlite3_bind_int64(s, 1, q->cursor > 0 ? q->cursor : 0);
    bind_text(s, 2, q->region_prefix && *q->region_prefix ? q->region_prefix
                                                          : NULL);
    bind_text(s, 3, q->kind >= 0 ? fw_fkind_name((enum fw_fkind)q->kind)
                                 : NULL);
    bind_text(s, 4, q->level > 0 ? fw_level_name((enum fw_level)q->level)
                                 : NULL);
    bind_text(s, 5, q->rule && *q->rule ? q->rule : NULL);
    bind_text(s, 6, q->state == FW_ST_OPEN || q->state == FW_ST_RESOLVED
                        ? state_names[q->state]
                        : NULL);
    bind_i64_or_null(s, 7, q->since_ms > 0, q->since_ms);
    sqlite3_bind_int64(s, 8, (int64_t)limit + 1); /* one more: is there? */
    int rc, ret = 0;
    unsigned n = 0;
    int64_t last = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == limit) {
            if (next_cursor)
                *next_cursor = last;
            break;
        }
        struct fw_store_finding sf;
        decode(s, &sf);
        last = sf.rowid;
        n++;
        if ((ret = cb(ud, &sf)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = DBERR(st, err, rc, "querying findings");
    sqlite3_reset(s);
    return ret;
}

int fw_store_counts(struct fw_store *st, struct fw_store_counts *c,
                    struct fw_error *err)
{
    memset(c, 0, sizeof *c);
    for (int k = 0; k < FW__FK_COUNT; k++)
        for (int s = 0; s < 2; s++)
            c->findings[k][s] = st->counters[C_FINDINGS + k * 2 + s];
    for (int s = 0; s < 3; s++)
        c->feeds[s] = st->counters[C_FEEDS + s];
    c->rejects = st->counters[C_REJECTS];
    c->tasks = st->counters[C_TASKS];
    c->generations = st->counters[C_GENERATIONS];
    c->outbox_seq = st->tx == TX_NONE ? st->seq : st->seq_mark;
    c->outbox_marked = st->marked;
    return 0;
}

/* ---- outbox -------------------------------------------------------------------- */

int fw_store_outbox_pending(struct fw_store *st, uint64_t after_seq,
                            fw_store_finding_cb cb, void *ud,
                            struct fw_error *err)
{
    sqlite3_stmt *s = st->st[S_PENDING];
    if (sqlite3_stmt_busy(s))
        return fw_error_set(err, FW_ESTATE, st->path,
                            "fw_store_outbox_pending called from its "
                            "callback");
    sqlite3_bind_int64(s, 1, (int64_t)after_seq);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct fw_store_finding sf;
        decode(s, &sf);
        sf.seq = (uint64_t)sqlite3_column_int64(s, 27);
        if ((ret = cb(ud, &sf)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = DBERR(st, err, rc, "reading the outbox");
    sqlite3_reset(s);
    return ret;
}

int fw_store_outbox_mark(struct fw_store *st, uint64_t seq,
                         struct fw_error *err)
{
    if (seq > st->seq)
        return fw_error_set(err, FW_EINVAL, st->path,
                            "outbox seq %" PRIu64 " marked written, but the "
                            "last event is %" PRIu64,
                            seq, st->seq);
    if (seq <= st->marked)
        return 0;
    sqlite3_bind_int64(st->st[S_MARK], 1, (int64_t)seq);
    int rc = exec_stmt(st, S_MARK, err, "marking the outbox");
    if (rc < 0)
        return st->tx != TX_NONE ? tx_fail(st, rc) : rc;
    st->marked = seq; /* inside a transaction, a rollback restores it */
    return 0;
}

int fw_store_outbox_marked(struct fw_store *st, uint64_t *seq,
                           struct fw_error *err)
{
    bind_text(st->st[S_META_GET], 1, "outbox_marked");
    int64_t v;
    int rc = query_i64(st, S_META_GET, 0, &v, err, "reading the outbox");
    if (rc < 0)
        return rc;
    st->marked = (uint64_t)v;
    *seq = (uint64_t)v;
    return 0;
}

/* ---- generations ------------------------------------------------------------------ */

const char *fw_store_trigger_name(enum fw_store_trigger t)
{
    return (unsigned)t < FW__TRIG_COUNT ? trigger_names[t] : "?";
}

int fw_store_generation_add(struct fw_store *st,
                            const struct fw_store_generation *g, int64_t *id,
                            struct fw_error *err)
{
    if (g->version == NULL || (unsigned)g->trigger >= FW__TRIG_COUNT)
        return fw_error_set(err, FW_EINVAL, st->path,
                            "a generation needs a version and a trigger");
    bool own = st->tx == TX_NONE;
    int rc;
    if (own && (rc = tx_begin(st, TX_OWN, err)) < 0)
        return rc;
    sqlite3_stmt *s = st->st[S_GEN_INS];
    bind_text(s, 1, g->version);
    sqlite3_bind_int64(s, 2, g->loaded_ms);
    bind_text(s, 3, trigger_names[g->trigger]);
    sqlite3_bind_int(s, 4, g->ok);
    bind_text(s, 5, g->error);
    if ((rc = exec_stmt(st, S_GEN_INS, err, "recording a generation")) < 0)
        return tx_fail(st, rc);
    int64_t gid = sqlite3_last_insert_rowid(st->db);
    s = st->st[S_GENF_INS];
    for (size_t i = 0; i < g->n_files; i++) {
        sqlite3_bind_int64(s, 1, gid);
        bind_text(s, 2, g->files[i].path);
        bind_text(s, 3, g->files[i].sha256);
        if ((rc = exec_stmt(st, S_GENF_INS, err, "recording a generation")) < 0)
            return tx_fail(st, rc);
    }
    st->delta[C_GENERATIONS]++;
    if (own && (rc = tx_commit(st, err)) < 0)
        return rc;
    if (id)
        *id = gid;
    return 0;
}

int fw_store_generations_each(struct fw_store *st, unsigned limit,
                              fw_store_gen_cb cb, void *ud,
                              struct fw_error *err)
{
    sqlite3_stmt *s = st->st[S_GENS], *fs = st->st[S_GENF_OF];
    if (sqlite3_stmt_busy(s))
        return fw_error_set(err, FW_ESTATE, st->path,
                            "fw_store_generations_each called from its "
                            "callback");
    sqlite3_bind_int64(s, 1, limit ? (int64_t)limit : -1);
    struct fw_buf names = FW_BUF_INIT;
    struct fw_store_gen_file *files = NULL;
    size_t cap = 0;
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct fw_store_generation g = {
            .id = sqlite3_column_int64(s, 0),
            .version = col_text(s, 1),
            .loaded_ms = sqlite3_column_int64(s, 2),
            .trigger = (enum fw_store_trigger)name_index(
                col_text(s, 3), trigger_names, FW__TRIG_COUNT),
            .ok = sqlite3_column_int(s, 4) != 0,
            .error = col_text(s, 5),
        };
        /* The files' strings go into one buffer, as offsets first: it may
         * move while it grows. */
        fw_buf_reset(&names);
        size_t n = 0;
        sqlite3_bind_int64(fs, 1, g.id);
        int frc;
        while ((frc = sqlite3_step(fs)) == SQLITE_ROW) {
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 16;
                void *p = realloc(files, nc * sizeof *files);
                if (p == NULL)
                    break;
                files = p;
                cap = nc;
            }
            const char *path = col_text(fs, 0), *sha = col_text(fs, 1);
            files[n].path = (const char *)(uintptr_t)names.len;
            fw_buf_append(&names, path ? path : "", strlen(path ? path : "") + 1);
            files[n].sha256 = (const char *)(uintptr_t)names.len;
            if (fw_buf_append(&names, sha ? sha : "",
                              strlen(sha ? sha : "") + 1) < 0)
                break;
            n++;
        }
        sqlite3_reset(fs);
        if (frc != SQLITE_DONE) {
            ret = frc == SQLITE_ROW
                      ? fw_error_set(err, FW_ENOMEM, st->path, "out of memory")
                      : DBERR(st, err, frc, "reading generation files");
            break;
        }
        for (size_t i = 0; i < n; i++) {
            files[i].path = names.p + (uintptr_t)files[i].path;
            files[i].sha256 = names.p + (uintptr_t)files[i].sha256;
        }
        g.files = files;
        g.n_files = n;
        if ((ret = cb(ud, &g)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = DBERR(st, err, rc, "reading generations");
    sqlite3_reset(s);
    free(files);
    fw_buf_fini(&names);
    return ret;
}

/* ---- checks ------------------------------------------------------------------------ */

/* Runs a pragma that answers "ok" (or nothing) when all is well; the first
 * other answers go into err. Prepared here, not at open: a check is rare. */
static int check_pragma(struct fw_store *st, const char *q, const char *ok,
                        struct fw_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, q, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return DBERR(st, err, rc, q);
    struct fw_buf bad = FW_BUF_INIT;
    int n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *t = col_text(s, 0);
        if (ok && t && strcmp(t, ok) == 0)
            continue;
        if (n++ < 5) {
            for (int i = 0; i < sqlite3_column_count(s); i++)
                fw_buf_printf(&bad, "%s%s", i ? " " : (n > 1 ? "; " : ""),
                              col_text(s, i) ? col_text(s, i) : "NULL");
        }
    }
    int ret = 0;
    if (rc != SQLITE_DONE)
        ret = DBERR(st, err, rc, q);
    else if (n)
        ret = fw_error_set(err, FW_EIO, st->path, "%s: %s", q,
                           bad.p ? bad.p : "?");
    fw_buf_fini(&bad);
    sqlite3_finalize(s);
    return ret;
}

/* The counters against counting rows. */
static int check_counters(struct fw_store *st, struct fw_error *err)
{
    static const char q[] =
        "SELECT 'findings.' || kind || '.' || state, count(*) FROM findings"
        " GROUP BY kind, state"
        " UNION ALL SELECT 'feeds.' || status, count(*) FROM feeds"
        " GROUP BY status"
        " UNION ALL SELECT 'rejects', count(*) FROM rejects"
        " UNION ALL SELECT 'tasks', count(*) FROM tasks"
        " UNION ALL SELECT 'generations', count(*) FROM generations";
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, q, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return DBERR(st, err, rc, "counting");
    int64_t real[C__COUNT] = {0};
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int i = name_index(col_text(s, 0), counter_names, C__COUNT);
        if (i >= 0)
            real[i] = sqlite3_column_int64(s, 1);
    }
    int ret = rc == SQLITE_DONE ? 0 : DBERR(st, err, rc, "counting");
    sqlite3_finalize(s);
    for (int i = 0; ret == 0 && i < C__COUNT; i++)
        if (real[i] != st->counters[i])
            ret = fw_error_set(err, FW_EIO, st->path,
                               "counter %s says %" PRId64 ", the rows %" PRId64,
                               counter_names[i], st->counters[i], real[i]);
    return ret;
}

/* The references the schema does not declare (see findings, outbox). */
static const char orphans[] =
    "SELECT 'outbox', seq FROM outbox WHERE fid NOT IN"
    " (SELECT fid FROM findings)"
    " UNION ALL SELECT 'findings.first_feed', fid FROM findings"
    " WHERE first_feed IS NOT NULL AND first_feed NOT IN (SELECT id FROM feeds)"
    " UNION ALL SELECT 'findings.last_feed', fid FROM findings"
    " WHERE last_feed IS NOT NULL AND last_feed NOT IN (SELECT id FROM feeds)"
    " UNION ALL SELECT 'finding_keys', fid FROM finding_keys WHERE fid NOT IN"
    " (SELECT fid FROM findings)";

int fw_store_check(struct fw_store *st, struct fw_error *err)
{
    int rc = check_pragma(st, "PRAGMA integrity_check", "ok", err);
    if (rc == 0)
        rc = check_pragma(st, "PRAGMA foreign_key_check", NULL, err);
    if (rc == 0)
        rc = check_pragma(st, orphans, NULL, err);
    if (rc == 0 && st->tx == TX_NONE)
        rc = check_counters(st, err);
    return rc;
}
