/* SPDX-License-Identifier: Apache-2.0
 * Site addresses (caddy-reference 2.3): [scheme://][host][:port][/path] parsed the way
 * Caddy's ParseAddress + Normalize do it (Go's net.SplitHostPort rules, IPv6 hosts in
 * canonical form, host lower-cased outside placeholders), plus the display form that
 * Caddy's error messages use. */
#include "adapter_priv.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Go's net.SplitHostPort; returns false on any error it would report. */
static bool split_host_port(cc_arena *a, const char *hp, const char **host, const char **port)
{
    size_t n = strlen(hp);
    const char *colon = strrchr(hp, ':');
    if (!colon)
        return false;
    size_t i = (size_t)(colon - hp), j = 0, k = 0;
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        if (!rb)
            return false;
        size_t end = (size_t)(rb - hp);
        if (end + 1 == n || end + 1 != i)
            return false;
        *host = cc_arena_strndup(a, hp + 1, end - 1);
        j = 1;
        k = end + 1;
    } else {
        *host = cc_arena_strndup(a, hp, i);
        if (strchr(*host, ':'))
            return false;
    }
    if (strchr(hp + j, '['))
        return false;
    if (strchr(hp + k, ']'))
        return false;
    *port = cc_arena_strdup(a, hp + i + 1);
    return true;
}

/* Go's strconv.Atoi: returns 0 ok, 1 syntax error, 2 out of range. */
int cc_cf_atoi(const char *s, long long *out)
{
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    if (!*p)
        return 1;
    unsigned long long v = 0;
    bool range = false;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return 1;
        if (v > (unsigned long long)INT64_MAX / 10)
            range = true;
        v = v * 10 + (unsigned long long)(*p - '0');
        if (v > (unsigned long long)INT64_MAX + (neg ? 1 : 0))
            range = true;
    }
    if (range)
        return 2;
    *out = neg ? -(long long)v : (long long)v;
    return 0;
}

/* Lower-cases s except inside unescaped {placeholder} spans (Caddy issue #3264). */
static char *lower_except_placeholders(cc_arena *a, const char *s)
{
    char *o = cc_arena_strdup(a, s);
    bool esc = false, in = false;
    for (char *p = o; *p; p++) {
        if (*p == '\\' && !esc) {
            esc = true;
            continue;
        }
        if (*p == '{' && !esc)
            in = true;
        if (*p == '}' && in && !esc)
            in = false;
        if (!in)
            *p = (char)tolower((unsigned char)*p);
        esc = false;
    }
    return o;
}

/* IPv6 literals become their canonical text (netip.Addr.String); zones are kept. */
static const char *normalize_ip(cc_arena *a, const char *host)
{
    const char *pct = strchr(host, '%');
    char *addr = cc_arena_strndup(a, host, pct ? (size_t)(pct - host) : strlen(host));
    unsigned char buf[16];
    if (!strchr(addr, ':') || inet_pton(AF_INET6, addr, buf) != 1)
        return host;
    if (pct && !pct[1])
        return host;
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(buf, v4mapped, 12) == 0)
        return host;
    char out[INET6_ADDRSTRLEN];
    if (!inet_ntop(AF_INET6, buf, out, sizeof(out)))
        return host;
    return pct ? cc_arena_printf(a, "%s%s", out, pct) : cc_arena_strdup(a, out);
}

int cc_cf_parse_address(cc_arena *a, const cc_token *tok, cc_cf_addr *out, cc_err *err)
{
    size_t n = tok->len > 4096 ? 4096 : tok->len;
    const char *s = tok->text;
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char *rem = cc_arena_strndup(a, s, n);
    memset(out, 0, sizeof(*out));
    out->original = rem;
    out->scheme = out->host = out->port = out->path = "";

    const char *sep = strstr(rem, "://");
    if (sep) {
        out->scheme = cc_arena_strndup(a, rem, (size_t)(sep - rem));
        rem = (char *)sep + 3;
    }
    const char *slash = strchr(rem, '/');
    char *hp = cc_arena_strndup(a, rem, slash ? (size_t)(slash - rem) : strlen(rem));
    const char *host = "", *port = "";
    if (!split_host_port(a, hp, &host, &port)) {
        port = "";
        if (!split_host_port(a, cc_arena_printf(a, "%s:", hp), &host, &port))
            host = hp;
    }
    out->host = host;
    out->port = port;
    if (slash)
        out->path = cc_arena_strdup(a, slash);

    if (*out->port) {
        long long pn = 0;
        int rc = cc_cf_atoi(out->port, &pn);
        if (rc)
            return cc_disp_errf_tok(err, tok, "invalid port '%s': strconv.Atoi: parsing \"%s\": %s",
                                    out->port, out->port,
                                    rc == 1 ? "invalid syntax" : "value out of range");
        if (pn < 0 || pn > 65535)
            return cc_disp_errf_tok(err, tok, "port %lld is out of range", pn);
    }

    /* Normalize */
    out->host = lower_except_placeholders(a, normalize_ip(a, out->host));
    out->scheme = lower_except_placeholders(a, out->scheme);

    if (strcmp(out->scheme, "wss") == 0)
        return cc_disp_errf_tok(err, tok,
                                "the scheme wss:// is only supported in browsers; use https:// "
                                "instead");
    if (strcmp(out->scheme, "ws") == 0)
        return cc_disp_errf_tok(err, tok,
                                "the scheme ws:// is only supported in browsers; use http:// "
                                "instead");
    if (*out->scheme && strcmp(out->scheme, "http") != 0 && strcmp(out->scheme, "https") != 0)
        return cc_disp_errf_tok(err, tok, "unsupported URL scheme %s://", out->scheme);
    return CC_OK;
}

static const char *join_host_port(cc_arena *a, const char *host, const char *port)
{
    if (strchr(host, ':'))
        return cc_arena_printf(a, "[%s]:%s", host, port);
    return cc_arena_printf(a, "%s:%s", host, port);
}

const char *cc_cf_addr_key(cc_arena *a, const cc_cf_addr *addr)
{
    const char *port = addr->port;
    if (!*port)
        port = strcmp(addr->scheme, "http") == 0 ? "80" : "443";
    return join_host_port(a, addr->host, port);
}

/* Caddy's Address.String(): the cleaned-up URL form used in messages. */
const char *cc_cf_addr_string(cc_arena *a, const cc_cf_addr *addr)
{
    if (!*addr->host && !*addr->port)
        return "";
    const char *scheme = addr->scheme;
    if (!*scheme)
        scheme = strcmp(addr->port, "443") == 0 ? "https" : "http";
    bool with_port = *addr->port && ((strcmp(scheme, "https") == 0 && strcmp(addr->port, "443")) ||
                                     (strcmp(scheme, "http") == 0 && strcmp(addr->port, "80")));
    return cc_arena_printf(a, "%s://%s%s", scheme,
                           with_port ? join_host_port(a, addr->host, addr->port) : addr->host,
                           addr->path);
}

int cc_cf_specificity(const char *s)
{
    int l = 0;
    for (const char *p = s; *p; p++)
        if (*p != '*')
            l++;
    while (*s) {
        const char *start = strchr(s, '{');
        if (!start)
            return l;
        const char *end = strchr(start, '}');
        if (!end)
            return l;
        end++;
        l -= (int)(end - start);
        s = end;
    }
    return l;
}
