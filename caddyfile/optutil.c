/* SPDX-License-Identifier: Apache-2.0
 * Value helpers for option and directive parsers: Go-compatible integer/float parsing
 * (so that the same inputs are accepted and the error texts match Caddy's), scalar
 * values as the Caddyfile dispenser's ScalarVal gives them, and module errors. */
#include "optutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

int cc_cf_opt_atoi(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    if (!*p)
        return -1;
    uint64_t v = 0;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
            return -1;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

const char *cc_cf_opt_atoi_errmsg(cc_arena *a, const char *s)
{
    bool syntax = !s || !*s;
    const char *p = s ? s : "";
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        syntax = true;
    for (; *p; p++)
        if (!isdigit((unsigned char)*p))
            syntax = true;
    return cc_arena_printf(a, "strconv.Atoi: parsing \"%s\": %s", s ? s : "",
                           syntax ? "invalid syntax" : "value out of range");
}

int cc_cf_opt_atof(const char *s, double *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || end == s || (errno == ERANGE && isinf(v)))
        return -1;
    *out = v;
    return 0;
}

int cc_cf_unknown_module(cc_disp *d, const char *id)
{
    return cc_disp_errf(d, "getting module named '%s': module not registered: %s", id, id);
}

cc_cfg *cc_cf_scalar(cc_arena *a, const cc_token *t)
{
    if (!t)
        return cc_cfg_null(a);
    if (t->quote)
        return cc_cfg_strn(a, t->text, t->len);
    int64_t i;
    if (cc_cf_opt_atoi(t->text, &i) == 0)
        return cc_cfg_int(a, i);
    double f;
    if (cc_cf_opt_atof(t->text, &f) == 0)
        return cc_cfg_num(a, f);
    static const char *const truth[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const falsity[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t k = 0; k < 6; k++) {
        if (strcmp(t->text, truth[k]) == 0)
            return cc_cfg_bool(a, true);
        if (strcmp(t->text, falsity[k]) == 0)
            return cc_cfg_bool(a, false);
    }
    return cc_cfg_strn(a, t->text, t->len);
}

bool cc_cf_one_arg(cc_disp *d, const char **out)
{
    if (!cc_disp_next_arg(d))
        return false;
    *out = cc_disp_val(d);
    if (cc_disp_next_arg(d)) {
        cc_disp_prev(d);
        return false;
    }
    return true;
}

int cc_cf_dur_tok(cc_disp *d, const char *what, int64_t *ns)
{
    char msg[256];
    if (cc_cf_parse_duration_msg(cc_disp_val(d), ns, msg, sizeof(msg)) == 0)
        return CC_OK;
    if (what)
        return cc_disp_errf(d, "%s: %s", what, msg);
    return cc_disp_errf(d, "%s", msg);
}
