/* SPDX-License-Identifier: Apache-2.0
 * The internal CA and the certificate manager: root, intermediate and leaves checked
 * with `openssl verify` and `openssl x509` (lifetimes, key usage, SANs with IPs and
 * wildcards, key types), storage under Caddy's keys and reuse without regeneration
 * (memory and SQLite), intermediate renewal, certmagic's storage keys, the renewal and
 * backoff rules, and the manager end to end: a localhost site gets a certificate in
 * the background, and a restart serves the stored one at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../certmagic/ca.h"
#include "../../certmagic/certmagic.h"
#include "../../certmagic/crypto.h"
#include "../../certmagic/manager_priv.h"
#include "../../certmagic/store.h"
#include "../../core/storage.h"
#include "../../storage/memory.h"
#include "../../storage/sqlite.h"
#include "../t.h"

static char tmp[64];

static void write_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", tmp, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
}

/* Runs a shell command in tmp; its stdout (malloc'd) and exit status. */
static char *run(const char *cmd, int *status)
{
    char full[1024];
    snprintf(full, sizeof(full), "cd %s && %s 2>&1", tmp, cmd);
    FILE *p = popen(full, "r");
    size_t cap = 65536, n = 0;
    char *out = malloc(cap);
    size_t r;
    while ((r = fread(out + n, 1, cap - n - 1, p)) > 0)
        n += r;
    out[n] = 0;
    int st = pclose(p);
    if (status)
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

static char *load(cc_storage *st, const char *key)
{
    char *v = NULL;
    size_t n = 0;
    cc_err e = {0};
    if (st->ops->load(st, key, &v, &n, &e) != CC_OK)
        return NULL;
    return v;
}

static long lifetime_of(const char *pem)
{
    cc_der *d = NULL;
    size_t n = 0;
    cc_err e = {0};
    if (cc_pem_certs(pem, strlen(pem), &d, &n, &e) != CC_OK)
        return -1;
    time_t nb = 0, na = 0;
    cc_cert_validity(d[0].p, d[0].n, &nb, &na, &e);
    cc_der_list_free(d, n);
    return (long)(na - nb);
}

static void test_keys(void)
{
    cc_key_type types[] = {CC_KEY_P256, CC_KEY_P384, CC_KEY_RSA2048, CC_KEY_ED25519};
    const char *labels[] = {"EC PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "PRIVATE KEY"};
    for (size_t i = 0; i < 4; i++) {
        cc_err e = {0};
        cc_key *k = cc_key_generate(types[i], &e);
        T_OK(k != NULL, "generate %s: %s", cc_key_type_name(types[i]), e.msg);
        if (!k)
            continue;
        size_t n = 0;
        char *pem = cc_key_to_pem(k, &n);
        T_HAS(pem, labels[i]);
        cc_key *k2 = cc_key_from_pem(pem, n, &e);
        T_OK(k2 && cc_key_get_type(k2) == types[i], "reparse %s: %s", cc_key_type_name(types[i]),
             e.msg);
        char *pem2 = k2 ? cc_key_to_pem(k2, NULL) : NULL;
        T_STR(pem2, pem);
        free(pem);
        free(pem2);
        cc_key_free(k);
        cc_key_free(k2);
    }
    cc_key_type t;
    cc_err e = {0};
    T_INT(cc_key_type_parse("p384", &t, &e), CC_OK);
    T_INT(t, CC_KEY_P384);
    T_INT(cc_key_type_parse(NULL, &t, &e), CC_OK);
    T_INT(t, CC_KEY_P256);
    T_INT(cc_key_type_parse("dsa", &t, &e), CC_ERR);
    T_HAS(e.msg, "unknown key type: dsa");
    cc_err_clear(&e);
    T_OK(cc_key_from_pem("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n", 66,
                         &e) == NULL,
         "garbage key refused");
    T_OK(e.msg[0] != 0, "garbage key has an error");
}

static void test_store_keys(void)
{
    char *s;
    T_STR(s = cc_certstore_safe("*.Example.com"), "wildcard_.example.com");
    free(s);
    T_STR(s = cc_certstore_safe(" a b+c:d "), "a_b_plus_c-d");
    free(s);
    T_STR(s = cc_certstore_safe("../../etc/passwd"), "etcpasswd");
    free(s);
    T_STR(s = cc_certstore_safe("a...b"), "a.b");
    free(s);
    T_STR(s = cc_certstore_acme_issuer_key("https://acme-v02.api.letsencrypt.org/directory"),
          "acme-v02.api.letsencrypt.org-directory");
    free(s);
    T_STR(s = cc_certstore_acme_issuer_key("https://acme.zerossl.com/v2/DV90"),
          "acme.zerossl.com-v2-DV90");
    free(s);
    T_STR(s = cc_certstore_acme_issuer_key("https://127.0.0.1:14000/dir/"), "127.0.0.1:14000-dir");
    free(s);
    T_STR(s = cc_certstore_key("acme.zerossl.com-v2-DV90", "*.example.com", ".crt"),
          "certificates/acme.zerossl.com-v2-dv90/wildcard_.example.com/wildcard_.example.com.crt");
    free(s);
    T_STR(s = cc_certstore_key("127.0.0.1:14000-dir", "::1", ".key"),
          "certificates/127.0.0.1-14000-dir/--1/--1.key");
    free(s);
}

static void test_ca_basic(cc_storage *st)
{
    cc_err e = {0};
    cc_ca_cfg cfg = {0};
    cc_ca *ca = cc_ca_open(st, &cfg, &e);
    T_OK(ca != NULL, "open CA: %s", e.msg);
    if (!ca)
        return;
    /* stored under Caddy's keys */
    char *root = load(st, "pki/authorities/local/root.crt");
    char *rkey = load(st, "pki/authorities/local/root.key");
    char *inter = load(st, "pki/authorities/local/intermediate.crt");
    char *ikey = load(st, "pki/authorities/local/intermediate.key");
    T_STR(root, cc_ca_root_pem(ca));
    T_STR(inter, cc_ca_inter_pem(ca));
    T_HAS(rkey, "-----BEGIN EC PRIVATE KEY-----");
    T_HAS(ikey, "-----BEGIN EC PRIVATE KEY-----");
    /* lifetimes: 3600 days and 7 days */
    T_INT(lifetime_of(root), 3600L * 86400);
    T_INT(lifetime_of(inter), 7L * 86400);
    write_file("root.pem", root);
    write_file("inter.pem", inter);
    int status;
    char *out = run("openssl x509 -in root.pem -noout -text", &status);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char cn[128];
    snprintf(cn, sizeof(cn), "Subject: CN = Caddy Local Authority - %d ECC Root",
             tm.tm_year + 1900);
    T_HAS(out, cn);
    T_HAS(out, "CA:TRUE, pathlen:1");
    T_HAS(out, "Certificate Sign, CRL Sign");
    T_HAS(out, "NIST CURVE: P-256");
    free(out);
    out = run("openssl x509 -in inter.pem -noout -text", &status);
    T_HAS(out, "Subject: CN = Caddy Local Authority - ECC Intermediate");
    T_HAS(out, "CA:TRUE, pathlen:0");
    T_HAS(out, "Authority Key Identifier");
    free(out);
    out = run("openssl verify -CAfile root.pem inter.pem", &status);
    T_INT(status, 0);
    T_HAS(out, "inter.pem: OK");
    free(out);

    /* a leaf for DNS names, a wildcard and IPs */
    const char *names[] = {"localhost", "*.example.internal", "127.0.0.1", "::1", "[fe80::1]"};
    char *chain = NULL, *key = NULL;
    T_INT(cc_ca_issue(ca, names, 5, CC_KEY_P256, 0, false, &chain, &key, &e), CC_OK);
    T_OK(chain && key, "leaf issued: %s", e.msg);
    if (chain && key) {
        T_INT(lifetime_of(chain), 12L * 3600);
        /* chain = leaf + intermediate */
        T_OK(strstr(chain, inter) != NULL, "chain ends with the intermediate");
        write_file("chain.pem", chain);
        write_file("leafkey.pem", key);
        out = run("openssl verify -CAfile root.pem -untrusted chain.pem chain.pem", &status);
        T_INT(status, 0);
        T_HAS(out, "chain.pem: OK");
        free(out);
        out = run("openssl x509 -in chain.pem -noout -text", &status);
        T_HAS(out, "DNS:localhost, DNS:*.example.internal, IP Address:127.0.0.1, IP "
                   "Address:0:0:0:0:0:0:0:1, IP Address:FE80:0:0:0:0:0:0:1");
        T_HAS(out, "X509v3 Subject Alternative Name: critical");
        T_HAS(out, "Digital Signature");
        T_HAS(out, "TLS Web Server Authentication, TLS Web Client Authentication");
        T_HAS(out, "Issuer: CN = Caddy Local Authority - ECC Intermediate");
        free(out);
        /* the key belongs to the leaf */
        out = run("test \"$(openssl x509 -in chain.pem -noout -pubkey)\" = \"$(openssl pkey -in "
                  "leafkey.pem -pubout)\" && echo same",
                  &status);
        T_HAS(out, "same");
        free(out);
        /* the cache's parser takes it, with the names */
        cc_cert *c = cc_cert_from_pem(chain, strlen(chain), key, strlen(key), "internal", true, &e);
        T_OK(c != NULL, "cc_cert_from_pem: %s", e.msg);
        if (c) {
            T_INT(c->nnames, 5);
            T_INT(c->not_after - c->not_before, 12 * 3600);
            cc_cert_unref(c);
        }
    }
    free(chain);
    free(key);

    /* other key types and a custom lifetime; sign_with_root gives a bare leaf */
    const char *one[] = {"rsa.localhost"};
    T_INT(cc_ca_issue(ca, one, 1, CC_KEY_RSA2048, 90, false, &chain, &key, &e), CC_OK);
    if (chain) {
        T_INT(lifetime_of(chain), 90);
        write_file("rsa.pem", chain);
        out = run("openssl verify -CAfile root.pem -untrusted rsa.pem rsa.pem && openssl x509 "
                  "-in rsa.pem -noout -text",
                  &status);
        T_HAS(out, "rsa.pem: OK");
        T_HAS(out, "Public-Key: (2048 bit)");
        free(out);
    }
    T_HAS(key, "RSA PRIVATE KEY");
    free(chain);
    free(key);
    T_INT(cc_ca_issue(ca, one, 1, CC_KEY_P384, 0, true, &chain, &key, &e), CC_OK);
    if (chain) {
        T_OK(strstr(chain, inter) == NULL, "sign_with_root: no intermediate in the chain");
        write_file("p384.pem", chain);
        out = run("openssl verify -CAfile root.pem p384.pem && openssl x509 -in p384.pem -noout "
                  "-text",
                  &status);
        T_HAS(out, "p384.pem: OK");
        T_HAS(out, "NIST CURVE: P-384");
        T_HAS(out, "Issuer: CN = Caddy Local Authority -");
        T_HAS(out, "ECC Root");
        free(out);
    }
    free(chain);
    free(key);
    /* errors */
    cc_err_clear(&e);
    T_INT(cc_ca_issue(ca, names, 0, CC_KEY_P256, 0, false, &chain, &key, &e), CC_ERR);
    T_HAS(e.msg, "no names");
    cc_err_clear(&e);
    const char *empty[] = {""};
    T_INT(cc_ca_issue(ca, empty, 1, CC_KEY_P256, 0, false, &chain, &key, &e), CC_ERR);
    T_HAS(e.msg, "empty name");

    /* reopening uses the stored root and intermediate */
    cc_ca *again = cc_ca_open(st, &cfg, &e);
    T_OK(again != NULL, "reopen: %s", e.msg);
    if (again) {
        T_STR(cc_ca_root_pem(again), root);
        T_STR(cc_ca_inter_pem(again), inter);
        T_INT(cc_ca_maintain(again, &e), 0); /* nothing due */
        cc_ca_free(again);
    }
    cc_ca_free(ca);
    free(root);
    free(rkey);
    free(inter);
    free(ikey);
}

static void test_ca_custom(cc_storage *st)
{
    cc_err e = {0};
    cc_ca_cfg cfg = {0};
    cfg.id = "corp";
    cfg.name = "Corp CA";
    cfg.root_cn = "{pki.ca.name} Root";
    cfg.inter_lifetime = 5;
    cfg.renewal_ratio = 1;
    cc_ca *ca = cc_ca_open(st, &cfg, &e);
    T_OK(ca != NULL, "open corp CA: %s", e.msg);
    if (!ca)
        return;
    char *root = load(st, "pki/authorities/corp/root.crt");
    T_OK(root != NULL, "corp root stored under its id");
    write_file("corp.pem", root ? root : "");
    int status;
    char *out = run("openssl x509 -in corp.pem -noout -subject", &status);
    T_HAS(out, "CN = Corp CA Root");
    free(out);
    /* a leaf never outlives its issuer (5 s) */
    const char *one[] = {"x.corp.internal"};
    char *chain = NULL, *key = NULL;
    T_INT(cc_ca_issue(ca, one, 1, CC_KEY_P256, 0, false, &chain, &key, &e), CC_OK);
    T_OK(lifetime_of(chain) <= 5, "leaf clamped to the intermediate: %ld", lifetime_of(chain));
    free(chain);
    free(key);
    /* ratio 1: due at once, maintenance renews the intermediate */
    char *inter1 = cc_xstrdup(cc_ca_inter_pem(ca));
    T_OK(cc_ca_renew_at(ca) <= time(NULL), "intermediate due");
    T_INT(cc_ca_maintain(ca, &e), 1);
    T_OK(strcmp(inter1, cc_ca_inter_pem(ca)) != 0, "new intermediate");
    char *stored = load(st, "pki/authorities/corp/intermediate.crt");
    T_STR(stored, cc_ca_inter_pem(ca));
    /* same root */
    char *root2 = load(st, "pki/authorities/corp/root.crt");
    T_STR(root2, root);
    free(stored);
    free(root2);
    free(inter1);
    free(root);
    cc_ca_free(ca);

    /* an intermediate lifetime beyond the root's is refused */
    cc_ca_cfg bad = {0};
    bad.id = "bad";
    bad.inter_lifetime = 3601LL * 86400;
    cc_err_clear(&e);
    T_OK(cc_ca_open(st, &bad, &e) == NULL, "too long intermediate refused");
    T_HAS(e.msg, "intermediate certificate lifetime must be less than actual root");

    /* a configured root from files */
    cc_ca_cfg files = {0};
    files.id = "filed";
    char p1[128], p2[128];
    snprintf(p1, sizeof(p1), "%s/missing.crt", tmp);
    files.root_cert_file = p1;
    cc_err_clear(&e);
    T_OK(cc_ca_open(st, &files, &e) == NULL, "missing root file refused");
    T_HAS(e.msg, "missing.crt");
    cc_ca *local = cc_ca_open(st, &(cc_ca_cfg){0}, &e);
    if (local) {
        write_file("lroot.crt", cc_ca_root_pem(local));
        char *k = load(st, "pki/authorities/local/root.key");
        write_file("lroot.key", k ? k : "");
        free(k);
        snprintf(p1, sizeof(p1), "%s/lroot.crt", tmp);
        snprintf(p2, sizeof(p2), "%s/lroot.key", tmp);
        files.root_cert_file = p1;
        files.root_key_file = p2;
        cc_ca *f = cc_ca_open(st, &files, &e);
        T_OK(f != NULL, "CA from root files: %s", e.msg);
        if (f) {
            T_STR(cc_ca_root_pem(f), cc_ca_root_pem(local));
            T_OK(load(st, "pki/authorities/filed/root.crt") == NULL,
                 "a configured root is not copied into storage");
            cc_ca_free(f);
        }
        cc_ca_free(local);
    }
}

static void test_sqlite_reuse(void)
{
    char db[128];
    snprintf(db, sizeof(db), "%s/data/caddy-c.db", tmp);
    cc_err e = {0};
    cc_storage *s = cc_storage_sqlite_open(db, &e);
    T_OK(s != NULL, "sqlite: %s", e.msg);
    if (!s)
        return;
    cc_ca *ca = cc_ca_open(s, &(cc_ca_cfg){0}, &e);
    char *root = ca ? cc_xstrdup(cc_ca_root_pem(ca)) : NULL;
    char *inter = ca ? cc_xstrdup(cc_ca_inter_pem(ca)) : NULL;
    cc_ca_free(ca);
    s->ops->close(s);
    s = cc_storage_sqlite_open(db, &e);
    ca = s ? cc_ca_open(s, &(cc_ca_cfg){0}, &e) : NULL;
    T_OK(ca != NULL, "reopen after close: %s", e.msg);
    if (ca) {
        T_STR(cc_ca_root_pem(ca), root);
        T_STR(cc_ca_inter_pem(ca), inter);
    }
    cc_ca_free(ca);
    if (s)
        s->ops->close(s);
    free(root);
    free(inter);
}

static void test_certres(cc_storage *st)
{
    cc_err e = {0};
    const char *sans[] = {"a.example.com"};
    T_INT(cc_certres_save(st, "local", "a.example.com", "CHAIN", "KEY", sans, 1, NULL, &e), CC_OK);
    cc_certres r;
    T_INT(cc_certres_load(st, "local", "a.example.com", &r, &e), CC_OK);
    T_STR(r.chain, "CHAIN");
    T_STR(r.key, "KEY");
    T_HAS(r.meta, "\"sans\"");
    T_HAS(r.meta, "a.example.com");
    cc_certres_free(&r);
    char *v = load(st, "certificates/local/a.example.com/a.example.com.json");
    T_OK(v != NULL, "metadata under certmagic's key");
    free(v);
    T_INT(cc_certres_load(st, "local", "b.example.com", &r, &e), CC_ENOTFOUND);
    T_INT(
        cc_certres_save(st, "acme.example-dir", "*.x.com", "C", "K", NULL, 0, "{\"ca\":\"u\"}", &e),
        CC_OK);
    v = load(st, "certificates/acme.example-dir/wildcard_.x.com/wildcard_.x.com.json");
    T_HAS(v, "\"issuer_data\"");
    free(v);
}

static void test_timing(void)
{
    time_t now = 1000000;
    mname_view v = {0};
    T_INT(cm_due(&v, now), now);
    v.have = true;
    v.nb = now - 100;
    v.na = now + 200; /* lifetime 300, a third = 100 */
    T_INT(cm_due(&v, now), now + 100);
    v.ratio = 0.5;
    T_INT(cm_due(&v, now), now + 50);
    v.ratio = 0;
    v.acme = true;
    v.ari_start = now + 150; /* the CA's window wins over the ratio */
    T_INT(cm_due(&v, now), now + 150);
    v.ari_start = now + 199; /* but 1/20 left is an emergency */
    T_INT(cm_due(&v, now), now + 185);
    v.acme = false; /* ARI only for ACME certificates */
    T_INT(cm_due(&v, now), now + 100);
    T_INT(cm_backoff(0), 0);
    T_INT(cm_backoff(1), 60);
    T_INT(cm_backoff(2), 120);
    T_INT(cm_backoff(4), 300);
    T_INT(cm_backoff(12), 1800);
    T_INT(cm_backoff(24), 10800);
    T_INT(cm_backoff(25), 21600);
    T_INT(cm_backoff(1000), 21600);
    int prev = 0, mono = 1;
    for (int i = 1; i < 40; i++) {
        if (cm_backoff(i) < prev)
            mono = 0;
        prev = cm_backoff(i);
    }
    T_OK(mono, "backoff never shrinks");
}

static cc_cert *wait_cert(const char *name, int ms)
{
    for (int i = 0; i < ms / 20; i++) {
        cc_cert *c = cc_certcache_get(name);
        if (c)
            return c;
        usleep(20000);
    }
    return NULL;
}

/* The manager end to end with a plan built by cc_autohttps_apply. */
static void test_manager(cc_storage *st)
{
    cc_arena *a = cc_arena_new(0);
    cc_cfg *cfg = cc_cfg_obj(a);
    cc_cfg *srv = cc_cfg_child_obj(
        a,
        cc_cfg_child_obj(a, cc_cfg_child_obj(a, cc_cfg_child_obj(a, cfg, "apps"), "http"),
                         "servers"),
        "s");
    cc_cfg_push_str(a, cc_cfg_child_arr(a, srv, "listen"), ":8443");
    cc_cfg *route = cc_cfg_obj(a);
    cc_cfg *m = cc_cfg_obj(a);
    const char *hosts[] = {"localhost", "127.0.0.1"};
    cc_cfg_set(a, m, "host", cc_cfg_str_arr(a, hosts, 2));
    cc_cfg_push(a, cc_cfg_child_arr(a, route, "match"), m);
    cc_cfg_push(a, cc_cfg_child_arr(a, srv, "routes"), route);
    cc_err e = {0};
    cc_autohttps *plan = cc_autohttps_apply(a, cfg, &e);
    T_OK(plan != NULL, "apply: %s", e.msg);
    if (!plan) {
        cc_arena_free(a);
        return;
    }
    T_INT(cc_certmagic_start(plan, st, &e), CC_OK);
    cc_cert *c = wait_cert("localhost", 10000);
    T_OK(c != NULL, "localhost certificate obtained in the background");
    cc_cert *ip = wait_cert("127.0.0.1", 10000);
    T_OK(ip != NULL, "IP certificate obtained");
    time_t na = c ? c->not_after : 0;
    uint64_t id = c ? c->id : 0;
    T_OK(c && c->managed, "managed");
    cc_cert_unref(c);
    cc_cert_unref(ip);
    char *stored = load(st, "certificates/local/localhost/localhost.crt");
    T_OK(stored != NULL, "stored under certificates/local/localhost/");
    free(stored);
    cc_certmagic_stop();
    T_OK(cc_certcache_get("localhost") == NULL, "stop empties the cache");
    /* a restart serves the stored certificate at once (no new issuance) */
    T_INT(cc_certmagic_start(plan, st, &e), CC_OK);
    c = cc_certcache_get("localhost");
    T_OK(c != NULL, "served from storage right after start");
    T_OK(c && c->not_after == na && c->id != id, "same certificate, loaded again");
    cc_cert_unref(c);
    /* a reload without the IP drops its certificate from the cache */
    cc_cfg *pol = cc_cfg_get(cc_cfg_idx(cc_cfg_get(srv, "routes"), 0), "match");
    cc_cfg_set(a, cc_cfg_idx(pol, 0), "host", cc_cfg_str_arr(a, hosts, 1));
    cc_arena *a2 = cc_arena_new(0);
    cc_cfg *cfg2 = cc_cfg_clone(a2, cfg);
    cc_autohttps *plan2 = cc_autohttps_apply(a2, cfg2, &e);
    T_OK(plan2 && cc_certmagic_start(plan2, st, &e) == CC_OK, "reload: %s", e.msg);
    cc_arena_free(a2); /* the manager keeps its own copy */
    c = cc_certcache_get("127.0.0.1");
    T_OK(c == NULL, "dropped name leaves the cache");
    cc_cert_unref(c);
    c = cc_certcache_get("localhost");
    T_OK(c != NULL, "kept name stays");
    cc_cert_unref(c);
    cc_certmagic_stop();
    cc_certmagic_stop(); /* idempotent */
    cc_arena_free(a);
}

int main(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/test_ca.XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    test_keys();
    test_store_keys();
    cc_err e = {0};
    cc_storage *mem = cc_storage_memory_open(&e);
    test_ca_basic(mem);
    test_ca_custom(mem);
    test_certres(mem);
    test_sqlite_reuse();
    test_timing();
    cc_storage *mem2 = cc_storage_memory_open(&e);
    test_manager(mem2);
    mem2->ops->close(mem2);
    mem->ops->close(mem);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmp);
    return t_done();
}
