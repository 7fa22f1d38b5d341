/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for the request-time side of the basic handlers (static_response,
 * rewrite, headers, request_body, vars, error, subroute, invoke): each handler is
 * provisioned from a JSON object and run on hand-built requests, without an engine. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../caddyfile/adapter.h"
#include "../../core/handler.h"
#include "../../core/http.h"
#include "../../core/server.h"
#include "../../handlers/gourl.h"
#include "../../handlers/handlers.h"
#include "../../handlers/hdrops.h"
#include "../../handlers/rereplace.h"
#include "../t.h"

static cc_arena *A;  /* config lifetime */
static cc_arena *RA; /* requests */
static cc_err E;

/* ---- fixtures ---- */

static cc_cfg *from_json(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        cc_cfg *o = cc_cfg_obj(A);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) cc_cfg_set(A, o, k, from_json(v));
        return o;
    }
    case JSON_ARRAY: {
        cc_cfg *arr = cc_cfg_arr(A);
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) cc_cfg_push(A, arr, from_json(v));
        return arr;
    }
    case JSON_STRING:
        return cc_cfg_strn(A, json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        return cc_cfg_int(A, json_integer_value(j));
    case JSON_REAL:
        return cc_cfg_num(A, json_real_value(j));
    case JSON_TRUE:
        return cc_cfg_bool(A, true);
    case JSON_FALSE:
        return cc_cfg_bool(A, false);
    default:
        return cc_cfg_null(A);
    }
}

static cc_cfg *J(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (!j) {
        fprintf(stderr, "bad test JSON: %s: %s\n", text, je.text);
        exit(2);
    }
    cc_cfg *c = from_json(j);
    json_decref(j);
    return c;
}

static cc_prov PROV;

/* Provisions one handler; NULL (message in E) on failure. */
static cc_handler *P(const char *json)
{
    cc_err_clear(&E);
    PROV.a = A;
    PROV.err = &E;
    return cc_handler_provision(J(json), &PROV);
}

static const cc_conn CONN = {
    .remote_ip = "127.0.0.1", .remote_port = 40000, .local_ip = "127.0.0.1", .local_port = 8080};

/* A request for target ("/path?query"), Host example.com:8080. */
static cc_req *R(const char *method, const char *target)
{
    cc_req *r = cc_arena_alloc(RA, sizeof(*r));
    r->arena = RA;
    r->conn = &CONN;
    r->method = r->orig_method = method;
    r->target = r->orig_target = target;
    const char *q = strchr(target, '?');
    r->raw_path = q ? cc_arena_strndup(RA, target, (size_t)(q - target)) : target;
    r->query = q ? q + 1 : "";
    char *p = cc_gourl_path_unescape(RA, r->raw_path);
    r->path = p ? p : r->raw_path;
    r->orig_path = r->path;
    r->orig_query = r->query;
    r->proto = "HTTP/1.1";
    r->proto_major = r->proto_minor = 1;
    r->scheme = "http";
    r->host = "example.com";
    r->port = "8080";
    r->hostport = "example.com:8080";
    r->content_length = -1;
    cc_headers_add(RA, &r->headers, "Host", "example.com:8080");
    return r;
}

static int H(cc_handler *h, cc_req *r)
{
    return h->type->handle(h, r, NULL);
}

static const char *body_of(const cc_req *r)
{
    if (!r->resp.body)
        return "";
    return cc_arena_strndup(RA, r->resp.body->mem, r->resp.body->mem_len);
}

static const char *rh(const cc_req *r, const char *name)
{
    return cc_headers_get(&r->resp.headers, name);
}

/* Runs one rewrite config on method+target; returns the new target. */
static const char *rw(const char *json, const char *target)
{
    cc_handler *h = P(json);
    if (!h)
        return cc_arena_printf(RA, "PROVISION ERROR: %s", E.msg);
    cc_req *r = R("GET", target);
    H(h, r);
    return r->target;
}

static void commit(cc_req *r)
{
    for (cc_resp_filter *f = r->resp.filters; f; f = f->next)
        f->fn(r, f->ctx);
    r->resp.filters = NULL;
}

/* ---- static_response ---- */

static void test_static_response(void)
{
    cc_handler *h = P("{\"handler\":\"static_response\",\"body\":\"hello {http.request.host} "
                      "{nope}\"}");
    T_OK(h != NULL, "provision: %s", E.msg);
    cc_req *r = R("GET", "/");
    T_INT(H(h, r), CC_OK);
    T_INT(r->resp.status, 200);
    T_STR(body_of(r), "hello example.com {nope}");
    T_STR(rh(r, "Content-Type"), "text/plain; charset=utf-8");

    h = P("{\"handler\":\"static_response\",\"status_code\":201,\"body\":\" {\\\"a\\\": [1, "
          "2.5e3, true, null]} \"}");
    r = R("GET", "/");
    H(h, r);
    T_INT(r->resp.status, 201);
    T_STR(rh(r, "Content-Type"), "application/json");

    h = P("{\"handler\":\"static_response\",\"body\":\"{not json}\"}");
    r = R("GET", "/");
    H(h, r);
    T_STR(rh(r, "Content-Type"), "text/plain; charset=utf-8");

    /* a Content-Type from headers wins; header names are canonicalised */
    h = P("{\"handler\":\"static_response\",\"body\":\"x\",\"headers\":{\"content-type\":"
          "[\"text/html\"],\"X-Host\":[\"{http.request.host}\",\"two\"]}}");
    r = R("GET", "/");
    H(h, r);
    T_STR(rh(r, "Content-Type"), "text/html");
    T_INT(cc_headers_count(&r->resp.headers, "X-Host"), 2);
    T_STR(rh(r, "X-Host"), "example.com");

    /* no body: no Content-Type, no body */
    h = P("{\"handler\":\"static_response\",\"status_code\":\"204\"}");
    r = R("GET", "/");
    H(h, r);
    T_INT(r->resp.status, 204);
    T_OK(rh(r, "Content-Type") == NULL && r->resp.body == NULL, "204 has no body");

    /* redir: Location with placeholders, status from a string */
    h = P("{\"handler\":\"static_response\",\"status_code\":302,\"headers\":{\"Location\":"
          "[\"https://{http.request.host}{http.request.uri}\"]}}");
    r = R("GET", "/a?b=c");
    H(h, r);
    T_INT(r->resp.status, 302);
    T_STR(rh(r, "Location"), "https://example.com/a?b=c");

    /* status from a placeholder */
    h = P("{\"handler\":\"static_response\",\"status_code\":\"{http.request.uri.query.s}\"}");
    r = R("GET", "/?s=418");
    H(h, r);
    T_INT(r->resp.status, 418);
    r = R("GET", "/?s=abc");
    T_INT(H(h, r), CC_ERR);
    T_INT(r->err.status, 500);
    T_HAS(r->err.message, "invalid syntax");

    /* inside handle_errors the default status is the error's */
    h = P("{\"handler\":\"static_response\",\"body\":\"{http.error.status_code} "
          "{http.error.message}\"}");
    r = R("GET", "/");
    cc_req_fail(r, 404, "gone fishing");
    H(h, r);
    T_INT(r->resp.status, 404);
    T_STR(body_of(r), "404 gone fishing");

    h = P("{\"handler\":\"static_response\",\"body\":\"bye\",\"close\":true}");
    r = R("GET", "/");
    H(h, r);
    T_OK(r->resp.close, "close flag");
    T_STR(rh(r, "Connection"), "close");

    h = P("{\"handler\":\"static_response\",\"abort\":true}");
    r = R("GET", "/");
    T_INT(H(h, r), CC_OK);
    T_OK(r->resp.abort && r->resp.status == 0, "abort flag");

    /* escaped braces stay literal */
    h = P("{\"handler\":\"static_response\",\"body\":\"\\\\{http.request.host\\\\}\"}");
    r = R("GET", "/");
    H(h, r);
    T_STR(body_of(r), "{http.request.host}");
}

/* ---- rewrite ---- */

static void test_rewrite_uri(void)
{
    const char *u = "{\"handler\":\"rewrite\",\"uri\":\"%s\"}";
#define RWU(uri, in) rw(cc_arena_printf(A, u, uri), in)
    T_STR(RWU("/foo", "/bar?x=1"), "/foo?x=1");
    T_STR(RWU("/foo{http.request.uri.path}", "/bar"), "/foo/bar");
    T_STR(RWU("/index.php?p={http.request.uri.path}", "/a/b"), "/index.php?p=%2Fa%2Fb");
    T_STR(RWU("?a=b&{http.request.uri.query}", "/"), "/?a=b");
    T_STR(RWU("?{http.request.uri.query}&c=d", "/x?a=b"), "/x?a=b&c=d");
    T_STR(RWU("/i.php?c=d&{http.request.uri.query}", "/?a=b"), "/i.php?c=d&a=b");
    T_STR(RWU("?qs={http.request.uri.query}", "/f?a=b&c=d"), "/f?qs=a%3Db%26c%3Dd");
    T_STR(RWU("{http.request.uri.path}?", "/p?a=b"), "/p");
    T_STR(RWU("{http.request.uri}", "/bar%3Fbaz?c=d"), "/bar%3Fbaz?c=d");
    T_STR(RWU("/i{http.request.uri}", "/%C2%B7.png?a=b"), "/i/%C2%B7.png?a=b");
    T_STR(RWU("/foo{http.request.uri}?c=d", "/bar?a=b"), "/foo/bar?c=d");
    T_STR(RWU("/x/{http.request.header.X-None}y", "/"), "/x/y");
    T_STR(RWU("/bar#frag", "/foo?q=1"), "/bar?q=1");
    T_STR(RWU("/a b", "/"), "/a%20b");
    /* a space in a query value is escaped as '+' */
    T_STR(RWU("?v={http.request.uri.query.q}", "/s?q=a%20b"), "/s?v=a+b");
#undef RWU
    /* a header value with placeholder syntax is not expanded a second time */
    cc_handler *h = P("{\"handler\":\"rewrite\",\"uri\":\"/s/{http.request.header.X-Fwd}?\"}");
    cc_req *r = R("GET", "/anything");
    cc_headers_add(RA, &r->headers, "X-Fwd", "ok?k={env.HOME}");
    H(h, r);
    T_STR(r->target, "/s/ok?k=%7Benv.HOME%7D");
    /* originals stay; decoded path follows */
    h = P("{\"handler\":\"rewrite\",\"method\":\"post\",\"uri\":\"/caf%C3%A9\"}");
    r = R("GET", "/old?x=1");
    H(h, r);
    T_STR(r->method, "POST");
    T_STR(r->path, "/caf\xc3\xa9");
    T_STR(r->raw_path, "/caf%C3%A9");
    T_STR(r->orig_path, "/old");
    T_STR(r->orig_method, "GET");
    T_STR(r->query, "x=1");
}

static void test_rewrite_strip(void)
{
    const char *pre = "{\"handler\":\"rewrite\",\"strip_path_prefix\":\"%s\"}";
    const char *suf = "{\"handler\":\"rewrite\",\"strip_path_suffix\":\"%s\"}";
#define SP(p, in) rw(cc_arena_printf(A, pre, p), in)
#define SS(s, in) rw(cc_arena_printf(A, suf, s), in)
    T_STR(SP("/api", "/api/users?x=1"), "/users?x=1");
    T_STR(SP("api", "/api/users"), "/users");
    /* Caddy strips bytes, not segments: the URI is left without its slash */
    T_STR(SP("/api", "/apix"), "x");
    T_STR(SP("/api", "/other/api"), "/other/api");
    T_STR(SP("/api", "/api"), "/");
    T_STR(SP("/API", "/api/v1"), "/v1");
    T_STR(SP("/a/b", "/a%2Fb/c"), "/c");
    T_STR(SP("/a%2Fb", "/a%2fb/c"), "/c");
    T_STR(SP("/a%2Fb", "/a/b/c"), "/a/b/c");
    T_STR(SP("/p", "/p/x%2Fy"), "/x%2Fy");
    T_STR(SP("/aaaa", "/%61%61"), "/%61%61");
    T_STR(SP("/api", "/x/../api/y"), "/y");
    T_STR(SS(".html", "/page.html"), "/page");
    T_STR(SS("suffix", "/foo%2Fbar/suffix"), "/foo%2Fbar/");
    T_STR(SS("%2fsuffix", "/foo%2Fbar%2fsuffix"), "/foo%2Fbar");
    T_STR(SS("/suffix", "/foo/suffix/bar"), "/foo/suffix/bar");
#undef SP
#undef SS
    cc_handler *h = P("{\"handler\":\"rewrite\",\"strip_path_prefix\":\"/api\"}");
    cc_req *r = R("GET", "/api");
    H(h, r);
    T_STR(r->path, "");
}

static void test_rewrite_substr_regex(void)
{
    const char *sub = "{\"handler\":\"rewrite\",\"uri_substring\":[%s]}";
#define SUB(ops, in) rw(cc_arena_printf(A, sub, ops), in)
    T_STR(SUB("{\"find\":\"findme\",\"replace\":\"x\"}", "/a/findme/b"), "/a/x/b");
    T_STR(SUB("{\"find\":\"findme\",\"replace\":\"x\"}", "/a/findme%2Fb"), "/a/x%2Fb");
    T_STR(SUB("{\"find\":\"%28\",\"replace\":\"(\"},{\"find\":\"%29\",\"replace\":\")\"}",
              "/h/%28%29"),
          "/h/()");
    T_STR(SUB("{\"find\":\"a\",\"replace\":\"b\",\"limit\":1}", "/aaa?q=a"), "/baa?q=b");
    T_STR(SUB("{\"find\":\"x\",\"replace\":\"y\"}", "/p?x=x"), "/p?y=y");
#undef SUB
    const char *re = "{\"handler\":\"rewrite\",\"path_regexp\":[{\"find\":\"%s\",\"replace\":"
                     "\"%s\"}]}";
#define RE(f, rep, in) rw(cc_arena_printf(A, re, f, rep), in)
    T_STR(RE("/{2,}", "/", "/foo//bar///baz?a=b//c"), "/foo/bar/baz?a=b//c");
    T_STR(RE("^/old/(.*)$", "/new/$1", "/old/x/y"), "/new/x/y");
    T_STR(RE("\\\\.html$", "", "/a.html"), "/a");
    T_STR(RE("(?P<n>[0-9]+)", "[$n]", "/a1b22"), "/a[1]b[22]");
    T_STR(RE("(x)", "$1y$$", "/x"), "/$");
    /* as in Caddy, "{1}" is a placeholder (unknown, so empty) before the regexp sees it */
    T_STR(RE("(?P<n>[0-9]+)", "[${n}]", "/a1b22"), "/a[$]b[$]");
    T_STR(RE("(x)", "${1}y", "/x"), "/");
    T_STR(RE("a*", "-", "/baa"), "-/-b-");
#undef RE
    cc_handler *h = P("{\"handler\":\"rewrite\",\"path_regexp\":[{\"find\":\"(\"}]}");
    T_OK(h == NULL && strstr(E.msg, "compiling regular expression 0"), "bad regexp: %s", E.msg);
    h = P("{\"handler\":\"rewrite\",\"path_regexp\":[{\"find\":\"\"}]}");
    T_OK(h == NULL && strstr(E.msg, "path_regexp find cannot be empty"), "empty regexp: %s", E.msg);
}

static void test_rewrite_query(void)
{
    const char *q = "{\"handler\":\"rewrite\",\"query\":{%s}}";
#define Q(ops, in) rw(cc_arena_printf(A, q, ops), in)
    T_STR(Q("\"add\":[{\"key\":\"z\",\"val\":\"1\"}]", "/p?b=2&a=1"), "/p?a=1&b=2&z=1");
    T_STR(Q("\"add\":[{\"key\":\"a\",\"val\":\"3\"}]", "/p?a=1"), "/p?a=1&a=3");
    T_STR(Q("\"set\":[{\"key\":\"a\",\"val\":\"x y\"}]", "/p?a=1&a=2"), "/p?a=x+y");
    T_STR(Q("\"delete\":[\"a\"]", "/p?a=1&b=2"), "/p?b=2");
    T_STR(Q("\"delete\":[\"a\"]", "/p?a=1"), "/p");
    T_STR(Q("\"rename\":[{\"key\":\"ID\",\"val\":\"id\"}]", "/?ID=5&id=7&t=1"), "/?id=5&t=1");
    T_STR(Q("\"rename\":[{\"key\":\"ID\",\"val\":\"id\"}]", "/?id=5"), "/?id=5");
    T_STR(
        Q("\"replace\":[{\"key\":\"a\",\"search\":\"foo\",\"replace\":\"bar\"}]", "/?a=foo&b=foo"),
        "/?a=bar&b=foo");
    T_STR(
        Q("\"replace\":[{\"key\":\"*\",\"search\":\"foo\",\"replace\":\"bar\"}]", "/?a=foo&b=foo"),
        "/?a=bar&b=bar");
    T_STR(Q("\"replace\":[{\"key\":\"a\",\"search_regexp\":\"f(.)o\",\"replace\":\"<$1>\"}]",
            "/?a=foo&b=foo"),
          "/?a=%3Co%3E&b=foo");
    T_STR(Q("\"set\":[{\"key\":\"h\",\"val\":\"{http.request.host}\"}]", "/"), "/?h=example.com");
    /* semicolon pairs are dropped, as Go's ParseQuery does */
    T_STR(Q("\"add\":[{\"key\":\"k\",\"val\":\"v\"}]", "/?a=1;b=2&c=3"), "/?c=3&k=v");
#undef Q
}

/* ---- headers ---- */

static void test_headers(void)
{
    cc_handler *h = P("{\"handler\":\"headers\",\"response\":{\"set\":{\"x-a\":[\"1\",\"2\"]},"
                      "\"add\":{\"X-B\":[\"{http.request.method}\"]},"
                      "\"delete\":[\"Server\"]}}");
    T_OK(h != NULL, "provision: %s", E.msg);
    cc_req *r = R("GET", "/");
    cc_headers_set(RA, &r->resp.headers, "Server", "caddy-c");
    cc_headers_add(RA, &r->resp.headers, "X-B", "old");
    H(h, r);
    T_STR(rh(r, "X-A"), "1,2");
    T_INT(cc_headers_count(&r->resp.headers, "X-B"), 2);
    T_OK(rh(r, "Server") == NULL, "-Server deleted");
    T_OK(r->resp.filters == NULL, "no filter for immediate ops");

    /* wildcard deletes */
    h = P("{\"handler\":\"headers\",\"response\":{\"delete\":[\"X-Foo-*\",\"*-Bar\",\"*mid*\"],"
          "\"deferred\":true}}");
    r = R("GET", "/");
    cc_headers_add(RA, &r->resp.headers, "X-Foo-One", "1");
    cc_headers_add(RA, &r->resp.headers, "x-foo-two", "2");
    cc_headers_add(RA, &r->resp.headers, "Some-Bar", "3");
    cc_headers_add(RA, &r->resp.headers, "A-Middle-B", "4");
    cc_headers_add(RA, &r->resp.headers, "Keep", "5");
    H(h, r);
    T_INT(r->resp.headers.n, 5); /* deferred: nothing yet */
    r->resp.status = 200;
    commit(r);
    T_INT(r->resp.headers.n, 1);
    T_STR(rh(r, "Keep"), "5");

    /* delete "*" clears before add/set */
    h = P("{\"handler\":\"headers\",\"response\":{\"delete\":[\"*\"],\"set\":{\"Only\":[\"me\"]},"
          "\"deferred\":true}}");
    r = R("GET", "/");
    cc_headers_add(RA, &r->resp.headers, "A", "1");
    H(h, r);
    cc_headers_add(RA, &r->resp.headers, "Late", "x");
    commit(r);
    T_INT(r->resp.headers.n, 1);
    T_STR(rh(r, "Only"), "me");

    /* replace: plain and regexp, immediate */
    h = P("{\"handler\":\"headers\",\"response\":{\"replace\":{\"X-V\":[{\"search\":\"a\","
          "\"replace\":\"b\"}],\"x-r\":[{\"search_regexp\":\"([0-9]+)\",\"replace\":\"<$1>\"}]}}}");
    r = R("GET", "/");
    cc_headers_add(RA, &r->resp.headers, "X-V", "banana");
    cc_headers_add(RA, &r->resp.headers, "X-R", "v12 and 3");
    H(h, r);
    T_STR(rh(r, "X-V"), "bbnbnb");
    T_STR(rh(r, "X-R"), "v<12> and <3>");

    /* require: set only when absent (the `?` op) */
    h = P("{\"handler\":\"headers\",\"response\":{\"set\":{\"Cache-Control\":[\"max-age=60\"]},"
          "\"require\":{\"headers\":{\"Cache-Control\":null}}}}");
    r = R("GET", "/");
    H(h, r);
    T_OK(r->resp.filters != NULL, "require registers a filter");
    commit(r);
    T_STR(rh(r, "Cache-Control"), "max-age=60");
    r = R("GET", "/");
    H(h, r);
    cc_headers_set(RA, &r->resp.headers, "Cache-Control", "no-store");
    commit(r);
    T_STR(rh(r, "Cache-Control"), "no-store");

    /* require by status class */
    h = P("{\"handler\":\"headers\",\"response\":{\"set\":{\"X-Err\":[\"yes\"]},\"require\":"
          "{\"status_code\":[4]},\"deferred\":true}}");
    r = R("GET", "/");
    H(h, r);
    r->resp.status = 404;
    commit(r);
    T_STR(rh(r, "X-Err"), "yes");
    r = R("GET", "/");
    H(h, r);
    r->resp.status = 200;
    commit(r);
    T_OK(rh(r, "X-Err") == NULL, "2xx does not match class 4");

    /* request headers, including Host */
    h = P("{\"handler\":\"headers\",\"request\":{\"set\":{\"X-Up\":[\"{http.request.uri.path}\"]},"
          "\"delete\":[\"Accept\"]}}");
    r = R("GET", "/q");
    cc_headers_add(RA, &r->headers, "Accept", "*/*");
    H(h, r);
    T_STR(cc_headers_get(&r->headers, "X-Up"), "/q");
    T_OK(cc_headers_get(&r->headers, "Accept") == NULL, "request header deleted");
    h = P("{\"handler\":\"headers\",\"request\":{\"set\":{\"Host\":[\"Other.Example:9000\"]}}}");
    r = R("GET", "/");
    H(h, r);
    T_STR(r->hostport, "Other.Example:9000");
    T_STR(r->host, "other.example");
    T_STR(r->port, "9000");

    /* provisioning errors */
    h = P("{\"handler\":\"headers\",\"response\":{\"replace\":{\"X\":[{\"search\":\"a\","
          "\"search_regexp\":\"b\"}]}}}");
    T_OK(h == NULL && strstr(E.msg, "cannot specify both"), "both searches: %s", E.msg);
    h = P("{\"handler\":\"headers\",\"response\":{\"replace\":{\"X\":[{\"search_regexp\":"
          "\"(\"}]}}}");
    T_OK(h == NULL && strstr(E.msg, "replacement 0 for header field 'X'"), "bad re: %s", E.msg);
}

static void test_respmatch(void)
{
    cc_err_clear(&E);
    cc_respmatch *m = cc_respmatch_compile(
        A,
        J("{\"status_code\":[200,5],\"headers\":{\"Content-Type\":[\"text/*\"],"
          "\"X-Has\":[],\"X-Not\":null}}"),
        &E);
    T_OK(m != NULL, "compile: %s", E.msg);
    cc_headers h = {0};
    cc_headers_add(RA, &h, "content-type", "text/html");
    cc_headers_add(RA, &h, "X-Has", "");
    T_OK(cc_respmatch_match(m, 200, &h), "200 text/html");
    T_OK(cc_respmatch_match(m, 503, &h), "5xx class");
    T_OK(!cc_respmatch_match(m, 404, &h), "404 not listed");
    cc_headers_add(RA, &h, "X-Not", "1");
    T_OK(!cc_respmatch_match(m, 200, &h), "X-Not must be absent");
}

/* ---- request_body, vars, error ---- */

static void test_request_body(void)
{
    cc_handler *h = P("{\"handler\":\"request_body\",\"max_size\":5}");
    cc_req *r = R("POST", "/");
    r->body = cc_body_mem(RA, "123456", 6);
    r->content_length = 6;
    T_INT(H(h, r), CC_ERR);
    T_INT(r->err.status, 413);
    r = R("POST", "/");
    r->body = cc_body_mem(RA, "12345", 5);
    r->content_length = 5;
    T_INT(H(h, r), CC_OK);
    r = R("GET", "/");
    T_INT(H(h, r), CC_OK);

    h = P("{\"handler\":\"request_body\",\"set\":\"m={http.request.method}\"}");
    r = R("PUT", "/");
    H(h, r);
    T_OK(r->body && r->body->mem_len == 5 && memcmp(r->body->mem, "m=PUT", 5) == 0,
         "body replaced");
    T_INT(r->content_length, 5);
}

static void test_vars_error(void)
{
    cc_handler *h = P("{\"handler\":\"vars\",\"root\":\"/srv/{http.request.host}\",\"n\":1,"
                      "\"f\":1.5,\"big\":1e21,\"b\":true,\"log_skip\":true}");
    T_OK(h != NULL, "provision: %s", E.msg);
    cc_req *r = R("GET", "/");
    H(h, r);
    T_STR(cc_vars_get(&r->vars, "root"), "/srv/example.com");
    T_STR(cc_vars_get(&r->vars, "n"), "1");
    T_STR(cc_vars_get(&r->vars, "f"), "1.5");
    T_STR(cc_vars_get(&r->vars, "big"), "1000000000000000000000");
    T_STR(cc_vars_get(&r->vars, "log_skip"), "true");
    T_OK(cc_vars_get(&r->vars, "handler") == NULL, "handler is not a var");

    h = P(
        "{\"handler\":\"error\",\"error\":\"no {http.request.uri.path}\",\"status_code\":\"403\"}");
    r = R("GET", "/secret");
    T_INT(H(h, r), CC_ERR);
    T_INT(r->err.status, 403);
    T_STR(r->err.message, "no /secret");
    h = P("{\"handler\":\"error\"}");
    r = R("GET", "/");
    H(h, r);
    T_INT(r->err.status, 500);
    h = P("{\"handler\":\"error\",\"error\":\"x\",\"status_code\":\"{http.request.uri.query.c}\"}");
    r = R("GET", "/?c=451");
    H(h, r);
    T_INT(r->err.status, 451);
}

/* ---- subroute and invoke ---- */

static void test_subroute(void)
{
    /* a group: only the first matching route runs; then fall through to the next */
    cc_handler *h =
        P("{\"handler\":\"subroute\",\"routes\":["
          "{\"group\":\"g\",\"match\":[{\"path\":[\"/a*\"]}],\"handle\":[{\"handler\":\"vars\","
          "\"which\":\"a\"}]},"
          "{\"group\":\"g\",\"handle\":[{\"handler\":\"vars\",\"which\":\"fallback\"}]},"
          "{\"handle\":[{\"handler\":\"static_response\",\"body\":\"{http.vars.which}\"}]}]}");
    T_OK(h != NULL, "provision: %s", E.msg);
    cc_req *r = R("GET", "/abc");
    T_INT(H(h, r), CC_OK);
    T_STR(body_of(r), "a");
    r = R("GET", "/zzz");
    H(h, r);
    T_STR(body_of(r), "fallback");

    /* terminal route stops; errors routes see the error */
    h = P("{\"handler\":\"subroute\",\"routes\":["
          "{\"handle\":[{\"handler\":\"error\",\"error\":\"boom\",\"status_code\":418}]}],"
          "\"errors\":{\"routes\":[{\"handle\":[{\"handler\":\"static_response\",\"body\":"
          "\"caught {http.error.status_code} {http.error.message}\"}]}]}}");
    T_OK(h != NULL, "provision: %s", E.msg);
    r = R("GET", "/");
    T_INT(H(h, r), CC_OK);
    T_INT(r->resp.status, 418);
    T_STR(body_of(r), "caught 418 boom");

    /* without errors routes the error propagates */
    h = P("{\"handler\":\"subroute\",\"routes\":[{\"handle\":[{\"handler\":\"error\"}]}]}");
    r = R("GET", "/");
    T_INT(H(h, r), CC_ERR);
    T_INT(r->err.status, 500);

    /* nested subroutes with a rewrite then a match on the new path */
    h = P("{\"handler\":\"subroute\",\"routes\":["
          "{\"handle\":[{\"handler\":\"rewrite\",\"strip_path_prefix\":\"/api\"}]},"
          "{\"match\":[{\"path\":[\"/v1\"]}],\"handle\":[{\"handler\":\"subroute\",\"routes\":["
          "{\"handle\":[{\"handler\":\"static_response\",\"body\":\"v1 "
          "{http.request.orig_uri}\"}]}]}],\"terminal\":true},"
          "{\"handle\":[{\"handler\":\"static_response\",\"body\":\"other\"}]}]}");
    T_OK(h != NULL, "provision: %s", E.msg);
    r = R("GET", "/api/v1");
    H(h, r);
    T_STR(body_of(r), "v1 /api/v1");
    r = R("GET", "/api/v2");
    H(h, r);
    T_STR(body_of(r), "other");

    /* invoke a named route from the config root */
    PROV.root = J("{\"apps\":{\"http\":{\"servers\":{\"srv0\":{\"named_routes\":{\"nr\":"
                  "{\"handle\":[{\"handler\":\"static_response\",\"body\":\"named\"}]}}}}}}}");
    h = P("{\"handler\":\"invoke\",\"name\":\"nr\"}");
    T_OK(h != NULL, "provision: %s", E.msg);
    r = R("GET", "/");
    H(h, r);
    T_STR(body_of(r), "named");
    h = P("{\"handler\":\"invoke\",\"name\":\"missing\"}");
    r = R("GET", "/");
    T_INT(H(h, r), CC_ERR);
    T_HAS(r->err.message, "route 'missing' not found");
    PROV.root = NULL;
}

/* ---- through the server: adapted Caddyfile, routes, handle_errors, commit ---- */

static const char SITE[] = ":8080 {\n"
                           "\theader -Server\n"
                           "\theader X-Site yes\n"
                           "\thandle /e {\n"
                           "\t\terror \"nope {path}\" 409\n"
                           "\t}\n"
                           "\thandle_path /p/* {\n"
                           "\t\trewrite * /x{path}\n"
                           "\t\trespond \"{path} {orig_uri}\"\n"
                           "\t}\n"
                           "\thandle /r {\n"
                           "\t\tredir * /to{uri} permanent\n"
                           "\t}\n"
                           "\thandle_errors {\n"
                           "\t\trespond \"E {err.status_code} {err.message}\"\n"
                           "\t}\n"
                           "}\n";

static cc_req *serve(const cc_server *srv, const char *method, const char *target)
{
    cc_req *r = R(method, target);
    cc_server_handle(srv, r);
    cc_resp_commit(r);
    return r;
}

static void test_server(void)
{
    cc_arena *ca = cc_arena_new(0);
    cc_cfg *cfg = NULL;
    cc_err_clear(&E);
    cc_modules_set(cc_handler_modules);
    T_INT(cc_cf_adapt(ca, "Caddyfile", SITE, strlen(SITE), &cfg, NULL, &E), CC_OK);
    cc_runtime *rt = cc_runtime_load(ca, cfg, &E);
    T_OK(rt != NULL, "runtime: %s", E.msg);
    if (!rt)
        return;
    const cc_server *srv = &rt->servers[0];
    cc_req *r = serve(srv, "GET", "/e");
    T_INT(r->resp.status, 409);
    T_STR(body_of(r), "E 409 nope /e");
    /* as in Caddy: deferred ops of the failed chain are gone, immediate ones stay */
    T_STR(rh(r, "Server"), "caddy-c");
    T_STR(rh(r, "X-Site"), "yes");
    r = serve(srv, "GET", "/p/a?q=1");
    T_INT(r->resp.status, 200);
    T_STR(body_of(r), "/x/a /p/a?q=1");
    T_STR(rh(r, "X-Site"), "yes");
    T_OK(rh(r, "Server") == NULL, "-Server on a normal response");
    r = serve(srv, "GET", "/r?a=b");
    T_INT(r->resp.status, 301);
    T_STR(rh(r, "Location"), "/to/r?a=b");
    r = serve(srv, "GET", "/none");
    T_INT(r->resp.status, 200);
    T_OK(r->resp.body == NULL, "unmatched: empty body");
    cc_runtime_unref(rt);
}

/* ---- helpers ---- */

static void test_helpers(void)
{
    T_STR(cc_gourl_clean(RA, "/a/./b/../c//d/"), "/a/c/d");
    T_STR(cc_gourl_clean(RA, ""), ".");
    T_STR(cc_gourl_clean(RA, "/../x"), "/x");
    T_STR(cc_gourl_caddy_clean(RA, "/a//b/../c/", false), "/a//c/");
    T_STR(cc_gourl_caddy_clean(RA, "/a//b/", true), "/a/b/");
    T_STR(cc_gourl_escaped_path(RA, "/a b/c", NULL), "/a%20b/c");
    T_STR(cc_gourl_escaped_path(RA, "/a/b", "/a%2Fb"), "/a%2Fb");
    T_STR(cc_gourl_escaped_path(RA, "/a/b", "/x"), "/a/b");
    T_STR(cc_gourl_path_escape(RA, "a/b c$"), "a%2Fb%20c$");
    T_STR(cc_str_replace(RA, "abc", "", "-", -1), "-a-b-c-");
    T_STR(cc_str_replace(RA, "aaaa", "a", "b", 2), "bbaa");
}

int main(void)
{
    A = cc_arena_new(0);
    RA = cc_arena_new(0);
    cc_handler_types_set(cc_handler_types);
    test_static_response();
    test_rewrite_uri();
    test_rewrite_strip();
    test_rewrite_substr_regex();
    test_rewrite_query();
    test_headers();
    test_respmatch();
    test_request_body();
    test_vars_error();
    test_subroute();
    test_server();
    test_helpers();
    cc_prov_cleanup(&PROV);
    cc_arena_free(RA);
    cc_arena_free(A);
    return t_done();
}
