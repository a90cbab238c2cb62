/* The HTTP API's routes and their parameter checks. Every refusal is a JSON
 * error with the status a client can act on; the answers themselves come
 * from the daemon through struct fw_api_ops. */
#include "api.h"

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dash.h"
#include "fundwatch/buf.h"

static int refuse(char *why, size_t n, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(char *why, size_t n, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return status;
}

static bool one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return true;
    return false;
}

static bool digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* "2024-06-30" or "2024-06-30T08:00:00Z": the shape only; the store compares
 * them as text, which orders correctly in this form. */
static bool iso_time(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    size_t n = strlen(s);
    if (n != 10 && n != 20)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return false;
    }
    return true;
}

static bool to_int(const char *s, long long lo, long long hi, long long *out)
{
    if (!digits(s, 1, 18))
        return false;
    long long v = strtoll(s, NULL, 10);
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* The query keys of an endpoint: anything else is a mistake worth saying. */
static int check_keys(const char *query, const char *const *allowed,
                      char *why, size_t n)
{
    const char *p = query;
    while (*p) {
        size_t len = strcspn(p, "&");
        size_t klen = strcspn(p, "=&");
        if (klen > 0) {
            char key[64];
            if (klen >= sizeof key)
                return refuse(why, n, 400, "unknown parameter");
            memcpy(key, p, klen);
            key[klen] = '\0';
            if (!one_of(key, allowed))
                return refuse(why, n, 400, "unknown parameter \"%s\"", key);
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return 0;
}

/* Fetches one query value into out (size n), "" when absent; 400 when it
 * does not fit. The probe holds any value: a request target is bounded by
 * the server's header limit. */
static int param(const struct fw_http_req *req, const char *key, char *out,
                 size_t n, char *why, size_t wn)
{
    char probe[32 * 1024];
    int len = fw_http_query(req, key, probe, sizeof probe);
    out[0] = '\0';
    if (len < 0)
        return 0;
    if ((size_t)len >= n)
        return refuse(why, wn, 400, "parameter \"%s\" is too long", key);
    memcpy(out, probe, (size_t)len + 1);
    return 0;
}

/* A unit's code: letters, digits, '-', '_', '.'. */
static bool code_text(const char *s)
{
    for (; *s; s++)
        if (!(*s == '_' || *s == '-' || *s == '.' ||
              (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

/* The filters /findings and /report.xlsx share, fetched and checked. */
static int parse_filters(const struct fw_http_req *req,
                         struct fw_api_findings_q *q, char *why, size_t n)
{
    static const char *const kinds[] = {"alert", "clawback", "score", "error",
                                        "ops", NULL};
    static const char *const levels[] = {"red", "yellow", "info", NULL};
    static const char *const states[] = {"open", "resolved", NULL};
    int rc;
    if ((rc = param(req, "region", q->region, sizeof q->region, why, n)) ||
        (rc = param(req, "kind", q->kind, sizeof q->kind, why, n)) ||
        (rc = param(req, "level", q->level, sizeof q->level, why, n)) ||
        (rc = param(req, "rule", q->rule, sizeof q->rule, why, n)) ||
        (rc = param(req, "state", q->state, sizeof q->state, why, n)) ||
        (rc = param(req, "dept", q->dept, sizeof q->dept, why, n)) ||
        (rc = param(req, "from", q->from, sizeof q->from, why, n)) ||
        (rc = param(req, "to", q->to, sizeof q->to, why, n)))
        return rc;
    if (q->region[0] && !digits(q->region, 1, 9))
        return refuse(why, n, 400, "region \"%s\": not a region code prefix "
                      "(up to 9 digits)", q->region);
    if (q->kind[0] && !one_of(q->kind, kinds))
        return refuse(why, n, 400, "kind \"%s\": expected alert, clawback, "
                      "score, error or ops", q->kind);
    if (q->level[0] && !one_of(q->level, levels))
        return refuse(why, n, 400, "level \"%s\": expected red, yellow or "
                      "info", q->level);
    if (q->state[0] && !one_of(q->state, states))
        return refuse(why, n, 400, "state \"%s\": expected open or resolved",
                      q->state);
    if (!code_text(q->rule) || strchr(q->rule, '.'))
        return refuse(why, n, 400, "rule \"%s\": not a rule id", q->rule);
    if (!code_text(q->dept))
        return refuse(why, n, 400, "dept \"%s\": not a unit code", q->dept);
    if ((q->from[0] && (strlen(q->from) != 10 || !iso_time(q->from))) ||
        (q->to[0] && (strlen(q->to) != 10 || !iso_time(q->to))))
        return refuse(why, n, 400, "from/to: expected a date such as "
                      "2024-06-30");
    return 0;
}

static int parse_findings(const struct fw_http_req *req,
                          struct fw_api_findings_q *q, char *why, size_t n)
{
    static const char *const keys[] = {"region", "kind", "level", "rule",
                                       "state", "dept", "from", "to",
                                       "since", "limit", "after", NULL};
    char limit[16], after[24];
    int rc;

    memset(q, 0, sizeof *q);
    q->limit = FW_API_LIMIT_DEFAULT;
    if ((rc = check_keys(req->query, keys, why, n)) ||
        (rc = parse_filters(req, q, why, n)) ||
        (rc = param(req, "since", q->since, sizeof q->since, why, n)) ||
        (rc = param(req, "limit", limit, sizeof limit, why, n)) ||
        (rc = param(req, "after", after, sizeof after, why, n)))
        return rc;
    if (q->since[0] && !iso_time(q->since))
        return refuse(why, n, 400, "since \"%s\": expected 2024-06-30 or "
                      "2024-06-30T08:00:00Z", q->since);
    long long v;
    if (limit[0]) {
        if (!to_int(limit, 1, FW_API_LIMIT_MAX, &v))
            return refuse(why, n, 400, "limit \"%s\": expected 1 to 1000",
                          limit);
        q->limit = (int)v;
    }
    if (after[0]) {
        if (!to_int(after, 0, INT64_MAX, &v))
            return refuse(why, n, 400, "after \"%s\": expected the next_after "
                          "of a previous page", after);
        q->after = v;
    }
    return 0;
}

/* GET /report.xlsx: the filters of the findings, and a range of data dates.
 */
static int parse_report(const struct fw_http_req *req,
                        struct fw_api_findings_q *q, char *why, size_t n)
{
    static const char *const keys[] = {"region", "kind", "level", "rule",
                                       "state", "dept", "from", "to", NULL};
    int rc;
    memset(q, 0, sizeof *q);
    if ((rc = check_keys(req->query, keys, why, n)))
        return rc;
    return parse_filters(req, q, why, n);
}

static bool hex_id(const char *s)
{
    size_t n = strlen(s);
    if (n < 16 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Constant-time equality of a presented token and a configured one. */
static bool same_token(const char *given, size_t glen, const char *token)
{
    size_t tl = token ? strlen(token) : 0;
    return tl > 0 && glen == tl && CRYPTO_memcmp(given, token, tl) == 0;
}

static int authorize(const char *authorization, const char *token, char *why,
                     size_t n)
{
    if (!token || !*token)
        return refuse(why, n, 403, "POST is disabled: no api token is set in "
                      "the config (http.token)");
    const char *prefix = "Bearer ";
    if (!authorization || strncmp(authorization, prefix, strlen(prefix)))
        return refuse(why, n, 401, "an Authorization: Bearer <token> header "
                      "is required");
    const char *given = authorization + strlen(prefix);
    if (!same_token(given, strlen(given), token))
        return refuse(why, n, 401, "wrong token");
    return 0;
}

int fw_api_read_access(const struct fw_api_cred *cred,
                       const struct fw_api_auth *auth, char *why,
                       size_t why_n)
{
    if (auth->public_read)
        return 0;
    bool any = (auth->token && *auth->token) ||
               (auth->read_token && *auth->read_token);
    if (!any)
        return refuse(why, why_n, 403, "reads are disabled: no read_token or "
                      "token is set in the config, and public_read is false");
    const char *prefix = "Bearer ";
    const char *a = cred->authorization;
    if (a) {
        if (strncmp(a, prefix, strlen(prefix)))
            return refuse(why, why_n, 401, "an Authorization: Bearer <token> "
                          "header is required");
        const char *given = a + strlen(prefix);
        size_t gl = strlen(given);
        if (same_token(given, gl, auth->read_token) ||
            same_token(given, gl, auth->token))
            return 0;
        return refuse(why, why_n, 401, "wrong token");
    }
    if (fw_dash_session_role(cred->cookie, auth, (int64_t)time(NULL)) > 0)
        return 0;
    return refuse(why, why_n, 401, "reading needs a token: an Authorization: "
                  "Bearer <read token> header, or a session from the login "
                  "at /");
}

/* One string member of an acknowledgement's body into out (not empty, at
 * most n - 1 bytes). */
static int ack_str(json_object *o, const char *key, char *out, size_t n,
                   char *why, size_t why_n)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return refuse(why, why_n, 400, "the body needs \"%s\", a string", key);
    size_t len = (size_t)json_object_get_string_len(v);
    const char *s = json_object_get_string(v);
    if (len == 0 || strspn(s, " \t\r\n") == len)
        return refuse(why, why_n, 400, "\"%s\" is empty", key);
    if (len >= n || memchr(s, '\0', len))
        return refuse(why, why_n, 400, "\"%s\" is longer than %zu bytes", key,
                      n - 1);
    memcpy(out, s, len + 1);
    return 0;
}

/* POST /findings/{id}/ack's body: {"by": "…", "note": "…"}, nothing else. */
static int parse_ack(const struct fw_http_req *req, struct fw_api_call *call,
                     char *why, size_t why_n)
{
    if (req->body_len == 0)
        return refuse(why, why_n, 400, "the request has no body: send "
                      "{\"by\": \"…\", \"note\": \"…\"}");
    json_tokener *tok = json_tokener_new();
    if (tok == NULL)
        return refuse(why, why_n, 503, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *o = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    int rc = 0;
    if (o == NULL || je != json_tokener_success ||
        strspn(req->body + used, " \t\r\n") != req->body_len - used) {
        rc = refuse(why, why_n, 400, "the body is not one JSON object: %s",
                    o == NULL || je != json_tokener_success
                        ? json_tokener_error_desc(je)
                        : "something follows it");
    } else if (!json_object_is_type(o, json_type_object)) {
        rc = refuse(why, why_n, 400, "the body is not a JSON object");
    } else {
        json_object_object_foreach(o, key, val) {
            (void)val;
            if (strcmp(key, "by") && strcmp(key, "note")) {
                rc = refuse(why, why_n, 400, "unknown key \"%.64s\" in the "
                            "body (by, note)", key);
                break;
            }
        }
        if (rc == 0)
            rc = ack_str(o, "by", call->by, sizeof call->by, why, why_n);
        if (rc == 0)
            rc = ack_str(o, "note", call->note, sizeof call->note, why, why_n);
    }
    json_object_put(o);
    return rc;
}

int fw_api_parse(const struct fw_http_req *req, const struct fw_api_cred *cred,
                 const struct fw_api_auth *auth, struct fw_api_call *call,
                 char *why, size_t why_n)
{
    static const char *const none[] = {NULL};
    static const char *const feed_keys[] = {"name", NULL};
    const char *path = req->path;
    bool get = !strcmp(req->method, "GET");
    bool post = !strcmp(req->method, "POST");
    int rc;

    memset(call, 0, sizeof *call);
    if (!strcmp(path, "/healthz") || !strcmp(path, "/readyz") ||
        !strcmp(path, "/metrics")) {
        if (!get)
            return refuse(why, why_n, 405, "%s takes GET", path);
        if ((rc = check_keys(req->query, none, why, why_n)))
            return rc;
        call->ep = path[1] == 'h' ? FW_API_HEALTHZ
                   : path[1] == 'r' ? FW_API_READYZ
                                    : FW_API_METRICS;
        return 0;
    }
    if (!strcmp(path, "/shadow")) {
        static const char *const dir_keys[] = {"dir", NULL};
        bool del = !strcmp(req->method, "DELETE");
        if (!get && !post && !del)
            return refuse(why, why_n, 405, "%s takes GET, POST or DELETE",
                          path);
        if (get) {
            /* what a candidate would change: findings, so a read */
            if ((rc = fw_api_read_access(cred, auth, why, why_n)) ||
                (rc = check_keys(req->query, none, why, why_n)))
                return rc;
            call->ep = FW_API_SHADOW;
            return 0;
        }
        if ((rc = authorize(cred->authorization, auth->token, why, why_n)))
            return rc;
        if ((rc = check_keys(req->query, post ? dir_keys : none, why,
                             why_n)))
            return rc;
        call->ep = del ? FW_API_SHADOW_STOP : FW_API_SHADOW_START;
        if (post) {
            if ((rc = param(req, "dir", call->dir, sizeof call->dir, why,
                            why_n)))
                return rc;
            if (call->dir[0] != '/')
                return refuse(why, why_n, 400, "dir \"%s\": the absolute "
                              "path of a policies folder the daemon may read",
                              call->dir);
        }
        return 0;
    }
    size_t pl = strlen(path);
    if (!strncmp(path, "/findings/", 10) && pl > 14 &&
        !strcmp(path + pl - 4, "/ack")) {
        if (!post)
            return refuse(why, why_n, 405, "/findings/{id}/ack takes POST");
        if ((rc = authorize(cred->authorization, auth->token, why, why_n)) ||
            (rc = check_keys(req->query, none, why, why_n)))
            return rc;
        char id[80];
        snprintf(id, sizeof id, "%.*s", (int)(pl - 14), path + 10);
        if (pl - 14 >= sizeof id || !hex_id(id))
            return refuse(why, why_n, 404, "no finding \"%.80s\": an id is "
                          "lowercase hex", path + 10);
        call->ep = FW_API_ACK;
        snprintf(call->id, sizeof call->id, "%.64s", id);
        return parse_ack(req, call, why, why_n);
    }
    /* the reads */
    bool finding = !strncmp(path, "/findings/", 10);
    if (!strcmp(path, "/findings") || !strcmp(path, "/policies") ||
        !strcmp(path, "/summary") || !strcmp(path, "/report.xlsx") ||
        finding) {
        if (!get)
            return refuse(why, why_n, 405, "%s takes GET",
                          finding ? "/findings/{id}" : path);
        if ((rc = fw_api_read_access(cred, auth, why, why_n)))
            return rc;
        if (!strcmp(path, "/findings")) {
            call->ep = FW_API_FINDINGS;
            return parse_findings(req, &call->q, why, why_n);
        }
        if (!strcmp(path, "/report.xlsx")) {
            call->ep = FW_API_REPORT;
            return parse_report(req, &call->q, why, why_n);
        }
        if (finding) {
            /* /findings/{id}/explain: the same finding, with its evidence */
            char id[80];
            snprintf(id, sizeof id, "%s", path + 10);
            size_t il = strlen(id);
            if (il > 8 && strcmp(id + il - 8, "/explain") == 0)
                id[il - 8] = '\0';
            if (!hex_id(id))
                return refuse(why, why_n, 404, "no finding \"%.80s\": an id "
                              "is lowercase hex", path + 10);
            call->ep = FW_API_FINDING;
            snprintf(call->id, sizeof call->id, "%.64s", id); /* hex_id: <= 64 */
            return 0;
        }
        if ((rc = check_keys(req->query, none, why, why_n)))
            return rc;
        call->ep = path[1] == 'p' ? FW_API_POLICIES : FW_API_SUMMARY;
        return 0;
    }
    if (!strcmp(path, "/feeds") || !strcmp(path, "/reload")) {
        bool feeds = path[1] == 'f';
        if (!post)
            return refuse(why, why_n, 405, "%s takes POST", path);
        if ((rc = authorize(cred->authorization, auth->token, why, why_n)))
            return rc;
        if ((rc = check_keys(req->query, feeds ? feed_keys : none, why,
                             why_n)))
            return rc;
        call->ep = feeds ? FW_API_FEEDS : FW_API_RELOAD;
        if (feeds) {
            if ((rc = param(req, "name", call->name, sizeof call->name, why,
                            why_n)))
                return rc;
            const char *nm = call->name;
            if (nm[0] && (nm[0] == '.' || strchr(nm, '/') ||
                          strstr(nm, ".part")))
                return refuse(why, why_n, 400, "name \"%s\": a plain file "
                              "name, not hidden, not .part", nm);
            if (req->body_len == 0)
                return refuse(why, why_n, 400, "the request has no body: "
                              "send the feed's bytes");
        }
        return 0;
    }
    return refuse(why, why_n, 404, "no such endpoint: %.100s", path);
}

static void answer(struct fw_http_conn *c, int rc, struct fw_buf *out,
                   const char *ctype)
{
    if (rc == 0)
        fw_http_respond(c, 200, ctype, NULL, out->p ? out->p : "",
                        out->len);
    else
        fw_http_respond_error(c, rc, out->len ? out->p : fw_http_reason(rc));
}

void fw_api_handle(void *ud, struct fw_http_conn *c,
                   const struct fw_http_req *req)
{
    struct fw_api *api = ud;
    struct fw_api_call call;
    char why[512];
    struct fw_api_cred cred = {
        .authorization = fw_http_header(c, "authorization"),
        .cookie = fw_http_header(c, "cookie"),
    };
    if (api->monitor_only && strcmp(req->path, "/metrics") != 0 &&
        strcmp(req->path, "/healthz") != 0 &&
        strcmp(req->path, "/readyz") != 0) {
        fw_http_respond_error(c, 404, "this listener (metrics_listen) serves "
                              "/metrics, /healthz and /readyz only");
        return;
    }
    if (api->dash && fw_dash_handle(api->dash, c, req, &cred, &api->auth))
        return;
    int rc = fw_api_parse(req, &cred, &api->auth, &call, why, sizeof why);
    if (rc) {
        if (rc == 405 || rc == 401) {
            struct fw_buf b = FW_BUF_INIT;
            fw_buf_puts(&b, "{\"error\":");
            fw_buf_json_str(&b, why, strlen(why));
            fw_buf_puts(&b, "}\n");
            size_t pl = strlen(req->path);
            bool posts = !strcmp(req->path, "/feeds") ||
                         !strcmp(req->path, "/reload") ||
                         (pl > 4 && !strcmp(req->path + pl - 4, "/ack"));
            const char *hdr = rc == 401 ? "WWW-Authenticate: Bearer\r\n"
                              : posts   ? "Allow: POST\r\n"
                                        : "Allow: GET\r\n";
            fw_http_respond(c, rc, "application/json", hdr, b.p, b.len);
            fw_buf_fini(&b);
        } else {
            fw_http_respond_error(c, rc, why);
        }
        return;
    }
    const struct fw_api_ops *ops = api->ops;
    struct fw_buf out = FW_BUF_INIT;
    bool ok = true;
    switch (call.ep) {
    case FW_API_HEALTHZ:
    case FW_API_READYZ:
        rc = ops->health(api->ud, call.ep == FW_API_READYZ, &out, &ok);
        if (rc == 0 && !ok) {
            fw_http_respond(c, 503, "application/json", NULL, out.p,
                            out.len);
            break;
        }
        answer(c, rc, &out, "application/json");
        break;
    case FW_API_METRICS:
        answer(c, ops->metrics(api->ud, &out), &out,
               "text/plain; version=0.0.4; charset=utf-8");
        break;
    case FW_API_FINDINGS:
        answer(c, ops->findings(api->ud, &call.q, &out), &out,
               "application/json");
        break;
    case FW_API_FINDING:
        answer(c, ops->finding(api->ud, call.id, &out), &out,
               "application/json");
        break;
    case FW_API_SUMMARY:
        rc = ops->summary ? ops->summary(api->ud, &out) : 404;
        answer(c, rc, &out, "application/json");
        break;
    case FW_API_POLICIES:
        answer(c, ops->policies(api->ud, &out), &out, "application/json");
        break;
    case FW_API_FEEDS:
        ops->ingest(api->ud, c, call.name, req->body, req->body_len);
        break;
    case FW_API_RELOAD:
        ops->reload(api->ud, c);
        break;
    case FW_API_SHADOW:
        rc = ops->shadow ? ops->shadow(api->ud, &out) : 404;
        answer(c, rc, &out, "application/json");
        break;
    case FW_API_SHADOW_START:
    case FW_API_SHADOW_STOP:
        if (ops->shadow_set)
            ops->shadow_set(api->ud, c,
                            call.ep == FW_API_SHADOW_START ? call.dir : NULL);
        else
            fw_http_respond_error(c, 404, "no shadow here");
        break;
    case FW_API_ACK:
        if (ops->ack)
            ops->ack(api->ud, c, call.id, call.by, call.note);
        else
            fw_http_respond_error(c, 404, "no acknowledgements here");
        break;
    case FW_API_REPORT:
        rc = ops->report ? ops->report(api->ud, &call.q, &out) : 404;
        if (rc == 0)
            fw_http_respond(c, 200, "application/vnd.openxmlformats-"
                            "officedocument.spreadsheetml.sheet",
                            "Content-Disposition: attachment; "
                            "filename=\"fundwatch-report.xlsx\"\r\n",
                            out.p ? out.p : "", out.len);
        else
            answer(c, rc, &out, NULL);
        break;
    }
    fw_buf_fini(&out);
}
