/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for the basic handler directives' Caddyfile parsers (respond, redir, uri,
 * method, vars, error, abort, request_body) and their shared helpers (Go value typing,
 * header ops, response matchers), run directly on lexed tokens without the adapter. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../caddyfile/helper.h"
#include "../../caddyfile/lexer.h"
#include "../../handlers/goval.h"
#include "../../handlers/headerops.h"
#include "../t.h"

extern const cc_module cc_mod_respond, cc_mod_redir, cc_mod_uri, cc_mod_method, cc_mod_vars,
    cc_mod_error, cc_mod_abort, cc_mod_request_body;

static cc_arena *A;
static cc_err E;

static cc_disp *disp_of(const char *src)
{
    cc_tokvec toks = {0};
    cc_err_clear(&E);
    if (cc_cf_lex(A, "Caddyfile", src, strlen(src), &toks, &E) != CC_OK)
        return NULL;
    return cc_disp_new(A, toks.v, toks.n, &E);
}

/* Runs a handler module on src; returns its JSON or "ERR: <message>". */
static const char *run(const cc_module *m, const char *src)
{
    cc_helper h = {0};
    h.d = disp_of(src);
    h.a = A;
    h.err = &E;
    cc_cfg *v = m->parse_handler(&h);
    if (!v)
        return cc_arena_printf(A, "ERR: %s", E.msg);
    char *js = cc_cfg_to_json(v, false, NULL);
    const char *out = cc_arena_strdup(A, js);
    free(js);
    return out;
}

static const char *json(const cc_cfg *v)
{
    char *js = cc_cfg_to_json(v, false, NULL);
    const char *out = cc_arena_strdup(A, js);
    free(js);
    return out;
}

static void test_goval(void)
{
    int64_t i;
    T_OK(cc_go_atoi("+42", &i) && i == 42, "atoi +42");
    T_OK(cc_go_atoi("-007", &i) && i == -7, "atoi -007");
    T_OK(!cc_go_atoi("", &i) && !cc_go_atoi("+", &i) && !cc_go_atoi("1_0", &i), "atoi bad");
    T_OK(!cc_go_atoi("99999999999999999999", &i), "atoi range");
    T_STR(cc_go_atoi_err(A, "x1"), "strconv.Atoi: parsing \"x1\": invalid syntax");
    T_STR(cc_go_atoi_err(A, "99999999999999999999"),
          "strconv.Atoi: parsing \"99999999999999999999\": value out of range");
    double d;
    T_OK(cc_go_parse_float("1e3", &d) && d == 1000, "float 1e3");
    T_OK(cc_go_parse_float(".5", &d) && d == 0.5, "float .5");
    T_OK(cc_go_parse_float("0x1p4", &d) && d == 16, "float hex");
    T_OK(cc_go_parse_float("1_000.5", &d) && d == 1000.5, "float underscores");
    T_OK(cc_go_parse_float("-Inf", &d) && isinf(d), "float inf");
    T_OK(cc_go_parse_float("nan", &d) && isnan(d), "float nan");
    T_OK(!cc_go_parse_float("0x10", &d), "hex needs p exponent");
    T_OK(!cc_go_parse_float("1e", &d) && !cc_go_parse_float("1__0", &d), "float bad");
    T_OK(!cc_go_parse_float("_1", &d) && !cc_go_parse_float("1e400", &d), "float bad 2");
    T_OK(!cc_go_parse_float("+nan", &d) && !cc_go_parse_float("infin", &d), "float bad 3");
    bool b;
    T_OK(cc_go_parse_bool("T", &b) && b, "bool T");
    T_OK(cc_go_parse_bool("False", &b) && !b, "bool False");
    T_OK(!cc_go_parse_bool("yes", &b), "bool yes");
    T_STR(json(cc_go_weak_string(A, "404")), "404");
    T_STR(json(cc_go_weak_string(A, "true")), "true");
    T_STR(json(cc_go_weak_string(A, "{x}")), "\"{x}\"");
    cc_token t = {.text = "12", .len = 2};
    T_STR(json(cc_go_scalar(A, &t)), "12");
    t.quote = CC_TOK_DQUOTE;
    T_STR(json(cc_go_scalar(A, &t)), "\"12\"");
    cc_token f = {.text = "f", .len = 1};
    T_STR(json(cc_go_scalar(A, &f)), "false");
    cc_token e3 = {.text = "1e3", .len = 3};
    T_STR(json(cc_go_scalar(A, &e3)), "1000");
    cc_token nan = {.text = "NaN", .len = 3};
    T_STR(json(cc_go_scalar(A, &nan)), "\"NaN\"");
}

static void test_headerops(void)
{
    T_STR(cc_hdr_canonical_key(A, "x-forwarded-FOR"), "X-Forwarded-For");
    T_STR(cc_hdr_canonical_key(A, "{http.x}"), "{http.x}");
    T_STR(cc_hdr_canonical_key(A, "foo:"), "foo:");
    T_STR(cc_hdr_canonical_key(A, "x-debug-*"), "X-Debug-*");

    cc_cfg *ops = cc_cfg_obj(A);
    T_OK(!cc_hdr_apply_op(A, ops, ops, "+vary", "a", NULL), "add");
    T_OK(!cc_hdr_apply_op(A, ops, ops, "+Vary", "b", NULL), "add 2");
    T_OK(!cc_hdr_apply_op(A, ops, ops, "-server", "", NULL), "delete");
    T_OK(!cc_hdr_apply_op(A, ops, ops, "?x-a", "1", NULL), "default");
    T_OK(!cc_hdr_apply_op(A, ops, ops, ">>loc", "^a", "b"), "replace");
    T_STR(json(ops), "{\"add\":{\"Vary\":[\"a\",\"b\"]},\"delete\":[\"server\"],\"deferred\":true,"
                     "\"require\":{\"headers\":{\"x-a\":null}},\"set\":{\"X-A\":[\"1\"]},"
                     "\"replace\":{\"loc\":[{\"search_regexp\":\"^a\",\"replace\":\"b\"}]}}");
    cc_cfg *req = cc_cfg_obj(A);
    T_HAS(cc_hdr_apply_op(A, req, NULL, "?x", "1", NULL), "?x: the default header modifier");
    T_OK(!cc_hdr_apply_op(A, req, NULL, ">x", "1", NULL), "request set with >");
    T_STR(json(req), "{\"set\":{\"X\":[\"1\"]}}");

    cc_cfg *m = NULL;
    T_OK(cc_hdr_parse_response_matcher(
             disp_of("@m {\n status 2xx 404\n header content-type text/*\n header !X-A\n}"), &m) ==
             CC_OK,
         "response matcher");
    T_STR(json(m), "{\"status_code\":[2,404],\"headers\":{\"Content-Type\":[\"text/*\"],"
                   "\"X-A\":null}}");
    T_OK(cc_hdr_parse_response_matcher(disp_of("match status 200"), &m) == CC_OK, "inline");
    T_STR(json(m), "{\"status_code\":[200]}");
    T_OK(cc_hdr_parse_response_matcher(disp_of("m {\n header X\n}"), &m) == CC_ERR, "bad");
    T_STR(E.msg, "Caddyfile:2: malformed header matcher: expected both field and value");
    T_OK(cc_hdr_parse_response_matcher(disp_of("m {\n status\n}"), &m) == CC_ERR, "bad 2");
    T_HAS(E.msg, "Caddyfile:2: wrong argument count");
}

static void test_respond_error_abort(void)
{
    T_STR(run(&cc_mod_respond, "respond 404"),
          "{\"handler\":\"static_response\",\"status_code\":404}");
    T_STR(run(&cc_mod_respond, "respond 4044"),
          "{\"handler\":\"static_response\",\"body\":\"4044\"}");
    T_STR(run(&cc_mod_respond, "respond \"\" 200 {\n body hi\n close\n}"),
          "{\"handler\":\"static_response\",\"status_code\":200,\"body\":\"hi\",\"close\":true}");
    T_STR(run(&cc_mod_respond, "respond \"\" 200 {\n body a b\n}"),
          "ERR: Caddyfile:2: wrong argument count or unexpected line ending after 'a'");
    T_STR(run(&cc_mod_respond, "respond \"\" 200 {\n body\n}"),
          "ERR: Caddyfile:2: wrong argument count or unexpected line ending after 'body'");
    T_STR(run(&cc_mod_error, "error 403"), "{\"handler\":\"error\",\"status_code\":403}");
    T_STR(run(&cc_mod_error, "error boom {err.code}"),
          "{\"handler\":\"error\",\"error\":\"boom\",\"status_code\":\"{err.code}\"}");
    T_STR(run(&cc_mod_error, "error a b c"),
          "ERR: Caddyfile:1: wrong argument count or unexpected line ending after 'c'");
    T_STR(run(&cc_mod_abort, "abort"), "{\"handler\":\"static_response\",\"abort\":true}");
    T_STR(run(&cc_mod_abort, "abort\nrespond"),
          "ERR: Caddyfile:2: wrong argument count or unexpected line ending after 'respond'");
}

static void test_redir(void)
{
    T_STR(run(&cc_mod_redir, "redir /a"), "{\"handler\":\"static_response\",\"status_code\":302,"
                                          "\"headers\":{\"Location\":[\"/a\"]}}");
    T_STR(run(&cc_mod_redir, "redir /a 0307"), "{\"handler\":\"static_response\",\"status_code\":"
                                               "307,\"headers\":{\"Location\":[\"/a\"]}}");
    T_STR(run(&cc_mod_redir, "redir /a 400"),
          "ERR: Caddyfile:1: Redir code not in the 3xx range or 401: '400'");
    T_STR(run(&cc_mod_redir, "redir /a 299"),
          "ERR: Caddyfile:1: Redir code not in the 3xx range or 401: '299'");
    const char *html = run(&cc_mod_redir, "redir \"/x?a=<b>\" html");
    T_HAS(html, "window.location.replace(\\\"/x?a=&lt;b&gt;\\\")");
    T_HAS(html, "\"Content-Type\":[\"text/html; charset=utf-8\"]");
    T_HAS(html, "\"status_code\":200");
    T_OK(!strstr(html, "Location"), "no Location for html");
}

static void test_uri_method(void)
{
    T_STR(run(&cc_mod_uri, "uri strip_prefix \"\""), "{\"handler\":\"rewrite\"}");
    T_STR(run(&cc_mod_uri, "uri replace a \"\" 0"),
          "{\"handler\":\"rewrite\",\"uri_substring\":[{\"find\":\"a\"}]}");
    T_STR(run(&cc_mod_uri, "uri replace a b -1"),
          "{\"handler\":\"rewrite\",\"uri_substring\":[{\"find\":\"a\",\"replace\":\"b\","
          "\"limit\":-1}]}");
    T_STR(run(&cc_mod_uri, "uri query a>b>c"),
          "{\"handler\":\"rewrite\",\"query\":{\"rename\":[{\"key\":\"a\",\"val\":\"b\"}]}}");
    T_STR(run(&cc_mod_uri, "uri query --x"),
          "{\"handler\":\"rewrite\",\"query\":{\"delete\":[\"x\"]}}");
    T_STR(run(&cc_mod_uri, "uri query a b c d e"),
          "ERR: Caddyfile:1: wrong argument count or unexpected line ending after 'e'");
    T_STR(run(&cc_mod_uri, "uri path_regexp a"),
          "ERR: Caddyfile:1: wrong argument count or unexpected line ending after 'a'");
    T_STR(run(&cc_mod_uri, "uri"),
          "ERR: Caddyfile:1: wrong argument count or unexpected line ending after 'uri'");
    T_STR(run(&cc_mod_method, "method PATCH"), "{\"handler\":\"rewrite\",\"method\":\"PATCH\"}");
    T_STR(run(&cc_mod_method, "method"),
          "ERR: Caddyfile:1: wrong argument count or unexpected line ending after 'method'");
}

static void test_vars_request_body(void)
{
    T_STR(run(&cc_mod_vars, "vars"), "{\"handler\":\"vars\"}");
    T_STR(run(&cc_mod_vars, "vars a 1 {\n b \"x\"\n a 2.5\n}"),
          "{\"handler\":\"vars\",\"a\":2.5,\"b\":\"x\"}");
    T_STR(run(&cc_mod_vars, "vars handler x"), "{\"handler\":\"vars\"}");
    T_STR(run(&cc_mod_request_body, "request_body {\n max_size 2KiB\n}"),
          "{\"handler\":\"request_body\",\"max_size\":2048}");
    T_STR(run(&cc_mod_request_body, "request_body {\n max_size 1,000\n set \"\"\n}"),
          "{\"handler\":\"request_body\",\"max_size\":1000}");
    T_STR(run(&cc_mod_request_body, "request_body {\n max_size 1.2.3\n}"),
          "ERR: Caddyfile:2: parsing max_size: strconv.ParseFloat: parsing \"1.2.3\": "
          "invalid syntax");
    T_STR(run(&cc_mod_request_body, "request_body {\n max_size 99999999EB\n}"),
          "ERR: Caddyfile:2: parsing max_size: too large: 99999999EB");
    T_STR(run(&cc_mod_request_body, "request_body {\n max_size\n}"),
          "ERR: Caddyfile:2: wrong argument count or unexpected line ending after 'max_size'");
}

int main(void)
{
    A = cc_arena_new(0);
    test_goval();
    test_headerops();
    test_respond_error_abort();
    test_redir();
    test_uri_method();
    test_vars_request_body();
    cc_arena_free(A);
    return t_done();
}
