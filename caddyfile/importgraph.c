/* SPDX-License-Identifier: Apache-2.0
 * Import cycle detection (Caddy's importgraph.go): every import adds edges from the
 * importing "file" or "file:snippet" to what it imports, and an edge that would close a
 * cycle is refused so the parser can report "a cycle of imports exists between A and B". */
#include "parse_internal.h"

#include <string.h>

static bool has_edge(const cc_cf_graph *g, const char *from, const char *to)
{
    for (size_t i = 0; i < g->edges.n; i++)
        if (strcmp(g->edges.v[i].from, from) == 0 && strcmp(g->edges.v[i].to, to) == 0)
            return true;
    return false;
}

static bool seen(const cc_cf_strvec *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->v[i], s) == 0)
            return true;
    return false;
}

/* Whether target is reachable from start through at least one edge. */
static bool reachable(const cc_cf_graph *g, const char *start, const char *target)
{
    cc_cf_strvec visited = {0}, stack = {0};
    CC_VEC_PUSH(g->a, &stack, start);
    while (stack.n) {
        const char *n = stack.v[--stack.n];
        for (size_t i = 0; i < g->edges.n; i++) {
            const char *to = g->edges.v[i].to;
            if (strcmp(g->edges.v[i].from, n) != 0 || seen(&visited, to))
                continue;
            if (strcmp(to, target) == 0)
                return true;
            CC_VEC_PUSH(g->a, &visited, to);
            CC_VEC_PUSH(g->a, &stack, to);
        }
    }
    return false;
}

bool cc_cf_graph_add_edge(cc_cf_graph *g, const char *from, const char *to)
{
    if (reachable(g, to, from))
        return false;
    if (has_edge(g, from, to))
        return true;
    cc_cf_edge e = {.from = from, .to = to};
    CC_VEC_PUSH(g->a, &g->edges, e);
    return true;
}
