/* SPDX-License-Identifier: Apache-2.0
 * Access-log directives: `log` (a "custom_log" config value naming a logger for the
 * site), `log_skip` / deprecated `skip_log` (a vars handler setting log_skip) and
 * `log_name` (a vars handler choosing access logger names per request). */
#include "optutil.h"

#include <string.h>

/* Unnamed site loggers are called log0, log1, ... across the whole Caddyfile. */
static const char *next_log_name(cc_helper *h)
{
    cc_adapt *ad = h->ad;
    int64_t n = 0;
    if (ad) {
        if (!ad->state)
            ad->state = cc_cfg_obj(h->a);
        cc_cfg *c = cc_cfg_get(ad->state, "log_counter");
        if (c && c->type == CC_CFG_INT)
            n = c->i;
        cc_cfg_set_int(h->a, ad->state, "log_counter", n + 1);
    }
    return cc_arena_printf(h->a, "log%lld", (long long)n);
}

static int parse_log(cc_helper *h, cc_cfvals *out)
{
    cc_cf_log l;
    if (cc_cf_log_parse(h->d, h->a, false, NULL, &l) != CC_OK)
        return CC_ERR;
    const char *name = l.name;
    if (!name && l.log)
        name = next_log_name(h);
    if (name && l.log) {
        cc_cfg *inc = cc_cfg_arr(h->a);
        cc_cfg_push_str(h->a, inc, cc_arena_printf(h->a, "http.log.access.%s", name));
        cc_cfg_set(h->a, l.log, "include", inc);
    }
    cc_cfg *v = cc_cfg_obj(h->a);
    cc_cfg_set_str(h->a, v, "name", name ? name : "");
    cc_cfg_set(h->a, v, "hostnames", l.hostnames);
    cc_cfg_set_bool(h->a, v, "no_hostname", l.no_hostname);
    if (l.log)
        cc_cfg_set(h->a, v, "log", l.log);
    cc_cfvals_add(h, out, "custom_log", v);
    return CC_OK;
}

static cc_cfg *parse_log_skip(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_disp_next(d);
    if (strcmp(cc_disp_val(d), "skip_log") == 0)
        cc_helper_warn(h, "the 'skip_log' directive is deprecated, please use 'log_skip' instead!");
    if (cc_disp_next_arg(d)) {
        cc_disp_arg_err(d);
        return NULL;
    }
    if (cc_disp_next_block(d, 0)) {
        cc_disp_errf(d, "log_skip directive does not accept blocks");
        return NULL;
    }
    cc_cfg *v = cc_cfg_obj(h->a);
    cc_cfg_set_str(h->a, v, "handler", "vars");
    cc_cfg_set_bool(h->a, v, "log_skip", true);
    return v;
}

static cc_cfg *parse_log_name(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_disp_next(d);
    size_t n = 0;
    const char **names = cc_disp_remaining_args(d, &n);
    cc_cfg *v = cc_cfg_obj(h->a);
    cc_cfg_set_str(h->a, v, "handler", "vars");
    cc_cfg_set(h->a, v, "access_logger_names",
               n ? cc_cfg_str_arr(h->a, names, n) : cc_cfg_null(h->a));
    return v;
}

const cc_module cc_cf_mod_log = {CC_MODULE_ABI, "log", NULL, parse_log};
const cc_module cc_cf_mod_log_skip = {CC_MODULE_ABI, "log_skip", parse_log_skip, NULL};
const cc_module cc_cf_mod_skip_log = {CC_MODULE_ABI, "skip_log", parse_log_skip, NULL};
const cc_module cc_cf_mod_log_name = {CC_MODULE_ABI, "log_name", parse_log_name, NULL};
