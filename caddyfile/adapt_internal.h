/* SPDX-License-Identifier: Apache-2.0
 * State shared by the parts of the adapter (adapter.c, helper.c, matchers.c,
 * addresses.c, options.c, tlsapp.c, builtins_*.c). Not for use outside caddyfile/.
 *
 * Global options (ad->opts, an object keyed by option name) hold these shapes, chosen
 * so that most can be copied into the output unchanged:
 *   debug, local_certs, skip_install_trust          BOOL true
 *   http_port, https_port                           INT
 *   grace_period, shutdown_delay, renew_interval,
 *   ocsp_interval, cert_lifetime,
 *   storage_clean_interval                          INT nanoseconds (Caddy's durations)
 *   default_bind                                    ARR of STR
 *   email, acme_ca, acme_ca_root, key_type,
 *   default_sni, fallback_sni, storage_check        STR
 *   renewal_window_ratio                            NUM
 *   order                                           ARR of STR: the whole directive order
 *                                                   after applying every `order` line
 *   auto_https                                      ARR of STR ("off", "disable_redirects",
 *                                                   "disable_certs", "ignore_loaded_certs")
 *   admin                                           OBJ: Caddy's "admin" JSON
 *   storage                                         OBJ: Caddy's "storage" JSON
 *   acme_eab                                        OBJ {"key_id", "mac_key"}
 *   acme_dns, dns                                   OBJ provider config
 *   cert_issuer                                     ARR of issuer OBJ
 *   on_demand_tls                                   OBJ (Caddy's tls.automation.on_demand)
 *   ocsp_stapling                                   STR "off"
 *   persist_config                                  STR "off"
 *   preferred_chains                                OBJ
 *   log                                             OBJ name -> logger OBJ (Caddy's
 *                                                   logging.logs entries)
 *   metrics                                         OBJ
 *   pki                                             OBJ (Caddy's apps.pki)
 *   servers                                         ARR of OBJ: each may have
 *       "listener_address" (STR) naming the listener it applies to (absent = all), and
 *       otherwise keys exactly as in Caddy's server JSON ("name", "read_timeout",
 *       "read_header_timeout", "write_timeout", "idle_timeout", "keepalive_interval",
 *       "max_header_bytes", "protocols", "strict_sni_host", "trusted_proxies",
 *       "trusted_proxies_strict", "client_ip_headers", "logs", "metrics",
 *       "listener_wrappers", "enable_full_duplex", ...) which the adapter copies into
 *       the matching servers.
 *   tls_resolvers, ech, events, filesystem          OBJ/ARR as parsed
 */
#ifndef CC_CF_ADAPT_INTERNAL_H
#define CC_CF_ADAPT_INTERNAL_H

#include "adapter.h"
#include "helper.h"
#include "parser.h"

/* A parsed site address (caddy-reference section 2.3). Empty parts are "" (not NULL). */
typedef struct cc_cf_addr {
    const char *original; /* the key as written */
    const char *scheme;   /* "", "http" or "https" */
    const char *host;     /* lower-cased; IPv6 without brackets */
    const char *port;     /* "" when not given */
    const char *path;
} cc_cf_addr;

/** Parses one site address. Errors (unsupported scheme, bad port, ...) set err at tok. */
int cc_cf_parse_address(cc_arena *a, const cc_token *tok, cc_cf_addr *out, cc_err *err);
/** "host:port" normalised key for the ambiguous-site check and listener grouping. */
const char *cc_cf_addr_key(cc_arena *a, const cc_cf_addr *addr);

/* A site block being adapted. */
typedef struct cc_cf_block {
    cc_sblock *sb;
    cc_cf_addr *addrs; /* one per key, in key order */
    size_t naddrs;
    cc_cfvals vals; /* results of its directives (all classes) */
} cc_cf_block;

/* One server (listener group): the listener addresses it has and its blocks. */
typedef struct cc_cf_pairing {
    const char **listen; /* e.g. ":443", "127.0.0.1:8080" */
    size_t nlisten;
    cc_cf_block **blocks; /* sorted: most specific host first, catch-all last */
    size_t nblocks;
    const char *name; /* "srv0", ... or servers { name } */
    cc_cfg *server;   /* the built apps.http.servers entry */
} cc_cf_pairing;

typedef struct cc_adapt {
    cc_arena *a;
    cc_err *err;
    cc_warns *warns;
    cc_cfg *opts;        /* global options, shapes above */
    cc_cf_block *blocks; /* site blocks (snippets, named routes and options excluded) */
    size_t nblocks;
    cc_cf_pairing *pairings;
    size_t npairings;
    const char *const *order; /* directive order in effect (NULL-terminated) */
    int group_counter;
    cc_cfg *named_routes; /* OBJ name -> route, from &(name) blocks */
    cc_cfg *root;         /* the whole config being built */
    cc_cfg *state;        /* OBJ of cross-block directive state (log name counter, tls
                           * cert file tags), created on first use; may start NULL */
} cc_adapt;

/* The default directive order (caddy-reference section 3.1), NULL-terminated. */
extern const char *const cc_cf_default_order[];
/** Position of name in the order in effect, or -1 when it is not an ordered directive. */
int cc_cf_order_index(const cc_adapt *ad, const char *name);

/* Global options (options.c). */
/** True for a registered global option name. */
bool cc_cf_is_global_option(const char *name);
/** Parses the global options block into ad->opts. */
int cc_cf_options_parse(cc_adapt *ad, const cc_sblock *global);

/* Top-level apps other than http (tlsapp.c): after apps.http is built, adds "admin",
 * "storage", "logging", "apps.tls" and "apps.pki" to ad->root from the options and the
 * blocks' tls.* / custom_log values. */
int cc_cf_build_other_apps(cc_adapt *ad);

/* Structural directives implemented in caddyfile/ (bind, tls, log, handle, handle_path,
 * route, handle_errors, invoke, log_skip, log_name ...), NULL-terminated. Looked up
 * before the handler modules. */
extern const cc_module *const cc_cf_builtin_modules[];
const cc_module *cc_cf_find_module(const char *name);

/* Matcher parsing (matchers.c). A scope maps @names to matcher set objects; scopes
 * chain to their parent. */
typedef struct cc_cf_mscope cc_cf_mscope;
cc_cf_mscope *cc_cf_mscope_new(cc_arena *a, cc_cf_mscope *parent);
/** Parses a "@name ..." segment into the scope (duplicate names are an error). */
int cc_cf_matcher_define(cc_adapt *ad, cc_cf_mscope *scope, const cc_segment *seg);
/** The set for @name (searching parents), or NULL. */
cc_cfg *cc_cf_matcher_lookup(cc_cf_mscope *scope, const char *name);

#endif
