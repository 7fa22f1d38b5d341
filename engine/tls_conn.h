/* SPDX-License-Identifier: Apache-2.0
 * One TLS connection of the front (tls_conn.c), shared with the handshake callbacks
 * (tls_ctx.c) that fill in its server name, policy and context. The buffers sit at the
 * end so a new connection zeroes only its head. */
#ifndef CC_ENGINE_TLS_CONN_H
#define CC_ENGINE_TLS_CONN_H

#include <sys/socket.h>

#include "tls.h"

/* One full TLS record (16 KiB of plaintext plus header and AEAD overhead) per read. */
#define ENG_TLS_RBUF (16384 + 512)
#define ENG_TLS_PBUF 16384

typedef enum { TC_HS, TC_OPEN, TC_LINGER, TC_DEAD } eng_tc_state;

struct eng_tls_conn {
    eng_tls_wl *tl;
    eng_tls_cfg *cfg; /* held reference: the config the handshake started with */
    const eng_tls_pol *pol;
    WOLFSSL *ssl;
    WOLFSSL_CTX *ctx; /* held reference to the certificate's context */
    int fd;           /* client TCP socket */
    int pfd;          /* our end of the socketpair (-1 before the handshake ends) */
    int mfd;          /* MHD's end (for matching in conn_started) */
    cc_loop_io *io, *pio;
    cc_loop_timer *timer;
    struct sockaddr_storage peer;
    socklen_t peerlen;
    char sni[256];
    char lip[64];
    int lport;
    const char *why; /* why the handshake was refused, for the log */
    eng_tc_state state;
    bool acme;       /* a tls-alpn-01 validation: no HTTP follows */
    bool t_rd, t_wr; /* TCP readiness: recv may have data; send may not block */
    bool p_rd;       /* the pair may have data from MHD */
    bool t_eof;      /* the client finished sending (EOF or close_notify) */
    bool p_wshut;    /* shutdown(pair, SHUT_WR) done */
    bool e_pending;  /* ebuf waits for wolfSSL_write to be retried */
    bool sd_pending; /* close_notify waits for the socket to drain */
    bool in_cb;      /* inside one of our callbacks: destroy at its end */
    bool pre_done;   /* the ClientHello was looked at (prehello) */
    bool plain_http; /* the client spoke plain HTTP: answer 400 and close */
    eng_tls_conn *prev, *next;
    unsigned rpos, rlen; /* read-ahead window in rbuf */
    unsigned doff, dlen; /* plaintext for MHD in dbuf */
    unsigned elen;       /* plaintext from MHD in ebuf */
    unsigned char rbuf[ENG_TLS_RBUF];
    unsigned char dbuf[ENG_TLS_PBUF];
    unsigned char ebuf[ENG_TLS_PBUF];
};

#endif
