/* SPDX-License-Identifier: Apache-2.0
 * `caddy-c trust` and `caddy-c untrust`: install or remove the internal CA's root
 * certificate in the system trust store (Debian: a file in
 * /usr/local/share/ca-certificates, then update-ca-certificates). The root is read from
 * the config's storage, and the CA is created there first when it does not exist yet,
 * so `trust` can run before the first `run`. CADDYC_TRUST_DIR and CADDYC_TRUST_UPDATE
 * replace the directory and the update command (tests use them to stay off the real
 * system store). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../certmagic/autohttps.h"
#include "../certmagic/ca.h"
#include "../certmagic/store.h"
#include "../core/log.h"
#include "../core/storage.h"
#include "../storage/default.h"
#include "app.h"
#include "cli.h"

enum { F_CA, F_CONFIG, F_ADAPTER, F_COUNT };

const cli_flag cmd_trust_flags[F_COUNT] = {
    [F_CA] = {"ca", 0, CLI_STRING, "local", "The ID of the CA whose root to use"},
    [F_CONFIG] = {"config", 'c', CLI_STRING, NULL,
                  "Configuration file whose storage (and pki settings) hold the CA"},
    [F_ADAPTER] = {"adapter", 'a', CLI_STRING, NULL,
                   "Name of config adapter to apply (when --config is used)"},
};
_Static_assert(F_COUNT == CMD_TRUST_NFLAGS, "flag table size");

static const char *trust_dir(void)
{
    const char *d = getenv("CADDYC_TRUST_DIR");
    return d && *d ? d : "/usr/local/share/ca-certificates";
}

static char *trust_path(const char *ca_id)
{
    char *safe = cc_certstore_safe(ca_id);
    size_t n = strlen(trust_dir()) + strlen(safe) + 40;
    char *p = cc_xmalloc(n);
    snprintf(p, n, "%s/caddy-c-%s-root.crt", trust_dir(), safe);
    free(safe);
    return p;
}

/* Runs the store's update command; 0 on success. */
static int run_update(void)
{
    const char *cmd = getenv("CADDYC_TRUST_UPDATE");
    if (!cmd || !*cmd)
        cmd = "update-ca-certificates";
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return cli_fail("%s failed (exit status %d)", cmd, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return CLI_EXIT_OK;
}

/* Opens the configured storage and the CA's configuration. */
static int open_ca(cli_val *v, cc_arena *a, cc_storage **st, cc_ca **ca)
{
    cc_err err = {0};
    cc_cfg *cfg = NULL;
    const char *config = v[F_CONFIG].s;
    if (config && *config) {
        const char *file, *adapter;
        if (cc_app_read_config(a, config, v[F_ADAPTER].s, &cfg, &file, &adapter, &err) != CC_OK)
            return cli_fail("%s", err.msg);
    }
    const char *id = v[F_CA].s && *v[F_CA].s ? v[F_CA].s : CC_CA_DEFAULT_ID;
    cc_ca_cfg cacfg = {0};
    cacfg.id = id;
    if (cfg) {
        cc_autohttps *plan = cc_autohttps_apply(a, cc_cfg_clone(a, cfg), &err);
        if (!plan)
            return cli_fail("%s", err.msg);
        for (size_t i = 0; i < plan->ncas; i++)
            if (strcmp(plan->cas[i].id, id) == 0)
                cacfg = plan->cas[i];
    }
    *st = cc_storage_open(cc_cfg_get(cfg, "storage"), &err);
    if (!*st)
        return cli_fail("opening storage: %s", err.msg);
    *ca = cc_ca_open(*st, &cacfg, &err);
    if (!*ca) {
        (*st)->ops->close(*st);
        return cli_fail("loading CA: %s", err.msg);
    }
    return CLI_EXIT_OK;
}

static int trust(cli_val *v, char **pos, int npos)
{
    (void)pos;
    (void)npos;
    cc_arena *a = cc_arena_new(0);
    cc_storage *st = NULL;
    cc_ca *ca = NULL;
    int rc = open_ca(v, a, &st, &ca);
    if (rc != CLI_EXIT_OK) {
        cc_arena_free(a);
        return rc;
    }
    char *path = trust_path(cc_ca_id(ca));
    cc_log(CC_LOG_WARN, "pki.ca", NULL,
           "installing root certificate (you might be prompted for password): %s", path);
    const char *pem = cc_ca_root_pem(ca);
    mkdir(trust_dir(), 0755);
    FILE *f = fopen(path, "w");
    if (!f || fputs(pem, f) == EOF || fclose(f) != 0) {
        rc = cli_fail("writing %s: %s%s", path, strerror(errno),
                      errno == EACCES ? " (installing a trusted root needs root: use sudo)" : "");
        if (f)
            unlink(path);
    } else {
        chmod(path, 0644);
        rc = run_update();
        if (rc == CLI_EXIT_OK)
            cc_log(CC_LOG_INFO, "pki.ca", NULL, "certificate installed properly in linux trusts");
    }
    free(path);
    cc_ca_free(ca);
    st->ops->close(st);
    cc_arena_free(a);
    return rc;
}

static int untrust(cli_val *v, char **pos, int npos)
{
    (void)pos;
    (void)npos;
    const char *id = v[F_CA].s && *v[F_CA].s ? v[F_CA].s : CC_CA_DEFAULT_ID;
    char *path = trust_path(id);
    int rc = CLI_EXIT_OK;
    if (unlink(path) != 0) {
        if (errno == ENOENT)
            cc_log(CC_LOG_INFO, "pki.ca", NULL, "root certificate was not installed: %s", path);
        else
            rc = cli_fail("removing %s: %s%s", path, strerror(errno),
                          errno == EACCES ? " (removing a trusted root needs root: use sudo)" : "");
    } else {
        rc = run_update();
        if (rc == CLI_EXIT_OK)
            cc_log(CC_LOG_INFO, "pki.ca", NULL, "certificate uninstalled from linux trusts");
    }
    free(path);
    return rc;
}

int cmd_trust(const cli_command *self, int argc, char **argv)
{
    return cli_dispatch(self, argc, argv, trust);
}

int cmd_untrust(const cli_command *self, int argc, char **argv)
{
    return cli_dispatch(self, argc, argv, untrust);
}
