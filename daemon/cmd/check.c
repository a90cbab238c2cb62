/* fundwatch check: compiles every policy and its YAML, checks every policy
 * test file's structure, and reports every problem as file:line: message,
 * as a compiler would. Runs nothing over records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "feedio.h"
#include "testrun.h"

static const char usage_text[] =
    "usage: fundwatch check [--policies DIR] [-c CONFIG]\n"
    "\n"
    "Compiles every policy (*.lua) of DIR with its parameters (*.yaml) as the\n"
    "daemon would on a reload, and checks the structure of every test file\n"
    "(*_test.yaml): known keys, dates, finding fields, rules that exist, feeds\n"
    "that exist. Prints every problem as \"file:line: message\", or\n"
    "\"N policies, N rules: ok\".\n"
    "\n"
    "With -c, first checks the daemon's config file: every key known, every\n"
    "value valid (\"file:line:col: message\"), its column map, the folders of\n"
    "the database and outbox writable; then the policies folder it names.\n"
    "\n"
    "  -p, --policies DIR   the policies folder (default: policies, or the\n"
    "                       config's policies with -c; given, it wins)\n"
    "  -c, --config FILE    check a daemon config file (fundwatch.yaml) too\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 no problem, 1 problems found, 2 usage error or a folder\n"
    "or file that cannot be read (the config file among them).\n";

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
        printf("%s: ok\n", path);
    fw_diag_fini(&d);
    return FW_EXIT_OK;
}

int fw_cmd_check(int argc, char **argv)
{
    struct fw_cmd_opts o;
    int rc = fw_cmd_options("check", usage_text,
                            FW_OPT_POLICIES | FW_OPT_CONFIG, argc, argv, &o);
    if (rc >= 0)
        return rc;
    const char *dir = o.policies, *config = o.config;
    if (o.argi < argc)
        return fw_cli_usage_error("check", "unexpected argument \"%s\" (the "
                                  "folder is given with --policies)",
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
        fprintf(stderr, "check: %zu problem%s\n", config_problems,
                config_problems == 1 ? "" : "s");
        fw_config_fini(&cfg);
        return FW_EXIT_PROBLEMS;
    }

    struct fw_policy_tree tree;
    bool unreadable;
    struct fw_engine *e = fw_cmd_build(dir, &eo, &tree, &unreadable,
                                       &problems);
    problems += config_problems;
    if (unreadable) {
        fprintf(stderr, "fundwatch check: %s: the policies could not be "
                "read\n", dir);
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
    int status = FW_EXIT_OK;
    if (tests < 0) {
        fprintf(stderr, "fundwatch check: out of memory\n");
        status = FW_EXIT_USAGE;
    } else if (e == NULL || d.n > 0 || config_problems > 0) {
        status = FW_EXIT_PROBLEMS;
    } else {
        size_t np = fw_engine_policy_count(e), nr = 0;
        for (size_t i = 0; i < np; i++)
            nr += fw_engine_policy(e, i)->n_rules;
        printf("%zu polic%s, %zu rule%s: ok\n", np, np == 1 ? "y" : "ies",
               nr, nr == 1 ? "" : "s");
    }
    if (status == FW_EXIT_PROBLEMS && e != NULL && d.n == 0) {
        size_t np = fw_engine_policy_count(e), nr = 0;
        for (size_t i = 0; i < np; i++)
            nr += fw_engine_policy(e, i)->n_rules;
        printf("%zu polic%s, %zu rule%s: ok\n", np, np == 1 ? "y" : "ies",
               nr, nr == 1 ? "" : "s");
    }
    if (status == FW_EXIT_PROBLEMS) {
        problems += d.n;
        fprintf(stderr, "check: %zu problem%s\n", problems,
                problems == 1 ? "" : "s");
    }
    fw_diag_fini(&d);
    fw_engine_free(e);
    fw_policy_tree_fini(&tree);
    fw_config_fini(&cfg);
    return status;
}
