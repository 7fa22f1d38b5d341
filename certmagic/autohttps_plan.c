/* SPDX-License-Identifier: Apache-2.0
 * Reading the TLS and PKI apps of a config into the plan: automation policies and their
 * issuers (acme, internal), certificates loaded from files or PEM text (read now, so a
 * bad file is a config error and automatic HTTPS can see which names they cover), the
 * pki app's CAs, and durations in either of Caddy's forms. */
#include "autohttps_priv.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "crypto.h"

int ah_duration(const cc_cfg *v, int64_t *ns, cc_err *err)
{
    if (!v)
        return CC_OK;
    if (v->type == CC_CFG_INT) {
        *ns = v->i;
        return CC_OK;
    }
    if (v->type == CC_CFG_NUM) {
        *ns = (int64_t)v->d;
        return CC_OK;
    }
    if (v->type != CC_CFG_STR)
        return cc_err_setat(err, v->file, v->line, "duration must be an integer or a string");
    /* Go's time.ParseDuration plus Caddy's "d" (days) */
    const char *p = v->s.p;
    double total = 0;
    if (!*p)
        goto bad;
    while (*p) {
        char *end;
        errno = 0;
        double x = strtod(p, &end);
        if (end == p || errno)
            goto bad;
        p = end;
        double unit;
        if (strncmp(p, "ns", 2) == 0)
            unit = 1, p += 2;
        else if (strncmp(p, "us", 2) == 0 || strncmp(p, "\xc2\xb5s", 3) == 0)
            unit = 1e3, p += p[0] == 'u' ? 2 : 3;
        else if (strncmp(p, "ms", 2) == 0)
            unit = 1e6, p += 2;
        else if (*p == 's')
            unit = 1e9, p++;
        else if (*p == 'm')
            unit = 60e9, p++;
        else if (*p == 'h')
            unit = 3600e9, p++;
        else if (*p == 'd')
            unit = 86400e9, p++;
        else
            goto bad;
        total += x * unit;
    }
    *ns = (int64_t)total;
    return CC_OK;
bad:
    return cc_err_setat(err, v->file, v->line, "invalid duration '%s'", v->s.p);
}

static bool get_bool(const cc_cfg *o, const char *k)
{
    const cc_cfg *v = cc_cfg_get(o, k);
    return v && v->type == CC_CFG_BOOL && v->b;
}

static const char *arena_str(cc_arena *a, const cc_cfg *o, const char *k)
{
    const char *s = cc_cfg_get_str(o, k);
    return s && *s ? cc_arena_strdup(a, s) : NULL;
}

static int parse_issuer(cc_arena *a, const cc_cfg *iv, cc_ah_issuer *out, cc_err *err)
{
    memset(out, 0, sizeof(*out));
    const char *mod = cc_cfg_get_str(iv, "module");
    if (!mod)
        return cc_err_setat(err, iv ? iv->file : NULL, iv ? iv->line : 0,
                            "automation policy issuer: missing module name");
    if (strcmp(mod, "internal") == 0) {
        out->kind = CC_ISS_INTERNAL;
        out->ca = arena_str(a, iv, "ca");
        if (!out->ca)
            out->ca = CC_CA_DEFAULT_ID;
        int64_t ns = 0;
        if (ah_duration(cc_cfg_get(iv, "lifetime"), &ns, err) != CC_OK)
            return CC_ERR;
        out->lifetime = ns / 1000000000;
        if (ns > 0 && out->lifetime == 0)
            out->lifetime = 1;
        out->sign_with_root = get_bool(iv, "sign_with_root");
        return CC_OK;
    }
    if (strcmp(mod, "acme") != 0 && strcmp(mod, "zerossl") != 0)
        return cc_err_setat(err, iv->file, iv->line,
                            "loading tls.issuance module '%s': caddy-c supports the 'acme' and "
                            "'internal' issuers",
                            mod);
    out->kind = CC_ISS_ACME;
    out->directory = arena_str(a, iv, "ca");
    if (!out->directory)
        out->directory = strcmp(mod, "zerossl") == 0 ? CC_AH_ZEROSSL : CC_AH_LE_PROD;
    out->email = arena_str(a, iv, "email");
    const cc_cfg *eab = cc_cfg_get(iv, "external_account");
    out->eab_key_id = arena_str(a, eab, "key_id");
    out->eab_mac_key = arena_str(a, eab, "mac_key");
    const cc_cfg *roots = cc_cfg_get(iv, "trusted_roots_pem_files");
    if (cc_cfg_len(roots) > 0 && cc_cfg_idx(roots, 0)->type == CC_CFG_STR)
        out->ca_root = cc_arena_strdup(a, cc_cfg_idx(roots, 0)->s.p);
    const cc_cfg *ch = cc_cfg_get(iv, "challenges");
    out->disable_http01 = get_bool(cc_cfg_get(ch, "http"), "disabled");
    out->disable_tlsalpn01 = get_bool(cc_cfg_get(ch, "tls-alpn"), "disabled");
    return CC_OK;
}

int ah_parse_policy(cc_arena *a, const cc_cfg *pv, cc_ah_policy *out, cc_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!pv || pv->type != CC_CFG_OBJ)
        return cc_err_set(err, "tls automation policy must be an object");
    const cc_cfg *subj = cc_cfg_get(pv, "subjects");
    out->nsubjects = cc_cfg_len(subj);
    out->subjects = cc_arena_alloc(a, (out->nsubjects + 1) * sizeof(char *));
    for (size_t i = 0; i < out->nsubjects; i++) {
        const cc_cfg *s = cc_cfg_idx(subj, i);
        if (s->type != CC_CFG_STR)
            return cc_err_setat(err, s->file, s->line, "policy subjects must be strings");
        out->subjects[i] = cc_arena_strdup(a, s->s.p);
    }
    const cc_cfg *iss = cc_cfg_get(pv, "issuers");
    out->nissuers = cc_cfg_len(iss);
    if (out->nissuers == 0) {
        /* Caddy's DefaultIssuers with no email: Let's Encrypt */
        out->nissuers = 1;
        out->issuers = cc_arena_alloc(a, sizeof(*out->issuers));
        out->issuers[0].kind = CC_ISS_ACME;
        out->issuers[0].directory = CC_AH_LE_PROD;
    } else {
        out->issuers = cc_arena_alloc(a, out->nissuers * sizeof(*out->issuers));
        for (size_t i = 0; i < out->nissuers; i++)
            if (parse_issuer(a, cc_cfg_idx(iss, i), &out->issuers[i], err) != CC_OK)
                return CC_ERR;
    }
    out->key_type = arena_str(a, pv, "key_type");
    cc_key_type kt;
    cc_err e = {0};
    if (cc_key_type_parse(out->key_type, &kt, &e) != CC_OK) {
        const cc_cfg *kv = cc_cfg_get(pv, "key_type");
        return cc_err_setat(err, kv->file, kv->line, "%s", e.msg);
    }
    /* wolfSSL 5.5.4 issues an Ed25519 certificate but cannot load one back (the TLS front
     * could never serve it and the manager would retry for ever): refuse it at load */
    if (out->key_type && kt == CC_KEY_ED25519) {
        const cc_cfg *kv = cc_cfg_get(pv, "key_type");
        return cc_err_setat(err, kv->file, kv->line,
                            "key_type ed25519 is not supported by this build's TLS library "
                            "(wolfSSL %s cannot load Ed25519 certificates)",
                            cc_crypto_lib_version());
    }
    const cc_cfg *r = cc_cfg_get(pv, "renewal_window_ratio");
    if (r && (r->type == CC_CFG_NUM || r->type == CC_CFG_INT))
        out->renewal_ratio = r->type == CC_CFG_NUM ? r->d : (double)r->i;
    if (out->renewal_ratio <= 0 || out->renewal_ratio >= 1)
        out->renewal_ratio = 1.0 / 3;
    return CC_OK;
}

static char *slurp(cc_arena *a, const char *path, cc_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cc_err_set(err, "%s", strerror(errno));
        return NULL;
    }
    size_t cap = 8192, n = 0;
    char *buf = cc_xmalloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap) {
            if (cap >= (16u << 20))
                break;
            buf = cc_xrealloc(buf, cap *= 2);
        }
    }
    fclose(f);
    char *out = cc_arena_strndup(a, buf, n);
    memset(buf, 0, cap);
    free(buf);
    return out;
}

static int add_loaded(cc_arena *a, ah_state *st, const char *chain, const char *key,
                      const char *origin, const cc_cfg *at, cc_err *err)
{
    cc_err e = {0};
    cc_cert *c = cc_cert_from_pem(chain, strlen(chain), key, strlen(key), "file", false, &e);
    if (!c)
        return cc_err_setat(err, at ? at->file : NULL, at ? at->line : 0,
                            "loading certificates: %s: %s", origin, e.msg);
    cc_ah_loaded l = {chain, key, origin, NULL, c->nnames};
    l.names = cc_arena_alloc(a, (c->nnames + 1) * sizeof(char *));
    for (size_t i = 0; i < c->nnames; i++)
        l.names[i] = cc_arena_strdup(a, c->names[i]);
    cc_cert_unref(c);
    CC_VEC_PUSH(a, &st->loaded, l);
    return CC_OK;
}

/* Caddy's folder loader: every *.pem file below dir holds one certificate chain and its
 * private key (blocks in any order). */
static int load_folder(cc_arena *a, ah_state *st, const char *dir, const cc_cfg *at, int depth,
                       cc_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return cc_err_setat(err, at->file, at->line,
                            "loading certificates: unable to load dir: %s: %s", dir,
                            strerror(errno));
    int rc = CC_OK;
    struct dirent *e;
    while (rc == CC_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = cc_arena_printf(a, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            if (depth < 16)
                rc = load_folder(a, st, path, at, depth + 1, err);
            continue;
        }
        size_t n = strlen(e->d_name);
        if (n < 4 || strcasecmp(e->d_name + n - 4, ".pem") != 0)
            continue;
        cc_err fe = {0};
        char *text = slurp(a, path, &fe);
        if (!text) {
            rc =
                cc_err_setat(err, at->file, at->line, "loading certificates: %s: %s", path, fe.msg);
            break;
        }
        /* split the bundle: certificate blocks form the chain, the key block the key */
        char *chain = cc_arena_strdup(a, ""), *key = NULL;
        for (const char *p = strstr(text, "-----BEGIN "); p; p = strstr(p, "-----BEGIN ")) {
            const char *lab = p + 11, *labend = strstr(lab, "-----");
            if (!labend)
                break;
            char *endmark = cc_arena_printf(a, "-----END %.*s-----", (int)(labend - lab), lab);
            const char *end = strstr(labend, endmark);
            if (!end)
                break;
            end += strlen(endmark);
            char *block = cc_arena_printf(a, "%.*s\n", (int)(end - p), p);
            if (strncmp(lab, "CERTIFICATE-----", 16) == 0)
                chain = cc_arena_printf(a, "%s%s", chain, block);
            else if (labend - lab >= 11 && strncmp(labend - 11, "PRIVATE KEY", 11) == 0)
                key = block;
            p = end;
        }
        if (!*chain || !key) {
            rc = cc_err_setat(err, at->file, at->line, "loading certificates: %s: no %s found",
                              path, !*chain ? "certificate" : "private key");
            break;
        }
        rc = add_loaded(a, st, chain, key, path, at, err);
    }
    closedir(d);
    return rc;
}

int ah_load_certs(cc_arena *a, ah_state *st, const cc_cfg *tls, cc_err *err)
{
    const cc_cfg *certs = cc_cfg_get(tls, "certificates");
    if (!certs)
        return CC_OK;
    for (size_t k = 0; k < certs->obj.n && certs->type == CC_CFG_OBJ; k++) {
        const char *kind = certs->obj.k[k];
        const cc_cfg *list = certs->obj.v[k];
        if (strcmp(kind, "automate") == 0) {
            for (size_t i = 0; i < cc_cfg_len(list); i++) {
                const cc_cfg *nv = cc_cfg_idx(list, i);
                if (nv->type == CC_CFG_STR)
                    ah_add_cert_name(a, st, nv->s.p);
            }
            continue;
        }
        if (strcmp(kind, "load_folders") == 0) {
            for (size_t i = 0; i < cc_cfg_len(list); i++) {
                const cc_cfg *dv = cc_cfg_idx(list, i);
                if (dv->type == CC_CFG_STR && load_folder(a, st, dv->s.p, dv, 0, err) != CC_OK)
                    return CC_ERR;
            }
            continue;
        }
        bool files = strcmp(kind, "load_files") == 0, pem = strcmp(kind, "load_pem") == 0;
        if (!files && !pem)
            return cc_err_setat(err, list->file, list->line,
                                "loading certificates: caddy-c does not support the '%s' "
                                "certificate loader (use load_files, load_folders or load_pem)",
                                kind);
        for (size_t i = 0; i < cc_cfg_len(list); i++) {
            const cc_cfg *it = cc_cfg_idx(list, i);
            const char *cert = cc_cfg_get_str(it, "certificate");
            const char *key = cc_cfg_get_str(it, "key");
            const char *fmt = cc_cfg_get_str(it, "format");
            if (!cert || !key)
                return cc_err_setat(err, it->file, it->line,
                                    "loading certificates: certificate and key are required");
            if (fmt && *fmt && strcmp(fmt, "pem") != 0)
                return cc_err_setat(err, it->file, it->line,
                                    "loading certificates: unrecognized certificate/key encoding "
                                    "format: %s",
                                    fmt);
            if (pem) {
                if (add_loaded(a, st, cc_arena_strdup(a, cert), cc_arena_strdup(a, key), "load_pem",
                               it, err) != CC_OK)
                    return CC_ERR;
                continue;
            }
            cc_err e = {0};
            char *cp = slurp(a, cert, &e);
            if (!cp)
                return cc_err_setat(err, it->file, it->line,
                                    "loading certificates: reading certificate file %s: %s", cert,
                                    e.msg);
            char *kp = slurp(a, key, &e);
            if (!kp)
                return cc_err_setat(err, it->file, it->line,
                                    "loading certificates: reading key file %s: %s", key, e.msg);
            if (add_loaded(a, st, cp, kp, cc_arena_strdup(a, cert), it, err) != CC_OK)
                return CC_ERR;
        }
    }
    return CC_OK;
}

int ah_load_cas(cc_arena *a, cc_autohttps *plan, const cc_cfg *pki, cc_err *err)
{
    const cc_cfg *cas = cc_cfg_get(pki, "certificate_authorities");
    plan->install_trust = true;
    if (!cas || cas->type != CC_CFG_OBJ)
        return CC_OK;
    plan->ncas = cas->obj.n;
    plan->cas = cc_arena_alloc(a, (plan->ncas + 1) * sizeof(*plan->cas));
    for (size_t i = 0; i < cas->obj.n; i++) {
        const cc_cfg *cv = cas->obj.v[i];
        cc_ca_cfg *c = &plan->cas[i];
        c->id = cc_arena_strdup(a, cas->obj.k[i]);
        c->name = arena_str(a, cv, "name");
        c->root_cn = arena_str(a, cv, "root_common_name");
        c->inter_cn = arena_str(a, cv, "intermediate_common_name");
        int64_t ns = 0;
        if (ah_duration(cc_cfg_get(cv, "intermediate_lifetime"), &ns, err) != CC_OK)
            return CC_ERR;
        c->inter_lifetime = ns / 1000000000;
        const cc_cfg *r = cc_cfg_get(cv, "renewal_window_ratio");
        if (r && r->type == CC_CFG_NUM)
            c->renewal_ratio = r->d;
        const cc_cfg *root = cc_cfg_get(cv, "root"), *inter = cc_cfg_get(cv, "intermediate");
        const char *fmts[2] = {cc_cfg_get_str(root, "format"), cc_cfg_get_str(inter, "format")};
        for (int k = 0; k < 2; k++)
            if (fmts[k] && *fmts[k] && strcmp(fmts[k], "pem_file") != 0)
                return cc_err_setat(err, cv->file, cv->line, "unsupported format: %s", fmts[k]);
        c->root_cert_file = arena_str(a, root, "certificate");
        c->root_key_file = arena_str(a, root, "private_key");
        c->inter_cert_file = arena_str(a, inter, "certificate");
        c->inter_key_file = arena_str(a, inter, "private_key");
        const cc_cfg *it = cc_cfg_get(cv, "install_trust");
        if (strcmp(c->id, CC_CA_DEFAULT_ID) == 0 && it && it->type == CC_CFG_BOOL)
            plan->install_trust = it->b;
    }
    return CC_OK;
}
