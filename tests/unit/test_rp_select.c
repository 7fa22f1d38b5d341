/* SPDX-License-Identifier: Apache-2.0
 * Tests of reverse_proxy load balancing (handlers/rp_select.c, rp_pool.c) and of the
 * digests behind it: SHA-256 / HMAC-SHA256 (FIPS 180 and RFC 4231 vectors), XXH64
 * (values from libxxhash), every selection policy's sequence or distribution, HRW
 * stability, availability skipping, the tried bitmap, sticky cookies, the shared host
 * registry and policy validation errors. */
#include <stdlib.h>
#include <string.h>

#include "../../core/sha256.h"
#include "../../core/xxhash.h"
#include "../../handlers/rp_pool.h"
#include "../t.h"

static cc_arena *A;

/* ---- helpers ---- */

static cc_cfg *obj_policy(const char *json_policy_name)
{
    cc_cfg *o = cc_cfg_obj(A);
    cc_cfg_set_str(A, o, "policy", json_policy_name);
    return o;
}

/* A handler config with the given dials and policy (NULL = default) plus extra
 * health_checks (may be NULL). */
static cc_cfg *handler_cfg(const char *const *dials, size_t n, cc_cfg *policy, cc_cfg *hc)
{
    cc_cfg *h = cc_cfg_obj(A);
    cc_cfg_set_str(A, h, "handler", "reverse_proxy");
    cc_cfg *ups = cc_cfg_child_arr(A, h, "upstreams");
    for (size_t i = 0; i < n; i++) {
        cc_cfg *u = cc_cfg_obj(A);
        cc_cfg_set_str(A, u, "dial", dials[i]);
        cc_cfg_push(A, ups, u);
    }
    if (policy)
        cc_cfg_set(A, cc_cfg_child_obj(A, h, "load_balancing"), "selection_policy", policy);
    if (hc)
        cc_cfg_set(A, h, "health_checks", hc);
    return h;
}

static cc_rp_pool *pool_of(const char *const *dials, size_t n, cc_cfg *policy)
{
    cc_err err = {0};
    cc_rp_pool *p = cc_rp_pool_provision(A, handler_cfg(dials, n, policy, NULL), &err);
    T_OK(p != NULL, "provision: %s", err.msg);
    return p;
}

static cc_conn conn = {.remote_ip = "192.0.2.7", .remote_port = 5555};

static cc_req *new_req(void)
{
    cc_req *r = cc_arena_alloc(A, sizeof(*r));
    r->arena = A;
    r->conn = &conn;
    r->method = "GET";
    r->target = "/";
    r->query = "";
    r->hostport = "example.com";
    return r;
}

static size_t idx(const cc_rp_upstream *u)
{
    return u ? u->index : 99;
}

static const char *const D3[] = {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"};
static const char *const D4[] = {"10.0.1.1:80", "10.0.1.2:80", "10.0.1.3:80", "10.0.1.4:80"};

/* ---- digests ---- */

static void hex_is(const unsigned char *d, const char *want, const char *what)
{
    char got[65];
    cc_hex_encode(d, 32, got);
    T_OK(strcmp(got, want) == 0, "%s: got %s want %s", what, got, want);
}

static void test_sha256(void)
{
    unsigned char d[32];
    cc_sha256("", 0, d);
    hex_is(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty");
    cc_sha256("abc", 3, d);
    hex_is(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "abc");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    cc_sha256(m448, strlen(m448), d);
    hex_is(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "448 bits");
    /* a million 'a' in uneven pieces exercises the buffering */
    char chunk[997];
    memset(chunk, 'a', sizeof(chunk));
    cc_sha256_ctx c;
    cc_sha256_init(&c);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
        cc_sha256_update(&c, chunk, n);
        left -= n;
    }
    cc_sha256_final(&c, d);
    hex_is(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "1M a");
    /* 55/56/64 bytes: the padding boundaries */
    char buf[64];
    memset(buf, 'x', sizeof(buf));
    cc_sha256(buf, 55, d);
    hex_is(d, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072", "55 x");
    cc_sha256(buf, 56, d);
    hex_is(d, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e", "56 x");
}

static void test_hmac(void)
{
    unsigned char d[32], key[131];
    memset(key, 0x0b, 20);
    cc_hmac_sha256(key, 20, "Hi There", 8, d);
    hex_is(d, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", "rfc4231 1");
    const char *m2 = "what do ya want for nothing?";
    cc_hmac_sha256("Jefe", 4, m2, strlen(m2), d);
    hex_is(d, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "rfc4231 2");
    memset(key, 0xaa, 131);
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    cc_hmac_sha256(key, 131, m6, strlen(m6), d);
    hex_is(d, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", "rfc4231 6");
    /* the sticky-cookie value of Caddy's cookie policy (computed with Python's hmac) */
    char out[65];
    cc_rp_cookie_hash("sekrit", "127.0.0.1:9001", out);
    T_STR(out, "66d9ac624e133d879389a49f495ca9d1257378416b596af5c8181fe37c4668d4");
    cc_rp_cookie_hash("", "127.0.0.1:9001", out);
    T_STR(out, "f9521b49deca8c0bf00f3178b049c731f74e69f7a4c2beb5205bbabb5747c6c0");
}

static void test_xxhash(void)
{
    /* expected values from libxxhash 0.8.1's XXH64(…, 0) */
    T_OK(cc_xxh64("", 0, 0) == 0xef46db3751d8e999ULL, "xxh64 empty");
    T_OK(cc_xxh64("a", 1, 0) == 0xd24ec4f1a98c6e5bULL, "xxh64 a");
    T_OK(cc_xxh64("as", 2, 0) == 0x1c330fb2d66be179ULL, "xxh64 as");
    T_OK(cc_xxh64("abc", 3, 0) == 0x44bc2cf5ad770999ULL, "xxh64 abc");
    T_OK(cc_xxh64("asdf", 4, 0) == 0x415872f599cea71eULL, "xxh64 asdf");
    const char *ish = "Call me Ishmael. Some years ago--never mind how long precisely-";
    T_OK(cc_xxh64(ish, strlen(ish), 0) == 0x02a2e85470d6fd96ULL, "xxh64 63 bytes");
    char x31[31], y32[32], z33[33];
    memset(x31, 'x', 31);
    memset(y32, 'y', 32);
    memset(z33, 'z', 33);
    T_OK(cc_xxh64(x31, 31, 0) == 0x60dd0d01083b99f0ULL, "xxh64 31");
    T_OK(cc_xxh64(y32, 32, 0) == 0x64da1f1d3495ce66ULL, "xxh64 32");
    T_OK(cc_xxh64(z33, 33, 0) == 0xc5241253c64e0268ULL, "xxh64 33");
    unsigned char big[768];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)i;
    T_OK(cc_xxh64(big, sizeof(big), 0) == 0x8e03c838c596036fULL, "xxh64 768");
    /* streaming in odd pieces equals one shot */
    cc_xxh64_state s;
    cc_xxh64_init(&s, 0);
    for (size_t off = 0; off < sizeof(big);) {
        size_t n = (off % 7) + 1;
        if (off + n > sizeof(big))
            n = sizeof(big) - off;
        cc_xxh64_update(&s, big + off, n);
        off += n;
    }
    T_OK(cc_xxh64_digest(&s) == 0x8e03c838c596036fULL, "xxh64 streamed");
    T_OK(cc_xxh64("127.0.0.1:9001/foo", 18, 0) == 0x1971c4fa0d70e09fULL, "xxh64 dial+key");
}

/* ---- sequences ---- */

static void test_round_robin(void)
{
    cc_rp_pool *p = pool_of(D3, 3, obj_policy("round_robin"));
    cc_req *r = new_req();
    /* Caddy increments before indexing: the second upstream goes first */
    size_t want[] = {1, 2, 0, 1, 2, 0, 1};
    for (size_t i = 0; i < 7; i++)
        T_INT(idx(cc_rp_select(NULL, p, r, NULL)), want[i]);
    /* an unavailable upstream is skipped and the counter moves on */
    cc_rp_pool *q = pool_of(D3, 3, obj_policy("round_robin"));
    atomic_store(&q->up[1]->unhealthy, 1);
    size_t want2[] = {2, 0, 2, 0};
    for (size_t i = 0; i < 4; i++)
        T_INT(idx(cc_rp_select(NULL, q, r, NULL)), want2[i]);
    for (size_t i = 0; i < 3; i++)
        atomic_store(&q->up[i]->unhealthy, 1);
    T_OK(cc_rp_select(NULL, q, r, NULL) == NULL, "all down -> NULL");
    cc_rp_pool_cleanup(p);
    cc_rp_pool_cleanup(q);
}

static cc_cfg *wrr(const int *w, size_t n)
{
    cc_cfg *o = obj_policy("weighted_round_robin");
    cc_cfg *arr = cc_cfg_child_arr(A, o, "weights");
    for (size_t i = 0; i < n; i++)
        cc_cfg_push(A, arr, cc_cfg_int(A, w[i]));
    return o;
}

static void test_weighted_round_robin(void)
{
    static const char *const d2[] = {"10.0.2.1:80", "10.0.2.2:80"};
    cc_rp_pool *p = pool_of(d2, 2, wrr((int[]){3, 1}, 2));
    cc_req *r = new_req();
    /* Caddy's walk: counter 1,2,3,0,... against cumulative weights [3,4] */
    size_t want[] = {0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0};
    for (size_t i = 0; i < 12; i++)
        T_INT(idx(cc_rp_select(NULL, p, r, NULL)), want[i]);
    /* weight 0 disables an upstream */
    cc_rp_pool *q = pool_of(D3, 3, wrr((int[]){1, 0, 1}, 3));
    size_t want2[] = {2, 0, 2, 0};
    for (size_t i = 0; i < 4; i++)
        T_INT(idx(cc_rp_select(NULL, q, r, NULL)), want2[i]);
    /* distribution 5:3:2 over 10,000 picks is exact per cycle */
    cc_rp_pool *w = pool_of(D3, 3, wrr((int[]){5, 3, 2}, 3));
    int cnt[3] = {0};
    for (int i = 0; i < 10000; i++)
        cnt[idx(cc_rp_select(NULL, w, r, NULL))]++;
    T_INT(cnt[0], 5000);
    T_INT(cnt[1], 3000);
    T_INT(cnt[2], 2000);
    cc_rp_pool_cleanup(p);
    cc_rp_pool_cleanup(q);
    cc_rp_pool_cleanup(w);
}

static void test_first(void)
{
    cc_rp_pool *p = pool_of(D3, 3, obj_policy("first"));
    cc_req *r = new_req();
    for (int i = 0; i < 5; i++)
        T_INT(idx(cc_rp_select(NULL, p, r, NULL)), 0);
    atomic_store(&p->up[0]->unhealthy, 1);
    T_INT(idx(cc_rp_select(NULL, p, r, NULL)), 1); /* failover */
    atomic_store(&p->up[1]->unhealthy, 1);
    T_INT(idx(cc_rp_select(NULL, p, r, NULL)), 2);
    atomic_store(&p->up[0]->unhealthy, 0);
    T_INT(idx(cc_rp_select(NULL, p, r, NULL)), 0); /* back when healthy again */
    cc_rp_pool_cleanup(p);
}

static void test_least_conn(void)
{
    cc_rp_pool *p = pool_of(D3, 3, obj_policy("least_conn"));
    cc_req *r = new_req();
    cc_rp_request_begin(p->up[0]);
    cc_rp_request_begin(p->up[0]);
    cc_rp_request_begin(p->up[2]);
    for (int i = 0; i < 20; i++)
        T_INT(idx(cc_rp_select(NULL, p, r, NULL)), 1);
    /* ties among the least loaded are broken at random */
    cc_rp_request_begin(p->up[1]);
    int cnt[3] = {0};
    for (int i = 0; i < 10000; i++)
        cnt[idx(cc_rp_select(NULL, p, r, NULL))]++;
    T_INT(cnt[0], 0);
    T_OK(cnt[1] > 4500 && cnt[1] < 5500 && cnt[2] > 4500, "ties: %d %d", cnt[1], cnt[2]);
    cc_rp_request_end(p->up[0]);
    cc_rp_request_end(p->up[0]);
    cc_rp_request_end(p->up[1]);
    cc_rp_request_end(p->up[2]);
    T_INT(cc_rp_upstream_num_requests(p->up[0]), 0);
    cc_rp_pool_cleanup(p);
}

static void test_random_choose(void)
{
    cc_cfg *pol = obj_policy("random_choose");
    cc_cfg_set_int(A, pol, "choose", 3);
    cc_rp_pool *p = pool_of(D3, 3, pol);
    cc_req *r = new_req();
    T_INT(p->policy->choose, 3);
    for (int k = 0; k < 5; k++)
        cc_rp_request_begin(p->up[0]), cc_rp_request_begin(p->up[1]);
    /* choosing all three always finds the idle one */
    for (int i = 0; i < 50; i++)
        T_INT(idx(cc_rp_select(NULL, p, r, NULL)), 2);
    /* default 2: the idle one wins whenever sampled (2/3 of the time) */
    cc_rp_pool *q = pool_of(D3, 3, obj_policy("random_choose"));
    T_INT(q->policy->choose, 2);
    int cnt[3] = {0};
    for (int i = 0; i < 10000; i++)
        cnt[idx(cc_rp_select(NULL, q, r, NULL))]++;
    T_OK(cnt[2] > 6200 && cnt[2] < 7100, "idle picked %d of 10000", cnt[2]);
    T_OK(cnt[0] > 1300 && cnt[1] > 1300, "busy split %d %d", cnt[0], cnt[1]);
    for (int k = 0; k < 5; k++)
        cc_rp_request_end(p->up[0]), cc_rp_request_end(p->up[1]);
    cc_rp_pool_cleanup(p);
    cc_rp_pool_cleanup(q);
}

/* ---- distributions ---- */

static void test_random(void)
{
    cc_rp_pool *p = pool_of(D4, 4, NULL); /* default policy */
    T_STR(p->policy->name, "random");
    cc_req *r = new_req();
    int cnt[4] = {0};
    for (int i = 0; i < 10000; i++)
        cnt[idx(cc_rp_select(NULL, p, r, NULL))]++;
    for (int i = 0; i < 4; i++)
        T_OK(cnt[i] > 2200 && cnt[i] < 2800, "random bucket %d: %d", i, cnt[i]);
    atomic_store(&p->up[3]->unhealthy, 1);
    int c3 = 0;
    for (int i = 0; i < 3000; i++)
        c3 += idx(cc_rp_select(NULL, p, r, NULL)) == 3;
    T_INT(c3, 0);
    cc_rp_pool_cleanup(p);
}

static void test_hash_known(void)
{
    /* winners computed with libxxhash over dial+key (Caddy's hostByHashing) */
    cc_rp_pool *p = pool_of(D3, 3, obj_policy("uri_hash"));
    cc_req *r = new_req();
    const char *keys[] = {"/a", "/b", "/c", "/d", "/e"};
    size_t want[] = {2, 1, 1, 0, 2};
    for (size_t i = 0; i < 5; i++) {
        r->target = keys[i];
        T_INT(idx(cc_rp_select(NULL, p, r, NULL)), want[i]);
    }
    cc_rp_pool *ip = pool_of(D3, 3, obj_policy("ip_hash"));
    cc_conn c2 = {.remote_ip = "10.9.8.7"};
    r->conn = &c2;
    T_INT(idx(cc_rp_select(NULL, ip, r, NULL)), 2);
    r->conn = &conn;
    cc_rp_pool *cip = pool_of(D3, 3, obj_policy("client_ip_hash"));
    cc_vars_set(A, &r->vars, "client_ip", "192.168.1.1");
    T_INT(idx(cc_rp_select(NULL, cip, r, NULL)), 2);
    cc_cfg *hp = obj_policy("header");
    cc_cfg_set_str(A, hp, "field", "X-User");
    cc_rp_pool *hdr = pool_of(D3, 3, hp);
    cc_headers_add(A, &r->headers, "x-user", "alice");
    T_INT(idx(cc_rp_select(NULL, hdr, r, NULL)), 1);
    cc_cfg *qp = obj_policy("query");
    cc_cfg_set_str(A, qp, "key", "k");
    cc_rp_pool *qry = pool_of(D3, 3, qp);
    r->query = "k=1&x=y&k=2"; /* all values, joined: "1,2" */
    T_INT(idx(cc_rp_select(NULL, qry, r, NULL)), 0);
    r->query = "k=b%6Fb"; /* decoded before hashing: "bob" */
    T_INT(idx(cc_rp_select(NULL, qry, r, NULL)), 0);
    cc_rp_pool_cleanup(p);
    cc_rp_pool_cleanup(ip);
    cc_rp_pool_cleanup(cip);
    cc_rp_pool_cleanup(hdr);
    cc_rp_pool_cleanup(qry);
}

static void test_hash_distribution_and_hrw(void)
{
    cc_rp_pool *p = pool_of(D4, 4, obj_policy("uri_hash"));
    cc_req *r = new_req();
    enum { N = 10000 };
    static unsigned char before[N];
    int cnt[4] = {0};
    for (int i = 0; i < N; i++) {
        r->target = cc_arena_printf(A, "/item/%d", i);
        before[i] = (unsigned char)idx(cc_rp_select(NULL, p, r, NULL));
        cnt[before[i]]++;
    }
    for (int i = 0; i < 4; i++)
        T_OK(cnt[i] > 2200 && cnt[i] < 2800, "uri_hash bucket %d: %d", i, cnt[i]);
    /* stable for the same key */
    r->target = "/item/42";
    T_INT(idx(cc_rp_select(NULL, p, r, NULL)), before[42]);
    /* HRW: taking upstream 2 out only remaps the keys it had */
    atomic_store(&p->up[2]->unhealthy, 1);
    int moved_other = 0, moved_own = 0, own = 0;
    int cnt2[4] = {0};
    for (int i = 0; i < N; i++) {
        r->target = cc_arena_printf(A, "/item/%d", i);
        size_t now = idx(cc_rp_select(NULL, p, r, NULL));
        cnt2[now]++;
        if (before[i] == 2) {
            own++;
            moved_own += now != 2;
        } else {
            moved_other += now != before[i];
        }
    }
    T_INT(moved_other, 0);
    T_INT(moved_own, own);
    T_INT(cnt2[2], 0);
    /* and its keys spread over the rest rather than piling on one */
    for (int i = 0; i < 4; i++)
        if (i != 2)
            T_OK(cnt2[i] - cnt[i] > own / 3 - 300, "remapped share %d: %d", i, cnt2[i] - cnt[i]);
    atomic_store(&p->up[2]->unhealthy, 0);
    r->target = "/item/7";
    T_INT(idx(cc_rp_select(NULL, p, r, NULL)), before[7]);
    cc_rp_pool_cleanup(p);
}

static void test_fallbacks(void)
{
    cc_req *r = new_req();
    cc_cfg *qp = obj_policy("query");
    cc_cfg_set_str(A, qp, "key", "k");
    cc_cfg_set(A, qp, "fallback", obj_policy("first"));
    cc_rp_pool *p = pool_of(D3, 3, qp);
    r->query = "other=1";
    for (int i = 0; i < 5; i++)
        T_INT(idx(cc_rp_select(NULL, p, r, NULL)), 0);
    r->query = "k="; /* empty value: fallback too */
    T_INT(idx(cc_rp_select(NULL, p, r, NULL)), 0);
    /* header with the default (random) fallback */
    cc_cfg *hp = obj_policy("header");
    cc_cfg_set_str(A, hp, "field", "X-User");
    cc_rp_pool *h = pool_of(D3, 3, hp);
    T_STR(h->policy->fallback->name, "random");
    int cnt[3] = {0};
    for (int i = 0; i < 3000; i++)
        cnt[idx(cc_rp_select(NULL, h, r, NULL))]++;
    T_OK(cnt[0] > 800 && cnt[1] > 800 && cnt[2] > 800, "fallback random %d %d %d", cnt[0], cnt[1],
         cnt[2]);
    /* header Host hashes the request's Host; only the exact name, as net/http */
    cc_cfg *hh = obj_policy("header");
    cc_cfg_set_str(A, hh, "field", "Host");
    cc_cfg_set(A, hh, "fallback", obj_policy("first"));
    cc_rp_pool *hostp = pool_of(D3, 3, hh);
    r->hostport = "alice";
    T_INT(idx(cc_rp_select(NULL, hostp, r, NULL)), 1);
    r->hostport = "bob";
    T_INT(idx(cc_rp_select(NULL, hostp, r, NULL)), 0);
    cc_rp_pool_cleanup(p);
    cc_rp_pool_cleanup(h);
    cc_rp_pool_cleanup(hostp);
}

static const char *set_cookie(cc_req *r)
{
    return cc_headers_get(&r->resp.headers, "Set-Cookie");
}

static void test_cookie(void)
{
    static const char *const d2[] = {"127.0.0.1:9001", "127.0.0.1:9002"};
    cc_cfg *cp = obj_policy("cookie");
    cc_cfg_set_str(A, cp, "name", "sticky");
    cc_cfg_set_str(A, cp, "secret", "sekrit");
    cc_cfg_set(A, cp, "fallback", obj_policy("first"));
    cc_rp_pool *p = pool_of(d2, 2, cp);
    /* no cookie: fallback picks, cookie names the pick */
    cc_req *r = new_req();
    T_INT(idx(cc_rp_select(NULL, p, r, NULL)), 0);
    T_STR(set_cookie(r), "sticky=66d9ac624e133d879389a49f495ca9d1257378416b596af5c8181fe37c4668d4"
                         "; Path=/; HttpOnly; SameSite=Lax");
    /* a cookie naming upstream 1 sticks, and sets nothing */
    char h1[65];
    cc_rp_cookie_hash("sekrit", "127.0.0.1:9002", h1);
    cc_req *r2 = new_req();
    cc_headers_add(A, &r2->headers, "Cookie", cc_arena_printf(A, "a=b; sticky=\"%s\"; c=d", h1));
    for (int i = 0; i < 3; i++)
        T_INT(idx(cc_rp_select(NULL, p, r2, NULL)), 1);
    T_OK(set_cookie(r2) == NULL, "no Set-Cookie when the cookie matched");
    /* the upstream it names is gone: a new pick and a new cookie */
    atomic_store(&p->up[1]->unhealthy, 1);
    T_INT(idx(cc_rp_select(NULL, p, r2, NULL)), 0);
    T_HAS(set_cookie(r2), "sticky=66d9ac62");
    atomic_store(&p->up[1]->unhealthy, 0);
    /* an unknown value also re-picks */
    cc_req *r3 = new_req();
    cc_headers_add(A, &r3->headers, "Cookie", "sticky=bogus");
    T_INT(idx(cc_rp_select(NULL, p, r3, NULL)), 0);
    T_HAS(set_cookie(r3), "sticky=66d9ac62");
    /* TLS (or a trusted proxy saying https) makes it Secure + SameSite=None; max_age */
    cc_cfg *cp2 = obj_policy("cookie");
    cc_cfg_set_int(A, cp2, "max_age", 3600LL * 1000000000);
    cc_cfg_set(A, cp2, "fallback", obj_policy("first"));
    cc_rp_pool *q = pool_of(d2, 2, cp2);
    T_STR(q->policy->key, "lb");
    cc_req *r4 = new_req();
    cc_conn tls = {.remote_ip = "192.0.2.9", .tls = true};
    r4->conn = &tls;
    T_INT(idx(cc_rp_select(NULL, q, r4, NULL)), 0);
    T_STR(set_cookie(r4), "lb=f9521b49deca8c0bf00f3178b049c731f74e69f7a4c2beb5205bbabb5747c6c0"
                          "; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=None");
    cc_req *r5 = new_req();
    cc_vars_set(A, &r5->vars, "trusted_proxy", "true");
    cc_headers_add(A, &r5->headers, "X-Forwarded-Proto", "http");
    cc_headers_add(A, &r5->headers, "X-Forwarded-Proto", "https");
    cc_rp_select(NULL, q, r5, NULL);
    T_HAS(set_cookie(r5), "; Secure; SameSite=None");
    cc_req *r6 = new_req(); /* untrusted peer: its X-Forwarded-Proto is ignored */
    cc_headers_add(A, &r6->headers, "X-Forwarded-Proto", "https");
    cc_rp_select(NULL, q, r6, NULL);
    T_HAS(set_cookie(r6), "; SameSite=Lax");
    /* a retry that re-picks replaces its own Set-Cookie instead of adding one */
    cc_req *r7 = new_req();
    bool tried[2] = {true, false};
    cc_rp_select(NULL, q, r7, NULL);
    cc_rp_select(NULL, q, r7, tried);
    T_INT(cc_headers_count(&r7->resp.headers, "Set-Cookie"), 1);
    cc_rp_pool_cleanup(p);
    cc_rp_pool_cleanup(q);
}

static void test_tried(void)
{
    cc_req *r = new_req();
    cc_rp_pool *p = pool_of(D3, 3, obj_policy("first"));
    bool tried[3] = {true, false, false};
    T_INT(idx(cc_rp_select(NULL, p, r, tried)), 1);
    tried[1] = true;
    T_INT(idx(cc_rp_select(NULL, p, r, tried)), 2);
    tried[2] = true; /* everything used: a used one beats none */
    T_INT(idx(cc_rp_select(NULL, p, r, tried)), 0);
    atomic_store(&p->up[0]->unhealthy, 1);
    T_INT(idx(cc_rp_select(NULL, p, r, tried)), 1);
    /* hashing: the next-highest upstream for the same key */
    cc_rp_pool *h = pool_of(D3, 3, obj_policy("uri_hash"));
    r->target = "/a"; /* winner 2 */
    bool t2[3] = {false, false, true};
    size_t second = idx(cc_rp_select(NULL, h, r, t2));
    T_OK(second != 2 && second < 3, "second choice %zu", second);
    atomic_store(&h->up[2]->unhealthy, 1);
    T_INT(idx(cc_rp_select(NULL, h, r, NULL)), second); /* same as HRW without it */
    /* random never returns a tried upstream while another is available */
    cc_rp_pool *rnd = pool_of(D3, 3, NULL);
    bool t3[3] = {true, false, true};
    for (int i = 0; i < 200; i++)
        T_INT(idx(cc_rp_select(NULL, rnd, r, t3)), 1);
    cc_rp_pool_cleanup(p);
    cc_rp_pool_cleanup(h);
    cc_rp_pool_cleanup(rnd);
}

static void test_availability(void)
{
    cc_req *r = new_req();
    cc_cfg *hc = cc_cfg_obj(A);
    cc_cfg *ps = cc_cfg_child_obj(A, hc, "passive");
    cc_cfg_set_int(A, ps, "unhealthy_request_count", 2);
    cc_err err = {0};
    cc_rp_pool *p = cc_rp_pool_provision(A, handler_cfg(D3, 3, obj_policy("first"), hc), &err);
    T_OK(p != NULL, "%s", err.msg);
    T_INT(p->up[0]->max_requests, 2);
    T_INT(p->passive.max_fails, 1);
    cc_rp_request_begin(p->up[0]);
    T_OK(cc_rp_upstream_available(p->up[0]), "1 of 2");
    cc_rp_request_begin(p->up[0]);
    T_OK(!cc_rp_upstream_available(p->up[0]), "full at 2");
    T_OK(cc_rp_upstream_healthy(p->up[0]), "full is not unhealthy");
    T_INT(idx(cc_rp_select(NULL, p, r, NULL)), 1);
    cc_rp_request_end(p->up[0]);
    T_INT(idx(cc_rp_select(NULL, p, r, NULL)), 0);
    cc_rp_request_end(p->up[0]);
    /* an explicit max_requests wins over unhealthy_request_count */
    cc_cfg *h2 = handler_cfg(D3, 1, NULL, hc);
    cc_cfg_set_int(A, cc_cfg_idx(cc_cfg_get(h2, "upstreams"), 0), "max_requests", 5);
    cc_rp_pool *q = cc_rp_pool_provision(A, h2, &err);
    T_INT(q->up[0]->max_requests, 5);
    cc_rp_pool_cleanup(p);
    cc_rp_pool_cleanup(q);
}

static void test_registry(void)
{
    static const char *const da[] = {"10.7.0.1:80", "10.7.0.2:80"};
    static const char *const db[] = {"10.7.0.2:80"};
    cc_rp_pool *a = pool_of(da, 2, NULL);
    cc_rp_pool *b = pool_of(db, 1, NULL);
    T_OK(a->up[1]->host == b->up[0]->host, "same dial, same host record");
    cc_rp_request_begin(b->up[0]);
    T_INT(cc_rp_upstream_num_requests(a->up[1]), 1);
    cc_cfg *js = cc_rp_pools_json(A);
    int seen = 0;
    for (size_t i = 0; i < cc_cfg_len(js); i++) {
        const cc_cfg *o = cc_cfg_idx(js, i);
        const char *addr = cc_cfg_get_str(o, "address");
        if (strcmp(addr, "10.7.0.2:80") == 0) {
            seen++;
            T_INT(cc_cfg_get(o, "num_requests")->i, 1);
            T_INT(cc_cfg_get(o, "fails")->i, 0);
        }
    }
    T_INT(seen, 1);
    char *txt = cc_cfg_to_json(js, false, NULL);
    T_HAS(txt, "{\"address\":\"10.7.0.1:80\",\"num_requests\":0,\"fails\":0}");
    free(txt);
    cc_rp_request_end(b->up[0]);
    /* a reload: the new pool takes the host before the old one lets go, state kept */
    cc_rp_request_begin(a->up[0]);
    cc_rp_pool *a2 = pool_of(da, 2, NULL);
    cc_rp_pool_cleanup(a);
    T_INT(cc_rp_upstream_num_requests(a2->up[0]), 1);
    cc_rp_request_end(a2->up[0]);
    cc_rp_pool_cleanup(a2);
    cc_rp_pool_cleanup(b);
    js = cc_rp_pools_json(A);
    txt = cc_cfg_to_json(js, false, NULL);
    T_OK(!strstr(txt, "10.7.0."), "released hosts leave the registry: %s", txt);
    free(txt);
    cc_rp_pool_cleanup(a2); /* idempotent */
}

static void policy_err(cc_cfg *pol, const char *want)
{
    cc_err err = {0};
    cc_rp_pool *p = cc_rp_pool_provision(A, handler_cfg(D3, 3, pol, NULL), &err);
    T_OK(p == NULL, "expected an error containing %s", want);
    T_HAS(err.msg, want);
}

static void test_policy_errors(void)
{
    policy_err(obj_policy("nope"), "loading load balancing selection policy: loading module "
                                   "'nope': unknown module: "
                                   "http.reverse_proxy.selection_policies.nope");
    cc_cfg *rc = obj_policy("random_choose");
    cc_cfg_set_int(A, rc, "choose", 1);
    policy_err(rc, "choose must be at least 2");
    policy_err(wrr((int[]){0, 0}, 2), "requires at least one upstream with a positive weight");
    policy_err(wrr((int[]){2, -1}, 2), "weight of an upstream cannot be negative");
    policy_err(obj_policy("query"), "query key is required");
    policy_err(obj_policy("header"), "header field is required");
    cc_cfg *bad = obj_policy("random");
    cc_cfg_set_int(A, bad, "choose", 3);
    policy_err(bad, "unknown field \"choose\"");
    cc_cfg *fb = obj_policy("cookie");
    cc_cfg_set(A, fb, "fallback", obj_policy("zzz"));
    policy_err(fb, "loading fallback selection policy: loading module 'zzz'");
    /* Caddy applies Validate to fallbacks too */
    cc_cfg *fb2 = obj_policy("header");
    cc_cfg_set_str(A, fb2, "field", "X");
    cc_cfg *inner = obj_policy("random_choose");
    cc_cfg_set_int(A, inner, "choose", 1);
    cc_cfg_set(A, fb2, "fallback", inner);
    policy_err(fb2, "choose must be at least 2");
}

int main(void)
{
    A = cc_arena_new(0);
    test_sha256();
    test_hmac();
    test_xxhash();
    test_round_robin();
    test_weighted_round_robin();
    test_first();
    test_least_conn();
    test_random_choose();
    test_random();
    test_hash_known();
    test_hash_distribution_and_hrw();
    test_fallbacks();
    test_cookie();
    test_tried();
    test_availability();
    test_registry();
    test_policy_errors();
    cc_arena_free(A);
    return t_done();
}
