/* SPDX-License-Identifier: Apache-2.0
 * Process-wide rate-limit state: the clock, and the registry that keeps each zone's
 * limiters across config reloads the way the plugin's usage pool does. A reload
 * provisions the new handlers before the old ones are cleaned up, so a zone whose name
 * and parameters did not change is found still referenced and keeps its counts. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/rand.h"
#include "ratelimit.h"

/* ---- clock ---- */

static int64_t (*_Atomic test_clock)(void);

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cc_rl_now(void)
{
    int64_t (*fn)(void) = atomic_load_explicit(&test_clock, memory_order_relaxed);
    return fn ? fn() : clock_ns(CLOCK_MONOTONIC);
}

int64_t cc_rl_wall_offset(void)
{
    if (atomic_load(&test_clock))
        return 0;
    return clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
}

void cc_rl_clock_set(int64_t (*now)(void))
{
    atomic_store(&test_clock, now);
}

/* ---- registry ---- */

typedef struct reg {
    struct reg *next;
    char *name;
    cc_rl_zone *z;
    int refs;
    bool listed; /* false once a zone of the same name with new parameters replaced it */
} reg;

struct cc_rl_inst {
    cc_rl_inst *next;
    char id[40];
    pthread_mutex_t mu;
    reg *zones;
};

static pthread_mutex_t insts_mu = PTHREAD_MUTEX_INITIALIZER;
static cc_rl_inst *insts;   /* every instance ever made; they live as long as the process */
static cc_rl_inst *current; /* NULL: the process's own (the first made) */
static cc_rl_inst *own;

/* A random UUID (version 4) names the process among those sharing a storage. */
static void new_uuid(char out[40])
{
    unsigned char b[16];
    cc_rand_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* Under insts_mu. */
static cc_rl_inst *inst_new(const char *id)
{
    cc_rl_inst *in = calloc(1, sizeof(*in));
    if (!in)
        return NULL;
    if (id)
        snprintf(in->id, sizeof(in->id), "%s", id);
    else
        new_uuid(in->id);
    pthread_mutex_init(&in->mu, NULL);
    in->next = insts;
    insts = in;
    return in;
}

cc_rl_inst *cc_rl_inst_current(void)
{
    pthread_mutex_lock(&insts_mu);
    if (!own)
        own = inst_new(NULL);
    cc_rl_inst *in = current ? current : own;
    pthread_mutex_unlock(&insts_mu);
    return in;
}

void cc_rl_inst_select(const char *id)
{
    pthread_mutex_lock(&insts_mu);
    cc_rl_inst *in = NULL;
    if (id) {
        for (in = insts; in && strcmp(in->id, id) != 0; in = in->next)
            ;
        if (!in)
            in = inst_new(id);
    }
    current = in;
    pthread_mutex_unlock(&insts_mu);
}

const char *cc_rl_inst_id(const cc_rl_inst *in)
{
    return in->id;
}

cc_rl_zone *cc_rl_inst_acquire(cc_rl_inst *in, const char *name, uint32_t max_events,
                               int64_t window)
{
    pthread_mutex_lock(&in->mu);
    reg *old = NULL;
    for (reg *r = in->zones; r; r = r->next)
        if (r->listed && strcmp(r->name, name) == 0) {
            old = r;
            break;
        }
    if (old && cc_rl_zone_max_events(old->z) == max_events && cc_rl_zone_window(old->z) == window) {
        old->refs++;
        pthread_mutex_unlock(&in->mu);
        return old->z;
    }
    reg *r = calloc(1, sizeof(*r));
    char *nm = strdup(name);
    cc_rl_zone *z = cc_rl_zone_new(max_events, window);
    if (!r || !nm || !z) {
        free(r);
        free(nm);
        cc_rl_zone_free(z);
        pthread_mutex_unlock(&in->mu);
        return NULL;
    }
    /* changed parameters start fresh; the old zone lives on while old handlers use it */
    if (old)
        old->listed = false;
    *r = (reg){.next = in->zones, .name = nm, .z = z, .refs = 1, .listed = true};
    in->zones = r;
    pthread_mutex_unlock(&in->mu);
    return z;
}

void cc_rl_inst_release(cc_rl_inst *in, cc_rl_zone *z)
{
    if (!z)
        return;
    pthread_mutex_lock(&in->mu);
    for (reg **pp = &in->zones; *pp; pp = &(*pp)->next) {
        reg *r = *pp;
        if (r->z != z)
            continue;
        if (--r->refs == 0) {
            *pp = r->next;
            cc_rl_zone_free(r->z);
            free(r->name);
            free(r);
        }
        break;
    }
    pthread_mutex_unlock(&in->mu);
}

void cc_rl_inst_each(cc_rl_inst *in, void (*fn)(void *ctx, const char *name, cc_rl_zone *z),
                     void *ctx)
{
    pthread_mutex_lock(&in->mu);
    for (reg *r = in->zones; r; r = r->next)
        if (r->listed)
            fn(ctx, r->name, r->z);
    pthread_mutex_unlock(&in->mu);
}
