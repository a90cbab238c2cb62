/* fundwatch records: not built yet; its issue replaces this file. */
#include "cli.h"

int fw_cmd_records(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return fw_cli_usage_error("records", "not built yet");
}
