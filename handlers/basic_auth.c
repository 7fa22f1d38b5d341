/* SPDX-License-Identifier: Apache-2.0
 * The basic_auth directive (and its deprecated spelling basicauth): HTTP Basic
 * authentication against hashed passwords, adapted to Caddy's "authentication" handler
 * with the "http_basic" provider. Syntax (Caddy's caddyauth/caddyfile.go):
 *
 *     basic_auth [<matcher>] [bcrypt|argon2id [<realm>]] {
 *         <username> <hashed_password>
 *         ...
 *     }
 */
#include <string.h>

#include "../caddyfile/helper.h"

static cc_cfg *parse_handler(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    if (strcmp(cc_disp_val(d), "basicauth") == 0)
        cc_helper_warn(h, "the 'basicauth' directive is deprecated, please use 'basic_auth' "
                          "instead!");

    size_t n;
    const char **args = cc_disp_remaining_args(d, &n);
    if (n > 2) {
        cc_disp_arg_err(d);
        return NULL;
    }
    const char *alg = n > 0 ? args[0] : "bcrypt";
    const char *realm = n > 1 ? args[1] : "";
    if (strcmp(alg, "bcrypt") != 0 && strcmp(alg, "argon2id") != 0) {
        cc_disp_errf(d, "unrecognized hash algorithm: %s", alg);
        return NULL;
    }

    cc_cfg *accounts = cc_cfg_arr(a);
    while (cc_disp_next_block(d, 0)) {
        const char *user = cc_disp_val(d);
        const char *hash = "";
        cc_disp_args(d, &hash, NULL);
        if (cc_disp_next_arg(d)) {
            cc_disp_arg_err(d);
            return NULL;
        }
        if (!user[0] || !hash[0]) {
            cc_disp_errf(d, "username and password cannot be empty or missing");
            return NULL;
        }
        cc_cfg *acct = cc_cfg_obj(a);
        cc_cfg_set_str(a, acct, "username", user);
        cc_cfg_set_str(a, acct, "password", hash);
        cc_cfg_push(a, accounts, acct);
    }

    cc_cfg *basic = cc_cfg_obj(a);
    if (cc_cfg_len(accounts))
        cc_cfg_set(a, basic, "accounts", accounts);
    cc_cfg *hashobj = cc_cfg_obj(a);
    cc_cfg_set_str(a, hashobj, "algorithm", alg);
    cc_cfg_set(a, basic, "hash", hashobj);
    /* Caddy always emits an (empty) hash_cache: verified passwords are cached */
    cc_cfg_set(a, basic, "hash_cache", cc_cfg_obj(a));
    if (realm[0])
        cc_cfg_set_str(a, basic, "realm", realm);

    cc_cfg *providers = cc_cfg_obj(a);
    cc_cfg_set(a, providers, "http_basic", basic);
    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "authentication");
    cc_cfg_set(a, o, "providers", providers);
    return o;
}

const cc_module cc_mod_basic_auth = {CC_MODULE_ABI, "basic_auth", parse_handler, NULL};
const cc_module cc_mod_basicauth = {CC_MODULE_ABI, "basicauth", parse_handler, NULL};
