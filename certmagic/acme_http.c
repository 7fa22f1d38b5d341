/* SPDX-License-Identifier: Apache-2.0
 * The ACME transport: one blocking libcurl easy handle per session (it runs on the
 * certmagic thread, never on a worker), the directory, the nonce (from HEAD newNonce,
 * then each response's Replay-Nonce), signed POSTs with badNonce retry, problem
 * documents turned into one error line, Retry-After, and cancellation through
 * cfg->cancel (checked by curl's progress callback and between polls). */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../core/log.h"
#include "acme_crypto.h"
#include "acme_priv.h"

#define BODY_MAX (4u << 20)
#define BADNONCE_RETRIES 16

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool acme_cancelled(const acme_sess *s)
{
    return s->cfg->cancel && atomic_load(s->cfg->cancel);
}

int acme_sleep(const acme_sess *s, long ms, cc_err *err)
{
    while (ms > 0) {
        if (acme_cancelled(s))
            return cc_err_set(err, "acme: cancelled");
        long step = ms > 100 ? 100 : ms;
        struct timespec ts = {step / 1000, (step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return acme_cancelled(s) ? cc_err_set(err, "acme: cancelled") : CC_OK;
}

void acme_resp_free(acme_resp *r)
{
    free(r->body);
    free(r->location);
    free(r->retry_after);
    free(r->content_type);
    free(r->nonce);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    acme_resp *r = ud;
    size_t n = sz * nm;
    if (r->len + n > BODY_MAX)
        return 0;
    char *b = realloc(r->body, r->len + n + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, n);
    r->body = b;
    r->len += n;
    b[r->len] = '\0';
    return n;
}

/* Keeps the value of header line h if its name is name (case-insensitive). */
static void grab(char **dst, const char *h, size_t n, const char *name)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(h, name, nl) != 0 || h[nl] != ':')
        return;
    const char *v = h + nl + 1, *e = h + n;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && isspace((unsigned char)e[-1]))
        e--;
    free(*dst);
    *dst = strndup(v, (size_t)(e - v));
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    acme_resp *r = ud;
    size_t n = sz * nm;
    if (n >= 5 && !strncmp(p, "HTTP/", 5)) { /* a new response (after a 100): reset */
        free(r->location);
        free(r->retry_after);
        free(r->content_type);
        r->location = r->retry_after = r->content_type = NULL;
    }
    grab(&r->location, p, n, "Location");
    grab(&r->retry_after, p, n, "Retry-After");
    grab(&r->content_type, p, n, "Content-Type");
    grab(&r->nonce, p, n, "Replay-Nonce");
    return n;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    const acme_sess *s = ud;
    return acme_cancelled(s) ? 1 : 0;
}

/* One HTTP exchange: method "GET", "HEAD" or "POST" (body = JOSE JSON). */
static int http_do(acme_sess *s, const char *method, const char *url, const char *body,
                   const char *what, acme_resp *r, cc_err *err)
{
    CURL *c = s->curl;
    memset(r, 0, sizeof(*r));
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 90L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "caddy-c certmagic-acme (RFC 8555)");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
    if (s->cfg->ca_root && *s->cfg->ca_root)
        curl_easy_setopt(c, CURLOPT_CAINFO, s->cfg->ca_root);
    struct curl_slist *hdrs = NULL;
    if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(method, "POST")) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/jose+json");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        if (rc == CURLE_ABORTED_BY_CALLBACK)
            return cc_err_set(err, "acme: cancelled");
        return cc_err_set(err, "acme: %s: %s: %s", what, url, curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->nonce) { /* every response may carry the next nonce */
        free(s->nonce);
        s->nonce = r->nonce;
        r->nonce = NULL;
    }
    if (r->body && r->content_type && strstr(r->content_type, "json"))
        r->json = json_loadb(r->body, r->len, 0, NULL);
    return CC_OK;
}

int acme_get(acme_sess *s, const char *url, const char *what, acme_resp *r, cc_err *err)
{
    return http_do(s, "GET", url, NULL, what, r, err);
}

const char *acme_dir(const acme_sess *s, const char *name)
{
    return json_string_value(json_object_get(s->dir, name));
}

static int fresh_nonce(acme_sess *s, cc_err *err)
{
    const char *u = acme_dir(s, "newNonce");
    if (!u)
        return cc_err_set(err, "acme: the CA directory has no newNonce URL");
    acme_resp r;
    int rc = http_do(s, "HEAD", u, NULL, "getting a nonce", &r, err);
    long st = r.status;
    acme_resp_free(&r);
    if (rc != CC_OK)
        return rc;
    if (!s->nonce)
        return cc_err_set(err, "acme: getting a nonce: HTTP %ld without Replay-Nonce", st);
    return CC_OK;
}

void acme_problem_str(const json_t *prob, char *buf, size_t cap)
{
    const char *type = json_string_value(json_object_get(prob, "type"));
    const char *detail = json_string_value(json_object_get(prob, "detail"));
    size_t o = (size_t)snprintf(buf, cap, "%s - %s", type ? type : "(no type)",
                                detail ? detail : "(no detail)");
    const json_t *subs = json_object_get(prob, "subproblems");
    size_t i;
    const json_t *sp;
    json_array_foreach(subs, i, sp)
    {
        if (o >= cap)
            break;
        const json_t *id = json_object_get(sp, "identifier");
        const char *iv = json_string_value(json_object_get(id, "value"));
        const char *st = json_string_value(json_object_get(sp, "type"));
        const char *sd = json_string_value(json_object_get(sp, "detail"));
        o += (size_t)snprintf(buf + o, cap - o, "%s%s%s%s - %s",
                              i ? "; " : "; subproblems: ", iv ? iv : "", iv ? ": " : "",
                              st ? st : "", sd ? sd : "");
    }
}

int acme_post(acme_sess *s, const char *url, const char *payload, bool use_jwk, const char *what,
              acme_resp *r, cc_err *err)
{
    memset(r, 0, sizeof(*r));
    for (int attempt = 0;; attempt++) {
        if (acme_cancelled(s))
            return cc_err_set(err, "acme: cancelled");
        if (!s->nonce && fresh_nonce(s, err) != CC_OK)
            return CC_ERR;
        char *nonce = s->nonce; /* single use */
        s->nonce = NULL;
        char *jws =
            cc_acme_jws(s->akey, use_jwk ? NULL : s->kid, nonce, url, payload ? payload : "", err);
        free(nonce);
        if (!jws)
            return CC_ERR;
        int rc = http_do(s, "POST", url, jws, what, r, err);
        free(jws);
        if (rc != CC_OK)
            return rc;
        if (r->status >= 200 && r->status < 300)
            return CC_OK;
        const char *type = json_string_value(json_object_get(r->json, "type"));
        if (type)
            snprintf(r->problem_type, sizeof(r->problem_type), "%s", type);
        if (type && !strcmp(type, "urn:ietf:params:acme:error:badNonce") &&
            attempt < BADNONCE_RETRIES) {
            acme_log(0, "badNonce from the CA; retrying with a fresh nonce", "url", url, NULL);
            acme_resp_free(r);
            continue;
        }
        char line[800];
        if (r->json && type)
            acme_problem_str(r->json, line, sizeof(line));
        else
            snprintf(line, sizeof(line), "%.200s", r->body ? r->body : "(empty body)");
        return cc_err_set(err, "acme: %s: HTTP %ld %s", what, r->status, line);
    }
}

long acme_retry_after_ms(const acme_resp *r, long dflt)
{
    if (!r->retry_after || !*r->retry_after)
        return dflt;
    char *end;
    long v = strtol(r->retry_after, &end, 10);
    if (*end == '\0' && v >= 0)
        return v > 86400 ? 86400000L : v * 1000;
    struct tm tm = {0};
    if (strptime(r->retry_after, "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
        long d = (long)(timegm(&tm) - time(NULL));
        return d <= 0 ? 0 : (d > 86400 ? 86400000L : d * 1000);
    }
    return dflt;
}

int acme_sess_open(acme_sess *s, const cc_acme_cfg *cfg, cc_err *err)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    pthread_once(&curl_once, curl_init_once);
    s->curl = curl_easy_init();
    s->dir_url =
        strdup(cfg->directory && *cfg->directory ? cfg->directory : ACME_DEFAULT_DIRECTORY);
    if (!s->curl || !s->dir_url)
        return cc_err_set(err, "acme: out of memory");
    acme_resp r;
    if (acme_get(s, s->dir_url, "getting the directory", &r, err) != CC_OK)
        return CC_ERR;
    if (r.status != 200 || !json_is_object(r.json) ||
        !json_is_string(json_object_get(r.json, "newOrder"))) {
        cc_err_set(err, "acme: getting the directory %s: HTTP %ld, not an ACME directory",
                   s->dir_url, r.status);
        acme_resp_free(&r);
        return CC_ERR;
    }
    s->dir = json_incref(r.json);
    acme_resp_free(&r);
    return CC_OK;
}

void acme_sess_close(acme_sess *s)
{
    if (s->curl)
        curl_easy_cleanup(s->curl);
    json_decref(s->dir);
    free(s->dir_url);
    free(s->nonce);
    cc_key_free(s->akey);
    free(s->kid);
    free(s->thumb);
    free(s->ca_key);
    memset(s, 0, sizeof(*s));
}

void acme_log(int level, const char *msg, ...)
{
    cc_arena *a = cc_arena_new(1024);
    cc_cfg *extra = a ? cc_cfg_obj(a) : NULL;
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        if (extra && v)
            cc_cfg_set_str(a, extra, k, v);
    }
    va_end(ap);
    cc_log((cc_log_level)level, "tls.issuance.acme", extra, "%s", msg);
    cc_arena_free(a);
}
