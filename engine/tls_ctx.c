/* SPDX-License-Identifier: Apache-2.0
 * wolfSSL contexts and the handshake callbacks (engine-notes.md 3.2). A connection
 * starts on its server's certificate-less base context; the SNI callback picks the
 * connection policy and the certificate (certmagic cache: exact name, wildcard, then
 * defaults), switches the connection to the prebuilt context of that (policy,
 * certificate) pair and applies the policy's per-connection settings. The ALPN
 * callback, registered on every context, answers http/1.1 and tls-alpn-01 challenges.
 * Contexts are cached per policy and dropped when the cache generation says their
 * certificate left. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "tls_conn.h"

/* Alert numbers of RFC 8446 6.2 (wolfSSL's enum values). */
#define ALERT_HANDSHAKE_FAILURE 40
#define ALERT_UNRECOGNIZED_NAME 112
#define TLSEXT_OK 0
#define TLSEXT_NOACK 3

static const char ACME_TLS1[] = "acme-tls/1";

/* ---- client authentication ---- */

static int verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
    WOLFSSL *ssl =
        wolfSSL_X509_STORE_CTX_get_ex_data(store, wolfSSL_get_ex_data_X509_STORE_CTX_idx());
    eng_tls_conn *tc = ssl ? wolfSSL_get_app_data(ssl) : NULL;
    const eng_tls_pol *p = tc ? tc->pol : NULL;
    if (!p)
        return preverify;
    if (p->nleaves && wolfSSL_X509_STORE_CTX_get_error_depth(store) == 0) {
        int n = 0;
        WOLFSSL_X509 *x = wolfSSL_X509_STORE_CTX_get_current_cert(store);
        const unsigned char *der = x ? wolfSSL_X509_get_der(x, &n) : NULL;
        bool pinned = false;
        for (size_t i = 0; der && i < p->nleaves && !pinned; i++)
            pinned = p->leaf_len[i] == (size_t)n && memcmp(p->leaves[i], der, (size_t)n) == 0;
        if (!pinned)
            return 0;
    }
    /* request / require: a certificate is asked for but its chain is not checked */
    if (p->ca_mode == ENG_CA_REQUEST || p->ca_mode == ENG_CA_REQUIRE)
        return 1;
    return preverify;
}

int eng_tls_trust_load(WOLFSSL_CTX *ctx, const eng_tls_pol *p, cc_err *err)
{
    for (size_t i = 0; i < p->ntrust; i++) {
        const eng_trust *t = &p->trust[i];
        int rc;
        if (t->kind == 2)
            rc = wolfSSL_CTX_load_system_CA_certs(ctx);
        else
            rc = wolfSSL_CTX_load_verify_buffer(ctx, t->data, (long)t->len,
                                                t->kind == 0 ? WOLFSSL_FILETYPE_PEM
                                                             : WOLFSSL_FILETYPE_ASN1);
        if (rc != WOLFSSL_SUCCESS)
            return cc_err_set(err, "%s: the trust pool does not load (%s)",
                              t->kind == 2 ? "system trust store" : "CA certificate",
                              wolfSSL_ERR_reason_error_string((unsigned long)rc));
    }
    return CC_OK;
}

static void apply_verify(WOLFSSL *ssl, const eng_tls_pol *p)
{
    int mode;
    switch (p->ca_mode) {
    case ENG_CA_REQUEST:
    case ENG_CA_VERIFY_IF_GIVEN:
        mode = WOLFSSL_VERIFY_PEER;
        break;
    case ENG_CA_REQUIRE:
    case ENG_CA_REQUIRE_AND_VERIFY:
        mode = WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        break;
    default:
        wolfSSL_set_verify(ssl, WOLFSSL_VERIFY_NONE, NULL);
        return;
    }
    wolfSSL_set_verify(ssl, mode, verify_cb);
    /* Caddy turns tickets off with client auth: a resumption would skip verification
     * and could cross to another policy's hosts */
    wolfSSL_NoTicketTLSv12(ssl);
    wolfSSL_no_ticket_TLSv13(ssl);
}

/* ---- per (policy, certificate) contexts ---- */

static WOLFSSL_CTX *build_ctx(eng_tls_cfg *cfg, eng_tls_pol *p, const cc_cert *c)
{
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
    if (!ctx)
        return NULL;
    cc_err err = {0};
    if (!eng_tls_ctx_setup(ctx, cfg, p) ||
        wolfSSL_CTX_use_certificate_chain_buffer(ctx, (const unsigned char *)c->chain_pem,
                                                 (long)c->chain_len) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_use_PrivateKey_buffer(ctx, (const unsigned char *)c->key_pem, (long)c->key_len,
                                          WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS ||
        eng_tls_trust_load(ctx, p, &err) != CC_OK) {
        cc_log(CC_LOG_ERROR, "tls", NULL, "server %s: cannot use the certificate for %s: %s",
               cfg->server, c->nnames ? c->names[0] : "?",
               err.msg[0] ? err.msg : "wolfSSL refused it");
        wolfSSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static void drop_ent(eng_tls_ctxent *e)
{
    wolfSSL_CTX_free(e->ctx);
    cc_cert_unref(e->cert);
    free(e);
}

void eng_tls_pol_free_ctxs(eng_tls_pol *p)
{
    for (size_t i = 0; i < p->nbuckets; i++)
        while (p->ctxs[i]) {
            eng_tls_ctxent *e = p->ctxs[i];
            p->ctxs[i] = e->next;
            drop_ent(e);
        }
    free(p->ctxs);
    p->ctxs = NULL;
    p->nbuckets = p->nctxs = 0;
}

/* Contexts of certificates the cache no longer serves for their first name go. */
static void sweep(eng_tls_pol *p)
{
    for (size_t i = 0; i < p->nbuckets; i++) {
        eng_tls_ctxent **pp = &p->ctxs[i];
        while (*pp) {
            eng_tls_ctxent *e = *pp;
            cc_cert *cur = cc_certcache_get(e->cert->nnames ? e->cert->names[0] : NULL);
            bool keep = cur == e->cert;
            cc_cert_unref(cur);
            if (keep) {
                pp = &e->next;
            } else {
                *pp = e->next;
                p->nctxs--;
                drop_ent(e);
            }
        }
    }
}

static void grow(eng_tls_pol *p)
{
    if (p->nbuckets && p->nctxs < p->nbuckets * 2)
        return;
    size_t nb = p->nbuckets ? p->nbuckets * 4 : 16;
    eng_tls_ctxent **v = cc_xcalloc(nb, sizeof(*v));
    for (size_t i = 0; i < p->nbuckets; i++)
        while (p->ctxs[i]) {
            eng_tls_ctxent *e = p->ctxs[i];
            p->ctxs[i] = e->next;
            e->next = v[e->id & (nb - 1)];
            v[e->id & (nb - 1)] = e;
        }
    free(p->ctxs);
    p->ctxs = v;
    p->nbuckets = nb;
}

/* The context for (p, c), with a reference for the caller; NULL if c is unusable. */
static WOLFSSL_CTX *ctx_for(eng_tls_cfg *cfg, eng_tls_pol *p, cc_cert *c)
{
    pthread_mutex_lock(&p->mu);
    uint64_t gen = cc_certcache_generation();
    if (gen != p->gen) {
        sweep(p);
        p->gen = gen;
    }
    grow(p);
    eng_tls_ctxent *e = p->ctxs[c->id & (p->nbuckets - 1)];
    while (e && e->id != c->id)
        e = e->next;
    if (!e) {
        WOLFSSL_CTX *ctx = build_ctx(cfg, p, c);
        if (!ctx) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        e = cc_xcalloc(1, sizeof(*e));
        e->id = c->id;
        e->cert = c;
        cc_cert_ref(c);
        e->ctx = ctx;
        e->next = p->ctxs[c->id & (p->nbuckets - 1)];
        p->ctxs[c->id & (p->nbuckets - 1)] = e;
        p->nctxs++;
    }
    WOLFSSL_CTX *ctx = e->ctx;
    wolfSSL_CTX_up_ref(ctx);
    pthread_mutex_unlock(&p->mu);
    return ctx;
}

/* ---- callbacks ---- */

static bool load_cert_into(WOLFSSL *ssl, const cc_cert *c)
{
    return wolfSSL_use_certificate_chain_buffer(ssl, (const unsigned char *)c->chain_pem,
                                                (long)c->chain_len) == WOLFSSL_SUCCESS &&
           wolfSSL_use_PrivateKey_buffer(ssl, (const unsigned char *)c->key_pem, (long)c->key_len,
                                         WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS;
}

void eng_tls_apply_policy(WOLFSSL *ssl, const eng_tls_pol *p, bool groups)
{
    (void)wolfSSL_set_cipher_list(ssl, p->ciphers);
    /* groups only before the ClientHello is processed: set from the SNI callback they
     * break TLS 1.3 resumption (wolfSSL 5.5.4 answers illegal_parameter) */
    if (groups)
        (void)wolfSSL_set_groups(ssl, (int *)p->groups, p->ngroups);
    apply_verify(ssl, p);
}

static cc_cert *pick_cert(eng_tls_conn *tc, const eng_tls_pol *p)
{
    const char *sni = tc->sni;
    cc_cert *c = NULL;
    if (sni[0]) {
        c = cc_certcache_get(sni);
        if (!c && p->fallback_sni)
            c = cc_certcache_get(p->fallback_sni);
        return c;
    }
    /* no SNI: the policy's default_sni, the address the client dialled (certmagic
     * does the same), then the cache's own default */
    if (p->default_sni && (c = cc_certcache_get(p->default_sni)))
        return c;
    if (tc->lip[0] && (c = cc_certcache_get(tc->lip)))
        return c;
    return cc_certcache_get(NULL);
}

static int sni_cb(WOLFSSL *ssl, int *alert, void *arg)
{
    (void)arg;
    eng_tls_conn *tc = wolfSSL_get_app_data(ssl);
    if (!tc)
        return fatal_return;
    char *name = NULL;
    unsigned short n = wolfSSL_SNI_GetRequest(ssl, WOLFSSL_SNI_HOST_NAME, (void **)&name);
    tc->sni[0] = 0;
    if (name && n > 0 && n < sizeof(tc->sni)) {
        bool ok = true;
        for (unsigned short i = 0; i < n && ok; i++)
            ok = name[i] > 0x20 && name[i] < 0x7f && name[i] != '/';
        if (ok) {
            memcpy(tc->sni, name, n);
            tc->sni[n] = 0;
            for (char *s = tc->sni; *s; s++)
                if (*s >= 'A' && *s <= 'Z')
                    *s = (char)(*s - 'A' + 'a');
        }
    }
    eng_tls_pol *p = eng_tls_pol_match(tc->cfg, tc->sni);
    if (!p || p->drop) {
        tc->why = p ? "dropped by its connection policy" : "no connection policy matches";
        *alert = ALERT_HANDSHAKE_FAILURE;
        return fatal_return;
    }
    tc->pol = p;
    cc_cert *c = pick_cert(tc, p);
    if (!c) {
        /* a name still waiting for its certificate may be answering tls-alpn-01 */
        cc_cert *ch = tc->sni[0] ? cc_challenge_alpn01(tc->sni) : NULL;
        if (ch && load_cert_into(ssl, ch)) {
            cc_cert_unref(ch);
            eng_tls_apply_policy(ssl, p, false);
            return 0;
        }
        cc_cert_unref(ch);
        tc->why = "no certificate matches the server name";
        *alert = ALERT_UNRECOGNIZED_NAME;
        return fatal_return;
    }
    WOLFSSL_CTX *ctx = ctx_for(tc->cfg, p, c);
    cc_cert_unref(c);
    if (!ctx) {
        tc->why = "the certificate cannot be used";
        *alert = ALERT_HANDSHAKE_FAILURE;
        return fatal_return;
    }
    wolfSSL_set_SSL_CTX(ssl, ctx);
    if (tc->ctx)
        wolfSSL_CTX_free(tc->ctx);
    tc->ctx = ctx; /* our reference, dropped after wolfSSL_free */
    eng_tls_apply_policy(ssl, p, false);
    return 0;
}

static bool offered(const unsigned char *in, unsigned int inlen, const char *proto,
                    const unsigned char **at)
{
    size_t pl = strlen(proto);
    for (unsigned int i = 0; i < inlen;) {
        unsigned int l = in[i];
        if (i + 1 + l > inlen)
            return false;
        if (l == pl && memcmp(in + i + 1, proto, pl) == 0) {
            *at = in + i + 1;
            return true;
        }
        i += 1 + l;
    }
    return false;
}

static int alpn_cb(WOLFSSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)arg;
    eng_tls_conn *tc = wolfSSL_get_app_data(ssl);
    const unsigned char *at;
    if (tc && offered(in, inlen, ACME_TLS1, &at)) {
        cc_cert *ch = tc->sni[0] ? cc_challenge_alpn01(tc->sni) : NULL;
        bool ok = ch && load_cert_into(ssl, ch);
        cc_cert_unref(ch);
        if (ok) {
            tc->acme = true;
            *out = at;
            *outlen = (unsigned char)strlen(ACME_TLS1);
            return TLSEXT_OK;
        }
    }
    if (offered(in, inlen, "http/1.1", &at) && (!tc || !tc->pol || tc->pol->h1)) {
        *out = at;
        *outlen = 8;
        return TLSEXT_OK;
    }
    /* no h2 engine: a client that offers only h2 gets no ALPN and speaks HTTP/1.1 or
     * leaves (returning a fatal alert here does not abort in wolfSSL 5.5.4) */
    return TLSEXT_NOACK;
}

bool eng_tls_ctx_setup(WOLFSSL_CTX *ctx, eng_tls_cfg *cfg, eng_tls_pol *p)
{
    if (wolfSSL_CTX_SetMinVersion(ctx, cfg->vmin >= TLS1_3_VERSION
                                           ? WOLFSSL_TLSV1_3
                                           : WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS)
        return false;
    if (cfg->vmax < TLS1_3_VERSION &&
        wolfSSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != WOLFSSL_SUCCESS)
        return false;
    if (wolfSSL_CTX_set_cipher_list(ctx, p->ciphers) != WOLFSSL_SUCCESS)
        return false;
    if (p->ngroups && wolfSSL_CTX_set_groups(ctx, p->groups, p->ngroups) != WOLFSSL_SUCCESS)
        return false;
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
    wolfSSL_CTX_set_servername_callback(ctx, sni_cb);
    wolfSSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
    if (wolfSSL_CTX_set_TicketEncCb(ctx, eng_tls_ticket_cb) != WOLFSSL_SUCCESS)
        return false;
    /* keys rotate every 12 h and the previous one still decrypts (tls_ticket.c) */
    wolfSSL_CTX_set_TicketHint(ctx, 12 * 3600);
    /* resumption by tickets only, as Go's server: a session-ID cache is looked up before
     * the SNI is known, so it could resume a session across policies */
    (void)wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_OFF);
    return true;
}
