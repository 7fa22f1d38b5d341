/* SPDX-License-Identifier: Apache-2.0
 * The table of pending ACME challenges: written by the ACME client on the certmagic
 * thread, read by every worker (http-01 requests, tls-alpn-01 ClientHellos). A short
 * mutex-held scan is enough: a handful of entries exist only while an authorization is
 * being validated. Identifiers are compared case-insensitively and without brackets
 * or a trailing dot; a tls-alpn-01 SNI of an IP identifier arrives in its reverse-DNS
 * form (RFC 8738 6: "4.3.2.1.in-addr.arpa") and is mapped back. */
#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme_challenge.h"
#include "cert_priv.h"

typedef struct chal {
    struct chal *next;
    char *ident;
    char *token;    /* http-01 only */
    char *key_auth; /* http-01 only */
    cc_cert *cert;  /* tls-alpn-01 only */
} chal;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* ids of challenge certificates: a range of their own, apart from cert_pem.c's counter,
 * since the TLS front caches its contexts by id */
static atomic_uint_fast64_t next_id = (uint64_t)1 << 62;
static chal *head; /* newest first */

/* Canonical identifier into out (cap bytes): lower case, no brackets, no trailing dot.
 * False when it does not fit. */
static bool canon(const char *in, char *out, size_t cap)
{
    if (!in)
        return false;
    size_t n = strlen(in);
    if (n >= 2 && in[0] == '[' && in[n - 1] == ']') {
        in++;
        n -= 2;
    }
    if (n && in[n - 1] == '.')
        n--;
    if (n == 0 || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[n] = '\0';
    return true;
}

/* "4.3.2.1.in-addr.arpa" -> "1.2.3.4", and the nibble form of ip6.arpa -> the IPv6
 * literal as inet_ntop writes it (identifiers are canonicalised the same way). */
static bool reverse_dns_to_ip(const char *s, char *out, size_t cap)
{
    size_t n = strlen(s);
    static const char v4[] = ".in-addr.arpa", v6[] = ".ip6.arpa";
    if (n > sizeof(v4) - 1 && !strcmp(s + n - (sizeof(v4) - 1), v4)) {
        unsigned b[4];
        int used = 0;
        if (sscanf(s, "%u.%u.%u.%u%n", &b[0], &b[1], &b[2], &b[3], &used) != 4 ||
            (size_t)used != n - (sizeof(v4) - 1) || b[0] > 255 || b[1] > 255 || b[2] > 255 ||
            b[3] > 255)
            return false;
        snprintf(out, cap, "%u.%u.%u.%u", b[3], b[2], b[1], b[0]);
        return true;
    }
    if (n == 63 + sizeof(v6) - 1 && !strcmp(s + 63, v6)) {
        unsigned char a[16] = {0};
        for (int i = 0; i < 32; i++) { /* 32 nibbles and their dots, then ".ip6.arpa" */
            char c = s[2 * i];
            if (s[2 * i + 1] != '.')
                return false;
            int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (v < 0)
                return false;
            int pos = 31 - i; /* nibbles are least significant first */
            if (pos % 2)
                a[pos / 2] = (unsigned char)((a[pos / 2] & 0xF0) | v);
            else
                a[pos / 2] = (unsigned char)((a[pos / 2] & 0x0F) | v << 4);
        }
        return inet_ntop(AF_INET6, a, out, (socklen_t)cap) != NULL;
    }
    return false;
}

/* IPv6 identifiers are stored as inet_ntop writes them, so that "::0001" and "::1"
 * meet. */
static void canon_ip(char *s, size_t cap)
{
    unsigned char a[16];
    if (strchr(s, ':') && inet_pton(AF_INET6, s, a) == 1)
        inet_ntop(AF_INET6, a, s, (socklen_t)cap);
}

static void chal_free(chal *c)
{
    free(c->ident);
    free(c->token);
    free(c->key_auth);
    if (c->cert)
        cc_cert_unref(c->cert);
    free(c);
}

static int put(const char *identifier, const char *token, const char *key_auth, cc_cert *cert)
{
    char id[256];
    if (!canon(identifier, id, sizeof(id)))
        return CC_EINVAL;
    canon_ip(id, sizeof(id));
    chal *c = calloc(1, sizeof(*c));
    if (!c)
        return CC_ENOMEM;
    c->ident = strdup(id);
    c->token = token ? strdup(token) : NULL;
    c->key_auth = key_auth ? strdup(key_auth) : NULL;
    if (!c->ident || (token && !c->token) || (key_auth && !c->key_auth)) {
        chal_free(c);
        return CC_ENOMEM;
    }
    if (cert) {
        cc_cert_ref(cert);
        c->cert = cert;
    }
    pthread_mutex_lock(&mu);
    c->next = head;
    head = c;
    pthread_mutex_unlock(&mu);
    return CC_OK;
}

/* Removes the first entry matching identifier and (token or cert). */
static void del(const char *identifier, const char *token, const cc_cert *cert)
{
    char id[256];
    if (!canon(identifier, id, sizeof(id)))
        return;
    canon_ip(id, sizeof(id));
    chal *gone = NULL;
    pthread_mutex_lock(&mu);
    for (chal **pp = &head; *pp; pp = &(*pp)->next) {
        chal *c = *pp;
        if (strcmp(c->ident, id) != 0)
            continue;
        if (token ? (c->token && !strcmp(c->token, token)) : (c->cert && c->cert == cert)) {
            *pp = c->next;
            gone = c;
            break;
        }
    }
    pthread_mutex_unlock(&mu);
    if (gone)
        chal_free(gone); /* the unref may free a certificate: outside the lock */
}

int cc_challenge_put_http01(const char *identifier, const char *token, const char *key_auth)
{
    if (!token || !key_auth)
        return CC_EINVAL;
    return put(identifier, token, key_auth, NULL);
}

void cc_challenge_del_http01(const char *identifier, const char *token)
{
    if (token)
        del(identifier, token, NULL);
}

int cc_challenge_put_alpn01(const char *identifier, cc_cert *c)
{
    if (!c)
        return CC_EINVAL;
    return put(identifier, NULL, NULL, c);
}

void cc_challenge_del_alpn01(const char *identifier, cc_cert *c)
{
    if (c)
        del(identifier, NULL, c);
}

/* wolfSSL's X.509 parser refuses certificates with an unknown critical extension
 * (ASN_CRIT_EXT_E), which the acmeIdentifier is, so cc_cert_from_pem cannot take the
 * challenge certificate; the TLS front's wolfSSL_CTX_use_certificate_buffer loads it.
 * It is boxed here as cert_pem.c boxes certificates, so cc_cert_unref frees it. */
cc_cert *cc_challenge_cert(const char *identifier, const char *cert_pem, const char *key_pem,
                           time_t not_before, time_t not_after)
{
    char id[256];
    if (!canon(identifier, id, sizeof(id)) || !cert_pem || !key_pem)
        return NULL;
    canon_ip(id, sizeof(id));
    cc_arena *a = cc_arena_new(4096);
    if (!a)
        return NULL;
    cm_cert_box *b = cc_arena_alloc(a, sizeof(*b));
    const char **names = cc_arena_alloc(a, sizeof(*names));
    if (!b || !names) {
        cc_arena_free(a);
        return NULL;
    }
    memset(b, 0, sizeof(*b));
    b->a = a;
    cc_cert *c = &b->c;
    atomic_init(&c->refs, 1);
    c->id = atomic_fetch_add(&next_id, 1);
    names[0] = cc_arena_strdup(a, id);
    c->names = names;
    c->nnames = 1;
    c->chain_pem = cc_arena_strdup(a, cert_pem);
    c->chain_len = strlen(cert_pem);
    c->key_pem = cc_arena_strdup(a, key_pem);
    c->key_len = strlen(key_pem);
    c->not_before = not_before;
    c->not_after = not_after;
    c->issuer_key = "acme-tls-alpn-01";
    c->managed = false;
    if (!names[0] || !c->chain_pem || !c->key_pem) {
        cc_arena_free(a);
        return NULL;
    }
    return c;
}

size_t cc_challenge_count(void)
{
    size_t n = 0;
    pthread_mutex_lock(&mu);
    for (chal *c = head; c; c = c->next)
        n++;
    pthread_mutex_unlock(&mu);
    return n;
}

/* host without a port: "a.test:80" -> "a.test", "[::1]:80" -> "[::1]"; a bare IPv6
 * literal (several colons) is left alone. */
static void strip_port(const char *host, char *out, size_t cap)
{
    snprintf(out, cap, "%s", host);
    char *last = strrchr(out, ':');
    if (!last)
        return;
    if (out[0] == '[') {
        char *rb = strchr(out, ']');
        if (rb && rb + 1 == last)
            *last = '\0';
    } else if (strchr(out, ':') == last) {
        *last = '\0';
    }
}

char *cc_challenge_http01(const char *host, const char *token)
{
    char id[256], h[256];
    if (!token || !*token || !host)
        return NULL;
    strip_port(host, h, sizeof(h));
    if (!canon(h, id, sizeof(id)))
        return NULL;
    canon_ip(id, sizeof(id));
    char *out = NULL;
    pthread_mutex_lock(&mu);
    for (chal *c = head; c; c = c->next) {
        if (c->token && !strcmp(c->token, token) && !strcmp(c->ident, id)) {
            out = strdup(c->key_auth);
            break;
        }
    }
    pthread_mutex_unlock(&mu);
    return out;
}

cc_cert *cc_challenge_alpn01(const char *sni)
{
    char id[256], ip[64];
    if (!canon(sni, id, sizeof(id)))
        return NULL;
    if (reverse_dns_to_ip(id, ip, sizeof(ip)))
        snprintf(id, sizeof(id), "%s", ip);
    canon_ip(id, sizeof(id));
    cc_cert *out = NULL;
    pthread_mutex_lock(&mu);
    for (chal *c = head; c; c = c->next) {
        if (c->cert && !strcmp(c->ident, id)) {
            cc_cert_ref(c->cert);
            out = c->cert;
            break;
        }
    }
    pthread_mutex_unlock(&mu);
    return out;
}
