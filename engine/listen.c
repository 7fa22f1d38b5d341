/* SPDX-License-Identifier: Apache-2.0
 * Listening sockets. Every worker opens its own SO_REUSEPORT socket per address, so the
 * kernel spreads connections across workers and a reload can open a new socket on an
 * address still being drained. Host "" binds like Go's ":port": a dual-stack IPv6
 * socket, or 0.0.0.0 when IPv6 is unavailable. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "tls_hooks.h"

static size_t pool_size(const cc_server *s)
{
    /* the pool holds the request head, header records and the read/write buffers, so it
     * gets room beyond max_header_bytes; the exact header limit is checked on arrival */
    if (!s || s->max_header_bytes <= 0)
        return ENG_POOL_DEFAULT;
    int64_t p = s->max_header_bytes + (16 << 10);
    if (p < (int64_t)ENG_POOL_DEFAULT)
        p = (int64_t)ENG_POOL_DEFAULT;
    if (p > (4 << 20) + (16 << 10))
        p = (4 << 20) + (16 << 10);
    return ((size_t)p + 7) & ~(size_t)7;
}

size_t eng_pool_for(const cc_server *s)
{
    /* a listener is identified by host, port and pool across reloads; the pool's low bit
     * (sizes are multiples of 8) marks a TLS listener, so an address that changes
     * between plain and TLS gets a new listener */
    return pool_size(s) | (s && s->tls ? ENG_POOL_TLS_BIT : 0);
}

static void addr_text(char *buf, size_t n, const char *host, int port)
{
    if (strchr(host, ':'))
        snprintf(buf, n, "[%s]:%d", host, port);
    else
        snprintf(buf, n, "%s:%d", host, port);
}

/* Go-style error text: lower-case strerror ("address already in use"). */
static const char *go_errstr(int e, char *buf, size_t n)
{
    snprintf(buf, n, "%s", strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *sl,
                   cc_err *err)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *sl = sizeof(*s4);
        return CC_OK;
    }
    char h[128];
    snprintf(h, sizeof(h), "%s", host);
    char *zone = strchr(h, '%');
    if (zone)
        *zone++ = 0;
    if (inet_pton(AF_INET6, h, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (zone)
            s6->sin6_scope_id = if_nametoindex(zone);
        *sl = sizeof(*s6);
        return CC_OK;
    }
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || !res)
        return cc_err_set(err, "listening on %s:%d: lookup %s: %s", host, port, host,
                          gai_strerror(rc));
    /* Go's Listen takes the IPv4 address of a name first */
    struct addrinfo *pick = res;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    *sl = pick->ai_addrlen;
    if (ss->ss_family == AF_INET)
        s4->sin_port = htons((uint16_t)port);
    else
        s6->sin6_port = htons((uint16_t)port);
    freeaddrinfo(res);
    return CC_OK;
}

int eng_listen_open(const char *host, int port, cc_err *err)
{
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    int fd = -1;
    bool dual = host[0] == 0;
    char at[160], eb[96];
    addr_text(at, sizeof(at), host, port);
    if (dual) {
        fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            memset(&ss, 0, sizeof(ss));
            s6->sin6_family = AF_INET6;
            s6->sin6_addr = in6addr_any;
            s6->sin6_port = htons((uint16_t)port);
            sl = sizeof(*s6);
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            memset(&ss, 0, sizeof(ss));
            s4->sin_family = AF_INET;
            s4->sin_addr.s_addr = htonl(INADDR_ANY);
            s4->sin_port = htons((uint16_t)port);
            sl = sizeof(*s4);
        }
    } else if (resolve(host, port, &ss, &sl, err) != CC_OK) {
        return -1;
    }
    if (fd < 0)
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        cc_err_set(err, "listening on %s: socket: %s", at, go_errstr(errno, eb, sizeof(eb)));
        return -1;
    }
    int one = 1, zero = 0;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        cc_err_set(err, "listening on %s: SO_REUSEPORT: %s", at, go_errstr(errno, eb, sizeof(eb)));
        close(fd);
        return -1;
    }
    if (ss.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual ? &zero : &one, sizeof(int));
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        cc_err_set(err, "listening on %s: listen tcp %s: bind: %s", at, at,
                   go_errstr(errno, eb, sizeof(eb)));
        close(fd);
        return -1;
    }
    if (listen(fd, 65535) != 0) {
        cc_err_set(err, "listening on %s: listen: %s", at, go_errstr(errno, eb, sizeof(eb)));
        close(fd);
        return -1;
    }
    return fd;
}
