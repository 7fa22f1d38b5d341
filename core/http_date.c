/* SPDX-License-Identifier: Apache-2.0
 * HTTP dates: formatting IMF-fixdate (Date, Last-Modified) and parsing the three forms
 * Go's http.ParseTime accepts (conditional requests). Shared by file_server and the
 * engine's Date header. */
#include <string.h>
#include <time.h>

#include "http.h"

static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* n as exactly w decimal digits (the low ones) at p; returns the end. */
static char *put_digits(char *p, unsigned n, int w)
{
    for (int i = w - 1; i >= 0; i--) {
        p[i] = (char)('0' + n % 10u);
        n /= 10u;
    }
    return p + w;
}

static char *put3(char *p, const char *s)
{
    memcpy(p, s, 3);
    return p + 3;
}

/* Written out by hand: snprintf cost about 3% of a small static file's CPU. */
void cc_http_date(char out[32], time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    char *p = put3(out, wdays[(unsigned)tm.tm_wday % 7u]);
    *p++ = ',';
    *p++ = ' ';
    p = put_digits(p, (unsigned)tm.tm_mday, 2);
    *p++ = ' ';
    p = put3(p, months[(unsigned)tm.tm_mon % 12u]);
    *p++ = ' ';
    p = put_digits(p, (unsigned)(tm.tm_year + 1900) % 10000u, 4);
    *p++ = ' ';
    p = put_digits(p, (unsigned)tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)tm.tm_sec, 2);
    memcpy(p, " GMT", 5);
}

bool cc_http_parse_date(const char *s, time_t *out)
{
    /* http.ParseTime: IMF-fixdate, RFC 850, asctime */
    static const char *const fmts[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                       "%a %b %e %H:%M:%S %Y"};
    if (!s)
        return false;
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *end = strptime(s, fmts[i], &tm);
        if (end && *end == '\0') {
            *out = timegm(&tm);
            return true;
        }
    }
    return false;
}
