/* SPDX-License-Identifier: Apache-2.0
 * What the engine answers before a request reaches its server's routes: the ACME
 * http-01 challenge on plain listeners, and on TLS listeners Caddy's strict SNI-Host
 * enforcement (the Host must name the server the handshake was for, else 421 and the
 * connection closes), which stops a client from presenting a harmless SNI and then
 * asking for a host protected by client authentication. */
#include <strings.h>
#include <string.h>

#include "../core/log.h"
#include "internal.h"
#include "tls_hooks.h"

bool eng_answer_early(eng_req *q)
{
    eng_conn *c = q->c;
    if (!c || !c->info.tls)
        return eng_acme_http01(q);
    if (!c->tls_strict)
        return false;
    cc_req *r = &q->req;
    const char *host = r->host ? r->host : "";
    if (strcasecmp(c->tls_sni, host) == 0)
        return false;
    cc_log(CC_LOG_DEBUG, "http", NULL,
           "strict host matching: TLS ServerName (%s) and HTTP Host (%s) values differ", c->tls_sni,
           host);
    cc_resp_set_text(r, 421, NULL, NULL, 0);
    r->resp.close = true;
    return true;
}
