/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for engine/mapsend.c: bytes that lie in a registered file mapping leave
 * by sendfile from the file. The mappings here are PROT_NONE, so a send that copied
 * from memory instead would fail with EFAULT: a passing byte comparison proves the
 * file path was taken. Runs over a real loopback TCP connection with a reader thread. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "engine/mapsend.h"
#include "tests/t.h"
#include "tests/unit/net.h"

#define FILE_LEN ((size_t)3 << 20)

static unsigned char *want; /* the file's bytes */
static char path[] = "/tmp/cc-mapsend-XXXXXX";

typedef struct reader {
    int fd;
    size_t n; /* bytes to read */
    unsigned char *got;
    size_t have;
} reader;

static void *read_all(void *arg)
{
    reader *r = arg;
    while (r->have < r->n) {
        ssize_t n = recv(r->fd, r->got + r->have, r->n - r->have, 0);
        if (n <= 0)
            break;
        r->have += (size_t)n;
    }
    return NULL;
}

/* A connected pair on 127.0.0.1: *tx non-blocking (as MHD's sockets are), *rx blocking. */
static int pair(int *tx, int *rx)
{
    int port;
    int lfd = t_listen(&port);
    if (lfd < 0)
        return -1;
    *rx = t_dial(port);
    *tx = accept(lfd, NULL, NULL);
    close(lfd);
    if (*rx < 0 || *tx < 0)
        return -1;
    fcntl(*tx, F_SETFL, fcntl(*tx, F_GETFL) | O_NONBLOCK);
    return 0;
}

/* Sends head + body the way MHD does: one sendmsg, then send for what is left after a
 * short count, waiting for POLLOUT in between. Returns bytes sent, or -1 (errno). */
static ssize_t mhd_like_send(int tx, const char *head, const char *body, size_t blen)
{
    struct iovec iov[2] = {{(void *)head, strlen(head)}, {(void *)body, blen}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    size_t hlen = strlen(head), done = 0;
    bool mine;
    ssize_t n = eng_mapsend_msg(tx, &msg, MSG_NOSIGNAL, &mine);
    if (!mine) {
        errno = ENOENT;
        return -1;
    }
    for (;;) {
        if (n < 0 && errno != EAGAIN)
            return -1;
        if (n > 0)
            done += (size_t)n;
        if (done >= hlen + blen)
            return (ssize_t)done;
        struct pollfd p = {tx, POLLOUT, 0};
        if (poll(&p, 1, 5000) != 1)
            return -1;
        if (done < hlen) {
            n = send(tx, head + done, hlen - done, MSG_NOSIGNAL);
            continue;
        }
        n = eng_mapsend_buf(tx, body + (done - hlen), hlen + blen - done, &mine);
        if (!mine) {
            errno = ENOENT;
            return -1;
        }
    }
}

static void test_send(int fd)
{
    /* a mapping from file offset 8192, sent from 100 bytes into it */
    size_t maplen = FILE_LEN - 8192;
    char *base = mmap(NULL, maplen, PROT_NONE, MAP_SHARED, fd, 8192);
    T_OK(base != MAP_FAILED, "mmap");
    T_OK(eng_mapsend_add(base, maplen, fd, 8192), "registered");

    int tx = -1, rx = -1;
    T_INT(pair(&tx, &rx), 0);
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 3145528\r\n\r\n";
    size_t blen = maplen - 100, hlen = strlen(head);
    reader r = {rx, hlen + blen, malloc(hlen + blen), 0};
    pthread_t th;
    pthread_create(&th, NULL, read_all, &r);
    ssize_t sent = mhd_like_send(tx, head, base + 100, blen);
    T_INT(sent, (long long)(hlen + blen));
    pthread_join(th, NULL);
    T_INT(r.have, (long long)(hlen + blen));
    T_OK(memcmp(r.got, head, hlen) == 0, "head first");
    T_OK(memcmp(r.got + hlen, want + 8192 + 100, blen) == 0, "body is the file's bytes");
    free(r.got);

    /* bytes outside every mapping, or running past the end of one, are not handled */
    static char plain[64 << 10];
    bool mine = true;
    T_INT(eng_mapsend_buf(tx, plain, sizeof(plain), &mine), 0);
    T_OK(!mine, "plain memory is left to the caller");
    T_INT(eng_mapsend_buf(tx, base + maplen - 4096, 8192, &mine), 0);
    T_OK(!mine, "a range past the mapping's end is left to the caller");

    /* a file cut short under the response ends it with EPIPE instead of a zero count */
    T_INT(ftruncate(fd, 65536), 0);
    errno = 0;
    ssize_t n = eng_mapsend_buf(tx, base + (1 << 20), 1 << 20, &mine);
    T_OK(mine && n == -1 && errno == EPIPE, "truncated file: -1/EPIPE (got %zd, errno %d)", n,
         errno);

    eng_mapsend_remove(base);
    T_INT(eng_mapsend_buf(tx, base, 1 << 20, &mine), 0);
    T_OK(!mine, "a removed mapping is left to the caller");
    munmap(base, maplen);
    close(tx);
    close(rx);
}

static void test_small(int fd)
{
    char *base = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    T_OK(!eng_mapsend_add(base, 4096, fd, 0), "a mapping below ENG_MAPSEND_MIN is sent as memory");
    munmap(base, 4096);
}

int main(void)
{
    int fd = mkstemp(path);
    T_OK(fd >= 0, "temp file");
    want = malloc(FILE_LEN);
    for (size_t i = 0; i < FILE_LEN; i++)
        want[i] = (unsigned char)(i * 2654435761u >> 13);
    T_INT(write(fd, want, FILE_LEN), (long long)FILE_LEN);
    test_small(fd);
    test_send(fd);
    close(fd);
    unlink(path);
    free(want);
    return t_done();
}
