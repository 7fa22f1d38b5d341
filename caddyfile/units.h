/* SPDX-License-Identifier: Apache-2.0
 * Value parsers shared by global options and directive parsers: durations with Caddy's
 * caddy.ParseDuration semantics (Go durations plus a `d` day unit) and byte sizes the way
 * humanize.ParseBytes reads them (10MB, 1MiB, 512, 1.5 GB). */
#ifndef CC_CF_UNITS_H
#define CC_CF_UNITS_H

#include <stddef.h>
#include <stdint.h>

/** Parses a duration such as "1m30s", "1.5h", "2d", "-5s" or "0" into nanoseconds.
 * Returns 0, or -1 when s is not a valid duration (or overflows). */
int cc_cf_parse_duration(const char *s, int64_t *ns);

/** Parses a size such as "512", "10MB", "1MiB", "1.5 kb" or "1,024" into bytes (SI
 * units are powers of 1000, IEC units of 1024; case-insensitive). Returns 0 or -1. */
int cc_cf_parse_size(const char *s, int64_t *bytes);

/* The same, also writing Go's error text (e.g. `time: unknown unit "x" in duration
 * "5x"`, `unhandled size name: qb`) into msg[0..msgn) on failure; msg may be NULL. */
int cc_cf_parse_duration_msg(const char *s, int64_t *ns, char *msg, size_t msgn);
int cc_cf_parse_size_msg(const char *s, int64_t *bytes, char *msg, size_t msgn);

#endif
