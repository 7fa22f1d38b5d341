/* SPDX-License-Identifier: Apache-2.0
 * The "encode" handler at run time (Caddy's encode.Encode): negotiates an encoding from
 * Accept-Encoding before the rest of the chain runs, then decides at commit time, from
 * the final status and headers, whether the response is compressed, and wraps its body.
 * Defaults are Caddy's (gzip level 5, zstd "default", minimum_length 512, its list of
 * text-like content types); br is caddy-c's addition, default quality 4 (fast, still
 * smaller than gzip). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/handler.h"
#include "encode_priv.h"

#define DEFAULT_MIN_LENGTH 512
#define GZIP_DEFAULT_LEVEL 5
#define ZSTD_DEFAULT_LEVEL 3 /* Caddy's "default" speed */
#define BR_DEFAULT_LEVEL 4
#define PEEK_LEN (32u << 10)
#define ONESHOT_MAX (1u << 20)
#define SNIFF_LEN 512

/* One header condition of the response matcher; vals NULL = the field must be absent,
 * nvals 0 = it must be present. */
typedef struct hdr_cond {
    const char *name;
    const char **vals;
    size_t nvals;
} hdr_cond;

typedef struct encode_h {
    cc_handler super;
    cc_enc_cfg *encs;
    size_t nencs;
    const char **prefer;
    size_t nprefer;
    int64_t min_len;
    int64_t *codes;
    size_t ncodes;
    hdr_cond *conds;
    size_t nconds;
} encode_h;

/* Caddy's default matcher: common text-based content types. */
static const char *const default_types[] = {
    "application/atom+xml*",
    "application/eot*",
    "application/font*",
    "application/geo+json*",
    "application/graphql+json*",
    "application/graphql-response+json*",
    "application/javascript*",
    "application/json*",
    "application/ld+json*",
    "application/manifest+json*",
    "application/opentype*",
    "application/otf*",
    "application/rss+xml*",
    "application/truetype*",
    "application/ttf*",
    "application/vnd.api+json*",
    "application/vnd.ms-fontobject*",
    "application/wasm*",
    "application/x-httpd-cgi*",
    "application/x-javascript*",
    "application/x-opentype*",
    "application/x-otf*",
    "application/x-perl*",
    "application/x-protobuf*",
    "application/x-ttf*",
    "application/xhtml+xml*",
    "application/xml*",
    "font/ttf*",
    "font/otf*",
    "image/svg+xml*",
    "image/vnd.microsoft.icon*",
    "image/x-icon*",
    "multipart/bag*",
    "multipart/mixed*",
    "text/*",
};

static int fail(cc_prov *ctx, const cc_cfg *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(cc_prov *ctx, const cc_cfg *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return cc_err_setat(ctx->err, at ? at->file : NULL, at ? at->line : 0, "encode: %s", msg);
}

/* ---- provisioning ---- */

static int int_field(cc_prov *ctx, const cc_cfg *o, const char *key, int64_t *out, bool *set)
{
    const cc_cfg *v = cc_cfg_get(o, key);
    *set = false;
    if (!v || v->type == CC_CFG_NULL)
        return CC_OK;
    if (v->type == CC_CFG_NUM && v->d == (double)(int64_t)v->d)
        *out = (int64_t)v->d;
    else if (v->type == CC_CFG_INT)
        *out = v->i;
    else
        return fail(ctx, v, "%s must be an integer", key);
    *set = true;
    return CC_OK;
}

static int zstd_level(const char *s)
{
    static const struct {
        const char *name;
        int level;
    } levels[] = {{"fastest", 1}, {"default", ZSTD_DEFAULT_LEVEL}, {"better", 7}, {"best", 11}};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        if (strcasecmp(s, levels[i].name) == 0)
            return levels[i].level;
    return 0;
}

static int provision_encoding(cc_prov *ctx, const char *name, const cc_cfg *o, cc_enc_cfg *e)
{
    int64_t level = 0;
    bool set;
    e->name = name;
    if (o && o->type != CC_CFG_OBJ && o->type != CC_CFG_NULL)
        return fail(ctx, o, "loading encoder modules: encoder %s: must be a JSON object", name);
    if (strcmp(name, "gzip") == 0) {
        e->kind = CC_ENC_GZIP;
        if (int_field(ctx, o, "level", &level, &set) != CC_OK)
            return CC_ERR;
        if (level == 0)
            level = GZIP_DEFAULT_LEVEL;
        if (level < -3)
            return fail(ctx, o, "loading encoder modules: gzip: quality too low; must be >= -3");
        if (level > 9)
            return fail(ctx, o, "loading encoder modules: gzip: quality too high; must be <= 9");
    } else if (strcmp(name, "zstd") == 0) {
        e->kind = CC_ENC_ZSTD;
        e->checksum = true;
        const cc_cfg *lv = cc_cfg_get(o, "level");
        level = ZSTD_DEFAULT_LEVEL;
        if (lv && lv->type == CC_CFG_STR && lv->s.n) {
            level = zstd_level(lv->s.p);
            if (!level)
                return fail(ctx, lv,
                            "loading encoder modules: zstd: unexpected compression level, use "
                            "one of 'fastest', 'better', 'best', 'default'");
        } else if (lv && lv->type != CC_CFG_NULL && lv->type != CC_CFG_STR) {
            return fail(ctx, lv, "loading encoder modules: zstd: level must be a string");
        }
        const cc_cfg *ck = cc_cfg_get(o, "checksum");
        if (ck && ck->type == CC_CFG_BOOL)
            e->checksum = ck->b;
    } else if (strcmp(name, "br") == 0) {
        e->kind = CC_ENC_BR;
        if (int_field(ctx, o, "level", &level, &set) != CC_OK)
            return CC_ERR;
        if (!set)
            level = BR_DEFAULT_LEVEL;
        if (level < 0)
            return fail(ctx, o, "loading encoder modules: br: quality too low; must be >= 0");
        if (level > 11)
            return fail(ctx, o, "loading encoder modules: br: quality too high; must be <= 11");
    } else {
        return fail(ctx, o, "loading encoder modules: unknown module: http.encoders.%s", name);
    }
    e->level = (int)level;
    return CC_OK;
}

static const cc_enc_cfg *find_enc(const encode_h *h, const char *name)
{
    for (size_t i = 0; i < h->nencs; i++)
        if (strcmp(h->encs[i].name, name) == 0)
            return &h->encs[i];
    return NULL;
}

static int provision_prefer(encode_h *h, const cc_cfg *cfg, cc_prov *ctx)
{
    const cc_cfg *p = cc_cfg_get(cfg, "prefer");
    size_t n = cc_cfg_len(p);
    if (p && p->type != CC_CFG_ARR && p->type != CC_CFG_NULL)
        return fail(ctx, p, "prefer must be an array of strings");
    if (n == 0) {
        /* Caddy's default order among the enabled encodings */
        static const char *const dflt[] = {"zstd", "br", "gzip"};
        h->prefer = cc_arena_alloc(ctx->a, 3 * sizeof(*h->prefer));
        for (size_t i = 0; i < 3; i++)
            if (find_enc(h, dflt[i]))
                h->prefer[h->nprefer++] = dflt[i];
        return CC_OK;
    }
    h->prefer = cc_arena_alloc(ctx->a, n * sizeof(*h->prefer));
    for (size_t i = 0; i < n; i++) {
        const cc_cfg *v = cc_cfg_idx(p, i);
        if (v->type != CC_CFG_STR)
            return fail(ctx, v, "prefer must be an array of strings");
        if (!find_enc(h, v->s.p))
            return fail(ctx, v, "encoding %s not enabled", v->s.p);
        for (size_t k = 0; k < h->nprefer; k++)
            if (strcmp(h->prefer[k], v->s.p) == 0)
                return fail(ctx, v, "encoding %s is duplicated in prefer", v->s.p);
        h->prefer[h->nprefer++] = v->s.p;
    }
    return CC_OK;
}

static int provision_match(encode_h *h, const cc_cfg *m, cc_prov *ctx)
{
    cc_arena *a = ctx->a;
    if (!m || m->type == CC_CFG_NULL) {
        h->conds = cc_arena_alloc(a, sizeof(*h->conds));
        h->nconds = 1;
        h->conds[0].name = "Content-Type";
        h->conds[0].vals = (const char **)default_types;
        h->conds[0].nvals = sizeof(default_types) / sizeof(default_types[0]);
        return CC_OK;
    }
    if (m->type != CC_CFG_OBJ)
        return fail(ctx, m, "match must be a JSON object");
    const cc_cfg *sc = cc_cfg_get(m, "status_code");
    if (sc && sc->type != CC_CFG_NULL) {
        if (sc->type != CC_CFG_ARR)
            return fail(ctx, sc, "match: status_code must be an array of integers");
        h->codes = cc_arena_alloc(a, (cc_cfg_len(sc) + 1) * sizeof(*h->codes));
        for (size_t i = 0; i < cc_cfg_len(sc); i++) {
            const cc_cfg *c = cc_cfg_idx(sc, i);
            if (c->type != CC_CFG_INT)
                return fail(ctx, c, "match: status_code must be an array of integers");
            h->codes[h->ncodes++] = c->i;
        }
    }
    const cc_cfg *hd = cc_cfg_get(m, "headers");
    if (hd && hd->type != CC_CFG_NULL) {
        if (hd->type != CC_CFG_OBJ)
            return fail(ctx, hd, "match: headers must be a JSON object");
        h->conds = cc_arena_alloc(a, (hd->obj.n + 1) * sizeof(*h->conds));
        for (size_t i = 0; i < hd->obj.n; i++) {
            hdr_cond *c = &h->conds[h->nconds++];
            const cc_cfg *vals = hd->obj.v[i];
            c->name = hd->obj.k[i];
            if (vals->type == CC_CFG_NULL)
                continue;
            if (vals->type != CC_CFG_ARR)
                return fail(ctx, vals, "match: header %s: values must be an array of strings",
                            c->name);
            c->vals = cc_arena_alloc(a, (vals->arr.n + 1) * sizeof(*c->vals));
            for (size_t k = 0; k < vals->arr.n; k++) {
                const cc_cfg *s = vals->arr.v[k];
                if (s->type != CC_CFG_STR)
                    return fail(ctx, s, "match: header %s: values must be strings", c->name);
                c->vals[c->nvals++] = s->s.p;
            }
        }
    }
    return CC_OK;
}

static int encode_provision(cc_handler *hh, const cc_cfg *cfg, cc_prov *ctx)
{
    encode_h *h = (encode_h *)hh;
    const cc_cfg *encs = cc_cfg_get(cfg, "encodings");
    if (encs && encs->type != CC_CFG_OBJ && encs->type != CC_CFG_NULL)
        return fail(ctx, encs, "encodings must be a JSON object");
    size_t n = encs && encs->type == CC_CFG_OBJ ? encs->obj.n : 0;
    h->encs = cc_arena_alloc(ctx->a, (n + 1) * sizeof(*h->encs));
    for (size_t i = 0; i < n; i++) {
        if (find_enc(h, encs->obj.k[i]))
            return fail(ctx, encs, "adding encoding %s: encoder already added: %s", encs->obj.k[i],
                        encs->obj.k[i]);
        if (provision_encoding(ctx, encs->obj.k[i], encs->obj.v[i], &h->encs[h->nencs]) != CC_OK)
            return CC_ERR;
        h->nencs++;
    }
    bool set;
    if (int_field(ctx, cfg, "minimum_length", &h->min_len, &set) != CC_OK)
        return CC_ERR;
    if (h->min_len == 0)
        h->min_len = DEFAULT_MIN_LENGTH;
    if (h->min_len < 0)
        h->min_len = 0;
    if (provision_prefer(h, cfg, ctx) != CC_OK)
        return CC_ERR;
    return provision_match(h, cc_cfg_get(cfg, "match"), ctx);
}

/* ---- per request ---- */

typedef struct enc_req {
    const encode_h *h;
    const cc_enc_cfg *enc; /* NULL: the client accepts none of ours */
} enc_req;

static bool no_transform(const cc_headers *hs)
{
    const char *cc = cc_headers_get(hs, "Cache-Control");
    return cc && strstr(cc, "no-transform");
}

static bool has_vary(const cc_headers *hs, const char *target)
{
    size_t tl = strlen(target);
    for (size_t i = 0; i < hs->n; i++) {
        if (strcasecmp(hs->v[i].name, "Vary") != 0 || !hs->v[i].value)
            continue;
        for (const char *s = hs->v[i].value; *s;) {
            while (*s == ' ' || *s == '\t' || *s == ',')
                s++;
            const char *e = s;
            while (*e && *e != ',')
                e++;
            const char *t = e;
            while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
                t--;
            if ((size_t)(t - s) == tl && strncasecmp(s, target, tl) == 0)
                return true;
            s = e;
        }
    }
    return false;
}

static void add_vary(cc_req *r)
{
    if (!has_vary(&r->resp.headers, "Accept-Encoding"))
        cc_headers_add(r->arena, &r->resp.headers, "Vary", "Accept-Encoding");
}

/* Caddy's matchHeaders value patterns: "*", "*x*", "*x", "x*", exact. */
static bool value_matches(const char *pat, const char *v)
{
    size_t pl = strlen(pat), vl = strlen(v);
    if (strcmp(pat, "*") == 0)
        return true;
    if (pl >= 2 && pat[0] == '*' && pat[pl - 1] == '*') {
        return memmem(v, vl, pat + 1, pl - 2) != NULL;
    }
    if (pat[0] == '*')
        return vl >= pl - 1 && strcmp(v + vl - (pl - 1), pat + 1) == 0;
    if (pl && pat[pl - 1] == '*')
        return strncmp(v, pat, pl - 1) == 0;
    return strcmp(v, pat) == 0;
}

static bool status_matches(int actual, int64_t configured)
{
    if (actual == configured)
        return true;
    return configured < 100 && actual >= configured * 100 && actual < (configured + 1) * 100;
}

/* Caddy's ResponseMatcher.Match over the final status and headers. */
static bool resp_matches(const encode_h *h, int status, const cc_headers *hs)
{
    if (h->ncodes) {
        bool any = false;
        for (size_t i = 0; i < h->ncodes && !any; i++)
            any = status_matches(status, h->codes[i]);
        if (!any)
            return false;
    }
    for (size_t i = 0; i < h->nconds; i++) {
        const hdr_cond *c = &h->conds[i];
        bool present = cc_headers_count(hs, c->name) > 0;
        if (!c->vals) {
            if (present)
                return false;
            continue;
        }
        if (c->nvals == 0) {
            if (!present)
                return false;
            continue;
        }
        bool m = false;
        for (size_t k = 0; k < hs->n && !m; k++) {
            if (strcasecmp(hs->v[k].name, c->name) != 0)
                continue;
            const char *v = hs->v[k].value ? hs->v[k].value : "";
            for (size_t j = 0; j < c->nvals && !m; j++)
                m = value_matches(c->vals[j], v);
        }
        if (!m)
            return false;
    }
    return true;
}

/* RFC 9110 8.8.3.3: a strong ETag must differ per encoding, so "-<enc>" goes inside
 * the closing quote (Caddy's rule). */
static void suffix_etag(cc_req *r, const char *enc)
{
    const char *etag = cc_headers_get(&r->resp.headers, "Etag");
    if (!etag || !etag[0] || strncmp(etag, "W/", 2) == 0)
        return;
    size_t n = strlen(etag);
    if (etag[n - 1] == '"')
        n--;
    cc_headers_set(r->arena, &r->resp.headers, "Etag",
                   cc_arena_printf(r->arena, "%.*s-%s\"", (int)n, etag, enc));
}

/* The upstream handlers never saw our suffix: take it off a validator the client
 * echoes, so that they can still answer 304. */
static void unsuffix_if_none_match(cc_req *r, const char *enc)
{
    const char *inm = cc_headers_get(&r->headers, "If-None-Match");
    if (!inm || !inm[0] || strncmp(inm, "W/", 2) == 0)
        return;
    size_t n = strlen(inm), sl = strlen(enc) + 2;
    if (n < sl || inm[n - sl] != '-' || strncmp(inm + n - sl + 1, enc, sl - 2) != 0 ||
        inm[n - 1] != '"')
        return;
    cc_headers_set(r->arena, &r->headers, "If-None-Match",
                   cc_arena_printf(r->arena, "%.*s\"", (int)(n - sl), inm));
}

static bool is_sse(const char *ct)
{
    static const char sse[] = "text/event-stream";
    size_t k = sizeof(sse) - 1;
    if (!ct || strncasecmp(ct, sse, k) != 0)
        return false;
    ct += k;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* Length of a body when it is known without reading it, else -1. */
static int64_t known_len(cc_body *b)
{
    if (b->mem)
        return (int64_t)b->mem_len;
    if (b->fd >= 0) {
        if (b->len < 0) {
            struct stat st;
            b->len = fstat(b->fd, &st) == 0 && st.st_size > b->off ? st.st_size - b->off : 0;
        }
        return b->len;
    }
    return b->len;
}

/* The commit-time decision (Caddy's responseWriter.init, taken once the final status,
 * headers and body are known). */
static int encode_filter(cc_req *r, void *vctx)
{
    const enc_req *e = vctx;
    const encode_h *h = e->h;
    cc_resp *resp = &r->resp;
    cc_headers *hs = &resp->headers;
    int status = resp->status ? resp->status : 200;
    if (resp->abort)
        return CC_OK;
    /* a 304 stands for the full response, which varies (RFC 9110 15.4.5); so does the
     * answer to HEAD, which is never compressed here because it has no body to wrap */
    if (status == 304 || strcmp(r->method, "HEAD") == 0) {
        add_vary(r);
        return CC_OK;
    }
    /* partial content must not be re-encoded; informational and empty ones have none */
    if (status < 200 || status == 204 || status == 206 || !resp->body)
        return CC_OK;
    const char *ce = cc_headers_get(hs, "Content-Encoding");
    if (ce && ce[0])
        return CC_OK;

    cc_body *b = resp->body;
    int64_t len = known_len(b);
    const char *ct = cc_headers_get(hs, "Content-Type");
    char *peek = NULL;
    size_t peek_n = 0;
    bool streaming = !b->mem && b->fd < 0;
    /* Caddy decides on a stream of unknown length by its first write; an event stream
     * is compressed at once (its first event may be a long time coming) */
    if (streaming && ((len < 0 && !is_sse(ct)) || !ct || !ct[0])) {
        peek = cc_arena_alloc(r->arena, PEEK_LEN);
        ssize_t n = b->read ? b->read(b, peek, PEEK_LEN) : 0;
        if (n == CC_EAGAIN) {
            /* an async stream (proxied) whose first bytes are not in yet: its length is
             * unknown, so it is compressed when its type says so; with no type there is
             * nothing to sniff, and it goes out as it is */
            if (!ct || !ct[0])
                return CC_OK;
            n = 0;
            peek_n = 0;
        } else if (n < 0) {
            return CC_ERR;
        } else if (n == 0) {
            cc_enc_body_release(b);
            resp->body = NULL;
            return CC_OK;
        }
        if (n > 0) {
            peek_n = (size_t)n;
            if (len < 0)
                len = (int64_t)peek_n;
            resp->body = cc_enc_body_replay(r->arena, b, peek, peek_n);
        }
    }
    if (len >= 0 && len <= h->min_len)
        return CC_OK; /* Caddy compresses only bodies longer than minimum_length */

    if (!ct || !ct[0]) {
        const unsigned char *s = (const unsigned char *)peek;
        size_t sn = peek_n;
        if (b->mem) {
            s = (const unsigned char *)b->mem;
            sn = b->mem_len;
        } else if (b->fd >= 0) {
            unsigned char *buf = cc_arena_alloc(r->arena, SNIFF_LEN);
            ssize_t got = pread(b->fd, buf, SNIFF_LEN, (off_t)b->off);
            s = buf;
            sn = got > 0 ? (size_t)got : 0;
        }
        cc_headers_set(r->arena, hs, "Content-Type", cc_enc_sniff(s, sn));
    }
    if (no_transform(hs) || !resp_matches(h, status, hs))
        return CC_OK;
    if (!e->enc) {
        add_vary(r); /* the representation depends on Accept-Encoding all the same */
        return CC_OK;
    }

    cc_body *nb = NULL;
    if (b->mem && b->mem_len <= ONESHOT_MAX)
        nb = cc_enc_body_oneshot(r->arena, e->enc, b->mem, b->mem_len);
    if (nb)
        cc_enc_body_release(b);
    else
        nb = cc_enc_body_wrap(r->arena, e->enc, b, peek, peek_n);
    if (!nb)
        return CC_OK; /* no compressor (out of memory): send it as it is */
    resp->body = nb;
    cc_headers_del(hs, "Content-Length");
    cc_headers_set(r->arena, hs, "Content-Encoding", e->enc->name);
    add_vary(r);
    cc_headers_del(hs, "Accept-Ranges");
    suffix_etag(r, e->enc->name);
    return CC_OK;
}

static int encode_handle(cc_handler *hh, cc_req *r, cc_next *next)
{
    const encode_h *h = (const encode_h *)hh;
    const cc_enc_cfg *chosen = NULL;
    if (!no_transform(&r->headers)) {
        size_t n;
        const char **acc = cc_enc_accepted(r, h->prefer, h->nprefer, &n);
        for (size_t i = 0; i < n && !chosen; i++)
            chosen = find_enc(h, acc[i]);
    }
    if (chosen)
        unsuffix_if_none_match(r, chosen->name);
    enc_req *e = cc_arena_alloc(r->arena, sizeof(*e));
    e->h = h;
    e->enc = chosen;
    cc_resp_add_filter(r, encode_filter, e);
    return cc_next_run(next, r);
}

const cc_handler_type cc_ht_encode = {
    CC_HANDLER_ABI, "encode", sizeof(encode_h), encode_provision, encode_handle, NULL,
};
