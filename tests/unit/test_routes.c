/* SPDX-License-Identifier: Apache-2.0
 * Route lists with Caddy's RouteList semantics (fallthrough, groups, terminal, nested
 * subroutes continuing the outer chain), the server's error flow into errors routes,
 * Caddy's default 200, response filters, config loading (listen addresses, TLS
 * detection, timeouts, trusted proxies) and handler cleanup. Handler types used here
 * are small test doubles defined in this file. */
#include <stdlib.h>

#include "../t.h"
#include "core/handler.h"
#include "core/server.h"
#include "core_rt.h"

static cc_arena *A;

static void trace(cc_req *r, const char *mark)
{
    const char *old = cc_vars_get(&r->vars, "trace");
    cc_vars_set(r->arena, &r->vars, "trace",
                cc_arena_printf(r->arena, "%s%s", old ? old : "", mark));
}

/* "mark": appends its "mark" then calls next ("mid") or answers with "status" ("end"). */
typedef struct mark_h {
    cc_handler super;
    const char *mark;
    int status;
} mark_h;

static int mark_prov(cc_handler *h, const cc_cfg *cfg, cc_prov *ctx)
{
    (void)ctx;
    mark_h *m = (mark_h *)h;
    m->mark = cc_cfg_get_str(cfg, "mark");
    const cc_cfg *st = cc_cfg_get(cfg, "status");
    m->status = st && st->type == CC_CFG_INT ? (int)st->i : 0;
    if (!m->mark)
        return cc_err_set(ctx->err, "mark handler needs a mark");
    return CC_OK;
}

static int mid_handle(cc_handler *h, cc_req *r, cc_next *next)
{
    trace(r, ((mark_h *)h)->mark);
    return cc_next_run(next, r);
}

static int end_handle(cc_handler *h, cc_req *r, cc_next *next)
{
    (void)next;
    mark_h *m = (mark_h *)h;
    trace(r, m->mark);
    cc_resp_set_text(r, m->status ? m->status : 200, "text/plain", m->mark, strlen(m->mark));
    return CC_OK;
}

static int fail_handle(cc_handler *h, cc_req *r, cc_next *next)
{
    (void)next;
    mark_h *m = (mark_h *)h;
    trace(r, m->mark);
    return cc_req_fail(r, m->status ? m->status : 500, "failed at %s", m->mark);
}

/* "sub": a subroute. */
typedef struct sub_h {
    cc_handler super;
    cc_routes routes;
} sub_h;

static int sub_prov(cc_handler *h, const cc_cfg *cfg, cc_prov *ctx)
{
    return cc_routes_provision(&((sub_h *)h)->routes, cc_cfg_get(cfg, "routes"), ctx);
}

static int sub_handle(cc_handler *h, cc_req *r, cc_next *next)
{
    return cc_routes_run(&((sub_h *)h)->routes, r, next);
}

/* "filt": registers a filter that appends its mark to the X-Filters header. */
static int filt_fn(cc_req *r, void *ctx)
{
    const char *old = cc_headers_get(&r->resp.headers, "X-Filters");
    cc_headers_set(r->arena, &r->resp.headers, "X-Filters",
                   cc_arena_printf(r->arena, "%s%s", old ? old : "", (const char *)ctx));
    return CC_OK;
}

static int badfilt_fn(cc_req *r, void *ctx)
{
    (void)r;
    (void)ctx;
    return CC_ERR;
}

static int filt_handle(cc_handler *h, cc_req *r, cc_next *next)
{
    mark_h *m = (mark_h *)h;
    cc_resp_add_filter(r, m->status == 1 ? badfilt_fn : filt_fn, (void *)m->mark);
    return cc_next_run(next, r);
}

static int cleanups;
static void count_cleanup(cc_handler *h)
{
    (void)h;
    cleanups++;
}

static const cc_handler_type ty_mid = {CC_HANDLER_ABI, "mid",      sizeof(mark_h),
                                       mark_prov,      mid_handle, count_cleanup};
static const cc_handler_type ty_end = {CC_HANDLER_ABI, "end",      sizeof(mark_h),
                                       mark_prov,      end_handle, NULL};
static const cc_handler_type ty_fail = {CC_HANDLER_ABI, "fail",      sizeof(mark_h),
                                        mark_prov,      fail_handle, NULL};
static const cc_handler_type ty_sub = {CC_HANDLER_ABI, "sub",      sizeof(sub_h),
                                       sub_prov,       sub_handle, NULL};
static const cc_handler_type ty_filt = {CC_HANDLER_ABI, "filt",      sizeof(mark_h),
                                        mark_prov,      filt_handle, NULL};
static const cc_handler_type *const types[] = {&ty_mid, &ty_end, &ty_fail, &ty_sub, &ty_filt, NULL};

/* Provisions a route list and runs it for a GET of path; returns the trace. */
static const char *run(const char *routes_json, const char *path, cc_req **out)
{
    cc_err err = {0};
    cc_prov prov = {.a = A, .err = &err};
    cc_routes routes;
    if (cc_routes_provision(&routes, J(A, routes_json), &prov) != CC_OK) {
        fprintf(stderr, "provision: %s\n", err.msg);
        return "(provision failed)";
    }
    cc_req *r = R(A, "GET", path, "example.com");
    int rc = cc_routes_run(&routes, r, NULL);
    if (out)
        *out = r;
    const char *t = cc_vars_get(&r->vars, "trace");
    return rc == CC_OK ? (t ? t : "") : cc_arena_printf(A, "%s!", t ? t : "");
}

#define MID(m) "{\"handler\":\"mid\",\"mark\":\"" m "\"}"
#define END(m) "{\"handler\":\"end\",\"mark\":\"" m "\"}"
#define PATH(p) "[{\"path\":[\"" p "\"]}]"

static void test_routes(void)
{
    /* fallthrough: a non-matching route is skipped, matching ones run in order */
    T_STR(run("[{\"match\":" PATH("/x") ",\"handle\":[" MID(
                  "a") "]},"
                       "{\"handle\":[" MID("b") "," MID("c") "]},{\"handle\":[" END("d") "]}]",
              "/y", NULL),
          "bcd");
    T_STR(run("[{\"match\":" PATH("/x") ",\"handle\":[" MID("a") "]},{\"handle\":[" END("d") "]}]",
              "/x", NULL),
          "ad");
    /* a handler that answers stops the chain */
    T_STR(run("[{\"handle\":[" END("a") "]},{\"handle\":[" END("b") "]}]", "/", NULL), "a");
    /* groups: only the first matching route of a group runs */
    T_STR(run("[{\"group\":\"g\",\"match\":" PATH("/x") ",\"handle\":[" MID(
                  "1") "]},"
                       "{\"group\":\"g\",\"handle\":[" MID(
                           "2") "]},"
                                "{\"group\":\"g\",\"handle\":[" MID(
                                    "3") "]},"
                                         "{\"group\":\"h\",\"handle\":[" MID(
                                             "4") "]},{\"handle\":[" MID("5") "]}]",
              "/y", NULL),
          "245");
    T_STR(run("[{\"group\":\"g\",\"match\":" PATH("/x") ",\"handle\":[" MID(
                  "1") "]},"
                       "{\"group\":\"g\",\"handle\":[" MID("2") "]}]",
              "/x", NULL),
          "1");
    /* terminal: the rest of the list does not run */
    T_STR(run("[{\"handle\":[" MID("a") "],\"terminal\":true},{\"handle\":[" MID("b") "]}]", "/",
              NULL),
          "a");
    T_STR(run("[{\"match\":" PATH("/x") ",\"handle\":[" MID("a") "],\"terminal\":true},"
                                                                 "{\"handle\":[" MID("b") "]}]",
              "/y", NULL),
          "b");
    /* subroute: its list falls through into the outer chain ... */
    T_STR(run("[{\"handle\":[{\"handler\":\"sub\",\"routes\":[{\"handle\":[" MID(
                  "s1") "]}]}]},"
                        "{\"handle\":[" MID("o") "]}]",
              "/", NULL),
          "s1o");
    /* ... unless the route holding it is terminal (Caddy's emptyHandler) */
    T_STR(run("[{\"handle\":[{\"handler\":\"sub\",\"routes\":[{\"handle\":[" MID(
                  "s1") "]}]}],"
                        "\"terminal\":true},{\"handle\":[" MID("o") "]}]",
              "/", NULL),
          "s1");
    /* a terminal route inside a subroute ends the whole chain */
    T_STR(run("[{\"handle\":[{\"handler\":\"sub\",\"routes\":[{\"handle\":[" MID(
                  "s1") "],"
                        "\"terminal\":true},{\"handle\":[" MID("s2") "]}]}]},{\"handle\":[" MID(
                            "o") "]}]",
              "/", NULL),
          "s1");
    /* groups are per list: the same name in a nested list is a different group */
    T_STR(run("[{\"group\":\"g\",\"handle\":[{\"handler\":\"sub\",\"routes\":["
              "{\"group\":\"g\",\"handle\":[" MID("i1") "]},{\"group\":\"g\",\"handle\":[" MID(
                  "i2") "]}"
                        "]}]},{\"group\":\"g\",\"handle\":[" MID("o2") "]}]",
              "/", NULL),
          "i1");
    /* matcher sets are OR'ed */
    T_STR(run("[{\"match\":[{\"path\":[\"/a\"]},{\"path\":[\"/b\"]}],\"handle\":[" MID("m") "]}]",
              "/b", NULL),
          "m");
    /* errors stop the chain and carry status, message, id, trace */
    cc_req *r;
    T_STR(run("[{\"handle\":[" MID(
                  "a") ",{\"handler\":\"fail\",\"mark\":\"f\",\"status\":404}," MID("z") "]}]",
              "/", &r),
          "af!");
    T_INT(r->err.status, 404);
    T_STR(r->err.message, "failed at f");
    T_STR(r->err.trace, "fail");
    T_INT(strlen(r->err.id), 9);
    /* nothing answered: the status stays 0 and the request is marked unhandled */
    T_STR(run("[{\"handle\":[" MID("a") "]}]", "/", &r), "a");
    T_INT(r->resp.status, 0);
    T_STR(cc_vars_get(&r->vars, "unhandled"), "true");

    /* provisioning errors */
    cc_err err = {0};
    cc_prov prov = {.a = A, .err = &err};
    cc_routes routes;
    T_OK(cc_routes_provision(&routes, J(A, "[{\"handle\":[{\"handler\":\"nope\"}]}]"), &prov) ==
             CC_ERR,
         "unknown handler");
    T_HAS(err.msg, "unknown module: http.handlers.nope");
    memset(&err, 0, sizeof(err));
    T_OK(cc_routes_provision(&routes, J(A, "[{\"handle\":[{\"handler\":\"mid\"}]}]"), &prov) ==
             CC_ERR,
         "handler provision error");
    T_HAS(err.msg, "mark handler needs a mark");
    memset(&err, 0, sizeof(err));
    T_OK(cc_routes_provision(&routes, J(A, "[{\"match\":[{\"expression\":\"f(x)\"}]}]"), &prov) ==
             CC_ERR,
         "matcher error");
    T_HAS(err.msg, "not supported by caddy-c");
}

/* ---- servers ---- */

static cc_runtime *load(const char *json, cc_err *err)
{
    cc_arena *a = cc_arena_new(0);
    return cc_runtime_load(a, J(a, json), err);
}

static void test_server(void)
{
    cc_err err = {0};
    cc_runtime *rt = load(
        "{\"apps\":{\"http\":{\"grace_period\":5000000000,\"servers\":{\"srv0\":{"
        "\"listen\":[\":8080\",\"127.0.0.1:9000\",\"[::1]:9001\",\"tcp/0.0.0.0:9002\"],"
        "\"read_header_timeout\":\"10s\",\"idle_timeout\":60000000000,\"max_header_bytes\":4096,"
        "\"routes\":[{\"match\":[{\"path\":[\"/ok\"]}],\"handle\":[" END(
            "ok") "]},"
                  "{\"match\":[{\"path\":[\"/"
                  "f\"]}],\"handle\":[{\"handler\":\"fail\",\"mark\":\"f\","
                  "\"status\":404}]},"
                  "{\"match\":[{\"path\":[\"/"
                  "f5\"]}],\"handle\":[{\"handler\":\"fail\",\"mark\":\"f\"}]},"
                  "{\"match\":[{\"path\":[\"/"
                  "filt\"]}],\"handle\":[{\"handler\":\"filt\",\"mark\":\"1\"},"
                  "{\"handler\":\"filt\",\"mark\":\"2\"}," END(
                      "x") "]},"
                           "{\"match\":[{\"path\":[\"/"
                           "badfilt\"]}],\"handle\":[{\"handler\":\"filt\",\"mark\":\"b\","
                           "\"status\":1}," END(
                               "x") "]},"
                                    "{\"match\":[{\"path\":[\"/"
                                    "ferr\"]}],\"handle\":[{\"handler\":\"filt\",\"mark\":\"1\"},"
                                    "{\"handler\":\"fail\",\"mark\":\"f\",\"status\":410}]}"
                                    "],"
                                    "\"errors\":{\"routes\":[{\"match\":[{\"expression\":\"{http."
                                    "error.status_code} == 404\"}],"
                                    "\"handle\":[" MID("e") "," END(
                                        "err") "],\"terminal\":true},"
                                               "{\"match\":[{\"expression\":\"{http.error.status_"
                                               "code} == 410\"}],"
                                               "\"handle\":[" MID(
                                                   "e410") "],\"terminal\":true}]}"
                                                           "},\"srv1\":{\"listen\":[\":8081\"],"
                                                           "\"routes\":[],"
                                                           "\"trusted_proxies\":{\"source\":"
                                                           "\"static\",\"ranges\":[\"10.0.0.0/"
                                                           "8\"]}}}}}}",
        &err);
    T_OK(rt != NULL, "load: %s", err.msg);
    if (!rt)
        return;
    T_INT(rt->nservers, 2);
    T_INT(rt->grace_period, 5000000000LL);
    cc_server *s = &rt->servers[0];
    T_STR(s->name, "srv0");
    T_INT(s->nlisten, 4);
    T_STR(s->listen[0].host, "");
    T_INT(s->listen[0].port, 8080);
    T_STR(s->listen[1].host, "127.0.0.1");
    T_STR(s->listen[2].host, "::1");
    T_INT(s->listen[2].port, 9001);
    T_STR(s->listen[3].host, "0.0.0.0");
    T_INT(s->read_header_timeout, 10000000000LL);
    T_INT(s->idle_timeout, 60000000000LL);
    T_INT(s->max_header_bytes, 4096);
    T_OK(!s->tls, "plain server");
    T_INT(s->errors.n, 2);

    cc_req *r = R(A, "GET", "/ok", "example.com");
    cc_server_handle(s, r);
    T_INT(r->resp.status, 200);
    T_STR(cc_headers_get(&r->resp.headers, "Server"), "caddy-c");
    T_STR(cc_vars_get(&r->vars, "client_ip"), "10.1.2.3");

    r = R(A, "GET", "/unmatched", "example.com");
    cc_server_handle(s, r);
    T_INT(r->resp.status, 200);
    T_OK(r->resp.body == NULL, "unmatched: empty body");

    /* an error handled by an errors route */
    r = R(A, "GET", "/f", "example.com");
    cc_server_handle(s, r);
    T_INT(r->resp.status, 200);
    T_STR(cc_vars_get(&r->vars, "trace"), "feerr");
    T_INT(r->err.status, 404);
    /* an errors route that matches but does not answer: the error's status (terminal) */
    r = R(A, "GET", "/ferr", "example.com");
    cc_server_handle(s, r);
    T_INT(r->resp.status, 410);
    T_OK(r->resp.body == NULL, "410 bare");
    cc_resp_commit(r);
    T_OK(cc_headers_get(&r->resp.headers, "X-Filters") == NULL,
         "filters of the failed chain are dropped");
    /* no errors route matches: bare status */
    r = R(A, "GET", "/f5", "example.com");
    cc_server_handle(s, r);
    T_INT(r->resp.status, 500);
    T_OK(r->resp.body == NULL, "500 bare");

    /* filters run at commit, innermost (last added) first */
    r = R(A, "GET", "/filt", "example.com");
    cc_server_handle(s, r);
    cc_resp_commit(r);
    T_STR(cc_headers_get(&r->resp.headers, "X-Filters"), "21");
    cc_resp_commit(r);
    T_STR(cc_headers_get(&r->resp.headers, "X-Filters"), "21");
    /* a failing filter gives a bare 500 */
    r = R(A, "GET", "/badfilt", "example.com");
    cc_server_handle(s, r);
    cc_resp_commit(r);
    T_INT(r->resp.status, 500);
    T_OK(r->resp.body == NULL, "bad filter: no body");

    /* trusted proxies: client_ip from X-Forwarded-For only from a trusted peer */
    cc_server *s1 = &rt->servers[1];
    r = R(A, "GET", "/", "x");
    cc_headers_add(A, &r->headers, "X-Forwarded-For", "203.0.113.7, 10.0.0.1");
    cc_server_handle(s1, r);
    T_STR(cc_vars_get(&r->vars, "client_ip"), "203.0.113.7");
    cc_conn other = {.remote_ip = "192.0.2.1", .remote_port = 5};
    r = R(A, "GET", "/", "x");
    r->conn = &other;
    cc_headers_add(A, &r->headers, "X-Forwarded-For", "203.0.113.7");
    cc_server_handle(s1, r);
    T_STR(cc_vars_get(&r->vars, "client_ip"), "192.0.2.1");

    cleanups = 0;
    cc_runtime_ref(rt);
    cc_runtime_unref(rt);
    T_INT(cleanups, 0);
    cc_runtime_unref(rt);
    T_INT(cleanups, 2); /* the two "mid" handlers of the errors routes */
}

static void test_load_errors_and_tls(void)
{
    cc_err err = {0};
    T_OK(!load("{\"apps\":{\"http\":{\"servers\":{\"s\":{\"listen\":[\":8000-8005\"]}}}}}", &err),
         "port range");
    T_HAS(err.msg, "port ranges are not supported");
    memset(&err, 0, sizeof(err));
    T_OK(!load("{\"apps\":{\"http\":{\"servers\":{\"s\":{\"listen\":[\"::1:80\"]}}}}}", &err),
         "ambiguous v6");
    T_HAS(err.msg, "too many colons");
    memset(&err, 0, sizeof(err));
    T_OK(!load("{\"apps\":{\"http\":{\"servers\":{\"s\":{\"listen\":[\"unix//tmp/s\"]}}}}}", &err),
         "unix socket");
    T_HAS(err.msg, "not supported");
    memset(&err, 0, sizeof(err));
    T_OK(!load("{\"apps\":{\"http\":{\"servers\":{\"s\":{\"listen\":[\"localhost\"]}}}}}", &err),
         "no port");
    T_HAS(err.msg, "missing port");

    cc_runtime *rt =
        load("{\"apps\":{\"http\":{\"servers\":{"
             "\"a\":{\"listen\":[\":443\"]},"
             "\"b\":{\"listen\":[\":80\"],\"routes\":[{\"match\":[{\"host\":[\"x.com\"]}]}]},"
             "\"c\":{\"listen\":[\":8443\"],\"routes\":[{\"match\":[{\"host\":[\"x.com\"]}]}]},"
             "\"d\":{\"listen\":[\":8080\"]},"
             "\"e\":{\"listen\":[\":8081\"],\"tls_connection_policies\":[{}]},"
             "\"f\":{\"listen\":[\":8082\"],\"routes\":[{\"match\":[{\"host\":[\"x.com\"]}]}],"
             "\"automatic_https\":{\"skip\":[\"x.com\"]}},"
             "\"g\":{\"listen\":[\":8083\"],\"routes\":[{\"match\":[{\"host\":[\"x.com\"]}]}],"
             "\"automatic_https\":{\"disable\":true}}"
             "}}}}",
             &err);
    T_OK(rt != NULL, "tls config loads: %s", err.msg);
    if (!rt)
        return;
    T_OK(rt->servers[0].tls, "https port => tls");
    T_OK(!rt->servers[1].tls, "http port => plain");
    T_OK(rt->servers[2].tls, "host on other port => tls");
    T_OK(!rt->servers[3].tls, "no host => plain");
    T_OK(rt->servers[4].tls, "explicit policies => tls");
    T_OK(!rt->servers[5].tls, "skipped host => plain");
    T_OK(!rt->servers[6].tls, "auto https disabled => plain");
    cc_runtime_unref(rt);
}

int main(void)
{
    A = cc_arena_new(0);
    cc_handler_types_set(types);
    test_routes();
    test_server();
    test_load_errors_and_tls();
    cc_arena_free(A);
    return t_done();
}
