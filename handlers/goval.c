/* SPDX-License-Identifier: Apache-2.0
 * Go value conventions used by Caddy's directive parsers (see goval.h). The grammar
 * checks follow Go's strconv so that a Caddyfile value gets the same JSON type here as
 * in `caddy adapt`; the numeric conversion itself is left to strtod/strtoll. */
#include "goval.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "goconv.h"

bool cc_go_atoi(const char *s, int64_t *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return false;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || *end)
        return false;
    *out = v;
    return true;
}

const char *cc_go_atoi_err(cc_arena *a, const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    bool digits = *p != '\0';
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            digits = false;
    return cc_arena_printf(a, "strconv.Atoi: parsing \"%s\": %s", s,
                           digits ? "value out of range" : "invalid syntax");
}

/* Length of the common prefix of s and lower-case word, ignoring case. */
static size_t prefix_len_fold(const char *s, const char *word)
{
    size_t n = 0;
    while (s[n] && word[n] && tolower((unsigned char)s[n]) == word[n])
        n++;
    return n;
}

/* Go's special(): [+-]inf, [+-]infinity, nan (no sign) over the whole string. */
static bool special_float(const char *s, double *out)
{
    const char *p = s;
    double sign = 1;
    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    } else if (tolower((unsigned char)*p) == 'n') {
        if (prefix_len_fold(p, "nan") == 3 && p[3] == '\0') {
            *out = NAN;
            return true;
        }
        return false;
    }
    size_t n = prefix_len_fold(p, "infinity");
    if (n > 3 && n < 8)
        n = 3;
    if ((n == 3 || n == 8) && p[n] == '\0') {
        *out = sign * INFINITY;
        return true;
    }
    return false;
}

/* Go's underscoreOK: underscores only between digits or after a base prefix. */
static bool underscore_ok(const char *s, size_t n)
{
    char saw = '^';
    size_t i = 0;
    if (n >= 1 && (s[0] == '-' || s[0] == '+'))
        i = 1;
    bool hex = false;
    if (n - i >= 2 && s[i] == '0' &&
        (tolower((unsigned char)s[i + 1]) == 'b' || tolower((unsigned char)s[i + 1]) == 'o' ||
         tolower((unsigned char)s[i + 1]) == 'x')) {
        hex = tolower((unsigned char)s[i + 1]) == 'x';
        i += 2;
        saw = '0';
    }
    for (; i < n; i++) {
        int c = (unsigned char)s[i];
        if (isdigit(c) || (hex && isxdigit(c))) {
            saw = '0';
            continue;
        }
        if (c == '_') {
            if (saw != '0')
                return false;
            saw = '_';
            continue;
        }
        if (saw == '_')
            return false;
        saw = '!';
    }
    return saw != '_';
}

bool cc_go_parse_float(const char *s, double *out)
{
    if (!*s)
        return false;
    if (special_float(s, out))
        return true;
    size_t n = strlen(s), i = 0;
    if (s[i] == '+' || s[i] == '-')
        i++;
    bool hex = false;
    if (i + 2 < n && s[i] == '0' && tolower((unsigned char)s[i + 1]) == 'x') {
        hex = true;
        i += 2;
    }
    bool underscores = false, sawdot = false, sawdigits = false;
    for (; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '_') {
            underscores = true;
        } else if (c == '.') {
            if (sawdot)
                break;
            sawdot = true;
        } else if (isdigit(c) || (hex && isxdigit(c))) {
            sawdigits = true;
        } else {
            break;
        }
    }
    if (!sawdigits)
        return false;
    if (i < n && tolower((unsigned char)s[i]) == (hex ? 'p' : 'e')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !isdigit((unsigned char)s[i]))
            return false;
        for (; i < n && (isdigit((unsigned char)s[i]) || s[i] == '_'); i++)
            if (s[i] == '_')
                underscores = true;
    } else if (hex) {
        return false; /* a hex mantissa needs a p exponent */
    }
    if (i != n || (underscores && !underscore_ok(s, i)))
        return false;
    double v;
    if (!underscores) {
        v = strtod(s, NULL);
    } else {
        char buf[512], *w = buf;
        if (n >= sizeof(buf))
            return false; /* absurdly long literal with separators: treated as text */
        for (size_t k = 0; k < n; k++)
            if (s[k] != '_')
                *w++ = s[k];
        *w = '\0';
        v = strtod(buf, NULL);
    }
    if (isinf(v))
        return false; /* Go reports ErrRange beyond the largest float64 */
    *out = v;
    return true;
}

bool cc_go_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

cc_cfg *cc_go_scalar(cc_arena *a, const cc_token *t)
{
    if (t->quote || strlen(t->text) != t->len)
        return cc_cfg_strn(a, t->text, t->len);
    int64_t i;
    if (cc_go_atoi(t->text, &i))
        return cc_cfg_int(a, i);
    double d;
    /* Go would fail to marshal NaN and infinities; keeping the text is the useful
     * reading of such a value. */
    if (cc_go_parse_float(t->text, &d) && isfinite(d)) {
        /* Go writes an integral float64 below 1e21 without a fraction or exponent
         * ("1e3" -> 1000); an integer node gives that same text */
        if (d == trunc(d) && fabs(d) < 9.2e18)
            return cc_cfg_int(a, (int64_t)d);
        return cc_cfg_num(a, d);
    }
    bool b;
    if (cc_go_parse_bool(t->text, &b))
        return cc_cfg_bool(a, b);
    return cc_cfg_strn(a, t->text, t->len);
}

cc_cfg *cc_go_weak_string(cc_arena *a, const char *s)
{
    if (strcmp(s, "true") == 0)
        return cc_cfg_bool(a, true);
    if (strcmp(s, "false") == 0)
        return cc_cfg_bool(a, false);
    int64_t i;
    if (cc_go_atoi(s, &i))
        return cc_cfg_int(a, i);
    return cc_cfg_str(a, s);
}

int cc_go_text_status_args(cc_disp *d, const char **text, const char **status)
{
    size_t n;
    const char **args = cc_disp_remaining_args(d, &n);
    int64_t num;
    *text = *status = "";
    switch (n) {
    case 1:
        if (strlen(args[0]) == 3 && cc_go_atoi(args[0], &num) && num > 0)
            *status = args[0];
        else
            *text = args[0];
        return CC_OK;
    case 2:
        *text = args[0];
        *status = args[1];
        return CC_OK;
    default:
        return cc_disp_arg_err(d);
    }
}
