/* SPDX-License-Identifier: Apache-2.0
 * Helpers for the runtime-core unit tests: JSON text to a config tree (via jansson,
 * which tests may use), and a request built the way the engine fills one. */
#ifndef CC_TEST_CORE_RT_H
#define CC_TEST_CORE_RT_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/http.h"
#include "core/urlenc.h"

static inline cc_cfg *rt_from_jansson(cc_arena *a, json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        cc_cfg *o = cc_cfg_obj(a);
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) cc_cfg_set(a, o, k, rt_from_jansson(a, v));
        return o;
    }
    case JSON_ARRAY: {
        cc_cfg *arr = cc_cfg_arr(a);
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) cc_cfg_push(a, arr, rt_from_jansson(a, v));
        return arr;
    }
    case JSON_STRING:
        return cc_cfg_strn(a, json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        return cc_cfg_int(a, json_integer_value(j));
    case JSON_REAL:
        return cc_cfg_num(a, json_real_value(j));
    case JSON_TRUE:
        return cc_cfg_bool(a, true);
    case JSON_FALSE:
        return cc_cfg_bool(a, false);
    default:
        return cc_cfg_null(a);
    }
}

/* Parses JSON text (aborts the test program on a typo in a test). */
static inline cc_cfg *J(cc_arena *a, const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_PRESERVE_ORDER, &e);
    if (!j) {
        fprintf(stderr, "bad test JSON: %s: %s\n", text, e.text);
        exit(2);
    }
    cc_cfg *c = rt_from_jansson(a, j);
    json_decref(j);
    return c;
}

static cc_conn rt_conn = {
    .remote_ip = "10.1.2.3", .remote_port = 41000, .local_ip = "127.0.0.1", .local_port = 8080};

/* A request as the engine makes it: target split into decoded path, raw path, query. */
static inline cc_req *R(cc_arena *a, const char *method, const char *target, const char *hostport)
{
    cc_req *r = cc_arena_alloc(a, sizeof(*r));
    r->arena = a;
    r->conn = &rt_conn;
    r->method = method;
    r->target = target;
    const char *q = strchr(target, '?');
    size_t pn = q ? (size_t)(q - target) : strlen(target);
    r->raw_path = cc_arena_strndup(a, target, pn);
    char *dec = cc_url_unescape(a, target, pn, false);
    r->path = dec ? dec : r->raw_path;
    r->query = q ? q + 1 : "";
    r->proto = "HTTP/1.1";
    r->proto_major = 1;
    r->proto_minor = 1;
    r->scheme = "http";
    r->hostport = hostport;
    const char *colon = strrchr(hostport, ':');
    char *h = cc_arena_strndup(
        a, hostport, colon && hostport[0] != '[' ? (size_t)(colon - hostport) : strlen(hostport));
    for (char *c = h; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
    r->host = h;
    r->port = colon ? colon + 1 : "80";
    r->orig_method = method;
    r->orig_target = target;
    r->orig_path = r->path;
    r->orig_query = r->query;
    r->content_length = -1;
    clock_gettime(CLOCK_REALTIME, &r->start);
    r->start_mono_ns = cc_now_mono_ns();
    return r;
}

#endif
