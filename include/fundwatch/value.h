/* A parsed YAML document as a tree of values that remember where they were
 * written, so that config, column maps, policy parameters and policy tests
 * can all report problems as file:line. Parsing only: no I/O here. */
#ifndef FUNDWATCH_VALUE_H
#define FUNDWATCH_VALUE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fundwatch/error.h"

enum fw_vtype {
    FW_V_NULL,   /* ~, null, or an empty value */
    FW_V_BOOL,   /* true / false (plain) */
    FW_V_INT,    /* a plain integer: i holds it, text its spelling */
    FW_V_NUM,    /* a plain decimal (1.5, -0.30): text keeps the exact digits */
    FW_V_STR,    /* anything else, and every quoted scalar */
    FW_V_LIST,
    FW_V_MAP,
};

struct fw_value {
    enum fw_vtype type;
    int line, col;           /* 1-based, where the value starts */
    /* Scalars: the text as written (NUL-terminated, unquoted), every type. */
    char *text;
    size_t len;
    bool b;                  /* FW_V_BOOL */
    int64_t i;               /* FW_V_INT */
    /* Lists and maps: n items; maps also have keys[i] (scalar values, with
     * their own line). Order is the document's. */
    size_t n;
    struct fw_value **items;
    struct fw_value **keys;
    const char *file;        /* the path given to fw_yaml_parse (shared) */
};

/* Parses one YAML document from buf. path is only used for messages and
 * stored in every node. Anchors/aliases, tags, multiple documents and
 * duplicate map keys are errors, at file:line. An empty document gives a
 * FW_V_NULL root. Returns NULL and fills err on failure. */
struct fw_value *fw_yaml_parse(const char *path, const char *buf, size_t len,
                               struct fw_error *err);
void fw_value_free(struct fw_value *v);

/* The value under key in a map, or NULL (also when v is not a map). */
const struct fw_value *fw_value_get(const struct fw_value *map,
                                    const char *key);
/* "file:line" of v into buf; returns buf. */
const char *fw_value_place(const struct fw_value *v, char *buf, size_t n);
/* "a map", "a list", "a string", "an integer", ... for messages. */
/* Adds "file:line:col: message" at v to d (the place of every problem a
 * YAML file has); FW_ENOMEM or 0. */
int fw_value_diag(struct fw_diag *d, const struct fw_value *v,
                  const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int fw_value_vdiag(struct fw_diag *d, const struct fw_value *v,
                   const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
const char *fw_value_type_name(enum fw_vtype t);
bool fw_value_is_scalar(const struct fw_value *v);

#endif
