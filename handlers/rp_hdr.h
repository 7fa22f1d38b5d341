/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy's header rules (caddy-reference.md 4.1 "Headers sent upstream by
 * default" and "Response"): what the transport sends upstream and what it hands back
 * downstream. Pure functions over cc_headers, called by the transport (rp_proxy*.c) on
 * the worker thread; provisioned once per handler. */
#ifndef CC_HANDLERS_RP_HDR_H
#define CC_HANDLERS_RP_HDR_H

#include <stdbool.h>

#include "../core/arena.h"
#include "../core/cfg.h"
#include "../core/err.h"
#include "../core/http.h"

typedef struct cc_rp_hdr cc_rp_hdr; /* provisioned rules of one handler */

/** Reads the handler object's "headers" ({"request": ops, "response": ops} as the
 * headers handler's ops, from header_up / header_down) and "trusted_proxies" (handler
 * level; the server-level list comes from r->server). NULL with err on a bad config. */
cc_rp_hdr *cc_rp_hdr_provision(cc_arena *a, const cc_cfg *handler, cc_err *err);

/* The upstream a request goes to, as the placeholders {http.reverse_proxy.upstream.*}
 * and the Host rule need it. */
typedef struct cc_rp_hdr_target {
    const char *hostport; /* "10.0.0.1:8080" ({upstream_hostport}) */
    const char *host, *port;
    bool tls; /* https upstream: Host defaults to hostport (Caddy 2.11) */
    /* {http.reverse_proxy.upstream.address} as Caddy's DialInfo.String() gives it
     * ("tcp/10.0.0.1:8080", "unix//run/app.sock"); NULL = "tcp/" + hostport */
    const char *address;
} cc_rp_hdr_target;

/** The header list to send upstream for r (into *out, arena-owned, wire order kept,
 * names in Go's canonical spelling): r->headers minus hop-by-hop fields (and those named
 * in Connection), X-Forwarded-For / -Proto / -Host with the trusted-proxies rules
 * (server-level via the "trusted_proxy" var, handler-level against the peer address),
 * "Te: trailers" when the client offered trailers, Via, then header_up ops
 * (placeholders evaluated against r, with the upstream placeholders set).
 * For an upgrade request (Connection: upgrade + Upgrade) "Connection: Upgrade" and
 * "Upgrade: <type, lower-cased>" are re-added and Sec-WebSocket-* get RFC 6455 case.
 * out->v[0] is always the Host field: the client's Host (r->hostport), or
 * {upstream_hostport} for a TLS upstream, as header_up ops leave it; when that ends
 * empty, the upstream's host[:port] (Go's URL.Host). Content-Length is never in *out:
 * the transport frames the body from r->content_length / r->body. A missing
 * User-Agent stays missing (the transport must not add its own).
 * Call once per attempt (it rebuilds *out from r, so retries start afresh); it sets the
 * vars {http.reverse_proxy.upstream.address|hostport|host|port} read. Returns CC_OK,
 * or CC_ERR with r->err set (502, Go's transport message) when a field name is not a
 * token or a value holds a control byte (CR, LF, NUL...) -- only header_up ops with
 * placeholders can produce those, the engine refuses such requests: nothing with CR/LF
 * is ever sent upstream. Treat it as a non-dial transport error. */
int cc_rp_hdr_up(const cc_rp_hdr *h, cc_req *r, const cc_rp_hdr_target *t, cc_headers *out);

/** Rewrites an upstream response's fields (hdrs, in place) for the client, as Caddy's
 * finalizeResponse: hop-by-hop fields and those named in Connection removed,
 * Content-Length too (the engine frames the body; the transport keeps the length
 * separately), names canonicalised. Then
 *  - 101: "Upgrade: <upstream's value>" and "Connection: Upgrade" put back,
 *    Sec-WebSocket-* in RFC 6455 case; nothing else (Caddy applies neither Via nor
 *    header_down to a 101).
 *  - any other status: header_down ops when their `require` matches (placeholders
 *    {http.reverse_proxy.header.*} / status_code read the vars the transport set), then
 *    "Via: 1.1 Caddy" inserted at hdrs->v[0] (out of header_down's reach, as in Caddy),
 *    and Caddy's own Server field deleted from r->resp.headers (the upstream's Server,
 *    if any, stays in hdrs).
 * The caller then APPENDS hdrs to r->resp.headers (keeping what earlier handlers put
 * there), or replaces it when nothing else should survive; hdrs may also be
 * &r->resp.headers itself (then Server is not deleted: it is the upstream's).
 * The Via version is the upstream response's, read from the request var
 * CC_RP_HDR_PROTO_VAR ("HTTP/1.0"; rp_ws sets it, absent = 1.1). h may be NULL. */
void cc_rp_hdr_down(const cc_rp_hdr *h, cc_req *r, int status, cc_headers *hdrs);
#define CC_RP_HDR_PROTO_VAR "rp.upstream_proto"
/** cc_rp_hdr_down for an upstream that answered in another HTTP version (Via says
 * "<major>.<minor> Caddy"). */
void cc_rp_hdr_down_proto(const cc_rp_hdr *h, cc_req *r, int status, int proto_major,
                          int proto_minor, cc_headers *hdrs);

#endif
