/* SPDX-License-Identifier: Apache-2.0
 * The try_files directive: shorthand for a "file" matcher plus a rewrite to the file it
 * found, as Caddy's parseTryFiles. It is not a handler directive: it takes no matcher
 * token (every argument is a file to try, even one starting with "/" or "@"), and an
 * item with a query string gets its own route, the routes grouped so only one rewrites.
 *
 *     try_files <files...> {
 *         policy first_exist|first_exist_fallback|smallest_size|largest_size|
 *                most_recently_modified
 *     }
 */
#include <string.h>

#include "../caddyfile/helper.h"

static bool known_policy(const char *p)
{
    static const char *const policies[] = {"first_exist", "first_exist_fallback", "largest_size",
                                           "smallest_size", "most_recently_modified"};
    for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
        if (strcmp(p, policies[i]) == 0)
            return true;
    return false;
}

/* One route: match {"file": {"try_files": try, "try_policy"?}}, then rewrite to the
 * matched file, with query appended (it starts with "?", or is ""). */
static void add_route(cc_helper *h, cc_cfvals *out, cc_cfg *try, const char *policy,
                      const char *query)
{
    cc_arena *a = h->a;
    cc_cfg *file = cc_cfg_obj(a);
    cc_cfg_set(a, file, "try_files", try);
    if (policy)
        cc_cfg_set_str(a, file, "try_policy", policy);
    cc_cfg *set = cc_cfg_obj(a);
    cc_cfg_set(a, set, "file", file);
    cc_cfg *rw = cc_cfg_obj(a);
    cc_cfg_set_str(a, rw, "handler", "rewrite");
    cc_cfg_set_str(a, rw, "uri", cc_arena_printf(a, "{http.matchers.file.relative}%s", query));
    cc_cfvals_add(h, out, "route", cc_helper_new_route(h, set, rw));
}

static int parse_directive(cc_helper *h, cc_cfvals *out)
{
    cc_disp *d = h->d;
    if (!cc_disp_next(d))
        return cc_disp_arg_err(d);
    size_t n;
    const char **files = cc_disp_remaining_args(d, &n);
    if (n == 0)
        return cc_disp_arg_err(d);

    const char *policy = NULL;
    while (cc_disp_next_block(d, 0)) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "policy") == 0) {
            if (policy)
                return cc_disp_errf(d, "try policy already configured");
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            policy = cc_disp_val(d);
            if (!known_policy(policy))
                return cc_disp_errf(d, "unrecognized try policy: %s", policy);
        } else {
            /* Caddy skips other lines silently; say so, but accept the config */
            cc_helper_warn(h, "try_files: ignoring unknown subdirective '%s'", sub);
            cc_disp_remaining_args(d, NULL);
        }
    }

    size_t first = out->n;
    cc_cfg *try = cc_cfg_arr(h->a);
    for (size_t i = 0; i < n; i++) {
        const char *q = strchr(files[i], '?');
        if (!q) {
            cc_cfg_push_str(h->a, try, files[i]);
            continue;
        }
        /* the query is not part of the file name, and replaces the request's query */
        if (cc_cfg_len(try)) {
            add_route(h, out, try, policy, "");
            try = cc_cfg_arr(h->a);
        }
        cc_cfg *one = cc_cfg_arr(h->a);
        cc_cfg_push(h->a, one, cc_cfg_strn(h->a, files[i], (size_t)(q - files[i])));
        add_route(h, out, one, policy, q);
    }
    if (cc_cfg_len(try))
        add_route(h, out, try, policy, "");
    cc_helper_group_routes(h, out, first);
    return CC_OK;
}

const cc_module cc_mod_try_files = {CC_MODULE_ABI, "try_files", NULL, parse_directive};
