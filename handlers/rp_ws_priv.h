/* SPDX-License-Identifier: Apache-2.0
 * Internals shared by the rp_ws_*.c files (upgraded connections through reverse_proxy):
 * the per-attempt state, the upstream response-head parser and chunked decoder
 * (rp_ws_http.c), the splice (rp_ws_splice.c) and the per-loop registry of streams, the
 * upstream I/O, plain or TLS (rp_ws_tls.c). Not for use outside rp_ws*.c. */
#ifndef CC_HANDLERS_RP_WS_PRIV_H
#define CC_HANDLERS_RP_WS_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/loop.h"
#include "rp_ws.h"

/* ---- rp_ws_http.c: upstream response parsing (pure, unit-tested) ---- */

#define WS_MAX_HEAD (1u << 20)  /* bound on one response head */
#define WS_MAX_BODY (16u << 20) /* bound on a relayed non-101 body */

typedef struct ws_head {
    int status, major, minor;
    cc_headers hdrs; /* arena-owned copies */
} ws_head;

/** Length of the head at the start of p[0..n) (through the blank line), 0 when more is
 * needed. scan_from lets repeated calls skip what was already searched. */
size_t cc_rp_ws_head_end(const char *p, size_t n, size_t scan_from);
/** Parses a complete head (p[0..n), as measured by cc_rp_ws_head_end). CC_OK or CC_ERR
 * with *why set to a short reason. */
int cc_rp_ws_head_parse(cc_arena *a, const char *p, size_t n, ws_head *out, const char **why);

/* Incremental chunked-body decoder. */
typedef struct ws_chunk {
    int st;
    int digits;
    uint64_t size;
} ws_chunk;
enum { WS_CHUNK_MORE = 0, WS_CHUNK_DONE = 1, WS_CHUNK_ERR = -1 };
/** Feeds p[0..n): decoded data goes to emit(ctx, data, len); *used = bytes consumed
 * (less than n only when done). */
int cc_rp_ws_chunk_feed(ws_chunk *c, const char *p, size_t n, size_t *used,
                        int (*emit)(void *ctx, const char *d, size_t len), void *ctx);

/* ---- the attempt / stream ---- */

typedef struct ws_buf {
    char *p;
    size_t start, end, cap;
} ws_buf;

typedef struct ws_slot ws_slot;
typedef struct ws_link {
    struct ws_stream *s; /* NULL once the stream is gone */
} ws_link;
typedef struct ws_resolve ws_resolve;

enum ws_state {
    WS_RESOLVING,
    WS_CONNECTING,
    WS_HANDSHAKE, /* https upstream: the TLS handshake (rp_ws_tls.c) */
    WS_SENDING,   /* request head and body */
    WS_HEAD,      /* reading the response head */
    WS_BODY,      /* reading a non-101 body */
    WS_WAIT_UP,   /* 101 reported: waiting for the engine's upgrade call */
    WS_SPLICE,
    WS_DEAD,
};

enum ws_framing { WF_NONE, WF_LENGTH, WF_CHUNKED, WF_CLOSE };

/* Per-loop registry of streams (rp_ws_splice.c), which also holds the loop's TLS client
 * contexts (rp_ws_tls.c). */
typedef struct ws_tls_cache ws_tls_cache;
struct ws_slot {
    cc_loop *loop;
    struct ws_stream *head;
    ws_tls_cache *tls;
};

typedef struct ws_tls ws_tls;

typedef struct ws_stream ws_stream;
struct ws_stream {
    ws_slot *slot;
    ws_stream *prev, *next; /* in slot's list */
    cc_loop *loop;
    cc_req *r;     /* NULL once the request is gone */
    ws_link *link; /* in r's arena: lets the arena's cleanup find us */
    enum ws_state state;

    /* copied options */
    char *dial;
    bool is_unix;
    uint64_t dial_timeout, stream_timeout, close_delay;
    size_t bufsize;
    char *up_type;  /* requested Upgrade (lower case) */
    bool websocket; /* Upgrade: websocket: close frames on shutdown */
    bool head_req;
    /* https upstream: verification name (tls_server_name, else the dial host; NULL for
     * a unix socket without tls_server_name), trust (PEM file or bundle, NULL = system
     * roots) */
    bool use_tls, tls_insecure;
    char *tls_name;
    char *tls_ca_file;
    char *tls_ca_pem;
    size_t tls_ca_pem_len;
    ws_tls *tls; /* NULL for a plain upstream */

    void (*done)(cc_req *r, cc_rp_ws_result res, int status, void *ctx);
    void *done_ctx;
    cc_rp_ws_result pend_res; /* WS_DEAD: what the zero timer reports */
    int pend_status;
    ws_resolve *resolving;

    int ufd;
    cc_loop_io *uio;
    cc_loop_timer *timer; /* dial timeout, then stream_timeout */
    cc_loop_timer *kick;  /* TLS splice: input left inside wolfSSL, read on the next turn */

    /* request bytes to send (head, then body frames) */
    ws_buf out;
    bool body_streaming, body_chunked, body_eof, body_waiting;

    /* response */
    ws_buf in;
    size_t scanned;
    ws_head head;
    enum ws_framing framing;
    uint64_t remaining;
    ws_chunk chunk;
    char *body;
    size_t blen, bcap;

    /* splice: c2u carries client bytes to the upstream, u2c the other way */
    int cfd;
    cc_loop_io *cio;
    ws_buf c2u, u2c;
    bool c_eof, u_eof, c_shut, u_shut;
    bool counted, closing;
};

/* rp_ws_tls.c: the upstream side's I/O, plain or through a wolfSSL client. Reads and
 * writes return what recv/send would (>0, 0 = EOF for reads, -1 with errno; EAGAIN
 * means: watch the upstream socket for cc_rp_ws_up_events and call again). A TLS write
 * that returned EAGAIN must be retried with the same bytes (more may follow them). */
ssize_t cc_rp_ws_up_recv(ws_stream *s, char *p, size_t n);
ssize_t cc_rp_ws_up_send(ws_stream *s, const char *p, size_t n);
/** The loop events the upstream socket needs for reading (rd) and/or writing (wr) to go
 * on: IN for reads and OUT for writes on a plain socket; TLS may want the other one. */
unsigned cc_rp_ws_up_events(ws_stream *s, bool rd, bool wr);
/** Sends the TLS layer's pending output (nothing on a plain socket). -1 when the socket
 * failed. */
int cc_rp_ws_up_flush(ws_stream *s);
/** Whether received bytes wait inside the TLS layer (the socket will not signal them). */
bool cc_rp_ws_up_buffered(ws_stream *s);
/** Half-closes the upstream's direction: shutdown(SHUT_WR), or TLS close_notify. 0 when
 * done, -1 with EAGAIN when the close_notify still has to be flushed (call again). */
int cc_rp_ws_up_shutdown(ws_stream *s);
/** Starts the TLS client on s->ufd (connected). CC_OK, or CC_ERR with *why. */
int cc_rp_ws_tls_begin(ws_stream *s, const char **why);
/** Drives the handshake: 1 done, 0 in progress (watch cc_rp_ws_up_events(s, true,
 * false)), -1 failed with *why. */
int cc_rp_ws_tls_handshake(ws_stream *s, const char **why);
/** Sends close_notify when the session is up (best effort) and frees the TLS state;
 * the socket is left open. */
void cc_rp_ws_tls_free(ws_stream *s);
/** Frees a loop's cached client contexts (worker exit). */
void cc_rp_ws_tls_cache_free(ws_tls_cache *c);

/* rp_ws.c */
void cc_rp_ws_free(ws_stream *s);
/** Ends the attempt: reports res/status to done (once) unless already reported. */
void cc_rp_ws_finish(ws_stream *s, cc_rp_ws_result res, int status);

/* rp_ws_splice.c */
void cc_rp_ws_on_upgrade(cc_req *r, int fd, const char *extra, size_t n, void *ctx);
void cc_rp_ws_on_upgrade_abort(cc_req *r, void *ctx);
/** Registers s on its loop's registry (creating the slot). */
void cc_rp_ws_register(ws_stream *s);
void cc_rp_ws_unregister(ws_stream *s);
/** Ends a splice: closes both sides, completes the request, frees s. */
void cc_rp_ws_splice_end(ws_stream *s);

#endif
