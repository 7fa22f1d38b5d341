/* SPDX-License-Identifier: Apache-2.0
 * Internals shared by the encode handler's run-time files: the compressors behind one
 * small interface (encode_codec.c), the compressing response bodies (encode_body.c),
 * Accept-Encoding negotiation (encode_negotiate.c) and Go's content sniffing
 * (encode_sniff.c). Not a public interface: only handlers/encode_*.c include it. */
#ifndef CC_HANDLERS_ENCODE_PRIV_H
#define CC_HANDLERS_ENCODE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/http.h"

/* ---- compressors (encode_codec.c) ---- */

typedef enum { CC_ENC_GZIP, CC_ENC_ZSTD, CC_ENC_BR } cc_enc_kind;

/* One configured encoding ("encodings" entry), resolved at provision. */
typedef struct cc_enc_cfg {
    cc_enc_kind kind;
    const char *name; /* the Accept-Encoding / Content-Encoding token */
    int level;        /* gzip: -3..9, zstd: library level, br: quality 0..11 */
    bool checksum;    /* zstd frame checksum (Caddy's library writes one by default) */
} cc_enc_cfg;

/* What a step must achieve: consume input, also flush everything so far (a streaming
 * source whose next chunk may be long in coming), or end the stream. */
typedef enum { CC_ENC_OP_PROCESS, CC_ENC_OP_FLUSH, CC_ENC_OP_FINISH } cc_enc_op;

typedef struct cc_enc_stream cc_enc_stream;

/** A compressor in its initial state (heap; freed by cc_enc_stream_free), NULL when the
 * library is out of memory. */
cc_enc_stream *cc_enc_stream_new(const cc_enc_cfg *c);
/** Feeds (*in, *in_n) and writes into (*out, *out_n), advancing all four. Returns 1 when op
 * is complete (input consumed; for FLUSH/FINISH all output written), 0 when the output
 * space ran out first, -1 on a library error. */
int cc_enc_stream_step(cc_enc_stream *s, cc_enc_op op, const unsigned char **in, size_t *in_n,
                       unsigned char **out, size_t *out_n);
void cc_enc_stream_free(cc_enc_stream *s);

/* ---- bodies (encode_body.c) ---- */

/** Compresses a complete in-memory input into the arena in one go; NULL when the result
 * did not fit the output bound or the library failed (the caller streams instead). */
cc_body *cc_enc_body_oneshot(cc_arena *a, const cc_enc_cfg *c, const char *p, size_t n);
/** Wraps inner (mem, fd or streaming) in a compressing streaming body of unknown length
 * with fixed-size buffers; prefix (may be NULL) holds bytes already pulled from a
 * streaming inner body, sent first. Closing it closes inner. NULL when the compressor
 * cannot be created (inner is untouched). */
cc_body *cc_enc_body_wrap(cc_arena *a, const cc_enc_cfg *c, cc_body *inner, const char *prefix,
                          size_t prefix_n);
/** A streaming body that sends prefix, then the rest of the streaming inner (for a body
 * that was peeked but is not compressed). Closing it closes inner. */
cc_body *cc_enc_body_replay(cc_arena *a, cc_body *inner, const char *prefix, size_t prefix_n);
/** Releases a body the way the engine would (close(), else its fd). */
void cc_enc_body_release(cc_body *b);

/* ---- negotiation (encode_negotiate.c) ---- */

/** Caddy's encode.AcceptedEncodings: the Accept-Encoding tokens (lower-cased) by
 * descending q-value (q=0 dropped), ties broken by position in prefer, then by header
 * order; nothing but "identity" when Sec-WebSocket-Key is present. NULL-terminated, in
 * r's arena; *n gets the count. */
const char **cc_enc_accepted(cc_req *r, const char *const *prefer, size_t nprefer, size_t *n);

/* ---- content sniffing (encode_sniff.c) ---- */

/** Go's http.DetectContentType over the first bytes of a body (at most 512 are used). */
const char *cc_enc_sniff(const unsigned char *p, size_t n);

#endif
