/* SPDX-License-Identifier: Apache-2.0
 * A byte-level scanner over the raw request stream of one client connection. It sees
 * what libmicrohttpd 0.9.75 hides once it has parsed a request: obs-fold (which MHD glues
 * onto the header *name*), NUL bytes (which MHD's strlen truncates), and the moments a
 * request head starts and ends on the wire (for the read-header deadline). It follows the
 * message framing (Content-Length / chunked) to find each pipelined request. The engine
 * feeds it from an interposed recv() (rawscan_recv.c). */
#ifndef CC_ENGINE_RAWSCAN_H
#define CC_ENGINE_RAWSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    CC_RS_EV_HEAD_START = 1, /* first byte of a request head */
    CC_RS_EV_HEAD_END,       /* end of a head with no body */
    CC_RS_EV_BODY_START,     /* end of a head that has a body */
    CC_RS_EV_BODY_END,       /* end of a body */
    CC_RS_EV_LOST,           /* scanning stopped (see cc_rawscan.lost) */
};

typedef struct cc_rawscan cc_rawscan;
struct cc_rawscan {
    uint8_t state;
    uint8_t lbn;  /* bytes kept of the current header line */
    bool lb_over; /* the line was longer than lb */
    bool line_cr; /* previous byte was CR (chunk framing) */
    bool lost;    /* framing not understood: stopped; close after the current request */
    bool cl_seen, te_seen, te_chunked, framing_bad;
    uint8_t cur_flags; /* CC_RAW_* of the request being scanned */
    uint8_t bad_flags; /* CC_RAW_* of request bad_req */
    uint32_t nreq;     /* request heads begun */
    uint32_t bad_req;  /* first request (1-based) with a raw defect, 0 = none */
    uint64_t remain;   /* body bytes (CL) or chunk bytes left */
    uint64_t chunk;    /* chunk size being parsed */
    char lb[48];       /* start of the current header line: enough for CL and TE */
    void (*event)(cc_rawscan *s, int ev);
};

void cc_rawscan_init(cc_rawscan *s, void (*event)(cc_rawscan *s, int ev));
/** Feeds bytes received on the connection, in order. It may remove trailing whitespace
 * of a Content-Length / Transfer-Encoding value from p (see rawscan.c): returns the
 * number of bytes left in p, always > 0 when n > 0. */
size_t cc_rawscan_feed(cc_rawscan *s, char *p, size_t n);
/** CC_RAW_* defects of request number req (1-based, in arrival order). */
unsigned cc_rawscan_flags(const cc_rawscan *s, uint32_t req);

/* ---- the recv() interposer's registry (rawscan_recv.c) ---- */

/** Sizes the fd table and checks the interposition; call before any attach (later calls
 * do nothing). CC_OK or CC_ERR. */
int cc_rawscan_registry_init(void);
/** Routes bytes received on fd to s until detached (s NULL detaches). */
void cc_rawscan_attach(int fd, cc_rawscan *s);
/** True when libmicrohttpd's recv() calls reach our interposer (checked at init). */
bool cc_rawscan_interposed(void);
/* Slots in the fd table (0 before cc_rawscan_registry_init): how many fds may be
 * looked up, for the other fd-keyed tables of the engine. */
size_t cc_rawscan_table_len(void);

#endif
