/* The dashboard's server side: embedded assets with strong ETags and the
 * security headers, the login page or the app at /, the session cookie
 * (HMAC of the role's token, no server-side table) and the failed-login
 * limit per address. Reads no data itself: the pages ask the JSON API. */
#include "dash.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fundwatch/buf.h"
#include "log.h"

#define N_FAIL_SLOTS 64

struct fail_slot {
    char addr[64];
    unsigned fails;
    int64_t since_s;      /* the window's start */
};

struct fw_dash {
    char (*etag)[40];     /* per asset: "\"<32 hex>\"" */
    struct fail_slot fails[N_FAIL_SLOTS];
};

/* ---- assets -------------------------------------------------------------- */

static const char *ctype_of(const char *name)
{
    static const struct { const char *ext, *ctype; } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].ctype;
    return "application/octet-stream";
}

static int asset_index(const char *name)
{
    for (size_t i = 0; i < fw_dash_n_assets; i++)
        if (strcmp(fw_dash_assets[i].name, name) == 0)
            return (int)i;
    return -1;
}

struct fw_dash *fw_dash_new(void)
{
    struct fw_dash *dh = calloc(1, sizeof *dh);
    if (dh == NULL)
        return NULL;
    dh->etag = calloc(fw_dash_n_assets ? fw_dash_n_assets : 1,
                      sizeof *dh->etag);
    if (dh->etag == NULL) {
        free(dh);
        return NULL;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < fw_dash_n_assets; i++) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        EVP_Digest(fw_dash_assets[i].data, fw_dash_assets[i].len, md, &mdlen,
                   EVP_sha256(), NULL);
        char *e = dh->etag[i];
        *e++ = '"';
        for (int k = 0; k < 16; k++) {
            *e++ = hex[md[k] >> 4];
            *e++ = hex[md[k] & 15];
        }
        *e++ = '"';
        *e = '\0';
    }
    return dh;
}

void fw_dash_free(struct fw_dash *dh)
{
    if (dh == NULL)
        return;
    free(dh->etag);
    free(dh);
}

/* Does an If-None-Match header name etag (a list, or "*")? */
static bool etag_matches(const char *inm, const char *etag)
{
    if (inm == NULL)
        return false;
    if (strcmp(inm, "*") == 0)
        return true;
    size_t el = strlen(etag);
    for (const char *p = inm; (p = strstr(p, etag)) != NULL; p += el) {
        bool start = p == inm || p[-1] == ' ' || p[-1] == ',';
        bool end = p[el] == '\0' || p[el] == ',' || p[el] == ' ';
        if (start && end)
            return true;
    }
    return false;
}

/* Asset i, 200 or 304. Cached by the browser but revalidated each time
 * (no-cache): a new binary serves new assets at once. */
static void serve_asset(struct fw_dash *dh, struct fw_http_conn *c, int i)
{
    const struct fw_dash_asset *a = &fw_dash_assets[i];
    char hdr[1024];
    snprintf(hdr, sizeof hdr, "ETag: %s\r\nCache-Control: no-cache\r\n"
             FW_DASH_SECURITY_HEADERS, dh->etag[i]);
    if (etag_matches(fw_http_header(c, "if-none-match"), dh->etag[i]))
        fw_http_respond(c, 304, NULL, hdr, "", 0);
    else
        fw_http_respond(c, 200, ctype_of(a->name), hdr, (const char *)a->data,
                        a->len);
}

/* The login page, with msg (plain text, may be NULL) where it says
 * <!--MSG-->. Never cached: it may carry a message. */
static void serve_login(struct fw_http_conn *c, int status, const char *msg,
                        const char *extra)
{
    int i = asset_index("login.html");
    if (i < 0) {
        fw_http_respond_error(c, 500, "the login page is not built in");
        return;
    }
    const struct fw_dash_asset *a = &fw_dash_assets[i];
    static const char mark[] = "<!--MSG-->";
    const char *text = (const char *)a->data;
    const char *at = memmem(text, a->len, mark, sizeof mark - 1);
    struct fw_buf b = FW_BUF_INIT;
    if (at == NULL || msg == NULL) {
        fw_buf_append(&b, text, a->len);
    } else {
        fw_buf_append(&b, text, (size_t)(at - text));
        fw_buf_puts(&b, "<p class=\"err\" role=\"alert\">");
        for (const char *m = msg; *m; m++) {
            if (*m == '<')
                fw_buf_puts(&b, "&lt;");
            else if (*m == '&')
                fw_buf_puts(&b, "&amp;");
            else
                fw_buf_putc(&b, *m);
        }
        fw_buf_puts(&b, "</p>");
        size_t off = (size_t)(at - text) + sizeof mark - 1;
        fw_buf_append(&b, text + off, a->len - off);
    }
    char hdr[1024];
    snprintf(hdr, sizeof hdr, "%s" FW_DASH_SECURITY_HEADERS, extra ? extra : "");
    fw_http_respond(c, status, "text/html; charset=utf-8", hdr,
                    b.p ? b.p : "", b.len);
    fw_buf_fini(&b);
}

/* ---- sessions ------------------------------------------------------------ */

static void session_mac(char role, int64_t expiry_s, const char *token,
                        char out[65])
{
    static const char hex[] = "0123456789abcdef";
    char msg[64];
    int n = snprintf(msg, sizeof msg, "fundwatch-session v1.%c.%" PRId64, role,
                     expiry_s);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), token, (int)strlen(token), (const unsigned char *)msg,
         (size_t)n, md, &mdlen);
    for (unsigned k = 0; k < 32 && k < mdlen; k++) {
        out[2 * k] = hex[md[k] >> 4];
        out[2 * k + 1] = hex[md[k] & 15];
    }
    out[64] = '\0';
}

void fw_dash_session_make(int role, const char *token, int64_t expiry_s,
                          char *out, size_t n)
{
    char r = role == 2 ? 'w' : 'r';
    char mac[65];
    session_mac(r, expiry_s, token, mac);
    snprintf(out, n, "v1.%c.%" PRId64 ".%s", r, expiry_s, mac);
}

/* The value of cookie name in a Cookie header ("a=1; b=2"), copied into
 * out; false when absent or too long. */
static bool cookie_value(const char *header, const char *name, char *out,
                         size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        size_t len = strcspn(p, ";");
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vl = len - nl - 1;
            if (vl >= n)
                return false;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return true;
        }
        p += len;
    }
    return false;
}

int fw_dash_session_role(const char *cookie, const struct fw_api_auth *auth,
                         int64_t now_s)
{
    char v[160];
    if (cookie == NULL || !cookie_value(cookie, FW_DASH_COOKIE, v, sizeof v))
        return 0;
    /* v1.R.EXPIRY.MAC */
    if (strncmp(v, "v1.", 3) || (v[3] != 'r' && v[3] != 'w') || v[4] != '.')
        return 0;
    char *end;
    long long expiry = strtoll(v + 5, &end, 10);
    if (end == v + 5 || *end != '.' || strlen(end + 1) != 64 ||
        expiry <= now_s || expiry > now_s + FW_DASH_SESSION_S)
        return 0;
    const char *token = v[3] == 'w' ? auth->token : auth->read_token;
    if (token == NULL || *token == '\0')
        return 0;
    char mac[65];
    session_mac(v[3], expiry, token, mac);
    if (CRYPTO_memcmp(mac, end + 1, 64) != 0)
        return 0;
    return v[3] == 'w' ? 2 : 1;
}

/* ---- failed logins --------------------------------------------------------- */

static struct fail_slot *fail_slot(struct fw_dash *dh, const char *addr,
                                   int64_t now_s, bool create)
{
    struct fail_slot *oldest = &dh->fails[0];
    for (int i = 0; i < N_FAIL_SLOTS; i++) {
        struct fail_slot *f = &dh->fails[i];
        if (f->fails && now_s - f->since_s >= FW_DASH_FAIL_WINDOW_S)
            f->fails = 0; /* its window is over */
        if (f->fails && strcmp(f->addr, addr) == 0)
            return f;
        if (f->fails == 0 || f->since_s < oldest->since_s)
            oldest = f;
    }
    if (!create)
        return NULL;
    /* a free slot, or the oldest window's */
    snprintf(oldest->addr, sizeof oldest->addr, "%s", addr);
    oldest->fails = 0;
    oldest->since_s = now_s;
    return oldest;
}

/* ---- the routes ------------------------------------------------------------ */

/* A form POST from another origin is refused: the browser says where the
 * form was (Origin); it must be this host. */
static bool same_origin(struct fw_http_conn *c)
{
    const char *origin = fw_http_header(c, "origin");
    const char *host = fw_http_header(c, "host");
    if (origin == NULL || strcmp(origin, "null") == 0)
        return origin == NULL;
    const char *p = strstr(origin, "://");
    return p && host && strcmp(p + 3, host) == 0;
}

static void login(struct fw_dash *dh, struct fw_http_conn *c,
                  const struct fw_http_req *req,
                  const struct fw_api_auth *auth)
{
    char addr[64];
    fw_http_peer(c, addr, sizeof addr);
    int64_t now = (int64_t)time(NULL);
    if (!same_origin(c)) {
        fw_log_warn("http", NULL, "login from %s refused: a form of another "
                    "origin (%s)", addr, fw_http_header(c, "origin"));
        serve_login(c, 403, "登录请求来自其他网站,已拒绝。", NULL);
        return;
    }
    struct fail_slot *f = fail_slot(dh, addr, now, false);
    if (f && f->fails >= FW_DASH_MAX_FAILS) {
        int64_t wait = f->since_s + FW_DASH_FAIL_WINDOW_S - now;
        char hdr[64], msg[160];
        snprintf(hdr, sizeof hdr, "Retry-After: %" PRId64 "\r\n", wait);
        snprintf(msg, sizeof msg, "口令错误次数过多,请 %" PRId64 " 分钟后再试。",
                 (wait + 59) / 60);
        fw_log_warn("http", NULL, "login from %s refused: %u failures in "
                    "%d s", addr, f->fails, FW_DASH_FAIL_WINDOW_S);
        serve_login(c, 429, msg, hdr);
        return;
    }
    /* the form's body is urlencoded as a query is */
    struct fw_http_req form = *req;
    form.query = req->body ? req->body : "";
    char token[512];
    int len = fw_http_query(&form, "token", token, sizeof token);
    int role = 0;
    if (len > 0) {
        if (auth->token && *auth->token && strlen(auth->token) == (size_t)len &&
            CRYPTO_memcmp(token, auth->token, (size_t)len) == 0)
            role = 2;
        else if (auth->read_token && *auth->read_token &&
                 strlen(auth->read_token) == (size_t)len &&
                 CRYPTO_memcmp(token, auth->read_token, (size_t)len) == 0)
            role = 1;
    }
    explicit_bzero(token, sizeof token);
    if (role == 0) {
        f = fail_slot(dh, addr, now, true);
        f->fails++;
        fw_log_warn("http", NULL, "failed login from %s (%u in %d s)", addr,
                    f->fails, FW_DASH_FAIL_WINDOW_S);
        bool none = !(auth->token && *auth->token) &&
                    !(auth->read_token && *auth->read_token);
        serve_login(c, 401, none ? "本服务未配置访问口令(read_token 或 "
                                   "token),无法登录。"
                                 : "口令不正确,请重新输入。",
                    "WWW-Authenticate: Bearer\r\n");
        return;
    }
    if (f)
        f->fails = 0; /* its earlier mistakes are forgiven */
    char v[160], hdr[512];
    fw_dash_session_make(role, role == 2 ? auth->token : auth->read_token,
                         now + FW_DASH_SESSION_S, v, sizeof v);
    const char *proto = fw_http_header(c, "x-forwarded-proto");
    bool tls = proto && strcasecmp(proto, "https") == 0;
    snprintf(hdr, sizeof hdr,
             "Set-Cookie: " FW_DASH_COOKIE "=%s; Path=/; Max-Age=%d; "
             "HttpOnly; SameSite=Strict%s\r\nLocation: /\r\n", v,
             FW_DASH_SESSION_S, tls ? "; Secure" : "");
    fw_log_info("http", NULL, "login from %s with the %s token", addr,
                role == 2 ? "write" : "read");
    fw_http_respond(c, 303, "text/plain; charset=utf-8", hdr, "", 0);
}

static void logout(struct fw_http_conn *c)
{
    if (!same_origin(c)) {
        fw_http_respond_error(c, 403, "a form of another origin");
        return;
    }
    fw_http_respond(c, 303, "text/plain; charset=utf-8",
                    "Set-Cookie: " FW_DASH_COOKIE "=; Path=/; Max-Age=0; "
                    "HttpOnly; SameSite=Strict\r\nLocation: /\r\n",
                    "", 0);
}

bool fw_dash_handle(struct fw_dash *dh, struct fw_http_conn *c,
                    const struct fw_http_req *req,
                    const struct fw_api_cred *cred,
                    const struct fw_api_auth *auth)
{
    const char *path = req->path;
    bool get = !strcmp(req->method, "GET");
    bool post = !strcmp(req->method, "POST");
    bool login_path = !strcmp(path, "/login"), logout_path = !strcmp(path,
                                                                     "/logout");
    if (login_path || logout_path) {
        if (!post) {
            fw_http_respond(c, 405, "application/json", "Allow: POST\r\n",
                            "{\"error\":\"takes POST\"}\n", 23);
            return true;
        }
        if (login_path)
            login(dh, c, req, auth);
        else
            logout(c);
        return true;
    }
    bool root = !strcmp(path, "/") || !strcmp(path, "/index.html");
    bool asset = !strncmp(path, "/dash/", 6);
    if (!root && !asset)
        return false;
    if (!get) {
        fw_http_respond(c, 405, "application/json", "Allow: GET\r\n",
                        "{\"error\":\"takes GET\"}\n", 22);
        return true;
    }
    if (root) {
        char why[256];
        if (fw_api_read_access(cred, auth, why, sizeof why) != 0) {
            serve_login(c, 200, NULL, NULL);
            return true;
        }
        int i = asset_index("index.html");
        if (i < 0)
            fw_http_respond_error(c, 500, "the dashboard is not built in");
        else
            serve_asset(dh, c, i);
        return true;
    }
    int i = asset_index(path + 6);
    if (i < 0 || strcmp(path + 6, "index.html") == 0 ||
        strcmp(path + 6, "login.html") == 0)
        fw_http_respond_error(c, 404, "no such file");
    else
        serve_asset(dh, c, i);
    return true;
}
