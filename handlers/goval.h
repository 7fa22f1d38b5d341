/* SPDX-License-Identifier: Apache-2.0
 * Go value conventions that Caddy's Caddyfile parsers rely on: strconv.Atoi, ParseFloat
 * and ParseBool acceptance, the Dispenser's ScalarVal typing, and how a WeakString (a
 * status code that may be a placeholder) is written to JSON. Shared by handlers/. */
#ifndef CC_HANDLERS_GOVAL_H
#define CC_HANDLERS_GOVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../caddyfile/dispenser.h"
#include "../caddyfile/token.h"
#include "../core/cfg.h"

/** Go's strconv.Atoi: optional sign, then decimal digits only, within int64. */
bool cc_go_atoi(const char *s, int64_t *out);
/** The text of the error strconv.Atoi(s) returns (arena-owned), for messages that
 * quote it: `strconv.Atoi: parsing "x": invalid syntax` or `... value out of range`. */
const char *cc_go_atoi_err(cc_arena *a, const char *s);
/** Go's strconv.ParseFloat(s, 64): decimal or hex (with p exponent) literals, optional
 * underscores between digits, inf/infinity/nan. False on syntax or range errors. */
bool cc_go_parse_float(const char *s, double *out);
/** Go's strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False. */
bool cc_go_parse_bool(const char *s, bool *out);
/** A token typed like Caddy's Dispenser.ScalarVal: quoted -> string, else int, float,
 * bool, or string, in that order of preference. */
cc_cfg *cc_go_scalar(cc_arena *a, const cc_token *t);
/** A caddyhttp.WeakString marshalled as Caddy does: "true"/"false" as booleans, text
 * that Atoi accepts as an integer, anything else (e.g. a placeholder) as a string. */
cc_cfg *cc_go_weak_string(cc_arena *a, const char *s);

/** The "[<text>] [<status>]" arguments of respond and error (Caddy's shared rule): one
 * argument that is a positive 3-digit number is the status, otherwise the text; two are
 * text then status. Unset parts are "". CC_ERR (argument error set on d) for 0 or > 2. */
int cc_go_text_status_args(cc_disp *d, const char **text, const char **status);

#endif
