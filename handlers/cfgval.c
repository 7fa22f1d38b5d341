/* SPDX-License-Identifier: Apache-2.0
 * Typed fields of a handler's JSON config (see cfgval.h). */
#include "cfgval.h"

#include "../caddyfile/units.h"

int cc_cfgv_bad(cc_err *err, const cc_cfg *at, const cc_cfg *fallback, const char *fmt,
                const char *what)
{
    const cc_cfg *n = at ? at : fallback;
    return cc_err_setat(err, n ? n->file : NULL, n ? n->line : 0, fmt, what);
}

int cc_cfgv_int(const cc_cfg *obj, const char *key, int64_t *out, cc_err *err)
{
    const cc_cfg *v = cc_cfg_get(obj, key);
    if (!v || v->type == CC_CFG_NULL)
        return CC_OK;
    if (v->type == CC_CFG_INT)
        *out = v->i;
    else if (v->type == CC_CFG_NUM && v->d == (double)(int64_t)v->d)
        *out = (int64_t)v->d;
    else
        return cc_cfgv_bad(err, v, obj, "json: cannot unmarshal %s into an integer", key);
    return CC_OK;
}

int cc_cfgv_dur(const cc_cfg *obj, const char *key, int64_t *out, cc_err *err)
{
    const cc_cfg *v = cc_cfg_get(obj, key);
    if (v && v->type == CC_CFG_STR) {
        char msg[256];
        if (cc_cf_parse_duration_msg(v->s.p, out, msg, sizeof(msg)) != 0)
            return cc_cfgv_bad(err, v, obj, "%s", msg);
        return CC_OK;
    }
    return cc_cfgv_int(obj, key, out, err);
}

int cc_cfgv_bool(const cc_cfg *obj, const char *key, bool *out, cc_err *err)
{
    const cc_cfg *v = cc_cfg_get(obj, key);
    if (!v || v->type == CC_CFG_NULL)
        return CC_OK;
    if (v->type != CC_CFG_BOOL)
        return cc_cfgv_bad(err, v, obj, "json: cannot unmarshal %s into a bool", key);
    *out = v->b;
    return CC_OK;
}

const char *cc_cfgv_str(const cc_cfg *obj, const char *key)
{
    const char *s = cc_cfg_get_str(obj, key);
    return s && *s ? s : NULL;
}
