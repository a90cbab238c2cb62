/* What engine.c (routing, findings, generations) and the Lua host
 * (lua_host.c, lua_fw.c: the only files that include lua.h) share. Not
 * public: daemon/ sees include/fundwatch/engine.h only. */
#ifndef FUNDWATCH_ENGINE_INT_H
#define FUNDWATCH_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fundwatch/buf.h"
#include "fundwatch/engine.h"
#include "fundwatch/error.h"
#include "fundwatch/record.h"
#include "fundwatch/value.h"

enum fw__hook {
    FW__H_EXECUTION = 0, /* indexed by enum fw_rkind for the first three */
    FW__H_EVALUATION,
    FW__H_TASK,
    FW__H_FEED_END,
    FW__H_COUNT
};

extern const char *const fw__hook_names[FW__H_COUNT];

/* A limit broken by a hook call. Once set, no Lua code of that policy runs
 * for the rest of the call: every way back into it raises again. */
enum fw__breach {
    FW__B_NONE = 0,
    FW__B_BUDGET,
    FW__B_TIME,
    FW__B_MEMORY,
    FW__B_STRING,
    FW__B_FINDINGS,     /* per call or per feed: the policy is suspended */
};

/* The instructions between two count-hook ticks: the budget is charged in
 * steps of this many (or of the budget itself when it is smaller). */
#define FW__BUDGET_STEP 10000u

/* Dates a policy state keeps as strings (a power of two). */
#define FW__DATE_SLOTS 64u
/* Rule names ctx.active keeps (a power of two). */
#define FW__ACTIVE_SLOTS 16u

struct fw_engine;

struct fw__policy {
    struct fw_engine *e;
    int index;
    void *L;                    /* lua_State *, owned by the host */

    /* The declaration (strings owned). */
    char *id, *title, *path;
    char version[7 + 64 + 1];   /* "sha256:" + hex */
    int decl_line;              /* line of the policy { } call */
    bool yaml_bad;              /* its .yaml is there but did not parse */
    /* A record field read in this feed that no column gave and that is
     * close to a canonical one (params.c): "budjet", and "budget". */
    char missed[48];
    const char *missed_near;
    unsigned miss_tries;
    char **regions;
    size_t n_regions;
    size_t min_prefix;          /* length of the broadest region prefix */
    char **replaces;
    size_t n_replaces;
    int *replaces_rule;         /* global rule index of each, after linking */
    struct fw_rule_info *rules;
    size_t n_rules;
    int rule_base;              /* global index of rules[0] */
    bool has_hook[FW__H_COUNT];
    int hook_line[FW__H_COUNT];
    const char *const *region_list; /* = regions, for fw_policy_info */
    struct fw_policy_info info;
    struct fw_policy_stats st;

    /* Limits, charged by the host. */
    size_t mem, mem_cap;
    int64_t left;               /* instructions left in this call */
    bool limits_on;             /* false while the host sets itself up */
    enum fw__breach breach;     /* the limit this call broke, or none */
    char breach_msg[FW_MSG_MAX]; /* "path:line: 中文 — English" */
    void *cur;                  /* the running thread (lua_State *): the
                                   main one, or a coroutine being resumed */
    bool killed;                /* the main thread's hook is in kill mode */
    uint64_t wall0;             /* coarse monotonic ns at the call's start */
    uint64_t cpu_base;          /* thread CPU ns taken as the call's start */
    bool cpu_set;               /* cpu_base is set (first tick of the call) */
    uint64_t unclocked;         /* work charged since the clock was read */
    bool mem_refused;           /* the allocator refused the request
                                   refused_ptr/size once (Lua collects and
                                   asks again: a second refusal breaks) */
    void *refused_ptr;
    size_t refused_size;
    char mem_msg[FW_MSG_MAX];   /* the place and words of that refusal */
    unsigned call_findings;     /* findings of the call in progress */
    uint64_t feed_findings;     /* findings of this feed */

    /* Registry references of the host. */
    int hook_ref[FW__H_COUNT];
    int ctx_ref, rec_mt_ref;
    /* Dates as Lua strings, kept (lua_rec.c fw__host_push_date): a feed has
     * few distinct dates, and a string made anew for every rec.as_of or
     * fw.in_year was a third of a record's reads. Slot s holds the string
     * of day date_day[s] at registry reference date_ref[s] (0: none yet);
     * slots go in pairs, date_last naming the one of a pair used last. */
    int32_t date_day[FW__DATE_SLOTS];
    int date_ref[FW__DATE_SLOTS];
    unsigned char date_last[FW__DATE_SLOTS / 2];
    /* ctx.active's rule names (lua_host.c): the address of the string a
     * call passed and the global rule index + 1 it named. */
    const char *active_key[FW__ACTIVE_SLOTS];
    int active_rule[FW__ACTIVE_SLOTS];

    /* Evidence: per rule (local index), its parameters as a JSON array. */
    char **rule_params;

    /* Consecutive failures, and suspension for the rest of a feed. */
    unsigned streak;
    bool suspended;
};

/* What a policy asked to emit, validated by the host. Strings are borrowed
 * from the Lua state for the duration of fw__engine_emit. */
struct fw__emit {
    enum fw_fkind kind;
    enum fw_level level;
    int rule;                   /* global rule index */
    const char *message;
    bool has_amount;
    int64_t amount;
    const char *ratio;
    bool has_score;
    int64_t score;
    const char *grade;
    /* Overrides of what the record gives (on_feed_end has no record). */
    const char *region, *dept, *project, *task, *period;
    bool has_as_of;
    int32_t as_of;
};

/* What the hook call in progress read, recorded by the engine for the
 * evidence of its findings (evidence.c): the record's canonical fields
 * (a bit each), other columns by name, and the figures fw.* computed. Reset
 * before every call; costs a bit set per field read. */
#define FW__TRACE_EXTRA 8
#define FW__TRACE_FIGS 8
struct fw__trace {
    uint64_t fields;
    struct { const char *p; size_t n; } extra[FW__TRACE_EXTRA];
    int n_extra;
    /* A figure is kept as what it is computed from (FW__FIG_SEQ: a date;
     * FW__FIG_PROGRESS: paid and budget) or as its value (FW__FIG_VALUE, in
     * a): it is worked out only when a finding's evidence is written. */
    struct {
        const char *name;
        int kind;
        int64_t a, b;
    } fig[FW__TRACE_FIGS];
    int n_fig;
};
_Static_assert(FW__F_COUNT <= 64, "a field is a bit of fw__trace.fields");

/* Regions whose policies and replaced rules the engine keeps (in pairs, a
 * power of two), and the longest region code kept (longer ones are worked out per
 * record). */
#define FW__MEMO_SLOTS 64u
#define FW__MEMO_KEY 24u

struct fw_engine {
    struct fw_engine_opts opts;
    char version[7 + 64 + 1];
    struct fw__policy *pol;
    size_t n_pol;
    size_t *order;              /* policy indices, broadest prefix first */

    /* Every rule of the generation, by global index. */
    const char **rule_id;
    int *rule_pol;
    size_t n_rules;

    /* The call in progress. */
    const char *feed;
    char *feed_copy;
    int32_t now;
    bool in_feed;
    const struct fw_record *rec;  /* NULL in on_feed_end */
    uint64_t rec_serial;          /* a record handed to Lua is readable only
                                     while its serial is current */
    const unsigned char *replaced; /* n_rules flags for rec's region */
    unsigned char *replaced_own;  /* where mark_replaced works them out */
    /* What a region needs, worked out once per region (engine.c
     * region_memo): the rules replaced there (n_rules flags), then whether
     * each policy governs it (n_pol flags, in e->order's order). */
    struct fw__region_memo {
        char key[FW__MEMO_KEY];
        uint64_t a, b;            /* its first and last 8 bytes (engine.c) */
        unsigned char len;        /* 0: empty */
        unsigned char *flags;
    } memo[FW__MEMO_SLOTS];
    unsigned char memo_last[FW__MEMO_SLOTS / 2]; /* of each pair, the one
                                                    used last */
    unsigned char *memo_flags;    /* the slots' flags, one block */
    fw_finding_cb cb;
    void *ud;
    int cb_rc;                    /* non-zero once a callback said stop */
    struct fw__trace trace;       /* of the call in progress */
    char names[2][256];           /* dept_name, project_name of a finding */
    struct fw_buf subj_buf, ev_buf; /* a finding's subject and evidence,
                                       kept from one emit to the next */
    fw_call_observer observer;    /* explain */
    void *observer_ud;
    unsigned call_findings;       /* emitted by the call in progress */
};

/* ---- evidence (evidence.c) ----------------------------------------------- */

static inline void fw__trace_field(struct fw_engine *e, int f)
{
    e->trace.fields |= (uint64_t)1 << f;
}
void fw__trace_extra(struct fw_engine *e, const char *name, size_t n);
/* A figure of fw.*, in hundredths (seq, progress, lag). */
void fw__trace_fig(struct fw_engine *e, const char *name, int64_t h);
enum { FW__FIG_VALUE, FW__FIG_SEQ, FW__FIG_PROGRESS };
/* The same, left to be worked out if a finding needs it: kind FW__FIG_SEQ
 * of the date a (days), FW__FIG_PROGRESS of paid a and budget b > 0. */
void fw__trace_fig_of(struct fw_engine *e, const char *name, int kind,
                      int64_t a, int64_t b);
/* The value of a figure so kept, in hundredths (lua_fw.c); a FW__FIG_VALUE
 * is its a. */
int64_t fw__fig_value(int kind, int64_t a, int64_t b);
/* At build: the parameters of each rule of p (its key in the YAML, and
 * the keys that are no rule's) as JSON arrays with their file:line. */
int fw__evidence_params(struct fw__policy *p, const struct fw_value *params);
/* The evidence of a finding of p's rule (global index) fired by the call in
 * progress, as one JSON object. */
int fw__evidence_json(const struct fw_engine *e, const struct fw__policy *p,
                      int rule, struct fw_buf *out);

/* ---- the host (lua_host.c) -------------------------------------------- */

/* Creates p's sandboxed state and runs the policy chunk src (the file at
 * p->path) with params (may be NULL) as ctx.params, filling the declaration
 * fields of p. modules/n_modules: the tree's lib/ files for require. Every
 * problem goes to diag as "path:line: message"; returns 0 or FW_EINVAL. */
int fw__host_load(struct fw__policy *p, const char *src, size_t len,
                  const struct fw_value *params,
                  const struct fw_src_file *modules, size_t n_modules,
                  struct fw_diag *diag);

/* After every policy is loaded: gives the state the generation's rule
 * table (for ctx.active and emits). */
int fw__host_link(struct fw__policy *p);

/* A fresh ctx.state, ctx.feed and ctx.now for a feed (or a recheck). */
int fw__host_begin(struct fw__policy *p, const char *feed, int32_t now);

/* Calls hook h of p (on the engine's current record, or none for
 * on_feed_end). Returns 0; the callback's non-zero result; or FW_EPOLICY /
 * FW_ELIMIT with msg holding "path:line: what went wrong". */
int fw__host_call(struct fw__policy *p, enum fw__hook h, char *msg,
                  size_t msglen);

void fw__host_free(struct fw__policy *p);

/* Breaks the call with limit b: records the message (fmt, in both
 * languages; the innermost Lua line is put before it) and raises. Never
 * returns. */
void fw__host_breach(void *L, enum fw__breach b, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

/* Charges n units of work done in C (pattern steps, elements moved) to the
 * call's instruction budget and checks the time ceiling; breaks the call
 * when either is used up. */
void fw__host_charge(void *L, uint64_t n);

/* The longest string a policy may build (opts.max_string). */
size_t fw__host_max_string(void *L);

/* When the table at idx is a read-only ctx.params proxy: replaces it on the
 * stack by the table behind it and returns true. */
bool fw__host_params_unwrap(void *L, int idx);

/* ---- the bounded library (lua_lib.c) --------------------------------- */

/* Replaces, in the state's string and table libraries, every function that
 * could loop in C unseen by the count hook with a bounded one: string.find,
 * match, gmatch, gsub (a step-counted matcher), string.rep, table.insert,
 * remove, move, concat, unpack, sort (range checks, no __len/__index
 * honoured in their C loops, work charged to the budget). */
void fw__lib_bound(void *L);

/* ---- helpers the host registers as fw.* (lua_fw.c) -------------------- */

/* Opens the fw table on the stack's top (lua_State *). */
void fw__fwlib_open(void *L);
/* The record behind a record value handed to the current hook, or NULL. */
const struct fw_record *fw__host_record(void *L, int idx);

/* A percent or score at stack index idx as exact hundredths (an integer, a
 * number of at most two decimals, or decimal text); raises a Lua error
 * naming fn and what otherwise. */
int64_t fw__lua_hundredths(void *L, int idx, const char *fn, const char *what);

/* ---- the engine (engine.c), called back by the host ------------------- */

/* Fills the finding from the current record and em, and hands it to the
 * callback unless the rule is replaced for the record's region. Returns the
 * callback's result. */
int fw__engine_emit(struct fw__policy *p, const struct fw__emit *em);

/* The global index of a rule id, or -1. */
int fw__engine_rule(const struct fw_engine *e, const char *id);

#endif
