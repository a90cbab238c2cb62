/* Policy tests (*_test.yaml, docs/policies.md "Tests"): checking their
 * structure and running their cases through a real engine generation. Used
 * by `fundwatch check`, `fundwatch test` and the daemon's reload, so what a
 * policy officer runs by hand is what gates a new generation. */
#ifndef FUNDWATCH_DAEMON_TESTRUN_H
#define FUNDWATCH_DAEMON_TESTRUN_H

#include <stdbool.h>
#include <stddef.h>

#include "fundwatch/buf.h"
#include "fundwatch/engine.h"
#include "fundwatch/error.h"
#include "fundwatch/reader.h"

/* True for a policy test file: a path ending in "_test.yaml". */
bool fw_testrun_is_test(const char *path);

/* Checks every test file of files[] without running it: YAML, keys, types,
 * dates, the values expectations give (kind, level, amount...), that the
 * policy beside the file exists and every rule named is declared (both only
 * when e is not NULL), and that every feed file exists. Every problem goes
 * into diag as "file:line:col: message". Returns the number of test files
 * seen (negative FW_ENOMEM on out of memory). */
int fw_testrun_check(const struct fw_src_file *files, size_t n,
                     const struct fw_engine *e, struct fw_diag *diag);

struct fw_testrun_stats {
    unsigned files;   /* test files run */
    unsigned cases;
    unsigned passed;
    unsigned failed;  /* failures and errors */
    unsigned errors;  /* of failed: cases that could not run as written */
};

/* Runs the test files of files[] whose path contains pattern (NULL or ""
 * = every one) against e, with map reading inline records and feeds (the
 * built-in aliases when NULL). Appends the report to out, one line per case
 * in the TAP shape ("ok 3 - file:line: name" / "not ok 4 - ..."), each
 * failure followed by indented lines giving what was expected and what was
 * produced. The engine's feed state is used and left between feeds. Returns
 * 0, or a negative FW_E code when the engine or memory failed (err says
 * what). */
int fw_testrun_run(struct fw_engine *e, const struct fw_src_file *files,
                   size_t n, const char *pattern, const struct fw_colmap *map,
                   struct fw_buf *out, struct fw_testrun_stats *st,
                   struct fw_error *err);

#endif
