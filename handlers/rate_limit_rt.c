/* SPDX-License-Identifier: Apache-2.0
 * The rate_limit handler at run time (the caddy-ratelimit plugin's semantics,
 * caddy-reference.md 4.3): each zone the request falls in counts it against the limiter
 * of its expanded key; the first zone over its limit fails the request with a 429 error
 * and a Retry-After header, so handle_errors can render it. Zones live in the
 * process-wide registry (ratelimit_reg.c), shared by all workers and kept across
 * reloads; `distributed` adds the other instances' counts (ratelimit_dist.c). */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../caddyfile/units.h"
#include "../core/handler.h"
#include "../core/ipnet.h"
#include "../core/log.h"
#include "../core/match.h"
#include "../core/rand.h"
#include "../core/replacer.h"
#include "ratelimit.h"

#define LOGGER "http.handlers.rate_limit"
#define SEC 1000000000LL

typedef struct rl_zone {
    const char *name;
    cc_tmpl *key; /* NULL: a static key, one limiter for the zone */
    const char *static_key;
    int v4, v6; /* prefix bits, 0 = no masking */
    cc_matchset **sets;
    size_t nsets;
    uint32_t events;
    int64_t window;
    cc_rl_zone *z; /* from the registry; released at cleanup */
    cc_rl_dist_zone dz;
    /* at most one "rate limit exceeded" line per second, with what was held back */
    _Atomic int64_t last_log;
    _Atomic uint64_t suppressed;
} rl_zone;

typedef struct rl_handler {
    cc_handler super;
    rl_zone *zones; /* tightest first */
    size_t nzones;
    double jitter;
    bool log_key;
    cc_rl_inst *inst;
    cc_rl_dist *dist;
} rl_handler;

static int rl_fail(cc_prov *ctx, const cc_cfg *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int rl_fail(cc_prov *ctx, const cc_cfg *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return cc_err_setat(ctx->err, at ? at->file : NULL, at ? at->line : 0, "rate_limit: %s", msg);
}

/* A caddy.Duration: integer nanoseconds or a duration string. */
static int get_dur(cc_prov *ctx, const cc_cfg *obj, const char *name, int64_t *out)
{
    const cc_cfg *v = cc_cfg_get(obj, name);
    *out = 0;
    if (!v || v->type == CC_CFG_NULL)
        return CC_OK;
    if (v->type == CC_CFG_INT) {
        *out = v->i;
        return CC_OK;
    }
    if (v->type == CC_CFG_STR && cc_cf_parse_duration(v->s.p, out) == 0)
        return CC_OK;
    return rl_fail(ctx, v, "%s: invalid duration", name);
}

static int get_int(cc_prov *ctx, const cc_cfg *obj, const char *name, int64_t *out)
{
    const cc_cfg *v = cc_cfg_get(obj, name);
    *out = 0;
    if (!v || v->type == CC_CFG_NULL)
        return CC_OK;
    if (v->type == CC_CFG_INT) {
        *out = v->i;
        return CC_OK;
    }
    if (v->type == CC_CFG_NUM && v->d == (double)(int64_t)v->d) {
        *out = (int64_t)v->d;
        return CC_OK;
    }
    return rl_fail(ctx, v, "%s must be an integer", name);
}

static int zone_provision(rl_handler *h, rl_zone *z, const char *name, const cc_cfg *zc,
                          cc_prov *ctx)
{
    if (!zc || zc->type != CC_CFG_OBJ)
        return rl_fail(ctx, zc, "setting up rate limit %s: zone must be a JSON object", name);
    int64_t events, v4, v6;
    if (get_int(ctx, zc, "max_events", &events) || get_dur(ctx, zc, "window", &z->window) ||
        get_int(ctx, zc, "ipv4_prefix", &v4) || get_int(ctx, zc, "ipv6_prefix", &v6))
        return CC_ERR;
    if (z->window <= 0)
        return rl_fail(ctx, zc, "setting up rate limit %s: window must be greater than zero", name);
    if (events < 0)
        return rl_fail(ctx, zc, "setting up rate limit %s: max_events must be at least zero", name);
    if (events > INT32_MAX)
        return rl_fail(ctx, zc, "setting up rate limit %s: max_events must be at most %d", name,
                       INT32_MAX);
    if (v4 < 0 || v4 > 32)
        return rl_fail(ctx, zc, "setting up rate limit %s: ipv4_prefix must be between 0 and 32",
                       name);
    if (v6 < 0 || v6 > 128)
        return rl_fail(ctx, zc, "setting up rate limit %s: ipv6_prefix must be between 0 and 128",
                       name);
    z->name = name;
    z->events = (uint32_t)events;
    z->v4 = (int)v4;
    z->v6 = (int)v6;
    const char *key = cc_cfg_get_str(zc, "key");
    cc_tmpl *t = cc_tmpl_compile(ctx->a, key ? key : "");
    if (cc_tmpl_dynamic(t))
        z->key = t;
    else
        z->static_key = cc_tmpl_expand(t, NULL, false);

    const cc_cfg *m = cc_cfg_get(zc, "match");
    if (m && m->type != CC_CFG_ARR && m->type != CC_CFG_NULL)
        return rl_fail(ctx, m, "setting up rate limit %s: match must be a JSON array", name);
    z->nsets = cc_cfg_len(m);
    z->sets = cc_arena_alloc(ctx->a, (z->nsets + 1) * sizeof(*z->sets));
    for (size_t i = 0; i < z->nsets; i++) {
        z->sets[i] = cc_matchset_compile(ctx->a, cc_cfg_idx(m, i), ctx->err);
        if (!z->sets[i])
            return CC_ERR;
    }

    z->z = cc_rl_inst_acquire(h->inst, name, z->events, z->window);
    if (!z->z)
        return rl_fail(ctx, zc, "setting up rate limit %s: out of memory", name);
    z->dz = (cc_rl_dist_zone){.d = NULL, .name = name};
    atomic_init(&z->last_log, INT64_MIN);
    atomic_init(&z->suppressed, 0);
    return CC_OK;
}

/* Tightest first (fewest events per unit of window), so that a request refused by a
 * tight zone has not been counted by a looser one; ties keep name order. */
static int tighter(const void *x, const void *y)
{
    const rl_zone *a = x, *b = y;
    __int128 l = (__int128)a->events * b->window, r = (__int128)b->events * a->window;
    if (l != r)
        return l < r ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int rl_provision(cc_handler *hh, const cc_cfg *cfg, cc_prov *ctx)
{
    rl_handler *h = (rl_handler *)hh;
    h->inst = cc_rl_inst_current();
    const cc_cfg *lims = cc_cfg_get(cfg, "rate_limits");
    if (lims && lims->type != CC_CFG_OBJ && lims->type != CC_CFG_NULL)
        return rl_fail(ctx, lims, "rate_limits must be a JSON object");
    size_t n = lims && lims->type == CC_CFG_OBJ ? lims->obj.n : 0;
    h->zones = cc_arena_alloc(ctx->a, (n + 1) * sizeof(*h->zones));
    memset(h->zones, 0, (n + 1) * sizeof(*h->zones));

    const cc_cfg *j = cc_cfg_get(cfg, "jitter");
    if (j && j->type == CC_CFG_NUM)
        h->jitter = j->d;
    else if (j && j->type == CC_CFG_INT)
        h->jitter = (double)j->i;
    else if (j && j->type != CC_CFG_NULL)
        return rl_fail(ctx, j, "jitter must be a number");
    if (h->jitter < 0)
        return rl_fail(ctx, j, "jitter must be at least zero");
    int64_t sweep;
    if (get_dur(ctx, cfg, "sweep_interval", &sweep) != CC_OK)
        return CC_ERR;
    if (sweep < 0)
        return rl_fail(ctx, cc_cfg_get(cfg, "sweep_interval"),
                       "sweep_interval must be greater than zero");
    if (sweep == 0)
        sweep = 60 * SEC;
    const cc_cfg *lk = cc_cfg_get(cfg, "log_key");
    h->log_key = lk && lk->type == CC_CFG_BOOL && lk->b;

    for (size_t i = 0; i < n; i++) {
        if (zone_provision(h, &h->zones[i], lims->obj.k[i], lims->obj.v[i], ctx) != CC_OK)
            return CC_ERR;
        h->nzones++;
        cc_rl_zone_set_sweep(h->zones[i].z, sweep);
    }
    qsort(h->zones, h->nzones, sizeof(*h->zones), tighter);

    const cc_cfg *dist = cc_cfg_get(cfg, "distributed");
    if (!dist || dist->type == CC_CFG_NULL)
        return CC_OK;
    if (dist->type != CC_CFG_OBJ)
        return rl_fail(ctx, dist, "distributed must be a JSON object");
    if (!ctx->storage)
        return rl_fail(ctx, dist, "distributed rate limiting needs a storage");
    if (cc_cfg_get(cfg, "storage"))
        cc_log(CC_LOG_WARN, LOGGER, NULL,
               "a storage module of its own is not supported: distributed rate limiting uses "
               "the configured storage");
    int64_t rd, wr, purge;
    if (get_dur(ctx, dist, "read_interval", &rd) || get_dur(ctx, dist, "write_interval", &wr) ||
        get_dur(ctx, dist, "purge_age", &purge))
        return CC_ERR;
    if (rd < 0 || wr < 0 || purge < 0)
        return rl_fail(ctx, dist, "distributed intervals must not be negative");
    h->dist = cc_rl_dist_start(h->inst, ctx->storage, rd ? rd : 5 * SEC, wr ? wr : 5 * SEC, purge,
                               ctx->err);
    if (!h->dist)
        return rl_fail(ctx, dist, "cannot start distributed rate limiting");
    for (size_t i = 0; i < h->nzones; i++)
        h->zones[i].dz.d = h->dist;
    return CC_OK;
}

static void rl_cleanup(cc_handler *hh)
{
    rl_handler *h = (rl_handler *)hh;
    /* the thread reads the registry: stop it before zones may go */
    cc_rl_dist_stop(h->dist);
    h->dist = NULL;
    for (size_t i = 0; i < h->nzones; i++) {
        cc_rl_inst_release(h->inst, h->zones[i].z);
        h->zones[i].z = NULL;
    }
    h->nzones = 0;
}

/* An IP-looking key masked to its prefix ("10.1.2.0/24"), as the plugin's
 * applyNetworkPrefix; anything else is returned unchanged. */
static const char *mask_key(cc_arena *a, const rl_zone *z, const char *key)
{
    if ((!z->v4 && !z->v6) || strchr(key, '%'))
        return key;
    cc_ip ip;
    if (!cc_ip_parse(key, &ip))
        return key;
    int bits = ip.v6 ? z->v6 : z->v4;
    if (!bits)
        return key;
    cc_ip_mask(&ip, bits);
    char buf[64];
    return cc_arena_printf(a, "%s/%d", cc_ip_format(&ip, buf, sizeof(buf)), bits);
}

static bool zone_applies(const rl_zone *z, cc_req *r)
{
    if (!z->nsets)
        return true;
    for (size_t i = 0; i < z->nsets; i++)
        if (cc_matchset_match(z->sets[i], r))
            return true;
    return false;
}

/* The plugin's Retry-After: the wait (plus jitter) in seconds, + 0.5, printed without
 * decimals (round half to even, as Go's FormatFloat). */
static int64_t add_jitter(const rl_handler *h, int64_t wait)
{
    if (h->jitter <= 0)
        return wait;
    double u = (double)(cc_rand64() >> 11) * (1.0 / 9007199254740992.0);
    return wait + (int64_t)(u * (double)wait * h->jitter);
}

static void log_exceeded(const rl_handler *h, rl_zone *z, cc_req *r, const char *key, int64_t wait,
                         int64_t now)
{
    int64_t last = atomic_load_explicit(&z->last_log, memory_order_relaxed);
    if ((last != INT64_MIN && now - last < SEC) ||
        !atomic_compare_exchange_strong(&z->last_log, &last, now)) {
        atomic_fetch_add_explicit(&z->suppressed, 1, memory_order_relaxed);
        return;
    }
    uint64_t held = atomic_exchange(&z->suppressed, 0);
    cc_arena *a = cc_arena_new(512);
    cc_cfg *f = cc_cfg_obj(a);
    cc_cfg_set_str(a, f, "zone", z->name);
    cc_cfg_set(a, f, "wait", cc_cfg_num(a, (double)wait / (double)SEC));
    cc_cfg_set_str(a, f, "remote_ip", r->conn && r->conn->remote_ip ? r->conn->remote_ip : "");
    if (h->log_key)
        cc_cfg_set_str(a, f, "key", key);
    if (held)
        cc_cfg_set_int(a, f, "suppressed", (int64_t)held);
    cc_log(CC_LOG_INFO, LOGGER, f, "rate limit exceeded");
    cc_arena_free(a);
}

static int exceeded(const rl_handler *h, rl_zone *z, cc_req *r, const char *key, int64_t wait,
                    int64_t now)
{
    wait = add_jitter(h, wait);
    char ra[32];
    snprintf(ra, sizeof(ra), "%.0f", (double)wait / (double)SEC + 0.5);
    cc_headers_set(r->arena, &r->resp.headers, "Retry-After", cc_arena_strdup(r->arena, ra));
    cc_vars_set(r->arena, &r->vars, "http.rate_limit.exceeded.name", z->name);
    log_exceeded(h, z, r, key, wait, now);
    return cc_req_fail(r, 429, NULL);
}

static int rl_handle(cc_handler *hh, cc_req *r, cc_next *next)
{
    rl_handler *h = (rl_handler *)hh;
    int64_t now = cc_rl_now();
    for (size_t i = 0; i < h->nzones; i++) {
        rl_zone *z = &h->zones[i];
        if (!zone_applies(z, r))
            continue;
        const char *key = z->key ? cc_tmpl_expand(z->key, r, false) : z->static_key;
        key = mask_key(r->arena, z, key);
        int64_t wait = 0;
        bool ok = cc_rl_zone_take(z->z, key, strlen(key), now, h->dist ? cc_rl_dist_others : NULL,
                                  &z->dz, &wait);
        if (!ok)
            return exceeded(h, z, r, key, wait, now);
    }
    return cc_next_run(next, r);
}

const cc_handler_type cc_ht_rate_limit = {
    .abi = CC_HANDLER_ABI,
    .name = "rate_limit",
    .size = sizeof(rl_handler),
    .provision = rl_provision,
    .handle = rl_handle,
    .cleanup = rl_cleanup,
};
