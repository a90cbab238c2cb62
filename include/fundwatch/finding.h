/* A finding: what a policy emitted about a record, with its deterministic id
 * and its source. The JSON form is the output contract of DESIGN.md. */
#ifndef FUNDWATCH_FINDING_H
#define FUNDWATCH_FINDING_H

#include <stdbool.h>
#include <stdint.h>

struct fw_buf;

enum fw_fkind {
    FW_FK_ALERT = 0,
    FW_FK_CLAWBACK,
    FW_FK_SCORE,
    FW_FK_ERROR,  /* a policy failed on a record */
    FW_FK_OPS,    /* the daemon itself: a reload failed, ... */
    FW__FK_COUNT
};

enum fw_level { FW_LV_NONE = 0, FW_LV_INFO, FW_LV_YELLOW, FW_LV_RED, FW__LV_COUNT };

#define FW_ID_HEX 32 /* hex digits of a finding id (128 bits of sha256) */

/* Strings are borrowed: whoever fills a finding keeps them alive while it is
 * used. NULL means absent (and the key is left out of the JSON). */
struct fw_finding {
    char id[FW_ID_HEX + 1];
    enum fw_fkind kind;
    enum fw_level level;        /* alerts; FW_LV_NONE otherwise */
    const char *policy;
    const char *policy_version; /* "sha256:<hex>" */
    const char *rule;
    const char *region;
    const char *dept;
    const char *project;
    const char *task;
    bool has_as_of;
    int32_t as_of;              /* days since 1970-01-01 */
    bool has_amount;
    int64_t amount;             /* fen, signed */
    const char *ratio;          /* exact decimal text: "0.30" */
    bool has_score;
    int64_t score;              /* hundredths */
    const char *grade;          /* 优 良 中 差 */
    const char *message;
    const char *feed;           /* source */
    uint64_t line;
    /* What an officer reads first, and why it fired (NULL: absent). */
    const char *title;          /* the rule's title */
    const char *rule_source;    /* the rule's source sentence */
    const char *dept_name;      /* the record's 单位名称 */
    const char *project_name;   /* the record's 项目名称 */
    const char *evidence;       /* one JSON object recorded by the engine:
                                   fields, figures, params */
};

const char *fw_fkind_name(enum fw_fkind k);   /* "alert", ... */
const char *fw_level_name(enum fw_level l);   /* "red", ..., NULL for none */
int fw_fkind_parse(const char *s);            /* -1 if unknown */
int fw_level_parse(const char *s);            /* -1 if unknown */

/* The deterministic id: sha256 over policy, rule, region, dept, project and
 * period (each length-prefixed), first FW_ID_HEX hex digits. */
void fw_finding_make_id(const char *policy, const char *rule,
                        const char *region, const char *dept,
                        const char *project, const char *period,
                        char out[FW_ID_HEX + 1]);

/* Appends the finding as one JSON object, no newline. */
int fw_finding_json(const struct fw_finding *f, struct fw_buf *out);

#endif
