/* SPDX-License-Identifier: Apache-2.0
 * Offline tests of the ACME client's parts: base64url, JWK and thumbprint, JWS
 * signatures (checked by `openssl dgst -verify`), the EAB HMAC (checked with core's own
 * HMAC-SHA256), CSRs and the tls-alpn-01 certificate (checked by `openssl req/x509`),
 * the ARI certificate id (the draft's example values), problem documents, Retry-After,
 * storage key names, the challenge table (including concurrent readers), and the
 * argument errors of cc_acme_obtain. The flow against a real CA is
 * tests/integration/acme_client.sh. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../certmagic/acme.h"
#include "../../certmagic/acme_challenge.h"
#include "../../certmagic/acme_crypto.h"
#include "../../certmagic/acme_priv.h"
#include "../../certmagic/crypto.h"
#include "../../core/sha256.h"
#include "../t.h"

static char tmpdir[] = "/tmp/test_acme.XXXXXX";

static char *path(const char *name)
{
    static char buf[16][512];
    static int i;
    i = (i + 1) % 16;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
    return buf[i];
}

static void write_bytes(const char *p, const void *d, size_t n)
{
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(d, 1, n, f);
        fclose(f);
    }
}

/* Output of a shell command (stdout+stderr), malloc'd. */
static char *run(const char *cmd)
{
    char full[4096];
    snprintf(full, sizeof(full), "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p)
        return strdup("");
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    size_t r;
    while ((r = fread(b + n, 1, cap - 1 - n, p)) > 0)
        n += r;
    b[n] = '\0';
    pclose(p);
    return b;
}

static void test_b64url(void)
{
    struct {
        const char *in, *out;
    } v[] = {{"", ""},        {"f", "Zg"},        {"fo", "Zm8"},
             {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"\xfb\xff", "-_8"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *e = cc_acme_b64url(v[i].in, strlen(v[i].in));
        T_STR(e, v[i].out);
        unsigned char *d = NULL;
        size_t n = 0;
        T_INT(cc_acme_b64url_decode(v[i].out, &d, &n), CC_OK);
        T_OK(n == strlen(v[i].in) && !memcmp(d, v[i].in, n), "decode %s", v[i].out);
        free(d);
        free(e);
    }
    unsigned char *d = NULL;
    size_t n;
    T_INT(cc_acme_b64url_decode("Zm9v!", &d, &n), CC_ERR);
    T_INT(cc_acme_b64url_decode("Z", &d, &n), CC_ERR);
    T_INT(cc_acme_b64url_decode("Zg==", &d, &n), CC_OK); /* padding tolerated */
    T_OK(n == 1 && d[0] == 'f', "padded decode");
    free(d);
}

/* Writes k's private PEM to a file; returns its path. */
static const char *key_file(const cc_key *k, const char *name)
{
    char *pem = cc_key_to_pem(k, NULL);
    const char *p = path(name);
    write_bytes(p, pem, strlen(pem));
    free(pem);
    return p;
}

static void test_jwk_jws(const char *type, const char *alg, size_t siglen)
{
    cc_err err = {0};
    cc_key_type kt;
    cc_key_type_parse(type, &kt, &err);
    cc_key *k = cc_key_generate(kt, &err);
    T_OK(k != NULL, "%s key: %s", type, err.msg);
    if (!k)
        return;
    T_STR(cc_acme_key_alg(k), alg);
    char *jwk = cc_acme_jwk(k, &err);
    json_t *j = jwk ? json_loads(jwk, 0, NULL) : NULL;
    T_OK(j != NULL, "%s JWK parses", type);
    /* RFC 7638: members in lexicographic order, no whitespace */
    if (!strcmp(alg, "RS256"))
        T_OK(jwk && !strncmp(jwk, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"", 29), "%s", jwk);
    else
        T_OK(jwk && strstr(jwk, "{\"crv\":\"P-") == jwk &&
                 strstr(jwk, "\",\"kty\":\"EC\",\"x\":\""),
             "%s", jwk);
    /* the JWK's public key is the key's: compare with openssl's SPKI */
    char kp[512];
    snprintf(kp, sizeof(kp), "%s", key_file(k, "k.pem"));
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl pkey -in %s -pubout -outform DER | od -An -v -tx1 | tr -d ' \\n'", kp);
    char *spki = run(cmd);
    const char *x = json_string_value(json_object_get(j, !strcmp(alg, "RS256") ? "n" : "x"));
    unsigned char *xb = NULL;
    size_t xn = 0;
    if (x && cc_acme_b64url_decode(x, &xb, &xn) == CC_OK) {
        char *hex = malloc(xn * 2 + 1);
        cc_hex_encode(xb, xn, hex);
        T_OK(strstr(spki, hex) != NULL, "%s JWK x/n is in the SPKI", type);
        free(hex);
    } else {
        T_OK(0, "%s JWK has x/n", type);
    }
    free(xb);
    free(spki);
    /* thumbprint = b64url(SHA-256(JWK)), checked with core's SHA-256 */
    unsigned char d[32];
    cc_sha256(jwk, strlen(jwk), d);
    char *want = cc_acme_b64url(d, 32), *th = cc_acme_thumbprint(k, &err);
    T_STR(th, want);
    T_INT(strlen(th), 43);
    free(want);
    free(th);

    /* JWS with jwk, then with kid; the signature verifies with openssl */
    for (int use_kid = 0; use_kid < 2; use_kid++) {
        const char *kid = use_kid ? "https://ca.test/acct/1" : NULL;
        char *jws = cc_acme_jws(k, kid, "nonce-1", "https://ca.test/new-order",
                                use_kid ? "" : "{\"a\":1}", &err);
        json_t *o = jws ? json_loads(jws, 0, NULL) : NULL;
        T_OK(o && json_object_size(o) == 3, "flattened JWS: %s", jws ? jws : err.msg);
        const char *pb = json_string_value(json_object_get(o, "protected"));
        const char *pl = json_string_value(json_object_get(o, "payload"));
        const char *sg = json_string_value(json_object_get(o, "signature"));
        unsigned char *ph = NULL, *sig = NULL;
        size_t phn = 0, sn = 0;
        if (pb && pl && sg && cc_acme_b64url_decode(pb, &ph, &phn) == CC_OK &&
            cc_acme_b64url_decode(sg, &sig, &sn) == CC_OK) {
            json_t *h = json_loadb((const char *)ph, phn, 0, NULL);
            T_STR(json_string_value(json_object_get(h, "alg")), alg);
            T_STR(json_string_value(json_object_get(h, "nonce")), "nonce-1");
            T_STR(json_string_value(json_object_get(h, "url")), "https://ca.test/new-order");
            if (use_kid) {
                T_STR(json_string_value(json_object_get(h, "kid")), kid);
                T_OK(!json_object_get(h, "jwk"), "kid and no jwk");
                T_STR(pl, ""); /* POST-as-GET */
            } else {
                T_OK(json_equal(json_object_get(h, "jwk"), j), "jwk in header");
                T_OK(!json_object_get(h, "kid"), "jwk and no kid");
                T_STR(pl, "eyJhIjoxfQ");
            }
            json_decref(h);
            T_INT(sn, siglen);
            /* openssl wants ECDSA signatures as DER: SEQUENCE { INTEGER r, INTEGER s } */
            unsigned char der[600];
            size_t dn = 0;
            if (strcmp(alg, "RS256") != 0) {
                size_t half = sn / 2;
                unsigned char body[300];
                size_t bn = 0;
                for (int part = 0; part < 2; part++) {
                    const unsigned char *v = sig + part * half;
                    size_t len = half, lead = 0;
                    while (len > 1 && v[0] == 0)
                        v++, len--;
                    if (v[0] & 0x80)
                        lead = 1;
                    body[bn++] = 0x02;
                    body[bn++] = (unsigned char)(len + lead);
                    if (lead)
                        body[bn++] = 0;
                    memcpy(body + bn, v, len);
                    bn += len;
                }
                der[dn++] = 0x30;
                if (bn >= 128)
                    der[dn++] = 0x81;
                der[dn++] = (unsigned char)bn;
                memcpy(der + dn, body, bn);
                dn += bn;
            } else {
                memcpy(der, sig, sn);
                dn = sn;
            }
            write_bytes(path("sig"), der, dn);
            char *input = NULL;
            if (asprintf(&input, "%s.%s", pb, pl) > 0)
                write_bytes(path("input"), input, strlen(input));
            free(input);
            snprintf(cmd, sizeof(cmd),
                     "openssl pkey -in %s -pubout -out %s && openssl dgst %s -verify %s "
                     "-signature %s %s",
                     kp, path("pub.pem"), strcmp(alg, "ES384") ? "-sha256" : "-sha384",
                     path("pub.pem"), path("sig"), path("input"));
            char *out = run(cmd);
            T_HAS(out, "Verified OK");
            free(out);
        } else {
            T_OK(0, "JWS members");
        }
        free(ph);
        free(sig);
        json_decref(o);
        free(jws);
    }
    json_decref(j);
    free(jwk);
    cc_key_free(k);
}

static void test_ed25519_no_jws(void)
{
    cc_err err = {0};
    cc_key *k = cc_key_generate(CC_KEY_ED25519, &err);
    T_OK(k && cc_acme_key_alg(k) == NULL, "Ed25519 cannot be an ACME account key");
    char *jws = k ? cc_acme_jws(k, NULL, "n", "https://x/", "", &err) : NULL;
    T_OK(jws == NULL, "no JWS with Ed25519");
    T_HAS(err.msg, "cannot sign");
    cc_key_free(k);
}

static void test_eab(void)
{
    cc_err err = {0};
    cc_key *k = cc_key_generate(CC_KEY_P256, &err);
    const char *mac_b64 = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
    char *e = cc_acme_eab(k, "kid-1", mac_b64, "https://ca.test/new-acct", &err);
    json_t *o = e ? json_loads(e, 0, NULL) : NULL;
    T_OK(o != NULL, "EAB JSON: %s", err.msg);
    const char *pb = json_string_value(json_object_get(o, "protected"));
    const char *pl = json_string_value(json_object_get(o, "payload"));
    const char *sg = json_string_value(json_object_get(o, "signature"));
    unsigned char *ph = NULL, *pay = NULL, *mac = NULL;
    size_t phn = 0, payn = 0, macn = 0;
    if (pb && pl && sg && cc_acme_b64url_decode(pb, &ph, &phn) == CC_OK &&
        cc_acme_b64url_decode(pl, &pay, &payn) == CC_OK &&
        cc_acme_b64url_decode(mac_b64, &mac, &macn) == CC_OK) {
        json_t *h = json_loadb((const char *)ph, phn, 0, NULL);
        T_STR(json_string_value(json_object_get(h, "alg")), "HS256");
        T_STR(json_string_value(json_object_get(h, "kid")), "kid-1");
        T_STR(json_string_value(json_object_get(h, "url")), "https://ca.test/new-acct");
        T_OK(!json_object_get(h, "nonce"), "EAB has no nonce");
        json_decref(h);
        char *jwk = cc_acme_jwk(k, &err);
        T_OK(payn == strlen(jwk) && !memcmp(pay, jwk, payn), "EAB payload is the account JWK");
        free(jwk);
        char *input = NULL;
        unsigned char d[32];
        if (asprintf(&input, "%s.%s", pb, pl) > 0) {
            cc_hmac_sha256(mac, macn, input, strlen(input), d);
            char *want = cc_acme_b64url(d, 32);
            T_STR(sg, want);
            free(want);
            free(input);
        }
    } else {
        T_OK(0, "EAB members");
    }
    free(ph);
    free(pay);
    free(mac);
    json_decref(o);
    free(e);
    cc_err e2 = {0};
    T_OK(cc_acme_eab(k, "kid", "not base64!", "https://x/", &e2) == NULL, "bad MAC key");
    T_HAS(e2.msg, "EAB MAC key");
    cc_key_free(k);
}

static void test_csr(void)
{
    cc_err err = {0};
    cc_key *k = cc_key_generate(CC_KEY_P256, &err);
    const char *names[] = {"example.test", "*.wild.test", "127.0.0.1", "::1"};
    unsigned char *der = NULL;
    size_t dn = 0;
    T_INT(cc_acme_csr(k, names, 4, &der, &dn, &err), CC_OK);
    write_bytes(path("csr.der"), der, dn);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "openssl req -inform DER -in %s -verify -noout -text",
             path("csr.der"));
    char *out = run(cmd);
    T_HAS(out, "verify OK");
    T_HAS(out,
          "DNS:example.test, DNS:*.wild.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    T_HAS(out, "CN = example.test");
    T_HAS(out, "ecdsa-with-SHA256");
    free(out);
    free(der);
    T_INT(cc_acme_csr(k, names, 0, &der, &dn, &err), CC_ERR);
    cc_key_free(k);
    /* RSA and P-384 sign with their own algorithms */
    cc_key *r = cc_key_generate(CC_KEY_P384, &err);
    T_INT(cc_acme_csr(r, names, 1, &der, &dn, &err), CC_OK);
    write_bytes(path("csr2.der"), der, dn);
    snprintf(cmd, sizeof(cmd), "openssl req -inform DER -in %s -verify -noout -text",
             path("csr2.der"));
    out = run(cmd);
    T_HAS(out, "verify OK");
    T_HAS(out, "ecdsa-with-SHA384");
    free(out);
    free(der);
    cc_key_free(r);
}

static void test_alpn_cert(void)
{
    const char *ka =
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
    cc_err err = {0};
    char *cp = NULL, *kp = NULL;
    T_INT(cc_acme_alpn_cert("App.Test", ka, &cp, &kp, &err), CC_OK);
    write_bytes(path("alpn.pem"), cp, strlen(cp));
    write_bytes(path("alpn.key"), kp, strlen(kp));
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "openssl x509 -in %s -noout -text", path("alpn.pem"));
    char *out = run(cmd);
    T_HAS(out, "1.3.6.1.5.5.7.1.31: critical");
    T_HAS(out, "DNS:App.Test");
    T_OK(!strstr(out, "IP Address"), "one SAN");
    free(out);
    /* the extension's value: OCTET STRING (32 bytes) = SHA-256(key authorization) */
    unsigned char d[32];
    char hex[65];
    cc_sha256(ka, strlen(ka), d);
    cc_hex_encode(d, 32, hex);
    snprintf(cmd, sizeof(cmd),
             "openssl asn1parse -in %s -strparse $(openssl asn1parse -in %s | grep -A2 "
             "'1.3.6.1.5.5.7.1.31' | tail -n 1 | cut -d: -f1 | tr -d ' ')",
             path("alpn.pem"), path("alpn.pem"));
    out = run(cmd);
    for (char *c = out; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    for (char *c = hex; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    T_HAS(out, hex);
    T_HAS(out, "OCTET STRING");
    free(out);
    /* signature over the spliced TBS is valid; key matches */
    snprintf(cmd, sizeof(cmd),
             "openssl verify -check_ss_sig -partial_chain -ignore_critical -CAfile %s %s",
             path("alpn.pem"), path("alpn.pem"));
    out = run(cmd);
    T_HAS(out, ": OK");
    free(out);
    snprintf(cmd, sizeof(cmd),
             "[ \"$(openssl x509 -in %s -noout -pubkey)\" = \"$(openssl pkey -in %s -pubout)\" ] "
             "&& echo SAMEKEY",
             path("alpn.pem"), path("alpn.key"));
    out = run(cmd);
    T_HAS(out, "SAMEKEY");
    free(out);
    free(cp);
    free(kp);
    /* IP identifier: an iPAddress SAN (RFC 8738) */
    T_INT(cc_acme_alpn_cert("127.0.0.1", ka, &cp, &kp, &err), CC_OK);
    write_bytes(path("alpn2.pem"), cp, strlen(cp));
    snprintf(cmd, sizeof(cmd), "openssl x509 -in %s -noout -ext subjectAltName", path("alpn2.pem"));
    out = run(cmd);
    T_HAS(out, "IP Address:127.0.0.1");
    T_OK(!strstr(out, "DNS:"), "no DNS SAN for an IP");
    free(out);
    free(cp);
    free(kp);
}

static void test_ari_id(void)
{
    /* draft-ietf-acme-ari's example: AKI 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:
     * DE:01:C8:D4, serial 0x87654321 (DER 00 87 65 43 21) -> aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE */
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s "
             "-out %s -subj /CN=ari.test -days 1 -set_serial 0x87654321 -addext "
             "subjectKeyIdentifier=69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4 "
             "-addext authorityKeyIdentifier=keyid:always",
             path("ari.key"), path("ari.pem"));
    free(run(cmd));
    FILE *f = fopen(path("ari.pem"), "rb");
    char pem[8192] = "";
    size_t n = f ? fread(pem, 1, sizeof(pem) - 1, f) : 0;
    if (f)
        fclose(f);
    pem[n] = '\0';
    cc_err err = {0};
    char *id = cc_acme_ari_cert_id(pem, n, &err);
    T_STR(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
    free(id);
    /* a certificate without AKI */
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s "
             "-out %s -subj /CN=x -days 1 -addext authorityKeyIdentifier=none "
             "-addext subjectKeyIdentifier=none",
             path("noaki.key"), path("noaki.pem"));
    free(run(cmd));
    f = fopen(path("noaki.pem"), "rb");
    n = f ? fread(pem, 1, sizeof(pem) - 1, f) : 0;
    if (f)
        fclose(f);
    pem[n] = '\0';
    cc_err e2 = {0};
    id = cc_acme_ari_cert_id(pem, n, &e2);
    T_OK(id == NULL, "no AKI -> no id");
    T_HAS(e2.msg, "authority key identifier");
    free(id);
    cc_err e3 = {0};
    T_OK(cc_acme_ari_cert_id("garbage", 7, &e3) == NULL, "garbage -> no id");
}

static void test_problem_retry_safe(void)
{
    json_t *p = json_loads(
        "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\",\"detail\":\"Error creating "
        "new order\",\"subproblems\":[{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
        "\"detail\":\"blocked\",\"identifier\":{\"type\":\"dns\",\"value\":\"bad.test\"}}]}",
        0, NULL);
    char line[512];
    acme_problem_str(p, line, sizeof(line));
    T_STR(line, "urn:ietf:params:acme:error:rejectedIdentifier - Error creating new order; "
                "subproblems: bad.test: urn:ietf:params:acme:error:rejectedIdentifier - blocked");
    json_decref(p);
    acme_resp r = {0};
    T_INT(acme_retry_after_ms(&r, 777), 777);
    r.retry_after = "3";
    T_INT(acme_retry_after_ms(&r, 777), 3000);
    r.retry_after = "soon";
    T_INT(acme_retry_after_ms(&r, 777), 777);
    char date[64];
    time_t t = time(NULL) + 10;
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime(&t));
    r.retry_after = date;
    long ms = acme_retry_after_ms(&r, 1);
    T_OK(ms >= 8000 && ms <= 10000, "HTTP-date Retry-After: %ld", ms);
    r.retry_after = "Thu, 01 Jan 1970 00:00:00 GMT";
    T_INT(acme_retry_after_ms(&r, 5), 0);

    char *s = acme_safe_key("  Ops@Example.COM ");
    T_STR(s, "ops@example.com");
    free(s);
    s = acme_safe_key("a+b*c:d..e f/g");
    T_STR(s, "a_plus_bwildcard_c-de_fg");
    free(s);
}

static void test_challenge_table(void)
{
    T_INT(cc_challenge_count(), 0);
    T_INT(cc_challenge_put_http01("App.Test", "tok1", "tok1.thumb"), CC_OK);
    T_INT(cc_challenge_put_http01("127.0.0.1", "tok2", "tok2.thumb"), CC_OK);
    T_INT(cc_challenge_put_http01("::1", "tok3", "tok3.thumb"), CC_OK);
    char *v = cc_challenge_http01("app.test", "tok1");
    T_STR(v, "tok1.thumb");
    free(v);
    v = cc_challenge_http01("APP.TEST.", "tok1");
    T_STR(v, "tok1.thumb");
    free(v);
    v = cc_challenge_http01("app.test:5002", "tok1"); /* a Host header with its port */
    T_STR(v, "tok1.thumb");
    free(v);
    T_OK(cc_challenge_http01("other.test", "tok1") == NULL, "other host");
    T_OK(cc_challenge_http01("app.test", "tok2") == NULL, "other token");
    T_OK(cc_challenge_http01("app.test", "") == NULL, "empty token");
    T_OK(cc_challenge_http01(NULL, "tok1") == NULL, "no host");
    v = cc_challenge_http01("127.0.0.1", "tok2");
    T_STR(v, "tok2.thumb");
    free(v);
    v = cc_challenge_http01("[::1]", "tok3");
    T_STR(v, "tok3.thumb");
    free(v);
    v = cc_challenge_http01("[::1]:80", "tok3");
    T_STR(v, "tok3.thumb");
    free(v);
    v = cc_challenge_http01("127.0.0.1:80", "tok2");
    T_STR(v, "tok2.thumb");
    free(v);
    v = cc_challenge_http01("0:0::0001", "tok3");
    T_STR(v, "tok3.thumb");
    free(v);
    T_INT(cc_challenge_count(), 3);
    cc_challenge_del_http01("app.test", "tok1");
    T_OK(cc_challenge_http01("app.test", "tok1") == NULL, "deleted");
    cc_challenge_del_http01("127.0.0.1", "tok2");
    cc_challenge_del_http01("::1", "tok3");
    T_INT(cc_challenge_count(), 0);

    /* tls-alpn-01 */
    char *cp = NULL, *kp = NULL;
    cc_err err = {0};
    cc_acme_alpn_cert("alpn.test", "x.y", &cp, &kp, &err);
    time_t now = time(NULL);
    cc_cert *c = cc_challenge_cert("Alpn.Test", cp, kp, now, now + 60);
    T_OK(c && c->nnames == 1 && !strcmp(c->names[0], "alpn.test"), "challenge cert names");
    T_OK(c && c->id >= (uint64_t)1 << 62, "challenge cert ids have their own range");
    T_OK(c && c->chain_len == strlen(cp) && !c->managed, "challenge cert fields");
    T_INT(cc_challenge_put_alpn01("alpn.test", c), CC_OK);
    cc_cert *g = cc_challenge_alpn01("ALPN.test.");
    T_OK(g == c, "alpn lookup by SNI");
    T_OK(cc_challenge_alpn01("x.test") == NULL, "other SNI");
    T_OK(cc_challenge_alpn01(NULL) == NULL, "no SNI");
    cc_challenge_del_alpn01("alpn.test", c);
    T_OK(cc_challenge_alpn01("alpn.test") == NULL, "alpn deleted");
    T_OK(g && atomic_load(&g->refs) == 2, "lookup reference outlives the entry");
    cc_cert_unref(g);
    cc_cert_unref(c);
    free(cp);
    free(kp);
    /* IP identifiers arrive as reverse-DNS SNI (RFC 8738) */
    cc_acme_alpn_cert("127.0.0.1", "x.y", &cp, &kp, &err);
    c = cc_challenge_cert("127.0.0.1", cp, kp, now, now + 60);
    cc_challenge_put_alpn01("127.0.0.1", c);
    g = cc_challenge_alpn01("1.0.0.127.in-addr.arpa");
    T_OK(g == c, "in-addr.arpa SNI");
    cc_cert_unref(g);
    T_OK(cc_challenge_alpn01("1.0.0.128.in-addr.arpa") == NULL, "other reverse IP");
    T_OK(cc_challenge_alpn01("300.0.0.127.in-addr.arpa") == NULL, "bad reverse IP");
    cc_challenge_del_alpn01("127.0.0.1", c);
    cc_cert_unref(c);
    free(cp);
    free(kp);
    cc_acme_alpn_cert("2001:db8::1", "x.y", &cp, &kp, &err);
    c = cc_challenge_cert("2001:db8::1", cp, kp, now, now + 60);
    cc_challenge_put_alpn01("2001:DB8:0::1", c);
    g = cc_challenge_alpn01(
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
    T_OK(g == c, "ip6.arpa SNI");
    cc_cert_unref(g);
    cc_challenge_del_alpn01("2001:db8::1", c);
    cc_cert_unref(c);
    free(cp);
    free(kp);
    T_INT(cc_challenge_count(), 0);
}

static atomic_bool stop_readers;
static atomic_long reads_ok;

static void *reader(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_readers)) {
        char *v = cc_challenge_http01("race.test", "tok");
        if (v) {
            if (!strcmp(v, "tok.ka"))
                atomic_fetch_add(&reads_ok, 1);
            free(v);
        }
    }
    return NULL;
}

static void test_challenge_threads(void)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, reader, NULL);
    for (int i = 0; i < 20000; i++) {
        cc_challenge_put_http01("race.test", "tok", "tok.ka");
        cc_challenge_put_http01("race.test", "other", "other.ka");
        cc_challenge_del_http01("race.test", "other");
        cc_challenge_del_http01("race.test", "tok");
    }
    cc_challenge_put_http01("race.test", "tok", "tok.ka");
    for (int i = 0; i < 200 && atomic_load(&reads_ok) == 0; i++)
        usleep(1000);
    atomic_store(&stop_readers, true);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    cc_challenge_del_http01("race.test", "tok");
    T_OK(atomic_load(&reads_ok) > 0, "readers saw the challenge");
    T_INT(cc_challenge_count(), 0);
}

static void test_obtain_args(void)
{
    cc_acme_cfg cfg = {.directory = "https://127.0.0.1:1/dir"};
    char *chain = (char *)1, *key = (char *)1;
    cc_err err = {0};
    T_INT(cc_acme_obtain(&cfg, NULL, 0, &chain, &key, &err), CC_ERR);
    T_OK(chain == NULL && key == NULL, "outputs cleared");
    T_HAS(err.msg, "no names");
    const char *names[] = {"a.test"};
    cc_acme_cfg both = {
        .directory = "https://127.0.0.1:1/dir", .disable_http01 = true, .disable_tlsalpn01 = true};
    cc_err_clear(&err);
    T_INT(cc_acme_obtain(&both, names, 1, &chain, &key, &err), CC_ERR);
    T_HAS(err.msg, "both http-01 and tls-alpn-01 are disabled");
    cc_err_clear(&err);
    T_INT(cc_acme_obtain(&cfg, names, 1, &chain, &key, &err), CC_ERR);
    T_HAS(err.msg, "acme: getting the directory: https://127.0.0.1:1/dir:");
    cc_acme_cfg kt = {.directory = "https://127.0.0.1:1/dir", .key_type = "dsa"};
    cc_err_clear(&err);
    T_INT(cc_acme_obtain(&kt, names, 1, &chain, &key, &err), CC_ERR);
    T_HAS(err.msg, "dsa");
    long long start = 0;
    cc_err_clear(&err);
    T_INT(cc_acme_renewal_info(&cfg, "not a cert", &start, &err), CC_ERR);
    T_HAS(err.msg, "authority key identifier");
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_b64url();
    test_jwk_jws("p256", "ES256", 64);
    test_jwk_jws("p384", "ES384", 96);
    test_jwk_jws("rsa2048", "RS256", 256);
    test_ed25519_no_jws();
    test_eab();
    test_csr();
    test_alpn_cert();
    test_ari_id();
    test_problem_retry_safe();
    test_challenge_table();
    test_challenge_threads();
    test_obtain_args();
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return t_done();
}
