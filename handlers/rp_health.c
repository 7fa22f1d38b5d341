/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy health check subdirectives: the active ones (health_uri, health_port,
 * health_interval, health_headers, ...) and the passive ones (fail_duration, max_fails,
 * unhealthy_*), into the handler's "health_checks" {"active", "passive"} object. */
#include <string.h>

#include "goconv.h"
#include "rp.h"

static cc_cfg *active(cc_rp *rp)
{
    return cc_rp_obj(rp, cc_rp_obj(rp, rp->out, "health_checks"), "active");
}

static cc_cfg *passive(cc_rp *rp)
{
    return cc_rp_obj(rp, cc_rp_obj(rp, rp->out, "health_checks"), "passive");
}

/* Go's omitempty for the numeric fields. */
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

/* "5xx" means the whole class, written as its first digit. */
static int status_value(cc_rp *rp, const char *arg, const char *shown, int64_t *out)
{
    size_t n = strlen(arg);
    const char *v = arg;
    if (n == 3 && arg[1] == 'x' && arg[2] == 'x')
        v = cc_arena_strndup(rp->a, arg, 1);
    const char *e = cc_goconv_atoi(v, out);
    if (e)
        return cc_disp_errf(rp->d, "bad status value '%s': strconv.Atoi: parsing \"%s\": %s", shown,
                            v, e);
    return CC_OK;
}

static int health_upstream(cc_rp *rp, cc_cfg *act)
{
    const char *v = cc_disp_val(rp->d), *host, *port;
    const char *e = cc_rp_split_host_port(rp->a, v, &host, &port);
    if (e)
        return cc_disp_errf(rp->d, "health_upstream is malformed '%s': %s", v, e);
    int64_t n;
    if ((e = cc_goconv_atoi(port, &n)))
        return cc_disp_errf(rp->d, "bad port number '%s': strconv.Atoi: parsing \"%s\": %s", v,
                            port, e);
    set_str(rp, act, "upstream", v);
    return CC_OK;
}

static int health_headers(cc_rp *rp)
{
    cc_cfg *hdrs = cc_cfg_obj(rp->a);
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);) {
        const char *key = cc_disp_val(rp->d);
        cc_cfg *vals = cc_cfg_child_arr(rp->a, hdrs, key);
        size_t n;
        const char **v = cc_disp_remaining_args(rp->d, &n);
        if (!n)
            cc_cfg_push_str(rp->a, vals, "");
        for (size_t i = 0; i < n; i++)
            cc_cfg_push_str(rp->a, vals, v[i]);
    }
    cc_cfg *act = active(rp);
    if (cc_cfg_len(hdrs))
        cc_cfg_set(rp->a, act, "headers", hdrs);
    else
        cc_cfg_del(act, "headers");
    return CC_OK;
}

/* Subdirectives taking one argument, stored in the active object. */
static int active_one(cc_rp *rp, const char *sub)
{
    static const struct {
        const char *sub, *key;
        char kind; /* s string, d duration, i integer */
        const char *fmt;
    } tab[] = {
        {"health_uri", "uri", 's', NULL},
        {"health_path", "path", 's', NULL},
        {"health_method", "method", 's', NULL},
        {"health_request_body", "body", 's', NULL},
        {"health_body", "expect_body", 's', NULL},
        {"health_interval", "interval", 'd', "bad interval value %s"},
        {"health_timeout", "timeout", 'd', "bad timeout value %s"},
        {"health_passes", "passes", 'i', "invalid passes count '%s'"},
        {"health_fails", "fails", 'i', "invalid fails count '%s'"},
    };
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        if (strcmp(tab[i].sub, sub))
            continue;
        if (cc_rp_need_arg(rp))
            return CC_ERR;
        cc_cfg *act = active(rp);
        int64_t v;
        switch (tab[i].kind) {
        case 's':
            set_str(rp, act, tab[i].key, cc_disp_val(rp->d));
            if (!strcmp(sub, "health_path"))
                cc_helper_warn(rp->h, "the 'health_path' subdirective is deprecated, please use "
                                      "'health_uri' instead!");
            return CC_OK;
        case 'd':
            if (cc_rp_duration(rp, tab[i].fmt, &v))
                return CC_ERR;
            break;
        default:
            if (cc_rp_atoi(rp, tab[i].fmt, &v))
                return CC_ERR;
            break;
        }
        set_int(rp, act, tab[i].key, v);
        return CC_OK;
    }
    return CC_RP_NOT_MINE;
}

static int active_sub(cc_rp *rp, const char *sub)
{
    int rc = active_one(rp, sub);
    if (rc != CC_RP_NOT_MINE)
        return rc;
    int64_t v;
    if (!strcmp(sub, "health_upstream")) {
        if (cc_rp_need_arg(rp))
            return CC_ERR;
        return health_upstream(rp, active(rp));
    }
    if (!strcmp(sub, "health_port")) {
        if (cc_rp_need_arg(rp))
            return CC_ERR;
        cc_cfg *act = active(rp);
        if (cc_cfg_get_str(act, "upstream"))
            return cc_disp_errf(rp->d, "the 'health_port' subdirective is ignored if "
                                       "'health_upstream' is used!");
        if (cc_rp_atoi(rp, "bad port number '%s'", &v))
            return CC_ERR;
        set_int(rp, act, "port", v);
        return CC_OK;
    }
    if (!strcmp(sub, "health_headers"))
        return health_headers(rp);
    if (!strcmp(sub, "health_status")) {
        if (cc_rp_need_arg(rp))
            return CC_ERR;
        cc_cfg *act = active(rp);
        if (status_value(rp, cc_disp_val(rp->d), cc_disp_val(rp->d), &v))
            return CC_ERR;
        set_int(rp, act, "expect_status", v);
        return CC_OK;
    }
    if (!strcmp(sub, "health_follow_redirects")) {
        if (cc_disp_next_arg(rp->d))
            return cc_disp_arg_err(rp->d);
        cc_cfg_set_bool(rp->a, active(rp), "follow_redirects", true);
        return CC_OK;
    }
    return CC_RP_NOT_MINE;
}

static int passive_sub(cc_rp *rp, const char *sub)
{
    static const struct {
        const char *sub, *key;
        bool dur;
        const char *fmt;
    } tab[] = {
        {"max_fails", "max_fails", false, "invalid maximum fail count '%s'"},
        {"fail_duration", "fail_duration", true, "bad duration value '%s'"},
        {"unhealthy_request_count", "unhealthy_request_count", false,
         "invalid maximum connection count '%s'"},
        {"unhealthy_latency", "unhealthy_latency", true, "bad duration value '%s'"},
    };
    int64_t v;
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        if (strcmp(tab[i].sub, sub))
            continue;
        if (cc_rp_need_arg(rp))
            return CC_ERR;
        cc_cfg *pas = passive(rp);
        if (tab[i].dur ? cc_rp_duration(rp, tab[i].fmt, &v) : cc_rp_atoi(rp, tab[i].fmt, &v))
            return CC_ERR;
        set_int(rp, pas, tab[i].key, v);
        return CC_OK;
    }
    if (!strcmp(sub, "unhealthy_status")) {
        size_t n;
        const char **args = cc_disp_remaining_args(rp->d, &n);
        if (!n)
            return cc_disp_arg_err(rp->d);
        cc_cfg *codes = cc_cfg_child_arr(rp->a, passive(rp), "unhealthy_status");
        for (size_t i = 0; i < n; i++) {
            /* Caddy names the line's last argument in this error */
            if (status_value(rp, args[i], cc_disp_val(rp->d), &v))
                return CC_ERR;
            cc_cfg_push(rp->a, codes, cc_cfg_int(rp->a, v));
        }
        return CC_OK;
    }
    return CC_RP_NOT_MINE;
}

int cc_rp_health_sub(cc_rp *rp, const char *sub)
{
    int rc = active_sub(rp, sub);
    return rc == CC_RP_NOT_MINE ? passive_sub(rp, sub) : rc;
}
