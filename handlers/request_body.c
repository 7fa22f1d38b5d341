/* SPDX-License-Identifier: Apache-2.0
 * The `request_body` directive: limit (or replace) the request body.
 *
 *     request_body [<matcher>] {
 *         max_size <size>
 *         set <body>
 *     }
 *
 * Reading past max_size fails with 413; `set` (experimental in Caddy) replaces the
 * body with the given text, placeholders allowed. */
#include <ctype.h>
#include <string.h>

#include "../caddyfile/helper.h"
#include "../caddyfile/units.h"

/* The error go-humanize's ParseBytes gives for s, which Caddy quotes. */
static const char *size_err(cc_arena *a, const char *s)
{
    size_t i = 0, dots = 0;
    char num[64];
    size_t nn = 0;
    for (; isdigit((unsigned char)s[i]) || s[i] == '.' || s[i] == ','; i++) {
        if (s[i] == ',')
            continue;
        dots += s[i] == '.';
        if (nn + 1 < sizeof(num))
            num[nn++] = s[i];
    }
    num[nn] = '\0';
    if (nn == 0 || dots > 1 || strcmp(num, ".") == 0)
        return cc_arena_printf(a, "strconv.ParseFloat: parsing \"%s\": invalid syntax", num);
    const char *u = s + i;
    while (isspace((unsigned char)*u))
        u++;
    size_t ul = strlen(u);
    while (ul && isspace((unsigned char)u[ul - 1]))
        ul--;
    char *unit = cc_arena_strndup(a, u, ul);
    for (char *p = unit; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    static const char *const known[] = {"",    "b",  "k",  "kb",  "ki",  "kib", "m",  "mb", "mi",
                                        "mib", "g",  "gb", "gi",  "gib", "t",   "tb", "ti", "tib",
                                        "p",   "pb", "pi", "pib", "e",   "eb",  "ei", "eib"};
    for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
        if (strcmp(unit, known[k]) == 0)
            return cc_arena_printf(a, "too large: %s", s);
    return cc_arena_printf(a, "unhandled size name: %s", unit);
}

static cc_cfg *parse_request_body(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "request_body");
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        bool is_max = strcmp(sub, "max_size") == 0;
        if (!is_max && strcmp(sub, "set") != 0) {
            cc_disp_errf(d, "unrecognized request_body subdirective '%s'", sub);
            return NULL;
        }
        if (!cc_disp_next_arg(d)) {
            cc_disp_arg_err(d);
            return NULL;
        }
        const char *v = cc_disp_val(d);
        if (cc_disp_next_arg(d)) {
            cc_disp_prev(d);
            cc_disp_arg_err(d);
            return NULL;
        }
        if (!is_max) {
            if (*v)
                cc_cfg_set_str(a, o, "set", v);
            else
                cc_cfg_del(o, "set");
            continue;
        }
        int64_t size;
        if (cc_cf_parse_size(v, &size) != 0) {
            cc_disp_errf(d, "parsing max_size: %s", size_err(a, v));
            return NULL;
        }
        if (size)
            cc_cfg_set_int(a, o, "max_size", size);
        else
            cc_cfg_del(o, "max_size");
    }
    return o;
}

const cc_module cc_mod_request_body = {CC_MODULE_ABI, "request_body", parse_request_body, NULL};
