/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for the encode handler at run time: Accept-Encoding negotiation, the
 * commit-time skip rules, ETag suffixes, and bodies (memory, file, stream) compressed
 * and then decoded again with zlib, libzstd and libbrotlidec. */
#include <brotli/decode.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "../../core/handler.h"
#include "../../core/http.h"
#include "../../core/server.h"
#include "../../handlers/encode_priv.h"
#include "../../handlers/handlers.h"
#include "../t.h"
#include "core_rt.h"

static cc_arena *A, *RA;
static cc_err E;
static cc_prov PROV;

static cc_handler *P(const char *json)
{
    cc_err_clear(&E);
    PROV.a = A;
    PROV.err = &E;
    return cc_handler_provision(J(A, json), &PROV);
}

static cc_req *Q(const char *method, const char *ae)
{
    cc_req *r = R(RA, method, "/x", "example.com");
    if (ae)
        cc_headers_add(RA, &r->headers, "Accept-Encoding", ae);
    return r;
}

/* ---- decoders ---- */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 1024;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static bool ungzip(const unsigned char *p, size_t n, buf *out)
{
    z_stream z = {0};
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return false;
    unsigned char tmp[16384];
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    int rc;
    do {
        z.next_out = tmp;
        z.avail_out = sizeof(tmp);
        rc = inflate(&z, Z_NO_FLUSH);
        put(out, tmp, sizeof(tmp) - z.avail_out);
    } while (rc == Z_OK);
    inflateEnd(&z);
    return rc == Z_STREAM_END && z.avail_in == 0;
}

static bool unzstd(const unsigned char *p, size_t n, buf *out)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_inBuffer ib = {p, n, 0};
    unsigned char tmp[16384];
    size_t rc = 1;
    while (ib.pos < ib.size || rc != 0) {
        ZSTD_outBuffer ob = {tmp, sizeof(tmp), 0};
        rc = ZSTD_decompressStream(d, &ob, &ib);
        if (ZSTD_isError(rc) || (ob.pos == 0 && ib.pos == ib.size && rc != 0)) {
            ZSTD_freeDCtx(d);
            return false;
        }
        put(out, tmp, ob.pos);
    }
    ZSTD_freeDCtx(d);
    return true;
}

static bool unbrotli(const unsigned char *p, size_t n, buf *out)
{
    BrotliDecoderState *d = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    size_t ai = n;
    const uint8_t *ni = p;
    BrotliDecoderResult rc;
    do {
        unsigned char tmp[16384];
        size_t ao = sizeof(tmp);
        uint8_t *no = tmp;
        rc = BrotliDecoderDecompressStream(d, &ai, &ni, &ao, &no, NULL);
        put(out, tmp, sizeof(tmp) - ao);
    } while (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT);
    BrotliDecoderDestroyInstance(d);
    return rc == BROTLI_DECODER_RESULT_SUCCESS && ai == 0;
}

static bool decode(const char *enc, const buf *in, buf *out)
{
    if (strcmp(enc, "gzip") == 0)
        return ungzip(in->p, in->n, out);
    if (strcmp(enc, "zstd") == 0)
        return unzstd(in->p, in->n, out);
    return unbrotli(in->p, in->n, out);
}

/* Drains a response body the way the engine does, then releases it. */
static void drain(cc_body *b, buf *out)
{
    if (!b)
        return;
    if (b->mem) {
        put(out, b->mem, b->mem_len);
    } else if (b->fd >= 0) {
        char tmp[8192];
        int64_t left = b->len, off = b->off;
        while (left > 0) {
            ssize_t n = pread(b->fd, tmp, left < 8192 ? (size_t)left : 8192, off);
            if (n <= 0)
                break;
            put(out, tmp, (size_t)n);
            off += n;
            left -= n;
        }
    } else {
        char tmp[7000]; /* not a power of two: output lands across buffer edges */
        ssize_t n;
        while ((n = b->read(b, tmp, sizeof(tmp))) > 0)
            put(out, tmp, (size_t)n);
        T_OK(n == 0, "stream ended with an error");
    }
    cc_enc_body_release(b);
}

/* Test data: compressible text, not trivially repetitive. */
static char *text(size_t n)
{
    char *p = malloc(n);
    unsigned x = 12345;
    static const char *words[] = {"alpha ", "beta ", "gamma\n", "<div>", "caddy ", "zstd "};
    size_t i = 0;
    while (i < n) {
        x = x * 1103515245 + 12345;
        const char *w = words[(x >> 16) % 6];
        for (; *w && i < n; w++)
            p[i++] = *w;
    }
    return p;
}

/* A streaming source handing out data in uneven chunks. */
typedef struct src {
    const char *p;
    size_t n, pos, chunk;
    int closed;
} src;

static ssize_t src_read(cc_body *b, char *out, size_t cap)
{
    src *s = b->ctx;
    size_t k = s->n - s->pos;
    if (k > s->chunk)
        k = s->chunk;
    if (k > cap)
        k = cap;
    memcpy(out, s->p + s->pos, k);
    s->pos += k;
    return (ssize_t)k;
}

static void src_close(cc_body *b)
{
    ((src *)b->ctx)->closed++;
}

static cc_body *stream_body(src *s)
{
    cc_body *b = cc_arena_alloc(RA, sizeof(*b));
    b->fd = -1;
    b->len = -1;
    b->read = src_read;
    b->close = src_close;
    b->ctx = s;
    return b;
}

/* An async source (a proxied stream): CC_EAGAIN before its first bytes and between
 * chunks, as a transport whose upstream is slower than the client. */
typedef struct asrc {
    src s;
    int tick;   /* read calls so far */
    int eagain; /* CC_EAGAIN answers given */
} asrc;

static ssize_t asrc_read(cc_body *b, char *out, size_t cap)
{
    asrc *a = b->ctx;
    if (a->tick++ % 2 == 0) {
        a->eagain++;
        return CC_EAGAIN;
    }
    b->ctx = &a->s;
    ssize_t n = src_read(b, out, cap);
    b->ctx = a;
    return n;
}

static cc_body *async_body(asrc *a)
{
    cc_body *b = cc_arena_alloc(RA, sizeof(*b));
    b->fd = -1;
    b->len = -1;
    b->async = true;
    b->read = asrc_read;
    b->ctx = a;
    return b;
}

/* Drains an async body as the engine does: CC_EAGAIN means "come back later". */
static void drain_async(cc_body *b, buf *out, int *waits)
{
    char tmp[7000];
    ssize_t n;
    for (;;) {
        n = b->read(b, tmp, sizeof(tmp));
        if (n == CC_EAGAIN) {
            (*waits)++;
            continue;
        }
        if (n <= 0)
            break;
        put(out, tmp, (size_t)n);
    }
    T_OK(n == 0, "async stream ended cleanly");
}

static const char *H(cc_req *r, const char *name)
{
    return cc_headers_get(&r->resp.headers, name);
}

/* Runs the encode handler h with a response standing in for the next handler's. */
static cc_req *run(cc_handler *h, cc_req *r, int status, const char *ctype, cc_body *body)
{
    T_OK(h->type->handle(h, r, NULL) == CC_OK, "handle");
    r->resp.status = status;
    if (ctype)
        cc_headers_set(RA, &r->resp.headers, "Content-Type", ctype);
    r->resp.body = body;
    cc_resp_commit(r);
    return r;
}

/* ---- tests ---- */

static void neg(const char *ae, const char *const *prefer, size_t np, const char *want)
{
    cc_req *r = Q("GET", ae);
    size_t n;
    const char **v = cc_enc_accepted(r, prefer, np, &n);
    char got[256] = "";
    for (size_t i = 0; i < n; i++) {
        strcat(got, i ? "," : "");
        strcat(got, v[i]);
    }
    T_OK(strcmp(got, want) == 0, "Accept-Encoding \"%s\": got \"%s\", want \"%s\"", ae, got, want);
}

static void test_negotiation(void)
{
    const char *zgb[] = {"zstd", "gzip", "br"};
    neg("gzip", zgb, 3, "gzip");
    neg("gzip, zstd", zgb, 3, "zstd,gzip");
    neg("gzip, deflate, br, zstd", zgb, 3, "zstd,gzip,br,deflate");
    neg("gzip;q=1.0, zstd;q=0.5", zgb, 3, "gzip,zstd");
    neg("gzip;q=0, zstd", zgb, 3, "zstd");
    neg("GZIP;Q=0.8, br;q=0.8", zgb, 3, "gzip,br");
    neg("br;q=0.8, gzip;q=0.8", zgb, 3, "gzip,br");
    neg("br;q=0.9 , gzip ; q=0.8", zgb, 3, "br,gzip");
    neg("gzip;q=bogus, zstd;q=0.9", zgb, 3, "gzip,zstd"); /* unparsable q counts as 1 */
    neg("gzip;q=2, zstd;q=0.9", zgb, 3, "gzip,zstd");     /* out of range too */
    neg("identity;q=0, *;q=0", zgb, 3, "");
    neg("", zgb, 3, "");
    const char *bg[] = {"br", "gzip"};
    neg("gzip, br", bg, 2, "br,gzip");
    neg("x, y, gzip", bg, 2, "gzip,x,y");

    /* handler level: first accepted encoding that is configured */
    cc_handler *h = P("{\"handler\":\"encode\",\"encodings\":{\"gzip\":{},\"zstd\":{}},"
                      "\"prefer\":[\"gzip\",\"zstd\"]}");
    T_OK(h != NULL, "provision: %s", E.msg);
    char *body = text(4000);
    cc_req *r = run(h, Q("GET", "br, zstd;q=0.9, gzip;q=0.9"), 200, "text/html",
                    cc_body_mem(RA, body, 4000));
    T_STR(H(r, "Content-Encoding"), "gzip");
    r = run(h, Q("GET", "identity, zstd;q=0.5"), 200, "text/html", cc_body_mem(RA, body, 4000));
    T_STR(H(r, "Content-Encoding"), "zstd"); /* Caddy skips what it does not offer */
    r = run(h, Q("GET", "gzip;q=0, zstd;q=0"), 200, "text/html", cc_body_mem(RA, body, 4000));
    T_OK(!H(r, "Content-Encoding"), "q=0 excludes");
    T_STR(H(r, "Vary"), "Accept-Encoding");
    T_INT(r->resp.body->mem_len, 4000);
    r = Q("GET", "gzip");
    cc_headers_add(RA, &r->headers, "Sec-WebSocket-Key", "abc");
    run(h, r, 200, "text/html", cc_body_mem(RA, body, 4000));
    T_OK(!H(r, "Content-Encoding"), "no encoding for websocket handshakes");
    r = Q("GET", "gzip");
    cc_headers_add(RA, &r->headers, "Cache-Control", "no-cache, no-transform");
    run(h, r, 200, "text/html", cc_body_mem(RA, body, 4000));
    T_OK(!H(r, "Content-Encoding"), "request no-transform");
    free(body);
}

static void test_provision(void)
{
    T_OK(!P("{\"handler\":\"encode\",\"encodings\":{\"deflate\":{}}}"), "unknown encoder");
    T_HAS(E.msg, "unknown module: http.encoders.deflate");
    T_OK(!P("{\"handler\":\"encode\",\"encodings\":{\"gzip\":{}},\"prefer\":[\"zstd\"]}"),
         "prefer not enabled");
    T_HAS(E.msg, "encoding zstd not enabled");
    T_OK(!P("{\"handler\":\"encode\",\"encodings\":{\"gzip\":{}},\"prefer\":[\"gzip\",\"gzip\"]}"),
         "dup");
    T_HAS(E.msg, "encoding gzip is duplicated in prefer");
    T_OK(!P("{\"handler\":\"encode\",\"encodings\":{\"gzip\":{\"level\":10}}}"), "level");
    T_HAS(E.msg, "quality too high; must be <= 9");
    T_OK(!P("{\"handler\":\"encode\",\"encodings\":{\"br\":{\"level\":12}}}"), "br level");
    T_HAS(E.msg, "quality too high; must be <= 11");
    T_OK(!P("{\"handler\":\"encode\",\"encodings\":{\"zstd\":{\"level\":\"max\"}}}"), "zstd lvl");
    T_HAS(E.msg, "unexpected compression level");
    T_OK(
        P("{\"handler\":\"encode\",\"encodings\":{\"zstd\":{\"level\":\"BEST\",\"checksum\":false},"
          "\"br\":{\"level\":0},\"gzip\":{\"level\":-2}}}") != NULL,
        "valid: %s", E.msg);
    /* no prefer: Caddy's zstd, br, gzip */
    cc_handler *h = P("{\"handler\":\"encode\",\"encodings\":{\"gzip\":{},\"br\":{},\"zstd\":{}}}");
    char *body = text(2000);
    cc_req *r = run(h, Q("GET", "gzip, br, zstd"), 200, "text/plain", cc_body_mem(RA, body, 2000));
    T_STR(H(r, "Content-Encoding"), "zstd");
    free(body);
}

static void test_skips(void)
{
    cc_handler *h = P("{\"handler\":\"encode\",\"encodings\":{\"gzip\":{}},\"prefer\":[\"gzip\"]}");
    char *body = text(3000);
    cc_req *r;

    r = run(h, Q("GET", "gzip"), 200, "text/plain", cc_body_mem(RA, body, 512));
    T_OK(!H(r, "Content-Encoding") && !H(r, "Vary"), "512 bytes is not longer than 512");
    r = run(h, Q("GET", "gzip"), 200, "text/plain", cc_body_mem(RA, body, 513));
    T_STR(H(r, "Content-Encoding"), "gzip");

    r = run(h, Q("GET", "gzip"), 200, "image/png", cc_body_mem(RA, body, 3000));
    T_OK(!H(r, "Content-Encoding") && !H(r, "Vary"), "image/png is not in the default list");
    const char *yes[] = {"text/css",      "application/json; charset=utf-8",
                         "image/svg+xml", "application/javascript",
                         "font/ttf",      "application/wasm"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        r = run(h, Q("GET", "gzip"), 200, yes[i], cc_body_mem(RA, body, 3000));
        T_OK(H(r, "Content-Encoding") != NULL, "%s is compressed", yes[i]);
    }
    const char *no[] = {"image/jpeg", "application/octet-stream", "video/mp4", "font/woff2"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        r = run(h, Q("GET", "gzip"), 200, no[i], cc_body_mem(RA, body, 3000));
        T_OK(!H(r, "Content-Encoding"), "%s is not compressed", no[i]);
    }

    r = Q("GET", "gzip");
    T_OK(h->type->handle(h, r, NULL) == CC_OK, "handle");
    cc_headers_set(RA, &r->resp.headers, "Content-Encoding", "br");
    r->resp.body = cc_body_mem(RA, body, 3000);
    cc_resp_commit(r);
    T_STR(H(r, "Content-Encoding"), "br");
    T_INT(r->resp.body->mem_len, 3000);

    r = Q("GET", "gzip");
    T_OK(h->type->handle(h, r, NULL) == CC_OK, "handle");
    cc_headers_set(RA, &r->resp.headers, "Cache-Control", "public, no-transform");
    run(h, r, 200, "text/plain", cc_body_mem(RA, body, 3000));
    T_OK(!H(r, "Content-Encoding"), "response no-transform");

    r = run(h, Q("GET", "gzip"), 206, "text/plain", cc_body_mem(RA, body, 3000));
    T_OK(!H(r, "Content-Encoding"), "206");
    r = run(h, Q("GET", "gzip"), 204, "text/plain", NULL);
    T_OK(!H(r, "Content-Encoding") && !H(r, "Vary"), "204");
    r = run(h, Q("GET", "gzip"), 304, NULL, NULL);
    T_STR(H(r, "Vary"), "Accept-Encoding");
    r = run(h, Q("HEAD", "gzip"), 200, "text/plain", cc_body_mem(RA, body, 3000));
    T_OK(!H(r, "Content-Encoding") && H(r, "Vary"), "HEAD: Vary only");

    /* Vary is not duplicated */
    r = Q("GET", "gzip");
    T_OK(h->type->handle(h, r, NULL) == CC_OK, "handle");
    cc_headers_add(RA, &r->resp.headers, "Vary", "Origin, accept-encoding");
    run(h, r, 200, "text/plain", cc_body_mem(RA, body, 3000));
    T_INT(cc_headers_count(&r->resp.headers, "Vary"), 1);

    /* Content-Length and Accept-Ranges go */
    r = Q("GET", "gzip");
    T_OK(h->type->handle(h, r, NULL) == CC_OK, "handle");
    cc_headers_set(RA, &r->resp.headers, "Content-Length", "3000");
    cc_headers_set(RA, &r->resp.headers, "Accept-Ranges", "bytes");
    run(h, r, 200, "text/plain", cc_body_mem(RA, body, 3000));
    T_OK(!H(r, "Content-Length") && !H(r, "Accept-Ranges"), "length and ranges removed");

    /* minimum_length and a custom matcher */
    cc_handler *h2 = P("{\"handler\":\"encode\",\"encodings\":{\"gzip\":{}},\"minimum_length\":"
                       "100,\"match\":{\"status_code\":[2],\"headers\":{\"X-Zip\":[\"y*\"],"
                       "\"X-No\":null}}}");
    T_OK(h2 != NULL, "provision: %s", E.msg);
    r = Q("GET", "gzip");
    T_OK(h2->type->handle(h2, r, NULL) == CC_OK, "handle");
    cc_headers_set(RA, &r->resp.headers, "X-Zip", "yes");
    run(h2, r, 201, "image/png", cc_body_mem(RA, body, 101));
    T_STR(H(r, "Content-Encoding"), "gzip");
    r = Q("GET", "gzip");
    T_OK(h2->type->handle(h2, r, NULL) == CC_OK, "handle");
    cc_headers_set(RA, &r->resp.headers, "X-Zip", "yes");
    run(h2, r, 404, "text/plain", cc_body_mem(RA, body, 3000));
    T_OK(!H(r, "Content-Encoding"), "status 404 not in 2xx");
    r = Q("GET", "gzip");
    T_OK(h2->type->handle(h2, r, NULL) == CC_OK, "handle");
    cc_headers_set(RA, &r->resp.headers, "X-Zip", "yes");
    cc_headers_set(RA, &r->resp.headers, "X-No", "1");
    run(h2, r, 200, "text/plain", cc_body_mem(RA, body, 3000));
    T_OK(!H(r, "Content-Encoding"), "null header must be absent");
    r = run(h2, Q("GET", "gzip"), 200, "text/plain", cc_body_mem(RA, body, 3000));
    T_OK(!H(r, "Content-Encoding"), "X-Zip missing");
    free(body);
}

static void test_etag(void)
{
    cc_handler *h = P("{\"handler\":\"encode\",\"encodings\":{\"zstd\":{}},\"prefer\":[\"zstd\"]}");
    char *body = text(3000);
    cc_req *r = Q("GET", "zstd");
    cc_headers_add(RA, &r->headers, "If-None-Match", "\"abc-zstd\"");
    T_OK(h->type->handle(h, r, NULL) == CC_OK, "handle");
    T_STR(cc_headers_get(&r->headers, "If-None-Match"), "\"abc\"");
    cc_headers_set(RA, &r->resp.headers, "Etag", "\"abc\"");
    run(h, r, 200, "text/plain", cc_body_mem(RA, body, 3000));
    T_STR(H(r, "Etag"), "\"abc-zstd\"");

    r = Q("GET", "zstd");
    cc_headers_add(RA, &r->headers, "If-None-Match", "W/\"abc-zstd\"");
    T_OK(h->type->handle(h, r, NULL) == CC_OK, "handle");
    T_STR(cc_headers_get(&r->headers, "If-None-Match"), "W/\"abc-zstd\"");
    cc_headers_set(RA, &r->resp.headers, "Etag", "W/\"abc\"");
    run(h, r, 200, "text/plain", cc_body_mem(RA, body, 3000));
    T_STR(H(r, "Etag"), "W/\"abc\"");

    r = Q("GET", "gzip"); /* no encoding negotiated: the suffix stays */
    cc_headers_add(RA, &r->headers, "If-None-Match", "\"abc-zstd\"");
    T_OK(h->type->handle(h, r, NULL) == CC_OK, "handle");
    T_STR(cc_headers_get(&r->headers, "If-None-Match"), "\"abc-zstd\"");
    free(body);
}

static void roundtrip(const char *enc, cc_body *(*mk)(const char *, size_t, void *), void *arg,
                      size_t n, const char *what)
{
    char *data = text(n);
    char json[256];
    snprintf(json, sizeof(json),
             "{\"handler\":\"encode\",\"encodings\":{\"%s\":{}},\"prefer\":[\"%s\"]}", enc, enc);
    cc_handler *h = P(json);
    cc_req *r = run(h, Q("GET", enc), 200, "text/plain; charset=utf-8", mk(data, n, arg));
    T_STR(H(r, "Content-Encoding"), enc);
    buf z = {0}, plain = {0};
    drain(r->resp.body, &z);
    r->resp.body = NULL;
    T_OK(decode(enc, &z, &plain), "%s %s: decodes", enc, what);
    T_OK(plain.n == n && memcmp(plain.p, data, n) == 0, "%s %s: %zu bytes round-trip (got %zu)",
         enc, what, n, plain.n);
    T_OK(z.n < n, "%s %s: smaller (%zu < %zu)", enc, what, z.n, n);
    free(z.p);
    free(plain.p);
    free(data);
}

static cc_body *mk_mem(const char *p, size_t n, void *arg)
{
    (void)arg;
    char *c = cc_arena_alloc(RA, n);
    memcpy(c, p, n);
    return cc_body_mem(RA, c, n);
}

static cc_body *mk_fd(const char *p, size_t n, void *arg)
{
    (void)arg;
    char path[] = "/tmp/test_encode_XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    T_OK(write(fd, "HEAD", 4) == 4 && write(fd, p, n) == (ssize_t)n && write(fd, "TAIL", 4) == 4,
         "write temp file");
    return cc_body_fd(RA, fd, 4, (int64_t)n); /* a range inside the file */
}

static cc_body *mk_stream(const char *p, size_t n, void *arg)
{
    src *s = arg;
    *s = (src){.p = p, .n = n, .chunk = 5000};
    return stream_body(s);
}

/* encode on an async (proxied) body: CC_EAGAIN passes through the compressor, nothing
 * is lost or reordered, and the wrapper is async too so the engine waits for it. */
static void test_async_bodies(void)
{
    static const char *encs[] = {"gzip", "zstd", "br"};
    size_t n = 300000;
    char *data = text(n);
    for (size_t i = 0; i < 3; i++) {
        char json[256];
        snprintf(json, sizeof(json),
                 "{\"handler\":\"encode\",\"encodings\":{\"%s\":{}},\"prefer\":[\"%s\"]}", encs[i],
                 encs[i]);
        cc_handler *h = P(json);
        asrc a = {.s = {.p = data, .n = n, .chunk = 9000}};
        cc_req *r = run(h, Q("GET", encs[i]), 200, "text/plain", async_body(&a));
        T_STR(H(r, "Content-Encoding"), encs[i]);
        T_OK(r->resp.body && r->resp.body->async, "%s: wrapper of an async body is async", encs[i]);
        buf z = {0}, plain = {0};
        int waits = 0;
        drain_async(r->resp.body, &z, &waits);
        T_OK(waits > 10, "%s: CC_EAGAIN reached the engine (%d times)", encs[i], waits);
        T_OK(decode(encs[i], &z, &plain) && plain.n == n && memcmp(plain.p, data, n) == 0,
             "%s: async stream round-trip (%zu bytes)", encs[i], plain.n);
        free(z.p);
        free(plain.p);
    }
    /* incompressible data: a flush's output outgrows the caller's buffer, so the
     * compressor must finish that flush before it takes new input (brotli fails a flush
     * whose input changes mid-way) */
    size_t rn = 200000;
    char *rnd = malloc(rn);
    unsigned x = 99;
    for (size_t k = 0; k < rn; k++) {
        x = x * 1103515245 + 12345;
        rnd[k] = (char)(x >> 23);
    }
    for (size_t i = 0; i < 3; i++) {
        char json[256];
        snprintf(json, sizeof(json),
                 "{\"handler\":\"encode\",\"encodings\":{\"%s\":{}},\"prefer\":[\"%s\"]}", encs[i],
                 encs[i]);
        asrc a = {.s = {.p = rnd, .n = rn, .chunk = 30000}};
        cc_req *r = run(P(json), Q("GET", encs[i]), 200, "text/plain", async_body(&a));
        buf z = {0}, plain = {0};
        int waits = 0;
        drain_async(r->resp.body, &z, &waits);
        T_OK(decode(encs[i], &z, &plain) && plain.n == rn && memcmp(plain.p, rnd, rn) == 0,
             "%s: incompressible async stream round-trip (%zu bytes)", encs[i], plain.n);
        free(z.p);
        free(plain.p);
    }
    free(rnd);
    /* no type and nothing to sniff yet: passed through untouched, still async */
    cc_handler *h = P("{\"handler\":\"encode\",\"encodings\":{\"gzip\":{}}}");
    asrc a = {.s = {.p = data, .n = 5000, .chunk = 5000}};
    cc_req *r = run(h, Q("GET", "gzip"), 200, NULL, async_body(&a));
    T_OK(!H(r, "Content-Encoding"), "untyped async body not compressed");
    buf out = {0};
    int waits = 0;
    drain_async(r->resp.body, &out, &waits);
    T_OK(out.n == 5000 && memcmp(out.p, data, 5000) == 0, "untyped async body intact");
    free(out.p);
    free(data);
}

static void test_bodies(void)
{
    static const char *encs[] = {"gzip", "zstd", "br"};
    for (size_t i = 0; i < 3; i++) {
        roundtrip(encs[i], mk_mem, NULL, 4000, "mem");
        roundtrip(encs[i], mk_mem, NULL, 3 << 20, "large mem");
        roundtrip(encs[i], mk_fd, NULL, 2 << 20, "fd");
        src s;
        roundtrip(encs[i], mk_stream, &s, 1 << 20, "stream");
        T_INT(s.closed, 1);
    }

    /* a one-shot body is a complete memory body */
    cc_handler *h = P("{\"handler\":\"encode\",\"encodings\":{\"gzip\":{}},\"prefer\":[\"gzip\"]}");
    char *data = text(10000);
    cc_req *r = run(h, Q("GET", "gzip"), 200, "text/plain", cc_body_mem(RA, data, 10000));
    T_OK(r->resp.body && r->resp.body->mem != NULL, "small memory body compressed at once");

    /* a short stream (first chunk within minimum_length) goes out unchanged */
    src s = {.p = data, .n = 300, .chunk = 300};
    r = run(h, Q("GET", "gzip"), 200, "text/plain", stream_body(&s));
    T_OK(!H(r, "Content-Encoding"), "short stream not compressed");
    buf out = {0};
    drain(r->resp.body, &out);
    T_OK(out.n == 300 && memcmp(out.p, data, 300) == 0, "short stream replayed");
    T_INT(s.closed, 1);
    free(out.p);

    /* an empty stream */
    s = (src){.p = data, .n = 0, .chunk = 10};
    r = run(h, Q("GET", "gzip"), 200, "text/plain", stream_body(&s));
    T_OK(!r->resp.body && !H(r, "Content-Encoding") && s.closed == 1, "empty stream");

    /* no Content-Type: sniffed from the first bytes, as Go does */
    s = (src){.p = data, .n = 10000, .chunk = 4000};
    r = run(h, Q("GET", "gzip"), 200, NULL, stream_body(&s));
    T_STR(H(r, "Content-Type"), "text/plain; charset=utf-8");
    T_STR(H(r, "Content-Encoding"), "gzip");
    out = (buf){0};
    buf plain = {0};
    drain(r->resp.body, &out);
    T_OK(ungzip(out.p, out.n, &plain) && plain.n == 10000 && !memcmp(plain.p, data, 10000),
         "sniffed stream round-trip");
    free(out.p);
    free(plain.p);
    unsigned char png[1000] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    r = run(h, Q("GET", "gzip"), 200, NULL, cc_body_mem(RA, (char *)png, sizeof(png)));
    T_STR(H(r, "Content-Type"), "image/png");
    T_OK(!H(r, "Content-Encoding"), "sniffed png not compressed");
    free(data);

    test_async_bodies();

    T_STR(cc_enc_sniff((const unsigned char *)"  <!DOCTYPE html><html>", 23),
          "text/html; charset=utf-8");
    T_STR(cc_enc_sniff((const unsigned char *)"<?xml version", 13), "text/xml; charset=utf-8");
    T_STR(cc_enc_sniff((const unsigned char *)"\x1f\x8b\x08\x00", 4), "application/x-gzip");
    T_STR(cc_enc_sniff((const unsigned char *)"ab\x01", 3), "application/octet-stream");
}

int main(void)
{
    A = cc_arena_new(0);
    RA = cc_arena_new(0);
    cc_handler_types_set(cc_handler_types);
    test_negotiation();
    test_provision();
    test_skips();
    test_etag();
    test_bodies();
    cc_prov_cleanup(&PROV);
    cc_arena_free(RA);
    cc_arena_free(A);
    return t_done();
}
