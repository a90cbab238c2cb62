/* The SQLite store of the daemon: feeds processed, findings and their
 * open/resolved state, rejects, task records for scheduled checks, policy
 * generations, and the outbox sequence. Only the store's own files
 * (store*.c, store_int.h) include sqlite3.h. Knows nothing of libuv, the
 * spool or the JSONL file: the daemon drives it, one thread, one handle.
 *
 * Durability. WAL mode, synchronous=NORMAL by default: a commit is appended
 * to the WAL with write(2) before fw_store_feed_commit returns, so once it
 * returns the transaction survives the death of the process at any moment
 * (SIGKILL, abort, OOM kill): the bytes are in the kernel's page cache and
 * the next open replays the WAL. Nothing of an uncommitted transaction is
 * ever visible. What NORMAL gives up is only the last transactions before a
 * power loss or kernel crash (never consistency: the WAL is checksummed);
 * opts.sync_full (synchronous=FULL, an fsync per commit) closes that too.
 *
 * Transactions. Everything a feed produces (findings, resolutions, rejects,
 * task records, the feed row, outbox sequence numbers) is written between
 * fw_store_feed_begin and fw_store_feed_commit in one BEGIN IMMEDIATE
 * transaction: all of it is visible, or none. Any failure inside (including
 * a failed commit) rolls the whole transaction back; the handle is then idle
 * again and usable. */
#ifndef FUNDWATCH_DAEMON_STORE_H
#define FUNDWATCH_DAEMON_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fundwatch/error.h"
#include "fundwatch/finding.h"
#include "fundwatch/record.h"

/* Memory and time. Findings are stored in insertion order and looked up by
 * id and by subject through a key index written in batches (store.c): a
 * handle holds up to merge_rows keys in memory (2 per alert or clawback, 1
 * per other finding) plus a bloom filter of the on-disk keys (2 bytes a
 * key); open reads the keys not yet merged back from the findings table,
 * and close leaves them there (merging them took seconds). A read_only
 * handle holds neither. Callbacks of the iterators below must not call the
 * store, except those of fw_store_tasks_each, which may add findings to an
 * open batch. */

/* The schema this binary writes (PRAGMA user_version). Older databases are
 * migrated at open, one transaction a step; a newer one is refused with
 * FW_EINVAL, place the path, "the database's schema version 3 is newer than
 * this fundwatch knows (1): run a newer fundwatch or give another
 * database". Read the tables through the view findings_v in a sqlite3
 * shell: findings stores enums as numbers and repeated strings by id. */
#define FW_STORE_SCHEMA_VERSION 5

struct fw_store;

struct fw_store_opts {
    int busy_timeout_ms;  /* waiting for another writer; 0 = 5000 */
    /* SQLite page cache; 0 = 16384 (16 MiB: the hot pages are the ends
     * of the append-only tables; more only made the process larger) */
    int64_t cache_kib;
    bool sync_full;       /* synchronous=FULL: survive power loss too */
    bool read_only;       /* open an existing database read-only */
    /* Finding keys held in memory (16 bytes each and 8-16 of hash slots,
     * grown as they come) before they are merged into the on-disk key
     * index, see store.c; 0 = 524288. */
    size_t merge_rows;
    /* PRAGMA max_page_count: a cap on the file, in pages (the tests use it
     * as a full disk); 0 = none. */
    int64_t max_pages;
};

/* The in-place sort of a merge (store.c), for the unit tests: the pairs
 * {key, fid} of kv sorted by key, then fid, quicksort turning to heapsort
 * past depth levels (0: at once). FW_ENOMEM, or 0. */
int fw_store_key_sort(int64_t (*kv)[2], size_t n, unsigned depth);

/* Opens (creating it and its schema when missing, unless read_only) the
 * database at path. Errors carry the path as their place. *out is NULL on
 * failure. */
int fw_store_open(const char *path, const struct fw_store_opts *opts,
                  struct fw_store **out, struct fw_error *err);
/* Rolls back an open transaction, finalises every statement, closes.
 * Accepts NULL. */
void fw_store_close(struct fw_store *st);
const char *fw_store_path(const struct fw_store *st);

/* PRAGMA integrity_check (and foreign_key_check): 0 when both say ok, else
 * FW_EIO with the first problems in err. */
int fw_store_check(struct fw_store *st, struct fw_error *err);

/* An online copy of st's database into dest, a new empty file (or a path
 * where none is): every page in one read transaction, so the copy is the
 * database as of one commit, taken while the daemon goes on writing (WAL:
 * the reader holds up no writer). The copy is left in rollback-journal
 * mode, one self-contained file (a daemon opening it turns WAL back on).
 * Retries while the database is busy (busy_timeout of st). Errors carry
 * dest or st's path as their place; dest is then left as it is, for the
 * caller to remove. st may be read_only. */
int fw_store_backup(struct fw_store *st, const char *dest,
                    struct fw_error *err);

/* ---- feeds --------------------------------------------------------------
 * A feed row per delivery. status "done": processed and committed, its
 * sha256 unique among done rows (a partial UNIQUE index): a feed is
 * processed at most once. "failed": could not be processed (reason);
 * nothing else of it is stored; a failed sha256 may be delivered again (the
 * column mapping may have been fixed) and then gets a new row. "duplicate":
 * a re-delivery of a done feed, recorded (name, time, dup_of = the done
 * row) and nothing else. */

enum fw_store_source { FW_SRC_SPOOL = 0, FW_SRC_HTTP };
enum fw_store_status { FW_FEED_DONE = 0, FW_FEED_FAILED, FW_FEED_DUPLICATE };

struct fw_store_feed {
    const char *name;        /* the feed path or name as the user sees it */
    const char *sha256;      /* 64 lowercase hex digits of the bytes */
    enum fw_store_source source;
    int64_t bytes;
    int64_t started_ms;      /* unix ms */
    const char *generation;  /* policy generation version, or NULL */
};

/* What the reader counted and how it ended, given at commit. */
struct fw_store_feed_end {
    uint64_t lines, records, rejects;
    int64_t finished_ms;
    const char *reason;      /* FW_FEED_FAILED only */
};

/* 1 when a done feed with this sha256 exists (*feed_id = its row id, may be
 * NULL), 0 when none, or a negative code. */
int fw_store_feed_seen(struct fw_store *st, const char *sha256,
                       int64_t *feed_id, struct fw_error *err);

/* 1 when the last feed row of this sha256 is its done row, from the spool,
 * named name: a feed committed and (after a crash) not yet moved to done/
 * looks so; 0 otherwise, or a negative code. */
int fw_store_feed_unmoved(struct fw_store *st, const char *sha256,
                          const char *name, struct fw_error *err);

/* Starts the feed's transaction (BEGIN IMMEDIATE: FW_EBUSY when another
 * connection writes longer than busy_timeout). FW_ESTATE when one is
 * already open. FW_EEXIST, and no transaction, when a done feed with this
 * sha256 exists. */
int fw_store_feed_begin(struct fw_store *st, const struct fw_store_feed *feed,
                        struct fw_error *err);
/* Writes the feed row (status done, the counts, the findings counted by
 * kind as they were added) and commits. On any failure everything of the
 * feed is rolled back and the feed is as if never begun. */
int fw_store_feed_commit(struct fw_store *st,
                         const struct fw_store_feed_end *end,
                         struct fw_error *err);
/* Discards everything since fw_store_feed_begin. No-op when none open. */
void fw_store_feed_rollback(struct fw_store *st);

/* Records a feed that carries nothing else, in its own transaction:
 * FW_FEED_FAILED (end->reason says why) or FW_FEED_DUPLICATE (dup_of is
 * looked up by sha256). FW_ESTATE inside a feed's transaction. */
int fw_store_feed_record(struct fw_store *st, const struct fw_store_feed *feed,
                         enum fw_store_status status,
                         const struct fw_store_feed_end *end,
                         struct fw_error *err);

/* ---- findings, inside a feed's transaction -------------------------------
 * The id is deterministic, so a finding is stored once per id:
 *   - new id: inserted, state open, a new outbox event;
 *   - id open: only last_seen and last_feed change; not an event (*seq 0);
 *   - id resolved: reopened (state open, its fields replaced by this
 *     firing, resolved_at cleared), a new outbox event.
 * rkind is the kind of record that fired it (-1 for on_feed_end and
 * scheduled findings that have none): resolution compares it.
 * *seq (may be NULL) gets the event's outbox sequence number, or 0. */
int fw_store_finding_add(struct fw_store *st, const struct fw_finding *f,
                         int rkind, uint64_t *seq, struct fw_error *err);

/* An officer's acknowledgement of the open finding id_hex, in its own
 * transaction (none may be open: FW_ESTATE): who (by), now_ms and the note
 * are kept on the finding and an acknowledged event goes to the outbox
 * (*seq, may be NULL). FW_ENOENT: no such finding; FW_ESTATE: it is
 * resolved; FW_EEXIST: acknowledged already since it last opened (a
 * reopening clears the acknowledgement). */
int fw_store_finding_ack(struct fw_store *st, const char *id_hex,
                         const char *by, const char *note, int64_t now_ms,
                         uint64_t *seq, struct fw_error *err);

/* The outbox's events, as the outbox line's "event" key names them. */
enum fw_store_event {
    FW_EV_OPENED = 0, FW_EV_REOPENED, FW_EV_RESOLVED, FW_EV_ACKNOWLEDGED,
    FW__EV_COUNT
};
/* "opened", "reopened", "resolved", "acknowledged"; "?" for others. */
const char *fw_store_event_name(int ev);
/* The event the last fw_store_finding_add made (FW_EV_OPENED or
 * FW_EV_REOPENED), or -1 when it made none. */
int fw_store_last_event(const struct fw_store *st);

/* The subject of one record, for resolution. NULL fields are absent. */
struct fw_store_subject {
    enum fw_rkind kind;
    const char *region, *dept, *project, *task;
    bool has_as_of;
    int32_t as_of;
};

/* Called once per record after its findings were added: every open
 * alert or clawback finding of the same subject (record kind, region, dept,
 * project and task, each equal or both absent) whose id is not among ids[]
 * (the ids that fired for this record, any kind) becomes resolved
 * (resolved_at = now_ms), with a resolved outbox event each (not counted
 * in the feed's events). A finding whose as_of is later than the record's
 * is left alone (an older snapshot delivered late resolves nothing newer).
 * Score, error and ops findings are never resolved this way. Matching is on
 * the finding's own region/dept/project/task, so a finding a policy emitted
 * about another subject is resolved by that subject's records. *resolved
 * (may be NULL) gets the count. */
int fw_store_subject_done(struct fw_store *st,
                          const struct fw_store_subject *subj,
                          const char (*ids)[FW_ID_HEX + 1], size_t n_ids,
                          int64_t now_ms, int64_t *resolved,
                          struct fw_error *err);

/* A reject of the feed: its line and the reader's reason. */
int fw_store_reject_add(struct fw_store *st, uint64_t line,
                        const char *reason, struct fw_error *err);

/* Keeps a task record (kind task, with region and task; else FW_EINVAL) for
 * the scheduled checks, keyed by (region, dept, task): the latest version
 * wins: a record replaces the stored one unless both have as_of and the
 * stored one is later. Stored as NDJSON that the reader reads back. */
int fw_store_task_put(struct fw_store *st, const struct fw_record *rec,
                      struct fw_error *err);

/* Every kept task snapshot: cb(ud, region, dept, task, has_as_of, as_of)
 * until it returns nonzero. For the engine's thread, which judges "later"
 * away from the store (daemon/taskdates.c). 0 or a negative code. */
typedef int (*fw_store_task_date_cb)(void *ud, const char *region,
                                     const char *dept, const char *task,
                                     bool has_as_of, int32_t as_of);
int fw_store_task_dates(struct fw_store *st, fw_store_task_date_cb cb,
                        void *ud, struct fw_error *err);

/* Sets the time every add/resolve of this transaction stamps
 * (first_seen/last_seen/resolved_at); fw_store_feed_begin sets it to
 * feed->started_ms. */
void fw_store_set_now(struct fw_store *st, int64_t now_ms);

/* ---- scheduled checks ---------------------------------------------------
 * Findings of a scheduled check have no feed: fw_store_batch_begin opens a
 * transaction without a feed row (rejects and tasks are then FW_ESTATE),
 * fw_store_batch_commit commits it, fw_store_feed_rollback discards it. */
int fw_store_batch_begin(struct fw_store *st, int64_t now_ms,
                         struct fw_error *err);
int fw_store_batch_commit(struct fw_store *st, struct fw_error *err);

/* Each stored task record, rebuilt as a struct fw_record (feed and line as
 * stored), valid during the callback; ordered by (region, dept, task).
 * A non-zero return from cb stops and is returned. */
typedef int (*fw_store_task_cb)(void *ud, const struct fw_record *rec);
int fw_store_tasks_each(struct fw_store *st, fw_store_task_cb cb, void *ud,
                        struct fw_error *err);

/* ---- reading findings ---------------------------------------------------- */

enum fw_store_state { FW_ST_OPEN = 0, FW_ST_RESOLVED };

/* A stored finding. Strings live until the callback returns. */
struct fw_store_finding {
    struct fw_finding f;       /* as last fired (feed, line: that firing) */
    int64_t rowid;             /* stable: the keyset cursor */
    int rkind;                 /* enum fw_rkind, or -1 */
    enum fw_store_state state;
    int64_t first_seen, last_seen, resolved_at; /* unix ms; 0 = none */
    int64_t first_feed, last_feed;              /* feed row ids; 0 = none */
    uint64_t seq;              /* the event's outbox seq (pending), or the
                                  latest event's (queries) */
    int event;                 /* enum fw_store_event (pending only) */
    /* acknowledged by an officer since it last opened: ack_at (unix ms)
     * not 0, ack_by and ack_note (may be "") */
    const char *ack_by, *ack_note;
    int64_t ack_at;
};
typedef int (*fw_store_finding_cb)(void *ud, const struct fw_store_finding *sf);

/* 0 and *out filled (valid until the next call on st), FW_ENOENT when no
 * such id. */
int fw_store_finding_get(struct fw_store *st, const char *id,
                         struct fw_store_finding *out, struct fw_error *err);

/* Filters of fw_store_query; zero / NULL / -1 fields do not filter. */
struct fw_store_query {
    const char *region_prefix; /* "50": regions starting with it */
    int kind;                  /* enum fw_fkind, -1 = any */
    int level;                 /* enum fw_level, -1 = any */
    const char *rule;
    int state;                 /* enum fw_store_state, -1 = any */
    int64_t since_ms;          /* last_seen >= since_ms; 0 = any */
    const char *dept;          /* the unit's code, exact */
    bool has_from, has_to;     /* as_of within [as_of_from, as_of_to] */
    int32_t as_of_from, as_of_to;
    unsigned limit;            /* 0 = 100; at most 10000 */
    int64_t cursor;            /* rows after this rowid; 0 = from the first
                                  (GET /findings?after=) */
};

/* Findings matching q in the order they were first stored (rowid
 * ascending), at most limit. *next_cursor (may be NULL) gets the cursor of
 * the next page, 0 when this was the last. Keyset pagination: a page never
 * repeats or skips a row while findings are added. */
int fw_store_query(struct fw_store *st, const struct fw_store_query *q,
                   fw_store_finding_cb cb, void *ud, int64_t *next_cursor,
                   struct fw_error *err);

/* For metrics; kept as counters inside each transaction, O(1). */
struct fw_store_counts {
    int64_t findings[FW__FK_COUNT][2]; /* [kind][state] */
    int64_t feeds[3];                  /* [enum fw_store_status] */
    int64_t rejects;
    int64_t tasks;
    int64_t generations;
    uint64_t outbox_seq;               /* the last event's seq */
    uint64_t outbox_marked;
};
int fw_store_counts(struct fw_store *st, struct fw_store_counts *c,
                    struct fw_error *err);

/* ---- the dashboard's overview ---------------------------------------------- */

#define FW_STORE_TOP 20

/* Open alerts and clawbacks of one region, or one unit (dept) of it. */
struct fw_store_group {
    char region[16], dept[64], dept_name[160];  /* truncated if longer */
    int64_t open, red, yellow;
    int64_t clawback_fen;                        /* open clawbacks' sum */
};

struct fw_store_summary {
    int64_t open[FW__FK_COUNT][FW__LV_COUNT]; /* open findings */
    int64_t amount_fen[FW__FK_COUNT];         /* their amounts summed */
    int64_t opened_since, resolved_since;     /* first seen / resolved at or
                                                 after since_ms */
    /* the regions and units with most red, then most open alerts and
     * clawbacks, at most FW_STORE_TOP each */
    struct fw_store_group regions[FW_STORE_TOP], units[FW_STORE_TOP];
    size_t n_regions, n_units;
    int64_t feeds[3];                         /* started at or after day_ms,
                                                 by enum fw_store_status */
    int64_t records, rejects;                 /* of those feeds */
    char last_failed[256], last_failed_reason[512]; /* the latest failed
                                                       feed ever, "" none */
    int64_t last_failed_ms;
};

/* Counts for the overview: full scans of the findings table (about as long
 * as reading it; cache the answer). */
int fw_store_summary(struct fw_store *st, int64_t since_ms, int64_t day_ms,
                     struct fw_store_summary *out, struct fw_error *err);

/* ---- outbox ---------------------------------------------------------------
 * Every event (a finding opened, reopened, resolved or acknowledged) gets
 * the next outbox seq inside its transaction, so the committed events are
 * exactly seq 1..N. The daemon
 * appends the committed events to the JSONL outbox, then marks the highest
 * seq written. At start, and after each commit, the events above the mark
 * are the ones to write: fw_store_outbox_pending gives them in seq order,
 * rendered from the store (the finding's current fields). The daemon checks
 * the outbox's tail so that a line written before a crash but not marked is
 * not written twice. Called between transactions (else FW_ESTATE). */
int fw_store_outbox_pending(struct fw_store *st, uint64_t after_seq,
                            fw_store_finding_cb cb, void *ud,
                            struct fw_error *err);
/* Records seq as written (it only ever grows: a lower seq is a no-op). Its
 * own transaction when none is open, else part of the open one. */
int fw_store_outbox_mark(struct fw_store *st, uint64_t seq,
                         struct fw_error *err);
int fw_store_outbox_marked(struct fw_store *st, uint64_t *seq,
                           struct fw_error *err);
/* The same, with the outbox file's length once the events up to seq were
 * in it, recorded together (one transaction): after a crash between a
 * write and its mark, the whole lines past that length are exactly the
 * events written since. Before the first mark the length is 0. */
int fw_store_outbox_mark_at(struct fw_store *st, uint64_t seq, uint64_t bytes,
                            struct fw_error *err);
int fw_store_outbox_marked_at(struct fw_store *st, uint64_t *seq,
                              uint64_t *bytes, struct fw_error *err);

/* fw_store_outbox_mark_at, and with it the file's identity (st_dev,
 * st_ino), so that after a file moved away while fundwatch was stopped the
 * events written to it but not marked can be counted there. In one
 * transaction. fw_store_outbox_file gives the identity recorded (0, 0
 * before the first). */
int fw_store_outbox_mark_file(struct fw_store *st, uint64_t seq,
                              uint64_t bytes, uint64_t dev, uint64_t ino,
                              struct fw_error *err);
int fw_store_outbox_file(struct fw_store *st, uint64_t *dev, uint64_t *ino,
                         struct fw_error *err);

/* ---- retention ------------------------------------------------------------
 * (store_prune.c) Deletes the findings resolved before before_ms (unix ms)
 * whose events the outbox file holds (seq up to the mark), with those
 * events and their keys, in transactions of a few thousand; never the
 * newest finding or event (the next ones are numbered after them). A
 * finding pruned and firing again later is a new one (an opened event).
 * *pruned gets the count. Between transactions (else FW_ESTATE). */
int fw_store_prune_resolved(struct fw_store *st, int64_t before_ms,
                            int64_t *pruned, struct fw_error *err);

/* ---- policy generations -------------------------------------------------- */

enum fw_store_trigger { FW_TRIG_START = 0, FW_TRIG_SIGHUP, FW_TRIG_WATCH,
                        FW_TRIG_API, FW__TRIG_COUNT };
const char *fw_store_trigger_name(enum fw_store_trigger t); /* "sighup" */

struct fw_store_gen_file {
    const char *path;
    const char *sha256;
};

struct fw_store_generation {
    int64_t id;                /* row id (filled when read) */
    const char *version;       /* "sha256:<hex>" of the generation */
    int64_t loaded_ms;
    enum fw_store_trigger trigger;
    bool ok;
    const char *error;         /* why it was refused, or NULL */
    const struct fw_store_gen_file *files;
    size_t n_files;
};

/* Records a generation and its files, in its own transaction (or the open
 * one). *id may be NULL. */
/* A shadow generation's difference from the live one (shadow.h), in its
 * own transaction: change "added", "removed" or "changed"; finding and live
 * are findings' JSON (live NULL unless changed). */
struct fw_store_shadow {
    int64_t run;              /* the shadow's start, unix ms */
    const char *candidate;    /* its folder */
    const char *feed, *change, *rule, *region;
    const char *finding, *live;
    int64_t at_ms;
};
int fw_store_shadow_add(struct fw_store *st, const struct fw_store_shadow *r,
                        size_t n, struct fw_error *err);

int fw_store_generation_add(struct fw_store *st,
                            const struct fw_store_generation *g, int64_t *id,
                            struct fw_error *err);
/* The latest `limit` generations (0 = all), newest first, files included. */
typedef int (*fw_store_gen_cb)(void *ud, const struct fw_store_generation *g);
int fw_store_generations_each(struct fw_store *st, unsigned limit,
                              fw_store_gen_cb cb, void *ud,
                              struct fw_error *err);

#endif
