/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for rate_limit at run time: the ring buffer's precision under a fake
 * clock, keys and prefixes, zone matching and ordering, sweeping, state kept across
 * reloads, the 429 error with Retry-After, log throttling, and distributed counts shared
 * by two simulated instances through one storage. */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../core/handler.h"
#include "../../core/storage.h"
#include "../../handlers/handlers.h"
#include "../../handlers/ratelimit.h"
#include "../../storage/memory.h"
#include "../t.h"
#include "core_rt.h"

#define SEC 1000000000LL
#define MS 1000000LL

static int64_t fake_now = 1000 * SEC;
static int64_t fake_clock(void)
{
    return fake_now;
}

/* ---- a loaded "config": one rate_limit handler ---- */

typedef struct conf {
    cc_arena *a;
    cc_err err;
    cc_prov prov;
    cc_handler *h;
} conf;

static conf *load(const char *json, cc_storage *st)
{
    conf *c = calloc(1, sizeof(*c));
    c->a = cc_arena_new(0);
    c->prov.a = c->a;
    c->prov.err = &c->err;
    c->prov.storage = st;
    c->h = cc_handler_provision(J(c->a, json), &c->prov);
    return c;
}

static void unload(conf *c)
{
    cc_prov_cleanup(&c->prov);
    cc_arena_free(c->a);
    free(c);
}

static cc_arena *RA;

typedef struct res {
    int status; /* 200 when the handler passed the request on */
    const char *retry_after;
    const char *zone;
} res;

static res run(conf *c, const char *method, const char *client)
{
    cc_req *r = R(RA, method, "/", "example.com");
    if (client)
        cc_headers_add(RA, &r->headers, "X-Client", client);
    int rc = c->h->type->handle(c->h, r, NULL);
    res out = {rc == CC_OK ? 200 : r->err.status, cc_headers_get(&r->resp.headers, "Retry-After"),
               cc_vars_get(&r->vars, "http.rate_limit.exceeded.name")};
    return out;
}

/* Counts how many of n requests got through. */
static int allowed(conf *c, const char *method, const char *client, int n)
{
    int ok = 0;
    for (int i = 0; i < n; i++)
        ok += run(c, method, client).status == 200;
    return ok;
}

#define ZONE(name, key, ev, win)                                                                   \
    "\"" name "\":{\"key\":\"" key "\",\"max_events\":" #ev ",\"window\":" win "}"

/* ---- tests ---- */

static void test_ring(void)
{
    int64_t ring[3] = {CC_RL_EMPTY, CC_RL_EMPTY, CC_RL_EMPTY};
    uint32_t cur = 0;
    int64_t w = 10 * SEC, t0 = 50 * SEC;
    T_INT(cc_rl_ring_when(ring, 3, &cur, w, t0), 0);
    T_INT(cc_rl_ring_when(ring, 3, &cur, w, t0 + 1 * SEC), 0);
    T_INT(cc_rl_ring_when(ring, 3, &cur, w, t0 + 2 * SEC), 0);
    T_INT(cur, 0);
    /* the 4th waits until the oldest leaves the window, nothing is reserved */
    T_INT(cc_rl_ring_when(ring, 3, &cur, w, t0 + 3 * SEC), 7 * SEC);
    T_INT(cc_rl_ring_when(ring, 3, &cur, w, t0 + 9 * SEC + 999), 1 * SEC - 999);
    T_INT(cur, 0);
    int64_t oldest;
    T_INT(cc_rl_ring_count(ring, 3, cur, w, t0 + 5 * SEC, &oldest), 3);
    T_INT(oldest, t0);
    T_INT(cc_rl_ring_count(ring, 3, cur, w, t0 + w + SEC / 2, &oldest), 2);
    T_INT(oldest, t0 + 1 * SEC);
    /* exactly one window old is not "more than" a window: wait 0, nothing recorded */
    T_INT(cc_rl_ring_when(ring, 3, &cur, w, t0 + w), 0);
    T_INT(cur, 0);
    T_INT(cc_rl_ring_when(ring, 3, &cur, w, t0 + w + 1), 0);
    T_INT(cur, 1);
    T_INT(ring[0], t0 + w + 1);
    T_INT(cc_rl_ring_count(ring, 3, cur, w, t0 + 100 * SEC, &oldest), 0);
    T_INT(oldest, CC_RL_EMPTY);
    /* zero events: everything refused */
    T_INT(cc_rl_ring_when(NULL, 0, &cur, w, t0), w);
}

static void test_window(void)
{
    conf *c = load("{\"handler\":\"rate_limit\",\"rate_limits\":{" ZONE(
                       "w1", "{http.request.header.X-Client}", 5, "2000000000") "}}",
                   NULL);
    T_OK(c->h, "provision: %s", c->err.msg);
    if (!c->h)
        return;
    int64_t t0 = fake_now;
    T_INT(allowed(c, "GET", "a", 5), 5);
    fake_now = t0 + 500 * MS;
    res x = run(c, "GET", "a");
    T_INT(x.status, 429);
    T_STR(x.retry_after, "2"); /* 1.5 s + 0.5 */
    T_STR(x.zone, "w1");
    fake_now = t0 + 1800 * MS;
    x = run(c, "GET", "a");
    T_INT(x.status, 429);
    T_STR(x.retry_after, "1"); /* 0.2 s + 0.5 rounds to 1 */
    /* another key has its own limiter */
    T_INT(allowed(c, "GET", "b", 5), 5);
    T_INT(run(c, "GET", "b").status, 429);
    /* right after the window: allowed again, one by one as the events age out */
    fake_now = t0 + 2 * SEC + 1;
    T_INT(allowed(c, "GET", "a", 6), 5);
    unload(c);
}

static void test_static_key_and_prefix(void)
{
    conf *c = load(
        "{\"handler\":\"rate_limit\",\"rate_limits\":{" ZONE("st", "all", 2, "60000000000") "}}",
        NULL);
    T_OK(c->h, "provision: %s", c->err.msg);
    T_INT(allowed(c, "GET", "a", 1) + allowed(c, "GET", "b", 1) + allowed(c, "GET", "c", 1), 2);
    unload(c);

    c = load("{\"handler\":\"rate_limit\",\"rate_limits\":{\"pf\":{\"key\":\"{http.request.header."
             "X-Client}\",\"max_events\":2,\"window\":60000000000,\"ipv4_prefix\":24,"
             "\"ipv6_prefix\":64}}}",
             NULL);
    T_OK(c->h, "provision: %s", c->err.msg);
    T_INT(allowed(c, "GET", "10.0.0.1", 1), 1);
    T_INT(allowed(c, "GET", "10.0.0.200", 2), 1); /* same /24 */
    T_INT(allowed(c, "GET", "10.0.1.1", 2), 2);   /* another /24 */
    T_INT(allowed(c, "GET", "2001:db8:1:2::1", 1), 1);
    T_INT(allowed(c, "GET", "2001:db8:1:2:ffff::9", 2), 1); /* same /64 */
    T_INT(allowed(c, "GET", "2001:db8:1:3::1", 2), 2);
    T_INT(allowed(c, "GET", "::ffff:10.0.0.7", 1), 0); /* IPv4-mapped: the first /24 */
    T_INT(allowed(c, "GET", "not-an-ip", 3), 2);
    unload(c);
}

static void add_count(void *p, const char *k, size_t kl, uint32_t cnt, int64_t o)
{
    (void)k;
    (void)kl;
    (void)o;
    *(uint32_t *)p += cnt;
}

static void test_match_and_order(void)
{
    conf *c = load("{\"handler\":\"rate_limit\",\"rate_limits\":{\"posts\":{\"key\":\"p\","
                   "\"max_events\":2,\"window\":60000000000,\"match\":[{\"method\":[\"POST\"]}]}}}",
                   NULL);
    T_OK(c->h, "provision: %s", c->err.msg);
    T_INT(allowed(c, "GET", NULL, 10), 10);
    T_INT(allowed(c, "POST", NULL, 3), 2);
    T_INT(allowed(c, "GET", NULL, 2), 2);
    unload(c);

    /* "loose" sorts after "tight" whatever the JSON order, so a request refused by
     * "tight" was never counted by "loose" */
    c = load("{\"handler\":\"rate_limit\",\"rate_limits\":{" ZONE(
                 "loose", "k", 100, "1000000000") "," ZONE("tight", "k", 2, "1000000000") "}}",
             NULL);
    T_OK(c->h, "provision: %s", c->err.msg);
    T_INT(allowed(c, "GET", NULL, 2), 2);
    res x = run(c, "GET", NULL);
    T_INT(x.status, 429);
    T_STR(x.zone, "tight");
    cc_rl_inst *in = cc_rl_inst_current();
    cc_rl_zone *loose = cc_rl_inst_acquire(in, "loose", 100, SEC);
    uint32_t n = 0;
    cc_rl_zone_each(loose, fake_now, add_count, &n);
    T_INT(n, 2);
    cc_rl_inst_release(in, loose);
    unload(c);
}

static void test_sweep(void)
{
    cc_rl_zone *z = cc_rl_zone_new(3, 10 * SEC);
    cc_rl_zone_set_sweep(z, 60 * SEC);
    int64_t t = 5000 * SEC, wait;
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "old%d", i);
        cc_rl_zone_take(z, key, strlen(key), t, NULL, NULL, &wait);
    }
    T_INT(cc_rl_zone_keys(z), 1000);
    T_INT(cc_rl_zone_sweep(z, t + 10 * SEC), 0); /* not yet older than the window */
    cc_rl_zone_take(z, "old1", 4, t + 5 * SEC, NULL, NULL, &wait);
    T_INT(cc_rl_zone_sweep(z, t + 11 * SEC), 999);
    T_INT(cc_rl_zone_keys(z), 1);
    /* the request path sweeps each shard it locks once the interval has passed */
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "old%d", i);
        cc_rl_zone_take(z, key, strlen(key), t + 20 * SEC, NULL, NULL, &wait);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "new%d", i);
        cc_rl_zone_take(z, key, strlen(key), t + 200 * SEC, NULL, NULL, &wait);
    }
    T_INT(cc_rl_zone_keys(z), 1000);
    cc_rl_zone_free(z);
}

typedef struct hammer {
    cc_rl_zone *z;
    int allowed;
} hammer;

static void *hammer_main(void *p)
{
    hammer *h = p;
    int64_t wait;
    for (int i = 0; i < 2000; i++) {
        const char *key = i % 2 ? "shared" : "other";
        h->allowed += cc_rl_zone_take(h->z, key, strlen(key), 7000 * SEC + i, NULL, NULL, &wait);
    }
    return NULL;
}

/* Workers on many threads share one limiter exactly: no event lost or double-counted. */
static void test_threads(void)
{
    cc_rl_zone *z = cc_rl_zone_new(300, 3600 * SEC);
    pthread_t th[8];
    hammer hs[8];
    for (int i = 0; i < 8; i++) {
        hs[i] = (hammer){z, 0};
        pthread_create(&th[i], NULL, hammer_main, &hs[i]);
    }
    int total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += hs[i].allowed;
    }
    T_INT(total, 600);
    cc_rl_zone_free(z);
}

static void test_reload(void)
{
    const char *cfg = "{\"handler\":\"rate_limit\",\"rate_limits\":{" ZONE(
        "rl", "{http.request.header.X-Client}", 3, "10000000000") "}}";
    conf *c1 = load(cfg, NULL);
    T_OK(c1->h, "provision: %s", c1->err.msg);
    T_INT(allowed(c1, "GET", "a", 4), 3);
    /* a reload provisions the new config before the old one is cleaned up */
    conf *c2 = load(cfg, NULL);
    T_INT(run(c2, "GET", "a").status, 429);
    unload(c1);
    T_INT(run(c2, "GET", "a").status, 429);
    T_INT(allowed(c2, "GET", "b", 1), 1);
    /* changed parameters start fresh */
    conf *c3 = load("{\"handler\":\"rate_limit\",\"rate_limits\":{" ZONE(
                        "rl", "{http.request.header.X-Client}", 4, "10000000000") "}}",
                    NULL);
    T_INT(allowed(c3, "GET", "a", 5), 4);
    /* the old config still in flight keeps its own zone */
    T_INT(run(c2, "GET", "a").status, 429);
    unload(c2);
    /* and once every user is gone, the next config starts from zero */
    unload(c3);
    conf *c4 = load(cfg, NULL);
    T_INT(allowed(c4, "GET", "a", 3), 3);
    unload(c4);
}

static void test_errors_and_jitter(void)
{
    conf *c = load("{\"handler\":\"rate_limit\",\"rate_limits\":{\"x\":{\"max_events\":1}}}", NULL);
    T_OK(!c->h, "no window accepted");
    T_HAS(c->err.msg, "setting up rate limit x: window must be greater than zero");
    unload(c);
    c = load("{\"handler\":\"rate_limit\",\"jitter\":-1}", NULL);
    T_HAS(c->err.msg, "jitter must be at least zero");
    unload(c);
    c = load("{\"handler\":\"rate_limit\",\"rate_limits\":{\"x\":{\"max_events\":1,\"window\":1,"
             "\"ipv4_prefix\":33}}}",
             NULL);
    T_HAS(c->err.msg, "ipv4_prefix must be between 0 and 32");
    unload(c);
    c = load("{\"handler\":\"rate_limit\",\"distributed\":{}}", NULL);
    T_HAS(c->err.msg, "distributed rate limiting needs a storage");
    unload(c);

    c = load("{\"handler\":\"rate_limit\",\"jitter\":1,\"rate_limits\":{" ZONE("j", "k", 1,
                                                                               "\"10s\"") "}}",
             NULL);
    T_OK(c->h, "provision: %s", c->err.msg);
    T_INT(allowed(c, "GET", NULL, 1), 1);
    fake_now += 2 * SEC; /* wait 8 s, with jitter in [8, 16] s */
    bool in_range = true, varied = false;
    const char *first = NULL;
    for (int i = 0; i < 50; i++) {
        res x = run(c, "GET", NULL);
        int v = x.retry_after ? atoi(x.retry_after) : -1;
        in_range = in_range && v >= 8 && v <= 17;
        if (first && x.retry_after && strcmp(first, x.retry_after) != 0)
            varied = true;
        first = first ? first : x.retry_after;
    }
    T_OK(in_range, "Retry-After with jitter out of [8, 17]");
    T_OK(varied, "jitter never changed Retry-After");
    unload(c);
}

/* Counts lines containing what in the file at path. */
static int count_lines(const char *path, const char *what, char *last, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, what)) {
            n++;
            snprintf(last, cap, "%s", line);
        }
    fclose(f);
    return n;
}

static void test_log_throttle(void)
{
    char path[] = "/tmp/rl_logXXXXXX";
    int fd = mkstemp(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    conf *c = load("{\"handler\":\"rate_limit\",\"log_key\":true,\"rate_limits\":{" ZONE(
                       "lg", "{http.request.header.X-Client}", 1, "60000000000") "}}",
                   NULL);
    allowed(c, "GET", "flood", 101);
    fake_now += 1500 * MS;
    allowed(c, "GET", "flood", 1);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    char last[2048] = "";
    T_INT(count_lines(path, "rate limit exceeded", last, sizeof(last)), 2);
    T_HAS(last, "\"zone\":\"lg\"");
    T_HAS(last, "\"key\":\"flood\"");
    T_HAS(last, "\"remote_ip\":\"10.1.2.3\"");
    T_HAS(last, "\"suppressed\":99");
    T_HAS(last, "\"wait\":58.5");
    unlink(path);
    unload(c);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_distributed(void)
{
    cc_rl_clock_set(NULL); /* the thread's timestamps and the decisions share a real clock */
    cc_err err = {0};
    cc_storage *st = cc_storage_memory_open(&err);
    T_OK(st, "memory storage: %s", err.msg);
    if (!st)
        return;
    const char *cfg = "{\"handler\":\"rate_limit\",\"rate_limits\":{" ZONE(
        "dz", "{http.request.header.X-Client}", 5,
        "60000000000") "},\"distributed\":{\"read_interval\":50000000,"
                       "\"write_interval\":50000000,\"purge_age\":3600000000000}}";
    cc_rl_inst_select("instance-a");
    conf *a = load(cfg, st);
    T_OK(a->h, "provision a: %s", a->err.msg);
    cc_rl_inst_select("instance-b");
    conf *b = load(cfg, st);
    T_OK(b->h, "provision b: %s", b->err.msg);
    cc_rl_inst_select(NULL);
    if (!a->h || !b->h)
        return;
    T_INT(allowed(a, "GET", "k", 3), 3);
    /* b does not know yet */
    T_INT(allowed(b, "GET", "other", 1), 1);
    sleep_ms(300);
    T_OK(st->ops->exists(st, "rate_limit/instances/instance-a.rlstate"), "a's state stored");
    T_INT(allowed(b, "GET", "k", 3), 2); /* 3 of a's + 2 of b's */
    res x = run(b, "GET", "k");
    T_INT(x.status, 429);
    int ra = x.retry_after ? atoi(x.retry_after) : -1;
    T_OK(ra >= 59 && ra <= 60, "Retry-After %d", ra);
    sleep_ms(300);
    T_INT(allowed(a, "GET", "k", 1), 0); /* a sees b's 2 */
    T_INT(allowed(a, "GET", "other", 4), 4);

    /* a stale state is purged; a corrupt one is ignored */
    char stale[128];
    snprintf(stale, sizeof(stale), "caddy-c-rlstate 1 %lld\nz 2\ndz\nk 5 1 1\nz\n", 1000LL);
    st->ops->store(st, "rate_limit/instances/stale.rlstate", stale, strlen(stale), NULL);
    st->ops->store(st, "rate_limit/instances/bad.rlstate", "garbage", 7, NULL);
    sleep_ms(300);
    T_OK(!st->ops->exists(st, "rate_limit/instances/stale.rlstate"), "stale state purged");
    T_INT(allowed(b, "GET", "z", 5), 5);
    unload(a);
    unload(b);
    st->ops->close(st);
    cc_rl_clock_set(fake_clock);
}

/* A zone's rings start small and grow: every decision (allowed or not, and the wait)
 * must equal the plugin's full-size ring, for sizes around the growth steps and random
 * event times, including events that expire while a ring is still small. */
static void test_growing_ring(void)
{
    static const uint32_t maxes[] = {1, 2, 7, 8, 9, 16, 17, 100, 1000};
    uint64_t x = 12345;
    for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
        uint32_t max = maxes[m];
        int64_t window = 10 * SEC;
        cc_rl_zone *z = cc_rl_zone_new(max, window);
        int64_t *ref = malloc(max * sizeof(*ref));
        for (uint32_t i = 0; i < max; i++)
            ref[i] = CC_RL_EMPTY;
        uint32_t cur = 0;
        int64_t t = 1000 * SEC;
        int same = 0, total = 0, denied = 0;
        for (int i = 0; i < 6000; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            /* bursts (1 ms apart) and, about every 1,024 events, a pause of up to 12 s */
            t += (x >> 54) != 0 ? 1000000 : (int64_t)((x >> 20) % (12 * SEC));
            int64_t want = cc_rl_ring_when(ref, max, &cur, window, t);
            int64_t wait = 0;
            bool ok = cc_rl_zone_take(z, "k", 1, t, NULL, NULL, &wait);
            total++;
            denied += !ok;
            same += ok == (want == 0) && (ok || wait == want);
        }
        T_OK(same == total && denied > 0,
             "max %u: %d of %d decisions equal the full ring (%d denied)", max, same, total,
             denied);
        free(ref);
        cc_rl_zone_free(z);
    }
}

/* What other instances reported, as the distributed test below sets it step by step. */
typedef struct others_stub {
    bool known;
    uint32_t count;
    int64_t oldest;
} others_stub;

static bool others_stub_fn(void *ctx, const char *key, size_t keylen, int64_t now, int64_t window,
                           uint32_t *count, int64_t *oldest)
{
    (void)key;
    (void)keylen;
    (void)now;
    (void)window;
    const others_stub *o = ctx;
    *count = o->count;
    *oldest = o->oldest;
    return o->known;
}

/* The zone's distributed decision (the plugin's) on a full-size ring. */
static bool ref_distributed(int64_t *ring, uint32_t max, uint32_t *cur, int64_t window, int64_t now,
                            const others_stub *o, int64_t *wait)
{
    int64_t horizon = now - window, oldest = now, lold;
    uint64_t total = o->known ? o->count : 0;
    if (o->known && o->oldest != CC_RL_EMPTY && o->oldest < oldest && o->oldest > horizon)
        oldest = o->oldest;
    if (total < max) {
        total += cc_rl_ring_count(ring, max, *cur, window, now, &lold);
        if (lold != CC_RL_EMPTY && lold < oldest && lold > horizon)
            oldest = lold;
        if (total < max) {
            cc_rl_ring_reserve(ring, max, cur, now);
            return true;
        }
    }
    *wait = oldest + window - now > 0 ? oldest + window - now : 0;
    return false;
}

typedef struct one_key {
    int calls;
    uint32_t count;
    int64_t oldest;
} one_key;

static void each_one_key(void *p, const char *k, size_t kl, uint32_t cnt, int64_t o)
{
    (void)k;
    (void)kl;
    one_key *r = p;
    r->calls++;
    r->count = cnt;
    r->oldest = o;
}

/* A decision reads the oldest slot from the limiter's copy of the ring line the cursor is
 * in, and every recorded event goes to both. For sizes that end inside a line (3, 13,
 * 100) and around line sizes, with local and distributed events mixed, ties at exactly
 * one window, pauses that expire everything while the ring is small, growth and many
 * wrap-arounds: every decision and wait equals the full-size ring's, what
 * cc_rl_zone_each reads from the ring (count and oldest) equals the full ring's after
 * every event, and a sweep forgets the key exactly when all its events expired. */
static void test_ring_mirror(void)
{
    static const uint32_t maxes[] = {3, 13, 100, 8, 16, 24, 41};
    uint64_t x = 987654321;
    for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
        uint32_t max = maxes[m];
        int64_t window = 1000; /* coarse ticks: events often land exactly one window apart */
        cc_rl_zone *z = cc_rl_zone_new(max, window);
        int64_t *ref = malloc(max * sizeof(*ref));
        for (uint32_t i = 0; i < max; i++)
            ref[i] = CC_RL_EMPTY;
        uint32_t cur = 0;
        int64_t t = 1000000;
        int steps = 0, same = 0, scans = 0, denied = 0, local = 0, sweeps = 0, swept = 0;
        int forgot = 0;
        for (int i = 0; i < 20000; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            uint32_t r = (uint32_t)(x >> 33);
            /* about the rate the zone allows, with same-time bursts and pauses */
            if (r % 100 < 2)
                t += window + 1 + (int64_t)(r >> 8) % window;
            else if (r % 100 >= 10)
                t += 1 + (int64_t)(r >> 8) % (3 * window / max + 1);
            others_stub o = {(r >> 20) % 2 == 0, (r >> 21) % (max + 1), CC_RL_EMPTY};
            if ((r >> 24) % 2)
                o.oldest = t - (int64_t)((r >> 25) % (uint32_t)(window + 2));
            bool dist = (r >> 28) % 4 == 0;
            int64_t want = 0, wait = -1;
            bool want_ok, ok;
            if (dist) {
                want_ok = ref_distributed(ref, max, &cur, window, t, &o, &want);
                ok = cc_rl_zone_take(z, "k", 1, t, others_stub_fn, &o, &wait);
            } else {
                want = cc_rl_ring_when(ref, max, &cur, window, t);
                want_ok = want == 0;
                ok = cc_rl_zone_take(z, "k", 1, t, NULL, NULL, &wait);
                local++;
            }
            steps++;
            denied += !ok;
            same += ok == want_ok && (ok || wait == want);

            int64_t rold;
            uint32_t rc = cc_rl_ring_count(ref, max, cur, window, t, &rold);
            one_key got = {0, 0, CC_RL_EMPTY};
            cc_rl_zone_each(z, t, each_one_key, &got);
            scans += got.calls == (rc > 0) && (rc == 0 || (got.count == rc && got.oldest == rold));

            if ((r >> 29) % 8 == 0 && r % 100 < 2) {
                /* a sweep a while after, sometimes after everything expired */
                t += (int64_t)(r >> 8) % (2 * window);
                int64_t newest = ref[(cur + max - 1) % max];
                bool gone = newest == CC_RL_EMPTY || newest < t - window;
                size_t n = cc_rl_zone_sweep(z, t);
                sweeps++;
                forgot += gone;
                swept += n == (gone ? 1u : 0u) && cc_rl_zone_keys(z) == (gone ? 0u : 1u);
            }
        }
        T_OK(same == steps && denied > 0 && denied < steps && local > 0 && local < steps,
             "max %u: %d of %d decisions equal the full ring (%d denied, %d local)", max, same,
             steps, denied, local);
        T_OK(scans == steps, "max %u: %d of %d counts from the ring equal the full ring's", max,
             scans, steps);
        T_OK(forgot > 0 && forgot < sweeps && swept == sweeps,
             "max %u: %d of %d sweeps right (%d forgot the key)", max, swept, sweeps, forgot);
        free(ref);
        cc_rl_zone_free(z);
    }
}

#define PROBE_KEYS 8000

static void each_mark(void *p, const char *k, size_t kl, uint32_t cnt, int64_t o)
{
    (void)o;
    int *seen = p;
    char buf[16];
    if (kl >= sizeof(buf) || cnt != 1)
        return;
    memcpy(buf, k, kl);
    buf[kl] = '\0';
    int i = atoi(buf + 1);
    if (buf[0] == 's' && i >= 0 && i < PROBE_KEYS)
        seen[i]++;
}

/* Sweeps delete from the open-addressing tables by shifting later entries of a probe run
 * back: after sweeps that delete a random part of the keys (a tenth to nine tenths, with
 * shards filled up to half), every key left is still found (its next event in the window
 * is refused; a lost key would be inserted again and allowed), each visits exactly those,
 * and deleted keys come back as new ones. */
static void test_sweep_probing(void)
{
    int64_t w = 100 * SEC, t = 10000 * SEC, wait;
    cc_rl_zone *z = cc_rl_zone_new(1, w);
    cc_rl_zone_set_sweep(z, 1000000 * SEC); /* only the explicit sweeps below */
    static bool live[PROBE_KEYS], kept[PROBE_KEYS];
    static int seen[PROBE_KEYS];
    static const int pct[] = {50, 10, 90, 30, 70, 100, 0, 60};
    uint64_t x = 4242;
    char key[16];
    for (size_t round = 0; round < sizeof(pct) / sizeof(pct[0]); round++, t += 2 * w) {
        size_t nkept = 0;
        int fresh = 0;
        for (int i = 0; i < PROBE_KEYS; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            kept[i] = (int)((x >> 33) % 100) < pct[round];
            if (!kept[i])
                continue;
            snprintf(key, sizeof(key), "s%d", i);
            fresh += cc_rl_zone_take(z, key, strlen(key), t, NULL, NULL, &wait);
            nkept++;
            live[i] = true;
        }
        T_INT(fresh, nkept); /* every earlier event is two windows old */
        size_t before = 0;
        for (int i = 0; i < PROBE_KEYS; i++)
            before += live[i];
        T_INT(cc_rl_zone_sweep(z, t + w / 2), before - nkept);
        T_INT(cc_rl_zone_keys(z), nkept);
        memset(seen, 0, sizeof(seen));
        cc_rl_zone_each(z, t + w / 2, each_mark, seen);
        int right = 0, found = 0, back = 0;
        for (int i = 0; i < PROBE_KEYS; i++) {
            right += seen[i] == (kept[i] ? 1 : 0);
            live[i] = kept[i];
        }
        T_INT(right, PROBE_KEYS);
        for (int i = 0; i < PROBE_KEYS; i++) {
            snprintf(key, sizeof(key), "s%d", i);
            if (kept[i]) {
                wait = 0;
                found += !cc_rl_zone_take(z, key, strlen(key), t + w / 2, NULL, NULL, &wait) &&
                         wait == w / 2;
            } else if (i % 3 == 0) {
                /* a deleted key is new again: allowed, and held from now on */
                back += cc_rl_zone_take(z, key, strlen(key), t + w / 2, NULL, NULL, &wait);
                live[i] = true;
            }
        }
        T_INT(found, nkept);
        size_t nback = 0;
        for (int i = 0; i < PROBE_KEYS; i++)
            nback += !kept[i] && i % 3 == 0;
        T_INT(back, nback);
        T_INT(cc_rl_zone_keys(z), nkept + nback);
    }
    size_t held = cc_rl_zone_keys(z);
    T_OK(held > 0, "keys held before the last sweep");
    T_INT(cc_rl_zone_sweep(z, t + 10 * w), held);
    T_INT(cc_rl_zone_keys(z), 0);
    int again = 0;
    for (int i = 0; i < PROBE_KEYS; i++) {
        snprintf(key, sizeof(key), "s%d", i);
        again += cc_rl_zone_take(z, key, strlen(key), t + 10 * w, NULL, NULL, &wait);
    }
    T_INT(again, PROBE_KEYS);
    T_INT(cc_rl_zone_keys(z), PROBE_KEYS);
    cc_rl_zone_free(z);
}

/* ---- keys inline in the table entry or on the heap ---- */

#define LK_KEYS 3000
#define LK_MAX 12 /* rings grow 8 -> 12 */

/* Key i: its number, then filler that depends on i, to a length around the inline
 * space (35, 36, 37 bytes) and well beyond it; every ninth key differs from the one
 * before only after its 40th byte (same filler, same length). */
static size_t lk_key(int i, char *buf)
{
    static const size_t lens[] = {6, 35, 36, 37, 64, 65, 127, 300, 1000};
    size_t len = lens[i % 9];
    int n = snprintf(buf, 16, "%d.", i);
    for (size_t j = (size_t)n; j < len; j++)
        buf[j] = (char)('a' + (i * 7 + (int)j) % 26);
    if (i % 9 == 8) {
        /* long keys whose first 40 bytes are one shared prefix, the number at the end */
        memset(buf, 'p', 40);
        for (int d = 0, v = i; d < 8; d++, v /= 10)
            buf[len - 1 - d] = (char)('0' + v % 10);
    }
    return len;
}

/* Events key i takes in a round: 1 to 14, so some rings grow and some stay full. */
static int lk_events(int i, int round)
{
    return 1 + (i * 5 + round) % 14;
}

typedef struct lk_seen {
    int seen[LK_KEYS];
    uint32_t count[LK_KEYS];
    int bad; /* keys reported that are no key of the test, or with the wrong bytes */
    int empty;
} lk_seen;

static void each_lk(void *p, const char *k, size_t kl, uint32_t cnt, int64_t o)
{
    (void)o;
    lk_seen *s = p;
    if (kl == 0) {
        s->empty++;
        return;
    }
    char num[16] = "", buf[1024];
    int i = -1;
    if (kl > 40 && k[0] == 'p') {
        memcpy(num, k + kl - 8, 8);
        i = atoi(num);
    } else if (kl < sizeof(buf)) {
        memcpy(num, k, kl < 15 ? kl : 15);
        i = atoi(num);
    }
    if (i < 0 || i >= LK_KEYS || lk_key(i, buf) != kl || memcmp(buf, k, kl) != 0) {
        s->bad++;
        return;
    }
    s->seen[i]++;
    s->count[i] = cnt;
}

/* Short keys held in the entry and long ones on the heap, mixed in the same shards:
 * over rounds that keep a random part of the keys, each key's events are counted apart
 * from every other's (also those sharing their first 40 bytes), across table growth,
 * ring growth, and sweeps that shift entries back; each() reports every key held with
 * its exact bytes; freed keys come back as new ones. ASan checks the heap copies. */
static void test_long_keys(void)
{
    int64_t w = 100 * SEC, t = 20000 * SEC, wait;
    cc_rl_zone *z = cc_rl_zone_new(LK_MAX, w);
    cc_rl_zone_set_sweep(z, 1000000 * SEC);
    static bool live[LK_KEYS], kept[LK_KEYS];
    static lk_seen seen;
    static const int pct[] = {100, 40, 80, 10, 60};
    static char key[1024];
    uint64_t x = 777;
    for (int round = 0; round < (int)(sizeof(pct) / sizeof(pct[0])); round++, t += 2 * w) {
        size_t nkept = 0;
        int right = 0;
        for (int i = 0; i < LK_KEYS; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            kept[i] = (int)((x >> 33) % 100) < pct[round];
            if (!kept[i])
                continue;
            size_t kl = lk_key(i, key);
            int e = lk_events(i, round), ok = 0;
            /* one event now, the others a little later, interleaved with other keys */
            ok += cc_rl_zone_take(z, key, kl, t, NULL, NULL, &wait);
            for (int k = 1; k < e; k++)
                ok += cc_rl_zone_take(z, key, kl, t + k, NULL, NULL, &wait);
            right += ok == (e < LK_MAX ? e : LK_MAX);
            nkept++;
            live[i] = true;
        }
        T_INT(right, nkept);
        size_t before = 0;
        for (int i = 0; i < LK_KEYS; i++)
            before += live[i];
        T_INT(cc_rl_zone_sweep(z, t + w / 2), before - nkept);
        T_INT(cc_rl_zone_keys(z), nkept);
        memset(&seen, 0, sizeof(seen));
        cc_rl_zone_each(z, t + w / 2, each_lk, &seen);
        int reported = 0;
        for (int i = 0; i < LK_KEYS; i++) {
            int e = lk_events(i, round);
            reported += kept[i]
                            ? seen.seen[i] == 1 && (int)seen.count[i] == (e < LK_MAX ? e : LK_MAX)
                            : seen.seen[i] == 0;
            live[i] = kept[i];
        }
        T_INT(reported, LK_KEYS);
        T_INT(seen.bad, 0);
        T_INT(seen.empty, 0);
        /* the full ones are found and refused, the others take one more */
        int found = 0;
        for (int i = 0; i < LK_KEYS; i++) {
            if (!kept[i])
                continue;
            size_t kl = lk_key(i, key);
            bool full = lk_events(i, round) >= LK_MAX;
            found += cc_rl_zone_take(z, key, kl, t + w / 2, NULL, NULL, &wait) != full;
        }
        T_INT(found, nkept);
    }
    size_t held = cc_rl_zone_keys(z);
    T_OK(held > 0, "keys held before the last sweep");
    T_INT(cc_rl_zone_sweep(z, t + 10 * w), held);
    T_INT(cc_rl_zone_keys(z), 0);
    cc_rl_zone_free(z);

    /* freeing a zone frees the heap copies of the keys it still holds (ASan) */
    z = cc_rl_zone_new(2, w);
    for (int i = 0; i < 200; i++)
        cc_rl_zone_take(z, key, lk_key(i, key), t, NULL, NULL, &wait);
    T_INT(cc_rl_zone_keys(z), 200);
    cc_rl_zone_free(z);
}

/* The empty key is a key like any other: its own limiter, reported with length 0. */
static void test_empty_key(void)
{
    int64_t w = 10 * SEC, t = 30000 * SEC, wait = 0;
    cc_rl_zone *z = cc_rl_zone_new(2, w);
    T_OK(cc_rl_zone_take(z, "", 0, t, NULL, NULL, &wait), "empty key: first");
    T_OK(cc_rl_zone_take(z, "", 0, t + 1, NULL, NULL, &wait), "empty key: second");
    T_OK(!cc_rl_zone_take(z, "", 0, t + 2, NULL, NULL, &wait) && wait == w - 2,
         "empty key: third refused (wait %lld)", (long long)wait);
    T_OK(cc_rl_zone_take(z, "a", 1, t + 2, NULL, NULL, &wait), "another key");
    T_OK(cc_rl_zone_take(z, "\0", 1, t + 2, NULL, NULL, &wait), "a NUL byte is not empty");
    T_INT(cc_rl_zone_keys(z), 3);
    static lk_seen seen;
    memset(&seen, 0, sizeof(seen));
    cc_rl_zone_each(z, t + 3, each_lk, &seen);
    T_INT(seen.empty, 1);
    T_INT(cc_rl_zone_sweep(z, t + w + 2), 1); /* the empty key's events are over */
    T_INT(cc_rl_zone_keys(z), 2);
    T_OK(cc_rl_zone_take(z, "", 0, t + w + 2, NULL, NULL, &wait), "empty key again");
    cc_rl_zone_free(z);
}

int main(void)
{
    cc_handler_types_set(cc_handler_types);
    RA = cc_arena_new(0);
    cc_rl_clock_set(fake_clock);
    test_ring();
    test_window();
    test_static_key_and_prefix();
    test_match_and_order();
    test_sweep();
    test_threads();
    test_reload();
    test_errors_and_jitter();
    test_log_throttle();
    test_distributed();
    test_growing_ring();
    test_ring_mirror();
    test_sweep_probing();
    test_long_keys();
    test_empty_key();
    cc_arena_free(RA);
    return t_done();
}
