/* SPDX-License-Identifier: Apache-2.0
 * Turns a PEM certificate chain and its private key into a cc_cert: the names it serves
 * (the leaf's DNS and IP SANs, or its CN when it has none), its validity dates, and a
 * check, with the same wolfSSL calls the TLS front makes later, that the chain loads and
 * the key belongs to the leaf. Anything the front could not serve is refused here, at
 * load time, with a message that says why. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert_priv.h"

static atomic_uint_fast64_t next_id = 1;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void ssl_init(void)
{
    wolfSSL_Init();
}

void cm_lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

bool cm_ip_canon(const char *s, char *out, size_t n)
{
    unsigned char b[16];
    char tmp[64];
    size_t len = strlen(s);
    /* "[::1]" as a Host would write it */
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']' && len - 2 < sizeof(tmp)) {
        memcpy(tmp, s + 1, len - 2);
        tmp[len - 2] = 0;
        s = tmp;
    }
    if (inet_pton(AF_INET, s, b) == 1)
        return inet_ntop(AF_INET, b, out, (socklen_t)n) != NULL;
    if (inet_pton(AF_INET6, s, b) == 1) {
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, v4mapped, 12) == 0)
            return inet_ntop(AF_INET, b + 12, out, (socklen_t)n) != NULL;
        return inet_ntop(AF_INET6, b, out, (socklen_t)n) != NULL;
    }
    return false;
}

typedef struct names {
    char **v;
    size_t n, cap;
} names;

static void names_add(cc_arena *a, names *ns, const char *s, size_t len)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strlen(ns->v[i]) == len && memcmp(ns->v[i], s, len) == 0)
            return;
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 8;
        ns->v = cc_arena_grow(a, ns->v, ns->cap * sizeof(char *), cap * sizeof(char *));
        ns->cap = cap;
    }
    char *c = cc_arena_strndup(a, s, len);
    cm_lower(c);
    ns->v[ns->n++] = c;
}

/* A SAN dNSName must be printable ASCII without spaces: anything else is ignored, as
 * Go's x509 parser rejects such certificates only for some uses. */
static bool dns_ok(const unsigned char *p, int n)
{
    if (n <= 0 || n > 253)
        return false;
    for (int i = 0; i < n; i++)
        if (p[i] <= 0x20 || p[i] >= 0x7f)
            return false;
    return true;
}

static void collect_names(cc_arena *a, WOLFSSL_X509 *x, names *ns)
{
    WOLFSSL_STACK *sk = wolfSSL_X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    int n = sk ? wolfSSL_sk_GENERAL_NAME_num(sk) : 0;
    for (int i = 0; i < n; i++) {
        WOLFSSL_GENERAL_NAME *gn = wolfSSL_sk_GENERAL_NAME_value(sk, i);
        if (!gn)
            continue;
        if (gn->type == 2 /* GEN_DNS */ && gn->d.dNSName) {
            const unsigned char *p = wolfSSL_ASN1_STRING_data(gn->d.dNSName);
            int len = wolfSSL_ASN1_STRING_length(gn->d.dNSName);
            if (p && dns_ok(p, len))
                names_add(a, ns, (const char *)p, (size_t)len);
        } else if (gn->type == 7 /* GEN_IPADD */ && gn->d.iPAddress) {
            const unsigned char *p = wolfSSL_ASN1_STRING_data(gn->d.iPAddress);
            int len = wolfSSL_ASN1_STRING_length(gn->d.iPAddress);
            char buf[INET6_ADDRSTRLEN];
            const char *t = NULL;
            if (p && len == 4)
                t = inet_ntop(AF_INET, p, buf, sizeof(buf));
            else if (p && len == 16)
                t = inet_ntop(AF_INET6, p, buf, sizeof(buf));
            if (t)
                names_add(a, ns, t, strlen(t));
        }
    }
    if (sk)
        wolfSSL_GENERAL_NAMES_free(sk);
    if (ns->n == 0) {
        char cn[256];
        WOLFSSL_X509_NAME *subj = wolfSSL_X509_get_subject_name(x);
        int len =
            subj ? wolfSSL_X509_NAME_get_text_by_NID(subj, NID_commonName, cn, sizeof(cn)) : -1;
        if (len > 0 && dns_ok((const unsigned char *)cn, len)) {
            char canon[INET6_ADDRSTRLEN];
            if (cm_ip_canon(cn, canon, sizeof(canon)))
                names_add(a, ns, canon, strlen(canon));
            else
                names_add(a, ns, cn, (size_t)len);
        }
    }
}

static time_t asn1_time(const WOLFSSL_ASN1_TIME *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!t || wolfSSL_ASN1_TIME_to_tm(t, &tm) != WOLFSSL_SUCCESS)
        return 0;
    return timegm(&tm);
}

/* The public key (SubjectPublicKeyInfo DER) of a private key in DER, or -1. */
static int spki_of_key(const unsigned char *der, word32 dl, unsigned char *out, word32 cap)
{
    int n = -1;
    word32 idx = 0;
    ecc_key ek;
    if (wc_ecc_init(&ek) == 0) {
        if (wc_EccPrivateKeyDecode(der, &idx, &ek, dl) == 0 &&
            (ek.type != ECC_PRIVATEKEY_ONLY || wc_ecc_make_pub(&ek, NULL) == 0))
            n = wc_EccPublicKeyToDer(&ek, out, cap, 1);
        wc_ecc_free(&ek);
        if (n > 0)
            return n;
    }
    RsaKey rk;
    idx = 0;
    if (wc_InitRsaKey(&rk, NULL) == 0) {
        if (wc_RsaPrivateKeyDecode(der, &idx, &rk, dl) == 0)
            n = wc_RsaKeyToPublicDer(&rk, out, cap);
        wc_FreeRsaKey(&rk);
        if (n > 0)
            return n;
    }
    ed25519_key dk;
    idx = 0;
    if (wc_ed25519_init(&dk) == 0) {
        unsigned char pub[ED25519_PUB_KEY_SIZE];
        if (wc_Ed25519PrivateKeyDecode(der, &idx, &dk, dl) == 0 &&
            wc_ed25519_make_public(&dk, pub, sizeof(pub)) == 0 &&
            wc_ed25519_import_private_key(dk.k, ED25519_KEY_SIZE, pub, sizeof(pub), &dk) == 0)
            n = wc_Ed25519PublicKeyToDer(&dk, out, cap, 1);
        wc_ed25519_free(&dk);
    }
    return n > 0 ? n : -1;
}

/* wolfSSL's own check_private_key accepts any ECC key for any ECC certificate (5.5.4),
 * so the key's public half is derived and compared with the leaf's. */
static bool key_matches(WOLFSSL_X509 *x, const char *key_pem, size_t key_len)
{
    unsigned char spki[2048], mine[2048];
    int sl = sizeof(spki);
    if (wolfSSL_X509_get_pubkey_buffer(x, spki, &sl) != WOLFSSL_SUCCESS || sl <= 0)
        return false;
    unsigned char *der = malloc(key_len + 1);
    if (!der)
        return false;
    int dl = wc_KeyPemToDer((const unsigned char *)key_pem, (int)key_len, der, (int)key_len, NULL);
    int ml = dl > 0 ? spki_of_key(der, (word32)dl, mine, sizeof(mine)) : -1;
    memset(der, 0, key_len);
    free(der);
    return ml == sl && memcmp(mine, spki, (size_t)sl) == 0;
}

/* The chain must be PEM certificates only, leaf first; wolfSSL would also take DER. */
static bool looks_pem(const char *p, size_t n, const char *label)
{
    char begin[64];
    snprintf(begin, sizeof(begin), "-----BEGIN %s", label);
    size_t bl = strlen(begin);
    for (size_t i = 0; i + bl <= n; i++)
        if (memcmp(p + i, begin, bl) == 0)
            return true;
    return false;
}

cc_cert *cc_cert_from_pem(const char *chain_pem, size_t chain_len, const char *key_pem,
                          size_t key_len, const char *issuer_key, bool managed, cc_err *err)
{
    pthread_once(&init_once, ssl_init);
    if (!chain_pem || chain_len == 0 || !looks_pem(chain_pem, chain_len, "CERTIFICATE")) {
        cc_err_set(err, "no certificate found in the PEM data");
        return NULL;
    }
    if (!key_pem || key_len == 0 || !looks_pem(key_pem, key_len, "")) {
        cc_err_set(err, "no private key found in the PEM data");
        return NULL;
    }
    if (chain_len > INT32_MAX || key_len > INT32_MAX) {
        cc_err_set(err, "certificate or key too large");
        return NULL;
    }
    WOLFSSL_X509 *x = wolfSSL_X509_load_certificate_buffer((const unsigned char *)chain_pem,
                                                           (int)chain_len, WOLFSSL_FILETYPE_PEM);
    if (!x) {
        cc_err_set(err, "parsing the certificate: not a valid PEM X.509 certificate");
        return NULL;
    }
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
    cc_cert *ret = NULL;
    if (!ctx) {
        cc_err_set(err, "out of memory");
        goto out;
    }
    if (wolfSSL_CTX_use_certificate_chain_buffer(ctx, (const unsigned char *)chain_pem,
                                                 (long)chain_len) != WOLFSSL_SUCCESS) {
        cc_err_set(err, "loading the certificate chain: a PEM block is not a valid certificate");
        goto out;
    }
    if (wolfSSL_CTX_use_PrivateKey_buffer(ctx, (const unsigned char *)key_pem, (long)key_len,
                                          WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
        cc_err_set(err, "loading the private key: not a PEM private key wolfSSL can use");
        goto out;
    }
    if (wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS ||
        !key_matches(x, key_pem, key_len)) {
        cc_err_set(err, "tls: private key does not match public key");
        goto out;
    }
    cc_arena *a = cc_arena_new(0);
    cm_cert_box *b = cc_arena_alloc(a, sizeof(*b));
    memset(b, 0, sizeof(*b));
    b->a = a;
    cc_cert *c = &b->c;
    names ns = {0};
    collect_names(a, x, &ns);
    if (ns.n == 0) {
        cc_arena_free(a);
        cc_err_set(err, "the certificate names no host: it has no subject alternative names and "
                        "no usable common name");
        goto out;
    }
    atomic_init(&c->refs, 1);
    c->id = atomic_fetch_add(&next_id, 1);
    c->names = (const char **)ns.v;
    c->nnames = ns.n;
    c->chain_pem = cc_arena_strndup(a, chain_pem, chain_len);
    c->chain_len = chain_len;
    c->key_pem = cc_arena_strndup(a, key_pem, key_len);
    c->key_len = key_len;
    c->not_before = asn1_time(wolfSSL_X509_get_notBefore(x));
    c->not_after = asn1_time(wolfSSL_X509_get_notAfter(x));
    c->issuer_key = cc_arena_strdup(a, issuer_key ? issuer_key : "file");
    c->managed = managed;
    ret = c;
out:
    if (ctx)
        wolfSSL_CTX_free(ctx);
    wolfSSL_X509_free(x);
    /* checking the key filled this thread's fixed-point ECC cache (FP_ECC), which
     * wolfSSL frees only on request: loader threads (manager, admin) come and go */
    wc_ecc_fp_free();
    return ret;
}
