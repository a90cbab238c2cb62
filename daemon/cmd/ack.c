/* fundwatch ack: an officer's acknowledgement of a finding, sent to the
 * running daemon as POST /findings/{id}/ack on the config's listen address
 * with its write token. The daemon is the store's one writer (its outbox
 * numbering lives in it), so the acknowledgement goes through it; its
 * answer is parsed with http_parser, the body built with fw_buf_json_str. */
#include <errno.h>
#include <http_parser.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "fundwatch/buf.h"
#include "fundwatch/i18n.h"

static const char usage_text[] = N_(
    "usage: fundwatch ack [-c CONFIG] ID --by NAME --note TEXT\n"
    "\n"
    "Acknowledges the open finding ID (its 32 hex digits, as /findings and\n"
    "the outbox show it): who and why are kept with it, an \"acknowledged\"\n"
    "event goes to the outbox once, and the finding does not alert again\n"
    "until it is resolved and reopens. Sent to the running daemon (the\n"
    "config's listen address, with its token or token_file).\n"
    "\n"
    "  -c, --config FILE  the daemon's config (default: ./fundwatch.yaml,\n"
    "                     else the installed one)\n"
    "      --by NAME      who acknowledges it\n"
    "      --note TEXT    why: what was checked, what was agreed\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 acknowledged; 1 refused (no such finding, resolved,\n"
    "acknowledged already); 2 usage, the config, or the daemon cannot be\n"
    "reached.\n");

struct answer {
    struct fw_buf body;
    bool done;
};

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct answer *a = p->data;
    return fw_buf_append(&a->body, at, n) < 0;
}

static int on_done(http_parser *p)
{
    ((struct answer *)p->data)->done = true;
    return 0;
}

/* The "error" member of a JSON answer, for the message; else the body. */
static void say_error(const char *id, unsigned status, struct fw_buf *body)
{
    const char *p = body->p ? strstr(body->p, "\"error\":\"") : NULL;
    int n = 0;
    if (p) {
        p += 9;
        const char *e = p;
        while (*e && !(*e == '"' && e[-1] != '\\'))
            e++;
        n = (int)(e - p);
    } else {
        p = body->p ? body->p : "";
        n = (int)body->len;
    }
    fprintf(stderr, _("fundwatch ack: %s: refused (%u): %.*s\n"), id, status,
            n, p);
}

static int ack(const struct fw_config *cfg, const char *id, const char *by,
               const char *note)
{
    if (!cfg->listen_enabled) {
        fprintf(stderr, _("fundwatch ack: %s says listen: off; an "
                          "acknowledgement goes through the daemon's API\n"),
                cfg->file);
        return FW_EXIT_USAGE;
    }
    if (cfg->token == NULL || !*cfg->token) {
        fprintf(stderr, _("fundwatch ack: %s sets no token (token or "
                          "token_file): the daemon takes no POST\n"),
                cfg->file);
        return FW_EXIT_USAGE;
    }
    const char *host = cfg->listen_host;
    if (!strcmp(host, "0.0.0.0"))
        host = "127.0.0.1";
    else if (!strcmp(host, "::"))
        host = "::1";
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)cfg->listen_port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
        fprintf(stderr, _("fundwatch ack: %s: %s\n"), host, gai_strerror(gai));
        return FW_EXIT_USAGE;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
    struct timeval tv = {.tv_sec = 30};
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        fprintf(stderr, _("fundwatch ack: cannot reach the daemon at %s:%s: "
                          "%s (is it running?)\n"),
                host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return FW_EXIT_USAGE;
    }
    freeaddrinfo(ai);

    struct fw_buf body = FW_BUF_INIT, req = FW_BUF_INIT;
    fw_buf_puts(&body, "{\"by\":");
    fw_buf_json_str(&body, by, strlen(by));
    fw_buf_puts(&body, ",\"note\":");
    fw_buf_json_str(&body, note, strlen(note));
    fw_buf_puts(&body, "}");
    fw_buf_printf(&req, "POST /findings/%s/ack HTTP/1.1\r\nHost: %s:%s\r\n"
                  "Authorization: Bearer %s\r\nContent-Type: application/json"
                  "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                  id, host, port, cfg->token, body.len);
    fw_buf_append(&req, body.p, body.len);
    int status = FW_EXIT_USAGE;
    size_t off = 0;
    while (off < req.len) {
        ssize_t k = write(fd, req.p + off, req.len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    struct answer a = {.body = FW_BUF_INIT};
    http_parser p;
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = &a;
    http_parser_settings s = {.on_body = on_body,
                              .on_message_complete = on_done};
    char buf[4096];
    int sys = off < req.len ? errno : 0;
    bool bad = off < req.len;
    while (!bad && !a.done) {
        ssize_t k = read(fd, buf, sizeof buf);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            sys = errno;
            break;
        }
        size_t n = k > 0 ? (size_t)k : 0;
        if (http_parser_execute(&p, &s, buf, n) != n ||
            HTTP_PARSER_ERRNO(&p) != HPE_OK)
            bad = true;
        if (k == 0)
            break;
    }
    close(fd);
    if (sys || bad || !a.done) {
        fprintf(stderr, _("fundwatch ack: no whole answer from the daemon at "
                          "%s:%s: %s\n"), host, port,
                sys ? strerror(sys)
                    : http_errno_description(HTTP_PARSER_ERRNO(&p)));
    } else if (p.status_code == 200) {
        printf(_("finding %s acknowledged by %s\n"), id, by);
        status = FW_EXIT_OK;
    } else {
        say_error(id, p.status_code, &a.body);
        status = p.status_code >= 400 && p.status_code < 500 &&
                         p.status_code != 401 && p.status_code != 403
                     ? FW_EXIT_PROBLEMS
                     : FW_EXIT_USAGE;
    }
    fw_buf_fini(&a.body);
    fw_buf_fini(&body);
    fw_buf_fini(&req);
    return status;
}

int fw_cmd_ack(int argc, char **argv)
{
    struct fw_cmd_opts o;
    int rc = fw_cmd_options("ack", _(usage_text), FW_OPT_CONFIG | FW_OPT_ACK,
                            argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (o.argi != argc - 1)
        return fw_cli_usage_error("ack", "%s",
                                  _("give one finding id, e.g. fundwatch ack "
                                    "-c /etc/fundwatch/fundwatch.yaml "
                                    "0f3c… --by 王科长 --note \"…\""));
    const char *id = argv[o.argi];
    size_t il = strlen(id);
    if (il != 32 || strspn(id, "0123456789abcdef") != il)
        return fw_cli_usage_error("ack", _("\"%s\": a finding id is 32 "
                                           "lowercase hex digits"), id);
    if (o.by == NULL || !*o.by || o.note == NULL || !*o.note)
        return fw_cli_usage_error("ack", "%s", _("--by NAME and --note TEXT "
                                                 "are both needed"));
    bool system_conf = false;
    const char *conf = o.config ? o.config : fw_cmd_default_config(&system_conf);
    struct fw_config cfg;
    struct fw_diag d;
    fw_diag_init(&d);
    rc = fw_config_load(conf, &cfg, &d);
    fw_cmd_print_diag(&d);
    fw_diag_fini(&d);
    int status = rc < 0 ? (rc == FW_EINVAL ? FW_EXIT_PROBLEMS : FW_EXIT_USAGE)
                        : ack(&cfg, id, o.by, o.note);
    fw_config_fini(&cfg);
    return status;
}
