/* SPDX-License-Identifier: Apache-2.0
 * The file-system storage backend (Caddy's `file_system` module): certmagic's layout,
 * one file per key under the root, so a caddy-c data directory and a Caddy one look
 * alike. Writes go to a temporary file that is renamed into place; locks are
 * locks/<safe name>.lock files created with O_EXCL, holding certmagic's
 * {"created","updated"} JSON (plus our owner id), refreshed by the keeper. */
#include "filesystem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define TMP_MARK ".caddyc-tmp-"

typedef struct fs_sto {
    sto_base b;
    char *root;
} fs_sto;

static char *join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = malloc(na + nb + 2);
    if (!p)
        return NULL;
    memcpy(p, a, na);
    p[na] = '/';
    memcpy(p + na + 1, b, nb + 1);
    if (!nb)
        p[na] = 0;
    return p;
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static char *read_all(int fd, size_t *n)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (len == cap) {
            char *b = realloc(buf, (cap *= 2) + 1);
            if (!b)
                break;
            buf = b;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        if (r == 0) {
            buf[len] = 0;
            *n = len;
            return buf;
        }
        len += (size_t)r;
    }
    free(buf);
    return NULL;
}

/* Writes data to a fresh temporary file next to path and renames it over path. */
static int replace_file(const char *path, const void *data, size_t n)
{
    char *tmp = malloc(strlen(path) + sizeof(TMP_MARK) + 17);
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    uint64_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint64_t)getpid() ^ (uint64_t)(uintptr_t)tmp ^ (uint64_t)time(NULL);
    sprintf(tmp, "%s" TMP_MARK "%016llx", path, (unsigned long long)r);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    int rc = write_all(fd, data, n);
    if (rc == 0)
        rc = fsync(fd);
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0)
        rc = rename(tmp, path);
    if (rc != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
    }
    free(tmp);
    return rc;
}

/* mkdir -p of the directories of key below root. */
static int make_dirs(fs_sto *f, const char *path, const char *key, cc_err *err)
{
    char *p = strdup(path);
    if (!p)
        return sto_fail(err, CC_ENOMEM, "storage: out of memory storing '%s'", key);
    int rc = CC_OK;
    size_t rn = strlen(f->root);
    for (char *s = strchr(p + rn + 1, '/'); s && rc == CC_OK; s = strchr(s + 1, '/')) {
        *s = 0;
        struct stat st;
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            rc = sto_fail(err, CC_EIO, "storage: creating directory %s: %s", p, strerror(errno));
        else if (stat(p, &st) == 0 && !S_ISDIR(st.st_mode))
            rc = sto_fail(err, CC_EINVAL, "storage: cannot store '%s': '%s' is a key", key,
                          p + rn + 1);
        *s = '/';
    }
    free(p);
    return rc;
}

static int f_store(cc_storage *s, const char *key, const void *val, size_t n, cc_err *err)
{
    fs_sto *f = (fs_sto *)s;
    int rc = sto_check_key(key, false, "key", err);
    if (rc != CC_OK)
        return rc;
    char *path = join(f->root, key);
    if (!path)
        return sto_fail(err, CC_ENOMEM, "storage: out of memory storing '%s'", key);
    /* a concurrent delete may prune the directories between mkdir and create */
    for (int attempt = 0; rc == CC_OK; attempt++) {
        if ((rc = make_dirs(f, path, key, err)) != CC_OK)
            break;
        if (replace_file(path, val, n) == 0)
            break;
        if (errno == EISDIR)
            rc = sto_fail(err, CC_EINVAL,
                          "storage: cannot store '%s': it is a prefix of other keys", key);
        else if (errno != ENOENT || attempt == 8)
            rc = sto_fail(err, CC_EIO, "storage: writing %s: %s", path, strerror(errno));
    }
    free(path);
    return rc;
}

static int f_load(cc_storage *s, const char *key, char **val, size_t *n, cc_err *err)
{
    fs_sto *f = (fs_sto *)s;
    *val = NULL;
    *n = 0;
    int rc = sto_check_key(key, false, "key", err);
    if (rc != CC_OK)
        return rc;
    char *path = join(f->root, key);
    if (!path)
        return sto_fail(err, CC_ENOMEM, "storage: out of memory loading '%s'", key);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
        rc = sto_fail(err, CC_ENOTFOUND, "storage: key not found: %s", key);
    } else if (fd < 0) {
        rc = sto_fail(err, CC_EIO, "storage: opening %s: %s", path, strerror(errno));
    } else if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = sto_fail(err, CC_ENOTFOUND, "storage: key not found: %s", key);
    } else if (!(*val = read_all(fd, n))) {
        rc = sto_fail(err, CC_EIO, "storage: reading %s: %s", path, strerror(errno));
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

static bool is_dir_at(int dfd, struct dirent *de)
{
    if (de->d_type != DT_UNKNOWN)
        return de->d_type == DT_DIR;
    struct stat st;
    return fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static bool skip_name(const char *name)
{
    return !strcmp(name, ".") || !strcmp(name, "..") || strstr(name, TMP_MARK);
}

/* Counts the key files below dir (storage key `key`), adding their keys to out when
 * given and their newest mtime to *newest; stops at the first when first_only. */
static long scan(const char *dir, const char *key, sto_keys *out, bool first_only, int64_t *newest)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
    long found = 0;
    struct dirent *de;
    while ((de = readdir(d)) && !(first_only && found)) {
        if (skip_name(de->d_name))
            continue;
        char *sub = join(dir, de->d_name), *subkey = join(key, de->d_name);
        if (!*key && subkey)
            memmove(subkey, subkey + 1, strlen(subkey));
        long r = -1;
        if (sub && subkey) {
            if (is_dir_at(dirfd(d), de)) {
                r = scan(sub, subkey, out, first_only, newest);
            } else {
                struct stat st;
                r = 0;
                if (stat(sub, &st) == 0) {
                    r = 1;
                    if (newest && mtime_ns(&st) > *newest)
                        *newest = mtime_ns(&st);
                    if (out && sto_keys_push(out, subkey, strlen(subkey)) != CC_OK)
                        r = -1;
                }
            }
        }
        free(sub);
        free(subkey);
        if (r < 0) {
            found = -1;
            break;
        }
        found += r;
    }
    closedir(d);
    return found;
}

/* Removes dir's tree; counts removed key files. */
static long remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    long removed = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *sub = join(dir, de->d_name);
        if (!sub) {
            removed = -1;
            break;
        }
        if (is_dir_at(dirfd(d), de)) {
            long r = remove_tree(sub);
            removed = r < 0 || removed < 0 ? -1 : removed + r;
        } else if (unlink(sub) == 0 && !strstr(de->d_name, TMP_MARK) && removed >= 0) {
            removed++;
        }
        free(sub);
    }
    closedir(d);
    if (rmdir(dir) != 0 && errno != ENOENT)
        return -1;
    return removed;
}

/* Deletes the directories a delete left empty, up to the root, as the other backends
 * have no directories without keys. */
static void prune(fs_sto *f, char *path)
{
    size_t rn = strlen(f->root);
    for (char *s = strrchr(path, '/'); s && (size_t)(s - path) > rn; s = strrchr(path, '/')) {
        *s = 0;
        if (rmdir(path) != 0)
            break;
    }
}

static int f_del(cc_storage *s, const char *key, cc_err *err)
{
    fs_sto *f = (fs_sto *)s;
    int rc = sto_check_key(key, false, "key", err);
    if (rc != CC_OK)
        return rc;
    char *path = join(f->root, key);
    if (!path)
        return sto_fail(err, CC_ENOMEM, "storage: out of memory deleting '%s'", key);
    struct stat st;
    long removed = 0;
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            rc = sto_fail(err, CC_EIO, "storage: deleting %s: %s", path, strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        removed = remove_tree(path);
        if (removed < 0)
            rc = sto_fail(err, CC_EIO, "storage: deleting %s: %s", path, strerror(errno));
    } else if (unlink(path) == 0) {
        removed = 1;
    } else if (errno != ENOENT) {
        rc = sto_fail(err, CC_EIO, "storage: deleting %s: %s", path, strerror(errno));
    }
    if (rc == CC_OK && !removed)
        rc = sto_fail(err, CC_ENOTFOUND, "storage: key not found: %s", key);
    if (rc == CC_OK)
        prune(f, path);
    free(path);
    return rc;
}

static bool f_exists(cc_storage *s, const char *key)
{
    fs_sto *f = (fs_sto *)s;
    if (sto_check_key(key, false, "key", NULL) != CC_OK)
        return false;
    char *path = join(f->root, key);
    struct stat st;
    bool yes = path && stat(path, &st) == 0 &&
               (!S_ISDIR(st.st_mode) || scan(path, key, NULL, true, NULL) > 0);
    free(path);
    return yes;
}

static int f_list(cc_storage *s, const char *prefix, bool recursive, char ***keys, size_t *n,
                  cc_err *err)
{
    fs_sto *f = (fs_sto *)s;
    *keys = NULL;
    *n = 0;
    int rc = sto_check_key(prefix, true, "prefix", err);
    if (rc != CC_OK)
        return rc;
    char *path = join(f->root, prefix);
    if (!path)
        return sto_fail(err, CC_ENOMEM, "storage: out of memory listing '%s'", prefix);
    sto_keys files = {0}, k = {0};
    if (recursive) {
        if (scan(path, prefix, &files, false, NULL) < 0)
            rc = sto_fail(err, CC_EIO, "storage: listing %s: %s", path, strerror(errno));
        for (size_t i = 0; rc == CC_OK && i < files.n; i++)
            if (sto_keys_add_below(&k, prefix, files.v[i], true) != CC_OK)
                rc = sto_fail(err, CC_ENOMEM, "storage: out of memory listing '%s'", prefix);
    } else {
        DIR *d = opendir(path);
        if (!d && errno != ENOENT && errno != ENOTDIR)
            rc = sto_fail(err, CC_EIO, "storage: listing %s: %s", path, strerror(errno));
        struct dirent *de;
        while (d && rc == CC_OK && (de = readdir(d))) {
            if (skip_name(de->d_name))
                continue;
            char *sub = join(path, de->d_name), *subkey = join(prefix, de->d_name);
            if (!*prefix && subkey)
                memmove(subkey, subkey + 1, strlen(subkey));
            if (!sub || !subkey)
                rc = sto_fail(err, CC_ENOMEM, "storage: out of memory listing '%s'", prefix);
            else if (!is_dir_at(dirfd(d), de) || scan(sub, subkey, NULL, true, NULL) > 0)
                if (sto_keys_push(&k, subkey, strlen(subkey)) != CC_OK)
                    rc = sto_fail(err, CC_ENOMEM, "storage: out of memory listing '%s'", prefix);
            free(sub);
            free(subkey);
        }
        if (d)
            closedir(d);
    }
    sto_keys_free(&files);
    free(path);
    if (rc != CC_OK) {
        sto_keys_free(&k);
        return rc;
    }
    return sto_keys_finish(&k, prefix, keys, n, err);
}

static int f_stat(cc_storage *s, const char *key, cc_storage_info *info, cc_err *err)
{
    fs_sto *f = (fs_sto *)s;
    memset(info, 0, sizeof(*info));
    info->key = key;
    int rc = sto_check_key(key, false, "key", err);
    if (rc != CC_OK)
        return rc;
    char *path = join(f->root, key);
    if (!path)
        return sto_fail(err, CC_ENOMEM, "storage: out of memory in stat of '%s'", key);
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            rc = sto_fail(err, CC_ENOTFOUND, "storage: key not found: %s", key);
        else
            rc = sto_fail(err, CC_EIO, "storage: stat %s: %s", path, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        info->is_terminal = true;
        info->size = (int64_t)st.st_size;
        info->modified_unix_ns = mtime_ns(&st);
    } else {
        long r = scan(path, key, NULL, false, &info->modified_unix_ns);
        if (r < 0)
            rc = sto_fail(err, CC_EIO, "storage: stat %s: %s", path, strerror(errno));
        else if (r == 0)
            rc = sto_fail(err, CC_ENOTFOUND, "storage: key not found: %s", key);
    }
    free(path);
    return rc;
}

/* certmagic's StorageKeys.Safe, which names lock files. */
static void safe_name(const char *in, char *out, size_t cap)
{
    while (*in == ' ' || *in == '\t' || *in == '\n' || *in == '\r')
        in++;
    size_t len = strlen(in);
    while (len && (in[len - 1] == ' ' || in[len - 1] == '\t' || in[len - 1] == '\n' ||
                   in[len - 1] == '\r'))
        len--;
    size_t o = 0;
    for (size_t i = 0; i < len && o + 10 < cap; i++) {
        char c = in[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        const char *rep = NULL;
        if (c == ' ')
            rep = "_";
        else if (c == '+')
            rep = "_plus_";
        else if (c == '*')
            rep = "wildcard_";
        else if (c == ':')
            rep = "-";
        else if (c == '.' && in[i + 1] == '.') {
            i++;
            continue;
        }
        if (rep) {
            memcpy(out + o, rep, strlen(rep));
            o += strlen(rep);
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '@' ||
                   c == '.' || c == '-') {
            out[o++] = c;
        }
    }
    out[o] = 0;
}

static char *lock_path(fs_sto *f, const char *name)
{
    char safe[512];
    safe_name(name, safe, sizeof(safe));
    if (!*safe)
        return NULL;
    size_t n = strlen(f->root) + strlen(safe) + 16;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/locks/%s.lock", f->root, safe);
    return p;
}

static void fmt_time(int64_t ns, char *buf, size_t n)
{
    time_t sec = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t w = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + w, n - w, ".%09lldZ", (long long)(ns % 1000000000));
}

/* RFC 3339 as Go's time.Time marshals it; -1 when unparsable. */
static int64_t parse_time(const char *s)
{
    struct tm tm = {0};
    int used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &used) != 6 ||
        used != 19)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t ns = (int64_t)timegm(&tm) * 1000000000;
    s += used;
    if (*s == '.') {
        int64_t scale = 100000000;
        for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
            ns += (*s - '0') * scale;
    }
    if (*s == 'Z' || *s == 'z')
        return ns;
    int hh, mm;
    if ((*s == '+' || *s == '-') && sscanf(s + 1, "%2d:%2d", &hh, &mm) == 2) {
        int64_t off = ((int64_t)hh * 3600 + mm * 60) * 1000000000;
        return *s == '+' ? ns - off : ns + off;
    }
    return -1;
}

/* The string value of "field" in a flat JSON object, copied into buf. */
static bool json_field(const char *js, const char *field, char *buf, size_t n)
{
    char pat[32];
    snprintf(pat, sizeof(pat), "\"%s\"", field);
    const char *p = strstr(js, pat);
    if (!p)
        return false;
    p += strlen(pat);
    while (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n')
        p++;
    if (*p++ != '"')
        return false;
    const char *e = strchr(p, '"');
    if (!e || (size_t)(e - p) >= n)
        return false;
    memcpy(buf, p, (size_t)(e - p));
    buf[e - p] = 0;
    return true;
}

typedef struct lock_meta {
    bool exists;
    int64_t created;
    int64_t updated; /* ns; the file's mtime when the content is not (yet) written */
    char owner[96];
} lock_meta;

static lock_meta read_lock(const char *path)
{
    lock_meta m = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return m;
    m.exists = true;
    struct stat st;
    m.updated = fstat(fd, &st) == 0 ? mtime_ns(&st) : 0;
    size_t n;
    char *js = read_all(fd, &n);
    close(fd);
    char t[64];
    int64_t v;
    m.created = m.updated;
    if (js && json_field(js, "created", t, sizeof(t)) && (v = parse_time(t)) >= 0)
        m.created = m.updated = v;
    if (js && json_field(js, "updated", t, sizeof(t)) && (v = parse_time(t)) >= 0)
        m.updated = v;
    if (js && !json_field(js, "owner", m.owner, sizeof(m.owner)))
        m.owner[0] = 0;
    free(js);
    return m;
}

static void lock_json(char *buf, size_t n, int64_t created, int64_t updated, const char *owner)
{
    char c[48], u[48];
    fmt_time(created, c, sizeof(c));
    fmt_time(updated, u, sizeof(u));
    snprintf(buf, n, "{\"created\":\"%s\",\"updated\":\"%s\",\"owner\":\"%s\"}", c, u, owner);
}

static int try_lock(void *be, const char *name, const char *owner, int64_t now_ns, int64_t stale_ns,
                    cc_err *err)
{
    fs_sto *f = be;
    char *path = lock_path(f, name);
    if (!path)
        return sto_fail(err, CC_EINVAL, "storage: bad lock name '%s'", name);
    char *dir = join(f->root, "locks");
    if (dir && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        sto_fail(err, CC_EIO, "storage: creating %s: %s", dir, strerror(errno));
        free(dir);
        free(path);
        return CC_EIO;
    }
    free(dir);
    int rc = 0;
    for (int round = 0; round < 2 && rc == 0; round++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            char js[256];
            lock_json(js, sizeof(js), now_ns, now_ns, owner);
            int w = write_all(fd, js, strlen(js));
            close(fd);
            if (w != 0) {
                unlink(path);
                rc = sto_fail(err, CC_EIO, "storage: writing %s: %s", path, strerror(errno));
            } else {
                rc = 1;
            }
            break;
        }
        if (errno != EEXIST) {
            rc = sto_fail(err, CC_EIO, "storage: creating %s: %s", path, strerror(errno));
            break;
        }
        lock_meta m = read_lock(path);
        if (m.exists && m.updated >= now_ns - stale_ns)
            break;
        /* Stale: move it aside atomically, then make sure what we moved was the stale
         * file and not a fresh lock another waiter created meanwhile. */
        char aside[600];
        snprintf(aside, sizeof(aside), "%s.stale-%s", path, owner);
        if (rename(path, aside) != 0)
            continue;
        lock_meta moved = read_lock(aside);
        if (moved.exists && moved.updated >= now_ns - stale_ns) {
            /* put it back; fails only when yet another waiter locked meanwhile */
            link(aside, path);
            unlink(aside);
            break;
        }
        unlink(aside);
    }
    free(path);
    return rc;
}

static void refresh(void *be, const char *name, const char *owner, int64_t now_ns)
{
    fs_sto *f = be;
    char *path = lock_path(f, name);
    if (!path)
        return;
    lock_meta m = read_lock(path);
    if (m.exists && (!m.owner[0] || strcmp(m.owner, owner) == 0)) {
        char js[256];
        lock_json(js, sizeof(js), m.created, now_ns, owner);
        replace_file(path, js, strlen(js));
    }
    free(path);
}

static int release(void *be, const char *name, const char *owner, cc_err *err)
{
    fs_sto *f = be;
    char *path = lock_path(f, name);
    if (!path)
        return sto_fail(err, CC_EINVAL, "storage: bad lock name '%s'", name);
    lock_meta m = read_lock(path);
    int rc = CC_OK;
    if (!m.exists || (m.owner[0] && strcmp(m.owner, owner) != 0))
        rc = sto_fail(err, CC_ERR, "storage: lock '%s' was taken over by another holder", name);
    else if (unlink(path) != 0 && errno != ENOENT)
        rc = sto_fail(err, CC_EIO, "storage: removing %s: %s", path, strerror(errno));
    free(path);
    return rc;
}

static const sto_lock_ops lock_ops = {try_lock, refresh, release};

static int f_lock(cc_storage *s, const char *name, int64_t timeout_ns, cc_err *err)
{
    return sto_keeper_lock(&((fs_sto *)s)->b.keep, name, timeout_ns, err);
}

static int f_unlock(cc_storage *s, const char *name, cc_err *err)
{
    return sto_keeper_unlock(&((fs_sto *)s)->b.keep, name, err);
}

static void f_close(cc_storage *s)
{
    fs_sto *f = (fs_sto *)s;
    if (!f)
        return;
    sto_keeper_fini(&f->b.keep);
    free(f->root);
    free(f);
}

static const cc_storage_ops fs_ops = {
    .abi = CC_STORAGE_ABI,
    .name = "file_system",
    .store = f_store,
    .load = f_load,
    .del = f_del,
    .exists = f_exists,
    .list = f_list,
    .stat = f_stat,
    .lock = f_lock,
    .unlock = f_unlock,
    .close = f_close,
};

cc_storage *cc_storage_fs_open(const char *root, cc_err *err)
{
    if (!root || !*root) {
        sto_fail(err, CC_EINVAL, "storage: file_system: root is empty");
        return NULL;
    }
    fs_sto *f = calloc(1, sizeof(*f));
    if (!f || !(f->root = strdup(root))) {
        free(f);
        sto_fail(err, CC_ENOMEM, "storage: out of memory");
        return NULL;
    }
    size_t n = strlen(f->root);
    while (n > 1 && f->root[n - 1] == '/')
        f->root[--n] = 0;
    for (char *p = f->root + 1;; p++) {
        if (*p && *p != '/')
            continue;
        char c = *p;
        *p = 0;
        if (mkdir(f->root, 0700) != 0 && errno != EEXIST) {
            sto_fail(err, CC_EIO, "storage: creating %s: %s", f->root, strerror(errno));
            *p = c;
            free(f->root);
            free(f);
            return NULL;
        }
        *p = c;
        if (!c)
            break;
    }
    struct stat st;
    if (stat(f->root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        sto_fail(err, CC_EIO, "storage: file_system root %s is not a directory", f->root);
        free(f->root);
        free(f);
        return NULL;
    }
    f->b.s.ops = &fs_ops;
    sto_keeper_init(&f->b.keep, &lock_ops, f);
    return &f->b.s;
}
