/* SPDX-License-Identifier: Apache-2.0
 * Header operations and response matchers (see headerops.h), written the way Caddy's
 * headers package and caddyhttp.ParseNamedResponseMatcher produce them, so that key
 * spelling, omitted fields and the implied "deferred" flag match `caddy adapt`. */
#include "headerops.h"

#include <string.h>

#include "goval.h"

/* RFC 7230 tchar: the bytes Go accepts in a header key it will canonicalise. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

const char *cc_hdr_canonical_key(cc_arena *a, const char *s)
{
    for (const char *p = s; *p; p++)
        if (!is_tchar((unsigned char)*p))
            return s;
    char *k = cc_arena_strdup(a, s);
    bool upper = true;
    for (char *p = k; *p; p++) {
        if (upper && *p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
        else if (!upper && *p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
        upper = *p == '-';
    }
    return k;
}

/* http.Header.Add: appends value under the canonical key. */
static void header_add(cc_arena *a, cc_cfg *hdr, const char *field, const char *value)
{
    const char *k = cc_hdr_canonical_key(a, field);
    cc_cfg *vals = cc_cfg_get(hdr, k);
    if (!vals || vals->type != CC_CFG_ARR) {
        vals = cc_cfg_arr(a);
        cc_cfg_set(a, hdr, k, vals);
    }
    cc_cfg_push_str(a, vals, value);
}

/* http.Header.Set: replaces the values under the canonical key. */
static void header_set(cc_arena *a, cc_cfg *hdr, const char *field, const char *value)
{
    cc_cfg *vals = cc_cfg_arr(a);
    cc_cfg_push_str(a, vals, value);
    cc_cfg_set(a, hdr, cc_hdr_canonical_key(a, field), vals);
}

const char *cc_hdr_apply_op(cc_arena *a, cc_cfg *ops, cc_cfg *resp, const char *field,
                            const char *value, const char *replacement)
{
    switch (field[0]) {
    case '+':
        header_add(a, cc_cfg_child_obj(a, ops, "add"), field + 1, value);
        return NULL;
    case '-':
        cc_cfg_push_str(a, cc_cfg_child_arr(a, ops, "delete"), field + 1);
        if (resp)
            cc_cfg_set_bool(a, resp, "deferred", true);
        return NULL;
    case '?': {
        if (!resp)
            return cc_arena_printf(a,
                                   "%s: the default header modifier ('?') can only be used on "
                                   "response headers; for conditional manipulation of request "
                                   "headers, use matchers",
                                   field);
        cc_cfg *req = cc_cfg_child_obj(a, resp, "require");
        /* a header required to be absent: Go's nil slice, under the key as written */
        cc_cfg_set(a, cc_cfg_child_obj(a, req, "headers"), field + 1, cc_cfg_null(a));
        header_set(a, cc_cfg_child_obj(a, ops, "set"), field + 1, value);
        return NULL;
    }
    default:
        break;
    }
    if (replacement) {
        if (field[0] == '>' && resp)
            cc_cfg_set_bool(a, resp, "deferred", true);
        field += strspn(field, "+-?>");
        cc_cfg *r = cc_cfg_obj(a);
        if (*value)
            cc_cfg_set_str(a, r, "search_regexp", value);
        if (*replacement)
            cc_cfg_set_str(a, r, "replace", replacement);
        cc_cfg_push(a, cc_cfg_child_arr(a, cc_cfg_child_obj(a, ops, "replace"), field), r);
        return NULL;
    }
    if (field[0] == '>') {
        header_set(a, cc_cfg_child_obj(a, ops, "set"), field + 1, value);
        if (resp)
            cc_cfg_set_bool(a, resp, "deferred", true);
        return NULL;
    }
    header_set(a, cc_cfg_child_obj(a, ops, "set"), field, value);
    return NULL;
}

/* MatchHeader's Caddyfile form over one "header <field> <value>" segment, merged into
 * hdrs; "!Field" requires the field to be absent. */
static int parse_header_matcher(cc_disp *d, cc_cfg *hdrs)
{
    cc_arena *a = d->a;
    while (cc_disp_next(d)) {
        const char *field;
        if (!cc_disp_args(d, &field, NULL))
            return cc_disp_errf(d, "malformed header matcher: expected field");
        if (field[0] == '!') {
            if (!field[1])
                return cc_disp_errf(d, "malformed header matcher: must have field name "
                                       "following ! character");
            cc_cfg_set(a, hdrs, field + 1, cc_cfg_null(a));
            if (cc_disp_next_arg(d))
                return cc_disp_errf(d, "malformed header matcher: null matching headers "
                                       "cannot have a field value");
        } else {
            if (!cc_disp_next_arg(d))
                return cc_disp_errf(d, "malformed header matcher: expected both field and "
                                       "value");
            header_add(a, hdrs, field, cc_disp_val(d));
        }
        if (cc_disp_next_block(d, 0))
            return cc_disp_errf(d, "malformed header matcher: blocks are not supported");
    }
    return CC_OK;
}

int cc_hdr_parse_response_matcher(cc_disp *d, cc_cfg **out)
{
    cc_arena *a = d->a;
    cc_cfg *m = cc_cfg_obj(a);
    cc_disp_next(d); /* the matcher name */
    for (int nest = cc_disp_nesting(d); cc_disp_next_arg(d) || cc_disp_next_block(d, nest);) {
        const char *v = cc_disp_val(d);
        if (strcmp(v, "header") == 0) {
            cc_cfg *hdrs = cc_cfg_child_obj(a, m, "headers");
            if (parse_header_matcher(cc_disp_new_from_next_segment(d), hdrs) != CC_OK)
                return CC_ERR;
        } else if (strcmp(v, "status") == 0) {
            cc_cfg *codes = cc_cfg_child_arr(a, m, "status_code");
            size_t n;
            const char **args = cc_disp_remaining_args(d, &n);
            if (n == 0)
                return cc_disp_arg_err(d);
            for (size_t i = 0; i < n; i++) {
                const char *arg = args[i];
                size_t len = strlen(arg);
                if (len == 3 && strcmp(arg + 1, "xx") == 0)
                    arg = cc_arena_strndup(a, arg, 1); /* "4xx" is the class 4 */
                int64_t code;
                if (!cc_go_atoi(arg, &code))
                    return cc_disp_errf(d, "bad status value '%s': %s", arg,
                                        cc_go_atoi_err(a, arg));
                cc_cfg_push(a, codes, cc_cfg_int(a, code));
            }
        } else {
            return cc_disp_errf(d, "unrecognized response matcher %s", v);
        }
    }
    *out = m;
    return CC_OK;
}
