/* SPDX-License-Identifier: Apache-2.0
 * The basic_auth directive (and its deprecated spelling basicauth): HTTP Basic
 * authentication against hashed passwords, adapted to Caddy's "authentication" handler
 * with the "http_basic" provider, and (at the end) that handler at run time: bcrypt
 * verification through libxcrypt with a shared cache of verified passwords. Syntax
 * (Caddy's caddyauth/caddyfile.go):
 *
 *     basic_auth [<matcher>] [bcrypt|argon2id [<realm>]] {
 *         <username> <hashed_password>
 *         ...
 *     }
 */
#include <crypt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../caddyfile/helper.h"
#include "../core/async.h"
#include "../core/handler.h"
#include "../core/rand.h"
#include "../core/replacer.h"

static cc_cfg *parse_handler(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    if (strcmp(cc_disp_val(d), "basicauth") == 0)
        cc_helper_warn(h, "the 'basicauth' directive is deprecated, please use 'basic_auth' "
                          "instead!");

    size_t n;
    const char **args = cc_disp_remaining_args(d, &n);
    if (n > 2) {
        cc_disp_arg_err(d);
        return NULL;
    }
    const char *alg = n > 0 ? args[0] : "bcrypt";
    const char *realm = n > 1 ? args[1] : "";
    if (strcmp(alg, "bcrypt") != 0 && strcmp(alg, "argon2id") != 0) {
        cc_disp_errf(d, "unrecognized hash algorithm: %s", alg);
        return NULL;
    }

    cc_cfg *accounts = cc_cfg_arr(a);
    while (cc_disp_next_block(d, 0)) {
        const char *user = cc_disp_val(d);
        const char *hash = "";
        cc_disp_args(d, &hash, NULL);
        if (cc_disp_next_arg(d)) {
            cc_disp_arg_err(d);
            return NULL;
        }
        if (!user[0] || !hash[0]) {
            cc_disp_errf(d, "username and password cannot be empty or missing");
            return NULL;
        }
        cc_cfg *acct = cc_cfg_obj(a);
        cc_cfg_set_str(a, acct, "username", user);
        cc_cfg_set_str(a, acct, "password", hash);
        cc_cfg_push(a, accounts, acct);
    }

    cc_cfg *basic = cc_cfg_obj(a);
    if (cc_cfg_len(accounts))
        cc_cfg_set(a, basic, "accounts", accounts);
    cc_cfg *hashobj = cc_cfg_obj(a);
    cc_cfg_set_str(a, hashobj, "algorithm", alg);
    cc_cfg_set(a, basic, "hash", hashobj);
    /* Caddy always emits an (empty) hash_cache: verified passwords are cached */
    cc_cfg_set(a, basic, "hash_cache", cc_cfg_obj(a));
    if (realm[0])
        cc_cfg_set_str(a, basic, "realm", realm);

    cc_cfg *providers = cc_cfg_obj(a);
    cc_cfg_set(a, providers, "http_basic", basic);
    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "authentication");
    cc_cfg_set(a, o, "providers", providers);
    return o;
}

const cc_module cc_mod_basic_auth = {CC_MODULE_ABI, "basic_auth", parse_handler, NULL};
const cc_module cc_mod_basicauth = {CC_MODULE_ABI, "basicauth", parse_handler, NULL};

/* ---- run time: the "authentication" handler with the http_basic provider ---- */

/* Verified (hash, password) pairs: bcrypt at Caddy's default cost takes about a second,
 * so without this cache every request of a logged-in browser would. Shared by all
 * workers, hence the lock; bounded like Caddy's (random tenth evicted when full). */
#define CACHE_MAX 1000

typedef struct cache_ent {
    uint64_t h;
    const char *hash; /* the account's hash (config lifetime) */
    char *pw;         /* heap copy of the plaintext, wiped on eviction */
    size_t pwlen;
    bool same;
} cache_ent;

typedef struct account {
    const char *user;
    const char *hash; /* crypt(3) string: "$2a$14$..." */
} account;

typedef struct auth_handler {
    cc_handler super;
    account *accts;
    size_t naccts;
    const char *realm;
    const char *fake_hash; /* compared when the user does not exist, for equal timing */
    bool use_cache;
    pthread_rwlock_t lock;
    bool lock_init;
    cache_ent *cache;
    size_t ncache;
} auth_handler;

static int auth_fail(cc_prov *ctx, const cc_cfg *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int auth_fail(cc_prov *ctx, const cc_cfg *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return cc_err_setat(ctx->err, at ? at->file : NULL, at ? at->line : 0, "authentication: %s",
                        msg);
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Go's base64.StdEncoding.DecodeString: padded, CR and LF ignored. NULL if malformed. */
static char *b64_decode(cc_arena *a, const char *s, size_t *outlen)
{
    size_t n = strlen(s);
    char *clean = cc_arena_alloc(a, n + 1);
    size_t cn = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '\r' && s[i] != '\n')
            clean[cn++] = s[i];
    if (cn % 4)
        return NULL;
    char *out = cc_arena_alloc(a, cn / 4 * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < cn; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)clean[i + k];
            if (c == '=' && i + 4 == cn && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad || (v[k] = b64val(c)) < 0)
                return NULL;
        }
        if (pad == 1 && clean[i + 2] == '=')
            return NULL;
        uint32_t x =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (char)(x >> 16);
        if (pad < 2)
            out[o++] = (char)(x >> 8);
        if (pad < 1)
            out[o++] = (char)x;
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

/* The cost field of a bcrypt hash ("$2b$12$..."), 0 when it is not one. */
static int bcrypt_cost(const char *h)
{
    if (strncmp(h, "$2", 2) != 0 || !strchr("aby", h[2]) || h[3] != '$' || h[4] < '0' ||
        h[4] > '9' || h[5] < '0' || h[5] > '9' || h[6] != '$')
        return 0;
    return (h[4] - '0') * 10 + (h[5] - '0');
}

static int auth_provision(cc_handler *hd, const cc_cfg *cfg, cc_prov *ctx)
{
    auth_handler *h = (auth_handler *)hd;
    cc_arena *a = ctx->a;
    const cc_cfg *provs = cc_cfg_get(cfg, "providers");
    if (!provs || provs->type != CC_CFG_OBJ || provs->obj.n == 0)
        return auth_fail(ctx, cfg, "no authentication providers configured");
    const cc_cfg *basic = NULL;
    for (size_t i = 0; i < provs->obj.n; i++) {
        if (strcmp(provs->obj.k[i], "http_basic") != 0)
            return auth_fail(ctx, provs,
                             "loading authentication providers: unknown module: "
                             "http.authentication.providers.%s",
                             provs->obj.k[i]);
        basic = provs->obj.v[i];
    }
    if (basic->type != CC_CFG_OBJ)
        return auth_fail(ctx, basic, "http_basic must be an object");

    const cc_cfg *hash = cc_cfg_get(basic, "hash");
    const char *alg = hash ? cc_cfg_get_str(hash, "algorithm") : NULL;
    if (alg && strcmp(alg, "bcrypt") != 0)
        return auth_fail(ctx, hash,
                         "loading password hasher module: hash algorithm '%s' is not "
                         "available: caddy-c verifies bcrypt hashes only",
                         alg);
    const char *realm = cc_cfg_get_str(basic, "realm");
    h->realm = realm && realm[0] ? realm : "restricted";
    const cc_cfg *hc = cc_cfg_get(basic, "hash_cache");
    h->use_cache = hc && hc->type == CC_CFG_OBJ;

    const cc_cfg *list = cc_cfg_get(basic, "accounts");
    size_t n = cc_cfg_len(list);
    h->accts = cc_arena_alloc(a, (n + 1) * sizeof(*h->accts));
    int cost = 0;
    for (size_t i = 0; i < n; i++) {
        const cc_cfg *ac = cc_cfg_idx(list, i);
        const char *user = cc_cfg_get_str(ac, "username");
        const char *pass = cc_cfg_get_str(ac, "password");
        user = user ? cc_repl_expand(NULL, user, false) : "";
        pass = pass ? cc_repl_expand(NULL, pass, false) : "";
        for (size_t k = 0; k < h->naccts; k++)
            if (strcmp(h->accts[k].user, user) == 0)
                return auth_fail(ctx, ac, "account %zu: username is not unique: %s", i, user);
        if (!user[0] || !pass[0])
            return auth_fail(ctx, ac, "account %zu: username and password are required", i);
        if (pass[0] != '$') {
            /* the older form: the hash itself base64-encoded */
            size_t dl;
            char *dec = b64_decode(a, pass, &dl);
            if (!dec || strlen(dec) != dl)
                return auth_fail(ctx, ac, "base64-decoding password: illegal base64 data");
            pass = dec;
        }
        int c = bcrypt_cost(pass);
        if (c > cost)
            cost = c;
        h->accts[h->naccts++] = (account){user, pass};
    }
    /* a dummy with the accounts' cost makes an unknown user take as long as a known one;
     * only its salt matters, the digest part is never equal to anything */
    h->fake_hash = cc_arena_printf(a, "$2b$%02d$cCaddyCDummySaltForAu.%s", cost ? cost : 14,
                                   "0000000000000000000000000000000");
    if (h->use_cache) {
        if (pthread_rwlock_init(&h->lock, NULL) != 0)
            return auth_fail(ctx, cfg, "cannot create the hash cache lock");
        h->lock_init = true;
        h->cache = cc_xcalloc(CACHE_MAX, sizeof(*h->cache));
    }
    return CC_OK;
}

static void auth_cleanup(cc_handler *hd)
{
    auth_handler *h = (auth_handler *)hd;
    for (size_t i = 0; i < h->ncache; i++) {
        explicit_bzero(h->cache[i].pw, h->cache[i].pwlen);
        free(h->cache[i].pw);
    }
    free(h->cache);
    h->cache = NULL;
    h->ncache = 0;
    if (h->lock_init)
        pthread_rwlock_destroy(&h->lock);
    h->lock_init = false;
}

/* Equal-time comparison of two NUL-terminated strings of known lengths. */
static bool ct_equal(const char *x, size_t xl, const char *y, size_t yl)
{
    volatile unsigned char d = (unsigned char)(xl != yl);
    size_t n = xl < yl ? xl : yl;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}

static bool bcrypt_check(const char *hash, const char *pw)
{
    struct crypt_data *cd = cc_xcalloc(1, sizeof(*cd));
    const char *out = crypt_rn(pw, hash, cd, (int)sizeof(*cd));
    bool same = out && out[0] != '*' && ct_equal(out, strlen(out), hash, strlen(hash));
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    return same;
}

static uint64_t fnv1a(const char *hash, const char *pw, size_t pwlen)
{
    uint64_t x = 1469598103934665603ull;
    for (const char *p = hash; *p; p++)
        x = (x ^ (unsigned char)*p) * 1099511628211ull;
    for (size_t i = 0; i < pwlen; i++)
        x = (x ^ (unsigned char)pw[i]) * 1099511628211ull;
    return x;
}

/* The cached verdict for (hash, pw): 1 same, 0 different, -1 not cached. */
static int cache_lookup(auth_handler *h, const char *hash, const char *pw)
{
    if (!h->use_cache)
        return -1;
    size_t pwlen = strlen(pw);
    uint64_t key = fnv1a(hash, pw, pwlen);
    int verdict = -1;
    pthread_rwlock_rdlock(&h->lock);
    for (size_t i = 0; i < h->ncache && verdict < 0; i++) {
        const cache_ent *e = &h->cache[i];
        if (e->h == key && e->hash == hash && e->pwlen == pwlen &&
            ct_equal(e->pw, e->pwlen, pw, pwlen))
            verdict = e->same;
    }
    pthread_rwlock_unlock(&h->lock);
    return verdict;
}

static void cache_store(auth_handler *h, const char *hash, const char *pw, bool same)
{
    if (!h->use_cache)
        return;
    size_t pwlen = strlen(pw);
    uint64_t key = fnv1a(hash, pw, pwlen);
    pthread_rwlock_wrlock(&h->lock);
    if (h->ncache >= CACHE_MAX) {
        size_t drop = h->ncache / 10 ? h->ncache / 10 : 1;
        for (size_t d = 0; d < drop && h->ncache > 0; d++) {
            size_t victim = (size_t)(cc_rand64() % h->ncache);
            explicit_bzero(h->cache[victim].pw, h->cache[victim].pwlen);
            free(h->cache[victim].pw);
            h->cache[victim] = h->cache[--h->ncache];
        }
    }
    char *copy = cc_xmalloc(pwlen + 1);
    memcpy(copy, pw, pwlen + 1);
    h->cache[h->ncache++] = (cache_ent){key, hash, copy, pwlen, same};
    pthread_rwlock_unlock(&h->lock);
}

/* Go's Request.BasicAuth: "Basic " (any case) + base64 of user:password. */
static bool basic_credentials(cc_req *r, const char **user, const char **pw)
{
    const char *auth = cc_headers_get(&r->headers, "Authorization");
    if (!auth || strncasecmp(auth, "Basic ", 6) != 0)
        return false;
    size_t n;
    char *dec = b64_decode(r->arena, auth + 6, &n);
    /* a NUL would cut the name or password short in C: refuse it */
    if (!dec || strlen(dec) != n)
        return false;
    char *colon = strchr(dec, ':');
    if (!colon)
        return false;
    *colon = '\0';
    *user = dec;
    *pw = colon + 1;
    return true;
}

static int auth_deny(auth_handler *h, cc_req *r)
{
    cc_headers_set(r->arena, &r->resp.headers, "WWW-Authenticate",
                   cc_arena_printf(r->arena, "Basic realm=\"%s\"", h->realm));
    return cc_req_fail(r, 401, "not authenticated");
}

/* A bcrypt check at Caddy's default cost takes about a second: it runs on the offload
 * pool (core/async.h) so the worker keeps serving other connections meanwhile. */
typedef struct check_job {
    auth_handler *h;
    const account *acct; /* NULL: unknown user, checked against the fake hash */
    const char *hash, *pw;
    bool same;
    cc_next *next;
} check_job;

static void check_work(void *arg)
{
    check_job *j = arg;
    j->same = bcrypt_check(j->hash, j->pw);
}

static int auth_verdict(check_job *j, cc_req *r)
{
    if (j->same && j->acct) {
        cc_vars_set(r->arena, &r->vars, "http.auth.user.id", j->acct->user);
        return cc_next_run(j->next, r);
    }
    return auth_deny(j->h, r);
}

static void check_done(cc_req *r, void *arg)
{
    check_job *j = arg;
    cache_store(j->h, j->hash, j->pw, j->same);
    cc_req_resume(r, auth_verdict(j, r));
}

static int auth_handle(cc_handler *hd, cc_req *r, cc_next *next)
{
    auth_handler *h = (auth_handler *)hd;
    const char *user, *pw;
    if (!basic_credentials(r, &user, &pw))
        return auth_deny(h, r);
    check_job *j = cc_arena_alloc(r->arena, sizeof(*j));
    j->h = h;
    for (size_t i = 0; i < h->naccts; i++)
        if (strcmp(h->accts[i].user, user) == 0)
            j->acct = &h->accts[i];
    /* an unknown user costs one comparison too, so timing does not tell names */
    j->hash = j->acct ? j->acct->hash : h->fake_hash;
    j->pw = pw;
    int cached = cache_lookup(h, j->hash, pw);
    if (cached >= 0) {
        j->same = cached == 1;
        j->next = next;
        return auth_verdict(j, r);
    }
    j->next = cc_next_save(r, next);
    int rc = cc_req_offload(r, check_work, check_done, j);
    if (rc == CC_EAGAIN)
        return cc_req_fail(r, 503, "too many password checks in progress");
    if (rc != CC_OK) {
        /* no offload pool (handlers driven directly, without the engine): inline */
        j->same = bcrypt_check(j->hash, pw);
        cache_store(h, j->hash, pw, j->same);
        j->next = next;
        return auth_verdict(j, r);
    }
    return CC_ASYNC;
}

const cc_handler_type cc_ht_authentication = {
    .abi = CC_HANDLER_ABI,
    .name = "authentication",
    .size = sizeof(auth_handler),
    .provision = auth_provision,
    .handle = auth_handle,
    .cleanup = auth_cleanup,
};
