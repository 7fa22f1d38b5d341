/* SPDX-License-Identifier: Apache-2.0
 * State shared by the files of cc_autohttps_apply (autohttps.c: servers, redirects and
 * policies; autohttps_plan.c: the TLS and PKI apps). */
#ifndef CC_CERTMAGIC_AUTOHTTPS_PRIV_H
#define CC_CERTMAGIC_AUTOHTTPS_PRIV_H

#include "autohttps.h"

typedef struct ah_state {
    CC_VEC(const char *) cert_names; /* uniqueDomainsForCerts, in discovery order */
    CC_VEC(cc_ah_loaded) loaded;
} ah_state;

/** Adds name to the managed set (once). */
void ah_add_cert_name(cc_arena *a, ah_state *st, const char *name);
/** A Caddy duration: integer nanoseconds or a string such as "1h30m" / "2d". */
int ah_duration(const cc_cfg *v, int64_t *ns, cc_err *err);
int ah_parse_policy(cc_arena *a, const cc_cfg *pv, cc_ah_policy *out, cc_err *err);
/** apps.tls.certificates: load_files / load_pem read and parsed, automate names added. */
int ah_load_certs(cc_arena *a, ah_state *st, const cc_cfg *tls, cc_err *err);
int ah_load_cas(cc_arena *a, cc_autohttps *plan, const cc_cfg *pki, cc_err *err);

#endif
