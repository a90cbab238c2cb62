/* fundwatch check: compiles every policy and its YAML, checks every policy
 * test file's structure, and reports every problem as file:line: message,
 * as a compiler would. Runs nothing over records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "fundwatch/i18n.h"
#include "config.h"
#include "feedio.h"
#include "testrun.h"

static const char usage_text[] = N_(
    "usage: fundwatch check [--policies DIR] [-c CONFIG] [--strict]\n"
    "\n"
    "Compiles every policy (*.lua) of DIR with its parameters (*.yaml) as the\n"
    "daemon would on a reload, checks every parameter against the policy's\n"
    "params = { ... }, reads the Lua for names that do not exist (alart,\n"
    "fw.lagg), emits of rules the policy does not declare and record fields\n"
    "no column gives (rec.budjet, a warning), and checks the structure of\n"
    "every test file (*_test.yaml). Prints every problem as\n"
    "\"file:line:col: message\", then \"N policies, N rules: ok\" only when\n"
    "nothing is wrong.\n"
    "\n"
    "With -c, first checks the daemon's config file: every key known, every\n"
    "value valid (\"file:line:col: message\"), its column map, the folders of\n"
    "the database and outbox writable; then the policies folder it names.\n"
    "\n"
    "  -p, --policies DIR   the policies folder (default: policies, or the\n"
    "                       config's policies with -c; given, it wins)\n"
    "  -c, --config FILE    check a daemon config file (fundwatch.yaml) too\n"
    "      --strict         warnings are problems too\n"
    "      --lang zh|en     the language of messages (default: from LANG)\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 no problem, 1 problems found, 2 usage error or a folder\n"
    "or file that cannot be read (the config file among them).\n");

/* path relative to the current folder when it is inside it, so messages
 * read as the user would type them; else path itself. */
static const char *shown(const char *path)
{
    static char cwd[4096];
    if (getcwd(cwd, sizeof cwd) == NULL)
        return path;
    size_t n = strlen(cwd);
    if (n > 1 && strncmp(path, cwd, n) == 0 && path[n] == '/' && path[n + 1])
        return path + n + 1;
    return path;
}

static void say_problems(size_t n)
{
    if (n == 1)
        fprintf(stderr, "%s", _("check: 1 problem\n"));
    else
        fprintf(stderr, _("check: %zu problems\n"), n);
}

/* Checks the config at path: its problems are printed and counted in
 * *problems. Returns FW_EXIT_USAGE when it cannot be read at all. */
static int check_config(const char *path, struct fw_config *c,
                        size_t *problems)
{
    struct fw_diag d;
    fw_diag_init(&d);
    int rc = fw_config_load(path, c, &d);
    if (rc == FW_EIO || rc == FW_ENOMEM) {
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "fundwatch check: %s\n", d.items[i]);
        fw_diag_fini(&d);
        return FW_EXIT_USAGE;
    }
    if (rc == 0) {
        /* the column map it names, in its own file:line:col terms */
        if (c->columns) {
            struct fw_colmap *m = fw_columns_load(shown(c->columns), &d);
            fw_colmap_free(m);
        }
        /* what the daemon needs on disk; the policies folder is checked
         * below, the column map above */
        struct fw_config ondisk = *c;
        ondisk.policies = NULL;
        ondisk.columns = NULL;
        fw_config_check_paths(&ondisk, &d);
    }
    for (size_t i = 0; i < d.n; i++) {
        const char *it = d.items[i];
        fprintf(stderr, "%s\n", it[0] == '/' ? shown(it) : it);
    }
    *problems += d.n;
    if (d.n == 0)
        printf(_("%s: ok\n"), path);
    fw_diag_fini(&d);
    return FW_EXIT_OK;
}

int fw_cmd_check(int argc, char **argv)
{
    struct fw_cmd_opts o;
    int rc = fw_cmd_options("check", _(usage_text),
                            FW_OPT_POLICIES | FW_OPT_CONFIG | FW_OPT_STRICT,
                            argc, argv, &o);
    if (rc >= 0)
        return rc;
    const char *dir = o.policies, *config = o.config;
    if (o.argi < argc)
        return fw_cli_usage_error("check", _("unexpected argument \"%s\" "
                                  "(the folder is given with --policies)"),
                                  argv[o.argi]);

    struct fw_engine_opts eo = {0};
    size_t problems = 0, config_problems = 0;
    struct fw_config cfg = {0};
    if (config != NULL) {
        rc = check_config(config, &cfg, &config_problems);
        if (rc != FW_EXIT_OK) {
            fw_config_fini(&cfg);
            return rc;
        }
        eo = cfg.engine;
        if (dir == NULL)
            dir = shown(cfg.policies);
    }
    if (dir == NULL)
        dir = "policies";
    /* A config with problems may name a folder that is not there (a typo,
     * or the default); its problems are what to fix first, so a missing
     * policies folder is not reported over them. */
    struct stat st;
    if (config_problems > 0 && stat(dir, &st) < 0) {
        say_problems(config_problems);
        fw_config_fini(&cfg);
        return FW_EXIT_PROBLEMS;
    }

    struct fw_policy_tree tree;
    bool unreadable;
    struct fw_engine *e = fw_cmd_build(dir, &eo, &tree, &unreadable,
                                       &problems);
    problems += config_problems;
    if (unreadable) {
        fprintf(stderr, _("fundwatch check: %s: the policies could not be "
                          "read\n"), dir);
        fw_policy_tree_fini(&tree);
        fw_config_fini(&cfg);
        return FW_EXIT_USAGE;
    }
    /* The test files are checked even when the policies do not build, so
     * one run shows every problem (rule ids only when they do). */
    struct fw_diag d;
    fw_diag_init(&d);
    int tests = fw_testrun_check(tree.files, tree.n, e, &d);
    fw_cmd_print_diag(&d);
    /* Warnings: record fields no column gives. */
    struct fw_diag w;
    fw_diag_init(&w);
    for (size_t i = 0; i < tree.n; i++) {
        const struct fw_src_file *f = &tree.files[i];
        size_t n = strlen(f->path);
        if (n > 4 && strcmp(f->path + n - 4, ".lua") == 0 &&
            strstr(f->path, "/lib/") == NULL)
            fw_lint_fields(f->path, f->data, f->len, NULL, 0, &w);
    }
    fw_cmd_print_diag(&w);
    size_t np = e ? fw_engine_policy_count(e) : 0, nr = 0;
    for (size_t i = 0; i < np; i++)
        nr += fw_engine_policy(e, i)->n_rules;
    if (e != NULL && np == 0) {
        fprintf(stderr, _("%s: no policy here: a policies folder holds at "
                          "least one <region>/<name>.lua (is --policies the "
                          "right folder?)\n"), dir);
        problems++;
    }
    int status = FW_EXIT_OK;
    if (tests < 0) {
        fprintf(stderr, _("fundwatch check: out of memory\n"));
        status = FW_EXIT_USAGE;
    } else if (e == NULL || np == 0 || d.n > 0 || config_problems > 0 ||
               (o.strict && w.n > 0)) {
        status = FW_EXIT_PROBLEMS;
    } else {
        char pols[64], rules[64];
        snprintf(pols, sizeof pols, np == 1 ? _("1 policy")
                                            : _("%zu policies"), np);
        snprintf(rules, sizeof rules, nr == 1 ? _("1 rule") : _("%zu rules"),
                 nr);
        printf(_("%s, %s: ok\n"), pols, rules);
        if (w.n == 1)
            fprintf(stderr, "%s", _("check: 1 warning (--strict makes it a "
                                    "problem)\n"));
        else if (w.n > 1)
            fprintf(stderr, _("check: %zu warnings (--strict makes them "
                              "problems)\n"), w.n);
    }
    if (status == FW_EXIT_PROBLEMS) {
        problems += d.n + (o.strict ? w.n : 0);
        say_problems(problems);
    }
    fw_diag_fini(&w);
    fw_diag_fini(&d);
    fw_engine_free(e);
    fw_policy_tree_fini(&tree);
    fw_config_fini(&cfg);
    return status;
}
