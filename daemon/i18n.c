/* The gettext side of fw_tr() (see i18n.h). The catalog folder is, in
 * order: $FUNDWATCH_LOCALEDIR; "locale" beside the binary (a build tree:
 * build/locale/zh_CN/LC_MESSAGES/fundwatch.mo); the installed LOCALEDIR. */
#include "i18n.h"

#include <libintl.h>
#include <limits.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fundwatch/i18n.h"

#ifndef FW_LOCALEDIR
#define FW_LOCALEDIR "/usr/share/locale"
#endif

static const char *tr_gettext(const char *msgid)
{
    return dgettext("fundwatch", msgid);
}

/* The first of the variables POSIX consults for LC_MESSAGES that is set. */
static const char *asked(void)
{
    static const char *const vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return v;
    }
    return "";
}

static bool is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void localedir(const char *argv0, char *out, size_t n)
{
    const char *env = getenv("FUNDWATCH_LOCALEDIR");
    if (env && *env) {
        snprintf(out, n, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0 && argv0 && strchr(argv0, '/'))
        len = (ssize_t)snprintf(exe, sizeof exe, "%s", argv0);
    if (len > 0 && (size_t)len < sizeof exe) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            if ((size_t)snprintf(out, n, "%s/locale", exe) < n &&
                is_dir(out))
                return;
        }
    }
    snprintf(out, n, "%s", FW_LOCALEDIR);
}

bool fw_i18n_lang_ok(const char *lang)
{
    return strcmp(lang, "zh") == 0 || strcmp(lang, "en") == 0;
}

/* --lang zh|en anywhere in argv (--lang X or --lang=X) wins over the
 * environment: it becomes LANGUAGE, which gettext consults first. A bad
 * value is left to the command's option parser to refuse. */
static void lang_option(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--") == 0)
            return;
        if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc)
            v = argv[i + 1];
        else if (strncmp(argv[i], "--lang=", 7) == 0)
            v = argv[i] + 7;
        if (v && fw_i18n_lang_ok(v)) {
            setenv("LANGUAGE", strcmp(v, "zh") == 0 ? "zh_CN" : "en", 1);
            if (strcmp(v, "en") == 0) {
                unsetenv("LC_ALL");
                unsetenv("LC_MESSAGES");
                setenv("LANG", "C.UTF-8", 1);
            }
        }
    }
}

void fw_i18n_init(int argc, char **argv)
{
    const char *argv0 = argc > 0 ? argv[0] : NULL;
    lang_option(argc, argv);
    const char *got = setlocale(LC_MESSAGES, "");
    const char *want = asked();
    const char *language = getenv("LANGUAGE");
    bool zh = strncmp(want, "zh", 2) == 0 ||
              (language && strncmp(language, "zh", 2) == 0);
    /* Containers and minimal hosts often lack a generated zh_CN locale:
     * setlocale then leaves "C", under which gettext translates nothing.
     * C.UTF-8 always exists on Debian, and gettext honours LANGUAGE
     * under it. */
    if (zh && (got == NULL || strcmp(got, "C") == 0 ||
               strcmp(got, "POSIX") == 0)) {
        if (setlocale(LC_MESSAGES, "C.UTF-8") != NULL &&
            !(language && *language))
            setenv("LANGUAGE", strncmp(want, "zh", 2) == 0 ? want : "zh_CN",
                   1);
    }
    char dir[PATH_MAX];
    localedir(argv0, dir, sizeof dir);
    bindtextdomain("fundwatch", dir);
    bind_textdomain_codeset("fundwatch", "UTF-8");
    fw_i18n_set(tr_gettext);
}
