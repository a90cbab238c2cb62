/* fw_policy_tree_read: what it reads, in which order, what it skips, and the
 * message of every file it cannot read. Works in a fresh temporary folder. */
#include "task.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fundwatch/buf.h"
#include "policyfs.h"

static char root[64];

static void put(const char *rel, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    ASSERT(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void mkd(const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    ASSERT_EQ_INT(mkdir(p, 0755), 0);
}

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ASSERT_EQ_INT(system(cmd), 0);
}

static void fresh(void)
{
    snprintf(root, sizeof root, "/tmp/fw-policyfs-XXXXXX");
    ASSERT(mkdtemp(root) != NULL);
}

static const char *rel(const char *path)
{
    size_t n = strlen(root);
    ASSERT(strncmp(path, root, n) == 0 && path[n] == '/');
    return path + n + 1;
}

TEST_IMPL(policyfs_reads_sorted_and_skips)
{
    fresh();
    mkd("cn");
    mkd("50");
    mkd("50/lib");
    mkd(".git");
    put("cn/b.lua", "return 2\n");
    put("cn/a.lua", "return 1\n");
    put("cn/a.yaml", "x: 1\n");
    put("cn/a_test.yaml", "cases: []\n");
    put("50/z.lua", "");
    put("50/lib/m.lua", "return {}\n");
    put("README.md", "not a policy\n");
    put("cn/a.lua~", "backup\n");
    put("cn/.a.lua.swp", "swap\n");
    put("cn/a.lua.swp", "swap\n");
    put("cn/#a.lua#", "emacs\n");
    put(".hidden.lua", "hidden\n");
    put(".git/x.lua", "git\n");

    struct fw_policy_tree t;
    struct fw_diag d;
    fw_diag_init(&d);
    ASSERT_EQ_INT(fw_policy_tree_read(root, &t, &d), 0);
    ASSERT_EQ_INT(d.n, 0);
    ASSERT_EQ_INT(t.n, 6);
    ASSERT_EQ_STR(rel(t.files[0].path), "50/lib/m.lua");
    ASSERT_EQ_STR(rel(t.files[1].path), "50/z.lua");
    ASSERT_EQ_STR(rel(t.files[2].path), "cn/a.lua");
    ASSERT_EQ_STR(rel(t.files[3].path), "cn/a.yaml");
    ASSERT_EQ_STR(rel(t.files[4].path), "cn/a_test.yaml");
    ASSERT_EQ_STR(rel(t.files[5].path), "cn/b.lua");
    ASSERT_EQ_INT(t.files[2].len, 9);
    ASSERT_EQ_STR(t.files[2].data, "return 1\n");
    ASSERT_EQ_INT(t.files[1].len, 0);
    ASSERT_EQ_STR(t.files[1].data, "");
    fw_policy_tree_fini(&t);

    /* Trailing slashes are dropped: paths read as the user would type. */
    char slashed[80];
    snprintf(slashed, sizeof slashed, "%s//", root);
    ASSERT_EQ_INT(fw_policy_tree_read(slashed, &t, &d), 0);
    ASSERT_EQ_STR(rel(t.files[0].path), "50/lib/m.lua");
    fw_policy_tree_fini(&t);
    fw_diag_fini(&d);
    cleanup();
    return 0;
}

TEST_IMPL(policyfs_dot_gives_relative_paths)
{
    fresh();
    mkd("cn");
    put("cn/a.lua", "return 1\n");
    char old[512];
    ASSERT(getcwd(old, sizeof old) != NULL);
    ASSERT_EQ_INT(chdir(root), 0);
    struct fw_policy_tree t;
    struct fw_diag d;
    fw_diag_init(&d);
    ASSERT_EQ_INT(fw_policy_tree_read(".", &t, &d), 0);
    ASSERT_EQ_INT(t.n, 1);
    ASSERT_EQ_STR(t.files[0].path, "cn/a.lua");
    fw_policy_tree_fini(&t);
    ASSERT_EQ_INT(fw_policy_tree_read("./", &t, &d), 0);
    ASSERT_EQ_STR(t.files[0].path, "cn/a.lua");
    fw_policy_tree_fini(&t);
    ASSERT_EQ_INT(fw_policy_tree_read("cn", &t, &d), 0);
    ASSERT_EQ_STR(t.files[0].path, "cn/a.lua");
    fw_policy_tree_fini(&t);
    ASSERT_EQ_INT(chdir(old), 0);
    fw_diag_fini(&d);
    cleanup();
    return 0;
}

TEST_IMPL(policyfs_reports_every_bad_file)
{
    fresh();
    mkd("cn");
    put("cn/ok.lua", "return 1\n");
    char p[256], q[256];
    snprintf(p, sizeof p, "%s/cn/gone.lua", root);
    ASSERT_EQ_INT(symlink("/nonexistent/x.lua", p), 0);
    snprintf(p, sizeof p, "%s/cn/fifo.yaml", root);
    ASSERT_EQ_INT(mkfifo(p, 0644), 0);
    /* A symlink loop is named, not followed. */
    snprintf(p, sizeof p, "%s/loop", root);
    ASSERT_EQ_INT(symlink(".", p), 0);
    /* A file too large to be a policy. */
    snprintf(p, sizeof p, "%s/cn/big.lua", root);
    FILE *f = fopen(p, "w");
    ASSERT(f != NULL);
    ASSERT_EQ_INT(fseek(f, FW_POLICYFS_MAX_FILE + 1, SEEK_SET), 0);
    fputc('x', f);
    fclose(f);

    struct fw_policy_tree t;
    struct fw_diag d;
    fw_diag_init(&d);
    ASSERT_EQ_INT(fw_policy_tree_read(root, &t, &d), FW_EIO);
    struct fw_buf all = FW_BUF_INIT;
    for (size_t i = 0; i < d.n; i++)
        fw_buf_printf(&all, "%s\n", d.items[i]);
    snprintf(q, sizeof q, "%s/cn/gone.lua: cannot read: No such file or "
             "directory\n", root);
    ASSERT_CONTAINS(all.p, q);
    snprintf(q, sizeof q, "%s/cn/fifo.yaml: not a regular file\n", root);
    ASSERT_CONTAINS(all.p, q);
    snprintf(q, sizeof q, "%s/cn/big.lua: larger than 4 MiB: not a policy "
             "file\n", root);
    ASSERT_CONTAINS(all.p, q);
    snprintf(q, sizeof q, "%s/loop: a symlink that loops back to a folder "
             "above it\n", root);
    ASSERT_CONTAINS(all.p, q);
    ASSERT_EQ_INT(d.n, 4);
    /* The readable file is still there. */
    ASSERT_EQ_INT(t.n, 1);
    snprintf(q, sizeof q, "%s/cn/ok.lua", root);
    ASSERT_EQ_STR(t.files[0].path, q);
    fw_buf_fini(&all);
    fw_policy_tree_fini(&t);
    fw_diag_fini(&d);
    cleanup();
    return 0;
}

TEST_IMPL(policyfs_missing_or_not_a_folder)
{
    struct fw_policy_tree t;
    struct fw_diag d;
    fw_diag_init(&d);
    ASSERT_EQ_INT(fw_policy_tree_read("/nonexistent/policies", &t, &d),
                  FW_EIO);
    ASSERT_EQ_INT(d.n, 1);
    ASSERT_EQ_STR(d.items[0], "/nonexistent/policies: cannot open the "
                              "policies folder: No such file or directory");
    ASSERT_EQ_INT(t.n, 0);
    fw_policy_tree_fini(&t);
    fw_diag_fini(&d);
    fw_diag_init(&d);
    ASSERT_EQ_INT(fw_policy_tree_read("/etc/hostname", &t, &d), FW_EIO);
    ASSERT_EQ_STR(d.items[0], "/etc/hostname: not a folder (--policies "
                              "names the folder that holds the policies)");
    fw_policy_tree_fini(&t);
    fw_diag_fini(&d);
    return 0;
}
