/* HTTP/1.1 connections on libuv with http-parser doing the parsing. One
 * request at a time per connection: reading pauses while the handler works,
 * bytes that arrived early (pipelining) wait in `pending`. A connection is
 * freed only when both its handles are closed and no handler holds it. */
#include "http.h"

#include <ctype.h>
#include <limits.h>
#include <http_parser.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fundwatch/buf.h"

enum cstate { C_READING, C_HANDLING, C_WRITING, C_CLOSING };

struct fw_http_server {
    uv_tcp_t tcp;
    uv_loop_t *loop;
    struct fw_http_opts opts;
    fw_http_handler handler;
    void *ud;
    struct fw_http_conn *conns;
    unsigned n_conns;
    bool stopping, listener_closed;
    void (*done)(void *);
    void *done_arg;
    int port;
    char rbuf[64 * 1024]; /* read buffer: consumed inside each read callback */
};

struct fw_http_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct fw_http_server *srv;
    struct fw_http_conn *prev, *next;
    http_parser parser;
    enum cstate state;
    int open_handles;
    bool handling;        /* a handler owes a response */
    bool keep_alive;
    bool in_value;        /* the last header callback was a value */
    int early_status;     /* a limit or syntax error found while parsing */
    size_t header_bytes;
    struct fw_buf target; /* the request target */
    struct fw_buf hdrs;   /* "name\0value\0" pairs, names lower-cased */
    struct fw_buf body;
    struct fw_buf pending;/* bytes after a complete message */
    struct fw_buf meta;   /* target\0 path\0 query\0 for req */
    struct fw_buf out;
    uv_write_t wr;
    struct fw_http_req req;
};

static void conn_close(struct fw_http_conn *c);
static void conn_feed(struct fw_http_conn *c, const char *data, size_t n);
static void send_response(struct fw_http_conn *c, int status, const char *ctype,
                          const char *extra, const char *body, size_t len);

const char *fw_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    }
    return "Unknown";
}

/* ---- lifetime ---------------------------------------------------------- */

static void conn_free(struct fw_http_conn *c)
{
    fw_buf_fini(&c->target);
    fw_buf_fini(&c->hdrs);
    fw_buf_fini(&c->body);
    fw_buf_fini(&c->pending);
    fw_buf_fini(&c->meta);
    fw_buf_fini(&c->out);
    free(c);
}

static void server_maybe_done(struct fw_http_server *s)
{
    if (!s->stopping || !s->listener_closed || s->n_conns > 0)
        return;
    void (*done)(void *) = s->done;
    void *arg = s->done_arg;
    free(s);
    if (done)
        done(arg);
}

static void on_conn_handle_closed(uv_handle_t *h)
{
    struct fw_http_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    struct fw_http_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    c->srv = NULL;
    if (!c->handling)
        conn_free(c);
    server_maybe_done(s);
}

static void conn_close(struct fw_http_conn *c)
{
    if (c->state == C_CLOSING)
        return;
    c->state = C_CLOSING;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
}

static void arm_timer(struct fw_http_conn *c);

static void on_timeout(uv_timer_t *t)
{
    struct fw_http_conn *c = t->data;
    if (c->state == C_READING && (c->header_bytes > 0 || c->body.len > 0)) {
        c->keep_alive = false;
        send_response(c, 408, "application/json", NULL,
                      "{\"error\":\"request not completed in time\"}", 40);
    } else if (c->state != C_HANDLING) {
        conn_close(c);
    }
}

static void arm_timer(struct fw_http_conn *c)
{
    uv_timer_start(&c->timer, on_timeout, c->srv->opts.idle_ms, 0);
}

/* ---- parsing ----------------------------------------------------------- */

static int count_header(struct fw_http_conn *c, size_t n)
{
    c->header_bytes += n;
    if (c->header_bytes > c->srv->opts.max_header) {
        c->early_status = 431;
        return -1;
    }
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    struct fw_http_conn *c = p->data;
    if (count_header(c, n) < 0 || fw_buf_append(&c->target, at, n) < 0)
        return -1;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct fw_http_conn *c = p->data;
    if (count_header(c, n) < 0)
        return -1;
    if (c->in_value) {
        if (fw_buf_putc(&c->hdrs, '\0') < 0)
            return -1;
        c->in_value = false;
    }
    size_t at_len = c->hdrs.len;
    if (fw_buf_append(&c->hdrs, at, n) < 0)
        return -1;
    for (size_t i = at_len; i < c->hdrs.len; i++)
        c->hdrs.p[i] = (char)tolower((unsigned char)c->hdrs.p[i]);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct fw_http_conn *c = p->data;
    if (count_header(c, n) < 0)
        return -1;
    if (!c->in_value) {
        if (fw_buf_putc(&c->hdrs, '\0') < 0)
            return -1;
        c->in_value = true;
    }
    return fw_buf_append(&c->hdrs, at, n) < 0 ? -1 : 0;
}

static int on_headers_complete(http_parser *p)
{
    struct fw_http_conn *c = p->data;
    if (c->in_value && fw_buf_putc(&c->hdrs, '\0') < 0)
        return -1;
    c->in_value = false;
    if (p->content_length != ULLONG_MAX &&
        p->content_length > c->srv->opts.max_body) {
        c->early_status = 413;
        return -1;
    }
    c->keep_alive = http_should_keep_alive(p);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct fw_http_conn *c = p->data;
    if (c->body.len + n > c->srv->opts.max_body) {
        c->early_status = 413;
        return -1;
    }
    return fw_buf_append(&c->body, at, n) < 0 ? -1 : 0;
}

static int on_message_complete(http_parser *p)
{
    struct fw_http_conn *c = p->data;
    c->keep_alive = http_should_keep_alive(p);
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void reset_request(struct fw_http_conn *c)
{
    fw_buf_reset(&c->target);
    fw_buf_reset(&c->hdrs);
    fw_buf_reset(&c->body);
    fw_buf_reset(&c->meta);
    c->in_value = false;
    c->header_bytes = 0;
    c->early_status = 0;
}

static void dispatch(struct fw_http_conn *c)
{
    const char *t = c->target.p ? c->target.p : "";
    size_t tlen = c->target.len;
    const char *q = memchr(t, '?', tlen);
    size_t plen = q ? (size_t)(q - t) : tlen;
    fw_buf_reset(&c->meta);
    if (fw_buf_append(&c->meta, t, tlen + 1) < 0 ||
        fw_buf_append(&c->meta, t, plen) < 0 || fw_buf_putc(&c->meta, '\0') < 0 ||
        fw_buf_puts(&c->meta, q ? q + 1 : "") < 0 || fw_buf_putc(&c->meta, '\0') < 0) {
        c->keep_alive = false;
        fw_http_respond_error(c, 500, "out of memory");
        return;
    }
    if (c->body.p == NULL)
        fw_buf_reserve(&c->body, 0);
    c->req = (struct fw_http_req){
        .method = http_method_str((enum http_method)c->parser.method),
        .target = c->meta.p,
        .path = c->meta.p + tlen + 1,
        .query = c->meta.p + tlen + 1 + plen + 1,
        .body = c->body.p ? c->body.p : "",
        .body_len = c->body.len,
    };
    c->state = C_HANDLING;
    c->handling = true;
    uv_timer_stop(&c->timer);
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->srv->handler(c->srv->ud, c, &c->req);
}

static void conn_feed(struct fw_http_conn *c, const char *data, size_t n)
{
    size_t used = http_parser_execute(&c->parser, &settings, data, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (c->early_status) {
        c->keep_alive = false;
        fw_http_respond_error(c, c->early_status,
                              c->early_status == 413 ? "request body too large"
                                                     : "request headers too large");
        return;
    }
    if (e == HPE_PAUSED) {
        if (used < n && fw_buf_append(&c->pending, data + used, n - used) < 0) {
            c->keep_alive = false;
            fw_http_respond_error(c, 500, "out of memory");
            return;
        }
        dispatch(c);
        return;
    }
    if (e != HPE_OK || c->parser.upgrade) {
        char msg[160];
        snprintf(msg, sizeof msg, "bad request: %s",
                 c->parser.upgrade ? "protocol upgrade not supported"
                                   : http_errno_description(e));
        c->keep_alive = false;
        fw_http_respond_error(c, 400, msg);
    }
}

/* ---- reading and writing ---------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct fw_http_conn *c = h->data;
    buf->base = c->srv->rbuf;
    buf->len = sizeof c->srv->rbuf;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct fw_http_conn *c = st->data;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0 || c->state != C_READING)
        return;
    arm_timer(c);
    conn_feed(c, buf->base, (size_t)nread);
}

static void on_written(uv_write_t *w, int status)
{
    struct fw_http_conn *c = w->data;
    if (c->state == C_CLOSING)
        return;
    if (status < 0 || !c->keep_alive) {
        conn_close(c);
        return;
    }
    reset_request(c);
    c->state = C_READING;
    http_parser_pause(&c->parser, 0);
    arm_timer(c);
    if (c->pending.len > 0) {
        struct fw_buf early = c->pending;
        fw_buf_init(&c->pending);
        conn_feed(c, early.p, early.len);
        fw_buf_fini(&early);
    }
    if (c->state == C_READING)
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void send_response(struct fw_http_conn *c, int status, const char *ctype,
                          const char *extra, const char *body, size_t len)
{
    fw_buf_reset(&c->out);
    /* no-store unless the answer says how it may be cached */
    bool cache = extra && strcasestr(extra, "cache-control:") != NULL;
    int rc = fw_buf_printf(&c->out, "HTTP/1.1 %d %s\r\n", status,
                           fw_http_reason(status));
    if (status == 304 || status == 204)
        len = 0; /* no body, no body's headers */
    else if (rc >= 0)
        rc = fw_buf_printf(&c->out, "Content-Type: %s\r\n"
                           "Content-Length: %zu\r\n",
                           ctype ? ctype : "application/octet-stream", len);
    if (rc >= 0)
        rc = fw_buf_printf(&c->out, "%sConnection: %s\r\n%s\r\n",
                           cache ? "" : "Cache-Control: no-store\r\n",
                           c->keep_alive ? "keep-alive" : "close",
                           extra ? extra : "");
    if (rc < 0 || fw_buf_append(&c->out, body, len) < 0) {
        conn_close(c);
        return;
    }
    c->state = C_WRITING;
    arm_timer(c);
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_buf_t b = uv_buf_init(c->out.p, (unsigned)c->out.len);
    c->wr.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0)
        conn_close(c);
}

void fw_http_respond(struct fw_http_conn *c, int status, const char *ctype,
                     const char *extra_headers, const char *body, size_t len)
{
    bool was_handling = c->handling;
    c->handling = false;
    if (c->state == C_CLOSING) {
        /* the connection went away while the handler worked */
        if (was_handling && c->srv == NULL)
            conn_free(c);
        return;
    }
    if (c->state == C_WRITING)
        return; /* one response per request */
    send_response(c, status, ctype, extra_headers, body ? body : "", len);
}

int fw_http_peer(const struct fw_http_conn *c, char *out, size_t n)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    out[0] = '\0';
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        uv_ip6_name((const struct sockaddr_in6 *)&ss, out, n);
    else
        uv_ip4_name((const struct sockaddr_in *)&ss, out, n);
    return 0;
}

void fw_http_respond_error(struct fw_http_conn *c, int status, const char *msg)
{
    struct fw_buf b = FW_BUF_INIT;
    if (fw_buf_puts(&b, "{\"error\":") < 0 ||
        fw_buf_json_str(&b, msg, strlen(msg)) < 0 || fw_buf_puts(&b, "}\n") < 0) {
        fw_buf_fini(&b);
        fw_http_respond(c, 500, "application/json", NULL, "{}\n", 3);
        return;
    }
    fw_http_respond(c, status, "application/json", NULL, b.p, b.len);
    fw_buf_fini(&b);
}

/* ---- accepting --------------------------------------------------------- */

static void on_connection(uv_stream_t *ls, int status)
{
    struct fw_http_server *s = ls->data;
    if (status < 0 || s->stopping)
        return;
    struct fw_http_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->state = C_READING;
    c->keep_alive = true;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    if (s->n_conns > s->opts.max_conns) {
        c->keep_alive = false;
        fw_http_respond_error(c, 503, "too many connections");
        return;
    }
    arm_timer(c);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss,
                        struct fw_error *err)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen || colon[1] == '\0')
        return fw_error_set(err, FW_EINVAL, NULL,
                            "listen address \"%s\": expected host:port", listen);
    size_t hl = (size_t)(colon - listen);
    const char *h = listen;
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= sizeof host)
        return fw_error_set(err, FW_EINVAL, NULL, "listen address \"%s\": host too long", listen);
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535)
        return fw_error_set(err, FW_EINVAL, NULL,
                            "listen address \"%s\": port must be 0-65535", listen);
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    return fw_error_set(err, FW_EINVAL, NULL,
                        "listen address \"%s\": \"%s\" is not an IP address", listen, host);
}

static void free_server_on_close(uv_handle_t *h)
{
    free(h->data);
}

int fw_http_start(uv_loop_t *loop, const char *listen,
                  const struct fw_http_opts *opts, fw_http_handler handler,
                  void *ud, struct fw_http_server **out, struct fw_error *err)
{
    struct sockaddr_storage ss;
    int rc = parse_listen(listen, &ss, err);
    if (rc < 0)
        return rc;
    struct fw_http_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return fw_error_set(err, FW_ENOMEM, NULL, "out of memory");
    s->loop = loop;
    s->opts = *opts;
    s->handler = handler;
    s->ud = ud;
    http_parser_set_max_header_size((uint32_t)opts->max_header);
    uv_tcp_init(loop, &s->tcp);
    s->tcp.data = s;
    rc = uv_tcp_bind(&s->tcp, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->tcp, 128, on_connection);
    if (rc < 0) {
        fw_error_set(err, FW_EIO, NULL, "listen on %s: %s", listen, uv_strerror(rc));
        uv_close((uv_handle_t *)&s->tcp, free_server_on_close);
        return FW_EIO;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&bound, &blen);
    s->port = ntohs(bound.ss_family == AF_INET6
                        ? ((struct sockaddr_in6 *)&bound)->sin6_port
                        : ((struct sockaddr_in *)&bound)->sin_port);
    *out = s;
    return 0;
}

int fw_http_port(const struct fw_http_server *s)
{
    return s->port;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct fw_http_server *s = h->data;
    s->listener_closed = true;
    server_maybe_done(s);
}

void fw_http_stop(struct fw_http_server *s, void (*done)(void *), void *arg)
{
    s->stopping = true;
    s->done = done;
    s->done_arg = arg;
    for (struct fw_http_conn *c = s->conns; c; c = c->next)
        conn_close(c);
    uv_close((uv_handle_t *)&s->tcp, on_listener_closed);
}

/* ---- request accessors ------------------------------------------------- */

const char *fw_http_header(const struct fw_http_conn *c, const char *name)
{
    const char *p = c->hdrs.p, *end = p ? p + c->hdrs.len : NULL;
    while (p && p < end) {
        const char *value = p + strlen(p) + 1;
        if (value >= end)
            break;
        if (strcasecmp(p, name) == 0)
            return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Decodes s[0..n) (percent escapes, '+' as space) into out; -1 if it does
 * not fit or an escape is malformed. */
static int decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = ch;
    }
    out[o] = '\0';
    return (int)o;
}

int fw_http_query(const struct fw_http_req *req, const char *key, char *out,
                  size_t n)
{
    const char *q = req->query;
    char k[128];
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        if (decode(q, klen, k, sizeof k) >= 0 && strcmp(k, key) == 0) {
            if (!eq) {
                if (n == 0)
                    return -1;
                out[0] = '\0';
                return 0;
            }
            return decode(eq + 1, len - klen - 1, out, n);
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return -1;
}
