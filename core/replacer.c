/* SPDX-License-Identifier: Apache-2.0
 * Placeholders (caddy-reference.md 1.4) with the scanning rules of Caddy's Replacer:
 * "{" up to the next unescaped "}" is a key, "\{" and "\}" are literal braces, unknown
 * keys are kept or dropped. Templates are split and their keys classified once at
 * provision, so a request only looks values up and copies bytes into its arena. */
#include "replacer.h"

#include <string.h>

#include "replacer_priv.h"

typedef struct part {
    const char *lit; /* literal text (escapes resolved); NULL for a placeholder */
    size_t litn;
    const char *key; /* placeholder name */
    const char *raw; /* "{key}" as written, for keep_unknown */
    size_t rawn;
    cc_repl_kind k;
    const char *arg;
} part;

struct cc_tmpl {
    const char *src;
    part *parts;
    size_t n;
    bool dynamic;
};

/* ---- classification ---- */

static const struct {
    const char *name;
    cc_repl_kind k;
} exact[] = {
    {"system.hostname", K_SYS_HOSTNAME},
    {"system.slash", K_SYS_SLASH},
    {"system.os", K_SYS_OS},
    {"system.wd", K_SYS_WD},
    {"system.arch", K_SYS_ARCH},
    {"time.now", K_TIME_NOW},
    {"time.now.http", K_TIME_HTTP},
    {"time.now.common_log", K_TIME_CLOG},
    {"time.now.year", K_TIME_YEAR},
    {"time.now.unix", K_TIME_UNIX},
    {"time.now.unix_ms", K_TIME_UNIX_MS},
    {"http.request.method", K_METHOD},
    {"http.request.scheme", K_SCHEME},
    {"http.request.proto", K_PROTO},
    {"http.request.proto_name", K_PROTO_NAME},
    {"http.request.host", K_HOST},
    {"http.request.port", K_PORT},
    {"http.request.hostport", K_HOSTPORT},
    {"http.request.local", K_LOCAL},
    {"http.request.local.host", K_LOCAL_HOST},
    {"http.request.local.port", K_LOCAL_PORT},
    {"http.request.remote", K_REMOTE},
    {"http.request.remote.host", K_REMOTE_HOST},
    {"http.request.remote.port", K_REMOTE_PORT},
    {"http.request.uri", K_URI},
    {"http.request.uri_escaped", K_URI_ESC},
    {"http.request.uri.path", K_PATH},
    {"http.request.uri.path_escaped", K_PATH_ESC},
    {"http.request.uri.path.file", K_PATH_FILE},
    {"http.request.uri.path.dir", K_PATH_DIR},
    {"http.request.uri.path.file.base", K_PATH_BASE},
    {"http.request.uri.path.file.ext", K_PATH_EXT},
    {"http.request.uri.query", K_QUERY},
    {"http.request.uri.query_escaped", K_QUERY_ESC},
    {"http.request.uri.prefixed_query", K_PQUERY},
    {"http.request.duration", K_DURATION},
    {"http.request.duration_ms", K_DURATION_MS},
    {"http.request.uuid", K_UUID},
    {"http.request.body", K_BODY},
    {"http.request.body_base64", K_BODY_B64},
    {"http.request.orig_method", K_ORIG_METHOD},
    {"http.request.orig_uri", K_ORIG_URI},
    {"http.request.orig_uri.path", K_ORIG_PATH},
    {"http.request.orig_uri.path.file", K_ORIG_PATH_FILE},
    {"http.request.orig_uri.path.dir", K_ORIG_PATH_DIR},
    {"http.request.orig_uri.query", K_ORIG_QUERY},
    {"http.request.orig_uri.prefixed_query", K_ORIG_PQUERY},
    {"http.shutting_down", K_SHUTTING_DOWN},
    {"http.time_until_shutdown", K_TIME_UNTIL_SHUTDOWN},
    {"http.error", K_ERR},
    {"http.error.status_code", K_ERR_STATUS},
    {"http.error.status_text", K_ERR_TEXT},
    {"http.error.message", K_ERR_MSG},
    {"http.error.trace", K_ERR_TRACE},
    {"http.error.id", K_ERR_ID},
};

static const struct {
    const char *prefix;
    cc_repl_kind k;
} prefixed[] = {
    /* order is Caddy's: query, header, cookie, tls before the exact names */
    {"env.", K_ENV},
    {"file.", K_FILE},
    {"http.request.uri.query.", K_QUERY_ARG},
    {"http.request.header.", K_HEADER_ARG},
    {"http.request.cookie.", K_COOKIE_ARG},
    {"http.request.tls.", K_TLS_ARG},
};

static const struct {
    const char *prefix;
    cc_repl_kind k;
} prefixed_late[] = {
    {"http.request.remote.host/", K_REMOTE_PREFIX},
    {"http.request.host.labels.", K_HOST_LABEL},
    {"http.request.uri.path.", K_PATH_PART},
    {"http.request.orig_uri.path.", K_ORIG_PATH_PART},
    {"http.vars.", K_VAR},
    {"http.response.header.", K_RESP_HEADER},
};

static cc_repl_kind classify(const char *key, const char **arg)
{
    *arg = NULL;
    for (size_t i = 0; i < sizeof(prefixed) / sizeof(prefixed[0]); i++) {
        size_t n = strlen(prefixed[i].prefix);
        if (strncmp(key, prefixed[i].prefix, n) == 0) {
            *arg = key + n;
            return prefixed[i].k;
        }
    }
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strcmp(key, exact[i].name) == 0)
            return exact[i].k;
    for (size_t i = 0; i < sizeof(prefixed_late) / sizeof(prefixed_late[0]); i++) {
        size_t n = strlen(prefixed_late[i].prefix);
        if (strncmp(key, prefixed_late[i].prefix, n) == 0) {
            *arg = key + n;
            return prefixed_late[i].k;
        }
    }
    return K_OTHER;
}

/* Marks the stand-in request used when placeholders are expanded without one. */
char cc_repl_no_request;

/* ---- templates ---- */

typedef CC_VEC(part) partvec;

static void add_part(cc_arena *a, partvec *v, part p)
{
    CC_VEC_PUSH(a, v, p);
}

static void add_lit(cc_arena *a, partvec *v, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (v->n && v->v[v->n - 1].lit) {
        /* merge adjacent literals (escapes split them) */
        part *last = &v->v[v->n - 1];
        char *m = cc_arena_alloc(a, last->litn + n + 1);
        memcpy(m, last->lit, last->litn);
        memcpy(m + last->litn, s, n);
        last->lit = m;
        last->litn += n;
        return;
    }
    part p = {.lit = cc_arena_strndup(a, s, n), .litn = n};
    add_part(a, v, p);
}

cc_tmpl *cc_tmpl_compile(cc_arena *a, const char *s)
{
    cc_tmpl *t = cc_arena_alloc(a, sizeof(*t));
    if (!s)
        s = "";
    t->src = s;
    partvec v = {0};
    if (!strchr(s, '{') && !strchr(s, '}')) {
        add_lit(a, &v, s, strlen(s));
        t->parts = v.v;
        t->n = v.n;
        return t;
    }
    size_t len = strlen(s), last = 0;
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && s[i - 1] == '\\' && (s[i] == '{' || s[i] == '}')) {
            add_lit(a, &v, s + last, i - 1 - last);
            last = i;
            continue;
        }
        if (s[i] != '{')
            continue;
        const char *close = strchr(s + i, '}');
        if (!close)
            continue;
        size_t end = (size_t)(close - s);
        bool unclosed = false;
        while (end > 0 && end < len - 1 && s[end - 1] == '\\') {
            const char *nx = strchr(s + end + 1, '}');
            if (!nx) {
                unclosed = true;
                break;
            }
            end = (size_t)(nx - s);
        }
        if (unclosed)
            continue;
        add_lit(a, &v, s + last, i - last);
        part p = {0};
        p.key = cc_arena_strndup(a, s + i + 1, end - i - 1);
        p.raw = s + i;
        p.rawn = end - i + 1;
        p.k = classify(p.key, &p.arg);
        add_part(a, &v, p);
        t->dynamic = true;
        i = end;
        last = i + 1;
    }
    add_lit(a, &v, s + last, len - last);
    t->parts = v.v;
    t->n = v.n;
    return t;
}

bool cc_tmpl_dynamic(const cc_tmpl *t)
{
    return t && t->dynamic;
}

static const char *expand_parts(const cc_tmpl *t, cc_req *r, cc_arena *a, bool keep_unknown)
{
    if (!t->dynamic)
        return t->n ? t->parts[0].lit : "";
    const char *stackv[16];
    size_t stackn[16];
    const char **vals = t->n <= 16 ? stackv : cc_arena_alloc(a, t->n * sizeof(*vals));
    size_t *lens = t->n <= 16 ? stackn : cc_arena_alloc(a, t->n * sizeof(*lens));
    size_t total = 0;
    for (size_t i = 0; i < t->n; i++) {
        const part *p = &t->parts[i];
        if (p->lit) {
            vals[i] = p->lit;
            lens[i] = p->litn;
        } else {
            const char *v = cc_repl_lookup(r, p->key, p->k, p->arg);
            if (!v && keep_unknown) {
                if (memchr(p->key, '{', strlen(p->key))) {
                    /* Caddy rescans from just after the '{' of an unknown key */
                    cc_tmpl *sub = cc_tmpl_compile(a, cc_arena_strndup(a, p->raw + 1, p->rawn - 1));
                    const char *rest = expand_parts(sub, r, a, true);
                    v = cc_arena_printf(a, "{%s", rest);
                } else {
                    v = cc_arena_strndup(a, p->raw, p->rawn);
                }
            }
            vals[i] = v ? v : "";
            lens[i] = strlen(vals[i]);
        }
        total += lens[i];
    }
    char *out = cc_arena_alloc(a, total + 1), *o = out;
    for (size_t i = 0; i < t->n; i++) {
        memcpy(o, vals[i], lens[i]);
        o += lens[i];
    }
    *o = '\0';
    return out;
}

/* Expansion without a request (listen addresses, log paths at provision time): only
 * global placeholders resolve, and results live in a per-thread arena that lasts as
 * long as the thread (provision-time use only, never per request). */
static _Thread_local cc_arena *global_arena;

static cc_req *stand_in(cc_req *fake)
{
    if (!global_arena)
        global_arena = cc_arena_new(0);
    memset(fake, 0, sizeof(*fake));
    fake->arena = global_arena;
    fake->engine = &cc_repl_no_request;
    return fake;
}

const char *cc_tmpl_expand(const cc_tmpl *t, cc_req *r, bool keep_unknown)
{
    if (!t)
        return "";
    if (r)
        return expand_parts(t, r, r->arena, keep_unknown);
    if (!t->dynamic)
        return t->n ? t->parts[0].lit : "";
    cc_req fake;
    return expand_parts(t, stand_in(&fake), global_arena, keep_unknown);
}

const char *cc_repl_expand(cc_req *r, const char *s, bool keep_unknown)
{
    if (!s)
        return "";
    if (!strchr(s, '{') && !strchr(s, '}'))
        return s;
    if (r)
        return expand_parts(cc_tmpl_compile(r->arena, s), r, r->arena, keep_unknown);
    cc_req fake;
    stand_in(&fake);
    return expand_parts(cc_tmpl_compile(global_arena, s), &fake, global_arena, keep_unknown);
}

const char *cc_repl_get(cc_req *r, const char *name)
{
    const char *arg;
    cc_repl_kind k = classify(name, &arg);
    if (r)
        return cc_repl_lookup(r, name, k, arg);
    cc_req fake;
    return cc_repl_lookup(stand_in(&fake), name, k, arg);
}
