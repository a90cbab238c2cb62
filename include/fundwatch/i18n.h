/* Messages a person reads, in their language (GNU gettext, domain
 * "fundwatch"). Code marks them with _() where they are used and N_()
 * where a table holds them for later; po/ holds the translations.
 *
 * rules/ stays free of I/O: fw_tr() is the identity until the program
 * installs a translator (daemon/i18n.c does, through gettext), so the
 * engine can be embedded and tested without catalogs. */
#ifndef FUNDWATCH_I18N_H
#define FUNDWATCH_I18N_H

/* The translation of msgid, or msgid itself. Never NULL, never fails;
 * the result lives as long as the program. */
const char *fw_tr(const char *msgid) __attribute__((format_arg(1)));

/* Installs the translator fw_tr() calls (NULL: the identity). Called once
 * at start, before any thread runs. */
void fw_i18n_set(const char *(*tr)(const char *msgid));

#define _(s) fw_tr(s)
#define N_(s) (s)

#endif
