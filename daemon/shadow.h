/* A candidate policies folder in shadow beside the live generation: built
 * and tested like a reload, run on every feed after the live generation
 * (on the worker, after the feed's commit: the live path waits only for the
 * shadow's own engine time), its findings compared with the live ones by
 * id and the differences written to the store's shadow_findings table —
 * never to the outbox. Promotion stays an ordinary reload. A part of the
 * core (core.h). */
#ifndef FUNDWATCH_DAEMON_SHADOW_H
#define FUNDWATCH_DAEMON_SHADOW_H

#include "core.h"

struct fw_shadow;

/* Attaches the shadow part to the core, idle. With dir (the config's
 * shadow:), builds and tests that folder now; a folder that does not build
 * is logged and leaves the shadow idle (never fatal). */
int fw_shadow_open(struct fwd *d, const char *dir, struct fw_shadow **out);
void fw_shadow_free(struct fw_shadow *s);

/* (loop) Starts (or replaces) the shadow with the folder dir, built and
 * tested on the worker as a queued job; then cb(arg, error) with error NULL
 * when it runs, or why not. Stopping is start with dir NULL. */
typedef void (*fw_shadow_cb)(struct fwd *d, void *arg, int status,
                             const char *error);
void fw_shadow_start(struct fw_shadow *s, const char *dir, fw_shadow_cb cb,
                     void *arg);

/* (loop) The running diff since it started, as one JSON object. */
void fw_shadow_json(struct fw_shadow *s, struct fw_buf *out);

#endif
