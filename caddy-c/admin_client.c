/* SPDX-License-Identifier: Apache-2.0
 * The client side of the admin API, for `caddy-c reload` and `caddy-c stop`: one
 * blocking libcurl request to a running instance, shaped like Caddy's AdminAPIRequest
 * (Origin header for TCP, a unix socket when the address says so) and reporting
 * failures with Caddy's wording. */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "admin.h"
#include "version.h"

#define MAX_ERROR_BODY (2u << 20)

typedef struct {
    char *p;
    size_t n;
} resp_buf;

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    resp_buf *b = arg;
    size_t n = size * nmemb;
    size_t keep = b->n >= MAX_ERROR_BODY ? 0 : n;
    if (keep > MAX_ERROR_BODY - b->n)
        keep = MAX_ERROR_BODY - b->n;
    if (keep) {
        b->p = cc_xrealloc(b->p, b->n + keep + 1);
        memcpy(b->p + b->n, data, keep);
        b->n += keep;
        b->p[b->n] = '\0';
    }
    return n;
}

int cc_admin_request(const char *addr, const char *method, const char *uri,
                     const char *const *headers, size_t nheaders, const char *body, size_t len,
                     cc_err *err)
{
    cc_admin_netaddr na;
    cc_err perr = {0};
    if (cc_admin_parse_addr(addr, &na, &perr) != CC_OK)
        return cc_err_set(err, "invalid admin address %s: %s", addr, perr.msg);

    char url[600], origin[320], hostport[300];
    bool is_unix = strcmp(na.network, "unix") == 0;
    if (is_unix) {
        snprintf(url, sizeof(url), "http://127.0.0.1%s", uri);
    } else {
        const char *h = na.host;
        snprintf(hostport, sizeof(hostport), strchr(h, ':') ? "[%s]:%d" : "%s:%d", h, na.port);
        snprintf(origin, sizeof(origin), "Origin: http://%s", hostport);
        /* an address without a host means this machine, as Go dials it */
        if (!*h)
            snprintf(hostport, sizeof(hostport), "localhost:%d", na.port);
        snprintf(url, sizeof(url), "http://%s%s", hostport, uri);
    }

    CURL *c = curl_easy_init();
    if (!c)
        return cc_err_set(err, "making request: cannot initialise libcurl");
    struct curl_slist *hl = NULL;
    if (!is_unix)
        hl = curl_slist_append(hl, origin);
    if (body)
        hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Expect:");
    for (size_t i = 0; i < nheaders; i++)
        hl = curl_slist_append(hl, headers[i]);

    char errbuf[CURL_ERROR_SIZE] = "";
    resp_buf rb = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &rb);
    curl_easy_setopt(c, CURLOPT_USERAGENT, CC_PROGRAM "/" CC_VERSION);
    if (is_unix)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, na.host);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }

    int rc = CC_OK;
    CURLcode cr = curl_easy_perform(c);
    if (cr != CURLE_OK) {
        rc = cc_err_set(err, "performing request: %s \"%s\": %s", method, url,
                        *errbuf ? errbuf : curl_easy_strerror(cr));
    } else {
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 400) {
            size_t n = rb.n;
            while (n > 0 && (rb.p[n - 1] == '\n' || rb.p[n - 1] == '\r'))
                n--;
            rc = cc_err_set(err, "%s responded with error: HTTP %ld: %.*s", CC_PROGRAM, status,
                            (int)n, rb.p ? rb.p : "");
        }
    }
    free(rb.p);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return rc;
}
