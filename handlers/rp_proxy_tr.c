/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy's `transport http` options (Caddy's HTTPTransport) read once per
 * handler and turned into libcurl options per exchange: dial and I/O timeouts,
 * keep-alive, connection limits, HTTP versions, upstream TLS (trust, server name,
 * client certificates, curves), local address, PROXY protocol and a forward proxy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../caddyfile/units.h"
#include "cfgval.h"
#include "../core/log.h"
#include "rp_proxy.h"

static long to_ms(int64_t ns)
{
    return ns <= 0 ? 0 : (long)((ns + 999999) / 1000000);
}

static long to_s(int64_t ns)
{
    return ns <= 0 ? 0 : (long)((ns + 999999999) / 1000000000);
}

/* ---- trust: PEM files and inline DER certificates into one PEM bundle ---- */

static int append_file(cc_arena *a, px_tr *tr, const char *path, const cc_cfg *at, cc_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cc_err_setat(err, at ? at->file : NULL, at ? at->line : 0,
                            "loading trusted CA certificates: open %s: %s", path, strerror(errno));
    char buf[16384];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        char *nb = cc_arena_alloc(a, tr->ca_len + n + 2);
        if (tr->ca_len)
            memcpy(nb, tr->ca_blob, tr->ca_len);
        memcpy(nb + tr->ca_len, buf, n);
        tr->ca_blob = nb;
        tr->ca_len += n;
    }
    fclose(f);
    if (tr->ca_len && tr->ca_blob[tr->ca_len - 1] != '\n')
        tr->ca_blob[tr->ca_len++] = '\n';
    return CC_OK;
}

static void append_der_b64(cc_arena *a, px_tr *tr, const char *b64)
{
    static const char head[] = "-----BEGIN CERTIFICATE-----\n";
    static const char tail[] = "-----END CERTIFICATE-----\n";
    size_t n = strlen(b64);
    size_t need = tr->ca_len + sizeof(head) + n + n / 64 + 2 + sizeof(tail);
    char *nb = cc_arena_alloc(a, need);
    if (tr->ca_len)
        memcpy(nb, tr->ca_blob, tr->ca_len);
    size_t o = tr->ca_len;
    memcpy(nb + o, head, sizeof(head) - 1);
    o += sizeof(head) - 1;
    for (size_t i = 0; i < n; i += 64) {
        size_t k = n - i < 64 ? n - i : 64;
        memcpy(nb + o, b64 + i, k);
        o += k;
        nb[o++] = '\n';
    }
    memcpy(nb + o, tail, sizeof(tail) - 1);
    o += sizeof(tail) - 1;
    tr->ca_blob = nb;
    tr->ca_len = o;
}

static int provision_ca(cc_arena *a, px_tr *tr, const cc_cfg *tls, cc_err *err)
{
    const cc_cfg *files = cc_cfg_get(tls, "root_ca_pem_files");
    for (size_t i = 0; i < cc_cfg_len(files); i++) {
        const cc_cfg *f = cc_cfg_idx(files, i);
        if (f->type == CC_CFG_STR && append_file(a, tr, f->s.p, f, err))
            return CC_ERR;
    }
    const cc_cfg *ca = cc_cfg_get(tls, "ca");
    if (!ca || ca->type != CC_CFG_OBJ)
        return CC_OK;
    const char *prov = cc_cfgv_str(ca, "provider");
    if (prov && strcmp(prov, "file") == 0) {
        const cc_cfg *pf = cc_cfg_get(ca, "pem_files");
        for (size_t i = 0; i < cc_cfg_len(pf); i++) {
            const cc_cfg *f = cc_cfg_idx(pf, i);
            if (f->type == CC_CFG_STR && append_file(a, tr, f->s.p, f, err))
                return CC_ERR;
        }
        return CC_OK;
    }
    if (prov && strcmp(prov, "inline") == 0) {
        const cc_cfg *certs = cc_cfg_get(ca, "trusted_ca_certs");
        for (size_t i = 0; i < cc_cfg_len(certs); i++) {
            const cc_cfg *c = cc_cfg_idx(certs, i);
            if (c->type == CC_CFG_STR)
                append_der_b64(a, tr, c->s.p);
        }
        const cc_cfg *pf = cc_cfg_get(ca, "trusted_ca_certs_pem_files");
        for (size_t i = 0; i < cc_cfg_len(pf); i++) {
            const cc_cfg *f = cc_cfg_idx(pf, i);
            if (f->type == CC_CFG_STR && append_file(a, tr, f->s.p, f, err))
                return CC_ERR;
        }
        return CC_OK;
    }
    if (prov && strcmp(prov, "system") == 0)
        return CC_OK;
    return cc_cfgv_bad(err, cc_cfg_get(ca, "provider"), ca,
                       "tls trust pool provider '%s' is not supported by caddy-c's proxy transport "
                       "(use file, inline or system)",
                       prov ? prov : "");
}

static const char *curve_name(const char *c)
{
    static const char *const map[][2] = {
        {"x25519", "X25519"},
        {"secp256r1", "P-256"},
        {"secp384r1", "P-384"},
        {"secp521r1", "P-521"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(c, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

static int provision_tls(cc_arena *a, px_tr *tr, const cc_cfg *tls, cc_err *err)
{
    tr->tls = true;
    if (cc_cfgv_bool(tls, "insecure_skip_verify", &tr->tls_insecure, err))
        return CC_ERR;
    const char *sn = cc_cfgv_str(tls, "server_name");
    if (sn)
        tr->server_name = cc_tmpl_compile(a, sn);
    if (provision_ca(a, tr, tls, err))
        return CC_ERR;
    tr->client_cert = cc_cfgv_str(tls, "client_certificate_file");
    tr->client_key = cc_cfgv_str(tls, "client_certificate_key_file");
    if (cc_cfgv_str(tls, "client_certificate_automate"))
        return cc_cfgv_bad(
            err, cc_cfg_get(tls, "client_certificate_automate"), tls,
            "%sclient_certificate_automate is not supported by caddy-c's proxy transport", "");
    const cc_cfg *curves = cc_cfg_get(tls, "curves");
    for (size_t i = 0; i < cc_cfg_len(curves); i++) {
        const cc_cfg *c = cc_cfg_idx(curves, i);
        const char *n = c->type == CC_CFG_STR ? curve_name(c->s.p) : NULL;
        if (!n)
            return cc_cfgv_bad(err, c, tls, "invalid curve name: %s",
                               c->type == CC_CFG_STR ? c->s.p : "(not a string)");
        tr->curves = tr->curves ? cc_arena_printf(a, "%s:%s", tr->curves, n) : n;
    }
    const cc_cfg *ex = cc_cfg_get(tls, "except_ports");
    size_t n = cc_cfg_len(ex);
    if (n) {
        tr->except_ports = cc_arena_alloc(a, n * sizeof(char *));
        for (size_t i = 0; i < n; i++) {
            const cc_cfg *e = cc_cfg_idx(ex, i);
            if (e->type == CC_CFG_STR)
                tr->except_ports[tr->nexcept++] = e->s.p;
        }
    }
    const char *reneg = cc_cfgv_str(tls, "renegotiation");
    if (reneg && strcmp(reneg, "never") && strcmp(reneg, "once") && strcmp(reneg, "freely"))
        return cc_cfgv_bad(err, cc_cfg_get(tls, "renegotiation"), tls,
                           "invalid TLS renegotiation level: %s", reneg);
    int64_t hs = 0;
    if (cc_cfgv_dur(tls, "handshake_timeout", &hs, err))
        return CC_ERR;
    /* curl's connect timeout covers the TCP dial and the TLS handshake */
    if (hs > 0)
        tr->connect_ms += to_ms(hs);
    return CC_OK;
}

static int provision_versions(px_tr *tr, const cc_cfg *vs, cc_err *err)
{
    bool v11 = false, v2 = false, h2c = false;
    for (size_t i = 0; i < cc_cfg_len(vs); i++) {
        const cc_cfg *v = cc_cfg_idx(vs, i);
        const char *s = v->type == CC_CFG_STR ? v->s.p : "";
        if (strcmp(s, "1.1") == 0)
            v11 = true;
        else if (strcmp(s, "2") == 0)
            v2 = true;
        else if (strcmp(s, "h2c") == 0)
            h2c = true;
        else if (strcmp(s, "3") == 0)
            return cc_cfgv_bad(err, v, vs, "%sHTTP/3 upstreams are not supported by caddy-c", "");
        else
            return cc_cfgv_bad(err, v, vs, "unsupported HTTP version: %s", s);
    }
    tr->h2c = h2c;
    /* HTTP/2 is negotiated with ALPN on TLS when asked for explicitly; plain-text
     * upstreams speak 1.1 unless h2c is listed (prior knowledge, as Go's h2c) */
    (void)v11;
    if (v2)
        tr->httpver = CURL_HTTP_VERSION_2TLS;
    return CC_OK;
}

int px_tr_provision(cc_arena *a, const cc_cfg *t, px_tr *tr, px_key *key, cc_err *err)
{
    *tr = (px_tr){0};
    tr->httpver = CURL_HTTP_VERSION_1_1;
    tr->proxy = "";
    int64_t dial = 0, fallback = 0, idle = 0, probe = 0;
    int64_t max_idle = 0, per_host = 0, max_conns = 0, rbuf = 0, wbuf = 0;
    bool ka_enabled = true;
    if (t && t->type == CC_CFG_OBJ) {
        const char *proto = cc_cfgv_str(t, "protocol");
        if (proto && strcmp(proto, "http") != 0)
            return cc_cfgv_bad(err, cc_cfg_get(t, "protocol"), t,
                               "transport %s is not supported by caddy-c", proto);
        if (cc_cfgv_dur(t, "dial_timeout", &dial, err) ||
            cc_cfgv_dur(t, "dial_fallback_delay", &fallback, err) ||
            cc_cfgv_dur(t, "response_header_timeout", &tr->hdr_ns, err) ||
            cc_cfgv_dur(t, "read_timeout", &tr->read_ns, err) ||
            cc_cfgv_dur(t, "write_timeout", &tr->write_ns, err) ||
            cc_cfgv_int(t, "max_conns_per_host", &max_conns, err) ||
            cc_cfgv_int(t, "read_buffer_size", &rbuf, err) ||
            cc_cfgv_int(t, "write_buffer_size", &wbuf, err) ||
            cc_cfgv_int(t, "max_response_header_size", &tr->max_header, err))
            return CC_ERR;
        const cc_cfg *ka = cc_cfg_get(t, "keep_alive");
        if (ka && ka->type == CC_CFG_OBJ) {
            if (cc_cfgv_bool(ka, "enabled", &ka_enabled, err) ||
                cc_cfgv_dur(ka, "idle_timeout", &idle, err) ||
                cc_cfgv_dur(ka, "probe_interval", &probe, err) ||
                cc_cfgv_int(ka, "max_idle_conns", &max_idle, err) ||
                cc_cfgv_int(ka, "max_idle_conns_per_host", &per_host, err))
                return CC_ERR;
        }
        const cc_cfg *vs = cc_cfg_get(t, "versions");
        if (vs && vs->type == CC_CFG_ARR && provision_versions(tr, vs, err))
            return CC_ERR;
        const char *pp = cc_cfgv_str(t, "proxy_protocol");
        if (pp && strcmp(pp, "v1") == 0)
            tr->haproxy = true;
        else if (pp)
            return cc_cfgv_bad(
                err, cc_cfg_get(t, "proxy_protocol"), t,
                "proxy_protocol %s is not supported by caddy-c's proxy transport (v1 only)", pp);
        const char *la = cc_cfgv_str(t, "local_address");
        if (la)
            tr->iface = cc_arena_printf(a, "host!%s", la);
        const cc_cfg *np = cc_cfg_get(t, "network_proxy");
        if (np && np->type == CC_CFG_OBJ) {
            const char *from = cc_cfgv_str(np, "from");
            if (from && strcmp(from, "url") == 0 && cc_cfgv_str(np, "url"))
                tr->proxy = cc_cfgv_str(np, "url");
            else if (!from || strcmp(from, "none") != 0)
                return cc_cfgv_bad(err, np, t,
                                   "network_proxy source '%s' is not supported by caddy-c",
                                   from ? from : "");
        }
        const char *fpu = cc_cfgv_str(t, "forward_proxy_url");
        if (fpu)
            tr->proxy = fpu;
        const cc_cfg *res = cc_cfg_get(t, "resolver");
        if (res && res->type == CC_CFG_OBJ && cc_cfg_len(cc_cfg_get(res, "addresses")))
            cc_log(CC_LOG_WARN, "http.handlers.reverse_proxy", NULL,
                   "transport resolvers are not supported by this libcurl build; upstream "
                   "names are resolved with the system resolver");
        const cc_cfg *tls = cc_cfg_get(t, "tls");
        if (tls && tls->type == CC_CFG_OBJ && provision_tls(a, tr, tls, err))
            return CC_ERR;
    }
    tr->connect_ms += to_ms(dial > 0 ? dial : 3000000000LL);
    tr->happy_ms = fallback < 0 ? tr->connect_ms : (fallback > 0 ? to_ms(fallback) : 300);
    tr->keepalive_off = !ka_enabled;
    tr->idle_s = to_s(idle > 0 ? idle : 120000000000LL);
    tr->probe_s = probe < 0 ? 0 : to_s(probe > 0 ? probe : 30000000000LL);
    tr->bufsize = rbuf > 0 ? (long)rbuf : 0;
    tr->upbufsize = wbuf > 0 ? (long)wbuf : 0;
    key->max_host_conns = max_conns > 0 ? (long)max_conns : 0;
    key->max_idle = max_idle > 0 ? (long)max_idle : 0;
    tr->per_host_idle = per_host > 0 ? (long)per_host : 0;
    return CC_OK;
}
