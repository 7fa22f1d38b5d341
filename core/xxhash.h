/* SPDX-License-Identifier: Apache-2.0
 * XXH64 (seed 0), the hash Caddy's selection policies use for rendezvous hashing
 * (github.com/cespare/xxhash/v2 Sum64). Reproducing it bit for bit keeps a request key
 * mapped to the same upstream as in Caddy. Not a cryptographic hash. */
#ifndef CC_XXHASH_H
#define CC_XXHASH_H

#include <stddef.h>
#include <stdint.h>

/** XXH64 of p[0..n) with the given seed (Caddy uses 0). */
uint64_t cc_xxh64(const void *p, size_t n, uint64_t seed);

/* Streaming form, so two pieces (upstream + key) hash without a joined copy. */
typedef struct cc_xxh64_state {
    uint64_t v[4];
    uint64_t total;
    unsigned char buf[32];
    size_t nbuf;
    uint64_t seed;
} cc_xxh64_state;

void cc_xxh64_init(cc_xxh64_state *s, uint64_t seed);
void cc_xxh64_update(cc_xxh64_state *s, const void *p, size_t n);
uint64_t cc_xxh64_digest(const cc_xxh64_state *s);

#endif
