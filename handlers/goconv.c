/* SPDX-License-Identifier: Apache-2.0
 * Go strconv-compatible integer and float parsing for directive arguments, so that
 * caddy-c accepts exactly the numbers Caddy accepts and reports them the same way. */
#include "goconv.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

const char *cc_goconv_atoi(const char *s, int64_t *out)
{
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!*p)
        return "invalid syntax";
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    bool range = false;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return "invalid syntax";
        unsigned dgt = (unsigned)(*p - '0');
        if (v > (limit - dgt) / 10)
            range = true; /* Go still reports bad syntax first if a later byte is bad */
        else
            v = v * 10 + dgt;
    }
    if (range) {
        /* Go hands back the clamped value along with the error */
        *out = neg ? INT64_MIN : INT64_MAX;
        return "value out of range";
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return NULL;
}

const char *cc_goconv_parse_float(const char *s, double *out)
{
    /* strtod skips leading space and reads "inf"/"nan"; Go rejects the former, and a
     * non-finite value cannot be written into a JSON config anyway. */
    if (!*s || isspace((unsigned char)*s))
        return "invalid syntax";
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (*end || end == s || isnan(d) || isinf(d))
        return errno == ERANGE ? "value out of range" : "invalid syntax";
    *out = d;
    return NULL;
}
