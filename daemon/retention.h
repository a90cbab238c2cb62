/* Retention: the files of spool/done/ and the resolved findings older than
 * the config's ages (retention.done, retention.resolved) are deleted at
 * start and at each daily scheduled check, so neither the spool nor the
 * store grows without bound. A part of the core (core.h); without either
 * age it is not attached and keeps everything. */
#ifndef FUNDWATCH_DAEMON_RETENTION_H
#define FUNDWATCH_DAEMON_RETENTION_H

#include "core.h"

struct fw_retention;

/* Attaches the part when the config sets an age (*out NULL otherwise).
 * Returns 0 or FW_ENOMEM. */
int fw_retention_open(struct fwd *d, struct fw_retention **out);
void fw_retention_free(struct fw_retention *r); /* accepts NULL */

/* (worker) One pass now: files of done/ changed before now - done_ms and
 * findings resolved before now - resolved_ms (an age of 0 keeps them).
 * Counts in *files and *findings; errors are logged and go to /healthz. */
void fw_retention_run(struct fwd *d, uint64_t done_ms, uint64_t resolved_ms,
                      uint64_t *files, int64_t *findings);

#endif
