/* SPDX-License-Identifier: Apache-2.0
 * The `rewrite` directive: internally rewrite the request URI; its parser, and the
 * rewrite handler that also serves uri, method, try_files and handle_path.
 *
 *     rewrite [<matcher>] <to>
 *
 * Only the URI parts present in <to> change. With a single argument it is the URI even
 * when it looks like a path matcher (`rewrite /index.html`), which is why this is a
 * general directive that finds its own matcher. The adapter always groups rewrite
 * routes so that only the first matching one runs. */
#include <string.h>

#include "../caddyfile/helper.h"
#include "../core/handler.h"
#include "../core/regex.h"
#include "../core/replacer.h"
#include "../core/urlenc.h"
#include "gourl.h"
#include "rereplace.h"

static cc_cfg *rewrite_handler(cc_arena *a, const char *uri)
{
    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "rewrite");
    if (*uri)
        cc_cfg_set_str(a, o, "uri", uri);
    return o;
}

static int parse_rewrite(cc_helper *h, cc_cfvals *out)
{
    cc_disp *d = h->d;
    cc_disp_next(d);
    int n = cc_disp_count_remaining_args(d);
    if (n == 0)
        return cc_disp_errf(d, "too few arguments; must have at least a rewrite URI");
    if (n > 2)
        return cc_disp_errf(d, "too many arguments; should only be a matcher and a URI");

    cc_cfg *set = NULL;
    if (n == 2) {
        if (cc_helper_extract_matcher_set(h, &set) != CC_OK)
            return CC_ERR;
        cc_disp_next(d); /* the directive name again: matcher extraction rewinds */
    }
    if (!cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    cc_cfvals_add(h, out, "route",
                  cc_helper_new_route(h, set, rewrite_handler(h->a, cc_disp_val(d))));
    return CC_OK;
}

const cc_module cc_mod_rewrite = {CC_MODULE_ABI, "rewrite", NULL, parse_rewrite};

/* ---- run time: the rewrite handler (also what uri, try_files and handle_path emit) ----
 *
 * Works like Caddy's on Go's url.URL: the decoded path and its escaped form are kept
 * consistent (raw_path is always what URL.EscapedPath would return), operations apply
 * in Caddy's order (method, uri, strip prefix, strip suffix, substrings, regexps,
 * query), and the request target becomes the new URL.RequestURI. */

typedef enum { SEG_TEXT, SEG_ESCAPED_PATH, SEG_FILE_RELATIVE } seg_kind;

typedef struct path_seg {
    seg_kind kind;
    cc_tmpl *t; /* SEG_TEXT */
} path_seg;

typedef struct substr_op {
    cc_tmpl *find, *replace;
    long limit;
    bool merge_slashes;
} substr_op;

typedef struct regex_op {
    cc_regex *re;
    cc_tmpl *replace;
} regex_op;

typedef struct qarg {
    cc_tmpl *key, *val;
} qarg;

typedef struct qrepl {
    cc_tmpl *key, *search, *replace;
    cc_regex *re;
} qrepl;

typedef struct rewrite {
    cc_handler super;
    cc_tmpl *method;
    bool has_path, has_query; /* parts present in "uri" */
    path_seg *path;
    size_t npath;
    const char *query; /* the query part of "uri", placeholders expanded per request */
    cc_tmpl *strip_prefix, *strip_suffix;
    substr_op *substr;
    size_t nsubstr;
    regex_op *regex;
    size_t nregex;
    bool has_qops;
    qarg *rename, *set, *add;
    size_t nrename, nset, nadd;
    qrepl *qreplace;
    size_t nqreplace;
    cc_tmpl **qdelete;
    size_t nqdelete;
} rewrite;

static const char PH_PATH[] = "{http.request.uri.path}";
static const char PH_FILE_REL[] = "{http.matchers.file.relative}";

/* Splits the path part of "uri" around the two placeholders Caddy substitutes
 * escaped, so the rest compiles into ordinary templates. */
static void split_path(cc_arena *a, rewrite *h, const char *p, size_t n)
{
    CC_VEC(path_seg) segs = {0};
    size_t lit = 0;
    for (size_t i = 0; i < n;) {
        seg_kind k = SEG_TEXT;
        size_t len = 0;
        if (n - i >= sizeof(PH_PATH) - 1 && memcmp(p + i, PH_PATH, sizeof(PH_PATH) - 1) == 0) {
            k = SEG_ESCAPED_PATH;
            len = sizeof(PH_PATH) - 1;
        } else if (n - i >= sizeof(PH_FILE_REL) - 1 &&
                   memcmp(p + i, PH_FILE_REL, sizeof(PH_FILE_REL) - 1) == 0) {
            k = SEG_FILE_RELATIVE;
            len = sizeof(PH_FILE_REL) - 1;
        }
        if (k == SEG_TEXT) {
            i++;
            continue;
        }
        if (i > lit) {
            path_seg t = {SEG_TEXT, cc_tmpl_compile(a, cc_arena_strndup(a, p + lit, i - lit))};
            CC_VEC_PUSH(a, &segs, t);
        }
        path_seg s = {k, NULL};
        CC_VEC_PUSH(a, &segs, s);
        i += len;
        lit = i;
    }
    if (n > lit) {
        path_seg t = {SEG_TEXT, cc_tmpl_compile(a, cc_arena_strndup(a, p + lit, n - lit))};
        CC_VEC_PUSH(a, &segs, t);
    }
    h->path = segs.v;
    h->npath = segs.n;
}

/* Caddy's reading of "uri": path up to '?', query up to '#', the fragment ignored
 * (a server never sees one). */
static void parse_uri(cc_arena *a, rewrite *h, const char *uri)
{
    long path_start = -1, qs_start = -1, path_end = -1, qs_end = -1;
    long n = (long)strlen(uri);
    for (long i = 0; i < n; i++) {
        char c = uri[i];
        if (c == '?' && qs_start < 0) {
            path_end = i;
            qs_start = i + 1;
        } else if (c == '#') {
            if (qs_start < 0)
                path_end = i;
            else
                qs_end = i;
            break;
        } else if (path_start < 0 && qs_start < 0) {
            path_start = i;
        }
    }
    if (path_start >= 0 && path_end < 0)
        path_end = n;
    if (qs_start >= 0 && qs_end < 0)
        qs_end = n;
    if (path_start >= 0) {
        h->has_path = true;
        split_path(a, h, uri + path_start, (size_t)(path_end - path_start));
    }
    if (qs_start >= 0) {
        h->has_query = true;
        h->query = cc_arena_strndup(a, uri + qs_start, (size_t)(qs_end - qs_start));
    }
}

static cc_tmpl *opt_tmpl(cc_arena *a, const cc_cfg *o, const char *key)
{
    const char *s = cc_cfg_get_str(o, key);
    return s && *s ? cc_tmpl_compile(a, s) : NULL;
}

static int compile_qargs(cc_arena *a, const cc_cfg *list, qarg **out, size_t *n)
{
    *n = cc_cfg_len(list);
    *out = cc_arena_alloc(a, (*n ? *n : 1) * sizeof(**out));
    for (size_t i = 0; i < *n; i++) {
        const cc_cfg *o = cc_cfg_idx(list, i);
        const char *k = cc_cfg_get_str(o, "key"), *v = cc_cfg_get_str(o, "val");
        (*out)[i].key = cc_tmpl_compile(a, k ? k : "");
        (*out)[i].val = cc_tmpl_compile(a, v ? v : "");
    }
    return CC_OK;
}

static int compile_query_ops(cc_arena *a, rewrite *h, const cc_cfg *q, cc_err *err)
{
    h->has_qops = true;
    compile_qargs(a, cc_cfg_get(q, "rename"), &h->rename, &h->nrename);
    compile_qargs(a, cc_cfg_get(q, "set"), &h->set, &h->nset);
    compile_qargs(a, cc_cfg_get(q, "add"), &h->add, &h->nadd);
    const cc_cfg *rep = cc_cfg_get(q, "replace");
    h->nqreplace = cc_cfg_len(rep);
    h->qreplace = cc_arena_alloc(a, (h->nqreplace ? h->nqreplace : 1) * sizeof(*h->qreplace));
    for (size_t i = 0; i < h->nqreplace; i++) {
        const cc_cfg *o = cc_cfg_idx(rep, i);
        qrepl *x = &h->qreplace[i];
        const char *k = cc_cfg_get_str(o, "key"), *s = cc_cfg_get_str(o, "search"),
                   *r = cc_cfg_get_str(o, "replace"), *re = cc_cfg_get_str(o, "search_regexp");
        x->key = cc_tmpl_compile(a, k ? k : "");
        x->search = cc_tmpl_compile(a, s ? s : "");
        x->replace = cc_tmpl_compile(a, r ? r : "");
        if (re && *re) {
            cc_err e = {0};
            x->re = cc_regex_compile(a, re, &e);
            if (!x->re)
                return cc_err_setat(err, o->file, o->line,
                                    "compiling regular expression %s in query rewrite replace "
                                    "operation: replacement for query field '%s': %s",
                                    re, k ? k : "", e.msg);
        }
    }
    const cc_cfg *del = cc_cfg_get(q, "delete");
    h->nqdelete = cc_cfg_len(del);
    h->qdelete = cc_arena_alloc(a, (h->nqdelete ? h->nqdelete : 1) * sizeof(*h->qdelete));
    for (size_t i = 0; i < h->nqdelete; i++) {
        const cc_cfg *d = cc_cfg_idx(del, i);
        h->qdelete[i] = cc_tmpl_compile(a, d->type == CC_CFG_STR ? d->s.p : "");
    }
    return CC_OK;
}

static int rw_provision(cc_handler *hh, const cc_cfg *cfg, cc_prov *ctx)
{
    rewrite *h = (rewrite *)hh;
    cc_arena *a = ctx->a;
    h->method = opt_tmpl(a, cfg, "method");
    const char *uri = cc_cfg_get_str(cfg, "uri");
    if (uri && *uri)
        parse_uri(a, h, uri);
    h->strip_prefix = opt_tmpl(a, cfg, "strip_path_prefix");
    h->strip_suffix = opt_tmpl(a, cfg, "strip_path_suffix");

    const cc_cfg *subs = cc_cfg_get(cfg, "uri_substring");
    h->nsubstr = cc_cfg_len(subs);
    h->substr = cc_arena_alloc(a, (h->nsubstr ? h->nsubstr : 1) * sizeof(*h->substr));
    size_t k = 0;
    for (size_t i = 0; i < h->nsubstr; i++) {
        const cc_cfg *o = cc_cfg_idx(subs, i);
        const char *find = cc_cfg_get_str(o, "find"), *rep = cc_cfg_get_str(o, "replace");
        if (!find || !*find)
            continue; /* Caddy skips an empty find */
        const cc_cfg *lim = cc_cfg_get(o, "limit");
        substr_op *x = &h->substr[k++];
        x->find = cc_tmpl_compile(a, find);
        x->replace = cc_tmpl_compile(a, rep ? rep : "");
        x->limit = lim && lim->type == CC_CFG_INT && lim->i != 0 ? (long)lim->i : -1;
        x->merge_slashes = !strstr(find, "//");
    }
    h->nsubstr = k;

    const cc_cfg *res = cc_cfg_get(cfg, "path_regexp");
    h->nregex = cc_cfg_len(res);
    h->regex = cc_arena_alloc(a, (h->nregex ? h->nregex : 1) * sizeof(*h->regex));
    for (size_t i = 0; i < h->nregex; i++) {
        const cc_cfg *o = cc_cfg_idx(res, i);
        const char *find = cc_cfg_get_str(o, "find"), *rep = cc_cfg_get_str(o, "replace");
        if (!find || !*find)
            return cc_err_setat(ctx->err, o->file, o->line, "path_regexp find cannot be empty");
        cc_err e = {0};
        h->regex[i].re = cc_regex_compile(a, find, &e);
        if (!h->regex[i].re)
            return cc_err_setat(ctx->err, o->file, o->line, "compiling regular expression %zu: %s",
                                i, e.msg);
        h->regex[i].replace = cc_tmpl_compile(a, rep ? rep : "");
    }

    const cc_cfg *q = cc_cfg_get(cfg, "query");
    if (q && q->type == CC_CFG_OBJ && compile_query_ops(a, h, q, ctx->err) != CC_OK)
        return CC_ERR;
    return CC_OK;
}

/* ---- request time ---- */

/* One component of a rewritten query: placeholders replaced with their values
 * query-escaped, except {http.request.uri.query} in a key position, which already is
 * (Caddy's buildQueryString). Scanning follows Caddy's Replacer. */
static const char *query_component(cc_req *r, const char *s, size_t n, bool key_pos)
{
    cc_arena *a = r->arena;
    CC_VEC(char) out = {0};
    size_t last = 0;
    int unclosed = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && s[i - 1] == '\\' && (s[i] == '{' || s[i] == '}')) {
            for (size_t k = last; k + 1 < i; k++)
                CC_VEC_PUSH(a, &out, s[k]);
            last = i;
            continue;
        }
        if (s[i] != '{')
            continue;
        if (unclosed > 100)
            return ""; /* Caddy gives up on such input and the component is lost */
        const char *close = memchr(s + i, '}', n - i);
        if (!close) {
            unclosed++;
            continue;
        }
        size_t end = (size_t)(close - s);
        bool give_up = false;
        while (end > 0 && end < n - 1 && s[end - 1] == '\\') {
            const char *nx = memchr(s + end + 1, '}', n - end - 1);
            if (!nx) {
                give_up = true;
                break;
            }
            end = (size_t)(nx - s);
        }
        if (give_up) {
            unclosed++;
            continue;
        }
        for (size_t k = last; k < i; k++)
            CC_VEC_PUSH(a, &out, s[k]);
        const char *key = cc_arena_strndup(a, s + i + 1, end - i - 1);
        const char *val = cc_repl_get(r, key);
        if (!(val && key_pos && strcmp(key, "http.request.uri.query") == 0))
            val = cc_url_query_escape(a, val ? val : "<nil>"); /* Go's %+v of nil */
        for (const char *v = val; *v; v++)
            CC_VEC_PUSH(a, &out, *v);
        i = end;
        last = i + 1;
    }
    for (size_t k = last; k < n; k++)
        CC_VEC_PUSH(a, &out, s[k]);
    CC_VEC_PUSH(a, &out, '\0');
    return out.v;
}

static const char *build_query(cc_req *r, const char *qs)
{
    cc_arena *a = r->arena;
    CC_VEC(char) sb = {0};
    bool wrote_val = true;
    size_t len = strlen(qs), pos = 0;
    while (pos < len) {
        const char *rest = qs + pos;
        const char *eq = strchr(rest, '='), *amp = strchr(rest, '&');
        bool amp_next = amp && (!eq || amp < eq);
        size_t end = len - pos;
        if (amp_next)
            end = (size_t)(amp - rest);
        else if (eq)
            end = (size_t)(eq - rest);
        const char *comp = query_component(r, rest, end, wrote_val);
        pos += end + (pos + end < len ? 1 : 0);
        if (wrote_val) {
            if (sb.n > 0 && *comp)
                CC_VEC_PUSH(a, &sb, '&');
        } else {
            CC_VEC_PUSH(a, &sb, '=');
        }
        for (; *comp; comp++)
            CC_VEC_PUSH(a, &sb, *comp);
        wrote_val = amp_next;
    }
    CC_VEC_PUSH(a, &sb, '\0');
    return sb.v;
}

/* Caddy's escapePathPreservingSlashes */
static const char *escape_keep_slashes(cc_arena *a, const char *p)
{
    return cc_str_replace(a, cc_gourl_path_escape(a, p), "%2F", "/", -1);
}

/* Caddy's trimPathPrefix: compares the escaped path with a decoded prefix,
 * case-insensitively, decoding %XX in the path where the prefix has no '%'. Go
 * compares single bytes as runes, so a non-ASCII prefix byte never matches. */
static const char *trim_path_prefix(cc_arena *a, const char *ep, const char *prefix)
{
    size_t ip = 0, ix = 0, el = strlen(ep), pl = strlen(prefix);
    while (ip < el && ix < pl) {
        unsigned char pc = (unsigned char)prefix[ix], c = (unsigned char)ep[ip];
        bool decoded = false;
        if (c == '%' && pc != '%' && el >= ip + 3) {
            char *d = cc_url_unescape(a, ep + ip, 3, false);
            if (!d)
                return ep;
            c = (unsigned char)d[0];
            ip += 2;
            decoded = true;
        }
        if (pc >= 0x80 || (decoded && c >= 0x80))
            return ep;
        unsigned char lc = c >= 'A' && c <= 'Z' ? c + 32 : c;
        unsigned char lp = pc >= 'A' && pc <= 'Z' ? pc + 32 : pc;
        if (lc != lp)
            return ep;
        ip++;
        ix++;
    }
    return ix >= pl ? ep + ip : ep;
}

static char *reversed(cc_arena *a, const char *s)
{
    size_t n = strlen(s);
    char *out = cc_arena_alloc(a, n + 1);
    for (size_t i = 0; i < n; i++)
        out[i] = s[n - 1 - i];
    return out;
}

typedef enum { OP_PREFIX, OP_SUFFIX, OP_SUBSTR, OP_REGEX } path_op;

typedef struct path_fn {
    path_op op;
    const char *arg, *arg2; /* prefix/suffix/find, replacement */
    long limit;
    bool merge_slashes;
    const cc_regex *re;
} path_fn;

static const char *apply_fn(cc_arena *a, const path_fn *f, const char *p)
{
    switch (f->op) {
    case OP_PREFIX:
        return trim_path_prefix(a, cc_gourl_caddy_clean(a, p, f->merge_slashes), f->arg);
    case OP_SUFFIX: {
        const char *c = cc_gourl_caddy_clean(a, p, f->merge_slashes);
        const char *t = trim_path_prefix(a, reversed(a, c), reversed(a, f->arg));
        return reversed(a, t);
    }
    case OP_SUBSTR:
        return cc_str_replace(a, cc_gourl_caddy_clean(a, p, f->merge_slashes), f->arg, f->arg2,
                              f->limit);
    case OP_REGEX:
        return cc_re_replace_all(a, f->re, p, f->arg2);
    }
    return p;
}

/* Caddy's changePath: the operation runs on the escaped path; the decoded path
 * follows from it, or from running the operation on the decoded path when the result
 * does not decode. */
static void change_path(cc_req *r, const path_fn *f)
{
    cc_arena *a = r->arena;
    const char *esc = cc_gourl_escaped_path(a, r->path, r->raw_path);
    const char *raw = apply_fn(a, f, esc);
    const char *p = cc_gourl_path_unescape(a, raw);
    if (!p || !*p)
        p = apply_fn(a, f, r->path);
    r->path = p;
    r->raw_path = cc_gourl_escaped_path(a, p, raw);
}

static void query_ops(const rewrite *h, cc_req *r)
{
    cc_arena *a = r->arena;
    cc_qvals q = {0};
    cc_gourl_query_parse(a, r->query ? r->query : "", &q);
    for (size_t i = 0; i < h->nrename; i++) {
        const char *k = cc_tmpl_expand(h->rename[i].key, r, false);
        const char *v = cc_tmpl_expand(h->rename[i].val, r, false);
        if (!*k || !*v || strcmp(k, v) == 0)
            continue;
        cc_qval *from = cc_gourl_query_find(&q, k);
        if (!from)
            continue;
        const char **vals = from->vals;
        size_t n = from->n, cap = from->cap;
        cc_qval *to = cc_gourl_query_entry(a, &q, v);
        to->vals = vals;
        to->n = n;
        to->cap = cap;
        cc_gourl_query_del(&q, k);
    }
    for (size_t i = 0; i < h->nset; i++) {
        const char *k = cc_tmpl_expand(h->set[i].key, r, false);
        if (!*k)
            continue;
        cc_qval *e = cc_gourl_query_entry(a, &q, k);
        e->n = 0;
        e->cap = 0;
        e->vals = NULL;
        cc_gourl_query_add(a, e, cc_tmpl_expand(h->set[i].val, r, false));
    }
    for (size_t i = 0; i < h->nadd; i++) {
        const char *k = cc_tmpl_expand(h->add[i].key, r, false);
        if (!*k)
            continue;
        cc_gourl_query_add(a, cc_gourl_query_entry(a, &q, k),
                           cc_tmpl_expand(h->add[i].val, r, false));
    }
    for (size_t i = 0; i < h->nqreplace; i++) {
        const qrepl *x = &h->qreplace[i];
        const char *k = cc_tmpl_expand(x->key, r, false);
        const char *search = cc_tmpl_expand(x->search, r, true);
        const char *rep = cc_tmpl_expand(x->replace, r, true);
        bool all = strcmp(k, "*") == 0;
        for (size_t e = 0; e < q.n; e++) {
            if (!all && strcmp(q.v[e].key, k) != 0)
                continue;
            for (size_t j = 0; j < q.v[e].n; j++)
                q.v[e].vals[j] = x->re ? cc_re_replace_all(a, x->re, q.v[e].vals[j], rep)
                                       : cc_str_replace(a, q.v[e].vals[j], search, rep, -1);
        }
    }
    for (size_t i = 0; i < h->nqdelete; i++) {
        const char *k = cc_tmpl_expand(h->qdelete[i], r, false);
        if (*k)
            cc_gourl_query_del(&q, k);
    }
    r->query = cc_gourl_query_encode(a, &q);
}

static void rewrite_uri(const rewrite *h, cc_req *r)
{
    cc_arena *a = r->arena;
    const char *new_path = "";
    if (h->has_path) {
        const char *esc = NULL;
        CC_VEC(char) b = {0};
        for (size_t i = 0; i < h->npath; i++) {
            const char *v;
            if (h->path[i].kind == SEG_TEXT) {
                v = cc_tmpl_expand(h->path[i].t, r, false);
            } else if (h->path[i].kind == SEG_ESCAPED_PATH) {
                if (!esc)
                    esc = cc_gourl_escaped_path(a, r->path, r->raw_path);
                v = esc;
            } else {
                const char *rel = cc_repl_get(r, "http.matchers.file.relative");
                v = rel ? escape_keep_slashes(a, rel) : "";
            }
            for (; *v; v++)
                CC_VEC_PUSH(a, &b, *v);
        }
        CC_VEC_PUSH(a, &b, '\0');
        new_path = b.v;
    }
    const char *query = h->has_query ? h->query : "";
    const char *qm = strchr(new_path, '?');
    if (qm) {
        /* a placeholder brought a query in: it counts when "uri" had none of its own */
        if (!*query) {
            const char *inj = cc_str_replace(a, qm + 1, "{", "%7B", -1);
            query = cc_str_replace(a, inj, "}", "%7D", -1);
        }
        new_path = cc_arena_strndup(a, new_path, (size_t)(qm - new_path));
    }
    const char *new_query = *query ? build_query(r, query) : "";
    if (h->has_path) {
        const char *p = cc_gourl_path_unescape(a, new_path);
        r->path = p ? p : new_path;
        r->raw_path = cc_gourl_escaped_path(a, r->path, NULL);
    }
    if (h->has_query)
        r->query = new_query;
}

static int rw_handle(cc_handler *hh, cc_req *r, cc_next *next)
{
    const rewrite *h = (const rewrite *)hh;
    cc_arena *a = r->arena;
    if (!r->path)
        r->path = "";
    if (h->method) {
        char *m = cc_arena_strdup(a, cc_tmpl_expand(h->method, r, false));
        for (char *p = m; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        r->method = m;
    }
    if (h->has_path || h->has_query)
        rewrite_uri(h, r);
    if (h->strip_prefix) {
        const char *p = cc_tmpl_expand(h->strip_prefix, r, false);
        if (*p != '/')
            p = cc_arena_printf(a, "/%s", p);
        path_fn f = {.op = OP_PREFIX, .arg = p, .merge_slashes = !strstr(p, "//")};
        change_path(r, &f);
    }
    if (h->strip_suffix) {
        const char *s = cc_tmpl_expand(h->strip_suffix, r, false);
        path_fn f = {.op = OP_SUFFIX, .arg = s, .merge_slashes = !strstr(s, "//")};
        change_path(r, &f);
    }
    for (size_t i = 0; i < h->nsubstr; i++) {
        const substr_op *x = &h->substr[i];
        path_fn f = {.op = OP_SUBSTR,
                     .arg = cc_tmpl_expand(x->find, r, false),
                     .arg2 = cc_tmpl_expand(x->replace, r, false),
                     .limit = x->limit,
                     .merge_slashes = x->merge_slashes};
        change_path(r, &f);
        r->query = cc_str_replace(a, r->query ? r->query : "", f.arg, f.arg2, f.limit);
    }
    for (size_t i = 0; i < h->nregex; i++) {
        path_fn f = {.op = OP_REGEX,
                     .arg2 = cc_tmpl_expand(h->regex[i].replace, r, false),
                     .re = h->regex[i].re};
        change_path(r, &f);
    }
    if (h->has_qops)
        query_ops(h, r);

    /* the new request target, as URL.RequestURI() */
    if (!r->raw_path)
        r->raw_path = cc_gourl_escaped_path(a, r->path, NULL);
    const char *target = *r->raw_path ? r->raw_path : "/";
    if (r->query && *r->query)
        target = cc_arena_printf(a, "%s?%s", target, r->query);
    r->target = target;
    return cc_next_run(next, r);
}

const cc_handler_type cc_ht_rewrite = {
    CC_HANDLER_ABI, "rewrite", sizeof(rewrite), rw_provision, rw_handle, NULL,
};
