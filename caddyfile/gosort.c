/* SPDX-License-Identifier: Apache-2.0
 * Go's sort.SliceStable, step for step. Caddy sorts routes, sites and error routes with
 * "less" functions that are not strict weak orders (equal `vars` routes compare less
 * both ways), so only the same algorithm yields the same order as `caddy adapt`. */
#include "adapter_priv.h"

#include <string.h>

typedef struct {
    char *base;
    size_t size;
    bool (*less)(const void *, const void *, void *);
    void *ctx;
    char *tmp;
} sorter;

static bool lt(sorter *s, size_t i, size_t j)
{
    return s->less(s->base + i * s->size, s->base + j * s->size, s->ctx);
}

static void swp(sorter *s, size_t i, size_t j)
{
    memcpy(s->tmp, s->base + i * s->size, s->size);
    memcpy(s->base + i * s->size, s->base + j * s->size, s->size);
    memcpy(s->base + j * s->size, s->tmp, s->size);
}

static void insertion(sorter *s, size_t a, size_t b)
{
    for (size_t i = a + 1; i < b; i++)
        for (size_t j = i; j > a && lt(s, j, j - 1); j--)
            swp(s, j, j - 1);
}

static void swap_range(sorter *s, size_t a, size_t b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        swp(s, a + i, b + i);
}

static void rotate(sorter *s, size_t a, size_t m, size_t b)
{
    size_t i = m - a, j = b - m;
    while (i != j) {
        if (i > j) {
            swap_range(s, m - i, m, j);
            i -= j;
        } else {
            swap_range(s, m - i, m + j - i, i);
            j -= i;
        }
    }
    swap_range(s, m - i, m, i);
}

static void sym_merge(sorter *s, size_t a, size_t m, size_t b)
{
    if (m - a == 1) {
        size_t i = m, j = b;
        while (i < j) {
            size_t h = (i + j) >> 1;
            if (lt(s, h, a))
                i = h + 1;
            else
                j = h;
        }
        for (size_t k = a; k + 1 < i; k++)
            swp(s, k, k + 1);
        return;
    }
    if (b - m == 1) {
        size_t i = a, j = m;
        while (i < j) {
            size_t h = (i + j) >> 1;
            if (!lt(s, m, h))
                i = h + 1;
            else
                j = h;
        }
        for (size_t k = m; k > i; k--)
            swp(s, k, k - 1);
        return;
    }
    size_t mid = (a + b) >> 1, n = mid + m, start, r;
    if (m > mid) {
        start = n - b;
        r = mid;
    } else {
        start = a;
        r = m;
    }
    size_t p = n - 1;
    while (start < r) {
        size_t c = (start + r) >> 1;
        if (!lt(s, p - c, c))
            start = c + 1;
        else
            r = c;
    }
    size_t end = n - start;
    if (start < m && m < end)
        rotate(s, start, m, end);
    if (a < start && start < mid)
        sym_merge(s, a, start, mid);
    if (mid < end && end < b)
        sym_merge(s, mid, end, b);
}

void cc_cf_sort_stable(void *base, size_t n, size_t size,
                       bool (*less)(const void *x, const void *y, void *ctx), void *ctx)
{
    char tmp[256];
    if (size > sizeof(tmp) || n < 2)
        return;
    sorter s = {base, size, less, ctx, tmp};
    size_t bs = 20, a = 0, b = bs;
    while (b <= n) {
        insertion(&s, a, b);
        a = b;
        b += bs;
    }
    insertion(&s, a, n);
    while (bs < n) {
        a = 0;
        b = 2 * bs;
        while (b <= n) {
            sym_merge(&s, a, a + bs, b);
            a = b;
            b += 2 * bs;
        }
        if (a + bs < n)
            sym_merge(&s, a, a + bs, n);
        bs *= 2;
    }
}
