/* The HTTP API's routes: which endpoint a request names, its validated
 * parameters, who may read and who may write (the tokens, the dashboard's
 * session cookie), and the JSON error answers. The
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
    FW_API_SUMMARY,      /* GET /summary: the dashboard's overview */
    FW_API_SHADOW,       /* GET /shadow */
    FW_API_SHADOW_START, /* POST /shadow?dir=… */
    FW_API_SHADOW_STOP,  /* DELETE /shadow */
    FW_API_ACK,          /* POST /findings/{id}/ack */
};

#define FW_API_ACK_BY_MAX 100    /* bytes of "by" */
#define FW_API_ACK_NOTE_MAX 2000 /* bytes of "note" */

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
    char dept[64];     /* a unit's code (单位代码), exact */
    char from[16], to[16]; /* data dates (as_of), inclusive */
};

struct fw_api_call {
    enum fw_api_ep ep;
    struct fw_api_findings_q q;  /* FW_API_FINDINGS */
    char id[65];                 /* FW_API_FINDING, FW_API_ACK */
    char by[FW_API_ACK_BY_MAX + 1];     /* FW_API_ACK: who, not empty */
    char note[FW_API_ACK_NOTE_MAX + 1]; /* FW_API_ACK: why, not empty */
    char name[256];              /* FW_API_FEEDS: ?name=, a plain file name */
    char dir[1024];              /* FW_API_SHADOW_START: ?dir= */
};

/* Who may do what, from the config. Reads (findings, explanations,
 * reports, policies, the summary) need the read token or the write token
 * unless public_read; POST needs the write token; /healthz, /readyz and
 * /metrics are open. */
struct fw_api_auth {
    const char *token;       /* the write token, or NULL/"": POST refused */
    const char *read_token;  /* or NULL/"" */
    bool public_read;
};

/* What a request shows of its sender: its Authorization and Cookie
 * headers (NULL when absent). */
struct fw_api_cred {
    const char *authorization;
    const char *cookie;
};

/* May this request read? 0 when it may; else 401 (no or a wrong token,
 * no valid session) or 403 (no token is configured), with why. */
int fw_api_read_access(const struct fw_api_cred *cred,
                       const struct fw_api_auth *auth, char *why,
                       size_t why_n);

/* Decides what a request asks for. On a bad request returns the HTTP
 * status (400, 401, 403, 404, 405) and a message in why; 0 when *call is
 * filled. */
int fw_api_parse(const struct fw_http_req *req, const struct fw_api_cred *cred,
                 const struct fw_api_auth *auth, struct fw_api_call *call,
                 char *why, size_t why_n);

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
    /* GET /summary: open findings counted, feeds of today */
    int (*summary)(void *ud, struct fw_buf *out);
    /* GET /shadow; POST /shadow and DELETE /shadow answer later */
    int (*shadow)(void *ud, struct fw_buf *out);
    void (*shadow_set)(void *ud, struct fw_http_conn *c, const char *dir);
    /* POST /findings/{id}/ack: answers later (the store's writer does it) */
    void (*ack)(void *ud, struct fw_http_conn *c, const char *id,
                const char *by, const char *note);
};

struct fw_dash;

/* A fw_http_handler: ud is a struct fw_api. The dashboard (dash.c, NULL
 * for none) answers /, /dash/… and POST /login, /logout. */
struct fw_api {
    const struct fw_api_ops *ops;
    void *ud;
    struct fw_api_auth auth;
    struct fw_dash *dash;
    /* metrics_listen's: /metrics, /healthz and /readyz only; every other
     * path is 404 whatever the credentials, so nothing of the findings is
     * reachable there */
    bool monitor_only;
};

void fw_api_handle(void *api, struct fw_http_conn *c,
                   const struct fw_http_req *req);

#endif
