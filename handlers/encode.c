/* SPDX-License-Identifier: Apache-2.0
 * The encode directive: response compression, adapted to Caddy's "encode" handler JSON.
 * Formats are gzip and zstd as in Caddy, plus br (on-the-fly brotli, a caddy-c
 * addition shaped like gzip: {"br": {"level": n}}). As in Caddy's adapter, defaults
 * (minimum length, the content-type match list) are left to the handler, not written.
 * Syntax (Caddy's encode/caddyfile.go):
 *
 *     encode [<matcher>] [<formats...>] {
 *         gzip [<level>]
 *         zstd [<level>] {
 *             level <fastest|default|better|best>
 *             disable_checksum
 *         }
 *         br [<level>]
 *         minimum_length <bytes>
 *         match {
 *             status <code|Nxx...>
 *             header <field> [<value>]
 *         }
 *     }
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "../caddyfile/helper.h"
#include "goconv.h"

static int atoi_err(cc_disp *d, const char *s, const char *why)
{
    return cc_disp_errf(d, "strconv.Atoi: parsing \"%s\": %s", s, why);
}

static bool known_format(const char *name)
{
    return strcmp(name, "gzip") == 0 || strcmp(name, "zstd") == 0 || strcmp(name, "br") == 0;
}

/* "gzip [<level>]" or "br [<level>]" in the sub-dispenser sd (cursor before the name).
 * Levels are range-checked here, at adapt time, rather than when the handler starts.
 * gzip's 0 means "default", which Caddy's JSON leaves out; brotli's 0 is a real
 * quality, so it is kept (keep_zero). */
static int parse_leveled(cc_helper *h, cc_disp *sd, cc_cfg *enc, int max, bool keep_zero)
{
    cc_disp_next(sd);
    if (cc_disp_next_arg(sd)) {
        const char *s = cc_disp_val(sd);
        int64_t level;
        const char *why = cc_goconv_atoi(s, &level);
        if (why)
            return atoi_err(sd, s, why);
        if (level < 0)
            return cc_disp_errf(sd, "quality too low; must be >= 0");
        if (level > max)
            return cc_disp_errf(sd, "quality too high; must be <= %d", max);
        if (level != 0 || keep_zero)
            cc_cfg_set_int(h->a, enc, "level", level);
        if (cc_disp_next_arg(sd))
            return cc_disp_arg_err(sd);
    }
    if (cc_disp_next_block(sd, cc_disp_nesting(sd)))
        return cc_disp_errf(sd, "unknown subdirective '%s'", cc_disp_val(sd));
    return CC_OK;
}

static bool zstd_level_ok(const char *s)
{
    return strcasecmp(s, "fastest") == 0 || strcasecmp(s, "default") == 0 ||
           strcasecmp(s, "better") == 0 || strcasecmp(s, "best") == 0;
}

static int zstd_level_err(cc_disp *d)
{
    return cc_disp_errf(d, "unexpected compression level, use one of 'fastest', 'better', "
                           "'best', 'default'");
}

static int parse_zstd(cc_helper *h, cc_disp *sd, cc_cfg *enc)
{
    cc_disp_next(sd);
    size_t n;
    const char **args = cc_disp_remaining_args(sd, &n);
    const char *level = NULL;
    bool checksum_set = false;
    if (n > 1)
        return cc_disp_arg_err(sd);
    if (n == 1) {
        if (!zstd_level_ok(args[0]))
            return zstd_level_err(sd);
        level = args[0];
    }
    for (int nest = cc_disp_nesting(sd); cc_disp_next_block(sd, nest);) {
        const char *sub = cc_disp_val(sd);
        if (strcmp(sub, "level") == 0) {
            args = cc_disp_remaining_args(sd, &n);
            if (n != 1)
                return cc_disp_arg_err(sd);
            if (level && level[0])
                return cc_disp_errf(sd, "compression level already specified");
            if (!zstd_level_ok(args[0]))
                return zstd_level_err(sd);
            level = args[0];
        } else if (strcmp(sub, "disable_checksum") == 0) {
            if (cc_disp_next_arg(sd))
                return cc_disp_arg_err(sd);
            if (checksum_set)
                return cc_disp_errf(sd, "checksum already specified");
            checksum_set = true;
        } else {
            return cc_disp_errf(sd, "unknown subdirective '%s'", sub);
        }
    }
    if (level && level[0])
        cc_cfg_set_str(h->a, enc, "level", level);
    if (checksum_set)
        cc_cfg_set_bool(h->a, enc, "checksum", false);
    return CC_OK;
}

/* A format's own line in the block: its settings go into encodings[name]. */
static int parse_format(cc_helper *h, cc_cfg *encodings, cc_cfg *prefer)
{
    cc_disp *d = h->d;
    const char *name = cc_disp_val(d);
    if (!known_format(name))
        return cc_disp_errf(d,
                            "getting module named 'http.encoders.%s': module not registered: "
                            "http.encoders.%s",
                            name, name);
    cc_disp *sd = cc_disp_new_from_next_segment(d);
    cc_cfg *enc = cc_cfg_obj(h->a);
    int rc;
    if (strcmp(name, "zstd") == 0)
        rc = parse_zstd(h, sd, enc);
    else if (strcmp(name, "gzip") == 0)
        rc = parse_leveled(h, sd, enc, 9, false);
    else
        rc = parse_leveled(h, sd, enc, 11, true);
    if (rc != CC_OK)
        return rc;
    cc_cfg_set(h->a, encodings, name, enc);
    cc_cfg_push_str(h->a, prefer, name);
    return CC_OK;
}

/* Go's textproto.CanonicalMIMEHeaderKey, which http.Header.Add applies. */
static const char *canonical_header(cc_arena *a, const char *s)
{
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c)))
            return s; /* not a valid token: Go leaves it as is */
    }
    char *out = cc_arena_strdup(a, s);
    bool upper = true;
    for (char *p = out; *p; p++) {
        *p = (char)(upper ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
        upper = *p == '-';
    }
    return out;
}

/* "header <field> [<value>]" of a response matcher, from its own segment. */
static int parse_resp_header(cc_helper *h, cc_disp *sd, cc_cfg *headers)
{
    while (cc_disp_next(sd)) {
        const char *field;
        if (!cc_disp_args(sd, &field, NULL))
            return cc_disp_errf(sd, "malformed header matcher: expected field");
        if (field[0] == '!') {
            if (!field[1])
                return cc_disp_errf(sd, "malformed header matcher: must have field name "
                                        "following ! character");
            cc_cfg_set(h->a, headers, field + 1, cc_cfg_null(h->a));
            if (cc_disp_next_arg(sd))
                return cc_disp_errf(sd, "malformed header matcher: null matching headers "
                                        "cannot have a field value");
        } else {
            if (!cc_disp_next_arg(sd))
                return cc_disp_errf(sd, "malformed header matcher: expected both field and value");
            const char *key = canonical_header(h->a, field);
            cc_cfg *vals = cc_cfg_get(headers, key);
            if (!vals || vals->type != CC_CFG_ARR) {
                vals = cc_cfg_arr(h->a);
                cc_cfg_set(h->a, headers, key, vals);
            }
            cc_cfg_push_str(h->a, vals, cc_disp_val(sd));
        }
        if (cc_disp_next_block(sd, 0))
            return cc_disp_errf(sd, "malformed header matcher: blocks are not supported");
    }
    return CC_OK;
}

/* "match { status ...; header ... }" or the one-line form: Caddy's response matcher
 * {"status_code": [...], "headers": {...}}, with 2xx written as 2. */
static int parse_match(cc_helper *h, cc_cfg **matcher)
{
    if (*matcher)
        return cc_disp_errf(h->d, "matcher is defined more than once: match");
    cc_disp *sd = cc_disp_new_from_next_segment(h->d);
    cc_arena *a = h->a;
    cc_cfg *status = NULL, *headers = NULL;
    cc_disp_next(sd);
    for (int nest = cc_disp_nesting(sd); cc_disp_next_arg(sd) || cc_disp_next_block(sd, nest);) {
        const char *kind = cc_disp_val(sd);
        if (strcmp(kind, "header") == 0) {
            if (!headers)
                headers = cc_cfg_obj(a);
            if (parse_resp_header(h, cc_disp_new_from_next_segment(sd), headers) != CC_OK)
                return CC_ERR;
        } else if (strcmp(kind, "status") == 0) {
            if (!status)
                status = cc_cfg_arr(a);
            size_t n;
            const char **codes = cc_disp_remaining_args(sd, &n);
            if (n == 0)
                return cc_disp_arg_err(sd);
            for (size_t i = 0; i < n; i++) {
                const char *c = codes[i];
                size_t len = strlen(c);
                if (len == 3 && strcmp(c + 1, "xx") == 0)
                    c = cc_arena_strndup(a, c, 1);
                int64_t code;
                const char *why = cc_goconv_atoi(c, &code);
                if (why)
                    return cc_disp_errf(sd,
                                        "bad status value '%s': strconv.Atoi: parsing "
                                        "\"%s\": %s",
                                        c, c, why);
                cc_cfg_push(a, status, cc_cfg_int(a, code));
            }
        } else {
            return cc_disp_errf(sd, "unrecognized response matcher %s", kind);
        }
    }
    *matcher = cc_cfg_obj(a);
    if (cc_cfg_len(status))
        cc_cfg_set(a, *matcher, "status_code", status);
    if (cc_cfg_len(headers))
        cc_cfg_set(a, *matcher, "headers", headers);
    return CC_OK;
}

static cc_cfg *parse_handler(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    size_t nargs;
    const char **args = cc_disp_remaining_args(d, &nargs);

    cc_cfg *encodings = cc_cfg_obj(a), *prefer = cc_cfg_arr(a), *matcher = NULL;
    int64_t min_len = 0;
    while (cc_disp_next_block(d, 0)) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "minimum_length") == 0) {
            if (!cc_disp_next_arg(d)) {
                cc_disp_arg_err(d);
                return NULL;
            }
            const char *why = cc_goconv_atoi(cc_disp_val(d), &min_len);
            if (why) {
                atoi_err(d, cc_disp_val(d), why);
                return NULL;
            }
        } else if (strcmp(sub, "match") == 0) {
            if (parse_match(h, &matcher) != CC_OK)
                return NULL;
        } else if (parse_format(h, encodings, prefer) != CC_OK) {
            return NULL;
        }
    }

    static const char *dflt[] = {"zstd", "gzip"};
    if (cc_cfg_len(prefer) == 0 && nargs == 0) {
        args = dflt;
        nargs = 2;
    }
    /* formats named on the first line come after those configured in the block, and
     * reset their settings to the defaults (Caddy's behaviour) */
    for (size_t i = 0; i < nargs; i++) {
        if (!known_format(args[i])) {
            cc_disp_errf(d,
                         "finding encoder module '%s': module not registered: "
                         "http.encoders.%s",
                         args[i], args[i]);
            return NULL;
        }
        cc_cfg_set(a, encodings, args[i], cc_cfg_obj(a));
        cc_cfg_push_str(a, prefer, args[i]);
    }

    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "encode");
    cc_cfg_set(a, o, "encodings", encodings);
    cc_cfg_set(a, o, "prefer", prefer);
    if (min_len)
        cc_cfg_set_int(a, o, "minimum_length", min_len);
    if (matcher)
        cc_cfg_set(a, o, "match", matcher);
    return o;
}

const cc_module cc_mod_encode = {CC_MODULE_ABI, "encode", parse_handler, NULL};
