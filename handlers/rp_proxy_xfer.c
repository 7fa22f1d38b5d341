/* SPDX-License-Identifier: Apache-2.0
 * One upstream exchange of reverse_proxy on a libcurl easy handle: the options of an
 * attempt (upstream address, raw request target, the header list from cc_rp_hdr_up,
 * method and body framing, transport options), and the callbacks that collect the
 * response head, feed the response ring and pull the request body. Callbacks never
 * re-enter curl or the engine: they record what happened and queue the request for
 * px_attend (rp_proxy_loop.c). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rp_proxy.h"

static uint64_t now_ns(px_req *p)
{
    return p->pl && p->pl->loop ? cc_loop_now(p->pl->loop) : cc_now_mono_ns();
}

/* ---- response head ---- */

static void parse_status(px_req *p, const char *b, size_t l)
{
    /* "HTTP/1.1 200 OK", "HTTP/2 200" */
    p->status = 0;
    p->ver_major = 1;
    p->ver_minor = 1;
    size_t i = 5;
    if (i < l && b[i] >= '0' && b[i] <= '9')
        p->ver_major = b[i++] - '0';
    p->ver_minor = 0;
    if (i + 1 < l && b[i] == '.' && b[i + 1] >= '0' && b[i + 1] <= '9') {
        p->ver_minor = b[i + 1] - '0';
        i += 2;
    }
    while (i < l && b[i] == ' ')
        i++;
    int code = 0, digits = 0;
    while (i < l && b[i] >= '0' && b[i] <= '9' && digits < 3) {
        code = code * 10 + (b[i++] - '0');
        digits++;
    }
    while (i < l && b[i] == ' ')
        i++;
    p->status = digits == 3 ? code : 0;
    cc_arena *a = p->r->arena;
    const char *reason = i < l ? cc_arena_strndup(a, b + i, l - i) : cc_http_status_text(code);
    p->status_line = cc_arena_printf(a, "%d %s", p->status, reason);
    p->rh.n = 0;
}

bool px_head_line(px_req *p, const char *b, size_t len)
{
    if (p->head_done)
        return true; /* trailers: the engine has no way to send them */
    p->rh_bytes += len;
    if (p->h->tr.max_header > 0 && (int64_t)p->rh_bytes > p->h->tr.max_header) {
        p->fail_msg_xfer = "net/http: server response headers exceeded the limit";
        return false;
    }
    size_t l = len;
    while (l && (b[l - 1] == '\r' || b[l - 1] == '\n'))
        l--;
    cc_arena *a = p->r->arena;
    if (l == 0) {
        if (p->status >= 100 && p->status < 200 && p->status != 101) {
            /* an interim response (100, 103): MHD cannot relay it; the final one follows */
            p->rh.n = 0;
            p->rh_bytes = 0;
            return true;
        }
        p->head_done = true;
        p->last_rx = now_ns(p);
        p->resp_cl = cc_http_parse_length(cc_headers_get(&p->rh, "Content-Length"));
        if ((p->status == 204 || p->status == 304) && p->x &&
            (cc_headers_get(&p->rh, "Transfer-Encoding") ||
             strcmp(cc_headers_get(&p->rh, "Content-Length") ?: "0", "0") != 0)) {
            /* a body where none may be: its bytes would be read as the next response on
             * this connection (Go closes such a connection too) */
            curl_easy_setopt(p->x->easy, CURLOPT_FORBID_REUSE, 1L);
        }
        p->a_head = true;
        px_attn(p);
        return true;
    }
    if (l >= 5 && memcmp(b, "HTTP/", 5) == 0) {
        parse_status(p, b, l);
        return true;
    }
    if ((b[0] == ' ' || b[0] == '\t') && p->rh.n) {
        /* obsolete line folding: joined with a space, as Go's reader does */
        size_t s = 0;
        while (s < l && (b[s] == ' ' || b[s] == '\t'))
            s++;
        cc_header *last = &p->rh.v[p->rh.n - 1];
        last->value = cc_arena_printf(a, "%s %.*s", last->value, (int)(l - s), b + s);
        return true;
    }
    const char *colon = memchr(b, ':', l);
    if (!colon || colon == b)
        return true;
    size_t nl = (size_t)(colon - b);
    size_t vs = nl + 1;
    while (vs < l && (b[vs] == ' ' || b[vs] == '\t'))
        vs++;
    size_t ve = l;
    while (ve > vs && (b[ve - 1] == ' ' || b[ve - 1] == '\t'))
        ve--;
    /* one copy of the line holds both the name and the value */
    char *c = cc_arena_strndup(a, b, ve);
    c[nl] = '\0';
    cc_headers_add(a, &p->rh, c, c + vs);
    return true;
}

static size_t on_header(char *b, size_t size, size_t nitems, void *ud)
{
    px_x *x = ud;
    size_t len = size * nitems;
    if (!x->p || !px_head_line(x->p, b, len))
        return 0;
    return len;
}

/* ---- response body ---- */

/* Whether the ring may not hold the next read of the upstream body: then the exchange
 * pauses before a read is refused. Not while collecting a whole body (the ring grows)
 * nor when all that is still due fits. */
static bool ring_tight(const px_req *p)
{
    const px_ring *g = &p->ring;
    if (!g->p || (!p->body_given && p->h->response_buffers < 0))
        return false;
    size_t rd = p->h->tr.bufsize ? (size_t)p->h->tr.bufsize : (size_t)PX_CHUNK;
    size_t room = g->cap - g->n;
    if (room >= rd)
        return false;
    if (p->resp_cl >= 0 && p->resp_cl - p->rx_total <= (int64_t)room)
        return false;
    return true;
}

static size_t on_write(char *d, size_t size, size_t nitems, void *ud)
{
    px_x *x = ud;
    px_req *p = x->p;
    size_t len = size * nitems;
    if (!p)
        return 0;
    p->last_rx = now_ns(p);
    if (!px_ring_put(p, d, len)) {
        /* curl copies a refused chunk (and the rest of its read) into a pause buffer
         * of its own: the early pause below keeps this for the unexpected case */
        p->write_paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    p->rx_total += (int64_t)len;
    if (!p->write_paused && ring_tight(p)) {
        /* pause while the ring still holds a whole read: the rest of the current read
         * (curl hands a read over in 16 KiB pieces) is accepted, nothing is copied
         * twice. With the request sent, both directions pause: curl then does not
         * schedule an immediate run (timer + poll) of a transfer that cannot move. */
        p->write_paused = true;
        bool sending = p->has_body && !p->req_eof;
        curl_easy_pause(x->easy, sending ? CURLPAUSE_RECV : CURLPAUSE_ALL);
    }
    if (p->want_notify) {
        p->a_notify = true;
        px_attn(p);
    } else if (p->st == PX_HEAD) {
        p->a_head = true;
        px_attn(p);
    }
    return len;
}

/* ---- request body ---- */

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    px_x *x = ud;
    px_req *p = x->p;
    if (!p)
        return CURL_READFUNC_ABORT;
    ssize_t k = px_body_pull(p, buf, size * nitems);
    if (k > 0) {
        p->last_tx = now_ns(p);
        return (size_t)k;
    }
    if (k == 0) {
        p->req_eof = true;
        p->sent_at = now_ns(p);
        return 0;
    }
    if (k == CC_EAGAIN) {
        p->read_paused = true;
        return CURL_READFUNC_PAUSE;
    }
    p->client_gone = true;
    return CURL_READFUNC_ABORT;
}

/* curl rewinds the body when a reused connection turned out dead: possible as long as
 * nothing was taken from the client's stream */
static int on_seek(void *ud, curl_off_t off, int origin)
{
    px_x *x = ud;
    px_req *p = x->p;
    if (!p || origin != SEEK_SET || off != 0 || p->streamed > 0)
        return CURL_SEEKFUNC_CANTSEEK;
    p->pre_off = 0;
    p->req_eof = false;
    return CURL_SEEKFUNC_OK;
}

static int on_prereq(void *ud, char *pip, char *lip, int pport, int lport)
{
    (void)pip, (void)lip, (void)pport, (void)lport;
    px_x *x = ud;
    px_req *p = x->p;
    if (!p)
        return CURL_PREREQFUNC_ABORT;
    p->prereq = true;
    p->last_tx = now_ns(p);
    if (!p->has_body)
        p->sent_at = p->last_tx;
    return CURL_PREREQFUNC_OK;
}

/* ---- setup ---- */

static struct curl_slist *sl_add(cc_arena *a, struct curl_slist **tail, struct curl_slist *head,
                                 char *line)
{
    struct curl_slist *n = cc_arena_alloc(a, sizeof(*n));
    n->data = line;
    if (*tail)
        (*tail)->next = n;
    *tail = n;
    return head ? head : n;
}

/* The header list lives in the request arena (curl only reads it): no malloc per
 * field. An empty value needs curl's "Name;" form ("Name:" would delete it). */
static struct curl_slist *build_headers(px_req *p, const cc_headers *hdrs, bool post)
{
    cc_arena *a = p->r->arena;
    struct curl_slist *head = NULL, *tail = NULL;
    bool accept = false, ctype = false;
    for (size_t i = 0; i < hdrs->n; i++) {
        const char *n = hdrs->v[i].name, *v = hdrs->v[i].value ? hdrs->v[i].value : "";
        if (strcasecmp(n, "Expect") == 0 || strcasecmp(n, "Content-Length") == 0 ||
            strcasecmp(n, "Transfer-Encoding") == 0)
            continue;
        if (!accept && strcasecmp(n, "Accept") == 0)
            accept = true;
        if (!ctype && strcasecmp(n, "Content-Type") == 0)
            ctype = true;
        size_t nl = strlen(n), vl = strlen(v);
        char *line = cc_arena_alloc(a, nl + vl + 3);
        memcpy(line, n, nl);
        if (vl) {
            line[nl] = ':';
            line[nl + 1] = ' ';
            memcpy(line + nl + 2, v, vl);
        } else {
            line[nl] = ';';
        }
        head = sl_add(a, &tail, head, line);
    }
    /* what curl would add on its own: the client did not send it, so neither do we */
    head = sl_add(a, &tail, head, "Expect:");
    if (!accept)
        head = sl_add(a, &tail, head, "Accept:");
    if (post && !ctype)
        head = sl_add(a, &tail, head, "Content-Type:");
    return head;
}

static bool port_excepted(const px_tr *tr, const char *port)
{
    for (size_t i = 0; i < tr->nexcept; i++)
        if (strcmp(tr->except_ports[i], port) == 0)
            return true;
    return false;
}

static bool method_wants_length(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

int px_xfer_setup(px_req *p, const cc_headers *hdrs)
{
    px_x *x = p->x;
    CURL *e = x->easy;
    const px_tr *tr = &p->h->tr;
    cc_req *r = p->r;
    cc_arena *a = r->arena;
    x->errbuf[0] = '\0';

    bool tls = p->up_tls;
    const char *host = p->dial_unix ? "localhost" : p->dial_host;
    const char *port = p->dial_unix ? (tls ? "443" : "80") : p->dial_port;
    bool v6 = strchr(host, ':') != NULL;
    const char *urlhost = v6 ? cc_arena_printf(a, "[%s]", host) : host;
    if (tls && tr->server_name) {
        const char *sn = cc_tmpl_expand(tr->server_name, r, false);
        if (*sn && strcmp(sn, host) != 0) {
            /* connect to the upstream, but name (SNI, verification) the server name */
            struct curl_slist *ct = cc_arena_alloc(a, sizeof(*ct));
            ct->data = cc_arena_printf(a, "%s:%s:%s:%s", sn, port, urlhost, port);
            curl_easy_setopt(e, CURLOPT_CONNECT_TO, ct);
            urlhost = sn;
        }
    }
    curl_easy_setopt(e, CURLOPT_URL,
                     cc_arena_printf(a, "%s://%s:%s/", tls ? "https" : "http", urlhost, port));
    curl_easy_setopt(e, CURLOPT_REQUEST_TARGET, p->target);
    if (p->dial_unix)
        curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, p->dial_unix);

    const char *m = p->method;
    bool head = strcmp(m, "HEAD") == 0;
    bool post = !head && (p->has_body || method_wants_length(m));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, build_headers(p, hdrs, post));
    if (head) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (post) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, x);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, x);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(p->has_body ? p->body_len : 0));
        if (strcmp(m, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    } else if (strcmp(m, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    }

    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, x);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    curl_easy_setopt(e, CURLOPT_PROXY, tr->proxy);
    if (*tr->proxy) /* a CONNECT tunnel's own response is not the upstream's head */
        curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, tr->connect_ms);
    curl_easy_setopt(e, CURLOPT_HAPPY_EYEBALLS_TIMEOUT_MS, tr->happy_ms);
    if (tr->keepalive_off)
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, tr->idle_s);
    if (tr->probe_s > 0) {
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, tr->probe_s);
        curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, tr->probe_s);
    }
    /* bigger reads than curl's 16 KiB: fewer recv calls and callbacks per body */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, tr->bufsize ? tr->bufsize : PX_CHUNK);
    if (tr->upbufsize)
        curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, tr->upbufsize);
    if (tr->iface)
        curl_easy_setopt(e, CURLOPT_INTERFACE, tr->iface);
    if (tr->haproxy)
        curl_easy_setopt(e, CURLOPT_HAPROXYPROTOCOL, 1L);
    if (tls) {
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, tr->httpver);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, tr->tls_insecure ? 0L : 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, tr->tls_insecure ? 0L : 2L);
        if (tr->ca_blob) {
            struct curl_blob blob = {tr->ca_blob, tr->ca_len, CURL_BLOB_NOCOPY};
            curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
        }
        if (tr->client_cert)
            curl_easy_setopt(e, CURLOPT_SSLCERT, tr->client_cert);
        if (tr->client_key)
            curl_easy_setopt(e, CURLOPT_SSLKEY, tr->client_key);
        if (tr->curves)
            curl_easy_setopt(e, CURLOPT_SSL_EC_CURVES, tr->curves);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                         tr->h2c ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                                 : (long)CURL_HTTP_VERSION_1_1);
    }
    return CC_OK;
}

/* Whether the upstream is spoken to over TLS (the except_ports rule). */
bool px_tr_uses_tls(const px_tr *tr, const char *port)
{
    return tr->tls && !(port && port_excepted(tr, port));
}

void px_xfer_arm(px_req *p)
{
    const px_tr *tr = &p->h->tr;
    uint64_t t = UINT64_MAX;
    if (tr->hdr_ns > 0)
        t = (uint64_t)tr->hdr_ns;
    if (tr->read_ns > 0 && (uint64_t)tr->read_ns < t)
        t = (uint64_t)tr->read_ns;
    if (tr->write_ns > 0 && (uint64_t)tr->write_ns < t)
        t = (uint64_t)tr->write_ns;
    if (t != UINT64_MAX && p->x)
        cc_loop_timer_start(p->x->deadline, t);
}

void px_xfer_unpause(px_req *p)
{
    if (!p->x || !p->x->pm)
        return;
    int mask = (p->write_paused ? CURLPAUSE_RECV : 0) | (p->read_paused ? CURLPAUSE_SEND : 0);
    uint64_t now = now_ns(p);
    p->last_rx = p->last_tx = now;
    curl_easy_pause(p->x->easy, mask);
}

void px_xfer_release(px_req *p)
{
    px_x *x = p->x;
    if (x) {
        px_x_stop(x);
        px_x_put(p->pl, x);
        p->x = NULL;
    }
    if (p->up_counted) {
        cc_rp_request_end(p->up);
        p->up_counted = false;
    }
}
