/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for the adapter's pieces: site address parsing (every form and Caddy's
 * errors), specificity, placeholder shorthands, Go-compatible stable sorting, route
 * sorting and grouping, and a few whole adaptations with their error positions. */
#include "../t.h"

#include <stdlib.h>

#include "caddyfile/adapter_priv.h"
#include "core/module.h"
#include "handlers/handlers.h"

static cc_token tok(const char *text)
{
    cc_token t = {0};
    t.file = "Caddyfile";
    t.line = 3;
    t.text = text;
    t.len = strlen(text);
    return t;
}

static void addr_ok(cc_arena *a, const char *in, const char *scheme, const char *host,
                    const char *port, const char *path)
{
    cc_token t = tok(in);
    cc_cf_addr ad;
    cc_err err = {0};
    int rc = cc_cf_parse_address(a, &t, &ad, &err);
    T_OK(rc == CC_OK, "%s: unexpected error %s", in, err.msg);
    if (rc)
        return;
    T_OK(strcmp(ad.scheme, scheme) == 0, "%s: scheme %s want %s", in, ad.scheme, scheme);
    T_OK(strcmp(ad.host, host) == 0, "%s: host %s want %s", in, ad.host, host);
    T_OK(strcmp(ad.port, port) == 0, "%s: port %s want %s", in, ad.port, port);
    T_OK(strcmp(ad.path, path) == 0, "%s: path %s want %s", in, ad.path, path);
}

static void addr_err(cc_arena *a, const char *in, const char *want)
{
    cc_token t = tok(in);
    cc_cf_addr ad;
    cc_err err = {0};
    int rc = cc_cf_parse_address(a, &t, &ad, &err);
    T_OK(rc != CC_OK, "%s: expected an error", in);
    T_HAS(err.msg, want);
    T_HAS(err.msg, "Caddyfile:3: ");
}

static void test_addresses(cc_arena *a)
{
    addr_ok(a, "example.com", "", "example.com", "", "");
    addr_ok(a, "example.com:8080", "", "example.com", "8080", "");
    addr_ok(a, "http://example.com", "http", "example.com", "", "");
    addr_ok(a, "https://example.com:8443/path", "https", "example.com", "8443", "/path");
    addr_ok(a, ":8080", "", "", "8080", "");
    addr_ok(a, "http://", "http", "", "", "");
    addr_ok(a, "https://", "https", "", "", "");
    addr_ok(a, "*.example.com", "", "*.example.com", "", "");
    addr_ok(a, "EXAMPLE.Com", "", "example.com", "", "");
    addr_ok(a, "HTTP://Example.COM", "http", "example.com", "", "");
    addr_ok(a, "[::1]:8080", "", "::1", "8080", "");
    addr_ok(a, "[::1]", "", "::1", "", "");
    addr_ok(a, "::1", "", "::1", "", "");
    addr_ok(a, "[0:0::1]", "", "::1", "", "");
    addr_ok(a, "[2001:DB8:0:0::1]:443", "", "2001:db8::1", "443", "");
    addr_ok(a, "[fe80::1%eth0]:80", "", "fe80::1%eth0", "80", "");
    addr_ok(a, "127.0.0.1", "", "127.0.0.1", "", "");
    addr_ok(a, "127.0.0.1:443", "", "127.0.0.1", "443", "");
    addr_ok(a, "localhost/foo/bar", "", "localhost", "", "/foo/bar");
    addr_ok(a, "/path", "", "", "", "/path");
    addr_ok(a, "example.com:", "", "example.com", "", "");
    addr_ok(a, "{Foo}.EXAMPLE.com", "", "{Foo}.example.com", "", "");
    addr_ok(a, "  example.com  ", "", "example.com", "", "");
    addr_ok(a, "example.com:0", "", "example.com", "0", "");
    addr_ok(a, "example.com:65535", "", "example.com", "65535", "");
    addr_ok(a, "a:b:c", "", "a:b:c", "", "");
    addr_ok(a, "http://:8080/x/", "http", "", "8080", "/x/");
    addr_err(a, "example.com:70000", "port 70000 is out of range");
    addr_err(a, "example.com:65536", "port 65536 is out of range");
    addr_err(a, "example.com:-1", "port -1 is out of range");
    addr_err(a, "example.com:abc", "invalid port 'abc'");
    addr_err(a, "ws://example.com", "the scheme ws:// is only supported in browsers; use http://");
    addr_err(a, "wss://example.com",
             "the scheme wss:// is only supported in browsers; use https://");
    addr_err(a, "ftp://example.com", "unsupported URL scheme ftp://");

    cc_cf_addr ad;
    cc_err err = {0};
    cc_token t = tok("[::1]:8080");
    cc_cf_parse_address(a, &t, &ad, &err);
    T_STR(cc_cf_addr_key(a, &ad), "[::1]:8080");
    T_STR(cc_cf_addr_string(a, &ad), "http://[::1]:8080");
    t = tok("example.com");
    cc_cf_parse_address(a, &t, &ad, &err);
    T_STR(cc_cf_addr_key(a, &ad), "example.com:443");
    T_STR(cc_cf_addr_string(a, &ad), "http://example.com");
    t = tok("http://Example.com:443");
    cc_cf_parse_address(a, &t, &ad, &err);
    T_STR(cc_cf_addr_key(a, &ad), "example.com:443");
    T_STR(cc_cf_addr_string(a, &ad), "http://example.com:443");
    t = tok("http://x");
    cc_cf_parse_address(a, &t, &ad, &err);
    T_STR(cc_cf_addr_key(a, &ad), "x:80");
    t = tok(":8080");
    cc_cf_parse_address(a, &t, &ad, &err);
    T_STR(cc_cf_addr_string(a, &ad), "http://:8080");
}

static void test_specificity(void)
{
    T_INT(cc_cf_specificity("example.com"), 11);
    T_INT(cc_cf_specificity("*.example.com"), 12);
    T_INT(cc_cf_specificity("{http.x}.a.com"), 6);
    T_INT(cc_cf_specificity(""), 0);
    T_INT(cc_cf_specificity("*"), 0);
    T_INT(cc_cf_specificity("/foo*"), 4);
    T_INT(cc_cf_specificity("{unclosed.com"), 13);
}

static void sh(cc_arena *a, const char *in, const char *want)
{
    size_t n = 0;
    T_STR(cc_cf_shorthand_replace(a, in, strlen(in), &n), want);
}

static void test_shorthands(cc_arena *a)
{
    sh(a, "{host}", "{http.request.host}");
    sh(a, "{hostport}{port}", "{http.request.hostport}{http.request.port}");
    sh(a, "https://{host}{uri}", "https://{http.request.host}{http.request.uri}");
    sh(a, "{%uri}|{%path}|{%query}",
       "{http.request.uri_escaped}|{http.request.uri.path_escaped}|"
       "{http.request.uri.query_escaped}");
    sh(a, "{?query}", "{http.request.uri.prefixed_query}");
    sh(a, "{orig_?query}{orig_uri}",
       "{http.request.orig_uri.prefixed_query}{http.request.orig_uri}");
    sh(a, "{dir}/{file}", "{http.request.uri.path.dir}/{http.request.uri.path.file}");
    sh(a, "{remote_host}:{remote_port}", "{http.request.remote.host}:{http.request.remote.port}");
    sh(a, "{tls_client_subject}", "{http.request.tls.client.subject}");
    sh(a, "{upstream_hostport}", "{http.reverse_proxy.upstream.hostport}");
    sh(a, "{client_ip}", "{http.vars.client_ip}");
    sh(a, "{header.X-Forwarded-For}", "{http.request.header.X-Forwarded-For}");
    sh(a, "{cookie.sess_id}", "{http.request.cookie.sess_id}");
    sh(a, "{labels.1}.{path.0}", "{http.request.host.labels.1}.{http.request.uri.path.0}");
    sh(a, "{file.base}", "{http.request.uri.path.file.base}");
    sh(a, "{query.page}", "{http.request.uri.query.page}");
    sh(a, "{re.name.1}", "{http.regexp.name.1}");
    sh(a, "{vars.x}", "{http.vars.x}");
    sh(a, "{rp.upstream.address}", "{http.reverse_proxy.upstream.address}");
    sh(a, "{resp.status_code}", "{http.intercept.status_code}");
    sh(a, "{err.status_code} {err.message}", "{http.error.status_code} {http.error.message}");
    sh(a, "{file_match.relative}", "{http.matchers.file.relative}");
    sh(a, "\\{host}", "\\{http.request.host}");
    sh(a, "{header.a b}", "{header.a b}");
    sh(a, "{vars.a.b}", "{vars.a.b}");
    sh(a, "{unknown} {host}x", "{unknown} {http.request.host}x");
    sh(a, "{host", "{host");
    sh(a, "plain", "plain");
}

static bool int_less(const void *x, const void *y, void *ctx)
{
    (void)ctx;
    return *(const int *)x / 1000 < *(const int *)y / 1000;
}

static void test_sort_stable(void)
{
    /* value = key * 1000 + original index: sorting by key must keep indexes rising */
    int v[97];
    unsigned seed = 7;
    for (int i = 0; i < 97; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = (int)((seed >> 16) % 20) * 1000 + i;
    }
    cc_cf_sort_stable(v, 97, sizeof(int), int_less, NULL);
    bool ok = true;
    for (int i = 1; i < 97; i++) {
        if (v[i - 1] / 1000 > v[i] / 1000)
            ok = false;
        if (v[i - 1] / 1000 == v[i] / 1000 && v[i - 1] % 1000 > v[i] % 1000)
            ok = false;
    }
    T_OK(ok, "stable sort did not sort stably");
}

static cc_cfval route_val(cc_arena *a, const char *dir, const char *path, const char *body)
{
    cc_cfg *r = cc_cfg_obj(a);
    if (path) {
        cc_cfg *set = cc_cfg_obj(a);
        cc_cfg_push_str(a, cc_cfg_child_arr(a, set, "path"), path);
        cc_cfg_push(a, cc_cfg_child_arr(a, r, "match"), set);
    }
    cc_cfg *h = cc_cfg_obj(a);
    cc_cfg_set_str(a, h, "handler", "static_response");
    cc_cfg_set_str(a, h, "body", body);
    cc_cfg_push(a, cc_cfg_child_arr(a, r, "handle"), h);
    cc_cfval v = {"route", r, dir, NULL};
    return v;
}

static const char *body_at(cc_cfg *routes, size_t i, size_t h)
{
    return cc_cfg_get_str(cc_cfg_idx(cc_cfg_get(cc_cfg_idx(routes, i), "handle"), h), "body");
}

static void test_route_sorting(cc_arena *a)
{
    cc_err err = {0};
    cc_adapt ad = {.a = a, .err = &err};
    cc_cfvals vals = {0};
    CC_VEC_PUSH(a, &vals, route_val(a, "respond", NULL, "respond"));
    CC_VEC_PUSH(a, &vals, route_val(a, "handle", "/foo*", "foo*"));
    CC_VEC_PUSH(a, &vals, route_val(a, "handle", NULL, "fallback"));
    CC_VEC_PUSH(a, &vals, route_val(a, "handle", "/foo", "foo"));
    CC_VEC_PUSH(a, &vals, route_val(a, "handle", "/foo/*", "foo/*"));
    CC_VEC_PUSH(a, &vals, route_val(a, "handle", "/api/*", "api"));
    CC_VEC_PUSH(a, &vals, route_val(a, "handle", "/static/*", "static"));
    CC_VEC_PUSH(a, &vals, route_val(a, "header", NULL, "header"));
    cc_cfg *routes = NULL;
    T_INT(cc_cf_build_routes(&ad, &vals, true, &err, NULL, &routes), CC_OK);
    T_INT(cc_cfg_len(routes), 8);
    T_STR(body_at(routes, 0, 0), "header");
    T_STR(body_at(routes, 1, 0), "static");
    T_STR(body_at(routes, 2, 0), "api"); /* "/api/" and "/foo/": same length, lexical */
    T_STR(body_at(routes, 3, 0), "foo/*");
    T_STR(body_at(routes, 4, 0), "foo");
    T_STR(body_at(routes, 5, 0), "foo*");
    T_STR(body_at(routes, 6, 0), "fallback");
    T_STR(body_at(routes, 7, 0), "respond");
    /* the handle routes share one group */
    T_STR(cc_cfg_get_str(cc_cfg_idx(routes, 1), "group"), "group0");
    T_STR(cc_cfg_get_str(cc_cfg_idx(routes, 6), "group"), "group0");
    T_OK(cc_cfg_get(cc_cfg_idx(routes, 0), "group") == NULL, "header got a group");
    T_INT(ad.group_counter, 2); /* handle group + the rewrite group Caddy always takes */

    /* vars: least specific first, equal ones reversed (as Caddy 2.11 does) */
    cc_cfvals vv = {0};
    CC_VEC_PUSH(a, &vv, route_val(a, "vars", "/foobar", "last"));
    CC_VEC_PUSH(a, &vv, route_val(a, "vars", "/foo", "middle"));
    CC_VEC_PUSH(a, &vv, route_val(a, "vars", NULL, "a"));
    CC_VEC_PUSH(a, &vv, route_val(a, "vars", NULL, "b"));
    T_INT(cc_cf_build_routes(&ad, &vv, true, &err, NULL, &routes), CC_OK);
    T_INT(cc_cfg_len(routes), 3); /* the two unmatched ones are consolidated */
    T_STR(body_at(routes, 0, 0), "b");
    T_STR(body_at(routes, 0, 1), "a");
    T_STR(body_at(routes, 1, 0), "middle");
    T_STR(body_at(routes, 2, 0), "last");

    /* unordered directives are rejected when sorting */
    cc_cfvals bad = {0};
    cc_token dt = tok("frobnicate");
    cc_cfval b = route_val(a, "frobnicate", NULL, "x");
    b.tok = &dt;
    CC_VEC_PUSH(a, &bad, b);
    T_INT(cc_cf_build_routes(&ad, &bad, true, &err, NULL, &routes), CC_ERR);
    T_HAS(err.msg, "Caddyfile:3: directive 'frobnicate' is not an ordered HTTP handler");
}

static const char *adapt(cc_arena *a, const char *src, cc_err *err)
{
    cc_cfg *out = NULL;
    cc_warns w = {.a = a};
    memset(err, 0, sizeof(*err));
    if (cc_cf_adapt(a, "Caddyfile", src, strlen(src), &out, &w, err))
        return NULL;
    char *j = cc_cfg_to_json(out, false, NULL);
    char *r = cc_arena_strdup(a, j);
    free(j);
    return r;
}

static void test_adapt(cc_arena *a)
{
    cc_err err;
    /* a large max_header_size is accepted with a warning on what it costs */
    cc_warns hw = {.a = a};
    cc_cfg *hcfg = NULL;
    const char *big = "{\n\tservers {\n\t\tmax_header_size 1MB\n\t}\n}\n:80\n";
    memset(&err, 0, sizeof(err));
    T_INT(cc_cf_adapt(a, "Caddyfile", big, strlen(big), &hcfg, &hw, &err), CC_OK);
    T_INT(hw.list.n, 1);
    T_HAS(hw.list.n ? hw.list.v[0] : "", "Caddyfile:3: max_header_size 1MB: libmicrohttpd clears");
    cc_warns lw = {.a = a};
    const char *small = "{\n\tservers {\n\t\tmax_header_size 64KB\n\t}\n}\n:80\n";
    T_INT(cc_cf_adapt(a, "Caddyfile", small, strlen(small), &hcfg, &lw, &err), CC_OK);
    T_INT(lw.list.n, 0);
    T_OK(adapt(a, "example.com\nfrobnicate x\n", &err) == NULL, "unknown directive accepted");
    T_HAS(err.msg, "Caddyfile:2: unrecognized directive: frobnicate\nDid you mean to define a "
                   "second site?");
    T_OK(adapt(a, "example.com {\n\tfrobnicate x\n}\n", &err) == NULL, "unknown directive");
    T_STR(err.msg, "Caddyfile:2: unrecognized directive: frobnicate");
    T_OK(adapt(a, ":80 {\n\thandle {\n\t\tnope\n\t}\n}\n", &err) == NULL, "nested unknown");
    T_HAS(err.msg, "Caddyfile:3: unrecognized directive: nope - are you sure your Caddyfile "
                   "structure (nesting and braces) is correct?");
    T_OK(adapt(a, ":80 {\n\t@a path /a\n\t@a path /b\n}\n", &err) == NULL, "dup matcher");
    T_STR(err.msg, "Caddyfile:3: matcher is defined more than once: @a");
    T_OK(adapt(a, ":80 {\n\thandle @nope {\n\t}\n}\n", &err) == NULL, "unknown matcher");
    T_STR(err.msg, "Caddyfile:2: unrecognized matcher name: @nope");
    T_OK(adapt(a, ":80 {\n\thandle_path api/* {\n\t}\n}\n", &err) == NULL, "handle_path");
    T_STR(err.msg, "Caddyfile:2: path matcher must begin with '/', got api/*");
    T_OK(adapt(a, "a.com {\n}\nb.com, a.com {\n}\n", &err) == NULL, "ambiguous");
    T_HAS(err.msg, "ambiguous site definition: a.com");
    T_OK(adapt(a, ":80 {\n\thandle_errors 4x4 {\n\t}\n}\n", &err) == NULL, "bad status");
    T_STR(err.msg, "Caddyfile:2: bad status value '4x4': strconv.Atoi: parsing \"4x4\": invalid "
                   "syntax");
    T_OK(adapt(a, ":80 {\n\t@r remote_ip 10.0.0.0/33\n}\n", &err) == NULL, "bad cidr");
    T_HAS(err.msg, "Caddyfile:2: parsing CIDR expression '10.0.0.0/33'");
    T_OK(adapt(a, ":80 {\n\t@r path_regexp (abc\n}\n", &err) == NULL, "bad regexp");
    T_HAS(err.msg, "Caddyfile:2: error parsing regexp: missing closing )");
    T_OK(adapt(a, ":80 {\n\t@r foo bar\n}\n", &err) == NULL, "unknown matcher type");
    T_HAS(err.msg, "Caddyfile:2: getting matcher module 'foo'");
    T_OK(adapt(a, ":80 {\n\tinvoke nowhere\n}\n", &err) == NULL, "undefined named route");
    T_HAS(err.msg, "cannot invoke named route 'nowhere', which was not defined");

    const char *j = adapt(a, "", &err);
    T_STR(j, "{}");
    j = adapt(a, ":80 {\n}\n", &err);
    T_STR(j, "{\"apps\":{\"http\":{\"servers\":{\"srv0\":{\"listen\":[\":80\"]}}}}}");
    j = adapt(a, "example.com {\n}\n", &err);
    T_HAS(j, "\"routes\":[{\"match\":[{\"host\":[\"example.com\"]}],\"terminal\":true}]");
}

int main(void)
{
    cc_modules_set(cc_handler_modules);
    cc_arena *a = cc_arena_new(0);
    test_addresses(a);
    test_specificity();
    test_shorthands(a);
    test_sort_stable();
    test_route_sorting(a);
    test_adapt(a);
    cc_arena_free(a);
    return t_done();
}
