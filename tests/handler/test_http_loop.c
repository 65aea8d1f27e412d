/*
 * The shared HTTP loop (src/handler/http_loop.c) on its own, with plain
 * libcurl easy handles against a loopback HTTP/1.1 server run by this test:
 * the per-host running cap and the loop's own wait queue, a waiting
 * transfer's timeout counted from submit, cancelling waiting transfers, two
 * hosts not blocking each other, and the easy-handle pool.
 *
 * The server: an accept thread and a thread per connection, keep-alive,
 * answering every request "204" — after a gate opens when the path is
 * /held.  It counts requests, connections and the most requests in
 * progress at once.
 */
#include "base/time.h"
#include "handler/http_loop.h"
#include "tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CAP ACT_HTTP_LOOP_MAX_HOST_CONNECTIONS

static struct {
    int lfd, port;
    pthread_t thr;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool gate_open;       /* guarded by: lock */
    int requests, conns;  /* guarded by: lock */
    int active, max_active; /* guarded by: lock */
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[8192];
    size_t have = 0;

    for (;;) {
        char *end;
        ssize_t n;
        bool held;

        while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
            if (have == sizeof(buf) || (n = read(fd, buf + have, sizeof(buf) - have)) <= 0)
                goto out;
            have += (size_t)n;
        }
        held = strncmp(buf, "GET /held ", 10) == 0;
        pthread_mutex_lock(&srv.lock);
        srv.requests++;
        if (++srv.active > srv.max_active)
            srv.max_active = srv.active;
        while (held && !srv.gate_open)
            pthread_cond_wait(&srv.cond, &srv.lock);
        pthread_mutex_unlock(&srv.lock);
        if (!held)
            usleep(2000); /* long enough for transfers to overlap */
        pthread_mutex_lock(&srv.lock);
        srv.active--;
        pthread_mutex_unlock(&srv.lock);
        static const char reply[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
        if (write(fd, reply, sizeof(reply) - 1) != (ssize_t)sizeof(reply) - 1)
            goto out;
        end += 4;
        have -= (size_t)(end - buf);
        memmove(buf, end, have);
    }
out:
    close(fd);
    return NULL;
}

static void *accept_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(srv.lfd, NULL, NULL);
        pthread_t t;

        if (fd < 0)
            return NULL;
        pthread_mutex_lock(&srv.lock);
        srv.conns++;
        pthread_mutex_unlock(&srv.lock);
        pthread_create(&t, NULL, conn_main, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
}

static void server_start(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);

    srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (srv.lfd < 0 || bind(srv.lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(srv.lfd, 512) < 0 || getsockname(srv.lfd, (struct sockaddr *)&a, &len) < 0)
        abort();
    srv.port = ntohs(a.sin_port);
    pthread_create(&srv.thr, NULL, accept_main, NULL);
}

static void gate(bool open)
{
    pthread_mutex_lock(&srv.lock);
    srv.gate_open = open;
    pthread_cond_broadcast(&srv.cond);
    pthread_mutex_unlock(&srv.lock);
}

static void counters(int *requests, int *max_active)
{
    pthread_mutex_lock(&srv.lock);
    *requests = srv.requests;
    *max_active = srv.max_active;
    srv.requests = srv.max_active = 0;
    pthread_mutex_unlock(&srv.lock);
}

/* ---- transfers ---- */

struct t_xfer {
    struct act_http_xfer x; /* first */
    int64_t done_us;
    CURLcode cc;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
} ends = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static struct act_http_loop *loop;

static void on_done(struct act_http_xfer *x, CURLcode cc)
{
    struct t_xfer *t = (struct t_xfer *)x;

    t->cc = cc;
    t->done_us = act_time_mono_us();
    act_http_loop_easy_put(loop, x->easy);
    x->easy = NULL;
    pthread_mutex_lock(&ends.lock);
    ends.done++;
    pthread_cond_broadcast(&ends.cond);
    pthread_mutex_unlock(&ends.lock);
}

static int wait_ends(int n, int64_t timeout_ms)
{
    int64_t deadline = act_time_mono_us() + timeout_ms * 1000;
    int got;

    pthread_mutex_lock(&ends.lock);
    while (ends.done < n && act_time_mono_us() < deadline) {
        pthread_mutex_unlock(&ends.lock);
        usleep(2000);
        pthread_mutex_lock(&ends.lock);
    }
    got = ends.done;
    ends.done = 0;
    pthread_mutex_unlock(&ends.lock);
    return got;
}

static void submit_with(struct t_xfer *t, const char *host, const char *path, const void *owner,
                        int64_t timeout_ms, act_http_xfer_done_fn *done)
{
    char url[128];

    memset(t, 0, sizeof(*t));
    t->cc = CURLE_OK;
    t->x.easy = act_http_loop_easy_get(loop);
    snprintf(url, sizeof(url), "http://%s:%d%s", host, srv.port, path);
    curl_easy_setopt(t->x.easy, CURLOPT_URL, url);
    curl_easy_setopt(t->x.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->x.easy, CURLOPT_TIMEOUT_MS, 30000L);
    t->x.owner = owner;
    t->x.on_done = done;
    t->x.timeout_ms = timeout_ms;
    act_http_loop_submit(loop, &t->x);
}

static void submit(struct t_xfer *t, const char *host, const char *path, const void *owner,
                   int64_t timeout_ms)
{
    submit_with(t, host, path, owner, timeout_ms, on_done);
}

static int count_cc(struct t_xfer *t, int n, CURLcode cc)
{
    int k = 0;

    for (int i = 0; i < n; i++)
        k += t[i].cc == cc;
    return k;
}

/* ---- tests ---- */

static void test_cap(void)
{
    enum { N = 4 * CAP };
    static struct t_xfer t[N];
    int requests, max_active;

    subtest("per-host cap: four times the cap to one host");
    for (int i = 0; i < N; i++)
        submit(&t[i], "127.0.0.1", "/fast", &t, 0);
    is_int(wait_ends(N, 30000), N, "all %d transfers ended", N);
    is_int(count_cc(t, N, CURLE_OK), N, "every one succeeded");
    counters(&requests, &max_active);
    is_int(requests, N, "the server got each request once");
    ok(max_active <= CAP, "never more than %d in progress at once (saw %d)", CAP, max_active);
    ok(max_active > 1, "transfers overlapped (saw %d at once)", max_active);
    is_int(act_http_loop_in_flight(loop), 0, "nothing in flight afterwards");
}

static void test_wait_timeout_and_cancel(void)
{
    static struct t_xfer held[CAP], late, gone[5], other;
    int64_t t0;
    int requests, max_active;
    const int owner_a = 0, owner_b = 0;

    subtest("waiting transfers: timeout from submit, cancel, other hosts");
    gate(false);
    for (int i = 0; i < CAP; i++)
        submit(&held[i], "127.0.0.1", "/held", &owner_a, 0);
    /* let them all reach the server */
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&srv.lock);
        int active = srv.active;
        pthread_mutex_unlock(&srv.lock);
        if (active == CAP)
            break;
        usleep(10000);
    }
    pthread_mutex_lock(&srv.lock);
    is_int(srv.active, CAP, "the cap's worth of held requests reached the server");
    pthread_mutex_unlock(&srv.lock);
    t0 = act_time_mono_us();
    submit(&late, "127.0.0.1", "/fast", &owner_a, 200);
    for (int i = 0; i < 5; i++)
        submit(&gone[i], "127.0.0.1", "/fast", &owner_b, 0);
    /* another host name for the same server: its own cap, not blocked */
    submit(&other, "localhost", "/fast", &owner_a, 0);
    is_int(wait_ends(2, 5000), 2, "the late one and the other host's ended while the cap is full");
    is_int(late.cc, CURLE_OPERATION_TIMEDOUT, "the waiting transfer timed out");
    ok(late.x.waited_out, "and says it never got a connection");
    ok(!other.x.waited_out, "the served one does not");
    ok(late.done_us - t0 < 2000 * 1000 && late.done_us - t0 >= 150 * 1000,
       "after ~200 ms counted from submit (%lld ms)", (long long)((late.done_us - t0) / 1000));
    is_int(other.cc, CURLE_OK, "the other host was served");

    act_http_loop_cancel(loop, &owner_b);
    is_int(wait_ends(5, 5000), 5, "cancel ended the 5 waiting transfers of owner b");
    is_int(count_cc(gone, 5, CURLE_ABORTED_BY_CALLBACK), 5, "each with ABORTED_BY_CALLBACK");
    is_int(act_http_loop_in_flight(loop), CAP, "the held ones still run");

    gate(true);
    is_int(wait_ends(CAP, 10000), CAP, "opening the gate ends the held ones");
    is_int(count_cc(held, CAP, CURLE_OK), CAP, "all succeeded");
    counters(&requests, &max_active);
    is_int(requests, CAP + 1, "the server never saw the timed-out or cancelled ones");
}

/* An on_done that cancels another owner from the loop thread, inline. */
static const int owner_c_tag = 0;
static int cancels_inline;

static void on_done_cancelling(struct act_http_xfer *x, CURLcode cc)
{
    if (cancels_inline++ == 0)
        act_http_loop_cancel(loop, &owner_c_tag);
    on_done(x, cc);
}

static void test_cancel_from_callback(void)
{
    static struct t_xfer held[CAP], b[3], c[2];
    static const int owner_a = 0, owner_b = 0;
    int requests, max_active;

    subtest("a callback cancelling other waiting transfers inline");
    gate(false);
    for (int i = 0; i < CAP; i++)
        submit(&held[i], "127.0.0.1", "/held", &owner_a, 0);
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&srv.lock);
        int active = srv.active;
        pthread_mutex_unlock(&srv.lock);
        if (active == CAP)
            break;
        usleep(10000);
    }
    for (int i = 0; i < 3; i++)
        submit_with(&b[i], "127.0.0.1", "/fast", &owner_b, 0, on_done_cancelling);
    for (int i = 0; i < 2; i++)
        submit(&c[i], "127.0.0.1", "/fast", &owner_c_tag, 0);
    usleep(100000); /* all five are waiting behind the cap now */
    is_int(act_http_loop_in_flight(loop), CAP + 5, "the cap runs, five wait");
    act_http_loop_cancel(loop, &owner_b);
    is_int(wait_ends(5, 5000), 5, "cancelling b ended b's three and, from b's callback, c's two");
    is_int(count_cc(b, 3, CURLE_ABORTED_BY_CALLBACK) + count_cc(c, 2, CURLE_ABORTED_BY_CALLBACK), 5,
           "all five aborted");
    gate(true);
    is_int(wait_ends(CAP, 10000), CAP, "the held ones end when the gate opens");
    counters(&requests, &max_active);
    is_int(requests, CAP, "none of the cancelled ones was sent");
}

static void test_pool(void)
{
    CURL *a, *b;

    subtest("easy pool");
    a = act_http_loop_easy_get(loop);
    ok(a != NULL, "a handle");
    curl_easy_setopt(a, CURLOPT_URL, "http://example.invalid/");
    act_http_loop_easy_put(loop, a);
    b = act_http_loop_easy_get(loop);
    ok(b == a, "the handle given back is reused");
    {
        char *url = NULL;

        curl_easy_getinfo(b, CURLINFO_EFFECTIVE_URL, &url);
        ok(url == NULL || url[0] == '\0', "and was reset (no URL left)");
    }
    act_http_loop_easy_put(loop, b);
    act_http_loop_easy_put(loop, NULL);
    ok(1, "putting NULL is harmless");
}

int main(void)
{
    struct act_err err = {0};

    server_start();
    if (act_http_loop_acquire(&loop, &err) < 0) {
        diag("loop: %s", err.msg);
        return 1;
    }
    test_cap();
    test_wait_timeout_and_cancel();
    test_cancel_from_callback();
    test_pool();
    act_http_loop_release(loop);
    shutdown(srv.lfd, SHUT_RDWR);
    close(srv.lfd);
    pthread_join(srv.thr, NULL);
    return done_testing();
}
