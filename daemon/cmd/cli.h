/* The subcommands of the one fundwatch binary. Each returns the process exit
 * status: 0 ok, 1 problems found (rejects, failed checks or tests), 2 usage
 * or I/O error. argv[0] is the subcommand's name. */
#ifndef FUNDWATCH_DAEMON_CLI_H
#define FUNDWATCH_DAEMON_CLI_H

enum { FW_EXIT_OK = 0, FW_EXIT_PROBLEMS = 1, FW_EXIT_USAGE = 2 };

int fw_cmd_records(int argc, char **argv);
int fw_cmd_replay(int argc, char **argv);
int fw_cmd_check(int argc, char **argv);
int fw_cmd_test(int argc, char **argv);
int fw_cmd_run(int argc, char **argv);
int fw_cmd_backup(int argc, char **argv);

/* "fundwatch <cmd>: <message>" on stderr; returns FW_EXIT_USAGE. */
int fw_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
