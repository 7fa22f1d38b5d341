/* SPDX-License-Identifier: Apache-2.0
 * `caddy-c file-server`: serves a directory without a config file. The config tree is
 * built here the way Caddy's cmdFileServer builds it (one server "static" with encode
 * and file_server handlers, admin off) and then served like `run`. */
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "app.h"
#include "cli.h"

enum {
    F_DOMAIN,
    F_ROOT,
    F_LISTEN,
    F_BROWSE,
    F_REVEAL,
    F_ACCESS_LOG,
    F_DEBUG,
    F_FILE_LIMIT,
    F_NO_COMPRESS,
    F_PRECOMPRESSED,
    F_COUNT
};

const cli_flag cmd_file_server_flags[F_COUNT] = {
    [F_DOMAIN] = {"domain", 'd', CLI_STRING, NULL, "Domain name at which to serve the files"},
    [F_ROOT] = {"root", 'r', CLI_STRING, NULL, "The path to the root of the site"},
    [F_LISTEN] = {"listen", 'l', CLI_STRING, NULL, "The address to which to bind the listener"},
    [F_BROWSE] = {"browse", 'b', CLI_BOOL, NULL, "Enable directory browsing"},
    [F_REVEAL] = {"reveal-symlinks", 0, CLI_BOOL, NULL,
                  "Show symlink paths when browse is enabled."},
    [F_ACCESS_LOG] = {"access-log", 'a', CLI_BOOL, NULL, "Enable the access log"},
    [F_DEBUG] = {"debug", 'v', CLI_BOOL, NULL, "Enable verbose debug logs"},
    [F_FILE_LIMIT] = {"file-limit", 'f', CLI_STRING, "10000", "Max directories to read"},
    [F_NO_COMPRESS] = {"no-compress", 0, CLI_BOOL, NULL, "Disable Zstandard and Gzip compression"},
    [F_PRECOMPRESSED] = {"precompressed", 'p', CLI_STRINGS, NULL,
                         "Specify precompression file extensions. Compression preference "
                         "implied from flag order."},
};
_Static_assert(F_COUNT == CMD_FILE_SERVER_NFLAGS, "flag table size");

static int file_server(cli_val *v, char **pos, int npos)
{
    (void)pos;
    (void)npos;
    const char *domain = v[F_DOMAIN].s ? v[F_DOMAIN].s : "";
    char *end;
    long limit = strtol(v[F_FILE_LIMIT].s, &end, 0);
    if (!*v[F_FILE_LIMIT].s || *end)
        return cli_fail("invalid argument \"%s\" for \"-f, --file-limit\" flag: strconv.ParseInt: "
                        "parsing \"%s\": invalid syntax",
                        v[F_FILE_LIMIT].s, v[F_FILE_LIMIT].s);
    for (size_t i = 0; i < v[F_PRECOMPRESSED].n; i++) {
        const char *p = v[F_PRECOMPRESSED].list[i];
        if (strcmp(p, "br") != 0 && strcmp(p, "zstd") != 0 && strcmp(p, "gzip") != 0)
            return cli_fail("getting module named 'http.precompressed.%s': module not "
                            "registered: http.precompressed.%s",
                            p, p);
    }

    cc_arena *a = cc_arena_new(0);
    cc_cfg *root = cc_cfg_obj(a);
    cc_cfg *admin = cc_cfg_child_obj(a, root, "admin");
    cc_cfg_set_bool(a, admin, "disabled", true);
    cc_cfg_set_bool(a, cc_cfg_child_obj(a, admin, "config"), "persist", false);
    if (v[F_DEBUG].b) {
        cc_cfg *logs = cc_cfg_child_obj(a, cc_cfg_child_obj(a, root, "logging"), "logs");
        cc_cfg_set_str(a, cc_cfg_child_obj(a, logs, "default"), "level", "DEBUG");
    }
    cc_cfg *servers = cc_cfg_child_obj(
        a, cc_cfg_child_obj(a, cc_cfg_child_obj(a, root, "apps"), "http"), "servers");
    cc_cfg *srv = cc_cfg_child_obj(a, servers, "static");
    /* with a domain, automatic HTTPS gets its certificate: listen on the HTTPS port */
    const char *listen = v[F_LISTEN].s && *v[F_LISTEN].s ? v[F_LISTEN].s : *domain ? ":443" : ":80";
    cc_cfg_push_str(a, cc_cfg_child_arr(a, srv, "listen"), listen);
    cc_cfg_set_int(a, srv, "read_header_timeout", 10LL * 1000000000);
    cc_cfg_set_int(a, srv, "idle_timeout", 30LL * 1000000000);
    cc_cfg_set_int(a, srv, "max_header_bytes", 10 * 1024);

    cc_cfg *route = cc_cfg_obj(a);
    cc_cfg_push(a, cc_cfg_child_arr(a, srv, "routes"), route);
    if (*domain) {
        cc_cfg *set = cc_cfg_obj(a);
        cc_cfg_push_str(a, cc_cfg_child_arr(a, set, "host"), domain);
        cc_cfg_push(a, cc_cfg_child_arr(a, route, "match"), set);
    }
    cc_cfg *handle = cc_cfg_child_arr(a, route, "handle");
    if (!v[F_NO_COMPRESS].b) {
        cc_cfg *enc = cc_cfg_obj(a);
        cc_cfg_set_str(a, enc, "handler", "encode");
        cc_cfg *encs = cc_cfg_child_obj(a, enc, "encodings");
        cc_cfg_child_obj(a, encs, "zstd");
        cc_cfg_child_obj(a, encs, "gzip");
        cc_cfg *prefer = cc_cfg_child_arr(a, enc, "prefer");
        cc_cfg_push_str(a, prefer, "zstd");
        cc_cfg_push_str(a, prefer, "gzip");
        cc_cfg_push(a, handle, enc);
    }
    cc_cfg *fs = cc_cfg_obj(a);
    cc_cfg_set_str(a, fs, "handler", "file_server");
    if (v[F_ROOT].s && *v[F_ROOT].s)
        cc_cfg_set_str(a, fs, "root", v[F_ROOT].s);
    if (v[F_PRECOMPRESSED].n) {
        cc_cfg *pre = cc_cfg_child_obj(a, fs, "precompressed");
        cc_cfg *order = cc_cfg_child_arr(a, fs, "precompressed_order");
        for (size_t i = 0; i < v[F_PRECOMPRESSED].n; i++) {
            cc_cfg_child_obj(a, pre, v[F_PRECOMPRESSED].list[i]);
            cc_cfg_push_str(a, order, v[F_PRECOMPRESSED].list[i]);
        }
    }
    if (v[F_BROWSE].b) {
        cc_cfg *browse = cc_cfg_child_obj(a, fs, "browse");
        if (v[F_REVEAL].b)
            cc_cfg_set_bool(a, browse, "reveal_symlinks", true);
        if (limit)
            cc_cfg_set_int(a, browse, "file_limit", limit);
    }
    cc_cfg_push(a, handle, fs);
    if (v[F_ACCESS_LOG].b)
        cc_cfg_child_obj(a, srv, "logs");

    char *msg = cc_arena_printf(a, "caddy-c serving static files on %s", listen);
    char *msg_copy = cc_xstrdup(msg);
    int rc = cli_serve(a, root, NULL, NULL, false, NULL, msg_copy);
    free(msg_copy);
    return rc;
}

int cmd_file_server(const cli_command *self, int argc, char **argv)
{
    return cli_dispatch(self, argc, argv, file_server);
}
