/* SPDX-License-Identifier: Apache-2.0
 * Tests of reverse_proxy health (handlers/rp_pool.c, rp_health_rt.c): passive failure
 * counting and expiry under an injected clock, sharing across handlers, the retry
 * decision, and active checks against a real tiny HTTP server on 127.0.0.1 whose
 * answer the test switches (status, body, redirect) while the checker runs every 100ms. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../core/log.h"
#include "../../handlers/rp_pool.h"
#include "../t.h"

static cc_arena *A;

/* ---- injected clock ---- */

static _Atomic uint64_t fake_now = 1000000000;

static uint64_t fake_clock(void)
{
    return atomic_load(&fake_now);
}

static void advance(int64_t ns)
{
    atomic_fetch_add(&fake_now, (uint64_t)ns);
}

#define SEC 1000000000LL
#define MS 1000000LL

static cc_cfg *handler(const char *const *dials, size_t n, cc_cfg *hc)
{
    cc_cfg *h = cc_cfg_obj(A);
    cc_cfg_set_str(A, h, "handler", "reverse_proxy");
    cc_cfg *ups = cc_cfg_child_arr(A, h, "upstreams");
    for (size_t i = 0; i < n; i++) {
        cc_cfg *u = cc_cfg_obj(A);
        cc_cfg_set_str(A, u, "dial", dials[i]);
        cc_cfg_push(A, ups, u);
    }
    if (hc)
        cc_cfg_set(A, h, "health_checks", hc);
    return h;
}

static cc_rp_pool *provision(cc_cfg *h)
{
    cc_err err = {0};
    cc_rp_pool *p = cc_rp_pool_provision(A, h, &err);
    T_OK(p != NULL, "provision: %s", err.msg);
    return p;
}

static cc_cfg *passive_cfg(int64_t fail_ns, int max_fails)
{
    cc_cfg *hc = cc_cfg_obj(A);
    cc_cfg *ps = cc_cfg_child_obj(A, hc, "passive");
    if (fail_ns)
        cc_cfg_set_int(A, ps, "fail_duration", fail_ns);
    if (max_fails)
        cc_cfg_set_int(A, ps, "max_fails", max_fails);
    return hc;
}

/* ---- passive ---- */

static void test_passive_counting(void)
{
    static const char *const d[] = {"10.8.0.1:80", "10.8.0.2:80"};
    cc_rp_pool *p = provision(handler(d, 2, passive_cfg(10 * SEC, 2)));
    cc_rp_upstream *u = p->up[0];
    T_INT(cc_rp_report(u, 0, 0, true), 1);
    T_INT(cc_rp_upstream_fails(u), 1);
    T_OK(cc_rp_upstream_available(u), "1 < max_fails 2");
    advance(4 * SEC);
    T_INT(cc_rp_report(u, 0, 0, true), 1);
    T_INT(cc_rp_upstream_fails(u), 2);
    T_OK(!cc_rp_upstream_available(u), "down at 2 fails");
    T_OK(cc_rp_upstream_available(p->up[1]), "the other upstream is unaffected");
    /* each failure is forgotten fail_duration after it happened */
    advance(6 * SEC - 1);
    T_INT(cc_rp_upstream_fails(u), 2);
    advance(1);
    T_INT(cc_rp_upstream_fails(u), 1);
    T_OK(cc_rp_upstream_available(u), "up again after the first expiry");
    advance(4 * SEC);
    T_INT(cc_rp_upstream_fails(u), 0);
    /* a response is not a failure unless it matches the passive rules */
    T_INT(cc_rp_report(u, 503, 5 * MS, false), 0);
    cc_rp_pool_cleanup(p);
}

static void test_passive_rules(void)
{
    static const char *const d[] = {"10.8.1.1:80"};
    cc_cfg *hc = passive_cfg(SEC, 3);
    cc_cfg *ps = cc_cfg_get(hc, "passive");
    cc_cfg *us = cc_cfg_child_arr(A, ps, "unhealthy_status");
    cc_cfg_push(A, us, cc_cfg_int(A, 5));
    cc_cfg_push(A, us, cc_cfg_int(A, 503));
    cc_cfg_push(A, us, cc_cfg_int(A, 404));
    cc_cfg_set_str(A, ps, "unhealthy_latency", "250ms"); /* a duration string is accepted */
    cc_rp_pool *p = provision(handler(d, 1, hc));
    T_INT(p->passive.unhealthy_latency, 250 * MS);
    cc_rp_upstream *u = p->up[0];
    T_INT(cc_rp_report(u, 200, 10 * MS, false), 0);
    T_INT(cc_rp_report(u, 404, 10 * MS, false), 1);
    T_INT(cc_rp_report(u, 502, 10 * MS, false), 1);  /* 5xx class */
    T_INT(cc_rp_report(u, 503, 10 * MS, false), 2);  /* class and code both strike */
    T_INT(cc_rp_report(u, 200, 250 * MS, false), 1); /* latency at the limit */
    T_INT(cc_rp_report(u, 503, 300 * MS, false), 3);
    T_INT(cc_rp_upstream_fails(u), 8);
    T_OK(!cc_rp_upstream_healthy(u), "8 >= 3");
    advance(SEC);
    T_INT(cc_rp_upstream_fails(u), 0);
    cc_rp_pool_cleanup(p);

    /* fail_duration 0 (or no passive object) counts nothing */
    cc_rp_pool *q = provision(handler(d, 1, passive_cfg(0, 0)));
    T_INT(cc_rp_report(q->up[0], 0, 0, true), 0);
    T_INT(q->passive.max_fails, 1);
    cc_rp_pool *none = provision(handler(d, 1, NULL));
    T_INT(cc_rp_report(none->up[0], 0, 0, true), 0);
    cc_rp_pool_cleanup(q);
    cc_rp_pool_cleanup(none);
}

static void test_passive_shared(void)
{
    /* failures are shared by address; each handler applies its own max_fails */
    static const char *const d[] = {"10.8.2.1:80"};
    cc_rp_pool *a = provision(handler(d, 1, passive_cfg(10 * SEC, 2)));
    cc_rp_pool *b = provision(handler(d, 1, passive_cfg(10 * SEC, 1)));
    cc_rp_pool *c = provision(handler(d, 1, NULL)); /* no passive policy: ignores fails */
    cc_rp_report(a->up[0], 0, 0, true);
    T_INT(cc_rp_upstream_fails(b->up[0]), 1);
    T_OK(cc_rp_upstream_available(a->up[0]), "a tolerates 1");
    T_OK(!cc_rp_upstream_available(b->up[0]), "b does not");
    T_OK(cc_rp_upstream_available(c->up[0]), "c has no passive checks");
    cc_rp_report(b->up[0], 0, 0, true);
    T_INT(cc_rp_upstream_fails(a->up[0]), 2);
    /* cleaning up a handler forgets the failures it counted (Caddy cancels them) */
    cc_rp_pool_cleanup(a);
    T_INT(cc_rp_upstream_fails(b->up[0]), 1);
    cc_rp_pool_cleanup(b);
    T_INT(cc_rp_upstream_fails(c->up[0]), 0);
    cc_rp_pool_cleanup(c);
}

static void test_try_again(void)
{
    static const char *const d[] = {"10.8.3.1:80"};
    cc_req r = {.arena = A, .method = "GET"};
    cc_rp_pool *off = provision(handler(d, 1, NULL));
    T_OK(!cc_rp_try_again(off, cc_rp_now_ns(), 0, CC_RP_FAIL_DIAL, &r), "retries off");
    cc_cfg *h = handler(d, 1, NULL);
    cc_cfg *lb = cc_cfg_child_obj(A, h, "load_balancing");
    cc_cfg_set_int(A, lb, "retries", 2);
    cc_cfg_set_int(A, lb, "try_duration", 5 * SEC);
    cc_rp_pool *p = provision(h);
    T_INT(p->try_interval, 250 * MS); /* default with a try_duration */
    uint64_t start = cc_rp_now_ns();
    T_OK(cc_rp_try_again(p, start, 0, CC_RP_FAIL_DIAL, &r), "dial error retried");
    T_OK(cc_rp_try_again(p, start, 1, CC_RP_FAIL_TRANSPORT, &r), "GET retried");
    T_OK(!cc_rp_try_again(p, start, 2, CC_RP_FAIL_DIAL, &r), "retry limit");
    r.method = "POST";
    T_OK(!cc_rp_try_again(p, start, 0, CC_RP_FAIL_TRANSPORT, &r), "POST not retried");
    T_OK(cc_rp_try_again(p, start, 0, CC_RP_FAIL_NO_UPSTREAM, &r), "no upstream retried");
    advance(5 * SEC);
    T_OK(!cc_rp_try_again(p, start, 0, CC_RP_FAIL_DIAL, &r), "try_duration elapsed");
    /* retry_match lets a POST through */
    cc_cfg *h2 = handler(d, 1, NULL);
    cc_cfg *lb2 = cc_cfg_child_obj(A, h2, "load_balancing");
    cc_cfg_set_int(A, lb2, "retries", 3);
    cc_cfg *set = cc_cfg_obj(A);
    cc_cfg_push_str(A, cc_cfg_child_arr(A, set, "method"), "POST");
    cc_cfg_push(A, cc_cfg_child_arr(A, lb2, "retry_match"), set);
    cc_rp_pool *q = provision(h2);
    T_OK(cc_rp_try_again(q, cc_rp_now_ns(), 0, CC_RP_FAIL_TRANSPORT, &r), "POST matched");
    r.method = "GET";
    T_OK(!cc_rp_try_again(q, cc_rp_now_ns(), 0, CC_RP_FAIL_TRANSPORT, &r),
         "GET not matched by retry_match");
    cc_rp_pool_cleanup(off);
    cc_rp_pool_cleanup(p);
    cc_rp_pool_cleanup(q);
}

/* ---- a tiny HTTP server ---- */

typedef struct srv {
    int fd, port;
    pthread_t th;
    atomic_bool stop;
    pthread_mutex_t mu;
    int status;
    char body[256];
    char location[128];
    char last_req[2048];
    int hits;
} srv;

static void *srv_run(void *arg)
{
    srv *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {s->fd, POLLIN, 0};
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        char buf[2048];
        size_t n = 0;
        struct timeval tv = {1, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        while (n < sizeof(buf) - 1) {
            ssize_t k = recv(c, buf + n, sizeof(buf) - 1 - n, 0);
            if (k <= 0)
                break;
            n += (size_t)k;
            buf[n] = '\0';
            char *end = strstr(buf, "\r\n\r\n");
            if (end) {
                /* read a Content-Length body too, so it can be checked */
                const char *cl = strcasestr(buf, "\r\nContent-Length:");
                size_t want = cl ? (size_t)atoi(cl + 17) : 0;
                if (n - (size_t)(end + 4 - buf) >= want)
                    break;
            }
        }
        buf[n] = '\0';
        pthread_mutex_lock(&s->mu);
        snprintf(s->last_req, sizeof(s->last_req), "%s", buf);
        s->hits++;
        char resp[1024];
        bool ok_path = strstr(buf, " /ok ") != NULL; /* a redirect target always answers */
        int len = snprintf(resp, sizeof(resp),
                           "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s%s%sConnection: close\r\n"
                           "\r\n%s",
                           ok_path ? 200 : s->status, ok_path ? 2 : strlen(s->body),
                           *s->location && !ok_path ? "Location: " : "", ok_path ? "" : s->location,
                           *s->location && !ok_path ? "\r\n" : "", ok_path ? "ok" : s->body);
        pthread_mutex_unlock(&s->mu);
        if (send(c, resp, (size_t)len, MSG_NOSIGNAL) < 0) {
            /* the checker may have given up (timeout); nothing to do */
        }
        close(c);
    }
    return NULL;
}

static void srv_start(srv *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->status = 200;
    snprintf(s->body, sizeof(s->body), "ok");
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(s->fd, (struct sockaddr *)&sa, sizeof(sa));
    listen(s->fd, 16);
    socklen_t sl = sizeof(sa);
    getsockname(s->fd, (struct sockaddr *)&sa, &sl);
    s->port = ntohs(sa.sin_port);
    pthread_create(&s->th, NULL, srv_run, s);
}

static void srv_set(srv *s, int status, const char *body, const char *location)
{
    pthread_mutex_lock(&s->mu);
    s->status = status;
    snprintf(s->body, sizeof(s->body), "%s", body);
    snprintf(s->location, sizeof(s->location), "%s", location ? location : "");
    pthread_mutex_unlock(&s->mu);
}

static void srv_stop(srv *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->th, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->mu);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Waits (bounded) until the upstream's active state is `healthy`; returns the checker
 * rounds it took from the call, or -1 on timeout. */
static int wait_health(cc_rp_pool *p, size_t i, bool healthy, int timeout_ms)
{
    uint64_t r0 = cc_rp_checker_rounds(p->checker);
    for (int t = 0; t < timeout_ms; t += 10) {
        if ((atomic_load(&p->up[i]->unhealthy) == 0) == healthy)
            return (int)(cc_rp_checker_rounds(p->checker) - r0);
        sleep_ms(10);
    }
    return -1;
}

static void wait_rounds(cc_rp_pool *p, uint64_t n)
{
    uint64_t r0 = cc_rp_checker_rounds(p->checker);
    for (int t = 0; t < 3000 && cc_rp_checker_rounds(p->checker) < r0 + n; t += 10)
        sleep_ms(10);
}

static cc_cfg *active_cfg(cc_cfg **active_out)
{
    cc_cfg *hc = cc_cfg_obj(A);
    cc_cfg *ac = cc_cfg_child_obj(A, hc, "active");
    cc_cfg_set_str(A, ac, "uri", "/health?x=1");
    cc_cfg_set_int(A, ac, "interval", 100 * MS);
    cc_cfg_set_int(A, ac, "timeout", 1 * SEC);
    *active_out = ac;
    return hc;
}

static void test_active_basic(void)
{
    srv s;
    srv_start(&s);
    const char *dial = cc_arena_printf(A, "127.0.0.1:%d", s.port);
    cc_cfg *ac;
    cc_cfg *hc = active_cfg(&ac);
    cc_cfg_set_int(A, ac, "passes", 2);
    cc_cfg_set_int(A, ac, "fails", 2);
    cc_cfg_set_str(A, ac, "expect_body", "^ok");
    cc_cfg *hs = cc_cfg_child_obj(A, ac, "headers");
    cc_cfg_push_str(A, cc_cfg_child_arr(A, hs, "X-Check"),
                    "{http.reverse_proxy.active.target_upstream}");
    cc_cfg_push_str(A, cc_cfg_child_arr(A, hs, "Host"), "health.example");
    cc_rp_pool *p = provision(handler(&dial, 1, hc));
    T_OK(p && p->checker, "checker started");
    if (!p || !p->checker) {
        srv_stop(&s);
        return;
    }
    /* healthy from the start; the first round runs at once */
    T_OK(atomic_load(&p->up[0]->unhealthy) == 0, "starts healthy");
    wait_rounds(p, 1);
    pthread_mutex_lock(&s.mu);
    T_HAS(s.last_req, "GET /health?x=1 HTTP/1.1\r\n");
    T_HAS(s.last_req, "Host: health.example\r\n");
    T_HAS(s.last_req, cc_arena_printf(A, "X-Check: %s\r\n", dial));
    pthread_mutex_unlock(&s.mu);

    /* 503: down after two consecutive failures, not one */
    srv_set(&s, 503, "ok", NULL);
    wait_rounds(p, 1);
    int rounds = wait_health(p, 0, false, 3000);
    T_OK(rounds >= 0, "marked unhealthy");
    T_OK(!cc_rp_upstream_available(p->up[0]), "unavailable while down");
    /* back to 200 "ok": up after two passes */
    srv_set(&s, 200, "ok", NULL);
    T_OK(wait_health(p, 0, true, 3000) >= 0, "healthy again");
    /* body regex */
    srv_set(&s, 200, "not ok", NULL);
    T_OK(wait_health(p, 0, false, 3000) >= 0, "body mismatch marks down");
    srv_set(&s, 200, "ok then more", NULL);
    T_OK(wait_health(p, 0, true, 3000) >= 0, "body match marks up");
    /* a redirect is a failure without follow_redirects */
    srv_set(&s, 302, "ok", "/elsewhere");
    T_OK(wait_health(p, 0, false, 3000) >= 0, "3xx is a failure");
    cc_rp_pool_cleanup(p);
    srv_stop(&s);
}

static void test_active_thresholds(void)
{
    /* with fails=3, a single bad answer between good ones never marks down */
    srv s;
    srv_start(&s);
    const char *dial = cc_arena_printf(A, "127.0.0.1:%d", s.port);
    cc_cfg *ac;
    cc_cfg *hc = active_cfg(&ac);
    cc_cfg_set_int(A, ac, "fails", 3);
    cc_rp_pool *p = provision(handler(&dial, 1, hc));
    wait_rounds(p, 1);
    for (int i = 0; i < 3; i++) {
        srv_set(&s, 500, "", NULL);
        wait_rounds(p, 1);
        srv_set(&s, 200, "", NULL);
        wait_rounds(p, 2);
        T_OK(atomic_load(&p->up[0]->unhealthy) == 0, "isolated failures tolerated");
    }
    srv_set(&s, 500, "", NULL);
    int r = wait_health(p, 0, false, 3000);
    T_OK(r >= 2, "three consecutive failures needed (took %d more rounds)", r);
    cc_rp_pool_cleanup(p);
    srv_stop(&s);
}

static void test_active_status_class_and_port(void)
{
    srv s;
    srv_start(&s);
    srv_set(&s, 503, "", NULL);
    /* the dial port is wrong; health_port points at the server; expect 5xx */
    const char *dials[] = {"127.0.0.1:1"};
    cc_cfg *ac;
    cc_cfg *hc = active_cfg(&ac);
    cc_cfg_set_int(A, ac, "port", s.port);
    cc_cfg_set_int(A, ac, "expect_status", 5);
    cc_cfg_set_str(A, ac, "method", "POST");
    cc_cfg_set_str(A, ac, "body", "ping");
    cc_rp_pool *p = provision(handler(dials, 1, hc));
    wait_rounds(p, 2);
    T_OK(atomic_load(&p->up[0]->unhealthy) == 0, "503 matches 5xx");
    pthread_mutex_lock(&s.mu);
    T_HAS(s.last_req, "POST /health?x=1 HTTP/1.1\r\n");
    T_HAS(s.last_req, "\r\n\r\nping");
    pthread_mutex_unlock(&s.mu);
    srv_set(&s, 200, "", NULL);
    T_OK(wait_health(p, 0, false, 3000) >= 0, "200 does not match 5xx");
    cc_rp_pool_cleanup(p);

    /* follow_redirects: a 302 to a 200 passes */
    srv_set(&s, 302, "", "/ok");
    const char *dial = cc_arena_printf(A, "127.0.0.1:%d", s.port);
    cc_cfg *ac2;
    cc_cfg *hc2 = active_cfg(&ac2);
    cc_cfg_set_bool(A, ac2, "follow_redirects", true);
    cc_rp_pool *q = provision(handler(&dial, 1, hc2));
    wait_rounds(q, 3);
    T_OK(atomic_load(&q->up[0]->unhealthy) == 0, "redirect followed to a 200");
    pthread_mutex_lock(&s.mu);
    T_HAS(s.last_req, "GET /ok HTTP/1.1\r\n");
    pthread_mutex_unlock(&s.mu);
    cc_rp_pool_cleanup(q);
    srv_stop(&s);
}

static void test_active_refused(void)
{
    /* nothing listens: transport errors mark the upstream down; the other one stays up */
    srv s;
    srv_start(&s);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    socklen_t sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    int dead = ntohs(sa.sin_port);
    close(fd); /* bound then closed: connections are refused */
    const char *dials[] = {cc_arena_printf(A, "127.0.0.1:%d", dead),
                           cc_arena_printf(A, "127.0.0.1:%d", s.port)};
    cc_cfg *ac;
    cc_cfg *hc = active_cfg(&ac);
    cc_rp_pool *p = provision(handler(dials, 2, hc));
    cc_cfg *pol = cc_cfg_obj(A);
    cc_cfg_set_str(A, pol, "policy", "first");
    cc_err err = {0};
    const cc_rp_policy *first = cc_rp_policy_provision(A, pol, &err);
    T_OK(wait_health(p, 0, false, 3000) >= 0, "refused -> down");
    T_OK(atomic_load(&p->up[1]->unhealthy) == 0, "other stays up");
    cc_req r = {.arena = A};
    T_OK(cc_rp_select(first, p, &r, NULL) == p->up[1], "first fails over");
    cc_rp_pool_cleanup(p);
    srv_stop(&s);
}

static void test_active_provision(void)
{
    static const char *const d[] = {"10.8.9.1:80"};
    /* health_upstream alone does not enable checks (Caddy's IsEnabled) */
    cc_cfg *hc = cc_cfg_obj(A);
    cc_cfg_set_str(A, cc_cfg_child_obj(A, hc, "active"), "upstream", "127.0.0.1:7000");
    cc_rp_pool *p = provision(handler(d, 1, hc));
    T_OK(!p->active.enabled && !p->checker, "not enabled");
    cc_rp_pool_cleanup(p);
    /* defaults */
    cc_cfg *hc2 = cc_cfg_obj(A);
    cc_cfg *ac = cc_cfg_child_obj(A, hc2, "active");
    cc_cfg_set_str(A, ac, "uri", "/hz");
    cc_cfg_set_str(A, ac, "interval", "1h"); /* long: the first round still runs at once */
    cc_rp_pool *q = provision(handler(d, 1, hc2));
    T_INT(q->active.timeout, 5 * SEC);
    T_INT(q->active.passes, 1);
    T_INT(q->active.fails, 1);
    T_STR(q->active.method, "GET");
    T_INT(q->active.interval, 3600 * SEC);
    cc_rp_pool_cleanup(q); /* must not wait for the hour */
    /* bad regex */
    cc_cfg *hc3 = cc_cfg_obj(A);
    cc_cfg *ac3 = cc_cfg_child_obj(A, hc3, "active");
    cc_cfg_set_str(A, ac3, "uri", "/hz");
    cc_cfg_set_str(A, ac3, "expect_body", "a(b");
    cc_err err = {0};
    T_OK(cc_rp_pool_provision(A, handler(d, 1, hc3), &err) == NULL, "bad regex refused");
    T_HAS(err.msg, "expect_body: compiling regular expression:");
}

int main(void)
{
    A = cc_arena_new(0);
    cc_log_set_level(CC_LOG_ERROR); /* the checker's info lines are expected noise */
    cc_rp_set_clock(fake_clock);
    test_passive_counting();
    test_passive_rules();
    test_passive_shared();
    test_try_again();
    cc_rp_set_clock(NULL);
    test_active_provision();
    test_active_basic();
    test_active_thresholds();
    test_active_status_class_and_port();
    test_active_refused();
    cc_arena_free(A);
    return t_done();
}
