/* The config's value parsers (config.h): durations, sizes, times of day,
 * listen addresses, each with a reason in plain words when the text is not
 * one. Shared with command-line options; no file is read here. */
#include "config.h"

#include "fundwatch/i18n.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- value parsers ------------------------------------------------------ */

/* Leading digits of s into *v; returns the end, or NULL with *why set. */
const char *fw__config_digits(const char *s, uint64_t *v, const char **why)
{
    if (*s < '0' || *s > '9') {
        *why = "not a whole number";
        return NULL;
    }
    uint64_t x = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) {
            *why = "too large";
            return NULL;
        }
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *v = x;
    return s;
}

int fw_config_parse_duration(const char *text, uint64_t *ms, const char **why)
{
    uint64_t v;
    const char *p = fw__config_digits(text, &v, why);
    if (p == NULL) {
        if (strcmp(*why, "too large") != 0)
            *why = "not a duration (500ms, 30s, 5m, 1h)";
        return FW_EINVAL;
    }
    uint64_t mul;
    if (!strcmp(p, "ms"))
        mul = 1;
    else if (!strcmp(p, "s"))
        mul = 1000;
    else if (!strcmp(p, "m"))
        mul = 60 * 1000;
    else if (!strcmp(p, "h"))
        mul = 60 * 60 * 1000;
    else {
        *why = *p ? "not a duration (500ms, 30s, 5m, 1h)"
                  : "a unit is needed (500ms, 30s, 5m, 1h)";
        return FW_EINVAL;
    }
    if (v > UINT64_MAX / mul) {
        *why = "too large";
        return FW_EINVAL;
    }
    *ms = v * mul;
    return 0;
}

int fw_config_parse_size(const char *text, uint64_t *bytes, const char **why)
{
    uint64_t v;
    const char *p = fw__config_digits(text, &v, why);
    if (p == NULL) {
        if (strcmp(*why, "too large") != 0)
            *why = "not a size (a whole number of bytes, or with K, M, G "
                   "or T: 64M)";
        return FW_EINVAL;
    }
    unsigned shift = 0;
    if (*p) {
        switch (*p) {
        case 'K': case 'k': shift = 10; break;
        case 'M': case 'm': shift = 20; break;
        case 'G': case 'g': shift = 30; break;
        case 'T': case 't': shift = 40; break;
        default: break;
        }
        if (shift == 0 || p[1] != '\0') {
            *why = "not a size (a whole number of bytes, or with K, M, G "
                   "or T: 64M)";
            return FW_EINVAL;
        }
    }
    if (v > (UINT64_MAX >> shift)) {
        *why = "too large";
        return FW_EINVAL;
    }
    *bytes = v << shift;
    return 0;
}

int fw_config_parse_clock(const char *text, unsigned *min, const char **why)
{
    const char *p = text;
    unsigned h = 0, m = 0;
    int nh = 0, nm = 0;
    for (; *p >= '0' && *p <= '9' && nh < 3; p++, nh++)
        h = h * 10 + (unsigned)(*p - '0');
    if (nh == 0 || nh > 2 || *p != ':')
        goto bad;
    for (p++; *p >= '0' && *p <= '9' && nm < 3; p++, nm++)
        m = m * 10 + (unsigned)(*p - '0');
    if (nm != 2 || *p != '\0')
        goto bad;
    if (h > 23 || m > 59) {
        *why = "not a time of day (00:00 to 23:59)";
        return FW_EINVAL;
    }
    *min = h * 60 + m;
    return 0;
bad:
    *why = "not a time of day (HH:MM, e.g. \"06:00\")";
    return FW_EINVAL;
}

int fw_config_parse_listen(const char *text, char **host, uint16_t *port,
                           const char **why)
{
    const char *colon, *h = text;
    size_t hlen;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':') {
            *why = N_("not an address (host:port, or [IPv6]:port)");
            return FW_EINVAL;
        }
        h = text + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL) {
            *why = N_("not an address (host:port, e.g. 127.0.0.1:9464; or "
                      "\"off\")");
            return FW_EINVAL;
        }
        if (memchr(text, ':', (size_t)(colon - text)) != NULL) {
            *why = N_("an IPv6 address goes in brackets: [::1]:9464");
            return FW_EINVAL;
        }
        hlen = (size_t)(colon - text);
    }
    char buf[INET6_ADDRSTRLEN + 1];
    if (hlen == 0 || hlen >= sizeof buf) {
        *why = hlen ? N_("not an IP address")
                    : N_("a host is needed (127.0.0.1, 0.0.0.0, [::1])");
        return FW_EINVAL;
    }
    memcpy(buf, h, hlen);
    buf[hlen] = '\0';
    unsigned char addr[16];
    const char *canon = buf;
    if (text[0] == '[') {
        if (inet_pton(AF_INET6, buf, addr) != 1) {
            *why = N_("not an IPv6 address in the brackets");
            return FW_EINVAL;
        }
    } else if (!strcmp(buf, "localhost")) {
        canon = "127.0.0.1";
    } else if (inet_pton(AF_INET, buf, addr) != 1) {
        *why = N_("the host must be an IP address (127.0.0.1, 0.0.0.0, "
                  "[::1]) or localhost");
        return FW_EINVAL;
    }
    uint64_t v;
    const char *end = fw__config_digits(colon + 1, &v, why);
    if (end == NULL || *end != '\0' || v < 1 || v > 65535) {
        *why = N_("the port must be a number from 1 to 65535");
        return FW_EINVAL;
    }
    char *copy = strdup(canon);
    if (copy == NULL) {
        *why = "out of memory";
        return FW_ENOMEM;
    }
    *host = copy;
    *port = (uint16_t)v;
    return 0;
}
