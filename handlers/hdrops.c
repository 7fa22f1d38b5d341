/* SPDX-License-Identifier: Apache-2.0
 * Header operations and response matchers at run time (handlers/hdrops.h), following
 * headers.go and responsematchers.go of Caddy: field names canonicalised as Go's
 * http.Header does, values joined with "," by set, placeholders known-only except
 * where Caddy replaces all. Operations keep config order (Go iterates its maps in
 * random order, so any fixed order is one Caddy could produce). */
#include "hdrops.h"

#include <string.h>
#include <strings.h>

#include "../core/regex.h"
#include "../core/replacer.h"
#include "headerops.h"
#include "rereplace.h"

typedef struct kv_op {
    cc_tmpl *name;
    const char *static_name; /* canonical name when it has no placeholder */
    cc_tmpl **vals;
    size_t nvals;
} kv_op;

typedef struct repl_op {
    cc_tmpl *search, *replace;
    cc_regex *re;     /* compiled at provision */
    cc_tmpl *re_tmpl; /* a regexp with placeholders: compiled per request */
} repl_op;

typedef struct repl_field {
    cc_tmpl *name;
    repl_op *v;
    size_t n;
} repl_field;

struct cc_hdrops {
    kv_op *add, *set;
    size_t nadd, nset;
    cc_tmpl **del;
    size_t ndel;
    bool del_all_static; /* a literal "*" among the deletes */
    repl_field *repl;
    size_t nrepl;
};

/* Caddy's containsPlaceholders: a '{' followed later by a '}' with something between. */
static bool has_placeholder(const char *s)
{
    const char *o = strchr(s, '{');
    if (!o)
        return false;
    const char *c = strchr(o + 1, '}');
    return c && c > o + 1;
}

static int kv_compile(cc_arena *a, const cc_cfg *obj, kv_op **out, size_t *n, cc_err *err)
{
    if (!obj || obj->type == CC_CFG_NULL)
        return CC_OK;
    if (obj->type != CC_CFG_OBJ)
        return cc_err_setat(err, obj->file, obj->line, "header fields must be a JSON object");
    *n = obj->obj.n;
    *out = cc_arena_alloc(a, (*n ? *n : 1) * sizeof(**out));
    for (size_t i = 0; i < obj->obj.n; i++) {
        kv_op *op = &(*out)[i];
        const char *k = obj->obj.k[i];
        op->name = cc_tmpl_compile(a, k);
        if (!cc_tmpl_dynamic(op->name))
            op->static_name = cc_hdr_canonical_key(a, k);
        const cc_cfg *v = obj->obj.v[i];
        if (v->type == CC_CFG_STR) {
            op->nvals = 1;
            op->vals = cc_arena_alloc(a, sizeof(*op->vals));
            op->vals[0] = cc_tmpl_compile(a, v->s.p);
            continue;
        }
        if (v->type != CC_CFG_ARR && v->type != CC_CFG_NULL)
            return cc_err_setat(err, v->file, v->line, "header field '%s': values must be strings",
                                k);
        op->nvals = cc_cfg_len(v);
        op->vals = cc_arena_alloc(a, (op->nvals ? op->nvals : 1) * sizeof(*op->vals));
        for (size_t j = 0; j < op->nvals; j++) {
            const cc_cfg *s = cc_cfg_idx(v, j);
            if (s->type != CC_CFG_STR)
                return cc_err_setat(err, s->file, s->line,
                                    "header field '%s': values must be strings", k);
            op->vals[j] = cc_tmpl_compile(a, s->s.p);
        }
    }
    return CC_OK;
}

static int repl_compile(cc_arena *a, const cc_cfg *obj, cc_hdrops *ops, cc_err *err)
{
    if (!obj || obj->type == CC_CFG_NULL)
        return CC_OK;
    if (obj->type != CC_CFG_OBJ)
        return cc_err_setat(err, obj->file, obj->line, "header replace must be a JSON object");
    ops->nrepl = obj->obj.n;
    ops->repl = cc_arena_alloc(a, (ops->nrepl ? ops->nrepl : 1) * sizeof(*ops->repl));
    for (size_t i = 0; i < obj->obj.n; i++) {
        const char *field = obj->obj.k[i];
        repl_field *rf = &ops->repl[i];
        rf->name = cc_tmpl_compile(a, field);
        const cc_cfg *list = obj->obj.v[i];
        if (list->type != CC_CFG_ARR && list->type != CC_CFG_NULL)
            return cc_err_setat(err, list->file, list->line,
                                "replacements for header field '%s' must be a JSON array", field);
        rf->n = cc_cfg_len(list);
        rf->v = cc_arena_alloc(a, (rf->n ? rf->n : 1) * sizeof(*rf->v));
        for (size_t j = 0; j < rf->n; j++) {
            const cc_cfg *rc = cc_cfg_idx(list, j);
            const char *search = cc_cfg_get_str(rc, "search");
            const char *sre = cc_cfg_get_str(rc, "search_regexp");
            const char *rep = cc_cfg_get_str(rc, "replace");
            if (search && *search && sre && *sre)
                return cc_err_setat(err, rc->file, rc->line,
                                    "cannot specify both a substring search and a regular "
                                    "expression search for field '%s'",
                                    field);
            repl_op *op = &rf->v[j];
            op->search = cc_tmpl_compile(a, search ? search : "");
            op->replace = cc_tmpl_compile(a, rep ? rep : "");
            if (!sre || !*sre)
                continue;
            if (has_placeholder(sre)) {
                op->re_tmpl = cc_tmpl_compile(a, sre);
                continue;
            }
            cc_err e = {0};
            op->re = cc_regex_compile(a, sre, &e);
            if (!op->re)
                return cc_err_setat(err, rc->file, rc->line,
                                    "replacement %zu for header field '%s': %s", j, field, e.msg);
        }
    }
    return CC_OK;
}

cc_hdrops *cc_hdrops_compile(cc_arena *a, const cc_cfg *cfg, cc_err *err)
{
    if (!cfg || cfg->type == CC_CFG_NULL)
        return NULL;
    if (cfg->type != CC_CFG_OBJ) {
        cc_err_setat(err, cfg->file, cfg->line, "header operations must be a JSON object");
        return NULL;
    }
    cc_hdrops *ops = cc_arena_alloc(a, sizeof(*ops));
    if (kv_compile(a, cc_cfg_get(cfg, "add"), &ops->add, &ops->nadd, err) != CC_OK ||
        kv_compile(a, cc_cfg_get(cfg, "set"), &ops->set, &ops->nset, err) != CC_OK ||
        repl_compile(a, cc_cfg_get(cfg, "replace"), ops, err) != CC_OK)
        return NULL;
    const cc_cfg *del = cc_cfg_get(cfg, "delete");
    if (del && del->type != CC_CFG_NULL) {
        if (del->type != CC_CFG_ARR) {
            cc_err_setat(err, del->file, del->line, "header delete must be a JSON array");
            return NULL;
        }
        ops->ndel = cc_cfg_len(del);
        ops->del = cc_arena_alloc(a, (ops->ndel ? ops->ndel : 1) * sizeof(*ops->del));
        for (size_t i = 0; i < ops->ndel; i++) {
            const cc_cfg *s = cc_cfg_idx(del, i);
            if (s->type != CC_CFG_STR) {
                cc_err_setat(err, s->file, s->line, "header delete: names must be strings");
                return NULL;
            }
            ops->del[i] = cc_tmpl_compile(a, s->s.p);
        }
    }
    return ops;
}

/* ---- applying ---- */

static const char *op_name(const kv_op *op, cc_req *r)
{
    if (op->static_name)
        return op->static_name;
    return cc_hdr_canonical_key(r->arena, cc_tmpl_expand(op->name, r, true));
}

static bool has_prefix_ci(const char *s, const char *p, size_t pn)
{
    return strlen(s) >= pn && strncasecmp(s, p, pn) == 0;
}

static bool has_suffix_ci(const char *s, const char *p, size_t pn)
{
    size_t n = strlen(s);
    return n >= pn && strncasecmp(s + n - pn, p, pn) == 0;
}

static bool contains_ci(const char *s, const char *p, size_t pn)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + pn <= n; i++)
        if (strncasecmp(s + i, p, pn) == 0)
            return true;
    return false;
}

/* Removes fields whose name matches a `*`-wildcard pattern (Caddy's delete forms). */
static void delete_matching(cc_headers *h, const char *pat)
{
    size_t pn = strlen(pat);
    bool lead = pn > 0 && pat[0] == '*', trail = pn > 1 && pat[pn - 1] == '*';
    if (!lead && !trail) {
        cc_headers_del(h, pat);
        return;
    }
    const char *core = pat + (lead ? 1 : 0);
    size_t cn = pn - (lead ? 1 : 0) - (trail ? 1 : 0);
    size_t j = 0;
    for (size_t i = 0; i < h->n; i++) {
        const char *name = h->v[i].name;
        bool m = lead && trail ? contains_ci(name, core, cn)
                 : lead        ? has_suffix_ci(name, core, cn)
                               : has_prefix_ci(name, core, cn);
        if (!m)
            h->v[j++] = h->v[i];
    }
    h->n = j;
}

static void replace_in(cc_headers *h, const char *field, const repl_op *op, cc_req *r)
{
    cc_arena *a = r->arena;
    const char *search = cc_tmpl_expand(op->search, r, true);
    const char *rep = cc_tmpl_expand(op->replace, r, true);
    const cc_regex *re = op->re;
    if (!re && op->re_tmpl) {
        cc_err e = {0};
        re = cc_regex_compile(a, cc_tmpl_expand(op->re_tmpl, r, true), &e);
        if (!re)
            return; /* Caddy skips a regexp that does not compile */
    }
    bool all = strcmp(field, "*") == 0;
    for (size_t i = 0; i < h->n; i++) {
        if (!all && strcasecmp(h->v[i].name, field) != 0)
            continue;
        h->v[i].value = re ? cc_re_replace_all(a, re, h->v[i].value, rep)
                           : cc_str_replace(a, h->v[i].value, search, rep, -1);
    }
}

void cc_hdrops_apply(const cc_hdrops *ops, cc_headers *h, cc_req *r)
{
    if (!ops)
        return;
    cc_arena *a = r->arena;
    const char **dels = NULL;
    if (ops->ndel) {
        dels = cc_arena_alloc(a, ops->ndel * sizeof(*dels));
        for (size_t i = 0; i < ops->ndel; i++) {
            dels[i] = cc_tmpl_expand(ops->del[i], r, true);
            if (strcmp(dels[i], "*") == 0)
                h->n = 0;
        }
    }
    for (size_t i = 0; i < ops->nadd; i++) {
        const char *name = op_name(&ops->add[i], r);
        for (size_t k = 0; k < ops->add[i].nvals; k++)
            cc_headers_add(a, h, name, cc_tmpl_expand(ops->add[i].vals[k], r, true));
    }
    for (size_t i = 0; i < ops->nset; i++) {
        const kv_op *op = &ops->set[i];
        const char *val = "";
        for (size_t k = 0; k < op->nvals; k++) {
            const char *v = cc_tmpl_expand(op->vals[k], r, true);
            val = k ? cc_arena_printf(a, "%s,%s", val, v) : v;
        }
        cc_headers_set(a, h, op_name(op, r), val);
    }
    for (size_t i = 0; i < ops->ndel; i++)
        if (strcmp(dels[i], "*") != 0)
            delete_matching(h, dels[i]);
    for (size_t i = 0; i < ops->nrepl; i++) {
        const repl_field *rf = &ops->repl[i];
        const char *field = cc_tmpl_expand(rf->name, r, true);
        if (strcmp(field, "*") != 0)
            field = cc_hdr_canonical_key(a, field);
        for (size_t k = 0; k < rf->n; k++)
            replace_in(h, field, &rf->v[k], r);
    }
}

/* Updates r's host fields from a new Host value. */
static void set_host(cc_req *r, const char *hp)
{
    cc_arena *a = r->arena;
    r->hostport = hp;
    const char *host = hp, *port = NULL;
    size_t hn = strlen(hp);
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (close) {
            host = hp + 1;
            hn = (size_t)(close - host);
            if (close[1] == ':')
                port = close + 2;
        }
    } else {
        const char *colon = strrchr(hp, ':');
        if (colon && colon == strchr(hp, ':')) {
            hn = (size_t)(colon - hp);
            port = colon + 1;
        }
    }
    char *lh = cc_arena_strndup(a, host, hn);
    for (char *p = lh; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    r->host = lh;
    if (port && *port)
        r->port = port;
    else if (r->conn)
        r->port = cc_arena_printf(a, "%d", r->conn->local_port);
}

void cc_hdrops_apply_request(const cc_hdrops *ops, cc_req *r)
{
    if (!ops)
        return;
    cc_arena *a = r->arena;
    /* Go keeps the host outside the header map; Caddy lends it in as a Host field so
     * that ops can read and change it, and the last Host value left wins. The engine
     * keeps the received Host field, which then plays that part itself. */
    const char *orig = r->hostport ? r->hostport : "";
    bool had = cc_headers_count(&r->headers, "Host") > 0;
    if (!had)
        cc_headers_add(a, &r->headers, "Host", orig);
    cc_hdrops_apply(ops, &r->headers, r);
    const char *last = "";
    size_t n = 0;
    for (size_t i = 0; i < r->headers.n; i++) {
        if (strcasecmp(r->headers.v[i].name, "Host") == 0) {
            last = r->headers.v[i].value;
            n++;
        }
    }
    if (!had || n > 1) {
        cc_headers_del(&r->headers, "Host");
        if (had && *last)
            cc_headers_add(a, &r->headers, "Host", last);
    }
    if (strcmp(last, orig) != 0)
        set_host(r, last);
}

/* ---- response matchers ---- */

typedef struct hdr_want {
    const char *name;
    const char **vals; /* NULL: must be absent */
    size_t n;
    bool present; /* [] : must be present */
} hdr_want;

struct cc_respmatch {
    int *codes;
    size_t ncodes;
    bool any_code;
    hdr_want *hdrs;
    size_t nhdrs;
};

cc_respmatch *cc_respmatch_compile(cc_arena *a, const cc_cfg *m, cc_err *err)
{
    if (!m || m->type != CC_CFG_OBJ) {
        cc_err_setat(err, m ? m->file : NULL, m ? m->line : 0,
                     "response matcher must be a JSON object");
        return NULL;
    }
    cc_respmatch *rm = cc_arena_alloc(a, sizeof(*rm));
    const cc_cfg *codes = cc_cfg_get(m, "status_code");
    rm->any_code = !codes || codes->type == CC_CFG_NULL;
    if (!rm->any_code) {
        if (codes->type != CC_CFG_ARR) {
            cc_err_setat(err, codes->file, codes->line, "status_code must be a JSON array");
            return NULL;
        }
        rm->ncodes = cc_cfg_len(codes);
        rm->codes = cc_arena_alloc(a, (rm->ncodes ? rm->ncodes : 1) * sizeof(*rm->codes));
        for (size_t i = 0; i < rm->ncodes; i++) {
            const cc_cfg *c = cc_cfg_idx(codes, i);
            if (c->type != CC_CFG_INT) {
                cc_err_setat(err, c->file, c->line, "status_code values must be integers");
                return NULL;
            }
            rm->codes[i] = (int)c->i;
        }
    }
    const cc_cfg *hdrs = cc_cfg_get(m, "headers");
    if (hdrs && hdrs->type == CC_CFG_OBJ) {
        rm->nhdrs = hdrs->obj.n;
        rm->hdrs = cc_arena_alloc(a, (rm->nhdrs ? rm->nhdrs : 1) * sizeof(*rm->hdrs));
        for (size_t i = 0; i < rm->nhdrs; i++) {
            hdr_want *w = &rm->hdrs[i];
            w->name = hdrs->obj.k[i];
            const cc_cfg *v = hdrs->obj.v[i];
            if (v->type == CC_CFG_NULL)
                continue;
            if (v->type != CC_CFG_ARR) {
                cc_err_setat(err, v->file, v->line, "header matcher values must be an array");
                return NULL;
            }
            w->n = cc_cfg_len(v);
            w->present = w->n == 0;
            w->vals = cc_arena_alloc(a, (w->n ? w->n : 1) * sizeof(*w->vals));
            for (size_t k = 0; k < w->n; k++) {
                const cc_cfg *s = cc_cfg_idx(v, k);
                if (s->type != CC_CFG_STR) {
                    cc_err_setat(err, s->file, s->line, "header matcher values must be strings");
                    return NULL;
                }
                w->vals[k] = s->s.p;
            }
        }
    }
    return rm;
}

static bool value_matches(const char *actual, const char *want)
{
    size_t wn = strlen(want), an = strlen(actual);
    if (strcmp(want, "*") == 0)
        return true;
    bool lead = wn > 0 && want[0] == '*', trail = wn > 0 && want[wn - 1] == '*';
    if (lead && trail) {
        size_t cn = wn >= 2 ? wn - 2 : 0;
        for (size_t i = 0; i + cn <= an; i++)
            if (strncmp(actual + i, want + 1, cn) == 0)
                return true;
        return false;
    }
    if (lead)
        return an >= wn - 1 && strcmp(actual + an - (wn - 1), want + 1) == 0;
    if (trail)
        return strncmp(actual, want, wn - 1) == 0;
    return strcmp(actual, want) == 0;
}

bool cc_respmatch_match(const cc_respmatch *m, int status, const cc_headers *h)
{
    if (!m)
        return true;
    if (!m->any_code) {
        bool ok = false;
        for (size_t i = 0; i < m->ncodes && !ok; i++) {
            int c = m->codes[i];
            ok = status == c || (c < 100 && status >= c * 100 && status < (c + 1) * 100);
        }
        if (!ok)
            return false;
    }
    for (size_t i = 0; i < m->nhdrs; i++) {
        const hdr_want *w = &m->hdrs[i];
        bool present = cc_headers_count(h, w->name) > 0;
        if (w->present && present)
            continue;
        if (!w->vals && !present)
            continue;
        bool match = false;
        for (size_t k = 0; k < h->n && !match; k++) {
            if (strcasecmp(h->v[k].name, w->name) != 0)
                continue;
            for (size_t j = 0; j < w->n && !match; j++)
                match = value_matches(h->v[k].value, w->vals[j]);
        }
        if (!match)
            return false;
    }
    return true;
}
