/* SPDX-License-Identifier: Apache-2.0
 * Helpers every caddy-c command uses: flag parsing with pflag's syntax and messages,
 * reading and writing config files with Go-style error texts, --envfile loading with
 * Caddy's KEY=VALUE rules, and the shared adapt / validate steps. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../caddyfile/adapter.h"
#include "../caddyfile/format.h"
#include "../certmagic/certmagic.h"
#include "../core/server.h"

const cli_command *cli_command_find(const char *name)
{
    for (size_t i = 0; i < cli_ncommands; i++)
        if (strcmp(cli_commands[i].name, name) == 0)
            return &cli_commands[i];
    return NULL;
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("Error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_EXIT_FAILED_STARTUP;
}

/* Go spells errno texts in lower case ("no such file or directory"). */
static const char *go_strerror(int e, char *buf, size_t n)
{
    snprintf(buf, n, "%s", strerror(e));
    buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

/* strconv.ParseBool */
static int parse_bool(const char *s, bool *b)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *b = true;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *b = false;
            return 0;
        }
    }
    return -1;
}

/* A StringSlice value: the first use replaces the default, later ones append; each value
 * is split on commas. */
static void add_strings(cli_val *v, const char *s)
{
    if (!v->set)
        v->n = 0;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        v->list = cc_xrealloc(v->list, (v->n + 1) * sizeof(*v->list));
        char *item = cc_xmalloc(len + 1);
        memcpy(item, s, len);
        item[len] = '\0';
        v->list[v->n++] = item;
        if (!comma)
            break;
        s = comma + 1;
    }
}

static int set_value(const cli_flag *f, cli_val *v, const char *value, const char *shown)
{
    if (f->kind == CLI_BOOL) {
        if (parse_bool(value, &v->b) != 0) {
            cli_fail("invalid argument \"%s\" for \"%s\" flag: strconv.ParseBool: parsing "
                     "\"%s\": invalid syntax",
                     value, shown, value);
            return CLI_PARSE_ERR;
        }
    } else if (f->kind == CLI_STRINGS) {
        add_strings(v, value);
    } else {
        v->s = value;
    }
    v->set = true;
    return CLI_PARSE_OK;
}

static int parse_long(const cli_command *cmd, cli_val *vals, int argc, char **argv, int *i)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
    if (nlen == 4 && strncmp(arg, "help", 4) == 0)
        return CLI_PARSE_HELP;
    for (size_t k = 0; k < cmd->nflags; k++) {
        const cli_flag *f = &cmd->flags[k];
        if (strlen(f->name) != nlen || strncmp(f->name, arg, nlen) != 0)
            continue;
        char shown[128];
        snprintf(shown, sizeof(shown), "--%s", f->name);
        if (eq)
            return set_value(f, &vals[k], eq + 1, shown);
        if (f->kind == CLI_BOOL)
            return set_value(f, &vals[k], "true", shown);
        if (*i + 1 >= argc) {
            cli_fail("flag needs an argument: --%s", f->name);
            return CLI_PARSE_ERR;
        }
        (*i)++;
        return set_value(f, &vals[k], argv[*i], shown);
    }
    cli_fail("unknown flag: --%.*s", (int)nlen, arg);
    return CLI_PARSE_ERR;
}

static int parse_short(const cli_command *cmd, cli_val *vals, int argc, char **argv, int *i)
{
    const char *all = argv[*i];
    for (const char *p = all + 1; *p; p++) {
        const cli_flag *f = NULL;
        size_t k;
        for (k = 0; k < cmd->nflags; k++) {
            if (cmd->flags[k].shorthand == *p) {
                f = &cmd->flags[k];
                break;
            }
        }
        if (!f) {
            if (*p == 'h')
                return CLI_PARSE_HELP;
            cli_fail("unknown shorthand flag: '%c' in %s", *p, all);
            return CLI_PARSE_ERR;
        }
        char shown[8];
        snprintf(shown, sizeof(shown), "-%c", f->shorthand);
        const char *rest = p + 1;
        if (*rest == '=')
            return set_value(f, &vals[k], rest + 1, shown);
        if (f->kind == CLI_BOOL) {
            int rc = set_value(f, &vals[k], "true", shown);
            if (rc != CLI_PARSE_OK)
                return rc;
            continue;
        }
        if (*rest)
            return set_value(f, &vals[k], rest, shown);
        if (*i + 1 >= argc) {
            cli_fail("flag needs an argument: '%c' in %s", *p, all);
            return CLI_PARSE_ERR;
        }
        (*i)++;
        return set_value(f, &vals[k], argv[*i], shown);
    }
    return CLI_PARSE_OK;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, cli_val *vals, char **pos, int *npos)
{
    *npos = 0;
    for (size_t k = 0; k < cmd->nflags; k++) {
        vals[k] = (cli_val){.s = cmd->flags[k].deflt};
        if (cmd->flags[k].kind == CLI_STRINGS && cmd->flags[k].deflt) {
            add_strings(&vals[k], cmd->flags[k].deflt);
        }
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int rc = CLI_PARSE_OK;
        if (strcmp(a, "--") == 0) {
            while (++i < argc)
                pos[(*npos)++] = argv[i];
            break;
        }
        if (a[0] == '-' && a[1] == '-')
            rc = parse_long(cmd, vals, argc, argv, &i);
        else if (a[0] == '-' && a[1] != '\0')
            rc = parse_short(cmd, vals, argc, argv, &i);
        else
            pos[(*npos)++] = argv[i];
        if (rc != CLI_PARSE_OK)
            return rc;
    }
    return CLI_PARSE_OK;
}

void cli_vals_free(const cli_command *cmd, cli_val *vals)
{
    for (size_t k = 0; k < cmd->nflags; k++) {
        for (size_t j = 0; j < vals[k].n; j++)
            free((void *)vals[k].list[j]);
        free(vals[k].list);
        vals[k].list = NULL;
        vals[k].n = 0;
    }
}

int cli_dispatch(const cli_command *self, int argc, char **argv, cli_body body)
{
    cli_val *vals = calloc(self->nflags + 1, sizeof(*vals));
    char **pos = calloc((size_t)argc + 1, sizeof(*pos));
    if (!vals || !pos) {
        free(vals);
        free(pos);
        return cli_fail("out of memory");
    }
    int npos, rc;
    int prc = cli_parse(self, argc, argv, vals, pos, &npos);
    if (prc == CLI_PARSE_HELP) {
        cli_print_command_help(self, stdout);
        rc = CLI_EXIT_OK;
    } else if (prc == CLI_PARSE_ERR) {
        rc = CLI_EXIT_FAILED_STARTUP;
    } else {
        rc = body(vals, pos, npos);
    }
    cli_vals_free(self, vals);
    free(vals);
    free(pos);
    return rc;
}

char *cli_read_file(const char *path, size_t *len, cc_err *err)
{
    char ebuf[128];
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cc_err_set(err, "open %s: %s", path, go_strerror(errno, ebuf, sizeof(ebuf)));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = cc_xmalloc(cap);
    for (;;) {
        if (cap - n < 2) {
            cap *= 2;
            buf = cc_xrealloc(buf, cap);
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cc_err_set(err, "read %s: %s", is_stdin ? "/dev/stdin" : path,
                       go_strerror(errno, ebuf, sizeof(ebuf)));
            free(buf);
            if (!is_stdin)
                close(fd);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (!is_stdin)
        close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
}

int cli_write_file(const char *path, const char *data, size_t len, cc_err *err)
{
    char ebuf[128];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return cc_err_set(err, "open %s: %s", path, go_strerror(errno, ebuf, sizeof(ebuf)));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            close(fd);
            return cc_err_set(err, "write %s: %s", path, go_strerror(e, ebuf, sizeof(ebuf)));
        }
        off += (size_t)w;
    }
    if (close(fd) != 0)
        return cc_err_set(err, "close %s: %s", path, go_strerror(errno, ebuf, sizeof(ebuf)));
    return CC_OK;
}

/* ---- --envfile ---------------------------------------------------------------- */

typedef struct {
    char **keys, **vals;
    size_t n;
} env_map;

static void env_put(env_map *m, char *key, char *val)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->keys[i], key) == 0) {
            free(key);
            free(m->vals[i]);
            m->vals[i] = val;
            return;
        }
    }
    m->keys = cc_xrealloc(m->keys, (m->n + 1) * sizeof(*m->keys));
    m->vals = cc_xrealloc(m->vals, (m->n + 1) * sizeof(*m->vals));
    m->keys[m->n] = key;
    m->vals[m->n] = val;
    m->n++;
}

static void env_free(env_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->keys[i]);
        free(m->vals[i]);
    }
    free(m->keys);
    free(m->vals);
}

/* Malloc'd growable string. */
typedef struct {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = cc_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

/* Appends s[0..n) with every backslash-quote replaced by the quote. */
static void sb_add_unescaped(sbuf *b, const char *s, size_t n, char quote)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == quote)
            continue;
        sb_add(b, s + i, 1);
    }
}

static bool has_suffix(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n >= k && memcmp(s + n - k, suf, k) == 0;
}

/* Line scanner: like bufio.ScanLines, a final "\r" is dropped from each line. */
typedef struct {
    const char *p, *end;
} line_scan;

static bool next_line(line_scan *sc, const char **line, size_t *n)
{
    if (sc->p >= sc->end)
        return false;
    const char *nl = memchr(sc->p, '\n', (size_t)(sc->end - sc->p));
    const char *stop = nl ? nl : sc->end;
    *line = sc->p;
    *n = (size_t)(stop - sc->p);
    if (*n > 0 && (*line)[*n - 1] == '\r')
        (*n)--;
    sc->p = nl ? nl + 1 : sc->end;
    return true;
}

static void trim_space(const char **s, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static int parse_env(const char *src, size_t len, env_map *m, cc_err *err)
{
    line_scan sc = {src, src + len};
    const char *line;
    size_t n;
    int lineno = 0;
    while (next_line(&sc, &line, &n)) {
        trim_space(&line, &n);
        lineno++;
        if (n == 0 || line[0] == '#')
            continue;
        const char *eq = memchr(line, '=', n);
        if (!eq)
            return cc_err_set(err, "can't parse line %d; line should be in KEY=VALUE format",
                              lineno);
        const char *key = line;
        size_t klen = (size_t)(eq - line);
        if (klen >= 7 && memcmp(key, "export ", 7) == 0) {
            key += 7;
            klen -= 7;
        }
        if (klen == 0)
            return cc_err_set(err, "missing or empty key on line %d", lineno);
        if (memchr(key, ' ', klen))
            return cc_err_set(err, "invalid key on line %d: contains whitespace: %.*s", lineno,
                              (int)klen, key);
        const char *val = eq + 1;
        size_t vlen = (size_t)(line + n - val);
        if (vlen > 0 && (val[0] == ' ' || val[0] == '\t'))
            return cc_err_set(err, "invalid value on line %d: whitespace before value: '%.*s'",
                              lineno, (int)vlen, val);
        const char *hash = memchr(val, '#', vlen);
        if (hash) {
            vlen = (size_t)(hash - val);
            while (vlen > 0 && (val[vlen - 1] == ' ' || val[vlen - 1] == '\t'))
                vlen--;
        }
        sbuf v = {0};
        sb_add(&v, val, vlen);
        if (vlen > 0 && (val[0] == '"' || val[0] == '\'')) {
            /* A quoted value may go on over several lines, until a line that ends with the
             * (unescaped) quote; Caddy tests the whole current line, not the value. */
            char q[2] = {val[0], '\0'}, esc[3] = {'\\', val[0], '\0'};
            const char *cur = line;
            size_t curn = n;
            sbuf conv = {0};
            while (!has_suffix(cur, curn, q) || has_suffix(cur, curn, esc)) {
                sbuf un = {0};
                sb_add_unescaped(&un, v.p, v.n, q[0]);
                free(v.p);
                v = un;
                if (!next_line(&sc, &cur, &curn))
                    break;
                lineno++;
                conv.n = 0;
                sb_add(&conv, "", 0);
                sb_add_unescaped(&conv, cur, curn, q[0]);
                cur = conv.p;
                curn = conv.n;
                sb_add(&v, "\n", 1);
                sb_add(&v, cur, curn);
            }
            free(conv.p);
            size_t off = v.n > 0 && v.p[0] == q[0] ? 1 : 0;
            size_t end = v.n;
            if (end > off && v.p[end - 1] == q[0])
                end--;
            memmove(v.p, v.p + off, end - off);
            v.p[end - off] = '\0';
            v.n = end - off;
        }
        char *k = cc_xmalloc(klen + 1);
        memcpy(k, key, klen);
        k[klen] = '\0';
        env_put(m, k, v.p ? v.p : cc_xstrdup(""));
    }
    return CC_OK;
}

static int load_envfile(const char *path, cc_err *err)
{
    cc_err rerr = {0};
    size_t len;
    char *src = cli_read_file(path, &len, &rerr);
    if (!src)
        return cc_err_set(err, "reading environment file: %s", rerr.msg);
    env_map m = {0};
    int rc = parse_env(src, len, &m, &rerr);
    free(src);
    if (rc != CC_OK) {
        env_free(&m);
        return cc_err_set(err, "parsing environment file: %s", rerr.msg);
    }
    for (size_t i = 0; i < m.n; i++) {
        if (!getenv(m.keys[i]) && setenv(m.keys[i], m.vals[i], 0) != 0) {
            char ebuf[128];
            cc_err_set(err, "setting environment variables: %s",
                       go_strerror(errno, ebuf, sizeof(ebuf)));
            env_free(&m);
            return CC_ERR;
        }
    }
    env_free(&m);
    return CC_OK;
}

int cli_load_envfiles(const cli_val *envfile, cc_err *err)
{
    for (size_t i = 0; i < envfile->n; i++) {
        cc_err ferr = {0};
        if (load_envfile(envfile->list[i], &ferr) != CC_OK)
            return cc_err_set(err, "loading additional environment variables: %s", ferr.msg);
    }
    return CC_OK;
}

/* ---- config ------------------------------------------------------------------- */

const char *cli_default_config(const char *config)
{
    struct stat st;
    if ((!config || !*config) && stat("Caddyfile", &st) == 0)
        return "Caddyfile";
    return config ? config : "";
}

int cli_adapt_caddyfile(cc_arena *a, const char *filename, const char *src, size_t len,
                        cc_cfg **out, cc_warns *warns, cc_err *err)
{
    if (cc_cf_adapt(a, filename, src, len, out, warns, err) != CC_OK)
        return CC_ERR;
    /* Caddy lints the top-level file after a successful adapt (imports are not checked);
     * skip it if the adapter already reported it. */
    for (size_t i = 0; i < warns->list.n; i++)
        if (strstr(warns->list.v[i], "input is not formatted"))
            return CC_OK;
    int line;
    if (cc_cf_format_differs(src, len, &line))
        cc_warn_add(warns, filename, line,
                    "Caddyfile input is not formatted; run 'caddy-c fmt --overwrite' to fix "
                    "inconsistencies");
    return CC_OK;
}

void cli_print_warnings(const cc_warns *warns)
{
    for (size_t i = 0; i < warns->list.n; i++)
        fprintf(stderr, "WARN %s\n", warns->list.v[i]);
}

/* Until the HTTP engine provisions configurations, validation is the decoding step of
 * Caddy's validate: the adapted tree must be one JSON object that a JSON parser accepts. */
int cli_validate_cfg(const cc_cfg *cfg, cc_err *err)
{
    if (!cfg || cfg->type != CC_CFG_OBJ)
        return cc_err_set(err, "decoding config: the configuration is not a JSON object");
    size_t n;
    char *js = cc_cfg_to_json(cfg, false, &n);
    json_error_t jerr;
    json_t *root = json_loadb(js, n, 0, &jerr);
    free(js);
    if (!root)
        return cc_err_set(err, "decoding config: %s", jerr.text);
    json_decref(root);
    /* Caddy's validate provisions every module without starting anything: do the same
     * with a throw-away runtime (it owns a private copy of the tree) */
    cc_arena *ra = cc_arena_new(0);
    cc_cfg *run_cfg = cc_cfg_clone(ra, cfg);
    if (!cc_autohttps_apply(ra, run_cfg, err)) {
        cc_arena_free(ra);
        return CC_ERR;
    }
    cc_runtime *rt = cc_runtime_load(ra, run_cfg, err);
    if (!rt)
        return CC_ERR;
    cc_runtime_unref(rt);
    return CC_OK;
}
