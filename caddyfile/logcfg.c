/* SPDX-License-Identifier: Apache-2.0
 * The `log` block, shared by the site directive and the global option (Caddy's
 * parseLogHelper): writers (stdout, stderr, discard, file, net), encoders (console,
 * json, filter with its field filters, append, journald), level, sampling, include and
 * exclude, producing the logger objects of Caddy's "logging.logs" JSON. */
#include "optutil.h"

#include <ctype.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "units.h"

static int parse_encoder(cc_disp *d, cc_arena *a, cc_cfg **out);

/* ---- writers ---- */

static int file_mode(const char *s, cc_arena *a, const char **out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 4)
        return n == 0 ? 0 : -1;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '7')
            return -1;
        v = v * 8 + (unsigned)(s[i] - '0');
    }
    *out = cc_arena_printf(a, "%04o", v);
    return 0;
}

static int parse_file_writer(cc_disp *d, cc_arena *a, cc_cfg *w)
{
    cc_disp_next(d); /* "file" */
    if (!cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    cc_cfg_set_str(a, w, "filename", cc_disp_val(d));
    if (cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d), *arg = NULL;
        if (strcmp(sub, "mode") == 0) {
            const char *mode = NULL;
            if (!cc_cf_one_arg(d, &arg))
                return cc_disp_arg_err(d);
            if (file_mode(arg, a, &mode) != 0)
                return cc_disp_errf(d,
                                    "parsing mode: strconv.ParseUint: parsing \"%s\": invalid "
                                    "syntax",
                                    arg);
            if (mode && strcmp(mode, "0000") != 0)
                cc_cfg_set_str(a, w, "mode", mode);
            else
                cc_cfg_del(w, "mode");
        } else if (strcmp(sub, "dir_mode") == 0) {
            const char *mode = NULL;
            if (!cc_cf_one_arg(d, &arg))
                return cc_disp_arg_err(d);
            if (strcasecmp(arg, "inherit") != 0 && strcasecmp(arg, "from_file") != 0 &&
                file_mode(arg, a, &mode) != 0)
                return cc_disp_errf(d,
                                    "parsing dir_mode: strconv.ParseUint: parsing \"%s\": "
                                    "invalid syntax",
                                    arg);
            cc_cfg_set_str(a, w, "dir_mode", arg);
        } else if (strcmp(sub, "roll_disabled") == 0) {
            cc_cfg_set_bool(a, w, "roll", false);
            if (cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
        } else if (strcmp(sub, "roll_size") == 0) {
            int64_t size;
            char msg[128];
            if (!cc_cf_one_arg(d, &arg))
                return cc_disp_arg_err(d);
            if (cc_cf_parse_size_msg(arg, &size, msg, sizeof(msg)) != 0)
                return cc_disp_errf(d, "parsing size: %s", msg);
            int64_t mb = (int64_t)ceil((double)size / 1048576.0);
            if (mb)
                cc_cfg_set_int(a, w, "roll_size_mb", mb);
        } else if (strcmp(sub, "roll_uncompressed") == 0) {
            cc_cfg_set_bool(a, w, "roll_gzip", false);
            if (cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
        } else if (strcmp(sub, "roll_compression") == 0) {
            if (!cc_cf_one_arg(d, &arg))
                return cc_disp_arg_err(d);
            if (strcasecmp(arg, "none") != 0 && strcasecmp(arg, "gzip") != 0 &&
                strcasecmp(arg, "zstd") != 0)
                return cc_disp_errf(d,
                                    "parsing roll_compression: must be 'none', 'gzip' or 'zstd'");
            char *lc = cc_arena_strdup(a, arg);
            for (char *p = lc; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            cc_cfg_set_str(a, w, "roll_compression", lc);
        } else if (strcmp(sub, "roll_local_time") == 0) {
            cc_cfg_set_bool(a, w, "roll_local_time", true);
            if (cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
        } else if (strcmp(sub, "roll_keep") == 0) {
            int64_t keep;
            if (!cc_cf_one_arg(d, &arg))
                return cc_disp_arg_err(d);
            if (cc_cf_opt_atoi(arg, &keep) != 0)
                return cc_disp_errf(d, "parsing roll_keep number: %s",
                                    cc_cf_opt_atoi_errmsg(a, arg));
            if (keep)
                cc_cfg_set_int(a, w, "roll_keep", keep);
        } else if (strcmp(sub, "roll_keep_for") == 0) {
            int64_t ns;
            char msg[256];
            if (!cc_cf_one_arg(d, &arg))
                return cc_disp_arg_err(d);
            if (cc_cf_parse_duration_msg(arg, &ns, msg, sizeof(msg)) != 0)
                return cc_disp_errf(d, "parsing roll_keep_for duration: %s", msg);
            if (ns < 0)
                return cc_disp_errf(d, "negative roll_keep_for duration: %s", arg);
            int64_t days = (int64_t)ceil((double)ns / 3.6e12 / 24.0);
            if (days)
                cc_cfg_set_int(a, w, "roll_keep_days", days);
        } else if (strcmp(sub, "roll_interval") == 0) {
            int64_t ns;
            if (!cc_cf_one_arg(d, &arg))
                return cc_disp_arg_err(d);
            if (cc_cf_dur_tok(d, "parsing roll_interval duration", &ns) != CC_OK)
                return CC_ERR;
            if (ns)
                cc_cfg_set_int(a, w, "roll_interval", ns);
        } else if (strcmp(sub, "roll_minutes") == 0 || strcmp(sub, "roll_at") == 0) {
            bool minutes = strcmp(sub, "roll_minutes") == 0;
            size_t n = 0;
            const char **args = cc_disp_remaining_args(d, &n);
            if (n == 0)
                return cc_disp_arg_err(d);
            cc_cfg *list = cc_cfg_arr(a);
            for (size_t i = 0; i < n; i++) {
                const char *p = args[i];
                for (;;) {
                    const char *comma = strchr(p, ',');
                    size_t len = comma ? (size_t)(comma - p) : strlen(p);
                    while (len && isspace((unsigned char)*p)) {
                        p++;
                        len--;
                    }
                    while (len && isspace((unsigned char)p[len - 1]))
                        len--;
                    if (len == 0)
                        return cc_disp_errf(d, "parsing %s: empty value", sub);
                    char *item = cc_arena_strndup(a, p, len);
                    if (minutes) {
                        int64_t m;
                        if (cc_cf_opt_atoi(item, &m) != 0)
                            return cc_disp_errf(d, "parsing roll_minutes number: %s",
                                                cc_cf_opt_atoi_errmsg(a, item));
                        cc_cfg_push(a, list, cc_cfg_int(a, m));
                    } else {
                        cc_cfg_push_str(a, list, item);
                    }
                    if (!comma)
                        break;
                    p = comma + 1;
                }
            }
            cc_cfg_set(a, w, minutes ? "roll_minutes" : "roll_at", list);
        } else if (strcmp(sub, "backup_time_format") == 0) {
            if (!cc_cf_one_arg(d, &arg))
                return cc_disp_arg_err(d);
            cc_cfg_set_str(a, w, "backup_time_format", arg);
        } else {
            return cc_disp_errf(d, "unrecognized subdirective '%s'", sub);
        }
    }
    return CC_OK;
}

static int parse_net_writer(cc_disp *d, cc_arena *a, cc_cfg *w)
{
    cc_disp_next(d); /* "net" */
    if (!cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    cc_cfg_set_str(a, w, "address", cc_disp_val(d));
    if (cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "dial_timeout") == 0) {
            int64_t ns;
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (cc_cf_parse_duration(cc_disp_val(d), &ns) != 0)
                return cc_disp_errf(d, "invalid duration: %s", cc_disp_val(d));
            if (cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (ns)
                cc_cfg_set_int(a, w, "dial_timeout", ns);
        } else if (strcmp(sub, "soft_start") == 0) {
            if (cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            cc_cfg_set_bool(a, w, "soft_start", true);
        } else {
            return cc_disp_errf(d, "unrecognized subdirective '%s'", sub);
        }
    }
    return CC_OK;
}

/* Cursor on the writer name; consumes its segment. */
static int parse_writer(cc_disp *d, cc_arena *a, cc_cfg **out)
{
    const char *name = cc_disp_val(d);
    cc_cfg *w = cc_cfg_obj(a);
    cc_cfg_set_str(a, w, "output", name);
    *out = w;
    if (strcmp(name, "stdout") == 0 || strcmp(name, "stderr") == 0 || strcmp(name, "discard") == 0)
        return CC_OK;
    if (strcmp(name, "file") == 0)
        return parse_file_writer(cc_disp_new_from_next_segment(d), a, w);
    if (strcmp(name, "net") == 0)
        return parse_net_writer(cc_disp_new_from_next_segment(d), a, w);
    return cc_cf_unknown_module(d, cc_arena_printf(a, "caddy.logging.writers.%s", name));
}

/* ---- encoders ---- */

/* LogEncoderConfig: the common console/json subdirectives. */
static int parse_encoder_config(cc_disp *d, cc_arena *a, cc_cfg *e)
{
    static const char *const keys[] = {"message_key",  "level_key",   "time_key",
                                       "name_key",     "caller_key",  "stacktrace_key",
                                       "line_ending",  "time_format", "duration_format",
                                       "level_format", NULL};
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d), *arg = NULL;
        if (strcmp(sub, "time_local") == 0) {
            cc_cfg_set_bool(a, e, "time_local", true);
            if (cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            continue;
        }
        if (!cc_cf_one_arg(d, &arg))
            return cc_disp_arg_err(d);
        size_t i = 0;
        for (; keys[i]; i++)
            if (strcmp(keys[i], sub) == 0)
                break;
        if (!keys[i])
            return cc_disp_errf(d, "unrecognized subdirective %s", sub);
        /* the format strings are plain (omitempty) strings in Caddy's struct */
        if (i >= 7 && arg[0] == '\0')
            cc_cfg_del(e, sub);
        else
            cc_cfg_set_str(a, e, sub, arg);
    }
    return CC_OK;
}

static int filter_actions(cc_disp *d, cc_arena *a, cc_cfg *f, const char *namekey)
{
    cc_cfg *actions = NULL;
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        cc_cfg *act = cc_cfg_obj(a);
        if (strcmp(sub, "replace") == 0 || strcmp(sub, "hash") == 0 || strcmp(sub, "delete") == 0) {
            cc_cfg_set_str(a, act, "type", sub);
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            cc_cfg_set_str(a, act, namekey, cc_disp_val(d));
            if (strcmp(sub, "replace") == 0) {
                if (!cc_disp_next_arg(d))
                    return cc_disp_arg_err(d);
                if (cc_disp_val(d)[0])
                    cc_cfg_set_str(a, act, "value", cc_disp_val(d));
            }
        } else {
            return cc_disp_errf(d, "unrecognized subdirective %s", sub);
        }
        if (!actions)
            actions = cc_cfg_child_arr(a, f, "actions");
        cc_cfg_push(a, actions, act);
    }
    if (!cc_cfg_get(f, "actions"))
        cc_cfg_set(a, f, "actions", cc_cfg_null(a));
    return CC_OK;
}

static int ip_mask_arg(cc_disp *d, cc_arena *a, const char *s, int64_t *out)
{
    if (cc_cf_opt_atoi(s, out) != 0)
        return cc_disp_errf(d, "error parsing %s: %s", s, cc_cf_opt_atoi_errmsg(a, s));
    return CC_OK;
}

/* One field filter; d is the filter's own segment (first token = filter name). The
 * regexp filter is returned with *is_regexp so the caller can merge several. */
static int parse_filter(cc_disp *d, cc_arena *a, cc_cfg **out, bool *is_regexp)
{
    cc_disp_next(d);
    const char *name = cc_disp_val(d);
    cc_cfg *f = cc_cfg_obj(a);
    cc_cfg_set_str(a, f, "filter", name);
    *out = f;
    *is_regexp = false;
    if (strcmp(name, "delete") == 0 || strcmp(name, "hash") == 0)
        return CC_OK;
    if (strcmp(name, "replace") == 0 || strcmp(name, "rename") == 0) {
        if (cc_disp_next_arg(d) && cc_disp_val(d)[0])
            cc_cfg_set_str(a, f, name[1] == 'e' && name[2] == 'p' ? "value" : "name",
                           cc_disp_val(d));
        return CC_OK;
    }
    if (strcmp(name, "regexp") == 0) {
        *is_regexp = true;
        if (cc_disp_next_arg(d) && cc_disp_val(d)[0])
            cc_cfg_set_str(a, f, "regexp", cc_disp_val(d));
        if (cc_disp_next_arg(d) && cc_disp_val(d)[0])
            cc_cfg_set_str(a, f, "value", cc_disp_val(d));
        return CC_OK;
    }
    if (strcmp(name, "ip_mask") == 0) {
        size_t n = 0;
        const char **args = cc_disp_remaining_args(d, &n);
        int64_t v;
        if (n > 2)
            return cc_disp_errf(d, "too many arguments");
        for (size_t i = 0; i < n; i++) {
            if (ip_mask_arg(d, a, args[i], &v) != CC_OK)
                return CC_ERR;
            if (v)
                cc_cfg_set_int(a, f, i == 0 ? "ipv4_cidr" : "ipv6_cidr", v);
        }
        for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
            const char *sub = cc_disp_val(d);
            if (strcmp(sub, "ipv4") != 0 && strcmp(sub, "ipv6") != 0)
                return cc_disp_errf(d, "unrecognized subdirective %s", sub);
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (ip_mask_arg(d, a, cc_disp_val(d), &v) != CC_OK)
                return CC_ERR;
            const char *key = sub[3] == '4' ? "ipv4_cidr" : "ipv6_cidr";
            if (v)
                cc_cfg_set_int(a, f, key, v);
            else
                cc_cfg_del(f, key);
        }
        return CC_OK;
    }
    if (strcmp(name, "query") == 0)
        return filter_actions(d, a, f, "parameter");
    if (strcmp(name, "cookie") == 0 || strcmp(name, "set_cookie") == 0)
        return filter_actions(d, a, f, "name");
    if (strcmp(name, "multi_regexp") == 0) {
        cc_cfg *ops = cc_cfg_child_arr(a, f, "operations");
        for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
            if (strcmp(cc_disp_val(d), "regexp") != 0)
                return cc_disp_errf(d, "unrecognized subdirective %s", cc_disp_val(d));
            if (cc_cfg_len(ops) >= 50)
                return cc_disp_errf(d, "too many regexp operations (maximum %d allowed)", 50);
            cc_cfg *op = cc_cfg_obj(a);
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (strlen(cc_disp_val(d)) > 1000)
                return cc_disp_errf(d, "regexp pattern too long (maximum %d characters)", 1000);
            if (!cc_disp_val(d)[0])
                return cc_disp_errf(d, "regexp pattern cannot be empty");
            cc_cfg_set_str(a, op, "regexp", cc_disp_val(d));
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (cc_disp_val(d)[0])
                cc_cfg_set_str(a, op, "value", cc_disp_val(d));
            cc_cfg_push(a, ops, op);
        }
        if (cc_cfg_len(ops) == 0)
            return cc_disp_errf(d, "multi_regexp filter requires at least one regexp operation");
        return CC_OK;
    }
    return cc_cf_unknown_module(d, cc_arena_printf(a, "caddy.logging.encoders.filter.%s", name));
}

typedef struct field_filters {
    cc_cfg *fields;  /* OBJ field -> filter */
    cc_cfg *regexps; /* OBJ field -> ARR of regexp filters, merged at the end */
} field_filters;

/* Cursor on the field name. */
static int parse_filter_field(cc_disp *d, cc_arena *a, field_filters *ff)
{
    const char *field = cc_disp_val(d);
    if (!cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    cc_cfg *f = NULL;
    bool is_regexp;
    if (parse_filter(cc_disp_new_from_next_segment(d), a, &f, &is_regexp) != CC_OK)
        return CC_ERR;
    if (is_regexp) {
        cc_cfg_push(a, cc_cfg_child_arr(a, ff->regexps, field), f);
        return CC_OK;
    }
    if (cc_cfg_get(ff->regexps, field))
        return cc_disp_errf(d, "cannot mix regexp filters with other filter types for field %s",
                            field);
    if (cc_cfg_get(ff->fields, field))
        return cc_disp_errf(
            d,
            "field %s already has a filter; multiple non-regexp filters per field are not "
            "supported",
            field);
    cc_cfg_set(a, ff->fields, field, f);
    return CC_OK;
}

/* filter and append share the same layout: wrap, fields { ... }, or bare fields. */
static int parse_wrapping_encoder(cc_disp *d, cc_arena *a, cc_cfg *e, bool filter)
{
    cc_disp_next(d); /* encoder name */
    field_filters ff = {cc_cfg_obj(a), cc_cfg_obj(a)};
    cc_cfg *append_fields = NULL;
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "wrap") == 0) {
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            cc_cfg *wrapped = NULL;
            if (parse_encoder(d, a, &wrapped) != CC_OK)
                return CC_ERR;
            cc_cfg_set(a, e, "wrap", wrapped);
            continue;
        }
        bool block = strcmp(sub, "fields") == 0;
        int fnest = cc_disp_nesting(d);
        if (block && !cc_disp_next_block(d, fnest))
            continue;
        do {
            if (filter) {
                if (parse_filter_field(d, a, &ff) != CC_OK)
                    return CC_ERR;
            } else {
                const char *field = cc_disp_val(d);
                if (!cc_disp_next_arg(d))
                    return cc_disp_arg_err(d);
                if (!append_fields)
                    append_fields = cc_cfg_obj(a);
                cc_cfg_set(a, append_fields, field, cc_cf_scalar(a, cc_disp_tok(d)));
                if (cc_disp_next_arg(d))
                    return cc_disp_arg_err(d);
            }
        } while (block && cc_disp_next_block(d, fnest));
    }
    if (filter) {
        for (size_t i = 0; i < ff.regexps->obj.n; i++) {
            cc_cfg *list = ff.regexps->obj.v[i];
            if (cc_cfg_len(list) == 1) {
                cc_cfg_set(a, ff.fields, ff.regexps->obj.k[i], cc_cfg_idx(list, 0));
                continue;
            }
            cc_cfg *multi = cc_cfg_obj(a);
            cc_cfg_set_str(a, multi, "filter", "multi_regexp");
            cc_cfg *ops = cc_cfg_child_arr(a, multi, "operations");
            for (size_t j = 0; j < cc_cfg_len(list); j++) {
                cc_cfg *rf = cc_cfg_idx(list, j);
                const char *re = cc_cfg_get_str(rf, "regexp");
                if (!re || !*re) {
                    cc_err_set(d->err,
                               "adding regexp operation for field %s: regexp pattern "
                               "cannot be empty",
                               ff.regexps->obj.k[i]);
                    return CC_ERR;
                }
                cc_cfg *op = cc_cfg_obj(a);
                cc_cfg_set_str(a, op, "regexp", re);
                if (cc_cfg_get_str(rf, "value"))
                    cc_cfg_set_str(a, op, "value", cc_cfg_get_str(rf, "value"));
                cc_cfg_push(a, ops, op);
            }
            cc_cfg_set(a, ff.fields, ff.regexps->obj.k[i], multi);
        }
        if (cc_cfg_len(ff.fields))
            cc_cfg_set(a, e, "fields", ff.fields);
    } else if (append_fields) {
        cc_cfg_set(a, e, "fields", append_fields);
    }
    return CC_OK;
}

/* Cursor on the encoder name; consumes its segment. */
static int parse_encoder(cc_disp *d, cc_arena *a, cc_cfg **out)
{
    const char *name = cc_disp_val(d);
    cc_cfg *e = cc_cfg_obj(a);
    cc_cfg_set_str(a, e, "format", name);
    *out = e;
    if (strcmp(name, "console") == 0 || strcmp(name, "json") == 0) {
        cc_disp *sub = cc_disp_new_from_next_segment(d);
        cc_disp_next(sub);
        if (cc_disp_next_arg(sub))
            return cc_disp_arg_err(sub);
        return parse_encoder_config(sub, a, e);
    }
    if (strcmp(name, "filter") == 0 || strcmp(name, "append") == 0)
        return parse_wrapping_encoder(cc_disp_new_from_next_segment(d), a, e, name[0] == 'f');
    if (strcmp(name, "journald") == 0) {
        cc_disp *sub = cc_disp_new_from_next_segment(d);
        cc_disp_next(sub);
        if (cc_disp_next_arg(sub))
            return cc_disp_arg_err(sub);
        for (int nest = cc_disp_nesting(sub); cc_disp_next_block(sub, nest);) {
            if (strcmp(cc_disp_val(sub), "wrap") != 0)
                return cc_disp_errf(sub, "unrecognized subdirective %s", cc_disp_val(sub));
            if (!cc_disp_next_arg(sub))
                return cc_disp_arg_err(sub);
            cc_cfg *wrapped = NULL;
            if (parse_encoder(sub, a, &wrapped) != CC_OK)
                return CC_ERR;
            cc_cfg_set(a, e, "wrap", wrapped);
        }
        return CC_OK;
    }
    return cc_cf_unknown_module(d, cc_arena_printf(a, "caddy.logging.encoders.%s", name));
}

/* ---- the log block ---- */

static int parse_sampling(cc_disp *d, cc_arena *a, cc_cfg *s)
{
    while (cc_disp_next_arg(d))
        ;
    cc_cfg *seen = cc_cfg_obj(a);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        if (cc_cfg_get(seen, sub))
            return cc_disp_errf(d, "'%s' specified more than once in the same sampling block", sub);
        cc_cfg_set_bool(a, seen, sub, true);
        if (strcmp(sub, "interval") == 0) {
            int64_t ns;
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (cc_cf_dur_tok(d, "failed to parse interval", &ns) != CC_OK)
                return CC_ERR;
            if (ns)
                cc_cfg_set_int(a, s, "interval", ns);
        } else if (strcmp(sub, "first") == 0 || strcmp(sub, "thereafter") == 0) {
            int64_t v;
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (cc_cf_opt_atoi(cc_disp_val(d), &v) != 0)
                return cc_disp_errf(d, "failed to parse %s: %s", sub,
                                    cc_cf_opt_atoi_errmsg(a, cc_disp_val(d)));
            if (v)
                cc_cfg_set_int(a, s, sub, v);
        } else {
            return cc_disp_errf(d, "unrecognized subdirective: %s", sub);
        }
    }
    return CC_OK;
}

static int assert_unique(cc_disp *d, cc_arena *a, cc_cfg *seen, const char *sub)
{
    if (cc_cfg_get(seen, sub))
        return cc_disp_errf(d, "'%s' subdirective specified more than once in the same log block",
                            sub);
    cc_cfg_set_bool(a, seen, sub, true);
    return CC_OK;
}

int cc_cf_log_parse(cc_disp *d, cc_arena *a, bool global, const cc_cfg *used, cc_cf_log *out)
{
    memset(out, 0, sizeof(*out));
    cc_disp_next(d); /* "log" */
    if (cc_disp_next_arg(d)) {
        out->name = cc_disp_val(d);
        if (cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
    } else if (global) {
        out->name = "default";
    }
    if (global && cc_cfg_get(used, out->name))
        return cc_disp_errf(d, "duplicate global log option for: %s", out->name);
    out->hostnames = cc_cfg_arr(a);
    cc_cfg *cl = cc_cfg_obj(a);
    cc_cfg *seen = cc_cfg_obj(a);
    /* Go builds these keys in struct order; keep that order for readable output */
    cc_cfg *writer = NULL, *encoder = NULL, *core = NULL, *level = NULL, *sampling = NULL;
    cc_cfg *include = NULL, *exclude = NULL;
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "hostnames") == 0) {
            if (global)
                return cc_disp_errf(d, "hostnames is not allowed in the log global options");
            size_t n = 0;
            const char **args = cc_disp_remaining_args(d, &n);
            if (n == 0)
                return cc_disp_arg_err(d);
            for (size_t i = 0; i < n; i++)
                cc_cfg_push_str(a, out->hostnames, args[i]);
        } else if (strcmp(sub, "output") == 0) {
            if (assert_unique(d, a, seen, sub) != CC_OK)
                return CC_ERR;
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (parse_writer(d, a, &writer) != CC_OK)
                return CC_ERR;
        } else if (strcmp(sub, "sampling") == 0) {
            if (assert_unique(d, a, seen, sub) != CC_OK)
                return CC_ERR;
            sampling = cc_cfg_obj(a);
            if (parse_sampling(cc_disp_new_from_next_segment(d), a, sampling) != CC_OK)
                return CC_ERR;
        } else if (strcmp(sub, "core") == 0) {
            if (assert_unique(d, a, seen, sub) != CC_OK)
                return CC_ERR;
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            return cc_cf_unknown_module(
                d, cc_arena_printf(a, "caddy.logging.cores.%s", cc_disp_val(d)));
        } else if (strcmp(sub, "format") == 0) {
            if (assert_unique(d, a, seen, sub) != CC_OK)
                return CC_ERR;
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (parse_encoder(d, a, &encoder) != CC_OK)
                return CC_ERR;
        } else if (strcmp(sub, "level") == 0) {
            if (assert_unique(d, a, seen, sub) != CC_OK)
                return CC_ERR;
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            level = cc_disp_val(d)[0] ? cc_cfg_str(a, cc_disp_val(d)) : NULL;
            if (cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
        } else if (strcmp(sub, "include") == 0 || strcmp(sub, "exclude") == 0) {
            if (!global)
                return cc_disp_errf(d, "%s is not allowed in the log directive", sub);
            cc_cfg **list = sub[0] == 'i' ? &include : &exclude;
            while (cc_disp_next_arg(d)) {
                if (!*list)
                    *list = cc_cfg_arr(a);
                cc_cfg_push_str(a, *list, cc_disp_val(d));
            }
        } else if (strcmp(sub, "no_hostname") == 0) {
            if (assert_unique(d, a, seen, sub) != CC_OK)
                return CC_ERR;
            if (cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            out->no_hostname = true;
        } else {
            return cc_disp_errf(d, "unrecognized subdirective: %s", sub);
        }
    }
    (void)core;
    if (writer)
        cc_cfg_set(a, cl, "writer", writer);
    if (encoder)
        cc_cfg_set(a, cl, "encoder", encoder);
    if (level)
        cc_cfg_set(a, cl, "level", level);
    if (sampling)
        cc_cfg_set(a, cl, "sampling", sampling);
    if (include)
        cc_cfg_set(a, cl, "include", include);
    if (exclude)
        cc_cfg_set(a, cl, "exclude", exclude);
    out->log = cc_cfg_len(cl) ? cl : NULL;
    return CC_OK;
}
