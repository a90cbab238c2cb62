/* The store's writes inside a transaction (store.h): findings with their
 * dedupe, reopening and outbox events, resolution by subject, rejects, task
 * records, and reading task records back. Shares the handle's internals
 * through store_int.h; everything here runs inside one transaction. */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fundwatch/buf.h"
#include "fundwatch/reader.h"

/* ---- findings ------------------------------------------------------------ */

/* A reading connection (the API's) sees rows another connection wrote
 * after it opened, but not that connection's tail or bloom filter: it asks
 * finding_keys, then the findings not merged into it yet (a scan of the
 * newest rows). */
static int lookup_id_ro(struct fw_store *st, const unsigned char *id,
                        int64_t *fid, int *state, struct fw_error *err)
{
    sqlite3_stmt *q[2] = {st->st[S_KEY_FIND], st->st[S_FID_UNMERGED]};
    *fid = 0;
    for (int i = 0; i < 2 && *fid == 0; i++) {
        int n = 1;
        if (i == 0)
            sqlite3_bind_int64(q[i], n++, id_key(id));
        sqlite3_bind_blob(q[i], n, id, ID_BYTES, SQLITE_STATIC);
        int rc = sqlite3_step(q[i]);
        if (rc == SQLITE_ROW) {
            *fid = sqlite3_column_int64(q[i], 0);
            *state = col_int(q[i], 1, -1);
        }
        sqlite3_reset(q[i]);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return DBERR(st, err, rc, "looking a finding up");
    }
    return 0;
}

/* Finds the row of an id: the tail first, then finding_keys. *fid = 0 when
 * none; *state = its state. */
int fw__store_lookup_id(struct fw_store *st, const unsigned char *id,
                        int64_t *fid, int *state, struct fw_error *err)
{
    if (st->opts.read_only)
        return lookup_id_ro(st, id, fid, state, err);
    int64_t k = id_key(id);
    const struct tkey *ent;
    *fid = 0;
    bloom_prefetch(&st->bloom, k); /* its miss overlaps the tail's */
    TAIL_EACH (&st->tail, k, ent) {
        int64_t cand = tkey_fid(ent);
        sqlite3_stmt *s = st->st[S_FID_ID];
        sqlite3_bind_int64(s, 1, cand);
        sqlite3_bind_blob(s, 2, id, ID_BYTES, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            *fid = cand;
            *state = col_int(s, 0, -1);
        }
        sqlite3_reset(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return DBERR(st, err, rc, "looking a finding up");
        if (*fid)
            return 0;
    }
    if (!disk_maybe(&st->bloom, k))
        return 0;
    sqlite3_stmt *s = st->st[S_KEY_FIND];
    sqlite3_bind_int64(s, 1, k);
    sqlite3_bind_blob(s, 2, id, ID_BYTES, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *fid = sqlite3_column_int64(s, 0);
        *state = col_int(s, 1, -1);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return DBERR(st, err, rc, "looking a finding up");
    return 0;
}

/* The length of the evidence before its parameters (',"params":' to the
 * closing brace), which are the same for every finding of a rule in a
 * generation and are stored once, in names (schema 5); the whole length
 * when it does not end so. The store's reads put the two together again,
 * prefix || ',"params":' || params || '}': the same bytes whichever
 * ',"params":' of the text is taken, so the last is. */
static size_t evidence_cut(const char *ev, size_t n)
{
    static const char key[] = ",\"params\":";
    size_t k = sizeof key - 1;
    if (n < k + 1 || ev[n - 1] != '}')
        return n;
    for (size_t i = n - 1 - k + 1; i-- > 0;)
        if (ev[i] == ',' && memcmp(ev + i, key, k) == 0)
            return i;
    return n;
}

/* Binds ?1..?19 and ?24..?29 of S_F_INS and S_F_REOPEN; names the
 * repeated strings. */
static int bind_finding(struct fw_store *st, sqlite3_stmt *s,
                        const unsigned char *id, const struct fw_finding *f,
                        int rkind, struct fw_error *err)
{
    int64_t policy, version, rule, feed, title, source;
    int rc;
    unsigned *hint = st->name_hint;
    if ((rc = fw__store_intern(st, f->policy, &hint[0], &policy, err)) < 0 ||
        (rc = fw__store_intern(st, f->policy_version, &hint[1], &version,
                               err)) < 0 ||
        (rc = fw__store_intern(st, f->rule, &hint[2], &rule, err)) < 0 ||
        (rc = fw__store_intern(st, f->feed, &hint[3], &feed, err)) < 0 ||
        (rc = fw__store_intern(st, f->title, &hint[4], &title, err)) < 0 ||
        (rc = fw__store_intern(st, f->rule_source, &hint[5], &source,
                               err)) < 0)
        return rc;
    size_t n = f->evidence ? strlen(f->evidence) : 0;
    size_t cut = f->evidence ? evidence_cut(f->evidence, n) : 0;
    int64_t params = 0;
    if (cut < n) {
        size_t k = cut + sizeof ",\"params\":" - 1;
        fw_buf_reset(&st->tmp);
        if (fw_buf_append(&st->tmp, f->evidence + k, n - 1 - k) < 0 ||
            fw_buf_putc(&st->tmp, '\0') < 0)
            return fw_error_set(err, FW_ENOMEM, st->path, "out of memory");
        if ((rc = fw__store_intern(st, st->tmp.p, &hint[6], &params, err)) <
            0)
            return rc;
    }
    bind_i64_or_null(s, 24, title != 0, title);
    bind_i64_or_null(s, 25, source != 0, source);
    bind_text(s, 26, f->dept_name);
    bind_text(s, 27, f->project_name);
    if (f->evidence)
        bind_textn(s, 28, f->evidence, cut);
    else
        sqlite3_bind_null(s, 28);
    bind_i64_or_null(s, 29, params != 0, params);
    sqlite3_bind_blob(s, 1, id, ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, (int)f->kind);
    bind_i64_or_null(s, 3, f->level != FW_LV_NONE, f->level);
    bind_i64_or_null(s, 4, policy != 0, policy);
    bind_i64_or_null(s, 5, version != 0, version);
    bind_i64_or_null(s, 6, rule != 0, rule);
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
    bind_i64_or_null(s, 17, feed != 0, feed);
    sqlite3_bind_int64(s, 18, (int64_t)f->line);
    bind_i64_or_null(s, 19, rkind >= 0, rkind);
    return 0;
}

int fw__store_events_flush(struct fw_store *st, struct fw_error *err)
{
    size_t n = st->n_ev, i = 0;
    st->n_ev = 0;
    while (i < n) {
        bool many = n - i == EVENTS_PER_INSERT;
        int which = many ? S_OUTBOX_INS_MANY : S_OUTBOX_INS;
        sqlite3_stmt *s = st->st[which];
        for (int j = 0; j < (many ? EVENTS_PER_INSERT : 1); j++, i++) {
            sqlite3_bind_int64(s, 3 * j + 1, st->ev[i].seq);
            sqlite3_bind_int64(s, 3 * j + 2, st->ev[i].fid);
            sqlite3_bind_int(s, 3 * j + 3, st->ev[i].event);
        }
        int rc = fw__store_exec(st, which, err, "adding an outbox event");
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The outbox row of event ev of fid, at st->seq: held back, inserted with
 * the next EVENTS_PER_INSERT - 1 or at commit. */
static int new_event(struct fw_store *st, int64_t fid,
                     enum fw_store_event ev, struct fw_error *err)
{
    int rc = 0;
    st->ev[st->n_ev++] = (struct outbox_row){(int64_t)st->seq, fid, (int)ev};
    if (st->n_ev == EVENTS_PER_INSERT)
        rc = fw__store_events_flush(st, err);
    if (rc == 0 && ev <= FW_EV_REOPENED)
        st->events++;
    st->last_event = ev;
    return rc;
}

int fw_store_finding_add(struct fw_store *st, const struct fw_finding *f,
                         int rkind, uint64_t *seq, struct fw_error *err)
{
    if (seq)
        *seq = 0;
    st->last_event = -1;
    int rc = fw__store_need_tx(st, false, err);
    if (rc < 0)
        return rc;
    unsigned char id[ID_BYTES];
    if (!fw__store_id_parse(f->id, id) || (unsigned)f->kind >= FW__FK_COUNT ||
        (unsigned)f->level >= FW__LV_COUNT || rkind < -1 ||
        rkind >= FW__RK_COUNT)
        return fw__store_tx_fail(st,
                                 fw_error_set(err, FW_EINVAL, st->path,
                                              "a finding with a bad id, kind, "
                                              "level or record kind"));
    int64_t fid = 0;
    int state = -1;
    if ((rc = fw__store_lookup_id(st, id, &fid, &state, err)) < 0)
        return fw__store_tx_fail(st, rc);
    st->fired[f->kind]++;
    sqlite3_stmt *s;
    if (fid && state == FW_ST_OPEN) {
        s = st->st[S_F_SEEN];
        sqlite3_bind_int64(s, 1, fid);
        sqlite3_bind_int64(s, 2, st->now_ms);
        bind_i64_or_null(s, 3, st->feed_id != 0, st->feed_id);
        if ((rc = fw__store_exec(st, S_F_SEEN, err, "updating a finding")) < 0)
            return fw__store_tx_fail(st, rc);
        return 0;
    }
    st->seq++;
    int64_t subj =
        fw__store_subject_key(rkind, f->region, f->dept, f->project, f->task);
    if (fid == 0 && resolvable(f->kind)) {
        /* its slot's miss overlaps the INSERT */
        tail_prefetch(&st->tail, subj);
        bloom_prefetch(&st->tail.subj, subj);
    }
    if (fid == 0) {
        s = st->st[S_F_INS];
        if ((rc = bind_finding(st, s, id, f, rkind, err)) < 0)
            return fw__store_tx_fail(st, rc);
        sqlite3_bind_int64(s, 20, st->now_ms);
        bind_i64_or_null(s, 21, st->feed_id != 0, st->feed_id);
        sqlite3_bind_int64(s, 22, (int64_t)st->seq);
        if ((rc = fw__store_exec(st, S_F_INS, err, "adding a finding")) < 0)
            return fw__store_tx_fail(st, rc);
        fid = sqlite3_last_insert_rowid(st->db);
        const int64_t ik = id_key(id);
        if ((rc = fw__store_tail_push(&st->tail, ik, fid)) < 0 ||
            (resolvable(f->kind) &&
             (rc = fw__store_tail_push(&st->tail, subj, fid | TKEY_SUBJ)) <
                 0))
            return fw__store_tx_fail(st, fw_error_set(err, rc, st->path,
                                                      "adding a finding: %s",
                                                      fw_strerror(rc)));
        st->delta[C_FINDINGS + f->kind * 2 + FW_ST_OPEN]++;
        if ((rc = new_event(st, fid, FW_EV_OPENED, err)) < 0)
            return fw__store_tx_fail(st, rc);
    } else {
        /* Resolved: reopens. Its old kind is the one counted resolved. */
        s = st->st[S_F_GET];
        sqlite3_bind_int64(s, 1, fid);
        int old = -1;
        if ((rc = sqlite3_step(s)) == SQLITE_ROW)
            old = col_int(s, 2, -1);
        sqlite3_reset(s);
        if (rc != SQLITE_ROW)
            return fw__store_tx_fail(st,
                                     DBERR(st, err, rc, "reopening a finding"));
        s = st->st[S_F_REOPEN];
        if ((rc = bind_finding(st, s, id, f, rkind, err)) < 0)
            return fw__store_tx_fail(st, rc);
        sqlite3_bind_int64(s, 20, st->now_ms);
        bind_i64_or_null(s, 21, st->feed_id != 0, st->feed_id);
        sqlite3_bind_int64(s, 22, (int64_t)st->seq);
        sqlite3_bind_int64(s, 23, fid);
        if ((rc = fw__store_exec(st, S_F_REOPEN, err, "reopening a finding")) <
            0)
            return fw__store_tx_fail(st, rc);
        /* Its subject key may have been pruned: written straight to
         * finding_keys (reopening is rare), so a restart finds it. */
        if (resolvable(f->kind)) {
            s = st->st[S_KEY_INS];
            sqlite3_bind_int64(s, 1, subj);
            sqlite3_bind_int64(s, 2, fid);
            if ((rc = fw__store_exec(st, S_KEY_INS, err,
                                     "reopening a finding")) < 0)
                return fw__store_tx_fail(st, rc);
            bloom_add(&st->bloom, subj);
        }
        if (old >= 0)
            st->delta[C_FINDINGS + old * 2 + FW_ST_RESOLVED]--;
        st->delta[C_FINDINGS + f->kind * 2 + FW_ST_OPEN]++;
        if ((rc = new_event(st, fid, FW_EV_REOPENED, err)) < 0)
            return fw__store_tx_fail(st, rc);
    }
    if (seq)
        *seq = st->seq;
    return 0;
}

int fw_store_finding_ack(struct fw_store *st, const char *id_hex,
                         const char *by, const char *note, int64_t now_ms,
                         uint64_t *seq, struct fw_error *err)
{
    if (seq)
        *seq = 0;
    unsigned char id[ID_BYTES];
    if (!fw__store_id_parse(id_hex, id))
        return fw_error_set(err, FW_ENOENT, st->path, "no finding %.64s",
                            id_hex ? id_hex : "");
    if (st->tx != TX_NONE)
        return fw_error_set(err, FW_ESTATE, st->path,
                            "an acknowledgement is its own transaction");
    int rc = fw__store_tx_begin(st, TX_OWN, err);
    if (rc < 0)
        return rc;
    int64_t fid = 0;
    int state = -1;
    if ((rc = fw__store_lookup_id(st, id, &fid, &state, err)) < 0)
        return fw__store_tx_fail(st, rc);
    if (fid == 0) {
        fw__store_tx_fail(st, FW_ENOENT);
        return fw_error_set(err, FW_ENOENT, st->path, "no finding %s", id_hex);
    }
    if (state != FW_ST_OPEN) {
        fw__store_tx_fail(st, FW_ESTATE);
        return fw_error_set(err, FW_ESTATE, st->path, "finding %s is resolved: "
                            "there is nothing to acknowledge", id_hex);
    }
    /* once per opening: a reopening clears it */
    sqlite3_stmt *s = st->st[S_F_GET];
    sqlite3_bind_int64(s, 1, fid);
    rc = sqlite3_step(s);
    bool acked = rc == SQLITE_ROW && sqlite3_column_type(s, 33) != SQLITE_NULL;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW)
        return fw__store_tx_fail(st, DBERR(st, err, rc,
                                           "acknowledging a finding"));
    if (acked) {
        fw__store_tx_fail(st, FW_EEXIST);
        return fw_error_set(err, FW_EEXIST, st->path, "finding %s is "
                            "acknowledged already; it can be again once it "
                            "reopens", id_hex);
    }
    st->seq++;
    s = st->st[S_ACK];
    sqlite3_bind_int64(s, 1, fid);
    bind_text(s, 2, by);
    sqlite3_bind_int64(s, 3, now_ms);
    bind_text(s, 4, note ? note : "");
    sqlite3_bind_int64(s, 5, (int64_t)st->seq);
    if ((rc = fw__store_exec(st, S_ACK, err, "acknowledging a finding")) < 0 ||
        (rc = new_event(st, fid, FW_EV_ACKNOWLEDGED, err)) < 0)
        return fw__store_tx_fail(st, rc);
    uint64_t at = st->seq;
    if ((rc = fw__store_tx_commit(st, err)) < 0)
        return rc;
    if (seq)
        *seq = at;
    return 0;
}

struct cand {
    int64_t fid;
    unsigned char id[ID_BYTES];
    int kind;
};

static void bind_subject(sqlite3_stmt *s, const struct fw_store_subject *subj)
{
    sqlite3_bind_int(s, 2, (int)subj->kind);
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
        x->kind = col_int(s, 2, -1);
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
    int rc = fw__store_need_tx(st, false, err);
    if (rc < 0)
        return rc;
    if ((unsigned)subj->kind >= FW__RK_COUNT)
        return fw__store_tx_fail(
            st, fw_error_set(err, FW_EINVAL, st->path,
                             "a subject with a bad record kind"));
    int64_t k = fw__store_subject_key((int)subj->kind, subj->region, subj->dept,
                                      subj->project, subj->task);
    /* The common case, a subject with nothing open: two cache lines,
     * loaded together, the first of a small filter. */
    bloom_prefetch(&st->tail.subj, k);
    bloom_prefetch(&st->bloom, k);
    bool in_tail = bloom_maybe(&st->tail.subj, k) && tail_maybe(&st->tail, k);
    bool on_disk = disk_maybe(&st->bloom, k);
    if (!in_tail && !on_disk)
        return 0;
    struct cand *c = NULL;
    size_t n = 0, cap = 0;
    unsigned char small[8][ID_BYTES], (*fired)[ID_BYTES] = small;
    if (n_ids > 8 && (fired = malloc(n_ids * ID_BYTES)) == NULL)
        return fw__store_tx_fail(
            st, fw_error_set(err, FW_ENOMEM, st->path, "out of memory"));
    size_t nf = 0;
    for (size_t j = 0; j < n_ids; j++)
        if (fw__store_id_parse(ids[j], fired[nf]))
            nf++;
    const struct tkey *ent;
    if (in_tail)
        TAIL_EACH (&st->tail, k, ent) {
            /* A finding of the tail that fired now needs no row read: its
             * id key says so (a 64-bit collision would only miss a
             * resolution). */
            bool now_fired = false;
            for (size_t j = 0; j < nf && !now_fired; j++)
                now_fired = tail_fired(&st->tail, ent, id_key(fired[j]));
            if (now_fired)
                continue;
            sqlite3_stmt *s = st->st[S_SUBJ_FID];
            sqlite3_bind_int64(s, 1, tkey_fid(ent));
            bind_subject(s, subj);
            if ((rc = collect(st, S_SUBJ_FID, &c, &n, &cap, err)) < 0)
                goto done;
        }
    sqlite3_stmt *s = st->st[S_SUBJ_DISK];
    if (on_disk) {
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
        sqlite3_bind_int64(s, 3, (int64_t)st->seq + 1);
        if ((rc = fw__store_exec(st, S_RESOLVE, err, "resolving a finding")) <
            0)
            goto done;
        bool changed = sqlite3_changes(st->db) == 1;
        if (changed) {
            /* its resolved event, at the seq the row now names */
            st->seq++;
            if ((rc = new_event(st, c[i].fid, FW_EV_RESOLVED, err)) < 0)
                goto done;
        }
        if (changed && c[i].kind >= 0) {
            st->delta[C_FINDINGS + c[i].kind * 2 + FW_ST_OPEN]--;
            st->delta[C_FINDINGS + c[i].kind * 2 + FW_ST_RESOLVED]++;
            st->resolved++;
            if (resolved)
                (*resolved)++;
            if ((rc = fw__store_vec_push(&st->dead, k, c[i].fid)) < 0) {
                rc = fw_error_set(err, rc, st->path, "out of memory");
                goto done;
            }
        }
    }
done:
    free(c);
    if (fired != small)
        free(fired);
    return rc < 0 ? fw__store_tx_fail(st, rc) : 0;
}

int fw_store_reject_add(struct fw_store *st, uint64_t line, const char *reason,
                        struct fw_error *err)
{
    int rc = fw__store_need_tx(st, true, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->st[S_REJ_INS];
    sqlite3_bind_int64(s, 1, st->feed_id);
    sqlite3_bind_int64(s, 2, (int64_t)line);
    bind_text(s, 3, reason ? reason : "");
    if ((rc = fw__store_exec(st, S_REJ_INS, err, "adding a reject")) < 0)
        return fw__store_tx_fail(st, rc);
    st->delta[C_REJECTS]++;
    return 0;
}

/* ---- task records -------------------------------------------------------- */

/* The record as one NDJSON line the reader reads back (fw_record_json_flat). */
static int task_json(const struct fw_record *rec, struct fw_buf *out)
{
    fw_buf_reset(out);
    fw_record_json_flat(rec, out);
    return fw_buf_putc(out, '\n');
}

int fw_store_task_put(struct fw_store *st, const struct fw_record *rec,
                      struct fw_error *err)
{
    int rc = fw__store_need_tx(st, true, err);
    if (rc < 0)
        return rc;
    if (rec->kind != FW_RK_TASK || !fw_record_has(rec, FW_F_REGION) ||
        !fw_record_has(rec, FW_F_TASK))
        return fw__store_tx_fail(
            st, fw_error_set(err, FW_EINVAL, st->path,
                             "only a task record with a region "
                             "and a task is kept"));
    const struct fw_str *reg = &rec->str[FW_F_REGION],
                        *task = &rec->str[FW_F_TASK];
    struct fw_str dept = fw_record_has(rec, FW_F_DEPT) ? rec->str[FW_F_DEPT]
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
        return fw__store_tx_fail(st, DBERR(st, err, rc, "looking a task up"));
    if (later)
        return 0; /* the stored snapshot is newer */
    if (task_json(rec, &st->tmp) < 0)
        return fw__store_tx_fail(
            st, fw_error_set(err, FW_ENOMEM, st->path, "out of memory"));
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
    if ((rc = fw__store_exec(st, S_TASK_PUT, err, "keeping a task record")) < 0)
        return fw__store_tx_fail(st, rc);
    if (!exists)
        st->delta[C_TASKS]++;
    return 0;
}

int fw_store_task_dates(struct fw_store *st, fw_store_task_date_cb cb,
                        void *ud, struct fw_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT region, dept, task, as_of FROM tasks",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return DBERR(st, err, rc, "reading the tasks' dates");
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        bool has = sqlite3_column_type(s, 3) != SQLITE_NULL;
        if (cb(ud, (const char *)sqlite3_column_text(s, 0),
               (const char *)sqlite3_column_text(s, 1),
               (const char *)sqlite3_column_text(s, 2), has,
               has ? (int32_t)sqlite3_column_int64(s, 3) : 0)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return DBERR(st, err, rc, "reading the tasks' dates");
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
    static const struct fw_reader_cb rcb = {task_rec, task_reject, NULL};
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct task_read t = {
            .cb = cb, .ud = ud, .line = (uint64_t)sqlite3_column_int64(s, 5)};
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
