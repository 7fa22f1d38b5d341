/* SPDX-License-Identifier: Apache-2.0
 * Request framing checks (what caddy-c refuses before any handler runs) and the pure
 * request-target helpers. The rules follow RFC 9112 and Go's net/http server (which is
 * what Caddy answers with): the error texts are Go's where Go has one, and the stricter
 * smuggling rules (any duplicate Content-Length, CL with TE) follow nginx. */
#include "framing.h"

#include <string.h>
#include <strings.h>

#include "../core/err.h"

/* RFC 9110 tchar as a 256-bit set: every header name of every request goes through it */
static const uint32_t tchar_bits[8] = {
    0x00000000, /* 0x00-0x1f: controls */
    0x03ff6cfa, /* 0x20-0x3f: ! # $ % & ' * + - . 0-9 */
    0xc7fffffe, /* 0x40-0x5f: A-Z ^ _ */
    0x57ffffff, /* 0x60-0x7f: ` a-z | ~ */
    0,          0, 0, 0,
};

bool cc_framing_is_tchar(unsigned char c)
{
    return (tchar_bits[c >> 5] >> (c & 31)) & 1;
}

/* Go's httpguts.ValidHostHeader byte set. */
static bool host_byte(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!$%&()*+,-.:;=['~]_", c) != NULL;
}

static bool name_is(const cc_frame_hdr *h, const char *name)
{
    size_t n = strlen(name);
    return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

/* Trims optional whitespace (SP / HTAB) on both sides of [*p, *p + *n). */
static void trim_ows(const char **p, size_t *n)
{
    while (*n > 0 && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
        (*n)--;
}

static int fail(cc_frame_res *out, int status, const char *reason)
{
    out->status = status;
    out->reason = reason;
    return status;
}

static int check_version(const char *v, cc_frame_res *out)
{
    /* HTTP-version = "HTTP/" DIGIT "." DIGIT */
    if (!v || strncmp(v, "HTTP/", 5) != 0 || !(v[5] >= '0' && v[5] <= '9') || v[6] != '.' ||
        !(v[7] >= '0' && v[7] <= '9') || v[8] != 0)
        return fail(out, 400, "malformed HTTP version");
    if (v[5] != '1')
        return fail(out, 505, "unsupported protocol version");
    /* a higher 1.x minor is answered as the highest we speak (RFC 9110 2.5) */
    out->major = 1;
    out->minor = v[7] == '0' ? 0 : 1;
    return 0;
}

static int check_target(const cc_frame_in *in, cc_frame_res *out)
{
    if (!in->target || in->target_len == 0)
        return fail(out, 400, "missing request target");
    for (size_t i = 0; i < in->target_len; i++) {
        unsigned char c = (unsigned char)in->target[i];
        if (c <= 0x20 || c == 0x7f)
            return fail(out, 400, "invalid character in request target");
    }
    cc_target_parts tp;
    if (cc_target_split(in->target, in->target_len, &tp) != CC_OK)
        return fail(out, 400, "invalid request target");
    if (tp.path_len == 1 && tp.path[0] == '*' && !tp.authority &&
        strcmp(in->method, "OPTIONS") != 0)
        return fail(out, 400, "invalid request target");
    char buf[256];
    for (size_t i = 0; i < tp.path_len; i++) {
        /* only escapes can be malformed: validate them without a full decode */
        if (tp.path[i] != '%')
            continue;
        if (i + 2 >= tp.path_len || cc_target_unescape(tp.path + i, 3, buf) < 0)
            return fail(out, 400, "invalid URL escape");
        i += 2;
    }
    return 0;
}

static int check_te(const cc_frame_hdr *h, cc_frame_res *out)
{
    const char *p = h->value, *end = h->value + h->value_len;
    int nchunked = 0, nother = 0;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        const char *t = p;
        size_t n = (size_t)(e - p);
        trim_ows(&t, &n);
        if (n == 0)
            return fail(out, 400, "malformed Transfer-Encoding");
        for (size_t i = 0; i < n; i++)
            if (!cc_framing_is_tchar((unsigned char)t[i]))
                return fail(out, 400, "malformed Transfer-Encoding");
        if (n == 7 && strncasecmp(t, "chunked", 7) == 0)
            nchunked++;
        else
            nother++;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (nother > 0)
        return fail(out, 501, "Unsupported transfer encoding");
    if (nchunked != 1)
        return fail(out, 400, "chunked applied more than once");
    out->chunked = true;
    return 0;
}

static int check_cl(const cc_frame_hdr *h, cc_frame_res *out)
{
    const char *p = h->value;
    size_t n = h->value_len;
    trim_ows(&p, &n);
    if (n == 0 || n > 18)
        return fail(out, 400, "bad Content-Length");
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return fail(out, 400, "bad Content-Length");
        v = v * 10 + (p[i] - '0');
    }
    out->content_length = v;
    return 0;
}

static int check_headers(const cc_frame_in *in, cc_frame_res *out)
{
    const cc_frame_hdr *host = NULL, *cl = NULL, *te = NULL, *expect = NULL;
    size_t nhost = 0, ncl = 0, nte = 0;
    for (size_t i = 0; i < in->nhdrs; i++) {
        const cc_frame_hdr *h = &in->hdrs[i];
        if (h->name_len == 0)
            return fail(out, 400, "invalid header name");
        for (size_t k = 0; k < h->name_len; k++)
            if (!cc_framing_is_tchar((unsigned char)h->name[k]))
                return fail(out, 400, "invalid header name");
        for (size_t k = 0; k < h->value_len; k++) {
            unsigned char c = (unsigned char)h->value[k];
            /* field-value: VCHAR, obs-text, SP and HTAB; CR, LF, NUL and other controls
             * would be header injection once forwarded */
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return fail(out, 400, "invalid header value");
        }
        if (name_is(h, "Host")) {
            host = h;
            nhost++;
        } else if (name_is(h, "Content-Length")) {
            cl = h;
            ncl++;
        } else if (name_is(h, "Transfer-Encoding")) {
            te = h;
            nte++;
        } else if (name_is(h, "Expect")) {
            expect = h;
        }
    }
    if (nhost > 1)
        return fail(out, 400, "too many Host headers");
    if (nhost == 0 && out->minor >= 1)
        return fail(out, 400, "missing required Host header");
    if (host) {
        for (size_t k = 0; k < host->value_len; k++)
            if (!host_byte((unsigned char)host->value[k]))
                return fail(out, 400, "malformed Host header");
    }
    if (ncl > 1)
        return fail(out, 400, "multiple Content-Length headers");
    if (nte > 1)
        return fail(out, 400, "too many transfer encodings");
    if (te && out->minor == 0)
        return fail(out, 400, "Transfer-Encoding in an HTTP/1.0 request");
    if (te && cl)
        return fail(out, 400, "both Content-Length and Transfer-Encoding");
    if (te && check_te(te, out))
        return out->status;
    if (cl && check_cl(cl, out))
        return out->status;
    if (expect) {
        const char *p = expect->value;
        size_t n = expect->value_len;
        trim_ows(&p, &n);
        if (n > 0 && !(n == 12 && strncasecmp(p, "100-continue", 12) == 0))
            return fail(out, 417, "");
    }
    return 0;
}

int cc_framing_check(const cc_frame_in *in, cc_frame_res *out)
{
    memset(out, 0, sizeof(*out));
    out->content_length = -1;
    out->reason = "";
    if (in->raw_flags & CC_RAW_NUL)
        return fail(out, 400, "NUL byte in request head");
    if (check_version(in->version, out))
        return out->status;
    if (!in->method || !in->method[0])
        return fail(out, 400, "missing method");
    for (const char *m = in->method; *m; m++)
        if (!cc_framing_is_tchar((unsigned char)*m))
            return fail(out, 400, "invalid method");
    if (strcmp(in->method, "CONNECT") == 0)
        return fail(out, 501, "CONNECT is not supported");
    if (check_target(in, out))
        return out->status;
    if (in->raw_flags & CC_RAW_FOLD)
        return fail(out, 400, "obsolete line folding in a header");
    if (in->raw_flags & CC_RAW_BADCL)
        return fail(out, 400, "bad Content-Length");
    if (in->raw_flags & CC_RAW_BADTE)
        return fail(out, 400, "malformed Transfer-Encoding");
    return check_headers(in, out);
}

/* ---- request-target ---- */

int cc_target_split(const char *t, size_t n, cc_target_parts *out)
{
    memset(out, 0, sizeof(*out));
    if (n == 0)
        return CC_ERR;
    const char *end = t + n, *p = t;
    if (t[0] != '/') {
        if (n == 1 && t[0] == '*') {
            out->path = t;
            out->path_len = 1;
            return CC_OK;
        }
        /* absolute-form: scheme "://" authority [path-abempty] ["?" query] */
        size_t i = 0;
        if (!((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z')))
            return CC_ERR;
        while (i < n && ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
                         (t[i] >= '0' && t[i] <= '9') || t[i] == '+' || t[i] == '-' || t[i] == '.'))
            i++;
        if (n - i < 3 || memcmp(t + i, "://", 3) != 0)
            return CC_ERR;
        p = t + i + 3;
        const char *a = p;
        while (p < end && *p != '/' && *p != '?')
            p++;
        out->authority = a;
        out->authority_len = (size_t)(p - a);
        /* userinfo is not allowed in an http(s) target (RFC 9110 4.2.4) */
        if (memchr(a, '@', out->authority_len))
            return CC_ERR;
    }
    const char *q = memchr(p, '?', (size_t)(end - p));
    out->path = p;
    out->path_len = (size_t)((q ? q : end) - p);
    if (q) {
        out->query = q + 1;
        out->query_len = (size_t)(end - q - 1);
    }
    return CC_OK;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long cc_target_unescape(const char *src, size_t n, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] != '%') {
            dst[o++] = src[i];
            continue;
        }
        if (i + 2 >= n)
            return -1;
        int hi = hexval((unsigned char)src[i + 1]), lo = hexval((unsigned char)src[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return -1;
        dst[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    dst[o] = 0;
    return (long)o;
}
