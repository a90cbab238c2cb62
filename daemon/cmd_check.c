/* fundwatch check: compiles every policy and its YAML, checks every policy
 * test file's structure, and reports every problem as file:line: message,
 * as a compiler would. Runs nothing over records. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "cmdutil.h"
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
    "  -p, --policies DIR   the policies folder (default: policies)\n"
    "  -c, --config FILE    also check a daemon config file (not supported\n"
    "                       yet: the config module is not built)\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 no problem, 1 problems found, 2 usage error or a folder\n"
    "or file that cannot be read.\n";

int fw_cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"policies", required_argument, NULL, 'p'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    const char *dir = "policies";
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "p:c:h", opts, NULL)) != -1) {
        switch (o) {
        case 'p':
            dir = optarg;
            break;
        case 'c':
            return fw_cli_usage_error("check", "-c %s: checking a config is "
                                      "not supported yet (the config module "
                                      "is not built)", optarg);
        case 'h':
            fputs(usage_text, stdout);
            return FW_EXIT_OK;
        default:
            fputs(usage_text, stderr);
            return FW_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return fw_cli_usage_error("check", "unexpected argument \"%s\" (the "
                                  "folder is given with --policies)",
                                  argv[optind]);

    struct fw_policy_tree tree;
    bool unreadable;
    struct fw_engine_opts eo = {0};
    size_t problems = 0;
    struct fw_engine *e = fw_cmd_build(dir, &eo, &tree, &unreadable,
                                       &problems);
    if (unreadable) {
        fprintf(stderr, "fundwatch check: %s: the policies could not be "
                "read\n", dir);
        fw_policy_tree_fini(&tree);
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
    } else if (e == NULL || d.n > 0) {
        status = FW_EXIT_PROBLEMS;
    } else {
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
    return status;
}
