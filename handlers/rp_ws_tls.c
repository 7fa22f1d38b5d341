/* SPDX-License-Identifier: Apache-2.0
 * The upstream side of reverse_proxy's raw upgrade path (rp_ws) over TLS: a non-blocking
 * wolfSSL client on the worker loop (TLS 1.2+, SNI, ALPN http/1.1, chain and host name
 * verification against a PEM trust file or bundle or the system roots), plus the plain
 * socket case behind the same calls. wolfSSL's output goes into our own buffer, so that
 * wolfSSL_write never answers WANT_WRITE and never needs a same-buffer retry; the buffer
 * is flushed as the socket allows and bounds what is accepted (backpressure). Client
 * contexts are cached per loop, one per trust setting. */
#include <wolfssl/options.h>

#include <wolfssl/error-ssl.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "rp_ws_priv.h"

#define SYSTEM_ROOTS "/etc/ssl/certs/ca-certificates.crt"
#define CACHE_MAX 8
/* one TLS record of plaintext per write; more is accepted only once what is already
 * encrypted has mostly left */
#define WRITE_MAX (16u << 10)
#define OUT_HIGH (16u << 10)

struct ws_tls {
    WOLFSSL *ssl;
    int fd;
    bool up;       /* handshake done */
    bool eof;      /* the socket said EOF */
    bool dead;     /* the socket failed for writing: output is dropped */
    bool notified; /* our close_notify is out (wolfSSL_shutdown is called once: a
                    * second call would read the peer's data looking for its own) */
    int sock_err;  /* errno of the last failed socket call */
    char *out;     /* encrypted bytes not yet sent */
    size_t ostart, oend, ocap;
    char why[160];
};

typedef struct tls_ent {
    WOLFSSL_CTX *ctx;
    bool insecure;
    char *file; /* trust file (the system roots' path when neither file nor pem) */
    char *pem;  /* or a bundle */
    size_t pem_len;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    uint64_t used;
} tls_ent;

struct ws_tls_cache {
    tls_ent e[CACHE_MAX];
    size_t n;
    uint64_t tick;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
    wolfSSL_Init();
}

/* ---- the client contexts ---- */

static void ent_free(tls_ent *e)
{
    /* wolfSSL counts the sessions that use a context: live streams keep theirs */
    wolfSSL_CTX_free(e->ctx);
    free(e->file);
    free(e->pem);
    memset(e, 0, sizeof(*e));
}

void cc_rp_ws_tls_cache_free(ws_tls_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        ent_free(&c->e[i]);
    free(c);
    /* verifying ECDSA chains fills wolfCrypt's per-thread fixed-point cache (FP_ECC);
     * this runs on the worker's thread as it exits */
    wc_ecc_fp_free();
}

static WOLFSSL_CTX *ctx_build(ws_stream *s, const char *file, char *why, size_t wn)
{
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
    if (!ctx) {
        snprintf(why, wn, "cannot create a TLS client context");
        return NULL;
    }
    if (wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS) {
        snprintf(why, wn, "cannot require TLS 1.2");
        wolfSSL_CTX_free(ctx);
        return NULL;
    }
    if (s->tls_insecure) {
        wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
        return ctx;
    }
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
    int rc;
    if (s->tls_ca_pem)
        rc = wolfSSL_CTX_load_verify_buffer(ctx, (const unsigned char *)s->tls_ca_pem,
                                            (long)s->tls_ca_pem_len, WOLFSSL_FILETYPE_PEM);
    else if (s->tls_ca_file)
        rc = wolfSSL_CTX_load_verify_locations(ctx, file, NULL);
    else
        /* the system bundle holds a few roots wolfSSL cannot parse: skip those */
        rc = wolfSSL_CTX_load_verify_locations_ex(ctx, file, NULL, WOLFSSL_LOAD_FLAG_IGNORE_ERR);
    if (rc != WOLFSSL_SUCCESS) {
        snprintf(why, wn, "loading the trusted CA certificates%s%s failed (%d)",
                 s->tls_ca_pem ? "" : " from ", s->tls_ca_pem ? "" : file, rc);
        wolfSSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* The context for s's trust settings, built on first use and rebuilt when the trust file
 * changed on disk. */
static WOLFSSL_CTX *ctx_for(ws_stream *s, char *why, size_t wn)
{
    ws_slot *sl = s->slot;
    if (!sl) {
        snprintf(why, wn, "no loop registry");
        return NULL;
    }
    if (!sl->tls)
        sl->tls = cc_xcalloc(1, sizeof(*sl->tls));
    ws_tls_cache *c = sl->tls;
    const char *file = NULL;
    struct stat st = {0};
    if (!s->tls_insecure && !s->tls_ca_pem) {
        file = s->tls_ca_file ? s->tls_ca_file : SYSTEM_ROOTS;
        if (stat(file, &st) != 0) {
            snprintf(why, wn, "trusted CA certificates %s: %s", file, strerror(errno));
            return NULL;
        }
    }
    c->tick++;
    for (size_t i = 0; i < c->n; i++) {
        tls_ent *e = &c->e[i];
        if (e->insecure != s->tls_insecure)
            continue;
        if (!s->tls_insecure) {
            if (s->tls_ca_pem) {
                if (!e->pem || e->pem_len != s->tls_ca_pem_len ||
                    memcmp(e->pem, s->tls_ca_pem, e->pem_len) != 0)
                    continue;
            } else if (!e->file || strcmp(e->file, file) != 0) {
                continue;
            } else if (e->dev != st.st_dev || e->ino != st.st_ino || e->size != st.st_size ||
                       e->mtime.tv_sec != st.st_mtim.tv_sec ||
                       e->mtime.tv_nsec != st.st_mtim.tv_nsec) {
                /* the file changed: this entry is stale */
                ent_free(e);
                c->e[i] = c->e[--c->n];
                break;
            }
        }
        e->used = c->tick;
        return e->ctx;
    }
    WOLFSSL_CTX *ctx = ctx_build(s, file, why, wn);
    if (!ctx)
        return NULL;
    if (c->n == CACHE_MAX) {
        size_t lru = 0;
        for (size_t i = 1; i < c->n; i++)
            if (c->e[i].used < c->e[lru].used)
                lru = i;
        ent_free(&c->e[lru]);
        c->e[lru] = c->e[--c->n];
    }
    tls_ent *e = &c->e[c->n++];
    *e = (tls_ent){.ctx = ctx, .insecure = s->tls_insecure, .used = c->tick};
    if (!s->tls_insecure) {
        if (s->tls_ca_pem) {
            e->pem = cc_xmalloc(s->tls_ca_pem_len);
            memcpy(e->pem, s->tls_ca_pem, s->tls_ca_pem_len);
            e->pem_len = s->tls_ca_pem_len;
        } else {
            e->file = cc_xstrdup(file);
            e->dev = st.st_dev;
            e->ino = st.st_ino;
            e->size = st.st_size;
            e->mtime = st.st_mtim;
        }
    }
    return ctx;
}

/* ---- wolfSSL's I/O: reads straight from the socket, writes into t->out ---- */

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    ws_tls *t = ctx;
    for (;;) {
        ssize_t n = recv(t->fd, buf, (size_t)sz, 0);
        if (n > 0)
            return (int)n;
        if (n == 0) {
            t->eof = true;
            return WOLFSSL_CBIO_ERR_CONN_CLOSE;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return WOLFSSL_CBIO_ERR_WANT_READ;
        t->sock_err = errno;
        return errno == ECONNRESET ? WOLFSSL_CBIO_ERR_CONN_RST : WOLFSSL_CBIO_ERR_GENERAL;
    }
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    ws_tls *t = ctx;
    if (t->dead)
        return WOLFSSL_CBIO_ERR_CONN_CLOSE;
    size_t n = (size_t)sz;
    if (t->ostart == t->oend)
        t->ostart = t->oend = 0;
    if (t->oend + n > t->ocap) {
        if (t->ostart) {
            memmove(t->out, t->out + t->ostart, t->oend - t->ostart);
            t->oend -= t->ostart;
            t->ostart = 0;
        }
        if (t->oend + n > t->ocap) {
            size_t nc = t->ocap ? t->ocap : 8192;
            while (nc < t->oend + n)
                nc *= 2;
            t->out = cc_xrealloc(t->out, nc);
            t->ocap = nc;
        }
    }
    memcpy(t->out + t->oend, buf, n);
    t->oend += n;
    return sz;
}

/* Sends what t->out holds. -1 when the socket failed (output dropped from then on). */
static int flush(ws_tls *t)
{
    while (t->ostart < t->oend && !t->dead) {
        ssize_t n = send(t->fd, t->out + t->ostart, t->oend - t->ostart, MSG_NOSIGNAL);
        if (n > 0) {
            t->ostart += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        t->sock_err = n < 0 ? errno : EPIPE;
        t->dead = true;
    }
    if (t->dead) {
        t->ostart = t->oend = 0;
        return -1;
    }
    t->ostart = t->oend = 0;
    return 0;
}

static size_t out_pending(const ws_tls *t)
{
    return t->oend - t->ostart;
}

/* ---- handshake ---- */

static bool is_ip(const char *name)
{
    unsigned char b[16];
    return inet_pton(AF_INET, name, b) == 1 || inet_pton(AF_INET6, name, b) == 1;
}

int cc_rp_ws_tls_begin(ws_stream *s, const char **why)
{
    pthread_once(&init_once, lib_init);
    ws_tls *t = cc_xcalloc(1, sizeof(*t));
    t->fd = s->ufd;
    s->tls = t;
    const char *name = s->tls_name && *s->tls_name ? s->tls_name : NULL;
    if (!name && !s->tls_insecure) {
        /* what Go's crypto/tls answers for a client config without a name */
        *why = "tls: either ServerName or InsecureSkipVerify must be specified in the tls.Config";
        return CC_ERR;
    }
    WOLFSSL_CTX *ctx = ctx_for(s, t->why, sizeof(t->why));
    if (!ctx) {
        *why = t->why;
        return CC_ERR;
    }
    t->ssl = wolfSSL_new(ctx);
    if (!t->ssl) {
        *why = "cannot create a TLS session";
        return CC_ERR;
    }
    WOLFSSL *ssl = t->ssl;
    wolfSSL_SSLSetIORecv(ssl, io_recv);
    wolfSSL_SSLSetIOSend(ssl, io_send);
    wolfSSL_SetIOReadCtx(ssl, t);
    wolfSSL_SetIOWriteCtx(ssl, t);
    wolfSSL_set_using_nonblock(ssl, 1);
    bool ip = name && is_ip(name);
    /* RFC 6066: no SNI for an address */
    if (name && !ip &&
        wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, name, (unsigned short)strlen(name)) !=
            WOLFSSL_SUCCESS) {
        *why = "cannot set the TLS server name";
        return CC_ERR;
    }
    if (name && !s->tls_insecure) {
        int rc = ip ? wolfSSL_X509_VERIFY_PARAM_set1_ip_asc(wolfSSL_get0_param(ssl), name)
                    : wolfSSL_check_domain_name(ssl, name);
        if (rc != WOLFSSL_SUCCESS) {
            *why = "cannot set the name to verify";
            return CC_ERR;
        }
    }
    char alpn[] = "http/1.1";
    if (wolfSSL_UseALPN(ssl, alpn, sizeof(alpn) - 1, WOLFSSL_ALPN_CONTINUE_ON_MISMATCH) !=
        WOLFSSL_SUCCESS) {
        *why = "cannot offer ALPN";
        return CC_ERR;
    }
    return CC_OK;
}

/* Go's wording for the usual verification failures, wolfSSL's otherwise. */
static void describe(ws_tls *t, int err)
{
    const char *name = NULL;
    switch (err) {
    case ASN_NO_SIGNER_E:
    case ASN_SELF_SIGNED_E:
        name = "tls: failed to verify certificate: x509: certificate signed by unknown authority";
        break;
    case DOMAIN_NAME_MISMATCH:
    case IPADDR_MISMATCH:
        name = "tls: failed to verify certificate: x509: certificate is not valid for the "
               "requested name";
        break;
    case ASN_AFTER_DATE_E:
    case ASN_BEFORE_DATE_E:
        name = "tls: failed to verify certificate: x509: certificate has expired or is not yet "
               "valid";
        break;
    default:
        break;
    }
    if (name) {
        snprintf(t->why, sizeof(t->why), "%s", name);
        return;
    }
    if (t->eof) {
        snprintf(t->why, sizeof(t->why), "tls handshake: EOF");
        return;
    }
    if (t->sock_err) {
        snprintf(t->why, sizeof(t->why), "tls handshake: %s", strerror(t->sock_err));
        return;
    }
    char buf[WOLFSSL_MAX_ERROR_SZ];
    wolfSSL_ERR_error_string_n((unsigned long)(err < 0 ? -err : err), buf, sizeof(buf));
    snprintf(t->why, sizeof(t->why), "tls handshake: %s (%d)", buf, err);
}

int cc_rp_ws_tls_handshake(ws_stream *s, const char **why)
{
    ws_tls *t = s->tls;
    int rc = wolfSSL_connect(t->ssl);
    int err = rc == WOLFSSL_SUCCESS ? 0 : wolfSSL_get_error(t->ssl, rc);
    if (flush(t) < 0 && !err) {
        /* the last flight could not be sent */
        err = SOCKET_ERROR_E;
    }
    if (rc == WOLFSSL_SUCCESS && !err) {
        t->up = true;
        return 1;
    }
    if (err == WOLFSSL_ERROR_WANT_READ && !t->dead)
        return 0;
    describe(t, err);
    *why = t->why;
    return -1;
}

/* ---- data ---- */

ssize_t cc_rp_ws_up_recv(ws_stream *s, char *p, size_t n)
{
    ws_tls *t = s->tls;
    if (!t)
        return recv(s->ufd, p, n, 0);
    if (n > INT_MAX)
        n = INT_MAX;
    int rc = wolfSSL_read(t->ssl, p, (int)n);
    /* reading can make wolfSSL answer (alerts, key updates) */
    (void)flush(t);
    if (rc > 0)
        return rc;
    int err = wolfSSL_get_error(t->ssl, rc);
    if (err == WOLFSSL_ERROR_WANT_READ) {
        errno = EAGAIN;
        return -1;
    }
    /* close_notify, or the peer closed the connection without it (at a record boundary
     * as far as the application can tell: treated as the end of the stream, as a plain
     * connection's EOF) */
    if (err == WOLFSSL_ERROR_ZERO_RETURN || t->eof)
        return 0;
    errno = t->sock_err ? t->sock_err : EPROTO;
    return -1;
}

ssize_t cc_rp_ws_up_send(ws_stream *s, const char *p, size_t n)
{
    ws_tls *t = s->tls;
    if (!t)
        return send(s->ufd, p, n, MSG_NOSIGNAL);
    if (flush(t) < 0) {
        errno = t->sock_err ? t->sock_err : EPIPE;
        return -1;
    }
    if (out_pending(t) >= OUT_HIGH) {
        errno = EAGAIN;
        return -1;
    }
    if (n > WRITE_MAX)
        n = WRITE_MAX;
    int rc = wolfSSL_write(t->ssl, p, (int)n);
    if (rc <= 0) {
        int err = wolfSSL_get_error(t->ssl, rc);
        errno = t->sock_err ? t->sock_err : EPIPE;
        cc_log(CC_LOG_DEBUG, "http.handlers.reverse_proxy", NULL, "tls write to upstream: %d", err);
        return -1;
    }
    if (flush(t) < 0) {
        errno = t->sock_err ? t->sock_err : EPIPE;
        return -1;
    }
    return rc;
}

unsigned cc_rp_ws_up_events(ws_stream *s, bool rd, bool wr)
{
    unsigned ev = (rd ? CC_LOOP_IN : 0) | (wr ? CC_LOOP_OUT : 0);
    if (s->tls && out_pending(s->tls))
        ev |= CC_LOOP_OUT;
    return ev;
}

bool cc_rp_ws_up_buffered(ws_stream *s)
{
    ws_tls *t = s->tls;
    return t && t->ssl && (wolfSSL_pending(t->ssl) > 0 || wolfSSL_has_pending(t->ssl));
}

int cc_rp_ws_up_flush(ws_stream *s)
{
    return s->tls ? flush(s->tls) : 0;
}

int cc_rp_ws_up_shutdown(ws_stream *s)
{
    ws_tls *t = s->tls;
    if (!t)
        return shutdown(s->ufd, SHUT_WR);
    /* TLS has no half-close below the record layer: close_notify says "no more from
     * us" and the peer may go on sending (Go's tls.Conn.CloseWrite) */
    if (t->up && !t->notified) {
        t->notified = true;
        (void)wolfSSL_shutdown(t->ssl);
    }
    return flush(t);
}

void cc_rp_ws_tls_free(ws_stream *s)
{
    ws_tls *t = s->tls;
    if (!t)
        return;
    if (t->ssl) {
        if (t->up && !t->dead && !t->notified) {
            t->notified = true;
            (void)wolfSSL_shutdown(t->ssl);
            (void)flush(t);
        }
        wolfSSL_free(t->ssl);
    }
    free(t->out);
    free(t);
    s->tls = NULL;
}
