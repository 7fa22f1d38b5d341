/* SPDX-License-Identifier: Apache-2.0
 * The rate_limit algorithm without I/O or clocks (every call takes `now`, so tests
 * drive it with a fake clock): the caddy-ratelimit plugin's sliding-window ring of
 * max_events timestamps per key, and a zone, a sharded hash table of such rings that
 * all worker threads share (one mutex per shard, no global lock). */
#ifndef CC_RATELIMIT_RING_H
#define CC_RATELIMIT_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A slot that never held an event: older than any window. */
#define CC_RL_EMPTY INT64_MIN

/* ---- one ring (max_events timestamps, cursor at the oldest) ---- */

/** Decides one event at now. Allowed when now - ring[cursor] > window: now is written at
 * the cursor, which advances, and 0 is returned. Otherwise nothing is reserved and the
 * wait ring[cursor] + window - now is returned; as in the plugin that wait is 0 when the
 * oldest event is exactly one window old, which the caller lets through unrecorded. A
 * ring of 0 events refuses everything with a wait of one window. */
int64_t cc_rl_ring_when(int64_t *ring, uint32_t n, uint32_t *cursor, int64_t window, int64_t now);
/** Events within [now - window, now] and the oldest of them (CC_RL_EMPTY when none). */
uint32_t cc_rl_ring_count(const int64_t *ring, uint32_t n, uint32_t cursor, int64_t window,
                          int64_t now, int64_t *oldest);
/** Records now at the cursor and advances it (the distributed path's reservation). */
void cc_rl_ring_reserve(int64_t *ring, uint32_t n, uint32_t *cursor, int64_t now);

/* ---- a zone: the limiters of every key ---- */

typedef struct cc_rl_zone cc_rl_zone;

/* What other instances reported for one key (distributed mode): count events inside the
 * window, oldest the oldest of them. Returns false when nothing is known. */
typedef bool (*cc_rl_others_fn)(void *ctx, const char *key, size_t keylen, int64_t now,
                                int64_t window, uint32_t *count, int64_t *oldest);

/** A zone allowing max_events per window per key, or NULL when out of memory. */
cc_rl_zone *cc_rl_zone_new(uint32_t max_events, int64_t window);
void cc_rl_zone_free(cc_rl_zone *z);
/** How often a shard forgets expired keys (checked whenever a request locks it). */
void cc_rl_zone_set_sweep(cc_rl_zone *z, int64_t every);
uint32_t cc_rl_zone_max_events(const cc_rl_zone *z);
int64_t cc_rl_zone_window(const cc_rl_zone *z);

/** Decides one event for key at now: true when allowed (and recorded); false with *wait
 * (>= 0) when refused. With others (may be NULL) the counts other instances reported are
 * added first, as the plugin's distributed mode does. When a new key cannot be stored
 * (out of memory) the event is allowed. */
bool cc_rl_zone_take(cc_rl_zone *z, const char *key, size_t keylen, int64_t now,
                     cc_rl_others_fn others, void *octx, int64_t *wait);
/** Forgets every key whose newest event is older than one window; returns how many. */
size_t cc_rl_zone_sweep(cc_rl_zone *z, int64_t now);
/** Number of keys held. */
size_t cc_rl_zone_keys(cc_rl_zone *z);

/* Calls fn for every key with at least one event in the window (count, oldest). Shards
 * are locked one at a time, so fn must not call back into the zone. */
typedef void (*cc_rl_each_fn)(void *ctx, const char *key, size_t keylen, uint32_t count,
                              int64_t oldest);
void cc_rl_zone_each(cc_rl_zone *z, int64_t now, cc_rl_each_fn fn, void *ctx);

/** A keyed 64-bit hash of a byte string (the zone tables' and the snapshot's). */
uint64_t cc_rl_hash(uint64_t seed, const void *p, size_t n);

#endif
