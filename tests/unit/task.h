/* The unit-test vocabulary, after libuv's test/task.h: TEST_IMPL defines a
 * test (the Makefile collects them into the one list), and every assertion
 * prints both values and the place that failed. A test returns 0 to pass. */
#ifndef FUNDWATCH_TEST_TASK_H
#define FUNDWATCH_TEST_TASK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_IMPL(name) int run_test_##name(void); int run_test_##name(void)

#define FW__FAIL(...)                                                        \
    do {                                                                     \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                    \
        fprintf(stderr, __VA_ARGS__);                                        \
        fprintf(stderr, "\n");                                               \
        fflush(stderr);                                                      \
        abort();                                                             \
    } while (0)

#define ASSERT(expr)                                                         \
    do {                                                                     \
        if (!(expr))                                                         \
            FW__FAIL("assertion failed: %s", #expr);                         \
    } while (0)

#define ASSERT_EQ_INT(a, b)                                                  \
    do {                                                                     \
        long long fw__a = (long long)(a), fw__b = (long long)(b);            \
        if (fw__a != fw__b)                                                  \
            FW__FAIL("%s == %s: %lld != %lld", #a, #b, fw__a, fw__b);        \
    } while (0)

#define ASSERT_NE_INT(a, b)                                                  \
    do {                                                                     \
        long long fw__a = (long long)(a), fw__b = (long long)(b);            \
        if (fw__a == fw__b)                                                  \
            FW__FAIL("%s != %s: both %lld", #a, #b, fw__a);                  \
    } while (0)

#define ASSERT_EQ_STR(a, b)                                                  \
    do {                                                                     \
        const char *fw__a = (a), *fw__b = (b);                               \
        if (fw__a == NULL || fw__b == NULL || strcmp(fw__a, fw__b) != 0)     \
            FW__FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b,                   \
                     fw__a ? fw__a : "(null)", fw__b ? fw__b : "(null)");    \
    } while (0)

/* a is a (pointer, length) pair's pointer; compares n bytes with string b */
#define ASSERT_EQ_MEM(a, n, b)                                               \
    do {                                                                     \
        const char *fw__a = (a), *fw__b = (b);                               \
        size_t fw__n = (n);                                                  \
        if (strlen(fw__b) != fw__n || memcmp(fw__a, fw__b, fw__n) != 0)      \
            FW__FAIL("%s == %s: \"%.*s\" != \"%s\"", #a, #b, (int)fw__n,      \
                     fw__a, fw__b);                                          \
    } while (0)

#define ASSERT_CONTAINS(hay, needle)                                         \
    do {                                                                     \
        const char *fw__h = (hay), *fw__n = (needle);                        \
        if (fw__h == NULL || strstr(fw__h, fw__n) == NULL)                   \
            FW__FAIL("%s contains %s: \"%s\" lacks \"%s\"", #hay, #needle,   \
                     fw__h ? fw__h : "(null)", fw__n);                       \
    } while (0)

#endif
