/* SPDX-License-Identifier: Apache-2.0
 * The `servers [<listener>] { ... }` global option (Caddy's serverOptions): timeouts,
 * protocols, trusted proxies, listener wrappers and other HTTP server settings. The
 * result is one object with Caddy's server JSON keys plus "listener_address", which
 * the adapter copies into the servers it applies to. */
#include "optutil.h"

#include <ctype.h>
#include <string.h>

#include "units.h"

int cc_cf_servers_option_parse(cc_adapt *ad, cc_disp *d, cc_cfg **out);

static int dur_val(cc_disp *d, const char *what, cc_arena *a, cc_cfg *so, const char *key)
{
    int64_t ns;
    char msg[256];
    if (cc_cf_parse_duration_msg(cc_disp_val(d), &ns, msg, sizeof(msg)) != 0)
        return cc_disp_errf(d, "parsing %s: %s", what, msg);
    if (ns)
        cc_cfg_set_int(a, so, key, ns);
    else
        cc_cfg_del(so, key);
    return CC_OK;
}

/* read_body_idle / write_idle: <duration> [<min bytes per second>] */
static int idle_rate(cc_disp *d, cc_arena *a, cc_cfg *so, const char *sub, const char *dkey,
                     const char *rkey)
{
    size_t n = 0;
    const char **args = cc_disp_remaining_args(d, &n);
    if (n < 1 || n > 2)
        return cc_disp_arg_err(d);
    int64_t ns, rate;
    char msg[256];
    if (cc_cf_parse_duration_msg(args[0], &ns, msg, sizeof(msg)) != 0)
        return cc_disp_errf(d, "parsing %s timeout duration: %s", sub, msg);
    if (ns)
        cc_cfg_set_int(a, so, dkey, ns);
    if (n == 2) {
        if (cc_cf_opt_atoi(args[1], &rate) != 0)
            return cc_disp_errf(d, "parsing %s min_rate bytes/second: %s", sub,
                                cc_arena_printf(a,
                                                "strconv.ParseInt: parsing \"%s\": invalid "
                                                "syntax",
                                                args[1]));
        if (rate)
            cc_cfg_set_int(a, so, rkey, rate);
    }
    return CC_OK;
}

static int parse_timeouts(cc_disp *d, cc_arena *a, cc_cfg *so)
{
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        static const struct {
            const char *sub, *key;
        } simple[] = {
            {"read_body", "read_timeout"},
            {"read_header", "read_header_timeout"},
            {"write", "write_timeout"},
            {"idle", "idle_timeout"},
        };
        bool done = false;
        for (size_t i = 0; i < 4 && !done; i++) {
            if (strcmp(sub, simple[i].sub) != 0)
                continue;
            done = true;
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (dur_val(d, cc_arena_printf(a, "%s timeout duration", sub), a, so, simple[i].key) !=
                CC_OK)
                return CC_ERR;
        }
        if (done)
            continue;
        if (strcmp(sub, "read_body_idle") == 0) {
            if (idle_rate(d, a, so, sub, "read_idle_timeout", "read_min_rate") != CC_OK)
                return CC_ERR;
        } else if (strcmp(sub, "write_idle") == 0) {
            if (idle_rate(d, a, so, sub, "write_idle_timeout", "write_min_rate") != CC_OK)
                return CC_ERR;
        } else if (strcmp(sub, "write_max_chunk") == 0) {
            const char *arg;
            int64_t size;
            char msg[128];
            if (!cc_cf_one_arg(d, &arg))
                return cc_disp_arg_err(d);
            if (cc_cf_parse_size_msg(arg, &size, msg, sizeof(msg)) != 0)
                return cc_disp_errf(d, "parsing write_max_chunk: %s", msg);
            if (size)
                cc_cfg_set_int(a, so, "max_write_chunk", size);
        } else {
            return cc_disp_errf(d, "unrecognized timeouts option '%s'", sub);
        }
    }
    return CC_OK;
}

/* One listener wrapper; cursor on its name. */
static int parse_listener_wrapper(cc_disp *pd, cc_arena *a, cc_cfg *list)
{
    const char *name = cc_disp_val(pd);
    cc_cfg *w = cc_cfg_obj(a);
    cc_cfg_set_str(a, w, "wrapper", name);
    if (strcmp(name, "tls") == 0 || strcmp(name, "http_redirect") == 0) {
        cc_disp_new_from_next_segment(pd);
        cc_cfg_push(a, list, w);
        return CC_OK;
    }
    if (strcmp(name, "proxy_protocol") != 0)
        return cc_cf_unknown_module(pd, cc_arena_printf(a, "caddy.listeners.%s", name));
    cc_disp *d = cc_disp_new_from_next_segment(pd);
    cc_disp_next(d);
    if (cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "timeout") == 0) {
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (dur_val(d, "proxy_protocol timeout duration", a, w, "timeout") != CC_OK)
                return CC_ERR;
        } else if (strcmp(sub, "allow") == 0 || strcmp(sub, "deny") == 0) {
            size_t n = 0;
            const char **args = cc_disp_remaining_args(d, &n);
            cc_cfg *l = cc_cfg_get(w, sub);
            for (size_t i = 0; i < n; i++) {
                if (!l)
                    l = cc_cfg_child_arr(a, w, sub);
                cc_cfg_push_str(a, l, args[i]);
            }
        } else if (strcmp(sub, "fallback_policy") == 0) {
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            char up[16];
            const char *v = cc_disp_val(d);
            size_t i = 0;
            for (; v[i] && i < sizeof(up) - 1; i++)
                up[i] = (char)toupper((unsigned char)v[i]);
            up[i] = '\0';
            static const char *const policies[] = {"IGNORE", "USE", "REJECT", "REQUIRE", "SKIP"};
            int found = -1;
            for (int k = 0; k < 5; k++)
                if (!v[i] && strcmp(up, policies[k]) == 0)
                    found = k;
            if (found < 0)
                return cc_disp_errf(d, "%s is invalid policy", v);
            if (found > 0)
                cc_cfg_set_str(a, w, "fallback_policy", policies[found]);
            else
                cc_cfg_del(w, "fallback_policy");
        } else {
            return cc_disp_arg_err(d);
        }
    }
    cc_cfg_push(a, list, w);
    return CC_OK;
}

static int parse_trusted_proxies(cc_disp *pd, cc_arena *a, cc_cfg *so)
{
    if (!cc_disp_next_arg(pd))
        return cc_disp_errf(pd, "trusted_proxies expects an IP range source module name as its "
                                "first argument");
    const char *name = cc_disp_val(pd);
    if (strcmp(name, "static") != 0)
        return cc_cf_unknown_module(pd, cc_arena_printf(a, "http.ip_sources.%s", name));
    cc_disp *d = cc_disp_new_from_next_segment(pd);
    cc_disp_next(d);
    cc_cfg *src = cc_cfg_obj(a);
    cc_cfg_set_str(a, src, "source", "static");
    cc_cfg *ranges = NULL;
    static const char *const private_ranges[] = {"192.168.0.0/16", "172.16.0.0/12", "10.0.0.0/8",
                                                 "127.0.0.1/8",    "fd00::/8",      "::1"};
    while (cc_disp_next_arg(d)) {
        if (!ranges)
            ranges = cc_cfg_child_arr(a, src, "ranges");
        if (strcmp(cc_disp_val(d), "private_ranges") == 0) {
            for (size_t i = 0; i < 6; i++)
                cc_cfg_push_str(a, ranges, private_ranges[i]);
        } else {
            cc_cfg_push_str(a, ranges, cc_disp_val(d));
        }
    }
    cc_cfg_set(a, so, "trusted_proxies", src);
    return CC_OK;
}

/* protocols / client_ip_headers: unique names on one line, no block. */
static int unique_list(cc_disp *d, cc_arena *a, cc_cfg *so, const char *key, bool protocols)
{
    cc_cfg *list = cc_cfg_get(so, key);
    if (!list)
        list = cc_cfg_arr(a);
    while (cc_disp_next_arg(d)) {
        const char *v = cc_disp_val(d);
        if (protocols && strcmp(v, "h1") != 0 && strcmp(v, "h2") != 0 && strcmp(v, "h2c") != 0 &&
            strcmp(v, "h3") != 0)
            return cc_disp_errf(d, "unknown protocol '%s': expected h1, h2, h2c, or h3", v);
        if (cc_cfg_arr_has_str(list, v))
            return cc_disp_errf(d,
                                protocols ? "protocol %s specified more than once"
                                          : "client IP header %s specified more than once",
                                v);
        cc_cfg_push_str(a, list, v);
    }
    if (cc_disp_next_block(d, cc_disp_nesting(d)))
        return cc_disp_arg_err(d);
    if (cc_cfg_len(list))
        cc_cfg_set(a, so, key, list);
    else
        cc_cfg_del(so, key);
    return CC_OK;
}

int cc_cf_servers_option_parse(cc_adapt *ad, cc_disp *d, cc_cfg **out)
{
    cc_arena *a = ad->a;
    cc_cfg *so = cc_cfg_obj(a);
    *out = so;
    cc_disp_next(d);
    cc_cfg_at(so, cc_disp_file(d), cc_disp_line(d));
    const char *listener = "";
    if (cc_disp_next_arg(d)) {
        listener = cc_disp_val(d);
        if (cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
    }
    if (*listener)
        cc_cfg_set_str(a, so, "listener_address", listener);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "name") == 0) {
            if (!*listener)
                return cc_disp_errf(d, "cannot set a name for a server without a listener "
                                       "address");
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            cc_cfg_set_str(a, so, "name", cc_disp_val(d));
        } else if (strcmp(sub, "listener_wrappers") == 0 ||
                   strcmp(sub, "packet_conn_wrappers") == 0) {
            bool listeners = sub[0] == 'l';
            cc_cfg *list = cc_cfg_arr(a);
            for (int wnest = cc_disp_nesting(d); cc_disp_next_block(d, wnest);) {
                if (!listeners)
                    return cc_cf_unknown_module(
                        d, cc_arena_printf(a, "caddy.packetconns.%s", cc_disp_val(d)));
                if (parse_listener_wrapper(d, a, list) != CC_OK)
                    return CC_ERR;
            }
            if (cc_cfg_len(list))
                cc_cfg_set(a, so, sub, list);
            else
                cc_cfg_del(so, sub);
        } else if (strcmp(sub, "timeouts") == 0) {
            if (parse_timeouts(d, a, so) != CC_OK)
                return CC_ERR;
        } else if (strcmp(sub, "keepalive_interval") == 0 || strcmp(sub, "keepalive_idle") == 0) {
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (dur_val(d,
                        strcmp(sub, "keepalive_interval") == 0 ? "keepalive interval duration"
                                                               : "keepalive idle duration",
                        a, so, sub) != CC_OK)
                return CC_ERR;
        } else if (strcmp(sub, "keepalive_count") == 0) {
            int64_t n;
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (cc_cf_opt_atoi(cc_disp_val(d), &n) != 0 || n > INT32_MAX || n < INT32_MIN)
                return cc_disp_errf(d,
                                    "parsing keepalive count int: strconv.ParseInt: parsing "
                                    "\"%s\": %s",
                                    cc_disp_val(d),
                                    cc_cf_opt_atoi(cc_disp_val(d), &n) == 0 ? "value out of range"
                                                                            : "invalid syntax");
            if (n)
                cc_cfg_set_int(a, so, "keepalive_count", n);
        } else if (strcmp(sub, "max_header_size") == 0) {
            const char *arg;
            int64_t size;
            char msg[128];
            if (!cc_cf_one_arg(d, &arg))
                return cc_disp_arg_err(d);
            if (cc_cf_parse_size_msg(arg, &size, msg, sizeof(msg)) != 0)
                return cc_disp_errf(d, "parsing max_header_size: %s", msg);
            if (size > ((int64_t)64 << 10))
                cc_helper_warn(&(cc_helper){.d = d, .a = a, .err = d->err, .ad = ad},
                               "max_header_size %s: libmicrohttpd clears a connection's header "
                               "memory (this size plus 16 KiB) about 1.5 times per request, so "
                               "every request pays for a large limit (1MB: about 90 us of CPU "
                               "per request); heads over 64KB are rarely needed",
                               arg);
            if (size)
                cc_cfg_set_int(a, so, "max_header_bytes", size);
            else
                cc_cfg_del(so, "max_header_bytes");
        } else if (strcmp(sub, "enable_full_duplex") == 0 || strcmp(sub, "log_credentials") == 0 ||
                   strcmp(sub, "trusted_proxies_strict") == 0 ||
                   strcmp(sub, "trusted_proxies_unix") == 0 || strcmp(sub, "trace") == 0) {
            if (cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (strcmp(sub, "trusted_proxies_strict") == 0) {
                cc_cfg_set_int(a, so, sub, 1);
            } else if (strcmp(sub, "log_credentials") == 0 || strcmp(sub, "trace") == 0) {
                cc_cfg *logs = cc_cfg_child_obj(a, so, "logs");
                cc_cfg_set_bool(a, logs, sub[0] == 'l' ? "should_log_credentials" : "trace", true);
            } else {
                cc_cfg_set_bool(a, so, sub, true);
            }
        } else if (strcmp(sub, "expected_underscore_headers") == 0 ||
                   strcmp(sub, "expected_dot_headers") == 0) {
            size_t n = 0;
            const char **args = cc_disp_remaining_args(d, &n);
            if (n == 0)
                return cc_disp_arg_err(d);
            cc_cfg_set(a, so, sub, cc_cfg_str_arr(a, args, n));
        } else if (strcmp(sub, "protocols") == 0) {
            if (unique_list(d, a, so, "protocols", true) != CC_OK)
                return CC_ERR;
        } else if (strcmp(sub, "client_ip_headers") == 0) {
            if (unique_list(d, a, so, "client_ip_headers", false) != CC_OK)
                return CC_ERR;
        } else if (strcmp(sub, "strict_sni_host") == 0) {
            bool v = true;
            if (cc_disp_next_arg(d)) {
                const char *arg = cc_disp_val(d);
                if (strcmp(arg, "insecure_off") != 0 && strcmp(arg, "on") != 0)
                    return cc_disp_errf(
                        d, "strict_sni_host only supports 'on' or 'insecure_off', got '%s'", arg);
                v = strcmp(arg, "on") == 0;
            }
            cc_cfg_set_bool(a, so, "strict_sni_host", v);
        } else if (strcmp(sub, "trusted_proxies") == 0) {
            if (parse_trusted_proxies(d, a, so) != CC_OK)
                return CC_ERR;
        } else if (strcmp(sub, "metrics") == 0) {
            cc_helper_warn(
                &(cc_helper){.d = d, .a = a, .err = d->err, .ad = ad},
                "The nested 'metrics' option inside `servers` is deprecated and will be removed "
                "in the next major version. Use the global 'metrics' option instead.");
            cc_cfg *m = cc_cfg_obj(a);
            for (int mnest = cc_disp_nesting(d); cc_disp_next_block(d, mnest);) {
                if (strcmp(cc_disp_val(d), "per_host") != 0)
                    return cc_disp_errf(d, "unrecognized metrics option '%s'", cc_disp_val(d));
                cc_cfg_set_bool(a, m, "per_host", true);
            }
            cc_cfg_set(a, so, "metrics", m);
        } else if (strcmp(sub, "0rtt") == 0) {
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (strcmp(cc_disp_val(d), "off") != 0)
                return cc_disp_errf(d, "unsupported 0rtt argument '%s' (only 'off' is supported)",
                                    cc_disp_val(d));
            cc_cfg_set_bool(a, so, "allow_0rtt", false);
        } else {
            return cc_disp_errf(d, "unrecognized servers option '%s'", sub);
        }
    }
    return CC_OK;
}
