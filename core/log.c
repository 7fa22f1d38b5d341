/* SPDX-License-Identifier: Apache-2.0
 * Runtime log lines and the "logging" app's configuration (core/log.h), shaped like
 * Caddy's zap output: each log has a writer (stdout, stderr, discard, or a rolling
 * file, see log_file.c), an encoder (json, or console on a terminal; filter wraps one)
 * and include/exclude lists of logger names. Access entries are in log_access.c. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log_priv.h"
#include "replacer.h"

/* ---- levels ---- */

static const char *level_name(cc_log_level l)
{
    switch (l) {
    case CC_LOG_DEBUG:
        return "debug";
    case CC_LOG_INFO:
        return "info";
    case CC_LOG_WARN:
        return "warn";
    default:
        return "error";
    }
}

static int parse_level(const char *s, cc_log_level *out)
{
    if (!s || !*s || strcasecmp(s, "info") == 0)
        *out = CC_LOG_INFO;
    else if (strcasecmp(s, "debug") == 0)
        *out = CC_LOG_DEBUG;
    else if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0)
        *out = CC_LOG_WARN;
    else if (strcasecmp(s, "error") == 0 || strcasecmp(s, "dpanic") == 0 ||
             strcasecmp(s, "panic") == 0 || strcasecmp(s, "fatal") == 0)
        *out = CC_LOG_ERROR;
    else
        return CC_ERR;
    return CC_OK;
}

/* ---- runtime log ---- */

static cc_log_level min_level = CC_LOG_INFO;
static struct cc_logw stderr_w = {.key = "stderr", .fd = 2, .mu = PTHREAD_MUTEX_INITIALIZER};
static int stderr_tty = -1;

void cc_log_set_level(cc_log_level lvl)
{
    min_level = lvl;
}

cc_log_level cc_log_min_level(void)
{
    return min_level;
}

static void console_time(cc_jb *b, const struct timespec *ts)
{
    struct tm tm;
    localtime_r(&ts->tv_sec, &tm);
    char buf[64];
    strftime(buf, sizeof(buf), "%Y/%m/%d %H:%M:%S", &tm);
    cc_jb_puts(b, buf);
    snprintf(buf, sizeof(buf), ".%03ld", ts->tv_nsec / 1000000);
    cc_jb_puts(b, buf);
}

static void upper_level(cc_jb *b, cc_log_level l)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    cc_jb_puts(b, names[l]);
}

/* Writes the head of an entry; fields follows as JSON members (without braces). */
void cc_log_format_entry(cc_jb *b, bool console, cc_log_level lvl, const struct timespec *ts,
                         const char *logger, const char *msg, const char *fields, size_t nfields)
{
    if (console) {
        console_time(b, ts);
        cc_jb_puts(b, "\t");
        upper_level(b, lvl);
        cc_jb_puts(b, "\t");
        if (logger && *logger) {
            cc_jb_puts(b, logger);
            cc_jb_puts(b, "\t");
        }
        cc_jb_puts(b, msg);
        if (nfields) {
            cc_jb_puts(b, "\t{");
            cc_jb_putn(b, fields, nfields);
            cc_jb_puts(b, "}");
        }
        cc_jb_puts(b, "\n");
        return;
    }
    cc_jb_puts(b, "{\"level\":");
    cc_jb_str(b, level_name(lvl));
    cc_jb_puts(b, ",\"ts\":");
    cc_jb_float(b, (double)ts->tv_sec + (double)ts->tv_nsec / 1e9);
    if (logger && *logger) {
        cc_jb_puts(b, ",\"logger\":");
        cc_jb_str(b, logger);
    }
    cc_jb_puts(b, ",\"msg\":");
    cc_jb_str(b, msg);
    if (nfields) {
        cc_jb_puts(b, ",");
        cc_jb_putn(b, fields, nfields);
    }
    cc_jb_puts(b, "}\n");
}

void cc_log(cc_log_level lvl, const char *logger, const cc_cfg *extra, const char *fmt, ...)
{
    if (lvl < min_level)
        return;
    cc_arena *a = cc_arena_new(0);
    va_list ap;
    va_start(ap, fmt);
    char *msg = cc_arena_vprintf(a, fmt, ap);
    va_end(ap);
    char *fields = NULL;
    size_t nf = 0;
    if (extra && extra->type == CC_CFG_OBJ && extra->obj.n > 0) {
        size_t len;
        fields = cc_cfg_to_json(extra, false, &len);
        if (fields && len >= 2) {
            memmove(fields, fields + 1, len - 2);
            nf = len - 2;
        }
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (stderr_tty < 0)
        stderr_tty = isatty(2);
    cc_jb b = {.a = a};
    cc_log_format_entry(&b, stderr_tty == 1, lvl, &ts, logger, msg, fields, nf);
    cc_logw_write(&stderr_w, b.p, b.n);
    free(fields);
    cc_arena_free(a);
}

/* ---- the logging app ---- */

static int load_filters(cc_arena *a, const cc_cfg *fields, lfilter **out, size_t *n, cc_err *err)
{
    size_t cnt = fields && fields->type == CC_CFG_OBJ ? fields->obj.n : 0;
    *out = cc_arena_alloc(a, (cnt ? cnt : 1) * sizeof(**out));
    *n = 0;
    for (size_t i = 0; i < cnt; i++) {
        const cc_cfg *f = fields->obj.v[i];
        const char *kind = cc_cfg_get_str(f, "filter");
        lfilter *lf = &(*out)[(*n)++];
        lf->path = fields->obj.k[i];
        if (kind && strcmp(kind, "delete") == 0) {
            lf->t = F_DELETE;
        } else if (kind && strcmp(kind, "replace") == 0) {
            lf->t = F_REPLACE;
            const char *v = cc_cfg_get_str(f, "value");
            lf->value = v ? v : "";
        } else if (kind && strcmp(kind, "ip_mask") == 0) {
            lf->t = F_IP_MASK;
            const cc_cfg *v4 = cc_cfg_get(cc_cfg_get(f, "ipv4"), "prefix");
            const cc_cfg *v6 = cc_cfg_get(cc_cfg_get(f, "ipv6"), "prefix");
            lf->v4bits = v4 && v4->type == CC_CFG_INT ? (int)v4->i : 32;
            lf->v6bits = v6 && v6->type == CC_CFG_INT ? (int)v6->i : 128;
        } else {
            return cc_err_setat(err, f ? f->file : NULL, f ? f->line : 0,
                                "log filter '%s' is not supported by caddy-c (delete, replace, "
                                "ip_mask)",
                                kind ? kind : "");
        }
    }
    return CC_OK;
}

static struct cc_logw *writer_get(cc_logsys *ls, const cc_cfg *wc, const char *logname, cc_err *err)
{
    const char *out = wc ? cc_cfg_get_str(wc, "output") : NULL;
    if (!out)
        out = "stderr";
    const char *key;
    if (strcmp(out, "file") == 0) {
        const char *fn = cc_cfg_get_str(wc, "filename");
        if (!fn || !*fn) {
            cc_err_setat(err, wc->file, wc->line, "log %s: file writer: filename is required",
                         logname);
            return NULL;
        }
        key = cc_arena_printf(ls->a, "file:%s", fn);
    } else if (strcmp(out, "stdout") == 0 || strcmp(out, "stderr") == 0 ||
               strcmp(out, "discard") == 0) {
        key = out;
    } else {
        cc_err_setat(err, wc ? wc->file : NULL, wc ? wc->line : 0,
                     "log %s: output '%s' is not supported by caddy-c (stdout, stderr, discard, "
                     "file)",
                     logname, out);
        return NULL;
    }
    for (size_t i = 0; i < ls->nwriters; i++)
        if (strcmp(ls->writers[i]->key, key) == 0)
            return ls->writers[i];
    struct cc_logw *w = cc_arena_alloc(ls->a, sizeof(*w));
    w->key = cc_arena_strdup(ls->a, key);
    pthread_mutex_init(&w->mu, NULL);
    if (strcmp(out, "stdout") == 0) {
        w->fd = 1;
        w->console = isatty(1);
    } else if (strcmp(out, "stderr") == 0) {
        w->fd = 2;
        w->console = isatty(2);
    } else if (strcmp(out, "discard") == 0) {
        w->fd = -1;
    } else {
        const char *fn = cc_cfg_get_str(wc, "filename");
        w->path = cc_arena_strdup(ls->a, cc_repl_expand(NULL, fn, true));
        const char *ms = cc_cfg_get_str(wc, "mode");
        mode_t mode = 0;
        if (ms && *ms) {
            char *end;
            long m = strtol(ms, &end, 8);
            if (*end || m < 0 || m > 07777) {
                cc_err_setat(err, wc->file, wc->line, "log %s: invalid file mode '%s'", logname,
                             ms);
                return NULL;
            }
            mode = (mode_t)m;
        }
        if (cc_logw_mkdir_parents(w->path) != 0) {
            cc_err_setat(err, wc->file, wc->line, "log %s: creating directory of %s: %s", logname,
                         w->path, strerror(errno));
            return NULL;
        }
        w->mode = mode ? mode : 0600;
        w->fd = cc_logw_open_file(w->path, w->mode);
        if (w->fd < 0) {
            cc_err_setat(err, wc->file, wc->line, "log %s: opening %s: %s", logname, w->path,
                         strerror(errno));
            return NULL;
        }
        w->own_fd = true;
        struct stat st;
        if (fstat(w->fd, &st) == 0) {
            w->size = st.st_size;
            if (mode && (st.st_mode & 07777) != mode)
                fchmod(w->fd, mode);
        }
        const cc_cfg *roll = cc_cfg_get(wc, "roll");
        const cc_cfg *rdis = cc_cfg_get(wc, "roll_disabled");
        w->roll = !(roll && roll->type == CC_CFG_BOOL && !roll->b) &&
                  !(rdis && rdis->type == CC_CFG_BOOL && rdis->b);
        const cc_cfg *mb = cc_cfg_get(wc, "roll_size_mb");
        int64_t size_mb = mb && mb->type == CC_CFG_INT ? mb->i : 0;
        double size_f = mb && mb->type == CC_CFG_NUM ? mb->d : 0;
        w->max = size_mb > 0  ? size_mb * 1024 * 1024
                 : size_f > 0 ? (int64_t)(size_f * 1024 * 1024)
                              : 100 * 1024 * 1024;
        const cc_cfg *keep = cc_cfg_get(wc, "roll_keep");
        w->keep = keep && keep->type == CC_CFG_INT && keep->i > 0 ? (int)keep->i : 10;
        const cc_cfg *kd = cc_cfg_get(wc, "roll_keep_days");
        w->keep_days = kd && kd->type == CC_CFG_INT && kd->i > 0 ? (int)kd->i : 90;
        const cc_cfg *lt = cc_cfg_get(wc, "roll_local_time");
        w->local_time = lt && lt->type == CC_CFG_BOOL && lt->b;
    }
    ls->writers = cc_arena_grow(ls->a, ls->writers, ls->nwriters * sizeof(*ls->writers),
                                (ls->nwriters + 1) * sizeof(*ls->writers));
    ls->writers[ls->nwriters++] = w;
    return w;
}

static bool str_array(cc_arena *a, const cc_cfg *v, const char ***out, size_t *n)
{
    *n = cc_cfg_len(v);
    *out = cc_arena_alloc(a, (*n ? *n : 1) * sizeof(char *));
    for (size_t i = 0; i < *n; i++) {
        const cc_cfg *e = cc_cfg_idx(v, i);
        if (!e || e->type != CC_CFG_STR)
            return false;
        (*out)[i] = e->s.p;
    }
    return true;
}

static int load_encoder(cc_logsys *ls, clog *l, const cc_cfg *enc, cc_err *err)
{
    const char *fmt = enc ? cc_cfg_get_str(enc, "format") : NULL;
    if (!fmt)
        return CC_OK;
    if (strcmp(fmt, "json") == 0) {
        l->format = 1;
        return CC_OK;
    }
    if (strcmp(fmt, "console") == 0) {
        l->format = 2;
        return CC_OK;
    }
    if (strcmp(fmt, "filter") == 0) {
        if (load_filters(ls->a, cc_cfg_get(enc, "fields"), &l->filters, &l->nfilters, err) != CC_OK)
            return CC_ERR;
        return load_encoder(ls, l, cc_cfg_get(enc, "wrap"), err);
    }
    return cc_err_setat(err, enc->file, enc->line,
                        "log %s: encoder '%s' is not supported by caddy-c (json, console, "
                        "filter)",
                        l->name, fmt);
}

static int load_log(cc_logsys *ls, clog *l, const char *name, const cc_cfg *c, cc_err *err)
{
    l->name = name;
    l->w = writer_get(ls, cc_cfg_get(c, "writer"), name, err);
    if (!l->w)
        return CC_ERR;
    if (parse_level(cc_cfg_get_str(c, "level"), &l->level) != CC_OK)
        return cc_err_setat(err, c->file, c->line, "log %s: unrecognized log level: %s", name,
                            cc_cfg_get_str(c, "level"));
    if (!str_array(ls->a, cc_cfg_get(c, "include"), &l->include, &l->ninclude) ||
        !str_array(ls->a, cc_cfg_get(c, "exclude"), &l->exclude, &l->nexclude))
        return cc_err_setat(err, c->file, c->line, "log %s: include/exclude must be strings", name);
    for (size_t i = 0; i < l->ninclude; i++)
        for (size_t k = 0; k < l->nexclude; k++)
            if (strcmp(l->include[i], l->exclude[k]) == 0)
                return cc_err_setat(err, c->file, c->line,
                                    "log %s: include and exclude must not intersect, but found "
                                    "%s in both lists",
                                    name, l->include[i]);
    return load_encoder(ls, l, cc_cfg_get(c, "encoder"), err);
}

cc_logsys *cc_logsys_new(const cc_cfg *config, cc_err *err)
{
    cc_arena *a = cc_arena_new(0);
    cc_logsys *ls = cc_arena_alloc(a, sizeof(*ls));
    ls->a = a;
    const cc_cfg *logs = cc_cfg_get(cc_cfg_get(config, "logging"), "logs");
    size_t n = logs && logs->type == CC_CFG_OBJ ? logs->obj.n : 0;
    bool has_default = cc_cfg_get(logs, "default") != NULL;
    ls->logs = cc_arena_alloc(a, (n + 1) * sizeof(*ls->logs));
    if (!has_default) {
        clog *l = &ls->logs[ls->n++];
        l->name = "default";
        l->level = CC_LOG_INFO;
        l->w = writer_get(ls, NULL, "default", err);
    }
    for (size_t i = 0; i < n; i++) {
        if (load_log(ls, &ls->logs[ls->n], logs->obj.k[i], logs->obj.v[i], err) != CC_OK) {
            cc_logsys_free(ls);
            return NULL;
        }
        ls->n++;
    }
    return ls;
}

void cc_logsys_free(cc_logsys *ls)
{
    if (!ls)
        return;
    for (size_t i = 0; i < ls->nwriters; i++)
        cc_logw_free(ls->writers[i]);
    cc_arena_free(ls->a);
}

/* Caddy's CustomLog.loggerAllowed for a logger name. */
bool cc_log_logger_allowed(const clog *l, const char *name)
{
    if (l->ninclude == 0 && l->nexclude == 0)
        return true;
    char buf[512];
    snprintf(buf, sizeof(buf), "%s.", name);
    size_t accept = 0, reject = 0;
    for (size_t i = 0; i < l->ninclude; i++) {
        size_t ns = strlen(l->include[i]);
        if (strncmp(buf, l->include[i], ns) == 0 && buf[ns] == '.' && ns > accept)
            accept = ns;
    }
    if (l->ninclude > 0 && accept == 0)
        return false;
    for (size_t i = 0; i < l->nexclude; i++) {
        const char *ex = l->exclude[i];
        if (strcmp(ex, "*") == 0)
            return false;
        size_t ns = strlen(ex);
        if (strncmp(buf, ex, ns) == 0 && buf[ns] == '.' && ns > reject)
            reject = ns;
    }
    if (l->nexclude > 0 && reject == 0)
        return true;
    return accept > reject || (l->ninclude == 0 && reject == 0);
}
