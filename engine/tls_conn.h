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

/* TC_OPEN: bytes pumped through a socketpair (upgraded streams); TC_DIRECT: MHD serves
 * the TCP socket itself through the interposers of tls_direct.c. */
typedef enum { TC_HS, TC_OPEN, TC_DIRECT, TC_LINGER, TC_DEAD } eng_tc_state;

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
    bool fd_mhd;     /* TC_DIRECT: MHD owns fd (and closes it) */
    bool broken;     /* TC_DIRECT: a fatal TLS or socket error; MHD sees ECONNRESET */
    bool d_eof;      /* TC_DIRECT: the client finished sending */
    /* ciphertext the socket refused (tls_direct.c): sent before anything else */
    unsigned char *obuf;
    size_t ooff, olen, ocap;
    eng_tls_conn *prev, *next;
    unsigned rpos, rlen; /* read-ahead window in rbuf */
    unsigned doff, dlen; /* plaintext for MHD in dbuf */
    unsigned elen;       /* plaintext from MHD in ebuf */
    unsigned char rbuf[ENG_TLS_RBUF];
    unsigned char dbuf[ENG_TLS_PBUF];
    unsigned char ebuf[ENG_TLS_PBUF];
};

/* tls_direct.c (eng_tls_direct_init and the recv hook are in tls_hooks.h) */
/* Whether MHD may serve TLS sockets directly: every socket call it makes is
 * interposed (and CADDYC_TLS_PAIR is unset, which forces the socketpair pump). */
bool eng_tls_direct_enabled(void);
bool eng_tls_direct_attach(int fd, eng_tls_conn *tc);
eng_tls_conn *eng_tls_direct_get(int fd);
ssize_t eng_tls_raw_send(int fd, const void *buf, size_t len);
/* Appends to the refused-ciphertext queue; false when out of memory. */
bool eng_tls_queue(eng_tls_conn *tc, const void *p, size_t n);
/* Sends the queue; true when it is empty (false: socket full, or tc->broken). */
bool eng_tls_flush(eng_tls_conn *tc);
/* tls_conn.c: the queue has bytes MHD may never push (it had nothing more to send). */
void eng_tls_direct_want_flush(eng_tls_conn *tc);

#endif
