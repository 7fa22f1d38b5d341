/* SPDX-License-Identifier: Apache-2.0
 * Request matchers in the Caddyfile (caddy-reference 2.4): named matcher definitions and
 * their scopes, and the Caddyfile syntax of every matcher type turned into Caddy's JSON
 * matcher set ({"path": [...], "header": {...}, "not": [...], ...}). Each type parses
 * one segment at a time and merges into what the set already holds, which gives the
 * same result as Caddy concatenating all lines of a type before unmarshaling. IP ranges
 * and regular expressions are checked here so mistakes are reported with FILE:LINE. */
#include "adapter_priv.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct cc_cf_mscope {
    cc_cf_mscope *parent;
    cc_cfg *defs; /* OBJ "@name" -> matcher set */
};

cc_cf_mscope *cc_cf_mscope_new(cc_arena *a, cc_cf_mscope *parent)
{
    cc_cf_mscope *s = cc_arena_alloc(a, sizeof(*s));
    s->parent = parent;
    s->defs = cc_cfg_obj(a);
    return s;
}

cc_cfg *cc_cf_matcher_lookup(cc_cf_mscope *scope, const char *name)
{
    for (; scope; scope = scope->parent) {
        cc_cfg *v = cc_cfg_get(scope->defs, name);
        if (v)
            return v;
    }
    return NULL;
}

/* ---- validation ---------------------------------------------------------------- */

/* A light RE2 sanity check: balanced groups and classes, no dangling escape. It never
 * rejects a valid RE2 pattern; the full check happens when the regexp is compiled. */
static const char *regexp_problem(const char *re)
{
    int depth = 0;
    for (const char *p = re; *p; p++) {
        if (*p == '\\') {
            if (!p[1])
                return "trailing backslash at end of expression";
            if (p[1] == 'Q') {
                const char *e = strstr(p + 2, "\\E");
                if (!e)
                    return NULL;
                p = e + 1;
                continue;
            }
            p++;
            continue;
        }
        if (*p == '(') {
            depth++;
        } else if (*p == ')') {
            if (--depth < 0)
                return "unexpected )";
        } else if (*p == '[') {
            const char *q = p + 1;
            if (*q == '^')
                q++;
            if (*q == ']')
                q++;
            for (;; q++) {
                if (!*q)
                    return "missing closing ]";
                if (*q == '\\') {
                    if (!q[1])
                        return "trailing backslash at end of expression";
                    q++;
                } else if (q[0] == '[' && q[1] == ':') {
                    const char *e = strstr(q + 2, ":]");
                    if (e)
                        q = e + 1;
                } else if (*q == ']') {
                    break;
                }
            }
            p = q;
        }
    }
    return depth > 0 ? "missing closing )" : NULL;
}

static int check_regexp(cc_disp *d, const char *re)
{
    const char *why = regexp_problem(re);
    if (why)
        return cc_disp_errf(d, "error parsing regexp: %s: `%s`", why, re);
    return CC_OK;
}

static bool parse_ip(const char *s, int *bits)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, s, buf) == 1) {
        *bits = 32;
        return true;
    }
    if (inet_pton(AF_INET6, s, buf) == 1) {
        *bits = 128;
        return true;
    }
    return false;
}

/* IP ranges as Caddy provisions them: "ip", "ip%zone", "cidr"; placeholders are
 * resolved at runtime, so they are not checked. */
static int check_ip_range(cc_disp *d, cc_arena *a, const char *r)
{
    if (strchr(r, '{'))
        return CC_OK;
    const char *pct = strchr(r, '%');
    char *s = cc_arena_strndup(a, r, pct ? (size_t)(pct - r) : strlen(r));
    char *slash = strchr(s, '/');
    int bits = 0;
    if (slash) {
        *slash = 0;
        char *end = NULL;
        long pl = strtol(slash + 1, &end, 10);
        if (!parse_ip(s, &bits) || !slash[1] || *end || !isdigit((unsigned char)slash[1]) ||
            pl < 0 || pl > bits)
            return cc_disp_errf(d, "parsing CIDR expression '%s': invalid prefix", r);
        return CC_OK;
    }
    if (!parse_ip(s, &bits))
        return cc_disp_errf(d, "invalid IP address: '%s'", r);
    return CC_OK;
}

/* ---- per-type parsers (one segment, merged into *val) --------------------------- */

typedef struct {
    cc_adapt *ad;
    cc_arena *a;
    cc_disp *d;
    const char *name; /* matcher name for regexp/expression defaults, "" if none */
} mctx;

static int no_block(mctx *m, const char *what)
{
    if (cc_disp_next_block(m->d, 0))
        return cc_disp_errf(m->d, "malformed %s matcher: blocks are not supported", what);
    return CC_OK;
}

/* path, host, method: string lists */
static int parse_list(mctx *m, const char *type, cc_cfg **val)
{
    while (cc_disp_next(m->d)) {
        size_t n = 0;
        const char **args = cc_disp_remaining_args(m->d, &n);
        if (n && (!*val || (*val)->type != CC_CFG_ARR))
            *val = cc_cfg_arr(m->a);
        for (size_t i = 0; i < n; i++)
            cc_cfg_push_str(m->a, *val, args[i]);
        if (!*val)
            *val = cc_cfg_null(m->a);
        if (no_block(m, type))
            return CC_ERR;
    }
    return CC_OK;
}

static cc_cfg *regexp_obj(mctx *m, const char *name, const char *pattern)
{
    cc_cfg *o = cc_cfg_obj(m->a);
    if (name && *name)
        cc_cfg_set_str(m->a, o, "name", name);
    cc_cfg_set_str(m->a, o, "pattern", pattern);
    return o;
}

static int parse_path_regexp(mctx *m, cc_cfg **val)
{
    while (cc_disp_next(m->d)) {
        if (*val)
            return cc_disp_errf(m->d, "regular expression can only be used once per named matcher");
        size_t n = 0;
        const char **args = cc_disp_remaining_args(m->d, &n);
        const char *name = "", *pattern;
        if (n == 1) {
            pattern = args[0];
        } else if (n == 2) {
            name = args[0];
            pattern = args[1];
        } else {
            return cc_disp_arg_err(m->d);
        }
        if (!*name)
            name = m->name;
        if (check_regexp(m->d, pattern))
            return CC_ERR;
        *val = regexp_obj(m, name, pattern);
        if (no_block(m, "path_regexp"))
            return CC_ERR;
    }
    return CC_OK;
}

/* textproto.CanonicalMIMEHeaderKey, as http.Header.Add applies it */
static const char *canonical_header(cc_arena *a, const char *k)
{
    for (const char *p = k; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c)))
            return k;
    }
    char *o = cc_arena_strdup(a, k);
    bool upper = true;
    for (char *p = o; *p; p++) {
        *p = upper ? (char)toupper((unsigned char)*p) : (char)tolower((unsigned char)*p);
        upper = *p == '-';
    }
    return o;
}

static void multimap_add(cc_arena *a, cc_cfg *obj, const char *k, const char *v)
{
    cc_cfg *list = cc_cfg_get(obj, k);
    if (!list || list->type != CC_CFG_ARR) {
        list = cc_cfg_arr(a);
        cc_cfg_set(a, obj, k, list);
    }
    cc_cfg_push_str(a, list, v);
}

static cc_cfg *ensure_obj(mctx *m, cc_cfg **val)
{
    if (!*val || (*val)->type != CC_CFG_OBJ)
        *val = cc_cfg_obj(m->a);
    return *val;
}

static int parse_header(mctx *m, cc_cfg **val)
{
    cc_cfg *o = ensure_obj(m, val);
    while (cc_disp_next(m->d)) {
        const char *field = NULL;
        if (!cc_disp_args(m->d, &field, (const char **)NULL))
            return cc_disp_errf(m->d, "malformed header matcher: expected field");
        if (field[0] == '!') {
            if (!field[1])
                return cc_disp_errf(m->d, "malformed header matcher: must have field name "
                                          "following ! character");
            cc_cfg_set(m->a, o, field + 1, cc_cfg_null(m->a));
            if (cc_disp_next_arg(m->d))
                return cc_disp_errf(m->d, "malformed header matcher: null matching headers "
                                          "cannot have a field value");
        } else {
            if (!cc_disp_next_arg(m->d))
                return cc_disp_errf(m->d,
                                    "malformed header matcher: expected both field and value");
            multimap_add(m->a, o, canonical_header(m->a, field), cc_disp_val(m->d));
        }
        if (no_block(m, "header"))
            return CC_ERR;
    }
    return CC_OK;
}

/* header_regexp and vars_regexp: [name] <field> <pattern> */
static int parse_field_regexp(mctx *m, const char *type, cc_cfg **val)
{
    cc_cfg *o = ensure_obj(m, val);
    while (cc_disp_next(m->d)) {
        const char *first = NULL, *second = NULL, *third = NULL;
        if (!cc_disp_args(m->d, &first, &second, (const char **)NULL))
            return cc_disp_arg_err(m->d);
        const char *name = "", *field = first, *pattern = second;
        if (cc_disp_args(m->d, &third, (const char **)NULL)) {
            name = first;
            field = second;
            pattern = third;
        }
        if (!*name)
            name = m->name;
        if (strcmp(type, "header_regexp") == 0 && cc_cfg_get(o, field))
            return cc_disp_errf(m->d,
                                "header_regexp matcher can only be used once per named matcher, "
                                "per header field: %s",
                                field);
        if (check_regexp(m->d, pattern))
            return CC_ERR;
        cc_cfg_set(m->a, o, field, regexp_obj(m, name, pattern));
        if (no_block(m, type))
            return CC_ERR;
    }
    return CC_OK;
}

static int parse_query(mctx *m, cc_cfg **val)
{
    cc_cfg *o = ensure_obj(m, val);
    while (cc_disp_next(m->d)) {
        size_t n = 0;
        const char **args = cc_disp_remaining_args(m->d, &n);
        for (size_t i = 0; i < n; i++) {
            if (!*args[i])
                continue;
            const char *eq = strchr(args[i], '=');
            if (!eq)
                return cc_disp_errf(m->d,
                                    "malformed query matcher token: %s; must be in param=val "
                                    "format",
                                    cc_disp_val(m->d));
            multimap_add(m->a, o, cc_arena_strndup(m->a, args[i], (size_t)(eq - args[i])), eq + 1);
        }
        if (no_block(m, "query"))
            return CC_ERR;
    }
    return CC_OK;
}

static int parse_protocol(mctx *m, cc_cfg **val)
{
    while (cc_disp_next(m->d)) {
        const char *proto = NULL;
        if (!cc_disp_args(m->d, &proto, (const char **)NULL))
            return cc_disp_errf(m->d, "expected exactly one protocol");
        *val = cc_cfg_str(m->a, proto);
    }
    return CC_OK;
}

static const char *const private_ranges[] = {
    "192.168.0.0/16", "172.16.0.0/12", "10.0.0.0/8", "127.0.0.1/8", "fd00::/8", "::1",
};

static int parse_ip_ranges(mctx *m, const char *type, cc_cfg **val)
{
    cc_cfg *o = ensure_obj(m, val);
    while (cc_disp_next(m->d)) {
        while (cc_disp_next_arg(m->d)) {
            const char *v = cc_disp_val(m->d);
            if (strcmp(type, "remote_ip") == 0 && strcmp(v, "forwarded") == 0)
                return cc_disp_errf(m->d, "the 'forwarded' option is no longer supported; use "
                                          "the 'client_ip' matcher instead");
            cc_cfg *ranges = cc_cfg_child_arr(m->a, o, "ranges");
            if (strcmp(v, "private_ranges") == 0) {
                for (size_t i = 0; i < sizeof(private_ranges) / sizeof(*private_ranges); i++)
                    cc_cfg_push_str(m->a, ranges, private_ranges[i]);
                continue;
            }
            if (check_ip_range(m->d, m->a, v))
                return CC_ERR;
            cc_cfg_push_str(m->a, ranges, v);
        }
        if (no_block(m, type))
            return CC_ERR;
    }
    return CC_OK;
}

static int parse_not(mctx *m, cc_cfg **val)
{
    if (!*val || (*val)->type != CC_CFG_ARR)
        *val = cc_cfg_arr(m->a);
    while (cc_disp_next(m->d)) {
        cc_cfg *set = NULL;
        if (cc_cf_matcher_parse_nested(m->ad, m->d, &set))
            return CC_ERR;
        cc_cfg_push(m->a, *val, set);
    }
    return CC_OK;
}

/* Raw text of a token as written, quotes kept (Dispenser.ValRaw). */
static const char *raw_text(cc_arena *a, const cc_token *t)
{
    if (t->quote == CC_TOK_DQUOTE || t->quote == CC_TOK_BACKTICK)
        return cc_arena_printf(a, "%c%s%c", t->quote, t->text, t->quote);
    return t->text;
}

static int parse_expression(mctx *m, cc_cfg **val)
{
    if (*val) /* Caddy reads only the first expression line of a set */
        return CC_OK;
    cc_disp_next(m->d);
    if (cc_disp_count_remaining_args(m->d) > 1) {
        size_t len = 0, cap = 0;
        char *s = NULL;
        while (cc_disp_next_arg(m->d)) {
            const char *r = raw_text(m->a, cc_disp_tok(m->d));
            size_t rl = strlen(r);
            if (len + rl + 2 > cap) {
                size_t nc = (len + rl + 2) * 2;
                s = cc_arena_grow(m->a, s, cap, nc);
                cap = nc;
            }
            if (len)
                s[len++] = ' ';
            memcpy(s + len, r, rl);
            len += rl;
            s[len] = 0;
        }
        *val = cc_cfg_str(m->a, s);
        return CC_OK;
    }
    if (!cc_disp_next_arg(m->d))
        return cc_disp_arg_err(m->d);
    if (!*m->name) {
        *val = cc_cfg_str(m->a, cc_disp_val(m->d));
        return CC_OK;
    }
    cc_cfg *o = cc_cfg_obj(m->a);
    cc_cfg_set_str(m->a, o, "expr", cc_disp_val(m->d));
    cc_cfg_set_str(m->a, o, "name", m->name);
    *val = o;
    return CC_OK;
}

static int parse_file(mctx *m, cc_cfg **val)
{
    cc_cfg *o = ensure_obj(m, val);
    while (cc_disp_next(m->d)) {
        size_t n = 0;
        const char **args = cc_disp_remaining_args(m->d, &n);
        for (size_t i = 0; i < n; i++)
            cc_cfg_push_str(m->a, cc_cfg_child_arr(m->a, o, "try_files"), args[i]);
        while (cc_disp_next_block(m->d, 0)) {
            const char *sub = cc_disp_val(m->d);
            if (strcmp(sub, "root") == 0 || strcmp(sub, "try_policy") == 0) {
                if (!cc_disp_next_arg(m->d))
                    return cc_disp_arg_err(m->d);
                cc_cfg_set_str(m->a, o, sub, cc_disp_val(m->d));
            } else if (strcmp(sub, "try_files") == 0) {
                args = cc_disp_remaining_args(m->d, &n);
                for (size_t i = 0; i < n; i++)
                    cc_cfg_push_str(m->a, cc_cfg_child_arr(m->a, o, "try_files"), args[i]);
                if (cc_cfg_len(cc_cfg_get(o, "try_files")) == 0)
                    return cc_disp_arg_err(m->d);
            } else if (strcmp(sub, "split_path") == 0) {
                args = cc_disp_remaining_args(m->d, &n);
                if (!n)
                    return cc_disp_arg_err(m->d);
                cc_cfg_set(m->a, o, "split_path", cc_cfg_str_arr(m->a, args, n));
            } else {
                return cc_disp_errf(m->d, "unrecognized subdirective: %s", sub);
            }
        }
    }
    /* an empty try_files list is omitted, as Go's omitempty does */
    if (cc_cfg_get(o, "try_files") && cc_cfg_len(cc_cfg_get(o, "try_files")) == 0)
        cc_cfg_del(o, "try_files");
    return CC_OK;
}

static int parse_vars(mctx *m, cc_cfg **val)
{
    cc_cfg *o = ensure_obj(m, val);
    while (cc_disp_next(m->d)) {
        const char *field = NULL;
        if (!cc_disp_args(m->d, &field, (const char **)NULL))
            return cc_disp_errf(m->d, "malformed vars matcher: expected field name");
        size_t n = 0;
        const char **vals = cc_disp_remaining_args(m->d, &n);
        if (!n)
            return cc_disp_errf(m->d,
                                "malformed vars matcher: expected at least one value to match "
                                "against");
        for (size_t i = 0; i < n; i++)
            multimap_add(m->a, o, field, vals[i]);
        if (no_block(m, "vars"))
            return CC_ERR;
    }
    return CC_OK;
}

static int parse_tls(mctx *m, cc_cfg **val)
{
    cc_cfg *o = ensure_obj(m, val);
    while (cc_disp_next(m->d)) {
        if (cc_disp_next_arg(m->d)) {
            if (strcmp(cc_disp_val(m->d), "early_data") != 0)
                return cc_disp_errf(m->d, "unrecognized option '%s'", cc_disp_val(m->d));
            cc_cfg_set_bool(m->a, o, "handshake_complete", false);
        }
        if (cc_disp_next_arg(m->d))
            return cc_disp_arg_err(m->d);
        if (cc_disp_next_block(m->d, 0))
            return cc_disp_errf(m->d, "malformed tls matcher: blocks are not supported yet");
    }
    return CC_OK;
}

static int parse_url_pattern(mctx *m, cc_cfg **val)
{
    cc_cfg *o = ensure_obj(m, val);
    while (cc_disp_next(m->d)) {
        const char *pattern = NULL;
        if (!cc_disp_args(m->d, &pattern, (const char **)NULL))
            return cc_disp_errf(m->d, "expected exactly one URL pattern");
        cc_cfg_set_str(m->a, o, "pattern", pattern);
        while (cc_disp_next_block(m->d, 0)) {
            const char *sub = cc_disp_val(m->d);
            if (strcmp(sub, "base_url") == 0) {
                const char *u = NULL;
                if (!cc_disp_args(m->d, &u, (const char **)NULL))
                    return cc_disp_arg_err(m->d);
                cc_cfg_set_str(m->a, o, "base_url", u);
            } else if (strcmp(sub, "ignore_case") == 0) {
                if (cc_disp_next_arg(m->d))
                    return cc_disp_arg_err(m->d);
                cc_cfg_set_bool(m->a, o, "ignore_case", true);
            } else {
                return cc_disp_errf(m->d, "unrecognized url_pattern option '%s'", sub);
            }
        }
    }
    return CC_OK;
}

/* Runs the parser for type over dispenser d (a whole segment) into set[type]. */
static int parse_type(cc_adapt *ad, cc_disp *d, const char *type, cc_cfg *set, const char *name)
{
    mctx m = {ad, ad->a, d, name ? name : ""};
    cc_cfg *val = cc_cfg_get(set, type);
    int rc;
    if (strcmp(type, "path") == 0 || strcmp(type, "host") == 0 || strcmp(type, "method") == 0)
        rc = parse_list(&m, type, &val);
    else if (strcmp(type, "path_regexp") == 0)
        rc = parse_path_regexp(&m, &val);
    else if (strcmp(type, "header") == 0)
        rc = parse_header(&m, &val);
    else if (strcmp(type, "header_regexp") == 0 || strcmp(type, "vars_regexp") == 0)
        rc = parse_field_regexp(&m, type, &val);
    else if (strcmp(type, "query") == 0)
        rc = parse_query(&m, &val);
    else if (strcmp(type, "protocol") == 0)
        rc = parse_protocol(&m, &val);
    else if (strcmp(type, "remote_ip") == 0 || strcmp(type, "client_ip") == 0)
        rc = parse_ip_ranges(&m, type, &val);
    else if (strcmp(type, "not") == 0)
        rc = parse_not(&m, &val);
    else if (strcmp(type, "expression") == 0)
        rc = parse_expression(&m, &val);
    else if (strcmp(type, "file") == 0)
        rc = parse_file(&m, &val);
    else if (strcmp(type, "vars") == 0)
        rc = parse_vars(&m, &val);
    else if (strcmp(type, "tls") == 0)
        rc = parse_tls(&m, &val);
    else if (strcmp(type, "url_pattern") == 0)
        rc = parse_url_pattern(&m, &val);
    else {
        cc_disp_next(d);
        return cc_disp_errf(
            d, "getting matcher module '%s': module not registered: http.matchers.%s", type, type);
    }
    if (rc)
        return CC_ERR;
    if (val)
        cc_cfg_set(ad->a, set, type, val);
    return CC_OK;
}

int cc_cf_matcher_parse_one(cc_adapt *ad, cc_disp *d, cc_cfg *set, const char *name)
{
    const char *type = cc_arena_strdup(ad->a, cc_disp_val(d));
    cc_segment seg = cc_disp_next_segment(d);
    cc_disp *sd = cc_disp_new(ad->a, seg.v, seg.n, d->err);
    return parse_type(ad, sd, type, set, name);
}

/* `@name "expr"` and a quoted token in a nested set: an expression matcher. */
static int parse_quoted_expression(cc_adapt *ad, const cc_token *t, cc_cfg *set, const char *name,
                                   cc_err *err)
{
    cc_token toks[2] = {*t, *t};
    toks[0].text = "expression";
    toks[0].len = 10;
    toks[0].quote = CC_TOK_BARE;
    toks[0].heredoc_marker = NULL;
    cc_disp *sd = cc_disp_new(ad->a, toks, 2, err);
    return parse_type(ad, sd, "expression", set, name);
}

int cc_cf_matcher_parse_nested(cc_adapt *ad, cc_disp *d, cc_cfg **set)
{
    *set = cc_cfg_obj(ad->a);
    for (int nest = cc_disp_nesting(d); cc_disp_next_arg(d) || cc_disp_next_block(d, nest);) {
        const cc_token *t = cc_disp_tok(d);
        if (t->quote) {
            if (parse_quoted_expression(ad, t, *set, "", d->err))
                return CC_ERR;
            continue;
        }
        if (cc_cf_matcher_parse_one(ad, d, *set, ""))
            return CC_ERR;
    }
    return CC_OK;
}

int cc_cf_matcher_define(cc_adapt *ad, cc_cf_mscope *scope, const cc_segment *seg)
{
    cc_disp *d = cc_disp_new(ad->a, seg->v, seg->n, ad->err);
    if (!cc_disp_next(d))
        return CC_OK;
    const char *def = cc_arena_strdup(ad->a, cc_disp_val(d));
    if (cc_cf_matcher_lookup(scope, def))
        return cc_disp_errf(d, "matcher is defined more than once: %s", def);
    cc_cfg *set = cc_cfg_at(cc_cfg_obj(ad->a), d->t[0].file, d->t[0].line);
    cc_cfg_set(ad->a, scope->defs, def, set);
    const char *name = def + 1;
    if (cc_disp_next_arg(d)) {
        if (cc_disp_tok(d)->quote)
            return parse_quoted_expression(ad, cc_disp_tok(d), set, name, ad->err);
        cc_disp_prev(d);
    }
    for (int nest = cc_disp_nesting(d); cc_disp_next_arg(d) || cc_disp_next_block(d, nest);)
        if (cc_cf_matcher_parse_one(ad, d, set, name))
            return CC_ERR;
    return CC_OK;
}
