/* The outbox reopened on SIGUSR1 (reopen.h). The loop only notes the
 * signal and asks for the parts' turn; the worker appends what was
 * committed to the old file, opens the path again and records where the
 * new file stands (fw_outbox_reopen), between two feeds. */
#include "reopen.h"

#include <signal.h>
#include <stdlib.h>

#include "fundwatch/i18n.h"

struct fw_reopen {
    struct fwd *d;
    uv_signal_t sig;   /* (loop) */
    atomic_bool want;  /* set on the loop, taken on the worker */
};

static void on_usr1(uv_signal_t *s, int signum)
{
    (void)signum;
    struct fw_reopen *r = s->data;
    if (atomic_load(&r->d->stopping))
        return;
    atomic_store(&r->want, true);
    fw_core_want_between(r->d);
}

/* (worker) */
static bool between(void *ud, bool record)
{
    (void)record;
    struct fw_reopen *r = ud;
    if (!atomic_exchange(&r->want, false))
        return false;
    struct fwd *d = r->d;
    struct fw_error err = {0};
    bool rotated = false;
    if (fw_outbox_reopen(d->ob, d->st, &rotated, &err) < 0) {
        fw_log_error("outbox", NULL, _("SIGUSR1: the outbox was not reopened "
                     "(%s: %s); events go on to the file open now"),
                     err.place, err.msg);
        fw_core_error(d, "outbox: %s", err.msg);
        return false;
    }
    if (rotated)
        fw_log_info("outbox", NULL, _("SIGUSR1: %s reopened: a new file from "
                    "here on; the one moved away holds every event before"),
                    d->cfg.outbox);
    else
        fw_log_info("outbox", NULL, _("SIGUSR1: %s was not moved away: "
                    "writing on to the same file"), d->cfg.outbox);
    return true;
}

static void stop(void *ud)
{
    struct fw_reopen *r = ud;
    if (!uv_is_closing((uv_handle_t *)&r->sig))
        uv_close((uv_handle_t *)&r->sig, NULL);
}

int fw_reopen_open(struct fwd *d, struct fw_reopen **out)
{
    *out = NULL;
    struct fw_reopen *r = calloc(1, sizeof *r);
    if (r == NULL)
        return FW_ENOMEM;
    r->d = d;
    atomic_init(&r->want, false);
    uv_signal_init(&d->loop, &r->sig);
    r->sig.data = r;
    int rc = uv_signal_start(&r->sig, on_usr1, SIGUSR1);
    /* attached either way: the stop hook closes the handle */
    fw_core_attach(d, &(struct fw_core_part){
        .name = "reopen", .ud = r, .between = between, .stop = stop,
    });
    *out = r;
    if (rc < 0) {
        fw_log_error("main", NULL, "cannot watch SIGUSR1: %s",
                     uv_strerror(rc));
        return FW_EIO;
    }
    return 0;
}

void fw_reopen_free(struct fw_reopen *r)
{
    free(r);
}
