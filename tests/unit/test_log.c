/* SPDX-License-Identifier: Apache-2.0
 * Logging: the access entry's shape (Caddy's field names and types), credential
 * redaction, logger routing (include/exclude, logger_names, skip_hosts, log_skip), the
 * filter encoder, file modes, and size-based rolling with roll_keep in a temp dir. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../t.h"
#include "core/log.h"
#include "core/server.h"
#include "core_rt.h"

static cc_arena *A;
static char dir[64];

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = cc_arena_alloc(A, (size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

/* The last line of a file as JSON. */
static json_t *last_entry(const char *path)
{
    char *s = slurp(path);
    if (!s || !*s)
        return NULL;
    size_t n = strlen(s);
    while (n && s[n - 1] == '\n')
        s[--n] = '\0';
    char *nl = strrchr(s, '\n');
    return json_loads(nl ? nl + 1 : s, 0, NULL);
}

static size_t count_lines(const char *path)
{
    char *s = slurp(path);
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

static cc_logsys *logsys(const char *json)
{
    cc_err err = {0};
    cc_logsys *ls = cc_logsys_new(J(A, json), &err);
    T_OK(ls != NULL, "logsys: %s", err.msg);
    return ls;
}

static cc_server server_with_logs(const char *logs_json)
{
    cc_server s;
    memset(&s, 0, sizeof(s));
    s.name = "srv0";
    s.logs = J(A, logs_json);
    return s;
}

static cc_req *request(const char *host)
{
    cc_req *r = R(A, "GET", "/p?q=1", host);
    cc_headers_add(A, &r->headers, "User-Agent", "curl/8");
    cc_headers_add(A, &r->headers, "authorization", "Basic c2VjcmV0");
    cc_headers_add(A, &r->headers, "Cookie", "a=1");
    cc_headers_add(A, &r->headers, "Host", host);
    cc_vars_set(A, &r->vars, "client_ip", "10.1.2.3");
    r->resp.status = 200;
    cc_headers_add(A, &r->resp.headers, "Server", "caddy-c");
    cc_headers_add(A, &r->resp.headers, "Set-Cookie", "s=2");
    cc_headers_add(A, &r->resp.headers, "Content-Type", "text/plain");
    return r;
}

static const char *jstr(json_t *o, const char *path)
{
    /* path "a.b.c" through objects */
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = o;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
        cur = json_object_get(cur, tok);
    return cur && json_is_string(cur) ? json_string_value(cur) : NULL;
}

static void test_access_entry(void)
{
    char *path = cc_arena_printf(A, "%s/access.log", dir);
    cc_logsys *ls = logsys(cc_arena_printf(
        A,
        "{\"logging\":{\"logs\":{\"default\":{\"writer\":{\"output\":\"discard\"},"
        "\"exclude\":[\"http.log.access.log0\"]},\"log0\":{\"writer\":{\"output\":\"file\","
        "\"filename\":\"%s\"},\"include\":[\"http.log.access.log0\"]}}}}",
        path));
    if (!ls)
        return;
    cc_server s = server_with_logs("{\"default_logger_name\":\"log0\"}");
    cc_req *r = request("example.com:8080");
    cc_logsys_access(ls, &s, r, 12, 34);
    json_t *e = last_entry(path);
    T_OK(e != NULL, "entry is JSON");
    if (!e)
        return;
    T_STR(jstr(e, "level"), "info");
    T_OK(json_is_real(json_object_get(e, "ts")), "ts is a float");
    T_OK(json_real_value(json_object_get(e, "ts")) > 1.6e9, "ts is epoch seconds");
    T_STR(jstr(e, "logger"), "http.log.access.log0");
    T_STR(jstr(e, "msg"), "handled request");
    T_STR(jstr(e, "request.remote_ip"), "10.1.2.3");
    T_STR(jstr(e, "request.remote_port"), "41000");
    T_STR(jstr(e, "request.client_ip"), "10.1.2.3");
    T_STR(jstr(e, "request.proto"), "HTTP/1.1");
    T_STR(jstr(e, "request.method"), "GET");
    T_STR(jstr(e, "request.host"), "example.com:8080");
    T_STR(jstr(e, "request.uri"), "/p?q=1");
    json_t *h = json_object_get(json_object_get(e, "request"), "headers");
    T_STR(json_string_value(json_array_get(json_object_get(h, "User-Agent"), 0)), "curl/8");
    T_STR(json_string_value(json_array_get(json_object_get(h, "Authorization"), 0)), "REDACTED");
    T_STR(json_string_value(json_array_get(json_object_get(h, "Cookie"), 0)), "REDACTED");
    T_OK(json_object_get(h, "Host") == NULL, "Host is not among the headers");
    T_INT(json_integer_value(json_object_get(e, "bytes_read")), 12);
    T_STR(jstr(e, "user_id"), "");
    T_OK(json_is_number(json_object_get(e, "duration")), "duration is a number");
    T_INT(json_integer_value(json_object_get(e, "size")), 34);
    T_INT(json_integer_value(json_object_get(e, "status")), 200);
    json_t *rh = json_object_get(e, "resp_headers");
    T_STR(json_string_value(json_array_get(json_object_get(rh, "Set-Cookie"), 0)), "REDACTED");
    T_STR(json_string_value(json_array_get(json_object_get(rh, "Content-Type"), 0)), "text/plain");
    /* key order as Caddy writes it */
    const char *text = slurp(path);
    const char *order[] = {"\"level\"",   "\"ts\"",         "\"logger\"",      "\"msg\"",
                           "\"request\"", "\"bytes_read\"", "\"user_id\"",     "\"duration\"",
                           "\"size\"",    "\"status\"",     "\"resp_headers\""};
    const char *prev = text;
    bool ordered = true;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const char *at = strstr(prev, order[i]);
        if (!at)
            ordered = false;
        else
            prev = at;
    }
    T_OK(ordered, "field order: %s", text);
    json_decref(e);

    /* credentials logged when asked; 5xx is an error-level entry; uuid joins */
    cc_server s2 = server_with_logs("{\"default_logger_name\":\"log0\","
                                    "\"should_log_credentials\":true}");
    r = request("example.com");
    r->resp.status = 502;
    r->uuid = "0f0e0d0c-0b0a-4908-8706-050403020100";
    cc_vars_set(A, &r->vars, "http.auth.user.id", "alice");
    cc_logsys_access(ls, &s2, r, 0, 0);
    e = last_entry(path);
    h = json_object_get(json_object_get(e, "request"), "headers");
    T_STR(json_string_value(json_array_get(json_object_get(h, "Authorization"), 0)),
          "Basic c2VjcmV0");
    T_STR(jstr(e, "level"), "error");
    T_STR(jstr(e, "user_id"), "alice");
    T_STR(jstr(e, "uuid"), "0f0e0d0c-0b0a-4908-8706-050403020100");
    json_decref(e);

    /* nothing answered: Caddy's "NOP" entry with the recorder's status 0 */
    r = request("example.com");
    cc_vars_set(A, &r->vars, "unhandled", "true");
    cc_logsys_access(ls, &s, r, 0, 0);
    e = last_entry(path);
    T_STR(jstr(e, "msg"), "NOP");
    T_INT(json_integer_value(json_object_get(e, "status")), 0);
    json_decref(e);

    /* routing: log_skip, skip_hosts, logger_names, skip_unmapped_hosts */
    size_t before = count_lines(path);
    r = request("example.com");
    cc_vars_set(A, &r->vars, "log_skip", "true");
    cc_logsys_access(ls, &s, r, 0, 0);
    T_INT(count_lines(path), before);
    cc_server s3 = server_with_logs("{\"default_logger_name\":\"log0\","
                                    "\"skip_hosts\":[\"*.skip.example\"]}");
    cc_logsys_access(ls, &s3, request("a.skip.example"), 0, 0);
    T_INT(count_lines(path), before);
    cc_logsys_access(ls, &s3, request("keep.example"), 0, 0);
    T_INT(count_lines(path), before + 1);
    cc_server s4 = server_with_logs("{\"logger_names\":{\"*.mapped.example\":[\"log0\"]},"
                                    "\"skip_unmapped_hosts\":true}");
    cc_logsys_access(ls, &s4, request("b.mapped.example"), 0, 0);
    T_INT(count_lines(path), before + 2);
    cc_logsys_access(ls, &s4, request("other.example"), 0, 0);
    T_INT(count_lines(path), before + 2);
    /* the default logger name "" goes to http.log.access, excluded from log0's file */
    cc_server s5 = server_with_logs("{}");
    cc_logsys_access(ls, &s5, request("x.example"), 0, 0);
    T_INT(count_lines(path), before + 2);
    /* no logs object: nothing */
    cc_server s6 = server_with_logs("null");
    s6.logs = NULL;
    cc_logsys_access(ls, &s6, request("x.example"), 0, 0);
    T_INT(count_lines(path), before + 2);

    struct stat st;
    T_OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "default mode 0600");
    cc_logsys_free(ls);
}

static void test_filter_mode_runtime(void)
{
    char *path = cc_arena_printf(A, "%s/sub/dir/filtered.log", dir);
    cc_logsys *ls = logsys(cc_arena_printf(
        A,
        "{\"logging\":{\"logs\":{\"default\":{\"writer\":{\"output\":\"discard\"}},"
        "\"f\":{\"writer\":{\"output\":\"file\",\"filename\":\"%s\",\"mode\":\"0644\"},"
        "\"encoder\":{\"format\":\"filter\",\"wrap\":{\"format\":\"json\"},\"fields\":{"
        "\"request>headers>User-Agent\":{\"filter\":\"delete\"},"
        "\"request>remote_ip\":{\"filter\":\"ip_mask\",\"ipv4\":{\"prefix\":16}},"
        "\"user_id\":{\"filter\":\"replace\",\"value\":\"anon\"}}},"
        "\"include\":[\"http.log.access\"]}}}}",
        path));
    if (!ls)
        return;
    cc_server s = server_with_logs("{}");
    cc_logsys_access(ls, &s, request("example.com"), 0, 0);
    json_t *e = last_entry(path);
    T_OK(e != NULL, "filtered entry");
    json_t *h = json_object_get(json_object_get(e, "request"), "headers");
    T_OK(h && json_object_get(h, "User-Agent") == NULL, "delete filter");
    T_STR(jstr(e, "request.remote_ip"), "10.1.0.0");
    T_STR(jstr(e, "user_id"), "anon");
    json_decref(e);
    struct stat st;
    T_OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "configured mode");
    cc_logsys_free(ls);

    cc_err err = {0};
    T_OK(cc_logsys_new(J(A, "{\"logging\":{\"logs\":{\"x\":{\"writer\":{\"output\":\"net\"}}}}}"),
                       &err) == NULL,
         "net writer refused");
    T_HAS(err.msg, "not supported by caddy-c");
    memset(&err, 0, sizeof(err));
    T_OK(cc_logsys_new(J(A, "{\"logging\":{\"logs\":{\"x\":{\"level\":\"loud\"}}}}"), &err) == NULL,
         "bad level");
    T_HAS(err.msg, "unrecognized log level");

    /* runtime lines go to stderr as JSON */
    char *rpath = cc_arena_printf(A, "%s/stderr.txt", dir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(rpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    cc_cfg *extra = J(A, "{\"address\":\":8080\"}");
    cc_log(CC_LOG_INFO, "http", extra, "server running %d", 1);
    cc_log(CC_LOG_DEBUG, "http", NULL, "hidden");
    dup2(saved, 2);
    close(saved);
    json_t *e2 = last_entry(rpath);
    T_STR(jstr(e2, "level"), "info");
    T_STR(jstr(e2, "logger"), "http");
    T_STR(jstr(e2, "msg"), "server running 1");
    T_STR(jstr(e2, "address"), ":8080");
    T_INT(count_lines(rpath), 1);
    json_decref(e2);
}

static size_t count_backups(const char *prefix)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 && strstr(de->d_name, "T") &&
            strstr(de->d_name, ".log"))
            n++;
    if (d)
        closedir(d);
    return n;
}

static void test_rolling(void)
{
    char *path = cc_arena_printf(A, "%s/roll.log", dir);
    cc_logsys *ls = logsys(cc_arena_printf(
        A,
        "{\"logging\":{\"logs\":{\"default\":{\"writer\":{\"output\":\"discard\"}},"
        "\"r\":{\"writer\":{\"output\":\"file\",\"filename\":\"%s\",\"roll_size_mb\":1,"
        "\"roll_keep\":2},\"include\":[\"http.log.access\"]}}}}",
        path));
    if (!ls)
        return;
    cc_server s = server_with_logs("{}");
    /* ~3.5 MiB of entries: three rolls, two backups kept */
    cc_req *r = request("roll.example");
    char *big = cc_arena_alloc(A, 2001);
    memset(big, 'x', 2000);
    cc_headers_add(A, &r->headers, "X-Pad", big);
    for (int i = 0; i < 1700; i++)
        cc_logsys_access(ls, &s, r, 0, 0);
    struct stat st;
    T_OK(stat(path, &st) == 0 && st.st_size <= 1024 * 1024, "current file under 1 MiB");
    T_INT(count_backups("roll-"), 2);
    json_t *e = last_entry(path);
    T_STR(jstr(e, "msg"), "handled request");
    json_decref(e);
    cc_logsys_free(ls);

    char *path2 = cc_arena_printf(A, "%s/noroll.log", dir);
    ls = logsys(cc_arena_printf(
        A,
        "{\"logging\":{\"logs\":{\"default\":{\"writer\":{\"output\":\"discard\"}},"
        "\"r\":{\"writer\":{\"output\":\"file\",\"filename\":\"%s\",\"roll_size_mb\":1,"
        "\"roll\":false},\"include\":[\"http.log.access\"]}}}}",
        path2));
    for (int i = 0; i < 700; i++)
        cc_logsys_access(ls, &s, r, 0, 0);
    T_OK(stat(path2, &st) == 0 && st.st_size > 1024 * 1024, "roll disabled keeps growing");
    T_INT(count_backups("noroll-"), 0);
    cc_logsys_free(ls);
}

int main(void)
{
    A = cc_arena_new(0);
    snprintf(dir, sizeof(dir), "/tmp/cc_test_log_XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    test_access_entry();
    test_filter_mode_runtime();
    test_rolling();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    cc_arena_free(A);
    return t_done();
}
