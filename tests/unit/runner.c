/* The one unit-test runner (libuv's shape): every test of the generated list
 * runs in its own child with a timeout; output is TAP; the last line is
 * "unit: N passed, N failed". An argument selects tests by substring. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_ENTRY(name) int run_test_##name(void);
#include "test-list.h"
#undef TEST_ENTRY

static const struct {
    const char *name;
    int (*fn)(void);
} tests[] = {
#define TEST_ENTRY(name) {#name, run_test_##name},
#include "test-list.h"
#undef TEST_ENTRY
};

static int run_one(int i, unsigned timeout)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        alarm(timeout);
        int rc = tests[i].fn();
        fflush(stdout);
        fflush(stderr);
        _exit(rc == 0 ? 0 : 1);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFSIGNALED(st))
        fprintf(stderr, "  %s: killed by signal %d%s\n", tests[i].name,
                WTERMSIG(st), WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
    else
        fprintf(stderr, "  %s: exit status %d\n", tests[i].name, WEXITSTATUS(st));
    return 1;
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    const char *t = getenv("FW_TEST_TIMEOUT");
    unsigned timeout = t ? (unsigned)atoi(t) : 60;
    size_t n = sizeof tests / sizeof tests[0];
    int passed = 0, failed = 0, seq = 0;
    for (size_t i = 0; i < n; i++)
        if (!filter || strstr(tests[i].name, filter))
            seq++;
    printf("1..%d\n", seq);
    seq = 0;
    for (size_t i = 0; i < n; i++) {
        if (filter && !strstr(tests[i].name, filter))
            continue;
        seq++;
        if (run_one((int)i, timeout) == 0) {
            printf("ok %d - %s\n", seq, tests[i].name);
            passed++;
        } else {
            printf("not ok %d - %s\n", seq, tests[i].name);
            failed++;
        }
    }
    printf("# unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
