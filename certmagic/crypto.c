/* SPDX-License-Identifier: Apache-2.0
 * Keys, PEM and certificate fields on wolfCrypt (see crypto.h). Keys are written the
 * way Caddy writes them (SEC1 "EC PRIVATE KEY" for ECDSA) so a storage can be shared
 * with tools that read Caddy's; any of the usual PEM forms is read back. */
#include <wolfssl/options.h>

#include "crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/version.h>

#include "../core/arena.h"

struct cc_key {
    cc_key_type type;
    union {
        ecc_key ecc;
        RsaKey rsa;
        ed25519_key ed;
    } u;
};

static const struct {
    const char *name;
    cc_key_type t;
} key_names[] = {
    {"p256", CC_KEY_P256},       {"p384", CC_KEY_P384},       {"rsa2048", CC_KEY_RSA2048},
    {"rsa4096", CC_KEY_RSA4096}, {"ed25519", CC_KEY_ED25519},
};

int cc_key_type_parse(const char *name, cc_key_type *t, cc_err *err)
{
    if (!name || !*name) {
        *t = CC_KEY_P256;
        return CC_OK;
    }
    for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
        if (strcmp(name, key_names[i].name) == 0) {
            *t = key_names[i].t;
            return CC_OK;
        }
    return cc_err_set(err, "unknown key type: %s", name);
}

const char *cc_key_type_name(cc_key_type t)
{
    for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
        if (key_names[i].t == t)
            return key_names[i].name;
    return "p256";
}

const char *cc_crypto_lib_version(void)
{
    return LIBWOLFSSL_VERSION_STRING;
}

static cc_key *key_new(cc_key_type t)
{
    cc_key *k = cc_xcalloc(1, sizeof(*k));
    k->type = t;
    switch (t) {
    case CC_KEY_P256:
    case CC_KEY_P384:
        wc_ecc_init(&k->u.ecc);
        break;
    case CC_KEY_RSA2048:
    case CC_KEY_RSA4096:
        wc_InitRsaKey(&k->u.rsa, NULL);
        break;
    case CC_KEY_ED25519:
        wc_ed25519_init(&k->u.ed);
        break;
    }
    return k;
}

void cc_key_free(cc_key *k)
{
    if (!k)
        return;
    switch (k->type) {
    case CC_KEY_P256:
    case CC_KEY_P384:
        wc_ecc_free(&k->u.ecc);
        break;
    case CC_KEY_RSA2048:
    case CC_KEY_RSA4096:
        wc_FreeRsaKey(&k->u.rsa);
        break;
    case CC_KEY_ED25519:
        wc_ed25519_free(&k->u.ed);
        break;
    }
    free(k);
}

cc_key *cc_key_generate(cc_key_type t, cc_err *err)
{
    WC_RNG rng;
    if (wc_InitRng(&rng) != 0) {
        cc_err_set(err, "generating private key: no random number generator");
        return NULL;
    }
    cc_key *k = key_new(t);
    int rc = -1;
    switch (t) {
    case CC_KEY_P256:
        rc = wc_ecc_make_key_ex(&rng, 32, &k->u.ecc, ECC_SECP256R1);
        break;
    case CC_KEY_P384:
        rc = wc_ecc_make_key_ex(&rng, 48, &k->u.ecc, ECC_SECP384R1);
        break;
    case CC_KEY_RSA2048:
        rc = wc_MakeRsaKey(&k->u.rsa, 2048, WC_RSA_EXPONENT, &rng);
        break;
    case CC_KEY_RSA4096:
        rc = wc_MakeRsaKey(&k->u.rsa, 4096, WC_RSA_EXPONENT, &rng);
        break;
    case CC_KEY_ED25519:
        rc = wc_ed25519_make_key(&rng, ED25519_KEY_SIZE, &k->u.ed);
        break;
    }
    wc_FreeRng(&rng);
    if (rc != 0) {
        cc_key_free(k);
        cc_err_set(err, "generating %s private key: wolfCrypt error %d", cc_key_type_name(t), rc);
        return NULL;
    }
    return k;
}

cc_key *cc_key_from_pem(const char *pem, size_t n, cc_err *err)
{
    if (!pem || n == 0 || n > (1u << 20)) {
        cc_err_set(err, "decoding private key: empty or oversized PEM");
        return NULL;
    }
    unsigned char *der = cc_xmalloc(n);
    int dn = wc_KeyPemToDer((const unsigned char *)pem, (int)n, der, (int)n, NULL);
    if (dn <= 0) {
        free(der);
        cc_err_set(err, "decoding private key: no PEM private key block found");
        return NULL;
    }
    cc_key *k = key_new(CC_KEY_P256);
    word32 idx = 0;
    if (wc_EccPrivateKeyDecode(der, &idx, &k->u.ecc, (word32)dn) == 0) {
        k->type = wc_ecc_size(&k->u.ecc) == 48 ? CC_KEY_P384 : CC_KEY_P256;
        if (wc_ecc_size(&k->u.ecc) != 32 && wc_ecc_size(&k->u.ecc) != 48) {
            cc_key_free(k);
            k = NULL;
            cc_err_set(err, "decoding private key: unsupported elliptic curve");
        }
        free(der);
        return k;
    }
    cc_key_free(k);
    k = key_new(CC_KEY_RSA2048);
    idx = 0;
    if (wc_RsaPrivateKeyDecode(der, &idx, &k->u.rsa, (word32)dn) == 0) {
        k->type = wc_RsaEncryptSize(&k->u.rsa) >= 512 ? CC_KEY_RSA4096 : CC_KEY_RSA2048;
        free(der);
        return k;
    }
    cc_key_free(k);
    k = key_new(CC_KEY_ED25519);
    idx = 0;
    if (wc_Ed25519PrivateKeyDecode(der, &idx, &k->u.ed, (word32)dn) == 0) {
        free(der);
        return k;
    }
    cc_key_free(k);
    free(der);
    cc_err_set(err, "decoding private key: unknown key type (want ECDSA, RSA or Ed25519)");
    return NULL;
}

char *cc_key_to_pem(const cc_key *k, size_t *len)
{
    cc_key *mk = (cc_key *)k; /* wolfCrypt's encoders take non-const keys */
    size_t cap = 8192;
    unsigned char *der = cc_xmalloc(cap);
    int dn = -1, pem_type = 0;
    switch (k->type) {
    case CC_KEY_P256:
    case CC_KEY_P384:
        dn = wc_EccKeyToDer(&mk->u.ecc, der, (word32)cap);
        pem_type = ECC_PRIVATEKEY_TYPE;
        break;
    case CC_KEY_RSA2048:
    case CC_KEY_RSA4096:
        dn = wc_RsaKeyToDer(&mk->u.rsa, der, (word32)cap);
        pem_type = PRIVATEKEY_TYPE;
        break;
    case CC_KEY_ED25519:
        dn = wc_Ed25519KeyToDer(&mk->u.ed, der, (word32)cap);
        pem_type = PKCS8_PRIVATEKEY_TYPE;
        break;
    }
    char *out = NULL;
    if (dn > 0) {
        size_t pcap = (size_t)dn * 2 + 256;
        out = cc_xmalloc(pcap + 1);
        int pn = wc_DerToPem(der, (word32)dn, (unsigned char *)out, (word32)pcap, pem_type);
        if (pn <= 0) {
            free(out);
            out = NULL;
        } else {
            out[pn] = '\0';
            if (len)
                *len = (size_t)pn;
        }
    }
    memset(der, 0, cap);
    free(der);
    return out;
}

cc_key_type cc_key_get_type(const cc_key *k)
{
    return k->type;
}

int cc_key_wc_type(const cc_key *k)
{
    switch (k->type) {
    case CC_KEY_RSA2048:
    case CC_KEY_RSA4096:
        return RSA_TYPE;
    case CC_KEY_ED25519:
        return ED25519_TYPE;
    default:
        return ECC_TYPE;
    }
}

void *cc_key_wc(cc_key *k)
{
    return &k->u;
}

int cc_key_wc_sigtype(const cc_key *k)
{
    switch (k->type) {
    case CC_KEY_P384:
        return CTC_SHA384wECDSA;
    case CC_KEY_RSA2048:
    case CC_KEY_RSA4096:
        return CTC_SHA256wRSA;
    case CC_KEY_ED25519:
        return CTC_ED25519;
    default:
        return CTC_SHA256wECDSA;
    }
}

char *cc_pem_encode(const unsigned char *der, size_t n, const char *label, size_t *len)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t cap = strlen(label) * 2 + 40 + (n + 2) / 3 * 4 + n / 48 + 4;
    char *out = cc_xmalloc(cap), *p = out;
    p += sprintf(p, "-----BEGIN %s-----\n", label);
    size_t col = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)der[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)der[i + 1] << 8;
        if (i + 2 < n)
            v |= der[i + 2];
        *p++ = b64[(v >> 18) & 63];
        *p++ = b64[(v >> 12) & 63];
        *p++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        *p++ = i + 2 < n ? b64[v & 63] : '=';
        if ((col += 4) == 64) {
            *p++ = '\n';
            col = 0;
        }
    }
    if (col)
        *p++ = '\n';
    p += sprintf(p, "-----END %s-----\n", label);
    if (len)
        *len = (size_t)(p - out);
    return out;
}

void cc_der_list_free(cc_der *ders, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(ders[i].p);
    free(ders);
}

int cc_pem_certs(const char *pem, size_t n, cc_der **ders, size_t *count, cc_err *err)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
    *ders = NULL;
    *count = 0;
    size_t cap = 0;
    const char *p = pem, *lim = pem + n;
    for (;;) {
        const char *b = memmem(p, (size_t)(lim - p), begin, sizeof(begin) - 1);
        if (!b)
            break;
        const char *e = memmem(b, (size_t)(lim - b), end, sizeof(end) - 1);
        if (!e)
            goto bad;
        e += sizeof(end) - 1;
        size_t blen = (size_t)(e - b);
        unsigned char *der = cc_xmalloc(blen);
        int dn = wc_CertPemToDer((const unsigned char *)b, (int)blen, der, (int)blen, CERT_TYPE);
        if (dn <= 0) {
            free(der);
            goto bad;
        }
        if (*count == cap) {
            cap = cap ? cap * 2 : 4;
            *ders = cc_xrealloc(*ders, cap * sizeof(**ders));
        }
        (*ders)[(*count)++] = (cc_der){der, (size_t)dn};
        p = e;
    }
    if (*count == 0)
        return cc_err_set(err, "no PEM certificate found");
    return CC_OK;
bad:
    cc_der_list_free(*ders, *count);
    *ders = NULL;
    *count = 0;
    return cc_err_set(err, "malformed PEM certificate");
}

static time_t tm_to_time(struct tm *tm)
{
    return timegm(tm);
}

int cc_cert_validity(const unsigned char *der, size_t n, time_t *not_before, time_t *not_after,
                     cc_err *err)
{
    Cert *c = wc_CertNew(NULL);
    if (!c)
        return cc_err_set(err, "out of memory");
    struct tm b, a;
    int rc = wc_SetDatesBuffer(c, der, (int)n);
    if (rc == 0)
        rc = wc_GetCertDates(c, &b, &a);
    wc_CertFree(c);
    if (rc != 0)
        return cc_err_set(err, "reading certificate validity: wolfCrypt error %d", rc);
    *not_before = tm_to_time(&b);
    *not_after = tm_to_time(&a);
    return CC_OK;
}

int cc_x509_time(unsigned char *out, time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[32];
    size_t n;
    if (tm.tm_year + 1900 < 2050) {
        n = strftime(buf, sizeof(buf), "%y%m%d%H%M%SZ", &tm);
        out[0] = 0x17; /* UTCTime */
    } else {
        n = strftime(buf, sizeof(buf), "%Y%m%d%H%M%SZ", &tm);
        out[0] = 0x18; /* GeneralizedTime */
    }
    out[1] = (unsigned char)n;
    memcpy(out + 2, buf, n);
    return (int)n + 2;
}

void cc_sha256_hex(const unsigned char *der, size_t n, char out[65])
{
    unsigned char h[WC_SHA256_DIGEST_SIZE];
    wc_Sha256Hash(der, (word32)n, h);
    for (int i = 0; i < WC_SHA256_DIGEST_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

void cc_crypto_thread_done(void)
{
    wc_ecc_fp_free();
}
