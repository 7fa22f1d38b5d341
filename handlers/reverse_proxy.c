/* SPDX-License-Identifier: Apache-2.0
 * The reverse_proxy directive's Caddyfile parser: walks the subdirectives, hands each
 * group to its rp_*.c file, and produces Caddy's http.handlers.reverse_proxy JSON. The
 * streaming and buffering options, being plain scalars, are parsed here. */
#include <string.h>

#include "../caddyfile/units.h"
#include "goconv.h"
#include "rp.h"

/* ---- value helpers shared by the rp_* files ---- */

static int value_err(cc_rp *rp, const char *fmt, const char *goerr)
{
    const char *what = cc_arena_printf(rp->a, fmt, cc_disp_val(rp->d));
    return cc_disp_errf(rp->d, "%s: %s", what, goerr);
}

int cc_rp_atoi(cc_rp *rp, const char *fmt, int64_t *out)
{
    const char *v = cc_disp_val(rp->d);
    const char *e = cc_goconv_atoi(v, out);
    if (!e)
        return CC_OK;
    return value_err(rp, fmt, cc_arena_printf(rp->a, "strconv.Atoi: parsing \"%s\": %s", v, e));
}

int cc_rp_duration(cc_rp *rp, const char *fmt, int64_t *ns)
{
    char msg[512];
    msg[0] = '\0';
    if (cc_cf_parse_duration_msg(cc_disp_val(rp->d), ns, msg, sizeof(msg)) == 0)
        return CC_OK;
    return value_err(rp, fmt, msg);
}

int cc_rp_size(cc_rp *rp, const char *fmt, int64_t *bytes)
{
    char msg[512];
    msg[0] = '\0';
    if (cc_cf_parse_size_msg(cc_disp_val(rp->d), bytes, msg, sizeof(msg)) == 0)
        return CC_OK;
    return value_err(rp, fmt, msg);
}

int cc_rp_no_more_args(cc_rp *rp)
{
    if (cc_disp_next_arg(rp->d))
        return cc_disp_arg_err(rp->d);
    return CC_OK;
}

int cc_rp_need_arg(cc_rp *rp)
{
    if (!cc_disp_next_arg(rp->d))
        return cc_disp_arg_err(rp->d);
    return CC_OK;
}

cc_cfg *cc_rp_obj(cc_rp *rp, cc_cfg *obj, const char *key)
{
    return cc_cfg_child_obj(rp->a, obj, key);
}

/* Go's omitempty: a zero value is not written. */
static void set_int(cc_rp *rp, const char *key, int64_t v)
{
    if (v)
        cc_cfg_set_int(rp->a, rp->out, key, v);
    else
        cc_cfg_del(rp->out, key);
}

/* ---- streaming, buffering and proxy-trust subdirectives ---- */

/* flush_interval, stream_timeout and stream_close_delay take a bare integer (nanoseconds,
 * so "-1" works) before trying a duration. */
static int int_or_duration(cc_rp *rp, const char *key)
{
    if (cc_rp_need_arg(rp))
        return CC_ERR;
    int64_t v;
    if (cc_goconv_atoi(cc_disp_val(rp->d), &v) != NULL &&
        cc_rp_duration(rp, "bad duration value '%s'", &v))
        return CC_ERR;
    set_int(rp, key, v);
    return CC_OK;
}

static int buffer_size(cc_rp *rp, const char *key)
{
    if (cc_rp_need_arg(rp))
        return CC_ERR;
    int64_t v = -1;
    if (strcmp(cc_disp_val(rp->d), "unlimited") != 0 &&
        cc_rp_size(rp, "invalid byte size '%s'", &v))
        return CC_ERR;
    if (cc_rp_no_more_args(rp))
        return CC_ERR;
    set_int(rp, key, v);
    return CC_OK;
}

static int trusted_proxies(cc_rp *rp)
{
    static const char *const private_ranges[] = {
        "192.168.0.0/16", "172.16.0.0/12", "10.0.0.0/8", "127.0.0.1/8", "fd00::/8", "::1",
    };
    while (cc_disp_next_arg(rp->d)) {
        cc_cfg *arr = cc_cfg_child_arr(rp->a, rp->out, "trusted_proxies");
        if (strcmp(cc_disp_val(rp->d), "private_ranges") == 0) {
            for (size_t i = 0; i < sizeof(private_ranges) / sizeof(private_ranges[0]); i++)
                cc_cfg_push_str(rp->a, arr, private_ranges[i]);
        } else {
            cc_cfg_push_str(rp->a, arr, cc_disp_val(rp->d));
        }
    }
    return CC_OK;
}

static int stream_sub(cc_rp *rp, const char *sub)
{
    if (!strcmp(sub, "flush_interval") || !strcmp(sub, "stream_timeout") ||
        !strcmp(sub, "stream_close_delay"))
        return int_or_duration(rp, sub);
    if (!strcmp(sub, "request_buffers") || !strcmp(sub, "response_buffers") ||
        !strcmp(sub, "stream_buffer_size"))
        return buffer_size(rp, sub);
    if (!strcmp(sub, "trusted_proxies"))
        return trusted_proxies(rp);
    if (!strcmp(sub, "verbose_logs")) {
        if (cc_cfg_get(rp->out, "verbose_logs"))
            return cc_disp_errf(rp->d, "verbose_logs already specified");
        cc_cfg_set_bool(rp->a, rp->out, "verbose_logs", true);
        return CC_OK;
    }
    return CC_RP_NOT_MINE;
}

/* ---- the directive ---- */

static int parse_block(cc_rp *rp)
{
    int (*const groups[])(cc_rp *, const char *) = {
        cc_rp_upstreams_sub, cc_rp_lb_sub,       cc_rp_health_sub,
        cc_rp_transport_sub, cc_rp_response_sub, stream_sub,
    };
    for (int nest = cc_disp_nesting(rp->d); cc_disp_next_block(rp->d, nest);) {
        const char *sub = cc_disp_val(rp->d);
        int rc = CC_RP_NOT_MINE;
        for (size_t i = 0; rc == CC_RP_NOT_MINE && i < sizeof(groups) / sizeof(groups[0]); i++)
            rc = groups[i](rp, sub);
        if (rc == CC_RP_NOT_MINE)
            return cc_disp_errf(rp->d, "unrecognized subdirective %s", sub);
        if (rc != CC_OK)
            return CC_ERR;
    }
    return CC_OK;
}

static cc_cfg *parse_reverse_proxy(cc_helper *h)
{
    cc_rp rp = {.h = h, .d = h->d, .a = h->a};
    rp.out = cc_cfg_obj(rp.a);
    rp.resp_matchers = cc_cfg_obj(rp.a);
    cc_cfg_set_str(rp.a, rp.out, "handler", "reverse_proxy");

    cc_disp_next(rp.d); /* the directive name */
    while (cc_disp_next_arg(rp.d))
        if (cc_rp_add_upstream(&rp, cc_disp_val(rp.d)))
            return NULL;
    if (parse_block(&rp) || cc_rp_transport_finish(&rp) || cc_rp_response_finish(&rp))
        return NULL;
    return rp.out;
}

const cc_module cc_mod_reverse_proxy = {
    .abi = CC_MODULE_ABI,
    .name = "reverse_proxy",
    .parse_handler = parse_reverse_proxy,
};
