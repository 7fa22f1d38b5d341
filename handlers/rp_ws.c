/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy's raw upgrade path (handlers/rp_ws.h), first half: one attempt on the
 * worker loop -- resolve (off the worker when the name is not an address), non-blocking
 * connect with the dial timeout, the TLS handshake for an https upstream (rp_ws_tls.c),
 * the request head and body, the response head; a 101 is handed to the engine (the
 * splice is rp_ws_splice.c), anything else is read whole (bounded) and relayed as a
 * normal response. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../core/async.h"
#include "../core/log.h"
#include "rp_hdr.h"
#include "rp_ws_priv.h"

#define DEFAULT_DIAL_TIMEOUT 3000000000ull
#define DEFAULT_BUF (32u << 10)
#define READ_CHUNK (16u << 10)

struct ws_resolve {
    ws_stream *s; /* NULL once the attempt was cancelled */
    char *host, *port;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int err;
};

/* ---- buffers ---- */

static void buf_reserve(ws_buf *b, size_t extra)
{
    if (b->start && b->start == b->end)
        b->start = b->end = 0;
    if (b->end + extra <= b->cap)
        return;
    if (b->start) {
        memmove(b->p, b->p + b->start, b->end - b->start);
        b->end -= b->start;
        b->start = 0;
        if (b->end + extra <= b->cap)
            return;
    }
    size_t nc = b->cap ? b->cap : 4096;
    while (nc < b->end + extra)
        nc *= 2;
    b->p = cc_xrealloc(b->p, nc);
    b->cap = nc;
}

static void buf_put(ws_buf *b, const char *p, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->end, p, n);
    b->end += n;
}

static void buf_puts(ws_buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

/* ---- lifetime ---- */

static void on_arena_free(void *arg)
{
    ws_link *link = arg;
    ws_stream *s = link->s;
    if (!s)
        return;
    /* the request ended without us: the client went away, or the chain answered
     * something else than our 101, or the engine is stopping */
    s->r = NULL;
    s->link = NULL;
    s->done = NULL;
    s->body_waiting = false;
    if (s->state == WS_SPLICE)
        cc_rp_ws_splice_end(s);
    else
        cc_rp_ws_free(s);
}

void cc_rp_ws_free(ws_stream *s)
{
    if (s->link)
        s->link->s = NULL;
    if (s->resolving)
        s->resolving->s = NULL;
    if (s->body_waiting && s->r)
        cc_req_body_wait(s->r, NULL, NULL);
    cc_rp_ws_unregister(s);
    cc_loop_io_del(s->uio);
    cc_loop_io_del(s->cio);
    cc_loop_timer_free(s->timer);
    cc_loop_timer_free(s->kick);
    cc_rp_ws_tls_free(s);
    if (s->ufd >= 0)
        close(s->ufd);
    free(s->out.p);
    free(s->in.p);
    free(s->body);
    free(s->c2u.p);
    free(s->u2c.p);
    free(s->dial);
    free(s->up_type);
    free(s->tls_name);
    free(s->tls_ca_file);
    free(s->tls_ca_pem);
    free(s);
}

void cc_rp_ws_finish(ws_stream *s, cc_rp_ws_result res, int status)
{
    void (*done)(cc_req *, cc_rp_ws_result, int, void *) = s->done;
    void *ctx = s->done_ctx;
    cc_req *r = s->r;
    s->done = NULL;
    /* a 101 keeps the attempt alive for the engine's upgrade call; anything else is over
     * before done runs, so that done may end the request at once */
    if (!(res == CC_RP_WS_OK && status == 101))
        cc_rp_ws_free(s);
    if (done && r)
        done(r, res, status, ctx);
}

/* Failures found inside cc_rp_ws_start are reported from a zero timer, so that done
 * never runs inside the caller's own call. */
static void fail_later(ws_stream *s, cc_rp_ws_result res, int status, const char *why);

static void fail(ws_stream *s, cc_rp_ws_result res, int status, const char *why)
{
    cc_log(CC_LOG_DEBUG, "http.handlers.reverse_proxy", NULL, "upgrade attempt to %s: %s", s->dial,
           why);
    cc_rp_ws_finish(s, res, status);
}

/* ---- connecting ---- */

static bool write_upstream(ws_stream *s);
static void watch(ws_stream *s);

/* One step of the TLS handshake; on success the request goes out. */
static void handshake(ws_stream *s)
{
    const char *why = NULL;
    int rc = cc_rp_ws_tls_handshake(s, &why);
    if (rc < 0) {
        fail(s, CC_RP_WS_FAILED, 502, why);
        return;
    }
    if (rc == 0) {
        watch(s);
        return;
    }
    cc_loop_timer_stop(s->timer);
    s->state = WS_SENDING;
    watch(s);
    write_upstream(s);
}

static void on_upstream(cc_loop_io *io, int fd, unsigned events, void *ctx);
static void on_timer(cc_loop_timer *t, void *ctx);

/* Watches the upstream socket for what the state needs (before the splice): reading from
 * the handshake on, writing while request bytes remain; TLS adds writing while its own
 * output is not flushed. */
static void watch(ws_stream *s)
{
    if (!s->uio)
        return;
    bool rd = s->state == WS_HANDSHAKE || s->state == WS_SENDING || s->state == WS_HEAD ||
              s->state == WS_BODY;
    bool wr = s->state == WS_SENDING && (s->out.start != s->out.end ||
                                         (s->body_streaming && !s->body_eof && !s->body_waiting));
    cc_loop_io_mod(s->uio, cc_rp_ws_up_events(s, rd, wr));
}

static void start_connect(ws_stream *s, const struct sockaddr *sa, socklen_t sl)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail_later(s, CC_RP_WS_DIAL_FAILED, 502, "socket failed");
        return;
    }
    s->ufd = fd;
    if (sa->sa_family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (connect(fd, sa, sl) != 0 && errno != EINPROGRESS) {
        fail_later(s, CC_RP_WS_DIAL_FAILED, 502, strerror(errno));
        return;
    }
    s->state = WS_CONNECTING;
    s->uio = cc_loop_io_add(s->loop, fd, CC_LOOP_OUT, on_upstream, s);
    if (!s->uio) {
        fail_later(s, CC_RP_WS_DIAL_FAILED, 502, "cannot watch the upstream socket");
        return;
    }
    cc_loop_timer_start(s->timer, s->dial_timeout);
}

static void fail_later(ws_stream *s, cc_rp_ws_result res, int status, const char *why)
{
    cc_log(CC_LOG_DEBUG, "http.handlers.reverse_proxy", NULL, "upgrade attempt to %s: %s", s->dial,
           why);
    s->state = WS_DEAD;
    s->pend_res = res;
    s->pend_status = status;
    cc_loop_io_del(s->uio);
    s->uio = NULL;
    cc_loop_timer_start(s->timer, 0);
}

static void resolve_work(void *arg)
{
    ws_resolve *q = arg;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    q->err = getaddrinfo(q->host, q->port, &hints, &res);
    if (q->err == 0 && res) {
        memcpy(&q->addr, res->ai_addr, res->ai_addrlen);
        q->addrlen = res->ai_addrlen;
    } else if (q->err == 0) {
        q->err = EAI_NONAME;
    }
    if (res)
        freeaddrinfo(res);
}

static void resolve_done(cc_req *r, void *arg)
{
    (void)r;
    ws_resolve *q = arg;
    ws_stream *s = q->s;
    if (s) {
        s->resolving = NULL;
        if (q->err)
            fail(s, CC_RP_WS_DIAL_FAILED, 502, gai_strerror(q->err));
        else
            start_connect(s, (struct sockaddr *)&q->addr, q->addrlen);
    }
    free(q->host);
    free(q->port);
    free(q);
}

/* Splits "host:port" / "[v6]:port" (Go's SplitHostPort shape). */
static bool split_hp(const char *hp, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *colon;
    const char *h = hp;
    size_t hn;
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        if (!rb || rb[1] != ':')
            return false;
        h = hp + 1;
        hn = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(hp, ':');
        if (!colon || strchr(hp, ':') != colon)
            return false;
        hn = (size_t)(colon - hp);
    }
    size_t pn = strlen(colon + 1);
    if (hn >= hcap || pn == 0 || pn >= pcap)
        return false;
    memcpy(host, h, hn);
    host[hn] = 0;
    memcpy(port, colon + 1, pn + 1);
    return true;
}

static void begin_dial(ws_stream *s)
{
    if (s->is_unix) {
        struct sockaddr_un su = {.sun_family = AF_UNIX};
        const char *path = s->dial + 5;
        if (strlen(path) >= sizeof(su.sun_path)) {
            fail_later(s, CC_RP_WS_DIAL_FAILED, 502, "unix socket path too long");
            return;
        }
        strcpy(su.sun_path, path);
        start_connect(s, (struct sockaddr *)&su, sizeof(su));
        return;
    }
    char host[256], port[16];
    if (!split_hp(s->dial, host, sizeof(host), port, sizeof(port))) {
        fail_later(s, CC_RP_WS_DIAL_FAILED, 502, "invalid dial address");
        return;
    }
    char *pe;
    long pv = strtol(port, &pe, 10);
    if (*pe || pv <= 0 || pv > 65535) {
        fail_later(s, CC_RP_WS_DIAL_FAILED, 502, "invalid port");
        return;
    }
    struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)pv)};
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)pv)};
    if (strcasecmp(host, "localhost") == 0 || !host[0])
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &s4.sin_addr) == 1) {
        start_connect(s, (struct sockaddr *)&s4, sizeof(s4));
        return;
    }
    if (inet_pton(AF_INET6, host, &s6.sin6_addr) == 1) {
        start_connect(s, (struct sockaddr *)&s6, sizeof(s6));
        return;
    }
    /* a name: getaddrinfo blocks, so it runs on the offload pool */
    ws_resolve *q = cc_xcalloc(1, sizeof(*q));
    q->s = s;
    q->host = cc_xstrdup(host);
    q->port = cc_xstrdup(port);
    s->resolving = q;
    s->state = WS_RESOLVING;
    if (cc_req_offload(s->r, resolve_work, resolve_done, q) != CC_OK) {
        s->resolving = NULL;
        free(q->host);
        free(q->port);
        free(q);
        fail_later(s, CC_RP_WS_DIAL_FAILED, 502, "cannot resolve the upstream name now");
        return;
    }
    cc_loop_timer_start(s->timer, s->dial_timeout);
}

/* ---- the request ---- */

static void on_body_ready(cc_req *r, void *ctx)
{
    ws_stream *s = ctx;
    cc_req_body_wait(r, NULL, NULL);
    s->body_waiting = false;
    if (s->state == WS_SENDING)
        watch(s);
}

/* Refills s->out from a streaming request body; false on a body error. */
static bool pump_body(ws_stream *s)
{
    cc_body *b = s->r ? s->r->body : NULL;
    if (!b || !b->read) {
        s->body_eof = true;
        return true;
    }
    buf_reserve(&s->out, READ_CHUNK + 32);
    char *base = s->out.p + s->out.end;
    ssize_t n = b->read(b, base + 16, READ_CHUNK);
    if (n == CC_EAGAIN) {
        s->body_waiting = true;
        cc_req_body_wait(s->r, on_body_ready, s);
        return true;
    }
    if (n < 0)
        return false;
    if (n == 0) {
        s->body_eof = true;
        if (s->body_chunked)
            buf_puts(&s->out, "0\r\n\r\n");
        return true;
    }
    if (!s->body_chunked) {
        memmove(base, base + 16, (size_t)n);
        s->out.end += (size_t)n;
        return true;
    }
    char h[16];
    int hl = snprintf(h, sizeof(h), "%zx\r\n", (size_t)n);
    memcpy(base + 16 - hl, h, (size_t)hl);
    memmove(base, base + 16 - hl, (size_t)hl + (size_t)n);
    s->out.end += (size_t)hl + (size_t)n;
    buf_puts(&s->out, "\r\n");
    return true;
}

static void build_head(ws_stream *s, cc_req *r, const char *target, const cc_headers *hdrs)
{
    ws_buf *o = &s->out;
    buf_puts(o, r->method);
    buf_puts(o, " ");
    buf_puts(o, target && *target ? target : "/");
    buf_puts(o, " HTTP/1.1\r\n");
    for (size_t i = 0; hdrs && i < hdrs->n; i++) {
        const char *n = hdrs->v[i].name, *v = hdrs->v[i].value ? hdrs->v[i].value : "";
        /* we frame the body ourselves; a value with a line break never goes out */
        if (strcasecmp(n, "Content-Length") == 0 || strcasecmp(n, "Transfer-Encoding") == 0 ||
            strpbrk(n, "\r\n: ") || strpbrk(v, "\r\n") || !*n)
            continue;
        buf_puts(o, n);
        buf_puts(o, ": ");
        buf_puts(o, v);
        buf_puts(o, "\r\n");
    }
    cc_body *b = r->body;
    if (b && b->mem) {
        char cl[48];
        snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n\r\n", b->mem_len);
        buf_puts(o, cl);
        buf_put(o, b->mem, b->mem_len);
        return;
    }
    if (b && b->read) {
        s->body_streaming = true;
        if (r->content_length >= 0) {
            char cl[48];
            snprintf(cl, sizeof(cl), "Content-Length: %lld\r\n", (long long)r->content_length);
            buf_puts(o, cl);
        } else {
            s->body_chunked = true;
            buf_puts(o, "Transfer-Encoding: chunked\r\n");
        }
    }
    buf_puts(o, "\r\n");
}

/* ---- the response ---- */

static int body_emit(void *ctx, const char *d, size_t n)
{
    ws_stream *s = ctx;
    if (s->blen + n > WS_MAX_BODY)
        return CC_ERR;
    if (s->blen + n > s->bcap) {
        size_t nc = s->bcap ? s->bcap : 4096;
        while (nc < s->blen + n)
            nc *= 2;
        s->body = cc_xrealloc(s->body, nc);
        s->bcap = nc;
    }
    memcpy(s->body + s->blen, d, n);
    s->blen += n;
    return CC_OK;
}

static void set_proto(ws_stream *s)
{
    static const char *const names[] = {"HTTP/1.0", "HTTP/1.1"};
    if (s->r)
        cc_vars_set(s->r->arena, &s->r->vars, CC_RP_HDR_PROTO_VAR,
                    names[s->head.minor == 0 ? 0 : 1]);
}

static void deliver(ws_stream *s)
{
    cc_req *r = s->r;
    set_proto(s);
    if (r) {
        r->resp.status = s->head.status;
        r->resp.headers = s->head.hdrs;
        r->resp.body =
            s->blen ? cc_body_mem(r->arena, cc_arena_strndup(r->arena, s->body, s->blen), s->blen)
                    : NULL;
    }
    cc_rp_ws_finish(s, CC_RP_WS_OK, s->head.status);
}

/* Printable ASCII (Caddy's asciiIsPrint check on the upstream's Upgrade). */
static bool printable(const char *v)
{
    for (; *v; v++)
        if (*v < ' ' || *v > '~')
            return false;
    return true;
}

static void got_101(ws_stream *s)
{
    const char *up = cc_headers_get(&s->head.hdrs, "Upgrade");
    bool conn_up = false;
    for (size_t i = 0; i < s->head.hdrs.n; i++)
        if (strcasecmp(s->head.hdrs.v[i].name, "Connection") == 0 &&
            strcasestr(s->head.hdrs.v[i].value, "upgrade"))
            conn_up = true;
    if (!up || !conn_up || !printable(up) || !s->up_type || strcasecmp(up, s->up_type) != 0) {
        fail(s, CC_RP_WS_FAILED, 502, "backend switched to an unexpected protocol");
        return;
    }
    /* bytes after the head are already the upstream's side of the new protocol */
    size_t left = s->in.end - s->in.start;
    buf_reserve(&s->u2c, left > s->bufsize ? left : s->bufsize);
    buf_put(&s->u2c, s->in.p + s->in.start, left);
    s->in.start = s->in.end = 0;
    s->state = WS_WAIT_UP;
    watch(s);
    cc_req *r = s->r;
    set_proto(s);
    r->resp.status = 101;
    r->resp.headers = s->head.hdrs;
    r->resp.body = NULL;
    r->resp.upgrade = cc_rp_ws_on_upgrade;
    r->resp.upgrade_abort = cc_rp_ws_on_upgrade_abort;
    r->resp.upgrade_ctx = s;
    cc_rp_ws_finish(s, CC_RP_WS_OK, 101);
}

/* Picks the body framing of a non-101 head (Go's transfer.go rules, strictly). */
static bool framing_of(ws_stream *s)
{
    int st = s->head.status;
    if (s->head_req || st == 204 || st == 304 || st < 200) {
        s->framing = WF_NONE;
        return true;
    }
    const char *te = NULL;
    for (size_t i = 0; i < s->head.hdrs.n; i++)
        if (strcasecmp(s->head.hdrs.v[i].name, "Transfer-Encoding") == 0) {
            if (te)
                return false;
            te = s->head.hdrs.v[i].value;
        }
    if (te) {
        if (strcasecmp(te, "chunked") != 0)
            return false;
        s->framing = WF_CHUNKED;
        s->chunk = (ws_chunk){0};
        return true;
    }
    const char *cl = NULL;
    for (size_t i = 0; i < s->head.hdrs.n; i++)
        if (strcasecmp(s->head.hdrs.v[i].name, "Content-Length") == 0) {
            const char *v = s->head.hdrs.v[i].value;
            if (cl && strcmp(cl, v) != 0)
                return false;
            cl = v;
        }
    if (cl) {
        if (!*cl || strspn(cl, "0123456789") != strlen(cl) || strlen(cl) > 15)
            return false;
        s->remaining = strtoull(cl, NULL, 10);
        if (s->remaining > WS_MAX_BODY)
            return false;
        s->framing = WF_LENGTH;
        return true;
    }
    s->framing = WF_CLOSE;
    return true;
}

/* Consumes s->in. Returns false when the attempt ended (s may be gone: do not touch
 * it), true when more bytes are needed. */
static bool process(ws_stream *s)
{
    while (s->state == WS_HEAD || s->state == WS_SENDING || s->state == WS_BODY) {
        ws_buf *in = &s->in;
        size_t avail = in->end - in->start;
        if (s->state != WS_BODY) {
            size_t hl = cc_rp_ws_head_end(in->p + in->start, avail, s->scanned);
            if (!hl) {
                s->scanned = avail;
                if (avail > WS_MAX_HEAD) {
                    fail(s, CC_RP_WS_FAILED, 502, "response head too large");
                    return false;
                }
                return true;
            }
            const char *why = NULL;
            if (!s->r ||
                cc_rp_ws_head_parse(s->r->arena, in->p + in->start, hl, &s->head, &why) != CC_OK) {
                fail(s, CC_RP_WS_FAILED, 502, why ? why : "request gone");
                return false;
            }
            in->start += hl;
            s->scanned = 0;
            if (s->head.status == 101) {
                got_101(s);
                return false;
            }
            if (s->head.status < 200)
                continue; /* 100 Continue, 103 Early Hints: the final answer follows */
            if (!framing_of(s)) {
                fail(s, CC_RP_WS_FAILED, 502, "bad response framing");
                return false;
            }
            /* the upstream answered: what is left of the request body is not needed */
            s->state = WS_BODY;
            if (s->body_waiting && s->r) {
                cc_req_body_wait(s->r, NULL, NULL);
                s->body_waiting = false;
            }
            watch(s);
            if (s->framing == WF_NONE || (s->framing == WF_LENGTH && s->remaining == 0)) {
                deliver(s);
                return false;
            }
            continue;
        }
        if (!avail)
            return true;
        const char *p = in->p + in->start;
        if (s->framing == WF_CHUNKED) {
            size_t used = 0;
            int rc = cc_rp_ws_chunk_feed(&s->chunk, p, avail, &used, body_emit, s);
            in->start += used;
            if (rc == WS_CHUNK_ERR) {
                fail(s, CC_RP_WS_FAILED, 502, "bad chunked body");
                return false;
            }
            if (rc == WS_CHUNK_DONE) {
                deliver(s);
                return false;
            }
            return true;
        }
        size_t k = avail;
        if (s->framing == WF_LENGTH && k > s->remaining)
            k = (size_t)s->remaining;
        if (body_emit(s, p, k) != CC_OK) {
            fail(s, CC_RP_WS_FAILED, 502, "response body too large");
            return false;
        }
        in->start += k;
        if (s->framing == WF_LENGTH) {
            s->remaining -= k;
            if (!s->remaining) {
                deliver(s);
                return false;
            }
        }
        return true;
    }
    return true;
}

static void on_eof(ws_stream *s)
{
    if (s->state == WS_BODY && s->framing == WF_CLOSE) {
        deliver(s);
        return;
    }
    fail(s, CC_RP_WS_FAILED, 502,
         s->state == WS_BODY ? "unexpected EOF in the response body" : "EOF before the response");
}

/* False when the attempt ended (s may be gone). */
static bool read_upstream(ws_stream *s)
{
    /* TLS reads on until wolfSSL wants more from the socket: what it already holds would
     * not wake the loop up (the head and body are bounded, so this ends) */
    for (int rounds = 0; rounds < 8 || s->tls; rounds++) {
        buf_reserve(&s->in, READ_CHUNK);
        ssize_t n = cc_rp_ws_up_recv(s, s->in.p + s->in.end, s->in.cap - s->in.end);
        if (n > 0) {
            s->in.end += (size_t)n;
            if (!process(s))
                return false; /* ended: s may be gone */
            continue;
        }
        if (n == 0) {
            on_eof(s);
            return false;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return true;
        if (errno == EINTR)
            continue;
        fail(s, CC_RP_WS_FAILED, 502, strerror(errno));
        return false;
    }
    return true;
}

/* Sends what s->out holds, refilled from a streaming body. False when the attempt
 * ended (s may be gone). */
static bool write_upstream(ws_stream *s)
{
    for (;;) {
        if (s->out.start == s->out.end) {
            if (!s->body_streaming || s->body_eof || s->body_waiting) {
                if (s->state == WS_SENDING && (!s->body_streaming || s->body_eof))
                    s->state = WS_HEAD;
                watch(s);
                return true;
            }
            if (!pump_body(s)) {
                fail(s, CC_RP_WS_FAILED, 502, "reading the request body failed");
                return false;
            }
            continue;
        }
        ssize_t n = cc_rp_ws_up_send(s, s->out.p + s->out.start, s->out.end - s->out.start);
        if (n > 0) {
            s->out.start += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch(s);
            return true;
        }
        if (n < 0 && errno == EINTR)
            continue;
        /* the upstream may have answered and closed early: read what it said */
        s->body_eof = true;
        s->out.start = s->out.end = 0;
        s->state = WS_HEAD;
        watch(s);
        return true;
    }
}

static void on_upstream(cc_loop_io *io, int fd, unsigned events, void *ctx)
{
    (void)io;
    ws_stream *s = ctx;
    if (s->state == WS_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
            err = errno;
        if (err) {
            fail(s, CC_RP_WS_DIAL_FAILED, 502, strerror(err));
            return;
        }
        if (!(events & (CC_LOOP_OUT | CC_LOOP_ERR)))
            return;
        if (s->use_tls) {
            /* the dial timer keeps running: it covers the handshake too */
            const char *why = NULL;
            if (cc_rp_ws_tls_begin(s, &why) != CC_OK) {
                fail(s, CC_RP_WS_FAILED, 502, why);
                return;
            }
            s->state = WS_HANDSHAKE;
            handshake(s);
            return;
        }
        cc_loop_timer_stop(s->timer);
        s->state = WS_SENDING;
        watch(s);
        write_upstream(s);
        return;
    }
    if (s->state == WS_HANDSHAKE) {
        handshake(s);
        return;
    }
    /* TLS output the socket did not take yet (request bytes, alerts) */
    if (s->tls && cc_rp_ws_up_flush(s) < 0 && s->state == WS_SENDING) {
        s->body_eof = true;
        s->out.start = s->out.end = 0;
        s->state = WS_HEAD;
    }
    if ((events & CC_LOOP_OUT) && s->state == WS_SENDING && !write_upstream(s))
        return;
    if ((events & (CC_LOOP_IN | CC_LOOP_ERR)) &&
        (s->state == WS_SENDING || s->state == WS_HEAD || s->state == WS_BODY) && !read_upstream(s))
        return;
    watch(s);
}

static void on_timer(cc_loop_timer *t, void *ctx)
{
    (void)t;
    ws_stream *s = ctx;
    switch (s->state) {
    case WS_DEAD:
        cc_rp_ws_finish(s, s->pend_res, s->pend_status);
        return;
    case WS_RESOLVING:
    case WS_CONNECTING:
        /* Go's dialer: "dial tcp ...: i/o timeout", a net timeout Caddy answers with 504 */
        fail(s, CC_RP_WS_DIAL_FAILED, 504, "dial timeout");
        return;
    case WS_HANDSHAKE:
        /* nothing of the request was sent: as safe to retry as a dial failure */
        fail(s, CC_RP_WS_DIAL_FAILED, 504, "TLS handshake timeout");
        return;
    default:
        return;
    }
}

/* ---- entry ---- */

static void tls_opts(ws_stream *s, const cc_rp_ws_opts *o)
{
    s->use_tls = true;
    s->tls_insecure = o->tls_insecure;
    if (o->tls_server_name && *o->tls_server_name) {
        s->tls_name = cc_xstrdup(o->tls_server_name);
    } else if (!s->is_unix) {
        /* Go's transport verifies the host of the upstream address */
        char host[256], port[16];
        if (split_hp(s->dial, host, sizeof(host), port, sizeof(port)) && host[0])
            s->tls_name = cc_xstrdup(host);
    }
    if (o->tls_ca_pem && o->tls_ca_pem_len) {
        s->tls_ca_pem = cc_xmalloc(o->tls_ca_pem_len);
        memcpy(s->tls_ca_pem, o->tls_ca_pem, o->tls_ca_pem_len);
        s->tls_ca_pem_len = o->tls_ca_pem_len;
    } else if (o->tls_ca_file && *o->tls_ca_file) {
        s->tls_ca_file = cc_xstrdup(o->tls_ca_file);
    }
}

int cc_rp_ws_start(cc_req *r, const cc_rp_ws_opts *o, const char *target, const cc_headers *hdrs,
                   void (*done)(cc_req *r, cc_rp_ws_result res, int status, void *ctx), void *ctx)
{
    cc_loop *l = cc_loop_current();
    if (!l || !o || !o->dial || !done)
        return CC_ERR;
    ws_stream *s = cc_xcalloc(1, sizeof(*s));
    s->loop = l;
    s->r = r;
    s->ufd = s->cfd = -1;
    s->dial = cc_xstrdup(o->dial);
    s->is_unix = strncmp(o->dial, "unix/", 5) == 0;
    s->dial_timeout = o->dial_timeout > 0 ? (uint64_t)o->dial_timeout : DEFAULT_DIAL_TIMEOUT;
    s->stream_timeout = o->stream_timeout > 0 ? (uint64_t)o->stream_timeout : 0;
    s->close_delay = o->stream_close_delay > 0 ? (uint64_t)o->stream_close_delay : 0;
    s->bufsize = o->buffer_size ? o->buffer_size : DEFAULT_BUF;
    s->done = done;
    s->done_ctx = ctx;
    s->head_req = strcmp(r->method, "HEAD") == 0;
    const char *up = hdrs ? cc_headers_get(hdrs, "Upgrade") : NULL;
    if (up && *up) {
        s->up_type = cc_xstrdup(up);
        for (char *c = s->up_type; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c + 32);
        s->websocket = strcmp(s->up_type, "websocket") == 0;
    }
    s->timer = cc_loop_timer_new(l, on_timer, s);
    if (!s->timer) {
        cc_rp_ws_free(s);
        return CC_ERR;
    }
    ws_link *link = cc_arena_alloc(r->arena, sizeof(*link));
    link->s = s;
    s->link = link;
    cc_arena_defer(r->arena, on_arena_free, link);
    cc_rp_ws_register(s);
    build_head(s, r, target, hdrs);
    if (o->tls)
        tls_opts(s, o);
    begin_dial(s);
    return CC_OK;
}
