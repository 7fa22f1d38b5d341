/* SPDX-License-Identifier: Apache-2.0
 * Automatic HTTPS (Caddy's autohttps.go, phase 1, on the JSON config): per server, the
 * host names of its routes decide whether it gets TLS, which names get managed
 * certificates (ACME for public names, the internal CA for local names and IPs), and the
 * HTTP->HTTPS redirect routes added to the server on http_port or to a new server named
 * "remaining_auto_https_redirects". The implicit automation policies are written into
 * apps.tls like Caddy's in-memory ones, then everything is summed up in the plan. */
#include "autohttps_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/log.h"

typedef struct ah_addr {
    char net[16];
    char host[256];
    unsigned start, end;
} ah_addr;

/* caddy.ParseNetworkAddress for listener addresses ("[net/]host:port[-port]"). */
static bool parse_addr(const char *s, ah_addr *o)
{
    memset(o, 0, sizeof(*o));
    const char *slash = strchr(s, '/');
    if (slash && (size_t)(slash - s) < sizeof(o->net) && !strchr(s, '[')) {
        memcpy(o->net, s, (size_t)(slash - s));
        s = slash + 1;
        if (strncmp(o->net, "unix", 4) == 0)
            return true; /* a socket: no port */
    }
    const char *colon;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return false;
        if ((size_t)(rb - s - 1) >= sizeof(o->host))
            return false;
        memcpy(o->host, s + 1, (size_t)(rb - s - 1));
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || strchr(s, ':') != colon || (size_t)(colon - s) >= sizeof(o->host))
            return false;
        memcpy(o->host, s, (size_t)(colon - s));
    }
    char *end;
    unsigned long a = strtoul(colon + 1, &end, 10);
    if (end == colon + 1 || a > 65535)
        return false;
    unsigned long b = a;
    if (*end == '-') {
        const char *p = end + 1;
        b = strtoul(p, &end, 10);
        if (end == p || b > 65535 || b < a)
            return false;
    }
    if (*end)
        return false;
    o->start = (unsigned)a;
    o->end = (unsigned)b;
    return true;
}

/* NetworkAddress.String(): the default "tcp" network is omitted. */
static char *addr_str(cc_arena *a, const ah_addr *x, unsigned port)
{
    const char *net = strcmp(x->net, "tcp") == 0 ? "" : x->net;
    bool v6 = strchr(x->host, ':') != NULL;
    return cc_arena_printf(a, "%s%s%s%s%s:%u", net, *net ? "/" : "", v6 ? "[" : "", x->host,
                           v6 ? "]" : "", port);
}

static bool uses_other_port(const cc_cfg *listen, unsigned port)
{
    for (size_t i = 0; i < cc_cfg_len(listen); i++) {
        const cc_cfg *l = cc_cfg_idx(listen, i);
        ah_addr x;
        if (l->type != CC_CFG_STR || !parse_addr(l->s.p, &x))
            continue;
        if (port > x.end || port < x.start)
            return true;
    }
    return false;
}

static bool has_listener_port(const cc_cfg *listen, const ah_addr *want)
{
    for (size_t i = 0; i < cc_cfg_len(listen); i++) {
        const cc_cfg *l = cc_cfg_idx(listen, i);
        ah_addr x;
        if (l->type != CC_CFG_STR || !parse_addr(l->s.p, &x) || strcmp(x.net, want->net) != 0)
            continue;
        if (x.start <= want->start && want->start <= x.end)
            return true;
    }
    return false;
}

void ah_add_cert_name(cc_arena *a, ah_state *st, const char *name)
{
    for (size_t i = 0; i < st->cert_names.n; i++)
        if (strcmp(st->cert_names.v[i], name) == 0)
            return;
    CC_VEC_PUSH(a, &st->cert_names, cc_arena_strdup(a, name));
}

static bool get_bool(const cc_cfg *o, const char *k)
{
    const cc_cfg *v = cc_cfg_get(o, k);
    return v && v->type == CC_CFG_BOOL && v->b;
}

/* The global placeholders a host matcher may use before any request exists: {env.*}. */
static int expand_host(cc_arena *a, const char *in, const char **out, cc_err *err)
{
    if (!strchr(in, '{')) {
        *out = in;
        return CC_OK;
    }
    size_t cap = strlen(in) + 1;
    char *buf = cc_xmalloc(cap);
    size_t o = 0;
    for (const char *p = in; *p;) {
        const char *close = p[0] == '{' ? strchr(p, '}') : NULL;
        if (close && strncmp(p, "{env.", 5) == 0) {
            char name[256];
            size_t n = (size_t)(close - p - 5);
            if (n >= sizeof(name))
                n = sizeof(name) - 1;
            memcpy(name, p + 5, n);
            name[n] = '\0';
            const char *v = getenv(name);
            if (!v || !*v) {
                free(buf);
                return cc_err_set(err, "evaluated placeholder {env.%s} is empty", name);
            }
            size_t vn = strlen(v);
            cap += vn;
            buf = cc_xrealloc(buf, cap);
            memcpy(buf + o, v, vn);
            o += vn;
            p = close + 1;
            continue;
        }
        buf[o++] = *p++;
    }
    buf[o] = '\0';
    *out = cc_arena_strdup(a, buf);
    free(buf);
    return CC_OK;
}

typedef struct dom_addrs {
    const char *domain; /* "" = catch-all (TLS without names) */
    CC_VEC(ah_addr) addrs;
} dom_addrs;

typedef CC_VEC(dom_addrs) dom_vec;

/* recordAutoHTTPSRedirectAddress: one winning port per domain, every bind address on it. */
static void record_redirect(cc_arena *a, dom_vec *v, const char *domain, const ah_addr *x,
                            unsigned https_port)
{
    dom_addrs *d = NULL;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->v[i].domain, domain) == 0)
            d = &v->v[i];
    if (!d) {
        dom_addrs nd = {domain, {0}};
        CC_VEC_PUSH(a, v, nd);
        d = &v->v[v->n - 1];
    }
    if (d->addrs.n == 0) {
        CC_VEC_PUSH(a, &d->addrs, *x);
        return;
    }
    unsigned have = d->addrs.v[0].start;
    if (x->start != have) {
        if (x->start == https_port && have != https_port) {
            d->addrs.n = 0;
            CC_VEC_PUSH(a, &d->addrs, *x);
        }
        return;
    }
    for (size_t i = 0; i < d->addrs.n; i++)
        if (memcmp(&d->addrs.v[i], x, sizeof(*x)) == 0)
            return;
    CC_VEC_PUSH(a, &d->addrs, *x);
}

/* makeRedirRoute: 308 to https://{host}[:port]{uri}, closing the connection. */
static cc_cfg *redir_route(cc_arena *a, unsigned to_port, const char *const *hosts, size_t nhosts,
                           int http_port, int https_port)
{
    char port[16] = "";
    if (to_port != (unsigned)http_port && to_port != (unsigned)https_port && to_port != 80 &&
        to_port != 443)
        snprintf(port, sizeof(port), ":%u", to_port);
    cc_cfg *m = cc_cfg_obj(a);
    if (nhosts)
        cc_cfg_set(a, m, "host", cc_cfg_str_arr(a, hosts, nhosts));
    cc_cfg_set_str(a, m, "protocol", "http");
    cc_cfg *match = cc_cfg_arr(a);
    cc_cfg_push(a, match, m);
    cc_cfg *h = cc_cfg_obj(a);
    cc_cfg_set_str(a, h, "handler", "static_response");
    cc_cfg_set_int(a, h, "status_code", 308);
    cc_cfg *hdr = cc_cfg_child_obj(a, h, "headers");
    cc_cfg *loc = cc_cfg_child_arr(a, hdr, "Location");
    cc_cfg_push_str(a, loc,
                    cc_arena_printf(a, "https://{http.request.host}%s{http.request.uri}", port));
    cc_cfg_set_bool(a, h, "close", true);
    cc_cfg *route = cc_cfg_obj(a);
    cc_cfg_set(a, route, "match", match);
    cc_cfg *handle = cc_cfg_child_arr(a, route, "handle");
    cc_cfg_push(a, handle, h);
    return route;
}

/* The first host of a redirect route ("" for the catch-all). */
static const char *route_host(const cc_cfg *r)
{
    const cc_cfg *hosts = cc_cfg_get(cc_cfg_idx(cc_cfg_get(r, "match"), 0), "host");
    const cc_cfg *h = cc_cfg_idx(hosts, 0);
    return h && h->type == CC_CFG_STR ? h->s.p : "";
}

/* Exact hosts before wildcards, longer before shorter, then alphabetical; catch-all last. */
static int route_cmp(const void *pa, const void *pb)
{
    const char *a = route_host(*(cc_cfg *const *)pa), *b = route_host(*(cc_cfg *const *)pb);
    if (!*a != !*b)
        return !*a ? 1 : -1;
    bool wa = strchr(a, '*') != NULL, wb = strchr(b, '*') != NULL;
    if (wa != wb)
        return wa ? 1 : -1;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la > lb ? -1 : 1;
    return strcmp(a, b);
}

/* findLastRouteWithHostMatcher */
static size_t last_host_route(const cc_cfg *routes)
{
    size_t last = 0;
    bool found = false;
    for (size_t i = 0; i < cc_cfg_len(routes); i++) {
        const cc_cfg *match = cc_cfg_get(cc_cfg_idx(routes, i), "match");
        for (size_t k = 0; k < cc_cfg_len(match); k++)
            if (cc_cfg_get(cc_cfg_idx(match, k), "host")) {
                found = true;
                last = i + 1;
                break;
            }
    }
    return found ? last : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- automation policies (createAutomationPolicies) ---- */

static bool policy_all_internal(const cc_cfg *pol)
{
    const cc_cfg *subj = cc_cfg_get(pol, "subjects");
    for (size_t i = 0; i < cc_cfg_len(subj); i++) {
        const cc_cfg *s = cc_cfg_idx(subj, i);
        if (s->type == CC_CFG_STR && !cc_ah_is_internal(s->s.p))
            return false;
    }
    return true;
}

static cc_cfg *internal_issuers(cc_arena *a)
{
    cc_cfg *arr = cc_cfg_arr(a), *iss = cc_cfg_obj(a);
    cc_cfg_set_str(a, iss, "module", "internal");
    cc_cfg_push(a, arr, iss);
    return arr;
}

/* TLS.AddAutomationPolicy: before the first policy that covers it less specifically. */
static void add_policy(cc_arena *a, cc_cfg *policies, cc_cfg *ap)
{
    const cc_cfg *subj = cc_cfg_get(ap, "subjects");
    for (size_t i = 0; i < cc_cfg_len(policies); i++) {
        const cc_cfg *ex = cc_cfg_idx(policies, i);
        const cc_cfg *esubj = cc_cfg_get(ex, "subjects");
        bool superset = false;
        for (size_t s = 0; s < cc_cfg_len(subj) && !superset; s++)
            for (size_t o = 0; o < cc_cfg_len(esubj) && !superset; o++) {
                const cc_cfg *x = cc_cfg_idx(subj, s), *y = cc_cfg_idx(esubj, o);
                superset = x->type == CC_CFG_STR && y->type == CC_CFG_STR &&
                           cc_ah_match_wildcard(x->s.p, y->s.p);
            }
        if (superset || cc_cfg_len(esubj) < cc_cfg_len(subj)) {
            cc_cfg_insert(a, policies, i, ap);
            return;
        }
    }
    cc_cfg_push(a, policies, ap);
}

static void create_policies(cc_arena *a, cc_cfg *config, const char *const *internal,
                            size_t ninternal)
{
    cc_cfg *apps = cc_cfg_child_obj(a, config, "apps");
    cc_cfg *tls = cc_cfg_child_obj(a, apps, "tls");
    cc_cfg *autom = cc_cfg_child_obj(a, tls, "automation");
    cc_cfg *policies = cc_cfg_child_arr(a, autom, "policies");
    cc_cfg *base = NULL;
    for (size_t i = 0; i < cc_cfg_len(policies) && !base; i++)
        if (cc_cfg_len(cc_cfg_get(cc_cfg_idx(policies, i), "subjects")) == 0)
            base = cc_cfg_idx(policies, i);
    if (!base) {
        base = cc_cfg_obj(a);
        add_policy(a, policies, base);
    }
    if (ninternal == 0)
        return;
    cc_cfg *np = cc_cfg_clone(a, base);
    cc_cfg_set(a, np, "subjects", cc_cfg_str_arr(a, internal, ninternal));
    cc_cfg_set(a, np, "issuers", internal_issuers(a));
    add_policy(a, policies, np);
}

/* ---- servers ---- */

typedef struct srv_ref {
    const char *name;
    cc_cfg *srv;
} srv_ref;

static int srv_cmp(const void *a, const void *b)
{
    return strcmp(((const srv_ref *)a)->name, ((const srv_ref *)b)->name);
}

static bool arr_has(const cc_cfg *arr, const char *s)
{
    return cc_cfg_arr_has_str(arr, s);
}

static bool loaded_covers(const ah_state *st, const char *name)
{
    for (size_t i = 0; i < st->loaded.n; i++)
        for (size_t k = 0; k < st->loaded.v[i].nnames; k++)
            if (cc_ah_match_wildcard(name, st->loaded.v[i].names[k]))
                return true;
    return false;
}

static void log_info(const char *msg, const char *k, const char *v)
{
    cc_arena *a = cc_arena_new(512);
    cc_cfg *extra = cc_cfg_obj(a);
    if (k)
        cc_cfg_set_str(a, extra, k, v);
    cc_log(CC_LOG_INFO, "http.auto_https", k ? extra : NULL, "%s", msg);
    cc_arena_free(a);
}

typedef struct redir_srv {
    const char *addr; /* on http_port */
    ah_addr parsed;
    CC_VEC(cc_cfg *) routes;
} redir_srv;

/* Phase 1 over the servers; fills st, and the redirects to add in rs. */
static int scan_servers(cc_arena *a, srv_ref *srvs, size_t nsrv, int http_port, int https_port,
                        ah_state *st, dom_vec *redir, const cc_cfg **log_cfg, bool *all_disabled,
                        cc_err *err)
{
    *all_disabled = true;
    for (size_t si = 0; si < nsrv; si++) {
        cc_cfg *srv = srvs[si].srv;
        const char *sname = srvs[si].name;
        if (srv->type != CC_CFG_OBJ)
            continue;
        const cc_cfg *ah = cc_cfg_get(srv, "automatic_https");
        if (get_bool(ah, "disable")) {
            log_info("automatic HTTPS is completely disabled for server", "server_name", sname);
            continue;
        }
        const cc_cfg *listen = cc_cfg_get(srv, "listen");
        if (!uses_other_port(listen, (unsigned)http_port))
            continue; /* only on the HTTP port: plain HTTP */
        *all_disabled = false;
        if (!cc_cfg_get(srv, "tls_connection_policies") &&
            !uses_other_port(listen, (unsigned)https_port)) {
            cc_cfg *one = cc_cfg_arr(a);
            cc_cfg_push(a, one, cc_cfg_obj(a));
            cc_cfg_set(a, srv, "tls_connection_policies", one);
        }
        const cc_cfg *skip = cc_cfg_get(ah, "skip");
        CC_VEC(const char *) domains = {0};
        const cc_cfg *routes = cc_cfg_get(srv, "routes");
        for (size_t r = 0; r < cc_cfg_len(routes); r++) {
            const cc_cfg *match = cc_cfg_get(cc_cfg_idx(routes, r), "match");
            for (size_t m = 0; m < cc_cfg_len(match); m++) {
                const cc_cfg *hosts = cc_cfg_get(cc_cfg_idx(match, m), "host");
                for (size_t h = 0; h < cc_cfg_len(hosts); h++) {
                    const cc_cfg *hv = cc_cfg_idx(hosts, h);
                    if (hv->type != CC_CFG_STR)
                        continue;
                    const char *d = NULL;
                    cc_err e = {0};
                    if (expand_host(a, hv->s.p, &d, &e) != CC_OK)
                        return cc_err_setat(err, hv->file, hv->line,
                                            "%s: route %zu, matcher set %zu, matcher 0, host "
                                            "matcher %zu: %s",
                                            sname, r, m, h, e.msg);
                    if (arr_has(skip, d))
                        continue;
                    bool dup = false;
                    for (size_t k = 0; k < domains.n && !dup; k++)
                        dup = strcmp(domains.v[k], d) == 0;
                    if (!dup)
                        CC_VEC_PUSH(a, &domains, d);
                }
            }
        }
        const cc_cfg *pols = cc_cfg_get(srv, "tls_connection_policies");
        if (domains.n == 0 && cc_cfg_len(pols) == 0)
            continue;
        const cc_cfg *logs = cc_cfg_get(srv, "logs");
        if (logs)
            *log_cfg = logs;
        if (!get_bool(ah, "disable_certificates")) {
            const cc_cfg *skip_certs = cc_cfg_get(ah, "skip_certificates");
            bool ignore_loaded = get_bool(ah, "ignore_loaded_certificates");
            for (size_t k = 0; k < domains.n; k++) {
                const char *d = domains.v[k];
                if (!cc_ah_qualifies_for_cert(d) || arr_has(skip_certs, d))
                    continue;
                if (!ignore_loaded && loaded_covers(st, d)) {
                    log_info("skipping automatic certificate management because one or more "
                             "matching certificates are already loaded",
                             "domain", d);
                    continue;
                }
                if (strchr(d, '*')) {
                    size_t dots = 0;
                    for (const char *p = d; *p; p++)
                        dots += *p == '.';
                    if (dots == 1)
                        cc_log(CC_LOG_WARN, "http.auto_https", NULL,
                               "most clients do not trust second-level wildcard certificates "
                               "(*.tld): %s",
                               d);
                }
                ah_add_cert_name(a, st, d);
            }
        }
        if (!pols) {
            cc_cfg *one = cc_cfg_arr(a);
            cc_cfg_push(a, one, cc_cfg_obj(a));
            cc_cfg_set(a, srv, "tls_connection_policies", one);
        }
        if (get_bool(ah, "disable_redirects"))
            continue;
        for (size_t l = 0; l < cc_cfg_len(listen); l++) {
            const cc_cfg *lv = cc_cfg_idx(listen, l);
            ah_addr x;
            if (lv->type != CC_CFG_STR || !parse_addr(lv->s.p, &x)) {
                const char *txt = lv->type == CC_CFG_STR ? lv->s.p : "";
                size_t colons = 0;
                for (const char *p = txt; *p; p++)
                    colons += *p == ':';
                return cc_err_setat(err, lv->file, lv->line, "%s: invalid listener address: %s%s",
                                    sname, txt,
                                    colons > 1 ? ", there are too many colons, so the port is "
                                                 "ambiguous. Did you mean to wrap the IPv6 "
                                                 "address with [] brackets?"
                                               : "");
            }
            if (x.net[0] && strncmp(x.net, "unix", 4) == 0)
                continue;
            if (domains.n == 0)
                record_redirect(a, redir, "", &x, (unsigned)https_port);
            for (size_t k = 0; k < domains.n; k++)
                record_redirect(a, redir, domains.v[k], &x, (unsigned)https_port);
        }
    }
    return CC_OK;
}

static void add_redirects(cc_arena *a, cc_cfg *servers, srv_ref *srvs, size_t nsrv,
                          const dom_vec *redir, bool have_cert_names, const cc_cfg *log_cfg,
                          int http_port, int https_port)
{
    /* group the domains by HTTPS address, then the routes by HTTP address */
    typedef struct by_addr {
        const char *addr;
        ah_addr parsed;
        CC_VEC(const char *) domains;
    } by_addr;
    CC_VEC(by_addr) groups = {0};
    for (size_t i = 0; i < redir->n; i++)
        for (size_t k = 0; k < redir->v[i].addrs.n; k++) {
            const ah_addr *x = &redir->v[i].addrs.v[k];
            const char *key = addr_str(a, x, x->start);
            by_addr *g = NULL;
            for (size_t j = 0; j < groups.n && !g; j++)
                if (strcmp(groups.v[j].addr, key) == 0)
                    g = &groups.v[j];
            if (!g) {
                by_addr ng = {key, *x, {0}};
                CC_VEC_PUSH(a, &groups, ng);
                g = &groups.v[groups.n - 1];
            }
            CC_VEC_PUSH(a, &g->domains, redir->v[i].domain);
        }
    CC_VEC(redir_srv) rs = {0};
    for (size_t j = 0; j < groups.n; j++) {
        by_addr *g = &groups.v[j];
        bool catch_all = g->domains.n == 1 && !*g->domains.v[0];
        cc_cfg *route = redir_route(a, g->parsed.start, catch_all ? NULL : g->domains.v,
                                    catch_all ? 0 : g->domains.n, http_port, https_port);
        ah_addr hx = g->parsed;
        hx.start = hx.end = (unsigned)http_port;
        const char *haddr = addr_str(a, &hx, hx.start);
        redir_srv *r = NULL;
        for (size_t k = 0; k < rs.n && !r; k++)
            if (strcmp(rs.v[k].addr, haddr) == 0)
                r = &rs.v[k];
        if (!r) {
            redir_srv nr = {haddr, hx, {0}};
            CC_VEC_PUSH(a, &rs, nr);
            r = &rs.v[rs.n - 1];
        }
        CC_VEC_PUSH(a, &r->routes, route);
    }
    /* deterministic: by address */
    for (size_t i = 1; i < rs.n; i++)
        for (size_t k = i; k > 0 && strcmp(rs.v[k - 1].addr, rs.v[k].addr) > 0; k--) {
            redir_srv t = rs.v[k];
            rs.v[k] = rs.v[k - 1];
            rs.v[k - 1] = t;
        }
    CC_VEC(const char *) rem_addrs = {0};
    CC_VEC(cc_cfg *) rem_routes = {0};
    for (size_t i = 0; i < rs.n; i++) {
        redir_srv *r = &rs.v[i];
        qsort(r->routes.v, r->routes.n, sizeof(cc_cfg *), route_cmp);
        cc_cfg *target = NULL;
        for (size_t s = 0; s < nsrv && !target; s++)
            if (srvs[s].srv->type == CC_CFG_OBJ &&
                has_listener_port(cc_cfg_get(srvs[s].srv, "listen"), &r->parsed))
                target = srvs[s].srv;
        if (target) {
            cc_cfg *routes = cc_cfg_child_arr(a, target, "routes");
            if (have_cert_names) {
                size_t at = last_host_route(routes);
                for (size_t k = 0; k < r->routes.n; k++)
                    cc_cfg_insert(a, routes, at + k, r->routes.v[k]);
            }
            cc_cfg_push(a, routes,
                        redir_route(a, (unsigned)https_port, NULL, 0, http_port, https_port));
            continue;
        }
        CC_VEC_PUSH(a, &rem_addrs, r->addr);
        for (size_t k = 0; k < r->routes.n; k++)
            CC_VEC_PUSH(a, &rem_routes, r->routes.v[k]);
    }
    if (rem_addrs.n == 0)
        return;
    qsort(rem_addrs.v, rem_addrs.n, sizeof(char *), cmp_str);
    cc_cfg *srv = cc_cfg_obj(a);
    cc_cfg_set(a, srv, "listen", cc_cfg_str_arr(a, rem_addrs.v, rem_addrs.n));
    cc_cfg *routes = cc_cfg_child_arr(a, srv, "routes");
    for (size_t k = 0; k < rem_routes.n; k++)
        cc_cfg_push(a, routes, rem_routes.v[k]);
    cc_cfg_push(a, routes, redir_route(a, (unsigned)https_port, NULL, 0, http_port, https_port));
    if (log_cfg)
        cc_cfg_set(a, srv, "logs", cc_cfg_clone(a, log_cfg));
    cc_cfg_set(a, servers, "remaining_auto_https_redirects", srv);
}

/* ---- the plan ---- */

static int build_plan(cc_arena *a, cc_autohttps *plan, const cc_cfg *config, ah_state *st,
                      cc_err *err)
{
    const cc_cfg *tls = cc_cfg_get(cc_cfg_get(config, "apps"), "tls");
    const cc_cfg *policies = cc_cfg_get(cc_cfg_get(tls, "automation"), "policies");
    size_t np = cc_cfg_len(policies);
    plan->policies = cc_arena_alloc(a, (np + 1) * sizeof(*plan->policies));
    for (size_t i = 0; i < np; i++) {
        const cc_cfg *pv = cc_cfg_idx(policies, i);
        if (ah_parse_policy(a, pv, &plan->policies[i], err) != CC_OK)
            return CC_ERR;
        if (get_bool(pv, "on_demand"))
            cc_log(CC_LOG_WARN, "tls", NULL,
                   "on-demand TLS is not supported by caddy-c: certificates of the policy's "
                   "configured names are obtained ahead of time, other names are not served");
    }
    plan->npolicies = np;
    plan->names = cc_arena_alloc(a, (st->cert_names.n + 1) * sizeof(*plan->names));
    for (size_t i = 0; i < st->cert_names.n; i++) {
        const char *name = st->cert_names.v[i];
        const cc_ah_policy *pol = cc_ah_policy_for(plan, name);
        if (!pol) {
            /* no policy: certmagic's default public (ACME) or internal one, for this name
             * only (a catch-all here would capture names of the other kind) */
            bool internal = !cc_ah_qualifies_for_public_cert(name) || cc_ah_is_ip(name);
            cc_ah_policy def = {0};
            def.nissuers = 1;
            def.issuers = cc_arena_alloc(a, sizeof(*def.issuers));
            def.renewal_ratio = 1.0 / 3;
            def.subjects = cc_arena_alloc(a, sizeof(char *));
            def.subjects[0] = name;
            def.nsubjects = 1;
            if (internal) {
                def.issuers[0].kind = CC_ISS_INTERNAL;
                def.issuers[0].ca = CC_CA_DEFAULT_ID;
            } else {
                def.issuers[0].kind = CC_ISS_ACME;
                def.issuers[0].directory = CC_AH_LE_PROD;
            }
            cc_ah_policy *grown = cc_arena_alloc(a, (plan->npolicies + 1) * sizeof(*grown));
            memcpy(grown, plan->policies, plan->npolicies * sizeof(*grown));
            plan->policies = grown;
            plan->policies[plan->npolicies++] = def;
            pol = &plan->policies[plan->npolicies - 1];
        }
        plan->names[plan->nnames++] = (cc_ah_name){name, (size_t)(pol - plan->policies)};
    }
    plan->loaded = st->loaded.v;
    plan->nloaded = st->loaded.n;
    return CC_OK;
}

cc_autohttps *cc_autohttps_apply(cc_arena *a, cc_cfg *config, cc_err *err)
{
    cc_autohttps *plan = cc_arena_alloc(a, sizeof(*plan));
    plan->http_port = 80;
    plan->https_port = 443;
    plan->renew_interval = 600;
    plan->install_trust = true;
    if (!config || config->type != CC_CFG_OBJ)
        return plan;
    cc_cfg *apps = cc_cfg_get(config, "apps");
    cc_cfg *http = cc_cfg_get(apps, "http");
    const cc_cfg *tls = cc_cfg_get(apps, "tls");
    const cc_cfg *hp = cc_cfg_get(http, "http_port"), *sp = cc_cfg_get(http, "https_port");
    if (hp && hp->type == CC_CFG_INT)
        plan->http_port = (int)hp->i;
    if (sp && sp->type == CC_CFG_INT)
        plan->https_port = (int)sp->i;
    int64_t ri = 0;
    if (ah_duration(cc_cfg_get(cc_cfg_get(tls, "automation"), "renew_interval"), &ri, err) != CC_OK)
        return NULL;
    if (ri > 0)
        plan->renew_interval = ri / 1000000000 > 0 ? ri / 1000000000 : 1;
    if (ah_load_cas(a, plan, cc_cfg_get(apps, "pki"), err) != CC_OK)
        return NULL;
    ah_state st = {0};
    if (ah_load_certs(a, &st, tls, err) != CC_OK)
        return NULL;

    cc_cfg *servers = cc_cfg_get(http, "servers");
    size_t nsrv = servers && servers->type == CC_CFG_OBJ ? servers->obj.n : 0;
    srv_ref *srvs = cc_arena_alloc(a, (nsrv + 1) * sizeof(*srvs));
    for (size_t i = 0; i < nsrv; i++)
        srvs[i] = (srv_ref){servers->obj.k[i], servers->obj.v[i]};
    qsort(srvs, nsrv, sizeof(*srvs), srv_cmp);

    dom_vec redir = {0};
    const cc_cfg *log_cfg = NULL;
    bool all_disabled = true;
    size_t automate_names = st.cert_names.n;
    if (scan_servers(a, srvs, nsrv, plan->http_port, plan->https_port, &st, &redir, &log_cfg,
                     &all_disabled, err) != CC_OK)
        return NULL;

    if (!all_disabled || st.cert_names.n > automate_names) {
        CC_VEC(const char *) internal = {0};
        cc_cfg *pols = cc_cfg_get(cc_cfg_get(cc_cfg_get(apps, "tls"), "automation"), "policies");
        bool explicit_policies = cc_cfg_len(pols) > 0;
        size_t keep = 0;
        for (size_t i = 0; i < st.cert_names.n; i++) {
            const char *d = st.cert_names.v[i];
            bool has_policy = false;
            for (size_t p = 0; p < cc_cfg_len(pols) && !has_policy; p++) {
                cc_cfg *ap = cc_cfg_idx(pols, p);
                if (!arr_has(cc_cfg_get(ap, "subjects"), d))
                    continue;
                has_policy = true;
                if (cc_cfg_len(cc_cfg_get(ap, "issuers")) == 0 && policy_all_internal(ap))
                    cc_cfg_set(a, ap, "issuers", internal_issuers(a));
            }
            size_t len = strlen(d);
            if (len > 7 && strcasecmp(d + len - 7, ".ts.net") == 0) {
                cc_log(CC_LOG_WARN, "http.auto_https", NULL,
                       "%s: certificates from Tailscale are not supported by caddy-c; the name "
                       "gets no managed certificate",
                       d);
                continue;
            }
            st.cert_names.v[keep++] = d;
            if (has_policy)
                continue;
            if (!cc_ah_qualifies_for_public_cert(d) || (cc_ah_is_ip(d) && !explicit_policies))
                CC_VEC_PUSH(a, &internal, d);
        }
        st.cert_names.n = keep;
        create_policies(a, config, internal.v, internal.n);
        apps = cc_cfg_get(config, "apps");
        add_redirects(a, servers, srvs, nsrv, &redir, st.cert_names.n > 0, log_cfg, plan->http_port,
                      plan->https_port);
    }

    for (size_t i = 0; i < nsrv && !plan->default_sni; i++) {
        const cc_cfg *pols = cc_cfg_get(srvs[i].srv, "tls_connection_policies");
        for (size_t k = 0; k < cc_cfg_len(pols) && !plan->default_sni; k++) {
            const char *d = cc_cfg_get_str(cc_cfg_idx(pols, k), "default_sni");
            if (d && *d)
                plan->default_sni = cc_arena_strdup(a, d);
        }
    }
    if (build_plan(a, plan, config, &st, err) != CC_OK)
        return NULL;
    return plan;
}
