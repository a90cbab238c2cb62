/* The canonical field table and the exact value types: money in int64 fen,
 * dates as day numbers, decimals as scaled integers. Pure text → integer
 * conversions; never a binary float, never I/O. */
#include <string.h>

#include "fundwatch/error.h"
#include "fundwatch/i18n.h"
#include "fundwatch/record.h"
#include "money_int.h"

const struct fw_field_info fw_fields[FW__F_COUNT] = {
    [FW_F_KIND] = {"kind", "类型", FW_T_KIND},
    [FW_F_REGION] = {"region", "财政区划代码", FW_T_REGION},
    [FW_F_YEAR] = {"year", "预算年度", FW_T_YEAR},
    [FW_F_DEPT] = {"dept", "单位代码", FW_T_TEXT},
    [FW_F_DEPT_NAME] = {"dept_name", "单位名称", FW_T_TEXT},
    [FW_F_PROJECT] = {"project", "项目代码", FW_T_TEXT},
    [FW_F_PROJECT_NAME] = {"project_name", "项目名称", FW_T_TEXT},
    [FW_F_CATEGORY] = {"category", "项目类别", FW_T_TEXT},
    [FW_F_FUND_TYPE] = {"fund_type", "资金性质", FW_T_TEXT},
    [FW_F_IS_NEW] = {"is_new", "是否新增", FW_T_BOOL},
    [FW_F_BUDGET] = {"budget", "指标金额", FW_T_MONEY},
    [FW_F_PAID] = {"paid", "累计支付", FW_T_MONEY},
    [FW_F_BASE] = {"base", "挂钩基数", FW_T_MONEY},
    [FW_F_AS_OF] = {"as_of", "数据日期", FW_T_DATE},
    [FW_F_GOAL_RATE] = {"goal_rate", "绩效目标完成率", FW_T_HUNDREDTHS},
    [FW_F_SCORE] = {"score", "自评分", FW_T_HUNDREDTHS},
    [FW_F_REVIEW_SCORE] = {"review_score", "复核评分", FW_T_HUNDREDTHS},
    [FW_F_OUTPUT_PTS] = {"output_pts", "产出指标得分", FW_T_HUNDREDTHS},
    [FW_F_BENEFIT_PTS] = {"benefit_pts", "效益指标得分", FW_T_HUNDREDTHS},
    [FW_F_SATISFACTION_PTS] = {"satisfaction_pts", "满意度指标得分",
                               FW_T_HUNDREDTHS},
    [FW_F_REASON] = {"reason", "偏差原因", FW_T_TEXT},
    [FW_F_TASK] = {"task", "任务编号", FW_T_TEXT},
    [FW_F_TASK_NAME] = {"task_name", "任务名称", FW_T_TEXT},
    [FW_F_DUE] = {"due", "截止日期", FW_T_DATE},
    [FW_F_DONE_ON] = {"done_on", "完成日期", FW_T_DATE},
};

static const char *const rkind_names[FW__RK_COUNT] = {
    [FW_RK_EXECUTION] = "execution",
    [FW_RK_EVALUATION] = "evaluation",
    [FW_RK_TASK] = "task",
};

const char *fw_rkind_name(enum fw_rkind k)
{
    if ((unsigned)k >= FW__RK_COUNT)
        return "unknown";
    return rkind_names[k];
}

int fw_field_by_name(const char *name, size_t n)
{
    for (int i = 0; i < FW__F_COUNT; i++) {
        const char *c = fw_fields[i].name;
        if (strlen(c) == n && memcmp(c, name, n) == 0)
            return i;
    }
    return -1;
}

/* ---- helpers ----------------------------------------------------------- */

static inline void trim(const char **s, size_t *n)
{
    const char *p = *s;
    size_t k = *n;
    if (k == 0 || (p[0] != ' ' && p[0] != '\t' && p[k - 1] != ' ' &&
                   p[k - 1] != '\t'))
        return; /* nothing to trim, the usual case */
    while (k > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        k--;
    }
    while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
        k--;
    *s = p;
    *n = k;
}

static bool isdig(char c)
{
    return c >= '0' && c <= '9';
}

static const int64_t pow10_tab[19] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL,
    100000000LL, 1000000000LL, 10000000000LL, 100000000000LL,
    1000000000000LL, 10000000000000LL, 100000000000000LL,
    1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL,
};

/* The usual number, in one pass: [sign] digits with well-placed thousands
 * separators (when commas), [. at most scale digits], at most 18 digits
 * with the scale, so nothing can overflow. false when the text is anything
 * else: scaled_parse then judges it the long way. Whatever this accepts,
 * the long way accepts too, with the same value. */
static inline bool scaled_fast(const char *s, size_t n, int scale,
                               bool commas, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    uint64_t v = 0;
    size_t ndig = 0, group = 0, ncomma = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d <= 9) {
            v = v * 10u + d;
            ndig++;
            group++;
        } else if (s[i] == ',' && commas && ndig > 0 &&
                   (ncomma == 0 ? group <= 3 : group == 3)) {
            ncomma++;
            group = 0;
        } else if (s[i] == '.') {
            break;
        } else {
            return false;
        }
    }
    if (ncomma > 0 && group != 3)
        return false;
    size_t nfrac = 0;
    uint64_t frac = 0;
    if (i < n) { /* the point */
        for (i++; i < n; i++) {
            unsigned d = (unsigned char)s[i] - '0';
            if (d > 9)
                return false;
            frac = frac * 10u + d;
            nfrac++;
        }
    }
    if ((ndig == 0 && nfrac == 0) || (int)nfrac > scale ||
        ndig + (size_t)scale > 18)
        return false;
    uint64_t mag = v * (uint64_t)pow10_tab[scale] +
                   frac * (uint64_t)pow10_tab[scale - (int)nfrac];
    *out = neg ? -(int64_t)mag : (int64_t)mag;
    return true;
}

/* The shared core of money and decimals (the long way, for every text the
 * fast path leaves): [sign] digits [. digits], with
 * thousands separators between integer digits when `commas` (groups of
 * three only: "12,34" or a decimal comma "1234,56" is no number). Produces
 * value × 10^scale exactly within ±INT64_MAX, or a reason. */
int fw__scaled_parse_slow(const char *s, size_t n, int scale, bool commas,
                          int64_t *out, const char **why)
{
    bool neg = false;
    size_t i = 0;
    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    /* A text that is no number is called so, however long it is: look at
     * it whole before counting digits. */
    size_t ndig = 0, group = 0, ncomma = 0;
    bool bad_group = false;
    for (size_t k = i; k < n && s[k] != '.'; k++) {
        if (s[k] == ',' && commas && ndig > 0) {
            if (group == 0) {
                *why = N_("not a number");
                return FW_EINVAL;
            }
            if ((ncomma > 0 && group != 3) || group > 3)
                bad_group = true;
            ncomma++;
            group = 0;
            continue;
        }
        if (!isdig(s[k])) {
            *why = N_("not a number");
            return FW_EINVAL;
        }
        ndig++;
        group++;
    }
    if (ncomma > 0 && group == 0) {
        *why = N_("not a number");
        return FW_EINVAL;
    }
    if (ncomma > 0 && (bad_group || group != 3)) {
        *why = N_("a comma that is not a thousands separator (a decimal "
                  "comma? write 1234.56)");
        return FW_EINVAL;
    }
    uint64_t v = 0;
    const uint64_t lim = (uint64_t)INT64_MAX;
    for (; i < n && s[i] != '.'; i++) {
        char c = s[i];
        if (c == ',')
            continue;
        if (v > (lim - (uint64_t)(c - '0')) / 10u) {
            *why = N_("too large");
            return FW_EINVAL;
        }
        v = v * 10u + (uint64_t)(c - '0');
    }
    size_t nfrac = 0;
    uint64_t frac = 0;
    if (i < n) { /* s[i] == '.' */
        i++;
        for (size_t k = i; k < n; k++) {
            if (!isdig(s[k])) {
                *why = N_("not a number");
                return FW_EINVAL;
            }
        }
        for (; i < n; i++) {
            char c = s[i];
            if ((int)nfrac >= scale) {
                if (c != '0') {
                    *why = scale == 2 ? N_("more than two decimals")
                                      : N_("too many decimals");
                    return FW_EINVAL;
                }
                continue; /* trailing zeros past the scale are exact */
            }
            frac = frac * 10u + (uint64_t)(c - '0');
            nfrac++;
        }
    }
    if (ndig == 0 && nfrac == 0) {
        *why = N_("not a number");
        return FW_EINVAL;
    }
    frac *= (uint64_t)pow10_tab[scale - (int)nfrac];
    uint64_t p = (uint64_t)pow10_tab[scale];
    if (v > (lim - frac) / p) {
        *why = N_("too large");
        return FW_EINVAL;
    }
    uint64_t mag = v * p + frac;
    *out = neg ? -(int64_t)mag : (int64_t)mag;
    return 0;
}

static int scaled_parse(const char *s, size_t n, int scale, bool commas,
                        int64_t *out, const char **why)
{
    if (scaled_fast(s, n, scale, commas, out))
        return 0;
    return fw__scaled_parse_slow(s, n, scale, commas, out, why);
}

/* ---- money ------------------------------------------------------------- */

int fw_money_parse(const char *s, size_t n, enum fw_unit unit, int64_t *fen,
                   const char **why)
{
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    trim(&s, &n);
    bool neg = false;
    if (n > 0 && s[0] == '-') {
        neg = true;
        s++;
        n--;
    }
    /* ¥ (U+00A5) or ￥ (U+FFE5) */
    if (n >= 2 && (unsigned char)s[0] == 0xC2 && (unsigned char)s[1] == 0xA5) {
        s += 2;
        n -= 2;
    } else if (n >= 3 && (unsigned char)s[0] == 0xEF &&
               (unsigned char)s[1] == 0xBF && (unsigned char)s[2] == 0xA5) {
        s += 3;
        n -= 3;
    }
    if (n == 0) {
        *why = N_("not a number");
        return FW_EINVAL;
    }
    if (neg && (s[0] == '-' || s[0] == '+')) {
        *why = N_("not a number");
        return FW_EINVAL;
    }
    int scale = 2 + (int)unit;
    if (scale < 2 || scale > 10) {
        *why = N_("unknown unit");
        return FW_EINVAL;
    }
    int64_t v;
    int rc = scaled_parse(s, n, scale, true, &v, why);
    if (rc < 0) {
        if (rc == FW_EINVAL && unit != FW_UNIT_YUAN &&
            strcmp(*why, "too many decimals") == 0)
            *why = unit == FW_UNIT_WAN    ? N_("more than six decimals in 万元")
                   : unit == FW_UNIT_QIAN ? N_("more than five decimals in 千元")
                                          : N_("more than ten decimals in 亿元");
        return rc;
    }
    *fen = neg ? -v : v;
    return 0;
}

size_t fw_money_format(int64_t fen, char *out)
{
    return fw_decimal_format(fen, 2, out);
}

/* ---- decimals ---------------------------------------------------------- */

int fw_decimal_parse(const char *s, size_t n, int scale, bool pct,
                     int64_t *out, const char **why)
{
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    if (scale < 0 || scale > 18) {
        *why = N_("bad scale");
        return FW_EINVAL;
    }
    trim(&s, &n);
    if (pct && n > 0 && s[n - 1] == '%') {
        n--;
        trim(&s, &n);
    } else if (pct && n >= 3 && memcmp(s + n - 3, "\xEF\xBC\x85", 3) == 0) {
        n -= 3; /* fullwidth ％ */
        trim(&s, &n);
    }
    int rc = scaled_parse(s, n, scale, false, out, why);
    if (rc < 0 && strcmp(*why, "too many decimals") == 0 && scale == 2)
        *why = N_("more than two decimals");
    return rc;
}

size_t fw_decimal_format(int64_t v, int scale, char *out)
{
    char tmp[32];
    size_t k = 0;
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int digits = 0;
    do {
        tmp[k++] = (char)('0' + mag % 10u);
        mag /= 10u;
        digits++;
        if (scale > 0 && digits == scale)
            tmp[k++] = '.';
    } while (mag > 0 || digits <= scale);
    size_t n = 0;
    if (v < 0)
        out[n++] = '-';
    while (k > 0)
        out[n++] = tmp[--k];
    out[n] = '\0';
    return n;
}

/* ---- dates ------------------------------------------------------------- */

bool fw_date_valid(int y, int m, int d)
{
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
        return false;
    return d <= fw_month_days(y, m);
}

int fw_month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days[m - 1];
}

/* Howard Hinnant's days_from_civil. */
int32_t fw_date_from_ymd(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

void fw_date_ymd(int32_t days, int *y, int *m, int *d)
{
    int z = (int)days + 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int yy = yoe + era * 400;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    int dd = doy - (153 * mp + 2) / 5 + 1;
    int mm = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (mm <= 2);
    *m = mm;
    *d = dd;
}

/* Reads 1..max digits at s[*i]. */
static bool digits(const char *s, size_t n, size_t *i, size_t min, size_t max,
                   int *v)
{
    size_t k = 0;
    int x = 0;
    while (*i < n && k < max && isdig(s[*i])) {
        x = x * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    *v = x;
    return k >= min && !(*i < n && isdig(s[*i]));
}

static bool lit(const char *s, size_t n, size_t *i, const char *t)
{
    size_t k = strlen(t);
    if (n - *i < k || memcmp(s + *i, t, k) != 0)
        return false;
    *i += k;
    return true;
}

int fw_date_parse(const char *s, size_t n, int32_t *days, const char **why)
{
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    trim(&s, &n);
    int y, m, d;
    size_t i = 0;
    bool compact = n == 8;
    for (size_t k = 0; compact && k < 8; k++)
        compact = isdig(s[k]);
    if (compact) {
        y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
            (s[3] - '0');
        m = (s[4] - '0') * 10 + (s[5] - '0');
        d = (s[6] - '0') * 10 + (s[7] - '0');
        goto check;
    }
    /* 2024-06-30, 2024/06/30, 2024.06.30: what the long way below reads
     * the same, without its steps. */
    if (n == 10 && (s[4] == '-' || s[4] == '/' || s[4] == '.') &&
        s[7] == s[4] && isdig(s[0]) && isdig(s[1]) && isdig(s[2]) &&
        isdig(s[3]) && isdig(s[5]) && isdig(s[6]) && isdig(s[8]) &&
        isdig(s[9])) {
        y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
            (s[3] - '0');
        m = (s[5] - '0') * 10 + (s[6] - '0');
        d = (s[8] - '0') * 10 + (s[9] - '0');
        goto check;
    }
    if (!digits(s, n, &i, 4, 4, &y))
        goto bad;
    if (i < n && (s[i] == '-' || s[i] == '/' || s[i] == '.')) {
        char sep = s[i++];
        if (!digits(s, n, &i, 1, 2, &m))
            goto bad;
        if (i >= n || s[i] != sep)
            goto bad;
        i++;
        if (!digits(s, n, &i, 1, 2, &d))
            goto bad;
    } else if (lit(s, n, &i, "年")) {
        if (!digits(s, n, &i, 1, 2, &m) || !lit(s, n, &i, "月"))
            goto bad;
        if (!digits(s, n, &i, 1, 2, &d) || !lit(s, n, &i, "日"))
            goto bad;
    } else {
        goto bad;
    }
    if (i != n)
        goto bad;
check:
    if (!fw_date_valid(y, m, d)) {
        *why = N_("no such date");
        return FW_EINVAL;
    }
    *days = fw_date_from_ymd(y, m, d);
    return 0;
bad:
    *why = N_("not a date");
    return FW_EINVAL;
}

size_t fw_date_format(int32_t days, char *out)
{
    int y, m, d;
    fw_date_ymd(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        memcpy(out, "0000-00-00", 11);
        return 10;
    }
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
    return 10;
}
