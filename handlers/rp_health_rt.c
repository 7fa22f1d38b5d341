/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy active health checks (Caddy's healthchecks.go): one background thread
 * per pool with checks enabled, never a worker. Every health_interval (and once right
 * at start, as Caddy's ticker loop does) it checks all upstreams concurrently through
 * one libcurl multi handle, reusing one easy handle per upstream so connections stay
 * warm. A check passes when the transfer succeeds, the status matches expect_status
 * (code or class digit; any 2xx by default; 3xx fails unless redirects are followed)
 * and the body matches expect_body.
 *
 * Choices where Caddy 2.11's code and its documentation differ:
 *  - Upstreams start healthy (Caddy 2.11's `unhealthy` flag starts at 0; the first round
 *    runs immediately), so a fresh config serves at once instead of answering 503 until
 *    a check passes (caddy-reference 8.1, caddy#6410).
 *  - health_passes / health_fails count CONSECUTIVE results as documented: a pass resets
 *    the fail streak and a fail resets the pass streak (Caddy's counters only reset on
 *    a transition, so interleaved results could add up).
 *  - Placeholders in the dial address and in health_headers (global ones and
 *    {http.reverse_proxy.active.target_upstream}) are expanded once when the checker
 *    starts, not per check; only global placeholders can appear there anyway.
 *  - Without max_size, at most 4 MiB of a body is kept for the expect_body match. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/log.h"
#include "../core/replacer.h"
#include "rp_pool.h"

#define BODY_CAP_DEFAULT (4u << 20)

typedef struct check {
    cc_rp_checker *c;
    cc_rp_upstream *up;
    CURL *easy;
    struct curl_slist *hdrs;
    bool skip;             /* address unusable: logged once at start, never checked */
    bool busy;             /* in the multi handle */
    const char *url;       /* full URL */
    const char *unix_path; /* unix socket to dial, or NULL */
    const char *host_addr; /* for logs (Caddy's hostAddr) */
    char *body;
    size_t blen, bcap;
} check;

struct cc_rp_checker {
    cc_rp_pool *pool;
    cc_arena *a; /* the checker's own memory */
    pthread_t th;
    bool started;
    CURLM *multi;
    atomic_bool stop;
    atomic_uint_fast64_t rounds;
    check *checks;
    size_t n;
    size_t pending; /* checks of the current round still running (thread-local use) */
    const char *logger;
};

/* ---- addresses ---- */

/* Splits "host:port" / "[v6]:port"; false when there is no port. */
static bool split_host_port(cc_arena *a, const char *hp, const char **host, const char **port)
{
    const char *colon = strrchr(hp, ':');
    if (!colon)
        return false;
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        if (!rb || rb + 1 != colon)
            return false;
        *host = cc_arena_strndup(a, hp + 1, (size_t)(rb - hp - 1));
    } else {
        if (memchr(hp, ':', (size_t)(colon - hp)))
            return false; /* unbracketed IPv6 */
        *host = cc_arena_strndup(a, hp, (size_t)(colon - hp));
    }
    *port = colon + 1;
    return true;
}

static const char *join_host_port(cc_arena *a, const char *host, const char *port)
{
    return strchr(host, ':') ? cc_arena_printf(a, "[%s]:%s", host, port)
                             : cc_arena_printf(a, "%s:%s", host, port);
}

static void log_addr(cc_rp_checker *c, cc_log_level lvl, const char *msg, const char *key,
                     const char *addr, const char *error)
{
    cc_arena *a = cc_arena_new(1024);
    cc_cfg *x = cc_cfg_obj(a);
    cc_cfg_set_str(a, x, key, addr);
    if (error)
        cc_cfg_set_str(a, x, "error", error);
    cc_log(lvl, c->logger, x, "%s", msg);
    cc_arena_free(a);
}

/* Works out where and what to request for one upstream (Caddy's
 * doActiveHealthCheckForAllHosts + the URL part of doActiveHealthCheck). */
static void prepare(cc_rp_checker *c, check *k)
{
    cc_arena *a = c->a;
    const cc_rp_active *x = &c->pool->active;
    const char *dial = k->up->dial;
    if (strchr(dial, '{')) {
        dial = cc_arena_strdup(a, cc_repl_expand(NULL, dial, true));
        if (strchr(dial, '{') || !*dial) {
            log_addr(c, CC_LOG_ERROR,
                     "invalid use of placeholders in dial address for active health checks",
                     "address", dial, NULL);
            k->skip = true;
            return;
        }
    }
    /* network prefix: unix sockets have a path, not a port */
    const char *slash = strchr(dial, '/'), *addr = dial;
    bool is_unix = false;
    if (slash && !memchr(dial, ':', (size_t)(slash - dial))) {
        size_t nl = (size_t)(slash - dial);
        is_unix = nl >= 4 && strncmp(dial, "unix", 4) == 0;
        addr = slash + 1;
    }
    const char *host = NULL, *port = NULL;
    if (is_unix && !x->port) {
        k->unix_path = addr;
        k->host_addr = "localhost"; /* a socket path cannot be a URL host */
    } else {
        if (!split_host_port(a, addr, &host, &port)) {
            log_addr(c, CC_LOG_ERROR, "bad network address", "address", dial,
                     cc_arena_printf(a, "address %s: missing port in address", addr));
            k->skip = true;
            return;
        }
        if (x->port)
            port = cc_arena_printf(a, "%d", x->port);
        if (strchr(port, '-')) {
            log_addr(c, CC_LOG_ERROR, "multiple addresses (upstream must map to only one address)",
                     "address", dial, NULL);
            k->skip = true;
            return;
        }
        k->host_addr = join_host_port(a, host, port);
    }
    const char *url_host = x->upstream ? x->upstream : k->host_addr;
    bool https = x->https;
    for (size_t i = 0; https && port && i < x->ntls_except_ports; i++)
        if (strcmp(x->tls_except_ports[i], port) == 0)
            https = false;
    const char *path = x->path ? x->path : "";
    k->url = cc_arena_printf(a, "%s://%s%s%s%s%s", https ? "https" : "http", url_host,
                             *path && *path != '/' ? "/" : "", path, x->query ? "?" : "",
                             x->query ? x->query : "");

    /* headers: Host replaces the request's Host, others are added */
    const char *host_hdr = url_host;
    k->hdrs = curl_slist_append(k->hdrs, "Accept:"); /* Go's client sends none */
    for (size_t i = 0; i < x->nhdrs; i++) {
        const char *name = cc_repl_expand(NULL, x->hdr_names[i], false);
        const char *val = x->hdr_values[i];
        const char *tu = "{http.reverse_proxy.active.target_upstream}";
        for (const char *p; (p = strstr(val, tu)) != NULL;)
            val = cc_arena_printf(a, "%.*s%s%s", (int)(p - val), val, dial, p + strlen(tu));
        if (strcasecmp(name, "Host") == 0) {
            /* Headers.Get: the first value wins */
            bool first = true;
            for (size_t j = 0; j < i; j++)
                first &= strcasecmp(x->hdr_names[j], "Host") != 0;
            if (first)
                host_hdr = cc_arena_strdup(a, cc_repl_expand(NULL, val, false));
            continue;
        }
        val = cc_repl_expand(NULL, val, true);
        k->hdrs = curl_slist_append(k->hdrs, cc_arena_printf(a, "%s: %s", name, val));
    }
    k->hdrs = curl_slist_append(k->hdrs, cc_arena_printf(a, "Host: %s", host_hdr));
    k->easy = curl_easy_init();
}

/* ---- one check ---- */

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    check *k = ud;
    size_t n = sz * nm;
    const cc_rp_active *x = &k->c->pool->active;
    if (!x->expect_body)
        return n; /* drained, so the connection can be reused */
    size_t cap = x->max_size > 0 ? (size_t)x->max_size : BODY_CAP_DEFAULT;
    size_t take = k->blen >= cap ? 0 : (cap - k->blen < n ? cap - k->blen : n);
    if (take) {
        if (k->blen + take + 1 > k->bcap) {
            k->bcap = (k->blen + take + 1) * 2;
            if (k->bcap > cap + 1)
                k->bcap = cap + 1;
            k->body = cc_xrealloc(k->body, k->bcap);
        }
        memcpy(k->body + k->blen, p, take);
        k->blen += take;
    }
    return n;
}

static void start_check(cc_rp_checker *c, check *k)
{
    const cc_rp_active *x = &c->pool->active;
    CURL *e = k->easy;
    curl_easy_reset(e); /* keeps the connection and DNS caches */
    curl_easy_setopt(e, CURLOPT_URL, k->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(x->timeout / 1000000));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, k->hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, k);
    curl_easy_setopt(e, CURLOPT_PRIVATE, k);
    if (x->follow_redirects) {
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L); /* Go's client stops after 10 */
    }
    if (k->unix_path)
        curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, k->unix_path);
    if (x->tls_insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (strcmp(x->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        if (x->body) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(x->body));
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
        }
        if (x->body || strcmp(x->method, "GET") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
    }
    k->blen = 0;
    k->busy = true;
    c->pending++;
    curl_multi_add_handle(c->multi, e);
}

static void mark(cc_rp_checker *c, check *k, bool pass)
{
    const cc_rp_active *x = &c->pool->active;
    cc_rp_upstream *up = k->up;
    if (pass) {
        atomic_store(&up->active_fails, 0);
        if (atomic_fetch_add(&up->active_passes, 1) + 1 < x->passes)
            return;
        int was = 1;
        if (atomic_compare_exchange_strong(&up->unhealthy, &was, 0))
            log_addr(c, CC_LOG_INFO, "host is up", "host", k->host_addr, NULL);
    } else {
        atomic_store(&up->active_passes, 0);
        if (atomic_fetch_add(&up->active_fails, 1) + 1 < x->fails)
            return;
        int was = 0;
        if (atomic_compare_exchange_strong(&up->unhealthy, &was, 1))
            log_addr(c, CC_LOG_WARN, "host is down", "host", k->host_addr, NULL);
    }
    atomic_store(&up->active_passes, 0);
    atomic_store(&up->active_fails, 0);
}

static void finish_check(cc_rp_checker *c, check *k, CURLcode res)
{
    const cc_rp_active *x = &c->pool->active;
    curl_multi_remove_handle(c->multi, k->easy);
    k->busy = false;
    c->pending--;
    if (res != CURLE_OK) {
        log_addr(c, CC_LOG_INFO, "HTTP request failed", "host", k->host_addr,
                 curl_easy_strerror(res));
        mark(c, k, false);
        return;
    }
    long status = 0;
    curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &status);
    bool ok = x->expect_status > 0 ? cc_rp_status_matches((int)status, x->expect_status)
                                   : status >= 200 && status < 300;
    if (!ok) {
        cc_arena *a = cc_arena_new(1024);
        cc_cfg *ex = cc_cfg_obj(a);
        cc_cfg_set_int(a, ex, "status_code", status);
        cc_cfg_set_str(a, ex, "host", k->host_addr);
        cc_log(CC_LOG_INFO, c->logger, ex, "%s",
               x->expect_status > 0 ? "unexpected status code" : "status code out of tolerances");
        cc_arena_free(a);
        mark(c, k, false);
        return;
    }
    if (x->expect_body) {
        if (!k->body)
            k->body = cc_xmalloc(1);
        k->body[k->blen] = '\0';
        if (!cc_regex_test(x->expect_body, k->body)) {
            log_addr(c, CC_LOG_INFO, "response body failed expectations", "host", k->host_addr,
                     NULL);
            mark(c, k, false);
            return;
        }
    }
    mark(c, k, true);
}

/* ---- the thread ---- */

static void start_round(cc_rp_checker *c)
{
    for (size_t i = 0; i < c->n; i++) {
        check *k = &c->checks[i];
        /* a check slower than the interval keeps running; it is not started twice */
        if (!k->skip && k->easy && !k->busy)
            start_check(c, k);
    }
    if (c->pending == 0)
        atomic_fetch_add(&c->rounds, 1);
}

static void *run(void *arg)
{
    cc_rp_checker *c = arg;
    uint64_t interval = (uint64_t)c->pool->active.interval;
    uint64_t next = cc_now_mono_ns();
    while (!atomic_load(&c->stop)) {
        uint64_t now = cc_now_mono_ns();
        if (now >= next) {
            start_round(c);
            next += interval;
            if (next <= now)
                next = now + interval; /* fell behind: skip, as a ticker drops ticks */
        }
        int running = 0;
        curl_multi_perform(c->multi, &running);
        CURLMsg *m;
        int left;
        bool finished = false;
        while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            check *k = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&k);
            CURLcode res = m->data.result;
            finish_check(c, k, res);
            finished = true;
        }
        if (finished && c->pending == 0)
            atomic_fetch_add(&c->rounds, 1);
        now = cc_now_mono_ns();
        long wait_ms = next > now ? (long)((next - now + 999999) / 1000000) : 0;
        long curl_ms = -1;
        curl_multi_timeout(c->multi, &curl_ms);
        if (curl_ms >= 0 && curl_ms < wait_ms)
            wait_ms = curl_ms;
        if (wait_ms > 0)
            curl_multi_poll(c->multi, NULL, 0, (int)(wait_ms > 1000 ? 1000 : wait_ms), NULL);
    }
    return NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int cc_rp_checker_start(cc_rp_pool *p, cc_err *err)
{
    pthread_once(&curl_once, curl_init_once);
    cc_rp_checker *c = cc_xcalloc(1, sizeof(*c));
    c->pool = p;
    c->a = cc_arena_new(0);
    c->logger = cc_arena_printf(c->a, "%s.health_checker.active", p->logger);
    atomic_init(&c->stop, false);
    atomic_init(&c->rounds, 0);
    c->multi = curl_multi_init();
    c->n = p->n;
    c->checks = cc_arena_alloc(c->a, (p->n + 1) * sizeof(check));
    for (size_t i = 0; i < p->n; i++) {
        c->checks[i].c = c;
        c->checks[i].up = p->up[i];
        prepare(c, &c->checks[i]);
    }
    c->started = c->multi && pthread_create(&c->th, NULL, run, c) == 0;
    if (!c->started) {
        cc_rp_checker_stop(c);
        return cc_err_set(err, "starting active health checker: out of resources");
    }
    p->checker = c;
    return CC_OK;
}

void cc_rp_checker_stop(cc_rp_checker *c)
{
    if (!c)
        return;
    if (c->started) {
        atomic_store(&c->stop, true);
        curl_multi_wakeup(c->multi);
        pthread_join(c->th, NULL);
    }
    for (size_t i = 0; i < c->n; i++) {
        check *k = &c->checks[i];
        if (k->easy) {
            if (k->busy)
                curl_multi_remove_handle(c->multi, k->easy);
            curl_easy_cleanup(k->easy);
        }
        curl_slist_free_all(k->hdrs);
        free(k->body);
    }
    if (c->multi)
        curl_multi_cleanup(c->multi);
    cc_arena_free(c->a);
    free(c);
}

uint64_t cc_rp_checker_rounds(const cc_rp_checker *c)
{
    return c ? atomic_load(&c->rounds) : 0;
}
