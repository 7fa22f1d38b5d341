/* SPDX-License-Identifier: Apache-2.0
 * The rate_limit directive (the mholt/caddy-ratelimit plugin's syntax and JSON): named
 * zones of sliding-window limits, each keyed by a placeholder string, optionally shared
 * between instances through storage. Syntax (the plugin's caddyfile.go):
 *
 *     rate_limit [<matcher>] {
 *         zone <name> {
 *             key         <string>
 *             window      <duration>
 *             events      <max_events>
 *             ipv4_prefix <bits>
 *             ipv6_prefix <bits>
 *             match {
 *                 <request matchers>
 *             }
 *         }
 *         distributed {
 *             read_interval  <duration>
 *             write_interval <duration>
 *             purge_age      <duration>
 *         }
 *         storage <module...>
 *         jitter  <fraction>
 *         sweep_interval <duration>
 *         log_key
 *         disable_metrics
 *     }
 */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "../caddyfile/helper.h"
#include "../caddyfile/units.h"
#include "goconv.h"

/* The current argument as a duration; what names it in the error ("window"). */
static int dur_arg(cc_disp *d, const char *what, int64_t *ns)
{
    const char *s = cc_disp_val(d);
    if (cc_cf_parse_duration(s, ns) != 0)
        return cc_disp_errf(d, "invalid %s '%s': time: invalid duration \"%s\"", what, s, s);
    return CC_OK;
}

/* The current argument as an integer; what names it in the error ("max events"). */
static int int_arg(cc_disp *d, const char *what, int64_t *v)
{
    const char *s = cc_disp_val(d);
    const char *why = cc_goconv_atoi(s, v);
    if (why)
        return cc_disp_errf(d, "invalid %s integer '%s': strconv.Atoi: parsing \"%s\": %s", what, s,
                            s, why);
    return CC_OK;
}

typedef struct zone {
    const char *key;
    int64_t window, events, v4, v6;
    cc_cfg *match;
} zone;

/* One zone line of the block ("key", "window", ...), cursor on its name. */
static int parse_zone_sub(cc_helper *h, zone *z)
{
    cc_disp *d = h->d;
    const char *sub = cc_disp_val(d);
    int64_t v;
    if (strcmp(sub, "match") == 0) {
        cc_cfg *set = NULL;
        if (cc_helper_parse_matcher_block(h, &set) != CC_OK)
            return CC_ERR;
        cc_cfg_push(h->a, z->match, set ? set : cc_cfg_obj(h->a));
        return CC_OK;
    }
    bool known = !strcmp(sub, "key") || !strcmp(sub, "window") || !strcmp(sub, "events") ||
                 !strcmp(sub, "ipv4_prefix") || !strcmp(sub, "ipv6_prefix");
    if (!known)
        return cc_disp_errf(d, "unrecognized subdirective '%s'", sub);
    if (!cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    /* a zero value counts as unset, so "events 0" may be given again (as in the plugin) */
    if (strcmp(sub, "key") == 0) {
        if (z->key && z->key[0])
            return cc_disp_errf(d, "zone key already specified: %s", z->key);
        z->key = cc_disp_val(d);
    } else if (strcmp(sub, "window") == 0) {
        if (z->window != 0)
            return cc_disp_errf(d, "zone window already specified: %" PRId64, z->window);
        if (dur_arg(d, "window duration", &z->window) != CC_OK)
            return CC_ERR;
    } else if (strcmp(sub, "events") == 0) {
        if (z->events != 0)
            return cc_disp_errf(d, "zone max events already specified: %" PRId64, z->events);
        if (int_arg(d, "max events", &v) != CC_OK)
            return CC_ERR;
        z->events = v;
    } else {
        bool v4 = strcmp(sub, "ipv4_prefix") == 0;
        int64_t *dst = v4 ? &z->v4 : &z->v6;
        if (*dst != 0)
            return cc_disp_errf(d, "zone %s already specified: %" PRId64, sub, *dst);
        if (int_arg(d, sub, &v) != CC_OK)
            return CC_ERR;
        *dst = v;
    }
    return CC_OK;
}

static int parse_zone(cc_helper *h, cc_cfg *limits)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    if (!cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    const char *name = cc_disp_val(d);
    zone z = {.match = cc_cfg_arr(a)};
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);)
        if (parse_zone_sub(h, &z) != CC_OK)
            return CC_ERR;
    if (z.window == 0 || z.events == 0)
        return cc_disp_errf(d, "a rate limit zone requires both a window and maximum events");

    cc_cfg *o = cc_cfg_obj(a);
    if (cc_cfg_len(z.match))
        cc_cfg_set(a, o, "match", z.match);
    if (z.key && z.key[0])
        cc_cfg_set_str(a, o, "key", z.key);
    cc_cfg_set_int(a, o, "max_events", z.events);
    cc_cfg_set_int(a, o, "window", z.window);
    if (z.v4)
        cc_cfg_set_int(a, o, "ipv4_prefix", z.v4);
    if (z.v6)
        cc_cfg_set_int(a, o, "ipv6_prefix", z.v6);
    /* a repeated zone name replaces the earlier zone */
    cc_cfg_set(a, limits, name, o);
    return CC_OK;
}

static int parse_distributed(cc_helper *h, cc_cfg **out)
{
    static const struct {
        const char *name, *key, *what;
    } opts[] = {
        {"read_interval", "read_interval", "read interval"},
        {"write_interval", "write_interval", "write interval"},
        {"purge_age", "purge_age", "purge age"},
    };
    cc_disp *d = h->d;
    int64_t vals[3] = {0, 0, 0};
    /* each distributed block starts over, as in the plugin */
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        size_t i = 0;
        while (i < 3 && strcmp(sub, opts[i].name) != 0)
            i++;
        if (i == 3)
            return cc_disp_errf(d, "unrecognized subdirective '%s'", sub);
        if (!cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        if (vals[i] != 0)
            return cc_disp_errf(d, "%s already specified: %" PRId64, opts[i].what, vals[i]);
        if (dur_arg(d, opts[i].what, &vals[i]) != CC_OK)
            return CC_ERR;
    }
    /* JSON in the plugin's field order */
    static const int order[] = {1, 0, 2};
    *out = cc_cfg_obj(h->a);
    for (size_t k = 0; k < 3; k++)
        if (vals[order[k]])
            cc_cfg_set_int(h->a, *out, opts[order[k]].key, vals[order[k]]);
    return CC_OK;
}

/* "storage <module> ...": the storage module's own Caddyfile syntax, from its segment.
 * file_system is the one storage module Caddy's standard build registers. */
static int parse_storage(cc_helper *h, cc_cfg **out)
{
    cc_disp *d = h->d;
    if (!cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    const char *mod = cc_disp_val(d);
    if (strcmp(mod, "file_system") != 0)
        return cc_disp_errf(d,
                            "getting module named 'caddy.storage.%s': module not registered: "
                            "caddy.storage.%s",
                            mod, mod);
    cc_disp *sd = cc_disp_new_from_next_segment(d);
    const char *root = "";
    cc_disp_next(sd);
    if (cc_disp_next_arg(sd))
        root = cc_disp_val(sd);
    if (cc_disp_next_arg(sd))
        return cc_disp_arg_err(sd);
    while (cc_disp_next_block(sd, 0)) {
        if (strcmp(cc_disp_val(sd), "root") != 0)
            return cc_disp_errf(sd, "unrecognized parameter '%s'", cc_disp_val(sd));
        if (!cc_disp_next_arg(sd))
            return cc_disp_arg_err(sd);
        if (root[0])
            return cc_disp_errf(sd, "root already set");
        root = cc_disp_val(sd);
        if (cc_disp_next_arg(sd))
            return cc_disp_arg_err(sd);
    }
    if (!root[0])
        return cc_disp_errf(sd, "missing root path (to use default, omit storage config "
                                "entirely)");
    *out = cc_cfg_obj(h->a);
    cc_cfg_set_str(h->a, *out, "module", "file_system");
    cc_cfg_set_str(h->a, *out, "root", root);
    return CC_OK;
}

typedef struct rl {
    cc_cfg *limits, *distributed, *storage;
    double jitter;
    int64_t sweep;
    bool log_key, no_metrics;
} rl;

static int parse_flag(cc_disp *d, bool *flag)
{
    if (cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    *flag = true;
    return CC_OK;
}

static int parse_sub(cc_helper *h, rl *r)
{
    cc_disp *d = h->d;
    const char *sub = cc_disp_val(d);
    if (strcmp(sub, "zone") == 0)
        return parse_zone(h, r->limits);
    if (strcmp(sub, "distributed") == 0)
        return parse_distributed(h, &r->distributed);
    if (strcmp(sub, "log_key") == 0)
        return parse_flag(d, &r->log_key);
    if (strcmp(sub, "disable_metrics") == 0)
        return parse_flag(d, &r->no_metrics);
    if (strcmp(sub, "storage") == 0)
        return parse_storage(h, &r->storage);
    if (strcmp(sub, "jitter") == 0) {
        if (!cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        if (r->jitter != 0)
            return cc_disp_errf(d, "jitter already specified: %g", r->jitter);
        const char *s = cc_disp_val(d);
        const char *why = cc_goconv_parse_float(s, &r->jitter);
        if (why)
            return cc_disp_errf(d,
                                "invalid jitter percentage '%s': strconv.ParseFloat: parsing "
                                "\"%s\": %s",
                                s, s, why);
        return CC_OK;
    }
    if (strcmp(sub, "sweep_interval") == 0) {
        if (!cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        if (r->sweep != 0)
            return cc_disp_errf(d, "sweep interval already specified: %" PRId64, r->sweep);
        return dur_arg(d, "sweep interval", &r->sweep);
    }
    return cc_disp_errf(d, "unrecognized subdirective '%s'", sub);
}

static cc_cfg *parse_handler(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    rl r = {.limits = cc_cfg_obj(a)};
    cc_disp_next(d);
    if (cc_disp_next_arg(d)) {
        cc_disp_arg_err(d);
        return NULL;
    }
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);)
        if (parse_sub(h, &r) != CC_OK)
            return NULL;

    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "rate_limit");
    if (cc_cfg_len(r.limits))
        cc_cfg_set(a, o, "rate_limits", r.limits);
    if (r.jitter != 0)
        cc_cfg_set(a, o, "jitter", cc_cfg_num(a, r.jitter));
    if (r.sweep)
        cc_cfg_set_int(a, o, "sweep_interval", r.sweep);
    if (r.distributed)
        cc_cfg_set(a, o, "distributed", r.distributed);
    if (r.storage)
        cc_cfg_set(a, o, "storage", r.storage);
    if (r.log_key)
        cc_cfg_set_bool(a, o, "log_key", true);
    if (r.no_metrics)
        cc_cfg_set_bool(a, o, "disable_metrics", true);
    return o;
}

const cc_module cc_mod_rate_limit = {CC_MODULE_ABI, "rate_limit", parse_handler, NULL};
