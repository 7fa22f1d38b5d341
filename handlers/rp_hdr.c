/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy's header rules (handlers/rp_hdr.h), after Caddy's prepareRequest,
 * addForwardedHeaders, proxyLoopIteration and finalizeResponse: hop-by-hop fields out
 * both ways, X-Forwarded-* only trusted from trusted peers, Via, the Host rule of TLS
 * upstreams, then the header_up / header_down ops of the headers handler (hdrops.h).
 * Field names come out in Go's canonical spelling, as Go's http.Header writes them. */
#include "rp_hdr.h"

#include <string.h>
#include <strings.h>

#include "../core/ipnet.h"
#include "hdrops.h"
#include "headerops.h"

struct cc_rp_hdr {
    cc_hdrops *up, *down;
    cc_respmatch *down_require; /* NULL: header_down applies to every response */
    cc_ipnet *trusted;          /* handler-level trusted_proxies */
    size_t ntrusted;
};

/* ---- provisioning ---- */

static int parse_trusted(cc_arena *a, cc_rp_hdr *h, const cc_cfg *list, cc_err *err)
{
    if (!list || list->type == CC_CFG_NULL)
        return CC_OK;
    if (list->type != CC_CFG_ARR)
        return cc_err_setat(err, list->file, list->line, "trusted_proxies must be a JSON array");
    h->ntrusted = cc_cfg_len(list);
    h->trusted = cc_arena_alloc(a, (h->ntrusted ? h->ntrusted : 1) * sizeof(*h->trusted));
    for (size_t i = 0; i < h->ntrusted; i++) {
        const cc_cfg *v = cc_cfg_idx(list, i);
        const char *s = v->type == CC_CFG_STR ? v->s.p : "";
        if (!cc_ipnet_parse(s, &h->trusted[i]))
            return cc_err_setat(
                err, v->file ? v->file : list->file, v->file ? v->line : list->line,
                strchr(s, '/') ? "parsing CIDR expression: '%s'" : "invalid IP address: '%s'", s);
    }
    return CC_OK;
}

cc_rp_hdr *cc_rp_hdr_provision(cc_arena *a, const cc_cfg *handler, cc_err *err)
{
    cc_rp_hdr *h = cc_arena_alloc(a, sizeof(*h));
    if (parse_trusted(a, h, cc_cfg_get(handler, "trusted_proxies"), err) != CC_OK)
        return NULL;
    const cc_cfg *hdrs = cc_cfg_get(handler, "headers");
    if (!hdrs || hdrs->type == CC_CFG_NULL)
        return h;
    if (hdrs->type != CC_CFG_OBJ) {
        cc_err_setat(err, hdrs->file, hdrs->line, "headers must be a JSON object");
        return NULL;
    }
    cc_err e = {0};
    h->up = cc_hdrops_compile(a, cc_cfg_get(hdrs, "request"), &e);
    if (!h->up && e.msg[0]) {
        *err = e;
        return NULL;
    }
    const cc_cfg *resp = cc_cfg_get(hdrs, "response");
    h->down = cc_hdrops_compile(a, resp, &e);
    if (!h->down && e.msg[0]) {
        *err = e;
        return NULL;
    }
    const cc_cfg *req = cc_cfg_get(resp, "require");
    if (req && req->type != CC_CFG_NULL) {
        h->down_require = cc_respmatch_compile(a, req, err);
        if (!h->down_require)
            return NULL;
    }
    return h;
}

/* ---- small helpers ---- */

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Go's canonical key without allocating when the name already is canonical (the usual
 * case: clients and servers mostly send canonical names). */
static const char *canon(cc_arena *a, const char *name)
{
    bool upper = true;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (!is_tchar(*p))
            return name;
        if ((upper && *p >= 'a' && *p <= 'z') || (!upper && *p >= 'A' && *p <= 'Z'))
            return cc_hdr_canonical_key(a, name);
        upper = *p == '-';
    }
    return name;
}

static bool values_have(const cc_headers *h, const char *name, const char *tok)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->v[i].name, name) == 0 && cc_http_list_has(h->v[i].value, tok))
            return true;
    return false;
}

static bool is_hop(const char *name)
{
    const char *cand;
    switch (name[0] | 0x20) {
    case 'a':
        cand = "Alt-Svc";
        break;
    case 'c':
        cand = "Connection";
        break;
    case 'k':
        cand = "Keep-Alive";
        break;
    case 'u':
        cand = "Upgrade";
        break;
    case 't':
        return strcasecmp(name, "Te") == 0 || strcasecmp(name, "Trailer") == 0 ||
               strcasecmp(name, "Transfer-Encoding") == 0;
    case 'p':
        return strncasecmp(name, "Proxy-", 6) == 0 && (strcasecmp(name + 6, "Connection") == 0 ||
                                                       strcasecmp(name + 6, "Authenticate") == 0 ||
                                                       strcasecmp(name + 6, "Authorization") == 0);
    default:
        return false;
    }
    return strcasecmp(name, cand) == 0;
}

/* The field is named by a Connection value (removeConnectionHeaders). */
static bool conn_listed(const cc_headers *h, const char *name)
{
    return values_have(h, "Connection", name);
}

static void reserve(cc_arena *a, cc_headers *h, size_t extra)
{
    if (h->n + extra <= h->cap)
        return;
    size_t nc = h->n + extra + 8;
    h->v = cc_arena_grow(a, h->v, h->cap * sizeof(*h->v), nc * sizeof(*h->v));
    h->cap = nc;
}

/* RFC 6455 spelling of the Sec-WebSocket-* fields (Caddy's normalizeWebsocketHeaders). */
static void normalize_websocket(cc_headers *h)
{
    static const char *const rfc[] = {"Sec-WebSocket-Accept", "Sec-WebSocket-Extensions",
                                      "Sec-WebSocket-Key", "Sec-WebSocket-Protocol",
                                      "Sec-WebSocket-Version"};
    for (size_t i = 0; i < h->n; i++)
        for (size_t k = 0; k < sizeof(rfc) / sizeof(rfc[0]); k++)
            if (strcasecmp(h->v[i].name, rfc[k]) == 0)
                h->v[i].name = rfc[k];
}

/* Drops the Connection-listed fields and the hop-by-hop ones from h (in place). */
static void strip_hop(cc_headers *h)
{
    cc_headers conn = {0};
    /* Connection values must outlive the compaction that removes them */
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->v[i].name, "Connection") == 0)
            conn.n++;
    cc_header tmp[16];
    cc_header *cv = conn.n <= 16 ? tmp : NULL;
    if (!cv)
        conn.n = 0; /* more than 16 Connection fields: only the fixed hop list applies */
    else {
        size_t k = 0;
        for (size_t i = 0; i < h->n; i++)
            if (strcasecmp(h->v[i].name, "Connection") == 0)
                cv[k++] = h->v[i];
        conn.v = cv;
    }
    size_t j = 0;
    for (size_t i = 0; i < h->n; i++) {
        const char *name = h->v[i].name;
        if (is_hop(name) || (conn.n && conn_listed(&conn, name)))
            continue;
        h->v[j++] = h->v[i];
    }
    h->n = j;
}

/* ---- request: prepareRequest + addForwardedHeaders ---- */

static bool peer_in(const cc_rp_hdr *h, const cc_req *r)
{
    if (!h->ntrusted || !r->conn)
        return false;
    cc_ip ip;
    if (r->conn->remote_addr_ok)
        ip = r->conn->remote_addr;
    else if (!r->conn->remote_ip || !cc_ip_parse(r->conn->remote_ip, &ip))
        return false;
    for (size_t i = 0; i < h->ntrusted; i++)
        if (cc_ipnet_contains(&h->trusted[i], &ip))
            return true;
    return false;
}

/* All values of name joined with ", " (allHeaderValues), or NULL. */
static const char *all_values(cc_arena *a, const cc_headers *h, const char *name)
{
    const char *out = NULL;
    for (size_t i = 0; i < h->n; i++) {
        if (strcasecmp(h->v[i].name, name) != 0)
            continue;
        out = out ? cc_arena_printf(a, "%s, %s", out, h->v[i].value) : h->v[i].value;
    }
    return out;
}

static const char *last_value(const cc_headers *h, const char *name)
{
    const char *out = NULL;
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->v[i].name, name) == 0)
            out = h->v[i].value;
    return out;
}

static void forwarded(const cc_rp_hdr *h, cc_req *r, cc_headers *out)
{
    cc_arena *a = r->arena;
    const char *tv = cc_vars_get(&r->vars, "trusted_proxy");
    bool trusted = tv && strcmp(tv, "true") == 0;
    const char *rip = r->conn && r->conn->remote_ip ? r->conn->remote_ip : "";
    const char *client = NULL;
    if (strcmp(rip, "@") == 0) {
        /* a unix-socket peer has no address to append; only a trusted one keeps the
         * forwarded fields it sent */
        if (!trusted)
            goto strip;
    } else {
        cc_ip ip;
        const char *pct = strchr(rip, '%');
        client = pct ? cc_arena_strndup(a, rip, (size_t)(pct - rip)) : rip;
        if (!*client)
            goto strip; /* no usable peer address: never pass on what the client claims */
        if (!trusted && cc_ip_parse(client, &ip))
            trusted = peer_in(h, r);
    }

    const char *prior = all_values(a, out, "X-Forwarded-For");
    if (trusted && prior && *prior)
        cc_headers_set(a, out, "X-Forwarded-For",
                       client ? cc_arena_printf(a, "%s, %s", prior, client) : prior);
    else if (client)
        cc_headers_set(a, out, "X-Forwarded-For", client);

    const char *proto = (r->conn && r->conn->tls) || (r->scheme && strcmp(r->scheme, "https") == 0)
                            ? "https"
                            : "http";
    prior = last_value(out, "X-Forwarded-Proto");
    if (trusted && prior && *prior)
        proto = prior;
    cc_headers_set(a, out, "X-Forwarded-Proto", proto);

    const char *host = r->hostport ? r->hostport : "";
    prior = last_value(out, "X-Forwarded-Host");
    if (trusted && prior && *prior)
        host = prior;
    cc_headers_set(a, out, "X-Forwarded-Host", host);
    return;
strip:
    cc_headers_del(out, "X-Forwarded-For");
    cc_headers_del(out, "X-Forwarded-Proto");
    cc_headers_del(out, "X-Forwarded-Host");
}

/* Go's httpguts.ValidHeaderFieldValue: no control bytes except HTAB. */
static bool valid_value(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

static bool valid_name(const char *n)
{
    if (!*n)
        return false;
    for (const unsigned char *p = (const unsigned char *)n; *p; p++)
        if (!is_tchar(*p))
            return false;
    return true;
}

/* httpguts.ValidHostHeader, simplified to what can break the request line framing. */
static bool valid_host(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '/' || *p == '?' || *p == '#' || *p == '\\')
            return false;
    return true;
}

static void set_upstream_vars(cc_req *r, const cc_rp_hdr_target *t)
{
    cc_arena *a = r->arena;
    const char *hp = t->hostport ? t->hostport : "";
    cc_vars_set(a, &r->vars, "http.reverse_proxy.upstream.address",
                t->address ? t->address : cc_arena_printf(a, "tcp/%s", hp));
    cc_vars_set(a, &r->vars, "http.reverse_proxy.upstream.hostport", hp);
    cc_vars_set(a, &r->vars, "http.reverse_proxy.upstream.host", t->host ? t->host : "");
    cc_vars_set(a, &r->vars, "http.reverse_proxy.upstream.port", t->port ? t->port : "");
}

int cc_rp_hdr_up(const cc_rp_hdr *h, cc_req *r, const cc_rp_hdr_target *t, cc_headers *out)
{
    cc_arena *a = r->arena;
    const cc_headers *in = &r->headers;
    *out = (cc_headers){0};
    out->cap = in->n + 8;
    out->v = cc_arena_alloc(a, out->cap * sizeof(*out->v));

    /* slot 0 is Host: it stands for Go's req.Host, which header ops may change */
    out->v[out->n++] = (cc_header){"Host", r->hostport ? r->hostport : ""};

    const char *up_type = NULL;
    if (values_have(in, "Connection", "upgrade")) {
        const char *u = cc_headers_get(in, "Upgrade");
        if (u && *u) {
            char *l = cc_arena_strdup(a, u);
            for (char *p = l; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
            up_type = l;
        }
    }
    bool has_conn = cc_headers_count(in, "Connection") > 0;
    bool te_trailers = !(has_conn && conn_listed(in, "Te")) && values_have(in, "Te", "trailers");

    for (size_t i = 0; i < in->n; i++) {
        const char *name = in->v[i].name;
        /* Host lives in slot 0; Content-Length is the transport's framing (Go's writer
         * excludes it from the header map too) */
        if (strcasecmp(name, "Host") == 0 || strcasecmp(name, "Content-Length") == 0 ||
            is_hop(name) || (has_conn && conn_listed(in, name)))
            continue;
        out->v[out->n++] = (cc_header){canon(a, name), in->v[i].value};
    }
    if (te_trailers)
        cc_headers_add(a, out, "Te", "trailers");
    if (up_type) {
        cc_headers_add(a, out, "Connection", "Upgrade");
        cc_headers_add(a, out, "Upgrade", up_type);
        normalize_websocket(out);
    }
    forwarded(h, r, out);
    cc_headers_add(a, out, "Via",
                   cc_arena_printf(a, "%d.%d Caddy", r->proto_major, r->proto_minor));

    /* per upstream: the placeholders, the TLS transport's Host default, the user's ops */
    set_upstream_vars(r, t);
    if (t->tls)
        out->v[0].value = t->hostport ? t->hostport : "";
    const char *host = out->v[0].value;
    if (h->up) {
        cc_hdrops_apply(h->up, out, r);
        host = last_value(out, "Host");
        cc_headers_del(out, "Host");
        reserve(a, out, 1);
        memmove(out->v + 1, out->v, out->n * sizeof(*out->v));
        out->n++;
        if (!host)
            host = "";
    }
    if (!*host) {
        /* Go then takes the URL's host: the upstream address, without a default port */
        bool dflt = t->port && ((!t->tls && strcmp(t->port, "80") == 0) ||
                                (t->tls && strcmp(t->port, "443") == 0));
        host = dflt && t->host ? t->host : (t->hostport ? t->hostport : "");
    }
    out->v[0] = (cc_header){"Host", host};

    if (!valid_host(host))
        return cc_req_fail(r, 502, "http: invalid Host header");
    for (size_t i = 1; i < out->n; i++) {
        if (!valid_name(out->v[i].name))
            return cc_req_fail(r, 502, "net/http: invalid header field name \"%s\"",
                               out->v[i].name);
        if (!valid_value(out->v[i].value ? out->v[i].value : ""))
            return cc_req_fail(r, 502, "net/http: invalid header field value for \"%s\"",
                               out->v[i].name);
    }
    return CC_OK;
}

/* ---- response: finalizeResponse ---- */

void cc_rp_hdr_down_proto(const cc_rp_hdr *h, cc_req *r, int status, int proto_major,
                          int proto_minor, cc_headers *hdrs)
{
    cc_arena *a = r->arena;
    const char *upgrade = cc_headers_get(hdrs, "Upgrade");
    strip_hop(hdrs);
    size_t j = 0;
    for (size_t i = 0; i < hdrs->n; i++) {
        const char *name = hdrs->v[i].name;
        if (strcasecmp(name, "Content-Length") == 0)
            continue; /* the engine frames the body */
        hdrs->v[i].name = canon(a, name);
        hdrs->v[j++] = hdrs->v[i];
    }
    hdrs->n = j;

    if (status == 101) {
        /* handleUpgradeResponse copies the fields as they are: no Via, no header_down */
        if (upgrade && *upgrade) {
            cc_headers_set(a, hdrs, "Upgrade", upgrade);
            cc_headers_set(a, hdrs, "Connection", "Upgrade");
        }
        normalize_websocket(hdrs);
        return;
    }

    /* Caddy drops its own Server field and says Via instead; the upstream's passes (when
     * hdrs is r->resp.headers itself, Caddy's own is already gone) */
    if (hdrs != &r->resp.headers)
        cc_headers_del(&r->resp.headers, "Server");
    if (h && h->down && cc_respmatch_match(h->down_require, status, hdrs))
        cc_hdrops_apply(h->down, hdrs, r);

    /* Via sits before the upstream's fields and out of header_down's reach, as Caddy
     * writes it on its own ResponseWriter before copying them */
    reserve(a, hdrs, 1);
    memmove(hdrs->v + 1, hdrs->v, hdrs->n * sizeof(*hdrs->v));
    hdrs->n++;
    hdrs->v[0] = (cc_header){"Via", cc_arena_printf(a, "%d.%d Caddy", proto_major, proto_minor)};
}

void cc_rp_hdr_down(const cc_rp_hdr *h, cc_req *r, int status, cc_headers *hdrs)
{
    int major = 1, minor = 1;
    const char *p = cc_vars_get(&r->vars, CC_RP_HDR_PROTO_VAR);
    if (p && strncmp(p, "HTTP/", 5) == 0 && p[5] >= '0' && p[5] <= '9' && p[6] == '.' &&
        p[7] >= '0' && p[7] <= '9' && !p[8]) {
        major = p[5] - '0';
        minor = p[7] - '0';
    }
    cc_rp_hdr_down_proto(h, r, status, major, minor, hdrs);
}
