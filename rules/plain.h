/* Plain words for Lua's and libyaml's messages about the common mistakes,
 * with the source line and a caret (plain.c). Not public; pure. */
#ifndef FUNDWATCH_PLAIN_H
#define FUNDWATCH_PLAIN_H

#include <stdbool.h>
#include <stddef.h>

/* "\n   12 | the line\n      |    ^": line `line` of src with a caret
 * under column col (1-based, bytes). "" when src has no such line. */
size_t fw__caret(const char *src, size_t len, int line, int col, char *out,
                 size_t n);

/* msg is Lua's "path:line: ..." for the chunk src of path. When it is one
 * of the common syntax mistakes, writes "path:line:col: plain words" and
 * the line with a caret to out, at the line to edit, and returns true. */
bool fw__plain_lua(const char *path, const char *msg, const char *src,
                   size_t len, char *out, size_t n);

/* libyaml's problem and context at line:col (1-based; ctx_line where the
 * block or quote began) in src: when it is a common mistake (a tab in the
 * indentation, uneven indentation, a missing comma or bracket), writes the
 * plain words and the caret line to out, moves line and col to the place to
 * edit, and returns true. */
bool fw__plain_yaml(const char *src, size_t len, const char *problem,
                    const char *context, int *line, int *col, int ctx_line,
                    char *out, size_t n);

#endif
