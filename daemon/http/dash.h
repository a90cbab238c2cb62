/* The dashboard (dash.c): the finance bureau's pages, served by the daemon
 * at / from assets embedded in the binary (the files of dash/, turned into C arrays at
 * build time by dash/embed.c), the login that sets a session cookie, and
 * the security headers every page carries. The pages only read the JSON
 * API; this module knows no store and no engine. */
#ifndef FUNDWATCH_DAEMON_HTTP_DASH_H
#define FUNDWATCH_DAEMON_HTTP_DASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "http.h"

/* One embedded file (generated: dash_assets.c). */
struct fw_dash_asset {
    const char *name;              /* "app.js" */
    const unsigned char *data;
    size_t len;
};
extern const struct fw_dash_asset fw_dash_assets[];
extern const size_t fw_dash_n_assets;

/* The session cookie's name, and how long a login lasts. */
#define FW_DASH_COOKIE "fw_session"
#define FW_DASH_SESSION_S (12 * 3600)
/* Failed logins from one address before it must wait, and the window. */
#define FW_DASH_MAX_FAILS 5
#define FW_DASH_FAIL_WINDOW_S 300

/* The headers every dashboard answer carries: a strict
 * Content-Security-Policy (no inline script or style, nothing from another
 * origin), nosniff, no referrer to other sites (same-origin: a form's
 * Origin header then names this host), no framing. */
#define FW_DASH_SECURITY_HEADERS                                            \
    "Content-Security-Policy: default-src 'none'; script-src 'self'; "    \
    "style-src 'self'; img-src 'self'; connect-src 'self'; "              \
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"     \
    "X-Content-Type-Options: nosniff\r\n"                                 \
    "Referrer-Policy: same-origin\r\n"                                    \
    "X-Frame-Options: DENY\r\n"

struct fw_dash;

/* The assets' ETags are computed here, once. NULL when out of memory. */
struct fw_dash *fw_dash_new(void);
void fw_dash_free(struct fw_dash *dh);

/* Answers GET / (the app, or the login page when the request may not
 * read), GET /dash/NAME (an asset; If-None-Match → 304), POST /login
 * (form field "token": a session cookie and 303 to /, or the login page
 * again with 401; too many failures from one address: 429) and POST
 * /logout. Returns false, answering nothing, for any other path. */
bool fw_dash_handle(struct fw_dash *dh, struct fw_http_conn *c,
                    const struct fw_http_req *req,
                    const struct fw_api_cred *cred,
                    const struct fw_api_auth *auth);

/* The role a Cookie header's session grants at now_s: 2 the write token's,
 * 1 the read token's, 0 none (absent, expired, forged, or its token no
 * longer configured). A session is "v1.ROLE.EXPIRY.HMAC": HMAC-SHA256
 * keyed by the role's token, so changing a token ends its sessions and
 * the daemon keeps no session table. */
int fw_dash_session_role(const char *cookie, const struct fw_api_auth *auth,
                         int64_t now_s);
/* Writes a session value for role (1 or 2) keyed by token, valid until
 * expiry_s, into out (at least 128 bytes). */
void fw_dash_session_make(int role, const char *token, int64_t expiry_s,
                          char *out, size_t n);

#endif
