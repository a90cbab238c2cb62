/* The store's internals shared by store.c (schema, transactions, open,
 * feeds, the finding key index), store_find.c (findings, resolution,
 * rejects, tasks), store_read.c (reads, outbox, generations, checks),
 * store_prune.c (retention), store_keys.c (the key tail's vectors and
 * sort) and store_sql.c (the SQL text). Not an API: only these files
 * include it. */
#ifndef FUNDWATCH_DAEMON_STORE_INT_H
#define FUNDWATCH_DAEMON_STORE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "fundwatch/buf.h"
#include "store.h"

#define ID_BYTES (FW_ID_HEX / 2)
/* Tables of this size or more are asked for on huge pages (store.c). */
#define HUGE_PAGE ((size_t)2 << 20)
#define DEFAULT_BUSY_MS 5000 /* fw_store_opts.busy_timeout_ms 0 */

/* ---- statements, prepared once at open (their SQL: store.c) -------------- */

enum {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_FEED_SEEN,
    S_FEED_LAST,
    S_FEED_INS,
    S_FEED_DONE,
    S_FEED_REC,
    S_KEY_FIND,
    S_FID_ID,
    S_F_INS,
    S_F_SEEN,
    S_F_REOPEN,
    S_OUTBOX_INS,
    S_OUTBOX_INS_MANY,
    S_SUBJ_DISK,
    S_SUBJ_FID,
    S_RESOLVE,
    S_ACK,
    S_KEY_INS,
    S_KEY_INS_MANY,
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
    S_NAME_GET,
    S_NAME_INS,
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
    S_FID_UNMERGED,
    S_SUM_KL,
    S_SUM_SINCE,
    S_SUM_REGION,
    S_SUM_UNIT,
    S_SUM_FEEDS,
    S_SUM_FAILED,
    S_SHADOW_INS,
    S__COUNT
};

/* store_sql.c: the SQL text. fw__store_migrations[i] takes user_version i
 * to i + 1; fw__store_sql[S_x] is statement S_x. */
extern const char *const fw__store_migrations[];
extern const char *const fw__store_sql[S__COUNT];
/* Rows of one INSERT of a merge (fw__store_sql[S_KEYS_INS...]). */
#define KEYS_PER_INSERT 64
/* Outbox rows of one INSERT (S_OUTBOX_INS_MANY). */
#define EVENTS_PER_INSERT 64

/* ---- counters, kept with each transaction -------------------------------- */

enum {
    C_FINDINGS = 0,                          /* + kind * 2 + state */
    C_FEEDS = C_FINDINGS + FW__FK_COUNT * 2, /* + status */
    C_REJECTS = C_FEEDS + 3,
    C_TASKS,
    C_GENERATIONS,
    C__COUNT
};

static const char *const counter_names[C__COUNT] = {
    "findings.alert.open",
    "findings.alert.resolved",
    "findings.clawback.open",
    "findings.clawback.resolved",
    "findings.score.open",
    "findings.score.resolved",
    "findings.error.open",
    "findings.error.resolved",
    "findings.ops.open",
    "findings.ops.resolved",
    "feeds.done",
    "feeds.failed",
    "feeds.duplicate",
    "rejects",
    "tasks",
    "generations",
};

static const char *const status_names[3] = {"done", "failed", "duplicate"};
static const char *const source_names[2] = {"spool", "http"};
static const char *const trigger_names[FW__TRIG_COUNT] = {"start", "sighup",
                                                          "watch", "api"};

/* ---- the key tail: keys of findings not yet merged into finding_keys ---- */

/* A key and its finding's fid; a subject key's fid has TKEY_SUBJ set (fids
 * are positive and far below it). 16 bytes: the tail holds up to
 * merge_rows of them. A finding's keys are pushed together, its id key
 * first, so the entry before a subject key's in keys.v is its id key's
 * (tail_fired, which checks the fid too: in any other order it says no,
 * and the row is read); a merge's sort is undone if the merge fails. */
#define TKEY_SUBJ ((int64_t)1 << 62)

struct tkey {
    int64_t k;
    int64_t fid; /* | TKEY_SUBJ for a subject key */
};

static inline int64_t tkey_fid(const struct tkey *e)
{
    return e->fid & ~TKEY_SUBJ;
}

static inline bool tkey_subj(const struct tkey *e)
{
    return (e->fid & TKEY_SUBJ) != 0;
}

struct keyvec {
    struct tkey *v;
    size_t n, cap;
    bool mapped; /* v is an mmap of cap entries (grown by mremap) */
};

/* ---- the bloom filter of finding_keys ---------------------------------------
 * Most findings are new, and most records' subjects have nothing open: a
 * probe of finding_keys would find nothing. The filter (about 16 bits a key,
 * 6 probes: about 0.1% false positives) says so from memory. It is blocked:
 * a key's 6 bits lie in one 512-bit block, one cache line, so a probe costs
 * one cache miss, not one per bit. Built at open by one scan of
 * finding_keys, kept by each merge, rebuilt twice as large when full.
 * Without it (bits NULL) every probe goes to disk. */

#define BLOOM_BLOCK_LG 9 /* 512 bits: a cache line */

struct bloom {
    uint64_t *bits; /* 64-byte aligned */
    unsigned shift; /* 64 - log2(number of blocks) */
    size_t n, cap;  /* keys added; keys before it is rebuilt larger */
};

static inline uint64_t mix64(uint64_t z)
{
    z ^= z >> 30;
    z *= 0xbf58476d1ce4e5b9ull;
    z ^= z >> 27;
    z *= 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The key's block; in *g six 9-bit bit numbers inside it (its top 54
 * bits). */
static inline uint64_t *bloom_block(const struct bloom *b, int64_t k,
                                    uint64_t *g)
{
    uint64_t z = mix64((uint64_t)k);
    *g = z * 0x9e3779b97f4a7c15ull;
    return b->bits + ((z >> b->shift) << (BLOOM_BLOCK_LG - 6));
}

/* Starts loading the key's block: a miss overlaps whatever comes next. */
static inline void bloom_prefetch(const struct bloom *b, int64_t k)
{
    uint64_t g;
    if (b->bits)
        __builtin_prefetch(bloom_block(b, k, &g));
}

/* The filter of finding_keys: an empty one says no without a memory
 * access (a new store's, until the first merge). */
static inline bool disk_maybe(const struct bloom *b, int64_t k);

static inline bool bloom_maybe(const struct bloom *b, int64_t k)
{
    if (b->bits == NULL)
        return true;
    uint64_t g;
    const uint64_t *blk = bloom_block(b, k, &g);
    for (int i = 0; i < 6; i++, g <<= 9) {
        unsigned bit = (unsigned)(g >> 55);
        if (!(blk[bit >> 6] >> (bit & 63) & 1))
            return false;
    }
    return true;
}

static inline void bloom_add(struct bloom *b, int64_t k)
{
    if (b->bits == NULL)
        return;
    uint64_t g;
    uint64_t *blk = bloom_block(b, k, &g);
    for (int i = 0; i < 6; i++, g <<= 9) {
        unsigned bit = (unsigned)(g >> 55);
        blk[bit >> 6] |= 1ull << (bit & 63);
    }
    b->n++;
}

/* Each slot keeps 32 bits of its key's hash beside the index, so a probe
 * that finds nothing (most findings are new) reads the slot array only, one
 * cache line, and never keys.v. The slots are many (room for a merge's
 * worth): a probe is a cache miss. Most records' subjects have nothing in
 * the tail, so the subject keys also go into a small filter sized for them,
 * which answers those. Bits are never taken out of it: after a rollback it
 * holds more than the tail, never less; it is emptied with the tail.
 * Without bits (out of memory) every subject may be in the tail. */
struct tail {
    struct keyvec keys;
    uint64_t *slot; /* fingerprint << 32 | (index + 1 into keys.v); 0 =
                       empty */
    size_t nslot;   /* a power of two, keys.n at most 3/4 of it */
    struct bloom subj; /* of the subject keys (TKEY_SUBJ) */
};

static inline bool disk_maybe(const struct bloom *b, int64_t k)
{
    return b->bits == NULL || (b->n > 0 && bloom_maybe(b, k));
}

enum txn { TX_NONE = 0, TX_FEED, TX_BATCH, TX_OWN };

/* Recently used names(id) of policies, versions, rules and feeds. One added
 * inside a transaction is fresh: forgotten if the transaction rolls back. */
#define NAME_SLOTS 32
struct name_slot {
    char *text;
    int64_t id;
    bool fresh;
};

struct fw_store {
    sqlite3 *db;
    char *path;
    struct fw_store_opts opts;
    sqlite3_stmt *st[S__COUNT];

    enum txn tx;
    bool feed_failed; /* the last transaction failed: say so */
    int64_t now_ms;
    int64_t feed_id; /* the open feed's row, 0 in a batch */
    int64_t feed_started;
    uint64_t fired[FW__FK_COUNT], events, resolved;

    uint64_t seq, seq_mark; /* last outbox seq; its value at begin */
    int last_event;         /* of the last fw_store_finding_add, or -1 */
    uint64_t marked, marked_mark;
    bool ready;     /* opened: statements prepared, tail loaded */
    /* Findings up to this fid have their keys in finding_keys. */
    int64_t merged;
    int64_t counters[C__COUNT], delta[C__COUNT];

    struct tail tail;
    size_t tail_mark;
    struct bloom bloom; /* of the keys in finding_keys */
    /* Subject keys of findings resolved since the last merge, to delete
     * at the next. */
    struct keyvec dead;
    size_t dead_mark;

    /* Outbox rows of the open transaction not inserted yet: a statement
     * per EVENTS_PER_INSERT of them, the rest at commit (an INSERT of its
     * own per event was a fifth of a finding's instructions). Nothing
     * reads the outbox table inside a transaction. */
    struct outbox_row {
        int64_t seq, fid;
        int event;
    } ev[EVENTS_PER_INSERT];
    size_t n_ev;

    struct name_slot names[NAME_SLOTS];
    unsigned name_next;
    unsigned name_hint[7]; /* policy, version, rule, feed, title, rule
                              source, evidence params: the last slot */

    struct fw_colmap *colmap; /* for reading task records back */
    struct fw_buf arena;      /* strings of fw_store_finding_get */
    struct fw_buf tmp;
};

/* ---- shared helpers ------------------------------------------------------ */

/* The SQLite message of the handle, with the path as the place. Read it
 * before a rollback, which replaces it. */
#define DBERR(st, err, rc, what)                                               \
    fw__store_dberr((st), (err), (rc), (what), __FILE__, __LINE__)
int fw__store_dberr(struct fw_store *st, struct fw_error *err, int rc,
                    const char *what, const char *file, int line);

/* Binding errors are not checked one by one: with valid indexes they can
 * only be out of memory, which the step that follows reports too. */
static inline void bind_text(sqlite3_stmt *s, int i, const char *t)
{
    if (t)
        sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static inline void bind_textn(sqlite3_stmt *s, int i, const char *t, size_t n)
{
    sqlite3_bind_text(s, i, t ? t : "", (int)n, SQLITE_STATIC);
}

static inline void bind_i64_or_null(sqlite3_stmt *s, int i, bool has, int64_t v)
{
    if (has)
        sqlite3_bind_int64(s, i, v);
    else
        sqlite3_bind_null(s, i);
}

static inline const char *col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

/* An integer column, or dflt when NULL. */
static inline int col_int(sqlite3_stmt *s, int i, int dflt)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? dflt
                                                    : sqlite3_column_int(s, i);
}

static inline int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The id's key: its first 8 bytes. */
static inline int64_t id_key(const unsigned char *id)
{
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = k << 8 | id[i];
    return (int64_t)k;
}

static inline bool resolvable(int kind)
{
    return kind == FW_FK_ALERT || kind == FW_FK_CLAWBACK;
}

static inline int name_index(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static inline size_t slot_of(int64_t k, size_t nslot)
{
    return (size_t)(((uint64_t)k * 0x9e3779b97f4a7c15ull) >> 17) & (nslot - 1);
}

/* 32 bits of the key's hash, independent of its slot, as a slot's top half. */
static inline uint64_t tail_fp(int64_t k)
{
    return ((uint64_t)k * 0xc2b2ae3d27d4eb4full) & 0xffffffff00000000ull;
}

/* Runs the statement that follows for each entry of the tail under key:
 * only a slot whose fingerprint matches is followed into keys.v. */
#define TAIL_EACH(t, key, ent)                                                 \
    for (size_t fw__j = (t)->nslot ? slot_of((key), (t)->nslot) : 0,           \
                fw__go = (t)->nslot != 0;                                      \
         fw__go && (t)->slot[fw__j]; fw__j = (fw__j + 1) & ((t)->nslot - 1))   \
        if (((t)->slot[fw__j] & 0xffffffff00000000ull) == tail_fp(key) &&      \
            ((ent) = &(t)->keys.v[(uint32_t)(t)->slot[fw__j] - 1])->k == (key))

/* True when e, a subject key's entry of the tail, belongs to the finding
 * whose id key is idk: the entry before it is that finding's id key. */
static inline bool tail_fired(const struct tail *t, const struct tkey *e,
                              int64_t idk)
{
    return e > t->keys.v && !tkey_subj(e - 1) &&
           (e - 1)->fid == tkey_fid(e) && (e - 1)->k == idk;
}

/* Starts loading the slot a key goes to (or is probed at). */
static inline void tail_prefetch(const struct tail *t, int64_t key)
{
    if (t->nslot)
        __builtin_prefetch(&t->slot[slot_of(key, t->nslot)]);
}

/* False when the tail surely holds no entry under key (no fingerprint of
 * its probe run matches): the slot array alone decides. */
static inline bool tail_maybe(const struct tail *t, int64_t key)
{
    if (t->nslot == 0)
        return false;
    uint64_t fp = tail_fp(key);
    for (size_t j = slot_of(key, t->nslot); t->slot[j];
         j = (j + 1) & (t->nslot - 1))
        if ((t->slot[j] & 0xffffffff00000000ull) == fp)
            return true;
    return false;
}

/* Steps a statement that returns no row, then resets it. */
int fw__store_exec(struct fw_store *st, int which, struct fw_error *err,
                   const char *what);
/* Steps a statement returning one integer (none: *out = dflt). */
int fw__store_query_i64(struct fw_store *st, int which, int64_t dflt,
                        int64_t *out, struct fw_error *err, const char *what);
/* "0123…" (32 lowercase hex digits) → 16 bytes; false if not an id. */
bool fw__store_id_parse(const char *hex, unsigned char out[ID_BYTES]);
int64_t fw__store_subject_key(int rkind, const char *region, const char *dept,
                              const char *project, const char *task);
/* store_keys.c. Room for cap keys in v (FW_ENOMEM, or 0); its memory
 * freed. */
int fw__store_vec_reserve(struct keyvec *v, size_t cap);
void fw__store_vec_fini(struct keyvec *v);
/* fid | TKEY_SUBJ for a subject key (fw__store_tail_push: pushed right
 * after its finding's id key). */
int fw__store_vec_push(struct keyvec *v, int64_t k, int64_t fid);
/* In place: by key, then fid (a merge); by fid, an id key before its
 * subject key (the order of the pushes, tail_fired's). */
void fw__store_sort_by_key(struct tkey *v, size_t n);
void fw__store_sort_by_push(struct tkey *v, size_t n);
int fw__store_tail_push(struct tail *t, int64_t k, int64_t fid);

int fw__store_tx_begin(struct fw_store *st, enum txn kind,
                       struct fw_error *err);
int fw__store_tx_commit(struct fw_store *st, struct fw_error *err);
/* Inserts the outbox rows held back (st->ev); inside the transaction. */
int fw__store_events_flush(struct fw_store *st, struct fw_error *err);
/* A failure inside a transaction: all of it is rolled back; returns rc. */
int fw__store_tx_fail(struct fw_store *st, int rc);
int fw__store_need_tx(struct fw_store *st, bool feed_only,
                      struct fw_error *err);

/* The names(id) of text, added when new (inside the open transaction);
 * *id = 0 for NULL text. */
int fw__store_intern(struct fw_store *st, const char *text, unsigned *hint,
                     int64_t *id, struct fw_error *err);

/* The row of an id (*fid = 0 when none) and its state. */
int fw__store_lookup_id(struct fw_store *st, const unsigned char *id,
                        int64_t *fid, int *state, struct fw_error *err);

#endif
