/* SPDX-License-Identifier: Apache-2.0
 * certmagic's rules for names (SubjectQualifiesForCert, SubjectQualifiesForPublicCert,
 * SubjectIsInternal, MatchWildcard) and the plan helpers that use them: which policy
 * serves a name, and a deep copy of a plan for the manager. */
#include "autohttps.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

bool cc_ah_qualifies_for_cert(const char *s)
{
    const char *t = s;
    while (isspace((unsigned char)*t))
        t++;
    if (!*t)
        return false;
    size_t n = strlen(s);
    if (s[0] == '.' || s[n - 1] == '.')
        return false;
    if (strchr(s, '*') && strncmp(s, "*.", 2) != 0 && strcmp(s, "*") != 0)
        return false;
    return strpbrk(s, "()[]{}<> \t\n\"\\!@#$%^&|;'+=") == NULL;
}

/* "[::1]" or "::1" -> the address bytes. */
static int parse_ip(const char *s, unsigned char out[16])
{
    char buf[64];
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
        s++, n -= 2;
    if (n >= sizeof(buf))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, out) == 1)
        return 4;
    if (inet_pton(AF_INET6, buf, out) == 1)
        return 16;
    return 0;
}

bool cc_ah_is_ip(const char *s)
{
    unsigned char b[16];
    return parse_ip(s, b) != 0;
}

static bool has_suffix_ci(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n >= k && strncasecmp(s + n - k, suf, k) == 0;
}

/* certmagic's private networks; its "::1/7" covers 0000::/7 (IPv4-mapped addresses are
 * judged as IPv4, as Go's ParseIP does). */
static bool internal_ip(const unsigned char *b, int len)
{
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (len == 16 && memcmp(b, v4mapped, 12) == 0) {
        b += 12;
        len = 4;
    }
    if (len == 4)
        return b[0] == 127 || (b[0] == 0 && b[1] == 0) || b[0] == 10 ||
               (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
               (b[0] == 169 && b[1] == 254);
    return (b[0] & 0xfe) == 0 || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || (b[0] & 0xfe) == 0xfc;
}

bool cc_ah_is_internal(const char *s)
{
    /* hostOnly: drop a port ("localhost:8443"), keep IPv6 literals whole */
    char host[256];
    const char *colon = strrchr(s, ':');
    size_t n = strlen(s);
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        n = rb ? (size_t)(rb - s + 1) : n;
    } else if (colon && strchr(s, ':') == colon) {
        n = (size_t)(colon - s);
    }
    if (n >= sizeof(host))
        return false;
    memcpy(host, s, n);
    host[n] = '\0';
    if (n && host[n - 1] == '.')
        host[--n] = '\0';
    if (strcasecmp(host, "localhost") == 0 || has_suffix_ci(host, n, ".localhost") ||
        has_suffix_ci(host, n, ".local") || has_suffix_ci(host, n, ".internal") ||
        has_suffix_ci(host, n, ".home.arpa"))
        return true;
    unsigned char b[16];
    int len = parse_ip(host, b);
    return len && internal_ip(b, len);
}

bool cc_ah_qualifies_for_public_cert(const char *s)
{
    if (!cc_ah_qualifies_for_cert(s) || cc_ah_is_internal(s))
        return false;
    if (!strchr(s, '*'))
        return true;
    size_t stars = 0, dots = 0;
    for (const char *p = s; *p; p++)
        stars += *p == '*', dots += *p == '.';
    return stars == 1 && dots > 1 && strlen(s) > 2 && strncmp(s, "*.", 2) == 0;
}

bool cc_ah_match_wildcard(const char *subject, const char *pattern)
{
    if (strcasecmp(subject, pattern) == 0)
        return true;
    if (!strchr(pattern, '*'))
        return false;
    size_t sn = strlen(subject), pn = strlen(pattern);
    /* replace each non-empty label of subject in turn with '*' and compare */
    for (size_t start = 0; start <= sn;) {
        size_t end = start;
        while (end < sn && subject[end] != '.')
            end++;
        if (end > start) {
            size_t cn = start + 1 + (sn - end);
            if (cn == pn && strncasecmp(subject, pattern, start) == 0 && pattern[start] == '*' &&
                strncasecmp(subject + end, pattern + start + 1, sn - end) == 0)
                return true;
        }
        start = end + 1;
    }
    return false;
}

const cc_ah_policy *cc_ah_policy_for(const cc_autohttps *p, const char *name)
{
    for (size_t i = 0; i < p->npolicies; i++) {
        const cc_ah_policy *pol = &p->policies[i];
        if (pol->nsubjects == 0)
            return pol;
        for (size_t k = 0; k < pol->nsubjects; k++)
            if (cc_ah_match_wildcard(name, pol->subjects[k]))
                return pol;
    }
    return NULL;
}

static const char *dup(cc_arena *a, const char *s)
{
    return s ? cc_arena_strdup(a, s) : NULL;
}

static const char **dup_list(cc_arena *a, const char *const *v, size_t n)
{
    const char **out = cc_arena_alloc(a, (n ? n : 1) * sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[i] = dup(a, v[i]);
    return out;
}

cc_autohttps *cc_ah_clone(cc_arena *a, const cc_autohttps *p)
{
    cc_autohttps *c = cc_arena_alloc(a, sizeof(*c));
    *c = *p;
    c->names = cc_arena_alloc(a, (p->nnames ? p->nnames : 1) * sizeof(*c->names));
    for (size_t i = 0; i < p->nnames; i++)
        c->names[i] = (cc_ah_name){dup(a, p->names[i].name), p->names[i].policy};
    c->policies = cc_arena_alloc(a, (p->npolicies ? p->npolicies : 1) * sizeof(*c->policies));
    for (size_t i = 0; i < p->npolicies; i++) {
        const cc_ah_policy *sp = &p->policies[i];
        cc_ah_policy *dp = &c->policies[i];
        *dp = *sp;
        dp->subjects = dup_list(a, sp->subjects, sp->nsubjects);
        dp->key_type = dup(a, sp->key_type);
        dp->issuers = cc_arena_alloc(a, (sp->nissuers ? sp->nissuers : 1) * sizeof(*dp->issuers));
        for (size_t k = 0; k < sp->nissuers; k++) {
            const cc_ah_issuer *si = &sp->issuers[k];
            cc_ah_issuer *di = &dp->issuers[k];
            *di = *si;
            di->ca = dup(a, si->ca);
            di->directory = dup(a, si->directory);
            di->email = dup(a, si->email);
            di->eab_key_id = dup(a, si->eab_key_id);
            di->eab_mac_key = dup(a, si->eab_mac_key);
            di->ca_root = dup(a, si->ca_root);
        }
    }
    c->loaded = cc_arena_alloc(a, (p->nloaded ? p->nloaded : 1) * sizeof(*c->loaded));
    for (size_t i = 0; i < p->nloaded; i++) {
        const cc_ah_loaded *sl = &p->loaded[i];
        c->loaded[i] =
            (cc_ah_loaded){dup(a, sl->chain_pem), dup(a, sl->key_pem), dup(a, sl->origin),
                           dup_list(a, sl->names, sl->nnames), sl->nnames};
    }
    c->cas = cc_arena_alloc(a, (p->ncas ? p->ncas : 1) * sizeof(*c->cas));
    for (size_t i = 0; i < p->ncas; i++) {
        const cc_ca_cfg *s = &p->cas[i];
        c->cas[i] = *s;
        c->cas[i].id = dup(a, s->id);
        c->cas[i].name = dup(a, s->name);
        c->cas[i].root_cn = dup(a, s->root_cn);
        c->cas[i].inter_cn = dup(a, s->inter_cn);
        c->cas[i].root_cert_file = dup(a, s->root_cert_file);
        c->cas[i].root_key_file = dup(a, s->root_key_file);
        c->cas[i].inter_cert_file = dup(a, s->inter_cert_file);
        c->cas[i].inter_key_file = dup(a, s->inter_key_file);
    }
    c->default_sni = dup(a, p->default_sni);
    return c;
}
