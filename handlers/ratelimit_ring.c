/* SPDX-License-Identifier: Apache-2.0
 * The sliding-window ring buffer of the caddy-ratelimit plugin and the sharded table
 * of rings a zone keeps per key. The hot path takes one shard mutex and allocates only
 * for a key it has not seen; each shard forgets its expired keys when a request finds
 * its sweep due, so no thread is needed for sweeping. */
#include "ratelimit_ring.h"

#include "../core/rand.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define NSHARDS 64 /* power of two; the top hash bits pick the shard */
#define SHARD_BITS 6
#define DEFAULT_SWEEP 60000000000LL

int64_t cc_rl_ring_when(int64_t *ring, uint32_t n, uint32_t *cursor, int64_t window, int64_t now)
{
    if (n == 0)
        return window > 0 ? window : 1;
    int64_t oldest = ring[*cursor];
    if (oldest == CC_RL_EMPTY || now - oldest > window) {
        cc_rl_ring_reserve(ring, n, cursor, now);
        return 0;
    }
    return oldest + window - now;
}

void cc_rl_ring_reserve(int64_t *ring, uint32_t n, uint32_t *cursor, int64_t now)
{
    if (n == 0)
        return;
    ring[*cursor] = now;
    *cursor = *cursor + 1 >= n ? 0 : *cursor + 1;
}

uint32_t cc_rl_ring_count(const int64_t *ring, uint32_t n, uint32_t cursor, int64_t window,
                          int64_t now, int64_t *oldest)
{
    int64_t start = now - window;
    *oldest = CC_RL_EMPTY;
    /* newest first: the slot before the cursor, walking back around the ring */
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = (uint32_t)(((uint64_t)cursor + n - 1 - k) % n);
        if (ring[i] < start) {
            if (k > 0)
                *oldest = ring[(i + 1) % n];
            return k;
        }
    }
    if (n > 0)
        *oldest = ring[cursor];
    return n;
}

/* ---- hashing ---- */

static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t m = (__uint128_t)a * b;
    return (uint64_t)m ^ (uint64_t)(m >> 64);
}

uint64_t cc_rl_hash(uint64_t seed, const void *p, size_t n)
{
    static const uint64_t k1 = 0xa0761d6478bd642fULL, k2 = 0xe7037ed1a0b428dbULL,
                          k3 = 0x8ebc6af09c88c6e3ULL, k4 = 0x589965cc75374cc3ULL;
    const unsigned char *s = p;
    uint64_t h = seed ^ k4;
    size_t left = n;
    while (left >= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + 8, 8);
        h = mix(a ^ k1 ^ seed, b ^ k2 ^ h);
        s += 16;
        left -= 16;
    }
    uint64_t a = 0, b = 0;
    memcpy(&a, s, left > 8 ? 8 : left);
    if (left > 8)
        memcpy(&b, s + 8, left - 8);
    h = mix(a ^ k1 ^ seed, b ^ k2 ^ h);
    return mix(h ^ k3, (uint64_t)n ^ k4 ^ seed);
}

/* ---- the table ---- */

/* A key's ring starts small and doubles (up to max_events) only when it is full of
 * events still inside the window: a zone of 10,000 events per minute costs a few bytes
 * per quiet key instead of 80 KB, and the hot path touches one small block. Until it
 * reaches max_events no event is ever overwritten, so decisions are exactly those of the
 * plugin's full-size ring. */
#define RING_START 8

typedef struct limiter {
    struct limiter *next;
    uint64_t hash;
    uint32_t cursor; /* the oldest slot, written next */
    uint32_t keylen;
    uint32_t cap;  /* slots in ring, <= max_events */
    int64_t *ring; /* cap timestamps */
    char key[];
} limiter;

typedef struct shard {
    pthread_mutex_t mu;
    limiter **b;
    size_t nb, n;
    int64_t next_sweep; /* 0 until the first request sets it */
} __attribute__((aligned(64))) shard;

struct cc_rl_zone {
    uint32_t max;
    int64_t window;
    _Atomic int64_t sweep_every;
    uint64_t seed;
    shard sh[NSHARDS];
};

static const char *key_of(const cc_rl_zone *z, const limiter *l)
{
    (void)z;
    return l->key;
}

static void limiter_free(limiter *l)
{
    free(l->ring);
    free(l);
}

/* Doubles a ring that holds only in-window events, oldest first after the copy; false
 * when it cannot (it is already max_events long, or out of memory). */
static bool grow_ring(const cc_rl_zone *z, limiter *l)
{
    if (l->cap >= z->max)
        return false;
    uint32_t nc = l->cap > z->max / 2 ? z->max : l->cap * 2;
    int64_t *nr = malloc((size_t)nc * sizeof(*nr));
    if (!nr)
        return false;
    for (uint32_t k = 0; k < l->cap; k++)
        nr[k] = l->ring[(l->cursor + k) % l->cap];
    for (uint32_t k = l->cap; k < nc; k++)
        nr[k] = CC_RL_EMPTY;
    free(l->ring);
    l->ring = nr;
    l->cursor = l->cap;
    l->cap = nc;
    return true;
}

/* Makes room for one more event when the ring is full of in-window events and may
 * still grow; false only when growing failed (the caller then fails open). */
static bool ring_room(const cc_rl_zone *z, limiter *l, int64_t now)
{
    if (l->cap >= z->max)
        return true;
    int64_t oldest = l->ring[l->cursor];
    if (oldest == CC_RL_EMPTY || now - oldest > z->window)
        return true;
    return grow_ring(z, l);
}

cc_rl_zone *cc_rl_zone_new(uint32_t max_events, int64_t window)
{
    cc_rl_zone *z = aligned_alloc(64, (sizeof(*z) + 63) / 64 * 64);
    if (!z)
        return NULL;
    memset(z, 0, sizeof(*z));
    z->max = max_events;
    z->window = window;
    atomic_init(&z->sweep_every, DEFAULT_SWEEP);
    /* a per-zone secret seed keeps clients from choosing colliding keys */
    z->seed = cc_rand64();
    for (size_t i = 0; i < NSHARDS; i++)
        pthread_mutex_init(&z->sh[i].mu, NULL);
    return z;
}

void cc_rl_zone_free(cc_rl_zone *z)
{
    if (!z)
        return;
    for (size_t i = 0; i < NSHARDS; i++) {
        shard *s = &z->sh[i];
        for (size_t b = 0; b < s->nb; b++)
            for (limiter *l = s->b[b], *nx; l; l = nx) {
                nx = l->next;
                limiter_free(l);
            }
        free(s->b);
        pthread_mutex_destroy(&s->mu);
    }
    free(z);
}

void cc_rl_zone_set_sweep(cc_rl_zone *z, int64_t every)
{
    atomic_store(&z->sweep_every, every > 0 ? every : DEFAULT_SWEEP);
}

uint32_t cc_rl_zone_max_events(const cc_rl_zone *z)
{
    return z->max;
}

int64_t cc_rl_zone_window(const cc_rl_zone *z)
{
    return z->window;
}

/* True when every event of l is older than the window (or l can hold none). */
static bool expired(const cc_rl_zone *z, const limiter *l, int64_t now)
{
    if (z->max == 0)
        return true;
    int64_t newest = l->ring[l->cursor == 0 ? l->cap - 1 : l->cursor - 1];
    return newest == CC_RL_EMPTY || newest < now - z->window;
}

static size_t sweep_shard(cc_rl_zone *z, shard *s, int64_t now)
{
    size_t gone = 0;
    for (size_t b = 0; b < s->nb; b++) {
        limiter **pp = &s->b[b];
        while (*pp) {
            limiter *l = *pp;
            if (expired(z, l, now)) {
                *pp = l->next;
                limiter_free(l);
                gone++;
            } else {
                pp = &l->next;
            }
        }
    }
    s->n -= gone;
    return gone;
}

/* Doubles the bucket array; on allocation failure the table just stays denser. */
static void grow(shard *s)
{
    size_t nb = s->nb ? s->nb * 2 : 8;
    limiter **b = calloc(nb, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < s->nb; i++)
        for (limiter *l = s->b[i], *nx; l; l = nx) {
            nx = l->next;
            limiter **slot = &b[l->hash & (nb - 1)];
            l->next = *slot;
            *slot = l;
        }
    free(s->b);
    s->b = b;
    s->nb = nb;
}

static limiter *find(const cc_rl_zone *z, const shard *s, uint64_t h, const char *key, size_t len)
{
    if (!s->nb)
        return NULL;
    for (limiter *l = s->b[h & (s->nb - 1)]; l; l = l->next)
        if (l->hash == h && l->keylen == len && memcmp(key_of(z, l), key, len) == 0)
            return l;
    return NULL;
}

static limiter *insert(cc_rl_zone *z, shard *s, uint64_t h, const char *key, size_t len)
{
    /* keep chains short (load factor 1/2): each limiter is a separate block holding
     * max_events timestamps, so every step along a chain is a cache miss */
    if (s->n * 2 >= s->nb)
        grow(s);
    if (!s->nb || len > UINT32_MAX)
        return NULL;
    limiter *l = malloc(sizeof(*l) + len + 1);
    if (!l)
        return NULL;
    l->cap = z->max < RING_START ? z->max : RING_START;
    l->ring = malloc((size_t)(l->cap ? l->cap : 1) * sizeof(int64_t));
    if (!l->ring) {
        free(l);
        return NULL;
    }
    l->hash = h;
    l->cursor = 0;
    l->keylen = (uint32_t)len;
    for (uint32_t i = 0; i < l->cap; i++)
        l->ring[i] = CC_RL_EMPTY;
    memcpy(l->key, key, len);
    l->key[len] = '\0';
    limiter **slot = &s->b[h & (s->nb - 1)];
    l->next = *slot;
    *slot = l;
    s->n++;
    return l;
}

static int64_t wait_until(int64_t oldest, int64_t window, int64_t now)
{
    int64_t w = oldest + window - now;
    return w > 0 ? w : 0;
}

bool cc_rl_zone_take(cc_rl_zone *z, const char *key, size_t keylen, int64_t now,
                     cc_rl_others_fn others, void *octx, int64_t *wait)
{
    /* the others' counts come from an immutable snapshot: read them before locking */
    uint32_t ocount = 0;
    int64_t oold = CC_RL_EMPTY;
    bool distributed = others != NULL;
    if (distributed && !others(octx, key, keylen, now, z->window, &ocount, &oold)) {
        ocount = 0;
        oold = CC_RL_EMPTY;
    }

    uint64_t h = cc_rl_hash(z->seed, key, keylen);
    shard *s = &z->sh[h >> (64 - SHARD_BITS)];
    pthread_mutex_lock(&s->mu);
    int64_t every = atomic_load_explicit(&z->sweep_every, memory_order_relaxed);
    if (s->next_sweep == 0) {
        s->next_sweep = now + every;
    } else if (now >= s->next_sweep) {
        sweep_shard(z, s, now);
        s->next_sweep = now + every;
    }
    limiter *l = find(z, s, h, key, keylen);
    if (!l)
        l = insert(z, s, h, key, keylen);
    if (!l) {
        pthread_mutex_unlock(&s->mu);
        return true; /* out of memory: fail open rather than refuse everyone */
    }

    if (!ring_room(z, l, now)) {
        pthread_mutex_unlock(&s->mu);
        return true; /* out of memory: fail open */
    }
    if (!distributed) {
        int64_t w = cc_rl_ring_when(l->ring, l->cap, &l->cursor, z->window, now);
        pthread_mutex_unlock(&s->mu);
        *wait = w;
        return w == 0;
    }

    /* the plugin's distributed decision: others' last known counts plus ours; the
     * wait runs from the oldest event still inside the window */
    int64_t horizon = now - z->window;
    int64_t oldest = now;
    uint64_t total = ocount;
    if (oold != CC_RL_EMPTY && oold < oldest && oold > horizon)
        oldest = oold;
    if (total < z->max) {
        int64_t lold;
        total += cc_rl_ring_count(l->ring, l->cap, l->cursor, z->window, now, &lold);
        if (lold != CC_RL_EMPTY && lold < oldest && lold > horizon)
            oldest = lold;
        if (total < z->max) {
            cc_rl_ring_reserve(l->ring, l->cap, &l->cursor, now);
            pthread_mutex_unlock(&s->mu);
            return true;
        }
    }
    pthread_mutex_unlock(&s->mu);
    *wait = wait_until(oldest, z->window, now);
    return false;
}

size_t cc_rl_zone_sweep(cc_rl_zone *z, int64_t now)
{
    size_t gone = 0;
    int64_t every = atomic_load(&z->sweep_every);
    for (size_t i = 0; i < NSHARDS; i++) {
        shard *s = &z->sh[i];
        pthread_mutex_lock(&s->mu);
        gone += sweep_shard(z, s, now);
        s->next_sweep = now + every;
        pthread_mutex_unlock(&s->mu);
    }
    return gone;
}

size_t cc_rl_zone_keys(cc_rl_zone *z)
{
    size_t n = 0;
    for (size_t i = 0; i < NSHARDS; i++) {
        pthread_mutex_lock(&z->sh[i].mu);
        n += z->sh[i].n;
        pthread_mutex_unlock(&z->sh[i].mu);
    }
    return n;
}

void cc_rl_zone_each(cc_rl_zone *z, int64_t now, cc_rl_each_fn fn, void *ctx)
{
    for (size_t i = 0; i < NSHARDS; i++) {
        shard *s = &z->sh[i];
        pthread_mutex_lock(&s->mu);
        for (size_t b = 0; b < s->nb; b++)
            for (limiter *l = s->b[b]; l; l = l->next) {
                int64_t oldest;
                uint32_t c = cc_rl_ring_count(l->ring, l->cap, l->cursor, z->window, now, &oldest);
                if (c > 0)
                    fn(ctx, key_of(z, l), l->keylen, c, oldest);
            }
        pthread_mutex_unlock(&s->mu);
    }
}
