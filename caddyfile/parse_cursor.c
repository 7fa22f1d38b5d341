/* SPDX-License-Identifier: Apache-2.0
 * The parser's token cursor: Caddy's Dispenser moves (Next, NextArg, NextBlock, the
 * new-line tests) on the gap buffer of parse_internal.h, so that imports can be spliced
 * in cheaply while the line rules stay exactly Caddy's. */
#include "parse_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dispenser.h"

const cc_token *cc_cf_p_tok(const cc_cf_parser *p)
{
    if (p->past_end || p->done.n == 0)
        return NULL;
    return &p->done.v[p->done.n - 1];
}

const char *cc_cf_p_val(const cc_cf_parser *p)
{
    const cc_token *t = cc_cf_p_tok(p);
    return t ? t->text : "";
}

size_t cc_cf_p_len(const cc_cf_parser *p)
{
    const cc_token *t = cc_cf_p_tok(p);
    return t ? t->len : 0;
}

bool cc_cf_p_val_is(const cc_cf_parser *p, const char *s)
{
    const cc_token *t = cc_cf_p_tok(p);
    size_t n = strlen(s);
    return t && t->len == n && memcmp(t->text, s, n) == 0;
}

/* The token after the cursor, or NULL. */
static const cc_token *peek(const cc_cf_parser *p)
{
    if (p->past_end || p->todo.n == 0)
        return NULL;
    return &p->todo.v[p->todo.n - 1];
}

static void advance(cc_cf_parser *p)
{
    cc_token t = p->todo.v[--p->todo.n];
    CC_VEC_PUSH(p->a, &p->done, t);
}

bool cc_cf_p_next(cc_cf_parser *p)
{
    if (!peek(p))
        return false;
    advance(p);
    return true;
}

void cc_cf_p_back(cc_cf_parser *p)
{
    if (p->past_end) {
        p->past_end = false;
        return;
    }
    if (p->done.n == 0)
        return;
    cc_token t = p->done.v[--p->done.n];
    CC_VEC_PUSH(p->a, &p->todo, t);
}

bool cc_cf_p_next_same_line(cc_cf_parser *p)
{
    if (!p->past_end && p->done.n == 0) {
        /* Caddy moves from before the first token to it unconditionally */
        if (p->todo.n)
            advance(p);
        else
            p->past_end = true;
        return true;
    }
    const cc_token *next = peek(p);
    if (!next)
        return false;
    if (cc_tok_next_on_new_line(cc_cf_p_tok(p), next))
        return false;
    advance(p);
    return true;
}

bool cc_cf_p_next_arg(cc_cf_parser *p)
{
    if (!cc_cf_p_next_same_line(p))
        return false;
    if (cc_tok_is_open(cc_cf_p_tok(p))) {
        cc_cf_p_back(p);
        return false;
    }
    return true;
}

bool cc_cf_p_next_block(cc_cf_parser *p, int *nesting, int initial)
{
    if (*nesting > initial) {
        if (!cc_cf_p_next(p))
            return false;
        if (cc_tok_is_close(cc_cf_p_tok(p)) && !cc_cf_p_next_same_line(p))
            (*nesting)--;
        else if (cc_tok_is_open(cc_cf_p_tok(p)) && !cc_cf_p_next_same_line(p))
            (*nesting)++;
        return *nesting > initial;
    }
    if (!cc_cf_p_next_same_line(p))
        return false;
    if (!cc_tok_is_open(cc_cf_p_tok(p))) {
        cc_cf_p_back(p);
        return false;
    }
    cc_cf_p_next(p);
    if (cc_tok_is_close(cc_cf_p_tok(p)))
        return false;
    (*nesting)++;
    return true;
}

bool cc_cf_p_is_new_line(const cc_cf_parser *p)
{
    if (p->past_end)
        return false;
    if (p->done.n < 2)
        return true;
    return cc_tok_next_on_new_line(&p->done.v[p->done.n - 2], &p->done.v[p->done.n - 1]);
}

bool cc_cf_p_is_next_on_new_line(const cc_cf_parser *p)
{
    if (!p->past_end && p->done.n == 0)
        return false;
    const cc_token *next = peek(p);
    if (!next)
        return true;
    return cc_tok_next_on_new_line(cc_cf_p_tok(p), next);
}

int cc_cf_p_errf(cc_cf_parser *p, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* past the end, the last token is the nearest position there is */
    const cc_token *t = cc_cf_p_tok(p);
    if (!t && p->done.n)
        t = &p->done.v[p->done.n - 1];
    return cc_disp_errf_tok(p->err, t, "%s", msg);
}

int cc_cf_p_syntax_err(cc_cf_parser *p, const char *expected)
{
    return cc_cf_p_errf(p, "syntax error: unexpected token '%s', expecting '%s'", cc_cf_p_val(p),
                        expected);
}
