/* The spool folder: feeds arrive in incoming/ (complete: renamed in), and
 * leave for done/ or failed/ (with NAME.reason beside). Only names and
 * renames; reading a feed is the feed job's. No libuv: the daemon's watcher
 * only says when to look. */
#ifndef FUNDWATCH_DAEMON_SPOOL_H
#define FUNDWATCH_DAEMON_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "fundwatch/error.h"

/* Creates root and its incoming/, done/ and failed/ folders when missing. */
int fw_spool_init(const char *root, struct fw_error *err);

/* A feed waiting in incoming/. */
struct fw_spool_item {
    char *name; /* the file name inside incoming/ */
    long long mtime_ns;
};

struct fw_spool_list {
    struct fw_spool_item *items;
    size_t n, cap;
};

/* The feeds waiting in incoming/, oldest first (modification time, then
 * name). Skipped: dot files, *.part files (a copy in progress), anything
 * that is not a regular file. Replaces what l held. */
int fw_spool_scan(const char *root, struct fw_spool_list *l,
                  struct fw_error *err);
void fw_spool_list_fini(struct fw_spool_list *l);

/* True when a name in incoming/ is one the spool ignores. */
bool fw_spool_ignored(const char *name);

/* Moves incoming/NAME to done/ (ok) or failed/ (with a NAME.reason file
 * written first, holding reason and a newline). A name already taken there
 * gets a suffix (NAME.1, NAME.2, ...): nothing is overwritten. dest (may be
 * NULL) gets the path moved to. A feed that is gone already (deleted while
 * read) is FW_ENOENT. */
int fw_spool_finish(const char *root, const char *name, bool ok,
                    const char *reason, char *dest, size_t dest_len,
                    struct fw_error *err);

/* root/incoming/NAME into out; false when it does not fit. */
bool fw_spool_path(const char *root, const char *name, char *out, size_t n);

#endif
