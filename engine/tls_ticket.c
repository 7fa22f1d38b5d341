/* SPDX-License-Identifier: Apache-2.0
 * Session-ticket encryption shared by every wolfSSL context of the process, so a ticket
 * issued under one certificate's context is readable after the SNI callback switched to
 * another (wolfSSL's default keys are per context). ChaCha20-Poly1305 under a key that
 * rotates every 12 hours; the previous key still decrypts (and asks for a fresh
 * ticket), so a ticket lives at most 24 hours. Nonces are a per-key random prefix and
 * a counter: unique without a syscall per handshake. A ticket is bound to the server
 * name it was issued under (it is part of the authenticated data), and never accepted
 * for a policy with client authentication: a resumption would skip the client's
 * certificate (the hole Caddy closes by turning tickets off there). */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "tls_conn.h"

#define ROTATE_SECS (12 * 3600)

typedef struct tkey {
    unsigned char name[WOLFSSL_TICKET_NAME_SZ];
    unsigned char key[CHACHA20_POLY1305_AEAD_KEYSIZE];
    unsigned char prefix[4];
    time_t created;
    bool set;
} tkey;

static pthread_rwlock_t mu = PTHREAD_RWLOCK_INITIALIZER;
static tkey cur, prev;
static atomic_uint_fast64_t counter;

static bool fill(void *p, size_t n)
{
    unsigned char *b = p;
    while (n > 0) {
        ssize_t r = getrandom(b, n, 0);
        if (r <= 0)
            return false;
        b += r;
        n -= (size_t)r;
    }
    return true;
}

static time_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Makes a new current key when there is none or it is due (caller holds nothing). */
static bool rotate_if_due(void)
{
    time_t now = now_s();
    pthread_rwlock_rdlock(&mu);
    bool due = !cur.set || now - cur.created >= ROTATE_SECS;
    pthread_rwlock_unlock(&mu);
    if (!due)
        return true;
    tkey k = {.created = now, .set = true};
    if (!fill(k.name, sizeof(k.name)) || !fill(k.key, sizeof(k.key)) ||
        !fill(k.prefix, sizeof(k.prefix)))
        return false;
    pthread_rwlock_wrlock(&mu);
    if (!cur.set || now - cur.created >= ROTATE_SECS) {
        prev = cur;
        cur = k;
    }
    pthread_rwlock_unlock(&mu);
    memset(&k, 0, sizeof(k));
    return true;
}

#define AAD_MAX (WOLFSSL_TICKET_NAME_SZ + WOLFSSL_TICKET_IV_SZ + 2 + 256)

/* AAD binds the key name, nonce, length and server name to the ciphertext. */
static word32 aad_of(unsigned char *aad, const unsigned char *name, const unsigned char *iv,
                     int len, const char *sni)
{
    memcpy(aad, name, WOLFSSL_TICKET_NAME_SZ);
    memcpy(aad + WOLFSSL_TICKET_NAME_SZ, iv, WOLFSSL_TICKET_IV_SZ);
    aad[32] = (unsigned char)(len >> 8);
    aad[33] = (unsigned char)len;
    size_t n = sni ? strnlen(sni, 255) : 0;
    memcpy(aad + 34, sni, n);
    return (word32)(34 + n);
}

int eng_tls_ticket_cb(WOLFSSL *ssl, unsigned char key_name[WOLFSSL_TICKET_NAME_SZ],
                      unsigned char iv[WOLFSSL_TICKET_IV_SZ],
                      unsigned char mac[WOLFSSL_TICKET_MAC_SZ], int enc, unsigned char *ticket,
                      int in_len, int *out_len, void *ctx)
{
    (void)ctx;
    unsigned char aad[AAD_MAX];
    if (in_len <= 0 || in_len > 0xffff)
        return WOLFSSL_TICKET_RET_REJECT;
    const eng_tls_conn *tc = wolfSSL_get_app_data(ssl);
    const char *sni = tc ? tc->sni : "";
    if (!enc && tc && tc->pol && tc->pol->ca_mode != ENG_CA_NONE)
        return WOLFSSL_TICKET_RET_REJECT;
    if (enc) {
        if (!rotate_if_due())
            return WOLFSSL_TICKET_RET_FATAL;
        tkey k;
        pthread_rwlock_rdlock(&mu);
        k = cur;
        pthread_rwlock_unlock(&mu);
        uint64_t n = atomic_fetch_add(&counter, 1);
        memset(iv, 0, WOLFSSL_TICKET_IV_SZ);
        memcpy(iv, k.prefix, 4);
        memcpy(iv + 4, &n, 8);
        memcpy(key_name, k.name, WOLFSSL_TICKET_NAME_SZ);
        word32 al = aad_of(aad, key_name, iv, in_len, sni);
        memset(mac, 0, WOLFSSL_TICKET_MAC_SZ);
        int rc =
            wc_ChaCha20Poly1305_Encrypt(k.key, iv, aad, al, ticket, (word32)in_len, ticket, mac);
        memset(&k, 0, sizeof(k));
        if (rc != 0)
            return WOLFSSL_TICKET_RET_FATAL;
        *out_len = in_len;
        return WOLFSSL_TICKET_RET_OK;
    }
    (void)rotate_if_due();
    tkey k;
    bool old = false, found = false;
    pthread_rwlock_rdlock(&mu);
    if (cur.set && memcmp(cur.name, key_name, WOLFSSL_TICKET_NAME_SZ) == 0) {
        k = cur;
        found = true;
    } else if (prev.set && memcmp(prev.name, key_name, WOLFSSL_TICKET_NAME_SZ) == 0) {
        k = prev;
        found = old = true;
    }
    pthread_rwlock_unlock(&mu);
    if (!found)
        return WOLFSSL_TICKET_RET_REJECT;
    word32 al = aad_of(aad, key_name, iv, in_len, sni);
    int rc = wc_ChaCha20Poly1305_Decrypt(k.key, iv, aad, al, ticket, (word32)in_len, mac, ticket);
    memset(&k, 0, sizeof(k));
    if (rc != 0)
        return WOLFSSL_TICKET_RET_REJECT;
    *out_len = in_len;
    return old ? WOLFSSL_TICKET_RET_CREATE : WOLFSSL_TICKET_RET_OK;
}
