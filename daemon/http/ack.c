/* POST /findings/{id}/ack (ack.h). */
#include "ack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fundwatch/buf.h"
#include "log.h"
#include "outbox.h"
#include "store/store.h"
#include "sys.h"

struct ack {
    struct fw_core_job job; /* first: the core hands it back */
    struct fw_http_conn *conn;
    char id[65], by[128], *note;
    int status;
    struct fw_buf answer;
};

/* (worker) */
static void ack_run(struct fwd *d, struct fw_core_job *j)
{
    struct ack *k = (struct ack *)j;
    struct fw_error err = {0};
    int64_t now = fw_wall_ms();
    int rc = fw_store_finding_ack(d->st, k->id, k->by, k->note, now, NULL,
                                  &err);
    struct fw_buf *b = &k->answer;
    if (rc < 0) {
        k->status = rc == FW_ENOENT                      ? 404
                    : rc == FW_ESTATE || rc == FW_EEXIST ? 409
                                                         : 503;
        fw_buf_puts(b, "{\"error\":");
        fw_buf_json_str(b, err.msg, strlen(err.msg));
        fw_buf_puts(b, "}\n");
        if (k->status == 503)
            fw_log_error("http", NULL, "POST /findings/%s/ack: %s", k->id,
                         err.msg);
        return;
    }
    fw_core_flush_outbox(d, NULL); /* its acknowledged event */
    k->status = 200;
    fw_buf_printf(b, "{\"id\":\"%s\",", k->id);
    fw_outbox_ack_json(b, k->by, now, k->note);
    fw_buf_puts(b, "}\n");
    fw_log_info("http", NULL, "finding %s acknowledged by %s", k->id, k->by);
}

/* (loop) */
static void ack_done(struct fwd *d, struct fw_core_job *j, bool ran)
{
    (void)d;
    struct ack *k = (struct ack *)j;
    if (ran)
        fw_http_respond(k->conn, k->status, "application/json", NULL,
                        k->answer.p ? k->answer.p : "{}\n", k->answer.len);
    else
        fw_http_respond_error(k->conn, 503, "fundwatch is stopping");
    fw_buf_fini(&k->answer);
    free(k->note);
    free(k);
}

void fw_http_ack(struct fwd *d, struct fw_http_conn *c, const char *id,
                 const char *by, const char *note)
{
    if (atomic_load(&d->stopping)) {
        fw_http_respond_error(c, 503, "fundwatch is stopping");
        return;
    }
    struct ack *k = calloc(1, sizeof *k);
    if (k == NULL || (k->note = strdup(note)) == NULL) {
        free(k);
        fw_http_respond_error(c, 503, "out of memory");
        return;
    }
    k->job.run = ack_run;
    k->job.done = ack_done;
    k->conn = c;
    snprintf(k->id, sizeof k->id, "%s", id);
    snprintf(k->by, sizeof k->by, "%s", by);
    fw_core_queue(d, &k->job);
}
