/* fundwatch run: the daemon. Parses its options and the config, then wires
 * the core (core.h) and its parts: the reload part (reload.h) and the HTTP
 * API (http/http.h), and runs the loop. Startup errors are fatal with a
 * clear message; what happens after start is the core's to survive. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "fundwatch/i18n.h"
#include "core.h"
#include "http/http.h"
#include "reload.h"
#include "reopen.h"
#include "retention.h"
#include "shadow.h"

static const char usage_text[] = N_(
    "usage: fundwatch run [-c fundwatch.yaml] [--now DATE]\n"
    "\n"
    "The daemon, in the foreground (systemd runs it; Type=notify). Watches\n"
    "the spool's incoming/ folder, runs the policies over each feed that\n"
    "arrives, commits its findings, rejects and feed row to the SQLite store\n"
    "in one transaction, appends the new findings to the JSONL outbox, and\n"
    "moves the feed to done/ or failed/. Runs the scheduled checks (task\n"
    "deadlines) at start and daily; reloads the policies when they change;\n"
    "serves the HTTP API (health, metrics, findings, POST /feeds, POST\n"
    "/reload). One line per event on stderr.\n"
    "\n"
    "  -c, --config FILE  the config file (default: ./fundwatch.yaml, else\n"
    "                     /etc/fundwatch/fundwatch.yaml)\n"
    "  -n, --now DATE     a fixed clock instead of today (drills and tests)\n"
    "      --lang zh|en   the language of messages (default: from LANG)\n"
    "  -h, --help         this text\n"
    "\n"
    "Signals: SIGTERM or SIGINT finish the current feed, commit and exit 0;\n"
    "SIGHUP reloads the policies (a broken edit keeps the running ones);\n"
    "SIGUSR1 reopens the outbox (after logrotate moved it away).\n"
    "Exit status: 0 stopped by a signal; 1 the config or the policies have\n"
    "problems (each printed as file:line: message); 2 usage, or the store,\n"
    "spool, outbox or listen address cannot be opened.\n");

int fw_cmd_run(int argc, char **argv)
{
    struct fw_cmd_opts o;
    int rc = fw_cmd_options("run", _(usage_text), FW_OPT_CONFIG | FW_OPT_NOW,
                            argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (o.argi < argc)
        return fw_cli_usage_error("run", "unexpected argument '%s'",
                                  argv[o.argi]);
    const char *conf = o.config;
    bool system_conf = false;
    struct fwd *d = calloc(1, sizeof *d);
    if (d == NULL)
        return FW_EXIT_USAGE;
    d->fixed_now = o.now_given;
    d->now = o.now;

    if (conf == NULL)
        conf = fw_cmd_default_config(&system_conf);
    fw_log_init(-1, -1);
    if (system_conf)
        fw_log_info("main", NULL, "no -c given and no ./fundwatch.yaml: "
                    "using %s", conf);
    struct fw_diag diag;
    fw_diag_init(&diag);
    rc = fw_config_load(conf, &d->cfg, &diag);
    if (rc < 0) {
        for (size_t i = 0; i < diag.n; i++)
            fprintf(stderr, "%s\n", diag.items[i]);
        fw_diag_fini(&diag);
        fw_config_fini(&d->cfg);
        free(d);
        return rc == FW_EINVAL ? FW_EXIT_PROBLEMS : FW_EXIT_USAGE;
    }
    fw_diag_fini(&diag);
    fw_log_set_level(d->cfg.log_level);
    signal(SIGPIPE, SIG_IGN);

    struct fw_reload *rl = NULL;
    struct fw_shadow *sh = NULL;
    struct fw_retention *ret = NULL;
    struct fw_reopen *ro = NULL;
    struct fw_http_api *api = NULL;
    int status = FW_EXIT_OK;
    rc = fw_core_open(d);
    if (rc == 0)
        rc = fw_reload_open(d, &rl);
    if (rc == 0)
        rc = fw_shadow_open(d, d->cfg.shadow, &sh);
    if (rc == 0)
        rc = fw_retention_open(d, &ret);
    if (rc == 0)
        rc = fw_reopen_open(d, &ro);
    if (rc == FW_EIO && ro) { /* the reopen part is attached: close it */
        fw_core_abort(d);
        uv_run(&d->loop, UV_RUN_DEFAULT);
    } else if (rc == 0 && (d->cfg.listen_enabled || d->cfg.metrics_host) &&
        fw_http_api_start(d, rl, sh, &api) < 0) {
        fw_core_abort(d); /* closes what the reload part opened */
        uv_run(&d->loop, UV_RUN_DEFAULT);
        rc = FW_EIO;
    } else if (rc == 0) {
        rc = fw_core_run(d);
    }
    if (rc == FW_EINVAL)
        status = FW_EXIT_PROBLEMS;
    else if (rc < 0)
        status = FW_EXIT_USAGE;
    fw_core_close(d, status == FW_EXIT_OK);
    fw_http_api_free(api);
    fw_shadow_free(sh);
    fw_retention_free(ret);
    fw_reopen_free(ro);
    fw_reload_free(rl);
    free(d);
    return status;
}
