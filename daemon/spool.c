/* The spool folder (see spool.h): listing incoming/ and moving feeds out of
 * it with rename(2), which is atomic within one file system. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys.h"

static const char *const subdirs[] = {"incoming", "done", "failed"};

static int mkdir_one(const char *path, struct fw_error *err)
{
    if (mkdir(path, 0750) == 0 || errno == EEXIST) {
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            return 0;
        return fw_error_set(err, FW_EIO, path, "exists and is not a folder");
    }
    return fw_error_set(err, FW_EIO, path, "cannot create the folder: %s",
                        strerror(errno));
}

int fw_spool_init(const char *root, struct fw_error *err)
{
    int rc = mkdir_one(root, err);
    for (size_t i = 0; rc == 0 && i < 3; i++) {
        char p[PATH_MAX];
        if ((size_t)snprintf(p, sizeof p, "%s/%s", root, subdirs[i]) >=
            sizeof p)
            return fw_error_set(err, FW_EINVAL, root, "path too long");
        rc = mkdir_one(p, err);
    }
    return rc;
}

bool fw_spool_path(const char *root, const char *name, char *out, size_t n)
{
    return (size_t)snprintf(out, n, "%s/incoming/%s", root, name) < n;
}

bool fw_spool_ignored(const char *name)
{
    size_t n = strlen(name);
    return name[0] == '.' || (n >= 5 && strcmp(name + n - 5, ".part") == 0);
}

void fw_spool_list_fini(struct fw_spool_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].name);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

static int by_age(const void *a, const void *b)
{
    const struct fw_spool_item *x = a, *y = b;
    if (x->mtime_ns != y->mtime_ns)
        return x->mtime_ns < y->mtime_ns ? -1 : 1;
    return strcmp(x->name, y->name);
}

int fw_spool_scan(const char *root, struct fw_spool_list *l,
                  struct fw_error *err)
{
    fw_spool_list_fini(l);
    char dir[PATH_MAX];
    if ((size_t)snprintf(dir, sizeof dir, "%s/incoming", root) >= sizeof dir)
        return fw_error_set(err, FW_EINVAL, root, "path too long");
    DIR *d = opendir(dir);
    if (d == NULL)
        return fw_error_set(err, FW_EIO, dir, "cannot list: %s",
                            strerror(errno));
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (fw_spool_ignored(de->d_name))
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(sb.st_mode))
            continue; /* gone meanwhile, or not a plain file */
        if (l->n == l->cap) {
            size_t cap = l->cap ? 2 * l->cap : 64;
            void *p = realloc(l->items, cap * sizeof *l->items);
            if (p == NULL) {
                rc = FW_ENOMEM;
                break;
            }
            l->items = p;
            l->cap = cap;
        }
        char *name = strdup(de->d_name);
        if (name == NULL) {
            rc = FW_ENOMEM;
            break;
        }
        l->items[l->n++] = (struct fw_spool_item){
            .name = name,
            .mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000LL +
                        sb.st_mtim.tv_nsec,
        };
    }
    closedir(d);
    if (rc < 0)
        return fw_error_set(err, rc, dir, "out of memory");
    if (l->n > 1)
        qsort(l->items, l->n, sizeof *l->items, by_age);
    return 0;
}

static int write_reason(const char *path, const char *reason,
                        struct fw_error *err)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return fw_error_set(err, FW_EINVAL, path, "path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return fw_error_set(err, FW_EIO, tmp, "cannot write: %s",
                            strerror(errno));
    size_t n = strlen(reason);
    bool ok = write(fd, reason, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
    int e = errno;
    if (close(fd) < 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok || rename(tmp, path) < 0) {
        if (ok)
            e = errno;
        unlink(tmp);
        return fw_error_set(err, e == ENOSPC ? FW_ELIMIT : FW_EIO, path,
                            "cannot write: %s", strerror(e));
    }
    return 0;
}

/* A name in done/ or failed/ is taken by the file or by its .reason. */
static bool taken(const char *to, bool with_reason)
{
    if (access(to, F_OK) == 0)
        return true;
    char why[PATH_MAX + 8];
    snprintf(why, sizeof why, "%s.reason", to);
    return with_reason && access(why, F_OK) == 0;
}

int fw_spool_finish(const char *root, const char *name, bool ok,
                    const char *reason, char *dest, size_t dest_len,
                    struct fw_error *err)
{
    char from[PATH_MAX], to[PATH_MAX], why[PATH_MAX + 8];
    const char *sub = ok ? "done" : "failed";
    if (!fw_spool_path(root, name, from, sizeof from))
        return fw_error_set(err, FW_EINVAL, name, "path too long");
    if ((size_t)snprintf(to, sizeof to, "%s/%s/%s", root, sub, name) >=
        sizeof to)
        return fw_error_set(err, FW_EINVAL, name, "path too long");
    /* never overwrite: NAME, NAME.1, NAME.2, ... (with its .reason) */
    for (unsigned k = 1; taken(to, !ok); k++) {
        if (k > 100000 ||
            (size_t)snprintf(to, sizeof to, "%s/%s/%s.%u", root, sub, name,
                             k) >= sizeof to)
            return fw_error_set(err, FW_EIO, name,
                                "no free name in %s/%s", root, sub);
    }
    if (access(from, F_OK) < 0 && errno == ENOENT)
        return fw_error_set(err, FW_ENOENT, from,
                            "the feed is gone (deleted while it was read?)");
    if (ok)
        fw_fault("spool-move"); /* committed, not moved: crash.sh */
    if (!ok) {
        snprintf(why, sizeof why, "%s.reason", to);
        int rc = write_reason(why, reason ? reason : "failed", err);
        if (rc < 0)
            return rc;
    }
    if (rename(from, to) < 0) {
        int e = errno;
        return fw_error_set(err, e == ENOENT ? FW_ENOENT : FW_EIO, from,
                            "cannot move to %s/: %s", sub, strerror(e));
    }
    if (dest)
        snprintf(dest, dest_len, "%s", to);
    return 0;
}
