/* SPDX-License-Identifier: Apache-2.0
 * Placeholder values: the global ones (env, system, time, file) and every http.*
 * family of Caddy's replacer (request line, URI parts, headers, cookies, host labels,
 * remote prefixes, uuid, duration, body, originals, vars, regexp captures, errors,
 * response headers), formatted the way Go's ToString prints them. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "ipnet.h"
#include "rand.h"
#include "replacer_priv.h"
#include "urlenc.h"

/* ---- small formatting helpers ---- */

static const char *fmt_int(cc_arena *a, long long v)
{
    return cc_arena_printf(a, "%lld", v);
}

/* Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest decimal that reads back. */
static const char *fmt_float(cc_arena *a, double v)
{
    char buf[64];
    for (int d = 0; d < 20; d++) {
        snprintf(buf, sizeof(buf), "%.*f", d, v);
        if (strtod(buf, NULL) == v)
            return cc_arena_strdup(a, buf);
    }
    return cc_arena_printf(a, "%.17f", v);
}

/* Go's time.Duration.String(). */
static const char *fmt_duration(cc_arena *a, int64_t ns)
{
    char buf[64];
    bool neg = ns < 0;
    uint64_t u = neg ? (uint64_t)(-ns) : (uint64_t)ns;
    if (u == 0)
        return "0s";
    if (u < 1000000000ull) {
        const char *unit;
        uint64_t div;
        if (u < 1000) {
            unit = "ns";
            div = 1;
        } else if (u < 1000000) {
            unit = "\xc2\xb5s";
            div = 1000;
        } else {
            unit = "ms";
            div = 1000000;
        }
        int n = snprintf(buf, sizeof(buf), "%s%llu", neg ? "-" : "", (unsigned long long)(u / div));
        uint64_t frac = u % div;
        if (frac) {
            char f[16];
            int digits = div == 1000 ? 3 : 6;
            snprintf(f, sizeof(f), "%0*llu", digits, (unsigned long long)frac);
            for (int i = digits - 1; i > 0 && f[i] == '0'; i--)
                f[i] = '\0';
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, ".%s", f);
        }
        snprintf(buf + n, sizeof(buf) - (size_t)n, "%s", unit);
        return cc_arena_strdup(a, buf);
    }
    uint64_t secs = u / 1000000000ull, frac = u % 1000000000ull;
    uint64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
    int n = snprintf(buf, sizeof(buf), "%s", neg ? "-" : "");
    if (h)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%lluh", (unsigned long long)h);
    if (h || m)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%llum", (unsigned long long)m);
    n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%llu", (unsigned long long)s);
    if (frac) {
        char f[16];
        snprintf(f, sizeof(f), "%09llu", (unsigned long long)frac);
        for (int i = 8; i > 0 && f[i] == '0'; i--)
            f[i] = '\0';
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, ".%s", f);
    }
    snprintf(buf + n, sizeof(buf) - (size_t)n, "s");
    return cc_arena_strdup(a, buf);
}

static uint64_t process_start_mono;

/* Go's time.Time.String() of time.Now(), monotonic reading included. */
static const char *fmt_time_now(cc_arena *a)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char date[64], zone[16], frac[16] = "";
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    strftime(zone, sizeof(zone), "%z %Z", &tm);
    if (ts.tv_nsec) {
        snprintf(frac, sizeof(frac), ".%09ld", ts.tv_nsec);
        for (int i = 9; i > 1 && frac[i] == '0'; i--)
            frac[i] = '\0';
    }
    uint64_t now = cc_now_mono_ns();
    if (!process_start_mono)
        process_start_mono = now;
    uint64_t mono = now - process_start_mono;
    return cc_arena_printf(a, "%s%s %s m=+%llu.%09llu", date, frac, zone,
                           (unsigned long long)(mono / 1000000000ull),
                           (unsigned long long)(mono % 1000000000ull));
}

static const char *fmt_strftime(cc_arena *a, const char *fmt, bool utc)
{
    time_t t = time(NULL);
    struct tm tm;
    if (utc)
        gmtime_r(&t, &tm);
    else
        localtime_r(&t, &tm);
    char buf[96];
    strftime(buf, sizeof(buf), fmt, &tm);
    return cc_arena_strdup(a, buf);
}

static const char *read_file_ph(cc_arena *a, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = cc_arena_alloc(a, cap + 1);
    while (n < 1024 * 1024) {
        if (n == cap) {
            size_t nc = cap * 2 > 1024 * 1024 ? 1024 * 1024 : cap * 2;
            buf = cc_arena_grow(a, buf, cap + 1, nc + 1);
            cap = nc;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    if (n && buf[n - 1] == '\n')
        n--;
    if (n && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return buf;
}

/* Splits "host:port" / "[v6]:port" like Go's net.SplitHostPort; false without a port. */
static bool split_hostport(cc_arena *a, const char *hp, const char **host, const char **port)
{
    if (!hp)
        return false;
    const char *colon = strrchr(hp, ':');
    if (!colon)
        return false;
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        if (!rb || rb + 1 != colon)
            return false;
        *host = cc_arena_strndup(a, hp + 1, (size_t)(rb - hp - 1));
    } else {
        if (memchr(hp, ':', (size_t)(colon - hp)))
            return false; /* too many colons */
        *host = cc_arena_strndup(a, hp, (size_t)(colon - hp));
    }
    *port = colon + 1;
    return true;
}

static const char *join_hostport(cc_arena *a, const char *ip, int port)
{
    if (!ip)
        ip = "";
    if (strchr(ip, ':'))
        return cc_arena_printf(a, "[%s]:%d", ip, port);
    return cc_arena_printf(a, "%s:%d", ip, port);
}

static const char *request_uri(cc_req *r)
{
    const char *p = r->raw_path ? r->raw_path : (r->path ? r->path : "/");
    if (!*p)
        p = "/";
    if (r->query && *r->query)
        return cc_arena_printf(r->arena, "%s?%s", p, r->query);
    return p;
}

static const char *path_file(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static const char *path_dir(cc_arena *a, const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? cc_arena_strndup(a, p, (size_t)(s - p + 1)) : "";
}

/* Go's path.Ext: from the last '.' in the final element. */
static const char *path_ext(const char *p)
{
    for (const char *e = p + strlen(p); e > p; e--) {
        if (e[-1] == '/')
            return "";
        if (e[-1] == '.')
            return e - 1;
    }
    return "";
}

/* Go's path.Base minus path.Ext. */
static const char *path_base_noext(cc_arena *a, const char *p)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    const char *start = p;
    for (size_t i = n; i > 0; i--) {
        if (p[i - 1] == '/') {
            start = p + i;
            break;
        }
    }
    size_t bn = (size_t)(p + n - start);
    const char *base;
    if (n == 0)
        base = ".";
    else if (bn == 0)
        base = "/";
    else
        base = cc_arena_strndup(a, start, bn);
    const char *ext = path_ext(p);
    size_t en = strlen(ext), bl = strlen(base);
    if (en && bl >= en && strcmp(base + bl - en, ext) == 0)
        return cc_arena_strndup(a, base, bl - en);
    return base;
}

static const char *path_part(cc_arena *a, const char *p, const char *idxs, bool *found)
{
    char *end;
    if (!*idxs) {
        *found = false;
        return NULL;
    }
    long idx = strtol(idxs, &end, 10);
    if (*end || idx < 0) {
        *found = false;
        return NULL;
    }
    if (!p)
        p = "";
    if (*p == '/')
        p++;
    for (long i = 0;; i++) {
        const char *s = strchr(p, '/');
        if (i == idx)
            return s ? cc_arena_strndup(a, p, (size_t)(s - p)) : p;
        if (!s)
            return "";
        p = s + 1;
    }
}

static const char *cookie_value(cc_req *r, const char *name)
{
    for (size_t i = 0; i < r->headers.n; i++) {
        if (strcasecmp(r->headers.v[i].name, "Cookie") != 0)
            continue;
        const char *p = r->headers.v[i].value;
        while (*p) {
            while (*p == ' ' || *p == ';')
                p++;
            const char *semi = strchr(p, ';');
            size_t n = semi ? (size_t)(semi - p) : strlen(p);
            const char *eq = memchr(p, '=', n);
            if (eq) {
                size_t kn = (size_t)(eq - p);
                while (kn && p[kn - 1] == ' ')
                    kn--;
                if (kn == strlen(name) && strncasecmp(p, name, kn) == 0) {
                    const char *v = eq + 1;
                    size_t vn = n - (size_t)(v - p);
                    while (vn && v[vn - 1] == ' ')
                        vn--;
                    if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"')
                        v++, vn -= 2;
                    return cc_arena_strndup(r->arena, v, vn);
                }
            }
            p += n;
        }
    }
    return NULL;
}

static const char *b64(cc_arena *a, const char *s, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = cc_arena_alloc(a, (n + 2) / 3 * 4 + 1), *o = out;
    const unsigned char *p = (const unsigned char *)s;
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        *o++ = tbl[p[i] >> 2];
        *o++ = tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        *o++ = tbl[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
        *o++ = tbl[p[i + 2] & 63];
    }
    if (i < n) {
        *o++ = tbl[p[i] >> 2];
        if (i + 1 < n) {
            *o++ = tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
            *o++ = tbl[(p[i + 1] & 15) << 2];
        } else {
            *o++ = tbl[(p[i] & 3) << 4];
            *o++ = '=';
        }
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

/* The request body as a string: an in-memory body as is, a streamed one read fully
 * into the arena and put back as an in-memory body (Caddy buffers it the same way). */
static const char *request_body(cc_req *r, size_t *len)
{
    cc_body *b = r->body;
    *len = 0;
    if (!b)
        return "";
    if (b->mem) {
        *len = b->mem_len;
        return cc_arena_strndup(r->arena, b->mem, b->mem_len);
    }
    size_t cap = 8192, n = 0;
    char *buf = cc_arena_alloc(r->arena, cap + 1);
    for (;;) {
        if (n == cap) {
            buf = cc_arena_grow(r->arena, buf, cap + 1, cap * 2 + 1);
            cap *= 2;
        }
        ssize_t got;
        if (b->fd >= 0 && !b->read) {
            if (b->len >= 0 && (int64_t)n >= b->len)
                break;
            got = pread(b->fd, buf + n, cap - n, b->off + (off_t)n);
        } else if (b->read) {
            got = b->read(b, buf + n, cap - n);
        } else {
            break;
        }
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    buf[n] = '\0';
    if (b->close)
        b->close(b);
    r->body = cc_body_mem(r->arena, buf, n);
    *len = n;
    return buf;
}

static const char *tls_value(cc_req *r, const char *arg)
{
    const cc_conn *c = r->conn;
    if (!c || !c->tls)
        return NULL; /* Caddy: tls placeholders are unknown on plain HTTP */
    if (strcmp(arg, "version") == 0)
        return c->tls_version ? c->tls_version : "";
    if (strcmp(arg, "cipher_suite") == 0)
        return c->tls_cipher ? c->tls_cipher : "";
    if (strcmp(arg, "proto") == 0)
        return c->tls_proto ? c->tls_proto : "";
    if (strcmp(arg, "proto_mutual") == 0)
        return "true";
    if (strcmp(arg, "server_name") == 0)
        return c->tls_server_name ? c->tls_server_name : "";
    if (strcmp(arg, "resumed") == 0)
        return "false";
    if (strncmp(arg, "client.", 7) == 0)
        return NULL; /* no client certificates */
    return NULL;
}

const char *cc_repl_lookup(cc_req *r, const char *key, cc_repl_kind k, const char *arg)
{
    cc_arena *a = r ? r->arena : NULL;
    switch (k) {
    case K_ENV: {
        const char *v = getenv(arg);
        return v ? v : "";
    }
    case K_SYS_SLASH:
        return "/";
    case K_SYS_OS:
        return "linux";
    case K_SYS_ARCH: {
#if defined(__x86_64__)
        return "amd64";
#elif defined(__aarch64__)
        return "arm64";
#elif defined(__i386__)
        return "386";
#elif defined(__arm__)
        return "arm";
#else
        struct utsname u;
        return uname(&u) == 0 && a ? cc_arena_strdup(a, u.machine) : "";
#endif
    }
    default:
        break;
    }
    switch (k) {
    case K_FILE: {
        const char *v = read_file_ph(a, arg);
        return v ? v : "";
    }
    case K_SYS_HOSTNAME: {
        char h[HOST_NAME_MAX + 1];
        if (gethostname(h, sizeof(h)) != 0)
            return "";
        h[HOST_NAME_MAX] = '\0';
        return cc_arena_strdup(a, h);
    }
    case K_SYS_WD: {
        char wd[PATH_MAX];
        return getcwd(wd, sizeof(wd)) ? cc_arena_strdup(a, wd) : "";
    }
    case K_TIME_NOW:
        return fmt_time_now(a);
    case K_TIME_HTTP:
        return fmt_strftime(a, "%a, %d %b %Y %H:%M:%S GMT", true);
    case K_TIME_CLOG:
        return fmt_strftime(a, "%d/%b/%Y:%H:%M:%S %z", false);
    case K_TIME_YEAR:
        return fmt_strftime(a, "%Y", false);
    case K_TIME_UNIX:
        return fmt_int(a, (long long)time(NULL));
    case K_TIME_UNIX_MS: {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return fmt_int(a, (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    }
    default:
        break;
    }
    if (r->engine == &cc_repl_no_request && k != K_OTHER)
        return NULL; /* the request-less stand-in: globals only */

    switch (k) {
    case K_QUERY_ARG:
        return cc_query_get_joined(a, r->query, arg, NULL);
    case K_HEADER_ARG: {
        /* Go moves Host out of the header map, so Caddy sees no Host header here */
        if (strcasecmp(arg, "Host") == 0)
            return "";
        const char *v = cc_headers_get_joined(a, &r->headers, arg);
        return v ? v : "";
    }
    case K_COOKIE_ARG:
        return cookie_value(r, arg);
    case K_TLS_ARG:
        return tls_value(r, arg);
    case K_METHOD:
        return r->method ? r->method : "";
    case K_SCHEME:
        return r->conn && r->conn->tls ? "https" : (r->scheme ? r->scheme : "http");
    case K_PROTO:
        return r->proto ? r->proto : "";
    case K_PROTO_NAME:
        if (r->proto_major == 2)
            return "HTTP/2";
        if (r->proto_major == 3)
            return "HTTP/3";
        return r->proto ? r->proto : "";
    case K_HOST: {
        const char *h, *p;
        if (r->hostport && split_hostport(a, r->hostport, &h, &p))
            return h;
        return r->hostport ? r->hostport : (r->host ? r->host : "");
    }
    case K_PORT: {
        const char *h, *p;
        if (r->hostport && split_hostport(a, r->hostport, &h, &p))
            return p;
        return "";
    }
    case K_HOSTPORT:
        return r->hostport ? r->hostport : (r->host ? r->host : "");
    case K_LOCAL:
        return r->conn ? join_hostport(a, r->conn->local_ip, r->conn->local_port) : "";
    case K_LOCAL_HOST:
        return r->conn && r->conn->local_ip ? r->conn->local_ip : "";
    case K_LOCAL_PORT:
        return r->conn ? fmt_int(a, r->conn->local_port) : "";
    case K_REMOTE:
        return r->conn ? join_hostport(a, r->conn->remote_ip, r->conn->remote_port) : "";
    case K_REMOTE_HOST:
        return r->conn && r->conn->remote_ip ? r->conn->remote_ip : "";
    case K_REMOTE_PORT:
        return r->conn ? fmt_int(a, r->conn->remote_port) : "";
    case K_URI:
        return request_uri(r);
    case K_URI_ESC:
        return cc_url_query_escape(a, request_uri(r));
    case K_PATH:
        return r->path ? r->path : "";
    case K_PATH_ESC:
        return cc_url_query_escape(a, r->path ? r->path : "");
    case K_PATH_FILE:
        return path_file(r->path ? r->path : "");
    case K_PATH_DIR:
        return path_dir(a, r->path ? r->path : "");
    case K_PATH_BASE:
        return path_base_noext(a, r->path ? r->path : "");
    case K_PATH_EXT:
        return path_ext(r->path ? r->path : "");
    case K_QUERY:
        return r->query ? r->query : "";
    case K_QUERY_ESC:
        return cc_url_query_escape(a, r->query ? r->query : "");
    case K_PQUERY:
        return r->query && *r->query ? cc_arena_printf(a, "?%s", r->query) : "";
    case K_DURATION:
        return fmt_duration(a, (int64_t)(cc_now_mono_ns() - r->start_mono_ns));
    case K_DURATION_MS:
        return fmt_float(a, (double)(cc_now_mono_ns() - r->start_mono_ns) / 1e6);
    case K_UUID:
        if (!r->uuid) {
            unsigned char b[16];
            cc_rand_bytes(b, sizeof(b));
            b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
            b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
            r->uuid = cc_arena_printf(
                a, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                b[14], b[15]);
        }
        return r->uuid;
    case K_BODY: {
        size_t n;
        return request_body(r, &n);
    }
    case K_BODY_B64: {
        size_t n;
        const char *b = request_body(r, &n);
        return b64(a, b, n);
    }
    case K_ORIG_METHOD:
        return r->orig_method ? r->orig_method : (r->method ? r->method : "");
    case K_ORIG_URI:
        return r->orig_target ? r->orig_target : "";
    case K_ORIG_PATH:
        return r->orig_path ? r->orig_path : "";
    case K_ORIG_PATH_FILE:
        return path_file(r->orig_path ? r->orig_path : "");
    case K_ORIG_PATH_DIR:
        return path_dir(a, r->orig_path ? r->orig_path : "");
    case K_ORIG_QUERY:
        return r->orig_query ? r->orig_query : "";
    case K_ORIG_PQUERY:
        return r->orig_query && *r->orig_query ? cc_arena_printf(a, "?%s", r->orig_query) : "";
    case K_REMOTE_PREFIX: {
        const char *host = r->conn && r->conn->remote_ip ? r->conn->remote_ip : "";
        cc_ip ip;
        if (!cc_ip_parse(host, &ip))
            return host;
        char bits[32];
        const char *comma = strchr(arg, ',');
        if (comma && ip.v6)
            snprintf(bits, sizeof(bits), "%s", comma + 1);
        else
            snprintf(bits, sizeof(bits), "%.*s", comma ? (int)(comma - arg) : (int)strlen(arg),
                     arg);
        char *end;
        long b = strtol(bits, &end, 10);
        if (!bits[0] || *end || b < 0 || b > (ip.v6 ? 128 : 32))
            return "";
        cc_ip_mask(&ip, (int)b);
        char buf[64];
        return cc_arena_printf(a, "%s/%ld", cc_ip_format(&ip, buf, sizeof(buf)), b);
    }
    case K_HOST_LABEL: {
        char *end;
        long idx = strtol(arg, &end, 10);
        if (!*arg || *end || idx < 0)
            return NULL;
        const char *h, *p, *host = r->hostport ? r->hostport : (r->host ? r->host : "");
        if (split_hostport(a, host, &h, &p))
            host = h;
        long nlabels = 1;
        for (const char *c = host; *c; c++)
            nlabels += *c == '.';
        if (idx >= nlabels)
            return "";
        long want = nlabels - idx - 1, cur = 0;
        const char *s = host;
        while (cur < want) {
            s = strchr(s, '.') + 1;
            cur++;
        }
        const char *e = strchr(s, '.');
        char *out = cc_arena_strndup(a, s, e ? (size_t)(e - s) : strlen(s));
        for (char *c = out; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c + 32);
        return out;
    }
    case K_PATH_PART: {
        bool found = true;
        const char *v = path_part(a, r->path, arg, &found);
        return found ? v : NULL;
    }
    case K_ORIG_PATH_PART: {
        bool found = true;
        const char *v = path_part(a, r->orig_path, arg, &found);
        return found ? v : NULL;
    }
    case K_VAR: {
        const char *v = cc_vars_get(&r->vars, arg);
        return v ? v : "";
    }
    case K_RESP_HEADER: {
        const char *v = cc_headers_get_joined(a, &r->resp.headers, arg);
        return v ? v : "";
    }
    case K_SHUTTING_DOWN:
        return "false";
    case K_TIME_UNTIL_SHUTDOWN:
        return "";
    case K_ERR:
        if (!r->err.status)
            return NULL;
        return cc_arena_printf(a, "{id=%s} %s: HTTP %d%s%s", r->err.id ? r->err.id : "",
                               r->err.trace ? r->err.trace : "", r->err.status,
                               r->err.message ? ": " : "", r->err.message ? r->err.message : "");
    case K_ERR_STATUS:
        return r->err.status ? fmt_int(a, r->err.status) : NULL;
    case K_ERR_TEXT:
        return r->err.status ? cc_http_status_text(r->err.status) : NULL;
    case K_ERR_MSG:
        if (!r->err.status)
            return NULL;
        return r->err.message ? r->err.message : cc_http_status_text(r->err.status);
    case K_ERR_TRACE:
        return r->err.status ? (r->err.trace ? r->err.trace : "") : NULL;
    case K_ERR_ID:
        return r->err.status ? (r->err.id ? r->err.id : "") : NULL;
    case K_OTHER:
        return cc_vars_get(&r->vars, key);
    default:
        return NULL;
    }
}
