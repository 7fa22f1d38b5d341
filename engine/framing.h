/* SPDX-License-Identifier: Apache-2.0
 * Request framing checks the engine runs before anything sees a request, and the pure
 * request-target helpers. libmicrohttpd is lenient (engine-notes.md section 2), so these
 * checks decide what caddy-c accepts; they take plain strings so unit tests can drive
 * them without a socket. */
#ifndef CC_ENGINE_FRAMING_H
#define CC_ENGINE_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defects only the raw bytes show (engine/rawscan.c): MHD hides them after parsing. */
enum {
    CC_RAW_FOLD = 1,  /* obs-fold: a header line starting with SP or HTAB */
    CC_RAW_NUL = 2,   /* a NUL byte in the request line or a header line */
    CC_RAW_BADCL = 4, /* a Content-Length MHD cannot parse (renamed on the wire) */
    CC_RAW_BADTE = 8, /* a Transfer-Encoding the scanner could not normalise */
};

typedef struct cc_frame_hdr {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} cc_frame_hdr;

typedef struct cc_frame_in {
    const char *method; /* as received, NUL-terminated */
    const char *target; /* raw request-target */
    size_t target_len;
    const char *version; /* "HTTP/1.1" */
    const cc_frame_hdr *hdrs;
    size_t nhdrs;
    unsigned raw_flags; /* CC_RAW_* */
} cc_frame_in;

typedef struct cc_frame_res {
    int status;             /* 0 = acceptable, else the status to answer before closing */
    const char *reason;     /* static text for the error body and the log */
    int major, minor;       /* protocol version understood (1.1 for HTTP/1.2 and later 1.x) */
    int64_t content_length; /* -1 when absent */
    bool chunked;           /* Transfer-Encoding: chunked */
} cc_frame_res;

/** Checks request framing; returns out->status (0 when the request may proceed). */
int cc_framing_check(const cc_frame_in *in, cc_frame_res *out);

/** RFC 9110 tchar. */
bool cc_framing_is_tchar(unsigned char c);

/* The parts of a raw request-target. Pointers are into the target, not terminated. */
typedef struct cc_target_parts {
    const char *authority; /* absolute-form only, else NULL */
    size_t authority_len;
    const char *path; /* escaped path ("*" for asterisk-form) */
    size_t path_len;
    const char *query; /* after '?', NULL when there is no '?' */
    size_t query_len;
} cc_target_parts;

/** Splits an origin-, absolute- or asterisk-form target; CC_ERR on any other form. */
int cc_target_split(const char *t, size_t n, cc_target_parts *out);
/** Percent-decodes n bytes of src into dst (room for n + 1 bytes), NUL-terminated. '+' is
 * kept (it only means space in forms). Returns the length, or -1 on a malformed escape
 * or an escaped NUL (which a C string cannot carry). */
long cc_target_unescape(const char *src, size_t n, char *dst);

#endif
