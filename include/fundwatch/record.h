/* One normalised budget-execution record, and the exact value types it holds:
 * money as int64 fen, dates as day numbers, percents and scores as int64
 * hundredths. No binary floats anywhere. Pure: no I/O. */
#ifndef FUNDWATCH_RECORD_H
#define FUNDWATCH_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The canonical fields of DESIGN.md, in its order. */
enum fw_field {
    FW_F_KIND,
    FW_F_REGION,
    FW_F_YEAR,
    FW_F_DEPT,
    FW_F_DEPT_NAME,
    FW_F_PROJECT,
    FW_F_PROJECT_NAME,
    FW_F_CATEGORY,
    FW_F_FUND_TYPE,
    FW_F_IS_NEW,
    FW_F_BUDGET,
    FW_F_PAID,
    FW_F_BASE,
    FW_F_AS_OF,
    FW_F_GOAL_RATE,
    FW_F_SCORE,
    FW_F_REVIEW_SCORE,
    FW_F_OUTPUT_PTS,
    FW_F_BENEFIT_PTS,
    FW_F_SATISFACTION_PTS,
    FW_F_REASON,
    FW_F_TASK,
    FW_F_TASK_NAME,
    FW_F_DUE,
    FW_F_DONE_ON,
    FW__F_COUNT
};

/* How a field's value is held in fw_record.num. */
enum fw_ftype {
    FW_T_TEXT,    /* str only */
    FW_T_KIND,    /* num = enum fw_rkind */
    FW_T_REGION,  /* str = the 6 or 9 digits; num unused */
    FW_T_YEAR,    /* num = the year */
    FW_T_BOOL,    /* num = 0 or 1 */
    FW_T_MONEY,   /* num = fen */
    FW_T_DATE,    /* num = days since 1970-01-01 */
    FW_T_HUNDREDTHS, /* percent or score: num = value × 100, exact */
};

enum fw_rkind { FW_RK_EXECUTION = 0, FW_RK_EVALUATION, FW_RK_TASK, FW__RK_COUNT };

struct fw_field_info {
    const char *name;  /* canonical: "budget" */
    const char *zh;    /* built-in Chinese alias: "指标金额" */
    enum fw_ftype type;
};

/* Indexed by enum fw_field. */
extern const struct fw_field_info fw_fields[FW__F_COUNT];

const char *fw_rkind_name(enum fw_rkind k); /* "execution", ... */
/* Looks a canonical field name up; returns -1 if unknown. */
int fw_field_by_name(const char *name, size_t n);

/* A byte string that is not necessarily NUL-terminated. */
struct fw_str {
    const char *p;
    size_t n;
};

/* A record as the reader hands it out. Every pointer points into memory the
 * reader owns, valid only until the record callback returns: copy what you
 * keep. Text is UTF-8 (GBK feeds are converted). */
struct fw_record {
    enum fw_rkind kind;
    uint32_t present;                /* bit (1u << field) when the field has a value */
    int64_t num[FW__F_COUNT];        /* see enum fw_ftype */
    struct fw_str str[FW__F_COUNT];  /* the text as read, unquoted, UTF-8 */
    /* Columns that map to no canonical field, by their header name. */
    size_t n_extra;
    const struct fw_str *extra_name;
    const struct fw_str *extra_val;
    /* Where it came from. */
    const char *feed;  /* the feed path as given */
    uint64_t line;     /* 1-based line where the record starts */
};

static inline bool fw_record_has(const struct fw_record *r, enum fw_field f)
{
    return (r->present >> f) & 1u;
}

/* ---- exact values ---------------------------------------------------- */

/* Units a money column may be declared in: the power of ten of one unit in
 * yuan. */
enum fw_unit {
    FW_UNIT_YUAN = 0,
    FW_UNIT_QIAN = 3,
    FW_UNIT_WAN = 4,
    FW_UNIT_YI = 8
};

/* Parses money text ("1234", "1,234.56", "-12.30", "¥1,234.56", "１２" is
 * junk) in the given unit into fen. On failure returns FW_EINVAL and sets
 * *why to a short plain-words reason ("more than two decimals", "not a
 * number", "too large"). */
int fw_money_parse(const char *s, size_t n, enum fw_unit unit, int64_t *fen,
                   const char **why);
/* Prints fen as yuan with exactly two decimals: "-1234.50". out holds at
 * least 24 bytes. Returns the length. */
size_t fw_money_format(int64_t fen, char *out);

/* Parses "2025-08-31", "2025/8/31", "2025.8.31", "20250831",
 * "2025年8月31日". */
int fw_date_parse(const char *s, size_t n, int32_t *days, const char **why);
/* "2025-08-31"; out holds at least 11 bytes. Returns the length (10). */
size_t fw_date_format(int32_t days, char *out);
int32_t fw_date_from_ymd(int y, int m, int d); /* no validation */
void fw_date_ymd(int32_t days, int *y, int *m, int *d);
bool fw_date_valid(int y, int m, int d);
int fw_month_days(int y, int m);

/* Parses a decimal with at most `scale` decimals (trailing "%" allowed when
 * pct) into value × 10^scale. */
int fw_decimal_parse(const char *s, size_t n, int scale, bool pct,
                     int64_t *out, const char **why);
/* Prints value / 10^scale with exactly `scale` decimals. */
size_t fw_decimal_format(int64_t v, int scale, char *out);

#endif
