/* The JSONL outbox (see outbox.h). Owns the file descriptor; the events
 * themselves live in the store until they are marked written, with the
 * file's length at the mark so that a crash is repaired by counting. */
#include "outbox.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fundwatch/buf.h"
#include "sys.h"

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

/* Writes of at most WRITE_MAX bytes. One write(2) of a whole feed's lines
 * (8.5 MB for 10,000 findings) makes the kernel fill the page cache with
 * large folios, and on the benchmark's VM the high-order pages behind them
 * are slow to come by: 512 MB written in 8.5 MB pieces took 3.8-4.7 s,
 * in 32-256 KiB pieces 0.10-0.20 s (docs/benchmarks.md, "The daemon"). */
#define WRITE_MAX ((size_t)256 << 10)

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n < WRITE_MAX ? n : WRITE_MAX);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

void fw_outbox_ack_json(struct fw_buf *b, const char *by, int64_t at_ms,
                        const char *note)
{
    char t[32];
    fw_iso_ms(at_ms, t);
    fw_buf_puts(b, "\"acknowledged\":{\"by\":");
    fw_buf_json_str(b, by ? by : "", by ? strlen(by) : 0);
    fw_buf_printf(b, ",\"at\":\"%s\",\"note\":", t);
    fw_buf_json_str(b, note ? note : "", note ? strlen(note) : 0);
    fw_buf_putc(b, '}');
}

int fw_outbox_line(int event, const struct fw_finding *f,
                   const struct fw_store_finding *sf, struct fw_buf *b)
{
    size_t at = b->len;
    if (fw_buf_puts(b, "{\"event\":\"") < 0 ||
        fw_buf_puts(b, fw_store_event_name(event)) < 0 ||
        fw_buf_puts(b, "\",") < 0) {
        b->len = at;
        return FW_ENOMEM;
    }
    size_t body = b->len;
    if (fw_finding_json(f, b) < 0 || b->len - body < 2 || b->p[body] != '{')
        goto fail;
    /* the finding's object, its braces shared with the event's */
    memmove(b->p + body, b->p + body + 1, b->len - body - 1);
    b->len--;
    if (event == FW_EV_ACKNOWLEDGED && sf && sf->ack_at) {
        b->len--; /* its closing brace */
        fw_buf_putc(b, ',');
        fw_outbox_ack_json(b, sf->ack_by, sf->ack_at, sf->ack_note);
        fw_buf_putc(b, '}');
    }
    if (fw_buf_putc(b, '\n') < 0)
        goto fail;
    return 0;
fail:
    b->len = at;
    return FW_ENOMEM;
}

int fw_outbox_line_json(int event, const char *json, size_t n,
                        struct fw_buf *b)
{
    const char *name = fw_store_event_name(event);
    size_t k = strlen(name);
    if (n < 2 || json[0] != '{')
        return FW_EINVAL;
    if (fw_buf_reserve(b, 12 + k + n) < 0)
        return FW_ENOMEM;
    char *p = b->p + b->len;
    memcpy(p, "{\"event\":\"", 10);
    p += 10;
    memcpy(p, name, k);
    p += k;
    *p++ = '"';
    *p++ = ',';
    memcpy(p, json + 1, n - 1);
    p += n - 1;
    *p++ = '\n';
    b->len = (size_t)(p - b->p);
    return 0;
}

static int render(const struct fw_store_finding *sf, struct fw_buf *b)
{
    return fw_outbox_line(sf->event, &sf->f, sf, b);
}

/* ---- bringing the file level with the store ------------------------------- */

/* Cuts a torn last line (a crash in the middle of a write); *size_out gets
 * the length of the whole lines. */
static int cut_torn(struct fw_outbox *o, off_t *size_out, struct fw_error *err)
{
    struct stat sb;
    if (fstat(o->fd, &sb) < 0)
        return io_error(err, o->path, "read");
    off_t size = sb.st_size, end = 0, pos = size;
    char buf[4096];
    while (pos > 0 && end == 0) { /* back to the last newline */
        size_t n = pos >= (off_t)sizeof buf ? sizeof buf : (size_t)pos;
        pos -= (off_t)n;
        if (pread(o->fd, buf, n, pos) != (ssize_t)n)
            return io_error(err, o->path, "read");
        for (size_t i = n; i-- > 0;)
            if (buf[i] == '\n') {
                end = pos + (off_t)i + 1;
                break;
            }
    }
    if (end != size && ftruncate(o->fd, end) < 0)
        return io_error(err, o->path, "repair");
    *size_out = end;
    return 0;
}

/* The outbox file recorded with the mark (dev, ino) was moved away while
 * fundwatch was stopped (a rotation): look for it beside the path, under
 * a name that starts with the outbox's (a rotation renames it in the same
 * folder: outbox.jsonl.1, left plain by delaycompress), cut a torn last
 * line in it, and count into *k the whole lines past bytes: events written
 * to it and not marked. Not found (removed, compressed): *k = 0, and those
 * events are written again to the new file. */
static int count_moved(struct fw_outbox *o, uint64_t dev, uint64_t ino,
                       uint64_t bytes, uint64_t *k, struct fw_error *err)
{
    *k = 0;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", o->path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else
        slash[slash == dir] = '\0'; /* "/x" keeps "/" */
    DIR *dp = opendir(dir);
    if (dp == NULL)
        return 0;
    /* only a name the rotation gives (outbox.jsonl.1, outbox.jsonl-2026…):
     * an inode freed and given to another file is never taken for it */
    const char *base = strrchr(o->path, '/');
    base = base ? base + 1 : o->path;
    size_t blen = strlen(base);
    struct dirent *e;
    char found[sizeof dir + 256] = "";
    while ((e = readdir(dp)) != NULL) {
        struct stat sb;
        if (strncmp(e->d_name, base, blen) == 0 && e->d_name[blen] != '\0' &&
            fstatat(dirfd(dp), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(sb.st_mode) && (uint64_t)sb.st_dev == dev &&
            (uint64_t)sb.st_ino == ino && (uint64_t)sb.st_size >= bytes) {
            snprintf(found, sizeof found, "%s/%s", dir, e->d_name);
            break;
        }
    }
    closedir(dp);
    if (!found[0])
        return 0;
    struct fw_outbox moved = {.path = found};
    if ((moved.fd = open(found, O_RDWR | O_CLOEXEC)) < 0)
        return 0;
    off_t size = 0;
    int rc = cut_torn(&moved, &size, err);
    char buf[65536];
    for (off_t at = (off_t)bytes; rc == 0 && at < size;) {
        size_t n = size - at < (off_t)sizeof buf ? (size_t)(size - at)
                                                 : sizeof buf;
        if (pread(moved.fd, buf, n, at) != (ssize_t)n) {
            rc = io_error(err, found, "read");
            break;
        }
        for (size_t i = 0; i < n; i++)
            *k += buf[i] == '\n';
        at += (off_t)n;
    }
    close(moved.fd);
    return rc;
}

/* After a crash between writing lines and marking them, the file holds
 * events past the mark: the store recorded the file's length with the
 * mark, so the whole lines past that length are exactly those events (they
 * are written in seq order and nothing else writes the file). Marks them. */
static int level_up(struct fw_outbox *o, struct fw_store *st,
                    struct fw_error *err)
{
    off_t size = 0;
    uint64_t seq = 0, bytes = 0;
    int rc = cut_torn(o, &size, err);
    if (rc < 0 || (rc = fw_store_outbox_marked_at(st, &seq, &bytes, err)) < 0)
        return rc;
    o->marked = seq;
    /* the file the mark is about, and the one open now */
    struct stat sb;
    uint64_t dev = 0, ino = 0;
    if (fstat(o->fd, &sb) < 0)
        return io_error(err, o->path, "read");
    if ((rc = fw_store_outbox_file(st, &dev, &ino, err)) < 0)
        return rc;
    bool other = ino != 0 && (dev != (uint64_t)sb.st_dev ||
                              ino != (uint64_t)sb.st_ino);
    if (!other && ino != 0 && (uint64_t)size == bytes)
        return 0;
    uint64_t k = 0;
    if (other) {
        /* moved away while fundwatch was stopped (rotated): what was
         * written and not marked is in the moved file, if it is still
         * beside; the open file is taken as it is */
        if ((rc = count_moved(o, dev, ino, bytes, &k, err)) < 0)
            return rc;
        struct fw_store_counts c;
        if ((rc = fw_store_counts(st, &c, err)) < 0)
            return rc;
        if (seq + k > c.outbox_seq)
            k = c.outbox_seq > seq ? c.outbox_seq - seq : 0;
    } else if ((uint64_t)size > bytes) {
        /* count the whole lines written since the mark */
        char buf[65536];
        for (off_t at = (off_t)bytes; at < size;) {
            size_t n = size - at < (off_t)sizeof buf ? (size_t)(size - at)
                                                     : sizeof buf;
            if (pread(o->fd, buf, n, at) != (ssize_t)n)
                return io_error(err, o->path, "read");
            for (size_t i = 0; i < n; i++)
                k += buf[i] == '\n';
            at += (off_t)n;
        }
        struct fw_store_counts c;
        if ((rc = fw_store_counts(st, &c, err)) < 0)
            return rc;
        if (seq + k > c.outbox_seq) /* more lines than events: not ours */
            k = c.outbox_seq > seq ? c.outbox_seq - seq : 0;
    }
    /* else: shorter than recorded (rotated or cut by hand): the file is
     * taken as it is */
    if ((rc = fw_store_outbox_mark_file(st, seq + k, (uint64_t)size,
                                        (uint64_t)sb.st_dev,
                                        (uint64_t)sb.st_ino, err)) < 0)
        return rc;
    o->marked = seq + k;
    return 0;
}

/* A crash test's hook: FW_FAULT=outbox-written kills the process the moment
 * lines are in the file and not yet marked, the window the repair at open is
 * for (tests/daemon/crash.sh). */
static void fault_point(void)
{
    fw_fault("outbox-written");
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
    if (a.lines > 0)
        fault_point();
    off_t after = lseek(o->fd, 0, SEEK_END);
    if (a.lines > 0 &&
        (after < 0 ||
         (rc = fw_store_outbox_mark_at(st, a.seq, (uint64_t)after, err)) < 0)) {
        /* written but not marked: found again before writing more */
        o->level = false;
        return after < 0 ? io_error(err, o->path, "write to") : rc;
    }
    o->marked = a.lines > 0 ? a.seq : marked;
    if (written)
        *written = a.lines;
    return 0;
}

bool fw_outbox_append_reads(const struct fw_outbox *o, uint64_t n,
                            uint64_t first, uint64_t last)
{
    if (o->level && (first == 0 || last <= o->marked))
        return false;
    if (!o->level || o->marked != first - 1)
        return true;
    /* a line for every event (a resolution's is not rendered by the job):
     * else they are all read back from the store, in order */
    return n != last - first + 1;
}

int fw_outbox_append(struct fw_outbox *o, struct fw_store *st,
                     const struct fw_buf *lines, uint64_t n, uint64_t first,
                     uint64_t last, uint64_t *written, struct fw_error *err)
{
    if (written)
        *written = 0;
    if (o->level && (first == 0 || last <= o->marked))
        return 0; /* nothing new, or written by a flush already */
    if (fw_outbox_append_reads(o, n, first, last))
        return fw_outbox_flush(o, st, written, err);
    off_t before = lseek(o->fd, 0, SEEK_END);
    if (before < 0 || write_all(o->fd, lines->p, lines->len) < 0) {
        int rc = io_error(err, o->path, "write to");
        if (before >= 0 && ftruncate(o->fd, before) < 0)
            o->level = false;
        return rc;
    }
    fault_point();
    uint64_t after = (uint64_t)before + lines->len;
    int rc = fw_store_outbox_mark_at(st, last, after, err);
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

/* ---- reopening (rotation) ------------------------------------------------- */

int fw_outbox_reopen(struct fw_outbox *o, struct fw_store *st, bool *rotated,
                     struct fw_error *err)
{
    *rotated = false;
    /* what was committed goes to the file being rotated away, so that it
     * ends with every event before the switch; a failed flush that left the
     * file not level keeps it: the lines past its mark are counted in it */
    int rc = fw_outbox_flush(o, st, NULL, err);
    if (rc < 0 && !o->level)
        return rc;
    int fd = open(o->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return io_error(err, o->path, "reopen");
    struct stat was, now;
    if (fstat(o->fd, &was) < 0 || fstat(fd, &now) < 0) {
        rc = io_error(err, o->path, "reopen");
        close(fd);
        return rc;
    }
    if (was.st_dev == now.st_dev && was.st_ino == now.st_ino) {
        close(fd); /* not moved: the same file goes on */
        return 0;
    }
    /* The new file holds none of our events: the mark's length is its
     * length now (0 for a new file), so that a crash repair counts lines
     * in it from there, not from where the old file ended. */
    if ((rc = fw_store_outbox_mark_file(st, o->marked, (uint64_t)now.st_size,
                                        (uint64_t)now.st_dev,
                                        (uint64_t)now.st_ino, err)) < 0) {
        close(fd);
        return rc;
    }
    close(o->fd);
    o->fd = fd;
    o->level = true;
    *rotated = true;
    return 0;
}

