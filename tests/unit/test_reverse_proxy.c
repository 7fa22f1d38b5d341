/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for the reverse_proxy, copy_response and copy_response_headers Caddyfile
 * parsers, run on lexed tokens with a minimal adapter state: upstream address forms and
 * their errors, every subdirective group, and the exact Caddy error texts. */
#include <stdlib.h>
#include <string.h>

#include "../../caddyfile/adapt_internal.h"
#include "../../caddyfile/lexer.h"
#include "../../handlers/handlers.h"
#include "../t.h"

extern const cc_module cc_mod_reverse_proxy, cc_mod_copy_response, cc_mod_copy_response_headers;

static cc_arena *A;
static cc_err E;
static cc_warns W;
static cc_adapt AD;

/* Runs a handler module on src; returns its compact JSON or "ERR: <message>". */
static const char *run(const cc_module *m, const char *src)
{
    cc_tokvec toks = {0};
    cc_err_clear(&E);
    if (cc_cf_lex(A, "Caddyfile", src, strlen(src), &toks, &E) != CC_OK)
        return cc_arena_printf(A, "LEX: %s", E.msg);
    cc_helper h = {0};
    h.d = cc_disp_new(A, toks.v, toks.n, &E);
    h.a = A;
    h.err = &E;
    h.ad = &AD;
    h.mdefs = cc_cf_mscope_new(A, NULL);
    cc_cfg *v = m->parse_handler(&h);
    if (!v)
        return cc_arena_printf(A, "ERR: %s", E.msg);
    char *js = cc_cfg_to_json(v, false, NULL);
    const char *out = cc_arena_strdup(A, js);
    free(js);
    return out;
}

static const char *rp(const char *src)
{
    return run(&cc_mod_reverse_proxy, src);
}

/* Error substring check. */
#define T_ERR(src, want) T_HAS(rp(src), want)

static void test_upstreams(void)
{
    T_STR(rp("reverse_proxy localhost:8080 :9000 example.com [::1]:81 ::1"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"localhost:8080\"},"
          "{\"dial\":\":9000\"},{\"dial\":\"example.com:80\"},{\"dial\":\"[::1]:81\"},"
          "{\"dial\":\"[::1]:80\"}]}");
    T_STR(rp("reverse_proxy http://a https://b:8443"),
          "ERR: Caddyfile:1: parsing upstream 'https://b:8443': for now, all proxy upstreams "
          "must use the same scheme (transport protocol); expecting 'http://' but got "
          "'https://'");
    T_STR(rp("reverse_proxy https://a"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"a:443\"}],"
          "\"transport\":{\"protocol\":\"http\",\"tls\":{}}}");
    T_STR(rp("reverse_proxy h2c://a"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"a:80\"}],"
          "\"transport\":{\"protocol\":\"http\",\"versions\":[\"h2c\",\"2\"]}}");
    T_STR(rp("reverse_proxy unix+h2c//run/x.sock"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"unix//run/x.sock\"}],"
          "\"transport\":{\"protocol\":\"http\",\"versions\":[\"h2c\",\"2\"]}}");
    T_STR(rp("reverse_proxy x:8001-8003"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"x:8001\"},{\"dial\":"
          "\"x:8002\"},{\"dial\":\"x:8003\"}]}");
    T_STR(rp("reverse_proxy https://x:8001-8002"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"x:8001\"},{\"dial\":"
          "\"x:8002\"}],\"transport\":{\"protocol\":\"http\",\"tls\":{}}}");
    T_STR(rp("reverse_proxy {up} h:{p} {a}:{b}"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"{up}\"},{\"dial\":"
          "\"h:{p}\"},{\"dial\":\"{a}:{b}\"}]}");
    T_HAS(rp("reverse_proxy x:9-8"), "end port must not be less than start port");
    T_HAS(rp("reverse_proxy http://x:1-2-3"), "port range invalid: 1-2-3");
    T_HAS(rp("reverse_proxy https://x:80"), "conflicting scheme (https://) and port (:80");
    T_HAS(rp("reverse_proxy h2c://x:443"), "conflicting scheme (h2c://) and port (:443");
    T_HAS(rp("reverse_proxy http://x?a=b"), "only support scheme, host, and port components");
    T_HAS(rp("reverse_proxy ws://x"), "the scheme ws:// is only supported in browsers");
    T_HAS(rp("reverse_proxy ftp://x"), "unsupported URL scheme ftp://");
    T_HAS(rp("reverse_proxy x:abc"),
          "invalid start port: strconv.ParseUint: parsing \"abc\": invalid syntax");
    T_HAS(rp("reverse_proxy unix//x.sock|0400"), "owner of the socket requires '-w-'");
    T_STR(rp("reverse_proxy unix//x.sock|0600"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"unix//x.sock|0600\"}]}");
    T_STR(rp("reverse_proxy {\n to\n}"),
          "ERR: Caddyfile:2: wrong argument count or unexpected line ending after 'to'");
}

static void test_dynamic(void)
{
    T_STR(rp("reverse_proxy {\n dynamic a x 80 {\n versions ipv6 ipv4\n }\n}"),
          "{\"handler\":\"reverse_proxy\",\"dynamic_upstreams\":{\"source\":\"a\",\"name\":\"x\","
          "\"port\":\"80\",\"versions\":{\"ipv6\":true,\"ipv4\":true}}}");
    T_HAS(rp("reverse_proxy {\n dynamic a x {\n name y\n }\n}"),
          "Caddyfile:3: a name has already been specified");
    T_HAS(rp("reverse_proxy {\n dynamic srv {\n bogus\n }\n}"),
          "Caddyfile:3: unrecognized srv option 'bogus'");
    T_HAS(rp("reverse_proxy {\n dynamic k8s\n}"),
          "module not registered: http.reverse_proxy.upstreams.k8s");
    T_HAS(rp("reverse_proxy {\n dynamic srv {\n refresh 5q\n }\n}"),
          "parsing refresh interval duration: time: unknown unit \"q\" in duration \"5q\"");
    T_HAS(rp("reverse_proxy {\n dynamic multi x\n}"), "wrong argument count");
}

static void test_lb(void)
{
    T_STR(rp("reverse_proxy a:1 {\n lb_policy cookie c s {\n max_age 90s\n fallback "
             "header X {\n fallback first\n }\n }\n}"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"a:1\"}],\"load_balancing\":"
          "{\"selection_policy\":{\"policy\":\"cookie\",\"name\":\"c\",\"secret\":\"s\","
          "\"max_age\":90000000000,\"fallback\":{\"policy\":\"header\",\"field\":\"X\","
          "\"fallback\":{\"policy\":\"first\"}}}}}");
    T_STR(rp("reverse_proxy a:1 {\n lb_retries 0\n}"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"a:1\"}],"
          "\"load_balancing\":{}}");
    T_HAS(rp("reverse_proxy a:1 {\n lb_policy first\n lb_policy random\n}"),
          "Caddyfile:3: load balancing selection policy already specified");
    T_HAS(rp("reverse_proxy a:1 {\n lb_policy random x\n}"), "wrong argument count");
    T_HAS(rp("reverse_proxy a:1 {\n lb_policy cookie a b c\n}"), "wrong argument count");
    T_HAS(rp("reverse_proxy a:1 {\n lb_policy cookie {\n max_age 0s\n }\n}"),
          "invalid duration: 0s, max_age should be non-zero and positive");
    T_HAS(rp("reverse_proxy a:1 {\n lb_policy query {\n fallback first\n }\n}"),
          "wrong argument count");
    T_HAS(rp("reverse_proxy a:1 {\n lb_policy query k {\n sticky\n }\n}"),
          "unrecognized option 'sticky'");
    T_HAS(rp("reverse_proxy a:1 {\n lb_policy random_choose two\n}"),
          "invalid choice value 'two': strconv.Atoi: parsing \"two\": invalid syntax");
    T_HAS(rp("reverse_proxy a:1 {\n lb_retries x\n}"),
          "bad lb_retries number 'x': strconv.Atoi: parsing \"x\": invalid syntax");
    T_HAS(rp("reverse_proxy a:1 {\n lb_try_interval 1y\n}"), "bad interval value '1y'");
    T_STR(rp("reverse_proxy a:1 {\n lb_retry_match method GET\n}"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"a:1\"}],\"load_balancing\":"
          "{\"retry_match\":[{\"method\":[\"GET\"]}]}}");
}

static void test_health(void)
{
    T_STR(rp("reverse_proxy a:1 {\n health_uri /h\n health_status 503\n max_fails 0\n}"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"a:1\"}],\"health_checks\":"
          "{\"active\":{\"uri\":\"/h\",\"expect_status\":503},\"passive\":{}}}");
    T_HAS(rp("reverse_proxy a:1 {\n health_upstream nope\n}"),
          "health_upstream is malformed 'nope': address nope: missing port in address");
    T_HAS(rp("reverse_proxy a:1 {\n health_upstream h:x\n}"),
          "bad port number 'h:x': strconv.Atoi: parsing \"x\": invalid syntax");
    T_HAS(rp("reverse_proxy a:1 {\n health_follow_redirects yes\n}"), "wrong argument count");
    T_HAS(rp("reverse_proxy a:1 {\n unhealthy_status 500 5x1\n}"),
          "bad status value '5x1': strconv.Atoi: parsing \"5x1\": invalid syntax");
    T_HAS(rp("reverse_proxy a:1 {\n health_interval 1 \n}"),
          "bad interval value 1: time: missing unit in duration \"1\"");
    T_HAS(rp("reverse_proxy a:1 {\n health_passes many\n}"), "invalid passes count 'many'");
}

static void test_transport(void)
{
    T_STR(rp("reverse_proxy a:1 {\n transport http {\n }\n}"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"a:1\"}]}");
    T_STR(rp("reverse_proxy a:1 {\n transport http {\n keepalive_idle_conns 0\n }\n}"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"a:1\"}],\"transport\":"
          "{\"protocol\":\"http\",\"keep_alive\":{}}}");
    T_STR(rp("reverse_proxy https://a {\n transport http {\n versions 2\n }\n}"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"a:443\"}],\"transport\":"
          "{\"protocol\":\"http\",\"versions\":[\"2\"],\"tls\":{}}}");
    T_STR(rp("reverse_proxy a:1 {\n transport http {\n tls_trust_pool inline {\n trust_der "
             "MIIB\n }\n network_proxy none\n }\n}"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"a:1\"}],\"transport\":"
          "{\"protocol\":\"http\",\"tls\":{\"ca\":{\"provider\":\"inline\",\"trusted_ca_certs\":"
          "[\"MIIB\"]}},\"network_proxy\":{\"from\":\"none\"}}}");
    T_HAS(rp("reverse_proxy a:1 {\n transport http {\n tls_trusted_ca_certs x.pem\n "
             "tls_trust_pool file y.pem\n }\n}"),
          "Caddyfile:4: cannot specify both 'tls_trust_pool' and 'tls_trusted_ca_certs'");
    T_HAS(rp("reverse_proxy a:1 {\n transport http {\n tls_trust_pool pki_root\n }\n}"),
          "no authorities specified");
    T_HAS(rp("reverse_proxy a:1 {\n transport http {\n tls_trust_pool nope\n }\n}"),
          "module not registered: tls.ca_pool.source.nope");
    T_HAS(rp("reverse_proxy a:1 {\n transport http\n transport http\n}"),
          "Caddyfile:3: transport already specified");
    T_HAS(rp("reverse_proxy a:1 {\n transport grpc\n}"),
          "getting module named 'http.reverse_proxy.transport.grpc': module not registered");
    T_HAS(rp("reverse_proxy a:1 {\n transport http {\n proxy_protocol v3\n }\n}"),
          "invalid proxy protocol version 'v3'");
    T_HAS(rp("reverse_proxy a:1 {\n transport http {\n tls_renegotiation always\n }\n}"),
          "wrong argument count");
    T_HAS(rp("reverse_proxy a:1 {\n transport http {\n read_buffer lots\n }\n}"),
          "invalid read buffer size 'lots'");
    T_HAS(rp("reverse_proxy a:1 {\n transport http {\n resolvers\n }\n}"),
          "must specify at least one resolver address");
    T_HAS(rp("reverse_proxy a:1 {\n transport http {\n network_proxy socks\n }\n}"),
          "module not registered: caddy.network_proxy.socks");
}

static void test_response(void)
{
    T_STR(
        rp("reverse_proxy a:1 {\n header_up Host {host}\n header_down -Server\n}"),
        "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"a:1\"}],\"headers\":"
        "{\"request\":{\"set\":{\"Host\":[\"{host}\"]}},\"response\":{\"delete\":[\"Server\"]}}}");
    T_HAS(rp("reverse_proxy a:1 {\n header_down ?X y\n}"),
          "?X: the default header modifier ('?') can only be used on response headers");
    T_HAS(rp("reverse_proxy a:1 {\n header_up\n}"), "wrong argument count");
    T_HAS(rp("reverse_proxy a:1 {\n header_up a b c d\n}"), "wrong argument count");
    T_STR(rp("reverse_proxy a:1 {\n @e status 5xx\n replace_status @e 503\n replace_status "
             "{x}\n}"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"a:1\"}],\"handle_response\":"
          "[{\"match\":{\"status_code\":[5]},\"status_code\":503},{\"status_code\":\"{x}\"}]}");
    T_HAS(rp("reverse_proxy a:1 {\n replace_status e 503\n}"),
          "must use a named response matcher, starting with '@'");
    T_HAS(rp("reverse_proxy a:1 {\n replace_status\n}"), "must have one or two arguments");
    T_HAS(rp("reverse_proxy a:1 {\n replace_status 200 {\n x\n }\n}"),
          "cannot define routes for 'replace_status', use 'handle_response' instead.");
    T_HAS(rp("reverse_proxy a:1 {\n @m bogus 1\n}"), "unrecognized response matcher bogus");
    T_HAS(rp("reverse_proxy a:1 {\n handle_response @nope {\n }\n}"),
          "no named response matcher defined with name 'nope'");
    T_STR(rp("reverse_proxy a:1 {\n method GET\n rewrite /x\n}"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"a:1\"}],\"rewrite\":"
          "{\"method\":\"GET\",\"uri\":\"/x\"}}");
    T_HAS(rp("reverse_proxy a:1 {\n rewrite /x /y\n}"), "wrong argument count");
    T_HAS(rp("reverse_proxy a:1 {\n verbose_logs\n verbose_logs\n}"),
          "Caddyfile:3: verbose_logs already specified");
    T_HAS(rp("reverse_proxy a:1 {\n flush_interval soon\n}"), "bad duration value 'soon'");
    T_STR(rp("reverse_proxy a:1 {\n flush_interval 100\n stream_buffer_size unlimited\n}"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"a:1\"}],"
          "\"flush_interval\":100,\"stream_buffer_size\":-1}");
    T_HAS(rp("reverse_proxy a:1 {\n request_buffers 1k 2k\n}"), "wrong argument count");
    T_HAS(rp("reverse_proxy a:1 {\n nope\n}"), "Caddyfile:2: unrecognized subdirective nope");
}

static void test_handle_response(void)
{
    T_STR(rp("reverse_proxy a:1 {\n handle_response {\n respond 502\n }\n handle_response @ok {\n "
             "copy_response\n header X y\n }\n @ok status 200\n}"),
          "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"a:1\"}],\"handle_response\":"
          "[{\"match\":{\"status_code\":[200]},\"routes\":[{\"handle\":[{\"handler\":\"headers\","
          "\"response\":{\"set\":{\"X\":[\"y\"]}}},{\"handler\":\"copy_response\"}]}]},"
          "{\"routes\":[{\"handle\":[{\"handler\":\"static_response\",\"status_code\":502}]}]}]}");
    T_HAS(rp("reverse_proxy a:1 {\n handle_response {\n bogus\n }\n}"),
          "unrecognized directive: bogus");
}

static void test_warnings(void)
{
    size_t before = W.list.n;
    rp("reverse_proxy a:1 {\n health_path /x\n header_up X-Forwarded-For {remote_host}\n}");
    T_INT(W.list.n - before, 2);
    if (W.list.n - before == 2) {
        T_HAS(W.list.v[before], "Caddyfile:2: the 'health_path' subdirective is deprecated");
        T_HAS(W.list.v[before + 1], "Caddyfile:3: Unnecessary header_up X-Forwarded-For");
    }
    before = W.list.n;
    rp("reverse_proxy https://a {\n header_up Host {http.reverse_proxy.upstream.hostport}\n}");
    T_INT(W.list.n - before, 1);
}

static void test_copy_response(void)
{
    T_STR(run(&cc_mod_copy_response, "copy_response 404"),
          "{\"handler\":\"copy_response\",\"status_code\":404}");
    T_STR(run(&cc_mod_copy_response, "copy_response {\n status {x}\n}"),
          "{\"handler\":\"copy_response\",\"status_code\":\"{x}\"}");
    T_STR(run(&cc_mod_copy_response, "copy_response"), "{\"handler\":\"copy_response\"}");
    T_HAS(run(&cc_mod_copy_response, "copy_response {\n code 1\n}"),
          "unrecognized subdirective 'code'");
    T_STR(run(&cc_mod_copy_response_headers, "copy_response_headers {\n include A B\n exclude "
                                             "C\n include D\n}"),
          "{\"handler\":\"copy_response_headers\",\"include\":[\"A\",\"B\",\"D\"],\"exclude\":"
          "[\"C\"]}");
    T_HAS(run(&cc_mod_copy_response_headers, "copy_response_headers x"), "wrong argument count");
}

int main(void)
{
    A = cc_arena_new(0);
    W.a = A;
    AD.a = A;
    AD.err = &E;
    AD.warns = &W;
    AD.opts = cc_cfg_obj(A);
    AD.order = cc_cf_default_order;
    cc_modules_set(cc_handler_modules);
    test_upstreams();
    test_dynamic();
    test_lb();
    test_health();
    test_transport();
    test_response();
    test_handle_response();
    test_warnings();
    test_copy_response();
    cc_arena_free(A);
    return t_done();
}
