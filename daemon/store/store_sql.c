/* The store's SQL text (store.h): the schema's migrations, one per
 * version, and every statement store.c prepares once at open. Moved out of
 * store.c unchanged; the code that runs them stays there. */
#include "store_int.h"

/* ---- schema --------------------------------------------------------------
 * migrations[i] takes user_version i to i + 1, in one transaction. Never
 * edit a released step: add one. CHECKs are OR chains, not IN lists: SQLite
 * codes an IN list of more than two constants as an ephemeral table built
 * again on every INSERT (measured: a third of the insert time). */

const char *const fw__store_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "CREATE TABLE counters(name TEXT PRIMARY KEY, n INTEGER NOT NULL)"
    "  WITHOUT ROWID;"
    "CREATE TABLE generations("
    "  id INTEGER PRIMARY KEY,"
    "  version TEXT NOT NULL,"
    "  loaded_at INTEGER NOT NULL,"
    "  trigger TEXT NOT NULL"
    "    CHECK (trigger = 'start' OR trigger = 'sighup' OR trigger = 'watch' "
    "OR trigger = 'api'),"
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
    "  status TEXT NOT NULL CHECK (status = 'done' OR status = 'failed' OR "
    "status = 'duplicate'),"
    "  dup_of INTEGER REFERENCES feeds(id),"
    "  lines INTEGER, records INTEGER, rejects INTEGER,"
    "  alerts INTEGER, clawbacks INTEGER, scores INTEGER, errors INTEGER,"
    "  ops INTEGER,"
    "  events INTEGER," /* new or reopened findings: outbox lines */
    "  resolved INTEGER,"
    "  bytes INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  finished_at INTEGER,"
    "  duration_ms INTEGER,"
    "  reason TEXT,"
    "  generation TEXT);"
    "CREATE UNIQUE INDEX feeds_done ON feeds(sha256) WHERE status = 'done';"
    "CREATE INDEX feeds_sha256 ON feeds(sha256);"
    /* Strings that repeat on every finding (policy, its version, rule,
     * feed) are stored once, by number: a row is 40% smaller. */
    "CREATE TABLE names(id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);"
    /* kind, level, rkind and state are the numbers of enum fw_fkind,
     * fw_level (NULL for none), fw_rkind and fw_store_state: findings_v
     * below spells them out for people with a sqlite3 shell. */
    "CREATE TABLE findings("
    "  fid INTEGER PRIMARY KEY,"
    "  id BLOB NOT NULL CHECK (length(id) = 16),"
    "  kind INTEGER NOT NULL CHECK (kind >= 0 AND kind <= 4),"
    "  level INTEGER CHECK (level >= 1 AND level <= 3),"
    "  policy INTEGER, policy_version INTEGER, rule INTEGER," /* names(id) */
    "  region TEXT, dept TEXT, project TEXT, task TEXT,"
    "  as_of INTEGER,"  /* days since 1970-01-01 */
    "  amount INTEGER," /* fen */
    "  ratio TEXT,"     /* exact decimal text */
    "  score INTEGER,"  /* hundredths */
    "  grade TEXT, message TEXT,"
    "  feed INTEGER," /* names(id) */
    "  line INTEGER,"
    "  rkind INTEGER CHECK (rkind >= 0 AND rkind <= 2),"
    "  state INTEGER NOT NULL CHECK (state = 0 OR state = 1),"
    "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  resolved_at INTEGER,"
    /* No REFERENCES on the hot tables: a parent lookup per row cost a
     * tenth of the insert time; the same transaction writes parent and
     * child, and fw_store_check looks for orphans. */
    "  first_feed INTEGER,"    /* feeds(id) */
    "  last_feed INTEGER,"     /* feeds(id) */
    "  seq INTEGER NOT NULL);" /* the latest event's outbox seq */
    "CREATE VIEW findings_v AS SELECT f.fid, lower(hex(f.id)) AS id,"
    "  CASE f.kind WHEN 0 THEN 'alert' WHEN 1 THEN 'clawback'"
    "    WHEN 2 THEN 'score' WHEN 3 THEN 'error' ELSE 'ops' END AS kind,"
    "  CASE f.level WHEN 1 THEN 'info' WHEN 2 THEN 'yellow'"
    "    WHEN 3 THEN 'red' END AS level,"
    "  (SELECT text FROM names WHERE id = f.policy) AS policy,"
    "  (SELECT text FROM names WHERE id = f.policy_version)"
    "    AS policy_version,"
    "  (SELECT text FROM names WHERE id = f.rule) AS rule,"
    "  f.region, f.dept, f.project, f.task,"
    "  date(f.as_of * 86400, 'unixepoch') AS as_of,"
    "  f.amount AS amount_fen, f.ratio, f.score AS score_hundredths,"
    "  f.grade, f.message,"
    "  (SELECT text FROM names WHERE id = f.feed) AS feed, f.line,"
    "  CASE f.rkind WHEN 0 THEN 'execution' WHEN 1 THEN 'evaluation'"
    "    WHEN 2 THEN 'task' END AS record_kind,"
    "  CASE f.state WHEN 0 THEN 'open' ELSE 'resolved' END AS state,"
    "  f.first_seen, f.last_seen, f.resolved_at, f.first_feed, f.last_feed,"
    "  f.seq FROM findings f;"
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
    "  record TEXT NOT NULL," /* NDJSON the reader reads back */
    "  feed INTEGER REFERENCES feeds(id),"
    "  source TEXT NOT NULL, line INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (region, dept, task));",
    /* 1 -> 2: what an officer reads first and why it fired: the rule's
     * title and source sentence (names), the record's unit and project
     * names, the engine's evidence (JSON). */
    "ALTER TABLE findings ADD COLUMN title INTEGER;"
    "ALTER TABLE findings ADD COLUMN rule_source INTEGER;"
    "ALTER TABLE findings ADD COLUMN dept_name TEXT;"
    "ALTER TABLE findings ADD COLUMN project_name TEXT;"
    "ALTER TABLE findings ADD COLUMN evidence TEXT;",
    /* 2 -> 3: a shadow generation's differences from the live one, never
     * in the outbox: a run is one shadow (its start, unix ms); change is
     * added, removed or changed; finding the shadow's JSON (removed: the
     * live one), live the live one of a changed finding. */
    "CREATE TABLE shadow_findings("
    "  id INTEGER PRIMARY KEY,"
    "  run INTEGER NOT NULL,"
    "  candidate TEXT NOT NULL,"
    "  feed TEXT NOT NULL,"
    "  change TEXT NOT NULL CHECK (change IN ('added', 'removed', "
    "'changed')),"
    "  rule TEXT, region TEXT,"
    "  finding TEXT NOT NULL,"
    "  live TEXT,"
    "  at INTEGER NOT NULL);"
    "CREATE INDEX shadow_findings_run ON shadow_findings(run);",
    /* 3 -> 4: typed outbox events (enum fw_store_event: 0 opened, 1
     * reopened, as `reopened` held them, 2 resolved, 3 acknowledged) and a
     * finding's acknowledgement (who, when in unix ms, the note), cleared
     * when it reopens. */
    "ALTER TABLE outbox RENAME COLUMN reopened TO event;"
    "ALTER TABLE findings ADD COLUMN ack_by TEXT;"
    "ALTER TABLE findings ADD COLUMN ack_at INTEGER;"
    "ALTER TABLE findings ADD COLUMN ack_note TEXT;",
    /* 4 -> 5: a finding's evidence ends with its rule's parameters,
     * ',"params":[...]}', the same text for every finding of the rule in a
     * generation (~150 of a row's ~510 bytes in the daemon bench): kept
     * once in names, evidence_params its id and evidence the text before
     * it; rows written before keep their whole evidence (evidence_params
     * NULL). EVIDENCE below puts it together again. */
    "ALTER TABLE findings ADD COLUMN evidence_params INTEGER;",
};

_Static_assert(sizeof fw__store_migrations / sizeof fw__store_migrations[0] ==
                   FW_STORE_SCHEMA_VERSION,
               "one migration per schema version");

/* ---- statements, prepared once at open ----------------------------------- */

#define NAME_OF(col) "(SELECT text FROM names WHERE id = f." col ")"
/* The evidence as the engine gave it (migration 4 -> 5). */
#define EVIDENCE                                                               \
    "CASE WHEN f.evidence_params IS NULL THEN f.evidence ELSE f.evidence || "  \
    "',\"params\":' || " NAME_OF("evidence_params") " || '}' END"
#define FCOLS                                                                  \
    "f.fid, f.id, f.kind, f.level, " NAME_OF("policy") ", "                    \
    NAME_OF("policy_version") ", " NAME_OF("rule") ", f.region, f.dept, "      \
    "f.project, f.task, f.as_of, f.amount, f.ratio, f.score, f.grade, "        \
    "f.message, " NAME_OF("feed") ", f.line, f.rkind, f.state, "               \
    "f.first_seen, f.last_seen, f.resolved_at, f.first_feed, f.last_feed, "    \
    "f.seq, " NAME_OF("title") ", " NAME_OF("rule_source") ", f.dept_name, "   \
    "f.project_name, " EVIDENCE ", f.ack_by, f.ack_at, f.ack_note"

/* Open alerts and clawbacks (kinds 0 and 1) of a subject. */
#define SUBJ_MATCH                                                             \
    "f.state = 0 AND f.kind <= 1 AND f.rkind IS ?2 AND f.region IS ?3 "        \
    "AND f.dept IS ?4 AND f.project IS ?5 AND f.task IS ?6 "                   \
    "AND (?7 IS NULL OR f.as_of IS NULL OR f.as_of <= ?7)"

/* KEYS_PER_INSERT rows of one INSERT: a merge steps one statement per 64
 * keys, not one per key. */
#define X4(x) x "," x "," x "," x

const char *const fw__store_sql[S__COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_FEED_SEEN] =
        "SELECT id FROM feeds WHERE sha256 = ?1 AND status = 'done'",
    [S_FEED_LAST] =
        "SELECT status = 'done' AND source = 'spool' AND name = ?2 FROM feeds"
        " WHERE sha256 = ?1 ORDER BY id DESC LIMIT 1",
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
    [S_KEY_FIND] = "SELECT f.fid, f.state FROM finding_keys k JOIN findings f"
                   " ON f.fid = k.fid WHERE k.k = ?1 AND f.id = ?2",
    [S_FID_ID] = "SELECT state FROM findings WHERE fid = ?1 AND id = ?2",
    [S_FID_UNMERGED] =
        "SELECT fid, state FROM findings WHERE fid > coalesce((SELECT value"
        " FROM meta WHERE key = 'keys_merged'), 0) AND id = ?1",
    [S_F_INS] =
        "INSERT INTO findings(id, kind, level, policy, policy_version, rule,"
        " region, dept, project, task, as_of, amount, ratio, score, grade,"
        " message, feed, line, rkind, state, first_seen, last_seen,"
        " first_feed, last_feed, seq, title, rule_source, dept_name,"
        " project_name, evidence, evidence_params) VALUES (?1, ?2, ?3, ?4,"
        " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
        " ?19, 0, ?20, ?20, ?21, ?21, ?22, ?24, ?25, ?26, ?27, ?28, ?29)",
    [S_F_SEEN] =
        "UPDATE findings SET last_seen = ?2, last_feed = ?3 WHERE fid = ?1",
    [S_F_REOPEN] =
        "UPDATE findings SET kind = ?2, level = ?3, policy = ?4,"
        " policy_version = ?5, rule = ?6, region = ?7, dept = ?8,"
        " project = ?9, task = ?10, as_of = ?11, amount = ?12, ratio = ?13,"
        " score = ?14, grade = ?15, message = ?16, feed = ?17, line = ?18,"
        " rkind = ?19, state = 0, last_seen = ?20, resolved_at = NULL,"
        " last_feed = ?21, seq = ?22, title = ?24, rule_source = ?25,"
        " dept_name = ?26, project_name = ?27, evidence = ?28,"
        " evidence_params = ?29,"
        " ack_by = NULL, ack_at = NULL, ack_note = NULL"
        " WHERE fid = ?23 AND id = ?1",
    [S_OUTBOX_INS] =
        "INSERT INTO outbox(seq, fid, event) VALUES (?1, ?2, ?3)",
    [S_OUTBOX_INS_MANY] = "INSERT INTO outbox(seq, fid, event) VALUES "
        X4(X4(X4("(?,?,?)"))),
    [S_SUBJ_DISK] =
        "SELECT f.fid, f.id, f.kind FROM finding_keys k JOIN findings f"
        " ON f.fid = k.fid WHERE k.k = ?1 AND " SUBJ_MATCH,
    [S_SUBJ_FID] = "SELECT f.fid, f.id, f.kind FROM findings f WHERE f.fid = "
                   "?1 AND " SUBJ_MATCH,
    [S_RESOLVE] = "UPDATE findings SET state = 1, resolved_at = ?2, seq = ?3"
                  " WHERE fid = ?1 AND state = 0",
    [S_ACK] = "UPDATE findings SET ack_by = ?2, ack_at = ?3, ack_note = ?4,"
              " seq = ?5 WHERE fid = ?1",
    [S_KEY_INS] = "INSERT OR IGNORE INTO finding_keys(k, fid) VALUES (?1, ?2)",
    [S_KEY_INS_MANY] = "INSERT OR IGNORE INTO finding_keys(k, fid) VALUES "
        X4(X4(X4("(?,?)"))),
    [S_KEY_DEL] = "DELETE FROM finding_keys WHERE k = ?1 AND fid = ?2 AND"
                  " (SELECT state FROM findings WHERE fid = ?2) = 1",
    [S_MAX_FID] = "SELECT coalesce(max(fid), 0) FROM findings",
    [S_REJ_INS] = "INSERT INTO rejects(feed, line, reason) VALUES (?1, ?2, ?3)",
    [S_TASK_GET] =
        "SELECT as_of FROM tasks WHERE region = ?1 AND dept = ?2 AND task = ?3",
    [S_TASK_PUT] =
        "INSERT INTO tasks(region, dept, task, as_of, record, feed, source,"
        " line, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        " ON CONFLICT (region, dept, task) DO UPDATE SET as_of = "
        "excluded.as_of,"
        " record = excluded.record, feed = excluded.feed,"
        " source = excluded.source, line = excluded.line,"
        " updated_at = excluded.updated_at",
    [S_TASKS_ALL] = "SELECT region, dept, task, record, source, line FROM tasks"
                    " ORDER BY region, dept, task",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [S_META_SET] = "INSERT INTO meta(key, value) VALUES (?1, ?2)"
                   " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [S_MARK] =
        "INSERT INTO meta(key, value) VALUES ('outbox_marked', ?1)"
        " ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
    [S_COUNTER_ADD] = "INSERT INTO counters(name, n) VALUES (?1, ?2)"
                      " ON CONFLICT (name) DO UPDATE SET n = n + excluded.n",
    [S_COUNTERS_ALL] = "SELECT name, n FROM counters",
    [S_NAME_GET] = "SELECT id FROM names WHERE text = ?1",
    [S_NAME_INS] = "INSERT INTO names(text) VALUES (?1)",
    [S_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM outbox",
    [S_F_GET] = "SELECT " FCOLS " FROM findings f WHERE f.fid = ?1",
    [S_QUERY] =
        "SELECT " FCOLS " FROM findings f WHERE f.fid > ?1"
        " AND (?2 IS NULL OR substr(f.region, 1, length(?2)) = ?2)"
        " AND (?3 IS NULL OR f.kind = ?3) AND (?4 IS NULL OR f.level = ?4)"
        " AND (?5 IS NULL OR f.rule = (SELECT id FROM names WHERE text = ?5))"
        " AND (?6 IS NULL OR f.state = ?6)"
        " AND (?7 IS NULL OR f.last_seen >= ?7)"
        " AND (?9 IS NULL OR f.dept = ?9)"
        " AND (?10 IS NULL OR f.as_of >= ?10)"
        " AND (?11 IS NULL OR f.as_of <= ?11)"
        " ORDER BY f.fid LIMIT ?8",
    [S_PENDING] = "SELECT " FCOLS ", o.seq, o.event FROM outbox o JOIN findings f"
                  " ON f.fid = o.fid WHERE o.seq > ?1 ORDER BY o.seq",
    [S_GEN_INS] =
        "INSERT INTO generations(version, loaded_at, trigger, ok, error)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_GENF_INS] = "INSERT INTO generation_files(generation, path, sha256)"
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
    /* the dashboard's overview (fw_store_summary): full scans of the open
     * findings, grouped; the caller caches the answer */
    [S_SUM_KL] = "SELECT kind, coalesce(level, 0), count(*),"
        " coalesce(sum(amount), 0) FROM findings WHERE state = 0"
        " GROUP BY kind, level",
    [S_SUM_SINCE] = "SELECT (SELECT count(*) FROM findings"
        " WHERE first_seen >= ?1), (SELECT count(*) FROM findings"
        " WHERE state = 1 AND resolved_at >= ?1)",
    [S_SUM_REGION] = "SELECT region, count(*), sum(level = 3),"
        " sum(level = 2), coalesce(sum(CASE WHEN kind = 1 THEN amount END), 0)"
        " FROM findings WHERE state = 0 AND kind <= 1 AND region IS NOT NULL"
        " GROUP BY region ORDER BY 3 DESC, 2 DESC, 1 LIMIT ?1",
    [S_SUM_UNIT] = "SELECT region, dept, max(dept_name), count(*),"
        " sum(level = 3), sum(level = 2),"
        " coalesce(sum(CASE WHEN kind = 1 THEN amount END), 0)"
        " FROM findings WHERE state = 0 AND kind <= 1 AND dept IS NOT NULL"
        " GROUP BY region, dept ORDER BY 5 DESC, 4 DESC, 1, 2 LIMIT ?1",
    [S_SUM_FEEDS] = "SELECT status, count(*), coalesce(sum(records), 0),"
        " coalesce(sum(rejects), 0) FROM feeds WHERE started_at >= ?1"
        " GROUP BY status",
    [S_SUM_FAILED] = "SELECT name, reason, started_at FROM feeds"
        " WHERE status = 'failed' ORDER BY id DESC LIMIT 1",
    [S_KEYS_ALL] = "SELECT k FROM finding_keys",
    [S_KEYS_COUNT] = "SELECT count(*) FROM finding_keys",
    [S_SHADOW_INS] =
        "INSERT INTO shadow_findings(run, candidate, feed, change, rule,"
        " region, finding, live, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
        " ?9)",
};
