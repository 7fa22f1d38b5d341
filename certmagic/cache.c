/* SPDX-License-Identifier: Apache-2.0
 * The certificate cache the TLS front reads on every handshake: a name index (exact
 * names, "*.x" wildcards and IP addresses, each naming one certificate) over the list of
 * certificates it holds, behind a read-write lock. Lookups take the read lock and a
 * reference, so a renewal can swap a certificate in while handshakes that picked the
 * old one still finish with it. A generation counter tells the front when to drop the
 * wolfSSL contexts it built for certificates that left. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cert_priv.h"

typedef struct ent {
    char *name;
    cc_cert *c;
    struct ent *next;
} ent;

typedef struct held {
    cc_cert *c;
    size_t nidx; /* index entries naming c; 0 = it serves nothing and leaves */
} held;

static pthread_rwlock_t mu = PTHREAD_RWLOCK_INITIALIZER;
static ent **buckets;
static size_t nbuckets, nents;
static held *certs; /* insertion order: "the first certificate" for ClientHellos without SNI */
static size_t ncerts, capcerts;
static char *default_sni;
static atomic_uint_fast64_t generation;

/* ---- references ---- */

void cc_cert_ref(cc_cert *c)
{
    if (c)
        atomic_fetch_add(&c->refs, 1);
}

void cc_cert_unref(cc_cert *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    cm_cert_box *b = (cm_cert_box *)c;
    /* keys do not linger in freed memory */
    if (c->key_pem)
        memset((char *)c->key_pem, 0, c->key_len);
    cc_arena_free(b->a);
}

uint64_t cc_certcache_generation(void)
{
    return atomic_load(&generation);
}

/* ---- the index (callers hold the lock) ---- */

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static ent **slot(const char *name)
{
    ent **pp = &buckets[hash(name) & (nbuckets - 1)];
    while (*pp && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    return pp;
}

static cc_cert *find(const char *name)
{
    if (!nbuckets)
        return NULL;
    ent *e = *slot(name);
    return e ? e->c : NULL;
}

static held *held_of(const cc_cert *c)
{
    for (size_t i = 0; i < ncerts; i++)
        if (certs[i].c == c)
            return &certs[i];
    return NULL;
}

static void grow_index(void)
{
    if (nbuckets && nents < nbuckets * 2)
        return;
    size_t nb = nbuckets ? nbuckets * 4 : 64;
    ent **nbk = cc_xcalloc(nb, sizeof(*nbk));
    for (size_t i = 0; i < nbuckets; i++) {
        ent *e = buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            ent **pp = &nbk[hash(e->name) & (nb - 1)];
            e->next = *pp;
            *pp = e;
        }
    }
    free(buckets);
    buckets = nbk;
    nbuckets = nb;
}

/* Points name at c; the certificate it named before loses one index entry. */
static void index_set(const char *name, cc_cert *c)
{
    grow_index();
    ent **pp = slot(name);
    if (*pp) {
        if ((*pp)->c == c)
            return;
        held *old = held_of((*pp)->c);
        if (old)
            old->nidx--;
        (*pp)->c = c;
    } else {
        ent *e = cc_xcalloc(1, sizeof(*e));
        e->name = cc_xstrdup(name);
        e->c = c;
        *pp = e;
        nents++;
    }
    held *h = held_of(c);
    if (h)
        h->nidx++;
}

static void index_drop_cert(const cc_cert *c)
{
    for (size_t i = 0; i < nbuckets; i++) {
        ent **pp = &buckets[i];
        while (*pp) {
            if ((*pp)->c == c) {
                ent *e = *pp;
                *pp = e->next;
                free(e->name);
                free(e);
                nents--;
            } else {
                pp = &(*pp)->next;
            }
        }
    }
}

/* Drops the certificates no name points at any more (the cache's reference). */
static void prune(void)
{
    size_t j = 0;
    for (size_t i = 0; i < ncerts; i++) {
        if (certs[i].nidx == 0)
            cc_cert_unref(certs[i].c);
        else
            certs[j++] = certs[i];
    }
    ncerts = j;
}

/* The key a name is indexed and looked up under: lower-case, no trailing dot, IPs in
 * canonical text. false when the name cannot be a key (empty, too long). */
static bool key_of(const char *name, char *out, size_t n)
{
    size_t len = name ? strlen(name) : 0;
    while (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len >= n)
        return false;
    memcpy(out, name, len);
    out[len] = 0;
    char canon[64];
    if (cm_ip_canon(out, canon, sizeof(canon))) {
        if (strlen(canon) >= n)
            return false;
        strcpy(out, canon);
        return true;
    }
    cm_lower(out);
    return true;
}

/* ---- lookups ---- */

/* Exact name, then the wildcard one label up ("a.b.c" -> "*.b.c"). */
static cc_cert *lookup(const char *key)
{
    cc_cert *c = find(key);
    if (c)
        return c;
    const char *dot = strchr(key, '.');
    if (!dot || key[0] == '*' || !dot[1])
        return NULL;
    char wild[300];
    size_t rest = strlen(dot);
    if (rest + 2 > sizeof(wild))
        return NULL;
    wild[0] = '*';
    memcpy(wild + 1, dot, rest + 1);
    return find(wild);
}

static bool has_ip_name(const cc_cert *c)
{
    unsigned char b[16];
    for (size_t i = 0; i < c->nnames; i++)
        if (inet_pton(AF_INET, c->names[i], b) == 1 || inet_pton(AF_INET6, c->names[i], b) == 1)
            return true;
    return false;
}

cc_cert *cc_certcache_get(const char *sni)
{
    char key[300];
    cc_cert *c = NULL;
    pthread_rwlock_rdlock(&mu);
    if (sni && *sni) {
        if (key_of(sni, key, sizeof(key)))
            c = lookup(key);
    } else if (default_sni) {
        c = lookup(default_sni);
    } else {
        for (size_t i = 0; i < ncerts && !c; i++)
            if (has_ip_name(certs[i].c) || !certs[i].c->managed)
                c = certs[i].c;
    }
    cc_cert_ref(c);
    pthread_rwlock_unlock(&mu);
    return c;
}

/* ---- publishing ---- */

void cc_certcache_put(cc_cert *c)
{
    if (!c)
        return;
    char key[300];
    pthread_rwlock_wrlock(&mu);
    if (!held_of(c)) {
        if (ncerts == capcerts) {
            capcerts = capcerts ? capcerts * 2 : 16;
            certs = cc_xrealloc(certs, capcerts * sizeof(*certs));
        }
        cc_cert_ref(c);
        certs[ncerts++] = (held){c, 0};
    }
    for (size_t i = 0; i < c->nnames; i++)
        if (key_of(c->names[i], key, sizeof(key)))
            index_set(key, c);
    /* a certificate with no usable name is not kept: nothing could select it */
    prune();
    atomic_fetch_add(&generation, 1);
    pthread_rwlock_unlock(&mu);
}

/* Whether c would be chosen for name by its own names (exact or wildcard). */
static bool serves(const cc_cert *c, const char *name)
{
    char key[300];
    if (!key_of(name, key, sizeof(key)))
        return false;
    const char *dot = strchr(key, '.');
    for (size_t i = 0; i < c->nnames; i++) {
        const char *n = c->names[i];
        if (strcmp(n, key) == 0)
            return true;
        if (n[0] == '*' && n[1] == '.' && dot && key[0] != '*' && strcmp(n + 1, dot) == 0)
            return true;
    }
    return false;
}

void cc_certcache_retain(const char *const *names, size_t n, bool keep_unmanaged)
{
    pthread_rwlock_wrlock(&mu);
    bool changed = false;
    for (size_t i = 0; i < ncerts; i++) {
        cc_cert *c = certs[i].c;
        if (!c->managed && keep_unmanaged)
            continue;
        bool keep = false;
        for (size_t k = 0; k < n && !keep; k++)
            keep = names[k] && serves(c, names[k]);
        if (!keep) {
            index_drop_cert(c);
            certs[i].nidx = 0;
            changed = true;
        }
    }
    if (changed) {
        prune();
        atomic_fetch_add(&generation, 1);
    }
    pthread_rwlock_unlock(&mu);
}

void cc_certcache_set_default_sni(const char *name)
{
    char key[300];
    pthread_rwlock_wrlock(&mu);
    free(default_sni);
    default_sni = name && key_of(name, key, sizeof(key)) ? cc_xstrdup(key) : NULL;
    atomic_fetch_add(&generation, 1);
    pthread_rwlock_unlock(&mu);
}

void cc_certcache_clear(void)
{
    pthread_rwlock_wrlock(&mu);
    for (size_t i = 0; i < nbuckets; i++) {
        ent *e = buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            free(e->name);
            free(e);
        }
    }
    free(buckets);
    buckets = NULL;
    nbuckets = nents = 0;
    for (size_t i = 0; i < ncerts; i++)
        cc_cert_unref(certs[i].c);
    free(certs);
    certs = NULL;
    ncerts = capcerts = 0;
    free(default_sni);
    default_sni = NULL;
    atomic_fetch_add(&generation, 1);
    pthread_rwlock_unlock(&mu);
}
