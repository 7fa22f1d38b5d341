/* SPDX-License-Identifier: Apache-2.0
 * certmagic's storage keys and certificate resources (see store.h). The sanitiser and
 * the issuer key follow certmagic's KeyBuilder.Safe and ACMEIssuer.issuerKey exactly, so
 * a storage written by Caddy is found under the same keys. */
#include "store.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../core/arena.h"
#include "../core/storage.h"

char *cc_certstore_safe(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char *out = cc_xmalloc(n * 9 + 1), *o = out;
    for (size_t i = 0; i < n;) {
        char c = (char)tolower((unsigned char)s[i]);
        /* Go's strings.Replacer: one left-to-right pass, no overlapping matches */
        if (c == '.' && i + 1 < n && s[i + 1] == '.') {
            i += 2;
            continue;
        }
        i++;
        if (c == ' ')
            *o++ = '_';
        else if (c == '+') {
            memcpy(o, "_plus_", 6);
            o += 6;
        } else if (c == '*') {
            memcpy(o, "wildcard_", 9);
            o += 9;
        } else if (c == ':')
            *o++ = '-';
        else if (isalnum((unsigned char)c) || c == '_' || c == '@' || c == '.' || c == '-')
            *o++ = c;
    }
    *o = '\0';
    return out;
}

char *cc_certstore_acme_issuer_key(const char *ca_url)
{
    const char *p = strstr(ca_url, "://");
    if (!p)
        return cc_xstrdup(ca_url); /* not a URL: certmagic keeps the text as it is */
    p += 3;
    size_t hn = strcspn(p, "/?#");
    const char *path = p + hn;
    size_t pn = strcspn(path, "?#");
    char *out = cc_xmalloc(hn + pn + 2);
    memcpy(out, p, hn);
    /* the path with '/' and '\' as '-', trimmed of '-' at both ends */
    char *tmp = cc_xmalloc(pn + 1);
    for (size_t i = 0; i < pn; i++)
        tmp[i] = path[i] == '/' || path[i] == '\\' ? '-' : path[i];
    size_t b = 0, e = pn;
    while (b < e && tmp[b] == '-')
        b++;
    while (e > b && tmp[e - 1] == '-')
        e--;
    size_t o = hn;
    if (e > b) {
        out[o++] = '-';
        memcpy(out + o, tmp + b, e - b);
        o += e - b;
    }
    out[o] = '\0';
    free(tmp);
    return out;
}

char *cc_certstore_key(const char *issuer_key, const char *name, const char *ext)
{
    char *si = cc_certstore_safe(issuer_key), *sn = cc_certstore_safe(name);
    size_t n = strlen(si) + 2 * strlen(sn) + strlen(ext) + 32;
    char *out = cc_xmalloc(n);
    snprintf(out, n, "certificates/%s/%s/%s%s", si, sn, sn, ext);
    free(si);
    free(sn);
    return out;
}

void cc_certres_free(cc_certres *r)
{
    if (!r)
        return;
    if (r->key)
        memset(r->key, 0, r->key_len);
    free(r->chain);
    free(r->key);
    free(r->meta);
    memset(r, 0, sizeof(*r));
}

int cc_certres_load(cc_storage *st, const char *issuer_key, const char *name, cc_certres *out,
                    cc_err *err)
{
    memset(out, 0, sizeof(*out));
    const char *ext[3] = {".crt", ".key", ".json"};
    char **dst[3] = {&out->chain, &out->key, &out->meta};
    size_t *dlen[3] = {&out->chain_len, &out->key_len, &out->meta_len};
    for (int i = 0; i < 3; i++) {
        char *k = cc_certstore_key(issuer_key, name, ext[i]);
        cc_err e = {0};
        int rc = st->ops->load(st, k, dst[i], dlen[i], &e);
        free(k);
        if (rc == CC_ENOTFOUND && i == 2) {
            out->meta = cc_xstrdup("");
            out->meta_len = 0;
            break;
        }
        if (rc != CC_OK) {
            cc_certres_free(out);
            if (rc == CC_ENOTFOUND)
                return CC_ENOTFOUND;
            cc_err_set(err, "loading certificate for %s: %s", name, e.msg);
            return CC_ERR;
        }
    }
    return CC_OK;
}

int cc_certres_save(cc_storage *st, const char *issuer_key, const char *name, const char *chain,
                    const char *key, const char *const *sans, size_t nsans,
                    const char *issuer_data_json, cc_err *err)
{
    json_t *meta = json_object();
    json_t *arr = json_array();
    for (size_t i = 0; i < nsans; i++)
        json_array_append_new(arr, json_string(sans[i]));
    json_object_set_new(meta, "sans", arr);
    if (issuer_data_json && *issuer_data_json) {
        json_t *idata = json_loads(issuer_data_json, JSON_DECODE_ANY, NULL);
        if (idata)
            json_object_set_new(meta, "issuer_data", idata);
    }
    char *metatext = json_dumps(meta, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(meta);
    const char *vals[3] = {chain, key, metatext ? metatext : "{}"};
    const char *ext[3] = {".crt", ".key", ".json"};
    int rc = CC_OK;
    for (int i = 0; i < 3 && rc == CC_OK; i++) {
        char *k = cc_certstore_key(issuer_key, name, ext[i]);
        cc_err e = {0};
        rc = st->ops->store(st, k, vals[i], strlen(vals[i]), &e);
        free(k);
        if (rc != CC_OK)
            cc_err_set(err, "storing certificate for %s: %s", name, e.msg);
    }
    free(metatext);
    return rc == CC_OK ? CC_OK : CC_ERR;
}
