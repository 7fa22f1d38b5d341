/* SPDX-License-Identifier: Apache-2.0
 * Certificate issuer modules as the Caddyfile writes them (`issuer acme|zerossl|internal
 * {...}` in tls, the cert_issuer global option), preferred chain settings, and the
 * ACME issuer merge/default rules the TLS app builder and the tls directive share. */
#include "optutil.h"

#include <string.h>

#include "units.h"

static cc_cfg *challenges(cc_arena *a, cc_cfg *iss)
{
    return cc_cfg_child_obj(a, iss, "challenges");
}

static cc_cfg *dns_cfg(cc_arena *a, cc_cfg *parent_of_dns, const char *key)
{
    return cc_cfg_child_obj(a, parent_of_dns, key);
}

static int dur_arg(cc_disp *d, cc_arena *a, const char *what, int64_t *ns, bool allow_minus1)
{
    (void)a;
    if (allow_minus1 && strcmp(cc_disp_val(d), "-1") == 0) {
        *ns = -1;
        return CC_OK;
    }
    char msg[256];
    if (cc_cf_parse_duration_msg(cc_disp_val(d), ns, msg, sizeof(msg)) != 0)
        return cc_disp_errf(d, "invalid %s duration %s: %s", what, cc_disp_val(d), msg);
    return CC_OK;
}

static void set_dur(cc_arena *a, cc_cfg *obj, const char *key, int64_t ns)
{
    if (ns)
        cc_cfg_set_int(a, obj, key, ns);
    else
        cc_cfg_del(obj, key);
}

/* DNS challenge settings common to the acme and zerossl issuers; dns is the DNS
 * challenge object getter. Returns 1 when sub was not one of them. */
static int dns_common(cc_disp *d, cc_arena *a, const char *sub, cc_cfg *(*get)(cc_arena *, void *),
                      void *ctx)
{
    int64_t ns;
    if (strcmp(sub, "propagation_delay") == 0 || strcmp(sub, "propagation_timeout") == 0 ||
        strcmp(sub, "dns_ttl") == 0) {
        if (!cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        if (dur_arg(d, a, sub, &ns, strcmp(sub, "propagation_timeout") == 0) != CC_OK)
            return CC_ERR;
        set_dur(a, get(a, ctx), strcmp(sub, "dns_ttl") == 0 ? "ttl" : sub, ns);
        return CC_OK;
    }
    if (strcmp(sub, "resolvers") == 0) {
        size_t n = 0;
        const char **r = cc_disp_remaining_args(d, &n);
        cc_cfg *dns = get(a, ctx);
        if (n == 0)
            return cc_disp_arg_err(d);
        cc_cfg_set(a, dns, "resolvers", cc_cfg_str_arr(a, r, n));
        return CC_OK;
    }
    return 1;
}

static cc_cfg *acme_dns(cc_arena *a, void *iss)
{
    return dns_cfg(a, challenges(a, iss), "dns");
}

static cc_cfg *zerossl_dns(cc_arena *a, void *iss)
{
    return cc_cfg_child_obj(a, iss, "cname_validation");
}

static int port_arg(cc_disp *d, cc_arena *a, int64_t *port)
{
    if (!cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    if (cc_cf_opt_atoi(cc_disp_val(d), port) != 0)
        return cc_disp_errf(d, "invalid port %s: %s", cc_disp_val(d),
                            cc_cf_opt_atoi_errmsg(a, cc_disp_val(d)));
    return CC_OK;
}

static int parse_acme(cc_disp *d, cc_arena *a, cc_cfg *iss)
{
    cc_disp_next(d);
    if (cc_disp_next_arg(d)) {
        cc_cfg_set_str(a, iss, "ca", cc_disp_val(d));
        if (cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
    }
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d), *arg = NULL;
        int64_t v;
        if (strcmp(sub, "lifetime") == 0) {
            if (!cc_cf_one_arg(d, &arg))
                return cc_disp_arg_err(d);
            if (dur_arg(d, a, "lifetime", &v, false) != CC_OK)
                return CC_ERR;
            if (v < 0)
                return cc_disp_errf(d, "lifetime must be >= 0: %s", arg);
            set_dur(a, iss, "certificate_lifetime", v);
        } else if (strcmp(sub, "dir") == 0) {
            const char *ca = cc_cfg_get_str(iss, "ca");
            if (ca && *ca)
                return cc_disp_errf(d, "directory is already specified: %s", ca);
            if (!cc_cf_one_arg(d, &arg))
                return cc_disp_arg_err(d);
            cc_cfg_set_str(a, iss, "ca", arg);
        } else if (strcmp(sub, "test_dir") == 0 || strcmp(sub, "email") == 0 ||
                   strcmp(sub, "profile") == 0) {
            if (!cc_cf_one_arg(d, &arg))
                return cc_disp_arg_err(d);
            cc_cfg_set_str(a, iss, sub[0] == 't' ? "test_ca" : sub, arg);
        } else if (strcmp(sub, "timeout") == 0) {
            if (!cc_cf_one_arg(d, &arg))
                return cc_disp_arg_err(d);
            if (dur_arg(d, a, "timeout", &v, false) != CC_OK)
                return CC_ERR;
            set_dur(a, iss, "acme_timeout", v);
        } else if (strcmp(sub, "disable_http_challenge") == 0 ||
                   strcmp(sub, "disable_tlsalpn_challenge") == 0) {
            if (cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            cc_cfg_set_bool(
                a, cc_cfg_child_obj(a, challenges(a, iss), sub[8] == 'h' ? "http" : "tls-alpn"),
                "disabled", true);
        } else if (strcmp(sub, "distributed") == 0) {
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (strcmp(cc_disp_val(d), "false") != 0)
                return cc_disp_errf(d, "only accepted value is 'false'");
            cc_cfg_set_bool(a, challenges(a, iss), "distributed", false);
        } else if (strcmp(sub, "alt_http_port") == 0 || strcmp(sub, "alt_tlsalpn_port") == 0) {
            if (port_arg(d, a, &v) != CC_OK)
                return CC_ERR;
            cc_cfg *c =
                cc_cfg_child_obj(a, challenges(a, iss), sub[4] == 'h' ? "http" : "tls-alpn");
            if (v)
                cc_cfg_set_int(a, c, "alternate_port", v);
        } else if (strcmp(sub, "eab") == 0) {
            const char *kid = NULL, *mac = NULL;
            if (!cc_disp_args(d, &kid, &mac, NULL) || cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            cc_cfg *eab = cc_cfg_obj(a);
            cc_cfg_set_str(a, eab, "key_id", kid);
            cc_cfg_set_str(a, eab, "mac_key", mac);
            cc_cfg_set(a, iss, "external_account", eab);
        } else if (strcmp(sub, "trusted_roots") == 0) {
            size_t n = 0;
            const char **r = cc_disp_remaining_args(d, &n);
            if (n)
                cc_cfg_set(a, iss, "trusted_roots_pem_files", cc_cfg_str_arr(a, r, n));
            else
                cc_cfg_del(iss, "trusted_roots_pem_files");
        } else if (strcmp(sub, "dns") == 0) {
            acme_dns(a, iss);
            if (cc_disp_next_arg(d))
                return cc_cf_unknown_module(d,
                                            cc_arena_printf(a, "dns.providers.%s", cc_disp_val(d)));
        } else if (strcmp(sub, "dns_challenge_override_domain") == 0) {
            size_t n = 0;
            const char **r = cc_disp_remaining_args(d, &n);
            if (n != 1)
                return cc_disp_arg_err(d);
            cc_cfg_set_str(a, acme_dns(a, iss), "override_domain", r[0]);
        } else if (strcmp(sub, "preferred_chains") == 0) {
            cc_cfg *pc = NULL;
            if (cc_cf_preferred_chains_parse(d, a, &pc) != CC_OK)
                return CC_ERR;
            cc_cfg_set(a, iss, "preferred_chains", pc);
        } else {
            int r = dns_common(d, a, sub, acme_dns, iss);
            if (r == 1)
                return cc_disp_errf(d, "unrecognized ACME issuer property: %s", sub);
            if (r != CC_OK)
                return CC_ERR;
        }
    }
    return CC_OK;
}

static int parse_zerossl(cc_disp *d, cc_arena *a, cc_cfg *iss)
{
    cc_disp_next(d);
    if (!cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    cc_cfg_set_str(a, iss, "api_key", cc_disp_val(d));
    if (cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        int64_t v;
        if (strcmp(sub, "validity_days") == 0) {
            cc_cfg *cur = cc_cfg_get(iss, "validity_days");
            if (cur)
                return cc_disp_errf(d, "validity days is already specified: %lld",
                                    (long long)cur->i);
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (cc_cf_opt_atoi(cc_disp_val(d), &v) != 0)
                return cc_disp_errf(d, "invalid number of days %s: %s", cc_disp_val(d),
                                    cc_cf_opt_atoi_errmsg(a, cc_disp_val(d)));
            if (v)
                cc_cfg_set_int(a, iss, "validity_days", v);
        } else if (strcmp(sub, "alt_http_port") == 0) {
            if (port_arg(d, a, &v) != CC_OK)
                return CC_ERR;
            if (v)
                cc_cfg_set_int(a, iss, "alternate_http_port", v);
        } else if (strcmp(sub, "dns") == 0) {
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            return cc_cf_unknown_module(d, cc_arena_printf(a, "dns.providers.%s", cc_disp_val(d)));
        } else {
            int r = dns_common(d, a, sub, zerossl_dns, iss);
            if (r == 1)
                return cc_disp_errf(d, "unrecognized zerossl issuer property: %s", sub);
            if (r != CC_OK)
                return CC_ERR;
        }
    }
    return CC_OK;
}

static int parse_internal(cc_disp *d, cc_arena *a, cc_cfg *iss)
{
    cc_disp_next(d);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d), *arg = NULL;
        if (strcmp(sub, "ca") == 0) {
            if (!cc_cf_one_arg(d, &arg))
                return cc_disp_arg_err(d);
            cc_cfg_set_str(a, iss, "ca", arg);
        } else if (strcmp(sub, "lifetime") == 0) {
            int64_t ns;
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (cc_cf_dur_tok(d, NULL, &ns) != CC_OK)
                return CC_ERR;
            set_dur(a, iss, "lifetime", ns);
        } else if (strcmp(sub, "sign_with_root") == 0) {
            if (cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            cc_cfg_set_bool(a, iss, "sign_with_root", true);
        } else {
            return cc_disp_errf(d, "unrecognized subdirective '%s'", sub);
        }
    }
    return CC_OK;
}

int cc_cf_issuer_parse(cc_disp *d, cc_arena *a, cc_cfg **out)
{
    const char *name = cc_disp_val(d);
    cc_cfg *iss = cc_cfg_obj(a);
    cc_cfg_set_str(a, iss, "module", name);
    *out = iss;
    if (strcmp(name, "acme") == 0)
        return parse_acme(cc_disp_new_from_next_segment(d), a, iss);
    if (strcmp(name, "zerossl") == 0)
        return parse_zerossl(cc_disp_new_from_next_segment(d), a, iss);
    if (strcmp(name, "internal") == 0)
        return parse_internal(cc_disp_new_from_next_segment(d), a, iss);
    return cc_cf_unknown_module(d, cc_arena_printf(a, "tls.issuance.%s", name));
}

int cc_cf_preferred_chains_parse(cc_disp *d, cc_arena *a, cc_cfg **out)
{
    cc_cfg *pc = cc_cfg_obj(a);
    *out = pc;
    if (cc_disp_next_arg(d)) {
        if (strcmp(cc_disp_val(d), "smallest") != 0)
            return cc_disp_errf(d, "Invalid argument '%s'", cc_disp_val(d));
        cc_cfg_set_bool(a, pc, "smallest", true);
        if (cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        if (cc_disp_next_block(d, cc_disp_nesting(d)))
            return cc_disp_errf(d, "No more options are accepted when using the 'smallest' "
                                   "option");
    }
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        bool root = strcmp(sub, "root_common_name") == 0;
        if (!root && strcmp(sub, "any_common_name") != 0)
            return cc_disp_errf(d, "Received unrecognized parameter '%s'", sub);
        size_t n = 0;
        const char **names = cc_disp_remaining_args(d, &n);
        if (n == 0)
            return cc_disp_arg_err(d);
        cc_cfg *list = cc_cfg_child_arr(a, pc, sub);
        for (size_t i = 0; i < n; i++)
            cc_cfg_push_str(a, list, names[i]);
        if (cc_cfg_get(pc, root ? "any_common_name" : "root_common_name"))
            return cc_disp_errf(d, root ? "Can't set root_common_name when any_common_name is "
                                          "already set"
                                        : "Can't set any_common_name when root_common_name is "
                                          "already set");
    }
    if (cc_cfg_len(pc) == 0)
        return cc_disp_errf(d, "No options for preferred_chains received");
    return CC_OK;
}

bool cc_cf_issuer_is_acme(const cc_cfg *iss)
{
    const char *m = cc_cfg_get_str(iss, "module");
    return m && strcmp(m, "acme") == 0;
}

cc_cfg *cc_cf_default_issuers(cc_arena *a, const char *email)
{
    cc_cfg *list = cc_cfg_arr(a);
    cc_cfg *le = cc_cfg_obj(a);
    cc_cfg_set_str(a, le, "module", "acme");
    cc_cfg_push(a, list, le);
    bool has_email = false;
    for (const char *p = email ? email : ""; *p; p++)
        if (!strchr(" \t\n\r\v\f", *p))
            has_email = true;
    if (has_email) {
        cc_cfg *zs = cc_cfg_obj(a);
        cc_cfg_set_str(a, zs, "module", "acme");
        cc_cfg_set_str(a, zs, "ca", "https://acme.zerossl.com/v2/DV90");
        cc_cfg_set_str(a, zs, "email", email);
        cc_cfg_push(a, list, zs);
    }
    return list;
}

/* Challenge sub-objects merge field by field; everything else is replaced whole. */
static void merge_into(cc_arena *a, cc_cfg *dst, const cc_cfg *src)
{
    for (size_t i = 0; i < src->obj.n; i++) {
        const char *k = src->obj.k[i];
        const cc_cfg *v = src->obj.v[i];
        cc_cfg *cur = cc_cfg_get(dst, k);
        bool nested = strcmp(k, "challenges") == 0 || strcmp(k, "http") == 0 ||
                      strcmp(k, "tls-alpn") == 0 || strcmp(k, "dns") == 0;
        if (nested && cur && cur->type == CC_CFG_OBJ && v->type == CC_CFG_OBJ) {
            merge_into(a, cur, v);
        } else if (strcmp(k, "trusted_roots_pem_files") == 0 && cur && cur->type == CC_CFG_ARR) {
            for (size_t j = 0; j < cc_cfg_len(v); j++)
                if (!cc_cfg_arr_has_str(cur, cc_cfg_idx(v, j)->s.p))
                    cc_cfg_push(a, cur, cc_cfg_clone(a, cc_cfg_idx(v, j)));
        } else if (strcmp(k, "module") != 0) {
            cc_cfg_set(a, dst, k, cc_cfg_clone(a, v));
        }
    }
}

cc_cfg *cc_cf_acme_merge(cc_arena *a, const cc_cfg *base, const cc_cfg *overrides)
{
    cc_cfg *merged = NULL;
    if (base) {
        merged = cc_cfg_clone(a, base);
    } else {
        merged = cc_cfg_obj(a);
        cc_cfg_set_str(a, merged, "module", "acme");
    }
    if (overrides)
        merge_into(a, merged, overrides);
    return merged;
}
