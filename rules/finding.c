/* Findings: the names of kinds and levels, the deterministic id, and the JSON
 * line of the output contract (DESIGN.md, Findings). Pure: no I/O. */
#include "fundwatch/finding.h"
#include "fundwatch/buf.h"
#include "fundwatch/error.h"
#include "fundwatch/record.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[FW__FK_COUNT] = {
    [FW_FK_ALERT] = "alert",   [FW_FK_CLAWBACK] = "clawback",
    [FW_FK_SCORE] = "score",   [FW_FK_ERROR] = "error",
    [FW_FK_OPS] = "ops",
};

static const char *const level_names[FW__LV_COUNT] = {
    [FW_LV_NONE] = NULL, [FW_LV_INFO] = "info",
    [FW_LV_YELLOW] = "yellow", [FW_LV_RED] = "red",
};

const char *fw_fkind_name(enum fw_fkind k)
{
    return (unsigned)k < FW__FK_COUNT ? kind_names[k] : "?";
}

const char *fw_level_name(enum fw_level l)
{
    return (unsigned)l < FW__LV_COUNT ? level_names[l] : NULL;
}

int fw_fkind_parse(const char *s)
{
    for (int i = 0; i < FW__FK_COUNT; i++)
        if (s && strcmp(s, kind_names[i]) == 0)
            return i;
    return -1;
}

int fw_level_parse(const char *s)
{
    for (int i = 1; i < FW__LV_COUNT; i++)
        if (s && strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

/* Each part is hashed as its length (8 bytes, little-endian) and its bytes,
 * so ("ab","c") and ("a","bc") differ and NULL equals "". The parts are
 * laid end to end and hashed in one update (an update per part was most of
 * an id's cost outside SHA-256 itself). Writes 8 + n bytes at out. */
static size_t put_part(unsigned char *out, const char *s, size_t n)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)((uint64_t)n >> (8 * i));
    if (n)
        memcpy(out + 8, s, n);
    return 8 + n;
}

/* SHA-256 fetched once: an implicit fetch on every init (EVP_sha256())
 * was a sixth of the cost of an id. Kept for the process's life; threads
 * that race here each fetch, one keeps its own and the others free theirs. */
static EVP_MD *sha256_md;
static const EVP_MD *sha256(void)
{
    EVP_MD *md = __atomic_load_n(&sha256_md, __ATOMIC_ACQUIRE);
    if (md)
        return md;
    EVP_MD *want = EVP_MD_fetch(NULL, "SHA256", NULL), *none = NULL;
    if (!want)
        return EVP_sha256();
    if (__atomic_compare_exchange_n(&sha256_md, &none, want, false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return want;
    EVP_MD_free(want);
    return none;
}

void fw_finding_make_id(const char *policy, const char *rule,
                        const char *region, const char *dept,
                        const char *project, const char *period,
                        char out[FW_ID_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    unsigned int mdlen = 0;
    const char *parts[6] = {policy, rule, region, dept, project, period};
    size_t n[6], need = 0;
    for (int i = 0; i < 6; i++)
        need += 8 + (n[i] = parts[i] ? strlen(parts[i]) : 0);
    unsigned char small[1024], *buf = small;
    if (need > sizeof small && (buf = malloc(need)) == NULL)
        goto fail;
    size_t len = 0;
    for (int i = 0; i < 6; i++)
        len += put_part(buf + len, parts[i], n[i]);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_DigestInit_ex(c, sha256(), NULL) &&
              EVP_DigestUpdate(c, buf, len) &&
              EVP_DigestFinal_ex(c, md, &mdlen);
    EVP_MD_CTX_free(c);
    if (buf != small)
        free(buf);
    if (!ok)
        goto fail;
    for (int i = 0; i < FW_ID_HEX / 2; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[FW_ID_HEX] = '\0';
    return;
fail:
    /* Only out of memory gets here; an all-zero id is visibly wrong. */
    memset(out, '0', FW_ID_HEX);
    out[FW_ID_HEX] = '\0';
}

/* ,"key": — the keys are ours and need no escaping. */
static int put_key(struct fw_buf *b, const char *key)
{
    size_t n = strlen(key);
    if (fw_buf_reserve(b, n + 4) < 0)
        return FW_ENOMEM;
    char *o = b->p + b->len;
    *o++ = ',';
    *o++ = '"';
    memcpy(o, key, n);
    o += n;
    *o++ = '"';
    *o++ = ':';
    *o = '\0';
    b->len += n + 4;
    return 0;
}

static int put_str(struct fw_buf *b, const char *key, const char *v)
{
    if (!v)
        return 0;
    int rc = put_key(b, key);
    return rc ? rc : fw_buf_json_str(b, v, strlen(v));
}

/* A finding as one JSON object, built by appends: it is rendered for every
 * finding (replay's output, the daemon's outbox), so no printf here. */
int fw_finding_json(const struct fw_finding *f, struct fw_buf *b)
{
    char num[32];
    int rc = fw_buf_puts(b, "{\"id\":\"");
    if (!rc) rc = fw_buf_puts(b, f->id);
    if (!rc) rc = fw_buf_puts(b, "\",\"kind\":\"");
    if (!rc) rc = fw_buf_puts(b, fw_fkind_name(f->kind));
    if (!rc) rc = fw_buf_putc(b, '"');
    if (!rc && fw_level_name(f->level)) {
        rc = fw_buf_puts(b, ",\"level\":\"");
        if (!rc) rc = fw_buf_puts(b, fw_level_name(f->level));
        if (!rc) rc = fw_buf_putc(b, '"');
    }
    if (!rc) rc = put_str(b, "policy", f->policy);
    if (!rc) rc = put_str(b, "policy_version", f->policy_version);
    if (!rc) rc = put_str(b, "rule", f->rule);
    if (!rc) rc = put_str(b, "region", f->region);
    if (!rc) rc = put_str(b, "dept", f->dept);
    if (!rc) rc = put_str(b, "project", f->project);
    if (!rc) rc = put_str(b, "task", f->task);
    if (!rc && f->has_as_of) {
        fw_date_format(f->as_of, num);
        rc = put_str(b, "as_of", num);
    }
    if (!rc && f->has_amount) {
        fw_money_format(f->amount, num);
        rc = put_str(b, "amount", num);
    }
    if (!rc) rc = put_str(b, "ratio", f->ratio);
    if (!rc && f->has_score) {
        fw_decimal_format(f->score, 2, num);
        rc = put_str(b, "score", num);
    }
    if (!rc) rc = put_str(b, "grade", f->grade);
    if (!rc) rc = put_str(b, "message", f->message);
    if (!rc && f->feed) {
        rc = fw_buf_puts(b, ",\"source\":{\"feed\":");
        if (!rc) rc = fw_buf_json_str(b, f->feed, strlen(f->feed));
        if (!rc && f->line > 0 && f->line <= INT64_MAX) {
            rc = fw_buf_puts(b, ",\"line\":");
            if (!rc) rc = fw_buf_put_i64(b, (long long)f->line);
        }
        if (!rc) rc = fw_buf_putc(b, '}');
    }
    if (!rc) rc = put_str(b, "title", f->title);
    if (!rc) rc = put_str(b, "dept_name", f->dept_name);
    if (!rc) rc = put_str(b, "project_name", f->project_name);
    if (!rc) rc = put_str(b, "rule_source", f->rule_source);
    if (!rc && f->evidence)
{
        rc = put_key(b, "evidence");
        if (!rc) rc = fw_buf_puts(b, f->evidence);
    }
    if (!rc) rc = fw_buf_putc(b, '}');
    return rc;
}
