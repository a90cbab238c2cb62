/* The evidence of a finding, recorded by the engine and not typed by the
 * policy: the record fields the hook read (money in yuan with two
 * decimals, dates ISO, as an officer knows them), the figures of the fw.*
 * helpers it called (支出进度, 序时进度, lag), and the parameters of the
 * rule with the YAML file:line that set each. Pure: bytes in, JSON out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "fundwatch/buf.h"

void fw__trace_extra(struct fw_engine *e, const char *name, size_t n)
{
    struct fw__trace *t = &e->trace;
    for (int i = 0; i < t->n_extra; i++)
        if (t->extra[i].n == n && memcmp(t->extra[i].p, name, n) == 0)
            return;
    if (t->n_extra < FW__TRACE_EXTRA) {
        t->extra[t->n_extra].p = name;
        t->extra[t->n_extra++].n = n;
    }
}

void fw__trace_fig_of(struct fw_engine *e, const char *name, int kind,
                      int64_t a, int64_t b)
{
    struct fw__trace *t = &e->trace;
    int i = 0;
    /* the names are fw.*'s own literals: the same pointer, nearly always */
    while (i < t->n_fig && t->fig[i].name != name &&
           (t->fig[i].name[0] != name[0] || strcmp(t->fig[i].name, name) != 0))
        i++;
    if (i == t->n_fig) {
        if (t->n_fig == FW__TRACE_FIGS)
            return;
        t->fig[t->n_fig++].name = name;
    }
    t->fig[i].kind = kind; /* the last one computed */
    t->fig[i].a = a;
    t->fig[i].b = b;
}

void fw__trace_fig(struct fw_engine *e, const char *name, int64_t h)
{
    fw__trace_fig_of(e, name, FW__FIG_VALUE, h, 0);
}

/* ---- the parameters of each rule ------------------------------------------------ */

static void leaves(const struct fw_value *v, struct fw_buf *path,
                   struct fw_buf *out, size_t *n)
{
    if (v->type == FW_V_MAP) {
        for (size_t i = 0; i < v->n; i++) {
            size_t at = path->len;
            fw_buf_printf(path, "%s%s", at ? "." : "", v->keys[i]->text);
            leaves(v->items[i], path, out, n);
            path->len = at;
            if (path->p)
                path->p[at] = '\0';
        }
        return;
    }
    fw_buf_puts(out, (*n)++ ? ",{\"name\":" : "{\"name\":");
    fw_buf_json_str(out, path->p ? path->p : "", path->len);
    fw_buf_puts(out, ",\"value\":");
    if (v->type == FW_V_LIST) {
        fw_buf_puts(out, "[");
        for (size_t i = 0; i < v->n; i++) {
            const char *t = v->items[i]->text ? v->items[i]->text : "";
            fw_buf_puts(out, i ? "," : "");
            fw_buf_json_str(out, t, strlen(t));
        }
        fw_buf_puts(out, "]");
    } else {
        const char *t = v->text ? v->text : "";
        fw_buf_json_str(out, t, strlen(t));
    }
    fw_buf_printf(out, ",\"at\":\"%s:%d\"}", v->file ? v->file : "",
                  v->line);
}

static void key_leaves(const struct fw_value *root, size_t i,
                       struct fw_buf *out, size_t *n)
{
    struct fw_buf path = FW_BUF_INIT;
    fw_buf_puts(&path, root->keys[i]->text);
    leaves(root->items[i], &path, out, n);
    fw_buf_fini(&path);
}

/* Shared parameters with more leaves than this are left out. */
#define SHARED_MAX 8

static size_t count_leaves(const struct fw_value *v)
{
    if (v->type != FW_V_MAP)
        return 1;
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++)
        n += count_leaves(v->items[i]);
    return n;
}

int fw__evidence_params(struct fw__policy *p, const struct fw_value *params)
{
    if (p->n_rules == 0)
        return 0;
    p->rule_params = calloc(p->n_rules, sizeof *p->rule_params);
    if (p->rule_params == NULL)
        return FW_ENOMEM;
    if (params == NULL || params->type != FW_V_MAP)
        return 0;
    for (size_t k = 0; k < p->n_rules; k++) {
        struct fw_buf out = FW_BUF_INIT;
        size_t n = 0;
        fw_buf_putc(&out, '[');
        for (size_t i = 0; i < params->n; i++)
            if (strcmp(params->keys[i]->text, p->rules[k].id) == 0)
                key_leaves(params, i, &out, &n);
        /* keys that are no rule's are shared by all (grade_bands): shown
         * when small; a table (a deadline list) is not a threshold */
        for (size_t i = 0; i < params->n; i++) {
            bool rule = false;
            for (size_t j = 0; j < p->n_rules && !rule; j++)
                rule = strcmp(params->keys[i]->text, p->rules[j].id) == 0;
            if (!rule && count_leaves(params->items[i]) <= SHARED_MAX)
                key_leaves(params, i, &out, &n);
        }
        fw_buf_putc(&out, ']');
        if (out.p == NULL)
            return FW_ENOMEM;
        p->rule_params[k] = out.p;
    }
    return 0;
}

/* ---- the JSON of a finding's evidence ------------------------------------------------- */

static void field_value(const struct fw_record *r, int f, struct fw_buf *b)
{
    char t[48];
    size_t n = 0;
    switch (fw_fields[f].type) {
    case FW_T_KIND:
        fw_buf_printf(b, "\"%s\"", fw_rkind_name(r->kind));
        return;
    case FW_T_YEAR:
        fw_buf_put_i64(b, r->num[f]);
        return;
    case FW_T_BOOL:
        fw_buf_puts(b, r->num[f] ? "true" : "false");
        return;
    case FW_T_MONEY:
        t[0] = '"';
        n = 1 + fw_money_format(r->num[f], t + 1);
        break;
    case FW_T_DATE:
        t[0] = '"';
        n = 1 + fw_date_format((int32_t)r->num[f], t + 1);
        break;
    case FW_T_HUNDREDTHS:
        t[0] = '"';
        n = 1 + fw_decimal_format(r->num[f], 2, t + 1);
        break;
    default:
        fw_buf_json_str(b, r->str[f].p, r->str[f].n);
        return;
    }
    t[n++] = '"';
    fw_buf_append(b, t, n);
}

int fw__evidence_json(const struct fw_engine *e, const struct fw__policy *p,
                      int rule, struct fw_buf *out)
{
    const struct fw__trace *t = &e->trace;
    const struct fw_record *r = e->rec;
    fw_buf_puts(out, "{\"fields\":{");
    size_t n = 0;
    for (int f = 0; r && f < FW__F_COUNT; f++) {
        if (!(t->fields & ((uint64_t)1 << f)))
            continue;
        fw_buf_puts(out, n++ ? ",\"" : "\"");
        fw_buf_puts(out, fw_fields[f].name);
        fw_buf_puts(out, "\":");
        if (f != FW_F_KIND && !fw_record_has(r, (enum fw_field)f))
            fw_buf_puts(out, "null");
        else
            field_value(r, f, out);
    }
    for (int i = 0; r && i < t->n_extra; i++) {
        fw_buf_puts(out, n++ ? "," : "");
        fw_buf_json_str(out, t->extra[i].p, t->extra[i].n);
        fw_buf_putc(out, ':');
        bool found = false;
        for (size_t k = 0; k < r->n_extra && !found; k++)
            if (r->extra_name[k].n == t->extra[i].n &&
                memcmp(r->extra_name[k].p, t->extra[i].p, t->extra[i].n) ==
                    0) {
                fw_buf_json_str(out, r->extra_val[k].p, r->extra_val[k].n);
                found = true;
            }
        if (!found)
            fw_buf_puts(out, "null");
    }
    fw_buf_puts(out, "},\"figures\":{");
    for (int i = 0; i < t->n_fig; i++) {
        char d[40];
        size_t dl = fw_decimal_format(
            fw__fig_value(t->fig[i].kind, t->fig[i].a, t->fig[i].b), 2, d);
        fw_buf_puts(out, i ? ",\"" : "\"");
        fw_buf_puts(out, t->fig[i].name);
        fw_buf_puts(out, "\":\"");
        fw_buf_append(out, d, dl);
        fw_buf_putc(out, '"');
    }
    fw_buf_puts(out, "},\"params\":");
    if (rule < 0) { /* explain: every rule's, by rule */
        fw_buf_putc(out, '{');
        for (size_t k = 0; k < p->n_rules; k++) {
            fw_buf_printf(out, "%s\"%s\":%s", k ? "," : "", p->rules[k].id,
                          p->rule_params && p->rule_params[k]
                              ? p->rule_params[k] : "[]");
        }
        fw_buf_putc(out, '}');
        return fw_buf_putc(out, '}');
    }
    int k = rule - p->rule_base;
    const char *ps = p->rule_params && k >= 0 && (size_t)k < p->n_rules
                         ? p->rule_params[k] : NULL;
    fw_buf_puts(out, ps ? ps : "[]");
    return fw_buf_putc(out, '}');
}
