/* SPDX-License-Identifier: Apache-2.0
 * TLS without the socketpair hop: after the handshake MHD serves the client's TCP
 * socket itself, and the socket calls MHD makes on it (recv, send, sendmsg, sendfile64,
 * shutdown; `nm -D libmicrohttpd.so` lists them) land in the executable's definitions
 * below (ELF interposition, as rawscan_recv.c does for recv), which decrypt and encrypt
 * through the connection's wolfSSL object. A table from fd to connection, set from
 * the handshake to MHD's NOTIFY_CONNECTION CLOSED (which comes before MHD closes the
 * fd), picks the sockets concerned; every other call passes straight to the kernel.
 * The hop cost two socket round trips and two loop wake-ups per request: about 30% of
 * HTTPS keep-alive throughput (engine-notes.md 3.2).
 *
 * MHD's view of readiness must stay true: it waits for an epoll edge after a short
 * read or write. So recv returns short only when wolfSSL has nothing left and the
 * socket gave EAGAIN (an edge will come with new bytes), and send returns short only
 * when the socket itself is full. Records never half-written: the wolfSSL send
 * callback queues what the socket refuses (at most about one record per send call, as
 * each call stops at the first refusal) and the queue goes first on the next call, or
 * from the loop when MHD has nothing more to send. MHD's graceful shutdown(SHUT_WR) is
 * held back: at CLOSED the connection takes a duplicate of the fd and closes it in
 * order (queue, close_notify, FIN, lingering read) in tls_conn.c. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"
#include "mapsend.h"
#include "rawscan.h"
#include "tls_conn.h"

/* file bytes read per step of a sendfile call */
#define FILE_STEP ((size_t)4 * ENG_TLS_PBUF)

static _Atomic(eng_tls_conn *) *table;
static size_t table_n;
static bool direct_ok;

int eng_tls_direct_init(void)
{
    if (table)
        return CC_OK;
    /* as many slots as the scanner's table (sized from RLIMIT_NOFILE), set up first */
    size_t n = cc_rawscan_table_len();
    table = n ? calloc(n, sizeof(*table)) : NULL;
    if (!table)
        return CC_ERR;
    table_n = n;
    /* only when every call MHD makes on a socket lands here may MHD hold a TLS socket:
     * one that did not would put plaintext on the wire */
    direct_ok = dlsym(RTLD_DEFAULT, "recv") == (void *)&recv &&
                dlsym(RTLD_DEFAULT, "send") == (void *)&send &&
                dlsym(RTLD_DEFAULT, "sendmsg") == (void *)&sendmsg &&
                dlsym(RTLD_DEFAULT, "sendfile64") == (void *)&sendfile64 &&
                dlsym(RTLD_DEFAULT, "shutdown") == (void *)&shutdown && !getenv("CADDYC_TLS_PAIR");
    return CC_OK;
}

bool eng_tls_direct_enabled(void)
{
    return direct_ok;
}

bool eng_tls_direct_attach(int fd, eng_tls_conn *tc)
{
    if (!table || fd < 0 || (size_t)fd >= table_n)
        return false;
    atomic_store_explicit(&table[fd], tc, memory_order_release);
    return true;
}

eng_tls_conn *eng_tls_direct_get(int fd)
{
    if (!table || fd < 0 || (size_t)fd >= table_n)
        return NULL;
    return atomic_load_explicit(&table[fd], memory_order_acquire);
}

/* ---- the queue of ciphertext the socket refused ---- */

ssize_t eng_tls_raw_send(int fd, const void *buf, size_t len)
{
    return sendto(fd, buf, len, MSG_NOSIGNAL, NULL, 0);
}

bool eng_tls_queue(eng_tls_conn *tc, const void *p, size_t n)
{
    if (tc->olen + n > tc->ocap) {
        size_t cap = tc->ocap ? tc->ocap : 4096;
        while (cap < tc->olen + n)
            cap *= 2;
        unsigned char *nb = realloc(tc->obuf, cap);
        if (!nb)
            return false;
        tc->obuf = nb;
        tc->ocap = cap;
    }
    memcpy(tc->obuf + tc->olen, p, n);
    tc->olen += n;
    return true;
}

bool eng_tls_flush(eng_tls_conn *tc)
{
    while (tc->olen > tc->ooff) {
        ssize_t r = eng_tls_raw_send(tc->fd, tc->obuf + tc->ooff, tc->olen - tc->ooff);
        if (r > 0) {
            tc->ooff += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            tc->t_wr = false;
            return false;
        }
        tc->broken = true;
        return false;
    }
    tc->ooff = tc->olen = 0;
    return true;
}

/* ---- what MHD's calls become ---- */

static ssize_t fail(int e)
{
    errno = e;
    return -1;
}

static ssize_t direct_recv(eng_tls_conn *tc, void *buf, size_t len)
{
    if (tc->broken)
        return fail(ECONNRESET);
    if (tc->d_eof)
        return 0;
    tc->t_rd = true; /* MHD asks because epoll said so (or to try) */
    size_t got = 0;
    while (got < len) {
        size_t want = len - got;
        int n = wolfSSL_read(tc->ssl, (char *)buf + got, want > INT32_MAX ? INT32_MAX : (int)want);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        int e = wolfSSL_get_error(tc->ssl, n);
        if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
            break;
        if (e == WOLFSSL_ERROR_ZERO_RETURN || e == SOCKET_PEER_CLOSED_E ||
            e == WOLFSSL_ERROR_SYSCALL)
            tc->d_eof = true; /* close_notify or EOF: what was read still counts */
        else
            tc->broken = true; /* a bad record or a reset */
        break;
    }
    if (tc->olen > tc->ooff)
        eng_tls_direct_want_flush(tc); /* wolfSSL answered something (a KeyUpdate) */
    if (got > 0)
        return (ssize_t)got;
    if (tc->broken)
        return fail(ECONNRESET);
    if (tc->d_eof)
        return 0;
    return fail(EAGAIN);
}

/* Encrypts up to len bytes of buf: all of them unless the socket fills up. */
static ssize_t direct_send(eng_tls_conn *tc, const void *buf, size_t len)
{
    if (tc->broken)
        return fail(EPIPE);
    tc->t_wr = true;
    if (!eng_tls_flush(tc))
        return tc->broken ? fail(EPIPE) : fail(EAGAIN);
    size_t done = 0;
    while (done < len) {
        size_t n = len - done;
        if (n > ENG_TLS_PBUF)
            n = ENG_TLS_PBUF;
        int r = wolfSSL_write(tc->ssl, (const char *)buf + done, (int)n);
        if (r <= 0) {
            tc->broken = true;
            break;
        }
        done += (size_t)r;
        if (tc->olen > tc->ooff)
            break; /* the socket is full: MHD waits for its edge */
    }
    if (tc->olen > tc->ooff)
        eng_tls_direct_want_flush(tc);
    if (done > 0)
        return (ssize_t)done;
    return fail(tc->broken ? EPIPE : EAGAIN);
}

/* One piece of a sendmsg through direct_send: adds what went out to *total and sets *ret
 * to what the call returns if it stops here; false when it must stop (short or failed). */
static bool send_piece(eng_tls_conn *tc, const void *p, size_t n, size_t *total, ssize_t *ret)
{
    ssize_t r = direct_send(tc, p, n);
    if (r < 0) {
        *ret = *total ? (ssize_t)*total : r;
        return false;
    }
    *total += (size_t)r;
    *ret = (ssize_t)*total;
    return (size_t)r == n;
}

/* Like direct_send over the pieces in order: short only when the socket filled up
 * (MHD reads any short count as a full socket and waits for its edge). */
static ssize_t direct_sendmsg(eng_tls_conn *tc, const struct msghdr *msg)
{
    /* small pieces (a head and a short body) become one record */
    unsigned char stage[ENG_TLS_PBUF];
    size_t staged = 0, total = 0;
    ssize_t ret = 0;
    for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++) {
        const unsigned char *p = msg->msg_iov[i].iov_base;
        size_t n = msg->msg_iov[i].iov_len;
        if (staged + n <= sizeof(stage)) {
            memcpy(stage + staged, p, n);
            staged += n;
            continue;
        }
        if (staged && !send_piece(tc, stage, staged, &total, &ret))
            return ret;
        staged = 0;
        if (!send_piece(tc, p, n, &total, &ret))
            return ret;
    }
    if (staged)
        send_piece(tc, stage, staged, &total, &ret);
    else
        ret = (ssize_t)total;
    return ret;
}

/* pread and encrypt in steps; short only when the socket filled up or the file ended
 * early (which MHD also reads as a full socket: the engine's file watch then ends the
 * response, filebody.c) */
static ssize_t direct_sendfile(eng_tls_conn *tc, int in_fd, off64_t *offset, size_t count)
{
    unsigned char *buf = malloc(FILE_STEP);
    if (!buf)
        return fail(ENOMEM);
    off64_t pos = offset ? *offset : lseek(in_fd, 0, SEEK_CUR);
    size_t done = 0;
    ssize_t err = 0;
    int e = 0;
    while (done < count) {
        size_t want = count - done < FILE_STEP ? count - done : FILE_STEP;
        ssize_t n;
        do
            n = pread(in_fd, buf, want, pos + (off64_t)done);
        while (n < 0 && errno == EINTR);
        if (n <= 0) {
            err = n;
            e = errno;
            break;
        }
        ssize_t r = direct_send(tc, buf, (size_t)n);
        if (r < 0) {
            err = r;
            e = errno;
            break;
        }
        done += (size_t)r;
        if ((size_t)r < (size_t)n || tc->olen > tc->ooff)
            break;
    }
    free(buf);
    if (done > 0) {
        if (offset)
            *offset = pos + (off64_t)done;
        else
            (void)lseek(in_fd, pos + (off64_t)done, SEEK_SET);
        return (ssize_t)done;
    }
    errno = e;
    return err;
}

int eng_tls_direct_peek(int fd)
{
    eng_tls_conn *tc = eng_tls_direct_get(fd);
    if (!tc)
        return -1;
    if (tc->broken || tc->d_eof)
        return 0;
    /* raw bytes may be only the client's close_notify: look at the plaintext */
    char b;
    tc->t_rd = true;
    int n = wolfSSL_peek(tc->ssl, &b, 1);
    return n > 0 ? 1 : 0;
}

/* ---- the interposers ---- */

ssize_t eng_tls_direct_recv_fd(int fd, void *buf, size_t len, bool *mine)
{
    eng_tls_conn *tc = eng_tls_direct_get(fd);
    *mine = tc != NULL;
    return tc ? direct_recv(tc, buf, len) : 0;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    eng_tls_conn *tc = eng_tls_direct_get(fd);
    if (tc)
        return direct_send(tc, buf, len);
    bool mine;
    ssize_t r = eng_mapsend_buf(fd, buf, len, &mine);
    if (mine)
        return r;
    return sendto(fd, buf, len, flags, NULL, 0);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    eng_tls_conn *tc = eng_tls_direct_get(fd);
    if (tc)
        return direct_sendmsg(tc, msg);
    bool mine;
    ssize_t r = eng_mapsend_msg(fd, msg, flags, &mine);
    if (mine)
        return r;
    return syscall(SYS_sendmsg, fd, msg, flags);
}

ssize_t sendfile64(int out_fd, int in_fd, off64_t *offset, size_t count)
{
    eng_tls_conn *tc = eng_tls_direct_get(out_fd);
    if (tc)
        return direct_sendfile(tc, in_fd, offset, count);
    return syscall(SYS_sendfile, out_fd, in_fd, offset, count);
}

int shutdown(int fd, int how)
{
    eng_tls_conn *tc = eng_tls_direct_get(fd);
    /* MHD's orderly close (SHUT_WR) waits for close_notify at CLOSED; a hard stop
     * (a deadline's SHUT_RDWR) goes through at once */
    if (tc && how == SHUT_WR)
        return 0;
    return (int)syscall(SYS_shutdown, fd, how);
}
