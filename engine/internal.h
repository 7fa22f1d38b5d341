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

#include "../core/server.h"
#include "engine.h"
#include "framing.h"
#include "rawscan.h"

/* Request bodies are received whole before handlers run; beyond this the engine answers
 * 413 (request_body's max_size, when smaller, is enforced by that handler). */
#define ENG_BODY_CAP ((int64_t)16 << 20)
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

/* A deadline in a worker's ascending list. */
typedef struct eng_timer {
    struct eng_timer *prev, *next;
    uint64_t at; /* CLOCK_MONOTONIC ns */
    bool armed;
    bool is_wr; /* which member of eng_conn this is (rd or wr) */
} eng_timer;

typedef struct eng_conn {
    cc_rawscan scan; /* first: the scanner's callbacks cast back to the connection */
    struct eng_wl *wl;
    struct MHD_Connection *mc;
    int fd;
    cc_conn info;
    char rip[64], lip[64];
    eng_timer rd; /* read deadline: request head, then body */
    eng_timer wr; /* write deadline: head received .. response done */
    struct eng_conn *prev, *next;
    uint32_t nreq;   /* requests started (URI log callback) */
    bool scan_on;    /* the scanner sees this connection's bytes */
    bool in_request; /* between the URI log callback and completion */
    bool closing;    /* answer the next response with Connection: close */
    bool shut;       /* shutdown(2) done by a deadline or a drain */
} eng_conn;

/* One listener address served by one worker: its socket and MHD daemon. */
typedef struct eng_wl {
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
    struct eng_req *suspended; /* requests waiting on an asynchronous handler */
    struct eng_wl *next;
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
    uint64_t now;
    unsigned gen_seen;
    atomic_uint gen_ack;
    bool stopping;
    uint64_t force_at;
    pthread_mutex_t post_mu; /* guards posts: written by pool threads */
    eng_post *posts, *posts_tail;
    /* reset request arenas kept for reuse, so a request costs no malloc for its arena */
    cc_arena *spare[ENG_SPARE_ARENAS];
    int nspare;
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
    bool too_large;
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
    bool async_ready; /* the pending chain finished: commit and respond */
    bool orphaned;    /* the connection closed while pending: free on the next post */
    cc_req req;
} eng_req;

/* A function posted to a worker from another thread (offload completion). */
struct eng_post {
    struct eng_post *next;
    eng_req *q;
    void (*fn)(cc_req *r, void *arg);
    void *arg;
};

/* timers (worker.c) */
void eng_timer_arm(eng_worker *w, eng_timer *t, uint64_t at);
void eng_timer_disarm(eng_worker *w, eng_timer *t);

/* listeners (listen.c) */
int eng_listen_open(const char *host, int port, cc_err *err);
size_t eng_pool_for(const cc_server *s);

/* MHD glue (mhd_glue.c) */
struct MHD_Daemon *eng_daemon_start(eng_wl *wl, unsigned conn_limit);
void eng_wl_set_server(eng_wl *wl, cc_runtime *rt, const cc_server *s);

/* requests (request.c, respond.c) */
enum MHD_Result eng_req_head(eng_req *q, struct MHD_Connection *mc, const char *method,
                             const char *version);
void eng_req_build(eng_req *q, struct MHD_Connection *mc, const char *method);
enum MHD_Result eng_respond(eng_req *q, struct MHD_Connection *mc);
enum MHD_Result eng_respond_error(eng_req *q, struct MHD_Connection *mc, int status,
                                  const char *reason);
void eng_resp_release(eng_req *q);

/* asynchronous completion (async_glue.c) */
void eng_async_install(void);
void eng_async_suspend(eng_req *q);
void eng_async_release_all(eng_wl *wl);
void eng_worker_run_posts(eng_worker *w);
void eng_req_free(eng_req *q);

/* worker threads (worker.c) */
void *eng_worker_main(void *arg);
void eng_worker_wake(eng_worker *w);
void eng_wl_free(eng_wl *wl);

#endif
