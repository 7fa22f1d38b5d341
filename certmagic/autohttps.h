/* SPDX-License-Identifier: Apache-2.0
 * The plan cc_autohttps_apply hands to the manager (certmagic.h keeps it opaque): the
 * names to manage and the automation policy (issuers, key type, renewal ratio) of each,
 * the certificates loaded from files or PEM text, the internal CAs' settings and the
 * global knobs. Everything is owned by the arena the plan was made in. */
#ifndef CC_CERTMAGIC_AUTOHTTPS_H
#define CC_CERTMAGIC_AUTOHTTPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ca.h"
#include "certmagic.h"

#define CC_AH_LE_PROD "https://acme-v02.api.letsencrypt.org/directory"
#define CC_AH_ZEROSSL "https://acme.zerossl.com/v2/DV90"

typedef enum { CC_ISS_ACME, CC_ISS_INTERNAL } cc_ah_iss_kind;

typedef struct cc_ah_issuer {
    cc_ah_iss_kind kind;
    /* internal */
    const char *ca;   /* CA id ("local") */
    int64_t lifetime; /* seconds, 0 = 12 hours */
    bool sign_with_root;
    /* acme */
    const char *directory; /* never NULL */
    const char *email, *eab_key_id, *eab_mac_key, *ca_root;
    bool disable_http01, disable_tlsalpn01;
} cc_ah_issuer;

typedef struct cc_ah_policy {
    const char **subjects; /* none: the policy applies to every name */
    size_t nsubjects;
    cc_ah_issuer *issuers; /* tried in order */
    size_t nissuers;
    const char *key_type; /* NULL = p256 */
    double renewal_ratio; /* remaining/lifetime at which to renew; 1/3 by default */
} cc_ah_policy;

typedef struct cc_ah_loaded {
    const char *chain_pem, *key_pem;
    const char *origin; /* the file, or "load_pem" */
    const char **names; /* the names the certificate serves */
    size_t nnames;
} cc_ah_loaded;

typedef struct cc_ah_name {
    const char *name;
    size_t policy; /* index into policies */
} cc_ah_name;

struct cc_autohttps {
    cc_ah_name *names; /* the names whose certificates are managed, in config order */
    size_t nnames;
    cc_ah_policy *policies;
    size_t npolicies;
    cc_ah_loaded *loaded;
    size_t nloaded;
    cc_ca_cfg *cas; /* the pki app's CAs (the internal issuer's "local" is implicit) */
    size_t ncas;
    const char *default_sni;
    int64_t renew_interval; /* seconds between maintenance checks (10 min) */
    int http_port, https_port;
    bool install_trust; /* the local CA's install_trust (informational: see cmd_trust) */
};

/** certmagic's name rules (caddy-reference.md 5). */
bool cc_ah_qualifies_for_cert(const char *s);
bool cc_ah_qualifies_for_public_cert(const char *s);
bool cc_ah_is_internal(const char *s);
bool cc_ah_is_ip(const char *s);
/** certmagic.MatchWildcard: subject equals pattern, or one label of it replaced by '*'
 * gives pattern. Case-insensitive. */
bool cc_ah_match_wildcard(const char *subject, const char *pattern);

/** The policy for name (first policy listing it, else the first without subjects). */
const cc_ah_policy *cc_ah_policy_for(const cc_autohttps *p, const char *name);

/** A deep copy of p into arena a (the manager keeps one beyond the config's arena). */
cc_autohttps *cc_ah_clone(cc_arena *a, const cc_autohttps *p);

#endif
