/* SPDX-License-Identifier: Apache-2.0
 * Directory listings of file_server's `browse` (Caddy's browse.go and
 * browsetplcontext.go): the entries of one directory, hidden ones left out, sorted by
 * name / directories first / size / time in either order (configured, from ?sort= and
 * ?order=, or remembered in cookies), cut by ?offset= and ?limit=, and written as an HTML
 * page, as Caddy's JSON array when the client accepts application/json, or as a text
 * table for text/plain. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../core/rand.h"
#include "../core/urlenc.h"
#include "fs.h"

#define DEFAULT_DIR_LIMIT 10000

/* Go's os.FileMode bits, which the JSON listing exposes as "mode" */
#define GO_MODE_DIR (1u << 31)
#define GO_MODE_SYMLINK (1u << 27)
#define GO_MODE_DEVICE (1u << 26)
#define GO_MODE_PIPE (1u << 25)
#define GO_MODE_SOCKET (1u << 24)
#define GO_MODE_SETUID (1u << 23)
#define GO_MODE_SETGID (1u << 22)
#define GO_MODE_CHARDEV (1u << 21)
#define GO_MODE_STICKY (1u << 20)

typedef struct item {
    const char *name; /* directories end in '/' */
    const char *lower;
    const char *url; /* "./" + escaped name */
    int64_t size;
    struct timespec mtime;
    uint32_t mode;
    bool is_dir, is_symlink;
    const char *symlink_path; /* NULL unless revealed */
} item;

typedef struct listing {
    const char *name, *path; /* base name and cleaned escaped request path */
    bool can_go_up;
    item *items;
    size_t n;
    size_t num_dirs, num_files;
    int64_t total_size, total_size_links;
    struct timespec last_modified;
    const char *sort, *order, *layout;
    int64_t offset, limit;
} listing;

typedef CC_VEC(char) charbuf;

static void put(cc_arena *a, charbuf *b, const char *s)
{
    for (; *s; s++)
        CC_VEC_PUSH(a, b, *s);
}

static void putf(cc_arena *a, charbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void putf(cc_arena *a, charbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    put(a, b, cc_arena_vprintf(a, fmt, ap));
    va_end(ap);
}

static void put_html(cc_arena *a, charbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            put(a, b, "&amp;");
            break;
        case '<':
            put(a, b, "&lt;");
            break;
        case '>':
            put(a, b, "&gt;");
            break;
        case '"':
            put(a, b, "&#34;");
            break;
        case '\'':
            put(a, b, "&#39;");
            break;
        default:
            CC_VEC_PUSH(a, b, *s);
            break;
        }
    }
}

/* Length of the UTF-8 sequence at s, 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = (s[0] & 0xe0) == 0xc0   ? 2
               : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4
                                       : 0;
    if (n == 0 || (n == 2 && s[0] < 0xc2) || (n == 4 && s[0] > 0xf4))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3) {
        unsigned cp = ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6);
        if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
    }
    if (n == 4) {
        unsigned cp = ((s[0] & 0x07u) << 18) | ((s[1] & 0x3fu) << 12);
        if (cp < 0x10000 || cp > 0x10ffff)
            return 0;
    }
    return n;
}

/* Go's encoding/json string: HTML-safe, invalid UTF-8 as U+FFFD. */
static void put_json_str(cc_arena *a, charbuf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    CC_VEC_PUSH(a, b, '"');
    while (*s) {
        unsigned char c = *s;
        if (c < 0x80) {
            if (c == '"' || c == '\\') {
                CC_VEC_PUSH(a, b, '\\');
                CC_VEC_PUSH(a, b, (char)c);
            } else if (c == '\n') {
                put(a, b, "\\n");
            } else if (c == '\r') {
                put(a, b, "\\r");
            } else if (c == '\t') {
                put(a, b, "\\t");
            } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                putf(a, b, "\\u%04x", c);
            } else {
                CC_VEC_PUSH(a, b, (char)c);
            }
            s++;
            continue;
        }
        size_t n = utf8_len(s);
        if (n == 0) {
            put(a, b, "\\ufffd");
            s++;
            continue;
        }
        if (n == 3 && s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9)) {
            putf(a, b, "\\u%04x", s[2] == 0xa8 ? 0x2028 : 0x2029);
        } else {
            for (size_t i = 0; i < n; i++)
                CC_VEC_PUSH(a, b, (char)s[i]);
        }
        s += n;
    }
    CC_VEC_PUSH(a, b, '"');
}

/* Go's url.URL{Path: p}.String() escaping (encodePath). */
static char *escape_path(cc_arena *a, const char *p)
{
    charbuf b = {0};
    for (const unsigned char *s = (const unsigned char *)p; *s; s++) {
        unsigned char c = *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-_.~$&+,/:;=@", c))
            CC_VEC_PUSH(a, &b, (char)c);
        else
            putf(a, &b, "%%%02X", c);
    }
    CC_VEC_PUSH(a, &b, '\0');
    return b.v;
}

/* humanize.IBytes */
static const char *human_size(cc_arena *a, int64_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    uint64_t s = size < 0 ? 0 : (uint64_t)size;
    if (s < 10)
        return cc_arena_printf(a, "%llu B", (unsigned long long)s);
    size_t e = 0;
    double v = (double)s;
    while (v >= 1024 && e + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        e++;
    }
    /* humanize rounds to one decimal first, then prints it without decimals from 10 up */
    double r = (double)(long long)(v * 10 + 0.5) / 10;
    return cc_arena_printf(a, r < 10 ? "%.1f %s" : "%.0f %s", r, units[e]);
}

static const char *rfc3339_nano(cc_arena *a, struct timespec ts)
{
    struct tm tm;
    time_t t = ts.tv_sec;
    gmtime_r(&t, &tm);
    char frac[16] = "";
    if (ts.tv_nsec) {
        snprintf(frac, sizeof(frac), ".%09ld", ts.tv_nsec % 1000000000L);
        size_t n = strlen(frac);
        while (n > 1 && frac[n - 1] == '0')
            frac[--n] = '\0';
    }
    return cc_arena_printf(a, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
                           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static const char *fmt_time(cc_arena *a, struct timespec ts, const char *fmt)
{
    static const char *const months[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
    struct tm tm;
    time_t t = ts.tv_sec;
    gmtime_r(&t, &tm);
    if (strcmp(fmt, "text") == 0) /* "January 2, 2006 at 15:04:05" */
        return cc_arena_printf(a, "%s %d, %d at %02d:%02d:%02d", months[tm.tm_mon % 12], tm.tm_mday,
                               tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    /* "01/02/2006 03:04:05 PM -07:00" in UTC */
    int h12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
    return cc_arena_printf(a, "%02d/%02d/%04d %02d:%02d:%02d %s +00:00", tm.tm_mon + 1, tm.tm_mday,
                           tm.tm_year + 1900, h12, tm.tm_min, tm.tm_sec,
                           tm.tm_hour < 12 ? "AM" : "PM");
}

static uint32_t go_mode(mode_t m)
{
    uint32_t g = (uint32_t)(m & 0777);
    switch (m & S_IFMT) {
    case S_IFBLK:
        g |= GO_MODE_DEVICE;
        break;
    case S_IFCHR:
        g |= GO_MODE_DEVICE | GO_MODE_CHARDEV;
        break;
    case S_IFDIR:
        g |= GO_MODE_DIR;
        break;
    case S_IFIFO:
        g |= GO_MODE_PIPE;
        break;
    case S_IFLNK:
        g |= GO_MODE_SYMLINK;
        break;
    case S_IFSOCK:
        g |= GO_MODE_SOCKET;
        break;
    default:
        break;
    }
    if (m & S_ISUID)
        g |= GO_MODE_SETUID;
    if (m & S_ISGID)
        g |= GO_MODE_SETGID;
    if (m & S_ISVTX)
        g |= GO_MODE_STICKY;
    return g;
}

static bool ts_after(struct timespec x, struct timespec y)
{
    return x.tv_sec > y.tv_sec || (x.tv_sec == y.tv_sec && x.tv_nsec > y.tv_nsec);
}

static char *lower(cc_arena *a, const char *s)
{
    char *o = cc_arena_strdup(a, s);
    for (char *p = o; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return o;
}

/* Reads the directory (at most limit entries, in directory order) into l. */
static int read_listing(cc_req *r, const cc_fs_listing_req *lr, int dfd, listing *l)
{
    cc_arena *a = r->arena;
    struct stat dst;
    if (fstat(dfd, &dst) != 0) {
        close(dfd);
        return cc_req_fail(r, 500, "stat directory: %s", strerror(errno));
    }
    l->last_modified = dst.st_mtim;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return cc_req_fail(r, 500, "reading directory: %s", strerror(errno));
    }
    int64_t limit = lr->cfg->file_limit ? lr->cfg->file_limit : DEFAULT_DIR_LIMIT;
    CC_VEC(item) items = {0};
    int64_t seen = 0;
    struct dirent *de;
    errno = 0;
    while ((limit <= 0 || seen < limit) && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        seen++;
        const char *full = cc_arena_printf(a, "%s/%s", lr->dir, de->d_name);
        /* Caddy matches the bare entry name against `hide`; the full path also honours
         * entries with a directory part, so a listing never shows a hidden file */
        if (cc_fs_hidden(a, lr->cwd, full, lr->hide, lr->nhide))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        item it = {0};
        it.mtime = st.st_mtim;
        if (ts_after(st.st_mtim, l->last_modified))
            l->last_modified = st.st_mtim;
        it.is_symlink = S_ISLNK(st.st_mode);
        it.size = (int64_t)st.st_size;
        it.mode = go_mode(st.st_mode);
        struct stat tst;
        bool have_target = it.is_symlink && fstatat(dirfd(d), de->d_name, &tst, 0) == 0;
        it.is_dir = S_ISDIR(st.st_mode) || (have_target && S_ISDIR(tst.st_mode));
        const char *name = de->d_name;
        if (it.is_dir) {
            name = cc_arena_printf(a, "%s/", name);
            l->num_dirs++;
        } else {
            l->num_files++;
            l->total_size += it.size;
        }
        if (it.is_symlink) {
            if (have_target)
                it.size = (int64_t)tst.st_size;
            if (lr->cfg->reveal_symlinks) {
                char buf[4096];
                ssize_t n = readlinkat(dirfd(d), de->d_name, buf, sizeof(buf) - 1);
                if (n >= 0)
                    it.symlink_path = cc_arena_strndup(a, buf, (size_t)n);
            }
        }
        if (!it.is_dir)
            l->total_size_links += it.size;
        it.name = cc_arena_strdup(a, name);
        it.lower = lower(a, it.name);
        it.url = cc_arena_printf(a, "./%s", escape_path(a, it.name));
        CC_VEC_PUSH(a, &items, it);
        errno = 0;
    }
    closedir(d);
    l->items = items.v;
    l->n = items.n;
    return CC_OK;
}

/* ---- sorting ---- */

static int by_name(const item *x, const item *y)
{
    return strcmp(x->lower, y->lower);
}

static int by_name_dir_first(const item *x, const item *y)
{
    if (x->is_dir != y->is_dir)
        return x->is_dir ? -1 : 1;
    return strcmp(x->lower, y->lower);
}

static int by_size(const item *x, const item *y)
{
    /* directories first, by name, as their size means nothing */
    if (x->is_dir && y->is_dir)
        return strcmp(x->lower, y->lower);
    int64_t xs = x->is_dir ? INT64_MIN : x->size, ys = y->is_dir ? INT64_MIN : y->size;
    return xs < ys ? -1 : xs > ys;
}

static int by_time(const item *x, const item *y)
{
    if (ts_after(y->mtime, x->mtime))
        return -1;
    return ts_after(x->mtime, y->mtime) ? 1 : 0;
}

typedef struct sort_ctx {
    int (*cmp)(const item *, const item *);
    bool desc;
} sort_ctx;

/* A merge sort with the comparison passed along: reentrant (workers sort in parallel,
 * qsort has no context argument) and stable, so equal keys keep directory order. */
static void merge_sort(item *v, item *tmp, size_t n, const sort_ctx *c)
{
    if (n < 2)
        return;
    size_t m = n / 2;
    merge_sort(v, tmp, m, c);
    merge_sort(v + m, tmp, n - m, c);
    size_t i = 0, j = m, k = 0;
    while (i < m && j < n) {
        int d = c->cmp(&v[j], &v[i]);
        if (c->desc)
            d = -d;
        tmp[k++] = d < 0 ? v[j++] : v[i++];
    }
    while (i < m)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof(*v));
}

static void apply_sort_limit(cc_arena *a, listing *l, const char *limit, const char *offset)
{
    sort_ctx c = {NULL, strcmp(l->order, "desc") == 0};
    if (strcmp(l->sort, "name") == 0)
        c.cmp = by_name;
    else if (strcmp(l->sort, "namedirfirst") == 0)
        c.cmp = by_name_dir_first;
    else if (strcmp(l->sort, "size") == 0)
        c.cmp = by_size;
    else if (strcmp(l->sort, "time") == 0)
        c.cmp = by_time;
    if (c.cmp && l->n > 1) {
        item *tmp = cc_arena_alloc(a, l->n * sizeof(*tmp));
        merge_sort(l->items, tmp, l->n, &c);
    }
    if (offset && offset[0]) {
        long long o = atoll(offset);
        if (o > 0 && (size_t)o <= l->n) {
            l->items += o;
            l->n -= (size_t)o;
            l->offset = o;
        }
    }
    if (limit && limit[0]) {
        long long n = atoll(limit);
        if (n > 0 && (size_t)n <= l->n) {
            l->n = (size_t)n;
            l->limit = n;
        }
    }
}

/* Go's Request.Cookie: the first cookie of that exact name, quotes removed. */
static const char *cookie(cc_req *r, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < r->headers.n; i++) {
        if (strcasecmp(r->headers.v[i].name, "Cookie") != 0)
            continue;
        for (const char *s = r->headers.v[i].value; *s;) {
            while (*s == ' ' || *s == ';')
                s++;
            const char *e = strchr(s, ';');
            size_t n = e ? (size_t)(e - s) : strlen(s);
            if (n > nl && strncmp(s, name, nl) == 0 && s[nl] == '=') {
                const char *v = s + nl + 1;
                size_t vn = n - nl - 1;
                while (vn > 0 && v[vn - 1] == ' ')
                    vn--;
                if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
                    v++;
                    vn -= 2;
                }
                return cc_arena_strndup(r->arena, v, vn);
            }
            s += n;
        }
    }
    return NULL;
}

static bool is_sort_by(const char *s)
{
    return strcmp(s, "name") == 0 || strcmp(s, "namedirfirst") == 0 || strcmp(s, "size") == 0 ||
           strcmp(s, "time") == 0;
}

static void set_cookie(cc_req *r, const char *name, const char *value)
{
    cc_headers_add(r->arena, &r->resp.headers, "Set-Cookie",
                   cc_arena_printf(r->arena, "%s=%s; HttpOnly%s; SameSite=Lax", name, value,
                                   r->conn && r->conn->tls ? "; Secure" : ""));
}

/* url.Values.Get: the first value of key, decoded; "" when absent. */
static const char *query_get(cc_arena *a, const char *q, const char *key)
{
    size_t pos = 0, kl = strlen(key);
    cc_qpair p;
    while (cc_query_next(q, &pos, &p)) {
        const char *k = cc_url_unescape(a, p.k, p.kn, true);
        if (!k || strlen(k) != kl || strcmp(k, key) != 0)
            continue;
        const char *v = cc_url_unescape(a, p.v, p.vn, true);
        return v ? v : "";
    }
    return "";
}

static void apply_query(cc_req *r, const cc_fs_listing_req *lr, listing *l)
{
    cc_arena *a = r->arena;
    const char *q = r->query ? r->query : "";
    const char *sort = lr->cfg->sort ? lr->cfg->sort : "";
    const char *order = lr->cfg->order ? lr->cfg->order : "";
    const char *layout = query_get(a, q, "layout");
    const char *limit = query_get(a, q, "limit");
    const char *offset = query_get(a, q, "offset");
    const char *qs = query_get(a, q, "sort");
    if (qs[0])
        sort = qs;
    const char *qo = query_get(a, q, "order");
    if (qo[0])
        order = qo;
    l->layout = !layout[0] || strcmp(layout, "grid") == 0 ? layout : "list";

    if (!sort[0]) {
        const char *c = cookie(r, "sort");
        sort = c ? c : "namedirfirst";
    } else if (is_sort_by(sort)) {
        set_cookie(r, "sort", sort);
    }
    if (!order[0]) {
        const char *c = cookie(r, "order");
        order = c ? c : "asc";
    } else if (strcmp(order, "asc") == 0 || strcmp(order, "desc") == 0) {
        set_cookie(r, "order", order);
    }
    l->sort = sort;
    l->order = order;
    apply_sort_limit(a, l, limit, offset);
}

/* ---- output ---- */

static void write_json(cc_arena *a, charbuf *b, const listing *l)
{
    CC_VEC_PUSH(a, b, '[');
    for (size_t i = 0; i < l->n; i++) {
        const item *it = &l->items[i];
        if (i)
            CC_VEC_PUSH(a, b, ',');
        put(a, b, "{\"name\":");
        put_json_str(a, b, it->name);
        putf(a, b, ",\"size\":%lld,\"url\":", (long long)it->size);
        put_json_str(a, b, it->url);
        putf(a, b, ",\"mod_time\":\"%s\",\"mode\":%u,\"is_dir\":%s,\"is_symlink\":%s",
             rfc3339_nano(a, it->mtime), it->mode, it->is_dir ? "true" : "false",
             it->is_symlink ? "true" : "false");
        if (it->symlink_path && it->symlink_path[0]) {
            put(a, b, ",\"symlink_path\":");
            put_json_str(a, b, it->symlink_path);
        }
        CC_VEC_PUSH(a, b, '}');
    }
    put(a, b, "]\n");
}

static size_t rune_count(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

/* text/tabwriter with tab padding, as Caddy's text/plain listing uses it: every cell
 * but the last of a line is padded with tabs to a tab stop past the widest cell. */
static void write_text(cc_arena *a, charbuf *b, const listing *l)
{
    size_t rows = l->n + 2;
    const char **c0 = cc_arena_alloc(a, rows * sizeof(*c0));
    const char **c1 = cc_arena_alloc(a, rows * sizeof(*c1));
    const char **c2 = cc_arena_alloc(a, rows * sizeof(*c2));
    c0[0] = "Name", c1[0] = "Size", c2[0] = "Modified";
    c0[1] = "----", c1[1] = "----", c2[1] = "--------";
    for (size_t i = 0; i < l->n; i++) {
        c0[i + 2] = l->items[i].name;
        c1[i + 2] = human_size(a, l->items[i].size);
        c2[i + 2] = fmt_time(a, l->items[i].mtime, "text");
    }
    size_t w0 = 0, w1 = 0;
    for (size_t i = 0; i < rows; i++) {
        if (rune_count(c0[i]) + 1 > w0)
            w0 = rune_count(c0[i]) + 1;
        if (rune_count(c1[i]) + 1 > w1)
            w1 = rune_count(c1[i]) + 1;
    }
    w0 = (w0 + 7) / 8 * 8;
    w1 = (w1 + 7) / 8 * 8;
    for (size_t i = 0; i < rows; i++) {
        put(a, b, c0[i]);
        for (size_t t = (w0 - rune_count(c0[i]) + 7) / 8; t > 0; t--)
            CC_VEC_PUSH(a, b, '\t');
        put(a, b, c1[i]);
        for (size_t t = (w1 - rune_count(c1[i]) + 7) / 8; t > 0; t--)
            CC_VEC_PUSH(a, b, '\t');
        put(a, b, c2[i]);
        CC_VEC_PUSH(a, b, '\n');
    }
}

static const char page_style[] =
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;margin:0;"
    "color:#222;background:#fff}"
    "header{padding:1.2em 2em;background:#f3f5f7;border-bottom:1px solid #dde1e6}"
    "h1{font-size:1.25em;margin:0;font-weight:normal;word-break:break-all}"
    "h1 a{text-decoration:none}a{color:#0b5cad}"
    "main{padding:1em 2em}.meta{color:#666;margin:.2em 0 1em}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:.35em .7em;border-bottom:1px solid #eee;white-space:nowrap}"
    "th a{color:inherit}th.size,td.size{text-align:right}"
    "td.name{white-space:normal;word-break:break-all}tr.dir td.name a{font-weight:600}"
    ".target{color:#888}"
    "@media (prefers-color-scheme:dark){body{background:#16181b;color:#ddd}"
    "header{background:#1e2125;border-color:#33373c}th,td{border-color:#2a2d31}"
    "a{color:#6ab0ff}.meta,.target{color:#999}}";

/* One sortable column heading: clicking the active column flips the order. */
static void sort_heading(cc_arena *a, charbuf *b, const listing *l, const char *cls,
                         const char *key, const char *label)
{
    bool active = strcmp(l->sort, key) == 0 ||
                  (strcmp(key, "namedirfirst") == 0 && strcmp(l->sort, "name") == 0);
    const char *k = active ? l->sort : key;
    bool desc = strcmp(l->order, "desc") == 0;
    const char *next = active && !desc ? "desc" : "asc";
    putf(a, b, "<th class=\"%s\"><a href=\"?sort=%s&amp;order=%s\">%s</a>", cls, k, next, label);
    if (active)
        put(a, b, desc ? " &#8595;" : " &#8593;");
    put(a, b, "</th>");
}

static void write_html(cc_arena *a, charbuf *b, const listing *l)
{
    put(a, b,
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>");
    put_html(a, b, l->name);
    put(a, b, "</title>\n<style>");
    put(a, b, page_style);
    put(a, b, "</style>\n</head>\n<body>\n<header><h1>");

    /* breadcrumbs: each path element links to itself with the right number of "../" */
    const char *p = l->path;
    size_t pl = strlen(p);
    if (pl > 1 && p[pl - 1] == '/')
        pl--;
    size_t nparts = 1;
    for (size_t i = 0; i < pl; i++)
        nparts += p[i] == '/';
    size_t idx = 0;
    for (size_t s = 0; s <= pl; idx++) {
        size_t e = s;
        while (e < pl && p[e] != '/')
            e++;
        const char *part = cc_arena_strndup(a, p + s, e - s);
        if (idx == 0 && !part[0])
            part = "/";
        const char *text = cc_url_unescape(a, part, strlen(part), false);
        put(a, b, "<a href=\"");
        for (size_t k = idx + 1; k < nparts; k++)
            put(a, b, "../");
        if (idx + 1 == nparts)
            put(a, b, "./");
        put(a, b, "\">");
        put_html(a, b, text ? text : part);
        put(a, b, "</a>");
        if (idx > 0 && idx + 1 < nparts)
            put(a, b, "/");
        s = e + 1;
    }
    put(a, b, "</h1></header>\n<main>\n");
    putf(a, b, "<div class=\"meta\">%zu director%s, %zu file%s, %s</div>\n", l->num_dirs,
         l->num_dirs == 1 ? "y" : "ies", l->num_files, l->num_files == 1 ? "" : "s",
         human_size(a, l->total_size));
    putf(a, b, "<table class=\"layout-%s\">\n<thead><tr>", l->layout[0] ? l->layout : "list");
    sort_heading(a, b, l, "name", "namedirfirst", "Name");
    sort_heading(a, b, l, "size", "size", "Size");
    sort_heading(a, b, l, "time", "time", "Modified");
    put(a, b, "</tr></thead>\n<tbody>\n");
    if (l->can_go_up)
        put(a, b,
            "<tr class=\"dir up\"><td class=\"name\"><a href=\"..\">&#8617; Up</a></td>"
            "<td class=\"size\">&#8212;</td><td class=\"time\"></td></tr>\n");
    for (size_t i = 0; i < l->n; i++) {
        const item *it = &l->items[i];
        putf(a, b, "<tr class=\"%s\"><td class=\"name\"><a href=\"", it->is_dir ? "dir" : "file");
        put_html(a, b, it->url);
        put(a, b, "\">");
        put_html(a, b, it->name);
        put(a, b, "</a>");
        if (it->symlink_path) {
            put(a, b, " <span class=\"target\">&#8594; ");
            put_html(a, b, it->symlink_path);
            put(a, b, "</span>");
        }
        put(a, b, "</td>");
        if (it->is_dir)
            put(a, b, "<td class=\"size\">&#8212;</td>");
        else
            putf(a, b, "<td class=\"size\" data-size=\"%lld\">%s</td>", (long long)it->size,
                 human_size(a, it->size));
        putf(a, b, "<td class=\"time\"><time datetime=\"%s\">%s</time></td></tr>\n",
             rfc3339_nano(a, it->mtime), fmt_time(a, it->mtime, "html"));
    }
    put(a, b, "</tbody>\n</table>\n</main>\n</body>\n</html>\n");
}

static int open_error(cc_req *r, int err)
{
    if (err == ENOENT || err == ENOTDIR)
        return cc_req_fail(r, 404, "%s", strerror(err));
    if (err == EACCES || err == EPERM)
        return cc_req_fail(r, 403, "%s", strerror(err));
    /* out of file descriptors, probably: have the client back off a little */
    cc_headers_set(r->arena, &r->resp.headers, "Retry-After",
                   cc_arena_printf(r->arena, "%d", (int)(2 + cc_rand64() % 3)));
    return cc_req_fail(r, 503, "%s", strerror(err));
}

int cc_fs_serve_browse(cc_req *r, const cc_fs_listing_req *lr)
{
    cc_arena *a = r->arena;
    /* relative links in the page need the trailing slash; only when the last path
     * element was not rewritten, so an explicit rewrite never loops */
    const char *orig = r->orig_path ? r->orig_path : r->path;
    if (!r->path[0] || strcmp(cc_fs_base(a, orig), cc_fs_base(a, r->path)) == 0) {
        size_t ol = strlen(orig);
        if (ol == 0 || orig[ol - 1] != '/') {
            cc_fs_redirect(r, cc_arena_printf(a, "%s/", orig));
            return CC_OK;
        }
    }

    int dfd = open(lr->dir[0] ? lr->dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return open_error(r, errno);
    listing l = {0};
    const char *raw = r->raw_path && r->raw_path[0] ? r->raw_path : escape_path(a, r->path);
    l.path = cc_fs_clean(a, raw);
    const char *unesc = cc_url_unescape(a, l.path, strlen(l.path), false);
    l.name = cc_fs_base(a, unesc ? unesc : l.path);
    l.can_go_up = strlen(l.path) > 1;
    if (read_listing(r, lr, dfd, &l) != CC_OK)
        return CC_ERR;

    cc_headers_add(a, &r->resp.headers, "Vary", "Accept, Accept-Encoding");
    time_t ims;
    const char *ims_h = cc_headers_get(&r->headers, "If-Modified-Since");
    if (ims_h && ims_h[0] && cc_http_parse_date(ims_h, &ims) && l.last_modified.tv_sec <= ims) {
        r->resp.status = 304;
        r->resp.body = NULL;
        return CC_OK;
    }

    apply_query(r, lr, &l);

    const char *acc = cc_headers_get_joined(a, &r->headers, "Accept");
    acc = acc ? lower(a, acc) : "";
    char date[32];
    cc_http_date(date, l.last_modified.tv_sec);
    cc_headers_set(a, &r->resp.headers, "Last-Modified", cc_arena_strdup(a, date));

    charbuf b = {0};
    const char *ctype;
    if (strstr(acc, "application/json")) {
        write_json(a, &b, &l);
        ctype = "application/json; charset=utf-8";
    } else if (strstr(acc, "text/plain")) {
        write_text(a, &b, &l);
        ctype = "text/plain; charset=utf-8";
    } else {
        write_html(a, &b, &l);
        ctype = "text/html; charset=utf-8";
    }
    cc_headers_set(a, &r->resp.headers, "Content-Type", ctype);
    r->resp.status = 200;
    r->resp.body = cc_body_mem(a, b.v, b.n);
    return CC_OK;
}
