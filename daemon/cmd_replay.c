/* fundwatch replay: not built yet; its issue replaces this file. */
#include "cli.h"

int fw_cmd_replay(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return fw_cli_usage_error("replay", "not built yet");
}
