/* The http/ room's one header. Two things: the daemon's HTTP API as a part
 * of the core (fw_http_api_*, endpoints.c: the only entry the rest of the
 * daemon uses), and below it the small HTTP/1.1 server on the daemon's
 * libuv loop (http.c) that api.c and endpoints.c build on. The server's
 * requests are parsed by the http-parser library; it owns connections,
 * limits (header and body size, idle time, connection count) and writing
 * responses. It knows no routes: one handler gets every complete request. */
#ifndef FUNDWATCH_DAEMON_HTTP_H
#define FUNDWATCH_DAEMON_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "fundwatch/error.h"

struct fw_http_server;
struct fw_http_conn;

/* ---- the daemon's API (endpoints.c) --------------------------------------- */

struct fwd;
struct fw_reload;
struct fw_shadow;
struct fw_http_api;

/* Listens on the config's address and attaches the API to the core; POST
 * /reload goes to rl, /shadow to sh. Returns 0, or a negative code with the
 * reason logged. */
int fw_http_api_start(struct fwd *d, struct fw_reload *rl,
                      struct fw_shadow *sh, struct fw_http_api **out);
/* After the loop. Accepts NULL. */
void fw_http_api_free(struct fw_http_api *a);

/* ---- the server (http.c) ---------------------------------------------------- */

struct fw_http_req {
    const char *method;  /* "GET", "POST", ... */
    const char *target;  /* as sent: "/findings?rule=x" */
    const char *path;    /* the target up to '?', not decoded */
    const char *query;   /* after '?', "" if none, not decoded */
    const char *body;    /* NUL-terminated for convenience; may hold NULs */
    size_t body_len;
};

/* Called once per complete request. The request is valid until the handler
 * responds. The handler must eventually call fw_http_respond exactly once,
 * now or later (from the loop thread); reading from that connection pauses
 * until then. */
typedef void (*fw_http_handler)(void *ud, struct fw_http_conn *c,
                                const struct fw_http_req *req);

struct fw_http_opts {
    size_t max_header;   /* bytes of request line + headers; 431 past it */
    size_t max_body;     /* 413 past it */
    uint64_t idle_ms;    /* a connection that neither completes a request nor
                          * reads its response within this is closed (408) */
    unsigned max_conns;  /* more are accepted and closed at once (503) */
};

#define FW_HTTP_OPTS_DEFAULT                                              \
    {.max_header = 16 * 1024, .max_body = 64u * 1024 * 1024,             \
     .idle_ms = 10000, .max_conns = 256}

/* Listens on "host:port" (IPv4 "127.0.0.1:8080", IPv6 "[::1]:8080"; port 0
 * picks a free one). */
int fw_http_start(uv_loop_t *loop, const char *listen,
                  const struct fw_http_opts *opts, fw_http_handler handler,
                  void *ud, struct fw_http_server **out, struct fw_error *err);
/* The port actually bound. */
int fw_http_port(const struct fw_http_server *s);
/* Closes the listener and every connection; done(arg) runs once all handles
 * are closed and the server is freed. A deferred response still pending
 * after this is dropped safely. */
void fw_http_stop(struct fw_http_server *s, void (*done)(void *), void *arg);

/* A request header, case-insensitive; NULL if absent. */
const char *fw_http_header(const struct fw_http_conn *c, const char *name);
/* Copies the url-decoded value of query key into out; returns its length, or
 * -1 when the key is absent or the value does not fit. */
int fw_http_query(const struct fw_http_req *req, const char *key, char *out,
                  size_t n);

/* The peer's address as text ("127.0.0.1", "::1"); -1 and "" when gone. */
int fw_http_peer(const struct fw_http_conn *c, char *out, size_t n);

/* Sends the response (copies body) and, unless the request asked to close,
 * keeps the connection for the next request. extra_headers is NULL or
 * complete "Name: value\r\n" lines; "Cache-Control: no-store" is added
 * unless they hold a Cache-Control. A 304 or 204 carries no body. */
void fw_http_respond(struct fw_http_conn *c, int status, const char *ctype,
                     const char *extra_headers, const char *body, size_t len);
/* {"error": msg} with the given status. */
void fw_http_respond_error(struct fw_http_conn *c, int status, const char *msg);

const char *fw_http_reason(int status);

#endif
