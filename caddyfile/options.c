/* SPDX-License-Identifier: Apache-2.0
 * The global options block (Caddy's registered global options, caddy-reference.md 2.2).
 * Each option is parsed with Caddy's syntax and errors into ad->opts, in the value
 * shapes documented in adapt_internal.h, for the adapter and tlsapp.c to consume. */
#include "optutil.h"

#include <stdlib.h>
#include <string.h>

#include "units.h"

int cc_cf_servers_option_parse(cc_adapt *ad, cc_disp *d, cc_cfg **out);

typedef int (*opt_fn)(cc_adapt *ad, cc_disp *d, const char *name);

static void set_opt(cc_adapt *ad, const char *name, cc_cfg *v)
{
    cc_cfg_set(ad->a, ad->opts, name, v);
}

static int opt_true(cc_adapt *ad, cc_disp *d, const char *name)
{
    (void)d;
    set_opt(ad, name, cc_cfg_bool(ad->a, true));
    return CC_OK;
}

static int opt_port(cc_adapt *ad, cc_disp *d, const char *name)
{
    const char *s;
    int64_t port;
    cc_disp_next(d);
    if (!cc_cf_one_arg(d, &s))
        return cc_disp_arg_err(d);
    if (cc_cf_opt_atoi(s, &port) != 0)
        return cc_disp_errf(d, "converting port '%s' to integer value: %s", s,
                            cc_cf_opt_atoi_errmsg(ad->a, s));
    set_opt(ad, name, cc_cfg_int(ad->a, port));
    return CC_OK;
}

static int opt_default_bind(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_disp_next(d);
    size_t n = 0;
    const char **addrs = cc_disp_remaining_args(d, &n);
    cc_cfg *list = cc_cfg_get(ad->opts, name);
    if (!list) {
        list = cc_cfg_arr(ad->a);
        set_opt(ad, name, list);
    }
    if (n == 0)
        cc_cfg_push_str(ad->a, list, "");
    for (size_t i = 0; i < n; i++)
        cc_cfg_push_str(ad->a, list, addrs[i]);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        if (strcmp(cc_disp_val(d), "protocols") != 0)
            return cc_disp_errf(d, "unknown subdirective: %s", cc_disp_val(d));
        size_t np = 0;
        const char **p = cc_disp_remaining_args(d, &np);
        if (np == 0)
            return cc_disp_errf(d, "protocols requires one or more arguments");
        set_opt(ad, "default_bind_protocols", cc_cfg_str_arr(ad->a, p, np));
    }
    return CC_OK;
}

static int opt_duration(cc_adapt *ad, cc_disp *d, const char *name)
{
    int64_t ns;
    cc_disp_next(d);
    if (!cc_disp_next(d))
        return cc_disp_arg_err(d);
    if (cc_cf_dur_tok(d, cc_arena_printf(ad->a, "parsing %s duration", name), &ns) != CC_OK)
        return CC_ERR;
    set_opt(ad, name, cc_cfg_int(ad->a, ns));
    return CC_OK;
}

static int opt_string(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_disp_next(d);
    if (!cc_disp_next(d))
        return cc_disp_arg_err(d);
    /* the value's position, for errors found later (key_type when provisioning) */
    cc_cfg *v = cc_cfg_at(cc_cfg_str(ad->a, cc_disp_val(d)), cc_disp_file(d), cc_disp_line(d));
    if (cc_disp_next(d))
        return cc_disp_arg_err(d);
    set_opt(ad, name, v);
    return CC_OK;
}

/* Caddy's parseOptOrder, applied to the order in effect so far. */
static int opt_order(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_arena *a = ad->a;
    cc_disp_next(d);
    if (!cc_disp_next(d))
        return cc_disp_arg_err(d);
    const char *dir = cc_disp_val(d);
    if (!cc_cf_find_module(dir) && !cc_module_find(dir))
        return cc_disp_errf(d, "%s is not a registered directive", dir);
    if (!cc_disp_next(d))
        return cc_disp_arg_err(d);
    const char *pos = cc_disp_val(d);

    cc_cfg *cur = cc_cfg_get(ad->opts, name);
    cc_cfg *order = cc_cfg_arr(a);
    if (cur) {
        for (size_t i = 0; i < cc_cfg_len(cur); i++)
            if (strcmp(cc_cfg_idx(cur, i)->s.p, dir) != 0)
                cc_cfg_push(a, order, cc_cfg_idx(cur, i));
    } else {
        for (size_t i = 0; cc_cf_default_order[i]; i++)
            if (strcmp(cc_cf_default_order[i], dir) != 0)
                cc_cfg_push_str(a, order, cc_cf_default_order[i]);
    }
    if (strcmp(pos, "first") == 0 || strcmp(pos, "last") == 0) {
        if (pos[0] == 'f')
            cc_cfg_insert(a, order, 0, cc_cfg_str(a, dir));
        else
            cc_cfg_push_str(a, order, dir);
        if (cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
    } else if (strcmp(pos, "before") == 0 || strcmp(pos, "after") == 0) {
        if (!cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        const char *other = cc_disp_val(d);
        if (cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        size_t idx = 0;
        bool found = false;
        for (; idx < cc_cfg_len(order); idx++)
            if (strcmp(cc_cfg_idx(order, idx)->s.p, other) == 0) {
                found = true;
                break;
            }
        if (!found)
            return cc_disp_errf(d, "directive '%s' not found", other);
        if (pos[0] == 'a')
            idx++;
        cc_cfg_insert(a, order, idx, cc_cfg_str(a, dir));
    } else {
        return cc_disp_errf(d, "unknown positional '%s'", pos);
    }
    set_opt(ad, name, order);
    const char **list = cc_arena_alloc(a, (cc_cfg_len(order) + 1) * sizeof(*list));
    for (size_t i = 0; i < cc_cfg_len(order); i++)
        list[i] = cc_cfg_idx(order, i)->s.p;
    ad->order = list;
    return CC_OK;
}

/* file_system and caddy-c's sqlite storage share one syntax: `<mod> [<x>]` or a block
 * with one setting (root / path). */
static int storage_module(cc_disp *d, cc_arena *a, cc_cfg *st, const char *key, bool required)
{
    const char *val = NULL;
    cc_disp_next(d);
    if (cc_disp_next_arg(d))
        val = cc_disp_val(d);
    if (cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        if (strcmp(cc_disp_val(d), key) != 0)
            return cc_disp_errf(d, "unrecognized parameter '%s'", cc_disp_val(d));
        if (!cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        if (val && *val)
            return cc_disp_errf(d, "%s already set", key);
        val = cc_disp_val(d);
        if (cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
    }
    if (required && (!val || !*val))
        return cc_disp_errf(d, "missing root path (to use default, omit storage config "
                               "entirely)");
    if (val && *val)
        cc_cfg_set_str(a, st, key, val);
    return CC_OK;
}

static int opt_storage(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_disp_next(d);
    if (!cc_disp_next(d))
        return cc_disp_arg_err(d);
    const char *mod = cc_disp_val(d);
    cc_cfg *st = cc_cfg_obj(ad->a);
    cc_cfg_set_str(ad->a, st, "module", mod);
    if (strcmp(mod, "file_system") == 0) {
        if (storage_module(cc_disp_new_from_next_segment(d), ad->a, st, "root", true) != CC_OK)
            return CC_ERR;
    } else if (strcmp(mod, "sqlite") == 0) {
        if (storage_module(cc_disp_new_from_next_segment(d), ad->a, st, "path", false) != CC_OK)
            return CC_ERR;
    } else {
        return cc_cf_unknown_module(d, cc_arena_printf(ad->a, "caddy.storage.%s", mod));
    }
    set_opt(ad, name, st);
    return CC_OK;
}

static int opt_must_be_off(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_disp_next(d);
    if (!cc_disp_next(d))
        return cc_disp_arg_err(d);
    const char *v = cc_disp_val(d);
    if (cc_disp_next(d))
        return cc_disp_arg_err(d);
    if (strcmp(v, "off") != 0)
        return cc_disp_errf(d, "%s must be 'off'", name);
    set_opt(ad, name, cc_cfg_str(ad->a, v));
    return CC_OK;
}

static int opt_storage_clean_interval(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_disp_next(d);
    if (!cc_disp_next(d))
        return cc_disp_arg_err(d);
    const char *v = cc_disp_val(d);
    if (cc_disp_next(d))
        return cc_disp_arg_err(d);
    if (strcmp(v, "off") == 0) {
        set_opt(ad, name, cc_cfg_bool(ad->a, false));
        return CC_OK;
    }
    int64_t ns;
    char msg[256];
    if (cc_cf_parse_duration_msg(v, &ns, msg, sizeof(msg)) != 0)
        return cc_disp_errf(
            d, "failed to parse storage_clean_interval, must be a duration or 'off' %s", msg);
    set_opt(ad, name, cc_cfg_int(ad->a, ns));
    return CC_OK;
}

static int opt_dns(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_disp_next(d);
    if (!cc_disp_next(d)) {
        if (strcmp(name, "acme_dns") == 0) {
            set_opt(ad, name, cc_cfg_null(ad->a));
            return CC_OK;
        }
        return cc_disp_arg_err(d);
    }
    /* caddy-c has no DNS provider modules, like a Caddy build without DNS plugins */
    return cc_cf_unknown_module(d, cc_arena_printf(ad->a, "dns.providers.%s", cc_disp_val(d)));
}

static int opt_acme_eab(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_cfg *eab = cc_cfg_obj(ad->a);
    cc_cfg_set_str(ad->a, eab, "key_id", "");
    cc_cfg_set_str(ad->a, eab, "mac_key", "");
    cc_disp_next(d);
    if (cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "key_id") != 0 && strcmp(sub, "mac_key") != 0)
            return cc_disp_errf(d, "unrecognized parameter '%s'", sub);
        if (!cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        cc_cfg_set_str(ad->a, eab, sub, cc_disp_val(d));
    }
    set_opt(ad, name, eab);
    return CC_OK;
}

static int opt_cert_issuer(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_disp_next(d);
    if (!cc_disp_next(d))
        return cc_disp_arg_err(d);
    cc_cfg *iss = NULL;
    if (cc_cf_issuer_parse(d, ad->a, &iss) != CC_OK)
        return CC_ERR;
    cc_cfg *list = cc_cfg_get(ad->opts, name);
    if (!list) {
        list = cc_cfg_arr(ad->a);
        set_opt(ad, name, list);
    }
    cc_cfg_push(ad->a, list, iss);
    return CC_OK;
}

static int opt_tls_resolvers(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_disp_next(d);
    size_t n = 0;
    const char **r = cc_disp_remaining_args(d, &n);
    if (n == 0)
        return cc_disp_arg_err(d);
    set_opt(ad, name, cc_cfg_str_arr(ad->a, r, n));
    return CC_OK;
}

static int opt_admin(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_arena *a = ad->a;
    cc_cfg *cfg = cc_cfg_obj(a);
    bool disabled = false;
    const char *listen = NULL;
    bool enforce = false;
    cc_cfg *origins = NULL;
    cc_disp_next(d);
    if (cc_disp_next_arg(d)) {
        if (strcmp(cc_disp_val(d), "off") == 0) {
            disabled = true;
            if (cc_disp_next(d))
                return cc_disp_errf(d, "No more option is allowed after turning off admin "
                                       "config");
        } else {
            listen = cc_disp_val(d);
            if (cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
        }
    }
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "enforce_origin") == 0) {
            enforce = true;
        } else if (strcmp(sub, "origins") == 0) {
            size_t n = 0;
            const char **o = cc_disp_remaining_args(d, &n);
            origins = n ? cc_cfg_str_arr(a, o, n) : NULL;
        } else {
            return cc_disp_errf(d, "unrecognized parameter '%s'", sub);
        }
    }
    if (!disabled && (!listen || !*listen))
        listen = "localhost:2019";
    if (disabled)
        cc_cfg_set_bool(a, cfg, "disabled", true);
    if (listen && *listen)
        cc_cfg_set_str(a, cfg, "listen", listen);
    if (enforce)
        cc_cfg_set_bool(a, cfg, "enforce_origin", true);
    if (origins)
        cc_cfg_set(a, cfg, "origins", origins);
    set_opt(ad, name, cfg);
    return CC_OK;
}

static int opt_on_demand(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_arena *a = ad->a;
    cc_cfg *ond = NULL;
    cc_disp_next(d);
    if (cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "ask") == 0 || strcmp(sub, "permission") == 0) {
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (!ond)
                ond = cc_cfg_obj(a);
            if (cc_cfg_get(ond, "permission"))
                return cc_disp_errf(d, "on-demand TLS permission module (or 'ask') already "
                                       "specified");
            cc_cfg *perm = cc_cfg_obj(a);
            cc_cfg_set_str(a, perm, "module", "http");
            if (sub[0] == 'a') {
                cc_cfg_set_str(a, perm, "endpoint", cc_disp_val(d));
            } else {
                if (strcmp(cc_disp_val(d), "http") != 0)
                    return cc_cf_unknown_module(
                        d, cc_arena_printf(a, "tls.permission.%s", cc_disp_val(d)));
                cc_disp *pd = cc_disp_new_from_next_segment(d);
                const char *ep = NULL;
                cc_disp_next(pd);
                if (!cc_cf_one_arg(pd, &ep))
                    return cc_disp_arg_err(pd);
                cc_cfg_set_str(a, perm, "endpoint", ep);
            }
            if (!*cc_cfg_get_str(perm, "endpoint"))
                cc_cfg_del(perm, "endpoint");
            cc_cfg_set(a, ond, "permission", perm);
        } else if (strcmp(sub, "interval") == 0 || strcmp(sub, "burst") == 0) {
            return cc_disp_errf(d,
                                "the on_demand_tls '%s' option is no longer supported, remove it "
                                "from your config",
                                sub);
        } else {
            return cc_disp_errf(d, "unrecognized parameter '%s'", sub);
        }
    }
    if (!ond)
        return cc_disp_errf(d, "expected at least one config parameter for on_demand_tls");
    set_opt(ad, name, ond);
    return CC_OK;
}

static int opt_auto_https(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_disp_next(d);
    size_t n = 0;
    const char **v = cc_disp_remaining_args(d, &n);
    if (n == 0)
        return cc_disp_arg_err(d);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], "off") != 0 && strcmp(v[i], "disable_redirects") != 0 &&
            strcmp(v[i], "disable_certs") != 0 && strcmp(v[i], "ignore_loaded_certs") != 0)
            return cc_disp_errf(d, "auto_https must be one of 'off', 'disable_redirects', "
                                   "'disable_certs', or 'ignore_loaded_certs'");
    set_opt(ad, name, cc_cfg_str_arr(ad->a, v, n));
    return CC_OK;
}

static int opt_metrics(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_cfg *m = cc_cfg_obj(ad->a);
    cc_disp_next(d);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "per_host") == 0 || strcmp(sub, "observe_catchall_hosts") == 0 ||
            strcmp(sub, "otlp") == 0)
            cc_cfg_set_bool(ad->a, m, sub, true);
        else
            return cc_disp_errf(d, "unrecognized servers option '%s'", sub);
    }
    set_opt(ad, name, m);
    return CC_OK;
}

static int opt_servers(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_cfg *so = NULL;
    if (cc_cf_servers_option_parse(ad, d, &so) != CC_OK)
        return CC_ERR;
    cc_cfg *list = cc_cfg_get(ad->opts, name);
    if (!list) {
        list = cc_cfg_arr(ad->a);
        set_opt(ad, name, list);
    }
    cc_cfg_push(ad->a, list, so);
    return CC_OK;
}

static int opt_ocsp_stapling(cc_adapt *ad, cc_disp *d, const char *name)
{
    const char *v;
    cc_disp_next(d);
    if (!cc_cf_one_arg(d, &v))
        return cc_disp_arg_err(d);
    if (strcmp(v, "off") != 0)
        return cc_disp_errf(d, "invalid argument '%s'", v);
    set_opt(ad, name, cc_cfg_str(ad->a, v));
    return CC_OK;
}

static int opt_log(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_cf_log l;
    cc_cfg *logs = cc_cfg_get(ad->opts, name);
    if (!logs) {
        logs = cc_cfg_obj(ad->a);
        set_opt(ad, name, logs);
    }
    if (cc_cf_log_parse(d, ad->a, true, logs, &l) != CC_OK)
        return CC_ERR;
    cc_cfg_set(ad->a, logs, l.name, l.log ? l.log : cc_cfg_null(ad->a));
    return CC_OK;
}

static int opt_preferred_chains(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_cfg *pc = NULL;
    cc_disp_next(d);
    if (cc_cf_preferred_chains_parse(d, ad->a, &pc) != CC_OK)
        return CC_ERR;
    set_opt(ad, name, pc);
    return CC_OK;
}

static int opt_ech(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_arena *a = ad->a;
    cc_disp_next(d);
    size_t n = 0;
    const char **names = cc_disp_remaining_args(d, &n);
    if (n == 0)
        return cc_disp_arg_err(d);
    cc_cfg *ech = cc_cfg_obj(a);
    cc_cfg *configs = cc_cfg_child_arr(a, ech, "configs");
    for (size_t i = 0; i < n; i++) {
        cc_cfg *c = cc_cfg_obj(a);
        cc_cfg_set_str(a, c, "public_name", names[i]);
        cc_cfg_push(a, configs, c);
    }
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        if (strcmp(cc_disp_val(d), "dns") != 0)
            return cc_disp_errf(d, "ech: unrecognized subdirective '%s'", cc_disp_val(d));
        if (!cc_disp_next(d))
            return cc_disp_arg_err(d);
        return cc_cf_unknown_module(d, cc_arena_printf(a, "dns.providers.%s", cc_disp_val(d)));
    }
    set_opt(ad, name, ech);
    return CC_OK;
}

static int opt_renewal_window_ratio(cc_adapt *ad, cc_disp *d, const char *name)
{
    double r;
    cc_disp_next(d);
    if (!cc_disp_next(d))
        return cc_disp_arg_err(d);
    const char *v = cc_disp_val(d);
    if (cc_cf_opt_atof(v, &r) != 0)
        return cc_disp_errf(d,
                            "parsing renewal_window_ratio: strconv.ParseFloat: parsing \"%s\": "
                            "invalid syntax",
                            v);
    if (r <= 0 || r >= 1)
        return cc_disp_errf(d, "renewal_window_ratio must be between 0 and 1 (exclusive)");
    if (cc_disp_next(d))
        return cc_disp_arg_err(d);
    set_opt(ad, name, cc_cfg_num(ad->a, r));
    return CC_OK;
}

static int pki_keypair(cc_disp *d, cc_arena *a, cc_cfg *ca, const char *which)
{
    cc_cfg *kp = cc_cfg_child_obj(a, ca, which);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        const char *key = strcmp(sub, "cert") == 0     ? "certificate"
                          : strcmp(sub, "key") == 0    ? "private_key"
                          : strcmp(sub, "format") == 0 ? "format"
                                                       : NULL;
        if (!key)
            return cc_disp_errf(d, "unrecognized pki ca %s option '%s'", which, sub);
        if (!cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        cc_cfg_set_str(a, kp, key, cc_disp_val(d));
    }
    return CC_OK;
}

static int opt_pki(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_arena *a = ad->a;
    cc_cfg *pki = cc_cfg_obj(a);
    cc_cfg *cas = cc_cfg_child_obj(a, pki, "certificate_authorities");
    cc_disp_next(d);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        if (strcmp(cc_disp_val(d), "ca") != 0)
            return cc_disp_errf(d, "unrecognized pki option '%s'", cc_disp_val(d));
        const char *id = "local";
        if (cc_disp_next_arg(d)) {
            id = cc_disp_val(d);
            if (cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (!*id)
                id = "local";
        }
        cc_cfg *ca = cc_cfg_obj(a);
        for (int cnest = cc_disp_nesting(d); cc_disp_next_block(d, cnest);) {
            const char *sub = cc_disp_val(d);
            if (strcmp(sub, "root") == 0 || strcmp(sub, "intermediate") == 0) {
                if (pki_keypair(d, a, ca, sub) != CC_OK)
                    return CC_ERR;
                continue;
            }
            const char *key = strcmp(sub, "name") == 0              ? "name"
                              : strcmp(sub, "root_cn") == 0         ? "root_common_name"
                              : strcmp(sub, "intermediate_cn") == 0 ? "intermediate_common_name"
                                                                    : NULL;
            bool dur = strcmp(sub, "intermediate_lifetime") == 0 ||
                       strcmp(sub, "maintenance_interval") == 0;
            bool ratio = strcmp(sub, "renewal_window_ratio") == 0;
            if (!key && !dur && !ratio)
                return cc_disp_errf(d, "unrecognized pki ca option '%s'", sub);
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (key) {
                cc_cfg_set_str(a, ca, key, cc_disp_val(d));
            } else if (dur) {
                int64_t ns;
                if (cc_cf_dur_tok(d, NULL, &ns) != CC_OK)
                    return CC_ERR;
                if (ns)
                    cc_cfg_set_int(a, ca, sub, ns);
                else
                    cc_cfg_del(ca, sub);
            } else {
                double r;
                if (cc_cf_opt_atof(cc_disp_val(d), &r) != 0 || r <= 0 || r > 1)
                    return cc_disp_errf(d,
                                        "renewal_window_ratio must be a number in (0, 1], got %s",
                                        cc_disp_val(d));
                cc_cfg_set(a, ca, sub, cc_cfg_num(a, r));
            }
        }
        cc_cfg_set(a, cas, id, ca);
    }
    set_opt(ad, name, pki);
    return CC_OK;
}

static int opt_events(cc_adapt *ad, cc_disp *d, const char *name)
{
    cc_disp_next(d);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        if (strcmp(cc_disp_val(d), "on") != 0)
            return cc_disp_arg_err(d);
        if (!cc_disp_next_arg(d) || !cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        /* no event handler modules exist in this build (exec is a plugin in Caddy) */
        return cc_cf_unknown_module(d,
                                    cc_arena_printf(ad->a, "events.handlers.%s", cc_disp_val(d)));
    }
    set_opt(ad, name, cc_cfg_obj(ad->a));
    return CC_OK;
}

static int opt_filesystem(cc_adapt *ad, cc_disp *d, const char *name)
{
    (void)name;
    cc_disp_next(d);
    if (!cc_disp_next_arg(d) || !cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    return cc_cf_unknown_module(d, cc_arena_printf(ad->a, "caddy.fs.%s", cc_disp_val(d)));
}

static const struct {
    const char *name;
    opt_fn fn;
} options[] = {
    {"debug", opt_true},
    {"http_port", opt_port},
    {"https_port", opt_port},
    {"default_bind", opt_default_bind},
    {"grace_period", opt_duration},
    {"shutdown_delay", opt_duration},
    {"default_sni", opt_string},
    {"fallback_sni", opt_string},
    {"order", opt_order},
    {"storage", opt_storage},
    {"storage_check", opt_must_be_off},
    {"storage_clean_interval", opt_storage_clean_interval},
    {"renew_interval", opt_duration},
    {"ocsp_interval", opt_duration},
    {"acme_ca", opt_string},
    {"acme_ca_root", opt_string},
    {"acme_dns", opt_dns},
    {"acme_eab", opt_acme_eab},
    {"cert_issuer", opt_cert_issuer},
    {"skip_install_trust", opt_true},
    {"email", opt_string},
    {"admin", opt_admin},
    {"on_demand_tls", opt_on_demand},
    {"local_certs", opt_true},
    {"key_type", opt_string},
    {"auto_https", opt_auto_https},
    {"metrics", opt_metrics},
    {"servers", opt_servers},
    {"ocsp_stapling", opt_ocsp_stapling},
    {"cert_lifetime", opt_duration},
    {"log", opt_log},
    {"preferred_chains", opt_preferred_chains},
    {"persist_config", opt_must_be_off},
    {"dns", opt_dns},
    {"tls_resolvers", opt_tls_resolvers},
    {"ech", opt_ech},
    {"renewal_window_ratio", opt_renewal_window_ratio},
    {"pki", opt_pki},
    {"events", opt_events},
    {"filesystem", opt_filesystem},
};

static opt_fn find_option(const char *name)
{
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        if (strcmp(options[i].name, name) == 0)
            return options[i].fn;
    return NULL;
}

bool cc_cf_is_global_option(const char *name)
{
    return name && find_option(name) != NULL;
}

/* Longer listener addresses first (Caddy sorts them so specific ones win). */
static int servers_sort(cc_adapt *ad, cc_cfg *list)
{
    size_t n = cc_cfg_len(list);
    for (size_t i = 1; i < n; i++) {
        cc_cfg *x = list->arr.v[i];
        const char *xa = cc_cfg_get_str(x, "listener_address");
        size_t xl = xa ? strlen(xa) : 0, j = i;
        for (; j > 0; j--) {
            const char *ya = cc_cfg_get_str(list->arr.v[j - 1], "listener_address");
            if ((ya ? strlen(ya) : 0) >= xl)
                break;
            list->arr.v[j] = list->arr.v[j - 1];
        }
        list->arr.v[j] = x;
    }
    for (size_t i = 0; i < n; i++) {
        const char *ia = cc_cfg_get_str(list->arr.v[i], "listener_address");
        for (size_t j = 0; j < i; j++) {
            const char *ja = cc_cfg_get_str(list->arr.v[j], "listener_address");
            if (strcmp(ia ? ia : "", ja ? ja : "") == 0) {
                cc_cfg *at = list->arr.v[i];
                return cc_err_setat(ad->err, at->file, at->line,
                                    "cannot have 'servers' global options with duplicate "
                                    "listener addresses: %s",
                                    ia ? ia : "");
            }
        }
    }
    return CC_OK;
}

int cc_cf_options_parse(cc_adapt *ad, const cc_sblock *global)
{
    if (!ad->opts)
        ad->opts = cc_cfg_obj(ad->a);
    if (!global)
        return CC_OK;
    for (size_t i = 0; i < global->nsegs; i++) {
        const cc_segment *seg = &global->segs[i];
        if (seg->n == 0)
            continue;
        const cc_token *t = &seg->v[0];
        opt_fn fn = find_option(t->text);
        if (!fn)
            return cc_disp_errf_tok(ad->err, t, "unrecognized global option: %s", t->text);
        cc_disp *d = cc_disp_new(ad->a, seg->v, seg->n, ad->err);
        if (fn(ad, d, t->text) != CC_OK)
            return CC_ERR;
    }
    cc_cfg *servers = cc_cfg_get(ad->opts, "servers");
    if (servers && servers_sort(ad, servers) != CC_OK)
        return CC_ERR;
    return CC_OK;
}
