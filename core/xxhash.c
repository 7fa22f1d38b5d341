/* SPDX-License-Identifier: Apache-2.0
 * XXH64 written from the xxHash specification (doc/xxhash_spec.md): four 64-bit lanes
 * over 32-byte stripes, then the 8/4/1-byte tail and the final avalanche. Checked
 * against libxxhash's output in tests/unit/test_rp_select.c. */
#include "xxhash.h"

#include <string.h>

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

static inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* little-endian loads regardless of the host's byte order */
static inline uint64_t rd64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static inline uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t round1(uint64_t acc, uint64_t in)
{
    acc += in * P2;
    acc = rotl(acc, 31);
    return acc * P1;
}

static inline uint64_t merge(uint64_t acc, uint64_t v)
{
    acc ^= round1(0, v);
    return acc * P1 + P4;
}

void cc_xxh64_init(cc_xxh64_state *s, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    s->seed = seed;
    s->v[0] = seed + P1 + P2;
    s->v[1] = seed + P2;
    s->v[2] = seed;
    s->v[3] = seed - P1;
}

static void stripe(cc_xxh64_state *s, const unsigned char *p)
{
    for (int i = 0; i < 4; i++)
        s->v[i] = round1(s->v[i], rd64(p + 8 * i));
}

void cc_xxh64_update(cc_xxh64_state *s, const void *data, size_t n)
{
    const unsigned char *p = data;
    s->total += n;
    if (s->nbuf) {
        size_t take = 32 - s->nbuf < n ? 32 - s->nbuf : n;
        memcpy(s->buf + s->nbuf, p, take);
        s->nbuf += take;
        p += take;
        n -= take;
        if (s->nbuf < 32)
            return;
        stripe(s, s->buf);
        s->nbuf = 0;
    }
    for (; n >= 32; p += 32, n -= 32)
        stripe(s, p);
    memcpy(s->buf, p, n);
    s->nbuf = n;
}

uint64_t cc_xxh64_digest(const cc_xxh64_state *s)
{
    uint64_t h;
    if (s->total >= 32) {
        h = rotl(s->v[0], 1) + rotl(s->v[1], 7) + rotl(s->v[2], 12) + rotl(s->v[3], 18);
        for (int i = 0; i < 4; i++)
            h = merge(h, s->v[i]);
    } else {
        h = s->seed + P5;
    }
    h += s->total;
    const unsigned char *p = s->buf, *end = s->buf + s->nbuf;
    for (; p + 8 <= end; p += 8) {
        h ^= round1(0, rd64(p));
        h = rotl(h, 27) * P1 + P4;
    }
    if (p + 4 <= end) {
        h ^= (uint64_t)rd32(p) * P1;
        h = rotl(h, 23) * P2 + P3;
        p += 4;
    }
    for (; p < end; p++) {
        h ^= (uint64_t)*p * P5;
        h = rotl(h, 11) * P1;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

uint64_t cc_xxh64(const void *p, size_t n, uint64_t seed)
{
    cc_xxh64_state s;
    cc_xxh64_init(&s, seed);
    cc_xxh64_update(&s, p, n);
    return cc_xxh64_digest(&s);
}
