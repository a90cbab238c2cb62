/* The daemon's logger: one line per event on stderr (or a given fd), in a
 * form journald and a terminal both read well. Keeps errno; safe to call from
 * a worker thread (each line is one write). Knows nothing of config files. */
#ifndef FUNDWATCH_DAEMON_LOG_H
#define FUNDWATCH_DAEMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "fundwatch/error.h"

/* Ordered: a level shows when it is >= the configured one. */
enum fw_log_level {
    FW_LOG_DEBUG = 0,
    FW_LOG_INFO,
    FW_LOG_WARN,
    FW_LOG_ERROR,
};

/* Longest line written, newline included; longer messages are cut and end
 * with "...". */
#define FW_LOG_LINE_MAX 4096

/* Where lines go and in which form. fd < 0 means stderr. journal: 1 = the
 * journald form ("<3>error spool ..."; no timestamp: journald stamps it),
 * 0 = a timestamped line ("2026-12-02T10:00:00Z error spool ..."), -1 = decide
 * from JOURNAL_STREAM (set by systemd when stderr is the journal; compared
 * with fd's device:inode as sd_journal_stream_fd(3) advises). Call once at
 * start, before any thread logs; without a call: stderr, journal auto. */
void fw_log_init(int fd, int journal);

/* The lowest level shown (default FW_LOG_INFO). Atomic: any thread. */
void fw_log_set_level(enum fw_log_level lv);
enum fw_log_level fw_log_get_level(void);
bool fw_log_enabled(enum fw_log_level lv);

/* "debug", "info", "warn" (or "warning"), "error" → *lv; 0 or FW_EINVAL. */
int fw_log_level_parse(const char *text, enum fw_log_level *lv);
/* "debug", "info", "warn", "error". */
const char *fw_log_level_name(enum fw_log_level lv);

/* One event: "<time> <level> <subsys> [feed=<feed>: ]<message>", e.g.
 *   2026-12-02T10:00:00Z info spool feed=yuzhong.csv: processed 12 records
 * subsys is a short word ("spool", "store", "reload", "http", "main");
 * feed may be NULL. Control characters of feed and message (newlines above
 * all) are escaped (\n, \r, \t, \xNN) so one event is always one line; a
 * feed name with spaces or quotes is written in double quotes. errno is the
 * same after the call as before. */
void fw_log(enum fw_log_level lv, const char *subsys, const char *feed,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void fw_vlog(enum fw_log_level lv, const char *subsys, const char *feed,
             const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

/* Each item of d as its own event (config and reload problems). */
void fw_log_diag(enum fw_log_level lv, const char *subsys,
                 const struct fw_diag *d);

#define fw_log_debug(subsys, feed, ...) \
    fw_log(FW_LOG_DEBUG, (subsys), (feed), __VA_ARGS__)
#define fw_log_info(subsys, feed, ...) \
    fw_log(FW_LOG_INFO, (subsys), (feed), __VA_ARGS__)
#define fw_log_warn(subsys, feed, ...) \
    fw_log(FW_LOG_WARN, (subsys), (feed), __VA_ARGS__)
#define fw_log_error(subsys, feed, ...) \
    fw_log(FW_LOG_ERROR, (subsys), (feed), __VA_ARGS__)

#endif
