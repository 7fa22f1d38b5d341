/* SPDX-License-Identifier: Apache-2.0
 * The `uri` directive: manipulate the request URI (a rewrite handler without a new
 * target).
 *
 *     uri [<matcher>] strip_prefix <prefix>
 *     uri [<matcher>] strip_suffix <suffix>
 *     uri [<matcher>] replace <find> <replace> [<limit>]
 *     uri [<matcher>] path_regexp <find> <replace>
 *     uri [<matcher>] query [-|+]<param> [<value>] | <old>><new> | <param> <re> <repl>
 *     uri [<matcher>] query {
 *         <one query op per line, as above>
 *     }
 *
 * Query ops: -k deletes, +k v adds, a>b renames, k v sets, k <regexp> <replacement>
 * replaces within values. */
#include <string.h>

#include "../caddyfile/helper.h"
#include "goval.h"

/* Sets key to s unless s is empty (Go's omitempty). */
static void set_nonempty(cc_arena *a, cc_cfg *o, const char *key, const char *s)
{
    if (*s)
        cc_cfg_set_str(a, o, key, s);
}

/* {"key": k, "val": v}, empty members left out. */
static cc_cfg *key_val(cc_arena *a, const char *k, const char *v)
{
    cc_cfg *o = cc_cfg_obj(a);
    set_nonempty(a, o, "key", k);
    set_nonempty(a, o, "val", v);
    return o;
}

/* One query operation from its words (args[0] being the parameter with any prefix). */
static int query_op(cc_disp *d, cc_arena *a, cc_cfg *q, const char **args, size_t n)
{
    const char *key = args[0];
    if (key[0] == '-') {
        if (n != 1)
            return cc_disp_arg_err(d);
        cc_cfg_push_str(a, cc_cfg_child_arr(a, q, "delete"), key + strspn(key, "-"));
    } else if (key[0] == '+') {
        if (n != 2)
            return cc_disp_arg_err(d);
        cc_cfg_push(a, cc_cfg_child_arr(a, q, "add"), key_val(a, key + strspn(key, "+"), args[1]));
    } else if (strchr(key, '>')) {
        if (n != 1)
            return cc_disp_arg_err(d);
        const char *gt = strchr(key, '>');
        const char *rest = gt + 1, *end = strchr(rest, '>');
        cc_cfg_push(a, cc_cfg_child_arr(a, q, "rename"),
                    key_val(a, cc_arena_strndup(a, key, (size_t)(gt - key)),
                            end ? cc_arena_strndup(a, rest, (size_t)(end - rest)) : rest));
    } else if (n == 3) {
        cc_cfg *r = cc_cfg_obj(a);
        set_nonempty(a, r, "key", key);
        set_nonempty(a, r, "search_regexp", args[1]);
        set_nonempty(a, r, "replace", args[2]);
        cc_cfg_push(a, cc_cfg_child_arr(a, q, "replace"), r);
    } else {
        if (n != 2)
            return cc_disp_arg_err(d);
        cc_cfg_push(a, cc_cfg_child_arr(a, q, "set"), key_val(a, key, args[1]));
    }
    return CC_OK;
}

static int parse_query(cc_disp *d, cc_arena *a, cc_cfg *o, const char **args, size_t n)
{
    if (n > 4)
        return cc_disp_arg_err(d);
    cc_cfg *q = cc_cfg_child_obj(a, o, "query");
    bool has_args = n > 1;
    if (has_args && query_op(d, a, q, args + 1, n - 1) != CC_OK)
        return CC_ERR;
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        if (has_args)
            return cc_disp_errf(d, "Cannot specify uri query rewrites in both argument and block");
        const char *first = cc_disp_val(d);
        size_t m;
        const char **rest = cc_disp_remaining_args(d, &m);
        const char **line = cc_arena_alloc(a, (m + 1) * sizeof(*line));
        line[0] = first;
        memcpy(line + 1, rest, m * sizeof(*line));
        if (query_op(d, a, q, line, m + 1) != CC_OK)
            return CC_ERR;
    }
    return CC_OK;
}

static cc_cfg *parse_uri(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    size_t n;
    const char **args = cc_disp_remaining_args(d, &n);
    if (n < 1) {
        cc_disp_arg_err(d);
        return NULL;
    }
    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "rewrite");
    const char *op = args[0];

    if (strcmp(op, "strip_prefix") == 0 || strcmp(op, "strip_suffix") == 0) {
        if (n != 2) {
            cc_disp_arg_err(d);
            return NULL;
        }
        set_nonempty(a, o, op[6] == 'p' ? "strip_path_prefix" : "strip_path_suffix", args[1]);
    } else if (strcmp(op, "replace") == 0) {
        if (n != 3 && n != 4) {
            cc_disp_arg_err(d);
            return NULL;
        }
        int64_t limit = 0;
        if (n == 4 && *args[3] && !cc_go_atoi(args[3], &limit)) {
            cc_disp_errf(d, "limit must be an integer; invalid: %s", cc_go_atoi_err(a, args[3]));
            return NULL;
        }
        cc_cfg *r = cc_cfg_obj(a);
        set_nonempty(a, r, "find", args[1]);
        set_nonempty(a, r, "replace", args[2]);
        if (limit)
            cc_cfg_set_int(a, r, "limit", limit);
        cc_cfg_push(a, cc_cfg_child_arr(a, o, "uri_substring"), r);
    } else if (strcmp(op, "path_regexp") == 0) {
        if (n != 3) {
            cc_disp_arg_err(d);
            return NULL;
        }
        cc_cfg *r = cc_cfg_obj(a);
        set_nonempty(a, r, "find", args[1]);
        set_nonempty(a, r, "replace", args[2]);
        cc_cfg_push(a, cc_cfg_child_arr(a, o, "path_regexp"), r);
    } else if (strcmp(op, "query") == 0) {
        if (parse_query(d, a, o, args, n) != CC_OK)
            return NULL;
    } else {
        cc_disp_errf(d, "unrecognized URI manipulation '%s'", op);
        return NULL;
    }
    return o;
}

const cc_module cc_mod_uri = {CC_MODULE_ABI, "uri", parse_uri, NULL};
