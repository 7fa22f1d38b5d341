/* SPDX-License-Identifier: Apache-2.0
 * Internals shared by the ACME client's files: one session (a libcurl handle, the CA's
 * directory, the current nonce, the account) per cc_acme_obtain or
 * cc_acme_renewal_info call, the signed-request transport (acme_http.c) and the
 * account store (acme_account.c). */
#ifndef CC_CERTMAGIC_ACME_PRIV_H
#define CC_CERTMAGIC_ACME_PRIV_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>

#include "acme.h"
#include "crypto.h"

#define ACME_DEFAULT_DIRECTORY "https://acme-v02.api.letsencrypt.org/directory"

typedef struct acme_resp {
    long status;
    char *body;
    size_t len;
    char *location, *retry_after, *content_type, *nonce;
    json_t *json;          /* the body when it is JSON, else NULL */
    char problem_type[96]; /* the problem document's type (after a failed request) */
} acme_resp;

typedef struct acme_sess {
    const cc_acme_cfg *cfg;
    CURL *curl;
    char *dir_url;
    json_t *dir;          /* the directory object */
    char *nonce;          /* an unused Replay-Nonce, or NULL */
    cc_key *akey;         /* the account key */
    char *kid;            /* the account URL */
    char *thumb;          /* base64url JWK thumbprint of akey */
    char *ca_key;         /* certmagic's issuer key: "127.0.0.1-14000-dir" */
    bool account_created; /* a newAccount request created (not found) the account */
} acme_sess;

/* Session: fetch the directory. CC_OK or CC_ERR with err. */
int acme_sess_open(acme_sess *s, const cc_acme_cfg *cfg, cc_err *err);
void acme_sess_close(acme_sess *s);
/* A URL of the directory ("newOrder"...), or NULL when the CA has none. */
const char *acme_dir(const acme_sess *s, const char *name);
bool acme_cancelled(const acme_sess *s);
/* Sleeps ms milliseconds unless cancelled first (then CC_ERR with err). */
int acme_sleep(const acme_sess *s, long ms, cc_err *err);

void acme_resp_free(acme_resp *r);
/* Plain GET (directory, renewalInfo). Any HTTP status is CC_OK; transport errors set
 * err ("acme: <what>: ..."). */
int acme_get(acme_sess *s, const char *url, const char *what, acme_resp *r, cc_err *err);
/* Signed POST of payload (NULL = POST-as-GET) with the account kid, or the JWK when
 * use_jwk. Retries badNonce. CC_OK for a 2xx answer; else CC_ERR with err =
 * "acme: <what>: HTTP <status> <type> - <detail>[; subproblems]" and r->problem_type. */
int acme_post(acme_sess *s, const char *url, const char *payload, bool use_jwk, const char *what,
              acme_resp *r, cc_err *err);
/* The delay a response asks for (Retry-After, seconds or HTTP-date) in ms, else dflt. */
long acme_retry_after_ms(const acme_resp *r, long dflt);
/* One line describing a problem document (type, detail, subproblems) into buf. */
void acme_problem_str(const json_t *prob, char *buf, size_t cap);

/* Account: loads the stored one for cfg->email, else registers (and stores) one. */
int acme_account_ensure(acme_sess *s, cc_err *err);
/* Registers the current key again (the CA forgot the account: accountDoesNotExist). */
int acme_account_reregister(acme_sess *s, cc_err *err);
/* certmagic's StorageKeys.Safe: a string made safe for a storage key segment, malloc'd. */
char *acme_safe_key(const char *s);

/* A runtime log line under logger "tls.issuance.acme" with string members (pairs of
 * name, value; NULL-terminated). */
void acme_log(int level, const char *msg, ...);

#endif
