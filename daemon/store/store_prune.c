/* Retention (store.h, fw_store_prune_resolved): resolved findings resolved
 * long enough ago are deleted with their outbox events and their keys, so
 * the store does not grow without bound. Deletes only what the outbox file
 * already holds, and never the newest finding or event, whose numbers the
 * next ones count from. Knows nothing of ages in days or of the spool. */
#include "store_int.h"

#include <stdlib.h>

/* Rows of one transaction: the worker comes back to the feeds after each
 * (a few tens of ms). */
#define PRUNE_BATCH 5000

/* Resolved before ?1, every event written to the outbox file (seq <= ?2),
 * not the newest finding or event, after the cursor ?3, at most ?4. */
static const char pick_sql[] =
    "SELECT fid, id, kind, rkind, region, dept, project, task FROM findings"
    " WHERE fid > ?3 AND state = 1 AND resolved_at < ?1 AND seq <= ?2"
    " AND fid < (SELECT max(fid) FROM findings)"
    " AND seq < (SELECT max(seq) FROM outbox)"
    " ORDER BY fid LIMIT ?4";

/* The statements of a prune, prepared when it starts and finalised at its
 * end: it runs once a day, and keeping them prepared between would hold
 * memory for nothing. */
struct prune {
    sqlite3_stmt *pick, *mark, *del_out, *del_f, *clear;
    int64_t *fids;
    size_t n;
};

static int prepare(struct fw_store *st, struct prune *p, struct fw_error *err)
{
    static const char mark_sql[] =
        "INSERT OR IGNORE INTO temp.fw_prune(fid) VALUES (?1)";
    static const char del_out_sql[] =
        "DELETE FROM outbox WHERE fid IN (SELECT fid FROM temp.fw_prune)";
    static const char del_f_sql[] =
        "DELETE FROM findings WHERE fid IN (SELECT fid FROM temp.fw_prune)";
    static const char clear_sql[] = "DELETE FROM temp.fw_prune";
    int rc = sqlite3_exec(st->db,
                          "CREATE TEMP TABLE IF NOT EXISTS fw_prune("
                          "fid INTEGER PRIMARY KEY)", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(st->db, pick_sql, -1, &p->pick, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(st->db, mark_sql, -1, &p->mark, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(st->db, del_out_sql, -1, &p->del_out, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(st->db, del_f_sql, -1, &p->del_f, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(st->db, clear_sql, -1, &p->clear, NULL);
    if (rc != SQLITE_OK)
        return DBERR(st, err, rc, "preparing the retention");
    if ((p->fids = malloc(PRUNE_BATCH * sizeof *p->fids)) == NULL)
        return fw_error_set(err, FW_ENOMEM, st->path, "out of memory");
    return 0;
}

static void finish(struct prune *p)
{
    sqlite3_finalize(p->pick);
    sqlite3_finalize(p->mark);
    sqlite3_finalize(p->del_out);
    sqlite3_finalize(p->del_f);
    sqlite3_finalize(p->clear);
    free(p->fids);
}

static int step_done(struct fw_store *st, sqlite3_stmt *s,
                     struct fw_error *err, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : DBERR(st, err, rc, what);
}

/* Deletes a key of a row about to go: the merged ones are on disk; a key
 * still in the tail is taken out of it after the commit (drop_from_tail). */
static int del_key(struct fw_store *st, int64_t k, int64_t fid,
                   struct fw_error *err)
{
    sqlite3_stmt *s = st->st[S_KEY_DEL]; /* the row is resolved: it goes */
    sqlite3_bind_int64(s, 1, k);
    sqlite3_bind_int64(s, 2, fid);
    return fw__store_exec(st, S_KEY_DEL, err, "pruning finding keys");
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool gone(const struct prune *p, int64_t fid)
{
    return bsearch(&fid, p->fids, p->n, sizeof *p->fids, cmp_i64) != NULL;
}

/* After the commit: the tail's and the dead list's entries of the deleted
 * rows go, and the tail's slots are placed again (as store.c's tail_place
 * does). A stale entry would only cost a row read, but the next merge would
 * write it to finding_keys for good. */
static void drop_from_tail(struct fw_store *st, const struct prune *p)
{
    struct tail *t = &st->tail;
    size_t w = 0;
    for (size_t i = 0; i < t->keys.n; i++)
        if (!gone(p, tkey_fid(&t->keys.v[i])))
            t->keys.v[w++] = t->keys.v[i];
    if (w != t->keys.n && t->nslot) {
        t->keys.n = w;
        memset(t->slot, 0, t->nslot * sizeof *t->slot);
        for (size_t i = 0; i < w; i++) {
            int64_t k = t->keys.v[i].k;
            size_t j = slot_of(k, t->nslot);
            while (t->slot[j])
                j = (j + 1) & (t->nslot - 1);
            t->slot[j] = tail_fp(k) | (uint64_t)(i + 1);
        }
    }
    t->keys.n = w;
    w = 0;
    for (size_t i = 0; i < st->dead.n; i++)
        if (!gone(p, st->dead.v[i].fid))
            st->dead.v[w++] = st->dead.v[i];
    st->dead.n = w;
}

/* One batch in one transaction; *more when a full batch was taken. */
static int batch(struct fw_store *st, struct prune *p, int64_t before_ms,
                 int64_t *cursor, int64_t *pruned, bool *more,
                 struct fw_error *err)
{
    int rc = fw__store_tx_begin(st, TX_OWN, err);
    if (rc < 0)
        return rc;
    p->n = 0;
    if ((rc = step_done(st, p->clear, err, "pruning")) < 0)
        return fw__store_tx_fail(st, rc);
    sqlite3_bind_int64(p->pick, 1, before_ms);
    sqlite3_bind_int64(p->pick, 2, (int64_t)st->marked);
    sqlite3_bind_int64(p->pick, 3, *cursor);
    sqlite3_bind_int64(p->pick, 4, PRUNE_BATCH);
    int src;
    while ((src = sqlite3_step(p->pick)) == SQLITE_ROW) {
        int64_t fid = sqlite3_column_int64(p->pick, 0);
        const unsigned char *id = sqlite3_column_blob(p->pick, 1);
        int kind = col_int(p->pick, 2, -1);
        p->fids[p->n++] = fid;
        *cursor = fid;
        if (id && sqlite3_column_bytes(p->pick, 1) == ID_BYTES &&
            (rc = del_key(st, id_key(id), fid, err)) < 0)
            break;
        if (resolvable(kind) &&
            (rc = del_key(st, fw__store_subject_key(
                                  col_int(p->pick, 3, -1),
                                  col_text(p->pick, 4), col_text(p->pick, 5),
                                  col_text(p->pick, 6), col_text(p->pick, 7)),
                          fid, err)) < 0)
            break;
        sqlite3_bind_int64(p->mark, 1, fid);
        if ((rc = step_done(st, p->mark, err, "pruning")) < 0)
            break;
        if (kind >= 0 && kind < FW__FK_COUNT)
            st->delta[C_FINDINGS + kind * 2 + FW_ST_RESOLVED]--;
    }
    sqlite3_reset(p->pick);
    if (rc == 0 && src != SQLITE_DONE && src != SQLITE_ROW)
        rc = DBERR(st, err, src, "choosing findings to prune");
    if (rc == 0 && p->n > 0)
        rc = step_done(st, p->del_out, err, "pruning outbox events");
    if (rc == 0 && p->n > 0)
        rc = step_done(st, p->del_f, err, "pruning findings");
    if (rc < 0)
        return fw__store_tx_fail(st, rc);
    if ((rc = fw__store_tx_commit(st, err)) < 0)
        return rc;
    qsort(p->fids, p->n, sizeof *p->fids, cmp_i64);
    drop_from_tail(st, p);
    *pruned += (int64_t)p->n;
    *more = p->n == PRUNE_BATCH;
    return 0;
}

int fw_store_prune_resolved(struct fw_store *st, int64_t before_ms,
                            int64_t *pruned, struct fw_error *err)
{
    *pruned = 0;
    if (st->tx != TX_NONE)
        return fw_error_set(err, FW_ESTATE, st->path,
                            "pruning inside a transaction");
    if (st->opts.read_only)
        return fw_error_set(err, FW_ESTATE, st->path,
                            "pruning through a read-only handle");
    struct prune p = {0};
    int rc = prepare(st, &p, err);
    int64_t cursor = 0;
    bool more = true;
    while (rc == 0 && more)
        rc = batch(st, &p, before_ms, &cursor, pruned, &more, err);
    finish(&p);
    return rc;
}
