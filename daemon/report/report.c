/* The 科长's workbook (report.h): findings collected, sorted by what an
 * officer acts on first, and written with libxlsxwriter. Money stays
 * integer fen until the cell: libxlsxwriter takes a double, so the exact
 * decimal text ("123456.78") is converted by strtod, which gives the double
 * nearest to it, and the workbook stores that double printed back at 15
 * significant digits: the same text. Amounts past 15 digits (above 10^13
 * 元) are written as text rather than rounded. */
#include "report.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xlsxwriter.h>

#include "fundwatch/i18n.h"
#include "fundwatch/record.h"

struct row {
    struct fw_finding f;   /* strings owned (strdup) */
    int state;
    int64_t first_seen_ms;
};

struct fw_report {
    struct row *rows;
    size_t n, cap;
};

struct fw_report *fw_report_new(void)
{
    return calloc(1, sizeof(struct fw_report));
}

static void row_fini(struct row *w)
{
    struct fw_finding *f = &w->f;
    free((char *)f->policy);
    free((char *)f->policy_version);
    free((char *)f->rule);
    free((char *)f->region);
    free((char *)f->dept);
    free((char *)f->project);
    free((char *)f->task);
    free((char *)f->ratio);
    free((char *)f->grade);
    free((char *)f->message);
    free((char *)f->feed);
}

void fw_report_free(struct fw_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        row_fini(&r->rows[i]);
    free(r->rows);
    free(r);
}

size_t fw_report_count(const struct fw_report *r)
{
    return r->n;
}

static bool dup(const char **dst, const char *s)
{
    *dst = NULL;
    if (s == NULL)
        return true;
    return (*dst = strdup(s)) != NULL;
}

int fw_report_add(struct fw_report *r, const struct fw_finding *f, int state,
                  int64_t first_seen_ms)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        void *p = realloc(r->rows, cap * sizeof *r->rows);
        if (p == NULL)
            return FW_ENOMEM;
        r->rows = p;
        r->cap = cap;
    }
    struct row *w = &r->rows[r->n];
    *w = (struct row){.f = *f, .state = state, .first_seen_ms = first_seen_ms};
    struct fw_finding *c = &w->f;
    bool ok = dup(&c->policy, f->policy) &
              dup(&c->policy_version, f->policy_version) &
              dup(&c->rule, f->rule) & dup(&c->region, f->region) &
              dup(&c->dept, f->dept) & dup(&c->project, f->project) &
              dup(&c->task, f->task) & dup(&c->ratio, f->ratio) &
              dup(&c->grade, f->grade) & dup(&c->message, f->message) &
              dup(&c->feed, f->feed);
    if (!ok) {
        row_fini(w);
        return FW_ENOMEM;
    }
    r->n++;
    return 0;
}

void fw_report_keep(struct fw_report *r,
                    bool (*keep)(void *ud, const struct fw_finding *f,
                                 int state),
                    void *ud)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (keep(ud, &r->rows[i].f, r->rows[i].state))
            r->rows[k++] = r->rows[i];
        else
            row_fini(&r->rows[i]);
    }
    r->n = k;
}

/* ---- replay's JSON lines ------------------------------------------------------ */

static const char *str_of(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int fw_report_add_json(struct fw_report *r, const char *line, size_t n,
                       struct fw_error *err)
{
    json_tokener *tok = json_tokener_new();
    if (tok == NULL)
        return FW_ENOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *o = json_tokener_parse_ex(tok, line, (int)n);
    enum json_tokener_error je = json_tokener_get_error(tok);
    json_tokener_free(tok);
    int rc = FW_EINVAL;
    const char *why = NULL;
    if (o == NULL || je != json_tokener_success ||
        !json_object_is_type(o, json_type_object)) {
        fw_error_set(err, FW_EINVAL, NULL,
                     _("not a finding: not one strict JSON object (%s)"),
                     o == NULL || je != json_tokener_success
                         ? json_tokener_error_desc(je)
                         : _("another JSON value"));
        json_object_put(o);
        return FW_EINVAL;
    }
    struct fw_finding f = {0};
    const char *id = str_of(o, "id"), *kind = str_of(o, "kind");
    const char *level = str_of(o, "level"), *t;
    if (id == NULL || strlen(id) != FW_ID_HEX || kind == NULL ||
        fw_fkind_parse(kind) < 0) {
        fw_error_set(err, FW_EINVAL, NULL, "%s",
                     _("not a finding: \"id\" or \"kind\" missing or wrong"));
        goto out;
    }
    memcpy(f.id, id, FW_ID_HEX + 1);
    f.kind = (enum fw_fkind)fw_fkind_parse(kind);
    if (level) {
        int lv = fw_level_parse(level);
        if (lv < 0) {
            fw_error_set(err, FW_EINVAL, NULL, _("unknown level \"%s\""),
                         level);
            goto out;
        }
        f.level = (enum fw_level)lv;
    }
    f.policy = str_of(o, "policy");
    f.policy_version = str_of(o, "policy_version");
    f.rule = str_of(o, "rule");
    f.region = str_of(o, "region");
    f.dept = str_of(o, "dept");
    f.project = str_of(o, "project");
    f.task = str_of(o, "task");
    f.ratio = str_of(o, "ratio");
    f.grade = str_of(o, "grade");
    f.message = str_of(o, "message");
    if ((t = str_of(o, "as_of")) != NULL) {
        if (fw_date_parse(t, strlen(t), &f.as_of, &why) < 0) {
            fw_error_set(err, FW_EINVAL, NULL, _("\"as_of\" \"%s\": %s"), t,
                         why);
            goto out;
        }
        f.has_as_of = true;
    }
    if ((t = str_of(o, "amount")) != NULL) {
        if (fw_money_parse(t, strlen(t), FW_UNIT_YUAN, &f.amount, &why) < 0) {
            fw_error_set(err, FW_EINVAL, NULL, _("\"amount\" \"%s\": %s"), t,
                         why);
            goto out;
        }
        f.has_amount = true;
    }
    if ((t = str_of(o, "score")) != NULL) {
        if (fw_money_parse(t, strlen(t), FW_UNIT_YUAN, &f.score, &why) < 0) {
            fw_error_set(err, FW_EINVAL, NULL, _("\"score\" \"%s\": %s"), t,
                         why);
            goto out;
        }
        f.has_score = true;
    }
    json_object *src, *v;
    if (json_object_object_get_ex(o, "source", &src)) {
        f.feed = str_of(src, "feed");
        if (json_object_object_get_ex(src, "line", &v) &&
            json_object_is_type(v, json_type_int))
            f.line = (uint64_t)json_object_get_int64(v);
    }
    int state = FW_REPORT_NO_STATE;
    if ((t = str_of(o, "state")) != NULL)
        state = strcmp(t, "open") == 0 ? FW_REPORT_OPEN : FW_REPORT_RESOLVED;
    rc = fw_report_add(r, &f, state, 0);
out:
    json_object_put(o);
    return rc;
}

/* ---- order ------------------------------------------------------------------------ */

static int cmpstr(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

/* 红灯 before 黄灯 before 提示, then by region, unit, project, date. */
static int by_urgency(const void *pa, const void *pb)
{
    const struct fw_finding *a = &((const struct row *)pa)->f;
    const struct fw_finding *b = &((const struct row *)pb)->f;
    int c;
    if (a->level != b->level)
        return a->level > b->level ? -1 : 1;
    if ((c = cmpstr(a->region, b->region)) || (c = cmpstr(a->dept, b->dept)) ||
        (c = cmpstr(a->project, b->project)) || (c = cmpstr(a->task, b->task)))
        return c;
    if (a->as_of != b->as_of)
        return a->as_of < b->as_of ? -1 : 1;
    return strcmp(a->id, b->id);
}

/* ---- cells --------------------------------------------------------------------- */

struct book {
    lxw_workbook *wb;
    lxw_format *title, *head, *money, *date, *dec, *text, *total, *total_money;
    const struct fw_report_meta *m;
    char made[32];
};

/* A decimal with two places from its integer hundredths, as a number. */
static void cents(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, int64_t v,
                  lxw_format *fmt)
{
    char text[32];
    fw_money_format(v, text);
    size_t digits = 0;
    for (const char *p = text; *p; p++)
        digits += *p >= '0' && *p <= '9';
    if (digits > 15) {
        worksheet_write_string(ws, r, c, text, NULL);
        return;
    }
    worksheet_write_number(ws, r, c, strtod(text, NULL), fmt);
}

static void str(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const char *s)
{
    if (s && *s)
        worksheet_write_string(ws, r, c, s, NULL);
}

static void date_cell(struct book *b, lxw_worksheet *ws, lxw_row_t r,
                      lxw_col_t c, bool has, int32_t days)
{
    if (!has)
        return;
    lxw_datetime dt = {0};
    fw_date_ymd(days, &dt.year, &dt.month, &dt.day);
    worksheet_write_datetime(ws, r, c, &dt, b->date);
}

static void ms_cell(struct book *b, lxw_worksheet *ws, lxw_row_t r,
                    lxw_col_t c, int64_t ms)
{
    if (ms <= 0)
        return;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    lxw_datetime dt = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 0, 0, 0};
    worksheet_write_datetime(ws, r, c, &dt, b->date);
}

static const char *level_zh(enum fw_level l)
{
    switch (l) {
    case FW_LV_RED: return "红灯";
    case FW_LV_YELLOW: return "黄灯";
    case FW_LV_INFO: return "提示";
    default: return "";
    }
}

static const char *state_zh(int s)
{
    return s == FW_REPORT_OPEN ? "未解除" : s == FW_REPORT_RESOLVED ? "已解除" : "";
}

static void source_cell(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c,
                        const struct fw_finding *f)
{
    if (f->feed == NULL)
        return;
    char buf[1024];
    if (f->line > 0)
        snprintf(buf, sizeof buf, "%s:%llu", f->feed,
                 (unsigned long long)f->line);
    else
        snprintf(buf, sizeof buf, "%s", f->feed);
    worksheet_write_string(ws, r, c, buf, NULL);
}

/* A data sheet: the title row, the header row (frozen, filtered) and the
 * column widths. Returns the worksheet. */
static lxw_worksheet *sheet(struct book *b, const char *name,
                            const char *what, const char *const *heads,
                            const double *widths, int ncol, size_t nrows)
{
    lxw_worksheet *ws = workbook_add_worksheet(b->wb, name);
    if (ws == NULL)
        return NULL;
    char title[512];
    if (strchr(what, '\n') == NULL)
        snprintf(title, sizeof title, "%s（%zu 条）  生成于 %s", what, nrows,
                 b->made);
    else /* the caller said how many of what */
        snprintf(title, sizeof title, "%.*s  生成于 %s",
                 (int)(strchr(what, '\n') - what), what, b->made);
    worksheet_write_string(ws, 0, 0, title, b->title);
    for (int c = 0; c < ncol; c++) {
        worksheet_write_string(ws, 1, (lxw_col_t)c, heads[c], b->head);
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, widths[c], NULL);
    }
    worksheet_freeze_panes(ws, 2, 0);
    worksheet_autofilter(ws, 1, 0, (lxw_row_t)(1 + nrows),
                         (lxw_col_t)(ncol - 1));
    return ws;
}

static size_t count_kind(const struct fw_report *r, enum fw_fkind k,
                         enum fw_fkind k2)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->rows[i].f.kind == k || r->rows[i].f.kind == k2;
    return n;
}

static void write_alerts(struct book *b, const struct fw_report *r)
{
    static const char *const heads[] = {
        "级别", "区划代码", "单位代码", "项目代码", "任务编号", "规则",
        "策略", "数据日期", "金额（元）", "说明", "状态", "首次发现",
        "来源", "编号"};
    static const double widths[] = {6, 10, 12, 16, 12, 20, 16, 11, 16, 80,
                                    8, 11, 36, 34};
    lxw_worksheet *ws = sheet(b, "预警", "预警（红灯、黄灯、提示）", heads,
                              widths, 14, count_kind(r, FW_FK_ALERT,
                                                     FW_FK_ALERT));
    if (ws == NULL)
        return;
    lxw_row_t at = 2;
    for (size_t i = 0; i < r->n; i++) {
        const struct row *w = &r->rows[i];
        const struct fw_finding *f = &w->f;
        if (f->kind != FW_FK_ALERT)
            continue;
        str(ws, at, 0, level_zh(f->level));
        str(ws, at, 1, f->region);
        str(ws, at, 2, f->dept);
        str(ws, at, 3, f->project);
        str(ws, at, 4, f->task);
        str(ws, at, 5, f->rule);
        str(ws, at, 6, f->policy);
        date_cell(b, ws, at, 7, f->has_as_of, f->as_of);
        if (f->has_amount)
            cents(ws, at, 8, f->amount, b->money);
        str(ws, at, 9, f->message);
        str(ws, at, 10, state_zh(w->state));
        ms_cell(b, ws, at, 11, w->first_seen_ms);
        source_cell(ws, at, 12, f);
        str(ws, at, 13, f->id);
        at++;
    }
}

/* 区划代码, 单位代码, 项目代码, 规则, 策略, 数据日期: the first six columns of
 * the clawback and score sheets. */
static void subject_cells(struct book *b, lxw_worksheet *ws, lxw_row_t at,
                          const struct fw_finding *f)
{
    str(ws, at, 0, f->region);
    str(ws, at, 1, f->dept);
    str(ws, at, 2, f->project);
    str(ws, at, 3, f->rule);
    str(ws, at, 4, f->policy);
    date_cell(b, ws, at, 5, f->has_as_of, f->as_of);
}

/* 状态, 来源, 编号 from column col: their last three columns. */
static void state_cells(lxw_worksheet *ws, lxw_row_t at, lxw_col_t col,
                        const struct row *w)
{
    str(ws, at, col, state_zh(w->state));
    source_cell(ws, at, col + 1, &w->f);
    str(ws, at, col + 2, w->f.id);
}

static void write_clawbacks(struct book *b, const struct fw_report *r)
{
    static const char *const heads[] = {
        "区划代码", "单位代码", "项目代码", "规则", "策略", "数据日期",
        "建议收回金额（元）", "比例", "说明", "状态", "来源", "编号"};
    static const double widths[] = {10, 12, 16, 20, 16, 11, 18, 8, 80, 8,
                                    36, 34};
    lxw_worksheet *ws = sheet(b, "收回建议", "收回建议（调慢补快、沉淀资金）",
                              heads, widths, 12,
                              count_kind(r, FW_FK_CLAWBACK, FW_FK_CLAWBACK));
    if (ws == NULL)
        return;
    lxw_row_t at = 2;
    for (size_t i = 0; i < r->n; i++) {
        const struct row *w = &r->rows[i];
        const struct fw_finding *f = &w->f;
        if (f->kind != FW_FK_CLAWBACK)
            continue;
        subject_cells(b, ws, at, f);
        if (f->has_amount)
            cents(ws, at, 6, f->amount, b->money);
        str(ws, at, 7, f->ratio);
        str(ws, at, 8, f->message);
        state_cells(ws, at, 9, w);
        at++;
    }
}

static void write_scores(struct book *b, const struct fw_report *r)
{
    static const char *const heads[] = {
        "区划代码", "单位代码", "项目代码", "规则", "策略", "数据日期",
        "得分", "等级", "挂钩金额（元）", "说明", "状态", "来源", "编号"};
    static const double widths[] = {10, 12, 16, 20, 16, 11, 8, 6, 16, 80, 8,
                                    36, 34};
    lxw_worksheet *ws = sheet(b, "评分", "评分与挂钩", heads, widths, 13,
                              count_kind(r, FW_FK_SCORE, FW_FK_SCORE));
    if (ws == NULL)
        return;
    lxw_row_t at = 2;
    for (size_t i = 0; i < r->n; i++) {
        const struct row *w = &r->rows[i];
        const struct fw_finding *f = &w->f;
        if (f->kind != FW_FK_SCORE)
            continue;
        subject_cells(b, ws, at, f);
        if (f->has_score)
            cents(ws, at, 6, f->score, b->dec);
        str(ws, at, 7, f->grade);
        if (f->has_amount)
            cents(ws, at, 8, f->amount, b->money);
        str(ws, at, 9, f->message);
        state_cells(ws, at, 10, w);
        at++;
    }
}

static void write_problems(struct book *b, const struct fw_report *r)
{
    static const char *const heads[] = {"类型", "策略", "规则", "区划代码",
                                        "说明", "来源", "编号"};
    static const double widths[] = {10, 16, 20, 10, 90, 36, 34};
    lxw_worksheet *ws = sheet(b, "运行问题", "运行问题（策略错误、重新加载被拒绝）",
                              heads, widths, 7,
                              count_kind(r, FW_FK_ERROR, FW_FK_OPS));
    if (ws == NULL)
        return;
    lxw_row_t at = 2;
    for (size_t i = 0; i < r->n; i++) {
        const struct fw_finding *f = &r->rows[i].f;
        if (f->kind != FW_FK_ERROR && f->kind != FW_FK_OPS)
            continue;
        str(ws, at, 0, f->kind == FW_FK_ERROR ? "策略错误" : "系统");
        str(ws, at, 1, f->policy);
        str(ws, at, 2, f->rule);
        str(ws, at, 3, f->region);
        str(ws, at, 4, f->message);
        source_cell(ws, at, 5, f);
        str(ws, at, 6, f->id);
        at++;
    }
}

/* ---- 汇总 ------------------------------------------------------------------------ */

struct unit {
    const char *region, *dept;
    uint64_t red, yellow, info, claw, score, problems;
    int64_t claw_fen, link_fen;
};

static int by_unit(const void *pa, const void *pb)
{
    const struct unit *a = pa, *b = pb;
    int c = cmpstr(a->region, b->region);
    return c ? c : cmpstr(a->dept, b->dept);
}

static int write_summary(struct book *b, const struct fw_report *r)
{
    static const char *const heads[] = {
        "区划代码", "单位代码", "红灯", "黄灯", "提示", "收回建议（条）",
        "建议收回金额（元）", "评分（条）", "挂钩金额（元）", "运行问题"};
    static const double widths[] = {10, 12, 6, 6, 6, 14, 18, 10, 16, 10};
    struct unit *u = calloc(r->n + 1, sizeof *u);
    if (u == NULL)
        return FW_ENOMEM;
    size_t nu = 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct fw_finding *f = &r->rows[i].f;
        struct unit key = {.region = f->region, .dept = f->dept};
        struct unit *x = NULL;
        for (size_t k = 0; k < nu && x == NULL; k++)
            if (by_unit(&u[k], &key) == 0)
                x = &u[k];
        if (x == NULL) {
            x = &u[nu++];
            *x = key;
        }
        switch (f->kind) {
        case FW_FK_ALERT:
            x->red += f->level == FW_LV_RED;
            x->yellow += f->level == FW_LV_YELLOW;
            x->info += f->level == FW_LV_INFO;
            break;
        case FW_FK_CLAWBACK:
            x->claw++;
            x->claw_fen += f->has_amount ? f->amount : 0;
            break;
        case FW_FK_SCORE:
            x->score++;
            x->link_fen += f->has_amount ? f->amount : 0;
            break;
        default:
            x->problems++;
        }
    }
    qsort(u, nu, sizeof *u, by_unit);
    char what[160];
    snprintf(what, sizeof what, "预算绩效预警与建议汇总（%zu 个单位，%zu 条）\n",
             nu, r->n);
    lxw_worksheet *ws = sheet(b, "汇总", what, heads, widths, 10, nu);
    if (ws == NULL) {
        free(u);
        return FW_EIO;
    }
    struct unit t = {0};
    lxw_row_t at = 2;
    for (size_t k = 0; k < nu; k++, at++) {
        const struct unit *x = &u[k];
        str(ws, at, 0, x->region);
        str(ws, at, 1, x->dept);
        uint64_t v[] = {x->red, x->yellow, x->info, x->claw};
        for (int c = 0; c < 4; c++)
            worksheet_write_number(ws, at, (lxw_col_t)(2 + c), (double)v[c],
                                   NULL);
        cents(ws, at, 6, x->claw_fen, b->money);
        worksheet_write_number(ws, at, 7, (double)x->score, NULL);
        cents(ws, at, 8, x->link_fen, b->money);
        worksheet_write_number(ws, at, 9, (double)x->problems, NULL);
        t.red += x->red;
        t.yellow += x->yellow;
        t.info += x->info;
        t.claw += x->claw;
        t.claw_fen += x->claw_fen;
        t.score += x->score;
        t.link_fen += x->link_fen;
        t.problems += x->problems;
    }
    /* the totals, below the filtered range */
    worksheet_write_string(ws, at, 0, "合计", b->total);
    worksheet_write_string(ws, at, 1, "", b->total);
    uint64_t v[] = {t.red, t.yellow, t.info, t.claw};
    for (int c = 0; c < 4; c++)
        worksheet_write_number(ws, at, (lxw_col_t)(2 + c), (double)v[c],
                               b->total);
    cents(ws, at, 6, t.claw_fen, b->total_money);
    worksheet_write_number(ws, at, 7, (double)t.score, b->total);
    cents(ws, at, 8, t.link_fen, b->total_money);
    worksheet_write_number(ws, at, 9, (double)t.problems, b->total);
    free(u);

    /* what the report is: its source, filter and policy versions */
    at += 2;
    const struct fw_report_meta *m = b->m;
    worksheet_write_string(ws, at++, 0, "说明", b->head);
    char line[1024];
    snprintf(line, sizeof line, "数据来源：%s", m && m->source ? m->source : "—");
    worksheet_write_string(ws, at++, 0, line, NULL);
    snprintf(line, sizeof line, "筛选条件：%s",
             m && m->filter && *m->filter ? m->filter : "全部");
    worksheet_write_string(ws, at++, 0, line, NULL);
    worksheet_write_string(ws, at++, 0,
                           "金额单位：元；红灯在前，其次黄灯、提示。", NULL);
    worksheet_write_string(ws, at, 0, "策略", b->head);
    worksheet_write_string(ws, at++, 1, "策略版本（内容地址）", b->head);
    /* each policy once, with every version seen */
    for (size_t i = 0; i < r->n; i++) {
        const struct fw_finding *f = &r->rows[i].f;
        if (f->policy == NULL)
            continue;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = cmpstr(r->rows[k].f.policy, f->policy) == 0 &&
                   cmpstr(r->rows[k].f.policy_version, f->policy_version) == 0;
        if (seen)
            continue;
        str(ws, at, 0, f->policy);
        str(ws, at++, 1, f->policy_version);
    }
    return 0;
}

/* The workbook at path with the formats every sheet uses. */
static int book_open(struct book *b, const char *path,
                     const struct fw_report_meta *m, struct fw_error *err)
{
    lxw_workbook_options o = {.constant_memory = LXW_FALSE,
                              .use_zip64 = LXW_TRUE};
    *b = (struct book){.m = m};
    b->wb = workbook_new_opt(path, &o);
    if (b->wb == NULL) {
        fw_error_set(err, FW_EIO, path, "%s", _("cannot create the workbook"));
        return FW_EIO;
    }
    time_t now = (time_t)((m && m->made_ms ? m->made_ms : 0) / 1000);
    if (now == 0)
        now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(b->made, sizeof b->made, "%Y-%m-%d %H:%M", &tm);
    b->title = workbook_add_format(b->wb);
    format_set_bold(b->title);
    format_set_font_size(b->title, 13);
    b->head = workbook_add_format(b->wb);
    format_set_bold(b->head);
    format_set_bg_color(b->head, 0xDDEBF7);
    format_set_border(b->head, LXW_BORDER_THIN);
    format_set_text_wrap(b->head);
    b->money = workbook_add_format(b->wb);
    format_set_num_format(b->money, "#,##0.00");
    b->dec = workbook_add_format(b->wb);
    format_set_num_format(b->dec, "0.00");
    b->date = workbook_add_format(b->wb);
    format_set_num_format(b->date, "yyyy-mm-dd");
    b->total = workbook_add_format(b->wb);
    format_set_bold(b->total);
    format_set_top(b->total, LXW_BORDER_THIN);
    b->total_money = workbook_add_format(b->wb);
    format_set_bold(b->total_money);
    format_set_top(b->total_money, LXW_BORDER_THIN);
    format_set_num_format(b->total_money, "#,##0.00");
    return 0;
}

static int book_close(struct book *b, const char *path, int rc,
                      struct fw_error *err)
{
    lxw_error le = workbook_close(b->wb);
    if (rc == 0 && le != LXW_NO_ERROR) {
        fw_error_set(err, FW_EIO, path, _("cannot write the workbook: %s"),
                     lxw_strerror(le));
        return FW_EIO;
    }
    if (rc < 0)
        fw_error_set(err, rc, path, "%s", _("out of memory"));
    return rc;
}

int fw_report_write_diff(const char *path, const struct fw_report_change *v,
                         size_t n, const char *current, const char *candidate,
                         struct fw_error *err)
{
    static const char *const change_zh[] = {"新增", "消失", "变化"};
    char src[600];
    snprintf(src, sizeof src, "现行 %s ↔ 候选 %s", current ? current : "",
             candidate ? candidate : "");
    struct fw_report_meta m = {.source = src, .made_ms = 0};
    struct book b;
    if (book_open(&b, path, &m, err) < 0)
        return FW_EIO;
    /* 差异汇总: by rule */
    static const char *const sh[] = {"规则", "新增", "消失", "变化"};
    static const double sw[] = {24, 8, 8, 8};
    struct { const char *rule; uint64_t n[3]; } *by = calloc(n + 1,
                                                              sizeof *by);
    size_t nb = 0;
    for (size_t i = 0; by && i < n; i++) {
        const char *rule = v[i].rule ? v[i].rule : "-";
        size_t k = 0;
        while (k < nb && strcmp(by[k].rule, rule) != 0)
            k++;
        if (k == nb)
            by[nb++].rule = rule;
        by[k].n[v[i].change]++;
    }
    char what[700];
    snprintf(what, sizeof what, "策略修改的影响：%s（%zu 条差异）\n", src, n);
    lxw_worksheet *ws = sheet(&b, "差异汇总", what, sh, sw, 4, nb);
    for (size_t k = 0; ws && by && k < nb; k++) {
        str(ws, (lxw_row_t)(2 + k), 0, by[k].rule);
        for (int c = 0; c < 3; c++)
            worksheet_write_number(ws, (lxw_row_t)(2 + k), (lxw_col_t)(1 + c),
                                   (double)by[k].n[c], NULL);
    }
    free(by);
    /* 差异明细: every difference */
    static const char *const dh[] = {"变化", "规则", "区划代码", "对象（区划 单位 项目 数据日期）",
                                     "现行级别", "候选级别", "现行金额（元）",
                                     "候选金额（元）", "说明"};
    static const double dw[] = {6, 22, 10, 44, 8, 8, 16, 16, 80};
    ws = sheet(&b, "差异明细", "差异明细", dh, dw, 9, n);
    for (size_t i = 0; ws && i < n; i++) {
        lxw_row_t r = (lxw_row_t)(2 + i);
        const struct fw_report_change *c = &v[i];
        str(ws, r, 0, change_zh[c->change]);
        str(ws, r, 1, c->rule);
        str(ws, r, 2, c->region);
        str(ws, r, 3, c->subject);
        str(ws, r, 4, level_zh((enum fw_level)c->level_before));
        str(ws, r, 5, level_zh((enum fw_level)c->level_after));
        if (c->has_before)
            cents(ws, r, 6, c->before, b.money);
        if (c->has_after)
            cents(ws, r, 7, c->after, b.money);
        str(ws, r, 8, c->message);
    }
    return book_close(&b, path, 0, err);
}

int fw_report_write(struct fw_report *r, const char *path,
                    const struct fw_report_meta *m, struct fw_error *err)
{
    if (r->n > 1)
        qsort(r->rows, r->n, sizeof *r->rows, by_urgency);
    struct book b;
    if (book_open(&b, path, m, err) < 0)
        return FW_EIO;
    char title[] = "预算绩效预警与建议清单", author[] = "fundwatch";
    char comments[512];
    snprintf(comments, sizeof comments, "%s",
             m && m->source ? m->source : "");
    workbook_set_properties(b.wb, &(lxw_doc_properties){
        .title = title, .author = author, .comments = comments});
    int rc = write_summary(&b, r);
    if (rc == 0) {
        write_alerts(&b, r);
        write_clawbacks(&b, r);
        write_scores(&b, r);
        write_problems(&b, r);
    }
    return book_close(&b, path, rc, err);
}
