/* SPDX-License-Identifier: Apache-2.0
 * Access log entries (Caddy's "handled request" shape) and handler-error entries: which
 * named loggers a request goes to (logger_names, default_logger_name, skip_hosts,
 * skip_unmapped_hosts, log_skip), credential redaction, and the filter encoder's field
 * filters. Built once per request in its arena; written per matching log. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ipnet.h"
#include "log_priv.h"
#include "server.h"

/* certmagic.MatchWildcard: exact, or one label replaced by '*'. */
static bool match_wildcard(const char *host, const char *pat)
{
    if (strcasecmp(host, pat) == 0)
        return true;
    if (!strchr(pat, '*'))
        return false;
    const char *h = host, *p = pat;
    for (;;) {
        const char *hd = strchr(h, '.'), *pd = strchr(p, '.');
        size_t hn = hd ? (size_t)(hd - h) : strlen(h), pn = pd ? (size_t)(pd - p) : strlen(p);
        if (!(pn == 1 && *p == '*') && (hn != pn || strncasecmp(h, p, hn) != 0))
            return false;
        if (!hd || !pd)
            return !hd && !pd;
        h = hd + 1;
        p = pd + 1;
    }
}

static const char *host_no_port(cc_arena *a, const char *hp)
{
    if (!hp)
        return "";
    const char *colon = strrchr(hp, ':');
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        if (rb && rb + 1 == colon)
            return cc_arena_strndup(a, hp + 1, (size_t)(rb - hp - 1));
        return hp;
    }
    if (colon && !memchr(hp, ':', (size_t)(colon - hp)))
        return cc_arena_strndup(a, hp, (size_t)(colon - hp));
    return hp;
}

static bool should_log(const cc_cfg *logs, const char *host)
{
    const cc_cfg *names = cc_cfg_get(logs, "logger_names");
    for (size_t i = 0; names && names->type == CC_CFG_OBJ && i < names->obj.n; i++)
        if (match_wildcard(host, names->obj.k[i]))
            return true;
    const cc_cfg *skip = cc_cfg_get(logs, "skip_hosts");
    for (size_t i = 0; i < cc_cfg_len(skip); i++) {
        const cc_cfg *s = cc_cfg_idx(skip, i);
        if (s && s->type == CC_CFG_STR && match_wildcard(host, s->s.p))
            return false;
    }
    const cc_cfg *unm = cc_cfg_get(logs, "skip_unmapped_hosts");
    return !(unm && unm->type == CC_CFG_BOOL && unm->b);
}

/* Logger names for host: logger_names[host], then one-label wildcards, else the
 * default name. */
static const cc_cfg *names_for_host(cc_arena *a, const cc_cfg *logs, const char *host)
{
    const cc_cfg *names = cc_cfg_get(logs, "logger_names");
    const cc_cfg *v = cc_cfg_get(names, host);
    if (v)
        return v;
    char *labels = cc_arena_strdup(a, host);
    size_t n = strlen(labels);
    for (size_t start = 0; start < n;) {
        size_t end = start;
        while (end < n && labels[end] != '.')
            end++;
        if (end > start) {
            char *cand = cc_arena_alloc(a, n + 2);
            /* every label up to this one becomes '*' (Caddy replaces them cumulatively) */
            size_t w = 0;
            for (size_t i = 0; i < n;) {
                size_t e = i;
                while (e < n && labels[e] != '.')
                    e++;
                if (i <= start && e > i) {
                    cand[w++] = '*';
                } else {
                    memcpy(cand + w, labels + i, e - i);
                    w += e - i;
                }
                if (e < n)
                    cand[w++] = '.';
                i = e + 1;
            }
            cand[w] = '\0';
            v = cc_cfg_get(names, cand);
            if (v)
                return v;
        }
        start = end + 1;
    }
    return NULL;
}

static bool is_secret_header(const char *name)
{
    return strcasecmp(name, "Cookie") == 0 || strcasecmp(name, "Set-Cookie") == 0 ||
           strcasecmp(name, "Authorization") == 0 || strcasecmp(name, "Proxy-Authorization") == 0;
}

/* Go's textproto.CanonicalMIMEHeaderKey. */
static const char *canonical(cc_arena *a, const char *name)
{
    for (const char *c = name; *c; c++)
        if (*c == ' ' || (unsigned char)*c >= 0x80)
            return name;
    char *out = cc_arena_strdup(a, name);
    bool up = true;
    for (char *c = out; *c; c++) {
        if (up && *c >= 'a' && *c <= 'z')
            *c = (char)(*c - 32);
        else if (!up && *c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
        up = *c == '-';
    }
    return out;
}

/* What an entry is built from; fields are written per log because a "filter" encoder
 * changes them. */
typedef struct entry {
    cc_req *r;
    bool creds;
    bool error; /* the http.log.error entry instead of an access entry */
    int64_t bytes_read, bytes_written;
    double duration;
} entry;

typedef struct fctx {
    cc_jb *b;
    const lfilter *f;
    size_t nf;
    char path[256];
} fctx;

static const lfilter *filter_for(const fctx *c, const char *key)
{
    if (!c->nf)
        return NULL;
    char full[512];
    snprintf(full, sizeof(full), "%s%s%s", c->path, *c->path ? ">" : "", key);
    for (size_t i = 0; i < c->nf; i++)
        if (strcmp(c->f[i].path, full) == 0)
            return &c->f[i];
    return NULL;
}

/* Writes "key":"value" through the filters. */
static void put_str(fctx *c, cc_arena *a, const char *key, const char *value)
{
    const lfilter *f = filter_for(c, key);
    if (f && f->t == F_DELETE)
        return;
    if (f && f->t == F_REPLACE)
        value = f->value;
    if (f && f->t == F_IP_MASK) {
        cc_ip ip;
        if (cc_ip_parse(value, &ip)) {
            cc_ip_mask(&ip, ip.v6 ? f->v6bits : f->v4bits);
            char buf[64];
            value = cc_arena_strdup(a, cc_ip_format(&ip, buf, sizeof(buf)));
        }
    }
    cc_jb_key(c->b, key);
    cc_jb_str(c->b, value);
}

static void put_num(fctx *c, const char *key, double v, bool integer)
{
    const lfilter *f = filter_for(c, key);
    if (f && f->t == F_DELETE)
        return;
    cc_jb_key(c->b, key);
    if (f && f->t == F_REPLACE)
        cc_jb_str(c->b, f->value);
    else if (integer)
        cc_jb_int(c->b, (long long)v);
    else
        cc_jb_float(c->b, v);
}

static void headers_obj(fctx *c, cc_arena *a, const char *key, const cc_headers *h, bool creds,
                        bool skip_host)
{
    const lfilter *f = filter_for(c, key);
    if (f && f->t == F_DELETE)
        return;
    cc_jb_key(c->b, key);
    if (f && f->t == F_REPLACE) {
        cc_jb_str(c->b, f->value);
        return;
    }
    size_t saved = strlen(c->path);
    snprintf(c->path + saved, sizeof(c->path) - saved, "%s%s", saved ? ">" : "", key);
    cc_jb_puts(c->b, "{");
    bool *done = h->n ? cc_arena_alloc(a, h->n) : NULL;
    for (size_t i = 0; i < h->n; i++) {
        if (done[i])
            continue;
        if (skip_host && strcasecmp(h->v[i].name, "Host") == 0)
            continue;
        const char *name = canonical(a, h->v[i].name);
        for (size_t k = i; k < h->n; k++)
            if (strcasecmp(h->v[k].name, h->v[i].name) == 0)
                done[k] = true;
        const lfilter *hf = filter_for(c, name);
        if (hf && hf->t == F_DELETE)
            continue;
        cc_jb_key(c->b, name);
        if (hf && hf->t == F_REPLACE) {
            cc_jb_str(c->b, hf->value);
            continue;
        }
        cc_jb_puts(c->b, "[");
        if (!creds && is_secret_header(h->v[i].name)) {
            cc_jb_str(c->b, "REDACTED");
        } else {
            bool first = true;
            for (size_t k = i; k < h->n; k++) {
                if (strcasecmp(h->v[k].name, h->v[i].name) != 0)
                    continue;
                if (!first)
                    cc_jb_puts(c->b, ",");
                cc_jb_str(c->b, h->v[k].value);
                first = false;
            }
        }
        cc_jb_puts(c->b, "]");
    }
    cc_jb_puts(c->b, "}");
    c->path[saved] = '\0';
}

static void build_fields(cc_jb *b, const entry *e, const lfilter *filters, size_t nf)
{
    cc_req *r = e->r;
    cc_arena *a = r->arena;
    fctx c = {.b = b, .f = filters, .nf = nf};
    char port[16] = "";
    if (r->conn && r->conn->remote_port > 0)
        snprintf(port, sizeof(port), "%d", r->conn->remote_port);
    const lfilter *rf = filter_for(&c, "request");
    if (!(rf && rf->t == F_DELETE)) {
        cc_jb_key(b, "request");
        cc_jb_puts(b, "{");
        snprintf(c.path, sizeof(c.path), "request");
        put_str(&c, a, "remote_ip", r->conn && r->conn->remote_ip ? r->conn->remote_ip : "");
        put_str(&c, a, "remote_port", port);
        const char *cip = cc_vars_get(&r->vars, "client_ip");
        if (cip)
            put_str(&c, a, "client_ip", cip);
        put_str(&c, a, "proto", r->proto ? r->proto : "");
        put_str(&c, a, "method", r->orig_method ? r->orig_method : (r->method ? r->method : ""));
        put_str(&c, a, "host", r->hostport ? r->hostport : (r->host ? r->host : ""));
        put_str(&c, a, "uri", r->orig_target ? r->orig_target : (r->target ? r->target : ""));
        headers_obj(&c, a, "headers", &r->headers, e->creds, true);
        if (r->conn && r->conn->tls) {
            cc_jb_key(b, "tls");
            cc_jb_puts(b, "{\"resumed\":false");
            cc_jb_key(b, "version");
            cc_jb_str(b, r->conn->tls_version ? r->conn->tls_version : "");
            cc_jb_key(b, "cipher_suite");
            cc_jb_str(b, r->conn->tls_cipher ? r->conn->tls_cipher : "");
            cc_jb_key(b, "proto");
            cc_jb_str(b, r->conn->tls_proto ? r->conn->tls_proto : "");
            cc_jb_key(b, "server_name");
            cc_jb_str(b, r->conn->tls_server_name ? r->conn->tls_server_name : "");
            cc_jb_puts(b, "}");
        }
        cc_jb_puts(b, "}");
        c.path[0] = '\0';
    }
    if (e->error) {
        put_num(&c, "duration", e->duration, false);
        put_num(&c, "status", r->err.status, true);
        put_str(&c, a, "err_id", r->err.id ? r->err.id : "");
        put_str(&c, a, "err_trace", r->err.trace ? r->err.trace : "");
        return;
    }
    put_num(&c, "bytes_read", (double)e->bytes_read, true);
    const char *uid = cc_vars_get(&r->vars, "http.auth.user.id");
    put_str(&c, a, "user_id", uid ? uid : "");
    put_num(&c, "duration", e->duration, false);
    put_num(&c, "size", (double)e->bytes_written, true);
    /* Caddy logs what its response recorder saw: 0 when no handler wrote anything (the
     * client still gets Go's implicit 200) */
    const char *unhandled = cc_vars_get(&r->vars, "unhandled");
    bool nop = unhandled && strcmp(unhandled, "true") == 0;
    put_num(&c, "status", nop ? 0 : r->resp.status, true);
    headers_obj(&c, a, "resp_headers", &r->resp.headers, e->creds, false);
    if (r->uuid)
        put_str(&c, a, "uuid", r->uuid);
}

static void emit(cc_logsys *ls, const char *logger, cc_log_level lvl, const char *msg,
                 const struct timespec *ts, const entry *e, cc_jb *shared)
{
    cc_req *r = e->r;
    for (size_t i = 0; i < ls->n; i++) {
        const clog *l = &ls->logs[i];
        if (lvl < l->level || !l->w || l->w->fd < 0 || !cc_log_logger_allowed(l, logger))
            continue;
        cc_jb own = {.a = r->arena}, *fields = shared;
        if (l->nfilters) {
            own.p = NULL;
            cc_jb_puts(&own, "");
            build_fields(&own, e, l->filters, l->nfilters);
            fields = &own;
        } else if (!shared->p) {
            cc_jb_puts(shared, "");
            build_fields(shared, e, NULL, 0);
        }
        bool console = l->format == 2 || (l->format == 0 && l->w->console);
        cc_jb b = {.a = r->arena};
        cc_log_format_entry(&b, console, lvl, ts, logger, msg, fields->p, fields->n);
        cc_logw_write(l->w, b.p, b.n);
    }
}

static const char *access_name(cc_arena *a, const char *name, size_t n)
{
    return n ? cc_arena_printf(a, "http.log.access.%.*s", (int)n, name) : "http.log.access";
}

void cc_logsys_access(cc_logsys *ls, const struct cc_server *s, cc_req *r, int64_t bytes_read,
                      int64_t bytes_written)
{
    if (!ls || !s || !s->logs)
        return;
    const char *skip = cc_vars_get(&r->vars, "log_skip");
    if (skip && *skip && strcmp(skip, "false") != 0)
        return;
    const char *host = host_no_port(r->arena, r->hostport ? r->hostport : r->host);
    if (!should_log(s->logs, host))
        return;
    const cc_cfg *credv = cc_cfg_get(s->logs, "should_log_credentials");
    entry e = {
        .r = r,
        .creds = credv && credv->type == CC_CFG_BOOL && credv->b,
        .bytes_read = bytes_read,
        .bytes_written = bytes_written,
        .duration = (double)(cc_now_mono_ns() - r->start_mono_ns) / 1e9,
    };
    cc_jb shared = {.a = r->arena};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cc_log_level lvl = r->resp.status >= 500 ? CC_LOG_ERROR : CC_LOG_INFO;
    const char *unhandled = cc_vars_get(&r->vars, "unhandled");
    const char *msg = unhandled && strcmp(unhandled, "true") == 0 ? "NOP" : "handled request";

    /* the log_name directive's override, a comma-separated list of names */
    const char *override = cc_vars_get(&r->vars, "access_logger_names");
    if (override) {
        for (const char *p = override;;) {
            const char *c = strchr(p, ',');
            size_t n = c ? (size_t)(c - p) : strlen(p);
            emit(ls, access_name(r->arena, p, n), lvl, msg, &ts, &e, &shared);
            if (!c)
                break;
            p = c + 1;
        }
        return;
    }
    const cc_cfg *names = names_for_host(r->arena, s->logs, host);
    if (!names) {
        const char *dn = cc_cfg_get_str(s->logs, "default_logger_name");
        emit(ls, access_name(r->arena, dn ? dn : "", dn ? strlen(dn) : 0), lvl, msg, &ts, &e,
             &shared);
        return;
    }
    if (names->type == CC_CFG_STR) {
        emit(ls, access_name(r->arena, names->s.p, strlen(names->s.p)), lvl, msg, &ts, &e, &shared);
        return;
    }
    for (size_t i = 0; i < cc_cfg_len(names); i++) {
        const cc_cfg *nv = cc_cfg_idx(names, i);
        const char *nm = nv && nv->type == CC_CFG_STR ? nv->s.p : "";
        emit(ls, access_name(r->arena, nm, strlen(nm)), lvl, msg, &ts, &e, &shared);
    }
}

void cc_logsys_error(cc_logsys *ls, const struct cc_server *s, cc_req *r)
{
    cc_log_level lvl = r->err.status >= 500 ? CC_LOG_ERROR : CC_LOG_DEBUG;
    if (!ls || lvl < cc_log_min_level())
        return;
    entry e = {
        .r = r,
        .error = true,
        .duration = (double)(cc_now_mono_ns() - r->start_mono_ns) / 1e9,
    };
    const char *logger = "http.log.error";
    if (s && s->logs) {
        const char *host = host_no_port(r->arena, r->hostport ? r->hostport : r->host);
        const cc_cfg *names = names_for_host(r->arena, s->logs, host);
        const char *nm = NULL;
        if (!names)
            nm = cc_cfg_get_str(s->logs, "default_logger_name");
        else if (names->type == CC_CFG_STR)
            nm = names->s.p;
        else if (cc_cfg_idx(names, 0) && cc_cfg_idx(names, 0)->type == CC_CFG_STR)
            nm = cc_cfg_idx(names, 0)->s.p;
        if (nm && *nm)
            logger = cc_arena_printf(r->arena, "http.log.error.%s", nm);
    }
    cc_jb shared = {.a = r->arena};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    const char *msg = r->err.message ? r->err.message : cc_http_status_text(r->err.status);
    emit(ls, logger, lvl, msg, &ts, &e, &shared);
}
