/* SPDX-License-Identifier: Apache-2.0
 * Everything the adapter emits besides apps.http (Caddy's buildTLSApp, buildPKIApp and
 * the tail of ServerType.Setup): TLS automation policies with their issuers, manual
 * certificate loaders, PKI authorities, global and per-site loggers, admin and storage.
 * The rules follow Caddy 2.11 closely, including how policies are consolidated. */
#include "optutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- subject classification (certmagic) ---- */

static bool qualifies_for_cert(const char *s)
{
    bool blank = true;
    for (const char *p = s; *p; p++)
        if (!isspace((unsigned char)*p))
            blank = false;
    size_t n = strlen(s);
    if (blank || s[0] == '.' || s[n - 1] == '.')
        return false;
    if (strchr(s, '*') && strncmp(s, "*.", 2) != 0 && strcmp(s, "*") != 0)
        return false;
    return strpbrk(s, "()[]{}<> \t\n\"\\!@#$%^&|;'+=") == NULL;
}

static bool subject_is_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static bool is_internal_ip(const char *s)
{
    unsigned char b[16];
    if (inet_pton(AF_INET, s, b) == 1) {
        return b[0] == 127 || (b[0] == 0 && b[1] == 0) || b[0] == 10 ||
               (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
               (b[0] == 169 && b[1] == 254);
    }
    if (inet_pton(AF_INET6, s, b) == 1)
        return b[0] < 2 || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || (b[0] & 0xfe) == 0xfc;
    return false;
}

static bool has_suffix_ci(const char *s, size_t n, const char *suf)
{
    size_t m = strlen(suf);
    return n >= m && strncasecmp(s + n - m, suf, m) == 0;
}

static bool subject_is_internal(const char *s)
{
    size_t n = strlen(s);
    if (n && s[n - 1] == '.')
        n--;
    if ((n == 9 && strncasecmp(s, "localhost", 9) == 0) || has_suffix_ci(s, n, ".localhost") ||
        has_suffix_ci(s, n, ".local") || has_suffix_ci(s, n, ".internal") ||
        has_suffix_ci(s, n, ".home.arpa"))
        return true;
    char tmp[256];
    if (n >= sizeof(tmp))
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return is_internal_ip(tmp);
}

static size_t count_str(const char *s, const char *sub)
{
    size_t c = 0, m = strlen(sub);
    for (const char *p = s; (p = strstr(p, sub)); p += m)
        c++;
    return c;
}

static bool qualifies_for_public_cert(const char *s)
{
    return qualifies_for_cert(s) && !subject_is_internal(s) &&
           (!strchr(s, '*') || (count_str(s, "*") == 1 && count_str(s, ".") > 1 && strlen(s) > 2 &&
                                strncmp(s, "*.", 2) == 0));
}

static bool is_tailscale(const char *s)
{
    return has_suffix_ci(s, strlen(s), ".ts.net");
}

static bool match_wildcard(cc_arena *a, const char *subject, const char *wildcard)
{
    if (strcasecmp(subject, wildcard) == 0)
        return true;
    if (!strchr(wildcard, '*'))
        return false;
    /* certmagic replaces each non-empty label by "*" in turn, cumulatively, and
     * compares the joined result */
    size_t n = strlen(subject), nlabels = 1;
    for (size_t i = 0; i < n; i++)
        nlabels += subject[i] == '.';
    char **labels = cc_arena_alloc(a, nlabels * sizeof(*labels));
    const char *p = subject;
    for (size_t i = 0; i < nlabels; i++) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        labels[i] = cc_arena_strndup(a, p, l);
        for (char *c = labels[i]; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        p = dot ? dot + 1 : p + l;
    }
    char *cand = cc_arena_alloc(a, n + nlabels + 2);
    for (size_t i = 0; i < nlabels; i++) {
        if (!labels[i][0])
            continue;
        labels[i] = "*";
        cand[0] = '\0';
        for (size_t k = 0; k < nlabels; k++) {
            if (k)
                strcat(cand, ".");
            strcat(cand, labels[k]);
        }
        if (strcasecmp(cand, wildcard) == 0)
            return true;
    }
    return false;
}

/* ---- automation policies ---- */

typedef struct ap {
    cc_cfg *subjects;    /* ARR or NULL (Go's nil) */
    cc_cfg *issuers;     /* issuer objects (shared like Go pointers) or NULL */
    cc_cfg *issuers_raw; /* encoded issuers or NULL */
    cc_cfg *managers;    /* ARR or NULL */
    const char *key_type;
    const cc_cfg *key_type_at; /* the option's node, for its file:line */
    bool on_demand, reuse_keys, no_ocsp;
    double ratio;
} ap;

typedef struct tls_build {
    cc_adapt *ad;
    cc_arena *a;
    cc_cfg *opts;
    CC_VEC(ap *) aps;
    bool automation; /* Go's tlsApp.Automation != nil */
} tls_build;

static cc_cfg *opt(tls_build *b, const char *name)
{
    return cc_cfg_get(b->opts, name);
}

static bool has_opt(tls_build *b, const char *name)
{
    return cc_cfg_get(b->opts, name) != NULL;
}

static ap *ap_new(tls_build *b)
{
    return cc_arena_alloc(b->a, sizeof(ap));
}

static size_t len(const cc_cfg *v)
{
    return cc_cfg_len(v);
}

static bool nil_equal(const cc_cfg *x, const cc_cfg *y)
{
    if (!x || !y)
        return x == y;
    return cc_cfg_equal(x, y);
}

static bool ap_equal(const ap *x, const ap *y)
{
    return nil_equal(x->subjects, y->subjects) && nil_equal(x->issuers, y->issuers) &&
           nil_equal(x->issuers_raw, y->issuers_raw) && nil_equal(x->managers, y->managers) &&
           strcmp(x->key_type ? x->key_type : "", y->key_type ? y->key_type : "") == 0 &&
           x->on_demand == y->on_demand && x->reuse_keys == y->reuse_keys &&
           x->no_ocsp == y->no_ocsp && x->ratio == y->ratio;
}

static cc_cfg *challenges(cc_arena *a, cc_cfg *iss)
{
    return cc_cfg_child_obj(a, iss, "challenges");
}

/* Caddy's fillInGlobalACMEDefaults, on an issuer object in place. */
static int fill_acme_defaults(tls_build *b, cc_cfg *iss)
{
    cc_arena *a = b->a;
    if (!cc_cf_issuer_is_acme(iss))
        return CC_OK;
    const char *email = cc_cfg_get_str(b->opts, "email");
    const char *ca = cc_cfg_get_str(b->opts, "acme_ca");
    const char *ca_root = cc_cfg_get_str(b->opts, "acme_ca_root");
    if (email && !(cc_cfg_get_str(iss, "email") && *cc_cfg_get_str(iss, "email")))
        cc_cfg_set_str(a, iss, "email", email);
    if (ca && !(cc_cfg_get_str(iss, "ca") && *cc_cfg_get_str(iss, "ca")))
        cc_cfg_set_str(a, iss, "ca", ca);
    if (ca_root) {
        cc_cfg *roots = cc_cfg_get(iss, "trusted_roots_pem_files");
        if (!cc_cfg_arr_has_str(roots, ca_root))
            cc_cfg_push_str(a, cc_cfg_child_arr(a, iss, "trusted_roots_pem_files"), ca_root);
    }
    cc_cfg *ch = cc_cfg_get(iss, "challenges");
    cc_cfg *dns = ch ? cc_cfg_get(ch, "dns") : NULL;
    if (has_opt(b, "acme_dns") && !(dns && cc_cfg_get(dns, "provider"))) {
        cc_cfg *acme_dns = opt(b, "acme_dns");
        cc_cfg *global_dns = opt(b, "dns");
        if ((!global_dns || global_dns->type == CC_CFG_NULL) && acme_dns->type == CC_CFG_NULL)
            return cc_err_set(b->ad->err,
                              "acme_dns specified without DNS provider config, but no provider "
                              "specified with 'dns' global option");
        ch = challenges(a, iss);
        dns = cc_cfg_child_obj(a, ch, "dns");
        if (acme_dns->type != CC_CFG_NULL && !cc_cfg_get(dns, "provider"))
            cc_cfg_set(a, dns, "provider", cc_cfg_clone(a, acme_dns));
    }
    if (has_opt(b, "acme_eab") && !cc_cfg_get(iss, "external_account"))
        cc_cfg_set(a, iss, "external_account", cc_cfg_clone(a, opt(b, "acme_eab")));
    if (has_opt(b, "preferred_chains") && !cc_cfg_get(iss, "preferred_chains"))
        cc_cfg_set(a, iss, "preferred_chains", cc_cfg_clone(a, opt(b, "preferred_chains")));
    static const struct {
        const char *opt, *chal;
    } ports[] = {{"http_port", "http"}, {"https_port", "tls-alpn"}};
    for (size_t i = 0; i < 2; i++) {
        cc_cfg *port = opt(b, ports[i].opt);
        ch = cc_cfg_get(iss, "challenges");
        cc_cfg *c = ch ? cc_cfg_get(ch, ports[i].chal) : NULL;
        if (port && !(ch && cc_cfg_get(ch, "dns")) && !(c && cc_cfg_get(c, "alternate_port"))) {
            c = cc_cfg_child_obj(a, challenges(a, iss), ports[i].chal);
            if (port->i)
                cc_cfg_set_int(a, c, "alternate_port", port->i);
        }
    }
    ch = cc_cfg_get(iss, "challenges");
    const char *bind_host = ch ? cc_cfg_get_str(ch, "bind_host") : NULL;
    if (!ch || (!cc_cfg_get(ch, "dns") && !(bind_host && *bind_host))) {
        cc_cfg *binds = opt(b, "default_bind");
        if (len(binds)) {
            const char *host = cc_cfg_idx(binds, 0)->s.p;
            ch = challenges(a, iss);
            if (*host)
                cc_cfg_set_str(a, ch, "bind_host", host);
            else
                cc_cfg_del(ch, "bind_host");
        }
    }
    cc_cfg *lifetime = opt(b, "cert_lifetime");
    cc_cfg *cur_life = cc_cfg_get(iss, "certificate_lifetime");
    if (lifetime && !(cur_life && cur_life->i) && lifetime->i)
        cc_cfg_set_int(a, iss, "certificate_lifetime", lifetime->i);
    cc_cfg *resolvers = opt(b, "tls_resolvers");
    ch = cc_cfg_get(iss, "challenges");
    dns = ch ? cc_cfg_get(ch, "dns") : NULL;
    if (resolvers && dns && (has_opt(b, "acme_dns") || cc_cfg_get(dns, "provider")) &&
        len(cc_cfg_get(dns, "resolvers")) == 0)
        cc_cfg_set(a, dns, "resolvers", cc_cfg_clone(a, resolvers));
    return CC_OK;
}

/* Caddy's newBaseAutomationPolicy; *out is NULL when there is nothing global and
 * always is false. */
static int base_policy(tls_build *b, bool always, ap **out)
{
    *out = NULL;
    bool has_issuers = has_opt(b, "cert_issuer"), local = has_opt(b, "local_certs");
    bool has_key_type = has_opt(b, "key_type"), ocsp = has_opt(b, "ocsp_stapling");
    bool ratio = has_opt(b, "renewal_window_ratio");
    bool global_auto = has_issuers || local || has_key_type || ocsp || ratio;
    bool acme_defaults = has_opt(b, "acme_ca") || has_opt(b, "acme_ca_root") ||
                         has_opt(b, "acme_dns") || has_opt(b, "acme_eab") ||
                         has_opt(b, "preferred_chains");
    if (!global_auto && !acme_defaults) {
        if (always)
            *out = ap_new(b);
        return CC_OK;
    }
    ap *p = ap_new(b);
    if (has_key_type) {
        p->key_type = cc_cfg_get_str(b->opts, "key_type");
        p->key_type_at = cc_cfg_get(b->opts, "key_type");
    }
    if (has_issuers && local)
        return cc_err_set(b->ad->err,
                          "global options are ambiguous: local_certs is confusing when combined "
                          "with cert_issuer, because local_certs is also a specific kind of "
                          "issuer");
    if (has_issuers) {
        p->issuers = opt(b, "cert_issuer");
    } else if (local) {
        p->issuers = cc_cfg_arr(b->a);
        cc_cfg *internal = cc_cfg_obj(b->a);
        cc_cfg_set_str(b->a, internal, "module", "internal");
        cc_cfg_push(b->a, p->issuers, internal);
    }
    if (acme_defaults)
        for (size_t i = 0; i < len(p->issuers); i++)
            if (fill_acme_defaults(b, cc_cfg_idx(p->issuers, i)) != CC_OK) {
                char msg[1024];
                snprintf(msg, sizeof(msg), "%s", b->ad->err->msg);
                cc_err_clear(b->ad->err);
                return cc_err_set(b->ad->err,
                                  "filling in global issuer defaults for issuer %zu: %s", i, msg);
            }
    if (ocsp)
        p->no_ocsp = true;
    if (ratio)
        p->ratio = opt(b, "renewal_window_ratio")->d;
    *out = p;
    return CC_OK;
}

static bool subject_public_for(const ap *p, const char *s)
{
    return !subject_is_ip(s) && !subject_is_internal(s) && (count_str(s, "*.") < 2 || p->on_demand);
}

static bool is_subset(tls_build *b, const ap *x, const ap *y)
{
    if (len(y->subjects) == 0)
        return true;
    if (len(x->subjects) == 0)
        return false;
    for (size_t i = 0; i < len(x->subjects); i++) {
        bool in = false;
        for (size_t j = 0; j < len(y->subjects) && !in; j++)
            in = match_wildcard(b->a, cc_cfg_idx(x->subjects, i)->s.p,
                                cc_cfg_idx(y->subjects, j)->s.p);
        if (!in)
            return false;
    }
    return true;
}

static int shadows(tls_build *b, size_t i)
{
    for (size_t j = i + 1; j < b->aps.n; j++)
        if (is_subset(b, b->aps.v[i], b->aps.v[j]))
            return (int)j;
    return -1;
}

static const char *implicit_class(const ap *p)
{
    if (len(p->subjects) == 0)
        return "catch-all";
    bool pub = false, internal = false;
    for (size_t i = 0; i < len(p->subjects); i++) {
        if (subject_public_for(p, cc_cfg_idx(p->subjects, i)->s.p))
            pub = true;
        else
            internal = true;
    }
    return pub && internal ? "mixed" : pub ? "public" : "internal";
}

static bool uses_default_internal(const ap *p)
{
    if (len(p->issuers_raw) == 0 && len(p->issuers) == 0)
        return strcmp(implicit_class(p), "internal") == 0;
    if (len(p->issuers_raw) != 1 || len(p->issuers) != 0)
        return false;
    cc_cfg *iss = cc_cfg_idx(p->issuers_raw, 0);
    return iss->type == CC_CFG_OBJ && iss->obj.n == 1 &&
           strcmp(cc_cfg_get_str(iss, "module") ? cc_cfg_get_str(iss, "module") : "", "internal") ==
               0;
}

static bool same_issuers(const ap *x, const ap *y)
{
    if (nil_equal(x->issuers_raw, y->issuers_raw)) {
        if (len(x->issuers_raw) || len(x->issuers) || len(y->issuers_raw) || len(y->issuers))
            return true;
        const char *cx = implicit_class(x), *cy = implicit_class(y);
        return strcmp(cx, "catch-all") == 0 || strcmp(cy, "catch-all") == 0 || strcmp(cx, cy) == 0;
    }
    return uses_default_internal(x) && uses_default_internal(y);
}

static bool ap_less(tls_build *b, const ap *x, const ap *y)
{
    if (is_subset(b, x, y))
        return true;
    if (is_subset(b, y, x))
        return false;
    return len(x->subjects) > len(y->subjects);
}

static void ap_delete(tls_build *b, size_t i)
{
    memmove(&b->aps.v[i], &b->aps.v[i + 1], (b->aps.n - i - 1) * sizeof(ap *));
    b->aps.n--;
}

/* True when p has nothing set besides subjects (and the given managers). */
static bool only_subjects(const ap *p, const cc_cfg *subjects, const cc_cfg *managers)
{
    ap e = {0};
    e.subjects = (cc_cfg *)subjects;
    e.managers = (cc_cfg *)managers;
    return ap_equal(p, &e);
}

/* Caddy's consolidateAutomationPolicies. Returns false when every policy was empty. */
static bool consolidate(tls_build *b)
{
    /* sort.SliceStable: insertion sort, as Go does for short slices */
    for (size_t i = 1; i < b->aps.n; i++)
        for (size_t j = i; j > 0 && ap_less(b, b->aps.v[j], b->aps.v[j - 1]); j--) {
            ap *t = b->aps.v[j];
            b->aps.v[j] = b->aps.v[j - 1];
            b->aps.v[j - 1] = t;
        }
    size_t empty_count = 0, orig = b->aps.n;
    for (long i = 0; i < (long)b->aps.n; i++) {
        ap *p = b->aps.v[i];
        if (!only_subjects(p, p->subjects, NULL))
            continue;
        empty_count++;
        int sh = shadows(b, (size_t)i);
        bool del = i == (long)b->aps.n - 1;
        if (!del && sh >= 0)
            del = only_subjects(b->aps.v[sh], b->aps.v[sh]->subjects, b->aps.v[sh]->managers);
        if (del) {
            ap_delete(b, (size_t)i);
            i--;
        }
    }
    if (empty_count == orig) {
        b->aps.n = 0;
        return false;
    }
    for (long i = 0; i < (long)b->aps.n; i++) {
        bool restart = false;
        for (long j = i + 1; j < (long)b->aps.n && !restart; j++) {
            ap *x = b->aps.v[i], *y = b->aps.v[j];
            if (ap_equal(x, y)) {
                ap_delete(b, (size_t)j);
                restart = true;
                break;
            }
            if (!same_issuers(x, y) || !nil_equal(x->managers, y->managers) ||
                strcmp(x->key_type ? x->key_type : "", y->key_type ? y->key_type : "") != 0 ||
                x->on_demand != y->on_demand || x->reuse_keys != y->reuse_keys ||
                x->ratio != y->ratio)
                continue;
            if (len(x->subjects) > 0 && len(y->subjects) == 0) {
                if (shadows(b, (size_t)i) >= j) {
                    ap_delete(b, (size_t)i);
                    restart = true;
                }
                continue;
            }
            for (size_t k = 0; k < len(y->subjects); k++) {
                const char *s = cc_cfg_idx(y->subjects, k)->s.p;
                if (!cc_cfg_arr_has_str(x->subjects, s)) {
                    if (!x->subjects)
                        x->subjects = cc_cfg_arr(b->a);
                    cc_cfg_push_str(b->a, x->subjects, s);
                }
            }
            ap_delete(b, (size_t)j);
            j--;
        }
        if (restart)
            i--; /* Go's "continue outer" after i-- */
    }
    return true;
}

static cc_cfg *ap_json(tls_build *b, const ap *p)
{
    cc_arena *a = b->a;
    cc_cfg *o = cc_cfg_obj(a);
    if (len(p->subjects))
        cc_cfg_set(a, o, "subjects", p->subjects);
    if (len(p->issuers_raw))
        cc_cfg_set(a, o, "issuers", p->issuers_raw);
    if (len(p->managers))
        cc_cfg_set(a, o, "get_certificate", p->managers);
    if (p->ratio != 0)
        cc_cfg_set(a, o, "renewal_window_ratio", cc_cfg_num(a, p->ratio));
    if (p->key_type && *p->key_type)
        cc_cfg_set(a, o, "key_type",
                   cc_cfg_at(cc_cfg_str(a, p->key_type),
                             p->key_type_at ? p->key_type_at->file : NULL,
                             p->key_type_at ? p->key_type_at->line : 0));
    if (p->on_demand)
        cc_cfg_set_bool(a, o, "on_demand", true);
    if (p->reuse_keys)
        cc_cfg_set_bool(a, o, "reuse_private_keys", true);
    if (p->no_ocsp)
        cc_cfg_set_bool(a, o, "disable_ocsp_stapling", true);
    return o;
}

static cc_cfvals *block_vals(cc_cf_block *blk)
{
    return &blk->vals;
}

static cc_cfval *first_val(cc_cf_block *blk, const char *cls)
{
    cc_cfvals *v = block_vals(blk);
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->v[i].cls, cls) == 0)
            return &v->v[i];
    return NULL;
}

static void sort_strs(cc_cfg *arr)
{
    for (size_t i = 1; i < len(arr); i++)
        for (size_t j = i; j > 0 && strcmp(arr->arr.v[j]->s.p, arr->arr.v[j - 1]->s.p) < 0; j--) {
            cc_cfg *t = arr->arr.v[j];
            arr->arr.v[j] = arr->arr.v[j - 1];
            arr->arr.v[j - 1] = t;
        }
}

static void add_unique(cc_arena *a, cc_cfg *arr, const char *s)
{
    if (!cc_cfg_arr_has_str(arr, s))
        cc_cfg_push_str(a, arr, s);
}

/* caddy.ParseNetworkAddress's port range check for listenersUseAnyPortOtherThan. */
static bool listener_uses_other_port(const char *addr, long port)
{
    const char *slash = strchr(addr, '/');
    const char *hp = addr;
    if (slash) {
        size_t nl = (size_t)(slash - addr);
        if ((nl == 4 && strncmp(addr, "unix", 4) == 0) ||
            (nl == 8 && strncmp(addr, "unixgram", 8) == 0) ||
            (nl == 10 && strncmp(addr, "unixpacket", 10) == 0) ||
            (nl == 2 && strncmp(addr, "fd", 2) == 0) ||
            (nl == 6 && strncmp(addr, "fdgram", 6) == 0))
            return port != 0;
        hp = slash + 1;
    }
    const char *colon = strrchr(hp, ':');
    if (!colon)
        return false;
    const char *ps = colon + 1;
    char *end;
    long start = strtol(ps, &end, 10), stop = start;
    if (end == ps)
        return false;
    if (*end == '-') {
        const char *s2 = end + 1;
        stop = strtol(s2, &end, 10);
        if (end == s2)
            return false;
    }
    if (*end)
        return false;
    return port > stop || port < start;
}

static int build_tls(cc_adapt *ad, cc_cfg **out_tls)
{
    tls_build bb = {.ad = ad, .a = ad->a, .opts = ad->opts}, *b = &bb;
    cc_arena *a = ad->a;
    cc_cfg *tls = cc_cfg_obj(a);
    cc_cfg *certificates = cc_cfg_obj(a);
    cc_cfg *automation = cc_cfg_obj(a);
    *out_tls = NULL;

    char http_port[32] = "80";
    cc_cfg *hp = opt(b, "http_port");
    if (hp && hp->type == CC_CFG_INT)
        snprintf(http_port, sizeof(http_port), "%lld", (long long)hp->i);
    cc_cfg *auto_https = opt(b, "auto_https");
    bool ah_off = cc_cfg_arr_has_str(auto_https, "off");

    cc_cfg *shared_hostless = cc_cfg_arr(a);
    if (!ah_off) {
        for (size_t pi = 0; pi < ad->npairings; pi++) {
            cc_cf_pairing *p = &ad->pairings[pi];
            for (size_t bi = 0; bi < p->nblocks; bi++) {
                cc_cf_block *blk = p->blocks[bi];
                for (size_t k = 0; k < blk->naddrs; k++) {
                    if (*blk->addrs[k].host)
                        continue;
                    for (size_t o = 0; o < blk->naddrs; o++) {
                        cc_cf_addr *other = &blk->addrs[o];
                        if (strcmp(other->original, blk->addrs[k].original) == 0)
                            continue;
                        if (*other->host && strcmp(other->scheme, "http") != 0 &&
                            strcmp(other->port, http_port) != 0)
                            add_unique(a, shared_hostless, other->host);
                    }
                    break;
                }
            }
        }
    }

    ap *catch_all = NULL;
    if (base_policy(b, false, &catch_all) != CC_OK)
        return CC_ERR;
    if (catch_all) {
        b->automation = true;
        CC_VEC_PUSH(a, &b->aps, catch_all);
    }
    cc_cfg *forced = cc_cfg_arr(a);
    cc_cfg *file_pairs = NULL, *folders = NULL;
    long hport = strtol(http_port, NULL, 10);

    for (size_t pi = 0; pi < ad->npairings; pi++) {
        cc_cf_pairing *p = &ad->pairings[pi];
        bool other = false;
        for (size_t i = 0; i < p->nlisten && !other; i++)
            other = listener_uses_other_port(p->listen[i], hport);
        if (!other)
            continue;
        for (size_t bi = 0; bi < p->nblocks; bi++) {
            cc_cf_block *blk = p->blocks[bi];
            bool all_http = true;
            for (size_t k = 0; k < blk->naddrs; k++)
                if (strcmp(blk->addrs[k].scheme, "http") != 0)
                    all_http = false;
            if (all_http)
                continue;
            ap *pol = NULL;
            if (base_policy(b, true, &pol) != CC_OK)
                return CC_ERR;
            cc_cfg *hosts = cc_cfg_arr(a);
            for (size_t k = 0; k < blk->naddrs; k++) {
                if (!*blk->addrs[k].host) {
                    hosts = cc_cfg_arr(a);
                    break;
                }
                add_unique(a, hosts, blk->addrs[k].host);
            }
            if (len(hosts) == 0 && catch_all)
                pol = catch_all;
            if (first_val(blk, "tls.on_demand"))
                pol->on_demand = true;
            if (first_val(blk, "tls.force_automate"))
                for (size_t k = 0; k < len(hosts); k++)
                    add_unique(a, forced, cc_cfg_idx(hosts, k)->s.p);
            if (first_val(blk, "tls.reuse_private_keys"))
                pol->reuse_keys = true;
            cc_cfval *kt = first_val(blk, "tls.key_type");
            if (kt) {
                pol->key_type = kt->val->s.p;
                pol->key_type_at = kt->val;
            }
            cc_cfval *rw = first_val(blk, "tls.renewal_window_ratio");
            if (rw)
                pol->ratio = rw->val->type == CC_CFG_INT ? (double)rw->val->i : rw->val->d;
            else if (has_opt(b, "renewal_window_ratio"))
                pol->ratio = opt(b, "renewal_window_ratio")->d;
            cc_cfvals *vals = block_vals(blk);
            if (first_val(blk, "tls.cert_issuer")) {
                cc_cfg *list = cc_cfg_arr(a);
                for (size_t i = 0; i < vals->n; i++)
                    if (strcmp(vals->v[i].cls, "tls.cert_issuer") == 0)
                        cc_cfg_push(a, list, vals->v[i].val);
                if (pol == catch_all && !nil_equal(pol->issuers, list))
                    return cc_err_set(ad->err,
                                      "automation policy from site block is also default/catch-all "
                                      "policy because of key without hostname, and the two are in "
                                      "conflict");
                pol->issuers = list;
            }
            for (size_t i = 0; i < vals->n; i++)
                if (strcmp(vals->v[i].cls, "tls.cert_manager") == 0) {
                    if (!pol->managers)
                        pol->managers = cc_cfg_arr(a);
                    cc_cfg_push(a, pol->managers, cc_cfg_clone(a, vals->v[i].val));
                }
            for (size_t i = 0; i < vals->n; i++) {
                if (strcmp(vals->v[i].cls, "bind") != 0)
                    continue;
                for (size_t k = 0; k < len(pol->issuers); k++) {
                    cc_cfg *iss = cc_cfg_idx(pol->issuers, k);
                    if (!cc_cf_issuer_is_acme(iss))
                        continue;
                    cc_cfg *ch = challenges(a, iss);
                    const char *bh = cc_cfg_get_str(ch, "bind_host");
                    if (!bh || !*bh) {
                        cc_cfg *addrs = vals->v[i].val;
                        const char *host = len(addrs) ? cc_cfg_idx(addrs, 0)->s.p : "";
                        if (*host)
                            cc_cfg_set_str(a, ch, "bind_host", host);
                    }
                }
            }
            if (len(hosts) == 0 && !catch_all)
                catch_all = pol;

            cc_cfg *not_http = cc_cfg_arr(a);
            for (size_t k = 0; k < blk->naddrs; k++) {
                cc_cf_addr *ad2 = &blk->addrs[k];
                if (*ad2->host && strcmp(ad2->scheme, "http") != 0 &&
                    strcmp(ad2->port, http_port) != 0)
                    add_unique(a, not_http, ad2->host);
            }
            sort_strs(not_http);
            pol->subjects = not_http;

            ap *pol2 = NULL;
            if (len(pol->issuers) == 0) {
                cc_cfg *internal = cc_cfg_arr(a), *external = cc_cfg_arr(a);
                for (size_t k = 0; k < len(pol->subjects); k++) {
                    const char *s = cc_cfg_idx(pol->subjects, k)->s.p;
                    if (is_tailscale(s))
                        continue;
                    if (!qualifies_for_cert(s))
                        return cc_err_set(ad->err, "subject does not qualify for certificate: '%s'",
                                          s);
                    cc_cfg_push_str(a, subject_public_for(pol, s) ? external : internal, s);
                }
                if (len(external) && len(internal)) {
                    pol->subjects = external;
                    pol2 = ap_new(b);
                    *pol2 = *pol;
                    pol2->subjects = internal;
                    pol2->issuers_raw = cc_cfg_arr(a);
                    cc_cfg *iss = cc_cfg_obj(a);
                    cc_cfg_set_str(a, iss, "module", "internal");
                    cc_cfg_push(a, pol2->issuers_raw, iss);
                }
            }
            b->automation = true;
            CC_VEC_PUSH(a, &b->aps, pol);
            if (pol2)
                CC_VEC_PUSH(a, &b->aps, pol2);

            for (size_t i = 0; i < vals->n; i++) {
                if (strcmp(vals->v[i].cls, "tls.cert_loader") != 0)
                    continue;
                cc_cfg *l = vals->v[i].val;
                const char *mod = cc_cfg_get_str(l, "module");
                bool files = mod && strcmp(mod, "load_files") == 0;
                cc_cfg *src = cc_cfg_get(l, files ? "files" : "folders");
                cc_cfg **dst = files ? &file_pairs : &folders;
                if (!*dst)
                    *dst = cc_cfg_arr(a);
                for (size_t k = 0; k < len(src); k++)
                    cc_cfg_push(a, *dst, cc_cfg_clone(a, cc_cfg_idx(src, k)));
            }
        }
    }

    if (file_pairs)
        cc_cfg_set(a, certificates, "load_files", file_pairs);
    if (folders)
        cc_cfg_set(a, certificates, "load_folders", folders);
    if (has_opt(b, "on_demand_tls")) {
        b->automation = true;
        cc_cfg_set(a, automation, "on_demand", cc_cfg_clone(a, opt(b, "on_demand_tls")));
    }
    cc_cfg *dns = opt(b, "dns");
    if (dns && dns->type != CC_CFG_NULL)
        cc_cfg_set(a, tls, "dns", cc_cfg_clone(a, dns));
    if (has_opt(b, "tls_resolvers"))
        cc_cfg_set(a, tls, "resolvers", cc_cfg_clone(a, opt(b, "tls_resolvers")));
    cc_cfg *ech = opt(b, "ech");
    if (ech) {
        cc_cfg_set(a, tls, "encrypted_client_hello", cc_cfg_clone(a, ech));
        ap *pol = NULL;
        if (base_policy(b, true, &pol) != CC_OK)
            return CC_ERR;
        cc_cfg *configs = cc_cfg_get(ech, "configs");
        for (size_t i = 0; i < len(configs); i++) {
            const char *pn = cc_cfg_get_str(cc_cfg_idx(configs, i), "public_name");
            if (pn && *pn) {
                if (!pol->subjects)
                    pol->subjects = cc_cfg_arr(a);
                cc_cfg_push_str(a, pol->subjects, pn);
            }
        }
        b->automation = true;
        CC_VEC_PUSH(a, &b->aps, pol);
    }
    const char *sc = cc_cfg_get_str(b->opts, "storage_check");
    if (sc && strcmp(sc, "off") == 0)
        cc_cfg_set_bool(a, tls, "disable_storage_check", true);
    cc_cfg *sci = opt(b, "storage_clean_interval");
    if (sci && sci->type == CC_CFG_BOOL && !sci->b)
        cc_cfg_set_bool(a, tls, "disable_storage_clean", true);
    static const char *const intervals[][2] = {{"storage_clean_interval", "storage_clean_interval"},
                                               {"renew_interval", "renew_interval"},
                                               {"ocsp_interval", "ocsp_interval"}};
    for (size_t i = 0; i < 3; i++) {
        cc_cfg *v = opt(b, intervals[i][0]);
        if (v && v->type == CC_CFG_INT) {
            b->automation = true;
            if (v->i)
                cc_cfg_set_int(a, automation, intervals[i][1], v->i);
        }
    }
    const char *os = cc_cfg_get_str(b->opts, "ocsp_stapling");
    if (os && strcmp(os, "off") == 0)
        cc_cfg_set_bool(a, tls, "disable_ocsp_stapling", true);

    cc_cfg *al = cc_cfg_arr(a);
    ap *internal_ap = ap_new(b);
    internal_ap->issuers_raw = cc_cfg_arr(a);
    cc_cfg *int_iss = cc_cfg_obj(a);
    cc_cfg_set_str(a, int_iss, "module", "internal");
    cc_cfg_push(a, internal_ap->issuers_raw, int_iss);
    if (!ah_off && !cc_cfg_arr_has_str(auto_https, "disable_certs")) {
        sort_strs(shared_hostless);
        for (size_t i = 0; i < len(shared_hostless); i++) {
            const char *h = cc_cfg_idx(shared_hostless, i)->s.p;
            cc_cfg_push_str(a, al, h);
            if (!qualifies_for_public_cert(h)) {
                if (!internal_ap->subjects)
                    internal_ap->subjects = cc_cfg_arr(a);
                cc_cfg_push_str(a, internal_ap->subjects, h);
            }
        }
    }
    for (size_t i = 0; i < len(forced); i++)
        add_unique(a, al, cc_cfg_idx(forced, i)->s.p);
    sort_strs(al);
    if (len(al))
        cc_cfg_set(a, certificates, "automate", al);
    if (len(internal_ap->subjects)) {
        b->automation = true;
        CC_VEC_PUSH(a, &b->aps, internal_ap);
    }

    if (b->automation) {
        bool acme_defaults = has_opt(b, "email") || has_opt(b, "acme_ca") ||
                             has_opt(b, "acme_ca_root") || has_opt(b, "acme_dns") ||
                             has_opt(b, "acme_eab") || has_opt(b, "preferred_chains");
        if (acme_defaults) {
            for (size_t i = 0; i < b->aps.n; i++) {
                ap *p = b->aps.v[i];
                bool all_public = true;
                for (size_t k = 0; k < len(p->subjects); k++) {
                    const char *s = cc_cfg_idx(p->subjects, k)->s.p;
                    if (!subject_public_for(p, s) || is_tailscale(s))
                        all_public = false;
                }
                if (len(p->issuers) == 0 && all_public) {
                    p->issuers = cc_cf_default_issuers(a, cc_cfg_get_str(b->opts, "email"));
                    if (has_opt(b, "acme_ca")) {
                        p->issuers = cc_cfg_arr(a);
                        cc_cfg *plain = cc_cfg_obj(a);
                        cc_cfg_set_str(a, plain, "module", "acme");
                        cc_cfg_push(a, p->issuers, plain);
                    }
                }
            }
        }
        for (size_t i = 0; i < b->aps.n; i++) {
            ap *p = b->aps.v[i];
            for (size_t j = 0; j < len(p->issuers); j++) {
                if (fill_acme_defaults(b, cc_cfg_idx(p->issuers, j)) != CC_OK) {
                    char msg[1024];
                    snprintf(msg, sizeof(msg), "%s", ad->err->msg);
                    cc_err_clear(ad->err);
                    return cc_err_set(
                        ad->err, "filling in global issuer defaults for AP %zu, issuer %zu: %s", i,
                        j, msg);
                }
            }
            if (len(p->issuers) > 0 && !p->issuers_raw) {
                p->issuers_raw = cc_cfg_arr(a);
                for (size_t j = 0; j < len(p->issuers); j++)
                    cc_cfg_push(a, p->issuers_raw, cc_cfg_clone(a, cc_cfg_idx(p->issuers, j)));
            }
        }
        consolidate(b);
        for (size_t i = 0; i < b->aps.n; i++)
            for (size_t k = 0; k < len(b->aps.v[i]->subjects); k++) {
                const char *s = cc_cfg_idx(b->aps.v[i]->subjects, k)->s.p;
                for (size_t j = 0; j < i; j++)
                    if (cc_cfg_arr_has_str(b->aps.v[j]->subjects, s))
                        return cc_err_set(ad->err,
                                          "hostname appears in more than one automation policy, "
                                          "making certificate management ambiguous: %s",
                                          s);
                for (size_t k2 = 0; k2 < k; k2++)
                    if (strcmp(cc_cfg_idx(b->aps.v[i]->subjects, k2)->s.p, s) == 0)
                        return cc_err_set(ad->err,
                                          "hostname appears in more than one automation policy, "
                                          "making certificate management ambiguous: %s",
                                          s);
            }
        if (b->aps.n) {
            cc_cfg *policies = cc_cfg_arr(a);
            for (size_t i = 0; i < b->aps.n; i++)
                cc_cfg_push(a, policies, ap_json(b, b->aps.v[i]));
            /* policies first, as in Caddy's struct */
            cc_cfg *ordered = cc_cfg_obj(a);
            cc_cfg_set(a, ordered, "policies", policies);
            for (size_t i = 0; i < automation->obj.n; i++)
                cc_cfg_set(a, ordered, automation->obj.k[i], automation->obj.v[i]);
            automation = ordered;
        }
    }

    cc_cfg *result = cc_cfg_obj(a);
    if (len(certificates))
        cc_cfg_set(a, result, "certificates", certificates);
    if (len(automation))
        cc_cfg_set(a, result, "automation", automation);
    for (size_t i = 0; i < tls->obj.n; i++)
        cc_cfg_set(a, result, tls->obj.k[i], tls->obj.v[i]);
    if (len(result))
        *out_tls = result;
    return CC_OK;
}

/* ---- PKI ---- */

static cc_cfg *build_pki(cc_adapt *ad)
{
    cc_arena *a = ad->a;
    bool skip = cc_cfg_get(ad->opts, "skip_install_trust") != NULL;
    bool off = cc_cfg_arr_has_str(cc_cfg_get(ad->opts, "auto_https"), "off");
    cc_cfg *pki = cc_cfg_get(ad->opts, "pki");
    pki = pki ? cc_cfg_clone(a, pki) : cc_cfg_obj(a);
    cc_cfg *cas = cc_cfg_child_obj(a, pki, "certificate_authorities");
    for (size_t i = 0; i < cas->obj.n; i++)
        if (skip)
            cc_cfg_set_bool(a, cas->obj.v[i], "install_trust", false);
    for (size_t pi = 0; pi < ad->npairings; pi++) {
        cc_cf_pairing *p = &ad->pairings[pi];
        for (size_t bi = 0; bi < p->nblocks; bi++) {
            cc_cfvals *vals = &p->blocks[bi]->vals;
            for (size_t i = 0; i < vals->n; i++) {
                if (strcmp(vals->v[i].cls, "pki.ca") != 0)
                    continue;
                cc_cfg *ca = cc_cfg_clone(a, vals->v[i].val);
                const char *id = cc_cfg_get_str(ca, "id");
                id = id && *id ? cc_arena_strdup(a, id) : "local";
                cc_cfg_del(ca, "id");
                if (skip)
                    cc_cfg_set_bool(a, ca, "install_trust", false);
                if (!cc_cfg_get(cas, id))
                    cc_cfg_set(a, cas, id, ca);
            }
        }
    }
    if (len(cas) == 0 && skip && !off) {
        cc_cfg *ca = cc_cfg_obj(a);
        cc_cfg_set_bool(a, ca, "install_trust", false);
        cc_cfg_set(a, cas, "local", ca);
    }
    return len(cas) ? pki : NULL;
}

/* ---- logging ---- */

typedef struct named_log {
    const char *name;
    cc_cfg *log;
} named_log;

static cc_cfg *build_logging(cc_adapt *ad)
{
    cc_arena *a = ad->a;
    CC_VEC(named_log) logs = {0};
    bool has_default = false, debug = cc_cfg_get(ad->opts, "debug") != NULL;
    cc_cfg *global = cc_cfg_get(ad->opts, "log");
    cc_cfg *site = cc_cfg_arr(a);
    for (size_t pi = 0; pi < ad->npairings; pi++)
        for (size_t bi = 0; bi < ad->pairings[pi].nblocks; bi++) {
            cc_cfvals *vals = &ad->pairings[pi].blocks[bi]->vals;
            for (size_t i = 0; i < vals->n; i++)
                if (strcmp(vals->v[i].cls, "custom_log") == 0)
                    cc_cfg_push(a, site, vals->v[i].val);
        }
    /* global loggers first, then the default's debug level, then site loggers */
    for (int pass = 0; pass < 3; pass++) {
        size_t n = pass == 0 ? len(global) : pass == 2 ? len(site) : 1;
        for (size_t i = 0; i < n; i++) {
            named_log nl;
            if (pass == 0) {
                nl.name = global->obj.k[i];
                nl.log = global->obj.v[i]->type == CC_CFG_OBJ ? global->obj.v[i] : NULL;
            } else if (pass == 1) {
                if (has_default || !debug)
                    continue;
                nl.name = "default";
                nl.log = cc_cfg_obj(a);
                cc_cfg_set_str(a, nl.log, "level", "DEBUG");
                CC_VEC_PUSH(a, &logs, nl);
                continue;
            } else {
                cc_cfg *v = cc_cfg_idx(site, i);
                nl.name = cc_cfg_get_str(v, "name");
                nl.log = cc_cfg_get(v, "log");
            }
            if (!nl.name || !*nl.name)
                continue;
            if (strcmp(nl.name, "default") == 0)
                has_default = true;
            if (debug && nl.log && !cc_cfg_get(nl.log, "level"))
                cc_cfg_set_str(a, nl.log, "level", "DEBUG");
            CC_VEC_PUSH(a, &logs, nl);
        }
    }
    if (logs.n == 0)
        return NULL;
    cc_cfg *out = cc_cfg_obj(a);
    for (size_t i = 0; i < logs.n; i++)
        if (strcmp(logs.v[i].name, "default") == 0 && logs.v[i].log) {
            cc_cfg_set(a, out, "default", cc_cfg_clone(a, logs.v[i].log));
            break;
        }
    for (size_t i = 0; i < logs.n; i++) {
        named_log *nl = &logs.v[i];
        if (!nl->log || strcmp(nl->name, "default") == 0)
            continue;
        cc_cfg_set(a, out, nl->name, cc_cfg_clone(a, nl->log));
        cc_cfg *inc = cc_cfg_get(nl->log, "include");
        if (len(inc) == 0)
            continue;
        cc_cfg *def = cc_cfg_get(out, "default");
        if (!def) {
            def = cc_cfg_obj(a);
            cc_cfg_set(a, out, "default", def);
        }
        cc_cfg *ex = cc_cfg_child_arr(a, def, "exclude");
        for (size_t k = 0; k < len(inc); k++)
            add_unique(a, ex, cc_cfg_idx(inc, k)->s.p);
        sort_strs(ex);
    }
    if (len(out) == 0)
        return NULL;
    cc_cfg *logging = cc_cfg_obj(a);
    cc_cfg_set(a, logging, "logs", out);
    return logging;
}

int cc_cf_build_other_apps(cc_adapt *ad)
{
    cc_arena *a = ad->a;
    if (!ad->opts)
        ad->opts = cc_cfg_obj(a);
    if (!ad->root)
        ad->root = cc_cfg_obj(a);
    cc_cfg *tls = NULL;
    if (build_tls(ad, &tls) != CC_OK)
        return CC_ERR;
    cc_cfg *pki = build_pki(ad);
    cc_cfg *logging = build_logging(ad);

    cc_cfg *admin = cc_cfg_get(ad->opts, "admin");
    admin = admin ? cc_cfg_clone(a, admin) : NULL;
    const char *pc = cc_cfg_get_str(ad->opts, "persist_config");
    if (pc && strcmp(pc, "off") == 0) {
        if (!admin)
            admin = cc_cfg_obj(a);
        cc_cfg_set_bool(a, cc_cfg_child_obj(a, admin, "config"), "persist", false);
    }
    cc_cfg *storage = cc_cfg_get(ad->opts, "storage");

    /* Caddy's top-level order: admin, logging, storage, apps */
    cc_cfg *root = cc_cfg_obj(a);
    if (admin)
        cc_cfg_set(a, root, "admin", admin);
    if (logging)
        cc_cfg_set(a, root, "logging", logging);
    if (storage)
        cc_cfg_set(a, root, "storage", cc_cfg_clone(a, storage));
    for (size_t i = 0; i < ad->root->obj.n; i++)
        if (!cc_cfg_get(root, ad->root->obj.k[i]))
            cc_cfg_set(a, root, ad->root->obj.k[i], ad->root->obj.v[i]);
    cc_cfg *apps = cc_cfg_get(root, "apps");
    if (!apps && (tls || pki || cc_cfg_get(ad->opts, "events"))) {
        apps = cc_cfg_obj(a);
        cc_cfg_set(a, root, "apps", apps);
    }
    if (cc_cfg_get(ad->opts, "events"))
        cc_cfg_set(a, apps, "events", cc_cfg_clone(a, cc_cfg_get(ad->opts, "events")));
    if (tls)
        cc_cfg_set(a, apps, "tls", tls);
    if (pki)
        cc_cfg_set(a, apps, "pki", pki);
    *ad->root = *root;
    return CC_OK;
}
