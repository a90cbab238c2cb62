/* The report/ room's one header: findings as an Excel workbook for the
 * 科长, written with libxlsxwriter. Sheets 汇总 (counts and totals by
 * region and unit), 预警 (红灯 first), 收回建议, 评分 and 运行问题; Chinese
 * headers, money as numbers in 元 (#,##0.00), dates as dates, a title row
 * saying what, when and which policy generation; frozen header, autofilter.
 * Where the findings come from (the store, replay's JSON lines) is the
 * caller's; this room only collects and writes. */
#ifndef FUNDWATCH_DAEMON_REPORT_H
#define FUNDWATCH_DAEMON_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fundwatch/error.h"
#include "fundwatch/finding.h"

struct fw_report;

/* What the title rows say. Strings may be NULL. */
struct fw_report_meta {
    const char *source;   /* "store /var/lib/fundwatch/fundwatch.db", ... */
    const char *filter;   /* "区划 50, 状态 open", or NULL for all */
    int64_t made_ms;      /* when, unix ms */
};

/* Finding states as the report shows them. */
enum { FW_REPORT_NO_STATE = -1, FW_REPORT_OPEN = 0, FW_REPORT_RESOLVED = 1 };

struct fw_report *fw_report_new(void);
void fw_report_free(struct fw_report *r);

/* Adds a copy of f (every string copied); state is one of the FW_REPORT_*
 * values, first_seen_ms 0 when unknown. Returns 0 or FW_ENOMEM. */
int fw_report_add(struct fw_report *r, const struct fw_finding *f, int state,
                  int64_t first_seen_ms);
size_t fw_report_count(const struct fw_report *r);

/* Parses one line of replay's output (the findings contract of DESIGN.md,
 * strict JSON) and adds it. Returns 0, FW_EINVAL with err's msg saying what
 * is wrong (the caller adds file:line), or FW_ENOMEM. */
int fw_report_add_json(struct fw_report *r, const char *line, size_t n,
                       struct fw_error *err);

/* Keeps only the findings keep() says yes to. */
void fw_report_keep(struct fw_report *r,
                    bool (*keep)(void *ud, const struct fw_finding *f,
                                 int state),
                    void *ud);

/* Writes the workbook to path (replaced). Returns 0 or FW_EIO with err set.
 */
int fw_report_write(struct fw_report *r, const char *path,
                    const struct fw_report_meta *m, struct fw_error *err);

/* fundwatch diff --xlsx: the differences between two generations' findings,
 * one row each, and counts by rule. */
struct fw_report_change {
    int change;                    /* 0 added, 1 removed, 2 changed */
    const char *rule, *region;
    const char *subject;           /* "region dept project as_of" */
    const char *message;
    int level_before, level_after; /* enum fw_level; FW_LV_NONE: none */
    bool has_before, has_after;    /* amounts, fen */
    int64_t before, after;
};
int fw_report_write_diff(const char *path, const struct fw_report_change *v,
                         size_t n, const char *current, const char *candidate,
                         struct fw_error *err);

#endif
