/* fundwatch records: reads feeds and prints the normalised records as
 * NDJSON, rejects on stderr as file:line: reason, and the counts. For a
 * person checking an export before it goes to the spool. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "fundwatch/i18n.h"
#include "feedio.h"
#include "fundwatch/buf.h"

static const char usage_text[] = N_(
    "usage: fundwatch records [--columns MAP.yaml] [--quiet] [--sheet S] "
    "FEED...\n"
    "\n"
    "Reads each FEED (CSV in UTF-8 or GBK/GB18030, NDJSON, or an Excel\n"
    "workbook, .xlsx or .xls) and prints its\n"
    "records as NDJSON on stdout: canonical field names, money as \"1234.56\"\n"
    "(yuan, two decimals), dates as 2024-06-30, and the source (feed, line).\n"
    "A line that cannot be read is a reject, printed on stderr as\n"
    "\"feed.csv:17: <column> \"<text>\": <reason>\"; the feed goes on.\n"
    "\n"
    "  -m, --columns MAP  column map (YAML) on top of the built-in aliases\n"
    "  -q, --quiet        check only: print no records, only rejects and counts\n"
    "  -S, --sheet S      a workbook's sheet: its name, its number or all\n"
    "      --lang zh|en   the language of messages (default: from LANG)\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 every line read, 1 rejects or a feed that is not a feed,\n"
    "2 usage error or a file that cannot be opened.\n");

struct ctx {
    struct fw_buf out;
    bool quiet;
};

static int on_record(void *ud, const struct fw_record *rec)
{
    struct ctx *c = ud;
    if (c->quiet)
        return 0;
    fw_record_json(rec, &c->out);
    fw_buf_putc(&c->out, '\n');
    if (c->out.len >= (64u << 10)) {
        fwrite(c->out.p, 1, c->out.len, stdout);
        fw_buf_reset(&c->out);
    }
    return 0;
}

static void on_reject(void *ud, const char *feed, uint64_t line,
                      const char *reason)
{
    (void)ud;
    fprintf(stderr, "%s:%llu: %s\n", feed, (unsigned long long)line, reason);
}

int fw_cmd_records(int argc, char **argv)
{
    struct fw_cmd_opts o;
    int rc = fw_cmd_options("records", _(usage_text),
                            FW_OPT_COLUMNS | FW_OPT_QUIET | FW_OPT_SHEET, argc,
                            argv, &o);
    if (rc >= 0)
        return rc;
    const char *columns = o.columns;
    struct ctx c = {.out = FW_BUF_INIT, .quiet = o.quiet};
    if (o.argi >= argc)
        return fw_cli_usage_error("records", "no feed given (see --help)");

    struct fw_diag diag;
    fw_diag_init(&diag);
    struct fw_colmap *map = fw_columns_load(columns, &diag);
    if (map == NULL) {
        for (size_t i = 0; i < diag.n; i++)
            fprintf(stderr, "%s\n", diag.items[i]);
        fw_diag_fini(&diag);
        return FW_EXIT_USAGE;
    }
    fw_diag_fini(&diag);
    if (o.sheet != NULL)
        fw_colmap_set_sheet(map, o.sheet);

    struct fw_reader_cb cb = {on_record, on_reject, NULL};
    struct fw_reader_stats total = {0};
    int status = FW_EXIT_OK, feeds = 0, bad_feeds = 0;
    for (int i = o.argi; i < argc; i++) {
        struct fw_reader_stats st = {0};
        struct fw_error err = {0};
        rc = fw_feed_read_path(argv[i], NULL, map, &cb, &c, &st, &err);
        fwrite(c.out.p ? c.out.p : "", 1, c.out.len, stdout);
        fw_buf_reset(&c.out);
        feeds++;
        if (rc < 0) {
            char msg[FW_PLACE_MAX + FW_MSG_MAX + 4];
            fprintf(stderr, "%s\n", fw_error_text(&err, msg, sizeof msg));
            bad_feeds++;
            if (rc == FW_EIO)
                status = FW_EXIT_USAGE;
            else if (status == FW_EXIT_OK)
                status = FW_EXIT_PROBLEMS;
        }
        total.lines += st.lines;
        total.records += st.records;
        total.rejects += st.rejects;
        total.header += st.header;
        total.blank += st.blank;
        total.bytes += st.bytes;
        total.physical += st.physical;
        total.title += st.title;
        total.totals += st.totals;
        total.problems += st.problems;
        if (rc >= 0)
            fw_feed_notes(stderr, argv[i], &st);
    }
    fflush(stdout);
    if ((total.rejects > 0 || total.problems > 0) && status == FW_EXIT_OK)
        status = FW_EXIT_PROBLEMS;
    fprintf(stderr,
            "records: %d feed%s (%d not read), %llu lines in %llu rows = "
            "%llu records + %llu rejects + %llu header + %llu blank\n",
            feeds, feeds == 1 ? "" : "s", bad_feeds,
            (unsigned long long)total.physical,
            (unsigned long long)total.lines,
            (unsigned long long)total.records,
            (unsigned long long)total.rejects,
            (unsigned long long)total.header,
            (unsigned long long)total.blank);
    if (total.title + total.totals > 0)
        fprintf(stderr, "records: + %llu title rows + %llu total rows\n",
                (unsigned long long)total.title,
                (unsigned long long)total.totals);
    fw_buf_fini(&c.out);
    fw_colmap_free(map);
    return status;
}
