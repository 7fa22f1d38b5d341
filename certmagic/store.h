/* SPDX-License-Identifier: Apache-2.0
 * certmagic's storage layout (caddy-reference.md 6.1) for certificates: the "Safe" key
 * sanitiser, issuer keys derived from a CA URL, and a certificate resource kept as
 * certificates/<issuer>/<name>/<name>.crt (PEM chain), .key (PEM key) and .json
 * (metadata: sans, issuer_data), so that Caddy and caddy-c can share one storage. */
#ifndef CC_CERTMAGIC_STORE_H
#define CC_CERTMAGIC_STORE_H

#include <stddef.h>

#include "../core/err.h"

struct cc_storage;

/** certmagic's StorageKeys.Safe: lower-case, trimmed, ' '->'_', '+'->"_plus_",
 * '*'->"wildcard_", ':'->'-', ".." removed, then only [A-Za-z0-9_@.-] kept. malloc'd. */
char *cc_certstore_safe(const char *s);
/** The issuer key of an ACME CA directory URL: host, then "-" and the path with '/' as
 * '-' (https://acme-v02.api.letsencrypt.org/directory ->
 * "acme-v02.api.letsencrypt.org-directory"). malloc'd. */
char *cc_certstore_acme_issuer_key(const char *ca_url);
/** "certificates/<safe issuer>/<safe name>/<safe name><ext>" (ext ".crt", ".key",
 * ".json"), malloc'd. */
char *cc_certstore_key(const char *issuer_key, const char *name, const char *ext);

typedef struct cc_certres {
    char *chain; /* PEM, leaf first */
    size_t chain_len;
    char *key; /* PEM */
    size_t key_len;
    char *meta; /* the .json text, "" when missing */
    size_t meta_len;
} cc_certres;

/** Loads the resource for name under issuer_key: CC_ENOTFOUND when its .crt or .key is
 * missing, CC_ERR on a storage error. */
int cc_certres_load(struct cc_storage *st, const char *issuer_key, const char *name,
                    cc_certres *out, cc_err *err);
/** Stores chain and key, then the metadata (sans; issuer_data_json: a JSON value or NULL). */
int cc_certres_save(struct cc_storage *st, const char *issuer_key, const char *name,
                    const char *chain, const char *key, const char *const *sans, size_t nsans,
                    const char *issuer_data_json, cc_err *err);
void cc_certres_free(cc_certres *r);

#endif
