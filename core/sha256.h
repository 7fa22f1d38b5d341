/* SPDX-License-Identifier: Apache-2.0
 * SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) in plain C for the few places outside
 * the TLS layer that need a keyed digest, such as reverse_proxy's sticky-session cookie
 * (HMAC-SHA256(secret, dial) in hex, as Caddy's cookie policy). wolfSSL is the project's
 * crypto library, but handlers/ must not depend on it, and these values are not secrets
 * worth a constant-time library, so a small tested implementation in core/ is used. */
#ifndef CC_SHA256_H
#define CC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define CC_SHA256_LEN 32

typedef struct cc_sha256_ctx {
    uint32_t h[8];
    uint64_t len; /* bytes hashed so far */
    unsigned char buf[64];
    size_t nbuf;
} cc_sha256_ctx;

void cc_sha256_init(cc_sha256_ctx *c);
void cc_sha256_update(cc_sha256_ctx *c, const void *data, size_t n);
void cc_sha256_final(cc_sha256_ctx *c, unsigned char out[CC_SHA256_LEN]);
/** One-shot digest of data[0..n). */
void cc_sha256(const void *data, size_t n, unsigned char out[CC_SHA256_LEN]);
/** HMAC-SHA256(key, msg). */
void cc_hmac_sha256(const void *key, size_t keyn, const void *msg, size_t msgn,
                    unsigned char out[CC_SHA256_LEN]);
/** Lower-case hex of in[0..n) into out (2n+1 bytes, NUL-terminated). */
void cc_hex_encode(const unsigned char *in, size_t n, char *out);

#endif
