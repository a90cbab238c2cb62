/* What the offline commands (replay, check, test) share: reading the
 * policies folder and building a generation from it, the clock and the
 * numbers their options take. Messages go to stderr in the compiler form. */
#ifndef FUNDWATCH_DAEMON_CMDUTIL_H
#define FUNDWATCH_DAEMON_CMDUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fundwatch/engine.h"
#include "policyfs.h"
#include "sys.h"

/* Reads dir into t and builds a generation. Every problem is printed on
 * stderr, one "file:line: message" a line. Returns the engine, or NULL with
 * *unreadable set when the folder or a file could not be read (an I/O
 * problem) and clear when the policies themselves are wrong; *problems
 * (if not NULL) gets the number of lines printed. t must be finished with
 * fw_policy_tree_fini either way. */
struct fw_engine *fw_cmd_build(const char *dir,
                               const struct fw_engine_opts *opts,
                               struct fw_policy_tree *t, bool *unreadable,
                               size_t *problems);

/* Prints every item of d on stderr, one a line. */
void fw_cmd_print_diag(const struct fw_diag *d);

/* "--now" text in any date form the reader accepts. On failure prints
 * "fundwatch <cmd>: --now "<text>": <why>" and returns false. */
bool fw_cmd_parse_now(const char *cmd, const char *text, int32_t *days);

/* A whole number (digits only), optionally followed by K, M or G (powers of
 * 1024) when suffixes is set. On failure prints why and returns false. */
bool fw_cmd_parse_count(const char *cmd, const char *opt, const char *text,
                        bool suffixes, uint64_t *out);

/* The installed config, FW_SYSCONFDIR/fundwatch/fundwatch.yaml. */
#ifndef FW_SYSCONFDIR
#define FW_SYSCONFDIR "/etc"
#endif
#define FW_SYSTEM_CONFIG FW_SYSCONFDIR "/fundwatch/fundwatch.yaml"

/* The config a daemon command reads when no -c is given: ./fundwatch.yaml
 * when it exists, else FW_SYSTEM_CONFIG when that exists (an installed
 * system), else ./fundwatch.yaml (whose absence is then reported). *system
 * is set when FW_SYSTEM_CONFIG was chosen. */
const char *fw_cmd_default_config(bool *system);

#endif
