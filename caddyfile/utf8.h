/* SPDX-License-Identifier: Apache-2.0
 * UTF-8 runes and white space as Go sees them (caddyfile/ internal). */
#ifndef CC_CF_UTF8_H
#define CC_CF_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Decodes the rune at s[0..n) like Go's utf8.DecodeRune: returns it and its width, or
 * -1 with *width = 1 for an invalid, overlong or truncated sequence or a surrogate. */
int32_t cc_cf_utf8_decode(const unsigned char *s, size_t n, size_t *width);
/** Go's unicode.IsSpace. */
bool cc_cf_is_space(int32_t r);

#endif
