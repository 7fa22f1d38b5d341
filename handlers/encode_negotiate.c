/* SPDX-License-Identifier: Apache-2.0
 * Accept-Encoding negotiation as Caddy's encode.AcceptedEncodings does it: every token
 * with its q-value (a malformed or out-of-range q counts as 1, q=0 excludes), sorted by
 * q, ties going to the server's preference order and then to the header's order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "encode_priv.h"

typedef struct pref {
    const char *name;
    double q;
    long order; /* higher = more preferred by the server; -1 = not in prefer */
} pref;

static bool ws(char c)
{
    return c == ' ' || c == '\t';
}

/* Go's strconv.ParseFloat acceptance is wider than HTTP's qvalue; like Caddy we only
 * honour a value that parses completely and lies in [0, 1]. */
static double parse_q(const char *params, size_t n)
{
    const char *e = memchr(params, ';', n);
    if (e)
        n = (size_t)(e - params);
    while (n && ws(*params)) {
        params++;
        n--;
    }
    while (n && ws(params[n - 1]))
        n--;
    if (n < 2 || (params[0] != 'q' && params[0] != 'Q') || params[1] != '=')
        return 1.0;
    char tmp[32];
    if (n - 2 == 0 || n - 2 >= sizeof(tmp) || ws(params[2]))
        return 1.0;
    memcpy(tmp, params + 2, n - 2);
    tmp[n - 2] = '\0';
    char *end;
    double v = strtod(tmp, &end);
    if (*end || isnan(v) || v < 0 || v > 1)
        return 1.0;
    return v;
}

const char **cc_enc_accepted(cc_req *r, const char *const *prefer, size_t nprefer, size_t *n)
{
    *n = 0;
    const char *ae = cc_headers_get(&r->headers, "Accept-Encoding");
    if (!ae || !ae[0]) {
        const char **none = cc_arena_alloc(r->arena, sizeof(*none));
        return none;
    }
    bool websocket = cc_headers_get(&r->headers, "Sec-Websocket-Key") != NULL;
    size_t cap = 1;
    for (const char *c = ae; *c; c++)
        cap += *c == ',';
    pref *v = cc_arena_alloc(r->arena, cap * sizeof(*v));
    size_t cnt = 0;
    for (const char *s = ae;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        const char *semi = memchr(s, ';', len);
        size_t nl = semi ? (size_t)(semi - s) : len;
        const char *name = s;
        while (nl && ws(*name)) {
            name++;
            nl--;
        }
        while (nl && ws(name[nl - 1]))
            nl--;
        double q = semi ? parse_q(semi + 1, len - (size_t)(semi + 1 - s)) : 1.0;
        char *lname = cc_arena_strndup(r->arena, name, nl);
        for (char *c = lname; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        if (q >= 0.00001 && !(websocket && strcmp(lname, "identity") != 0)) {
            long order = -1;
            for (size_t i = 0; i < nprefer; i++)
                if (strcmp(prefer[i], lname) == 0) {
                    order = (long)(nprefer - i);
                    break;
                }
            v[cnt++] = (pref){lname, q, order};
        }
        if (!comma)
            break;
        s = comma + 1;
    }
    /* stable insertion sort (headers are short) */
    for (size_t i = 1; i < cnt; i++) {
        pref x = v[i];
        size_t j = i;
        for (; j > 0; j--) {
            const pref *y = &v[j - 1];
            bool before = fabs(x.q - y->q) < 0.00001 ? x.order > y->order : x.q > y->q;
            if (!before)
                break;
            v[j] = *y;
        }
        v[j] = x;
    }
    const char **names = cc_arena_alloc(r->arena, (cnt + 1) * sizeof(*names));
    for (size_t i = 0; i < cnt; i++)
        names[i] = v[i].name;
    *n = cnt;
    return names;
}
