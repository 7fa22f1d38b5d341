/* SPDX-License-Identifier: Apache-2.0
 * Internal interface between the parts of the reverse_proxy Caddyfile parser
 * (reverse_proxy.c drives the subdirective loop; rp_upstreams.c, rp_lb.c, rp_health.c,
 * rp_transport.c and rp_response.c each own a group of subdirectives). Not for use
 * outside the rp_* files. */
#ifndef CC_HANDLERS_RP_H
#define CC_HANDLERS_RP_H

#include <stdbool.h>
#include <stdint.h>

#include "../caddyfile/dispenser.h"
#include "../caddyfile/helper.h"
#include "../core/cfg.h"

/* Returned by a subdirective group when the name is not one of its own. */
#define CC_RP_NOT_MINE 1

typedef struct cc_rp {
    cc_helper *h;
    cc_disp *d;
    cc_arena *a;
    cc_cfg *out;              /* the handler object being built */
    const char *scheme;       /* common upstream scheme; NULL before the first upstream */
    cc_cfg *transport;        /* transport object (with "protocol"), NULL if none given */
    bool transport_http;      /* transport is the http one (can do TLS and h2c) */
    cc_cfg *resp_matchers;    /* "@name" -> response matcher object */
    CC_VEC(cc_disp *) hr_seg; /* handle_response segments, parsed after the loop */
} cc_rp;

/* Value helpers shared by the groups: each parses the current token and, on failure,
 * reports Caddy's message: fmt (with one %s for the value), ": ", then Go's error text. */
int cc_rp_atoi(cc_rp *rp, const char *fmt, int64_t *out);
int cc_rp_duration(cc_rp *rp, const char *fmt, int64_t *ns);
int cc_rp_size(cc_rp *rp, const char *fmt, int64_t *bytes);
/** Go's net.SplitHostPort; returns NULL or the error text (AddrError form). */
const char *cc_rp_split_host_port(cc_arena *a, const char *hp, const char **host,
                                  const char **port);
/** Go's net.JoinHostPort. */
const char *cc_rp_join_host_port(cc_arena *a, const char *host, const char *port);
/** Wrong argument count error when another argument follows on the line. */
int cc_rp_no_more_args(cc_rp *rp);
/** The next argument is required (else the wrong argument count error). */
int cc_rp_need_arg(cc_rp *rp);
/** The object under key in obj, created when absent. */
cc_cfg *cc_rp_obj(cc_rp *rp, cc_cfg *obj, const char *key);

/* rp_upstreams.c: positional upstreams, `to` and `dynamic`. */
int cc_rp_add_upstream(cc_rp *rp, const char *addr);
int cc_rp_upstreams_sub(cc_rp *rp, const char *sub);

/* rp_lb.c: lb_policy, lb_retries, lb_try_duration, lb_try_interval, lb_retry_match. */
int cc_rp_lb_sub(cc_rp *rp, const char *sub);

/* rp_health.c: active and passive health check subdirectives. */
int cc_rp_health_sub(cc_rp *rp, const char *sub);

/* rp_transport.c: `transport`, then the scheme-driven checks after the loop. */
int cc_rp_transport_sub(cc_rp *rp, const char *sub);
int cc_rp_transport_finish(cc_rp *rp);
/** Parses a tls.ca_pool.source module (cursor on its name) into a provider object. */
int cc_rp_parse_ca_pool(cc_rp *rp, cc_cfg **out);

/* rp_response.c: header_up/down, @matchers, replace_status, handle_response, method,
 * rewrite. */
int cc_rp_response_sub(cc_rp *rp, const char *sub);
int cc_rp_response_finish(cc_rp *rp);

#endif
