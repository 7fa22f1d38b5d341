/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy `transport http { ... }`: every option of Caddy's HTTP transport
 * (timeouts, buffers, keep-alive, versions, TLS to the upstream, trust pools, resolvers,
 * PROXY protocol, network proxy), and the checks that tie the transport to the upstream
 * scheme (https enables TLS, h2c sets the versions). caddy-c has no FastCGI transport. */
#include <string.h>

#include "rp.h"

/* ---- small setters with Go's omitempty ---- */

static void set_int(cc_rp *rp, cc_cfg *obj, const char *key, int64_t v)
{
    if (v)
        cc_cfg_set_int(rp->a, obj, key, v);
    else
        cc_cfg_del(obj, key);
}

static void set_str(cc_rp *rp, cc_cfg *obj, const char *key, const char *v)
{
    if (*v)
        cc_cfg_set_str(rp->a, obj, key, v);
    else
        cc_cfg_del(obj, key);
}

/* Runs fn on a dispenser over the segment at the cursor (first token consumed), as
 * caddyfile.UnmarshalModule does for a module's own tokens. */
static int with_segment(cc_rp *rp, int (*fn)(cc_rp *, cc_cfg *), cc_cfg *obj)
{
    cc_disp *outer = rp->d;
    rp->d = cc_disp_new_from_next_segment(outer);
    cc_disp_next(rp->d);
    int rc = fn(rp, obj);
    rp->d = outer;
    return rc;
}

static int not_registered(cc_rp *rp, const char *ns, const char *name)
{
    return cc_disp_errf(rp->d, "getting module named '%s.%s': module not registered: %s.%s", ns,
                        name, ns, name);
}

/* Appends the line's remaining arguments to the string array under key. */
static void append_args(cc_rp *rp, cc_cfg *obj, const char *key)
{
    size_t n;
    const char **v = cc_disp_remaining_args(rp->d, &n);
    if (!n)
        return;
    cc_cfg *arr = cc_cfg_child_arr(rp->a, obj, key);
    for (size_t i = 0; i < n; i++)
        cc_cfg_push_str(rp->a, arr, v[i]);
}

/* ---- tls.ca_pool.source modules (tls_trust_pool) ---- */

static int pool_inline(cc_rp *rp, cc_cfg *obj)
{
    if (cc_disp_count_remaining_args(rp->d))
        return cc_disp_arg_err(rp->d);
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);) {
        if (strcmp(cc_disp_val(rp->d), "trust_der"))
            return cc_disp_errf(rp->d, "unrecognized directive: %s", cc_disp_val(rp->d));
        append_args(rp, obj, "trusted_ca_certs");
    }
    if (!cc_cfg_get(obj, "trusted_ca_certs"))
        return cc_disp_errf(rp->d, "no certificates specified");
    return CC_OK;
}

static int pool_file(cc_rp *rp, cc_cfg *obj)
{
    append_args(rp, obj, "pem_files");
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);) {
        if (strcmp(cc_disp_val(rp->d), "pem_file"))
            return cc_disp_errf(rp->d, "unrecognized directive: %s", cc_disp_val(rp->d));
        append_args(rp, obj, "pem_files");
    }
    if (!cc_cfg_get(obj, "pem_files"))
        return cc_disp_errf(rp->d, "no certificates specified");
    return CC_OK;
}

/* pki_root and pki_intermediate */
static int pool_pki(cc_rp *rp, cc_cfg *obj)
{
    append_args(rp, obj, "authority");
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);) {
        if (strcmp(cc_disp_val(rp->d), "authority"))
            return cc_disp_errf(rp->d, "unrecognized directive: %s", cc_disp_val(rp->d));
        append_args(rp, obj, "authority");
    }
    if (!cc_cfg_get(obj, "authority"))
        return cc_disp_errf(rp->d, "no authorities specified");
    return CC_OK;
}

static int pool_system(cc_rp *rp, cc_cfg *obj)
{
    (void)obj;
    if (cc_disp_count_remaining_args(rp->d))
        return cc_disp_arg_err(rp->d);
    if (cc_disp_next_block(rp->d, 0))
        return cc_disp_errf(rp->d, "system trust pool does not support any configuration");
    return CC_OK;
}

/* caddy.storage.file_system, the storage module caddy-c provides */
static int storage_file_system(cc_rp *rp, cc_cfg *obj)
{
    if (cc_disp_next_arg(rp->d))
        set_str(rp, obj, "root", cc_disp_val(rp->d));
    if (cc_disp_next_arg(rp->d))
        return cc_disp_arg_err(rp->d);
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);) {
        if (strcmp(cc_disp_val(rp->d), "root"))
            return cc_disp_errf(rp->d, "unrecognized parameter '%s'", cc_disp_val(rp->d));
        if (cc_rp_need_arg(rp))
            return CC_ERR;
        if (cc_cfg_get(obj, "root"))
            return cc_disp_errf(rp->d, "root already set");
        set_str(rp, obj, "root", cc_disp_val(rp->d));
        if (cc_rp_no_more_args(rp))
            return CC_ERR;
    }
    if (!cc_cfg_get(obj, "root"))
        return cc_disp_errf(rp->d,
                            "missing root path (to use default, omit storage config entirely)");
    return CC_OK;
}

static int pool_storage(cc_rp *rp, cc_cfg *obj)
{
    append_args(rp, obj, "pem_keys");
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);) {
        const char *opt = cc_disp_val(rp->d);
        if (!strcmp(opt, "keys")) {
            append_args(rp, obj, "pem_keys");
        } else if (!strcmp(opt, "storage")) {
            if (cc_cfg_get(obj, "storage"))
                return cc_disp_errf(rp->d, "storage module already set");
            if (cc_rp_need_arg(rp))
                return CC_ERR;
            if (strcmp(cc_disp_val(rp->d), "file_system"))
                return not_registered(rp, "caddy.storage", cc_disp_val(rp->d));
            cc_cfg *st = cc_cfg_obj(rp->a);
            cc_cfg_set_str(rp->a, st, "module", "file_system");
            if (with_segment(rp, storage_file_system, st))
                return CC_ERR;
            cc_cfg_set(rp->a, obj, "storage", st);
        } else {
            return cc_disp_errf(rp->d, "unrecognized directive: %s", opt);
        }
    }
    return CC_OK;
}

/* The tls block of the http pool (caddytls.TLSConfig's Caddyfile form). */
static int pool_http_tls(cc_rp *rp, cc_cfg *tls)
{
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);) {
        const char *opt = cc_disp_val(rp->d);
        if (!strcmp(opt, "ca")) {
            cc_cfg *ca = NULL;
            if (cc_rp_need_arg(rp) || cc_rp_parse_ca_pool(rp, &ca))
                return CC_ERR;
            cc_cfg_set(rp->a, tls, "ca", ca);
        } else if (!strcmp(opt, "insecure_skip_verify")) {
            cc_cfg_set_bool(rp->a, tls, "insecure_skip_verify", true);
        } else if (!strcmp(opt, "handshake_timeout")) {
            int64_t ns;
            if (cc_rp_need_arg(rp) || cc_rp_duration(rp, "bad timeout value '%s'", &ns))
                return CC_ERR;
            set_int(rp, tls, "handshake_timeout", ns);
        } else if (!strcmp(opt, "server_name")) {
            if (cc_rp_need_arg(rp))
                return CC_ERR;
            set_str(rp, tls, "server_name", cc_disp_val(rp->d));
        } else if (!strcmp(opt, "renegotiation")) {
            if (cc_rp_need_arg(rp))
                return CC_ERR;
            const char *v = cc_disp_val(rp->d);
            if (strcmp(v, "never") && strcmp(v, "once") && strcmp(v, "freely"))
                return cc_disp_errf(rp->d, "unrecognized renegotiation level: ");
            cc_cfg_set_str(rp->a, tls, "renegotiation", v);
        } else {
            return cc_disp_errf(rp->d, "unrecognized directive: %s", opt);
        }
    }
    return CC_OK;
}

static int pool_http(cc_rp *rp, cc_cfg *obj)
{
    append_args(rp, obj, "endpoints");
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);) {
        const char *opt = cc_disp_val(rp->d);
        if (!strcmp(opt, "endpoints")) {
            if (!cc_disp_count_remaining_args(rp->d))
                return cc_disp_arg_err(rp->d);
            append_args(rp, obj, "endpoints");
        } else if (!strcmp(opt, "tls")) {
            if (cc_cfg_get(obj, "tls"))
                return cc_disp_errf(rp->d, "tls block already defined");
            cc_cfg *tls = cc_cfg_obj(rp->a);
            cc_cfg_set(rp->a, obj, "tls", tls);
            if (pool_http_tls(rp, tls))
                return CC_ERR;
        } else {
            return cc_disp_errf(rp->d, "unrecognized directive: %s", opt);
        }
    }
    return CC_OK;
}

static int pool_combined(cc_rp *rp, cc_cfg *obj)
{
    if (cc_disp_count_remaining_args(rp->d))
        return cc_disp_arg_err(rp->d);
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);) {
        if (strcmp(cc_disp_val(rp->d), "source"))
            return cc_disp_errf(rp->d, "unrecognized directive: %s", cc_disp_val(rp->d));
        cc_cfg *src = NULL;
        if (cc_rp_need_arg(rp) || cc_rp_parse_ca_pool(rp, &src))
            return CC_ERR;
        cc_cfg_push(rp->a, cc_cfg_child_arr(rp->a, obj, "sources"), src);
    }
    if (!cc_cfg_get(obj, "sources"))
        return cc_disp_errf(rp->d, "no sources specified");
    return CC_OK;
}

int cc_rp_parse_ca_pool(cc_rp *rp, cc_cfg **out)
{
    static const struct {
        const char *name;
        int (*parse)(cc_rp *, cc_cfg *);
    } pools[] = {
        {"inline", pool_inline},        {"file", pool_file},         {"pki_root", pool_pki},
        {"pki_intermediate", pool_pki}, {"storage", pool_storage},   {"http", pool_http},
        {"system", pool_system},        {"combined", pool_combined},
    };
    const char *name = cc_disp_val(rp->d);
    for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
        if (strcmp(pools[i].name, name))
            continue;
        cc_cfg *obj = cc_cfg_obj(rp->a);
        cc_cfg_set_str(rp->a, obj, "provider", name);
        *out = obj;
        return with_segment(rp, pools[i].parse, obj);
    }
    return not_registered(rp, "tls.ca_pool.source", name);
}

/* ---- the http transport ---- */

static cc_cfg *tls_obj(cc_rp *rp, cc_cfg *t)
{
    return cc_rp_obj(rp, t, "tls");
}

static int network_proxy_url(cc_rp *rp, cc_cfg *obj)
{
    /* the URL is the token after the module name (the name itself if there is none) */
    cc_disp_next(rp->d);
    cc_cfg_set_str(rp->a, obj, "url", cc_disp_val(rp->d));
    return CC_OK;
}

static int network_proxy_none(cc_rp *rp, cc_cfg *obj)
{
    (void)rp;
    (void)obj;
    return CC_OK;
}

static int network_proxy(cc_rp *rp, cc_cfg *t)
{
    if (cc_rp_need_arg(rp))
        return CC_ERR;
    const char *name = cc_disp_val(rp->d);
    int (*fn)(cc_rp *, cc_cfg *) = !strcmp(name, "url")    ? network_proxy_url
                                   : !strcmp(name, "none") ? network_proxy_none
                                                           : NULL;
    if (!fn)
        return not_registered(rp, "caddy.network_proxy", name);
    cc_cfg *np = cc_cfg_obj(rp->a);
    cc_cfg_set_str(rp->a, np, "from", name);
    if (with_segment(rp, fn, np))
        return CC_ERR;
    cc_cfg_set(rp->a, t, "network_proxy", np);
    return CC_OK;
}

/* Options with one argument and a fixed kind. */
static int http_one(cc_rp *rp, cc_cfg *t, const char *opt)
{
    static const struct {
        const char *opt, *key;
        char kind; /* d duration, z size, i integer, s string */
        const char *fmt;
    } tab[] = {
        {"read_buffer", "read_buffer_size", 'z', "invalid read buffer size '%s'"},
        {"write_buffer", "write_buffer_size", 'z', "invalid write buffer size '%s'"},
        {"max_response_header", "max_response_header_size", 'z',
         "invalid max response header size '%s'"},
        {"read_timeout", "read_timeout", 'd', "invalid read timeout duration '%s'"},
        {"write_timeout", "write_timeout", 'd', "invalid write timeout duration '%s'"},
        {"dial_timeout", "dial_timeout", 'd', "bad timeout value '%s'"},
        {"dial_fallback_delay", "dial_fallback_delay", 'd', "bad fallback delay value '%s'"},
        {"response_header_timeout", "response_header_timeout", 'd', "bad timeout value '%s'"},
        {"expect_continue_timeout", "expect_continue_timeout", 'd', "bad timeout value '%s'"},
        {"max_conns_per_host", "max_conns_per_host", 'i', "bad integer value '%s'"},
        {"local_address", "local_address", 's', NULL},
    };
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        if (strcmp(tab[i].opt, opt))
            continue;
        int64_t v = 0;
        if (cc_rp_need_arg(rp))
            return CC_ERR;
        switch (tab[i].kind) {
        case 's':
            set_str(rp, t, tab[i].key, cc_disp_val(rp->d));
            return CC_OK;
        case 'z':
            if (cc_rp_size(rp, tab[i].fmt, &v))
                return CC_ERR;
            break;
        case 'd':
            if (cc_rp_duration(rp, tab[i].fmt, &v))
                return CC_ERR;
            break;
        default:
            if (cc_rp_atoi(rp, tab[i].fmt, &v))
                return CC_ERR;
        }
        set_int(rp, t, tab[i].key, v);
        return CC_OK;
    }
    return CC_RP_NOT_MINE;
}

static int http_keepalive(cc_rp *rp, cc_cfg *t, const char *opt)
{
    int64_t v;
    if (cc_rp_need_arg(rp))
        return CC_ERR;
    if (!strcmp(opt, "keepalive")) {
        cc_cfg *ka = cc_rp_obj(rp, t, "keep_alive");
        if (!strcmp(cc_disp_val(rp->d), "off")) {
            cc_cfg_set_bool(rp->a, ka, "enabled", false);
            return CC_OK;
        }
        if (cc_rp_duration(rp, "bad duration value '%s'", &v))
            return CC_ERR;
        set_int(rp, ka, "idle_timeout", v);
        return CC_OK;
    }
    if (!strcmp(opt, "keepalive_interval")) {
        if (cc_rp_duration(rp, "bad interval value '%s'", &v))
            return CC_ERR;
        set_int(rp, cc_rp_obj(rp, t, "keep_alive"), "probe_interval", v);
        return CC_OK;
    }
    if (cc_rp_atoi(rp, "bad integer value '%s'", &v))
        return CC_ERR;
    set_int(rp, cc_rp_obj(rp, t, "keep_alive"),
            strcmp(opt, "keepalive_idle_conns") ? "max_idle_conns_per_host" : "max_idle_conns", v);
    return CC_OK;
}

static int http_tls(cc_rp *rp, cc_cfg *t, const char *opt)
{
    size_t n;
    const char **args;
    if (!strcmp(opt, "tls")) {
        tls_obj(rp, t);
    } else if (!strcmp(opt, "tls_client_auth")) {
        cc_cfg *tls = tls_obj(rp, t);
        args = cc_disp_remaining_args(rp->d, &n);
        if (n == 1) {
            set_str(rp, tls, "client_certificate_automate", args[0]);
        } else if (n == 2) {
            set_str(rp, tls, "client_certificate_file", args[0]);
            set_str(rp, tls, "client_certificate_key_file", args[1]);
        } else {
            return cc_disp_arg_err(rp->d);
        }
    } else if (!strcmp(opt, "tls_insecure_skip_verify")) {
        if (cc_disp_next_arg(rp->d))
            return cc_disp_arg_err(rp->d);
        cc_cfg_set_bool(rp->a, tls_obj(rp, t), "insecure_skip_verify", true);
    } else if (!strcmp(opt, "tls_curves")) {
        args = cc_disp_remaining_args(rp->d, &n);
        if (!n)
            return cc_disp_arg_err(rp->d);
        cc_cfg_set(rp->a, tls_obj(rp, t), "curves", cc_cfg_str_arr(rp->a, args, n));
    } else if (!strcmp(opt, "tls_timeout")) {
        int64_t v;
        if (cc_rp_need_arg(rp) || cc_rp_duration(rp, "bad timeout value '%s'", &v))
            return CC_ERR;
        set_int(rp, tls_obj(rp, t), "handshake_timeout", v);
    } else if (!strcmp(opt, "tls_trusted_ca_certs")) {
        cc_helper_warn(rp->h, "The 'tls_trusted_ca_certs' field is deprecated. Use the "
                              "'tls_trust_pool' field instead.");
        args = cc_disp_remaining_args(rp->d, &n);
        if (!n)
            return cc_disp_arg_err(rp->d);
        cc_cfg *tls = tls_obj(rp, t);
        if (cc_cfg_get(tls, "ca"))
            return cc_disp_errf(rp->d,
                                "cannot specify both 'tls_trust_pool' and 'tls_trusted_ca_certs");
        cc_cfg_set(rp->a, tls, "root_ca_pem_files", cc_cfg_str_arr(rp->a, args, n));
    } else if (!strcmp(opt, "tls_server_name")) {
        if (cc_rp_need_arg(rp))
            return CC_ERR;
        set_str(rp, tls_obj(rp, t), "server_name", cc_disp_val(rp->d));
    } else if (!strcmp(opt, "tls_renegotiation")) {
        cc_cfg *tls = tls_obj(rp, t);
        if (cc_rp_need_arg(rp))
            return CC_ERR;
        const char *v = cc_disp_val(rp->d);
        if (strcmp(v, "never") && strcmp(v, "once") && strcmp(v, "freely"))
            return cc_disp_arg_err(rp->d);
        cc_cfg_set_str(rp->a, tls, "renegotiation", v);
    } else if (!strcmp(opt, "tls_except_ports")) {
        cc_cfg *tls = tls_obj(rp, t);
        args = cc_disp_remaining_args(rp->d, &n);
        if (!n)
            return cc_disp_arg_err(rp->d);
        cc_cfg_set(rp->a, tls, "except_ports", cc_cfg_str_arr(rp->a, args, n));
    } else if (!strcmp(opt, "tls_trust_pool")) {
        cc_cfg *ca = NULL;
        if (cc_rp_need_arg(rp) || cc_rp_parse_ca_pool(rp, &ca))
            return CC_ERR;
        cc_cfg *tls = tls_obj(rp, t);
        if (cc_cfg_get(tls, "root_ca_pem_files"))
            return cc_disp_errf(rp->d,
                                "cannot specify both 'tls_trust_pool' and 'tls_trusted_ca_certs'");
        if (cc_cfg_get(tls, "ca"))
            return cc_disp_errf(rp->d, "cannot specify \"tls_trust_pool\" twice in caddyfile");
        cc_cfg_set(rp->a, tls, "ca", ca);
    } else {
        return CC_RP_NOT_MINE;
    }
    return CC_OK;
}

static int http_opt(cc_rp *rp, cc_cfg *t, const char *opt)
{
    int rc = http_one(rp, t, opt);
    if (rc != CC_RP_NOT_MINE)
        return rc;
    if (!strncmp(opt, "tls", 3) && (rc = http_tls(rp, t, opt)) != CC_RP_NOT_MINE)
        return rc;
    if (!strncmp(opt, "keepalive", 9) &&
        (!strcmp(opt, "keepalive") || !strcmp(opt, "keepalive_interval") ||
         !strcmp(opt, "keepalive_idle_conns") || !strcmp(opt, "keepalive_idle_conns_per_host")))
        return http_keepalive(rp, t, opt);
    if (!strcmp(opt, "proxy_protocol")) {
        if (cc_rp_need_arg(rp))
            return CC_ERR;
        const char *v = cc_disp_val(rp->d);
        if (strcmp(v, "v1") && strcmp(v, "v2"))
            return cc_disp_errf(rp->d, "invalid proxy protocol version '%s'", v);
        cc_cfg_set_str(rp->a, t, "proxy_protocol", v);
        return CC_OK;
    }
    if (!strcmp(opt, "forward_proxy_url")) {
        cc_helper_warn(rp->h, "The 'forward_proxy_url' field is deprecated. Use 'network_proxy "
                              "<url>' instead.");
        if (cc_rp_need_arg(rp))
            return CC_ERR;
        cc_cfg *np = cc_cfg_obj(rp->a);
        cc_cfg_set_str(rp->a, np, "from", "url");
        cc_cfg_set_str(rp->a, np, "url", cc_disp_val(rp->d));
        cc_cfg_set(rp->a, t, "network_proxy", np);
        return CC_OK;
    }
    if (!strcmp(opt, "network_proxy"))
        return network_proxy(rp, t);
    if (!strcmp(opt, "resolvers")) {
        size_t n;
        const char **v = cc_disp_remaining_args(rp->d, &n);
        if (!n)
            return cc_disp_errf(rp->d, "must specify at least one resolver address");
        cc_cfg_set(rp->a, cc_rp_obj(rp, t, "resolver"), "addresses", cc_cfg_str_arr(rp->a, v, n));
        return CC_OK;
    }
    if (!strcmp(opt, "versions")) {
        size_t n;
        const char **v = cc_disp_remaining_args(rp->d, &n);
        if (!n)
            return cc_disp_arg_err(rp->d);
        cc_cfg_set(rp->a, t, "versions", cc_cfg_str_arr(rp->a, v, n));
        return CC_OK;
    }
    if (!strcmp(opt, "compression")) {
        if (cc_disp_next_arg(rp->d) && !strcmp(cc_disp_val(rp->d), "off"))
            cc_cfg_set_bool(rp->a, t, "compression", false);
        return CC_OK;
    }
    return cc_disp_errf(rp->d, "unrecognized subdirective %s", opt);
}

static int parse_http(cc_rp *rp, cc_cfg *t)
{
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);)
        if (http_opt(rp, t, cc_disp_val(rp->d)))
            return CC_ERR;
    return CC_OK;
}

int cc_rp_transport_sub(cc_rp *rp, const char *sub)
{
    if (strcmp(sub, "transport"))
        return CC_RP_NOT_MINE;
    if (cc_rp_need_arg(rp))
        return CC_ERR;
    if (rp->transport)
        return cc_disp_errf(rp->d, "transport already specified");
    const char *name = cc_disp_val(rp->d);
    if (!strcmp(name, "fastcgi"))
        return cc_disp_errf(rp->d, "transport fastcgi is not supported by caddy-c");
    if (strcmp(name, "http"))
        return not_registered(rp, "http.reverse_proxy.transport", name);
    cc_cfg *t = cc_cfg_obj(rp->a);
    cc_cfg_set_str(rp->a, t, "protocol", "http");
    if (with_segment(rp, parse_http, t))
        return CC_ERR;
    rp->transport = t;
    rp->transport_http = true;
    return CC_OK;
}

int cc_rp_transport_finish(cc_rp *rp)
{
    const char *scheme = rp->scheme ? rp->scheme : "";
    bool https = !strcmp(scheme, "https"), h2c = !strcmp(scheme, "h2c");
    if ((https || h2c) && !rp->transport) {
        rp->transport = cc_cfg_obj(rp->a);
        cc_cfg_set_str(rp->a, rp->transport, "protocol", "http");
        rp->transport_http = true;
    }
    cc_cfg *t = rp->transport;
    if (!t)
        return CC_OK;
    if (https && !cc_cfg_get(t, "tls"))
        tls_obj(rp, t);
    if (cc_cfg_get(t, "tls")) {
        /* TLS upstreams already get Host: {upstream_hostport} at run time */
        cc_cfg *set = cc_cfg_get(cc_cfg_get(cc_cfg_get(rp->out, "headers"), "request"), "set");
        cc_cfg *hv = cc_cfg_idx(cc_cfg_get(set, "Host"), 0);
        const char *host = hv && hv->type == CC_CFG_STR ? hv->s.p : NULL;
        if (host && (!strcmp(host, "{upstream_hostport}") ||
                     !strcmp(host, "{http.reverse_proxy.upstream.hostport}")))
            cc_helper_warn(rp->h, "Unnecessary header_up Host: the reverse proxy's default "
                                  "behavior is to pass the configured upstream address to the "
                                  "upstream when proxying to HTTPS");
        if (!strcmp(scheme, "http"))
            return cc_disp_errf(rp->d, "upstream address scheme is HTTP but transport is "
                                       "configured for HTTP+TLS (HTTPS)");
    }
    if (h2c) {
        const char *v[] = {"h2c", "2"};
        cc_cfg_set(rp->a, t, "versions", cc_cfg_str_arr(rp->a, v, 2));
    }
    /* an all-default http transport is not written */
    if (cc_cfg_len(t) > 1)
        cc_cfg_set(rp->a, rp->out, "transport", t);
    return CC_OK;
}
