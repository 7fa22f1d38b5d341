/* SPDX-License-Identifier: Apache-2.0
 * The certificate cache and its PEM parser: names taken from SANs (CN without them),
 * bad input refused with a reason, lookups by exact name, wildcard one label deep and
 * IP, ClientHellos without SNI, a renewal swap that leaves old references valid, and
 * retain on reload. Fixtures (100-year ECDSA P-256 certificates made with openssl) are
 * in tests/unit/testdata/certs. Run from the repository root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../certmagic/certmagic.h"
#include "../t.h"

#define TD "tests/unit/testdata/certs/"

static char *slurp(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof(path), TD "%s", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s (run from the repository root)\n", path);
        exit(2);
    }
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    *len = n;
    return strdup(buf);
}

static cc_cert *load(const char *crt, const char *key, bool managed, cc_err *err)
{
    size_t cl, kl;
    char *c = slurp(crt, &cl), *k = slurp(key, &kl);
    cc_cert *cert = cc_cert_from_pem(c, cl, k, kl, managed ? "internal" : "file", managed, err);
    free(c);
    free(k);
    return cert;
}

static bool has_name(const cc_cert *c, const char *n)
{
    for (size_t i = 0; c && i < c->nnames; i++)
        if (strcmp(c->names[i], n) == 0)
            return true;
    return false;
}

/* The id of the certificate chosen for sni (0 = none), releasing the reference. */
static uint64_t pick(const char *sni)
{
    cc_cert *c = cc_certcache_get(sni);
    uint64_t id = c ? c->id : 0;
    cc_cert_unref(c);
    return id;
}

static void test_parse(void)
{
    cc_err err = {0};
    cc_cert *a = load("a.pem", "a.key", false, &err);
    T_OK(a != NULL, "a.pem: %s", err.msg);
    if (!a)
        return;
    T_INT(a->nnames, 2);
    T_OK(has_name(a, "a.example.com"), "a.example.com");
    T_OK(has_name(a, "b.example.com"), "SAN lower-cased");
    T_OK(a->not_after > a->not_before && a->not_before > 1600000000, "dates %lld %lld",
         (long long)a->not_before, (long long)a->not_after);
    T_OK(!a->managed, "unmanaged");
    T_STR(a->issuer_key, "file");
    T_INT(atomic_load(&a->refs), 1);
    T_HAS(a->chain_pem, "BEGIN CERTIFICATE");
    T_HAS(a->key_pem, "PRIVATE KEY");

    cc_err e2 = {0};
    cc_cert *pk8 = load("a.pem", "a_pkcs8.key", false, &e2);
    T_OK(pk8 != NULL, "PKCS#8 key: %s", e2.msg);
    T_OK(pk8 && pk8->id != a->id, "ids are unique");
    cc_cert_unref(pk8);
    cc_cert_unref(a);

    cc_err e3 = {0};
    cc_cert *mm = load("a.pem", "wild.key", false, &e3);
    T_OK(mm == NULL, "mismatched key refused");
    cc_cert_unref(mm);
    T_HAS(e3.msg, "private key does not match");

    cc_err e4 = {0};
    T_OK(cc_cert_from_pem("junk", 4, "junk", 4, "file", false, &e4) == NULL, "junk refused");
    T_HAS(e4.msg, "no certificate");

    cc_err e5 = {0};
    const char *bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    size_t kl;
    char *k = slurp("a.key", &kl);
    T_OK(cc_cert_from_pem(bad, strlen(bad), k, kl, "file", false, &e5) == NULL, "bad DER");
    T_OK(e5.msg[0] != 0, "bad DER has a message");
    cc_err e6 = {0};
    size_t cl;
    char *c = slurp("a.pem", &cl);
    T_OK(cc_cert_from_pem(c, cl, "", 0, "file", false, &e6) == NULL, "no key");
    T_HAS(e6.msg, "private key");
    free(k);
    free(c);

    cc_err e7 = {0};
    cc_cert *cn = load("cn.pem", "cn.key", false, &e7);
    T_OK(cn && cn->nnames == 1 && has_name(cn, "cn.example.com"), "CN used without SANs");
    cc_cert_unref(cn);

    cc_err e8 = {0};
    cc_cert *ip = load("ip.pem", "ip.key", true, &e8);
    T_OK(ip && has_name(ip, "127.0.0.1") && has_name(ip, "::1"), "IP SANs");
    T_OK(ip && ip->managed, "managed");
    cc_cert_unref(ip);

    cc_err er = {0};
    cc_cert *rsa = load("r.pem", "r.key", false, &er);
    T_OK(rsa && has_name(rsa, "r.test"), "RSA: %s", er.msg);
    cc_cert_unref(rsa);
    /* wolfSSL 5.5.4 (Debian) cannot parse Ed25519 certificates: refused, not crashed */
    cc_err ee = {0};
    cc_cert *ed = load("ed.pem", "ed.key", false, &ee);
    T_OK(ed == NULL && ee.msg[0], "Ed25519 certificate refused with a message");
    cc_cert_unref(ed);
    const char *wrong[][2] = {
        {"r.pem", "a.key"}, {"a.pem", "r.key"}, {"ed.pem", "a.key"}, {"a.pem", "ed.key"}};
    for (size_t i = 0; i < 4; i++) {
        cc_err ew = {0};
        cc_cert *bad_pair = load(wrong[i][0], wrong[i][1], false, &ew);
        T_OK(bad_pair == NULL, "%s with %s refused", wrong[i][0], wrong[i][1]);
        cc_cert_unref(bad_pair);
    }

    cc_err e9 = {0};
    cc_cert *ch = load("chain.pem", "leaf.key", false, &e9);
    T_OK(ch && has_name(ch, "leaf.test") && ch->nnames == 1, "chain: leaf names only: %s", e9.msg);
    cc_cert_unref(ch);
}

static void test_lookup(void)
{
    cc_err err = {0};
    cc_cert *a = load("a.pem", "a.key", false, &err);
    cc_cert *w = load("wild.pem", "wild.key", true, &err);
    cc_cert *ip = load("ip.pem", "ip.key", true, &err);
    T_OK(a && w && ip, "fixtures: %s", err.msg);
    if (!a || !w || !ip)
        return;
    uint64_t g0 = cc_certcache_generation();
    T_INT(pick("a.example.com"), 0);
    cc_certcache_put(w);
    cc_certcache_put(a);
    cc_certcache_put(ip);
    T_OK(cc_certcache_generation() > g0, "generation moves");
    T_INT(atomic_load(&a->refs), 2);
    T_INT(pick("a.example.com"), a->id);
    T_INT(pick("A.EXAMPLE.COM."), a->id);
    T_INT(pick("b.example.com"), a->id);
    T_INT(pick("c.example.com"), w->id);
    T_INT(pick("x.c.example.com"), 0); /* one label deep only */
    T_INT(pick("example.com"), 0);
    T_INT(pick("*.example.com"), w->id);
    T_INT(pick("127.0.0.1"), ip->id);
    T_INT(pick("::1"), ip->id);
    T_INT(pick("0:0::1"), ip->id);
    T_INT(pick("[::1]"), ip->id);
    T_INT(pick("127.0.0.2"), 0);
    T_INT(pick("other.test"), 0);

    /* no SNI: the first IP or loaded certificate, then default_sni wins */
    T_INT(pick(NULL), a->id);
    T_INT(pick(""), a->id);
    cc_certcache_set_default_sni("zz.example.com");
    T_INT(pick(NULL), w->id);
    cc_certcache_set_default_sni("nothing.test");
    T_INT(pick(""), 0);
    cc_certcache_set_default_sni(NULL);
    T_INT(pick(""), a->id);

    /* renewal: a2 takes over a's names; a reference taken before stays usable */
    cc_cert *held = cc_certcache_get("a.example.com");
    cc_cert *a2 = load("a2.pem", "a2.key", false, &err);
    T_OK(a2 != NULL, "a2: %s", err.msg);
    uint64_t g1 = cc_certcache_generation();
    cc_certcache_put(a2);
    T_OK(cc_certcache_generation() > g1, "renewal moves the generation");
    T_INT(pick("a.example.com"), a2->id);
    T_INT(pick("b.example.com"), a2->id);
    T_OK(held == a && atomic_load(&a->refs) == 2, "old: our two refs, the cache let go (%d)",
         (int)atomic_load(&a->refs));
    T_HAS(held->chain_pem, "BEGIN CERTIFICATE");
    T_HAS(held->key_pem, "PRIVATE KEY");
    cc_cert_unref(held);
    T_INT(atomic_load(&a->refs), 1);
    cc_cert_unref(a);
    cc_certcache_put(a2); /* a second put of the same certificate is harmless */
    T_INT(atomic_load(&a2->refs), 2);

    /* retain: managed certificates of names no longer configured leave */
    const char *keep[] = {"a.example.com", "q.example.com"};
    cc_certcache_retain(keep, 2, true);
    T_INT(pick("q.example.com"), w->id);
    T_INT(pick("127.0.0.1"), 0);
    T_INT(atomic_load(&ip->refs), 1);
    T_INT(pick("a.example.com"), a2->id);
    const char *keep2[] = {"q.example.com"};
    cc_certcache_retain(keep2, 1, true);
    T_INT(pick("a.example.com"), a2->id); /* loaded: kept */
    cc_certcache_retain(keep2, 1, false);
    T_INT(pick("a.example.com"), w->id); /* a2 left; the wildcard answers */
    T_INT(pick("b.example.com"), w->id);
    T_INT(atomic_load(&a2->refs), 1);
    T_INT(pick("q.example.com"), w->id);
    cc_certcache_retain(NULL, 0, false);
    T_INT(pick("q.example.com"), 0);
    T_INT(atomic_load(&w->refs), 1);

    /* clear */
    cc_certcache_put(w);
    cc_certcache_set_default_sni("q.example.com");
    cc_certcache_clear();
    T_INT(pick("q.example.com"), 0);
    T_INT(pick(NULL), 0);
    T_INT(atomic_load(&w->refs), 1);
    cc_cert_unref(w);
    cc_cert_unref(ip);
    cc_cert_unref(a2);
}

/* Many names: the index grows and every name still resolves. */
static void test_many(void)
{
    cc_err err = {0};
    cc_cert *w = load("wild.pem", "wild.key", true, &err);
    cc_cert *a = load("a.pem", "a.key", false, &err);
    if (!w || !a) {
        T_OK(0, "fixtures");
        return;
    }
    /* the index holds names of the certificates themselves; many certificates are
     * simulated with repeated puts of different objects for the same names */
    for (int i = 0; i < 300; i++) {
        cc_cert *c = load(i % 2 ? "a.pem" : "a2.pem", i % 2 ? "a.key" : "a2.key", true, &err);
        cc_certcache_put(c);
        cc_cert_unref(c);
    }
    cc_certcache_put(w);
    T_OK(pick("a.example.com") != 0, "last put wins");
    T_INT(pick("zzz.example.com"), w->id);
    cc_certcache_clear();
    cc_cert_unref(w);
    cc_cert_unref(a);
}

int main(void)
{
    test_parse();
    test_lookup();
    test_many();
    return t_done();
}
