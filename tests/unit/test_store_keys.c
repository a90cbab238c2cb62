/* daemon/store/store.c's in-place sort of the key tail for a merge (it
 * replaced glibc's qsort, which merged into a copy as large as the tail),
 * through fw_store_key_sort: every order, every depth limit (0: heapsort
 * at once), against a plain check of the result. */
#include "task.h"

#include <stdbool.h>

#include "store/store.h"

struct tkey {
    int64_t k, fid;
};
#define TKEY_SUBJ ((int64_t)1 << 62)

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* v sorted by (k, fid), and the same multiset as w (sums and xors of both
 * fields, plus each entry found by a binary search). */
static void check_sorted(const struct tkey *v, const struct tkey *w, size_t n)
{
    uint64_t s1 = 0, s2 = 0, x1 = 0, x2 = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            bool ok = v[i - 1].k < v[i].k ||
                      (v[i - 1].k == v[i].k && v[i - 1].fid <= v[i].fid);
            if (!ok)
                FW__FAIL("not sorted at %zu of %zu", i, n);
        }
        s1 += (uint64_t)v[i].k * 3 + (uint64_t)v[i].fid;
        s2 += (uint64_t)w[i].k * 3 + (uint64_t)w[i].fid;
        x1 ^= (uint64_t)v[i].k ^ ((uint64_t)v[i].fid << 1);
        x2 ^= (uint64_t)w[i].k ^ ((uint64_t)w[i].fid << 1);
    }
    ASSERT(s1 == s2 && x1 == x2);
    for (size_t i = 0; i < n; i++) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t m = lo + (hi - lo) / 2;
            if (v[m].k < w[i].k || (v[m].k == w[i].k && v[m].fid < w[i].fid))
                lo = m + 1;
            else
                hi = m;
        }
        ASSERT(lo < n && v[lo].k == w[i].k && v[lo].fid == w[i].fid);
    }
}

enum { SHAPES = 7 };

static void fill(struct tkey *v, size_t n, int shape)
{
    for (size_t i = 0; i < n; i++) {
        int64_t k;
        switch (shape) {
        case 0: k = (int64_t)rnd(); break;              /* random, signed */
        case 1: k = (int64_t)i; break;                  /* sorted */
        case 2: k = (int64_t)(n - i); break;            /* reversed */
        case 3: k = 42; break;                          /* all equal */
        case 4: k = (int64_t)(i < n / 2 ? i : n - i); break; /* organ pipe */
        case 5: k = (int64_t)(rnd() % 4); break;        /* few keys */
        default: k = i % 2 ? INT64_MIN : INT64_MAX; break;
        }
        v[i] = (struct tkey){k, (int64_t)(rnd() % 1000) |
                                    (rnd() % 2 ? TKEY_SUBJ : 0)};
    }
}

TEST_IMPL(store_key_sort)
{
    static const size_t sizes[] = {0, 1, 2, 3, 16, 17, 100, 1000, 20000};
    static const unsigned depths[] = {0, 1, 3, 64};
    size_t max = 20000;
    struct tkey *v = malloc(max * sizeof *v), *w = malloc(max * sizeof *w);
    int64_t(*kv)[2] = malloc(max * sizeof *kv);
    ASSERT(v && w && kv);
    for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++)
        for (int shape = 0; shape < SHAPES; shape++)
            for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
                size_t n = sizes[a];
                fill(w, n, shape);
                for (size_t i = 0; i < n; i++) {
                    kv[i][0] = w[i].k;
                    kv[i][1] = w[i].fid;
                }
                ASSERT_EQ_INT(fw_store_key_sort(kv, n, depths[d]), 0);
                for (size_t i = 0; i < n; i++)
                    v[i] = (struct tkey){kv[i][0], kv[i][1]};
                check_sorted(v, w, n);
            }
    free(v);
    free(w);
    free(kv);
    return 0;
}
