/* SPDX-License-Identifier: Apache-2.0
 * Servers from site blocks, as Caddy's HTTP server type builds them: every key gets its
 * listener addresses (port from the key or the scheme, hosts from bind/default_bind),
 * keys sharing a listener are grouped, identical groups share one server, and each
 * server gets its sites sorted by specificity, one terminal route per site, error
 * routes, named routes, automatic HTTPS settings, TLS connection policies, access log
 * mapping and the `servers` global options. */
#include "adapter_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A site block restricted to the keys that use one listener address. */
typedef struct sub {
    size_t oidx;  /* index of the original block */
    size_t *keys; /* key indices into the original block */
    size_t nkeys;
    cc_cf_block blk;   /* the restricted block (sb keys, addrs subset, vals shared) */
    cc_cfvals *routes; /* the original block's "route" values (sorted in place) */
} sub;

typedef CC_VEC(sub *) subvec;

typedef struct entry {
    const char *addr, *prot;
    subvec subs;
    bool used;
} entry;

typedef CC_VEC(entry) entryvec;
typedef CC_VEC(const char *) strvec;

typedef struct ctx {
    cc_adapt *ad;
    cc_arena *a;
    cc_err *err;
    const char *http_port, *https_port;
    cc_cfvals *block_routes; /* per original block */
    cc_cfg *invokes;
} ctx;

static bool streq(const char *x, const char *y)
{
    return strcmp(x ? x : "", y ? y : "") == 0;
}

static void strvec_add_unique(cc_arena *a, strvec *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->v[i], s) == 0)
            return;
    CC_VEC_PUSH(a, v, s);
}

static int cmp_strp(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static void strvec_sort(strvec *v)
{
    if (v->n > 1)
        qsort(v->v, v->n, sizeof(*v->v), cmp_strp);
}

static bool str_arr_has(const cc_cfg *arr, const char *s)
{
    return arr && cc_cfg_arr_has_str(arr, s);
}

/* ---- network addresses (caddy.SplitNetworkAddress / ParseNetworkAddress) ------- */

static bool is_unix_or_fd(const char *netw)
{
    return strncmp(netw, "unix", 4) == 0 || strncmp(netw, "fd", 2) == 0;
}

static void split_network(cc_arena *a, const char *s, const char **netw, const char **host)
{
    *netw = "";
    const char *slash = strchr(s, '/');
    if (slash) {
        char *n = cc_arena_strndup(a, s, (size_t)(slash - s));
        for (char *p = n; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        *netw = n;
        s = slash + 1;
        if (is_unix_or_fd(n)) {
            *host = s;
            return;
        }
    }
    /* host[:port], [v6]:port, bare v6 */
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        *host = rb ? cc_arena_strndup(a, s + 1, (size_t)(rb - s - 1)) : s;
        return;
    }
    const char *c = strrchr(s, ':');
    if (c && !memchr(s, ':', (size_t)(c - s))) {
        *host = cc_arena_strndup(a, s, (size_t)(c - s));
        return;
    }
    *host = s;
}

static const char *network_string(cc_arena *a, const char *netw, const char *host, const char *port)
{
    if (is_unix_or_fd(netw))
        return cc_arena_printf(a, "%s/%s", netw, host);
    if (!*netw || strcmp(netw, "tcp") == 0)
        netw = "";
    const char *hp = strchr(host, ':') ? cc_arena_printf(a, "[%s]:%s", host, port)
                                       : cc_arena_printf(a, "%s:%s", host, port);
    return *netw ? cc_arena_printf(a, "%s/%s", netw, hp) : hp;
}

/* Port range of a listener address; false for unix sockets and garbage. */
static bool listener_ports(const char *ln, long *lo, long *hi)
{
    const char *slash = strchr(ln, '/');
    if (slash && (strncmp(ln, "unix", 4) == 0 || strncmp(ln, "fd", 2) == 0)) {
        *lo = *hi = 0;
        return true;
    }
    const char *c = strrchr(ln, ':');
    if (!c)
        return false;
    char *end = NULL;
    *lo = strtol(c + 1, &end, 10);
    *hi = *lo;
    if (*end == '-')
        *hi = strtol(end + 1, &end, 10);
    return *end == 0;
}

static bool listeners_use_other_port(const cc_cfg *listen, const char *port)
{
    long p = atol(port);
    for (size_t i = 0; i < cc_cfg_len(listen); i++) {
        long lo, hi;
        if (!listener_ports(cc_cfg_idx(listen, i)->s.p, &lo, &hi))
            continue;
        if (p > hi || p < lo)
            return true;
    }
    return false;
}

/* ---- mapping keys to listeners -------------------------------------------------- */

typedef struct lnval {
    cc_cfg *addrs;     /* ARR of STR */
    cc_cfg *protocols; /* ARR of STR or NULL */
} lnval;

typedef struct keyln {
    const char *addr;
    strvec prots;
} keyln;

typedef CC_VEC(keyln) keylnvec;

static int listeners_for(ctx *c, const cc_cf_block *b, const cc_cf_addr *addr, const cc_token *tok,
                         const char *where, keylnvec *out)
{
    cc_arena *a = c->a;
    const char *lnport = c->https_port;
    if (*addr->port)
        lnport = addr->port;
    else if (strcmp(addr->scheme, "http") == 0)
        lnport = c->http_port;
    if ((strcmp(addr->scheme, "http") == 0 && strcmp(lnport, c->https_port) == 0) ||
        (strcmp(addr->scheme, "https") == 0 && strcmp(lnport, c->http_port) == 0))
        return cc_disp_errf_tok(c->err, tok, "%s[%s] scheme and port violate convention", where,
                                cc_cf_addr_string(a, addr));
    for (const char *p = lnport; *p; p++)
        if (*p < '0' || *p > '9')
            return cc_disp_errf_tok(c->err, tok, "%sparsing network address: invalid start port",
                                    where);
    const char *portstr = cc_arena_printf(a, "%ld", atol(lnport));

    CC_VEC(lnval) vals = {0};
    for (size_t i = 0; i < b->vals.n; i++) {
        if (strcmp(b->vals.v[i].cls, "bind") != 0)
            continue;
        lnval v = {b->vals.v[i].val, NULL};
        if (i + 1 < b->vals.n && strcmp(b->vals.v[i + 1].cls, "bind.protocols") == 0)
            v.protocols = b->vals.v[i + 1].val;
        CC_VEC_PUSH(a, &vals, v);
    }
    if (!vals.n) {
        cc_cfg *db = cc_cfg_get(c->ad->opts, "default_bind");
        if (db && db->type == CC_CFG_ARR) {
            lnval v = {db, cc_cfg_get(c->ad->opts, "default_bind_protocols")};
            CC_VEC_PUSH(a, &vals, v);
        } else {
            lnval v = {cc_cfg_arr(a), NULL};
            cc_cfg_push_str(a, v.addrs, "");
            CC_VEC_PUSH(a, &vals, v);
        }
    }
    for (size_t i = 0; i < vals.n; i++) {
        for (size_t k = 0; k < cc_cfg_len(vals.v[i].addrs); k++) {
            cc_cfg *s = cc_cfg_idx(vals.v[i].addrs, k);
            if (!s || s->type != CC_CFG_STR)
                continue;
            const char *netw, *host;
            split_network(a, s->s.p, &netw, &host);
            const char *ln = network_string(a, netw, host, portstr);
            keyln *kl = NULL;
            for (size_t j = 0; j < out->n && !kl; j++)
                if (strcmp(out->v[j].addr, ln) == 0)
                    kl = &out->v[j];
            if (!kl) {
                keyln nk = {ln, {0}};
                CC_VEC_PUSH(a, out, nk);
                kl = &out->v[out->n - 1];
            }
            kl->prots.n = 0; /* Caddy resets the protocol set for every mention */
            for (size_t p = 0; p < cc_cfg_len(vals.v[i].protocols); p++) {
                cc_cfg *pv = cc_cfg_idx(vals.v[i].protocols, p);
                if (pv && pv->type == CC_CFG_STR)
                    strvec_add_unique(a, &kl->prots, pv->s.p);
            }
        }
    }
    return CC_OK;
}

static entry *find_entry(entryvec *ev, const char *addr, const char *prot)
{
    for (size_t i = 0; i < ev->n; i++)
        if (strcmp(ev->v[i].addr, addr) == 0 && strcmp(ev->v[i].prot, prot) == 0)
            return &ev->v[i];
    return NULL;
}

typedef struct lkey {
    const char *addr, *prot;
    CC_VEC(size_t) keys;
} lkey;

static int map_blocks(ctx *c, entryvec *ev)
{
    cc_adapt *ad = c->ad;
    cc_arena *a = c->a;
    for (size_t bi = 0; bi < ad->nblocks; bi++) {
        cc_cf_block *b = &ad->blocks[bi];
        b->naddrs = b->sb->nkeys;
        b->addrs = cc_arena_alloc(a, (b->naddrs ? b->naddrs : 1) * sizeof(cc_cf_addr));
        CC_VEC(lkey) local = {0};
        for (size_t k = 0; k < b->sb->nkeys; k++) {
            const cc_token *kt = &b->sb->keys[k];
            const char *where = cc_arena_printf(
                a, "server block %zu, key %zu (%s): determining listener address: ", bi, k,
                kt->text);
            cc_err tmp = {0};
            if (cc_cf_parse_address(a, kt, &b->addrs[k], &tmp)) {
                /* Caddy words parse errors and scheme errors differently */
                char pre[512];
                snprintf(pre, sizeof(pre), "%s:%d: ", kt->file, kt->line);
                const char *bare = tmp.msg;
                if (strncmp(bare, pre, strlen(pre)) == 0)
                    bare += strlen(pre);
                return cc_err_setat(c->err, kt->file, kt->line, "%s%s",
                                    strstr(bare, "scheme") ? where : "parsing key: ", bare);
            }
            keylnvec lns = {0};
            if (listeners_for(c, b, &b->addrs[k], kt, where, &lns))
                return CC_ERR;
            for (size_t l = 0; l < lns.n; l++) {
                strvec prots = lns.v[l].prots;
                if (!prots.n)
                    CC_VEC_PUSH(a, &prots, "");
                for (size_t p = 0; p < prots.n; p++) {
                    lkey *lk = NULL;
                    for (size_t x = 0; x < local.n && !lk; x++)
                        if (strcmp(local.v[x].addr, lns.v[l].addr) == 0 &&
                            strcmp(local.v[x].prot, prots.v[p]) == 0)
                            lk = &local.v[x];
                    if (!lk) {
                        lkey nk = {lns.v[l].addr, prots.v[p], {0}};
                        CC_VEC_PUSH(a, &local, nk);
                        lk = &local.v[local.n - 1];
                    }
                    CC_VEC_PUSH(a, &lk->keys, k);
                }
            }
        }
        /* sorted by address, then protocol */
        strvec addrs = {0};
        for (size_t x = 0; x < local.n; x++)
            strvec_add_unique(a, &addrs, local.v[x].addr);
        strvec_sort(&addrs);
        for (size_t ai = 0; ai < addrs.n; ai++) {
            strvec prots = {0};
            for (size_t x = 0; x < local.n; x++)
                if (strcmp(local.v[x].addr, addrs.v[ai]) == 0)
                    strvec_add_unique(a, &prots, local.v[x].prot);
            strvec_sort(&prots);
            for (size_t pi = 0; pi < prots.n; pi++) {
                lkey *lk = NULL;
                for (size_t x = 0; x < local.n && !lk; x++)
                    if (strcmp(local.v[x].addr, addrs.v[ai]) == 0 &&
                        strcmp(local.v[x].prot, prots.v[pi]) == 0)
                        lk = &local.v[x];
                sub *s = cc_arena_alloc(a, sizeof(*s));
                s->oidx = bi;
                s->nkeys = lk->keys.n;
                s->keys = lk->keys.v;
                s->routes = &c->block_routes[bi];
                cc_sblock *sb = cc_arena_alloc(a, sizeof(*sb));
                *sb = *b->sb;
                sb->nkeys = s->nkeys;
                sb->keys = cc_arena_alloc(a, s->nkeys * sizeof(cc_token));
                s->blk.addrs = cc_arena_alloc(a, s->nkeys * sizeof(cc_cf_addr));
                for (size_t x = 0; x < s->nkeys; x++) {
                    sb->keys[x] = b->sb->keys[s->keys[x]];
                    s->blk.addrs[x] = b->addrs[s->keys[x]];
                }
                s->blk.naddrs = s->nkeys;
                s->blk.sb = sb;
                s->blk.vals = b->vals;
                entry *e = find_entry(ev, addrs.v[ai], prots.v[pi]);
                if (!e) {
                    entry ne = {addrs.v[ai], prots.v[pi], {0}, false};
                    CC_VEC_PUSH(a, ev, ne);
                    e = &ev->v[ev->n - 1];
                }
                CC_VEC_PUSH(a, &e->subs, s);
            }
        }
    }
    return CC_OK;
}

static bool subs_equal(const subvec *x, const subvec *y)
{
    if (x->n != y->n)
        return false;
    for (size_t i = 0; i < x->n; i++) {
        const sub *p = x->v[i], *q = y->v[i];
        if (p->oidx != q->oidx || p->nkeys != q->nkeys)
            return false;
        for (size_t k = 0; k < p->nkeys; k++)
            if (p->keys[k] != q->keys[k])
                return false;
    }
    return true;
}

typedef struct pairing {
    strvec listen;
    strvec *prots; /* per listen address */
    subvec subs;
} pairing;

typedef CC_VEC(pairing) pairingvec;

static void consolidate(ctx *c, entryvec *ev, pairingvec *out)
{
    cc_arena *a = c->a;
    strvec addrs = {0};
    for (size_t i = 0; i < ev->n; i++)
        strvec_add_unique(a, &addrs, ev->v[i].addr);
    strvec_sort(&addrs);
    for (size_t ai = 0; ai < addrs.n; ai++) {
        strvec prots = {0};
        for (size_t i = 0; i < ev->n; i++)
            if (strcmp(ev->v[i].addr, addrs.v[ai]) == 0 && !ev->v[i].used)
                strvec_add_unique(a, &prots, ev->v[i].prot);
        strvec_sort(&prots);
        for (size_t pi = 0; pi < prots.n; pi++) {
            entry *e = find_entry(ev, addrs.v[ai], prots.v[pi]);
            pairing p = {0};
            if (e->used) {
                /* Caddy still emits a server (with no listener and no sites) for a
                 * protocol of this address that an earlier protocol absorbed */
                CC_VEC_PUSH(a, out, p);
                continue;
            }
            p.subs = e->subs;
            CC_VEC(entry *) members = {0};
            for (size_t i = 0; i < ev->n; i++) {
                entry *o = &ev->v[i];
                if (o->used)
                    continue;
                if (o == e || subs_equal(&e->subs, &o->subs)) {
                    CC_VEC_PUSH(a, &members, o);
                    strvec_add_unique(a, &p.listen, o->addr);
                }
            }
            strvec_sort(&p.listen);
            p.prots = cc_arena_alloc(a, (p.listen.n ? p.listen.n : 1) * sizeof(strvec));
            for (size_t i = 0; i < members.n; i++) {
                members.v[i]->used = true;
                for (size_t l = 0; l < p.listen.n; l++)
                    if (strcmp(p.listen.v[l], members.v[i]->addr) == 0)
                        strvec_add_unique(a, &p.prots[l], members.v[i]->prot);
            }
            for (size_t l = 0; l < p.listen.n; l++)
                strvec_sort(&p.prots[l]);
            CC_VEC_PUSH(a, out, p);
        }
    }
}

/* ---- site ordering -------------------------------------------------------------- */

typedef struct spec {
    const char *host, *path;
    bool wildcard;
} spec;

static spec site_spec(const sub *s)
{
    spec r = {"", "", false};
    for (size_t i = 0; i < s->blk.naddrs; i++) {
        const cc_cf_addr *ad = &s->blk.addrs[i];
        if (strchr(ad->host, '*') || !*ad->host)
            r.wildcard = true;
        if (cc_cf_specificity(ad->host) > cc_cf_specificity(r.host))
            r.host = ad->host;
        if (cc_cf_specificity(ad->path) > cc_cf_specificity(r.path))
            r.path = ad->path;
    }
    return r;
}

static bool site_less(const void *x, const void *y, void *unused)
{
    (void)unused;
    spec i = site_spec(*(sub *const *)x), j = site_spec(*(sub *const *)y);
    int si = cc_cf_specificity(i.host), sj = cc_cf_specificity(j.host);
    if (si == 0)
        return false;
    if (sj == 0)
        return true;
    if (i.wildcard != j.wildcard)
        return j.wildcard && !i.wildcard;
    if (si == sj)
        return strlen(i.path) > strlen(j.path);
    return si > sj;
}

/* ---- hosts of a site ------------------------------------------------------------ */

/* hostsFromKeys(false): empty as soon as one key has no host */
static void hosts_from_keys(ctx *c, const sub *s, strvec *out)
{
    out->n = 0;
    for (size_t i = 0; i < s->blk.naddrs; i++) {
        if (!*s->blk.addrs[i].host) {
            out->n = 0;
            return;
        }
        strvec_add_unique(c->a, out, s->blk.addrs[i].host);
    }
}

/* hostsFromKeys(true): hosts with non-standard ports kept, hostless keys skipped */
static void log_hosts(ctx *c, const sub *s, strvec *out)
{
    for (size_t i = 0; i < s->blk.naddrs; i++) {
        const cc_cf_addr *ad = &s->blk.addrs[i];
        if (!*ad->host)
            continue;
        if (*ad->port && strcmp(ad->port, "80") && strcmp(ad->port, "443"))
            strvec_add_unique(c->a, out,
                              strchr(ad->host, ':')
                                  ? cc_arena_printf(c->a, "[%s]:%s", ad->host, ad->port)
                                  : cc_arena_printf(c->a, "%s:%s", ad->host, ad->port));
        else
            strvec_add_unique(c->a, out, ad->host);
    }
}

static bool has_catch_all_key(const sub *s)
{
    for (size_t i = 0; i < s->blk.naddrs; i++)
        if (!*s->blk.addrs[i].host)
            return true;
    return false;
}

static bool has_class(const sub *s, const char *cls)
{
    for (size_t i = 0; i < s->blk.vals.n; i++)
        if (strcmp(s->blk.vals.v[i].cls, cls) == 0)
            return true;
    return false;
}

/* ---- matcher sets of a site (compileEncodedMatcherSets) ------------------------- */

static cc_cfg *site_matcher_sets(ctx *c, const sub *s)
{
    cc_arena *a = c->a;
    typedef struct {
        cc_cfg *hosts; /* ARR or NULL */
        const char *path;
    } pair;
    CC_VEC(pair) pairs = {0};
    bool catch_all = false;
    for (size_t i = 0; i < s->blk.naddrs; i++) {
        const cc_cf_addr *ad = &s->blk.addrs[i];
        pair *chosen = NULL;
        for (size_t p = 0; p < pairs.n && !chosen; p++)
            if (streq(pairs.v[p].path, ad->path))
                chosen = &pairs.v[p];
        if (!chosen) {
            pair np = {NULL, ad->path};
            CC_VEC_PUSH(a, &pairs, np);
            chosen = &pairs.v[pairs.n - 1];
        }
        if (!*ad->host && !catch_all) {
            chosen->hosts = NULL;
            catch_all = true;
        }
        if (catch_all)
            continue;
        if (*ad->host && !str_arr_has(chosen->hosts, ad->host)) {
            if (!chosen->hosts)
                chosen->hosts = cc_cfg_arr(a);
            cc_cfg_push_str(a, chosen->hosts, ad->host);
        }
    }
    cc_cfg *sets = cc_cfg_arr(a);
    for (size_t p = 0; p < pairs.n; p++) {
        cc_cfg *set = cc_cfg_obj(a);
        if (cc_cfg_len(pairs.v[p].hosts))
            cc_cfg_set(a, set, "host", pairs.v[p].hosts);
        if (*pairs.v[p].path) {
            cc_cfg *pa = cc_cfg_arr(a);
            cc_cfg_push_str(a, pa, pairs.v[p].path);
            cc_cfg_set(a, set, "path", pa);
        }
        if (set->obj.n)
            cc_cfg_push(a, sets, set);
    }
    return sets;
}

/* appendSubrouteToRouteList */
static void append_subroute(ctx *c, cc_cfg *list, cc_cfg *routes, cc_cfg *sets, size_t nsites)
{
    cc_arena *a = c->a;
    if (!cc_cfg_len(sets) && !cc_cfg_len(routes))
        return;
    bool wrap = true;
    if (!cc_cfg_len(sets) && nsites == 1) {
        bool host = false;
        for (size_t i = 0; i < cc_cfg_len(routes) && !host; i++) {
            cc_cfg *m = cc_cfg_get(cc_cfg_idx(routes, i), "match");
            for (size_t k = 0; k < cc_cfg_len(m) && !host; k++)
                host = cc_cfg_get(cc_cfg_idx(m, k), "host") != NULL;
        }
        wrap = host;
    }
    if (!wrap) {
        for (size_t i = 0; i < cc_cfg_len(routes); i++)
            cc_cfg_push(a, list, cc_cfg_idx(routes, i));
        return;
    }
    cc_cfg *r = cc_cfg_obj(a);
    if (cc_cfg_len(sets))
        cc_cfg_set(a, r, "match", sets);
    if (cc_cfg_len(routes)) {
        cc_cfg *h = cc_cfg_obj(a);
        cc_cfg_set_str(a, h, "handler", "subroute");
        cc_cfg_set(a, h, "routes", routes);
        cc_cfg_push(a, cc_cfg_child_arr(a, r, "handle"), h);
    }
    cc_cfg_set_bool(a, r, "terminal", true);
    cc_cfg_push(a, list, r);
}

/* ---- TLS connection policies ---------------------------------------------------- */

static const char *const cp_settings[] = {
    "certificate_selection",
    "cipher_suites",
    "curves",
    "alpn",
    "protocol_min",
    "protocol_max",
    "client_authentication",
    "default_sni",
    "fallback_sni",
    "insecure_secrets_log",
};

static bool cp_settings_empty(const cc_cfg *cp)
{
    for (size_t i = 0; i < sizeof(cp_settings) / sizeof(*cp_settings); i++) {
        cc_cfg *v = cc_cfg_get(cp, cp_settings[i]);
        if (v && !(v->type == CC_CFG_STR && v->s.n == 0) && v->type != CC_CFG_NULL)
            return false;
    }
    return true;
}

static cc_cfg *without_match(cc_arena *a, const cc_cfg *cp)
{
    cc_cfg *o = cc_cfg_clone(a, cp);
    cc_cfg_del(o, "match");
    return o;
}

static bool cp_settings_equal(cc_arena *a, const cc_cfg *x, const cc_cfg *y)
{
    return cc_cfg_equal(without_match(a, x), without_match(a, y));
}

static bool cp_less(const void *x, const void *y, void *unused)
{
    (void)unused;
    const cc_cfg *i = *(cc_cfg *const *)x, *j = *(cc_cfg *const *)y;
    return !cc_cfg_get(j, "match") && cc_cfg_get(i, "match");
}

static const char *go_list(cc_arena *a, const cc_cfg *v)
{
    if (!v || v->type != CC_CFG_ARR) {
        if (v && v->type == CC_CFG_STR)
            return v->s.p;
        char *j = cc_cfg_to_json(v, false, NULL);
        const char *r = cc_arena_strdup(a, j ? j : "");
        free(j);
        return r;
    }
    char *s = cc_arena_strdup(a, "[");
    for (size_t i = 0; i < v->arr.n; i++) {
        const cc_cfg *e = v->arr.v[i];
        s = cc_arena_printf(a, "%s%s%s", s, i ? " " : "",
                            e->type == CC_CFG_STR ? e->s.p : go_list(a, e));
    }
    return cc_arena_printf(a, "%s]", s);
}

static bool nonempty(const cc_cfg *v)
{
    return v && !cc_cfg_is_empty(v);
}

static int consolidate_policies(ctx *c, cc_cfg *cps, size_t srvidx)
{
    cc_arena *a = c->a;
    if (!cps || cps->type != CC_CFG_ARR)
        return CC_OK;
    cc_cf_sort_stable(cps->arr.v, cps->arr.n, sizeof(cc_cfg *), cp_less, NULL);
    static const struct {
        const char *key, *what;
        bool list;
    } fields[] = {
        {"alpn", "ALPN", true},
        {"cipher_suites", "cipher suites", true},
        {"client_authentication", "client auth configuration", false},
        {"curves", "curves", true},
        {"default_sni", "default SNI", false},
        {"fallback_sni", "fallback SNI", false},
        {"protocol_min", "min protocol", false},
        {"protocol_max", "max protocol", false},
    };
    for (long i = 0; i < (long)cps->arr.n; i++) {
        for (long j = 0; j < (long)cps->arr.n; j++) {
            if (j == i)
                continue;
            cc_cfg *pi = cps->arr.v[i], *pj = cps->arr.v[j];
            if (cc_cfg_equal(pi, pj)) {
                cc_cfg_remove(cps, (size_t)j);
                i--;
                break;
            }
            cc_cfg *mi = cc_cfg_get(pi, "match"), *mj = cc_cfg_get(pj, "match");
            if (i == j - 1 && cc_cfg_len(mi) == 1 && cc_cfg_len(mj) == 1 && cc_cfg_get(mi, "sni") &&
                cc_cfg_get(mj, "sni") && cp_settings_equal(a, pi, pj)) {
                cc_cfg *merged = cc_cfg_clone(a, cc_cfg_get(mi, "sni"));
                cc_cfg *js = cc_cfg_get(mj, "sni");
                for (size_t k = 0; k < cc_cfg_len(js); k++)
                    cc_cfg_push(a, merged, cc_cfg_idx(js, k));
                cc_cfg_set(a, mi, "sni", merged);
                cc_cfg_remove(cps, (size_t)j);
                i--;
                break;
            }
            bool same = (!mi && !mj) || (mi && mj && cc_cfg_equal(mi, mj));
            if (!same)
                continue;
            for (size_t f = 0; f < sizeof(fields) / sizeof(*fields); f++) {
                cc_cfg *vi = cc_cfg_get(pi, fields[f].key), *vj = cc_cfg_get(pj, fields[f].key);
                bool conflict;
                if (strcmp(fields[f].key, "client_authentication") == 0)
                    conflict = !vi && vj;
                else
                    conflict = nonempty(vi) && nonempty(vj) && !cc_cfg_equal(vi, vj);
                if (conflict)
                    return cc_err_set(c->err,
                                      "consolidating TLS connection policies for server %zu: two "
                                      "policies with same match criteria have conflicting %s: %s "
                                      "vs. %s",
                                      srvidx, fields[f].what, go_list(a, vi), go_list(a, vj));
            }
            cc_cfg *ci = cc_cfg_get(pi, "certificate_selection"),
                   *cj = cc_cfg_get(pj, "certificate_selection");
            if (ci && cj) {
                static const char *const keys[] = {"serial_number", "subject_organization",
                                                   "public_key_algorithm", "all_tags"};
                for (size_t k = 0; k < 4; k++) {
                    cc_cfg *x = cc_cfg_get(ci, keys[k]), *y = cc_cfg_get(cj, keys[k]);
                    if (!((!x && !y) || (x && y && cc_cfg_equal(x, y))))
                        return cc_err_set(c->err,
                                          "consolidating TLS connection policies for server %zu: "
                                          "two policies with same match criteria have conflicting "
                                          "cert selections: %s vs. %s",
                                          srvidx, go_list(a, ci), go_list(a, cj));
                }
            }
            for (size_t f = 0; f < sizeof(fields) / sizeof(*fields); f++) {
                cc_cfg *vi = cc_cfg_get(pi, fields[f].key), *vj = cc_cfg_get(pj, fields[f].key);
                if (!nonempty(vi) && nonempty(vj))
                    cc_cfg_set(a, pi, fields[f].key, vj);
            }
            if (!ci && cj) {
                cc_cfg_set(a, pi, "certificate_selection", cj);
            } else if (ci && cj) {
                cc_cfg *any = cc_cfg_get(cj, "any_tag");
                for (size_t k = 0; k < cc_cfg_len(any); k++) {
                    cc_cfg *t = cc_cfg_idx(any, k);
                    cc_cfg *mine = cc_cfg_child_arr(a, ci, "any_tag");
                    if (t->type == CC_CFG_STR && !cc_cfg_arr_has_str(mine, t->s.p))
                        cc_cfg_push(a, mine, t);
                }
            }
            cc_cfg_remove(cps, (size_t)j);
            i--;
            break;
        }
    }
    return CC_OK;
}

/* certmagic.MatchWildcard */
static bool match_wildcard(cc_arena *a, const char *subject, const char *wildcard)
{
    if (strcasecmp(subject, wildcard) == 0)
        return true;
    if (!strchr(wildcard, '*'))
        return false;
    char *lab = cc_arena_strdup(a, subject);
    for (char *p = lab; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    /* replace labels from the left, one more each time */
    strvec labels = {0};
    for (char *tok = lab;;) {
        char *dot = strchr(tok, '.');
        if (dot)
            *dot = 0;
        CC_VEC_PUSH(a, &labels, tok);
        if (!dot)
            break;
        tok = dot + 1;
    }
    for (size_t i = 0; i < labels.n; i++) {
        if (!*labels.v[i])
            continue;
        labels.v[i] = "*";
        char *cand = cc_arena_strdup(a, "");
        for (size_t k = 0; k < labels.n; k++)
            cand = cc_arena_printf(a, "%s%s%s", cand, k ? "." : "", labels.v[k]);
        if (strcasecmp(cand, wildcard) == 0)
            return true;
    }
    return false;
}

static void shield_client_auth(ctx *c, cc_cfg *cps, cc_cfg *empties)
{
    cc_arena *a = c->a;
    size_t n = cc_cfg_len(cps);
    if (!n)
        return;
    strvec *wild = cc_arena_alloc(a, n * sizeof(strvec));
    strvec *shielded = cc_arena_alloc(a, n * sizeof(strvec));
    for (size_t i = 0; i < n; i++) {
        cc_cfg *cp = cc_cfg_idx(cps, i);
        if (!cc_cfg_get(cp, "client_authentication"))
            continue;
        cc_cfg *sni = cc_cfg_get(cc_cfg_get(cp, "match"), "sni");
        for (size_t k = 0; k < cc_cfg_len(sni); k++) {
            cc_cfg *h = cc_cfg_idx(sni, k);
            if (h->type == CC_CFG_STR && strchr(h->s.p, '*'))
                CC_VEC_PUSH(a, &wild[i], h->s.p);
        }
    }
    for (size_t e = 0; e < cc_cfg_len(empties); e++) {
        cc_cfg *sni = cc_cfg_get(cc_cfg_get(cc_cfg_idx(empties, e), "match"), "sni");
        for (size_t k = 0; k < cc_cfg_len(sni); k++) {
            const char *host = cc_cfg_idx(sni, k)->s.p;
            bool done = false;
            for (size_t i = 0; i < n && !done; i++)
                for (size_t w = 0; w < wild[i].n && !done; w++)
                    if (match_wildcard(a, host, wild[i].v[w])) {
                        CC_VEC_PUSH(a, &shielded[i], host);
                        done = true;
                    }
        }
    }
    for (size_t i = n; i-- > 0;) {
        if (!shielded[i].n)
            continue;
        strvec hosts = {0};
        for (size_t k = 0; k < shielded[i].n; k++)
            strvec_add_unique(a, &hosts, shielded[i].v[k]);
        strvec_sort(&hosts);
        cc_cfg *shield = cc_cfg_clone(a, cc_cfg_idx(cps, i));
        cc_cfg_del(shield, "client_authentication");
        cc_cfg *m = cc_cfg_obj(a);
        cc_cfg_set(a, m, "sni", cc_cfg_str_arr(a, hosts.v, hosts.n));
        cc_cfg_set(a, shield, "match", m);
        cc_cfg_insert(a, cps, i, shield);
    }
}

/* ---- conflicting schemes -------------------------------------------------------- */

static const char *go_str_list(cc_arena *a, const cc_cfg *arr)
{
    return go_list(a, arr);
}

static int detect_conflicts(ctx *c, const cc_cfg *listen, const subvec *subs, size_t npol)
{
    const char *mode = "";
    for (size_t i = 0; i < subs->n; i++) {
        const sub *s = subs->v[i];
        for (size_t k = 0; k < s->blk.naddrs; k++) {
            const cc_cf_addr *ad = &s->blk.addrs[k];
            const cc_token *kt = &s->blk.sb->keys[k];
            bool http = strcmp(ad->scheme, "http") == 0 || strcmp(ad->port, c->http_port) == 0;
            bool https = !http && (strcmp(ad->scheme, "https") == 0 ||
                                   strcmp(ad->port, c->https_port) == 0 || npol > 0);
            if (!http && !https && !*ad->host)
                http = true;
            if (http) {
                if (strcmp(mode, "HTTPS") == 0)
                    return cc_disp_errf_tok(
                        c->err, kt,
                        "server listening on %s is configured for HTTPS and cannot natively "
                        "multiplex HTTP and HTTPS: %s%s",
                        go_str_list(c->a, listen), ad->original,
                        !*ad->scheme && !*ad->host ? " (try specifying https:// in the address)"
                                                   : "");
                if (npol > 0)
                    return cc_disp_errf_tok(c->err, kt,
                                            "server listening on %s is HTTP, but attempts to "
                                            "configure TLS connection policies",
                                            go_str_list(c->a, listen));
                mode = "HTTP";
            } else if (https) {
                if (strcmp(mode, "HTTP") == 0)
                    return cc_disp_errf_tok(c->err, kt,
                                            "server listening on %s is configured for HTTP and "
                                            "cannot natively multiplex HTTP and HTTPS: %s",
                                            go_str_list(c->a, listen), ad->original);
                mode = "HTTPS";
            }
        }
    }
    return CC_OK;
}

/* ---- named routes --------------------------------------------------------------- */

static int add_named_routes(ctx *c, const sub *s, cc_cfg **named)
{
    cc_arena *a = c->a;
    for (size_t i = 0; i < s->blk.vals.n; i++) {
        const cc_cfval *v = &s->blk.vals.v[i];
        if (strcmp(v->cls, "named_route") != 0 || !v->val || v->val->type != CC_CFG_STR)
            continue;
        strvec todo = {0};
        CC_VEC_PUSH(a, &todo, v->val->s.p);
        for (size_t t = 0; t < todo.n; t++) {
            const char *name = todo.v[t];
            if (*named && cc_cfg_get(*named, name))
                continue;
            cc_cfg *route = cc_cfg_get(c->ad->named_routes, name);
            if (!route)
                return cc_disp_errf_tok(
                    c->err, v->tok, "cannot invoke named route '%s', which was not defined", name);
            if (!*named)
                *named = cc_cfg_obj(a);
            cc_cfg_set(a, *named, name, cc_cfg_clone(a, route));
            cc_cfg *inv = cc_cfg_get(c->invokes, name);
            for (size_t k = 0; k < cc_cfg_len(inv); k++)
                CC_VEC_PUSH(a, &todo, cc_cfg_idx(inv, k)->s.p);
        }
    }
    return CC_OK;
}

/* ---- one server ------------------------------------------------------------------ */

typedef struct srvparts {
    cc_cfg *obj; /* collected fields, assembled in Go's field order at the end */
} srvparts;

static const char *const server_key_order[] = {
    "listen",
    "listener_wrappers",
    "packet_conn_wrappers",
    "read_timeout",
    "read_header_timeout",
    "read_idle_timeout",
    "read_min_rate",
    "write_timeout",
    "write_idle_timeout",
    "write_min_rate",
    "max_write_chunk",
    "idle_timeout",
    "keepalive_interval",
    "keepalive_idle",
    "keepalive_count",
    "max_header_bytes",
    "enable_full_duplex",
    "expected_underscore_headers",
    "expected_dot_headers",
    "routes",
    "errors",
    "named_routes",
    "tls_connection_policies",
    "automatic_https",
    "strict_sni_host",
    "trusted_proxies",
    "client_ip_headers",
    "trusted_proxies_strict",
    "trusted_proxies_unix",
    "logs",
    "protocols",
    "listen_protocols",
    "allow_0rtt",
    "metrics",
    NULL,
};

static cc_cfg *ordered_server(cc_arena *a, const cc_cfg *s)
{
    cc_cfg *o = cc_cfg_obj(a);
    for (size_t i = 0; server_key_order[i]; i++) {
        cc_cfg *v = cc_cfg_get(s, server_key_order[i]);
        if (v)
            cc_cfg_set(a, o, server_key_order[i], v);
    }
    for (size_t i = 0; i < s->obj.n; i++)
        if (!cc_cfg_get(o, s->obj.k[i]))
            cc_cfg_set(a, o, s->obj.k[i], s->obj.v[i]);
    return o;
}

static const cc_token *first_key(const pairing *p)
{
    return p->subs.n && p->subs.v[0]->blk.sb->nkeys ? &p->subs.v[0]->blk.sb->keys[0] : NULL;
}

static int build_server(ctx *c, pairing *p, size_t idx, cc_cfg **out)
{
    cc_adapt *ad = c->ad;
    cc_arena *a = c->a;
    const char *default_sni = cc_cfg_get_str(ad->opts, "default_sni");
    const char *fallback_sni = cc_cfg_get_str(ad->opts, "fallback_sni");
    if (!default_sni)
        default_sni = "";
    if (!fallback_sni)
        fallback_sni = "";

    /* ambiguous site definitions */
    for (size_t j = 0; j < p->subs.n; j++) {
        const cc_sblock *sb1 = p->subs.v[j]->blk.sb;
        for (size_t k1 = 0; k1 < sb1->nkeys; k1++)
            for (size_t k = 0; k < p->subs.n; k++) {
                if (k == j)
                    continue;
                const cc_sblock *sb2 = p->subs.v[k]->blk.sb;
                for (size_t k2 = 0; k2 < sb2->nkeys; k2++)
                    if (strcmp(sb1->keys[k1].text, sb2->keys[k2].text) == 0)
                        return cc_disp_errf_tok(c->err, &sb1->keys[k1],
                                                "ambiguous site definition: %s",
                                                sb1->keys[k1].text);
            }
    }

    cc_cfg *srv = cc_cfg_obj(a);
    cc_cfg *listen = cc_cfg_str_arr(a, p->listen.v, p->listen.n);
    if (p->listen.n)
        cc_cfg_set(a, srv, "listen", listen);
    bool any_prot = false;
    cc_cfg *lp = cc_cfg_arr(a);
    for (size_t l = 0; l < p->listen.n; l++) {
        bool real = false;
        for (size_t k = 0; k < p->prots[l].n; k++)
            real = real || *p->prots[l].v[k];
        if (real) {
            cc_cfg_push(a, lp, cc_cfg_str_arr(a, p->prots[l].v, p->prots[l].n));
            any_prot = true;
        } else {
            cc_cfg_push(a, lp, cc_cfg_null(a));
        }
    }
    if (any_prot)
        cc_cfg_set(a, srv, "listen_protocols", lp);

    cc_cfg *autohttps = NULL;
    cc_cfg *ah_opt = cc_cfg_get(ad->opts, "auto_https");
    for (size_t i = 0; i < cc_cfg_len(ah_opt); i++) {
        const char *v = cc_cfg_idx(ah_opt, i)->s.p;
        const char *key = strcmp(v, "off") == 0                   ? "disable"
                          : strcmp(v, "disable_redirects") == 0   ? "disable_redirects"
                          : strcmp(v, "disable_certs") == 0       ? "disable_certificates"
                          : strcmp(v, "ignore_loaded_certs") == 0 ? "ignore_loaded_certificates"
                                                                  : NULL;
        if (!key)
            continue;
        if (!autohttps)
            autohttps = cc_cfg_obj(a);
        cc_cfg_set_bool(a, autohttps, key, true);
    }

    for (size_t j = 0; j < p->subs.n; j++) {
        const sub *s = p->subs.v[j];
        for (size_t k = 0; k < s->blk.naddrs; k++)
            if (*s->blk.addrs[k].path && ad->warns)
                cc_warn_add(ad->warns, s->blk.sb->keys[k].file, s->blk.sb->keys[k].line,
                            "Using a path in a site address is deprecated; please use the "
                            "'handle' directive instead (address: %s)",
                            cc_cf_addr_string(a, &s->blk.addrs[k]));
    }

    cc_cf_sort_stable(p->subs.v, p->subs.n, sizeof(sub *), site_less, NULL);

    bool catch_all_cp = false, qualifies_tls = false;
    cc_cfg *cps = cc_cfg_arr(a), *empties = cc_cfg_arr(a);
    cc_cfg *d_ah = cc_cfg_get(autohttps, "disable");
    bool will_add_cp = !autohttps || !(d_ah && d_ah->b);

    cc_cfg *logs = NULL;
    for (size_t j = 0; j < p->subs.n && !logs; j++)
        if (has_class(p->subs.v[j], "custom_log"))
            logs = cc_cfg_obj(a);

    cc_cfg *named = NULL;
    for (size_t j = 0; j < p->subs.n; j++)
        if (add_named_routes(c, p->subs.v[j], &named))
            return CC_ERR;

    cc_cfg *routes = cc_cfg_arr(a), *err_routes = NULL;
    cc_cfg *lwrappers = NULL, *pwrappers = NULL;
    strvec skip_hosts = {0};
    for (size_t j = 0; j < p->subs.n; j++) {
        sub *s = p->subs.v[j];
        cc_cfg *sets = site_matcher_sets(c, s);
        strvec hosts = {0};
        hosts_from_keys(c, s, &hosts);
        for (size_t h = 0; h < hosts.n; h++)
            if ((strcmp(hosts.v[h], "0.0.0.0") == 0 || strcmp(hosts.v[h], "::") == 0) && ad->warns)
                cc_warn_add(ad->warns, s->blk.sb->keys[0].file, s->blk.sb->keys[0].line,
                            "Site block has an unspecified IP address which only matches "
                            "requests having that Host header; you probably want the 'bind' "
                            "directive to configure the socket (address: %s)",
                            hosts.v[h]);
        bool force_auto = has_class(s, "tls.force_automate");
        bool has_cp = false;
        for (size_t v = 0; v < s->blk.vals.n; v++) {
            if (strcmp(s->blk.vals.v[v].cls, "tls.connection_policy") != 0)
                continue;
            has_cp = true;
            cc_cfg *cp = cc_cfg_clone(a, s->blk.vals.v[v].val);
            for (size_t h = 0; h < hosts.n; h++) {
                if (strcmp(hosts.v[h], default_sni) == 0) {
                    CC_VEC_PUSH(a, &hosts, "");
                    if (*default_sni)
                        cc_cfg_set_str(a, cp, "default_sni", default_sni);
                    break;
                }
                if (strcmp(hosts.v[h], fallback_sni) == 0) {
                    CC_VEC_PUSH(a, &hosts, "");
                    if (*fallback_sni)
                        cc_cfg_set_str(a, cp, "fallback_sni", fallback_sni);
                    break;
                }
            }
            if (hosts.n) {
                strvec_sort(&hosts);
                cc_cfg *m = cc_cfg_obj(a);
                cc_cfg_set(a, m, "sni", cc_cfg_str_arr(a, hosts.v, hosts.n));
                cc_cfg *ncp = cc_cfg_obj(a);
                cc_cfg_set(a, ncp, "match", m);
                for (size_t f = 0; f < cp->obj.n; f++)
                    if (strcmp(cp->obj.k[f], "match") != 0)
                        cc_cfg_set(a, ncp, cp->obj.k[f], cp->obj.v[f]);
                cp = ncp;
            } else {
                if (*default_sni)
                    cc_cfg_set_str(a, cp, "default_sni", default_sni);
                if (*fallback_sni)
                    cc_cfg_set_str(a, cp, "fallback_sni", fallback_sni);
            }
            if (!cp_settings_empty(cp) || (force_auto && hosts.n)) {
                cc_cfg_push(a, cps, cp);
                catch_all_cp = hosts.n == 0;
            } else if (hosts.n) {
                cc_cfg_push(a, empties, cp);
            }
        }
        if (!has_cp) {
            strvec specific = {0};
            for (size_t h = 0; h < hosts.n; h++)
                if (*hosts.v[h] && !strchr(hosts.v[h], '*'))
                    CC_VEC_PUSH(a, &specific, hosts.v[h]);
            if (specific.n) {
                strvec_sort(&specific);
                cc_cfg *ecp = cc_cfg_obj(a), *m = cc_cfg_obj(a);
                cc_cfg_set(a, m, "sni", cc_cfg_str_arr(a, specific.v, specific.n));
                cc_cfg_set(a, ecp, "match", m);
                cc_cfg_push(a, empties, ecp);
            }
        }

        for (size_t k = 0; k < s->blk.naddrs; k++) {
            const cc_cf_addr *addr = &s->blk.addrs[k];
            if (listeners_use_other_port(listen, c->http_port) &&
                strcmp(addr->scheme, "http") == 0 && *addr->host) {
                if (!autohttps)
                    autohttps = cc_cfg_obj(a);
                cc_cfg *skip = cc_cfg_child_arr(a, autohttps, "skip");
                if (!cc_cfg_arr_has_str(skip, addr->host))
                    cc_cfg_push_str(a, skip, addr->host);
            }
            bool tls_on =
                has_cp || (*addr->host && !str_arr_has(cc_cfg_get(autohttps, "skip"), addr->host));
            if (strcmp(addr->scheme, "https") == 0 ||
                (strcmp(addr->scheme, "http") != 0 && strcmp(addr->port, c->http_port) != 0 &&
                 tls_on))
                qualifies_tls = true;
            will_add_cp = will_add_cp && (strcmp(addr->port, c->https_port) == 0 ||
                                          (strcmp(addr->port, c->http_port) != 0 && *addr->host));
        }

        for (size_t v = 0; v < s->blk.vals.n; v++) {
            const char *cls = s->blk.vals.v[v].cls;
            if (strcmp(cls, "listener_wrapper") == 0) {
                if (!lwrappers)
                    lwrappers = cc_cfg_arr(a);
                cc_cfg_push(a, lwrappers, s->blk.vals.v[v].val);
            } else if (strcmp(cls, "packet_conn_wrapper") == 0) {
                if (!pwrappers)
                    pwrappers = cc_cfg_arr(a);
                cc_cfg_push(a, pwrappers, s->blk.vals.v[v].val);
            }
        }

        cc_cfg *site_routes = NULL;
        if (cc_cf_build_routes(ad, s->routes, true, c->err, NULL, &site_routes))
            return CC_ERR;
        append_subroute(c, routes, site_routes, sets, p->subs.n);

        /* error routes */
        CC_VEC(cc_cfg *) evals = {0};
        for (size_t v = 0; v < s->blk.vals.n; v++)
            if (strcmp(s->blk.vals.v[v].cls, "error_route") == 0)
                CC_VEC_PUSH(a, &evals, s->blk.vals.v[v].val);
        if (evals.n) {
            if (!err_routes)
                err_routes = cc_cfg_arr(a);
            /* Caddy's comparator puts unmatched error routes last, reversing equals */
            for (size_t x = 1; x < evals.n; x++)
                for (size_t y = x; y > 0; y--) {
                    cc_cfg *r1 = cc_cfg_idx(cc_cfg_get(evals.v[y], "routes"), 0);
                    cc_cfg *r0 = cc_cfg_idx(cc_cfg_get(evals.v[y - 1], "routes"), 0);
                    bool less = !(!cc_cfg_len(cc_cfg_get(r1, "match")) &&
                                  cc_cfg_len(cc_cfg_get(r0, "match")));
                    if (!less)
                        break;
                    cc_cfg *t = evals.v[y];
                    evals.v[y] = evals.v[y - 1];
                    evals.v[y - 1] = t;
                }
            cc_cfg *eroutes = cc_cfg_arr(a);
            for (size_t x = 0; x < evals.n; x++) {
                cc_cfg *rs = cc_cfg_get(evals.v[x], "routes");
                for (size_t k = 0; k < cc_cfg_len(rs); k++)
                    cc_cfg_push(a, eroutes, cc_cfg_clone(a, cc_cfg_idx(rs, k)));
            }
            append_subroute(c, err_routes, eroutes, sets, p->subs.n);
        }

        /* access logs */
        strvec lhosts = {0};
        log_hosts(c, s, &lhosts);
        bool any_log = false;
        for (size_t v = 0; v < s->blk.vals.n; v++) {
            if (strcmp(s->blk.vals.v[v].cls, "custom_log") != 0)
                continue;
            any_log = true;
            cc_cfg *ncl = s->blk.vals.v[v].val;
            cc_cfg *noh = cc_cfg_get(ncl, "no_hostname");
            if (noh && noh->type == CC_CFG_BOOL && noh->b)
                continue;
            const char *name = cc_cfg_get_str(ncl, "name");
            if (!name)
                name = "";
            cc_cfg *hn = cc_cfg_get(ncl, "hostnames");
            if (has_catch_all_key(s) && !cc_cfg_len(hn)) {
                if (*name)
                    cc_cfg_set_str(a, logs, "default_logger_name", name);
                else
                    cc_cfg_del(logs, "default_logger_name");
            } else if (cc_cfg_len(hn)) {
                cc_cfg *ln = cc_cfg_child_obj(a, logs, "logger_names");
                for (size_t k = 0; k < cc_cfg_len(hn); k++)
                    cc_cfg_push_str(a, cc_cfg_child_arr(a, ln, cc_cfg_idx(hn, k)->s.p), name);
            } else {
                cc_cfg *ln = cc_cfg_child_obj(a, logs, "logger_names");
                for (size_t k = 0; k < lhosts.n; k++) {
                    const char *h = lhosts.v[k];
                    const char *host = h;
                    if (h[0] == '[') {
                        const char *rb = strchr(h, ']');
                        if (rb && rb[1] == ':')
                            host = cc_arena_strndup(a, h + 1, (size_t)(rb - h - 1));
                    } else {
                        const char *col = strrchr(h, ':');
                        if (col && !memchr(h, ':', (size_t)(col - h)))
                            host = cc_arena_strndup(a, h, (size_t)(col - h));
                    }
                    cc_cfg_push_str(a, cc_cfg_child_arr(a, ln, host), name);
                }
            }
        }
        if (logs && !any_log) {
            if (!hosts.n)
                cc_cfg_set_bool(a, logs, "skip_unmapped_hosts", true);
            for (size_t k = 0; k < lhosts.n; k++)
                CC_VEC_PUSH(a, &skip_hosts, lhosts.v[k]);
        }
    }
    if (logs && skip_hosts.n) {
        strvec_sort(&skip_hosts);
        cc_cfg_set(a, logs, "skip_hosts", cc_cfg_str_arr(a, skip_hosts.v, skip_hosts.n));
    }

    if (lwrappers)
        cc_cfg_set(a, srv, "listener_wrappers", lwrappers);
    if (pwrappers)
        cc_cfg_set(a, srv, "packet_conn_wrappers", pwrappers);

    if (detect_conflicts(c, listen, &p->subs, cc_cfg_len(cps)))
        return CC_ERR;

    shield_client_auth(c, cps, empties);

    if (qualifies_tls && !catch_all_cp &&
        (cc_cfg_len(cps) > 0 || !will_add_cp || *default_sni || *fallback_sni)) {
        cc_cfg *dflt = cc_cfg_obj(a);
        if (*default_sni)
            cc_cfg_set_str(a, dflt, "default_sni", default_sni);
        if (*fallback_sni)
            cc_cfg_set_str(a, dflt, "fallback_sni", fallback_sni);
        cc_cfg_push(a, cps, dflt);
    }
    if (consolidate_policies(c, cps, idx)) {
        const cc_token *t = first_key(p);
        if (t) {
            char msg[sizeof(c->err->msg)];
            snprintf(msg, sizeof(msg), "%s", c->err->msg);
            cc_err_clear(c->err);
            cc_disp_errf_tok(c->err, t, "%s", msg);
        }
        return CC_ERR;
    }
    cc_cf_consolidate_routes(a, routes);

    if (cc_cfg_len(routes))
        cc_cfg_set(a, srv, "routes", routes);
    if (err_routes) {
        cc_cfg *e = cc_cfg_obj(a);
        if (cc_cfg_len(err_routes))
            cc_cfg_set(a, e, "routes", err_routes);
        cc_cfg_set(a, srv, "errors", e);
    }
    if (named)
        cc_cfg_set(a, srv, "named_routes", named);
    if (cc_cfg_len(cps))
        cc_cfg_set(a, srv, "tls_connection_policies", cps);
    if (autohttps)
        cc_cfg_set(a, srv, "automatic_https", autohttps);
    if (logs)
        cc_cfg_set(a, srv, "logs", logs);
    *out = srv;
    return CC_OK;
}

/* ---- the `servers` global options ------------------------------------------------- */

static int apply_server_options(ctx *c, cc_cfg *servers)
{
    cc_arena *a = c->a;
    cc_cfg *opts = cc_cfg_get(c->ad->opts, "servers");
    if (!cc_cfg_len(opts))
        return CC_OK;
    for (size_t i = 0; i < cc_cfg_len(opts); i++) {
        const char *n1 = cc_cfg_get_str(cc_cfg_idx(opts, i), "name");
        for (size_t k = 0; n1 && *n1 && k < i; k++) {
            const char *n2 = cc_cfg_get_str(cc_cfg_idx(opts, k), "name");
            if (n2 && strcmp(n1, n2) == 0) {
                cc_cfg *o = cc_cfg_idx(opts, i);
                return cc_err_setat(c->err, o->file, o->line,
                                    "applying global server options: cannot use duplicate server "
                                    "name '%s'",
                                    n1);
            }
        }
    }
    static const char *const replaced[] = {"listener_wrappers", "packet_conn_wrappers", "metrics",
                                           NULL};
    for (size_t s = 0; s < servers->obj.n; s++) {
        cc_cfg *srv = servers->obj.v[s];
        cc_cfg *listen = cc_cfg_get(srv, "listen");
        cc_cfg *o = NULL;
        for (size_t i = 0; i < cc_cfg_len(opts) && !o; i++) {
            const char *la = cc_cfg_get_str(cc_cfg_idx(opts, i), "listener_address");
            if (!la || !*la || str_arr_has(listen, la))
                o = cc_cfg_idx(opts, i);
        }
        if (!o)
            continue;
        for (size_t k = 0; replaced[k]; k++)
            cc_cfg_del(srv, replaced[k]);
        for (size_t f = 0; f < o->obj.n; f++) {
            const char *k = o->obj.k[f];
            if (strcmp(k, "listener_address") == 0 || strcmp(k, "name") == 0)
                continue;
            if (strcmp(k, "logs") == 0 && o->obj.v[f]->type == CC_CFG_OBJ) {
                cc_cfg *logs = cc_cfg_child_obj(a, srv, "logs");
                for (size_t x = 0; x < o->obj.v[f]->obj.n; x++)
                    cc_cfg_set(a, logs, o->obj.v[f]->obj.k[x], o->obj.v[f]->obj.v[x]);
                continue;
            }
            cc_cfg_set(a, srv, k, cc_cfg_clone(a, o->obj.v[f]));
        }
        const char *name = cc_cfg_get_str(o, "name");
        if (name && *name)
            servers->obj.k[s] = cc_arena_strdup(a, name);
    }
    return CC_OK;
}

int cc_cf_build_http(cc_adapt *ad, cc_cfg *invokes)
{
    cc_arena *a = ad->a;
    ctx c = {ad, a, ad->err, "80", "443", NULL, invokes};
    cc_cfg *hp = cc_cfg_get(ad->opts, "http_port"), *hsp = cc_cfg_get(ad->opts, "https_port");
    if (hp && hp->type == CC_CFG_INT)
        c.http_port = cc_arena_printf(a, "%lld", (long long)hp->i);
    if (hsp && hsp->type == CC_CFG_INT)
        c.https_port = cc_arena_printf(a, "%lld", (long long)hsp->i);

    c.block_routes = cc_arena_alloc(a, (ad->nblocks ? ad->nblocks : 1) * sizeof(cc_cfvals));
    for (size_t b = 0; b < ad->nblocks; b++)
        for (size_t i = 0; i < ad->blocks[b].vals.n; i++)
            if (strcmp(ad->blocks[b].vals.v[i].cls, "route") == 0)
                CC_VEC_PUSH(a, &c.block_routes[b], ad->blocks[b].vals.v[i]);

    entryvec ev = {0};
    if (map_blocks(&c, &ev))
        return CC_ERR;
    pairingvec pv = {0};
    consolidate(&c, &ev, &pv);

    cc_cfg *servers = cc_cfg_obj(a);
    ad->npairings = pv.n;
    ad->pairings = cc_arena_alloc(a, (pv.n ? pv.n : 1) * sizeof(cc_cf_pairing));
    for (size_t i = 0; i < pv.n; i++) {
        cc_cfg *srv = NULL;
        if (build_server(&c, &pv.v[i], i, &srv))
            return CC_ERR;
        cc_cfg_set(a, servers, cc_arena_printf(a, "srv%zu", i), srv);
        cc_cf_pairing *p = &ad->pairings[i];
        p->listen = pv.v[i].listen.v;
        p->nlisten = pv.v[i].listen.n;
        p->nblocks = pv.v[i].subs.n;
        p->blocks = cc_arena_alloc(a, (p->nblocks ? p->nblocks : 1) * sizeof(cc_cf_block *));
        for (size_t k = 0; k < p->nblocks; k++)
            p->blocks[k] = &pv.v[i].subs.v[k]->blk;
    }
    if (apply_server_options(&c, servers))
        return CC_ERR;

    /* hoist per-server metrics to the app */
    cc_cfg *metrics = cc_cfg_get(ad->opts, "metrics");
    if (metrics)
        metrics = cc_cfg_clone(a, metrics);
    for (size_t s = 0; s < servers->obj.n; s++) {
        cc_cfg *m = cc_cfg_get(servers->obj.v[s], "metrics");
        if (!m)
            continue;
        cc_cfg *ph = cc_cfg_get(metrics, "per_host"), *sph = cc_cfg_get(m, "per_host");
        bool per_host =
            (ph && ph->type == CC_CFG_BOOL && ph->b) || (sph && sph->type == CC_CFG_BOOL && sph->b);
        metrics = cc_cfg_obj(a);
        if (per_host)
            cc_cfg_set_bool(a, metrics, "per_host", true);
        cc_cfg_del(servers->obj.v[s], "metrics");
    }

    for (size_t s = 0; s < servers->obj.n; s++) {
        servers->obj.v[s] = ordered_server(a, servers->obj.v[s]);
        ad->pairings[s].name = servers->obj.k[s];
        ad->pairings[s].server = servers->obj.v[s];
    }

    if (!servers->obj.n)
        return CC_OK;
    cc_cfg *http = cc_cfg_obj(a);
    static const char *const app_keys[] = {"http_port", "https_port", "grace_period",
                                           "shutdown_delay"};
    for (size_t i = 0; i < 4; i++) {
        cc_cfg *v = cc_cfg_get(ad->opts, app_keys[i]);
        if (v && !(v->type == CC_CFG_INT && v->i == 0))
            cc_cfg_set(a, http, app_keys[i], v);
    }
    if (metrics)
        cc_cfg_set(a, http, "metrics", metrics);
    cc_cfg_set(a, http, "servers", servers);
    cc_cfg_set(a, cc_cfg_child_obj(a, ad->root, "apps"), "http", http);
    return CC_OK;
}
