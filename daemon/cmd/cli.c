/* Helpers shared by the subcommands. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

int fw_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fundwatch %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    return FW_EXIT_USAGE;
}
