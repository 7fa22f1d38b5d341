/* SPDX-License-Identifier: Apache-2.0
 * Automatic HTTPS (cc_autohttps_apply) on configs adapted from Caddyfiles and on JSON:
 * which names get ACME, internal or no certificates, the TLS connection policies, the
 * HTTP->HTTPS redirect routes and servers in Caddy's shape, every auto_https option,
 * http:// sites, explicit ports, loaded certificates, and certmagic's name rules. The
 * rewritten config must still provision. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../../caddyfile/adapter.h"
#include "../../certmagic/autohttps.h"
#include "../../core/server.h"
#include "../../handlers/handlers.h"
#include "../t.h"

static char tmp[64];

/* JSON written with ' for " (readability), parsed into a cc_cfg. */
static cc_cfg *from_json(cc_arena *a, json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        cc_cfg *o = cc_cfg_obj(a);
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) cc_cfg_set(a, o, k, from_json(a, v));
        return o;
    }
    case JSON_ARRAY: {
        cc_cfg *arr = cc_cfg_arr(a);
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) cc_cfg_push(a, arr, from_json(a, v));
        return arr;
    }
    case JSON_STRING:
        return cc_cfg_str(a, json_string_value(j));
    case JSON_INTEGER:
        return cc_cfg_int(a, json_integer_value(j));
    case JSON_REAL:
        return cc_cfg_num(a, json_real_value(j));
    case JSON_TRUE:
        return cc_cfg_bool(a, true);
    case JSON_FALSE:
        return cc_cfg_bool(a, false);
    default:
        return cc_cfg_null(a);
    }
}

static char *dq(const char *s)
{
    char *o = strdup(s);
    for (char *p = o; *p; p++)
        if (*p == '\'')
            *p = '"';
    return o;
}

static cc_cfg *json_cfg(cc_arena *a, const char *sq)
{
    char *s = dq(sq);
    json_error_t je;
    json_t *j = json_loads(s, JSON_DECODE_ANY | JSON_PRESERVE_ORDER, &je);
    free(s);
    if (!j) {
        fprintf(stderr, "bad test JSON: %s\n", je.text);
        return NULL;
    }
    cc_cfg *c = from_json(a, j);
    json_decref(j);
    return c;
}

static cc_cfg *adapt(cc_arena *a, const char *src)
{
    cc_cfg *out = NULL;
    cc_warns w = {.a = a};
    cc_err err = {0};
    if (cc_cf_adapt(a, "Caddyfile", src, strlen(src), &out, &w, &err) != CC_OK) {
        fprintf(stderr, "adapt failed: %s\n", err.msg);
        return NULL;
    }
    return out;
}

/* got (a cc_cfg) equals the JSON want (' for "), object key order ignored. */
#define T_JSON(got, want) t_json((got), (want), __LINE__)
static void t_json(const cc_cfg *got, const char *want, int line)
{
    char *g = got ? cc_cfg_to_json(got, false, NULL) : strdup("null");
    char *w = dq(want);
    json_t *gj = json_loads(g, JSON_DECODE_ANY, NULL), *wj = json_loads(w, JSON_DECODE_ANY, NULL);
    bool eq = gj && wj && json_equal(gj, wj);
    if (eq)
        t_pass++;
    else {
        t_fail++;
        fprintf(stderr, "FAIL %s:%d: JSON differs\n got: %s\nwant: %s\n", __FILE__, line, g, w);
    }
    json_decref(gj);
    json_decref(wj);
    free(g);
    free(w);
}

static cc_cfg *path(cc_cfg *c, const char *p)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", p);
    for (char *tok = strtok(buf, "/"); tok && c; tok = strtok(NULL, "/")) {
        if (c->type == CC_CFG_ARR)
            c = cc_cfg_idx(c, (size_t)atoi(tok));
        else
            c = cc_cfg_get(c, tok);
    }
    return c;
}

/* "internal", "acme <directory>[, acme <directory>...]" or "none" for name in the plan. */
static const char *issuer_of(cc_arena *a, const cc_autohttps *p, const char *name)
{
    for (size_t i = 0; i < p->nnames; i++) {
        if (strcmp(p->names[i].name, name) != 0)
            continue;
        const cc_ah_policy *pol = &p->policies[p->names[i].policy];
        char *s = cc_arena_strdup(a, "");
        for (size_t k = 0; k < pol->nissuers; k++) {
            const cc_ah_issuer *is = &pol->issuers[k];
            s = cc_arena_printf(a, "%s%s%s", s, k ? ", " : "",
                                is->kind == CC_ISS_INTERNAL
                                    ? cc_arena_printf(a, "internal %s", is->ca)
                                    : cc_arena_printf(a, "acme %s%s%s", is->directory,
                                                      is->email ? " " : "",
                                                      is->email ? is->email : ""));
        }
        return s;
    }
    return "none";
}

static bool provisions(cc_cfg *cfg)
{
    cc_arena *ra = cc_arena_new(0);
    cc_err e = {0};
    cc_runtime *rt = cc_runtime_load(ra, cc_cfg_clone(ra, cfg), &e);
    if (!rt)
        fprintf(stderr, "provision: %s\n", e.msg);
    cc_runtime_unref(rt);
    return rt != NULL;
}

#define REDIR(hosts, loc)                                                                          \
    "{'match':[{" hosts "'protocol':'http'}],'handle':[{'handler':'static_response',"              \
    "'status_code':308,'headers':{'Location':['" loc "']},'close':true}]}"
#define LOC "https://{http.request.host}{http.request.uri}"
#define CATCHALL REDIR("", LOC)

static cc_autohttps *apply_cf(cc_arena *a, const char *src, cc_cfg **cfg)
{
    *cfg = adapt(a, src);
    cc_err e = {0};
    cc_autohttps *p = *cfg ? cc_autohttps_apply(a, *cfg, &e) : NULL;
    if (!p)
        fprintf(stderr, "apply failed: %s\n", e.msg);
    return p;
}

static void test_localhost(cc_arena *a)
{
    cc_cfg *cfg;
    cc_autohttps *p = apply_cf(a, "localhost {\n\trespond hi\n}\n", &cfg);
    T_OK(p != NULL, "applied");
    if (!p)
        return;
    T_JSON(path(cfg, "apps/http/servers/srv0/tls_connection_policies"), "[{}]");
    T_JSON(path(cfg, "apps/http/servers/srv0/listen"), "[':443']");
    T_JSON(path(cfg, "apps/http/servers/remaining_auto_https_redirects"),
           "{'listen':[':80'],'routes':[" REDIR("'host':['localhost'],", LOC) "," CATCHALL "]}");
    T_JSON(path(cfg, "apps/tls/automation/policies"),
           "[{'subjects':['localhost'],'issuers':[{'module':'internal'}]},{}]");
    T_INT(p->nnames, 1);
    T_STR(issuer_of(a, p, "localhost"), "internal local");
    T_INT(p->http_port, 80);
    T_INT(p->https_port, 443);
    T_INT(p->renew_interval, 600);
    T_OK(provisions(cfg), "rewritten config provisions");
}

static void test_public(cc_arena *a)
{
    cc_cfg *cfg;
    cc_autohttps *p = apply_cf(
        a, "example.com, www.example.com {\n\trespond hi\n}\nlocal.test.local {\n}\n", &cfg);
    if (!p)
        return;
    T_STR(issuer_of(a, p, "example.com"), "acme https://acme-v02.api.letsencrypt.org/directory");
    T_STR(issuer_of(a, p, "www.example.com"),
          "acme https://acme-v02.api.letsencrypt.org/directory");
    T_STR(issuer_of(a, p, "local.test.local"), "internal local");
    T_JSON(path(cfg, "apps/tls/automation/policies"),
           "[{'subjects':['local.test.local'],'issuers':[{'module':'internal'}]},{}]");
    cc_cfg *routes = path(cfg, "apps/http/servers/remaining_auto_https_redirects/routes");
    T_INT(cc_cfg_len(routes), 2);
    /* one route for every host of the :443 listener, then the catch-all */
    T_JSON(path(routes, "0/match/0/protocol"), "'http'");
    cc_cfg *hosts = path(routes, "0/match/0/host");
    T_INT(cc_cfg_len(hosts), 3);
    T_OK(cc_cfg_arr_has_str(hosts, "example.com") && cc_cfg_arr_has_str(hosts, "www.example.com") &&
             cc_cfg_arr_has_str(hosts, "local.test.local"),
         "all hosts redirected");
    T_JSON(path(routes, "1"), CATCHALL);
    T_OK(provisions(cfg), "provisions");
}

static void test_ports(cc_arena *a)
{
    cc_cfg *cfg;
    cc_autohttps *p = apply_cf(
        a, "{\n\thttp_port 8080\n\thttps_port 8443\n\trenew_interval 30s\n}\nlocalhost {\n}\n",
        &cfg);
    if (!p)
        return;
    T_INT(p->http_port, 8080);
    T_INT(p->https_port, 8443);
    T_INT(p->renew_interval, 30);
    T_JSON(path(cfg, "apps/http/servers/srv0/listen"), "[':8443']");
    /* the HTTPS port is the configured one: the redirect names no port (Caddy's rule) */
    T_JSON(path(cfg, "apps/http/servers/remaining_auto_https_redirects"),
           "{'listen':[':8080'],'routes':[" REDIR("'host':['localhost'],", LOC) "," CATCHALL "]}");
    p = apply_cf(a, "example.com:9443 {\n}\n", &cfg);
    if (!p)
        return;
    T_JSON(path(cfg, "apps/http/servers/remaining_auto_https_redirects"),
           "{'listen':[':80'],'routes':[" REDIR(
               "'host':['example.com'],",
               "https://{http.request.host}:9443{http.request.uri}") "," CATCHALL "]}");
    /* two sites on two ports: one route each, ordered by host specificity */
    p = apply_cf(a, "b.example.com:9443 {\n}\na.example.com {\n}\n*.example.com {\n}\n", &cfg);
    if (!p)
        return;
    cc_cfg *routes = path(cfg, "apps/http/servers/remaining_auto_https_redirects/routes");
    T_INT(cc_cfg_len(routes), 3);
    T_JSON(path(routes, "0/match/0/host"), "['a.example.com','*.example.com']");
    T_JSON(path(routes, "1/match/0/host"), "['b.example.com']");
    T_JSON(path(routes, "1/handle/0/headers/Location"),
           "['https://{http.request.host}:9443{http.request.uri}']");
    T_JSON(path(routes, "2"), CATCHALL);
    T_OK(provisions(cfg), "provisions");
    /* a site on port 80 and 443 bound explicitly to an address */
    p = apply_cf(a, "localhost {\n\tbind 127.0.0.1\n}\n", &cfg);
    if (!p)
        return;
    T_JSON(path(cfg, "apps/http/servers/remaining_auto_https_redirects/listen"),
           "['127.0.0.1:80']");
    p = apply_cf(a, "localhost {\n\tbind ::1\n}\n", &cfg);
    if (!p)
        return;
    T_JSON(path(cfg, "apps/http/servers/remaining_auto_https_redirects/listen"), "['[::1]:80']");
}

static void test_options(cc_arena *a)
{
    cc_cfg *cfg;
    cc_autohttps *p = apply_cf(a, "{\n\tauto_https off\n}\nexample.com {\n}\n", &cfg);
    if (!p)
        return;
    T_INT(p->nnames, 0);
    /* the adapter's own TLS policy stays; nothing is added */
    T_JSON(path(cfg, "apps/http/servers/srv0/tls_connection_policies"), "[{}]");
    T_INT(cc_cfg_len(path(cfg, "apps/http/servers")), 1);
    T_OK(path(cfg, "apps/http/servers/remaining_auto_https_redirects") == NULL,
         "off: no redirects");
    T_OK(path(cfg, "apps/tls") == NULL, "off: no policies");

    p = apply_cf(a, "{\n\tauto_https disable_redirects\n}\nexample.com {\n}\n", &cfg);
    if (!p)
        return;
    T_INT(p->nnames, 1);
    T_JSON(path(cfg, "apps/http/servers/srv0/tls_connection_policies"), "[{}]");
    T_OK(path(cfg, "apps/http/servers/remaining_auto_https_redirects") == NULL,
         "disable_redirects: none");

    p = apply_cf(a, "{\n\tauto_https disable_certs\n}\nexample.com {\n}\n", &cfg);
    if (!p)
        return;
    T_INT(p->nnames, 0);
    T_JSON(path(cfg, "apps/http/servers/srv0/tls_connection_policies"), "[{}]");
    T_JSON(path(cfg, "apps/http/servers/remaining_auto_https_redirects/routes/0/match/0/host"),
           "['example.com']");
    T_JSON(path(cfg, "apps/tls/automation/policies"), "[{}]");

    /* loaded certificates cover a name unless ignore_loaded_certs */
    char crt[128], key[128], cmd[1024];
    snprintf(crt, sizeof(crt), "%s/ex.crt", tmp);
    snprintf(key, sizeof(key), "%s/ex.key", tmp);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s "
             "-out %s -days 2 -subj /CN=example.com -addext subjectAltName=DNS:example.com,DNS:*."
             "example.com >/dev/null 2>&1",
             key, crt);
    T_INT(system(cmd), 0);
    char *src = cc_arena_printf(a, "example.com, www.example.com {\n\ttls %s %s\n}\n", crt, key);
    p = apply_cf(a, src, &cfg);
    if (!p)
        return;
    T_INT(p->nnames, 0);
    T_INT(p->nloaded, 1);
    T_OK(p->nloaded && p->loaded[0].nnames == 2, "loaded names");
    T_HAS(p->nloaded ? p->loaded[0].chain_pem : NULL, "BEGIN CERTIFICATE");
    T_OK(path(cfg, "apps/http/servers/remaining_auto_https_redirects") != NULL,
         "loaded certs still get redirects");
    src = cc_arena_printf(
        a, "{\n\tauto_https ignore_loaded_certs\n}\nexample.com, other.com {\n\ttls %s %s\n}\n",
        crt, key);
    p = apply_cf(a, src, &cfg);
    if (!p)
        return;
    T_INT(p->nnames, 2);
    /* tls { load <folder> }: every *.pem bundle below the folder */
    snprintf(cmd, sizeof(cmd),
             "mkdir -p %s/certs/sub && cat %s %s > %s/certs/sub/bundle.PEM && echo skip > "
             "%s/certs/notes.txt",
             tmp, key, crt, tmp, tmp);
    T_INT(system(cmd), 0);
    src = cc_arena_printf(a, "example.com {\n\ttls {\n\t\tload %s/certs\n\t}\n}\n", tmp);
    p = apply_cf(a, src, &cfg);
    if (!p)
        return;
    T_INT(p->nloaded, 1);
    T_INT(p->nnames, 0);
    T_OK(p->nloaded && p->loaded[0].nnames == 2, "folder bundle names");
    snprintf(cmd, sizeof(cmd), "cp %s %s/certs/only-cert.pem", crt, tmp);
    T_INT(system(cmd), 0);
    cc_err e = {0};
    cfg = adapt(a, src);
    T_OK(cfg && cc_autohttps_apply(a, cfg, &e) == NULL, "bundle without a key refused");
    T_HAS(e.msg, "only-cert.pem: no private key found");
    cc_err_clear(&e);
    /* a bad certificate file is a config error with its position */
    cfg = adapt(a, "example.com {\n\ttls /nonexistent/x.crt /nonexistent/x.key\n}\n");
    T_OK(cfg && cc_autohttps_apply(a, cfg, &e) == NULL, "missing cert file refused");
    T_HAS(e.msg, "loading certificates: reading certificate file /nonexistent/x.crt: No such file");
    cc_err_clear(&e);
    src = cc_arena_printf(a, "example.com {\n\ttls %s %s\n}\n", key, crt);
    cfg = adapt(a, src);
    T_OK(cfg && cc_autohttps_apply(a, cfg, &e) == NULL, "swapped cert and key refused");
    T_HAS(e.msg, "loading certificates:");
}

static void test_http_sites(cc_arena *a)
{
    cc_cfg *cfg;
    cc_autohttps *p = apply_cf(a, "http://example.com {\n\trespond x\n}\n", &cfg);
    if (!p)
        return;
    T_INT(p->nnames, 0);
    T_OK(path(cfg, "apps/tls") == NULL, "no TLS app for http:// only");
    T_OK(path(cfg, "apps/http/servers/srv0/tls_connection_policies") == NULL, "untouched");
    T_INT(cc_cfg_len(path(cfg, "apps/http/servers")), 1);

    /* an http:// site and an HTTPS site: redirects go into the user's :80 server, after
     * its host routes */
    p = apply_cf(a, "http://a.example.com {\n\trespond a\n}\nb.example.com {\n\trespond b\n}\n",
                 &cfg);
    if (!p)
        return;
    T_INT(cc_cfg_len(path(cfg, "apps/http/servers")), 2);
    cc_cfg *routes = path(cfg, "apps/http/servers/srv1/routes");
    T_INT(cc_cfg_len(routes), 3);
    T_JSON(path(routes, "0/match/0/host"), "['a.example.com']");
    T_JSON(path(routes, "1"), REDIR("'host':['b.example.com'],", LOC));
    T_JSON(path(routes, "2"), CATCHALL);
    T_OK(path(cfg, "apps/http/servers/srv1/tls_connection_policies") == NULL,
         "HTTP server stays plain");
    T_STR(issuer_of(a, p, "b.example.com"), "acme https://acme-v02.api.letsencrypt.org/directory");
    T_STR(issuer_of(a, p, "a.example.com"), "none");
    T_OK(provisions(cfg), "provisions");

    /* a user catch-all on :80: the redirects go before it, the final catch-all after */
    p = apply_cf(a, ":80 {\n\trespond fallback\n}\nexample.com {\n}\n", &cfg);
    if (!p)
        return;
    routes = path(cfg, "apps/http/servers/srv1/routes");
    if (!routes)
        routes = path(cfg, "apps/http/servers/srv0/routes");
    T_INT(cc_cfg_len(routes), 3);
    T_JSON(path(routes, "0"), REDIR("'host':['example.com'],", LOC));
    T_JSON(path(routes, "1/handle/0/body"), "'fallback'");
    T_JSON(path(routes, "2"), CATCHALL);
}

static void test_issuers(cc_arena *a)
{
    cc_cfg *cfg;
    cc_autohttps *p = apply_cf(a, "{\n\tlocal_certs\n}\nexample.com {\n}\n", &cfg);
    if (!p)
        return;
    T_STR(issuer_of(a, p, "example.com"), "internal local");
    p = apply_cf(a, "example.com {\n\ttls internal\n}\nfoo.com {\n}\n", &cfg);
    if (!p)
        return;
    T_STR(issuer_of(a, p, "example.com"), "internal local");
    T_STR(issuer_of(a, p, "foo.com"), "acme https://acme-v02.api.letsencrypt.org/directory");
    p = apply_cf(a, "example.com {\n\ttls admin@example.com\n}\n", &cfg);
    if (!p)
        return;
    T_STR(issuer_of(a, p, "example.com"),
          "acme https://acme-v02.api.letsencrypt.org/directory admin@example.com, acme "
          "https://acme.zerossl.com/v2/DV90 admin@example.com");
    p = apply_cf(
        a,
        "{\n\temail ops@example.com\n\tacme_ca https://127.0.0.1:14000/dir\n\tacme_ca_root "
        "/tmp/pebble.pem\n\tkey_type p384\n}\nexample.com, localhost, 8.8.8.8 {\n}\n",
        &cfg);
    if (!p)
        return;
    T_STR(issuer_of(a, p, "example.com"), "acme https://127.0.0.1:14000/dir ops@example.com");
    T_STR(issuer_of(a, p, "localhost"), "internal local");
    T_STR(issuer_of(a, p, "8.8.8.8"), "internal local"); /* the adapter's choice */
    const cc_ah_policy *pol = cc_ah_policy_for(p, "example.com");
    T_STR(pol ? pol->key_type : NULL, "p384");
    T_STR(pol && pol->nissuers ? pol->issuers[0].ca_root : NULL, "/tmp/pebble.pem");
    /* without explicit policies every IP is internal */
    p = apply_cf(a, "8.8.8.8, 10.1.2.3, [::1] {\n}\n", &cfg);
    if (!p)
        return;
    T_STR(issuer_of(a, p, "8.8.8.8"), "internal local");
    T_STR(issuer_of(a, p, "10.1.2.3"), "internal local");
    T_STR(issuer_of(a, p, "::1"), "internal local");
    p = apply_cf(a,
                 "*.example.com {\n\ttls {\n\t\tissuer internal {\n\t\t\tlifetime "
                 "1m\n\t\t\tsign_with_root\n\t\t}\n\t}\n}\n",
                 &cfg);
    if (!p)
        return;
    pol = cc_ah_policy_for(p, "*.example.com");
    T_OK(pol && pol->nissuers == 1 && pol->issuers[0].kind == CC_ISS_INTERNAL &&
             pol->issuers[0].lifetime == 60 && pol->issuers[0].sign_with_root,
         "issuer internal options");
    p = apply_cf(a,
                 "example.com {\n\ttls {\n\t\tissuer acme {\n\t\t\tdir "
                 "https://ca.example.net/dir\n\t\t\teab kid mac\n\t\t\tdisable_http_challenge\n\t\t"
                 "}\n\t}\n}\n",
                 &cfg);
    if (!p)
        return;
    pol = cc_ah_policy_for(p, "example.com");
    T_OK(pol && pol->issuers[0].kind == CC_ISS_ACME && pol->issuers[0].disable_http01 &&
             !pol->issuers[0].disable_tlsalpn01,
         "challenge flags");
    T_STR(pol ? pol->issuers[0].eab_key_id : NULL, "kid");
    T_STR(pol ? pol->issuers[0].eab_mac_key : NULL, "mac");
    T_STR(pol ? pol->issuers[0].directory : NULL, "https://ca.example.net/dir");
    /* the pki app's CA settings reach the plan */
    p = apply_cf(a,
                 "{\n\tpki {\n\t\tca local {\n\t\t\tname \"My CA\"\n\t\t\tintermediate_lifetime "
                 "1h\n\t\t}\n\t}\n\tskip_install_trust\n\tdefault_sni localhost\n}\nlocalhost "
                 "{\n}\n",
                 &cfg);
    if (!p)
        return;
    T_INT(p->ncas, 1);
    T_STR(p->ncas ? p->cas[0].name : NULL, "My CA");
    T_INT(p->ncas ? p->cas[0].inter_lifetime : 0, 3600);
    T_OK(!p->install_trust, "skip_install_trust");
    T_STR(p->default_sni, "localhost");
}

static void test_json_options(cc_arena *a)
{
    cc_err e = {0};
    cc_cfg *cfg = json_cfg(
        a, "{'apps':{'http':{'servers':{'s':{'listen':[':443'],'automatic_https':{'skip':['skip."
           "com'],'skip_certificates':['nocert.com']},'routes':[{'match':[{'host':['a.com','skip."
           "com','nocert.com']}]}]}}}}}");
    cc_autohttps *p = cc_autohttps_apply(a, cfg, &e);
    T_OK(p != NULL, "apply: %s", e.msg);
    if (!p)
        return;
    T_STR(issuer_of(a, p, "a.com"), "acme https://acme-v02.api.letsencrypt.org/directory");
    T_STR(issuer_of(a, p, "skip.com"), "none");
    T_STR(issuer_of(a, p, "nocert.com"), "none");
    T_JSON(path(cfg, "apps/http/servers/remaining_auto_https_redirects/routes/0/match/0/host"),
           "['a.com','nocert.com']");

    /* TLS without names (a catch-all): redirects without a host matcher */
    cfg = json_cfg(a, "{'apps':{'http':{'servers':{'s':{'listen':[':443'],'tls_connection_"
                      "policies':[{}]}}}}}");
    p = cc_autohttps_apply(a, cfg, &e);
    if (!p)
        return;
    T_INT(p->nnames, 0);
    T_JSON(path(cfg, "apps/http/servers/remaining_auto_https_redirects/routes"),
           "[" CATCHALL "," CATCHALL "]");

    /* a server only on the HTTP port is left alone */
    cfg = json_cfg(a, "{'apps':{'http':{'servers':{'s':{'listen':[':80'],'routes':[{'match':[{"
                      "'host':['a.com']}]}]}}}}}");
    p = cc_autohttps_apply(a, cfg, &e);
    if (!p)
        return;
    T_INT(p->nnames, 0);
    T_OK(path(cfg, "apps/tls") == NULL, "plain HTTP server: nothing");
    /* disable on the server */
    cfg = json_cfg(a, "{'apps':{'http':{'servers':{'s':{'listen':[':443'],'automatic_https':{"
                      "'disable':true},'routes':[{'match':[{'host':['a.com']}]}]}}}}}");
    p = cc_autohttps_apply(a, cfg, &e);
    if (!p)
        return;
    T_INT(p->nnames, 0);
    T_OK(path(cfg, "apps/http/servers/s/tls_connection_policies") == NULL, "disabled");
    /* explicit policy without issuers and only internal names gets the internal issuer */
    cfg = json_cfg(a, "{'apps':{'http':{'servers':{'s':{'listen':[':443'],'routes':[{'match':[{"
                      "'host':['x.internal']}]}]}}},'tls':{'automation':{'policies':[{'subjects':["
                      "'x.internal'],'key_type':'p384'}]}}}}");
    p = cc_autohttps_apply(a, cfg, &e);
    if (!p)
        return;
    T_JSON(path(cfg, "apps/tls/automation/policies"),
           "[{'subjects':['x.internal'],'key_type':'p384','issuers':[{'module':'internal'}]},{}]");
    T_STR(issuer_of(a, p, "x.internal"), "internal local");
    /* with explicit policies a public IP goes to the catch-all's CA, as a name would */
    cfg = json_cfg(a, "{'apps':{'http':{'servers':{'s':{'listen':[':443'],'routes':[{'match':[{"
                      "'host':['8.8.8.8','127.0.0.1']}]}]}}},'tls':{'automation':{'policies':[{"
                      "'issuers':[{'module':'acme','ca':'https://ca.test/dir'}]}]}}}}");
    p = cc_autohttps_apply(a, cfg, &e);
    if (!p)
        return;
    T_STR(issuer_of(a, p, "8.8.8.8"), "acme https://ca.test/dir");
    T_STR(issuer_of(a, p, "127.0.0.1"), "internal local");
    T_JSON(path(cfg, "apps/tls/automation/policies"),
           "[{'subjects':['127.0.0.1'],'issuers':[{'module':'internal'}]},{'issuers':[{'module':"
           "'acme','ca':'https://ca.test/dir'}]}]");
    /* tls.certificates.automate names are managed too */
    cfg = json_cfg(a, "{'apps':{'tls':{'certificates':{'automate':['auto.example.com','auto."
                      "localhost']}}}}");
    p = cc_autohttps_apply(a, cfg, &e);
    if (!p)
        return;
    T_STR(issuer_of(a, p, "auto.example.com"),
          "acme https://acme-v02.api.letsencrypt.org/directory");
    T_STR(issuer_of(a, p, "auto.localhost"), "internal local");
    /* errors */
    cfg = json_cfg(
        a, "{'apps':{'http':{'servers':{'s':{'listen':[':443','::1:443'],'routes':[{'match':"
           "[{'host':['a.com']}]}]}}}}}");
    T_OK(cc_autohttps_apply(a, cfg, &e) == NULL, "ambiguous listener refused");
    T_HAS(e.msg, "s: invalid listener address: ::1:443, there are too many colons");
    cc_err_clear(&e);
    cfg = json_cfg(a, "{'apps':{'tls':{'automation':{'policies':[{'issuers':[{'module':'"
                      "zerossl_api'}]}]}},'http':{'servers':{'s':{'listen':[':443'],'routes':[{"
                      "'match':[{'host':['a.com']}]}]}}}}}");
    T_OK(cc_autohttps_apply(a, cfg, &e) == NULL, "unknown issuer refused");
    T_HAS(e.msg, "zerossl_api");
    cc_err_clear(&e);
    cfg = json_cfg(a, "{'apps':{'tls':{'automation':{'renew_interval':'soon'}}}}");
    T_OK(cc_autohttps_apply(a, cfg, &e) == NULL, "bad duration refused");
    T_HAS(e.msg, "invalid duration 'soon'");
    /* no config at all */
    p = cc_autohttps_apply(a, NULL, &e);
    T_OK(p && p->nnames == 0, "empty config");
    /* {env.*} host placeholders */
    setenv("AH_TEST_HOST", "env.example.com", 1);
    cfg = json_cfg(a, "{'apps':{'http':{'servers':{'s':{'listen':[':443'],'routes':[{'match':[{"
                      "'host':['{env.AH_TEST_HOST}']}]}]}}}}}");
    p = cc_autohttps_apply(a, cfg, &e);
    T_STR(p ? issuer_of(a, p, "env.example.com") : NULL,
          "acme https://acme-v02.api.letsencrypt.org/directory");
}

static void test_names(void)
{
    const char *cert_ok[] = {"example.com", "*.example.com", "*",
                             "localhost",   "127.0.0.1",     "a-b.c"};
    const char *cert_bad[] = {"",        "  ",      ".example.com", "example.com.",
                              "a.*.com", "a b",     "a@b.c",        "x{y}.com",
                              "a+b.com", "ex*.com", "a;b",          "[::1]"};
    for (size_t i = 0; i < sizeof(cert_ok) / sizeof(*cert_ok); i++)
        T_OK(cc_ah_qualifies_for_cert(cert_ok[i]), "qualifies: %s", cert_ok[i]);
    for (size_t i = 0; i < sizeof(cert_bad) / sizeof(*cert_bad); i++)
        T_OK(!cc_ah_qualifies_for_cert(cert_bad[i]), "does not qualify: '%s'", cert_bad[i]);
    const char *pub[] = {"example.com", "*.example.com", "8.8.8.8", "2001:db8::1", "a.b.c.d"};
    const char *notpub[] = {
        "localhost", "x.localhost", "printer.local", "db.internal", "nas.home.arpa",
        "127.0.0.1", "10.0.0.1",    "172.16.5.4",    "192.168.1.1", "169.254.1.1",
        "::1",       "fe80::1",     "fd00::1",       "*.com",       "*",
        "0.0.1.2",   "LOCALHOST",   "Db.Internal"};
    for (size_t i = 0; i < sizeof(pub) / sizeof(*pub); i++)
        T_OK(cc_ah_qualifies_for_public_cert(pub[i]), "public: %s", pub[i]);
    for (size_t i = 0; i < sizeof(notpub) / sizeof(*notpub); i++)
        T_OK(!cc_ah_qualifies_for_public_cert(notpub[i]), "not public: %s", notpub[i]);
    T_OK(!cc_ah_is_internal("172.32.0.1"), "172.32/12 is public");
    T_OK(cc_ah_is_internal("localhost:8443"), "port ignored");
    T_OK(cc_ah_is_ip("::1") && cc_ah_is_ip("[::1]") && cc_ah_is_ip("1.2.3.4"), "IPs");
    T_OK(!cc_ah_is_ip("example.com") && !cc_ah_is_ip("1.2.3"), "not IPs");
    T_OK(cc_ah_match_wildcard("a.example.com", "*.example.com"), "wildcard match");
    T_OK(cc_ah_match_wildcard("A.Example.com", "*.example.COM"), "case-insensitive");
    T_OK(cc_ah_match_wildcard("example.com", "example.com"), "exact");
    T_OK(cc_ah_match_wildcard("a.b.example.com", "a.*.example.com"), "inner label");
    T_OK(!cc_ah_match_wildcard("a.b.example.com", "*.example.com"), "one label only");
    T_OK(!cc_ah_match_wildcard("example.com", "*.example.com"), "no empty label");
    T_OK(!cc_ah_match_wildcard("a.example.com", "b.example.com"), "different");
}

/* wolfSSL 5.5.4 cannot load an Ed25519 certificate, so the key type is a config error at
 * load (with the option's file:line) instead of an issuance that is never served. */
static const char *apply_err(cc_arena *a, cc_cfg *cfg)
{
    static char msg[sizeof(((cc_err *)0)->msg)];
    cc_err e = {0};
    msg[0] = 0;
    if (!cfg)
        return "(adapt failed)";
    if (cc_autohttps_apply(a, cfg, &e))
        return "(applied)";
    snprintf(msg, sizeof(msg), "%s", e.msg);
    return msg;
}

#define ED_MSG                                                                                     \
    "key_type ed25519 is not supported by this build's TLS library (wolfSSL 5.5.4 cannot "         \
    "load Ed25519 certificates)"

static void test_key_type_ed25519(cc_arena *a)
{
    /* the global option */
    T_STR(apply_err(a, adapt(a, "{\n\tkey_type ed25519\n}\nexample.com {\n}\n")),
          "Caddyfile:2: " ED_MSG);
    /* the tls directive, ACME issuer */
    T_STR(apply_err(a, adapt(a, "example.com {\n\trespond hi\n\ttls {\n\t\tkey_type "
                                "ed25519\n\t}\n}\n")),
          "Caddyfile:4: " ED_MSG);
    /* the internal issuer, in the directive and with local_certs */
    T_STR(apply_err(a, adapt(a, "localhost {\n\ttls internal {\n\t\tkey_type ed25519\n\t}\n}\n")),
          "Caddyfile:3: " ED_MSG);
    T_STR(apply_err(a, adapt(a, "{\n\tlocal_certs\n\tkey_type ed25519\n}\nlocalhost {\n}\n")),
          "Caddyfile:3: " ED_MSG);
    /* JSON has no positions: the bare message */
    T_STR(apply_err(a, json_cfg(a, "{'apps':{'tls':{'automation':{'policies':[{'subjects':["
                                   "'x.internal'],'key_type':'ed25519','issuers':[{'module':"
                                   "'internal'}]}]}}}}")),
          ED_MSG);
    /* the other key types still load */
    T_STR(apply_err(a, adapt(a, "example.com {\n\ttls {\n\t\tkey_type rsa2048\n\t}\n}\n")),
          "(applied)");
    T_STR(apply_err(a, adapt(a, "{\n\tkey_type p256\n}\nexample.com {\n}\n")), "(applied)");
    T_STR(apply_err(a, adapt(a, "example.com {\n\ttls {\n\t\tkey_type rsa1024\n\t}\n}\n")),
          "Caddyfile:3: unknown key type: rsa1024");
}

int main(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/test_autohttps.XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    cc_modules_set(cc_handler_modules);
    cc_handler_types_set(cc_handler_types);
    cc_arena *a = cc_arena_new(0);
    test_names();
    test_localhost(a);
    test_public(a);
    test_ports(a);
    test_options(a);
    test_http_sites(a);
    test_issuers(a);
    test_json_options(a);
    test_key_type_ed25519(a);
    cc_arena_free(a);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmp);
    return t_done();
}
