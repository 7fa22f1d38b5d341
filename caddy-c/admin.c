/* SPDX-License-Identifier: Apache-2.0
 * The admin endpoint: its own libmicrohttpd daemon (a thread per connection, poll-based,
 * so it never touches the engine's workers), bound to a socket opened here so bind
 * errors read like Caddy's. Requests pass Caddy's browser mitigations and its Host and
 * Origin checks (DNS rebinding) before the routes /load, /adapt, /config/, /stop and
 * /reverse_proxy/upstreams. */
#include "admin.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "../handlers/rp_pool.h"
#include "app_priv.h"

/* Config bodies above this are refused (Caddy's /config limit is 100 MB; a Caddyfile
 * or JSON config of 16 MiB is already far beyond any real one). */
#define ADMIN_MAX_BODY (16u << 20)

typedef struct {
    char *scheme; /* NULL: any scheme */
    char *host;   /* "host:port" as in a Host header */
} admin_origin;

typedef struct {
    char *listen; /* the address as configured */
    bool enforce_host, enforce_origin;
    admin_origin *origins;
    size_t norigins;
} admin_settings;

struct cc_admin {
    cc_app *app;
    struct MHD_Daemon *d;
    cc_admin_netaddr addr;
    pthread_mutex_t mu; /* guards cur: a reload may change the origins while serving */
    admin_settings cur, pending;
    bool has_pending;
    atomic_int inflight; /* requests begun and not completed: drained before a stop */
};

const char *cc_admin_default_listen(void)
{
    const char *env = getenv("CADDY_ADMIN");
    return env ? env : "localhost:2019";
}

static void settings_free(admin_settings *s)
{
    for (size_t i = 0; i < s->norigins; i++) {
        free(s->origins[i].scheme);
        free(s->origins[i].host);
    }
    free(s->origins);
    free(s->listen);
    memset(s, 0, sizeof(*s));
}

/* ---- addresses ---------------------------------------------------------------------- */

int cc_admin_parse_addr(const char *addr, cc_admin_netaddr *out, cc_err *err)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->network, sizeof(out->network), "tcp");
    const char *rest = addr;
    const char *slash = strchr(addr, '/');
    if (slash) {
        static const char *const nets[] = {"tcp", "tcp4", "tcp6", "unix"};
        for (size_t i = 0; i < 4; i++) {
            size_t n = strlen(nets[i]);
            if ((size_t)(slash - addr) == n && strncasecmp(addr, nets[i], n) == 0) {
                snprintf(out->network, sizeof(out->network), "%s", nets[i]);
                rest = slash + 1;
            }
        }
    }
    if (strcmp(out->network, "unix") == 0) {
        size_t n = strcspn(rest, "|"); /* "|0222" permission bits are not supported */
        if (n == 0 || n >= sizeof(((struct sockaddr_un *)0)->sun_path))
            return cc_err_set(err, "parsing listener address: invalid unix socket path: %s", rest);
        snprintf(out->host, sizeof(out->host), "%.*s", (int)n, rest);
        return CC_OK;
    }
    const char *colon;
    const char *host = rest;
    size_t hlen;
    if (*rest == '[') {
        const char *rb = strchr(rest, ']');
        if (!rb || rb[1] != ':')
            return cc_err_set(err, "parsing listener address: address %s: missing port in address",
                              rest);
        host = rest + 1;
        hlen = (size_t)(rb - host);
        colon = rb + 1;
    } else {
        colon = strrchr(rest, ':');
        if (!colon)
            return cc_err_set(err, "parsing listener address: address %s: missing port in address",
                              rest);
        hlen = (size_t)(colon - rest);
        if (memchr(rest, ':', hlen))
            return cc_err_set(
                err, "parsing listener address: address %s: too many colons in address", rest);
    }
    const char *port = colon + 1;
    if (strchr(port, '-'))
        return cc_err_set(err, "must be exactly one listener address; cannot listen on: %s", addr);
    char *end;
    long p = strtol(port, &end, 10);
    if (!*port || *end || p < 0 || p > 65535)
        return cc_err_set(err, "parsing listener address: invalid port: %s", port);
    if (hlen >= sizeof(out->host))
        return cc_err_set(err, "parsing listener address: host too long");
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    out->port = (int)p;
    return CC_OK;
}

/* net.JoinHostPort */
static void join_host_port(const char *host, int port, char *buf, size_t n)
{
    if (strchr(host, ':'))
        snprintf(buf, n, "[%s]:%d", host, port);
    else
        snprintf(buf, n, "%s:%d", host, port);
}

static bool host_is_loopback(const char *h)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcasecmp(h, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, h, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, h, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

static bool host_is_wildcard(const char *h)
{
    return !*h || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0;
}

static void add_origin(admin_settings *s, const char *scheme, const char *host, size_t hlen)
{
    for (size_t i = 0; i < s->norigins; i++)
        if (strlen(s->origins[i].host) == hlen && strncmp(s->origins[i].host, host, hlen) == 0 &&
            ((!scheme && !s->origins[i].scheme) ||
             (scheme && s->origins[i].scheme && strcmp(scheme, s->origins[i].scheme) == 0)))
            return;
    s->origins = cc_xrealloc(s->origins, (s->norigins + 1) * sizeof(*s->origins));
    admin_origin *o = &s->origins[s->norigins++];
    o->scheme = scheme ? cc_xstrdup(scheme) : NULL;
    o->host = cc_xmalloc(hlen + 1);
    memcpy(o->host, host, hlen);
    o->host[hlen] = '\0';
}

/* An origin as Caddy keeps it: "scheme://host[/...]" or a bare "host[:port]". */
static void add_origin_text(admin_settings *s, const char *text)
{
    const char *sep = strstr(text, "://");
    if (!sep) {
        add_origin(s, NULL, text, strlen(text));
        return;
    }
    char scheme[32];
    size_t sn = (size_t)(sep - text);
    if (sn == 0 || sn >= sizeof(scheme))
        return;
    for (size_t i = 0; i < sn; i++)
        scheme[i] = (char)tolower((unsigned char)text[i]);
    scheme[sn] = '\0';
    const char *host = sep + 3;
    add_origin(s, scheme, host, strcspn(host, "/?#"));
}

/* Reads config's "admin" object. *disabled set: nothing else is filled. */
static int parse_settings(const cc_cfg *config, bool *disabled, admin_settings *s,
                          cc_admin_netaddr *addr, cc_err *err)
{
    memset(s, 0, sizeof(*s));
    const cc_cfg *admin = cc_cfg_get(config, "admin");
    if (admin && admin->type != CC_CFG_OBJ && admin->type != CC_CFG_NULL)
        return cc_err_set(err, "decoding config: json: cannot unmarshal into Go struct field "
                               "Config.admin of type caddy.AdminConfig");
    const cc_cfg *dis = cc_cfg_get(admin, "disabled");
    *disabled = dis && dis->type == CC_CFG_BOOL && dis->b;
    if (*disabled)
        return CC_OK;
    if (cc_cfg_get(admin, "remote") || cc_cfg_get(admin, "identity"))
        return cc_err_set(err, "remote administration (admin.remote, admin.identity) is not "
                               "supported by caddy-c");
    const char *listen = cc_cfg_get_str(admin, "listen");
    if (!listen || !*listen)
        listen = cc_admin_default_listen();
    if (cc_admin_parse_addr(listen, addr, err) != CC_OK)
        return CC_ERR;
    s->listen = cc_xstrdup(listen);
    const cc_cfg *eo = cc_cfg_get(admin, "enforce_origin");
    s->enforce_origin = eo && eo->type == CC_CFG_BOOL && eo->b;
    bool is_unix = strcmp(addr->network, "unix") == 0;
    s->enforce_host = !is_unix && !host_is_wildcard(addr->host);
    const cc_cfg *origins = cc_cfg_get(admin, "origins");
    if (origins && origins->type == CC_CFG_ARR) {
        for (size_t i = 0; i < origins->arr.n; i++)
            if (origins->arr.v[i]->type == CC_CFG_STR)
                add_origin_text(s, origins->arr.v[i]->s.p);
    } else if (!is_unix) {
        char hp[300];
        if (host_is_loopback(addr->host)) {
            static const char *const lo[] = {"localhost", "::1", "127.0.0.1"};
            for (size_t i = 0; i < 3; i++) {
                join_host_port(lo[i], addr->port, hp, sizeof(hp));
                add_origin_text(s, hp);
            }
        } else {
            join_host_port(addr->host, addr->port, hp, sizeof(hp));
            add_origin_text(s, hp);
        }
    }
    return CC_OK;
}

static const char *go_strerror(int e, char *buf, size_t n)
{
    snprintf(buf, n, "%s", strerror(e));
    buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

/* Go's net.Listen, with its message on failure. A stale unix socket file (nobody
 * accepting on it) is removed first. */
static int open_listener(const cc_admin_netaddr *addr, cc_err *err)
{
    char eb[128];
    if (strcmp(addr->network, "unix") == 0) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        /* the length was checked when the address was parsed */
        size_t plen = strnlen(addr->host, sizeof(sun.sun_path) - 1);
        memcpy(sun.sun_path, addr->host, plen);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return cc_err_set(err, "listen unix %s: socket: %s", addr->host,
                              go_strerror(errno, eb, sizeof(eb)));
        struct stat st;
        if (stat(addr->host, &st) == 0 && S_ISSOCK(st.st_mode) &&
            connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 && errno == ECONNREFUSED)
            unlink(addr->host);
        close(fd);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 || listen(fd, 64) != 0) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            return cc_err_set(err, "listen unix %s: bind: %s", addr->host,
                              go_strerror(e, eb, sizeof(eb)));
        }
        return fd;
    }
    char port[16], shown[300];
    snprintf(port, sizeof(port), "%d", addr->port);
    join_host_port(addr->host, addr->port, shown, sizeof(shown));
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    hints.ai_family = strcmp(addr->network, "tcp4") == 0   ? AF_INET
                      : strcmp(addr->network, "tcp6") == 0 ? AF_INET6
                                                           : AF_UNSPEC;
    bool wildcard = !*addr->host;
    if (wildcard && hints.ai_family == AF_UNSPEC)
        hints.ai_family = AF_INET6; /* dual stack, like Go's "[::]:port" */
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(wildcard ? NULL : addr->host, port, &hints, &res);
    if (gai != 0 && wildcard && hints.ai_family == AF_INET6) {
        hints.ai_family = AF_INET;
        gai = getaddrinfo(NULL, port, &hints, &res);
    }
    if (gai != 0)
        return cc_err_set(err, "listen %s %s: lookup %s: %s", addr->network, shown, addr->host,
                          gai_strerror(gai));
    /* Go listens on the first IPv4 address of a name (localhost -> 127.0.0.1) */
    struct addrinfo *pick = res;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    char ip[INET6_ADDRSTRLEN] = "";
    if (pick->ai_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)pick->ai_addr)->sin_addr, ip, sizeof(ip));
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)pick->ai_addr)->sin6_addr, ip, sizeof(ip));
    if (!wildcard)
        join_host_port(ip, addr->port, shown, sizeof(shown));
    int fd = socket(pick->ai_family, pick->ai_socktype | SOCK_CLOEXEC, pick->ai_protocol);
    int one = 1, zero = 0;
    const char *step = "socket";
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (pick->ai_family == AF_INET6 && wildcard)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        step = "bind";
        if (bind(fd, pick->ai_addr, pick->ai_addrlen) == 0) {
            step = "listen";
            if (listen(fd, 64) == 0) {
                freeaddrinfo(res);
                return fd;
            }
        }
    }
    int e = errno;
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return cc_err_set(err, "listen %s %s: %s: %s", addr->network, shown, step,
                      go_strerror(e, eb, sizeof(eb)));
}

/* ---- requests ----------------------------------------------------------------------- */

typedef struct {
    char *body;
    size_t len, cap;
    bool too_big;
    bool stop; /* answered POST /stop: stop once the response is out */
} req_ctx;

static enum MHD_Result send_bytes(struct MHD_Connection *c, int status, const char *ctype,
                                  char *data, size_t len, const char *allow_origin, bool options)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, data ? data : (char *)"", data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(data);
        return MHD_NO;
    }
    if (ctype)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (allow_origin) {
        if (options) {
            MHD_add_response_header(r, "Access-Control-Allow-Methods",
                                    "OPTIONS, GET, POST, PUT, PATCH, DELETE");
            MHD_add_response_header(r, "Access-Control-Allow-Headers",
                                    "Content-Type, Content-Length, Cache-Control");
            MHD_add_response_header(r, "Access-Control-Allow-Credentials", "true");
        }
        MHD_add_response_header(r, "Access-Control-Allow-Origin", allow_origin);
    }
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Caddy's APIError response: {"error": message} with the status. */
static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *msg,
                                  const char *allow_origin)
{
    app_log(CC_LOG_ERROR, "admin.api", "request error", "error", msg, NULL);
    json_t *o = json_pack("{s:s}", "error", msg);
    char *js = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!js)
        js = cc_xstrdup("{\"error\":\"internal error\"}");
    size_t n = strlen(js);
    js = cc_xrealloc(js, n + 2);
    js[n] = '\n';
    js[n + 1] = '\0';
    return send_bytes(c, status, "application/json", js, n + 1, allow_origin, false);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Origin (or Referer) reduced to scheme and host, as Caddy's getOrigin. */
static bool origin_of(const char *text, char *scheme, size_t sn, char *host, size_t hn)
{
    const char *sep = text ? strstr(text, "://") : NULL;
    if (!sep || sep == text || (size_t)(sep - text) >= sn)
        return false;
    for (size_t i = 0; i < (size_t)(sep - text); i++)
        scheme[i] = (char)tolower((unsigned char)text[i]);
    scheme[sep - text] = '\0';
    const char *h = sep + 3;
    size_t n = strcspn(h, "/?#");
    if (n >= hn)
        return false;
    memcpy(host, h, n);
    host[n] = '\0';
    return true;
}

/* Warnings as Caddy's adapt response has them: {"file","line","message"}. */
static json_t *warnings_json(const cc_warns *w)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < w->list.n; i++) {
        const char *s = w->list.v[i];
        json_t *o = json_object();
        const char *p = s;
        const char *msg = s;
        while ((p = strchr(p, ':')) != NULL) {
            const char *d = p + 1;
            while (isdigit((unsigned char)*d))
                d++;
            if (d > p + 1 && d[0] == ':' && d[1] == ' ') {
                json_object_set_new(o, "file", json_stringn(s, (size_t)(p - s)));
                json_object_set_new(o, "line", json_integer(atoi(p + 1)));
                msg = d + 2;
                break;
            }
            p++;
        }
        json_object_set_new(o, "message", json_string(msg));
        json_array_append_new(arr, o);
    }
    return arr;
}

static enum MHD_Result handle_load(cc_admin *ad, struct MHD_Connection *c, req_ctx *rc,
                                   const char *allow)
{
    cc_arena *a = cc_arena_new(0);
    cc_warns w = {.a = a};
    cc_cfg *cfg = NULL;
    cc_err err = {0};
    const char *ctype = header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (cc_app_adapt_body(a, ctype, rc->body ? rc->body : "", rc->len, &cfg, &w, &err) != CC_OK) {
        cc_arena_free(a);
        return send_error(c, 400, err.msg, allow);
    }
    char *warn_body = NULL;
    if (w.list.n) {
        for (size_t i = 0; i < w.list.n; i++)
            app_log(CC_LOG_WARN, "admin.api", w.list.v[i], "adapter", "caddyfile", NULL);
        json_t *wj = warnings_json(&w);
        warn_body = json_dumps(wj, JSON_COMPACT);
        json_decref(wj);
    }
    const char *cc = header(c, MHD_HTTP_HEADER_CACHE_CONTROL);
    bool force = cc && strcmp(cc, "must-revalidate") == 0;
    /* the app takes the arena (and the config in it) */
    int lrc = cc_app_load(ad->app, a, cfg, force, &err);
    if (lrc == CC_ERR) {
        free(warn_body);
        char msg[sizeof(err.msg) + 32];
        snprintf(msg, sizeof(msg), "loading config: %s", err.msg);
        return send_error(c, 400, msg, allow);
    }
    app_log(CC_LOG_INFO, "admin.api", "load complete", NULL);
    return send_bytes(c, 200, warn_body ? "application/json" : NULL, warn_body,
                      warn_body ? strlen(warn_body) : 0, allow, false);
}

static enum MHD_Result handle_adapt(struct MHD_Connection *c, req_ctx *rc, const char *allow)
{
    cc_arena *a = cc_arena_new(0);
    cc_warns w = {.a = a};
    cc_cfg *cfg = NULL;
    cc_err err = {0};
    if (cc_app_adapt_body(a, header(c, MHD_HTTP_HEADER_CONTENT_TYPE), rc->body ? rc->body : "",
                          rc->len, &cfg, &w, &err) != CC_OK) {
        cc_arena_free(a);
        return send_error(c, 400, err.msg, allow);
    }
    size_t n;
    char *res = cfg ? cc_cfg_to_json(cfg, false, &n) : cc_xstrdup("null");
    json_error_t jerr;
    json_t *out = json_object();
    if (w.list.n)
        json_object_set_new(out, "warnings", warnings_json(&w));
    json_object_set_new(out, "result", json_loads(res, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr));
    free(res);
    cc_arena_free(a);
    char *js = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    size_t len = strlen(js);
    js = cc_xrealloc(js, len + 2);
    js[len] = '\n';
    js[len + 1] = '\0';
    return send_bytes(c, 200, "application/json", js, len + 1, allow, false);
}

/* GET /reverse_proxy/upstreams: every upstream address in use, as Caddy's encoder
 * writes it (compact, newline-terminated). */
static enum MHD_Result handle_upstreams(struct MHD_Connection *c, const char *allow)
{
    cc_arena *a = cc_arena_new(0);
    size_t n;
    char *js = cc_cfg_to_json(cc_rp_pools_json(a), false, &n);
    cc_arena_free(a);
    js = cc_xrealloc(js, n + 2);
    js[n] = '\n';
    js[n + 1] = '\0';
    return send_bytes(c, 200, "application/json", js, n + 1, allow, false);
}

static enum MHD_Result handle_config(cc_admin *ad, struct MHD_Connection *c, req_ctx *rc,
                                     const char *url, const char *method, const char *allow)
{
    int status = 400;
    cc_err err = {0};
    if (strcmp(method, "GET") == 0) {
        size_t len;
        char *js = cc_app_config_json(ad->app, url, &status, &len, &err);
        if (!js)
            return send_error(c, status, err.msg, allow);
        return send_bytes(c, 200, "application/json", js, len, allow, false);
    }
    bool del = strcmp(method, "DELETE") == 0;
    if (!del && strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0 &&
        strcmp(method, "PATCH") != 0) {
        char msg[64];
        snprintf(msg, sizeof(msg), "method %s not allowed", method);
        return send_error(c, 405, msg, allow);
    }
    if (!del) {
        const char *ct = header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!ct || !strstr(ct, "/json")) {
            char msg[512];
            snprintf(msg, sizeof(msg), "unacceptable content-type: %s; 'application/json' required",
                     ct ? ct : "");
            return send_error(c, 400, msg, allow);
        }
    }
    const char *cc = header(c, MHD_HTTP_HEADER_CACHE_CONTROL);
    bool force = cc && strcmp(cc, "must-revalidate") == 0;
    if (cc_app_config_change(ad->app, method, url, rc->body ? rc->body : "", rc->len, force,
                             &status, &err) != CC_OK)
        return send_error(c, status, err.msg, allow);
    return send_bytes(c, 200, NULL, NULL, 0, allow, false);
}

static void log_request(struct MHD_Connection *c, const char *method, const char *url)
{
    char ip[INET6_ADDRSTRLEN] = "", port[8] = "";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
            inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
            snprintf(port, sizeof(port), "%u", ntohs(s4->sin_port));
        } else if (sa->sa_family == AF_INET6) {
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
            inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
            snprintf(port, sizeof(port), "%u", ntohs(s6->sin6_port));
        }
    }
    const char *host = header(c, MHD_HTTP_HEADER_HOST);
    app_log(CC_LOG_INFO, "admin.api", "received request", "method", method, "host",
            host ? host : "", "uri", url, "remote_ip", ip, "remote_port", port, NULL);
}

static enum MHD_Result serve(cc_admin *ad, struct MHD_Connection *c, req_ctx *rc, const char *url,
                             const char *method)
{
    log_request(c, method, url);
    const char *up = header(c, MHD_HTTP_HEADER_UPGRADE);
    if (up && strstr(up, "websocket"))
        return send_error(c, 400, "WebSocket connections aren't allowed.", NULL);
    const char *sfm = header(c, "Sec-Fetch-Mode");
    if (sfm && strstr(sfm, "no-cors"))
        return send_error(c, 400, "Disabling same-origin restrictions is not allowed.", NULL);
    const char *origin_hdr = header(c, MHD_HTTP_HEADER_ORIGIN);
    if (origin_hdr && strcmp(origin_hdr, "null") == 0)
        return send_error(c, 400, "Buggy browser is sending null Origin header.", NULL);

    char msg[600];
    char allow[300] = "";
    pthread_mutex_lock(&ad->mu);
    const admin_settings *s = &ad->cur;
    int deny = 0;
    if (s->enforce_host) {
        const char *host = header(c, MHD_HTTP_HEADER_HOST);
        bool ok = false;
        for (size_t i = 0; host && i < s->norigins && !ok; i++)
            ok = strcmp(host, s->origins[i].host) == 0;
        if (!ok) {
            snprintf(msg, sizeof(msg), "host not allowed: %s", host ? host : "");
            deny = 403;
        }
    }
    if (!deny && (s->enforce_origin || origin_hdr || sfm)) {
        const char *text = origin_hdr ? origin_hdr : header(c, "Referer");
        char scheme[32], ohost[256];
        if (!origin_of(text, scheme, sizeof(scheme), ohost, sizeof(ohost))) {
            snprintf(msg, sizeof(msg), "required Origin header is missing or invalid");
            deny = 403;
        } else {
            bool ok = false;
            for (size_t i = 0; i < s->norigins && !ok; i++)
                ok = (!s->origins[i].scheme || strcmp(s->origins[i].scheme, scheme) == 0) &&
                     strcmp(s->origins[i].host, ohost) == 0;
            if (!ok) {
                snprintf(msg, sizeof(msg), "client is not allowed to access from origin '%s'",
                         text);
                deny = 403;
            } else {
                snprintf(allow, sizeof(allow), "%s://%s", scheme, ohost);
            }
        }
    }
    pthread_mutex_unlock(&ad->mu);
    if (deny)
        return send_error(c, deny, msg, NULL);
    const char *al = *allow ? allow : NULL;
    if (rc->too_big)
        return send_error(c, 413, "reading request body: http: request body too large", al);
    if (strcmp(method, "OPTIONS") == 0 && al)
        return send_bytes(c, 200, NULL, NULL, 0, al, true);

    bool post = strcmp(method, "POST") == 0;
    if (strcmp(url, "/load") == 0)
        return post ? handle_load(ad, c, rc, al) : send_error(c, 405, "method not allowed", al);
    if (strcmp(url, "/adapt") == 0)
        return post ? handle_adapt(c, rc, al) : send_error(c, 405, "method not allowed", al);
    if (strcmp(url, "/stop") == 0) {
        if (!post)
            return send_error(c, 405, "method not allowed", al);
        rc->stop = true;
        return send_bytes(c, 200, NULL, NULL, 0, al, false);
    }
    if (strcmp(url, "/config") == 0 || strncmp(url, "/config/", 8) == 0)
        return handle_config(ad, c, rc, url, method, al);
    if (strcmp(url, "/reverse_proxy/upstreams") == 0)
        return strcmp(method, "GET") == 0 ? handle_upstreams(c, al)
                                          : send_error(c, 405, "method not allowed", al);
    return send_bytes(c, 404, "text/plain; charset=utf-8", cc_xstrdup("404 page not found\n"), 19,
                      al, false);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    cc_admin *ad = cls;
    req_ctx *rc = *con_cls;
    if (!rc) {
        *con_cls = cc_xcalloc(1, sizeof(req_ctx));
        atomic_fetch_add(&ad->inflight, 1);
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (rc->too_big || rc->len + n > ADMIN_MAX_BODY) {
            rc->too_big = true;
            free(rc->body);
            rc->body = NULL;
            rc->len = rc->cap = 0;
            return MHD_YES;
        }
        if (rc->len + n + 1 > rc->cap) {
            rc->cap = (rc->len + n + 1) * 2;
            rc->body = cc_xrealloc(rc->body, rc->cap);
        }
        memcpy(rc->body + rc->len, upload_data, n);
        rc->len += n;
        rc->body[rc->len] = '\0';
        return MHD_YES;
    }
    return serve(ad, c, rc, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    cc_admin *ad = cls;
    req_ctx *rc = *con_cls;
    if (!rc)
        return;
    if (rc->stop)
        cc_app_request_stop(ad->app);
    free(rc->body);
    free(rc);
    *con_cls = NULL;
    atomic_fetch_sub(&ad->inflight, 1);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static bool same_listener(const cc_admin *a, const cc_admin_netaddr *addr)
{
    return a && strcmp(a->addr.network, addr->network) == 0 &&
           strcmp(a->addr.host, addr->host) == 0 && a->addr.port == addr->port;
}

static void log_started(const cc_admin *ad)
{
    cc_arena *a = cc_arena_new(1024);
    cc_cfg *extra = cc_cfg_obj(a);
    cc_cfg_set_str(a, extra, "address", ad->cur.listen);
    cc_cfg_set_bool(a, extra, "enforce_origin", ad->cur.enforce_origin);
    cc_cfg *origins = cc_cfg_child_arr(a, extra, "origins");
    for (size_t i = 0; i < ad->cur.norigins; i++) {
        const admin_origin *o = &ad->cur.origins[i];
        cc_cfg_push_str(a, origins,
                        o->scheme ? cc_arena_printf(a, "%s://%s", o->scheme, o->host) : o->host);
    }
    cc_log(CC_LOG_INFO, "admin", extra, "admin endpoint started");
    cc_arena_free(a);
    if (!ad->cur.enforce_host && strcmp(ad->addr.network, "unix") != 0)
        app_log(CC_LOG_WARN, "admin", "admin endpoint on open interface; host checking disabled",
                "address", ad->cur.listen, NULL);
}

int cc_admin_prepare(struct cc_app *app, cc_admin *cur, const cc_cfg *config, cc_admin **next,
                     cc_err *err)
{
    *next = NULL;
    bool disabled;
    admin_settings s;
    cc_admin_netaddr addr;
    if (parse_settings(config, &disabled, &s, &addr, err) != CC_OK) {
        settings_free(&s);
        return CC_ERR;
    }
    if (disabled)
        return CC_OK;
    if (same_listener(cur, &addr)) {
        pthread_mutex_lock(&cur->mu);
        if (cur->has_pending)
            settings_free(&cur->pending);
        cur->pending = s;
        cur->has_pending = true;
        pthread_mutex_unlock(&cur->mu);
        *next = cur;
        return CC_OK;
    }
    int fd = open_listener(&addr, err);
    if (fd < 0) {
        settings_free(&s);
        return CC_ERR;
    }
    cc_admin *ad = cc_xcalloc(1, sizeof(*ad));
    ad->app = app;
    ad->addr = addr;
    ad->cur = s;
    pthread_mutex_init(&ad->mu, NULL);
    atomic_init(&ad->inflight, 0);
    ad->d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD, 0, NULL, NULL, on_request, ad,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, ad,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_END);
    if (!ad->d) {
        close(fd);
        if (strcmp(addr.network, "unix") == 0)
            unlink(addr.host);
        settings_free(&ad->cur);
        pthread_mutex_destroy(&ad->mu);
        free(ad);
        return cc_err_set(err, "starting the admin HTTP daemon on %s failed", s.listen);
    }
    log_started(ad);
    *next = ad;
    return CC_OK;
}

void cc_admin_commit(cc_admin *cur, cc_admin *next)
{
    if (!cur || next != cur)
        return;
    pthread_mutex_lock(&cur->mu);
    if (cur->has_pending) {
        settings_free(&cur->cur);
        cur->cur = cur->pending;
        memset(&cur->pending, 0, sizeof(cur->pending));
        cur->has_pending = false;
    }
    pthread_mutex_unlock(&cur->mu);
}

void cc_admin_abort(cc_admin *cur, cc_admin *next)
{
    if (!cur || next != cur)
        return;
    pthread_mutex_lock(&cur->mu);
    if (cur->has_pending)
        settings_free(&cur->pending);
    cur->has_pending = false;
    pthread_mutex_unlock(&cur->mu);
}

void cc_admin_stop(cc_admin *a)
{
    if (!a)
        return;
    /* let a request that is still answering (the /load that replaced this endpoint, or
     * /stop) get its response out first; bounded, a stuck client cannot hold us */
    for (int i = 0; i < 500 && atomic_load(&a->inflight) > 0; i++)
        usleep(10000);
    MHD_stop_daemon(a->d);
    if (strcmp(a->addr.network, "unix") == 0)
        unlink(a->addr.host);
    settings_free(&a->cur);
    if (a->has_pending)
        settings_free(&a->pending);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

const char *cc_admin_addr(const cc_admin *a)
{
    return a->cur.listen;
}
