/* SPDX-License-Identifier: Apache-2.0
 * The ACME client (RFC 8555) that certmagic's manager runs on its own thread: libcurl
 * for HTTP, jansson for JSON, wolfSSL for keys, JWS, CSRs and the tls-alpn-01
 * certificate. cc_acme_obtain blocks (it is never called on a worker): account (created
 * once, stored and reused), order, authorizations (http-01 or tls-alpn-01, published
 * through certmagic/challenge.c for the engine to answer), finalize, download. */
#ifndef CC_CERTMAGIC_ACME_H
#define CC_CERTMAGIC_ACME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "../core/err.h"

struct cc_storage;

typedef struct cc_acme_cfg {
    const char *directory;                /* CA directory URL (default Let's Encrypt production) */
    const char *ca_root;                  /* PEM file to trust for the CA's HTTPS; NULL = system */
    const char *email;                    /* account contact, NULL = none */
    const char *eab_key_id, *eab_mac_key; /* external account binding, NULL = none */
    const char *key_type; /* certificate key: "p256" (default), "p384", "rsa2048" ... */
    bool disable_http01, disable_tlsalpn01;
    struct cc_storage *storage; /* accounts live here (certmagic key layout) */
    const atomic_bool *cancel;  /* set to abandon (manager stopping) */
} cc_acme_cfg;

/** Obtains one certificate for names (DNS names or IPs). On success *chain_pem (leaf
 * first) and *key_pem are malloc'd PEM text (free them). On failure CC_ERR with err
 * holding one clear line (the CA's problem document: type, detail, and for a failed
 * challenge the identifier and the validation error). Blocking. */
int cc_acme_obtain(const cc_acme_cfg *cfg, const char *const *names, size_t nnames,
                   char **chain_pem, char **key_pem, cc_err *err);

/** ACME Renewal Information (draft-ietf-acme-ari): when the CA offers it, the suggested
 * renewal window start for a certificate (PEM leaf) in *start (unix seconds); CC_OK, or
 * CC_ERR when the CA has no renewalInfo or the request failed (then renew by lifetime). */
int cc_acme_renewal_info(const cc_acme_cfg *cfg, const char *cert_pem, long long *start,
                         cc_err *err);

#endif
