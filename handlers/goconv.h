/* SPDX-License-Identifier: Apache-2.0
 * Number parsing with the acceptance rules and error texts of Go's strconv, which
 * Caddy's directive parsers use: a value Caddy accepts must be accepted here, and a
 * rejected one gets the message a Caddy user would see. Used by handlers/ parsers. */
#ifndef CC_HANDLERS_GOCONV_H
#define CC_HANDLERS_GOCONV_H

#include <stdint.h>

/** strconv.Atoi: optional sign, then decimal digits only. Returns NULL on success, else
 * "invalid syntax" or "value out of range" (the tail of Go's error message); on a range
 * error *out is clamped, as Go does. */
const char *cc_goconv_atoi(const char *s, int64_t *out);
/** strconv.ParseFloat(s, 64) for finite decimal and hex floats; same return. */
const char *cc_goconv_parse_float(const char *s, double *out);

#endif
