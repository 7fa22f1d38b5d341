/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for the request-time file serving: the file_server handler (path safety,
 * index files, hide, canonical redirects, validators and conditional requests, ranges,
 * precompressed sidecars, browse listings, content types, status override, pass_thru),
 * the "file" matcher with every try policy, and the "authentication" handler (bcrypt
 * basic auth). Requests are built by hand against a temporary directory tree. */
#include <crypt.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "../../core/handler.h"
#include "../../core/match_file.h"
#include "../../core/replacer.h"
#include "../../handlers/fs.h"
#include "../t.h"
#include "core_rt.h"

extern const cc_handler_type cc_ht_file_server, cc_ht_authentication;

static char root[256];
static cc_arena *CFG; /* config lifetime */

/* ---- a test handler that marks the request, to see pass_thru and auth continue ---- */

static int mark_handle(cc_handler *h, cc_req *r, cc_next *next)
{
    (void)h;
    (void)next;
    cc_vars_set(r->arena, &r->vars, "marked", "yes");
    r->resp.status = 299;
    return CC_OK;
}

static const cc_handler_type mark_type = {CC_HANDLER_ABI, "mark",      sizeof(cc_handler),
                                          NULL,           mark_handle, NULL};
static const cc_handler_type *const types[] = {&cc_ht_file_server, &cc_ht_authentication,
                                               &mark_type, NULL};

/* ---- fixtures ---- */

static void put_file(const char *rel, const char *data, size_t n)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    FILE *f = fopen(p, "wb");
    if (!f) {
        perror(p);
        exit(2);
    }
    fwrite(data, 1, n, f);
    fclose(f);
}

static void put_text(const char *rel, const char *s)
{
    put_file(rel, s, strlen(s));
}

static void mk(const char *rel)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    mkdir(p, 0755);
}

static void set_mtime(const char *rel, time_t t)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    struct timeval tv[2] = {{t, 0}, {t, 0}};
    utimes(p, tv);
}

static const char *path_of(const char *rel)
{
    return cc_arena_printf(CFG, "%s/%s", root, rel);
}

static void make_tree(void)
{
    snprintf(root, sizeof(root), "/tmp/cc_fs_test_XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        exit(2);
    }
    put_text("index.html", "<h1>home</h1>\n");
    put_text("a.txt", "hello world\n"); /* 12 bytes */
    put_text("style.css", "body{}");
    put_text("app.js", "var x = 1;\n");
    put_text("data.json", "{}");
    put_text("img.png", "\x89PNG");
    put_text("noext", "x");
    put_text("file.weird", "x");
    put_text("UPPER.HTML", "<p>");
    put_text("secret.txt", "s3cret");
    put_text(".env", "K=V");
    put_text("x.php", "<?php");
    put_text("empty.txt", "");
    mk("sub");
    put_text("sub/index.html", "sub index");
    mk("empty");
    mk("hidden_dir");
    put_text("hidden_dir/x.txt", "x");
    mk("list");
    put_text("list/b.txt", "bb");
    put_text("list/A.txt", "a");
    put_text("list/<script>.txt", "12345");
    put_text("list/z.bin", "zzzzzzzzzz");
    mk("list/c dir");
    put_text("pre.js", "console.log('original');\n");
    put_text("pre.js.gz", "GZ");
    put_text("pre.js.br", "BR!");
    /* 2 MiB of a pattern, for range and streaming checks */
    size_t bn = 2u << 20;
    char *big = malloc(bn);
    for (size_t i = 0; i < bn; i++)
        big[i] = (char)('a' + (i * 7 + i / 251) % 26);
    put_file("big.bin", big, bn);
    free(big);
    set_mtime("a.txt", 1700000000);
    set_mtime("style.css", 1700000100);
    set_mtime("big.bin", 1600000000);
    char lp[512];
    snprintf(lp, sizeof(lp), "%s/link.txt", root);
    symlink("a.txt", lp);
}

static void rm_tree(void)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
}

/* ---- running requests ---- */

static cc_prov *provs[256];
static size_t nprovs;

static cc_routes *routes_of(const char *json)
{
    static cc_err err;
    cc_err_clear(&err);
    cc_prov *ctx = cc_arena_alloc(CFG, sizeof(*ctx));
    ctx->a = CFG;
    ctx->err = &err;
    if (nprovs < sizeof(provs) / sizeof(provs[0]))
        provs[nprovs++] = ctx;
    cc_routes *rt = cc_arena_alloc(CFG, sizeof(*rt));
    if (cc_routes_provision(rt, J(CFG, json), ctx) != CC_OK) {
        fprintf(stderr, "provision failed: %s\n", err.msg);
        return NULL;
    }
    return rt;
}

/* One file_server route (extra JSON keys for the handler), then the mark handler. */
static cc_routes *fs_routes(const char *extra)
{
    return routes_of(cc_arena_printf(
        CFG,
        "[{\"handle\":[{\"handler\":\"file_server\",\"root\":\"%s\"%s%s},{\"handler\":\"mark\"}]}]",
        root, extra && extra[0] ? "," : "", extra ? extra : ""));
}

/* Provisioning error text for a handler object, "" when it provisions. */
static const char *prov_err(const char *handler_json)
{
    cc_err err = {0};
    cc_prov ctx = {.a = CFG, .err = &err};
    cc_handler *h = cc_handler_provision(J(CFG, handler_json), &ctx);
    if (h && h->type->cleanup)
        h->type->cleanup(h);
    return h ? "" : cc_arena_strdup(CFG, err.msg);
}

typedef struct res {
    cc_req *r;
    int rc;
    int status;
    const char *body; /* whole body read (fd, memory or stream) */
    size_t len;
    bool is_fd;
    int64_t off, blen;
} res;

static void hdr(cc_req *r, const char *name, const char *value)
{
    cc_headers_add(r->arena, &r->headers, name, value);
}

static res run_req(cc_routes *rt, cc_req *r)
{
    res x = {0};
    x.r = r;
    x.rc = cc_routes_run(rt, r, NULL);
    x.status = r->resp.status;
    cc_body *b = r->resp.body;
    if (!b)
        return x;
    x.blen = b->len;
    if (b->mem) {
        x.body = b->mem;
        x.len = b->mem_len;
    } else if (b->fd >= 0) {
        x.is_fd = true;
        x.off = b->off;
        char *buf = cc_arena_alloc(r->arena, (size_t)b->len + 1);
        ssize_t n = pread(b->fd, buf, (size_t)b->len, b->off);
        x.body = buf;
        x.len = n > 0 ? (size_t)n : 0;
        close(b->fd);
    } else if (b->read) {
        char *buf = cc_arena_alloc(r->arena, (size_t)b->len + 1);
        size_t got = 0;
        ssize_t n;
        while ((n = b->read(b, buf + got,
                            65536 < (size_t)b->len - got + 1 ? 65536 : (size_t)b->len - got + 1)) >
               0)
            got += (size_t)n;
        x.body = buf;
        x.len = got;
        if (b->close)
            b->close(b);
    }
    return x;
}

static cc_arena *reqs[4096];
static size_t nreqs;

static cc_req *req(const char *method, const char *target)
{
    cc_arena *a = cc_arena_new(0);
    if (nreqs < sizeof(reqs) / sizeof(reqs[0]))
        reqs[nreqs++] = a;
    return R(a, method, target, "localhost:8080");
}

static const char *rh(const res *x, const char *name)
{
    return cc_headers_get(&x->r->resp.headers, name);
}

static bool body_is(const res *x, const char *want)
{
    return x->body && x->len == strlen(want) && memcmp(x->body, want, x->len) == 0;
}

static res get(cc_routes *rt, const char *target)
{
    return run_req(rt, req("GET", target));
}

/* ---- tests ---- */

static void test_paths(void)
{
    cc_arena *a = CFG;
    T_STR(cc_fs_clean(a, ""), ".");
    T_STR(cc_fs_clean(a, "/a/../../b/./c//"), "/b/c");
    T_STR(cc_fs_clean(a, "a/../.."), "..");
    T_STR(cc_fs_clean(a, "../../x/../y"), "../../y");
    T_STR(cc_fs_clean(a, "/.."), "/");
    T_STR(cc_fs_join(a, "/srv", "/../etc/passwd"), "/srv/etc/passwd");
    T_STR(cc_fs_join(a, "/srv", "/a/../../b"), "/srv/b");
    T_STR(cc_fs_join(a, "/srv/", "/dir/"), "/srv/dir/");
    T_STR(cc_fs_join(a, ".", "/x"), "x");
    T_STR(cc_fs_join(a, "", "/"), ".");
    T_STR(cc_fs_base(a, "/a/b/"), "b");
    T_STR(cc_fs_base(a, "///"), "/");
    T_STR(cc_fs_abs(a, "/cwd", "x/../y"), "/cwd/y");

    const char *hide[] = {"secret.txt", "/srv/private", "*.bak", "/srv/g*/x"};
    T_OK(cc_fs_hidden(a, "/", "/srv/site/secret.txt", hide, 4), "bare name anywhere");
    T_OK(!cc_fs_hidden(a, "/", "/srv/site/secret.txt2", hide, 4), "not a prefix of a name");
    T_OK(cc_fs_hidden(a, "/", "/srv/private/a/b", hide, 4), "dir prefix");
    T_OK(!cc_fs_hidden(a, "/", "/srv/privateer", hide, 4), "prefix only at /");
    T_OK(cc_fs_hidden(a, "/", "/srv/x/old.bak", hide, 4), "glob on a component");
    T_OK(cc_fs_hidden(a, "/", "/srv/go/x", hide, 4), "glob on the full path");
    T_OK(cc_fs_hidden(a, "/srv", "private/k", hide, 4), "relative made absolute");
}

static void test_traversal(void)
{
    cc_routes *rt = fs_routes(NULL);
    res x = get(rt, "/../../../a.txt");
    T_INT(x.status, 200);
    T_OK(body_is(&x, "hello world\n"), "dotdot cleaned to root");
    x = get(rt, "/%2e%2e/%2e%2e/a.txt");
    T_OK(x.status == 200 && body_is(&x, "hello world\n"), "encoded dotdot stays in root");
    x = get(rt, "/../../etc/passwd");
    T_INT(x.rc, CC_ERR);
    T_INT(x.r->err.status, 404);
    x = get(rt, "/a.txt%00.png");
    T_INT(x.r->err.status, 400);
    x = get(rt, "/link.txt");
    T_OK(x.status == 200 && body_is(&x, "hello world\n"), "symlinks are followed");
    x = get(rt, "/a.txt/more");
    T_INT(x.r->err.status, 400); /* ENOTDIR: Caddy 2.11 maps it to ErrInvalid */
}

static void test_index_and_canonical(void)
{
    cc_routes *rt = fs_routes(NULL);
    res x = get(rt, "/");
    T_OK(x.status == 200 && body_is(&x, "<h1>home</h1>\n"), "index.html at /");
    T_STR(rh(&x, "Content-Type"), "text/html; charset=utf-8");
    x = get(rt, "/sub/");
    T_OK(x.status == 200 && body_is(&x, "sub index"), "sub index");
    x = get(rt, "/sub");
    T_INT(x.status, 308);
    T_STR(rh(&x, "Location"), "/sub/");
    T_HAS(x.body, "<a href=\"/sub/\">Permanent Redirect</a>.");
    x = get(rt, "/sub?x=1&y=2");
    T_STR(rh(&x, "Location"), "/sub/?x=1&y=2");
    x = get(rt, "/a.txt/");
    T_INT(x.status, 308);
    T_STR(rh(&x, "Location"), "/a.txt");
    x = run_req(rt, req("HEAD", "/sub"));
    T_OK(x.status == 308 && !x.body, "HEAD redirect has no body");
    /* a rewritten file name is never redirected */
    cc_req *r = req("GET", "/other/");
    r->path = "/a.txt/";
    x = run_req(rt, r);
    T_INT(x.status, 200);
    x = get(rt, "/empty/");
    T_INT(x.r->err.status, 404);

    rt = fs_routes("\"canonical_uris\":false");
    x = get(rt, "/sub");
    T_OK(x.status == 200 && body_is(&x, "sub index"), "no redirect when disabled");
    rt = fs_routes("\"index_names\":[\"missing.html\",\"a.txt\"]");
    x = get(rt, "/");
    T_OK(body_is(&x, "hello world\n"), "custom index names in order");
}

static void test_hide(void)
{
    cc_routes *rt = fs_routes(cc_arena_printf(
        CFG, "\"hide\":[\"secret.txt\",\".env\",\"%s/hidden_dir\",\"*.weird\"]", root));
    T_INT(get(rt, "/secret.txt").r->err.status, 404);
    T_INT(get(rt, "/.env").r->err.status, 404);
    T_INT(get(rt, "/hidden_dir/x.txt").r->err.status, 404);
    T_INT(get(rt, "/file.weird").r->err.status, 404);
    T_INT(get(rt, "/a.txt").status, 200);
    rt = fs_routes("\"hide\":[\"index.html\"]");
    T_INT(get(rt, "/").r->err.status, 404); /* a hidden index file is skipped */

    /* the Caddyfile, hidden as "./Caddyfile" relative to the working directory */
    char old[512];
    if (!getcwd(old, sizeof(old)))
        old[0] = '\0';
    if (chdir(root) == 0) {
        put_text("Caddyfile", ":80\nfile_server\n");
        rt = routes_of("[{\"handle\":[{\"handler\":\"file_server\",\"hide\":[\"./Caddyfile\"]}]}]");
        res x = get(rt, "/Caddyfile");
        T_INT(x.r->err.status, 404);
        x = get(rt, "/a.txt");
        T_OK(x.status == 200 && body_is(&x, "hello world\n"), "root defaults to the cwd");
        if (chdir(old) != 0)
            perror("chdir");
    }
}

static void test_validators(void)
{
    cc_routes *rt = fs_routes(NULL);
    struct stat st;
    stat(path_of("a.txt"), &st);
    const char *etag = cc_fs_etag(CFG, &st);
    res x = get(rt, "/a.txt");
    T_STR(rh(&x, "Etag"), etag);
    T_STR(rh(&x, "Etag"), "\"cwyvpelgpse8-c\""); /* 1700000000 s in ns, size 12, base 36 */
    T_STR(rh(&x, "Last-Modified"), "Tue, 14 Nov 2023 22:13:20 GMT");
    T_STR(rh(&x, "Accept-Ranges"), "bytes");
    T_STR(rh(&x, "Vary"), "Accept-Encoding");
    T_OK(!x.is_fd && x.blen == 12, "small file from memory, sent with the head");
    x = get(rt, "/big.bin");
    T_OK(x.status == 200 && x.is_fd && x.off == 0 && x.blen == (2 << 20), "big file by sendfile");
    x = run_req(rt, req("HEAD", "/index.html"));
    T_OK(x.is_fd && x.blen == 14, "HEAD: the file, not read");

    cc_req *r = req("GET", "/a.txt");
    hdr(r, "If-None-Match", etag);
    x = run_req(rt, r);
    T_INT(x.status, 304);
    T_OK(!rh(&x, "Content-Type") && !rh(&x, "Last-Modified") && !x.body, "304 is bare");
    r = req("GET", "/a.txt");
    hdr(r, "If-None-Match", cc_arena_printf(r->arena, "\"x\", W/%s", etag));
    T_INT(run_req(rt, r).status, 304);
    r = req("GET", "/a.txt");
    hdr(r, "If-None-Match", "*");
    T_INT(run_req(rt, r).status, 304);
    r = req("GET", "/a.txt");
    hdr(r, "If-None-Match", "\"other\"");
    T_INT(run_req(rt, r).status, 200);
    r = req("GET", "/a.txt");
    hdr(r, "If-Modified-Since", "Tue, 14 Nov 2023 22:13:20 GMT");
    T_INT(run_req(rt, r).status, 304);
    r = req("GET", "/a.txt");
    hdr(r, "If-Modified-Since", "Tue, 14 Nov 2023 22:13:19 GMT");
    T_INT(run_req(rt, r).status, 200);
    r = req("GET", "/a.txt");
    hdr(r, "If-Modified-Since", "Tuesday, 14-Nov-23 22:13:20 GMT");
    T_INT(run_req(rt, r).status, 304);
    r = req("GET", "/a.txt");
    hdr(r, "If-Match", "\"nope\"");
    T_INT(run_req(rt, r).status, 412);
    r = req("GET", "/a.txt");
    hdr(r, "If-Match", "*");
    T_INT(run_req(rt, r).status, 200);
    r = req("GET", "/a.txt");
    hdr(r, "If-Match", cc_arena_printf(r->arena, "W/%s", etag)); /* If-Match is strong */
    T_INT(run_req(rt, r).status, 412);
    r = req("GET", "/a.txt");
    hdr(r, "If-Unmodified-Since", "Mon, 13 Nov 2023 00:00:00 GMT");
    T_INT(run_req(rt, r).status, 412);
    r = req("GET", "/a.txt");
    hdr(r, "If-Unmodified-Since", "Wed, 15 Nov 2023 00:00:00 GMT");
    T_INT(run_req(rt, r).status, 200);

    x = run_req(rt, req("POST", "/a.txt"));
    T_INT(x.r->err.status, 405);
    T_STR(rh(&x, "Allow"), "GET, HEAD");
    x = run_req(rt, req("HEAD", "/a.txt"));
    T_OK(x.status == 200 && x.blen == 12, "HEAD keeps the length (the engine drops the body)");

    time_t t;
    T_OK(cc_http_parse_date("Sun Nov  6 08:49:37 1994", &t) && t == 784111777, "asctime");
    T_OK(!cc_http_parse_date("yesterday", &t), "bad date");
    char d[32];
    cc_http_date(d, 784111777);
    T_STR(d, "Sun, 06 Nov 1994 08:49:37 GMT");
    cc_http_date(d, 0);
    T_STR(d, "Thu, 01 Jan 1970 00:00:00 GMT");
    cc_http_date(d, 4102444799); /* the last second of 2099 */
    T_STR(d, "Thu, 31 Dec 2099 23:59:59 GMT");
    cc_http_date(d, 951782400); /* a leap day */
    T_STR(d, "Tue, 29 Feb 2000 00:00:00 GMT");
    /* useless mod times give no validators at all */
    set_mtime("noext", 1);
    x = get(rt, "/noext");
    T_OK(!rh(&x, "Etag") && !rh(&x, "Last-Modified"), "mtime 1: no validators");
}

static void test_ranges(void)
{
    cc_routes *rt = fs_routes(NULL);
    cc_req *r = req("GET", "/a.txt");
    hdr(r, "Range", "bytes=0-4");
    res x = run_req(rt, r);
    T_INT(x.status, 206);
    T_STR(rh(&x, "Content-Range"), "bytes 0-4/12");
    T_OK(x.blen == 5 && body_is(&x, "hello"), "single small range");
    r = req("GET", "/big.bin");
    hdr(r, "Range", "bytes=100000-299999");
    x = run_req(rt, r);
    T_OK(x.status == 206 && x.is_fd && x.off == 100000 && x.blen == 200000, "large range by fd");
    T_STR(rh(&x, "Content-Range"), "bytes 100000-299999/2097152");
    r = req("GET", "/a.txt");
    hdr(r, "Range", "bytes=-3");
    x = run_req(rt, r);
    T_OK(x.status == 206 && body_is(&x, "ld\n"), "suffix range");
    T_STR(rh(&x, "Content-Range"), "bytes 9-11/12");
    r = req("GET", "/a.txt");
    hdr(r, "Range", "bytes=6-");
    x = run_req(rt, r);
    T_OK(x.status == 206 && body_is(&x, "world\n"), "open range");
    r = req("GET", "/a.txt");
    hdr(r, "Range", "bytes=6-100");
    x = run_req(rt, r);
    T_STR(rh(&x, "Content-Range"), "bytes 6-11/12");
    r = req("GET", "/a.txt");
    hdr(r, "Range", "bytes=100-");
    x = run_req(rt, r);
    T_INT(x.status, 416);
    T_STR(rh(&x, "Content-Range"), "bytes */12");
    T_OK(body_is(&x, "invalid range: failed to overlap\n"), "416 text");
    T_OK(!rh(&x, "Etag") && !rh(&x, "Last-Modified"), "416 drops validators");
    r = req("GET", "/a.txt");
    hdr(r, "Range", "bytes=5-2");
    x = run_req(rt, r);
    T_OK(x.status == 416 && body_is(&x, "invalid range\n"), "malformed range");
    r = req("GET", "/a.txt");
    hdr(r, "Range", "lines=1-2");
    T_INT(run_req(rt, r).status, 416);
    r = req("GET", "/a.txt");
    hdr(r, "Range", "bytes=0-11,0-11");
    T_INT(run_req(rt, r).status, 200); /* ranges larger than the file are ignored */

    r = req("GET", "/a.txt");
    hdr(r, "Range", "bytes=0-1, 6-7");
    x = run_req(rt, r);
    T_INT(x.status, 206);
    const char *ct = rh(&x, "Content-Type");
    T_OK(ct && strncmp(ct, "multipart/byteranges; boundary=", 31) == 0, "multipart type");
    const char *bd = ct ? ct + 31 : "";
    T_INT(strlen(bd), 60);
    const char *want = cc_arena_printf(
        x.r->arena,
        "--%s\r\nContent-Range: bytes 0-1/12\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhe"
        "\r\n--%s\r\nContent-Range: bytes 6-7/12\r\nContent-Type: text/plain; "
        "charset=utf-8\r\n\r\nwo\r\n--%s--\r\n",
        bd, bd, bd);
    T_OK(body_is(&x, want), "multipart body: %.*s", (int)x.len, x.body ? x.body : "");
    T_OK((size_t)x.blen == x.len, "multipart length announced");

    /* a large multipart body streams from the file */
    r = req("GET", "/big.bin");
    hdr(r, "Range", "bytes=0-99,500000-1999999");
    x = run_req(rt, r);
    T_OK(x.status == 206 && !x.is_fd && x.r->resp.body && x.r->resp.body->read != NULL,
         "streamed multipart: %d %d %p", x.status, x.is_fd, (void *)x.r->resp.body);
    T_OK((size_t)x.blen == x.len && x.len > 1500100, "stream length %zu", x.len);
    FILE *bf = fopen(path_of("big.bin"), "rb");
    char *expect = malloc(1000000);
    fseek(bf, 1000000, SEEK_SET);
    size_t rn = fread(expect, 1, 1000000, bf);
    fclose(bf);
    T_OK(rn == 1000000 && x.body && memmem(x.body, x.len, expect, 1000000) != NULL,
         "second range bytes intact");
    free(expect);

    struct stat st;
    stat(path_of("a.txt"), &st);
    r = req("GET", "/a.txt");
    hdr(r, "Range", "bytes=0-0");
    hdr(r, "If-Range", cc_fs_etag(r->arena, &st));
    T_INT(run_req(rt, r).status, 206);
    r = req("GET", "/a.txt");
    hdr(r, "Range", "bytes=0-0");
    hdr(r, "If-Range", "\"stale\"");
    T_INT(run_req(rt, r).status, 200);
    r = req("GET", "/a.txt");
    hdr(r, "Range", "bytes=0-0");
    hdr(r, "If-Range", "Tue, 14 Nov 2023 22:13:20 GMT");
    T_INT(run_req(rt, r).status, 206);

    r = req("GET", "/empty.txt");
    x = run_req(rt, r);
    T_OK(x.status == 200 && x.len == 0 && x.blen == 0, "empty file");
}

static void test_precompressed(void)
{
    cc_routes *rt = fs_routes("\"precompressed\":{\"br\":{},\"gzip\":{},\"zstd\":{}},"
                              "\"precompressed_order\":[\"br\",\"zstd\",\"gzip\"]");
    cc_req *r = req("GET", "/pre.js");
    hdr(r, "Accept-Encoding", "gzip, deflate, br");
    res x = run_req(rt, r);
    T_OK(x.status == 200 && body_is(&x, "BR!"), "br sidecar preferred by order");
    T_STR(rh(&x, "Content-Encoding"), "br");
    T_STR(rh(&x, "Content-Type"), "text/javascript; charset=utf-8");
    T_STR(rh(&x, "Vary"), "Accept-Encoding");
    struct stat st, gst;
    stat(path_of("pre.js"), &st);
    T_OK(rh(&x, "Etag") && strcmp(rh(&x, "Etag"), cc_fs_etag(CFG, &st)) != 0,
         "sidecar has its own etag");
    r = req("GET", "/pre.js");
    hdr(r, "Accept-Encoding", "br;q=0.5, gzip");
    x = run_req(rt, r);
    T_OK(body_is(&x, "GZ"), "q-value wins over order");
    T_STR(rh(&x, "Content-Encoding"), "gzip");
    stat(path_of("pre.js.gz"), &gst);
    T_STR(rh(&x, "Etag"), cc_fs_etag(CFG, &gst));
    r = req("GET", "/pre.js");
    hdr(r, "Accept-Encoding", "zstd");
    x = run_req(rt, r);
    T_OK(body_is(&x, "console.log('original');\n") && !rh(&x, "Content-Encoding"),
         "missing zstd sidecar: original");
    r = req("GET", "/pre.js");
    hdr(r, "Accept-Encoding", "br;q=0, gzip;q=0");
    x = run_req(rt, r);
    T_OK(!rh(&x, "Content-Encoding"), "q=0 refuses");
    x = get(rt, "/pre.js");
    T_OK(!rh(&x, "Content-Encoding") && rh(&x, "Vary"), "no Accept-Encoding: original + Vary");
    T_STR(prov_err("{\"handler\":\"file_server\",\"precompressed\":{\"lzma\":{}}}"),
          "file_server: loading encoder modules: unknown module: http.precompressed.lzma");
}

static void test_browse(void)
{
    cc_routes *rt = fs_routes("\"browse\":{}");
    res x = get(rt, "/list");
    T_INT(x.status, 308);
    T_STR(rh(&x, "Location"), "/list/");
    x = get(rt, "/list/");
    T_INT(x.status, 200);
    T_STR(rh(&x, "Content-Type"), "text/html; charset=utf-8");
    T_STR(rh(&x, "Vary"), "Accept, Accept-Encoding");
    T_OK(rh(&x, "Last-Modified") != NULL, "listing Last-Modified");
    const char *b = x.body ? cc_arena_strndup(x.r->arena, x.body, x.len) : "";
    T_HAS(b, "&lt;script&gt;.txt");
    T_OK(!strstr(b, "<script>"), "names escaped");
    T_HAS(b, "href=\"./%3Cscript%3E.txt\"");
    T_HAS(b, "href=\"./c%20dir/\"");
    T_HAS(b, ">5 B<");
    /* namedirfirst: the directory, then A, b, <script>, z by lower-case name */
    const char *pd = strstr(b, "c dir/"), *pa = strstr(b, ">A.txt<"), *pb = strstr(b, ">b.txt<"),
               *pz = strstr(b, ">z.bin<");
    T_OK(pd && pa && pb && pz && pd < pa && pa < pb && pb < pz, "sorted, dirs first");

    cc_req *r = req("GET", "/list/?sort=size&order=desc");
    hdr(r, "Accept", "application/json");
    x = run_req(rt, r);
    T_STR(rh(&x, "Content-Type"), "application/json; charset=utf-8");
    b = x.body ? cc_arena_strndup(x.r->arena, x.body, x.len) : "";
    T_HAS(b, "\"name\":\"\\u003cscript\\u003e.txt\"");
    T_HAS(b, "\"url\":\"./%3Cscript%3E.txt\"");
    T_HAS(b, "\"is_dir\":true");
    const char *jz = strstr(b, "z.bin"), *js = strstr(b, "script"), *ja = strstr(b, "A.txt");
    T_OK(b[0] == '[' && jz && js && ja && jz < js && js < ja, "size desc: %s", b);
    size_t ncookie = cc_headers_count(&x.r->resp.headers, "Set-Cookie");
    T_INT(ncookie, 2);

    r = req("GET", "/list/?limit=2&offset=1&sort=name");
    hdr(r, "Accept", "application/json");
    x = run_req(rt, r);
    b = x.body ? cc_arena_strndup(x.r->arena, x.body, x.len) : "";
    T_OK(strstr(b, "A.txt") && strstr(b, "b.txt") && !strstr(b, "script") && !strstr(b, "c dir"),
         "offset/limit: %s", b);

    r = req("GET", "/list/");
    hdr(r, "Accept", "text/plain");
    x = run_req(rt, r);
    b = x.body ? cc_arena_strndup(x.r->arena, x.body, x.len) : "";
    T_OK(strncmp(b, "Name\t\tSize\tModified\n----\t\t----\t--------\n", 40) == 0, "text: %s", b);

    r = req("GET", "/list/");
    hdr(r, "If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT");
    T_INT(run_req(rt, r).status, 304);

    rt = fs_routes("\"browse\":{\"file_limit\":1}");
    r = req("GET", "/list/");
    hdr(r, "Accept", "application/json");
    x = run_req(rt, r);
    b = x.body ? cc_arena_strndup(x.r->arena, x.body, x.len) : "";
    T_OK(strchr(b, '{') && strchr(b, '{') == strrchr(b, '{'), "file_limit 1: %s", b);

    rt = fs_routes("\"browse\":{},\"hide\":[\"b.txt\"]");
    x = get(rt, "/list/");
    T_OK(x.body && !memmem(x.body, x.len, "b.txt", 5), "hidden entries are not listed");
    rt = fs_routes(NULL);
    T_INT(get(rt, "/list/").r->err.status, 404); /* no browse, no index */
    T_STR(prov_err("{\"handler\":\"file_server\",\"browse\":{\"sort\":[\"size\",\"up\"]}}"),
          "file_server: the second option must be one of the following: asc, desc, but got up");
}

static void test_content_types(void)
{
    T_STR(cc_fs_mime("x.css"), "text/css; charset=utf-8");
    T_STR(cc_fs_mime("/a/b.JS"), "text/javascript; charset=utf-8");
    T_STR(cc_fs_mime("x.json"), "application/json");
    T_STR(cc_fs_mime("x.woff2"), "font/woff2");
    T_STR(cc_fs_mime("x.7z"), "application/x-7z-compressed");
    T_STR(cc_fs_mime("x.zst"), "application/zstd");
    T_OK(cc_fs_mime("x.weird") == NULL && cc_fs_mime("noext") == NULL &&
             cc_fs_mime("dir.d/noext") == NULL,
         "unknown types");
    cc_routes *rt = fs_routes(NULL);
    res x = get(rt, "/img.png");
    T_STR(rh(&x, "Content-Type"), "image/png");
    x = get(rt, "/UPPER.HTML");
    T_STR(rh(&x, "Content-Type"), "text/html; charset=utf-8");
    x = get(rt, "/file.weird");
    T_OK(x.status == 200 && !rh(&x, "Content-Type"), "no sniffing");
    cc_req *r = req("GET", "/a.txt");
    cc_headers_set(r->arena, &r->resp.headers, "Content-Type", "text/x-custom");
    x = run_req(rt, r);
    T_STR(rh(&x, "Content-Type"), "text/x-custom");
}

static void test_status_passthru(void)
{
    cc_routes *rt = fs_routes("\"status_code\":404");
    res x = get(rt, "/a.txt");
    T_OK(x.status == 404 && body_is(&x, "hello world\n"), "status override");
    rt = fs_routes("\"status_code\":\"{http.vars.code}\"");
    cc_req *r = req("GET", "/a.txt");
    cc_vars_set(r->arena, &r->vars, "code", "503");
    T_INT(run_req(rt, r).status, 503);
    r = req("GET", "/a.txt");
    T_INT(run_req(rt, r).r->err.status, 500); /* empty placeholder: not a number */

    rt = fs_routes(NULL);
    r = req("GET", "/a.txt");
    r->err.status = 404; /* inside handle_errors */
    x = run_req(rt, r);
    T_OK(x.status == 404 && body_is(&x, "hello world\n"), "error page keeps the error status");
    r = req("POST", "/a.txt");
    r->err.status = 502;
    T_INT(run_req(rt, r).status, 502); /* no 405 for error pages */

    x = get(rt, "/missing");
    T_OK(x.rc == CC_ERR && x.r->err.status == 404 && !cc_vars_get(&x.r->vars, "marked"),
         "404 without pass_thru");
    rt = fs_routes("\"pass_thru\":true");
    x = get(rt, "/missing");
    T_OK(x.rc == CC_OK && x.status == 299 && cc_vars_get(&x.r->vars, "marked"), "pass_thru");

    /* root from the "root" variable */
    rt = routes_of("[{\"handle\":[{\"handler\":\"file_server\"}]}]");
    r = req("GET", "/a.txt");
    cc_vars_set(r->arena, &r->vars, "root", root);
    x = run_req(rt, r);
    T_OK(x.status == 200 && body_is(&x, "hello world\n"), "root var");
    T_HAS(prov_err("{\"handler\":\"file_server\",\"fs\":\"s3\"}"), "not available");
    T_HAS(prov_err("{\"handler\":\"file_server\",\"browse\":{\"template_file\":\"t.html\"}}"),
          "not supported");

    /* etag from a sidecar file */
    put_text("a.txt.etag", "\"from-file\"\n");
    rt = fs_routes("\"etag_file_extensions\":[\".etag\"]");
    x = get(rt, "/a.txt");
    T_STR(rh(&x, "Etag"), "\"from-file\"");
}

/* ---- file matcher ---- */

static void *file_m(const char *json, cc_err *err)
{
    return cc_matcher_file.compile(CFG, J(CFG, json), err);
}

static bool fmatch(void *m, const char *target, cc_req **out)
{
    cc_req *r = req("GET", target);
    cc_vars_set(r->arena, &r->vars, "root", root);
    *out = r;
    return cc_matcher_file.match(m, r);
}

static const char *var(cc_req *r, const char *name)
{
    return cc_vars_get(&r->vars, name);
}

static void test_file_matcher(void)
{
    cc_err err = {0};
    cc_req *r;
    void *m = file_m("{\"try_files\":[\"{http.request.uri.path}\",\"/index.html\"]}", &err);
    T_OK(m != NULL, "compile: %s", err.msg);
    T_OK(fmatch(m, "/a.txt", &r), "existing file");
    T_STR(var(r, "http.matchers.file.relative"), "/a.txt");
    T_STR(var(r, "http.matchers.file.absolute"), path_of("a.txt"));
    T_STR(var(r, "http.matchers.file.type"), "file");
    T_OK(fmatch(m, "/spa/route", &r), "SPA fallback");
    T_STR(var(r, "http.matchers.file.relative"), "/index.html");
    T_OK(fmatch(m, "/sub", &r), "a dir without slash is not a file");
    T_STR(var(r, "http.matchers.file.relative"), "/index.html");
    T_STR(cc_repl_get(r, "http.matchers.file.relative"), "/index.html");

    m = file_m("{\"try_files\":[\"{http.request.uri.path}/\"]}", &err);
    T_OK(fmatch(m, "/sub", &r), "dir with trailing slash");
    T_STR(var(r, "http.matchers.file.type"), "directory");
    T_STR(var(r, "http.matchers.file.relative"), "/sub/");

    m = file_m("{}", &err);
    T_OK(fmatch(m, "/a.txt", &r) && !fmatch(m, "/nope", &r), "default: the request path");

    m = file_m("{\"try_files\":[\"/nope\",\"=404\"]}", &err);
    T_OK(!fmatch(m, "/x", &r), "=404 does not match");
    T_STR(var(r, CC_MATCHER_ERROR_VAR), "404");
    T_INT(r->err.status, 0);
    m = file_m("{\"try_files\":[\"/a.txt\",\"=404\"]}", &err);
    T_OK(fmatch(m, "/x", &r) && !var(r, CC_MATCHER_ERROR_VAR), "=404 only when reached");

    m = file_m("{\"try_files\":[\"/nope\",\"/a.txt\"],\"try_policy\":\"first_exist_fallback\"}",
               &err);
    T_OK(fmatch(m, "/x", &r), "fallback");
    T_STR(var(r, "http.matchers.file.relative"), "/a.txt");
    T_STR(var(r, "http.matchers.file.type"), "file");

    m = file_m("{\"try_files\":[\"/a.txt\",\"/big.bin\",\"/style.css\"],\"try_policy\":"
               "\"smallest_size\"}",
               &err);
    T_OK(fmatch(m, "/", &r), "smallest");
    T_STR(var(r, "http.matchers.file.relative"), "/style.css");
    m = file_m("{\"try_files\":[\"/a.txt\",\"/big.bin\",\"/style.css\"],\"try_policy\":"
               "\"largest_size\"}",
               &err);
    T_OK(fmatch(m, "/", &r), "largest");
    T_STR(var(r, "http.matchers.file.relative"), "/big.bin");
    m = file_m("{\"try_files\":[\"/a.txt\",\"/big.bin\",\"/style.css\"],\"try_policy\":"
               "\"most_recently_modified\"}",
               &err);
    T_OK(fmatch(m, "/", &r), "newest");
    T_STR(var(r, "http.matchers.file.relative"), "/style.css");

    m = file_m("{\"try_files\":[\"{http.request.uri.path}\"],\"split_path\":[\".php\"]}", &err);
    T_OK(fmatch(m, "/x.php/some/path", &r), "split_path");
    T_STR(var(r, "http.matchers.file.relative"), "/x.php");
    T_STR(var(r, "http.matchers.file.remainder"), "/some/path");
    T_OK(!fmatch(m, "/x.phpx/a", &r), "split only at an element end");

    m = file_m("{\"try_files\":[\"/*.css\"]}", &err);
    T_OK(fmatch(m, "/", &r), "glob in the pattern");
    T_STR(var(r, "http.matchers.file.relative"), "/style.css");
    m = file_m("{\"try_files\":[\"{http.request.uri.path}\"]}", &err);
    T_OK(!fmatch(m, "/*.css", &r), "globs from the request are literal");
    T_OK(!fmatch(m, "/../../../../etc/passwd", &r), "no escape from root");

    m = file_m(cc_arena_printf(CFG, "{\"root\":\"%s/sub\",\"try_files\":[\"/index.html\"]}", root),
               &err);
    T_OK(fmatch(m, "/", &r), "explicit root");
    T_STR(var(r, "http.matchers.file.absolute"), path_of("sub/index.html"));

    cc_err_clear(&err);
    T_OK(file_m("{\"try_policy\":\"random\"}", &err) == NULL, "bad policy");
    T_HAS(err.msg, "unknown try policy random");
}

/* ---- basic auth ---- */

static const char *bcrypt_hash(const char *pw)
{
    struct crypt_data cd;
    memset(&cd, 0, sizeof(cd));
    char salt[64];
    if (!crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)))
        return "";
    const char *h = crypt_rn(pw, salt, &cd, sizeof(cd));
    return h ? cc_arena_strdup(CFG, h) : "";
}

static const char *b64(const char *s)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s);
    char *o = cc_arena_alloc(CFG, n * 2 + 8), *p = o;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        *p++ = tbl[v >> 18 & 63];
        *p++ = tbl[v >> 12 & 63];
        *p++ = i + 1 < n ? tbl[v >> 6 & 63] : '=';
        *p++ = i + 2 < n ? tbl[v & 63] : '=';
    }
    *p = '\0';
    return o;
}

static res auth_req(cc_routes *rt, const char *user_pass)
{
    cc_req *r = req("GET", "/");
    if (user_pass)
        hdr(r, "Authorization", cc_arena_printf(r->arena, "Basic %s", b64(user_pass)));
    return run_req(rt, r);
}

static void test_basic_auth(void)
{
    const char *h1 = bcrypt_hash("hunter2"), *h2 = bcrypt_hash("s3cret");
    T_OK(strncmp(h1, "$2b$04$", 7) == 0, "test hash made");
    cc_routes *rt = routes_of(cc_arena_printf(
        CFG,
        "[{\"handle\":[{\"handler\":\"authentication\",\"providers\":{\"http_basic\":{"
        "\"accounts\":[{\"username\":\"alice\",\"password\":\"%s\"},{\"username\":\"bob\","
        "\"password\":\"%s\"}],\"hash\":{\"algorithm\":\"bcrypt\"},\"hash_cache\":{}}}},"
        "{\"handler\":\"mark\"}]}]",
        h1, b64(h2)));
    T_OK(rt != NULL, "auth provisions");
    if (!rt)
        return;
    res x = auth_req(rt, NULL);
    T_INT(x.r->err.status, 401);
    T_STR(rh(&x, "WWW-Authenticate"), "Basic realm=\"restricted\"");
    x = auth_req(rt, "alice:wrong");
    T_OK(x.r->err.status == 401 && !cc_vars_get(&x.r->vars, "marked"), "wrong password");
    x = auth_req(rt, "alice:hunter2");
    T_OK(x.rc == CC_OK && x.status == 299, "right password continues");
    T_STR(cc_vars_get(&x.r->vars, "http.auth.user.id"), "alice");
    T_STR(cc_repl_get(x.r, "http.auth.user.id"), "alice");
    x = auth_req(rt, "alice:hunter2");
    T_OK(x.status == 299, "cached answer");
    x = auth_req(rt, "alice:hunter2x");
    T_INT(x.r->err.status, 401);
    x = auth_req(rt, "bob:s3cret");
    T_OK(x.status == 299, "base64-encoded hash form");
    x = auth_req(rt, "mallory:hunter2");
    T_INT(x.r->err.status, 401);
    x = auth_req(rt, "alicehunter2");
    T_INT(x.r->err.status, 401);
    cc_req *r = req("GET", "/");
    hdr(r, "Authorization", "Bearer abc");
    T_INT(run_req(rt, r).r->err.status, 401);
    r = req("GET", "/");
    hdr(r, "Authorization", "basic !!!");
    T_INT(run_req(rt, r).r->err.status, 401);
    r = req("GET", "/");
    hdr(r, "Authorization", "Basic YWxpY2UAeDpodW50ZXIy"); /* "alice\0x:hunter2" */
    T_INT(run_req(rt, r).r->err.status, 401);

    rt = routes_of(cc_arena_printf(
        CFG,
        "[{\"handle\":[{\"handler\":\"authentication\",\"providers\":{\"http_basic\":{"
        "\"accounts\":[{\"username\":\"alice\",\"password\":\"%s\"}],\"realm\":\"Staff only\"}}},"
        "{\"handler\":\"mark\"}]}]",
        h1));
    x = auth_req(rt, "alice:nope");
    T_STR(rh(&x, "WWW-Authenticate"), "Basic realm=\"Staff only\"");
    x = auth_req(rt, "alice:hunter2");
    T_OK(x.status == 299, "no cache configured: still verifies");

    T_HAS(
        prov_err(cc_arena_printf(
            CFG,
            "{\"handler\":\"authentication\",\"providers\":{\"http_basic\":{\"accounts\":["
            "{\"username\":\"a\",\"password\":\"%s\"},{\"username\":\"a\",\"password\":\"%s\"}]}}}",
            h1, h1)),
        "username is not unique: a");
    T_HAS(prov_err("{\"handler\":\"authentication\",\"providers\":{\"http_basic\":{\"accounts\":"
                   "[{\"username\":\"a\",\"password\":\"\"}]}}}"),
          "username and password are required");
    T_HAS(prov_err("{\"handler\":\"authentication\",\"providers\":{\"jwt\":{}}}"),
          "unknown module: http.authentication.providers.jwt");
    /* the dummy hash an unknown user is checked against is a valid bcrypt setting */
    struct crypt_data cd;
    memset(&cd, 0, sizeof(cd));
    const char *out = crypt_rn("x", "$2b$04$cCaddyCDummySaltForAu.0000000000000000000000000000000",
                               &cd, sizeof(cd));
    T_OK(out && out[0] == '$', "dummy hash usable");
}

int main(void)
{
    CFG = cc_arena_new(0);
    cc_handler_types_set(types);
    cc_matcher_register(&cc_matcher_file);
    make_tree();
    test_paths();
    test_traversal();
    test_index_and_canonical();
    test_hide();
    test_validators();
    test_ranges();
    test_precompressed();
    test_browse();
    test_content_types();
    test_status_passthru();
    test_file_matcher();
    test_basic_auth();
    rm_tree();
    for (size_t i = 0; i < nprovs; i++)
        cc_prov_cleanup(provs[i]);
    for (size_t i = 0; i < nreqs; i++)
        cc_arena_free(reqs[i]);
    cc_arena_free(CFG);
    return t_done();
}
