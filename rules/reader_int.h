/* Shared inside rules/ between the reader (reader.c: CSV, NDJSON, the
 * values) and the layout of a printed export (table.c: title rows, the
 * header, total rows). Not a public interface. */
#ifndef FUNDWATCH_RULES_READER_INT_H
#define FUNDWATCH_RULES_READER_INT_H

#include <iconv.h>
#include <json-c/json.h>

#include "fundwatch/buf.h"
#include "fundwatch/reader.h"

#define MAX_COLS 1024

/* One column of the header: the field it maps to (-1 = an extra column), the
 * unit of a money column, and its name as the header spells it. */
struct col {
    int field;
    enum fw_unit unit;
    bool own_unit;
    char *name;
    size_t name_len;
};

struct fw_reader {
    const struct fw_colmap *map;
    char *feed;
    enum fw_format fmt;
    struct fw_reader_cb cb;
    void *ud;
    struct fw_reader_stats st;

    enum fw_encoding enc; /* AUTO until the first bytes decide */
    iconv_t cd;
    struct fw_buf raw; /* GB18030 bytes after the last newline */
    uint64_t replaced; /* bytes that were not GB18030 */
    uint64_t by_iconv; /* bytes converted by iconv, not by the table */
    bool bom_done;
    char last;         /* the last byte pushed */

    struct fw_buf in; /* UTF-8 bytes not yet consumed */
    size_t pos;       /* consumed up to here */
    uint64_t phys;    /* physical line of r->in + pos (1-based) */
    bool started;     /* BOM and format handled */
    bool failed;      /* a whole-file error happened */
    bool have_header;

    struct col *cols;
    size_t ncols;
    /* The CSV row being read: its fields as cells (r->cells), and which of
     * them hold doubled quotes to undo. */
    size_t *esc;
    size_t nesc, esc_cap;

    /* The record being built and its extra columns. */
    struct fw_record rec;
    struct fw_str *xname, *xval;
    size_t xcap;
    struct fw_buf why; /* the reasons of a reject */

    json_tokener *tok;
    struct fw_buf tmp; /* NDJSON: texts of booleans and such */
    struct fw_buf msg; /* a reason being formatted */

    /* The layout of a printed export (rules/table.c). */
    struct fw_cell *cells; /* a CSV row as cells, pointing into r->in */
    size_t cells_cap;
    char **hnames;         /* a header row waiting for a second one */
    size_t nh;
    uint64_t hline;
    bool pending;
    bool has_unit_line;
    enum fw_unit unit_line; /* 单位：万元 above the header */
    uint64_t first_line;    /* the first row that is not blank */
    char first_row[160];
    uint64_t fields_line;   /* a row naming fields, but not the region */
    /* Money of the records, by field: all of them, and since the last 小计. */
    int64_t sum_all[FW__F_COUNT], sum_sub[FW__F_COUNT];
    bool sum_over;          /* a sum overflowed: totals are not checked */
    uint64_t rej_all, rej_sub; /* rejects among those rows */
    bool strict_width;      /* CSV: every row has the header's width */
    bool region_given;      /* this row's region cell had text */
    bool fields_read;       /* this row's cells were read one by one */
};

int fw__reader_whole_error(struct fw_reader *r, struct fw_error *err,
                           int code, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void fw__reader_add_why(struct fw_reader *r, const char *col, size_t col_len,
                        const char *text, size_t len, const char *reason);
/* Sets field f, not a text field, of the record from its trimmed text
 * (not empty); a bad value is added to the row's reasons (col names the
 * column as the header spells it). */
void fw__reader_set_typed(struct fw_reader *r, int f, enum fw_unit unit,
                          const char *col, size_t col_len, const char *s,
                          size_t n);

/* 1 for a space or a tab (reader.c). */
extern const unsigned char fw__reader_space[256];

/* Sets field f of the record from its text, spaces and tabs around it
 * trimmed; empty is absent. Inline: a text field, most of a row, is three
 * stores. */
static inline void fw__reader_set_field(struct fw_reader *r, int f,
                                        enum fw_unit unit, const char *col,
                                        size_t col_len, const char *s,
                                        size_t n)
{
    if (n > 0 && (fw__reader_space[(unsigned char)s[0]] |
                  fw__reader_space[(unsigned char)s[n - 1]])) {
        while (n > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
    }
    if (n == 0)
        return; /* absent */
    if (fw_fields[f].type != FW_T_TEXT) {
        fw__reader_set_typed(r, f, unit, col, col_len, s, n);
        return;
    }
    r->rec.num[f] = 0;
    r->rec.str[f] = (struct fw_str){s, n};
    r->rec.present |= 1u << f;
}
/* The same from a cell of a sheet, whose kind decides first; a text cell
 * is its text. */
void fw__reader_set_cell(struct fw_reader *r, int f, enum fw_unit unit,
                         const char *col, size_t col_len,
                         const struct fw_cell *c);
int fw__reader_add_extra(struct fw_reader *r, const char *name,
                         size_t name_len, const char *s, size_t n);
void fw__reader_rec_start(struct fw_reader *r, uint64_t line);
int fw__reader_rec_finish(struct fw_reader *r);

#include "utf8.h"
/* Scans one row of CSV starting at p[0], up to n bytes. Returns the row's
 * length including its newline, or 0 when the row is not complete (more
 * bytes are needed; at the end of the feed `final` takes what is there).
 * Fills r->cells (and r->esc); *nf gets the number of fields, *nl the
 * newlines inside,
 * *bad a reason for a malformed row (reader_csv.c). */
size_t fw__csv_scan(struct fw_reader *r, const char *p, size_t n, bool final,
                    size_t *nf, uint64_t *nl, const char **bad);

/* GB18030 in[0..len) as UTF-8 into out, which has room for 3 * len + 16
 * bytes; returns the bytes written. A byte that is not GB18030 becomes
 * U+FFFD and counts in *replaced; *by_lib counts the bytes that iconv (cd)
 * converted rather than the table (reader_gb.c). */
size_t fw__gb_decode(iconv_t cd, const char *in, size_t len, char *out,
                     uint64_t *replaced, uint64_t *by_lib);

/* One row of a table (CSV or sheet): before the header a title row or the
 * header, after it a record, a total row or a blank. bad: a reason the row
 * is malformed (CSV), or NULL. */
int fw__table_row(struct fw_reader *r, const struct fw_cell *cells, size_t n,
                  uint64_t line, const char *bad, struct fw_error *err);
/* End of the table: a header still waiting is taken; no header is an
 * error. */
int fw__table_finish(struct fw_reader *r, struct fw_error *err);
void fw__table_free(struct fw_reader *r);

#endif
