/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for the arena's reset (core/arena.c), which the engine uses to recycle one
 * arena per request: cleanups run once, memory is zeroed again, big blocks go away. */
#include <stdint.h>
#include <string.h>

#include "../../core/arena.h"
#include "../t.h"

static int ran;

static void bump(void *arg)
{
    ran += (int)(intptr_t)arg;
}

int main(void)
{
    cc_arena *a = cc_arena_new(0);
    char *p = cc_arena_alloc(a, 100);
    memset(p, 'x', 100);
    cc_arena_defer(a, bump, (void *)(intptr_t)1);
    cc_arena_defer(a, bump, (void *)(intptr_t)10);
    (void)cc_arena_alloc(a, 1 << 20); /* a dedicated big block */
    for (int i = 0; i < 10; i++)
        (void)cc_arena_alloc(a, 4000); /* more standard blocks */
    T_OK(cc_arena_used(a) > (1 << 20), "used before reset");
    cc_arena_reset(a);
    T_INT(ran, 11);
    T_INT(cc_arena_used(a), 0);
    /* fresh memory is zeroed even where old data was */
    unsigned char *q = cc_arena_alloc(a, 100);
    int zero = 1;
    for (int i = 0; i < 100; i++)
        zero &= q[i] == 0;
    T_OK(zero, "allocation after reset is zeroed");
    T_STR(cc_arena_strdup(a, "again"), "again");
    /* cleanups registered before a reset never run again */
    cc_arena_reset(a);
    T_INT(ran, 11);
    cc_arena_defer(a, bump, (void *)(intptr_t)100);
    cc_arena_free(a);
    T_INT(ran, 111);
    /* resetting an arena that never allocated, and NULL */
    cc_arena *b = cc_arena_new(256);
    cc_arena_reset(b);
    T_STR(cc_arena_printf(b, "%d", 42), "42");
    cc_arena_free(b);
    cc_arena_reset(NULL);
    return t_done();
}
