/* SPDX-License-Identifier: Apache-2.0
 * The three compressors of the encode handler behind one step function: gzip (zlib),
 * zstd (libzstd) and br (libbrotlienc). Windows are kept small (zstd 128 KiB as Caddy
 * does for its clients' sake, brotli 512 KiB) so a busy server's memory per response
 * stays bounded. */
#include <brotli/encode.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#include "encode_priv.h"

#define ZSTD_WINDOW_LOG 17 /* 128 KiB */
#define BR_WINDOW_LOG 19   /* 512 KiB */

struct cc_enc_stream {
    cc_enc_kind kind;
    union {
        z_stream z;
        ZSTD_CCtx *zc;
        BrotliEncoderState *br;
    };
};

/* Caddy's gzip levels: -3 (stateless) and -2 (Huffman only) come from its library;
 * zlib has no stateless mode, level 1 is the closest in spirit. */
static int gzip_init(z_stream *z, int level)
{
    int strategy = Z_DEFAULT_STRATEGY;
    if (level == -2) {
        strategy = Z_HUFFMAN_ONLY;
        level = 1;
    } else if (level < -1) {
        level = 1;
    }
    return deflateInit2(z, level, Z_DEFLATED, 15 + 16, 8, strategy) == Z_OK ? 0 : -1;
}

cc_enc_stream *cc_enc_stream_new(const cc_enc_cfg *c)
{
    cc_enc_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->kind = c->kind;
    switch (c->kind) {
    case CC_ENC_GZIP:
        if (gzip_init(&s->z, c->level) != 0) {
            free(s);
            return NULL;
        }
        return s;
    case CC_ENC_ZSTD:
        s->zc = ZSTD_createCCtx();
        if (!s->zc ||
            ZSTD_isError(ZSTD_CCtx_setParameter(s->zc, ZSTD_c_compressionLevel, c->level)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(s->zc, ZSTD_c_windowLog, ZSTD_WINDOW_LOG)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(s->zc, ZSTD_c_checksumFlag, c->checksum))) {
            ZSTD_freeCCtx(s->zc);
            free(s);
            return NULL;
        }
        return s;
    case CC_ENC_BR:
        s->br = BrotliEncoderCreateInstance(NULL, NULL, NULL);
        if (!s->br || !BrotliEncoderSetParameter(s->br, BROTLI_PARAM_QUALITY, (uint32_t)c->level) ||
            !BrotliEncoderSetParameter(s->br, BROTLI_PARAM_LGWIN, BR_WINDOW_LOG)) {
            if (s->br)
                BrotliEncoderDestroyInstance(s->br);
            free(s);
            return NULL;
        }
        return s;
    }
    free(s);
    return NULL;
}

static int gzip_step(z_stream *z, cc_enc_op op, const unsigned char **in, size_t *in_n,
                     unsigned char **out, size_t *out_n)
{
    /* zlib counts in uInt: feed at most 1 GiB per call */
    uInt ain = *in_n > (1u << 30) ? (1u << 30) : (uInt)*in_n;
    uInt aout = *out_n > (1u << 30) ? (1u << 30) : (uInt)*out_n;
    z->next_in = (Bytef *)*in;
    z->avail_in = ain;
    z->next_out = *out;
    z->avail_out = aout;
    int flush = op == CC_ENC_OP_FINISH  ? Z_FINISH
                : op == CC_ENC_OP_FLUSH ? Z_SYNC_FLUSH
                                        : Z_NO_FLUSH;
    int zr = deflate(z, flush);
    if (zr == Z_STREAM_ERROR)
        return -1;
    size_t used_in = ain - z->avail_in, used_out = aout - z->avail_out;
    *in += used_in;
    *in_n -= used_in;
    *out += used_out;
    *out_n -= used_out;
    if (op == CC_ENC_OP_FINISH)
        return zr == Z_STREAM_END ? 1 : 0;
    if (*in_n != 0)
        return 0;
    /* a flush is complete only when deflate stopped with output space left */
    return op == CC_ENC_OP_PROCESS || z->avail_out != 0 ? 1 : 0;
}

static int zstd_step(ZSTD_CCtx *zc, cc_enc_op op, const unsigned char **in, size_t *in_n,
                     unsigned char **out, size_t *out_n)
{
    ZSTD_inBuffer ib = {*in, *in_n, 0};
    ZSTD_outBuffer ob = {*out, *out_n, 0};
    ZSTD_EndDirective mode = op == CC_ENC_OP_FINISH  ? ZSTD_e_end
                             : op == CC_ENC_OP_FLUSH ? ZSTD_e_flush
                                                     : ZSTD_e_continue;
    size_t rem = ZSTD_compressStream2(zc, &ob, &ib, mode);
    if (ZSTD_isError(rem))
        return -1;
    *in += ib.pos;
    *in_n -= ib.pos;
    *out += ob.pos;
    *out_n -= ob.pos;
    if (op == CC_ENC_OP_PROCESS)
        return *in_n == 0 ? 1 : 0;
    return rem == 0 ? 1 : 0;
}

static int br_step(BrotliEncoderState *br, cc_enc_op op, const unsigned char **in, size_t *in_n,
                   unsigned char **out, size_t *out_n)
{
    BrotliEncoderOperation bop = op == CC_ENC_OP_FINISH  ? BROTLI_OPERATION_FINISH
                                 : op == CC_ENC_OP_FLUSH ? BROTLI_OPERATION_FLUSH
                                                         : BROTLI_OPERATION_PROCESS;
    const uint8_t *ni = *in;
    uint8_t *no = *out;
    size_t ai = *in_n, ao = *out_n;
    if (!BrotliEncoderCompressStream(br, bop, &ai, &ni, &ao, &no, NULL))
        return -1;
    *in = ni;
    *in_n = ai;
    *out = no;
    *out_n = ao;
    if (op == CC_ENC_OP_FINISH)
        return BrotliEncoderIsFinished(br) ? 1 : 0;
    return ai == 0 && !BrotliEncoderHasMoreOutput(br) ? 1 : 0;
}

int cc_enc_stream_step(cc_enc_stream *s, cc_enc_op op, const unsigned char **in, size_t *in_n,
                       unsigned char **out, size_t *out_n)
{
    switch (s->kind) {
    case CC_ENC_GZIP:
        return gzip_step(&s->z, op, in, in_n, out, out_n);
    case CC_ENC_ZSTD:
        return zstd_step(s->zc, op, in, in_n, out, out_n);
    case CC_ENC_BR:
        return br_step(s->br, op, in, in_n, out, out_n);
    }
    return -1;
}

void cc_enc_stream_free(cc_enc_stream *s)
{
    if (!s)
        return;
    switch (s->kind) {
    case CC_ENC_GZIP:
        deflateEnd(&s->z);
        break;
    case CC_ENC_ZSTD:
        ZSTD_freeCCtx(s->zc);
        break;
    case CC_ENC_BR:
        BrotliEncoderDestroyInstance(s->br);
        break;
    }
    free(s);
}
