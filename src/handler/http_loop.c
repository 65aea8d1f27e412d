/*
 * The shared HTTP event loop (http_loop.h): one thread, one libcurl multi
 * handle, a locked submission queue.
 *
 * The thread runs: take the queued submissions and cancel requests under
 * the lock; start each submission (add it to the multi handle) when its
 * host runs fewer than the cap, else append it to the host's wait queue;
 * serve the cancels;
 * curl_multi_perform; hand every finished transfer to its on_done; then
 * curl_multi_poll, which sleeps until a socket is ready, libcurl's next
 * timer is due (connect and total timeouts live there) or a submitter calls
 * curl_multi_wakeup.  A submitter wakes the loop only when it finds the
 * queue empty: the loop takes the whole queue at once, so a non-empty queue
 * means a wake-up is already pending.
 *
 * Invariants:
 *  - only the loop thread touches the multi handle (curl_multi_wakeup is
 *    the one call libcurl allows from other threads) and the `running`
 *    list; on_done runs there, after curl_multi_remove_handle;
 *  - a transfer is in exactly one place: the submission queue (guarded by
 *    `lock`), its host's wait queue, the running list, or handed back
 *    through on_done;
 *  - a host entry exists while it has running or waiting transfers or
 *    pins (a walk of its queue, a callback of one of its transfers); its
 *    `running` counts its transfers in the multi handle (loop thread only);
 *    when one ends, the host's first waiting transfer starts;
 *  - a cancel request is answered (done = true, broadcast) only after every
 *    transfer of its owner has been through on_done;
 *  - the shared loop's refcount is guarded by `shared_lock`; the last
 *    release stops and joins the thread (never from the loop thread).
 */
#include "handler/http_loop.h"

#include "base/alloc.h"
#include "base/map.h"
#include "base/time.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define POLL_MAX_MS 1000
#define EXPIRE_EVERY_MS 50   /* how often waiting transfers' deadlines are checked */

struct cancel_req {
    const void *owner;
    bool done;                 /* guarded by: lock */
    struct cancel_req *next;   /* guarded by: lock */
};

/* The transfers of one scheme://host:port.  Loop thread only. */
struct act_http_host {
    char *key;                 /* the map key (owned by the map) */
    int running;
    int pins;                  /* > 0 while a walk or a callback may still use it:
                                * host_put leaves it alone then */
    struct act_http_xfer *w_head, *w_tail; /* waiting, FIFO */
};

struct act_http_loop {
    int refs;                  /* guarded by: shared_lock */
    CURLM *multi;
    pthread_t thr;
    pthread_mutex_t lock;
    pthread_cond_t cond;       /* a cancel request was answered */
    struct act_http_xfer *q_head, *q_tail; /* guarded by: lock */
    struct cancel_req *cancels;            /* guarded by: lock */
    bool stop;                             /* guarded by: lock */
    struct act_http_xfer *running;         /* loop thread only */
    struct act_map hosts;                  /* key -> struct act_http_host; loop thread only */
    size_t n_waiting;                      /* in the hosts' wait queues; loop thread only */
    int64_t next_expire_us;                /* loop thread only */
    atomic_size_t n_in_flight;
    pthread_mutex_t pool_lock;
    CURL **pool;                           /* guarded by: pool_lock */
    size_t n_pool;                         /* guarded by: pool_lock */
};

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct act_http_loop *shared; /* guarded by: shared_lock */

/* ---- on the loop thread ---- */

/* "scheme://host:port" of the easy handle's URL into key (cap > 8): what
 * comes before the path, without userinfo.  Transfers with the same key
 * share the per-host cap. */
static void host_key(CURL *easy, char *key, size_t cap)
{
    const char *url = NULL, *p, *end, *at;
    size_t n;

    curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, (char **)&url);
    if (!url)
        url = "";
    p = strstr(url, "://");
    p = p ? p + 3 : url;
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(end - p));
    n = (size_t)(p - url);   /* the scheme and "://" */
    if (n > cap / 2)
        n = cap / 2;
    memcpy(key, url, n);
    if (at)
        p = at + 1;
    if ((size_t)(end - p) > cap - 1 - n)
        end = p + (cap - 1 - n);
    memcpy(key + n, p, (size_t)(end - p));
    key[n + (size_t)(end - p)] = '\0';
}

static struct act_http_host *host_get(struct act_http_loop *l, CURL *easy)
{
    char key[320];
    struct act_http_host *h;

    host_key(easy, key, sizeof(key));
    if ((h = act_map_get(&l->hosts, key)))
        return h;
    h = act_xcalloc(1, sizeof(*h));
    h->key = act_xstrdup(key);
    act_map_put(&l->hosts, key, h);
    return h;
}

static void host_put(struct act_http_loop *l, struct act_http_host *h)
{
    if (h->running > 0 || h->w_head || h->pins)
        return;
    act_map_del(&l->hosts, h->key);
    act_free(h->key);
    act_free(h);
}

/* Report a transfer that never reached the multi handle (or left it). */
static void finish_unstarted(struct act_http_loop *l, struct act_http_xfer *x, CURLcode cc)
{
    x->prev = x->next = NULL;
    x->host = NULL;
    atomic_fetch_sub(&l->n_in_flight, 1);
    x->on_done(x, cc);
}

/* Add x to the multi handle and the running list; its host has room. */
static void start(struct act_http_loop *l, struct act_http_xfer *x)
{
    struct act_http_host *h = x->host;

    if (x->timeout_ms > 0) {
        int64_t left = x->timeout_ms - (act_time_mono_us() - x->submitted_us) / 1000;

        if (left <= 0) {
            x->waited_out = true;
            x->host = NULL;
            host_put(l, h);
            finish_unstarted(l, x, CURLE_OPERATION_TIMEDOUT);
            return;
        }
        curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long)left);
    }
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    if (curl_multi_add_handle(l->multi, x->easy) != CURLM_OK) {
        x->host = NULL;
        host_put(l, h);
        finish_unstarted(l, x, CURLE_OUT_OF_MEMORY);
        return;
    }
    h->running++;
    x->prev = NULL;
    x->next = l->running;
    if (l->running)
        l->running->prev = x;
    l->running = x;
}

/* Start waiting transfers of h while it has room. */
static void host_pump(struct act_http_loop *l, struct act_http_host *h)
{
    /* start() may end a transfer whose time ran out, and its on_done may
     * cancel others inline: h must outlive the walk (the caller puts it). */
    h->pins++;
    while (h->running < ACT_HTTP_LOOP_MAX_HOST_CONNECTIONS && h->w_head) {
        struct act_http_xfer *x = h->w_head;

        h->w_head = x->next;
        if (!h->w_head)
            h->w_tail = NULL;
        x->next = NULL;
        l->n_waiting--;
        start(l, x);
    }
    h->pins--;
}

/* Take x out of the multi handle and the running list; report it; start
 * the next waiting transfer of its host. */
static void finish(struct act_http_loop *l, struct act_http_xfer *x, CURLcode cc)
{
    struct act_http_host *h = x->host;

    if (x->prev)
        x->prev->next = x->next;
    else
        l->running = x->next;
    if (x->next)
        x->next->prev = x->prev;
    curl_multi_remove_handle(l->multi, x->easy);
    h->running--;
    /* The host first: on_done may cancel (inline), which can free h. */
    host_pump(l, h);
    host_put(l, h);
    finish_unstarted(l, x, cc);
}

static void add_all(struct act_http_loop *l, struct act_http_xfer *list)
{
    while (list) {
        struct act_http_xfer *x = list;
        struct act_http_host *h = host_get(l, x->easy);

        list = x->next;
        x->next = x->prev = NULL;
        x->host = h;
        if (h->running < ACT_HTTP_LOOP_MAX_HOST_CONNECTIONS) {
            start(l, x);
            continue;
        }
        if (h->w_tail)
            h->w_tail->next = x;
        else
            h->w_head = x;
        h->w_tail = x;
        l->n_waiting++;
    }
}

/* Take the waiting transfers that match out of their queues (owner's, all
 * of them, or with expired deadlines when `now_us` > 0) and end them with
 * cc. */
static void end_waiting(struct act_http_loop *l, const void *owner, bool all, int64_t now_us,
                        CURLcode cc)
{
    struct act_http_xfer *out = NULL;
    const char *key;
    void *val;

    for (size_t i = 0; act_map_next(&l->hosts, &i, &key, &val);) {
        struct act_http_host *h = val;
        struct act_http_xfer **pp = &h->w_head, *last = NULL;

        while (*pp) {
            struct act_http_xfer *x = *pp;

            bool take = now_us > 0 ? x->timeout_ms > 0 &&
                                         now_us - x->submitted_us >= x->timeout_ms * 1000
                                   : all || x->owner == owner;

            if (take) {
                *pp = x->next;
                x->next = out;
                out = x;
                l->n_waiting--;
                h->pins++; /* until x's on_done returned: it may cancel inline */
            } else {
                last = x;
                pp = &x->next;
            }
        }
        h->w_tail = last;
    }
    while (out) {
        struct act_http_xfer *x = out;
        struct act_http_host *h = x->host;

        out = x->next;
        x->waited_out = cc == CURLE_OPERATION_TIMEDOUT;
        finish_unstarted(l, x, cc);
        h->pins--;
        host_put(l, h);
    }
}

static void cancel_waiting(struct act_http_loop *l, const void *owner, bool all)
{
    end_waiting(l, owner, all, 0, CURLE_ABORTED_BY_CALLBACK);
}

/* Every EXPIRE_EVERY_MS while transfers wait: end those whose timeout_ms
 * passed since submit.  Returns the poll timeout to use (ms). */
static int expire_waiting(struct act_http_loop *l)
{
    int64_t now;

    if (l->n_waiting == 0)
        return POLL_MAX_MS;
    now = act_time_mono_us();
    if (now >= l->next_expire_us) {
        end_waiting(l, NULL, false, now, CURLE_OPERATION_TIMEDOUT);
        l->next_expire_us = now + EXPIRE_EVERY_MS * 1000;
    }
    return EXPIRE_EVERY_MS;
}

/* End the running transfers of `owner` (all of them when all is set).
 * Restarts the scan after each on_done, which may cancel others. */
static void cancel_running(struct act_http_loop *l, const void *owner, bool all)
{
    cancel_waiting(l, owner, all); /* first: a finish() below would start them */
    for (;;) {
        struct act_http_xfer *x = l->running;

        while (x && !all && x->owner != owner)
            x = x->next;
        if (!x)
            return;
        finish(l, x, CURLE_ABORTED_BY_CALLBACK);
    }
}

/* Unlink the queued transfers of `owner` (all when all is set) from the
 * queue; the caller holds the lock.  Returns them as a list. */
static struct act_http_xfer *take_queued_locked(struct act_http_loop *l, const void *owner,
                                                bool all)
{
    struct act_http_xfer *out = NULL, **pp = &l->q_head, *last = NULL;

    while (*pp) {
        struct act_http_xfer *x = *pp;

        if (all || x->owner == owner) {
            *pp = x->next;
            x->next = out;
            out = x;
        } else {
            last = x;
            pp = &x->next;
        }
    }
    l->q_tail = last;
    return out;
}

static void fail_list(struct act_http_loop *l, struct act_http_xfer *list)
{
    while (list) {
        struct act_http_xfer *x = list;

        list = x->next;
        finish_unstarted(l, x, CURLE_ABORTED_BY_CALLBACK);
    }
}

static void drain_messages(struct act_http_loop *l)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(l->multi, &left))) {
        struct act_http_xfer *x = NULL;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x)
            finish(l, x, m->data.result);
    }
}

static void answer_cancels(struct act_http_loop *l, struct cancel_req *list)
{
    for (struct cancel_req *c = list; c; c = c->next)
        cancel_running(l, c->owner, false);
    pthread_mutex_lock(&l->lock);
    while (list) {
        struct cancel_req *c = list;

        list = c->next;
        c->done = true;
    }
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

static void *loop_main(void *arg)
{
    struct act_http_loop *l = arg;

    pthread_setname_np(pthread_self(), "act-http"); /* top -H, perf */
    for (;;) {
        struct act_http_xfer *subs;
        struct cancel_req *cancels;
        bool stop;
        int n_running;

        pthread_mutex_lock(&l->lock);
        subs = l->q_head;
        l->q_head = l->q_tail = NULL;
        cancels = l->cancels;
        l->cancels = NULL;
        stop = l->stop;
        pthread_mutex_unlock(&l->lock);

        add_all(l, subs);
        if (cancels)
            answer_cancels(l, cancels);
        if (stop) {
            cancel_running(l, NULL, true);
            return NULL;
        }
        curl_multi_perform(l->multi, &n_running);
        drain_messages(l);
        curl_multi_poll(l->multi, NULL, 0, expire_waiting(l), NULL);
    }
}

/* ---- shared reference ---- */

static void loop_free(struct act_http_loop *l)
{
    if (l->multi)
        curl_multi_cleanup(l->multi);
    act_map_release(&l->hosts); /* empty: every transfer ended before */
    for (size_t i = 0; i < l->n_pool; i++)
        curl_easy_cleanup(l->pool[i]);
    act_free(l->pool);
    pthread_mutex_destroy(&l->pool_lock);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
    act_free(l);
    curl_global_cleanup();
}

static int loop_new(struct act_http_loop **out, struct act_err *err)
{
    struct act_http_loop *l;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return act_err_set(err, ACT_EIO, "libcurl could not be initialised");
    l = act_xcalloc(1, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    pthread_mutex_init(&l->pool_lock, NULL);
    l->pool = act_xcalloc(ACT_HTTP_LOOP_EASY_POOL, sizeof(*l->pool));
    atomic_init(&l->n_in_flight, 0);
    act_map_init(&l->hosts);
    l->multi = curl_multi_init();
    if (!l->multi) {
        loop_free(l);
        return act_err_set(err, ACT_EIO, "libcurl multi handle could not be created");
    }
    curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, (long)ACT_HTTP_LOOP_MAX_CONNECTS);
    curl_multi_setopt(l->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)ACT_HTTP_LOOP_MAX_HOST_CONNECTIONS);
    if (pthread_create(&l->thr, NULL, loop_main, l) != 0) {
        loop_free(l);
        return act_err_set(err, ACT_EIO, "cannot start the HTTP loop thread");
    }
    *out = l;
    return ACT_OK;
}

int act_http_loop_acquire(struct act_http_loop **out, struct act_err *err)
{
    int rc = ACT_OK;

    *out = NULL;
    pthread_mutex_lock(&shared_lock);
    if (!shared)
        rc = loop_new(&shared, err);
    if (rc == ACT_OK) {
        shared->refs++;
        *out = shared;
    }
    pthread_mutex_unlock(&shared_lock);
    return rc;
}

void act_http_loop_release(struct act_http_loop *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&shared_lock);
    if (--l->refs > 0) {
        pthread_mutex_unlock(&shared_lock);
        return;
    }
    if (shared == l)
        shared = NULL;
    pthread_mutex_unlock(&shared_lock);

    pthread_mutex_lock(&l->lock);
    l->stop = true;
    pthread_mutex_unlock(&l->lock);
    curl_multi_wakeup(l->multi);
    pthread_join(l->thr, NULL);
    /* Submissions that raced the stop (a caller without a reference). */
    pthread_mutex_lock(&l->lock);
    struct act_http_xfer *late = take_queued_locked(l, NULL, true);
    pthread_mutex_unlock(&l->lock);
    fail_list(l, late);
    loop_free(l);
}

/* ---- any thread ---- */

void act_http_loop_submit(struct act_http_loop *l, struct act_http_xfer *x)
{
    bool was_empty;

    x->next = x->prev = NULL;
    x->host = NULL;
    x->waited_out = false;
    x->submitted_us = act_time_mono_us();
    atomic_fetch_add(&l->n_in_flight, 1);
    pthread_mutex_lock(&l->lock);
    was_empty = !l->q_head;
    if (l->q_tail)
        l->q_tail->next = x;
    else
        l->q_head = x;
    l->q_tail = x;
    pthread_mutex_unlock(&l->lock);
    if (was_empty)
        curl_multi_wakeup(l->multi);
}

void act_http_loop_cancel(struct act_http_loop *l, const void *owner)
{
    struct cancel_req req = {.owner = owner};
    struct act_http_xfer *queued;

    if (pthread_equal(pthread_self(), l->thr)) {
        pthread_mutex_lock(&l->lock);
        queued = take_queued_locked(l, owner, false);
        pthread_mutex_unlock(&l->lock);
        fail_list(l, queued);
        cancel_running(l, owner, false);
        return;
    }
    pthread_mutex_lock(&l->lock);
    /* Queued ones never reach libcurl: fail them here, outside the lock. */
    queued = take_queued_locked(l, owner, false);
    req.next = l->cancels;
    l->cancels = &req;
    pthread_mutex_unlock(&l->lock);
    fail_list(l, queued);
    curl_multi_wakeup(l->multi);
    pthread_mutex_lock(&l->lock);
    while (!req.done)
        pthread_cond_wait(&l->cond, &l->lock);
    pthread_mutex_unlock(&l->lock);
}

CURL *act_http_loop_easy_get(struct act_http_loop *l)
{
    CURL *h = NULL;

    pthread_mutex_lock(&l->pool_lock);
    if (l->n_pool > 0)
        h = l->pool[--l->n_pool];
    pthread_mutex_unlock(&l->pool_lock);
    return h ? h : curl_easy_init();
}

void act_http_loop_easy_put(struct act_http_loop *l, CURL *easy)
{
    if (!easy)
        return;
    curl_easy_reset(easy);
    pthread_mutex_lock(&l->pool_lock);
    if (l->n_pool < ACT_HTTP_LOOP_EASY_POOL) {
        l->pool[l->n_pool++] = easy;
        easy = NULL;
    }
    pthread_mutex_unlock(&l->pool_lock);
    if (easy)
        curl_easy_cleanup(easy);
}

size_t act_http_loop_in_flight(struct act_http_loop *l)
{
    return atomic_load(&l->n_in_flight);
}
