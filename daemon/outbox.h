/* The JSONL outbox: every finding event the store committed, appended once,
 * in commit order, one line each (the output contract of DESIGN.md). The
 * store numbers the events; this file writes those above the store's mark
 * and then moves the mark, with the file's length. What a crash between
 * the write and the mark leaves behind is found again at open: a torn last
 * line is cut off, and the whole lines past the recorded length are the
 * events already written: they are marked, not written twice. The file is
 * the outbox's alone: rotate it by moving it away and then reopening
 * (fw_outbox_reopen, SIGUSR1), or while fundwatch is stopped: the mark
 * records the file's identity too, so the file moved away is found beside
 * the path and the lines past the mark are counted there; the new file is
 * taken as it is. */
#ifndef FUNDWATCH_DAEMON_OUTBOX_H
#define FUNDWATCH_DAEMON_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "fundwatch/buf.h"
#include "fundwatch/error.h"
#include "store/store.h"

struct fw_outbox;

/* Opens (creating) the outbox at path. The first fw_outbox_flush brings it
 * level with the store: cuts a torn last line, then writes the committed
 * events the file does not hold yet. *out is NULL on failure. */
int fw_outbox_open(const char *path, struct fw_store *st,
                   struct fw_outbox **out, struct fw_error *err);
void fw_outbox_close(struct fw_outbox *o); /* accepts NULL */

/* Appends the events committed since the last flush and marks them written.
 * On a write failure (a full disk) the file is cut back to where it was,
 * nothing is marked, and the next flush tries again: the events stay in the
 * store until then. *written (may be NULL) gets the number of lines. */
int fw_outbox_flush(struct fw_outbox *o, struct fw_store *st,
                    uint64_t *written, struct fw_error *err);

/* The fast path after a commit: lines holds the events first..last just
 * committed, n of them rendered by the job as they were stored (the job's
 * count: a resolution's is not rendered). When the file is level with the
 * store up to first - 1 and lines holds one line per event, they are
 * written as they are and marked;
 * otherwise this is fw_outbox_flush (which reads them back from the store). */
int fw_outbox_append(struct fw_outbox *o, struct fw_store *st,
                     const struct fw_buf *lines, uint64_t n, uint64_t first,
                     uint64_t last, uint64_t *written, struct fw_error *err);

/* Whether fw_outbox_append with these would read the store (a flush):
 * that waits until no transaction is open (the store's outbox is the
 * committed events). */
bool fw_outbox_append_reads(const struct fw_outbox *o, uint64_t n,
                            uint64_t first, uint64_t last);

/* One outbox line (with its newline) into b: the finding's JSON object with
 * "event" first (fw_store_event_name); an acknowledged event's line (sf
 * given) adds "acknowledged": {"by", "at", "note"}. FW_ENOMEM, b as it
 * was, when it does not fit. */
int fw_outbox_line(int event, const struct fw_finding *f,
                   const struct fw_store_finding *sf, struct fw_buf *b);
/* The same from the finding's JSON object as fw_finding_json rendered it
 * (json, n bytes), for an event that is not an acknowledgement. */
int fw_outbox_line_json(int event, const char *json, size_t n,
                        struct fw_buf *b);
/* "acknowledged":{"by":…,"at":"ISO","note":…} (the key too) into b: the
 * outbox's line and the API's finding show it alike. */
void fw_outbox_ack_json(struct fw_buf *b, const char *by, int64_t at_ms,
                        const char *note);

/* Rotation: the events committed so far are appended to the file open now
 * (moved away or not), then the path is opened again; when it is another
 * file (the old one was moved away), the store's mark records that file's
 * length with the events up to the mark, and later events go there only.
 * *rotated false: the path still names the open file, nothing changed. On
 * an error the open file stays and nothing is lost. */
int fw_outbox_reopen(struct fw_outbox *o, struct fw_store *st, bool *rotated,
                     struct fw_error *err);

/* Events committed but not yet in the file (for metrics and health). */
uint64_t fw_outbox_lag(const struct fw_outbox *o, struct fw_store *st);

#endif
