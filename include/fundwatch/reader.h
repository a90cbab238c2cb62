/* The feed reader: bytes handed in → normalised records or rejects. CSV (RFC
 * 4180, UTF-8 or GBK/GB18030) and NDJSON. Streaming: the caller pushes chunks
 * of any size; memory stays bounded by the longest line. No I/O here. */
#ifndef FUNDWATCH_READER_H
#define FUNDWATCH_READER_H

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
/* "元"/"yuan", "万元"/"wan", "亿元"/"yi" → unit; FW_EINVAL otherwise. */
int fw_unit_parse(const char *s, size_t n, enum fw_unit *u);
const char *fw_unit_name(enum fw_unit u);

/* ---- reading ----------------------------------------------------------- */

enum fw_format { FW_FMT_AUTO = 0, FW_FMT_CSV, FW_FMT_NDJSON };

struct fw_reader_cb {
    /* A record; return 0 to go on, non-zero to stop the reader (that value is
     * returned by fw_reader_push/finish). */
    int (*on_record)(void *ud, const struct fw_record *rec);
    /* A line that could not be read: "<column> \"<text>\": <reason>". */
    void (*on_reject)(void *ud, const char *feed, uint64_t line,
                      const char *reason);
};

struct fw_reader_stats {
    uint64_t lines;    /* rows: CSV records (a quoted newline continues a
                          row) or NDJSON lines; = records + rejects + header
                          + blank */
    uint64_t physical; /* newline-separated lines, for places */
    uint64_t records;
    uint64_t rejects;  /* logical records rejected */
    uint64_t header;   /* header lines (1 for CSV) */
    uint64_t blank;
    uint64_t bytes;
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
