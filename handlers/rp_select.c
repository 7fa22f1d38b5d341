/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy selection policies with the algorithms and tie rules of Caddy's
 * selectionpolicies.go: random (reservoir sampling), random_choose (reservoir of N,
 * then least requests), first, round_robin (counter incremented before use, so the
 * second upstream goes first), weighted_round_robin (Caddy's cumulative-weight walk, not
 * nginx's smooth WRR), least_conn (ties broken at random), and rendezvous (HRW) hashing
 * with XXH64(dial + key) for ip_hash, client_ip_hash, uri_hash, query, header and cookie.
 * The keyed policies fall back to another policy (random by default) without a key. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../caddyfile/units.h"
#include "../core/rand.h"
#include "../core/sha256.h"
#include "../core/urlenc.h"
#include "../core/xxhash.h"
#include "rp_pool.h"

#define MODID "http.reverse_proxy.selection_policies."

/* ---- provisioning ---- */

static const struct {
    const char *name;
    cc_rp_policy_kind kind;
    const char *fields; /* allowed JSON keys besides "policy", space-separated */
} kinds[] = {
    {"random", CC_RP_POL_RANDOM, ""},
    {"random_choose", CC_RP_POL_RANDOM_CHOOSE, "choose"},
    {"first", CC_RP_POL_FIRST, ""},
    {"round_robin", CC_RP_POL_ROUND_ROBIN, ""},
    {"weighted_round_robin", CC_RP_POL_WEIGHTED_ROUND_ROBIN, "weights"},
    {"least_conn", CC_RP_POL_LEAST_CONN, ""},
    {"ip_hash", CC_RP_POL_IP_HASH, ""},
    {"client_ip_hash", CC_RP_POL_CLIENT_IP_HASH, ""},
    {"uri_hash", CC_RP_POL_URI_HASH, ""},
    {"query", CC_RP_POL_QUERY, "key fallback"},
    {"header", CC_RP_POL_HEADER, "field fallback"},
    {"cookie", CC_RP_POL_COOKIE, "name secret max_age fallback"},
};

static bool field_allowed(const char *fields, const char *k)
{
    size_t kl = strlen(k);
    for (const char *p = fields; *p;) {
        size_t n = strcspn(p, " ");
        if (n == kl && strncmp(p, k, n) == 0)
            return true;
        p += n;
        p += *p == ' ';
    }
    return false;
}

static int int_field(const cc_cfg *obj, const char *key, int64_t *out, cc_err *err,
                     const char *name)
{
    const cc_cfg *v = cc_cfg_get(obj, key);
    if (!v || v->type == CC_CFG_NULL)
        return CC_OK;
    if (v->type == CC_CFG_INT) {
        *out = v->i;
        return CC_OK;
    }
    if (v->type == CC_CFG_STR && strcmp(key, "max_age") == 0 &&
        cc_cf_parse_duration(v->s.p, out) == 0)
        return CC_OK;
    return cc_err_set(err, "decoding module config: " MODID "%s: json: cannot unmarshal %s", name,
                      key);
}

static cc_rp_policy *provision(cc_arena *a, const cc_cfg *obj, cc_err *err);

/* query/header/cookie: the fallback policy, random when absent. */
static int provision_fallback(cc_arena *a, cc_rp_policy *p, const cc_cfg *obj, cc_err *err)
{
    const cc_cfg *fb = cc_cfg_get(obj, "fallback");
    if (!fb || fb->type == CC_CFG_NULL) {
        cc_rp_policy *r = cc_arena_alloc(a, sizeof(*r));
        r->kind = CC_RP_POL_RANDOM;
        r->name = "random";
        p->fallback = r;
        return CC_OK;
    }
    cc_err ferr = {0};
    p->fallback = provision(a, fb, &ferr);
    if (!p->fallback)
        return cc_err_set(err, "provision " MODID "%s: loading fallback selection policy: %s",
                          p->name, ferr.msg);
    return CC_OK;
}

static cc_rp_policy *provision(cc_arena *a, const cc_cfg *obj, cc_err *err)
{
    cc_rp_policy *p = cc_arena_alloc(a, sizeof(*p));
    p->counter = cc_arena_alloc(a, sizeof(*p->counter));
    atomic_init(p->counter, 0);
    if (!obj || obj->type == CC_CFG_NULL) {
        p->kind = CC_RP_POL_RANDOM;
        p->name = "random";
        return p;
    }
    const char *name = cc_cfg_get_str(obj, "policy");
    if (obj->type != CC_CFG_OBJ || !name) {
        cc_err_set(err, "module name not specified with key 'policy'");
        return NULL;
    }
    size_t k = 0, nk = sizeof(kinds) / sizeof(kinds[0]);
    while (k < nk && strcmp(kinds[k].name, name) != 0)
        k++;
    if (k == nk) {
        cc_err_set(err, "loading module '%s': unknown module: " MODID "%s", name, name);
        return NULL;
    }
    p->kind = kinds[k].kind;
    p->name = kinds[k].name;
    cc_err e = {0};
    for (size_t i = 0; i < obj->obj.n; i++) {
        const char *key = obj->obj.k[i];
        if (strcmp(key, "policy") != 0 && !field_allowed(kinds[k].fields, key)) {
            cc_err_set(err,
                       "loading module '%s': decoding module config: " MODID
                       "%s: json: unknown field \"%s\"",
                       name, name, key);
            return NULL;
        }
    }
    int64_t v = 0;
    switch (p->kind) {
    case CC_RP_POL_RANDOM_CHOOSE:
        if (int_field(obj, "choose", &v, &e, name))
            break;
        p->choose = v == 0 ? 2 : (int)v;
        if (p->choose < 2)
            cc_err_set(&e, MODID "%s: invalid configuration: choose must be at least 2", name);
        break;
    case CC_RP_POL_WEIGHTED_ROUND_ROBIN: {
        const cc_cfg *ws = cc_cfg_get(obj, "weights");
        size_t n = cc_cfg_len(ws);
        int *w = cc_arena_alloc(a, (n + 1) * sizeof(int));
        bool neg = false;
        for (size_t i = 0; i < n; i++) {
            const cc_cfg *x = cc_cfg_idx(ws, i);
            if (x->type != CC_CFG_INT) {
                cc_err_set(&e,
                           "decoding module config: " MODID "%s: json: cannot unmarshal "
                           "weights",
                           name);
                break;
            }
            w[i] = (int)x->i;
            p->total_weight += w[i];
            neg |= w[i] < 0;
        }
        p->weights = w;
        p->nweights = n;
        if (p->total_weight <= 0)
            cc_err_set(&e,
                       MODID "%s: invalid configuration: weighted_round_robin requires at "
                             "least one upstream with a positive weight",
                       name);
        else if (neg)
            cc_err_set(&e,
                       MODID "%s: invalid configuration: weight of an upstream cannot be "
                             "negative",
                       name);
        break;
    }
    case CC_RP_POL_QUERY:
    case CC_RP_POL_HEADER: {
        bool q = p->kind == CC_RP_POL_QUERY;
        const char *key = cc_cfg_get_str(obj, q ? "key" : "field");
        if (!key || !*key) {
            cc_err_set(&e, "provision " MODID "%s: %s", name,
                       q ? "query key is required" : "header field is required");
            break;
        }
        p->key = key;
        provision_fallback(a, p, obj, &e);
        break;
    }
    case CC_RP_POL_COOKIE: {
        const char *cn = cc_cfg_get_str(obj, "name");
        p->key = cn && *cn ? cn : "lb";
        const char *sec = cc_cfg_get_str(obj, "secret");
        p->secret = sec ? sec : "";
        if (int_field(obj, "max_age", &p->max_age, &e, name))
            break;
        provision_fallback(a, p, obj, &e);
        break;
    }
    default:
        break;
    }
    if (e.code || e.msg[0]) {
        cc_err_set(err, "loading module '%s': %s", name, e.msg);
        return NULL;
    }
    return p;
}

cc_rp_policy *cc_rp_policy_provision(cc_arena *a, const cc_cfg *obj, cc_err *err)
{
    return provision(a, obj, err);
}

/* ---- selection ---- */

typedef struct sel {
    cc_rp_pool *pool;
    const bool *tried; /* non-NULL only in the pass that avoids used upstreams */
} sel;

static bool usable(const sel *s, const cc_rp_upstream *u)
{
    if (s->tried && s->tried[u->index])
        return false;
    return cc_rp_upstream_available(u);
}

/* weakrand.IntN */
static size_t intn(size_t n)
{
    return (size_t)(cc_rand64() % n);
}

static cc_rp_upstream *select_random(const sel *s)
{
    cc_rp_upstream *pick = NULL;
    size_t count = 0;
    for (size_t i = 0; i < s->pool->n; i++) {
        cc_rp_upstream *u = s->pool->up[i];
        if (!usable(s, u))
            continue;
        if (intn(++count) == 0)
            pick = u;
    }
    return pick;
}

/* Caddy's leastRequests, quirks included: the first idle upstream wins outright, and
 * the candidate list only grows (a later, busier host never enters it, an earlier one
 * stays). */
static cc_rp_upstream *least_requests(cc_rp_upstream **v, size_t n)
{
    cc_rp_upstream *best[n ? n : 1];
    size_t nb = 0;
    int best_reqs = -1;
    for (size_t i = 0; i < n; i++) {
        int reqs = cc_rp_upstream_num_requests(v[i]);
        if (reqs == 0)
            return v[i];
        if (reqs <= best_reqs || best_reqs == -1) {
            best_reqs = reqs;
            best[nb++] = v[i];
        }
    }
    if (nb == 0)
        return NULL;
    return nb == 1 ? best[0] : best[intn(nb)];
}

static cc_rp_upstream *select_random_choose(const cc_rp_policy *p, const sel *s)
{
    size_t k = (size_t)p->choose < s->pool->n ? (size_t)p->choose : s->pool->n;
    cc_rp_upstream *choices[k ? k : 1];
    size_t nc = 0, avail = 0;
    for (size_t i = 0; i < s->pool->n; i++) {
        cc_rp_upstream *u = s->pool->up[i];
        if (!usable(s, u))
            continue;
        avail++;
        if (nc < k) {
            choices[nc++] = u;
            continue;
        }
        size_t j = intn(avail);
        if (j < k)
            choices[j] = u;
    }
    return least_requests(choices, nc);
}

static cc_rp_upstream *select_least_conn(const sel *s)
{
    cc_rp_upstream *best = NULL;
    int least = -1;
    size_t count = 0;
    for (size_t i = 0; i < s->pool->n; i++) {
        cc_rp_upstream *u = s->pool->up[i];
        if (!usable(s, u))
            continue;
        int n = cc_rp_upstream_num_requests(u);
        if (least == -1 || n < least) {
            least = n;
            count = 0;
        }
        if (n == least) {
            count++;
            if (count == 1 || intn(count) == 0)
                best = u;
        }
    }
    return best;
}

static cc_rp_upstream *select_round_robin(const cc_rp_policy *p, const sel *s)
{
    uint32_t n = (uint32_t)s->pool->n;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t robin = atomic_fetch_add(p->counter, 1) + 1;
        cc_rp_upstream *u = s->pool->up[robin % n];
        if (usable(s, u))
            return u;
    }
    return NULL;
}

static cc_rp_upstream *select_wrr(const cc_rp_policy *p, const sel *s)
{
    size_t n = s->pool->n;
    if (n == 0)
        return NULL;
    if (p->nweights < 2)
        return s->pool->up[0]; /* as Caddy: no availability check with one weight */
    size_t npos = 0, index = 0;
    for (size_t i = 0; i < p->nweights; i++)
        npos += p->weights[i] > 0;
    uint32_t cur32 = atomic_fetch_add(p->counter, 1) + 1;
    int64_t cur = (int64_t)cur32 % p->total_weight, total = 0;
    for (size_t i = 0, j = 0; i < p->nweights; i++) {
        if (p->weights[i] <= 0)
            continue;
        total += p->weights[i];
        if (cur < total) {
            index = j;
            break;
        }
        j++;
    }
    cc_rp_upstream *ups[npos ? npos : 1];
    size_t nu = 0;
    for (size_t i = 0; i < n && nu < npos; i++) {
        cc_rp_upstream *u = s->pool->up[i];
        /* upstreams beyond the weights list count as weight 0 (Caddy would panic) */
        if (!usable(s, u) || i >= p->nweights || p->weights[i] == 0)
            continue;
        ups[nu++] = u;
    }
    return nu ? ups[index % nu] : NULL;
}

/* Rendezvous hashing: the usable upstream with the highest XXH64(dial + key). */
static cc_rp_upstream *by_hash(const sel *s, const char *key)
{
    uint64_t highest = 0;
    cc_rp_upstream *pick = NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < s->pool->n; i++) {
        cc_rp_upstream *u = s->pool->up[i];
        if (!usable(s, u))
            continue;
        cc_xxh64_state st;
        cc_xxh64_init(&st, 0);
        cc_xxh64_update(&st, u->dial, strlen(u->dial));
        cc_xxh64_update(&st, key, kl);
        uint64_t h = cc_xxh64_digest(&st);
        if (h > highest) {
            highest = h;
            pick = u;
        }
    }
    return pick;
}

void cc_rp_cookie_hash(const char *secret, const char *data, char out[65])
{
    unsigned char mac[CC_SHA256_LEN];
    cc_hmac_sha256(secret, strlen(secret), data, strlen(data), mac);
    cc_hex_encode(mac, sizeof(mac), out);
}

/* Go's validCookieValueByte */
static bool cookie_value_ok(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\')
            return false;
    }
    return true;
}

/* http.Request.Cookie(name): the first well-formed cookie of that name, its value
 * unquoted; NULL when absent. */
static const char *request_cookie(cc_req *r, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < r->headers.n; i++) {
        if (strcasecmp(r->headers.v[i].name, "Cookie") != 0)
            continue;
        const char *p = r->headers.v[i].value;
        while (p && *p) {
            size_t part = strcspn(p, ";");
            const char *s = p, *e = p + part;
            p = *e ? e + 1 : NULL;
            while (s < e && (*s == ' ' || *s == '\t'))
                s++;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            const char *eq = memchr(s, '=', (size_t)(e - s));
            if (!eq || (size_t)(eq - s) != nl || strncmp(s, name, nl) != 0)
                continue;
            const char *v = eq + 1;
            size_t vn = (size_t)(e - v);
            if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
                v++;
                vn -= 2;
            }
            if (cookie_value_ok(v, vn))
                return cc_arena_strndup(r->arena, v, vn);
        }
    }
    return NULL;
}

/* Drops a sticky cookie set by an earlier attempt of this request (a retry re-picks). */
static void drop_set_cookie(cc_headers *h, const char *name)
{
    size_t nl = strlen(name), j = 0;
    for (size_t i = 0; i < h->n; i++) {
        cc_header x = h->v[i];
        if (strcasecmp(x.name, "Set-Cookie") == 0 && strncmp(x.value, name, nl) == 0 &&
            x.value[nl] == '=')
            continue;
        h->v[j++] = x;
    }
    h->n = j;
}

static cc_rp_upstream *pick(const cc_rp_policy *p, const sel *s, cc_req *r);

static cc_rp_upstream *cookie_new_host(const cc_rp_policy *p, const sel *s, cc_req *r)
{
    cc_rp_upstream *u = pick(p->fallback, s, r);
    if (!u || !r)
        return u;
    char sha[65];
    cc_rp_cookie_hash(p->secret, u->dial, sha);
    bool secure = r->conn && r->conn->tls;
    const char *tp = cc_vars_get(&r->vars, "trusted_proxy");
    if (!secure && tp && strcmp(tp, "true") == 0) {
        const char *last = NULL;
        for (size_t i = 0; i < r->headers.n; i++)
            if (strcasecmp(r->headers.v[i].name, "X-Forwarded-Proto") == 0)
                last = r->headers.v[i].value;
        secure = last && strcmp(last, "https") == 0;
    }
    char maxage[40] = "";
    int64_t secs = p->max_age / 1000000000;
    if (secs > 0)
        snprintf(maxage, sizeof(maxage), "; Max-Age=%lld", (long long)secs);
    drop_set_cookie(&r->resp.headers, p->key);
    cc_headers_add(r->arena, &r->resp.headers, "Set-Cookie",
                   cc_arena_printf(r->arena, "%s=%s; Path=/%s; HttpOnly%s", p->key, sha, maxage,
                                   secure ? "; Secure; SameSite=None" : "; SameSite=Lax"));
    return u;
}

static cc_rp_upstream *select_cookie(const cc_rp_policy *p, const sel *s, cc_req *r)
{
    const char *val = r ? request_cookie(r, p->key) : NULL;
    if (!val)
        return cookie_new_host(p, s, r);
    size_t vl = strlen(val);
    for (size_t i = 0; i < s->pool->n; i++) {
        cc_rp_upstream *u = s->pool->up[i];
        if (!usable(s, u))
            continue;
        char sha[65];
        cc_rp_cookie_hash(p->secret, u->dial, sha);
        /* constant-time compare, as hmac.Equal */
        unsigned char diff = vl != 64;
        for (size_t k = 0; k < 64; k++)
            diff |= (unsigned char)(sha[k] ^ (k < vl ? val[k] : 0));
        if (!diff)
            return u;
    }
    return cookie_new_host(p, s, r);
}

static cc_rp_upstream *pick(const cc_rp_policy *p, const sel *s, cc_req *r)
{
    switch (p->kind) {
    case CC_RP_POL_RANDOM:
        return select_random(s);
    case CC_RP_POL_RANDOM_CHOOSE:
        return select_random_choose(p, s);
    case CC_RP_POL_FIRST:
        for (size_t i = 0; i < s->pool->n; i++)
            if (usable(s, s->pool->up[i]))
                return s->pool->up[i];
        return NULL;
    case CC_RP_POL_ROUND_ROBIN:
        return select_round_robin(p, s);
    case CC_RP_POL_WEIGHTED_ROUND_ROBIN:
        return select_wrr(p, s);
    case CC_RP_POL_LEAST_CONN:
        return select_least_conn(s);
    case CC_RP_POL_IP_HASH:
        return by_hash(s, r && r->conn && r->conn->remote_ip ? r->conn->remote_ip : "");
    case CC_RP_POL_CLIENT_IP_HASH: {
        const char *ip = r ? cc_vars_get(&r->vars, "client_ip") : NULL;
        return by_hash(s, ip ? ip : "");
    }
    case CC_RP_POL_URI_HASH:
        return by_hash(s, r && r->target ? r->target : "");
    case CC_RP_POL_QUERY: {
        bool found;
        const char *v =
            r && r->query ? cc_query_get_joined(r->arena, r->query, p->key, &found) : "";
        return v && *v ? by_hash(s, v) : pick(p->fallback, s, r);
    }
    case CC_RP_POL_HEADER: {
        /* net/http keeps Host out of the header map: only the exact field "Host" sees it */
        if (strcmp(p->key, "Host") == 0 && r && r->hostport && *r->hostport)
            return by_hash(s, r->hostport);
        const char *v =
            r && strcasecmp(p->key, "Host") != 0 ? cc_headers_get(&r->headers, p->key) : NULL;
        return v && *v ? by_hash(s, v) : pick(p->fallback, s, r);
    }
    case CC_RP_POL_COOKIE:
        return select_cookie(p, s, r);
    }
    return NULL;
}

cc_rp_upstream *cc_rp_select(const cc_rp_policy *p, cc_rp_pool *pool, cc_req *r, const bool *tried)
{
    if (!p)
        p = pool->policy;
    bool any_tried = false;
    for (size_t i = 0; tried && i < pool->n && !any_tried; i++)
        any_tried = tried[i];
    sel s = {pool, any_tried ? tried : NULL};
    cc_rp_upstream *u = pick(p, &s, r);
    if (!u && any_tried) {
        /* every untried upstream is down: a used one beats none */
        s.tried = NULL;
        u = pick(p, &s, r);
    }
    return u;
}
