/* libFuzzer target: money, date and decimal parsing. Whatever parses must
 * print back to text that parses to the same value (round trip), in every
 * unit; nothing may crash or overflow (UBSan watches the arithmetic). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fundwatch/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    static const enum fw_unit units[] = {FW_UNIT_YUAN, FW_UNIT_WAN, FW_UNIT_YI};
    for (size_t u = 0; u < 3; u++) {
        int64_t fen, again;
        const char *why = NULL;
        if (fw_money_parse(s, size, units[u], &fen, &why) == 0) {
            char out[32];
            size_t n = fw_money_format(fen, out);
            if (fw_money_parse(out, n, FW_UNIT_YUAN, &again, &why) != 0 ||
                again != fen)
                abort();
        } else if (why == NULL) {
            abort();
        }
    }
    int32_t days, d2;
    const char *why = NULL;
    if (fw_date_parse(s, size, &days, &why) == 0) {
        char out[16];
        size_t n = fw_date_format(days, out);
        int y, m, d;
        fw_date_ymd(days, &y, &m, &d);
        if (!fw_date_valid(y, m, d) || fw_date_from_ymd(y, m, d) != days ||
            fw_date_parse(out, n, &d2, &why) != 0 || d2 != days)
            abort();
    }
    for (int scale = 0; scale <= 6; scale += 2) {
        int64_t v, w;
        if (fw_decimal_parse(s, size, scale, scale == 2, &v, &why) == 0) {
            char out[48];
            size_t n = fw_decimal_format(v, scale, out);
            if (fw_decimal_parse(out, n, scale, false, &w, &why) != 0 ||
                w != v)
                abort();
        }
    }
    return 0;
}
