/* SPDX-License-Identifier: Apache-2.0
 * Serving one open file the way Go's http.ServeContent does for Caddy's file_server:
 * validators (Last-Modified, the ETag the caller put in the headers), conditional
 * requests (412 / 304), If-Range, byte ranges (one range is a slice of the file that
 * the engine can sendfile; several become a multipart/byteranges body, streamed from
 * the file when large), 416 for unsatisfiable ranges, and the 308 redirects of
 * canonical URIs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../core/rand.h"
#include "fs.h"

/* ---- validators ---- */

bool cc_fs_useful_mtime(time_t t)
{
    /* 0 and 1 are what build systems stamp on reproducible files (Caddy #5548) */
    return t != 0 && t != 1;
}

static void base36(char *out, size_t cap, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    bool neg = v < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[u % 36];
        u /= 36;
    } while (u && n < sizeof(tmp));
    size_t o = 0;
    if (neg && o + 1 < cap)
        out[o++] = '-';
    while (n > 0 && o + 1 < cap)
        out[o++] = tmp[--n];
    out[o] = '\0';
}

const char *cc_fs_etag(cc_arena *a, const struct stat *st)
{
    if (!cc_fs_useful_mtime(st->st_mtim.tv_sec))
        return NULL;
    char t[24], s[24];
    base36(t, sizeof(t), (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec);
    base36(s, sizeof(s), (int64_t)st->st_size);
    size_t tn = strlen(t), sn = strlen(s);
    char *e = cc_arena_alloc(a, tn + sn + 4);
    e[0] = '"';
    memcpy(e + 1, t, tn);
    e[1 + tn] = '-';
    memcpy(e + 2 + tn, s, sn);
    e[2 + tn + sn] = '"';
    return e;
}

/* ---- redirects ---- */

typedef CC_VEC(char) charbuf;

static void push_str(cc_arena *a, charbuf *b, const char *s)
{
    for (; *s; s++)
        CC_VEC_PUSH(a, b, *s);
}

static void html_escape(cc_arena *a, charbuf *out, const char *s)
{
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&#34;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            break;
        }
        if (rep)
            push_str(a, out, rep);
        else

            CC_VEC_PUSH(a, out, *s);
    }
}

void cc_fs_redirect(cc_req *r, const char *to_path)
{
    cc_arena *a = r->arena;
    /* a leading "//" would make the target another host */
    while (strncmp(to_path, "//", 2) == 0)
        to_path++;
    /* http.Redirect cleans the path but keeps a trailing slash */
    size_t tl = strlen(to_path);
    const char *p = cc_fs_clean(a, to_path);
    if (tl > 0 && to_path[tl - 1] == '/' && p[strlen(p) - 1] != '/')
        p = cc_arena_printf(a, "%s/", p);
    /* Go escapes non-ASCII bytes; control bytes are escaped too so a decoded %0d%0a can
     * never split the header */
    charbuf loc = {0};
    for (const unsigned char *c = (const unsigned char *)p; *c; c++) {
        if (*c >= 0x80 || *c < 0x20 || *c == 0x7f) {
            char hex[4];
            snprintf(hex, sizeof(hex), "%%%02X", *c);
            push_str(a, &loc, hex);
        } else {
            CC_VEC_PUSH(a, &loc, (char)*c);
        }
    }
    if (r->query && r->query[0]) {
        CC_VEC_PUSH(a, &loc, '?');
        push_str(a, &loc, r->query);
    }
    CC_VEC_PUSH(a, &loc, '\0');

    bool had_ct = cc_headers_get(&r->resp.headers, "Content-Type") != NULL;
    bool get = strcmp(r->method, "GET") == 0, head = strcmp(r->method, "HEAD") == 0;
    cc_headers_set(a, &r->resp.headers, "Location", loc.v);
    if (!had_ct && (get || head))
        cc_headers_set(a, &r->resp.headers, "Content-Type", "text/html; charset=utf-8");
    r->resp.status = 308;
    r->resp.body = NULL;
    if (!had_ct && get) {
        charbuf body = {0};
        push_str(a, &body, "<a href=\"");
        html_escape(a, &body, loc.v);
        push_str(a, &body, "\">Permanent Redirect</a>.\n\n");
        r->resp.body = cc_body_mem(a, body.v, body.n);
    }
}

/* ---- conditional requests (RFC 9110 section 13, in Go's order) ---- */

enum { COND_NONE, COND_TRUE, COND_FALSE };

static bool ows(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Go's scanETag: one entity tag at the start of s (after white space); *len gets its
 * length including W/ and quotes, 0 when s does not start with a valid tag. */
static const char *scan_etag(const char *s, size_t *len, const char **rest)
{
    while (ows(*s))
        s++;
    size_t start = strncmp(s, "W/", 2) == 0 ? 2 : 0;
    *len = 0;
    if (strlen(s + start) < 2 || s[start] != '"')
        return s;
    for (size_t i = start + 1; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') {
            *len = i + 1;
            *rest = s + i + 1;
            return s;
        }
        if (!(c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80))
            return s;
    }
    return s;
}

static bool etag_strong_eq(const char *a, size_t alen, const char *b)
{
    return b && alen > 0 && a[0] == '"' && strlen(b) == alen && memcmp(a, b, alen) == 0;
}

static bool etag_weak_eq(const char *a, size_t alen, const char *b)
{
    if (!b)
        return false;
    if (alen >= 2 && strncmp(a, "W/", 2) == 0) {
        a += 2;
        alen -= 2;
    }
    if (strncmp(b, "W/", 2) == 0)
        b += 2;
    return strlen(b) == alen && memcmp(a, b, alen) == 0;
}

/* Walks an If-Match / If-None-Match list; returns 1 on '*', 2 on a tag matching etag
 * (strong or weak comparison), 0 when none matched. */
static int etag_list_match(const char *list, const char *etag, bool weak)
{
    const char *s = list;
    for (;;) {
        while (ows(*s))
            s++;
        if (!*s)
            return 0;
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '*')
            return 1;
        size_t n;
        const char *rest = NULL;
        const char *tag = scan_etag(s, &n, &rest);
        if (n == 0)
            return 0;
        if (weak ? etag_weak_eq(tag, n, etag) : etag_strong_eq(tag, n, etag))
            return 2;
        s = rest;
    }
}

static bool is_get_head(const cc_req *r)
{
    return strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
}

static int check_if_match(cc_req *r, const char *etag)
{
    const char *im = cc_headers_get(&r->headers, "If-Match");
    if (!im)
        return COND_NONE;
    return etag_list_match(im, etag, false) ? COND_TRUE : COND_FALSE;
}

static int check_if_unmodified_since(cc_req *r, time_t mtime)
{
    const char *ius = cc_headers_get(&r->headers, "If-Unmodified-Since");
    time_t t;
    if (!ius || !ius[0] || !mtime || !cc_http_parse_date(ius, &t))
        return COND_NONE;
    return mtime <= t ? COND_TRUE : COND_FALSE;
}

static int check_if_none_match(cc_req *r, const char *etag)
{
    const char *inm = cc_headers_get(&r->headers, "If-None-Match");
    if (!inm)
        return COND_NONE;
    return etag_list_match(inm, etag, true) ? COND_FALSE : COND_TRUE;
}

static int check_if_modified_since(cc_req *r, time_t mtime)
{
    if (!is_get_head(r))
        return COND_NONE;
    const char *ims = cc_headers_get(&r->headers, "If-Modified-Since");
    time_t t;
    if (!ims || !ims[0] || !mtime || !cc_http_parse_date(ims, &t))
        return COND_NONE;
    return mtime <= t ? COND_FALSE : COND_TRUE;
}

static int check_if_range(cc_req *r, const char *etag, time_t mtime)
{
    if (!is_get_head(r))
        return COND_NONE;
    const char *ir = cc_headers_get(&r->headers, "If-Range");
    if (!ir || !ir[0])
        return COND_NONE;
    size_t n;
    const char *rest = NULL;
    const char *tag = scan_etag(ir, &n, &rest);
    if (n > 0)
        return etag_strong_eq(tag, n, etag) ? COND_TRUE : COND_FALSE;
    time_t t;
    if (!mtime || !cc_http_parse_date(ir, &t))
        return COND_FALSE;
    return t == mtime ? COND_TRUE : COND_FALSE;
}

static void set_status(cc_req *r, int code, int override)
{
    r->resp.status = override > 0 ? override : code;
}

static void not_modified(cc_req *r, int override)
{
    cc_headers *h = &r->resp.headers;
    cc_headers_del(h, "Content-Type");
    cc_headers_del(h, "Content-Length");
    cc_headers_del(h, "Content-Encoding");
    if (cc_headers_get(h, "Etag"))
        cc_headers_del(h, "Last-Modified");
    r->resp.body = NULL;
    set_status(r, 304, override);
}

/* Go's serveError inside ServeContent: validators of the file do not describe an
 * error text. */
static void serve_error(cc_req *r, int code, const char *msg, int override)
{
    cc_headers *h = &r->resp.headers;
    cc_headers_del(h, "Cache-Control");
    cc_headers_del(h, "Content-Encoding");
    cc_headers_del(h, "Etag");
    cc_headers_del(h, "Last-Modified");
    cc_headers_del(h, "Content-Length");
    cc_headers_set(r->arena, h, "Content-Type", "text/plain; charset=utf-8");
    cc_headers_set(r->arena, h, "X-Content-Type-Options", "nosniff");
    const char *body = cc_arena_printf(r->arena, "%s\n", msg);
    r->resp.body = cc_body_mem(r->arena, body, strlen(body));
    set_status(r, code, override);
}

/* ---- ranges ---- */

typedef struct range {
    int64_t start, len;
} range;

typedef CC_VEC(range) range_vec;

enum { RANGE_OK, RANGE_INVALID, RANGE_NO_OVERLAP };

static const char *trim(cc_arena *a, const char *s, size_t n)
{
    while (n > 0 && ows(*s)) {
        s++;
        n--;
    }
    while (n > 0 && ows(s[n - 1]))
        n--;
    return cc_arena_strndup(a, s, n);
}

/* strconv.ParseInt(s, 10, 64): optional sign, digits only, no overflow */
static bool parse_i64(const char *s, int64_t *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return false;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* Go's parseRange over "bytes=..." for a content of size bytes. */
static int parse_ranges(cc_arena *a, const char *hdr, int64_t size, range_vec *out)
{
    if (strncmp(hdr, "bytes=", 6) != 0)
        return RANGE_INVALID;
    bool no_overlap = false;
    for (const char *s = hdr + 6;;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        const char *ra = trim(a, s, n);
        s = comma ? comma + 1 : s + n;
        if (ra[0]) {
            const char *dash = strchr(ra, '-');
            if (!dash)
                return RANGE_INVALID;
            const char *start = trim(a, ra, (size_t)(dash - ra));
            const char *end = trim(a, dash + 1, strlen(dash + 1));
            range r = {0, 0};
            int64_t i;
            if (!start[0]) {
                /* suffix range: the last <end> bytes */
                if (!end[0] || end[0] == '-' || !parse_i64(end, &i) || i < 0)
                    return RANGE_INVALID;
                if (i == 0) {
                    /* RFC 9110 14.1.3: a zero suffix-length is unsatisfiable */
                    no_overlap = true;
                    goto next;
                }
                if (i > size)
                    i = size;
                r.start = size - i;
                r.len = size - r.start;
            } else {
                if (!parse_i64(start, &i) || i < 0)
                    return RANGE_INVALID;
                if (i >= size) {
                    no_overlap = true;
                    goto next;
                }
                r.start = i;
                if (!end[0]) {
                    r.len = size - r.start;
                } else {
                    if (!parse_i64(end, &i) || r.start > i)
                        return RANGE_INVALID;
                    if (i >= size)
                        i = size - 1;
                    r.len = i - r.start + 1;
                }
            }
            CC_VEC_PUSH(a, out, r);
        }
    next:
        if (!comma)
            break;
    }
    if (no_overlap && out->n == 0)
        return RANGE_NO_OVERLAP;
    return RANGE_OK;
}

/* ---- multipart/byteranges body ---- */

typedef struct mp_part {
    const char *head;
    size_t head_len;
    int64_t off, len;
} mp_part;

typedef struct mp_stream {
    int fd;
    mp_part *parts;
    size_t nparts;
    const char *tail;
    size_t tail_len;
    size_t part;  /* current part; nparts = the closing delimiter */
    bool in_data; /* in the part's bytes rather than its head */
    int64_t pos;  /* offset within the current head, data or tail */
} mp_stream;

static size_t copy_mem(char *dst, size_t cap, const char *src, size_t len, int64_t *pos)
{
    size_t left = len - (size_t)*pos;
    size_t k = left < cap ? left : cap;
    memcpy(dst, src + *pos, k);
    *pos += (int64_t)k;
    return k;
}

static ssize_t mp_read(cc_body *b, char *buf, size_t cap)
{
    mp_stream *s = b->ctx;
    size_t out = 0;
    while (out < cap) {
        if (s->part == s->nparts) {
            if ((size_t)s->pos == s->tail_len)
                break;
            out += copy_mem(buf + out, cap - out, s->tail, s->tail_len, &s->pos);
            continue;
        }
        mp_part *p = &s->parts[s->part];
        if (!s->in_data) {
            if ((size_t)s->pos == p->head_len) {
                s->in_data = true;
                s->pos = 0;
                continue;
            }
            out += copy_mem(buf + out, cap - out, p->head, p->head_len, &s->pos);
            continue;
        }
        int64_t left = p->len - s->pos;
        if (left == 0) {
            s->part++;
            s->in_data = false;
            s->pos = 0;
            continue;
        }
        size_t want = cap - out;
        if ((int64_t)want > left)
            want = (size_t)left;
        ssize_t n = pread(s->fd, buf + out, want, p->off + s->pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return CC_ERR; /* read error, or the file shrank under us */
        s->pos += n;
        out += (size_t)n;
    }
    return (ssize_t)out;
}

static void mp_close(cc_body *b)
{
    mp_stream *s = b->ctx;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

static int serve_multipart(cc_req *r, int fd, int64_t size, const range_vec *rv, int status)
{
    cc_arena *a = r->arena;
    cc_headers *h = &r->resp.headers;
    const char *ctype = cc_headers_get(h, "Content-Type");
    if (!ctype)
        ctype = "";
    unsigned char rnd[30];
    cc_rand_bytes(rnd, sizeof(rnd));
    char boundary[61];
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(boundary + 2 * i, 3, "%02x", rnd[i]);

    mp_stream *s = cc_arena_alloc(a, sizeof(*s));
    s->fd = fd;
    s->nparts = rv->n;
    s->parts = cc_arena_alloc(a, rv->n * sizeof(*s->parts));
    int64_t total = 0;
    for (size_t i = 0; i < rv->n; i++) {
        const range *ra = &rv->v[i];
        mp_part *p = &s->parts[i];
        p->head = cc_arena_printf(a,
                                  "%s--%s\r\nContent-Range: bytes %lld-%lld/%lld\r\n"
                                  "Content-Type: %s\r\n\r\n",
                                  i ? "\r\n" : "", boundary, (long long)ra->start,
                                  (long long)(ra->start + ra->len - 1), (long long)size, ctype);
        p->head_len = strlen(p->head);
        p->off = ra->start;
        p->len = ra->len;
        total += (int64_t)p->head_len + ra->len;
    }
    s->tail = cc_arena_printf(a, "\r\n--%s--\r\n", boundary);
    s->tail_len = strlen(s->tail);
    total += (int64_t)s->tail_len;

    cc_headers_set(a, h, "Content-Type",
                   cc_arena_printf(a, "multipart/byteranges; boundary=%s", boundary));
    cc_headers_set(a, h, "Accept-Ranges", "bytes");
    set_status(r, 206, status);

    cc_body b = {.fd = -1, .len = total, .read = mp_read, .close = mp_close, .ctx = s};
    if (total <= CC_FS_MULTIPART_MEM_MAX) {
        char *mem = cc_arena_alloc(a, (size_t)total + 1);
        size_t got = 0;
        while (got < (size_t)total) {
            ssize_t n = mp_read(&b, mem + got, (size_t)total - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        mp_close(&b);
        if (got != (size_t)total)
            return cc_req_fail(r, 500, "reading file ranges: %s", strerror(errno));
        r->resp.body = cc_body_mem(a, mem, got);
        return CC_OK;
    }
    cc_body *body = cc_arena_alloc(a, sizeof(*body));
    *body = b;
    r->resp.body = body;
    return CC_OK;
}

/* ---- ServeContent ---- */

int cc_fs_serve_content(cc_req *r, const cc_fs_content *c)
{
    cc_arena *a = r->arena;
    cc_headers *h = &r->resp.headers;
    int fd = c->fd;
    time_t mtime = cc_fs_useful_mtime(c->mtime) ? c->mtime : 0;
    if (mtime) {
        char date[32];
        cc_http_date(date, mtime);
        cc_headers_set(a, h, "Last-Modified", cc_arena_strdup(a, date));
    }
    const char *etag = cc_headers_get(h, "Etag");

    int ch = check_if_match(r, etag);
    if (ch == COND_NONE)
        ch = check_if_unmodified_since(r, mtime);
    if (ch == COND_FALSE) {
        close(fd);
        r->resp.body = NULL;
        set_status(r, 412, c->status);
        return CC_OK;
    }
    ch = check_if_none_match(r, etag);
    if (ch == COND_FALSE || (ch == COND_NONE && check_if_modified_since(r, mtime) == COND_FALSE)) {
        close(fd);
        if (ch == COND_FALSE && !is_get_head(r)) {
            r->resp.body = NULL;
            set_status(r, 412, c->status);
        } else {
            not_modified(r, c->status);
        }
        return CC_OK;
    }
    const char *range_hdr = cc_headers_get(&r->headers, "Range");
    if (range_hdr && range_hdr[0] && check_if_range(r, etag, mtime) == COND_FALSE)
        range_hdr = NULL;

    int64_t size = c->size;
    range_vec rv = {0};
    if (range_hdr && range_hdr[0]) {
        int rc = parse_ranges(a, range_hdr, size, &rv);
        if (rc != RANGE_OK) {
            close(fd);
            if (rc == RANGE_NO_OVERLAP)
                cc_headers_set(a, h, "Content-Range",
                               cc_arena_printf(a, "bytes */%lld", (long long)size));
            serve_error(r, 416,
                        rc == RANGE_NO_OVERLAP ? "invalid range: failed to overlap"
                                               : "invalid range",
                        c->status);
            return CC_OK;
        }
        /* ranges adding up to more than the file are ignored, as Go does, so a client
         * cannot make us send a file many times over */
        int64_t sum = 0;
        for (size_t i = 0; i < rv.n; i++)
            sum += rv.v[i].len;
        if (sum > size)
            rv.n = 0;
    }

    if (rv.n > 1)
        return serve_multipart(r, fd, size, &rv, c->status);

    cc_headers_set(a, h, "Accept-Ranges", "bytes");
    int64_t off = 0, len = size;
    if (rv.n == 1) {
        off = rv.v[0].start;
        len = rv.v[0].len;
        cc_headers_set(a, h, "Content-Range",
                       cc_arena_printf(a, "bytes %lld-%lld/%lld", (long long)off,
                                       (long long)(off + len - 1), (long long)size));
        set_status(r, 206, c->status);
    } else {
        set_status(r, 200, c->status);
    }
    if (len == 0) {
        close(fd);
        r->resp.body = cc_body_mem(a, "", 0);
        return CC_OK;
    }
    if (len <= CC_FS_SMALL_MEM_MAX && !(r->method[0] == 'H' && strcmp(r->method, "HEAD") == 0)) {
        /* a small file goes out with the head in one send; sendfile would cost a second
         * system call and a second packet */
        char *buf = cc_arena_alloc(a, (size_t)len);
        ssize_t n;
        do
            n = pread(fd, buf, (size_t)len, off);
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t)len) {
            close(fd);
            r->resp.body = cc_body_mem(a, buf, (size_t)len);
            return CC_OK;
        }
    }
    r->resp.body = cc_body_fd(a, fd, off, len);
    return CC_OK;
}
