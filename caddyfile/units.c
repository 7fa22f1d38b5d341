/* SPDX-License-Identifier: Apache-2.0
 * Duration and byte-size parsing for Caddyfile values. Durations follow Go's
 * time.ParseDuration (which Caddy uses) plus Caddy's `d` unit for days; sizes follow
 * go-humanize's ParseBytes, which Caddy uses for options such as max_header_size. */
#include "units.h"

#include <ctype.h>
#include <stdio.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DUR_LIMIT ((uint64_t)1 << 63)

static uint64_t unit_ns(const char *u, size_t n)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1ULL},
        {"us", 1000ULL},
        {"\xC2\xB5s", 1000ULL}, /* U+00B5 micro sign */
        {"\xCE\xBCs", 1000ULL}, /* U+03BC Greek mu */
        {"ms", 1000000ULL},
        {"s", 1000000000ULL},
        {"m", 60ULL * 1000000000ULL},
        {"h", 3600ULL * 1000000000ULL},
        {"d", 24ULL * 3600ULL * 1000000000ULL},
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0)
            return units[i].ns;
    return 0;
}

static int fail(char *msg, size_t msgn, const char *fmt, const char *a, const char *b)
{
    if (msg && msgn)
        snprintf(msg, msgn, fmt, a, b);
    return -1;
}

int cc_cf_parse_duration(const char *s, int64_t *ns)
{
    return cc_cf_parse_duration_msg(s, ns, NULL, 0);
}

int cc_cf_parse_duration_msg(const char *s, int64_t *ns, char *msg, size_t msgn)
{
    const char *orig = s;
    if (!s)
        s = orig = "";
    if (strlen(s) > 1024)
        return fail(msg, msgn, "parsing duration: input string too long%s%s", "", "");
    bool neg = false;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return 0;
    }
    if (*s == '\0')
        return fail(msg, msgn, "time: invalid duration \"%s\"%s", orig, "");
    uint64_t total = 0;
    while (*s) {
        if (!(*s == '.' || isdigit((unsigned char)*s)))
            return fail(msg, msgn, "time: invalid duration \"%s\"%s", orig, "");
        uint64_t v = 0;
        bool pre = false, post = false;
        while (isdigit((unsigned char)*s)) {
            if (v > DUR_LIMIT / 10)
                return fail(msg, msgn, "time: invalid duration \"%s\"%s", orig, "");
            v = v * 10 + (uint64_t)(*s - '0');
            if (v > DUR_LIMIT)
                return fail(msg, msgn, "time: invalid duration \"%s\"%s", orig, "");
            s++;
            pre = true;
        }
        uint64_t frac = 0;
        double scale = 1;
        if (*s == '.') {
            s++;
            bool overflow = false;
            while (isdigit((unsigned char)*s)) {
                post = true;
                if (!overflow) {
                    if (frac > (DUR_LIMIT - 1) / 10) {
                        overflow = true;
                    } else {
                        uint64_t y = frac * 10 + (uint64_t)(*s - '0');
                        if (y > DUR_LIMIT) {
                            overflow = true;
                        } else {
                            frac = y;
                            scale *= 10;
                        }
                    }
                }
                s++;
            }
        }
        if (!pre && !post)
            return fail(msg, msgn, "time: invalid duration \"%s\"%s", orig, "");
        const char *u = s;
        while (*s && *s != '.' && !isdigit((unsigned char)*s))
            s++;
        if (s == u)
            return fail(msg, msgn, "time: missing unit in duration \"%s\"%s", orig, "");
        uint64_t unit = unit_ns(u, (size_t)(s - u));
        if (!unit) {
            char ub[64];
            snprintf(ub, sizeof(ub), "%.*s", (int)(s - u), u);
            if (msg && msgn)
                snprintf(msg, msgn, "time: unknown unit \"%s\" in duration \"%s\"", ub, orig);
            return -1;
        }
        if (v > DUR_LIMIT / unit)
            return fail(msg, msgn, "time: invalid duration \"%s\"%s", orig, "");
        v *= unit;
        if (frac > 0) {
            v += (uint64_t)((double)frac * ((double)unit / scale));
            if (v > DUR_LIMIT)
                return fail(msg, msgn, "time: invalid duration \"%s\"%s", orig, "");
        }
        total += v;
        if (total > DUR_LIMIT)
            return fail(msg, msgn, "time: invalid duration \"%s\"%s", orig, "");
    }
    if (neg) {
        *ns = total == DUR_LIMIT ? INT64_MIN : -(int64_t)total;
        return 0;
    }
    if (total > DUR_LIMIT - 1)
        return fail(msg, msgn, "time: invalid duration \"%s\"%s", orig, "");
    *ns = (int64_t)total;
    return 0;
}

int cc_cf_parse_size(const char *s, int64_t *bytes)
{
    return cc_cf_parse_size_msg(s, bytes, NULL, 0);
}

int cc_cf_parse_size_msg(const char *s, int64_t *bytes, char *msg, size_t msgn)
{
    static const struct {
        const char *name;
        double mult;
    } units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1e3},
        {"kb", 1e3},
        {"ki", 1024.0},
        {"kib", 1024.0},
        {"m", 1e6},
        {"mb", 1e6},
        {"mi", 1048576.0},
        {"mib", 1048576.0},
        {"g", 1e9},
        {"gb", 1e9},
        {"gi", 1073741824.0},
        {"gib", 1073741824.0},
        {"t", 1e12},
        {"tb", 1e12},
        {"ti", 1099511627776.0},
        {"tib", 1099511627776.0},
        {"p", 1e15},
        {"pb", 1e15},
        {"pi", 1125899906842624.0},
        {"pib", 1125899906842624.0},
        {"e", 1e18},
        {"eb", 1e18},
        {"ei", 1152921504606846976.0},
        {"eib", 1152921504606846976.0},
    };
    if (!s)
        s = "";
    /* the number: digits, dots and thousands commas (dropped) */
    char num[64];
    size_t nn = 0;
    const char *p = s;
    for (; isdigit((unsigned char)*p) || *p == '.' || *p == ','; p++) {
        if (*p == ',')
            continue;
        if (nn + 1 >= sizeof(num))
            return fail(msg, msgn, "strconv.ParseFloat: parsing \"%.40s\": value out of range%s", s,
                        "");
        num[nn++] = *p;
    }
    num[nn] = '\0';
    if (nn == 0 || strcmp(num, ".") == 0 ||
        strchr(strchr(num, '.') ? strchr(num, '.') + 1 : "", '.'))
        return -1;
    char *end;
    double f = strtod(num, &end);
    if (*end)
        return fail(msg, msgn, "strconv.ParseFloat: parsing \"%s\": invalid syntax%s", num, "");
    /* the unit, trimmed and case-insensitive */
    while (isspace((unsigned char)*p))
        p++;
    size_t ul = strlen(p);
    while (ul > 0 && isspace((unsigned char)p[ul - 1]))
        ul--;
    char unit[8];
    if (ul > 3) {
        if (msg && msgn)
            snprintf(msg, msgn, "unhandled size name: %.*s", (int)(ul > 64 ? 64 : ul), p);
        return -1;
    }
    for (size_t i = 0; i < ul; i++)
        unit[i] = (char)tolower((unsigned char)p[i]);
    unit[ul] = '\0';
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strlen(units[i].name) == ul && strncasecmp(units[i].name, p, ul) == 0) {
            f *= units[i].mult;
            if (!isfinite(f) || f >= 9223372036854775808.0)
                return fail(msg, msgn, "too large: %s%s", s, "");
            *bytes = (int64_t)f;
            return 0;
        }
    }
    return fail(msg, msgn, "unhandled size name: %s%s", unit, "");
}
