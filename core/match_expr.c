/* SPDX-License-Identifier: Apache-2.0
 * The small part of CEL that Caddyfile configs produce without the user writing CEL:
 * handle_errors turns status codes into "{http.error.status_code} >= 500 &&
 * {http.error.status_code} <= 599 || {http.error.status_code} in [404]". Comparisons of
 * placeholders with numbers or strings, "in [...]" lists, !, && , || and parentheses
 * are evaluated; any other expression is refused at provision, since a real CEL engine
 * is not part of caddy-c. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "match_priv.h"
#include "replacer.h"

typedef enum { N_OR, N_AND, N_NOT, N_CMP, N_IN, N_BOOL } ntype;
typedef enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE } cmpop;

typedef struct operand {
    const char *ph;  /* placeholder name, or NULL */
    const char *str; /* literal string (also the text of a number) */
    bool isnum;
    double num;
} operand;

typedef struct node node;
struct node {
    ntype t;
    node *l, *r;
    cmpop op;
    operand a, b;
    operand *list;
    size_t nlist;
    bool bval;
};

typedef struct parser {
    cc_arena *a;
    const char *s, *p;
    bool bad;
} parser;

static void skip(parser *ps)
{
    while (isspace((unsigned char)*ps->p))
        ps->p++;
}

static bool eat(parser *ps, const char *tok)
{
    skip(ps);
    size_t n = strlen(tok);
    if (strncmp(ps->p, tok, n) != 0)
        return false;
    /* keywords must not run into identifiers */
    if (isalpha((unsigned char)tok[0]) && (isalnum((unsigned char)ps->p[n]) || ps->p[n] == '_'))
        return false;
    ps->p += n;
    return true;
}

static bool operand_parse(parser *ps, operand *o)
{
    skip(ps);
    memset(o, 0, sizeof(*o));
    const char *p = ps->p;
    if (*p == '{') {
        const char *e = strchr(p, '}');
        if (!e)
            return false;
        o->ph = cc_arena_strndup(ps->a, p + 1, (size_t)(e - p - 1));
        ps->p = e + 1;
        return true;
    }
    if (*p == '"' || *p == '\'') {
        char q = *p;
        const char *e = strchr(p + 1, q);
        if (!e)
            return false;
        o->str = cc_arena_strndup(ps->a, p + 1, (size_t)(e - p - 1));
        ps->p = e + 1;
        return true;
    }
    if (*p == '-' || isdigit((unsigned char)*p)) {
        char *end;
        o->num = strtod(p, &end);
        if (end == p)
            return false;
        o->isnum = true;
        o->str = cc_arena_strndup(ps->a, p, (size_t)(end - p));
        ps->p = end;
        return true;
    }
    return false;
}

static node *parse_or(parser *ps);

static node *mk(parser *ps, ntype t)
{
    node *n = cc_arena_alloc(ps->a, sizeof(*n));
    n->t = t;
    return n;
}

static node *parse_unary(parser *ps)
{
    if (eat(ps, "!")) {
        node *n = mk(ps, N_NOT);
        n->l = parse_unary(ps);
        return n->l ? n : NULL;
    }
    if (eat(ps, "(")) {
        node *n = parse_or(ps);
        if (!n || !eat(ps, ")"))
            return NULL;
        return n;
    }
    if (eat(ps, "true") || eat(ps, "false")) {
        node *n = mk(ps, N_BOOL);
        n->bval = ps->p[-1] == 'e' && ps->p[-2] == 'u';
        return n;
    }
    operand a;
    if (!operand_parse(ps, &a))
        return NULL;
    if (eat(ps, "in")) {
        node *n = mk(ps, N_IN);
        n->a = a;
        if (!eat(ps, "["))
            return NULL;
        CC_VEC(operand) list = {0};
        if (!eat(ps, "]")) {
            for (;;) {
                operand o;
                if (!operand_parse(ps, &o) || o.ph)
                    return NULL;
                CC_VEC_PUSH(ps->a, &list, o);
                if (eat(ps, "]"))
                    break;
                if (!eat(ps, ","))
                    return NULL;
            }
        }
        n->list = list.v;
        n->nlist = list.n;
        return n;
    }
    static const struct {
        const char *tok;
        cmpop op;
    } ops[] = {{"==", OP_EQ}, {"!=", OP_NE}, {">=", OP_GE},
               {"<=", OP_LE}, {">", OP_GT},  {"<", OP_LT}};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (eat(ps, ops[i].tok)) {
            node *n = mk(ps, N_CMP);
            n->op = ops[i].op;
            n->a = a;
            if (!operand_parse(ps, &n->b))
                return NULL;
            return n;
        }
    }
    return NULL;
}

static node *parse_and(parser *ps)
{
    node *l = parse_unary(ps);
    while (l && eat(ps, "&&")) {
        node *n = mk(ps, N_AND);
        n->l = l;
        n->r = parse_unary(ps);
        if (!n->r)
            return NULL;
        l = n;
    }
    return l;
}

static node *parse_or(parser *ps)
{
    node *l = parse_and(ps);
    while (l && eat(ps, "||")) {
        node *n = mk(ps, N_OR);
        n->l = l;
        n->r = parse_and(ps);
        if (!n->r)
            return NULL;
        l = n;
    }
    return l;
}

void *cc_expr_compile(cc_arena *a, const char *expr, cc_err *err)
{
    parser ps = {.a = a, .s = expr, .p = expr};
    node *n = parse_or(&ps);
    skip(&ps);
    if (!n || *ps.p) {
        cc_err_set(err,
                   "expression matchers (CEL) are not supported by caddy-c (only comparisons "
                   "of placeholders with numbers or strings, 'in [...]', !, && and ||, as "
                   "handle_errors produces): %s",
                   expr);
        return NULL;
    }
    return n;
}

static const char *value_of(const operand *o, cc_req *r)
{
    if (!o->ph)
        return o->str;
    const char *v = cc_repl_get(r, o->ph);
    return v ? v : "";
}

static bool as_num(const char *s, double *out)
{
    char *end;
    if (!*s)
        return false;
    *out = strtod(s, &end);
    return *end == '\0';
}

static bool compare(const operand *a, const operand *b, cmpop op, cc_req *r)
{
    const char *av = value_of(a, r), *bv = value_of(b, r);
    int c;
    if (a->isnum || b->isnum) {
        double x, y;
        if (!as_num(av, &x) || !as_num(bv, &y))
            return op == OP_NE;
        c = x < y ? -1 : x > y ? 1 : 0;
    } else {
        c = strcmp(av, bv);
    }
    switch (op) {
    case OP_EQ:
        return c == 0;
    case OP_NE:
        return c != 0;
    case OP_LT:
        return c < 0;
    case OP_LE:
        return c <= 0;
    case OP_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

static bool eval(const node *n, cc_req *r)
{
    switch (n->t) {
    case N_OR:
        return eval(n->l, r) || eval(n->r, r);
    case N_AND:
        return eval(n->l, r) && eval(n->r, r);
    case N_NOT:
        return !eval(n->l, r);
    case N_BOOL:
        return n->bval;
    case N_CMP:
        return compare(&n->a, &n->b, n->op, r);
    case N_IN:
        for (size_t i = 0; i < n->nlist; i++)
            if (compare(&n->a, &n->list[i], OP_EQ, r))
                return true;
        return false;
    }
    return false;
}

bool cc_expr_eval(const void *expr, cc_req *r)
{
    return eval(expr, r);
}
