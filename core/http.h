/* SPDX-License-Identifier: Apache-2.0
 * The engine-neutral HTTP request and response (architecture.md "handler contract").
 * The engine (engine/, libmicrohttpd today) fills a cc_req, runs the server's routes,
 * and writes the cc_resp they produce; handlers never see the engine. Everything a
 * request allocates lives in its arena, freed when the engine reports the request done
 * (including client aborts). One request stays on one worker thread, so nothing here
 * is locked. */
#ifndef CC_HTTP_H
#define CC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "arena.h"
#include "cfg.h"
#include "err.h"
#include "ipnet.h"

/* ---- headers: ordered, duplicates kept, names compared case-insensitively ---- */

typedef struct cc_header {
    const char *name; /* as received / as set (case kept for the wire) */
    const char *value;
} cc_header;

typedef struct cc_headers {
    cc_header *v;
    size_t n, cap;
} cc_headers;

/** First value of name, or NULL. */
const char *cc_headers_get(const cc_headers *h, const char *name);
/** All values of name joined with "," (Caddy's placeholder rule), arena-owned; NULL if
 * absent. */
const char *cc_headers_get_joined(cc_arena *a, const cc_headers *h, const char *name);
/** Appends a field (strings are borrowed: they must live as long as the request). */
void cc_headers_add(cc_arena *a, cc_headers *h, const char *name, const char *value);
/** Replaces every field of that name by one field (appended when absent). */
void cc_headers_set(cc_arena *a, cc_headers *h, const char *name, const char *value);
/** Deletes every field of that name; returns how many. */
size_t cc_headers_del(cc_headers *h, const char *name);
/** Number of fields named name. */
size_t cc_headers_count(const cc_headers *h, const char *name);

/* ---- bodies: pull sources ---- */

typedef struct cc_body cc_body;
struct cc_body {
    /* Complete in-memory body (the fast path: header and body in one send). */
    const char *mem;
    size_t mem_len;
    /* File body: the engine may sendfile fd[off, off+len). The engine closes fd when the
     * response is done (so a handler opening a file hands the fd over). -1 when unused. */
    int fd;
    int64_t off;
    /* Total length in bytes, or -1 when unknown (chunked / close-delimited). */
    int64_t len;
    /* Streaming source (used when mem == NULL and fd < 0): returns >0 bytes copied into
     * buf, 0 at the end, or CC_ERR on failure. A source with `async` set may also return
     * CC_EAGAIN: nothing is available now, and the source will announce more data (or
     * its end, or an error) later -- a response body through cc_resp_body_ready(), a
     * request body through the engine calling cc_req_body_ready(). A filter that wraps
     * an async body (encode) must pass CC_EAGAIN through after returning what it has,
     * and copy `async` to its own body. */
    ssize_t (*read)(cc_body *b, char *buf, size_t cap);
    bool async;
    /* Releases the source; called once by the engine when the response is done. */
    void (*close)(cc_body *b);
    void *ctx;
};

/** A body over arena (or static) memory. */
cc_body *cc_body_mem(cc_arena *a, const char *p, size_t n);
/** A body over an open file: fd is taken over, [off, off+len) is sent. */
cc_body *cc_body_fd(cc_arena *a, int fd, int64_t off, int64_t len);

/* ---- connection and request ---- */

typedef struct cc_conn {
    const char *remote_ip; /* textual, IPv6 without brackets */
    int remote_port;
    const char *local_ip;
    int local_port;
    bool tls; /* false until the TLS front exists */
    const char *tls_server_name, *tls_version, *tls_cipher, *tls_proto;
    /* remote_ip parsed once per connection by the engine, so requests need not parse it
     * again; remote_addr_ok false = not parsed (parse remote_ip when needed) */
    bool remote_addr_ok;
    cc_ip remote_addr;
} cc_conn;

/* Request variables ({http.vars.*}, root, client_ip, regexp captures ...): a small
 * ordered map, later writes win. */
typedef struct cc_var {
    const char *name;
    const char *value;
} cc_var;
typedef struct cc_vars {
    cc_var *v;
    size_t n, cap;
} cc_vars;
const char *cc_vars_get(const cc_vars *vs, const char *name);
void cc_vars_set(cc_arena *a, cc_vars *vs, const char *name, const char *value);

/* The error a handler raised; handle_errors sees it as {err.*}. */
typedef struct cc_http_err {
    int status;          /* 0 = no error */
    const char *message; /* for {err.message}; never sent to the client by default */
    const char *id;      /* short random id for {err.id} */
    const char *trace;   /* "file:line" of the handler that raised it */
} cc_http_err;

typedef struct cc_req cc_req;

/* A response filter runs when the response head is committed, innermost (last added)
 * first. It may change status and headers and wrap resp.body (that is how encode and
 * deferred header ops work); it returns CC_OK or CC_ERR. */
typedef int (*cc_resp_filter_fn)(cc_req *r, void *ctx);
typedef struct cc_resp_filter {
    cc_resp_filter_fn fn;
    void *ctx;
    struct cc_resp_filter *next;
} cc_resp_filter;

typedef struct cc_resp {
    int status; /* 0 until a handler answers; the server turns 0 into 200 */
    cc_headers headers;
    cc_body *body; /* NULL = empty body */
    bool close;    /* close the connection after this response (respond close) */
    bool abort;    /* drop the connection without any response (abort) */
    cc_resp_filter *filters;
    /* Set by the engine while it writes an async body: cc_resp_body_ready() calls it. */
    void (*on_body_ready)(cc_req *r);
    /* Protocol upgrade (WebSocket and any Upgrade): a handler that answers 101 sets
     * upgrade; after the engine has sent the 101 head (with resp.headers, plus its own
     * "Connection: Upgrade") it calls upgrade(r, fd, extra, n, ctx) on the worker thread:
     * fd is the client socket (non-blocking; behind the TLS front it is the plain end of
     * the pump), extra/n the bytes the client sent after the request (forward them
     * first). From then on the handler owns the stream (cc_loop watches on fd) and ends
     * it with cc_req_upgrade_close(r), which closes the client side; the request (and
     * its arena, where the stream's state may live) is then complete. extra stays valid
     * until then. Not called if the client went away first (upgrade_abort is, when set).
     * upgrade_abort is also called on an established stream when its listener is drained
     * or the engine stops: the handler ends the stream with cc_req_upgrade_close (at once,
     * or after a delay of its own); streams without upgrade_abort are closed by the
     * engine, and so is every stream still open when a stop's grace period ends. Delete
     * the stream's loop watches before cc_req_upgrade_close (or in an arena cleanup). */
    void (*upgrade)(cc_req *r, int fd, const char *extra, size_t n, void *ctx);
    void (*upgrade_abort)(cc_req *r, void *ctx);
    void *upgrade_ctx;
} cc_resp;

struct cc_server;

struct cc_req {
    cc_arena *arena;
    const cc_conn *conn;
    const struct cc_server *server;

    /* Request line. target is the raw request-target as received (never decoded): it is
     * what reverse_proxy forwards. path is the percent-decoded path, raw_path the escaped
     * one, query the raw query without '?'. Rewrites change method/path/raw_path/query. */
    const char *method;
    const char *target;
    const char *path;
    const char *raw_path;
    const char *query;
    const char *proto; /* "HTTP/1.1" */
    int proto_major, proto_minor;
    const char *scheme;   /* "http" or "https" */
    const char *host;     /* Host without port, lower-cased; "" when absent */
    const char *port;     /* port from Host, else the listener's */
    const char *hostport; /* Host as received */

    /* Originals for {orig_*}: set once by the engine, never rewritten. */
    const char *orig_method, *orig_target, *orig_path, *orig_query;

    cc_headers headers;
    /* Request body, or NULL when there is none. Small bodies (up to the engine's buffer,
     * 64 KiB) are received whole before handlers run (body->mem). Larger ones stream:
     * body->async is set, handlers run as soon as the head is in, and body->read returns
     * what has arrived, CC_EAGAIN when nothing has yet (the engine then calls
     * cc_req_body_ready() when more arrives, the body ends, or the client fails; always
     * from its loop, never from inside read()), 0 at the end, CC_ERR when the client went
     * away. Streamed bodies have no engine cap (request_body max_size limits them). The
     * engine applies backpressure: it stops reading from the client while its buffer is
     * full, and a read that frees space resumes it. Once the chain has answered (the
     * response is ready) or the body was closed, reads fail with CC_ERR: the engine
     * drains and discards the rest before the response is written (as Go's server does;
     * with more than 256 KiB known to be left when the handlers answer at once, it answers
     * right away with Connection: close instead). */
    cc_body *body;
    int64_t content_length; /* -1 when unknown */
    /* Who waits for a streaming request body (see body): set with cc_req_body_wait. */
    void (*body_ready_fn)(cc_req *r, void *ctx);
    void *body_ready_ctx;
    /* Who to tell when the client goes away while the chain is pending: set with
     * cc_req_on_gone. */
    void (*gone_fn)(cc_req *r, void *ctx);
    void *gone_ctx;

    cc_vars vars;
    cc_http_err err;
    cc_resp resp;

    struct timespec start;  /* CLOCK_REALTIME at arrival */
    uint64_t start_mono_ns; /* CLOCK_MONOTONIC at arrival, for durations */
    const char *uuid;       /* lazily made by {uuid} */
    void *engine;           /* engine-private */

    /* Asynchronous completion (core/async.h). pending is set while a handler that
     * returned CC_ASYNC has not finished; the engine waits (without blocking its worker)
     * and learns of completion through engine_done, which it sets before running the
     * server. async_phase is the core's bookkeeping. */
    bool pending;
    unsigned char async_phase;
    cc_http_err first_err; /* the error that started the error routes */
    void (*engine_done)(cc_req *r);
};

/** A producer of an async response body: more data (or the end, or an error) is ready.
 * Calls resp.on_body_ready when the engine set it; otherwise nothing (the engine has not
 * started reading, and will). Worker thread only; may be called from inside the body's
 * own read(); must not be called once the engine has closed the body. */
void cc_resp_body_ready(cc_req *r);
/** Registers fn(r, ctx) to run (on the worker thread) whenever a read of r's streaming
 * request body returned CC_EAGAIN and more is now available; fn NULL unregisters. */
void cc_req_body_wait(cc_req *r, void (*fn)(cc_req *r, void *ctx), void *ctx);
/** The engine: the streaming request body has news; runs body_ready_fn if set. */
void cc_req_body_ready(cc_req *r);
/** Registers fn(r, ctx) to run once, on the worker thread, when the client goes away
 * while r's chain is pending (a handler returned CC_ASYNC and has not reported with
 * cc_req_resume yet): the handler cancels its work (reverse_proxy cancels its upstream
 * exchange) and still reports with cc_req_resume, after which the engine frees the
 * request. fn NULL unregisters. */
void cc_req_on_gone(cc_req *r, void (*fn)(cc_req *r, void *ctx), void *ctx);
/** The engine: the client of a pending request went away; runs (and clears) the
 * callback registered with cc_req_on_gone, if any. */
void cc_req_gone(cc_req *r);
/** Ends an upgraded stream (see cc_resp.upgrade): closes the client side and completes
 * the request. Worker thread only; once per upgrade. */
void cc_req_upgrade_close(cc_req *r);
/* The engine installs how an upgraded connection is closed. */
void cc_upgrade_set_closer(void (*fn)(cc_req *r));

/** Records an error (status, printf message) on r and returns CC_ERR, for handlers:
 * `return cc_req_fail(r, 404, "no such file");`. */
int cc_req_fail(cc_req *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** Registers a response filter (see cc_resp_filter_fn). */
void cc_resp_add_filter(cc_req *r, cc_resp_filter_fn fn, void *ctx);
/** Convenience: status + in-memory body (copied into the arena) + Content-Type when not
 * NULL. */
void cc_resp_set_text(cc_req *r, int status, const char *content_type, const char *body,
                      size_t len);
/** A Content-Length value: decimal digits only, no sign or space; -1 when invalid or
 * beyond int64. */
int64_t cc_http_parse_length(const char *v);
/** True when the comma-separated header value v holds token tok (case-insensitive,
 * spaces trimmed; Go's httpguts.HeaderValuesContainsToken for one value). NULL v: false. */
bool cc_http_list_has(const char *v, const char *tok);

/** Standard reason phrase ("Not Found"), "" for unknown codes. */
const char *cc_http_status_text(int status);
/** Nanoseconds of CLOCK_MONOTONIC. */
uint64_t cc_now_mono_ns(void);

/* ---- dates (http_date.c) ---- */

/** Formats t as an HTTP date (IMF-fixdate, always 29 characters). */
void cc_http_date(char out[32], time_t t);
/** Parses the three HTTP date forms Go accepts; false when malformed. */
bool cc_http_parse_date(const char *s, time_t *out);

#endif
