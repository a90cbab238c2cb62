/* The policy engine: a generation of compiled, sandboxed Lua policies and the
 * router that runs them over records for an explicit clock. Records in,
 * findings out; no I/O, no threads, no global state: a generation may be
 * built on one thread and then used by another, one thread at a time. */
#ifndef FUNDWATCH_ENGINE_H
#define FUNDWATCH_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fundwatch/error.h"
#include "fundwatch/finding.h"
#include "fundwatch/record.h"

/* One file of a policies tree, already read into memory by the caller
 * (daemon/ reads folders; tests may build these by hand). path is the file
 * as the user should see it in messages, e.g. "policies/50/cq_monitor.lua";
 * rel is the same file's path inside the tree ("50/cq_monitor.lua"), which
 * the versions are computed over so that the same files give the same
 * versions wherever the tree lies (NULL: path is used). Every *.lua and
 * *.yaml of the tree is given: the engine decides which are policies,
 * parameters, tests and modules. */
struct fw_src_file {
    const char *path;
    const char *data;
    size_t len;
    const char *rel;
};

/* The sandbox's limits (docs/policies.md, "The sandbox and its limits").
 * The budget is the deterministic limit tests rely on; the time ceiling is
 * a safety net for what instructions do not measure. */
struct fw_engine_opts {
    uint64_t budget;       /* Lua instructions per hook call; 0 = default */
    bool no_budget;        /* benchmarks only: no count hook at all (and so
                              no time ceiling either) */
    bool no_evidence;      /* benchmarks only: findings without evidence */
    size_t mem_cap;        /* bytes per policy state; 0 = default */
    unsigned error_streak; /* consecutive failures before a policy is
                              suspended for the rest of the feed; 0 = default */
    uint64_t call_time_ms; /* CPU time of the calling thread per hook call,
                              in milliseconds; 0 = default */
    size_t max_string;     /* the longest string a policy can build, bytes;
                              0 = default */
    unsigned findings_per_call; /* findings one hook call may emit; past it
                              the policy is suspended for the feed; 0 = default */
    uint64_t findings_per_feed; /* findings of one policy in one feed; 0 =
                              default */
    bool lint;             /* refuse what the static checks of a policy's
                              tokens find (unknown names, literal emits that
                              cannot work); the commands and reload set it,
                              tests of the run-time defences leave it off */
};

#define FW_ENGINE_DEFAULT_BUDGET 1000000u
#define FW_ENGINE_DEFAULT_MEM_CAP (64u << 20)
#define FW_ENGINE_DEFAULT_ERROR_STREAK 100u
#define FW_ENGINE_DEFAULT_CALL_TIME_MS 1000u
#define FW_ENGINE_DEFAULT_MAX_STRING (2u << 20)
#define FW_ENGINE_DEFAULT_FINDINGS_PER_CALL 100u
#define FW_ENGINE_DEFAULT_FINDINGS_PER_FEED 1000000u

/* What an emit may carry, and what a declaration may hold: fixed bounds,
 * so that what a policy makes the engine copy is bounded too. */
#define FW_EMIT_MAX_MESSAGE 4096u  /* bytes of an emit's message */
#define FW_EMIT_MAX_FIELD 64u      /* region, dept, project, task, period */
#define FW_DECL_MAX_ID 64u         /* a policy's or a rule's id */
#define FW_DECL_MAX_TITLE 512u     /* a policy's or a rule's title */
#define FW_DECL_MAX_SOURCE 2048u   /* a rule's source citation */
#define FW_DECL_MAX_ITEMS 1000u    /* rules, regions, replaces of a policy */

struct fw_engine;

/* Compiles every policy of files[] into a new generation. On any problem
 * (syntax, declaration, YAML, duplicate ids, bad replaces...) returns NULL and
 * adds every problem to diag as "path:line: message". The files need not
 * outlive the engine. */
struct fw_engine *fw_engine_build(const struct fw_src_file *files, size_t n,
                                  const struct fw_engine_opts *opts,
                                  struct fw_diag *diag);
void fw_engine_free(struct fw_engine *e);

/* "sha256:<hex>" over every file of the generation (their paths inside the
 * tree and their contents): a content address. */
const char *fw_engine_version(const struct fw_engine *e);

/* Receives each finding; its strings live until the callback returns.
 * Non-zero stops the current call and is returned by it. */
typedef int (*fw_finding_cb)(void *ud, const struct fw_finding *f);

/* A feed's life: begin (fresh ctx.state, the clock), run each record, end
 * (on_feed_end hooks). now is days since 1970-01-01. */
int fw_engine_feed_begin(struct fw_engine *e, const char *feed, int32_t now);
int fw_engine_run(struct fw_engine *e, const struct fw_record *rec,
                  fw_finding_cb cb, void *ud);
int fw_engine_feed_end(struct fw_engine *e, fw_finding_cb cb, void *ud);

/* fundwatch explain: what each hook call did, the calls that fired nothing
 * included. Called after every call while an observer is set. */
struct fw_call_report {
    const struct fw_policy_info *policy;
    const char *hook;       /* "on_execution", "on_evaluation", ... */
    unsigned findings;      /* emitted (a replaced rule's are not) */
    const char *error;      /* the policy failed: why; or NULL */
    const char *evidence;   /* one JSON object: the fields the call read,
                               the fw.* figures, and the parameters of every
                               rule of the policy */
};
typedef void (*fw_call_observer)(void *ud, const struct fw_call_report *r);
/* Sets (or with NULL clears) the observer. */
void fw_engine_observe(struct fw_engine *e, fw_call_observer cb, void *ud);

/* Scheduled checks: runs the on_task hooks over a task record known from an
 * earlier feed against the clock now, outside any feed. */
int fw_engine_recheck(struct fw_engine *e, const struct fw_record *task,
                      int32_t now, fw_finding_cb cb, void *ud);

/* ---- what a generation holds ------------------------------------------ */

struct fw_rule_info {
    const char *id;
    const char *title;
    const char *source;
};

struct fw_policy_stats {
    uint64_t calls;          /* hook calls */
    uint64_t findings;
    uint64_t errors;         /* error findings (raised, bad emit, limits) */
    uint64_t budget_breaches;
    uint64_t mem_breaches;
    uint64_t time_breaches;  /* the CPU-time ceiling */
    uint64_t string_breaches; /* the longest-string limit */
    uint64_t findings_breaches; /* findings per call or per feed */
    uint64_t suspended;      /* records skipped while suspended */
    uint64_t nanos;          /* time spent in hooks, estimated from one
                                call in 16 (timing each costs more) */
};

struct fw_policy_info {
    const char *id;
    const char *title;
    const char *path;        /* the .lua file */
    const char *version;     /* "sha256:<hex>" of the policy's .lua + .yaml
                                and the lib/ modules of the tree */
    const char *const *regions;
    size_t n_regions;
    const char *const *replaces;
    size_t n_replaces;
    const struct fw_rule_info *rules;
    size_t n_rules;
};

size_t fw_engine_policy_count(const struct fw_engine *e);
const struct fw_policy_info *fw_engine_policy(const struct fw_engine *e,
                                              size_t i);
const struct fw_policy_stats *fw_engine_policy_stats(const struct fw_engine *e,
                                                     size_t i);
/* Zeroes every policy's figures (after a generation's tests ran on it, so
 * that what the daemon reports counts only real feeds). */
void fw_engine_stats_reset(struct fw_engine *e);
/* A record field policy i read in the current (or last) feed that no
 * column of the feed gave and that is close to a canonical field: its
 * name ("budjet"), with *near the canonical one ("budget"); NULL when
 * none. Said once per policy per feed (replay's summary, test's notes). */
const char *fw_engine_policy_missed_field(const struct fw_engine *e, size_t i,
                                          const char **near);
/* The policy index declaring a rule id, or -1. */
int fw_engine_rule_policy(const struct fw_engine *e, const char *rule);

/* The record fields a policy's source reads by a literal name (rec.budjet,
 * rec["经办人"]) that are neither canonical fields nor columns[] (the
 * column map's names): one "path:line:col: warning: ..." each into warn.
 * Returns how many, or FW_ENOMEM. */
int fw_lint_fields(const char *path, const char *src, size_t len,
                   const char *const *columns, size_t n_columns,
                   struct fw_diag *warn);

#endif
