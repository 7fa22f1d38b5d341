/* SPDX-License-Identifier: Apache-2.0
 * Region allocator (see arena.h). Blocks are chained; large requests get their own
 * block so one big string does not waste a chunk. */
#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct block {
    struct block *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} block;

typedef struct cleanup {
    struct cleanup *next;
    void (*fn)(void *);
    void *arg;
} cleanup;

struct cc_arena {
    block *head;
    cleanup *cleanups;
    size_t chunk, total;
};

static void oom(void)
{
    fputs("caddy-c: out of memory\n", stderr);
    abort();
}

void *cc_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *cc_xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        oom();
    return p;
}

void *cc_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}

char *cc_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(cc_xmalloc(n), s, n);
}

cc_arena *cc_arena_new(size_t chunk)
{
    cc_arena *a = cc_xcalloc(1, sizeof(*a));
    a->chunk = chunk ? chunk : 16384;
    return a;
}

void cc_arena_free(cc_arena *a)
{
    if (!a)
        return;
    for (cleanup *c = a->cleanups; c; c = c->next)
        c->fn(c->arg);
    block *b = a->head;
    while (b) {
        block *n = b->next;
        free(b);
        b = n;
    }
    free(a);
}

void cc_arena_reset(cc_arena *a)
{
    if (!a)
        return;
    for (cleanup *c = a->cleanups; c; c = c->next)
        c->fn(c->arg);
    a->cleanups = NULL;
    /* keep one standard block, the one a fresh arena would allocate first; dedicated
     * big blocks and any further chunks go back to malloc */
    block *keep = a->head && a->head->size == a->chunk ? a->head : NULL;
    block *b = a->head;
    while (b) {
        block *n = b->next;
        if (b != keep)
            free(b);
        b = n;
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
    a->total = 0;
}

void *cc_arena_alloc_raw(cc_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t sz = n > a->chunk / 4 ? n : a->chunk;
        block *nb = malloc(sizeof(block) + sz);
        if (!nb)
            oom();
        nb->size = sz;
        nb->used = 0;
        if (sz == a->chunk || !b) {
            nb->next = b;
            a->head = nb;
        } else {
            /* a dedicated big block goes behind the current one, which keeps its free space */
            nb->next = b->next;
            b->next = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    a->total += n;
    return p;
}

void *cc_arena_alloc(cc_arena *a, size_t n)
{
    void *p = cc_arena_alloc_raw(a, n);
    memset(p, 0, n);
    return p;
}

void *cc_arena_grow(cc_arena *a, void *old, size_t old_n, size_t new_n)
{
    void *p = cc_arena_alloc(a, new_n);
    if (old && old_n)
        memcpy(p, old, old_n < new_n ? old_n : new_n);
    return p;
}

char *cc_arena_strndup(cc_arena *a, const char *s, size_t n)
{
    char *p = cc_arena_alloc_raw(a, n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *cc_arena_strdup(cc_arena *a, const char *s)
{
    return cc_arena_strndup(a, s, strlen(s));
}

char *cc_arena_vprintf(cc_arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        n = 0;
    char *p = cc_arena_alloc_raw(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *cc_arena_printf(cc_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = cc_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

void cc_arena_defer(cc_arena *a, void (*fn)(void *), void *arg)
{
    cleanup *c = cc_arena_alloc(a, sizeof(*c));
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
}

size_t cc_arena_used(const cc_arena *a)
{
    return a->total;
}
