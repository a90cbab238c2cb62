/* The daemon's config file (fundwatch.yaml): its keys, their defaults, and
 * validation that reports every problem as "file:line:col: message" before
 * failing. Reads the file (and token_file); never creates or checks folders
 * at load. docs/operations.md documents every key. */
#ifndef FUNDWATCH_DAEMON_CONFIG_H
#define FUNDWATCH_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "fundwatch/engine.h"
#include "fundwatch/error.h"
#include "log.h"

/* Defaults of the keys that are not paths or engine options. */
#define FW_CONFIG_DEFAULT_LISTEN_HOST "127.0.0.1"
#define FW_CONFIG_DEFAULT_LISTEN_PORT 9464
#define FW_CONFIG_DEFAULT_SCHEDULE (6 * 60)           /* 06:00 */
#define FW_CONFIG_DEFAULT_SCAN_MS 30000ull            /* 30s */
#define FW_CONFIG_DEFAULT_MAX_BODY (64ull << 20)      /* 64M */
#define FW_CONFIG_DEFAULT_MAX_FEED (1ull << 30)       /* 1G */
#define FW_CONFIG_DEFAULT_DB_CACHE (4ull << 20)       /* 4M */
#define FW_CONFIG_DEFAULT_DEBOUNCE_MS 500ull          /* 500ms */

/* Every path is absolute (resolved against the config file's folder), owned
 * by the struct and freed by fw_config_fini. */
struct fw_config {
    char *file;              /* the config file, absolute ("" for defaults) */
    char *spool;             /* incoming/, done/, failed/ under it */
    char *policies;          /* the policies tree */
    char *database;          /* the SQLite file */
    char *outbox;            /* the findings JSONL, appended */
    char *columns;           /* a column map, or NULL: built-in names only */
    char *shadow;            /* a candidate policies folder run in shadow,
                                or NULL */

    bool listen_enabled;     /* false when listen: off */
    char *listen_host;       /* "127.0.0.1", "::1" (no brackets), "0.0.0.0";
                                NULL when disabled */
    uint16_t listen_port;
    /* metrics_listen: a second listener that serves only /metrics,
     * /healthz and /readyz (Prometheus on another host reads no findings),
     * or NULL (the default): none. */
    char *metrics_host;
    uint16_t metrics_port;

    char *token;             /* bearer token for POST, or NULL: POST refused */
    char *token_file;        /* where token came from, or NULL */
    /* GET of findings, explanations, reports, policies and the dashboard's
     * data: the read token or the write token (Bearer, or the dashboard's
     * session cookie), unless public_read. /healthz, /readyz and /metrics
     * stay open. */
    char *read_token;        /* or NULL */
    char *read_token_file;   /* where read_token came from, or NULL */
    bool public_read;        /* false by default */

    enum fw_log_level log_level;
    unsigned schedule_min;   /* local time of the daily checks, minutes
                                after midnight (0..1439) */
    uint64_t scan_interval_ms;

    struct fw_engine_opts engine;  /* limits.budget, .memory, .error_streak,
                                      .call_time, .string, .findings_per_call,
                                      .findings_per_feed;
                                      always set (never 0 = "default") */
    uint64_t max_body;       /* bytes */
    uint64_t max_feed;       /* bytes */
    uint64_t db_cache;       /* bytes of SQLite page cache per connection */

    uint64_t reload_debounce_ms;
    bool reload_run_tests;

    /* retention.done, retention.resolved: files of spool/done/ and resolved
     * findings older than this are deleted at start and at each scheduled
     * check; 0 (the default) keeps them forever. */
    uint64_t retain_done_ms;
    uint64_t retain_resolved_ms;
};

/* Fills c with every default; paths are the default names resolved against
 * base_dir (NULL = the current folder). Returns 0 or FW_ENOMEM (c is then
 * still safe to fw_config_fini). */
int fw_config_defaults(struct fw_config *c, const char *base_dir);

/* Reads path over the defaults. Every problem is added to diag as
 * "path:line:col: message" (path as given), all of them before returning:
 * unknown keys (with "did you mean" when close), wrong types, bad values,
 * out-of-range numbers, duplicate keys, a file that is not YAML.
 * Returns 0; FW_EINVAL when the content has problems; FW_EIO (with
 * "path: cannot open: ..." in diag) when the file cannot be read; FW_ENOMEM.
 * c is always initialised and must be finished with fw_config_fini. */
int fw_config_load(const char *path, struct fw_config *c,
                   struct fw_diag *diag);

/* What the daemon needs on disk before it starts, as separate problems
 * "path: message": the policies folder exists and is a folder, the database's
 * and the outbox's folders exist and are writable, the spool (or the folder
 * it will be created in) is writable, the column map is readable. Returns the
 * number of problems added. */
int fw_config_check_paths(const struct fw_config *c, struct fw_diag *diag);

void fw_config_fini(struct fw_config *c);

/* Value parsers, shared with command-line options. Each returns 0, or
 * FW_EINVAL with a reason ("a unit is needed: 500ms, 30s, 5m, 1h") in *why.
 * Durations: a whole number with ms, s, m or h → milliseconds.
 * Sizes: a whole number with an optional K, M or G (powers of 1024) → bytes.
 * Overflow of uint64 is an error. */
int fw_config_parse_duration(const char *text, uint64_t *ms, const char **why);
int fw_config_parse_size(const char *text, uint64_t *bytes, const char **why);
/* "host:port", "[v6]:port" → host (malloc'd, without brackets) and port. */
int fw_config_parse_listen(const char *text, char **host, uint16_t *port,
                           const char **why);
/* "HH:MM" (00:00-23:59; "6:00" too) → minutes after midnight. */
int fw_config_parse_clock(const char *text, unsigned *min, const char **why);

/* (config_value.c, for config.c) The leading digits of s into *v; returns
 * the end, or NULL with *why "not a whole number" or "too large". */
const char *fw__config_digits(const char *s, uint64_t *v, const char **why);

#endif
