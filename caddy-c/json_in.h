/* SPDX-License-Identifier: Apache-2.0
 * JSON text -> configuration tree (core/cfg.h), for configs given as native JSON: a
 * .json file for `caddy-c run`, and bodies of admin POST /load and /config requests.
 * Parsing is jansson's; error texts follow Caddy's LoadConfig. */
#ifndef CC_JSON_IN_H
#define CC_JSON_IN_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/cfg.h"
#include "../core/err.h"

/** Parses src[0..len) as one JSON value into an arena-owned tree (*out). Errors read
 * "<what>: <jansson's message>, at offset N" (what = "config is not valid JSON" etc.,
 * chosen by the caller). */
int cc_json_parse(cc_arena *a, const char *src, size_t len, const char *what, cc_cfg **out,
                  cc_err *err);

/** Parses a whole configuration: like cc_json_parse, and the value must be an object or
 * null (null and empty input give NULL, Caddy's empty config). from_file picks Caddy's
 * message for a config file (with the --adapter hint) or for an admin request body. */
int cc_json_parse_config(cc_arena *a, const char *src, size_t len, bool from_file, cc_cfg **out,
                         cc_err *err);

/** Go's name for a JSON value's kind in unmarshal errors ("array", "string", ...). */
const char *cc_json_kind(const cc_cfg *v);

#endif
