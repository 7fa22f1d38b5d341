/* SPDX-License-Identifier: Apache-2.0
 * Matcher sets at run time: every matcher type with Caddy's semantics, the path rules
 * (prefix/suffix/substring/glob, cleaning, %-escapes, placeholders), the RE2 -> POSIX
 * translation with its captures, IP ranges, and the extension hook. */
#include <stdlib.h>

#include "../t.h"
#include "core/match.h"
#include "core/regex.h"
#include "core_rt.h"

static cc_arena *A;

/* Compiles set (JSON) and matches r; a compile error fails the check. */
static bool M(const char *set, cc_req *r)
{
    cc_err err = {0};
    cc_matchset *m = cc_matchset_compile(A, J(A, set), &err);
    if (!m) {
        fprintf(stderr, "compile %s: %s\n", set, err.msg);
        return false;
    }
    return cc_matchset_match(m, r);
}

/* The compile error of set, or NULL when it compiles. */
static const char *CERR(const char *set)
{
    static cc_err err;
    memset(&err, 0, sizeof(err));
    cc_matchset *m = cc_matchset_compile(A, J(A, set), &err);
    return m ? NULL : err.msg;
}

static bool P(const char *pattern, const char *target)
{
    char *set = cc_arena_printf(A, "{\"path\":[\"%s\"]}", pattern);
    return M(set, R(A, "GET", target, "example.com"));
}

static void test_path(void)
{
    static const struct {
        const char *pat, *target;
        bool want;
    } cases[] = {
        {"/", "/", true},
        {"/", "/foo", false},
        {"/foo", "/foo", true},
        {"/foo", "/FOO", true},
        {"/FOO", "/foo", true},
        {"/foo", "/foo/", false},
        {"/foo", "/foobar", false},
        {"/foo/*", "/foo/bar", true},
        {"/foo/*", "/foo/", true},
        {"/foo/*", "/foo", false},
        {"/foo*", "/foo", true},
        {"/foo*", "/foobar", true},
        {"/foo*", "/foo/x/y", true},
        {"*.php", "/index.php", true},
        {"*.php", "/a/b/c.PHP", true},
        {"*.php", "/x.phpx", false},
        {"*/x/*", "/a/x/b", true},
        {"*/x/*", "/a/y/b", false},
        {"/a/*/c", "/a/b/c", true},
        {"/a/*/c", "/a/b/d/c", false},
        {"/a/?/c", "/a/b/c", true},
        {"/a/[bx]/c", "/a/x/c", true},
        {"/a/[^bx]/c", "/a/x/c", false},
        {"/bar", "/foo/../bar", true},
        {"/bar", "//bar", true},
        {"/foo", "/foo/bar/..", true},
        {"/foo/", "/foo/", true},
        {"//foo", "//foo", true},
        {"//foo", "/foo", false},
        {"/foo%2fbar", "/foo%2Fbar", true},
        {"/foo%2fbar", "/foo/bar", false},
        {"/foo%2fbar", "/foo%2Fbarbaz", false},
        {"/foo/bar", "/foo%2Fbar", true},
        {"/bands/%*/x", "/bands/AC%2FDC/x", true},
        {"/sub%20dir/*", "/sub%20dir/a", true},
        {"*", "/anything/at/all", true},
        {"/a%2A", "/a%2a", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        T_OK(P(cases[i].pat, cases[i].target) == cases[i].want, "path %s vs %s: want %d",
             cases[i].pat, cases[i].target, cases[i].want);

    /* several patterns are OR'ed */
    T_OK(M("{\"path\":[\"/a\",\"/b/*\"]}", R(A, "GET", "/b/c", "x")), "path list OR");
    /* placeholders in patterns (expanded, not lower-cased) */
    cc_req *r = R(A, "GET", "/abc/foo", "x");
    cc_headers_add(A, &r->headers, "X-Dir", "abc");
    T_OK(M("{\"path\":[\"/{http.request.header.X-Dir}/*\"]}", r), "path placeholder");
    T_OK(!M("{\"path\":[\"/{http.request.header.X-Dir}/*\"]}", R(A, "GET", "/abc/foo", "x")),
         "path placeholder empty");
}

static void test_host_method(void)
{
    T_OK(M("{\"host\":[\"example.com\"]}", R(A, "GET", "/", "Example.COM:8080")), "host ci+port");
    T_OK(!M("{\"host\":[\"example.com\"]}", R(A, "GET", "/", "example.org")), "host other");
    T_OK(M("{\"host\":[\"*.example.com\"]}", R(A, "GET", "/", "a.example.com")), "host wild");
    T_OK(!M("{\"host\":[\"*.example.com\"]}", R(A, "GET", "/", "a.b.example.com")),
         "host wild one label");
    T_OK(!M("{\"host\":[\"*.example.com\"]}", R(A, "GET", "/", "example.com")), "host wild apex");
    T_OK(M("{\"host\":[\"::1\"]}", R(A, "GET", "/", "[::1]:80")), "host ipv6");
    T_OK(M("{\"host\":[\"a.com\",\"b.com\"]}", R(A, "GET", "/", "b.com")), "host list");
    setenv("CC_TEST_HOST", "env.example", 1);
    T_OK(M("{\"host\":[\"{env.CC_TEST_HOST}\"]}", R(A, "GET", "/", "ENV.example")),
         "host placeholder");
    T_HAS(CERR("{\"host\":[\"a.com\",\"A.com\"]}"), "host at index 0 is repeated at index 1");
    /* a long list takes the sorted fast path */
    char big[8192] = "{\"host\":[";
    for (int i = 0; i < 150; i++)
        snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s\"h%d.example\"", i ? "," : "",
                 i);
    strcat(big, ",\"*.wild.example\"]}");
    T_OK(M(big, R(A, "GET", "/", "H77.example")), "large host list exact");
    T_OK(M(big, R(A, "GET", "/", "x.wild.example")), "large host list wildcard");
    T_OK(!M(big, R(A, "GET", "/", "h150.example")), "large host list miss");

    T_OK(M("{\"method\":[\"get\"]}", R(A, "GET", "/", "x")), "method upper-cased");
    T_OK(!M("{\"method\":[\"GET\",\"HEAD\"]}", R(A, "POST", "/", "x")), "method miss");
    T_OK(M("{\"method\":[\"GET\"],\"path\":[\"/a\"]}", R(A, "GET", "/a", "x")), "AND both");
    T_OK(!M("{\"method\":[\"GET\"],\"path\":[\"/a\"]}", R(A, "GET", "/b", "x")), "AND one fails");
}

static void test_header_query(void)
{
    cc_req *r = R(A, "GET", "/", "host.example");
    cc_headers_add(A, &r->headers, "X-A", "foo");
    cc_headers_add(A, &r->headers, "x-a", "second");
    T_OK(M("{\"header\":{\"X-A\":[\"foo\"]}}", r), "header exact");
    T_OK(M("{\"header\":{\"x-a\":[\"second\"]}}", r), "header 2nd value, name ci");
    T_OK(M("{\"header\":{\"X-A\":[\"fo*\"]}}", r), "header prefix");
    T_OK(M("{\"header\":{\"X-A\":[\"*ond\"]}}", r), "header suffix");
    T_OK(M("{\"header\":{\"X-A\":[\"*eco*\"]}}", r), "header substring");
    T_OK(M("{\"header\":{\"X-A\":[\"*\"]}}", r), "header any");
    T_OK(!M("{\"header\":{\"X-A\":[\"Foo\"]}}", r), "header case-sensitive value");
    T_OK(M("{\"header\":{\"X-A\":[\"nope\",\"foo\"]}}", r), "header values OR");
    T_OK(M("{\"header\":{\"X-B\":null}}", r), "header absent ok");
    T_OK(!M("{\"header\":{\"X-A\":null}}", r), "header absent fails");
    T_OK(M("{\"header\":{\"X-A\":[]}}", r), "header present");
    T_OK(!M("{\"header\":{\"X-B\":[]}}", r), "header present fails");
    T_OK(M("{\"header\":{\"Host\":[\"host.example\"]}}", r), "header Host from request");
    T_OK(!M("{\"header\":{\"X-A\":[\"foo\"],\"X-B\":[\"x\"]}}", r), "header fields AND");

    T_OK(M("{\"query\":{\"a\":[\"1\"]}}", R(A, "GET", "/?a=1&b=2", "x")), "query eq");
    T_OK(!M("{\"query\":{\"a\":[\"1\"]}}", R(A, "GET", "/?a=2", "x")), "query ne");
    T_OK(M("{\"query\":{\"a\":[\"*\"]}}", R(A, "GET", "/?a=zzz", "x")), "query wildcard");
    T_OK(!M("{\"query\":{\"a\":[\"*\"]}}", R(A, "GET", "/?b=1", "x")), "query key missing");
    T_OK(M("{\"query\":{}}", R(A, "GET", "/", "x")), "empty query matcher, empty query");
    T_OK(!M("{\"query\":{}}", R(A, "GET", "/?a=1", "x")), "empty query matcher, query");
    T_OK(!M("{\"query\":{\"a\":[\"1\"]}}", R(A, "GET", "/?a=1&b=%zz", "x")), "query bad escape");
    T_OK(!M("{\"query\":{\"a\":[\"1\"]}}", R(A, "GET", "/?a=1;b=2", "x")), "query semicolon");
    T_OK(M("{\"query\":{\"q\":[\"a b\"]}}", R(A, "GET", "/?q=a+b", "x")), "query plus");
    T_OK(M("{\"query\":{\"a\":[\"1\"],\"b\":[\"2\"]}}", R(A, "GET", "/?b=2&a=1", "x")),
         "query keys AND");
    T_OK(M("{\"query\":{\"a\":[\"2\"]}}", R(A, "GET", "/?a=1&a=2", "x")), "query multi-value");
}

static void test_regexp(void)
{
    cc_req *r = R(A, "GET", "/x/42/abc", "x");
    T_OK(M("{\"path_regexp\":{\"name\":\"p\",\"pattern\":\"^/x/(?P<id>\\\\d+)(?:/(\\\\w+))?$\"}}",
           r),
         "path_regexp match");
    T_STR(cc_vars_get(&r->vars, "http.regexp.p.0"), "/x/42/abc");
    T_STR(cc_vars_get(&r->vars, "http.regexp.p.1"), "42");
    T_STR(cc_vars_get(&r->vars, "http.regexp.p.id"), "42");
    T_STR(cc_vars_get(&r->vars, "http.regexp.p.2"), "abc");
    T_STR(cc_vars_get(&r->vars, "http.regexp.1"), "42");
    T_STR(cc_vars_get(&r->vars, "http.regexp.id"), "42");
    cc_req *r2 = R(A, "GET", "/x/7", "x");
    T_OK(M("{\"path_regexp\":{\"name\":\"p\",\"pattern\":\"^/x/(?<id>\\\\d+)(?:/(\\\\w+))?$\"}}",
           r2),
         "optional group");
    T_STR(cc_vars_get(&r2->vars, "http.regexp.p.2"), "");
    T_OK(M("{\"path_regexp\":{\"pattern\":\"(?i)^/ABC$\"}}", R(A, "GET", "/abc", "x")), "(?i)");
    T_OK(!M("{\"path_regexp\":{\"pattern\":\"^/ABC$\"}}", R(A, "GET", "/abc", "x")),
         "case-sensitive");
    T_OK(M("{\"path_regexp\":{\"pattern\":\"^\\\\D+$\"}}", R(A, "GET", "/abc", "x")), "\\D");
    T_OK(!M("{\"path_regexp\":{\"pattern\":\"^\\\\D+$\"}}", R(A, "GET", "/a1", "x")), "\\D no");
    T_OK(M("{\"path_regexp\":{\"pattern\":\"^/[\\\\w.-]+$\"}}", R(A, "GET", "/a.b-c_d", "x")),
         "class with escapes");
    T_OK(!M("{\"path_regexp\":{\"pattern\":\"^/[\\\\w.-]+$\"}}", R(A, "GET", "/a%20b", "x")),
         "class miss");
    T_OK(M("{\"path_regexp\":{\"pattern\":\"\\\\.php$\"}}", R(A, "GET", "/i.php", "x")), "\\.");
    T_OK(!M("{\"path_regexp\":{\"pattern\":\"\\\\.php$\"}}", R(A, "GET", "/iXphp", "x")),
         "\\. literal");
    T_OK(M("{\"path_regexp\":{\"pattern\":\"^/a{2,3}$\"}}", R(A, "GET", "/aaa", "x")), "{2,3}");
    T_OK(M("{\"path_regexp\":{\"pattern\":\"^/x{$\"}}", R(A, "GET", "/x{", "x")), "literal brace");
    T_OK(M("{\"path_regexp\":{\"pattern\":\"^/(a|b)+/[^/]+$\"}}", R(A, "GET", "/abba/z", "x")),
         "alternation");
    /* path_regexp sees the cleaned path */
    T_OK(M("{\"path_regexp\":{\"pattern\":\"^/b$\"}}", R(A, "GET", "/a/../b", "x")),
         "regexp cleaned path");

    T_HAS(CERR("{\"path_regexp\":{\"pattern\":\"^/(?=x)\"}}"), "lookaround");
    T_HAS(CERR("{\"path_regexp\":{\"pattern\":\"(a)\\\\1\"}}"), "backreferences");
    T_HAS(CERR("{\"path_regexp\":{\"pattern\":\"^/a.*?b\"}}"), "non-greedy");
    T_HAS(CERR("{\"path_regexp\":{\"pattern\":\"^/(a\"}}"), "missing closing )");
    T_HAS(CERR("{\"path_regexp\":{\"pattern\":\"\\\\pL\"}}"), "Unicode classes");

    cc_req *r3 = R(A, "GET", "/", "x");
    cc_headers_add(A, &r3->headers, "User-Agent", "curl/8.5.0");
    T_OK(M("{\"header_regexp\":{\"User-Agent\":{\"name\":\"ua\",\"pattern\":\"^curl/(\\\\d+)\\\\.("
           "\\\\d+)\"}}}",
           r3),
         "header_regexp");
    T_STR(cc_vars_get(&r3->vars, "http.regexp.ua.2"), "5");
    T_OK(!M("{\"header_regexp\":{\"X-None\":{\"pattern\":\".*\"}}}", r3),
         "header_regexp missing field");

    /* the translation itself */
    cc_err err = {0};
    cc_regex *re = cc_regex_compile(A, "^(?:a)(b)(?P<n>c)$", &err);
    T_OK(re && re->ngroups == 2 && re->nposix == 3, "group renumbering");
    T_OK(re && re->posix_of[1] == 2 && re->posix_of[2] == 3, "posix_of map");
    T_STR(re ? re->names[2] : NULL, "n");
}

static void test_protocol_tls_ip(void)
{
    cc_req *r = R(A, "GET", "/", "x");
    T_OK(M("{\"protocol\":\"http\"}", r), "protocol http");
    T_OK(!M("{\"protocol\":\"https\"}", r), "protocol https");
    T_OK(M("{\"protocol\":\"http/1.1\"}", r), "protocol http/1.1");
    T_OK(M("{\"protocol\":\"http/1.0+\"}", r), "protocol http/1.0+");
    T_OK(!M("{\"protocol\":\"http/2\"}", r), "protocol http/2");
    T_OK(!M("{\"protocol\":\"grpc\"}", r), "protocol grpc");
    cc_headers_add(A, &r->headers, "Content-Type", "application/grpc+proto");
    T_OK(M("{\"protocol\":\"grpc\"}", r), "protocol grpc content-type");
    T_OK(!M("{\"tls\":{}}", r), "tls on plain HTTP");

    T_OK(M("{\"remote_ip\":{\"ranges\":[\"10.0.0.0/8\"]}}", r), "remote_ip cidr");
    T_OK(!M("{\"remote_ip\":{\"ranges\":[\"192.168.0.0/16\"]}}", r), "remote_ip cidr miss");
    T_OK(M("{\"remote_ip\":{\"ranges\":[\"10.1.2.3\"]}}", r), "remote_ip plain");
    T_OK(!M("{\"remote_ip\":{\"ranges\":[\"10.1.2.4\"]}}", r), "remote_ip plain miss");
    T_OK(M("{\"remote_ip\":{\"ranges\":[\"private_ranges\"]}}", r), "private_ranges");
    T_OK(M("{\"remote_ip\":{\"ranges\":[\"10.1.2.0/25\"]}}", r), "remote_ip /25");
    T_OK(!M("{\"remote_ip\":{\"ranges\":[\"10.1.2.128/25\"]}}", r), "remote_ip /25 miss");
    cc_conn c6 = {.remote_ip = "2001:db8::5", .remote_port = 1};
    cc_req *r6 = R(A, "GET", "/", "x");
    r6->conn = &c6;
    T_OK(M("{\"remote_ip\":{\"ranges\":[\"2001:db8::/32\"]}}", r6), "ipv6 cidr");
    T_OK(!M("{\"remote_ip\":{\"ranges\":[\"10.0.0.0/8\"]}}", r6), "ipv6 vs v4 range");
    cc_conn cm = {.remote_ip = "::ffff:10.9.9.9", .remote_port = 1};
    cc_req *rm = R(A, "GET", "/", "x");
    rm->conn = &cm;
    T_OK(M("{\"remote_ip\":{\"ranges\":[\"10.0.0.0/8\"]}}", rm), "v4-mapped unmapped");
    T_HAS(CERR("{\"remote_ip\":{\"ranges\":[\"10.0.0.0/33\"]}}"), "parsing CIDR expression");
    T_HAS(CERR("{\"remote_ip\":{\"ranges\":[\"nope\"]}}"), "invalid IP address");

    cc_req *rc = R(A, "GET", "/", "x");
    T_OK(M("{\"client_ip\":{\"ranges\":[\"10.0.0.0/8\"]}}", rc), "client_ip falls back to peer");
    cc_vars_set(A, &rc->vars, "client_ip", "203.0.113.9");
    T_OK(M("{\"client_ip\":{\"ranges\":[\"203.0.113.0/24\"]}}", rc), "client_ip var");
    T_OK(!M("{\"client_ip\":{\"ranges\":[\"10.0.0.0/8\"]}}", rc), "client_ip var not peer");
}

static void test_not_expr_vars(void)
{
    T_OK(M("{\"not\":[{\"path\":[\"/a\"]}]}", R(A, "GET", "/b", "x")), "not");
    T_OK(!M("{\"not\":[{\"path\":[\"/a\"]}]}", R(A, "GET", "/a", "x")), "not negates");
    T_OK(!M("{\"not\":[{\"path\":[\"/a\"]},{\"method\":[\"POST\"]}]}", R(A, "POST", "/b", "x")),
         "not OR of sets");
    T_OK(M("{\"not\":[{\"path\":[\"/a\"],\"method\":[\"POST\"]}]}", R(A, "POST", "/b", "x")),
         "not of AND set");

    const char *ex = "{\"expression\":\"{http.error.status_code} >= 500 && "
                     "{http.error.status_code} <= 599 || {http.error.status_code} in [404, 410]\"}";
    cc_req *r = R(A, "GET", "/", "x");
    r->err.status = 404;
    T_OK(M(ex, r), "expr in-list");
    r->err.status = 502;
    T_OK(M(ex, r), "expr range");
    r->err.status = 403;
    T_OK(!M(ex, r), "expr miss");
    T_OK(M("{\"expression\":{\"expr\":\"{http.request.method} == 'GET'\"}}", r), "expr string");
    T_HAS(CERR("{\"expression\":\"path('/x') && method('GET')\"}"), "not supported by caddy-c");

    cc_req *rv = R(A, "GET", "/", "x");
    cc_vars_set(A, &rv->vars, "foo", "bar");
    T_OK(M("{\"vars\":{\"foo\":[\"bar\"]}}", rv), "vars");
    T_OK(!M("{\"vars\":{\"foo\":[\"baz\"]}}", rv), "vars miss");
    T_OK(M("{\"vars\":{\"{http.request.method}\":[\"GET\"]}}", rv), "vars placeholder key");
    T_OK(M("{\"vars\":{\"nope\":[\"x\"],\"foo\":[\"bar\"]}}", rv), "vars keys OR");
    T_OK(M("{\"vars\":{\"unset\":[\"\"]}}", rv), "vars unset is empty");
    T_OK(M("{\"vars_regexp\":{\"foo\":{\"name\":\"v\",\"pattern\":\"^b(a)r$\"}}}", rv),
         "vars_regexp");
    T_STR(cc_vars_get(&rv->vars, "http.regexp.v.1"), "a");

    T_HAS(CERR("{\"bogus\":1}"), "unknown module: http.matchers.bogus");
}

static int ext_calls;
static void *ext_compile(cc_arena *a, const cc_cfg *cfg, cc_err *err)
{
    (void)err;
    const char *want = cc_cfg_get_str(cfg, "want");
    return cc_arena_strdup(a, want ? want : "");
}
static bool ext_match(void *state, cc_req *r)
{
    ext_calls++;
    return strcmp(state, r->path) == 0;
}

static void test_extension(void)
{
    static const cc_matcher_impl impl = {"testfile", ext_compile, ext_match};
    cc_matcher_register(&impl);
    T_OK(M("{\"testfile\":{\"want\":\"/here\"}}", R(A, "GET", "/here", "x")), "extension match");
    T_OK(!M("{\"testfile\":{\"want\":\"/here\"}}", R(A, "GET", "/there", "x")), "extension miss");
    T_INT(ext_calls, 2);
}

int main(void)
{
    A = cc_arena_new(0);
    test_path();
    test_host_method();
    test_header_query();
    test_regexp();
    test_protocol_tls_ip();
    test_not_expr_vars();
    test_extension();
    cc_arena_free(A);
    return t_done();
}
