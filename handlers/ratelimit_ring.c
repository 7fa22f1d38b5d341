/* SPDX-License-Identifier: Apache-2.0
 * The sliding-window ring buffer of the caddy-ratelimit plugin and the sharded table
 * of rings a zone keeps per key. A zone has 64 shards, each with its own mutex and an
 * open-addressing table (linear probing, at most half full, backward-shift deletion, so
 * no tombstones) whose entries are the limiters themselves. The hot path takes one shard
 * mutex and allocates only for a key it has not seen; each shard forgets its expired
 * keys when a request finds its sweep due, so no thread is needed for sweeping.
 *
 * Between two requests for one key the rest of the request evicts the cache, so what a
 * decision costs is its chain of dependent cache misses. For a known key that chain is
 * the shard's line (mutex, table pointer) and then the key's entry: 128 bytes, 64-byte
 * aligned, whose first line has the hash, cursor, ring size, key length and the key
 * itself when it is short (an IP, a short header value; longer keys are a pointer to a
 * heap copy), and whose second line is the mirror. Both lines are requested together,
 * so they miss in parallel. There is no separate limiter to follow a pointer to.
 * The mirror holds the ring's cache line the cursor is in, so a decision neither reads
 * nor writes the ring: the line is written back and the next one read when the cursor
 * leaves it, once per 8 events. Writing every event to the ring as well would not save
 * the miss: the shard's unlock (a locked xchg on x86) waits until that store has its
 * line. Whatever scans a ring (counts, each, growth) writes the mirror back first.
 * Entries move (deletion shifts them back, growth rehashes them into a new table), so
 * nothing keeps a pointer to one across an unlock. */
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
/* int64 slots per 64-byte cache line: rings are 64-byte aligned, so the logical line
 * [i & ~7, +8) of a ring is one cache line */
#define LINE 8
/* key bytes stored in the entry itself: what the first line has left */
#define INLINE_KEY 36

/* A key's limiter is its table entry: two cache lines, 64-byte aligned, so a decision
 * for a known key misses on the entry only (both lines are requested together). The
 * first line holds what a probe compares and what a decision reads besides the oldest
 * slot; the second the mirror. Entries move (backward-shift deletion, table growth):
 * nothing keeps a pointer to one across an unlock. */
typedef struct entry {
    uint64_t hash;   /* compared first: only an equal hash reads the key */
    int64_t *ring;   /* cap timestamps (one when cap is 0), 64-byte aligned; NULL: empty */
    uint32_t cursor; /* the oldest slot, written next */
    uint32_t cap;    /* slots in ring, <= max_events */
    uint32_t keylen;
    /* keylen <= INLINE_KEY: the key's bytes (IPs and short header values fit); else a
     * char * to a heap copy, stored with memcpy (the field is not pointer-aligned) */
    char key[INLINE_KEY];
    /* the slots ring[base + k] for base = cursor & ~7 and k < min(8, cap - base): loaded
     * when the cursor enters that line, written back when it leaves; meanwhile these are
     * the values and the ring's copy is stale. A decision reads and writes only
     * mirror[cursor & 7], never the ring's line, which the rest of the request has long
     * evicted. */
    int64_t mirror[LINE];
} __attribute__((aligned(64))) entry;

_Static_assert(offsetof(entry, key) + INLINE_KEY == 64, "the inline key ends the first line");
_Static_assert(offsetof(entry, mirror) == 64 && sizeof(entry) == 128, "an entry is two lines");

typedef struct shard {
    pthread_mutex_t mu;
    entry *t;           /* cap entries; NULL while cap is 0 */
    int64_t next_sweep; /* 0 until the first request sets it */
    /* 32 bits keep the whole shard in one cache line (a 40-byte mutex on glibc); 2^31
     * keys in a shard are far beyond what fits in memory anyway */
    uint32_t cap; /* 0 or a power of two >= 8 */
    uint32_t n;   /* <= cap / 2, unless growing failed for lack of memory */
} __attribute__((aligned(64))) shard;

struct cc_rl_zone {
    uint32_t max;
    int64_t window;
    _Atomic int64_t sweep_every;
    uint64_t seed;
    shard sh[NSHARDS];
};

/* aligned_alloc wants a size that is a multiple of the alignment */
static void *alloc_lines(size_t size)
{
    return aligned_alloc(64, (size + 63) / 64 * 64);
}

static const char *entry_key(const entry *e)
{
    if (e->keylen <= INLINE_KEY)
        return e->key;
    const char *p;
    memcpy(&p, e->key, sizeof(p));
    return p;
}

/* Frees what an occupied entry owns (the slot itself is emptied by the caller). */
static void entry_release(entry *e)
{
    free(e->ring);
    if (e->keylen > INLINE_KEY)
        free((char *)entry_key(e));
}

/* Copies the ring's line the cursor is in (clipped to cap) into the mirror. */
static void load_mirror(entry *l)
{
    uint32_t base = l->cursor & ~(uint32_t)(LINE - 1);
    uint32_t n = l->cap - base < LINE ? l->cap - base : LINE;
    memcpy(l->mirror, l->ring + base, (size_t)n * sizeof(int64_t));
}

/* Writes the mirror back to the ring's line the cursor is in. */
static void store_mirror(entry *l)
{
    uint32_t base = l->cursor & ~(uint32_t)(LINE - 1);
    uint32_t n = l->cap - base < LINE ? l->cap - base : LINE;
    memcpy(l->ring + base, l->mirror, (size_t)n * sizeof(int64_t));
}

/* The ring, complete, for code that scans it. */
static const int64_t *synced_ring(entry *l)
{
    if (l->cap > 0)
        store_mirror(l);
    return l->ring;
}

/* ring[i] (i < cap), from the mirror when it holds that slot. */
static int64_t slot_at(const entry *l, uint32_t i)
{
    uint32_t k = i - (l->cursor & ~(uint32_t)(LINE - 1));
    return k < LINE ? l->mirror[k] : l->ring[i];
}

/* Records now at the cursor (in the mirror) and advances the cursor: cc_rl_ring_reserve
 * for a limiter. */
static void record(entry *l, int64_t now)
{
    if (l->cap == 0)
        return;
    uint32_t c = l->cursor;
    l->mirror[c % LINE] = now;
    c = c + 1 >= l->cap ? 0 : c + 1;
    /* entering another line; a ring of at most one line lives in the mirror */
    if (c % LINE == 0 && l->cap > LINE) {
        store_mirror(l);
        l->cursor = c;
        load_mirror(l);
    } else {
        l->cursor = c;
    }
}

/* cc_rl_ring_when on a limiter, reading the oldest slot from the mirror. */
static int64_t decide(const cc_rl_zone *z, entry *l, int64_t now)
{
    if (l->cap == 0)
        return cc_rl_ring_when(l->ring, 0, &l->cursor, z->window, now);
    int64_t oldest = l->mirror[l->cursor % LINE];
    if (oldest == CC_RL_EMPTY || now - oldest > z->window) {
        record(l, now);
        return 0;
    }
    return oldest + z->window - now;
}

/* Doubles a ring that holds only in-window events, oldest first after the copy; false
 * when it cannot (it is already max_events long, or out of memory). */
static bool grow_ring(const cc_rl_zone *z, entry *l)
{
    if (l->cap >= z->max)
        return false;
    uint32_t nc = l->cap > z->max / 2 ? z->max : l->cap * 2;
    int64_t *nr = alloc_lines((size_t)nc * sizeof(*nr));
    if (!nr)
        return false;
    synced_ring(l);
    uint32_t tail = l->cap - l->cursor;
    memcpy(nr, l->ring + l->cursor, (size_t)tail * sizeof(*nr));
    memcpy(nr + tail, l->ring, (size_t)l->cursor * sizeof(*nr));
    for (uint32_t k = l->cap; k < nc; k++)
        nr[k] = CC_RL_EMPTY;
    free(l->ring);
    l->ring = nr;
    l->cursor = l->cap;
    l->cap = nc;
    /* the cursor moved to another line (an empty one) of another ring */
    load_mirror(l);
    return true;
}

/* Makes room for one more event when the ring is full of in-window events and may
 * still grow; false only when growing failed (the caller then fails open). */
static bool ring_room(const cc_rl_zone *z, entry *l, int64_t now)
{
    if (l->cap >= z->max)
        return true;
    int64_t oldest = l->mirror[l->cursor % LINE];
    if (oldest == CC_RL_EMPTY || now - oldest > z->window)
        return true;
    return grow_ring(z, l);
}

cc_rl_zone *cc_rl_zone_new(uint32_t max_events, int64_t window)
{
    cc_rl_zone *z = alloc_lines(sizeof(*z));
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
        for (uint32_t k = 0; k < s->cap; k++)
            if (s->t[k].ring)
                entry_release(&s->t[k]);
        free(s->t);
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
static bool expired(const cc_rl_zone *z, const entry *l, int64_t now)
{
    if (z->max == 0)
        return true;
    int64_t newest = slot_at(l, l->cursor == 0 ? l->cap - 1 : l->cursor - 1);
    return newest == CC_RL_EMPTY || newest < now - z->window;
}

/* Empties slot i (whose resources the caller released) and moves later entries of its
 * probe run back into the hole, so that every entry stays reachable from its home slot
 * without tombstones. */
static void remove_at(shard *s, uint32_t i)
{
    uint32_t mask = s->cap - 1;
    for (uint32_t j = (i + 1) & mask; s->t[j].ring; j = (j + 1) & mask) {
        uint32_t home = (uint32_t)s->t[j].hash & mask;
        /* the entry at j may fill the hole when the hole lies on its probe path from
         * home to j, i.e. the hole is no nearer to j than home is */
        if (((j - i) & mask) <= ((j - home) & mask)) {
            s->t[i] = s->t[j];
            i = j;
        }
    }
    memset(&s->t[i], 0, sizeof(s->t[i]));
    s->n--;
}

static size_t sweep_shard(cc_rl_zone *z, shard *s, int64_t now)
{
    if (s->n == 0)
        return 0;
    uint32_t mask = s->cap - 1, e = 0;
    /* Scan from just after an empty slot (there is one: n < cap). Removing an entry only
     * moves entries of the same run backwards into the hole, never across an empty slot,
     * so an entry moves only from ahead of the scan to the slot being looked at or
     * further ahead: each entry is looked at exactly once. */
    while (s->t[e].ring)
        e++;
    size_t gone = 0;
    for (uint32_t k = 1; k < s->cap; k++) {
        uint32_t i = (e + k) & mask;
        while (s->t[i].ring && expired(z, &s->t[i], now)) {
            entry_release(&s->t[i]);
            remove_at(s, i);
            gone++;
        }
    }
    return gone;
}

/* The first empty slot from h's home (the table has one). */
static entry *empty_slot(entry *t, uint32_t cap, uint64_t h)
{
    uint32_t mask = cap - 1, i = (uint32_t)h & mask;
    while (t[i].ring)
        i = (i + 1) & mask;
    return &t[i];
}

/* Doubles the table, copying the entries over; false when out of memory (or at 2^31
 * entries). */
static bool grow(shard *s)
{
    if (s->cap >= (UINT32_C(1) << 31))
        return false;
    uint32_t nc = s->cap ? s->cap * 2 : 8;
    entry *t = alloc_lines((size_t)nc * sizeof(*t));
    if (!t)
        return false;
    memset(t, 0, (size_t)nc * sizeof(*t));
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->t[i].ring)
            *empty_slot(t, nc, s->t[i].hash) = s->t[i];
    free(s->t);
    s->t = t;
    s->cap = nc;
    return true;
}

static entry *find(const shard *s, uint64_t h, const char *key, size_t len)
{
    if (!s->cap)
        return NULL;
    uint32_t mask = s->cap - 1, i = (uint32_t)h & mask;
    /* the mirror's line is needed too when the home entry is the key's (it usually
     * is): ask for it before the first line's miss, so both misses overlap */
    __builtin_prefetch(s->t[i].mirror, 1);
    for (; s->t[i].ring; i = (i + 1) & mask) {
        entry *e = &s->t[i];
        if (e->hash == h && e->keylen == len && (len == 0 || memcmp(entry_key(e), key, len) == 0))
            return e;
    }
    return NULL;
}

static entry *insert(cc_rl_zone *z, shard *s, uint64_t h, const char *key, size_t len)
{
    /* load factor at most 1/2 keeps probe runs short; when growing fails the table just
     * gets denser, as long as one slot stays empty to end every probe */
    if ((s->n + 1) * (uint64_t)2 > s->cap && !grow(s) && s->n + 1 >= s->cap)
        return NULL;
    if (len > UINT32_MAX)
        return NULL;
    uint32_t cap = z->max < RING_START ? z->max : RING_START;
    int64_t *ring = alloc_lines((size_t)(cap ? cap : 1) * sizeof(int64_t));
    if (!ring)
        return NULL;
    char *heap = NULL;
    if (len > INLINE_KEY) {
        heap = malloc(len);
        if (!heap) {
            free(ring);
            return NULL;
        }
        memcpy(heap, key, len);
    }
    for (uint32_t i = 0; i < cap; i++)
        ring[i] = CC_RL_EMPTY;
    entry *e = empty_slot(s->t, s->cap, h);
    e->hash = h;
    e->ring = ring;
    e->cursor = 0;
    e->cap = cap;
    e->keylen = (uint32_t)len;
    if (heap)
        memcpy(e->key, &heap, sizeof(heap));
    else if (len > 0)
        memcpy(e->key, key, len);
    for (uint32_t i = 0; i < LINE; i++)
        e->mirror[i] = CC_RL_EMPTY;
    s->n++;
    return e;
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
    /* l points into the table: valid only until the unlock (or the next insert) */
    entry *l = find(s, h, key, keylen);
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
        int64_t w = decide(z, l, now);
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
        total += cc_rl_ring_count(synced_ring(l), l->cap, l->cursor, z->window, now, &lold);
        if (lold != CC_RL_EMPTY && lold < oldest && lold > horizon)
            oldest = lold;
        if (total < z->max) {
            record(l, now);
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
        for (uint32_t k = 0; k < s->cap; k++) {
            entry *l = &s->t[k];
            if (!l->ring)
                continue;
            int64_t oldest;
            uint32_t c =
                cc_rl_ring_count(synced_ring(l), l->cap, l->cursor, z->window, now, &oldest);
            if (c > 0)
                fn(ctx, entry_key(l), l->keylen, c, oldest);
        }
        pthread_mutex_unlock(&s->mu);
    }
}
