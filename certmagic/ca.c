/* SPDX-License-Identifier: Apache-2.0
 * The internal CA (see ca.h) on wolfCrypt's certificate generator. Certificates follow
 * the shape of Caddy's (smallstep templates): root and intermediate with keyCertSign
 * and cRLSign, path lengths 1 and 0; leaves with an empty subject, a critical SAN,
 * digitalSignature, serverAuth and clientAuth. wolfCrypt writes basicConstraints
 * non-critical (engine-notes P15), which every verifier we tried accepts. */
#include <wolfssl/options.h>

#include "ca.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/random.h>

#include "../core/arena.h"
#include "../core/storage.h"
#include "store.h"

typedef struct ca_part {
    cc_der *ders; /* the certificate (intermediate: the chain up to the root) */
    size_t nders;
    char *pem;
    cc_key *key; /* NULL for a configured root given without its key */
    time_t nb, na;
} ca_part;

struct cc_ca {
    cc_storage *st;
    char *id, *name, *root_cn, *inter_cn;
    int64_t inter_lifetime;
    double ratio;
    char *files[4]; /* root cert, root key, intermediate cert, intermediate key */
    ca_part root, inter;
};

static void part_free(ca_part *p)
{
    cc_der_list_free(p->ders, p->nders);
    free(p->pem);
    cc_key_free(p->key);
    memset(p, 0, sizeof(*p));
}

static char *sdup(const char *s, const char *def)
{
    return cc_xstrdup(s && *s ? s : def);
}

static char *skey(const cc_ca *ca, const char *file)
{
    char *safe = cc_certstore_safe(ca->id);
    size_t n = strlen(safe) + strlen(file) + 32;
    char *k = cc_xmalloc(n);
    snprintf(k, n, "pki/authorities/%s/%s", safe, file);
    free(safe);
    return k;
}

/* {pki.ca.name} and {time.now.year}: the placeholders Caddy's default CNs use. */
static char *expand_cn(const cc_ca *ca, const char *tmpl)
{
    char year[16];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(year, sizeof(year), "%d", tm.tm_year + 1900);
    size_t cap = strlen(tmpl) * 4 + strlen(ca->name) * 4 + 64, o = 0;
    char *out = cc_xmalloc(cap);
    for (const char *p = tmpl; *p;) {
        const char *rep = NULL;
        size_t skip = 0;
        if (strncmp(p, "{pki.ca.name}", 13) == 0)
            rep = ca->name, skip = 13;
        else if (strncmp(p, "{time.now.year}", 15) == 0)
            rep = year, skip = 15;
        if (rep) {
            size_t rn = strlen(rep);
            if (o + rn + 1 >= cap)
                break;
            memcpy(out + o, rep, rn);
            o += rn;
            p += skip;
        } else {
            if (o + 2 >= cap)
                break;
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return out;
}

/* ---- parsing stored or configured parts ---- */

static int part_from_pem(ca_part *p, const char *cert_pem, size_t cn, const char *key_pem,
                         size_t kn, const char *what, cc_err *err)
{
    memset(p, 0, sizeof(*p));
    cc_err e = {0};
    if (cc_pem_certs(cert_pem, cn, &p->ders, &p->nders, &e) != CC_OK ||
        cc_cert_validity(p->ders[0].p, p->ders[0].n, &p->nb, &p->na, &e) != CC_OK) {
        part_free(p);
        return cc_err_set(err, "parsing %s certificate: %s", what, e.msg);
    }
    if (key_pem) {
        p->key = cc_key_from_pem(key_pem, kn, &e);
        if (!p->key) {
            part_free(p);
            return cc_err_set(err, "parsing %s key: %s", what, e.msg);
        }
    }
    p->pem = cc_xmalloc(cn + 1);
    memcpy(p->pem, cert_pem, cn);
    p->pem[cn] = '\0';
    return CC_OK;
}

static int read_file(const char *path, char **out, size_t *n, cc_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cc_err_set(err, "open %s: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = cc_xmalloc(cap);
    for (;;) {
        size_t r = fread(buf + len, 1, cap - len - 1, f);
        len += r;
        if (r == 0)
            break;
        if (len + 1 == cap) {
            if (cap > (8u << 20)) {
                fclose(f);
                free(buf);
                return cc_err_set(err, "%s: file too large", path);
            }
            buf = cc_xrealloc(buf, cap *= 2);
        }
    }
    fclose(f);
    buf[len] = '\0';
    *out = buf;
    *n = len;
    return CC_OK;
}

static int part_from_files(ca_part *p, const char *cert_file, const char *key_file,
                           const char *what, cc_err *err)
{
    char *c = NULL, *k = NULL;
    size_t cn = 0, kn = 0;
    if (read_file(cert_file, &c, &cn, err) != CC_OK)
        return CC_ERR;
    if (key_file && *key_file && read_file(key_file, &k, &kn, err) != CC_OK) {
        free(c);
        return CC_ERR;
    }
    int rc = part_from_pem(p, c, cn, k, kn, what, err);
    free(c);
    if (k) {
        memset(k, 0, kn);
        free(k);
    }
    return rc;
}

/* Loads pki/authorities/<id>/<base>.crt and .key: CC_ENOTFOUND when absent. */
static int part_load(cc_ca *ca, ca_part *p, const char *base, cc_err *err)
{
    char crt[64], keyf[64];
    snprintf(crt, sizeof(crt), "%s.crt", base);
    snprintf(keyf, sizeof(keyf), "%s.key", base);
    char *kc = skey(ca, crt), *kk = skey(ca, keyf);
    char *c = NULL, *k = NULL;
    size_t cn = 0, kn = 0;
    cc_err e = {0};
    int rc = ca->st->ops->load(ca->st, kc, &c, &cn, &e);
    if (rc == CC_OK)
        rc = ca->st->ops->load(ca->st, kk, &k, &kn, &e);
    if (rc == CC_OK)
        rc = part_from_pem(p, c, cn, k, kn, base, err);
    else if (rc != CC_ENOTFOUND)
        rc = cc_err_set(err, "loading %s: %s", kc, e.msg);
    free(kc);
    free(kk);
    free(c);
    if (k) {
        memset(k, 0, kn);
        free(k);
    }
    return rc;
}

static int part_store(cc_ca *ca, const ca_part *p, const char *base, cc_err *err)
{
    char crt[64], keyf[64];
    snprintf(crt, sizeof(crt), "%s.crt", base);
    snprintf(keyf, sizeof(keyf), "%s.key", base);
    size_t kn = 0;
    char *kpem = cc_key_to_pem(p->key, &kn);
    if (!kpem)
        return cc_err_set(err, "encoding %s key", base);
    char *kc = skey(ca, crt), *kk = skey(ca, keyf);
    cc_err e = {0};
    /* the key first: a reader that finds the certificate finds its key too */
    int rc = ca->st->ops->store(ca->st, kk, kpem, kn, &e);
    if (rc == CC_OK)
        rc = ca->st->ops->store(ca->st, kc, p->pem, strlen(p->pem), &e);
    if (rc != CC_OK)
        cc_err_set(err, "saving %s: %s", base, e.msg);
    memset(kpem, 0, kn);
    free(kpem);
    free(kc);
    free(kk);
    return rc == CC_OK ? CC_OK : CC_ERR;
}

/* ---- generating ---- */

/* Signs c (subject key sk) with issuer key ik; the DER certificate in out. */
static int make_cert(Cert *c, cc_key *sk, cc_key *ik, cc_der *out, cc_err *err)
{
    WC_RNG rng;
    if (wc_InitRng(&rng) != 0)
        return cc_err_set(err, "signing certificate: no random number generator");
    size_t cap = 32768;
    unsigned char *buf = cc_xmalloc(cap);
    c->sigType = cc_key_wc_sigtype(ik);
    int rc = wc_MakeCert_ex(c, buf, (word32)cap, cc_key_wc_type(sk), cc_key_wc(sk), &rng);
    if (rc >= 0)
        rc = wc_SignCert_ex(c->bodySz, c->sigType, buf, (word32)cap, cc_key_wc_type(ik),
                            cc_key_wc(ik), &rng);
    wc_FreeRng(&rng);
    if (rc <= 0) {
        free(buf);
        return cc_err_set(err, "signing certificate: wolfCrypt error %d", rc);
    }
    out->p = buf;
    out->n = (size_t)rc;
    return CC_OK;
}

static void set_dates(Cert *c, time_t nb, time_t na)
{
    c->beforeDateSz = cc_x509_time(c->beforeDate, nb);
    c->afterDateSz = cc_x509_time(c->afterDate, na);
}

static void set_cn(Cert *c, const char *cn)
{
    snprintf(c->subject.commonName, sizeof(c->subject.commonName), "%s", cn);
}

/* A CA certificate: self-signed root (issuer NULL) or an intermediate under issuer. */
static int gen_ca_part(ca_part *p, const char *cn, const ca_part *issuer, int pathlen,
                       int64_t lifetime, cc_err *err)
{
    memset(p, 0, sizeof(*p));
    cc_err e = {0};
    p->key = cc_key_generate(CC_KEY_P256, &e);
    if (!p->key)
        return cc_err_set(err, "%s", e.msg);
    Cert *c = wc_CertNew(NULL);
    if (!c) {
        part_free(p);
        return cc_err_set(err, "out of memory");
    }
    wc_InitCert(c);
    set_cn(c, cn);
    c->isCA = 1;
    c->pathLen = (byte)pathlen;
    c->pathLenSet = 1;
    time_t now = time(NULL);
    p->nb = now; /* as Caddy: no backdating, so lifetimes are exact */
    p->na = now + (time_t)lifetime;
    set_dates(c, p->nb, p->na);
    int rc = wc_SetKeyUsage(c, "keyCertSign,cRLSign");
    if (rc == 0)
        rc = wc_SetSubjectKeyIdFromPublicKey_ex(c, cc_key_wc_type(p->key), cc_key_wc(p->key));
    cc_key *signer = p->key;
    if (rc == 0 && issuer) {
        c->selfSigned = 0;
        rc = wc_SetIssuerBuffer(c, issuer->ders[0].p, (int)issuer->ders[0].n);
        if (rc == 0 && wc_SetAuthKeyIdFromCert(c, issuer->ders[0].p, (int)issuer->ders[0].n) != 0)
            rc = wc_SetAuthKeyIdFromPublicKey_ex(c, cc_key_wc_type(issuer->key),
                                                 cc_key_wc(issuer->key));
        signer = issuer->key;
    }
    if (rc != 0) {
        wc_CertFree(c);
        part_free(p);
        return cc_err_set(err, "preparing certificate %s: wolfCrypt error %d", cn, rc);
    }
    p->ders = cc_xcalloc(1, sizeof(*p->ders));
    p->nders = 1;
    rc = make_cert(c, p->key, signer, &p->ders[0], err);
    wc_CertFree(c);
    if (rc != CC_OK) {
        part_free(p);
        return CC_ERR;
    }
    p->pem = cc_pem_encode(p->ders[0].p, p->ders[0].n, "CERTIFICATE", NULL);
    return CC_OK;
}

/* ---- opening and maintenance ---- */

static bool inter_due(const cc_ca *ca, const ca_part *p, time_t now)
{
    double life = difftime(p->na, p->nb);
    return now >= p->na - (time_t)(life * ca->ratio);
}

time_t cc_ca_renew_at(const cc_ca *ca)
{
    if (ca->files[2])
        return (time_t)INT64_MAX / 2; /* a configured intermediate is the user's to renew */
    double life = difftime(ca->inter.na, ca->inter.nb);
    return ca->inter.na - (time_t)(life * ca->ratio);
}

static int gen_inter(cc_ca *ca, cc_err *err)
{
    if (!ca->root.key)
        return cc_err_set(err, "CA %s: the root's private key is needed to sign an intermediate",
                          ca->id);
    char *cn = expand_cn(ca, ca->inter_cn);
    ca_part p;
    int rc = gen_ca_part(&p, cn, &ca->root, 0, ca->inter_lifetime, err);
    free(cn);
    if (rc != CC_OK)
        return CC_ERR;
    if (part_store(ca, &p, "intermediate", err) != CC_OK) {
        part_free(&p);
        return CC_ERR;
    }
    part_free(&ca->inter);
    ca->inter = p;
    return CC_OK;
}

/* Locks the CA's storage so two instances starting together make one root. */
static char *lock_name(const cc_ca *ca)
{
    char *safe = cc_certstore_safe(ca->id);
    size_t n = strlen(safe) + 32;
    char *k = cc_xmalloc(n);
    snprintf(k, n, "pki_authority_%s", safe);
    free(safe);
    return k;
}

static int load_or_gen(cc_ca *ca, cc_err *err)
{
    if (ca->files[0]) {
        if (part_from_files(&ca->root, ca->files[0], ca->files[1], "root", err) != CC_OK)
            return CC_ERR;
    } else {
        int rc = part_load(ca, &ca->root, "root", err);
        if (rc == CC_ENOTFOUND) {
            char *cn = expand_cn(ca, ca->root_cn);
            rc = gen_ca_part(&ca->root, cn, NULL, 1, CC_CA_ROOT_LIFETIME, err);
            free(cn);
            if (rc == CC_OK)
                rc = part_store(ca, &ca->root, "root", err);
        }
        if (rc != CC_OK)
            return CC_ERR;
    }
    if (ca->files[2])
        return part_from_files(&ca->inter, ca->files[2], ca->files[3], "intermediate", err);
    if (ca->inter_lifetime >= (int64_t)difftime(ca->root.na, time(NULL)))
        return cc_err_set(err, "intermediate certificate lifetime must be less than actual root "
                               "certificate lifetime");
    int rc = part_load(ca, &ca->inter, "intermediate", err);
    if (rc == CC_ENOTFOUND || (rc == CC_OK && inter_due(ca, &ca->inter, time(NULL))))
        return gen_inter(ca, err);
    return rc;
}

static int with_lock(cc_ca *ca, int (*fn)(cc_ca *, cc_err *), cc_err *err)
{
    char *ln = lock_name(ca);
    cc_err e = {0};
    bool locked = ca->st->ops->lock(ca->st, ln, (int64_t)30000000000, &e) == CC_OK;
    /* a lock that cannot be had in 30 s (a stuck storage) does not stop the CA */
    int rc = fn(ca, err);
    if (locked)
        ca->st->ops->unlock(ca->st, ln, &e);
    free(ln);
    return rc;
}

cc_ca *cc_ca_open(cc_storage *st, const cc_ca_cfg *cfg, cc_err *err)
{
    cc_ca *ca = cc_xcalloc(1, sizeof(*ca));
    ca->st = st;
    ca->id = sdup(cfg->id, CC_CA_DEFAULT_ID);
    ca->name = sdup(cfg->name, "Caddy Local Authority");
    ca->root_cn = sdup(cfg->root_cn, "{pki.ca.name} - {time.now.year} ECC Root");
    ca->inter_cn = sdup(cfg->inter_cn, "{pki.ca.name} - ECC Intermediate");
    ca->inter_lifetime = cfg->inter_lifetime > 0 ? cfg->inter_lifetime : CC_CA_INTER_LIFETIME;
    ca->ratio = cfg->renewal_ratio > 0 && cfg->renewal_ratio <= 1 ? cfg->renewal_ratio : 0.2;
    const char *files[4] = {cfg->root_cert_file, cfg->root_key_file, cfg->inter_cert_file,
                            cfg->inter_key_file};
    for (int i = 0; i < 4; i++)
        ca->files[i] = files[i] && *files[i] ? cc_xstrdup(files[i]) : NULL;
    cc_err e = {0};
    if (with_lock(ca, load_or_gen, &e) != CC_OK) {
        cc_err_set(err, "CA %s: %s", ca->id, e.msg);
        cc_ca_free(ca);
        return NULL;
    }
    return ca;
}

static int maintain_locked(cc_ca *ca, cc_err *err)
{
    /* another instance may have renewed it meanwhile */
    ca_part p;
    int rc = part_load(ca, &p, "intermediate", err);
    if (rc == CC_OK) {
        if (!inter_due(ca, &p, time(NULL)) && p.na != ca->inter.na) {
            part_free(&ca->inter);
            ca->inter = p;
            return 1;
        }
        part_free(&p);
    } else if (rc != CC_ENOTFOUND) {
        return CC_ERR;
    }
    if (!inter_due(ca, &ca->inter, time(NULL)))
        return 0;
    return gen_inter(ca, err) == CC_OK ? 1 : CC_ERR;
}

int cc_ca_maintain(cc_ca *ca, cc_err *err)
{
    if (ca->files[2] || time(NULL) < cc_ca_renew_at(ca))
        return 0;
    return with_lock(ca, maintain_locked, err);
}

void cc_ca_free(cc_ca *ca)
{
    if (!ca)
        return;
    part_free(&ca->root);
    part_free(&ca->inter);
    for (int i = 0; i < 4; i++)
        free(ca->files[i]);
    free(ca->id);
    free(ca->name);
    free(ca->root_cn);
    free(ca->inter_cn);
    free(ca);
}

const char *cc_ca_root_pem(const cc_ca *ca)
{
    return ca->root.pem;
}

const char *cc_ca_inter_pem(const cc_ca *ca)
{
    return ca->inter.pem;
}

const char *cc_ca_id(const cc_ca *ca)
{
    return ca->id;
}

/* ---- leaves ---- */

static size_t der_len(unsigned char *out, size_t n)
{
    if (n < 0x80) {
        out[0] = (unsigned char)n;
        return 1;
    }
    if (n < 0x100) {
        out[0] = 0x81;
        out[1] = (unsigned char)n;
        return 2;
    }
    out[0] = 0x82;
    out[1] = (unsigned char)(n >> 8);
    out[2] = (unsigned char)n;
    return 3;
}

/* The SubjectAltName value: SEQUENCE of dNSName [2] and iPAddress [7]. */
static int build_sans(const char *const *names, size_t n, unsigned char *out, size_t cap,
                      size_t *outn, cc_err *err)
{
    size_t bodycap = cap - 4, o = 0;
    unsigned char *body = cc_xmalloc(bodycap);
    for (size_t i = 0; i < n; i++) {
        const char *nm = names[i];
        size_t nl = strlen(nm);
        char ipbuf[64];
        unsigned char ip[16];
        int iplen = 0;
        if (nl >= 2 && nm[0] == '[' && nm[nl - 1] == ']' && nl - 2 < sizeof(ipbuf)) {
            memcpy(ipbuf, nm + 1, nl - 2);
            ipbuf[nl - 2] = '\0';
        } else {
            snprintf(ipbuf, sizeof(ipbuf), "%s", nm);
        }
        if (inet_pton(AF_INET, ipbuf, ip) == 1)
            iplen = 4;
        else if (inet_pton(AF_INET6, ipbuf, ip) == 1)
            iplen = 16;
        const unsigned char *val = iplen ? ip : (const unsigned char *)nm;
        size_t vl = iplen ? (size_t)iplen : nl;
        if (vl == 0 || o + vl + 4 > bodycap) {
            free(body);
            return cc_err_set(err, vl ? "too many names for one certificate" : "empty name");
        }
        body[o++] = iplen ? 0x87 : 0x82;
        o += der_len(body + o, vl);
        memcpy(body + o, val, vl);
        o += vl;
    }
    out[0] = 0x30;
    size_t h = 1 + der_len(out + 1, o);
    memcpy(out + h, body, o);
    *outn = h + o;
    free(body);
    return CC_OK;
}

int cc_ca_issue(cc_ca *ca, const char *const *names, size_t n, cc_key_type kt, int64_t lifetime,
                bool sign_with_root, char **chain_pem, char **key_pem, cc_err *err)
{
    *chain_pem = *key_pem = NULL;
    if (n == 0)
        return cc_err_set(err, "no names to issue a certificate for");
    const ca_part *iss = sign_with_root ? &ca->root : &ca->inter;
    if (!iss->key)
        return cc_err_set(err, "CA %s: no private key to sign with", ca->id);
    cc_err e = {0};
    cc_key *k = cc_key_generate(kt, &e);
    if (!k)
        return cc_err_set(err, "%s", e.msg);
    Cert *c = wc_CertNew(NULL);
    if (!c) {
        cc_key_free(k);
        return cc_err_set(err, "out of memory");
    }
    wc_InitCert(c);
    c->selfSigned = 0;
    time_t now = time(NULL);
    time_t na = now + (time_t)(lifetime > 0 ? lifetime : CC_CA_LEAF_LIFETIME);
    if (na > iss->na)
        na = iss->na; /* a leaf never outlives its issuer */
    set_dates(c, now, na);
    size_t sn = 0;
    int rc = build_sans(names, n, c->altNames, sizeof(c->altNames), &sn, err);
    if (rc != CC_OK) {
        wc_CertFree(c);
        cc_key_free(k);
        return CC_ERR;
    }
    c->altNamesSz = (int)sn;
    c->altNamesCrit = 1; /* the subject is empty (RFC 5280 4.2.1.6) */
    rc = wc_SetIssuerBuffer(c, iss->ders[0].p, (int)iss->ders[0].n);
    if (rc == 0)
        rc = wc_SetKeyUsage(c, "digitalSignature");
    if (rc == 0)
        rc = wc_SetExtKeyUsage(c, "serverAuth,clientAuth");
    if (rc == 0)
        rc = wc_SetSubjectKeyIdFromPublicKey_ex(c, cc_key_wc_type(k), cc_key_wc(k));
    if (rc == 0 && wc_SetAuthKeyIdFromCert(c, iss->ders[0].p, (int)iss->ders[0].n) != 0)
        rc = wc_SetAuthKeyIdFromPublicKey_ex(c, cc_key_wc_type(iss->key), cc_key_wc(iss->key));
    if (rc != 0) {
        wc_CertFree(c);
        cc_key_free(k);
        return cc_err_set(err, "preparing certificate: wolfCrypt error %d", rc);
    }
    cc_der leaf = {0};
    rc = make_cert(c, k, iss->key, &leaf, err);
    wc_CertFree(c);
    if (rc != CC_OK) {
        cc_key_free(k);
        return CC_ERR;
    }
    size_t ln = 0;
    char *lpem = cc_pem_encode(leaf.p, leaf.n, "CERTIFICATE", &ln);
    free(leaf.p);
    if (!sign_with_root) {
        size_t in = strlen(ca->inter.pem);
        lpem = cc_xrealloc(lpem, ln + in + 1);
        memcpy(lpem + ln, ca->inter.pem, in + 1);
    }
    *key_pem = cc_key_to_pem(k, NULL);
    cc_key_free(k);
    if (!*key_pem) {
        free(lpem);
        return cc_err_set(err, "encoding private key");
    }
    *chain_pem = lpem;
    return CC_OK;
}
