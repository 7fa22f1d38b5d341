/* SPDX-License-Identifier: Apache-2.0
 * The internal certificate authority (Caddy's PKI app, caddy-reference.md 6.7): a root
 * (about 10 years) and an intermediate (7 days, renewed when 20% of its lifetime is
 * left), both ECDSA P-256, kept in storage under pki/authorities/<id>/ so every restart
 * and every instance sharing the storage uses the same root; leaves (12 hours by
 * default) are signed by the intermediate for the internal issuer. */
#ifndef CC_CERTMAGIC_CA_H
#define CC_CERTMAGIC_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../core/err.h"
#include "crypto.h"

struct cc_storage;

#define CC_CA_DEFAULT_ID "local"
#define CC_CA_ROOT_LIFETIME ((int64_t)3600 * 24 * 3600) /* seconds: 3600 days, as Caddy */
#define CC_CA_INTER_LIFETIME ((int64_t)7 * 24 * 3600)
#define CC_CA_LEAF_LIFETIME ((int64_t)12 * 3600)

typedef struct cc_ca_cfg {
    const char *id;             /* NULL = "local" */
    const char *name;           /* NULL = "Caddy Local Authority" */
    const char *root_cn;        /* may use {pki.ca.name} and {time.now.year} */
    const char *inter_cn;       /* idem */
    int64_t inter_lifetime;     /* seconds, 0 = 7 days */
    double renewal_ratio;       /* of the intermediate's lifetime; 0 = 0.2 */
    const char *root_cert_file; /* configured root instead of a generated one */
    const char *root_key_file;
    const char *inter_cert_file; /* configured intermediate */
    const char *inter_key_file;
} cc_ca_cfg;

typedef struct cc_ca cc_ca;

/** Loads the CA from storage, generating and storing the root and the intermediate
 * when missing (and renewing an intermediate due for renewal). NULL with err set. */
cc_ca *cc_ca_open(struct cc_storage *st, const cc_ca_cfg *cfg, cc_err *err);
void cc_ca_free(cc_ca *ca);

/** Renews the intermediate when due (another instance may have renewed it in storage
 * already: that one is loaded instead). Returns 1 when the intermediate changed, 0 when
 * nothing was due, CC_ERR on failure. */
int cc_ca_maintain(cc_ca *ca, cc_err *err);
/** When the intermediate is due for renewal (unix seconds). */
time_t cc_ca_renew_at(const cc_ca *ca);

/** Signs a new leaf for names (DNS names, wildcards, IP addresses) with a new key of
 * type kt, valid for lifetime seconds (0 = 12 hours; clamped to the issuer's expiry).
 * *chain_pem is the leaf then the intermediate (just the leaf with sign_with_root);
 * both outputs malloc'd. */
int cc_ca_issue(cc_ca *ca, const char *const *names, size_t n, cc_key_type kt, int64_t lifetime,
                bool sign_with_root, char **chain_pem, char **key_pem, cc_err *err);

/** The root certificate, PEM (owned by ca). */
const char *cc_ca_root_pem(const cc_ca *ca);
const char *cc_ca_inter_pem(const cc_ca *ca);
const char *cc_ca_id(const cc_ca *ca);

#endif
