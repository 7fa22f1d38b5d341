/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy's upstream pool, load balancing and health state, as Caddy's hosts.go,
 * selectionpolicies.go and healthchecks.go define them (caddy-reference.md 4.1). The
 * proxy transport calls these; everything here is thread-safe and never blocks a worker:
 *
 *  - A pool is provisioned once per reverse_proxy handler from its JSON ("upstreams",
 *    "load_balancing", "health_checks", "transport") and shared by all workers.
 *  - Per dial address, a process-wide registry keeps a refcounted host record (active
 *    request count and passive failures) that every handler naming that address shares
 *    and that survives a config reload as long as the new config is provisioned before
 *    the old one is cleaned up (Caddy's UsagePool).
 *  - Active health state (healthy flag, consecutive passes/fails) lives on the
 *    handler's upstream, not the shared host, as in Caddy 2.11: two handlers checking
 *    one address with different health_uri must not flip each other's state.
 *  - Active checks run on one background thread per pool with checks enabled
 *    (rp_health_rt.c, libcurl), started by provision and stopped by cleanup. */
#ifndef CC_HANDLERS_RP_POOL_H
#define CC_HANDLERS_RP_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/arena.h"
#include "../core/cfg.h"
#include "../core/err.h"
#include "../core/http.h"
#include "../core/match.h"
#include "../core/regex.h"

typedef struct cc_rp_host cc_rp_host; /* registry-owned, shared by dial address */
typedef struct cc_rp_pool cc_rp_pool;
typedef struct cc_rp_checker cc_rp_checker; /* the active health thread */

/* ---- health configuration ---- */

typedef struct cc_rp_passive {
    int64_t fail_duration;       /* ns; 0 = failures are not counted */
    int max_fails;               /* default 1 */
    int unhealthy_request_count; /* default max_requests of upstreams without one */
    const int *unhealthy_status; /* codes, or a class digit (5 = 5xx) */
    size_t nunhealthy_status;
    int64_t unhealthy_latency; /* ns; 0 = off */
} cc_rp_passive;

typedef struct cc_rp_active {
    bool enabled;         /* uri, path or port set (Caddy's IsEnabled) */
    const char *path;     /* from "uri" (path part) or the deprecated "path" */
    const char *query;    /* raw query of "uri", NULL when none */
    const char *upstream; /* "host:port" to check instead of each upstream, or NULL */
    int port;             /* port override, 0 = the upstream's */
    const char **hdr_names, **hdr_values; /* flattened "headers" (one pair per value) */
    size_t nhdrs;
    const char *method; /* default GET */
    const char *body;   /* NULL = none */
    bool follow_redirects;
    int64_t interval, timeout; /* ns; defaults 30s, 5s */
    int passes, fails;         /* consecutive thresholds, >= 1 */
    int64_t max_size;          /* body bytes read, 0 = unlimited */
    int expect_status;         /* 0 = any 2xx; < 100 = class digit */
    cc_regex *expect_body;     /* NULL = no body check */
    bool https;                /* the transport has TLS: check with https */
    const char **tls_except_ports;
    size_t ntls_except_ports;
    bool tls_insecure;
    const char *tls_server_name;
} cc_rp_active;

/* ---- upstreams ---- */

typedef struct cc_rp_upstream {
    const char *dial; /* as configured (may hold placeholders) */
    size_t index;     /* position in the pool */
    int max_requests; /* 0 = unlimited */
    cc_rp_pool *pool;
    cc_rp_host *host;             /* shared state for this dial address */
    const cc_rp_passive *passive; /* the handler's passive policy, NULL when none */
    /* active health state, written only by the pool's checker thread */
    atomic_int unhealthy;
    atomic_int active_passes, active_fails;
} cc_rp_upstream;

/* ---- selection policies ---- */

typedef enum {
    CC_RP_POL_RANDOM,
    CC_RP_POL_RANDOM_CHOOSE,
    CC_RP_POL_FIRST,
    CC_RP_POL_ROUND_ROBIN,
    CC_RP_POL_WEIGHTED_ROUND_ROBIN,
    CC_RP_POL_LEAST_CONN,
    CC_RP_POL_IP_HASH,
    CC_RP_POL_CLIENT_IP_HASH,
    CC_RP_POL_URI_HASH,
    CC_RP_POL_QUERY,
    CC_RP_POL_HEADER,
    CC_RP_POL_COOKIE,
} cc_rp_policy_kind;

typedef struct cc_rp_policy cc_rp_policy;
struct cc_rp_policy {
    cc_rp_policy_kind kind;
    const char *name; /* JSON "policy" value */
    int choose;       /* random_choose (default 2) */
    const int *weights;
    size_t nweights;
    int total_weight;
    const char *key;              /* query key, header field, cookie name (default "lb") */
    const char *secret;           /* cookie HMAC secret ("" allowed) */
    int64_t max_age;              /* cookie Max-Age in ns, 0 = session cookie */
    const cc_rp_policy *fallback; /* query/header/cookie; random by default */
    atomic_uint *counter;         /* round_robin / weighted_round_robin state */
};

/** Provisions a "selection_policy" object (NULL or absent = random) with Caddy's
 * defaults and validation; NULL with err set ("loading module 'x': unknown module:
 * http.reverse_proxy.selection_policies.x", "choose must be at least 2", ...). */
cc_rp_policy *cc_rp_policy_provision(cc_arena *a, const cc_cfg *obj, cc_err *err);

/** Picks an available upstream with policy p (Caddy's Select), or NULL when none is
 * available. tried (pool->n flags, may be NULL) marks upstreams this request already
 * used: they are skipped while another upstream is available, and only chosen again
 * when nothing else is. The cookie policy adds its Set-Cookie to r->resp.headers (the
 * transport must add the upstream's headers to these, not replace them). Thread-safe. */
cc_rp_upstream *cc_rp_select(const cc_rp_policy *p, cc_rp_pool *pool, cc_req *r, const bool *tried);

/** Caddy's hashCookie: lower-case hex HMAC-SHA256(secret, data) into out[65]. */
void cc_rp_cookie_hash(const char *secret, const char *data, char out[65]);

/* ---- the pool ---- */

struct cc_rp_pool {
    cc_rp_upstream **up;
    size_t n;
    const cc_rp_policy *policy;
    /* load balancing / retries */
    int retries;
    int64_t try_duration, try_interval; /* try_interval defaults to 250ms with a duration */
    cc_matchset **retry_match;          /* OR of sets; NULL/0 = none configured */
    size_t nretry_match;
    /* health */
    bool has_health_checks;
    bool has_passive;
    cc_rp_passive passive;
    cc_rp_active active;
    cc_rp_checker *checker; /* NULL when active checks are off */
    uint64_t id;            /* owner tag for the failures this handler counted */
    const char *logger;     /* "http.handlers.reverse_proxy" */
};

/** Builds the pool of one reverse_proxy handler object. Config memory comes from a;
 * shared hosts are registered (refcounted) and, when active checks are enabled, the
 * checker thread is started. Errors carry the node's FILE:LINE. */
cc_rp_pool *cc_rp_pool_provision(cc_arena *a, const cc_cfg *handler, cc_err *err);
/** Stops the checker, forgets the failures this pool counted (Caddy cancels their
 * timers with the handler's context) and releases the shared hosts. Idempotent. */
void cc_rp_pool_cleanup(cc_rp_pool *p);

/** Caddy's Upstream.Available: healthy (active) and not down by passive failures
 * (fails < max_fails) and below max_requests. Lock-free unless failures expired. */
bool cc_rp_upstream_available(const cc_rp_upstream *up);
/** Caddy's Healthy (active state and passive failures, not request count). */
bool cc_rp_upstream_healthy(const cc_rp_upstream *up);
/** Active requests to the upstream's address (all handlers). */
int cc_rp_upstream_num_requests(const cc_rp_upstream *up);
/** Unexpired passive failures of the upstream's address (all handlers). */
int cc_rp_upstream_fails(const cc_rp_upstream *up);
/** Call around each proxied request (Caddy's countRequest(+1/-1)). */
void cc_rp_request_begin(cc_rp_upstream *up);
void cc_rp_request_end(cc_rp_upstream *up);

/** Passive health: call once per completed attempt. transport_error = the round trip
 * failed (dial or I/O error; not a client cancellation and not a response that only
 * triggered a retry): one failure is counted. Otherwise the response counts once per
 * matching unhealthy_status entry and once more when latency_ns >= unhealthy_latency.
 * No-op without passive checks or with fail_duration 0. Returns failures counted. */
int cc_rp_report(cc_rp_upstream *up, int status, int64_t latency_ns, bool transport_error);
/** Counts one failure now (Caddy's countFailure), expiring after fail_duration. */
void cc_rp_count_failure(cc_rp_upstream *up);

/* The kinds of failed attempts the retry decision tells apart. */
typedef enum {
    CC_RP_FAIL_DIAL,        /* no connection was made: always safe to retry */
    CC_RP_FAIL_NO_UPSTREAM, /* nothing was available (503 "no upstreams available") */
    CC_RP_FAIL_RESPONSE,    /* a retry_match response rule asked for a retry */
    CC_RP_FAIL_TRANSPORT,   /* the request may have reached the upstream */
} cc_rp_fail_kind;

/** Caddy's LoadBalancing.tryAgain without the wait: false when retries are off, the
 * try_duration has elapsed since start_ns (monotonic), or retries >= lb_retries; for
 * transport failures also false unless the request is a GET with no retry_match, or
 * retry_match matches r. The caller then waits try_interval (on its own timer). */
bool cc_rp_try_again(const cc_rp_pool *p, uint64_t start_ns, int retries, cc_rp_fail_kind kind,
                     cc_req *r);

/** The admin API's GET /reverse_proxy/upstreams body: a JSON array of
 * {"address","num_requests","fails"} for every registered address, as a cfg tree. */
cc_cfg *cc_rp_pools_json(cc_arena *a);

/** StatusCodeMatches: equal, or configured < 100 and actual in that class. */
bool cc_rp_status_matches(int actual, int configured);

/* ---- clocks and logging hooks (tests) ---- */

/** Replaces the monotonic clock used for passive failure expiry (NULL = real). */
void cc_rp_set_clock(uint64_t (*now_ns)(void));
uint64_t cc_rp_now_ns(void);

/* ---- active checks (rp_health_rt.c) ---- */

/** Starts the checker thread of p (p->active.enabled); CC_ERR with err on failure. */
int cc_rp_checker_start(cc_rp_pool *p, cc_err *err);
/** Stops and joins it, freeing its resources. NULL is ok. */
void cc_rp_checker_stop(cc_rp_checker *c);
/** Rounds of checks completed so far (for tests). */
uint64_t cc_rp_checker_rounds(const cc_rp_checker *c);

#endif
