/* SPDX-License-Identifier: Apache-2.0
 * Engine-private types shared by the engine's files: workers, per-worker listeners (one
 * MHD daemon each), connections, requests and the deadline lists. Everything a worker
 * owns is touched only by that worker's thread; the main thread hands work over through
 * a plan under the engine mutex (engine.c). */
#ifndef CC_ENGINE_INTERNAL_H
#define CC_ENGINE_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../core/loop.h"
#include "../core/server.h"
#include "engine.h"
#include "framing.h"
#include "rawscan.h"

/* Request bodies up to ENG_STREAM_BUF are received whole before handlers run; larger ones
 * stream through a ring of that size (reqbody.c), with no engine cap (request_body's
 * max_size limits them). */
#define ENG_STREAM_BUF ((size_t)64 << 10)
/* A body nobody read is drained before the response when at most this much is left
 * (keep-alive); with more left and the response known at the head, the answer goes out
 * at once with Connection: close (Go discards up to 256 KiB the same way). */
#define ENG_DRAIN_MAX ((int64_t)256 << 10)
/* After such an early answer, unread upload bytes are read and dropped this long, so the
 * client sees the response instead of a reset (Go's closeWriteAndWait). */
#define ENG_LINGER_NS ((uint64_t)2 * 1000000000)
/* MHD's per-connection pool bounds the request head (431/414 beyond it, P12). MHD zeroes
 * the whole pool on every keep-alive request, so it is kept small unless max_header_size
 * asks for more (eng_pool_for): 16 KiB admits heads of about 15 KB. */
#define ENG_POOL_DEFAULT ((size_t)16 << 10)
/* Request arenas a worker keeps for reuse (more are freed): enough for the requests that
 * finish in one event-loop turn on a busy worker. */
#define ENG_SPARE_ARENAS 16
#define ENG_HDR_TIMEOUT_DEFAULT ((int64_t)60 * 1000000000)   /* Caddy's read_header 1m */
#define ENG_IDLE_TIMEOUT_DEFAULT ((int64_t)300 * 1000000000) /* Caddy's idle 5m */

struct eng_worker;
struct eng_wl;
struct eng_req;
typedef struct eng_post eng_post;

/* What a worker's epoll registration points at (data.ptr), told apart by a tag in the
 * first member: a listener's nested MHD epoll fd or a cc_loop watch. The worker's own
 * eventfd is registered with the worker itself (compared by address). eng_wl is
 * allocated zeroed, so its tag is ENG_EP_WL without any setup. */
typedef enum { ENG_EP_WL = 0, ENG_EP_IO = 1 } eng_ep_kind;
typedef struct eng_ep {
    unsigned char kind;
} eng_ep;

/* A deadline in a worker's ascending list. */
typedef struct eng_timer {
    struct eng_timer *prev, *next;
    uint64_t at; /* CLOCK_MONOTONIC ns */
    bool armed;
    unsigned char kind; /* which member of eng_conn this is: ENG_T_* */
} eng_timer;

enum { ENG_T_RD, ENG_T_WR, ENG_T_FILE };

typedef struct eng_conn {
    cc_rawscan scan; /* first: the scanner's callbacks cast back to the connection */
    struct eng_wl *wl;
    struct MHD_Connection *mc;
    int fd;
    cc_conn info;
    char rip[64], lip[64];
    eng_timer rd; /* read deadline: request head, then body */
    eng_timer wr; /* write deadline: head received .. response done */
    /* a file body MHD sends by sendfile: checked every second for having shrunk, since
     * MHD 0.9.75 waits forever for a socket edge when sendfile meets the new end of
     * file (filebody.c) */
    eng_timer fw;
    int fw_fd;
    int64_t fw_end;
    struct eng_conn *prev, *next;
    uint32_t nreq;   /* requests started (URI log callback) */
    bool scan_on;    /* the scanner sees this connection's bytes */
    bool in_request; /* between the URI log callback and completion */
    bool closing;    /* answer the next response with Connection: close */
    bool shut;       /* shutdown(2) done by a deadline or a drain */
    /* behind the TLS front (tls_listen.c fills these when MHD starts the connection) */
    char tls_sni[256]; /* info.tls_server_name points here */
    bool tls_strict;   /* strict_sni_host: Host must equal the SNI */
} eng_conn;

/* One listener address served by one worker: its socket and MHD daemon. */
typedef struct eng_wl {
    eng_ep ep; /* first: the worker's epoll data.ptr (kind ENG_EP_WL) */
    struct eng_worker *w;
    char *host; /* "" = all interfaces */
    int port;
    size_t pool;
    int lfd; /* our listening socket; -1 once MHD is quiesced */
    struct MHD_Daemon *d;
    int mhd_fd; /* MHD's epoll fd, nested in the worker's epoll */
    bool in_epoll;
    cc_runtime *rt; /* held reference; NULL until the worker adopts the listener */
    const cc_server *srv;
    int64_t hdr_to, body_to, write_to, idle_to; /* ns, 0 = none */
    eng_conn *conns;
    size_t nconns;
    bool ready;      /* MHD's epoll fd fired */
    uint64_t due_at; /* when MHD asked to be run again (MHD_get_timeout) */
    bool draining;
    struct eng_req *suspended; /* requests whose connection is suspended (any reason) */
    struct eng_req *upgraded;  /* requests whose connection was handed to a handler */
    struct eng_wl *next;
    struct eng_tls_wl *tls; /* TLS front of this listener (tls_listen.c); NULL = plain */
} eng_wl;

/* What a worker must serve after a start/swap/stop: one entry per listener address. */
typedef struct eng_assign {
    const char *host;
    int port;
    size_t pool;
    const cc_server *srv;
    eng_wl *fresh; /* a new listener for this worker; NULL = keep the matching one */
} eng_assign;

typedef struct eng_plan {
    cc_runtime *rt; /* NULL = stop */
    eng_assign *v;
    size_t n;
    uint64_t force_at; /* stop: close everything at this time (0 = wait) */
} eng_plan;

typedef struct eng_worker {
    struct cc_engine *e;
    int idx;
    pthread_t th;
    bool th_started;
    int epfd, evfd;
    eng_wl *wls;
    eng_timer *t_head, *t_tail;
    uint64_t now;             /* CLOCK_MONOTONIC ns, read once per loop turn */
    struct timespec now_real; /* CLOCK_REALTIME at the same moment */
    unsigned gen_seen;
    atomic_uint gen_ack;
    bool stopping;
    uint64_t force_at;
    pthread_mutex_t post_mu; /* guards posts: written by pool threads */
    eng_post *posts, *posts_tail;
    /* reset request arenas kept for reuse, so a request costs no malloc for its arena */
    cc_arena *spare[ENG_SPARE_ARENAS];
    int nspare;
    cc_loop *loop; /* the handlers' event loop (loop.c); valid on the worker thread */
    /* requests with news for their body consumer, and orphans (connection closed while
     * their chain was pending) waiting for it to finish (async_glue.c) */
    struct eng_req *notify, *orphans, *tofree, *gone;
    struct eng_linger *lingers;
    struct eng_rcache *rc; /* small complete responses for reuse (respcache.c) */
} eng_worker;

/* The main thread's record of an open listener address. */
typedef struct eng_addr {
    char *host;
    int port;
    size_t pool;
} eng_addr;

struct cc_engine {
    int nworkers;
    eng_worker *w;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    eng_plan **plans; /* per worker, pending (under mu) */
    atomic_uint gen;
    cc_runtime *rt;
    eng_addr *addrs;
    size_t naddrs;
    unsigned conn_limit;
};

/* A request in flight: lives in its own arena, from the URI log callback to completion. */
typedef enum { PH_HEAD, PH_BODY, PH_DONE } eng_phase;

typedef struct eng_req {
    cc_arena *arena;
    eng_wl *wl;
    eng_conn *c;
    cc_runtime *rt;
    const cc_server *srv;
    eng_phase phase;
    uint32_t reqno;
    const char *target;
    size_t target_len;
    CC_VEC(cc_frame_hdr) hdrs;
    cc_frame_res fr;
    char *body;
    int64_t body_n, body_cap, body_seen;
    bool handled;      /* cc_server_handle ran: log it */
    bool head;         /* HEAD request */
    bool fd_to_mhd;    /* resp body fd now belongs to MHD */
    bool counted_body; /* bytes_written counted by the content reader */
    int64_t written;
    int64_t resp_size; /* body bytes MHD will send for buffer/fd responses */
    /* asynchronous handlers (core/async.h): the connection is suspended while the
     * request is pending and resumed by on_async_done */
    struct eng_worker *w;
    struct MHD_Connection *mc;
    struct eng_req *susp_prev, *susp_next; /* in wl->suspended while suspended */
    bool suspended;
    unsigned char susp_why; /* ENG_SUSP_* */
    bool async_ready;       /* the chain finished: commit and respond at the next chance */
    bool orphaned;          /* the connection closed while pending (in w->orphans) */
    bool freeing;           /* in w->tofree */
    bool client_gone;       /* the peer left while the connection was suspended */
    cc_loop_io *gone_watch;
    /* async response bodies (respond.c) */
    bool body_kick; /* cc_resp_body_ready came (maybe during the read itself) */
    /* streaming request body (reqbody.c) */
    bool streaming;  /* r->body is the engine's ring */
    bool up_done;    /* the whole body arrived */
    bool up_err;     /* the body failed (client gone, bad framing) */
    bool rs_waiting; /* the consumer saw CC_EAGAIN: tell it of news */
    bool rs_closed;  /* the consumer is done with it: drain and discard the rest */
    bool early;      /* answered at the head with the body unread: close, then linger */
    char *ring;
    size_t rhead, rlen;
    cc_body rs_body;
    struct eng_req *ntf_prev, *ntf_next; /* in w->notify while queued */
    bool ntf_queued;
    struct eng_req *orph_prev, *orph_next; /* in w->orphans / w->tofree */
    struct eng_req *gone_prev, *gone_next; /* in w->gone: cc_req_gone() is due */
    bool gone_queued;
    /* upgrades (upgrade.c) */
    struct MHD_UpgradeResponseHandle *urh;
    bool upgrading, upgraded, upgrade_closed, upgrade_aborted;
    int up_fd; /* > 0: the handler's end of a TLS stream's socketpair, closed with it */
    struct eng_req *upg_prev, *upg_next; /* in wl->upgraded */
    cc_req req;
} eng_req;

enum { ENG_SUSP_ASYNC = 1, ENG_SUSP_PARK = 2, ENG_SUSP_BODY = 3 };

/* A function posted to a worker from another thread (offload completion). */
struct eng_post {
    struct eng_post *next;
    eng_req *q;
    void (*fn)(cc_req *r, void *arg);
    void *arg;
};

/* the worker's event loop as handlers see it (loop.c, core/loop.h) */
cc_loop *eng_loop_new(int epfd);
/* Makes l the calling thread's cc_loop_current(). */
void eng_loop_enter(cc_loop *l);
void eng_loop_set_now(cc_loop *l, uint64_t now);
/* Runs the slot destructors (and the defers they queue). */
void eng_loop_free_slots(cc_loop *l);
/* Runs what eng_loop_free_slots runs, then frees every handle still registered. */
void eng_loop_free(cc_loop *l);
/* A watch with extra raw epoll events (EPOLLRDHUP), reported as CC_LOOP_ERR. */
cc_loop_io *eng_loop_io_add_ev(cc_loop *l, int fd, unsigned events, uint32_t extra,
                               cc_loop_io_fn fn, void *ctx);
/* Brackets the dispatch of one epoll batch: watches deleted inside are freed at the end. */
void eng_loop_batch(cc_loop *l, bool begin);
void eng_loop_dispatch(cc_loop *l, void *ptr, uint32_t events);
/* The earliest armed timer's deadline (CLOCK_MONOTONIC ns), UINT64_MAX when none. */
uint64_t eng_loop_next_at(cc_loop *l);
void eng_loop_run_timers(cc_loop *l);
/* Runs the queued deferred calls; true when new ones were queued meanwhile. */
bool eng_loop_run_defers(cc_loop *l);
bool eng_loop_pending(cc_loop *l);

/* Counters for tests (reqbody.c, respond.c): the fullest a body ring ever was, how
 * often an upload was parked, how often a response waited on its async body. */
extern _Atomic size_t eng_stat_ring_max;
extern atomic_ulong eng_stat_parks, eng_stat_body_waits;

/* timers (worker.c) */
void eng_timer_arm(eng_worker *w, eng_timer *t, uint64_t at);
void eng_timer_disarm(eng_worker *w, eng_timer *t);

/* listeners (listen.c) */
int eng_listen_open(const char *host, int port, cc_err *err);
size_t eng_pool_for(const cc_server *s);

/* MHD glue (mhd_glue.c) */
struct MHD_Daemon *eng_daemon_start(eng_wl *wl, unsigned conn_limit);
void eng_wl_set_server(eng_wl *wl, cc_runtime *rt, const cc_server *s);

/* File bodies (filebody.c): regular files up to ENG_MAP_MAX go to MHD as one buffer
 * (head and body in one sendmsg), read into the request's arena up to ENG_READ_MAX and
 * mapped above; larger ones by sendfile. */
#define ENG_READ_MAX ((int64_t)8 << 10)
#define ENG_MAP_MAX ((int64_t)16 << 20)
struct MHD_Response *eng_file_response(eng_req *q, int fd, int64_t off, int64_t len, bool no_body);
/* fd[off, off+len) read into the request's arena when len is 1..ENG_READ_MAX; NULL when
 * larger or when the file no longer holds the range. */
char *eng_file_read(eng_req *q, int fd, int64_t off, int64_t len);
/* The file watch fired: true when the file no longer reaches the end being sent (the
 * caller then ends the connection); otherwise it is armed again. */
bool eng_file_watch_due(eng_worker *w, eng_conn *c);

/* requests (request.c, respond.c) */
enum MHD_Result eng_req_head(eng_req *q, struct MHD_Connection *mc, const char *method,
                             const char *version);
void eng_req_build(eng_req *q, struct MHD_Connection *mc, const char *method);
enum MHD_Result eng_respond(eng_req *q, struct MHD_Connection *mc);
enum MHD_Result eng_respond_error(eng_req *q, struct MHD_Connection *mc, int status,
                                  const char *reason);
void eng_resp_release(eng_req *q);
/* Adds r's response headers to mr, leaving out what MHD writes itself and any header
 * that is invalid or carries CR/LF, then "Connection: close" when close is set or the
 * headers ask for it; false when MHD refused that close (the connection would stay). */
bool eng_resp_add_headers(struct MHD_Response *mr, const cc_req *r, bool upgrade, bool close);

/* Reusable responses (respcache.c): a worker keeps the MHD responses of small complete
 * answers that recur (respond "...", a small static file), keyed by the exact body and
 * header bytes, the close flag and the second of their Date. */
#define ENG_RCACHE_BODY_MAX ((size_t)8 << 10)
/* The cached response for this answer sent in second sec (its Date), which the caller
 * queues but never destroys; NULL when there is none yet (the caller builds its own). */
struct MHD_Response *eng_rcache_get(eng_worker *w, const cc_req *r, const char *body, size_t n,
                                    bool close, time_t sec);
void eng_rcache_free(eng_worker *w);
extern atomic_ulong eng_stat_rc_hits, eng_stat_rc_builds;

/* asynchronous completion and suspension (async_glue.c) */
void eng_async_install(void);
void eng_async_suspend(eng_req *q);
/* Suspends q's connection for why (ENG_SUSP_*), watching the client for a disconnect. */
void eng_suspend(eng_req *q, int why);
/* Resumes q's connection if it is suspended; the listener runs MHD this turn. */
void eng_resume(eng_req *q);
void eng_async_release_all(eng_wl *wl);
void eng_worker_run_posts(eng_worker *w);
/* Queues q's body consumer for a cc_req_body_ready() outside MHD's callbacks. */
void eng_notify(eng_req *q);
bool eng_worker_has_work(eng_worker *w);
void eng_worker_run_work(eng_worker *w);
void eng_worker_exit(eng_worker *w);
/* The request is complete in MHD (completion callback): free it, or keep it as an orphan
 * while its chain is pending. */
void eng_req_done(eng_req *q);
void eng_req_free(eng_req *q);

/* streaming request bodies (reqbody.c) */
/* The head is in: decide buffered or streaming. True when handlers run now (streaming
 * with a known length beyond ENG_STREAM_BUF). */
bool eng_body_stream_at_head(eng_req *q);
/* Upload bytes for the request (data call of the access handler). */
enum MHD_Result eng_body_data(eng_req *q, struct MHD_Connection *mc, const char *method,
                              const char *data, size_t *size);
/* The whole body arrived (final call). */
void eng_body_end(eng_req *q);
/* The chain finished: the unread rest of the body is dropped. */
void eng_body_abandon(eng_req *q);
/* Runs the handlers for a streaming request (head or data call). */
void eng_run_chain(eng_req *q, struct MHD_Connection *mc);

/* upgrades (upgrade.c) */
struct MHD_Response *eng_upgrade_response(eng_req *q);
void eng_upgrade_install(void);
/* The request completed in MHD: an upgrade that never happened is aborted. */
void eng_upgrade_done(eng_req *q, enum MHD_RequestTerminationCode toe);
/* Ends the upgraded streams of wl: asks their handlers (upgrade_abort), or closes them
 * when force is set. */
void eng_upgrade_drain(eng_wl *wl, bool force);
/* A kept listener now serves rt: ends the upgraded streams of older runtimes (reload). */
void eng_upgrade_retire(eng_wl *wl, const cc_runtime *rt);
/* Lingering close after an early answer (mhd_glue.c): keeps reading the socket a while. */
typedef struct eng_linger eng_linger;
void eng_linger_start(eng_worker *w, int fd);
void eng_linger_free_all(eng_worker *w);

/* worker threads (worker.c) */
void *eng_worker_main(void *arg);
void eng_worker_wake(eng_worker *w);
void eng_wl_free(eng_wl *wl);

#endif
