/* The store's reads (store.h): one finding, queries for the HTTP API,
 * counters, the outbox's pending events and mark, policy generations, the
 * consistency checks the tests run, and the online backup. Shares the handle's internals
 * through store_int.h. */
#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fundwatch/buf.h"

static void id_format(const unsigned char *id, char out[FW_ID_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < ID_BYTES; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[FW_ID_HEX] = '\0';
}
/* ---- reading findings ---------------------------------------------------- */

/* Fills sf from the FCOLS columns starting at 0; strings point into s. */
static void decode(sqlite3_stmt *s, struct fw_store_finding *sf)
{
    memset(sf, 0, sizeof *sf);
    struct fw_finding *f = &sf->f;
    sf->rowid = sqlite3_column_int64(s, 0);
    const unsigned char *id = sqlite3_column_blob(s, 1);
    if (id && sqlite3_column_bytes(s, 1) == ID_BYTES)
        id_format(id, f->id);
    int k = col_int(s, 2, FW_FK_ERROR);
    f->kind = k >= 0 && k < FW__FK_COUNT ? (enum fw_fkind)k : FW_FK_ERROR;
    int l = col_int(s, 3, FW_LV_NONE);
    f->level = l > 0 && l < FW__LV_COUNT ? (enum fw_level)l : FW_LV_NONE;
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
    int rk = col_int(s, 19, -1);
    sf->rkind = rk >= 0 && rk < FW__RK_COUNT ? rk : -1;
    sf->state = col_int(s, 20, 0) == FW_ST_RESOLVED ? FW_ST_RESOLVED
                                                    : FW_ST_OPEN;
    sf->first_seen = sqlite3_column_int64(s, 21);
    sf->last_seen = sqlite3_column_int64(s, 22);
    sf->resolved_at = sqlite3_column_int64(s, 23);
    sf->first_feed = sqlite3_column_int64(s, 24);
    sf->last_feed = sqlite3_column_int64(s, 25);
    sf->seq = (uint64_t)sqlite3_column_int64(s, 26);
    f->title = col_text(s, 27);
    f->rule_source = col_text(s, 28);
    f->dept_name = col_text(s, 29);
    f->project_name = col_text(s, 30);
    f->evidence = col_text(s, 31);
    sf->ack_by = col_text(s, 32);
    sf->ack_at = sqlite3_column_int64(s, 33);
    sf->ack_note = col_text(s, 34);
}

/* Copies the strings of sf into st->arena so they outlive the statement. */
static int keep_strings(struct fw_store *st, struct fw_store_finding *sf)
{
    const char **p[] = {
        &sf->f.policy, &sf->f.policy_version, &sf->f.rule, &sf->f.region,
        &sf->f.dept,   &sf->f.project,        &sf->f.task, &sf->f.ratio,
        &sf->f.grade,  &sf->f.message,        &sf->f.feed, &sf->f.title,
        &sf->f.rule_source, &sf->f.dept_name, &sf->f.project_name,
        &sf->f.evidence, &sf->ack_by, &sf->ack_note};
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
    if (!fw__store_id_parse(id, bin))
        return fw_error_set(err, FW_EINVAL, st->path,
                            "a finding id is 32 lowercase hex digits");
    int64_t fid;
    int state;
    int rc = fw__store_lookup_id(st, bin, &fid, &state, err);
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
    bind_text(s, 2,
              q->region_prefix && *q->region_prefix ? q->region_prefix : NULL);
    bind_i64_or_null(s, 3, q->kind >= 0, q->kind);
    bind_i64_or_null(s, 4, q->level > 0, q->level);
    bind_text(s, 5, q->rule && *q->rule ? q->rule : NULL);
    bind_i64_or_null(s, 6,
                     q->state == FW_ST_OPEN || q->state == FW_ST_RESOLVED,
                     q->state);
    bind_i64_or_null(s, 7, q->since_ms > 0, q->since_ms);
    sqlite3_bind_int64(s, 8, (int64_t)limit + 1); /* one more: is there? */
    bind_text(s, 9, q->dept && *q->dept ? q->dept : NULL);
    bind_i64_or_null(s, 10, q->has_from, q->as_of_from);
    bind_i64_or_null(s, 11, q->has_to, q->as_of_to);
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

/* ---- outbox -------------------------------------------------------------- */

int fw_store_outbox_pending(struct fw_store *st, uint64_t after_seq,
                            fw_store_finding_cb cb, void *ud,
                            struct fw_error *err)
{
    sqlite3_stmt *s = st->st[S_PENDING];
    if (st->tx != TX_NONE)
        return fw_error_set(err, FW_ESTATE, st->path,
                            "the outbox is read between transactions: its "
                            "events are the committed ones");
    if (sqlite3_stmt_busy(s))
        return fw_error_set(err, FW_ESTATE, st->path,
                            "fw_store_outbox_pending called from its "
                            "callback");
    sqlite3_bind_int64(s, 1, (int64_t)after_seq);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct fw_store_finding sf;
        decode(s, &sf);
        sf.seq = (uint64_t)sqlite3_column_int64(s, 35);
        sf.event = col_int(s, 36, FW_EV_OPENED);
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
    int rc = fw__store_exec(st, S_MARK, err, "marking the outbox");
    if (rc < 0)
        return st->tx != TX_NONE ? fw__store_tx_fail(st, rc) : rc;
    st->marked = seq; /* inside a transaction, a rollback restores it */
    return 0;
}

int fw_store_outbox_marked(struct fw_store *st, uint64_t *seq,
                           struct fw_error *err)
{
    bind_text(st->st[S_META_GET], 1, "outbox_marked");
    int64_t v;
    int rc =
        fw__store_query_i64(st, S_META_GET, 0, &v, err, "reading the outbox");
    if (rc < 0)
        return rc;
    st->marked = (uint64_t)v;
    *seq = (uint64_t)v;
    return 0;
}

int fw_store_outbox_mark_at(struct fw_store *st, uint64_t seq, uint64_t bytes,
                            struct fw_error *err)
{
    bool own = st->tx == TX_NONE;
    int rc;
    if (own && (rc = fw__store_tx_begin(st, TX_OWN, err)) < 0)
        return rc;
    if ((rc = fw_store_outbox_mark(st, seq, err)) < 0) {
        if (own && st->tx != TX_NONE)
            return fw__store_tx_fail(st, rc);
        return rc;
    }
    sqlite3_stmt *s = st->st[S_META_SET];
    bind_text(s, 1, "outbox_bytes");
    sqlite3_bind_int64(s, 2, (int64_t)bytes);
    if ((rc = fw__store_exec(st, S_META_SET, err, "marking the outbox")) < 0)
        return fw__store_tx_fail(st, rc);
    if (own && (rc = fw__store_tx_commit(st, err)) < 0)
        return rc;
    return 0;
}

int fw_store_outbox_mark_file(struct fw_store *st, uint64_t seq,
                              uint64_t bytes, uint64_t dev, uint64_t ino,
                              struct fw_error *err)
{
    bool own = st->tx == TX_NONE;
    int rc;
    if (own && (rc = fw__store_tx_begin(st, TX_OWN, err)) < 0)
        return rc;
    if ((rc = fw_store_outbox_mark_at(st, seq, bytes, err)) < 0)
        return st->tx != TX_NONE ? fw__store_tx_fail(st, rc) : rc;
    static const char *const keys[2] = {"outbox_dev", "outbox_ino"};
    const uint64_t vals[2] = {dev, ino};
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *s = st->st[S_META_SET];
        bind_text(s, 1, keys[i]);
        sqlite3_bind_int64(s, 2, (int64_t)vals[i]);
        if ((rc = fw__store_exec(st, S_META_SET, err,
                                 "marking the outbox")) < 0)
            return fw__store_tx_fail(st, rc);
    }
    if (own && (rc = fw__store_tx_commit(st, err)) < 0)
        return rc;
    return 0;
}

int fw_store_outbox_file(struct fw_store *st, uint64_t *dev, uint64_t *ino,
                         struct fw_error *err)
{
    static const char *const keys[2] = {"outbox_dev", "outbox_ino"};
    uint64_t *out[2] = {dev, ino};
    for (int i = 0; i < 2; i++) {
        bind_text(st->st[S_META_GET], 1, keys[i]);
        int64_t v = 0;
        int rc = fw__store_query_i64(st, S_META_GET, 0, &v, err,
                                     "reading the outbox");
        if (rc < 0)
            return rc;
        *out[i] = (uint64_t)v;
    }
    return 0;
}

int fw_store_outbox_marked_at(struct fw_store *st, uint64_t *seq,
                              uint64_t *bytes, struct fw_error *err)
{
    int rc = fw_store_outbox_marked(st, seq, err);
    if (rc < 0)
        return rc;
    bind_text(st->st[S_META_GET], 1, "outbox_bytes");
    int64_t v = 0;
    rc = fw__store_query_i64(st, S_META_GET, 0, &v, err, "reading the outbox");
    if (rc < 0)
        return rc;
    *bytes = v > 0 ? (uint64_t)v : 0;
    return 0;
}

/* ---- generations --------------------------------------------------------- */

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
    if (own && (rc = fw__store_tx_begin(st, TX_OWN, err)) < 0)
        return rc;
    sqlite3_stmt *s = st->st[S_GEN_INS];
    bind_text(s, 1, g->version);
    sqlite3_bind_int64(s, 2, g->loaded_ms);
    bind_text(s, 3, trigger_names[g->trigger]);
    sqlite3_bind_int(s, 4, g->ok);
    bind_text(s, 5, g->error);
    if ((rc = fw__store_exec(st, S_GEN_INS, err, "recording a generation")) < 0)
        return fw__store_tx_fail(st, rc);
    int64_t gid = sqlite3_last_insert_rowid(st->db);
    s = st->st[S_GENF_INS];
    for (size_t i = 0; i < g->n_files; i++) {
        sqlite3_bind_int64(s, 1, gid);
        bind_text(s, 2, g->files[i].path);
        bind_text(s, 3, g->files[i].sha256);
        if ((rc = fw__store_exec(st, S_GENF_INS, err,
                                 "recording a generation")) < 0)
            return fw__store_tx_fail(st, rc);
    }
    st->delta[C_GENERATIONS]++;
    if (own && (rc = fw__store_tx_commit(st, err)) < 0)
        return rc;
    if (id)
        *id = gid;
    return 0;
}

int fw_store_shadow_add(struct fw_store *st, const struct fw_store_shadow *r,
                        size_t n, struct fw_error *err)
{
    if (n == 0)
        return 0;
    bool own = st->tx == TX_NONE;
    int rc;
    if (own && (rc = fw__store_tx_begin(st, TX_OWN, err)) < 0)
        return rc;
    sqlite3_stmt *s = st->st[S_SHADOW_INS];
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(s, 1, r[i].run);
        bind_text(s, 2, r[i].candidate);
        bind_text(s, 3, r[i].feed);
        bind_text(s, 4, r[i].change);
        bind_text(s, 5, r[i].rule);
        bind_text(s, 6, r[i].region);
        bind_text(s, 7, r[i].finding);
        bind_text(s, 8, r[i].live);
        sqlite3_bind_int64(s, 9, r[i].at_ms);
        if ((rc = fw__store_exec(st, S_SHADOW_INS, err,
                                 "recording a shadow difference")) < 0)
            return own ? fw__store_tx_fail(st, rc) : rc;
    }
    if (own && (rc = fw__store_tx_commit(st, err)) < 0)
        return rc;
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
            fw_buf_append(&names, path ? path : "",
                          strlen(path ? path : "") + 1);
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

/* ---- checks -------------------------------------------------------------- */

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
        "SELECT 'findings.' || CASE kind WHEN 0 THEN 'alert'"
        " WHEN 1 THEN 'clawback' WHEN 2 THEN 'score' WHEN 3 THEN 'error'"
        " ELSE 'ops' END || '.' || CASE state WHEN 0 THEN 'open'"
        " ELSE 'resolved' END, count(*) FROM findings GROUP BY kind, state"
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

/* ---- backup ----------------------------------------------------------------- */

static int dest_error(struct fw_error *err, sqlite3 *db, int rc,
                      const char *dest, const char *what)
{
    return fw_error_set(err, rc == SQLITE_FULL ? FW_ELIMIT : FW_EIO, dest,
                        "%s: %s", what,
                        db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

int fw_store_backup(struct fw_store *st, const char *dest,
                    struct fw_error *err)
{
    sqlite3 *out = NULL;
    int rc = sqlite3_open_v2(dest, &out,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        int ret = dest_error(err, out, rc, dest, "cannot open the copy");
        sqlite3_close(out);
        return ret;
    }
    sqlite3_extended_result_codes(out, 1);
    sqlite3_backup *b = sqlite3_backup_init(out, "main", st->db, "main");
    if (b == NULL) {
        int ret = dest_error(err, out, sqlite3_errcode(out), dest,
                             "cannot start the copy");
        sqlite3_close(out);
        return ret;
    }
    /* All pages in one step: one read transaction on the source, so the
     * copy is one commit's state. Stepping in pieces would restart from the
     * first page after every commit of the daemon's, and might never end. */
    int busy_ms = st->opts.busy_timeout_ms > 0 ? st->opts.busy_timeout_ms
                                               : DEFAULT_BUSY_MS;
    for (int waited = 0;; waited += 50) {
        rc = sqlite3_backup_step(b, -1);
        if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || waited >= busy_ms)
            break;
        sqlite3_sleep(50);
    }
    int frc = sqlite3_backup_finish(b);
    int ret = 0;
    if (rc != SQLITE_DONE)
        ret = rc == SQLITE_BUSY || rc == SQLITE_LOCKED
                  ? fw_error_set(err, FW_EBUSY, st->path,
                                 "copying: the database stayed locked for "
                                 "%d ms", busy_ms)
                  : dest_error(err, out, rc, dest, "copying");
    else if (frc != SQLITE_OK)
        ret = dest_error(err, out, frc, dest, "copying");
    else if ((rc = sqlite3_exec(out, "PRAGMA journal_mode = DELETE", NULL,
                                NULL, NULL)) != SQLITE_OK)
        ret = dest_error(err, out, rc, dest, "setting the copy's journal");
    if (sqlite3_close(out) != SQLITE_OK && ret == 0)
        ret = fw_error_set(err, FW_EIO, dest, "closing the copy failed");
    return ret;
}

/* ---- the dashboard's overview ---------------------------------------------- */

static void copy_col(sqlite3_stmt *s, int i, char *out, size_t n)
{
    const char *t = col_text(s, i);
    snprintf(out, n, "%s", t ? t : "");
}

static int groups(struct fw_store *st, int which, struct fw_store_group *g,
                  size_t *n, struct fw_error *err)
{
    sqlite3_stmt *s = st->st[which];
    bool unit = which == S_SUM_UNIT;
    int rc;
    *n = 0;
    sqlite3_bind_int64(s, 1, FW_STORE_TOP);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < FW_STORE_TOP) {
        struct fw_store_group *x = &g[(*n)++];
        memset(x, 0, sizeof *x);
        int c = 0;
        copy_col(s, c++, x->region, sizeof x->region);
        if (unit) {
            copy_col(s, c++, x->dept, sizeof x->dept);
            copy_col(s, c++, x->dept_name, sizeof x->dept_name);
        }
        x->open = sqlite3_column_int64(s, c++);
        x->red = sqlite3_column_int64(s, c++);
        x->yellow = sqlite3_column_int64(s, c++);
        x->clawback_fen = sqlite3_column_int64(s, c++);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return DBERR(st, err, rc, "summing findings");
    return 0;
}

int fw_store_summary(struct fw_store *st, int64_t since_ms, int64_t day_ms,
                     struct fw_store_summary *out, struct fw_error *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = st->st[S_SUM_KL];
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int k = col_int(s, 0, -1), l = col_int(s, 1, 0);
        if (k < 0 || k >= FW__FK_COUNT || l < 0 || l >= FW__LV_COUNT)
            continue;
        out->open[k][l] += sqlite3_column_int64(s, 2);
        out->amount_fen[k] += sqlite3_column_int64(s, 3);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return DBERR(st, err, rc, "counting open findings");

    s = st->st[S_SUM_SINCE];
    sqlite3_bind_int64(s, 1, since_ms);
    if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        out->opened_since = sqlite3_column_int64(s, 0);
        out->resolved_since = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW)
        return DBERR(st, err, rc, "counting this week's findings");

    if ((rc = groups(st, S_SUM_REGION, out->regions, &out->n_regions,
                     err)) < 0 ||
        (rc = groups(st, S_SUM_UNIT, out->units, &out->n_units, err)) < 0)
        return rc;

    s = st->st[S_SUM_FEEDS];
    sqlite3_bind_int64(s, 1, day_ms);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *status = col_text(s, 0);
        int i = !status                         ? -1
                : strcmp(status, "done") == 0   ? FW_FEED_DONE
                : strcmp(status, "failed") == 0 ? FW_FEED_FAILED
                                                : FW_FEED_DUPLICATE;
        if (i < 0)
            continue;
        out->feeds[i] += sqlite3_column_int64(s, 1);
        out->records += sqlite3_column_int64(s, 2);
        out->rejects += sqlite3_column_int64(s, 3);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return DBERR(st, err, rc, "counting today's feeds");

    s = st->st[S_SUM_FAILED];
    if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        copy_col(s, 0, out->last_failed, sizeof out->last_failed);
        copy_col(s, 1, out->last_failed_reason,
                 sizeof out->last_failed_reason);
        out->last_failed_ms = sqlite3_column_int64(s, 2);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return DBERR(st, err, rc, "reading the last failed feed");
    return 0;
}

/* ---- events and acknowledgements ----------------------------------------- */

static const char *const event_names[FW__EV_COUNT] = {
    "opened", "reopened", "resolved", "acknowledged"};

const char *fw_store_event_name(int ev)
{
    return ev >= 0 && ev < FW__EV_COUNT ? event_names[ev] : "?";
}

int fw_store_last_event(const struct fw_store *st)
{
    return st->last_event;
}
