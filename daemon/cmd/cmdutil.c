/* Helpers of the offline commands: building a generation from a folder and
 * parsing option values. Everything here prints to stderr; nothing exits. */
#include "cmdutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fundwatch/record.h"

void fw_cmd_print_diag(const struct fw_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(stderr, "%s\n", d->items[i]);
}

struct fw_engine *fw_cmd_build(const char *dir,
                               const struct fw_engine_opts *opts,
                               struct fw_policy_tree *t, bool *unreadable,
                               size_t *problems)
{
    struct fw_diag d;
    fw_diag_init(&d);
    *unreadable = false;
    struct fw_engine *e = NULL;
    int rc = fw_policy_tree_read(dir, t, &d);
    if (rc < 0) {
        *unreadable = true;
        if (rc == FW_ENOMEM)
            fw_diag_add(&d, dir, "out of memory reading the policies");
    } else {
        e = fw_engine_build(t->files, t->n, opts, &d);
        if (e == NULL && d.n == 0)
            fw_diag_add(&d, dir, "the policies could not be built (out of "
                        "memory?)");
    }
    fw_cmd_print_diag(&d);
    if (problems)
        *problems = d.n;
    fw_diag_fini(&d);
    return e;
}

bool fw_cmd_parse_now(const char *cmd, const char *text, int32_t *days)
{
    const char *why = "not a date";
    if (fw_date_parse(text, strlen(text), days, &why) == 0)
        return true;
    fw_cli_usage_error(cmd, "--now \"%s\": %s (write 2024-06-30)", text, why);
    return false;
}

bool fw_cmd_parse_count(const char *cmd, const char *opt, const char *text,
                        bool suffixes, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = text;
    if (*p < '0' || *p > '9')
        goto bad;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            goto big;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (suffixes && *p) {
        unsigned shift = *p == 'K' || *p == 'k' ? 10
                         : *p == 'M' || *p == 'm' ? 20
                         : *p == 'G' || *p == 'g' ? 30 : 0;
        if (shift == 0 || p[1] != '\0')
            goto bad;
        if (v > (UINT64_MAX >> shift))
            goto big;
        v <<= shift;
        p++;
    }
    if (*p)
        goto bad;
    *out = v;
    return true;
bad:
    fw_cli_usage_error(cmd, "%s \"%s\": not a whole number%s", opt, text,
                       suffixes ? " (K, M, G suffixes allowed)" : "");
    return false;
big:
    fw_cli_usage_error(cmd, "%s \"%s\": too large", opt, text);
    return false;
}

const char *fw_cmd_default_config(bool *system)
{
    *system = access("fundwatch.yaml", F_OK) != 0 &&
              access(FW_SYSTEM_CONFIG, F_OK) == 0;
    return *system ? FW_SYSTEM_CONFIG : "fundwatch.yaml";
}
