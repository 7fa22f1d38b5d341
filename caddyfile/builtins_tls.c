/* SPDX-License-Identifier: Apache-2.0
 * The `tls` directive (Caddy's parseTLS): certificate files, issuers (implicit ACME or
 * internal, or explicit `issuer` blocks), key type, on-demand TLS, client
 * authentication and handshake settings. It yields "tls.*" config values that the
 * adapter turns into connection policies and tlsapp.c into automation policies. */
#include "optutil.h"

#include "units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cipher_suites[] = {
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    NULL,
};
static const char *const curves[] = {"x25519mlkem768", "x25519",    "secp256r1",
                                     "secp384r1",      "secp521r1", NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* ---- client_auth ---- */

static char *read_file(cc_arena *a, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = cc_arena_alloc(a, cap + 1);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            buf = cc_arena_grow(a, buf, n, cap * 2 + 1);
            cap *= 2;
        }
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Caddy's convertPEMFilesToDER: every PEM block must be a CERTIFICATE; each becomes the
 * standard base64 of its DER bytes, i.e. the block body without line breaks. */
static int pem_certs_to_der(cc_disp *d, cc_arena *a, const char *path, cc_cfg *out)
{
    size_t len;
    char *pem = read_file(a, path, &len);
    if (!pem)
        return cc_disp_errf(d, "open %s: no such file or directory", path);
    size_t found = 0;
    const char *p = pem;
    for (;;) {
        const char *begin = strstr(p, "-----BEGIN ");
        if (!begin)
            break;
        const char *type = begin + 11;
        const char *type_end = strstr(type, "-----");
        if (!type_end)
            break;
        if ((size_t)(type_end - type) != 11 || strncmp(type, "CERTIFICATE", 11) != 0)
            return cc_disp_errf(d, "no CERTIFICATE pem block found in %s", path);
        const char *body = type_end + 5;
        const char *end = strstr(body, "-----END ");
        if (!end)
            break;
        char *b64 = cc_arena_alloc(a, (size_t)(end - body) + 1);
        size_t n = 0;
        for (const char *q = body; q < end; q++)
            if (!strchr(" \t\r\n", *q))
                b64[n++] = *q;
        b64[n] = '\0';
        cc_cfg_push_str(a, out, b64);
        found++;
        p = end + 9;
    }
    if (!found)
        return cc_disp_errf(d, "no CERTIFICATE pem block found in %s", path);
    return CC_OK;
}

/* A trust_pool module; d's cursor is on its name. */
static int parse_trust_pool(cc_disp *pd, cc_arena *a, cc_cfg **out)
{
    const char *name = cc_disp_val(pd);
    cc_cfg *pool = cc_cfg_obj(a);
    cc_cfg_set_str(a, pool, "provider", name);
    *out = pool;
    bool inline_pool = strcmp(name, "inline") == 0, file = strcmp(name, "file") == 0;
    bool pki = strcmp(name, "pki_root") == 0 || strcmp(name, "pki_intermediate") == 0;
    if (strcmp(name, "combined") == 0) {
        cc_disp *d = cc_disp_new_from_next_segment(pd);
        cc_disp_next(d);
        if (cc_disp_count_remaining_args(d) > 0)
            return cc_disp_arg_err(d);
        cc_cfg *sources = cc_cfg_child_arr(a, pool, "sources");
        for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
            if (strcmp(cc_disp_val(d), "source") != 0)
                return cc_disp_errf(d, "unrecognized directive: %s", cc_disp_val(d));
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            cc_cfg *src = NULL;
            if (parse_trust_pool(d, a, &src) != CC_OK)
                return CC_ERR;
            cc_cfg_push(a, sources, src);
        }
        if (cc_cfg_len(sources) == 0)
            return cc_disp_errf(d, "no sources specified");
        return CC_OK;
    }
    if (!inline_pool && !file && !pki && strcmp(name, "system") != 0)
        return cc_cf_unknown_module(pd, cc_arena_printf(a, "tls.ca_pool.source.%s", name));
    cc_disp *d = cc_disp_new_from_next_segment(pd);
    cc_disp_next(d);
    const char *key = inline_pool ? "trusted_ca_certs" : file ? "pem_files" : "authority";
    const char *sub_name = inline_pool ? "trust_der" : file ? "pem_file" : "authority";
    cc_cfg *list = cc_cfg_arr(a);
    if (inline_pool || !(file || pki)) {
        if (cc_disp_count_remaining_args(d) > 0)
            return cc_disp_arg_err(d);
    } else {
        size_t n = 0;
        const char **args = cc_disp_remaining_args(d, &n);
        for (size_t i = 0; i < n; i++)
            cc_cfg_push_str(a, list, args[i]);
    }
    if (!inline_pool && !file && !pki) { /* system */
        if (cc_disp_next_block(d, 0))
            return cc_disp_errf(d, "system trust pool does not support any configuration");
        return CC_OK;
    }
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        if (strcmp(cc_disp_val(d), sub_name) != 0)
            return cc_disp_errf(d, "unrecognized directive: %s", cc_disp_val(d));
        size_t n = 0;
        const char **args = cc_disp_remaining_args(d, &n);
        for (size_t i = 0; i < n; i++)
            cc_cfg_push_str(a, list, args[i]);
    }
    if (cc_cfg_len(list) == 0)
        return cc_disp_errf(d, pki ? "no authorities specified" : "no certificates specified");
    cc_cfg_set(a, pool, key, list);
    return CC_OK;
}

static int parse_leaf_loader(cc_disp *pd, cc_arena *a, cc_cfg *loaders)
{
    const char *name = cc_disp_val(pd);
    const char *key = strcmp(name, "file") == 0     ? "files"
                      : strcmp(name, "folder") == 0 ? "folders"
                      : strcmp(name, "pem") == 0    ? "certificates"
                                                    : NULL;
    if (!key)
        return cc_cf_unknown_module(pd, cc_arena_printf(a, "tls.leaf_cert_loader.%s", name));
    cc_disp *d = cc_disp_new_from_next_segment(pd);
    cc_disp_next_arg(d);
    size_t n = 0;
    const char **args = cc_disp_remaining_args(d, &n);
    cc_cfg *l = cc_cfg_obj(a);
    cc_cfg_set_str(a, l, "loader", name);
    if (n)
        cc_cfg_set(a, l, key, cc_cfg_str_arr(a, args, n));
    cc_cfg_push(a, loaders, l);
    return CC_OK;
}

/* The leaf verifier: one-liner `verifier leaf file a.pem` or a block of loaders. */
static int parse_verifier(cc_disp *pd, cc_arena *a, cc_cfg **out)
{
    const char *name = cc_disp_val(pd);
    if (strcmp(name, "leaf") != 0)
        return cc_cf_unknown_module(pd, cc_arena_printf(a, "tls.client_auth.verifier.%s", name));
    cc_disp *d = cc_disp_new_from_next_segment(pd);
    cc_cfg *v = cc_cfg_obj(a);
    cc_cfg_set_str(a, v, "verifier", "leaf");
    cc_cfg *loaders = cc_cfg_arr(a);
    *out = v;
    cc_disp_next_arg(d);
    if (cc_disp_count_remaining_args(d) > 1) {
        cc_disp_next_arg(d);
        if (parse_leaf_loader(d, a, loaders) != CC_OK)
            return CC_ERR;
    } else {
        for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);)
            if (parse_leaf_loader(d, a, loaders) != CC_OK)
                return CC_ERR;
    }
    if (cc_cfg_len(loaders))
        cc_cfg_set(a, v, "leaf_certs_loaders", loaders);
    return CC_OK;
}

static int parse_client_auth(cc_helper *h, cc_disp *d, cc_cfg *ca)
{
    cc_arena *a = h->a;
    cc_cfg *ca_certs = cc_cfg_arr(a), *leaf_certs = cc_cfg_arr(a), *verifiers = cc_cfg_arr(a);
    cc_cfg *pool = NULL;
    const char *mode = NULL;
    cc_disp_next(d);
    while (cc_disp_next_arg(d))
        ;
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "mode") == 0) {
            if (cc_disp_count_remaining_args(d) > 1 || !cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            mode = cc_disp_val(d);
        } else if (strcmp(sub, "trusted_ca_cert") == 0 ||
                   strcmp(sub, "trusted_ca_cert_file") == 0) {
            cc_helper_warn(h, "The '%s' field is deprecated. Use the 'trust_pool' field instead.",
                           sub);
            if (pool)
                return cc_disp_errf(d, "cannot specify both 'trust_pool' and 'trusted_ca_cert' "
                                       "or 'trusted_ca_cert_file'");
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (strcmp(sub, "trusted_ca_cert") == 0)
                cc_cfg_push_str(a, ca_certs, cc_disp_val(d));
            else if (pem_certs_to_der(d, a, cc_disp_val(d), ca_certs) != CC_OK)
                return CC_ERR;
        } else if (strcmp(sub, "trusted_leaf_cert") == 0 ||
                   strcmp(sub, "trusted_leaf_cert_file") == 0) {
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (strcmp(sub, "trusted_leaf_cert") == 0)
                cc_cfg_push_str(a, leaf_certs, cc_disp_val(d));
            else if (pem_certs_to_der(d, a, cc_disp_val(d), leaf_certs) != CC_OK)
                return CC_ERR;
        } else if (strcmp(sub, "trust_pool") == 0) {
            if (cc_cfg_len(ca_certs))
                return cc_disp_errf(d, "cannot specify both 'trust_pool' and 'trusted_ca_cert' "
                                       "or 'trusted_ca_cert_file'");
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (parse_trust_pool(d, a, &pool) != CC_OK)
                return CC_ERR;
        } else if (strcmp(sub, "verifier") == 0) {
            cc_cfg *v = NULL;
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (parse_verifier(d, a, &v) != CC_OK)
                return CC_ERR;
            cc_cfg_push(a, verifiers, v);
        } else {
            return cc_disp_errf(d, "unknown subdirective for client_auth: %s", sub);
        }
    }
    if (cc_cfg_len(ca_certs)) {
        pool = cc_cfg_obj(a);
        cc_cfg_set_str(a, pool, "provider", "inline");
        cc_cfg_set(a, pool, "trusted_ca_certs", ca_certs);
    }
    if (pool)
        cc_cfg_set(a, ca, "ca", pool);
    if (cc_cfg_len(leaf_certs))
        cc_cfg_set(a, ca, "trusted_leaf_certs", leaf_certs);
    if (cc_cfg_len(verifiers))
        cc_cfg_set(a, ca, "verifiers", verifiers);
    if (mode && *mode)
        cc_cfg_set_str(a, ca, "mode", mode);
    return CC_OK;
}

/* ---- the directive ---- */

static const char *cert_tag(cc_helper *h, const char *cert, bool *is_new)
{
    cc_adapt *ad = h->ad;
    cc_cfg *tags = NULL;
    if (ad) {
        if (!ad->state)
            ad->state = cc_cfg_obj(h->a);
        tags = cc_cfg_child_obj(h->a, ad->state, "tls_cert_tags");
    } else {
        tags = cc_cfg_obj(h->a);
    }
    const char *tag = cc_cfg_get_str(tags, cert);
    *is_new = tag == NULL;
    if (!tag) {
        tag = cc_arena_printf(h->a, "cert%zu", cc_cfg_len(tags));
        cc_cfg_set_str(h->a, tags, cert, tag);
    }
    return tag;
}

static cc_cfg *acme_dns_obj(cc_arena *a, cc_cfg **acme)
{
    if (!*acme) {
        *acme = cc_cfg_obj(a);
        cc_cfg_set_str(a, *acme, "module", "acme");
    }
    return cc_cfg_child_obj(a, cc_cfg_child_obj(a, *acme, "challenges"), "dns");
}

static cc_cfg *need_acme(cc_arena *a, cc_cfg **acme)
{
    if (!*acme) {
        *acme = cc_cfg_obj(a);
        cc_cfg_set_str(a, *acme, "module", "acme");
    }
    return *acme;
}

/* implicitACMEIssuers: global ACME cert_issuers become templates for the shortcuts. */
static cc_cfg *implicit_acme_issuers(cc_helper *h, cc_cfg *acme)
{
    cc_arena *a = h->a;
    cc_cfg *out = cc_cfg_arr(a);
    cc_cfg *global = cc_helper_option(h, "cert_issuer");
    for (size_t i = 0; i < cc_cfg_len(global); i++)
        if (cc_cf_issuer_is_acme(cc_cfg_idx(global, i)))
            cc_cfg_push(a, out, cc_cf_acme_merge(a, cc_cfg_idx(global, i), acme));
    if (cc_cfg_len(out))
        return out;
    const char *ca = cc_cfg_get_str(acme, "ca");
    cc_cfg *defaults = cc_cf_default_issuers(a, cc_cfg_get_str(acme, "email"));
    if (ca && *ca) {
        defaults = cc_cfg_arr(a);
        cc_cfg *plain = cc_cfg_obj(a);
        cc_cfg_set_str(a, plain, "module", "acme");
        cc_cfg_push(a, defaults, plain);
    }
    for (size_t i = 0; i < cc_cfg_len(defaults); i++)
        cc_cfg_push(a, out, cc_cf_acme_merge(a, cc_cfg_idx(defaults, i), acme));
    return out;
}

/* Remembers a DNS option name for the "requires a DNS provider" error, as Caddy lists
 * them (repeats included). */
static void note_dns_opt(char *buf, size_t cap, const char *name)
{
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", name);
}

static int dur_sub(cc_disp *d, const char *sub, int64_t *ns, bool minus1)
{
    const char *arg;
    size_t n = 0;
    const char **args = cc_disp_remaining_args(d, &n);
    if (n != 1)
        return cc_disp_arg_err(d);
    arg = args[0];
    if (minus1 && strcmp(arg, "-1") == 0) {
        *ns = -1;
        return CC_OK;
    }
    char msg[256];
    if (cc_cf_parse_duration_msg(arg, ns, msg, sizeof(msg)) != 0)
        return cc_disp_errf(d, "invalid %s duration %s: %s", sub, arg, msg);
    return CC_OK;
}

static int parse_tls(cc_helper *h, cc_cfvals *out)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_cfg *cp = cc_cfg_obj(a);
    cc_cfg *file_loader = cc_cfg_arr(a), *folder_loader = cc_cfg_arr(a);
    cc_cfg *any_tag = cc_cfg_arr(a), *issuers = cc_cfg_arr(a), *managers = cc_cfg_arr(a);
    cc_cfg *acme = NULL, *internal = NULL, *client_auth = NULL;
    const char *key_type = NULL, *key_type_file = NULL;
    int key_type_line = 0;
    bool on_demand = false, reuse_keys = false, force_automate = false;
    double ratio = 0;
    char dns_opts[512] = "";

    cc_disp_next(d);
    size_t nfirst = 0;
    const char **first = cc_disp_remaining_args(d, &nfirst);
    if (nfirst == 1) {
        if (strcmp(first[0], "internal") == 0) {
            internal = cc_cfg_obj(a);
            cc_cfg_set_str(a, internal, "module", "internal");
        } else if (strcmp(first[0], "force_automate") == 0) {
            force_automate = true;
        } else if (!strchr(first[0], '@')) {
            return cc_disp_errf(
                d, "single argument must either be 'internal', 'force_automate', or an email "
                   "address");
        } else {
            cc_cfg_set_str(a, need_acme(a, &acme), "email", first[0]);
        }
    } else if (nfirst == 2) {
        bool is_new;
        const char *tag = cert_tag(h, first[0], &is_new);
        if (is_new) {
            cc_cfg *pair = cc_cfg_obj(a);
            cc_cfg_set_str(a, pair, "certificate", first[0]);
            cc_cfg_set_str(a, pair, "key", first[1]);
            cc_cfg_push(a, cc_cfg_child_arr(a, pair, "tags"), cc_cfg_str(a, tag));
            cc_cfg_push(a, file_loader, pair);
        }
        cc_cfg_push_str(a, any_tag, tag);
    } else if (nfirst > 2) {
        return cc_disp_arg_err(d);
    }

    bool has_block = false;
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        has_block = true;
        const char *sub = cc_disp_val(d);
        size_t n = 0;
        if (strcmp(sub, "protocols") == 0) {
            const char **args = cc_disp_remaining_args(d, &n);
            if (n == 0)
                return cc_disp_errf(d, "protocols requires one or two arguments");
            for (size_t i = 0; i < n && i < 2; i++) {
                if (strcmp(args[i], "tls1.2") != 0 && strcmp(args[i], "tls1.3") != 0)
                    return cc_disp_errf(d, "wrong protocol name or protocol not supported: '%s'",
                                        args[i]);
                cc_cfg_set_str(a, cp, i == 0 ? "protocol_min" : "protocol_max", args[i]);
            }
        } else if (strcmp(sub, "ciphers") == 0) {
            while (cc_disp_next_arg(d)) {
                if (!in_list(cipher_suites, cc_disp_val(d)))
                    return cc_disp_errf(
                        d, "wrong cipher suite name or cipher suite not supported: '%s'",
                        cc_disp_val(d));
                cc_cfg_push_str(a, cc_cfg_child_arr(a, cp, "cipher_suites"), cc_disp_val(d));
            }
        } else if (strcmp(sub, "curves") == 0) {
            while (cc_disp_next_arg(d)) {
                if (!in_list(curves, cc_disp_val(d)))
                    return cc_disp_errf(d, "Wrong curve name or curve not supported: '%s'",
                                        cc_disp_val(d));
                cc_cfg_push_str(a, cc_cfg_child_arr(a, cp, "curves"), cc_disp_val(d));
            }
        } else if (strcmp(sub, "client_auth") == 0) {
            client_auth = cc_cfg_obj(a);
            if (parse_client_auth(h, cc_disp_new_from_next_segment(d), client_auth) != CC_OK)
                return CC_ERR;
            cc_cfg_set(a, cp, "client_authentication", client_auth);
        } else if (strcmp(sub, "alpn") == 0) {
            const char **args = cc_disp_remaining_args(d, &n);
            if (n == 0)
                return cc_disp_arg_err(d);
            cc_cfg_set(a, cp, "alpn", cc_cfg_str_arr(a, args, n));
        } else if (strcmp(sub, "load") == 0) {
            const char **args = cc_disp_remaining_args(d, &n);
            for (size_t i = 0; i < n; i++)
                cc_cfg_push_str(a, folder_loader, args[i]);
        } else if (strcmp(sub, "ca") == 0) {
            const char **args = cc_disp_remaining_args(d, &n);
            if (n != 1)
                return cc_disp_arg_err(d);
            cc_cfg_set_str(a, need_acme(a, &acme), "ca", args[0]);
        } else if (strcmp(sub, "key_type") == 0) {
            const char **args = cc_disp_remaining_args(d, &n);
            if (n != 1)
                return cc_disp_arg_err(d);
            key_type = args[0];
            key_type_file = cc_disp_file(d);
            key_type_line = cc_disp_line(d);
        } else if (strcmp(sub, "eab") == 0) {
            const char **args = cc_disp_remaining_args(d, &n);
            if (n != 2)
                return cc_disp_arg_err(d);
            cc_cfg *eab = cc_cfg_obj(a);
            cc_cfg_set_str(a, eab, "key_id", args[0]);
            cc_cfg_set_str(a, eab, "mac_key", args[1]);
            cc_cfg_set(a, need_acme(a, &acme), "external_account", eab);
        } else if (strcmp(sub, "issuer") == 0) {
            cc_cfg *iss = NULL;
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (cc_cf_issuer_parse(d, a, &iss) != CC_OK)
                return CC_ERR;
            cc_cfg_push(a, issuers, iss);
        } else if (strcmp(sub, "get_certificate") == 0) {
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            const char *mod = cc_disp_val(d);
            cc_cfg *m = cc_cfg_obj(a);
            cc_cfg_set_str(a, m, "via", mod);
            if (strcmp(mod, "http") != 0 && strcmp(mod, "tailscale") != 0)
                return cc_cf_unknown_module(d, cc_arena_printf(a, "tls.get_certificate.%s", mod));
            cc_disp *md = cc_disp_new_from_next_segment(d);
            cc_disp_next(md);
            if (mod[0] == 'h') {
                if (!cc_disp_next_arg(md))
                    return cc_disp_arg_err(md);
                cc_cfg_set_str(a, m, "url", cc_disp_val(md));
            }
            if (cc_disp_next_arg(md))
                return cc_disp_arg_err(md);
            if (mod[0] == 'h' && cc_disp_next_block(md, 0))
                return cc_disp_errf(md, "block not allowed here");
            cc_cfg_push(a, managers, m);
        } else if (strcmp(sub, "dns") == 0) {
            acme_dns_obj(a, &acme);
            if (cc_disp_next_arg(d))
                return cc_cf_unknown_module(d,
                                            cc_arena_printf(a, "dns.providers.%s", cc_disp_val(d)));
            if (!cc_helper_option(h, "dns"))
                return cc_disp_arg_err(d);
        } else if (strcmp(sub, "resolvers") == 0) {
            const char **args = cc_disp_remaining_args(d, &n);
            if (n == 0)
                return cc_disp_arg_err(d);
            cc_cfg_set(a, acme_dns_obj(a, &acme), "resolvers", cc_cfg_str_arr(a, args, n));
            note_dns_opt(dns_opts, sizeof(dns_opts), sub);
        } else if (strcmp(sub, "propagation_delay") == 0 ||
                   strcmp(sub, "propagation_timeout") == 0 || strcmp(sub, "dns_ttl") == 0) {
            int64_t ns;
            if (dur_sub(d, sub, &ns, strcmp(sub, "propagation_timeout") == 0) != CC_OK)
                return CC_ERR;
            cc_cfg *dns = acme_dns_obj(a, &acme);
            const char *key = strcmp(sub, "dns_ttl") == 0 ? "ttl" : sub;
            if (ns)
                cc_cfg_set_int(a, dns, key, ns);
            else
                cc_cfg_del(dns, key);
            note_dns_opt(dns_opts, sizeof(dns_opts), sub);
        } else if (strcmp(sub, "dns_challenge_override_domain") == 0) {
            const char **args = cc_disp_remaining_args(d, &n);
            if (n != 1)
                return cc_disp_arg_err(d);
            cc_cfg_set_str(a, acme_dns_obj(a, &acme), "override_domain", args[0]);
            note_dns_opt(dns_opts, sizeof(dns_opts), sub);
        } else if (strcmp(sub, "ca_root") == 0) {
            const char **args = cc_disp_remaining_args(d, &n);
            if (n != 1)
                return cc_disp_arg_err(d);
            cc_cfg_push_str(a, cc_cfg_child_arr(a, need_acme(a, &acme), "trusted_roots_pem_files"),
                            args[0]);
        } else if (strcmp(sub, "on_demand") == 0 || strcmp(sub, "reuse_private_keys") == 0) {
            if (cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            if (sub[0] == 'o')
                on_demand = true;
            else
                reuse_keys = true;
        } else if (strcmp(sub, "force_automate") == 0) {
            if (cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            force_automate = true;
        } else if (strcmp(sub, "insecure_secrets_log") == 0) {
            if (!cc_disp_next_arg(d))
                return cc_disp_arg_err(d);
            cc_cfg_set_str(a, cp, "insecure_secrets_log", cc_disp_val(d));
        } else if (strcmp(sub, "renewal_window_ratio") == 0) {
            const char **args = cc_disp_remaining_args(d, &n);
            if (n != 1)
                return cc_disp_arg_err(d);
            if (cc_cf_opt_atof(args[0], &ratio) != 0)
                return cc_disp_errf(d,
                                    "parsing renewal_window_ratio: strconv.ParseFloat: "
                                    "parsing \"%s\": invalid syntax",
                                    args[0]);
            if (ratio <= 0 || ratio >= 1)
                return cc_disp_errf(d, "renewal_window_ratio must be between 0 and 1 (exclusive)");
        } else {
            return cc_disp_errf(d, "unknown subdirective: %s", sub);
        }
    }

    cc_cfg *ch = acme ? cc_cfg_get(acme, "challenges") : NULL;
    cc_cfg *dns = ch ? cc_cfg_get(ch, "dns") : NULL;
    if (dns && dns_opts[0] && !cc_cfg_get(dns, "provider") && !cc_helper_option(h, "dns") &&
        !cc_helper_option(h, "acme_dns"))
        return cc_disp_errf(d,
                            "setting DNS challenge options [%s] requires a DNS provider (set with "
                            "the 'dns' subdirective or 'acme_dns' global option)",
                            dns_opts);

    if (nfirst == 0 && !has_block)
        return cc_disp_arg_err(d);

    if (cc_cfg_len(file_loader)) {
        cc_cfg *l = cc_cfg_obj(a);
        cc_cfg_set_str(a, l, "module", "load_files");
        cc_cfg_set(a, l, "files", file_loader);
        cc_cfvals_add(h, out, "tls.cert_loader", l);
    }
    if (cc_cfg_len(folder_loader)) {
        cc_cfg *l = cc_cfg_obj(a);
        cc_cfg_set_str(a, l, "module", "load_folders");
        cc_cfg_set(a, l, "folders", folder_loader);
        cc_cfvals_add(h, out, "tls.cert_loader", l);
    }
    if (cc_cfg_len(issuers) && (acme || internal))
        return cc_disp_errf(d, "cannot mix issuer subdirective (explicit issuers) with other "
                               "issuer-specific subdirectives (implicit issuers)");
    if (acme && internal)
        return cc_disp_errf(d, "cannot create both ACME and internal certificate issuers");
    if (cc_cfg_len(issuers)) {
        for (size_t i = 0; i < cc_cfg_len(issuers); i++)
            cc_cfvals_add(h, out, "tls.cert_issuer", cc_cfg_idx(issuers, i));
    } else if (acme) {
        cc_cfg *list = implicit_acme_issuers(h, acme);
        for (size_t i = 0; i < cc_cfg_len(list); i++)
            cc_cfvals_add(h, out, "tls.cert_issuer", cc_cfg_idx(list, i));
    } else if (internal) {
        cc_cfvals_add(h, out, "tls.cert_issuer", internal);
    }
    if (key_type)
        cc_cfvals_add(h, out, "tls.key_type",
                      cc_cfg_at(cc_cfg_str(a, key_type), key_type_file, key_type_line));
    if (on_demand)
        cc_cfvals_add(h, out, "tls.on_demand", cc_cfg_bool(a, true));
    for (size_t i = 0; i < cc_cfg_len(managers); i++)
        cc_cfvals_add(h, out, "tls.cert_manager", cc_cfg_idx(managers, i));
    if (reuse_keys)
        cc_cfvals_add(h, out, "tls.reuse_private_keys", cc_cfg_bool(a, true));
    if (ratio > 0)
        cc_cfvals_add(h, out, "tls.renewal_window_ratio", cc_cfg_num(a, ratio));
    if (force_automate)
        cc_cfvals_add(h, out, "tls.force_automate", cc_cfg_bool(a, true));
    if (cc_cfg_len(any_tag)) {
        cc_cfg *sel = cc_cfg_obj(a);
        cc_cfg_set(a, sel, "any_tag", any_tag);
        cc_cfg_set(a, cp, "certificate_selection", sel);
    }
    cc_cfvals_add(h, out, "tls.connection_policy", cp);
    return CC_OK;
}

const cc_module cc_cf_mod_tls = {CC_MODULE_ABI, "tls", NULL, parse_tls};
