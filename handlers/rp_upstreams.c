/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy upstreams: static addresses (host:port, scheme://host:port, unix sockets,
 * port ranges, placeholders) turned into {"dial": ...} entries exactly as Caddy's
 * parseUpstreamDialAddress and ParseNetworkAddress do, plus the `dynamic a|srv|multi`
 * upstream sources. Address splitting follows Go's net and net/url packages because
 * Caddy's accepted forms and error texts come from them. */
#include <ctype.h>
#include <string.h>

#include "rp.h"

/* ---- Go's net.SplitHostPort / JoinHostPort ---- */

const char *cc_rp_split_host_port(cc_arena *a, const char *hp, const char **host, const char **port)
{
    *host = *port = "";
    const char *colon = strrchr(hp, ':');
    size_t n = strlen(hp), i, j = 0, k = 0;
    if (!colon)
        return cc_arena_printf(a, "address %s: missing port in address", hp);
    i = (size_t)(colon - hp);
    const char *h;
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        if (!rb)
            return cc_arena_printf(a, "address %s: missing ']' in address", hp);
        size_t end = (size_t)(rb - hp);
        if (end + 1 == n)
            return cc_arena_printf(a, "address %s: missing port in address", hp);
        if (end + 1 != i) {
            if (hp[end + 1] == ':')
                return cc_arena_printf(a, "address %s: too many colons in address", hp);
            return cc_arena_printf(a, "address %s: missing port in address", hp);
        }
        h = cc_arena_strndup(a, hp + 1, end - 1);
        j = 1;
        k = end + 1;
    } else {
        h = cc_arena_strndup(a, hp, i);
        if (strchr(h, ':'))
            return cc_arena_printf(a, "address %s: too many colons in address", hp);
    }
    if (strchr(hp + j, '['))
        return cc_arena_printf(a, "address %s: unexpected '[' in address", hp);
    if (strchr(hp + k, ']'))
        return cc_arena_printf(a, "address %s: unexpected ']' in address", hp);
    *host = h;
    *port = cc_arena_strdup(a, hp + i + 1);
    return NULL;
}

const char *cc_rp_join_host_port(cc_arena *a, const char *host, const char *port)
{
    if (strchr(host, ':'))
        return cc_arena_printf(a, "[%s]:%s", host, port);
    return cc_arena_printf(a, "%s:%s", host, port);
}

/* ---- Caddy's network addresses ("network/host:port-range") ---- */

static bool is_unix(const char *network)
{
    return strncmp(network, "unix", 4) == 0;
}

static bool is_fd(const char *network)
{
    return strncmp(network, "fd", 2) == 0;
}

typedef struct netaddr {
    const char *network, *host, *port;
} netaddr;

/* caddy.SplitNetworkAddress; returns NULL or an error text. */
static const char *split_network(cc_arena *a, const char *addr, netaddr *na)
{
    na->network = na->host = na->port = "";
    const char *slash = strchr(addr, '/');
    if (slash) {
        char *nw = cc_arena_strndup(a, addr, (size_t)(slash - addr));
        /* strings.ToLower(strings.TrimSpace(...)) */
        while (*nw && isspace((unsigned char)*nw))
            nw++;
        for (size_t l = strlen(nw); l && isspace((unsigned char)nw[l - 1]); l--)
            nw[l - 1] = '\0';
        for (char *c = nw; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        na->network = nw;
        addr = slash + 1;
        if (is_unix(nw) || is_fd(nw)) {
            na->host = addr;
            return NULL;
        }
    }
    const char *first = cc_rp_split_host_port(a, addr, &na->host, &na->port);
    if (!first)
        return NULL;
    /* probably a missing port: retry with a bogus one, as Caddy does */
    size_t n = strlen(addr);
    const char *s = addr, *e = addr + n;
    while (s < e && (*s == '[' || *s == ']'))
        s++;
    while (e > s && (e[-1] == '[' || e[-1] == ']'))
        e--;
    const char *trimmed = cc_arena_strndup(a, s, (size_t)(e - s));
    const char *port;
    const char *second =
        cc_rp_split_host_port(a, cc_rp_join_host_port(a, trimmed, "0"), &na->host, &port);
    na->port = "";
    if (second)
        return cc_arena_printf(a, "%s\n%s", first, second);
    return NULL;
}

/* strconv.ParseUint(s, base, bits) error text, or NULL. */
static const char *parse_uint(cc_arena *a, const char *s, int base, int bits, uint64_t *out)
{
    const char *p = s;
    uint64_t v = 0, max = bits >= 64 ? UINT64_MAX : (((uint64_t)1 << bits) - 1);
    bool range = false;
    if (!*p)
        return cc_arena_printf(a, "strconv.ParseUint: parsing \"%s\": invalid syntax", s);
    for (; *p; p++) {
        int dg = isdigit((unsigned char)*p) ? *p - '0' : 99;
        if (dg >= base)
            return cc_arena_printf(a, "strconv.ParseUint: parsing \"%s\": invalid syntax", s);
        if (v > (max - (uint64_t)dg) / (uint64_t)base)
            range = true;
        else
            v = v * (uint64_t)base + (uint64_t)dg;
    }
    if (range)
        return cc_arena_printf(a, "strconv.ParseUint: parsing \"%s\": value out of range", s);
    *out = v;
    return NULL;
}

/* The socket path may end in "|<octal mode>", which must let the owner write. */
static const char *check_unix_mode(cc_arena *a, const char *host)
{
    const char *bar = strchr(host, '|');
    if (!bar)
        return NULL;
    uint64_t mode;
    const char *e = parse_uint(a, bar + 1, 8, 32, &mode);
    if (e)
        return cc_arena_printf(a, "could not parse octal permission bits in %s: %s", host, e);
    if (!(mode & 0200)) {
        char rwx[4] = {mode & 0400 ? 'r' : '-', '-', mode & 0100 ? 'x' : '-', '\0'};
        return cc_arena_printf(a,
                               "owner of the socket requires '-w-' (write, octal: '2') "
                               "permissions at least; got '%s' in %s",
                               rwx, host);
    }
    return NULL;
}

/* caddy.ParseNetworkAddress: validates and yields the port range. */
static const char *parse_network(cc_arena *a, const char *addr, netaddr *na, uint64_t *start,
                                 uint64_t *end)
{
    const char *e = split_network(a, addr, na);
    if (e)
        return e;
    *start = *end = 0;
    if (!*na->network)
        na->network = "tcp";
    if (is_unix(na->network))
        return check_unix_mode(a, na->host);
    if (is_fd(na->network) || !*na->port)
        return NULL;
    const char *dash = strchr(na->port, '-');
    const char *before = dash ? cc_arena_strndup(a, na->port, (size_t)(dash - na->port)) : na->port;
    const char *after = dash ? dash + 1 : na->port;
    if ((e = parse_uint(a, before, 10, 16, start)))
        return cc_arena_printf(a, "invalid start port: %s", e);
    if ((e = parse_uint(a, after, 10, 16, end)))
        return cc_arena_printf(a, "invalid end port: %s", e);
    if (*end < *start)
        return "end port must not be less than start port";
    return NULL;
}

/* ---- Go's url.Parse, as far as upstream URLs need it ---- */

typedef struct url_parts {
    const char *scheme, *host, *port, *path, *query, *fragment;
    bool has_query, has_fragment;
} url_parts;

static bool valid_optional_port(const char *p)
{
    if (!*p)
        return true;
    if (*p != ':')
        return false;
    for (p++; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return true;
}

/* Characters url.Parse accepts unescaped in a host name. */
static bool host_char_ok(unsigned char c)
{
    if (isalnum(c) || c >= 0x80)
        return true;
    return strchr("-_.~!$&'()*+,;=:[]<>\"%", c) != NULL && c != '\0';
}

static const char *parse_url(cc_arena *a, const char *raw, url_parts *u)
{
    memset(u, 0, sizeof(*u));
    u->scheme = u->host = u->port = u->path = u->query = u->fragment = "";
    const char *err = NULL;
    const char *hash = strchr(raw, '#');
    size_t n = hash ? (size_t)(hash - raw) : strlen(raw);
    if (hash) {
        u->has_fragment = true;
        u->fragment = hash + 1;
    }
    char *rest = cc_arena_strndup(a, raw, n);
    /* the scheme: a letter, then letters, digits, '+', '-', '.' up to ':' */
    size_t i = 0;
    for (; rest[i]; i++) {
        unsigned char c = (unsigned char)rest[i];
        if (isalpha(c))
            continue;
        if ((isdigit(c) || c == '+' || c == '-' || c == '.') && i > 0)
            continue;
        break;
    }
    if (rest[i] == ':') {
        if (i == 0) {
            err = "missing protocol scheme";
            goto Fail;
        }
        char *sch = cc_arena_strndup(a, rest, i);
        for (char *c = sch; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        u->scheme = sch;
        rest += i + 1;
    }
    char *q = strchr(rest, '?');
    if (q) {
        *q = '\0';
        u->has_query = true;
        u->query = q + 1;
    }
    if (!*u->scheme) {
        /* a relative reference: a colon in the first segment is not allowed */
        char *sl = strchr(rest, '/');
        char *co = strchr(rest, ':');
        if (co && (!sl || co < sl)) {
            err = "first path segment in URL cannot contain colon";
            goto Fail;
        }
    }
    if (strncmp(rest, "//", 2) == 0) {
        rest += 2;
        char *sl = strchr(rest, '/');
        char *auth = cc_arena_strndup(a, rest, sl ? (size_t)(sl - rest) : strlen(rest));
        u->path = sl ? sl : "";
        char *at = strrchr(auth, '@');
        char *host = at ? at + 1 : auth;
        const char *colon_port;
        if (host[0] == '[') {
            char *rb = strrchr(host, ']');
            if (!rb) {
                err = "missing ']' in host";
                goto Fail;
            }
            colon_port = rb + 1;
            if (!valid_optional_port(colon_port)) {
                err = cc_arena_printf(a, "invalid port \"%s\" after host", colon_port);
                goto Fail;
            }
            u->host = cc_arena_strndup(a, host + 1, (size_t)(rb - host - 1));
        } else {
            char *co = strrchr(host, ':');
            colon_port = co ? co : "";
            if (!valid_optional_port(colon_port)) {
                err = cc_arena_printf(a, "invalid port \"%s\" after host", colon_port);
                goto Fail;
            }
            u->host = cc_arena_strndup(a, host, co ? (size_t)(co - host) : strlen(host));
        }
        for (const char *c = host; *c; c++) {
            if (!host_char_ok((unsigned char)*c)) {
                err = cc_arena_printf(a, "invalid character \"%c\" in host name", *c);
                goto Fail;
            }
        }
        u->port = *colon_port ? colon_port + 1 : "";
    } else {
        u->path = rest;
    }
    return NULL;
Fail:
    return cc_arena_printf(a, "parse \"%s\": %s", raw, err);
}

/* ---- parseUpstreamDialAddress ---- */

typedef struct upaddr {
    const char *network, *scheme, *host, *port;
} upaddr;

static const char *parse_upstream(cc_arena *a, const char *addr, upaddr *pa)
{
    pa->network = pa->scheme = pa->host = pa->port = "";
    if (strstr(addr, "://")) {
        if (strchr(addr, '{'))
            return "due to parsing difficulties, placeholders are not allowed when an upstream "
                   "address contains a scheme";
        url_parts u;
        const char *e = parse_url(a, addr, &u);
        if (e) {
            if (!strstr(e, "invalid port") || !strchr(e, '-'))
                return cc_arena_printf(a, "parsing upstream URL: %s", e);
            /* a port range: parse with a dummy port, keep the range */
            const char *colon = strrchr(addr, ':');
            const char *range = colon + 1;
            const char *dash = strchr(range, '-');
            if (!dash || strchr(dash + 1, '-'))
                return cc_arena_printf(
                    a, "parsing upstream URL: parse \"%s\": port range invalid: %s", addr, range);
            const char *dummy = cc_arena_printf(a, "%.*s0", (int)(range - addr), addr);
            if ((e = parse_url(a, dummy, &u)))
                return cc_arena_printf(a, "parsing upstream URL: %s", e);
            pa->port = range;
        }
        if (!*pa->port)
            pa->port = u.port;
        if (*u.path || *u.query || *u.fragment)
            return "for now, URLs for proxy upstreams only support scheme, host, and port "
                   "components";
        if (!strcmp(u.scheme, "http") && !strcmp(pa->port, "443"))
            return "upstream address has conflicting scheme (http://) and port (:443, the HTTPS "
                   "port)";
        if (!strcmp(u.scheme, "https") && !strcmp(pa->port, "80"))
            return "upstream address has conflicting scheme (https://) and port (:80, the HTTP "
                   "port)";
        if (!strcmp(u.scheme, "h2c") && !strcmp(pa->port, "443"))
            return "upstream address has conflicting scheme (h2c://) and port (:443, the HTTPS "
                   "port)";
        if (!*pa->port) {
            if (!*u.scheme || !strcmp(u.scheme, "http") || !strcmp(u.scheme, "h2c"))
                pa->port = "80";
            else if (!strcmp(u.scheme, "https"))
                pa->port = "443";
        }
        pa->scheme = u.scheme;
        pa->host = u.host;
    } else {
        netaddr na;
        if (split_network(a, addr, &na)) {
            na.host = addr;
            na.port = "";
        }
        pa->network = na.network;
        pa->host = na.host;
        pa->port = na.port;
        if (!*pa->port && !strchr(pa->host, '{') && !is_unix(pa->network) && !is_fd(pa->network))
            pa->port = "80";
    }
    if (!strcmp(pa->network, "unix+h2c")) {
        pa->network = "unix";
        pa->scheme = "h2c";
    }
    return NULL;
}

/* caddy.JoinNetworkAddress */
static const char *join_network(cc_arena *a, const char *network, const char *host,
                                const char *port)
{
    const char *pre = *network ? cc_arena_printf(a, "%s/", network) : "";
    if ((*host && !*port) || is_unix(network) || is_fd(network))
        return cc_arena_printf(a, "%s%s", pre, host);
    if (*port)
        return cc_arena_printf(a, "%s%s", pre, cc_rp_join_host_port(a, host, port));
    return pre;
}

static const char *dial_addr(cc_arena *a, const upaddr *pa)
{
    if (*pa->network)
        return join_network(a, pa->network, pa->host, pa->port);
    if (!*pa->port && strchr(pa->host, '{'))
        return pa->host;
    return cc_rp_join_host_port(a, pa->host, pa->port);
}

static void push_dial(cc_rp *rp, const char *dial)
{
    cc_cfg *up = cc_cfg_obj(rp->a);
    cc_cfg_set_str(rp->a, up, "dial", dial);
    cc_cfg_push(rp->a, cc_cfg_child_arr(rp->a, rp->out, "upstreams"), up);
}

static int upstream_err(cc_rp *rp, const char *addr, const char *msg)
{
    return cc_disp_errf(rp->d, "parsing upstream '%s': %s", addr, msg);
}

int cc_rp_add_upstream(cc_rp *rp, const char *addr)
{
    upaddr pa;
    const char *e = parse_upstream(rp->a, addr, &pa);
    if (e)
        return upstream_err(rp, addr, e);
    if (!strcmp(pa.scheme, "wss"))
        return upstream_err(rp, addr,
                            "the scheme wss:// is only supported in browsers; use https:// "
                            "instead");
    if (!strcmp(pa.scheme, "ws"))
        return upstream_err(rp, addr,
                            "the scheme ws:// is only supported in browsers; use http:// instead");
    if (*pa.scheme && strcmp(pa.scheme, "http") && strcmp(pa.scheme, "https") &&
        strcmp(pa.scheme, "h2c"))
        return upstream_err(rp, addr,
                            cc_arena_printf(rp->a, "unsupported URL scheme %s://", pa.scheme));
    /* the JSON has one transport for all upstreams, so one scheme */
    if (rp->scheme && *rp->scheme && strcmp(pa.scheme, rp->scheme))
        return upstream_err(rp, addr,
                            cc_arena_printf(rp->a,
                                            "for now, all proxy upstreams must use the same "
                                            "scheme (transport protocol); expecting '%s://' but "
                                            "got '%s://'",
                                            rp->scheme, pa.scheme));
    rp->scheme = pa.scheme;

    const char *dial = dial_addr(rp->a, &pa);
    /* a placeholder port is resolved per request */
    if (strchr(pa.port, '{') && strchr(pa.port, '}')) {
        push_dial(rp, dial);
        return CC_OK;
    }
    netaddr na;
    uint64_t start, end;
    if ((e = parse_network(rp->a, dial, &na, &start, &end)))
        return upstream_err(rp, addr, e);
    if (is_unix(pa.network) || !strchr(pa.port, '-')) {
        push_dial(rp, dial);
        return CC_OK;
    }
    for (uint64_t p = start; p <= end; p++)
        push_dial(rp, join_network(rp->a, "", na.host,
                                   cc_arena_printf(rp->a, "%llu", (unsigned long long)p)));
    return CC_OK;
}

/* ---- dynamic upstream sources ---- */

static int parse_source(cc_rp *rp, cc_cfg **out);

static int resolvers(cc_rp *rp, cc_cfg *obj)
{
    size_t n;
    const char **v = cc_disp_remaining_args(rp->d, &n);
    if (!n)
        return cc_disp_errf(rp->d, "must specify at least one resolver address");
    cc_cfg *res = cc_rp_obj(rp, obj, "resolver");
    cc_cfg_set(rp->a, res, "addresses", cc_cfg_str_arr(rp->a, v, n));
    return CC_OK;
}

/* A duration option of a source: Go's omitempty drops a zero. */
static int source_duration(cc_rp *rp, cc_cfg *obj, const char *key, const char *fmt)
{
    int64_t ns;
    if (cc_rp_need_arg(rp) || cc_rp_duration(rp, fmt, &ns))
        return CC_ERR;
    if (ns)
        cc_cfg_set_int(rp->a, obj, key, ns);
    else
        cc_cfg_del(obj, key);
    return CC_OK;
}

/* Sets a string option that may be given only once. */
static int once_str(cc_rp *rp, cc_cfg *obj, const char *key, const char *dup_msg)
{
    if (cc_rp_need_arg(rp))
        return CC_ERR;
    const char *cur = cc_cfg_get_str(obj, key);
    if (cur && *cur)
        return cc_disp_errf(rp->d, "%s", dup_msg);
    if (*cc_disp_val(rp->d))
        cc_cfg_set_str(rp->a, obj, key, cc_disp_val(rp->d));
    return CC_OK;
}

static int common_source_opt(cc_rp *rp, cc_cfg *obj, const char *opt)
{
    if (!strcmp(opt, "refresh"))
        return source_duration(rp, obj, "refresh", "parsing refresh interval duration%.0s");
    if (!strcmp(opt, "resolvers"))
        return resolvers(rp, obj);
    if (!strcmp(opt, "dial_timeout"))
        return source_duration(rp, obj, "dial_timeout", "bad timeout value '%s'");
    if (!strcmp(opt, "dial_fallback_delay"))
        return source_duration(rp, obj, "dial_fallback_delay", "bad delay value '%s'");
    return CC_RP_NOT_MINE;
}

static int parse_srv(cc_rp *rp, cc_cfg *obj)
{
    size_t n;
    const char **args = cc_disp_remaining_args(rp->d, &n);
    if (n > 1)
        return cc_disp_arg_err(rp->d);
    if (n && *args[0])
        cc_cfg_set_str(rp->a, obj, "name", args[0]);
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);) {
        const char *opt = cc_disp_val(rp->d);
        int rc = common_source_opt(rp, obj, opt);
        if (rc == CC_RP_NOT_MINE) {
            if (!strcmp(opt, "service"))
                rc = once_str(rp, obj, "service", "srv service has already been specified");
            else if (!strcmp(opt, "proto"))
                rc = once_str(rp, obj, "proto", "srv proto has already been specified");
            else if (!strcmp(opt, "name"))
                rc = once_str(rp, obj, "name", "srv name has already been specified");
            else if (!strcmp(opt, "grace_period"))
                rc = source_duration(rp, obj, "grace_period", "bad grace period value '%s'");
            else
                return cc_disp_errf(rp->d, "unrecognized srv option '%s'", opt);
        }
        if (rc)
            return CC_ERR;
    }
    return CC_OK;
}

static int a_versions(cc_rp *rp, cc_cfg *obj)
{
    size_t n;
    const char **v = cc_disp_remaining_args(rp->d, &n);
    if (!n)
        return cc_disp_errf(rp->d, "must specify at least one version");
    cc_cfg *vers = cc_rp_obj(rp, obj, "versions");
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i], "ipv4") && strcmp(v[i], "ipv6"))
            return cc_disp_errf(rp->d, "unsupported version: '%s'", v[i]);
        cc_cfg_set_bool(rp->a, vers, v[i], true);
    }
    return CC_OK;
}

static int parse_a(cc_rp *rp, cc_cfg *obj)
{
    size_t n;
    const char **args = cc_disp_remaining_args(rp->d, &n);
    if (n > 2)
        return cc_disp_arg_err(rp->d);
    if (n && *args[0])
        cc_cfg_set_str(rp->a, obj, "name", args[0]);
    if (n == 2 && *args[1])
        cc_cfg_set_str(rp->a, obj, "port", args[1]);
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);) {
        const char *opt = cc_disp_val(rp->d);
        int rc = common_source_opt(rp, obj, opt);
        if (rc == CC_RP_NOT_MINE) {
            if (!strcmp(opt, "name"))
                rc = once_str(rp, obj, "name", "a name has already been specified");
            else if (!strcmp(opt, "port"))
                rc = once_str(rp, obj, "port", "a port has already been specified");
            else if (!strcmp(opt, "versions"))
                rc = a_versions(rp, obj);
            else
                return cc_disp_errf(rp->d, "unrecognized a option '%s'", opt);
        }
        if (rc)
            return CC_ERR;
    }
    return CC_OK;
}

static int parse_multi(cc_rp *rp, cc_cfg *obj)
{
    if (cc_rp_no_more_args(rp))
        return CC_ERR;
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);) {
        cc_cfg *src = NULL;
        if (parse_source(rp, &src))
            return CC_ERR;
        cc_cfg_push(rp->a, cc_cfg_child_arr(rp->a, obj, "sources"), src);
    }
    return CC_OK;
}

/* The cursor is on a source module name; its segment is parsed by a dispenser of its
 * own, as caddyfile.UnmarshalModule does. */
static int parse_source(cc_rp *rp, cc_cfg **out)
{
    const char *name = cc_disp_val(rp->d);
    int (*fn)(cc_rp *, cc_cfg *) = !strcmp(name, "srv")     ? parse_srv
                                   : !strcmp(name, "a")     ? parse_a
                                   : !strcmp(name, "multi") ? parse_multi
                                                            : NULL;
    if (!fn)
        return cc_disp_errf(rp->d,
                            "getting module named 'http.reverse_proxy.upstreams.%s': module not "
                            "registered: http.reverse_proxy.upstreams.%s",
                            name, name);
    cc_cfg *obj = cc_cfg_obj(rp->a);
    cc_cfg_set_str(rp->a, obj, "source", name);
    cc_disp *outer = rp->d;
    rp->d = cc_disp_new_from_next_segment(outer);
    cc_disp_next(rp->d); /* the module name */
    int rc = fn(rp, obj);
    rp->d = outer;
    *out = obj;
    return rc;
}

int cc_rp_upstreams_sub(cc_rp *rp, const char *sub)
{
    if (!strcmp(sub, "to")) {
        if (!cc_disp_count_remaining_args(rp->d))
            return cc_disp_arg_err(rp->d);
        while (cc_disp_next_arg(rp->d))
            if (cc_rp_add_upstream(rp, cc_disp_val(rp->d)))
                return CC_ERR;
        return CC_OK;
    }
    if (!strcmp(sub, "dynamic")) {
        if (cc_rp_need_arg(rp))
            return CC_ERR;
        if (cc_cfg_get(rp->out, "dynamic_upstreams"))
            return cc_disp_errf(rp->d, "dynamic upstreams already specified");
        cc_cfg *src = NULL;
        if (parse_source(rp, &src))
            return CC_ERR;
        cc_cfg_set(rp->a, rp->out, "dynamic_upstreams", src);
        return CC_OK;
    }
    return CC_RP_NOT_MINE;
}
