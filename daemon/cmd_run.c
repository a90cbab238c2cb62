/* fundwatch run: not built yet; its issue replaces this file. */
#include "cli.h"

int fw_cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return fw_cli_usage_error("run", "not built yet");
}
