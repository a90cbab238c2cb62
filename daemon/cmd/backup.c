/* fundwatch backup: an online copy of the daemon's store, taken through
 * SQLite's backup API while the daemon runs (fw_store_backup), written under
 * a temporary name, checked, and renamed into place only when good. Reads
 * the config for the database's path only; writes nothing else. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "fundwatch/i18n.h"
#include "store/store.h"
#include "sys.h"

static const char usage_text[] = N_(
    "usage: fundwatch backup [-c CONFIG] OUT.db\n"
    "\n"
    "Copies the daemon's store (the config's database) to OUT.db while the\n"
    "daemon runs. SQLite's backup API copies every page within one read\n"
    "transaction, so the copy is the store as of one commit; the daemon goes\n"
    "on meanwhile. The copy is written as OUT.db.tmp, checked (integrity,\n"
    "foreign keys, the store's own counters) and only then renamed to\n"
    "OUT.db, readable by its owner only. OUT.db must not exist.\n"
    "Restoring a copy: fundwatch(1), RESTORE.\n"
    "\n"
    "  -c, --config FILE  the daemon's config (default: ./fundwatch.yaml,\n"
    "                     else the installed one)\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 copied and checked; 1 the copy fails its check (it is\n"
    "removed: the store itself needs a look); 2 usage, or the config, the\n"
    "store or OUT.db cannot be read or written.\n");

static int fail(const struct fw_error *e)
{
    fprintf(stderr, "fundwatch backup: %s%s%s\n", e->place,
            e->place[0] ? ": " : "", e->msg);
    return FW_EXIT_USAGE;
}

/* what: a translated "cannot ..." */
static int sys_fail(const char *path, const char *what)
{
    fprintf(stderr, "fundwatch backup: %s: %s: %s\n", path, what,
            strerror(errno));
    return FW_EXIT_USAGE;
}

/* Removes the temporary copy and what SQLite may have left beside it. */
static void discard(const char *tmp)
{
    char side[PATH_MAX + 16];
    unlink(tmp);
    snprintf(side, sizeof side, "%s-journal", tmp);
    unlink(side);
}

/* Opens the copy as the daemon would (read-only) and runs the store's own
 * checks on it; fills c. */
static int check_copy(const char *tmp, struct fw_store_counts *c,
                      struct fw_error *err)
{
    struct fw_store *cp = NULL;
    struct fw_store_opts ro = {.read_only = true};
    int rc = fw_store_open(tmp, &ro, &cp, err);
    if (rc == 0)
        rc = fw_store_check(cp, err);
    if (rc == 0)
        rc = fw_store_counts(cp, c, err);
    fw_store_close(cp);
    return rc;
}

/* fsync of the copy, then its rename (never over a file that appeared
 * meanwhile), then fsync of the folder: a copy reported done is on disk. */
static int put_in_place(const char *tmp, const char *out)
{
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0) {
        if (fd >= 0)
            close(fd);
        return sys_fail(tmp, _("cannot sync the copy"));
    }
    close(fd);
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_NOREPLACE) < 0 &&
        (errno != EINVAL || link(tmp, out) < 0 || unlink(tmp) < 0))
        return sys_fail(out, _("cannot put the copy in place"));
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else
        slash[slash == dir] = '\0';
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        fsync(fd);
        close(fd);
    }
    return FW_EXIT_OK;
}

static int backup(const char *conf, const char *out)
{
    struct fw_config cfg;
    struct fw_store *st = NULL;
    int status = fw_cmd_store_open("backup", conf, &cfg, &st);
    if (status != 0)
        return status;
    status = FW_EXIT_USAGE;
    char tmp[PATH_MAX];
    struct stat sb;
    struct fw_error err = {0};
    if (stat(out, &sb) == 0) {
        fprintf(stderr, _("fundwatch backup: %s: exists; a backup never "
                          "overwrites a file: give a new name\n"), out);
        goto done;
    }
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", out) >= sizeof tmp) {
        fprintf(stderr, _("fundwatch backup: %s: path too long\n"), out);
        goto done;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            fprintf(stderr, _("fundwatch backup: %s: exists (a backup "
                              "running, or one interrupted): remove it "
                              "first\n"), tmp);
        else
            sys_fail(tmp, _("cannot create"));
        goto done;
    }
    close(fd);

    uint64_t t0 = fw_mono_ns();
    if (fw_store_backup(st, tmp, &err) < 0) {
        status = fail(&err);
        discard(tmp);
        goto done;
    }
    struct fw_store_counts c;
    if (check_copy(tmp, &c, &err) < 0) {
        fprintf(stderr, _("fundwatch backup: the copy of %s fails its "
                          "check, so the store itself needs a look (sqlite3 "
                          "%s 'PRAGMA integrity_check'): %s%s%s\n"),
                cfg.database, cfg.database, err.place,
                err.place[0] ? ": " : "", err.msg);
        discard(tmp);
        status = FW_EXIT_PROBLEMS;
        goto done;
    }
    if ((status = put_in_place(tmp, out)) != FW_EXIT_OK) {
        discard(tmp);
        goto done;
    }
    int64_t findings = 0;
    for (int k = 0; k < FW__FK_COUNT; k++)
        findings += c.findings[k][0] + c.findings[k][1];
    off_t bytes = stat(out, &sb) == 0 ? sb.st_size : 0;
    printf(_("%s: a copy of %s as of one commit, checked: %lld findings, "
             "%lld feeds, %lld KiB in %.1f ms\n"),
           out, cfg.database, (long long)findings,
           (long long)(c.feeds[0] + c.feeds[1] + c.feeds[2]),
           (long long)(bytes >> 10), (double)(fw_mono_ns() - t0) / 1e6);
done:
    fw_store_close(st);
    fw_config_fini(&cfg);
    return status;
}

int fw_cmd_backup(int argc, char **argv)
{
    struct fw_cmd_opts o;
    int rc = fw_cmd_options("backup", _(usage_text), FW_OPT_CONFIG, argc,
                            argv, &o);
    if (rc >= 0)
        return rc;
    if (o.argi != argc - 1)
        return fw_cli_usage_error("backup", "%s",
                                  o.argi == argc
                                      ? _("give the file to write, e.g. "
                                          "fundwatch backup -c "
                                          "/etc/fundwatch/fundwatch.yaml "
                                          "/root/fundwatch-copy.db")
                                      : _("one file to write, not more"));
    bool system_conf = false;
    const char *conf = o.config;
    if (conf == NULL)
        conf = fw_cmd_default_config(&system_conf);
    return backup(conf, argv[o.argi]);
}
