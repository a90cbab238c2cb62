/* The key tail's memory (store_int.h): vectors of keys that grow without a
 * copy, and the in-place sort a merge puts them in key order with (store.c
 * merges; this file only holds and orders). */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Room for cap keys in v. A large one is a mapping of its own, on huge
 * pages, untouched until used, grown by mremap: the pages move, nothing is
 * copied, and the old and the new vector are never both in memory (a copy
 * made the tail's 16 MB of keys 32 MB for a moment, at its largest). */
int fw__store_vec_reserve(struct keyvec *v, size_t cap)
{
    if (cap <= v->cap)
        return 0;
    size_t bytes = cap * sizeof *v->v;
    void *p;
    if (bytes < HUGE_PAGE && !v->mapped) {
        if ((p = realloc(v->v, bytes)) == NULL)
            return FW_ENOMEM;
    } else if (v->mapped) {
        p = mremap(v->v, v->cap * sizeof *v->v, bytes, MREMAP_MAYMOVE);
        if (p == MAP_FAILED)
            return FW_ENOMEM;
        madvise(p, bytes, MADV_HUGEPAGE);
    } else {
        p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return FW_ENOMEM;
        madvise(p, bytes, MADV_HUGEPAGE); /* before the first touch */
        if (v->n)
            memcpy(p, v->v, v->n * sizeof *v->v); /* under 2 MiB */
        free(v->v);
        v->mapped = true;
    }
    v->v = p;
    v->cap = cap;
    return 0;
}

void fw__store_vec_fini(struct keyvec *v)
{
    if (v->mapped)
        munmap(v->v, v->cap * sizeof *v->v);
    else
        free(v->v);
    memset(v, 0, sizeof *v);
}

int fw__store_vec_push(struct keyvec *v, int64_t k, int64_t fid)
{
    if (v->n == v->cap && fw__store_vec_reserve(v, v->cap ? v->cap * 2 : 1024) < 0)
        return FW_ENOMEM;
    v->v[v->n++] = (struct tkey){k, fid};
    return 0;
}

/* ---- sorting keys in place -------------------------------------------------
 * glibc's qsort sorts by merging into a copy as large as the array: at a
 * merge that was 25 MB more, the daemon's largest moment. An introsort
 * needs no memory: quicksort (median of three, Hoare's partition),
 * heapsort past 2 log2(n) levels, insertion sort for short runs. */

typedef bool (*tkey_less)(const struct tkey *, const struct tkey *);

/* Key order, for a merge. */
static inline bool by_key(const struct tkey *x, const struct tkey *y)
{
    return x->k != y->k ? x->k < y->k : x->fid < y->fid;
}

/* The order keys were pushed in: by finding, its id key first. */
static inline bool by_push(const struct tkey *x, const struct tkey *y)
{
    int64_t a = tkey_fid(x), b = tkey_fid(y);
    return a != b ? a < b : !tkey_subj(x) && tkey_subj(y);
}

/* The sort's parts are inlined into one function per order (sort_by_key,
 * sort_by_push), so the comparison is inlined too: through a pointer it
 * was half of a merge's sort. */
#define SORT_INLINE static inline __attribute__((always_inline))

SORT_INLINE void tkey_swap(struct tkey *a, struct tkey *b)
{
    struct tkey t = *a;
    *a = *b;
    *b = t;
}

SORT_INLINE void isort(struct tkey *v, size_t n, tkey_less less)
{
    for (size_t i = 1; i < n; i++) {
        struct tkey x = v[i];
        size_t j = i;
        for (; j > 0 && less(&x, &v[j - 1]); j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

SORT_INLINE void sift(struct tkey *v, size_t i, size_t n, tkey_less less)
{
    for (size_t c; (c = 2 * i + 1) < n; i = c) {
        if (c + 1 < n && less(&v[c], &v[c + 1]))
            c++;
        if (!less(&v[i], &v[c]))
            return;
        tkey_swap(&v[i], &v[c]);
    }
}

SORT_INLINE void hsort(struct tkey *v, size_t n, tkey_less less)
{
    for (size_t i = n / 2; i-- > 0;)
        sift(v, i, n, less);
    for (size_t e = n; e-- > 1;) {
        tkey_swap(&v[0], &v[e]);
        sift(v, 0, e, less);
    }
}

/* Quicksort on the smaller part first, the larger waiting on a stack (at
 * most log2(n) of them). */
SORT_INLINE void introsort(struct tkey *v, size_t n, unsigned depth,
                           tkey_less less)
{
    struct {
        struct tkey *v;
        size_t n;
        unsigned depth;
    } stack[64];
    int top = 0;
    for (;;) {
        while (n > 16) {
            if (depth-- == 0) {
                hsort(v, n, less);
                n = 0;
                break;
            }
            size_t m = n / 2;
            if (less(&v[m], &v[0]))
                tkey_swap(&v[m], &v[0]);
            if (less(&v[n - 1], &v[m])) {
                tkey_swap(&v[n - 1], &v[m]);
                if (less(&v[m], &v[0]))
                    tkey_swap(&v[m], &v[0]);
            }
            struct tkey p = v[m];
            /* Hoare: [0, j] <= p <= [j + 1, n), 0 <= j < n - 1 */
            size_t i = 0, j = n - 1;
            for (;; i++, j--) {
                while (less(&v[i], &p))
                    i++;
                while (less(&p, &v[j]))
                    j--;
                if (i >= j)
                    break;
                tkey_swap(&v[i], &v[j]);
            }
            size_t left = j + 1;
            if (left < n - left) {
                stack[top].v = v + left;
                stack[top].n = n - left;
                n = left;
            } else {
                stack[top].v = v;
                stack[top].n = left;
                v += left;
                n -= left;
            }
            stack[top++].depth = depth;
        }
        isort(v, n, less);
        if (top == 0)
            return;
        top--;
        v = stack[top].v;
        n = stack[top].n;
        depth = stack[top].depth;
    }
}

static unsigned sort_depth(size_t n)
{
    unsigned depth = 0;
    for (size_t k = n; k > 1; k >>= 1)
        depth += 2;
    return depth;
}

void fw__store_sort_by_key(struct tkey *v, size_t n)
{
    introsort(v, n, sort_depth(n), by_key);
}

void fw__store_sort_by_push(struct tkey *v, size_t n)
{
    introsort(v, n, sort_depth(n), by_push);
}

int fw_store_key_sort(int64_t (*kv)[2], size_t n, unsigned depth)
{
    struct tkey *v = n ? malloc(n * sizeof *v) : NULL;
    if (n && v == NULL)
        return FW_ENOMEM;
    for (size_t i = 0; i < n; i++)
        v[i] = (struct tkey){kv[i][0], kv[i][1]};
    introsort(v, n, depth, by_key);
    for (size_t i = 0; i < n; i++) {
        kv[i][0] = v[i].k;
        kv[i][1] = v[i].fid;
    }
    free(v);
    return 0;
}
