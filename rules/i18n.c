/* fw_tr(): the one place the engine's messages pass to be translated. The
 * translator itself is the program's (see include/fundwatch/i18n.h). */
#include "fundwatch/i18n.h"

#include <stddef.h>

static const char *(*translator)(const char *msgid);

const char *fw_tr(const char *msgid)
{
    return translator ? translator(msgid) : msgid;
}

void fw_i18n_set(const char *(*tr)(const char *msgid))
{
    translator = tr;
}
