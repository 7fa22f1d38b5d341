/* SPDX-License-Identifier: Apache-2.0
 * Keys, PEM text and certificate fields on wolfCrypt, shared by certmagic's internal CA,
 * its manager and the ACME client. The key type is opaque so that users need no wolfSSL
 * header; cc_key_wc gives the wolfCrypt key to code that signs with it directly. */
#ifndef CC_CERTMAGIC_CRYPTO_H
#define CC_CERTMAGIC_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "../core/err.h"

typedef enum {
    CC_KEY_P256,
    CC_KEY_P384,
    CC_KEY_RSA2048,
    CC_KEY_RSA4096,
    CC_KEY_ED25519,
} cc_key_type;

typedef struct cc_key cc_key;

/** Caddy's key_type names ("p256", "p384", "rsa2048", "rsa4096", "ed25519"); NULL or ""
 * is the default, P-256. CC_ERR with err for anything else. */
int cc_key_type_parse(const char *name, cc_key_type *t, cc_err *err);
const char *cc_key_type_name(cc_key_type t);
/** The version of the TLS library this build links ("5.5.4"), for error messages. */
const char *cc_crypto_lib_version(void);

/** A new private key of type t, or NULL with err set. */
cc_key *cc_key_generate(cc_key_type t, cc_err *err);
/** Parses a PEM private key ("EC PRIVATE KEY", "RSA PRIVATE KEY" or PKCS#8 "PRIVATE
 * KEY"); NULL with err set when it is none of them. */
cc_key *cc_key_from_pem(const char *pem, size_t n, cc_err *err);
/** The key as PEM (SEC1 for EC keys, as Caddy writes them; PKCS#1 for RSA; PKCS#8 for
 * Ed25519): malloc'd, NUL-terminated, *len (if not NULL) its length. NULL on failure. */
char *cc_key_to_pem(const cc_key *k, size_t *len);
cc_key_type cc_key_get_type(const cc_key *k);
/** wolfCrypt's view: the key type constant (ECC_TYPE, RSA_TYPE, ED25519_TYPE), the key
 * object (ecc_key *, RsaKey *, ed25519_key *) and the certificate signature type
 * (CTC_SHA256wECDSA, CTC_SHA384wECDSA, CTC_SHA256wRSA, CTC_ED25519). */
int cc_key_wc_type(const cc_key *k);
void *cc_key_wc(cc_key *k);
int cc_key_wc_sigtype(const cc_key *k);
void cc_key_free(cc_key *k);

/** PEM block of der with the given label ("CERTIFICATE"...), malloc'd. */
char *cc_pem_encode(const unsigned char *der, size_t n, const char *label, size_t *len);

/** The DER certificates of a PEM bundle, in order. *ders is a malloc'd array of
 * malloc'd buffers (free with cc_der_list_free). CC_ERR when there is none or one is
 * malformed. */
typedef struct cc_der {
    unsigned char *p;
    size_t n;
} cc_der;
int cc_pem_certs(const char *pem, size_t n, cc_der **ders, size_t *count, cc_err *err);
void cc_der_list_free(cc_der *ders, size_t count);

/** The validity period of a DER certificate (unix seconds). */
int cc_cert_validity(const unsigned char *der, size_t n, time_t *not_before, time_t *not_after,
                     cc_err *err);

/** A DER-encoded X.509 time (UTCTime until 2049, GeneralizedTime after, RFC 5280) into
 * out (>= 18 bytes); returns its size. */
int cc_x509_time(unsigned char *out, time_t t);

/** Frees wolfCrypt's per-thread ECC cache (FP_ECC); every thread that used ECC keys
 * calls it before it exits, or the cache leaks. */
void cc_crypto_thread_done(void);

/** SHA-256 hex fingerprint of a DER buffer into out (65 bytes). */
void cc_sha256_hex(const unsigned char *der, size_t n, char out[65]);

#endif
