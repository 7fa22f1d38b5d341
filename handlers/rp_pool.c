/* SPDX-License-Identifier: Apache-2.0
 * The reverse_proxy upstream pool: the process-wide registry of hosts keyed by dial
 * address (Caddy's UsagePool of *Host: refcounted, so state survives a reload), the
 * provisioning of a handler's upstreams, load balancing and health settings from its
 * JSON, availability, passive failure counting with expiry, the retry decision and the
 * admin API's upstream list. */
#include "rp_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../caddyfile/units.h"
#include "cfgval.h"
#include "../core/log.h"

/* ---- clock ---- */

static uint64_t (*_Atomic clock_fn)(void);

void cc_rp_set_clock(uint64_t (*now_ns)(void))
{
    atomic_store(&clock_fn, now_ns);
}

uint64_t cc_rp_now_ns(void)
{
    uint64_t (*f)(void) = atomic_load(&clock_fn);
    return f ? f() : cc_now_mono_ns();
}

/* ---- shared hosts ---- */

/* One remembered passive failure: forgotten at deadline, or when the pool that counted
 * it is cleaned up (Caddy's forgetter goroutine also ends with the handler's context). */
typedef struct fail_entry {
    uint64_t deadline;
    uint64_t owner;
} fail_entry;

struct cc_rp_host {
    char *dial;
    atomic_long num_requests;
    atomic_int fails;
    _Atomic uint64_t next_deadline; /* earliest deadline, UINT64_MAX when none */
    pthread_mutex_t mu;             /* guards fv */
    fail_entry *fv;
    size_t fn, fcap;
    int refs; /* under reg_mu */
    cc_rp_host *next;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static cc_rp_host *reg_head;
static atomic_uint_fast64_t next_pool_id = 1;

static cc_rp_host *host_acquire(const char *dial)
{
    pthread_mutex_lock(&reg_mu);
    cc_rp_host **pp = &reg_head;
    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->dial, dial) == 0) {
            (*pp)->refs++;
            pthread_mutex_unlock(&reg_mu);
            return *pp;
        }
    cc_rp_host *h = cc_xcalloc(1, sizeof(*h));
    h->dial = cc_xstrdup(dial);
    atomic_init(&h->num_requests, 0);
    atomic_init(&h->fails, 0);
    atomic_init(&h->next_deadline, UINT64_MAX);
    pthread_mutex_init(&h->mu, NULL);
    h->refs = 1;
    *pp = h; /* appended: the admin list keeps first-use order */
    pthread_mutex_unlock(&reg_mu);
    return h;
}

static void host_release(cc_rp_host *h)
{
    pthread_mutex_lock(&reg_mu);
    if (--h->refs > 0) {
        pthread_mutex_unlock(&reg_mu);
        return;
    }
    for (cc_rp_host **pp = &reg_head; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    pthread_mutex_unlock(&reg_mu);
    pthread_mutex_destroy(&h->mu);
    free(h->fv);
    free(h->dial);
    free(h);
}

/* Drops entries that are due (or owned by owner when owner != 0); h->mu held. */
static void prune_locked(cc_rp_host *h, uint64_t now, uint64_t owner)
{
    size_t j = 0;
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < h->fn; i++) {
        fail_entry e = h->fv[i];
        if (e.deadline <= now || (owner && e.owner == owner))
            continue;
        if (e.deadline < next)
            next = e.deadline;
        h->fv[j++] = e;
    }
    h->fn = j;
    atomic_store(&h->fails, (int)j);
    atomic_store(&h->next_deadline, next);
}

static int host_fails(cc_rp_host *h)
{
    /* the common case (nothing due) reads two atomics and takes no lock */
    if (atomic_load(&h->next_deadline) != UINT64_MAX) {
        uint64_t now = cc_rp_now_ns();
        if (now >= atomic_load(&h->next_deadline)) {
            pthread_mutex_lock(&h->mu);
            prune_locked(h, now, 0);
            pthread_mutex_unlock(&h->mu);
        }
    }
    return atomic_load(&h->fails);
}

static void host_add_fail(cc_rp_host *h, uint64_t deadline, uint64_t owner)
{
    pthread_mutex_lock(&h->mu);
    if (h->fn == h->fcap) {
        h->fcap = h->fcap ? h->fcap * 2 : 8;
        h->fv = cc_xrealloc(h->fv, h->fcap * sizeof(*h->fv));
    }
    h->fv[h->fn++] = (fail_entry){deadline, owner};
    atomic_store(&h->fails, (int)h->fn);
    if (deadline < atomic_load(&h->next_deadline))
        atomic_store(&h->next_deadline, deadline);
    pthread_mutex_unlock(&h->mu);
}

static void host_forget_owner(cc_rp_host *h, uint64_t owner)
{
    pthread_mutex_lock(&h->mu);
    prune_locked(h, 0, owner);
    pthread_mutex_unlock(&h->mu);
}

/* ---- upstream state ---- */

int cc_rp_upstream_num_requests(const cc_rp_upstream *up)
{
    return (int)atomic_load(&up->host->num_requests);
}

int cc_rp_upstream_fails(const cc_rp_upstream *up)
{
    return host_fails(up->host);
}

bool cc_rp_upstream_healthy(const cc_rp_upstream *up)
{
    if (atomic_load(&up->unhealthy))
        return false;
    return !up->passive || host_fails(up->host) < up->passive->max_fails;
}

bool cc_rp_upstream_available(const cc_rp_upstream *up)
{
    if (!cc_rp_upstream_healthy(up))
        return false;
    return up->max_requests <= 0 || cc_rp_upstream_num_requests(up) < up->max_requests;
}

void cc_rp_request_begin(cc_rp_upstream *up)
{
    atomic_fetch_add(&up->host->num_requests, 1);
}

void cc_rp_request_end(cc_rp_upstream *up)
{
    atomic_fetch_sub(&up->host->num_requests, 1);
}

bool cc_rp_status_matches(int actual, int configured)
{
    if (actual == configured)
        return true;
    return configured < 100 && actual >= configured * 100 && actual < (configured + 1) * 100;
}

void cc_rp_count_failure(cc_rp_upstream *up)
{
    const cc_rp_pool *p = up->pool;
    if (!p->has_passive || p->passive.fail_duration <= 0)
        return;
    host_add_fail(up->host, cc_rp_now_ns() + (uint64_t)p->passive.fail_duration, p->id);
}

int cc_rp_report(cc_rp_upstream *up, int status, int64_t latency_ns, bool transport_error)
{
    const cc_rp_pool *p = up->pool;
    if (!p->has_passive || p->passive.fail_duration <= 0)
        return 0;
    int n = 0;
    if (transport_error) {
        n = 1;
    } else {
        /* every matching entry strikes, as Caddy's loop does */
        for (size_t i = 0; i < p->passive.nunhealthy_status; i++)
            n += cc_rp_status_matches(status, p->passive.unhealthy_status[i]);
        if (p->passive.unhealthy_latency > 0 && latency_ns >= p->passive.unhealthy_latency)
            n++;
    }
    for (int i = 0; i < n; i++)
        cc_rp_count_failure(up);
    return n;
}

bool cc_rp_try_again(const cc_rp_pool *p, uint64_t start_ns, int retries, cc_rp_fail_kind kind,
                     cc_req *r)
{
    if (p->try_duration == 0 && p->retries == 0)
        return false;
    if (p->try_duration > 0 && cc_rp_now_ns() - start_ns >= (uint64_t)p->try_duration)
        return false;
    if (p->retries > 0 && retries >= p->retries)
        return false;
    if (kind != CC_RP_FAIL_TRANSPORT)
        return true;
    /* the upstream may have seen the request: only idempotent-by-default GETs, or what
     * retry_match allows */
    if (p->nretry_match == 0)
        return r && r->method && strcmp(r->method, "GET") == 0;
    for (size_t i = 0; i < p->nretry_match; i++)
        if (cc_matchset_match(p->retry_match[i], r))
            return true;
    return false;
}

cc_cfg *cc_rp_pools_json(cc_arena *a)
{
    cc_cfg *arr = cc_cfg_arr(a);
    pthread_mutex_lock(&reg_mu);
    for (cc_rp_host *h = reg_head; h; h = h->next) {
        cc_cfg *o = cc_cfg_obj(a);
        cc_cfg_set_str(a, o, "address", h->dial);
        cc_cfg_set_int(a, o, "num_requests", atomic_load(&h->num_requests));
        cc_cfg_set_int(a, o, "fails", host_fails(h));
        cc_cfg_push(a, arr, o);
    }
    pthread_mutex_unlock(&reg_mu);
    return arr;
}

/* ---- provisioning ---- */

static int provision_passive(cc_rp_pool *p, cc_arena *a, const cc_cfg *ps, cc_err *err)
{
    int64_t v = 0;
    if (cc_cfgv_dur(ps, "fail_duration", &p->passive.fail_duration, err) ||
        cc_cfgv_int(ps, "max_fails", &v, err))
        return CC_ERR;
    p->passive.max_fails = v > 0 ? (int)v : 1;
    v = 0;
    if (cc_cfgv_int(ps, "unhealthy_request_count", &v, err) ||
        cc_cfgv_dur(ps, "unhealthy_latency", &p->passive.unhealthy_latency, err))
        return CC_ERR;
    p->passive.unhealthy_request_count = (int)v;
    const cc_cfg *us = cc_cfg_get(ps, "unhealthy_status");
    size_t n = cc_cfg_len(us);
    if (us && us->type == CC_CFG_ARR && n) {
        int *codes = cc_arena_alloc(a, n * sizeof(int));
        for (size_t i = 0; i < n; i++) {
            const cc_cfg *c = cc_cfg_idx(us, i);
            if (c->type != CC_CFG_INT)
                return cc_cfgv_bad(err, c, ps, "json: cannot unmarshal %s into an integer",
                                   "unhealthy_status");
            codes[i] = (int)c->i;
        }
        p->passive.unhealthy_status = codes;
        p->passive.nunhealthy_status = n;
    }
    p->has_passive = true;
    return CC_OK;
}

static int provision_active(cc_rp_pool *p, cc_arena *a, const cc_cfg *ac, const cc_cfg *tr,
                            cc_err *err)
{
    cc_rp_active *x = &p->active;
    const char *uri = cc_cfgv_str(ac, "uri"), *path = cc_cfgv_str(ac, "path");
    int64_t port = 0;
    if (cc_cfgv_int(ac, "port", &port, err))
        return CC_ERR;
    x->port = (int)port;
    x->enabled = uri || path || port; /* health_upstream alone does not enable (Caddy) */
    if (!x->enabled)
        return CC_OK;
    x->upstream = cc_cfgv_str(ac, "upstream");
    if (x->upstream)
        x->port = 0; /* ignored when an upstream is given */
    if (uri) {
        const char *q = strchr(uri, '?');
        const char *frag = strchr(uri, '#');
        size_t plen = q ? (size_t)(q - uri) : frag ? (size_t)(frag - uri) : strlen(uri);
        x->path = cc_arena_strndup(a, uri, plen);
        if (q)
            x->query = cc_arena_strndup(a, q + 1,
                                        frag && frag > q ? (size_t)(frag - q - 1) : strlen(q + 1));
    } else {
        x->path = path;
        cc_log(CC_LOG_WARN, "http.handlers.reverse_proxy.health_checker.active", NULL,
               "the 'path' option is deprecated, please use 'uri' instead!");
    }
    const cc_cfg *hs = cc_cfg_get(ac, "headers");
    if (hs && hs->type == CC_CFG_OBJ) {
        size_t total = 0;
        for (size_t i = 0; i < hs->obj.n; i++)
            total += cc_cfg_len(hs->obj.v[i]);
        x->hdr_names = cc_arena_alloc(a, (total + 1) * sizeof(char *));
        x->hdr_values = cc_arena_alloc(a, (total + 1) * sizeof(char *));
        for (size_t i = 0; i < hs->obj.n; i++) {
            const cc_cfg *vals = hs->obj.v[i];
            for (size_t j = 0; j < cc_cfg_len(vals); j++) {
                const cc_cfg *v = cc_cfg_idx(vals, j);
                if (v->type != CC_CFG_STR)
                    return cc_cfgv_bad(err, v, ac, "json: cannot unmarshal %s into a string",
                                       "headers");
                x->hdr_names[x->nhdrs] = hs->obj.k[i];
                x->hdr_values[x->nhdrs++] = v->s.p;
            }
        }
    }
    x->method = cc_cfgv_str(ac, "method");
    if (!x->method)
        x->method = "GET";
    x->body = cc_cfgv_str(ac, "body");
    int64_t passes = 0, fails = 0, status = 0;
    if (cc_cfgv_bool(ac, "follow_redirects", &x->follow_redirects, err) ||
        cc_cfgv_dur(ac, "interval", &x->interval, err) ||
        cc_cfgv_dur(ac, "timeout", &x->timeout, err) || cc_cfgv_int(ac, "passes", &passes, err) ||
        cc_cfgv_int(ac, "fails", &fails, err) || cc_cfgv_int(ac, "max_size", &x->max_size, err) ||
        cc_cfgv_int(ac, "expect_status", &status, err))
        return CC_ERR;
    if (x->interval <= 0)
        x->interval = 30LL * 1000000000;
    if (x->timeout <= 0)
        x->timeout = 5LL * 1000000000;
    x->passes = passes < 1 ? 1 : (int)passes;
    x->fails = fails < 1 ? 1 : (int)fails;
    x->expect_status = (int)status;
    const char *eb = cc_cfgv_str(ac, "expect_body");
    if (eb) {
        cc_err rerr = {0};
        x->expect_body = cc_regex_compile(a, eb, &rerr);
        if (!x->expect_body) {
            const cc_cfg *n = cc_cfg_get(ac, "expect_body");
            return cc_err_setat(err, n->file, n->line,
                                "expect_body: compiling regular expression: %s", rerr.msg);
        }
    }
    /* an HTTP transport with TLS checks over https (OverrideHealthCheckScheme) */
    const cc_cfg *tls = cc_cfg_get(tr, "tls");
    if (tls && tls->type == CC_CFG_OBJ) {
        x->https = true;
        const cc_cfg *ex = cc_cfg_get(tls, "except_ports");
        size_t n = cc_cfg_len(ex);
        x->tls_except_ports = cc_arena_alloc(a, (n + 1) * sizeof(char *));
        for (size_t i = 0; i < n; i++) {
            const cc_cfg *e = cc_cfg_idx(ex, i);
            if (e->type == CC_CFG_STR)
                x->tls_except_ports[x->ntls_except_ports++] = e->s.p;
        }
        if (cc_cfgv_bool(tls, "insecure_skip_verify", &x->tls_insecure, err))
            return CC_ERR;
        x->tls_server_name = cc_cfgv_str(tls, "server_name");
    }
    return CC_OK;
}

static int provision_lb(cc_rp_pool *p, cc_arena *a, const cc_cfg *lb, cc_err *err)
{
    const cc_cfg *sp = cc_cfg_get(lb, "selection_policy");
    cc_err perr = {0};
    p->policy = cc_rp_policy_provision(a, sp, &perr);
    if (!p->policy) {
        const cc_cfg *n = sp ? sp : lb;
        return cc_err_setat(err, n ? n->file : NULL, n ? n->line : 0,
                            "loading load balancing selection policy: %s", perr.msg);
    }
    int64_t retries = 0;
    if (cc_cfgv_int(lb, "retries", &retries, err) ||
        cc_cfgv_dur(lb, "try_duration", &p->try_duration, err) ||
        cc_cfgv_dur(lb, "try_interval", &p->try_interval, err))
        return CC_ERR;
    p->retries = (int)retries;
    if (p->try_duration > 0 && p->try_interval == 0)
        p->try_interval = 250LL * 1000000; /* avoid spinning for try_duration */
    const cc_cfg *rm = cc_cfg_get(lb, "retry_match");
    size_t n = cc_cfg_len(rm);
    if (rm && rm->type == CC_CFG_ARR && n) {
        p->retry_match = cc_arena_alloc(a, n * sizeof(*p->retry_match));
        for (size_t i = 0; i < n; i++) {
            p->retry_match[i] = cc_matchset_compile(a, cc_cfg_idx(rm, i), err);
            if (!p->retry_match[i])
                return CC_ERR;
        }
        p->nretry_match = n;
    }
    return CC_OK;
}

static void pool_cleanup_deferred(void *arg)
{
    cc_rp_pool_cleanup(arg);
}

cc_rp_pool *cc_rp_pool_provision(cc_arena *a, const cc_cfg *handler, cc_err *err)
{
    cc_rp_pool *p = cc_arena_alloc(a, sizeof(*p));
    p->id = atomic_fetch_add(&next_pool_id, 1);
    p->logger = "http.handlers.reverse_proxy";
    if (provision_lb(p, a, cc_cfg_get(handler, "load_balancing"), err))
        return NULL;
    const cc_cfg *hc = cc_cfg_get(handler, "health_checks");
    if (hc && hc->type == CC_CFG_OBJ) {
        p->has_health_checks = true;
        const cc_cfg *ps = cc_cfg_get(hc, "passive");
        if (ps && ps->type == CC_CFG_OBJ && provision_passive(p, a, ps, err))
            return NULL;
        const cc_cfg *ac = cc_cfg_get(hc, "active");
        if (ac && ac->type == CC_CFG_OBJ &&
            provision_active(p, a, ac, cc_cfg_get(handler, "transport"), err))
            return NULL;
    }
    const cc_cfg *ups = cc_cfg_get(handler, "upstreams");
    size_t n = ups && ups->type == CC_CFG_ARR ? ups->arr.n : 0;
    p->up = cc_arena_alloc(a, (n + 1) * sizeof(*p->up));
    for (size_t i = 0; i < n; i++) {
        const cc_cfg *u = ups->arr.v[i];
        const char *dial = cc_cfg_get_str(u, "dial");
        int64_t maxr = 0;
        if (!dial)
            dial = "";
        if (cc_cfgv_int(u, "max_requests", &maxr, err))
            goto fail;
        cc_rp_upstream *up = cc_arena_alloc(a, sizeof(*up));
        up->dial = dial;
        up->index = i;
        up->pool = p;
        up->max_requests = (int)maxr;
        if (p->has_passive && p->passive.unhealthy_request_count > 0 && up->max_requests == 0)
            up->max_requests = p->passive.unhealthy_request_count;
        if (p->has_passive)
            up->passive = &p->passive;
        atomic_init(&up->unhealthy, 0); /* healthy until a check says otherwise */
        atomic_init(&up->active_passes, 0);
        atomic_init(&up->active_fails, 0);
        up->host = host_acquire(dial);
        p->up[p->n++] = up;
    }
    if (p->active.enabled && cc_rp_checker_start(p, err) != CC_OK)
        goto fail;
    /* freeing the config arena releases everything even if the handler never runs its
     * cleanup (a later handler failed to provision); cleanup is idempotent */
    cc_arena_defer(a, pool_cleanup_deferred, p);
    return p;
fail:
    cc_rp_pool_cleanup(p);
    return NULL;
}

void cc_rp_pool_cleanup(cc_rp_pool *p)
{
    if (!p)
        return;
    cc_rp_checker_stop(p->checker);
    p->checker = NULL;
    for (size_t i = 0; i < p->n; i++) {
        cc_rp_upstream *up = p->up[i];
        if (!up->host)
            continue;
        host_forget_owner(up->host, p->id);
        host_release(up->host);
        up->host = NULL;
    }
    p->n = 0;
}
