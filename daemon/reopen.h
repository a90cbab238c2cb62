/* SIGUSR1: the outbox is reopened, so that it can be rotated while the
 * daemon runs (logrotate moves outbox.jsonl away, then signals). Not SIGHUP:
 * that reloads the policies (a build and every policy test, perhaps an ops
 * finding), which a nightly rotation must not set off. A part of the core
 * (core.h): the signal is taken on the loop, the file switched on the
 * worker between two feeds, where the outbox and the store are used. */
#ifndef FUNDWATCH_DAEMON_REOPEN_H
#define FUNDWATCH_DAEMON_REOPEN_H

#include "core.h"

struct fw_reopen;

/* Watches SIGUSR1 on the core's loop and attaches the part. Returns 0,
 * FW_ENOMEM, or FW_EIO (the signal cannot be watched; logged). */
int fw_reopen_open(struct fwd *d, struct fw_reopen **out);
void fw_reopen_free(struct fw_reopen *r); /* after the loop; accepts NULL */

#endif
