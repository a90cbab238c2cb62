/* Walks a policies folder and reads its *.lua and *.yaml files into memory.
 * Reports every file it could not read; never stops at the first. */
#include "policyfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool fw_policy_path_ends(const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix);
    return n >= k && memcmp(path + n - k, suffix, k) == 0;
}

/* Names the walk leaves alone: hidden files and folders (.git, .#lock),
 * and what editors leave beside a file being edited. */
static bool skipped(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.' || n == 0)
        return true;
    if (name[n - 1] == '~')
        return true;
    if (n >= 2 && name[0] == '#' && name[n - 1] == '#')
        return true;
    return fw_policy_path_ends(name, ".swp") ||
           fw_policy_path_ends(name, ".swo") ||
           fw_policy_path_ends(name, ".swx");
}

static bool wanted(const char *name)
{
    return fw_policy_path_ends(name, ".lua") ||
           fw_policy_path_ends(name, ".yaml");
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p == NULL)
        return NULL;
    if (a == 0) {
        memcpy(p, name, b + 1);
        return p;
    }
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static int grow(struct fw_policy_tree *t)
{
    if (t->n < t->cap)
        return 0;
    size_t cap = t->cap ? t->cap * 2 : 32;
    struct fw_src_file *f = realloc(t->files, cap * sizeof *f);
    if (f == NULL)
        return FW_ENOMEM;
    t->files = f;
    t->cap = cap;
    return 0;
}

/* Reads one file; path (owned) moves into the tree on success. */
static int add_file(struct fw_policy_tree *t, char *path, struct fw_diag *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fw_diag_add(d, path, "cannot read: %s", strerror(errno));
        free(path);
        return FW_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        fw_diag_add(d, path, "cannot read: %s", strerror(errno));
        close(fd);
        free(path);
        return FW_EIO;
    }
    if (st.st_size > (off_t)FW_POLICYFS_MAX_FILE) {
        fw_diag_add(d, path, "larger than %u MiB: not a policy file",
                    FW_POLICYFS_MAX_FILE >> 20);
        close(fd);
        free(path);
        return FW_EIO;
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (buf == NULL || grow(t) < 0) {
        free(buf);
        close(fd);
        free(path);
        return FW_ENOMEM;
    }
    /* Read one byte past the size fstat gave: a file that grew while we
     * read it is reported, not cut short in silence. */
    size_t got = 0;
    char extra;
    for (;;) {
        char *at = got < size ? buf + got : &extra;
        ssize_t k = read(fd, at, got < size ? size - got : 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 || (k > 0 && got == size)) {
            if (k < 0)
                fw_diag_add(d, path, "cannot read: %s", strerror(errno));
            else
                fw_diag_add(d, path, "changed while being read; try again");
            free(buf);
            close(fd);
            free(path);
            return FW_EIO;
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    buf[got] = '\0';
    t->files[t->n++] = (struct fw_src_file){.path = path, .data = buf,
                                            .len = got};
    return 0;
}

/* The folders on the way down, to stop at a symlink that loops back. */
struct anc {
    dev_t dev;
    ino_t ino;
    const struct anc *up;
};

static int walk(struct fw_policy_tree *t, const char *dir, int depth,
                const struct anc *up, struct fw_diag *d)
{
    const char *shown = dir[0] ? dir : ".";
    if (depth > FW_POLICYFS_MAX_DEPTH) {
        fw_diag_add(d, shown, "folders nested more than %d deep",
                    FW_POLICYFS_MAX_DEPTH);
        return FW_EIO;
    }
    DIR *dh = opendir(shown);
    if (dh == NULL) {
        fw_diag_add(d, shown, "cannot read the folder: %s", strerror(errno));
        return FW_EIO;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        if (skipped(de->d_name))
            continue;
        char *path = join(dir, de->d_name);
        if (path == NULL) {
            rc = FW_ENOMEM;
            break;
        }
        struct stat st;
        if (stat(path, &st) < 0) {
            /* A dangling symlink among the policies is worth saying. */
            if (wanted(de->d_name)) {
                fw_diag_add(d, path, "cannot read: %s", strerror(errno));
                rc = rc ? rc : FW_EIO;
            }
            free(path);
            continue;
        }
        int r = 0;
        if (S_ISDIR(st.st_mode)) {
            const struct anc *a = up;
            while (a && !(a->dev == st.st_dev && a->ino == st.st_ino))
                a = a->up;
            if (a != NULL) {
                fw_diag_add(d, path, "a symlink that loops back to a folder "
                            "above it");
                r = FW_EIO;
            } else {
                struct anc me = {st.st_dev, st.st_ino, up};
                r = walk(t, path, depth + 1, &me, d);
            }
            free(path);
        } else if (wanted(de->d_name) && S_ISREG(st.st_mode)) {
            r = add_file(t, path, d);
        } else if (wanted(de->d_name)) {
            fw_diag_add(d, path, "not a regular file");
            free(path);
            r = FW_EIO;
        } else {
            free(path);
        }
        if (r == FW_ENOMEM) {
            rc = r;
            break;
        }
        if (r < 0 && rc == 0)
            rc = r;
    }
    closedir(dh);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    const struct fw_src_file *x = a, *y = b;
    return strcmp(x->path, y->path);
}

int fw_policy_tree_read(const char *dir, struct fw_policy_tree *t,
                        struct fw_diag *diag)
{
    *t = (struct fw_policy_tree){0};
    size_t n = strlen(dir);
    char *root = malloc(n + 1);
    if (root == NULL)
        return FW_ENOMEM;
    memcpy(root, dir, n + 1);
    while (n > 1 && root[n - 1] == '/')
        root[--n] = '\0';
    if (strcmp(root, ".") == 0)
        root[0] = '\0';
    struct stat st;
    int rc;
    if (stat(root[0] ? root : ".", &st) < 0) {
        fw_diag_add(diag, dir, "cannot open the policies folder: %s",
                    strerror(errno));
        rc = FW_EIO;
    } else if (!S_ISDIR(st.st_mode)) {
        fw_diag_add(diag, dir, "not a folder (--policies names the folder "
                    "that holds the policies)");
        rc = FW_EIO;
    } else {
        struct anc top = {st.st_dev, st.st_ino, NULL};
        rc = walk(t, root, 0, &top, diag);
    }
    /* the content addresses are computed over the paths inside the tree */
    size_t skip = root[0] ? strlen(root) + 1 : 0;
    for (size_t i = 0; i < t->n; i++)
        t->files[i].rel = strlen(t->files[i].path) >= skip
                              ? t->files[i].path + skip
                              : t->files[i].path;
    free(root);
    if (t->n > 1)
        qsort(t->files, t->n, sizeof *t->files, by_path);
    return rc;
}

void fw_policy_tree_fini(struct fw_policy_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free((char *)t->files[i].path);
        free((char *)t->files[i].data);
    }
    free(t->files);
    *t = (struct fw_policy_tree){0};
}
