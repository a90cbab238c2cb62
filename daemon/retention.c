/* Retention (retention.h): prunes spool/done/ and the store's resolved
 * findings at start and at each scheduled check, on the worker, in the
 * parts' `between` turn of the scheduled check's job. Ages are by the wall
 * clock, not --now. Never touches incoming/ or failed/ (a failed feed waits
 * for a person), nor open findings. */
#include "retention.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fundwatch/i18n.h"

struct fw_retention {
    struct fwd *d;
    bool in_sched; /* this scheduled check's job was pruned already */
};

/* Files of done/ whose last change (the move into done/ changes ctime;
 * mtime is the producer's) is older than cutoff_ms. */
static uint64_t prune_done(struct fwd *d, int64_t cutoff_ms)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/done", d->cfg.spool);
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (dir == NULL) {
        if (dfd >= 0)
            close(dfd);
        if (errno != ENOENT) {
            fw_log_error("retention", NULL, "%s: %s", path, strerror(errno));
            fw_core_error(d, "%s: %s", path, strerror(errno));
        }
        return 0;
    }
    uint64_t n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        struct stat sb;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(sb.st_mode))
            continue;
        int64_t m = (int64_t)sb.st_mtim.tv_sec * 1000 +
                    sb.st_mtim.tv_nsec / 1000000;
        int64_t c = (int64_t)sb.st_ctim.tv_sec * 1000 +
                    sb.st_ctim.tv_nsec / 1000000;
        if ((m > c ? m : c) >= cutoff_ms)
            continue;
        if (unlinkat(dfd, e->d_name, 0) == 0)
            n++;
        else if (errno != ENOENT)
            fw_log_warn("retention", e->d_name, "cannot remove done/%s: %s",
                        e->d_name, strerror(errno));
    }
    closedir(dir);
    return n;
}

void fw_retention_run(struct fwd *d, uint64_t done_ms, uint64_t resolved_ms,
                      uint64_t *files, int64_t *findings)
{
    int64_t now = fw_wall_ms();
    *files = 0;
    *findings = 0;
    if (done_ms)
        *files = prune_done(d, now - (int64_t)done_ms);
    if (resolved_ms) {
        struct fw_error err = {0};
        if (fw_store_prune_resolved(d->st, now - (int64_t)resolved_ms,
                                    findings, &err) < 0) {
            fw_log_error("retention", NULL, "%s: %s", err.place, err.msg);
            fw_core_error(d, "retention: %s", err.msg);
        }
    }
}

/* (worker) The first `between` of a scheduled check's job (the core runs
 * them at start and daily) prunes. */
static bool between(void *ud, bool record)
{
    struct fw_retention *r = ud;
    struct fwd *d = r->d;
    if (!record)
        return false;
    if (d->job != FW_JOB_SCHED) {
        r->in_sched = false;
        return false;
    }
    if (r->in_sched)
        return false; /* the same job's end */
    r->in_sched = true;
    uint64_t t0 = fw_mono_ns(), files;
    int64_t findings;
    fw_retention_run(d, d->cfg.retain_done_ms, d->cfg.retain_resolved_ms,
                     &files, &findings);
    if (files || findings)
        fw_log_info("retention", NULL,
                    _("pruned %lld resolved findings with their events and "
                    "%llu files of spool/done/ in %.1f ms"),
                    (long long)findings, (unsigned long long)files,
                    (double)(fw_mono_ns() - t0) / 1e6);
    else
        fw_log_debug("retention", NULL, "nothing old enough to prune");
    return files || findings;
}

int fw_retention_open(struct fwd *d, struct fw_retention **out)
{
    *out = NULL;
    if (!d->cfg.retain_done_ms && !d->cfg.retain_resolved_ms)
        return 0;
    struct fw_retention *r = calloc(1, sizeof *r);
    if (r == NULL)
        return FW_ENOMEM;
    r->d = d;
    fw_core_attach(d, &(struct fw_core_part){
        .name = "retention", .ud = r, .between = between,
    });
    *out = r;
    return 0;
}

void fw_retention_free(struct fw_retention *r)
{
    free(r);
}
