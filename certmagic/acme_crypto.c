/* SPDX-License-Identifier: Apache-2.0
 * ACME cryptography on wolfSSL (see acme_crypto.h): keys, base64url, JWK, JWS, EAB,
 * CSRs, the tls-alpn-01 certificate and the ARI certificate id. wolfSSL's key calls take
 * non-const keys, hence the casts on the const handles below; none of them modifies
 * the key material. */
#include <wolfssl/options.h>

#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/signature.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_crypto.h"
#include "crypto.h"

#define DER_MAX 8192 /* an RSA-4096 key, a CSR with many SANs fit; checked where used */

/* ---- base64url ---- */

static const char b64url_tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *cc_acme_b64url(const void *data, size_t n)
{
    const unsigned char *in = data;
    char *out = malloc(n / 3 * 4 + 5);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url_tab[v >> 18 & 63];
        out[o++] = b64url_tab[v >> 12 & 63];
        out[o++] = b64url_tab[v >> 6 & 63];
        out[o++] = b64url_tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url_tab[v >> 18 & 63];
        out[o++] = b64url_tab[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url_tab[v >> 18 & 63];
        out[o++] = b64url_tab[v >> 12 & 63];
        out[o++] = b64url_tab[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

int cc_acme_b64url_decode(const char *s, unsigned char **out, size_t *n)
{
    size_t len = strlen(s);
    while (len && s[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return CC_ERR;
    unsigned char *o = malloc(len * 3 / 4 + 1);
    if (!o)
        return CC_ERR;
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val(s[i]);
        if (v < 0) {
            free(o);
            return CC_ERR;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (unsigned char)(acc >> bits);
        }
    }
    *out = o;
    *n = k;
    return CC_OK;
}

/* ---- keys ---- */

static int rng_open(WC_RNG *rng, cc_err *err)
{
    if (wc_InitRng(rng) != 0)
        return cc_err_set(err, "acme: cannot initialise the random generator");
    return CC_OK;
}

static char *der_to_pem(const unsigned char *der, int dlen, int type, cc_err *err)
{
    int cap = dlen * 2 + 128;
    char *pem = malloc((size_t)cap + 1);
    if (!pem) {
        cc_err_set(err, "out of memory");
        return NULL;
    }
    int plen = wc_DerToPem(der, (word32)dlen, (unsigned char *)pem, (word32)cap, type);
    if (plen <= 0) {
        free(pem);
        cc_err_set(err, "acme: PEM encoding failed (wolfSSL %d)", plen);
        return NULL;
    }
    pem[plen] = '\0';
    return pem;
}

const char *cc_acme_key_alg(const cc_key *k)
{
    switch (cc_key_get_type(k)) {
    case CC_KEY_P256:
        return "ES256";
    case CC_KEY_P384:
        return "ES384";
    case CC_KEY_RSA2048:
    case CC_KEY_RSA4096:
        return "RS256";
    default:
        return NULL;
    }
}

/* ---- JWK, JWS ---- */

char *cc_acme_jwk(const cc_key *ck, cc_err *err)
{
    cc_key *k = (cc_key *)ck;
    cc_key_type t = cc_key_get_type(k);
    int wt = cc_key_wc_type(k);
    unsigned char a[512], b[1024];
    word32 alen = sizeof(a), blen = sizeof(b);
    char *s = NULL, *x = NULL, *y = NULL;
    if (wt == ECC_TYPE) {
        if (wc_ecc_export_public_raw(cc_key_wc(k), a, &alen, b, &blen) != 0)
            goto fail;
        x = cc_acme_b64url(a, alen);
        y = cc_acme_b64url(b, blen);
        if (x && y &&
            asprintf(&s, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                     t == CC_KEY_P384 ? "P-384" : "P-256", x, y) < 0)
            s = NULL;
    } else if (wt == RSA_TYPE) {
        if (wc_RsaFlattenPublicKey(cc_key_wc(k), a, &alen, b, &blen) != 0)
            goto fail;
        x = cc_acme_b64url(a, alen); /* e */
        y = cc_acme_b64url(b, blen); /* n */
        if (x && y && asprintf(&s, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", x, y) < 0)
            s = NULL;
    } else {
        if (wc_ed25519_export_public(cc_key_wc(k), a, &alen) != 0)
            goto fail;
        x = cc_acme_b64url(a, alen);
        if (x && asprintf(&s, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", x) < 0)
            s = NULL;
    }
    free(x);
    free(y);
    if (!s)
        cc_err_set(err, "out of memory");
    return s;
fail:
    cc_err_set(err, "acme: cannot export the public key");
    return NULL;
}

char *cc_acme_thumbprint(const cc_key *k, cc_err *err)
{
    char *jwk = cc_acme_jwk(k, err);
    if (!jwk)
        return NULL;
    unsigned char d[WC_SHA256_DIGEST_SIZE];
    wc_Sha256Hash((const unsigned char *)jwk, (word32)strlen(jwk), d);
    free(jwk);
    return cc_acme_b64url(d, sizeof(d));
}

/* Signs msg as the JWS "alg" of k: ECDSA as fixed-size r||s (RFC 7518 3.4), RSA
 * PKCS#1 v1.5 with SHA-256. *sig malloc'd. */
static int jws_sign(const cc_key *ck, const char *msg, size_t mlen, unsigned char **sig,
                    size_t *slen, cc_err *err)
{
    cc_key *k = (cc_key *)ck;
    WC_RNG rng;
    if (rng_open(&rng, err) != CC_OK)
        return CC_ERR;
    int rc = -1, wt = cc_key_wc_type(k);
    unsigned char *out = NULL;
    if (wt == ECC_TYPE) {
        bool p384 = cc_key_get_type(k) == CC_KEY_P384;
        word32 csz = p384 ? 48 : 32;
        unsigned char h[WC_SHA384_DIGEST_SIZE], der[160], r[66], s[66];
        word32 hlen = p384 ? WC_SHA384_DIGEST_SIZE : WC_SHA256_DIGEST_SIZE;
        word32 dlen = sizeof(der), rlen = sizeof(r), sl = sizeof(s);
        if (p384)
            rc = wc_Sha384Hash((const unsigned char *)msg, (word32)mlen, h);
        else
            rc = wc_Sha256Hash((const unsigned char *)msg, (word32)mlen, h);
        if (rc == 0)
            rc = wc_ecc_sign_hash(h, hlen, der, &dlen, &rng, cc_key_wc(k));
        if (rc == 0)
            rc = wc_ecc_sig_to_rs(der, dlen, r, &rlen, s, &sl);
        if (rc == 0 && (rlen > csz || sl > csz))
            rc = -1;
        if (rc == 0 && (out = calloc(1, 2 * csz))) {
            memcpy(out + csz - rlen, r, rlen);
            memcpy(out + 2 * csz - sl, s, sl);
            *slen = 2 * csz;
        }
    } else if (wt == RSA_TYPE) {
        RsaKey *rsa = cc_key_wc(k);
        word32 cap = (word32)wc_RsaEncryptSize(rsa);
        out = malloc(cap);
        word32 ol = cap;
        if (out)
            rc = wc_SignatureGenerate(WC_HASH_TYPE_SHA256, WC_SIGNATURE_TYPE_RSA_W_ENC,
                                      (const byte *)msg, (word32)mlen, out, &ol, rsa, sizeof(*rsa),
                                      &rng);
        *slen = ol;
    }
    wc_FreeRng(&rng);
    if (rc != 0 || !out) {
        free(out);
        return cc_err_set(err, "acme: signing failed (wolfSSL %d)", rc);
    }
    *sig = out;
    return CC_OK;
}

/* protected_b64 "." payload_b64, signed, as a flattened JWS object (jansson). */
static char *jws_finish(const cc_key *k, json_t *prot, const char *payload, cc_err *err)
{
    char *ph = json_dumps(prot, JSON_COMPACT | JSON_SORT_KEYS);
    char *pb = ph ? cc_acme_b64url(ph, strlen(ph)) : NULL;
    char *pl = cc_acme_b64url(payload, strlen(payload));
    char *signing = NULL, *out = NULL, *sb = NULL;
    unsigned char *sig = NULL;
    size_t slen = 0;
    if (!pb || !pl || asprintf(&signing, "%s.%s", pb, pl) < 0) {
        signing = NULL;
        cc_err_set(err, "out of memory");
        goto done;
    }
    if (jws_sign(k, signing, strlen(signing), &sig, &slen, err) != CC_OK)
        goto done;
    sb = cc_acme_b64url(sig, slen);
    json_t *o = json_pack("{s:s,s:s,s:s?}", "protected", pb, "payload", pl, "signature", sb);
    out = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!out)
        cc_err_set(err, "out of memory");
done:
    free(ph);
    free(pb);
    free(pl);
    free(signing);
    free(sig);
    free(sb);
    return out;
}

char *cc_acme_jws(const cc_key *k, const char *kid, const char *nonce, const char *url,
                  const char *payload, cc_err *err)
{
    const char *alg = cc_acme_key_alg(k);
    if (!alg) {
        cc_err_set(err, "acme: this key type cannot sign ACME requests");
        return NULL;
    }
    json_t *prot = json_pack("{s:s,s:s,s:s}", "alg", alg, "nonce", nonce, "url", url);
    if (!prot) {
        cc_err_set(err, "out of memory");
        return NULL;
    }
    if (kid) {
        json_object_set_new(prot, "kid", json_string(kid));
    } else {
        char *jwk = cc_acme_jwk(k, err);
        json_t *j = jwk ? json_loads(jwk, 0, NULL) : NULL;
        free(jwk);
        if (!j) {
            json_decref(prot);
            cc_err_set(err, "acme: cannot build the JWK");
            return NULL;
        }
        json_object_set_new(prot, "jwk", j);
    }
    char *out = jws_finish(k, prot, payload, err);
    json_decref(prot);
    return out;
}

char *cc_acme_eab(const cc_key *acct, const char *key_id, const char *mac_key_b64, const char *url,
                  cc_err *err)
{
    unsigned char *mac = NULL;
    size_t maclen = 0;
    if (cc_acme_b64url_decode(mac_key_b64, &mac, &maclen) != CC_OK || maclen == 0) {
        free(mac);
        cc_err_set(err, "acme: the EAB MAC key is not valid base64url");
        return NULL;
    }
    char *jwk = cc_acme_jwk(acct, err);
    json_t *prot = json_pack("{s:s,s:s,s:s}", "alg", "HS256", "kid", key_id, "url", url);
    char *ph = prot ? json_dumps(prot, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *pb = ph ? cc_acme_b64url(ph, strlen(ph)) : NULL;
    char *pl = jwk ? cc_acme_b64url(jwk, strlen(jwk)) : NULL;
    char *signing = NULL, *sb = NULL, *out = NULL;
    if (pb && pl && asprintf(&signing, "%s.%s", pb, pl) >= 0) {
        Hmac h;
        unsigned char d[WC_SHA256_DIGEST_SIZE];
        int rc = wc_HmacInit(&h, NULL, INVALID_DEVID);
        if (rc == 0) {
            rc = wc_HmacSetKey(&h, WC_SHA256, mac, (word32)maclen);
            if (rc == 0)
                rc = wc_HmacUpdate(&h, (const byte *)signing, (word32)strlen(signing));
            if (rc == 0)
                rc = wc_HmacFinal(&h, d);
            wc_HmacFree(&h);
        }
        if (rc == 0)
            sb = cc_acme_b64url(d, sizeof(d));
        json_t *o =
            sb ? json_pack("{s:s,s:s,s:s}", "protected", pb, "payload", pl, "signature", sb) : NULL;
        out = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
    } else {
        signing = NULL;
    }
    if (!out)
        cc_err_set(err, "acme: building the external account binding failed");
    explicit_bzero(mac, maclen);
    free(mac);
    free(jwk);
    json_decref(prot);
    free(ph);
    free(pb);
    free(pl);
    free(signing);
    free(sb);
    return out;
}

/* ---- DER helpers ---- */

bool cc_acme_is_ip(const char *s)
{
    unsigned char buf[16];
    char tmp[64];
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof(tmp)) {
        memcpy(tmp, s + 1, n - 2);
        tmp[n - 2] = '\0';
        s = tmp;
    }
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Binary form of an IP literal into out (4 or 16 bytes); 0 when s is not one. */
static size_t ip_bytes(const char *s, unsigned char out[16])
{
    char tmp[64];
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof(tmp)) {
        memcpy(tmp, s + 1, n - 2);
        tmp[n - 2] = '\0';
        s = tmp;
    }
    if (inet_pton(AF_INET, s, out) == 1)
        return 4;
    if (inet_pton(AF_INET6, s, out) == 1)
        return 16;
    return 0;
}

/* Writes a DER length at p (when p is not NULL); returns its size. */
static size_t der_len(unsigned char *p, size_t len)
{
    if (len < 128) {
        if (p)
            p[0] = (unsigned char)len;
        return 1;
    }
    size_t nb = len > 0xFFFFFF ? 4 : len > 0xFFFF ? 3 : len > 0xFF ? 2 : 1;
    if (p) {
        p[0] = (unsigned char)(0x80 | nb);
        for (size_t i = 0; i < nb; i++)
            p[1 + i] = (unsigned char)(len >> (8 * (nb - 1 - i)));
    }
    return 1 + nb;
}

/* Reads one TLV at *p (before end): its tag, the start of its value and the value
 * length; advances *p past it. -1 on malformed input. Single-byte tags only (all that
 * X.509 uses here). */
static int der_next(const unsigned char **p, const unsigned char *end, unsigned *tag,
                    const unsigned char **val, size_t *len)
{
    const unsigned char *q = *p;
    if (end - q < 2)
        return -1;
    *tag = *q++;
    size_t l = *q++;
    if (l & 0x80) {
        size_t nb = l & 0x7F;
        if (nb == 0 || nb > 4 || (size_t)(end - q) < nb)
            return -1;
        l = 0;
        for (size_t i = 0; i < nb; i++)
            l = l << 8 | *q++;
    }
    if ((size_t)(end - q) < l)
        return -1;
    *val = q;
    *len = l;
    *p = q + l;
    return 0;
}

/* GeneralNames SEQUENCE for names (dNSName [2] or iPAddress [7]) into out; its size,
 * or 0 when it does not fit in cap. */
static size_t san_der(const char *const *names, size_t n, unsigned char *out, size_t cap)
{
    size_t body = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ip[16];
        size_t l = ip_bytes(names[i], ip);
        if (!l)
            l = strlen(names[i]);
        body += 1 + der_len(NULL, l) + l;
    }
    size_t total = 1 + der_len(NULL, body) + body;
    if (total > cap)
        return 0;
    size_t o = 0;
    out[o++] = 0x30;
    o += der_len(out + o, body);
    for (size_t i = 0; i < n; i++) {
        unsigned char ip[16];
        size_t l = ip_bytes(names[i], ip);
        if (l) {
            out[o++] = 0x87;
            o += der_len(out + o, l);
            memcpy(out + o, ip, l);
        } else {
            l = strlen(names[i]);
            out[o++] = 0x82;
            o += der_len(out + o, l);
            memcpy(out + o, names[i], l);
        }
        o += l;
    }
    return o;
}

static void set_cn(Cert *c, const char *name)
{
    size_t n = strlen(name);
    if (n < sizeof(c->subject.commonName))
        memcpy(c->subject.commonName, name, n + 1);
}

int cc_acme_csr(const cc_key *ck, const char *const *names, size_t n, unsigned char **der,
                size_t *der_len_out, cc_err *err)
{
    cc_key *k = (cc_key *)ck;
    if (n == 0)
        return cc_err_set(err, "acme: a CSR needs at least one name");
    Cert *req = malloc(sizeof(*req));
    unsigned char *buf = malloc(DER_MAX * 2);
    WC_RNG rng;
    int rc = -1;
    if (!req || !buf || wc_InitCert(req) != 0 || rng_open(&rng, err) != CC_OK) {
        free(req);
        free(buf);
        return cc_err_set(err, "acme: cannot start a CSR");
    }
    req->version = 0;
    set_cn(req, names[0]);
    size_t sl = san_der(names, n, req->altNames, sizeof(req->altNames));
    if (!sl) {
        cc_err_set(err, "acme: too many names for one CSR");
        goto done;
    }
    req->altNamesSz = (int)sl;
    int ktype = cc_key_wc_type(k);
    void *kp = cc_key_wc(k);
    req->sigType = cc_key_wc_sigtype(k);
    rc = wc_MakeCertReq_ex(req, buf, DER_MAX * 2, ktype, kp);
    if (rc > 0)
        rc = wc_SignCert_ex(req->bodySz, req->sigType, buf, DER_MAX * 2, ktype, kp, &rng);
    if (rc <= 0) {
        cc_err_set(err, "acme: building the CSR failed (wolfSSL %d)", rc);
        rc = -1;
        goto done;
    }
    *der = buf;
    *der_len_out = (size_t)rc;
    buf = NULL;
    rc = 0;
done:
    wc_FreeRng(&rng);
    free(req);
    free(buf);
    return rc == 0 ? CC_OK : CC_ERR;
}

/* Appends ext (a complete Extension TLV) to the extensions of the TBSCertificate at
 * tbs[0..len), writing the result to out (cap bytes); the new length or 0. */
static size_t tbs_add_ext(const unsigned char *tbs, size_t len, const unsigned char *ext,
                          size_t elen, unsigned char *out, size_t cap)
{
    const unsigned char *p = tbs, *end = tbs + len, *body, *v;
    unsigned tag;
    size_t blen, vl;
    if (der_next(&p, end, &tag, &body, &blen) != 0 || tag != 0x30)
        return 0;
    const unsigned char *q = body, *bend = body + blen, *ext_tlv = NULL, *seq = NULL;
    size_t seqlen = 0;
    while (q < bend) {
        const unsigned char *start = q;
        if (der_next(&q, bend, &tag, &v, &vl) != 0)
            return 0;
        if (tag == 0xA3) {
            const unsigned char *r = v;
            unsigned t2;
            if (der_next(&r, v + vl, &t2, &seq, &seqlen) != 0 || t2 != 0x30)
                return 0;
            ext_tlv = start;
            break;
        }
    }
    size_t head = ext_tlv ? (size_t)(ext_tlv - body) : blen; /* fields before [3] */
    size_t inner = seqlen + elen;                            /* new SEQUENCE content */
    size_t seq_tlv = 1 + der_len(NULL, inner) + inner;
    size_t a3_tlv = 1 + der_len(NULL, seq_tlv) + seq_tlv;
    size_t nbody = head + a3_tlv;
    size_t total = 1 + der_len(NULL, nbody) + nbody;
    if (total > cap)
        return 0;
    size_t o = 0;
    out[o++] = 0x30;
    o += der_len(out + o, nbody);
    memcpy(out + o, body, head);
    o += head;
    out[o++] = 0xA3;
    o += der_len(out + o, seq_tlv);
    out[o++] = 0x30;
    o += der_len(out + o, inner);
    if (seqlen)
        memcpy(out + o, seq, seqlen);
    o += seqlen;
    memcpy(out + o, ext, elen);
    return o + elen;
}

int cc_acme_alpn_cert(const char *identifier, const char *key_auth, char **cert_pem, char **key_pem,
                      cc_err *err)
{
    cc_key *k = cc_key_generate(CC_KEY_P256, err);
    if (!k)
        return CC_ERR;
    Cert *c = malloc(sizeof(*c));
    unsigned char *buf = malloc(DER_MAX), *tbs = malloc(DER_MAX);
    WC_RNG rng;
    int rc = CC_ERR;
    bool rng_ok = false;
    if (!c || !buf || !tbs || wc_InitCert(c) != 0) {
        cc_err_set(err, "out of memory");
        goto done;
    }
    if (rng_open(&rng, err) != CC_OK)
        goto done;
    rng_ok = true;
    set_cn(c, identifier);
    c->daysValid = 7;
    c->sigType = CTC_SHA256wECDSA;
    const char *one[1] = {identifier};
    size_t sl = san_der(one, 1, c->altNames, sizeof(c->altNames));
    if (!sl) {
        cc_err_set(err, "acme: identifier too long for a certificate");
        goto done;
    }
    c->altNamesSz = (int)sl;
    int body = wc_MakeCert_ex(c, buf, DER_MAX, ECC_TYPE, cc_key_wc(k), &rng);
    if (body <= 0) {
        cc_err_set(err, "acme: building the tls-alpn-01 certificate failed (wolfSSL %d)", body);
        goto done;
    }
    /* Extension{ id-pe-acmeIdentifier (1.3.6.1.5.5.7.1.31), critical TRUE,
     * OCTET STRING{ OCTET STRING(SHA-256(key authorization)) } } */
    unsigned char ext[51] = {0x30, 0x31, 0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07,
                             0x01, 0x1F, 0x01, 0x01, 0xFF, 0x04, 0x22, 0x04, 0x20};
    wc_Sha256Hash((const unsigned char *)key_auth, (word32)strlen(key_auth), ext + 19);
    size_t tlen = tbs_add_ext(buf, (size_t)body, ext, sizeof(ext), tbs, DER_MAX);
    if (!tlen) {
        cc_err_set(err, "acme: cannot add the acmeIdentifier extension");
        goto done;
    }
    memcpy(buf, tbs, tlen);
    int clen = wc_SignCert_ex((int)tlen, c->sigType, buf, DER_MAX, ECC_TYPE, cc_key_wc(k), &rng);
    if (clen <= 0) {
        cc_err_set(err, "acme: signing the tls-alpn-01 certificate failed (wolfSSL %d)", clen);
        goto done;
    }
    char *cp = der_to_pem(buf, clen, CERT_TYPE, err);
    char *kp = cp ? cc_key_to_pem(k, NULL) : NULL;
    if (!kp) {
        cc_err_set(err, "acme: encoding the tls-alpn-01 key failed");
        free(cp);
        goto done;
    }
    *cert_pem = cp;
    *key_pem = kp;
    rc = CC_OK;
done:
    if (rng_ok)
        wc_FreeRng(&rng);
    cc_key_free(k);
    free(c);
    free(buf);
    free(tbs);
    return rc;
}

/* ---- ARI ---- */

char *cc_acme_ari_cert_id(const char *cert_pem, size_t n, cc_err *err)
{
    unsigned char *der = malloc(n + 1);
    char *out = NULL, *a = NULL, *s = NULL;
    int dlen =
        der ? wc_CertPemToDer((const unsigned char *)cert_pem, (int)n, der, (int)n + 1, CERT_TYPE)
            : -1;
    const unsigned char *p = der, *v, *tbs, *serial = NULL, *aki = NULL;
    size_t vl, tl, serial_len = 0, aki_len = 0;
    unsigned tag;
    if (dlen <= 0 || der_next(&p, der + dlen, &tag, &v, &vl) != 0 || tag != 0x30)
        goto done;
    p = v;
    if (der_next(&p, v + vl, &tag, &tbs, &tl) != 0 || tag != 0x30)
        goto done;
    p = tbs;
    const unsigned char *tend = tbs + tl;
    while (p < tend) {
        if (der_next(&p, tend, &tag, &v, &vl) != 0)
            goto done;
        if (tag == 0x02 && !serial) {
            serial = v;
            serial_len = vl;
        } else if (tag == 0xA3) {
            const unsigned char *q = v, *exts;
            size_t el;
            if (der_next(&q, v + vl, &tag, &exts, &el) != 0 || tag != 0x30)
                goto done;
            q = exts;
            while (q < exts + el) {
                const unsigned char *e, *r, *oid, *f;
                size_t elen, olen, fl;
                if (der_next(&q, exts + el, &tag, &e, &elen) != 0 || tag != 0x30)
                    goto done;
                r = e;
                if (der_next(&r, e + elen, &tag, &oid, &olen) != 0 || tag != 0x06)
                    goto done;
                if (olen != 3 || memcmp(oid, "\x55\x1d\x23", 3) != 0)
                    continue;
                /* [critical BOOLEAN] OCTET STRING { SEQUENCE { [0] keyIdentifier ... } } */
                while (r < e + elen && der_next(&r, e + elen, &tag, &f, &fl) == 0) {
                    if (tag != 0x04)
                        continue;
                    const unsigned char *g = f, *h, *ki;
                    size_t hl, kl;
                    if (der_next(&g, f + fl, &tag, &h, &hl) != 0 || tag != 0x30)
                        goto done;
                    g = h;
                    if (der_next(&g, h + hl, &tag, &ki, &kl) == 0 && tag == 0x80) {
                        aki = ki;
                        aki_len = kl;
                    }
                    break;
                }
            }
        }
    }
    if (serial && aki) {
        a = cc_acme_b64url(aki, aki_len);
        s = cc_acme_b64url(serial, serial_len);
        if (a && s && asprintf(&out, "%s.%s", a, s) < 0)
            out = NULL;
    }
done:
    if (!out)
        cc_err_set(err, "acme: the certificate has no authority key identifier or serial");
    free(der);
    free(a);
    free(s);
    return out;
}
