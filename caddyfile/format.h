/* SPDX-License-Identifier: Apache-2.0
 * Caddyfile formatter (`caddy-c fmt`), with Caddy's rules: tab indentation, one space
 * between tokens, "{" at the end of the opening line, "}" on its own line, comments,
 * quotes and heredocs kept verbatim. */
#ifndef CC_CF_FORMAT_H
#define CC_CF_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

/** Formats src[0..len). Returns a malloc'd NUL-terminated string (length in *out_len if
 * not NULL). Never fails on any input. */
char *cc_cf_format(const char *src, size_t len, size_t *out_len);

/** Caddy's lint check: true when src (with CRLF read as LF) differs from its formatted
 * form. *line (if not NULL) gets the 1-based line of the first difference. */
bool cc_cf_format_differs(const char *src, size_t len, int *line);

#endif
