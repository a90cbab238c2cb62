/* POST /findings/{id}/ack: an officer's acknowledgement, done by the core's
 * worker (the store's one writer), its acknowledged event flushed to the
 * outbox at once; the HTTP answer comes when it is done. */
#ifndef FUNDWATCH_DAEMON_HTTP_ACK_H
#define FUNDWATCH_DAEMON_HTTP_ACK_H

#include "core.h"
#include "http.h"

/* Queues the acknowledgement of finding id (by and note checked by the
 * API: not empty) and answers c: 200 {"id", "acknowledged": {by, at,
 * note}}; 404 no such finding; 409 resolved, or acknowledged already;
 * 503 the store failed or the daemon is stopping. */
void fw_http_ack(struct fwd *d, struct fw_http_conn *c, const char *id,
                 const char *by, const char *note);

#endif
