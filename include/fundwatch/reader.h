/* The feed reader: bytes handed in → normalised records or rejects. CSV (RFC
 * 4180, UTF-8 or GBK/GB18030) and NDJSON, pushed in chunks of any size, and
 * the rows of a spreadsheet (rules/xlsx.c, daemon/feeds/xls.c) handed in one
 * at a time. Memory stays bounded by the longest line. No I/O here. */
#ifndef FUNDWATCH_READER_H
#define FUNDWATCH_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fundwatch/error.h"
#include "fundwatch/record.h"

/* ---- column mapping ---------------------------------------------------- */

enum fw_encoding { FW_ENC_AUTO = 0, FW_ENC_UTF8, FW_ENC_GB18030 };

struct fw_colmap;

/* A mapping holding the canonical names and the built-in Chinese aliases of
 * DESIGN.md. NULL on out of memory. */
struct fw_colmap *fw_colmap_new(void);
void fw_colmap_free(struct fw_colmap *m);
/* Maps a header name (exact text after trimming spaces) to a field, with the
 * unit a money column is written in. A later alias for the same header wins. */
int fw_colmap_alias(struct fw_colmap *m, const char *header, enum fw_field f,
                    enum fw_unit unit, struct fw_error *err);
void fw_colmap_set_encoding(struct fw_colmap *m, enum fw_encoding enc);
/* The sheet of a workbook to read: a name, a 1-based number, or "all"
 * (NULL: the first). Copied. */
int fw_colmap_set_sheet(struct fw_colmap *m, const char *sheet);
const char *fw_colmap_sheet(const struct fw_colmap *m);
/* The most bytes one part of a workbook may unpack to (a zip bomb stops
 * there); 0 = the default, FW_BOOK_MAX_UNZIPPED. */
void fw_colmap_set_max_unzipped(struct fw_colmap *m, uint64_t bytes);
uint64_t fw_colmap_max_unzipped(const struct fw_colmap *m);
#define FW_BOOK_MAX_UNZIPPED (4ull << 30)
/* "元"/"yuan", "千元"/"qian", "万元"/"wan", "亿元"/"yi" → unit; FW_EINVAL
 * otherwise. */
int fw_unit_parse(const char *s, size_t n, enum fw_unit *u);
const char *fw_unit_name(enum fw_unit u);

/* ---- reading ----------------------------------------------------------- */

enum fw_format { FW_FMT_AUTO = 0, FW_FMT_CSV, FW_FMT_NDJSON, FW_FMT_SHEET };

struct fw_reader_cb {
    /* A record; return 0 to go on, non-zero to stop the reader (that value is
     * returned by fw_reader_push/finish). */
    int (*on_record)(void *ud, const struct fw_record *rec);
    /* A line that could not be read: "<column> \"<text>\": <reason>". */
    void (*on_reject)(void *ud, const char *feed, uint64_t line,
                      const char *reason);
    /* A problem of the feed that is no row's: a total row whose sums
     * disagree with the rows above it. msg is in the reader's language;
     * data holds both, Chinese first ("中文 — English"), for a finding.
     * NULL: msg is handed to on_reject. */
    void (*on_problem)(void *ud, const char *feed, uint64_t line,
                       const char *msg, const char *data);
};

struct fw_reader_stats {
    uint64_t lines;    /* rows: CSV records (a quoted newline continues a
                          row) or NDJSON lines; = records + rejects + header
                          + blank */
    uint64_t physical; /* newline-separated lines, for places */
    uint64_t records;
    uint64_t rejects;  /* logical records rejected */
    uint64_t header;   /* header lines (1, or 2 for a two-row header) */
    uint64_t blank;
    uint64_t bytes;
    uint64_t title;    /* rows before the header: title, unit line... */
    uint64_t totals;   /* 合计/小计 rows: not records */
    uint64_t totals_ok;        /* ... whose sums agree with the rows */
    uint64_t totals_unchecked; /* ... formulas without a cached value */
    uint64_t problems; /* totals that disagree (on_problem) */
    uint64_t sheets_skipped; /* --sheet all: sheets with no header row */
    /* Columns no field was found for, each with a "did you mean", as the
     * summary shows them; "" when every column was recognised. */
    char unknown[768];
};

struct fw_reader;

/* feed is the name records carry as their source (copied). The format is
 * chosen from the first bytes when FW_FMT_AUTO. The map must outlive the
 * reader. */
struct fw_reader *fw_reader_new(const struct fw_colmap *map, const char *feed,
                                enum fw_format fmt,
                                const struct fw_reader_cb *cb, void *ud);
void fw_reader_free(struct fw_reader *r);

/* Hands in the next bytes of the feed. Returns 0, a callback's non-zero
 * value, or a negative FW_E code for a whole-file problem (not CSV at all,
 * header missing a required column, a line over the limit, NUL bytes); then
 * err says what and where, and the reader accepts nothing more. */
int fw_reader_push(struct fw_reader *r, const char *buf, size_t len,
                   struct fw_error *err);
/* End of the feed: flushes the last line and checks the whole (an empty
 * feed is an error). */
int fw_reader_finish(struct fw_reader *r, struct fw_error *err);
const struct fw_reader_stats *fw_reader_stats(const struct fw_reader *r);

/* ---- spreadsheet rows ------------------------------------------------- */

/* A cell as a workbook holds it. Numbers come as exact decimal text at
 * Excel's 15 significant digits (fw_cell_number), dates as ISO text. */
enum fw_cell_kind {
    FW_CELL_TEXT = 0,
    FW_CELL_NUMBER,
    FW_CELL_DATE,
    FW_CELL_BOOL,    /* "true" / "false" */
    FW_CELL_ERROR,   /* "#DIV/0!" and such */
    FW_CELL_NOVALUE, /* a formula without a cached value */
    FW_CELL_BADDATE, /* a date cell that is no date: p says why (translated) */
};

struct fw_cell {
    const char *p;
    size_t n;
    enum fw_cell_kind kind;
};

/* Hands in one row of a sheet (reader made with FW_FMT_SHEET); row is the
 * sheet's own row number. Cells beyond n are empty. Returns like
 * fw_reader_push. */
int fw_reader_row(struct fw_reader *r, const struct fw_cell *cells, size_t n,
                  uint64_t row, struct fw_error *err);

/* An Excel number's text ("0.30000000000000004", "1.5E-3") as exact plain
 * decimal text rounded to 15 significant digits ("0.3", "0.0015"), into
 * out (at least 48 bytes). Returns its length, or 0 if s is not a number. */
size_t fw_cell_number(const char *s, size_t n, char *out);
/* An Excel date serial's text (a number, its fraction the time of day) as
 * ISO "2024-09-30" into out (11 bytes), in the 1900 system (its 29 Feb 1900
 * that never was, serial 60, is an error) or the 1904 one. 0 on success,
 * else FW_EINVAL and *why. */
int fw_cell_date(const char *s, size_t n, bool date1904, char *out,
                 const char **why);

/* ---- workbooks (.xlsx) -------------------------------------------------- */

struct zip_source;
struct fw_book_cb {
    /* Called before a sheet is read, with the reader its rows go to; after
     * it with the reader's result (rc) and stats. */
    struct fw_reader *(*sheet_begin)(void *ud, const char *label);
    int (*sheet_end)(void *ud, struct fw_reader *r, int rc,
                     struct fw_error *err);
};
/* Reads the .xlsx workbook in src (libzip; the caller made it from a file
 * or from bytes; taken over, freed here) sheet by sheet as the map's sheet
 * setting says. Labels are "<name>:<sheet>". Returns 0, a callback's
 * non-zero value or a negative FW_E code with err (damaged zip, no such
 * sheet, a part too large...). */
int fw_xlsx_read(struct zip_source *src, const char *name,
                 const struct fw_colmap *map, const struct fw_book_cb *cb,
                 void *ud, struct fw_error *err);

/* The longest line accepted, in bytes. */
#define FW_READER_MAX_LINE (1u << 20)

/* ---- output ------------------------------------------------------------ */

struct fw_buf;
/* Appends the record as one NDJSON object (canonical keys, money "1234.56",
 * dates ISO, extra columns under their header names, source), no newline. */
int fw_record_json(const struct fw_record *rec, struct fw_buf *out);
/* The record as one flat NDJSON object the reader reads back into the same
 * record (the store keeps task records so): extra columns as top-level keys,
 * scores and percents as exact text, no source. Appends, no newline. */
int fw_record_json_flat(const struct fw_record *rec, struct fw_buf *out);

#endif
