/* SPDX-License-Identifier: Apache-2.0
 * The engine's reusable responses (engine/respcache.c), in-process on one worker and
 * driven with raw sockets: a recurring answer is built once and then reused (counted
 * by the engine's statistics), and reuse never changes what a client receives: one Date
 * header of the current second, per-request header values, HEAD, `close`, a handler's
 * own Date, a small file rewritten with new bytes, and a configuration swap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../core/handler.h"
#include "../../core/log.h"
#include "../../engine/internal.h"
#include "../t.h"
#include "engine_rt.h"
#include "net.h"

static char dir[64];
static int P;

static const char *conf(const char *hello)
{
    static char buf[2048];
    snprintf(buf, sizeof(buf),
             "{\n\tadmin off\n}\nhttp://127.0.0.1:%d {\n\tbind 127.0.0.1\n\troot * %s\n"
             "\trespond /hello \"%s\"\n"
             "\theader /id X-Id {http.request.uuid}\n\trespond /id \"id\"\n"
             "\trespond /close \"bye\" {\n\t\tclose\n\t}\n\trespond /bye \"bye\"\n"
             "\theader /dated Date \"Mon, 01 Jan 2001 00:00:00 GMT\"\n"
             "\trespond /dated \"dated\"\n\tfile_server /f/*\n"
             "\theader /v1 X-V 1\n\theader /v2 X-V 2\n\trespond /v* \"same\"\n}\n",
             P, dir, hello);
    return buf;
}

/* One response on a keep-alive connection: the head and a Content-Length body (none
 * for HEAD). *closed tells whether the server then closed the connection. */
static char resp[8192];
static bool closed;

static bool get1(int fd, const char *method, const char *path)
{
    char req[256];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method, path);
    t_send_all(fd, req, (size_t)n);
    size_t got = 0;
    long want = -1;
    closed = false;
    resp[0] = 0;
    while (got < sizeof(resp) - 1) {
        char *end = strstr(resp, "\r\n\r\n");
        if (end && want < 0) {
            const char *cl = strstr(resp, "Content-Length: ");
            long len = cl ? strtol(cl + 16, NULL, 10) : 0;
            want = (long)(end + 4 - resp) + (strcmp(method, "HEAD") == 0 ? 0 : len);
        }
        if (want >= 0 && (long)got >= want)
            break;
        ssize_t r = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
        if (r <= 0) {
            closed = true;
            break;
        }
        got += (size_t)r;
        resp[got] = 0;
    }
    if (want >= 0 && (long)got >= want) {
        /* a close right behind the answer: see it now */
        struct timeval tv = {0, 200000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        char c;
        if (strstr(resp, "Connection: close") && recv(fd, &c, 1, 0) == 0)
            closed = true;
        tv.tv_sec = 5;
        tv.tv_usec = 0;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    return want >= 0 && (long)got >= want;
}

static int count(const char *hay, const char *needle)
{
    int c = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        c++;
    return c;
}

static const char *body_of(const char *r)
{
    const char *e = strstr(r, "\r\n\r\n");
    return e ? e + 4 : "";
}

/* The Date header's value as a time, or -1. */
static time_t date_of(const char *r)
{
    const char *d = strstr(r, "\r\nDate: ");
    time_t t;
    char v[64];
    if (!d || sscanf(d + 8, "%63[^\r]", v) != 1 || !cc_http_parse_date(v, &t))
        return -1;
    return t;
}

/* Waits for the start of a new second, so that a few requests share one. */
static void second_start(void)
{
    time_t t0 = time(NULL);
    while (time(NULL) == t0)
        usleep(2000);
}

static void test_reuse(void)
{
    /* the first sight is not cached, the second builds the entry, the rest reuse it;
     * retried when the run straddles a second (the Date would differ) */
    for (int attempt = 0; attempt < 3; attempt++) {
        second_start();
        time_t t0 = time(NULL);
        unsigned long h0 = atomic_load(&eng_stat_rc_hits), b0 = atomic_load(&eng_stat_rc_builds);
        int fd = t_dial(P), good = 0;
        char first[sizeof(resp)] = "";
        for (int i = 0; i < 6; i++) {
            if (!get1(fd, "GET", "/hello"))
                break;
            if (i == 0)
                snprintf(first, sizeof(first), "%s", resp);
            good += strcmp(resp, first) == 0 && count(resp, "\r\nDate: ") == 1 &&
                    strcmp(body_of(resp), "hello, world") == 0;
        }
        close(fd);
        if (time(NULL) != t0)
            continue;
        T_INT(good, 6);
        T_OK(strncmp(first, "HTTP/1.1 200 OK\r\nDate: ", 23) == 0, "Date comes first: %.60s",
             first);
        T_HAS(first, "\r\nServer: caddy-c\r\n");
        T_HAS(first, "\r\nContent-Type: text/plain; charset=utf-8\r\n");
        T_HAS(first, "\r\nContent-Length: 12\r\n");
        time_t d = date_of(first);
        T_OK(d == t0, "Date is the current second: %ld vs %ld", (long)d, (long)t0);
        T_INT(atomic_load(&eng_stat_rc_builds) - b0, 1);
        T_INT(atomic_load(&eng_stat_rc_hits) - h0, 4);
        return;
    }
    T_OK(false, "three runs straddled a second");
}

static void test_date_moves(void)
{
    int fd = t_dial(P);
    second_start();
    get1(fd, "GET", "/hello");
    get1(fd, "GET", "/hello");
    get1(fd, "GET", "/hello");
    time_t a = date_of(resp);
    second_start();
    get1(fd, "GET", "/hello");
    time_t b = date_of(resp);
    close(fd);
    T_OK(a > 0 && b > a, "a cached Date expires with its second: %ld then %ld", (long)a, (long)b);
    T_OK(labs((long)(b - time(NULL))) <= 1, "Date is now");
}

static void test_varying(void)
{
    /* per-request header values are never served from an entry */
    int fd = t_dial(P);
    char ids[5][64];
    int distinct = 0;
    for (int i = 0; i < 5; i++) {
        get1(fd, "GET", "/id");
        const char *x = strstr(resp, "\r\nX-Id: ");
        if (!x || sscanf(x + 8, "%63[^\r]", ids[i]) != 1)
            ids[i][0] = 0;
        bool fresh = ids[i][0] != 0;
        for (int j = 0; j < i; j++)
            fresh &= strcmp(ids[i], ids[j]) != 0;
        distinct += fresh;
    }
    T_INT(distinct, 5);
    /* the same body under different header values: each answer keeps its own */
    int right = 0;
    for (int i = 0; i < 8; i++) {
        get1(fd, "GET", i % 2 ? "/v2" : "/v1");
        right += strstr(resp, i % 2 ? "\r\nX-V: 2\r\n" : "\r\nX-V: 1\r\n") != NULL &&
                 strcmp(body_of(resp), "same") == 0;
    }
    close(fd);
    T_INT(right, 8);
}

static void test_head_and_close(void)
{
    int fd = t_dial(P);
    for (int i = 0; i < 3; i++)
        get1(fd, "GET", "/hello");
    T_OK(get1(fd, "HEAD", "/hello"), "HEAD answered");
    T_HAS(resp, "Content-Length: 12\r\n");
    T_STR(body_of(resp), "");
    T_OK(get1(fd, "GET", "/hello"), "GET after HEAD");
    T_STR(body_of(resp), "hello, world");
    /* the same bytes with and without `close`: separate entries */
    int closes = 0, opens = 0;
    for (int i = 0; i < 3; i++) {
        get1(fd, "GET", "/bye");
        opens += !closed && !strstr(resp, "Connection: close") && strcmp(body_of(resp), "bye") == 0;
    }
    for (int i = 0; i < 3; i++) {
        int c = t_dial(P);
        get1(c, "GET", "/close");
        closes += closed && strstr(resp, "Connection: close") && strcmp(body_of(resp), "bye") == 0;
        close(c);
    }
    T_INT(opens, 3);
    T_INT(closes, 3);
    for (int i = 0; i < 3; i++)
        get1(fd, "GET", "/dated");
    T_INT(count(resp, "\r\nDate: "), 1);
    T_HAS(resp, "\r\nDate: Mon, 01 Jan 2001 00:00:00 GMT\r\n");
    close(fd);
}

static void write_file(const char *name, const char *content)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/f/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs(content, f);
        fclose(f);
    }
}

static void test_file_rewritten(void)
{
    write_file("s.txt", "AAAA");
    int fd = t_dial(P), as = 0, bs = 0;
    for (int i = 0; i < 3; i++) {
        get1(fd, "GET", "/f/s.txt");
        as += strcmp(body_of(resp), "AAAA") == 0;
    }
    write_file("s.txt", "BBBB"); /* same size, maybe the same mtime second */
    for (int i = 0; i < 3; i++) {
        get1(fd, "GET", "/f/s.txt");
        bs += strcmp(body_of(resp), "BBBB") == 0;
    }
    close(fd);
    T_INT(as, 3);
    T_INT(bs, 3);
}

static void test_swap(cc_engine *e)
{
    int fd = t_dial(P);
    for (int i = 0; i < 3; i++)
        get1(fd, "GET", "/hello");
    close(fd);
    cc_err err = {0};
    cc_runtime *rt = t_load(conf("hello, again"), &err);
    T_OK(rt && cc_engine_swap(e, rt, &err) == 0, "swap: %s", err.msg);
    cc_runtime_unref(rt);
    int ok = 0;
    for (int i = 0; i < 3; i++) {
        fd = t_dial(P);
        get1(fd, "GET", "/hello");
        ok += strcmp(body_of(resp), "hello, again") == 0;
        close(fd);
    }
    T_INT(ok, 3);
}

/* The key directly: close flag, second and body each make a different answer. */
static struct MHD_Response *get2(eng_worker *w, cc_req *r, const char *body, bool close, time_t sec)
{
    struct MHD_Response *first = eng_rcache_get(w, r, body, strlen(body), close, sec);
    return first ? first : eng_rcache_get(w, r, body, strlen(body), close, sec);
}

static void test_keys(void)
{
    eng_worker w;
    memset(&w, 0, sizeof(w));
    cc_req r;
    memset(&r, 0, sizeof(r));
    cc_arena *a = cc_arena_new(0);
    r.arena = a;
    time_t sec = 1000000000;
    cc_headers_set(a, &r.resp.headers, "Server", "caddy-c");
    T_OK(eng_rcache_get(&w, &r, "x", 1, false, sec) == NULL, "first sight builds nothing");
    struct MHD_Response *m1 = eng_rcache_get(&w, &r, "x", 1, false, sec);
    T_OK(m1 != NULL, "second sight builds");
    T_OK(eng_rcache_get(&w, &r, "x", 1, false, sec) == m1, "third reuses");
    const char *v = MHD_get_response_header(m1, "Date");
    T_STR(v ? v : "", "Sun, 09 Sep 2001 01:46:40 GMT");
    T_OK(MHD_get_response_header(m1, "Connection") == NULL, "no close");
    struct MHD_Response *m2 = get2(&w, &r, "x", true, sec);
    v = m2 ? MHD_get_response_header(m2, "Connection") : NULL;
    T_OK(m2 && m2 != m1 && v && strcmp(v, "close") == 0, "close is part of the key");
    sec++;
    struct MHD_Response *m3 = get2(&w, &r, "x", false, sec);
    v = m3 ? MHD_get_response_header(m3, "Date") : NULL;
    T_OK(m3 && m3 != m1 && v && strcmp(v, "Sun, 09 Sep 2001 01:46:41 GMT") == 0,
         "the second is part of the key");
    struct MHD_Response *m4 = get2(&w, &r, "y", false, sec);
    T_OK(m4 && m4 != m3, "the body is part of the key");
    /* more answers than entries: older ones are replaced, the newest stay */
    char b[16];
    for (int i = 0; i < 20; i++) {
        snprintf(b, sizeof(b), "b%d", i);
        get2(&w, &r, b, false, sec);
    }
    T_OK(eng_rcache_get(&w, &r, "b19", 3, false, sec) != NULL, "the newest answer is kept");
    eng_rcache_free(&w);
    T_OK(w.rc == NULL, "freed");
    cc_arena_free(a);
}

int main(void)
{
    cc_log_set_level(CC_LOG_ERROR);
    snprintf(dir, sizeof(dir), "/tmp/cc_rcache_XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    char sub[96];
    snprintf(sub, sizeof(sub), "%s/f", dir);
    mkdir(sub, 0755);
    P = t_free_port();
    cc_engine *e = t_serve(conf("hello, world"), 1);
    if (!e)
        return t_done();
    test_keys();
    test_reuse();
    test_date_moves();
    test_varying();
    test_head_and_close();
    test_file_rewritten();
    test_swap(e);
    cc_engine_stop(e, 0);
    char p[128];
    snprintf(p, sizeof(p), "%s/f/s.txt", dir);
    unlink(p);
    rmdir(sub);
    rmdir(dir);
    return t_done();
}
