/* SPDX-License-Identifier: Apache-2.0
 * A worker's reusable responses. MHD builds the head of a response per connection and
 * counts references, so one MHD_Response can answer any number of requests. A site that
 * answers with the same small bytes again and again (respond "...", a small static file,
 * a fixed error page) then costs no response allocation, no header copies and no header
 * checks per request: on the respond bench those were about 3% of the server's CPU.
 *
 * An entry is found by the exact answer: body bytes, every header name and value in
 * order, the close flag, and the second of its Date header (the one header MHD would
 * otherwise write per request, so the entry carries its own and expires with it). An
 * answer is cached the second time it is seen within the hash table below, so a site
 * whose headers change per request (a request ID, a cookie) pays a hash, not a copy.
 * The body is copied: the entry must not point into a configuration or an arena that
 * a reload or the end of the request frees. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/xxhash.h"
#include "internal.h"

#define RC_ENTRIES 8
#define RC_SEEN 64 /* hashes of answers seen once */

atomic_ulong eng_stat_rc_hits, eng_stat_rc_builds;

typedef struct rc_entry {
    struct MHD_Response *mr; /* one reference held by the entry; NULL = free slot */
    time_t sec;
    bool close;
    const char *body; /* owned by mr (freed with it) */
    size_t n;
    size_t nh;
    char *key; /* the headers as name\0value\0... */
    size_t key_len;
    uint64_t used;
} rc_entry;

struct eng_rcache {
    rc_entry e[RC_ENTRIES];
    uint64_t seen[RC_SEEN];
    uint64_t tick;
};

/* Part i of an answer's header key: names and values alternate, NULL read as "". */
static const char *key_part(const cc_headers *hs, size_t i)
{
    const cc_header *h = &hs->v[i / 2];
    const char *p = i % 2 ? h->value : h->name;
    return p ? p : "";
}

static bool headers_match(const rc_entry *e, const cc_headers *hs)
{
    const char *k = e->key, *end = e->key + e->key_len;
    for (size_t i = 0; i < 2 * hs->n; i++) {
        const char *p = key_part(hs, i);
        size_t l = strlen(p) + 1;
        if ((size_t)(end - k) < l || memcmp(k, p, l) != 0)
            return false;
        k += l;
    }
    return k == end;
}

static bool entry_matches(const rc_entry *e, const cc_req *r, const char *body, size_t n,
                          bool close, time_t sec)
{
    return e->mr && e->sec == sec && e->close == close && e->n == n && e->nh == r->resp.headers.n &&
           (n == 0 || memcmp(e->body, body, n) == 0) && headers_match(e, &r->resp.headers);
}

/* Only decides whether an answer was seen before, so the body's length and first bytes
 * are enough (a file's answer also differs by its ETag): a site with many small files
 * that rarely repeat pays a short hash per miss, not one over up to 8 KiB. */
#define RC_HASH_BODY 256

static uint64_t answer_hash(const cc_req *r, const char *body, size_t n, bool close, time_t sec)
{
    cc_xxh64_state st;
    cc_xxh64_init(&st, (uint64_t)sec * 2 + close);
    cc_xxh64_update(&st, &n, sizeof(n));
    cc_xxh64_update(&st, body, n < RC_HASH_BODY ? n : RC_HASH_BODY);
    for (size_t i = 0; i < 2 * r->resp.headers.n; i++) {
        const char *p = key_part(&r->resp.headers, i);
        cc_xxh64_update(&st, p, strlen(p) + 1);
    }
    return cc_xxh64_digest(&st);
}

static void entry_clear(rc_entry *e)
{
    if (e->mr)
        MHD_destroy_response(e->mr);
    free(e->key);
    memset(e, 0, sizeof(*e));
}

/* A stale entry (an earlier second) first, else the least recently used. */
static rc_entry *victim(struct eng_rcache *c, time_t sec)
{
    rc_entry *v = &c->e[0];
    for (size_t i = 0; i < RC_ENTRIES; i++) {
        rc_entry *e = &c->e[i];
        if (!e->mr || e->sec != sec)
            return e;
        if (e->used < v->used)
            v = e;
    }
    return v;
}

static bool has_date(const cc_headers *hs)
{
    for (size_t i = 0; i < hs->n; i++)
        if (hs->v[i].name && strcasecmp(hs->v[i].name, "Date") == 0)
            return true;
    return false;
}

/* The response for the answer, built as eng_respond builds one, plus a Date header. */
static struct MHD_Response *build(const cc_req *r, const char *body, size_t n, bool close,
                                  time_t sec, const char **body_copy)
{
    char *copy = malloc(n ? n : 1);
    if (!copy)
        return NULL;
    memcpy(copy, body, n);
    struct MHD_Response *mr = MHD_create_response_from_buffer_with_free_callback(n, copy, free);
    if (!mr) {
        free(copy);
        return NULL;
    }
    if (!has_date(&r->resp.headers)) {
        char date[32];
        cc_http_date(date, sec);
        if (MHD_add_response_header(mr, "Date", date) != MHD_YES) {
            MHD_destroy_response(mr);
            return NULL;
        }
    }
    if (!eng_resp_add_headers(mr, r, false, close)) {
        MHD_destroy_response(mr);
        return NULL;
    }
    *body_copy = copy;
    return mr;
}

static bool fill_key(rc_entry *e, const cc_headers *hs)
{
    size_t len = 0;
    for (size_t i = 0; i < 2 * hs->n; i++)
        len += strlen(key_part(hs, i)) + 1;
    char *k = e->key = malloc(len ? len : 1);
    if (!k)
        return false;
    for (size_t i = 0; i < 2 * hs->n; i++) {
        const char *p = key_part(hs, i);
        size_t l = strlen(p) + 1;
        memcpy(k, p, l);
        k += l;
    }
    e->key_len = len;
    e->nh = hs->n;
    return true;
}

struct MHD_Response *eng_rcache_get(eng_worker *w, const cc_req *r, const char *body, size_t n,
                                    bool close, time_t sec)
{
    if (n > ENG_RCACHE_BODY_MAX)
        return NULL;
    struct eng_rcache *c = w->rc;
    if (!c && !(c = w->rc = calloc(1, sizeof(*c))))
        return NULL;
    c->tick++;
    for (size_t i = 0; i < RC_ENTRIES; i++) {
        if (entry_matches(&c->e[i], r, body, n, close, sec)) {
            c->e[i].used = c->tick;
            atomic_fetch_add_explicit(&eng_stat_rc_hits, 1, memory_order_relaxed);
            return c->e[i].mr;
        }
    }
    uint64_t h = answer_hash(r, body, n, close, sec);
    uint64_t *slot = &c->seen[h % RC_SEEN];
    if (*slot != h) {
        *slot = h; /* first sight: the caller builds a response of its own */
        return NULL;
    }
    *slot = 0;
    rc_entry *e = victim(c, sec);
    entry_clear(e);
    if (!fill_key(e, &r->resp.headers))
        return NULL;
    if (!(e->mr = build(r, body, n, close, sec, &e->body))) {
        entry_clear(e);
        return NULL;
    }
    e->sec = sec;
    e->close = close;
    e->n = n;
    e->used = c->tick;
    atomic_fetch_add_explicit(&eng_stat_rc_builds, 1, memory_order_relaxed);
    return e->mr;
}

void eng_rcache_free(eng_worker *w)
{
    if (!w->rc)
        return;
    for (size_t i = 0; i < RC_ENTRIES; i++)
        entry_clear(&w->rc->e[i]);
    free(w->rc);
    w->rc = NULL;
}
