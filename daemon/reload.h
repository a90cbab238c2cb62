/* Reloading the policies while the daemon runs: the first generation at
 * start, then a complete new one built and tested on a pool thread after a
 * change under policies/ (a debounced watch), SIGHUP or a request, put in
 * place by the worker between two feeds. A part of the core (core.h): it
 * calls the core, the core calls it only through its hooks. */
#ifndef FUNDWATCH_DAEMON_RELOAD_H
#define FUNDWATCH_DAEMON_RELOAD_H

#include "core.h"

struct fw_reload;

/* Reads the policies folder and builds the first generation into d->eng
 * (recorded in the store by the worker's first job), then watches the
 * folder and attaches itself to the core. Returns 0, or FW_EINVAL with the
 * problems logged when the policies do not build, FW_ENOMEM. */
int fw_reload_open(struct fwd *d, struct fw_reload **out);
/* After the loop: frees what is left. Accepts NULL. */
void fw_reload_free(struct fw_reload *rl);

/* (loop) What a reload asked for by fw_reload_ask ended with: ok, or
 * refused (d->last_reload says why), or not run at all (`error` set:
 * stopping, out of memory). */
typedef void (*fw_reload_cb)(struct fwd *d, void *arg, const char *error);

/* (loop) Reloads now (or right after the one running, which read the files
 * before this request), then calls cb(arg). */
void fw_reload_ask(struct fw_reload *rl, enum fw_store_trigger why,
                   fw_reload_cb cb, void *arg);

#endif
