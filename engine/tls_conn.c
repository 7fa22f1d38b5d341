/* SPDX-License-Identifier: Apache-2.0
 * The TLS pump of one connection (engine-notes.md 3.2, "shim v2"): non-blocking wolfSSL
 * over read-ahead I/O callbacks, readiness flags so that recv/send run only when they
 * can make progress, and after the handshake a socketpair whose other end MHD serves as
 * an ordinary connection (MHD_add_connection with the client's real address). Client
 * EOF becomes shutdown(pair, SHUT_WR); MHD closing the pair becomes close_notify, a
 * FIN, and a short lingering read so the last response is not reset. Everything runs
 * on the listener's worker loop. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/log.h"
#include "internal.h"
#include "tls_conn.h"

/* How long a closing connection keeps reading (and dropping) what the client still
 * sends, so that closing with unread data does not reset the response in flight. */
#define LINGER_NS ((uint64_t)2 * 1000000000)

static void pump(eng_tls_conn *tc);
static void update_watch(eng_tls_conn *tc);

/* ---- wolfSSL I/O callbacks ---- */

static int tls_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    eng_tls_conn *tc = ctx;
    if (tc->rpos == tc->rlen) {
        if (!tc->t_rd)
            return WOLFSSL_CBIO_ERR_WANT_READ;
        ssize_t r;
        do
            r = recvfrom(tc->fd, tc->rbuf, sizeof(tc->rbuf), 0, NULL, NULL);
        while (r < 0 && errno == EINTR);
        if (r == 0) {
            tc->t_rd = false;
            return WOLFSSL_CBIO_ERR_CONN_CLOSE;
        }
        if (r < 0) {
            tc->t_rd = false;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return WOLFSSL_CBIO_ERR_WANT_READ;
            return errno == ECONNRESET ? WOLFSSL_CBIO_ERR_CONN_RST : WOLFSSL_CBIO_ERR_GENERAL;
        }
        /* a short read drained the socket: the next recv would be an EAGAIN */
        if ((size_t)r < sizeof(tc->rbuf))
            tc->t_rd = false;
        tc->rpos = 0;
        tc->rlen = (unsigned)r;
    }
    unsigned n = tc->rlen - tc->rpos;
    if ((unsigned)sz < n)
        n = (unsigned)sz;
    memcpy(buf, tc->rbuf + tc->rpos, n);
    tc->rpos += n;
    if (tc->rpos == tc->rlen)
        tc->rpos = tc->rlen = 0;
    return (int)n;
}

/* While MHD serves the socket (TC_DIRECT) nothing is refused: what the socket does not
 * take is queued (tls_direct.c), so no record is ever retried with other bytes. In the
 * other states a full socket is WANT_WRITE, and the queue left from TC_DIRECT goes
 * first. */
static int tls_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    eng_tls_conn *tc = ctx;
    bool direct = tc->state == TC_DIRECT;
    if (tc->olen > tc->ooff && !eng_tls_flush(tc)) {
        if (tc->broken)
            return WOLFSSL_CBIO_ERR_CONN_RST;
        if (!direct)
            return WOLFSSL_CBIO_ERR_WANT_WRITE;
        return eng_tls_queue(tc, buf, (size_t)sz) ? sz : WOLFSSL_CBIO_ERR_GENERAL;
    }
    ssize_t r;
    do
        r = eng_tls_raw_send(tc->fd, buf, (size_t)sz);
    while (r < 0 && errno == EINTR);
    if (r >= 0) {
        if (direct && r < sz && !eng_tls_queue(tc, buf + r, (size_t)(sz - r)))
            return WOLFSSL_CBIO_ERR_GENERAL;
        return direct ? sz : (int)r;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        tc->t_wr = false;
        if (direct)
            return eng_tls_queue(tc, buf, (size_t)sz) ? sz : WOLFSSL_CBIO_ERR_GENERAL;
        return WOLFSSL_CBIO_ERR_WANT_WRITE;
    }
    if (direct)
        tc->broken = true;
    return errno == ECONNRESET || errno == EPIPE ? WOLFSSL_CBIO_ERR_CONN_RST
                                                 : WOLFSSL_CBIO_ERR_GENERAL;
}

/* ---- lifetime ---- */

static void destroy(eng_tls_conn *tc)
{
    eng_tls_wl *tl = tc->tl;
    cc_loop_io_del(tc->io);
    cc_loop_io_del(tc->pio);
    cc_loop_timer_free(tc->timer);
    if (tc->fd >= 0 && tc->fd_mhd) {
        /* MHD still serves fd and would otherwise send its next bytes in the clear:
         * end the socket for it before the interposers forget the connection */
        (void)syscall(SYS_shutdown, tc->fd, SHUT_RDWR);
        eng_tls_direct_attach(tc->fd, NULL);
    } else if (tc->fd >= 0) {
        close(tc->fd);
    }
    free(tc->obuf);
    if (tc->pfd >= 0)
        close(tc->pfd);
    if (tc->ssl)
        wolfSSL_free(tc->ssl);
    if (tc->ctx)
        wolfSSL_CTX_free(tc->ctx);
    eng_tls_cfg_unref(tc->cfg);
    if (tc->prev)
        tc->prev->next = tc->next;
    else
        tl->conns = tc->next;
    if (tc->next)
        tc->next->prev = tc->prev;
    tl->nconns--;
    free(tc);
}

/* Marks tc dead; it is freed at the end of the callback that runs (or now). */
static void kill_conn(eng_tls_conn *tc)
{
    tc->state = TC_DEAD;
    if (!tc->in_cb)
        destroy(tc);
}

static void log_hs_error(eng_tls_conn *tc, const char *what)
{
    char ip[64] = "";
    int port = 0;
    if (tc->peer.ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)&tc->peer;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        port = ntohs(s->sin_port);
    } else if (tc->peer.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&tc->peer;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        port = ntohs(s->sin6_port);
    }
    /* Go's server logs handshake failures on its error log; Caddy shows them at debug */
    cc_log(CC_LOG_DEBUG, "http.stdlib", NULL, "http: TLS handshake error from %s:%d: %s%s%s", ip,
           port, what, tc->sni[0] ? " (server name " : "", tc->sni[0] ? tc->sni : "");
}

/* Starts the orderly close: close_notify, FIN, then drop what still arrives. */
static void start_linger(eng_tls_conn *tc)
{
    tc->state = TC_LINGER;
    cc_loop_io_del(tc->pio);
    tc->pio = NULL;
    if (tc->pfd >= 0) {
        close(tc->pfd);
        tc->pfd = -1;
    }
    int r = wolfSSL_shutdown(tc->ssl);
    tc->sd_pending = r != WOLFSSL_SUCCESS && r != WOLFSSL_SHUTDOWN_NOT_DONE &&
                     wolfSSL_get_error(tc->ssl, r) == WOLFSSL_ERROR_WANT_WRITE;
    if (!tc->sd_pending)
        (void)shutdown(tc->fd, SHUT_WR);
    tc->t_rd = true;
    cc_loop_timer_start(tc->timer, LINGER_NS);
}

/* ---- after the handshake ---- */

static void on_pair(cc_loop_io *io, int fd, unsigned ev, void *ctx);

static const char *version_name(WOLFSSL *ssl)
{
    return wolfSSL_version(ssl) == TLS1_3_VERSION ? "tls1.3" : "tls1.2";
}

void eng_tls_conn_info(eng_tls_conn *tc, struct eng_conn *c)
{
    c->info.tls = true;
    snprintf(c->tls_sni, sizeof(c->tls_sni), "%s", tc->sni);
    c->info.tls_server_name = c->tls_sni;
    c->info.tls_version = version_name(tc->ssl);
    const char *cs = NULL;
    int suite = wolfSSL_get_current_cipher_suite(tc->ssl);
    if (suite >= 0)
        cs = wolfSSL_get_cipher_name_iana_from_suite((unsigned char)(suite >> 8),
                                                     (unsigned char)suite);
    c->info.tls_cipher = cs ? cs : "";
    char *proto = NULL;
    unsigned short plen = 0;
    c->info.tls_proto = wolfSSL_ALPN_GetProtocol(tc->ssl, &proto, &plen) == WOLFSSL_SUCCESS &&
                                plen == 8 && proto && memcmp(proto, "http/1.1", 8) == 0
                            ? "http/1.1"
                            : "";
    c->tls_strict = tc->cfg->strict_sni;
    /* the pair has no address: the local side is the TCP socket's */
    snprintf(c->lip, sizeof(c->lip), "%s", tc->lip);
    c->info.local_ip = c->lip;
    c->info.local_port = tc->lport;
}

eng_tls_conn *eng_tls_conn_next(const eng_tls_conn *tc)
{
    return tc->next;
}

/* The fallback when the socket calls are not interposed: MHD serves one end of a
 * socketpair and the pump carries the bytes (TC_OPEN). */
static bool hand_over_pair(eng_tls_conn *tc)
{
    eng_tls_wl *tl = tc->tl;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        cc_log(CC_LOG_ERROR, "http.engine", NULL, "socketpair: %s", strerror(errno));
        return false;
    }
    tc->pfd = sv[0];
    tc->mfd = sv[1];
    tl->adding = tc;
    enum MHD_Result ok =
        MHD_add_connection(tl->wl->d, sv[1], (const struct sockaddr *)&tc->peer, tc->peerlen);
    tl->adding = NULL;
    if (ok != MHD_YES) {
        /* MHD closed its end; at the connection limit the client is simply closed */
        tc->mfd = -1;
        cc_log(CC_LOG_WARN, "http.engine", NULL, "cannot hand a TLS connection to MHD: %s",
               strerror(errno));
        return false;
    }
    tc->pio = cc_loop_io_add(tl->loop, tc->pfd, CC_LOOP_IN, on_pair, tc);
    if (!tc->pio)
        return false;
    tc->state = TC_OPEN;
    return true;
}

static bool handshake_done(eng_tls_conn *tc)
{
    eng_tls_wl *tl = tc->tl;
    int v = wolfSSL_version(tc->ssl);
    if (tc->pol && (v < tc->pol->vmin || v > tc->pol->vmax)) {
        /* the policy picked by SNI allows fewer versions than the listener's union */
        log_hs_error(tc, "protocol version not allowed by the connection policy");
        return false;
    }
    cc_loop_timer_stop(tc->timer);
    if (tc->acme) {
        /* the validator only looks at the certificate */
        start_linger(tc);
        return true;
    }
    if (!tl->wl || !tl->wl->d)
        return false;
    if (!eng_tls_direct_enabled())
        return hand_over_pair(tc);
    /* MHD serves the TCP socket itself from here (tls_direct.c); its epoll set takes
     * over the readiness, so the front's watch goes (it comes back only to push queued
     * ciphertext) */
    if (!eng_tls_direct_attach(tc->fd, tc))
        return false;
    cc_loop_io_del(tc->io);
    tc->io = NULL;
    tc->state = TC_DIRECT;
    tc->fd_mhd = true;
    tc->mfd = tc->fd;
    tl->adding = tc;
    enum MHD_Result ok =
        MHD_add_connection(tl->wl->d, tc->fd, (const struct sockaddr *)&tc->peer, tc->peerlen);
    tl->adding = NULL;
    if (ok != MHD_YES) {
        /* MHD closed the socket; at the connection limit the client is simply closed */
        eng_tls_direct_attach(tc->fd, NULL);
        tc->fd = tc->mfd = -1;
        tc->fd_mhd = false;
        cc_log(CC_LOG_WARN, "http.engine", NULL, "cannot hand a TLS connection to MHD: %s",
               strerror(errno));
        return false;
    }
    /* MHD_USE_TURBO: the connection starts read-ready, so a request that came with the
     * client's Finished (already in rbuf, with no new edge to come) is read at once by
     * the MHD_run this flag asks for */
    tl->wl->ready = true;
    return true;
}

/* ---- TC_DIRECT: queued ciphertext, MHD letting go, upgrades ---- */

static void on_tcp(cc_loop_io *io, int fd, unsigned ev, void *ctx);

void eng_tls_direct_want_flush(eng_tls_conn *tc)
{
    if (tc->io || tc->state != TC_DIRECT)
        return;
    tc->io = cc_loop_io_add(tc->tl->loop, tc->fd, CC_LOOP_OUT, on_tcp, tc);
    if (!tc->io)
        tc->broken = true;
}

static void direct_pushed(eng_tls_conn *tc)
{
    if (eng_tls_flush(tc) || tc->broken) {
        cc_loop_io_del(tc->io);
        tc->io = NULL;
    }
}

/* MHD closes fd right after this: keep the socket through a duplicate, then close it
 * in order (the queue, close_notify, FIN, a lingering read). */
static void direct_closed(eng_tls_conn *tc)
{
    eng_tls_direct_attach(tc->fd, NULL);
    cc_loop_io_del(tc->io);
    tc->io = NULL;
    tc->fd_mhd = false;
    tc->mfd = -1;
    int d = tc->broken ? -1 : fcntl(tc->fd, F_DUPFD_CLOEXEC, 0);
    tc->fd = d;
    if (d < 0) {
        kill_conn(tc);
        return;
    }
    tc->io = cc_loop_io_add(tc->tl->loop, d, CC_LOOP_IN, on_tcp, tc);
    if (!tc->io) {
        kill_conn(tc);
        return;
    }
    tc->t_wr = true;
    start_linger(tc);
    update_watch(tc);
}

void eng_tls_conn_closed(struct eng_wl *wl, struct eng_conn *c)
{
    (void)wl;
    eng_tls_conn *tc = eng_tls_direct_get(c->fd);
    if (!tc || tc->state != TC_DIRECT)
        return;
    tc->in_cb = true;
    direct_closed(tc);
    tc->in_cb = false;
    if (tc->state == TC_DEAD)
        destroy(tc);
}

/* An upgraded stream leaves MHD's hands: it goes back through a socketpair pumped by
 * the front (TC_OPEN), so the handler reads and writes plain bytes with ordinary
 * readiness. Returns the handler's end, or -1. MHD keeps fd until the upgrade is
 * closed, so the front works on a duplicate. */
int eng_tls_upgrade_fd(struct eng_wl *wl, int fd)
{
    (void)wl;
    eng_tls_conn *tc = eng_tls_direct_get(fd);
    if (!tc || tc->state != TC_DIRECT)
        return fd;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    eng_tls_direct_attach(fd, NULL);
    cc_loop_io_del(tc->io);
    tc->fd = d;
    tc->fd_mhd = false;
    tc->mfd = -1;
    tc->pfd = sv[0];
    tc->state = TC_OPEN;
    tc->t_rd = tc->t_wr = tc->p_rd = true;
    tc->t_eof = tc->d_eof;
    tc->io = cc_loop_io_add(tc->tl->loop, d, CC_LOOP_IN, on_tcp, tc);
    tc->pio = cc_loop_io_add(tc->tl->loop, tc->pfd, CC_LOOP_IN, on_pair, tc);
    if (!tc->io || !tc->pio) {
        close(sv[1]);
        kill_conn(tc);
        return -1;
    }
    /* plaintext wolfSSL already holds is pumped from the next loop turn */
    tc->in_cb = true;
    pump(tc);
    tc->in_cb = false;
    if (tc->state == TC_DEAD) {
        destroy(tc);
        close(sv[1]);
        return -1;
    }
    return sv[1];
}

/* ---- the pump ---- */

/* RFC 9110 tchar: a TLS record starts with a content type byte (0x14-0x18) and an SSLv2
 * hello with a high bit, neither of which is one. */
static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Whether the first bytes are an HTTP request line (a method token and a space): 1 yes,
 * 0 no, -1 only token characters so far (wait for more). */
static int looks_like_http(const unsigned char *b, unsigned n)
{
    enum { MAX_METHOD = 24 };
    unsigned i = 0;
    while (i < n && i < MAX_METHOD && is_tchar(b[i]))
        i++;
    if (i < n)
        return i > 0 && b[i] == ' ' ? 1 : 0;
    return i < MAX_METHOD ? -1 : 0;
}

/* Go's answer to plain HTTP on a TLS port: a bare HTTP/1.0 400 with its text, then an
 * orderly close (FIN, then drop the rest of the request so the answer is not reset). */
static void answer_plain_http(eng_tls_conn *tc)
{
    static const char msg[] =
        "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
    log_hs_error(tc, "tls: first record does not look like a TLS handshake");
    ssize_t w;
    do
        w = send(tc->fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    (void)shutdown(tc->fd, SHUT_WR);
    tc->state = TC_LINGER;
    tc->sd_pending = false;
    tc->rpos = tc->rlen = 0;
    tc->t_rd = true;
    cc_loop_timer_start(tc->timer, LINGER_NS);
}

/* Before wolfSSL sees the ClientHello: read its record, pick the connection policy by
 * its SNI and apply the policy's protocol range, suites and groups to the handshake
 * itself (wolfSSL has chosen the version by the time its SNI callback runs). false:
 * wait for more bytes. Anything unparsable is left to wolfSSL to refuse. */
static bool prehello(eng_tls_conn *tc)
{
    if (tc->pre_done)
        return true;
    while (tc->t_rd && tc->rlen < sizeof(tc->rbuf)) {
        ssize_t r = recv(tc->fd, tc->rbuf + tc->rlen, sizeof(tc->rbuf) - tc->rlen, 0);
        if (r > 0) {
            tc->rlen += (unsigned)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            tc->t_rd = false;
        else
            tc->pre_done = true; /* EOF or error: wolfSSL's next read meets it too */
        break;
    }
    bool eof = tc->pre_done;
    if (tc->rlen > 0 && tc->rbuf[0] != 0x16) {
        int h = looks_like_http(tc->rbuf, tc->rlen);
        if (h > 0) {
            tc->pre_done = tc->plain_http = true;
            return true;
        }
        if (h < 0 && !eof)
            return false;
    }
    if (eof)
        return true;
    if (tc->rlen < 5)
        return false;
    size_t need = 5 + ((size_t)tc->rbuf[3] << 8 | tc->rbuf[4]);
    if (tc->rbuf[0] == 0x16 && need <= sizeof(tc->rbuf) && tc->rlen < need)
        return false;
    tc->pre_done = true;
    if (tc->rbuf[0] != 0x16 || need > sizeof(tc->rbuf))
        return true;
    unsigned char sni[256];
    unsigned int sz = sizeof(sni) - 1;
    if (wolfSSL_SNI_GetFromBuffer(tc->rbuf, tc->rlen, WOLFSSL_SNI_HOST_NAME, sni, &sz) !=
            WOLFSSL_SUCCESS ||
        sz >= sizeof(sni))
        sz = 0;
    sni[sz] = 0;
    for (unsigned i = 0; i < sz; i++)
        if (sni[i] >= 'A' && sni[i] <= 'Z')
            sni[i] = (unsigned char)(sni[i] - 'A' + 'a');
    /* the ticket callback binds tickets to this name (it runs before the SNI one) */
    memcpy(tc->sni, sni, sz + 1);
    const eng_tls_pol *p = eng_tls_pol_match(tc->cfg, (const char *)sni);
    if (!p)
        return true; /* the SNI callback refuses it */
    tc->pol = p;
    (void)wolfSSL_set_min_proto_version(tc->ssl, p->vmin);
    (void)wolfSSL_set_max_proto_version(tc->ssl, p->vmax);
    eng_tls_apply_policy(tc->ssl, p, true);
    return true;
}

static bool step_handshake(eng_tls_conn *tc)
{
    if (!prehello(tc))
        return false;
    if (tc->plain_http) {
        answer_plain_http(tc);
        return true;
    }
    int r = wolfSSL_accept(tc->ssl);
    if (r == WOLFSSL_SUCCESS) {
        if (!handshake_done(tc))
            kill_conn(tc);
        return true;
    }
    int e = wolfSSL_get_error(tc->ssl, r);
    if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
        return false;
    char buf[96];
    log_hs_error(tc, tc->why ? tc->why : wolfSSL_ERR_error_string((unsigned long)e, buf));
    kill_conn(tc);
    return true;
}

/* Client to MHD: decrypt one record when the buffer is free, then pass it on. */
static bool step_in(eng_tls_conn *tc)
{
    bool progress = false;
    if (!tc->t_eof && tc->dlen == 0) {
        int n = wolfSSL_read(tc->ssl, tc->dbuf, sizeof(tc->dbuf));
        if (n > 0) {
            tc->doff = 0;
            tc->dlen = (unsigned)n;
            progress = true;
        } else {
            int e = wolfSSL_get_error(tc->ssl, n);
            if (e != WOLFSSL_ERROR_WANT_READ && e != WOLFSSL_ERROR_WANT_WRITE) {
                /* close_notify, EOF or a broken record: nothing more comes */
                tc->t_eof = true;
                progress = true;
                if (e != WOLFSSL_ERROR_ZERO_RETURN && e != SOCKET_PEER_CLOSED_E &&
                    e != WOLFSSL_ERROR_SYSCALL) {
                    /* a reset or a bad record: MHD must let go at once (P9) */
                    kill_conn(tc);
                    return true;
                }
            }
        }
    }
    if (tc->dlen > tc->doff) {
        ssize_t w = send(tc->pfd, tc->dbuf + tc->doff, tc->dlen - tc->doff, MSG_NOSIGNAL);
        if (w > 0) {
            tc->doff += (unsigned)w;
            if (tc->doff == tc->dlen)
                tc->doff = tc->dlen = 0;
            progress = true;
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            /* MHD closed the pair under us: whatever it sent is already out */
            start_linger(tc);
            return true;
        }
    }
    if (tc->t_eof && tc->dlen == 0 && !tc->p_wshut) {
        /* the client is done sending; a suspended request sees the EOF on the pair */
        (void)shutdown(tc->pfd, SHUT_WR);
        tc->p_wshut = true;
        progress = true;
    }
    return progress;
}

/* MHD to client: encrypt what MHD wrote, retrying a blocked write with the same
 * buffer as wolfSSL requires. */
static bool step_out(eng_tls_conn *tc)
{
    bool progress = false;
    if (tc->e_pending) {
        if (!tc->t_wr)
            return false;
        int r = wolfSSL_write(tc->ssl, tc->ebuf, (int)tc->elen);
        if (r > 0) {
            tc->e_pending = false;
            tc->elen = 0;
            progress = true;
        } else {
            int e = wolfSSL_get_error(tc->ssl, r);
            if (e == WOLFSSL_ERROR_WANT_WRITE || e == WOLFSSL_ERROR_WANT_READ)
                return false;
            kill_conn(tc);
            return true;
        }
    }
    if (tc->e_pending || !tc->p_rd)
        return progress;
    ssize_t n = recv(tc->pfd, tc->ebuf, sizeof(tc->ebuf), 0);
    if (n > 0) {
        if ((size_t)n < sizeof(tc->ebuf))
            tc->p_rd = false;
        tc->elen = (unsigned)n;
        tc->e_pending = true;
        return true;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        /* MHD closed the connection */
        start_linger(tc);
        return true;
    }
    tc->p_rd = false;
    return progress;
}

static void step_linger(eng_tls_conn *tc)
{
    if (tc->olen > tc->ooff && tc->t_wr && !eng_tls_flush(tc) && tc->broken) {
        kill_conn(tc);
        return;
    }
    if (tc->sd_pending && tc->t_wr && tc->olen == tc->ooff) {
        int r = wolfSSL_shutdown(tc->ssl);
        if (r == WOLFSSL_SUCCESS || r == WOLFSSL_SHUTDOWN_NOT_DONE ||
            wolfSSL_get_error(tc->ssl, r) != WOLFSSL_ERROR_WANT_WRITE) {
            tc->sd_pending = false;
            (void)shutdown(tc->fd, SHUT_WR);
        }
    }
    while (tc->t_rd) {
        char sink[4096];
        ssize_t r = recv(tc->fd, sink, sizeof(sink), 0);
        if (r > 0)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            tc->t_rd = false;
            break;
        }
        if (r < 0 && errno == EINTR)
            continue;
        kill_conn(tc); /* EOF or error: the client is gone */
        return;
    }
}

static void pump(eng_tls_conn *tc)
{
    for (int guard = 0; guard < 256; guard++) {
        bool progress = false;
        switch (tc->state) {
        case TC_HS:
            progress = step_handshake(tc);
            break;
        case TC_OPEN:
            /* ciphertext queued while MHD served the socket (the 101 of an upgrade) */
            if (tc->olen > tc->ooff && tc->t_wr && !eng_tls_flush(tc) && tc->broken) {
                kill_conn(tc);
                return;
            }
            progress = step_in(tc);
            if (tc->state == TC_OPEN)
                progress |= step_out(tc);
            break;
        case TC_LINGER:
            step_linger(tc);
            break;
        case TC_DIRECT:
            direct_pushed(tc);
            return;
        case TC_DEAD:
            return;
        }
        if (!progress || tc->state == TC_DEAD)
            break;
    }
    if (tc->state != TC_DEAD)
        update_watch(tc);
}

static void update_watch(eng_tls_conn *tc)
{
    unsigned t = 0, p = 0;
    switch (tc->state) {
    case TC_HS:
        t = tc->t_wr ? CC_LOOP_IN : CC_LOOP_OUT;
        break;
    case TC_OPEN:
        if (!tc->t_eof && tc->dlen == 0)
            t |= CC_LOOP_IN;
        if (!tc->t_wr || tc->olen > tc->ooff)
            t |= CC_LOOP_OUT;
        if (!tc->e_pending)
            p |= CC_LOOP_IN;
        if (tc->dlen > tc->doff)
            p |= CC_LOOP_OUT;
        break;
    case TC_LINGER:
        t = CC_LOOP_IN | (tc->sd_pending || tc->olen > tc->ooff ? CC_LOOP_OUT : 0);
        break;
    default:
        return;
    }
    if (cc_loop_io_mod(tc->io, t) != 0 || (tc->pio && cc_loop_io_mod(tc->pio, p) != 0))
        kill_conn(tc);
}

/* ---- loop callbacks ---- */

static void on_tcp(cc_loop_io *io, int fd, unsigned ev, void *ctx)
{
    (void)io;
    (void)fd;
    eng_tls_conn *tc = ctx;
    tc->in_cb = true;
    if (ev & (CC_LOOP_IN | CC_LOOP_ERR))
        tc->t_rd = true;
    if (ev & (CC_LOOP_OUT | CC_LOOP_ERR))
        tc->t_wr = true;
    pump(tc);
    tc->in_cb = false;
    if (tc->state == TC_DEAD)
        destroy(tc);
}

static void on_pair(cc_loop_io *io, int fd, unsigned ev, void *ctx)
{
    (void)io;
    (void)fd;
    eng_tls_conn *tc = ctx;
    tc->in_cb = true;
    if (ev & (CC_LOOP_IN | CC_LOOP_ERR))
        tc->p_rd = true;
    pump(tc);
    tc->in_cb = false;
    if (tc->state == TC_DEAD)
        destroy(tc);
}

static void on_timer(cc_loop_timer *t, void *ctx)
{
    (void)t;
    eng_tls_conn *tc = ctx;
    if (tc->state == TC_HS)
        log_hs_error(tc, "handshake deadline passed");
    tc->in_cb = true;
    kill_conn(tc);
    tc->in_cb = false;
    destroy(tc);
}

/* ---- accept ---- */

void eng_tls_accepted(eng_tls_wl *tl, int fd)
{
    eng_tls_conn *tc = malloc(sizeof(*tc));
    if (!tc) {
        close(fd);
        return;
    }
    memset(tc, 0, offsetof(eng_tls_conn, rbuf));
    tc->tl = tl;
    tc->fd = fd;
    tc->pfd = tc->mfd = -1;
    tc->cfg = tl->cfg;
    eng_tls_cfg_ref(tc->cfg);
    tc->peerlen = sizeof(tc->peer);
    if (getpeername(fd, (struct sockaddr *)&tc->peer, &tc->peerlen) != 0)
        tc->peerlen = 0;
    struct sockaddr_storage ls;
    socklen_t ll = sizeof(ls);
    if (getsockname(fd, (struct sockaddr *)&ls, &ll) == 0) {
        if (ls.ss_family == AF_INET) {
            const struct sockaddr_in *s = (const struct sockaddr_in *)&ls;
            inet_ntop(AF_INET, &s->sin_addr, tc->lip, sizeof(tc->lip));
            tc->lport = ntohs(s->sin_port);
        } else if (ls.ss_family == AF_INET6) {
            const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&ls;
            if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr))
                inet_ntop(AF_INET, &s->sin6_addr.s6_addr[12], tc->lip, sizeof(tc->lip));
            else
                inet_ntop(AF_INET6, &s->sin6_addr, tc->lip, sizeof(tc->lip));
            tc->lport = ntohs(s->sin6_port);
        }
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    tc->next = tl->conns;
    if (tl->conns)
        tl->conns->prev = tc;
    tl->conns = tc;
    tl->nconns++;
    tc->ssl = wolfSSL_new(tc->cfg->base);
    tc->timer = cc_loop_timer_new(tl->loop, on_timer, tc);
    tc->io = cc_loop_io_add(tl->loop, fd, CC_LOOP_IN, on_tcp, tc);
    if (!tc->ssl || !tc->timer || !tc->io) {
        destroy(tc);
        return;
    }
    wolfSSL_SSLSetIORecv(tc->ssl, tls_recv);
    wolfSSL_SSLSetIOSend(tc->ssl, tls_send);
    wolfSSL_SetIOReadCtx(tc->ssl, tc);
    wolfSSL_SetIOWriteCtx(tc->ssl, tc);
    wolfSSL_set_app_data(tc->ssl, tc);
    if (tc->cfg->hs_timeout > 0)
        cc_loop_timer_start(tc->timer, (uint64_t)tc->cfg->hs_timeout);
    /* the ClientHello often arrives with the connection: try at once */
    tc->t_rd = tc->t_wr = true;
    tc->in_cb = true;
    pump(tc);
    tc->in_cb = false;
    if (tc->state == TC_DEAD)
        destroy(tc);
}

void eng_tls_conn_destroy(eng_tls_conn *tc)
{
    kill_conn(tc);
}

void eng_tls_conn_close_all(eng_tls_wl *tl)
{
    while (tl->conns)
        destroy(tl->conns);
}
