/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for caddyfile/units.c: Caddy-compatible durations (Go syntax plus `d`)
 * and humanize-style byte sizes, including the error texts. */
#include "../../caddyfile/units.h"
#include "../t.h"

#include <stdint.h>

#define SEC 1000000000LL

static void dur_ok(const char *s, long long want)
{
    int64_t ns = -12345;
    int rc = cc_cf_parse_duration(s, &ns);
    T_OK(rc == 0 && ns == want, "duration \"%s\": rc %d, got %lld, want %lld", s, rc, (long long)ns,
         want);
}

static void dur_bad(const char *s)
{
    int64_t ns = 0;
    T_OK(cc_cf_parse_duration(s, &ns) == -1, "duration \"%s\" should fail", s);
}

static void size_ok(const char *s, long long want)
{
    int64_t n = -1;
    int rc = cc_cf_parse_size(s, &n);
    T_OK(rc == 0 && n == want, "size \"%s\": rc %d, got %lld, want %lld", s, rc, (long long)n,
         want);
}

static void size_bad(const char *s)
{
    int64_t n = 0;
    T_OK(cc_cf_parse_size(s, &n) == -1, "size \"%s\" should fail", s);
}

int main(void)
{
    /* durations */
    dur_ok("0", 0);
    dur_ok("1s", SEC);
    dur_ok("1m30s", 90 * SEC);
    dur_ok("1.5h", 5400 * SEC);
    dur_ok("300ms", 300000000LL);
    dur_ok("10us", 10000);
    dur_ok("10\xC2\xB5s", 10000);
    dur_ok("7ns", 7);
    dur_ok("1d", 86400 * SEC);
    dur_ok("1.5d", 129600 * SEC);
    dur_ok("2d12h", 216000 * SEC);
    dur_ok("-5s", -5 * SEC);
    dur_ok("+5s", 5 * SEC);
    dur_ok(".5s", 500000000LL);
    dur_ok("1.s", SEC);
    dur_ok("2562047h", 2562047LL * 3600 * SEC);
    dur_bad("");
    dur_bad("1");
    dur_bad("abc");
    dur_bad("5x");
    dur_bad("1h-2m");
    dur_bad(".s");
    dur_bad("-");
    dur_bad("9999999999h");
    dur_bad("1 s");

    char msg[256];
    int64_t ns;
    T_INT(cc_cf_parse_duration_msg("5x", &ns, msg, sizeof(msg)), -1);
    T_STR(msg, "time: unknown unit \"x\" in duration \"5x\"");
    T_INT(cc_cf_parse_duration_msg("10", &ns, msg, sizeof(msg)), -1);
    T_STR(msg, "time: missing unit in duration \"10\"");
    T_INT(cc_cf_parse_duration_msg("abc", &ns, msg, sizeof(msg)), -1);
    T_STR(msg, "time: invalid duration \"abc\"");

    /* sizes */
    size_ok("512", 512);
    size_ok("0", 0);
    size_ok("10MB", 10000000);
    size_ok("10mb", 10000000);
    size_ok("1MiB", 1048576);
    size_ok("1KiB", 1024);
    size_ok("1kb", 1000);
    size_ok("5k", 5000);
    size_ok("1.5 KiB", 1536);
    size_ok("1,024", 1024);
    size_ok("100 B", 100);
    size_ok("2GiB", 2147483648LL);
    size_ok("1Ti", 1099511627776LL);
    size_ok("3 eb", 3000000000000000000LL);
    size_bad("");
    size_bad("MB");
    size_bad("10 qb");
    size_bad("1.2.3");
    size_bad("-5");
    size_bad("20EiB");
    T_INT(cc_cf_parse_size_msg("10 qb", &ns, msg, sizeof(msg)), -1);
    T_STR(msg, "unhandled size name: qb");
    return t_done();
}
