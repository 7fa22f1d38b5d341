/* SPDX-License-Identifier: Apache-2.0
 * cc_acme_obtain: one certificate through RFC 8555. An order for all the names; each
 * pending authorization gets one challenge the CA offers and the config allows
 * (tls-alpn-01 and http-01, in random order when both are possible, as acmez does),
 * published through the challenge table, triggered, and polled with Retry-After. A
 * failed challenge makes the order invalid, so the next attempt is a new order that no
 * longer tries that challenge type for that name; when nothing is left the error is one
 * line with every identifier, challenge type and the CA's validation error. Then
 * finalize with a CSR for a fresh key, poll the order, download the chain. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/rand.h"
#include "acme_challenge.h"
#include "acme_crypto.h"
#include "acme_priv.h"
#include "certmagic.h"

enum { T_ALPN = 1, T_HTTP = 2 };
#define POLL_DEADLINE_S 300

static const char *type_name(int t)
{
    return t == T_ALPN ? "tls-alpn-01" : "http-01";
}

static int type_of(const char *s)
{
    if (!s)
        return 0;
    if (!strcmp(s, "tls-alpn-01"))
        return T_ALPN;
    if (!strcmp(s, "http-01"))
        return T_HTTP;
    return 0;
}

typedef struct work {
    char *authz_url, *ident, *chal_url;
    int type;
    char *token;
    cc_cert *alpn; /* published tls-alpn-01 certificate */
    bool published;
} work;

typedef struct ob {
    acme_sess s;
    char **names; /* normalised identifiers */
    size_t n;
    unsigned *failed; /* per name: challenge types that failed */
    int enabled;
    char fails[900]; /* "name: type: problem; ..." of every failed challenge so far */
    size_t fails_len;
} ob;

static int name_index(const ob *o, const char *ident)
{
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s", ident ? ident : "");
    for (char *c = tmp; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->names[i], tmp))
            return (int)i;
    return -1;
}

/* Lower-case DNS name, or the canonical text of an IP (no brackets). */
static char *normalise(const char *in)
{
    size_t n = strlen(in);
    char tmp[64];
    if (n >= 2 && in[0] == '[' && in[n - 1] == ']' && n - 2 < sizeof(tmp)) {
        memcpy(tmp, in + 1, n - 2);
        tmp[n - 2] = '\0';
        in = tmp;
    }
    unsigned char a[16];
    char out[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET6, in, a) == 1 && inet_ntop(AF_INET6, a, out, sizeof(out)))
        return strdup(out);
    char *s = strdup(in);
    if (s)
        for (char *c = s; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    return s;
}

static void work_clear(work *w)
{
    if (w->published) {
        if (w->type == T_HTTP)
            cc_challenge_del_http01(w->ident, w->token);
        else
            cc_challenge_del_alpn01(w->ident, w->alpn);
    }
    if (w->alpn)
        cc_cert_unref(w->alpn);
    free(w->authz_url);
    free(w->ident);
    free(w->chal_url);
    free(w->token);
    memset(w, 0, sizeof(*w));
}

/* POST-as-GET url until its "status" is none of the pending ones (NULL-terminated
 * list). *r holds the last answer. */
static int poll_status(ob *o, const char *url, const char *const *pending, const char *what,
                       acme_resp *r, cc_err *err)
{
    time_t deadline = time(NULL) + POLL_DEADLINE_S;
    long delay = 250;
    for (;;) {
        if (acme_post(&o->s, url, NULL, false, what, r, err) != CC_OK)
            return CC_ERR;
        const char *st = json_string_value(json_object_get(r->json, "status"));
        bool wait = false;
        for (size_t i = 0; st && pending[i]; i++)
            wait |= !strcmp(st, pending[i]);
        if (!st)
            return cc_err_set(err, "acme: %s: answer without a status", what);
        if (!wait)
            return CC_OK;
        if (time(NULL) >= deadline)
            return cc_err_set(err, "acme: %s: still %s after %d s", what, st, POLL_DEADLINE_S);
        long ms = acme_retry_after_ms(r, delay);
        if (ms < 100)
            ms = 100;
        if (ms > 60000)
            ms = 60000;
        delay = delay * 3 / 2 > 4000 ? 4000 : delay * 3 / 2;
        acme_resp_free(r);
        if (acme_sleep(&o->s, ms, err) != CC_OK)
            return CC_ERR;
    }
}

static void add_fail(ob *o, const char *ident, int type, const json_t *prob)
{
    char line[400];
    if (prob)
        acme_problem_str(prob, line, sizeof(line));
    else
        snprintf(line, sizeof(line), "authorization invalid without a challenge error");
    if (o->fails_len < sizeof(o->fails))
        o->fails_len += (size_t)snprintf(o->fails + o->fails_len, sizeof(o->fails) - o->fails_len,
                                         "%s%s (%s): %s", o->fails_len ? "; " : "", ident,
                                         type ? type_name(type) : "?", line);
    if (o->fails_len > sizeof(o->fails))
        o->fails_len = sizeof(o->fails);
    acme_log(3, "challenge failed", "identifier", ident, "challenge_type",
             type ? type_name(type) : NULL, "problem", line, NULL);
}

/* Picks and publishes the challenge of a pending authorization. CC_OK (w filled),
 * CC_ERR with err when no enabled, offered, untried type remains. */
static int prepare(ob *o, const json_t *authz, work *w, cc_err *err)
{
    const json_t *id = json_object_get(authz, "identifier");
    const char *ident = json_string_value(json_object_get(id, "value"));
    if (!ident)
        return cc_err_set(err, "acme: authorization %s has no identifier", w->authz_url);
    if (json_is_true(json_object_get(authz, "wildcard"))) { /* RFC 8555 7.1.4 */
        char *wc = NULL;
        w->ident = asprintf(&wc, "*.%s", ident) >= 0 ? normalise(wc) : NULL;
        free(wc);
    } else {
        w->ident = normalise(ident);
    }
    if (!w->ident)
        return cc_err_set(err, "acme: out of memory");
    int idx = name_index(o, w->ident);
    unsigned failed = idx >= 0 ? o->failed[idx] : 0;
    const json_t *chs = json_object_get(authz, "challenges"), *ch, *pick[3] = {0};
    size_t i;
    int offered = 0;
    json_array_foreach(chs, i, ch)
    {
        int t = type_of(json_string_value(json_object_get(ch, "type")));
        if (t && !pick[t]) {
            offered |= t;
            pick[t] = ch;
        }
    }
    int usable = offered & o->enabled & ~(int)failed;
    if (!usable) {
        if (o->fails_len)
            return cc_err_set(err, "acme: validation failed: %s", o->fails);
        char offered_s[200] = "", conf[40] = "";
        size_t ol = 0;
        json_array_foreach(chs, i, ch)
        {
            const char *t = json_string_value(json_object_get(ch, "type"));
            if (ol < sizeof(offered_s))
                ol += (size_t)snprintf(offered_s + ol, sizeof(offered_s) - ol, "%s%s",
                                       ol ? " " : "", t ? t : "?");
        }
        snprintf(conf, sizeof(conf), "%s%s%s", o->enabled & T_HTTP ? "http-01" : "",
                 o->enabled == (T_HTTP | T_ALPN) ? " " : "",
                 o->enabled & T_ALPN ? "tls-alpn-01" : "");
        return cc_err_set(err,
                          "acme: %s: no solvers available for remaining challenges "
                          "(configured=[%s] offered=[%s] remaining=[])",
                          w->ident, conf, offered_s);
    }
    int t = usable;
    if (usable == (T_ALPN | T_HTTP))
        t = (cc_rand64() & 1) ? T_ALPN : T_HTTP;
    ch = pick[t];
    const char *token = json_string_value(json_object_get(ch, "token"));
    const char *url = json_string_value(json_object_get(ch, "url"));
    if (!token || !url || !*token)
        return cc_err_set(err, "acme: %s: %s challenge without token or url", w->ident,
                          type_name(t));
    w->type = t;
    w->token = strdup(token);
    w->chal_url = strdup(url);
    char *ka = NULL;
    if (!w->token || !w->chal_url || asprintf(&ka, "%s.%s", token, o->s.thumb) < 0)
        return cc_err_set(err, "acme: out of memory");
    int rc = CC_OK;
    if (t == T_HTTP) {
        rc = cc_challenge_put_http01(w->ident, token, ka);
        if (rc != CC_OK)
            rc = cc_err_set(err, "acme: publishing the http-01 challenge failed");
    } else {
        char *cp = NULL, *kp = NULL;
        rc = cc_acme_alpn_cert(w->ident, ka, &cp, &kp, err);
        if (rc == CC_OK) {
            time_t now = time(NULL);
            w->alpn = cc_challenge_cert(w->ident, cp, kp, now - 86400, now + 7 * 86400);
            if (!w->alpn)
                rc = cc_err_set(err, "acme: out of memory");
            else if (cc_challenge_put_alpn01(w->ident, w->alpn) != CC_OK)
                rc = cc_err_set(err, "acme: publishing the tls-alpn-01 challenge failed");
        }
        if (kp)
            explicit_bzero(kp, strlen(kp));
        free(cp);
        free(kp);
    }
    free(ka);
    if (rc != CC_OK)
        return CC_ERR;
    w->published = true;
    acme_log(1, "trying to solve challenge", "identifier", w->ident, "challenge_type", type_name(t),
             "ca", o->s.dir_url, NULL);
    return CC_OK;
}

/* Requests the certificate of a ready order: CSR, finalize, poll, download. */
static int finish(ob *o, const char *order_url, const json_t *order, char **chain_pem,
                  char **key_pem, cc_err *err)
{
    const char *fin = json_string_value(json_object_get(order, "finalize"));
    if (!fin)
        return cc_err_set(err, "acme: the order has no finalize URL");
    cc_key_type kt;
    if (cc_key_type_parse(o->s.cfg->key_type, &kt, err) != CC_OK)
        return CC_ERR;
    cc_key *k = cc_key_generate(kt, err);
    if (!k)
        return CC_ERR;
    unsigned char *der = NULL;
    size_t dl = 0;
    char *csr = NULL, *payload = NULL;
    int rc = CC_ERR;
    acme_resp r = {0};
    if (cc_acme_csr(k, (const char *const *)o->names, o->n, &der, &dl, err) != CC_OK)
        goto done;
    csr = cc_acme_b64url(der, dl);
    if (!csr || asprintf(&payload, "{\"csr\":\"%s\"}", csr) < 0) {
        payload = NULL;
        cc_err_set(err, "acme: out of memory");
        goto done;
    }
    acme_log(1, "validations succeeded; finalizing order", "order", order_url, NULL);
    if (acme_post(&o->s, fin, payload, false, "finalizing order", &r, err) != CC_OK)
        goto done;
    const char *st = json_string_value(json_object_get(r.json, "status"));
    if (!st || strcmp(st, "valid") != 0) {
        acme_resp_free(&r);
        static const char *const busy[] = {"processing", "ready", "pending", NULL};
        if (poll_status(o, order_url, busy, "polling the order", &r, err) != CC_OK)
            goto done;
        st = json_string_value(json_object_get(r.json, "status"));
    }
    if (strcmp(st, "valid") != 0) {
        const json_t *prob = json_object_get(r.json, "error");
        char line[600] = "";
        if (prob)
            acme_problem_str(prob, line, sizeof(line));
        cc_err_set(err, "acme: order %s is %s after finalize%s%s", order_url, st, prob ? ": " : "",
                   line);
        goto done;
    }
    const char *cert_url = json_string_value(json_object_get(r.json, "certificate"));
    if (!cert_url) {
        cc_err_set(err, "acme: the valid order has no certificate URL");
        goto done;
    }
    char *cu = strdup(cert_url);
    acme_resp_free(&r);
    if (!cu) {
        cc_err_set(err, "acme: out of memory");
        goto done;
    }
    rc = acme_post(&o->s, cu, NULL, false, "downloading the certificate", &r, err);
    if (rc == CC_OK && (!r.body || !strstr(r.body, "-----BEGIN CERTIFICATE-----")))
        rc = cc_err_set(err, "acme: downloading the certificate: the answer is not PEM");
    if (rc == CC_OK) {
        acme_log(1, "successfully downloaded available certificate chains", "first_url", cu, NULL);
        *key_pem = cc_key_to_pem(k, NULL);
        *chain_pem = r.body;
        r.body = NULL;
        if (!*key_pem) {
            free(*chain_pem);
            *chain_pem = NULL;
            rc = cc_err_set(err, "acme: encoding the certificate key failed");
        }
    }
    free(cu);
done:
    acme_resp_free(&r);
    cc_key_free(k);
    free(der);
    free(csr);
    free(payload);
    return rc;
}

/* newOrder, retried once after registering again when the CA forgot the account. */
static int new_order(ob *o, acme_resp *r, cc_err *err)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < o->n; i++)
        json_array_append_new(ids, json_pack("{s:s,s:s}", "type",
                                             cc_acme_is_ip(o->names[i]) ? "ip" : "dns", "value",
                                             o->names[i]));
    json_t *p = json_pack("{s:o}", "identifiers", ids);
    char *payload = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (!payload)
        return cc_err_set(err, "acme: out of memory");
    const char *url = acme_dir(&o->s, "newOrder");
    cc_err e1 = {0};
    int rc = acme_post(&o->s, url, payload, false, "creating order", r, &e1);
    if (rc != CC_OK && !strcmp(r->problem_type, "urn:ietf:params:acme:error:accountDoesNotExist")) {
        acme_resp_free(r);
        rc = acme_account_reregister(&o->s, err);
        if (rc == CC_OK)
            rc = acme_post(&o->s, url, payload, false, "creating order", r, err);
    } else if (rc != CC_OK) {
        cc_err_set(err, "%s", e1.msg);
    }
    free(payload);
    if (rc == CC_OK && !r->location)
        rc = cc_err_set(err, "acme: creating order: no Location in the answer");
    return rc;
}

/* One order. CC_OK with the certificate; CC_EAGAIN when a challenge failed and another
 * type remains to try; CC_ERR otherwise. */
static int attempt(ob *o, char **chain_pem, char **key_pem, cc_err *err)
{
    acme_resp r = {0};
    if (new_order(o, &r, err) != CC_OK) {
        acme_resp_free(&r);
        return CC_ERR;
    }
    char *order_url = strdup(r.location);
    json_t *order = json_incref(r.json);
    acme_resp_free(&r);
    const json_t *authzs = json_object_get(order, "authorizations");
    size_t na = json_array_size(authzs), i;
    work *ws = calloc(na ? na : 1, sizeof(*ws));
    int rc = CC_ERR;
    bool retry = false;
    if (!order_url || !ws) {
        cc_err_set(err, "acme: out of memory");
        goto done;
    }
    /* 1. publish a challenge for every pending authorization */
    for (i = 0; i < na; i++) {
        const char *u = json_string_value(json_array_get(authzs, i));
        if (!u) {
            cc_err_set(err, "acme: malformed authorizations list in the order");
            goto done;
        }
        if (acme_post(&o->s, u, NULL, false, "getting authorization", &r, err) != CC_OK)
            goto done;
        const char *st = json_string_value(json_object_get(r.json, "status"));
        ws[i].authz_url = strdup(u);
        if (st && !strcmp(st, "valid")) {
            acme_resp_free(&r);
            continue; /* reused by the CA: nothing to solve */
        }
        if (!st || strcmp(st, "pending") != 0) {
            cc_err_set(err, "acme: authorization %s is %s", u, st ? st : "without status");
            goto done;
        }
        if (prepare(o, r.json, &ws[i], err) != CC_OK)
            goto done;
        acme_resp_free(&r);
    }
    /* 2. ask the CA to validate them all, so validations run in parallel */
    for (i = 0; i < na; i++) {
        if (!ws[i].published)
            continue;
        if (acme_post(&o->s, ws[i].chal_url, "{}", false, "responding to challenge", &r, err) !=
            CC_OK)
            goto done;
        acme_resp_free(&r);
    }
    /* 3. wait for each verdict */
    static const char *const authz_busy[] = {"pending", "processing", NULL};
    for (i = 0; i < na; i++) {
        if (!ws[i].published)
            continue;
        if (poll_status(o, ws[i].authz_url, authz_busy, "polling authorization", &r, err) != CC_OK)
            goto done;
        const char *st = json_string_value(json_object_get(r.json, "status"));
        acme_log(1, "authorization finalized", "identifier", ws[i].ident, "authz_status", st, NULL);
        if (strcmp(st, "valid") != 0) {
            const json_t *chs = json_object_get(r.json, "challenges"), *ch, *prob = NULL;
            size_t j;
            json_array_foreach(chs, j, ch)
            {
                if (type_of(json_string_value(json_object_get(ch, "type"))) == ws[i].type &&
                    json_object_get(ch, "error"))
                    prob = json_object_get(ch, "error");
            }
            add_fail(o, ws[i].ident, ws[i].type, prob);
            int idx = name_index(o, ws[i].ident);
            if (idx >= 0)
                o->failed[idx] |= (unsigned)ws[i].type;
            retry = true;
        }
        acme_resp_free(&r);
        work_clear(&ws[i]); /* unpublish as soon as the CA is done with it */
    }
    if (retry) {
        /* another order tries the remaining types; if none remains, prepare() of that
         * order reports every failure */
        rc = CC_EAGAIN;
        goto done;
    }
    /* 4. the order turns ready once every authorization is valid */
    static const char *const order_busy[] = {"pending", NULL};
    if (poll_status(o, order_url, order_busy, "polling the order", &r, err) != CC_OK)
        goto done;
    const char *st = json_string_value(json_object_get(r.json, "status"));
    if (strcmp(st, "ready") != 0 && strcmp(st, "valid") != 0) {
        const json_t *prob = json_object_get(r.json, "error");
        char line[600] = "";
        if (prob)
            acme_problem_str(prob, line, sizeof(line));
        cc_err_set(err, "acme: order %s is %s%s%s", order_url, st, prob ? ": " : "", line);
        goto done;
    }
    rc = finish(o, order_url, r.json, chain_pem, key_pem, err);
done:
    acme_resp_free(&r);
    for (i = 0; ws && i < na; i++)
        work_clear(&ws[i]);
    free(ws);
    free(order_url);
    json_decref(order);
    return rc;
}

int cc_acme_obtain(const cc_acme_cfg *cfg, const char *const *names, size_t nnames,
                   char **chain_pem, char **key_pem, cc_err *err)
{
    *chain_pem = *key_pem = NULL;
    if (!cfg || !names || nnames == 0)
        return cc_err_set(err, "acme: no names to obtain a certificate for");
    ob o;
    memset(&o, 0, sizeof(o));
    o.enabled = (cfg->disable_http01 ? 0 : T_HTTP) | (cfg->disable_tlsalpn01 ? 0 : T_ALPN);
    if (!o.enabled)
        return cc_err_set(err, "acme: both http-01 and tls-alpn-01 are disabled: no challenge "
                               "this client can solve");
    cc_key_type kt;
    if (cc_key_type_parse(cfg->key_type, &kt, err) != CC_OK)
        return CC_ERR;
    o.names = calloc(nnames, sizeof(char *));
    o.failed = calloc(nnames, sizeof(unsigned));
    o.n = nnames;
    int rc = CC_ERR;
    if (!o.names || !o.failed) {
        cc_err_set(err, "acme: out of memory");
        goto done;
    }
    for (size_t i = 0; i < nnames; i++) {
        if (!names[i] || !*names[i]) {
            cc_err_set(err, "acme: empty name");
            goto done;
        }
        if (!(o.names[i] = normalise(names[i]))) {
            cc_err_set(err, "acme: out of memory");
            goto done;
        }
    }
    if (acme_sess_open(&o.s, cfg, err) != CC_OK || acme_account_ensure(&o.s, err) != CC_OK)
        goto done;
    /* each failed challenge removes one (name, type) pair: 2 types per name bound it */
    for (size_t tries = 0; tries <= 2 * nnames; tries++) {
        rc = attempt(&o, chain_pem, key_pem, err);
        if (rc != CC_EAGAIN)
            break;
    }
    if (rc == CC_EAGAIN)
        rc = cc_err_set(err, "acme: %s", o.fails);
done:
    if (rc != CC_OK && err && err->msg[0]) {
        char joined[200] = "";
        size_t jl = 0;
        for (size_t i = 0; i < nnames && jl < sizeof(joined); i++)
            jl += (size_t)snprintf(joined + jl, sizeof(joined) - jl, "%s%s", i ? " " : "",
                                   names[i] ? names[i] : "");
        acme_log(3, "could not get certificate from issuer", "identifiers", joined, "error",
                 err->msg, NULL);
    }
    acme_sess_close(&o.s);
    for (size_t i = 0; o.names && i < nnames; i++)
        free(o.names[i]);
    free(o.names);
    free(o.failed);
    return rc == CC_OK ? CC_OK : CC_ERR;
}
