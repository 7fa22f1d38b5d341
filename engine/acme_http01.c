/* SPDX-License-Identifier: Apache-2.0
 * The ACME http-01 answer on plain listeners (caddy-reference.md 6.3): a GET for
 * /.well-known/acme-challenge/<token> whose host has a pending challenge with that token
 * is answered with the key authorization before any route runs, redirects included
 * (certmagic's HTTPChallengeHandler). Anything else falls through to the routes. */
#include <stdlib.h>
#include <string.h>

#include "../certmagic/certmagic.h"
#include "../core/log.h"
#include "internal.h"
#include "tls_hooks.h"

#define PREFIX "/.well-known/acme-challenge/"

bool eng_acme_http01(eng_req *q)
{
    cc_req *r = &q->req;
    if (!r->method || strcmp(r->method, "GET") != 0 || !r->path)
        return false;
    size_t pl = strlen(PREFIX);
    if (strncmp(r->path, PREFIX, pl) != 0)
        return false;
    const char *token = r->path + pl;
    if (!*token || strchr(token, '/'))
        return false;
    char *ka = cc_challenge_http01(r->host ? r->host : "", token);
    if (!ka)
        return false;
    cc_resp_set_text(r, 200, "text/plain", ka, strlen(ka));
    free(ka);
    cc_log(CC_LOG_INFO, "http.acme_challenge", NULL,
           "served key authentication (challenge http-01, identifier %s, remote %s)",
           r->host ? r->host : "", r->conn && r->conn->remote_ip ? r->conn->remote_ip : "");
    return true;
}
