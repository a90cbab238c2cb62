/* Choosing the language of messages at start: GNU gettext, domain
 * "fundwatch", catalogs found beside a build or in the installed locale
 * folder. Only LC_MESSAGES follows the environment: numbers, money and
 * dates are never written in a locale's way. */
#ifndef FUNDWATCH_DAEMON_I18N_H
#define FUNDWATCH_DAEMON_I18N_H

#include <stdbool.h>

/* Sets LC_MESSAGES from the environment and installs gettext as the
 * translator of fw_tr(). A zh* request (LC_ALL, LC_MESSAGES, LANG or
 * LANGUAGE, or --lang zh|en in argv, which wins) is honoured even when the system has no zh_CN locale
 * generated: the messages are UTF-8 Chinese all the same. */
void fw_i18n_init(int argc, char **argv);

/* "zh" or "en": the values --lang takes. */
bool fw_i18n_lang_ok(const char *lang);

#endif
