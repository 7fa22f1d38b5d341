/* SPDX-License-Identifier: Apache-2.0
 * Placeholders: Caddy's scanning rules (escapes, unknown keys kept or dropped), every
 * http.request.* family, vars, regexp captures, errors, response headers and the
 * global env/system/time/file ones. */
#include <stdlib.h>
#include <unistd.h>

#include "../t.h"
#include "core/replacer.h"
#include "core_rt.h"

static cc_arena *A;

static const char *X(cc_req *r, const char *s)
{
    return cc_repl_expand(r, s, true);
}

static bool all_digits(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static void test_scanning(void)
{
    cc_req *r = R(A, "GET", "/p", "example.com");
    T_STR(X(r, "plain text"), "plain text");
    T_STR(X(r, "{http.request.method} {http.request.uri.path}"), "GET /p");
    T_STR(X(r, "\\{http.request.method\\}"), "{http.request.method}");
    T_STR(X(r, "a\\}b"), "a}b");
    T_STR(X(r, "{unknown.thing}"), "{unknown.thing}");
    T_STR(cc_repl_expand(r, "x{unknown.thing}y", false), "xy");
    T_STR(X(r, "{unclosed"), "{unclosed");
    T_STR(X(r, "{}"), "{}");
    T_STR(X(r, "{a {http.request.method}}"), "{a GET}");
    cc_tmpl *t = cc_tmpl_compile(A, "static");
    T_OK(!cc_tmpl_dynamic(t), "static template");
    T_STR(cc_tmpl_expand(t, r, false), "static");
    cc_tmpl *t2 = cc_tmpl_compile(A, "m={http.request.method}");
    T_OK(cc_tmpl_dynamic(t2), "dynamic template");
    T_STR(cc_tmpl_expand(t2, r, false), "m=GET");
}

static void test_request(void)
{
    cc_req *r = R(A, "POST", "/a%20b/c.tar.gz?x=1&y=a+b&x=2", "Example.com:8080");
    cc_headers_add(A, &r->headers, "X-Multi", "one");
    cc_headers_add(A, &r->headers, "x-multi", "two");
    cc_headers_add(A, &r->headers, "Cookie", "a=1; Session=\"xyz\"");
    T_STR(X(r, "{http.request.method}"), "POST");
    T_STR(X(r, "{http.request.scheme}"), "http");
    T_STR(X(r, "{http.request.proto}"), "HTTP/1.1");
    T_STR(X(r, "{http.request.host}"), "Example.com");
    T_STR(X(r, "{http.request.port}"), "8080");
    T_STR(X(r, "{http.request.hostport}"), "Example.com:8080");
    T_STR(X(r, "{http.request.uri}"), "/a%20b/c.tar.gz?x=1&y=a+b&x=2");
    T_STR(X(r, "{http.request.uri.path}"), "/a b/c.tar.gz");
    T_STR(X(r, "{http.request.uri.path.file}"), "c.tar.gz");
    T_STR(X(r, "{http.request.uri.path.dir}"), "/a b/");
    T_STR(X(r, "{http.request.uri.path.file.base}"), "c.tar");
    T_STR(X(r, "{http.request.uri.path.file.ext}"), ".gz");
    T_STR(X(r, "{http.request.uri.path_escaped}"), "%2Fa+b%2Fc.tar.gz");
    T_STR(X(r, "{http.request.uri.query}"), "x=1&y=a+b&x=2");
    T_STR(X(r, "{http.request.uri.query_escaped}"), "x%3D1%26y%3Da%2Bb%26x%3D2");
    T_STR(X(r, "{http.request.uri.prefixed_query}"), "?x=1&y=a+b&x=2");
    T_STR(X(r, "{http.request.uri.query.x}"), "1,2");
    T_STR(X(r, "{http.request.uri.query.y}"), "a b");
    T_STR(X(r, "[{http.request.uri.query.none}]"), "[]");
    T_STR(X(r, "{http.request.header.X-Multi}"), "one,two");
    T_STR(X(r, "{http.request.header.x-multi}"), "one,two");
    T_STR(X(r, "[{http.request.header.Missing}]"), "[]");
    T_STR(X(r, "{http.request.cookie.session}"), "xyz");
    T_STR(X(r, "{http.request.cookie.nope}"), "{http.request.cookie.nope}");
    T_STR(X(r, "{http.request.host.labels.0}"), "com");
    T_STR(X(r, "{http.request.host.labels.1}"), "example");
    T_STR(X(r, "[{http.request.host.labels.5}]"), "[]");
    T_STR(X(r, "{http.request.uri.path.0}"), "a b");
    T_STR(X(r, "{http.request.uri.path.1}"), "c.tar.gz");
    T_STR(X(r, "[{http.request.uri.path.2}]"), "[]");
    T_STR(X(r, "{http.request.remote}"), "10.1.2.3:41000");
    T_STR(X(r, "{http.request.remote.host}"), "10.1.2.3");
    T_STR(X(r, "{http.request.remote.port}"), "41000");
    T_STR(X(r, "{http.request.remote.host/24}"), "10.1.2.0/24");
    T_STR(X(r, "{http.request.remote.host/16,64}"), "10.1.0.0/16");
    T_STR(X(r, "{http.request.local}"), "127.0.0.1:8080");
    T_STR(X(r, "{http.request.local.port}"), "8080");
    /* TLS placeholders are unknown on plain HTTP, as in Caddy */
    T_STR(X(r, "{http.request.tls.version}"), "{http.request.tls.version}");

    /* rewrites keep the originals */
    r->method = "GET";
    r->path = "/new";
    r->raw_path = "/new";
    r->query = "";
    T_STR(X(r, "{http.request.uri}"), "/new");
    T_STR(X(r, "{http.request.orig_method}"), "POST");
    T_STR(X(r, "{http.request.orig_uri}"), "/a%20b/c.tar.gz?x=1&y=a+b&x=2");
    T_STR(X(r, "{http.request.orig_uri.path}"), "/a b/c.tar.gz");
    T_STR(X(r, "{http.request.orig_uri.query}"), "x=1&y=a+b&x=2");
    T_STR(X(r, "{http.request.orig_uri.path.dir}"), "/a b/");
    T_STR(X(r, "[{http.request.uri.prefixed_query}]"), "[]");

    /* uuid: a v4, stable within the request */
    const char *u1 = X(r, "{http.request.uuid}");
    const char *u2 = X(r, "{http.request.uuid}");
    T_STR(u1, u2);
    T_INT(strlen(u1), 36);
    T_OK(u1[14] == '4' && strchr("89ab", u1[19]), "uuid v4 shape: %s", u1);
    T_STR(r->uuid, u1);
    T_OK(strcmp(X(R(A, "GET", "/", "x"), "{http.request.uuid}"), u1) != 0, "uuid per request");

    const char *d = X(r, "{http.request.duration}");
    T_OK(d && (strstr(d, "s") != NULL), "duration Go form: %s", d);
    const char *dms = X(r, "{http.request.duration_ms}");
    T_OK(dms && atof(dms) >= 0 && atof(dms) < 10000, "duration_ms: %s", dms);

    cc_req *rb = R(A, "POST", "/", "x");
    rb->body = cc_body_mem(A, "hello", 5);
    T_STR(X(rb, "{http.request.body}"), "hello");
    T_STR(X(rb, "{http.request.body_base64}"), "aGVsbG8=");
}

static void test_vars_errors_resp(void)
{
    cc_req *r = R(A, "GET", "/", "x");
    cc_vars_set(A, &r->vars, "root", "/srv");
    cc_vars_set(A, &r->vars, "client_ip", "1.2.3.4");
    cc_vars_set(A, &r->vars, "http.regexp.m.1", "cap");
    cc_vars_set(A, &r->vars, "http.auth.user.id", "bob");
    T_STR(X(r, "{http.vars.root}"), "/srv");
    T_STR(X(r, "{http.vars.client_ip}"), "1.2.3.4");
    T_STR(X(r, "[{http.vars.unset}]"), "[]");
    T_STR(X(r, "{http.regexp.m.1}"), "cap");
    T_STR(X(r, "{http.regexp.m.9}"), "{http.regexp.m.9}");
    T_STR(X(r, "{http.auth.user.id}"), "bob");

    T_STR(X(r, "{http.error.status_code}"), "{http.error.status_code}");
    cc_req_fail(r, 404, "no such file: %s", "x.txt");
    r->err.trace = "file_server";
    T_STR(X(r, "{http.error.status_code}"), "404");
    T_STR(X(r, "{http.error.status_text}"), "Not Found");
    T_STR(X(r, "{http.error.message}"), "no such file: x.txt");
    T_STR(X(r, "{http.error.trace}"), "file_server");
    T_INT(strlen(X(r, "{http.error.id}")), 9);
    T_HAS(X(r, "{http.error}"), "HTTP 404: no such file");

    cc_headers_add(A, &r->resp.headers, "Content-Type", "text/plain");
    T_STR(X(r, "{http.response.header.content-type}"), "text/plain");
    T_STR(X(r, "{http.shutting_down}"), "false");
    T_STR(cc_repl_get(r, "http.request.method"), "GET");
    T_OK(cc_repl_get(r, "no.such.placeholder") == NULL, "cc_repl_get unknown");
}

static void test_globals(void)
{
    setenv("CC_REPL_TEST", "val", 1);
    T_STR(cc_repl_expand(NULL, "{env.CC_REPL_TEST}", true), "val");
    T_STR(cc_repl_expand(NULL, "[{env.CC_REPL_UNSET_X}]", true), "[]");
    T_STR(cc_repl_expand(NULL, "{system.slash}", true), "/");
    T_STR(cc_repl_expand(NULL, "{system.os}", true), "linux");
    char host[256];
    gethostname(host, sizeof(host));
    T_STR(cc_repl_expand(NULL, "{system.hostname}", true), host);
    char wd[4096];
    T_STR(cc_repl_expand(NULL, "{system.wd}", true), getcwd(wd, sizeof(wd)));
    T_OK(all_digits(cc_repl_expand(NULL, "{time.now.unix}", true)), "unix");
    T_OK(all_digits(cc_repl_expand(NULL, "{time.now.unix_ms}", true)), "unix_ms");
    T_INT(strlen(cc_repl_expand(NULL, "{time.now.year}", true)), 4);
    const char *http = cc_repl_expand(NULL, "{time.now.http}", true);
    T_OK(strlen(http) == 29 && strcmp(http + 26, "GMT") == 0, "time.now.http: %s", http);
    const char *clog = cc_repl_expand(NULL, "{time.now.common_log}", true);
    T_OK(strlen(clog) == 26 && clog[2] == '/' && clog[6] == '/', "common_log: %s", clog);
    T_HAS(cc_repl_expand(NULL, "{time.now}", true), " m=+");
    /* request placeholders are unknown without a request */
    T_STR(cc_repl_expand(NULL, "{http.request.method}", true), "{http.request.method}");

    char path[] = "/tmp/cc_repl_fileXXXXXX";
    int fd = mkstemp(path);
    T_OK(fd >= 0 && write(fd, "secret\n", 7) == 7, "temp file");
    close(fd);
    T_STR(cc_repl_expand(NULL, cc_arena_printf(A, "[{file.%s}]", path), true), "[secret]");
    unlink(path);
    T_STR(cc_repl_expand(NULL, "[{file./no/such/file}]", true), "[]");
}

int main(void)
{
    A = cc_arena_new(0);
    test_scanning();
    test_request();
    test_vars_errors_resp();
    test_globals();
    cc_arena_free(A);
    return t_done();
}
