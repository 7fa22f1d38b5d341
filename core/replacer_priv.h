/* SPDX-License-Identifier: Apache-2.0
 * Internal to the replacer: placeholder kinds, classified once per template part, and
 * the value lookup (replacer_vals.c) that templates call per request. */
#ifndef CC_REPLACER_PRIV_H
#define CC_REPLACER_PRIV_H

#include "http.h"

typedef enum {
    K_OTHER, /* looked up among the request's vars by full name, e.g. http.regexp.* */
    K_ENV,
    K_FILE,
    K_SYS_HOSTNAME,
    K_SYS_SLASH,
    K_SYS_OS,
    K_SYS_WD,
    K_SYS_ARCH,
    K_TIME_NOW,
    K_TIME_HTTP,
    K_TIME_CLOG,
    K_TIME_YEAR,
    K_TIME_UNIX,
    K_TIME_UNIX_MS,
    K_QUERY_ARG,
    K_HEADER_ARG,
    K_COOKIE_ARG,
    K_TLS_ARG,
    K_METHOD,
    K_SCHEME,
    K_PROTO,
    K_PROTO_NAME,
    K_HOST,
    K_PORT,
    K_HOSTPORT,
    K_LOCAL,
    K_LOCAL_HOST,
    K_LOCAL_PORT,
    K_REMOTE,
    K_REMOTE_HOST,
    K_REMOTE_PORT,
    K_URI,
    K_URI_ESC,
    K_PATH,
    K_PATH_ESC,
    K_PATH_FILE,
    K_PATH_DIR,
    K_PATH_BASE,
    K_PATH_EXT,
    K_QUERY,
    K_QUERY_ESC,
    K_PQUERY,
    K_DURATION,
    K_DURATION_MS,
    K_UUID,
    K_BODY,
    K_BODY_B64,
    K_ORIG_METHOD,
    K_ORIG_URI,
    K_ORIG_PATH,
    K_ORIG_PATH_FILE,
    K_ORIG_PATH_DIR,
    K_ORIG_QUERY,
    K_ORIG_PQUERY,
    K_REMOTE_PREFIX,
    K_HOST_LABEL,
    K_PATH_PART,
    K_ORIG_PATH_PART,
    K_VAR,
    K_RESP_HEADER,
    K_SHUTTING_DOWN,
    K_TIME_UNTIL_SHUTDOWN,
    K_ERR,
    K_ERR_STATUS,
    K_ERR_TEXT,
    K_ERR_MSG,
    K_ERR_TRACE,
    K_ERR_ID,
} cc_repl_kind;

/** The value of placeholder key (kind k, argument arg after its prefix), or NULL when
 * unknown for this request. */
const char *cc_repl_lookup(cc_req *r, const char *key, cc_repl_kind k, const char *arg);

/* r->engine of the stand-in request used without a request: globals only. */
extern char cc_repl_no_request;

#endif
