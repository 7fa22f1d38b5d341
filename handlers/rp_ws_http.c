/* SPDX-License-Identifier: Apache-2.0
 * The HTTP/1.x response parsing of reverse_proxy's raw upgrade path (rp_ws): where a
 * response head ends, its status line and fields, and an incremental chunked-body
 * decoder. Strict where a lax reading could let an upstream smuggle bytes (no obs-fold,
 * no control bytes, token names only), lenient where Go's reader is (bare LF). */
#include <string.h>

#include "rp_ws_priv.h"

size_t cc_rp_ws_head_end(const char *p, size_t n, size_t scan_from)
{
    size_t i = scan_from > 3 ? scan_from - 3 : 0;
    for (; i < n; i++) {
        if (p[i] != '\n')
            continue;
        /* LF LF or LF CR LF ends the head */
        if (i + 1 < n && p[i + 1] == '\n')
            return i + 2;
        if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Next line of [*p, end): sets *len without its CR LF / LF, advances *p. */
static const char *next_line(const char **p, const char *end, size_t *len)
{
    const char *s = *p;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl)
        nl = end;
    size_t l = (size_t)(nl - s);
    if (l && s[l - 1] == '\r')
        l--;
    *len = l;
    *p = nl < end ? nl + 1 : end;
    return s;
}

int cc_rp_ws_head_parse(cc_arena *a, const char *p, size_t n, ws_head *out, const char **why)
{
    const char *cur = p, *end = p + n;
    size_t l;
    const char *s = next_line(&cur, end, &l);
    /* HTTP/1.1 101 Switching Protocols */
    if (l < 12 || memcmp(s, "HTTP/", 5) != 0 || !is_digit(s[5]) || s[6] != '.' || !is_digit(s[7]) ||
        s[8] != ' ' || !is_digit(s[9]) || !is_digit(s[10]) || !is_digit(s[11]) ||
        (l > 12 && s[12] != ' ')) {
        *why = "malformed HTTP response";
        return CC_ERR;
    }
    out->major = s[5] - '0';
    out->minor = s[7] - '0';
    out->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (out->major != 1 || out->status < 100) {
        *why = "malformed HTTP status code";
        return CC_ERR;
    }
    out->hdrs = (cc_headers){0};
    for (;;) {
        s = next_line(&cur, end, &l);
        if (l == 0)
            break;
        if (s[0] == ' ' || s[0] == '\t') {
            *why = "malformed MIME header: obsolete line folding";
            return CC_ERR;
        }
        const char *colon = memchr(s, ':', l);
        if (!colon || colon == s) {
            *why = "malformed MIME header line";
            return CC_ERR;
        }
        for (const char *c = s; c < colon; c++)
            if (!is_tchar((unsigned char)*c)) {
                *why = "malformed MIME header: invalid field name";
                return CC_ERR;
            }
        const char *v = colon + 1, *ve = s + l;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        for (const char *c = v; c < ve; c++)
            if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f) {
                *why = "malformed MIME header: invalid field value";
                return CC_ERR;
            }
        cc_headers_add(a, &out->hdrs, cc_arena_strndup(a, s, (size_t)(colon - s)),
                       cc_arena_strndup(a, v, (size_t)(ve - v)));
        if (cur >= end)
            break;
    }
    return CC_OK;
}

enum { C_SIZE, C_EXT, C_DATA, C_DATA_CR, C_DATA_LF, C_TR_START, C_TR_CR, C_TR_LINE };

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cc_rp_ws_chunk_feed(ws_chunk *c, const char *p, size_t n, size_t *used,
                        int (*emit)(void *ctx, const char *d, size_t len), void *ctx)
{
    size_t i = 0;
    while (i < n) {
        char ch = p[i];
        switch (c->st) {
        case C_SIZE: {
            int v = hexval(ch);
            if (v >= 0) {
                if (c->size >> 40)
                    return WS_CHUNK_ERR; /* absurd chunk size */
                c->size = c->size * 16 + (uint64_t)v;
                c->digits++;
                i++;
                continue;
            }
            if (!c->digits)
                return WS_CHUNK_ERR;
            if (ch == ';' || ch == ' ' || ch == '\t' || ch == '\r') {
                c->st = C_EXT;
                i++;
                continue;
            }
            if (ch != '\n')
                return WS_CHUNK_ERR;
            c->st = c->size ? C_DATA : C_TR_START;
            c->digits = 0;
            i++;
            continue;
        }
        case C_EXT:
            if (ch == '\n') {
                c->st = c->size ? C_DATA : C_TR_START;
                c->digits = 0;
            } else if ((unsigned char)ch < 0x20 && ch != '\t' && ch != '\r') {
                return WS_CHUNK_ERR;
            }
            i++;
            continue;
        case C_DATA: {
            size_t k = n - i;
            if ((uint64_t)k > c->size)
                k = (size_t)c->size;
            if (emit(ctx, p + i, k) != CC_OK)
                return WS_CHUNK_ERR;
            c->size -= k;
            i += k;
            if (!c->size)
                c->st = C_DATA_CR;
            continue;
        }
        case C_DATA_CR:
            if (ch == '\r')
                c->st = C_DATA_LF;
            else if (ch == '\n')
                c->st = C_SIZE;
            else
                return WS_CHUNK_ERR;
            i++;
            continue;
        case C_DATA_LF:
            if (ch != '\n')
                return WS_CHUNK_ERR;
            c->st = C_SIZE;
            i++;
            continue;
        case C_TR_START:
            i++;
            if (ch == '\n') {
                *used = i;
                return WS_CHUNK_DONE;
            }
            c->st = ch == '\r' ? C_TR_CR : C_TR_LINE;
            continue;
        case C_TR_CR:
            i++;
            if (ch != '\n')
                return WS_CHUNK_ERR;
            *used = i;
            return WS_CHUNK_DONE;
        case C_TR_LINE:
            if (ch == '\n')
                c->st = C_TR_START;
            i++;
            continue;
        default:
            return WS_CHUNK_ERR;
        }
    }
    *used = i;
    return WS_CHUNK_MORE;
}
