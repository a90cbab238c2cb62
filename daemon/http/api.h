/* The HTTP API's routes: which endpoint a request names, its validated
 * parameters, the token check for POST, and the JSON error answers. The
 * daemon supplies what each endpoint returns through struct fw_api_ops; this
 * module knows no store, engine or spool. */
#ifndef FUNDWATCH_DAEMON_API_H
#define FUNDWATCH_DAEMON_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct fw_buf;

enum fw_api_ep {
    FW_API_HEALTHZ,
    FW_API_READYZ,
    FW_API_METRICS,
    FW_API_FINDINGS,     /* GET /findings?… */
    FW_API_FINDING,      /* GET /findings/{id} */
    FW_API_POLICIES,
    FW_API_FEEDS,        /* POST /feeds */
    FW_API_RELOAD,       /* POST /reload */
    FW_API_REPORT,       /* GET /report.xlsx?… */
    FW_API_SHADOW,       /* GET /shadow */
    FW_API_SHADOW_START, /* POST /shadow?dir=… */
    FW_API_SHADOW_STOP,  /* DELETE /shadow */
};

#define FW_API_LIMIT_DEFAULT 100
#define FW_API_LIMIT_MAX 1000

/* GET /findings filters; an empty string or zero means "any". */
struct fw_api_findings_q {
    char region[16];   /* a region code prefix, digits */
    char kind[16];     /* alert | clawback | score | error | ops */
    char level[16];    /* red | yellow | info */
    char rule[64];
    char state[16];    /* open | resolved */
    char since[32];    /* ISO date or date-time: last seen at or after */
    int limit;         /* 1..FW_API_LIMIT_MAX */
    int64_t after;     /* pagination cursor: rows after this sequence */
    char from[16], to[16]; /* GET /report.xlsx: data dates, inclusive */
};

struct fw_api_call {
    enum fw_api_ep ep;
    struct fw_api_findings_q q;  /* FW_API_FINDINGS */
    char id[65];                 /* FW_API_FINDING */
    char name[256];              /* FW_API_FEEDS: ?name=, a plain file name */
    char dir[1024];              /* FW_API_SHADOW_START: ?dir= */
};

/* Decides what a request asks for. token is the configured API token, or
 * NULL/"" when none is set (then every POST is refused: 403). On a bad
 * request returns the HTTP status (400, 401, 403, 404, 405) and a message in
 * why; 0 when *call is filled. */
int fw_api_parse(const struct fw_http_req *req, const char *authorization,
                 const char *token, struct fw_api_call *call, char *why,
                 size_t why_n);

/* What the daemon answers with. Each GET writer fills out with a JSON (or
 * metrics text) body and returns 0, or returns an HTTP status and puts a
 * message in out. The POST ones answer later by themselves (fw_http_respond
 * on c), because feeds and reloads take time. */
struct fw_api_ops {
    int (*health)(void *ud, bool ready, struct fw_buf *out, bool *ok);
    int (*metrics)(void *ud, struct fw_buf *out);
    int (*findings)(void *ud, const struct fw_api_findings_q *q,
                    struct fw_buf *out);
    int (*finding)(void *ud, const char *id, struct fw_buf *out);
    int (*policies)(void *ud, struct fw_buf *out);
    void (*ingest)(void *ud, struct fw_http_conn *c, const char *name,
                   const char *body, size_t len);
    void (*reload)(void *ud, struct fw_http_conn *c);
    /* GET /report.xlsx: the workbook's bytes in out */
    int (*report)(void *ud, const struct fw_api_findings_q *q,
                  struct fw_buf *out);
    /* GET /shadow; POST /shadow and DELETE /shadow answer later */
    int (*shadow)(void *ud, struct fw_buf *out);
    void (*shadow_set)(void *ud, struct fw_http_conn *c, const char *dir);
};

/* A fw_http_handler: ud is a struct fw_api. */
struct fw_api {
    const struct fw_api_ops *ops;
    void *ud;
    const char *token;
};

void fw_api_handle(void *api, struct fw_http_conn *c,
                   const struct fw_http_req *req);

#endif
