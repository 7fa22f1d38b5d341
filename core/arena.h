/* SPDX-License-Identifier: Apache-2.0
 * Region allocator: many small allocations, one free. Config adaptation and (later)
 * every request use one arena, so nothing is freed piecemeal and nothing leaks on
 * error paths. Allocation failure aborts (as h2o and redis do): caddy-c cannot serve
 * anything sensible without memory, and checking every small allocation hides logic. */
#ifndef CC_ARENA_H
#define CC_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct cc_arena cc_arena;

/** New arena; chunk is the preferred block size (0 = 16 KiB). Never NULL. */
cc_arena *cc_arena_new(size_t chunk);
/** Runs deferred cleanups (last registered first), then frees every block. NULL is ok. */
void cc_arena_free(cc_arena *a);
/** Runs deferred cleanups (last registered first) and forgets every allocation, keeping
 * one block for reuse: afterwards the arena behaves as a new one without the malloc. */
void cc_arena_reset(cc_arena *a);
/** Zeroed, 16-byte aligned memory owned by the arena. */
void *cc_arena_alloc(cc_arena *a, size_t n);
/** The same without the zeroing, for memory the caller fills at once (copies, reads). */
void *cc_arena_alloc_raw(cc_arena *a, size_t n);
/** Grows an arena allocation: returns a new block holding the first old_n bytes of old. */
void *cc_arena_grow(cc_arena *a, void *old, size_t old_n, size_t new_n);
/** NUL-terminated copy of s[0..n). */
char *cc_arena_strndup(cc_arena *a, const char *s, size_t n);
char *cc_arena_strdup(cc_arena *a, const char *s);
char *cc_arena_printf(cc_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *cc_arena_vprintf(cc_arena *a, const char *fmt, va_list ap);
/** Registers fn(arg) to run when the arena is freed. */
void cc_arena_defer(cc_arena *a, void (*fn)(void *), void *arg);
/** Bytes handed out so far (for limits and tests). */
size_t cc_arena_used(const cc_arena *a);

/** Aborting malloc/realloc/strdup for the few long-lived heap objects. */
void *cc_xmalloc(size_t n);
void *cc_xcalloc(size_t n, size_t m);
void *cc_xrealloc(void *p, size_t n);
char *cc_xstrdup(const char *s);

/* Growable arena-backed array of T: struct { T *v; size_t n, cap; }. */
#define CC_VEC(T)                                                                                  \
    struct {                                                                                       \
        T *v;                                                                                      \
        size_t n, cap;                                                                             \
    }
/* Appends x to vec (a CC_VEC) using arena a. */
#define CC_VEC_PUSH(a, vec, x)                                                                     \
    do {                                                                                           \
        if ((vec)->n == (vec)->cap) {                                                              \
            size_t nc_ = (vec)->cap ? (vec)->cap * 2 : 8;                                          \
            (vec)->v = cc_arena_grow((a), (vec)->v, (vec)->cap * sizeof(*(vec)->v),                \
                                     nc_ * sizeof(*(vec)->v));                                     \
            (vec)->cap = nc_;                                                                      \
        }                                                                                          \
        (vec)->v[(vec)->n++] = (x);                                                                \
    } while (0)

#endif
