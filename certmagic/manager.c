/* SPDX-License-Identifier: Apache-2.0
 * The certificate manager (certmagic.h): cc_certmagic_start publishes what is ready at
 * once (loaded files, certificates already in storage), and one background thread
 * obtains what is missing and renews what is due: internal CA or ACME issuers in the
 * policy's order, a storage lock per name so instances sharing a storage issue once,
 * certmagic's backoff after failures, ARI for ACME certificates. Workers only ever read
 * the cache, so nothing they do waits for this thread. */
#include "manager_priv.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../core/storage.h"
#include "acme.h"
#include "crypto.h"
#include "store.h"

/* certmagic's retry schedule after a failed attempt (seconds), then every 6 hours. */
static const int backoff_s[] = {60,   120,  120,  300,  600,  600,  600,   1200,
                                1200, 1200, 1200, 1800, 1800, 1800, 1800,  1800,
                                1800, 3600, 3600, 3600, 7200, 7200, 10800, 10800};
#define BACKOFF_MAX 21600
#define ARI_REFRESH 21600

typedef struct mname {
    char *name;
    size_t policy;
    bool have; /* a certificate is published */
    time_t nb, na;
    char *leaf_pem; /* for ARI */
    bool acme;
    time_t ari_start, ari_next; /* 0 = unknown */
    int failures;
    time_t next_try;
    bool busy; /* being worked on by the thread */
} mname;

typedef struct mca {
    cc_ca *ca;
    char *sig; /* the configuration it was opened with */
} mca;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thr;
    bool running;
    atomic_bool cancel;
    cc_arena *plan_arena;
    cc_autohttps *plan;
    cc_storage *st;
    mname *names;
    size_t nnames;
    mca *cas;
    size_t ncas;
    uint64_t gen; /* plan generation */
} M = {.mu = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t cv_once = PTHREAD_ONCE_INIT;

static void cv_init(void)
{
    pthread_condattr_t at;
    pthread_condattr_init(&at);
    pthread_condattr_setclock(&at, CLOCK_MONOTONIC);
    pthread_cond_init(&M.cv, &at);
    pthread_condattr_destroy(&at);
}

static void mlog(cc_log_level lvl, const char *logger, const char *msg, ...)
{
    cc_arena *a = cc_arena_new(1024);
    cc_cfg *extra = cc_cfg_obj(a);
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        cc_cfg_set_str(a, extra, k, v ? v : "");
    }
    va_end(ap);
    cc_log(lvl, logger, extra->obj.n ? extra : NULL, "%s", msg);
    cc_arena_free(a);
}

/* ---- timing ---- */

time_t cm_due(const mname_view *v, time_t now)
{
    if (!v->have)
        return now;
    double life = difftime(v->na, v->nb);
    double ratio = v->ratio > 0 && v->ratio < 1 ? v->ratio : 1.0 / 3;
    time_t due = v->na - (time_t)(life * ratio);
    if (v->acme && v->ari_start > 0) {
        /* the CA's window wins, except in an emergency (1/20 of the lifetime left) */
        time_t emergency = v->na - (time_t)(life / 20);
        due = v->ari_start < emergency ? v->ari_start : emergency;
    }
    return due;
}

int cm_backoff(int failures)
{
    int n = (int)(sizeof(backoff_s) / sizeof(backoff_s[0]));
    if (failures <= 0)
        return 0;
    return failures <= n ? backoff_s[failures - 1] : BACKOFF_MAX;
}

static time_t name_wake(const mname *n, const cc_autohttps *plan, time_t now)
{
    mname_view v = {n->have, n->nb,       n->na, plan->policies[n->policy].renewal_ratio,
                    n->acme, n->ari_start};
    time_t t = cm_due(&v, now);
    if (n->next_try > t)
        t = n->next_try;
    if (n->have && n->acme && n->ari_next > 0 && n->ari_next < t)
        t = n->ari_next;
    return t;
}

/* ---- publishing ---- */

static const char *issuer_storage_key(const cc_ah_issuer *iss, char **owned)
{
    *owned = NULL;
    if (iss->kind == CC_ISS_INTERNAL)
        return iss->ca;
    *owned = cc_certstore_acme_issuer_key(iss->directory);
    return *owned;
}

/* Parses and publishes; fills the name's state. */
static int publish(mname *n, const char *chain, size_t cl, const char *key, size_t kl, bool acme,
                   const char *iss_key, cc_err *err)
{
    char label[300];
    snprintf(label, sizeof(label), "%s%s", acme ? "acme-" : "internal", acme ? iss_key : "");
    cc_cert *c = cc_cert_from_pem(chain, cl, key, kl, label, true, err);
    if (!c)
        return CC_ERR;
    n->have = true;
    n->nb = c->not_before;
    n->na = c->not_after;
    n->acme = acme;
    free(n->leaf_pem);
    n->leaf_pem = cc_xstrdup(chain);
    n->ari_start = 0;
    n->ari_next = acme ? time(NULL) : 0;
    cc_certcache_put(c);
    cc_cert_unref(c);
    return CC_OK;
}

/* The newest usable certificate in storage for name under any of the policy's issuers. */
static int load_stored(cc_storage *st, const cc_ah_policy *pol, const char *name, cc_certres *best,
                       bool *best_acme, char **best_key, cc_err *err)
{
    time_t best_na = 0;
    int found = CC_ENOTFOUND;
    for (size_t i = 0; i < pol->nissuers; i++) {
        char *owned;
        const char *ik = issuer_storage_key(&pol->issuers[i], &owned);
        cc_certres r;
        cc_err e = {0};
        int rc = cc_certres_load(st, ik, name, &r, &e);
        if (rc != CC_OK) {
            if (rc != CC_ENOTFOUND)
                mlog(CC_LOG_WARN, "tls", "loading stored certificate", "identifier", name, "error",
                     e.msg, NULL);
            free(owned);
            continue;
        }
        cc_cert *c = cc_cert_from_pem(r.chain, r.chain_len, r.key, r.key_len, "stored", true, &e);
        if (!c || c->not_after <= time(NULL) || c->not_after <= best_na) {
            if (!c)
                mlog(CC_LOG_WARN, "tls", "stored certificate is unusable", "identifier", name,
                     "error", e.msg, NULL);
            cc_cert_unref(c);
            cc_certres_free(&r);
            free(owned);
            continue;
        }
        best_na = c->not_after;
        cc_cert_unref(c);
        if (found == CC_OK) {
            cc_certres_free(best);
            free(*best_key);
        }
        *best = r;
        *best_acme = pol->issuers[i].kind == CC_ISS_ACME;
        *best_key = cc_xstrdup(ik);
        free(owned);
        found = CC_OK;
    }
    (void)err;
    return found;
}

static bool load_and_publish(cc_storage *st, const cc_ah_policy *pol, mname *n)
{
    cc_certres r;
    bool acme = false;
    char *ik = NULL;
    if (load_stored(st, pol, n->name, &r, &acme, &ik, NULL) != CC_OK)
        return false;
    cc_err e = {0};
    bool ok = publish(n, r.chain, r.chain_len, r.key, r.key_len, acme, ik, &e) == CC_OK;
    cc_certres_free(&r);
    free(ik);
    return ok;
}

/* ---- internal CAs (owned by the manager thread) ---- */

static char *ca_sig(const cc_ca_cfg *c)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s|%s|%s|%s|%lld|%g|%s|%s|%s|%s", c->id ? c->id : "",
             c->name ? c->name : "", c->root_cn ? c->root_cn : "", c->inter_cn ? c->inter_cn : "",
             (long long)c->inter_lifetime, c->renewal_ratio,
             c->root_cert_file ? c->root_cert_file : "", c->root_key_file ? c->root_key_file : "",
             c->inter_cert_file ? c->inter_cert_file : "",
             c->inter_key_file ? c->inter_key_file : "");
    return cc_xstrdup(buf);
}

static cc_ca_cfg ca_cfg_for(const cc_autohttps *plan, const char *id)
{
    for (size_t i = 0; i < plan->ncas; i++)
        if (strcmp(plan->cas[i].id, id) == 0)
            return plan->cas[i];
    cc_ca_cfg c = {0};
    c.id = id;
    return c;
}

/* Called on the manager thread with the config it copied (no lock held). */
static cc_ca *get_ca(const cc_ca_cfg *cfg, cc_err *err)
{
    char *sig = ca_sig(cfg);
    for (size_t i = 0; i < M.ncas; i++) {
        if (strcmp(cc_ca_id(M.cas[i].ca), cfg->id) != 0)
            continue;
        if (strcmp(M.cas[i].sig, sig) == 0) {
            free(sig);
            return M.cas[i].ca;
        }
        cc_ca *ca = cc_ca_open(M.st, cfg, err);
        if (!ca) {
            free(sig);
            return NULL;
        }
        cc_ca_free(M.cas[i].ca);
        free(M.cas[i].sig);
        M.cas[i] = (mca){ca, sig};
        return ca;
    }
    cc_ca *ca = cc_ca_open(M.st, cfg, err);
    if (!ca) {
        free(sig);
        return NULL;
    }
    M.cas = cc_xrealloc(M.cas, (M.ncas + 1) * sizeof(*M.cas));
    M.cas[M.ncas++] = (mca){ca, sig};
    return ca;
}

/* ---- one attempt (thread, unlocked) ---- */

typedef struct job {
    cc_arena *a;
    const char *name;
    cc_ah_policy pol; /* deep copy */
    cc_ca_cfg *cas;   /* the CA configs of its internal issuers, by issuer index */
    bool renewal;
} job;

static int issue_with(const job *j, const cc_ah_issuer *iss, const cc_ca_cfg *cacfg, char **chain,
                      char **key, cc_err *err)
{
    if (iss->kind == CC_ISS_INTERNAL) {
        cc_ca *ca = get_ca(cacfg, err);
        if (!ca)
            return CC_ERR;
        cc_err e = {0};
        if (cc_ca_maintain(ca, &e) < 0)
            mlog(CC_LOG_ERROR, "pki.ca", "renewing intermediate certificate", "ca", cc_ca_id(ca),
                 "error", e.msg, NULL);
        cc_key_type kt;
        if (cc_key_type_parse(j->pol.key_type, &kt, err) != CC_OK)
            return CC_ERR;
        const char *names[1] = {j->name};
        return cc_ca_issue(ca, names, 1, kt, iss->lifetime, iss->sign_with_root, chain, key, err);
    }
    cc_acme_cfg cfg = {0};
    cfg.directory = iss->directory;
    cfg.ca_root = iss->ca_root;
    cfg.email = iss->email;
    cfg.eab_key_id = iss->eab_key_id;
    cfg.eab_mac_key = iss->eab_mac_key;
    cfg.key_type = j->pol.key_type;
    cfg.disable_http01 = iss->disable_http01;
    cfg.disable_tlsalpn01 = iss->disable_tlsalpn01;
    cfg.storage = M.st;
    cfg.cancel = &M.cancel;
    const char *names[1] = {j->name};
    return cc_acme_obtain(&cfg, names, 1, chain, key, err);
}

/* Result of an attempt: the certificate to publish (or nothing, or an error). */
typedef struct outcome {
    int rc; /* CC_OK: chain/key set; CC_ENOTFOUND: nothing done (cancelled) */
    char *chain, *key, *iss_key;
    bool acme;
    bool from_storage; /* another instance obtained it while we waited for the lock */
    cc_err err;
} outcome;

static char *lock_key(const char *name)
{
    size_t n = strlen(name) + 16;
    char *k = cc_xmalloc(n);
    snprintf(k, n, "issue_cert_%s", name);
    return k;
}

static bool take_lock(const char *lk)
{
    while (!atomic_load(&M.cancel)) {
        cc_err e = {0};
        int rc = M.st->ops->lock(M.st, lk, (int64_t)1000000000, &e);
        if (rc == CC_OK)
            return true;
        if (rc != CC_ETIMEDOUT) {
            mlog(CC_LOG_ERROR, "tls", "acquiring lock", "lock", lk, "error", e.msg, NULL);
            return false;
        }
    }
    return false;
}

static void attempt(const job *j, time_t have_na, outcome *out)
{
    memset(out, 0, sizeof(*out));
    out->rc = CC_ERR;
    char *lk = lock_key(j->name);
    if (!take_lock(lk)) {
        out->rc = atomic_load(&M.cancel) ? CC_ENOTFOUND : CC_ERR;
        cc_err_set(&out->err, "could not acquire the storage lock %s", lk);
        free(lk);
        return;
    }
    /* another instance may have obtained it while we waited for the lock */
    cc_certres r;
    bool acme = false;
    char *ik = NULL;
    if (load_stored(M.st, &j->pol, j->name, &r, &acme, &ik, NULL) == CC_OK) {
        cc_err e = {0};
        cc_cert *c = cc_cert_from_pem(r.chain, r.chain_len, r.key, r.key_len, "stored", true, &e);
        mname_view v = {
            c != NULL, c ? c->not_before : 0, c ? c->not_after : 0, j->pol.renewal_ratio, acme, 0};
        bool fresh = c && c->not_after > have_na && cm_due(&v, time(NULL)) > time(NULL);
        cc_cert_unref(c);
        if (fresh) {
            out->rc = CC_OK;
            out->chain = r.chain;
            out->key = r.key;
            out->acme = acme;
            out->iss_key = ik;
            out->from_storage = true;
            r.chain = r.key = NULL;
            cc_certres_free(&r);
            M.st->ops->unlock(M.st, lk, &out->err);
            free(lk);
            return;
        }
        cc_certres_free(&r);
        free(ik);
    }
    for (size_t i = 0; i < j->pol.nissuers && !atomic_load(&M.cancel); i++) {
        const cc_ah_issuer *iss = &j->pol.issuers[i];
        char *owned;
        const char *key = issuer_storage_key(iss, &owned);
        char ord[32];
        snprintf(ord, sizeof(ord), "%zu/%zu", i + 1, j->pol.nissuers);
        mlog(CC_LOG_INFO, j->renewal ? "tls.renew" : "tls.obtain", "trying issuer", "identifier",
             j->name, "issuer", iss->kind == CC_ISS_ACME ? key : "local", "position", ord, NULL);
        char *chain = NULL, *pkey = NULL;
        cc_err e = {0};
        if (issue_with(j, iss, &j->cas[i], &chain, &pkey, &e) == CC_OK) {
            const char *sans[1] = {j->name};
            char idata[2048];
            snprintf(idata, sizeof(idata), "{\"ca\":\"%s\"}",
                     iss->kind == CC_ISS_ACME ? iss->directory : iss->ca);
            cc_err se = {0};
            if (cc_certres_save(M.st, key, j->name, chain, pkey, sans, 1,
                                iss->kind == CC_ISS_ACME ? idata : NULL, &se) != CC_OK)
                mlog(CC_LOG_ERROR, "tls", "storing certificate", "identifier", j->name, "error",
                     se.msg, NULL);
            out->rc = CC_OK;
            out->chain = chain;
            out->key = pkey;
            out->acme = iss->kind == CC_ISS_ACME;
            out->iss_key = cc_xstrdup(key);
            free(owned);
            break;
        }
        free(owned);
        mlog(CC_LOG_ERROR, j->renewal ? "tls.renew" : "tls.obtain",
             "could not get certificate from issuer", "identifier", j->name, "issuer",
             iss->kind == CC_ISS_ACME ? iss->directory : iss->ca, "error", e.msg, NULL);
        cc_err_clear(&out->err);
        cc_err_set(&out->err, "%s", e.msg);
    }
    if (atomic_load(&M.cancel) && out->rc != CC_OK)
        out->rc = CC_ENOTFOUND;
    cc_err ue = {0};
    M.st->ops->unlock(M.st, lk, &ue);
    free(lk);
}

static void job_init(job *j, const cc_autohttps *plan, const mname *n)
{
    j->a = cc_arena_new(4096);
    j->name = cc_arena_strdup(j->a, n->name);
    const cc_ah_policy *src = &plan->policies[n->policy];
    /* a one-policy plan clone gives a deep copy with the arena helpers */
    cc_autohttps tmp = {0};
    tmp.policies = (cc_ah_policy *)src;
    tmp.npolicies = 1;
    cc_autohttps *cp = cc_ah_clone(j->a, &tmp);
    j->pol = cp->policies[0];
    j->cas = cc_arena_alloc(j->a, (j->pol.nissuers + 1) * sizeof(*j->cas));
    for (size_t i = 0; i < j->pol.nissuers; i++)
        if (j->pol.issuers[i].kind == CC_ISS_INTERNAL) {
            cc_ca_cfg c = ca_cfg_for(plan, j->pol.issuers[i].ca);
            cc_autohttps one = {0};
            one.cas = &c;
            one.ncas = 1;
            j->cas[i] = cc_ah_clone(j->a, &one)->cas[0];
        }
    j->renewal = n->have;
}

static mname *find_name(const char *name)
{
    for (size_t i = 0; i < M.nnames; i++)
        if (M.names[i].name && strcmp(M.names[i].name, name) == 0)
            return &M.names[i];
    return NULL;
}

static void ari_refresh(mname *n, const cc_autohttps *plan)
{
    /* the first ACME issuer of the policy is the CA that can answer */
    const cc_ah_policy *pol = &plan->policies[n->policy];
    const cc_ah_issuer *iss = NULL;
    for (size_t i = 0; i < pol->nissuers && !iss; i++)
        if (pol->issuers[i].kind == CC_ISS_ACME)
            iss = &pol->issuers[i];
    n->ari_next = time(NULL) + ARI_REFRESH;
    if (!iss || !n->leaf_pem)
        return;
    cc_acme_cfg cfg = {0};
    cfg.directory = iss->directory;
    cfg.ca_root = iss->ca_root;
    cfg.email = iss->email;
    cfg.storage = M.st;
    cfg.cancel = &M.cancel;
    char *pem = cc_xstrdup(n->leaf_pem), *name = cc_xstrdup(n->name);
    long long start = 0;
    cc_err e = {0};
    n->busy = true;
    pthread_mutex_unlock(&M.mu);
    int rc = cc_acme_renewal_info(&cfg, pem, &start, &e);
    pthread_mutex_lock(&M.mu);
    free(pem);
    n = find_name(name);
    free(name);
    if (!n)
        return;
    n->busy = false;
    if (rc == CC_OK && start > 0)
        n->ari_start = (time_t)start;
}

static void *thread_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&M.mu);
    while (!atomic_load(&M.cancel)) {
        time_t now = time(NULL);
        const cc_autohttps *plan = M.plan;
        time_t wake = now + (plan && plan->renew_interval > 0 ? plan->renew_interval : 600);
        mname *todo = NULL;
        for (size_t i = 0; plan && i < M.nnames; i++) {
            mname *n = &M.names[i];
            if (n->have && n->acme && n->ari_next > 0 && n->ari_next <= now) {
                ari_refresh(n, plan);
                now = time(NULL);
                plan = M.plan;
                i = (size_t)-1; /* the list may have changed while unlocked */
                continue;
            }
            time_t t = name_wake(n, plan, now);
            if (t <= now && !todo)
                todo = n;
            if (t < wake)
                wake = t;
        }
        /* intermediates are renewed even when no leaf is due */
        for (size_t i = 0; i < M.ncas; i++) {
            time_t t = cc_ca_renew_at(M.cas[i].ca);
            if (t <= now) {
                cc_err e = {0};
                if (cc_ca_maintain(M.cas[i].ca, &e) < 0)
                    mlog(CC_LOG_ERROR, "pki.ca", "renewing intermediate certificate", "ca",
                         cc_ca_id(M.cas[i].ca), "error", e.msg, NULL);
                else
                    mlog(CC_LOG_INFO, "pki.ca", "renewed intermediate", "ca", cc_ca_id(M.cas[i].ca),
                         NULL);
                t = cc_ca_renew_at(M.cas[i].ca);
                if (t <= now)
                    t = now + 60;
            }
            if (t < wake)
                wake = t;
        }
        if (todo) {
            job j;
            job_init(&j, plan, todo);
            time_t have_na = todo->have ? todo->na : 0;
            todo->busy = true;
            uint64_t gen = M.gen;
            pthread_mutex_unlock(&M.mu);
            mlog(CC_LOG_INFO, j.renewal ? "tls.renew" : "tls.obtain",
                 j.renewal ? "renewing certificate" : "obtaining certificate", "identifier", j.name,
                 NULL);
            outcome o;
            attempt(&j, have_na, &o);
            pthread_mutex_lock(&M.mu);
            mname *n = find_name(j.name); /* a reload may have dropped or moved it */
            if (n)
                n->busy = false;
            if (o.rc == CC_OK && n) {
                cc_err e = {0};
                if (publish(n, o.chain, strlen(o.chain), o.key, strlen(o.key), o.acme, o.iss_key,
                            &e) == CC_OK) {
                    n->failures = 0;
                    n->next_try = 0;
                    mlog(CC_LOG_INFO, j.renewal ? "tls.renew" : "tls.obtain",
                         o.from_storage ? "loaded certificate another instance stored"
                         : j.renewal    ? "certificate renewed successfully"
                                        : "certificate obtained successfully",
                         "identifier", j.name, NULL);
                } else {
                    o.rc = CC_ERR;
                    cc_err_set(&o.err, "%s", e.msg);
                }
            }
            if (o.rc == CC_ERR && n) {
                n->failures++;
                int wait = cm_backoff(n->failures);
                n->next_try = time(NULL) + wait;
                char retry[32];
                snprintf(retry, sizeof(retry), "%ds", wait);
                mlog(CC_LOG_ERROR, j.renewal ? "tls.renew" : "tls.obtain", "will retry",
                     "identifier", j.name, "error", o.err.msg, "retry_in", retry, NULL);
            }
            (void)gen;
            free(o.chain);
            if (o.key)
                memset(o.key, 0, strlen(o.key));
            free(o.key);
            free(o.iss_key);
            cc_arena_free(j.a);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        time_t dt = wake - now;
        if (dt < 1)
            dt = 1;
        ts.tv_sec += dt;
        pthread_cond_timedwait(&M.cv, &M.mu, &ts);
    }
    pthread_mutex_unlock(&M.mu);
    cc_crypto_thread_done();
    return NULL;
}

/* ---- start / stop ---- */

static int check_ca_files(const cc_autohttps *plan, cc_err *err)
{
    for (size_t i = 0; i < plan->ncas; i++) {
        const char *files[4] = {plan->cas[i].root_cert_file, plan->cas[i].root_key_file,
                                plan->cas[i].inter_cert_file, plan->cas[i].inter_key_file};
        for (int k = 0; k < 4; k++) {
            if (!files[k])
                continue;
            FILE *f = fopen(files[k], "rb");
            if (!f)
                return cc_err_set(err, "CA %s: open %s: %s", plan->cas[i].id, files[k],
                                  strerror(errno));
            fclose(f);
        }
    }
    return CC_OK;
}

int cc_certmagic_start(const cc_autohttps *plan, cc_storage *st, cc_err *err)
{
    pthread_once(&cv_once, cv_init);
    if (!plan)
        return cc_err_set(err, "automatic HTTPS: no plan");
    if (plan->nnames > 0 && !st)
        return cc_err_set(err,
                          "automatic HTTPS: certificates for %s need a storage, and none "
                          "could be opened",
                          plan->names[0].name);
    if (check_ca_files(plan, err) != CC_OK)
        return CC_ERR;
    /* loaded certificates are parsed before anything changes */
    cc_cert **loaded = cc_xcalloc(plan->nloaded + 1, sizeof(*loaded));
    for (size_t i = 0; i < plan->nloaded; i++) {
        const cc_ah_loaded *l = &plan->loaded[i];
        loaded[i] = cc_cert_from_pem(l->chain_pem, strlen(l->chain_pem), l->key_pem,
                                     strlen(l->key_pem), "file", false, err);
        if (!loaded[i]) {
            for (size_t k = 0; k < i; k++)
                cc_cert_unref(loaded[k]);
            free(loaded);
            return CC_ERR;
        }
    }
    cc_arena *pa = cc_arena_new(0);
    cc_autohttps *np = cc_ah_clone(pa, plan);

    pthread_mutex_lock(&M.mu);
    cc_arena *old_arena = M.plan_arena;
    M.plan_arena = pa;
    M.plan = np;
    M.st = st;
    M.gen++;
    for (size_t i = 0; i < plan->nloaded; i++) {
        cc_certcache_put(loaded[i]);
        cc_cert_unref(loaded[i]);
    }
    free(loaded);
    /* the new name list keeps the state of names that stay */
    mname *names = cc_xcalloc(np->nnames + 1, sizeof(*names));
    for (size_t i = 0; i < np->nnames; i++) {
        mname *old = find_name(np->names[i].name);
        if (old) {
            names[i] = *old;
            old->name = NULL;
            old->leaf_pem = NULL;
        } else {
            names[i].name = cc_xstrdup(np->names[i].name);
        }
        names[i].policy = np->names[i].policy;
    }
    for (size_t i = 0; i < M.nnames; i++) {
        free(M.names[i].name);
        free(M.names[i].leaf_pem);
    }
    free(M.names);
    M.names = names;
    M.nnames = np->nnames;
    for (size_t i = 0; i < M.nnames; i++)
        if (!M.names[i].have || M.names[i].na <= time(NULL))
            load_and_publish(st, &np->policies[M.names[i].policy], &M.names[i]);
    /* drop what no longer belongs to the config */
    size_t nkeep = 0;
    for (size_t i = 0; i < np->nloaded; i++)
        nkeep += np->loaded[i].nnames;
    const char **keep = cc_xcalloc(nkeep + M.nnames + 1, sizeof(*keep));
    size_t k = 0;
    for (size_t i = 0; i < np->nloaded; i++)
        for (size_t j = 0; j < np->loaded[i].nnames; j++)
            keep[k++] = np->loaded[i].names[j];
    for (size_t i = 0; i < M.nnames; i++)
        keep[k++] = M.names[i].name;
    cc_certcache_retain(keep, k, false);
    free(keep);
    cc_certcache_set_default_sni(np->default_sni);
    int rc = CC_OK;
    if (!M.running && M.nnames > 0) {
        atomic_store(&M.cancel, false);
        if (pthread_create(&M.thr, NULL, thread_main, NULL) != 0)
            rc = cc_err_set(err, "automatic HTTPS: cannot start the certificate manager thread");
        else
            M.running = true;
    }
    pthread_cond_broadcast(&M.cv);
    pthread_mutex_unlock(&M.mu);
    /* the thread reads the plan only under the lock, so the old one can go now */
    cc_arena_free(old_arena);
    if (M.nnames > 0)
        mlog(CC_LOG_INFO, "tls", "enabling automatic TLS certificate management", NULL);
    return rc;
}

void cc_certmagic_stop(void)
{
    pthread_once(&cv_once, cv_init);
    pthread_mutex_lock(&M.mu);
    bool running = M.running;
    atomic_store(&M.cancel, true);
    pthread_cond_broadcast(&M.cv);
    pthread_mutex_unlock(&M.mu);
    if (running)
        pthread_join(M.thr, NULL);
    pthread_mutex_lock(&M.mu);
    M.running = false;
    for (size_t i = 0; i < M.nnames; i++) {
        free(M.names[i].name);
        free(M.names[i].leaf_pem);
    }
    free(M.names);
    M.names = NULL;
    M.nnames = 0;
    for (size_t i = 0; i < M.ncas; i++) {
        cc_ca_free(M.cas[i].ca);
        free(M.cas[i].sig);
    }
    free(M.cas);
    M.cas = NULL;
    M.ncas = 0;
    cc_arena_free(M.plan_arena);
    M.plan_arena = NULL;
    M.plan = NULL;
    M.st = NULL;
    pthread_mutex_unlock(&M.mu);
    cc_certcache_clear();
}
