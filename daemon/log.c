/* One line per event, after OpenBSD httpd's log.c: the line is built in a
 * stack buffer and written with one write(2), so lines of several threads
 * never interleave; errno is kept. Never allocates, never exits. */
#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = FW_LOG_INFO;
static int log_fd = -1;        /* -1: stderr */
static int log_journal = -1;   /* -1: not decided yet */

static const char *const names[] = {"debug", "info", "warn", "error"};
/* sd-daemon.h's SD_DEBUG, SD_INFO, SD_WARNING, SD_ERR */
static const char prio[] = {'7', '6', '4', '3'};

/* systemd sets JOURNAL_STREAM=<dev>:<ino> of the stream it connected; it
 * only counts when fd still is that stream (a child may have redirected it). */
static int journal_detect(int fd)
{
    const char *js = getenv("JOURNAL_STREAM");
    if (js == NULL || *js == '\0')
        return 0;
    unsigned long long dev, ino;
    if (sscanf(js, "%llu:%llu", &dev, &ino) != 2)
        return 0;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return 0;
    return (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

void fw_log_init(int fd, int journal)
{
    int e = errno;
    log_fd = fd;
    log_journal = journal >= 0 ? journal != 0
                               : journal_detect(fd < 0 ? STDERR_FILENO : fd);
    errno = e;
}

void fw_log_set_level(enum fw_log_level lv)
{
    if ((unsigned)lv <= FW_LOG_ERROR)
        atomic_store(&log_level, (int)lv);
}

enum fw_log_level fw_log_get_level(void)
{
    return (enum fw_log_level)atomic_load(&log_level);
}

bool fw_log_enabled(enum fw_log_level lv)
{
    return (int)lv >= atomic_load(&log_level);
}

int fw_log_level_parse(const char *text, enum fw_log_level *lv)
{
    if (text == NULL)
        return FW_EINVAL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(text, names[i])) {
            *lv = (enum fw_log_level)i;
            return 0;
        }
    if (!strcasecmp(text, "warning")) {
        *lv = FW_LOG_WARN;
        return 0;
    }
    return FW_EINVAL;
}

const char *fw_log_level_name(enum fw_log_level lv)
{
    return (unsigned)lv <= FW_LOG_ERROR ? names[lv] : "?";
}

/* A line being built; once full, further text is dropped and the line
 * ends with "..." */
struct line {
    char *p;
    size_t n, cap;
    bool cut;
};

static void put(struct line *l, const char *s, size_t n)
{
    if (l->cut)
        return;
    if (n > l->cap - l->n) {
        n = l->cap - l->n;
        l->cut = true;
    }
    memcpy(l->p + l->n, s, n);
    l->n += n;
}

static void puts_(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* s with control characters escaped. A multi-byte escape is never split:
 * it fits whole or the line is cut before it. */
static void put_escaped(struct line *l, const char *s)
{
    for (; *s && !l->cut; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[5];
        size_t k;
        if (c == '\n')
            k = (size_t)snprintf(esc, sizeof esc, "\\n");
        else if (c == '\r')
            k = (size_t)snprintf(esc, sizeof esc, "\\r");
        else if (c == '\t')
            k = (size_t)snprintf(esc, sizeof esc, "\\t");
        else if (c < 0x20 || c == 0x7f)
            k = (size_t)snprintf(esc, sizeof esc, "\\x%02x", c);
        else {
            put(l, (const char *)&c, 1);
            continue;
        }
        if (k > l->cap - l->n) {
            l->cut = true;
            break;
        }
        put(l, esc, k);
    }
}

/* n shortened so that buf[0..n) does not end inside a UTF-8 character. */
static size_t utf8_trim(const char *buf, size_t n)
{
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        unsigned char c = (unsigned char)buf[n - back];
        if ((c & 0xC0) == 0x80)
            continue;               /* a continuation byte: look further */
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2
                     : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        return len > back ? n - back : n;
    }
    return n;
}

static bool needs_quotes(const char *s)
{
    if (*s == '\0')
        return true;
    for (; *s; s++)
        if (*s == ' ' || *s == '"' || *s == ':')
            return true;
    return false;
}

void fw_vlog(enum fw_log_level lv, const char *subsys, const char *feed,
             const char *fmt, va_list ap)
{
    if ((unsigned)lv > FW_LOG_ERROR)
        lv = FW_LOG_ERROR;
    if (!fw_log_enabled(lv))
        return;
    int saved = errno;
    if (log_journal < 0)
        fw_log_init(log_fd, -1);

    char msg[FW_LOG_LINE_MAX];
    int mlen = vsnprintf(msg, sizeof msg, fmt, ap);
    bool msg_cut = mlen < 0 || (size_t)mlen >= sizeof msg;

    char buf[FW_LOG_LINE_MAX];
    const size_t tail = 4;               /* room for "...\n" */
    struct line l = {.p = buf, .cap = sizeof buf - tail};
    if (log_journal) {
        char pr[4] = {'<', prio[lv], '>', '\0'};
        puts_(&l, pr);
    } else {
        char ts[32];
        struct tm tm;
        time_t now = time(NULL);
        gmtime_r(&now, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ ", &tm);
        puts_(&l, ts);
    }
    puts_(&l, names[lv]);
    puts_(&l, " ");
    put_escaped(&l, subsys && *subsys ? subsys : "-");
    if (feed != NULL) {
        puts_(&l, " feed=");
        if (needs_quotes(feed)) {
            puts_(&l, "\"");
            /* a quote inside is written \x22 so the value stays one token */
            for (const char *s = feed; *s && !l.cut; s++) {
                if (*s == '"')
                    puts_(&l, "\\x22");
                else {
                    char one[2] = {*s, '\0'};
                    put_escaped(&l, one);
                }
            }
            puts_(&l, "\"");
        } else {
            put_escaped(&l, feed);
        }
        puts_(&l, ":");
    }
    puts_(&l, " ");
    put_escaped(&l, msg);
    if (l.cut || msg_cut) {
        l.n = utf8_trim(buf, l.n);
        memcpy(buf + l.n, "...", 3);
        l.n += 3;
    }
    buf[l.n++] = '\n';

    int fd = log_fd < 0 ? STDERR_FILENO : log_fd;
    size_t off = 0;
    while (off < l.n) {
        ssize_t k = write(fd, buf + off, l.n - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;   /* nowhere to report a failing log; drop the line */
        off += (size_t)k;
    }
    errno = saved;
}

void fw_log(enum fw_log_level lv, const char *subsys, const char *feed,
            const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fw_vlog(lv, subsys, feed, fmt, ap);
    va_end(ap);
}

void fw_log_diag(enum fw_log_level lv, const char *subsys,
                 const struct fw_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        fw_log(lv, subsys, NULL, "%s", d->items[i]);
}
