/* The SQLite store (store.h): migrating the schema, one transaction per
 * feed, finding dedupe and resolution, the outbox sequence, the finding key
 * index, the names (the SQL text itself is in store_sql.c; the key
 * tail's vectors and sort in store_keys.c). With store_find.c,
 * store_read.c, store_prune.c and those two the only files that include
 * sqlite3.h; none of them logs, exits or knows the spool: every
 * failure goes back as a negative FW_E code.
 *
 * The finding key index. A finding id is a random-looking hash, and a
 * B-tree keyed by random keys updated on every insert dirties nearly every
 * leaf on every commit once it outgrows a few thousand pages: measured here
 * (tests/bench/store.sh, a million findings in transactions of 10,000) a
 * table keyed by the id falls to ~40,000 rows/s as TEXT and ~50,000 as a
 * 16-byte BLOB, whatever the cache size. So the findings table is a rowid table written in
 * insertion order (append only), with no index on the id, and the two
 * lookups it needs (by id, for dedupe; by subject, for resolution) go
 * through finding_keys(k, fid), a WITHOUT ROWID table of 64-bit keys (the
 * id's first 8 bytes; a hash of the subject) that is written in batches,
 * like one level of an LSM tree: keys of findings stored since the last
 * merge live in memory (the tail, a hash table), and when the tail reaches
 * opts.merge_rows they are inserted in key order in one transaction, so each
 * leaf is dirtied once per batch instead of once per finding. The tail is
 * rebuilt at open from the findings above meta.keys_merged, so a crash loses
 * nothing, and close leaves it unmerged for the same reason. Every key hit
 * is checked against the row itself (the full id, or the subject's
 * columns), so a 64-bit collision or a stale key costs a row read, never a
 * wrong answer. A bloom filter of the on-disk keys spares the probe for new
 * ids and subjects (most of them), and a small one of the tail's subject
 * keys answers most records' resolution without touching the tail's large
 * slot table: a record whose subject has nothing open costs its subject's
 * hash and two cache lines. Measured the same way: ~250,000 findings/s
 * (the shared machine varies by a third). A merge dirties every page of
 * finding_keys, so its cost grows with the total; past some ten million
 * findings a second level (merge into a middle table, that into the big
 * one) is the next step. */
#include "store_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fundwatch/reader.h"

#define DEFAULT_CACHE_KIB 16384
/* Keys held before a merge: 256k findings of two keys. At twice that (a
 * million findings, every one an alert) the daemon's peak RSS was 81.6 MB
 * against 59.8 MB; the merges, twice as many, cost the store path about
 * 8 % more CPU (tests/bench/store.sh: 3.66-3.89 s -> 4.03-4.10 s). */
#define DEFAULT_MERGE_ROWS 524288
#define CLOSE_PRUNE_MAX 65536

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
int fw__store_dberr(struct fw_store *st, struct fw_error *err, int rc,
                    const char *what, const char *file, int line)
{
    const char *m = st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
    return fw__error_set(err, code_of(rc), file, line, st->path, "%s: %s", what,
                         m);
}

/* ---- small helpers ------------------------------------------------------- */

/* Steps a statement that returns no row, then resets it. */
int fw__store_exec(struct fw_store *st, int which, struct fw_error *err,
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
int fw__store_query_i64(struct fw_store *st, int which, int64_t dflt,
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

/* A lowercase hex digit's value + 1; 0 for any other byte. */
static const unsigned char hex1[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
    ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
    ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/* "0123…" (32 lowercase hex digits) → 16 bytes; false if not an id. */
bool fw__store_id_parse(const char *hex, unsigned char out[ID_BYTES])
{
    if (hex == NULL)
        return false;
    const unsigned char *h = (const unsigned char *)hex;
    for (int i = 0; i < ID_BYTES; i++) {
        unsigned a = hex1[h[2 * i]];
        if (a == 0)
            return false; /* before the next byte: it may be past the end */
        unsigned b = hex1[h[2 * i + 1]];
        if (b == 0)
            return false;
        out[i] = (unsigned char)((a - 1) << 4 | (b - 1));
    }
    return hex[FW_ID_HEX] == '\0';
}

/* FNV-1a over the subject, each part length-prefixed, an absent part
 * distinct from an empty one (SQL's IS). Only a probe: the row decides.
 * The keys are on disk (finding_keys), so the function never changes; it
 * is computed faster: a zero byte only multiplies by the prime, so a run of
 * them (the high bytes of a length, of the record kind) is one
 * multiplication by a power of it, and the state after "subject" is a
 * constant. */

#define FNV_PRIME 0x100000001b3ull
#define FNV_AFTER_SUBJECT 0x9640735281e90c0full /* "subject" hashed */

static const uint64_t fnv_pow[9] = {
    0x1ull,
    0x100000001b3ull,
    0x366000002e329ull,
    0x8a97b0004e7feabull,
    0x9ffaac085635bc91ull,
    0xcaee32a7d4f6a63ull,
    0xdc966432edf1c639ull,
    0xc5527b8a51d3d2dbull,
    0x1efac7090aef4a21ull,
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * FNV_PRIME;
    return h;
}

/* The same over at most 8 bytes, a run of zero bytes at a time. */
static uint64_t fnv_word(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    unsigned zeros = 0;
    for (size_t i = 0; i < n; i++) {
        if (b[i] == 0) {
            zeros++;
            continue;
        }
        h = (h * fnv_pow[zeros] ^ b[i]) * FNV_PRIME;
        zeros = 0;
    }
    return h * fnv_pow[zeros];
}

static uint64_t fnv_part(uint64_t h, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    uint64_t len = s ? (uint64_t)n : UINT64_MAX;
    h = fnv_word(h, &len, sizeof len);
    return s ? fnv(h, s, n) : h;
}

int64_t fw__store_subject_key(int rkind, const char *region, const char *dept,
                              const char *project, const char *task)
{
    int32_t rk = rkind;
    uint64_t h = fnv_word(FNV_AFTER_SUBJECT, &rk, sizeof rk);
    h = fnv_part(h, region);
    h = fnv_part(h, dept);
    h = fnv_part(h, project);
    h = fnv_part(h, task);
    return (int64_t)h;
}

/* ---- big tables ------------------------------------------------------------
 * The tail's slots and the bloom filter are probed at random, once or twice
 * per record: on 4 KiB pages nearly every probe also misses the TLB. Tables
 * of 2 MiB or more are asked for on huge pages (transparent huge pages in
 * "madvise" mode, Debian's default; elsewhere the advice is ignored). */


static void *big_calloc(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, bytes < HUGE_PAGE ? 64 : HUGE_PAGE, bytes) != 0)
        return NULL;
    if (bytes >= HUGE_PAGE)
        madvise(p, bytes, MADV_HUGEPAGE); /* before the first touch */
    memset(p, 0, bytes);
    return p;
}

/* ---- the tail ------------------------------------------------------------ */

static void tail_place(struct tail *t, size_t i)
{
    int64_t k = t->keys.v[i].k;
    size_t j = slot_of(k, t->nslot);
    while (t->slot[j])
        j = (j + 1) & (t->nslot - 1);
    t->slot[j] = tail_fp(k) | (uint64_t)(i + 1);
}

/* Places every key of keys.v (the slots empty), the slot of the key 16
 * ahead prefetched: the misses overlap. */
static void tail_place_all(struct tail *t)
{
    for (size_t i = 0; i < t->keys.n; i++) {
        if (i + 16 < t->keys.n)
            tail_prefetch(t, t->keys.v[i + 16].k);
        tail_place(t, i);
    }
}

/* Sizes the slots for `want` keys (never smaller than they are) and
 * indexes the keys again. At most 3/4 of the slots are used: with the
 * fingerprints a longer probe run costs little, 8 slots a cache line. */
static int tail_rehash(struct tail *t, size_t want)
{
    size_t n = t->nslot ? t->nslot : 1024;
    while (n / 4 * 3 < want)
        n <<= 1;
    if (n != t->nslot) {
        uint64_t *s = big_calloc(n * sizeof *s);
        if (s == NULL)
            return FW_ENOMEM;
        free(t->slot);
        t->slot = s;
        t->nslot = n;
    } else {
        memset(t->slot, 0, n * sizeof *t->slot);
    }
    tail_place_all(t);
    return 0;
}

/* (Re)builds the tail's subject filter for at least `want` keys from
 * keys.v; without memory it is off (says maybe), never wrong. */
static void subj_build(struct tail *t, size_t want)
{
    free(t->subj.bits);
    memset(&t->subj, 0, sizeof t->subj);
    unsigned lg = 16; /* 8 KiB at least */
    while (lg < 40 && ((size_t)1 << lg) < want * 16)
        lg++;
    uint64_t *bits = big_calloc(((size_t)1 << lg) / 8);
    if (bits == NULL)
        return;
    struct bloom b = {.bits = bits,
                      .shift = 64 - (lg - BLOOM_BLOCK_LG),
                      .cap = ((size_t)1 << lg) / 16};
    for (size_t i = 0; i < t->keys.n; i++)
        if (tkey_subj(&t->keys.v[i]))
            bloom_add(&b, t->keys.v[i].k);
    t->subj = b;
}

int fw__store_tail_push(struct tail *t, int64_t k, int64_t fid)
{
    if (t->keys.n >= UINT32_MAX - 1)
        return FW_ELIMIT;
    if ((t->keys.n + 1) > t->nslot / 4 * 3 &&
        tail_rehash(t, t->keys.n + 1) < 0)
        return FW_ENOMEM;
    if (fw__store_vec_push(&t->keys, k, fid) < 0)
        return FW_ENOMEM;
    tail_place(t, t->keys.n - 1);
    if ((fid & TKEY_SUBJ) && t->subj.bits) {
        if (t->subj.n >= t->subj.cap)
            subj_build(t, t->subj.n * 2); /* k included: it is in keys.v */
        else
            bloom_add(&t->subj, k);
    }
    return 0;
}

static void tail_truncate(struct tail *t, size_t n)
{
    if (t->keys.n == n)
        return;
    t->keys.n = n;
    if (t->nslot)
        tail_rehash(t, n); /* never grows: cannot fail */
    if (n == 0 && t->subj.bits) {
        memset(t->subj.bits, 0, t->subj.cap * 2);
        t->subj.n = 0;
    }
}

static void tail_fini(struct tail *t)
{
    fw__store_vec_fini(&t->keys);
    free(t->slot);
    free(t->subj.bits);
    memset(t, 0, sizeof *t);
}

/* ---- transactions -------------------------------------------------------- */

int fw__store_tx_begin(struct fw_store *st, enum txn kind, struct fw_error *err)
{
    int rc = fw__store_exec(st, S_BEGIN, err, "beginning a transaction");
    if (rc < 0)
        return rc;
    st->tx = kind;
    st->feed_failed = false;
    st->seq_mark = st->seq;
    st->marked_mark = st->marked;
    st->tail_mark = st->tail.keys.n;
    st->dead_mark = st->dead.n;
    st->n_ev = 0;
    memset(st->delta, 0, sizeof st->delta);
    memset(st->fired, 0, sizeof st->fired);
    st->events = st->resolved = 0;
    st->feed_id = 0;
    return 0;
}

/* Undoes everything of the open transaction, in SQLite and in memory. */
/* At the end of a transaction: the names it added are kept (committed) or
 * forgotten (rolled back). */
static void names_settle(struct fw_store *st, bool committed)
{
    for (int i = 0; i < NAME_SLOTS; i++) {
        struct name_slot *n = &st->names[i];
        if (!n->fresh)
            continue;
        n->fresh = false;
        if (!committed) {
            free(n->text);
            n->text = NULL;
        }
    }
}

int fw__store_intern(struct fw_store *st, const char *text, unsigned *hint,
                     int64_t *id, struct fw_error *err)
{
    *id = 0;
    if (text == NULL)
        return 0;
    /* The slot this field named last time first: a finding's policy, rule,
     * version and feed are mostly the previous finding's. */
    struct name_slot *h = &st->names[*hint % NAME_SLOTS];
    if (h->text && strcmp(h->text, text) == 0) {
        *id = h->id;
        return 0;
    }
    for (int i = 0; i < NAME_SLOTS; i++)
        if (st->names[i].text && strcmp(st->names[i].text, text) == 0) {
            *id = st->names[i].id;
            *hint = (unsigned)i;
            return 0;
        }
    bind_text(st->st[S_NAME_GET], 1, text);
    int rc = fw__store_query_i64(st, S_NAME_GET, 0, id, err, "naming");
    bool fresh = false;
    if (rc == 0 && *id == 0) {
        bind_text(st->st[S_NAME_INS], 1, text);
        rc = fw__store_exec(st, S_NAME_INS, err, "naming");
        *id = sqlite3_last_insert_rowid(st->db);
        fresh = true;
    }
    if (rc < 0)
        return rc;
    char *copy = strdup(text);
    if (copy == NULL)
        return 0; /* not remembered: looked up again next time */
    *hint = st->name_next++ % NAME_SLOTS;
    struct name_slot *n = &st->names[*hint];
    free(n->text);
    *n = (struct name_slot){copy, *id, fresh};
    return 0;
}

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
    st->n_ev = 0;
    names_settle(st, false);
    memset(st->delta, 0, sizeof st->delta);
    st->tx = TX_NONE;
    st->feed_id = 0;
}

/* A failure inside a feed or batch: everything of it is rolled back. */
int fw__store_tx_fail(struct fw_store *st, int rc)
{
    if (st->tx == TX_FEED || st->tx == TX_BATCH)
        st->feed_failed = true;
    tx_abort(st);
    return rc;
}

int fw__store_tx_commit(struct fw_store *st, struct fw_error *err)
{
    int rc = fw__store_events_flush(st, err);
    if (rc < 0)
        return fw__store_tx_fail(st, rc);
    sqlite3_stmt *s = st->st[S_COUNTER_ADD];
    for (int i = 0; i < C__COUNT; i++) {
        if (st->delta[i] == 0)
            continue;
        bind_text(s, 1, counter_names[i]);
        sqlite3_bind_int64(s, 2, st->delta[i]);
        rc = fw__store_exec(st, S_COUNTER_ADD, err, "updating the counters");
        if (rc < 0)
            return fw__store_tx_fail(st, rc);
    }
    rc = fw__store_exec(st, S_COMMIT, err, "committing");
    if (rc < 0)
        return fw__store_tx_fail(st, rc);
    for (int i = 0; i < C__COUNT; i++)
        st->counters[i] += st->delta[i];
    names_settle(st, true);
    memset(st->delta, 0, sizeof st->delta);
    st->tx = TX_NONE;
    st->feed_id = 0;
    return 0;
}

/* FW_ESTATE unless the right transaction is open; a misplaced call inside
 * a batch fails it like any other failure inside. */
int fw__store_need_tx(struct fw_store *st, bool feed_only, struct fw_error *err)
{
    if (st->tx == TX_FEED || (!feed_only && st->tx == TX_BATCH))
        return 0;
    if (st->tx == TX_BATCH)
        return fw__store_tx_fail(st,
                                 fw_error_set(err, FW_ESTATE, st->path,
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
    unsigned lg = 20; /* 1 Mi bits = 128 KiB at least */
    while (lg < 40 && ((size_t)1 << lg) < want * 16)
        lg++;
    uint64_t *bits = big_calloc(((size_t)1 << lg) / 8);
    if (bits == NULL)
        return;
    struct bloom b = {.bits = bits,
                      .shift = 64 - (lg - BLOOM_BLOCK_LG),
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

/* ---- merging the tail into finding_keys ---------------------------------- */

static size_t merge_limit(const struct fw_store *st)
{
    return st->opts.merge_rows ? st->opts.merge_rows : DEFAULT_MERGE_ROWS;
}

/* Writes the tail's keys in key order and deletes the keys of findings
 * resolved since, in one transaction; then the tail is empty. With
 * prune_only, only the deletions, and the tail stays (fw_store_close). */
static int merge_tx(struct fw_store *st, bool prune_only,
                    struct fw_error *err);

static int merge(struct fw_store *st, bool prune_only, struct fw_error *err)
{
    if ((prune_only || st->tail.keys.n == 0) && st->dead.n == 0)
        return 0;
    /* Sorted, the keys no longer match their slots: they are indexed
     * again only if the merge fails and the tail stays. */
    size_t n = prune_only ? 0 : st->tail.keys.n;
    if (n > 1)
        fw__store_sort_by_key(st->tail.keys.v, n);
    int rc = merge_tx(st, prune_only, err);
    if (rc < 0 && n > 1) {
        /* the tail stays, in the order tail_fired reads it */
        fw__store_sort_by_push(st->tail.keys.v, n);
        tail_rehash(&st->tail, n); /* same size: cannot fail */
    }
    return rc;
}

static int merge_tx(struct fw_store *st, bool prune_only,
                    struct fw_error *err)
{
    int rc = fw__store_tx_begin(st, TX_OWN, err);
    if (rc < 0)
        return rc;
    size_t n = prune_only ? 0 : st->tail.keys.n;
    const struct tkey *v = st->tail.keys.v;
    for (size_t i = 0; i < n;) {
        bool many = n - i >= KEYS_PER_INSERT;
        int which = many ? S_KEY_INS_MANY : S_KEY_INS;
        sqlite3_stmt *s = st->st[which];
        for (int j = 0; j < (many ? KEYS_PER_INSERT : 1); j++, i++) {
            sqlite3_bind_int64(s, 2 * j + 1, v[i].k);
            sqlite3_bind_int64(s, 2 * j + 2, tkey_fid(&v[i]));
        }
        if ((rc = fw__store_exec(st, which, err, "merging finding keys")) < 0)
            return fw__store_tx_fail(st, rc);
    }
    sqlite3_stmt *s;
    if (st->dead.n > 1)
        fw__store_sort_by_key(st->dead.v, st->dead.n);
    s = st->st[S_KEY_DEL];
    for (size_t i = 0; i < st->dead.n; i++) {
        sqlite3_bind_int64(s, 1, st->dead.v[i].k);
        sqlite3_bind_int64(s, 2, st->dead.v[i].fid);
        if ((rc = fw__store_exec(st, S_KEY_DEL, err, "pruning finding keys")) <
            0)
            return fw__store_tx_fail(st, rc);
    }
    int64_t max_fid = st->merged;
    if (!prune_only) {
        if ((rc = fw__store_query_i64(st, S_MAX_FID, 0, &max_fid, err,
                                      "merging")) < 0)
            return fw__store_tx_fail(st, rc);
        s = st->st[S_META_SET];
        bind_text(s, 1, "keys_merged");
        sqlite3_bind_int64(s, 2, max_fid);
        if ((rc = fw__store_exec(st, S_META_SET, err,
                                 "merging finding keys")) < 0)
            return fw__store_tx_fail(st, rc);
    }
    if ((rc = fw__store_tx_commit(st, err)) < 0)
        return rc;
    st->dead.n = 0;
    if (prune_only)
        return 0;
    st->merged = max_fid;
    for (size_t i = 0; i < st->tail.keys.n; i++)
        bloom_add(&st->bloom, st->tail.keys.v[i].k);
    if (st->bloom.bits == NULL || st->bloom.n > st->bloom.cap)
        bloom_build(st, st->bloom.n * 2);
    tail_truncate(&st->tail, 0);
    return 0;
}

/* After a commit: a merge failure is not the commit's; the tail stays and
 * the next commit tries again. */
static void maybe_merge(struct fw_store *st)
{
    if (st->tail.keys.n + st->dead.n >= merge_limit(st))
        merge(st, false, NULL);
}

/* ---- open / close -------------------------------------------------------- */

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
    int ret =
        rc == SQLITE_OK ? 0 : DBERR(st, err, rc, "reading the schema version");
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
        if ((rc = pragma(st, fw__store_migrations[v], err)) < 0 ||
            (rc = pragma(st, set, err)) < 0 ||
            (rc = pragma(st, "COMMIT", err)) < 0) {
            if (!sqlite3_get_autocommit(st->db))
                sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return fw_error_set(err, rc, st->path,
                                "migrating the schema from version %d to "
                                "%d: %s",
                                v, v + 1, err ? err->msg : "");
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
    if ((rc = fw__store_query_i64(st, S_MAX_SEQ, 0, &v, err,
                                  "reading the outbox")) < 0)
        return rc;
    st->seq = (uint64_t)v;
    bind_text(st->st[S_META_GET], 1, "outbox_marked");
    if ((rc = fw__store_query_i64(st, S_META_GET, 0, &v, err,
                                  "reading the outbox")) < 0)
        return rc;
    st->marked = (uint64_t)v;
    bind_text(st->st[S_META_GET], 1, "keys_merged");
    if ((rc = fw__store_query_i64(st, S_META_GET, 0, &v, err, "reading meta")) <
        0)
        return rc;
    st->merged = v;
    /* A reading connection looks ids up on disk (lookup_id_ro) and never
     * resolves: no tail, no filter. */
    if (st->opts.read_only)
        return 0;
    /* The tail grows with its keys (doubling, rehashed): its slots are
     * probed at random, so slots sized ahead for a whole merge (16 MiB for
     * a merge_rows of 1M) were all touched by the first keys and were
     * the larger part of a small daemon's memory. */
    if (tail_rehash(&st->tail, 1024) < 0 ||
        fw__store_vec_reserve(&st->tail.keys, 1024) < 0)
        return fw_error_set(err, FW_ENOMEM, st->path, "out of memory");

    size_t nsubj = 0;
    s = st->st[S_TAIL_LOAD];
    sqlite3_bind_int64(s, 1, st->merged);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t fid = sqlite3_column_int64(s, 0);
        const unsigned char *id = sqlite3_column_blob(s, 1);
        if (id == NULL || sqlite3_column_bytes(s, 1) != ID_BYTES)
            continue; /* the CHECK makes this impossible */
        int kind = col_int(s, 2, -1);
        bool open = col_int(s, 3, -1) == FW_ST_OPEN;
        /* Into keys.v only: indexed all at once below. */
        int64_t ik = id_key(id);
        int p = fw__store_vec_push(&st->tail.keys, ik, fid);
        if (p == 0 && resolvable(kind) && open) {
            p = fw__store_vec_push(
                &st->tail.keys,
                fw__store_subject_key(col_int(s, 4, -1),
                                      col_text(s, 5), col_text(s, 6),
                                      col_text(s, 7), col_text(s, 8)),
                fid | TKEY_SUBJ);
            nsubj++;
        }
        if (p == 0 && st->tail.keys.n >= UINT32_MAX - 1)
            p = FW_ELIMIT;
        if (p < 0) {
            sqlite3_reset(s);
            return fw_error_set(err, p, st->path, "loading finding keys: %s",
                                fw_strerror(p));
        }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return DBERR(st, err, rc, "loading finding keys");
    if (st->tail.keys.n > st->tail.nslot / 4 * 3) {
        if (tail_rehash(&st->tail, st->tail.keys.n) < 0)
            return fw_error_set(err, FW_ENOMEM, st->path, "out of memory");
    } else {
        tail_place_all(&st->tail);
    }
    subj_build(&st->tail, nsubj);
    int64_t nkeys;
    if ((rc = fw__store_query_i64(st, S_KEYS_COUNT, 0, &nkeys, err,
                                  "counting finding keys")) < 0)
        return rc;
    /* Twice the keys on disk: a merge past that rebuilds it larger. */
    bloom_build(st, (size_t)nkeys * 2);
    return 0;
}

/* SQLite's memory statistics, kept by default, take a global mutex around
 * every allocation; nothing reads them. Turned off before SQLite starts
 * (once; a process that started it already keeps them). */
static void sqlite_setup(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int fw_store_open(const char *path, const struct fw_store_opts *opts,
                  struct fw_store **out, struct fw_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_setup);
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
        (ret = pragma(st,
                      st->opts.sync_full ? "PRAGMA synchronous = FULL"
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
        rc = sqlite3_prepare_v3(st->db, fw__store_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
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
        /* The tail is not merged: the next open rebuilds it from the
         * findings anyway, and writing it out here took seconds after a
         * million findings. Only the keys of findings resolved since the
         * last merge are deleted, when they are few: a stale key is not
         * wrong (the row decides), but costs a row read on each later
         * record of its subject. */
        if (st->ready && !st->opts.read_only &&
            st->dead.n <= CLOSE_PRUNE_MAX)
            merge(st, true, NULL);
        for (int i = 0; i < S__COUNT; i++)
            sqlite3_finalize(st->st[i]);
        sqlite3_close(st->db);
    }
    tail_fini(&st->tail);
    for (int i = 0; i < NAME_SLOTS; i++)
        free(st->names[i].text);
    free(st->bloom.bits);
    fw__store_vec_fini(&st->dead);
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

/* ---- feeds --------------------------------------------------------------- */

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
    int rc =
        fw__store_query_i64(st, S_FEED_SEEN, 0, &id, err, "looking a feed up");
    if (rc < 0)
        return rc;
    if (feed_id)
        *feed_id = id;
    return id != 0;
}

int fw_store_feed_unmoved(struct fw_store *st, const char *sha256,
                          const char *name, struct fw_error *err)
{
    bind_text(st->st[S_FEED_LAST], 1, sha256);
    bind_text(st->st[S_FEED_LAST], 2, name);
    int64_t yes;
    int rc = fw__store_query_i64(st, S_FEED_LAST, 0, &yes, err,
                                 "looking a feed up");
    return rc < 0 ? rc : yes != 0;
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
    if ((rc = fw__store_tx_begin(st, TX_FEED, err)) < 0)
        return rc;
    int64_t done = 0;
    if ((rc = fw_store_feed_seen(st, feed->sha256, &done, err)) < 0)
        return fw__store_tx_fail(st, rc);
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
    if ((rc = fw__store_exec(st, S_FEED_INS, err, "recording the feed")) < 0)
        return fw__store_tx_fail(st, rc);
    st->feed_id = sqlite3_last_insert_rowid(st->db);
    st->feed_started = feed->started_ms;
    st->now_ms = feed->started_ms;
    return 0;
}

int fw_store_feed_commit(struct fw_store *st,
                         const struct fw_store_feed_end *end,
                         struct fw_error *err)
{
    int rc = fw__store_need_tx(st, true, err);
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
    if ((rc = fw__store_exec(st, S_FEED_DONE, err, "recording the feed")) < 0)
        return fw__store_tx_fail(st, rc);
    st->delta[C_FEEDS + FW_FEED_DONE]++;
    if ((rc = fw__store_tx_commit(st, err)) < 0)
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
        return fw_error_set(err, FW_ESTATE, st->path, "a transaction is open");
    int rc = feed_args(st, feed, err);
    if (rc < 0)
        return rc;
    if (status != FW_FEED_FAILED && status != FW_FEED_DUPLICATE)
        return fw_error_set(err, FW_EINVAL, st->path,
                            "only a failed or duplicate feed is recorded "
                            "alone");
    if ((rc = fw__store_tx_begin(st, TX_OWN, err)) < 0)
        return rc;
    if (status == FW_FEED_DUPLICATE) {
        if ((rc = fw_store_feed_seen(st, feed->sha256, NULL, err)) < 0)
            return fw__store_tx_fail(st, rc);
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
    if ((rc = fw__store_exec(st, S_FEED_REC, err, "recording the feed")) < 0)
        return fw__store_tx_fail(st, rc);
    st->delta[C_FEEDS + status]++;
    return fw__store_tx_commit(st, err);
}

int fw_store_batch_begin(struct fw_store *st, int64_t now_ms,
                         struct fw_error *err)
{
    if (st->tx != TX_NONE)
        return fw_error_set(err, FW_ESTATE, st->path,
                            "a transaction is already open");
    int rc = fw__store_tx_begin(st, TX_BATCH, err);
    if (rc == 0)
        st->now_ms = now_ms;
    return rc;
}

int fw_store_batch_commit(struct fw_store *st, struct fw_error *err)
{
    if (st->tx != TX_BATCH)
        return fw_error_set(err, FW_ESTATE, st->path, "no batch open");
    int rc = fw__store_tx_commit(st, err);
    if (rc == 0)
        maybe_merge(st);
    return rc;
}
