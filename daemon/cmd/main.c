/* The fundwatch binary: dispatches to a subcommand. Owns nothing else. */
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include "fundwatch/i18n.h"
#include "i18n.h"

#ifndef FW_VERSION
#define FW_VERSION "dev"
#endif

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"run", fw_cmd_run, N_("the daemon: watch the spool, run policies, store findings")},
    {"replay", fw_cmd_replay, N_("run the policies over feeds; findings as JSONL on stdout")},
    {"records", fw_cmd_records, N_("read feeds; normalised records as NDJSON on stdout")},
    {"check", fw_cmd_check, N_("check policies, parameters and a config; every problem as file:line")},
    {"test", fw_cmd_test, N_("run the policy tests (*_test.yaml) beside the policies")},
    {"explain", fw_cmd_explain, N_("why a finding fired, or why nothing fired for a record")},
    {"rules", fw_cmd_rules, N_("the effective rules of a region: policies, parameters and where they are set, sources")},
    {"diff", fw_cmd_diff, N_("what a policy change would do: findings added, removed, changed")},
    {"report", fw_cmd_report, N_("the findings as an Excel workbook for the 科长 (from the store or replay)")},
    {"backup", fw_cmd_backup, N_("an online, checked copy of the daemon's store")},
    {"ack", fw_cmd_ack, N_("acknowledge a finding with a note, through the running daemon")},
};

static void usage(FILE *out)
{
    fprintf(out, "%s", _("usage: fundwatch <command> [options] [args]\n\n"
                         "commands:\n"));
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, _(commands[i].summary));
    fprintf(out, "%s", _("\n'fundwatch <command> --help' tells more. Exit "
                         "status: 0 ok, 1 problems found, 2 usage or I/O "
                         "error.\n"));
}

int main(int argc, char **argv)
{
    fw_i18n_init(argc, argv);
    if (argc < 2) {
        usage(stderr);
        return FW_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return FW_EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("fundwatch %s\n", FW_VERSION);
        return FW_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, _("fundwatch: unknown command '%s'\n"), cmd);
    usage(stderr);
    return FW_EXIT_USAGE;
}
