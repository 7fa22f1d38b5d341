/* SPDX-License-Identifier: Apache-2.0
 * Distributed rate limiting (the plugin's distributed.go, approximately consistent):
 * a background thread writes this instance's counts to the storage every write
 * interval and reads the other instances' every read interval. Workers never touch the
 * storage: they read an immutable snapshot of the others' counts, published by swapping
 * between two slots, each with a reader count the thread waits on before reusing it.
 *
 * State value, our own text format with explicit lengths (keys may hold any byte):
 *     caddy-c-rlstate 1 <unix_ns>\n
 *     z <len>\n<zone name>\n
 *     k <count> <oldest unix_ns> <len>\n<key>\n      (the keys of the zone above)
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/arena.h"
#include "../core/log.h"
#include "../core/rand.h"
#include "ratelimit.h"

#define LOGGER "http.handlers.rate_limit"
#define MAGIC "caddy-c-rlstate 1 "

/* ---- the snapshot of other instances' counts ---- */

typedef struct sent {
    struct sent *next;
    uint64_t hash;
    const char *zone, *key;
    size_t zlen, klen;
    uint32_t count;
    int64_t oldest;  /* cc_rl_now() time base; CC_RL_EMPTY when unknown */
    int64_t inst_ts; /* when that instance wrote its state, same base */
} sent;

typedef struct snap {
    cc_arena *a;
    uint64_t seed;
    sent **b;
    size_t nb;
    sent *all; /* while building */
    size_t n;
} snap;

static uint64_t ent_hash(uint64_t seed, const char *zone, size_t zlen, const char *key, size_t klen)
{
    return cc_rl_hash(cc_rl_hash(seed, zone, zlen), key, klen);
}

static snap *snap_new(void)
{
    cc_arena *a = cc_arena_new(0);
    snap *s = cc_arena_alloc(a, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->a = a;
    s->seed = cc_rand64();
    return s;
}

static void snap_free(snap *s)
{
    if (s)
        cc_arena_free(s->a);
}

static void snap_add(snap *s, const char *zone, size_t zlen, const char *key, size_t klen,
                     uint32_t count, int64_t oldest, int64_t inst_ts)
{
    sent *e = cc_arena_alloc(s->a, sizeof(*e));
    *e = (sent){.zone = zone,
                .zlen = zlen,
                .key = key,
                .klen = klen,
                .count = count,
                .oldest = oldest,
                .inst_ts = inst_ts,
                .next = s->all};
    e->hash = ent_hash(s->seed, zone, zlen, key, klen);
    s->all = e;
    s->n++;
}

static void snap_index(snap *s)
{
    size_t nb = 16;
    while (nb < s->n)
        nb *= 2;
    s->b = cc_arena_alloc(s->a, nb * sizeof(*s->b));
    memset(s->b, 0, nb * sizeof(*s->b));
    s->nb = nb;
    for (sent *e = s->all, *nx; e; e = nx) {
        nx = e->next;
        sent **slot = &s->b[e->hash & (nb - 1)];
        e->next = *slot;
        *slot = e;
    }
    s->all = NULL;
}

struct cc_rl_dist {
    cc_rl_inst *inst;
    cc_storage *st;
    int64_t read_ns, write_ns, purge_ns;
    char *own_key;
    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    /* publication: readers pin the slot they use; only the thread writes slots */
    _Atomic int cur;
    _Atomic long readers[2];
    snap *slot[2];
};

bool cc_rl_dist_others(void *zone_ctx, const char *key, size_t keylen, int64_t now, int64_t window,
                       uint32_t *count, int64_t *oldest)
{
    const cc_rl_dist_zone *dz = zone_ctx;
    cc_rl_dist *d = dz->d;
    int i;
    for (;;) {
        i = atomic_load(&d->cur);
        atomic_fetch_add(&d->readers[i], 1);
        if (atomic_load(&d->cur) == i)
            break;
        atomic_fetch_sub(&d->readers[i], 1);
    }
    const snap *s = d->slot[i];
    bool found = false;
    uint64_t total = 0;
    int64_t old = CC_RL_EMPTY, horizon = now - window;
    if (s && s->nb) {
        size_t zlen = strlen(dz->name);
        uint64_t h = ent_hash(s->seed, dz->name, zlen, key, keylen);
        for (const sent *e = s->b[h & (s->nb - 1)]; e; e = e->next) {
            if (e->hash != h || e->zlen != zlen || e->klen != keylen ||
                memcmp(e->zone, dz->name, zlen) != 0 || memcmp(e->key, key, keylen) != 0)
                continue;
            /* an instance silent for longer than the window no longer counts */
            if (e->inst_ts < horizon)
                continue;
            found = true;
            total += e->count;
            if (e->oldest != CC_RL_EMPTY && e->oldest > horizon &&
                (old == CC_RL_EMPTY || e->oldest < old))
                old = e->oldest;
        }
    }
    atomic_fetch_sub(&d->readers[i], 1);
    *count = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
    *oldest = old;
    return found;
}

/* Publishes s (the thread is the only writer). */
static void publish(cc_rl_dist *d, snap *s)
{
    int spare = 1 - atomic_load(&d->cur);
    struct timespec pause = {0, 50000};
    while (atomic_load(&d->readers[spare]) != 0)
        nanosleep(&pause, NULL);
    snap_free(d->slot[spare]);
    d->slot[spare] = s;
    atomic_store(&d->cur, spare);
}

/* ---- writing our state ---- */

typedef struct buf {
    char *p;
    size_t n, cap;
    bool oom;
} buf;

static void buf_put(buf *b, const void *p, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

typedef struct wctx {
    buf *b;
    int64_t off;
} wctx;

static void write_key(void *ctx, const char *key, size_t keylen, uint32_t count, int64_t oldest)
{
    wctx *w = ctx;
    buf_printf(w->b, "k %" PRIu32 " %" PRId64 " %zu\n", count, oldest + w->off, keylen);
    buf_put(w->b, key, keylen);
    buf_put(w->b, "\n", 1);
}

typedef struct zctx {
    wctx w;
    int64_t now;
} zctx;

static void write_zone(void *ctx, const char *name, cc_rl_zone *z)
{
    zctx *c = ctx;
    size_t n = strlen(name);
    buf_printf(c->w.b, "z %zu\n", n);
    buf_put(c->w.b, name, n);
    buf_put(c->w.b, "\n", 1);
    cc_rl_zone_each(z, c->now, write_key, &c->w);
}

static void sync_write(cc_rl_dist *d)
{
    buf b = {0};
    zctx c = {.w = {.b = &b, .off = cc_rl_wall_offset()}, .now = cc_rl_now()};
    buf_printf(&b, MAGIC "%" PRId64 "\n", c.now + c.w.off);
    cc_rl_inst_each(d->inst, write_zone, &c);
    cc_err err = {0};
    if (b.oom)
        cc_log(CC_LOG_ERROR, LOGGER, NULL, "distributing internal state: out of memory");
    else if (d->st->ops->store(d->st, d->own_key, b.p, b.n, &err) != CC_OK)
        cc_log(CC_LOG_ERROR, LOGGER, NULL, "distributing internal state: %s", err.msg);
    free(b.p);
}

/* ---- reading the others' ---- */

typedef struct rd {
    const char *p, *end;
} rd;

/* The next line (without its '\n') into a bounded buffer; false at the end or when
 * too long to be one of ours. */
static bool rd_line(rd *r, char *out, size_t cap)
{
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    if (!nl || (size_t)(nl - r->p) >= cap)
        return false;
    memcpy(out, r->p, (size_t)(nl - r->p));
    out[nl - r->p] = '\0';
    r->p = nl + 1;
    return true;
}

/* len bytes followed by '\n', copied into the arena. */
static const char *rd_bytes(rd *r, cc_arena *a, size_t len)
{
    if ((size_t)(r->end - r->p) < len + 1 || r->p[len] != '\n')
        return NULL;
    const char *s = cc_arena_strndup(a, r->p, len);
    r->p += len + 1;
    return s;
}

static bool parse_u64(const char **p, uint64_t *v)
{
    char *e;
    errno = 0;
    unsigned long long x = strtoull(*p, &e, 10);
    if (e == *p || errno || (*e != ' ' && *e != '\0') || **p == '-')
        return false;
    *v = x;
    *p = *e ? e + 1 : e;
    return true;
}

static bool parse_i64(const char **p, int64_t *v)
{
    char *e;
    errno = 0;
    long long x = strtoll(*p, &e, 10);
    if (e == *p || errno || (*e != ' ' && *e != '\0'))
        return false;
    *v = x;
    *p = *e ? e + 1 : e;
    return true;
}

/* Parses one instance's state into s (times converted with off = unix - ours). Returns
 * false on a corrupt value (what was added stays: each entry is self-contained). */
static bool parse_state(snap *s, const char *val, size_t n, int64_t off, int64_t *ts_out)
{
    rd r = {val, val + n};
    char line[128];
    if (!rd_line(&r, line, sizeof(line)) || strncmp(line, MAGIC, strlen(MAGIC)) != 0)
        return false;
    const char *p = line + strlen(MAGIC);
    int64_t ts;
    if (!parse_i64(&p, &ts) || *p)
        return false;
    *ts_out = ts;
    const char *zone = NULL;
    size_t zlen = 0;
    while (r.p < r.end) {
        if (!rd_line(&r, line, sizeof(line)))
            return false;
        p = line + 2;
        uint64_t len, count;
        int64_t oldest;
        if (line[0] == 'z' && line[1] == ' ') {
            if (!parse_u64(&p, &len) || *p || !(zone = rd_bytes(&r, s->a, len)))
                return false;
            zlen = len;
        } else if (line[0] == 'k' && line[1] == ' ' && zone) {
            if (!parse_u64(&p, &count) || !parse_i64(&p, &oldest) || !parse_u64(&p, &len) || *p ||
                count > UINT32_MAX)
                return false;
            const char *key = rd_bytes(&r, s->a, len);
            if (!key)
                return false;
            snap_add(s, zone, zlen, key, len, (uint32_t)count,
                     oldest == CC_RL_EMPTY ? CC_RL_EMPTY : oldest - off, ts - off);
        } else {
            return false;
        }
    }
    return true;
}

static void free_keys(char **keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static void sync_read(cc_rl_dist *d)
{
    cc_err err = {0};
    char **keys = NULL;
    size_t nkeys = 0;
    int rc = d->st->ops->list(d->st, CC_RL_STATE_PREFIX, false, &keys, &nkeys, &err);
    if (rc != CC_OK && rc != CC_ENOTFOUND) {
        cc_log(CC_LOG_ERROR, LOGGER, NULL, "syncing distributed limiter states: %s", err.msg);
        return;
    }
    snap *s = snap_new();
    int64_t off = cc_rl_wall_offset();
    int64_t now_wall = cc_rl_now() + off;
    const char *own = strrchr(d->own_key, '/') + 1;
    for (size_t i = 0; i < nkeys; i++) {
        const char *k = keys[i];
        const char *base = strrchr(k, '/') ? strrchr(k, '/') + 1 : k;
        if (!has_suffix(base, ".rlstate") || strcmp(base, own) == 0)
            continue;
        char *full = strchr(k, '/') ? NULL : cc_arena_printf(s->a, CC_RL_STATE_PREFIX "/%s", k);
        const char *key = full ? full : k;
        char *val = NULL;
        size_t n = 0;
        cc_err_clear(&err);
        if (d->st->ops->load(d->st, key, &val, &n, &err) != CC_OK) {
            cc_log(CC_LOG_ERROR, LOGGER, NULL,
                   "unable to load distributed rate limiter state %s: %s", key, err.msg);
            continue;
        }
        /* parse into a scratch snapshot first so a corrupt value adds nothing */
        snap *one = snap_new();
        int64_t ts = 0;
        bool ok = parse_state(one, val, n, off, &ts);
        free(val);
        if (!ok) {
            cc_log(CC_LOG_ERROR, LOGGER, NULL, "corrupted rate limiter state file %s", key);
        } else if (d->purge_ns > 0 && ts < now_wall - d->purge_ns) {
            cc_err_clear(&err);
            if (d->st->ops->del(d->st, key, &err) != CC_OK && err.code != CC_ENOTFOUND)
                cc_log(CC_LOG_ERROR, LOGGER, NULL,
                       "cannot delete stale rate limiter state file %s: %s", key, err.msg);
        } else {
            for (sent *e = one->all; e; e = e->next)
                snap_add(s, cc_arena_strndup(s->a, e->zone, e->zlen), e->zlen,
                         cc_arena_strndup(s->a, e->key, e->klen), e->klen, e->count, e->oldest,
                         e->inst_ts);
        }
        snap_free(one);
    }
    free_keys(keys, nkeys);
    snap_index(s);
    publish(d, s);
}

/* ---- the thread ---- */

static struct timespec mono_after(int64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + ns;
    return (struct timespec){.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *dist_main(void *arg)
{
    cc_rl_dist *d = arg;
    int64_t next_read = mono_ns() + d->read_ns, next_write = mono_ns() + d->write_ns;
    pthread_mutex_lock(&d->mu);
    while (!d->stop) {
        int64_t now = mono_ns();
        int64_t due = next_read < next_write ? next_read : next_write;
        if (now < due) {
            struct timespec at = mono_after(due - now);
            pthread_cond_timedwait(&d->cv, &d->mu, &at);
            continue;
        }
        pthread_mutex_unlock(&d->mu);
        if (now >= next_write) {
            sync_write(d);
            next_write = now + d->write_ns;
        }
        if (now >= next_read) {
            sync_read(d);
            next_read = now + d->read_ns;
        }
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

cc_rl_dist *cc_rl_dist_start(cc_rl_inst *in, cc_storage *st, int64_t read_ns, int64_t write_ns,
                             int64_t purge_ns, cc_err *err)
{
    cc_rl_dist *d = calloc(1, sizeof(*d));
    if (!d) {
        cc_err_set(err, "distributed rate limiting: out of memory");
        return NULL;
    }
    d->inst = in;
    d->st = st;
    d->read_ns = read_ns;
    d->write_ns = write_ns;
    d->purge_ns = purge_ns;
    size_t n = strlen(CC_RL_STATE_PREFIX) + strlen(cc_rl_inst_id(in)) + 16;
    d->own_key = malloc(n);
    if (!d->own_key) {
        free(d);
        cc_err_set(err, "distributed rate limiting: out of memory");
        return NULL;
    }
    snprintf(d->own_key, n, "%s/%s.rlstate", CC_RL_STATE_PREFIX, cc_rl_inst_id(in));
    pthread_mutex_init(&d->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cv, &ca);
    pthread_condattr_destroy(&ca);
    /* know the others' counts before the first request, as the plugin does */
    sync_read(d);
    int rc = pthread_create(&d->th, NULL, dist_main, d);
    if (rc != 0) {
        cc_err_set(err, "distributed rate limiting: cannot start its thread: %s", strerror(rc));
        cc_rl_dist_stop(d);
        return NULL;
    }
    d->started = true;
    return d;
}

void cc_rl_dist_stop(cc_rl_dist *d)
{
    if (!d)
        return;
    if (d->started) {
        pthread_mutex_lock(&d->mu);
        d->stop = true;
        pthread_cond_signal(&d->cv);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->th, NULL);
    }
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    snap_free(d->slot[0]);
    snap_free(d->slot[1]);
    free(d->own_key);
    free(d);
}
