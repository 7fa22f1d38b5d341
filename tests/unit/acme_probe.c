/* SPDX-License-Identifier: Apache-2.0
 * Test driver of the ACME client (tests/integration/acme_client.sh): runs cc_acme_obtain
 * against a CA (Pebble) while answering the challenges itself, from the challenge table
 * the client publishes to: http-01 on --http-port (a minimal HTTP/1.1 responder using
 * cc_challenge_http01) and tls-alpn-01 on --tls-port (a wolfSSL server that reads the
 * SNI from the ClientHello, serves cc_challenge_alpn01's certificate and negotiates
 * acme-tls/1). Prints "result: ok" or "error: <line>", and how many challenges it
 * served. --ari asks cc_acme_renewal_info for --cert instead. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../certmagic/acme.h"
#include "../../certmagic/acme_challenge.h"
#include "../../certmagic/certmagic.h"
#include "../../certmagic/crypto.h"
#include "../../core/log.h"
#include "../../core/storage.h"
#include "../../storage/sqlite.h"

static atomic_bool stop_servers, cancel_flag;
static atomic_int served_http, served_alpn;
static long cancel_after_ms;

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 64) != 0) {
        fprintf(stderr, "acme_probe: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* accept() that gives up when the servers stop. */
static int accept_wait(int lfd)
{
    while (!atomic_load(&stop_servers)) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0) {
            int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0) {
                struct timeval tv = {5, 0};
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
                setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
                return c;
            }
        }
    }
    return -1;
}

static void http_one(int c)
{
    char buf[8192];
    size_t n = 0;
    while (n < sizeof(buf) - 1) {
        ssize_t r = recv(c, buf + n, sizeof(buf) - 1 - n, 0);
        if (r <= 0)
            return;
        n += (size_t)r;
        buf[n] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    char path[2048] = "", host[512] = "";
    if (sscanf(buf, "GET %2047s HTTP/1.1", path) != 1)
        return;
    for (char *h = strstr(buf, "\r\n"); h; h = strstr(h + 2, "\r\n")) {
        if (!strncasecmp(h + 2, "Host:", 5)) {
            sscanf(h + 7, " %511[^\r\n]", host);
            break;
        }
    }
    char *colon = strrchr(host, ':'); /* the port: pebble sends app.test:5002 */
    if (colon && !strchr(colon, ']'))
        *colon = '\0';
    static const char pfx[] = "/.well-known/acme-challenge/";
    char *ka = NULL;
    if (!strncmp(path, pfx, sizeof(pfx) - 1))
        ka = cc_challenge_http01(host, path + sizeof(pfx) - 1);
    char resp[4096];
    int len;
    if (ka) {
        len = snprintf(resp, sizeof(resp),
                       "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                       "Connection: close\r\n\r\n%s",
                       strlen(ka), ka);
        atomic_fetch_add(&served_http, 1);
    } else {
        len = snprintf(resp, sizeof(resp),
                       "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    send(c, resp, (size_t)len, MSG_NOSIGNAL);
    free(ka);
}

static void *http_server(void *arg)
{
    int lfd = *(int *)arg, c;
    while ((c = accept_wait(lfd)) >= 0) {
        http_one(c);
        close(c);
    }
    return NULL;
}

static void alpn_one(int c)
{
    unsigned char hello[16384 + 5];
    ssize_t n = 0;
    for (int i = 0; i < 50; i++) { /* wait for the whole first record */
        n = recv(c, hello, sizeof(hello), MSG_PEEK);
        if (n <= 0)
            return;
        if (n >= 5 && n >= 5 + (hello[3] << 8 | hello[4]))
            break;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    char sni[256];
    unsigned int sl = sizeof(sni) - 1;
    if (wolfSSL_SNI_GetFromBuffer(hello, (word32)n, WOLFSSL_SNI_HOST_NAME, (byte *)sni, &sl) !=
        WOLFSSL_SUCCESS)
        return;
    sni[sl] = '\0';
    cc_cert *cert = cc_challenge_alpn01(sni);
    if (!cert) {
        fprintf(stderr, "acme_probe: no tls-alpn-01 certificate for SNI %s\n", sni);
        return;
    }
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
    WOLFSSL *ssl = NULL;
    if (ctx &&
        wolfSSL_CTX_use_certificate_chain_buffer_format(ctx, (const unsigned char *)cert->chain_pem,
                                                        (long)cert->chain_len,
                                                        WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS &&
        wolfSSL_CTX_use_PrivateKey_buffer(ctx, (const unsigned char *)cert->key_pem,
                                          (long)cert->key_len,
                                          WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS &&
        (ssl = wolfSSL_new(ctx))) {
        wolfSSL_set_fd(ssl, c);
        char proto[] = "acme-tls/1";
        wolfSSL_UseALPN(ssl, proto, sizeof(proto) - 1, WOLFSSL_ALPN_FAILED_ON_MISMATCH);
        if (wolfSSL_accept(ssl) == WOLFSSL_SUCCESS) {
            char *p = NULL;
            word16 pl = 0;
            if (wolfSSL_ALPN_GetProtocol(ssl, &p, &pl) == WOLFSSL_SUCCESS && pl == 10 &&
                !memcmp(p, "acme-tls/1", 10))
                atomic_fetch_add(&served_alpn, 1);
            wolfSSL_shutdown(ssl);
        }
    }
    wolfSSL_free(ssl);
    wolfSSL_CTX_free(ctx);
    cc_cert_unref(cert);
}

static void *alpn_server(void *arg)
{
    int lfd = *(int *)arg, c;
    while ((c = accept_wait(lfd)) >= 0) {
        alpn_one(c);
        close(c);
    }
    cc_crypto_thread_done(); /* wolfSSL's per-thread ECC cache (FP_ECC) */
    return NULL;
}

static void *canceller(void *arg)
{
    (void)arg;
    struct timespec ts = {cancel_after_ms / 1000, (cancel_after_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(&cancel_flag, true);
    return NULL;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            b = realloc(b, cap + 1);
        }
        size_t r = fread(b + n, 1, 4096, f);
        n += r;
        if (r < 4096)
            break;
    }
    fclose(f);
    b[n] = '\0';
    return b;
}

static int write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fputs(s, f);
    return fclose(f);
}

int main(int argc, char **argv)
{
    cc_acme_cfg cfg = {0};
    const char *storage = NULL, *chain_out = NULL, *key_out = NULL, *cert_in = NULL;
    int http_port = 0, tls_port = 0, blackhole = 0;
    bool serve = true, ari = false;
    const char *names[64];
    size_t nn = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (!strcmp(a, name) && v && (i++, 1))
        if (OPT("--dir"))
            cfg.directory = v;
        else if (OPT("--ca-root"))
            cfg.ca_root = v;
        else if (OPT("--email"))
            cfg.email = v;
        else if (OPT("--key-type"))
            cfg.key_type = v;
        else if (OPT("--eab-kid"))
            cfg.eab_key_id = v;
        else if (OPT("--eab-key"))
            cfg.eab_mac_key = v;
        else if (OPT("--storage"))
            storage = v;
        else if (OPT("--http-port"))
            http_port = atoi(v);
        else if (OPT("--tls-port"))
            tls_port = atoi(v);
        else if (OPT("--chain-out"))
            chain_out = v;
        else if (OPT("--key-out"))
            key_out = v;
        else if (OPT("--cert"))
            cert_in = v;
        else if (OPT("--cancel-after"))
            cancel_after_ms = atol(v);
        else if (OPT("--blackhole"))
            blackhole = atoi(v);
        else if (!strcmp(a, "--no-http01"))
            cfg.disable_http01 = true;
        else if (!strcmp(a, "--no-alpn01"))
            cfg.disable_tlsalpn01 = true;
        else if (!strcmp(a, "--no-serve"))
            serve = false;
        else if (!strcmp(a, "--ari"))
            ari = true;
        else if (!strcmp(a, "--debug"))
            cc_log_set_level(CC_LOG_DEBUG);
        else if (a[0] != '-' && nn < 64)
            names[nn++] = a;
        else {
            fprintf(stderr, "acme_probe: bad argument %s\n", a);
            return 64;
        }
#undef OPT
    }
    signal(SIGPIPE, SIG_IGN); /* wolfSSL writes to sockets the CA may have closed */
    wolfSSL_Init();
    cc_err err = {0};
    cc_storage *st = NULL;
    if (storage && !(st = cc_storage_sqlite_open(storage, &err))) {
        printf("error: %s\n", err.msg);
        return 2;
    }
    cfg.storage = st;
    cfg.cancel = &cancel_flag;

    int hfd = -1, tfd = -1, bfd = -1;
    pthread_t ht, tt, ct;
    bool hts = false, tts = false, cts = false;
    if (serve && http_port && (hfd = listen_on(http_port)) >= 0)
        hts = pthread_create(&ht, NULL, http_server, &hfd) == 0;
    if (serve && tls_port && (tfd = listen_on(tls_port)) >= 0)
        tts = pthread_create(&tt, NULL, alpn_server, &tfd) == 0;
    if (blackhole)
        bfd = listen_on(blackhole); /* connects complete, nothing ever answers */
    if (cancel_after_ms > 0)
        cts = pthread_create(&ct, NULL, canceller, NULL) == 0;

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc;
    char *chain = NULL, *key = NULL;
    if (ari) {
        char *pem = cert_in ? read_file(cert_in) : NULL;
        long long start = 0;
        rc = cc_acme_renewal_info(&cfg, pem, &start, &err);
        if (rc == CC_OK)
            printf("ari_start: %lld\n", start);
        free(pem);
    } else {
        rc = cc_acme_obtain(&cfg, names, nn, &chain, &key, &err);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    atomic_store(&stop_servers, true);
    if (hts)
        pthread_join(ht, NULL);
    if (tts)
        pthread_join(tt, NULL);
    if (cts)
        pthread_join(ct, NULL);
    if (hfd >= 0)
        close(hfd);
    if (tfd >= 0)
        close(tfd);
    if (bfd >= 0)
        close(bfd);
    if (rc == CC_OK) {
        printf("result: ok\n");
        if (chain && chain_out && write_file(chain_out, chain) != 0)
            printf("error: cannot write %s\n", chain_out);
        if (key && key_out && write_file(key_out, key) != 0)
            printf("error: cannot write %s\n", key_out);
    } else {
        printf("error: %s\n", err.msg);
    }
    printf("served http-01: %d\nserved tls-alpn-01: %d\npending challenges: %zu\n",
           atomic_load(&served_http), atomic_load(&served_alpn), cc_challenge_count());
    printf("elapsed_ms: %ld\n",
           (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    free(chain);
    free(key);
    if (st)
        st->ops->close(st);
    wolfSSL_Cleanup();
    return rc == CC_OK ? 0 : 2;
}
