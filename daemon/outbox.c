/* The JSONL outbox (see outbox.h). Owns the file descriptor; the events
 * themselves live in the store until they are marked written. */
#include "outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fundwatch/buf.h"

#define FLUSH_AT (1u << 20) /* write the rendered lines in pieces of ~1 MiB */

struct fw_outbox {
    int fd;
    char *path;
    bool level;      /* the file holds exactly the events up to the mark */
    uint64_t marked; /* the store's mark, as last read or written */
};

static int io_error(struct fw_error *err, const char *path, const char *what)
{
    int e = errno;
    return fw_error_set(err, e == ENOSPC || e == EDQUOT ? FW_ELIMIT : FW_EIO,
                        path, "cannot %s the outbox: %s", what, strerror(e));
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int render(const struct fw_store_finding *sf, struct fw_buf *b)
{
    if (fw_finding_json(&sf->f, b) < 0 || fw_buf_putc(b, '\n') < 0)
        return FW_ENOMEM;
    return 0;
}

/* ---- bringing the file level with the store ------------------------------- */

/* Cuts a torn last line (a crash in the middle of a write) and returns the
 * last whole line in *last (empty when the file is empty). */
static int cut_torn(struct fw_outbox *o, struct fw_buf *last,
                    off_t *size_out, struct fw_error *err)
{
    struct stat sb;
    if (fstat(o->fd, &sb) < 0)
        return io_error(err, o->path, "read");
    off_t size = sb.st_size, end = size, pos = size;
    char buf[4096];
    bool found_end = false;
    /* walk back to the last newline: everything after it is torn */
    while (pos > 0 && !found_end) {
        size_t n = pos >= (off_t)sizeof buf ? sizeof buf : (size_t)pos;
        pos -= (off_t)n;
        if (pread(o->fd, buf, n, pos) != (ssize_t)n)
            return io_error(err, o->path, "read");
        for (size_t i = n; i-- > 0;)
            if (buf[i] == '\n') {
                end = pos + (off_t)i + 1;
                found_end = true;
                break;
            }
    }
    if (!found_end)
        end = 0;
    if (end != size && ftruncate(o->fd, end) < 0)
        return io_error(err, o->path, "repair");
    *size_out = end;
    /* the last whole line: from the newline before it (or the start) */
    off_t start = end - 1;
    while (start > 0) {
        char c;
        if (pread(o->fd, &c, 1, start - 1) != 1)
            return io_error(err, o->path, "read");
        if (c == '\n')
            break;
        start--;
    }
    fw_buf_reset(last);
    if (end > 0) {
        size_t n = (size_t)(end - start);
        if (fw_buf_reserve(last, n) < 0)
            return FW_ENOMEM;
        if (pread(o->fd, last->p, n, start) != (ssize_t)n)
            return io_error(err, o->path, "read");
        last->len = n;
        last->p[n] = '\0';
    }
    return 0;
}

/* Pass 1: the last pending event whose line equals the file's last line. */
struct find_last {
    const struct fw_buf *last;
    struct fw_buf line;
    uint64_t index, found, seq;  /* 1-based; 0 = none */
    uint64_t bytes, found_bytes; /* bytes of events 1..found */
    int rc;
};

static int find_last_cb(void *ud, const struct fw_store_finding *sf)
{
    struct find_last *s = ud;
    fw_buf_reset(&s->line);
    if ((s->rc = render(sf, &s->line)) < 0)
        return 1;
    s->index++;
    s->bytes += s->line.len;
    if (s->line.len == s->last->len &&
        memcmp(s->line.p, s->last->p, s->line.len) == 0) {
        s->found = s->index;
        s->found_bytes = s->bytes;
        s->seq = sf->seq;
    }
    return 0;
}

/* Pass 2: do events 1..upto equal the file's last found_bytes bytes? */
struct verify {
    const char *tail;
    size_t off;
    uint64_t index, upto;
    struct fw_buf line;
    bool same;
    int rc;
};

static int verify_cb(void *ud, const struct fw_store_finding *sf)
{
    struct verify *s = ud;
    if (++s->index > s->upto)
        return 1;
    fw_buf_reset(&s->line);
    if ((s->rc = render(sf, &s->line)) < 0)
        return 1;
    if (memcmp(s->tail + s->off, s->line.p, s->line.len) != 0) {
        s->same = false;
        return 1;
    }
    s->off += s->line.len;
    return 0;
}

/* After a crash between writing lines and marking them, the file already
 * holds some events above the mark: they are the file's last lines, equal
 * to the first pending events. Marks those as written. */
static int level_up(struct fw_outbox *o, struct fw_store *st,
                    struct fw_error *err)
{
    struct fw_buf last = FW_BUF_INIT;
    off_t size = 0;
    uint64_t marked = 0;
    struct find_last fl = {.last = &last};
    struct verify v = {.same = true};
    char *tail = NULL;
    int rc = cut_torn(o, &last, &size, err);
    if (rc < 0 || last.len == 0)
        goto out;
    if ((rc = fw_store_outbox_marked(st, &marked, err)) < 0)
        goto out;
    rc = fw_store_outbox_pending(st, marked, find_last_cb, &fl, err);
    if (fl.rc < 0)
        rc = fl.rc;
    if (rc < 0 || fl.found == 0 || (off_t)fl.found_bytes > size)
        goto out;
    tail = malloc(fl.found_bytes);
    if (tail == NULL) {
        rc = FW_ENOMEM;
        goto out;
    }
    if (pread(o->fd, tail, fl.found_bytes, size - (off_t)fl.found_bytes) !=
        (ssize_t)fl.found_bytes) {
        rc = io_error(err, o->path, "read");
        goto out;
    }
    v.tail = tail;
    v.upto = fl.found;
    rc = fw_store_outbox_pending(st, marked, verify_cb, &v, err);
    if (v.rc < 0)
        rc = v.rc;
    if (rc >= 0 && v.same && v.off == fl.found_bytes)
        rc = fw_store_outbox_mark(st, fl.seq, err);
out:
    if (rc > 0)
        rc = 0; /* a callback stopped the walk on purpose */
    free(tail);
    fw_buf_fini(&last);
    fw_buf_fini(&fl.line);
    fw_buf_fini(&v.line);
    return rc;
}

/* ---- appending ------------------------------------------------------------ */

struct append {
    struct fw_outbox *o;
    struct fw_buf out;
    uint64_t lines, seq;
    int rc;
    struct fw_error *err;
};

static int append_cb(void *ud, const struct fw_store_finding *sf)
{
    struct append *a = ud;
    if ((a->rc = render(sf, &a->out)) < 0)
        return 1;
    a->lines++;
    a->seq = sf->seq;
    if (a->out.len >= FLUSH_AT) {
        if (write_all(a->o->fd, a->out.p, a->out.len) < 0) {
            a->rc = io_error(a->err, a->o->path, "write to");
            return 1;
        }
        fw_buf_reset(&a->out);
    }
    return 0;
}

int fw_outbox_flush(struct fw_outbox *o, struct fw_store *st,
                    uint64_t *written, struct fw_error *err)
{
    if (written)
        *written = 0;
    int rc;
    if (!o->level) {
        if ((rc = level_up(o, st, err)) < 0)
            return rc;
        o->level = true;
    }
    uint64_t marked;
    if ((rc = fw_store_outbox_marked(st, &marked, err)) < 0)
        return rc;
    off_t before = lseek(o->fd, 0, SEEK_END);
    if (before < 0)
        return io_error(err, o->path, "write to");
    struct append a = {.o = o, .err = err};
    rc = fw_store_outbox_pending(st, marked, append_cb, &a, err);
    if (a.rc < 0)
        rc = a.rc;
    if (rc >= 0 && a.out.len > 0 &&
        write_all(o->fd, a.out.p, a.out.len) < 0)
        rc = io_error(err, o->path, "write to");
    fw_buf_fini(&a.out);
    if (rc < 0) {
        /* Cut back what this flush wrote: the next one writes it all. If
         * even that fails, the file is checked against the store again. */
        if (ftruncate(o->fd, before) < 0)
            o->level = false;
        return rc;
    }
    if (a.lines > 0 && (rc = fw_store_outbox_mark(st, a.seq, err)) < 0) {
        /* written but not marked: find them again before writing more */
        o->level = false;
        return rc;
    }
    o->marked = a.lines > 0 ? a.seq : marked;
    if (written)
        *written = a.lines;
    return 0;
}

int fw_outbox_append(struct fw_outbox *o, struct fw_store *st,
                     const struct fw_buf *lines, uint64_t first,
                     uint64_t last, uint64_t *written, struct fw_error *err)
{
    if (written)
        *written = 0;
    if (first == 0 || lines->len == 0) /* nothing new: maybe a backlog */
        return o->level ? 0 : fw_outbox_flush(o, st, written, err);
    if (!o->level || o->marked != first - 1)
        return fw_outbox_flush(o, st, written, err);
    off_t before = lseek(o->fd, 0, SEEK_END);
    if (before < 0 || write_all(o->fd, lines->p, lines->len) < 0) {
        int rc = io_error(err, o->path, "write to");
        if (before >= 0 && ftruncate(o->fd, before) < 0)
            o->level = false;
        return rc;
    }
    int rc = fw_store_outbox_mark(st, last, err);
    if (rc < 0) {
        o->level = false;
        return rc;
    }
    o->marked = last;
    if (written)
        *written = last - first + 1;
    return 0;
}

int fw_outbox_open(const char *path, struct fw_store *st,
                   struct fw_outbox **out, struct fw_error *err)
{
    *out = NULL;
    struct fw_outbox *o = calloc(1, sizeof *o);
    if (o == NULL || (o->path = strdup(path)) == NULL) {
        free(o);
        return fw_error_set(err, FW_ENOMEM, path, "out of memory");
    }
    o->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (o->fd < 0) {
        int rc = io_error(err, path, "open");
        fw_outbox_close(o);
        return rc;
    }
    (void)st;
    *out = o;
    return 0;
}

void fw_outbox_close(struct fw_outbox *o)
{
    if (o == NULL)
        return;
    if (o->fd >= 0)
        close(o->fd);
    free(o->path);
    free(o);
}

uint64_t fw_outbox_lag(const struct fw_outbox *o, struct fw_store *st)
{
    (void)o;
    struct fw_store_counts c;
    if (fw_store_counts(st, &c, NULL) < 0)
        return 0;
    return c.outbox_seq > c.outbox_marked ? c.outbox_seq - c.outbox_marked
                                          : 0;
}
