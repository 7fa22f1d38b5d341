/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy load balancing subdirectives: lb_policy with every selection policy
 * Caddy ships (and their arguments and fallback blocks), lb_retries, lb_try_duration,
 * lb_try_interval and lb_retry_match, into the handler's "load_balancing" object. */
#include <string.h>

#include "../caddyfile/units.h"
#include "rp.h"

static int parse_policy(cc_rp *rp, cc_cfg **out);

static cc_cfg *lb_obj(cc_rp *rp)
{
    return cc_rp_obj(rp, rp->out, "load_balancing");
}

/* Policies without options. */
static int no_args(cc_rp *rp, cc_cfg *pol)
{
    (void)pol;
    if (cc_disp_next_arg(rp->d))
        return cc_disp_arg_err(rp->d);
    return CC_OK;
}

static int random_choose(cc_rp *rp, cc_cfg *pol)
{
    int64_t n;
    if (cc_rp_need_arg(rp) || cc_rp_atoi(rp, "invalid choice value '%s'", &n))
        return CC_ERR;
    if (n)
        cc_cfg_set_int(rp->a, pol, "choose", n);
    return CC_OK;
}

static int weighted_round_robin(cc_rp *rp, cc_cfg *pol)
{
    if (!cc_disp_count_remaining_args(rp->d))
        return cc_disp_arg_err(rp->d);
    cc_cfg *w = cc_cfg_child_arr(rp->a, pol, "weights");
    while (cc_disp_next_arg(rp->d)) {
        int64_t n;
        if (cc_rp_atoi(rp, "invalid weight value '%s'", &n))
            return CC_ERR;
        if (n < 0)
            return cc_disp_errf(rp->d, "invalid weight value '%s': weight should be non-negative",
                                cc_disp_val(rp->d));
        cc_cfg_push(rp->a, w, cc_cfg_int(rp->a, n));
    }
    return CC_OK;
}

static int fallback(cc_rp *rp, cc_cfg *pol)
{
    if (cc_rp_need_arg(rp))
        return CC_ERR;
    if (cc_cfg_get(pol, "fallback"))
        return cc_disp_errf(rp->d, "fallback selection policy already specified");
    cc_cfg *fb = NULL;
    if (parse_policy(rp, &fb))
        return CC_ERR;
    cc_cfg_set(rp->a, pol, "fallback", fb);
    return CC_OK;
}

/* query <key> and header <field>, each with an optional { fallback <policy> } block. */
static int keyed(cc_rp *rp, cc_cfg *pol, const char *key)
{
    if (cc_rp_need_arg(rp))
        return CC_ERR;
    if (*cc_disp_val(rp->d))
        cc_cfg_set_str(rp->a, pol, key, cc_disp_val(rp->d));
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);) {
        if (strcmp(cc_disp_val(rp->d), "fallback"))
            return cc_disp_errf(rp->d, "unrecognized option '%s'", cc_disp_val(rp->d));
        if (fallback(rp, pol))
            return CC_ERR;
    }
    return CC_OK;
}

static int query(cc_rp *rp, cc_cfg *pol)
{
    return keyed(rp, pol, "key");
}

static int header(cc_rp *rp, cc_cfg *pol)
{
    return keyed(rp, pol, "field");
}

static int cookie_max_age(cc_rp *rp, cc_cfg *pol)
{
    if (cc_rp_need_arg(rp))
        return CC_ERR;
    if (cc_cfg_get(pol, "max_age"))
        return cc_disp_errf(rp->d, "cookie max_age already specified");
    int64_t ns;
    const char *v = cc_disp_val(rp->d);
    if (cc_cf_parse_duration_msg(v, &ns, NULL, 0))
        return cc_disp_errf(rp->d, "invalid duration: %s", v);
    if (ns <= 0)
        return cc_disp_errf(rp->d, "invalid duration: %s, max_age should be non-zero and positive",
                            v);
    if (cc_rp_no_more_args(rp))
        return CC_ERR;
    cc_cfg_set_int(rp->a, pol, "max_age", ns);
    return CC_OK;
}

/* cookie [<name> [<secret>]] { fallback <policy>; max_age <duration> } */
static int cookie(cc_rp *rp, cc_cfg *pol)
{
    size_t n;
    const char **args = cc_disp_remaining_args(rp->d, &n);
    if (n > 2)
        return cc_disp_arg_err(rp->d);
    if (n >= 1 && *args[0])
        cc_cfg_set_str(rp->a, pol, "name", args[0]);
    if (n == 2 && *args[1])
        cc_cfg_set_str(rp->a, pol, "secret", args[1]);
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);) {
        const char *opt = cc_disp_val(rp->d);
        int rc;
        if (!strcmp(opt, "fallback"))
            rc = fallback(rp, pol);
        else if (!strcmp(opt, "max_age"))
            rc = cookie_max_age(rp, pol);
        else
            return cc_disp_errf(rp->d, "unrecognized option '%s'", opt);
        if (rc)
            return CC_ERR;
    }
    return CC_OK;
}

static const struct {
    const char *name;
    int (*parse)(cc_rp *, cc_cfg *);
} policies[] = {
    {"random", no_args},
    {"random_choose", random_choose},
    {"least_conn", no_args},
    {"round_robin", no_args},
    {"weighted_round_robin", weighted_round_robin},
    {"first", no_args},
    {"ip_hash", no_args},
    {"client_ip_hash", no_args},
    {"uri_hash", no_args},
    {"query", query},
    {"header", header},
    {"cookie", cookie},
};

/* The cursor is on a policy name; its segment is parsed by a dispenser of its own, as
 * caddyfile.UnmarshalModule does. */
static int parse_policy(cc_rp *rp, cc_cfg **out)
{
    const char *name = cc_disp_val(rp->d);
    int (*fn)(cc_rp *, cc_cfg *) = NULL;
    for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
        if (!strcmp(policies[i].name, name))
            fn = policies[i].parse;
    if (!fn)
        return cc_disp_errf(rp->d,
                            "getting module named 'http.reverse_proxy.selection_policies.%s': "
                            "module not registered: http.reverse_proxy.selection_policies.%s",
                            name, name);
    cc_cfg *pol = cc_cfg_obj(rp->a);
    cc_cfg_set_str(rp->a, pol, "policy", name);
    cc_disp *outer = rp->d;
    rp->d = cc_disp_new_from_next_segment(outer);
    cc_disp_next(rp->d); /* the policy name */
    int rc = fn(rp, pol);
    rp->d = outer;
    *out = pol;
    return rc;
}

/* lb_retry_match <matcher> <args...> | `<expression>` | { <matchers...> }: the nested
 * matcher set parser reads both the one-line and the block form. */
static int retry_match(cc_rp *rp)
{
    cc_cfg *set = NULL;
    int rc = cc_helper_parse_matcher_block(rp->h, &set);
    if (rc) {
        char inner[sizeof(rp->h->err->msg)];
        memcpy(inner, rp->h->err->msg, sizeof(inner));
        cc_err_clear(rp->h->err);
        return cc_disp_errf(rp->d, "failed to parse lb_retry_match: %s", inner);
    }
    cc_cfg_push(rp->a, cc_cfg_child_arr(rp->a, lb_obj(rp), "retry_match"), set);
    return CC_OK;
}

int cc_rp_lb_sub(cc_rp *rp, const char *sub)
{
    if (!strcmp(sub, "lb_policy")) {
        if (cc_rp_need_arg(rp))
            return CC_ERR;
        if (cc_cfg_get(cc_cfg_get(rp->out, "load_balancing"), "selection_policy"))
            return cc_disp_errf(rp->d, "load balancing selection policy already specified");
        cc_cfg *pol = NULL;
        if (parse_policy(rp, &pol))
            return CC_ERR;
        cc_cfg_set(rp->a, lb_obj(rp), "selection_policy", pol);
        return CC_OK;
    }
    if (!strcmp(sub, "lb_retries")) {
        int64_t n;
        if (cc_rp_need_arg(rp) || cc_rp_atoi(rp, "bad lb_retries number '%s'", &n))
            return CC_ERR;
        cc_cfg *lb = lb_obj(rp);
        if (n)
            cc_cfg_set_int(rp->a, lb, "retries", n);
        else
            cc_cfg_del(lb, "retries");
        return CC_OK;
    }
    if (!strcmp(sub, "lb_try_duration") || !strcmp(sub, "lb_try_interval")) {
        bool dur = !strcmp(sub, "lb_try_duration");
        int64_t ns;
        if (cc_rp_need_arg(rp))
            return CC_ERR;
        cc_cfg *lb = lb_obj(rp);
        if (cc_rp_duration(rp, dur ? "bad duration value %s" : "bad interval value '%s'", &ns))
            return CC_ERR;
        const char *key = dur ? "try_duration" : "try_interval";
        if (ns)
            cc_cfg_set_int(rp->a, lb, key, ns);
        else
            cc_cfg_del(lb, key);
        return CC_OK;
    }
    if (!strcmp(sub, "lb_retry_match"))
        return retry_match(rp);
    return CC_RP_NOT_MINE;
}
