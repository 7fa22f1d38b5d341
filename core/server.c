/* SPDX-License-Identifier: Apache-2.0
 * Loading a config into servers (apps.http.servers) and serving one request on one:
 * routes, Caddy's error flow into errors.routes, the client IP from trusted proxies,
 * and the commit-time response filters. A loaded config is refcounted so a reload can
 * swap it while requests on the old one finish. */
#include "server.h"

#include "async.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipnet.h"
#include "log.h"
#include "log_priv.h"
#include "replacer.h"

/* What a server keeps beyond cc_server (which the engine sees): found by pointer. */
typedef struct server_priv {
    cc_server pub; /* first: a cc_server* is a server_priv* */
    cc_ipnet *trusted;
    size_t ntrusted;
    bool has_trusted;
    const char **ip_headers;
    size_t nip_headers;
    bool strict;
    const cc_runtime *rt; /* for its logs */
} server_priv;

/* ---- durations: integer nanoseconds, or Go duration strings ("1m30s") ---- */

static bool parse_go_duration(const char *s, int64_t *out)
{
    double total = 0;
    bool neg = false;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (!*s)
        return false;
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return true;
    }
    while (*s) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno)
            return false;
        s = end;
        double unit;
        if (strncmp(s, "ns", 2) == 0)
            unit = 1, s += 2;
        else if (strncmp(s, "us", 2) == 0 || strncmp(s, "\xc2\xb5s", 3) == 0)
            unit = 1e3, s += (*s == 'u' ? 2 : 3);
        else if (strncmp(s, "ms", 2) == 0)
            unit = 1e6, s += 2;
        else if (*s == 's')
            unit = 1e9, s++;
        else if (*s == 'm')
            unit = 60e9, s++;
        else if (*s == 'h')
            unit = 3600e9, s++;
        else if (*s == 'd')
            unit = 86400e9, s++; /* caddy.Duration accepts days */
        else
            return false;
        total += v * unit;
    }
    if (total > 9.2e18)
        return false;
    *out = (int64_t)(neg ? -total : total);
    return true;
}

static int get_duration(const cc_cfg *obj, const char *key, int64_t *out, cc_err *err)
{
    const cc_cfg *v = cc_cfg_get(obj, key);
    *out = 0;
    if (!v || v->type == CC_CFG_NULL)
        return CC_OK;
    if (v->type == CC_CFG_INT) {
        *out = v->i;
        return CC_OK;
    }
    if (v->type == CC_CFG_NUM) {
        *out = (int64_t)v->d;
        return CC_OK;
    }
    if (v->type == CC_CFG_STR && parse_go_duration(v->s.p, out))
        return CC_OK;
    return cc_err_setat(err, v->file, v->line, "%s: invalid duration", key);
}

static int64_t get_int(const cc_cfg *obj, const char *key, int64_t dflt)
{
    const cc_cfg *v = cc_cfg_get(obj, key);
    if (v && v->type == CC_CFG_INT)
        return v->i;
    if (v && v->type == CC_CFG_NUM)
        return (int64_t)v->d;
    return dflt;
}

/* ---- listen addresses ---- */

static int parse_port(const char *s, size_t n, int *port)
{
    if (n == 0 || n > 5)
        return CC_ERR;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return CC_ERR;
        v = v * 10 + (s[i] - '0');
    }
    if (v > 65535)
        return CC_ERR;
    *port = v;
    return CC_OK;
}

static int parse_listen(cc_arena *a, const char *srv, const cc_cfg *node, const char *text,
                        cc_listen_addr *out, cc_err *err)
{
    const char *file = node ? node->file : NULL;
    int line = node ? node->line : 0;
    /* placeholders such as {env.PORT} are allowed in listener addresses */
    const char *s = cc_repl_expand(NULL, text, true);
    out->text = text;
    const char *slash = strchr(s, '/');
    const char *colon = strchr(s, ':');
    if (slash && (!colon || slash < colon)) {
        size_t nl = (size_t)(slash - s);
        if (!((nl == 3 && strncmp(s, "tcp", 3) == 0) || (nl == 4 && strncmp(s, "tcp4", 4) == 0) ||
              (nl == 4 && strncmp(s, "tcp6", 4) == 0)))
            return cc_err_setat(err, file, line,
                                "server %s: listen address '%s': network '%.*s' is not supported "
                                "by caddy-c (only tcp)",
                                srv, text, (int)nl, s);
        s = slash + 1;
    }
    const char *host, *port;
    size_t hostn;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return cc_err_setat(err, file, line,
                                "server %s: listen address '%s': missing port in address", srv,
                                text);
        host = s + 1;
        hostn = (size_t)(rb - host);
        port = rb + 2;
    } else {
        const char *last = strrchr(s, ':');
        if (!last)
            return cc_err_setat(err, file, line,
                                "server %s: listen address '%s': missing port in address", srv,
                                text);
        if (memchr(s, ':', (size_t)(last - s)))
            return cc_err_setat(err, file, line,
                                "server %s: invalid listener address '%s', there are too many "
                                "colons, so the port is ambiguous. Did you mean to wrap the IPv6 "
                                "address with [] brackets?",
                                srv, text);
        host = s;
        hostn = (size_t)(last - s);
        port = last + 1;
    }
    if (strchr(port, '-'))
        return cc_err_setat(err, file, line,
                            "server %s: listen address '%s': port ranges are not supported by "
                            "caddy-c; list each port as its own listen address",
                            srv, text);
    if (parse_port(port, strlen(port), &out->port) != CC_OK)
        return cc_err_setat(err, file, line, "server %s: listen address '%s': invalid port '%s'",
                            srv, text, port);
    out->host = cc_arena_strndup(a, host, hostn);
    return CC_OK;
}

/* ---- automatic HTTPS: does this server need TLS? (Caddy's autohttps rule) ---- */

static bool listens_on_other_than(const cc_server *s, int port)
{
    for (size_t i = 0; i < s->nlisten; i++)
        if (s->listen[i].port != port)
            return true;
    return false;
}

static bool routes_have_hosts(const cc_cfg *routes, const cc_cfg *skip)
{
    for (size_t i = 0; i < cc_cfg_len(routes); i++) {
        const cc_cfg *match = cc_cfg_get(cc_cfg_idx(routes, i), "match");
        for (size_t k = 0; k < cc_cfg_len(match); k++) {
            const cc_cfg *hosts = cc_cfg_get(cc_cfg_idx(match, k), "host");
            for (size_t h = 0; h < cc_cfg_len(hosts); h++) {
                const cc_cfg *hv = cc_cfg_idx(hosts, h);
                if (hv && hv->type == CC_CFG_STR && !cc_cfg_arr_has_str(skip, hv->s.p))
                    return true;
            }
        }
    }
    return false;
}

static bool server_needs_tls(const cc_server *s, int http_port, int https_port)
{
    const cc_cfg *pol = cc_cfg_get(s->json, "tls_connection_policies");
    const cc_cfg *ah = cc_cfg_get(s->json, "automatic_https");
    const cc_cfg *dis = cc_cfg_get(ah, "disable");
    bool explicit_tls = pol && pol->type == CC_CFG_ARR;
    if (dis && dis->type == CC_CFG_BOOL && dis->b)
        return explicit_tls;
    if (!listens_on_other_than(s, http_port))
        return explicit_tls;
    if (explicit_tls || !listens_on_other_than(s, https_port))
        return true;
    return routes_have_hosts(cc_cfg_get(s->json, "routes"), cc_cfg_get(ah, "skip"));
}

/* ---- trusted proxies ---- */

static int load_trusted(server_priv *sp, cc_arena *a, cc_err *err)
{
    const cc_cfg *tp = cc_cfg_get(sp->pub.json, "trusted_proxies");
    if (tp && tp->type == CC_CFG_OBJ) {
        const char *src = cc_cfg_get_str(tp, "source");
        if (src && strcmp(src, "static") != 0)
            return cc_err_setat(err, tp->file, tp->line,
                                "server %s: trusted_proxies source '%s' is not supported by "
                                "caddy-c (only static)",
                                sp->pub.name, src);
        const cc_cfg *ranges = cc_cfg_get(tp, "ranges");
        size_t n = cc_cfg_len(ranges), cap = n + cc_nprivate_ranges;
        sp->trusted = cc_arena_alloc(a, (cap ? cap : 1) * sizeof(*sp->trusted));
        for (size_t i = 0; i < n; i++) {
            const cc_cfg *rv = cc_cfg_idx(ranges, i);
            const char *txt = rv && rv->type == CC_CFG_STR ? rv->s.p : "";
            if (strcmp(txt, "private_ranges") == 0) {
                sp->trusted = cc_arena_grow(a, sp->trusted, cap * sizeof(*sp->trusted),
                                            (cap + cc_nprivate_ranges) * sizeof(*sp->trusted));
                cap += cc_nprivate_ranges;
                for (size_t k = 0; k < cc_nprivate_ranges; k++)
                    cc_ipnet_parse(cc_private_ranges[k], &sp->trusted[sp->ntrusted++]);
                continue;
            }
            if (!cc_ipnet_parse(txt, &sp->trusted[sp->ntrusted]))
                return cc_err_setat(
                    err, rv ? rv->file : NULL, rv ? rv->line : 0,
                    "server %s: trusted_proxies: %s: '%s'", sp->pub.name,
                    strchr(txt, '/') ? "parsing CIDR expression" : "invalid IP address", txt);
            sp->ntrusted++;
        }
        sp->has_trusted = true;
    }
    const cc_cfg *hdrs = cc_cfg_get(sp->pub.json, "client_ip_headers");
    size_t nh = cc_cfg_len(hdrs);
    if (nh == 0) {
        static const char *xff[] = {"X-Forwarded-For"};
        sp->ip_headers = xff;
        sp->nip_headers = 1;
    } else {
        sp->ip_headers = cc_arena_alloc(a, nh * sizeof(*sp->ip_headers));
        for (size_t i = 0; i < nh; i++) {
            const cc_cfg *hv = cc_cfg_idx(hdrs, i);
            sp->ip_headers[sp->nip_headers++] = hv && hv->type == CC_CFG_STR ? hv->s.p : "";
        }
    }
    sp->strict = get_int(sp->pub.json, "trusted_proxies_strict", 0) > 0;
    return CC_OK;
}

static bool is_trusted(const server_priv *sp, const cc_ip *ip)
{
    for (size_t i = 0; i < sp->ntrusted; i++)
        if (cc_ipnet_contains(&sp->trusted[i], ip))
            return true;
    return false;
}

/* Parses one comma-separated part of a client-IP header ("1.2.3.4", "[::1]:80",
 * "1.2.3.4:5"), trimming spaces. */
static bool parse_header_ip(const char *p, size_t n, cc_ip *ip)
{
    char buf[80];
    while (n && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *h = buf;
    if (*h == '[') {
        char *rb = strchr(h, ']');
        if (rb && rb[1] == ':') {
            *rb = '\0';
            h++;
        }
    } else {
        char *c = strchr(h, ':');
        if (c && !strchr(c + 1, ':'))
            *c = '\0';
    }
    return cc_ip_parse(h, ip);
}

static const char *client_ip_of(const server_priv *sp, cc_req *r, const cc_ip *peer,
                                const char *peer_txt)
{
    char buf[64];
    if (!sp->strict) {
        for (size_t k = 0; k < sp->nip_headers; k++) {
            for (size_t i = 0; i < r->headers.n; i++) {
                if (strcasecmp(r->headers.v[i].name, sp->ip_headers[k]) != 0)
                    continue;
                const char *v = r->headers.v[i].value;
                for (;;) {
                    const char *c = strchr(v, ',');
                    size_t n = c ? (size_t)(c - v) : strlen(v);
                    cc_ip ip;
                    if (parse_header_ip(v, n, &ip))
                        return cc_arena_strdup(r->arena, cc_ip_format(&ip, buf, sizeof(buf)));
                    if (!c)
                        break;
                    v = c + 1;
                }
            }
        }
        return peer_txt;
    }
    /* strict: right to left, the first address that is not itself a trusted proxy */
    for (size_t k = 0; k < sp->nip_headers; k++) {
        const char *joined = cc_headers_get_joined(r->arena, &r->headers, sp->ip_headers[k]);
        if (!joined)
            continue;
        size_t end = strlen(joined);
        for (;;) {
            size_t start = end;
            while (start > 0 && joined[start - 1] != ',')
                start--;
            cc_ip ip;
            if (parse_header_ip(joined + start, end - start, &ip) && !is_trusted(sp, &ip))
                return cc_arena_strdup(r->arena, cc_ip_format(&ip, buf, sizeof(buf)));
            if (start == 0)
                break;
            end = start - 1;
        }
    }
    (void)peer;
    return peer_txt;
}

static void set_client_ip(const server_priv *sp, cc_req *r)
{
    const char *peer_txt = r->conn && r->conn->remote_ip ? r->conn->remote_ip : "";
    cc_ip peer;
    if (r->conn && r->conn->remote_addr_ok)
        peer = r->conn->remote_addr;
    else if (!cc_ip_parse(peer_txt, &peer)) {
        cc_vars_set(r->arena, &r->vars, "client_ip", "");
        return;
    }
    char buf[64];
    const char *canon = peer_txt;
    if (peer.v6 || strchr(peer_txt, ':'))
        canon = cc_arena_strdup(r->arena, cc_ip_format(&peer, buf, sizeof(buf)));
    if (sp->has_trusted && is_trusted(sp, &peer)) {
        cc_vars_set(r->arena, &r->vars, "trusted_proxy", "true");
        cc_vars_set(r->arena, &r->vars, "client_ip", client_ip_of(sp, r, &peer, canon));
        return;
    }
    cc_vars_set(r->arena, &r->vars, "client_ip", canon);
}

/* ---- loading ---- */

static int load_server(cc_runtime *rt, server_priv *sp, const char *name, const cc_cfg *json,
                       int http_port, int https_port, cc_err *err)
{
    cc_arena *a = rt->arena;
    cc_server *s = &sp->pub;
    sp->rt = rt;
    s->name = name;
    s->json = json;
    if (!json || json->type != CC_CFG_OBJ)
        return cc_err_set(err, "server %s: must be a JSON object", name);
    const cc_cfg *listen = cc_cfg_get(json, "listen");
    s->nlisten = cc_cfg_len(listen);
    if (s->nlisten == 0)
        return cc_err_setat(err, json->file, json->line, "server %s: no listen addresses", name);
    s->listen = cc_arena_alloc(a, s->nlisten * sizeof(*s->listen));
    for (size_t i = 0; i < s->nlisten; i++) {
        const cc_cfg *lv = cc_cfg_idx(listen, i);
        if (!lv || lv->type != CC_CFG_STR)
            return cc_err_set(err, "server %s: listen addresses must be strings", name);
        if (parse_listen(a, name, lv, lv->s.p, &s->listen[i], err) != CC_OK)
            return CC_ERR;
    }
    if (get_duration(json, "read_header_timeout", &s->read_header_timeout, err) ||
        get_duration(json, "read_timeout", &s->read_body_timeout, err) ||
        get_duration(json, "write_timeout", &s->write_timeout, err) ||
        get_duration(json, "idle_timeout", &s->idle_timeout, err))
        return CC_ERR;
    s->max_header_bytes = get_int(json, "max_header_bytes", 0);
    const cc_cfg *logs = cc_cfg_get(json, "logs");
    s->logs = logs && logs->type == CC_CFG_OBJ ? logs : NULL;
    s->tls = server_needs_tls(s, http_port, https_port);
    if (load_trusted(sp, a, err) != CC_OK)
        return CC_ERR;
    if (cc_routes_provision(&s->routes, cc_cfg_get(json, "routes"), &rt->prov) != CC_OK)
        return CC_ERR;
    const cc_cfg *errors = cc_cfg_get(json, "errors");
    if (cc_routes_provision(&s->errors, cc_cfg_get(errors, "routes"), &rt->prov) != CC_OK)
        return CC_ERR;
    return CC_OK;
}

static void runtime_destroy(cc_runtime *rt)
{
    cc_prov_cleanup(&rt->prov);
    if (rt->logs)
        cc_logsys_free(rt->logs);
    cc_arena_free(rt->arena);
}

cc_runtime *cc_runtime_load(cc_arena *arena, cc_cfg *config, cc_err *err)
{
    return cc_runtime_load_with(arena, config, NULL, err);
}

cc_runtime *cc_runtime_load_with(cc_arena *arena, cc_cfg *config, struct cc_storage *storage,
                                 cc_err *err)
{
    cc_runtime *rt = cc_arena_alloc(arena, sizeof(*rt));
    rt->arena = arena;
    rt->config = config;
    atomic_init(&rt->refs, 1);
    rt->prov.a = arena;
    rt->prov.err = err;
    rt->prov.root = config;
    rt->prov.storage = storage;

    const cc_cfg *http = cc_cfg_get(cc_cfg_get(config, "apps"), "http");
    int http_port = (int)get_int(http, "http_port", 80);
    int https_port = (int)get_int(http, "https_port", 443);
    if (get_duration(http, "grace_period", &rt->grace_period, err) != CC_OK)
        goto fail;
    const cc_cfg *servers = cc_cfg_get(http, "servers");
    if (servers && servers->type != CC_CFG_OBJ) {
        cc_err_setat(err, servers->file, servers->line, "apps.http.servers must be an object");
        goto fail;
    }
    rt->nservers = cc_cfg_len(servers);
    server_priv *privs = cc_arena_alloc(arena, (rt->nservers ? rt->nservers : 1) * sizeof(*privs));
    /* the engine indexes rt->servers as a plain array: copy the public parts after */
    for (size_t i = 0; i < rt->nservers; i++) {
        if (load_server(rt, &privs[i], servers->obj.k[i], servers->obj.v[i], http_port, https_port,
                        err) != CC_OK)
            goto fail;
    }
    rt->servers = cc_arena_alloc(arena, (rt->nservers ? rt->nservers : 1) * sizeof(cc_server));
    for (size_t i = 0; i < rt->nservers; i++) {
        rt->servers[i] = privs[i].pub;
        rt->servers[i].priv = &privs[i];
    }
    rt->logs = cc_logsys_new(config, err);
    if (!rt->logs && err->code != 0)
        goto fail;
    return rt;
fail:
    if (err->code == 0)
        cc_err_set(err, "loading config failed");
    runtime_destroy(rt);
    return NULL;
}

void cc_runtime_ref(cc_runtime *rt)
{
    atomic_fetch_add_explicit(&rt->refs, 1, memory_order_relaxed);
}

void cc_runtime_unref(cc_runtime *rt)
{
    if (!rt)
        return;
    if (atomic_fetch_sub_explicit(&rt->refs, 1, memory_order_acq_rel) == 1)
        runtime_destroy(rt);
}

/* ---- serving ---- */

static void body_release(cc_body *b)
{
    if (!b)
        return;
    if (b->close)
        b->close(b);
    else if (b->fd >= 0)
        close(b->fd);
    b->close = NULL;
    b->fd = -1;
}

static const server_priv *priv_of(const cc_server *s)
{
    return (const server_priv *)s->priv;
}

/* The error flow is a small state machine on the request (async_phase, first_err)
 * because an asynchronous handler may finish the main chain, or the error routes,
 * after cc_server_handle has returned. */
enum { PHASE_MAIN = 0, PHASE_ERRORS = 1 };

static cc_http_err *first_err_slot(cc_req *r)
{
    return &r->first_err;
}

static void server_finish(cc_req *r)
{
    bool was_pending = r->pending;
    r->pending = false;
    if (was_pending && r->engine_done)
        r->engine_done(r);
}

/* Continues the server-level flow once a chain (main or errors) returned rc. */
static void server_continue(const cc_server *s, cc_req *r, int rc)
{
    const server_priv *sp = priv_of(s);
    if (rc == CC_ASYNC) {
        r->pending = true;
        return;
    }
    if (r->async_phase == PHASE_MAIN) {
        if (rc == CC_OK) {
            if (r->resp.status == 0 && !r->resp.abort)
                r->resp.status = 200;
            server_finish(r);
            return;
        }
        if (r->resp.abort) {
            server_finish(r);
            return;
        }
        if (r->err.status == 0)
            cc_req_fail(r, 500, NULL);
        /* The error response starts over: what the failed chain wrote (body, deferred
         * filters) is dropped; headers already set stay, as on Go's shared header map. */
        cc_http_err *first = first_err_slot(r);
        *first = r->err;
        body_release(r->resp.body);
        r->resp.body = NULL;
        r->resp.status = 0;
        r->resp.filters = NULL;
        if (s->errors.n > 0) {
            r->async_phase = PHASE_ERRORS;
            server_continue(s, r, cc_routes_run(&s->errors, r, NULL));
            return;
        }
        r->resp.status = first->status;
        if (sp && sp->rt)
            cc_logsys_error(sp->rt->logs, s, r);
        server_finish(r);
        return;
    }
    /* the error routes finished */
    cc_http_err *first = first_err_slot(r);
    if (rc == CC_OK || r->resp.abort) {
        if (r->resp.status == 0 && !r->resp.abort)
            r->resp.status = first->status;
        r->err = *first;
        server_finish(r);
        return;
    }
    cc_log(CC_LOG_ERROR, "http.log.error", NULL,
           "error handling handler error: %s (first error: %s)",
           r->err.message ? r->err.message : "", first->message ? first->message : "");
    body_release(r->resp.body);
    r->resp.body = NULL;
    r->resp.filters = NULL;
    r->err = *first;
    r->resp.status = first->status;
    if (sp && sp->rt)
        cc_logsys_error(sp->rt->logs, s, r);
    server_finish(r);
}

void cc_server_handle(const cc_server *s, cc_req *r)
{
    const server_priv *sp = priv_of(s);
    r->server = s;
    r->async_phase = PHASE_MAIN;
    r->pending = false;
    /* Caddy sets its Server header before any handler runs, so `header -Server` works */
    cc_headers_set(r->arena, &r->resp.headers, "Server", "caddy-c");
    if (sp)
        set_client_ip(sp, r);
    else if (!cc_vars_get(&r->vars, "client_ip") && r->conn && r->conn->remote_ip)
        cc_vars_set(r->arena, &r->vars, "client_ip", r->conn->remote_ip);
    server_continue(s, r, cc_routes_run(&s->routes, r, NULL));
}

void cc_req_resume(cc_req *r, int rc)
{
    if (r->server)
        server_continue(r->server, r, rc);
}

void cc_resp_commit(cc_req *r)
{
    cc_resp_filter *f = r->resp.filters;
    r->resp.filters = NULL;
    for (; f; f = f->next) {
        if (f->fn(r, f->ctx) == CC_OK)
            continue;
        body_release(r->resp.body);
        r->resp.body = NULL;
        r->resp.status = 500;
        r->resp.headers.n = 0;
        cc_headers_set(r->arena, &r->resp.headers, "Server", "caddy-c");
        return;
    }
    if (r->resp.status == 0)
        r->resp.status = 200;
}
