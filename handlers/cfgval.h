/* SPDX-License-Identifier: Apache-2.0
 * Reading typed fields of a handler's JSON config with Go's json.Unmarshal errors at the
 * field's FILE:LINE: integers, caddy.Duration (nanoseconds or a duration string), bools
 * and non-empty strings. An absent (or null) field leaves *out unchanged. Shared by the
 * reverse_proxy pool and transport provisioning. */
#ifndef CC_HANDLERS_CFGVAL_H
#define CC_HANDLERS_CFGVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/cfg.h"
#include "../core/err.h"

/** Sets err at `at` (else at `fallback`) with fmt, whose one %s is what; CC_ERR. */
int cc_cfgv_bad(cc_err *err, const cc_cfg *at, const cc_cfg *fallback, const char *fmt,
                const char *what);
int cc_cfgv_int(const cc_cfg *obj, const char *key, int64_t *out, cc_err *err);
int cc_cfgv_dur(const cc_cfg *obj, const char *key, int64_t *out, cc_err *err);
int cc_cfgv_bool(const cc_cfg *obj, const char *key, bool *out, cc_err *err);
/** The string under key, NULL when absent or empty. */
const char *cc_cfgv_str(const cc_cfg *obj, const char *key);

#endif
