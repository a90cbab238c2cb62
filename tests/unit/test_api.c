/* The API's routes: each endpoint, each parameter check, the token. */
#include "task.h"

#include "http/api.h"

static struct fw_http_req req(const char *method, const char *target,
                              char *pathbuf)
{
    const char *q = strchr(target, '?');
    size_t pl = q ? (size_t)(q - target) : strlen(target);
    memcpy(pathbuf, target, pl);
    pathbuf[pl] = '\0';
    return (struct fw_http_req){.method = method, .target = target,
                                .path = pathbuf, .query = q ? q + 1 : "",
                                .body = "x", .body_len = 1};
}

static int parse(const char *method, const char *target, const char *auth,
                 struct fw_api_call *call, char *why)
{
    char path[256];
    struct fw_http_req r = req(method, target, path);
    struct fw_api_cred cred = {.authorization = auth};
    struct fw_api_auth a = {.token = "s3cret", .public_read = true};
    return fw_api_parse(&r, &cred, &a, call, why, 256);
}

TEST_IMPL(api_routes)
{
    struct fw_api_call c;
    char why[256];
    ASSERT_EQ_INT(parse("GET", "/healthz", NULL, &c, why), 0);
    ASSERT_EQ_INT(c.ep, FW_API_HEALTHZ);
    ASSERT_EQ_INT(parse("GET", "/readyz", NULL, &c, why), 0);
    ASSERT_EQ_INT(c.ep, FW_API_READYZ);
    ASSERT_EQ_INT(parse("GET", "/metrics", NULL, &c, why), 0);
    ASSERT_EQ_INT(c.ep, FW_API_METRICS);
    ASSERT_EQ_INT(parse("GET", "/policies", NULL, &c, why), 0);
    ASSERT_EQ_INT(c.ep, FW_API_POLICIES);
    ASSERT_EQ_INT(parse("GET", "/findings/0123456789abcdef0123456789abcdef",
                        NULL, &c, why), 0);
    ASSERT_EQ_INT(c.ep, FW_API_FINDING);
    ASSERT_EQ_STR(c.id, "0123456789abcdef0123456789abcdef");
    ASSERT_EQ_INT(parse("GET", "/nope", NULL, &c, why), 404);
    ASSERT_EQ_STR(why, "no such endpoint: /nope");
    ASSERT_EQ_INT(parse("GET", "/findings/XYZ", NULL, &c, why), 404);
    ASSERT_EQ_INT(parse("POST", "/healthz", NULL, &c, why), 405);
    ASSERT_EQ_STR(why, "/healthz takes GET");
    ASSERT_EQ_INT(parse("GET", "/reload", NULL, &c, why), 405);
    ASSERT_EQ_INT(parse("GET", "/healthz?x=1", NULL, &c, why), 400);
    ASSERT_EQ_STR(why, "unknown parameter \"x\"");
    return 0;
}

TEST_IMPL(api_findings_params)
{
    struct fw_api_call c;
    char why[256];
    ASSERT_EQ_INT(parse("GET", "/findings", NULL, &c, why), 0);
    ASSERT_EQ_INT(c.q.limit, FW_API_LIMIT_DEFAULT);
    ASSERT_EQ_INT(parse("GET", "/findings?region=50&kind=alert&level=red"
                        "&rule=cq_red_yellow&state=open&since=2024-06-30"
                        "&limit=5&after=42", NULL, &c, why), 0);
    ASSERT_EQ_STR(c.q.region, "50");
    ASSERT_EQ_STR(c.q.kind, "alert");
    ASSERT_EQ_STR(c.q.level, "red");
    ASSERT_EQ_STR(c.q.rule, "cq_red_yellow");
    ASSERT_EQ_STR(c.q.state, "open");
    ASSERT_EQ_STR(c.q.since, "2024-06-30");
    ASSERT_EQ_INT(c.q.limit, 5);
    ASSERT_EQ_INT(c.q.after, 42);
    ASSERT_EQ_INT(parse("GET", "/findings?since=2024-06-30T08:00:00Z", NULL,
                        &c, why), 0);
    struct { const char *t, *why; } bad[] = {
        {"/findings?region=5a", "region \"5a\": not a region code prefix (up to 9 digits)"},
        {"/findings?kind=warn", "kind \"warn\": expected alert, clawback, score, error or ops"},
        {"/findings?level=green", "level \"green\": expected red, yellow or info"},
        {"/findings?state=closed", "state \"closed\": expected open or resolved"},
        {"/findings?rule=a%20b", "rule \"a b\": not a rule id"},
        {"/findings?since=yesterday", "since \"yesterday\": expected 2024-06-30 or 2024-06-30T08:00:00Z"},
        {"/findings?limit=0", "limit \"0\": expected 1 to 1000"},
        {"/findings?limit=1001", "limit \"1001\": expected 1 to 1000"},
        {"/findings?after=-1", "after \"-1\": expected the next_after of a previous page"},
        {"/findings?colour=red", "unknown parameter \"colour\""},
        {"/findings?region=1234567890123456789", "parameter \"region\" is too long"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_EQ_INT(parse("GET", bad[i].t, NULL, &c, why), 400);
        ASSERT_EQ_STR(why, bad[i].why);
    }
    return 0;
}

TEST_IMPL(api_post_needs_token)
{
    struct fw_api_call c;
    char why[256];
    ASSERT_EQ_INT(parse("POST", "/reload", NULL, &c, why), 401);
    ASSERT_EQ_STR(why, "an Authorization: Bearer <token> header is required");
    ASSERT_EQ_INT(parse("POST", "/reload", "Bearer wrong", &c, why), 401);
    ASSERT_EQ_STR(why, "wrong token");
    ASSERT_EQ_INT(parse("POST", "/reload", "Bearer s3cret", &c, why), 0);
    ASSERT_EQ_INT(c.ep, FW_API_RELOAD);
    ASSERT_EQ_INT(parse("POST", "/feeds?name=a.csv", "Bearer s3cret", &c, why), 0);
    ASSERT_EQ_INT(c.ep, FW_API_FEEDS);
    ASSERT_EQ_STR(c.name, "a.csv");
    ASSERT_EQ_INT(parse("POST", "/feeds?name=../x.csv", "Bearer s3cret", &c, why), 400);
    ASSERT_EQ_INT(parse("POST", "/feeds?name=.hidden", "Bearer s3cret", &c, why), 400);

    char path[64];
    struct fw_http_req r = req("POST", "/reload", path);
    struct fw_api_cred cx = {.authorization = "Bearer x"};
    struct fw_api_auth none = {0};
    ASSERT_EQ_INT(fw_api_parse(&r, &cx, &none, &c, why, sizeof why), 403);
    ASSERT_CONTAINS(why, "no api token is set");
    r = req("POST", "/feeds", path);
    r.body_len = 0;
    struct fw_api_cred cs = {.authorization = "Bearer s3cret"};
    struct fw_api_auth as = {.token = "s3cret"};
    ASSERT_EQ_INT(fw_api_parse(&r, &cs, &as, &c, why, sizeof why), 400);
    ASSERT_CONTAINS(why, "no body");
    return 0;
}
