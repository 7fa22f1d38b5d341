/* SPDX-License-Identifier: Apache-2.0
 * Upgraded connections through reverse_proxy (WebSocket and any Upgrade): libcurl 7.88
 * cannot hand over a raw stream (engine-notes 3.4), so the request goes over a raw TCP
 * (or unix) connection to the upstream, driven on the worker loop (core/loop.h): send the
 * head, read the response head; a 101 becomes the client's 101 and the two sockets are
 * spliced (cc_resp.upgrade); anything else is relayed as a normal response. */
#ifndef CC_HANDLERS_RP_WS_H
#define CC_HANDLERS_RP_WS_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/handler.h"
#include "../core/http.h"

typedef struct cc_rp_ws_opts {
    const char *dial;            /* "host:port", or "unix/<path>" for a unix socket */
    bool tls;                    /* https upstream (wolfSSL client, TLS 1.2+, ALPN http/1.1) */
    const char *tls_server_name; /* SNI and the name verified; NULL = the dial host (an
                                  * IP address is verified against IP SANs, no SNI) */
    bool tls_insecure;           /* tls_insecure_skip_verify */
    const char *tls_ca_file;     /* PEM file (one or more certificates) to trust */
    const char *tls_ca_pem;      /* or a PEM bundle in memory (wins over tls_ca_file);
                                  * neither = the system roots */
    size_t tls_ca_pem_len;
    int64_t dial_timeout;       /* ns, 0 = 3 s */
    int64_t stream_timeout;     /* ns, 0 = none: the splice is closed after this */
    int64_t stream_close_delay; /* ns: when the engine asks a stream to end (listener
                                 * drained, stop: resp.upgrade_abort), it gets a
                                 * WebSocket Close frame (1001) and is closed this
                                 * long after (0 = at once) */
    size_t buffer_size;         /* per direction, 0 = 32 KiB */
} cc_rp_ws_opts;

/* How an attempt ended, for the transport's retry and passive-health logic. */
typedef enum { CC_RP_WS_OK, CC_RP_WS_DIAL_FAILED, CC_RP_WS_FAILED } cc_rp_ws_result;

/** Starts the upgrade attempt for r: method r->method, target the raw request-target,
 * hdrs the header list built by cc_rp_hdr_up (Host first, with Connection/Upgrade; any
 * Content-Length / Transfer-Encoding in it is ignored: the request body r->body, if
 * any, is framed here -- whole in-memory bodies with Content-Length, streaming ones
 * with r->content_length or chunked). o is copied (it may go away after the call).
 * Dial: an IP address or "localhost" directly, another name through getaddrinfo on the
 * offload pool (cc_req_offload: do not have another offload in flight for r). When the
 * upstream's final response head is in (1xx other than 101 are skipped), or the
 * attempt failed, done(r, result, status, ctx) runs on the worker thread, never inside
 * this call:
 *  - CC_RP_WS_OK, 101: the upstream agreed to the requested protocol (its Upgrade
 *    equals the request's, Connection has upgrade). r->resp.status = 101,
 *    r->resp.headers = the upstream's fields as received (REPLACING what r->resp.headers
 *    held: save it before if it matters), r->resp.upgrade/upgrade_abort/upgrade_ctx set.
 *    Run cc_rp_hdr_down(.., 101, &r->resp.headers) and let the response go out: the
 *    engine's upgrade call starts the splice, which ends with cc_req_upgrade_close.
 *    If the chain answers something else instead, the upstream connection is closed
 *    when the request ends.
 *  - CC_RP_WS_OK, other status: r->resp.status/headers (same rule) and r->resp.body =
 *    the whole body (read per Content-Length / chunked / close; at most 16 MiB, more
 *    fails the attempt).
 *  - CC_RP_WS_DIAL_FAILED, status 502 (refused, unreachable, bad name) or 504 (dial
 *    timeout): nothing reached the upstream; always retryable.
 *  - CC_RP_WS_FAILED, 502: the upstream broke the exchange (EOF, malformed or oversized
 *    head, bad framing, a 101 to another protocol than asked, a failed TLS handshake:
 *    certificate not trusted, wrong name, no common protocol version).
 *  - https upstreams: the dial timeout covers the TCP connect and the TLS handshake; a
 *    handshake that runs out of it is CC_RP_WS_DIAL_FAILED, 504 (nothing was sent).
 * Returns CC_OK (done will be called exactly once, unless the request ends first --
 * client gone -- which cancels the attempt silently) or CC_ERR (no loop on this thread
 * or no dial address; done is not called). */
int cc_rp_ws_start(cc_req *r, const cc_rp_ws_opts *o, const char *target, const cc_headers *hdrs,
                   void (*done)(cc_req *r, cc_rp_ws_result res, int status, void *ctx), void *ctx);

/** Cancels r's attempt still waiting for its upstream (dial, request, response head or
 * body; for instance when the client went away: cc_req_on_gone): the upstream connection
 * is closed and done is NOT called. Nothing happens when r has no such attempt (a 101
 * already reported is left to the engine: the request's end closes it). */
void cc_rp_ws_cancel(cc_req *r);

/** Streams alive right now (all workers), for tests and graceful reloads. */
int cc_rp_ws_active(void);

#endif
