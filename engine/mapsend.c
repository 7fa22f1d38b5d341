/* SPDX-License-Identifier: Apache-2.0
 * Mapped file bodies leave by sendfile. filebody.c hands MHD a large file as a read-only
 * mapping, so the head and the first body bytes go out in one call; sent as memory,
 * though, every body byte is copied by the kernel and every page is faulted into the
 * mapping and unmapped again: on the 1 MiB static bench that was about 40% of the
 * server's CPU. So the mapping is registered here with the file it maps, and the send
 * and sendmsg interposers (tls_direct.c) turn bytes that lie in a registered mapping
 * back into sendfile from the file: the head goes first with MSG_MORE, so it still
 * shares a packet with the body, and the mapping itself is never touched.
 *
 * MHD's readiness model holds: a call returns short only when the socket refused more
 * (sendfile gave EAGAIN, so an epoll edge will follow). A file that shrank under the
 * response ends it with EPIPE, as MHD's own sendfile path should but does not (a zero
 * count would make it wait for an edge that never comes). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mapsend.h"

typedef struct span {
    const char *base;
    size_t len;
    int fd;     /* a duplicate, so the body's own fd may close first */
    off_t foff; /* file offset of base */
} span;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static span *spans;
static size_t nspans, capspans;
static atomic_size_t live; /* nspans, read without the lock to skip the search */

bool eng_mapsend_add(const void *base, size_t len, int fd, off_t foff)
{
    if (len < ENG_MAPSEND_MIN)
        return false;
    int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dfd < 0)
        return false;
    pthread_mutex_lock(&lock);
    if (nspans == capspans) {
        size_t cap = capspans ? capspans * 2 : 16;
        span *n = realloc(spans, cap * sizeof(*n));
        if (!n) {
            pthread_mutex_unlock(&lock);
            close(dfd);
            return false;
        }
        spans = n;
        capspans = cap;
    }
    spans[nspans++] = (span){base, len, dfd, foff};
    atomic_store(&live, nspans);
    pthread_mutex_unlock(&lock);
    return true;
}

void eng_mapsend_remove(const void *base)
{
    int fd = -1;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nspans; i++)
        if (spans[i].base == base) {
            fd = spans[i].fd;
            spans[i] = spans[--nspans];
            break;
        }
    atomic_store(&live, nspans);
    pthread_mutex_unlock(&lock);
    if (fd >= 0)
        close(fd);
}

/* The file and offset behind [p, p+len), or false when it is not in one mapping. */
static bool find(const void *p, size_t len, int *fd, off_t *off)
{
    const char *c = p;
    bool found = false;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nspans; i++) {
        const span *s = &spans[i];
        if (c >= s->base && c < s->base + s->len && len <= (size_t)(s->base + s->len - c)) {
            /* only the connection whose response holds the mapping sends from it, and
             * the span goes only when that response is destroyed, so the fd outlives
             * this call without a lock */
            *fd = s->fd;
            *off = s->foff + (off_t)(c - s->base);
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return found;
}

/* sendfile until done or the socket is full: returns the bytes sent, or -1 with errno
 * set when none were (EPIPE for a file that no longer has them). */
static ssize_t file_out(int sock, int fd, off_t off, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = syscall(SYS_sendfile, sock, fd, &off, len - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            errno = EPIPE; /* end of file before the end of the body: it was truncated */
            return -1;
        }
        if (errno == EAGAIN && done > 0)
            return (ssize_t)done;
        return -1;
    }
    return (ssize_t)done;
}

ssize_t eng_mapsend_msg(int sock, const struct msghdr *msg, int flags, bool *mine)
{
    *mine = false;
    if (atomic_load_explicit(&live, memory_order_relaxed) == 0 || msg->msg_iovlen == 0)
        return 0;
    /* MHD's shape: the head (and nothing, or more head) then the body, last */
    const struct iovec *last = &msg->msg_iov[msg->msg_iovlen - 1];
    if (last->iov_len < ENG_MAPSEND_MIN / 16)
        return 0;
    int fd;
    off_t off;
    if (!find(last->iov_base, last->iov_len, &fd, &off))
        return 0;
    *mine = true;
    size_t head = 0;
    for (size_t i = 0; i + 1 < msg->msg_iovlen; i++)
        head += msg->msg_iov[i].iov_len;
    ssize_t r = 0;
    if (head > 0) {
        struct msghdr h = *msg;
        h.msg_iovlen--;
        r = syscall(SYS_sendmsg, sock, &h, flags | MSG_MORE);
        if (r < 0 || (size_t)r < head)
            return r;
    }
    ssize_t b = file_out(sock, fd, off, last->iov_len);
    int e = errno;
    if (b < 0) {
        /* the head went: report it, and the error comes again on the next call */
        if (r > 0 && e == EAGAIN)
            return r;
        errno = e;
        return r > 0 && e != EPIPE ? r : -1;
    }
    return r + b;
}

ssize_t eng_mapsend_buf(int sock, const void *buf, size_t len, bool *mine)
{
    *mine = false;
    if (atomic_load_explicit(&live, memory_order_relaxed) == 0 || len < ENG_MAPSEND_MIN / 16)
        return 0;
    int fd;
    off_t off;
    if (!find(buf, len, &fd, &off))
        return 0;
    *mine = true;
    return file_out(sock, fd, off, len);
}
