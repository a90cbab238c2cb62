/* The config file: defaults, every key, every bad value with its exact
 * message and place, typos, several problems at once, path resolution, the
 * value parsers with their overflows, token_file; and the logger's line
 * form, escaping and level filter. Works in a fresh temporary folder. */
#include "task.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static char root[PATH_MAX];
#define P 4608  /* room for root and a relative path */

static void fresh(void)
{
    char tmpl[] = "/tmp/fw-config-XXXXXX";
    ASSERT(mkdtemp(tmpl) != NULL);
    ASSERT(realpath(tmpl, root) != NULL);
}

static void cleanup(void)
{
    char cmd[P];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ASSERT_EQ_INT(system(cmd), 0);
}

/* root/rel with text in it; returns the full path (static buffer). */
static const char *put(const char *rel, const char *text)
{
    static char p[P];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    ASSERT(f != NULL);
    fputs(text, f);
    fclose(f);
    return p;
}

static const char *at(const char *rel)
{
    static char p[P];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    return p;
}

/* Loads text as root/c.yaml; returns the code, diag filled. */
static int load(const char *text, struct fw_config *c, struct fw_diag *d)
{
    const char *p = put("c.yaml", text);
    fw_diag_init(d);
    return fw_config_load(p, c, d);
}

/* text must give exactly one problem, "root/c.yaml:<want>". */
static void one_problem(const char *text, const char *want)
{
    struct fw_config c;
    struct fw_diag d;
    int rc = load(text, &c, &d);
    char full[P + FW_MSG_MAX];
    snprintf(full, sizeof full, "%s/c.yaml:%s", root, want);
    if (d.n != 1)
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "  got: %s\n", d.items[i]);
    ASSERT_EQ_INT(d.n, 1);
    ASSERT_EQ_STR(d.items[0], full);
    ASSERT_EQ_INT(rc, FW_EINVAL);
    fw_diag_fini(&d);
    fw_config_fini(&c);
}

TEST_IMPL(config_defaults)
{
    struct fw_config c;
    ASSERT_EQ_INT(fw_config_defaults(&c, "/srv/fw"), 0);
    ASSERT_EQ_STR(c.spool, "/srv/fw/spool");
    ASSERT_EQ_STR(c.policies, "/srv/fw/policies");
    ASSERT_EQ_STR(c.database, "/srv/fw/fundwatch.db");
    ASSERT_EQ_STR(c.outbox, "/srv/fw/outbox.jsonl");
    ASSERT(c.columns == NULL);
    ASSERT(c.listen_enabled);
    ASSERT_EQ_STR(c.listen_host, "127.0.0.1");
    ASSERT_EQ_INT(c.listen_port, 9464);
    ASSERT(c.token == NULL && c.token_file == NULL);
    ASSERT_EQ_INT(c.log_level, FW_LOG_INFO);
    ASSERT_EQ_INT(c.schedule_min, 360);
    ASSERT_EQ_INT(c.scan_interval_ms, 30000);
    ASSERT_EQ_INT(c.engine.budget, 1000000);
    ASSERT_EQ_INT(c.engine.mem_cap, 64 << 20);
    ASSERT_EQ_INT(c.engine.error_streak, 100);
    ASSERT(!c.engine.no_budget);
    ASSERT_EQ_INT(c.max_body, 64 << 20);
    ASSERT_EQ_INT(c.max_feed, 1 << 30);
    ASSERT_EQ_INT(c.reload_debounce_ms, 500);
    ASSERT(c.reload_run_tests);
    fw_config_fini(&c);
    fw_config_fini(NULL);
    return 0;
}

TEST_IMPL(config_every_key)
{
    fresh();
    struct fw_config c;
    struct fw_diag d;
    int rc = load("# a comment\n"
                  "spool: /var/spool/fw\n"
                  "policies: ../policies\n"
                  "database: db/fw.db\n"
                  "outbox: out.jsonl\n"
                  "columns: cols.yaml\n"
                  "listen: \"[::1]:8080\"\n"
                  "token: 0123456789abcdef0123\n"
                  "log_level: debug\n"
                  "schedule: \"7:30\"\n"
                  "scan_interval: 5m\n"
                  "limits:\n"
                  "  budget: 2000\n"
                  "  memory: 2M\n"
                  "  error_streak: 3\n"
                  "  max_body: 1024\n"
                  "  max_feed: 2G\n"
                  "reload:\n"
                  "  debounce: 1h\n"
                  "  run_tests: false\n",
                  &c, &d);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "  %s\n", d.items[i]);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_EQ_INT(d.n, 0);
    ASSERT_EQ_STR(c.file, at("c.yaml"));
    ASSERT_EQ_STR(c.spool, "/var/spool/fw");
    char up[PATH_MAX];
    snprintf(up, sizeof up, "%s", root);
    *strrchr(up, '/') = '\0';
    char want[2 * P];
    snprintf(want, sizeof want, "%s/policies", up[0] ? up : "");
    ASSERT_EQ_STR(c.policies, want);
    ASSERT_EQ_STR(c.database, at("db/fw.db"));
    ASSERT_EQ_STR(c.outbox, at("out.jsonl"));
    ASSERT_EQ_STR(c.columns, at("cols.yaml"));
    ASSERT(c.listen_enabled);
    ASSERT_EQ_STR(c.listen_host, "::1");
    ASSERT_EQ_INT(c.listen_port, 8080);
    ASSERT_EQ_STR(c.token, "0123456789abcdef0123");
    ASSERT_EQ_INT(c.log_level, FW_LOG_DEBUG);
    ASSERT_EQ_INT(c.schedule_min, 7 * 60 + 30);
    ASSERT_EQ_INT(c.scan_interval_ms, 300000);
    ASSERT_EQ_INT(c.engine.budget, 2000);
    ASSERT_EQ_INT(c.engine.mem_cap, 2 << 20);
    ASSERT_EQ_INT(c.engine.error_streak, 3);
    ASSERT_EQ_INT(c.max_body, 1024);
    ASSERT_EQ_INT(c.max_feed, 2ull << 30);
    ASSERT_EQ_INT(c.reload_debounce_ms, 3600000);
    ASSERT(!c.reload_run_tests);
    fw_diag_fini(&d);
    fw_config_fini(&c);

    /* a key may be given alone; the rest keep their defaults */
    rc = load("listen: off\ncolumns: ~\nlimits:\nreload: {}\n", &c, &d);
    ASSERT_EQ_INT(rc, 0);
    ASSERT(!c.listen_enabled);
    ASSERT(c.listen_host == NULL);
    ASSERT(c.columns == NULL);
    ASSERT_EQ_STR(c.spool, at("spool"));
    ASSERT_EQ_INT(c.engine.budget, 1000000);
    fw_diag_fini(&d);
    fw_config_fini(&c);
    rc = load("listen: false\n", &c, &d);
    ASSERT_EQ_INT(rc, 0);
    ASSERT(!c.listen_enabled);
    fw_diag_fini(&d);
    fw_config_fini(&c);
    cleanup();
    return 0;
}

TEST_IMPL(config_bad_values)
{
    fresh();
    static const struct {
        const char *yaml, *want;
    } cases[] = {
        {"listen: 127.0.0.1\n",
         "1:9: listen \"127.0.0.1\": not an address (host:port, e.g. "
         "127.0.0.1:9464; or \"off\")"},
        {"listen: 127.0.0.1:0\n",
         "1:9: listen \"127.0.0.1:0\": the port must be a number from 1 to "
         "65535"},
        {"listen: 127.0.0.1:65536\n",
         "1:9: listen \"127.0.0.1:65536\": the port must be a number from 1 "
         "to 65535"},
        {"listen: \"::1:80\"\n",
         "1:9: listen \"::1:80\": an IPv6 address goes in brackets: "
         "[::1]:9464"},
        {"listen: \"[::1]80\"\n",
         "1:9: listen \"[::1]80\": not an address (host:port, or "
         "[IPv6]:port)"},
        {"listen: \"[nope]:80\"\n",
         "1:9: listen \"[nope]:80\": not an IPv6 address in the brackets"},
        {"listen: example.com:80\n",
         "1:9: listen \"example.com:80\": the host must be an IP address "
         "(127.0.0.1, 0.0.0.0, [::1]) or localhost"},
        {"listen: \":80\"\n",
         "1:9: listen \":80\": a host is needed (127.0.0.1, 0.0.0.0, "
         "[::1])"},
        {"token: \"\"\n", "1:8: token is empty"},
        {"token: short\n",
         "1:8: token is too short (at least 16 characters; e.g. the output "
         "of `openssl rand -hex 24`)"},
        {"token: \"has a space in it, long enough\"\n",
         "1:8: token must be printable ASCII without spaces"},
        {"log_level: loud\n",
         "1:12: log_level \"loud\": not a level (debug, info, warn or "
         "error)"},
        {"schedule: \"24:00\"\n",
         "1:11: schedule \"24:00\": not a time of day (00:00 to 23:59)"},
        {"schedule: \"06:60\"\n",
         "1:11: schedule \"06:60\": not a time of day (00:00 to 23:59)"},
        {"schedule: 600\n",
         "1:11: schedule \"600\": not a time of day (HH:MM, e.g. \"06:00\")"},
        {"scan_interval: 30\n",
         "1:16: scan_interval \"30\": a unit is needed (500ms, 30s, 5m, 1h)"},
        {"scan_interval: 30d\n",
         "1:16: scan_interval \"30d\": not a duration (500ms, 30s, 5m, 1h)"},
        {"scan_interval: 0ms\n",
         "1:16: scan_interval \"0ms\": must be more than 0"},
        {"scan_interval: 18446744073709552s\n",
         "1:16: scan_interval \"18446744073709552s\": too large"},
        {"limits:\n  budget: 999\n",
         "2:11: limits.budget 999: must be at least 1000"},
        {"limits:\n  budget: -5\n",
         "2:11: limits.budget -5: must be at least 1000"},
        {"limits:\n  budget: 1.5\n",
         "2:11: limits.budget \"1.5\": not a whole number"},
        {"limits:\n  budget: 99999999999999999999\n",
         "2:11: limits.budget \"99999999999999999999\": too large"},
        {"limits:\n  error_streak: 0\n",
         "2:17: limits.error_streak 0: must be more than 0"},
        {"limits:\n  error_streak: 4294967296\n",
         "2:17: limits.error_streak 4294967296: too large (at most "
         "4294967295)"},
        {"limits:\n  memory: 1023K\n",
         "2:11: limits.memory \"1023K\": must be at least 1M"},
        {"limits:\n  memory: 64MB\n",
         "2:11: limits.memory \"64MB\": not a size (a whole number of bytes, "
         "or with K, M, G or T: 64M)"},
        {"limits:\n  max_body: 0\n",
         "2:13: limits.max_body 0: must be more than 0"},
        {"limits:\n  max_feed: 16777216T\n",
         "2:13: limits.max_feed \"16777216T\": too large"},
        {"limits: 5\n",
         "1:9: limits is a map of keys (indented below it), not an integer"},
        {"reload:\n  run_tests: yes\n",
         "2:14: reload.run_tests \"yes\": not true or false"},
        {"reload:\n  debounce: 0s\n",
         "2:13: reload.debounce \"0s\": must be more than 0"},
        {"spool: [a, b]\n", "1:8: spool takes one value, not a list"},
        {"policies: {a: 1}\n", "1:11: policies takes one value, not a map"},
        {"spool: \"\"\n", "1:8: spool is an empty path"},
        {"spool: true\n", "1:8: spool is a path, not true"},
        {"database:\n",
         "1:10: database has no value (remove the key to get the default)"},
        {"token_file: \"\"\n",
         "1:13: token_file is a path to a file holding the token"},
        {"token_file: nope\n",
         "1:13: token_file \"nope\": cannot open: No such file or "
         "directory"},
        {"- a\n",
         "1:1: a config is a map of keys (spool: ..., policies: ...), not "
         "a list"},
        {"spool: a\nspool: b\n",
         "2:1: duplicate key \"spool\" (first at line 1)"},
        {"spool: [a\n",
         "2:1: a comma or a closing ] is missing in the list [ ... ] opened "
         "at line 1\n    2 | \n      | ^"},
        {"metrics_listen: 9101\n",
         "1:17: metrics_listen \"9101\": not an address (host:port, e.g. "
         "127.0.0.1:9464; or \"off\")"},
        {"metrics_listen: \"[::1]:0\"\n",
         "1:17: metrics_listen \"[::1]:0\": the port must be a number from "
         "1 to 65535"},
        {"listen: 0.0.0.0:9101\nmetrics_listen: 0.0.0.0:9101\n",
         "2:17: metrics_listen \"0.0.0.0:9101\": the same address as listen; "
         "leave metrics_listen out to serve /metrics on listen alone"},
        {"retention:\n  done: 30\n",
         "2:9: retention.done \"30\": not an age (a whole number of days, "
         "30d, or hours, 12h; 0 keeps forever)"},
        {"retention:\n  resolved: 0d\n",
         "2:13: retention.resolved \"0d\": not an age (a whole number of "
         "days, 30d, or hours, 12h; 0 keeps forever)"},
        {"retention:\n  resolved: half a year\n",
         "2:13: retention.resolved \"half a year\": not an age (a whole "
         "number of days, 30d, or hours, 12h; 0 keeps forever)"},
        {"retention:\n  done: 99999999999999999d\n",
         "2:9: retention.done \"99999999999999999d\": not an age (a whole "
         "number of days, 30d, or hours, 12h; 0 keeps forever)"},
        {"retention: 30d\n",
         "1:12: retention is a map of keys (indented below it), not a "
         "string"},
        {"retention:\n  failed: 30d\n",
         "2:3: unknown key \"failed\" in retention (retention has done, "
         "resolved)"},
        {"done: 30d\n",
         "1:1: unknown key \"done\" (it belongs under retention:)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        one_problem(cases[i].yaml, cases[i].want);
    cleanup();
    return 0;
}

/* metrics_listen and retention: their defaults (none; keep forever) and
 * their values. */
TEST_IMPL(config_ops_keys)
{
    fresh();
    struct fw_config c;
    struct fw_diag d;
    ASSERT_EQ_INT(load("spool: s\n", &c, &d), 0);
    ASSERT(c.metrics_host == NULL);
    ASSERT_EQ_INT(c.retain_done_ms, 0);
    ASSERT_EQ_INT(c.retain_resolved_ms, 0);
    fw_diag_fini(&d);
    fw_config_fini(&c);
    ASSERT_EQ_INT(load("listen: off\nmetrics_listen: 0.0.0.0:9101\n"
                       "retention:\n  done: 30d\n  resolved: 12h\n",
                       &c, &d), 0);
    ASSERT(!c.listen_enabled);
    ASSERT_EQ_STR(c.metrics_host, "0.0.0.0");
    ASSERT_EQ_INT(c.metrics_port, 9101);
    ASSERT_EQ_INT(c.retain_done_ms, 30ull * 86400 * 1000);
    ASSERT_EQ_INT(c.retain_resolved_ms, 12ull * 3600 * 1000);
    fw_diag_fini(&d);
    fw_config_fini(&c);
    ASSERT_EQ_INT(load("metrics_listen: off\nretention:\n  done: 0\n"
                       "  resolved: 180d\n", &c, &d), 0);
    ASSERT(c.metrics_host == NULL);
    ASSERT_EQ_INT(c.retain_done_ms, 0);
    ASSERT_EQ_INT(c.retain_resolved_ms, 180ull * 86400 * 1000);
    fw_diag_fini(&d);
    fw_config_fini(&c);
    cleanup();
    return 0;
}

TEST_IMPL(config_unknown_keys)
{
    fresh();
    one_problem("spol: x\n", "1:1: unknown key \"spol\" (did you mean "
                "\"spool\"?)");
    one_problem("polcies: x\n", "1:1: unknown key \"polcies\" (did you mean "
                "\"policies\"?)");
    one_problem("loglevel: info\n", "1:1: unknown key \"loglevel\" (did you "
                "mean \"log_level\"?)");
    one_problem("scan_intreval: 1s\n", "1:1: unknown key \"scan_intreval\" "
                "(did you mean \"scan_interval\"?)");
    one_problem("colour: red\n", "1:1: unknown key \"colour\" "
                "(docs/operations.md lists the keys)");
    one_problem("budget: 1000\n", "1:1: unknown key \"budget\" (it belongs "
                "under limits:)");
    one_problem("reload:\n  memory: 1M\n", "2:3: unknown key \"memory\" in "
                "reload (it belongs under limits:)");
    one_problem("limits:\n  spool: x\n", "2:3: unknown key \"spool\" in "
                "limits (it belongs at the top level, not under limits:)");
    one_problem("limits:\n  memroy: 1M\n", "2:3: unknown key \"memroy\" in "
                "limits (did you mean \"memory\"?)");
    one_problem("limits:\n  speed: 1\n", "2:3: unknown key \"speed\" in "
                "limits (limits has budget, memory, error_streak, call_time, "
                "string, findings_per_call, findings_per_feed, max_body, "
                "max_feed, db_cache)");
    cleanup();
    return 0;
}

TEST_IMPL(config_all_problems_at_once)
{
    fresh();
    struct fw_config c;
    struct fw_diag d;
    int rc = load("spol: spool\n"
                  "listen: 1.2.3.4:99999\n"
                  "log_level: loud\n"
                  "limits:\n"
                  "  budget: 10\n"
                  "  memroy: 1M\n"
                  "reload:\n"
                  "  run_tests: maybe\n"
                  "schedule: \"25:00\"\n",
                  &c, &d);
    ASSERT_EQ_INT(rc, FW_EINVAL);
    ASSERT_EQ_INT(d.n, 7);
    static const char *const lines[] = {"1:1:", "2:9:", "3:12:", "5:11:",
                                        "6:3:", "8:14:", "9:11:"};
    for (size_t i = 0; i < 7; i++) {
        char want[2 * P];
        snprintf(want, sizeof want, "%s/c.yaml:%s", root, lines[i]);
        ASSERT(strncmp(d.items[i], want, strlen(want)) == 0);
    }
    /* the values that were right are still taken */
    fw_diag_fini(&d);
    fw_config_fini(&c);
    cleanup();
    return 0;
}

TEST_IMPL(config_file_problems)
{
    fresh();
    struct fw_config c;
    struct fw_diag d;
    char want[2 * P];

    fw_diag_init(&d);
    ASSERT_EQ_INT(fw_config_load(at("nope.yaml"), &c, &d), FW_EIO);
    ASSERT_EQ_INT(d.n, 1);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory",
             at("nope.yaml"));
    ASSERT_EQ_STR(d.items[0], want);
    fw_diag_fini(&d);
    fw_config_fini(&c);

    /* in a folder that does not exist either */
    fw_diag_init(&d);
    ASSERT_EQ_INT(fw_config_load(at("no/such.yaml"), &c, &d), FW_EIO);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory",
             at("no/such.yaml"));
    ASSERT_EQ_STR(d.items[0], want);
    fw_diag_fini(&d);
    fw_config_fini(&c);

    fw_diag_init(&d);
    ASSERT_EQ_INT(fw_config_load(root, &c, &d), FW_EIO);
    snprintf(want, sizeof want, "%s: a folder, not a config file", root);
    ASSERT_EQ_STR(d.items[0], want);
    fw_diag_fini(&d);
    fw_config_fini(&c);

    static const char *const empties[] = {"", "# only a comment\n\n", "---\n"};
    for (size_t i = 0; i < 3; i++) {
        ASSERT_EQ_INT(load(empties[i], &c, &d), FW_EINVAL);
        ASSERT_EQ_INT(d.n, 1);
        snprintf(want, sizeof want, "%s: the config is empty: write at least "
                 "the keys that differ from the defaults "
                 "(docs/operations.md)", at("c.yaml"));
        ASSERT_EQ_STR(d.items[0], want);
        fw_diag_fini(&d);
        fw_config_fini(&c);
    }

    /* binary junk is not YAML */
    ASSERT_EQ_INT(load("\t\x01\x02: [\n", &c, &d), FW_EINVAL);
    ASSERT_EQ_INT(d.n, 1);
    ASSERT_CONTAINS(d.items[0], "a tab is used to indent this line");
    fw_diag_fini(&d);
    fw_config_fini(&c);
    cleanup();
    return 0;
}

TEST_IMPL(config_relative_paths)
{
    fresh();
    ASSERT_EQ_INT(mkdir(at("etc"), 0755), 0);
    put("etc/fw.yaml", "spool: ./a/../spool/\n"
                       "policies: ../../policies\n"
                       "database: /var/lib/fw//fw.db\n"
                       "outbox: .\n");
    struct fw_config c;
    struct fw_diag d;
    fw_diag_init(&d);
    /* given relative to the current folder, resolved from the file's */
    char cwd[PATH_MAX];
    ASSERT(getcwd(cwd, sizeof cwd) != NULL);
    ASSERT_EQ_INT(chdir(root), 0);
    int rc = fw_config_load("etc/fw.yaml", &c, &d);
    ASSERT_EQ_INT(chdir(cwd), 0);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_EQ_STR(c.file, at("etc/fw.yaml"));
    ASSERT_EQ_STR(c.spool, at("etc/spool"));
    char up[PATH_MAX];
    snprintf(up, sizeof up, "%s", root);
    *strrchr(up, '/') = '\0';
    char want[2 * P];
    snprintf(want, sizeof want, "%s/policies", up);
    ASSERT_EQ_STR(c.policies, want);
    ASSERT_EQ_STR(c.database, "/var/lib/fw/fw.db");
    ASSERT_EQ_STR(c.outbox, at("etc"));
    fw_diag_fini(&d);
    fw_config_fini(&c);

    /* ".." never climbs above "/" */
    put("etc/fw.yaml", "spool: ../../../../../../../../../../../../x\n");
    fw_diag_init(&d);
    ASSERT_EQ_INT(fw_config_load(at("etc/fw.yaml"), &c, &d), 0);
    ASSERT_EQ_STR(c.spool, "/x");
    fw_diag_fini(&d);
    fw_config_fini(&c);

    /* a symlinked config resolves from where the link is */
    ASSERT_EQ_INT(mkdir(at("run"), 0755), 0);
    char target[P];
    snprintf(target, sizeof target, "%s", at("etc/fw.yaml"));
    ASSERT_EQ_INT(symlink(target, at("run/fw.yaml")), 0);
    put("etc/fw.yaml", "spool: s\n");
    fw_diag_init(&d);
    ASSERT_EQ_INT(fw_config_load(at("run/fw.yaml"), &c, &d), 0);
    ASSERT_EQ_STR(c.spool, at("run/s"));
    fw_diag_fini(&d);
    fw_config_fini(&c);
    cleanup();
    return 0;
}

TEST_IMPL(config_parse_values)
{
    uint64_t v;
    const char *why = NULL;
    ASSERT_EQ_INT(fw_config_parse_duration("500ms", &v, &why), 0);
    ASSERT_EQ_INT(v, 500);
    ASSERT_EQ_INT(fw_config_parse_duration("30s", &v, &why), 0);
    ASSERT_EQ_INT(v, 30000);
    ASSERT_EQ_INT(fw_config_parse_duration("5m", &v, &why), 0);
    ASSERT_EQ_INT(v, 300000);
    ASSERT_EQ_INT(fw_config_parse_duration("1h", &v, &why), 0);
    ASSERT_EQ_INT(v, 3600000);
    ASSERT_EQ_INT(fw_config_parse_duration("18446744073709551615ms", &v,
                                           &why), 0);
    ASSERT(v == UINT64_MAX);
    ASSERT_EQ_INT(fw_config_parse_duration("18446744073709551616ms", &v,
                                           &why), FW_EINVAL);
    ASSERT_EQ_STR(why, "too large");
    ASSERT_EQ_INT(fw_config_parse_duration("5124095576030432h", &v, &why),
                  FW_EINVAL);
    ASSERT_EQ_STR(why, "too large");
    static const char *const bad_d[] = {"", "s", "1", "-1s", "1.5s", "1 s",
                                        "1S", "1sec", "1hm"};
    for (size_t i = 0; i < sizeof bad_d / sizeof bad_d[0]; i++)
        ASSERT_EQ_INT(fw_config_parse_duration(bad_d[i], &v, &why),
                      FW_EINVAL);

    ASSERT_EQ_INT(fw_config_parse_size("0", &v, &why), 0);
    ASSERT_EQ_INT(v, 0);
    ASSERT_EQ_INT(fw_config_parse_size("64M", &v, &why), 0);
    ASSERT_EQ_INT(v, 64ull << 20);
    ASSERT_EQ_INT(fw_config_parse_size("2k", &v, &why), 0);
    ASSERT_EQ_INT(v, 2048);
    ASSERT_EQ_INT(fw_config_parse_size("1T", &v, &why), 0);
    ASSERT_EQ_INT(v, 1ull << 40);
    ASSERT_EQ_INT(fw_config_parse_size("17179869183G", &v, &why), 0);
    ASSERT_EQ_INT(fw_config_parse_size("17179869184G", &v, &why), FW_EINVAL);
    ASSERT_EQ_STR(why, "too large");
    ASSERT_EQ_INT(fw_config_parse_size("99999999999999999999", &v, &why),
                  FW_EINVAL);
    ASSERT_EQ_STR(why, "too large");
    static const char *const bad_s[] = {"", "M", "1.5G", "64MB", "64 M",
                                        "-1", "1X"};
    for (size_t i = 0; i < sizeof bad_s / sizeof bad_s[0]; i++)
        ASSERT_EQ_INT(fw_config_parse_size(bad_s[i], &v, &why), FW_EINVAL);

    unsigned m;
    ASSERT_EQ_INT(fw_config_parse_clock("00:00", &m, &why), 0);
    ASSERT_EQ_INT(m, 0);
    ASSERT_EQ_INT(fw_config_parse_clock("6:05", &m, &why), 0);
    ASSERT_EQ_INT(m, 365);
    ASSERT_EQ_INT(fw_config_parse_clock("23:59", &m, &why), 0);
    ASSERT_EQ_INT(m, 1439);
    static const char *const bad_c[] = {"24:00", "06:60", "0600", "06:0",
                                        "006:00", "6:00pm", ":30", "-1:00"};
    for (size_t i = 0; i < sizeof bad_c / sizeof bad_c[0]; i++)
        ASSERT_EQ_INT(fw_config_parse_clock(bad_c[i], &m, &why), FW_EINVAL);

    char *host = NULL;
    uint16_t port;
    ASSERT_EQ_INT(fw_config_parse_listen("0.0.0.0:1", &host, &port, &why), 0);
    ASSERT_EQ_STR(host, "0.0.0.0");
    ASSERT_EQ_INT(port, 1);
    free(host);
    ASSERT_EQ_INT(fw_config_parse_listen("localhost:65535", &host, &port,
                                         &why), 0);
    ASSERT_EQ_STR(host, "127.0.0.1");
    ASSERT_EQ_INT(port, 65535);
    free(host);
    ASSERT_EQ_INT(fw_config_parse_listen("[::]:9464", &host, &port, &why), 0);
    ASSERT_EQ_STR(host, "::");
    free(host);
    ASSERT_EQ_INT(fw_config_parse_listen("1.2.3.4:99999999999999999999999",
                                         &host, &port, &why), FW_EINVAL);
    ASSERT_EQ_INT(fw_config_parse_listen("1.2.3:80", &host, &port, &why),
                  FW_EINVAL);
    ASSERT_EQ_INT(fw_config_parse_listen("1.2.3.4:80x", &host, &port, &why),
                  FW_EINVAL);
    return 0;
}

TEST_IMPL(config_token_file)
{
    fresh();
    struct fw_config c;
    struct fw_diag d;
    char want[2 * P];
    put("tok", "0123456789abcdef0123\r\nsecond line ignored\n");
    ASSERT_EQ_INT(chmod(at("tok"), 0600), 0);
    ASSERT_EQ_INT(load("token_file: tok\n", &c, &d), 0);
    ASSERT_EQ_STR(c.token, "0123456789abcdef0123");
    ASSERT_EQ_STR(c.token_file, at("tok"));
    fw_diag_fini(&d);
    fw_config_fini(&c);

    ASSERT_EQ_INT(chmod(at("tok"), 0644), 0);
    one_problem("token_file: tok\n", "1:13: token_file \"tok\": readable by "
                "everyone (mode 0644); chmod o-rwx it");
    ASSERT_EQ_INT(chmod(at("tok"), 0640), 0);
    ASSERT_EQ_INT(load("token_file: tok\n", &c, &d), 0);
    fw_diag_fini(&d);
    fw_config_fini(&c);

    put("short", "abc\n");
    ASSERT_EQ_INT(chmod(at("short"), 0600), 0);
    one_problem("token_file: short\n", "1:13: token_file \"short\": the "
                "token is too short (at least 16 characters; e.g. the output "
                "of `openssl rand -hex 24`)");
    put("empty", "\n");
    ASSERT_EQ_INT(chmod(at("empty"), 0600), 0);
    one_problem("token_file: empty\n", "1:13: token_file \"empty\": the "
                "token is empty");
    one_problem("token: 0123456789abcdef0123\ntoken_file: tok\n",
                "2:13: token_file and token are both set (token at line 1): "
                "keep one");
    ASSERT_EQ_INT(mkdir(at("dir"), 0700), 0);
    one_problem("token_file: dir\n",
                "1:13: token_file \"dir\": not a regular file");

    /* the read token: the same checks, its own slot */
    put("rtok", "read-0123456789abcdef\n");
    ASSERT_EQ_INT(chmod(at("rtok"), 0640), 0);
    ASSERT_EQ_INT(load("read_token_file: rtok\npublic_read: false\n", &c, &d),
                  0);
    ASSERT_EQ_STR(c.read_token, "read-0123456789abcdef");
    ASSERT(c.token == NULL && !c.public_read);
    ASSERT_EQ_STR(c.read_token_file, at("rtok"));
    fw_diag_fini(&d);
    fw_config_fini(&c);
    ASSERT_EQ_INT(load("read_token: abcdefghijklmnopq\npublic_read: true\n",
                       &c, &d), 0);
    ASSERT_EQ_STR(c.read_token, "abcdefghijklmnopq");
    ASSERT(c.public_read);
    fw_diag_fini(&d);
    fw_config_fini(&c);
    one_problem("read_token: short\n", "1:13: read_token is too short (at "
                "least 16 characters; e.g. the output of `openssl rand -hex "
                "24`)");
    one_problem("read_token_file: short\n", "1:18: read_token_file "
                "\"short\": the token is too short (at least 16 characters; "
                "e.g. the output of `openssl rand -hex 24`)");
    one_problem("read_token: abcdefghijklmnopq\nread_token_file: rtok\n",
                "2:18: read_token_file and read_token are both set "
                "(read_token at line 1): keep one");
    one_problem("token: abcdefghijklmnopq\nread_token: abcdefghijklmnopq\n",
                "2:13: the read token is the same as the write token (token): "
                "a reader could then write; give each its own");
    one_problem("public_read: yes please\n",
                "1:14: public_read \"yes please\": not true or false");
    (void)want;
    cleanup();
    return 0;
}

TEST_IMPL(config_check_paths)
{
    fresh();
    struct fw_config c;
    struct fw_diag d;
    ASSERT_EQ_INT(mkdir(at("policies"), 0755), 0);
    ASSERT_EQ_INT(load("spool: spool\n", &c, &d), 0);
    ASSERT_EQ_INT(fw_config_check_paths(&c, &d), 0);
    ASSERT_EQ_INT(d.n, 0);
    fw_diag_fini(&d);
    fw_config_fini(&c);

    put("file", "x");
    ASSERT_EQ_INT(load("policies: nope\n"
                       "database: no/fw.db\n"
                       "outbox: file/out.jsonl\n"
                       "spool: file\n"
                       "columns: cols.yaml\n", &c, &d), 0);
    ASSERT_EQ_INT(fw_config_check_paths(&c, &d), 5);
    ASSERT_EQ_INT(d.n, 5);
    char want[2 * P];
    snprintf(want, sizeof want, "%s: the policies folder: No such file or "
             "directory", at("nope"));
    ASSERT_EQ_STR(d.items[0], want);
    snprintf(want, sizeof want, "%s: the spool folder: not a folder",
             at("file"));
    ASSERT_EQ_STR(d.items[1], want);
    snprintf(want, sizeof want, "%s: the folder of the database: No such "
             "file or directory", at("no"));
    ASSERT_EQ_STR(d.items[2], want);
    snprintf(want, sizeof want, "%s: the folder of the outbox: not a folder",
             at("file"));
    ASSERT_EQ_STR(d.items[3], want);
    snprintf(want, sizeof want, "%s: the column map: No such file or "
             "directory", at("cols.yaml"));
    ASSERT_EQ_STR(d.items[4], want);
    fw_diag_fini(&d);
    fw_config_fini(&c);
    cleanup();
    return 0;
}

/* ---- the logger --------------------------------------------------------- */

/* Everything written to the log file so far (static buffer). */
static const char *log_text(int fd)
{
    static char buf[3 * FW_LOG_LINE_MAX];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    ASSERT(n >= 0);
    buf[n] = '\0';
    return buf;
}

static int log_file(void)
{
    char p[] = "/tmp/fw-log-XXXXXX";
    int fd = mkstemp(p);
    ASSERT(fd >= 0);
    unlink(p);
    return fd;
}

TEST_IMPL(log_journal_form_and_levels)
{
    int fd = log_file();
    fw_log_init(fd, 1);
    fw_log_set_level(FW_LOG_INFO);
    fw_log(FW_LOG_DEBUG, "spool", NULL, "not shown");
    fw_log_info("spool", "yuzhong.csv", "processed %d records, %d findings "
                "in %.1f ms", 12, 3, 4.1);
    fw_log_warn("reload", NULL, "kept generation %s", "sha256:ab");
    fw_log_error("store", "a b.csv", "disk full");
    fw_log(FW_LOG_INFO, NULL, "", "empty feed name");
    ASSERT_EQ_STR(log_text(fd),
                  "<6>info spool feed=yuzhong.csv: processed 12 records, 3 "
                  "findings in 4.1 ms\n"
                  "<4>warn reload kept generation sha256:ab\n"
                  "<3>error store feed=\"a b.csv\": disk full\n"
                  "<6>info - feed=\"\": empty feed name\n");
    ASSERT(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
    fw_log_set_level(FW_LOG_ERROR);
    ASSERT(!fw_log_enabled(FW_LOG_WARN));
    ASSERT(fw_log_enabled(FW_LOG_ERROR));
    fw_log_warn("x", NULL, "hidden");
    fw_log_set_level(FW_LOG_DEBUG);
    ASSERT_EQ_INT(fw_log_get_level(), FW_LOG_DEBUG);
    fw_log_debug("x", NULL, "shown");
    ASSERT_EQ_STR(log_text(fd), "<7>debug x shown\n");
    close(fd);
    return 0;
}

TEST_IMPL(log_escapes_and_keeps_errno)
{
    int fd = log_file();
    fw_log_init(fd, 1);
    fw_log_set_level(FW_LOG_DEBUG);
    errno = EACCES;
    fw_log_info("spool", "evil\nfeed\".csv", "line one\nline two\r\tend\x01"
                " 预算 ok");
    ASSERT_EQ_INT(errno, EACCES);
    ASSERT_EQ_STR(log_text(fd),
                  "<6>info spool feed=\"evil\\nfeed\\x22.csv\": line one\\n"
                  "line two\\r\\tend\\x01 预算 ok\n");
    ASSERT(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);

    /* a long message is cut to one line ending in "...", never inside a
     * UTF-8 character */
    char *big = malloc(3 * FW_LOG_LINE_MAX);
    ASSERT(big != NULL);
    size_t n = 0;
    while (n + 3 < 3 * FW_LOG_LINE_MAX - 1) {
        memcpy(big + n, "预", 3);
        n += 3;
    }
    big[n] = '\0';
    fw_log_info("x", NULL, "%s", big);
    const char *t = log_text(fd);
    size_t len = strlen(t);
    ASSERT(len <= FW_LOG_LINE_MAX);
    ASSERT(strchr(t, '\n') == t + len - 1);
    ASSERT(strncmp(t + len - 4, "...\n", 4) == 0);
    /* "<6>info x " is 10 bytes, then whole 3-byte characters */
    ASSERT_EQ_INT((len - 4 - 10) % 3, 0);
    free(big);
    close(fd);
    return 0;
}

TEST_IMPL(log_timestamp_form)
{
    int fd = log_file();
    unsetenv("JOURNAL_STREAM");
    fw_log_init(fd, -1);
    fw_log_set_level(FW_LOG_INFO);
    fw_log_info("main", NULL, "started");
    const char *t = log_text(fd);
    /* 2026-12-02T10:00:00Z info main started */
    ASSERT_EQ_INT(strlen(t), 21 + strlen("info main started\n"));
    ASSERT(t[4] == '-' && t[10] == 'T' && t[19] == 'Z' && t[20] == ' ');
    ASSERT_EQ_STR(t + 21, "info main started\n");
    close(fd);

    /* JOURNAL_STREAM counts only when it names the fd's own file */
    fd = log_file();
    struct stat st;
    ASSERT(fstat(fd, &st) == 0);
    char js[64];
    snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", js, 1);
    fw_log_init(fd, -1);
    fw_log_info("main", NULL, "journal");
    ASSERT_EQ_STR(log_text(fd), "<6>info main journal\n");
    int other = log_file();  /* fd still open: a different inode */
    fw_log_init(other, -1);
    fw_log_info("main", NULL, "x");
    ASSERT(log_text(other)[0] != '<');
    close(other);
    close(fd);
    return 0;
}

TEST_IMPL(log_level_names)
{
    enum fw_log_level lv;
    ASSERT_EQ_INT(fw_log_level_parse("debug", &lv), 0);
    ASSERT_EQ_INT(lv, FW_LOG_DEBUG);
    ASSERT_EQ_INT(fw_log_level_parse("INFO", &lv), 0);
    ASSERT_EQ_INT(lv, FW_LOG_INFO);
    ASSERT_EQ_INT(fw_log_level_parse("warning", &lv), 0);
    ASSERT_EQ_INT(lv, FW_LOG_WARN);
    ASSERT_EQ_INT(fw_log_level_parse("error", &lv), 0);
    ASSERT_EQ_INT(lv, FW_LOG_ERROR);
    ASSERT_EQ_INT(fw_log_level_parse("loud", &lv), FW_EINVAL);
    ASSERT_EQ_INT(fw_log_level_parse(NULL, &lv), FW_EINVAL);
    ASSERT_EQ_STR(fw_log_level_name(FW_LOG_WARN), "warn");
    return 0;
}
