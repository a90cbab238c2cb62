/* The HTTP server module: real sockets on loopback, a blocking client in a
 * thread, the server on a libuv loop in the test process. Also the
 * dashboard's side of it through the API's real handler: assets, ETags and
 * 304, the security headers, the login page, the session cookie, 401s and
 * the failed-login limit. */
#include "task.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "fundwatch/buf.h"
#include "http/api.h"
#include "http/dash.h"
#include "http/http.h"
#include "http/prom.h"

struct fixture {
    uv_loop_t loop;
    uv_async_t stop;
    struct fw_http_server *srv;
    int port;
    const char *script;   /* what the client sends */
    size_t script_len;
    unsigned pause_ms;    /* the client waits this long before reading */
    char reply[65536];    /* everything the client read until EOF */
    size_t reply_len;
    int deferred;         /* respond from a timer instead of at once */
    uv_timer_t later;
    struct fw_http_conn *held;
    int stopped;
    fw_http_handler handler; /* instead of echo, with hud */
    void *hud;
};

static void echo(void *ud, struct fw_http_conn *c, const struct fw_http_req *req)
{
    struct fixture *f = ud;
    char rule[64] = "";
    fw_http_query(req, "rule", rule, sizeof rule);
    char body[512];
    const char *tok = fw_http_header(c, "authorization");
    int n = snprintf(body, sizeof body, "%s %s q=%s rule=%s auth=%s len=%zu\n",
                     req->method, req->path, req->query, rule, tok ? tok : "-",
                     req->body_len);
    if (strcmp(req->path, "/missing") == 0) {
        fw_http_respond_error(c, 404, "no such thing");
        return;
    }
    if (f->deferred) {
        f->held = c;
        return;
    }
    fw_http_respond(c, 200, "text/plain", NULL, body, (size_t)n);
}

static void on_later(uv_timer_t *t)
{
    struct fixture *f = t->data;
    if (f->held)
        fw_http_respond(f->held, 200, "text/plain", NULL, "later\n", 6);
    f->held = NULL;
}

static void on_stopped(void *arg)
{
    struct fixture *f = arg;
    f->stopped = 1;
}

static void on_stop(uv_async_t *a)
{
    struct fixture *f = a->data;
    fw_http_stop(f->srv, on_stopped, f);
    uv_close((uv_handle_t *)&f->stop, NULL);
    if (f->deferred)
        uv_close((uv_handle_t *)&f->later, NULL);
}

static void *client(void *arg)
{
    struct fixture *f = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        size_t off = 0;
        while (off < f->script_len) {
            ssize_t w = write(fd, f->script + off, f->script_len - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        if (f->pause_ms)
            usleep(f->pause_ms * 1000);
        ssize_t r;
        while (f->reply_len < sizeof f->reply - 1 &&
               (r = read(fd, f->reply + f->reply_len, sizeof f->reply - 1 - f->reply_len)) > 0)
            f->reply_len += (size_t)r;
    }
    f->reply[f->reply_len] = '\0';
    close(fd);
    uv_async_send(&f->stop);
    return NULL;
}

static void run(struct fixture *f, const struct fw_http_opts *opts)
{
    struct fw_error err;
    ASSERT_EQ_INT(uv_loop_init(&f->loop), 0);
    uv_async_init(&f->loop, &f->stop, on_stop);
    f->stop.data = f;
    if (f->deferred) {
        uv_timer_init(&f->loop, &f->later);
        f->later.data = f;
        uv_timer_start(&f->later, on_later, 100, 0);
    }
    ASSERT_EQ_INT(fw_http_start(&f->loop, "127.0.0.1:0", opts,
                                f->handler ? f->handler : echo,
                                f->handler ? f->hud : f, &f->srv, &err), 0);
    f->port = fw_http_port(f->srv);
    ASSERT(f->port > 0);
    pthread_t th;
    pthread_create(&th, NULL, client, f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    ASSERT_EQ_INT(f->stopped, 1);
    ASSERT_EQ_INT(uv_loop_close(&f->loop), 0);
}

#define SCRIPT(f, s) ((f).script = (s), (f).script_len = sizeof(s) - 1)

TEST_IMPL(http_get_query_header)
{
    struct fw_http_opts o = FW_HTTP_OPTS_DEFAULT;
    struct fixture f = {0};
    SCRIPT(f, "GET /findings?rule=cq%5Fred_yellow&x=1 HTTP/1.1\r\nHost: a\r\n"
              "AUTHORIZATION: Bearer t0k\r\nConnection: close\r\n\r\n");
    run(&f, &o);
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 200 OK\r\n");
    ASSERT_CONTAINS(f.reply, "Connection: close\r\n");
    ASSERT_CONTAINS(f.reply, "GET /findings q=rule=cq%5Fred_yellow&x=1 rule=cq_red_yellow auth=Bearer t0k len=0\n");
    return 0;
}

TEST_IMPL(http_keepalive_pipelined)
{
    struct fw_http_opts o = FW_HTTP_OPTS_DEFAULT;
    struct fixture f = {0};
    SCRIPT(f, "POST /feeds HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
              "GET /two HTTP/1.1\r\n\r\n"
              "GET /missing HTTP/1.1\r\nConnection: close\r\n\r\n");
    run(&f, &o);
    ASSERT_CONTAINS(f.reply, "POST /feeds q= rule= auth=- len=5\n");
    ASSERT_CONTAINS(f.reply, "GET /two q= rule= auth=- len=0\n");
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 404 Not Found\r\n");
    ASSERT_CONTAINS(f.reply, "{\"error\":\"no such thing\"}");
    return 0;
}

TEST_IMPL(http_chunked_body)
{
    struct fw_http_opts o = FW_HTTP_OPTS_DEFAULT;
    struct fixture f = {0};
    SCRIPT(f, "POST /feeds HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
              "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
    run(&f, &o);
    ASSERT_CONTAINS(f.reply, "len=7\n");
    return 0;
}

TEST_IMPL(http_bad_request_is_400_json)
{
    struct fw_http_opts o = FW_HTTP_OPTS_DEFAULT;
    struct fixture f = {0};
    SCRIPT(f, "GARBAGE\x01 / HTTP/1.1\r\n\r\n");
    run(&f, &o);
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 400 Bad Request\r\n");
    ASSERT_CONTAINS(f.reply, "Content-Type: application/json\r\n");
    ASSERT_CONTAINS(f.reply, "{\"error\":\"bad request: ");
    return 0;
}

TEST_IMPL(http_oversized_body_is_413)
{
    struct fw_http_opts o = FW_HTTP_OPTS_DEFAULT;
    o.max_body = 10;
    struct fixture f = {0};
    SCRIPT(f, "POST /feeds HTTP/1.1\r\nContent-Length: 11\r\n\r\n01234567890");
    run(&f, &o);
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 413 Content Too Large\r\n");
    ASSERT_CONTAINS(f.reply, "request body too large");
    struct fixture g = {0};
    SCRIPT(g, "POST /feeds HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
              "8\r\n01234567\r\n8\r\n01234567\r\n0\r\n\r\n");
    run(&g, &o);
    ASSERT_CONTAINS(g.reply, "HTTP/1.1 413 Content Too Large\r\n");
    return 0;
}

TEST_IMPL(http_oversized_headers_is_431)
{
    struct fw_http_opts o = FW_HTTP_OPTS_DEFAULT;
    o.max_header = 64;
    struct fixture f = {0};
    SCRIPT(f, "GET / HTTP/1.1\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n");
    run(&f, &o);
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 431 ");
    return 0;
}

TEST_IMPL(http_slow_client_is_cut_off)
{
    struct fw_http_opts o = FW_HTTP_OPTS_DEFAULT;
    o.idle_ms = 100;
    struct fixture f = {0};
    SCRIPT(f, "GET / HTTP/1.1\r\nHost: slow");  /* never finishes */
    run(&f, &o);
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 408 Request Timeout\r\n");
    return 0;
}

TEST_IMPL(http_deferred_response)
{
    struct fw_http_opts o = FW_HTTP_OPTS_DEFAULT;
    struct fixture f = {.deferred = 1};
    SCRIPT(f, "POST /reload HTTP/1.1\r\nConnection: close\r\n\r\n");
    run(&f, &o);
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 200 OK\r\n");
    ASSERT_CONTAINS(f.reply, "later\n");
    return 0;
}

TEST_IMPL(http_bad_listen_address)
{
    uv_loop_t loop;
    struct fw_http_server *s = NULL;
    struct fw_error err;
    struct fw_http_opts o = FW_HTTP_OPTS_DEFAULT;
    uv_loop_init(&loop);
    ASSERT_EQ_INT(fw_http_start(&loop, "localhost", &o, echo, NULL, &s, &err), FW_EINVAL);
    ASSERT_CONTAINS(err.msg, "expected host:port");
    ASSERT_EQ_INT(fw_http_start(&loop, "127.0.0.1:99999", &o, echo, NULL, &s, &err), FW_EINVAL);
    ASSERT_CONTAINS(err.msg, "port must be 0-65535");
    ASSERT_EQ_INT(fw_http_start(&loop, "example.org:80", &o, echo, NULL, &s, &err), FW_EINVAL);
    ASSERT_CONTAINS(err.msg, "is not an IP address");
    ASSERT_EQ_INT(fw_http_start(&loop, "192.0.2.1:80", &o, echo, NULL, &s, &err), FW_EIO);
    ASSERT_CONTAINS(err.msg, "listen on 192.0.2.1:80");
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ_INT(uv_loop_close(&loop), 0);
    return 0;
}

TEST_IMPL(prom_text_format)
{
    struct fw_buf b = FW_BUF_INIT;
    const char *labels[] = {"policy", "cq-\"mon\"\\x\n", "rule", NULL, "kind", "alert", NULL};
    ASSERT_EQ_INT(fw_prom_family(&b, "fundwatch_findings_total", "counter", "Findings emitted.\nBy kind."), 0);
    ASSERT_EQ_INT(fw_prom_int(&b, "fundwatch_findings_total", labels, 42), 0);
    ASSERT_EQ_INT(fw_prom_int(&b, "fundwatch_up", NULL, 1), 0);
    ASSERT_EQ_INT(fw_prom_seconds(&b, "fundwatch_eval_seconds_total", NULL, 1234567), 0);
    ASSERT_EQ_STR(b.p,
                  "# HELP fundwatch_findings_total Findings emitted.\\nBy kind.\n"
                  "# TYPE fundwatch_findings_total counter\n"
                  "fundwatch_findings_total{policy=\"cq-\\\"mon\\\"\\\\x\\n\",kind=\"alert\"} 42\n"
                  "fundwatch_up 1\n"
                  "fundwatch_eval_seconds_total 1.234567\n");
    fw_buf_fini(&b);
    return 0;
}

/* ---- the dashboard ---------------------------------------------------------- */

#define READ_TOKEN "read-0123456789abcdef"
#define WRITE_TOKEN "write-0123456789abcdef"

static const struct fw_api_ops no_ops = {0};

/* Runs script against the API's handler with the dashboard. */
static int dash_run(struct fixture *f, const char *script, bool public_read)
{
    struct fw_http_opts o = FW_HTTP_OPTS_DEFAULT;
    struct fw_api api = {
        .ops = &no_ops,
        .auth = {.token = WRITE_TOKEN, .read_token = READ_TOKEN,
                 .public_read = public_read},
        .dash = fw_dash_new(),
    };
    ASSERT(api.dash != NULL);
    memset(f, 0, sizeof *f);
    f->script = script;
    f->script_len = strlen(script);
    f->handler = fw_api_handle;
    f->hud = &api;
    run(f, &o);
    fw_dash_free(api.dash);
    return 0;
}

TEST_IMPL(dash_assets_etag_304_headers)
{
    struct fixture f;
    ASSERT_EQ_INT(dash_run(&f, "GET /dash/icon.svg HTTP/1.1\r\nHost: x\r\n"
                           "Connection: close\r\n\r\n", false), 0);
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 200 OK\r\n");
    ASSERT_CONTAINS(f.reply, "Content-Type: image/svg+xml\r\n");
    ASSERT_CONTAINS(f.reply, "Cache-Control: no-cache\r\n");
    ASSERT(strstr(f.reply, "no-store") == NULL);
    ASSERT_CONTAINS(f.reply, "Content-Security-Policy: default-src 'none'; "
                    "script-src 'self'; style-src 'self';");
    ASSERT_CONTAINS(f.reply, "X-Content-Type-Options: nosniff\r\n");
    ASSERT_CONTAINS(f.reply, "Referrer-Policy: same-origin\r\n");
    ASSERT_CONTAINS(f.reply, "<svg");
    const char *e = strstr(f.reply, "ETag: \"");
    ASSERT(e != NULL);
    char etag[64] = "";
    sscanf(e + 6, "%63[^\r]", etag);
    ASSERT_EQ_INT((int)strlen(etag), 34); /* a strong tag: "<32 hex>" */

    char script[512];
    snprintf(script, sizeof script, "GET /dash/icon.svg HTTP/1.1\r\nHost: x\r\n"
             "If-None-Match: \"other\", %s\r\nConnection: close\r\n\r\n", etag);
    ASSERT_EQ_INT(dash_run(&f, script, false), 0);
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 304 Not Modified\r\n");
    ASSERT(strstr(f.reply, "Content-Length") == NULL);
    ASSERT(strstr(f.reply, "<svg") == NULL);
    ASSERT_CONTAINS(f.reply, etag);

    /* the stylesheet and the script by their types; no such file: 404 */
    ASSERT_EQ_INT(dash_run(&f, "GET /dash/app.js HTTP/1.1\r\n\r\n"
                           "GET /dash/app.css HTTP/1.1\r\n\r\n"
                           "GET /dash/nope.js HTTP/1.1\r\n\r\n"
                           "GET /dash/login.html HTTP/1.1\r\nConnection: "
                           "close\r\n\r\n", false), 0);
    ASSERT_CONTAINS(f.reply, "Content-Type: text/javascript; charset=utf-8\r\n");
    ASSERT_CONTAINS(f.reply, "Content-Type: text/css; charset=utf-8\r\n");
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 404 Not Found\r\n");
    ASSERT(strstr(f.reply, "name=\"token\"") == NULL);
    return 0;
}

TEST_IMPL(dash_root_login_page_or_app)
{
    struct fixture f;
    /* no token: the login page, 200, none of the app */
    ASSERT_EQ_INT(dash_run(&f, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
                           false), 0);
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 200 OK\r\n");
    ASSERT_CONTAINS(f.reply, "Content-Type: text/html; charset=utf-8\r\n");
    ASSERT_CONTAINS(f.reply, "Content-Security-Policy: ");
    ASSERT_CONTAINS(f.reply, "name=\"token\"");
    ASSERT_CONTAINS(f.reply, "访问口令");
    ASSERT(strstr(f.reply, "app.js") == NULL);
    /* the read token (Bearer): the app */
    ASSERT_EQ_INT(dash_run(&f, "GET / HTTP/1.1\r\nAuthorization: Bearer "
                           READ_TOKEN "\r\nConnection: close\r\n\r\n",
                           false), 0);
    ASSERT_CONTAINS(f.reply, "<script src=\"/dash/app.js\" defer></script>");
    /* public_read: the app without a token */
    ASSERT_EQ_INT(dash_run(&f, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
                           true), 0);
    ASSERT_CONTAINS(f.reply, "/dash/app.js");
    /* POST / is not a page */
    ASSERT_EQ_INT(dash_run(&f, "POST / HTTP/1.1\r\nContent-Length: 0\r\n"
                           "Connection: close\r\n\r\n", false), 0);
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 405 Method Not Allowed\r\n");
    return 0;
}

TEST_IMPL(dash_login_sets_cookie)
{
    struct fixture f;
    const char *form = "token=" READ_TOKEN;
    char script[1024];
    snprintf(script, sizeof script, "POST /login HTTP/1.1\r\nHost: h:1\r\n"
             "Origin: http://h:1\r\nContent-Type: application/x-www-form-"
             "urlencoded\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
             strlen(form), form);
    ASSERT_EQ_INT(dash_run(&f, script, false), 0);
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 303 See Other\r\n");
    ASSERT_CONTAINS(f.reply, "Location: /\r\n");
    ASSERT_CONTAINS(f.reply, "Set-Cookie: fw_session=v1.r.");
    ASSERT_CONTAINS(f.reply, "; Path=/; Max-Age=43200; HttpOnly; "
                    "SameSite=Strict\r\n");
    /* the cookie reads; a POST still needs the Bearer token */
    char cookie[200] = "";
    sscanf(strstr(f.reply, "fw_session="), "%199[^;]", cookie);
    snprintf(script, sizeof script, "GET / HTTP/1.1\r\nCookie: a=b; %s\r\n"
             "\r\nPOST /reload HTTP/1.1\r\nCookie: %s\r\nContent-Length: 0\r\n"
             "Connection: close\r\n\r\n", cookie, cookie);
    ASSERT_EQ_INT(dash_run(&f, script, false), 0);
    ASSERT_CONTAINS(f.reply, "/dash/app.js");
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 401 Unauthorized\r\n");

    /* behind a TLS proxy: Secure */
    snprintf(script, sizeof script, "POST /login HTTP/1.1\r\n"
             "X-Forwarded-Proto: https\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\ntoken=" WRITE_TOKEN,
             strlen("token=" WRITE_TOKEN));
    ASSERT_EQ_INT(dash_run(&f, script, false), 0);
    ASSERT_CONTAINS(f.reply, "Set-Cookie: fw_session=v1.w.");
    ASSERT_CONTAINS(f.reply, "SameSite=Strict; Secure\r\n");

    /* a wrong token: the login page again, with why, 401 */
    ASSERT_EQ_INT(dash_run(&f, "POST /login HTTP/1.1\r\nContent-Length: 11\r\n"
                           "Connection: close\r\n\r\ntoken=wrong", false), 0);
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 401 Unauthorized\r\n");
    ASSERT_CONTAINS(f.reply, "WWW-Authenticate: Bearer\r\n");
    ASSERT_CONTAINS(f.reply, "口令不正确");
    ASSERT(strstr(f.reply, "Set-Cookie") == NULL);

    /* a form of another site: 403 */
    ASSERT_EQ_INT(dash_run(&f, "POST /login HTTP/1.1\r\nHost: h:1\r\nOrigin: "
                           "http://evil.example\r\nContent-Length: 0\r\n"
                           "Connection: close\r\n\r\n", false), 0);
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 403 Forbidden\r\n");

    /* logout clears the cookie */
    ASSERT_EQ_INT(dash_run(&f, "POST /logout HTTP/1.1\r\nContent-Length: 0\r\n"
                           "Connection: close\r\n\r\n", false), 0);
    ASSERT_CONTAINS(f.reply, "Set-Cookie: fw_session=; Path=/; Max-Age=0;");
    return 0;
}

TEST_IMPL(dash_failed_logins_are_limited)
{
    struct fixture f;
    char script[2048] = "";
    for (int i = 0; i <= FW_DASH_MAX_FAILS; i++)
        strcat(script, i < FW_DASH_MAX_FAILS
                           ? "POST /login HTTP/1.1\r\nContent-Length: 7\r\n"
                             "\r\ntoken=x"
                           : "POST /login HTTP/1.1\r\nContent-Length: 27\r\n"
                             "Connection: close\r\n\r\ntoken=" READ_TOKEN);
    ASSERT_EQ_INT(dash_run(&f, script, false), 0);
    /* five refusals, then even the right token waits */
    int n401 = 0;
    for (const char *p = f.reply; (p = strstr(p, " 401 Unauthorized")); p++)
        n401++;
    ASSERT_EQ_INT(n401, FW_DASH_MAX_FAILS);
    ASSERT_CONTAINS(f.reply, "HTTP/1.1 429 Too Many Requests\r\n");
    ASSERT_CONTAINS(f.reply, "Retry-After: ");
    ASSERT_CONTAINS(f.reply, "口令错误次数过多");
    ASSERT(strstr(f.reply, "Set-Cookie") == NULL);

    /* a good login forgives the mistakes before it */
    static const char bad[] = "POST /login HTTP/1.1\r\nContent-Length: 7\r\n"
                              "\r\ntoken=x";
    static const char good[] = "POST /login HTTP/1.1\r\nContent-Length: 27\r\n"
                               "\r\ntoken=" READ_TOKEN;
    script[0] = '\0';
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < FW_DASH_MAX_FAILS - 1; i++)
            strcat(script, bad);
        strcat(script, good);
    }
    strcat(script, "GET /dash/icon.svg HTTP/1.1\r\nConnection: close\r\n\r\n");
    ASSERT(strlen(script) < sizeof script);
    ASSERT_EQ_INT(dash_run(&f, script, false), 0);
    int n303 = 0;
    for (const char *p = f.reply; (p = strstr(p, " 303 See Other")); p++)
        n303++;
    ASSERT_EQ_INT(n303, 2);
    ASSERT(strstr(f.reply, " 429 ") == NULL);
    return 0;
}

TEST_IMPL(dash_sessions)
{
    struct fw_api_auth auth = {.token = WRITE_TOKEN, .read_token = READ_TOKEN};
    char v[160], cookie[200];
    int64_t now = 1700000000;
    fw_dash_session_make(1, READ_TOKEN, now + 60, v, sizeof v);
    snprintf(cookie, sizeof cookie, "x=1; fw_session=%s; y=2", v);
    ASSERT_EQ_INT(fw_dash_session_role(cookie, &auth, now), 1);
    ASSERT_EQ_INT(fw_dash_session_role(cookie, &auth, now + 61), 0); /* expired */
    fw_dash_session_make(2, WRITE_TOKEN, now + 60, v, sizeof v);
    snprintf(cookie, sizeof cookie, "fw_session=%s", v);
    ASSERT_EQ_INT(fw_dash_session_role(cookie, &auth, now), 2);
    /* a changed token ends its sessions */
    struct fw_api_auth other = {.token = "another-0123456789abcdef",
                                .read_token = READ_TOKEN};
    ASSERT_EQ_INT(fw_dash_session_role(cookie, &other, now), 0);
    /* forged: a read session's MAC with the role changed, a far expiry */
    fw_dash_session_make(1, READ_TOKEN, now + 60, v, sizeof v);
    v[3] = 'w';
    snprintf(cookie, sizeof cookie, "fw_session=%s", v);
    ASSERT_EQ_INT(fw_dash_session_role(cookie, &auth, now), 0);
    fw_dash_session_make(1, READ_TOKEN, now + 10 * FW_DASH_SESSION_S, v,
                         sizeof v);
    snprintf(cookie, sizeof cookie, "fw_session=%s", v);
    ASSERT_EQ_INT(fw_dash_session_role(cookie, &auth, now), 0);
    ASSERT_EQ_INT(fw_dash_session_role("fw_session=v1.r.x.y", &auth, now), 0);
    ASSERT_EQ_INT(fw_dash_session_role(NULL, &auth, now), 0);

    /* reads: a token, a session, or public_read; none configured: 403 */
    char why[256];
    struct fw_api_cred none = {0}, bearer = {.authorization = "Bearer "
                                                              READ_TOKEN};
    ASSERT_EQ_INT(fw_api_read_access(&none, &auth, why, sizeof why), 401);
    ASSERT_CONTAINS(why, "reading needs a token");
    ASSERT_EQ_INT(fw_api_read_access(&bearer, &auth, why, sizeof why), 0);
    struct fw_api_auth pub = {.public_read = true};
    ASSERT_EQ_INT(fw_api_read_access(&none, &pub, why, sizeof why), 0);
    struct fw_api_auth closed = {0};
    ASSERT_EQ_INT(fw_api_read_access(&bearer, &closed, why, sizeof why), 403);
    ASSERT_CONTAINS(why, "reads are disabled");
    return 0;
}
