/*
 * loadgen: a small HTTP/1.1 load generator for the actiond benchmarks.
 *
 *   loadgen events HOST PORT RATE SECS CONNS    open-loop single-event POSTs
 *   loadgen get    HOST PORT RATE SECS CONNS PATH   open-loop GETs (baseline)
 *   loadgen subs   HOST PORT N CONNS ACTION_ID  closed-loop subscription creation
 *
 * Open loop (`events`, `get`): request i is due at t0 + i/RATE on an absolute
 * schedule, whatever the server does; it goes out on any idle keep-alive
 * connection (one request in flight per connection, no pipelining).  When
 * every connection is busy the due request waits and is counted `late`
 * (sent more than 1 ms behind its schedule), so an overloaded server shows
 * as late sends and a lower achieved rate rather than as a quietly lower
 * offered rate.  Each `events` body embeds
 *   {"type":"bench.lat","data":{"sent_us":S,"sched_us":D,"i":I}}
 * where S is CLOCK_REALTIME in microseconds taken just before write(2) and
 * D the scheduled time on the same clock; bench/latency.sh subtracts S (and
 * D) from the execution's started_at afterwards.
 *
 * Closed loop (`subs`): every connection keeps one POST /v1/subscriptions in
 * flight until N were sent; the patterns are a deterministic mix (exact,
 * `*`, `**`, globs, two-pattern lists, conditions, 1 % regexes) so the
 * matcher's different structures all grow.
 *
 * One thread, epoll, a timerfd for the schedule: the generator sleeps
 * between sends and leaves the CPU to the server it shares 2 cores with.
 * Responses must carry Content-Length (actiond's do); a response the parser
 * does not understand, or a connection the server closes, ends the run with
 * an error rather than a wrong figure.  A server that stops answering ends
 * the run 10 s after the schedule (exit status 1, counts as printed).
 *
 * Output: one line of key=value pairs on stdout; diagnostics on stderr.
 */
#include "base/alloc.h"
#include "base/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define RBUF_LEN 16384
#define REQ_LEN 2048
#define LATE_US 1000
#define DRAIN_US 10000000 /* give up 10 s after the schedule ends (or, closed loop, 10 s
                            * after the last answer) */
#define TIMER_TAG UINT32_MAX

enum mode { MODE_EVENTS, MODE_GET, MODE_SUBS };

struct conn {
    int fd;
    bool busy;
    int64_t sent_mono;
    size_t rlen;
    char rbuf[RBUF_LEN];
};

struct gen {
    enum mode mode;
    const char *host, *path, *action_id;
    int port;
    double rate;
    uint64_t total; /* requests to send */
    int n_conns;
    struct conn *conns;
    int *idle; /* stack of idle connection indices */
    int n_idle;
    int ep, tfd;
    int64_t t0_mono, t0_real, last_send_mono, last_done_mono;
    uint64_t issued, done, ok, bad, late;
    int64_t max_lag_us;
    uint32_t *lat_us; /* send to complete answer, one per answered request */
    char first_error[300];
};

static void die(const char *what)
{
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int64_t real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int fcntl_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int connect_one(const struct gen *g)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    if (fd < 0)
        die("socket");
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)g->port);
    if (inet_pton(AF_INET, g->host, &sa.sin_addr) != 1) {
        fprintf(stderr, "loadgen: '%s' is not an IPv4 address\n", g->host);
        exit(2);
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* The subscription body for index i: a fixed mix of pattern shapes. */
static int subs_body(const struct gen *g, uint64_t i, char *buf, size_t len)
{
    unsigned long long n = (unsigned long long)i, svc = n % 500;
    const char *a = g->action_id;

    if (n % 100 == 99)
        return snprintf(buf, len,
                        "{\"action_id\":\"%s\",\"event_patterns\":[\"re:^rx%llu\\\\.(a|b)$\"]}",
                        a, n);
    switch (n % 10) {
    case 0: case 1: case 2: case 3:
        return snprintf(buf, len, "{\"action_id\":\"%s\",\"event_patterns\":"
                        "[\"svc%llu.obj%llu.created\"]}", a, svc, n);
    case 4: case 5:
        return snprintf(buf, len, "{\"action_id\":\"%s\",\"event_patterns\":"
                        "[\"svc%llu.*.u%llu\"]}", a, svc, n);
    case 6:
        return snprintf(buf, len, "{\"action_id\":\"%s\",\"event_patterns\":[\"**.f%llu\"]}",
                        a, n);
    case 7:
        return snprintf(buf, len, "{\"action_id\":\"%s\",\"event_patterns\":"
                        "[\"svc%llu.user%llu*\"]}", a, svc, n);
    case 8:
        return snprintf(buf, len, "{\"action_id\":\"%s\",\"event_patterns\":"
                        "[\"svc%llu.obj%llu.paid\"],\"conditions\":{\"all\":[{\"field\":"
                        "\"data.amount\",\"op\":\"gte\",\"value\":%llu}]}}", a, svc, n, n % 1000);
    default:
        return snprintf(buf, len, "{\"action_id\":\"%s\",\"event_patterns\":"
                        "[\"svc%llu.a%llu\",\"svc%llu.b%llu.*\"]}", a, svc, n, svc, n);
    }
}

/* Format request number i into req; returns its length. */
static size_t build_request(const struct gen *g, uint64_t i, char *req, size_t len)
{
    char body[1024];
    int n_body = 0, n;
    const char *path = g->mode == MODE_SUBS ? "/v1/subscriptions" : "/v1/events";

    if (g->mode == MODE_GET) {
        n = snprintf(req, len, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", g->path, g->host,
                     g->port);
        return (size_t)n;
    }
    if (g->mode == MODE_EVENTS) {
        long long sched = g->t0_real + (long long)((double)i * 1e6 / g->rate);
        n_body = snprintf(body, sizeof(body),
                          "{\"type\":\"bench.lat\",\"data\":{\"sent_us\":%lld,\"sched_us\":%lld,"
                          "\"i\":%llu}}",
                          (long long)real_us(), sched, (unsigned long long)i);
    } else {
        n_body = subs_body(g, i, body, sizeof(body));
    }
    n = snprintf(req, len,
                 "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                 "Content-Length: %d\r\n\r\n%s",
                 path, g->host, g->port, n_body, body);
    return (size_t)n;
}

static void send_next(struct gen *g)
{
    char req[REQ_LEN];
    int ci = g->idle[--g->n_idle];
    struct conn *c = &g->conns[ci];
    uint64_t i = g->issued++;
    int64_t now = act_time_mono_us();
    size_t len;
    ssize_t w;

    if (g->mode != MODE_SUBS) {
        int64_t lag = now - (g->t0_mono + (int64_t)((double)i * 1e6 / g->rate));
        if (lag > LATE_US)
            g->late++;
        if (lag > g->max_lag_us)
            g->max_lag_us = lag;
    }
    len = build_request(g, i, req, sizeof(req));
    c->busy = true;
    c->sent_mono = act_time_mono_us();
    g->last_send_mono = c->sent_mono;
    w = write(c->fd, req, len);
    if (w != (ssize_t)len) {
        /* One small request on an otherwise idle socket: a short write
         * means the connection is broken, not slow. */
        die("write");
    }
}

/* Parse a complete response at the head of c->rbuf.  Returns its total
 * length (0 when more bytes are needed) and sets *status. */
static size_t parse_response(struct conn *c, int *status)
{
    char *hdr_end, *cl;
    size_t hdr_len;
    long body_len = 0;

    c->rbuf[c->rlen] = '\0';
    hdr_end = strstr(c->rbuf, "\r\n\r\n");
    if (!hdr_end)
        return 0;
    hdr_len = (size_t)(hdr_end - c->rbuf) + 4;
    if (strncmp(c->rbuf, "HTTP/1.", 7) != 0 || hdr_len < 13) {
        fprintf(stderr, "loadgen: bad response: %.60s\n", c->rbuf);
        exit(1);
    }
    *status = (int)strtol(c->rbuf + 9, NULL, 10);
    *hdr_end = '\0';
    cl = strcasestr(c->rbuf, "\r\ncontent-length:");
    *hdr_end = '\r';
    if (cl)
        body_len = strtol(cl + 17, NULL, 10);
    else if (*status != 204 && *status != 304) {
        fprintf(stderr, "loadgen: response without Content-Length\n");
        exit(1);
    }
    if (hdr_len + (size_t)body_len >= RBUF_LEN) {
        fprintf(stderr, "loadgen: response over %d bytes\n", RBUF_LEN);
        exit(1);
    }
    if (c->rlen < hdr_len + (size_t)body_len)
        return 0;
    return hdr_len + (size_t)body_len;
}

static void on_answer(struct gen *g, int ci, int status, size_t total)
{
    struct conn *c = &g->conns[ci];
    int64_t now = act_time_mono_us();
    bool good = g->mode == MODE_SUBS ? status == 201 : status >= 200 && status < 300;

    g->lat_us[g->done++] = (uint32_t)(now - c->sent_mono);
    g->last_done_mono = now;
    if (good) {
        g->ok++;
    } else {
        g->bad++;
        if (!g->first_error[0])
            snprintf(g->first_error, sizeof(g->first_error), "%d %.*s", status,
                     (int)(c->rlen < 200 ? c->rlen : 200), c->rbuf);
    }
    memmove(c->rbuf, c->rbuf + total, c->rlen - total);
    c->rlen -= total;
    c->busy = false;
    g->idle[g->n_idle++] = ci;
}

static void on_readable(struct gen *g, int ci)
{
    struct conn *c = &g->conns[ci];
    int status = 0;
    size_t total;

    for (;;) {
        ssize_t r = read(c->fd, c->rbuf + c->rlen, RBUF_LEN - 1 - c->rlen);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r < 0)
            die("read");
        if (r == 0) {
            fprintf(stderr, "loadgen: server closed connection %d (%llu answered)\n", ci,
                    (unsigned long long)g->done);
            exit(1);
        }
        c->rlen += (size_t)r;
        while (c->busy && (total = parse_response(c, &status)) > 0)
            on_answer(g, ci, status, total);
        if (c->rlen > 0 && !c->busy) {
            fprintf(stderr, "loadgen: unexpected bytes from the server\n");
            exit(1);
        }
    }
}

/* Arm the timer for the next scheduled send (open loop only). */
static void arm_timer(struct gen *g)
{
    struct itimerspec its;
    int64_t due;

    memset(&its, 0, sizeof(its));
    if (g->mode != MODE_SUBS && g->issued < g->total && g->n_idle > 0) {
        due = g->t0_mono + (int64_t)((double)g->issued * 1e6 / g->rate);
        if (due < g->t0_mono + 1)
            due = g->t0_mono + 1;
        its.it_value.tv_sec = due / 1000000;
        its.it_value.tv_nsec = (due % 1000000) * 1000;
    }
    /* act_time_mono_us() is CLOCK_MONOTONIC, so an absolute timer on the
     * same clock fires at the scheduled instant; a zero value disarms. */
    if (timerfd_settime(g->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        die("timerfd_settime");
}

static void send_due(struct gen *g)
{
    if (g->mode == MODE_SUBS) {
        while (g->n_idle > 0 && g->issued < g->total)
            send_next(g);
        return;
    }
    int64_t now = act_time_mono_us();
    uint64_t due = (uint64_t)((double)(now - g->t0_mono) * g->rate / 1e6) + 1;
    if (due > g->total)
        due = g->total;
    while (g->n_idle > 0 && g->issued < due)
        send_next(g);
}

static void setup(struct gen *g)
{
    struct epoll_event ev;

    g->ep = epoll_create1(EPOLL_CLOEXEC);
    g->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (g->ep < 0 || g->tfd < 0)
        die("epoll/timerfd");
    g->conns = act_xcalloc((size_t)g->n_conns, sizeof(*g->conns));
    g->idle = act_xcalloc((size_t)g->n_conns, sizeof(*g->idle));
    g->lat_us = act_xcalloc(g->total, sizeof(*g->lat_us));
    for (int i = 0; i < g->n_conns; i++) {
        g->conns[i].fd = connect_one(g);
        if (fcntl_nonblock(g->conns[i].fd) < 0)
            die("fcntl");
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t)i;
        if (epoll_ctl(g->ep, EPOLL_CTL_ADD, g->conns[i].fd, &ev) < 0)
            die("epoll_ctl");
        g->idle[g->n_idle++] = g->n_conns - 1 - i;
    }
    ev.events = EPOLLIN;
    ev.data.u32 = TIMER_TAG;
    if (epoll_ctl(g->ep, EPOLL_CTL_ADD, g->tfd, &ev) < 0)
        die("epoll_ctl");
}

/* True when the run must stop without waiting for the rest: open loop, the
 * schedule plus DRAIN_US has passed (a stalled server leaves requests due
 * or unanswered); closed loop, no answer for DRAIN_US. */
static bool past_deadline(const struct gen *g, int64_t now)
{
    int64_t last;

    if (g->mode == MODE_SUBS) {
        last = g->last_done_mono > g->t0_mono ? g->last_done_mono : g->t0_mono;
        return now - last > DRAIN_US;
    }
    return now > g->t0_mono + (int64_t)((double)g->total * 1e6 / g->rate) + DRAIN_US;
}

static void run(struct gen *g)
{
    struct epoll_event evs[64];

    g->t0_real = real_us();
    g->t0_mono = act_time_mono_us();
    for (;;) {
        send_due(g);
        if (g->issued == g->total && g->done == g->total)
            break;
        if (past_deadline(g, act_time_mono_us())) {
            fprintf(stderr, "loadgen: gave up after 10 s without progress: %llu of %llu sent,"
                    " %llu answered\n", (unsigned long long)g->issued,
                    (unsigned long long)g->total, (unsigned long long)g->done);
            break;
        }
        arm_timer(g);
        /* The timer wakes us for the next send; the 100 ms bound only
         * serves the deadline check. */
        int n = epoll_wait(g->ep, evs, 64, 100);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int k = 0; k < n; k++) {
            if (evs[k].data.u32 == TIMER_TAG) {
                uint64_t ticks;
                if (read(g->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
                    die("read timerfd");
                continue;
            }
            on_readable(g, (int)evs[k].data.u32);
        }
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const struct gen *g, double p)
{
    if (g->done == 0)
        return 0;
    size_t k = (size_t)(p * (double)(g->done - 1) + 0.5);
    return g->lat_us[k] / 1000.0;
}

static void report(struct gen *g)
{
    static const char *const names[] = {"events", "get", "subs"};
    double send_secs = (double)(g->last_send_mono - g->t0_mono) / 1e6;
    double all_secs = (double)(g->last_done_mono - g->t0_mono) / 1e6;

    qsort(g->lat_us, g->done, sizeof(*g->lat_us), cmp_u32);
    printf("loadgen mode=%s conns=%d sent=%llu answered=%llu ok=%llu bad=%llu", names[g->mode],
           g->n_conns, (unsigned long long)g->issued, (unsigned long long)g->done,
           (unsigned long long)g->ok, (unsigned long long)g->bad);
    if (g->mode == MODE_SUBS) {
        printf(" secs=%.3f per_s=%.0f", all_secs, all_secs > 0 ? (double)g->ok / all_secs : 0);
    } else {
        /* The i-th send is due at i/RATE, so sending N takes (N-1)/RATE
         * on schedule; achieved = N over the time sending really took. */
        double span = send_secs + 1.0 / g->rate;
        printf(" offered=%.0f achieved=%.0f ok_per_s=%.0f late=%llu max_lag_ms=%.1f",
               g->rate, (double)g->issued / span,
               all_secs > 0 ? (double)g->ok / all_secs : 0, (unsigned long long)g->late,
               (double)g->max_lag_us / 1000.0);
    }
    printf(" ack_p50_ms=%.3f ack_p99_ms=%.3f ack_max_ms=%.3f\n", pct_ms(g, 0.50),
           pct_ms(g, 0.99), pct_ms(g, 1.0));
    if (g->first_error[0])
        fprintf(stderr, "loadgen: first error: %s\n", g->first_error);
}

static void teardown(struct gen *g)
{
    for (int i = 0; i < g->n_conns; i++)
        close(g->conns[i].fd);
    close(g->tfd);
    close(g->ep);
    act_free(g->conns);
    act_free(g->idle);
    act_free(g->lat_us);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen events HOST PORT RATE SECS CONNS\n"
            "       loadgen get HOST PORT RATE SECS CONNS PATH\n"
            "       loadgen subs HOST PORT N CONNS ACTION_ID\n");
    exit(2);
}

static double num_arg(const char *s, double lo, double hi)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (!*s || *end || v < lo || v > hi)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    struct gen g;

    memset(&g, 0, sizeof(g));
    if (argc < 6)
        usage();
    g.host = argv[2];
    g.port = (int)num_arg(argv[3], 1, 65535);
    if (strcmp(argv[1], "subs") == 0 && argc == 7) {
        g.mode = MODE_SUBS;
        g.total = (uint64_t)num_arg(argv[4], 1, 1e8);
        g.n_conns = (int)num_arg(argv[5], 1, 1024);
        g.action_id = argv[6];
    } else if ((strcmp(argv[1], "events") == 0 && argc == 7) ||
               (strcmp(argv[1], "get") == 0 && argc == 8)) {
        g.mode = argv[1][0] == 'e' ? MODE_EVENTS : MODE_GET;
        g.rate = num_arg(argv[4], 1, 1e6);
        g.total = (uint64_t)(g.rate * num_arg(argv[5], 0.1, 3600) + 0.5);
        g.n_conns = (int)num_arg(argv[6], 1, 1024);
        g.path = g.mode == MODE_GET ? argv[7] : NULL;
    } else {
        usage();
    }
    if (g.total == 0)
        usage();
    setup(&g);
    run(&g);
    report(&g);
    teardown(&g);
    return g.bad == 0 && g.done == g.issued && g.issued == g.total ? 0 : 1;
}
