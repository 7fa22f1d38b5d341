/* SPDX-License-Identifier: Apache-2.0
 * ACME Renewal Information (draft-ietf-acme-ari, now RFC 9773): when the directory has
 * "renewalInfo", GET <renewalInfo>/<certID> with certID = base64url(AKI keyIdentifier)
 * "." base64url(serial) answers the CA's suggested renewal window. No account or
 * signature is needed: it is a plain GET. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme_crypto.h"
#include "acme_priv.h"

/* RFC 3339 date-time ("2025-01-02T03:04:05Z", fraction and offset optional) to unix
 * seconds; -1 when malformed. */
static long long parse_rfc3339(const char *s)
{
    int Y, M, D, h, m, sec, used = 0;
    if (!s || sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &used) != 6 ||
        used == 0)
        return -1;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return -1;
    const char *p = s + used;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, n2 = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n2) != 2 || n2 != 5)
            return -1;
        off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
        p += 1 + n2;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    return (long long)timegm(&tm) - off;
}

int cc_acme_renewal_info(const cc_acme_cfg *cfg, const char *cert_pem, long long *start,
                         cc_err *err)
{
    if (!cfg || !cert_pem)
        return cc_err_set(err, "acme: renewal info: no certificate");
    char *id = cc_acme_ari_cert_id(cert_pem, strlen(cert_pem), err);
    if (!id)
        return CC_ERR;
    acme_sess s;
    int rc = CC_ERR;
    char *url = NULL;
    acme_resp r = {0};
    if (acme_sess_open(&s, cfg, err) != CC_OK)
        goto done;
    const char *base = acme_dir(&s, "renewalInfo");
    if (!base) {
        cc_err_set(err, "acme: the CA offers no renewal information (no renewalInfo in its "
                        "directory)");
        goto done;
    }
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    if (asprintf(&url, "%.*s/%s", (int)bl, base, id) < 0) {
        url = NULL;
        cc_err_set(err, "acme: out of memory");
        goto done;
    }
    if (acme_get(&s, url, "getting renewal info", &r, err) != CC_OK)
        goto done;
    if (r.status != 200) {
        cc_err_set(err, "acme: getting renewal info %s: HTTP %ld", url, r.status);
        goto done;
    }
    const json_t *w = json_object_get(r.json, "suggestedWindow");
    long long a = parse_rfc3339(json_string_value(json_object_get(w, "start")));
    long long b = parse_rfc3339(json_string_value(json_object_get(w, "end")));
    if (a < 0 || b < 0 || b < a) {
        cc_err_set(err, "acme: renewal info %s: no valid suggestedWindow", url);
        goto done;
    }
    *start = a;
    rc = CC_OK;
done:
    acme_resp_free(&r);
    acme_sess_close(&s);
    free(url);
    free(id);
    return rc;
}
