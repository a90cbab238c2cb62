/* Error values and diagnostic lists. Owns no global state. */
#include "fundwatch/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fw__error_set(struct fw_error *e, int code, const char *c_file, int c_line,
                  const char *place, const char *fmt, ...)
{
    if (e == NULL)
        return code;
    e->code = code;
    e->c_file = c_file;
    e->c_line = c_line;
    snprintf(e->place, sizeof e->place, "%s", place ? place : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

void fw_error_clear(struct fw_error *e)
{
    if (e == NULL)
        return;
    e->code = 0;
    e->place[0] = '\0';
    e->msg[0] = '\0';
    e->c_file = NULL;
    e->c_line = 0;
}

const char *fw_error_text(const struct fw_error *e, char *buf, size_t n)
{
    if (e->place[0] != '\0')
        snprintf(buf, n, "%s: %s", e->place, e->msg);
    else
        snprintf(buf, n, "%s", e->msg[0] ? e->msg : fw_strerror(e->code));
    return buf;
}

const char *fw_strerror(int code)
{
    switch (code) {
    case FW_OK: return "ok";
    case FW_ENOMEM: return "out of memory";
    case FW_EINVAL: return "invalid input";
    case FW_EIO: return "input/output error";
    case FW_ENOENT: return "not found";
    case FW_ELIMIT: return "limit exceeded";
    case FW_EPOLICY: return "policy error";
    case FW_EEXIST: return "already exists";
    case FW_EBUSY: return "busy";
    case FW_ESTATE: return "wrong state";
    }
    return "unknown error";
}

void fw_diag_init(struct fw_diag *d)
{
    d->items = NULL;
    d->n = d->cap = 0;
}

void fw_diag_fini(struct fw_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->items[i]);
    free(d->items);
    fw_diag_init(d);
}

static int push(struct fw_diag *d, char *s)
{
    if (s == NULL)
        return FW_ENOMEM;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        char **items = realloc(d->items, cap * sizeof *items);
        if (items == NULL) {
            free(s);
            return FW_ENOMEM;
        }
        d->items = items;
        d->cap = cap;
    }
    d->items[d->n++] = s;
    return 0;
}

int fw_diag_add(struct fw_diag *d, const char *place, const char *fmt, ...)
{
    char msg[FW_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = strlen(msg) + (place ? strlen(place) + 2 : 0) + 1;
    char *s = malloc(n);
    if (s != NULL) {
        if (place && place[0])
            snprintf(s, n, "%s: %s", place, msg);
        else
            snprintf(s, n, "%s", msg);
    }
    return push(d, s);
}

int fw_diag_add_error(struct fw_diag *d, const struct fw_error *e)
{
    return fw_diag_add(d, e->place, "%s", e->msg[0] ? e->msg : fw_strerror(e->code));
}
