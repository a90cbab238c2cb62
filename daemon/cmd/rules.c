/* fundwatch rules: the effective rule set — for a region, which policies
 * govern it (broadest first), which rules run and which are replaced (and
 * by whom); for each rule its title, its parameters with their values and
 * the YAML file:line that sets them, and its source sentence. --markdown
 * gives the table docs/rules.md carries (a test keeps the two equal). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "fundwatch/buf.h"
#include "fundwatch/i18n.h"
#include "fundwatch/value.h"

static const char usage_text[] = N_(
    "usage: fundwatch rules [--policies DIR] [--region CODE] [--markdown]\n"
    "\n"
    "The effective rule set. Without --region: every policy and rule of DIR.\n"
    "With --region: the policies that govern that region, broadest first, the\n"
    "rules that run there and those replaced (and by which policy). Each rule\n"
    "with its title, its parameters (value and the YAML file:line that sets\n"
    "it) and its source sentence. --markdown prints a table instead.\n"
    "\n"
    "  -p, --policies DIR   the policies folder (default: policies)\n"
    "  -r, --region CODE    a region code (6 or 9 digits) or prefix\n"
    "      --markdown       a Markdown table (docs/rules.md)\n"
    "      --lang zh|en     the language of messages (default: from LANG)\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 ok; 2 usage error, or policies that cannot be read or do\n"
    "not build.\n");

/* The parameters file of the policy at lua_path, parsed, or NULL. */
static struct fw_value *params_of(const struct fw_policy_tree *t,
                                  const char *lua_path)
{
    size_t n = strlen(lua_path);
    for (size_t i = 0; i < t->n; i++) {
        const char *p = t->files[i].path;
        if (strlen(p) == n + 1 && strncmp(p, lua_path, n - 4) == 0 &&
            strcmp(p + n - 4, ".yaml") == 0) {
            struct fw_error err = {0};
            return fw_yaml_parse(p, t->files[i].data, t->files[i].len, &err);
        }
    }
    return NULL;
}

/* Every scalar under v as "path = value (file:line)", joined by sep. */
static void leaves(const struct fw_value *v, struct fw_buf *path,
                   struct fw_buf *out, const char *sep, bool md)
{
    if (v->type == FW_V_MAP) {
        for (size_t i = 0; i < v->n; i++) {
            size_t at = path->len;
            fw_buf_printf(path, "%s%s", at ? "." : "", v->keys[i]->text);
            leaves(v->items[i], path, out, sep, md);
            path->len = at;
            if (path->p)
                path->p[at] = '\0';
        }
        return;
    }
    if (out->len)
        fw_buf_puts(out, sep);
    if (v->type == FW_V_LIST) {
        fw_buf_printf(out, md ? "`%s` = [%zu items] (%s:%d)"
                              : "%s = [%zu items]   %s:%d",
                      path->p ? path->p : "", v->n, v->file, v->line);
        return;
    }
    fw_buf_printf(out, md ? "`%s` = %s (%s:%d)" : "%s = %s   %s:%d",
                  path->p ? path->p : "", v->text ? v->text : "~", v->file,
                  v->line);
}

/* The parameters of rule id in the policy's YAML (its top-level key). */
static void rule_params(const struct fw_value *root, const char *id,
                        struct fw_buf *out, const char *sep, bool md)
{
    if (root == NULL || root->type != FW_V_MAP)
        return;
    for (size_t i = 0; i < root->n; i++)
        if (strcmp(root->keys[i]->text, id) == 0) {
            struct fw_buf path = FW_BUF_INIT;
            fw_buf_puts(&path, id);
            leaves(root->items[i], &path, out, sep, md);
            fw_buf_fini(&path);
        }
}

/* Keys of the YAML that are no rule's: shared parameters (grade_bands). */
static void shared_params(const struct fw_value *root,
                          const struct fw_policy_info *p, struct fw_buf *out,
                          const char *sep, bool md)
{
    if (root == NULL || root->type != FW_V_MAP)
        return;
    for (size_t i = 0; i < root->n; i++) {
        bool rule = false;
        for (size_t k = 0; k < p->n_rules && !rule; k++)
            rule = strcmp(p->rules[k].id, root->keys[i]->text) == 0;
        if (rule)
            continue;
        struct fw_buf path = FW_BUF_INIT;
        fw_buf_puts(&path, root->keys[i]->text);
        leaves(root->items[i], &path, out, sep, md);
        fw_buf_fini(&path);
    }
}

/* The length of p's longest region that is a prefix of region, or -1. */
static int governs(const struct fw_policy_info *p, const char *region)
{
    int best = -1;
    for (size_t i = 0; i < p->n_regions; i++) {
        size_t k = strlen(p->regions[i]);
        if (strncmp(p->regions[i], region, k) == 0 && (int)k > best)
            best = (int)k;
    }
    return best;
}

/* The governing policy that replaces rule id for region, or NULL. */
static const struct fw_policy_info *replacer(const struct fw_engine *e,
                                             const char *region,
                                             const char *id)
{
    for (size_t i = 0; i < fw_engine_policy_count(e); i++) {
        const struct fw_policy_info *q = fw_engine_policy(e, i);
        if (governs(q, region) < 0)
            continue;
        for (size_t k = 0; k < q->n_replaces; k++)
            if (strcmp(q->replaces[k], id) == 0)
                return q;
    }
    return NULL;
}

static void md_cell(const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", stdout);
        else if (*s == '\n')
            fputs("<br>", stdout);
        else
            putchar(*s);
    }
}

static void regions_text(const struct fw_policy_info *p, struct fw_buf *b)
{
    for (size_t i = 0; i < p->n_regions; i++)
        fw_buf_printf(b, "%s\"%s\"", i ? ", " : "", p->regions[i]);
}

struct pol {
    const struct fw_policy_info *p;
    int depth;
};

static int broadest_first(const void *a, const void *b)
{
    const struct pol *x = a, *y = b;
    if (x->depth != y->depth)
        return x->depth < y->depth ? -1 : 1;
    return strcmp(x->p->id, y->p->id);
}

int fw_cmd_rules(int argc, char **argv)
{
    struct fw_cmd_opts o;
    int rc = fw_cmd_options("rules", _(usage_text),
                            FW_OPT_POLICIES | FW_OPT_REGION | FW_OPT_MARKDOWN,
                            argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (o.argi < argc)
        return fw_cli_usage_error("rules", "unexpected argument \"%s\"",
                                  argv[o.argi]);
    struct fw_cmd_env env;
    if ((rc = fw_cmd_load("rules", &o, _("no rules shown"), &env)) != 0)
        return rc;
    const struct fw_engine *e = env.eng;
    size_t np = fw_engine_policy_count(e);
    struct pol *ps = calloc(np + 1, sizeof *ps);
    size_t n = 0;
    for (size_t i = 0; ps && i < np; i++) {
        const struct fw_policy_info *p = fw_engine_policy(e, i);
        int d = o.region ? governs(p, o.region) : 0;
        if (o.region && d < 0)
            continue;
        if (!o.region)
            for (size_t k = 0; k < p->n_regions; k++)
                if (d == 0 || (int)strlen(p->regions[k]) < d)
                    d = (int)strlen(p->regions[k]);
        ps[n++] = (struct pol){p, d};
    }
    if (ps)
        qsort(ps, n, sizeof *ps, broadest_first);
    bool md = o.markdown;
    if (md && o.region)
        printf("| 规则 rule | 标题 title | 策略 policy | 在 %s rule at %s |\n"
               "|---|---|---|---|\n", o.region, o.region);
    else if (md)
        printf("| 规则 rule | 标题 title | 策略 / 地区 policy / regions | "
               "参数 parameters (YAML) | 依据 source |\n"
               "|---|---|---|---|---|\n");
    else if (o.region)
        printf(_("region %s: %zu policies govern it, broadest first\n"),
               o.region, n);
    for (size_t i = 0; i < n; i++) {
        const struct fw_policy_info *p = ps[i].p;
        struct fw_value *yaml = params_of(&env.tree, p->path);
        struct fw_buf regions = FW_BUF_INIT;
        regions_text(p, &regions);
        if (!md) {
            printf("\n%s  %s\n  %s, regions %s", p->id, p->title ? p->title
                                                                : "",
                   p->path, regions.p ? regions.p : "");
            if (p->n_replaces) {
                printf(", replaces");
                for (size_t k = 0; k < p->n_replaces; k++)
                    printf(" %s", p->replaces[k]);
            }
            printf("\n");
            struct fw_buf sh = FW_BUF_INIT;
            shared_params(yaml, p, &sh, "\n      ", false);
            if (sh.len)
                printf("    %s\n      %s\n", _("shared parameters:"), sh.p);
            fw_buf_fini(&sh);
        }
        for (size_t k = 0; k < p->n_rules; k++) {
            const struct fw_rule_info *r = &p->rules[k];
            const struct fw_policy_info *by =
                o.region ? replacer(e, o.region, r->id) : NULL;
            struct fw_buf par = FW_BUF_INIT;
            rule_params(yaml, r->id, &par, md ? "<br>" : "\n      ", md);
            if (md && o.region) {
                printf("| `%s` | ", r->id);
                md_cell(r->title);
                printf(" | `%s` | ", p->id);
                if (by)
                    printf("replaced by `%s` (`%s`)", by->id, by->path);
                else
                    printf("runs");
                printf(" |\n");
            } else if (md) {
                printf("| `%s` | ", r->id);
                md_cell(r->title);
                printf(" | `%s`<br>`%s`<br>%s | ", p->id, p->path,
                       regions.p ? regions.p : "");
                struct fw_buf sh = FW_BUF_INIT;
                if (k == 0)
                    shared_params(yaml, p, &sh, "<br>", true);
                if (par.len)
                    md_cell(par.p);
                if (par.len && sh.len)
                    printf("<br>");
                if (sh.len)
                    md_cell(sh.p);
                if (!par.len && !sh.len)
                    printf("—");
                fw_buf_fini(&sh);
                printf(" | ");
                md_cell(r->source);
                printf(" |\n");
            } else {
                printf("  %s%s  %s\n", by ? "- " : "", r->id,
                       r->title ? r->title : "");
                if (by)
                    printf(_("      replaced here by %s (%s)\n"), by->id,
                           by->path);
                if (par.len)
                    printf("      %s\n", par.p);
                if (r->source && *r->source)
                    printf(_("      source: %s\n"), r->source);
            }
            fw_buf_fini(&par);
        }
        fw_buf_fini(&regions);
        fw_value_free(yaml);
    }
    free(ps);
    fw_cmd_env_fini(&env);
    return FW_EXIT_OK;
}
