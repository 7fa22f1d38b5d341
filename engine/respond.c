/* SPDX-License-Identifier: Apache-2.0
 * Writing a cc_resp through MHD: complete bodies from a buffer (head and body in one
 * sendmsg, P6), file bodies through filebody.c, streaming bodies through the content reader
 * (never SIZE_UNKNOWN for HEAD, P5), which suspends the connection while an async body
 * has nothing to give; 101 answers with an upgrade hook go through upgrade.c. Headers
 * MHD owns (Content-Length, Transfer-Encoding, Connection) are not forwarded; a value
 * with CR or LF is dropped, never sent (P13). Also the error answers the engine itself
 * gives, as Go's net/http words them. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "internal.h"

#define READER_BLOCK (32u << 10)

enum MHD_Result eng_respond_error(eng_req *q, struct MHD_Connection *mc, int status,
                                  const char *reason)
{
    q->phase = PH_DONE;
    const char *body = "";
    /* reason NULL: a handler-level refusal (413 beyond the body cap): bare status, as
     * Caddy answers unhandled errors; otherwise Go's text for a malformed request */
    if (reason && status != 417) {
        const char *text = cc_http_status_text(status);
        body = reason[0] ? cc_arena_printf(q->arena, "%d %s: %s", status, text, reason)
                         : cc_arena_printf(q->arena, "%d %s", status, text);
    }
    size_t n = strlen(body);
    struct MHD_Response *mr =
        MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!mr)
        return MHD_NO;
    bool ok = true;
    if (n)
        ok &= MHD_add_response_header(mr, "Content-Type", "text/plain; charset=utf-8") == MHD_YES;
    if (!reason)
        ok &= MHD_add_response_header(mr, "Server", "caddy-c") == MHD_YES;
    ok &= MHD_add_response_header(mr, "Connection", "close") == MHD_YES;
    if (q->c)
        q->c->closing = true;
    enum MHD_Result ret = ok ? MHD_queue_response(mc, (unsigned)status, mr) : MHD_NO;
    MHD_destroy_response(mr);
    cc_log(CC_LOG_DEBUG, "http.engine", NULL, "refused request from %s: %d %s",
           q->c ? q->c->info.remote_ip : "", status, reason ? reason : "");
    return ret;
}

/* cc_resp_body_ready(): the async body has news (possibly from inside its own read) */
static void on_body_ready(cc_req *r)
{
    eng_req *q = r->engine;
    q->body_kick = true;
    if (q->suspended && q->susp_why == ENG_SUSP_BODY)
        eng_resume(q);
}

static ssize_t body_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    eng_req *q = cls;
    cc_body *b = q->req.resp.body;
    (void)pos;
    if (q->client_gone || !b || !b->read)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    q->body_kick = false;
    ssize_t n = b->read(b, buf, max);
    if (n > 0) {
        q->written += n;
        return n;
    }
    if (n == CC_EAGAIN && b->async) {
        /* nothing yet: suspend (returning 0 alone would spin, P4) until the producer
         * calls cc_resp_body_ready; news that came during the read resumes at once */
        atomic_fetch_add(&eng_stat_body_waits, 1);
        eng_suspend(q, ENG_SUSP_BODY);
        if (q->body_kick)
            eng_resume(q);
        return 0;
    }
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

/* For a HEAD answer that states a length but has no body: MHD never calls this. */
static ssize_t no_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    (void)pos;
    (void)buf;
    (void)max;
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* The length of a valid header name, 0 for an invalid one. */
static size_t valid_name(const char *s)
{
    if (!s)
        return 0;
    const char *p = s;
    for (; *p; p++)
        if (!cc_framing_is_tchar((unsigned char)*p))
            return 0;
    return (size_t)(p - s);
}

static struct MHD_Response *make_body(eng_req *q, bool no_body)
{
    cc_req *r = &q->req;
    cc_body *b = r->resp.body;
    if (!b) {
        int64_t cl =
            q->head ? cc_http_parse_length(cc_headers_get(&r->resp.headers, "Content-Length")) : -1;
        if (cl > 0)
            return MHD_create_response_from_callback((uint64_t)cl, READER_BLOCK, no_reader, q,
                                                     NULL);
        return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (b->mem) {
        q->resp_size = (int64_t)b->mem_len;
        return MHD_create_response_from_buffer(b->mem_len, (void *)b->mem, MHD_RESPMEM_PERSISTENT);
    }
    if (b->fd >= 0)
        return eng_file_response(q, b->fd, b->off > 0 ? b->off : 0, b->len, no_body);
    if (b->read) {
        q->counted_body = true;
        if (b->async)
            r->resp.on_body_ready = on_body_ready;
        if (b->len >= 0)
            return MHD_create_response_from_callback((uint64_t)b->len, READER_BLOCK, body_reader, q,
                                                     NULL);
        if (no_body) /* P5: SIZE_UNKNOWN would send a chunked terminator after a HEAD */
            return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        return MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, READER_BLOCK, body_reader, q,
                                                 NULL);
    }
    return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
}

bool eng_resp_add_headers(struct MHD_Response *mr, const cc_req *r, bool upgrade, bool close)
{
    for (size_t i = 0; i < r->resp.headers.n; i++) {
        const cc_header *h = &r->resp.headers.v[i];
        size_t nl = valid_name(h->name);
        if (!nl) {
            cc_log(CC_LOG_WARN, "http.engine", NULL, "dropping response header with invalid name");
            continue;
        }
        const char *v = h->value ? h->value : "";
        if (strpbrk(v, "\r\n")) {
            cc_log(CC_LOG_WARN, "http.engine", NULL,
                   "dropping response header %s: its value contains CR or LF", h->name);
            continue;
        }
        if ((nl == 14 && strcasecmp(h->name, "Content-Length") == 0) ||
            (nl == 17 && strcasecmp(h->name, "Transfer-Encoding") == 0))
            continue; /* MHD frames the body itself */
        if (nl == 10 && strcasecmp(h->name, "Connection") == 0) {
            /* an upgrade's "Connection: Upgrade" comes from MHD (P13) */
            close |= !upgrade && cc_http_list_has(v, "close");
            continue;
        }
        /* MHD refuses empty values; a single space puts "Name: " on the wire, which is
         * the same empty value to every parser */
        if (MHD_add_response_header(mr, h->name, v[0] ? v : " ") != MHD_YES)
            cc_log(CC_LOG_WARN, "http.engine", NULL, "response header %s refused by MHD", h->name);
    }
    if (close && MHD_add_response_header(mr, "Connection", "close") != MHD_YES) {
        cc_log(CC_LOG_WARN, "http.engine", NULL, "cannot add Connection: close");
        return false;
    }
    return true;
}

/* The whole body as bytes when it is small and complete: an empty answer, a memory body,
 * or a small file read now. False for anything else (streams, HEAD on a file, large). */
static bool small_body(eng_req *q, bool no_body, const char **bytes, size_t *n)
{
    cc_body *b = q->req.resp.body;
    if (!b) {
        *bytes = "";
        *n = 0;
        return !q->head; /* HEAD may state a length without a body: make_body's case */
    }
    if (b->mem) {
        *bytes = b->mem;
        *n = b->mem_len;
        q->resp_size = (int64_t)b->mem_len;
        return b->mem_len <= ENG_RCACHE_BODY_MAX;
    }
    if (b->fd < 0 || b->read || no_body || b->len <= 0 || b->len > ENG_READ_MAX)
        return false;
    int64_t off = b->off > 0 ? b->off : 0;
    if (!(*bytes = eng_file_read(q, b->fd, off, b->len)))
        return false;
    *n = (size_t)b->len;
    q->resp_size = b->len;
    return true;
}

enum MHD_Result eng_respond(eng_req *q, struct MHD_Connection *mc)
{
    cc_req *r = &q->req;
    q->phase = PH_DONE;
    if (r->resp.abort) {
        /* Caddy's abort: drop the connection with no response; MHD closes it when the
         * handler reports failure */
        if (q->c)
            q->c->closing = true;
        return MHD_NO;
    }
    int status = r->resp.status ? r->resp.status : 200;
    if (status < 100 || status > 999)
        status = 500;
    bool upgrade = status == 101 && r->resp.upgrade;
    bool no_body = q->head || status < 200 || status == 204 || status == 304;
    bool close = !upgrade && (r->resp.close || (q->c && q->c->closing));
    const char *bytes = NULL;
    size_t n = 0;
    bool small = !upgrade && small_body(q, no_body, &bytes, &n);
    /* Date is when the answer leaves (this loop turn), not when the request came: an
     * asynchronous chain may have taken seconds */
    struct MHD_Response *mr =
        small ? eng_rcache_get(q->w, r, bytes, n, close, q->w->now_real.tv_sec) : NULL;
    bool shared = mr != NULL;
    if (!mr) {
        if (upgrade)
            mr = eng_upgrade_response(q);
        else if (small)
            mr = MHD_create_response_from_buffer(n, (void *)bytes, MHD_RESPMEM_PERSISTENT);
        else
            mr = make_body(q, no_body);
    }
    if (!mr) {
        cc_log(CC_LOG_ERROR, "http.engine", NULL, "cannot create the response for %s %s", r->method,
               r->target);
        return MHD_NO;
    }
    if (no_body)
        q->resp_size = 0;
    if (!shared)
        eng_resp_add_headers(mr, r, upgrade, close); /* a refusal is logged there */
    if (upgrade)
        q->upgrading = true;
    enum MHD_Result ret = MHD_queue_response(mc, (unsigned)status, mr);
    if (!shared)
        MHD_destroy_response(mr);
    if (ret != MHD_YES)
        cc_log(CC_LOG_ERROR, "http.engine", NULL, "MHD refused the %d response to %s %s", status,
               r->method, r->target);
    return ret;
}

void eng_resp_release(eng_req *q)
{
    cc_body *b = q->req.resp.body;
    if (b) {
        if (q->fd_to_mhd)
            b->fd = -1;
        if (b->close)
            b->close(b);
        else if (b->fd >= 0)
            close(b->fd);
        b->close = NULL;
        b->fd = -1;
        q->req.resp.body = NULL;
    }
    cc_body *rb = q->req.body;
    if (rb && rb->close) {
        rb->close(rb);
        rb->close = NULL;
    }
}
