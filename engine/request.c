/* SPDX-License-Identifier: Apache-2.0
 * From MHD's view of a request to a cc_req. The head call validates framing (nothing
 * else may be answered there, P1); the final call builds the cc_req from the raw target
 * (decoded here, since MHD's url also turns '+' into a space), the headers in wire order
 * with their lengths, the connection addresses and the body (buffered, or the streaming
 * ring of reqbody.c). */
#include <ctype.h>
#include <strings.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const cc_conn no_conn = {.remote_ip = "", .local_ip = ""};

static enum MHD_Result collect_hdr(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    eng_req *q = cls;
    (void)kind;
    cc_frame_hdr h = {key ? key : "", key ? key_size : 0, value ? value : "",
                      value ? value_size : 0};
    /* MHD keeps trailing whitespace, which is not part of a field value (RFC 9112 5) */
    if (h.value_len > 0 && (h.value[h.value_len - 1] == ' ' || h.value[h.value_len - 1] == '\t')) {
        while (h.value_len > 0 &&
               (h.value[h.value_len - 1] == ' ' || h.value[h.value_len - 1] == '\t'))
            h.value_len--;
        h.value = cc_arena_strndup(q->arena, h.value, h.value_len);
    }
    CC_VEC_PUSH(q->arena, &q->hdrs, h);
    return MHD_YES;
}

enum MHD_Result eng_req_head(eng_req *q, struct MHD_Connection *mc, const char *method,
                             const char *version)
{
    eng_conn *c = q->c;
    eng_wl *wl = q->wl;
    q->phase = PH_BODY;
    MHD_get_connection_values_n(mc, MHD_HEADER_KIND, collect_hdr, q);
    unsigned raw = 0;
    if (c) {
        if (c->scan_on && !c->scan.lost && c->scan.nreq < q->reqno)
            c->closing = true; /* the scanner missed this head: trust no later one */
        if (c->scan_on)
            raw = cc_rawscan_flags(&c->scan, q->reqno);
        else
            eng_timer_disarm(wl->w, &c->rd); /* the head is complete */
    }
    cc_frame_in in = {.method = method,
                      .target = q->target,
                      .target_len = q->target_len,
                      .version = version,
                      .hdrs = q->hdrs.v,
                      .nhdrs = q->hdrs.n,
                      .raw_flags = raw};
    if (cc_framing_check(&in, &q->fr) != 0)
        return eng_respond_error(q, mc, q->fr.status, q->fr.reason);
    if (q->srv && q->srv->max_header_bytes > 0) {
        const union MHD_ConnectionInfo *hs =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
        if (hs && (int64_t)hs->header_size > q->srv->max_header_bytes)
            return eng_respond_error(q, mc, 431, "");
    }
    if (q->fr.content_length > 0 && q->fr.content_length <= (int64_t)ENG_STREAM_BUF) {
        q->body_cap = q->fr.content_length;
        q->body = cc_arena_alloc(q->arena, (size_t)q->body_cap);
    }
    q->head = strcmp(method, "HEAD") == 0;
    if (c && wl->write_to)
        eng_timer_arm(wl->w, &c->wr, wl->w->now + (uint64_t)wl->write_to);
    return MHD_YES;
}

static void split_hostport(cc_arena *a, const char *hp, const char **host, const char **port)
{
    const char *h = hp, *p = NULL;
    size_t hn = strlen(hp);
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        if (rb) {
            h = hp + 1;
            hn = (size_t)(rb - h);
            if (rb[1] == ':')
                p = rb + 2;
        }
    } else {
        const char *colon = strrchr(hp, ':');
        if (colon && colon == strchr(hp, ':')) {
            hn = (size_t)(colon - hp);
            p = colon + 1;
        }
    }
    char *lh = cc_arena_strndup(a, h, hn);
    for (char *s = lh; *s; s++)
        *s = (char)tolower((unsigned char)*s);
    *host = lh;
    *port = p && *p ? p : NULL;
}

void eng_req_build(eng_req *q, struct MHD_Connection *mc, const char *method)
{
    (void)mc;
    cc_req *r = &q->req;
    cc_arena *a = q->arena;
    r->arena = a;
    r->conn = q->c ? &q->c->info : &no_conn;
    r->server = q->srv;
    r->engine = q;
    r->method = method;
    r->target = q->target;

    cc_target_parts tp;
    if (cc_target_split(q->target, q->target_len, &tp) != CC_OK) {
        tp.path = "/";
        tp.path_len = 1;
        tp.query = NULL;
        tp.authority = NULL;
    }
    if (tp.path_len == 0) {
        tp.path = "/";
        tp.path_len = 1;
    }
    r->raw_path = cc_arena_strndup(a, tp.path, tp.path_len);
    char *dec = cc_arena_alloc_raw(a, tp.path_len + 1);
    if (cc_target_unescape(tp.path, tp.path_len, dec) < 0) {
        memcpy(dec, tp.path, tp.path_len); /* validated at the head; never reached */
        dec[tp.path_len] = 0;
    }
    r->path = dec;
    r->query = tp.query ? cc_arena_strndup(a, tp.query, tp.query_len) : "";

    r->proto_major = 1;
    r->proto_minor = q->fr.minor;
    r->proto = q->fr.minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
    r->scheme = "http";

    r->headers.v = cc_arena_alloc(a, (q->hdrs.n ? q->hdrs.n : 1) * sizeof(cc_header));
    r->headers.cap = q->hdrs.n ? q->hdrs.n : 1;
    const char *host_hdr = NULL;
    for (size_t i = 0; i < q->hdrs.n; i++) {
        /* MHD's strings are NUL-terminated and live until the request completes */
        cc_header *h = &r->headers.v[r->headers.n++];
        h->name = q->hdrs.v[i].name;
        h->value = q->hdrs.v[i].value;
        if (!host_hdr && q->hdrs.v[i].name_len == 4 && strcasecmp(h->name, "Host") == 0)
            host_hdr = h->value;
    }
    /* RFC 9112 3.2.2: an absolute-form target's authority replaces Host */
    if (tp.authority)
        r->hostport = cc_arena_strndup(a, tp.authority, tp.authority_len);
    else
        r->hostport = host_hdr ? host_hdr : "";
    const char *port = NULL;
    split_hostport(a, r->hostport, &r->host, &port);
    int lport = q->c && q->c->info.local_port ? q->c->info.local_port : q->wl->port;
    r->port = port ? port : cc_arena_printf(a, "%d", lport);

    if (q->streaming)
        r->body = &q->rs_body;
    else if (q->body_n > 0)
        r->body = cc_body_mem(a, q->body, (size_t)q->body_n);
    r->content_length = q->fr.chunked ? -1 : (q->fr.content_length > 0 ? q->fr.content_length : 0);

    r->orig_method = r->method;
    r->orig_target = r->target;
    r->orig_path = r->path;
    r->orig_query = r->query;
}
