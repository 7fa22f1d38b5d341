/* SPDX-License-Identifier: Apache-2.0
 * The dispenser (see dispenser.h): Caddy's token cursor with its exact line rules. */
#include "dispenser.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cc_tok_line_breaks(const cc_token *t)
{
    int n = 0;
    for (size_t i = 0; i < t->len; i++)
        if (t->text[i] == '\n')
            n++;
    if (t->quote == CC_TOK_HEREDOC)
        n += 2;
    return n;
}

static bool same_str(const char *x, const char *y)
{
    if (x == y)
        return true;
    if (!x || !y)
        return false;
    return strcmp(x, y) == 0;
}

bool cc_tok_next_on_new_line(const cc_token *t1, const cc_token *t2)
{
    if (!same_str(t1->file, t2->file) || !same_str(t1->imports, t2->imports))
        return true;
    return t1->line + cc_tok_line_breaks(t1) < t2->line;
}

cc_disp *cc_disp_new(cc_arena *a, const cc_token *t, size_t n, cc_err *err)
{
    cc_disp *d = cc_arena_alloc(a, sizeof(*d));
    d->a = a;
    d->t = cc_arena_alloc(a, (n ? n : 1) * sizeof(cc_token));
    if (n)
        memcpy(d->t, t, n * sizeof(cc_token));
    d->n = n;
    d->cur = -1;
    d->err = err;
    return d;
}

bool cc_disp_next(cc_disp *d)
{
    if (d->cur < (long)d->n - 1) {
        d->cur++;
        return true;
    }
    return false;
}

bool cc_disp_prev(cc_disp *d)
{
    if (d->cur > -1) {
        d->cur--;
        return d->cur > -1;
    }
    return false;
}

static bool next_on_same_line(cc_disp *d)
{
    if (d->cur < 0) {
        if (d->n == 0)
            return false;
        d->cur++;
        return true;
    }
    if (d->cur >= (long)d->n - 1)
        return false;
    if (!cc_tok_next_on_new_line(&d->t[d->cur], &d->t[d->cur + 1])) {
        d->cur++;
        return true;
    }
    return false;
}

const cc_token *cc_disp_tok(const cc_disp *d)
{
    if (d->cur < 0 || d->cur >= (long)d->n)
        return NULL;
    return &d->t[d->cur];
}

bool cc_disp_next_arg(cc_disp *d)
{
    if (!next_on_same_line(d))
        return false;
    if (cc_tok_is_open(cc_disp_tok(d))) {
        d->cur--;
        return false;
    }
    return true;
}

bool cc_disp_next_line(cc_disp *d)
{
    if (d->cur < 0) {
        if (d->n == 0)
            return false;
        d->cur++;
        return true;
    }
    if (d->cur >= (long)d->n - 1)
        return false;
    if (cc_tok_next_on_new_line(&d->t[d->cur], &d->t[d->cur + 1])) {
        d->cur++;
        return true;
    }
    return false;
}

bool cc_disp_next_block(cc_disp *d, int initial)
{
    if (d->nesting > initial) {
        if (!cc_disp_next(d))
            return false;
        if (cc_tok_is_close(cc_disp_tok(d)) && !next_on_same_line(d))
            d->nesting--;
        else if (cc_tok_is_open(cc_disp_tok(d)) && !next_on_same_line(d))
            d->nesting++;
        return d->nesting > initial;
    }
    if (!next_on_same_line(d))
        return false;
    if (!cc_tok_is_open(cc_disp_tok(d))) {
        d->cur--;
        return false;
    }
    cc_disp_next(d);
    if (cc_tok_is_close(cc_disp_tok(d)))
        return false;
    d->nesting++;
    return true;
}

int cc_disp_nesting(const cc_disp *d)
{
    return d->nesting;
}

const char *cc_disp_val(const cc_disp *d)
{
    const cc_token *t = cc_disp_tok(d);
    return t ? t->text : "";
}

int cc_disp_line(const cc_disp *d)
{
    const cc_token *t = cc_disp_tok(d);
    if (!t && d->n)
        t = &d->t[d->cur < 0 ? 0 : d->n - 1];
    return t ? t->line : 0;
}

const char *cc_disp_file(const cc_disp *d)
{
    const cc_token *t = cc_disp_tok(d);
    if (!t && d->n)
        t = &d->t[d->cur < 0 ? 0 : d->n - 1];
    return t ? t->file : NULL;
}

bool cc_disp_args(cc_disp *d, ...)
{
    va_list ap;
    va_start(ap, d);
    bool ok = true;
    const char **target;
    while ((target = va_arg(ap, const char **)) != NULL) {
        if (!cc_disp_next_arg(d)) {
            ok = false;
            break;
        }
        *target = cc_disp_val(d);
    }
    va_end(ap);
    return ok;
}

int cc_disp_count_remaining_args(cc_disp *d)
{
    long save = d->cur;
    int n = 0;
    while (cc_disp_next_arg(d))
        n++;
    d->cur = save;
    return n;
}

const char **cc_disp_remaining_args(cc_disp *d, size_t *n)
{
    int cnt = cc_disp_count_remaining_args(d);
    const char **v = cc_arena_alloc(d->a, ((size_t)cnt + 1) * sizeof(char *));
    int i = 0;
    while (i < cnt && cc_disp_next_arg(d))
        v[i++] = cc_disp_val(d);
    if (n)
        *n = (size_t)i;
    return v;
}

cc_token *cc_disp_remaining_args_tokens(cc_disp *d, size_t *n)
{
    int cnt = cc_disp_count_remaining_args(d);
    cc_token *v = cc_arena_alloc(d->a, ((size_t)cnt + 1) * sizeof(cc_token));
    int i = 0;
    while (i < cnt && cc_disp_next_arg(d))
        v[i++] = *cc_disp_tok(d);
    if (n)
        *n = (size_t)i;
    return v;
}

cc_segment cc_disp_next_segment(cc_disp *d)
{
    cc_segment s = {0};
    const cc_token *first = cc_disp_tok(d);
    if (!first)
        return s;
    long start = d->cur;
    while (cc_disp_next_arg(d))
        ;
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);)
        ;
    long end = d->cur; /* the closing brace, or the last argument */
    s.n = (size_t)(end - start + 1);
    s.v = cc_arena_alloc(d->a, s.n * sizeof(cc_token));
    memcpy(s.v, &d->t[start], s.n * sizeof(cc_token));
    return s;
}

cc_disp *cc_disp_new_from_next_segment(cc_disp *d)
{
    cc_segment s = cc_disp_next_segment(d);
    return cc_disp_new(d->a, s.v, s.n, d->err);
}

void cc_disp_reset(cc_disp *d)
{
    d->cur = -1;
    d->nesting = 0;
}

void cc_disp_delete(cc_disp *d)
{
    if (d->cur >= 0 && d->cur < (long)d->n) {
        memmove(&d->t[d->cur], &d->t[d->cur + 1], (d->n - (size_t)d->cur - 1) * sizeof(cc_token));
        d->n--;
        d->cur--;
    }
}

static int verr_tok(cc_err *err, const cc_token *t, const char *fmt, va_list ap)
{
    if (!err || err->code)
        return CC_ERR;
    char msg[900];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (!t)
        return cc_err_set(err, "%s", msg);
    if (t->imports)
        return cc_err_setat(err, t->file, t->line, "%s (import chain: ['%s'])", msg, t->imports);
    return cc_err_setat(err, t->file, t->line, "%s", msg);
}

int cc_disp_errf_tok(cc_err *err, const cc_token *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr_tok(err, t, fmt, ap);
    va_end(ap);
    return CC_ERR;
}

/* The token errors point at: the current one, else the nearest one. */
static const cc_token *err_tok(const cc_disp *d)
{
    const cc_token *t = cc_disp_tok(d);
    if (!t && d->n)
        t = &d->t[d->cur < 0 ? 0 : d->n - 1];
    return t;
}

int cc_disp_errf(cc_disp *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr_tok(d->err, err_tok(d), fmt, ap);
    va_end(ap);
    return CC_ERR;
}

int cc_disp_arg_err(cc_disp *d)
{
    if (cc_tok_is_open(cc_disp_tok(d)))
        return cc_disp_errf(d, "unexpected token '{', expecting argument");
    return cc_disp_errf(d, "wrong argument count or unexpected line ending after '%s'",
                        cc_disp_val(d));
}

int cc_disp_syntax_err(cc_disp *d, const char *expected)
{
    return cc_disp_errf(d, "syntax error: unexpected token '%s', expecting '%s'", cc_disp_val(d),
                        expected);
}

int cc_disp_eof_err(cc_disp *d)
{
    return cc_disp_errf(d, "unexpected EOF");
}
