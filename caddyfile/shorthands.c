/* SPDX-License-Identifier: Apache-2.0
 * Placeholder shorthands (caddy-reference 1.4): the adapter rewrites {host}, {path},
 * {header.X}, {re.name.1} ... into Caddy's full placeholder names in every token of a
 * site block before its directives are parsed, exactly as Caddy's ShorthandReplacer:
 * fixed names first, then the parameterised families one after another. */
#include "adapter_priv.h"

#include <ctype.h>
#include <string.h>

static const char *const simple[][2] = {
    {"{host}", "{http.request.host}"},
    {"{hostport}", "{http.request.hostport}"},
    {"{port}", "{http.request.port}"},
    {"{orig_method}", "{http.request.orig_method}"},
    {"{orig_uri}", "{http.request.orig_uri}"},
    {"{orig_path}", "{http.request.orig_uri.path}"},
    {"{orig_dir}", "{http.request.orig_uri.path.dir}"},
    {"{orig_file}", "{http.request.orig_uri.path.file}"},
    {"{orig_query}", "{http.request.orig_uri.query}"},
    {"{orig_?query}", "{http.request.orig_uri.prefixed_query}"},
    {"{method}", "{http.request.method}"},
    {"{uri}", "{http.request.uri}"},
    {"{%uri}", "{http.request.uri_escaped}"},
    {"{path}", "{http.request.uri.path}"},
    {"{%path}", "{http.request.uri.path_escaped}"},
    {"{dir}", "{http.request.uri.path.dir}"},
    {"{file}", "{http.request.uri.path.file}"},
    {"{query}", "{http.request.uri.query}"},
    {"{%query}", "{http.request.uri.query_escaped}"},
    {"{?query}", "{http.request.uri.prefixed_query}"},
    {"{remote}", "{http.request.remote}"},
    {"{remote_host}", "{http.request.remote.host}"},
    {"{remote_port}", "{http.request.remote.port}"},
    {"{scheme}", "{http.request.scheme}"},
    {"{uuid}", "{http.request.uuid}"},
    {"{tls_cipher}", "{http.request.tls.cipher_suite}"},
    {"{tls_version}", "{http.request.tls.version}"},
    {"{tls_client_fingerprint}", "{http.request.tls.client.fingerprint}"},
    {"{tls_client_issuer}", "{http.request.tls.client.issuer}"},
    {"{tls_client_serial}", "{http.request.tls.client.serial}"},
    {"{tls_client_subject}", "{http.request.tls.client.subject}"},
    {"{tls_client_certificate_pem}", "{http.request.tls.client.certificate_pem}"},
    {"{tls_client_certificate_der_base64}", "{http.request.tls.client.certificate_der_base64}"},
    {"{upstream_hostport}", "{http.reverse_proxy.upstream.hostport}"},
    {"{client_ip}", "{http.vars.client_ip}"},
};

/* {prefix.<word chars, '-' and maybe '.'>} -> {replacement.<same>} */
static const struct {
    const char *prefix, *repl;
    bool dot;
} families[] = {
    {"{header.", "{http.request.header.", false},
    {"{cookie.", "{http.request.cookie.", false},
    {"{labels.", "{http.request.host.labels.", false},
    {"{path.", "{http.request.uri.path.", false},
    {"{file.", "{http.request.uri.path.file.", false},
    {"{query.", "{http.request.uri.query.", false},
    {"{re.", "{http.regexp.", true},
    {"{vars.", "{http.vars.", false},
    {"{rp.", "{http.reverse_proxy.", true},
    {"{resp.", "{http.intercept.", true},
    {"{err.", "{http.error.", true},
    {"{file_match.", "{http.matchers.file.", false},
};

typedef struct {
    cc_arena *a;
    char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t nc = (b->n + n + 1) * 2;
        b->p = cc_arena_grow(b->a, b->p, b->cap, nc);
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static bool word_char(unsigned char c, bool dot)
{
    return isalnum(c) || c == '_' || c == '-' || (dot && c == '.');
}

static char *apply_family(cc_arena *a, const char *s, size_t n, size_t fam, size_t *out_n)
{
    const char *pre = families[fam].prefix;
    size_t pl = strlen(pre);
    buf b = {a, NULL, 0, 0};
    put(&b, "", 0);
    size_t i = 0;
    while (i < n) {
        if (s[i] == '{' && n - i >= pl && memcmp(s + i, pre, pl) == 0) {
            size_t j = i + pl;
            while (j < n && word_char((unsigned char)s[j], families[fam].dot))
                j++;
            if (j < n && s[j] == '}') {
                put(&b, families[fam].repl, strlen(families[fam].repl));
                put(&b, s + i + pl, j + 1 - (i + pl));
                i = j + 1;
                continue;
            }
        }
        put(&b, s + i, 1);
        i++;
    }
    *out_n = b.n;
    return b.p;
}

char *cc_cf_shorthand_replace(cc_arena *a, const char *s, size_t n, size_t *out_n)
{
    buf b = {a, NULL, 0, 0};
    put(&b, "", 0);
    size_t i = 0;
    while (i < n) {
        bool done = false;
        if (s[i] == '{') {
            for (size_t k = 0; k < sizeof(simple) / sizeof(simple[0]); k++) {
                size_t l = strlen(simple[k][0]);
                if (n - i >= l && memcmp(s + i, simple[k][0], l) == 0) {
                    put(&b, simple[k][1], strlen(simple[k][1]));
                    i += l;
                    done = true;
                    break;
                }
            }
        }
        if (!done) {
            put(&b, s + i, 1);
            i++;
        }
    }
    char *cur = b.p;
    size_t cn = b.n;
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
        if (memchr(cur, '{', cn))
            cur = apply_family(a, cur, cn, f, &cn);
    *out_n = cn;
    return cur;
}

void cc_cf_shorthand_apply(cc_arena *a, cc_segment *seg)
{
    for (size_t i = 0; i < seg->n; i++) {
        cc_token *t = &seg->v[i];
        if (!memchr(t->text, '{', t->len))
            continue;
        size_t n = 0;
        t->text = cc_cf_shorthand_replace(a, t->text, t->len, &n);
        t->len = n;
    }
}
