/* SPDX-License-Identifier: Apache-2.0
 * Internal interface between the parts of reverse_proxy's run-time handler: the handler
 * and its retry loop (rp_proxy.c), the transport options (rp_proxy_tr.c), the libcurl
 * multi handles driven by the worker loop (rp_proxy_loop.c), the curl callbacks of one
 * upstream exchange (rp_proxy_xfer.c), the request and response bodies
 * (rp_proxy_body.c), the response side with handle_response / copy_response
 * (rp_proxy_resp.c) and upgrades (rp_proxy_ws.c). Not for use outside rp_proxy*.c. */
#ifndef CC_HANDLERS_RP_PROXY_H
#define CC_HANDLERS_RP_PROXY_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../core/async.h"
#include "../core/handler.h"
#include "../core/loop.h"
#include "../core/replacer.h"
#include "hdrops.h"
#include "rp_hdr.h"
#include "rp_pool.h"
#include "rp_ws.h"

/* A response body up to this size that is complete when the head is handed over goes
 * out as one in-memory body (header and body in one send, engine-notes P6); such a
 * known-small body gets a ring of this size. */
#define PX_RING_SIZE ((size_t)64 << 10)
/* The ring of a streamed body: curl reads up to PX_CHUNK at a time and is paused as
 * soon as a whole read might no longer fit (a refused chunk would be copied again into
 * curl's own pause buffer); it resumes once half the ring is free, so a fast client
 * moves a large part of the ring per pause instead of ping-ponging read by read (each
 * pause costs curl a socket removal and re-add). */
#define PX_RING_BIG ((size_t)256 << 10)
#define PX_CHUNK ((long)64 << 10)
/* Ring buffers (of each size) and easy handles kept per worker for reuse. */
#define PX_SPARE_RINGS 64
#define PX_SPARE_XFERS 256

/* ---- transport options (rp_proxy_tr.c) ---- */

/* What the per-worker multi handle needs, shared between a handler and the loops that
 * built a multi for it: heap, refcounted, since a worker may still hold the multi (and
 * its idle connections) after the config that made it is gone. */
typedef struct px_key {
    atomic_int refs;
    atomic_bool dead;    /* the handler was cleaned up: its multis may go */
    long max_host_conns; /* CURLMOPT_MAX_HOST_CONNECTIONS, 0 = unlimited */
    long max_idle;       /* CURLMOPT_MAXCONNECTS */
} px_key;

void px_key_unref(px_key *k);

typedef struct px_tr {
    long connect_ms;    /* dial_timeout */
    long happy_ms;      /* dial_fallback_delay, -1 = curl's default */
    int64_t hdr_ns;     /* response_header_timeout, 0 = none */
    int64_t read_ns;    /* read_timeout */
    int64_t write_ns;   /* write_timeout */
    bool keepalive_off; /* keep_alive.enabled false */
    long idle_s;        /* keep_alive.idle_timeout (CURLOPT_MAXAGE_CONN) */
    long probe_s;       /* keep_alive.probe_interval (TCP keepalive), 0 = off */
    long bufsize, upbufsize;
    long per_host_idle; /* keep_alive.max_idle_conns_per_host, 0 = default */
    int64_t max_header; /* max_response_header_size, 0 = unlimited */
    long httpver;       /* CURL_HTTP_VERSION_* */
    bool h2c;           /* versions h2c: HTTP/2 with prior knowledge on plain text */
    bool tls;
    bool tls_insecure;
    cc_tmpl *server_name; /* NULL = the upstream host */
    char *ca_blob;        /* PEM bundle (config arena), NULL = system trust */
    size_t ca_len;
    const char *client_cert, *client_key;
    const char *curves; /* OpenSSL names joined with ':' */
    const char **except_ports;
    size_t nexcept;
    const char *proxy; /* CURLOPT_PROXY value; "" = none */
    const char *iface; /* local_address as CURLOPT_INTERFACE */
    bool haproxy;      /* proxy_protocol v1 */
} px_tr;

/** Reads the handler's "transport" object (NULL = all defaults) into tr and key with
 * Caddy's defaults; errors carry the node's FILE:LINE. */
int px_tr_provision(cc_arena *a, const cc_cfg *transport, px_tr *tr, px_key *key, cc_err *err);

/* ---- the handler ---- */

/* An upstream address as Caddy's ParseNetworkAddress reads it (after placeholders). */
typedef struct px_dial {
    const char *network, *host, *port, *unix_path;
    const char *address;  /* DialInfo.String(): "tcp/h:p", "unix//path" */
    const char *hostport; /* DialInfo.Address */
} px_dial;

/** Parses a dial address; NULL, or the error text. */
const char *px_parse_dial(cc_arena *a, const char *s, px_dial *d);

typedef struct px_hr {
    cc_respmatch *match; /* NULL = any response */
    cc_tmpl *status;     /* replace_status; NULL when the entry has routes */
    cc_routes routes;
} px_hr;

typedef struct px_handler {
    cc_handler super;
    cc_rp_pool *pool;
    cc_rp_hdr *hdr;
    px_tr tr;
    px_key *key;
    cc_handler *rewrite; /* the handler's own "rewrite" (method / uri), or NULL */
    bool rewrite_nobody; /* the rewrite sets GET or HEAD: the body is dropped */
    int64_t flush_interval;
    int64_t request_buffers, response_buffers; /* bytes, -1 unlimited, 0 off */
    int64_t stream_buffer_size, stream_timeout, stream_close_delay;
    px_dial *dials; /* per upstream, parsed at provision when static (host NULL if not) */
    size_t ndials;
    px_hr *hr;
    size_t nhr;
    cc_matchset **resp_retry; /* retry_match sets that look at the response */
    size_t nresp_retry;
    bool need_vars; /* the config reads {http.reverse_proxy.*} */
    bool verbose;
} px_handler;

/* ---- per-worker state (rp_proxy_loop.c) ---- */

typedef struct px_loop px_loop;
typedef struct px_multi px_multi;
typedef struct px_req px_req;

/* A pooled easy handle and what belongs to it. */
typedef struct px_x {
    CURL *easy;
    px_multi *pm;            /* the multi it was added to, NULL when idle */
    px_req *p;               /* the exchange it serves */
    cc_loop_timer *deadline; /* read/write/header timeouts */
    struct px_x *next_free;
    char errbuf[CURL_ERROR_SIZE];
} px_x;

/* A response ring; also a complete in-memory body when it never wrapped. */
typedef struct px_ring {
    char *p;
    size_t cap, rd, n;
    bool pooled;
} px_ring;

struct px_multi {
    px_loop *pl;
    px_key *key;
    CURLM *m;
    cc_loop_timer *timer;
    int active;
    struct px_sock *socks;
    px_multi *next;
};

struct px_loop {
    cc_loop *loop;
    px_multi *multis;
    px_x *free_x;
    int nfree_x;
    char *free_rings[PX_SPARE_RINGS];
    int nfree_rings;
    char *free_big[PX_SPARE_RINGS];
    int nfree_big;
    px_req *attn_head, *attn_tail; /* exchanges with work to do outside curl callbacks */
    bool flush_queued;
    cc_loop_timer *sweep;
};

/** The calling worker's proxy state (created on first use), or NULL off the loop. */
px_loop *px_loop_get(void);
/** The multi handle of this handler on pl (created on first use; dead ones swept). */
px_multi *px_multi_get(px_loop *pl, px_key *key);
px_x *px_x_get(px_loop *pl);
/** Returns an easy handle to the pool (it must not be in a multi any more). */
void px_x_put(px_loop *pl, px_x *x);
/** Adds x to pm and starts it; CC_ERR when curl refuses. */
int px_x_start(px_multi *pm, px_x *x);
/** Removes x from its multi (no completion is reported). */
void px_x_stop(px_x *x);
/** Queues p for px_attend() outside curl's callbacks (now if possible, else deferred). */
void px_attn(px_req *p);
/** Drops p from the queue (p is going away). */
void px_attn_drop(px_req *p);
/** Runs the queued work: called after each curl_multi_socket_action round. */
void px_attn_flush(px_loop *pl);

bool px_ring_alloc(px_loop *pl, px_ring *g, size_t cap);
/** Whether a paused exchange may go on: half of the ring is free. */
bool px_ring_roomy(const px_ring *g);
void px_ring_release(px_loop *pl, px_ring *g);

/* ---- one proxied request (rp_proxy.c) ---- */

typedef enum {
    PX_INIT,
    PX_BUFFERING, /* request_buffers: reading the client's body first */
    PX_WAIT,      /* lb_try_interval between attempts */
    PX_XFER,      /* an upstream exchange is running, no head yet */
    PX_HEAD,      /* head in, waiting for more body (response_buffers, small body) */
    PX_STREAM,    /* response handed to the engine; body streaming */
    PX_DONE,
} px_state;

typedef enum { PX_OK, PX_FAIL_DIAL, PX_FAIL_TRANSPORT, PX_FAIL_NOUP, PX_FAIL_RESPONSE } px_fail;

struct px_req {
    px_handler *h;
    cc_req *r;
    cc_next *next;
    px_loop *pl;
    px_multi *pm;
    px_state st;
    bool async;            /* handle() returned CC_ASYNC: finish through cc_req_resume */
    bool upgrade;          /* Connection: upgrade + Upgrade: spliced by rp_ws */
    cc_headers saved_resp; /* r->resp.headers while rp_ws fills its own */
    bool gone;             /* the request is being freed */
    bool in_attn;
    px_req *attn_next;
    /* attention flags */
    bool a_done, a_head, a_notify, a_unpause, a_retry, a_buffer;

    uint64_t start_ns;
    int retries;
    bool *tried;
    cc_loop_timer *wait_timer;
    px_fail last_fail;
    int fail_status;
    const char *fail_msg;

    /* what goes upstream */
    const char *method, *target;
    cc_rp_upstream *up;
    bool up_counted;
    const char *dial_host, *dial_port, *dial_unix, *hostport;
    bool up_tls;
    uint64_t att_start_ns;
    /* request body: a replayable prefix, then (maybe) the client's stream */
    bool has_body;
    int64_t body_len; /* sent as Content-Length, -1 = chunked */
    const char *pre;  /* body->mem or the request_buffers copy */
    size_t pre_len, pre_off;
    char *pre_heap; /* request_buffers memory (freed on cleanup) */
    size_t pre_cap;
    bool stream;      /* more comes from r->body after pre */
    int64_t streamed; /* bytes taken from the stream (not replayable once > 0) */
    bool req_eof, read_paused, client_gone;
    uint64_t sent_at, last_tx, last_rx;

    /* the exchange */
    px_x *x;
    bool prereq;               /* curl connected and is about to send */
    const char *fail_msg_xfer; /* why a callback aborted the exchange */
    int status, ver_major, ver_minor;
    const char *status_line; /* "200 OK" */
    cc_headers rh;           /* upstream response fields as received */
    size_t rh_bytes;
    int64_t resp_cl; /* upstream Content-Length, -1 unknown */
    bool head_done, xfer_done, xfer_ok, write_paused, timed_out;
    CURLcode res;
    px_ring ring;
    int64_t rx_total;
    bool want_notify; /* the engine waits for body data */
    bool body_given;  /* the ring belongs to a cc_body handed to the engine */
    bool vars_ended;  /* the closing placeholders are set */
    /* handle_response */
    bool hr_active, finalized;
    struct px_hrc *hrc;
};

/* A handle_response context: lets copy_response / copy_response_headers find the
 * upstream response held for their request (per worker thread, newest first). */
typedef struct px_hrc {
    px_req *p;
    struct px_hrc *prev, *next;
} px_hrc;

/** Continues the state machine of p after an event (attention flags); resumes the
 * request when it is finished. */
void px_attend(px_req *p);
/** Classifies a finished exchange and decides: retry, fail or hand over. */
void px_xfer_finished(px_req *p);

/* ---- curl callbacks of one exchange (rp_proxy_xfer.c) ---- */

/** Takes one line of the response head as curl delivers it (status line, field, or
 * the blank line that ends it); false when the head is over its size limit. */
bool px_head_line(px_req *p, const char *b, size_t len);
/** Configures x->easy for p's current attempt (options, headers, body source);
 * CC_ERR with r->err set when the request cannot be expressed. */
int px_xfer_setup(px_req *p, const cc_headers *hdrs);
/** Whether an upstream on port is spoken to over TLS (tls and not except_ports). */
bool px_tr_uses_tls(const px_tr *tr, const char *port);
/** Arms the deadline timer of the exchange from the configured timeouts. */
void px_xfer_arm(px_req *p);
/** Unpauses the directions that may flow again. */
void px_xfer_unpause(px_req *p);
/** Stops and returns the easy handle of p, ending the upstream request count. */
void px_xfer_release(px_req *p);

/* ---- bodies (rp_proxy_body.c) ---- */

/** Starts or continues request_buffers: CC_OK when the prefix is complete, CC_ASYNC
 * while waiting for the client, CC_ERR when the client failed. */
int px_buffer_request(px_req *p);
/** The client's body (for upstream): prefix, then the stream. Returns bytes, 0 at the
 * end, CC_EAGAIN (after registering for more) or CC_ERR. */
ssize_t px_body_pull(px_req *p, char *buf, size_t cap);
/** The response body the engine reads: in memory when complete, else streaming. */
cc_body *px_resp_body(px_req *p);
/** Appends upstream body bytes; false when the ring is full (pause). */
bool px_ring_put(px_req *p, const char *d, size_t n);

/* ---- response side (rp_proxy_resp.c) ---- */

/** The head is in: placeholders, response retry, handle_response or finalize. Returns
 * CC_ASYNC while more is awaited, else the chain result. */
int px_on_head(px_req *p, bool *retry);
/** Caddy's finalizeResponse onto r->resp (status may be overridden, 0 = upstream's). */
int px_finalize(px_req *p, int status);
/** Sets {http.reverse_proxy.upstream.requests|max_requests|fails} for the attempt. */
void px_vars_attempt(px_req *p);
/** Sets {http.reverse_proxy.duration[_ms]} and upstream.duration at the end. */
void px_vars_end(px_req *p);
void px_hrc_push(px_req *p);
void px_hrc_drop(px_req *p);
/** Go's time.Duration.String(). */
const char *px_fmt_duration(cc_arena *a, int64_t ns);

/* ---- upgrades (rp_proxy_ws.c) ---- */

/** True when r asks for a protocol upgrade (Connection: upgrade + Upgrade). */
bool px_is_upgrade(const cc_req *r);
/** Runs one upgrade attempt to p->up; CC_ASYNC when started. */
int px_ws_attempt(px_req *p, const cc_headers *hdrs);

/* ---- the retry loop (rp_proxy.c) ---- */

/** Ends an attempt that failed with kind; retries or finishes the request. */
void px_attempt_failed(px_req *p, px_fail kind, int status, const char *msg);
/** Stops listening for the client going away (another handler may listen now). */
void px_unwatch(px_req *p);
/** Finishes p with rc (resumes the request when async). */
void px_finish(px_req *p, int rc);

#endif
