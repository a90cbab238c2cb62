/* Prometheus text format output. Values are integers or exact decimal text;
 * no binary floats are printed. */
#include "prom.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fundwatch/buf.h"

/* HELP text escapes backslash and newline; label values also the quote. */
static int escaped(struct fw_buf *b, const char *s, int quote)
{
    for (; *s; s++) {
        int rc;
        if (*s == '\\')
            rc = fw_buf_puts(b, "\\\\");
        else if (*s == '\n')
            rc = fw_buf_puts(b, "\\n");
        else if (*s == '"' && quote)
            rc = fw_buf_puts(b, "\\\"");
        else
            rc = fw_buf_putc(b, *s);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int fw_prom_family(struct fw_buf *b, const char *name, const char *type,
                   const char *help)
{
    if (fw_buf_printf(b, "# HELP %s ", name) < 0 || escaped(b, help, 0) < 0)
        return -1;
    return fw_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static int series(struct fw_buf *b, const char *name, const char *const *labels)
{
    if (fw_buf_puts(b, name) < 0)
        return -1;
    int first = 1;
    for (size_t i = 0; labels && labels[i]; i += 2) {
        if (labels[i + 1] == NULL)
            continue;
        if (fw_buf_puts(b, first ? "{" : ",") < 0 ||
            fw_buf_printf(b, "%s=\"", labels[i]) < 0 ||
            escaped(b, labels[i + 1], 1) < 0 || fw_buf_putc(b, '"') < 0)
            return -1;
        first = 0;
    }
    if (!first && fw_buf_putc(b, '}') < 0)
        return -1;
    return fw_buf_putc(b, ' ');
}

int fw_prom_int(struct fw_buf *b, const char *name, const char *const *labels,
                int64_t value)
{
    if (series(b, name, labels) < 0)
        return -1;
    return fw_buf_printf(b, "%" PRId64 "\n", value);
}

int fw_prom_text(struct fw_buf *b, const char *name, const char *const *labels,
                 const char *value)
{
    if (series(b, name, labels) < 0)
        return -1;
    return fw_buf_printf(b, "%s\n", value);
}

int fw_prom_seconds(struct fw_buf *b, const char *name,
                    const char *const *labels, uint64_t usec)
{
    if (series(b, name, labels) < 0)
        return -1;
    return fw_buf_printf(b, "%" PRIu64 ".%06" PRIu64 "\n", usec / 1000000,
                         usec % 1000000);
}
