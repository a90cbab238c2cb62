/* The cmd/ room's one header: the subcommands of the one fundwatch binary
 * and what they share (common.c): the options they have in common, parsed
 * once; loading the column map and building a generation from a policies
 * folder; the numbers and dates options take. Each command returns the
 * process exit status: 0 ok, 1 problems found (rejects, failed checks or
 * tests), 2 usage or I/O error. argv[0] is the subcommand's name.
 * Everything here prints to stderr; nothing exits. */
#ifndef FUNDWATCH_DAEMON_CMD_H
#define FUNDWATCH_DAEMON_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fundwatch/engine.h"
#include "fundwatch/reader.h"
#include "policyfs.h"

enum { FW_EXIT_OK = 0, FW_EXIT_PROBLEMS = 1, FW_EXIT_USAGE = 2 };

int fw_cmd_records(int argc, char **argv);
int fw_cmd_replay(int argc, char **argv);
int fw_cmd_check(int argc, char **argv);
int fw_cmd_test(int argc, char **argv);
int fw_cmd_run(int argc, char **argv);
int fw_cmd_report(int argc, char **argv);
int fw_cmd_diff(int argc, char **argv);
int fw_cmd_rules(int argc, char **argv);
int fw_cmd_explain(int argc, char **argv);
int fw_cmd_backup(int argc, char **argv);
int fw_cmd_ack(int argc, char **argv);

/* ---- options ---------------------------------------------------------------- */

/* The options the commands share; a command names those it takes. */
enum {
    FW_OPT_POLICIES = 1u << 0, /* -p, --policies DIR */
    FW_OPT_COLUMNS = 1u << 1,  /* -m, --columns MAP */
    FW_OPT_NOW = 1u << 2,      /* -n, --now DATE */
    FW_OPT_BUDGET = 1u << 3,   /* -b, --budget N (0: no limit) */
    FW_OPT_MEMCAP = 1u << 4,   /* --mem-cap BYTES (K, M, G) */
    FW_OPT_CONFIG = 1u << 5,   /* -c, --config FILE */
    FW_OPT_QUIET = 1u << 6,    /* -q, --quiet */
    FW_OPT_OUTPUT = 1u << 7,   /* -o, --output FILE */
    FW_OPT_FINDINGS = 1u << 8, /* --findings FILE (replay's JSON lines) */
    FW_OPT_RANGE = 1u << 9,    /* --from DATE, --to DATE */
    FW_OPT_REGION = 1u << 10,  /* -r, --region CODE (a prefix) */
    FW_OPT_STATE = 1u << 11,   /* --state open|resolved|all */
    FW_OPT_CANDIDATE = 1u << 12, /* --candidate DIR */
    FW_OPT_SET = 1u << 13,     /* -s, --set PATH=VALUE, repeatable */
    FW_OPT_JSON = 1u << 14,    /* --json */
    FW_OPT_MARKDOWN = 1u << 15, /* --markdown */
    FW_OPT_XLSX = 1u << 16,    /* --xlsx FILE */
    FW_OPT_STRICT = 1u << 17,  /* --strict: warnings are problems */
    FW_OPT_ACK = 1u << 18,     /* --by NAME, --note TEXT */
};
#define FW_CMD_MAX_SET 32

struct fw_cmd_opts {
    const char *policies;          /* NULL when not given */
    const char *columns;           /* NULL: the built-in aliases only */
    const char *config;            /* NULL when not given */
    int32_t now;                   /* --now, else today */
    bool now_given;
    struct fw_engine_opts engine;  /* --budget, --mem-cap */
    bool quiet;
    const char *output, *findings, *region;
    bool has_from, has_to;
    int32_t from, to;              /* --from, --to: days, inclusive */
    int state;                     /* -1 all (default), 0 open, 1 resolved */
    const char *candidate;
    const char *set[FW_CMD_MAX_SET];
    size_t n_set;
    bool json, markdown;
    const char *xlsx;
    bool strict;
    const char *by, *note;         /* --by, --note */
    int argi;                      /* argv index of the first operand */
};

/* Parses the options in `which`, -h/--help and --lang zh|en (every command
 * takes it; main() has already chosen the language from it). Returns -1 to go on with
 * *o filled in; or the exit status to return: 0 after printing usage on
 * stdout for --help, 2 after a usage error (what was wrong, then usage, on
 * stderr). */
int fw_cmd_options(const char *cmd, const char *usage, unsigned which,
                   int argc, char **argv, struct fw_cmd_opts *o);

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

/* "fundwatch <cmd>: <message>" on stderr; returns FW_EXIT_USAGE. */
int fw_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- loading ---------------------------------------------------------------- */

struct fw_config;
struct fw_store;

/* Loads the daemon's config at path (every problem printed) and opens its
 * store read-only (the daemon may be running). Returns 0 with *st, or the
 * exit status to return (cfg finished then). cfg is the caller's to finish
 * with fw_config_fini, st to close. */
int fw_cmd_store_open(const char *cmd, const char *path,
                      struct fw_config *cfg, struct fw_store **st);

/* What replay and test run with: the column map and a generation built
 * from the policies folder. */
struct fw_cmd_env {
    struct fw_colmap *map;
    struct fw_policy_tree tree;
    struct fw_engine *eng;
};

/* Loads o->columns, then reads o->policies (default "policies") and builds
 * a generation, printing every problem. On failure prints "fundwatch <cmd>:
 * DIR: the policies could not be read; <consequence>" (or "do not build")
 * and returns FW_EXIT_USAGE with env finished; else 0. */
int fw_cmd_load(const char *cmd, const struct fw_cmd_opts *o,
                const char *consequence, struct fw_cmd_env *env);
void fw_cmd_env_fini(struct fw_cmd_env *env);

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

#endif
