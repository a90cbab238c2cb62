/* fundwatch test: runs the policy tests (*_test.yaml) through the real
 * engine, the same code that gates a reload in the daemon, and prints one
 * line per case with a readable diff of every failure. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "fundwatch/i18n.h"
#include "feedio.h"
#include "testrun.h"

static const char usage_text[] = N_(
    "usage: fundwatch test [--policies DIR] [--columns MAP] [PATTERN]\n"
    "\n"
    "Runs the cases of every test file (*_test.yaml) under DIR whose path\n"
    "contains PATTERN (all when none is given). Each case is one feed through\n"
    "the whole policies tree, routing included, at the case's `now`; its\n"
    "findings must match `expect` (each entry a distinct finding, on the\n"
    "fields given) and include no rule listed in `absent`; any other finding\n"
    "of the tested policy, and any error finding, fails the case.\n"
    "\n"
    "Prints \"ok N - file:line: name\" or \"not ok N - ...\" per case, each\n"
    "failure followed by what was expected and what was produced, then\n"
    "\"N cases: N passed, N failed\".\n"
    "\n"
    "  -p, --policies DIR   the policies folder (default: policies)\n"
    "  -m, --columns MAP    column map (YAML) for the feeds tests name\n"
    "      --lang zh|en     the language of messages (default: from LANG)\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 every case passed; 1 a case failed or could not run as\n"
    "written; 2 usage error, no test file matching PATTERN, a folder or file\n"
    "that cannot be read, or policies that do not build.\n");

int fw_cmd_test(int argc, char **argv)
{
    struct fw_cmd_opts o;
    int rc = fw_cmd_options("test", _(usage_text),
                            FW_OPT_POLICIES | FW_OPT_COLUMNS, argc, argv, &o);
    if (rc >= 0)
        return rc;
    const char *dir = o.policies ? o.policies : "policies", *pattern = NULL;
    int argi = o.argi;
    if (argi < argc)
        pattern = argv[argi++];
    if (argi < argc)
        return fw_cli_usage_error("test", _("one PATTERN at most (got "
                                  "\"%s\" too)"), argv[argi]);
    struct fw_cmd_env env;
    if ((rc = fw_cmd_load("test", &o, _("no test run"), &env)) != 0)
        return rc;
    struct fw_engine *e = env.eng;
    struct fw_colmap *map = env.map;
    struct fw_policy_tree tree = env.tree;

    struct fw_buf out = FW_BUF_INIT;
    struct fw_testrun_stats st;
    struct fw_error err;
    fw_error_clear(&err);
    rc = fw_testrun_run(e, tree.files, tree.n, pattern, map, &out, &st, &err);
    if (out.len)
        fwrite(out.p, 1, out.len, stdout);
    int status;
    if (rc < 0) {
        char msg[FW_PLACE_MAX + FW_MSG_MAX + 4];
        fflush(stdout);
        fprintf(stderr, "fundwatch test: %s\n",
                fw_error_text(&err, msg, sizeof msg));
        status = FW_EXIT_USAGE;
    } else if (st.files == 0 && pattern != NULL) {
        fprintf(stderr, _("fundwatch test: no test file under %s matches "
                          "\"%s\"\n"), dir, pattern);
        status = FW_EXIT_USAGE;
    } else {
        if (st.cases == 1)
            printf(_("1 case: %u passed, %u failed"), st.passed, st.failed);
        else
            printf(_("%u cases: %u passed, %u failed"), st.cases, st.passed,
                   st.failed);
        if (st.errors)
            printf(_(" (%u could not run)"), st.errors);
        printf("\n");
        status = st.failed ? FW_EXIT_PROBLEMS : FW_EXIT_OK;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "fundwatch test: cannot write the report to stdout: "
                "%s\n", strerror(errno));
        status = FW_EXIT_USAGE;
    }
    fw_buf_fini(&out);
    fw_cmd_env_fini(&env);
    return status;
}
