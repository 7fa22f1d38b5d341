/* SPDX-License-Identifier: Apache-2.0
 * A server's tls_connection_policies (Caddy's caddytls.ConnectionPolicy) compiled for
 * wolfSSL on the main thread, so that every mistake is a load error: protocol range,
 * cipher suites (Go's names mapped to wolfSSL's), curves, ALPN, client authentication
 * with its trust pool and pinned leaves, default and fallback SNI. Caddy's defaults
 * apply to what is unset, with ChaCha20 first because this wolfSSL build has no AES-NI
 * code (engine-notes.md 3.2). */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/coding.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/log.h"
#include "tls.h"

/* TLS 1.3 suites are not configurable (as in Go); ChaCha20 first, no AES-NI here. */
#define TLS13_SUITES                                                                               \
    "TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384"
#define TLS12_DEFAULT                                                                              \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

static const struct {
    const char *go, *wolf; /* wolf NULL: a TLS 1.3 suite, always on */
} suites[] = {
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_AES_128_GCM_SHA256", NULL},
    {"TLS_AES_256_GCM_SHA384", NULL},
    {"TLS_CHACHA20_POLY1305_SHA256", NULL},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
};

static const struct {
    const char *name;
    int id; /* 0: known to Caddy, not to this wolfSSL */
} curves[] = {
    {"x25519", WOLFSSL_ECC_X25519},
    {"secp256r1", WOLFSSL_ECC_SECP256R1},
    {"secp384r1", WOLFSSL_ECC_SECP384R1},
    {"secp521r1", WOLFSSL_ECC_SECP521R1},
    {"x25519mlkem768", 0},
};

static int policy_err(cc_err *err, const cc_server *s, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int policy_err(cc_err *err, const cc_server *s, size_t i, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return cc_err_set(err, "server %s: tls_connection_policies[%zu]: %s", s->name, i, msg);
}

static int version_of(const char *v)
{
    if (strcmp(v, "tls1.2") == 0)
        return TLS1_2_VERSION;
    if (strcmp(v, "tls1.3") == 0)
        return TLS1_3_VERSION;
    return 0;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 8192, n = 0;
    char *buf = cc_xmalloc(cap + 1);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = cc_xrealloc(buf, cap + 1);
        }
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static unsigned char *b64_der(const char *b64, size_t *len)
{
    size_t n = strlen(b64);
    word32 out = (word32)(n * 3 / 4 + 4);
    unsigned char *der = cc_xmalloc(out);
    if (Base64_Decode((const byte *)b64, (word32)n, der, &out) != 0 || out == 0) {
        free(der);
        return NULL;
    }
    *len = out;
    return der;
}

static void add_trust(eng_tls_pol *p, int kind, unsigned char *data, size_t len)
{
    p->trust = cc_xrealloc(p->trust, (p->ntrust + 1) * sizeof(*p->trust));
    p->trust[p->ntrust++] = (eng_trust){kind, data, len};
}

static void add_leaf(eng_tls_pol *p, unsigned char *der, size_t len)
{
    p->leaves = cc_xrealloc(p->leaves, (p->nleaves + 1) * sizeof(*p->leaves));
    p->leaf_len = cc_xrealloc(p->leaf_len, (p->nleaves + 1) * sizeof(*p->leaf_len));
    p->leaves[p->nleaves] = der;
    p->leaf_len[p->nleaves++] = len;
}

/* Every CERTIFICATE block of a PEM file, as DER leaves. */
static int leaves_from_pem(eng_tls_pol *p, const char *pem, size_t n, const char *what, cc_err *err)
{
    size_t found = 0;
    const char *q = pem, *end = pem + n;
    while (q < end) {
        const char *b = strstr(q, "-----BEGIN CERTIFICATE-----");
        if (!b)
            break;
        const char *e = strstr(b, "-----END CERTIFICATE-----");
        if (!e)
            break;
        e += strlen("-----END CERTIFICATE-----");
        unsigned char *der = cc_xmalloc((size_t)(e - b));
        int dl =
            wc_CertPemToDer((const unsigned char *)b, (int)(e - b), der, (int)(e - b), CERT_TYPE);
        if (dl <= 0) {
            free(der);
            return cc_err_set(err, "%s: invalid certificate PEM block", what);
        }
        add_leaf(p, der, (size_t)dl);
        found++;
        q = e;
    }
    if (!found)
        return cc_err_set(err, "no CERTIFICATE pem block found in %s", what);
    return CC_OK;
}

static int leaf_file(eng_tls_pol *p, const char *path, cc_err *err)
{
    size_t n;
    char *pem = read_all(path, &n);
    if (!pem)
        return cc_err_set(err, "open %s: no such file or directory", path);
    int rc = leaves_from_pem(p, pem, n, path, err);
    free(pem);
    return rc;
}

static int leaf_loader(eng_tls_pol *p, const cc_cfg *l, cc_err *err)
{
    const char *kind = cc_cfg_get_str(l, "loader");
    if (!kind)
        return cc_err_set(err, "leaf certificate loader without \"loader\"");
    if (strcmp(kind, "file") == 0) {
        const cc_cfg *files = cc_cfg_get(l, "files");
        for (size_t i = 0; i < cc_cfg_len(files); i++) {
            const cc_cfg *f = cc_cfg_idx(files, i);
            if (f->type == CC_CFG_STR && leaf_file(p, f->s.p, err) != CC_OK)
                return CC_ERR;
        }
        return CC_OK;
    }
    if (strcmp(kind, "pem") == 0) {
        const cc_cfg *certs = cc_cfg_get(l, "certificates");
        for (size_t i = 0; i < cc_cfg_len(certs); i++) {
            const cc_cfg *c = cc_cfg_idx(certs, i);
            if (c->type == CC_CFG_STR &&
                leaves_from_pem(p, c->s.p, c->s.n, "inline PEM", err) != CC_OK)
                return CC_ERR;
        }
        return CC_OK;
    }
    if (strcmp(kind, "folder") == 0) {
        const cc_cfg *dirs = cc_cfg_get(l, "folders");
        for (size_t i = 0; i < cc_cfg_len(dirs); i++) {
            const cc_cfg *d = cc_cfg_idx(dirs, i);
            if (d->type != CC_CFG_STR)
                continue;
            DIR *dir = opendir(d->s.p);
            if (!dir)
                return cc_err_set(err, "open %s: no such file or directory", d->s.p);
            struct dirent *de;
            int rc = CC_OK;
            while (rc == CC_OK && (de = readdir(dir))) {
                size_t nl = strlen(de->d_name);
                if (nl < 5 || strcmp(de->d_name + nl - 4, ".pem") != 0)
                    continue;
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s", d->s.p, de->d_name);
                rc = leaf_file(p, path, err);
            }
            closedir(dir);
            if (rc != CC_OK)
                return rc;
        }
        return CC_OK;
    }
    return cc_err_set(err, "unknown leaf certificate loader: %s", kind);
}

/* A trust pool ("ca" of client_authentication): Caddy's tls.ca_pool.source modules. */
static int trust_pool(eng_tls_pol *p, const cc_cfg *ca, int depth, cc_err *err)
{
    const char *prov = cc_cfg_get_str(ca, "provider");
    if (!prov)
        return cc_err_set(err, "client_authentication.ca: missing \"provider\"");
    if (strcmp(prov, "inline") == 0) {
        const cc_cfg *certs = cc_cfg_get(ca, "trusted_ca_certs");
        for (size_t i = 0; i < cc_cfg_len(certs); i++) {
            const cc_cfg *c = cc_cfg_idx(certs, i);
            size_t n = 0;
            unsigned char *der = c->type == CC_CFG_STR ? b64_der(c->s.p, &n) : NULL;
            if (!der)
                return cc_err_set(err, "inline trust pool: certificate %zu is not base64 DER", i);
            add_trust(p, 1, der, n);
        }
        return CC_OK;
    }
    if (strcmp(prov, "file") == 0) {
        const cc_cfg *files = cc_cfg_get(ca, "pem_files");
        if (cc_cfg_len(files) == 0)
            return cc_err_set(err, "file trust pool: no pem_files");
        for (size_t i = 0; i < cc_cfg_len(files); i++) {
            const cc_cfg *f = cc_cfg_idx(files, i);
            if (f->type != CC_CFG_STR)
                continue;
            size_t n;
            char *pem = read_all(f->s.p, &n);
            if (!pem)
                return cc_err_set(err, "provisioning client CA: open %s: no such file or directory",
                                  f->s.p);
            if (!strstr(pem, "-----BEGIN CERTIFICATE-----")) {
                free(pem);
                return cc_err_set(err, "no CERTIFICATE pem block found in %s", f->s.p);
            }
            add_trust(p, 0, (unsigned char *)pem, n);
        }
        return CC_OK;
    }
    if (strcmp(prov, "system") == 0) {
        add_trust(p, 2, NULL, 0);
        return CC_OK;
    }
    if (strcmp(prov, "combined") == 0 && depth < 4) {
        const cc_cfg *src = cc_cfg_get(ca, "sources");
        for (size_t i = 0; i < cc_cfg_len(src); i++)
            if (trust_pool(p, cc_cfg_idx(src, i), depth + 1, err) != CC_OK)
                return CC_ERR;
        return CC_OK;
    }
    /* pki_root / pki_intermediate (the internal CA's certificates) and the storage and
     * http sources need the PKI app and storage, which the engine cannot reach */
    return cc_err_set(err,
                      "client_authentication trust pool provider \"%s\" is not supported "
                      "by caddy-c; use file, inline, system or combined",
                      prov);
}

static int client_auth(eng_tls_pol *p, const cc_cfg *ca, cc_err *err)
{
    const cc_cfg *pool = cc_cfg_get(ca, "ca");
    const cc_cfg *inline_cas = cc_cfg_get(ca, "trusted_ca_certs");
    const cc_cfg *pem_files = cc_cfg_get(ca, "trusted_ca_certs_pem_files");
    if (pool && (cc_cfg_len(inline_cas) || cc_cfg_len(pem_files)))
        return cc_err_set(err, "conflicting config for client authentication trust CA");
    for (size_t i = 0; i < cc_cfg_len(inline_cas); i++) {
        const cc_cfg *c = cc_cfg_idx(inline_cas, i);
        size_t n = 0;
        unsigned char *der = c->type == CC_CFG_STR ? b64_der(c->s.p, &n) : NULL;
        if (!der)
            return cc_err_set(err, "trusted_ca_certs[%zu]: not base64 DER", i);
        add_trust(p, 1, der, n);
    }
    for (size_t i = 0; i < cc_cfg_len(pem_files); i++) {
        const cc_cfg *f = cc_cfg_idx(pem_files, i);
        size_t n;
        char *pem = f->type == CC_CFG_STR ? read_all(f->s.p, &n) : NULL;
        if (!pem)
            return cc_err_set(err, "open %s: no such file or directory",
                              f->type == CC_CFG_STR ? f->s.p : "?");
        add_trust(p, 0, (unsigned char *)pem, n);
    }
    if (pool && trust_pool(p, pool, 0, err) != CC_OK)
        return CC_ERR;
    const cc_cfg *leaves = cc_cfg_get(ca, "trusted_leaf_certs");
    for (size_t i = 0; i < cc_cfg_len(leaves); i++) {
        const cc_cfg *c = cc_cfg_idx(leaves, i);
        size_t n = 0;
        unsigned char *der = c->type == CC_CFG_STR ? b64_der(c->s.p, &n) : NULL;
        if (!der)
            return cc_err_set(err, "parsing certificate: trusted_leaf_certs[%zu] is not base64 DER",
                              i);
        add_leaf(p, der, n);
    }
    const cc_cfg *verifiers = cc_cfg_get(ca, "verifiers");
    for (size_t i = 0; i < cc_cfg_len(verifiers); i++) {
        const cc_cfg *v = cc_cfg_idx(verifiers, i);
        const char *kind = cc_cfg_get_str(v, "verifier");
        if (!kind || strcmp(kind, "leaf") != 0)
            return cc_err_set(err, "unknown client certificate verifier: %s", kind ? kind : "");
        const cc_cfg *loaders = cc_cfg_get(v, "leaf_certs_loaders");
        for (size_t k = 0; k < cc_cfg_len(loaders); k++)
            if (leaf_loader(p, cc_cfg_idx(loaders, k), err) != CC_OK)
                return CC_ERR;
    }
    const char *mode = cc_cfg_get_str(ca, "mode");
    bool active = p->ntrust || p->nleaves || cc_cfg_len(verifiers) || (mode && *mode) || pool;
    if (!active) {
        p->ca_mode = ENG_CA_NONE;
        return CC_OK;
    }
    if (mode && *mode) {
        if (strcmp(mode, "request") == 0)
            p->ca_mode = ENG_CA_REQUEST;
        else if (strcmp(mode, "require") == 0)
            p->ca_mode = ENG_CA_REQUIRE;
        else if (strcmp(mode, "verify_if_given") == 0)
            p->ca_mode = ENG_CA_VERIFY_IF_GIVEN;
        else if (strcmp(mode, "require_and_verify") == 0)
            p->ca_mode = ENG_CA_REQUIRE_AND_VERIFY;
        else
            return cc_err_set(err, "client auth mode not recognized: %s", mode);
    } else {
        p->ca_mode = p->ntrust || p->nleaves || pool ? ENG_CA_REQUIRE_AND_VERIFY : ENG_CA_REQUIRE;
    }
    if ((p->ca_mode == ENG_CA_VERIFY_IF_GIVEN || p->ca_mode == ENG_CA_REQUIRE_AND_VERIFY) &&
        p->ntrust == 0 && p->nleaves == 0)
        return cc_err_set(err,
                          "client auth mode %s needs a trust pool or trusted leaf "
                          "certificates",
                          mode ? mode : "require_and_verify");
    return CC_OK;
}

static int build_policy(const cc_server *s, size_t idx, const cc_cfg *j, eng_tls_pol *p,
                        cc_err *err)
{
    pthread_mutex_init(&p->mu, NULL);
    p->vmin = TLS1_2_VERSION;
    p->vmax = TLS1_3_VERSION;
    const cc_cfg *match = cc_cfg_get(j, "match");
    if (match && match->type == CC_CFG_OBJ) {
        for (size_t i = 0; i < match->obj.n; i++) {
            if (strcmp(match->obj.k[i], "sni") != 0) {
                /* remote_ip / local_ip handshake matchers are not compiled: refusing
                 * beats silently matching every ClientHello */
                return policy_err(err, s, idx, "handshake matcher \"%s\" is not supported",
                                  match->obj.k[i]);
            }
            const cc_cfg *sni = match->obj.v[i];
            p->sni = cc_xcalloc(cc_cfg_len(sni) + 1, sizeof(char *));
            for (size_t k = 0; k < cc_cfg_len(sni); k++) {
                const cc_cfg *n = cc_cfg_idx(sni, k);
                if (n->type != CC_CFG_STR)
                    continue;
                char *v = cc_xstrdup(n->s.p);
                for (char *c = v; *c; c++)
                    if (*c >= 'A' && *c <= 'Z')
                        *c = (char)(*c - 'A' + 'a');
                p->sni[p->nsni++] = v;
            }
            p->has_match = true;
        }
    }
    const char *pmin = cc_cfg_get_str(j, "protocol_min"), *pmax = cc_cfg_get_str(j, "protocol_max");
    if (pmin && *pmin && !(p->vmin = version_of(pmin)))
        return policy_err(err, s, idx, "unsupported protocol_min: %s (tls1.2 or tls1.3)", pmin);
    if (pmax && *pmax && !(p->vmax = version_of(pmax)))
        return policy_err(err, s, idx, "unsupported protocol_max: %s (tls1.2 or tls1.3)", pmax);
    if (p->vmin > p->vmax) {
        return policy_err(err, s, idx, "protocol min (%s) cannot be greater than protocol max (%s)",
                          pmin, pmax);
    }
    const cc_cfg *cs = cc_cfg_get(j, "cipher_suites");
    char list[2048];
    snprintf(list, sizeof(list), "%s", TLS13_SUITES);
    if (cc_cfg_len(cs)) {
        size_t added = 0;
        for (size_t i = 0; i < cc_cfg_len(cs); i++) {
            const cc_cfg *c = cc_cfg_idx(cs, i);
            const char *name = c->type == CC_CFG_STR ? c->s.p : "";
            size_t k = 0;
            while (k < sizeof(suites) / sizeof(suites[0]) && strcmp(suites[k].go, name) != 0)
                k++;
            if (k == sizeof(suites) / sizeof(suites[0]))
                return policy_err(err, s, idx,
                                  "building standard TLS config: unsupported cipher "
                                  "suite: %s",
                                  name);
            if (!suites[k].wolf || strstr(list, suites[k].wolf))
                continue;
            size_t l = strlen(list);
            snprintf(list + l, sizeof(list) - l, ":%s", suites[k].wolf);
            added++;
        }
        if (!added && p->vmin <= TLS1_2_VERSION) {
            /* only TLS 1.3 names: Go ignores them, so TLS 1.2 keeps its defaults */
            size_t l = strlen(list);
            snprintf(list + l, sizeof(list) - l, ":%s", TLS12_DEFAULT);
        }
    } else {
        size_t l = strlen(list);
        snprintf(list + l, sizeof(list) - l, ":%s", TLS12_DEFAULT);
    }
    p->ciphers = cc_xstrdup(list);
    const cc_cfg *cv = cc_cfg_get(j, "curves");
    if (cc_cfg_len(cv)) {
        for (size_t i = 0; i < cc_cfg_len(cv); i++) {
            const cc_cfg *c = cc_cfg_idx(cv, i);
            const char *name = c->type == CC_CFG_STR ? c->s.p : "";
            size_t k = 0;
            while (k < sizeof(curves) / sizeof(curves[0]) && strcmp(curves[k].name, name) != 0)
                k++;
            if (k == sizeof(curves) / sizeof(curves[0]))
                return policy_err(err, s, idx, "unsupported curve: %s", name);
            if (!curves[k].id) {
                cc_log(CC_LOG_WARN, "tls", NULL,
                       "server %s: curve %s is not available in this wolfSSL build; skipped",
                       s->name, name);
                continue;
            }
            bool dup = false;
            for (int g = 0; g < p->ngroups; g++)
                dup |= p->groups[g] == curves[k].id;
            if (!dup && p->ngroups < 8)
                p->groups[p->ngroups++] = curves[k].id;
        }
        if (!p->ngroups)
            return policy_err(err, s, idx,
                              "none of the configured curves is available in this wolfSSL build");
    } else {
        p->groups[0] = WOLFSSL_ECC_X25519;
        p->groups[1] = WOLFSSL_ECC_SECP256R1;
        p->groups[2] = WOLFSSL_ECC_SECP384R1;
        p->ngroups = 3;
    }
    const cc_cfg *alpn = cc_cfg_get(j, "alpn");
    p->h1 = !alpn || cc_cfg_len(alpn) == 0 || cc_cfg_arr_has_str(alpn, "http/1.1");
    const char *ds = cc_cfg_get_str(j, "default_sni"), *fs = cc_cfg_get_str(j, "fallback_sni");
    p->default_sni = ds && *ds ? cc_xstrdup(ds) : NULL;
    p->fallback_sni = fs && *fs ? cc_xstrdup(fs) : NULL;
    const cc_cfg *drop = cc_cfg_get(j, "drop");
    p->drop = drop && drop->type == CC_CFG_BOOL && drop->b;
    const cc_cfg *ca = cc_cfg_get(j, "client_authentication");
    if (ca && ca->type == CC_CFG_OBJ) {
        cc_err e2 = {0};
        if (client_auth(p, ca, &e2) != CC_OK)
            return policy_err(err, s, idx, "%s", e2.msg);
    }
    return CC_OK;
}

static void free_policy(eng_tls_pol *p)
{
    eng_tls_pol_free_ctxs(p);
    for (size_t i = 0; i < p->nsni; i++)
        free(p->sni[i]);
    free(p->sni);
    free(p->ciphers);
    for (size_t i = 0; i < p->ntrust; i++)
        free(p->trust[i].data);
    free(p->trust);
    for (size_t i = 0; i < p->nleaves; i++)
        free(p->leaves[i]);
    free(p->leaves);
    free(p->leaf_len);
    free(p->default_sni);
    free(p->fallback_sni);
    pthread_mutex_destroy(&p->mu);
}

void eng_tls_cfg_ref(eng_tls_cfg *c)
{
    if (c)
        atomic_fetch_add(&c->refs, 1);
}

void eng_tls_cfg_unref(eng_tls_cfg *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (size_t i = 0; i < c->npols; i++)
        free_policy(&c->pols[i]);
    free(c->pols);
    if (c->base)
        wolfSSL_CTX_free(c->base);
    free((char *)c->server);
    free(c);
}

static bool sni_matches(const eng_tls_pol *p, const char *sni)
{
    if (!p->has_match)
        return true;
    if (!sni || !*sni)
        return false;
    for (size_t i = 0; i < p->nsni; i++) {
        const char *m = p->sni[i];
        if (strcasecmp(m, sni) == 0)
            return true;
        /* Caddy's MatchServerName: a "*" label matches one label */
        if (m[0] == '*' && m[1] == '.') {
            const char *dot = strchr(sni, '.');
            if (dot && strcasecmp(m + 1, dot) == 0)
                return true;
        }
    }
    return false;
}

eng_tls_pol *eng_tls_pol_match(eng_tls_cfg *c, const char *sni)
{
    for (size_t i = 0; i < c->npols; i++)
        if (sni_matches(&c->pols[i], sni))
            return &c->pols[i];
    return NULL;
}

static bool has_client_auth(const eng_tls_cfg *c)
{
    for (size_t i = 0; i < c->npols; i++)
        if (c->pols[i].ca_mode != ENG_CA_NONE)
            return true;
    return false;
}

eng_tls_cfg *eng_tls_cfg_build(const cc_server *s, cc_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, (void (*)(void))wolfSSL_Init);
    const cc_cfg *pj = cc_cfg_get(s->json, "tls_connection_policies");
    eng_tls_cfg *c = cc_xcalloc(1, sizeof(*c));
    atomic_init(&c->refs, 1);
    c->server = cc_xstrdup(s->name ? s->name : "");
    size_t n = cc_cfg_len(pj);
    /* a TLS server without policies gets Caddy's default one: every ClientHello */
    c->npols = n ? n : 1;
    c->pols = cc_xcalloc(c->npols, sizeof(*c->pols));
    c->vmin = TLS1_3_VERSION;
    c->vmax = TLS1_2_VERSION;
    for (size_t i = 0; i < c->npols; i++) {
        const cc_cfg *j = n ? cc_cfg_idx(pj, i) : NULL;
        if (build_policy(s, i, j, &c->pols[i], err) != CC_OK) {
            c->npols = i + 1;
            eng_tls_cfg_unref(c);
            return NULL;
        }
        if (c->pols[i].vmin < c->vmin)
            c->vmin = c->pols[i].vmin;
        if (c->pols[i].vmax > c->vmax)
            c->vmax = c->pols[i].vmax;
    }
    const cc_cfg *strict = cc_cfg_get(s->json, "strict_sni_host");
    if (strict && strict->type == CC_CFG_BOOL)
        c->strict_sni = strict->b;
    else if (has_client_auth(c)) {
        cc_log(CC_LOG_WARN, "http", NULL,
               "enabling strict SNI-Host enforcement because TLS client auth is configured "
               "(server %s)",
               s->name);
        c->strict_sni = true;
    }
    /* Go's http.Server: the handshake may take the smallest of the read-header, read
     * and write timeouts (read_header defaults to 1m in the engine as in Caddy) */
    int64_t to = s->read_header_timeout ? s->read_header_timeout : (int64_t)60 * 1000000000;
    if (s->read_body_timeout > 0 && (to <= 0 || s->read_body_timeout < to))
        to = s->read_body_timeout;
    if (s->write_timeout > 0 && (to <= 0 || s->write_timeout < to))
        to = s->write_timeout;
    c->hs_timeout = to > 0 ? to : 0;
    c->base = wolfSSL_CTX_new(wolfSSLv23_server_method());
    if (!c->base || !eng_tls_ctx_setup(c->base, c, &c->pols[0])) {
        cc_err_set(err, "server %s: cannot set up wolfSSL", s->name);
        eng_tls_cfg_unref(c);
        return NULL;
    }
    /* every policy's trust pool must load now, not at the first handshake */
    for (size_t i = 0; i < c->npols; i++) {
        if (!c->pols[i].ntrust)
            continue;
        WOLFSSL_CTX *t = wolfSSL_CTX_new(wolfSSLv23_server_method());
        cc_err e2 = {0};
        int rc = t ? eng_tls_trust_load(t, &c->pols[i], &e2) : cc_err_set(&e2, "out of memory");
        if (t)
            wolfSSL_CTX_free(t);
        if (rc != CC_OK) {
            policy_err(err, s, i, "provisioning client CA: %s", e2.msg);
            eng_tls_cfg_unref(c);
            return NULL;
        }
    }
    return c;
}
