/* SPDX-License-Identifier: Apache-2.0
 * Converts jansson values into the arena-owned configuration tree, so that a JSON
 * config goes through exactly the same provisioning as an adapted Caddyfile. Object
 * key order is kept (jansson preserves it), strings may hold NUL bytes. */
#include "json_in.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

/* Recursion is bounded by jansson's own nesting limit (JSON_PARSER_MAX_DEPTH). */
static cc_cfg *convert(cc_arena *a, const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        cc_cfg *o = cc_cfg_obj(a);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v)
        {
            cc_cfg_set(a, o, k, convert(a, v));
        }
        return o;
    }
    case JSON_ARRAY: {
        cc_cfg *arr = cc_cfg_arr(a);
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            cc_cfg_push(a, arr, convert(a, v));
        }
        return arr;
    }
    case JSON_STRING:
        return cc_cfg_strn(a, json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        return cc_cfg_int(a, (int64_t)json_integer_value(j));
    case JSON_REAL:
        return cc_cfg_num(a, json_real_value(j));
    case JSON_TRUE:
        return cc_cfg_bool(a, true);
    case JSON_FALSE:
        return cc_cfg_bool(a, false);
    case JSON_NULL:
    default:
        return cc_cfg_null(a);
    }
}

int cc_json_parse(cc_arena *a, const char *src, size_t len, const char *what, cc_cfg **out,
                  cc_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(src, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return cc_err_set(err, "%s: %s, at offset %d", what, jerr.text, jerr.position);
    *out = convert(a, root);
    json_decref(root);
    return CC_OK;
}

const char *cc_json_kind(const cc_cfg *v)
{
    switch (v->type) {
    case CC_CFG_ARR:
        return "array";
    case CC_CFG_STR:
        return "string";
    case CC_CFG_INT:
    case CC_CFG_NUM:
        return "number";
    case CC_CFG_BOOL:
        return "bool";
    case CC_CFG_OBJ:
        return "object";
    default:
        return "null";
    }
}

/* A config is an object; null stands for the empty config. */
static int check_object(cc_cfg *v, cc_cfg **out, cc_err *err)
{
    if (v->type == CC_CFG_NULL)
        return CC_OK;
    if (v->type != CC_CFG_OBJ)
        return cc_err_set(err,
                          "decoding config: json: cannot unmarshal %s into Go value of type "
                          "caddy.Config",
                          cc_json_kind(v));
    *out = v;
    return CC_OK;
}

int cc_json_parse_config(cc_arena *a, const char *src, size_t len, bool from_file, cc_cfg **out,
                         cc_err *err)
{
    *out = NULL;
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", src[i]))
        i++;
    if (i == len)
        return CC_OK;
    cc_cfg *v;
    if (!from_file)
        return cc_json_parse(a, src, len, "decoding request body", &v, err) == CC_OK
                   ? check_object(v, out, err)
                   : CC_ERR;
    if (cc_json_parse(a, src, len, "config is not valid JSON", &v, err) != CC_OK) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof(err->msg) - n,
                 "; did you mean to use a config adapter (the --adapter flag)?");
        return CC_ERR;
    }
    return check_object(v, out, err);
}
