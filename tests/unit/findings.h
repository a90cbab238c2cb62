/* What the engine's unit tests share: a callback that keeps every finding
 * as a JSON line and counts them (test_engine.c, test_engine_memo.c). */
#ifndef FUNDWATCH_TEST_FINDINGS_H
#define FUNDWATCH_TEST_FINDINGS_H

#include "fundwatch/buf.h"
#include "fundwatch/finding.h"

struct got {
    struct fw_buf json; /* every finding, one JSON line each */
    int n, errors;
};

static inline int collect(void *ud, const struct fw_finding *f)
{
    struct got *g = ud;
    g->n++;
    if (f->kind == FW_FK_ERROR)
        g->errors++;
    fw_finding_json(f, &g->json);
    fw_buf_putc(&g->json, '\n');
    return 0;
}

#endif
