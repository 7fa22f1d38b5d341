/* SPDX-License-Identifier: Apache-2.0
 * The ACME account: created once per CA and email, kept in storage under certmagic's
 * keys (acme/<issuer key>/users/<email or "default">/<local part>.json and .key) and
 * reused on every later run without a newAccount request. When the CA no longer knows
 * the stored account (a test CA restarted), the same key registers again. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/storage.h"
#include "acme_crypto.h"
#include "acme_priv.h"

char *acme_safe_key(const char *in)
{
    size_t n = strlen(in);
    char *out = malloc(n * 9 + 1), *o = out; /* "*" -> "wildcard_" is the longest */
    if (!out)
        return NULL;
    while (n && isspace((unsigned char)*in))
        in++, n--;
    while (n && isspace((unsigned char)in[n - 1]))
        n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tolower((unsigned char)in[i]);
        if (c == ' ') {
            *o++ = '_';
        } else if (c == '+') {
            memcpy(o, "_plus_", 6);
            o += 6;
        } else if (c == '*') {
            memcpy(o, "wildcard_", 9);
            o += 9;
        } else if (c == ':') {
            *o++ = '-';
        } else if (c == '.' && i + 1 < n && in[i + 1] == '.') {
            i++; /* ".." is dropped */
        } else if (isalnum(c) || c == '_' || c == '@' || c == '.' || c == '-') {
            *o++ = (char)c;
        }
    }
    *o = '\0';
    return out;
}

/* certmagic's issuer key of a directory URL: host[:port] and the path with '/' -> '-'. */
static char *issuer_key(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t hl = strcspn(p, "/?#");
    const char *path = p + hl;
    size_t pl = strcspn(path, "?#");
    char *raw = malloc(hl + pl + 2);
    if (!raw)
        return NULL;
    memcpy(raw, p, hl);
    size_t o = hl;
    /* the path, its slashes made hyphens and trimmed of hyphens at both ends */
    size_t a = 0, b = pl;
    while (a < b && (path[a] == '/' || path[a] == '\\' || path[a] == '-'))
        a++;
    while (b > a && (path[b - 1] == '/' || path[b - 1] == '\\' || path[b - 1] == '-'))
        b--;
    if (b > a) {
        raw[o++] = '-';
        for (size_t i = a; i < b; i++)
            raw[o++] = path[i] == '/' || path[i] == '\\' ? '-' : path[i];
    }
    raw[o] = '\0';
    char *safe = acme_safe_key(raw);
    free(raw);
    return safe;
}

/* The storage keys of the account for the configured email: *reg and *key, malloc'd. */
static int account_keys(acme_sess *s, char **reg, char **key)
{
    const char *email = s->cfg->email && *s->cfg->email ? s->cfg->email : "default";
    char *lower = strdup(email);
    if (!lower)
        return CC_ERR;
    for (char *c = lower; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    /* certmagic's emailUsername: the local part, or all of it without '@' */
    char *at = strchr(lower, '@');
    char *user = at == lower ? strdup(lower + 1)
                 : at        ? strndup(lower, (size_t)(at - lower))
                             : strdup(lower);
    char *su = user ? acme_safe_key(user) : NULL;
    char *se = acme_safe_key(lower);
    int rc = CC_ERR;
    if (su && se) {
        const char *base = *su ? su : "default";
        if (asprintf(reg, "acme/%s/users/%s/%s.json", s->ca_key, se, base) >= 0) {
            if (asprintf(key, "acme/%s/users/%s/%s.key", s->ca_key, se, base) >= 0)
                rc = CC_OK;
            else
                free(*reg);
        }
    }
    free(lower);
    free(user);
    free(su);
    free(se);
    return rc;
}

/* newAccount with s->akey: sets s->kid; stores the registration (and the key) when
 * storage is configured. */
static int do_register(acme_sess *s, const char *reg_key, const char *key_key, cc_err *err)
{
    const char *url = acme_dir(s, "newAccount");
    if (!url)
        return cc_err_set(err, "acme: the CA directory has no newAccount URL");
    json_t *p = json_pack("{s:b}", "termsOfServiceAgreed", 1);
    if (s->cfg->email && *s->cfg->email) {
        char *mt = NULL;
        if (asprintf(&mt, "mailto:%s", s->cfg->email) >= 0) {
            json_object_set_new(p, "contact", json_pack("[s]", mt));
            free(mt);
        }
    }
    bool eab = s->cfg->eab_key_id && *s->cfg->eab_key_id;
    json_t *meta = json_object_get(s->dir, "meta");
    if (!eab && json_is_true(json_object_get(meta, "externalAccountRequired"))) {
        json_decref(p);
        return cc_err_set(err, "acme: the CA requires external account binding (acme_eab "
                               "key_id and mac_key)");
    }
    if (eab) {
        char *e = cc_acme_eab(s->akey, s->cfg->eab_key_id,
                              s->cfg->eab_mac_key ? s->cfg->eab_mac_key : "", url, err);
        json_t *ej = e ? json_loads(e, 0, NULL) : NULL;
        free(e);
        if (!ej) {
            json_decref(p);
            return cc_err_set(err, "acme: building the external account binding failed");
        }
        json_object_set_new(p, "externalAccountBinding", ej);
    }
    char *payload = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    if (!payload)
        return cc_err_set(err, "acme: out of memory");
    acme_resp r;
    int rc = acme_post(s, url, payload, true, "registering account", &r, err);
    free(payload);
    if (rc != CC_OK) {
        acme_resp_free(&r);
        return rc;
    }
    if (!r.location) {
        acme_resp_free(&r);
        return cc_err_set(err, "acme: registering account: no Location in the answer");
    }
    s->account_created = r.status == 201;
    free(s->kid);
    s->kid = strdup(r.location);
    acme_log(1, s->account_created ? "created new ACME account" : "found existing ACME account",
             "location", s->kid, "contact", s->cfg->email, NULL);
    if (s->cfg->storage) {
        cc_storage *st = s->cfg->storage;
        json_t *acct = json_is_object(r.json) ? json_deep_copy(r.json) : json_object();
        json_object_set_new(acct, "location", json_string(s->kid));
        char *txt = json_dumps(acct, JSON_INDENT(1));
        json_decref(acct);
        char *kp = key_key ? cc_key_to_pem(s->akey, NULL) : NULL;
        cc_err se = {0};
        if (!txt || (key_key && !kp) ||
            (kp && st->ops->store(st, key_key, kp, strlen(kp), &se) != CC_OK) ||
            st->ops->store(st, reg_key, txt, strlen(txt), &se) != CC_OK)
            rc = cc_err_set(err, "acme: storing the account: %s",
                            se.code || se.msg[0] ? se.msg : "out of memory");
        if (kp)
            explicit_bzero(kp, strlen(kp));
        free(kp);
        free(txt);
    }
    acme_resp_free(&r);
    return rc;
}

int acme_account_ensure(acme_sess *s, cc_err *err)
{
    s->ca_key = issuer_key(s->dir_url);
    char *reg = NULL, *key = NULL;
    if (!s->ca_key || account_keys(s, &reg, &key) != CC_OK) {
        free(reg);
        free(key);
        return cc_err_set(err, "acme: out of memory");
    }
    cc_storage *st = s->cfg->storage;
    int rc = CC_ERR;
    bool have_key = false;
    if (st) {
        char *kv = NULL, *rv = NULL;
        size_t kn = 0, rn = 0;
        cc_err le = {0};
        if (st->ops->load(st, key, &kv, &kn, &le) == CC_OK) {
            s->akey = cc_key_from_pem(kv, kn, &le);
            explicit_bzero(kv, kn);
            free(kv);
            if (!s->akey || !cc_acme_key_alg(s->akey)) {
                rc = cc_err_set(err, "acme: stored account key %s is unusable: %s", key,
                                le.msg[0] ? le.msg : "not an ECDSA or RSA key");
                goto done;
            }
            have_key = true;
            if (st->ops->load(st, reg, &rv, &rn, &le) == CC_OK) {
                json_t *j = json_loadb(rv, rn, 0, NULL);
                const char *loc = json_string_value(json_object_get(j, "location"));
                if (loc && *loc)
                    s->kid = strdup(loc);
                json_decref(j);
                free(rv);
            }
        }
    }
    if (!have_key && !(s->akey = cc_key_generate(CC_KEY_P256, err)))
        goto done;
    s->thumb = cc_acme_thumbprint(s->akey, err);
    if (!s->thumb)
        goto done;
    if (s->kid) {
        acme_log(1, "using stored ACME account", "location", s->kid, NULL);
        rc = CC_OK;
    } else {
        /* a stored key without a registration: newAccount finds or creates it */
        rc = do_register(s, reg, have_key ? NULL : key, err);
        if (rc != CC_OK && !have_key) {
            cc_key_free(s->akey);
            s->akey = NULL;
        }
    }
done:
    free(reg);
    free(key);
    return rc;
}

int acme_account_reregister(acme_sess *s, cc_err *err)
{
    char *reg = NULL, *key = NULL;
    if (account_keys(s, &reg, &key) != CC_OK)
        return cc_err_set(err, "acme: out of memory");
    acme_log(2, "the CA does not know the stored account; registering it again", "location", s->kid,
             NULL);
    free(s->kid);
    s->kid = NULL;
    int rc = do_register(s, reg, NULL, err);
    free(reg);
    free(key);
    return rc;
}
