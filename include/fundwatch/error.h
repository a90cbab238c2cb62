/* Errors with their context: a negative FW_E code, the user-facing place
 * ("policies/50/monitor.lua:40", "feed.csv:17"), plain words, and the C place
 * that detected it. Diagnostics collect many errors before a check fails. */
#ifndef FUNDWATCH_ERROR_H
#define FUNDWATCH_ERROR_H

#include <stddef.h>

enum {
    FW_OK = 0,
    FW_ENOMEM = -1,   /* out of memory */
    FW_EINVAL = -2,   /* bad input: syntax, value, declaration */
    FW_EIO = -3,      /* reading or writing failed */
    FW_ENOENT = -4,   /* no such file, key or object */
    FW_ELIMIT = -5,   /* a configured limit was hit */
    FW_EPOLICY = -6,  /* a policy raised an error */
    FW_EEXIST = -7,   /* already there (duplicate feed, id) */
    FW_EBUSY = -8,    /* locked or in use; try again */
    FW_ESTATE = -9,   /* called in the wrong state */
};

#define FW_PLACE_MAX 512
#define FW_MSG_MAX 1024

struct fw_error {
    int code;                  /* 0 or FW_E* */
    char place[FW_PLACE_MAX];  /* user-facing "file:line[:col]", or "" */
    char msg[FW_MSG_MAX];      /* plain words, no trailing newline */
    const char *c_file;        /* where in our C it was detected */
    int c_line;
};

/* Sets every field of *e (e may be NULL) and returns code, so that
 * `return fw_error_set(e, FW_EINVAL, "f.csv:3", "bad %s", x);` reads well.
 * place may be NULL. */
int fw__error_set(struct fw_error *e, int code, const char *c_file, int c_line,
                  const char *place, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
#define fw_error_set(e, code, place, ...) \
    fw__error_set((e), (code), __FILE__, __LINE__, (place), __VA_ARGS__)

void fw_error_clear(struct fw_error *e);

/* "place: msg" (or "msg" when place is empty) into buf; returns buf. */
const char *fw_error_text(const struct fw_error *e, char *buf, size_t n);

/* A short name of a code: "out of memory", "invalid input", ... */
const char *fw_strerror(int code);

/* A list of problems, each "place: message", for checks that report every
 * problem before failing. */
struct fw_diag {
    char **items;
    size_t n, cap;
};

void fw_diag_init(struct fw_diag *d);
void fw_diag_fini(struct fw_diag *d);
/* Adds "place: message" (place may be NULL); returns FW_ENOMEM or 0. */
int fw_diag_add(struct fw_diag *d, const char *place, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int fw_diag_add_error(struct fw_diag *d, const struct fw_error *e);

#endif
