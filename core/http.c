/* SPDX-License-Identifier: Apache-2.0
 * The request/response model of core/http.h: header lists, body sources, request
 * variables, handler errors and status texts. Everything allocates from the request
 * arena; the random numbers (error ids, uuids) come from a per-thread generator so the
 * hot path takes no lock and makes no system call. */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "rand.h"

/* ---- headers ---- */

const char *cc_headers_get(const cc_headers *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->v[i].name, name) == 0)
            return h->v[i].value;
    return NULL;
}

const char *cc_headers_get_joined(cc_arena *a, const cc_headers *h, const char *name)
{
    size_t total = 0, count = 0;
    const char *first = NULL;
    for (size_t i = 0; i < h->n; i++) {
        if (strcasecmp(h->v[i].name, name) != 0)
            continue;
        if (!first)
            first = h->v[i].value;
        total += strlen(h->v[i].value) + 1;
        count++;
    }
    if (count <= 1)
        return first;
    char *out = cc_arena_alloc(a, total), *p = out;
    for (size_t i = 0; i < h->n; i++) {
        if (strcasecmp(h->v[i].name, name) != 0)
            continue;
        if (p != out)
            *p++ = ',';
        size_t n = strlen(h->v[i].value);
        memcpy(p, h->v[i].value, n);
        p += n;
    }
    *p = '\0';
    return out;
}

void cc_headers_add(cc_arena *a, cc_headers *h, const char *name, const char *value)
{
    cc_header x = {name, value ? value : ""};
    CC_VEC_PUSH(a, h, x);
}

void cc_headers_set(cc_arena *a, cc_headers *h, const char *name, const char *value)
{
    size_t i, j;
    bool done = false;
    for (i = 0, j = 0; i < h->n; i++) {
        if (strcasecmp(h->v[i].name, name) == 0) {
            if (done)
                continue;
            /* keep the position of the first one, so header order stays stable */
            h->v[i].name = name;
            h->v[i].value = value ? value : "";
            done = true;
        }
        h->v[j++] = h->v[i];
    }
    h->n = j;
    if (!done)
        cc_headers_add(a, h, name, value);
}

size_t cc_headers_del(cc_headers *h, const char *name)
{
    size_t i, j;
    for (i = 0, j = 0; i < h->n; i++)
        if (strcasecmp(h->v[i].name, name) != 0)
            h->v[j++] = h->v[i];
    size_t removed = h->n - j;
    h->n = j;
    return removed;
}

size_t cc_headers_count(const cc_headers *h, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->v[i].name, name) == 0)
            n++;
    return n;
}

/* ---- bodies ---- */

cc_body *cc_body_mem(cc_arena *a, const char *p, size_t n)
{
    cc_body *b = cc_arena_alloc(a, sizeof(*b));
    b->mem = p ? p : "";
    b->mem_len = n;
    b->fd = -1;
    b->len = (int64_t)n;
    return b;
}

cc_body *cc_body_fd(cc_arena *a, int fd, int64_t off, int64_t len)
{
    cc_body *b = cc_arena_alloc(a, sizeof(*b));
    b->fd = fd;
    b->off = off;
    b->len = len;
    return b;
}

/* ---- variables ---- */

const char *cc_vars_get(const cc_vars *vs, const char *name)
{
    /* later writes win: search from the end */
    for (size_t i = vs->n; i-- > 0;)
        if (strcmp(vs->v[i].name, name) == 0)
            return vs->v[i].value;
    return NULL;
}

void cc_vars_set(cc_arena *a, cc_vars *vs, const char *name, const char *value)
{
    for (size_t i = 0; i < vs->n; i++) {
        if (strcmp(vs->v[i].name, name) == 0) {
            vs->v[i].value = value;
            return;
        }
    }
    cc_var v = {name, value};
    CC_VEC_PUSH(a, vs, v);
}

/* ---- random numbers: xoshiro256** per thread, seeded once from the kernel ---- */

static _Thread_local uint64_t rng_s[4];
static _Thread_local bool rng_seeded;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t cc_rand64(void)
{
    if (!rng_seeded) {
        if (getrandom(rng_s, sizeof(rng_s), 0) != (ssize_t)sizeof(rng_s)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            rng_s[0] = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull;
            rng_s[1] = (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 32);
            rng_s[2] = (uint64_t)(uintptr_t)&rng_seeded;
            rng_s[3] = 0x2545F4914F6CDD1Dull;
        }
        if (!(rng_s[0] | rng_s[1] | rng_s[2] | rng_s[3]))
            rng_s[0] = 1;
        rng_seeded = true;
    }
    uint64_t *s = rng_s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

void cc_rand_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        uint64_t x = cc_rand64();
        size_t k = n < 8 ? n : 8;
        memcpy(p, &x, k);
        p += k;
        n -= k;
    }
}

/* ---- errors and responses ---- */

int cc_req_fail(cc_req *r, int status, const char *fmt, ...)
{
    /* Caddy's error ids: 9 characters, lower case letters and digits */
    static const char dict[] = "abcdefghijkmnpqrstuvwxyz0123456789";
    char *id = cc_arena_alloc(r->arena, 10);
    for (int i = 0; i < 9; i++)
        id[i] = dict[cc_rand64() % (sizeof(dict) - 1)];
    r->err.status = status > 0 ? status : 500;
    r->err.id = id;
    r->err.trace = NULL;
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        r->err.message = cc_arena_vprintf(r->arena, fmt, ap);
        va_end(ap);
    } else {
        r->err.message = cc_http_status_text(r->err.status);
    }
    return CC_ERR;
}

void cc_resp_add_filter(cc_req *r, cc_resp_filter_fn fn, void *ctx)
{
    cc_resp_filter *f = cc_arena_alloc(r->arena, sizeof(*f));
    f->fn = fn;
    f->ctx = ctx;
    f->next = r->resp.filters;
    r->resp.filters = f;
}

void cc_resp_set_text(cc_req *r, int status, const char *content_type, const char *body, size_t len)
{
    r->resp.status = status;
    if (content_type)
        cc_headers_set(r->arena, &r->resp.headers, "Content-Type", content_type);
    if (body && len > 0)
        r->resp.body = cc_body_mem(r->arena, cc_arena_strndup(r->arena, body, len), len);
    else
        r->resp.body = NULL;
}

const char *cc_http_status_text(int status)
{
    /* Go's net/http StatusText, which Caddy's {err.status_text} uses */
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 102:
        return "Processing";
    case 103:
        return "Early Hints";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 203:
        return "Non-Authoritative Information";
    case 204:
        return "No Content";
    case 205:
        return "Reset Content";
    case 206:
        return "Partial Content";
    case 207:
        return "Multi-Status";
    case 208:
        return "Already Reported";
    case 226:
        return "IM Used";
    case 300:
        return "Multiple Choices";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 305:
        return "Use Proxy";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Request Entity Too Large";
    case 414:
        return "Request URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Requested Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 418:
        return "I'm a teapot";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Entity";
    case 423:
        return "Locked";
    case 424:
        return "Failed Dependency";
    case 425:
        return "Too Early";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 451:
        return "Unavailable For Legal Reasons";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 506:
        return "Variant Also Negotiates";
    case 507:
        return "Insufficient Storage";
    case 508:
        return "Loop Detected";
    case 510:
        return "Not Extended";
    case 511:
        return "Network Authentication Required";
    default:
        return "";
    }
}

uint64_t cc_now_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- asynchronous bodies and upgrades: the engine's hooks ---- */

void cc_resp_body_ready(cc_req *r)
{
    if (r->resp.on_body_ready)
        r->resp.on_body_ready(r);
}

void cc_req_body_wait(cc_req *r, void (*fn)(cc_req *r, void *ctx), void *ctx)
{
    r->body_ready_fn = fn;
    r->body_ready_ctx = ctx;
}

void cc_req_body_ready(cc_req *r)
{
    if (r->body_ready_fn)
        r->body_ready_fn(r, r->body_ready_ctx);
}

void cc_req_on_gone(cc_req *r, void (*fn)(cc_req *r, void *ctx), void *ctx)
{
    r->gone_fn = fn;
    r->gone_ctx = ctx;
}

void cc_req_gone(cc_req *r)
{
    void (*fn)(cc_req *, void *) = r->gone_fn;
    r->gone_fn = NULL;
    if (fn)
        fn(r, r->gone_ctx);
}

static void (*upgrade_closer)(cc_req *r);

void cc_upgrade_set_closer(void (*fn)(cc_req *r))
{
    upgrade_closer = fn;
}

void cc_req_upgrade_close(cc_req *r)
{
    if (upgrade_closer)
        upgrade_closer(r);
}

/* ---- header value helpers shared by the engine and the proxy ---- */

int64_t cc_http_parse_length(const char *v)
{
    if (!v || !*v)
        return -1;
    int64_t n = 0;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || n > (INT64_MAX - 9) / 10)
            return -1;
        n = n * 10 + (*v - '0');
    }
    return n;
}

bool cc_http_list_has(const char *v, const char *tok)
{
    size_t tn = strlen(tok);
    while (v && *v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        const char *e = v;
        while (*e && *e != ',')
            e++;
        const char *end = e;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - v) == tn && strncasecmp(v, tok, tn) == 0)
            return true;
        v = e;
    }
    return false;
}
