/* SPDX-License-Identifier: Apache-2.0
 * Small parsing helpers shared by the global options, the tls/log/bind directives and
 * the TLS app builder: Go-compatible number parsing, Caddy's "module not registered"
 * error, scalar values, and the log block parser used by both `log` forms. Private to
 * caddyfile/. */
#ifndef CC_CF_OPTUTIL_H
#define CC_CF_OPTUTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "adapt_internal.h"

/** Go strconv.Atoi: optional sign and decimal digits that fit in int64. 0 or -1. */
int cc_cf_opt_atoi(const char *s, int64_t *out);
/** Go strconv.ParseFloat (64-bit) closely enough for config values. 0 or -1. */
int cc_cf_opt_atof(const char *s, double *out);
/** Caddy's UnmarshalModule failure for a module this build does not have; CC_ERR. */
int cc_cf_unknown_module(cc_disp *d, const char *id);
/** The current token as Caddy's ScalarVal: quoted text stays a string, else an int,
 * a float or a bool when it parses as one. */
cc_cfg *cc_cf_scalar(cc_arena *a, const cc_token *t);
/** Exactly one more argument on the line (Caddy's AllArgs with one target). */
bool cc_cf_one_arg(cc_disp *d, const char **out);
/** Parses the duration in the current token; on failure reports "<what>: <go error>"
 * (or just the Go error when what is NULL) at the token. */
int cc_cf_dur_tok(cc_disp *d, const char *what, int64_t *ns);
/** The error text Go's strconv.Atoi gives for s. */
const char *cc_cf_opt_atoi_errmsg(cc_arena *a, const char *s);

/* A parsed `log` block (the site directive or the global option). */
typedef struct cc_cf_log {
    const char *name;  /* explicit name, "default" for an unnamed global log, or NULL */
    cc_cfg *hostnames; /* ARR of STR */
    bool no_hostname;
    cc_cfg *log; /* logger object (Caddy's CustomLog JSON), NULL when nothing was set */
} cc_cf_log;

/** Parses `log [name] { ... }` from d (cursor before the directive name). global
 * selects the global-option rules (hostnames refused; include/exclude allowed), and
 * then a name already in used (an OBJ keyed by logger name, may be NULL) is an error. */
int cc_cf_log_parse(cc_disp *d, cc_arena *a, bool global, const cc_cfg *used, cc_cf_log *out);

/* Certificate issuers (issuers.c). */
/** Parses an issuer module (acme, zerossl, internal) into its JSON object; d's cursor is
 * on the module name, and its segment is consumed. */
int cc_cf_issuer_parse(cc_disp *d, cc_arena *a, cc_cfg **out);
/** Parses `preferred_chains [smallest] { root_common_name ...; any_common_name ... }`
 * with the cursor on the option/subdirective name. */
int cc_cf_preferred_chains_parse(cc_disp *d, cc_arena *a, cc_cfg **out);
/** Caddy's mergeACMEIssuers: a copy of base (an acme issuer object, or NULL) with the
 * non-empty settings of overrides applied. */
cc_cfg *cc_cf_acme_merge(cc_arena *a, const cc_cfg *base, const cc_cfg *overrides);
/** caddytls.DefaultIssuers(email) as JSON objects: Let's Encrypt, plus ZeroSSL's ACME
 * endpoint when an email is given. */
cc_cfg *cc_cf_default_issuers(cc_arena *a, const char *email);
/** True when the issuer object embeds an ACME issuer (module "acme"). */
bool cc_cf_issuer_is_acme(const cc_cfg *iss);

#endif
