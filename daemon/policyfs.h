/* Reading a policies folder into memory for the engine: every *.lua and
 * *.yaml under it, recursively, sorted by path. The only place the commands
 * and the daemon walk a policies tree; the engine sees bytes, never files. */
#ifndef FUNDWATCH_DAEMON_POLICYFS_H
#define FUNDWATCH_DAEMON_POLICYFS_H

#include <stdbool.h>
#include <stddef.h>

#include "fundwatch/engine.h"
#include "fundwatch/error.h"

/* A policy file larger than this is refused (a policy is text a person
 * writes; a bigger file is a mistake, not a policy). */
#define FW_POLICYFS_MAX_FILE (4u << 20)
/* Folders nested deeper than this are refused (and symlink loops end). */
#define FW_POLICYFS_MAX_DEPTH 16

/* The files of a tree. Owns every path and every byte. */
struct fw_policy_tree {
    struct fw_src_file *files;
    size_t n, cap;
};

/* Reads every *.lua and *.yaml under dir into t (which it initialises).
 * Paths are dir as given (without trailing slashes; "." gives bare
 * relative paths) joined with the path inside the tree, "/"-separated:
 * "policies/50/cq_monitor.lua". Dot files and folders and editor leftovers
 * (*~, *.swp, *.swo, #*#) are skipped. Files are sorted by path (bytewise)
 * so that a generation is the same whatever order the folder lists in.
 *
 * Every problem (the folder missing or not a folder, a file that cannot be
 * read, one too large, a folder too deep, a symlink loop) is added to diag as
 * "path: message"; then returns FW_EIO (or FW_ENOMEM) and t holds the files
 * that could be read, still to be freed with fw_policy_tree_fini. */
int fw_policy_tree_read(const char *dir, struct fw_policy_tree *t,
                        struct fw_diag *diag);
void fw_policy_tree_fini(struct fw_policy_tree *t);

/* True if path ends with suffix. */
bool fw_policy_path_ends(const char *path, const char *suffix);

#endif
