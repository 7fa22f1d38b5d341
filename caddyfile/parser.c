/* SPDX-License-Identifier: Apache-2.0
 * The Caddyfile parser (caddy-reference.md section 2.1): groups tokens into server blocks
 * of keys and segments, stores snippets, recognises named routes and runs imports as it
 * goes, following Caddy's parse.go step by step so that the same inputs fail with the
 * same messages. */
#include "parse_internal.h"

#include <string.h>

#include "dispenser.h"
#include "lexer.h"

static bool has_prefix(const cc_token *t, const char *s)
{
    size_t n = strlen(s);
    return t->len >= n && memcmp(t->text, s, n) == 0;
}

static bool has_suffix(const cc_token *t, const char *s)
{
    size_t n = strlen(s);
    return t->len >= n && memcmp(t->text + t->len - n, s, n) == 0;
}

static int eof_err(cc_cf_parser *p)
{
    return cc_cf_p_errf(p, "unexpected EOF");
}

static void push_cur(cc_cf_parser *p, cc_tokvec *v)
{
    const cc_token *t = cc_cf_p_tok(p);
    if (t)
        CC_VEC_PUSH(p->a, v, *t);
}

/* Site addresses up to the "{" or the end of the line (a trailing comma continues them
 * on the next line); `import` at the start of a line is expanded here too. */
static int addresses(cc_cf_parser *p)
{
    bool expecting_another = false;
    for (;;) {
        const cc_token *t = cc_cf_p_tok(p);
        const char *value = cc_cf_p_val(p);
        size_t vlen = cc_cf_p_len(p);

        if (vlen && value[0] == '@')
            return cc_cf_p_errf(p,
                                "request matchers may not be defined globally, they must be in "
                                "a site block; found %s",
                                value);
        if (cc_cf_p_val_is(p, "import") && cc_cf_p_is_new_line(p)) {
            if (cc_cf_do_import(p, 0) != CC_OK)
                return CC_ERR;
            continue;
        }
        if (cc_tok_is_open(t)) {
            if (expecting_another)
                return cc_cf_p_errf(
                    p, "Expected another address but had '%s' - check for extra comma", value);
            p->has_braces = true;
            break;
        }
        if (vlen && value[vlen - 1] == '{' && t->quote == CC_TOK_BARE)
            return cc_cf_p_errf(p,
                                "Site addresses cannot end with a curly brace: '%s' - put a "
                                "space between the token and the brace",
                                value);
        if (vlen) {
            if (value[vlen - 1] == ',') {
                vlen--;
                expecting_another = true;
            } else {
                expecting_another = false;
            }
            if (memchr(value, ',', vlen))
                return cc_cf_p_errf(p,
                                    "Site addresses cannot contain a comma ',': '%.*s' - put a "
                                    "space after the comma to separate site addresses",
                                    (int)vlen, value);
            if (vlen) {
                cc_token key = *t;
                key.text = cc_arena_strndup(p->a, value, vlen);
                key.len = vlen;
                CC_VEC_PUSH(p->a, &p->keys, key);
            }
        }

        bool has_next = cc_cf_p_next(p);
        if (expecting_another && !has_next)
            return eof_err(p);
        if (!has_next) {
            p->eof = true;
            break;
        }
        if (!expecting_another && cc_cf_p_is_new_line(p))
            break;
    }
    return CC_OK;
}

/* Caddy points a user who put the global options after `import`s of snippet files at
 * the real problem instead of a bare syntax error. */
static bool looks_like_global_options_after_imported_snippets(cc_cf_parser *p)
{
    if (!cc_cf_p_val_is(p, "import") || p->keys.n == 0)
        return false;
    for (size_t i = 0; i < p->keys.n; i++)
        if (!has_prefix(&p->keys.v[i], "(") || !has_suffix(&p->keys.v[i], ")"))
            return false;
    return true;
}

static int open_curly_brace(cc_cf_parser *p)
{
    if (cc_tok_is_open(cc_cf_p_tok(p)))
        return CC_OK;
    if (looks_like_global_options_after_imported_snippets(p))
        return cc_cf_p_errf(p, "global options block must appear before import directives; "
                               "move the global options block to the top of the Caddyfile");
    return cc_cf_p_syntax_err(p, "{");
}

/* Everything up to the matching "}" (for snippets and named routes). */
static int block_tokens(cc_cf_parser *p, bool retain_curlies, cc_tokvec *out)
{
    if (open_curly_brace(p) != CC_OK)
        return CC_ERR;
    int nesting = 1;
    if (retain_curlies)
        push_cur(p, out);
    while (cc_cf_p_next(p)) {
        const cc_token *t = cc_cf_p_tok(p);
        if (cc_tok_is_close(t)) {
            nesting--;
            if (nesting == 0) {
                if (retain_curlies)
                    push_cur(p, out);
                break;
            }
        }
        if (cc_tok_is_open(t))
            nesting++;
        push_cur(p, out);
    }
    if (nesting != 0)
        return cc_cf_p_syntax_err(p, "}");
    return CC_OK;
}

/* One segment: the directive, its arguments and the block its line opens. */
static int directive(cc_cf_parser *p)
{
    cc_tokvec seg = {0};
    push_cur(p, &seg);
    while (cc_cf_p_next(p)) {
        const cc_token *t = cc_cf_p_tok(p);
        if (cc_tok_is_open(t)) {
            p->nesting++;
            if (!cc_cf_p_is_next_on_new_line(p))
                return cc_cf_p_errf(p, "Unexpected next token after '{' on same line");
            if (cc_cf_p_is_new_line(p))
                return cc_cf_p_errf(p, "Unexpected '{' on a new line; did you mean to place "
                                       "the '{' on the previous line?");
        } else if (t->quote == CC_TOK_BARE && cc_cf_p_val_is(p, "{}")) {
            if (cc_cf_p_is_next_on_new_line(p))
                return cc_cf_p_errf(p, "Unexpected '{}' at end of line");
        } else if (cc_cf_p_is_new_line(p) && p->nesting == 0) {
            cc_cf_p_back(p); /* read too far */
            break;
        } else if (cc_tok_is_close(t) && p->nesting > 0) {
            p->nesting--;
        } else if (cc_tok_is_close(t) && p->nesting == 0) {
            return cc_cf_p_errf(p, "Unexpected '}' because no matching opening brace");
        } else if (cc_cf_p_val_is(p, "import") && cc_cf_p_is_new_line(p)) {
            if (cc_cf_do_import(p, 1) != CC_OK)
                return CC_ERR;
            cc_cf_p_back(p); /* the loop advances onto the first imported token */
            continue;
        }
        push_cur(p, &seg);
    }
    cc_segment s = {.v = seg.v, .n = seg.n};
    CC_VEC_PUSH(p->a, &p->segs, s);
    if (p->nesting > 0)
        return eof_err(p);
    return CC_OK;
}

/* Segments until the "}" that ends the server block, or EOF. */
static int directives(cc_cf_parser *p)
{
    while (cc_cf_p_next(p)) {
        if (cc_tok_is_close(cc_cf_p_tok(p)))
            break;
        if (cc_cf_p_val_is(p, "import")) {
            if (cc_cf_do_import(p, 1) != CC_OK)
                return CC_ERR;
            cc_cf_p_back(p);
            continue;
        }
        if (directive(p) != CC_OK)
            return CC_ERR;
    }
    return CC_OK;
}

static int block_contents(cc_cf_parser *p)
{
    /* a single site needs no braces */
    bool opened = cc_tok_is_open(cc_cf_p_tok(p));
    if (!opened)
        cc_cf_p_back(p);
    if (directives(p) != CC_OK)
        return CC_ERR;
    if (opened && !cc_tok_is_close(cc_cf_p_tok(p)))
        return cc_cf_p_syntax_err(p, "}");
    return CC_OK;
}

static cc_cf_snippet *find_snippet(cc_cf_parser *p, const char *name, size_t n)
{
    for (size_t i = 0; i < p->snippets.n; i++)
        if (p->snippets.v[i].name_len == n && memcmp(p->snippets.v[i].name, name, n) == 0)
            return &p->snippets.v[i];
    return NULL;
}

static int define_snippet(cc_cf_parser *p, const cc_token *key)
{
    size_t n = key->len - 2;
    const char *name = cc_arena_strndup(p->a, key->text + 1, n);
    if (find_snippet(p, name, n))
        return cc_cf_p_errf(p, "redeclaration of previously declared snippet %s", name);
    cc_tokvec body = {0};
    if (block_tokens(p, false, &body) != CC_OK)
        return CC_ERR;
    /* tokens remember their snippet so cycles are tracked per snippet, not per file */
    for (size_t i = 0; i < body.n; i++)
        body.v[i].snippet = name;
    cc_cf_snippet s = {.name = name, .name_len = n, .v = body.v, .n = body.n};
    CC_VEC_PUSH(p->a, &p->snippets, s);
    p->keys.n = 0;
    return CC_OK;
}

static int named_route(cc_cf_parser *p, const cc_token *key)
{
    /* Caddy takes the token at the cursor (the "{") as the leading dummy token */
    const cc_token *cur = cc_cf_p_tok(p);
    cc_token name = cur ? *cur : *key;
    name.len = key->len - 3;
    name.text = cc_arena_strndup(p->a, key->text + 2, name.len);
    p->keys.n = 0;
    CC_VEC_PUSH(p->a, &p->keys, name);
    p->is_named_route = true;
    cc_tokvec body = {0};
    CC_VEC_PUSH(p->a, &body, name);
    if (block_tokens(p, true, &body) != CC_OK)
        return CC_ERR;
    cc_segment s = {.v = body.v, .n = body.n};
    CC_VEC_PUSH(p->a, &p->segs, s);
    return CC_OK;
}

static int parse_one(cc_cf_parser *p)
{
    memset(&p->keys, 0, sizeof(p->keys));
    memset(&p->segs, 0, sizeof(p->segs));
    p->has_braces = false;
    p->is_named_route = false;
    if (p->done.n + p->todo.n == 0)
        return CC_OK;
    if (addresses(p) != CC_OK)
        return CC_ERR;
    if (p->eof)
        return CC_OK; /* the file is only a line of addresses */
    if (p->keys.n == 1) {
        const cc_token *k = &p->keys.v[0];
        if (has_prefix(k, "&(") && has_suffix(k, ")") && k->len >= 3)
            return named_route(p, k);
        if (has_prefix(k, "(") && has_suffix(k, ")") && k->len >= 2)
            return define_snippet(p, k);
    }
    return block_contents(p);
}

typedef struct pblock {
    cc_sblock b;
    cc_token start; /* where the block began, for errors about the block as a whole */
} pblock;

typedef CC_VEC(pblock) pblocks;

static int parse_all(cc_cf_parser *p, pblocks *out)
{
    while (cc_cf_p_next(p)) {
        pblock pb = {.start = *cc_cf_p_tok(p)};
        if (parse_one(p) != CC_OK)
            return CC_ERR;
        if (p->keys.n || p->segs.n) {
            pb.b.keys = p->keys.v;
            pb.b.nkeys = p->keys.n;
            pb.b.segs = p->segs.v;
            pb.b.nsegs = p->segs.n;
            pb.b.has_braces = p->has_braces;
            pb.b.is_named_route = p->is_named_route;
            CC_VEC_PUSH(p->a, out, pb);
        }
        if (p->nesting > 0)
            return eof_err(p);
    }
    return CC_OK;
}

/* The checks Caddy's HTTP server type makes on the parsed blocks before it looks at any
 * directive, in the same order. */
static int check_blocks(cc_cf_parser *p, const pblocks *bl)
{
    bool (*is_dir)(const char *) = p->opts ? p->opts->is_directive : NULL;
    for (size_t i = 0; i < bl->n; i++) {
        const cc_sblock *b = &bl->v[i].b;
        for (size_t j = 0; j < b->nkeys; j++) {
            const cc_token *k = &b->keys[j];
            if (j == 0 && k->len && k->text[0] == '@')
                return cc_err_setat(p->err, k->file, k->line,
                                    "cannot define a matcher outside of a site block: '%s'",
                                    k->text);
            if (is_dir && is_dir(k->text))
                return cc_err_setat(p->err, k->file, k->line,
                                    "parsed '%s' as a site address, but it is a known "
                                    "directive; directives must appear in a site block",
                                    k->text);
        }
    }
    for (size_t i = 1; i < bl->n; i++) {
        if (bl->v[i].b.nkeys == 0) {
            const cc_token *t = &bl->v[i].start;
            return cc_disp_errf_tok(p->err, t,
                                    "server block without any key is global configuration, "
                                    "and if used, it must be first");
        }
    }
    if (!is_dir)
        return CC_OK;
    for (size_t i = 0; i < bl->n; i++) {
        const cc_sblock *b = &bl->v[i].b;
        if (b->has_braces || b->nkeys == 0 || b->is_named_route)
            continue;
        for (size_t j = 0; j < b->nsegs; j++) {
            const cc_token *d = &b->segs[j].v[0];
            if ((d->len && d->text[0] == '@') || is_dir(d->text))
                continue;
            return cc_err_setat(p->err, d->file, d->line,
                                "unrecognized directive: %s\nDid you mean to define a second "
                                "site? If so, you must use curly braces around each site to "
                                "separate their configurations.",
                                d->text);
        }
    }
    return CC_OK;
}

int cc_cf_parse(cc_arena *a, const char *filename, const char *src, size_t len,
                const cc_cf_parse_opts *opts, cc_sblocks *out, cc_err *err)
{
    memset(out, 0, sizeof(*out));
    const char *fname = cc_arena_strdup(a, filename ? filename : "");
    size_t elen = 0;
    char *expanded = cc_cf_env_expand(a, src ? src : "", src ? len : 0, &elen);
    cc_tokvec toks = {0};
    if (cc_cf_lex(a, fname, expanded, elen, &toks, err) != CC_OK)
        return CC_ERR;

    cc_cf_parser p = {.a = a, .opts = opts, .err = err, .budget = CC_CF_IMPORT_BUDGET};
    p.graph.a = a;
    for (size_t i = toks.n; i-- > 0;)
        CC_VEC_PUSH(a, &p.todo, toks.v[i]);

    pblocks bl = {0};
    if (parse_all(&p, &bl) != CC_OK || check_blocks(&p, &bl) != CC_OK)
        return CC_ERR;
    for (size_t i = 0; i < bl.n; i++)
        CC_VEC_PUSH(a, out, bl.v[i].b);
    return CC_OK;
}
